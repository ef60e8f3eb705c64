"""run_ner.py end to end through its command line, on the real MiniLM and the shipped real NCBI-disease and
BC5CDR samples: a short fine-tune with windows, its output files, the --use_fp16 alias and the one-line errors."""
import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT, SAMPLES, SUBPROCESS_ENV
from utils import conlleval

SCRIPT = os.path.join(ROOT, "run_ner.py")
NCBI = os.path.join(SAMPLES, "biobert", "NCBI-disease")
CHEM = os.path.join(SAMPLES, "biobert", "BC5CDR-chem")


def _run(model_dir, output_dir, data_dir, *args, task="ncbi-disease"):
  command = [sys.executable, SCRIPT, "--task_name=" + task, "--data_dir=" + str(data_dir),
             "--vocab_file=" + os.path.join(model_dir, "vocab.txt"),
             "--bert_config_file=" + os.path.join(model_dir, "bert_config.json"),
             "--init_checkpoint=" + os.path.join(model_dir, "bert_model.ckpt"),
             "--output_dir=" + str(output_dir), *args]
  return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1200, env=SUBPROCESS_ENV)


def _results(output_dir):
  with open(os.path.join(output_dir, "eval_results.txt")) as f:
    return {k: float(v) for k, v in (line.strip().split(" = ") for line in f)}


def _blocks(path, field=0):
  """The sentences of a TSV file as lists of one field (default the token) of their lines."""
  with open(path, encoding="utf-8") as f:
    return [[line.split("\t")[field] for line in block.split("\n") if line]
            for block in f.read().split("\n\n") if block.strip()]


def test_short_finetune_tags_unseen_sentences(minilm_tf_dir, tmp_path):
  """200 real training sentences, 2 epochs, windows of 64 pieces (some devel sentences need two): the model
  finds diseases in the 100 unseen devel sentences; every devel token gets one prediction, written back in
  the input's layout, and the conlleval report agrees with utils/conlleval.py run on the written labels."""
  data = tmp_path / "data"
  shutil.copytree(NCBI, data)
  shutil.copy(data / "devel.tsv", data / "test.tsv")
  out = tmp_path / "out"
  result = _run(minilm_tf_dir, out, data, "--do_train", "--do_eval", "--do_predict", "--max_seq_length=64",
                "--train_batch_size=16", "--eval_batch_size=32", "--predict_batch_size=32",
                "--learning_rate=1e-4", "--num_train_epochs=2", "--seed=1")
  assert result.returncode == 0, result.stderr[-3000:]
  assert "devel.tsv: 100 sentences, 2519 words, 102 windows of at most 64 pieces" in result.stdout

  metrics = _results(out)
  assert metrics["eval_sentences"] == 100 and metrics["eval_tokens"] == 2519 and metrics["eval_windows"] == 102
  # Measured: F1 0.32 at this seed (2 epochs on 200 sentences). Tagging every word O scores 0, and so does the
  # untrained head (F1 0.0 on these sentences: it finds no entity, or only wrong spans); 0.15 is half the
  # measured value, a margin for another CPU's rounding, and is not reached when labels miss their pieces.
  assert metrics["eval_f1"] >= 0.15, metrics
  assert metrics["eval_accuracy"] > 0.9 and metrics["eval_loss"] < 0.4, metrics

  for prefix in ("eval", "test"):
    assert _blocks(out / ("%s_predictions.tsv" % prefix)) == _blocks(data / "devel.tsv")
  with open(out / "eval_labels.txt", encoding="utf-8") as f:
    labels_text = f.read()
  cli = subprocess.run([sys.executable, os.path.join(ROOT, "utils", "conlleval.py")], input=labels_text,
                       capture_output=True, text=True, check=True)
  with open(out / "eval_conlleval.txt", encoding="utf-8") as f:
    report = f.read()
  assert cli.stdout == report
  overall = report.splitlines()[1]
  assert "FB1: %6.2f" % (100 * metrics["eval_f1"]) in overall
  gold, predicted = conlleval.read_conll(labels_text.splitlines())
  assert gold == _blocks(data / "devel.tsv", field=1) and len(predicted) == 100


def test_use_fp16_is_nvidias_name_of_amp(minilm_tf_dir, tmp_path):
  """Evaluation of the pretrained encoder with a fresh head on real BC5CDR sentences, with --use_fp16."""
  result = _run(minilm_tf_dir, tmp_path / "out", CHEM, "--do_eval", "--use_fp16", "--eval_batch_size=32",
                task="bc5cdr")
  assert result.returncode == 0, result.stderr[-3000:]
  assert "--amp=True" in result.stdout and "--amp: " in result.stdout
  assert _results(tmp_path / "out")["eval_sentences"] == 60


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
