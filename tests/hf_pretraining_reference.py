"""Reference pretraining run with Hugging Face `transformers` (PyTorch, CPU), side by side with run_pretraining.py.

A test-only tool (not imported by the suite, not collected by pytest). It takes a TF checkpoint written by
run_pretraining.py (e.g. model.ckpt-0), converts it with utils/convert_checkpoint.py into a
transformers.BertForPreTraining, and trains it on the same TFRecords with the same optimizer as
optimization.py's create_optimizer(optimizer_type="lamb"): global-norm clipping to 1.0, then LAMB (bias-corrected
Adam moments, epsilon after the square root, decoupled weight decay 0.01 and a per-tensor trust ratio ||w|| / ||u||,
both except on LayerNorm parameters and biases), and the same learning-rate schedule (linear warmup, then polynomial decay
with power 0.5). Held-out TFRecords are evaluated every --save_eval_steps and at the end, with the metrics of
run_pretraining.py's eval: masked-LM accuracy (weighted by masked_lm_weights), the share of masked positions that
predict the most common predicted id, and next-sentence accuracy.

  python tests/hf_pretraining_reference.py \
      --init_tf_checkpoint=/tmp/e1/out/model.ckpt-0 \
      --bert_config_file=scripts/configs/bert_mini_nodropout_config.json \
      --input_files=/tmp/e1/train128/part_0.tfrecord,/tmp/e1/train128/part_1.tfrecord \
      --eval_files=book=/tmp/r3/data/heldout_book_128/heldout.tfrecord \
      --train_batch_size=32 --learning_rate=4e-3 --num_train_steps=1200 --num_warmup_steps=200 \
      --save_eval_steps=300 --output_json=/tmp/hfref/evals.jsonl

With --num_train_steps=0 it only evaluates the converted checkpoint (a check of the conversion and of the eval).
--tf_crosscheck_steps=K first trains K updates both with our TF code (modeling.py + optimization.py) and with
this script's PyTorch port, from the same weights on the same batches, and prints how far the weights moved
apart. With --shuffle_buffer=1000 and run_pretraining.py's --seed, the training batches are the ones
run_pretraining.py trains on (one worker, no accumulation), so the two runs' logged losses can be compared step
by step. Needs torch and transformers (requirements-test.txt) next to tensorflow; --mlm_head=masked is the fast
choice on a CPU.

Conventions checked against the TF code: next_sentence_labels is 1 when sentence B is random
(create_pretraining_data.py writes is_random_next; modeling.get_next_sentence_output treats 0 as "is next"),
which is also transformers' convention; masked positions with weight 0 are padding and get label -100.
"""

import argparse
import glob
import json
import math
import os
import shutil
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# OpenMP threads that spin while waiting burn a busy 2-core machine: on it, 2 torch threads with the default
# (spinning) policy ran 4x slower than with this (set before torch or tensorflow is imported).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf1 = tf.compat.v1
# Substrings of parameter names that get no weight decay (optimization.NO_WEIGHT_DECAY, in both name layouts:
# Google's ".../LayerNorm/gamma", ".../output_bias"; Hugging Face's "...LayerNorm.weight", "...bias").
NO_WEIGHT_DECAY = ("LayerNorm", "layer_norm", "bias")
FEATURES = ("input_ids", "input_mask", "segment_ids", "masked_lm_positions", "masked_lm_ids",
            "masked_lm_weights", "next_sentence_labels")


# ------------------------------------------------------------------------------------------- flags

def parse_args(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  p.add_argument("--init_tf_checkpoint", required=True, help="TF checkpoint prefix, e.g. out/model.ckpt-0.")
  p.add_argument("--bert_config_file", required=True, help="Google-format bert_config.json.")
  p.add_argument("--vocab_file", default=os.path.join(ROOT, "data/samples/vocab/bert-base-uncased-vocab.txt"))
  p.add_argument("--input_files", default="", help="Comma-separated training TFRecords (files, dirs or globs).")
  p.add_argument("--eval_files", default="",
                 help="Comma-separated name=path held-out TFRecords (path: file, dir or glob).")
  p.add_argument("--output_json", default=None, help="JSON lines file, one line per evaluation.")
  p.add_argument("--hf_dir", default=None, help="Where to write the converted model (default: a temp dir).")
  p.add_argument("--train_batch_size", type=int, default=32)
  p.add_argument("--eval_batch_size", type=int, default=64)
  p.add_argument("--learning_rate", type=float, default=4e-3)
  p.add_argument("--num_train_steps", type=int, default=1200, help="Optimizer updates; 0 only evaluates.")
  p.add_argument("--num_warmup_steps", type=int, default=200)
  p.add_argument("--poly_power", type=float, default=0.5, help="Decay power after warmup (0.5 for lamb).")
  p.add_argument("--weight_decay_rate", type=float, default=0.01)
  p.add_argument("--clip_norm", type=float, default=1.0)
  p.add_argument("--save_eval_steps", type=int, default=300, help="Evaluate every N updates (and at the end).")
  p.add_argument("--display_loss_steps", type=int, default=50)
  p.add_argument("--shuffle_buffer", type=int, default=10000,
                 help="Record shuffle buffer (run_pretraining.py uses 1000: with 1000 and its --seed the "
                      "batches are the ones it trains on).")
  p.add_argument("--cycle_length", type=int, default=4, help="Files interleaved at once (as run_pretraining).")
  p.add_argument("--seed", type=int, default=12345)
  p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads.")
  p.add_argument("--mlm_head", choices=["full", "masked"], default="full",
                 help="full: BertForPreTraining(labels=...) scores every position, as transformers does; "
                      "masked: the same modules (model.bert, model.cls) on the masked positions only, as "
                      "run_pretraining.py does (same numbers, several times faster).")
  p.add_argument("--attn_implementation", default="eager", help="transformers attention: eager or sdpa.")
  p.add_argument("--tf_initial_loss", type=int, default=1,
                 help="1: also compute our TF model's loss on the first training batch (cheap).")
  p.add_argument("--tf_crosscheck_steps", type=int, default=0,
                 help="K > 0: train K updates with our TF code and with this port from the same weights "
                      "and compare the weights.")
  args = p.parse_args(argv)
  if args.num_train_steps > 0 and not args.input_files:
    p.error("--input_files is needed to train")
  if not 0 <= args.num_warmup_steps <= max(args.num_train_steps, 0):
    p.error("--num_warmup_steps must be in [0, num_train_steps]")
  return args


def expand_paths(spec):
  """A file, a directory (its files, sorted) or a glob -> sorted list of files."""
  if os.path.isdir(spec):
    files = sorted(os.path.join(spec, f) for f in os.listdir(spec) if not f.startswith("."))
  elif any(c in spec for c in "*?["):
    files = sorted(glob.glob(spec))
  else:
    files = [spec]
  files = [f for f in files if os.path.isfile(f)]
  if not files:
    raise ValueError("no TFRecord file at %s" % spec)
  return files


def parse_eval_files(spec):
  out = []
  for part in filter(None, (s.strip() for s in spec.split(","))):
    name, sep, path = part.partition("=")
    if not sep:
      name, path = os.path.basename(os.path.normpath(part)), part
    out.append((name, expand_paths(path)))
  return out


# ------------------------------------------------------------------------------------ conversion

def convert_tf_checkpoint(ckpt, bert_config_file, vocab_file, hf_dir):
  """Converts a run_pretraining.py checkpoint (with heads) to a Hugging Face directory via our converter."""
  from utils import convert_checkpoint
  if not os.path.exists(ckpt + ".index"):
    raise ValueError("no TF checkpoint at %s (missing %s.index)" % (ckpt, ckpt))
  tf_dir = tempfile.mkdtemp(prefix="hfref-tf-")
  try:
    os.symlink(os.path.abspath(bert_config_file), os.path.join(tf_dir, "bert_config.json"))
    os.symlink(os.path.abspath(vocab_file), os.path.join(tf_dir, "vocab.txt"))
    for path in glob.glob(glob.escape(ckpt) + ".*"):
      suffix = path[len(ckpt):]
      if suffix == ".index" or suffix.startswith(".data-"):
        os.symlink(os.path.abspath(path), os.path.join(tf_dir, convert_checkpoint.TF_CHECKPOINT_NAME + suffix))
    tensors = convert_checkpoint.tf_to_hf(tf_dir, hf_dir)
  finally:
    shutil.rmtree(tf_dir, ignore_errors=True)
  if "cls.predictions.bias" not in tensors or "cls.seq_relationship.weight" not in tensors:
    raise ValueError("%s has no pretraining heads (cls/...): not a run_pretraining.py checkpoint" % ckpt)
  return tensors


def load_hf_model(hf_dir, bert_config, attn_implementation):
  import torch
  import transformers
  model, info = transformers.BertForPreTraining.from_pretrained(
      hf_dir, output_loading_info=True, attn_implementation=attn_implementation,
      hidden_dropout_prob=bert_config["hidden_dropout_prob"],
      attention_probs_dropout_prob=bert_config["attention_probs_dropout_prob"])
  problems = {k: v for k, v in info.items() if v and k in ("missing_keys", "unexpected_keys", "mismatched_keys",
                                                           "error_msgs")}
  # the decoder weight and bias are tied (not stored); anything else missing means a bad conversion
  if problems.get("missing_keys"):
    problems["missing_keys"] = [k for k in problems["missing_keys"] if not k.startswith("cls.predictions.decoder.")]
  problems = {k: v for k, v in problems.items() if v}
  if problems:
    raise ValueError("loading %s: %s" % (hf_dir, problems))
  emb = model.bert.embeddings.word_embeddings.weight
  if model.cls.predictions.decoder.weight is not emb:
    raise ValueError("the masked-LM decoder weight is not tied to the word embeddings")
  if model.cls.predictions.decoder.bias is not model.cls.predictions.bias:
    raise ValueError("the masked-LM decoder bias is not cls.predictions.bias")
  model.float()
  assert model.config.hidden_dropout_prob == bert_config["hidden_dropout_prob"]
  assert model.config.attention_probs_dropout_prob == bert_config["attention_probs_dropout_prob"]
  torch.set_grad_enabled(True)
  return model


# ------------------------------------------------------------------------------------------ data

def record_shapes(path):
  """(S, P) of the first record of `path`: sequence length and masked positions per sequence."""
  for raw in tf.data.TFRecordDataset(path).take(1):
    ex = tf.train.Example.FromString(raw.numpy())
    feats = ex.features.feature
    missing = [k for k in FEATURES if k not in feats]
    if missing:
      raise ValueError("%s: records lack feature(s) %s (not from create_pretraining_data.py)" % (path, missing))
    return len(feats["input_ids"].int64_list.value), len(feats["masked_lm_positions"].int64_list.value)
  raise ValueError("%s holds no record" % path)


def feature_spec(seq_len, num_pred):
  i64 = tf.int64
  return {"input_ids": tf.io.FixedLenFeature([seq_len], i64),
          "input_mask": tf.io.FixedLenFeature([seq_len], i64),
          "segment_ids": tf.io.FixedLenFeature([seq_len], i64),
          "masked_lm_positions": tf.io.FixedLenFeature([num_pred], i64),
          "masked_lm_ids": tf.io.FixedLenFeature([num_pred], i64),
          "masked_lm_weights": tf.io.FixedLenFeature([num_pred], tf.float32),
          "next_sentence_labels": tf.io.FixedLenFeature([1], i64)}


def train_batches(files, spec, batch_size, seed, shuffle_buffer, cycle_length):
  """Endless numpy batches: the file list shuffled (seeded), repeated, interleaved one record at a time,
  records shuffled through a seeded buffer, batches of exactly `batch_size` (the order of run_pretraining.py's
  training input on one worker, given its --seed and a buffer of 1000)."""
  tf.random.set_seed(seed)   # the graph-level seed run_pretraining.py sets; op seeds below as it gives them
  d = tf.data.Dataset.from_tensor_slices(tf.constant(files))
  d = d.shuffle(len(files), seed=seed, reshuffle_each_iteration=True).repeat()
  d = d.interleave(tf.data.TFRecordDataset, cycle_length=min(cycle_length, len(files)), block_length=1,
                   num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
  d = d.shuffle(shuffle_buffer, seed=seed)
  d = d.map(lambda r: tf.io.parse_single_example(r, spec), num_parallel_calls=tf.data.AUTOTUNE)
  d = d.batch(batch_size, drop_remainder=True).prefetch(2)
  for batch in d.as_numpy_iterator():
    yield batch


def eval_batches(files, spec, batch_size):
  """Every record of `files` once, in order; the last batch may be smaller."""
  d = tf.data.TFRecordDataset(files)
  d = d.map(lambda r: tf.io.parse_single_example(r, spec)).batch(batch_size).prefetch(2)
  for batch in d.as_numpy_iterator():
    yield batch


def to_torch(batch):
  """numpy feature batch -> dict of torch tensors for transformers, with `labels` [B, S] (-100 where no
  prediction) and `next_sentence_label` [B]."""
  import torch
  pos, ids, w = batch["masked_lm_positions"], batch["masked_lm_ids"], batch["masked_lm_weights"]
  if not np.all((w == 0.0) | (w == 1.0)):
    raise ValueError("masked_lm_weights other than 0/1: transformers' unweighted loss would differ")
  b_idx, p_idx = np.nonzero(w > 0)
  labels = np.full(batch["input_ids"].shape, -100, dtype=np.int64)
  flat = b_idx * labels.shape[1] + pos[b_idx, p_idx]
  if len(np.unique(flat)) != len(flat):
    raise ValueError("a masked position occurs twice in one sequence: transformers' loss would differ")
  labels[b_idx, pos[b_idx, p_idx]] = ids[b_idx, p_idx]
  nsp = batch["next_sentence_labels"].reshape(-1)
  if not np.all((nsp == 0) | (nsp == 1)):
    raise ValueError("next_sentence_labels other than 0/1")
  return {"input_ids": torch.from_numpy(batch["input_ids"].astype(np.int64)),
          "attention_mask": torch.from_numpy(batch["input_mask"].astype(np.int64)),
          "token_type_ids": torch.from_numpy(batch["segment_ids"].astype(np.int64)),
          "labels": torch.from_numpy(labels),
          "next_sentence_label": torch.from_numpy(nsp.astype(np.int64)),
          "positions": torch.from_numpy(pos.astype(np.int64)),
          "ids": torch.from_numpy(ids.astype(np.int64)),
          "weights": torch.from_numpy(w.astype(np.float32))}


# ----------------------------------------------------------------------------------------- model

def forward(model, t, mlm_head):
  """Returns (total loss, mlm loss, nsp loss, mlm logits at the masked positions [B, P, V], nsp logits [B, 2]).

  "full": transformers' BertForPreTraining.forward with labels (its loss, logits gathered afterwards);
  "masked": model.bert, then model.cls on the gathered masked positions, losses as modeling.py computes them.
  """
  import torch
  import torch.nn.functional as F
  inputs = dict(input_ids=t["input_ids"], attention_mask=t["attention_mask"], token_type_ids=t["token_type_ids"])
  pos = t["positions"]
  gather = pos.unsqueeze(-1)
  if mlm_head == "full":
    out = model(**inputs, labels=t["labels"], next_sentence_label=t["next_sentence_label"])
    logits = torch.gather(out.prediction_logits, 1,
                          gather.expand(-1, -1, out.prediction_logits.shape[-1]))        # [B, P, V]
    nsp_logits = out.seq_relationship_logits
    with torch.no_grad():
      nsp_loss = F.cross_entropy(nsp_logits, t["next_sentence_label"])
      mlm_loss = out.loss - nsp_loss
    return out.loss, mlm_loss, nsp_loss, logits, nsp_logits
  bert_out = model.bert(**inputs, return_dict=True)
  seq, pooled = bert_out.last_hidden_state, bert_out.pooler_output
  picked = torch.gather(seq, 1, gather.expand(-1, -1, seq.shape[-1]))                  # [B, P, D]
  logits = model.cls.predictions(picked)                                                 # [B, P, V]
  nsp_logits = model.cls.seq_relationship(pooled)                                        # [B, 2]
  w = t["weights"]
  per_pos = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), t["ids"].reshape(-1), reduction="none")
  mlm_loss = (per_pos * w.reshape(-1)).sum() / w.sum()
  nsp_loss = F.cross_entropy(nsp_logits, t["next_sentence_label"])
  return mlm_loss + nsp_loss, mlm_loss, nsp_loss, logits, nsp_logits


def learning_rate(step, init_lr, num_train_steps, num_warmup_steps, poly_power):
  """optimization.learning_rate_schedule at global step `step` (the number of updates already applied)."""
  step = float(step)
  if num_warmup_steps and step < num_warmup_steps:
    return init_lr * step / num_warmup_steps
  return init_lr * (1.0 - min(step, float(num_train_steps)) / num_train_steps) ** poly_power


def use_weight_decay(name):
  return not any(part in name for part in NO_WEIGHT_DECAY)


class DecoupledWeightDecay(object):
  """optimization.DecoupledWeightDecayOptimizer ("lamb" or "adam") behind create_optimizer's global-norm clipping.

  For each parameter w with gradient g (after clipping all gradients to global norm `clip_norm`), at update
  t = global_step + 1: m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
  "lamb": u = m/(1 - b1^t) / (sqrt(v/(1 - b2^t)) + eps); "adam" (Google's AdamWeightDecay): u = m / (sqrt(v) + eps),
  no bias correction. Unless the name has LayerNorm/layer_norm/bias: u += wd w and, for "lamb", u *= ||w||/||u||
  (1 when either is 0). Then w -= lr u. Tied tensors (word embeddings = MLM decoder weight) are one parameter and
  get one update.
  """

  def __init__(self, model, optimizer_type="lamb", weight_decay_rate=0.01, beta_1=0.9, beta_2=0.999,
               epsilon=1e-6, clip_norm=1.0):
    import torch
    import optimization
    if optimizer_type not in optimization.OPTIMIZER_TYPES:
      raise ValueError("optimizer_type %r is not one of %s" % (optimizer_type, optimization.OPTIMIZER_TYPES))
    self.lamb = optimizer_type == "lamb"
    self.params, seen = [], set()
    for name, p in model.named_parameters(remove_duplicate=False):
      if id(p) in seen or not p.requires_grad:
        continue
      seen.add(id(p))
      self.params.append((name, p, use_weight_decay(name)))
    self.m = [torch.zeros_like(p) for _, p, _ in self.params]
    self.v = [torch.zeros_like(p) for _, p, _ in self.params]
    self.weight_decay_rate, self.beta_1, self.beta_2, self.epsilon = weight_decay_rate, beta_1, beta_2, epsilon
    self.clip_norm = clip_norm
    self.global_step = 0

  def zero_grad(self):
    for _, p, _ in self.params:
      p.grad = None

  def step(self, lr):
    """Applies one update with learning rate `lr`; returns the global gradient norm before clipping."""
    import torch
    with torch.no_grad():
      live = [(i, p.grad) for i, (_, p, _) in enumerate(self.params) if p.grad is not None]
      grad_norm = torch.sqrt(sum(torch.sum(g * g) for _, g in live))
      scale = self.clip_norm / max(float(grad_norm), self.clip_norm) if math.isfinite(grad_norm) else 1.0
      t = self.global_step + 1
      bc1, bc2 = (1.0 - self.beta_1 ** t, 1.0 - self.beta_2 ** t) if self.lamb else (1.0, 1.0)
      for i, g in live:
        _, p, decay = self.params[i]
        g = g * scale
        m, v = self.m[i], self.v[i]
        m.mul_(self.beta_1).add_(g, alpha=1.0 - self.beta_1)
        v.mul_(self.beta_2).addcmul_(g, g, value=1.0 - self.beta_2)
        update = (m / bc1) / (torch.sqrt(v / bc2) + self.epsilon)
        if decay:  # weight decay and LAMB's trust ratio; LayerNorm parameters and biases get neither
          update.add_(p, alpha=self.weight_decay_rate)
          if self.lamb:
            w_norm, u_norm = torch.linalg.vector_norm(p), torch.linalg.vector_norm(update)
            update.mul_((w_norm / u_norm) if (w_norm > 0 and u_norm > 0) else 1.0)
        p.sub_(lr * update)
    self.global_step += 1
    return float(grad_norm)


def train_step(model, opt, t, args):
  lr = learning_rate(opt.global_step, args.learning_rate, args.num_train_steps, args.num_warmup_steps,
                     args.poly_power)
  opt.zero_grad()
  loss, mlm_loss, nsp_loss, _, _ = forward(model, t, args.mlm_head)
  loss.backward()
  grad_norm = opt.step(lr)
  return loss.item(), mlm_loss.item(), nsp_loss.item(), lr, grad_norm


# ------------------------------------------------------------------------------------------ eval

def evaluate(model, files, spec, batch_size, vocab_size, mlm_head):
  """run_pretraining.py's eval metrics over every record of `files`."""
  import torch
  import torch.nn.functional as F
  was_training = model.training
  model.eval()
  correct = weight_sum = mlm_loss_sum = 0.0
  nsp_correct = nsp_loss_sum = 0.0
  examples = 0
  counts = np.zeros([vocab_size], np.float64)
  with torch.no_grad():
    for batch in eval_batches(files, spec, batch_size):
      t = to_torch(batch)
      _, _, _, logits, nsp_logits = forward(model, t, mlm_head)
      w = t["weights"].double()
      pred = logits.argmax(-1)                                                   # [B, P]
      correct += float(((pred == t["ids"]).double() * w).sum())
      weight_sum += float(w.sum())
      per_pos = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), t["ids"].reshape(-1), reduction="none")
      mlm_loss_sum += float((per_pos.double() * w.reshape(-1)).sum())
      np.add.at(counts, pred.reshape(-1).numpy(), w.reshape(-1).numpy())
      nsp_pred = nsp_logits.argmax(-1)
      nsp_correct += float((nsp_pred == t["next_sentence_label"]).sum())
      nsp_loss_sum += float(F.cross_entropy(nsp_logits, t["next_sentence_label"], reduction="sum"))
      examples += int(nsp_pred.shape[0])
  model.train(was_training)
  return {"masked_lm_accuracy": correct / weight_sum if weight_sum else 0.0,
          "masked_lm_top_prediction_share": counts.max() / counts.sum() if counts.sum() else 0.0,
          "masked_lm_top_prediction_id": int(counts.argmax()),
          "masked_lm_loss": mlm_loss_sum / weight_sum if weight_sum else 0.0,
          "next_sentence_accuracy": nsp_correct / examples if examples else 0.0,
          "next_sentence_loss": nsp_loss_sum / examples if examples else 0.0,
          "examples": examples, "masked_positions": int(weight_sum)}


# -------------------------------------------------------------------------- our TF code, for checks

def _tf_graph(bert_config_file, seq_len, num_pred, train_args=None):
  """Our TF pretraining graph on placeholders: (placeholders, mlm loss, nsp loss, train op or None)."""
  import modeling
  import optimization
  config = modeling.BertConfig.from_json_file(bert_config_file)
  ph = {"input_ids": tf1.placeholder(tf.int32, [None, seq_len]),
        "input_mask": tf1.placeholder(tf.int32, [None, seq_len]),
        "segment_ids": tf1.placeholder(tf.int32, [None, seq_len]),
        "masked_lm_positions": tf1.placeholder(tf.int32, [None, num_pred]),
        "masked_lm_ids": tf1.placeholder(tf.int32, [None, num_pred]),
        "masked_lm_weights": tf1.placeholder(tf.float32, [None, num_pred]),
        "next_sentence_labels": tf1.placeholder(tf.int32, [None, 1])}
  model = modeling.BertModel(config, train_args is not None, ph["input_ids"], ph["input_mask"], ph["segment_ids"])
  mlm_loss, _, _ = modeling.get_masked_lm_output(config, model.get_sequence_output(), model.get_embedding_table(),
                                                 ph["masked_lm_positions"], ph["masked_lm_ids"],
                                                 ph["masked_lm_weights"])
  nsp_loss, _, _ = modeling.get_next_sentence_output(config, model.get_pooled_output(), ph["next_sentence_labels"])
  train_op = None
  if train_args is not None:
    a = train_args
    train_op = optimization.create_optimizer(
        mlm_loss + nsp_loss, a.learning_rate, a.num_train_steps, a.num_warmup_steps, optimizer_type="lamb",
        weight_decay_rate=a.weight_decay_rate, poly_power=a.poly_power, clip_norm=a.clip_norm).train_op
  return ph, mlm_loss, nsp_loss, train_op


def _feed(ph, batch):
  return {ph[k]: batch[k] for k in FEATURES}


def _restore_model_vars(sess, ckpt):
  names = dict(tf.train.list_variables(ckpt))
  model_vars = [v for v in tf1.global_variables() if v.op.name.startswith(("bert/", "cls/"))]
  missing = [v.op.name for v in model_vars if v.op.name not in names]
  if missing:
    raise ValueError("%s lacks %s" % (ckpt, missing[:5]))
  sess.run(tf1.global_variables_initializer())
  tf1.train.Saver({v.op.name: v for v in model_vars}).restore(sess, ckpt)


def tf_losses(bert_config_file, ckpt, batch):
  """Our TF model's (mlm loss, nsp loss) on `batch`, weights from `ckpt` (eval mode)."""
  seq_len, num_pred = batch["input_ids"].shape[1], batch["masked_lm_positions"].shape[1]
  with tf.Graph().as_default():
    ph, mlm_loss, nsp_loss, _ = _tf_graph(bert_config_file, seq_len, num_pred)
    with tf1.Session(config=_session_config()) as sess:
      _restore_model_vars(sess, ckpt)
      return sess.run([mlm_loss, nsp_loss], _feed(ph, batch))


def tf_train(bert_config_file, ckpt, batches, args):
  """Our TF code's weights after training on `batches` from `ckpt`: ({hf name: array}, [losses])."""
  from utils import convert_checkpoint
  seq_len, num_pred = batches[0]["input_ids"].shape[1], batches[0]["masked_lm_positions"].shape[1]
  with tf.Graph().as_default():
    tf1.set_random_seed(args.seed)
    ph, mlm_loss, nsp_loss, train_op = _tf_graph(bert_config_file, seq_len, num_pred, train_args=args)
    losses = []
    with tf1.Session(config=_session_config()) as sess:
      _restore_model_vars(sess, ckpt)
      for batch in batches:
        _, mlm, nsp = sess.run([train_op, mlm_loss, nsp_loss], _feed(ph, batch))
        losses.append(mlm + nsp)
      out = {}
      for v in tf1.trainable_variables():
        name, transpose = convert_checkpoint.tf_to_hf_name(v.op.name, "bert.")
        value = sess.run(v)
        out[name] = value.T if transpose else value
  return out, losses


def _session_config():
  return tf1.ConfigProto(intra_op_parallelism_threads=1, inter_op_parallelism_threads=1)


def tf_crosscheck(args, hf_dir, bert_config, batches):
  """Trains len(batches) updates with our TF code and with DecoupledWeightDecay here; prints how far the weights
  differ."""
  import torch
  tf_weights, tf_loss = tf_train(args.bert_config_file, args.init_tf_checkpoint, batches, args)
  model = load_hf_model(hf_dir, bert_config, args.attn_implementation)
  model.train()
  init = {n: p.detach().clone() for n, p in model.named_parameters()}
  opt = DecoupledWeightDecay(model, "lamb", args.weight_decay_rate, clip_norm=args.clip_norm)
  pt_loss = [train_step(model, opt, to_torch(b), args)[0] for b in batches]
  if len(tf_weights) != len(opt.params):
    raise ValueError("TF trains %d variables, this port %d parameters" % (len(tf_weights), len(opt.params)))
  import optimization
  from utils import convert_checkpoint
  rows, decay_mismatch, diff_sq, tf_sq = [], [], 0.0, 0.0
  for name, p, decay in opt.params:
    if optimization.use_weight_decay(convert_checkpoint.hf_to_tf_name(name)[0]) != decay:
      decay_mismatch.append(name)
    d_tf = torch.from_numpy(np.asarray(tf_weights[name])).double() - init[name].double()
    d_pt = p.detach().double() - init[name].double()
    diff, size = float(torch.linalg.vector_norm(d_tf - d_pt)), float(torch.linalg.vector_norm(d_tf))
    diff_sq, tf_sq = diff_sq + diff ** 2, tf_sq + size ** 2
    rows.append((diff / size if size else float("inf") if diff else 0.0, name, size))
  rows.sort(reverse=True)
  biggest = max(r[2] for r in rows)
  moved = [r for r in rows if r[2] > 1e-4 * biggest]   # leave out tensors with ~0 gradient (attention key
  # biases: softmax ignores them, so their gradient is round-off, and Adam's m/sqrt(v) turns it into noise)
  print("tf_crosscheck %d updates: loss per update TF %s | torch %s" % (
      len(batches), " ".join("%.6f" % x for x in tf_loss), " ".join("%.6f" % x for x in pt_loss)))
  print("tf_crosscheck: weight change torch vs TF, all %d tensors: ||dw_tf - dw_torch|| / ||dw_tf|| = %.3g; "
        "largest per tensor: %s; among the %d tensors that moved more than 1e-4 of the most: %s; "
        "weight-decay rule differs for: %s" % (
            len(opt.params), math.sqrt(diff_sq / tf_sq) if tf_sq else 0.0,
            ", ".join("%s %.3g (||dw_tf|| %.2g)" % (n, r, s) for r, n, s in rows[:2]), len(moved),
            ", ".join("%s %.3g (||dw_tf|| %.2g)" % (n, r, s) for r, n, s in moved[:2]),
            decay_mismatch or "none"), flush=True)


# ------------------------------------------------------------------------------------------- main

def format_eval(step, name, r, vocab):
  tok = vocab[r["masked_lm_top_prediction_id"]] if r["masked_lm_top_prediction_id"] < len(vocab) else "?"
  return ("eval step %d %s: masked_lm_accuracy %.8f  top_prediction_share %.4f (id %d %r)  "
          "next_sentence_accuracy %.8f  masked_lm_loss %.5f  next_sentence_loss %.5f  examples %d" % (
              step, name, r["masked_lm_accuracy"], r["masked_lm_top_prediction_share"],
              r["masked_lm_top_prediction_id"], tok, r["next_sentence_accuracy"], r["masked_lm_loss"],
              r["next_sentence_loss"], r["examples"]))


def main(argv=None):
  args = parse_args(argv)
  import torch
  import transformers
  torch.set_num_threads(args.threads)
  torch.set_flush_denormal(True)   # as TensorFlow's CPU kernels do
  torch.manual_seed(args.seed)
  transformers.utils.logging.disable_progress_bar()
  tf.config.threading.set_intra_op_parallelism_threads(1)
  tf.config.threading.set_inter_op_parallelism_threads(1)
  with open(args.bert_config_file) as f:
    bert_config = json.load(f)
  with open(args.vocab_file, encoding="utf-8") as f:
    vocab = [line.rstrip("\n") for line in f]
  print("hf_pretraining_reference: torch %s, transformers %s, tensorflow %s, %d torch threads" % (
      torch.__version__, transformers.__version__, tf.__version__, torch.get_num_threads()), flush=True)

  hf_dir = args.hf_dir or tempfile.mkdtemp(prefix="hfref-hf-")
  try:
    return _run(args, hf_dir, bert_config, vocab)
  finally:
    if not args.hf_dir:
      shutil.rmtree(hf_dir, ignore_errors=True)


def _run(args, hf_dir, bert_config, vocab):
  import torch
  tensors = convert_tf_checkpoint(args.init_tf_checkpoint, args.bert_config_file, args.vocab_file, hf_dir)
  model = load_hf_model(hf_dir, bert_config, args.attn_implementation)
  opt = DecoupledWeightDecay(model, "lamb", args.weight_decay_rate, clip_norm=args.clip_norm)
  n_decay = sum(d for _, _, d in opt.params)
  print("converted %s -> %s (%d tensors); BertForPreTraining: %d parameter tensors (%d with weight decay), "
        "%d weights; dropout hidden %g attention %g; MLM decoder tied to word embeddings" % (
            args.init_tf_checkpoint, hf_dir, len(tensors), len(opt.params), n_decay,
            sum(p.numel() for _, p, _ in opt.params), model.config.hidden_dropout_prob,
            model.config.attention_probs_dropout_prob), flush=True)

  evals = parse_eval_files(args.eval_files)
  train_files = [f for spec in filter(None, args.input_files.split(",")) for f in expand_paths(spec)]
  shapes = {record_shapes(f) for f in train_files + [f for _, fs in evals for f in fs]}
  if len(shapes) != 1:
    raise ValueError("the TFRecords disagree on (max_seq_length, max_predictions_per_seq): %s" % sorted(shapes))
  seq_len, num_pred = shapes.pop()
  spec = feature_spec(seq_len, num_pred)
  out_json = None
  if args.output_json:
    os.makedirs(os.path.dirname(os.path.abspath(args.output_json)), exist_ok=True)
    out_json = open(args.output_json, "a")

  def run_evals(step):
    for name, files in evals:
      t0 = time.time()
      r = evaluate(model, files, spec, args.eval_batch_size, model.config.vocab_size, args.mlm_head)
      print(format_eval(step, name, r, vocab) + "  (%.0fs)" % (time.time() - t0), flush=True)
      if out_json:
        out_json.write(json.dumps(dict(step=step, eval=name, **r)) + "\n")
        out_json.flush()

  if args.num_train_steps <= 0:
    run_evals(0)
    return 0

  batches = train_batches(train_files, spec, args.train_batch_size, args.seed, args.shuffle_buffer,
                          args.cycle_length)
  if args.tf_crosscheck_steps > 0:   # the same first batches, from a second iterator
    check = train_batches(train_files, spec, args.train_batch_size, args.seed, args.shuffle_buffer,
                          args.cycle_length)
    tf_crosscheck(args, hf_dir, bert_config, [next(check) for _ in range(args.tf_crosscheck_steps)])
  first = next(batches)
  model.eval()
  with torch.no_grad():
    _, mlm0, nsp0, _, _ = forward(model, to_torch(first), args.mlm_head)
  text = "initial loss on the first batch (%d sequences, %d masked positions): HF mlm %.6f nsp %.6f" % (
      first["input_ids"].shape[0], int(first["masked_lm_weights"].sum()), float(mlm0), float(nsp0))
  if args.tf_initial_loss:
    tf_mlm, tf_nsp = tf_losses(args.bert_config_file, args.init_tf_checkpoint, first)
    text += " | TF mlm %.6f nsp %.6f | diff mlm %.2e nsp %.2e" % (tf_mlm, tf_nsp, float(mlm0) - tf_mlm,
                                                                 float(nsp0) - tf_nsp)
  print(text, flush=True)

  model.train()
  window = {"loss": [], "mlm": [], "nsp": [], "time": 0.0, "steps": 0}
  total_time, total_steps = 0.0, 0
  batch = first
  for step in range(1, args.num_train_steps + 1):
    t0 = time.time()
    loss, mlm, nsp, lr, grad_norm = train_step(model, opt, to_torch(batch), args)
    elapsed = time.time() - t0
    if not math.isfinite(loss):
      raise RuntimeError("loss is %s at step %d" % (loss, step))
    window["loss"].append(loss)
    window["mlm"].append(mlm)
    window["nsp"].append(nsp)
    if step > 1:   # the first step includes one-off set-up
      window["time"] += elapsed
      window["steps"] += 1
      total_time += elapsed
      total_steps += 1
    if step % args.display_loss_steps == 0 or step == args.num_train_steps:
      rate = window["steps"] * args.train_batch_size / window["time"] if window["time"] else float("nan")
      print("step %d/%d  loss %.5g  masked_lm_loss %.5g  next_sentence_loss %.5g  learning_rate %.5g  "
            "grad_norm %.5g  (mean over %d steps: loss %.5g mlm %.5g nsp %.5g)  %.2f sentences/s" % (
                step, args.num_train_steps, loss, mlm, nsp, lr, grad_norm, len(window["loss"]),
                np.mean(window["loss"]), np.mean(window["mlm"]), np.mean(window["nsp"]), rate), flush=True)
      window = {"loss": [], "mlm": [], "nsp": [], "time": 0.0, "steps": 0}
    if step % args.save_eval_steps == 0 or step == args.num_train_steps:
      run_evals(step)
    if step < args.num_train_steps:
      batch = next(batches)
  if total_time:
    print("average %.2f sentences/s over %d timed steps" % (total_steps * args.train_batch_size / total_time,
                                                            total_steps), flush=True)
  if out_json:
    out_json.close()
  return 0


if __name__ == "__main__":
  sys.exit(main())
