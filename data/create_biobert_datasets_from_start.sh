#!/usr/bin/env bash
# PubMed pretraining TFRecords for BioBERT, as NVIDIA's create_biobert_datasets_from_start.sh makes them: download
# (data/pubmed.py: NCBI's file listing, each file checked against its published md5), one article per line
# (title and abstract), sentence-split shards, then TFRecords for phase 1 (seq 128 / 20 predictions) and phase 2
# (512 / 80) with Google's uncased and cased BERT-base vocabularies (lower_case_1_... and lower_case_0_...: the
# folders biobert/scripts/run_pretraining_pubmed_base_phase_{1,2}.sh read with cased=false / true).
#
#   bash data/create_biobert_datasets_from_start.sh [dataset]
#
#   dataset  pubmed_baseline (default), pubmed_daily_update, pubmed_fulltext or pubmed_open_access
#
# Environment: BERT_PREP_WORKING_DIR (data root, default this data/ folder), N_PROCESSES (default: number of
# CPUs), PYTHON (default the repo's .venv python), CASING (both | uncased | cased; default both, as NVIDIA's),
# N_TRAINING_SHARDS, N_TEST_SHARDS, FRACTION_TEST_SET (default 1472, 1472, 0.1: the folders the launchers find),
# VOCAB_FILE_UNCASED, VOCAB_FILE_CASED (default Google's BERT-base vocab.txt files, from the
# google_pretrained_weights download made when one of them is not given), PUBMED_FILES (comma-separated names
# of the files to download, e.g. pubmed24n0001.xml.gz; default all), BERT_PREP_URL_PUBMED / BERT_PREP_URL_PMC
# (mirrors of https://ftp.ncbi.nlm.nih.gov/pubmed and .../pub/pmc; see data/sources.py).
set -euo pipefail
DATA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$DATA_DIR")"
export BERT_PREP_WORKING_DIR="${BERT_PREP_WORKING_DIR:-$DATA_DIR}"
if [ -z "${PYTHON:-}" ]; then
  if [ -x "$ROOT/.venv/bin/python" ]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON=python3; fi
fi
N_PROCESSES="${N_PROCESSES:-$(nproc)}"
DATASET="${1:-pubmed_baseline}"
prep() { "$PYTHON" "$DATA_DIR/bertPrep.py" --n_processes "$N_PROCESSES" "$@"; }
usage() { echo "$(basename "$0"): error: $1" >&2; exit 2; }

[ $# -le 1 ] || usage "$# arguments given, at most 1 expected"
case "$DATASET" in
  pubmed_baseline|pubmed_daily_update|pubmed_fulltext|pubmed_open_access) ;;
  *) usage "'$DATASET': expected pubmed_baseline, pubmed_daily_update, pubmed_fulltext or pubmed_open_access" ;;
esac
case "${CASING:-both}" in
  both) LOWER_CASES=(1 0) ;;
  uncased) LOWER_CASES=(1) ;;
  cased) LOWER_CASES=(0) ;;
  *) usage "CASING='$CASING': expected both, uncased or cased" ;;
esac
SHARDS=(--n_training_shards "${N_TRAINING_SHARDS:-1472}" --n_test_shards "${N_TEST_SHARDS:-1472}"
        --fraction_test_set "${FRACTION_TEST_SET:-0.1}")
weights="$BERT_PREP_WORKING_DIR/download/google_pretrained_weights"
VOCABS=("${VOCAB_FILE_CASED:-$weights/cased_L-12_H-768_A-12/vocab.txt}"
        "${VOCAB_FILE_UNCASED:-$weights/uncased_L-12_H-768_A-12/vocab.txt}")   # indexed by lower_case

# Download
files=()
[ -n "${PUBMED_FILES:-}" ] && files=(--input_files "$PUBMED_FILES")
prep --action download --dataset "$DATASET" "${files[@]}"
if [ -z "${VOCAB_FILE_UNCASED:-}" ] || [ -z "${VOCAB_FILE_CASED:-}" ]; then
  prep --action download --dataset google_pretrained_weights  # Includes the vocab files
fi

# One article per line, then sentence-split shards
prep --action text_formatting --dataset "$DATASET"
prep --action sharding --dataset "$DATASET" "${SHARDS[@]}"

# TFRecord files, phase 1 and phase 2, uncased then cased
for lower_case in "${LOWER_CASES[@]}"; do
  for seq_pred in "128 20" "512 80"; do
    read -r seq pred <<< "$seq_pred"
    prep --action create_tfrecord_files --dataset "$DATASET" "${SHARDS[@]}" --max_seq_length "$seq" \
      --max_predictions_per_seq "$pred" --do_lower_case "$lower_case" --vocab_file "${VOCABS[$lower_case]}"
  done
done

echo "TFRecords under $BERT_PREP_WORKING_DIR/tfrecord/:"
ls -d "$BERT_PREP_WORKING_DIR"/tfrecord/*/"$DATASET"
