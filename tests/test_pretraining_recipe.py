"""The pieces of the pretraining recipe (scripts/pretraining_accuracy.sh): text preparation with held-out
documents, the collapse warning, the report (baseline, table, curve), and (slow) the recipe itself on the
shipped text."""
import collections
import json
import os
import shutil
import subprocess
import sys

import pytest
import tensorflow as tf

from conftest import ROOT, SAMPLES, write_tiny_config

PYTHON = sys.executable
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
VOCAB = os.path.join(SAMPLES, "vocab", "bert-base-uncased-vocab.txt")
TRAIN_TEXT = os.path.join(SAMPLES, "pretrain", "gutenberg_sample.txt")
HELDOUT_TEXT = os.path.join(SAMPLES, "pretrain_heldout", "chesterton_thursday_sample.txt")
NLTK_DATA = os.path.join(SAMPLES, "nltk_data")

# Five WikiText-2-style articles: titles, section headings, escaped hyphens/commas/points.
WIKITEXT = "".join(
    " \n = Article %d = \n \n Article %d is about the number %d . It has 1 @,@ 000 @-@ odd words . \n"
    " \n = = Section = = \n \n It measures 2 @.@ 5 metres . \n" % (i, i, i) for i in range(5))


def _run(args, check=True):
  proc = subprocess.run(args, env=ENV, capture_output=True, text=True, cwd=ROOT)
  if check and proc.returncode != 0:
    raise AssertionError("%s failed (%d):\n%s" % (args[1], proc.returncode, proc.stderr[-3000:]))
  return proc


def _documents(path):
  with open(path) as f:
    return [d.splitlines() for d in f.read().strip("\n").split("\n\n")]


def test_wikitext_articles_become_documents_and_every_nth_is_held_out(tmp_path):
  src = tmp_path / "valid.txt"
  src.write_text(WIKITEXT)
  train, heldout = str(tmp_path / "train.txt"), str(tmp_path / "heldout.txt")
  _run([PYTHON, "data/prepare_pretrain_text.py", "--nltk_data=" + NLTK_DATA, "--format=wikitext",
        "--output_file=" + train, "--heldout_output_file=" + heldout, "--heldout_every=4", str(src)])
  train_docs, heldout_docs = _documents(train), _documents(heldout)
  assert [d[0] for d in heldout_docs] == ["Article 0 is about the number 0 .", "Article 4 is about the number 4 ."]
  assert [d[0] for d in train_docs] == ["Article %d is about the number %d ." % (i, i) for i in (1, 2, 3)]
  # One sentence per line, escapes undone, titles and section headings dropped.
  assert train_docs[0] == ["Article 1 is about the number 1 .", "It has 1,000-odd words .",
                           "It measures 2.5 metres ."]
  assert not [line for d in train_docs + heldout_docs for line in d if "=" in line or "@" in line]


def test_top_prediction_share_and_collapse_warning():
  """The eval metric counts weighted predictions per id; the warning fires above 80% and names the settings
  (in a subprocess: run_pretraining defines flags that other entry points define too)."""
  code = """if True:
    import json
    import tensorflow as tf
    import run_pretraining
    tf.compat.v1.disable_eager_execution()
    preds = tf.constant([7, 7, 3, 7, 9, 7], tf.int32)
    weights = tf.constant([1, 1, 1, 1, 1, 0], tf.float32)   # the last position is padding
    (share, update), (top, _) = run_pretraining.top_prediction_share(preds, weights, 10)
    with tf.compat.v1.Session() as sess:
      sess.run(tf.compat.v1.local_variables_initializer())
      sess.run(update)
      first = sess.run([share, top])
      sess.run(update)   # a second batch with the same predictions leaves the share as it is
      second = sess.run([share, top])
    collapsed = {"masked_lm_top_prediction_share": 0.93, "masked_lm_top_prediction_id": 1010.0}
    fine = {"masked_lm_top_prediction_share": 0.30, "masked_lm_top_prediction_id": 1996.0}
    print(json.dumps({"first": [float(v) for v in first], "second": [float(v) for v in second],
                      "train": run_pretraining.collapse_warning(collapsed, 3e-3, "adam"),
                      "eval_only": run_pretraining.collapse_warning(collapsed, None, "lamb"),
                      "fine": run_pretraining.collapse_warning(fine, 3e-3, "adam")}))
  """
  out = json.loads(_run([PYTHON, "-c", code]).stdout.strip().splitlines()[-1])
  # 3 of the 5 real positions predict id 7; float32 counts give 0.6 to float32 precision (6e-8).
  assert out["first"] == pytest.approx([0.6, 7.0], abs=1e-7) and out["second"] == out["first"]
  assert "93%" in out["train"] and "token id 1010" in out["train"]
  assert "--learning_rate=0.003 --optimizer_type=adam" in out["train"]
  assert "training run's --learning_rate" in out["eval_only"]
  assert out["fine"] is None


def _records(text, out_dir, dupe, seq=64, pred=10):
  os.makedirs(out_dir, exist_ok=True)
  _run([PYTHON, "create_pretraining_data.py", "--input_file=" + text, "--vocab_file=" + VOCAB,
        "--output_file=" + os.path.join(out_dir, "part.tfrecord"), "--do_lower_case",
        "--max_seq_length=%d" % seq, "--max_predictions_per_seq=%d" % pred, "--dupe_factor=%d" % dupe])
  return out_dir


def _masked_ids(directory):
  """The real masked-LM targets of a record folder, parsed here with protobuf alone."""
  ids = []
  for name in os.listdir(directory):
    for record in tf.data.TFRecordDataset(os.path.join(directory, name)):
      f = tf.train.Example.FromString(record.numpy()).features.feature
      ids += [i for i, w in zip(f["masked_lm_ids"].int64_list.value, f["masked_lm_weights"].float_list.value)
              if w > 0]
  return ids


def _fake_eval(eval_dir, name, mlm, nsp):
  os.makedirs(os.path.join(eval_dir, name))
  with open(os.path.join(eval_dir, name, "eval_results.txt"), "w") as f:
    f.write("masked_lm_accuracy = %s\nnext_sentence_accuracy = %s\n" % (mlm, nsp))


def test_report_scores_the_frequent_token_baseline_and_draws_the_curve(tmp_path):
  train = _records(TRAIN_TEXT, str(tmp_path / "train"), dupe=2)
  heldout = _records(HELDOUT_TEXT, str(tmp_path / "heldout"), dupe=1)
  eval_dir = str(tmp_path / "eval")
  for name, mlm, nsp in [("phase1_step10_book_64", 0.06, 0.5), ("phase1_step20_book_64", 0.11, 0.6),
                         ("phase2_step5_book_64", 0.13, 0.65), ("phase2_step5_book_128", 0.12, 0.66)]:
    _fake_eval(eval_dir, name, mlm, nsp)
  os.makedirs(str(tmp_path / "phase_1"))   # the report takes a log's phase from its folder
  log = str(tmp_path / "phase_1" / "bert_dllog.json")
  with open(log, "w") as f:
    for step, loss in [(10, 9.0), (20, 7.5)]:
      f.write("DLLL " + json.dumps({"type": "LOG", "step": [step], "data": {"loss": loss}}) + "\n")
  out = str(tmp_path / "report")
  os.makedirs(out)
  _run([PYTHON, "utils/pretraining_report.py", "--output_dir=" + out, "--eval_dir=" + eval_dir,
        "--train_records=" + train, "--heldout_records=book=" + heldout, "--logs=" + log])

  top_id, _ = collections.Counter(_masked_ids(train)).most_common(1)[0]
  heldout_ids = _masked_ids(heldout)
  with open(os.path.join(out, "results.json")) as f:
    results = json.load(f)
  assert results["baseline_token_id"] == top_id
  assert results["baseline"]["book"] == pytest.approx(heldout_ids.count(top_id) / len(heldout_ids), rel=1e-12)
  steps = [(r["phase"], r["step"], r["global_step"], r["seq_len"]) for r in results["evals"]]
  assert steps == [(1, 10, 10, 64), (1, 20, 20, 64), (2, 5, 25, 64), (2, 5, 25, 128)]   # phase 2 after 20
  with open(os.path.join(out, "results.md")) as f:
    table = f.read()
  ratio = 0.13 / results["baseline"]["book"]
  assert "| 2 | 5 | 25 | 0.1300 | %.2f | 0.6500 |" % ratio in table
  assert "## Held-out records of 128 tokens" in table
  with open(os.path.join(out, "curve.png"), "rb") as f:
    assert f.read(8) == b"\x89PNG\r\n\x1a\n"
  stray = str(tmp_path / "bert_dllog.json")   # a log whose phase cannot be told from its folder
  shutil.copy(log, stray)
  proc = _run([PYTHON, "utils/pretraining_report.py", "--output_dir=" + out, "--eval_dir=" + eval_dir,
               "--train_records=" + train, "--heldout_records=book=" + heldout, "--logs=" + stray], check=False)
  assert (proc.returncode, proc.stderr.strip().splitlines()) == (
      2, ["pretraining_report.py: error: --logs: %s is not in a phase_<P> folder" % stray])


def test_chapter_heading_right_after_text_starts_a_new_document_and_books_are_held_out(tmp_path):
  book = tmp_path / "book.txt"
  book.write_text("CHAPTER I\n\nFirst chapter, line one\nwrapped here.\nCHAPTER II\nSecond chapter.\n\n"
                  "CHAPTER III\n\nThird chapter.\n")
  train, heldout = str(tmp_path / "train.txt"), str(tmp_path / "heldout.txt")
  _run([PYTHON, "data/prepare_pretrain_text.py", "--nltk_data=" + NLTK_DATA, "--doc_break_regex=^CHAPTER ",
        "--output_file=" + train, "--heldout_output_file=" + heldout, "--heldout_every=2", str(book)])
  assert _documents(heldout) == [["First chapter, line one wrapped here."], ["Third chapter."]]
  assert _documents(train) == [["Second chapter."]]
  missing = _run([PYTHON, "data/prepare_pretrain_text.py", "--nltk_data=" + NLTK_DATA, "--output_file=" + train,
                  str(tmp_path / "missing.txt")], check=False)
  assert missing.returncode == 2
  assert missing.stderr.strip().splitlines() == [
      "prepare_pretrain_text.py: error: %s: No such file or directory" % (tmp_path / "missing.txt")]


def _text_dir(tmp_path):
  """The recipe's text layout from the shipped sentence-per-line samples."""
  text = tmp_path / "text"
  (text / "train").mkdir(parents=True)
  shutil.copy(TRAIN_TEXT, text / "train" / "gutenberg_sample.txt")
  shutil.copy(HELDOUT_TEXT, text / "heldout_book.txt")
  return str(text)


def _recipe(tmp_path, **env):
  out = str(tmp_path / "out")
  proc = subprocess.run(["bash", os.path.join(ROOT, "scripts", "pretraining_accuracy.sh"), out], cwd=ROOT,
                        env=dict(ENV, PYTHON=PYTHON, TEXT_DIR=_text_dir(tmp_path), **env),
                        capture_output=True, text=True)
  assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
  with open(os.path.join(out, "results.json")) as f:
    return out, proc.stdout.strip().splitlines(), json.load(f)


def test_recipe_script_runs_every_phase_and_reports_every_checkpoint(tmp_path):
  """The whole of scripts/pretraining_accuracy.sh at smoke size: a 2-layer model, 3 + 9 + 1 updates, with a
  vocabulary of 400 WordPieces learnt from the training text (VOCAB_SIZE)."""
  config = write_tiny_config(str(tmp_path / "tiny.json"), dropout=0.0, max_position_embeddings=256)
  out, lines, results = _recipe(tmp_path, BERT_CONFIG=config, TRAIN_STEPS="10", SAVE_STEPS="5", DUPE_FACTOR="1",
                                SHORT_STEPS="3", SHORT_BATCH="32", VOCAB_SIZE="400")
  # Phase 0: 3 updates of 16 tokens, evaluated at 128; phase 1 from its checkpoint: 9 updates, checkpoints at 5
  # and 9; phase 2: 10 * 16 / (10 * 16) = 1 update, at 128 and 256 tokens; each on the held-out book and on its
  # word-order probe (the same records, words shuffled). Global steps count on from the phase before.
  for held_out in ("book", "book_shuffled"):
    evals = [(r["phase"], r["step"], r["global_step"], r["seq_len"]) for r in results["evals"]
             if r["set"] == held_out]
    assert evals == [(0, 3, 3, 128), (1, 5, 8, 128), (1, 9, 12, 128), (2, 1, 13, 128), (2, 1, 13, 256)]
  with open(os.path.join(out, "pretraining.log")) as f:   # phase 1 starts from phase 0's weights
    assert "init_checkpoint %s: " % os.path.join(out, "pretraining", "phase_0", "model.ckpt-3") in f.read()
  assert set(results["baseline"]) == {"book", "book_shuffled"} and 0 < results["baseline"]["book"] < 0.2
  assert results["baseline"]["book_shuffled"] == results["baseline"]["book"]   # the same masked tokens
  vocab = os.path.join(out, "vocab.txt")
  assert lines[-3:] == ["vocab_file: %s" % vocab,
                        "final_checkpoint: %s" % os.path.join(out, "pretraining", "phase_2", "model.ckpt-1"),
                        "bert_config: %s" % os.path.join(out, "bert_config.json")]
  with open(vocab, encoding="utf-8") as f:
    assert len(f.read().splitlines()) == 400
  with open(os.path.join(out, "bert_config.json")) as f, open(config) as g:
    assert json.load(f) == dict(json.load(g), vocab_size=400)  # the given config at the vocabulary's size
  for name in ("results.md", "curve.png"):
    assert os.path.getsize(os.path.join(out, name)) > 0
  with open(os.path.join(out, "results.md")) as f:
    assert "| book masked-LM acc | book x baseline | book next-sentence acc | book_shuffled masked-LM acc |" in f.read()
  for seq, pred in ((16, 7), (128, 52), (256, 103)):   # NVIDIA's layout, four training files each; 40% masked
    data = os.path.join(out, "data", "tfrecord", "lower_case_1_seq_len_%d_max_pred_%d_masked_lm_prob_0.4_random_"
                        "seed_12345_dupe_factor_5_shard_4_test_split_heldout" % (seq, pred), "pretrain_corpus")
    assert sorted(os.listdir(os.path.join(data, "training"))) == ["part_%d.tfrecord" % i for i in range(4)]
    assert os.listdir(os.path.join(data, "test")) == ["heldout.tfrecord"]
    # Training masks 40% of the tokens, the held-out records BERT's 15% (so accuracies compare across runs).
    # create_pretraining_data.py rounds p * tokens per instance: the share over many instances is within
    # 0.5 / 128 of p at 128 tokens; short instances round coarser, hence 0.03 (at 16 tokens 0.5 / 16, 0.04).
    tolerance = 0.04 if seq == 16 else 0.03
    assert abs(_masked_share(os.path.join(data, "training", "part_0.tfrecord")) - 0.4) < tolerance
    assert abs(_masked_share(os.path.join(data, "test", "heldout.tfrecord")) - 0.15) < tolerance
    assert _max_token_id(os.path.join(data, "training", "part_0.tfrecord")) < 400  # made with the learnt vocabulary


def test_recipe_script_with_phases_1_stops_after_phase_1(tmp_path):
  """PHASES=1 (and SHORT_STEPS=0: no phase 0): phase 1 from scratch is the final checkpoint, and no records of
  phase 2's 256 tokens are made."""
  config = write_tiny_config(str(tmp_path / "tiny.json"), dropout=0.0, max_position_embeddings=256)
  out, lines, results = _recipe(tmp_path, BERT_CONFIG=config, TRAIN_STEPS="10", SAVE_STEPS="100", DUPE_FACTOR="1",
                                SHORT_STEPS="0", PHASES="1")
  evals = [(r["phase"], r["step"], r["seq_len"]) for r in results["evals"] if r["set"] == "book"]
  assert evals == [(1, 9, 128)]
  assert lines[-2:] == ["final_checkpoint: %s" % os.path.join(out, "pretraining", "phase_1", "model.ckpt-9"),
                        "bert_config: %s" % config]
  assert os.listdir(os.path.join(out, "data", "tfrecord")) == [
      "lower_case_1_seq_len_128_max_pred_52_masked_lm_prob_0.4_random_seed_12345_dupe_factor_5_shard_4_test_split_"
      "heldout"]
  assert not [name for name in os.listdir(os.path.join(out, "data")) if name.endswith("_256")]


def _masked_share(path):
  """Masked positions over real tokens ([CLS] and [SEP] included) in the TFRecords at `path`."""
  masked = tokens = 0
  for record in tf.data.TFRecordDataset(path):
    feature = tf.train.Example.FromString(record.numpy()).features.feature
    masked += sum(feature["masked_lm_weights"].float_list.value)
    tokens += sum(feature["input_mask"].int64_list.value)
  return masked / tokens


def _max_token_id(path):
  """The largest input or masked-LM token id in the TFRecords at `path`."""
  largest = 0
  for record in tf.data.TFRecordDataset(path):
    feature = tf.train.Example.FromString(record.numpy()).features.feature
    largest = max([largest, *feature["input_ids"].int64_list.value, *feature["masked_lm_ids"].int64_list.value])
  return largest


@pytest.mark.slow
def test_shortened_recipe_on_shipped_text_learns_beyond_the_frequent_token(tmp_path):
  """The recipe's model and learning rates, shortened on the shipped Gutenberg sample (phase 0 to 300 updates)."""
  _, _, results = _recipe(tmp_path, TRAIN_STEPS="600", SAVE_STEPS="200", DUPE_FACTOR="10", SHORT_STEPS="300")
  baseline = results["baseline"]["book"]
  final = [r for r in results["evals"] if r["seq_len"] == 128][-1]
  assert final["masked_lm_accuracy"] >= 2 * baseline, (final, baseline)


@pytest.mark.parametrize("env, message", [
    (dict(PRESET="nope"), "error: PRESET=nope is not a preset of scripts/configs/pretrain_config.sh"),
    (dict(NUM_WORKERS="3"), "error: NUM_WORKERS=3 does not divide the preset's global batch 16"),
    (dict(TRAIN_STEPS="ten"), "error: TRAIN_STEPS=ten is not a step count"),
    (dict(PHASES="2"), 'error: PHASES=2: expected "1 2" or 1'),
    (dict(WIKI_WEIGHT="0"), "error: WIKI_WEIGHT=0 is not a positive count"),
    (dict(MASKED_LM_PROB="1.5"), "error: MASKED_LM_PROB=1.5 is not a fraction between 0 and 1"),
    (dict(SHORT_SEQ_LENGTH="128"), "error: SHORT_SEQ_LENGTH=128: expected 8 to 127 tokens"),
    (dict(SHORT_STEPS="-1"), "error: SHORT_STEPS=-1 is not a count"),
    (dict(NUM_WORKERS="2", SHORT_BATCH="15"), "error: NUM_WORKERS=2 does not divide SHORT_BATCH=15"),
    (dict(SHORT_BATCH="0"), "error: SHORT_BATCH=0: phase 0 needs a batch"),
    (dict(VOCAB_SIZE="104"), "error: VOCAB_SIZE=104: expected a WordPiece count above the 104 reserved entries"),
    (dict(VOCAB_SIZE="0800"), "error: VOCAB_SIZE=0800: expected a WordPiece count above the 104 reserved entries"),
])
def test_recipe_script_rejects_bad_settings_in_one_line(tmp_path, env, message):
  proc = subprocess.run(["bash", os.path.join(ROOT, "scripts", "pretraining_accuracy.sh"), str(tmp_path / "out")],
                        cwd=ROOT, env=dict(ENV, PYTHON=PYTHON, TEXT_DIR=_text_dir(tmp_path), **env),
                        capture_output=True, text=True)
  assert (proc.returncode, proc.stderr.strip().splitlines()) == (2, [message])
