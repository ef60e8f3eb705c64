"""What the benchmark scripts share: the runtimes and session configs they time under (one per precision, as the
run_*.py scripts make them), the machine they report and their JSON output."""
import json
import os
import sys

# oneDNN on unless the user set TF_ENABLE_ONEDNN_OPTS (TensorFlow reads it when it loads; the benchmarks import
# this module first): TensorFlow 2.18 leaves it off on CPUs without AVX-512, and bfloat16 is slow without it.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
  sys.path.insert(0, REPO)

import tensorflow as tf  # noqa: E402

from utils import cpu  # noqa: E402
from utils import training  # noqa: E402

PRECISIONS = ("fp32", "amp")


def load_average():
  """The 1, 5 and 15 minute load averages (the machine may be shared: report them with the timings)."""
  with open("/proc/loadavg") as f:
    return f.read().split()[:3]


def processor():
  """The processor's model and bfloat16/AMX flags, for table headers."""
  return "processor: " + cpu.describe()


def runtimes(precisions, use_xla=False):
  """One `training.Runtime` per precision, "fp32" or "amp" (--amp: what it computes depends on the machine, see
  training.amp_settings; its one line is logged here, once).

  Raises:
    ValueError: for a precision other than fp32 and amp.
  """
  bad = [p for p in precisions if p not in PRECISIONS]
  if bad or not precisions:
    raise ValueError("--precision takes fp32 and/or amp, got %s" % ", ".join(bad or ["nothing"]))
  return {p: training.Runtime(training.RunConfig(output_dir=None, use_xla=use_xla, amp=p == "amp"))
          for p in precisions}


def precision_label(runtime):
  """What a row computed: "fp32", or for amp "amp-fp16" (GPU), "amp-bf16" (CPU with bfloat16 units) or
  "amp-fp32" (a CPU without: --amp falls back to float32)."""
  if not runtime.config.amp:
    return "fp32"
  if runtime.loss_scaling:
    return "amp-fp16"
  return "amp-bf16" if runtime.compute_type == tf.bfloat16 else "amp-fp32"


def session_config(runtime, use_xla, intra, inter):
  """The session config of `runtime` (its GPU and AMP settings) with XLA auto-clustering on or off and the
  thread counts set. (Auto-clustering on a CPU also needs TF_XLA_FLAGS=--tf_xla_cpu_global_jit, which a
  runtime made with use_xla sets.)"""
  config = runtime.session_config()
  options = config.graph_options.optimizer_options
  options.global_jit_level = tf.compat.v1.OptimizerOptions.ON_1 if use_xla else tf.compat.v1.OptimizerOptions.DEFAULT
  config.intra_op_parallelism_threads = intra
  config.inter_op_parallelism_threads = inter
  return config


def write_json_lines(path, rows):
  """Writes `rows` (dicts) to `path` as JSON lines, atomically."""
  with open(path + ".tmp", "w") as f:
    for row in rows:
      f.write(json.dumps(row) + "\n")
  os.replace(path + ".tmp", path)
