#!/usr/bin/env bash
# BioBERT accuracy side by side: run_ner.py / run_re.py and the test-only Hugging Face reference
# (tests/hf_biobert_reference.py: transformers on the same MiniLM, the same inputs and hyperparameters) on each
# task's train split, scored on its dev split; prints one table row per task.
#
#   bash biobert/scripts/biobert_accuracy.sh [task ...]
#
#   task   ner_bc5cdr-chem ner_bc5cdr-disease ner_ncbi-disease rel_chemprot rel_gad (default: all five)
# Environment: BIOBERT_DATA_DIR (default data/biobert: biobert_data_download.sh), OUT_DIR (default
# results/biobert_accuracy), TRAIN_LIMIT / EVAL_LIMIT (use only the first N sentences or rows of the train / dev
# files; default all: a smoke run sets them small), EPOCHS 3.0, BATCH 32, LR 5e-5, SEQ 128, SEED 42, PYTHON, and
# REPLAY=1: the reference takes our run's randomness (its --replay: our head init, micro-batches and dropout masks),
# so the two F1s differ by the implementations' arithmetic only, not by two random streams' luck.
# F1 is entity-level (conlleval) for NER, micro over CPR:3,4,5,6,9 for ChemProt, of class 1 for GAD; speed is
# training examples (windows) per second.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/biobert_config.sh"
PY="$(bert_python)"
BERT_DIR="$(minilm_dir "$PY")"
OUT_DIR="${OUT_DIR:-$BIOBERT_ROOT/results/biobert_accuracy}"
TASKS=("$@")
[ ${#TASKS[@]} -gt 0 ] || TASKS=(ner_bc5cdr-chem ner_bc5cdr-disease ner_ncbi-disease rel_chemprot rel_gad)
hyper=(--max_seq_length="${SEQ:-128}" --train_batch_size="${BATCH:-32}" --learning_rate="${LR:-5e-5}"
       --num_train_epochs="${EPOCHS:-3.0}" --seed="${SEED:-42}")
[[ "${REPLAY:-0}" =~ ^[01]$ ]] || { echo "biobert_accuracy.sh: REPLAY='$REPLAY' is not 0 or 1" >&2; exit 2; }

# Copies the first $3 sentences (NER: blank-line separated) or rows (RE; a "sentence<TAB>label" header line kept
# and not counted) of $1 to $2; all if empty.
head_of () {
  if [ -z "$3" ]; then cp "$1" "$2"
  elif [[ "$1" == */chemprot*/* || "$1" == */GAD/* ]]; then
    awk -v n="$3" 'NR == 1 && /^sentence\tlabel/ {print; next} {print} ++c >= n {exit}' "$1" > "$2"
  else awk -v n="$3" '{print} NF==0 {if (++c >= n) exit}' "$1" > "$2"; fi
}

# Prints the table row of task $1 from our dllogger file $2, the reference's JSON line $3 and the two run times.
table_row () {
  "$PY" - "$@" <<'PYTHON'
import json, sys
task, dllog, reference, ours_time, ref_time = sys.argv[1:]
ours = {}
for line in open(dllog):
  ours.update(json.loads(line.split(" ", 1)[1]).get("data", {}))
ref = json.loads(open(reference).read().splitlines()[-1])
def scores(d, prefix):
  return "%.2f (P %.2f R %.2f)" % tuple(100 * d[prefix + k] for k in ("f1", "precision", "recall"))
print("| %s | %s | %s | %.1f | %.1f | %s s | %s s |" % (task, scores(ours, "eval_"), scores(ref, ""),
      ours["throughput_train"], ref["throughput_train"], ours_time, ref_time))
PYTHON
}

rows=()
for task in "${TASKS[@]}"; do
  biobert_task_table "$0" "$task"
  src="$(biobert_data_dir "$TASK_DATA")" data="$OUT_DIR/data/$task" out="$OUT_DIR/ours/$task"
  kind=ner dev=devel.tsv
  [ "$TASK_SCRIPT" = run_re.py ] && kind=re dev=dev.tsv
  mkdir -p "$data" "$OUT_DIR/ours"
  head_of "$src/train.tsv" "$data/train.tsv" "${TRAIN_LIMIT:-}"
  head_of "$src/$dev" "$data/$dev" "${EVAL_LIMIT:-}"
  rm -rf "$out"
  start=$(date +%s)
  "$PY" "$BIOBERT_ROOT/$TASK_SCRIPT" --task_name="$TASK_NAME" --data_dir="$data" --output_dir="$out" \
    --vocab_file="$BERT_DIR/vocab.txt" --bert_config_file="$BERT_DIR/bert_config.json" \
    --init_checkpoint="$BERT_DIR/bert_model.ckpt" --do_train --do_eval --eval_batch_size=64 "${hyper[@]}" \
    > "$out.log" 2>&1 || { echo "$TASK_SCRIPT failed: $out.log" >&2; exit 1; }
  ours_time=$(( $(date +%s) - start ))
  replay=()
  [ "${REPLAY:-0}" = 1 ] && replay=(--replay="$out")
  start=$(date +%s)
  "$PY" "$BIOBERT_ROOT/tests/hf_biobert_reference.py" --kind="$kind" --task_name="$TASK_NAME" --data_dir="$data" \
    "${hyper[@]}" "${replay[@]}" > "$out.reference.json" 2> "$out.reference.log" ||
    { echo "the reference failed: $out.reference.log" >&2; exit 1; }
  ref_time=$(( $(date +%s) - start ))
  rows+=("$(table_row "$task" "$out/bert_dllog.json" "$out.reference.json" "$ours_time" "$ref_time")")
done
echo "BioBERT tasks, MiniLM ($BERT_DIR), ${hyper[*]}, TRAIN_LIMIT=${TRAIN_LIMIT:-all} EVAL_LIMIT=${EVAL_LIMIT:-all}" \
  "REPLAY=${REPLAY:-0}"
echo "| task | ours F1 | reference F1 | ours ex/s | reference ex/s | ours time | reference time |"
echo "|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
