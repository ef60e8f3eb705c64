#!/usr/bin/env bash
# BioBERT fine-tuning data (BC5CDR chemical and disease, NCBI-disease, ChemProt, GAD) in the layout the
# launchers read, under $BIOBERT_DATA_DIR (default data/biobert):
#
#   bash biobert/scripts/biobert_data_download.sh
#
# Copied from $BERT_SHARED_DATA/biobert (default /work/shared/data/biobert) when it exists, else downloaded
# from the public origins (data/biobert_data.py lists them); every file's sha256 is checked. GAD's last 10% of
# rows are held back as its dev set. PubMed pretraining data is not made here.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/biobert_config.sh"
PY="$(bert_python)"
source_dir="${BERT_SHARED_DATA:-/work/shared/data}/biobert"
source_flag=()
[ -d "$source_dir" ] && source_flag=(--source_dir="$source_dir")
"$PY" "$BIOBERT_ROOT/data/biobert_data.py" --output_dir="${BIOBERT_DATA_DIR:-$BIOBERT_ROOT/data/biobert}" \
  "${source_flag[@]}"
