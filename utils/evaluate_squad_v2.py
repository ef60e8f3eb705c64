"""SQuAD v2.0 evaluation, as defined by the official v2.0 script.

Usage (same command line as the official script, without its plotting option):
  python utils/evaluate_squad_v2.py DATA_FILE PRED_FILE [--na-prob-file F] [--na-prob-thresh T]
                                    [--out-file F] [--verbose]
prints exact, f1, total, HasAns_*/NoAns_* and, with --na-prob-file, best_exact, best_exact_thresh,
best_f1, best_f1_thresh. An empty predicted string means "no answer"; a question is unanswerable when
its gold "answers" list is empty.
"""
import argparse
import collections
import json
import os
import sys

if not __package__:  # run as a script: make `utils` importable
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from utils.evaluate_squad_v1 import normalize_answer  # pylint: disable=wrong-import-position


def make_qid_to_has_ans(dataset):
  """Maps question id -> True when the question has at least one gold answer."""
  return {qa["id"]: bool(qa["answers"])
          for article in dataset for p in article["paragraphs"] for qa in p["qas"]}


def get_tokens(s):
  """Normalised tokens of an answer ([] for an empty answer)."""
  if not s:
    return []
  return normalize_answer(s).split()


def compute_exact(a_gold, a_pred):
  """1 when the normalised answers are equal, else 0."""
  return int(normalize_answer(a_gold) == normalize_answer(a_pred))


def compute_f1(a_gold, a_pred):
  """Token F1; when either side is empty (no answer) it is 1 only if both are empty."""
  gold_toks = get_tokens(a_gold)
  pred_toks = get_tokens(a_pred)
  common = collections.Counter(gold_toks) & collections.Counter(pred_toks)
  num_same = sum(common.values())
  if not gold_toks or not pred_toks:
    return int(gold_toks == pred_toks)
  if num_same == 0:
    return 0
  precision = num_same / len(pred_toks)
  recall = num_same / len(gold_toks)
  return (2 * precision * recall) / (precision + recall)


def get_raw_scores(dataset, preds, verbose=False):
  """Per-question exact and F1 scores (max over gold answers; questions without prediction skipped).

  Args:
    dataset: the "data" list of a SQuAD v2.0 json file.
    preds: dict question id -> predicted text ("" = no answer).
    verbose: print the ids of questions that have no prediction.

  Returns:
    (exact_scores, f1_scores), dicts question id -> score.
  """
  exact_scores, f1_scores = {}, {}
  for article in dataset:
    for p in article["paragraphs"]:
      for qa in p["qas"]:
        qid = qa["id"]
        # Gold answers that normalise to nothing count as "no answer".
        gold_answers = [a["text"] for a in qa["answers"] if normalize_answer(a["text"])]
        if not gold_answers:
          gold_answers = [""]
        if qid not in preds:
          if verbose:
            print("Missing prediction for %s" % qid)
          continue
        a_pred = preds[qid]
        exact_scores[qid] = max(compute_exact(a, a_pred) for a in gold_answers)
        f1_scores[qid] = max(compute_f1(a, a_pred) for a in gold_answers)
  return exact_scores, f1_scores


def apply_no_ans_threshold(scores, na_probs, qid_to_has_ans, na_prob_thresh):
  """Scores after predicting "no answer" wherever na_probs[qid] > na_prob_thresh."""
  new_scores = {}
  for qid, s in scores.items():
    if na_probs[qid] > na_prob_thresh:
      new_scores[qid] = float(not qid_to_has_ans[qid])
    else:
      new_scores[qid] = s
  return new_scores


def make_eval_dict(exact_scores, f1_scores, qid_list=None):
  """{"exact", "f1", "total"} in percent over qid_list (default: all scored questions)."""
  if qid_list is None:
    qid_list = list(exact_scores)
  total = len(qid_list)
  return collections.OrderedDict([
      ("exact", 100.0 * sum(exact_scores[k] for k in qid_list) / total),
      ("f1", 100.0 * sum(f1_scores[k] for k in qid_list) / total),
      ("total", total),
  ])


def merge_eval(main_eval, new_eval, prefix):
  for k in new_eval:
    main_eval["%s_%s" % (prefix, k)] = new_eval[k]


def find_best_thresh(preds, scores, na_probs, qid_to_has_ans):
  """Best score over no-answer thresholds, sweeping na_probs in increasing order.

  Starting with every question predicted "no answer" (score = number of unanswerable questions),
  each question in turn switches to its predicted text: +score for answerable ones, -1 for
  unanswerable ones with a non-empty prediction.

  Returns:
    (best score in percent of the scored questions, the na_prob threshold reaching it).
  """
  num_no_ans = sum(1 for k in qid_to_has_ans if not qid_to_has_ans[k])
  cur_score = best_score = num_no_ans
  best_thresh = 0.0
  for qid in sorted(na_probs, key=lambda k: na_probs[k]):
    if qid not in scores:
      continue
    if qid_to_has_ans[qid]:
      diff = scores[qid]
    else:
      diff = -1 if preds[qid] else 0
    cur_score += diff
    if cur_score > best_score:
      best_score = cur_score
      best_thresh = na_probs[qid]
  return 100.0 * best_score / len(scores), best_thresh


def find_all_best_thresh(main_eval, preds, exact_raw, f1_raw, na_probs, qid_to_has_ans):
  best_exact, exact_thresh = find_best_thresh(preds, exact_raw, na_probs, qid_to_has_ans)
  best_f1, f1_thresh = find_best_thresh(preds, f1_raw, na_probs, qid_to_has_ans)
  main_eval["best_exact"] = best_exact
  main_eval["best_exact_thresh"] = exact_thresh
  main_eval["best_f1"] = best_f1
  main_eval["best_f1_thresh"] = f1_thresh


def evaluate_v2(dataset, preds, na_probs=None, na_prob_thresh=1.0, verbose=False):
  """Official SQuAD v2.0 metrics.

  Args:
    dataset: the "data" list of a SQuAD v2.0 json file.
    preds: dict question id -> predicted text ("" = no answer).
    na_probs: optional dict question id -> no-answer score (e.g. null_odds.json); when given, the
      best_exact/best_f1 fields and their thresholds are added.
    na_prob_thresh: predict "no answer" where na_probs > this value.
    verbose: print the ids of questions that have no prediction.

  Returns:
    OrderedDict with exact, f1, total, HasAns_*, NoAns_* (when such questions exist) and,
    with na_probs, best_exact, best_exact_thresh, best_f1, best_f1_thresh.
  """
  with_na_probs = na_probs is not None
  if not with_na_probs:
    na_probs = {k: 0.0 for k in preds}
  qid_to_has_ans = make_qid_to_has_ans(dataset)
  exact_raw, f1_raw = get_raw_scores(dataset, preds, verbose)
  if not exact_raw:
    raise ValueError("None of the %d questions of the dataset has a prediction." %
                     len(qid_to_has_ans))
  missing_na = [k for k in exact_raw if k not in na_probs]
  if missing_na:
    raise ValueError("No-answer probability missing for question id %s (and %d more)." %
                     (missing_na[0], len(missing_na) - 1))
  # The breakdowns cover the questions that have a prediction (the official script fails instead).
  has_ans_qids = [k for k in exact_raw if qid_to_has_ans[k]]
  no_ans_qids = [k for k in exact_raw if not qid_to_has_ans[k]]
  exact_thresh = apply_no_ans_threshold(exact_raw, na_probs, qid_to_has_ans, na_prob_thresh)
  f1_thresh = apply_no_ans_threshold(f1_raw, na_probs, qid_to_has_ans, na_prob_thresh)
  out_eval = make_eval_dict(exact_thresh, f1_thresh)
  if has_ans_qids:
    merge_eval(out_eval, make_eval_dict(exact_thresh, f1_thresh, qid_list=has_ans_qids), "HasAns")
  if no_ans_qids:
    merge_eval(out_eval, make_eval_dict(exact_thresh, f1_thresh, qid_list=no_ans_qids), "NoAns")
  if with_na_probs:
    find_all_best_thresh(out_eval, preds, exact_raw, f1_raw, na_probs, qid_to_has_ans)
  return out_eval


def main():
  parser = argparse.ArgumentParser("Official evaluation script for SQuAD version 2.0.")
  parser.add_argument("data_file", metavar="data.json", help="Input data JSON file.")
  parser.add_argument("pred_file", metavar="pred.json", help="Model predictions.")
  parser.add_argument("--out-file", "-o", metavar="eval.json",
                      help="Write accuracy metrics to file (default is stdout).")
  parser.add_argument("--na-prob-file", "-n", metavar="na_prob.json",
                      help="Model estimates of probability of no answer.")
  parser.add_argument("--na-prob-thresh", "-t", type=float, default=1.0,
                      help='Predict "" if no-answer probability exceeds this (default = 1.0).')
  parser.add_argument("--verbose", "-v", action="store_true")
  args = parser.parse_args()
  with open(args.data_file) as f:
    dataset = json.load(f)["data"]
  with open(args.pred_file) as f:
    preds = json.load(f)
  na_probs = None
  if args.na_prob_file:
    with open(args.na_prob_file) as f:
      na_probs = json.load(f)
  out_eval = evaluate_v2(dataset, preds, na_probs, args.na_prob_thresh, args.verbose)
  if args.out_file:
    tmp_file = args.out_file + ".tmp"
    with open(tmp_file, "w") as f:
      json.dump(out_eval, f)
    os.replace(tmp_file, args.out_file)
  else:
    print(json.dumps(out_eval, indent=2))


if __name__ == "__main__":
  main()
