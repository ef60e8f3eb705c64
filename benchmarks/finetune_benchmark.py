"""Times SQuAD fine-tuning (training steps) or SQuAD inference over batch sizes and sequence lengths.

The graphs are run_squad.py's model_fn: BertModel with the span head; training adds its start/end
cross-entropy loss and optimization.create_optimizer (Adam with decoupled weight decay, warmup,
global-norm clipping), dropout on; inference is the serving graph (int32 inputs fed per request, dropout off,
start and end logits fetched), what the exported SavedModel runs. Inputs are real SQuAD windows: the shipped
data/samples/squad training (train mode) or dev (inference mode) questions tokenized with the model's vocab
and padded to the sequence length, as NVIDIA's benchmarks pad them. Weights are random unless
--init_checkpoint is given: the run time does not depend on their values.

Training: after --warmup_steps untimed steps, --steps timed steps; throughput = batch x steps / wall seconds.
Inference: after --warmup_steps untimed batches, every batch is timed on its own for --iterations batches
(or until --max_seconds): latency percentiles (nearest rank) of those batches, throughput = batch / mean
latency.

Called by scripts/finetune_train_benchmark.sh and scripts/finetune_inference_benchmark.sh, which print
NVIDIA's table layout.
"""
import json
import math
import os
import statistics
import time

from absl import flags
from absl import logging
import numpy as np
import tensorflow as tf

# common also puts the repository on sys.path.
from common import REPO, load_average, session_config, write_json_lines
import modeling
import optimization
import run_squad
import tokenization
from utils import squad
from utils import training

tf1 = tf.compat.v1

flags.DEFINE_string("bert_config_file", os.path.join(REPO, "scripts", "configs", "bert_base_config.json"),
                    "bert_config.json of the model to time.")
flags.DEFINE_string("vocab_file", os.path.join(REPO, "data", "samples", "vocab", "bert-base-uncased-vocab.txt"),
                    "WordPiece vocabulary the SQuAD windows are tokenized with (lower-cased).")
flags.DEFINE_string("init_checkpoint", None, "Checkpoint to time with (default: random weights; the run time "
                    "does not depend on them).")
flags.DEFINE_bool("use_xla", False, "Compile with XLA auto-clustering.")
flags.DEFINE_enum("mode", "inference", ["train", "inference"], "What to time.")
flags.DEFINE_string("model_name", "bert-base", "Model name printed in the table.")
flags.DEFINE_list("batch_sizes", ["1", "8"], "Batch sizes to time.")
flags.DEFINE_list("seq_lengths", ["128", "384"], "Sequence lengths to time.")
flags.DEFINE_list("precisions", ["fp32"], "fp32, or amp (float16 auto mixed precision: GPU only).")
flags.DEFINE_integer("intra_op_threads", 2, "intra_op_parallelism_threads of the session.")
flags.DEFINE_integer("inter_op_threads", 2, "inter_op_parallelism_threads of the session.")
flags.DEFINE_integer("warmup_steps", 2, "Untimed steps (batches) first.")
flags.DEFINE_integer("steps", 5, "train: timed steps per setting.")
flags.DEFINE_integer("iterations", 20, "inference: timed batches per setting (at most).")
flags.DEFINE_float("max_seconds", 60.0, "inference: stop timing a setting after this long (at least 5 "
                   "batches are timed).")
flags.DEFINE_string("json_output", None, "Optional file for the results as JSON lines.")
FLAGS = flags.FLAGS

SQUAD_SAMPLES = os.path.join(REPO, "data", "samples", "squad")
TRAIN_FILE = os.path.join(SQUAD_SAMPLES, "train-v1.1.3articles.reconstructed.json")
DEV_FILE = os.path.join(SQUAD_SAMPLES, "dev-v1.1.first5articles.official-answerable.json")


def squad_windows(is_training, tokenizer, seq_length, count):
  """The first `count` real SQuAD windows at `seq_length` as int32 arrays (training: with answer spans)."""
  examples = squad.read_squad_examples(TRAIN_FILE if is_training else DEV_FILE, is_training, False)
  windows = []

  def add(feature):
    if len(windows) < count:
      windows.append(feature)

  query = min(64, seq_length // 2)   # run_squad.py's default, or half a short window
  squad.convert_examples_to_features(examples, tokenizer, seq_length, min(128, query), query, is_training, add)
  if len(windows) < count:
    raise ValueError("only %d SQuAD windows at length %d, %d needed" % (len(windows), seq_length, count))
  arrays = {name: np.array([getattr(w, name) for w in windows], np.int32)
            for name in ("input_ids", "input_mask", "segment_ids")}
  if is_training:
    arrays["start_positions"] = np.array([w.start_position for w in windows], np.int32)
    arrays["end_positions"] = np.array([w.end_position for w in windows], np.int32)
  return arrays


def init_weights(sess, checkpoint):
  sess.run(tf1.global_variables_initializer())
  if checkpoint:
    available = dict(tf.train.list_variables(checkpoint))
    names = {v.op.name: v for v in tf1.global_variables() if v.op.name in available}
    tf1.train.Saver(names).restore(sess, checkpoint)


def time_training(model_fn, batch, windows, config, args):
  """Returns sentences/sec of `args["steps"]` training steps on one constant batch."""
  with tf.Graph().as_default():
    tf1.set_random_seed(12345)
    loss = model_fn({k: tf.constant(v[:batch]) for k, v in windows.items()}, training.TRAIN).loss
    train_op = optimization.create_optimizer(loss, init_lr=5e-5, num_train_steps=1000, num_warmup_steps=100,
                                             optimizer_type="adam", amp=args["amp"]).train_op
    with tf1.Session(config=config) as sess:
      init_weights(sess, args["checkpoint"])
      for _ in range(args["warmup_steps"]):
        sess.run(train_op)
      start = time.perf_counter()
      for _ in range(args["steps"]):
        _, value = sess.run([train_op, loss])
      elapsed = time.perf_counter() - start
  if not math.isfinite(value):
    raise RuntimeError("training loss is not finite during the benchmark")
  return {"throughput": batch * args["steps"] / elapsed}


def time_inference(model_fn, batch, windows, config, args):
  """Returns throughput and latency percentiles (ms) of single-batch requests fed through placeholders."""
  windows = dict(windows, unique_ids=np.arange(len(windows["input_ids"]), dtype=np.int32))
  with tf.Graph().as_default():
    inputs = {name: tf1.placeholder(tf.int32, (None,) + value.shape[1:], name=name) for name, value in windows.items()}
    outputs = model_fn(dict(inputs), training.PREDICT).predictions
    feed = {inputs[name]: value[:batch] for name, value in windows.items()}
    latencies = []
    with tf1.Session(config=config) as sess:
      init_weights(sess, args["checkpoint"])
      for _ in range(args["warmup_steps"]):
        sess.run(outputs, feed)
      deadline = time.perf_counter() + args["max_seconds"]
      while len(latencies) < args["iterations"] and (len(latencies) < 5 or time.perf_counter() < deadline):
        start = time.perf_counter()
        sess.run(outputs, feed)
        latencies.append(1000.0 * (time.perf_counter() - start))
  ordered = sorted(latencies)

  def percentile(p):   # nearest rank
    return ordered[max(0, math.ceil(p / 100.0 * len(ordered)) - 1)]

  mean = statistics.mean(latencies)
  return {"throughput": batch * 1000.0 / mean, "latency_avg_ms": mean, "iterations": len(latencies),
          **{"latency_p%d_ms" % p: percentile(p) for p in (50, 90, 95, 99, 100)}}


def print_table(rows, train):
  """NVIDIA's README tables: training throughput per (sequence length, batch), inference throughput and
  latency percentiles per (model, sequence length, batch, precision)."""
  if train:
    print("\n| Sequence Length | Batch size | Precision | Throughput (sentences/sec) | XLA | load average |")
    print("|---|---|---|---|---|---|")
    for r in rows:
      print("| %d | %d | %s | %.2f | %s | %s |" % (r["seq_length"], r["batch_size"], r["precision"],
                                                  r["throughput"], r["xla"], r["loadavg"]))
    return
  print("\n| Model | Sequence Length | Batch Size | Precision | Throughput-Average(sent/sec) | Latency-Average(ms) "
        "| Latency-50%(ms) | Latency-90%(ms) | Latency-95%(ms) | Latency-99%(ms) | Latency-100%(ms) | batches "
        "| load average |")
  print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
  for r in rows:
    print("| %s | %d | %d | %s | %.2f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %d | %s |" % (
        r["model"], r["seq_length"], r["batch_size"], r["precision"], r["throughput"], r["latency_avg_ms"],
        r["latency_p50_ms"], r["latency_p90_ms"], r["latency_p95_ms"], r["latency_p99_ms"],
        r["latency_p100_ms"], r["iterations"], r["loadavg"]))


def main(_):
  tf1.disable_eager_execution()
  logging.set_verbosity(logging.WARNING)   # no per-example logging from the SQuAD feature conversion
  bert_config = modeling.BertConfig.from_json_file(FLAGS.bert_config_file)
  tokenizer = tokenization.FullTokenizer(FLAGS.vocab_file, do_lower_case=True)
  batch_sizes = [int(b) for b in FLAGS.batch_sizes]
  seq_lengths = [int(s) for s in FLAGS.seq_lengths]
  for s in seq_lengths:
    if s > bert_config.max_position_embeddings:
      raise ValueError("--seq_lengths: %d exceeds max_position_embeddings=%d of %s" % (
          s, bert_config.max_position_embeddings, FLAGS.bert_config_file))
  bad = [p for p in FLAGS.precisions if p not in ("fp32", "amp")]
  if bad:
    raise ValueError("--precisions takes fp32 and amp, got %s" % ", ".join(bad))
  checkpoint = training.resolve_checkpoint(FLAGS.init_checkpoint)
  train = FLAGS.mode == "train"
  args = dict(warmup_steps=FLAGS.warmup_steps, steps=FLAGS.steps, iterations=FLAGS.iterations,
              max_seconds=FLAGS.max_seconds, checkpoint=checkpoint)
  env = {k: os.environ.get(k, "(unset)") for k in ("TF_ENABLE_ONEDNN_OPTS", "TF_XLA_FLAGS")}
  print("TensorFlow %s; %s %s; threads %d/%d; xla %s; weights %s; %s" % (
      tf.__version__, FLAGS.model_name, FLAGS.mode, FLAGS.intra_op_threads, FLAGS.inter_op_threads,
      FLAGS.use_xla, checkpoint or "random", " ".join("%s=%s" % kv for kv in env.items())), flush=True)
  model_fn = run_squad.model_fn_builder(bert_config)
  rows = []
  for seq in seq_lengths:
    windows = squad_windows(train, tokenizer, seq, max(batch_sizes))
    for batch in batch_sizes:
      for precision in FLAGS.precisions:
        config = session_config(FLAGS.use_xla, FLAGS.intra_op_threads, FLAGS.inter_op_threads,
                                amp=precision == "amp")
        args["amp"] = precision == "amp"
        timer = time_training if train else time_inference
        row = dict(model=FLAGS.model_name, mode=FLAGS.mode, seq_length=seq, batch_size=batch,
                   precision=precision, xla=FLAGS.use_xla, **timer(model_fn, batch, windows, config, args),
                   loadavg=" ".join(load_average()))
        rows.append(row)
        print(json.dumps(row), flush=True)
  print_table(rows, train)
  if FLAGS.json_output:
    write_json_lines(FLAGS.json_output, rows)


if __name__ == "__main__":
  training.run_main(main)
