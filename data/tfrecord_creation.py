"""Runs create_pretraining_data.py over every shard, several at a time, with progress.

Each shard is one subprocess (so shards run in parallel worker processes); a small thread
pool starts and watches them. A shard's TFRecord is written under a temporary name in
`<dataset>/.tmp/` and moved into `<dataset>/<split>/` only when the run succeeded and wrote
a non-empty file, so a glob over the split directory never sees a partial file. A shard
whose TFRecord is newer than its text shard is skipped, which makes an interrupted run
resumable. The first failing shard stops the action with an error naming it.
"""

import collections
import concurrent.futures
import os
import subprocess
import sys
import time

Job = collections.namedtuple("Job", ["input_file", "output_file"])


def tfrecord_dir(working_dir, do_lower_case, max_seq_length, max_predictions_per_seq, masked_lm_prob,
                 random_seed, dupe_factor, n_training_shards, fraction_test_set):
  """The output folder, named from the hyperparameters as NVIDIA's bertPrep.py names it.

  Returns:
    e.g. <working_dir>/tfrecord/lower_case_1_seq_len_128_max_pred_20_masked_lm_prob_0.15_
    random_seed_12345_dupe_factor_5_shard_1472_test_split_10
  """
  name = "lower_case_%d_seq_len_%d_max_pred_%d_masked_lm_prob_%s_random_seed_%d_dupe_factor_%d" % (
      do_lower_case, max_seq_length, max_predictions_per_seq, masked_lm_prob, random_seed, dupe_factor)
  name += "_shard_%d_test_split_%d" % (n_training_shards, int(round(fraction_test_set * 100)))
  return os.path.join(working_dir, "tfrecord", name)


def make_jobs(shard_files, output_dir):
  """One Job per text shard: <output_dir>/<shard name>.tfrecord."""
  return [Job(f, os.path.join(output_dir, os.path.splitext(os.path.basename(f))[0] + ".tfrecord"))
          for f in shard_files]


def _command(script, job, tmp_output, options):
  cmd = [sys.executable, script, "--input_file=" + job.input_file, "--output_file=" + tmp_output]
  for name, value in options.items():
    if isinstance(value, bool):
      value = "true" if value else "false"
    cmd.append("--%s=%s" % (name, value))
  return cmd


def _run_job(script, job, options):
  """Runs one shard; returns (job, error message or None)."""
  tmp_dir = os.path.join(os.path.dirname(os.path.dirname(job.output_file)), ".tmp")
  os.makedirs(tmp_dir, exist_ok=True)
  tmp_output = os.path.join(tmp_dir, os.path.basename(job.output_file) + ".part")
  result = subprocess.run(_command(script, job, tmp_output, options), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, errors="replace")
  if result.returncode != 0:
    if os.path.exists(tmp_output):
      os.remove(tmp_output)
    tail = "\n".join(result.stdout.strip().splitlines()[-15:])
    return job, "exit code %d; last output:\n%s" % (result.returncode, tail)
  if not os.path.exists(tmp_output) or os.path.getsize(tmp_output) == 0:
    if os.path.exists(tmp_output):
      os.remove(tmp_output)
    return job, "no TFRecord examples were written (shard too small for max_seq_length?)"
  os.replace(tmp_output, job.output_file)
  return job, None


def _hms(seconds):
  seconds = int(seconds)
  return "%d:%02d:%02d" % (seconds // 3600, seconds // 60 % 60, seconds % 60)


def run_jobs(jobs, script, options, n_processes):
  """Runs create_pretraining_data.py for every job, `n_processes` at a time.

  Args:
    jobs: list of Job.
    script: path of create_pretraining_data.py.
    options: dict of its flags (besides --input_file/--output_file), e.g. {"vocab_file": ...,
      "do_lower_case": True, "max_seq_length": 128, ...}.
    n_processes: number of shards processed at the same time.

  Raises:
    ValueError: the script or an input shard is missing.
    RuntimeError: a shard failed; the message names the shard and shows its last output.
  """
  if not os.path.isfile(script):
    raise ValueError("%s not found: create_tfrecord_files needs create_pretraining_data.py" % script)
  for job in jobs:
    if not os.path.isfile(job.input_file):
      raise ValueError("%s: shard not found (run --action sharding with the same --n_training_shards/"
                       "--n_test_shards first)" % job.input_file)
  for job in jobs:
    os.makedirs(os.path.dirname(job.output_file), exist_ok=True)
  todo = [j for j in jobs if not (os.path.exists(j.output_file)
                                  and os.path.getmtime(j.output_file) >= os.path.getmtime(j.input_file))]
  if len(todo) < len(jobs):
    print("create_tfrecord_files: %d of %d shards already done, skipped" % (len(jobs) - len(todo), len(jobs)))
  start = time.time()
  done = 0
  try:
    with concurrent.futures.ThreadPoolExecutor(max(1, n_processes)) as pool:
      futures = [pool.submit(_run_job, script, job, options) for job in todo]
      try:
        for future in concurrent.futures.as_completed(futures):
          job, error = future.result()
          if error:
            raise RuntimeError("create_pretraining_data.py failed on shard %s: %s" % (job.input_file, error))
          done += 1
          elapsed = time.time() - start
          print("create_tfrecord_files: %d/%d shards done (%s), elapsed %s, ETA %s" % (
              done, len(todo), os.path.basename(job.output_file), _hms(elapsed),
              _hms(elapsed / done * (len(todo) - done))), flush=True)
      except BaseException:
        for future in futures:  # Shards not started yet are dropped; running ones finish.
          future.cancel()
        raise
  finally:
    for tmp_dir in {os.path.join(os.path.dirname(os.path.dirname(j.output_file)), ".tmp") for j in todo}:
      if os.path.isdir(tmp_dir) and not os.listdir(tmp_dir):
        os.rmdir(tmp_dir)
