#!/usr/bin/env bash
# Benchmarks BERT pretraining steps: sentences/sec and model GFLOP/s (formula in
# benchmarks/pretraining_benchmark.py), BERT-base and MiniLM-size (6 layers, hidden 384), Adam and LAMB,
# XLA auto-clustering off and on, batch 16, sequence length 128, 20 predictions, 2 intra/inter-op threads,
# fp32 (--precision=fp32,amp adds --amp: bfloat16 on a CPU with bfloat16 units, in a `prec` column, with its
# speed over fp32's in `vs fp32`). The header names the processor and its bf16/AMX flags.
#
# Input: TFRecords made here by create_pretraining_data.py from data/samples/pretrain/gutenberg_sample.txt
# (bert-base-uncased vocab, --dupe_factor=1, 639 instances), read through the training input pipeline
# (utils/training.tfrecord_input_fn: shuffle, parallel parse, batch, prefetch).
# Each (config, optimizer) graph (one per precision) runs in one session per XLA setting; all the sessions take
# turns for each repeat, so load on a shared machine hits them alike. Prints per-repeat figures, the load
# average and a final table.
# TF_ENABLE_ONEDNN_OPTS defaults to 1 here (TensorFlow leaves oneDNN off on CPUs without AVX-512, e.g. AMD);
# set it to 0 to compare.
#
# Usage: bash scripts/pretraining_benchmark.sh [extra flags, e.g. --bert_configs=minilm=scripts/configs/bert_minilm_config.json
#        --optimizers=adam --xla=on --precision=fp32,amp --steps=5 --repeats=3]
# Env: PYTHON (default <repo>/.venv/bin/python), BENCH_DIR (default: a new temporary folder, removed at the end).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-$REPO/.venv/bin/python}"
export TF_ENABLE_ONEDNN_OPTS="${TF_ENABLE_ONEDNN_OPTS:-1}"

source "$REPO/scripts/configs/bench_dir.sh"

RECORDS="$WORK/pretrain_seq128.tfrecord"
"$PY" "$REPO/create_pretraining_data.py" --input_file="$REPO/data/samples/pretrain/gutenberg_sample.txt" \
  --output_file="$RECORDS" --vocab_file="$REPO/data/samples/vocab/bert-base-uncased-vocab.txt" \
  --do_lower_case --max_seq_length=128 --max_predictions_per_seq=20 --masked_lm_prob=0.15 --dupe_factor=1 \
  --random_seed=12345 > "$WORK/create_pretraining_data.log" 2>&1 \
  || { echo "error: create_pretraining_data.py failed, see $WORK/create_pretraining_data.log" >&2; exit 1; }

echo "load average before: $(cat /proc/loadavg)"
"$PY" "$REPO/benchmarks/pretraining_benchmark.py" --input_file="$RECORDS" --max_seq_length=128 \
  --max_predictions_per_seq=20 --batch_size=16 --intra_op_threads=2 --inter_op_threads=2 "$@"
echo "load average after: $(cat /proc/loadavg)"
