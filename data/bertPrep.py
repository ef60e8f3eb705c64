"""Data preparation for BERT pretraining and fine-tuning, with NVIDIA bertPrep.py's actions.

  export BERT_PREP_WORKING_DIR=/path/to/data   # or --working_dir
  python data/bertPrep.py --action download --dataset wikicorpus_en
  python data/bertPrep.py --action text_formatting --dataset wikicorpus_en
  python data/bertPrep.py --action sharding --dataset wikicorpus_en
  python data/bertPrep.py --action create_tfrecord_files --dataset wikicorpus_en \
      --max_seq_length 128 --max_predictions_per_seq 20 --vocab_file vocab.txt

The same four actions make PubMed data (--dataset pubmed_baseline, pubmed_daily_update, pubmed_fulltext or
pubmed_open_access; data/pubmed.py), as data/create_biobert_datasets_from_start.sh runs them.

Layout under the working directory (as NVIDIA's):
  download/                        downloaded and decompressed files (PubMed: download/pubmed/<subset>/)
  extracted/wikicorpus_en/         WikiExtractor output
  formatted_one_article_per_line/  one document per line
  sharded/<dataset>/{training,test}/<dataset>_{training,test}_<i>.txt
  tfrecord/lower_case_<0|1>_seq_len_<L>_max_pred_<P>_masked_lm_prob_<p>_random_seed_<s>_
      dupe_factor_<d>_shard_<n>_test_split_<pct>/<dataset>/{training,test}/*.tfrecord
"""

import importlib.util
import os
import shutil
import subprocess
import sys

from absl import app, flags

import downloader
import pubmed
import sharding
import sources
import text_formatting
import tfrecord_creation

DATA_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(DATA_DIR)
SAMPLE_TEXT_DIR = os.path.join(DATA_DIR, "samples", "pretrain")
PRETRAINING_DATASETS = ["wikicorpus_en", "bookscorpus", "books_wiki_en_corpus", "sample_corpus"] + \
    list(pubmed.SUBSETS)
DOWNLOAD_DATASETS = ["wikicorpus_en", "bookscorpus", "books_wiki_en_corpus", "squad",
                     "google_pretrained_weights", "glue"] + sources.GLUE_TASKS + list(pubmed.SUBSETS) + ["all"]
FORMATTED_NAMES = {
    "wikicorpus_en": "wikicorpus_en_one_article_per_line.txt",
    "bookscorpus": "bookscorpus_one_book_per_line.txt",
    "sample_corpus": "sample_corpus_one_article_per_line.txt",
}
FORMATTED_NAMES.update({name: name + "_one_article_per_line.txt" for name in pubmed.SUBSETS})

FLAGS = flags.FLAGS
flags.DEFINE_enum("action", None, ["download", "text_formatting", "sharding", "create_tfrecord_files"],
                  "What to do.", case_sensitive=False)
flags.DEFINE_enum("dataset", None, sorted(set(DOWNLOAD_DATASETS + PRETRAINING_DATASETS)),
                  "Dataset to act on. sample_corpus is the small text shipped in data/samples/pretrain "
                  "(or any text in BERT's input format given with --input_files).", case_sensitive=False)
flags.DEFINE_string("working_dir", os.environ.get("BERT_PREP_WORKING_DIR"),
                    "Data root; defaults to $BERT_PREP_WORKING_DIR.")
flags.DEFINE_list("input_files", None,
                  "Comma-separated inputs replacing the default ones: for sharding, one-document-per-line "
                  "files; for text_formatting, book .txt files/directories (bookscorpus), WikiExtractor "
                  "output directories (wikicorpus_en with --skip_wikiextractor 1) or BERT-format .txt files "
                  "(sample_corpus), PubMed .xml.gz files or PMC .tar.gz packages (pubmed_*); for download of "
                  "bookscorpus, .tar.gz/.zip archives of .txt books; for download of pubmed_*, the names of the "
                  "files to fetch from the NCBI folder's listing (default: all of them).")
flags.DEFINE_integer("n_training_shards", 256, "Number of training shards.")
flags.DEFINE_integer("n_test_shards", 256, "Number of test shards.")
flags.DEFINE_float("fraction_test_set", 0.1, "Fraction of the sentences for the test shards.")
flags.DEFINE_integer("n_processes", 4, "Processes for WikiExtractor, sentence splitting and TFRecord creation.")
flags.DEFINE_integer("random_seed", 12345, "Seed of create_pretraining_data.py and of the test-set draw.")
flags.DEFINE_integer("dupe_factor", 5, "Times each document is duplicated with different masks.")
flags.DEFINE_float("masked_lm_prob", 0.15, "Masked LM probability.")
flags.DEFINE_integer("max_seq_length", 128, "Maximum sequence length.")
flags.DEFINE_integer("max_predictions_per_seq", 20, "Maximum masked LM predictions per sequence.")
flags.DEFINE_integer("do_lower_case", 1, "1: uncased (lower-case the text), 0: cased.")
flags.DEFINE_string("vocab_file", None, "WordPiece vocabulary (required by create_tfrecord_files).")
flags.DEFINE_integer("skip_wikiextractor", 0, "1: WikiExtractor was already run; only format its output.")


def directory_structure(working_dir):
  """The working directory's sub-folders (NVIDIA's names)."""
  return {
      "download": os.path.join(working_dir, "download"),
      "extracted": os.path.join(working_dir, "extracted"),
      "formatted": os.path.join(working_dir, "formatted_one_article_per_line"),
      "sharded": os.path.join(working_dir, "sharded"),
  }


def download(dataset, download_dir, base_urls, input_files):
  """The download action."""
  if dataset in ("bookscorpus", "books_wiki_en_corpus"):
    books_dir = os.path.join(download_dir, "bookscorpus")
    for archive in input_files or []:
      downloader.extract_archive(archive, books_dir)
    if not (os.path.isdir(books_dir) and any(f.endswith(".txt") for _, _, fs in os.walk(books_dir) for f in fs)):
      raise ValueError(sources.BOOKSCORPUS_HELP % books_dir)
    print("BookCorpus books found under %s" % books_dir)
  if dataset in ("wikicorpus_en", "books_wiki_en_corpus", "all"):
    sources.download_wikicorpus_en(download_dir, base_urls)
  if dataset in ("squad", "all"):
    sources.download_squad(download_dir, base_urls)
  if dataset in ("google_pretrained_weights", "all"):
    sources.download_google_pretrained_weights(download_dir, base_urls)
  if dataset in ("glue", "all"):
    sources.download_glue(download_dir, base_urls, sources.GLUE_TASKS + ["diagnostic"])
  elif dataset in sources.GLUE_TASKS:
    sources.download_glue(download_dir, base_urls, [dataset])
  if dataset in pubmed.SUBSETS:
    pubmed.download(dataset, download_dir, base_urls, input_files)


def run_wikiextractor(xml_path, output_dir, n_processes):
  """Runs WikiExtractor into a temporary folder renamed to `output_dir` when it succeeds."""
  if not os.path.isfile(xml_path):
    raise ValueError("%s not found: run --action download --dataset wikicorpus_en first" % xml_path)
  if importlib.util.find_spec("wikiextractor") is None:
    raise ValueError("WikiExtractor is not installed (it is not a runtime requirement): `pip install "
                     "wikiextractor`, or run it yourself and pass --skip_wikiextractor 1 "
                     "(with --input_files <its output folder> unless that is %s)" % output_dir)
  tmp = output_dir + ".tmp"
  shutil.rmtree(tmp, ignore_errors=True)
  cmd = [sys.executable, "-m", "wikiextractor.WikiExtractor", xml_path, "-b", "100M",
         "--processes", str(n_processes), "-o", tmp]
  print("WikiExtractor command: %s" % " ".join(cmd))
  subprocess.run(cmd, check=True)
  shutil.rmtree(output_dir, ignore_errors=True)
  os.replace(tmp, output_dir)


def text_formatting_action(dataset, dirs, input_files, skip_wikiextractor, n_processes):
  """The text_formatting action."""
  if dataset not in PRETRAINING_DATASETS:
    raise ValueError("--action text_formatting works on %s, not %s" % (", ".join(PRETRAINING_DATASETS), dataset))
  if dataset == "books_wiki_en_corpus":
    if input_files:
      raise ValueError("--input_files is ambiguous with books_wiki_en_corpus: format bookscorpus and "
                       "wikicorpus_en separately")
    for part in ("bookscorpus", "wikicorpus_en"):
      text_formatting_action(part, dirs, None, skip_wikiextractor, n_processes)
    return
  output = os.path.join(dirs["formatted"], FORMATTED_NAMES[dataset])
  if dataset == "bookscorpus":
    text_formatting.format_books(input_files or [os.path.join(dirs["download"], "bookscorpus")], output)
  elif dataset == "sample_corpus":
    text_formatting.format_documents(input_files or [SAMPLE_TEXT_DIR], output)
  elif dataset in pubmed.SUBSETS:
    text_formatting.format_pubmed(input_files or [pubmed.subset_dir(dirs["download"], dataset)], output,
                                  pubmed.SUBSETS[dataset].kind)
  else:
    extracted = os.path.join(dirs["extracted"], "wikicorpus_en")
    if not skip_wikiextractor:
      if input_files:
        raise ValueError("--input_files with wikicorpus_en names WikiExtractor output: add --skip_wikiextractor 1")
      run_wikiextractor(os.path.join(dirs["download"], "wikicorpus_en", "wikicorpus_en.xml"), extracted,
                        n_processes)
    text_formatting.format_wikicorpus(input_files or [extracted], output)


def sharding_action(dataset, dirs, input_files, n_training_shards, n_test_shards, fraction_test_set, seed,
                    n_processes):
  """The sharding action."""
  if dataset not in PRETRAINING_DATASETS:
    raise ValueError("--action sharding works on %s, not %s" % (", ".join(PRETRAINING_DATASETS), dataset))
  if not input_files:
    parts = ["bookscorpus", "wikicorpus_en"] if dataset == "books_wiki_en_corpus" else [dataset]
    input_files = [os.path.join(dirs["formatted"], FORMATTED_NAMES[p]) for p in parts]
  sharding.shard_corpus(input_files, os.path.join(dirs["sharded"], dataset), dataset, n_training_shards,
                        n_test_shards, fraction_test_set, seed, n_processes)


def create_tfrecord_files_action(dataset, dirs, output_dir, n_training_shards, n_test_shards, options,
                                 n_processes):
  """The create_tfrecord_files action."""
  if dataset not in PRETRAINING_DATASETS:
    raise ValueError("--action create_tfrecord_files works on %s, not %s" % (
        ", ".join(PRETRAINING_DATASETS), dataset))
  if not options["vocab_file"] or not os.path.isfile(options["vocab_file"]):
    raise ValueError("--vocab_file %r not found (create_tfrecord_files needs the WordPiece vocabulary)" %
                     options["vocab_file"])
  shard_dir = os.path.join(dirs["sharded"], dataset)
  jobs = []
  for split, n in (("training", n_training_shards), ("test", n_test_shards)):
    jobs += tfrecord_creation.make_jobs(sharding.shard_paths(shard_dir, dataset, split, n),
                                        os.path.join(output_dir, dataset, split))
  print("create_tfrecord_files: %d shards -> %s" % (len(jobs), os.path.join(output_dir, dataset)))
  tfrecord_creation.run_jobs(jobs, os.path.join(REPO_ROOT, "create_pretraining_data.py"), options, n_processes)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError("unexpected arguments: %s" % " ".join(argv[1:]), exitcode=2)
  if not FLAGS.action or not FLAGS.dataset:
    raise app.UsageError("--action and --dataset are required", exitcode=2)
  if not FLAGS.working_dir:
    raise app.UsageError("set BERT_PREP_WORKING_DIR or pass --working_dir", exitcode=2)
  dirs = directory_structure(FLAGS.working_dir)
  print("Working directory: %s\nAction: %s\nDataset: %s" % (FLAGS.working_dir, FLAGS.action, FLAGS.dataset))
  try:
    if FLAGS.action == "download":
      download(FLAGS.dataset, dirs["download"], sources.base_urls_from_env(os.environ), FLAGS.input_files)
    elif FLAGS.action == "text_formatting":
      text_formatting_action(FLAGS.dataset, dirs, FLAGS.input_files, FLAGS.skip_wikiextractor, FLAGS.n_processes)
    elif FLAGS.action == "sharding":
      sharding_action(FLAGS.dataset, dirs, FLAGS.input_files, FLAGS.n_training_shards, FLAGS.n_test_shards,
                      FLAGS.fraction_test_set, FLAGS.random_seed, FLAGS.n_processes)
    else:
      output_dir = tfrecord_creation.tfrecord_dir(
          FLAGS.working_dir, FLAGS.do_lower_case, FLAGS.max_seq_length, FLAGS.max_predictions_per_seq,
          FLAGS.masked_lm_prob, FLAGS.random_seed, FLAGS.dupe_factor, FLAGS.n_training_shards,
          FLAGS.fraction_test_set)
      options = {"vocab_file": FLAGS.vocab_file, "do_lower_case": FLAGS.do_lower_case > 0,
                 "max_seq_length": FLAGS.max_seq_length, "max_predictions_per_seq": FLAGS.max_predictions_per_seq,
                 "masked_lm_prob": FLAGS.masked_lm_prob, "random_seed": FLAGS.random_seed,
                 "dupe_factor": FLAGS.dupe_factor}
      create_tfrecord_files_action(FLAGS.dataset, dirs, output_dir, FLAGS.n_training_shards,
                                   FLAGS.n_test_shards, options, FLAGS.n_processes)
  except (ValueError, RuntimeError, subprocess.CalledProcessError) as e:
    print("bertPrep.py --action %s --dataset %s: error: %s" % (FLAGS.action, FLAGS.dataset, e), file=sys.stderr)
    sys.exit(2)


if __name__ == "__main__":
  app.run(main)
