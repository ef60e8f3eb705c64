"""Checkpoint conversion both ways, checked against Hugging Face `transformers` (torch) on the real MiniLM."""
import csv
import json
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

import modeling
from conftest import SAMPLES, minilm_hf_dir
from utils import convert_checkpoint, safetensors_io

torch = pytest.importorskip("torch", reason="torch is a test requirement: bash scripts/setup.sh --test")
transformers = pytest.importorskip("transformers")
tf1 = tf.compat.v1
MAX_LEN = 128


def _mrpc_pairs(n):
  """The first `n` sentence pairs of the real MRPC dev set."""
  with open(os.path.join(SAMPLES, "glue", "MRPC", "dev.tsv"), encoding="utf-8-sig") as f:
    rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
  return [(r[3], r[4]) for r in rows[:n]]


def _encode(pairs, vocab_file):
  """[CLS] a [SEP] b [SEP] ids padded to MAX_LEN, tokenized by the reference WordPiece tokenizer."""
  from tokenizers import BertWordPieceTokenizer
  tok = BertWordPieceTokenizer(vocab_file, lowercase=True)
  ids = np.zeros([len(pairs), MAX_LEN], np.int32)
  mask = np.zeros_like(ids)
  types = np.zeros_like(ids)
  for i, (a, b) in enumerate(pairs):
    enc = tok.encode(a, b)
    n = min(len(enc.ids), MAX_LEN)
    ids[i, :n], mask[i, :n], types[i, :n] = enc.ids[:n], 1, enc.type_ids[:n]
  return ids, mask, types


def _run_tf(tf_dir, ids, mask, types, compute_type=tf.float32, batch=16):
  config = modeling.BertConfig.from_json_file(os.path.join(tf_dir, "bert_config.json"))
  with tf.Graph().as_default():
    p_ids = tf1.placeholder(tf.int32, [None, MAX_LEN])
    p_mask = tf1.placeholder(tf.int32, [None, MAX_LEN])
    p_types = tf1.placeholder(tf.int32, [None, MAX_LEN])
    model = modeling.BertModel(config, False, p_ids, p_mask, p_types, compute_type=compute_type)
    ckpt = os.path.join(tf_dir, convert_checkpoint.TF_CHECKPOINT_NAME)
    assignment, _ = modeling.get_assignment_map_from_checkpoint(tf1.trainable_variables(), ckpt)
    assert len(assignment) == len(tf1.trainable_variables())
    tf1.train.init_from_checkpoint(ckpt, assignment)
    outputs = [tf.cast(model.get_sequence_output(), tf.float32),
               tf.cast(model.get_pooled_output(), tf.float32)]
    seqs, pooled = [], []
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      for s in range(0, len(ids), batch):
        sl = slice(s, s + batch)
        a, b = sess.run(outputs, {p_ids: ids[sl], p_mask: mask[sl], p_types: types[sl]})
        seqs.append(a)
        pooled.append(b)
  return np.concatenate(seqs), np.concatenate(pooled)


@pytest.fixture(scope="module")
def mrpc_inputs():
  return _encode(_mrpc_pairs(64), os.path.join(minilm_hf_dir(), "vocab.txt"))


@pytest.fixture(scope="module")
def tf_float32_outputs(minilm_tf_dir, mrpc_inputs):
  return _run_tf(minilm_tf_dir, *mrpc_inputs)


def test_real_minilm_matches_transformers(mrpc_inputs, tf_float32_outputs):
  ids, mask, types = mrpc_inputs
  assert ids.shape == (64, MAX_LEN) and (mask.sum(1) < MAX_LEN).all()   # every pair is padded
  model = transformers.BertModel.from_pretrained(minilm_hf_dir(), attn_implementation="eager")
  model.eval()
  with torch.no_grad():
    out = model(input_ids=torch.tensor(ids, dtype=torch.long),
                attention_mask=torch.tensor(mask, dtype=torch.long),
                token_type_ids=torch.tensor(types, dtype=torch.long))
  ref_seq, ref_pooled = out.last_hidden_state.numpy(), out.pooler_output.numpy()
  seq, pooled = tf_float32_outputs
  real = mask.astype(bool)
  seq_diff = np.abs(seq[real] - ref_seq[real]).max()
  pooled_diff = np.abs(pooled - ref_pooled).max()
  print("MiniLM parity on 64 MRPC pairs: sequence max|diff| %.3g, pooled max|diff| %.3g" %
        (seq_diff, pooled_diff))
  assert seq_diff <= 2e-5
  assert pooled_diff <= 2e-5
  # Padded positions are computed too (they attend to the real tokens) but nothing reads them: attention masks
  # them as keys and the pooler reads [CLS]. Their round-off is larger than the real tokens' (relative to the
  # largest padded activation: 1.5e-5 with oneDNN off, 3.5e-5 with it on, against 7e-7 for real tokens; AMD EPYC
  # with AVX-512), so they are held to 1e-3 of that activation: 30x the round-off seen, while a structural
  # difference (a mask applied to the queries, a wrong position embedding) moves them by a sizeable share of it.
  pad = ~real
  assert np.abs(seq[pad] - ref_seq[pad]).max() <= 1e-3 * np.abs(ref_seq[pad]).max()


def test_float16_compute_agrees_with_float32(minilm_tf_dir, mrpc_inputs, tf_float32_outputs):
  """Float16 keeps ~11 bits of mantissa (relative step 2^-11 ~ 4.9e-4). Through 6 layers, each adding
  rounding at matmul inputs and outputs, errors of a few 1e-3 relative to the activations' scale are
  expected; a wrong cast or an overflowing mask bias gives O(1) errors or NaNs instead. We require the
  worst element within 2% of the largest activation and the per-token cosine similarity above 0.9999."""
  ids, mask, types = (a[:16] for a in mrpc_inputs)
  seq32, pooled32 = (a[:16] for a in tf_float32_outputs)
  seq16, pooled16 = _run_tf(minilm_tf_dir, ids, mask, types, compute_type=tf.float16)
  assert np.isfinite(seq16).all() and np.isfinite(pooled16).all()
  real = mask.astype(bool)
  a, b = seq16[real], seq32[real]
  rel = np.abs(a - b).max() / np.abs(b).max()
  cos = (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
  print("float16 vs float32: max|diff|/max|x| %.3g, min cosine %.6f, pooled max|diff| %.3g" %
        (rel, cos.min(), np.abs(pooled16 - pooled32).max()))
  assert rel < 0.02
  assert cos.min() > 0.9999
  assert np.abs(pooled16 - pooled32).max() < 0.01


def test_round_trip_reproduces_every_tensor_bit_for_bit(minilm_tf_dir, tmp_path):
  out = str(tmp_path / "hf")
  convert_checkpoint.tf_to_hf(minilm_tf_dir, out)
  original = safetensors_io.load_file(os.path.join(minilm_hf_dir(), "model.safetensors"))
  again = safetensors_io.load_file(os.path.join(out, "model.safetensors"))
  assert sorted(original) == sorted(again)
  assert len(original) == 104
  for name, array in original.items():
    assert again[name].dtype == array.dtype and again[name].shape == array.shape, name
    assert again[name].tobytes() == array.tobytes(), name
  with open(os.path.join(out, "vocab.txt"), "rb") as f, \
       open(os.path.join(minilm_hf_dir(), "vocab.txt"), "rb") as g:
    assert f.read() == g.read()
  # transformers loads the result without missing or unexpected weights.
  _, info = transformers.BertModel.from_pretrained(out, output_loading_info=True)
  assert not info["missing_keys"] and not info["unexpected_keys"]


def _small_pretraining_model(path):
  """A randomly initialised Hugging Face BertForPreTraining (MLM + NSP heads) saved as safetensors."""
  torch.manual_seed(0)
  config = transformers.BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2,
                                   num_attention_heads=4, intermediate_size=64, type_vocab_size=2,
                                   max_position_embeddings=64, hidden_act="gelu")
  model = transformers.BertForPreTraining(config).eval()
  with torch.no_grad():   # non-trivial biases and norms, so a transposed or swapped tensor shows
    for p in model.parameters():
      p.add_(torch.randn_like(p) * 0.05)
  model.save_pretrained(path, safe_serialization=True)
  shutil.copyfile(os.path.join(minilm_hf_dir(), "vocab.txt"), os.path.join(path, "vocab.txt"))
  return model


def test_pretraining_heads_convert_and_match(tmp_path, mrpc_inputs):
  hf_dir, tf_dir, back = str(tmp_path / "hf"), str(tmp_path / "tf"), str(tmp_path / "back")
  ref = _small_pretraining_model(hf_dir)
  config, tensors = convert_checkpoint.hf_to_tf(hf_dir, tf_dir)
  assert "cls/predictions/output_bias" in tensors and "cls/seq_relationship/output_weights" in tensors

  ids, mask, types = (a[:8, :64] for a in mrpc_inputs)
  positions = np.tile(np.array([[1, 2, 5, 7]], np.int32), [8, 1])
  with tf.Graph().as_default():
    model = modeling.BertModel(config, False, tf.constant(ids), tf.constant(mask), tf.constant(types))
    _, _, mlm_log_probs = modeling.get_masked_lm_output(
        config, model.get_sequence_output(), model.get_embedding_table(), tf.constant(positions),
        tf.zeros_like(positions), tf.ones(positions.shape))
    _, _, nsp_log_probs = modeling.get_next_sentence_output(config, model.get_pooled_output(),
                                                            tf.zeros([8], tf.int32))
    tf1.train.init_from_checkpoint(os.path.join(tf_dir, "bert_model.ckpt"),
                                   {v.op.name: v.op.name for v in tf1.global_variables()})
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      mlm, nsp = sess.run([mlm_log_probs, nsp_log_probs])
  with torch.no_grad():
    out = ref(input_ids=torch.tensor(ids, dtype=torch.long),
              attention_mask=torch.tensor(mask, dtype=torch.long),
              token_type_ids=torch.tensor(types, dtype=torch.long))
  ref_mlm = torch.log_softmax(out.prediction_logits, -1).numpy()
  ref_mlm = np.stack([ref_mlm[i, positions[i]] for i in range(8)]).reshape(mlm.shape)
  ref_nsp = torch.log_softmax(out.seq_relationship_logits, -1).numpy()
  assert np.abs(mlm - ref_mlm).max() < 1e-4
  assert np.abs(nsp - ref_nsp).max() < 1e-5

  convert_checkpoint.tf_to_hf(tf_dir, back)
  reloaded, info = transformers.BertForPreTraining.from_pretrained(back, output_loading_info=True)
  assert not info["missing_keys"] and not info["unexpected_keys"]
  want = ref.state_dict()
  for name, value in reloaded.state_dict().items():
    assert torch.equal(value, want[name]), name


def _write_hf(path, tensors, config):
  os.makedirs(path, exist_ok=True)
  safetensors_io.save_file(tensors, os.path.join(path, "model.safetensors"))
  with open(os.path.join(path, "config.json"), "w") as f:
    json.dump(config, f)
  shutil.copyfile(os.path.join(minilm_hf_dir(), "vocab.txt"), os.path.join(path, "vocab.txt"))


def test_bad_inputs_give_errors_that_name_them(tmp_path):
  hf_dir = str(tmp_path / "hf")
  _small_pretraining_model(hf_dir)
  tensors = safetensors_io.load_file(os.path.join(hf_dir, "model.safetensors"))
  with open(os.path.join(hf_dir, "config.json")) as f:
    config = json.load(f)

  bad = str(tmp_path / "shape")
  wrong = dict(tensors)
  wrong["bert.encoder.layer.1.intermediate.dense.weight"] = np.zeros([64, 31], np.float32)
  _write_hf(bad, wrong, config)
  with pytest.raises(ValueError, match=r"layer_1/intermediate/dense/kernel' has shape \(31, 64\)"):
    convert_checkpoint.hf_to_tf(bad, str(tmp_path / "out1"))
  assert not os.path.exists(str(tmp_path / "out1"))   # nothing half-written

  unknown = str(tmp_path / "unknown")
  _write_hf(unknown, dict(tensors, **{"bert.encoder.layer.0.attention.self.rotary.weight":
                                      np.zeros([2], np.float32)}), config)
  with pytest.raises(ValueError, match="unknown Hugging Face tensor 'bert.encoder.layer.0.attention"
                                       ".self.rotary.weight'"):
    convert_checkpoint.hf_to_tf(unknown, str(tmp_path / "out2"))

  missing = str(tmp_path / "missing")
  _write_hf(missing, tensors, config)
  os.remove(os.path.join(missing, "vocab.txt"))
  with pytest.raises(ValueError, match="missing vocabulary: .*missing/vocab.txt"):
    convert_checkpoint.hf_to_tf(missing, str(tmp_path / "out3"))

  empty = str(tmp_path / "empty")
  os.makedirs(empty)
  with pytest.raises(ValueError, match="missing BERT config: .*empty/bert_config.json"):
    convert_checkpoint.tf_to_hf(empty, str(tmp_path / "out4"))

  # The command line reports the same errors without a traceback.
  rc = convert_checkpoint.main(["--direction=hf_to_tf", "--input_dir", missing,
                                "--output_dir", str(tmp_path / "out5")])
  assert rc == 2
