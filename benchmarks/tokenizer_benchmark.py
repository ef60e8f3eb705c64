"""Measures tokenizer speed (tokens/sec) of tokenization.FullTokenizer, against Hugging Face `tokenizers`.

Every line of every input file is tokenized (without [CLS]/[SEP]); each implementation runs --num_runs
times and the median is reported. Each run of this project's tokenizer starts from a new FullTokenizer
(empty word cache; vocab loading not timed), so the cache only helps within the corpus. The
"identical ids" column counts lines whose ids equal Hugging Face's BertWordPieceTokenizer ids (same
vocab and casing); it is "n/a" when `tokenizers` is not installed (it is a test-only dependency).

Files are read as UTF-8, or as Latin-1 if they are not valid UTF-8 (two Gutenberg books are Latin-1).

Usage:
  python benchmarks/tokenizer_benchmark.py \
    --input_glob='/work/shared/data/pretrain_corpus/gutenberg/*.txt' \
    --vocab_file=data/samples/vocab/bert-base-uncased-vocab.txt --do_lower_case=True
"""
import glob
import os
import statistics
import sys
import time

from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tokenization  # pylint: disable=wrong-import-position

_SAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "samples")

flags.DEFINE_string("input_glob", os.path.join(_SAMPLES, "text", "*.txt"),
                    "Glob of plain-text files; every line is tokenized.")
flags.DEFINE_string("vocab_file", os.path.join(_SAMPLES, "vocab", "bert-base-uncased-vocab.txt"),
                    "WordPiece vocab file.")
flags.DEFINE_bool("do_lower_case", True, "Lower case and strip accents (uncased vocab).")
flags.DEFINE_integer("num_runs", 5, "Timed runs per implementation; the median is reported.")
FLAGS = flags.FLAGS


def read_lines(pattern):
  """Returns all lines ("\\n"-separated) of the files matching `pattern`, in sorted file order."""
  paths = sorted(glob.glob(pattern))
  if not paths:
    raise ValueError("--input_glob=%s matches no file" % pattern)
  lines = []
  for path in paths:
    with open(path, "rb") as f:
      data = f.read()
    try:
      text = data.decode("utf-8")
    except UnicodeDecodeError:
      text = data.decode("latin-1")
    lines.extend(text.split("\n"))
  return paths, lines


def time_runs(make_encoder, lines, num_runs):
  """Runs a fresh encoder over all lines `num_runs` times.

  Args:
    make_encoder: callable returning a function list_of_lines -> list of id lists (not timed).
    lines: list of str.
    num_runs: number of timed runs.

  Returns:
    (median seconds, ids per line from the last run).
  """
  seconds = []
  for _ in range(num_runs):
    encode = make_encoder()
    start = time.perf_counter()
    ids = encode(lines)
    seconds.append(time.perf_counter() - start)
  return statistics.median(seconds), ids


def implementations(vocab_file, do_lower_case):
  """Returns [(name, make_encoder, is_reference)] for every available implementation."""

  def ours_ids():
    tokenizer = tokenization.FullTokenizer(vocab_file, do_lower_case=do_lower_case)
    return lambda lines: [tokenizer.tokenize_to_ids(line) for line in lines]

  def ours_tokens():
    tokenizer = tokenization.FullTokenizer(vocab_file, do_lower_case=do_lower_case)
    return lambda lines: [tokenizer.convert_tokens_to_ids(tokenizer.tokenize(line)) for line in lines]

  impls = [("tokenization.FullTokenizer.tokenize_to_ids", ours_ids, False),
           ("tokenization.FullTokenizer.tokenize + convert_tokens_to_ids", ours_tokens, False)]
  try:
    from tokenizers import BertWordPieceTokenizer  # pylint: disable=import-outside-toplevel
  except ImportError:
    return impls

  def hf_tokenizer():
    return BertWordPieceTokenizer(vocab_file, lowercase=do_lower_case, strip_accents=do_lower_case,
                                  clean_text=True, handle_chinese_chars=True)

  def hf_per_line():
    tokenizer = hf_tokenizer()
    return lambda lines: [tokenizer.encode(line, add_special_tokens=False).ids for line in lines]

  def hf_batch():
    tokenizer = hf_tokenizer()
    return lambda lines: [e.ids for e in tokenizer.encode_batch(lines, add_special_tokens=False)]

  return impls + [("HF tokenizers encode (per line)", hf_per_line, True),
                  ("HF tokenizers encode_batch (Rust threads)", hf_batch, False)]


def main(_):
  paths, lines = read_lines(FLAGS.input_glob)
  print("%d files, %d lines, vocab %s, do_lower_case=%s, median of %d runs" %
        (len(paths), len(lines), FLAGS.vocab_file, FLAGS.do_lower_case, FLAGS.num_runs))
  results = []
  reference = None
  for name, make_encoder, is_reference in implementations(FLAGS.vocab_file, FLAGS.do_lower_case):
    seconds, ids = time_runs(make_encoder, lines, FLAGS.num_runs)
    results.append((name, seconds, ids))
    if is_reference:
      reference = ids
  header = "| implementation | tokens | seconds | tokens/sec | identical ids (lines) |"
  print(header)
  print("|" + "---|" * 5)
  for name, seconds, ids in results:
    num_tokens = sum(len(x) for x in ids)
    if reference is None:
      same = "n/a"
    else:
      same = "%d / %d" % (sum(a == b for a, b in zip(ids, reference)), len(lines))
    print("| %s | %d | %.3f | %.0f | %s |" % (name, num_tokens, seconds, num_tokens / seconds, same))


if __name__ == "__main__":
  app.run(main)
