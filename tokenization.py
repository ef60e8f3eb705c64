# coding=utf-8
"""WordPiece tokenization with the API and semantics of Google's BERT `tokenization.py`.

The public names (`FullTokenizer`, `BasicTokenizer`, `WordpieceTokenizer`, `load_vocab`,
`convert_to_unicode`, `printable_text`, `convert_tokens_to_ids`, `convert_ids_to_tokens`,
`validate_case_matches_checkpoint`, ...) behave like Google's, so code written for Google's
`run_classifier.py` / `run_squad.py` / `create_pretraining_data.py` works unchanged:

  * text is cleaned: NUL, U+FFFD and control characters (categories Cc, Cf) are removed,
    "\\t", "\\n", "\\r" and space separators (Zs) become spaces;
  * every CJK ideograph becomes its own token;
  * with `do_lower_case`, each whitespace token is lower-cased and its accents are stripped
    (NFD, then combining marks Mn are dropped); cased models keep accents;
  * every punctuation character (Unicode P* plus all non-alphanumeric printable ASCII)
    becomes its own token;
  * WordPiece splits each token greedily, longest match first, and a token that cannot be
    covered by the vocabulary, or is longer than `max_input_chars_per_word`, becomes "[UNK]".

Differences from Google's file, all deliberate:
  * `max_input_chars_per_word` defaults to 100 (Hugging Face's value) instead of Google's
    200, so ids match Hugging Face `tokenizers.BertWordPieceTokenizer`; pass 200 to get
    Google's behaviour for words of 101..200 characters.
  * `convert_tokens_to_ids` / `convert_ids_to_tokens` raise ValueError naming the unknown
    item (Google raised a bare KeyError).

Known differences from Hugging Face `tokenizers.BertWordPieceTokenizer` (the ids are equal on every
line of the Gutenberg, wikitext, SQuAD and GLUE corpora, tests/test_tokenization.py): like Google,
lower casing uses Python's `str.lower()` per word (a word-final capital sigma becomes "ς", HF gives
"σ"), and private-use / unassigned code points are kept (HF deletes them).

Speed: `FullTokenizer` memoises the result of every distinct whitespace-separated word (up to
`cache_size` words), skips Unicode normalisation for ASCII words and cleans text with one C-level
`str.translate` / regex pass, so tokenizing natural text costs about one dict lookup per word.
`FullTokenizer.tokenize_to_ids(text)` returns the ids directly (same as
`convert_tokens_to_ids(tokenize(text))`, faster).
"""

import collections
import re
import unicodedata


UNK_TOKEN = "[UNK]"
DEFAULT_MAX_INPUT_CHARS_PER_WORD = 100
DEFAULT_CACHE_SIZE = 200000

# Google's released checkpoint folder names and the casing they were trained with.
_LOWER_CASED_MODELS = ("uncased_L-24_H-1024_A-16", "uncased_L-12_H-768_A-12",
                       "multilingual_L-12_H-768_A-12", "chinese_L-12_H-768_A-12")
_CASED_MODELS = ("cased_L-12_H-768_A-12", "cased_L-24_H-1024_A-16",
                 "multi_cased_L-12_H-768_A-12")

# CJK Unified Ideographs blocks (and extensions / compatibility ideographs), as in Google's BERT.
# Hangul, Hiragana and Katakana are not included: they are written with spaces between words.
_CJK_RANGES = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
               (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))

# ASCII control characters that cleaning deletes (\t, \n, \r are whitespace, not deleted).
_ASCII_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# In a cleaned ASCII word every non-alphanumeric character is punctuation.
_ASCII_PIECE_RE = re.compile("[0-9A-Za-z]+|[^0-9A-Za-z]")


def validate_case_matches_checkpoint(do_lower_case, init_checkpoint):
  """Checks `do_lower_case` against the casing implied by a Google checkpoint's folder name.

  Google's checkpoints do not record their casing, so (like Google's code) this recognises
  the released folder names, e.g. ".../uncased_L-12_H-768_A-12/bert_model.ckpt". Other
  paths are not checked.

  Args:
    do_lower_case: the value of the `--do_lower_case` flag.
    init_checkpoint: the value of the `--init_checkpoint` flag (may be empty or None).

  Raises:
    ValueError: if the checkpoint is a known cased model and `do_lower_case` is True, or a
      known uncased model and `do_lower_case` is False.
  """
  if not init_checkpoint:
    return
  match = re.match("^.*?([A-Za-z0-9_-]+)/bert_model.ckpt", init_checkpoint)
  if match is None:
    return
  model_name = match.group(1)
  if model_name in _LOWER_CASED_MODELS and not do_lower_case:
    wrong, right, casing = "False", "True", "lowercased"
  elif model_name in _CASED_MODELS and do_lower_case:
    wrong, right, casing = "True", "False", "cased"
  else:
    return
  raise ValueError(
      "You passed in `--do_lower_case=%s` with `--init_checkpoint=%s`. However, `%s` seems "
      "to be a %s model, so you should pass in `--do_lower_case=%s` so that the fine-tuning "
      "matches how the model was pre-trained. If this check is wrong for your checkpoint, "
      "rename its folder or remove the call." % (wrong, init_checkpoint, model_name, casing,
                                                 right))


def convert_to_unicode(text):
  """Returns `text` as a `str`, decoding `bytes` as UTF-8 (invalid bytes are dropped).

  Raises:
    ValueError: if `text` is neither `str` nor `bytes`.
  """
  if isinstance(text, str):
    return text
  if isinstance(text, bytes):
    return text.decode("utf-8", "ignore")
  raise ValueError("Unsupported string type: %s" % type(text))


def printable_text(text):
  """Returns `text` as a `str` suitable for printing or logging (same as convert_to_unicode)."""
  return convert_to_unicode(text)


def _read_vocab_text(vocab_file):
  """Reads a vocab file as UTF-8 text; remote paths (gs://, hdfs://, ...) go through tf.io.gfile."""
  try:
    if "://" in vocab_file:
      import tensorflow as tf  # pylint: disable=g-import-not-at-top  (only needed for remote files)
      with tf.io.gfile.GFile(vocab_file, "rb") as reader:
        data = reader.read()
    else:
      with open(vocab_file, "rb") as reader:
        data = reader.read()
  except Exception as e:  # OSError, or tf.errors.OpError for remote files.
    raise ValueError("Cannot read vocab file %s: %s" % (vocab_file, e)) from e
  try:
    return data.decode("utf-8")
  except UnicodeDecodeError as e:
    line = data[:e.start].count(b"\n") + 1
    raise ValueError("Vocab file %s is not UTF-8 (line %d)" % (vocab_file, line)) from e


def load_vocab(vocab_file):
  """Loads a vocabulary file (one token per line) into an OrderedDict token -> line index.

  As in Google's code each line is stripped of surrounding whitespace, and a token repeated
  on a later line keeps the later index.

  Args:
    vocab_file: path of the vocab file (local, or any filesystem tf.io.gfile supports).

  Returns:
    collections.OrderedDict mapping token (str) to id (int).

  Raises:
    ValueError: if the file cannot be read, is not UTF-8, or is empty.
  """
  text = _read_vocab_text(vocab_file)
  lines = text.split("\n")
  if lines[-1] == "":
    lines.pop()  # The newline ending the last line does not start another token.
  if not lines:
    raise ValueError("Vocab file %s is empty" % vocab_file)
  vocab = collections.OrderedDict()
  for index, line in enumerate(lines):
    vocab[line.strip()] = index
  return vocab


def convert_by_vocab(vocab, items):
  """Maps each item through `vocab` (tokens to ids, or ids to tokens).

  Raises:
    ValueError: naming the first item that is not in `vocab`.
  """
  try:
    return [vocab[item] for item in items]
  except KeyError as e:
    raise ValueError("%r is not in the vocabulary (%d entries)" % (e.args[0], len(vocab))) from e


def convert_tokens_to_ids(vocab, tokens):
  """Returns the ids of `tokens` in `vocab` (token -> id)."""
  return convert_by_vocab(vocab, tokens)


def convert_ids_to_tokens(inv_vocab, ids):
  """Returns the tokens of `ids` in `inv_vocab` (id -> token)."""
  return convert_by_vocab(inv_vocab, ids)


def whitespace_tokenize(text):
  """Splits `text` on whitespace; returns [] for empty or all-whitespace text."""
  return text.split()


def _is_whitespace(char):
  """True for " ", "\\t", "\\n", "\\r" and Unicode space separators (Zs)."""
  if char in " \t\n\r":
    return True
  return unicodedata.category(char) == "Zs"


def _is_control(char):
  """True for control and format characters (Cc, Cf), except "\\t", "\\n", "\\r"."""
  if char in "\t\n\r":
    return False
  return unicodedata.category(char) in ("Cc", "Cf")


def _is_punctuation(char):
  """True for Unicode punctuation (P*) and for all non-alphanumeric printable ASCII."""
  cp = ord(char)
  if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
    return True
  return unicodedata.category(char).startswith("P")


def _is_chinese_char(cp):
  """True if code point `cp` is a CJK ideograph."""
  return any(low <= cp <= high for low, high in _CJK_RANGES)


# str.translate table applying text cleaning and CJK spacing, learned lazily per character:
# ord(char) -> None (delete), " " (whitespace) or " char " (CJK). Characters that stay as
# they are have no entry; _SEEN_CHARS records every character already classified.
_CLEAN_TABLE = {}
_SEEN_CHARS = set()
_PUNCTUATION_MEMO = {}


def _learn_chars(chars):
  """Adds the cleaning rule of each character in `chars` to _CLEAN_TABLE."""
  for char in chars:
    cp = ord(char)
    if cp == 0 or cp == 0xFFFD or _is_control(char):
      _CLEAN_TABLE[cp] = None
    elif _is_whitespace(char):
      _CLEAN_TABLE[cp] = " "
    elif _is_chinese_char(cp):
      _CLEAN_TABLE[cp] = " " + char + " "
    _SEEN_CHARS.add(char)


def _clean_text_for_split(text):
  """Removes invalid/control characters and spaces out CJK characters.

  The result splits with `str.split()` exactly as Google's cleaned and CJK-spaced text does
  (in ASCII text "\\t", "\\n", "\\r" are left in place: `str.split()` treats them as spaces).
  """
  if text.isascii():
    if _ASCII_CONTROL_RE.search(text) is not None:
      text = _ASCII_CONTROL_RE.sub("", text)
    return text
  new_chars = set(text).difference(_SEEN_CHARS)
  if new_chars:
    _learn_chars(new_chars)
  return text.translate(_CLEAN_TABLE)


def _strip_accents(text):
  """Decomposes `text` (NFD) and drops the combining marks (category Mn)."""
  return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def _split_on_punc(word):
  """Splits a cleaned word so that each punctuation character is a token of its own."""
  if word.isascii():
    return _ASCII_PIECE_RE.findall(word)
  pieces = []
  start = 0
  for i, char in enumerate(word):
    is_punc = _PUNCTUATION_MEMO.get(char)
    if is_punc is None:
      is_punc = _PUNCTUATION_MEMO[char] = _is_punctuation(char)
    if is_punc:
      if start < i:
        pieces.append(word[start:i])
      pieces.append(char)
      start = i + 1
  if start < len(word):
    pieces.append(word[start:])
  return pieces


class BasicTokenizer(object):
  """Runs basic tokenization: cleaning, CJK splitting, lower casing, punctuation splitting."""

  def __init__(self, do_lower_case=True):
    """Constructs a BasicTokenizer.

    Args:
      do_lower_case: whether to lower case the input and strip accents.
    """
    self.do_lower_case = do_lower_case

  def tokenize(self, text):
    """Tokenizes a piece of text (str or UTF-8 bytes) into a list of basic tokens."""
    tokens = []
    for word in _clean_text_for_split(convert_to_unicode(text)).split():
      tokens.extend(self.tokenize_word(word))
    return tokens

  def tokenize_word(self, word):
    """Lower-cases (if configured) and punctuation-splits one whitespace-free cleaned word."""
    if self.do_lower_case:
      word = word.lower()
      if not word.isascii():
        word = _strip_accents(word)
    return _split_on_punc(word)


class WordpieceTokenizer(object):
  """Runs WordPiece tokenization (greedy longest-match-first against a vocabulary)."""

  def __init__(self, vocab, unk_token=UNK_TOKEN,
               max_input_chars_per_word=DEFAULT_MAX_INPUT_CHARS_PER_WORD):
    """Constructs a WordpieceTokenizer.

    Args:
      vocab: dict token -> id; continuation pieces start with "##".
      unk_token: token emitted for a word the vocabulary cannot cover.
      max_input_chars_per_word: longer words become `unk_token` (Google used 200,
        Hugging Face uses 100).
    """
    self.vocab = vocab
    self.unk_token = unk_token
    self.max_input_chars_per_word = max_input_chars_per_word
    # No vocabulary entry is longer than this, so longer candidate pieces need no lookup.
    self._max_piece_chars = max((len(token) for token in vocab), default=0)

  def tokenize(self, text):
    """Tokenizes text into word pieces.

    For example, "unaffable" -> ["un", "##aff", "##able"].

    Args:
      text: a single token or whitespace separated tokens, already passed through
        `BasicTokenizer`.

    Returns:
      A list of wordpiece tokens.
    """
    tokens = []
    for word in convert_to_unicode(text).split():
      tokens.extend(self.tokenize_word(word))
    return tokens

  def tokenize_word(self, word):
    """Returns the word pieces of one whitespace-free word ([unk_token] if it cannot be split)."""
    if len(word) > self.max_input_chars_per_word:
      return [self.unk_token]
    vocab = self.vocab
    pieces = []
    start = 0
    prefix = ""
    while start < len(word):
      end = len(word)
      if end - start > self._max_piece_chars:
        end = start + self._max_piece_chars
      while end > start:
        piece = prefix + word[start:end]
        if piece in vocab:
          break
        end -= 1
      else:
        return [self.unk_token]
      pieces.append(piece)
      start = end
      prefix = "##"
    return pieces


class FullTokenizer(object):
  """Runs end-to-end tokenization: BasicTokenizer, then WordpieceTokenizer.

  Results are memoised per distinct whitespace-separated word: the first `cache_size`
  distinct words are kept (natural text repeats its frequent words early; the bound caps
  memory on any corpus: about 170 bytes per entry, 44 MB after tokenizing the 14 Gutenberg
  books with both `tokenize` and `tokenize_to_ids`). The tokenizer's settings must not be
  changed after construction.
  """

  def __init__(self, vocab_file, do_lower_case=True,
               max_input_chars_per_word=DEFAULT_MAX_INPUT_CHARS_PER_WORD,
               cache_size=DEFAULT_CACHE_SIZE):
    """Constructs a FullTokenizer.

    Args:
      vocab_file: path of the WordPiece vocab file (one token per line, with "[UNK]").
      do_lower_case: whether to lower case and strip accents (True for uncased models).
      max_input_chars_per_word: longer words become "[UNK]".
      cache_size: how many distinct words to memoise (0 disables the cache).

    Raises:
      ValueError: if the vocab file cannot be read or has no "[UNK]" token.
    """
    self.vocab = load_vocab(vocab_file)
    if UNK_TOKEN not in self.vocab:
      raise ValueError("Vocab file %s has no %s token" % (vocab_file, UNK_TOKEN))
    self.inv_vocab = {v: k for k, v in self.vocab.items()}
    self.basic_tokenizer = BasicTokenizer(do_lower_case=do_lower_case)
    self.wordpiece_tokenizer = WordpieceTokenizer(
        vocab=self.vocab, max_input_chars_per_word=max_input_chars_per_word)
    self.cache_size = cache_size
    self._token_cache = {}  # word -> tuple of tokens
    self._id_cache = {}  # word -> tuple of ids
    self._piece_cache = {}  # basic token -> tuple of wordpiece tokens

  def tokenize(self, text):
    """Returns the wordpiece tokens (list of str) of `text` (str or UTF-8 bytes)."""
    return self._run(text, self._token_cache, self._word_tokens)

  def tokenize_to_ids(self, text):
    """Returns the wordpiece ids of `text`: `convert_tokens_to_ids(tokenize(text))`, faster."""
    return self._run(text, self._id_cache, self._word_ids)

  def convert_tokens_to_ids(self, tokens):
    return convert_by_vocab(self.vocab, tokens)

  def convert_ids_to_tokens(self, ids):
    return convert_by_vocab(self.inv_vocab, ids)

  def _word_tokens(self, word):
    """Wordpiece tokens of one cleaned whitespace-free word, as a tuple."""
    tokens = []
    for piece in self.basic_tokenizer.tokenize_word(word):
      wordpieces = self._piece_cache.get(piece)
      if wordpieces is None:
        wordpieces = tuple(self.wordpiece_tokenizer.tokenize_word(piece))
        if len(self._piece_cache) < self.cache_size:
          self._piece_cache[piece] = wordpieces
      tokens.extend(wordpieces)
    return tuple(tokens)

  def _word_ids(self, word):
    """Wordpiece ids of one cleaned whitespace-free word, as a tuple."""
    vocab = self.vocab
    return tuple(vocab[token] for token in self._word_tokens(word))

  def _run(self, text, cache, word_fn):
    """Concatenates word_fn(word) over the words of `text`, memoised in `cache`."""
    words = _clean_text_for_split(convert_to_unicode(text)).split()
    try:
      return [item for word in words for item in cache[word]]  # Fast path: all words known.
    except KeyError:
      pass
    output = []
    for word in words:
      items = cache.get(word)
      if items is None:
        items = word_fn(word)
        if len(cache) < self.cache_size:
          cache[word] = items
      output.extend(items)
    return output
