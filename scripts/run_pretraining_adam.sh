#!/usr/bin/env bash
# BERT pretraining with Adam (weight decay) in a single phase, as NVIDIA's run_pretraining_adam.sh.
# Resumes from $RESULTS_DIR when it holds checkpoints; evaluates on the test TFRecords at the end.
#
#   bash scripts/run_pretraining_adam.sh [train_batch_size] [eval_batch_size] [learning_rate] [precision] \
#       [use_xla] [num_gpus] [warmup_steps] [train_steps] [save_checkpoints_steps] [bert_model] \
#       [num_accumulation_steps] [seq_len] [max_pred_per_seq]
#
# Defaults (NVIDIA's): 14 8 1e-4 manual_fp16 true 8 10000 1144000 5000 large 1 512 80.
#   train_batch_size  per-worker micro-batch; global batch = batch x num_gpus x num_accumulation_steps
#   learning_rate     peak learning rate, used as given (never scaled by the number of workers)
#   precision         fp16 | manual_fp16 (both --amp: mixed precision, dynamic loss scaling) | fp32 | tf32
#   use_xla           true | false
#   num_gpus          workers; more than 1 runs them through horovodrun (or mpirun: LAUNCHER=mpirun)
#   bert_model        large | base | minilm | mini | tiny (scripts/configs/bert_<model>_config.json)
#
# Environment: RESULTS_DIR (default results/tf_bert_pretraining_adam_<model>_<precision>_gbs<N>_<date>),
# DATA_DIR (default data/, NVIDIA's tfrecord/ layout, from data/create_datasets_from_start.sh; DATASET and
# TFRECORD_SHARDS pick the folder), BERT_CONFIG, INIT_CHECKPOINT, PYTHON (default .venv/bin/python),
# LAUNCHER, HOROVOD_HOSTS.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/configs/pretrain_config.sh"

[ $# -le 13 ] || pretrain_usage_error "$0" "$# arguments given, at most 13 expected"
train_batch_size=${1:-14}
eval_batch_size=${2:-8}
learning_rate=${3:-1e-4}
precision=${4:-manual_fp16}
use_xla=${5:-true}
num_gpus=${6:-8}
warmup_steps=${7:-10000}
train_steps=${8:-1144000}
save_checkpoints_steps=${9:-5000}
bert_model=${10:-large}
num_accumulation_steps=${11:-1}
seq_len=${12:-512}
max_pred_per_seq=${13:-80}
pretrain_check "$0" count train_batch_size "$train_batch_size" count eval_batch_size "$eval_batch_size" \
  rate learning_rate "$learning_rate" precision precision "$precision" bool use_xla "$use_xla" \
  count num_gpus "$num_gpus" steps warmup_steps "$warmup_steps" count train_steps "$train_steps" \
  count save_checkpoints_steps "$save_checkpoints_steps" model bert_model "$bert_model" \
  count num_accumulation_steps "$num_accumulation_steps" count seq_len "$seq_len" \
  count max_pred_per_seq "$max_pred_per_seq"

GBS=$((train_batch_size * num_gpus * num_accumulation_steps))
printf -v TAG "tf_bert_pretraining_adam_%s_%s_gbs%d" "$bert_model" "$precision" "$GBS"
DATESTAMP=$(date +'%y%m%d%H%M%S')
RESULTS_DIR="${RESULTS_DIR:-$ROOT/results/${TAG}_${DATESTAMP}}"
pretrain_setup "$seq_len" "$max_pred_per_seq"

echo "Adam: $train_steps updates of $num_gpus x $train_batch_size x $num_accumulation_steps sequences of" \
     "$seq_len tokens from $DATA"
pretrain_phase "$RESULTS_DIR" "$RESULTS_DIR/$TAG.$DATESTAMP.log" \
  "$train_batch_size" "$seq_len" "$max_pred_per_seq" \
  "$train_steps" "$warmup_steps" "$num_accumulation_steps" "$learning_rate" adam "${INIT_FLAGS[@]}"
