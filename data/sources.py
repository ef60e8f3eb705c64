"""Where each dataset of the `download` action comes from, how it is checked, where it goes.

Checksums are only the published ones:
  * SQuAD v1.1/v2.0 JSON files and evaluation scripts: md5 sums from NVIDIA's
    DeepLearningExamples BERT `data/squad/squad_download.sh`.
  * Google's pretrained BERT zips: sha256 of every extracted file, from NVIDIA's
    `GooglePretrainedWeightDownloader.py` (the two vocab.txt sums equal those of the
    bert-base-uncased / bert-base-cased vocab files Google released). The zips themselves
    have no published sum: they are checked with a CRC test of every member instead.
  * GLUE archives and the MRPC source files: sha256 and size from the Hugging Face
    `datasets` GLUE `dataset_infos.json` (the MRPC files and AX.tsv sums equal those of the
    real files).
  * The Wikipedia dump changes with every dump (`latest`): no fixed sum exists; the bz2
    stream's block CRCs are checked while decompressing, and the size against the server's.
  * PubMed baseline and update files: md5 from the .md5 file NCBI publishes beside each one; PMC
    open-access packages have none: size against the server's, gzip CRC when read (data/pubmed.py).

Every base URL can be redirected (a mirror, or a local server in tests) with the
environment variable BERT_PREP_URL_<NAME>, e.g. BERT_PREP_URL_SQUAD=http://127.0.0.1:8000/squad.
"""

import collections
import csv
import json
import os

import downloader

BASE_URLS = {
    "wikipedia": "https://dumps.wikimedia.org",
    "squad": "https://rajpurkar.github.io/SQuAD-explorer/dataset",
    "codalab": "https://worksheets.codalab.org/rest/bundles",
    "google": "https://storage.googleapis.com/bert_models",
    "glue": "https://dl.fbaipublicfiles.com/glue/data",
    "senteval": "https://dl.fbaipublicfiles.com/senteval/senteval_data",
    "pubmed": "https://ftp.ncbi.nlm.nih.gov/pubmed",
    "pmc": "https://ftp.ncbi.nlm.nih.gov/pub/pmc",
}

# base: key of BASE_URLS; path: appended to the base URL; dest: path under the download dir.
Remote = collections.namedtuple("Remote", ["base", "path", "dest", "sha256", "md5", "size"],
                                defaults=(None, None, None))

WIKI_EN = Remote("wikipedia", "enwiki/latest/enwiki-latest-pages-articles.xml.bz2",
                 "wikicorpus_en/wikicorpus_en.xml.bz2")

SQUAD = [
    Remote("squad", "train-v1.1.json", "squad/v1.1/train-v1.1.json", md5="981b29407e0affa3b1b156f72073b945"),
    Remote("squad", "dev-v1.1.json", "squad/v1.1/dev-v1.1.json", md5="3e85deb501d4e538b6bc56f786231552"),
    Remote("codalab", "0xbcd57bee090b421c982906709c8c27e1/contents/blob/", "squad/v1.1/evaluate-v1.1.py",
           md5="afb04912d18ff20696f7f88eed49bea9"),
    Remote("squad", "train-v2.0.json", "squad/v2.0/train-v2.0.json", md5="62108c273c268d70893182d5cf8df740"),
    Remote("squad", "dev-v2.0.json", "squad/v2.0/dev-v2.0.json", md5="246adae8b7002f8679c027697b0b7cf8"),
    Remote("codalab", "0x6b567e1cf2e041ec80d7098f031c5c9e/contents/blob/", "squad/v2.0/evaluate-v2.0.py",
           md5="ff23213bed5516ea4a6d9edb6cd7d627"),
]

_VOCAB_UNCASED = "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"
_VOCAB_CASED = "eeaa9875b23b04b4c54ef759d03db9d1ba1554838f8fb26c5d96fa551df93d02"
_CKPT = ("bert_config.json", "bert_model.ckpt.data-00000-of-00001", "bert_model.ckpt.index",
         "bert_model.ckpt.meta", "vocab.txt")
# zip name (without .zip) -> (release folder, sha256 of each file of _CKPT in that order).
GOOGLE_WEIGHTS = {
    "uncased_L-12_H-768_A-12": ("2018_10_18", (
        "7b4e5f53efbd058c67cda0aacfafb340113ea1b5797d9ce6ee411704ba21fcbc",
        "58580dc5e0bf0ae0d2efd51d0e8272b2f808857f0a43a88aaf7549da6d7a8a84",
        "04c1323086e2f1c5b7c0759d8d3e484afbb0ab45f51793daab9f647113a0117b",
        "dd5682170a10c3ea0280c2e9b9a45fee894eb62da649bbdea37b38b0ded5f60e", _VOCAB_UNCASED)),
    "uncased_L-24_H-1024_A-16": ("2018_10_18", (
        "bfa42236d269e2aeb3a6d30412a33d15dbe8ea597e2b01dc9518c63cc6efafcb",
        "bc6b3363e3be458c99ecf64b7f472d2b7c67534fd8f564c0556a678f90f4eea1",
        "68b52f2205ffc64dc627d1120cf399c1ef1cbc35ea5021d1afc889ffe2ce2093",
        "6fcce8ff7628f229a885a593625e3d5ff9687542d5ef128d9beb1b0c05edc4a1", _VOCAB_UNCASED)),
    "cased_L-12_H-768_A-12": ("2018_10_18", (
        "f11dfb757bea16339a33e1bf327b0aade6e57fd9c29dc6b84f7ddb20682f48bc",
        "734d5a1b68bf98d4e9cb6b6692725d00842a1937af73902e51776905d8f760ea",
        "517d6ef5c41fc2ca1f595276d6fccf5521810d57f5a74e32616151557790f7b1",
        "5f8a9771ff25dadd61582abb4e3a748215a10a6b55947cbb66d0f0ba1694be98", _VOCAB_CASED)),
    "cased_L-24_H-1024_A-16": ("2018_10_18", (
        "7adb2125c8225da495656c982fd1c5f64ba8f20ad020838571a3f8a954c2df57",
        "6ff33640f40d472f7a16af0c17b1179ca9dcc0373155fb05335b6a4dd1657ef0",
        "ef42a53f577fbe07381f4161b13c7cab4f4fc3b167cec6a9ae382c53d18049cf",
        "d2ddff3ed33b80091eac95171e94149736ea74eb645e575d942ec4a5e01a40a1", _VOCAB_CASED)),
    "multi_cased_L-12_H-768_A-12": ("2018_11_23", (
        "e76c3964bc14a8bb37a5530cdc802699d2f4a6fddfab0611e153aa2528f234f0",
        "55b8a2df41f69c60c5180e50a7c31b7cdf6238909390c4ddf05fbc0d37aa1ac5",
        "7d8509c2a62b4e300feb55f8e5f1eef41638f4998dd4d887736f42d4f6a34b37",
        "95e5f1997e8831f1c31e5cf530f1a2e99f121e9cd20887f2dce6fe9e3343e3fa",
        "fe0fda7c425b48c516fc8f160d594c8022a0808447475c1a7c6d6479763f310c")),
    "chinese_L-12_H-768_A-12": ("2018_11_03", (
        "7aaad0335058e2640bcb2c2e9a932b1cd9da200c46ea7b8957d54431f201c015",
        "756699356b78ad0ef1ca9ba6528297bcb3dd1aef5feadd31f4775d7c7fc989ba",
        "46315546e05ce62327b3e2cd1bed22836adcb2ff29735ec87721396edb21b82e",
        "c0f8d51e1ab986604bc2b25d6ec0af7fd21ff94cf67081996ec3f3bf5d823047",
        "45bbac6b341c319adc98a532532882e91a9cefc0329aa57bac9ae761c27b291c")),
}

# GLUE task (NVIDIA's lowercase dataset name) -> archives, extracted into <download>/glue/.
GLUE_ARCHIVES = {
    "cola": [Remote("glue", "CoLA.zip", "glue/CoLA.zip", size=376971,
                    sha256="f212fcd832b8f7b435fb991f101abf89f96b933ab400603bf198960dfc32cbff")],
    "sst-2": [Remote("glue", "SST-2.zip", "glue/SST-2.zip", size=7439277,
                     sha256="d67e16fb55739c1b32cdce9877596db1c127dc322d93c082281f64057c16deaa")],
    "qqp": [Remote("glue", "QQP-clean.zip", "glue/QQP-clean.zip", size=41696084,
                   sha256="40e7c862c04eb26ee04b67fd900e76c45c6ba8e6d8fab4f8f1f8072a1a3fbae0")],
    "sts-b": [Remote("glue", "STS-B.zip", "glue/STS-B.zip", size=802872,
                     sha256="e60a6393de5a8b5b9bac5020a1554b54e3691f9d600b775bd131e613ac179c85")],
    "mnli": [Remote("glue", "MNLI.zip", "glue/MNLI.zip", size=312783507,
                    sha256="e7c1d896d26ed6caf700110645df426cc2d8ebf02a5ab743d5a5c68ac1c83633")],
    "qnli": [Remote("glue", "QNLIv2.zip", "glue/QNLIv2.zip", size=10627589,
                    sha256="e634e78627a29adaecd4f955359b22bf5e70f2cbd93b493f2d624138a0c0e5f5")],
    "rte": [Remote("glue", "RTE.zip", "glue/RTE.zip", size=697150,
                   sha256="6bf86de103ecd335f3441bd43574d23fef87ecc695977a63b82d5efb206556ee")],
    "wnli": [Remote("glue", "WNLI.zip", "glue/WNLI.zip", size=28999,
                    sha256="ae0e8e4d16f4d46d4a0a566ec7ecceccfd3fbfaa4a7a4b4e02848c0f2561ac46")],
}
GLUE_DIAGNOSTIC = Remote("glue", "AX.tsv", "glue/diagnostic/diagnostic.tsv", size=222257,
                         sha256="0e13510b1bb14436ff7e2ee82338f0efb0133ecf2e73507a697dc210db3f05fd")
MRPC = [
    Remote("senteval", "msr_paraphrase_train.txt", "glue/MRPC/msr_paraphrase_train.txt", size=1047044,
           sha256="60a9b09084528f0673eedee2b69cb941920f0b8cd0eeccefc464a98768457f89"),
    Remote("senteval", "msr_paraphrase_test.txt", "glue/MRPC/msr_paraphrase_test.txt", size=441275,
           sha256="a04e271090879aaba6423d65b94950c089298587d9c084bf9cd7439bd785f784"),
    Remote("glue", "mrpc_dev_ids.tsv", "glue/MRPC/dev_ids.tsv", size=6222,
           sha256="971d7767d81b997fd9060ade0ec23c4fc31cbb226a55d1bd4a1bac474eb81dc7"),
]
GLUE_TASKS = sorted(list(GLUE_ARCHIVES) + ["mrpc"])

BOOKSCORPUS_HELP = (
    "BookCorpus has no public download (its original host was withdrawn). Supply it yourself: "
    "put the books as plain-text .txt files (one book per file) under %s, or pass "
    "--input_files with .txt files, directories of them or a .tar.gz of them; then run "
    "--action text_formatting --dataset bookscorpus.")


def base_urls_from_env(environ):
  """Returns BASE_URLS with each BERT_PREP_URL_<NAME> environment override applied."""
  urls = dict(BASE_URLS)
  for name in urls:
    override = environ.get("BERT_PREP_URL_" + name.upper())
    if override:
      urls[name] = override.rstrip("/")
  return urls


def fetch(remote, download_dir, base_urls):
  """Downloads one Remote under `download_dir`, verified. Returns the local path."""
  url = base_urls[remote.base] + "/" + remote.path
  return downloader.download(url, os.path.join(download_dir, remote.dest), sha256=remote.sha256,
                             md5=remote.md5, size=remote.size)


def download_wikicorpus_en(download_dir, base_urls):
  """Downloads the English Wikipedia dump and decompresses it to wikicorpus_en.xml."""
  bz2_path = fetch(WIKI_EN, download_dir, base_urls)
  xml_path = bz2_path[:-len(".bz2")]
  if os.path.exists(xml_path) and os.path.getmtime(xml_path) >= os.path.getmtime(bz2_path):
    print("Already decompressed: %s" % xml_path)
  else:
    downloader.decompress_bz2(bz2_path, xml_path)
  return xml_path


def download_squad(download_dir, base_urls, remotes=SQUAD):
  """Downloads the SQuAD v1.1/v2.0 train/dev sets and official evaluation scripts.

  Every JSON file is also parsed and must hold SQuAD's top-level "data" list.

  Returns:
    The local paths.
  """
  paths = [fetch(remote, download_dir, base_urls) for remote in remotes]
  for path in paths:
    if path.endswith(".json"):
      try:
        with open(path, encoding="utf-8") as f:
          ok = isinstance(json.load(f).get("data"), list)
      except (ValueError, AttributeError) as e:
        raise ValueError("%s: not a SQuAD JSON file (%s)" % (path, e)) from None
      if not ok:
        raise ValueError("%s: not a SQuAD JSON file (no top-level \"data\" list)" % path)
  return paths


def download_google_pretrained_weights(download_dir, base_urls, models=GOOGLE_WEIGHTS):
  """Downloads and extracts Google's BERT checkpoints, checking every extracted file.

  Returns:
    The extracted model directories.
  """
  out_dir = os.path.join(download_dir, "google_pretrained_weights")
  model_dirs = []
  for name, (release, sums) in models.items():
    remote = Remote("google", "%s/%s.zip" % (release, name), "google_pretrained_weights/%s.zip" % name)
    zip_path = fetch(remote, download_dir, base_urls)
    model_dir = os.path.join(out_dir, name)

    def verify():
      for filename, sha256 in zip(_CKPT, sums):
        downloader.verify_file(os.path.join(model_dir, filename), sha256=sha256)

    try:
      verify()
      print("Already extracted and verified: %s" % model_dir)
    except (ValueError, OSError):
      downloader.extract_archive(zip_path, out_dir)
      verify()
      print("Verified sha256 of the %d files of %s" % (len(_CKPT), model_dir))
    model_dirs.append(model_dir)
  return model_dirs


def format_mrpc(mrpc_dir):
  """Splits the raw MSR paraphrase files into GLUE's MRPC train/dev/test.tsv.

  train.tsv and dev.tsv are msr_paraphrase_train.txt split by the pair ids listed in
  dev_ids.tsv; test.tsv is msr_paraphrase_test.txt with GLUE's "index" column in place of
  the label (the layout of GLUE's download_glue_data.py).

  Args:
    mrpc_dir: directory holding msr_paraphrase_train.txt, msr_paraphrase_test.txt and dev_ids.tsv.
  """
  def read(name):
    with open(os.path.join(mrpc_dir, name), encoding="utf-8", newline="") as f:
      return [row for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]

  def write(name, header, rows):
    tmp = os.path.join(mrpc_dir, name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
      for row in [header] + rows:
        f.write("\t".join(row) + "\n")
    os.replace(tmp, os.path.join(mrpc_dir, name))

  dev_ids = {tuple(row[:2]) for row in read("dev_ids.tsv") if row}
  train = read("msr_paraphrase_train.txt")
  for i, row in enumerate(train[1:], start=2):
    if len(row) != 5:
      raise ValueError("%s line %d: expected 5 tab-separated fields, got %d" % (
          os.path.join(mrpc_dir, "msr_paraphrase_train.txt"), i, len(row)))
  is_dev = [tuple(row[1:3]) in dev_ids for row in train[1:]]
  write("train.tsv", train[0], [row for row, dev in zip(train[1:], is_dev) if not dev])
  write("dev.tsv", train[0], [row for row, dev in zip(train[1:], is_dev) if dev])
  test = read("msr_paraphrase_test.txt")
  write("test.tsv", ["index", "#1 ID", "#2 ID", "#1 String", "#2 String"],
        [[str(i)] + row[1:] for i, row in enumerate(test[1:])])


def download_glue(download_dir, base_urls, tasks):
  """Downloads GLUE tasks into <download_dir>/glue/<Task>/ in download_glue_data.py's layout.

  Args:
    download_dir: the download root.
    base_urls: from base_urls_from_env.
    tasks: names from GLUE_TASKS, plus "diagnostic" for the AX set.
  """
  glue_dir = os.path.join(download_dir, "glue")
  for task in tasks:
    if task == "mrpc":
      for remote in MRPC:
        fetch(remote, download_dir, base_urls)
      format_mrpc(os.path.join(glue_dir, "MRPC"))
    elif task == "diagnostic":
      fetch(GLUE_DIAGNOSTIC, download_dir, base_urls)
    else:
      for remote in GLUE_ARCHIVES[task]:
        downloader.extract_archive(fetch(remote, download_dir, base_urls), glue_dir)
