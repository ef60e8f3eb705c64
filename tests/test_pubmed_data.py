"""PubMed data for BioBERT pretraining (data/pubmed.py, bertPrep.py's pubmed_* datasets and
data/create_biobert_datasets_from_start.sh) end to end, then the PubMed pretraining launchers on the TFRecords made.

The PubMed files are small MEDLINE XML files in PubMed's schema whose titles and abstracts are real PubMed
sentences: the abstracts of the NCBI disease corpus sample shipped in data/samples/biobert (each abstract there is
its title followed by its sentences, tokenized). They are served, with NCBI's .md5 files, by an http.server
directory listing on 127.0.0.1 reached through the BERT_PREP_URL_PUBMED / BERT_PREP_URL_PMC overrides.
"""

import functools
import glob
import gzip
import hashlib
import http.server
import io
import os
import re
import subprocess
import sys
import tarfile
import threading
from xml.sax.saxutils import escape

import pytest

from conftest import ROOT, SAMPLES, SUBPROCESS_ENV

sys.path.insert(0, os.path.join(ROOT, "data"))
import pubmed  # noqa: E402
import text_formatting  # noqa: E402
import tfrecord_creation  # noqa: E402

BERT_PREP = os.path.join(ROOT, "data", "bertPrep.py")
CREATE = os.path.join(ROOT, "data", "create_biobert_datasets_from_start.sh")
BIOBERT_SCRIPTS = os.path.join(ROOT, "biobert", "scripts")
VOCABS = {1: os.path.join(SAMPLES, "vocab", "bert-base-uncased-vocab.txt"),
          0: os.path.join(SAMPLES, "vocab", "bert-base-cased-vocab.txt")}
NCBI_TRAIN = os.path.join(SAMPLES, "biobert", "NCBI-disease", "train.tsv")
# (first, end) sentence numbers of abstracts of the NCBI sample: its title, then its abstract.
ABSTRACTS = [(0, 10), (10, 26), (26, 34), (34, 43), (43, 53), (53, 61), (61, 73), (73, 85), (104, 115)]
TITLE_ONLY = 115   # "GCH1 mutation in a patient with adult - onset oromandibular dystonia ."
# Structured abstracts: the label each section's first sentence starts with.
LABELS = ("OBJECTIVE", "STUDY DESIGN", "BACKGROUND", "METHODS", "RESULTS", "CONCLUSIONS")
FILES = ("pubmed24n0001.xml.gz", "pubmed24n0002.xml.gz")


def _sentences():
  """The sentences of the NCBI-disease sample: its tokens joined with spaces."""
  sentences, tokens = [], []
  with open(NCBI_TRAIN, encoding="utf-8") as f:
    for line in f:
      if line.strip():
        tokens.append(line.split("\t")[0])
      elif tokens:
        sentences.append(" ".join(tokens))
        tokens = []
  return sentences


def _sections(sentences):
  """[(label or None, text)]: a structured abstract split where a sentence starts with a label."""
  sections = []
  for sentence in sentences:
    label = next((l for l in LABELS if sentence.startswith(l + " ")), None)
    if label or not sections:
      sections.append((label, sentence[len(label) + 1:] if label else sentence))
    else:
      sections[-1] = (sections[-1][0], sections[-1][1] + " " + sentence)
  return sections


def _medline_article(pmid, title, sections):
  """A PubmedArticle in MEDLINE's schema; `title` and section texts are already XML."""
  abstract = ""
  if sections:
    texts = "".join('<AbstractText Label="%s" NlmCategory="%s">%s</AbstractText>' % (l, l, t) if l else
                    "<AbstractText>%s</AbstractText>" % t for l, t in sections)
    abstract = "<Abstract>%s</Abstract>" % texts
  return ("<PubmedArticle><MedlineCitation Status=\"MEDLINE\" Owner=\"NLM\"><PMID Version=\"1\">%d</PMID>"
          "<Article PubModel=\"Print\"><Journal><ISSN IssnType=\"Print\">0000-0000</ISSN><Title>Test</Title>"
          "</Journal><ArticleTitle>%s</ArticleTitle>%s<Language>eng</Language></Article></MedlineCitation>"
          "<PubmedData><PublicationStatus>ppublish</PublicationStatus></PubmedData></PubmedArticle>\n" % (
              pmid, title, abstract))


def _medline_file(articles):
  return gzip.compress(('<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD '
                        'PubMedArticle, 1st January 2024//EN" "https://dtd.nlm.nih.gov/ncbi/pubmed/out/'
                        'pubmed_240101.dtd">\n<PubmedArticleSet>\n%s</PubmedArticleSet>\n' % "".join(articles)
                        ).encode("utf-8"), mtime=0)


def _pubmed_fixture():
  """({name: .xml.gz bytes}, the expected formatted lines): the abstracts of ABSTRACTS over two files (the first
  with <i> markup around APC2 and a title-only article), in order."""
  sentences = _sentences()
  articles, expected = [], []
  for first, end in ABSTRACTS:
    title, body = sentences[first], sentences[first + 1:end]
    markup = (lambda s: escape(s).replace("APC2", "<i>APC2</i>")) if first == 0 else escape
    articles.append(_medline_article(10000000 + first, markup(title),
                                     [(l, markup(t)) for l, t in _sections(body)]))
    expected.append(" ".join([title] + [t for _, t in _sections(body)]))
    if first == 0:
      articles.append(_medline_article(10000000 + TITLE_ONLY, escape(sentences[TITLE_ONLY]), []))
  return {FILES[0]: _medline_file(articles[:5]), FILES[1]: _medline_file(articles[5:])}, expected


def _md5_file(name, data):
  return ("MD5(%s)= %s\n" % (name, hashlib.md5(data).hexdigest())).encode()


class _Server:
  """http.server serving the folder `root` (directory listings included) on 127.0.0.1."""

  def __init__(self, root):
    handler = functools.partial(type("Quiet", (http.server.SimpleHTTPRequestHandler,),
                                     {"log_message": lambda *a: None}), directory=str(root))
    self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
    threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.httpd.shutdown()
    self.httpd.server_close()


def _serve_pubmed(root, files, folder="baseline", md5=True):
  """Writes `files` (and their .md5 files) plus a README under root/pubmed/<folder>."""
  target = root / "pubmed" / folder
  target.mkdir(parents=True)
  (target / "README.txt").write_text("PubMed baseline\n")
  for name, data in files.items():
    (target / name).write_bytes(data)
    if md5:
      (target / (name + ".md5")).write_bytes(_md5_file(name, data))
  return target


def _bert_prep(work, *args, **env):
  return subprocess.run([sys.executable, BERT_PREP] + list(args), capture_output=True, text=True, timeout=300,
                        env=dict(SUBPROCESS_ENV, BERT_PREP_WORKING_DIR=str(work), **env))


def _formatted(work, dataset):
  path = os.path.join(work, "formatted_one_article_per_line", dataset + "_one_article_per_line.txt")
  with open(path, encoding="utf-8") as f:
    return f.read().split("\n")[:-1]


def _error_line(proc):
  """The one line bertPrep.py prints on an error (the only stderr line)."""
  assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
  lines = proc.stderr.strip().splitlines()
  assert len(lines) == 1, proc.stderr
  return lines[0]


# ------------------------------------------------------------------------------------- listing, md5, XML


def test_listing_and_md5_parsing():
  html = ('<html><body><a href="../">Parent</a><a href="pubmed24n0001.xml.gz">pubmed24n0001.xml.gz</a> 19M\n'
          '<a href="pubmed24n0001.xml.gz.md5">x</a><a HREF=\'/pubmed/baseline/README.txt?x=1\'>r</a></body></html>')
  assert pubmed.listed_names(html) == ["README.txt", "pubmed24n0001.xml.gz", "pubmed24n0001.xml.gz.md5"]
  assert pubmed.listed_names("a.xml.gz\nb.xml.gz\n") == ["a.xml.gz", "b.xml.gz"]
  digest = "0123456789abcdef0123456789ABCDEF"
  assert pubmed.parse_md5("MD5(pubmed24n0001.xml.gz)= %s\n" % digest, "pubmed24n0001.xml.gz", "u") == digest.lower()
  assert pubmed.parse_md5("%s  pubmed24n0001.xml.gz\n" % digest, "pubmed24n0001.xml.gz", "u") == digest.lower()
  with pytest.raises(ValueError, match="u: the checksum is for pubmed24n0002.xml.gz, not pubmed24n0001.xml.gz"):
    pubmed.parse_md5("MD5(pubmed24n0002.xml.gz)= %s" % digest, "pubmed24n0001.xml.gz", "u")
  with pytest.raises(ValueError, match="u: no md5 digest in it"):
    pubmed.parse_md5("<html>Not Found</html>", "pubmed24n0001.xml.gz", "u")


@pytest.mark.parametrize("data, message", [
    (b"<PubmedArticleSet></PubmedArticleSet>", "Not a gzipped file"),
    (gzip.compress(b"PMID 1\nTitle: not XML\n"), "not well-formed XML (syntax error: line 1, column 0)"),
    (gzip.compress(b"<PubmedArticleSet><DeleteCitation/></PubmedArticleSet>"), "no PubmedArticle element"),
    (_medline_file([_medline_article(1, "Title .", [(None, "Some text .")])])[:-30], "cannot be read"),
], ids=["not gzip", "not XML", "no PubmedArticle", "truncated"])
def test_bad_pubmed_files_are_one_line_errors(tmp_path, data, message):
  bad = tmp_path / "pubmed24n0009.xml.gz"
  bad.write_bytes(data)
  line = _error_line(_bert_prep(tmp_path, "--action", "text_formatting", "--dataset", "pubmed_baseline",
                                "--input_files", str(bad)))
  assert line.startswith("bertPrep.py --action text_formatting --dataset pubmed_baseline: error: %s: " % bad)
  assert message in line
  assert not os.path.exists(tmp_path / "formatted_one_article_per_line" / "pubmed_baseline_one_article_per_line.txt")


# ------------------------------------------------------------------------------------------- downloads


def test_md5_mismatch_is_one_line_and_leaves_no_file(tmp_path):
  files, _ = _pubmed_fixture()
  folder = _serve_pubmed(tmp_path / "www", files)
  (folder / (FILES[1] + ".md5")).write_bytes(_md5_file(FILES[1], files[FILES[1]] + b"corrupt"))
  _serve_pubmed(tmp_path / "www", files, folder="updatefiles")
  with _Server(tmp_path / "www") as server:
    work = tmp_path / "work"
    env = {"BERT_PREP_URL_PUBMED": server.url + "/pubmed"}
    proc = _bert_prep(work, "--action", "download", "--dataset", "pubmed_baseline", **env)
    dest = work / "download" / "pubmed" / "baseline"
    assert _error_line(proc) == (
        "bertPrep.py --action download --dataset pubmed_baseline: error: %s.part: md5 checksum mismatch: got %s, "
        "expected %s (downloaded from %s/pubmed/baseline/%s; partial file removed)" % (
            dest / FILES[1], hashlib.md5(files[FILES[1]]).hexdigest(),
            hashlib.md5(files[FILES[1]] + b"corrupt").hexdigest(), server.url, FILES[1]))
    assert sorted(os.listdir(dest)) == [FILES[0]]   # the good file, verified; nothing of the bad one
    # A verified file is not fetched again; --input_files picks files of the listing (here of the update files);
    # a name the listing lacks is an error.
    proc = _bert_prep(work, "--action", "download", "--dataset", "pubmed_baseline", "--input_files", FILES[0], **env)
    assert proc.returncode == 0 and "Already downloaded and verified" in proc.stdout, proc.stderr
    proc = _bert_prep(work, "--action", "download", "--dataset", "pubmed_daily_update", "--input_files", FILES[1],
                      **env)
    assert proc.returncode == 0, proc.stderr
    assert os.listdir(work / "download" / "pubmed" / "daily_update") == [FILES[1]]
    line = _error_line(_bert_prep(work, "--action", "download", "--dataset", "pubmed_baseline", "--input_files",
                                  "pubmed24n0003.xml.gz", **env))
    assert line.endswith("error: --input_files: pubmed24n0003.xml.gz not listed among the 2 pubmed_baseline files")
  assert sorted(os.listdir(dest)) == [FILES[0]]


def _jats(title, abstract, body):
  return ('<?xml version="1.0"?>\n<!DOCTYPE article PUBLIC "-//NLM//DTD JATS (Z39.96) Journal Archiving and '
          'Interchange DTD v1.3 20210610//EN" "JATS-archivearticle1-3.dtd">\n<article article-type="research-article">'
          '<front><journal-meta><journal-title-group><journal-title>Test</journal-title></journal-title-group>'
          '</journal-meta><article-meta><title-group><article-title>%s</article-title></title-group>%s'
          '</article-meta></front>%s</article>' % (title, abstract, body)).encode()


def _tar_gz(members):
  """The bytes of a .tar.gz holding `members` ({name: bytes}), as PMC's open-access packages are."""
  buf = io.BytesIO()
  with tarfile.open(fileobj=buf, mode="w:gz") as archive:
    for name, data in members.items():
      info = tarfile.TarInfo(name)
      info.size = len(data)
      archive.addfile(info, io.BytesIO(data))
  return buf.getvalue()


def test_pmc_open_access_packages_title_abstract_and_body(tmp_path):
  """pubmed_fulltext: PMC's .tar.gz packages of JATS articles, listed without an .md5 (size checked)."""
  s = [escape(x) for x in _sentences()]
  articles = {
      "PMC0000001/PMC0000001.xml": _jats(
          s[10], '<abstract><sec><title>Background</title><p>%s</p></sec><p>%s</p></abstract>'
          '<abstract abstract-type="graphical"><p>Graphical abstract.</p></abstract>' % (s[11], s[12]),
          '<body><sec><title>Results</title><p>%s <italic>%s</italic></p><fig><caption><p>A figure.</p>'
          '</caption></fig><table-wrap><table><tr><td><p>A cell.</p></td></tr></table></table-wrap></sec></body>'
          % (s[13], s[14])),
      "PMC0000002/PMC0000002.nxml": _jats(s[TITLE_ONLY], "", "<body><p/></body>"),   # no text: skipped
      "PMC0000003/PMC0000003.xml": _jats(s[0][:-2], "<abstract><p>%s</p></abstract>" % s[1], ""),
  }
  package = "oa_comm_xml.PMC000xxxxxx.baseline.2024-06-18.tar.gz"
  target = tmp_path / "www" / "oa_bulk" / "oa_comm" / "xml"
  target.mkdir(parents=True)
  (target / package).write_bytes(_tar_gz(articles))
  (target / (package[:-7] + ".filelist.csv")).write_text("Article File,PMID\n")
  with _Server(tmp_path / "www") as server:
    work = tmp_path / "work"
    proc = _bert_prep(work, "--action", "download", "--dataset", "pubmed_fulltext", BERT_PREP_URL_PMC=server.url)
    assert proc.returncode == 0, proc.stderr
  assert "no published md5: size checked" in proc.stdout
  assert os.listdir(work / "download" / "pubmed" / "fulltext") == [package]
  proc = _bert_prep(work, "--action", "text_formatting", "--dataset", "pubmed_fulltext")
  assert proc.returncode == 0, proc.stderr
  assert "Wrote 2 articles from 1 files" in proc.stdout and "skipped 1 articles without abstract or body" in proc.stdout
  plain = _sentences()
  assert _formatted(work, "pubmed_fulltext") == [
      " ".join(plain[10:15]),                  # title, abstract paragraphs, body paragraphs; no caption, no cell
      plain[0][:-2] + ". " + plain[1]]         # a title without a full stop gets one


def test_bad_pmc_packages_are_errors_naming_them(tmp_path):
  def package(name, members):
    (tmp_path / name).write_bytes(_tar_gz(members))
    return str(tmp_path / name)

  output = str(tmp_path / "out.txt")
  for path, message in [
      (package("a.tar.gz", {"PMC1/PMC1.xml": b"<article><front>"}), "member PMC1/PMC1.xml: not well-formed XML"),
      (package("b.tar.gz", {"PMC1/PMC1.pdf": b"%PDF-1.4"}), "no .xml/.nxml article in the archive"),
      (str(tmp_path / "a.tar.gz") + ".md5", "no such file or directory")]:
    with pytest.raises(ValueError, match=re.escape(path) + ": .*" + message):
      text_formatting.format_pubmed([path], output, "jats")
  (tmp_path / "c.tar.gz").write_bytes(gzip.compress(b"not a tar archive"))
  with pytest.raises(ValueError, match="c.tar.gz: not a readable tar.gz archive"):
    text_formatting.format_pubmed([str(tmp_path / "c.tar.gz")], output, "jats")
  assert not os.path.exists(output) and not os.path.exists(output + ".tmp")


# ---------------------------------------------------------- create_biobert_datasets_from_start.sh, launchers


@pytest.fixture(scope="module")
def pubmed_data(tmp_path_factory):
  """data/create_biobert_datasets_from_start.sh run against the local server: (working dir, its output, the
  expected formatted lines)."""
  root = tmp_path_factory.mktemp("pubmed")
  files, expected = _pubmed_fixture()
  _serve_pubmed(root / "www", files)
  work = root / "work"
  with _Server(root / "www") as server:
    env = dict(SUBPROCESS_ENV, BERT_PREP_WORKING_DIR=str(work), BERT_PREP_URL_PUBMED=server.url + "/pubmed",
               PYTHON=sys.executable, N_PROCESSES="2", N_TRAINING_SHARDS="2", N_TEST_SHARDS="1",
               FRACTION_TEST_SET="0.2", VOCAB_FILE_UNCASED=VOCABS[1], VOCAB_FILE_CASED=VOCABS[0])
    proc = subprocess.run(["bash", CREATE], env=env, capture_output=True, text=True, timeout=900)
  assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
  return str(work), proc.stdout, expected


def test_create_biobert_datasets_formats_title_and_abstract_one_article_per_line(pubmed_data):
  work, stdout, expected = pubmed_data
  assert _formatted(work, "pubmed_baseline") == expected
  assert "Wrote 9 articles from 2 files" in stdout and "skipped 1 articles without an abstract" in stdout
  assert expected[0].startswith("Identification of APC2 , a homologue")            # <i>APC2</i>
  assert expected[4].startswith("Increased incidence of cancer in patients with cartilage - hair hypoplasia . "
                                "Previous reports have suggested")                   # labels dropped
  assert sorted(os.listdir(os.path.join(work, "download", "pubmed", "baseline"))) == list(FILES)
  assert "md5 %s" % hashlib.md5(_pubmed_fixture()[0][FILES[0]]).hexdigest() in stdout


def _records(path, seq, pred):
  import tensorflow as tf
  features = {"input_ids": tf.io.FixedLenFeature([seq], tf.int64),
              "input_mask": tf.io.FixedLenFeature([seq], tf.int64),
              "segment_ids": tf.io.FixedLenFeature([seq], tf.int64),
              "masked_lm_positions": tf.io.FixedLenFeature([pred], tf.int64),
              "masked_lm_ids": tf.io.FixedLenFeature([pred], tf.int64),
              "masked_lm_weights": tf.io.FixedLenFeature([pred], tf.float32),
              "next_sentence_labels": tf.io.FixedLenFeature([1], tf.int64)}
  batch = next(iter(tf.data.TFRecordDataset(path).batch(100000).map(lambda r: tf.io.parse_example(r, features))))
  return [{k: v[i].numpy() for k, v in batch.items()} for i in range(len(batch["input_ids"]))]


@pytest.mark.parametrize("lower_case", [1, 0])
def test_create_biobert_datasets_tfrecords_for_both_phases_and_casings(pubmed_data, lower_case):
  work = pubmed_data[0]
  with open(VOCABS[lower_case], encoding="utf-8") as f:
    vocab = [line.rstrip("\n") for line in f]
  for seq, pred in ((128, 20), (512, 80)):
    folder = os.path.join(tfrecord_creation.tfrecord_dir(work, lower_case, seq, pred, 0.15, 12345, 5, 2, 0.2),
                          "pubmed_baseline")
    paths = sorted(glob.glob(os.path.join(folder, "*", "*")))
    assert [os.path.relpath(p, folder) for p in paths] == [
        "test/pubmed_baseline_test_0.tfrecord", "training/pubmed_baseline_training_0.tfrecord",
        "training/pubmed_baseline_training_1.tfrecord"]
    pieces = set()
    for path in paths:
      records = _records(path, seq, pred)
      assert records, path
      for r in records:
        assert r["input_ids"][0] == vocab.index("[CLS]") and r["input_ids"].max() < len(vocab)
        assert r["masked_lm_weights"].sum() >= 1 and r["next_sentence_labels"][0] in (0, 1)
        pieces.update(vocab[i] for i in r["input_ids"][r["input_mask"] == 1])
    capitalized = {p for p in pieces if p.lower() != p and not p.startswith("[")}
    assert bool(capitalized) == (lower_case == 0), sorted(capitalized)[:10]


def _launch(script, args, **env):
  return subprocess.run(["bash", os.path.join(BIOBERT_SCRIPTS, script)] + [str(a) for a in args],
                        env=dict(SUBPROCESS_ENV, PYTHON=sys.executable, **env), capture_output=True, text=True,
                        timeout=900)


def test_pubmed_launchers_phase_1_then_2_on_the_tfrecords_made(pubmed_data, tmp_path):
  """Both phases on the uncased TFRecords made above (the tiny BERT from scratch, a few updates each); phase 2
  from phase 1's final checkpoint, at 512 tokens."""
  import tensorflow as tf
  env = dict(DATA_DIR=pubmed_data[0], RESULTS_DIR=str(tmp_path), BERT_MODEL="tiny")
  # train_batch_size learning_rate cased precision use_xla num_gpus warmup_steps train_steps
  # num_accumulation_steps save_checkpoint_steps eval_batch_size
  phase1 = _launch("run_pretraining_pubmed_base_phase_1.sh", [8, 1e-3, "false", "fp32", "false", 1, 1, 3, 1, 3, 8],
                   **env)
  assert phase1.returncode == 0, phase1.stdout[-3000:] + phase1.stderr[-3000:]
  data1 = os.path.join(tfrecord_creation.tfrecord_dir(pubmed_data[0], 1, 128, 20, 0.15, 12345, 5, 2, 0.2),
                       "pubmed_baseline")
  assert "--input_files_dir=%s/training" % data1 in phase1.stdout
  assert tf.train.latest_checkpoint(str(tmp_path / "biobert_phase_1")).endswith("model.ckpt-3")
  phase2 = _launch("run_pretraining_pubmed_base_phase_2.sh", ["", 2, 1e-3, "false", "fp32", "false", 1, 1, 2, 1, 2, 2],
                   **env)
  assert phase2.returncode == 0, phase2.stdout[-3000:] + phase2.stderr[-3000:]
  assert "init %s/biobert_phase_1/model.ckpt-3" % tmp_path in phase2.stdout
  assert "--max_seq_length=512" in phase2.stdout and "lower_case_1_seq_len_512_max_pred_80" in phase2.stdout
  assert tf.train.latest_checkpoint(str(tmp_path / "biobert_phase_2")).endswith("model.ckpt-2")
  for phase in (1, 2):
    assert "Final eval results (%s/biobert_phase_%d/eval_results.txt)" % (tmp_path, phase) in [
        phase1, phase2][phase - 1].stdout


@pytest.mark.slow   # a third TensorFlow run; tests/test_biobert_launchers.py checks the cased flags quickly
def test_pubmed_phase_1_cased_on_the_cased_tfrecords(pubmed_data, tmp_path):
  import tensorflow as tf
  proc = _launch("run_pretraining_pubmed_base_phase_1.sh", [8, 1e-3, "true", "fp32", "false", 1, 1, 2, 1, 2, 8],
                 DATA_DIR=pubmed_data[0], RESULTS_DIR=str(tmp_path), BERT_MODEL="tiny")
  assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
  assert "lower_case_0_seq_len_128_max_pred_20" in proc.stdout
  assert tf.train.latest_checkpoint(str(tmp_path / "biobert_phase_1")).endswith("model.ckpt-2")
