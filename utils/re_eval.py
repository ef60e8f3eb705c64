"""Relation-extraction scores as BioBERT's and NVIDIA's re_eval.py define them.

ChemProt: micro-averaged precision, recall and F1 over the five evaluated classes CPR:3, CPR:4, CPR:5, CPR:6
and CPR:9, the negative class `False` excluded:
  true positive  = a pair predicted as its gold CPR class;
  false positive = a pair predicted as a CPR class other than its gold label (gold False or another CPR);
  false negative = a pair of a gold CPR class predicted as anything else.
GAD (and any two-class task): precision, recall and F1 of the positive class "1".

As a program it scores a prediction file (`test_results.tsv` of run_re.py: one row of class probabilities per
example, in the order of the task's labels) against the answer file (the task's TSV, labels in its last column):

  python utils/re_eval.py --task=chemprot --output_path=OUT/test_results.tsv --answer_path=DATA/test.tsv
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from utils import conlleval  # noqa: E402
from utils import relations  # noqa: E402

CHEMPROT_CLASSES = ("CPR:3", "CPR:4", "CPR:5", "CPR:6", "CPR:9")


def micro_scores(gold, predicted, positive):
  """Micro precision, recall and F1 over the classes in `positive` (other labels are negative).

  Args:
    gold, predicted: parallel sequences of label strings.
    positive: the evaluated classes.

  Returns:
    dict precision, recall, f1 (fractions; 0.0 for an empty denominator), tp, fp, fn.
  """
  if len(gold) != len(predicted):
    raise ValueError("%d gold labels but %d predictions" % (len(gold), len(predicted)))
  tp = sum(g == p and p in positive for g, p in zip(gold, predicted))
  fp = sum(p in positive and p != g for g, p in zip(gold, predicted))
  fn = sum(g in positive and p != g for g, p in zip(gold, predicted))
  precision, recall, f1 = conlleval.precision_recall_f1(tp, tp + fp, tp + fn)
  return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn}


def scores(task_name, gold, predicted):
  """The task's scores (ChemProt: micro over CHEMPROT_CLASSES; GAD: class "1") plus accuracy."""
  positive = CHEMPROT_CLASSES if task_name.lower() == "chemprot" else ("1",)
  result = micro_scores(gold, predicted, positive)
  result["accuracy"] = sum(g == p for g, p in zip(gold, predicted)) / len(gold) if len(gold) else 0.0
  return result


def read_predictions(path, labels):
  """The predicted labels of a test_results.tsv (rows of per-class probabilities, labels' order)."""
  predicted = []
  with open(path, encoding="utf-8") as f:
    for number, line in enumerate(f, start=1):
      try:
        row = [float(x) for x in line.split("\t")]
      except ValueError:
        raise ValueError("%s, line %d: not a row of probabilities" % (path, number)) from None
      if len(row) != len(labels):
        raise ValueError("%s, line %d: %d columns, expected %d (%s)" % (
            path, number, len(row), len(labels), ", ".join(labels)))
      predicted.append(labels[max(range(len(row)), key=row.__getitem__)])
  return predicted


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--task", required=True, choices=sorted(relations.TASKS))
  parser.add_argument("--output_path", required=True, help="run_re.py's test_results.tsv")
  parser.add_argument("--answer_path", required=True, help="the task's TSV file with the gold labels")
  args = parser.parse_args(argv)
  task = relations.get_task(args.task)
  try:
    gold = [e.label for e in relations.read_examples(args.answer_path, task)[0]]
    result = scores(args.task, gold, read_predictions(args.output_path, task.labels))
  except (ValueError, OSError) as e:
    print("re_eval.py: error: %s" % e, file=sys.stderr)
    return 2
  print("%s: %d examples; precision %.2f%%, recall %.2f%%, F1 %.2f%% (tp %d, fp %d, fn %d); accuracy %.2f%%" % (
      args.task, len(gold), 100 * result["precision"], 100 * result["recall"], 100 * result["f1"],
      result["tp"], result["fp"], result["fn"], 100 * result["accuracy"]))
  return 0


if __name__ == "__main__":
  sys.exit(main())
