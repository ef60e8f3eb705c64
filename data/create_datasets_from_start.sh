#!/usr/bin/env bash
# Builds the pretraining TFRecords (phase 1: seq 128 / 20 predictions, phase 2: seq 512 / 80) and
# downloads the fine-tuning data, as NVIDIA's create_datasets_from_start.sh does.
#
#   bash data/create_datasets_from_start.sh               Wikipedia only (default)
#   bash data/create_datasets_from_start.sh wiki_books    Wikipedia + BookCorpus (BookCorpus must be
#                                                         supplied: see `bertPrep.py --dataset bookscorpus`)
#   bash data/create_datasets_from_start.sh sample        no download: the small text shipped in
#                                                         data/samples/pretrain, for CPU-only trials
#
# Environment: BERT_PREP_WORKING_DIR (data root, default: this data/ folder, NVIDIA's layout),
# N_PROCESSES (parallel processes, default: number of CPUs), PYTHON (default: the repo's .venv python),
# VOCAB_FILE (sample mode; default data/samples/vocab/bert-base-uncased-vocab.txt),
# BERT_PREP_URL_<SOURCE> (mirrors; see data/sources.py).
set -euo pipefail
DATA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$DATA_DIR")"
export BERT_PREP_WORKING_DIR="${BERT_PREP_WORKING_DIR:-$DATA_DIR}"
if [ -z "${PYTHON:-}" ]; then
  if [ -x "$ROOT/.venv/bin/python" ]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON=python3; fi
fi
N_PROCESSES="${N_PROCESSES:-$(nproc)}"
to_download="${1:-wiki_only}"
prep() { "$PYTHON" "$DATA_DIR/bertPrep.py" --n_processes "$N_PROCESSES" "$@"; }

case "$to_download" in
  wiki_only) DATASET=wikicorpus_en ;;
  wiki_books) DATASET=books_wiki_en_corpus ;;
  sample) DATASET=sample_corpus ;;
  *) echo "usage: $0 [wiki_only|wiki_books|sample]" >&2; exit 2 ;;
esac

if [ "$to_download" = sample ]; then
  # 15 documents: 2 training shards and 1 test shard holding about 20% of the sentences.
  SHARDS=(--n_training_shards 2 --n_test_shards 1 --fraction_test_set 0.2)
  VOCAB="${VOCAB_FILE:-$DATA_DIR/samples/vocab/bert-base-uncased-vocab.txt}"
else
  # The shard counts and test split of the TFRecord folders NVIDIA's pretraining scripts use.
  SHARDS=(--n_training_shards 1472 --n_test_shards 1472 --fraction_test_set 0.1)
  VOCAB="$BERT_PREP_WORKING_DIR/download/google_pretrained_weights/uncased_L-24_H-1024_A-16/vocab.txt"
  # Download
  if [ "$to_download" = wiki_books ]; then
    prep --action download --dataset bookscorpus
  fi
  prep --action download --dataset wikicorpus_en
  prep --action download --dataset google_pretrained_weights  # Includes the vocab
  prep --action download --dataset squad
  prep --action download --dataset glue
fi

# Properly format the text files
if [ "$to_download" = wiki_books ]; then
  prep --action text_formatting --dataset bookscorpus
  prep --action text_formatting --dataset wikicorpus_en
else
  prep --action text_formatting --dataset "$DATASET"
fi

# Shard the text files
prep --action sharding --dataset "$DATASET" "${SHARDS[@]}"

# Create TFRecord files, phase 1 and phase 2
prep --action create_tfrecord_files --dataset "$DATASET" "${SHARDS[@]}" --max_seq_length 128 \
  --max_predictions_per_seq 20 --vocab_file "$VOCAB"
prep --action create_tfrecord_files --dataset "$DATASET" "${SHARDS[@]}" --max_seq_length 512 \
  --max_predictions_per_seq 80 --vocab_file "$VOCAB"

echo "TFRecords under $BERT_PREP_WORKING_DIR/tfrecord/:"
ls -d "$BERT_PREP_WORKING_DIR"/tfrecord/*/"$DATASET"
