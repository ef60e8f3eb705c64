"""Serving a SQuAD fine-tuned checkpoint: the prediction graph on int32 placeholders, its SavedModel and
Triton model repository entry, and answering questions about a passage.
"""
import os
import shutil
import sys
import tempfile

import numpy as np
import tensorflow as tf

from utils import squad
from utils import training

tf1 = tf.compat.v1

SERVING_INPUTS = ("unique_ids", "input_ids", "input_mask", "segment_ids")


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
                     for name in SERVING_INPUTS}
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
      for name in SERVING_INPUTS[1:]:
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


# ----------------------------------------------------------------------------------------------- Triton

def triton_config(model_name, max_seq_length, max_batch_size, dyn_batching_delay_ms, engine_count, gpu):
  """The config.pbtxt text of the exported SavedModel (Triton's tensorflow_savedmodel platform).

  Args:
    model_name: Triton model name.
    max_seq_length: tokens per window.
    max_batch_size: Triton's max_batch_size; the preferred batch sizes are it and its half.
    dyn_batching_delay_ms: dynamic batching queue delay in milliseconds (0: none).
    engine_count: model instances.
    gpu: whether the instances run on GPUs.

  Returns:
    the text.
  """

  def tensor(name, data_type, dims, scalar=False):
    reshape = "\n    reshape: { shape: [ ] }" if scalar else ""
    return '  {\n    name: "%s"\n    data_type: %s\n    dims: [ %d ]%s\n  }' % (name, data_type, dims, reshape)

  inputs = [tensor("unique_ids", "TYPE_INT32", 1, scalar=True)] + [
      tensor(name, "TYPE_INT32", max_seq_length) for name in SERVING_INPUTS[1:]]
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
  """Where a model goes in a Triton model repository.

  Args:
    repository: the model repository folder.
    model_name: Triton model name.
    model_version: Triton model version.
    overwrite: whether existing files may be replaced.

  Returns:
    (<repository>/<model_name>/<model_version>/model.savedmodel, <repository>/<model_name>/config.pbtxt).

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


# ------------------------------------------------------------------------------------------ interactive

def answer_questions(serving_model, tokenizer, context, questions, options):
  """Answers questions about one passage.

  Args:
    serving_model: ServingModel.
    tokenizer: tokenization.FullTokenizer.
    context: the passage.
    questions: list of question strings.
    options: squad.PredictOptions (with a numeric null_score_diff_threshold for SQuAD 2.0).

  Returns:
    list of (answer text, probability among the n-best candidates); "" means no answer (SQuAD 2.0).
  """
  examples = squad.question_examples(context, questions)
  features = []
  squad.convert_examples_to_features(examples, tokenizer, options.max_seq_length, options.doc_stride,
                                     options.max_query_length, False, features.append)
  results = serving_model.predict(features, options.predict_batch_size)
  decoded = squad.decode_predictions(
      examples, features, results, options.n_best_size, options.max_answer_length, options.do_lower_case,
      options.version_2_with_negative, options.null_score_diff_threshold, options.verbose_logging)
  return [(text, next((c["probability"] for c in decoded.nbest[qid] if c["text"] == text), 0.0))
          for qid, text in decoded.predictions.items()]


def run_interactive(model_fn, tokenizer, checkpoint, context, question, session_config, options):
  """Prints the answer to `question`, or to each line of stdin when `question` is None.

  Args:
    model_fn: the SQuAD model_fn.
    tokenizer: tokenization.FullTokenizer.
    checkpoint: SQuAD fine-tuned checkpoint (prefix or directory).
    context: the passage.
    question: the question, or None.
    session_config: tf.compat.v1.ConfigProto.
    options: squad.PredictOptions.
  """
  if not context.strip():
    raise ValueError("--context (or --context_file) is empty")
  if question is not None and not question.strip():
    raise ValueError("--question is empty")
  model = ServingModel(model_fn, options.max_seq_length, checkpoint, session_config)

  def show(q):
    (text, probability), = answer_questions(model, tokenizer, context, [q], options)
    print("Question: %s\nAnswer: %s (probability %.3f)" % (q, text or "(no answer)", probability), flush=True)

  if question is not None:
    show(question)
    return
  if sys.stdin.isatty():
    print("Type a question about the passage per line (Ctrl-D to quit).", flush=True)
  for line in sys.stdin:
    if line.strip():
      show(line.strip())
