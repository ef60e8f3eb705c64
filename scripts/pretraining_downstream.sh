#!/usr/bin/env bash
# Does pretraining help downstream? Fine-tunes a pretrained checkpoint and the same config from random
# initialisation with run_classifier.py, with the same hyperparameters and seeds, and prints a table:
#   SST-2  train on the first SST2_TRAIN_ROWS (default 8000) rows of the public train.tsv, evaluate on those of
#          its last 2000 rows whose phrase does not occur inside a training row (utils/sst2_slices.py: SST-2's
#          rows are phrases of review sentences, and a phrase inside a training phrase is not held out);
#   CoLA   the full train.tsv, evaluated on dev.tsv (Matthews correlation).
#
#   bash scripts/pretraining_downstream.sh OUT_DIR CHECKPOINT BERT_CONFIG
#
# Environment: TASKS (default "sst2 cola"; also mrpc), SEEDS (default "1 2"), LR (1e-4), BATCH (32), EPOCHS (3),
# OPTIMIZER (adam: Google's AdamWeightDecay; lamb: steps relative to each layer's weight norm),
# SST2_TRAIN_ROWS (8000: the SST-2 training slice), SST2_DEV (0; 1: choose settings without the held-back slice:
# train on the first 3/4 of the training slice and score on the rest, those of its rows not inside a training row),
# VOCAB_FILE (default bert-base-uncased's; the recipe's vocab_file line when it ran with VOCAB_SIZE),
# BERT_SHARED_DATA (default /work/shared/data; GLUE in $BERT_SHARED_DATA/glue), PYTHON.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:?usage: bash scripts/pretraining_downstream.sh OUT_DIR CHECKPOINT BERT_CONFIG}"
CHECKPOINT="${2:?missing CHECKPOINT}" CONFIG="${3:?missing BERT_CONFIG}"
[ -f "$CHECKPOINT.index" ] || { echo "error: CHECKPOINT=$CHECKPOINT: no $CHECKPOINT.index" >&2; exit 2; }
[ -f "$CONFIG" ] || { echo "error: BERT_CONFIG=$CONFIG not found" >&2; exit 2; }
PY="${PYTHON:-$ROOT/.venv/bin/python}"
GLUE="${BERT_SHARED_DATA:-/work/shared/data}/glue"
VOCAB="${VOCAB_FILE:-$ROOT/data/samples/vocab/bert-base-uncased-vocab.txt}"
[ -f "$VOCAB" ] || { echo "error: VOCAB_FILE=$VOCAB not found" >&2; exit 2; }
LR="${LR:-1e-4}" BATCH="${BATCH:-32}" EPOCHS="${EPOCHS:-3}" SST2_TRAIN_ROWS="${SST2_TRAIN_ROWS:-8000}"
[[ "$SST2_TRAIN_ROWS" =~ ^[1-9][0-9]*$ ]] \
  || { echo "error: SST2_TRAIN_ROWS=$SST2_TRAIN_ROWS is not a positive row count" >&2; exit 2; }
SST2_DEV="${SST2_DEV:-0}" OPTIMIZER="${OPTIMIZER:-adam}"
[[ "$OPTIMIZER" =~ ^(adam|lamb)$ ]] || { echo "error: OPTIMIZER=$OPTIMIZER: expected adam or lamb" >&2; exit 2; }
[[ "$SST2_DEV" =~ ^[01]$ ]] || { echo "error: SST2_DEV=$SST2_DEV: expected 0 or 1" >&2; exit 2; }
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}" TF_ENABLE_ONEDNN_OPTS="${TF_ENABLE_ONEDNN_OPTS:-1}"
mkdir -p "$OUT"

# Each task: "TASK_NAME METRIC DATA_DIR". The SST-2 slices are made below.
SST2_DIR="$OUT/data/SST-2"; [ "$SST2_DEV" = 0 ] || SST2_DIR="$OUT/data/SST-2-dev"
declare -A TASK_DATA=([sst2]="SST-2 eval_accuracy $SST2_DIR" [cola]="CoLA eval_mcc $GLUE/CoLA"
                      [mrpc]="MRPC eval_accuracy $ROOT/data/samples/glue/MRPC")
for t in ${TASKS:-sst2 cola}; do
  [ -n "${TASK_DATA[$t]:-}" ] || { echo "error: TASKS: unknown task '$t' (expected sst2, cola, mrpc)" >&2; exit 2; }
  source_dir="$GLUE/SST-2"; [ "$t" = sst2 ] || source_dir="${TASK_DATA[$t]##* }"
  [ -f "$source_dir/train.tsv" ] || { echo "error: $source_dir/train.tsv not found (set BERT_SHARED_DATA)" >&2; exit 2; }
done
if [[ " ${TASKS:-sst2 cola} " == *" sst2 "* ]]; then
  [ -f "$OUT/data/SST-2/dev.tsv" ] || (cd "$ROOT" && "$PY" -m utils.sst2_slices "$GLUE/SST-2/train.tsv" \
    "$OUT/data/SST-2" --train_rows="$SST2_TRAIN_ROWS" --heldout_rows=2000)
  dev_rows=$((SST2_TRAIN_ROWS / 4))
  [ "$SST2_DEV" = 0 ] || [ -f "$SST2_DIR/dev.tsv" ] || (cd "$ROOT" && "$PY" -m utils.sst2_slices \
    "$OUT/data/SST-2/train.tsv" "$SST2_DIR" --train_rows=$((SST2_TRAIN_ROWS - dev_rows)) --heldout_rows="$dev_rows")
fi

finetune () {  # task_name data_dir seed out [--init_checkpoint=...]
  local task="$1" data="$2" seed="$3" out="$4"; shift 4
  rm -rf "$out"; mkdir -p "$out"
  "$PY" "$ROOT/run_classifier.py" --task_name="$task" --data_dir="$data" --vocab_file="$VOCAB" \
    --bert_config_file="$CONFIG" --do_train --do_eval --max_seq_length=128 --train_batch_size="$BATCH" \
    --eval_batch_size=64 --learning_rate="$LR" --num_train_epochs="$EPOCHS" --warmup_proportion=0.1 \
    --optimizer_type="$OPTIMIZER" --seed="$seed" --output_dir="$out" "$@" > "$out.log" 2>&1 \
    || { echo "error: fine-tuning failed, see $out.log" >&2; tail -3 "$out.log" >&2; exit 1; }
}

metric () {  # run_dir key: the value of key in the run's eval_results.txt
  local value; value="$(sed -n "s/^$2 = //p" "$1/eval_results.txt")"
  [ -n "$value" ] || { echo "error: no $2 in $1/eval_results.txt" >&2; exit 1; }
  echo "$value"
}

rows=()
for t in ${TASKS:-sst2 cola}; do
  read -r task key data <<< "${TASK_DATA[$t]}"
  for seed in ${SEEDS:-1 2}; do
    echo "[$task seed $seed] pretrained and random initialisation ($OPTIMIZER, lr $LR, batch $BATCH, $EPOCHS epochs)"
    finetune "$task" "$data" "$seed" "$OUT/$t/pretrained_s$seed" --init_checkpoint="$CHECKPOINT"
    finetune "$task" "$data" "$seed" "$OUT/$t/random_s$seed"
    p="$(metric "$OUT/$t/pretrained_s$seed" "$key")"; r="$(metric "$OUT/$t/random_s$seed" "$key")"
    rows+=("$(awk -v t="$task" -v k="${key#eval_}" -v s="$seed" -v p="$p" -v r="$r" \
              'BEGIN { printf "| %s | %s | %s | %.4f | %.4f | %+.4f |", t, k, s, p, r, p - r }')")
  done
done
{
  echo "| task | metric | seed | pretrained | random init | gain |"
  echo "|---|---|---|---|---|---|"
  printf "%s\n" "${rows[@]}"
} | tee "$OUT/downstream.md"
