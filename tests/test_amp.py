"""--amp on a CPU: bfloat16 compute where the processor has bfloat16 units, float32 elsewhere.

The bfloat16 graph runs on any CPU (TensorFlow emulates bfloat16 where there are no bfloat16 units), so these
tests need no special hardware: the processor check (`utils.cpu.bf16_flags`) is patched where a test needs a
given answer, and the end-to-end run checks whatever this machine's answer is.
"""
import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from conftest import ROOT, SAMPLES, write_tiny_config
import modeling
import run_classifier
import run_pretraining
import run_squad
import tokenization
from utils import cpu
from utils import training

tf1 = tf.compat.v1
MATMULS = ("MatMul", "BatchMatMulV2")
SEQ, PRED = 64, 10


def _amp_lines(text):
  return [line for line in text.splitlines() if line.startswith("--amp")]


# ------------------------------------------------------------------------------------- the processor check

def test_cpuinfo_model_and_bf16_flags(tmp_path):
  path = tmp_path / "cpuinfo"
  block = "processor\t: %d\nmodel name\t: AMD EPYC 9R14 96-Core Processor\nflags\t\t: fpu avx2 %s\n\n"
  path.write_text(block % (0, "avx512f avx512_bf16 amx_tile amx_bf16") + block % (1, "avx512f"))
  assert cpu.model_name(str(path)) == "AMD EPYC 9R14 96-Core Processor"
  assert cpu.matrix_flags(str(path)) == ["avx512_bf16", "amx_tile", "amx_bf16"]
  assert cpu.bf16_flags(str(path)) == ["avx512_bf16", "amx_bf16"]
  assert cpu.describe(str(path)) == "AMD EPYC 9R14 96-Core Processor, bf16/AMX flags: avx512_bf16 amx_tile amx_bf16"
  path.write_text(block % (0, "avx512f avx512_vnni"))
  assert cpu.bf16_flags(str(path)) == [] and cpu.describe(str(path)).endswith("bf16/AMX flags: none")
  assert cpu.bf16_flags(str(tmp_path / "missing")) == []
  assert cpu.model_name(str(tmp_path / "missing")) == "unknown processor"


@pytest.mark.parametrize("flags,compute_type", [(["avx512_bf16"], tf.bfloat16), ([], tf.float32)])
def test_amp_on_cpu_logs_one_line_and_never_scales_the_loss(monkeypatch, capsys, flags, compute_type):
  monkeypatch.setattr(cpu, "bf16_flags", lambda: flags)
  runtime = training.Runtime(training.RunConfig(output_dir=None, amp=True))
  lines = _amp_lines(capsys.readouterr().out)
  assert len(lines) == 1, lines
  if flags:
    assert "bfloat16 compute" in lines[0] and "no loss scaling" in lines[0] and "avx512_bf16" in lines[0]
  else:
    assert "no bfloat16 units" in lines[0] and lines[0].endswith("computing in float32")
  assert runtime.compute_type == compute_type and not runtime.loss_scaling
  # No CPU graph rewrite: the float16 one (auto_mixed_precision_cpu) crashes, the bfloat16 one is not used.
  rewrites = runtime.session_config().graph_options.rewrite_options
  assert (rewrites.auto_mixed_precision, rewrites.auto_mixed_precision_cpu, rewrites.auto_mixed_precision_mkl,
          rewrites.auto_mixed_precision_onednn_bfloat16) == (0, 0, 0, 0)


def test_without_amp_nothing_is_logged_and_compute_is_float32(monkeypatch, capsys):
  monkeypatch.setattr(cpu, "bf16_flags", lambda: ["avx512_bf16"])
  runtime = training.Runtime(training.RunConfig(output_dir=None))
  assert not _amp_lines(capsys.readouterr().out)
  assert runtime.compute_type == tf.float32 and not runtime.loss_scaling


# ------------------------------------------------------------------------------------------- the graphs

def _pretraining_input_fn(vocab_size, batch=4):
  rng = np.random.default_rng(0)
  features = {"input_ids": rng.integers(1000, vocab_size, (batch, SEQ)), "input_mask": np.ones((batch, SEQ)),
              "segment_ids": np.zeros((batch, SEQ)), "masked_lm_positions": rng.integers(1, SEQ, (batch, PRED)),
              "masked_lm_ids": rng.integers(1000, vocab_size, (batch, PRED)),
              "next_sentence_labels": np.zeros((batch, 1))}
  features = {k: v.astype(np.int32) for k, v in features.items()}
  features["masked_lm_weights"] = np.ones((batch, PRED), np.float32)
  return lambda: tf.data.Dataset.from_tensors(features).repeat()


class _KeepGraph(tf1.train.SessionRunHook):
  def begin(self):
    self.graph = tf1.get_default_graph()


def _output_types(ops, op_types, prefix=""):
  return {op.outputs[0].dtype for op in ops if op.type in op_types and op.name.startswith(prefix)}


@pytest.mark.parametrize("flags", [["avx512_bf16"], []])
def test_amp_pretraining_graph(monkeypatch, tmp_path, flags):
  """With bfloat16 units every encoder and masked-LM matmul, forward and backward, is bfloat16, while the
  variables, the Adam slots, layer norms, softmaxes, logits and the loss stay float32 and no loss scale exists;
  without them no bfloat16 tensor exists at all. Three Adam steps run to a finite loss either way."""
  monkeypatch.setattr(cpu, "bf16_flags", lambda: flags)
  config = modeling.BertConfig.from_json_file(write_tiny_config(str(tmp_path / "tiny.json")))
  runtime = training.Runtime(training.RunConfig(output_dir=str(tmp_path / "run"), amp=True, display_loss_steps=1))
  keep = _KeepGraph()
  result = training.train(run_pretraining.model_fn_builder(config, False, runtime.compute_type),
                          _pretraining_input_fn(config.vocab_size), runtime,
                          training.OptimizerConfig(1e-4, num_train_steps=3, num_warmup_steps=1), 4, hooks=[keep])
  assert np.isfinite(result["loss"]) and result["global_step"] == 3
  ops = keep.graph.get_operations()
  variables = keep.graph.get_collection(tf1.GraphKeys.GLOBAL_VARIABLES)
  assert {v.dtype.base_dtype for v in variables if v.dtype.is_floating} == {tf.float32}
  assert any(v.op.name.endswith("/adam_m") for v in variables)
  assert not any("loss_scale" in v.op.name for v in variables)
  if not flags:
    assert not any(t.dtype == tf.bfloat16 for op in ops for t in op.outputs)
    return
  assert _output_types(ops, MATMULS, "bert/encoder/") == {tf.bfloat16}
  assert _output_types(ops, MATMULS, "gradients/bert/encoder/") == {tf.bfloat16}
  # The embeddings are gathered from the float32 tables (not from a bfloat16 copy of the whole table) and
  # normalised in float32; only their sum is cast.
  assert _output_types(ops, ("ResourceGather", "GatherV2"), "bert/embeddings/") == {tf.float32}
  assert {op.type for op in ops if op.name.startswith("bert/embeddings/") and op.outputs
          and op.outputs[0].dtype == tf.bfloat16} == {"Cast"}
  # The masked-LM projection onto the vocabulary is a bfloat16 matmul like the encoder's; its logits (and the
  # small next-sentence head's) are float32 before the softmax.
  dtype = lambda name: keep.graph.get_operation_by_name(name).outputs[0].dtype
  assert dtype("cls/predictions/MatMul") == tf.bfloat16
  assert _output_types(ops, MATMULS, "gradients/cls/predictions/MatMul") == {tf.bfloat16}
  assert dtype("cls/predictions/BiasAdd") == dtype("cls/seq_relationship/MatMul") == tf.float32
  assert _output_types(ops, ("Softmax", "LogSoftmax", "Rsqrt")) == {tf.float32}   # Rsqrt: layer norms
  assert _output_types(ops, ("Softmax",)) and _output_types(ops, ("Rsqrt",))


def test_finetuning_heads_are_float32_over_a_bfloat16_encoder():
  config = modeling.BertConfig(vocab_size=100, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                               intermediate_size=32, max_position_embeddings=16)
  with tf.Graph().as_default() as graph:
    ids = tf.ones([2, 8], tf.int32)
    features = {"input_ids": ids, "input_mask": ids, "segment_ids": ids * 0, "label_ids": ids[:, 0] * 0}
    loss, _, logits, _ = run_classifier.create_model(config, True, features, 3, False, tf.bfloat16)
    assert loss.dtype == logits.dtype == tf.float32
    assert _output_types(graph.get_operations(), MATMULS, "bert/encoder/") == {tf.bfloat16}
  with tf.Graph().as_default() as graph:
    ids = tf.ones([2, 8], tf.int32)
    start, end = run_squad.create_model(config, True, ids, ids, ids * 0, tf.bfloat16)
    assert start.dtype == end.dtype == tf.float32
    ops = graph.get_operations()
    assert _output_types(ops, MATMULS, "bert/encoder/") == {tf.bfloat16}
    assert {op.outputs[0].dtype for op in ops if op.type == "MatMul" and "/" not in op.name} == {tf.float32}


# ------------------------------------------------------------------------------------------ end to end

def _pretrain(tmp_path, name, records, config, *extra):
  out = str(tmp_path / name)
  proc = subprocess.run(
      [sys.executable, os.path.join(ROOT, "run_pretraining.py"), "--bert_config_file=" + config,
       "--input_files_dir=" + records, "--output_dir=" + out, "--do_train", "--max_seq_length=%d" % SEQ,
       "--max_predictions_per_seq=%d" % PRED, "--train_batch_size=8", "--num_train_steps=3",
       "--num_warmup_steps=1", "--display_loss_steps=1", "--learning_rate=1e-3", *extra],
      capture_output=True, text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"), timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  with open(os.path.join(out, "bert_dllog.json")) as f:
    logs = [json.loads(line[5:]) for line in f if line.startswith("DLLL {")]
  losses = [r["data"]["loss"] for r in logs if r["type"] == "LOG" and r["step"] and "loss" in r["data"]]
  assert len(losses) >= 2 and not any("loss_scale" in r["data"] for r in logs)
  return proc.stdout, np.array(losses)


def test_run_pretraining_amp_follows_this_processor(tmp_path):
  """run_pretraining.py --amp prints the one line for this machine's processor; with bfloat16 units the losses
  move off float32's by bfloat16 rounding (relative 2^-8 per operation, so well under 1% of a loss of ~10 after
  three steps) and stay there; without them the run is float32, bit for bit."""
  records = str(tmp_path / "records")
  os.makedirs(records)
  subprocess.run([sys.executable, os.path.join(ROOT, "create_pretraining_data.py"),
                  "--input_file=" + os.path.join(SAMPLES, "pretrain", "sample_text.txt"),
                  "--output_file=" + os.path.join(records, "part-0.tfrecord"),
                  "--vocab_file=" + os.path.join(SAMPLES, "vocab", "bert-base-uncased-vocab.txt"),
                  "--do_lower_case", "--max_seq_length=%d" % SEQ, "--max_predictions_per_seq=%d" % PRED,
                  "--dupe_factor=1"], check=True, capture_output=True)
  config = write_tiny_config(str(tmp_path / "tiny.json"), dropout=0.0)
  out32, loss32 = _pretrain(tmp_path, "fp32", records, config)
  out_amp, loss_amp = _pretrain(tmp_path, "amp", records, config, "--amp")
  assert not _amp_lines(out32)
  lines = _amp_lines(out_amp)
  assert len(lines) == 1, lines
  if cpu.bf16_flags():
    assert "bfloat16 compute" in lines[0]
    assert 0 < np.abs(loss_amp - loss32).max() < 0.01 * loss32.max()
  else:
    assert "computing in float32" in lines[0]
    np.testing.assert_array_equal(loss_amp, loss32)


def test_entry_points_turn_onednn_on_unless_the_user_chose():
  code = "import os, run_pretraining, run_squad, run_classifier; print(os.environ['TF_ENABLE_ONEDNN_OPTS'])"
  for preset, expected in ((None, "1"), ("0", "0")):
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    if preset is not None:
      env["TF_ENABLE_ONEDNN_OPTS"] = preset
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split()[-1] == expected


# ---------------------------------------------------------------------------------------------- numerics

def _mrpc_dev_pairs(n):
  with open(os.path.join(SAMPLES, "glue", "MRPC", "dev.tsv"), encoding="utf-8-sig") as f:
    rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
  return [(r[3], r[4]) for r in rows[:n]]


def _encode(pairs, vocab_file, max_len=128):
  """[CLS] a [SEP] b [SEP] ids, segment ids 0 then 1, zero-padded to max_len."""
  tokenizer = tokenization.FullTokenizer(vocab_file, do_lower_case=True)
  ids, types = np.zeros([len(pairs), max_len], np.int32), np.zeros([len(pairs), max_len], np.int32)
  for i, (a, b) in enumerate(pairs):
    first = ["[CLS]"] + tokenizer.tokenize(a) + ["[SEP]"]
    tokens = (first + tokenizer.tokenize(b) + ["[SEP]"])[:max_len]
    ids[i, :len(tokens)] = tokenizer.convert_tokens_to_ids(tokens)
    types[i, len(first):len(tokens)] = 1
  return ids, (ids > 0).astype(np.int32), types


def _run_encoder(model_dir, ids, mask, types, compute_type):
  """The sequence and pooled outputs (as float32) of the checkpoint in `model_dir`."""
  config = modeling.BertConfig.from_json_file(os.path.join(model_dir, "bert_config.json"))
  with tf.Graph().as_default():
    model = modeling.BertModel(config, False, tf.constant(ids), tf.constant(mask), tf.constant(types),
                               compute_type=compute_type)
    tf1.train.init_from_checkpoint(os.path.join(model_dir, "bert_model.ckpt"),
                                   {v.op.name: v for v in tf1.global_variables()})
    outputs = [tf.cast(model.get_sequence_output(), tf.float32), tf.cast(model.get_pooled_output(), tf.float32)]
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      return sess.run(outputs)


def test_bfloat16_minilm_agrees_with_float32_on_real_mrpc_pairs(minilm_tf_dir):
  """The real MiniLM (6 layers, hidden 384) on 32 real MRPC dev pairs, bfloat16 compute against float32.

  bfloat16 keeps 8 significant bits: one rounding moves a value by at most 2^-8 = 0.39% of it, about 0.2% RMS
  (the error is spread evenly over +-half a step). Every matmul rounds its inputs and its output, and a layer
  chains six of them (query/key/value, scores, context, attention output, intermediate, output), so a token's
  vector passes about 36 roundings in 6 layers. The errors are independent, so they add in quadrature:
  sqrt(36) x 0.2% = 1.2% RMS relative error per token vector. This is 8 times the float16 path's error
  (2^-11 vs 2^-8 per rounding), measured at 0.17% on these pairs. Bounds, with margin for the worst of 1762
  tokens and for TensorFlow's emulated bfloat16 (without oneDNN, or without bfloat16 units):
    * per-token relative L2 error r <= 10% (8x the 1.2% estimate). Measured here: median 1.1%, max 2.5% with
      oneDNN on, median 1.9%, max 5.8% with TF_ENABLE_ONEDNN_OPTS=0;
    * per-token cosine >= 1 - 0.1^2/2 = 0.995 (1 - cos = r^2/2 for a small error). Measured: 0.99987 / 0.99940;
    * pooled output tanh(W h_[CLS] + b): |d tanh| <= |d(W h + b)|, about r times the pre-activation, which is
      about the pooled value itself here (|pooled| < 0.3, where tanh is nearly linear): max |difference| <=
      10% of max |pooled|. Measured: 0.8% / 1.6% of it.
  And a floor, so that a path that silently computed float32 (differences of ~1e-7) fails: the last layer norm's
  output alone is rounded to bfloat16, 0.1-0.2% RMS, so the median per-token error must exceed 2^-10 = 0.1%.
  """
  ids, mask, types = _encode(_mrpc_dev_pairs(32), os.path.join(minilm_tf_dir, "vocab.txt"))
  seq32, pooled32 = _run_encoder(minilm_tf_dir, ids, mask, types, tf.float32)
  seq16, pooled16 = _run_encoder(minilm_tf_dir, ids, mask, types, tf.bfloat16)
  assert np.isfinite(seq16).all() and np.isfinite(pooled16).all()
  real = mask.astype(bool)
  a, b = seq16[real], seq32[real]
  rel = np.linalg.norm(a - b, axis=-1) / np.linalg.norm(b, axis=-1)
  cos = (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
  pooled_diff = np.abs(pooled16 - pooled32).max() / np.abs(pooled32).max()
  print("bfloat16 vs float32 on %d tokens: relative error median %.4f max %.4f, min cosine %.6f, pooled max "
        "|diff| %.4f of max |pooled|" % (len(a), np.median(rel), rel.max(), cos.min(), pooled_diff))
  assert rel.max() <= 0.10
  assert cos.min() >= 0.995
  assert pooled_diff <= 0.10
  assert np.median(rel) > 2.0 ** -10
