#!/usr/bin/env bash
# shellcheck disable=SC2154  # the arguments are set by pretrain_lamb_args (scripts/configs/pretrain_config.sh)
# LAMB pretraining, phase 2: sequences of 512 tokens (80 masked positions), initialised from phase 1's
# final checkpoint (the highest model.ckpt-<step> in $RESULTS_DIR/phase_1: weights only; the optimizer
# state and the step counter start afresh). 10% of train_steps updates, scaled by the ratio of the global
# batches (phase 1's / phase 2's) so that phase 2 sees 10% of the sequences at their new length. Resumes
# from $RESULTS_DIR/phase_2 when it holds checkpoints.
#
#   bash scripts/run_pretraining_lamb_phase2.sh [train_batch_size_phase1] [train_batch_size_phase2] \
#       [eval_batch_size] [learning_rate_phase1] [learning_rate_phase2] [precision] [use_xla] [num_gpus] \
#       [warmup_steps_phase1] [warmup_steps_phase2] [train_steps] [save_checkpoints_steps] \
#       [num_accumulation_steps_phase1] [num_accumulation_steps_phase2] [bert_model]
#
# The arguments of run_pretraining_lamb.sh (NVIDIA's order and defaults: 64 8 8 7.5e-4 5e-4 fp16 true 8
# 2000 200 7820 100 128 512 large; presets in scripts/configs/pretrain_config.sh); phase 2 uses the
# *_phase2 ones. Batch sizes are per worker, learning rates are used as given.
#   precision   fp16 | manual_fp16 (both --amp) | fp32 | tf32
#   use_xla     true | false
#   num_gpus    workers; more than 1 runs them through horovodrun (or mpirun: LAUNCHER=mpirun) with --horovod
#   bert_model  large | base | minilm | mini | tiny (scripts/configs/bert_<model>_config.json)
#
# Environment: RESULTS_DIR (default results/; output in $RESULTS_DIR/phase_2), PHASE1_CHECKPOINT (default:
# phase 1's final checkpoint), DATA_DIR (default data/, NVIDIA's tfrecord/ layout; DATASET and
# TFRECORD_SHARDS pick the folder), BERT_CONFIG, MAX_SEQ_LENGTH_PHASE2 / MAX_PREDICTIONS_PHASE2 (default
# 512 / 80), PYTHON (default .venv/bin/python).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/configs/pretrain_config.sh"
pretrain_lamb_args "$0" "$@"

seq_len=${MAX_SEQ_LENGTH_PHASE2:-512}
max_pred_per_seq=${MAX_PREDICTIONS_PHASE2:-80}
gbs_phase1=$((train_batch_size_phase1 * num_accumulation_steps_phase1))
gbs_phase2=$((train_batch_size_phase2 * num_accumulation_steps_phase2))
train_steps_phase2=$((train_steps * gbs_phase1 / (10 * gbs_phase2)))   # 10% of the sequences
[ "$train_steps_phase2" -ge 1 ] || pretrain_usage_error "$0" "train_steps=$train_steps leaves phase 2 no update"

RESULTS_DIR="${RESULTS_DIR:-$ROOT/results}"
RESULTS_DIR_PHASE2="$RESULTS_DIR/phase_2"
PHASE1_CHECKPOINT="${PHASE1_CHECKPOINT:-$(pretrain_final_checkpoint "$RESULTS_DIR/phase_1")}"
pretrain_setup "$seq_len" "$max_pred_per_seq"

echo "Phase 2: $train_steps_phase2 updates of $num_gpus x $train_batch_size_phase2 x" \
     "$num_accumulation_steps_phase2 sequences of $seq_len tokens from $DATA, starting from $PHASE1_CHECKPOINT"
pretrain_phase "$RESULTS_DIR_PHASE2" "$RESULTS_DIR_PHASE2/phase_2.$(date +'%y%m%d%H%M%S').log" \
  "$train_batch_size_phase2" "$seq_len" "$max_pred_per_seq" \
  "$train_steps_phase2" "$warmup_steps_phase2" "$num_accumulation_steps_phase2" "$learning_rate_phase2" lamb \
  --init_checkpoint="$PHASE1_CHECKPOINT"
