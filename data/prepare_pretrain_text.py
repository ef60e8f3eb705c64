"""Turns plain text into BERT pretraining input: one sentence per line, blank line between documents.

Two layouts of input:
  * books (default): each book's hard-wrapped paragraphs (separated by blank lines) are joined; every book is
    one document, and --doc_break_regex starts a new document at every line matching it (e.g. chapter
    headings), which gives more, shorter documents;
  * wikitext (--format=wikitext, WikiText-2/103 raw files): a line " = Title = " starts an article (one
    document), section headings " = = ... = = " are dropped, every other line is a paragraph, and WikiText's
    token escapes (" @-@ ", " @,@ ", " @.@ ") are undone.
Paragraphs are split into sentences with NLTK's punkt_tab model. With --heldout_output_file, every
--heldout_every-th document (the 1st, (N+1)th, ...) goes there instead, so that whole documents are held out.

Usage:
  python data/prepare_pretrain_text.py --nltk_data=data/samples/nltk_data \
    --output_file=/tmp/books.txt book1.txt book2.txt
  python data/prepare_pretrain_text.py --nltk_data=... --format=wikitext --output_file=/tmp/wiki_train.txt \
    --heldout_output_file=/tmp/wiki_heldout.txt --heldout_every=4 wikitext-2-raw/valid.txt
"""
import os
import re
import sys

from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from utils import cli  # pylint: disable=wrong-import-position

WIKITEXT_TITLE = re.compile(r"^ = [^=].* = $")
WIKITEXT_HEADING = re.compile(r"^ (= )+.* (= )+$")
WIKITEXT_ESCAPES = ((" @-@ ", "-"), (" @,@ ", ","), (" @.@ ", "."))


def book_documents(text, doc_break_regex, max_chars):
  """Splits a book into documents, each a list of paragraphs (whitespace-joined strings).

  Args:
    text: the whole book.
    doc_break_regex: compiled regex or None; a matching line starts a new document (and is dropped).
    max_chars: if > 0, stop after the paragraph that crosses this many characters.

  Returns:
    A list of documents, each a non-empty list of paragraph strings.
  """
  documents, paragraph, used = [[]], [], 0
  for line in text.splitlines() + [""]:
    if doc_break_regex is not None and doc_break_regex.match(line):
      line = ""
      if paragraph:   # a heading right after text ends that paragraph in the old document
        documents[-1].append(" ".join(paragraph))
        paragraph = []
      if documents[-1]:
        documents.append([])
    if line.strip():
      paragraph.append(line.strip())
      continue
    if paragraph:
      documents[-1].append(" ".join(paragraph))
      used += len(documents[-1][-1])
      paragraph = []
      if max_chars and used >= max_chars:
        break
  return [doc for doc in documents if doc]


def wikitext_documents(text):
  """Splits a WikiText raw file into articles.

  Args:
    text: the whole file.

  Returns:
    A list of articles, each a non-empty list of paragraph strings with WikiText's escapes undone.
  """
  documents = []
  for line in text.splitlines():
    if WIKITEXT_TITLE.match(line):
      documents.append([])
    elif line.strip() and not WIKITEXT_HEADING.match(line) and documents:
      for escaped, plain in WIKITEXT_ESCAPES:
        line = line.replace(escaped, plain)
      documents[-1].append(line.strip())
  return [doc for doc in documents if doc]


def write_documents(documents, path, sent_tokenize):
  """Writes `documents` to `path` (atomically): a sentence per line, a blank line between documents.

  Args:
    documents: lists of paragraph strings.
    path: the output file.
    sent_tokenize: function paragraph -> list of sentences.
  """
  tmp = path + ".tmp"
  with open(tmp, "w", encoding="utf-8") as out:
    for i, doc in enumerate(documents):
      if i:
        out.write("\n")
      for paragraph in doc:
        for sentence in sent_tokenize(paragraph):
          out.write(sentence + "\n")
  os.replace(tmp, path)


def read_documents(paths, text_format, doc_break_regex, max_chars):
  """The documents of every file in `paths` (see `book_documents` and `wikitext_documents`).

  Raises:
    ValueError: naming the file that cannot be read or holds no document.
  """
  documents = []
  for path in paths:
    try:
      with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    except OSError as e:
      raise ValueError("%s: %s" % (path, e.strerror)) from None
    found = (wikitext_documents(text) if text_format == "wikitext"
             else book_documents(text, doc_break_regex, max_chars))
    if not found:
      raise ValueError("%s holds no %s document" % (path, text_format))
    documents.extend(found)
  return documents


def main(argv):
  """Reads the files named in `argv`, writes the training (and held-out) text."""
  import nltk  # pylint: disable=import-outside-toplevel
  if not os.path.isdir(os.path.join(FLAGS.nltk_data, "tokenizers", "punkt_tab", "english")):
    raise ValueError(f"--nltk_data={FLAGS.nltk_data} has no tokenizers/punkt_tab/english folder")
  nltk.data.path.insert(0, FLAGS.nltk_data)
  if not argv[1:]:
    raise ValueError("give the text files as arguments")
  regex = re.compile(FLAGS.doc_break_regex) if FLAGS.doc_break_regex else None
  documents = read_documents(argv[1:], FLAGS.format, regex, FLAGS.max_chars_per_book)
  heldout = []
  if FLAGS.heldout_output_file:
    heldout = documents[::FLAGS.heldout_every]
    documents = [doc for i, doc in enumerate(documents) if i % FLAGS.heldout_every]
    if not documents:
      raise ValueError("--heldout_every=%d leaves no training document of %d" % (
          FLAGS.heldout_every, len(heldout)))
    write_documents(heldout, FLAGS.heldout_output_file, nltk.sent_tokenize)
  write_documents(documents, FLAGS.output_file, nltk.sent_tokenize)
  print(f"Wrote {len(documents)} documents from {len(argv) - 1} files to {FLAGS.output_file}" +
        (f", {len(heldout)} held-out documents to {FLAGS.heldout_output_file}" if heldout else ""))


def define_flags():
  flags.DEFINE_string("output_file", None, "Where to write the sentence-per-line text.")
  flags.DEFINE_string("nltk_data", None, "Folder holding tokenizers/punkt_tab/english.")
  flags.DEFINE_enum("format", "books", ["books", "wikitext"], "Layout of the input files (see above).",
                    case_sensitive=False)
  flags.DEFINE_string("doc_break_regex", None, "books: a line matching this regex starts a new document.")
  flags.DEFINE_integer("max_chars_per_book", 0, "books: if > 0, keep only about this many leading characters "
                       "per book (cut at a paragraph end).")
  flags.DEFINE_string("heldout_output_file", None, "If set, every --heldout_every-th document is written here "
                      "instead of to --output_file.")
  flags.DEFINE_integer("heldout_every", 4, "With --heldout_output_file: hold out documents 1, N+1, 2N+1, ...",
                       lower_bound=2)
  flags.mark_flags_as_required(["output_file", "nltk_data"])


FLAGS = flags.FLAGS

if __name__ == "__main__":
  define_flags()
  cli.run_main(main)
