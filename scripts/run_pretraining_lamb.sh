#!/usr/bin/env bash
# shellcheck disable=SC2154  # the arguments are set by pretrain_lamb_args (scripts/configs/pretrain_config.sh)
# BERT pretraining with LAMB in two phases, as NVIDIA's run_pretraining_lamb.sh: phase 1 at 128 tokens
# (scripts/run_pretraining_lamb_phase1.sh), then phase 2 at 512 tokens initialised from phase 1's final
# checkpoint (scripts/run_pretraining_lamb_phase2.sh). Each phase evaluates on the test TFRecords at its end.
#
#   bash scripts/run_pretraining_lamb.sh [train_batch_size_phase1] [train_batch_size_phase2] \
#       [eval_batch_size] [learning_rate_phase1] [learning_rate_phase2] [precision] [use_xla] [num_gpus] \
#       [warmup_steps_phase1] [warmup_steps_phase2] [train_steps] [save_checkpoints_steps] \
#       [num_accumulation_steps_phase1] [num_accumulation_steps_phase2] [bert_model]
#
# Defaults (NVIDIA's): 64 8 8 7.5e-4 5e-4 fp16 true 8 2000 200 7820 100 128 512 large.
#   train_batch_size_*  per-worker micro-batch; global batch = batch x num_gpus x num_accumulation_steps
#   learning_rate_*     peak learning rates, used as given (never scaled by the number of workers)
#   precision           fp16 | manual_fp16 (both --amp: mixed precision, dynamic loss scaling) | fp32 | tf32
#   use_xla             true | false
#   num_gpus            workers; more than 1 runs them through horovodrun (or mpirun: LAUNCHER=mpirun)
#   train_steps         updates of both phases: phase 1 gets 90%; phase 2 10%, times gbs_phase1 / gbs_phase2
#   bert_model          large | base | minilm | mini | tiny (scripts/configs/bert_<model>_config.json)
# Presets: bash scripts/run_pretraining_lamb.sh $(source scripts/configs/pretrain_config.sh && cpu_2core_fp32)
#   (NVIDIA's: dgxa100_8gpu_fp16, dgxa100_8gpu_tf32, dgx2_16gpu_fp16, dgx2_16gpu_fp32, dgx1_8gpu_fp16, ...)
#
# Environment: RESULTS_DIR (default results/tf_bert_pretraining_lamb_<model>_<precision>_gbs1<N>_gbs2<N>_
# <date>), DATA_DIR (default data/, NVIDIA's tfrecord/ layout, from data/create_datasets_from_start.sh;
# DATASET and TFRECORD_SHARDS pick the folder), BERT_CONFIG, INIT_CHECKPOINT (phase 1's start),
# MAX_SEQ_LENGTH_PHASE{1,2} / MAX_PREDICTIONS_PHASE{1,2} (default 128 / 20 and 512 / 80), KEEP_CHECKPOINT_MAX
# (checkpoints kept per phase, default 5), PYTHON (default .venv/bin/python), LAUNCHER, HOROVOD_HOSTS.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/configs/pretrain_config.sh"
pretrain_lamb_args "$0" "$@"

GBS1=$((train_batch_size_phase1 * num_gpus * num_accumulation_steps_phase1))
GBS2=$((train_batch_size_phase2 * num_gpus * num_accumulation_steps_phase2))
printf -v TAG "tf_bert_pretraining_lamb_%s_%s_gbs1%d_gbs2%d" "$bert_model" "$precision" "$GBS1" "$GBS2"
DATESTAMP=$(date +'%y%m%d%H%M%S')
export RESULTS_DIR="${RESULTS_DIR:-$ROOT/results/${TAG}_${DATESTAMP}}"
LOGFILE="$RESULTS_DIR/$TAG.$DATESTAMP.log"
mkdir -p "$RESULTS_DIR"
echo "Saving checkpoints to $RESULTS_DIR; log $LOGFILE"

for phase in 1 2; do
  status=0
  bash "$ROOT/scripts/run_pretraining_lamb_phase$phase.sh" "${LAMB_ARGS[@]}" 2>&1 | tee -a "$LOGFILE" \
    || status=${PIPESTATUS[0]}
  if [ "$status" != 0 ]; then
    echo "Phase $phase failed (status $status); log $LOGFILE" >&2
    exit "$status"
  fi
done
echo "Pretraining done: phase 1 in $RESULTS_DIR/phase_1, phase 2 in $RESULTS_DIR/phase_2"
