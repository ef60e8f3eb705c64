#!/usr/bin/env bash
# Benchmarks create_pretraining_data.py on about 5 MB of Project Gutenberg text.
#
# Input: the first 10 books, in name order, of $BERT_SHARED_DATA/pretrain_corpus/gutenberg/*.txt without
# bible-kjv.txt (verse-numbered, 4.3 MB alone): austen-emma ... shakespeare-caesar, 5.07 MB raw. Each book is
# sentence-split with NLTK punkt_tab (data/samples/nltk_data) into one sentence per line, one document per
# book, blank line between books (~5.0 MB).
# Flags: --max_seq_length=128 --max_predictions_per_seq=20 --masked_lm_prob=0.15 --dupe_factor=5
#        --random_seed=12345 --do_lower_case, bert-base-uncased vocab.
# Prints per run: instances, wall seconds, instances/sec, CPU seconds (user+sys), peak RSS; then medians.
# The machine is shared and noisy: compare medians (and CPU seconds).
#
# Usage: bash scripts/data_benchmark.sh [runs (default 5)]
# Env: BERT_SHARED_DATA (default <repo>/../shared/data), PYTHON (default <repo>/.venv/bin/python),
#      BENCH_DIR (default: a new temporary folder, removed at the end).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${BERT_SHARED_DATA:-$REPO/../shared/data}"
PY="${PYTHON:-$REPO/.venv/bin/python}"
RUNS="${1:-5}"
BOOKS_DIR="$SHARED/pretrain_corpus/gutenberg"
VOCAB="$REPO/data/samples/vocab/bert-base-uncased-vocab.txt"

if [ ! -d "$BOOKS_DIR" ]; then
  echo "error: $BOOKS_DIR not found; set BERT_SHARED_DATA to the folder holding pretrain_corpus/gutenberg" >&2
  exit 1
fi
[ -f "$VOCAB" ] || { echo "error: $VOCAB not found" >&2; exit 1; }

mapfile -t BOOKS < <(ls "$BOOKS_DIR"/*.txt | LC_ALL=C sort | grep -v '/bible-kjv\.txt$' | head -n 10)
if [ "${#BOOKS[@]}" -ne 10 ]; then
  echo "error: expected at least 10 books in $BOOKS_DIR, found ${#BOOKS[@]}" >&2
  exit 1
fi

source "$REPO/scripts/configs/bench_dir.sh"

INPUT="$WORK/gutenberg_5mb.txt"
"$PY" "$REPO/data/prepare_pretrain_text.py" --nltk_data="$REPO/data/samples/nltk_data" \
  --output_file="$INPUT" "${BOOKS[@]}"
echo "input: $INPUT, $(wc -c < "$INPUT") bytes, $(wc -l < "$INPUT") lines, books: $(printf '%s ' "${BOOKS[@]##*/}")"

"$PY" "$REPO/benchmarks/data_benchmark.py" --input_file="$INPUT" --vocab_file="$VOCAB" --work_dir="$WORK" \
  --runs="$RUNS"
