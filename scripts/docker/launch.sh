#!/usr/bin/env bash
# Starts the container built by scripts/docker/build.sh (NVIDIA's scripts/docker/launch.sh), with NVIDIA's
# mounts and settings: the current directory at /workspace/bert (the working directory), ./results at /results,
# 1 GB of shared memory, unlimited locked memory, a 64 MB stack, port 8888 (Jupyter).
#
#   bash scripts/docker/launch.sh [command...]        default: an interactive bash
#
# Run it from the repository root, as NVIDIA's. GPUs: all of them (--gpus all, NVIDIA_VISIBLE_DEVICES to pick)
# when nvidia-smi is on PATH, none otherwise (a CPU machine; NVIDIA's --runtime=nvidia would fail there).
# Environment: IMAGE (default bert), NVIDIA_VISIBLE_DEVICES (default all), DOCKER (default docker).
set -euo pipefail
args=(run --rm --shm-size=1g --ulimit memlock=-1 --ulimit stack=67108864 -p 8888:8888
      -v "$PWD:/workspace/bert" -v "$PWD/results:/results" --workdir=/workspace/bert)
if [ -t 0 ] && [ -t 1 ]; then args+=(-it); fi
if command -v nvidia-smi >/dev/null; then
  args+=(--gpus all -e "NVIDIA_VISIBLE_DEVICES=${NVIDIA_VISIBLE_DEVICES:-all}")
fi
mkdir -p "$PWD/results"
exec "${DOCKER:-docker}" "${args[@]}" "${IMAGE:-bert}" "${@:-bash}"
