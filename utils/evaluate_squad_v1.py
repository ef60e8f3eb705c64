"""SQuAD v1.1 evaluation: exact match and token F1, as defined by the official v1.1 script.

Usage (same command line as the official script):
  python utils/evaluate_squad_v1.py DATA_FILE PRED_FILE
prints {"exact_match": ..., "f1": ...} (percentages). PRED_FILE maps question id -> answer text.
"""
import argparse
import collections
import json
import re
import string
import sys

EXPECTED_VERSION = "1.1"
_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(s):
  """Lower-cases, removes punctuation, the articles a/an/the and extra white space."""
  s = s.lower()
  s = "".join(ch for ch in s if ch not in _PUNCTUATION)
  s = _ARTICLES.sub(" ", s)
  return " ".join(s.split())


def f1_score(prediction, ground_truth):
  """Token-level F1 between two answers after normalisation (0 when nothing overlaps)."""
  prediction_tokens = normalize_answer(prediction).split()
  ground_truth_tokens = normalize_answer(ground_truth).split()
  common = collections.Counter(prediction_tokens) & collections.Counter(ground_truth_tokens)
  num_same = sum(common.values())
  if num_same == 0:
    return 0
  precision = num_same / len(prediction_tokens)
  recall = num_same / len(ground_truth_tokens)
  return 2 * precision * recall / (precision + recall)


def exact_match_score(prediction, ground_truth):
  """True when the normalised answers are equal."""
  return normalize_answer(prediction) == normalize_answer(ground_truth)


def metric_max_over_ground_truths(metric_fn, prediction, ground_truths):
  """Best score of `prediction` against any of the gold answers."""
  return max(metric_fn(prediction, gt) for gt in ground_truths)


def evaluate(dataset, predictions):
  """Scores predictions against a SQuAD v1.1 dataset.

  Args:
    dataset: the "data" list of a SQuAD json file.
    predictions: dict question id -> predicted answer text. Unanswered questions score 0
      (a message is printed to stderr, as the official script does).

  Returns:
    {"exact_match": percent, "f1": percent} over all questions of the dataset.
  """
  f1 = exact_match = total = 0
  for article in dataset:
    for paragraph in article["paragraphs"]:
      for qa in paragraph["qas"]:
        total += 1
        if qa["id"] not in predictions:
          print("Unanswered question %s will receive score 0." % qa["id"], file=sys.stderr)
          continue
        ground_truths = [answer["text"] for answer in qa["answers"]]
        prediction = predictions[qa["id"]]
        exact_match += metric_max_over_ground_truths(exact_match_score, prediction, ground_truths)
        f1 += metric_max_over_ground_truths(f1_score, prediction, ground_truths)
  return {"exact_match": 100.0 * exact_match / total, "f1": 100.0 * f1 / total}


def main():
  parser = argparse.ArgumentParser(description="Evaluation for SQuAD " + EXPECTED_VERSION)
  parser.add_argument("dataset_file", help="Dataset file")
  parser.add_argument("prediction_file", help="Prediction File")
  args = parser.parse_args()
  with open(args.dataset_file) as dataset_file:
    dataset_json = json.load(dataset_file)
    if dataset_json.get("version") != EXPECTED_VERSION:
      print("Evaluation expects v-%s, but got dataset with v-%s" %
            (EXPECTED_VERSION, dataset_json.get("version")), file=sys.stderr)
  with open(args.prediction_file) as prediction_file:
    predictions = json.load(prediction_file)
  print(json.dumps(evaluate(dataset_json["data"], predictions)))


if __name__ == "__main__":
  main()
