"""Converts BERT checkpoints between Hugging Face and Google (TF1) layouts, both ways.

  python utils/convert_checkpoint.py --direction=hf_to_tf --input_dir=HF_DIR --output_dir=TF_DIR
  python utils/convert_checkpoint.py --direction=tf_to_hf --input_dir=TF_DIR --output_dir=HF_DIR

A Hugging Face directory holds `config.json`, `model.safetensors` (or `pytorch_model.bin`, read only when torch
is installed) and `vocab.txt`. A Google directory holds `bert_config.json`, `vocab.txt` and
`bert_model.ckpt.{index,data-*}`. The masked-LM and next-sentence heads are converted when present. Dense
kernels are transposed (PyTorch stores [out, in], Google [in, out]). Optimizer slots and training state in a
TF checkpoint are left out. Every problem (a missing file, an unknown tensor, a wrong shape) is an error that
names it.
"""

import json
import os
import re
import shutil
import sys
import tempfile

import numpy as np

if __package__ in (None, ""):
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import modeling  # noqa: E402
from utils import safetensors_io  # noqa: E402

TF_CHECKPOINT_NAME = "bert_model.ckpt"
# Hugging Face names for the activations our BertConfig knows.
_HF_TO_TF_ACT = {"gelu": "gelu", "gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh",
                 "relu": "relu", "tanh": "tanh", "linear": "linear"}
_TF_TO_HF_ACT = {"gelu": "gelu", "gelu_tanh": "gelu_new", "relu": "relu", "tanh": "tanh",
                 "linear": "linear"}
# HF per-layer module path -> Google's per-layer scope.
_LAYER_MODULES = {
    "attention.self.query": "attention/self/query",
    "attention.self.key": "attention/self/key",
    "attention.self.value": "attention/self/value",
    "attention.output.dense": "attention/output/dense",
    "attention.output.LayerNorm": "attention/output/LayerNorm",
    "intermediate.dense": "intermediate/dense",
    "output.dense": "output/dense",
    "output.LayerNorm": "output/LayerNorm",
}
_TOP_MODULES = {
    "embeddings.word_embeddings": "bert/embeddings/word_embeddings",
    "embeddings.position_embeddings": "bert/embeddings/position_embeddings",
    "embeddings.token_type_embeddings": "bert/embeddings/token_type_embeddings",
    "embeddings.LayerNorm": "bert/embeddings/LayerNorm",
    "pooler.dense": "bert/pooler/dense",
    "cls.predictions.transform.dense": "cls/predictions/transform/dense",
    "cls.predictions.transform.LayerNorm": "cls/predictions/transform/LayerNorm",
}
# Buffers Hugging Face saves that carry no weights.
_HF_BUFFERS = ("embeddings.position_ids",)
# Names in a TF checkpoint that are training state, not model weights.
_TF_TRAINING_STATE = re.compile(
    r"(^|/)(global_step|loss_scale|good_steps|local_step|step)$|/(adam|lamb)_[mv]$|/accum_grad$|"
    r"/(Adam|LAMB|Momentum)(_\d+)?$")


# ------------------------------------------------------------------------------------------ names

def hf_to_tf_name(hf_name):
  """Maps a Hugging Face tensor name to (Google variable name, transpose?).

  Returns:
    (tf_name, transpose), or None for a buffer with no weights.

  Raises:
    ValueError: naming the tensor, if it is not part of a BERT model.
  """
  name = hf_name[len("bert."):] if hf_name.startswith("bert.") else hf_name
  if name in _HF_BUFFERS:
    return None
  if name in ("cls.predictions.bias", "cls.predictions.decoder.bias"):
    return "cls/predictions/output_bias", False
  if name == "cls.seq_relationship.weight":
    return "cls/seq_relationship/output_weights", False   # both layouts are [2, D]
  if name == "cls.seq_relationship.bias":
    return "cls/seq_relationship/output_bias", False
  module, _, leaf = name.rpartition(".")
  m = re.match(r"^encoder\.layer\.(\d+)\.(.+)$", module)
  if m and m.group(2) in _LAYER_MODULES:
    scope = "bert/encoder/layer_%s/%s" % (m.group(1), _LAYER_MODULES[m.group(2)])
  elif module in _TOP_MODULES:
    scope = _TOP_MODULES[module]
  else:
    raise ValueError("unknown Hugging Face tensor '%s': not part of a BERT model" % hf_name)
  if scope.endswith("LayerNorm"):
    leaves = {"weight": "gamma", "gamma": "gamma", "bias": "beta", "beta": "beta"}
    if leaf in leaves:
      return "%s/%s" % (scope, leaves[leaf]), False
  elif scope.endswith("_embeddings"):
    if leaf == "weight":
      return scope, False
  elif leaf in ("weight", "bias"):
    return "%s/%s" % (scope, "kernel" if leaf == "weight" else "bias"), leaf == "weight"
  raise ValueError("unknown Hugging Face tensor '%s': not part of a BERT model" % hf_name)


def tf_to_hf_name(tf_name, prefix):
  """Maps a Google variable name to (Hugging Face name, transpose?); the inverse of `hf_to_tf_name`.

  Raises:
    ValueError: naming the variable, if it is not part of a BERT model.
  """
  if tf_name == "cls/predictions/output_bias":
    return "cls.predictions.bias", False
  if tf_name == "cls/seq_relationship/output_weights":
    return "cls.seq_relationship.weight", False
  if tf_name == "cls/seq_relationship/output_bias":
    return "cls.seq_relationship.bias", False
  scope, _, leaf = tf_name.rpartition("/")
  module = None
  m = re.match(r"^bert/encoder/layer_(\d+)/(.+)$", scope)
  if m:
    inverse = {v: k for k, v in _LAYER_MODULES.items()}
    if m.group(2) in inverse:
      module = "encoder.layer.%s.%s" % (m.group(1), inverse[m.group(2)])
  else:
    inverse = {v: k for k, v in _TOP_MODULES.items()}
    if tf_name in inverse and tf_name.endswith("_embeddings"):
      module, leaf = inverse[tf_name], "embedding"
    elif scope in inverse:
      module = inverse[scope]
  leaves = {"gamma": "weight", "beta": "bias", "kernel": "weight", "bias": "bias", "embedding": "weight"}
  if module is None or leaf not in leaves:
    raise ValueError("unknown TF variable '%s': not part of a BERT model" % tf_name)
  name = "%s.%s" % (module, leaves[leaf])
  if not module.startswith("cls."):
    name = prefix + name
  return name, leaf == "kernel"


# ----------------------------------------------------------------------------------------- configs

def _read_json(path):
  """The JSON object in `path`; a ValueError names the file when it is not valid JSON or not an object."""
  with open(path, encoding="utf-8") as f:
    try:
      value = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
      raise ValueError("%s is not valid JSON: %s" % (path, e)) from None
  if not isinstance(value, dict):
    raise ValueError("%s: expected a JSON object, got %s" % (path, type(value).__name__))
  return value


def hf_config_to_bert_config(hf_config, source):
  """Builds a `modeling.BertConfig` from a Hugging Face config dict; errors name `source`."""
  if hf_config.get("model_type", "bert") != "bert":
    raise ValueError("%s: model_type %r is not 'bert'" % (source, hf_config.get("model_type")))
  if hf_config.get("position_embedding_type", "absolute") != "absolute":
    raise ValueError("%s: position_embedding_type %r is not supported (only 'absolute')" %
                     (source, hf_config["position_embedding_type"]))
  eps = hf_config.get("layer_norm_eps", modeling.LAYER_NORM_EPSILON)
  if abs(eps - modeling.LAYER_NORM_EPSILON) > 1e-15:
    raise ValueError("%s: layer_norm_eps %g differs from BERT's %g" %
                     (source, eps, modeling.LAYER_NORM_EPSILON))
  act = hf_config.get("hidden_act", "gelu")
  if act not in _HF_TO_TF_ACT:
    raise ValueError("%s: hidden_act %r has no equivalent here (known: %s)" %
                     (source, act, ", ".join(sorted(_HF_TO_TF_ACT))))
  values = {}
  for key in modeling.BertConfig.FIELDS:
    if key not in hf_config:
      raise ValueError("%s: missing key '%s'" % (source, key))
    values[key] = hf_config[key]
  values["hidden_act"] = _HF_TO_TF_ACT[act]
  return modeling.BertConfig.from_dict(values, source=source)


def bert_config_to_hf_config(config, with_heads):
  """Builds a Hugging Face `config.json` dict from a `modeling.BertConfig`."""
  hf = dict(config.to_dict())
  hf["hidden_act"] = _TF_TO_HF_ACT[config.hidden_act.lower()]
  hf.update({
      "architectures": ["BertForPreTraining" if with_heads else "BertModel"],
      "model_type": "bert",
      "layer_norm_eps": modeling.LAYER_NORM_EPSILON,
      "position_embedding_type": "absolute",
      "pad_token_id": 0,
  })
  return hf


def expected_variable_shapes(config, with_heads):
  """Returns {variable name: shape} of the graph `modeling` builds for `config` (heads optional)."""
  import tensorflow as tf
  tf1 = tf.compat.v1
  with tf.Graph().as_default():
    ids = tf1.placeholder(tf.int32, [1, 2])
    model = modeling.BertModel(config, False, ids)
    if with_heads:
      modeling.get_masked_lm_output(config, model.get_sequence_output(), model.get_embedding_table(),
                                    tf.zeros([1, 1], tf.int32), tf.zeros([1, 1], tf.int32),
                                    tf.ones([1, 1]))
      modeling.get_next_sentence_output(config, model.get_pooled_output(), tf.zeros([1], tf.int32))
    return {v.op.name: tuple(v.shape.as_list()) for v in tf1.global_variables()}


def _check_shapes(tensors, config, source):
  """Checks that `tensors` are exactly the variables of a model for `config` (heads all or none)."""
  head_names = [n for n in tensors if n.startswith("cls/")]
  expected = expected_variable_shapes(config, with_heads=bool(head_names))
  for name, array in sorted(tensors.items()):
    if name not in expected:
      raise ValueError("%s: tensor '%s' is not a variable of this BERT config" % (source, name))
    if tuple(array.shape) != expected[name]:
      raise ValueError("%s: tensor '%s' has shape %s, the config expects %s" %
                       (source, name, tuple(array.shape), expected[name]))
  missing = sorted(set(expected) - set(tensors))
  if missing:
    raise ValueError("%s: missing tensor(s) %s" % (source, ", ".join(missing[:5]) +
                                                   (" ..." if len(missing) > 5 else "")))


# -------------------------------------------------------------------------------------- file I/O

def _require(path, what):
  if not os.path.exists(path):
    raise ValueError("missing %s: %s" % (what, path))
  return path


def read_hf_weights(input_dir):
  """Reads the weights of a Hugging Face directory: model.safetensors, else pytorch_model.bin (torch)."""
  st = os.path.join(input_dir, "model.safetensors")
  if os.path.exists(st):
    return safetensors_io.load_file(st)
  bin_path = os.path.join(input_dir, "pytorch_model.bin")
  if os.path.exists(bin_path):
    try:
      import torch
    except ImportError:
      raise ValueError("%s needs torch to read; install torch or convert it to model.safetensors" %
                       bin_path) from None
    state = torch.load(bin_path, map_location="cpu", weights_only=True)
    return {k: v.numpy() for k, v in state.items()}
  raise ValueError("missing weights: neither %s nor %s exists" % (st, bin_path))


def find_tf_checkpoint(input_dir):
  """Returns the checkpoint prefix in a Google directory (bert_model.ckpt, else the newest one)."""
  import tensorflow as tf
  prefix = os.path.join(input_dir, TF_CHECKPOINT_NAME)
  if os.path.exists(prefix + ".index"):
    return prefix
  latest = tf.train.latest_checkpoint(input_dir)
  if latest:
    return latest
  raise ValueError("missing TF checkpoint: no %s.index and no 'checkpoint' file in %s" %
                   (prefix, input_dir))


def write_tf_checkpoint(tensors, prefix):
  """Writes {variable name: numpy array} as a TF1 checkpoint at `prefix`."""
  import tensorflow as tf
  tf1 = tf.compat.v1
  with tf.Graph().as_default():
    variables = {name: tf1.get_variable(name, shape=array.shape, dtype=tf.as_dtype(array.dtype),
                                        initializer=tf1.zeros_initializer())
                 for name, array in sorted(tensors.items())}
    feeds = {name: tf1.placeholder(var.dtype.base_dtype, var.shape) for name, var in variables.items()}
    assign = tf.group(*[var.assign(feeds[name]) for name, var in variables.items()])
    saver = tf1.train.Saver(variables, sharded=False)
    with tf1.Session() as sess:
      sess.run(assign, {feeds[name]: tensors[name] for name in variables})
      saver.save(sess, prefix, write_meta_graph=False, write_state=False)


def _publish(tmp_dir, output_dir):
  """Moves every file of `tmp_dir` into `output_dir` (renames on one file system)."""
  os.makedirs(output_dir, exist_ok=True)
  for name in sorted(os.listdir(tmp_dir)):
    os.replace(os.path.join(tmp_dir, name), os.path.join(output_dir, name))
  shutil.rmtree(tmp_dir, ignore_errors=True)


def _staging_dir(output_dir):
  parent = os.path.dirname(os.path.abspath(output_dir))
  os.makedirs(parent, exist_ok=True)
  return tempfile.mkdtemp(prefix=".convert-", dir=parent)


# ------------------------------------------------------------------------------------- directions

def hf_to_tf(input_dir, output_dir):
  """Converts a Hugging Face BERT directory into a Google-format directory.

  Returns:
    (BertConfig, {tf name: numpy array}) that were written.
  """
  config_path = _require(os.path.join(input_dir, "config.json"), "Hugging Face config")
  vocab_path = _require(os.path.join(input_dir, "vocab.txt"), "vocabulary")
  config = hf_config_to_bert_config(_read_json(config_path), config_path)
  hf_tensors = read_hf_weights(input_dir)

  word_key = next((k for k in hf_tensors if k.endswith("embeddings.word_embeddings.weight")), None)
  tensors = {}
  for hf_name, array in sorted(hf_tensors.items()):
    if hf_name.endswith("cls.predictions.decoder.weight"):
      if word_key is None or not np.array_equal(array, hf_tensors[word_key]):
        raise ValueError("%s: tensor '%s' is not tied to the word embeddings; BERT's masked-LM head "
                         "shares them" % (input_dir, hf_name))
      continue
    mapped = hf_to_tf_name(hf_name)
    if mapped is None:
      continue
    tf_name, transpose = mapped
    value = np.ascontiguousarray(array.T if transpose else array)
    if tf_name in tensors and not np.array_equal(tensors[tf_name], value):
      raise ValueError("%s: tensor '%s' disagrees with another tensor mapped to %s" %
                       (input_dir, hf_name, tf_name))
    tensors[tf_name] = value
  _check_shapes(tensors, config, input_dir)

  tmp = _staging_dir(output_dir)
  try:
    write_tf_checkpoint(tensors, os.path.join(tmp, TF_CHECKPOINT_NAME))
    with open(os.path.join(tmp, "bert_config.json"), "w") as f:
      f.write(config.to_json_string())
    shutil.copyfile(vocab_path, os.path.join(tmp, "vocab.txt"))
    _publish(tmp, output_dir)
  finally:
    shutil.rmtree(tmp, ignore_errors=True)
  return config, tensors


def tf_to_hf(input_dir, output_dir, prefix=None):
  """Converts a Google-format directory into a Hugging Face directory (safetensors).

  Args:
    input_dir: directory with bert_config.json, vocab.txt and a checkpoint.
    output_dir: destination.
    prefix: Hugging Face name prefix; default "" for a bare BertModel and "bert." when the checkpoint
      has pretraining heads (BertForPreTraining).

  Returns:
    {hf name: numpy array} that were written.
  """
  import tensorflow as tf
  config_path = _require(os.path.join(input_dir, "bert_config.json"), "BERT config")
  vocab_path = _require(os.path.join(input_dir, "vocab.txt"), "vocabulary")
  config = modeling.BertConfig.from_json_file(config_path)
  ckpt = find_tf_checkpoint(input_dir)
  reader = tf.train.load_checkpoint(ckpt)
  tensors = {}
  for name in sorted(reader.get_variable_to_shape_map()):
    if _TF_TRAINING_STATE.search(name) or not name.startswith(("bert/", "cls/")):
      continue   # optimizer slots, step counters and task heads are not part of BertModel
    tensors[name] = reader.get_tensor(name)
  _check_shapes(tensors, config, ckpt)

  with_heads = any(n.startswith("cls/") for n in tensors)
  if prefix is None:
    prefix = "bert." if with_heads else ""
  hf_tensors = {}
  for name, array in tensors.items():
    hf_name, transpose = tf_to_hf_name(name, prefix)
    hf_tensors[hf_name] = np.ascontiguousarray(array.T if transpose else array)
  hf_tensors[prefix + "embeddings.position_ids"] = np.arange(
      config.max_position_embeddings, dtype=np.int64)[np.newaxis]

  tmp = _staging_dir(output_dir)
  try:
    safetensors_io.save_file(hf_tensors, os.path.join(tmp, "model.safetensors"),
                             metadata={"format": "pt"})
    with open(os.path.join(tmp, "config.json"), "w") as f:
      json.dump(bert_config_to_hf_config(config, with_heads), f, indent=2)
      f.write("\n")
    shutil.copyfile(vocab_path, os.path.join(tmp, "vocab.txt"))
    _publish(tmp, output_dir)
  finally:
    shutil.rmtree(tmp, ignore_errors=True)
  return hf_tensors


def main(argv=None):
  import argparse
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--direction", required=True, choices=["hf_to_tf", "tf_to_hf"])
  parser.add_argument("--input_dir", required=True)
  parser.add_argument("--output_dir", required=True)
  args = parser.parse_args(argv)
  try:
    if args.direction == "hf_to_tf":
      config, tensors = hf_to_tf(args.input_dir, args.output_dir)
      print("wrote %s/%s: %d variables, %d parameters (%d layers, hidden %d)" % (
          args.output_dir, TF_CHECKPOINT_NAME, len(tensors), sum(a.size for a in tensors.values()),
          config.num_hidden_layers, config.hidden_size))
    else:
      tensors = tf_to_hf(args.input_dir, args.output_dir)
      print("wrote %s/model.safetensors: %d tensors" % (args.output_dir, len(tensors)))
  except ValueError as e:
    print("convert_checkpoint: error: %s" % e, file=sys.stderr)
    return 2
  return 0


if __name__ == "__main__":
  sys.exit(main())
