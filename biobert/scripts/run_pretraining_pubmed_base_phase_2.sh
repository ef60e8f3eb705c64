#!/usr/bin/env bash
# BioBERT pretraining, phase 2: 512 tokens (80 masked), LAMB, from phase 1's weights.
#
#   bash biobert/scripts/run_pretraining_pubmed_base_phase_2.sh [init_checkpoint] [train_batch_size] \
#       [learning_rate] [cased] [precision] [use_xla] [num_gpus] [warmup_steps] [train_steps] \
#       [num_accumulation_steps] [save_checkpoint_steps] [eval_batch_size]
#
#   init_checkpoint  default the final checkpoint of $RESULTS_DIR/biobert_phase_1
#   the others       as in run_pretraining_pubmed_base_phase_1.sh (defaults 16 5e-4 false fp32 false 1 10 100 1
#                    50 16); NVIDIA's: $(source biobert/scripts/biobert_config.sh && pubmed_phase2_dgx1_16gpu_fp16)
# Environment: as phase 1's, plus MAX_SEQ_LENGTH_PHASE2 / MAX_PREDICTIONS_PHASE2 (default 512 / 80).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/biobert_config.sh"
INIT_CHECKPOINT="${1:-}"
[ -n "$INIT_CHECKPOINT" ] ||
  INIT_CHECKPOINT="$(pretrain_final_checkpoint "${RESULTS_DIR:-$BIOBERT_ROOT/results}/biobert_phase_1")"
biobert_pretrain 2 "$0" "${@:2}"
