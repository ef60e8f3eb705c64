"""How much masked-token information a checkpoint's encoder holds: a masked-LM probe on the frozen encoder.

For the checkpoint and for a random initialisation of the same config, the encoder (eval mode, frozen) is run
once over the TFRecords of create_pretraining_data.py, and its output at every masked position is kept. A fresh
masked-LM head of modeling.get_masked_lm_output (dense + GELU + LayerNorm, output tied to the frozen word
embeddings, output bias) is then fitted with Adam on the training records' positions and scored on the held-out
records' positions. Accuracy is split by what the input held at the position: [MASK] (80% of predictions: the
word must come from the context) or the original or a random token (20%: it can partly be copied).

  python benchmarks/mlm_probe.py --bert_config_file=M/bert_config.json --init_checkpoint=M/bert_model.ckpt \
      --train_records=DATA/training/part-0.tfrecord --eval_records=DATA/test/part-0.tfrecord \
      --max_seq_length=64 --max_predictions_per_seq=10

This is what showed that the converted all-MiniLM-L6-v2 (no masked-LM head; its last layer was trained for
sentence embeddings) holds little more masked-word information than a random initialisation (README, Pretraining).
"""
import numpy as np
from absl import app
from absl import flags
import tensorflow as tf

import common  # noqa: F401  (puts the repository on sys.path)
import modeling
import run_pretraining
from utils import training

tf1 = tf.compat.v1
FLAGS = flags.FLAGS
flags.DEFINE_string("bert_config_file", None, "bert_config.json of the encoder.")
flags.DEFINE_string("init_checkpoint", None, "Checkpoint of the encoder (the random initialisation is probed "
                    "either way).")
flags.DEFINE_integer("max_seq_length", 128, "Sequence length of the TFRecords.")
flags.DEFINE_integer("max_predictions_per_seq", 20, "Masked positions per sequence in the TFRecords.")
flags.DEFINE_string("train_records", None, "TFRecords (comma list or glob) the head is fitted on.")
flags.DEFINE_string("eval_records", None, "Held-out TFRecords the head is scored on.")
flags.DEFINE_integer("layer", -1, "Encoder layer whose output is probed (-1: the last, the one BERT's head reads).")
flags.DEFINE_integer("epochs", 6, "Passes of the head over the training positions.")
flags.DEFINE_integer("batch_size", 256, "Positions per head update.")
flags.DEFINE_integer("mask_token_id", 103, "Id of [MASK] in the vocabulary the records were made with (103 in "
                     "Google's BERT vocabularies).")
flags.DEFINE_float("learning_rate", 1e-3, "Adam learning rate of the head.")
flags.DEFINE_integer("seed", 0, "Graph-level random seed (the random initialisation, the head's init and order).")


def encoder_outputs(bert_config, init_checkpoint, file_sets, name_to_features, layer, seed):
  """Runs one frozen encoder (one graph and session) over each of `file_sets`.

  Returns:
    (word embeddings [V, D], one tuple per file set of (features [N, D], label ids [N], input ids at the
    position [N]) over its real (weight 1) masked positions).
  """
  runtime = training.Runtime(training.RunConfig(output_dir=None))
  with tf.Graph().as_default():
    tf1.set_random_seed(seed)
    datasets = [training.tfrecord_input_fn(files, name_to_features, 64, False, runtime)() for files in file_sets]
    iterator = tf1.data.Iterator.from_structure(tf1.data.get_output_types(datasets[0]),
                                                tf1.data.get_output_shapes(datasets[0]))
    batch = iterator.get_next()
    model = modeling.BertModel(bert_config, False, batch["input_ids"], batch["input_mask"], batch["segment_ids"])
    hidden = modeling.gather_indexes(model.get_all_encoder_layers()[layer],
                                     batch["masked_lm_positions"])                      # [B*P, D]
    at_position = tf.gather(batch["input_ids"], batch["masked_lm_positions"], batch_dims=1)  # [B, P]
    fetches = [hidden, tf.reshape(batch["masked_lm_ids"], [-1]), tf.reshape(at_position, [-1]),
               tf.reshape(batch["masked_lm_weights"], [-1])]
    if init_checkpoint:
      tf1.train.init_from_checkpoint(init_checkpoint, {"bert/": "bert/"})
    outputs = []
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      embeddings = sess.run(model.get_embedding_table())
      for dataset in datasets:
        sess.run(iterator.make_initializer(dataset))
        parts = []
        while True:
          try:
            parts.append(sess.run(fetches))
          except tf.errors.OutOfRangeError:
            break
        hidden_np, labels, inputs, weights = (np.concatenate(p) for p in zip(*parts))
        real = weights > 0
        outputs.append((hidden_np[real], labels[real], inputs[real]))
  return embeddings, outputs


def fit_and_score(bert_config, train, held_out, embeddings, epochs, batch_size, learning_rate, seed,
                  mask_token_id):
  """Fits a fresh masked-LM head on `train` (features, labels) and scores it on `held_out` after each epoch.

  Returns:
    list of dicts (one per epoch): loss, accuracy, accuracy_mask, accuracy_other on the held-out positions.
  """
  width = train[0].shape[1]
  with tf.Graph().as_default():
    tf1.set_random_seed(seed)
    features = tf1.placeholder(tf.float32, [None, width])                        # [N, D]
    labels = tf1.placeholder(tf.int32, [None])                                   # [N]
    ones = tf.ones_like(labels, dtype=tf.float32)
    loss, _, log_probs = modeling.get_masked_lm_output(
        bert_config, features[:, None, :], tf.constant(embeddings), tf.zeros_like(labels)[:, None],
        labels[:, None], ones[:, None])
    train_op = tf1.train.AdamOptimizer(learning_rate).minimize(loss)
    predictions = tf.argmax(log_probs, axis=-1, output_type=tf.int32)            # [N]
    rng = np.random.default_rng(seed)
    held_x, held_y, held_inputs = held_out
    masked = held_inputs == mask_token_id
    rows = []
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      for _ in range(epochs):
        order = rng.permutation(len(train[0]))
        for i in range(0, len(order) - batch_size + 1, batch_size):
          take = order[i:i + batch_size]
          sess.run(train_op, {features: train[0][take], labels: train[1][take]})
        held_loss, predicted = sess.run([loss, predictions], {features: held_x, labels: held_y})
        right = predicted == held_y
        rows.append({"loss": float(held_loss), "accuracy": float(right.mean()),
                     "accuracy_mask": float(right[masked].mean()), "accuracy_other": float(right[~masked].mean())})
  return rows


def main(_):
  tf1.disable_eager_execution()
  for flag in ("bert_config_file", "train_records", "eval_records"):
    if not getattr(FLAGS, flag):
      raise ValueError("--%s is required" % flag)
  bert_config = modeling.BertConfig.from_json_file(FLAGS.bert_config_file)
  name_to_features = run_pretraining.name_to_features(FLAGS.max_seq_length, FLAGS.max_predictions_per_seq)
  train_files = training.list_input_files(FLAGS.train_records, "train_records")
  eval_files = training.list_input_files(FLAGS.eval_records, "eval_records")
  starts = ([("checkpoint", FLAGS.init_checkpoint)] if FLAGS.init_checkpoint else []) + [("random init", None)]
  print("| encoder | train positions | held-out positions | epoch | held-out loss | accuracy | at [MASK] | "
        "at kept/random tokens |")
  print("|---|---|---|---|---|---|---|---|")
  for name, checkpoint in starts:
    embeddings, (train, held_out) = encoder_outputs(bert_config, checkpoint, [train_files, eval_files],
                                                   name_to_features, FLAGS.layer, FLAGS.seed)
    rows = fit_and_score(bert_config, train[:2], held_out, embeddings, FLAGS.epochs, FLAGS.batch_size,
                         FLAGS.learning_rate, FLAGS.seed, FLAGS.mask_token_id)
    for epoch, row in enumerate(rows, 1):
      print("| %s | %d | %d | %d | %.3f | %.3f | %.3f | %.3f |" % (
          name, len(train[1]), len(held_out[1]), epoch, row["loss"], row["accuracy"], row["accuracy_mask"],
          row["accuracy_other"]), flush=True)


if __name__ == "__main__":
  app.run(main)
