#!/usr/bin/env bash
# SQuAD fine-tuning training benchmark (NVIDIA's finetune_train_benchmark.sh): sentences/sec of run_squad.py's
# training step (BERT + span head + Adam) over batch sizes, sequence lengths and precisions, printed as a table.
#
#   bash scripts/finetune_train_benchmark.sh [bert_model] [use_xla] [num_gpu] [task] [benchmark flags...]
#
#   bert_model  base (default) | large | tiny: architectures from scripts/configs, random weights;
#               minilm | large_lamb | a model directory: its checkpoint (scripts/configs/common.sh)
#   use_xla     true | false (default false: on CPU, XLA was slower here; NVIDIA's default is true)
#   num_gpu     1 (default): the benchmark times one process; NVIDIA's 8 is refused, not ignored
#   task        squad (the only one, as in NVIDIA's)
# Benchmark flags (benchmarks/finetune_benchmark.py) follow, e.g. --batch_sizes=1,8 --precision=fp32,amp.
# Defaults: batch sizes 1,2,4,8; sequence lengths 128,384; fp32 (--precision=fp32,amp adds --amp's precision,
# the two taking turns step by step); 2 warm-up and 5 timed steps per setting; 2 intra/inter-op threads.
# The table is also written to NVIDIA's log file,
# $RESULTS_DIR/<task>_training_benchmark_bert_<bert_model>_gpu_<num_gpu>.log (RESULTS_DIR default results).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/configs/squad_config.sh"
finetune_benchmark_args 4 "$@"
bert_model="${BENCH_POS[0]:-base}" use_xla="${BENCH_POS[1]:-false}" num_gpu="${BENCH_POS[2]:-1}"
task="${BENCH_POS[3]:-squad}"
finetune_benchmark_check "$0" "$use_xla" "$num_gpu" "$task"
log="${RESULTS_DIR:-$ROOT/results}/${task}_training_benchmark_bert_$(basename "$bert_model")_gpu_${num_gpu}.log"
finetune_benchmark train "$bert_model" "$log" --use_xla="$use_xla" "${BENCH_FLAGS[@]}"
