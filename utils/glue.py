"""GLUE and XNLI for BERT fine-tuning: processors, features, TFRecords, metrics and submission files.

Data layout is the one written by GLUE's download_glue_data.py (one folder per task, tab-separated, no
quoting), and for XNLI the layout Google's run_classifier.py used (XNLI-MT `multinli/multinli.train.<lang>.tsv`
for training and `xnli.dev.tsv` / `xnli.test.tsv` filtered by language for evaluation).

Columns are looked up by header name, so the same processor reads train, dev and test files whose column
sets differ. Every row must have as many fields as the header; a malformed row or an unknown label raises a
ValueError naming the file and the line.
"""
import csv
import os
import tempfile

import numpy as np
import tensorflow as tf


class InputExample(object):
  """A single training/dev/test example for sequence(-pair) classification or regression."""

  def __init__(self, guid, text_a, text_b=None, label=None):
    """Constructs an InputExample.

    Args:
      guid: Unique id "<split>-<index>": the file's index column when it has one, else the data row number.
      text_a: string. The untokenized text of the first sequence.
      text_b: (Optional) string. The untokenized text of the second sequence (sentence-pair tasks only).
      label: (Optional) string. The label; None for unlabeled test examples.
    """
    self.guid = guid
    self.text_a = text_a
    self.text_b = text_b
    self.label = label


class PaddingInputExample(object):
  """Fake example appended to the eval/predict set so its size is a multiple of the batch size.

  It becomes an all-zero feature with is_real_example=0, so metrics and prediction files ignore it; this keeps
  every batch full (fixed shapes, as on TPUs) without dropping the last real examples.
  """


class InputFeatures(object):
  """A single set of features of data."""

  def __init__(self, input_ids, input_mask, segment_ids, label_id, is_real_example=True):
    self.input_ids = input_ids
    self.input_mask = input_mask
    self.segment_ids = segment_ids
    self.label_id = label_id
    self.is_real_example = is_real_example


def read_tsv(path, header=None):
  """Reads a GLUE-style TSV file (tab-separated, no quote characters). Entirely empty lines are skipped.

  Args:
    path: The file to read (UTF-8; a leading byte-order mark is dropped).
    header: Column names of a header-less file; None if the file's first line is its header.

  Returns:
    (columns, rows): the column names, and a list of (line_number, fields) with 1-based line numbers.

  Raises:
    ValueError: naming the file and line, if a row does not have exactly len(columns) fields.
  """
  with open(path, encoding="utf-8-sig", newline="") as f:
    reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
    columns = list(header) if header is not None else next(reader, None)
    if columns is None:
      raise ValueError("%s is empty: expected a header line" % path)
    rows = []
    for fields in reader:
      if not fields:
        continue
      if len(fields) != len(columns):
        raise ValueError("%s, line %d: malformed row: expected %d tab-separated columns (%s), found %d" %
                         (path, reader.line_num, len(columns), ", ".join(columns), len(fields)))
      rows.append((reader.line_num, fields))
  return columns, rows


class DataProcessor(object):
  """Base class for data converters for sequence classification data sets.

  Subclasses name the columns they read (by header name) and their labels. Attributes:
    is_regression: True if the label is a real number (STS-B), else labels are classes from get_labels().
    metric_names: The task's official metrics, names of functions in METRICS.
    submission_name: Stem of the GLUE leaderboard prediction file (e.g. "MRPC" -> MRPC.tsv); None if none.
  """
  is_regression = False
  metric_names = ("accuracy",)
  submission_name = None
  text_a_column = "sentence1"
  text_b_column = "sentence2"  # None for single-sentence tasks.
  label_column = "label"
  index_column = "index"  # Used for guids when the file has it; otherwise the data row number is used.

  def get_train_examples(self, data_dir):
    """Gets a collection of `InputExample`s for the train set."""
    return self._create_examples(os.path.join(data_dir, "train.tsv"), "train")

  def get_dev_examples(self, data_dir):
    """Gets a collection of `InputExample`s for the dev set."""
    return self._create_examples(os.path.join(data_dir, "dev.tsv"), "dev")

  def get_test_examples(self, data_dir):
    """Gets a collection of `InputExample`s for prediction (GLUE test sets are unlabeled)."""
    return self._create_examples(os.path.join(data_dir, "test.tsv"), "test")

  def get_labels(self):
    """Gets the list of labels for this data set (empty for regression)."""
    raise NotImplementedError()

  def num_labels(self):
    """Returns the number of model outputs: 1 for regression, else the number of classes."""
    return 1 if self.is_regression else len(self.get_labels())

  def _normalize_label(self, label):
    """Maps a label as written in the file to one of get_labels()."""
    return label

  def _create_examples(self, path, set_type, header=None, text_a=None, text_b=None, label=None,
                       keep=None):
    """Reads examples from one TSV file.

    Args:
      path: The TSV file.
      set_type: "train", "dev", "test" or a variant such as "dev_matched"; the guid prefix. Splits whose
        name starts with "test" may lack the label column (their examples then have label None).
      header: Column names for a header-less file (see read_tsv).
      text_a, text_b, label: Column names overriding the class attributes.
      keep: Optional (column, value): only rows whose column equals value are read.

    Returns:
      A list of InputExample.
    """
    columns, rows = read_tsv(path, header)

    def column(name, required=True):
      if name in columns:
        return columns.index(name)
      if required:
        raise ValueError("%s: missing column %r (the file's columns are: %s)" % (path, name, ", ".join(columns)))
      return None

    a_col = column(text_a or self.text_a_column)
    b_name = text_b or self.text_b_column
    b_col = column(b_name) if b_name else None
    label_col = column(label or self.label_column, required=not set_type.startswith("test"))
    index_col = column(self.index_column, required=False)
    keep_col = column(keep[0]) if keep else None

    examples = []
    for row_number, (line_number, fields) in enumerate(rows):
      if keep and fields[keep_col] != keep[1]:
        continue
      index = fields[index_col] if index_col is not None else row_number
      example_label = None
      if label_col is not None:
        example_label = self._check_label(path, line_number, self._normalize_label(fields[label_col]))
      examples.append(InputExample(guid="%s-%s" % (set_type, index), text_a=fields[a_col],
                                   text_b=fields[b_col] if b_col is not None else None, label=example_label))
    return examples

  def _check_label(self, path, line_number, label):
    """Returns the label if it is valid, else raises a ValueError naming the file and line."""
    if self.is_regression:
      try:
        float(label)
      except ValueError:
        raise ValueError("%s, line %d: label %r is not a number" % (path, line_number, label)) from None
    elif label not in self.get_labels():
      raise ValueError("%s, line %d: unknown label %r (expected one of: %s)" %
                       (path, line_number, label, ", ".join(self.get_labels())))
    return label


class ColaProcessor(DataProcessor):
  """CoLA (GLUE): train/dev.tsv have no header (source, label, original label, sentence); test.tsv has one."""
  metric_names = ("mcc",)
  submission_name = "CoLA"
  text_a_column = "sentence"
  text_b_column = None
  _header = ("source", "label", "original_label", "sentence")

  def get_train_examples(self, data_dir):
    return self._create_examples(os.path.join(data_dir, "train.tsv"), "train", header=self._header)

  def get_dev_examples(self, data_dir):
    return self._create_examples(os.path.join(data_dir, "dev.tsv"), "dev", header=self._header)

  def get_labels(self):
    return ["0", "1"]


class Sst2Processor(DataProcessor):
  """SST-2 (GLUE): single sentences, binary sentiment."""
  submission_name = "SST-2"
  text_a_column = "sentence"
  text_b_column = None

  def get_labels(self):
    return ["0", "1"]


class MrpcProcessor(DataProcessor):
  """MRPC (GLUE): paraphrase pairs; label column "Quality"."""
  metric_names = ("accuracy", "f1")
  submission_name = "MRPC"
  text_a_column = "#1 String"
  text_b_column = "#2 String"
  label_column = "Quality"

  def get_labels(self):
    return ["0", "1"]


class StsbProcessor(DataProcessor):
  """STS-B (GLUE): regression of a similarity score in [0, 5]."""
  is_regression = True
  metric_names = ("pearson", "spearman")
  submission_name = "STS-B"
  label_column = "score"

  def get_labels(self):
    return []


class QqpProcessor(DataProcessor):
  """QQP (GLUE): duplicate question pairs; train/dev (id, qid1, qid2, question1, question2, is_duplicate)."""
  metric_names = ("accuracy", "f1")
  submission_name = "QQP"
  text_a_column = "question1"
  text_b_column = "question2"
  label_column = "is_duplicate"
  index_column = "id"

  def get_labels(self):
    return ["0", "1"]


class MnliProcessor(DataProcessor):
  """MultiNLI matched (GLUE): dev_matched.tsv / test_matched.tsv."""
  submission_name = "MNLI-m"
  label_column = "gold_label"
  _eval_split = "matched"

  def get_dev_examples(self, data_dir):
    split = "dev_" + self._eval_split
    return self._create_examples(os.path.join(data_dir, split + ".tsv"), split)

  def get_test_examples(self, data_dir):
    split = "test_" + self._eval_split
    return self._create_examples(os.path.join(data_dir, split + ".tsv"), split)

  def get_labels(self):
    return ["contradiction", "entailment", "neutral"]


class MnliMismatchedProcessor(MnliProcessor):
  """MultiNLI mismatched (GLUE): same training set, dev_mismatched.tsv / test_mismatched.tsv."""
  submission_name = "MNLI-mm"
  _eval_split = "mismatched"


class DiagnosticProcessor(MnliProcessor):
  """GLUE diagnostic set (AX): unlabeled MNLI-style pairs in diagnostic.tsv, predicted with an MNLI model."""
  submission_name = "AX"

  def get_train_examples(self, data_dir):
    raise ValueError("The GLUE diagnostic task 'ax' has no training data: fine-tune on 'mnli', then predict "
                     "'ax' from that checkpoint")

  def get_dev_examples(self, data_dir):
    raise ValueError("The GLUE diagnostic task 'ax' has no dev set (diagnostic.tsv is unlabeled)")

  def get_test_examples(self, data_dir):
    return self._create_examples(os.path.join(data_dir, "diagnostic.tsv"), "test")


class QnliProcessor(DataProcessor):
  """QNLI (GLUE): question / sentence pairs."""
  submission_name = "QNLI"
  text_a_column = "question"
  text_b_column = "sentence"

  def get_labels(self):
    return ["entailment", "not_entailment"]


class RteProcessor(DataProcessor):
  """RTE (GLUE)."""
  submission_name = "RTE"

  def get_labels(self):
    return ["entailment", "not_entailment"]


class WnliProcessor(DataProcessor):
  """WNLI (GLUE)."""
  submission_name = "WNLI"

  def get_labels(self):
    return ["0", "1"]


class XnliProcessor(DataProcessor):
  """XNLI in the layout of Google's run_classifier.py, for one language (Chinese by default, as Google's).

  Train: <data_dir>/multinli/multinli.train.<language>.tsv (XNLI-MT: premise, hypo, label).
  Dev/test: <data_dir>/xnli.dev.tsv / xnli.test.tsv (XNLI 1.0, all languages), keeping rows of `language`.
  """
  label_column = "gold_label"

  def __init__(self, language="zh"):
    self.language = language

  def get_train_examples(self, data_dir):
    path = os.path.join(data_dir, "multinli", "multinli.train.%s.tsv" % self.language)
    return self._create_examples(path, "train", text_a="premise", text_b="hypo", label="label")

  def get_dev_examples(self, data_dir):
    return self._create_examples(os.path.join(data_dir, "xnli.dev.tsv"), "dev", keep=("language", self.language))

  def get_test_examples(self, data_dir):
    return self._create_examples(os.path.join(data_dir, "xnli.test.tsv"), "test", keep=("language", self.language))

  def get_labels(self):
    return ["contradiction", "entailment", "neutral"]

  def _normalize_label(self, label):
    return "contradiction" if label == "contradictory" else label  # XNLI-MT's spelling.


PROCESSORS = {
    "cola": ColaProcessor,
    "sst-2": Sst2Processor,
    "mrpc": MrpcProcessor,
    "sts-b": StsbProcessor,
    "qqp": QqpProcessor,
    "mnli": MnliProcessor,
    "mnli-mm": MnliMismatchedProcessor,
    "ax": DiagnosticProcessor,
    "qnli": QnliProcessor,
    "rte": RteProcessor,
    "wnli": WnliProcessor,
    "xnli": XnliProcessor,
}


def get_processor(task_name, **kwargs):
  """Returns the processor for a task name (case-insensitive); kwargs go to its constructor (XNLI: language)."""
  name = task_name.lower()
  if name not in PROCESSORS:
    raise ValueError("Unknown task %r; known tasks: %s" % (task_name, ", ".join(sorted(PROCESSORS))))
  return PROCESSORS[name](**kwargs)


def pad_examples(examples, batch_size):
  """Appends PaddingInputExample()s so that len(examples) is a multiple of batch_size (returns a new list)."""
  return list(examples) + [PaddingInputExample()] * (-len(examples) % batch_size)


def _truncate_seq_pair(tokens_a, tokens_b, max_length):
  """Truncates a sequence pair in place to at most max_length tokens in total.

  One token at a time is removed from the end of the longer sequence (of tokens_b on a tie): a short
  sequence keeps all of its tokens, as each token of it carries more information than one of a long one.
  """
  while len(tokens_a) + len(tokens_b) > max_length:
    (tokens_a if len(tokens_a) > len(tokens_b) else tokens_b).pop()


def convert_single_example(example, label_list, max_seq_length, tokenizer, is_regression):
  """Converts one InputExample (or PaddingInputExample) to InputFeatures.

  The input is [CLS] A [SEP] (B [SEP]), with segment id 0 up to and including the first [SEP] and 1 for
  B and its [SEP]; input ids, mask and segment ids are zero-padded to max_seq_length.

  Args:
    example: An InputExample, or a PaddingInputExample (all-zero features with is_real_example=False).
    label_list: The processor's labels (label id = position in the list); ignored for regression.
    max_seq_length: Length of the padded sequences.
    tokenizer: A tokenization.FullTokenizer.
    is_regression: Whether the label is a float (label_id float) rather than a class (label_id int).

  Returns:
    An InputFeatures. Unlabeled (test) examples get label id 0.
  """
  if isinstance(example, PaddingInputExample):
    zeros = [0] * max_seq_length
    return InputFeatures(zeros, list(zeros), list(zeros), 0.0 if is_regression else 0, is_real_example=False)

  tokens_a = tokenizer.tokenize(example.text_a)
  tokens_b = tokenizer.tokenize(example.text_b) if example.text_b else None
  if tokens_b:
    _truncate_seq_pair(tokens_a, tokens_b, max_seq_length - 3)  # [CLS], [SEP], [SEP]
  else:
    tokens_a = tokens_a[:max_seq_length - 2]  # [CLS], [SEP]

  tokens = ["[CLS]"] + tokens_a + ["[SEP]"]
  segment_ids = [0] * len(tokens)
  if tokens_b:
    tokens += tokens_b + ["[SEP]"]
    segment_ids += [1] * (len(tokens_b) + 1)
  input_ids = tokenizer.convert_tokens_to_ids(tokens)
  input_mask = [1] * len(input_ids)
  padding = [0] * (max_seq_length - len(input_ids))

  if example.label is None:
    label_id = 0.0 if is_regression else 0
  elif is_regression:
    label_id = float(example.label)
  elif example.label in label_list:
    label_id = label_list.index(example.label)
  else:
    raise ValueError("Example %s: unknown label %r (expected one of: %s)" %
                     (example.guid, example.label, ", ".join(label_list)))
  return InputFeatures(input_ids + padding, input_mask + padding, segment_ids + padding, label_id)


def convert_examples_to_features(examples, label_list, max_seq_length, tokenizer, is_regression):
  """Converts a list of examples (PaddingInputExample allowed) to a list of InputFeatures.

  Args:
    examples: List of InputExample / PaddingInputExample.
    label_list: The processor's get_labels().
    max_seq_length: Maximum total input length after WordPiece tokenization, [CLS] and [SEP]s included;
      longer pairs are truncated longest-first, longer single sequences at the end.
    tokenizer: A tokenization.FullTokenizer.
    is_regression: The processor's is_regression.

  Returns:
    A list of InputFeatures, one per example, in order.
  """
  if max_seq_length < 3:
    raise ValueError("max_seq_length must be at least 3 ([CLS] A [SEP] B [SEP]), got %d" % max_seq_length)
  features = []
  for index, example in enumerate(examples):
    feature = convert_single_example(example, label_list, max_seq_length, tokenizer, is_regression)
    if index < 3 and not isinstance(example, PaddingInputExample):
      tf.compat.v1.logging.info("*** Example %s ***\ninput_ids: %s\nsegment_ids: %s\nlabel: %s (id = %s)",
                                example.guid, " ".join(map(str, feature.input_ids)),
                                " ".join(map(str, feature.segment_ids)), example.label, feature.label_id)
    features.append(feature)
  return features


def name_to_features(seq_length, is_regression):
  """The tf.io.parse_single_example feature spec of the records written by write_features_to_tfrecord."""
  return {
      "input_ids": tf.io.FixedLenFeature([seq_length], tf.int64),
      "input_mask": tf.io.FixedLenFeature([seq_length], tf.int64),
      "segment_ids": tf.io.FixedLenFeature([seq_length], tf.int64),
      "label_ids": tf.io.FixedLenFeature([], tf.float32 if is_regression else tf.int64),
      "is_real_example": tf.io.FixedLenFeature([], tf.int64),
  }


def _atomic_path(path):
  """Returns a fresh temporary file name next to path (same directory, so os.replace is atomic)."""
  fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".", suffix=".tmp",
                             dir=os.path.dirname(os.path.abspath(path)))
  os.close(fd)
  return tmp


def write_features_to_tfrecord(features, path):
  """Writes InputFeatures as tf.train.Examples to a TFRecord file, atomically.

  label_ids is stored as a float when the features' label_id values are floats (regression), else as int64;
  read the file back with name_to_features(seq_length, is_regression).

  Args:
    features: List of InputFeatures (as returned by convert_examples_to_features).
    path: Output file; it appears only once completely written.
  """
  is_regression = bool(features) and isinstance(features[0].label_id, (float, np.floating))
  tmp = _atomic_path(path)
  try:
    with tf.io.TFRecordWriter(tmp) as writer:
      for feature in features:
        if isinstance(feature.label_id, (float, np.floating)) != is_regression:
          raise ValueError("%s: features mix float (regression) and integer label ids" % path)

        def int64s(values):
          return tf.train.Feature(int64_list=tf.train.Int64List(value=list(values)))

        label = (tf.train.Feature(float_list=tf.train.FloatList(value=[feature.label_id])) if is_regression
                 else int64s([feature.label_id]))
        example = tf.train.Example(features=tf.train.Features(feature={
            "input_ids": int64s(feature.input_ids),
            "input_mask": int64s(feature.input_mask),
            "segment_ids": int64s(feature.segment_ids),
            "label_ids": label,
            "is_real_example": int64s([int(feature.is_real_example)]),
        }))
        writer.write(example.SerializeToString())
    os.replace(tmp, path)
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)


# ---------------------------------------------------------------------------------------------------------
# Metrics (pure numpy). preds/labels are class ids for classification, real values for regression.


def accuracy(preds, labels):
  """Fraction of predictions equal to the labels."""
  return float(np.mean(np.asarray(preds) == np.asarray(labels)))


def f1(preds, labels):
  """Binary F1 score of the positive class 1: 2 TP / (2 TP + FP + FN); 0.0 if there are no TP, FP or FN."""
  preds, labels = np.asarray(preds) == 1, np.asarray(labels) == 1
  tp = np.sum(preds & labels)
  denominator = 2 * tp + np.sum(preds & ~labels) + np.sum(~preds & labels)
  return float(2 * tp / denominator) if denominator else 0.0


def matthews_corrcoef(preds, labels):
  """Matthews correlation coefficient (multi-class form of Gorodkin 2004; the usual MCC for 2 classes).

  With confusion matrix C (rows = labels, columns = predictions), s = total, c = trace(C), t = row sums,
  p = column sums: MCC = (c s - t.p) / sqrt((s^2 - p.p) (s^2 - t.t)); 0.0 when the denominator is 0 (e.g.
  a constant prediction), as scikit-learn does.
  """
  preds, labels = np.asarray(preds), np.asarray(labels)
  _, ids = np.unique(np.concatenate([labels, preds]), return_inverse=True)
  k = ids.max() + 1 if ids.size else 0
  confusion = np.zeros((k, k), dtype=np.float64)
  np.add.at(confusion, (ids[:len(labels)], ids[len(labels):]), 1)
  t, p = confusion.sum(axis=1), confusion.sum(axis=0)
  s, c = confusion.sum(), np.trace(confusion)
  denominator = np.sqrt((s * s - p @ p) * (s * s - t @ t))
  return float((c * s - t @ p) / denominator) if denominator else 0.0


def pearson(preds, labels):
  """Pearson correlation coefficient; nan if either input is constant."""
  x = np.asarray(preds, dtype=np.float64) - np.mean(preds)
  y = np.asarray(labels, dtype=np.float64) - np.mean(labels)
  denominator = np.sqrt(np.sum(x * x) * np.sum(y * y))
  return float(np.sum(x * y) / denominator) if denominator else float("nan")


def _average_ranks(values):
  """1-based ranks; tied values all get the mean of the ranks they span."""
  values = np.asarray(values, dtype=np.float64)
  order = np.argsort(values, kind="mergesort")
  sorted_values = values[order]
  ranks = np.empty(len(values), dtype=np.float64)
  start = 0
  while start < len(values):
    end = start
    while end + 1 < len(values) and sorted_values[end + 1] == sorted_values[start]:
      end += 1
    ranks[order[start:end + 1]] = (start + end) / 2.0 + 1.0
    start = end + 1
  return ranks


def spearman(preds, labels):
  """Spearman rank correlation: the Pearson correlation of the average ranks (ties share their mean rank)."""
  return pearson(_average_ranks(preds), _average_ranks(labels))


METRICS = {"accuracy": accuracy, "f1": f1, "mcc": matthews_corrcoef, "pearson": pearson, "spearman": spearman}


def compute_metrics(task_name, preds, labels, is_real_example=None):
  """Computes the task's official GLUE metrics.

  Args:
    task_name: A key of PROCESSORS.
    preds: Predicted class ids [N], or per-class scores [N, num_labels] (arg-maxed); for regression,
      predicted values [N] or [N, 1].
    labels: Gold label ids (or values for regression) [N].
    is_real_example: Optional [N] 0/1 mask; padding examples (0) are left out.

  Returns:
    A dict {metric name: float}, e.g. {"accuracy": ..., "f1": ...} for MRPC and QQP, {"mcc": ...} for CoLA,
    {"pearson": ..., "spearman": ...} for STS-B, {"accuracy": ...} for the others.
  """
  processor = get_processor(task_name)
  preds, labels = np.asarray(preds), np.asarray(labels)
  if processor.is_regression:
    preds = preds.reshape(len(preds))
  elif preds.ndim == 2:
    preds = np.argmax(preds, axis=-1)
  if is_real_example is not None:
    real = np.asarray(is_real_example).astype(bool)
    preds, labels = preds[real], labels[real]
  return {name: METRICS[name](preds, labels) for name in processor.metric_names}


# ---------------------------------------------------------------------------------------------------------
# Prediction files.


def _write_text_atomically(path, text):
  tmp = _atomic_path(path)
  try:
    with open(tmp, "w", encoding="utf-8") as f:
      f.write(text)
    os.replace(tmp, path)
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)


def write_predictions(output_dir, task_name, examples, predictions):
  """Writes test_results.tsv and the GLUE leaderboard file <submission_name>.tsv, atomically.

  test_results.tsv has one line per real example, as Google's run_classifier.py wrote it: the class
  probabilities separated by tabs (or the predicted value, for regression). The leaderboard file has the
  header "index<TAB>prediction" and one line per real example: the example's index (from its guid) and the
  predicted label as written in GLUE's files (e.g. 1, entailment), or for STS-B the score clipped to [0, 5]
  with 3 decimals. Tasks without a GLUE leaderboard (XNLI) get test_results.tsv only.

  Args:
    output_dir: Existing directory for the files.
    task_name: A key of PROCESSORS.
    examples: The predicted examples, in order; PaddingInputExamples and their predictions are skipped.
    predictions: One entry per example: class probabilities [num_labels] or a regression value.

  Returns:
    The list of written paths.
  """
  processor = get_processor(task_name)
  if len(predictions) != len(examples):
    raise ValueError("write_predictions: %d predictions for %d examples" % (len(predictions), len(examples)))
  results, submission = [], ["index\tprediction"]
  for example, prediction in zip(examples, predictions):
    if isinstance(example, PaddingInputExample):
      continue
    values = np.asarray(prediction).reshape(-1)
    results.append("\t".join(str(v) for v in values))
    index = example.guid.rsplit("-", 1)[-1]
    if processor.is_regression:
      submission.append("%s\t%.3f" % (index, np.clip(values[0], 0.0, 5.0)))
    else:
      submission.append("%s\t%s" % (index, processor.get_labels()[int(np.argmax(values))]))

  paths = [os.path.join(output_dir, "test_results.tsv")]
  _write_text_atomically(paths[0], "".join(line + "\n" for line in results))
  if processor.submission_name:
    paths.append(os.path.join(output_dir, processor.submission_name + ".tsv"))
    _write_text_atomically(paths[1], "".join(line + "\n" for line in submission))
  return paths
