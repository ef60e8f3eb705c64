"""Entity-level precision, recall and F1 of IOB tags, with the definitions and report of CoNLL's conlleval.

An entity (conlleval's "phrase" or "chunk") is a maximal run of tags of one type that starts at a `B-X`, or at
an `I-X` that does not continue an entity of type X (after `O`, after another type, or at the start of the
sentence: conlleval's IOB1 reading), and continues over the following `I-X`. A predicted entity is correct only
when an entity of the same type has exactly the same first and last token in the gold tags.

  precision = correct / found (predicted entities), recall = correct / gold entities,
  FB1 = 2 precision recall / (precision + recall), each 0 when its denominator is 0;
  accuracy = tokens whose predicted tag equals the gold tag / tokens.

As a program it reads conlleval's input (one token a line, its last two fields the gold and the predicted tag,
a blank line between sentences) and prints conlleval's report:

  python utils/conlleval.py < test_labels.txt
"""

import collections
import sys

OUTSIDE = "O"


def split_tag(tag):
  """(prefix, type) of an IOB tag: ("B", "Disease") for "B-Disease", ("O", "") for "O"; a bare "B" or "I"
  has the empty type."""
  if tag == OUTSIDE:
    return OUTSIDE, ""
  prefix, _, entity_type = tag.partition("-")
  return prefix, entity_type


def entities(tags):
  """The entities of one sentence's tags as a set of (type, first token, last token), in conlleval's reading."""
  found = set()
  start, current = None, None
  for i, tag in enumerate(list(tags) + [OUTSIDE]):
    prefix, entity_type = split_tag(tag)
    continues = prefix == "I" and current == entity_type
    if start is not None and not continues:
      found.add((current, start, i - 1))
      start, current = None, None
    if prefix != OUTSIDE and not continues:
      start, current = i, entity_type
  return found


class Counts(object):
  """conlleval's counters over a set of sentences: tokens, correctly tagged tokens, and per entity type the
  gold, predicted (found) and correct entities."""

  def __init__(self):
    self.tokens = 0
    self.correct_tags = 0
    self.gold = collections.Counter()
    self.found = collections.Counter()
    self.correct = collections.Counter()

  def add(self, gold_tags, predicted_tags):
    """Counts one sentence; the two tag lists must have one tag per token."""
    if len(gold_tags) != len(predicted_tags):
      raise ValueError("%d gold tags but %d predicted tags" % (len(gold_tags), len(predicted_tags)))
    self.tokens += len(gold_tags)
    self.correct_tags += sum(g == p for g, p in zip(gold_tags, predicted_tags))
    gold, predicted = entities(gold_tags), entities(predicted_tags)
    self.gold.update(t for t, _, _ in gold)
    self.found.update(t for t, _, _ in predicted)
    self.correct.update(t for t, _, _ in gold & predicted)


def evaluate(gold_sentences, predicted_sentences):
  """`Counts` of parallel lists of tag sequences (one per sentence)."""
  counts = Counts()
  for gold, predicted in zip(gold_sentences, predicted_sentences, strict=True):
    counts.add(gold, predicted)
  return counts


def precision_recall_f1(correct, found, gold):
  """(precision, recall, F1) as fractions, each 0.0 when its denominator is 0."""
  precision = correct / found if found else 0.0
  recall = correct / gold if gold else 0.0
  f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
  return precision, recall, f1


def metrics(counts):
  """Overall entity-level scores of `Counts` as fractions: {precision, recall, f1, accuracy}."""
  precision, recall, f1 = precision_recall_f1(sum(counts.correct.values()), sum(counts.found.values()),
                                              sum(counts.gold.values()))
  accuracy = counts.correct_tags / counts.tokens if counts.tokens else 0.0
  return {"precision": precision, "recall": recall, "f1": f1, "accuracy": accuracy}


def report(counts):
  """conlleval's report of `Counts` (percentages with two decimals, one line per entity type)."""
  overall = metrics(counts)
  lines = ["processed %d tokens with %d phrases; found: %d phrases; correct: %d." % (
      counts.tokens, sum(counts.gold.values()), sum(counts.found.values()), sum(counts.correct.values()))]
  lines.append("accuracy: %6.2f%%; precision: %6.2f%%; recall: %6.2f%%; FB1: %6.2f" % tuple(
      100 * overall[k] for k in ("accuracy", "precision", "recall", "f1")))
  for entity_type in sorted(set(counts.gold) | set(counts.found)):
    scores = precision_recall_f1(counts.correct[entity_type], counts.found[entity_type], counts.gold[entity_type])
    lines.append("%17s: precision: %6.2f%%; recall: %6.2f%%; FB1: %6.2f  %d" % (
        (entity_type,) + tuple(100 * s for s in scores) + (counts.found[entity_type],)))
  return "\n".join(lines) + "\n"


def read_conll(lines):
  """(gold sentences, predicted sentences) from conlleval's input lines (the last two fields of a line are the
  gold and the predicted tag; blank lines separate sentences)."""
  gold, predicted, sentence = [], [], []
  for number, line in enumerate(list(lines) + [""], start=1):
    fields = line.split()
    if fields:
      if len(fields) < 3:
        raise ValueError("line %d: expected a token, a gold tag and a predicted tag, found %r" % (number, line))
      sentence.append(fields[-2:])
    elif sentence:
      gold.append([g for g, _ in sentence])
      predicted.append([p for _, p in sentence])
      sentence = []
  return gold, predicted


def main():
  try:
    gold, predicted = read_conll(sys.stdin)
  except ValueError as e:
    print("conlleval.py: error: stdin, %s" % e, file=sys.stderr)
    return 2
  sys.stdout.write(report(evaluate(gold, predicted)))
  return 0


if __name__ == "__main__":
  sys.exit(main())
