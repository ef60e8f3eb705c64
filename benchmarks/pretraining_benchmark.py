"""Times BERT pretraining steps: sentences/sec and model GFLOP/s, per config, optimizer and XLA on/off.

The graph is the real one: run_pretraining.model_fn_builder (BertModel + masked-LM + next-sentence heads,
dropout on) and optimization.create_optimizer (Adam or LAMB, global-norm clipping, warmup schedule), fed by
utils/training.tfrecord_input_fn (shuffle, parallel parse, batch, prefetch: the pipeline run_pretraining.py
uses) over TFRecords from create_pretraining_data.py. `--input=constant` instead feeds one such batch held
in the graph as constants, which shows what the input pipeline costs.

For each (config, optimizer) one graph is built and run in one session per XLA setting (auto-clustering with
global_jit_level ON_1 and TF_XLA_FLAGS=--tf_xla_cpu_global_jit, as utils/training.Runtime sets it). After
`--warmup_steps` untimed steps per session (XLA compiles there), the sessions take turns: each repeat runs
`--steps` timed steps in every session back to back, so load on a shared machine hits all settings alike.
Reported: the median over repeats of sentences/sec (wall clock) and of CPU seconds per step.

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

from absl import flags
import tensorflow as tf

# common also puts the repository on sys.path.
from common import REPO, load_average, session_config, write_json_lines
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
flags.DEFINE_string("input_file", None, "TFRecord file(s) from create_pretraining_data.py (comma list).")
flags.DEFINE_enum("input", "tfrecord", ["tfrecord", "constant"],
                  "tfrecord: the training input pipeline; constant: one batch of the TFRecords held in "
                  "the graph.")
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


def benchmark_one(bert_config, optimizer_type, input_fn, xla_settings, args):
  """Builds one pretraining graph and times it in one session per XLA setting.

  Returns:
    dict xla setting -> (list of sentences/sec, list of CPU seconds per step), one entry per repeat.
  """
  with tf.Graph().as_default() as graph:
    tf1.set_random_seed(12345)
    features = tf1.data.make_one_shot_iterator(input_fn()).get_next()
    model_fn = run_pretraining.model_fn_builder(bert_config, report_loss=False)
    loss = model_fn(features, training.TRAIN).loss
    train_op = optimization.create_optimizer(
        loss, init_lr=1e-4, num_train_steps=10000, num_warmup_steps=100, optimizer_type=optimizer_type).train_op
    init = tf1.global_variables_initializer()
    graph.finalize()
    sessions = {}
    for xla in xla_settings:
      sess = tf1.Session(config=session_config(xla == "on", args["intra"], args["inter"]))
      sess.run(init)
      for _ in range(args["warmup_steps"]):
        sess.run([train_op, loss])
      sessions[xla] = sess
    results = {xla: ([], []) for xla in xla_settings}
    for _ in range(args["repeats"]):
      for xla, sess in sessions.items():
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(args["steps"]):
          _, value = sess.run([train_op, loss])
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if not value == value:   # NaN
          raise RuntimeError("loss became NaN during the benchmark")
        results[xla][0].append(args["steps"] * args["batch_size"] / wall)
        results[xla][1].append(cpu / args["steps"])
    for sess in sessions.values():
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


def format_row(r):
  ratio = "%.2fx" % r["vs_reference"] if r["vs_reference"] is not None else "-"
  return "%-10s %-5s %-4s %14.2f %13.3f %11.1f %12.2f %9s %s" % (
      r["config"], r["optimizer"], r["xla"], r["gflop_per_sentence"], r["sentences_per_sec"], r["gflops"],
      r["cpu_s_per_step"], ratio, " ".join("%.3f" % s for s in r["repeats"]))


def main(_):
  tf1.disable_eager_execution()
  if not FLAGS.input_file:
    raise ValueError("--input_file is required (TFRecords from create_pretraining_data.py)")
  bad = [x for x in FLAGS.xla if x not in ("off", "on")] + [
      o for o in FLAGS.optimizers if o not in optimization.OPTIMIZER_TYPES]
  if bad:
    raise ValueError("--xla takes off/on and --optimizers adam/lamb, got %s" % ", ".join(bad))
  configs = [(name, modeling.BertConfig.from_json_file(path if os.path.isabs(path) else os.path.join(REPO, path)))
             for name, path in parse_pairs(FLAGS.bert_configs, "bert_configs", "name=path")]
  files = training.list_input_files(FLAGS.input_file, "input_file")
  # With use_xla the Runtime puts --tf_xla_cpu_global_jit in TF_XLA_FLAGS, which must happen before the
  # first session; sessions without XLA do not set global_jit_level, so nothing is clustered there.
  runtime = training.Runtime(training.RunConfig(output_dir=None, use_xla="on" in FLAGS.xla))
  features = run_pretraining.name_to_features(FLAGS.max_seq_length, FLAGS.max_predictions_per_seq)
  input_fn = training.tfrecord_input_fn(files, features, FLAGS.batch_size, True, runtime)
  if FLAGS.input == "constant":
    input_fn = constant_input_fn(input_fn)
  args = dict(intra=FLAGS.intra_op_threads, inter=FLAGS.inter_op_threads, warmup_steps=FLAGS.warmup_steps,
              steps=FLAGS.steps, repeats=FLAGS.repeats, batch_size=FLAGS.batch_size)
  env = {k: os.environ.get(k, "(unset)") for k in ("TF_ENABLE_ONEDNN_OPTS", "TF_XLA_FLAGS")}
  print("TensorFlow %s; batch %d, seq %d, %d predictions, fp32, intra/inter-op threads %d/%d; input %s; "
        "%d warm-up + %d x %d timed steps; %s" % (
            tf.__version__, FLAGS.batch_size, FLAGS.max_seq_length, FLAGS.max_predictions_per_seq,
            FLAGS.intra_op_threads, FLAGS.inter_op_threads, FLAGS.input, FLAGS.warmup_steps, FLAGS.repeats,
            FLAGS.steps, " ".join("%s=%s" % kv for kv in env.items())), flush=True)
  print("model FLOPs per sentence = 3 * [2*S*L*(4*D^2 + 2*D*I) + 4*L*S^2*D + 2*P*(D^2 + D*V) + 2*D^2 + 4*D] "
        "(matmuls only; training = 3 x forward)", flush=True)
  header = "%-10s %-5s %-4s %14s %13s %11s %12s %9s %s" % (
      "config", "opt", "xla", "GFLOP/sentence", "sentences/s", "GFLOP/s", "cpu_s/step", "vs ref", "per repeat (sent/s)")
  reference = {name: float(value)
               for name, value in parse_pairs(FLAGS.reference, "reference", "config=sentences/sec")}
  rows = []
  for name, config in configs:
    flops = training_flops_per_sentence(config, FLAGS.max_seq_length, FLAGS.max_predictions_per_seq)
    for optimizer_type in FLAGS.optimizers:
      results = benchmark_one(config, optimizer_type, input_fn, FLAGS.xla, args)
      for xla, (speeds, cpus) in results.items():
        speed = statistics.median(speeds)
        row = dict(config=name, optimizer=optimizer_type, xla=xla, gflop_per_sentence=flops / 1e9,
                   sentences_per_sec=speed, gflops=speed * flops / 1e9, cpu_s_per_step=statistics.median(cpus),
                   repeats=speeds, loadavg=load_average(),
                   vs_reference=speed / reference[name] if name in reference else None)
        rows.append(row)
        print(format_row(row) + "  load " + " ".join(row["loadavg"]), flush=True)
  print("\n" + header)
  for r in rows:
    print(format_row(r))
  if reference:
    print("vs ref: sentences/sec over the reference (%s)" % ", ".join(FLAGS.reference))
  if FLAGS.json_output:
    write_json_lines(FLAGS.json_output, rows)


if __name__ == "__main__":
  training.run_main(main)
