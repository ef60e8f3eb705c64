#!/usr/bin/env bash
# Sets everything up (./.venv with TensorFlow, Horovod and the test-only reference implementations) and
# runs the tests. Extra arguments go to pytest, e.g. `bash scripts/test.sh -m slow` for the long
# real-accuracy runs, or `bash scripts/test.sh tests/test_modeling.py`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${BERT_VENV:-$ROOT/.venv}"
bash "$ROOT/scripts/setup.sh" --test
cd "$ROOT"
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
exec "$VENV/bin/python" -m pytest "$@"
