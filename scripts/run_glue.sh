#!/usr/bin/env bash
# Fine-tunes BERT on a GLUE task (train + dev evaluation), with NVIDIA's positional arguments:
#
#   bash scripts/run_glue.sh [task_name] [batch_size] [learning_rate] [precision] [use_xla] [num_gpu] \
#       [seq_length] [doc_stride] [bert_model] [epochs] [warmup_proportion] [init_checkpoint]
#
#   task_name       MRPC, CoLA, SST-2, STS-B, QQP, MNLI, MNLI-mm, QNLI, RTE, WNLI, XNLI (default MRPC)
#   batch_size      per worker (default 32)         learning_rate   (default 2e-5)
#   precision       fp16 (--amp) or fp32 (default fp32)
#   use_xla         true or false (default false; XLA needs fixed shapes, so it also sets --notrim_padding)
#   num_gpu         workers; more than 1 runs under horovodrun, or mpirun with LAUNCHER=mpirun (default 1)
#   seq_length      --max_seq_length (default 128)
#   doc_stride      accepted for NVIDIA's argument order; GLUE does not use it
#   bert_model      minilm (default: the real all-MiniLM-L6-v2 from PyPI, converted on first use),
#                   base or large (Google's BERT-base, BERT-large) or large_lamb (NVIDIA's LAMB-pretrained
#                   BERT-large, what NVIDIA's run_glue.sh calls large), under data/download
#                   (scripts/configs/common.sh, bert_model_dir: one table for every launcher)
#   epochs          (default 3.0)    warmup_proportion (default 0.1)
#   init_checkpoint (default $BERT_DIR: its newest checkpoint, or bert_model.ckpt)
#
# Environment: BERT_DIR (model folder: bert_config.json, vocab.txt, checkpoint), GLUE_DIR (default
# data/download/glue, one folder per task), RESULTS_DIR (default results), PYTHON (default .venv/bin/python),
# LAUNCHER, HOROVOD_HOSTS (scripts/configs/common.sh).
# Ready-made argument sets: scripts/configs/glue_config.sh, e.g.
#   bash scripts/run_glue.sh $(source scripts/configs/glue_config.sh && mrpc_cpu_minilm_fp32)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/configs/glue_config.sh"   # with common.sh: bert_python, horovod_prefix
PY="$(bert_python)"

task_name=${1:-"MRPC"}
batch_size=${2:-"32"}
learning_rate=${3:-"2e-5"}
precision=${4:-"fp32"}
use_xla=${5:-"false"}
num_gpu=${6:-"1"}
seq_length=${7:-"128"}
doc_stride=${8:-"64"}
bert_model=${9:-"minilm"}
epochs=${10:-"3.0"}
ws=${11:-"0.1"}
glue_bert_dir "$bert_model" "$PY"
init_checkpoint=${12:-"$BERT_DIR"}
data_dir="$(glue_task_dir "$task_name")"

GBS=$((batch_size * num_gpu))
printf -v TAG "tf_bert_finetuning_glue_%s_%s_%s_gbs%d" "$task_name" "$bert_model" "$precision" "$GBS"
DATESTAMP=$(date +'%y%m%d%H%M%S')
OUT="${RESULTS_DIR:-$ROOT/results}/${TAG}_${DATESTAMP}"
mkdir -p "$OUT"
LOGFILE="$OUT/$TAG.$DATESTAMP.log"
echo "GLUE data: $data_dir  model: $BERT_DIR  results and log: $OUT"

horovod_prefix launcher "$num_gpu" "$PY"
# shellcheck disable=SC2154  # launcher: set by horovod_prefix
"${launcher[@]}" "$PY" "$ROOT/run_classifier.py" \
  --task_name="$task_name" --do_train --do_eval --data_dir="$data_dir" \
  --vocab_file="$BERT_DIR/vocab.txt" --bert_config_file="$BERT_DIR/bert_config.json" \
  --init_checkpoint="$init_checkpoint" --max_seq_length="$seq_length" \
  --train_batch_size="$batch_size" --eval_batch_size="$batch_size" --learning_rate="$learning_rate" \
  --num_train_epochs="$epochs" --warmup_proportion="$ws" --output_dir="$OUT" \
  $(glue_runtime_flags "$precision" "$use_xla" "$num_gpu") 2>&1 | tee "$LOGFILE"
