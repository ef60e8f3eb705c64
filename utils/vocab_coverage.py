"""How much of a fine-tuning task's text did pretraining see? WordPiece coverage and word-embedding collapse.

A model pretrained from scratch on a small corpus with a large vocabulary (bert-base-uncased's 30522 WordPieces)
learns nothing about the pieces its text never contains; with the output embeddings tied to the input ones, the
softmax likely pushes all of those rows the same way, and they end up nearly parallel (measured in the README), so
a fine-tuned model starts unable to tell those words apart. This prints, for a task's text, the share of its
WordPiece occurrences whose piece the pretraining text holds fewer than K times (K = 1, 5, 20), its most frequent
such pieces, and, given a checkpoint, the mean pairwise cosine similarity of word-embedding rows by how often
pretraining saw them.

  python -m utils.vocab_coverage --vocab_file=VOCAB --pretraining_text='DIR/*.txt' --task_tsv=SST-2/train.tsv \\
      [--column=0] [--header=1] [--init_checkpoint=CKPT]     # CoLA: --column=3 --header=0
"""
import argparse
import collections
import glob
import sys

import numpy as np
import tensorflow as tf

import tokenization

BUCKETS = (("0", 0, 1), ("1-4", 1, 5), ("5-19", 5, 20), ("20-99", 20, 100), ("100+", 100, None))  # label, from, below


def count_pieces(tokenizer, lines):
  """A Counter of WordPiece ids over the given lines of text."""
  counts = collections.Counter()
  for line in lines:
    counts.update(tokenizer.tokenize_to_ids(line))
  return counts


def coverage(pretraining, task, below):
  """Share of the task's WordPiece occurrences whose piece pretraining saw fewer than `below` times."""
  total = sum(task.values())
  return sum(c for i, c in task.items() if pretraining[i] < below) / total if total else 0.0


def mean_pairwise_cosine(rows, max_rows=400, seed=0):
  """Mean cosine similarity over distinct pairs of (at most max_rows, sampled) rows of a [N, D] matrix."""
  if len(rows) > max_rows:
    rows = rows[np.random.RandomState(seed).choice(len(rows), max_rows, replace=False)]
  unit = rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
  cosine = unit @ unit.T
  return float(cosine[np.triu_indices(len(rows), 1)].mean())


def embedding_report(checkpoint, pretraining, first_id=999):
  """Lines: mean pairwise cosine and row norm of word embeddings per pretraining-count bucket.

  Ids below first_id ([PAD], [unused*], [CLS], ... in BERT's vocabularies) are left out."""
  table = tf.train.load_checkpoint(checkpoint).get_tensor("bert/embeddings/word_embeddings")  # [V, H]
  lines = []
  for label, low, high in BUCKETS:
    ids = [i for i in range(first_id, table.shape[0])
           if pretraining[i] >= low and (high is None or pretraining[i] < high)]
    if len(ids) < 2:
      continue
    rows = table[ids].astype(np.float64)  # [n, H]
    lines.append("pieces seen %s times in pretraining: %d rows, mean pairwise cosine %.3f, mean norm %.3f"
                 % (label, len(ids), mean_pairwise_cosine(rows), float(np.linalg.norm(rows, axis=1).mean())))
  return lines


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--vocab_file", required=True)
  parser.add_argument("--do_lower_case", type=int, default=1)
  parser.add_argument("--pretraining_text", required=True, help="glob of the pretraining text files")
  parser.add_argument("--task_tsv", required=True, help="a tab-separated file")
  parser.add_argument("--header", type=int, default=1, help="1: its first line is a header (SST-2), 0: not (CoLA)")
  parser.add_argument("--column", type=int, default=0, help="the task's text column")
  parser.add_argument("--init_checkpoint", help="also report the word-embedding rows of this checkpoint")
  args = parser.parse_args(argv)
  files = sorted(glob.glob(args.pretraining_text))
  if not files:
    print("error: --pretraining_text=%s matches no file" % args.pretraining_text, file=sys.stderr)
    return 2
  try:
    tokenizer = tokenization.FullTokenizer(args.vocab_file, do_lower_case=bool(args.do_lower_case))
    pretraining = collections.Counter()
    for path in files:
      with open(path, encoding="utf-8") as f:
        pretraining.update(count_pieces(tokenizer, f))
    with open(args.task_tsv, encoding="utf-8") as f:
      rows = [line.rstrip("\n").split("\t") for line in f][args.header:]
    bad = [n for n, row in enumerate(rows, start=1 + args.header) if len(row) <= args.column]
    if bad:
      raise ValueError("%s: line %d: no column %d" % (args.task_tsv, bad[0], args.column))
  except (OSError, ValueError) as e:
    print("error: %s" % e, file=sys.stderr)
    return 2
  task = count_pieces(tokenizer, (row[args.column] for row in rows))
  print("%d pretraining files, %d WordPiece occurrences; task: %d rows, %d occurrences"
        % (len(files), sum(pretraining.values()), len(rows), sum(task.values())))
  for below in (1, 5, 20):
    print("task occurrences of pieces pretraining saw fewer than %d times: %.1f%%"
          % (below, 100 * coverage(pretraining, task, below)))
  unseen = [(i, c) for i, c in task.most_common() if pretraining[i] < 5][:15]
  print("most frequent of them: " + ", ".join("%s (%d in task, %d in pretraining)"
                                                % (tokenizer.inv_vocab[i], c, pretraining[i]) for i, c in unseen))
  if args.init_checkpoint:
    try:
      report = embedding_report(args.init_checkpoint, pretraining)
    except tf.errors.NotFoundError as e:
      print("error: --init_checkpoint=%s: %s" % (args.init_checkpoint, e.message.splitlines()[0]), file=sys.stderr)
      return 2
    for line in report:
      print(line)
  return 0


if __name__ == "__main__":
  sys.exit(main())
