"""Times BERT pretraining steps: sentences/sec and model GFLOP/s, per config, optimizer, precision and XLA on/off.

The graph is the real one: run_pretraining.model_fn_builder (BertModel + masked-LM + next-sentence heads,
dropout on) and optimization.create_optimizer (Adam or LAMB, global-norm clipping, warmup schedule), fed by
utils/training.tfrecord_input_fn (shuffle, parallel parse, batch, prefetch: the pipeline run_pretraining.py
uses) over TFRecords from create_pretraining_data.py. `--input=constant` instead feeds one such batch held
in the graph as constants, which shows what the input pipeline costs.

For each (config, optimizer) one graph is built per precision (`--precision`: fp32, and amp as run_pretraining.py
--amp runs it here: bfloat16 compute on a CPU with bfloat16 units, see utils/training.amp_settings) and run in
one session per XLA setting (auto-clustering with global_jit_level ON_1 and TF_XLA_FLAGS=--tf_xla_cpu_global_jit,
as utils/training.Runtime sets it). After `--warmup_steps` untimed steps per session (XLA compiles there), the
sessions take turns: each repeat runs `--steps` timed steps in every session back to back, so load on a shared
machine hits all settings alike. Reported: the median over repeats of sentences/sec (wall clock) and of CPU
seconds per step, and for amp its speed over fp32's (same config, optimizer and XLA setting).

Model FLOPs (counted per sentence, matmuls only; embedding gathers, softmax, layer norm, GELU, dropout and
the optimizer update are not counted), S = sequence length, P = predictions, L = layers, D = hidden,
I = intermediate, V = vocabulary:

  forward = 2*S*L*(4*D^2 + 2*D*I)      # Q, K, V, attention-output and the two feed-forward projections
          + 2*L*(2*S^2*D)              # Q.K^T scores and probs.V
          + 2*P*(D^2 + D*V)            # masked-LM transform and the (tied) output projection
          + 2*D^2 + 2*2*D              # pooler and next-sentence classifier
  training = 3 * forward               # backward = 2 x forward (gradients of inputs and of weights)
  model GFLOP/s = training * sentences/sec / 1e9

For BERT-base at S=128, P=20 this is 69.93 GFLOP per sentence, so 73.8 GFLOP/s is 1.055 sentences/sec,
consistent with the reference figure for Google's original code (1.06 sentences/sec, 73.8 GFLOP/s).

Called by scripts/pretraining_benchmark.sh, which makes the TFRecords.
"""
import os
import statistics
import time

# common first: it sets TF_ENABLE_ONEDNN_OPTS before TensorFlow loads and puts the repository on sys.path.
import common
from absl import flags
import tensorflow as tf

import modeling
import optimization
import run_pretraining
from utils import training

tf1 = tf.compat.v1

flags.DEFINE_list("bert_configs", ["bert_base=scripts/configs/bert_base_config.json",
                                   "minilm=scripts/configs/bert_minilm_config.json"],
                  "name=bert_config.json pairs (paths relative to the repository or absolute).")
flags.DEFINE_list("optimizers", ["adam", "lamb"], "Optimizers to time (adam, lamb).")
flags.DEFINE_list("xla", ["off", "on"], "XLA auto-clustering settings to time (off, on).")
flags.DEFINE_list("precision", ["fp32"], "Precisions to time: fp32 and/or amp (as --amp runs on this machine: "
                  "bfloat16 on a CPU with bfloat16 units, float16 on a GPU, else float32).")
flags.DEFINE_string("input_file", None, "TFRecord file(s) from create_pretraining_data.py (comma list).")
flags.DEFINE_enum("input", "tfrecord", ["tfrecord", "constant"],
                  "tfrecord: the training input pipeline; constant: one batch of the TFRecords held in "
                  "the graph.", case_sensitive=False)
flags.DEFINE_integer("batch_size", 16, "Sentences per step.")
flags.DEFINE_integer("max_seq_length", 128, "Sequence length of the TFRecords.")
flags.DEFINE_integer("max_predictions_per_seq", 20, "Masked positions per sequence in the TFRecords.")
flags.DEFINE_integer("intra_op_threads", 2, "intra_op_parallelism_threads of the sessions.")
flags.DEFINE_integer("inter_op_threads", 2, "inter_op_parallelism_threads of the sessions.")
flags.DEFINE_integer("warmup_steps", 3, "Untimed steps per session before timing (XLA compiles here).")
flags.DEFINE_integer("steps", 5, "Timed steps per repeat.")
flags.DEFINE_integer("repeats", 3, "Timed repeats per session; the median is reported.")
flags.DEFINE_list("reference", ["bert_base=1.06", "minilm=5.64"],
                  "config=sentences/sec of a reference to print the speed-up against: by default Google's "
                  "original modeling.py with its AdamWeightDecayOptimizer in a TF 2.18.1 compat.v1 session, "
                  "measured on this machine kind (2 threads, batch 16, sequence 128, 20 predictions, fp32).")
flags.DEFINE_string("json_output", None, "Optional file for the results as JSON lines.")
FLAGS = flags.FLAGS


def training_flops_per_sentence(config, seq_length, num_predictions):
  """Matmul FLOPs of one training step per sentence (see the module docstring for the formula)."""
  s, p, l = seq_length, num_predictions, config.num_hidden_layers
  d, i, v = config.hidden_size, config.intermediate_size, config.vocab_size
  forward = (2 * s * l * (4 * d * d + 2 * d * i) + 2 * l * (2 * s * s * d) +
             2 * p * (d * d + d * v) + 2 * d * d + 2 * 2 * d)
  return 3 * forward


def constant_input_fn(input_fn):
  """An input_fn giving, forever, the first batch of `input_fn` as graph constants."""
  with tf.Graph().as_default():
    batch = tf1.data.make_one_shot_iterator(input_fn()).get_next()
    with tf1.Session() as sess:
      values = sess.run(batch)

  def fn():
    return tf.data.Dataset.from_tensors({k: tf.constant(v) for k, v in values.items()}).repeat()

  return fn


def build_step(bert_config, optimizer_type, input_fn, runtime):
  """The pretraining graph at the precision of `runtime`, as run_pretraining.py builds it.

  Returns:
    (graph, initializer op, train op, loss), the graph finalized.
  """
  graph = tf.Graph()
  with graph.as_default():
    tf1.set_random_seed(12345)
    # With each micro-batch's dropout seed, as training.train reads the input.
    features = tf1.data.make_one_shot_iterator(
        training.training_stream(input_fn(), tf.constant(0, tf.int64), runtime)).get_next()
    model_fn = run_pretraining.model_fn_builder(bert_config, False, runtime.compute_type)
    loss = model_fn(features, training.TRAIN).loss
    train_op = optimization.create_optimizer(
        loss, init_lr=1e-4, num_train_steps=10000, num_warmup_steps=100, optimizer_type=optimizer_type,
        amp=runtime.loss_scaling).train_op
    init = tf1.global_variables_initializer()
  graph.finalize()
  return graph, init, train_op, loss


def benchmark_one(bert_config, optimizer_type, input_fn, runtimes, xla_settings, args):
  """Builds one pretraining graph per precision and times each in one session per XLA setting, all the sessions
  taking turns.

  Returns:
    dict (precision, xla setting) -> (list of sentences/sec, list of CPU seconds per step), one entry per repeat.
  """
  sessions = {}
  for precision, runtime in runtimes.items():
    graph, init, train_op, loss = build_step(bert_config, optimizer_type, input_fn, runtime)
    for xla in xla_settings:
      sess = tf1.Session(graph=graph, config=common.session_config(runtime, xla == "on", args["intra"],
                                                                   args["inter"]))
      sess.run(init)
      for _ in range(args["warmup_steps"]):
        sess.run([train_op, loss])
      sessions[(precision, xla)] = (sess, [train_op, loss])
  results = {key: ([], []) for key in sessions}
  for _ in range(args["repeats"]):
    for key, (sess, fetches) in sessions.items():
      wall, cpu = time.perf_counter(), time.process_time()
      for _ in range(args["steps"]):
        _, value = sess.run(fetches)
      wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
      if not value == value:   # NaN
        raise RuntimeError("loss became NaN during the benchmark")
      results[key][0].append(args["steps"] * args["batch_size"] / wall)
      results[key][1].append(cpu / args["steps"])
  for sess, _ in sessions.values():
    sess.close()
  return results


def parse_pairs(items, flag_name, form):
  """Splits "name=value" items of a list flag into (name, value) pairs; a ValueError names a bad item."""
  pairs = []
  for item in items:
    name, sep, value = item.partition("=")
    if not sep:
      raise ValueError("--%s: expected %s, got %r" % (flag_name, form, item))
    pairs.append((name, value))
  return pairs


def table_rows(name, optimizer_type, results, runtimes, flops, reference):
  """The rows of one (config, optimizer): one per (precision, XLA setting) of `results` (see benchmark_one).

  Args:
    name: the config's name.
    optimizer_type: adam or lamb.
    results: benchmark_one's result.
    runtimes: precision -> `training.Runtime`.
    flops: model FLOPs per sentence.
    reference: sentences/sec of the reference for this config, or None.
  """
  speeds = {key: statistics.median(repeats) for key, (repeats, _) in results.items()}
  rows = []
  for (precision, xla), (repeats, cpus) in results.items():
    speed, fp32 = speeds[(precision, xla)], speeds.get(("fp32", xla))
    rows.append(dict(config=name, optimizer=optimizer_type, precision=common.precision_label(runtimes[precision]),
                     xla=xla, gflop_per_sentence=flops / 1e9, sentences_per_sec=speed, gflops=speed * flops / 1e9,
                     cpu_s_per_step=statistics.median(cpus), repeats=repeats, loadavg=common.load_average(),
                     vs_reference=speed / reference if reference else None,
                     vs_fp32=speed / fp32 if precision != "fp32" and fp32 else None))
  return rows


ROW_FORMAT = "%-10s %-5s %-8s %-4s %14s %13s %11s %12s %9s %8s %s"
HEADER = ROW_FORMAT % ("config", "opt", "prec", "xla", "GFLOP/sentence", "sentences/s", "GFLOP/s", "cpu_s/step",
                       "vs ref", "vs fp32", "per repeat (sent/s)")


def format_row(r):
  ratios = ["%.2fx" % r[k] if r[k] is not None else "-" for k in ("vs_reference", "vs_fp32")]
  return ROW_FORMAT % (
      r["config"], r["optimizer"], r["precision"], r["xla"], "%.2f" % r["gflop_per_sentence"],
      "%.3f" % r["sentences_per_sec"], "%.1f" % r["gflops"], "%.2f" % r["cpu_s_per_step"], ratios[0], ratios[1],
      " ".join("%.3f" % s for s in r["repeats"]))


def check_flags():
  """Checks --input_file, --xla and --optimizers; returns the (name, BertConfig) pairs of --bert_configs."""
  if not FLAGS.input_file:
    raise ValueError("--input_file is required (TFRecords from create_pretraining_data.py)")
  bad = [x for x in FLAGS.xla if x not in ("off", "on")] + [
      o for o in FLAGS.optimizers if o not in optimization.OPTIMIZER_TYPES]
  if bad:
    raise ValueError("--xla takes off/on and --optimizers adam/lamb, got %s" % ", ".join(bad))
  return [(name, modeling.BertConfig.from_json_file(path if os.path.isabs(path) else os.path.join(common.REPO, path)))
          for name, path in parse_pairs(FLAGS.bert_configs, "bert_configs", "name=path")]


def print_header():
  env = {k: os.environ.get(k, "(unset)") for k in ("TF_ENABLE_ONEDNN_OPTS", "TF_XLA_FLAGS")}
  print("TensorFlow %s; batch %d, seq %d, %d predictions, precision %s, intra/inter-op threads %d/%d; input %s; "
        "%d warm-up + %d x %d timed steps; %s; %s" % (
            tf.__version__, FLAGS.batch_size, FLAGS.max_seq_length, FLAGS.max_predictions_per_seq,
            ",".join(FLAGS.precision), FLAGS.intra_op_threads, FLAGS.inter_op_threads, FLAGS.input,
            FLAGS.warmup_steps, FLAGS.repeats, FLAGS.steps, " ".join("%s=%s" % kv for kv in env.items()),
            common.processor()), flush=True)
  print("model FLOPs per sentence = 3 * [2*S*L*(4*D^2 + 2*D*I) + 4*L*S^2*D + 2*P*(D^2 + D*V) + 2*D^2 + 4*D] "
        "(matmuls only; training = 3 x forward)", flush=True)


def main(_):
  tf1.disable_eager_execution()
  configs = check_flags()
  # With use_xla a Runtime puts --tf_xla_cpu_global_jit in TF_XLA_FLAGS, which must happen before the first
  # session; sessions without XLA do not set global_jit_level, so nothing is clustered there.
  runtimes = common.runtimes(FLAGS.precision, use_xla="on" in FLAGS.xla)
  features = run_pretraining.name_to_features(FLAGS.max_seq_length, FLAGS.max_predictions_per_seq)
  input_fn = training.tfrecord_input_fn(training.list_input_files(FLAGS.input_file, "input_file"), features,
                                        FLAGS.batch_size, True, next(iter(runtimes.values())))
  if FLAGS.input == "constant":
    input_fn = constant_input_fn(input_fn)
  args = dict(intra=FLAGS.intra_op_threads, inter=FLAGS.inter_op_threads, warmup_steps=FLAGS.warmup_steps,
              steps=FLAGS.steps, repeats=FLAGS.repeats, batch_size=FLAGS.batch_size)
  print_header()
  reference = {name: float(value)
               for name, value in parse_pairs(FLAGS.reference, "reference", "config=sentences/sec")}
  rows = []
  for name, config in configs:
    flops = training_flops_per_sentence(config, FLAGS.max_seq_length, FLAGS.max_predictions_per_seq)
    for optimizer_type in FLAGS.optimizers:
      results = benchmark_one(config, optimizer_type, input_fn, runtimes, FLAGS.xla, args)
      for row in table_rows(name, optimizer_type, results, runtimes, flops, reference.get(name)):
        rows.append(row)
        print(format_row(row) + "  load " + " ".join(row["loadavg"]), flush=True)
  print("\n" + common.processor())
  print(HEADER)
  for r in rows:
    print(format_row(r))
  if reference:
    print("vs ref: sentences/sec over the reference (%s)" % ", ".join(FLAGS.reference))
  if FLAGS.json_output:
    common.write_json_lines(FLAGS.json_output, rows)


if __name__ == "__main__":
  training.run_main(main)
