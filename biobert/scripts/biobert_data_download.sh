#!/usr/bin/env bash
# BioBERT fine-tuning data (BC5CDR chemical and disease, NCBI-disease, ChemProt, GAD) in the layout the
# launchers read, under $BIOBERT_DATA_DIR (default data/biobert); with `pubmed`, also the PubMed pretraining
# TFRecords (data/create_biobert_datasets_from_start.sh, what NVIDIA's biobert_data_download.sh runs; its
# environment applies, e.g. PUBMED_FILES to fetch only some of the baseline's files):
#
#   bash biobert/scripts/biobert_data_download.sh [pubmed]
#
# Copied from $BERT_SHARED_DATA/biobert (default /work/shared/data/biobert) when it exists, else downloaded
# from the public origins (data/biobert_data.py lists them); every file's sha256 is checked. GAD's last 10% of
# rows are held back as its dev set.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/biobert_config.sh"
[ $# = 0 ] || { [ $# = 1 ] && [ "$1" = pubmed ]; } || pretrain_usage_error "$0" "'$*': expected nothing or pubmed"
PY="$(bert_python)"
source_dir="${BERT_SHARED_DATA:-/work/shared/data}/biobert"
source_flag=()
[ -d "$source_dir" ] && source_flag=(--source_dir="$source_dir")
"$PY" "$BIOBERT_ROOT/data/biobert_data.py" --output_dir="${BIOBERT_DATA_DIR:-$BIOBERT_ROOT/data/biobert}" \
  "${source_flag[@]}"
if [ $# = 1 ]; then
  PYTHON="$PY" bash "$BIOBERT_ROOT/data/create_biobert_datasets_from_start.sh"
fi
