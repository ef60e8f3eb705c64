"""Sentence segmentation and sharding: one-document-per-line text -> training/test shards.

Each shard is the input format of create_pretraining_data.py: one sentence per line and a
blank line after each document. Documents are never split. They are first divided into a
test set holding `fraction_test_set` of the sentences and a training set, then each set is
spread over its shards, largest document first onto the shard with the fewest sentences,
which keeps the shards' sentence counts within one document of each other.

Sentences are split with NLTK's punkt_tab English model, loaded from the repository's
data/samples/nltk_data (nltk.download is never called).
"""

import heapq
import multiprocessing
import os
import random

import nltk

NLTK_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "samples", "nltk_data")

_tokenizer = None


def load_punkt(nltk_data=NLTK_DATA):
  """Returns NLTK's punkt_tab English sentence tokenizer loaded from `nltk_data`."""
  if nltk_data not in nltk.data.path:
    nltk.data.path.insert(0, nltk_data)
  try:
    return nltk.tokenize.PunktTokenizer("english")
  except LookupError:
    raise ValueError("NLTK punkt_tab English model not found under %s (expected "
                     "tokenizers/punkt_tab/english/ there)" % nltk_data) from None


def _init_worker(nltk_data):
  global _tokenizer
  _tokenizer = load_punkt(nltk_data)


def _segment(document):
  return [s for s in (s.strip() for s in _tokenizer.tokenize(document)) if s]


def read_documents(input_files):
  """Returns the non-blank lines (one document each) of the one-document-per-line files."""
  documents = []
  for name in input_files:
    if not os.path.isfile(name):
      raise ValueError("%s: input file not found" % name)
    with open(name, encoding="utf-8") as f:
      documents.extend(line.strip() for line in f if line.strip())
  return documents


def segment_documents(documents, n_processes=1, nltk_data=NLTK_DATA):
  """Splits each document into sentences.

  Args:
    documents: list of document strings.
    n_processes: worker processes (small inputs are segmented in this process).
    nltk_data: directory holding tokenizers/punkt_tab.

  Returns:
    A list with, per document, its list of sentences (documents without any are dropped).
  """
  if len(documents) < 64 * n_processes:  # Small inputs: not worth the start-up of a pool.
    n_processes = 1
  print("Segmenting %d documents into sentences with %d process(es)" % (len(documents), n_processes))
  if n_processes == 1:
    _init_worker(nltk_data)
    segmented = [_segment(d) for d in documents]
  else:
    load_punkt(nltk_data)  # Fail here, with a clear message, rather than in every worker.
    with multiprocessing.get_context("spawn").Pool(n_processes, _init_worker, (nltk_data,)) as pool:
      segmented = pool.map(_segment, documents, chunksize=max(1, len(documents) // (16 * n_processes)))
  return [s for s in segmented if s]


def _balance(doc_ids, sizes, n_shards):
  """Largest-first assignment of documents to the currently smallest shard."""
  heap = [(0, i) for i in range(n_shards)]
  shards = [[] for _ in range(n_shards)]
  for d in sorted(doc_ids, key=lambda d: (-sizes[d], d)):
    count, i = heapq.heappop(heap)
    shards[i].append(d)
    heapq.heappush(heap, (count + sizes[d], i))
  return [sorted(s) for s in shards]


def distribute(sizes, n_training_shards, n_test_shards, fraction_test_set, seed=12345):
  """Assigns documents to training and test shards.

  Documents are taken in a seeded random order for the test set until it holds
  `fraction_test_set` of all sentences (and at least one document per test shard); the
  rest form the training set. Each set is then balanced over its shards by sentence count.

  Args:
    sizes: sentence count of each document.
    n_training_shards: number of training shards (>= 1).
    n_test_shards: number of test shards (0 only with fraction_test_set 0).
    fraction_test_set: fraction of the sentences for the test set, in [0, 1).
    seed: seed of the test-set draw.

  Returns:
    (training, test): lists of shards, each a sorted list of document indices.

  Raises:
    ValueError: impossible request, e.g. fewer documents than shards (a shard would be empty).
  """
  if n_training_shards < 1:
    raise ValueError("--n_training_shards must be >= 1, got %d" % n_training_shards)
  if not 0.0 <= fraction_test_set < 1.0:
    raise ValueError("--fraction_test_set must be in [0, 1), got %g" % fraction_test_set)
  if (n_test_shards < 1) != (fraction_test_set == 0.0):
    raise ValueError("--n_test_shards %d and --fraction_test_set %g disagree: use 0 test shards exactly "
                     "when the test fraction is 0" % (n_test_shards, fraction_test_set))
  if len(sizes) < n_training_shards + n_test_shards:
    raise ValueError("%d documents cannot fill %d training + %d test shards without empty shards: add "
                     "data or lower --n_training_shards/--n_test_shards" % (
                         len(sizes), n_training_shards, n_test_shards))
  order = list(range(len(sizes)))
  random.Random(seed).shuffle(order)
  target = fraction_test_set * sum(sizes)
  test_ids, test_sentences = [], 0
  for d in order:
    if len(test_ids) >= n_test_shards and test_sentences >= target:
      break
    if len(order) - len(test_ids) <= n_training_shards:
      break  # Keep one document for each training shard.
    test_ids.append(d)
    test_sentences += sizes[d]
  chosen = set(test_ids)
  training_ids = [d for d in order if d not in chosen]
  return _balance(training_ids, sizes, n_training_shards), _balance(test_ids, sizes, n_test_shards)


def shard_paths(sharded_dir, dataset, split, n_shards):
  """Shard file names: <sharded_dir>/<split>/<dataset>_<split>_<i>.txt."""
  return [os.path.join(sharded_dir, split, "%s_%s_%d.txt" % (dataset, split, i)) for i in range(n_shards)]


def write_shards(documents, shards, paths):
  """Writes each shard atomically: one sentence per line, a blank line after each document.

  Returns:
    The sentence count of each shard.
  """
  counts = []
  for shard, path in zip(shards, paths):
    if not shard:
      raise ValueError("%s would be empty" % path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
      for d in shard:
        f.write("\n".join(documents[d]) + "\n\n")
    os.replace(tmp, path)
    counts.append(sum(len(documents[d]) for d in shard))
  return counts


def shard_corpus(input_files, sharded_dir, dataset, n_training_shards, n_test_shards, fraction_test_set,
                 seed=12345, n_processes=1, nltk_data=NLTK_DATA):
  """Reads, segments, distributes and writes the shards of one dataset.

  Args:
    input_files: one-document-per-line files.
    sharded_dir: output directory (gets training/ and test/ subdirectories).
    dataset: dataset name used in the shard file names.
    n_training_shards: number of training shards.
    n_test_shards: number of test shards.
    fraction_test_set: fraction of sentences for the test shards.
    seed: seed of the test-set draw.
    n_processes: worker processes for sentence segmentation.
    nltk_data: directory holding tokenizers/punkt_tab.

  Returns:
    (training_paths, test_paths).
  """
  documents = read_documents(input_files)
  if not documents:
    raise ValueError("no documents in %s" % ", ".join(input_files))
  documents = segment_documents(documents, n_processes, nltk_data)
  training, test = distribute([len(d) for d in documents], n_training_shards, n_test_shards,
                              fraction_test_set, seed)
  training_paths = shard_paths(sharded_dir, dataset, "training", n_training_shards)
  test_paths = shard_paths(sharded_dir, dataset, "test", n_test_shards)
  training_counts = write_shards(documents, training, training_paths)
  test_counts = write_shards(documents, test, test_paths)
  for split, counts in (("training", training_counts), ("test", test_counts)):
    if counts:
      print("%s: %d shards, %d sentences, %d..%d sentences per shard" % (
          split, len(counts), sum(counts), min(counts), max(counts)))
  return training_paths, test_paths
