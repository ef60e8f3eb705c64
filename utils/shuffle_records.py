"""A copy of pretraining TFRecords with the tokens of each segment in a random order: a word-order probe.

A masked-LM that predicts from the bag of words around the mask scores the same on the copy as on the
original; one that uses word order scores lower. Within each segment ([CLS] A [SEP] B [SEP]) the WordPieces
are permuted, the [MASK]s with them, and masked_lm_positions follow their tokens, so every record keeps its
masked targets, its segments, its length and its next-sentence label. Segments are found from segment_ids and
input_mask (the first token and the last of each segment stay), so any vocabulary works.

  python -m utils.shuffle_records IN.tfrecord OUT.tfrecord [--seed=1]
"""
import argparse
import os
import sys

import numpy as np
import tensorflow as tf

INT_FEATURES = ("input_ids", "input_mask", "segment_ids", "masked_lm_positions", "masked_lm_ids")


def segment_spans(input_mask, segment_ids):
  """Positions of the tokens of each segment, without [CLS] and the [SEP]s.

  Args:
    input_mask: [seq_length] ints, 1 on real tokens.
    segment_ids: [seq_length] ints, 0 for [CLS] A [SEP], 1 for B [SEP].

  Returns:
    list of int arrays: segment A's positions, then segment B's (if the record has one).
  """
  real = np.flatnonzero(np.asarray(input_mask) > 0)
  segment_ids = np.asarray(segment_ids)[real]
  a = real[segment_ids == 0][1:-1]   # [CLS] first, [SEP] last
  b = real[segment_ids == 1][:-1]    # [SEP] last
  return [span for span in (a, b) if len(span)]


def shuffle_record(features, rng):
  """Permutes the tokens of each segment of one record.

  Args:
    features: dict of numpy arrays with the keys of INT_FEATURES and masked_lm_weights.
    rng: numpy RandomState.

  Returns:
    (input_ids, masked_lm_positions): the new values; the other features are unchanged.
  """
  ids = np.asarray(features["input_ids"])
  new_ids, new_position = ids.copy(), np.arange(len(ids))
  for span in segment_spans(features["input_mask"], features["segment_ids"]):
    order = rng.permutation(span)     # the token at span[k] comes from order[k]
    new_ids[span] = ids[order]
    new_position[order] = span
  positions = np.asarray(features["masked_lm_positions"])
  real = np.asarray(features["masked_lm_weights"]) > 0
  return new_ids, np.where(real, new_position[positions], positions)


def shuffle_file(src, dst, seed):
  """Writes the shuffled copy of every record of `src` to `dst` (atomically). Returns the record count."""
  rng = np.random.RandomState(seed)
  try:
    count = _shuffle_into(src, dst + ".tmp", rng)
  except BaseException:
    if os.path.exists(dst + ".tmp"):
      os.remove(dst + ".tmp")
    raise
  os.replace(dst + ".tmp", dst)
  return count


def _shuffle_into(src, path, rng):
  count = 0
  with tf.io.TFRecordWriter(path) as writer:
    for raw in tf.data.TFRecordDataset(src).as_numpy_iterator():
      example = tf.train.Example.FromString(raw)
      feature = example.features.feature
      missing = [k for k in INT_FEATURES + ("masked_lm_weights",) if k not in feature]
      if missing:
        raise ValueError("%s: record %d has no %s: not a create_pretraining_data.py record" % (
            src, count, ", ".join(missing)))
      values = {k: np.array(feature[k].int64_list.value) for k in INT_FEATURES}
      values["masked_lm_weights"] = np.array(feature["masked_lm_weights"].float_list.value)
      ids, positions = shuffle_record(values, rng)
      for key, new in (("input_ids", ids), ("masked_lm_positions", positions)):
        del feature[key].int64_list.value[:]
        feature[key].int64_list.value.extend(int(x) for x in new)
      writer.write(example.SerializeToString())
      count += 1
  return count


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("input_file")
  parser.add_argument("output_file")
  parser.add_argument("--seed", type=int, default=1)
  args = parser.parse_args(argv)
  try:
    count = shuffle_file(args.input_file, args.output_file, args.seed)
  except (ValueError, tf.errors.OpError) as e:
    print("error: %s" % getattr(e, "message", e), file=sys.stderr)
    return 2
  print("wrote %d records with shuffled segments to %s" % (count, args.output_file))
  return 0


if __name__ == "__main__":
  sys.exit(main())
