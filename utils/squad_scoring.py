"""Scoring SQuAD predictions with the official evaluators, and the SQuAD 2.0 no-answer threshold.

The threshold is a number, "auto" (the one that maximises F1 on the labelled predict file, i.e. the
official script's best_f1_thresh) or the eval_results.json of an earlier run (its best_f1_thresh).
"""
import json
import math
import os

import tensorflow as tf

from utils import evaluate_squad_v1
from utils import evaluate_squad_v2
from utils import squad

_BEST_KEYS = ("best_exact", "best_exact_thresh", "best_f1", "best_f1_thresh")


def parse_null_threshold(value):
  """Reads a --null_score_diff_threshold value.

  Args:
    value: a number, "auto" or the path of an eval_results.json holding best_f1_thresh.

  Returns:
    the threshold as a float, or None for "auto".
  """
  if value == "auto":
    return None
  try:
    return float(value)
  except ValueError:
    pass
  if not os.path.isfile(value):
    raise ValueError("--null_score_diff_threshold=%s: expected a number, 'auto' or an eval_results.json "
                     "file" % value)
  try:
    with open(value) as f:
      return float(json.load(f)["best_f1_thresh"])
  except (ValueError, KeyError, TypeError) as e:
    raise ValueError("--null_score_diff_threshold=%s: no best_f1_thresh in this file (%r); use the "
                     "eval_results.json of a --version_2_with_negative --do_predict run" % (value, e)) from None


def load_labelled_dataset(predict_file, version_2_with_negative):
  """The "data" list of a SQuAD json when some question has a gold answer (or is marked impossible).

  Args:
    predict_file: SQuAD json.
    version_2_with_negative: SQuAD 2.0 data (questions without answers allowed).

  Returns:
    the "data" list, or None for an unlabelled file.

  Raises:
    ValueError: naming a question without answers in a labelled SQuAD 1.1 file (a SQuAD 2.0 file read
      without --version_2_with_negative).
  """
  with tf.io.gfile.GFile(predict_file) as f:
    data = json.load(f)["data"]
  qas = [qa for article in data for paragraph in article["paragraphs"] for qa in paragraph["qas"]]
  if not any(qa["answers"] or qa.get("is_impossible") for qa in qas):
    return None
  unanswered = [qa["id"] for qa in qas if not qa["answers"]]
  if unanswered and not version_2_with_negative:
    raise ValueError("--predict_file=%s, question id %s: no gold answer (and %d more such questions); for "
                     "SQuAD 2.0 data pass --version_2_with_negative" % (
                         predict_file, unanswered[0], len(unanswered) - 1))
  return data


def score(dataset, predictions, null_odds, version_2_with_negative):
  """Official metrics.

  Args:
    dataset: the "data" list of the labelled SQuAD json.
    predictions: question id -> predicted text.
    null_odds: SQuAD 2.0: question id -> null odds, or None.
    version_2_with_negative: SQuAD 2.0 metrics.

  Returns:
    dict: v1.1 exact_match / f1; v2.0 exact / f1 / HasAns / NoAns and, with null_odds, best_exact /
    best_f1 and their thresholds.
  """
  if version_2_with_negative:
    return dict(evaluate_squad_v2.evaluate_v2(dataset, predictions, null_odds))
  return evaluate_squad_v1.evaluate(dataset, predictions)


def best_thresholds(dataset, decoded):
  """The official best_exact / best_f1 and their no-answer thresholds (SQuAD 2.0).

  The sweep is over predictions that all answer (threshold +inf): a question already blanked by a finite
  threshold would count as a wrong answer at every threshold.

  Args:
    dataset: the "data" list of the labelled SQuAD 2.0 json.
    decoded: squad.SquadPredictions.

  Returns:
    dict with best_exact, best_exact_thresh, best_f1 and best_f1_thresh.
  """
  answered = squad.apply_null_threshold(decoded.nbest, decoded.null_odds, math.inf)
  swept = score(dataset, answered, decoded.null_odds, True)
  return {k: swept[k] for k in _BEST_KEYS}


def score_predictions(dataset, decoded, threshold, version_2_with_negative):
  """Scores decoded predictions; for SQuAD 2.0 with the best thresholds, applying the best-F1 one when
  `threshold` is None.

  The predictions are scored as they are: the official script would also blank answers whose null odds
  exceed 1.0 (its default --na-prob-thresh, meant for probabilities).

  Args:
    dataset: the "data" list of the labelled SQuAD json.
    decoded: squad.SquadPredictions, decoded with `threshold` (+inf when it is None).
    threshold: SQuAD 2.0 no-answer threshold, or None.
    version_2_with_negative: SQuAD 2.0 scoring.

  Returns:
    (decoded, with the best-F1 threshold applied when `threshold` is None; dict of the official metrics
    (see `score`), for SQuAD 2.0 with best_exact / best_f1, their thresholds and the
    null_score_diff_threshold applied).
  """
  if not version_2_with_negative:
    return decoded, score(dataset, decoded.predictions, None, False)
  best = best_thresholds(dataset, decoded)
  if threshold is None:
    threshold = best["best_f1_thresh"]
    decoded = decoded._replace(
        predictions=squad.apply_null_threshold(decoded.nbest, decoded.null_odds, threshold))
  metrics = score(dataset, decoded.predictions, None, True)
  metrics.update(best)
  metrics["null_score_diff_threshold"] = threshold
  return decoded, metrics
