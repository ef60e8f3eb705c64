"""create_pretraining_data.py on real text: masking statistics, NSP pairs, features, TFRecords, flags."""
import glob
import os
import random
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, SAMPLES

import create_pretraining_data as cpd  # noqa: E402
import tokenization  # noqa: E402

SCRIPT = os.path.join(ROOT, "create_pretraining_data.py")
GUTENBERG = os.path.join(SAMPLES, "pretrain", "gutenberg_sample.txt")
SAMPLE_TEXT = os.path.join(SAMPLES, "pretrain", "sample_text.txt")
UNCASED = os.path.join(SAMPLES, "vocab", "bert-base-uncased-vocab.txt")
CASED = os.path.join(SAMPLES, "vocab", "bert-base-cased-vocab.txt")
MAX_SEQ, MAX_PRED = 128, 20


@pytest.fixture(scope="module")
def tokenizer():
  return tokenization.FullTokenizer(UNCASED, do_lower_case=True)


def _instances(tokenizer, seed=12345, dupe_factor=3, whole_word=False, short_seq_prob=0.1):
  return list(cpd.create_training_instances(
      [GUTENBERG], tokenizer, MAX_SEQ, dupe_factor, short_seq_prob=short_seq_prob, masked_lm_prob=0.15,
      max_predictions_per_seq=MAX_PRED, rng=random.Random(seed), do_whole_word_mask=whole_word))


@pytest.fixture(scope="module")
def instances(tokenizer):
  return _instances(tokenizer)


def _original(instance):
  """The instance's ids before masking: the labels put back at the masked positions."""
  ids = list(instance.input_ids)
  for p, label in zip(instance.masked_lm_positions, instance.masked_lm_ids):
    ids[p] = label
  return ids


def _segments(instance):
  ids = _original(instance)
  return ids[1:instance.num_a + 1], ids[instance.num_a + 2:-1]


def _joined(ids):
  return "," + ",".join(map(str, ids)) + ","


def _follows(doc, a, b, max_gap):
  """Whether ids `b` occur in the joined document `doc` after ids `a`, at most max_gap tokens later."""
  sa, sb = _joined(a), _joined(b)
  start = doc.find(sa)
  while start >= 0:
    end = start + len(sa) - 1  # The comma after a's last id.
    found = doc.find(sb, end)
    if found >= 0 and doc.count(",", end, found) <= max_gap:
      return True
    start = doc.find(sa, start + 1)
  return False


@pytest.fixture(scope="module")
def corpus(tokenizer):
  """Each document of the sample as a searchable string of ids."""
  return [_joined(ids) for ids, _ in cpd.read_documents(GUTENBERG, tokenizer)]


def test_masking_fraction_and_80_10_10_split(instances, tokenizer):
  mask_id = tokenizer.vocab["[MASK]"]
  assert len(instances) > 1000
  total_tokens = total_masked = as_mask = unchanged = 0
  for inst in instances:
    n = len(inst.input_ids)
    expected = min(MAX_PRED, max(1, int(round(n * 0.15))))
    assert len(inst.masked_lm_positions) == expected
    total_tokens += n
    total_masked += expected
    for p, label in zip(inst.masked_lm_positions, inst.masked_lm_ids):
      as_mask += inst.input_ids[p] == mask_id
      unchanged += inst.input_ids[p] == label
  random_token = total_masked - as_mask - unchanged
  assert 0.14 < total_masked / total_tokens < 0.16
  # ~25k predictions: 5 standard deviations of a 10% share is about 0.01.
  assert abs(as_mask / total_masked - 0.8) < 0.015
  assert abs(unchanged / total_masked - 0.1) < 0.012
  assert abs(random_token / total_masked - 0.1) < 0.012


def test_masked_positions_are_valid_and_unmasked_tokens_untouched(instances, tokenizer):
  cls_id, sep_id = tokenizer.vocab["[CLS]"], tokenizer.vocab["[SEP]"]
  for inst in instances:
    n = len(inst.input_ids)
    positions = inst.masked_lm_positions
    assert positions == sorted(set(positions))
    assert not {0, inst.num_a + 1, n - 1} & set(positions)
    assert inst.input_ids[0] == cls_id
    assert inst.input_ids[inst.num_a + 1] == sep_id and inst.input_ids[-1] == sep_id
    others = [t for i, t in enumerate(inst.input_ids) if i not in set(positions) | {0, inst.num_a + 1, n - 1}]
    assert cls_id not in others and sep_id not in others and tokenizer.vocab["[MASK]"] not in others


def test_labels_are_the_original_text_and_nsp_pairs(instances, corpus):
  """With the labels put back, segments are real text; actual-next pairs continue in the same document."""
  for inst in instances:
    a, b = _segments(inst)
    assert a and b and len(a) + len(b) + 3 <= MAX_SEQ
    assert any(_joined(a) in doc for doc in corpus)
    assert any(_joined(b) in doc for doc in corpus)
    if not inst.is_random_next:  # B follows A, with at most the truncated tokens in between.
      assert any(_follows(doc, a, b, max_gap=MAX_SEQ) for doc in corpus)


def test_next_sentence_balance(tokenizer):
  """Half the pairs take a random next segment, plus the few one-sentence chunks that always do (with
  short_seq_prob=0 those are only overlong sentences and documents' last sentences)."""
  instances = _instances(tokenizer, short_seq_prob=0.0)
  assert 0.47 < np.mean([inst.is_random_next for inst in instances]) < 0.57


def test_truncation_cuts_front_and_back_equally(tokenizer, instances):
  """Segment A starts and ends at sentence boundaries unless truncated; cuts hit both ends alike."""
  documents = cpd.read_documents(GUTENBERG, tokenizer)
  joined = [_joined(ids) for ids, _ in documents]
  front = back = 0
  for inst in instances:
    a, _ = _segments(inst)
    for text, (_, offsets) in zip(joined, documents):
      found = text.find(_joined(a))
      if found >= 0:
        start = text.count(",", 0, found)
        front += start not in offsets
        back += start + len(a) not in offsets
        break
  assert front > 200 and back > 200 and 0.8 < front / back < 1.25


def test_random_next_segments_come_from_another_document(instances, corpus):
  joined = "|".join(corpus)
  random_pairs = [inst for inst in instances if inst.is_random_next]
  contiguous = sum(_joined(_segments(inst)[0] + _segments(inst)[1]) in joined for inst in random_pairs)
  assert contiguous / len(random_pairs) < 0.02


def test_most_instances_fill_max_seq_length(instances):
  lengths = np.array([len(inst.input_ids) for inst in instances])
  assert lengths.max() == MAX_SEQ
  assert np.mean(lengths >= MAX_SEQ - 5) > 0.6  # short_seq_prob=0.1 is drawn per document.


def test_truncation_counts_match_googles_loop():
  for len_a in range(0, 30):
    for len_b in range(0, 30):
      for max_num in (2, 5, 17, 40):
        a, b = len_a, len_b
        while a + b > max_num:  # Google's truncate_seq_pair, counting only.
          if a > b:
            a -= 1
          else:
            b -= 1
        assert cpd.truncation_counts(len_a, len_b, max_num) == (len_a - a, len_b - b)


def test_whole_word_masking_masks_all_pieces_of_a_word(tokenizer):
  instances = _instances(tokenizer, dupe_factor=1, whole_word=True)
  inv = tokenizer.inv_vocab
  pieces_seen = 0
  for inst in instances:
    ids, masked = _original(inst), set(inst.masked_lm_positions)
    assert len(masked) <= MAX_PRED
    specials = {0, inst.num_a + 1, len(ids) - 1}
    for p in masked:
      if inv[ids[p]].startswith("##") and p - 1 not in specials:
        assert p - 1 in masked
        pieces_seen += 1
      if p + 1 < len(ids) and p + 1 not in specials and inv[ids[p + 1]].startswith("##"):
        assert p + 1 in masked
  assert pieces_seen > 100


def test_deterministic_for_a_seed(tokenizer, instances):
  again = _instances(tokenizer)
  assert again == instances
  assert _instances(tokenizer, seed=1) != instances


def _split_sample_into_two_files(tmp_path):
  """The sample's documents alternately into two files; returns their paths."""
  with open(GUTENBERG, encoding="utf-8") as f:
    documents = [d for d in f.read().split("\n\n") if d.strip()]
  paths = [str(tmp_path / "even.txt"), str(tmp_path / "odd.txt")]
  for k, path in enumerate(paths):
    with open(path, "w", encoding="utf-8") as f:
      f.write("\n\n".join(documents[k::2]) + "\n")
  return paths


def test_files_are_mixed_and_random_next_stays_in_its_file(tokenizer, tmp_path):
  """Every stretch of the output mixes the input files (a run that stops early has seen all of them), and a
  random-next segment comes from the same file as its segment A."""
  paths = _split_sample_into_two_files(tmp_path)
  files = [[_joined(ids) for ids, _ in cpd.read_documents(path, tokenizer)] for path in paths]
  assert min(len(docs) for docs in files) >= 5
  stream = list(cpd.create_training_instances(paths, tokenizer, MAX_SEQ, 1, 0.1, 0.15, MAX_PRED,
                                              random.Random(0)))

  def source(ids):
    found = [k for k, docs in enumerate(files) if any(_joined(ids) in doc for doc in docs)]
    return found[0] if len(found) == 1 else None

  # A segment too short to be found in one file only (e.g. a lone "chapter") has no known source.
  pairs = [(source(_segments(inst)[0]), source(_segments(inst)[1]), inst.is_random_next) for inst in stream]
  a_sources = np.array([a for a, _, _ in pairs if a is not None])
  assert len(a_sources) > 0.9 * len(stream)
  # A file-by-file stream switches file once; documents in one random order across both files switch
  # about once per document (a random order of 2 x 5 documents has 3 or fewer runs with probability 10/252).
  switches = np.count_nonzero(np.diff(a_sources))
  assert switches >= 3, switches
  randoms = [(a, b) for a, b, is_random in pairs if is_random and a is not None and b is not None]
  assert len(randoms) > 0.8 * sum(is_random for _, _, is_random in pairs)
  assert all(a == b for a, b in randoms)


def _parse(files):
  """Reads TFRecords with run_pretraining's feature spec."""
  import tensorflow as tf
  spec = {
      "input_ids": tf.io.FixedLenFeature([MAX_SEQ], tf.int64),
      "input_mask": tf.io.FixedLenFeature([MAX_SEQ], tf.int64),
      "segment_ids": tf.io.FixedLenFeature([MAX_SEQ], tf.int64),
      "masked_lm_positions": tf.io.FixedLenFeature([MAX_PRED], tf.int64),
      "masked_lm_ids": tf.io.FixedLenFeature([MAX_PRED], tf.int64),
      "masked_lm_weights": tf.io.FixedLenFeature([MAX_PRED], tf.float32),
      "next_sentence_labels": tf.io.FixedLenFeature([1], tf.int64),
  }
  dataset = tf.data.TFRecordDataset(files).batch(512).map(lambda x: tf.io.parse_example(x, spec))
  batches = list(dataset.as_numpy_iterator())
  return {k: np.concatenate([b[k] for b in batches]) for k in spec}


def test_tfrecords_parse_to_the_instances(tokenizer, instances, tmp_path):
  out = str(tmp_path / "out.tfrecord")
  count = cpd.write_instances_to_example_files(instances, tokenizer, MAX_SEQ, MAX_PRED, [out],
                                               random.Random(0),
                                               shuffle_buffer_size=1)  # Buffer of 1: order kept.
  assert count == len(instances)
  f = _parse([out])
  assert len(f["input_ids"]) == len(instances)
  for i, inst in enumerate(instances):
    n, m = len(inst.input_ids), len(inst.masked_lm_positions)
    assert f["input_ids"][i].tolist() == inst.input_ids + [0] * (MAX_SEQ - n)
    assert f["input_mask"][i].tolist() == [1] * n + [0] * (MAX_SEQ - n)
    segment_ids = [0] * (inst.num_a + 2) + [1] * (n - inst.num_a - 2) + [0] * (MAX_SEQ - n)
    assert f["segment_ids"][i].tolist() == segment_ids
    assert f["masked_lm_positions"][i].tolist() == inst.masked_lm_positions + [0] * (MAX_PRED - m)
    assert f["masked_lm_ids"][i].tolist() == inst.masked_lm_ids + [0] * (MAX_PRED - m)
    assert f["masked_lm_weights"][i].tolist() == [1.0] * m + [0.0] * (MAX_PRED - m)
    assert f["next_sentence_labels"][i].tolist() == [int(inst.is_random_next)]
  assert not [p for p in os.listdir(tmp_path) if p != "out.tfrecord"]  # No temporary file left.


def test_run_pretraining_input_pipeline_reads_the_output(tokenizer, instances, tmp_path):
  """run_pretraining's feature spec and eval input_fn read the files (in a subprocess: both scripts
  define --max_seq_length)."""
  outs = [str(tmp_path / "a.tfrecord"), str(tmp_path / "b.tfrecord")]
  cpd.write_instances_to_example_files(instances, tokenizer, MAX_SEQ, MAX_PRED, outs, random.Random(0))
  code = """if True:
    import sys
    import run_pretraining
    from utils import training
    spec = run_pretraining.name_to_features(%d, %d)
    input_fn = training.tfrecord_input_fn(sys.argv[1:], spec, 64, False, None)
    batches = list(input_fn().as_numpy_iterator())
    print(sum(len(b["input_ids"]) for b in batches), sum(int(b["masked_lm_weights"].sum()) for b in batches))
  """ % (MAX_SEQ, MAX_PRED)
  result = subprocess.run([sys.executable, "-c", code] + outs, cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]
  num_records, num_predictions = map(int, result.stdout.split()[-2:])
  assert num_records == len(instances)
  assert num_predictions == sum(len(inst.masked_lm_positions) for inst in instances)


@pytest.mark.parametrize("buffer_size", [200, 100000])
def test_shuffle_buffer_writes_a_shuffled_permutation(tokenizer, instances, tmp_path, buffer_size):
  outs = [str(tmp_path / "a.tfrecord"), str(tmp_path / "b.tfrecord")]
  cpd.write_instances_to_example_files(instances, tokenizer, MAX_SEQ, MAX_PRED, outs, random.Random(0),
                                       shuffle_buffer_size=buffer_size)
  rows = [tuple(r) for out in outs for r in _parse([out])["input_ids"]]
  expected = [tuple(inst.input_ids + [0] * (MAX_SEQ - len(inst.input_ids))) for inst in instances]
  assert sorted(rows) == sorted(expected)
  order = {row: i for i, row in enumerate(expected)}
  written = [order[tuple(row)] for row in _parse(outs[:1])["input_ids"].tolist()]
  assert np.median(np.abs(np.diff(written))) > 20  # Consecutive records are not neighbours in creation order.


def test_example_bytes_equal_tf_train_example_and_tfrecord_writer(tokenizer, instances, tmp_path):
  """The hand-encoded protobuf parses to the tf.train.Example Google's code builds; the TFRecord file is
  byte-identical to tf.io.TFRecordWriter's (same length/data CRC-32C checksums)."""
  import tensorflow as tf
  encoder = cpd.ExampleEncoder(MAX_SEQ, MAX_PRED, len(tokenizer.vocab))
  records = [encoder.encode(inst) for inst in instances[:300]]
  for inst, record in zip(instances[:50], records):
    n, m = len(inst.input_ids), len(inst.masked_lm_positions)
    ints = lambda v: tf.train.Feature(int64_list=tf.train.Int64List(value=v))  # noqa: E731
    expected = tf.train.Example(features=tf.train.Features(feature={
        "input_ids": ints(inst.input_ids + [0] * (MAX_SEQ - n)),
        "input_mask": ints([1] * n + [0] * (MAX_SEQ - n)),
        "segment_ids": ints([0] * (inst.num_a + 2) + [1] * (n - inst.num_a - 2) + [0] * (MAX_SEQ - n)),
        "masked_lm_positions": ints(inst.masked_lm_positions + [0] * (MAX_PRED - m)),
        "masked_lm_ids": ints(inst.masked_lm_ids + [0] * (MAX_PRED - m)),
        "masked_lm_weights": tf.train.Feature(
            float_list=tf.train.FloatList(value=[1.0] * m + [0.0] * (MAX_PRED - m))),
        "next_sentence_labels": ints([int(inst.is_random_next)]),
    }))
    assert tf.train.Example.FromString(record) == expected
  ours, theirs = str(tmp_path / "ours"), str(tmp_path / "theirs")
  writer = cpd.TFRecordWriter(ours, batch_size=64)  # Several batches, the last one partial.
  with tf.io.TFRecordWriter(theirs) as tf_writer:
    for record in records + [b"", b"x" * 5000]:
      writer.write(record)
      tf_writer.write(record)
  writer.close()
  with open(ours, "rb") as f1, open(theirs, "rb") as f2:
    assert f1.read() == f2.read()


def _run(*args):
  return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True, timeout=300)


def _cli_args(out, lower, vocab, inputs=SAMPLE_TEXT):
  return ["--input_file=" + inputs, "--output_file=" + out, "--vocab_file=" + vocab, "--do_lower_case=" + lower,
          "--max_seq_length=%d" % MAX_SEQ, "--max_predictions_per_seq=%d" % MAX_PRED, "--dupe_factor=2",
          "--random_seed=12345", "--masked_lm_prob=0.15", "--short_seq_prob=0.1"]


@pytest.mark.parametrize("lower,vocab", [("false", CASED), ("true", UNCASED)])
def test_cli_do_lower_case_both_ways(tmp_path, lower, vocab):
  out = str(tmp_path / "sample.tfrecord")
  result = _run(*_cli_args(out, lower, vocab))
  assert result.returncode == 0, result.stderr[-3000:]
  f = _parse([out])
  assert len(f["input_ids"]) > 20
  tokenizer = tokenization.FullTokenizer(vocab, do_lower_case=lower == "true")
  words = {tokenizer.inv_vocab[i] for row, labels in zip(f["input_ids"], f["masked_lm_ids"])
           for i in list(row) + list(labels)}
  capitalized = {w for w in words if w[:1].isupper()}
  if lower == "true":
    assert not capitalized
  else:  # Most capitalized words of the text (names, sentence starts) are in the output as they are.
    with open(SAMPLE_TEXT, encoding="utf-8") as f:
      in_text = {w for w in tokenizer.tokenize(f.read()) if w[:1].isupper()}
    assert len(in_text) > 30 and len(capitalized & in_text) > 0.7 * len(in_text)


def test_cli_is_deterministic_and_writes_comma_lists_and_globs(tmp_path):
  texts = tmp_path / "texts"
  texts.mkdir()
  shutil.copy(SAMPLE_TEXT, texts / "a.txt")
  shutil.copy(SAMPLE_TEXT, texts / "b.txt")
  inputs = "%s,%s" % (GUTENBERG, texts / "*.txt")
  runs = []
  for name in ("one", "two"):
    outs = [str(tmp_path / name / ("%d.tfrecord" % i)) for i in range(2)]
    result = _run(*_cli_args(",".join(outs), "true", UNCASED, inputs=inputs))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Reading from 3 input files" in result.stderr
    runs.append([open(o, "rb").read() for o in outs])
  assert runs[0] == runs[1]
  counts = [len(_parse([str(tmp_path / "one" / ("%d.tfrecord" % i))])["input_ids"]) for i in range(2)]
  assert abs(counts[0] - counts[1]) <= 1 and sum(counts) > 500  # Round-robin over the outputs.
  assert sorted(os.listdir(tmp_path / "one")) == ["0.tfrecord", "1.tfrecord"]


def test_clear_errors_for_bad_inputs(tmp_path, tokenizer):
  missing = str(tmp_path / "missing.txt")
  with pytest.raises(ValueError, match="--input_file .*missing.txt does not exist"):
    cpd.expand_input_files("%s,%s" % (GUTENBERG, missing))
  with pytest.raises(ValueError, match="matches no files"):
    cpd.expand_input_files(str(tmp_path / "*.txt"))
  with pytest.raises(ValueError, match="max_seq_length"):
    cpd.create_training_instances([GUTENBERG], tokenizer, 4, 1, 0.1, 0.15, 20, random.Random(0))
  result = _run(*_cli_args(str(tmp_path / "x.tfrecord"), "true", str(tmp_path / "no_vocab.txt")))
  assert result.returncode != 0 and "no_vocab.txt" in result.stderr
  assert not glob.glob(str(tmp_path / "*x.tfrecord*"))


def test_interrupted_write_leaves_old_output_and_no_partial_file(tokenizer, instances, tmp_path):
  out = tmp_path / "out.tfrecord"
  out.write_bytes(b"previous complete file")

  def failing():
    yield from instances[:500]
    raise KeyboardInterrupt

  with pytest.raises(KeyboardInterrupt):
    cpd.write_instances_to_example_files(failing(), tokenizer, MAX_SEQ, MAX_PRED, [str(out)],
                                         random.Random(0),
                                         shuffle_buffer_size=100)
  assert out.read_bytes() == b"previous complete file"
  assert os.listdir(tmp_path) == ["out.tfrecord"]


def test_tokenizer_with_only_googles_api_gives_the_same_documents(tokenizer):
  class GoogleApiOnly(object):
    def tokenize(self, text):
      return tokenizer.tokenize(text)

    def convert_tokens_to_ids(self, tokens):
      return tokenizer.convert_tokens_to_ids(tokens)

  assert cpd.read_documents(SAMPLE_TEXT, GoogleApiOnly()) == cpd.read_documents(SAMPLE_TEXT, tokenizer)
