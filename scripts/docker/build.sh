#!/usr/bin/env bash
# Builds the container image (NVIDIA's scripts/docker/build.sh): `docker build . --rm -t bert` from the
# repository root, with the Dockerfile's steps (scripts/setup.sh, as on a host).
#
#   bash scripts/docker/build.sh [extra docker build arguments...]
#
# Environment: IMAGE (tag, default bert: the name launch.sh and data_download.sh run), WITH_MPI=1 (Horovod with
# MPI as well, for run.sub), TF_PACKAGE (e.g. "tensorflow[and-cuda]==2.18.1" for GPUs), DOCKER (default docker).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
args=()
if [ "${WITH_MPI:-0}" = 1 ]; then args+=(--build-arg WITH_MPI=1); fi
if [ -n "${TF_PACKAGE:-}" ]; then args+=(--build-arg "TF_PACKAGE=$TF_PACKAGE"); fi
cd "$ROOT"
exec "${DOCKER:-docker}" build . --rm -t "${IMAGE:-bert}" "${args[@]}" "$@"
