#!/usr/bin/env bash
# Inference (devel-set prediction) throughput of a BioBERT task over sequence lengths, batch sizes and
# precisions, as a table (NVIDIA's biobert_finetune_inference_benchmark.sh), with the pretrained model's weights:
#
#   bash biobert/scripts/biobert_finetune_inference_benchmark.sh [task] [bert_model] [cased]
#
#   task        ner_bc5cdr-chem (default) | ner_bc5cdr-disease | ner_ncbi-disease | rel_chemprot | rel_gad
#   bert_model  minilm (default) | base | large      cased  false (default)
# Environment: SEQ_LENGTHS "128" [NVIDIA: 128 512], BATCH_SIZES "8 32" [8 32 64], PRECISIONS "fp32 fp16".
# Sentences/sec: throughput_eval (windows or sentences per second of prediction, graph set-up excluded).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/biobert_config.sh"
task=${1:-ner_bc5cdr-chem}
biobert_task_table "$0" "$task"
biobert_benchmark inference "$task" 1 "${2:-}" "${3:-}"
