"""Turns plain-text books into BERT pretraining input: one sentence per line, blank line between documents.

Each book's hard-wrapped paragraphs (separated by blank lines) are joined and split into sentences with
NLTK's punkt_tab model. By default every book is one document; --doc_break_regex starts a new document at
every line matching it (e.g. chapter headings), which gives more, shorter documents.

Usage:
  python benchmarks/prepare_pretrain_text.py --nltk_data=data/samples/nltk_data \
    --output_file=/tmp/books.txt book1.txt book2.txt
"""
import os
import re

from absl import app, flags

flags.DEFINE_string("output_file", None, "Where to write the sentence-per-line text.")
flags.DEFINE_string("nltk_data", None, "Folder holding tokenizers/punkt_tab/english.")
flags.DEFINE_string("doc_break_regex", None, "A line matching this regex starts a new document.")
flags.DEFINE_integer("max_chars_per_book", 0, "If > 0, keep only about this many leading characters per book "
                     "(cut at a paragraph end).")
FLAGS = flags.FLAGS


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
      if documents[-1] or paragraph:
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


def main(argv):
  import nltk  # pylint: disable=import-outside-toplevel
  if not os.path.isdir(os.path.join(FLAGS.nltk_data, "tokenizers", "punkt_tab", "english")):
    raise ValueError(f"--nltk_data={FLAGS.nltk_data} has no tokenizers/punkt_tab/english folder")
  nltk.data.path.insert(0, FLAGS.nltk_data)
  regex = re.compile(FLAGS.doc_break_regex) if FLAGS.doc_break_regex else None
  books = argv[1:]
  if not books:
    raise app.UsageError("Give the book files as arguments.")
  documents = []
  for path in books:
    with open(path, encoding="utf-8", errors="replace") as f:
      documents.extend(book_documents(f.read(), regex, FLAGS.max_chars_per_book))
  tmp = FLAGS.output_file + ".tmp"
  with open(tmp, "w", encoding="utf-8") as out:
    for i, doc in enumerate(documents):
      if i:
        out.write("\n")
      for paragraph in doc:
        for sentence in nltk.sent_tokenize(paragraph, language="english"):
          out.write(sentence + "\n")
  os.replace(tmp, FLAGS.output_file)
  print(f"Wrote {len(documents)} documents from {len(books)} books to {FLAGS.output_file}")


if __name__ == "__main__":
  flags.mark_flags_as_required(["output_file", "nltk_data"])
  app.run(main)
