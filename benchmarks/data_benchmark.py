"""Times create_pretraining_data.py: instances/sec, CPU seconds and peak RSS over several runs.

Each run is a fresh process (start-up and imports included), measured with os.wait4: wall time, user+sys
CPU time and the process's peak resident set size. Instances are counted by reading the TFRecord output.
Prints one row per run and the medians. Called by scripts/data_benchmark.sh, which prepares the input.
"""
import os
import statistics
import struct
import subprocess
import sys
import time

from absl import app, flags

flags.DEFINE_string("input_file", None, "Sentence-per-line text to feed create_pretraining_data.py.")
flags.DEFINE_string("vocab_file", None, "WordPiece vocab.")
flags.DEFINE_string("work_dir", None, "Where the TFRecord outputs go.")
flags.DEFINE_integer("runs", 5, "Number of timed runs.")
flags.DEFINE_list("script_flags", ["--max_seq_length=128", "--max_predictions_per_seq=20",
                                   "--masked_lm_prob=0.15", "--dupe_factor=5", "--random_seed=12345",
                                   "--do_lower_case"],
                  "Flags passed on to create_pretraining_data.py.")
FLAGS = flags.FLAGS

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def count_records(path):
  """Number of records in a TFRecord file (walks the length headers)."""
  count = 0
  with open(path, "rb") as f:
    while True:
      header = f.read(12)
      if not header:
        return count
      (length,) = struct.unpack("<Q", header[:8])
      f.seek(length + 4, os.SEEK_CUR)
      count += 1


def timed_run(cmd, log_path):
  """Runs cmd; returns (wall seconds, CPU seconds, peak RSS in MiB)."""
  start = time.perf_counter()
  with open(log_path, "wb") as log:
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    _, status, usage = os.wait4(proc.pid, 0)
  wall = time.perf_counter() - start
  if os.waitstatus_to_exitcode(status) != 0:
    with open(log_path, errors="replace") as log:
      sys.exit("create_pretraining_data.py failed:\n" + log.read()[-3000:])
  return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0  # ru_maxrss is in KiB on Linux.


def main(_):
  os.makedirs(FLAGS.work_dir, exist_ok=True)
  output = os.path.join(FLAGS.work_dir, "benchmark.tfrecord")
  cmd = [sys.executable, os.path.join(REPO, "create_pretraining_data.py"), "--input_file=" + FLAGS.input_file,
         "--output_file=" + output, "--vocab_file=" + FLAGS.vocab_file] + FLAGS.script_flags
  print("command: " + " ".join(cmd))
  header = ("run", "instances", "seconds", "instances/sec", "cpu_sec", "peak_RSS_MiB")
  print("%-5s %10s %9s %15s %9s %14s" % header)
  rows = []
  for run in range(1, FLAGS.runs + 1):
    wall, cpu, rss = timed_run(cmd, os.path.join(FLAGS.work_dir, "run%d.log" % run))
    instances = count_records(output)
    rows.append((instances, wall, instances / wall, cpu, rss))
    print("%-5d %10d %9.2f %15.0f %9.2f %14.1f" % ((run,) + rows[-1]), flush=True)
  medians = [statistics.median(column) for column in zip(*rows)]
  print("%-5s %10d %9.2f %15.0f %9.2f %14.1f" % ("median", *medians))


if __name__ == "__main__":
  flags.mark_flags_as_required(["input_file", "vocab_file", "work_dir"])
  app.run(main)
