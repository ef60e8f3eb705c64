"""PubMed and PubMed Central (PMC) for BioBERT pretraining: file lists, verified downloads, one article per line.

NVIDIA's dataset names, their NCBI folders and where the `download` action of bertPrep.py puts them:
  pubmed_baseline      <pubmed>/baseline/pubmedYYnNNNN.xml.gz             download/pubmed/baseline/
  pubmed_daily_update  <pubmed>/updatefiles/pubmedYYnNNNN.xml.gz          download/pubmed/daily_update/
  pubmed_fulltext      <pmc>/oa_bulk/oa_comm/xml/*.tar.gz (open access,   download/pubmed/fulltext/
                       commercial-use licences)
  pubmed_open_access   <pmc>/oa_bulk/oa_noncomm/xml/*.tar.gz (open access, download/pubmed/open_access/
                       non-commercial licences)
with <pubmed> = https://ftp.ncbi.nlm.nih.gov/pubmed and <pmc> = https://ftp.ncbi.nlm.nih.gov/pub/pmc
(BERT_PREP_URL_PUBMED and BERT_PREP_URL_PMC redirect them, as for every source of data/sources.py).

The files of a folder are the links of its HTML index (or the names of a plain-text list) that match the
subset's pattern. A file whose index also lists `<file>.md5` (NCBI publishes one beside every PubMed file:
"MD5(pubmed24n0001.xml.gz)= <hex>") is checked against it; the others (the PMC packages) against the size the
server announces, and their gzip CRC when they are read.

Formatting writes one article per line:
  * MEDLINE XML (PubmedArticleSet/PubmedArticle/MedlineCitation/Article): the ArticleTitle, then every
    Abstract/AbstractText joined with spaces (the labels of a structured abstract, e.g. BACKGROUND, are
    dropped). Inline markup (<i>, <sup>, ...) keeps its text; white space is folded. Articles without an
    abstract are skipped and counted.
  * PMC JATS XML (article/front/article-meta): the article-title, the paragraphs of the abstract, then the
    paragraphs of the body (figures, tables, formulas and supplementary material left out). Articles with
    neither abstract nor body text are skipped and counted.
A title that does not end a sentence gets a full stop, so that sentence splitting keeps it apart.
"""

import collections
import gzip
import os
import re
import tarfile
import urllib.parse
import xml.etree.ElementTree as ET
import zlib

import downloader

Subset = collections.namedtuple("Subset", ["base", "folder", "pattern", "dest", "kind"])
SUBSETS = {
    "pubmed_baseline": Subset("pubmed", "baseline", r"pubmed\d+n\d+\.xml\.gz", "baseline", "medline"),
    "pubmed_daily_update": Subset("pubmed", "updatefiles", r"pubmed\d+n\d+\.xml\.gz", "daily_update", "medline"),
    "pubmed_fulltext": Subset("pmc", "oa_bulk/oa_comm/xml", r"[^/]+\.tar\.gz", "fulltext", "jats"),
    "pubmed_open_access": Subset("pmc", "oa_bulk/oa_noncomm/xml", r"[^/]+\.tar\.gz", "open_access", "jats"),
}
_MD5_LINE = re.compile(r"MD5\((?P<name>[^)]+)\)\s*=\s*(?P<hex>[0-9a-fA-F]{32})\s*$|"
                       r"^(?P<hex2>[0-9a-fA-F]{32})\s+\*?(?P<name2>\S+)\s*$")
_SKIPPED_JATS = {"fig", "table-wrap", "disp-formula", "supplementary-material", "fig-group", "table-wrap-group"}


def subset_dir(download_dir, dataset):
  """The folder of a dataset's downloaded files: <download_dir>/pubmed/<NVIDIA's subset name>."""
  return os.path.join(download_dir, "pubmed", SUBSETS[dataset].dest)


def listed_names(index_text):
  """The file names an index names: the last parts of its links (HTML), else its words (a plain list)."""
  links = re.findall(r"""href\s*=\s*["']([^"'?#]+)""", index_text, flags=re.IGNORECASE)
  names = [urllib.parse.unquote(link.rstrip("/").rsplit("/", 1)[-1]) for link in links] if links else \
      index_text.split()
  return sorted(set(names) - {"", ".", ".."})


def parse_md5(text, name, source):
  """The hex digest for `name` in the text of an .md5 file (NCBI's "MD5(name)= hex" or md5sum's "hex  name").

  Raises:
    ValueError: `source` (the .md5 file's URL) holds no digest, or one for another file.
  """
  for line in text.splitlines():
    match = _MD5_LINE.search(line.strip())
    if match:
      listed = match.group("name") or match.group("name2")
      if os.path.basename(listed) != name:
        raise ValueError("%s: the checksum is for %s, not %s" % (source, listed, name))
      return (match.group("hex") or match.group("hex2")).lower()
  raise ValueError("%s: no md5 digest in it (expected \"MD5(%s)= <32 hex digits>\")" % (source, name))


def _fetch_text(url, folder):
  """Downloads a small text file (an index, an .md5) through the retrying downloader; nothing is kept."""
  tmp = os.path.join(folder, ".fetch.tmp")

  def clean():
    for path in (tmp, tmp + ".part"):
      if os.path.exists(path):
        os.remove(path)

  clean()
  try:
    downloader.download(url, tmp)
    with open(tmp, encoding="utf-8", errors="replace") as f:
      return f.read()
  finally:
    clean()


def remote_files(dataset, base_urls, folder):
  """Lists a subset's files: [(name, URL, md5 URL or None)], sorted by name.

  Raises:
    ValueError: the index lists no file matching the subset's pattern.
  """
  subset = SUBSETS[dataset]
  url = "%s/%s/" % (base_urls[subset.base], subset.folder)
  names = listed_names(_fetch_text(url, folder))
  files = [n for n in names if re.fullmatch(subset.pattern, n)]
  if not files:
    raise ValueError("%s: the index lists no file matching %s (%d names in it)" % (url, subset.pattern, len(names)))
  listed = set(names)
  return [(n, url + n, url + n + ".md5" if n + ".md5" in listed else None) for n in files]


def download(dataset, download_dir, base_urls, names=None):
  """Downloads a PubMed / PMC subset (all its listed files, or only `names`), each one verified.

  Args:
    dataset: a key of SUBSETS.
    download_dir: the download root (files go to subset_dir(download_dir, dataset)).
    base_urls: from sources.base_urls_from_env.
    names: file names of the listing to download, or None for all of them.

  Returns:
    The local paths.

  Raises:
    ValueError: a name is not listed, or a file's md5 or size differs (its partial file is removed).
    downloader.DownloadError: a transfer failed.
  """
  folder = subset_dir(download_dir, dataset)
  os.makedirs(folder, exist_ok=True)
  files = remote_files(dataset, base_urls, folder)
  if names:
    unknown = sorted(set(names) - {n for n, _, _ in files})
    if unknown:
      raise ValueError("--input_files: %s not listed among the %d %s files" % (", ".join(unknown), len(files),
                                                                              dataset))
    files = [f for f in files if f[0] in names]
  paths = []
  for i, (name, url, md5_url) in enumerate(files, start=1):
    md5 = parse_md5(_fetch_text(md5_url, folder), name, md5_url) if md5_url else None
    print("[%d/%d] %s (%s)" % (i, len(files), name, "md5 %s" % md5 if md5 else "no published md5: size checked"))
    paths.append(downloader.download(url, os.path.join(folder, name), md5=md5))
  return paths


def _text(element):
  """The element's text with its inline markup's, white space folded ("" for None)."""
  return "" if element is None else " ".join("".join(element.itertext()).split())


def _article_line(title, parts):
  """One output line: the title (given a full stop when it ends without one) and the text parts."""
  if title and not title.endswith((".", "?", "!")):
    title += "."
  return " ".join([title] + parts if title else parts)


def medline_article(article):
  """The line of one PubmedArticle element, or None when it has no abstract."""
  cited = article.find("MedlineCitation/Article")
  if cited is None:
    return None
  abstract = [t for t in (_text(e) for e in cited.findall("Abstract/AbstractText")) if t]
  return _article_line(_text(cited.find("ArticleTitle")), abstract) if abstract else None


def medline_lines(path, counts):
  """Yields the line of every PubmedArticle with an abstract in a MEDLINE XML file (.xml or .xml.gz).

  The file is parsed incrementally (each article is dropped once read). counts["articles"] and
  counts["skipped"] (articles without an abstract) are incremented.

  Raises:
    ValueError: naming `path`, when it is not gzip, not XML or holds no PubmedArticle.
  """
  found = 0
  try:
    with (gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")) as f:
      root = None
      for event, element in ET.iterparse(f, events=("start", "end")):
        if root is None:
          root = element
        if event == "end" and element.tag == "PubmedArticle":
          found += 1
          line = medline_article(element)
          counts["articles" if line else "skipped"] += 1
          if line:
            yield line
          root.clear()
  except (OSError, EOFError, zlib.error) as e:
    raise ValueError("%s: cannot be read (%s)" % (path, e)) from None
  except ET.ParseError as e:
    raise ValueError("%s: not well-formed XML (%s)" % (path, e)) from None
  if not found:
    raise ValueError("%s: no PubmedArticle element (not a MEDLINE/PubMed XML file?)" % path)


def _jats_paragraphs(element):
  """Yields the text of the <p> elements under `element`, outside figures, tables, formulas and supplements."""
  for child in element:
    if child.tag == "p":
      text = _text(child)
      if text:
        yield text
    elif child.tag not in _SKIPPED_JATS:
      yield from _jats_paragraphs(child)


def jats_article(root):
  """The line of one PMC article (JATS XML root), or None when it has neither abstract nor body text."""
  meta = root.find("front/article-meta")
  abstracts = [] if meta is None else [a for a in meta.findall("abstract") if "abstract-type" not in a.attrib]
  parts = [p for a in abstracts for p in _jats_paragraphs(a)]
  body = root.find("body")
  parts += [] if body is None else list(_jats_paragraphs(body))
  if not parts:
    return None
  return _article_line(_text(None if meta is None else meta.find("title-group/article-title")), parts)


def jats_lines(path, counts):
  """Yields the line of every article (.xml / .nxml member) with text in a PMC .tar.gz package.

  Raises:
    ValueError: naming the archive (and the member), when it is not a tar.gz, a member is not XML, or it
      holds no article.
  """
  found = 0
  try:
    with tarfile.open(path, "r|gz") as archive:
      for member in archive:
        if not (member.isfile() and member.name.endswith((".xml", ".nxml"))):
          continue
        try:
          root = ET.parse(archive.extractfile(member)).getroot()
        except ET.ParseError as e:
          raise ValueError("%s: member %s: not well-formed XML (%s)" % (path, member.name, e)) from None
        found += 1
        line = jats_article(root)
        counts["articles" if line else "skipped"] += 1
        if line:
          yield line
  except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
    raise ValueError("%s: not a readable tar.gz archive (%s)" % (path, e)) from None
  if not found:
    raise ValueError("%s: no .xml/.nxml article in the archive (not a PMC package?)" % path)
