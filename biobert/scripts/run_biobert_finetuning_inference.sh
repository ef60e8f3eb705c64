#!/usr/bin/env bash
# Evaluates (devel/dev set) and predicts (test set, when present) with a checkpoint, without training, in NVIDIA's
# positional arguments:
#
#   bash biobert/scripts/run_biobert_finetuning_inference.sh [task] [init_checkpoint] [bert_model] [cased] \
#       [precision] [use_xla] [batch_size]
#
#   task             ner_bc5cdr-chem (default) | ner_bc5cdr-disease | ner_ncbi-disease | rel_chemprot | rel_gad
#   init_checkpoint  a fine-tuned checkpoint of that task (e.g. results/tf_bert_biobert_ner_bc5cdr_chem_.../
#                    model.ckpt-N); default the pretrained model's, whose fresh head makes the scores meaningless
#                    (timing only)
#   bert_model cased precision use_xla: as in ner_bc5cdr-chem.sh (defaults minilm false fp32 false)
#   batch_size       eval and predict batch size (default 32)
# Throughput: throughput_eval / throughput_test (windows or sentences per second) in the log's FINAL lines.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/biobert_config.sh"
task=${1:-ner_bc5cdr-chem}
biobert_task_table "$0" "$task"
# init_checkpoint train_batch_size learning_rate cased precision use_xla num_gpu seq_length bert_model eval_bs
biobert_args "$0" "${2:-}" "" "" "${4:-}" "${5:-}" "${6:-}" 1 "$TASK_SEQ_LENGTH" "${3:-}" "${7:-}"
biobert_finetune "$TASK_SCRIPT" "$TASK_NAME" "$TASK_DATA" "${TASK_TAG}_inference"
