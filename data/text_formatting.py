"""Turns raw corpora into one document per line, the common input of the sharding step.

* Wikipedia: the `<doc id=... url=... title=...>` ... `</doc>` files WikiExtractor writes
  (AA/wiki_00, AA/wiki_01, ...): the title line is dropped and the article's non-empty
  lines are joined with spaces.
* Books: each plain-text .txt file is one book; its non-empty lines are joined with spaces.
* Text already in BERT's input format (blank-line-separated documents): one line per document.
* PubMed: the title and abstract of every MEDLINE article with an abstract; PMC: the title, abstract and body
  of every open-access article (data/pubmed.py reads the XML).
"""

import collections
import os

import pubmed


def _files_under(paths, suffix=None):
  """Sorted files under `paths` (files or directories, searched recursively)."""
  found = []
  for path in paths:
    if os.path.isfile(path):
      found.append(path)
    elif os.path.isdir(path):
      for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(os.path.join(root, f) for f in sorted(files)
                     if not f.startswith(".") and (suffix is None or f.endswith(suffix)))
    else:
      raise ValueError("%s: no such file or directory" % path)
  return found


def _write_lines(lines, output_filename):
  """Writes `lines` (an iterable) one per line, atomically. Returns the number written."""
  os.makedirs(os.path.dirname(os.path.abspath(output_filename)), exist_ok=True)
  tmp = output_filename + ".tmp"
  n = 0
  try:
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
      for line in lines:
        f.write(line + "\n")
        n += 1
  except BaseException:
    os.remove(tmp)
    raise
  os.replace(tmp, output_filename)
  return n


def wikiextractor_articles(filename):
  """Yields the text of each article of one WikiExtractor output file.

  Args:
    filename: a WikiExtractor output file.

  Yields:
    Each non-empty article as one line: the lines after the title, joined with spaces.

  Raises:
    ValueError: a `<doc>` is not closed, or text or `</doc>` appears outside a `<doc>`.
  """
  body, opened_at = None, 0
  with open(filename, encoding="utf-8") as f:
    for line_number, line in enumerate(f, start=1):
      stripped = line.strip()
      if stripped.startswith("<doc ") or stripped == "<doc>":
        if body is not None:
          raise ValueError("%s line %d: <doc> opened before the <doc> of line %d was closed" % (
              filename, line_number, opened_at))
        body, opened_at, title_seen = [], line_number, False
      elif stripped == "</doc>":
        if body is None:
          raise ValueError("%s line %d: </doc> without an open <doc>" % (filename, line_number))
        if body:
          yield " ".join(body)
        body = None
      elif body is None:
        if stripped:
          raise ValueError("%s line %d: text outside <doc>...</doc>: %.60r" % (filename, line_number, stripped))
      elif stripped:
        if title_seen:
          body.append(stripped)
        title_seen = True
  if body is not None:
    raise ValueError("%s: the <doc> of line %d is never closed (truncated file?)" % (filename, opened_at))


def format_wikicorpus(extracted_paths, output_filename):
  """Writes every article under WikiExtractor's output as one line of `output_filename`.

  Args:
    extracted_paths: WikiExtractor output directories (searched recursively) or files.
    output_filename: the one-article-per-line file to write.

  Returns:
    The number of articles written.
  """
  files = _files_under(extracted_paths)
  if not files:
    raise ValueError("no WikiExtractor output files under %s" % ", ".join(extracted_paths))
  n = _write_lines((a for name in files for a in wikiextractor_articles(name)), output_filename)
  if n == 0:
    os.remove(output_filename)
    raise ValueError("no articles found in the %d files under %s" % (len(files), ", ".join(extracted_paths)))
  print("Wrote %d articles from %d files to %s" % (n, len(files), output_filename))
  return n


def format_books(book_paths, output_filename):
  """Writes every .txt book under `book_paths` as one line of `output_filename`.

  Args:
    book_paths: .txt files or directories searched recursively for .txt files.
    output_filename: the one-book-per-line file to write.

  Returns:
    The number of books written (empty files are skipped).
  """
  files = _files_under(book_paths, suffix=".txt")
  if not files:
    raise ValueError("no .txt books under %s" % ", ".join(book_paths))

  def books():
    for name in files:
      with open(name, encoding="utf-8", errors="replace") as f:
        text = " ".join(line.strip() for line in f if line.strip())
      if text:
        yield text

  n = _write_lines(books(), output_filename)
  if n == 0:
    os.remove(output_filename)
    raise ValueError("all %d .txt files under %s are empty" % (len(files), ", ".join(book_paths)))
  print("Wrote %d books from %d files to %s" % (n, len(files), output_filename))
  return n


def format_documents(paths, output_filename):
  """Writes the blank-line-separated documents of .txt files as one document per line.

  This is the input format of create_pretraining_data.py (one sentence per line, a blank
  line between documents), e.g. the shipped data/samples/pretrain files.

  Args:
    paths: .txt files or directories searched recursively for .txt files.
    output_filename: the one-document-per-line file to write.

  Returns:
    The number of documents written.
  """
  files = _files_under(paths, suffix=".txt")
  if not files:
    raise ValueError("no .txt files under %s" % ", ".join(paths))

  def documents():
    for name in files:
      lines = []
      with open(name, encoding="utf-8") as f:
        for line in f:
          if line.strip():
            lines.append(line.strip())
          elif lines:
            yield " ".join(lines)
            lines = []
      if lines:
        yield " ".join(lines)

  n = _write_lines(documents(), output_filename)
  if n == 0:
    os.remove(output_filename)
    raise ValueError("all %d .txt files under %s are empty" % (len(files), ", ".join(paths)))
  print("Wrote %d documents from %d files to %s" % (n, len(files), output_filename))
  return n


def format_pubmed(paths, output_filename, kind):
  """Writes every PubMed (MEDLINE XML) or PMC (JATS packages) article under `paths` as one line.

  Args:
    paths: files, or directories searched recursively for .xml.gz / .xml (medline) or .tar.gz (jats) files.
    output_filename: the one-article-per-line file to write.
    kind: "medline" (PubMed baseline and update files) or "jats" (PMC open-access packages).

  Returns:
    (articles written, articles skipped for lack of text).

  Raises:
    ValueError: no input file, no article with text, or a file that cannot be read (named; nothing is
      written then).
  """
  files = _files_under(paths, suffix=(".xml.gz", ".xml") if kind == "medline" else (".tar.gz",))
  if not files:
    raise ValueError("no PubMed %s files under %s" % ("XML" if kind == "medline" else "PMC .tar.gz",
                                                      ", ".join(paths)))
  read = pubmed.medline_lines if kind == "medline" else pubmed.jats_lines
  counts = collections.Counter()
  n = _write_lines((line for name in files for line in read(name, counts)), output_filename)
  what = "an abstract" if kind == "medline" else "abstract or body text"
  if n == 0:
    os.remove(output_filename)
    raise ValueError("no article with %s in the %d files under %s (%d without)" % (
        what, len(files), ", ".join(paths), counts["skipped"]))
  print("Wrote %d articles from %d files to %s; skipped %d articles without %s" % (
      n, len(files), output_filename, counts["skipped"], what))
  return n, counts["skipped"]
