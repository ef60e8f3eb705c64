#!/usr/bin/env bash
# Predicts (and scores) the SQuAD dev file with a fine-tuned checkpoint, with NVIDIA's positional arguments:
#
#   bash scripts/run_squad_inference.sh [init_checkpoint] [batch_size] [precision] [use_xla] [seq_length] \
#       [doc_stride] [bert_model] [squad_version] [extra run_squad.py flags...]
#
# Defaults: results/model.ckpt 8 fp32 false 384 128 minilm 1.1. init_checkpoint may be a checkpoint prefix
# or a run_squad.sh results directory (its latest checkpoint). bert_model gives the vocabulary and config
# (see scripts/configs/squad_config.sh); seq_length and doc_stride must be those of the fine-tuning.
# run_squad.py reports EM and F1 itself (no separate evaluate script); SQuAD 2.0 uses
# --null_score_diff_threshold=$NULL_THRESHOLD (default "auto"; e.g. NULL_THRESHOLD=<dir>/eval_results.json
# reuses a threshold tuned earlier). Extra flags, e.g. --export_triton, are passed on.
# Predictions go to $RESULTS_DIR (default results)/tf_bert_finetuning_squad_<model>_inf_<precision>_gbs<N>_<date>.
# PYTHON: the interpreter (default .venv/bin/python).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/configs/squad_config.sh"   # with common.sh: bert_python
PY="$(bert_python)"

init_checkpoint=${1:-"$ROOT/results/model.ckpt"}
batch_size=${2:-"8"}
precision=${3:-"fp32"}
use_xla=${4:-"false"}
seq_length=${5:-"384"}
doc_stride=${6:-"128"}
bert_model=${7:-"minilm"}
squad_version=${8:-"1.1"}
extra=("${@:9}")
BERT_DIR="$(squad_bert_dir "$bert_model" "$PY")"

read -r _ default_predict <<< "$(squad_files "$squad_version")"
PREDICT_FILE="${PREDICT_FILE:-$default_predict}"
squad_run_flags "$squad_version" "$precision" "$use_xla"

printf -v TAG "tf_bert_finetuning_squad_%s_inf_%s_gbs%d" "$(basename "$bert_model")" "$precision" "$batch_size"
DATESTAMP=$(date +'%y%m%d%H%M%S')
RESULTS_DIR="${RESULTS_DIR:-$ROOT/results}/${TAG}_${DATESTAMP}"
LOGFILE="$RESULTS_DIR/$TAG.$DATESTAMP.log"
mkdir -p "$RESULTS_DIR"
echo "SQuAD v$squad_version: predict $PREDICT_FILE with $init_checkpoint; results in $RESULTS_DIR"

cd "$ROOT"
"$PY" run_squad.py \
  --vocab_file="$BERT_DIR/vocab.txt" \
  --bert_config_file="$BERT_DIR/bert_config.json" \
  --init_checkpoint="$init_checkpoint" \
  --do_predict --predict_file="$PREDICT_FILE" \
  --predict_batch_size="$batch_size" \
  --max_seq_length="$seq_length" \
  --doc_stride="$doc_stride" \
  --output_dir="$RESULTS_DIR" \
  "${SQUAD_FLAGS[@]}" "${extra[@]}" 2>&1 | tee "$LOGFILE"
exit "${PIPESTATUS[0]}"
