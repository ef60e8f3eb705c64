"""utils/conlleval.py and utils/re_eval.py against hand-computed values."""
import os
import subprocess
import sys

import pytest

from conftest import ROOT
from utils import conlleval
from utils import re_eval


def test_entities_follow_conlleval_iob1_reading():
  tags = ["I-D", "I-D", "B-D", "I-C", "O", "I-D", "B-C", "B-C", "I-C"]
  # I- at the start opens an entity; B- always opens one; I- of another type opens one; I- after O opens one.
  assert conlleval.entities(tags) == {("D", 0, 1), ("D", 2, 2), ("C", 3, 3), ("D", 5, 5), ("C", 6, 6),
                                      ("C", 7, 8)}
  assert conlleval.entities(["O", "O"]) == set() and conlleval.entities([]) == set()
  assert conlleval.entities(["B", "I", "O", "I"]) == {("", 0, 1), ("", 3, 3)}   # untyped BioBERT tags


def _hand_counts():
  gold = [["B-Disease", "I-Disease", "O", "B-Disease"],                # 2 entities
          ["O", "B-Chemical", "I-Chemical", "O", "B-Disease"],          # 2
          ["B-Disease", "I-Disease", "I-Disease"]]                      # 1
  predicted = [["B-Disease", "I-Disease", "O", "I-Disease"],           # both correct (I- after O opens one)
               ["O", "B-Chemical", "I-Disease", "O", "O"],             # Chemical 1-1 wrong span, Disease 2-2 wrong type
               ["B-Disease", "I-Disease", "O"]]                         # span too short: wrong
  return conlleval.evaluate(gold, predicted)


def test_counts_and_scores_by_hand():
  counts = _hand_counts()
  # 12 tokens, tags equal on 3 + 3 + 2 = 8. Gold: Disease 4, Chemical 1. Found: Disease 4 (0-1, 3-3, 2-2 of
  # sentence 2, 0-1 of sentence 3), Chemical 1. Correct: Disease 2, Chemical 0.
  assert (counts.tokens, counts.correct_tags) == (12, 8)
  assert dict(counts.gold) == {"Disease": 4, "Chemical": 1}
  assert dict(counts.found) == {"Disease": 4, "Chemical": 1}
  assert dict(counts.correct) == {"Disease": 2}
  scores = conlleval.metrics(counts)
  assert scores["precision"] == pytest.approx(2 / 5) and scores["recall"] == pytest.approx(2 / 5)
  assert scores["f1"] == pytest.approx(2 / 5) and scores["accuracy"] == pytest.approx(8 / 12)
  # Disease: P = R = 2/4, F1 0.5; Chemical: 0 of 1 found, 0 of 1 gold.
  assert conlleval.report(counts) == (
      "processed 12 tokens with 5 phrases; found: 5 phrases; correct: 2.\n"
      "accuracy:  66.67%; precision:  40.00%; recall:  40.00%; FB1:  40.00\n"
      "         Chemical: precision:   0.00%; recall:   0.00%; FB1:   0.00  1\n"
      "          Disease: precision:  50.00%; recall:  50.00%; FB1:  50.00  4\n")


def test_no_prediction_scores_zero_not_nan():
  counts = conlleval.evaluate([["B-Disease", "O"]], [["O", "O"]])
  assert conlleval.metrics(counts) == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "accuracy": 0.5}


def test_command_line_reads_conlleval_input(tmp_path):
  lines = ["%s %s %s" % ("w%d" % i, g, p) for i, (g, p) in enumerate(zip(
      ["B-Disease", "I-Disease", "O", "B-Disease"], ["B-Disease", "I-Disease", "O", "I-Disease"]))]
  text = "\n".join(lines[:2]) + "\n\n" + "\n".join(lines[2:]) + "\n"
  proc = subprocess.run([sys.executable, os.path.join(ROOT, "utils", "conlleval.py")], input=text,
                        capture_output=True, text=True)
  assert proc.returncode == 0, proc.stderr
  assert proc.stdout.splitlines()[:2] == [
      "processed 4 tokens with 2 phrases; found: 2 phrases; correct: 2.",
      "accuracy:  75.00%; precision: 100.00%; recall: 100.00%; FB1: 100.00"]   # B- against I-: a tag differs
  bad = subprocess.run([sys.executable, os.path.join(ROOT, "utils", "conlleval.py")], input="word O\n",
                       capture_output=True, text=True)
  assert bad.returncode == 2 and "line 1" in bad.stderr


def test_chemprot_micro_scores_exclude_false_by_hand():
  gold = ["False", "CPR:3", "CPR:4", "CPR:4", "False", "CPR:9", "CPR:5"]
  pred = ["CPR:3", "CPR:3", "False", "CPR:9", "False", "CPR:9", "False"]
  # tp: rows 1, 5. fp: row 0 (gold False), row 3 (other CPR). fn: rows 2, 3, 6. The True negative row 4 counts
  # nowhere. P = 2/4, R = 2/5, F1 = 2 * 0.5 * 0.4 / 0.9.
  result = re_eval.scores("chemprot", gold, pred)
  assert (result["tp"], result["fp"], result["fn"]) == (2, 2, 3)
  assert result["precision"] == pytest.approx(0.5) and result["recall"] == pytest.approx(0.4)
  assert result["f1"] == pytest.approx(0.4 / 0.9) and result["accuracy"] == pytest.approx(3 / 7)


def test_gad_binary_f1_by_hand():
  result = re_eval.scores("gad", ["1", "1", "0", "0", "1"], ["1", "0", "1", "0", "1"])
  assert (result["tp"], result["fp"], result["fn"]) == (2, 1, 1)
  assert result["precision"] == pytest.approx(2 / 3) and result["f1"] == pytest.approx(2 / 3)


def test_re_eval_command_line_scores_a_prediction_file(tmp_path):
  answers = tmp_path / "test.tsv"
  answers.write_text("sentence\tlabel\n" + "".join(
      "BC6ENTC binds BC6ENTG %d.\t%s\n" % (i, label) for i, label in enumerate(["CPR:3", "False", "CPR:4"])))
  predictions = tmp_path / "test_results.tsv"
  # Rows in the order False, CPR:3, CPR:4, CPR:5, CPR:6, CPR:9: predicted CPR:3, CPR:3, CPR:4.
  predictions.write_text("0.1\t0.8\t0.1\t0\t0\t0\n0.2\t0.7\t0.1\t0\t0\t0\n0\t0\t1\t0\t0\t0\n")
  proc = subprocess.run([sys.executable, os.path.join(ROOT, "utils", "re_eval.py"), "--task=chemprot",
                         "--output_path=%s" % predictions, "--answer_path=%s" % answers],
                        capture_output=True, text=True)
  assert proc.returncode == 0, proc.stderr
  # tp 2, fp 1 (row 1), fn 0: P 66.67, R 100, F1 80.
  assert "precision 66.67%, recall 100.00%, F1 80.00% (tp 2, fp 1, fn 0)" in proc.stdout
