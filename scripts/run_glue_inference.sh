#!/usr/bin/env bash
# Evaluates a fine-tuned checkpoint on a GLUE task's dev set and predicts its test set (test_results.tsv and
# the GLUE submission file, e.g. MRPC.tsv), with NVIDIA's positional arguments:
#
#   bash scripts/run_glue_inference.sh [task_name] [init_checkpoint] [batch_size] [precision] [use_xla] \
#       [seq_length] [doc_stride] [bert_model]
#
#   init_checkpoint  the fine-tuned checkpoint, e.g. results/<run>/model.ckpt-343 (required)
#   batch_size (default 32), precision fp16|fp32 (default fp32), use_xla true|false (default false),
#   seq_length (default 128), doc_stride (unused by GLUE), bert_model minilm|base|large|large_lamb (default
#   minilm: only its bert_config.json and vocab.txt are used).
# Environment as scripts/run_glue.sh (BERT_DIR, GLUE_DIR, RESULTS_DIR, PYTHON: default .venv/bin/python).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/configs/glue_config.sh"   # with common.sh: bert_python
PY="$(bert_python)"

task_name=${1:-"MRPC"}
init_checkpoint=${2:?"usage: run_glue_inference.sh task_name init_checkpoint [batch_size] ..."}
batch_size=${3:-"32"}
precision=${4:-"fp32"}
use_xla=${5:-"false"}
seq_length=${6:-"128"}
doc_stride=${7:-"64"}
bert_model=${8:-"minilm"}
glue_bert_dir "$bert_model" "$PY"
data_dir="$(glue_task_dir "$task_name")"

printf -v TAG "tf_bert_finetuning_glue_%s_inf_%s_%s_gbs%d_ckpt_%s" "$task_name" "$bert_model" "$precision" \
  "$batch_size" "${init_checkpoint//\//-}"
DATESTAMP=$(date +'%y%m%d%H%M%S')
OUT="${RESULTS_DIR:-$ROOT/results}/${TAG}_${DATESTAMP}"
mkdir -p "$OUT"
LOGFILE="$OUT/inference.$DATESTAMP.log"
echo "GLUE data: $data_dir  checkpoint: $init_checkpoint  results and log: $OUT"

"$PY" "$ROOT/run_classifier.py" \
  --task_name="$task_name" --do_eval --do_predict --data_dir="$data_dir" \
  --vocab_file="$BERT_DIR/vocab.txt" --bert_config_file="$BERT_DIR/bert_config.json" \
  --init_checkpoint="$init_checkpoint" --max_seq_length="$seq_length" \
  --eval_batch_size="$batch_size" --predict_batch_size="$batch_size" --output_dir="$OUT" \
  $(glue_runtime_flags "$precision" "$use_xla" 1) 2>&1 | tee "$LOGFILE"
