#!/usr/bin/env bash
# Fine-tunes BERT on SQuAD and predicts (and scores) the dev file, with NVIDIA's positional arguments:
#
#   bash scripts/run_squad.sh [batch_size] [learning_rate] [precision] [use_xla] [num_gpu] [seq_length] \
#       [doc_stride] [bert_model] [squad_version] [init_checkpoint] [epochs] [extra run_squad.py flags...]
#
# Defaults: 32 1e-4 fp32 false 1 384 128 minilm 1.1 <bert_model's bert_model.ckpt> 2.0
#   precision   fp16 (--amp) | fp32 | tf32
#   use_xla     true | false (true also sets --notrim_padding: XLA needs fixed shapes)
#   num_gpu     > 1 launches that many Horovod workers with horovodrun (LAUNCHER=mpirun: mpirun)
#   bert_model  large | base | minilm | a model directory (see scripts/configs/squad_config.sh)
# Presets: bash scripts/run_squad.sh $(source scripts/configs/squad_config.sh && cpu_minilm_fp32) 1.1
#
# Data: $SQUAD_DIR/{train,dev}-v<version>.json (default data/download/squad/v<version>, NVIDIA's layout), or
# the real SQuAD samples in data/samples/squad when that is absent; TRAIN_FILE / PREDICT_FILE override.
# SQuAD 2.0 uses --null_score_diff_threshold=$NULL_THRESHOLD (default "auto": the threshold with the best F1
# on the dev file, reported with EM/F1; pass a number or an eval_results.json to fix it).
# Results go to $RESULTS_DIR (default results)/tf_bert_finetuning_squad_<model>_<precision>_gbs<N>_<date>.
# PYTHON (default .venv/bin/python), LAUNCHER and HOROVOD_HOSTS as in scripts/configs/common.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/configs/squad_config.sh"   # with common.sh: bert_python, horovod_prefix
PY="$(bert_python)"

batch_size=${1:-"32"}
learning_rate=${2:-"1e-4"}
precision=${3:-"fp32"}
use_xla=${4:-"false"}
num_gpu=${5:-"1"}
seq_length=${6:-"384"}
doc_stride=${7:-"128"}
bert_model=${8:-"minilm"}
squad_version=${9:-"1.1"}
BERT_DIR="$(squad_bert_dir "$bert_model" "$PY")"
init_checkpoint=${10:-"$BERT_DIR/bert_model.ckpt"}
epochs=${11:-"2.0"}
extra=("${@:12}")

read -r default_train default_predict <<< "$(squad_files "$squad_version")"
TRAIN_FILE="${TRAIN_FILE:-$default_train}"
PREDICT_FILE="${PREDICT_FILE:-$default_predict}"
squad_run_flags "$squad_version" "$precision" "$use_xla"

horovod_prefix launcher "$num_gpu" "$PY"
horovod_flag=--nohorovod
if [ "$num_gpu" -gt 1 ]; then horovod_flag=--horovod; fi

GBS=$((batch_size * num_gpu))
printf -v TAG "tf_bert_finetuning_squad_%s_%s_gbs%d" "$(basename "$bert_model")" "$precision" "$GBS"
DATESTAMP=$(date +'%y%m%d%H%M%S')
RESULTS_DIR="${RESULTS_DIR:-$ROOT/results}/${TAG}_${DATESTAMP}"
LOGFILE="$RESULTS_DIR/$TAG.$DATESTAMP.log"
mkdir -p "$RESULTS_DIR"
echo "SQuAD v$squad_version: train $TRAIN_FILE, predict $PREDICT_FILE; model $BERT_DIR"
echo "Saving checkpoints to $RESULTS_DIR; log $LOGFILE"

cd "$ROOT"
# shellcheck disable=SC2154  # launcher: set by horovod_prefix
"${launcher[@]}" "$PY" run_squad.py \
  --vocab_file="$BERT_DIR/vocab.txt" \
  --bert_config_file="$BERT_DIR/bert_config.json" \
  --init_checkpoint="$init_checkpoint" \
  --do_train --train_file="$TRAIN_FILE" \
  --do_predict --predict_file="$PREDICT_FILE" \
  --train_batch_size="$batch_size" \
  --learning_rate="$learning_rate" \
  --num_train_epochs="$epochs" \
  --max_seq_length="$seq_length" \
  --doc_stride="$doc_stride" \
  --save_checkpoints_steps=1000 \
  --output_dir="$RESULTS_DIR" \
  "$horovod_flag" "${SQUAD_FLAGS[@]}" "${extra[@]}" 2>&1 | tee "$LOGFILE"
exit "${PIPESTATUS[0]}"
