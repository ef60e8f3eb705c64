"""run_ner.py end to end through its command line, on the real MiniLM and the shipped real NCBI-disease and
BC5CDR samples: a short fine-tune with windows, its output files, the --use_fp16 alias and the one-line errors."""
import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT, SAMPLES, eval_results, first_sentences, run_finetuning
from utils import conlleval

NCBI = os.path.join(SAMPLES, "biobert", "NCBI-disease")
CHEM = os.path.join(SAMPLES, "biobert", "BC5CDR-chem")


def _run(model_dir, output_dir, data_dir, *args, task="ncbi-disease"):
  return run_finetuning("run_ner.py", task, model_dir, output_dir, data_dir, *args)


def _blocks(path, field=0):
  """The sentences of a TSV file as lists of one field (default the token) of their lines."""
  with open(path, encoding="utf-8") as f:
    return [[line.split("\t")[field] for line in block.split("\n") if line]
            for block in f.read().split("\n\n") if block.strip()]


def test_short_finetune_fits_and_tags_in_the_input_layout(minilm_tf_dir, tmp_path):
  """64 real training sentences in windows of 64 pieces (66 windows: two sentences need two), 15 epochs in
  batches of 4, evaluated on the same sentences: the model fits them (as tests/test_run_classifier.py's MRPC
  check: a few dozen sentences do not generalise reliably). --do_predict tags 100 unseen devel sentences (102 windows): every
  token gets one prediction, written back in the input's layout, and the conlleval report agrees with
  utils/conlleval.py run on the written labels."""
  data = tmp_path / "data"
  data.mkdir()
  first_sentences(os.path.join(NCBI, "train.tsv"), data / "train.tsv", 64)
  shutil.copy(data / "train.tsv", data / "devel.tsv")
  shutil.copy(os.path.join(NCBI, "devel.tsv"), data / "test.tsv")
  out = tmp_path / "out"
  result = _run(minilm_tf_dir, out, data, "--do_train", "--do_eval", "--do_predict", "--max_seq_length=64",
                "--train_batch_size=4", "--eval_batch_size=32", "--predict_batch_size=32",
                "--learning_rate=1e-4", "--num_train_epochs=15", "--seed=1")
  assert result.returncode == 0, result.stderr[-3000:]
  assert "247 steps of 4" in result.stdout   # int(66 windows / 4 * 15)
  assert "test.tsv: 100 sentences, 2519 words, 102 windows of at most 64 pieces" in result.stdout

  metrics = eval_results(out)
  assert metrics["eval_sentences"] == 64 and metrics["eval_tokens"] == 1672 and metrics["eval_windows"] == 66
  # Measured on these 79 mentions: F1 0.97 (seed 1); 10 epochs gave 0.61 and 0.98 at seeds 1 and 2 (with
  # TensorFlow's own dropout masks 0.94 and 0.99), and batches of 8 (82 updates) 0.48 at seed 2, hence 15 epochs
  # of batches of 4. Tagging every word O scores 0; the untrained head (fresh weights, --do_eval alone) scored
  # 0.03. 0.8 leaves room for another CPU's rounding.
  assert metrics["eval_f1"] >= 0.8, metrics
  assert metrics["eval_loss"] < 0.2, metrics

  assert _blocks(out / "eval_predictions.tsv") == _blocks(data / "devel.tsv")
  assert _blocks(out / "test_predictions.tsv") == _blocks(data / "test.tsv")
  for prefix in ("eval", "test"):
    with open(out / ("%s_labels.txt" % prefix), encoding="utf-8") as f:
      labels_text = f.read()
    cli = subprocess.run([sys.executable, os.path.join(ROOT, "utils", "conlleval.py")], input=labels_text,
                         capture_output=True, text=True, check=True)
    with open(out / ("%s_conlleval.txt" % prefix), encoding="utf-8") as f:
      assert cli.stdout == f.read()
    gold, _ = conlleval.read_conll(labels_text.splitlines())
    assert gold == _blocks(data / ("%s.tsv" % ("devel" if prefix == "eval" else "test")), field=1)
  with open(out / "eval_conlleval.txt", encoding="utf-8") as f:
    assert "FB1: %6.2f" % (100 * metrics["eval_f1"]) in f.read().splitlines()[1]


def test_use_fp16_is_nvidias_name_of_amp(minilm_tf_dir, tmp_path):
  """Evaluation of the pretrained encoder with a fresh head on real BC5CDR sentences, with --use_fp16."""
  result = _run(minilm_tf_dir, tmp_path / "out", CHEM, "--do_eval", "--use_fp16", "--eval_batch_size=32",
                task="bc5cdr")
  assert result.returncode == 0, result.stderr[-3000:]
  assert "--amp=True" in result.stdout and "--amp: " in result.stdout
  assert eval_results(tmp_path / "out")["eval_sentences"] == 60


@pytest.mark.parametrize("line, message", [
    ("tumour", "line 4: token 'tumour' has no tag"),
    ("tumour\tB-Gene", "line 4: unknown tag 'B-Gene'"),
])
def test_bad_training_file_is_one_line_exit_2(minilm_tf_dir, tmp_path, line, message):
  data = tmp_path / "data"
  data.mkdir()
  (data / "train.tsv").write_text("Colon\tB-Disease\ncancer\tI-Disease\n\n%s\n" % line)
  result = _run(minilm_tf_dir, tmp_path / "out", data, "--do_train")
  assert result.returncode == 2, result.stderr[-3000:]
  assert "Traceback" not in result.stderr
  assert "run_ner.py: error: %s, %s" % (data / "train.tsv", message) in result.stderr
