#!/usr/bin/env bash
# BioBERT pretraining, phase 1: continues a pretrained BERT on PubMed abstracts, 128 tokens (20 masked), LAMB.
#
#   bash biobert/scripts/run_pretraining_pubmed_base_phase_1.sh [train_batch_size] [learning_rate] [cased] \
#       [precision] [use_xla] [num_gpus] [warmup_steps] [train_steps] [num_accumulation_steps] \
#       [save_checkpoint_steps] [eval_batch_size]
#
#   defaults  16 5e-4 false fp32 false 1 10 100 1 50 16: the real MiniLM continued for 100 updates on a 2-core CPU
#   NVIDIA's: $(source biobert/scripts/biobert_config.sh && pubmed_phase1_dgx1_16gpu_fp16) with BERT_MODEL=base
#   cased     false: uncased TFRecords (lower_case_1_...) and model; true: cased ones (lower_case_0_...) and, for
#             base/large, Google's cased BERT; both made by data/create_biobert_datasets_from_start.sh
# Environment: BERT_MODEL (minilm | base | large | mini | tiny; default minilm; the MiniLM is uncased),
# INIT_CHECKPOINT (default the MiniLM's checkpoint for minilm, Google's {un,}cased BERT under
# data/download/google_pretrained_weights for base/large, none otherwise), DATA_DIR and DATASET (default
# pubmed_baseline: $DATA_DIR/tfrecord/lower_case_<1|0>_seq_len_128_max_pred_20_..._<shards>/pubmed_baseline/
# {training,test}), RESULTS_DIR (output in $RESULTS_DIR/biobert_phase_1), PYTHON, LAUNCHER, HOROVOD_HOSTS.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/biobert_config.sh"
biobert_pretrain 1 "$0" "$@"
