"""utils/vocab_coverage.py: WordPiece coverage of a task's text by the pretraining text, and embedding collapse."""
import collections
import subprocess
import sys

import numpy as np
import tensorflow as tf

from conftest import ROOT, SUBPROCESS_ENV
from utils import vocab_coverage

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "film", "is", "dull", "sea", "whale", "##s"]


def _write_inputs(tmp_path):
  (tmp_path / "vocab.txt").write_text("".join(w + "\n" for w in VOCAB))
  (tmp_path / "books").mkdir()
  (tmp_path / "books" / "a.txt").write_text("the sea is the sea\nthe whales\n")  # the 3, sea 2, is 1, whale 1, ##s 1
  (tmp_path / "task.tsv").write_text("sentence\tlabel\nthe film is dull\t0\nthe films\t1\n")
  return ["--vocab_file=%s" % (tmp_path / "vocab.txt"), "--pretraining_text=%s" % (tmp_path / "books" / "*.txt"),
          "--task_tsv=%s" % (tmp_path / "task.tsv")]


def test_coverage_counts_task_occurrences_by_pretraining_count():
  pretraining = collections.Counter({5: 3, 9: 2, 7: 1})
  task = {5: 2, 6: 2, 7: 1, 8: 1, 11: 1}  # the x2, film x2, is, dull, ##s: 7 occurrences
  assert vocab_coverage.coverage(pretraining, task, 1) == 4 / 7  # film, film, dull, ##s never seen
  assert vocab_coverage.coverage(pretraining, task, 2) == 5 / 7  # and "is", seen once
  assert vocab_coverage.coverage(pretraining, task, 4) == 1.0


def test_mean_pairwise_cosine_of_parallel_and_orthogonal_rows():
  assert np.isclose(vocab_coverage.mean_pairwise_cosine(np.array([[1., 0.], [2., 0.], [3., 0.]])), 1.0)
  assert np.isclose(vocab_coverage.mean_pairwise_cosine(np.eye(4)), 0.0)


def test_cli_prints_coverage_and_the_embedding_report(tmp_path):
  args = _write_inputs(tmp_path)
  table = np.zeros((len(VOCAB), 2), np.float32)  # [V, H]
  table[[6, 8, 11]] = [1., 1.]                     # film, dull, ##s: never seen, parallel rows
  table[5], table[9] = [1., 0.], [0., 1.]          # the, sea: seen, orthogonal rows
  with tf.Graph().as_default():
    variable = tf.compat.v1.Variable(table, name="bert/embeddings/word_embeddings")
    with tf.compat.v1.Session() as session:
      session.run(variable.initializer)
      tf.compat.v1.train.Saver([variable]).save(session, str(tmp_path / "model.ckpt"))
  run = subprocess.run([sys.executable, "-m", "utils.vocab_coverage", *args,
                        "--init_checkpoint=%s" % (tmp_path / "model.ckpt")],
                       cwd=ROOT, env=SUBPROCESS_ENV, capture_output=True, text=True)
  assert run.returncode == 0, run.stderr
  lines = run.stdout.splitlines()
  assert lines[0] == "1 pretraining files, 8 WordPiece occurrences; task: 2 rows, 7 occurrences"
  assert lines[1] == "task occurrences of pieces pretraining saw fewer than 1 times: 42.9%"  # film x2, dull
  assert lines[3] == "task occurrences of pieces pretraining saw fewer than 20 times: 100.0%"
  assert lines[4] == ("most frequent of them: the (2 in task, 3 in pretraining), film (2 in task, 0 in pretraining), "
                      "is (1 in task, 1 in pretraining), dull (1 in task, 0 in pretraining), "
                      "##s (1 in task, 1 in pretraining)")
  assert len(lines) == 5  # the embedding report skips ids below 999 (BERT's special rows): all of this vocabulary
  seen = collections.Counter({5: 3, 7: 1, 9: 2, 10: 1, 11: 1})
  report = vocab_coverage.embedding_report(str(tmp_path / "model.ckpt"), seen, first_id=5)
  assert report[0] == "pieces seen 0 times in pretraining: 2 rows, mean pairwise cosine 1.000, mean norm 1.414"
  assert report[1].startswith("pieces seen 1-4 times in pretraining: 5 rows")
  assert len(report) == 2  # no piece seen 5 times or more


def test_cli_names_a_glob_without_files_and_a_short_row(tmp_path):
  args = _write_inputs(tmp_path)
  run = subprocess.run([sys.executable, "-m", "utils.vocab_coverage", *args[:1], "--pretraining_text=/nonexistent/*",
                        *args[2:]], cwd=ROOT, env=SUBPROCESS_ENV, capture_output=True, text=True)
  assert run.returncode == 2
  assert run.stderr.strip() == "error: --pretraining_text=/nonexistent/* matches no file"
  run = subprocess.run([sys.executable, "-m", "utils.vocab_coverage", *args, "--column=1", "--header=0"],
                       cwd=ROOT, env=SUBPROCESS_ENV, capture_output=True, text=True)
  assert run.returncode == 0, run.stderr  # column 1 is the label: every row has it
  run = subprocess.run([sys.executable, "-m", "utils.vocab_coverage", *args, "--column=2"],
                       cwd=ROOT, env=SUBPROCESS_ENV, capture_output=True, text=True)
  assert run.returncode == 2
  assert run.stderr.strip() == "error: %s: line 2: no column 2" % (tmp_path / "task.tsv")
  run = subprocess.run([sys.executable, "-m", "utils.vocab_coverage", *args,
                        "--init_checkpoint=%s" % (tmp_path / "none.ckpt")],
                       cwd=ROOT, env=SUBPROCESS_ENV, capture_output=True, text=True)
  assert run.returncode == 2
  assert run.stderr.strip().splitlines()[-1].startswith("error: --init_checkpoint=%s: " % (tmp_path / "none.ckpt"))
