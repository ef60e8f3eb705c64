"""Named-entity recognition data for run_ner.py: IOB files, WordPiece windows, TFRecords, predictions.

Files are BioBERT's IOB TSV layout: one token a line as `token<TAB>tag`, a blank line between sentences; a
folder holds train.tsv, devel.tsv and (optionally) test.tsv. Tags are `O`, `B-<type>` and `I-<type>` for the
entity types of the task (`TASKS`). A line without a tag, a tag not of the task or an empty token is a
ValueError naming the file and the line.

A word's label sits on its first WordPiece; its other pieces (and [CLS], [SEP], padding) carry label_mask 0, so
the loss and the metrics ignore them. A sentence whose pieces do not fit in --max_seq_length is split, between
words, into consecutive windows that each fit (`make_windows`): nothing is truncated or dropped, and every word
of every sentence is the labelled word of exactly one window position, so `reassemble` gives every input token
exactly one predicted tag, in order. (A single word of more pieces than a window holds keeps its first pieces.)
"""

import collections
import os

import tensorflow as tf

# Entity types per task (--task_name, case-insensitive). NVIDIA's launchers pass bc5cdr for both BC5CDR
# corpora, so it accepts the chemical, the disease and the combined files.
TASKS = {
    "bc5cdr": ("Chemical", "Disease"),
    "bc5cdr-chem": ("Chemical",),
    "bc5cdr-disease": ("Disease",),
    "ncbi-disease": ("Disease",),
}


def get_labels(task_name):
  """The tags of a task, the label ids being their positions: O, then B- and I- of each entity type."""
  types = TASKS.get(task_name.lower())
  if types is None:
    raise ValueError("--task_name=%s: unknown NER task (expected one of: %s)" % (task_name, ", ".join(TASKS)))
  return ["O"] + [prefix + t for t in types for prefix in ("B-", "I-")]


Word = collections.namedtuple("Word", "token tag line")
Window = collections.namedtuple("Window", "sentence first_word input_ids label_ids label_mask")


def read_iob(path, labels):
  """Reads an IOB TSV file.

  Args:
    path: the file (UTF-8).
    labels: the allowed tags (`get_labels`).

  Returns:
    A list of sentences, each a non-empty list of `Word(token, tag, line)` with 1-based line numbers.

  Raises:
    ValueError: naming the file and line of a line that is not `token<TAB>tag` or whose tag is not in labels.
  """
  if not os.path.isfile(path):
    raise ValueError("%s not found" % path)
  sentences, sentence = [], []
  with open(path, encoding="utf-8-sig") as f:
    for number, line in enumerate(f, start=1):
      line = line.rstrip("\r\n")
      if not line.strip():
        if sentence:
          sentences.append(sentence)
        sentence = []
        continue
      fields = line.split("\t")
      if len(fields) < 2 or not fields[-1].strip():
        raise ValueError("%s, line %d: token %r has no tag (expected token<TAB>tag)" % (path, number, fields[0]))
      token, tag = fields[0].strip(), fields[-1].strip()
      if not token:
        raise ValueError("%s, line %d: empty token before tag %r" % (path, number, tag))
      if tag not in labels:
        raise ValueError("%s, line %d: unknown tag %r for token %r (expected one of: %s)" % (
            path, number, tag, token, ", ".join(labels)))
      sentence.append(Word(token, tag, number))
  if sentence:
    sentences.append(sentence)
  if not sentences:
    raise ValueError("%s holds no sentence" % path)
  return sentences


def word_pieces(tokenizer, token):
  """The WordPieces of one input token; a token the tokenizer erases (e.g. control characters) becomes
  [UNK] so that it still gets a prediction."""
  return tokenizer.tokenize(token) or ["[UNK]"]


def make_windows(sentences, tokenizer, max_seq_length, labels):
  """Splits the sentences into windows of at most max_seq_length pieces ([CLS] and [SEP] included).

  Returns:
    A list of `Window`s in sentence order: input_ids (unpadded, [CLS] ... [SEP]), label_ids (the word's tag id
    at its first piece, 0 elsewhere) and label_mask (1 at first pieces), and which sentence and word it
    starts at.
  """
  if max_seq_length < 3:
    raise ValueError("--max_seq_length=%d: a window needs at least 3 positions" % max_seq_length)
  room = max_seq_length - 2
  windows = []
  for s, sentence in enumerate(sentences):
    first, pieces, tag_ids = 0, [], []
    for w, word in enumerate(sentence):
      word_ids = tokenizer.convert_tokens_to_ids(word_pieces(tokenizer, word.token))[:room]
      if len(pieces) + len(word_ids) > room:
        windows.append(_window(s, first, pieces, tag_ids, tokenizer))
        first, pieces, tag_ids = w, [], []
      tag_ids.extend([labels.index(word.tag)] + [None] * (len(word_ids) - 1))
      pieces.extend(word_ids)
    windows.append(_window(s, first, pieces, tag_ids, tokenizer))
  return windows


def _window(sentence, first_word, piece_ids, tag_ids, tokenizer):
  cls, sep = tokenizer.convert_tokens_to_ids(["[CLS]", "[SEP]"])
  return Window(sentence, first_word, [cls] + piece_ids + [sep],
                [0] + [t or 0 for t in tag_ids] + [0], [0] + [int(t is not None) for t in tag_ids] + [0])


def name_to_features(seq_length):
  """The tf.io.parse_single_example spec of the records of `write_tfrecord`."""
  return {name: tf.io.FixedLenFeature([seq_length], tf.int64)
          for name in ("input_ids", "input_mask", "segment_ids", "label_ids", "label_mask")}


def write_tfrecord(windows, max_seq_length, path):
  """Writes the windows, zero-padded to max_seq_length, as tf.train.Examples to `path` (atomically)."""
  tmp = path + ".tmp"
  try:
    with tf.io.TFRecordWriter(tmp) as writer:
      for window in windows:
        pad = [0] * (max_seq_length - len(window.input_ids))
        values = {"input_ids": window.input_ids, "input_mask": [1] * len(window.input_ids),
                  "segment_ids": [0] * len(window.input_ids), "label_ids": window.label_ids,
                  "label_mask": window.label_mask}
        example = tf.train.Example(features=tf.train.Features(feature={
            k: tf.train.Feature(int64_list=tf.train.Int64List(value=list(v) + pad)) for k, v in values.items()}))
        writer.write(example.SerializeToString())
    os.replace(tmp, path)
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)


def reassemble(sentences, windows, window_predictions, labels):
  """One predicted tag per input token.

  Args:
    sentences: the sentences the windows were made from.
    windows: `make_windows`'s windows, in order.
    window_predictions: per window, the predicted label id at each position (at least up to its last piece).
    labels: the tags (label id = position).

  Returns:
    A list parallel to `sentences` of lists of tags, one per word.

  Raises:
    ValueError: if a word got no prediction or more than one (windows and predictions do not match).
  """
  tags = [[] for _ in sentences]
  for window, predicted in zip(windows, window_predictions, strict=True):
    if len(tags[window.sentence]) != window.first_word:
      raise ValueError("window of sentence %d starts at word %d, after %d predicted words" % (
          window.sentence, window.first_word, len(tags[window.sentence])))
    tags[window.sentence].extend(labels[int(predicted[i])] for i, m in enumerate(window.label_mask) if m)
  for s, (sentence, sentence_tags) in enumerate(zip(sentences, tags)):
    if len(sentence) != len(sentence_tags):
      raise ValueError("sentence %d: %d words but %d predictions" % (s, len(sentence), len(sentence_tags)))
  return tags


def write_predictions(path, sentences, tags):
  """Writes `token<TAB>predicted tag` lines, a blank line after each sentence (the input's layout)."""
  _write_lines(path, ["".join("%s\t%s\n" % (w.token, t) for w, t in zip(s, ts)) for s, ts in zip(sentences, tags)])


def write_conll(path, sentences, tags):
  """Writes conlleval's input: `token gold predicted` lines, a blank line after each sentence."""
  _write_lines(path, ["".join("%s %s %s\n" % (w.token.replace(" ", "_"), w.tag, t) for w, t in zip(s, ts))
                      for s, ts in zip(sentences, tags)])


def _write_lines(path, blocks):
  with tf.io.gfile.GFile(path + ".tmp", "w") as f:
    f.write("".join(block + "\n" for block in blocks))
  tf.io.gfile.rename(path + ".tmp", path, overwrite=True)
