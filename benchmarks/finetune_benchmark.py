"""Times SQuAD fine-tuning (training steps) or SQuAD inference over batch sizes and sequence lengths.

The graphs are run_squad.py's model_fn: BertModel with the span head; training adds its start/end
cross-entropy loss and optimization.create_optimizer (Adam with decoupled weight decay, warmup,
global-norm clipping), dropout on; inference is the serving graph (int32 inputs fed per request, dropout off,
start and end logits fetched), what the exported SavedModel runs. Inputs are real SQuAD windows: the shipped
data/samples/squad training (train mode) or dev (inference mode) questions tokenized with the model's vocab
and padded to the sequence length, as NVIDIA's benchmarks pad them. Weights are random unless
--init_checkpoint is given: the run time does not depend on their values.

Precisions (`--precision`): fp32, and amp as run_squad.py --amp runs it on this machine (bfloat16 compute on a CPU
with bfloat16 units, float16 on a GPU, float32 elsewhere: see utils/training.amp_settings); the table's precision
column says which. For each (sequence length, batch size) every precision has its own graph and session, warmed
up with --warmup_steps untimed steps (batches), and then the precisions take turns, one step (batch) each, so
load on a shared machine hits them alike.

Training: --steps timed steps; throughput = batch x steps / their wall seconds.
Inference: every batch is timed on its own, --iterations batches (or until a precision's batches took
--max_seconds): latency percentiles (nearest rank) of those batches, throughput = batch / mean latency.

Called by scripts/finetune_train_benchmark.sh and scripts/finetune_inference_benchmark.sh, which print
NVIDIA's table layout.
"""
import json
import math
import os
import statistics
import time

# common first: it sets TF_ENABLE_ONEDNN_OPTS before TensorFlow loads and puts the repository on sys.path.
import common
from absl import flags
from absl import logging
import numpy as np
import tensorflow as tf

import modeling
import optimization
import run_squad
import tokenization
from utils import squad
from utils import training

tf1 = tf.compat.v1

flags.DEFINE_string("bert_config_file", os.path.join(common.REPO, "scripts", "configs", "bert_base_config.json"),
                    "bert_config.json of the model to time.")
flags.DEFINE_string("vocab_file", os.path.join(common.REPO, "data", "samples", "vocab", "bert-base-uncased-vocab.txt"),
                    "WordPiece vocabulary the SQuAD windows are tokenized with (lower-cased).")
flags.DEFINE_string("init_checkpoint", None, "Checkpoint to time with (default: random weights; the run time "
                    "does not depend on them).")
flags.DEFINE_bool("use_xla", False, "Compile with XLA auto-clustering.")
flags.DEFINE_enum("mode", "inference", ["train", "inference"], "What to time.", case_sensitive=False)
flags.DEFINE_string("model_name", "bert-base", "Model name printed in the table.")
flags.DEFINE_list("batch_sizes", ["1", "8"], "Batch sizes to time.")
flags.DEFINE_list("seq_lengths", ["128", "384"], "Sequence lengths to time.")
flags.DEFINE_list("precision", ["fp32"], "Precisions to time: fp32 and/or amp (as --amp runs on this machine: "
                  "bfloat16 on a CPU with bfloat16 units, float16 on a GPU, else float32).")
flags.DEFINE_integer("intra_op_threads", 2, "intra_op_parallelism_threads of the session.")
flags.DEFINE_integer("inter_op_threads", 2, "inter_op_parallelism_threads of the session.")
flags.DEFINE_integer("warmup_steps", 2, "Untimed steps (batches) first.")
flags.DEFINE_integer("steps", 5, "train: timed steps per setting.")
flags.DEFINE_integer("iterations", 20, "inference: timed batches per setting (at most).")
flags.DEFINE_float("max_seconds", 60.0, "inference: stop timing a setting once its batches took this long (at "
                   "least 5 batches are timed).")
flags.DEFINE_string("json_output", None, "Optional file for the results as JSON lines.")
FLAGS = flags.FLAGS

SQUAD_SAMPLES = os.path.join(common.REPO, "data", "samples", "squad")
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


class TimedSession(object):
  """One precision's graph and session for one (batch size, sequence length): `run()` times one training step
  (train) or one inference batch fed through placeholders, as the exported SavedModel serves it."""

  def __init__(self, model_fn, train, batch, windows, config, args, runtime):
    graph = tf.Graph()
    with graph.as_default():
      if train:
        tf1.set_random_seed(12345)
        # The windows held in the graph, with each step's dropout seed as training.train gives it.
        batches = tf.data.Dataset.from_tensors({k: v[:batch] for k, v in windows.items()}).repeat()
        features = tf1.data.make_one_shot_iterator(
            training.training_stream(batches, tf.constant(0, tf.int64), runtime)).get_next()
        loss = model_fn(features, training.TRAIN).loss
        train_op = optimization.create_optimizer(loss, init_lr=5e-5, num_train_steps=1000, num_warmup_steps=100,
                                                 optimizer_type="adam", amp=runtime.loss_scaling).train_op
        self.fetches, self.feed = [train_op, loss], None
      else:
        windows = dict(windows, unique_ids=np.arange(len(windows["input_ids"]), dtype=np.int32))
        inputs = {name: tf1.placeholder(tf.int32, (None,) + value.shape[1:], name=name)
                  for name, value in windows.items()}
        self.fetches = model_fn(dict(inputs), training.PREDICT).predictions
        self.feed = {inputs[name]: value[:batch] for name, value in windows.items()}
      self.session = tf1.Session(config=config)
      init_weights(self.session, args["checkpoint"])
    self.train = train
    for _ in range(args["warmup_steps"]):
      self.session.run(self.fetches, self.feed)

  def run(self):
    """Runs one step or batch; returns its wall time in milliseconds."""
    start = time.perf_counter()
    values = self.session.run(self.fetches, self.feed)
    elapsed = 1000.0 * (time.perf_counter() - start)
    if self.train and not math.isfinite(values[1]):
      raise RuntimeError("training loss is not finite during the benchmark")
    return elapsed


def time_in_turns(sessions, train, args):
  """Runs the sessions one step (batch) each in turn: training `steps` each; inference until each has run
  `iterations` batches, or at least 5 taking `max_seconds` in all.

  Returns:
    dict precision -> list of milliseconds per step (batch).
  """
  def done(times):
    if train:
      return len(times) >= args["steps"]
    return len(times) >= args["iterations"] or (len(times) >= 5 and sum(times) >= 1000.0 * args["max_seconds"])

  times = {precision: [] for precision in sessions}
  while not all(done(t) for t in times.values()):
    for precision, session in sessions.items():
      if not done(times[precision]):
        times[precision].append(session.run())
  return times


def statistics_of(times, batch, train):
  """Training: throughput (sentences/sec). Inference: throughput and latency average and percentiles (ms)."""
  if train:
    return {"throughput": batch * len(times) * 1000.0 / sum(times)}
  ordered = sorted(times)

  def percentile(p):   # nearest rank
    return ordered[max(0, math.ceil(p / 100.0 * len(ordered)) - 1)]

  mean = statistics.mean(times)
  return {"throughput": batch * 1000.0 / mean, "latency_avg_ms": mean, "iterations": len(times),
          **{"latency_p%d_ms" % p: percentile(p) for p in (50, 90, 95, 99, 100)}}


def print_table(rows, train):
  """NVIDIA's README tables: training throughput per (sequence length, batch), inference throughput and
  latency percentiles per (model, sequence length, batch, precision); the processor above them."""
  print("\n" + common.processor())
  if train:
    print("| Sequence Length | Batch size | Precision | Throughput (sentences/sec) | XLA | load average |")
    print("|---|---|---|---|---|---|")
    for r in rows:
      print("| %d | %d | %s | %.2f | %s | %s |" % (r["seq_length"], r["batch_size"], r["precision"],
                                                  r["throughput"], r["xla"], r["loadavg"]))
    return
  print("| Model | Sequence Length | Batch Size | Precision | Throughput-Average(sent/sec) | Latency-Average(ms) "
        "| Latency-50%(ms) | Latency-90%(ms) | Latency-95%(ms) | Latency-99%(ms) | Latency-100%(ms) | batches "
        "| load average |")
  print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
  for r in rows:
    print("| %s | %d | %d | %s | %.2f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %d | %s |" % (
        r["model"], r["seq_length"], r["batch_size"], r["precision"], r["throughput"], r["latency_avg_ms"],
        r["latency_p50_ms"], r["latency_p90_ms"], r["latency_p95_ms"], r["latency_p99_ms"],
        r["latency_p100_ms"], r["iterations"], r["loadavg"]))


def check_flags(bert_config):
  """The batch sizes and sequence lengths to time; a ValueError for a length beyond the model's positions."""
  seq_lengths = [int(s) for s in FLAGS.seq_lengths]
  for s in seq_lengths:
    if s > bert_config.max_position_embeddings:
      raise ValueError("--seq_lengths: %d exceeds max_position_embeddings=%d of %s" % (
          s, bert_config.max_position_embeddings, FLAGS.bert_config_file))
  return [int(b) for b in FLAGS.batch_sizes], seq_lengths


def time_setting(model_fns, runtimes, train, batch, windows, args):
  """Times one (sequence length, batch size) in every precision, taking turns; returns precision -> statistics."""
  sessions = {}
  for precision, runtime in runtimes.items():
    config = common.session_config(runtime, FLAGS.use_xla, FLAGS.intra_op_threads, FLAGS.inter_op_threads)
    sessions[precision] = TimedSession(model_fns[precision], train, batch, windows, config, args, runtime)
  times = time_in_turns(sessions, train, args)
  for session in sessions.values():
    session.session.close()
  return {precision: statistics_of(t, batch, train) for precision, t in times.items()}


def main(_):
  tf1.disable_eager_execution()
  logging.set_verbosity(logging.WARNING)   # no per-example logging from the SQuAD feature conversion
  bert_config = modeling.BertConfig.from_json_file(FLAGS.bert_config_file)
  tokenizer = tokenization.FullTokenizer(FLAGS.vocab_file, do_lower_case=True)
  batch_sizes, seq_lengths = check_flags(bert_config)
  runtimes = common.runtimes(FLAGS.precision, use_xla=FLAGS.use_xla)
  checkpoint = training.resolve_checkpoint(FLAGS.init_checkpoint)
  train = FLAGS.mode == "train"
  args = dict(warmup_steps=FLAGS.warmup_steps, steps=FLAGS.steps, iterations=FLAGS.iterations,
              max_seconds=FLAGS.max_seconds, checkpoint=checkpoint)
  env = {k: os.environ.get(k, "(unset)") for k in ("TF_ENABLE_ONEDNN_OPTS", "TF_XLA_FLAGS")}
  print("TensorFlow %s; %s %s; threads %d/%d; xla %s; weights %s; %s; %s" % (
      tf.__version__, FLAGS.model_name, FLAGS.mode, FLAGS.intra_op_threads, FLAGS.inter_op_threads,
      FLAGS.use_xla, checkpoint or "random", " ".join("%s=%s" % kv for kv in env.items()), common.processor()),
      flush=True)
  model_fns = {p: run_squad.model_fn_builder(bert_config, runtime.compute_type) for p, runtime in runtimes.items()}
  rows = []
  for seq in seq_lengths:
    windows = squad_windows(train, tokenizer, seq, max(batch_sizes))
    for batch in batch_sizes:
      for precision, result in time_setting(model_fns, runtimes, train, batch, windows, args).items():
        row = dict(model=FLAGS.model_name, mode=FLAGS.mode, seq_length=seq, batch_size=batch,
                   precision=common.precision_label(runtimes[precision]), xla=FLAGS.use_xla, **result,
                   loadavg=" ".join(common.load_average()))
        rows.append(row)
        print(json.dumps(row), flush=True)
  print_table(rows, train)
  if FLAGS.json_output:
    common.write_json_lines(FLAGS.json_output, rows)


if __name__ == "__main__":
  training.run_main(main)
