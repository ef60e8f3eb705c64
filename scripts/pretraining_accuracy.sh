#!/usr/bin/env bash
# Pretraining from scratch on real text, end to end through the real entry points, and how much it learned:
#   1. text -> one sentence per line (NLTK punkt_tab), document boundaries kept (data/prepare_pretrain_text.py):
#      the Gutenberg books but one (a document per chapter) and 3 of every 4 WikiText-2 articles for training;
#      held out: one whole book (Chesterton, The Man Who Was Thursday) and every 4th article (15 articles);
#   2. create_pretraining_data.py: TFRecords of 128 tokens (20 masked) for phase 1 and 256 (40) for phase 2, in
#      NVIDIA's folder layout under OUT_DIR/data, and the held-out records at both lengths;
#   3. scripts/run_pretraining_lamb.sh with the preset $PRESET (BERT-Mini: 4 layers, hidden 256): phase 1, then
#      phase 2 from phase 1's final checkpoint;
#   4. every checkpoint evaluated on the held-out book and articles (run_pretraining.py --do_eval; a collapsed
#      masked-LM head is warned about there);
#   5. utils/pretraining_report.py: OUT_DIR/results.md (the table, with the baseline of always predicting the most
#      frequent masked token of the training records) and OUT_DIR/curve.png.
# The last two lines name the final checkpoint and its bert_config.json.
#
#   bash scripts/pretraining_accuracy.sh OUT_DIR
#
# Environment: BERT_SHARED_DATA (default /work/shared/data; the text is $BERT_SHARED_DATA/pretrain_corpus),
# TEXT_DIR (sentence-per-line text made already, skipping step 1: TEXT_DIR/train/*.txt, TEXT_DIR/heldout_book.txt
# and, optional, TEXT_DIR/heldout_wiki.txt), PRESET (a preset of scripts/configs/pretrain_config.sh, default
# cpu_2core_mini_fp32), TRAIN_STEPS and SAVE_STEPS (override the preset's train_steps and
# save_checkpoints_steps), NUM_WORKERS (Horovod workers; the per-worker batches are divided by it so that the
# global batch stays the preset's), DUPE_FACTOR (default 5), PYTHON.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:?usage: bash scripts/pretraining_accuracy.sh OUT_DIR}"
mkdir -p "$OUT"; OUT="$(cd "$OUT" && pwd)"
[ -n "${PYTHON:-}" ] || bash "$ROOT/scripts/setup.sh" --plots
export PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}" TF_ENABLE_ONEDNN_OPTS="${TF_ENABLE_ONEDNN_OPTS:-1}"
source "$ROOT/scripts/configs/pretrain_config.sh"
CORPUS="${BERT_SHARED_DATA:-/work/shared/data}/pretrain_corpus"
VOCAB="$ROOT/data/samples/vocab/bert-base-uncased-vocab.txt"
NLTK_DATA_DIR="$ROOT/data/samples/nltk_data"
HELDOUT_BOOK=chesterton-thursday.txt
DUPE="${DUPE_FACTOR:-5}"
t0=$(date +%s)
say() { echo "[pretraining_accuracy $(date +%H:%M:%S)] $*"; }

# The preset's 15 launcher arguments, with the environment's overrides.
read -r -a ARGS <<< "$("${PRESET:-cpu_2core_mini_fp32}")"
workers="${NUM_WORKERS:-1}"
ARGS[0]=$((ARGS[0] / workers)); ARGS[1]=$((ARGS[1] / workers)); ARGS[7]=$workers
ARGS[10]="${TRAIN_STEPS:-${ARGS[10]}}"; ARGS[11]="${SAVE_STEPS:-${ARGS[11]}}"
SEQ1=128 PRED1=20 SEQ2=256 PRED2=40

# 1. Text, one sentence per line.
if [ -z "${TEXT_DIR:-}" ]; then
  TEXT_DIR="$OUT/text"
  [ -d "$CORPUS/gutenberg" ] && [ -f "$CORPUS/wikitext-2-raw/valid.txt" ] \
    || { echo "error: $CORPUS has no gutenberg/ and wikitext-2-raw/valid.txt (set BERT_SHARED_DATA)" >&2; exit 2; }
  mkdir -p "$TEXT_DIR/train"
  say "1/5 text -> sentences ($CORPUS; held out: $HELDOUT_BOOK and every 4th WikiText-2 article)"
  mapfile -t books < <(ls "$CORPUS"/gutenberg/*.txt | grep -v "/$HELDOUT_BOOK\$")
  prep=("$PYTHON" "$ROOT/data/prepare_pretrain_text.py" --nltk_data="$NLTK_DATA_DIR")
  "${prep[@]}" --doc_break_regex='^(CHAPTER|Chapter|BOOK|Book|ACT|Actus|CANTO)\b' \
    --output_file="$TEXT_DIR/train/books.txt" "${books[@]}"
  "${prep[@]}" --format=wikitext --output_file="$TEXT_DIR/train/wiki.txt" \
    --heldout_output_file="$TEXT_DIR/heldout_wiki.txt" --heldout_every=4 "$CORPUS/wikitext-2-raw/valid.txt"
  "${prep[@]}" --output_file="$TEXT_DIR/heldout_book.txt" "$CORPUS/gutenberg/$HELDOUT_BOOK"
fi
HELDOUT_SETS=(book); [ -f "$TEXT_DIR/heldout_wiki.txt" ] && HELDOUT_SETS+=(wiki)

# 2. TFRecords: training in NVIDIA's layout (what the launchers read), held-out sets beside it.
make_records () {  # seq pred dupe output_files input_files
  "$PYTHON" "$ROOT/create_pretraining_data.py" --vocab_file="$VOCAB" --do_lower_case --max_seq_length="$1" \
    --max_predictions_per_seq="$2" --masked_lm_prob=0.15 --random_seed=12345 --dupe_factor="$3" \
    --output_file="$4" --input_file="$5" 2>&1 | grep "total instances"
}
export DATA_DIR="$OUT/data" DATASET=pretrain_corpus TFRECORD_SHARDS=shard_4_test_split_heldout
train_text="$(ls "$TEXT_DIR"/train/*.txt | paste -sd, -)"
say "2/5 create_pretraining_data.py (dupe factor $DUPE) -> $DATA_DIR"
for len in "$SEQ1 $PRED1" "$SEQ2 $PRED2"; do
  read -r seq pred <<< "$len"
  dir="$DATA_DIR/tfrecord/lower_case_1_seq_len_${seq}_max_pred_${pred}_masked_lm_prob_0.15_random_seed_12345"
  dir+="_dupe_factor_5_$TFRECORD_SHARDS/$DATASET"
  rm -rf "$dir"; mkdir -p "$dir/training" "$dir/test"
  make_records "$seq" "$pred" "$DUPE" "$(printf "$dir/training/part_%d.tfrecord\n" 0 1 2 3 | paste -sd, -)" \
    "$train_text"
  for set in "${HELDOUT_SETS[@]}"; do
    mkdir -p "$DATA_DIR/heldout_${set}_$seq"
    make_records "$seq" "$pred" 1 "$DATA_DIR/heldout_${set}_$seq/heldout.tfrecord" "$TEXT_DIR/heldout_$set.txt"
  done
  cp "$DATA_DIR/heldout_book_$seq/heldout.tfrecord" "$dir/test/"   # the launchers' final eval: the held-out book
done

# 3. Phase 1 and phase 2 through NVIDIA's launcher.
say "3/5 scripts/run_pretraining_lamb.sh ${ARGS[*]} (preset ${PRESET:-cpu_2core_mini_fp32})"
export RESULTS_DIR="$OUT/pretraining" MAX_SEQ_LENGTH_PHASE2=$SEQ2 MAX_PREDICTIONS_PHASE2=$PRED2
export KEEP_CHECKPOINT_MAX=1000
rm -rf "$RESULTS_DIR"
bash "$ROOT/scripts/run_pretraining_lamb.sh" "${ARGS[@]}" > "$OUT/pretraining.log" 2>&1 \
  || { echo "error: pretraining failed, see $OUT/pretraining.log" >&2; tail -5 "$OUT/pretraining.log" >&2; exit 1; }
grep -E "^step .*ETA|throughput_train" "$OUT/pretraining.log" | tail -2

# 4. Every checkpoint on every held-out set, at phase 1's length (and phase 2's checkpoints at theirs too).
say "4/5 held-out evaluation of every checkpoint (${HELDOUT_SETS[*]})"
rm -rf "$OUT/eval"
CONFIG="$(pretrain_bert_config "${ARGS[14]}")"
for phase in 1 2; do
  for ckpt in $(ls "$RESULTS_DIR/phase_$phase"/model.ckpt-*.index | sed 's/\.index$//' | sort -V); do
    step="${ckpt##*-}"
    [ "$step" = 0 ] && continue
    lengths=("$SEQ1 $PRED1"); [ "$phase" = 2 ] && lengths+=("$SEQ2 $PRED2")
    for len in "${lengths[@]}"; do
      read -r seq pred <<< "$len"
      for set in "${HELDOUT_SETS[@]}"; do
        dir="$OUT/eval/phase${phase}_step${step}_${set}_$seq"
        "$PYTHON" "$ROOT/run_pretraining.py" --do_eval --bert_config_file="$CONFIG" --init_checkpoint="$ckpt" \
          --eval_files_dir="$DATA_DIR/heldout_${set}_$seq" --output_dir="$dir" --max_seq_length="$seq" \
          --max_predictions_per_seq="$pred" --eval_batch_size=64 --max_eval_steps=100000 > "$dir.log" 2>&1 \
          || { echo "error: evaluation failed, see $dir.log" >&2; tail -3 "$dir.log" >&2; exit 1; }
        grep -h "warning: masked-LM predictions collapsed" "$dir.log" || true
      done
    done
  done
done

# 5. Table and curve.
say "5/5 report"
"$PYTHON" "$ROOT/utils/pretraining_report.py" --output_dir="$OUT" --eval_dir="$OUT/eval" \
  --train_records="$DATA_DIR/tfrecord/*seq_len_${SEQ1}_*/$DATASET/training" \
  --heldout_records="$(for s in "${HELDOUT_SETS[@]}"; do printf "%s=%s," "$s" "$DATA_DIR/heldout_${s}_$SEQ1"; done)" \
  --logs="$RESULTS_DIR/phase_1/bert_dllog.json,$RESULTS_DIR/phase_2/bert_dllog.json"
say "done in $(( $(date +%s) - t0 )) s"
echo "final_checkpoint: $(pretrain_final_checkpoint "$RESULTS_DIR/phase_2")"
echo "bert_config: $CONFIG"
