#!/usr/bin/env bash
# Pretraining from scratch on real text, end to end through the real entry points, and how much it learned:
#   1. text -> one sentence per line (NLTK punkt_tab), document boundaries kept (data/prepare_pretrain_text.py):
#      for training, the Gutenberg books but two (a file per book, a document per chapter) and 3 of every 4
#      WikiText-2 articles (one file); held out: one whole book (Chesterton, The Man Who Was Thursday) and every
#      4th article (15 articles). The King James Bible is left out: 40% of the text, one document, in a register
#      unlike both held-out sets. A random "next" segment comes from the same file (create_pretraining_data.py),
#      so next-sentence prediction is learned from topic and coherence, not from telling authors apart. The
#      articles are the only text whose random segments change topic, and they are short (13% of the records
#      when read once): they are read WIKI_WEIGHT times (default 4; 37% of the records);
#   2. create_pretraining_data.py: TFRecords of 16 tokens for phase 0, 128 for phase 1 and 256 for phase 2 with 40%
#      of the tokens masked (MASKED_LM_PROB; BERT's 15% gives a model that learns less per update), in NVIDIA's
#      folder layout under OUT_DIR/data, and the held-out records at each length with BERT's 15% (accuracies stay
#      comparable);
#   3. phase 0 (ours, not NVIDIA's): SHORT_STEPS LAMB updates of SHORT_BATCH sequences of SHORT_SEQ_LENGTH tokens
#      (default 1000 of 128 x 16: as many tokens per update as phase 1) at phase 1's learning rate. At 128 tokens
#      BERT learns to attend to neighbours only after a long plateau where it predicts from the bag of words;
#      in 16 tokens it learns it in a few hundred updates, and phase 1 carries it over (README);
#      then scripts/run_pretraining_lamb.sh with the preset $PRESET (BERT-Mini: 4 layers, hidden 256, pretrained
#      without dropout: scripts/configs/bert_mini_nodropout_config.json): phase 1 from phase 0's final
#      checkpoint, then phase 2 from phase 1's;
#   4. every checkpoint evaluated on the held-out book and articles (run_pretraining.py --do_eval; a collapsed
#      masked-LM head is warned about there), and on a copy of each with the words of every segment shuffled
#      (utils/shuffle_records.py): a model that predicts from the bag of words scores the same on both;
#   5. utils/pretraining_report.py: OUT_DIR/results.md (the table, with the baseline of always predicting the most
#      frequent masked token of the training records) and OUT_DIR/curve.png.
#
#   bash scripts/pretraining_accuracy.sh OUT_DIR
#
# Environment: BERT_SHARED_DATA (default /work/shared/data; the text is $BERT_SHARED_DATA/pretrain_corpus),
# TEXT_DIR (sentence-per-line text made already, skipping step 1: TEXT_DIR/train/*.txt, TEXT_DIR/heldout_book.txt
# and, optional, TEXT_DIR/heldout_wiki.txt), PRESET (a preset of scripts/configs/pretrain_config.sh, default
# cpu_2core_mini_fp32), BERT_CONFIG (the model; default the no-dropout BERT-Mini), TRAIN_STEPS (overrides the
# preset's train_steps; the warmups shrink in proportion), SAVE_STEPS (save_checkpoints_steps), NUM_WORKERS
# (Horovod workers; the per-worker batches change so that the global batch stays the preset's), PHASES ("1 2",
# the default, or "1": phase 1 only, e.g. to compare worker counts; phase 0 runs before either), SHORT_STEPS
# (phase 0's updates, default 1000; 0: no phase 0), SHORT_BATCH (its global batch, default 128), SHORT_SEQ_LENGTH
# (default 16), DUPE_FACTOR (default 5), WIKI_WEIGHT (default 4: the articles' file is listed that many times),
# MASKED_LM_PROB (default 0.4), VOCAB_SIZE (unset: bert-base-uncased's vocabulary; N: a vocabulary of N WordPieces
# learnt from the training text by data/learn_vocab.py, OUT_DIR/vocab.txt, with OUT_DIR/bert_config.json the model's
# config at that vocab_size), PYTHON (set: no set-up run). Every checkpoint is kept (KEEP_CHECKPOINT_MAX=1000).
# The last three lines name the vocabulary, the final checkpoint and its bert_config.json.
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
HELDOUT_BOOK=chesterton-thursday.txt LEFT_OUT_BOOK=bible-kjv.txt
DUPE="${DUPE_FACTOR:-5}" WIKI_WEIGHT="${WIKI_WEIGHT:-4}"
[[ "$WIKI_WEIGHT" =~ ^[1-9][0-9]*$ ]] || { echo "error: WIKI_WEIGHT=$WIKI_WEIGHT is not a positive count" >&2; exit 2; }
t0=$(date +%s)
say() { echo "[pretraining_accuracy $(date +%H:%M:%S)] $*"; }

# The preset's 15 launcher arguments, with the environment's overrides.
preset="${PRESET:-cpu_2core_mini_fp32}"
declare -F "$preset" >/dev/null || { echo "error: PRESET=$preset is not a preset of scripts/configs/pretrain_config.sh" >&2; exit 2; }
read -r -a ARGS <<< "$("$preset")"
workers="${NUM_WORKERS:-${ARGS[7]}}"
[[ "$workers" =~ ^[1-9][0-9]*$ ]] || { echo "error: NUM_WORKERS=$workers is not a worker count" >&2; exit 2; }
for i in 0 1; do   # per-worker batches, so that the global batch stays the preset's
  (( ARGS[i] * ARGS[7] % workers == 0 )) \
    || { echo "error: NUM_WORKERS=$workers does not divide the preset's global batch $((ARGS[i] * ARGS[7]))" >&2; exit 2; }
  ARGS[i]=$((ARGS[i] * ARGS[7] / workers))
done
ARGS[7]=$workers
if [ -n "${TRAIN_STEPS:-}" ]; then   # warmups shrink with the run
  [[ "$TRAIN_STEPS" =~ ^[1-9][0-9]*$ ]] || { echo "error: TRAIN_STEPS=$TRAIN_STEPS is not a step count" >&2; exit 2; }
  ARGS[8]=$((ARGS[8] * TRAIN_STEPS / ARGS[10])); ARGS[9]=$((ARGS[9] * TRAIN_STEPS / ARGS[10])); ARGS[10]=$TRAIN_STEPS
fi
ARGS[11]="${SAVE_STEPS:-${ARGS[11]}}"
PHASES="${PHASES:-1 2}"
case "$PHASES" in   # of NVIDIA's launchers; phase 0 comes before them (below)
  "1 2") LAUNCHER_SCRIPT=run_pretraining_lamb.sh ;;
  1) LAUNCHER_SCRIPT=run_pretraining_lamb_phase1.sh ;;
  *) echo "error: PHASES=$PHASES: expected \"1 2\" or 1" >&2; exit 2 ;;
esac
# Training masks MASKED_LM_PROB of the tokens (default 0.4: more to learn from per sequence than 0.15); the
# held-out records mask BERT's 0.15, so that accuracies compare with every other run's (padded to the same
# max_predictions_per_seq, which the model's input shapes need).
MASK="${MASKED_LM_PROB:-0.4}" EVAL_MASK=0.15
awk -v p="$MASK" 'BEGIN { exit !(p ~ /^(0|1)?\.[0-9]+$/ && p > 0 && p < 1) }' \
  || { echo "error: MASKED_LM_PROB=$MASK is not a fraction between 0 and 1" >&2; exit 2; }
max_pred () { awk -v s="$1" -v p="$MASK" 'BEGIN { x = s * p; printf "%d", (x == int(x)) ? x : int(x) + 1 }'; }
SEQ1=128 PRED1="$(max_pred 128)" SEQ2=256 PRED2="$(max_pred 256)"
SHORT_STEPS="${SHORT_STEPS:-1000}" SHORT_BATCH="${SHORT_BATCH:-128}" SEQ0="${SHORT_SEQ_LENGTH:-16}"
for name in SHORT_STEPS SHORT_BATCH SEQ0; do
  [[ "${!name}" =~ ^[0-9]+$ ]] || { echo "error: ${name/SEQ0/SHORT_SEQ_LENGTH}=${!name} is not a count" >&2; exit 2; }
done
(( SHORT_STEPS == 0 || SHORT_BATCH > 0 )) || { echo "error: SHORT_BATCH=$SHORT_BATCH: phase 0 needs a batch" >&2; exit 2; }
(( SHORT_BATCH % workers == 0 )) \
  || { echo "error: NUM_WORKERS=$workers does not divide SHORT_BATCH=$SHORT_BATCH" >&2; exit 2; }
(( SEQ0 >= 8 && SEQ0 < SEQ1 )) \
  || { echo "error: SHORT_SEQ_LENGTH=$SEQ0: expected 8 to $((SEQ1 - 1)) tokens" >&2; exit 2; }
[[ "${VOCAB_SIZE:-105}" =~ ^[1-9][0-9]*$ ]] && (( ${VOCAB_SIZE:-105} > 104 )) \
  || { echo "error: VOCAB_SIZE=$VOCAB_SIZE: expected a WordPiece count above the 104 reserved entries" >&2; exit 2; }
export BERT_CONFIG="${BERT_CONFIG:-$ROOT/scripts/configs/bert_mini_nodropout_config.json}"
PRED0="$(max_pred "$SEQ0")" LENGTHS=("$SEQ1 $PRED1")
[ "$PHASES" = 1 ] || LENGTHS+=("$SEQ2 $PRED2")   # records of 256 tokens only for phase 2
if [ "$SHORT_STEPS" -gt 0 ]; then LENGTHS=("$SEQ0 $PRED0" "${LENGTHS[@]}"); PHASES="0 $PHASES"; fi
# 1. Text, one sentence per line.
if [ -z "${TEXT_DIR:-}" ]; then
  TEXT_DIR="$OUT/text"
  [ -f "$CORPUS/gutenberg/$HELDOUT_BOOK" ] && [ -f "$CORPUS/wikitext-2-raw/valid.txt" ] \
    || { echo "error: $CORPUS has no gutenberg/$HELDOUT_BOOK and wikitext-2-raw/valid.txt (set BERT_SHARED_DATA)" >&2
         exit 2; }
  mkdir -p "$TEXT_DIR/train"
  say "1/5 text -> sentences ($CORPUS; held out: $HELDOUT_BOOK and every 4th WikiText-2 article)"
  mapfile -t books < <(ls "$CORPUS"/gutenberg/*.txt | grep -v -e "/$HELDOUT_BOOK\$" -e "/$LEFT_OUT_BOOK\$")
  prep=("$PYTHON" "$ROOT/data/prepare_pretrain_text.py" --nltk_data="$NLTK_DATA_DIR")
  for book in "${books[@]}"; do
    "${prep[@]}" --doc_break_regex='^(CHAPTER|Chapter|BOOK|Book|ACT|Actus|CANTO)\b' \
      --output_file="$TEXT_DIR/train/$(basename "$book")" "$book"
  done
  "${prep[@]}" --format=wikitext --output_file="$TEXT_DIR/train/wiki.txt" \
    --heldout_output_file="$TEXT_DIR/heldout_wiki.txt" --heldout_every=4 "$CORPUS/wikitext-2-raw/valid.txt"
  "${prep[@]}" --output_file="$TEXT_DIR/heldout_book.txt" "$CORPUS/gutenberg/$HELDOUT_BOOK"
fi
[ -f "$TEXT_DIR/heldout_book.txt" ] && compgen -G "$TEXT_DIR/train/*.txt" >/dev/null \
  || { echo "error: TEXT_DIR=$TEXT_DIR needs train/*.txt and heldout_book.txt" >&2; exit 2; }
HELDOUT_SETS=(book); [ -f "$TEXT_DIR/heldout_wiki.txt" ] && HELDOUT_SETS+=(wiki)
if [ -n "${VOCAB_SIZE:-}" ]; then   # a vocabulary of the training text, and the model's config at its size
  VOCAB="$OUT/vocab.txt"
  say "1/5 data/learn_vocab.py: $VOCAB_SIZE WordPieces from $TEXT_DIR/train -> $VOCAB"
  "$PYTHON" "$ROOT/data/learn_vocab.py" --input_files="$TEXT_DIR/train/*.txt" --vocab_size="$VOCAB_SIZE" \
    --output_file="$VOCAB" | sed 's/^/  /'
  "$PYTHON" -c 'import json, sys; c = json.load(open(sys.argv[1])); c["vocab_size"] = int(sys.argv[2])
json.dump(c, open(sys.argv[3], "w"), indent=2)' "$BERT_CONFIG" "$VOCAB_SIZE" "$OUT/bert_config.json"
  BERT_CONFIG="$OUT/bert_config.json"
fi

# 2. TFRecords: training in NVIDIA's layout (what the launchers read), held-out sets beside it.
make_records () {  # seq pred masked_lm_prob dupe output_files input_files: prints the instance count
  local log="$OUT/create_pretraining_data.log"
  "$PYTHON" "$ROOT/create_pretraining_data.py" --vocab_file="$VOCAB" --do_lower_case --max_seq_length="$1" \
    --max_predictions_per_seq="$2" --masked_lm_prob="$3" --random_seed=12345 --dupe_factor="$4" \
    --output_file="$5" --input_file="$6" > "$log" 2>&1 \
    || { echo "error: create_pretraining_data.py failed on $6, see $log" >&2; tail -3 "$log" >&2; exit 1; }
  local count; count="$(sed -n 's/.*Wrote \([0-9]*\) total instances.*/\1/p' "$log")"
  echo "  $count instances of $1 tokens (masked_lm_prob $3) from $(tr , '\n' <<< "$6" | sort -u | wc -l) text" \
       "file(s) in $(dirname "${6%%,*}")"
}
export DATA_DIR="$OUT/data" DATASET=pretrain_corpus MASKED_LM_PROB="$MASK" TFRECORD_SHARDS=shard_4_test_split_heldout
train_files=("$TEXT_DIR"/train/*.txt)
[ -f "$TEXT_DIR/train/wiki.txt" ] && for _ in $(seq 2 "$WIKI_WEIGHT"); do train_files+=("$TEXT_DIR/train/wiki.txt"); done
train_text="$(IFS=,; echo "${train_files[*]}")"
say "2/5 create_pretraining_data.py (dupe factor $DUPE) -> $DATA_DIR"
for len in "${LENGTHS[@]}"; do
  read -r seq pred <<< "$len"
  dir="$DATA_DIR/tfrecord/lower_case_1_seq_len_${seq}_max_pred_${pred}_masked_lm_prob_${MASK}_random_seed_12345"
  dir+="_dupe_factor_5_$TFRECORD_SHARDS/$DATASET"   # NVIDIA's folder name says 5 whatever DUPE_FACTOR is
  rm -rf "$dir"; mkdir -p "$dir/training" "$dir/test"
  parts="$(for i in 0 1 2 3; do printf '%s/training/part_%d.tfrecord\n' "$dir" "$i"; done | paste -sd, -)"
  make_records "$seq" "$pred" "$MASK" "$DUPE" "$parts" "$train_text"
  for heldout in "${HELDOUT_SETS[@]}"; do
    mkdir -p "$DATA_DIR/heldout_${heldout}_$seq" "$DATA_DIR/heldout_${heldout}_shuffled_$seq"
    make_records "$seq" "$pred" "$EVAL_MASK" 1 "$DATA_DIR/heldout_${heldout}_$seq/heldout.tfrecord" \
      "$TEXT_DIR/heldout_$heldout.txt"
    (cd "$ROOT" && "$PYTHON" -m utils.shuffle_records "$DATA_DIR/heldout_${heldout}_$seq/heldout.tfrecord" \
       "$DATA_DIR/heldout_${heldout}_shuffled_$seq/heldout.tfrecord" > /dev/null)
  done
  cp "$DATA_DIR/heldout_book_$seq/heldout.tfrecord" "$dir/test/"   # the launchers' final eval: the held-out book
done

# 3. Phase 0 (short sequences, from scratch), then phase 1 from it and phase 2 through NVIDIA's launcher.
export RESULTS_DIR="$OUT/pretraining" MAX_SEQ_LENGTH_PHASE1=$SEQ1 MAX_PREDICTIONS_PHASE1=$PRED1
export MAX_SEQ_LENGTH_PHASE2=$SEQ2 MAX_PREDICTIONS_PHASE2=$PRED2
unset INIT_CHECKPOINT PHASE1_CHECKPOINT   # phase 0 (or 1) from scratch, and phase 2 from this phase 1
export KEEP_CHECKPOINT_MAX=1000
rm -rf "$RESULTS_DIR"
if [ "$SHORT_STEPS" -gt 0 ]; then
  say "3/5 phase 0: $SHORT_STEPS updates of $SHORT_BATCH sequences of $SEQ0 tokens, lr ${ARGS[3]}"
  (   # the preset's precision, workers and model; phase 1's learning rate, a tenth of the updates warming up
    pretrain_lamb_args "$0" "${ARGS[@]}"
    save_checkpoints_steps=$SHORT_STEPS
    pretrain_setup "$SEQ0" "$PRED0"
    pretrain_phase "$RESULTS_DIR/phase_0" "$OUT/phase_0.log" $((SHORT_BATCH / workers)) "$SEQ0" "$PRED0" \
      "$SHORT_STEPS" $((SHORT_STEPS / 10)) 1 "$learning_rate_phase1" lamb > /dev/null
  ) || { echo "error: phase 0 failed, see $OUT/phase_0.log" >&2; tail -5 "$OUT/phase_0.log" >&2; exit 1; }
  INIT_CHECKPOINT="$(pretrain_final_checkpoint "$RESULTS_DIR/phase_0")"; export INIT_CHECKPOINT
fi
say "3/5 scripts/$LAUNCHER_SCRIPT ${ARGS[*]} (preset $preset)${INIT_CHECKPOINT:+ from $INIT_CHECKPOINT}"
bash "$ROOT/scripts/$LAUNCHER_SCRIPT" "${ARGS[@]}" > "$OUT/pretraining.log" 2>&1 \
  || { echo "error: pretraining failed, see $OUT/pretraining.log" >&2; tail -5 "$OUT/pretraining.log" >&2; exit 1; }
grep -E "^step .*ETA|throughput_train" "$OUT/pretraining.log" | tail -2 || true

# 4. Every checkpoint on every held-out set, at phase 1's length (and phase 2's checkpoints at theirs too).
EVAL_SETS=(); for heldout in "${HELDOUT_SETS[@]}"; do EVAL_SETS+=("$heldout" "${heldout}_shuffled"); done
say "4/5 held-out evaluation of every checkpoint (${EVAL_SETS[*]})"
rm -rf "$OUT/eval"; mkdir -p "$OUT/eval"
CONFIG="$(pretrain_bert_config "${ARGS[14]}")"
shopt -s nullglob
for phase in $PHASES; do
  indexes=("$RESULTS_DIR/phase_$phase"/model.ckpt-*.index)
  [ ${#indexes[@]} -gt 0 ] || { echo "error: no checkpoint in $RESULTS_DIR/phase_$phase" >&2; exit 1; }
  mapfile -t ckpts < <(printf '%s\n' "${indexes[@]%.index}" | sort -V)
  for ckpt in "${ckpts[@]}"; do
    step="${ckpt##*-}"
    [ "$step" = 0 ] && continue
    lengths=("$SEQ1 $PRED1"); [ "$phase" = 2 ] && lengths+=("$SEQ2 $PRED2")   # phase 0's at phase 1's length
    for len in "${lengths[@]}"; do
      read -r seq pred <<< "$len"
      for heldout in "${EVAL_SETS[@]}"; do
        dir="$OUT/eval/phase${phase}_step${step}_${heldout}_$seq"
        "$PYTHON" "$ROOT/run_pretraining.py" --do_eval --bert_config_file="$CONFIG" --init_checkpoint="$ckpt" \
          --eval_files_dir="$DATA_DIR/heldout_${heldout}_$seq" --output_dir="$dir" --max_seq_length="$seq" \
          --max_predictions_per_seq="$pred" --eval_batch_size=64 --max_eval_steps=100000 > "$dir.log" 2>&1 \
          || { echo "error: evaluation failed, see $dir.log" >&2; tail -3 "$dir.log" >&2; exit 1; }
        grep -h "warning: masked-LM predictions collapsed" "$dir.log" || true
      done
    done
  done
done
shopt -u nullglob

# 5. Table and curve.
say "5/5 report"
heldout_records=()
for heldout in "${EVAL_SETS[@]}"; do heldout_records+=("$heldout=$DATA_DIR/heldout_${heldout}_$SEQ1"); done
"$PYTHON" "$ROOT/utils/pretraining_report.py" --output_dir="$OUT" --eval_dir="$OUT/eval" \
  --train_records="$(pretrain_data_dir "$SEQ1" "$PRED1")/training" \
  --heldout_records="$(IFS=,; echo "${heldout_records[*]}")" \
  --logs="$(for phase in $PHASES; do echo "$RESULTS_DIR/phase_$phase/bert_dllog.json"; done | paste -sd, -)"
say "done in $(( $(date +%s) - t0 )) s"
echo "vocab_file: $VOCAB"
echo "final_checkpoint: $(pretrain_final_checkpoint "$RESULTS_DIR/phase_${PHASES: -1}")"
echo "bert_config: $CONFIG"
