"""data/learn_vocab.py: WordPiece pieces learnt by merging, written in BERT's vocab.txt layout."""
import collections
import glob
import os
import subprocess
import sys

from conftest import ROOT, SAMPLES, SUBPROCESS_ENV

sys.path.insert(0, os.path.join(ROOT, "data"))
import learn_vocab  # noqa: E402
import tokenization  # noqa: E402

WORDS = {"low": 5, "lower": 2, "newest": 6, "widest": 3}


def test_pieces_are_merged_most_frequent_pair_first():
  # Characters by count: ##e 17, ##w 13, ##s 9, ##t 9, ##o 7, l 7, n 6, ##d 3, ##i 3, w 3, ##r 2 (ties by name).
  # Pairs: (##e,##s) 9 and (##s,##t) 9 tie -> "##es" (sorts first); then (##es,##t) 9 -> "##est"; (##o,##w) 7 and
  # (l,##o) 7 -> "##ow", then (l,##ow) 7 -> "low"; (##e,##w) 6, (##w,##est) 6, (n,##e) 6 -> "##ew"; then
  # (##ew,##est) 6 and (n,##ew) 6 -> "##ewest", "newest"; widest's (##d,##est) 3 -> "##dest", "##idest",
  # "widest"; lower's (##e,##r) 2 -> "##er", "lower". Then no pair is left.
  assert learn_vocab.learn_pieces(WORDS, 100) == [
      "##e", "##w", "##s", "##t", "##o", "l", "n", "##d", "##i", "w", "##r",
      "##es", "##est", "##ow", "low", "##ew", "##ewest", "newest", "##dest", "##idest", "widest", "##er", "lower"]
  assert learn_vocab.learn_pieces(WORDS, 13) == learn_vocab.learn_pieces(WORDS, 100)[:13]


def test_rare_characters_are_left_out():
  pieces = learn_vocab.learn_pieces({"ab": 3, "ax": 1}, 10, min_char_count=2)
  assert "##x" not in pieces and "ab" in pieces


def test_cli_writes_bert_layout_and_only_rare_characters_make_unk(tmp_path):
  books = sorted(glob.glob(os.path.join(SAMPLES, "pretrain", "*.txt")))
  assert books, "the shipped pretraining sample is missing"
  out = tmp_path / "vocab.txt"
  run = subprocess.run([sys.executable, os.path.join(ROOT, "data", "learn_vocab.py"),
                        "--input_files=" + os.path.join(SAMPLES, "pretrain", "*.txt"), "--vocab_size=600",
                        "--output_file=%s" % out], env=SUBPROCESS_ENV, capture_output=True, text=True)
  assert run.returncode == 0, run.stderr
  vocab = out.read_text(encoding="utf-8").splitlines()
  assert len(vocab) == 600 and len(set(vocab)) == 600
  assert vocab[0] == "[PAD]" and vocab[1] == "[unused0]" and vocab[100:104] == ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
  # Every character form (word-initial or "##" continuation) seen twice or more is a piece, so WordPiece's greedy
  # longest match splits every word of the text, except those holding a form seen once (--min_char_count=2).
  def words_of(path):
    with open(path, encoding="utf-8") as f:
      return learn_vocab.count_words(f, do_lower_case=True)
  forms = collections.Counter()
  for book in books:
    for word, count in words_of(book).items():
      for form in learn_vocab.character_forms(word):
        forms[form] += count
  words = words_of(books[0])
  expected_unk = sum(c for w, c in words.items() if min(forms[f] for f in learn_vocab.character_forms(w)) < 2)
  assert expected_unk > 0  # the sample has such words: the check below is not vacuous
  tokenizer = tokenization.FullTokenizer(str(out), do_lower_case=True)
  with open(books[0], encoding="utf-8") as f:
    pieces = tokenizer.tokenize(f.read())
  assert len(pieces) > sum(words.values()) / 2
  assert pieces.count("[UNK]") == expected_unk
  assert not os.path.exists(str(out) + ".tmp")


def test_cli_names_bad_flags_in_one_line(tmp_path):
  def run(*flags):
    return subprocess.run([sys.executable, os.path.join(ROOT, "data", "learn_vocab.py"), *flags],
                          env=SUBPROCESS_ENV, capture_output=True, text=True)
  result = run("--input_files=/nonexistent/*.txt", "--output_file=%s" % (tmp_path / "v.txt"))
  assert result.returncode == 2
  assert result.stderr.strip() == "learn_vocab.py: error: --input_files=/nonexistent/*.txt matches no file"
  result = run("--input_files=" + os.path.join(SAMPLES, "pretrain", "*.txt"), "--vocab_size=104",
               "--output_file=%s" % (tmp_path / "v.txt"))
  assert result.returncode == 2
  assert result.stderr.strip() == "learn_vocab.py: error: --vocab_size=104 leaves no room after the 104 reserved entries"
  assert not (tmp_path / "v.txt").exists()
