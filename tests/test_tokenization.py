"""Tests for tokenization.py: Google's API and semantics, and id parity with Hugging Face tokenizers.

The parity tests compare every line of the shipped real-text sample (data/samples/text: Gutenberg,
wikitext, SQuAD, GLUE, with accented, CJK and other non-ASCII lines) with
`tokenizers.BertWordPieceTokenizer` for the uncased and the cased vocab. The slow test does the same on
every line of the full shared corpora (BERT_SHARED_DATA, default /work/shared/data).
"""
import collections
import glob
import json
import os

import pytest
from tokenizers import BertWordPieceTokenizer

import tokenization
from conftest import SAMPLES

VOCABS = {True: os.path.join(SAMPLES, "vocab", "bert-base-uncased-vocab.txt"),
          False: os.path.join(SAMPLES, "vocab", "bert-base-cased-vocab.txt")}
CASINGS = [pytest.param(True, id="uncased"), pytest.param(False, id="cased")]


def _hf_tokenizer(do_lower_case):
  return BertWordPieceTokenizer(VOCABS[do_lower_case], lowercase=do_lower_case, strip_accents=None,
                                clean_text=True, handle_chinese_chars=True)


def _decode(data):
  """Decodes corpus bytes: UTF-8, or Latin-1 for the two Gutenberg books that are not UTF-8."""
  try:
    return data.decode("utf-8")
  except UnicodeDecodeError:
    return data.decode("latin-1")


def _read_lines(path):
  with open(path, "rb") as f:
    return _decode(f.read()).split("\n")


def _assert_ids_match_hf(named_lines, do_lower_case):
  """Asserts that ids equal Hugging Face's on every (name, line); returns the number of tokens."""
  ours = tokenization.FullTokenizer(VOCABS[do_lower_case], do_lower_case=do_lower_case)
  names, lines = zip(*named_lines)
  expected = [e.ids for e in _hf_tokenizer(do_lower_case).encode_batch(list(lines),
                                                                       add_special_tokens=False)]
  mismatches = [(name, line, ids) for name, line, ids in zip(names, lines, expected)
                if ours.tokenize_to_ids(line) != ids]
  if mismatches:
    name, line, ids = mismatches[0]
    pytest.fail("%d of %d lines differ from HF tokenizers (do_lower_case=%s); first at %s: %r\n"
                "ours: %s\nHF:   %s" % (len(mismatches), len(lines), do_lower_case, name, line[:300],
                                        ours.tokenize(line)[:40],
                                        ours.convert_ids_to_tokens(ids)[:40]))
  return sum(len(ids) for ids in expected)


def _sample_lines():
  """(file:line, text) for every line of the shipped sample."""
  paths = sorted(glob.glob(os.path.join(SAMPLES, "text", "*.txt")))
  assert len(paths) == 5, paths
  return [("%s:%d" % (os.path.basename(p), i + 1), line)
          for p in paths for i, line in enumerate(_read_lines(p))]


@pytest.mark.parametrize("do_lower_case", CASINGS)
def test_ids_match_hf_tokenizers_on_shipped_sample(do_lower_case):
  lines = _sample_lines()
  texts = [text for _, text in lines]
  # The sample exercises more than ASCII: accents, CJK ideographs, typographic punctuation.
  assert len(lines) > 3000
  assert sum(not t.isascii() for t in texts) > 500
  assert any(tokenization._is_chinese_char(ord(c)) for t in texts for c in t)
  num_tokens = _assert_ids_match_hf(lines, do_lower_case)
  assert num_tokens > 100000


@pytest.mark.parametrize("do_lower_case", CASINGS)
def test_google_two_stage_path_and_cache_agree_on_sample(do_lower_case):
  """BasicTokenizer + WordpieceTokenizer (uncached, Google's composition) == cached FullTokenizer."""
  full = tokenization.FullTokenizer(VOCABS[do_lower_case], do_lower_case=do_lower_case)
  tiny_cache = tokenization.FullTokenizer(VOCABS[do_lower_case], do_lower_case=do_lower_case,
                                          cache_size=50)
  basic = tokenization.BasicTokenizer(do_lower_case=do_lower_case)
  wordpiece = tokenization.WordpieceTokenizer(full.vocab)
  for name, line in _sample_lines()[::3]:
    two_stage = [p for token in basic.tokenize(line) for p in wordpiece.tokenize(token)]
    assert full.tokenize(line) == two_stage, name
    assert tiny_cache.tokenize_to_ids(line) == full.convert_tokens_to_ids(two_stage), name
  assert len(tiny_cache._id_cache) == 50
  assert len(full._token_cache) > 1000


def _shared_corpus_lines(root):
  """(source:line, text) for every line of the shared Gutenberg, wikitext, SQuAD and GLUE data."""
  lines = []
  texts = sorted(glob.glob(os.path.join(root, "pretrain_corpus", "gutenberg", "*.txt")))
  texts.append(os.path.join(root, "pretrain_corpus", "wikitext-2-raw", "valid.txt"))
  for path in texts:
    lines += [("%s:%d" % (path, i + 1), t) for i, t in enumerate(_read_lines(path))]
  for path in sorted(glob.glob(os.path.join(root, "squad", "*.json"))):
    with open(path, encoding="utf-8") as f:
      data = json.load(f)["data"]
    for article in data:
      for paragraph in article["paragraphs"]:
        lines.append(("%s:%s" % (path, article["title"]), paragraph["context"]))
        lines += [("%s:%s" % (path, qa["id"]), qa["question"]) for qa in paragraph["qas"]]
  for path in sorted(glob.glob(os.path.join(root, "glue", "**", "*.tsv"), recursive=True)):
    for i, row in enumerate(_read_lines(path)):
      lines += [("%s:%d" % (path, i + 1), field) for field in row.split("\t")]
  return lines


@pytest.mark.slow
@pytest.mark.parametrize("do_lower_case", CASINGS)
def test_ids_match_hf_tokenizers_on_full_shared_corpora(do_lower_case):
  root = os.environ.get("BERT_SHARED_DATA", "/work/shared/data")
  if not os.path.isdir(os.path.join(root, "pretrain_corpus", "gutenberg")):
    pytest.fail("BERT_SHARED_DATA=%s has no pretrain_corpus/gutenberg folder: point BERT_SHARED_DATA at "
                "the shared real-data folder to run this test" % root)
  lines = _shared_corpus_lines(root)
  assert len(lines) > 500000
  _assert_ids_match_hf(lines, do_lower_case)


@pytest.fixture(scope="module")
def uncased():
  return tokenization.FullTokenizer(VOCABS[True], do_lower_case=True)


@pytest.fixture(scope="module")
def cased():
  return tokenization.FullTokenizer(VOCABS[False], do_lower_case=False)


@pytest.mark.parametrize("text,expected", [
    ("a\x00b\x07c\u200bd\ufffde\x7ff", ["abcdef"]),  # NUL, Cc, Cf, U+FFFD, DEL are removed
    ("tab\tnew\nline\rend", ["tab", "new", "line", "end"]),
    ("no\u00a0break\u3000ideographic\u2002en", ["no", "break", "ideographic", "en"]),  # Zs
    ("Héllo ÅNGSTRÖM naïve", ["hello", "angstrom", "naive"]),
    ("中文abc字", ["中", "文", "abc", "字"]),
    ("カタカナ語", ["カタカナ", "語"]),  # Katakana is not a CJK ideograph
    ("Hello,world!?$^`~", ["hello", ",", "world", "!", "?", "$", "^", "`", "~"]),
    ("«Sí» — “quoted”…", ["«", "si", "»", "—", "“", "quoted", "”", "…"]),
    ("\u039f\u0394\u039f\u03a3", ["\u03bf\u03b4\u03bf\u03c2"]),  # str.lower() final sigma, as Google
    ("", []),
    (" \t\n ", []),
])
def test_basic_tokenizer_uncased(text, expected):
  assert tokenization.BasicTokenizer(do_lower_case=True).tokenize(text) == expected


def test_basic_tokenizer_cased_keeps_case_and_accents():
  tokenizer = tokenization.BasicTokenizer(do_lower_case=False)
  assert tokenizer.tokenize(" Héllo ÅNGSTRÖM,naïve ") == ["Héllo", "ÅNGSTRÖM", ",", "naïve"]
  assert tokenizer.tokenize("한국어 단어") == ["한국어", "단어"]  # Hangul is not split per character


@pytest.mark.parametrize("text", [
    "a\x00b\x07c\u200bd\ufffde\x7ff tab\tx", "no\u00a0break\u3000ideo", "Héllo ÅNGSTRÖM naïve", "中文abc字",
    "Hello,world!?$^`~ (x) [y] {z}", "«Sí» — “quoted”…", "", "   ", "a\u2028b\x85c\x0bd"])
@pytest.mark.parametrize("do_lower_case", CASINGS)
def test_edge_cases_match_hf(text, do_lower_case, uncased, cased):
  tokenizer = uncased if do_lower_case else cased
  expected = _hf_tokenizer(do_lower_case).encode(text, add_special_tokens=False).ids
  assert tokenizer.tokenize_to_ids(text) == expected
  assert tokenizer.convert_tokens_to_ids(tokenizer.tokenize(text)) == expected


def test_long_words_become_unk(uncased):
  assert uncased.tokenize("a" * 101) == ["[UNK]"]
  assert uncased.tokenize("x " + "ab" * 60 + " y") == ["x", "[UNK]", "y"]
  assert "[UNK]" not in uncased.tokenize("a" * 100)
  assert uncased.tokenize_to_ids("a" * 101) == [uncased.vocab["[UNK]"]]
  google_limit = tokenization.FullTokenizer(VOCABS[True], max_input_chars_per_word=200)
  assert "[UNK]" not in google_limit.tokenize("a" * 150)


def test_wordpiece_greedy_longest_match():
  tokens = ["[UNK]", "un", "##aff", "##affa", "##able", "##ble", "play", "##ing", "##ed"]
  tokenizer = tokenization.WordpieceTokenizer({token: i for i, token in enumerate(tokens)})
  assert tokenizer.tokenize("unaffable playing played") == [
      "un", "##affa", "##ble", "play", "##ing", "play", "##ed"]
  assert tokenizer.tokenize("unaffableX playing") == ["[UNK]", "play", "##ing"]
  assert tokenizer.tokenize("") == []
  # Greedy without backtracking: "una" wins over "un", then "##ffable" cannot be covered.
  tokenizer = tokenization.WordpieceTokenizer({token: i for i, token in enumerate(tokens + ["una"])})
  assert tokenizer.tokenize("unaffable") == ["[UNK]"]


def test_unknown_characters_become_unk(uncased):
  assert uncased.tokenize("hello \U0001F600 world") == ["hello", "[UNK]", "world"]


def test_bytes_input(uncased):
  assert uncased.tokenize("café".encode("utf-8")) == uncased.tokenize("café") == ["cafe"]
  assert uncased.tokenize_to_ids(b"ab\xffcd") == uncased.tokenize_to_ids("abcd")  # bad UTF-8 dropped
  assert tokenization.convert_to_unicode(b"caf\xc3\xa9") == "café"
  assert tokenization.printable_text(b"caf\xc3\xa9") == "café"
  assert tokenization.printable_text("x") == "x"
  with pytest.raises(ValueError, match="Unsupported string type"):
    tokenization.convert_to_unicode(12)
  with pytest.raises(ValueError, match="Unsupported string type"):
    uncased.tokenize(None)


def test_load_vocab_and_id_conversion(uncased):
  vocab = tokenization.load_vocab(VOCABS[True])
  assert isinstance(vocab, collections.OrderedDict)
  with open(VOCABS[True], encoding="utf-8") as f:
    lines = f.read().splitlines()
  assert len(vocab) == len(lines) == 30522
  assert list(vocab) == [line.strip() for line in lines]
  assert list(vocab.values()) == list(range(len(lines)))
  tokens = uncased.tokenize("The quick brown fox jumped over the unaffable dog.")
  ids = uncased.convert_tokens_to_ids(tokens)
  assert ids == [vocab[t] for t in tokens]
  assert uncased.convert_ids_to_tokens(ids) == tokens
  assert tokenization.convert_tokens_to_ids(vocab, ["[CLS]", "[SEP]"]) == [vocab["[CLS]"], vocab["[SEP]"]]
  assert tokenization.convert_ids_to_tokens(uncased.inv_vocab, [0]) == [lines[0]]
  with pytest.raises(ValueError, match="'notatoken' is not in the vocabulary"):
    uncased.convert_tokens_to_ids(["the", "notatoken"])
  with pytest.raises(ValueError, match="99999999 is not in the vocabulary"):
    uncased.convert_ids_to_tokens([99999999])


def test_load_vocab_errors(tmp_path):
  missing = str(tmp_path / "missing.txt")
  with pytest.raises(ValueError, match="Cannot read vocab file .*missing.txt"):
    tokenization.load_vocab(missing)
  no_unk = tmp_path / "no_unk.txt"
  no_unk.write_text("[PAD]\nhello\n", encoding="utf-8")
  with pytest.raises(ValueError, match="no_unk.txt has no \\[UNK\\] token"):
    tokenization.FullTokenizer(str(no_unk))
  latin1 = tmp_path / "latin1.txt"
  latin1.write_bytes(b"[UNK]\nhello\ncaf\xe9\n")
  with pytest.raises(ValueError, match="latin1.txt is not UTF-8 \\(line 3\\)"):
    tokenization.load_vocab(str(latin1))
  empty = tmp_path / "empty.txt"
  empty.write_bytes(b"")
  with pytest.raises(ValueError, match="empty.txt is empty"):
    tokenization.load_vocab(str(empty))


def test_load_vocab_through_tf_gfile():
  """Paths with a scheme (gs://, hdfs://, file://) are read with tf.io.gfile."""
  assert tokenization.load_vocab("file://" + VOCABS[False]) == tokenization.load_vocab(VOCABS[False])
  with pytest.raises(ValueError, match="Cannot read vocab file file:///nonexistent/vocab.txt"):
    tokenization.load_vocab("file:///nonexistent/vocab.txt")


def test_validate_case_matches_checkpoint():
  validate = tokenization.validate_case_matches_checkpoint
  validate(True, "/models/uncased_L-12_H-768_A-12/bert_model.ckpt")
  validate(False, "gs://bucket/cased_L-24_H-1024_A-16/bert_model.ckpt")
  validate(False, None)
  validate(True, "")
  validate(False, "/models/my_model/bert_model.ckpt")  # unknown names are not checked
  validate(True, "/models/uncased_L-12_H-768_A-12/model.ckpt-1000")  # not bert_model.ckpt
  with pytest.raises(ValueError, match="`--do_lower_case=False`.*uncased_L-12_H-768_A-12.*lowercased"):
    validate(False, "/models/uncased_L-12_H-768_A-12/bert_model.ckpt")
  with pytest.raises(ValueError, match="`--do_lower_case=True`.*multi_cased_L-12_H-768_A-12.*cased"):
    validate(True, "/m/multi_cased_L-12_H-768_A-12/bert_model.ckpt.index")
  with pytest.raises(ValueError, match="chinese_L-12_H-768_A-12"):
    validate(False, "chinese_L-12_H-768_A-12/bert_model.ckpt")
