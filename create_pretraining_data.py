# coding=utf-8
"""Creates masked-LM / next-sentence-prediction TFRecords for BERT pretraining.

Same flags (plus --shuffle_buffer_size), input format, algorithm and output features as Google's
`create_pretraining_data.py`:
  * input: plain text, one sentence per line, documents separated by blank lines;
  * each document is cut into chunks of about `max_seq_length - 3` tokens (with probability
    `short_seq_prob` a shorter random target length, drawn once per document as in Google's code);
    a chunk is split at a random sentence boundary into segment A and B; with probability 1/2 (always
    for one-sentence chunks) B is replaced by text from a random other document ("random next");
  * the pair is truncated to fit by removing tokens one at a time from the longer segment, each time
    from its front or back at random;
  * `masked_lm_prob` of the tokens (at most `max_predictions_per_seq`, at least 1) are chosen for
    prediction, optionally whole words at a time; 80% become [MASK], 10% a random vocabulary token,
    10% stay unchanged;
  * features: input_ids, input_mask, segment_ids, masked_lm_positions, masked_lm_ids,
    next_sentence_labels (int64) and masked_lm_weights (float), read by run_pretraining's input_fn.

Differences from Google's script, all to keep memory bounded and the run fast:
  * Memory holds the input files' token ids (~8 bytes per token, about twice the text's size) and the
    shuffle buffer, never all instances: peak memory does not grow with dupe_factor. Each of the
    `dupe_factor` passes visits the documents of all input files in one random order, so every stretch
    of the output mixes all files. Random-next segments come from another document of the same input
    file: put text that should be told apart only by topic into one file (e.g. one file per book, so
    that "next or not" cannot be answered from an author's style), and shard a corpus too large for
    memory into files of many documents each, run one at a time (as NVIDIA's scripts do).
  * Instead of shuffling all instances, instances pass through a shuffle buffer of
    `--shuffle_buffer_size` serialized examples before being written round-robin to the outputs.
  * Text is tokenized once, straight to ids; instances are built on id lists; the fixed-schema
    tf.train.Example protobuf is encoded directly to bytes (parses identically).
  * Random numbers come from Python's `random.Random(random_seed)`: the output is deterministic for a
    given seed and input, but not bit-identical to Google's.
  * Outputs are written to temporary files and renamed when complete.
  * TFRecords are written without TensorFlow (imported only for remote gs:// etc. paths), so a run needs
    little memory and no TensorFlow start-up.
  * Characters that are not text (bytes that are not UTF-8, control characters) are counted per input file:
    a warning names the file and the count, and more than MAX_NOT_TEXT_SHARE (1%) of its characters is an
    error. Errors (a missing file, an output that cannot be written, a bad flag) print one line
    "create_pretraining_data.py: error: ..." and exit with status 2.
"""
import bisect
import collections
import glob
import operator
import os
import random
import re
import struct
import time

from absl import flags, logging
import numpy as np

import tokenization
from utils import cli

FLAGS = flags.FLAGS

FEATURE_NAMES = ("input_ids", "input_mask", "segment_ids", "masked_lm_positions", "masked_lm_ids",
                 "masked_lm_weights", "next_sentence_labels")
_NUM_LOGGED_EXAMPLES = 5
_LOG_EVERY = 10000
# An input file where more than this share of the characters are not text (bytes that are not UTF-8, read as
# U+FFFD, and control characters) is refused. Clean UTF-8 text has none; a few stray Latin-1 bytes or control
# characters in a large file stay far below 1% (and are warned about); a file in another encoding has every
# accented letter replaced (about 1-3% of the characters of German or French text), binary data most of its
# bytes.
MAX_NOT_TEXT_SHARE = 0.01
# C0 and C1 control characters other than the whitespace \t \n \v \f \r.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")

# One training example before padding. input_ids is [CLS] A [SEP] B [SEP] after masking; segment A
# spans positions 0 .. num_a + 1; masked_lm_ids are the original ids at masked_lm_positions.
TrainingInstance = collections.namedtuple(
    "TrainingInstance", ["input_ids", "num_a", "masked_lm_positions", "masked_lm_ids", "is_random_next"])


class MaskingVocab(collections.namedtuple("MaskingVocab",
                                          ["cls_id", "sep_id", "mask_id", "ids", "is_subword"])):
  """The vocabulary facts instance creation needs: special ids, all ids, which ids are "##" pieces."""

  @classmethod
  def from_tokenizer(cls, tokenizer):
    """Builds it from a tokenization.FullTokenizer."""
    vocab = tokenizer.vocab
    for token in ("[CLS]", "[SEP]", "[MASK]"):
      if token not in vocab:
        raise ValueError("The vocab has no %s token" % token)
    is_subword = [False] * (max(vocab.values()) + 1)
    for token, index in vocab.items():
      is_subword[index] = token.startswith("##")
    return cls(vocab["[CLS]"], vocab["[SEP]"], vocab["[MASK]"], list(vocab.values()), is_subword)


def _gfile():
  """tf.io.gfile, imported only for remote paths (gs://, hdfs://, ...): local runs need no TensorFlow."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  return tf.io.gfile


def expand_input_files(input_file):
  """Expands a comma-separated list of files and glob patterns, in order.

  Raises:
    ValueError: naming a pattern that matches nothing or a file that does not exist.
  """
  files = []
  for pattern in (p.strip() for p in input_file.split(",")):
    if not pattern:
      continue
    if any(c in pattern for c in "*?["):
      matches = sorted(_gfile().glob(pattern) if "://" in pattern else glob.glob(pattern))
      if not matches:
        raise ValueError("--input_file pattern %s matches no files" % pattern)
      files.extend(matches)
    else:
      if not (_gfile().exists(pattern) if "://" in pattern else os.path.isfile(pattern)):
        raise ValueError("--input_file %s does not exist" % pattern)
      files.append(pattern)
  if not files:
    raise ValueError("--input_file is empty")
  return files


def _open_text(path):
  if "://" in path:
    return _gfile().GFile(path, "r")
  return open(path, encoding="utf-8", errors="replace")


def _tokenize_to_ids_function(tokenizer):
  """tokenizer.tokenize_to_ids, or Google's API equivalent for tokenizers without it."""
  if hasattr(tokenizer, "tokenize_to_ids"):
    return tokenizer.tokenize_to_ids
  return lambda text: tokenizer.convert_tokens_to_ids(tokenizer.tokenize(text))


def read_documents(input_file, tokenizer, counts=None):
  """Reads one text file into documents of token ids.

  Args:
    input_file: one sentence per line, blank lines between documents.
    tokenizer: a tokenization.FullTokenizer (its tokenize_to_ids is used when present).
    counts: an optional collections.Counter, given the file's "characters", "replaced" (bytes that are not
      UTF-8) and "control" (control characters other than whitespace), for `check_text_share`.

  Returns:
    A list of documents, each a pair (ids, offsets): ids is the flat list of the document's token ids,
    sentence k is ids[offsets[k]:offsets[k + 1]]. Lines without tokens are dropped, documents without
    sentences too.
  """
  tokenize_to_ids = _tokenize_to_ids_function(tokenizer)
  documents = []
  ids, offsets = [], [0]
  with _open_text(input_file) as reader:
    for line in reader:
      if counts is not None:
        counts.update(characters=len(line), replaced=line.count("\ufffd"),
                      control=len(_CONTROL_CHARACTERS.findall(line)))
      if not line.strip():
        if len(offsets) > 1:
          documents.append((ids, offsets))
          ids, offsets = [], [0]
        continue
      sentence = tokenize_to_ids(line)
      if sentence:
        ids.extend(sentence)
        offsets.append(len(ids))
  if len(offsets) > 1:
    documents.append((ids, offsets))
  return documents


def check_text_share(input_file, counts, max_share=MAX_NOT_TEXT_SHARE):
  """Warns about characters that are not text in `input_file` (the tokenizer drops them, so "café" in
  Latin-1 becomes "caf"); a ValueError when they are more than `max_share` of its characters.

  Args:
    input_file: the file, for messages.
    counts: its counts from `read_documents`.
    max_share: the largest share of such characters accepted.
  """
  bad = counts["replaced"] + counts["control"]
  if not bad:
    return
  text = "%s: %d of %d characters are not text (not UTF-8: %d, control characters: %d)" % (
      input_file, bad, counts["characters"], counts["replaced"], counts["control"])
  if bad > max_share * counts["characters"]:
    raise ValueError("%s: more than %g%%; is it binary, or not UTF-8 (convert it with iconv)?" % (
        text, 100 * max_share))
  logging.warning("%s; the tokenizer drops them", text)


def create_training_instances(input_files, tokenizer, max_seq_length, dupe_factor, short_seq_prob,
                              masked_lm_prob, max_predictions_per_seq, rng, do_whole_word_mask=False):
  """Returns an iterator of TrainingInstances from raw text files.

  Reads and tokenizes every file, then makes `dupe_factor` passes over all their documents, each pass in
  a new random order across files (each pass draws new segment boundaries, random-next pairs and masks;
  a random-next segment comes from another document of the same file).

  Args:
    input_files: list of text files (one sentence per line, blank lines between documents).
    tokenizer: a tokenization.FullTokenizer.
    max_seq_length: maximum number of tokens per instance, [CLS] and [SEP]s included (>= 5).
    dupe_factor: number of passes over each file.
    short_seq_prob: probability that a document uses a shorter random target length.
    masked_lm_prob: fraction of tokens to predict.
    max_predictions_per_seq: maximum number of predicted tokens per instance.
    rng: a random.Random.
    do_whole_word_mask: mask all pieces of a word together.

  Returns:
    A generator of TrainingInstance tuples.

  Raises:
    ValueError: for an argument out of range (at once); while iterating, if no input file has any text or one
      has too many characters that are not text (`check_text_share`).
  """
  _check_args(max_seq_length, dupe_factor, short_seq_prob, masked_lm_prob, max_predictions_per_seq)
  return _generate_instances(input_files, tokenizer, max_seq_length, dupe_factor, short_seq_prob,
                             masked_lm_prob, max_predictions_per_seq, rng, do_whole_word_mask)


def _generate_instances(input_files, tokenizer, max_seq_length, dupe_factor, short_seq_prob, masked_lm_prob,
                        max_predictions_per_seq, rng, do_whole_word_mask):
  vocab = MaskingVocab.from_tokenizer(tokenizer)
  corpora = []  # one list of documents per input file with text
  for input_file in input_files:
    start, counts = time.time(), collections.Counter()
    documents = read_documents(input_file, tokenizer, counts)
    check_text_share(input_file, counts)
    if not documents:
      logging.warning("No text in %s", input_file)
      continue
    logging.info("Read %s: %d documents, %d tokens in %.1f s", input_file, len(documents),
                 sum(len(ids) for ids, _ in documents), time.time() - start)
    corpora.append(documents)
  if not corpora:
    raise ValueError("No text in the input files: %s" % ",".join(input_files))
  every_document = [(c, d) for c, documents in enumerate(corpora) for d in range(len(documents))]
  for _ in range(dupe_factor):
    rng.shuffle(every_document)  # one order across all files per pass: no stretch of output from one file
    for c, d in every_document:
      yield from create_instances_from_document(
          corpora[c], d, max_seq_length, short_seq_prob, masked_lm_prob, max_predictions_per_seq, vocab, rng,
          do_whole_word_mask)


def _check_args(max_seq_length, dupe_factor, short_seq_prob, masked_lm_prob, max_predictions_per_seq):
  if max_seq_length < 5:
    raise ValueError("--max_seq_length must be >= 5, got %d" % max_seq_length)
  if dupe_factor < 1:
    raise ValueError("--dupe_factor must be >= 1, got %d" % dupe_factor)
  if not 0.0 <= short_seq_prob <= 1.0:
    raise ValueError("--short_seq_prob must be in [0, 1], got %g" % short_seq_prob)
  if not 0.0 < masked_lm_prob <= 1.0:
    raise ValueError("--masked_lm_prob must be in (0, 1], got %g" % masked_lm_prob)
  if max_predictions_per_seq < 1:
    raise ValueError("--max_predictions_per_seq must be >= 1, got %d" % max_predictions_per_seq)


def create_instances_from_document(all_documents, document_index, max_seq_length, short_seq_prob,
                                   masked_lm_prob, max_predictions_per_seq, vocab, rng,
                                   do_whole_word_mask=False):
  """Creates the TrainingInstances of one document (Google's segmenting and random-next scheme).

  Args:
    all_documents: list of (ids, offsets) documents as returned by read_documents.
    document_index: which document to cut into instances.
    vocab: a MaskingVocab.
    (other arguments as in create_training_instances)

  Returns:
    A list of TrainingInstance.
  """
  ids, offsets = all_documents[document_index]
  num_sentences = len(offsets) - 1
  # Room for [CLS], [SEP], [SEP]. Most instances fill it; a few (short_seq_prob) are shorter to
  # reduce the mismatch between pretraining and fine-tuning on short inputs.
  max_num_tokens = max_seq_length - 3
  target_seq_length = max_num_tokens
  if rng.random() < short_seq_prob:
    target_seq_length = rng.randint(2, max_num_tokens)

  instances = []
  chunk_start = 0  # First sentence of the chunk being collected.
  i = 0
  while i < num_sentences:
    if i == num_sentences - 1 or offsets[i + 1] - offsets[chunk_start] >= target_seq_length:
      num_chunk = i + 1 - chunk_start
      a_end = chunk_start + (rng.randint(1, num_chunk - 1) if num_chunk >= 2 else 1)
      a_lo, a_hi = offsets[chunk_start], offsets[a_end]
      if num_chunk == 1 or rng.random() < 0.5:
        is_random_next = True
        # Up to 10 draws to find another document; a one-document corpus pairs with itself.
        for _ in range(10):
          random_index = rng.randint(0, len(all_documents) - 1)
          if random_index != document_index:
            break
        b_ids, b_offsets = all_documents[random_index]
        b_start = rng.randint(0, len(b_offsets) - 2)
        # Whole sentences from b_start until reaching the target length (or the document's end).
        target_b_length = target_seq_length - (a_hi - a_lo)
        b_end = bisect.bisect_left(b_offsets, b_offsets[b_start] + target_b_length, b_start + 1)
        b_lo, b_hi = b_offsets[b_start], b_offsets[min(b_end, len(b_offsets) - 1)]
        i = a_end - 1  # The chunk's unused sentences start the next chunk.
      else:
        is_random_next = False
        b_ids, b_lo, b_hi = ids, offsets[a_end], offsets[i + 1]
      cut_a, cut_b = truncation_counts(a_hi - a_lo, b_hi - b_lo, max_num_tokens)
      if cut_a:
        front = bin(rng.getrandbits(cut_a)).count("1")  # Each removal: front or back, p = 1/2.
        a_lo, a_hi = a_lo + front, a_hi - (cut_a - front)
      if cut_b:
        front = bin(rng.getrandbits(cut_b)).count("1")
        b_lo, b_hi = b_lo + front, b_hi - (cut_b - front)
      tokens = [vocab.cls_id, *ids[a_lo:a_hi], vocab.sep_id, *b_ids[b_lo:b_hi], vocab.sep_id]
      positions, labels = create_masked_lm_predictions(
          tokens, a_hi - a_lo, masked_lm_prob, max_predictions_per_seq, vocab, rng, do_whole_word_mask)
      instances.append(TrainingInstance(tokens, a_hi - a_lo, positions, labels, is_random_next))
      chunk_start = i + 1
    i += 1
  return instances


def truncation_counts(len_a, len_b, max_num_tokens):
  """How many tokens Google's truncate_seq_pair removes from each segment.

  It removes one token at a time from the longer segment (B on ties) until the pair fits.

  Returns:
    (tokens removed from A, tokens removed from B).
  """
  excess = len_a + len_b - max_num_tokens
  if excess <= 0:
    return 0, 0
  if len_a > len_b:
    cut_a, cut_b = min(excess, len_a - len_b), 0
  else:
    cut_a, cut_b = 0, min(excess, len_b - len_a)
  rest = excess - cut_a - cut_b  # Once equal, removals alternate B, A, B, ...
  return cut_a + rest // 2, cut_b + (rest + 1) // 2


def create_masked_lm_predictions(tokens, num_a, masked_lm_prob, max_predictions_per_seq, vocab, rng,
                                 do_whole_word_mask=False):
  """Masks `tokens` ([CLS] A [SEP] B [SEP] ids) in place for the masked LM task.

  Args:
    tokens: list of ids, modified in place.
    num_a: length of segment A (the [SEP]s are at num_a + 1 and at the end).
    masked_lm_prob, max_predictions_per_seq, rng, do_whole_word_mask: as in create_training_instances.
    vocab: a MaskingVocab.

  Returns:
    (masked positions in increasing order, the original ids at those positions).
  """
  num_tokens = len(tokens)
  num_to_predict = min(max_predictions_per_seq, max(1, int(round(num_tokens * masked_lm_prob))))
  random_ = rng.random
  if do_whole_word_mask:
    positions = _choose_whole_words(tokens, num_a, num_to_predict, vocab.is_subword, rng)
  else:
    # A uniform random subset of the candidates (all positions but [CLS] and the two [SEP]s), drawn as
    # indexes 0 .. num_candidates - 1 with Floyd's algorithm.
    num_candidates = num_tokens - 3
    chosen = set()
    for j in range(num_candidates - min(num_to_predict, num_candidates), num_candidates):
      t = int(random_() * (j + 1))
      chosen.add(j if t in chosen else t)
    positions = sorted([p + 1 if p < num_a else p + 2 for p in chosen])
  labels = [tokens[p] for p in positions]
  num_ids = len(vocab.ids)
  for p in positions:
    r = random_()
    if r < 0.8:
      tokens[p] = vocab.mask_id
    elif r >= 0.9:  # 10% a random vocabulary token; the other 10% keep the original.
      tokens[p] = vocab.ids[int(random_() * num_ids)]
  return positions, labels


def _choose_whole_words(tokens, num_a, num_to_predict, is_subword, rng):
  """Google's whole-word selection: shuffle words ("##" pieces join the word before), take words
  while they fit in num_to_predict. Returns the sorted positions."""
  words = []
  sep_a, last = num_a + 1, len(tokens) - 1
  for p in range(1, last):
    if p == sep_a:
      continue
    if words and is_subword[tokens[p]]:
      words[-1].append(p)
    else:
      words.append([p])
  rng.shuffle(words)
  positions = []
  for word in words:
    if len(positions) >= num_to_predict:
      break
    if len(positions) + len(word) <= num_to_predict:
      positions.extend(word)
  positions.sort()
  return positions


def _varint(value):
  """Protobuf base-128 varint encoding of a non-negative int."""
  out = bytearray()
  while value > 0x7F:
    out.append((value & 0x7F) | 0x80)
    value >>= 7
  out.append(value)
  return bytes(out)


class ExampleEncoder(object):
  """Serializes TrainingInstances as tf.train.Example protobuf bytes with Google's features.

  The schema is fixed, so the bytes are assembled directly: Example{features: Features{feature:
  map<string, Feature>}}, each Feature an Int64List (packed varints) or FloatList (packed float32);
  the parts that depend only on lengths are precomputed.
  """

  def __init__(self, max_seq_length, max_predictions_per_seq, vocab_size):
    self.max_seq_length = max_seq_length
    self.max_predictions_per_seq = max_predictions_per_seq
    # Varints of every id and of every length up to a bound on the example size (ids < 2**21: <= 3 bytes).
    max_bytes = 5 * max_seq_length + 10 * max_predictions_per_seq + 512
    self._varints = [_varint(i) for i in range(max(vocab_size, max_bytes))]
    self._keys = {name: b"\n" + self._varints[len(name)] + name.encode() for name in FEATURE_NAMES}
    self._input_mask = [self._entry("input_mask", b"\x01" * n + bytes(max_seq_length - n))
                        for n in range(max_seq_length + 1)]
    self._segment_prefix = self._entry("segment_ids", bytes(max_seq_length))[:-max_seq_length]
    self._weights = [self._entry("masked_lm_weights", struct.pack("<f", 1.0) * n +
                                 bytes(4 * (max_predictions_per_seq - n)), float_list=True)
                     for n in range(max_predictions_per_seq + 1)]
    self._labels = [self._entry("next_sentence_labels", label) for label in (b"\x00", b"\x01")]

  def _packed(self, values):
    """Packed varints of a list of ints (itemgetter does the lookups in C)."""
    if len(values) > 1:
      return b"".join(operator.itemgetter(*values)(self._varints))
    return b"".join([self._varints[v] for v in values])

  def _entry(self, name, packed, float_list=False):
    """One map entry of Features: the key and a Feature holding one packed list."""
    varints = self._varints
    value_list = b"\n" + varints[len(packed)] + packed
    feature = (b"\x12" if float_list else b"\x1a") + varints[len(value_list)] + value_list
    entry = self._keys[name] + b"\x12" + varints[len(feature)] + feature
    return b"\n" + varints[len(entry)] + entry

  def encode(self, instance):
    """Returns the serialized tf.train.Example of `instance`, padded to the fixed lengths."""
    num_tokens = len(instance.input_ids)
    pad = self.max_seq_length - num_tokens
    num_masked = len(instance.masked_lm_positions)
    mask_pad = self.max_predictions_per_seq - num_masked
    if pad < 0 or mask_pad < 0:
      raise ValueError("Instance with %d tokens, %d predictions does not fit max_seq_length=%d, "
                       "max_predictions_per_seq=%d" % (num_tokens, num_masked, self.max_seq_length,
                                                       self.max_predictions_per_seq))
    num_segment_a = instance.num_a + 2
    features = b"".join((
        self._entry("input_ids", self._packed(instance.input_ids) + bytes(pad)),
        self._input_mask[num_tokens],
        self._segment_prefix, bytes(num_segment_a), b"\x01" * (num_tokens - num_segment_a), bytes(pad),
        self._entry("masked_lm_positions", self._packed(instance.masked_lm_positions) + bytes(mask_pad)),
        self._entry("masked_lm_ids", self._packed(instance.masked_lm_ids) + bytes(mask_pad)),
        self._weights[num_masked],
        self._labels[instance.is_random_next],
    ))
    return b"\n" + self._varints[len(features)] + features


class _MaskedCrc32c(object):
  """TFRecord checksums (CRC-32C, masked) of many byte strings at once, with numpy.

  CRC-32C without initial/final inversion is linear: the checksum of a message is the XOR over its
  bytes of a table entry for (byte value, distance from the end), and leading zero bytes add nothing.
  So the records are right-aligned in a zero-padded matrix and reduced with one gather and one XOR;
  the effect of the initial 0xFFFFFFFF register depends only on the length.
  """

  def __init__(self):
    table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
      table = np.where(table & 1, (table >> 1) ^ np.uint32(0x82F63B78), table >> 1).astype(np.uint32)
    self._table = table
    self._by_distance = table[None, :]  # [distance from end, byte value] -> contribution.
    self._init_effect = np.array([0xFFFFFFFF], np.uint32)  # [length] -> effect of the initial register.

  def _advance(self, crc):
    """The register after one more zero byte."""
    return self._table[crc & 0xFF] ^ (crc >> 8)

  def _grow(self, max_length):
    rows = [self._by_distance[-1]]
    for _ in range(max_length - len(self._by_distance)):
      rows.append(self._advance(rows[-1]))
    self._by_distance = np.concatenate([self._by_distance, np.stack(rows[1:])])
    effects = list(self._init_effect)
    for _ in range(max_length + 1 - len(self._init_effect)):
      effects.append(self._advance(effects[-1]))
    self._init_effect = np.array(effects, np.uint32)

  def __call__(self, records):
    """Returns the masked CRC-32C of each record as a uint32 array."""
    lengths = np.fromiter(map(len, records), dtype=np.int64, count=len(records))
    max_length = int(lengths.max())
    if max_length > len(self._by_distance):
      self._grow(max_length)
    data = np.zeros((len(records), max_length), np.int32)
    data[np.arange(max_length)[None, :] >= (max_length - lengths)[:, None]] = np.frombuffer(
        b"".join(records), np.uint8)
    data += np.arange(max_length - 1, -1, -1, dtype=np.int32)[None, :] * 256
    crc = np.bitwise_xor.reduce(self._by_distance.ravel()[data], axis=1)
    crc ^= self._init_effect[lengths] ^ np.uint32(0xFFFFFFFF)
    return ((crc >> 15) | (crc << 17)) + np.uint32(0xA282EAD8)


class TFRecordWriter(object):
  """Writes a TFRecord file (as tf.io.TFRecordWriter does, without importing TensorFlow).

  Each record is: uint64 length, masked CRC-32C of the length, the data, masked CRC-32C of the data
  (little-endian). Records are buffered and checksummed in batches.
  """

  def __init__(self, path, batch_size=2048):
    if "://" in path:
      self._file = _gfile().GFile(path, "wb")
    else:
      self._file = open(path, "wb")
    self._batch_size = batch_size
    self._records = []
    self._crc = _MaskedCrc32c()

  def write(self, record):
    self._records.append(record)
    if len(self._records) >= self._batch_size:
      self.flush()

  def flush(self):
    if not self._records:
      return
    headers = [struct.pack("<Q", len(r)) for r in self._records]
    header_crcs = self._crc(headers).astype("<u4").tobytes()
    data_crcs = self._crc(self._records).astype("<u4").tobytes()
    parts = []
    for i, (header, record) in enumerate(zip(headers, self._records)):
      parts += (header, header_crcs[4 * i:4 * i + 4], record, data_crcs[4 * i:4 * i + 4])
    self._file.write(b"".join(parts))
    self._records = []

  def close(self):
    if self._file is not None:
      self.flush()
      self._file.close()
      self._file = None

  def abort(self):
    """Closes the file without writing the buffered records."""
    self._records = []
    if self._file is not None:
      self._file.close()
      self._file = None


def _log_instance(instance, tokenizer):
  tokens = tokenizer.convert_ids_to_tokens(instance.input_ids)
  logging.info("*** Example ***\ntokens: %s\nsegment A length: %d\nmasked_lm_positions: %s\n"
               "masked_lm_labels: %s\nis_random_next: %s", " ".join(tokens), instance.num_a,
               instance.masked_lm_positions,
               " ".join(tokenizer.convert_ids_to_tokens(instance.masked_lm_ids)),
               instance.is_random_next)


def _open_outputs(output_files):
  """Opens a TFRecordWriter on a temporary name beside each output, creating its directory.

  Returns:
    (the temporary paths, their writers).

  Raises:
    ValueError: naming an output that cannot be written (a directory, under a file, or refused).
  """
  tmp_files, writers = [], []
  for path in output_files:
    directory, name = os.path.split(path)
    try:
      if "://" in directory:
        _gfile().makedirs(directory)
      else:
        _check_local_output(path)
        os.makedirs(directory or ".", exist_ok=True)
      tmp_files.append(os.path.join(directory, ".%s.tmp-%d" % (name, os.getpid())))
      writers.append(TFRecordWriter(tmp_files[-1]))
    except OSError as e:
      _discard(writers, tmp_files)
      raise ValueError("--output_file %s cannot be written: %s" % (path, e.strerror or e)) from None
    except ValueError:
      _discard(writers, tmp_files)
      raise
  return tmp_files, writers


def _check_local_output(path):
  """A ValueError when the local output `path` is a directory or lies under a file."""
  if os.path.isdir(path):
    raise ValueError("--output_file %s is a directory" % path)
  parent = os.path.dirname(path)
  while parent and not os.path.exists(parent):
    parent = os.path.dirname(parent)
  if parent and not os.path.isdir(parent):
    raise ValueError("--output_file %s: %s is a file, not a directory" % (path, parent))


def _discard(writers, tmp_files):
  """Closes `writers` without writing their buffered records and removes the temporary files."""
  for writer in writers:
    writer.abort()
  for tmp in tmp_files:
    if "://" in tmp:
      if _gfile().exists(tmp):
        _gfile().remove(tmp)
    elif os.path.exists(tmp):
      os.remove(tmp)


def write_instances_to_example_files(instances, tokenizer, max_seq_length, max_predictions_per_seq,
                                     output_files, rng, shuffle_buffer_size=20000):
  """Shuffles instances through a buffer and writes them round-robin to TFRecord files.

  Each output is written under a temporary name in its directory and renamed when all are complete,
  so an interrupted run leaves no finished-looking file.

  Args:
    instances: iterable of TrainingInstance.
    tokenizer: the tokenization.FullTokenizer that made them (vocab size, logged examples).
    max_seq_length: padded length of input_ids, input_mask, segment_ids.
    max_predictions_per_seq: padded length of masked_lm_positions / _ids / _weights.
    output_files: list of output paths.
    rng: a random.Random for the shuffle buffer.
    shuffle_buffer_size: number of serialized examples held for shuffling (1 = no shuffling).

  Returns:
    The number of examples written.
  """
  encoder = ExampleEncoder(max_seq_length, max_predictions_per_seq, len(tokenizer.inv_vocab))
  tmp_files, writers = _open_outputs(output_files)
  count, start = 0, time.time()

  def write(record):
    nonlocal count
    writers[count % len(writers)].write(record)
    count += 1
    if count % _LOG_EVERY == 0:
      logging.info("Wrote %d instances (%.0f instances/s)", count, count / (time.time() - start))

  try:
    buffer = []
    for n, instance in enumerate(instances):
      if n < _NUM_LOGGED_EXAMPLES:
        _log_instance(instance, tokenizer)
      record = encoder.encode(instance)
      if len(buffer) < shuffle_buffer_size:
        buffer.append(record)
      else:
        j = rng.randrange(shuffle_buffer_size)
        write(buffer[j])
        buffer[j] = record
    rng.shuffle(buffer)
    for record in buffer:
      write(record)
    for writer in writers:
      writer.close()
    for tmp, path in zip(tmp_files, output_files):
      if "://" in path:
        _gfile().rename(tmp, path, overwrite=True)
      else:
        os.replace(tmp, path)
  except BaseException:
    _discard(writers, tmp_files)
    raise
  logging.info("Wrote %d total instances to %s (%.0f instances/s)", count, ",".join(output_files),
               count / max(time.time() - start, 1e-9))
  return count


def define_flags():
  """Defines the command-line flags (Google's); called when run as a script, so that importing this module
  for its functions defines no flags that could clash with another entry point's."""
  flags.DEFINE_string("input_file", None,
                      "Input raw text file (or comma-separated list of files or glob patterns).")
  flags.DEFINE_string("output_file", None, "Output TF example file (or comma-separated list of files).")
  flags.DEFINE_string("vocab_file", None, "The vocabulary file that the BERT model was trained on.")
  flags.DEFINE_bool("do_lower_case", True, "Whether to lower case the input text. Should be True for "
                    "uncased models and False for cased models.")
  flags.DEFINE_bool("do_whole_word_mask", False,
                    "Whether to use whole word masking rather than per-WordPiece masking.")
  flags.DEFINE_integer("max_seq_length", 128, "Maximum sequence length.")
  flags.DEFINE_integer("max_predictions_per_seq", 20, "Maximum number of masked LM predictions per sequence.")
  flags.DEFINE_integer("random_seed", 12345, "Random seed for data generation.")
  flags.DEFINE_integer("dupe_factor", 10, "Number of times to duplicate the input data (with different masks).")
  flags.DEFINE_float("masked_lm_prob", 0.15, "Masked LM probability.")
  flags.DEFINE_float("short_seq_prob", 0.1,
                     "Probability of creating sequences which are shorter than the maximum length.")
  flags.DEFINE_integer("shuffle_buffer_size", 20000, "Instances are shuffled through a buffer of this many "
                       "serialized examples (Google's shuffles all; this bounds memory).")


def main(_):
  logging.set_verbosity(logging.INFO)
  for name in ("input_file", "output_file", "vocab_file"):
    if not FLAGS[name].value:
      raise ValueError("--%s is required" % name)
  tokenizer = tokenization.FullTokenizer(vocab_file=FLAGS.vocab_file, do_lower_case=FLAGS.do_lower_case)
  input_files = expand_input_files(FLAGS.input_file)
  output_files = [path.strip() for path in FLAGS.output_file.split(",") if path.strip()]
  if not output_files:
    raise ValueError("--output_file is empty")
  if FLAGS.shuffle_buffer_size < 1:
    raise ValueError("--shuffle_buffer_size must be >= 1, got %d" % FLAGS.shuffle_buffer_size)
  logging.info("*** Reading from %d input files, writing to %s ***", len(input_files), ",".join(output_files))
  rng = random.Random(FLAGS.random_seed)
  instances = create_training_instances(
      input_files, tokenizer, FLAGS.max_seq_length, FLAGS.dupe_factor, FLAGS.short_seq_prob,
      FLAGS.masked_lm_prob, FLAGS.max_predictions_per_seq, rng, FLAGS.do_whole_word_mask)
  write_instances_to_example_files(instances, tokenizer, FLAGS.max_seq_length, FLAGS.max_predictions_per_seq,
                                   output_files, rng, FLAGS.shuffle_buffer_size)


if __name__ == "__main__":
  define_flags()
  cli.run_main(main, errors=(ValueError, OSError))   # an OSError names its file
