"""What SQuAD 2.0 predictions know, apart from the official metrics' single tuned threshold.

The official F1 mixes two skills: finding the span, and deciding that a question has no answer. With few training
questions a model can learn the first and barely the second, and the tuned threshold then hides it (answering
"no answer" everywhere already scores the unanswerable share). These separate them:
  forced_span_f1     F1 on the answerable questions when each gets its best non-empty candidate (span skill).
  no_answer_auc      how well the null odds rank unanswerable above answerable questions (0.5: chance).
  shuffled_odds_f1   the best-threshold F1 of the same spans with the null odds shuffled among the questions:
                     what the no-answer decision scores at chance, the baseline the real F1 must beat.
Inputs are the files run_squad.py --do_predict writes (nbest_predictions.json, null_odds.json) and the "data"
list of the SQuAD 2.0 file.
"""
import numpy as np

from utils import evaluate_squad_v2


def forced_predictions(nbest):
  """Question id -> its best non-empty candidate's text ("" when it has none), from nbest_predictions.json."""
  return {qid: next((c["text"] for c in candidates if c["text"]), "") for qid, candidates in nbest.items()}


def forced_span_f1(dataset, nbest):
  """F1 (percent) over the answerable questions of `dataset`, each answered with its best non-empty candidate."""
  return evaluate_squad_v2.evaluate_v2(dataset, forced_predictions(nbest))["HasAns_f1"]


def no_answer_auc(dataset, null_odds):
  """Chance that an unanswerable question has higher null odds than an answerable one (ties count half)."""
  has_answer = evaluate_squad_v2.make_qid_to_has_ans(dataset)
  unanswerable = np.array([null_odds[q] for q in has_answer if not has_answer[q]])   # [U]
  answerable = np.array([null_odds[q] for q in has_answer if has_answer[q]])         # [A]
  if not len(unanswerable) or not len(answerable):
    raise ValueError("no_answer_auc needs both answerable and unanswerable questions")
  higher = unanswerable[:, None] > answerable[None, :]                               # [U, A]
  tied = unanswerable[:, None] == answerable[None, :]                                # [U, A]
  return float(higher.mean() + 0.5 * tied.mean())


def shuffled_odds_f1(dataset, nbest, null_odds, draws=100, seed=0):
  """Best-threshold F1 (percent, the official best_f1) of the forced answers under `draws` random permutations
  of the null odds among the questions: the no-answer decision at chance, with the threshold tuned as for the
  real odds. Returns the list of F1s."""
  has_answer = evaluate_squad_v2.make_qid_to_has_ans(dataset)
  predictions = forced_predictions(nbest)
  _, f1 = evaluate_squad_v2.get_raw_scores(dataset, predictions)
  qids = sorted(null_odds)
  odds = np.array([null_odds[q] for q in qids])
  rng = np.random.default_rng(seed)
  return [evaluate_squad_v2.find_best_thresh(predictions, f1, dict(zip(qids, rng.permutation(odds))),
                                             has_answer)[0] for _ in range(draws)]
