"""What the benchmark scripts share: the session config they time under, the machine load they report and
their JSON output."""
import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
  sys.path.insert(0, REPO)

from utils import training  # noqa: E402


def load_average():
  """The 1, 5 and 15 minute load averages (the machine may be shared: report them with the timings)."""
  with open("/proc/loadavg") as f:
    return f.read().split()[:3]


def session_config(use_xla, intra, inter, amp=False):
  """The session config of utils/training.Runtime for `use_xla` and `amp`, with the thread counts set.

  Raises:
    ValueError: for `amp` without a GPU (float16 auto mixed precision is a GPU-only graph rewrite).
  """
  runtime = training.Runtime(training.RunConfig(output_dir=None, use_xla=use_xla, amp=amp))
  if amp and not runtime.has_gpu:
    raise ValueError("precision amp needs a GPU (float16 auto mixed precision is GPU-only); use fp32")
  config = runtime.session_config()
  config.intra_op_parallelism_threads = intra
  config.inter_op_parallelism_threads = inter
  return config


def write_json_lines(path, rows):
  """Writes `rows` (dicts) to `path` as JSON lines, atomically."""
  with open(path + ".tmp", "w") as f:
    for row in rows:
      f.write(json.dumps(row) + "\n")
  os.replace(path + ".tmp", path)
