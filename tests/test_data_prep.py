"""Tests of the data/ preparation pipeline (bertPrep.py and its modules) on real shipped text.

Downloads are tested against a local HTTP server on 127.0.0.1 (ephemeral port) serving the
real fixture files from data/samples/, with Range support and modes that drop the
connection midway.
"""

import bz2
import collections
import csv
import glob
import hashlib
import http.server
import io
import json
import os
import subprocess
import sys
import tarfile
import threading
import zipfile

import pytest

from conftest import ROOT, SAMPLES

sys.path.insert(0, os.path.join(ROOT, "data"))
import downloader  # noqa: E402
import sharding  # noqa: E402
import sources  # noqa: E402
import text_formatting  # noqa: E402
import tfrecord_creation  # noqa: E402

SQUAD_DEV = os.path.join(SAMPLES, "squad", "dev-v2.0.first5articles.official.json")
SQUAD_TRAIN = os.path.join(SAMPLES, "squad", "train-v1.1.3articles.reconstructed.json")
GUTENBERG = os.path.join(SAMPLES, "pretrain", "gutenberg_sample.txt")
BERT_PREP = os.path.join(ROOT, "data", "bertPrep.py")


def _read(path):
  with open(path, "rb") as f:
    return f.read()


def _sha256(data):
  return hashlib.sha256(data).hexdigest()


class _Server:
  """A local HTTP server serving {url path: bytes}; `drop_after` bytes cut a response short.

  Attributes:
    files: url path -> content.
    drops: how many of the next responses are cut after `drop_after` bytes (-1: all of them).
    requests: (path, Range header) of every request received.
  """

  def __init__(self, files, drop_after=None, drops=0):
    self.files, self.drop_after, self.drops, self.requests = files, drop_after, drops, []
    server = self

    class Handler(http.server.BaseHTTPRequestHandler):

      def log_message(self, *args):
        pass

      def do_GET(self):
        server.requests.append((self.path, self.headers.get("Range")))
        data = server.files.get(self.path)
        if data is None:
          self.send_error(404)
          return
        start = 0
        range_header = self.headers.get("Range")
        if range_header:
          start = int(range_header.split("=")[1].split("-")[0])
          if start >= len(data):
            self.send_response(416)
            self.send_header("Content-Range", "bytes */%d" % len(data))
            self.end_headers()
            return
          self.send_response(206)
          self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
        else:
          self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if server.drops and server.drop_after is not None:
          server.drops -= 1 if server.drops > 0 else 0
          self.wfile.write(body[:server.drop_after])  # Then the connection closes early.
          self.close_connection = True
          return
        self.wfile.write(body)

    self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
    self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

  def __enter__(self):
    self.thread.start()
    return self

  def __exit__(self, *exc):
    self.httpd.shutdown()
    self.httpd.server_close()


def _download(url, dest, **kwargs):
  return downloader.download(url, dest, backoff=0.01, timeout=10, **kwargs)


# ---------------------------------------------------------------------------------------------- downloads


def test_download_verifies_sha256_and_md5(tmp_path):
  data = _read(SQUAD_DEV)
  with _Server({"/squad/dev.json": data}) as server:
    dest = str(tmp_path / "dev.json")
    _download(server.url + "/squad/dev.json", dest, sha256=_sha256(data),
              md5=hashlib.md5(data).hexdigest(), size=len(data))
  assert _read(dest) == data
  assert os.listdir(tmp_path) == ["dev.json"]
  # A second call finds the verified file and does not download again.
  with _Server({}) as server:
    _download(server.url + "/squad/dev.json", dest, sha256=_sha256(data))
    assert server.requests == []


def test_download_checksum_mismatch_leaves_no_file(tmp_path):
  data, other = _read(SQUAD_DEV), _read(SQUAD_TRAIN)
  with _Server({"/dev.json": data}) as server:
    with pytest.raises(ValueError, match="sha256 checksum mismatch"):
      _download(server.url + "/dev.json", str(tmp_path / "dev.json"), sha256=_sha256(other))
    with pytest.raises(ValueError, match="md5 checksum mismatch"):
      _download(server.url + "/dev.json", str(tmp_path / "dev.json"), md5=hashlib.md5(other).hexdigest())
  assert os.listdir(tmp_path) == []


def test_download_resumes_with_range_after_dropped_connections(tmp_path):
  data = _read(SQUAD_DEV)
  cut = 100000
  with _Server({"/dev.json": data}, drop_after=cut, drops=2) as server:
    dest = str(tmp_path / "dev.json")
    _download(server.url + "/dev.json", dest, sha256=_sha256(data))
  assert _read(dest) == data
  assert not os.path.exists(dest + ".part")
  # First request whole file, then two resumes from where each cut connection stopped.
  assert [r for _, r in server.requests] == [None, "bytes=%d-" % cut, "bytes=%d-" % (2 * cut)]


def test_download_always_failing_leaves_only_a_part_file_then_resumes(tmp_path):
  data = _read(SQUAD_DEV)
  dest = str(tmp_path / "dev.json")
  with _Server({"/dev.json": data}, drop_after=50000, drops=-1) as server:
    with pytest.raises(downloader.DownloadError, match="failed after 3 attempts"):
      _download(server.url + "/dev.json", dest, sha256=_sha256(data), retries=2)
  assert not os.path.exists(dest)
  assert os.listdir(tmp_path) == ["dev.json.part"]
  assert os.path.getsize(dest + ".part") == 3 * 50000 < len(data)
  # A later run against a healthy server resumes the .part and yields the identical file.
  with _Server({"/dev.json": data}) as server:
    _download(server.url + "/dev.json", dest, sha256=_sha256(data))
  assert server.requests == [("/dev.json", "bytes=150000-")]
  assert _read(dest) == data and os.listdir(tmp_path) == ["dev.json"]


def test_download_unknown_size_cut_short_is_not_accepted(tmp_path):
  """Without a known checksum the server's Content-Length still catches a truncated body."""
  data = _read(GUTENBERG)
  with _Server({"/books.txt": data}, drop_after=1000, drops=-1) as server:
    with pytest.raises(downloader.DownloadError, match="connection closed after"):
      _download(server.url + "/books.txt", str(tmp_path / "books.txt"), retries=1)
  assert not os.path.exists(tmp_path / "books.txt")


def test_download_404_is_a_clear_error(tmp_path):
  with _Server({}) as server:
    with pytest.raises(downloader.DownloadError, match="HTTP 404"):
      _download(server.url + "/missing.json", str(tmp_path / "missing.json"))
    assert len(server.requests) == 1  # Client errors are not retried.
  assert os.listdir(tmp_path) == []


def test_zip_and_bz2_downloads_extract_to_identical_files(tmp_path):
  text, squad = _read(GUTENBERG), _read(SQUAD_DEV)
  buf = io.BytesIO()
  with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("corpus/gutenberg_sample.txt", text)
    z.writestr("corpus/squad/dev.json", squad)
  zipped, bzipped = buf.getvalue(), bz2.compress(text)
  with _Server({"/c.zip": zipped, "/t.txt.bz2": bzipped}, drop_after=len(zipped) // 2, drops=1) as server:
    zip_path = _download(server.url + "/c.zip", str(tmp_path / "dl" / "c.zip"), sha256=_sha256(zipped))
    bz2_path = _download(server.url + "/t.txt.bz2", str(tmp_path / "dl" / "t.txt.bz2"), sha256=_sha256(bzipped))
  assert downloader.extract_archive(zip_path, str(tmp_path / "out")) == ["corpus"]
  assert _read(tmp_path / "out" / "corpus" / "gutenberg_sample.txt") == text
  assert _read(tmp_path / "out" / "corpus" / "squad" / "dev.json") == squad
  assert sorted(os.listdir(tmp_path / "out")) == ["corpus"]  # The temporary folder is gone.
  downloader.decompress_bz2(bz2_path, str(tmp_path / "t.txt"))
  assert _read(tmp_path / "t.txt") == text


def test_corrupt_archives_are_errors_and_leave_nothing(tmp_path):
  text = _read(GUTENBERG)
  truncated_bz2 = tmp_path / "t.txt.bz2"
  truncated_bz2.write_bytes(bz2.compress(text)[:-100])
  with pytest.raises(ValueError, match="truncated bz2"):
    downloader.decompress_bz2(str(truncated_bz2), str(tmp_path / "t.txt"))
  assert not os.path.exists(tmp_path / "t.txt") and not os.path.exists(tmp_path / "t.txt.tmp")

  buf = io.BytesIO()
  with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("book.txt", text)
  corrupt = bytearray(buf.getvalue())
  corrupt[200] ^= 0xFF  # Inside the compressed member: its CRC no longer matches.
  (tmp_path / "c.zip").write_bytes(bytes(corrupt))
  with pytest.raises(ValueError, match="c.zip"):
    downloader.extract_archive(str(tmp_path / "c.zip"), str(tmp_path / "out"))
  assert os.listdir(tmp_path / "out") == []


def test_tar_gz_extraction(tmp_path):
  text = _read(GUTENBERG)
  archive = tmp_path / "books.tar.gz"
  with tarfile.open(archive, "w:gz") as t:
    info = tarfile.TarInfo("books1/epubtxt/gutenberg_sample.txt")
    info.size = len(text)
    t.addfile(info, io.BytesIO(text))
  assert downloader.extract_archive(str(archive), str(tmp_path / "bookscorpus")) == ["books1"]
  assert _read(tmp_path / "bookscorpus" / "books1" / "epubtxt" / "gutenberg_sample.txt") == text


def test_squad_download_checks_official_md5_and_json(tmp_path):
  dev = _read(SQUAD_DEV)
  files = {"/sq/dev-v1.1.json": dev, "/sq/train-v1.1.json": dev, "/sq/bad.json": _read(GUTENBERG)}
  with _Server(files) as server:
    base_urls = sources.base_urls_from_env({"BERT_PREP_URL_SQUAD": server.url + "/sq/"})
    assert base_urls["squad"] == server.url + "/sq" and base_urls["google"] == sources.BASE_URLS["google"]
    # The shipped subset is not the official train-v1.1.json: its published md5 rejects it.
    with pytest.raises(ValueError, match="md5 checksum mismatch"):
      sources.download_squad(str(tmp_path), base_urls, remotes=sources.SQUAD[:1])
    assert os.listdir(tmp_path / "squad" / "v1.1") == []
    ok = sources.Remote("squad", "dev-v1.1.json", "squad/v1.1/dev-v1.1.json", sha256=_sha256(dev))
    assert sources.download_squad(str(tmp_path), base_urls, remotes=[ok]) == [str(tmp_path / ok.dest)]
    bad = sources.Remote("squad", "bad.json", "squad/bad.json")
    with pytest.raises(ValueError, match="bad.json: not a SQuAD JSON file"):
      sources.download_squad(str(tmp_path), base_urls, remotes=[bad])


def test_wikicorpus_download_decompresses_the_dump(tmp_path):
  """The dump path and layout NVIDIA uses, from a mirror; the bz2 CRCs are checked on decompression."""
  text = _read(GUTENBERG)
  dump = bz2.compress(text)
  with _Server({"/w/enwiki/latest/enwiki-latest-pages-articles.xml.bz2": dump}, drop_after=5000, drops=1) as server:
    base_urls = sources.base_urls_from_env({"BERT_PREP_URL_WIKIPEDIA": server.url + "/w"})
    xml = sources.download_wikicorpus_en(str(tmp_path), base_urls)
  assert xml == str(tmp_path / "wikicorpus_en" / "wikicorpus_en.xml")
  assert _read(xml) == text
  assert sorted(os.listdir(tmp_path / "wikicorpus_en")) == ["wikicorpus_en.xml", "wikicorpus_en.xml.bz2"]


def test_format_mrpc_rebuilds_glue_files_from_raw(tmp_path):
  """The raw MSR files rebuilt from the shipped GLUE MRPC split back into identical TSVs."""
  mrpc = os.path.join(SAMPLES, "glue", "MRPC")

  def rows(name):
    with open(os.path.join(mrpc, name), encoding="utf-8", newline="") as f:
      return list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))

  train, dev, test = rows("train.tsv"), rows("dev.tsv"), rows("test.tsv")
  raw_dir = tmp_path / "MRPC"
  raw_dir.mkdir()
  with open(raw_dir / "msr_paraphrase_train.txt", "w", encoding="utf-8", newline="") as f:
    for row in train + dev[1:]:
      f.write("\t".join(row) + "\n")
  with open(raw_dir / "msr_paraphrase_test.txt", "w", encoding="utf-8", newline="") as f:
    for row in [train[0]] + [["1"] + r[1:] for r in test[1:]]:
      f.write("\t".join(row) + "\n")
  with open(raw_dir / "dev_ids.tsv", "w", encoding="utf-8", newline="") as f:
    for row in dev[1:]:
      f.write("%s\t%s\n" % (row[1], row[2]))
  sources.format_mrpc(str(raw_dir))
  for name in ("train.tsv", "dev.tsv", "test.tsv"):
    assert _read(raw_dir / name) == _read(os.path.join(mrpc, name)), name


# ----------------------------------------------------------------------------------- formatting, sharding


def _squad_articles():
  """(title, paragraphs) of the real Wikipedia articles in the shipped SQuAD files."""
  articles = []
  for path in (SQUAD_DEV, SQUAD_TRAIN):
    with open(path, encoding="utf-8") as f:
      for article in json.load(f)["data"]:
        articles.append((article["title"].replace("_", " "), [p["context"].strip() for p in article["paragraphs"]]))
  return articles


def _write_wikiextractor_output(root, articles):
  """WikiExtractor's layout: AA/wiki_00, AA/wiki_01, <doc ...>title, blank, paragraphs</doc>."""
  os.makedirs(os.path.join(root, "AA"))
  half = len(articles) // 2
  for n, chunk in enumerate((articles[:half], articles[half:])):
    with open(os.path.join(root, "AA", "wiki_%02d" % n), "w", encoding="utf-8") as f:
      for i, (title, paragraphs) in enumerate(chunk):
        f.write('<doc id="%d" url="https://en.wikipedia.org/wiki?curid=%d" title="%s">\n%s\n\n' % (
            i, i, title, title))
        f.write("\n".join(paragraphs) + "\n</doc>\n")


def test_text_formatting_wikiextractor_output(tmp_path):
  articles = _squad_articles()
  _write_wikiextractor_output(str(tmp_path / "extracted"), articles)
  output = str(tmp_path / "formatted" / "wiki.txt")
  assert text_formatting.format_wikicorpus([str(tmp_path / "extracted")], output) == len(articles)
  with open(output, encoding="utf-8") as f:
    lines = f.read().split("\n")
  assert lines[-1] == "" and len(lines) - 1 == len(articles)
  for line, (title, paragraphs) in zip(lines, articles):
    assert line == " ".join(paragraphs)  # The title line is dropped, paragraphs joined.
  # A truncated file (an unclosed <doc>) is an error naming the file and line.
  with open(tmp_path / "extracted" / "AA" / "wiki_01", "a", encoding="utf-8") as f:
    f.write('<doc id="9" url="u" title="t">\nt\n\ncut here')
  with pytest.raises(ValueError, match=r"wiki_01: the <doc> of line \d+ is never closed"):
    text_formatting.format_wikicorpus([str(tmp_path / "extracted")], output)


def test_text_formatting_books_and_bert_format(tmp_path):
  books = tmp_path / "books"
  (books / "sub").mkdir(parents=True)
  text = _read(GUTENBERG).decode("utf-8")
  (books / "a.txt").write_text(text, encoding="utf-8")
  (books / "sub" / "b.txt").write_text(text[:5000], encoding="utf-8")
  assert text_formatting.format_books([str(books)], str(tmp_path / "books.txt")) == 2
  lines = (tmp_path / "books.txt").read_text(encoding="utf-8").splitlines()
  assert lines[0] == " ".join(l.strip() for l in text.splitlines() if l.strip())
  # BERT's own format: documents are separated by blank lines.
  n_docs = len([d for d in text.split("\n\n") if d.strip()])
  assert text_formatting.format_documents([GUTENBERG], str(tmp_path / "docs.txt")) == n_docs
  (tmp_path / "empty").mkdir()
  with pytest.raises(ValueError, match="no .txt books under .*empty"):
    text_formatting.format_books([str(tmp_path / "empty")], str(tmp_path / "x.txt"))
  with pytest.raises(ValueError, match="nothing: no such file or directory"):
    text_formatting.format_books([str(tmp_path / "nothing")], str(tmp_path / "x.txt"))
  assert not os.path.exists(tmp_path / "x.txt")


def _paragraph_documents(tmp_path):
  """One-document-per-line file of the shipped SQuAD paragraphs (real Wikipedia text)."""
  docs = [p for _, paragraphs in _squad_articles() for p in paragraphs]
  path = tmp_path / "paragraphs.txt"
  path.write_text("\n".join(docs) + "\n", encoding="utf-8")
  return docs, str(path)


def _read_shard(path):
  with open(path, encoding="utf-8") as f:
    text = f.read()
  assert text.endswith("\n\n")
  return [block.split("\n") for block in text[:-2].split("\n\n")]


def test_sharding_balance_split_and_completeness(tmp_path):
  import nltk  # The reference segmentation: NLTK's own sent_tokenize on the shipped punkt_tab.
  nltk.data.path.insert(0, os.path.join(SAMPLES, "nltk_data"))
  docs, path = _paragraph_documents(tmp_path)
  expected_docs = [[s.strip() for s in nltk.tokenize.sent_tokenize(d)] for d in docs]
  total = sum(len(d) for d in expected_docs)
  training, test = sharding.shard_corpus([path], str(tmp_path / "sharded"), "wiki", n_training_shards=4,
                                         n_test_shards=2, fraction_test_set=0.2, seed=7)
  assert [os.path.basename(p) for p in training + test] == [
      "wiki_training_0.txt", "wiki_training_1.txt", "wiki_training_2.txt", "wiki_training_3.txt",
      "wiki_test_0.txt", "wiki_test_1.txt"]
  train_docs = [_read_shard(p) for p in training]
  test_docs = [_read_shard(p) for p in test]
  # Every document (and so every sentence) appears exactly once, its sentences kept together.
  out = [tuple(d) for shard in train_docs + test_docs for d in shard]
  assert collections.Counter(out) == collections.Counter(tuple(d) for d in expected_docs)
  assert all(s for d in out for s in d)  # No empty sentence lines.
  # Balanced by sentence count: shards of a split differ by less than one (largest) document.
  largest = max(len(d) for d in expected_docs)
  for shards in (train_docs, test_docs):
    counts = [sum(len(d) for d in shard) for shard in shards]
    assert min(counts) > 0 and max(counts) - min(counts) <= largest, counts
  test_fraction = sum(len(d) for shard in test_docs for d in shard) / total
  assert abs(test_fraction - 0.2) <= largest / total, test_fraction


def test_sharding_too_few_documents_writes_no_empty_shard(tmp_path):
  docs, path = _paragraph_documents(tmp_path)
  with pytest.raises(ValueError, match="cannot fill .* without empty shards"):
    sharding.shard_corpus([path], str(tmp_path / "sharded"), "wiki", n_training_shards=len(docs),
                          n_test_shards=1, fraction_test_set=0.1)
  assert not os.path.exists(tmp_path / "sharded")
  with pytest.raises(ValueError, match="--n_test_shards 0 and --fraction_test_set 0.1 disagree"):
    sharding.distribute([3, 4, 5], 1, 0, 0.1)


# ------------------------------------------------------------------------------------------- TFRecords


VOCAB = os.path.join(SAMPLES, "vocab", "bert-base-uncased-vocab.txt")


def test_google_vocab_checksums_match_the_real_vocab():
  """The published per-file sha256 table agrees with Google's real bert-base-uncased vocab.txt."""
  release, sums = sources.GOOGLE_WEIGHTS["uncased_L-12_H-768_A-12"]
  downloader.verify_file(VOCAB, sha256=sums[4])
  assert sources.GOOGLE_WEIGHTS["uncased_L-24_H-1024_A-16"][1][4] == sums[4]
  with pytest.raises(ValueError, match="sha256 checksum mismatch"):
    downloader.verify_file(VOCAB, sha256=sources.GOOGLE_WEIGHTS["cased_L-12_H-768_A-12"][1][4])


def test_tfrecord_folder_name_is_nvidias():
  path = tfrecord_creation.tfrecord_dir("/w", 1, 128, 20, 0.15, 12345, 5, 1472, 0.1)
  assert path == ("/w/tfrecord/lower_case_1_seq_len_128_max_pred_20_masked_lm_prob_0.15_random_seed_12345_"
                  "dupe_factor_5_shard_1472_test_split_10")


def test_create_tfrecord_files_failed_shard_names_it(tmp_path):
  shard = tmp_path / "sharded" / "training" / "wiki_training_0.txt"
  shard.parent.mkdir(parents=True)
  shard.write_text(_read(GUTENBERG).decode("utf-8")[:3000] + "\n\n", encoding="utf-8")
  bad_vocab = tmp_path / "vocab.txt"
  bad_vocab.write_bytes(b"\xff\xfe[PAD]\n\x80\x81\n")  # Not UTF-8: create_pretraining_data.py fails.
  jobs = tfrecord_creation.make_jobs([str(shard)], str(tmp_path / "tf" / "wiki" / "training"))
  options = {"vocab_file": str(bad_vocab), "do_lower_case": True, "max_seq_length": 128,
             "max_predictions_per_seq": 20, "masked_lm_prob": 0.15, "random_seed": 1, "dupe_factor": 1}
  with pytest.raises(RuntimeError, match="failed on shard .*wiki_training_0.txt: exit code"):
    tfrecord_creation.run_jobs(jobs, os.path.join(ROOT, "create_pretraining_data.py"), options, 1)
  assert os.listdir(tmp_path / "tf" / "wiki") == ["training"]  # No .tmp left, no record written.
  assert os.listdir(tmp_path / "tf" / "wiki" / "training") == []


def test_bertprep_end_to_end_sample_corpus_tfrecords(tmp_path):
  """text_formatting -> sharding (2 training, 1 test) -> create_tfrecord_files, read back with tf.data."""
  import tensorflow as tf
  env = dict(os.environ, BERT_PREP_WORKING_DIR=str(tmp_path))
  common = ["--dataset", "sample_corpus", "--n_training_shards", "2", "--n_test_shards", "1",
            "--fraction_test_set", "0.2", "--n_processes", "2"]
  for action in (["text_formatting"], ["sharding"],
                 ["create_tfrecord_files", "--dupe_factor", "2", "--vocab_file", VOCAB]):
    result = subprocess.run([sys.executable, BERT_PREP, "--action"] + action + common, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
  assert "3/3 shards done" in result.stdout and "ETA" in result.stdout
  out_dir = os.path.join(tfrecord_creation.tfrecord_dir(str(tmp_path), 1, 128, 20, 0.15, 12345, 2, 2, 0.2),
                         "sample_corpus")
  assert sorted(os.listdir(out_dir)) == ["test", "training"]
  files = sorted(glob.glob(os.path.join(out_dir, "*", "*")))
  assert [os.path.relpath(f, out_dir) for f in files] == [
      "test/sample_corpus_test_0.tfrecord", "training/sample_corpus_training_0.tfrecord",
      "training/sample_corpus_training_1.tfrecord"]
  features = {
      "input_ids": tf.io.FixedLenFeature([128], tf.int64),
      "input_mask": tf.io.FixedLenFeature([128], tf.int64),
      "segment_ids": tf.io.FixedLenFeature([128], tf.int64),
      "masked_lm_positions": tf.io.FixedLenFeature([20], tf.int64),
      "masked_lm_ids": tf.io.FixedLenFeature([20], tf.int64),
      "masked_lm_weights": tf.io.FixedLenFeature([20], tf.float32),
      "next_sentence_labels": tf.io.FixedLenFeature([1], tf.int64),
  }
  with open(VOCAB, encoding="utf-8") as f:
    vocab_size = sum(1 for _ in f)
  for path in files:
    n = 0
    for example in tf.data.TFRecordDataset(path).map(lambda r: tf.io.parse_single_example(r, features)):
      n += 1
      ids = example["input_ids"].numpy()
      assert ids.max() < vocab_size and ids[0] == 101  # [CLS]
      assert int(example["masked_lm_weights"].numpy().sum()) > 0
    assert n > 0, path
