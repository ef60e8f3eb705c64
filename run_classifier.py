"""BERT fine-tuning for sentence(-pair) classification and regression: GLUE tasks and XNLI.

  python run_classifier.py --task_name=MRPC --data_dir=data/samples/glue/MRPC \
      --vocab_file=$BERT_DIR/vocab.txt --bert_config_file=$BERT_DIR/bert_config.json \
      --init_checkpoint=$BERT_DIR/bert_model.ckpt --do_train --do_eval --do_predict \
      --max_seq_length=128 --train_batch_size=32 --learning_rate=2e-5 --num_train_epochs=3 \
      --output_dir=results/mrpc

Tasks (--task_name, case-insensitive): cola, sst-2, mrpc, sts-b (regression), qqp, mnli, mnli-mm, ax, qnli,
rte, wnli, xnli; their data layout, labels and official metrics are in utils/glue.py. --do_eval writes
eval_results.txt (the task's official metrics on the dev set), --do_predict writes test_results.tsv (class
probabilities, or the value for regression) and the GLUE submission file (e.g. MRPC.tsv) for the test set.

Each batch is cut to its longest real sequence (--trim_padding), so short sentences cost little even with a
large --max_seq_length; turn it off for fixed shapes (e.g. --use_xla, which compiles once per shape).
"""

import os
import time

# oneDNN on unless the user set TF_ENABLE_ONEDNN_OPTS (TensorFlow reads it when it loads): TensorFlow 2.18 leaves it
# off on CPUs without AVX-512, and --amp's bfloat16 is slower than float32 without it.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

from absl import flags  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import modeling  # noqa: E402
import tokenization  # noqa: E402
from utils import flags_config  # noqa: E402
from utils import glue  # noqa: E402
from utils import training  # noqa: E402

tf1 = tf.compat.v1
FLAGS = flags.FLAGS


def define_flags():
  """Defines the flags of run_classifier.py, the shared ones included (called under __main__)."""
  flags.DEFINE_string("task_name", None, "The task to fine-tune on, e.g. MRPC (see utils/glue.py PROCESSORS).")
  flags.DEFINE_string("data_dir", None, "The task's folder in the GLUE layout (train.tsv, dev.tsv, test.tsv).")
  flags_config.define_model_flags(128, "Maximum tokens per example after WordPiece, [CLS] and [SEP] included; "
                                  "longer inputs are truncated.", tokenizer=True)
  flags.DEFINE_bool("do_train", False, "Whether to fine-tune on train.tsv.")
  flags.DEFINE_bool("do_eval", False, "Whether to evaluate on the dev set.")
  flags.DEFINE_bool("do_predict", False, "Whether to predict the test set and write the submission file.")
  flags.DEFINE_integer("train_batch_size", 32, "Micro-batch size per worker for training.")
  flags.DEFINE_integer("eval_batch_size", 8, "Batch size for evaluation.")
  flags.DEFINE_integer("predict_batch_size", 8, "Batch size for prediction.")
  flags.DEFINE_float("num_train_epochs", 3.0, "Passes over the training set.")
  flags.DEFINE_float("warmup_proportion", 0.1, "Fraction of the updates with linear learning-rate warmup.")
  flags.DEFINE_bool("trim_padding", True, "Cut every batch to its longest real sequence (dynamic padding); "
                    "in training, batch examples of similar length together so little padding is left.")
  flags_config.define_optimizer_flags(learning_rate=5e-5, optimizer_type="adam")
  flags_config.define_run_flags()
  flags.adopt_module_key_flags(flags_config)


def create_model(bert_config, is_training, features, num_labels, is_regression, compute_type=tf.float32):
  """BERT with a classification (softmax) or regression (one linear output, squared error) head.

  The head reads the pooled [CLS] output (dropout 0.1 in training); its variables are Google's
  `output_weights` [num_labels, hidden] and `output_bias` [num_labels] at the root scope. The encoder computes
  in `compute_type` (`training.Runtime.compute_type`), the head and the loss in float32. In training, every
  dropout mask follows the micro-batch's seed (`training.DROPOUT_SEED`, see training.training_stream).

  Returns:
    (loss, per_example_loss, logits [B, num_labels], predictions): predictions are class probabilities
    [B, num_labels], or the predicted values [B] for regression.
  """
  dropout_seed = features.get(training.DROPOUT_SEED)
  model = modeling.BertModel(
      config=bert_config, is_training=is_training, input_ids=features["input_ids"],
      input_mask=features["input_mask"], token_type_ids=features["segment_ids"], compute_type=compute_type,
      dropout_seed=dropout_seed)
  pooled = model.get_pooled_output()                                             # [B, D]
  hidden_size = pooled.shape[-1]
  output_weights = tf1.get_variable(
      "output_weights", [num_labels, hidden_size],
      initializer=modeling.create_initializer(bert_config.initializer_range))
  output_bias = tf1.get_variable("output_bias", [num_labels], initializer=tf1.zeros_initializer())
  if is_training:
    pooled = modeling.dropout(pooled, 0.1, dropout_seed)
  logits = tf.nn.bias_add(tf.matmul(tf.cast(pooled, tf.float32), output_weights, transpose_b=True),
                          output_bias)                                           # [B, num_labels]
  labels = features["label_ids"]
  if is_regression:
    predictions = tf.squeeze(logits, axis=-1)                                    # [B]
    per_example_loss = tf.square(predictions - labels)
  else:
    log_probs = tf.nn.log_softmax(logits, axis=-1)
    per_example_loss = -tf.reduce_sum(tf.one_hot(labels, num_labels) * log_probs, axis=-1)
    predictions = tf.exp(log_probs)
  return tf.reduce_mean(per_example_loss), per_example_loss, logits, predictions


def model_fn_builder(bert_config, num_labels, is_regression, compute_type=tf.float32):
  """Returns the model_fn: the loss for training, and per-example outputs for evaluation and prediction.

  Evaluation runs the PREDICT outputs over the dev set and computes the official metrics in numpy
  (glue.compute_metrics), so the figures are exactly GLUE's. `compute_type` is the encoder's (see create_model).
  """

  def model_fn(features, mode):
    loss, per_example_loss, _, predictions = create_model(
        bert_config, mode == training.TRAIN, features, num_labels, is_regression, compute_type)
    if mode == training.TRAIN:
      return training.ModelSpec(loss=loss)
    return training.ModelSpec(loss=loss, predictions={
        "predictions": predictions, "per_example_loss": per_example_loss,
        "label_ids": features["label_ids"], "is_real_example": features["is_real_example"]})

  return model_fn


def input_fn_builder(examples, processor, tokenizer, max_seq_length, path, batch_size, is_training, runtime,
                     trim_padding):
  """Writes `examples` as TFRecords to `path` and returns the input function reading them."""
  features = glue.convert_examples_to_features(examples, processor.get_labels(), max_seq_length, tokenizer,
                                               processor.is_regression)
  glue.write_features_to_tfrecord(features, path)
  input_fn = training.tfrecord_input_fn(
      [path], glue.name_to_features(max_seq_length, processor.is_regression), batch_size, is_training,
      runtime, shuffle_buffer=len(features))
  return training.trimmed_input_fn(input_fn, batch_size, bucket=is_training) if trim_padding else input_fn


def read_examples(get_examples, data_dir):
  """Calls a processor's get_*_examples, turning a missing file into a ValueError naming it."""
  try:
    return get_examples(data_dir)
  except FileNotFoundError as e:
    raise ValueError("--data_dir=%s: %s not found" % (data_dir, e.filename)) from None


def checkpoint_step(checkpoint):
  """The global step of a checkpoint named like model.ckpt-343 (0 for a pretrained checkpoint)."""
  suffix = checkpoint.rsplit("-", 1)[-1]
  return int(suffix) if suffix.isdigit() else 0


def evaluate(model_fn, input_fn, runtime, checkpoint, task_name):
  """The task's official metrics (glue.compute_metrics) and the mean loss over the dev set at `checkpoint`.

  Returns:
    dict "eval_<metric>" -> value, plus eval_loss, eval_examples and the checkpoint's global_step.
  """
  outputs = list(training.predict(model_fn, input_fn, runtime, checkpoint))
  result = {"eval_" + k: v for k, v in glue.compute_metrics(
      task_name, np.stack([o["predictions"] for o in outputs]), np.array([o["label_ids"] for o in outputs]),
      np.array([o["is_real_example"] for o in outputs])).items()}
  result["eval_loss"] = float(np.mean([o["per_example_loss"] for o in outputs]))
  result["eval_examples"] = len(outputs)
  result["global_step"] = checkpoint_step(checkpoint)
  return result


def main(_):
  tf1.disable_eager_execution()
  if not (FLAGS.do_train or FLAGS.do_eval or FLAGS.do_predict):
    raise ValueError("at least one of --do_train, --do_eval and --do_predict must be set")
  flags_config.require_flags(FLAGS, ["task_name", "data_dir", "vocab_file", "bert_config_file", "output_dir"])
  bert_config = flags_config.bert_config_from_flags(FLAGS)
  tokenization.validate_case_matches_checkpoint(FLAGS.do_lower_case, FLAGS.init_checkpoint)
  processor = glue.get_processor(FLAGS.task_name)
  task_name = FLAGS.task_name.lower()
  tokenizer = tokenization.FullTokenizer(vocab_file=FLAGS.vocab_file, do_lower_case=FLAGS.do_lower_case)
  runtime = training.init_runtime(flags_config.run_config_from_flags(FLAGS))
  model_fn = model_fn_builder(bert_config, processor.num_labels(), processor.is_regression, runtime.compute_type)
  flags_config.log_flags(runtime, FLAGS)

  def make_input_fn(examples, name, batch_size, is_training):
    return input_fn_builder(examples, processor, tokenizer, FLAGS.max_seq_length,
                            os.path.join(FLAGS.output_dir, name + ".tf_record"), batch_size, is_training,
                            runtime, FLAGS.trim_padding)

  if FLAGS.do_train:
    train_examples = read_examples(processor.get_train_examples, FLAGS.data_dir)
    optimizer = flags_config.finetune_optimizer_config(FLAGS, len(train_examples), runtime.size)
    runtime.log_text("training on %d examples: %d steps of %d x %d worker(s) x %d micro-batch(es)" % (
        len(train_examples), optimizer.num_train_steps, FLAGS.train_batch_size, runtime.size,
        optimizer.num_accumulation_steps))
    # Every worker writes the same file (atomically) and reads its shard of the records.
    input_fn = make_input_fn(train_examples, "train", FLAGS.train_batch_size, True)
    start = time.time()
    result = training.train(model_fn, input_fn, runtime, optimizer, FLAGS.train_batch_size)
    result["train_time_sec"] = time.time() - start
    runtime.logger.log((), result)

  if not runtime.is_chief or not (FLAGS.do_eval or FLAGS.do_predict):
    runtime.logger.close()
    return
  checkpoint = flags_config.checkpoint_to_evaluate(FLAGS)
  if FLAGS.do_eval:
    input_fn = make_input_fn(read_examples(processor.get_dev_examples, FLAGS.data_dir), "eval",
                             FLAGS.eval_batch_size, False)
    result = evaluate(model_fn, input_fn, runtime, checkpoint, task_name)
    runtime.logger.log((), result)
    training.write_results(os.path.join(FLAGS.output_dir, "eval_results.txt"), result)
  if FLAGS.do_predict:
    predict_examples = read_examples(processor.get_test_examples, FLAGS.data_dir)
    input_fn = make_input_fn(predict_examples, "predict", FLAGS.predict_batch_size, False)
    predictions = [o["predictions"] for o in training.predict(model_fn, input_fn, runtime, checkpoint)]
    paths = glue.write_predictions(FLAGS.output_dir, task_name, predict_examples, predictions)
    runtime.log_text("wrote predictions for %d examples: %s" % (len(predictions), ", ".join(paths)))
  runtime.logger.close()


if __name__ == "__main__":
  define_flags()
  training.run_main(main)
