#!/usr/bin/env bash
# Downloads and prepares the data (NVIDIA's scripts/data_download.sh): data/create_datasets_from_start.sh in
# one of its modes, on this machine, or in the container with DOCKER_RUN=1 (as NVIDIA's, which always uses it).
#
#   bash scripts/data_download.sh [wiki_only|wiki_books|sample]
#
#   wiki_only   (default) Wikipedia; Google's pretrained weights (for the vocabulary), SQuAD and GLUE;
#               pretraining TFRecords at 128/20 and 512/80 under data/tfrecord
#   wiki_books  the same with BookCorpus (which must be supplied: see data/bertPrep.py --dataset bookscorpus)
#   sample      no download: TFRecords from the small real text in data/samples (minutes on a CPU)
#
# Environment: as data/create_datasets_from_start.sh (BERT_PREP_WORKING_DIR, N_PROCESSES, PYTHON, ...);
# DOCKER_RUN=1 runs it through scripts/docker/launch.sh (image IMAGE, default bert) from the repository root.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mode="${1:-wiki_only}"
case "$mode" in
  wiki_only|wiki_books|sample) ;;
  *) echo "data_download.sh: error: '$mode': expected wiki_only, wiki_books or sample" >&2; exit 2 ;;
esac
if [ "${DOCKER_RUN:-0}" = 1 ]; then
  cd "$ROOT"
  exec bash scripts/docker/launch.sh bash data/create_datasets_from_start.sh "$mode"
fi
exec bash "$ROOT/data/create_datasets_from_start.sh" "$mode"
