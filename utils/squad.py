"""SQuAD v1.1 / v2.0 data handling for BERT: reading, windowed features, TFRecords, predictions.

Follows the semantics of Google's and NVIDIA's run_squad.py: whitespace-split documents, WordPiece
sub-tokens, sliding windows of `doc_stride`, "max context" windows for prediction, answer spans
tightened to the tokenised answer, unanswerable / out-of-window spans labelled [CLS] (0, 0), and
n-best span decoding projected back onto the original text.
"""
import collections
import dataclasses
import json
import math
import random
from typing import Optional

import numpy as np
import tensorflow as tf
from absl import logging

import tokenization

# Answers whose text is not exactly at answer_start are looked for this many characters around it.
_MAX_ANSWER_SHIFT = 100
_FIRST_UNIQUE_ID = 1000000000


class SquadExample(object):
  """One question with its paragraph; start/end_position are indexes into doc_tokens (training)."""

  def __init__(self, qas_id, question_text, doc_tokens, orig_answer_text=None,
               start_position=None, end_position=None, is_impossible=False):
    self.qas_id = qas_id
    self.question_text = question_text
    self.doc_tokens = doc_tokens
    self.orig_answer_text = orig_answer_text
    self.start_position = start_position
    self.end_position = end_position
    self.is_impossible = is_impossible

  def __repr__(self):
    s = "qas_id: %s, question_text: %s, doc_tokens: [%s]" % (
        tokenization.printable_text(self.qas_id), tokenization.printable_text(self.question_text),
        " ".join(self.doc_tokens))
    if self.start_position is not None:
      s += ", start_position: %d, end_position: %d, is_impossible: %r" % (
          self.start_position, self.end_position, self.is_impossible)
    return s


class InputFeatures(object):
  """One window of one example, as fed to the model."""

  def __init__(self, unique_id, example_index, doc_span_index, tokens, token_to_orig_map,
               token_is_max_context, input_ids, input_mask, segment_ids, start_position=None,
               end_position=None, is_impossible=None):
    self.unique_id = unique_id
    self.example_index = example_index
    self.doc_span_index = doc_span_index
    self.tokens = tokens
    self.token_to_orig_map = token_to_orig_map
    self.token_is_max_context = token_is_max_context
    self.input_ids = input_ids
    self.input_mask = input_mask
    self.segment_ids = segment_ids
    self.start_position = start_position
    self.end_position = end_position
    self.is_impossible = is_impossible


RawResult = collections.namedtuple("RawResult", ["unique_id", "start_logits", "end_logits"])


@dataclasses.dataclass(frozen=True)
class PredictOptions:
  """How questions are windowed, batched and decoded into answers.

  Attributes:
    max_seq_length, doc_stride, max_query_length: the windows (see `convert_examples_to_features`).
    predict_batch_size: windows per model run.
    n_best_size, max_answer_length, do_lower_case, version_2_with_negative, verbose_logging: the decoding
      (see `decode_predictions`).
    null_score_diff_threshold: SQuAD 2.0 no-answer threshold; None tunes it on a labelled predict file.
  """
  max_seq_length: int
  doc_stride: int
  max_query_length: int
  predict_batch_size: int
  n_best_size: int
  max_answer_length: int
  do_lower_case: bool
  version_2_with_negative: bool
  null_score_diff_threshold: Optional[float]
  verbose_logging: bool = False


# ----------------------------------------------------------------------------------------------
# Reading
# ----------------------------------------------------------------------------------------------

def _is_whitespace(c):
  return c in (" ", "\t", "\r", "\n") or ord(c) == 0x202F


def _split_paragraph(paragraph_text):
  """Whitespace-splits a paragraph; returns (doc_tokens, char_to_word_offset)."""
  doc_tokens, char_to_word_offset = [], []
  prev_is_whitespace = True
  for c in paragraph_text:
    if _is_whitespace(c):
      prev_is_whitespace = True
    else:
      if prev_is_whitespace:
        doc_tokens.append(c)
      else:
        doc_tokens[-1] += c
      prev_is_whitespace = False
    char_to_word_offset.append(len(doc_tokens) - 1)
  return doc_tokens, char_to_word_offset


def _is_word_aligned(context, start, end):
  """True when context[start:end] neither starts nor ends inside an alphanumeric word."""
  return not ((start > 0 and context[start - 1].isalnum()) or
              (end < len(context) and context[end].isalnum()))


def _occurrences(context, text):
  start = context.find(text)
  while start != -1:
    yield start
    start = context.find(text, start + 1)


def _locate_answer(context, text, answer_start, where):
  """Character offset of an answer, checked against (and if needed repaired near) answer_start.

  The text must be at answer_start or within _MAX_ANSWER_SHIFT characters of it (then the nearest
  occurrence is used). Files whose answer_start is "the first occurrence of the text" (such as
  rebuilt SQuAD files) can point inside a longer word ("art" in "start"); when the offset is the
  first occurrence, starts or ends inside a word and a whole-word occurrence exists, the nearest
  whole-word occurrence is used instead.

  Returns:
    (offset, repaired) where repaired tells whether the offset differs from answer_start.

  Raises:
    ValueError naming `where` when the text is not found near answer_start.
  """
  occurrences = list(_occurrences(context, text))
  if answer_start in occurrences:
    if (answer_start == occurrences[0] and
        not _is_word_aligned(context, answer_start, answer_start + len(text))):
      aligned = [o for o in occurrences if _is_word_aligned(context, o, o + len(text))]
      if aligned:
        return min(aligned, key=lambda o: abs(o - answer_start)), True
    return answer_start, False
  near = [o for o in occurrences if abs(o - answer_start) <= _MAX_ANSWER_SHIFT]
  if not near:
    raise ValueError("%s: answer text %r is not found at or near answer_start %d of the context." %
                     (where, text, answer_start))
  return min(near, key=lambda o: abs(o - answer_start)), True


def _field(obj, name, kind, where):
  if not isinstance(obj, dict) or name not in obj:
    raise ValueError("%s: missing field %r." % (where, name))
  if not isinstance(obj[name], kind):
    raise ValueError("%s: field %r should be a %s." % (where, name, kind.__name__))
  return obj[name]


_Paragraph = collections.namedtuple("Paragraph", ["text", "doc_tokens", "char_to_word_offset"])


def _load_articles(input_file):
  """The "data" list of a SQuAD json file.

  Raises:
    ValueError naming the file when it is not json or has no "data" list.
  """
  try:
    with tf.io.gfile.GFile(input_file, "r") as reader:
      data = json.load(reader)
  except ValueError as e:
    raise ValueError("%s: not a valid SQuAD json file (%s)." % (input_file, e)) from e
  return _field(data, "data", list, input_file)


def _is_impossible(qa, answers, version_2_with_negative, where):
  """SQuAD 2.0: the question's "is_impossible" (without one: whether it has no answers); else False."""
  if not version_2_with_negative:
    return False
  is_impossible = qa.get("is_impossible", not answers)
  if not isinstance(is_impossible, bool):
    raise ValueError("%s: field 'is_impossible' should be true or false." % where)
  if is_impossible and answers:
    raise ValueError("%s: is_impossible is true but 'answers' is not empty." % where)
  return is_impossible


def _label_answer(example, answers, offset, char_to_word_offset, where, counts):
  """Sets a training example's answer text and word positions from its first answer.

  Args:
    example: the SquadExample, labelled in place ("" and (-1, -1) when it is impossible).
    answers: the question's "answers" list.
    offset: (character offset, repaired) of the first answer, from _locate_answer; None without answers.
    char_to_word_offset: the paragraph's character -> word index map.
    where: file and question id, for messages.
    counts: collections.Counter of "multi_answer", "repaired" and "dropped" questions, updated.

  Returns:
    False when the answer cannot be aligned with the whitespace words (the question is dropped).
  """
  if example.is_impossible:
    example.orig_answer_text, example.start_position, example.end_position = "", -1, -1
    return True
  if not answers:
    raise ValueError("%s: a training question needs an answer (for SQuAD 2.0 data set "
                     "version_2_with_negative)." % where)
  counts["multi_answer"] += len(answers) > 1
  start, repaired = offset
  counts["repaired"] += repaired
  text = answers[0]["text"]
  example.orig_answer_text = text
  example.start_position = char_to_word_offset[start]
  example.end_position = char_to_word_offset[start + len(text) - 1]
  actual_text = " ".join(example.doc_tokens[example.start_position:example.end_position + 1])
  cleaned_answer_text = " ".join(tokenization.whitespace_tokenize(text))
  if actual_text.find(cleaned_answer_text) == -1:
    logging.warning("%s: could not align answer %r with %r; dropped.", where, cleaned_answer_text,
                    actual_text)
    counts["dropped"] += 1
    return False
  return True


def _read_question(qa, paragraph, input_file, is_training, version_2_with_negative, seen_ids, counts):
  """Checks one question of a paragraph and turns it into a SquadExample.

  Args:
    qa: the question's json object.
    paragraph: its _Paragraph.
    input_file: the file, for messages.
    is_training, version_2_with_negative: see read_squad_examples.
    seen_ids: the question ids read so far, updated.
    counts: see _label_answer.

  Returns:
    the SquadExample, or None when a training question is dropped.
  """
  qas_id = qa.get("id") if isinstance(qa, dict) else None
  where = "%s, question id %s" % (input_file, qas_id)
  qas_id = _field(qa, "id", str, where)
  if qas_id in seen_ids:
    raise ValueError("%s: duplicate question id." % where)
  seen_ids.add(qas_id)
  question_text = _field(qa, "question", str, where)
  if not question_text.strip():
    raise ValueError("%s: empty question text." % where)
  answers = _field(qa, "answers", list, where)
  if not paragraph.doc_tokens:
    raise ValueError("%s: empty context." % where)
  offsets = []
  for answer in answers:
    text = _field(answer, "text", str, where)
    start = _field(answer, "answer_start", int, where)
    offsets.append(_locate_answer(paragraph.text, text, start, where))
  example = SquadExample(qas_id, question_text, paragraph.doc_tokens,
                         is_impossible=_is_impossible(qa, answers, version_2_with_negative, where))
  if is_training and not _label_answer(example, answers, offsets[0] if offsets else None,
                                       paragraph.char_to_word_offset, where, counts):
    return None
  return example


def read_squad_examples(input_file, is_training, version_2_with_negative):
  """Reads a SQuAD json file into a list of SquadExample.

  Every answer is checked against its context. For training the first answer is the label (the
  official train sets have exactly one; files with several use the first), and a question whose
  answer cannot be aligned with the whitespace tokens is dropped with a warning and a final count.

  Args:
    input_file: path of a SQuAD v1.1 or v2.0 json file.
    is_training: whether to compute the answer positions.
    version_2_with_negative: read "is_impossible" (SQuAD 2.0); when absent, a question with no
      answers is taken as impossible.

  Returns:
    list of SquadExample.

  Raises:
    ValueError naming the file and the question id for a malformed file.
  """
  examples, seen_ids, counts = [], set(), collections.Counter()
  for article_index, article in enumerate(_load_articles(input_file)):
    where = "%s, article %d" % (input_file, article_index)
    for paragraph in _field(article, "paragraphs", list, where):
      text = _field(paragraph, "context", str, where)
      qas = _field(paragraph, "qas", list, where)
      paragraph = _Paragraph(text, *_split_paragraph(text))
      for qa in qas:
        example = _read_question(qa, paragraph, input_file, is_training, version_2_with_negative,
                                 seen_ids, counts)
        if example is not None:
          examples.append(example)
  if is_training:
    logging.info("%s: %d training examples; %d dropped (answer not alignable); %d answer offsets "
                 "repaired (text found near answer_start, or moved off a word fragment); %d "
                 "questions with several answers used their first one.", input_file, len(examples),
                 counts["dropped"], counts["repaired"], counts["multi_answer"])
  return examples


def question_examples(context, questions):
  """SquadExamples to predict for questions about one passage (ids "q0", "q1", ...).

  Args:
    context: the passage (with at least one non-whitespace character).
    questions: list of question strings.

  Returns:
    list of SquadExample, one per question.
  """
  doc_tokens, _ = _split_paragraph(context)
  return [SquadExample("q%d" % i, question, doc_tokens) for i, question in enumerate(questions)]


# ----------------------------------------------------------------------------------------------
# Features
# ----------------------------------------------------------------------------------------------

_DocSpan = collections.namedtuple("DocSpan", ["start", "length"])
# A document in WordPiece sub-tokens: the word index of each sub-token, the first sub-token of each word.
_Document = collections.namedtuple("Document", ["tokens", "tok_to_orig_index", "orig_to_tok_index"])


def _improve_answer_span(doc_tokens, input_start, input_end, tokenizer, orig_answer_text):
  """Shrinks a word-level answer span to the sub-tokens that spell the tokenised answer.

  For the answer "1895" in "(1895-1943)." the word span covers the whole "(1895-1943)." token;
  the smallest sub-span equal to the tokenised answer, here just "1895", is returned.
  """
  tok_answer_text = " ".join(tokenizer.tokenize(orig_answer_text))
  for new_start in range(input_start, input_end + 1):
    for new_end in range(input_end, new_start - 1, -1):
      if " ".join(doc_tokens[new_start:new_end + 1]) == tok_answer_text:
        return new_start, new_end
  return input_start, input_end


def _check_is_max_context(doc_spans, cur_span_index, position):
  """Whether span cur_span_index gives token `position` the most context of all spans.

  The score of a span for a token is min(left context, right context) + 0.01 * span length;
  the first best span wins ties.
  """
  best_score, best_span_index = None, None
  for span_index, doc_span in enumerate(doc_spans):
    end = doc_span.start + doc_span.length - 1
    if position < doc_span.start or position > end:
      continue
    score = min(position - doc_span.start, end - position) + 0.01 * doc_span.length
    if best_score is None or score > best_score:
      best_score, best_span_index = score, span_index
  return cur_span_index == best_span_index


def _doc_spans(num_tokens, max_tokens_for_doc, doc_stride):
  """Windows of at most max_tokens_for_doc tokens, starting every doc_stride tokens."""
  doc_spans, start_offset = [], 0
  while start_offset < num_tokens:
    length = min(num_tokens - start_offset, max_tokens_for_doc)
    doc_spans.append(_DocSpan(start=start_offset, length=length))
    if start_offset + length == num_tokens:
      break
    start_offset += min(length, doc_stride)
  return doc_spans


def _tokenize_document(doc_tokens, tokenizer):
  """WordPiece-tokenises whitespace words.

  Args:
    doc_tokens: list of words.
    tokenizer: a tokenization.FullTokenizer.

  Returns:
    _Document.
  """
  document = _Document([], [], [])
  for i, token in enumerate(doc_tokens):
    document.orig_to_tok_index.append(len(document.tokens))
    for sub_token in tokenizer.tokenize(token):
      document.tok_to_orig_index.append(i)
      document.tokens.append(sub_token)
  return document


def _answer_token_span(example, document, tokenizer):
  """The sub-token span of a training example's answer.

  Args:
    example: a labelled SquadExample.
    document: its _Document.
    tokenizer: the tokenizer of `document`.

  Returns:
    (start, end) indexes into document.tokens, or (None, None) for an impossible question.
  """
  if example.is_impossible:
    return None, None
  start = document.orig_to_tok_index[example.start_position]
  if example.end_position < len(example.doc_tokens) - 1:
    end = document.orig_to_tok_index[example.end_position + 1] - 1
  else:
    end = len(document.tokens) - 1
  return _improve_answer_span(document.tokens, start, end, tokenizer, example.orig_answer_text)


def _window(query_tokens, document, doc_spans, doc_span_index):
  """The tokens [CLS] query [SEP] window [SEP] of one doc span.

  Returns:
    (tokens, segment_ids, token_to_orig_map, token_is_max_context), the maps keyed by the position of
    the window's tokens in `tokens`.
  """
  doc_span = doc_spans[doc_span_index]
  tokens = ["[CLS]"] + query_tokens + ["[SEP]"]
  segment_ids = [0] * len(tokens)
  token_to_orig_map, token_is_max_context = {}, {}
  for split_token_index in range(doc_span.start, doc_span.start + doc_span.length):
    token_to_orig_map[len(tokens)] = document.tok_to_orig_index[split_token_index]
    token_is_max_context[len(tokens)] = _check_is_max_context(doc_spans, doc_span_index, split_token_index)
    tokens.append(document.tokens[split_token_index])
    segment_ids.append(1)
  tokens.append("[SEP]")
  segment_ids.append(1)
  return tokens, segment_ids, token_to_orig_map, token_is_max_context


def _window_positions(answer_span, doc_span, num_query_tokens):
  """Training labels of one window: the answer's positions in it, or (0, 0) ([CLS]) when the question is
  impossible or its answer is not wholly inside the window."""
  start, end = answer_span
  if start is None or start < doc_span.start or end > doc_span.start + doc_span.length - 1:
    return 0, 0
  offset = num_query_tokens + 2 - doc_span.start
  return start + offset, end + offset


def _pad(values, length):
  return values + [0] * (length - len(values))


def _example_features(example, example_index, first_unique_id, tokenizer, max_seq_length, doc_stride,
                      max_query_length, is_training):
  """Yields the InputFeatures of one example's windows, numbered from first_unique_id.

  Args: see convert_examples_to_features.
  """
  query_tokens = tokenizer.tokenize(example.question_text)[:max_query_length]
  document = _tokenize_document(example.doc_tokens, tokenizer)
  answer_span = _answer_token_span(example, document, tokenizer) if is_training else None
  doc_spans = _doc_spans(len(document.tokens), max_seq_length - len(query_tokens) - 3, doc_stride)
  for doc_span_index, doc_span in enumerate(doc_spans):
    tokens, segment_ids, token_to_orig_map, token_is_max_context = _window(
        query_tokens, document, doc_spans, doc_span_index)
    input_ids = tokenizer.convert_tokens_to_ids(tokens)
    start_position = end_position = None
    if is_training:
      start_position, end_position = _window_positions(answer_span, doc_span, len(query_tokens))
    yield InputFeatures(
        unique_id=first_unique_id + doc_span_index, example_index=example_index,
        doc_span_index=doc_span_index, tokens=tokens, token_to_orig_map=token_to_orig_map,
        token_is_max_context=token_is_max_context, input_ids=_pad(input_ids, max_seq_length),
        input_mask=_pad([1] * len(input_ids), max_seq_length), segment_ids=_pad(segment_ids, max_seq_length),
        start_position=start_position, end_position=end_position, is_impossible=example.is_impossible)


def convert_examples_to_features(examples, tokenizer, max_seq_length, doc_stride,
                                 max_query_length, is_training, output_fn):
  """Turns examples into windowed InputFeatures, handed one by one to output_fn.

  Args:
    examples: list of SquadExample.
    tokenizer: a tokenization.FullTokenizer.
    max_seq_length: tokens per window including [CLS] question [SEP] document [SEP].
    doc_stride: distance in tokens between the starts of consecutive windows.
    max_query_length: questions are truncated to this many tokens.
    is_training: compute start/end positions; answers outside a window (and impossible
      questions) point to [CLS], position 0.
    output_fn: called with each InputFeatures.

  Returns:
    the number of features produced.
  """
  if doc_stride <= 0:
    raise ValueError("doc_stride must be positive, got %d." % doc_stride)
  if max_seq_length <= max_query_length + 3:
    raise ValueError("max_seq_length (%d) must be larger than max_query_length (%d) + 3." %
                     (max_seq_length, max_query_length))
  unique_id = _FIRST_UNIQUE_ID
  for example_index, example in enumerate(examples):
    for feature in _example_features(example, example_index, unique_id, tokenizer, max_seq_length,
                                     doc_stride, max_query_length, is_training):
      if example_index < 3:
        logging.info("*** Example *** unique_id: %d example_index: %d doc_span_index: %d\n"
                     "tokens: %s\nstart_position: %s end_position: %s", feature.unique_id, example_index,
                     feature.doc_span_index, " ".join(tokenization.printable_text(t) for t in feature.tokens),
                     feature.start_position, feature.end_position)
      output_fn(feature)
      unique_id += 1
  return unique_id - _FIRST_UNIQUE_ID


# ----------------------------------------------------------------------------------------------
# TFRecords
# ----------------------------------------------------------------------------------------------

def _int_feature(values):
  return tf.train.Feature(int64_list=tf.train.Int64List(value=list(values)))


class FeatureWriter(object):
  """Writes InputFeatures to a TFRecord file (renamed into place by close())."""

  def __init__(self, filename, is_training):
    self.filename = filename
    self.is_training = is_training
    self.num_features = 0
    self._tmp_filename = filename + ".tmp"
    self._writer = tf.io.TFRecordWriter(self._tmp_filename)

  def process_feature(self, feature):
    """Writes one InputFeatures (usable as convert_examples_to_features' output_fn)."""
    self.num_features += 1
    features = collections.OrderedDict()
    features["unique_ids"] = _int_feature([feature.unique_id])
    features["input_ids"] = _int_feature(feature.input_ids)
    features["input_mask"] = _int_feature(feature.input_mask)
    features["segment_ids"] = _int_feature(feature.segment_ids)
    if self.is_training:
      features["start_positions"] = _int_feature([feature.start_position])
      features["end_positions"] = _int_feature([feature.end_position])
      features["is_impossible"] = _int_feature([int(bool(feature.is_impossible))])
    example = tf.train.Example(features=tf.train.Features(feature=features))
    self._writer.write(example.SerializeToString())

  def close(self):
    self._writer.close()
    tf.io.gfile.rename(self._tmp_filename, self.filename, overwrite=True)


def name_to_features(seq_length, is_training):
  """The tf.io.parse_single_example spec of FeatureWriter's records."""
  features = {
      "unique_ids": tf.io.FixedLenFeature([], tf.int64),
      "input_ids": tf.io.FixedLenFeature([seq_length], tf.int64),
      "input_mask": tf.io.FixedLenFeature([seq_length], tf.int64),
      "segment_ids": tf.io.FixedLenFeature([seq_length], tf.int64),
  }
  if is_training:
    features["start_positions"] = tf.io.FixedLenFeature([], tf.int64)
    features["end_positions"] = tf.io.FixedLenFeature([], tf.int64)
  return features


def write_train_features(train_file, version_2_with_negative, tokenizer, max_seq_length, doc_stride,
                         max_query_length, output_file, seed):
  """Reads, shuffles and windows the training questions into a TFRecord file.

  Args:
    train_file: SQuAD json.
    version_2_with_negative: SQuAD 2.0 data.
    tokenizer, max_seq_length, doc_stride, max_query_length: see convert_examples_to_features.
    output_file: the TFRecord file.
    seed: seed of the shuffle.

  Returns:
    (number of questions, number of windows).
  """
  examples = read_squad_examples(train_file, True, version_2_with_negative)
  random.Random(seed).shuffle(examples)
  writer = FeatureWriter(output_file, is_training=True)
  convert_examples_to_features(examples, tokenizer, max_seq_length, doc_stride, max_query_length, True,
                               writer.process_feature)
  writer.close()
  return len(examples), writer.num_features


def write_predict_features(predict_file, version_2_with_negative, tokenizer, max_seq_length, doc_stride,
                           max_query_length, output_file):
  """Reads and windows the questions to predict; writes the windows to a TFRecord file too.

  Args:
    predict_file: SQuAD json.
    version_2_with_negative: SQuAD 2.0 data.
    tokenizer, max_seq_length, doc_stride, max_query_length: see convert_examples_to_features.
    output_file: the TFRecord file.

  Returns:
    (list of SquadExample, list of InputFeatures).
  """
  examples = read_squad_examples(predict_file, False, version_2_with_negative)
  features = []
  writer = FeatureWriter(output_file, is_training=False)

  def add(feature):
    features.append(feature)
    writer.process_feature(feature)

  convert_examples_to_features(examples, tokenizer, max_seq_length, doc_stride, max_query_length, False,
                               add)
  writer.close()
  return examples, features


# ----------------------------------------------------------------------------------------------
# Predictions
# ----------------------------------------------------------------------------------------------

_PrelimPrediction = collections.namedtuple(
    "PrelimPrediction", ["feature_index", "start_index", "end_index", "start_logit", "end_logit"])
_NbestPrediction = collections.namedtuple("NbestPrediction", ["text", "start_logit", "end_logit"])


class SquadPredictions(collections.namedtuple("SquadPredictions", ["predictions", "nbest", "null_odds"])):
  """Decoded answers, each a dict keyed by question id in the order of the examples.

  Attributes:
    predictions: the predicted text ("" for no answer).
    nbest: the candidates, best first: dicts with "text", "probability", "start_logit", "end_logit".
    null_odds: SQuAD 2.0: null score minus best non-null score; None for SQuAD 1.1.
  """


def _get_best_indexes(logits, n_best_size):
  """Indexes of the n_best_size largest logits, largest first (ties: lower index first)."""
  return [int(i) for i in np.argsort(-np.asarray(logits), kind="stable")[:n_best_size]]


def _compute_softmax(scores):
  if not scores:
    return []
  max_score = max(scores)
  exp_scores = [math.exp(s - max_score) for s in scores]
  total = sum(exp_scores)
  return [s / total for s in exp_scores]


def _strip_spaces(text):
  """Text without spaces, and a map from its character indexes to those of `text`."""
  ns_chars, ns_to_s_map = [], {}
  for i, c in enumerate(text):
    if c == " ":
      continue
    ns_to_s_map[len(ns_chars)] = i
    ns_chars.append(c)
  return "".join(ns_chars), ns_to_s_map


def get_final_text(pred_text, orig_text, do_lower_case, verbose_logging=False):
  """Projects a de-tokenised prediction back onto the original text.

  pred_text comes from WordPiece tokens ("steve smith" for the words "Steve Smith's"), orig_text is
  the original words it came from. orig_text is run through the BasicTokenizer, pred_text is
  located in that, and the character positions are mapped back through the space-free strings
  (the BasicTokenizer only changes case, accents and spacing). When that fails orig_text is
  returned whole.
  """
  tok_text = " ".join(tokenization.BasicTokenizer(do_lower_case=do_lower_case).tokenize(orig_text))
  start_position = tok_text.find(pred_text)
  if start_position == -1:
    if verbose_logging:
      logging.info("Unable to find text: %r in %r", pred_text, orig_text)
    return orig_text
  end_position = start_position + len(pred_text) - 1

  orig_ns_text, orig_ns_to_s_map = _strip_spaces(orig_text)
  tok_ns_text, tok_ns_to_s_map = _strip_spaces(tok_text)
  if len(orig_ns_text) != len(tok_ns_text):
    if verbose_logging:
      logging.info("Length not equal after stripping spaces: %r vs %r", orig_ns_text, tok_ns_text)
    return orig_text
  tok_s_to_ns_map = {s: ns for ns, s in tok_ns_to_s_map.items()}

  def to_orig(position):
    ns_position = tok_s_to_ns_map.get(position)
    return None if ns_position is None else orig_ns_to_s_map.get(ns_position)

  orig_start_position, orig_end_position = to_orig(start_position), to_orig(end_position)
  if orig_start_position is None or orig_end_position is None:
    if verbose_logging:
      logging.info("Couldn't map the start or end position of %r", pred_text)
    return orig_text
  return orig_text[orig_start_position:orig_end_position + 1]


def _detokenize(tokens):
  """WordPiece tokens -> text ("hen ##ders ##on" -> "henderson")."""
  text = " ".join(tokens).replace(" ##", "").replace("##", "")
  return " ".join(text.split())


def _results_of(example, features, unique_id_to_result):
  """The RawResult of each of an example's windows.

  Raises:
    ValueError naming the question when it has no windows or a window has no result.
  """
  if not features:
    raise ValueError("No features for question id %s." % example.qas_id)
  for feature in features:
    if feature.unique_id not in unique_id_to_result:
      raise ValueError("No result for feature %d of question id %s." % (feature.unique_id, example.qas_id))
  return [unique_id_to_result[feature.unique_id] for feature in features]


def _span_candidates(feature_index, feature, result, n_best_size, max_answer_length):
  """Yields a _PrelimPrediction for each valid span among one window's n_best_size best starts and ends:
  start in the document and in its max-context window, end in the document, end >= start, length <=
  max_answer_length."""
  for start_index in _get_best_indexes(result.start_logits, n_best_size):
    if (start_index not in feature.token_to_orig_map or
        not feature.token_is_max_context.get(start_index, False)):
      continue
    for end_index in _get_best_indexes(result.end_logits, n_best_size):
      if (end_index not in feature.token_to_orig_map or end_index < start_index or
          end_index - start_index + 1 > max_answer_length):
        continue
      yield _PrelimPrediction(
          feature_index=feature_index, start_index=start_index, end_index=end_index,
          start_logit=float(result.start_logits[start_index]), end_logit=float(result.end_logits[end_index]))


def _null_prediction(results):
  """SQuAD 2.0: the [CLS] span of the window with the smallest [CLS] start + end logit (the first on ties).

  Returns:
    (that score, its _PrelimPrediction).
  """
  score_null, null = None, None
  for feature_index, result in enumerate(results):
    score = result.start_logits[0] + result.end_logits[0]
    if score_null is None or score < score_null:
      score_null = score
      null = _PrelimPrediction(feature_index=feature_index, start_index=0, end_index=0,
                               start_logit=float(result.start_logits[0]), end_logit=float(result.end_logits[0]))
  return score_null, null


def _nbest(example, features, prelim_predictions, n_best_size, do_lower_case, verbose_logging):
  """The n_best_size best candidates with distinct texts, best first.

  Args:
    example: the SquadExample.
    features: its windows.
    prelim_predictions: its candidate spans, best first; a [CLS] span gives the text "".
    n_best_size: number of candidates kept.
    do_lower_case, verbose_logging: see get_final_text.

  Returns:
    list of _NbestPrediction.
  """
  seen_predictions, nbest = set(), []
  for pred in prelim_predictions:
    if len(nbest) >= n_best_size:
      break
    final_text = ""
    if pred.start_index > 0:
      feature = features[pred.feature_index]
      orig_doc_start = feature.token_to_orig_map[pred.start_index]
      orig_doc_end = feature.token_to_orig_map[pred.end_index]
      tok_text = _detokenize(feature.tokens[pred.start_index:pred.end_index + 1])
      orig_text = " ".join(example.doc_tokens[orig_doc_start:orig_doc_end + 1])
      final_text = get_final_text(tok_text, orig_text, do_lower_case, verbose_logging)
    if final_text in seen_predictions:
      continue
    seen_predictions.add(final_text)
    nbest.append(_NbestPrediction(final_text, pred.start_logit, pred.end_logit))
  return nbest


def _decode_example(example, features, results, n_best_size, max_answer_length, do_lower_case,
                    version_2_with_negative, verbose_logging):
  """Ranks an example's candidate spans by start_logit + end_logit.

  Args:
    example: the SquadExample.
    features: its windows.
    results: the RawResult of each window.
    n_best_size, max_answer_length, do_lower_case, version_2_with_negative, verbose_logging: see
      decode_predictions.

  Returns:
    (list of _NbestPrediction, best first; SQuAD 2.0: null score minus best non-null score (+inf when
    there is no non-null candidate), else None).
  """
  prelim_predictions = [prediction for feature_index, (feature, result) in enumerate(zip(features, results))
                        for prediction in _span_candidates(feature_index, feature, result, n_best_size,
                                                           max_answer_length)]
  if version_2_with_negative:
    score_null, null = _null_prediction(results)
    prelim_predictions.append(null)
  prelim_predictions.sort(key=lambda p: p.start_logit + p.end_logit, reverse=True)
  nbest = _nbest(example, features, prelim_predictions, n_best_size, do_lower_case, verbose_logging)
  if not version_2_with_negative:
    return nbest or [_NbestPrediction("empty", 0.0, 0.0)], None
  if all(e.text for e in nbest):
    nbest.append(_NbestPrediction("", null.start_logit, null.end_logit))
  best_non_null = next((e for e in nbest if e.text), None)
  if best_non_null is None:
    return nbest, float("inf")
  return nbest, float(score_null - best_non_null.start_logit - best_non_null.end_logit)


def apply_null_threshold(nbest, null_odds, threshold):
  """SQuAD 2.0 answers: "" where the null odds exceed `threshold`, else the best non-empty candidate.

  Args:
    nbest: question id -> candidates, best first (SquadPredictions.nbest).
    null_odds: question id -> null odds (SquadPredictions.null_odds).
    threshold: the no-answer threshold; +inf answers every question that has a non-empty candidate.

  Returns:
    dict question id -> predicted text, in the order of `nbest`.
  """
  return {qid: "" if null_odds[qid] > threshold else next((c["text"] for c in candidates if c["text"]), "")
          for qid, candidates in nbest.items()}


def decode_predictions(all_examples, all_features, all_results, n_best_size, max_answer_length,
                       do_lower_case, version_2_with_negative, null_score_diff_threshold,
                       verbose_logging=False):
  """Decodes the best answer spans.

  For every example, candidate spans from all its windows (start in the document, start token in
  its max-context window, end >= start, length <= max_answer_length) are ranked by
  start_logit + end_logit. For SQuAD 2.0 the null score is the smallest [CLS] start+end logit over
  the windows, the null odds are score_null - best non-null score, and the prediction is "" when they
  exceed null_score_diff_threshold.

  Args:
    all_examples: list of SquadExample.
    all_features: list of InputFeatures for those examples.
    all_results: iterable of RawResult, one per feature.
    n_best_size: number of candidates kept per example.
    max_answer_length: longest answer in WordPiece tokens.
    do_lower_case: whether the tokenizer lower-cased (needed by get_final_text).
    version_2_with_negative: SQuAD 2.0 decoding.
    null_score_diff_threshold: see above.
    verbose_logging: log get_final_text failures.

  Returns:
    SquadPredictions.
  """
  example_index_to_features = collections.defaultdict(list)
  for feature in all_features:
    example_index_to_features[feature.example_index].append(feature)
  unique_id_to_result = {result.unique_id: result for result in all_results}
  nbest_json, null_odds = {}, {}
  for example_index, example in enumerate(all_examples):
    features = example_index_to_features[example_index]
    results = _results_of(example, features, unique_id_to_result)
    nbest, null_odds[example.qas_id] = _decode_example(
        example, features, results, n_best_size, max_answer_length, do_lower_case, version_2_with_negative,
        verbose_logging)
    probs = _compute_softmax([e.start_logit + e.end_logit for e in nbest])
    nbest_json[example.qas_id] = [{"text": e.text, "probability": p, "start_logit": e.start_logit,
                                   "end_logit": e.end_logit} for e, p in zip(nbest, probs)]
  if not version_2_with_negative:
    return SquadPredictions({qid: nbest[0]["text"] for qid, nbest in nbest_json.items()}, nbest_json, None)
  return SquadPredictions(apply_null_threshold(nbest_json, null_odds, null_score_diff_threshold), nbest_json,
                          null_odds)


def _write_json_atomically(obj, filename):
  tmp_filename = filename + ".tmp"
  with tf.io.gfile.GFile(tmp_filename, "w") as writer:
    writer.write(json.dumps(obj, indent=4) + "\n")
  tf.io.gfile.rename(tmp_filename, filename, overwrite=True)


def write_prediction_files(decoded, output_prediction_file, output_nbest_file, output_null_log_odds_file):
  """Writes predictions.json, the n-best file and (SQuAD 2.0) the null odds file.

  Args:
    decoded: SquadPredictions.
    output_prediction_file: predictions.json path (question id -> text).
    output_nbest_file: nbest_predictions.json path.
    output_null_log_odds_file: null_odds.json path (written for SQuAD 2.0 only).
  """
  _write_json_atomically(decoded.predictions, output_prediction_file)
  _write_json_atomically(decoded.nbest, output_nbest_file)
  if decoded.null_odds is not None:
    _write_json_atomically(decoded.null_odds, output_null_log_odds_file)


def write_predictions(all_examples, all_features, all_results, n_best_size, max_answer_length,
                      do_lower_case, output_prediction_file, output_nbest_file,
                      output_null_log_odds_file, version_2_with_negative,
                      null_score_diff_threshold, verbose_logging=False):
  """decode_predictions, then write_prediction_files; returns dict question id -> predicted text."""
  decoded = decode_predictions(all_examples, all_features, all_results, n_best_size, max_answer_length,
                               do_lower_case, version_2_with_negative, null_score_diff_threshold,
                               verbose_logging)
  write_prediction_files(decoded, output_prediction_file, output_nbest_file, output_null_log_odds_file)
  return decoded.predictions
