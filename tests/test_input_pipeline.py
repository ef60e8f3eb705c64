"""The training input stream of utils/training.py: every worker reads its own files, each record once per pass."""
import os
import types

import numpy as np
import tensorflow as tf

from utils import training

FEATURES = {"id": tf.io.FixedLenFeature([1], tf.int64)}


def _write_files(directory, num_files, per_file):
  files = []
  for f in range(num_files):
    path = os.path.join(directory, "part_%d.tfrecord" % f)
    with tf.io.TFRecordWriter(path) as writer:
      for i in range(per_file):
        value = tf.train.Int64List(value=[f * per_file + i])
        writer.write(tf.train.Example(features=tf.train.Features(
            feature={"id": tf.train.Feature(int64_list=value)})).SerializeToString())
    files.append(path)
  return files


def _first_ids(files, size, rank, count, batch_size=10):
  runtime = types.SimpleNamespace(size=size, rank=rank, config=types.SimpleNamespace(seed=12345))
  input_fn = training.tfrecord_input_fn(files, FEATURES, batch_size, True, runtime)
  return [int(i) for batch in input_fn().take(count // batch_size) for i in batch["id"].numpy().ravel()]


def test_each_worker_reads_its_own_records_once_before_any_comes_again(tmp_path):
  """4 files of 1000 records; each of 2 workers holds 2000. Its first 1000 records plus the 1000 waiting in the
  shuffle buffer are 2000 reads: one pass over its files, so no record may come twice. Reading the next pass
  of a file beside this one (4 readers over a worker's 2 files) repeated 30% of them."""
  files = _write_files(str(tmp_path), num_files=4, per_file=1000)
  seen = []
  for rank in (0, 1):
    ids = _first_ids(files, size=2, rank=rank, count=1000)
    assert len(set(ids)) == len(ids) == 1000
    own = {r * 1000 + i for r in range(rank, 4, 2) for i in range(1000)}   # files rank, rank + 2
    assert set(ids) <= own
    seen.append(set(ids))
  assert not seen[0] & seen[1]
  single = _first_ids(files, size=1, rank=0, count=1000)
  assert len(set(single)) == 1000 and {i // 1000 for i in single} == {0, 1, 2, 3}


def _write_lengths(path, lengths, seq_len=64):
  """One record per length: its index as "id", an input_mask of that many ones (input_ids the same)."""
  with tf.io.TFRecordWriter(path) as writer:
    for i, n in enumerate(lengths):
      mask = tf.train.Feature(int64_list=tf.train.Int64List(value=[1] * n + [0] * (seq_len - n)))
      value = tf.train.Feature(int64_list=tf.train.Int64List(value=[i]))
      writer.write(tf.train.Example(features=tf.train.Features(
          feature={"id": value, "input_mask": mask, "input_ids": mask})).SerializeToString())


def test_trimmed_batches_hold_one_length_bucket_each_or_keep_the_random_batches(tmp_path):
  """Trimmed batches (--trim_padding) are cut to their longest sequence. With `bucket` (training in run_squad.py,
  run_classifier.py, run_ner.py) each batch holds one 16-token length bucket, and every bucket comes; without it
  (run_re.py: ChemProt's labels go with length) the batches are those of the untrimmed shuffled stream."""
  path = str(tmp_path / "lengths.tfrecord")
  lengths = [1 + (i * 37) % 64 for i in range(640)]   # every length 1..64, 10 times each
  _write_lengths(path, lengths)
  features = dict(FEATURES, input_mask=tf.io.FixedLenFeature([64], tf.int64),
                  input_ids=tf.io.FixedLenFeature([64], tf.int64))
  runtime = types.SimpleNamespace(size=1, rank=0, config=types.SimpleNamespace(seed=7))
  plain = training.tfrecord_input_fn([path], features, 32, True, runtime, shuffle_buffer=640)
  buckets = set()
  for batch in training.trimmed_input_fn(plain, 32, bucket=True)().take(40):
    ids = batch["id"].numpy().ravel()
    in_batch = {(lengths[i] - 1) // training.BUCKET_WIDTH for i in ids}
    assert len(ids) == 32 and len(in_batch) == 1
    assert batch["input_mask"].shape[1] == max(lengths[i] for i in ids)
    buckets |= in_batch
  assert buckets == {0, 1, 2, 3}
  untrimmed = [b["id"].numpy().ravel().tolist() for b in plain().take(40)]
  for batch, ids in zip(training.trimmed_input_fn(plain, 32, bucket=False)().take(40), untrimmed):
    assert batch["id"].numpy().ravel().tolist() == ids
    assert batch["input_mask"].shape[1] == max(lengths[i] for i in ids)


def test_epochs_read_every_record_once_per_pass_in_a_new_order(tmp_path):
  """Fine-tuning's `exact_epochs=True`: each worker's consecutive passes are permutations of its own records (its
  rank's shard of one file), a different one each pass, and a freshly built pipeline gives the same stream (a
  resumed run skips what it has read); without it, 3 passes' worth of batches repeat some records and miss others
  (the shuffle runs over the repeated stream)."""
  path = str(tmp_path / "records.tfrecord")
  _write_lengths(path, [1] * 96)
  features = dict(FEATURES, input_mask=tf.io.FixedLenFeature([64], tf.int64),
                  input_ids=tf.io.FixedLenFeature([64], tf.int64))

  def passes(size, rank, exact):
    runtime = types.SimpleNamespace(size=size, rank=rank, config=types.SimpleNamespace(seed=7))
    input_fn = training.tfrecord_input_fn([path], features, 16, True, runtime, shuffle_buffer=96, exact_epochs=exact)
    ids = np.concatenate([b["id"].numpy().ravel() for b in input_fn().take(3 * 96 // size // 16)])
    return ids.reshape(3, 96 // size)

  for size in (1, 2):
    for rank in range(size):
      shard = sorted(range(rank, 96, size))
      per_pass = passes(size, rank, True)
      assert all(sorted(p) == shard for p in per_pass)
      assert len({tuple(p) for p in per_pass}) == 3
  np.testing.assert_array_equal(passes(2, 1, True), passes(2, 1, True))
  assert not all(sorted(p) == list(range(96)) for p in passes(1, 0, False))
