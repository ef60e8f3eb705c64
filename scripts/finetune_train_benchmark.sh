#!/usr/bin/env bash
# SQuAD fine-tuning training benchmark (NVIDIA's finetune_train_benchmark.sh): sentences/sec of run_squad.py's
# training step (BERT + span head + Adam) over batch sizes, sequence lengths and precisions, printed as a table.
#
#   bash scripts/finetune_train_benchmark.sh [bert_model] [extra benchmarks/finetune_benchmark.py flags]
#
#   bert_model  base (default) | large | tiny | minilm, as in scripts/finetune_inference_benchmark.sh.
# Defaults: batch sizes 1,2,4,8; sequence lengths 128,384; fp32 (--precision=fp32,amp adds --amp's precision,
# the two taking turns step by step); 2 warm-up and 5 timed steps per setting; 2 intra/inter-op threads.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/configs/squad_config.sh"
finetune_benchmark train "$@"
