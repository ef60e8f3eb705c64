"""SQuAD v1.1 / v2.0 evaluators: hand-computed metrics and the command lines on the real dev files."""
import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT, SAMPLES
from utils import evaluate_squad_v1 as ev1
from utils import evaluate_squad_v2 as ev2
from utils import squad_diagnostics

DEV_V1 = os.path.join(SAMPLES, "squad", "dev-v1.1.first5articles.official-answerable.json")
DEV_V2 = os.path.join(SAMPLES, "squad", "dev-v2.0.first5articles.official.json")


def _dataset(qas):
  """A one-paragraph SQuAD "data" list; qas = [(id, [gold texts])]."""
  return [{"title": "t", "paragraphs": [{"context": "unused", "qas": [
      {"id": qid, "question": "q?", "answers": [{"text": t, "answer_start": 0} for t in golds]}
      for qid, golds in qas]}]}]


def _questions(path):
  with open(path) as f:
    data = json.load(f)["data"]
  return [qa for article in data for p in article["paragraphs"] for qa in p["qas"]]


@pytest.mark.parametrize("text,expected", [
    ("The  Quick, brown fox!", "quick brown fox"),   # case, punctuation, article, spaces
    ("an apple a day", "apple day"),                 # every article
    ("Theory of the anthem", "theory of anthem"),    # only whole-word articles
    ("A.B.C.", "abc"),                               # punctuation goes before articles
    ("the.", ""),
    ("\tUber\n  cool ", "uber cool"),
    ("Über-cool", "übercool"),
])
def test_normalize_answer(text, expected):
  assert ev1.normalize_answer(text) == expected


def test_v1_token_f1_and_exact():
  # "cat sat on mat" (4 tokens) vs "cat on mat" (3): 3 common, P = 3/4, R = 1, F1 = 6/7.
  assert ev1.f1_score("the cat sat on the mat", "a cat on a mat") == pytest.approx(6 / 7)
  # Repeated tokens count once per occurrence: {cat, dog} common, P = R = 2/3.
  assert ev1.f1_score("cat cat dog", "cat dog dog") == pytest.approx(2 / 3)
  assert ev1.f1_score("Paris", "London") == 0
  assert ev1.exact_match_score("The Eiffel Tower.", "eiffel   tower")
  assert not ev1.exact_match_score("Eiffel", "eiffel tower")
  # v1.1 quirk kept: two empty answers have F1 0 (no common token) but are an exact match.
  assert ev1.f1_score("", "") == 0 and ev1.exact_match_score("", "")


def test_v1_max_over_gold_answers_and_missing_prediction(capsys):
  golds = ["Broncos", "Denver Broncos", "the Carolina Panthers"]
  # "broncos of denver" vs "broncos": P = 1/3, R = 1 -> 0.5; vs "denver broncos": P = 2/3, R = 1
  # -> 0.8; vs "carolina panthers": 0. The max is 0.8.
  assert ev1.metric_max_over_ground_truths(
      ev1.f1_score, "the Broncos of Denver", golds) == pytest.approx(0.8)
  dataset = _dataset([("q1", golds), ("q2", ["42"]), ("q3", ["blue"])])
  # q1 exact (second gold); q2 "42 units" vs "42": EM 0, P = 1/2, R = 1, F1 = 2/3; q3 unanswered
  # scores 0 but counts: EM = 1/3, F1 = (1 + 2/3 + 0) / 3 = 5/9.
  result = ev1.evaluate(dataset, {"q1": "Denver Broncos", "q2": "42 units"})
  assert result["exact_match"] == pytest.approx(100 / 3)
  assert result["f1"] == pytest.approx(500 / 9)
  assert "Unanswered question q3 will receive score 0." in capsys.readouterr().err


def test_v2_no_answer_scoring():
  assert ev2.compute_f1("", "") == 1 and ev2.compute_exact("", "") == 1
  assert ev2.compute_f1("Paris", "") == 0 and ev2.compute_f1("", "Paris") == 0
  assert ev2.compute_f1("in Paris", "Paris, France") == pytest.approx(0.5)


# Hand-made v2 dataset. Per question: gold, prediction, EM, F1, no-answer probability:
#   q1 ["Paris", "in Paris"]  "Paris, France"  EM 0  F1 max(2/3 vs "paris", 1/2 vs "in paris") = 2/3  na 0.1
#   q2 ["42"]                 ""               EM 0  F1 0                                            na 0.6
#   q3 [] (no answer)         ""               EM 1  F1 1                                            na 0.3
#   q4 [] (no answer)         "blue"           EM 0  F1 0                                            na 0.8
#   q5 ["1990s"]              "the 1990s"      EM 1  F1 1                                            na 0.5
_V2_DATA = _dataset([("q1", ["Paris", "in Paris"]), ("q2", ["42"]), ("q3", []), ("q4", []),
                     ("q5", ["1990s"])])
_V2_PREDS = {"q1": "Paris, France", "q2": "", "q3": "", "q4": "blue", "q5": "the 1990s"}
_V2_NA = {"q1": 0.1, "q2": 0.6, "q3": 0.3, "q4": 0.8, "q5": 0.5}


def test_v2_hand_computed_breakdown():
  out = ev2.evaluate_v2(_V2_DATA, _V2_PREDS)
  assert list(out) == ["exact", "f1", "total", "HasAns_exact", "HasAns_f1", "HasAns_total",
                       "NoAns_exact", "NoAns_f1", "NoAns_total"]
  assert out["exact"] == pytest.approx(100 * 2 / 5)               # q3, q5
  assert out["f1"] == pytest.approx(100 * (2 / 3 + 1 + 1) / 5)    # 53.33
  assert out["total"] == 5
  assert out["HasAns_exact"] == pytest.approx(100 / 3)            # q1, q2, q5: only q5
  assert out["HasAns_f1"] == pytest.approx(100 * (2 / 3 + 1) / 3)
  assert out["HasAns_total"] == 3
  assert out["NoAns_exact"] == pytest.approx(50) and out["NoAns_f1"] == pytest.approx(50)
  assert out["NoAns_total"] == 2


def test_v2_na_prob_threshold_and_best_threshold():
  # --na-prob-thresh 0.55: q2 (0.6) and q4 (0.8) become "no answer": q2 scores 0, q4 scores 1.
  # EM = q3 + q4 + q5 = 3/5; F1 = 2/3 + 0 + 1 + 1 + 1 = 11/3 over 5.
  out = ev2.evaluate_v2(_V2_DATA, _V2_PREDS, _V2_NA, na_prob_thresh=0.55)
  assert out["exact"] == pytest.approx(60)
  assert out["f1"] == pytest.approx(100 * 11 / 3 / 5)
  # Best threshold sweep: start at 2 (both unanswerable right when everything is "no answer"),
  # then by increasing na: q1 (0.1) +0 EM / +2/3 F1, q3 (0.3) +0, q5 (0.5) +1, q2 (0.6) +0,
  # q4 (0.8) -1 (non-empty prediction). EM peaks at 3 after q5 -> 60 at 0.5; F1 peaks at 11/3
  # after q5 -> 73.33 at 0.5.
  assert out["best_exact"] == pytest.approx(60) and out["best_exact_thresh"] == 0.5
  assert out["best_f1"] == pytest.approx(100 * 11 / 3 / 5) and out["best_f1_thresh"] == 0.5
  # Without q5 the F1 peak is reached earlier: 2 + 2/3 after q1 (0.1), EM never beats 2 -> 0.0.
  preds = dict(_V2_PREDS, q5="")
  out = ev2.evaluate_v2(_V2_DATA, preds, _V2_NA)
  assert out["best_exact"] == pytest.approx(40) and out["best_exact_thresh"] == 0.0
  assert out["best_f1"] == pytest.approx(100 * (8 / 3) / 5) and out["best_f1_thresh"] == 0.1


def test_v2_missing_predictions_and_bad_na_probs():
  preds = {k: v for k, v in _V2_PREDS.items() if k != "q5"}
  out = ev2.evaluate_v2(_V2_DATA, preds)     # official semantics: totals count scored questions
  assert out["total"] == 4 and out["HasAns_total"] == 2
  assert out["exact"] == pytest.approx(25)
  with pytest.raises(ValueError, match="q5"):
    ev2.evaluate_v2(_V2_DATA, _V2_PREDS, {k: v for k, v in _V2_NA.items() if k != "q5"})
  with pytest.raises(ValueError, match="prediction"):
    ev2.evaluate_v2(_V2_DATA, {})



# Candidates as nbest_predictions.json lists them (best first); forced answers: q1 "Paris" (F1 1), q2 "42 units"
# (P 1/2, R 1: F1 2/3), q5 "1990s" (F1 1), q3 none, q4 "blue".
_V2_NBEST = {"q1": [{"text": ""}, {"text": "Paris"}], "q2": [{"text": "42 units"}, {"text": ""}],
             "q3": [{"text": ""}], "q4": [{"text": "blue"}], "q5": [{"text": "1990s"}]}


def test_v2_diagnostics_forced_spans_and_no_answer_auc():
  assert squad_diagnostics.forced_predictions(_V2_NBEST) == {"q1": "Paris", "q2": "42 units", "q3": "",
                                                             "q4": "blue", "q5": "1990s"}
  assert squad_diagnostics.forced_span_f1(_V2_DATA, _V2_NBEST) == pytest.approx(100 * (1 + 2 / 3 + 1) / 3)
  # Unanswerable q3 (0.3), q4 (0.8) against answerable q1 (0.1), q2 (0.6), q5 (0.5): q3 beats only q1, q4 beats
  # all three: 4 of 6 pairs.
  assert squad_diagnostics.no_answer_auc(_V2_DATA, _V2_NA) == pytest.approx(4 / 6)
  # q3 at 0.5 ties q5: 1 + 0.5 + 3 of 6.
  assert squad_diagnostics.no_answer_auc(_V2_DATA, dict(_V2_NA, q3=0.5)) == pytest.approx(4.5 / 6)
  with pytest.raises(ValueError, match="both answerable and unanswerable"):
    squad_diagnostics.no_answer_auc(_dataset([("q1", ["Paris"])]), {"q1": 0.1})


def test_v2_diagnostics_shuffled_odds_are_chance_level():
  # Odds that separate perfectly (unanswerable highest) reach the top F1: the answerable questions keep their
  # forced answers (1 + 2/3 + 1) and both unanswerable ones say "no answer": (8/3 + 2) / 5.
  perfect = {"q1": 0.1, "q2": 0.2, "q5": 0.3, "q3": 0.8, "q4": 0.9}
  best = ev2.evaluate_v2(_V2_DATA, squad_diagnostics.forced_predictions(_V2_NBEST), perfect)["best_f1"]
  assert best == pytest.approx(100 * (8 / 3 + 2) / 5)
  shuffled = squad_diagnostics.shuffled_odds_f1(_V2_DATA, _V2_NBEST, perfect, draws=200, seed=3)
  assert len(shuffled) == 200 and shuffled == squad_diagnostics.shuffled_odds_f1(_V2_DATA, _V2_NBEST, perfect,
                                                                                  draws=200, seed=3)
  # Never below answering "no answer" everywhere (2 of 5), never above the perfect odds, and on average below them.
  assert all(40.0 - 1e-9 <= f1 <= best + 1e-9 for f1 in shuffled)
  assert sum(shuffled) / len(shuffled) < best - 5


def _run(script, *args):
  proc = subprocess.run([sys.executable, os.path.join(ROOT, "utils", script)] + list(args),
                        capture_output=True, text=True, cwd=ROOT, timeout=120, check=True)
  return json.loads(proc.stdout)


def _write(tmp_path, name, obj):
  path = str(tmp_path / name)
  with open(path, "w") as f:
    json.dump(obj, f)
  return path


def test_v1_command_line_on_real_dev(tmp_path):
  qas = _questions(DEV_V1)
  gold = _write(tmp_path, "gold.json", {qa["id"]: qa["answers"][0]["text"] for qa in qas})
  assert _run("evaluate_squad_v1.py", DEV_V1, gold) == {"exact_match": 100.0, "f1": 100.0}
  empty = _write(tmp_path, "empty.json", {qa["id"]: "" for qa in qas})
  assert _run("evaluate_squad_v1.py", DEV_V1, empty) == {"exact_match": 0.0, "f1": 0.0}


def test_v2_command_line_on_real_dev(tmp_path):
  qas = _questions(DEV_V2)
  has_ans = [qa["id"] for qa in qas if qa["answers"]]
  no_ans = [qa["id"] for qa in qas if not qa["answers"]]
  assert (len(has_ans), len(no_ans)) == (705, 702)
  gold = _write(tmp_path, "gold.json",
                {qa["id"]: qa["answers"][0]["text"] if qa["answers"] else "" for qa in qas})
  out = _run("evaluate_squad_v2.py", DEV_V2, gold)
  assert out == {"exact": 100.0, "f1": 100.0, "total": 1407,
                 "HasAns_exact": 100.0, "HasAns_f1": 100.0, "HasAns_total": 705,
                 "NoAns_exact": 100.0, "NoAns_f1": 100.0, "NoAns_total": 702}

  empty = _write(tmp_path, "empty.json", {qa["id"]: "" for qa in qas})
  out = _run("evaluate_squad_v2.py", DEV_V2, empty)
  assert out["exact"] == pytest.approx(100 * 702 / 1407) == out["f1"]
  assert out["HasAns_exact"] == 0 and out["NoAns_exact"] == 100

  # Answerable questions answered right (na 0.2), unanswerable ones answered "x" (na 0.9): the
  # default threshold 1.0 keeps "x" (exact 705/1407); the sweep finds 100 at threshold 0.2 and
  # --na-prob-thresh 0.5 reaches it too.
  preds = _write(tmp_path, "preds.json", dict({k: "x" for k in no_ans}, **{
      qa["id"]: qa["answers"][0]["text"] for qa in qas if qa["answers"]}))
  na = _write(tmp_path, "na.json", dict({k: 0.9 for k in no_ans}, **{k: 0.2 for k in has_ans}))
  out = _run("evaluate_squad_v2.py", DEV_V2, preds, "--na-prob-file", na)
  assert out["exact"] == pytest.approx(100 * 705 / 1407)
  assert (out["best_exact"], out["best_exact_thresh"]) == (100.0, 0.2)
  assert (out["best_f1"], out["best_f1_thresh"]) == (100.0, 0.2)
  out_file = str(tmp_path / "eval.json")
  subprocess.run([sys.executable, os.path.join(ROOT, "utils", "evaluate_squad_v2.py"), DEV_V2,
                  preds, "-n", na, "-t", "0.5", "-o", out_file], check=True, timeout=120)
  with open(out_file) as f:
    assert json.load(f)["exact"] == 100.0
