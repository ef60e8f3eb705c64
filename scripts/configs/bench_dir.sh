#!/usr/bin/env bash
# Sourced by the benchmark launchers: sets WORK to $BENCH_DIR (created if needed, kept afterwards) or to a new
# temporary folder that is removed when the launcher exits.
if [ -n "${BENCH_DIR:-}" ]; then
  WORK="$BENCH_DIR"
  mkdir -p "$WORK"
else
  WORK="$(mktemp -d)"
  trap 'rm -rf "$WORK"' EXIT
fi
