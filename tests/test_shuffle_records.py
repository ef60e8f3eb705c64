"""utils/shuffle_records.py: the word-order probe's copy of pretraining records keeps every target, segment and
label and moves each masked position with its token."""
import os
import subprocess
import sys

import numpy as np
import tensorflow as tf

from conftest import ROOT, SUBPROCESS_ENV, TRAIN_TEXT, make_pretraining_records

KEYS = ("input_ids", "input_mask", "segment_ids", "masked_lm_positions", "masked_lm_ids", "next_sentence_labels")


def _records(path):
  out = []
  for raw in tf.data.TFRecordDataset(path):
    feature = tf.train.Example.FromString(raw.numpy()).features.feature
    record = {k: np.array(feature[k].int64_list.value) for k in KEYS}
    record["masked_lm_weights"] = np.array(feature["masked_lm_weights"].float_list.value)
    out.append(record)
  return out


def _shuffle(src, dst):
  return subprocess.run([sys.executable, "-m", "utils.shuffle_records", src, dst], cwd=ROOT, env=SUBPROCESS_ENV,
                        capture_output=True, text=True)


def test_shuffled_copy_keeps_targets_segments_and_labels(tmp_path):
  src = os.path.join(make_pretraining_records(TRAIN_TEXT, str(tmp_path / "records"), 64, 10, 1), "part-0.tfrecord")
  dst = str(tmp_path / "shuffled.tfrecord")
  proc = _shuffle(src, dst)
  assert proc.returncode == 0, proc.stderr
  before, after = _records(src), _records(dst)
  assert len(before) == len(after) > 50
  moved = 0
  for b, a in zip(before, after):
    for key in ("input_mask", "segment_ids", "masked_lm_ids", "masked_lm_weights", "next_sentence_labels"):
      np.testing.assert_array_equal(a[key], b[key])
    assert sorted(a["input_ids"]) == sorted(b["input_ids"])
    # [CLS] and each segment's last token ([SEP]) stay where they were.
    real = int(b["input_mask"].sum())
    ends = [0] + [i for i in range(real) if i + 1 == real or b["segment_ids"][i + 1] != b["segment_ids"][i]]
    np.testing.assert_array_equal(a["input_ids"][ends], b["input_ids"][ends])
    # Every masked position points at the token it pointed at before ([MASK], a random or the kept word), in
    # the same segment.
    w = b["masked_lm_weights"] > 0
    np.testing.assert_array_equal(a["input_ids"][a["masked_lm_positions"][w]],
                                  b["input_ids"][b["masked_lm_positions"][w]])
    np.testing.assert_array_equal(a["segment_ids"][a["masked_lm_positions"][w]],
                                  b["segment_ids"][b["masked_lm_positions"][w]])
    moved += int((a["input_ids"] != b["input_ids"]).any())
  # A segment of n distinct tokens keeps its order with probability 1/n!; these segments have ~10 or more.
  assert moved >= 0.95 * len(before)


def test_not_a_pretraining_record_is_one_line_and_leaves_no_output(tmp_path):
  src, dst = str(tmp_path / "other.tfrecord"), str(tmp_path / "out.tfrecord")
  with tf.io.TFRecordWriter(src) as writer:
    writer.write(tf.train.Example(features=tf.train.Features(feature={
        "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[1]))})).SerializeToString())
  proc = _shuffle(src, dst)
  assert (proc.returncode, proc.stderr.strip().splitlines()) == (2, [
      "error: %s: record 0 has no input_ids, input_mask, segment_ids, masked_lm_positions, masked_lm_ids, "
      "masked_lm_weights: not a create_pretraining_data.py record" % src])
  assert sorted(os.listdir(tmp_path)) == ["other.tfrecord"]
