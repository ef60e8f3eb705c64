"""Learns a WordPiece vocabulary from your own pretraining text, in the layout of BERT's vocab.txt.

Google's BERT ships its vocabularies but no tool to make one. A model pretrained from scratch on a corpus that
is small or far from Wikipedia learns nothing about the pieces of a general vocabulary its text never holds
(`utils/vocab_coverage.py` measures how many); a vocabulary learnt from the corpus itself has no such pieces.

The pieces are learnt by merging: every word (BasicTokenizer's split: lower-cased and accent-stripped with
--do_lower_case, punctuation apart) starts as its characters, the first plain and the rest "##"-prefixed as
continuations; then the adjacent pair that occurs most often in the corpus is merged into one piece, again and
again, until the vocabulary has --vocab_size entries. Words are weighted by their count; of pairs seen equally
often, the one that sorts first is merged. Characters that occur fewer than --min_char_count times are left out
(their words become [UNK]).
The file starts as BERT's does: [PAD], [unused0] ... [unused98], [UNK], [CLS], [SEP], [MASK] (ids 0-103), so
that code and markers that name these entries work unchanged; then the characters, then the merged pieces in
the order they were learnt. WordpieceTokenizer's greedy longest match then splits text with it.

  python data/learn_vocab.py --input_files='text/train/*.txt' --vocab_size=8000 --output_file=vocab.txt
"""
import collections
import glob
import heapq
import os
import sys

from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tokenization  # pylint: disable=wrong-import-position
from utils import cli  # pylint: disable=wrong-import-position

RESERVED = ["[PAD]"] + ["[unused%d]" % i for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def count_words(lines, do_lower_case):
  """A Counter of BasicTokenizer's words over the lines."""
  basic = tokenization.BasicTokenizer(do_lower_case=do_lower_case)
  counts = collections.Counter()
  for line in lines:
    counts.update(basic.tokenize(line))
  return counts


def character_forms(word):
  """A word's characters as pieces: the first plain, the others "##"-prefixed continuations."""
  return [word[0]] + ["##" + c for c in word[1:]]


def _merged(left, right):
  return left + right[2:]


def learn_pieces(word_counts, num_pieces, min_char_count=1):
  """Learns WordPiece pieces by merging the most frequent adjacent pair.

  Args:
    word_counts: {word: count}.
    num_pieces: how many pieces to return (characters included); fewer if the words run out of pairs.
    min_char_count: characters (as word starts or continuations) seen fewer times are left out.

  Returns:
    list of pieces: the characters (most frequent first), then the merged pieces in the order learnt.
  """
  words = [(character_forms(w), c) for w, c in sorted(word_counts.items()) if w]
  chars = collections.Counter()
  for symbols, count in words:
    for s in symbols:
      chars[s] += count
  pieces = [s for s, c in sorted(chars.items(), key=lambda kv: (-kv[1], kv[0])) if c >= min_char_count]
  pair_counts, where = collections.Counter(), collections.defaultdict(set)
  for index, (symbols, count) in enumerate(words):
    for pair in zip(symbols, symbols[1:]):
      pair_counts[pair] += count
      where[pair].add(index)
  heap = [(-c, pair) for pair, c in pair_counts.items()]
  heapq.heapify(heap)
  known = set(pieces)
  while len(pieces) < num_pieces and heap:
    negative, pair = heapq.heappop(heap)
    if pair_counts.get(pair, 0) != -negative or -negative <= 0:
      continue  # a stale entry: the pair's count changed since it was pushed
    piece = _merged(*pair)
    if piece not in known:
      known.add(piece)
      pieces.append(piece)
    _merge_everywhere(pair, piece, words, pair_counts, where, heap)
  return pieces[:num_pieces]


def _merge_everywhere(pair, piece, words, pair_counts, where, heap):
  """Replaces `pair` by `piece` in every word holding it, updating the pair counts and the heap."""
  changed = set()
  for index in sorted(where.pop(pair, ())):
    symbols, count = words[index]
    for old in zip(symbols, symbols[1:]):
      pair_counts[old] -= count
      changed.add(old)
    merged, i = [], 0
    while i < len(symbols):
      if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == pair:
        merged.append(piece)
        i += 2
      else:
        merged.append(symbols[i])
        i += 1
    words[index] = (merged, count)
    for new in zip(merged, merged[1:]):
      pair_counts[new] += count
      where[new].add(index)
      changed.add(new)
  pair_counts.pop(pair, None)
  for p in changed - {pair}:
    if pair_counts[p] > 0:
      heapq.heappush(heap, (-pair_counts[p], p))


def write_vocab(path, pieces):
  """Writes RESERVED then the pieces (never one of them: BasicTokenizer splits off "[" and "]"), one per line,
  atomically."""
  with open(path + ".tmp", "w", encoding="utf-8") as f:
    f.write("".join(p + "\n" for p in RESERVED + pieces))
  os.replace(path + ".tmp", path)


flags.DEFINE_string("input_files", None, "Glob (or comma-separated globs) of the pretraining text files.")
flags.DEFINE_string("output_file", None, "Where to write vocab.txt.")
flags.DEFINE_integer("vocab_size", 8000, "Entries in the vocabulary, the 104 reserved ones included; "
                     "the vocab_size of the bert_config.json that uses it.")
flags.DEFINE_bool("do_lower_case", True, "Lower-case and strip accents (an uncased vocabulary).")
flags.DEFINE_integer("min_char_count", 2, "Leave out characters seen fewer times than this.")
FLAGS = flags.FLAGS


def main(_):
  """Reads --input_files, writes --output_file."""
  files = sorted(p for pattern in (FLAGS.input_files or "").split(",") if pattern for p in glob.glob(pattern))
  if not files:
    raise ValueError("--input_files=%s matches no file" % FLAGS.input_files)
  if not FLAGS.output_file:
    raise ValueError("--output_file is required")
  if FLAGS.vocab_size <= len(RESERVED):
    raise ValueError("--vocab_size=%d leaves no room after the %d reserved entries" % (FLAGS.vocab_size,
                                                                                       len(RESERVED)))
  counts = collections.Counter()
  for path in files:
    try:
      with open(path, encoding="utf-8") as text:
        counts.update(count_words(text, FLAGS.do_lower_case))
    except (OSError, UnicodeDecodeError) as e:
      raise ValueError("%s: %s" % (path, getattr(e, "strerror", None) or e)) from None
  pieces = learn_pieces(counts, FLAGS.vocab_size - len(RESERVED), FLAGS.min_char_count)
  write_vocab(FLAGS.output_file, pieces)
  print("%s: %d entries (%d reserved, %d pieces) from %d words (%d distinct) in %d file(s)"
        % (FLAGS.output_file, len(RESERVED) + len(pieces), len(RESERVED), len(pieces), sum(counts.values()),
           len(counts), len(files)))


if __name__ == "__main__":
  cli.run_main(main)
