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

import json
import os
import random
import shutil
import sys
import tempfile
import time

from absl import flags
import numpy as np
import tensorflow as tf

import modeling
import tokenization
from utils import evaluate_squad_v1
from utils import evaluate_squad_v2
from utils import squad
from utils import training

tf1 = tf.compat.v1
FLAGS = flags.FLAGS

flags.DEFINE_string("bert_config_file", None, "bert_config.json of the pretrained model.")
flags.DEFINE_string("vocab_file", None, "WordPiece vocabulary of the pretrained model.")
flags.DEFINE_string("output_dir", None, "Where checkpoints, predictions and logs go; training resumes from it.")
flags.DEFINE_string("train_file", None, "SQuAD json for training, e.g. train-v1.1.json.")
flags.DEFINE_string("predict_file", None, "SQuAD json to predict, e.g. dev-v1.1.json (scored if it has answers).")
flags.DEFINE_string("init_checkpoint", None,
                    "Checkpoint (prefix or directory) to start training from, or to predict / export / answer with.")
flags.DEFINE_bool("do_lower_case", True, "Lower-case the input (True for uncased models).")
flags.DEFINE_integer("max_seq_length", 384, "Tokens per window: [CLS] question [SEP] passage [SEP].")
flags.DEFINE_integer("doc_stride", 128, "Distance in tokens between the starts of a passage's windows.")
flags.DEFINE_integer("max_query_length", 64, "Questions are truncated to this many tokens.")
flags.DEFINE_bool("do_train", False, "Fine-tune on --train_file.")
flags.DEFINE_bool("do_predict", False, "Predict answers for --predict_file.")
flags.DEFINE_integer("train_batch_size", 8, "Micro-batch size per worker.")
flags.DEFINE_integer("predict_batch_size", 8, "Prediction batch size.")
flags.DEFINE_float("learning_rate", 5e-6, "Peak Adam learning rate (used as given: never scaled by worker count).")
flags.DEFINE_float("num_train_epochs", 2.0, "Passes over the training windows.")
flags.DEFINE_float("warmup_proportion", 0.1, "Fraction of the updates with linear learning-rate warmup.")
flags.DEFINE_bool("trim_padding", True, "Training: batch windows of similar length together and cut each batch "
                  "to its longest real window (dynamic padding); off for fixed shapes (e.g. with --use_xla).")
flags.DEFINE_integer("num_accumulation_steps", 1, "Micro-batches accumulated into one optimizer update.")
flags.DEFINE_integer("n_best_size", 20, "Candidate answers kept per question (nbest_predictions.json).")
flags.DEFINE_integer("max_answer_length", 30, "Longest answer in WordPiece tokens.")
flags.DEFINE_bool("verbose_logging", False, "Log answers that cannot be mapped back onto the passage.")
flags.DEFINE_bool("version_2_with_negative", False, "SQuAD 2.0: questions may have no answer.")
flags.DEFINE_string("null_score_diff_threshold", "0.0",
                    "SQuAD 2.0 no-answer threshold: a number, 'auto' (best F1 on the labelled predict file) "
                    "or the eval_results.json of an earlier run (reuses its best_f1_thresh).")
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
training.define_run_flags()

_SERVING_INPUTS = ("unique_ids", "input_ids", "input_mask", "segment_ids")


# ------------------------------------------------------------------------------------------------ model

def create_model(bert_config, is_training, input_ids, input_mask, segment_ids):
  """BERT with the SQuAD span head: one start and one end logit per token.

  Returns:
    (start_logits, end_logits), float32 Tensors of shape [B, S].
  """
  model = modeling.BertModel(config=bert_config, is_training=is_training, input_ids=input_ids,
                             input_mask=input_mask, token_type_ids=segment_ids)
  sequence_output = model.get_sequence_output()                               # [B, S, D]
  seq_length, hidden_size = modeling.get_shape_list(sequence_output, expected_rank=3)[1:]
  output_weights = tf1.get_variable(
      "cls/squad/output_weights", [2, hidden_size],
      initializer=modeling.create_initializer(bert_config.initializer_range))
  output_bias = tf1.get_variable("cls/squad/output_bias", [2], initializer=tf1.zeros_initializer())
  hidden = tf.reshape(sequence_output, [-1, hidden_size])                     # [B*S, D]
  logits = tf.matmul(hidden, tf.cast(output_weights, hidden.dtype), transpose_b=True)
  logits = tf.nn.bias_add(logits, tf.cast(output_bias, hidden.dtype))
  logits = tf.reshape(tf.cast(logits, tf.float32), [-1, seq_length, 2])      # [B, S, 2]
  start_logits, end_logits = tf.unstack(logits, axis=2)
  return start_logits, end_logits


def model_fn_builder(bert_config):
  """Returns the SQuAD model_fn: the loss is the mean of the start and end position cross-entropies."""

  def model_fn(features, mode):
    start_logits, end_logits = create_model(
        bert_config, mode == training.TRAIN, features["input_ids"], features["input_mask"],
        features["segment_ids"])
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


class ServingModel(object):
  """The prediction graph fed by int32 placeholders, restored from a fine-tuned checkpoint.

  Used to export the SavedModel and to answer questions interactively.
  """

  def __init__(self, model_fn, max_seq_length, checkpoint, session_config):
    checkpoint = training.resolve_checkpoint(checkpoint)
    self.graph = tf.Graph()
    with self.graph.as_default():
      self.inputs = {name: tf1.placeholder(tf.int32, [None] if name == "unique_ids" else
                                           [None, max_seq_length], name=name)
                     for name in _SERVING_INPUTS}
      self.outputs = model_fn(dict(self.inputs), training.PREDICT).predictions
      available = dict(tf.train.list_variables(checkpoint))
      missing = [v.op.name for v in tf1.global_variables() if v.op.name not in available]
      if missing:
        raise ValueError("checkpoint %s lacks %s (and %d more variables): it is not a SQuAD fine-tuned "
                         "checkpoint; fine-tune with --do_train first" %
                         (checkpoint, missing[0], len(missing) - 1))
      self.session = tf1.Session(config=session_config)
      tf1.train.Saver().restore(self.session, checkpoint)
    self.checkpoint = checkpoint

  def predict(self, features, batch_size):
    """Runs the model over `InputFeatures`; returns a list of `squad.RawResult`."""
    results = []
    for i in range(0, len(features), batch_size):
      batch = features[i:i + batch_size]
      feed = {self.inputs["unique_ids"]: np.array([f.unique_id for f in batch], np.int32)}
      for name in _SERVING_INPUTS[1:]:
        feed[self.inputs[name]] = np.array([getattr(f, name) for f in batch], np.int32)
      out = self.session.run(self.outputs, feed)
      results.extend(squad.RawResult(int(u), s.tolist(), e.tolist())
                     for u, s, e in zip(out["unique_ids"], out["start_logits"], out["end_logits"]))
    return results

  def save(self, export_dir):
    """Writes a SavedModel with the "serving_default" signature to `export_dir` (must not exist)."""
    with self.graph.as_default():
      signature = tf1.saved_model.predict_signature_def(inputs=self.inputs, outputs=self.outputs)
      builder = tf1.saved_model.Builder(export_dir)
      builder.add_meta_graph_and_variables(
          self.session, [tf1.saved_model.SERVING],
          signature_def_map={tf1.saved_model.DEFAULT_SERVING_SIGNATURE_DEF_KEY: signature})
      builder.save()


# ----------------------------------------------------------------------------------------------- export

def triton_config(model_name, max_seq_length, max_batch_size, dyn_batching_delay_ms, engine_count, gpu):
  """The config.pbtxt text of the exported SavedModel (Triton's tensorflow_savedmodel platform)."""

  def tensor(name, data_type, dims, scalar=False):
    reshape = "\n    reshape: { shape: [ ] }" if scalar else ""
    return '  {\n    name: "%s"\n    data_type: %s\n    dims: [ %d ]%s\n  }' % (name, data_type, dims, reshape)

  inputs = [tensor("unique_ids", "TYPE_INT32", 1, scalar=True)] + [
      tensor(name, "TYPE_INT32", max_seq_length) for name in _SERVING_INPUTS[1:]]
  outputs = [tensor("unique_ids", "TYPE_INT32", 1, scalar=True), tensor("start_logits", "TYPE_FP32", max_seq_length),
             tensor("end_logits", "TYPE_FP32", max_seq_length)]
  preferred = sorted({max(1, max_batch_size // 2), max_batch_size})
  delay = ("\n  max_queue_delay_microseconds: %d" % int(dyn_batching_delay_ms * 1000)
           if dyn_batching_delay_ms > 0 else "")
  return "\n".join([
      'name: "%s"' % model_name,
      'platform: "tensorflow_savedmodel"',
      "max_batch_size: %d" % max_batch_size,
      "input [\n%s\n]" % ",\n".join(inputs),
      "output [\n%s\n]" % ",\n".join(outputs),
      "dynamic_batching {\n  preferred_batch_size: [ %s ]%s\n}" % (", ".join(map(str, preferred)), delay),
      "instance_group [\n  {\n    count: %d\n    kind: %s\n  }\n]" % (engine_count,
                                                                    "KIND_GPU" if gpu else "KIND_CPU"),
  ]) + "\n"


def triton_paths(repository, model_name, model_version, overwrite):
  """(<repository>/<model_name>/<model_version>/model.savedmodel, <repository>/<model_name>/config.pbtxt).

  Raises:
    ValueError: when one exists and `overwrite` is False.
  """
  model_dir = os.path.join(repository, model_name)
  paths = os.path.join(model_dir, str(model_version), "model.savedmodel"), os.path.join(model_dir, "config.pbtxt")
  for path in paths:
    if os.path.exists(path) and not overwrite:
      raise ValueError("%s already exists; pass --triton_model_overwrite to replace it" % path)
  return paths


def export_triton(serving_model, saved_model_dir, config_path, config_text):
  """Writes the SavedModel and its Triton config (see `triton_paths`) under temporary names, then moves them
  into place."""
  version_dir = os.path.dirname(saved_model_dir)
  os.makedirs(version_dir, exist_ok=True)
  staging = tempfile.mkdtemp(prefix=".model.savedmodel.", dir=version_dir)
  try:
    serving_model.save(os.path.join(staging, "model.savedmodel"))
    if os.path.exists(saved_model_dir):
      shutil.rmtree(saved_model_dir)
    os.replace(os.path.join(staging, "model.savedmodel"), saved_model_dir)
  finally:
    shutil.rmtree(staging, ignore_errors=True)
  with open(config_path + ".tmp", "w") as f:
    f.write(config_text)
  os.replace(config_path + ".tmp", config_path)


# ------------------------------------------------------------------------------------------------ data

def write_train_features(train_file, version_2_with_negative, tokenizer, max_seq_length, doc_stride,
                         max_query_length, output_file, seed):
  """Reads, shuffles and windows the training questions into a TFRecord file.

  Returns:
    (number of questions, number of windows).
  """
  examples = squad.read_squad_examples(train_file, True, version_2_with_negative)
  random.Random(seed).shuffle(examples)
  writer = squad.FeatureWriter(output_file, is_training=True)
  squad.convert_examples_to_features(examples, tokenizer, max_seq_length, doc_stride, max_query_length,
                                     True, writer.process_feature)
  writer.close()
  return len(examples), writer.num_features


def predict_features(predict_file, version_2_with_negative, tokenizer, max_seq_length, doc_stride,
                     max_query_length, output_file):
  """Reads and windows the questions to predict; writes the windows to a TFRecord file too.

  Returns:
    (list of SquadExample, list of InputFeatures).
  """
  examples = squad.read_squad_examples(predict_file, False, version_2_with_negative)
  features = []
  writer = squad.FeatureWriter(output_file, is_training=False)

  def add(feature):
    features.append(feature)
    writer.process_feature(feature)

  squad.convert_examples_to_features(examples, tokenizer, max_seq_length, doc_stride, max_query_length,
                                     False, add)
  writer.close()
  return examples, features


# ------------------------------------------------------------------------------------- scoring, threshold

def parse_null_threshold(value):
  """--null_score_diff_threshold as a float, or None for "auto" (see the module docstring)."""
  if value == "auto":
    return None
  try:
    return float(value)
  except ValueError:
    pass
  if not os.path.isfile(value):
    raise ValueError("--null_score_diff_threshold=%s: expected a number, 'auto' or an eval_results.json "
                     "file" % value)
  try:
    with open(value) as f:
      return float(json.load(f)["best_f1_thresh"])
  except (ValueError, KeyError, TypeError) as e:
    raise ValueError("--null_score_diff_threshold=%s: no best_f1_thresh in this file (%r); use the "
                     "eval_results.json of a --version_2_with_negative --do_predict run" % (value, e)) from None


def load_labelled_dataset(predict_file, version_2_with_negative):
  """The "data" list of a SQuAD json when some question has a gold answer (or is marked impossible),
  else None.

  Raises:
    ValueError: naming a question without answers in a labelled SQuAD 1.1 file (a SQuAD 2.0 file read
      without --version_2_with_negative).
  """
  with tf.io.gfile.GFile(predict_file) as f:
    data = json.load(f)["data"]
  qas = [qa for article in data for paragraph in article["paragraphs"] for qa in paragraph["qas"]]
  if not any(qa["answers"] or qa.get("is_impossible") for qa in qas):
    return None
  unanswered = [qa["id"] for qa in qas if not qa["answers"]]
  if unanswered and not version_2_with_negative:
    raise ValueError("--predict_file=%s, question id %s: no gold answer (and %d more such questions); for "
                     "SQuAD 2.0 data pass --version_2_with_negative" % (
                         predict_file, unanswered[0], len(unanswered) - 1))
  return data


def score(dataset, predictions, null_odds, version_2_with_negative):
  """Official metrics: v1.1 exact_match / f1; v2.0 exact / f1 / HasAns / NoAns and, with null_odds,
  best_exact / best_f1 and their thresholds."""
  if version_2_with_negative:
    return dict(evaluate_squad_v2.evaluate_v2(dataset, predictions, null_odds))
  return evaluate_squad_v1.evaluate(dataset, predictions)


def _write_json(obj, path):
  with open(path + ".tmp", "w") as f:
    json.dump(obj, f, indent=2)
  os.replace(path + ".tmp", path)


def run_predictions(model_fn, runtime, checkpoint, predict_file, tokenizer, args):
  """Predicts `predict_file`, writes the prediction files and, when it is labelled, scores them.

  Args:
    model_fn: the SQuAD model_fn.
    runtime: `training.Runtime`.
    checkpoint: checkpoint to predict with.
    predict_file: SQuAD json.
    tokenizer: tokenization.FullTokenizer.
    args: dict of the prediction flags (max_seq_length, doc_stride, max_query_length, predict_batch_size,
      n_best_size, max_answer_length, do_lower_case, version_2_with_negative, null_score_diff_threshold
      (float or None for "auto"), verbose_logging, output_dir).

  Returns:
    dict with the number of windows, the prediction throughput (sentences/sec after the first batch) and,
    for a labelled file, the official metrics (also written to <output_dir>/eval_results.json).
  """
  out = args["output_dir"]
  v2 = args["version_2_with_negative"]
  examples, features = predict_features(
      predict_file, v2, tokenizer, args["max_seq_length"], args["doc_stride"], args["max_query_length"],
      os.path.join(out, "eval.tf_record"))
  if not examples:
    raise ValueError("--predict_file=%s holds no questions" % predict_file)
  runtime.log_text("predicting %d questions (%d windows) from %s with %s" % (
      len(examples), len(features), predict_file, checkpoint))
  dataset = load_labelled_dataset(predict_file, v2)
  threshold = args["null_score_diff_threshold"]
  if v2 and threshold is None and dataset is None:
    raise ValueError("--null_score_diff_threshold=auto needs gold answers in --predict_file=%s" % predict_file)

  input_fn = training.tfrecord_input_fn([os.path.join(out, "eval.tf_record")],
                                        squad.name_to_features(args["max_seq_length"], False),
                                        args["predict_batch_size"], False, runtime)
  results, t_first = [], None
  for prediction in training.predict(model_fn, input_fn, runtime, checkpoint):
    if t_first is None:
      t_first = time.time()
    results.append(squad.RawResult(int(prediction["unique_ids"]), prediction["start_logits"].tolist(),
                                   prediction["end_logits"].tolist()))
  elapsed = time.time() - t_first
  timed = len(results) - min(len(results), args["predict_batch_size"])   # the first batch is warm-up
  report = {"predict_windows": len(results)}
  if timed and elapsed > 0:
    report["throughput_predict"] = timed / elapsed

  paths = [os.path.join(out, name) for name in
           ("predictions.json", "nbest_predictions.json", "null_odds.json")]

  def decode(threshold):
    return squad.write_predictions(examples, features, results, args["n_best_size"], args["max_answer_length"],
                                   args["do_lower_case"], *paths, v2, threshold, args["verbose_logging"])

  null_odds, best = None, {}
  if v2 and dataset is not None:
    # The best thresholds come from the sweep over predictions that all answer (threshold +inf): a question
    # already blanked by a finite threshold would count as a wrong answer at every threshold.
    answered = decode(float("inf"))
    with open(paths[2]) as f:
      null_odds = json.load(f)
    tuned = score(dataset, answered, null_odds, True)
    best = {k: tuned[k] for k in ("best_exact", "best_exact_thresh", "best_f1", "best_f1_thresh")}
    if threshold is None:
      threshold = best["best_f1_thresh"]
  predictions = decode(threshold)
  if dataset is None:
    return report
  # Scored as written: the official script would also blank answers whose null odds exceed 1.0 (its default
  # --na-prob-thresh, meant for probabilities).
  metrics = score(dataset, predictions, None, v2)
  if v2:
    metrics.update(best)
    metrics["null_score_diff_threshold"] = threshold
  metrics.update(report)
  _write_json(metrics, os.path.join(out, "eval_results.json"))
  return metrics


# ------------------------------------------------------------------------------------------ interactive

def answer_questions(serving_model, tokenizer, context, questions, args):
  """Answers `questions` about `context`.

  Returns:
    list of (answer text, probability among the n-best candidates); "" means no answer (SQuAD 2.0).
  """
  with tempfile.TemporaryDirectory() as tmp:
    qas = [{"id": "q%d" % i, "question": q, "answers": []} for i, q in enumerate(questions)]
    input_file = os.path.join(tmp, "input.json")
    _write_json({"version": "interactive", "data": [{"title": "interactive", "paragraphs": [
        {"context": context, "qas": qas}]}]}, input_file)
    examples = squad.read_squad_examples(input_file, False, args["version_2_with_negative"])
    features = []
    squad.convert_examples_to_features(examples, tokenizer, args["max_seq_length"], args["doc_stride"],
                                       args["max_query_length"], False, features.append)
    results = serving_model.predict(features, args["predict_batch_size"])
    paths = [os.path.join(tmp, n) for n in ("predictions.json", "nbest.json", "null_odds.json")]
    predictions = squad.write_predictions(
        examples, features, results, args["n_best_size"], args["max_answer_length"], args["do_lower_case"],
        *paths, args["version_2_with_negative"], args["null_score_diff_threshold"], args["verbose_logging"])
    with open(paths[1]) as f:
      nbest = json.load(f)
  answers = []
  for qa in qas:
    text = predictions[qa["id"]]
    answers.append((text, next((c["probability"] for c in nbest[qa["id"]] if c["text"] == text), 0.0)))
  return answers


def run_interactive(model_fn, tokenizer, checkpoint, context, question, session_config, args):
  """Prints the answer to `question`, or to each line of stdin when `question` is None."""
  if not context.strip():
    raise ValueError("--context (or --context_file) is empty")
  model = ServingModel(model_fn, args["max_seq_length"], checkpoint, session_config)

  def show(q):
    (text, probability), = answer_questions(model, tokenizer, context, [q], args)
    print("Question: %s\nAnswer: %s (probability %.3f)" % (q, text or "(no answer)", probability), flush=True)

  if question is not None:
    show(question)
    return
  if sys.stdin.isatty():
    print("Type a question about the passage per line (Ctrl-D to quit).", flush=True)
  for line in sys.stdin:
    if line.strip():
      show(line.strip())


# ------------------------------------------------------------------------------------------------- main

def _require_file(flag):
  value = getattr(FLAGS, flag)
  if not value:
    raise ValueError("--%s is required" % flag)
  if not tf.io.gfile.exists(value):
    raise ValueError("--%s=%s: no such file" % (flag, value))
  return value


def main(_):
  tf1.disable_eager_execution()
  if not (FLAGS.do_train or FLAGS.do_predict or FLAGS.export_triton or FLAGS.interactive):
    raise ValueError("nothing to do: pass --do_train, --do_predict, --export_triton or --interactive")
  bert_config = modeling.BertConfig.from_json_file(_require_file("bert_config_file"))
  tokenizer = tokenization.FullTokenizer(_require_file("vocab_file"), do_lower_case=FLAGS.do_lower_case)
  tokenization.validate_case_matches_checkpoint(FLAGS.do_lower_case, FLAGS.init_checkpoint)
  if FLAGS.max_seq_length > bert_config.max_position_embeddings:
    raise ValueError("--max_seq_length=%d exceeds max_position_embeddings=%d of %s" % (
        FLAGS.max_seq_length, bert_config.max_position_embeddings, FLAGS.bert_config_file))
  if FLAGS.max_seq_length <= FLAGS.max_query_length + 3:
    raise ValueError("--max_seq_length=%d must be greater than --max_query_length=%d + 3" % (
        FLAGS.max_seq_length, FLAGS.max_query_length))
  threshold = parse_null_threshold(FLAGS.null_score_diff_threshold)
  model_fn = model_fn_builder(bert_config)
  args = {name: getattr(FLAGS, name) for name in (
      "max_seq_length", "doc_stride", "max_query_length", "predict_batch_size", "n_best_size",
      "max_answer_length", "do_lower_case", "version_2_with_negative", "verbose_logging", "output_dir")}
  args["null_score_diff_threshold"] = threshold

  if FLAGS.interactive:
    if FLAGS.version_2_with_negative and threshold is None:
      raise ValueError("--interactive needs a numeric --null_score_diff_threshold (or an eval_results.json)")
    if not FLAGS.init_checkpoint:
      raise ValueError("--interactive needs --init_checkpoint (a SQuAD fine-tuned checkpoint)")
    if FLAGS.context_file:
      with open(_require_file("context_file"), encoding="utf-8") as f:
        context = f.read()
    elif FLAGS.context is not None:
      context = FLAGS.context
    else:
      raise ValueError("--interactive needs --context or --context_file")
    run_interactive(model_fn, tokenizer, FLAGS.init_checkpoint, context, FLAGS.question,
                    tf1.ConfigProto(allow_soft_placement=True), args)
    return

  if not FLAGS.output_dir:
    raise ValueError("--output_dir is required")
  train_file = _require_file("train_file") if FLAGS.do_train else None
  predict_file = _require_file("predict_file") if FLAGS.do_predict else None
  run_config = training.run_config_from_flags(FLAGS)
  runtime = training.init_runtime(run_config)
  os.makedirs(FLAGS.output_dir, exist_ok=True)
  training.log_flags(runtime, FLAGS)

  if FLAGS.do_train:
    # Every worker windows the whole file into its own copy; tfrecord_input_fn gives each a disjoint shard.
    record = os.path.join(FLAGS.output_dir, "train.tf_record" if runtime.size == 1 else
                          "train-rank%d.tf_record" % runtime.rank)
    num_questions, num_windows = write_train_features(
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
      input_fn = training.trimmed_input_fn(input_fn, FLAGS.train_batch_size, True)
    optimizer = training.OptimizerConfig(
        learning_rate=FLAGS.learning_rate, num_train_steps=num_train_steps, num_warmup_steps=num_warmup_steps,
        optimizer_type="adam", num_accumulation_steps=FLAGS.num_accumulation_steps)
    result = training.train(model_fn, input_fn, run_config, runtime, optimizer, FLAGS.train_batch_size)
    runtime.logger.log((), result)

  if runtime.is_chief and (FLAGS.export_triton or FLAGS.do_predict):
    checkpoint = (training.latest_checkpoint(FLAGS.output_dir) if FLAGS.do_train
                  else FLAGS.init_checkpoint or training.latest_checkpoint(FLAGS.output_dir))
    if FLAGS.export_triton:
      saved_model_dir, config_path = triton_paths(
          os.path.join(FLAGS.output_dir, "triton_models"), FLAGS.triton_model_name, FLAGS.triton_model_version,
          FLAGS.triton_model_overwrite)
      config_text = triton_config(FLAGS.triton_model_name, FLAGS.max_seq_length, FLAGS.triton_max_batch_size,
                                  FLAGS.triton_dyn_batching_delay, FLAGS.triton_engine_count, runtime.has_gpu)
      export_triton(ServingModel(model_fn, FLAGS.max_seq_length, checkpoint, runtime.session_config()),
                    saved_model_dir, config_path, config_text)
      runtime.log_text("exported %s to %s and %s" % (checkpoint, saved_model_dir, config_path))
    if FLAGS.do_predict:
      metrics = run_predictions(model_fn, runtime, checkpoint, predict_file, tokenizer, args)
      runtime.logger.log((), metrics)
      if FLAGS.version_2_with_negative and "best_f1_thresh" in metrics:
        runtime.log_text("best no-answer threshold on %s: %.4f (F1 %.2f); reuse it with "
                         "--null_score_diff_threshold=%s" % (predict_file, metrics["best_f1_thresh"],
                                                             metrics["best_f1"],
                                                             os.path.join(FLAGS.output_dir, "eval_results.json")))
  runtime.logger.close()


if __name__ == "__main__":
  training.run_main(main)
