#!/usr/bin/env bash
# shellcheck disable=SC2154  # the arguments are set by pretrain_lamb_args (scripts/configs/pretrain_config.sh)
# LAMB pretraining, phase 1: sequences of 128 tokens (20 masked positions), 90% of train_steps updates, from
# scratch or from $INIT_CHECKPOINT. Resumes from $RESULTS_DIR/phase_1 when it holds checkpoints.
#
#   bash scripts/run_pretraining_lamb_phase1.sh [train_batch_size_phase1] [train_batch_size_phase2] \
#       [eval_batch_size] [learning_rate_phase1] [learning_rate_phase2] [precision] [use_xla] [num_gpus] \
#       [warmup_steps_phase1] [warmup_steps_phase2] [train_steps] [save_checkpoints_steps] \
#       [num_accumulation_steps_phase1] [num_accumulation_steps_phase2] [bert_model]
#
# The arguments of run_pretraining_lamb.sh (NVIDIA's order and defaults: 64 8 8 7.5e-4 5e-4 fp16 true 8
# 2000 200 7820 100 128 512 large; presets in scripts/configs/pretrain_config.sh); phase 1 uses the
# *_phase1 ones. Batch sizes are per worker, learning rates are used as given.
#   precision   fp16 | manual_fp16 (both --amp) | fp32 | tf32
#   use_xla     true | false
#   num_gpus    workers; more than 1 runs them through horovodrun (or mpirun: LAUNCHER=mpirun) with --horovod
#   bert_model  large | base | minilm | mini | tiny (scripts/configs/bert_<model>_config.json)
#
# Environment: RESULTS_DIR (default results/; output in $RESULTS_DIR/phase_1), DATA_DIR (default data/,
# NVIDIA's tfrecord/ layout; DATASET and TFRECORD_SHARDS pick the folder), BERT_CONFIG, INIT_CHECKPOINT,
# MAX_SEQ_LENGTH_PHASE1 / MAX_PREDICTIONS_PHASE1 (default 128 / 20), PYTHON (default .venv/bin/python).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/configs/pretrain_config.sh"
pretrain_lamb_args "$0" "$@"

seq_len=${MAX_SEQ_LENGTH_PHASE1:-128}
max_pred_per_seq=${MAX_PREDICTIONS_PHASE1:-20}
train_steps_phase1=$((train_steps * 9 / 10))   # phase 1 is 90% of the updates
[ "$train_steps_phase1" -ge 1 ] || pretrain_usage_error "$0" "train_steps=$train_steps leaves phase 1 no update"

RESULTS_DIR="${RESULTS_DIR:-$ROOT/results}"
RESULTS_DIR_PHASE1="$RESULTS_DIR/phase_1"
pretrain_setup "$seq_len" "$max_pred_per_seq"

echo "Phase 1: $train_steps_phase1 updates of $num_gpus x $train_batch_size_phase1 x" \
     "$num_accumulation_steps_phase1 sequences of $seq_len tokens from $DATA"
pretrain_phase "$RESULTS_DIR_PHASE1" "$RESULTS_DIR_PHASE1/phase_1.$(date +'%y%m%d%H%M%S').log" \
  "$train_batch_size_phase1" "$seq_len" "$max_pred_per_seq" \
  "$train_steps_phase1" "$warmup_steps_phase1" "$num_accumulation_steps_phase1" "$learning_rate_phase1" lamb "${INIT_FLAGS[@]}"
