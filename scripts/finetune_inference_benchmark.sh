#!/usr/bin/env bash
# SQuAD inference benchmark (NVIDIA's finetune_inference_benchmark.sh): throughput and latency percentiles
# (50/90/95/99/100) of the serving graph over batch sizes and sequence lengths, printed as NVIDIA's table.
#
#   bash scripts/finetune_inference_benchmark.sh squad [benchmark flags...]         NVIDIA's: base, then large
#   bash scripts/finetune_inference_benchmark.sh [bert_model] [benchmark flags...]  one model (default base)
#
#   bert_model  base | large | tiny: architectures from scripts/configs, random weights (the time does not
#               depend on them; a fine-tuned checkpoint can be given with --init_checkpoint);
#               minilm | large_lamb | a model directory: its checkpoint (scripts/configs/common.sh).
# Defaults: batch sizes 1,2,4,8; sequence lengths 128,384; fp32; 2 intra/inter-op threads; 20 timed batches
# per setting or 60 s, whichever ends first (at least 5). E.g. --batch_sizes=1,8 --seq_lengths=384.
# --precision=fp32,amp times both, taking turns batch by batch; amp is what --amp runs on this machine (bfloat16
# on a CPU with bfloat16 units), named in the Precision column; the table's header names the processor and its
# bf16/AMX flags. --use_xla compiles with XLA (NVIDIA's script always does; off by default here).
# Each model's table is also written to NVIDIA's log file,
# $RESULTS_DIR/squad_inference_benchmark_bert_<bert_model>.log (RESULTS_DIR default results).
# TF_ENABLE_ONEDNN_OPTS defaults to 1 (TensorFlow leaves oneDNN off on CPUs without AVX-512, e.g. AMD).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/configs/squad_config.sh"
finetune_benchmark_args 1 "$@"
models=("${BENCH_POS[0]:-base}")
if [ "${models[0]}" = squad ]; then models=(base large); fi
for model in "${models[@]}"; do
  log="${RESULTS_DIR:-$ROOT/results}/squad_inference_benchmark_bert_$(basename "$model").log"
  finetune_benchmark inference "$model" "$log" "${BENCH_FLAGS[@]}"
done
