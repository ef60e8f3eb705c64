"""BERT pretraining (masked LM + next sentence prediction) on TFRecords from create_pretraining_data.py.

  python run_pretraining.py --bert_config_file=bert_config.json --input_files_dir=data/training \
      --eval_files_dir=data/test --output_dir=results/phase1 --do_train --do_eval \
      --train_batch_size=64 --max_seq_length=128 --max_predictions_per_seq=20 \
      --num_train_steps=7038 --num_warmup_steps=2000 --learning_rate=6e-3 --optimizer_type=lamb \
      --num_accumulation_steps=128 --horovod --amp --use_xla

Phase 2 (longer sequences) starts from phase 1's weights: pass its final checkpoint as --init_checkpoint with
a new --output_dir; the optimizer slots and the step counter start fresh.
"""

import os
import sys

# oneDNN on unless the user set TF_ENABLE_ONEDNN_OPTS (TensorFlow reads it when it loads): TensorFlow 2.18 leaves it
# off on CPUs without AVX-512, and --amp's bfloat16 is slower than float32 without it.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

from absl import flags  # noqa: E402
import tensorflow as tf  # noqa: E402

import modeling  # noqa: E402
from utils import flags_config  # noqa: E402
from utils import training  # noqa: E402

tf1 = tf.compat.v1
FLAGS = flags.FLAGS
# Eval warns when more than this share of the masked positions predict one and the same token.
COLLAPSE_SHARE = 0.8


def define_flags():
  """Defines the flags of run_pretraining.py, the shared ones included (called under __main__)."""
  flags_config.define_model_flags(128, "Sequence length of the TFRecords.")
  flags.DEFINE_string("input_files_dir", None, "Directory (or glob, or comma list) of training TFRecords.")
  flags.DEFINE_string("eval_files_dir", None, "Directory (or glob, or comma list) of evaluation TFRecords.")
  flags.DEFINE_integer("max_predictions_per_seq", 20, "Masked positions per sequence in the TFRecords.")
  flags.DEFINE_bool("do_train", False, "Whether to train.")
  flags.DEFINE_bool("do_eval", False, "Whether to evaluate on --eval_files_dir.")
  flags.DEFINE_integer("train_batch_size", 32, "Micro-batch size per worker.")
  flags.DEFINE_integer("eval_batch_size", 8, "Evaluation batch size.")
  flags.DEFINE_integer("num_train_steps", 100000, "Optimizer updates.")
  flags.DEFINE_integer("num_warmup_steps", 10000, "Updates of linear learning-rate warmup.")
  flags.DEFINE_integer("max_eval_steps", 100, "Evaluation batches at most.")
  flags.DEFINE_bool("report_loss", True, "Also log the masked-LM and next-sentence losses separately.")
  flags_config.define_optimizer_flags(learning_rate=5e-5, optimizer_type="lamb")
  flags_config.define_run_flags()
  flags.adopt_module_key_flags(flags_config)


def name_to_features(max_seq_length, max_predictions_per_seq):
  """The TFRecord features create_pretraining_data.py writes."""
  s, p = max_seq_length, max_predictions_per_seq
  return {
      "input_ids": tf.io.FixedLenFeature([s], tf.int64),
      "input_mask": tf.io.FixedLenFeature([s], tf.int64),
      "segment_ids": tf.io.FixedLenFeature([s], tf.int64),
      "masked_lm_positions": tf.io.FixedLenFeature([p], tf.int64),
      "masked_lm_ids": tf.io.FixedLenFeature([p], tf.int64),
      "masked_lm_weights": tf.io.FixedLenFeature([p], tf.float32),
      "next_sentence_labels": tf.io.FixedLenFeature([1], tf.int64),
  }


def top_prediction_share(predictions, weights, vocab_size):
  """Eval metrics: the share of (weighted) positions predicting the most common id, and that id.

  A share near 1 means the masked-LM head has collapsed onto one token (usually "," or "the").

  Args:
    predictions: int32 [N], predicted token ids.
    weights: float32 [N], 1 for real positions, 0 for padding.
    vocab_size: number of token ids.

  Returns:
    Two (value tensor, update op) pairs, as tf.compat.v1.metrics returns: the share and the id (as float).
  """
  counts = tf1.Variable(tf.zeros([vocab_size]), trainable=False, name="prediction_counts",     # [V]
                        collections=[tf1.GraphKeys.LOCAL_VARIABLES, tf1.GraphKeys.METRIC_VARIABLES])
  update = tf1.scatter_add(counts, predictions, weights)  # repeated ids add up
  share = tf.math.divide_no_nan(tf.reduce_max(counts), tf.reduce_sum(counts))
  top_id = tf.cast(tf.argmax(counts), tf.float32)
  return (share, update), (top_id, update)


def collapse_warning(result, learning_rate, optimizer_type, threshold=COLLAPSE_SHARE):
  """One warning line when the eval's masked-LM predictions collapsed onto one token.

  Args:
    result: the eval results, with the metrics of `top_prediction_share`.
    learning_rate: the peak learning rate that trained the checkpoint, or None when another run trained it.
    optimizer_type: the optimizer of this run's flags.
    threshold: the share of positions above which predictions count as collapsed.

  Returns:
    The warning text, or None.
  """
  share = result.get("masked_lm_top_prediction_share", 0.0)
  if share <= threshold:
    return None
  used = ("this run: --learning_rate=%g --optimizer_type=%s" % (learning_rate, optimizer_type)
          if learning_rate is not None else "see the training run's --learning_rate and --optimizer_type")
  return ("warning: masked-LM predictions collapsed: %.0f%% of the evaluated positions predict token id %d "
          "(normal in the first few hundred updates; if it persists, the usual cause is a learning rate too high "
          "for the optimizer (%s): try one 3-10x smaller)" % (
              100 * share, result["masked_lm_top_prediction_id"], used))


def model_fn_builder(bert_config, report_loss, compute_type=tf.float32):
  """Returns the pretraining model_fn: BERT with the shared masked-LM and next-sentence heads.

  Args:
    bert_config: `modeling.BertConfig`.
    report_loss: whether training also logs the masked-LM and next-sentence losses.
    compute_type: the encoder's compute type (`training.Runtime.compute_type`); logits and losses are float32.
  """

  def model_fn(features, mode):
    model = modeling.BertModel(
        config=bert_config, is_training=(mode == training.TRAIN), input_ids=features["input_ids"],
        input_mask=features["input_mask"], token_type_ids=features["segment_ids"], compute_type=compute_type,
        dropout_seed=features.get(training.DROPOUT_SEED))
    mlm_loss, mlm_example_loss, mlm_log_probs = modeling.get_masked_lm_output(
        bert_config, model.get_sequence_output(), model.get_embedding_table(),
        features["masked_lm_positions"], features["masked_lm_ids"], features["masked_lm_weights"])
    nsp_loss, nsp_example_loss, nsp_log_probs = modeling.get_next_sentence_output(
        bert_config, model.get_pooled_output(), features["next_sentence_labels"])
    total_loss = mlm_loss + nsp_loss
    if mode == training.TRAIN:
      scalars = {"masked_lm_loss": mlm_loss, "next_sentence_loss": nsp_loss} if report_loss else {}
      return training.ModelSpec(loss=total_loss, scalars=scalars)

    mlm_weights = tf.reshape(features["masked_lm_weights"], [-1])                 # [B*P]
    mlm_pred = tf.argmax(mlm_log_probs, axis=-1, output_type=tf.int32)            # [B*P]
    nsp_labels = tf.reshape(features["next_sentence_labels"], [-1])               # [B]
    nsp_pred = tf.argmax(nsp_log_probs, axis=-1, output_type=tf.int32)            # [B]
    top_share, top_id = top_prediction_share(mlm_pred, mlm_weights, bert_config.vocab_size)
    metrics = {
        "masked_lm_accuracy": tf1.metrics.accuracy(
            tf.reshape(features["masked_lm_ids"], [-1]), mlm_pred, weights=mlm_weights),
        "masked_lm_top_prediction_share": top_share,
        "masked_lm_top_prediction_id": top_id,
        "masked_lm_loss": tf1.metrics.mean(mlm_example_loss, weights=mlm_weights),
        "next_sentence_accuracy": tf1.metrics.accuracy(nsp_labels, nsp_pred),
        "next_sentence_loss": tf1.metrics.mean(nsp_example_loss),
    }
    return training.ModelSpec(loss=total_loss, eval_metrics=metrics)

  return model_fn


def main(_):
  tf1.disable_eager_execution()
  if not FLAGS.do_train and not FLAGS.do_eval:
    raise ValueError("at least one of --do_train and --do_eval must be set")
  flags_config.require_flags(FLAGS, ["bert_config_file", "output_dir"] + (
      ["input_files_dir"] if FLAGS.do_train else []) + (["eval_files_dir"] if FLAGS.do_eval else []))
  bert_config = flags_config.bert_config_from_flags(FLAGS)
  runtime = training.init_runtime(flags_config.run_config_from_flags(FLAGS))
  features = name_to_features(FLAGS.max_seq_length, FLAGS.max_predictions_per_seq)
  model_fn = model_fn_builder(bert_config, FLAGS.report_loss, runtime.compute_type)
  flags_config.log_flags(runtime, FLAGS)

  if FLAGS.do_train:
    train_files = training.list_input_files(FLAGS.input_files_dir, "input_files_dir")
    input_fn = training.tfrecord_input_fn(train_files, features, FLAGS.train_batch_size, True, runtime)
    optimizer = flags_config.optimizer_config_from_flags(FLAGS, FLAGS.num_train_steps, FLAGS.num_warmup_steps)
    result = training.train(model_fn, input_fn, runtime, optimizer, FLAGS.train_batch_size)
    runtime.logger.log((), result)

  if FLAGS.do_eval and runtime.is_chief:
    eval_files = training.list_input_files(FLAGS.eval_files_dir, "eval_files_dir")
    input_fn = training.tfrecord_input_fn(eval_files, features, FLAGS.eval_batch_size, False, runtime)
    checkpoint = flags_config.checkpoint_to_evaluate(FLAGS)
    result = training.evaluate(model_fn, input_fn, runtime, checkpoint, FLAGS.max_eval_steps)
    runtime.logger.log((), result)
    warning = collapse_warning(result, FLAGS.learning_rate if FLAGS.do_train else None, FLAGS.optimizer_type)
    if warning:
      print("%s (checkpoint %s)" % (warning, checkpoint), file=sys.stderr, flush=True)
    training.write_results(os.path.join(FLAGS.output_dir, "eval_results.txt"), result)
  runtime.logger.close()


if __name__ == "__main__":
  define_flags()
  training.run_main(main)
