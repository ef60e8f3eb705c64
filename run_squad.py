"""BERT fine-tuning and inference on SQuAD v1.1 / v2.0: question answering by answer-span prediction.

  python run_squad.py --vocab_file=$BERT_DIR/vocab.txt --bert_config_file=$BERT_DIR/bert_config.json \
      --init_checkpoint=$BERT_DIR/bert_model.ckpt --do_train --train_file=train-v1.1.json \
      --do_predict --predict_file=dev-v1.1.json --train_batch_size=8 --learning_rate=5e-6 \
      --num_train_epochs=2 --max_seq_length=384 --doc_stride=128 --output_dir=results/squad

--do_predict writes predictions.json and nbest_predictions.json (plus null_odds.json with
--version_2_with_negative) to --output_dir and, when the predict file has gold answers, scores them with the
official SQuAD metrics (logged and written to eval_results.json).

SQuAD 2.0 answers "" when (null score - best span score) > --null_score_diff_threshold, which is
  * a number (Google's and NVIDIA's rule; default 0.0);
  * "auto": use the threshold that maximises F1 on the (labelled) predict file, i.e. the official
    script's best_f1_thresh; predictions.json is written with it;
  * the eval_results.json of an earlier --do_predict run: reuse the best_f1_thresh found there, e.g. tune
    on a dev file with "auto", then predict on new data with --null_score_diff_threshold=<dir>/eval_results.json.

--export_triton writes a SavedModel (signature inputs unique_ids [batch], input_ids, input_mask, segment_ids
[batch, max_seq_length], all int32; outputs unique_ids, start_logits, end_logits) and its Triton config to
<output_dir>/triton_models/<triton_model_name>/{config.pbtxt,<triton_model_version>/model.savedmodel}.

--interactive answers questions about one passage with a fine-tuned checkpoint:
  python run_squad.py --interactive --vocab_file=... --bert_config_file=... --init_checkpoint=results/squad \
      --context="..." --question="..."
Without --question, questions are read from stdin, one per line; --context_file reads the passage from a file.
"""

import math
import os
import time

# oneDNN on unless the user set TF_ENABLE_ONEDNN_OPTS (TensorFlow reads it when it loads): TensorFlow 2.18 leaves it
# off on CPUs without AVX-512, and --amp's bfloat16 is slower than float32 without it.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

from absl import flags  # noqa: E402
import tensorflow as tf  # noqa: E402

import modeling  # noqa: E402
import tokenization  # noqa: E402
from utils import flags_config  # noqa: E402
from utils import squad  # noqa: E402
from utils import squad_scoring  # noqa: E402
from utils import squad_serving  # noqa: E402
from utils import training  # noqa: E402

tf1 = tf.compat.v1
FLAGS = flags.FLAGS


def define_flags():
  """Defines the flags of run_squad.py, the shared ones included (called under __main__)."""
  flags_config.define_model_flags(384, "Tokens per window: [CLS] question [SEP] passage [SEP].", tokenizer=True)
  flags.DEFINE_string("train_file", None, "SQuAD json for training, e.g. train-v1.1.json.")
  flags.DEFINE_string("predict_file", None, "SQuAD json to predict, e.g. dev-v1.1.json (scored if it has answers).")
  flags.DEFINE_integer("doc_stride", 128, "Distance in tokens between the starts of a passage's windows.")
  flags.DEFINE_integer("max_query_length", 64, "Questions are truncated to this many tokens.")
  flags.DEFINE_bool("do_train", False, "Fine-tune on --train_file.")
  flags.DEFINE_bool("do_predict", False, "Predict answers for --predict_file.")
  flags.DEFINE_integer("train_batch_size", 8, "Micro-batch size per worker.")
  flags.DEFINE_integer("predict_batch_size", 8, "Prediction batch size.")
  flags.DEFINE_float("num_train_epochs", 2.0, "Passes over the training windows.")
  flags.DEFINE_float("warmup_proportion", 0.1, "Fraction of the updates with linear learning-rate warmup.")
  flags.DEFINE_bool("trim_padding", True, "Training: batch windows of similar length together and cut each batch "
                    "to its longest real window (dynamic padding); off for fixed shapes (e.g. with --use_xla).")
  flags_config.define_optimizer_flags(learning_rate=5e-6, optimizer_type="adam")
  _define_prediction_flags()
  _define_serving_flags()
  flags_config.define_run_flags()
  flags.adopt_module_key_flags(flags_config)


def _define_prediction_flags():
  """The flags of answer decoding and scoring."""
  flags.DEFINE_integer("n_best_size", 20, "Candidate answers kept per question (nbest_predictions.json).")
  flags.DEFINE_integer("max_answer_length", 30, "Longest answer in WordPiece tokens.")
  flags.DEFINE_bool("verbose_logging", False, "Log answers that cannot be mapped back onto the passage.")
  flags.DEFINE_bool("version_2_with_negative", False, "SQuAD 2.0: questions may have no answer.")
  flags.DEFINE_string("null_score_diff_threshold", "0.0",
                      "SQuAD 2.0 no-answer threshold: a number, 'auto' (best F1 on the labelled predict file) "
                      "or the eval_results.json of an earlier run (reuses its best_f1_thresh).")


def _define_serving_flags():
  """The flags of --export_triton and --interactive."""
  flags.DEFINE_bool("export_triton", False,
                    "Export the checkpoint as a Triton model repository entry under <output_dir>/triton_models.")
  flags.DEFINE_string("triton_model_name", "bert", "Triton model name (folder and config name).")
  flags.DEFINE_integer("triton_model_version", 1, "Triton model version (sub-folder).")
  flags.DEFINE_integer("triton_max_batch_size", 8, "max_batch_size in config.pbtxt.")
  flags.DEFINE_float("triton_dyn_batching_delay", 0.0,
                     "Dynamic batching queue delay in milliseconds (0: batch only what is queued).")
  flags.DEFINE_integer("triton_engine_count", 1, "Model instances Triton runs (instance_group count).")
  flags.DEFINE_bool("triton_model_overwrite", False, "Replace an existing exported model and config.")
  flags.DEFINE_bool("interactive", False, "Answer --question (or stdin questions) about --context and exit.")
  flags.DEFINE_string("context", None, "--interactive: the passage.")
  flags.DEFINE_string("context_file", None, "--interactive: a UTF-8 text file holding the passage.")
  flags.DEFINE_string("question", None, "--interactive: the question (default: one per line from stdin).")


# ------------------------------------------------------------------------------------------------ model

def create_model(bert_config, is_training, input_ids, input_mask, segment_ids, compute_type=tf.float32,
                 dropout_seed=None):
  """BERT with the SQuAD span head: one start and one end logit per token.

  The encoder computes in `compute_type` (`training.Runtime.compute_type`), the head in float32: bfloat16's
  8-bit mantissa would round logits of size 10 by up to 0.03 and tie close answer spans. `dropout_seed` is
  the training micro-batch's (`training.DROPOUT_SEED`; see modeling.BertModel).

  Returns:
    (start_logits, end_logits), float32 Tensors of shape [B, S].
  """
  model = modeling.BertModel(config=bert_config, is_training=is_training, input_ids=input_ids,
                             input_mask=input_mask, token_type_ids=segment_ids, compute_type=compute_type,
                             dropout_seed=dropout_seed)
  sequence_output = model.get_sequence_output()                               # [B, S, D]
  seq_length, hidden_size = modeling.get_shape_list(sequence_output, expected_rank=3)[1:]
  output_weights = tf1.get_variable(
      "cls/squad/output_weights", [2, hidden_size],
      initializer=modeling.create_initializer(bert_config.initializer_range))
  output_bias = tf1.get_variable("cls/squad/output_bias", [2], initializer=tf1.zeros_initializer())
  hidden = tf.cast(tf.reshape(sequence_output, [-1, hidden_size]), tf.float32)  # [B*S, D]
  logits = tf.nn.bias_add(tf.matmul(hidden, output_weights, transpose_b=True), output_bias)
  logits = tf.reshape(logits, [-1, seq_length, 2])                            # [B, S, 2]
  start_logits, end_logits = tf.unstack(logits, axis=2)
  return start_logits, end_logits


def model_fn_builder(bert_config, compute_type=tf.float32):
  """Returns the SQuAD model_fn: the loss is the mean of the start and end position cross-entropies.
  `compute_type` is the encoder's (see create_model)."""

  def model_fn(features, mode):
    start_logits, end_logits = create_model(
        bert_config, mode == training.TRAIN, features["input_ids"], features["input_mask"],
        features["segment_ids"], compute_type, features.get(training.DROPOUT_SEED))
    if mode == training.PREDICT:
      return training.ModelSpec(predictions={
          "unique_ids": tf.identity(features["unique_ids"], name="unique_ids_out"),
          "start_logits": tf.identity(start_logits, name="start_logits"),
          "end_logits": tf.identity(end_logits, name="end_logits")})
    start_loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=features["start_positions"], logits=start_logits))
    end_loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=features["end_positions"], logits=end_logits))
    return training.ModelSpec(loss=(start_loss + end_loss) / 2.0,
                              scalars={"start_loss": start_loss, "end_loss": end_loss})

  return model_fn


# ---------------------------------------------------------------------------------------------- predict

def _predict_logits(model_fn, runtime, checkpoint, record, options):
  """Runs the model over the prediction windows of a TFRecord file.

  Returns:
    (list of squad.RawResult, dict with the number of windows and the prediction throughput in
    sentences/sec after the first batch).
  """
  input_fn = training.tfrecord_input_fn([record], squad.name_to_features(options.max_seq_length, False),
                                        options.predict_batch_size, False, runtime)
  results, t_first = [], None
  for prediction in training.predict(model_fn, input_fn, runtime, checkpoint):
    if t_first is None:
      t_first = time.time()
    results.append(squad.RawResult(int(prediction["unique_ids"]), prediction["start_logits"].tolist(),
                                   prediction["end_logits"].tolist()))
  elapsed = time.time() - t_first
  timed = len(results) - min(len(results), options.predict_batch_size)   # the first batch is warm-up
  report = {"predict_windows": len(results)}
  if timed and elapsed > 0:
    report["throughput_predict"] = timed / elapsed
  return results, report


def run_predictions(model_fn, runtime, checkpoint, predict_file, tokenizer, options, output_dir):
  """Predicts `predict_file`, writes the prediction files and, when it is labelled, scores them.

  Args:
    model_fn: the SQuAD model_fn.
    runtime: `training.Runtime`.
    checkpoint: checkpoint to predict with.
    predict_file: SQuAD json.
    tokenizer: tokenization.FullTokenizer.
    options: squad.PredictOptions.
    output_dir: where eval.tf_record, the prediction files and eval_results.json go.

  Returns:
    dict with the number of windows, the prediction throughput and, for a labelled file, the official
    metrics (also written to <output_dir>/eval_results.json).
  """
  v2, threshold = options.version_2_with_negative, options.null_score_diff_threshold
  record = os.path.join(output_dir, "eval.tf_record")
  examples, features = squad.write_predict_features(predict_file, v2, tokenizer, options.max_seq_length,
                                                    options.doc_stride, options.max_query_length, record)
  if not examples:
    raise ValueError("--predict_file=%s holds no questions" % predict_file)
  runtime.log_text("predicting %d questions (%d windows) from %s with %s" % (
      len(examples), len(features), predict_file, checkpoint))
  dataset = squad_scoring.load_labelled_dataset(predict_file, v2)
  if v2 and threshold is None and dataset is None:
    raise ValueError("--null_score_diff_threshold=auto needs gold answers in --predict_file=%s" % predict_file)
  results, report = _predict_logits(model_fn, runtime, checkpoint, record, options)
  decoded = squad.decode_predictions(
      examples, features, results, options.n_best_size, options.max_answer_length, options.do_lower_case, v2,
      math.inf if threshold is None else threshold, options.verbose_logging)
  metrics = None
  if dataset is not None:
    decoded, metrics = squad_scoring.score_predictions(dataset, decoded, threshold, v2)
  squad.write_prediction_files(decoded, *[os.path.join(output_dir, name) for name in (
      "predictions.json", "nbest_predictions.json", "null_odds.json")])
  if metrics is None:
    return report
  metrics.update(report)
  training.write_results(os.path.join(output_dir, "eval_results.json"), metrics)
  return metrics


# ------------------------------------------------------------------------------------------------- main

def _check_query_length():
  if FLAGS.max_seq_length <= FLAGS.max_query_length + 3:
    raise ValueError("--max_seq_length=%d must be greater than --max_query_length=%d + 3" % (
        FLAGS.max_seq_length, FLAGS.max_query_length))


def _predict_options():
  """The prediction flags as a squad.PredictOptions."""
  return squad.PredictOptions(
      max_seq_length=FLAGS.max_seq_length, doc_stride=FLAGS.doc_stride, max_query_length=FLAGS.max_query_length,
      predict_batch_size=FLAGS.predict_batch_size, n_best_size=FLAGS.n_best_size,
      max_answer_length=FLAGS.max_answer_length, do_lower_case=FLAGS.do_lower_case,
      version_2_with_negative=FLAGS.version_2_with_negative,
      null_score_diff_threshold=squad_scoring.parse_null_threshold(FLAGS.null_score_diff_threshold),
      verbose_logging=FLAGS.verbose_logging)


def _interactive(model_fn, tokenizer, options, session_config):
  """--interactive: answers --question, or each line of stdin, about --context or --context_file."""
  if FLAGS.version_2_with_negative and options.null_score_diff_threshold is None:
    raise ValueError("--interactive needs a numeric --null_score_diff_threshold (or an eval_results.json)")
  if not FLAGS.init_checkpoint:
    raise ValueError("--interactive needs --init_checkpoint (a SQuAD fine-tuned checkpoint)")
  if FLAGS.context_file:
    with open(flags_config.require_file(FLAGS, "context_file"), encoding="utf-8") as f:
      context = f.read()
  elif FLAGS.context is not None:
    context = FLAGS.context
  else:
    raise ValueError("--interactive needs --context or --context_file")
  squad_serving.run_interactive(model_fn, tokenizer, FLAGS.init_checkpoint, context, FLAGS.question,
                                session_config, options)


def _train(model_fn, tokenizer, train_file, runtime):
  """--do_train: windows --train_file into a TFRecord file and fine-tunes on it."""
  # Every worker windows the whole file into its own copy; tfrecord_input_fn gives each a disjoint shard.
  record = os.path.join(FLAGS.output_dir, "train.tf_record" if runtime.size == 1 else
                        "train-rank%d.tf_record" % runtime.rank)
  num_questions, num_windows = squad.write_train_features(
      train_file, FLAGS.version_2_with_negative, tokenizer, FLAGS.max_seq_length, FLAGS.doc_stride,
      FLAGS.max_query_length, record, FLAGS.seed)
  global_batch = FLAGS.train_batch_size * runtime.size * FLAGS.num_accumulation_steps
  num_train_steps = int(num_windows / global_batch * FLAGS.num_train_epochs)
  if num_train_steps < 1:
    raise ValueError("--train_file=%s gives %d windows: fewer than one batch of %d (train_batch_size x "
                     "workers x num_accumulation_steps) in %s epochs" % (
                         train_file, num_windows, global_batch, FLAGS.num_train_epochs))
  num_warmup_steps = int(num_train_steps * FLAGS.warmup_proportion)
  runtime.log_text("training on %d questions (%d windows): %d updates of %d windows, %d warmup, lr %g" % (
      num_questions, num_windows, num_train_steps, global_batch, num_warmup_steps, FLAGS.learning_rate))
  input_fn = training.tfrecord_input_fn([record], squad.name_to_features(FLAGS.max_seq_length, True),
                                        FLAGS.train_batch_size, True, runtime)
  if FLAGS.trim_padding:
    input_fn = training.trimmed_input_fn(input_fn, FLAGS.train_batch_size, bucket=True)
  optimizer = flags_config.optimizer_config_from_flags(FLAGS, num_train_steps, num_warmup_steps)
  result = training.train(model_fn, input_fn, runtime, optimizer, FLAGS.train_batch_size)
  runtime.logger.log((), result)


def _export_triton(model_fn, checkpoint, runtime):
  """--export_triton: the checkpoint as a Triton model under <output_dir>/triton_models."""
  saved_model_dir, config_path = squad_serving.triton_paths(
      os.path.join(FLAGS.output_dir, "triton_models"), FLAGS.triton_model_name, FLAGS.triton_model_version,
      FLAGS.triton_model_overwrite)
  config_text = squad_serving.triton_config(
      FLAGS.triton_model_name, FLAGS.max_seq_length, FLAGS.triton_max_batch_size, FLAGS.triton_dyn_batching_delay,
      FLAGS.triton_engine_count, runtime.has_gpu)
  serving_model = squad_serving.ServingModel(model_fn, FLAGS.max_seq_length, checkpoint, runtime.session_config())
  squad_serving.export_triton(serving_model, saved_model_dir, config_path, config_text)
  runtime.log_text("exported %s to %s and %s" % (checkpoint, saved_model_dir, config_path))


def main(_):
  tf1.disable_eager_execution()
  if not (FLAGS.do_train or FLAGS.do_predict or FLAGS.export_triton or FLAGS.interactive):
    raise ValueError("nothing to do: pass --do_train, --do_predict, --export_triton or --interactive")
  flags_config.require_file(FLAGS, "bert_config_file")
  bert_config = flags_config.bert_config_from_flags(FLAGS)
  tokenizer = tokenization.FullTokenizer(flags_config.require_file(FLAGS, "vocab_file"),
                                         do_lower_case=FLAGS.do_lower_case)
  tokenization.validate_case_matches_checkpoint(FLAGS.do_lower_case, FLAGS.init_checkpoint)
  _check_query_length()
  options = _predict_options()
  if FLAGS.interactive:
    runtime = training.init_runtime(training.RunConfig(output_dir=None, amp=FLAGS.amp))
    _interactive(model_fn_builder(bert_config, runtime.compute_type), tokenizer, options, runtime.session_config())
    return

  flags_config.require_flags(FLAGS, ["output_dir"])
  train_file = flags_config.require_file(FLAGS, "train_file") if FLAGS.do_train else None
  predict_file = flags_config.require_file(FLAGS, "predict_file") if FLAGS.do_predict else None
  runtime = training.init_runtime(flags_config.run_config_from_flags(FLAGS))
  model_fn = model_fn_builder(bert_config, runtime.compute_type)
  flags_config.log_flags(runtime, FLAGS)
  if FLAGS.do_train:
    _train(model_fn, tokenizer, train_file, runtime)
  if runtime.is_chief and (FLAGS.export_triton or FLAGS.do_predict):
    checkpoint = flags_config.checkpoint_to_evaluate(FLAGS)
    if FLAGS.export_triton:
      _export_triton(model_fn, checkpoint, runtime)
    if FLAGS.do_predict:
      metrics = run_predictions(model_fn, runtime, checkpoint, predict_file, tokenizer, options, FLAGS.output_dir)
      runtime.logger.log((), metrics)
      if FLAGS.version_2_with_negative and "best_f1_thresh" in metrics:
        runtime.log_text("best no-answer threshold on %s: %.4f (F1 %.2f); reuse it with "
                         "--null_score_diff_threshold=%s" % (predict_file, metrics["best_f1_thresh"],
                                                             metrics["best_f1"],
                                                             os.path.join(FLAGS.output_dir, "eval_results.json")))
  runtime.logger.close()


if __name__ == "__main__":
  define_flags()
  training.run_main(main)
