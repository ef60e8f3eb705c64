"""Relation-extraction data for run_re.py: ChemProt and GAD sentences with entity markers, as BERT features.

Files are tab-separated `sentence<TAB>label` (optionally `index<TAB>sentence<TAB>label`), with or without a
header line naming the columns (`sentence`, `label`, `index`); a folder holds train.tsv, dev.tsv and
(optionally) test.tsv. The two entities of a pair are replaced by markers in the sentence.

Markers stay whole tokens: the text is split at every marker before WordPiece, and each marker becomes one
reserved entry of BERT's vocabulary (`MARKER_TOKENS`), present in both the uncased and the cased vocabularies and
unused in pretraining, so fine-tuning learns its embedding:

  [unused1]  @CHEMICAL$ (BioBERT's ChemProt) and BC6ENTC (the BC6 preprocessing): the pair's chemical
  [unused2]  @GENE$ and BC6ENTG: the pair's gene (both tasks)
  [unused3]  @DISEASE$: the pair's disease (GAD)
  [unused4]  BC6OTHER: another entity of the sentence, not in the pair (ChemProt, BC6 preprocessing)

A row with neither marker of the task's pair, a row of the wrong column count, an unknown label or an empty
sentence is a ValueError naming the file and line. A row with only one of the two (24 of ChemProt's 16,521
training rows and 6 of its dev rows, where the BC6 preprocessing left the chemical as plain "CHEM") is kept;
run_re.py logs how many there are.
"""

import collections
import csv
import os
import re

from utils import glue

MARKER_TOKENS = collections.OrderedDict([
    ("@CHEMICAL$", "[unused1]"), ("BC6ENTC", "[unused1]"), ("@GENE$", "[unused2]"), ("BC6ENTG", "[unused2]"),
    ("@DISEASE$", "[unused3]"), ("BC6OTHER", "[unused4]")])
_MARKER_RE = re.compile("(%s)" % "|".join(re.escape(m) for m in MARKER_TOKENS))

Task = collections.namedtuple("Task", "labels pair")
# --task_name (case-insensitive) -> labels (label id = position; the first is the negative class) and the pair's
# markers, each a set of interchangeable spellings.
TASKS = {
    "chemprot": Task(["False", "CPR:3", "CPR:4", "CPR:5", "CPR:6", "CPR:9"],
                     ({"@CHEMICAL$", "BC6ENTC"}, {"@GENE$", "BC6ENTG"})),
    "gad": Task(["0", "1"], ({"@GENE$"}, {"@DISEASE$"})),
}


def get_task(task_name):
  """The `Task` of a --task_name."""
  task = TASKS.get(task_name.lower())
  if task is None:
    raise ValueError("--task_name=%s: unknown relation task (expected one of: %s)" % (task_name, ", ".join(TASKS)))
  return task


def read_examples(path, task):
  """Reads a relation TSV file.

  Returns:
    (examples, one_marker_lines): a list of glue.InputExample (guid "<file stem>-<line>", text_a the sentence,
    label), and the line numbers of the rows holding only one of the pair's markers.

  Raises:
    ValueError: naming the file and line of a malformed row, an unknown label or a row without markers.
  """
  if not os.path.isfile(path):
    raise ValueError("%s not found" % path)
  stem = os.path.splitext(os.path.basename(path))[0]
  examples, one_marker = [], []
  with open(path, encoding="utf-8-sig", newline="") as f:
    reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
    for fields in reader:
      number = reader.line_num
      if not fields or (number == 1 and "sentence" in fields and "label" in fields):
        continue
      if len(fields) not in (2, 3):
        raise ValueError("%s, line %d: expected sentence<TAB>label (or index<TAB>sentence<TAB>label), found %d "
                         "fields" % (path, number, len(fields)))
      sentence, label = fields[-2].strip(), fields[-1].strip()
      if not sentence:
        raise ValueError("%s, line %d: empty sentence" % (path, number))
      if label not in task.labels:
        raise ValueError("%s, line %d: unknown label %r (expected one of: %s)" % (
            path, number, label, ", ".join(task.labels)))
      present = sum(any(m in sentence for m in spellings) for spellings in task.pair)
      if present == 0:
        raise ValueError("%s, line %d: no entity marker of the pair (expected %s)" % (
            path, number, " and ".join("/".join(sorted(s)) for s in task.pair)))
      if present == 1:
        one_marker.append(number)
      examples.append(glue.InputExample(guid="%s-%d" % (stem, number), text_a=sentence, label=label))
  if not examples:
    raise ValueError("%s holds no example" % path)
  return examples, one_marker


def tokenize_with_markers(tokenizer, text):
  """WordPieces of `text` with every marker kept as its one `MARKER_TOKENS` vocabulary entry."""
  tokens = []
  for part in _MARKER_RE.split(text):
    if part in MARKER_TOKENS:
      tokens.append(MARKER_TOKENS[part])
    elif part:
      tokens.extend(tokenizer.tokenize(part))
  return tokens


def check_marker_vocabulary(tokenizer, vocab_file):
  """A ValueError naming the vocabulary file when it lacks one of the marker entries."""
  missing = sorted(set(t for t in MARKER_TOKENS.values() if t not in tokenizer.vocab))
  if missing:
    raise ValueError("--vocab_file=%s lacks the marker entries %s" % (vocab_file, ", ".join(missing)))


def convert_examples_to_features(examples, labels, max_seq_length, tokenizer):
  """glue.InputFeatures of [CLS] sentence [SEP] (markers as single tokens), zero-padded to max_seq_length.

  Returns:
    (features, truncated): a sentence of more than max_seq_length - 2 pieces keeps its first ones; truncated
    counts those sentences.
  """
  features, truncated = [], 0
  for example in examples:
    pieces = tokenize_with_markers(tokenizer, example.text_a)
    truncated += len(pieces) > max_seq_length - 2
    tokens = ["[CLS]"] + pieces[:max_seq_length - 2] + ["[SEP]"]
    ids = tokenizer.convert_tokens_to_ids(tokens)
    pad = [0] * (max_seq_length - len(ids))
    features.append(glue.InputFeatures(ids + pad, [1] * len(ids) + pad, [0] * max_seq_length,
                                       labels.index(example.label)))
  return features, truncated
