#!/usr/bin/env bash
# Fine-tuning training throughput of a BioBERT task over sequence lengths, batch sizes and precisions, as a
# table (NVIDIA's biobert_finetune_training_benchmark.sh):
#
#   bash biobert/scripts/biobert_finetune_training_benchmark.sh [task] [num_gpu] [bert_model] [cased]
#
#   task        ner_bc5cdr-chem (default) | ner_bc5cdr-disease | ner_ncbi-disease | rel_chemprot | rel_gad
#   num_gpu     workers (default 1)      bert_model  minilm (default) | base | large      cased  false
# Environment (defaults for a 2-core CPU; NVIDIA's in brackets): SEQ_LENGTHS "128" [128 512], BATCH_SIZES
# "8 32" [8 32 64], PRECISIONS "fp32 fp16" [fp16 fp32; fp16 is --amp: bfloat16 on a CPU with bfloat16 units],
# EPOCHS 0.1 [2.0] of the task's training set per setting. Sentences/sec: the training loop's throughput_train
# (warm-up and checkpoint steps excluded).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/biobert_config.sh"
task=${1:-ner_bc5cdr-chem}
biobert_task_table "$0" "$task"
biobert_benchmark train "$task" "${2:-1}" "${3:-}" "${4:-}"
