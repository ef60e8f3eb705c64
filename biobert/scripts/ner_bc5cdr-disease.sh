#!/usr/bin/env bash
# Fine-tunes and evaluates BC5CDR disease NER (entity F1)
# with run_ner.py (--task_name=bc5cdr-disease), in NVIDIA's positional arguments:
#
#   bash biobert/scripts/ner_bc5cdr-disease.sh [init_checkpoint] [train_batch_size] [learning_rate] \
#       [cased] [precision] [use_xla] [num_gpu] [seq_length] [bert_model] [eval_batch_size] [epochs]
#
#   defaults        the converted MiniLM's checkpoint, 32 5e-5 false fp32 false 1 128 minilm 32 3.0 (a 2-core CPU)
#   cased           true: --nodo_lower_case          precision   fp16 (--amp) | fp32 | tf32
#   num_gpu         workers; more than 1 runs under horovodrun (LAUNCHER=mpirun: mpirun) with --horovod
#   bert_model      minilm | base | large (Google's BERT under data/download, as NVIDIA's), or set BERT_DIR
# NVIDIA's values:
#   bash biobert/scripts/ner_bc5cdr-disease.sh "" $(source biobert/scripts/biobert_config.sh && ner_dgx1_16gpu_fp16)
#
# Data: $BIOBERT_DATA_DIR/BC5CDR/disease (default data/biobert; biobert/scripts/biobert_data_download.sh
# makes it); --do_predict too when it has test.tsv. Output: $RESULTS_DIR (default results)/<tag>_<date>/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/biobert_config.sh"
biobert_args "$0" "$@"
biobert_finetune run_ner.py bc5cdr-disease BC5CDR/disease ner_bc5cdr_disease --do_train
