"""Exact resume (issue 14): a run killed with SIGKILL at a random step after a checkpoint and started again with
the same command ends with the weights of an uninterrupted run of the same length, bit for bit (one process or
two Horovod workers on a CPU). The input position and the dropout streams are what make this hold: without
them the resumed run reads the data again from the start and draws other dropout masks. A restart whose input
means something else (other files, batch size, workers, accumulation steps or seed) stops with one line naming
the change (utils/resume.py).

Data: TFRecords made by create_pretraining_data.py from three shipped real texts (three files), and the shipped
samples for the fine-tuning scripts (CoLA for run_classifier.py, SQuAD v1.1 for run_squad.py, NCBI-disease for
run_ner.py, ChemProt for run_re.py); the model is the 2-layer hidden-32 test config with dropout 0.1.
"""
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from conftest import (ROOT, SAMPLES, SUBPROCESS_ENV as ENV, TRAIN_TEXT, VOCAB, make_pretraining_records,
                      write_tiny_config)
from utils import resume
from utils import training

PYTHON = sys.executable
TEXTS = (TRAIN_TEXT, os.path.join(SAMPLES, "pretrain_heldout", "chesterton_thursday_sample.txt"),
         os.path.join(SAMPLES, "pretrain", "sample_text.txt"))
SEQ, PRED = 64, 10
SAVE_EVERY = 10
SQUAD_TRAIN = "train-v1.1.3articles.reconstructed.json"
PROGRESS = re.compile(r"^(?:\[\d+\]<stdout>:)?step (\d+)/")   # horovodrun prefixes "[rank]<stdout>:"


@pytest.fixture(scope="module")
def config(tmp_path_factory):
  """The tiny config with dropout."""
  return write_tiny_config(str(tmp_path_factory.mktemp("config") / "tiny.json"), dropout=0.1)


@pytest.fixture(scope="module")
def data(tmp_path_factory, config):
  """Three TFRecord files (one per text) in one directory, and the tiny config with dropout."""
  root = tmp_path_factory.mktemp("resume")
  train = root / "train"
  train.mkdir()
  for i, text in enumerate(TEXTS):
    made = make_pretraining_records(text, str(root / ("part%d" % i)), SEQ, PRED, dupe=1)
    shutil.move(os.path.join(made, "part-0.tfrecord"), str(train / ("part-%d.tfrecord" % i)))
  return {"train": str(train), "config": config}


def _pretraining_command(data, out, steps, accumulation):
  return [PYTHON, os.path.join(ROOT, "run_pretraining.py"), "--do_train", "--input_files_dir=" + data["train"],
          "--bert_config_file=" + data["config"], "--output_dir=" + out, "--max_seq_length=%d" % SEQ,
          "--max_predictions_per_seq=%d" % PRED, "--train_batch_size=8", "--num_train_steps=%d" % steps,
          "--num_warmup_steps=5", "--learning_rate=1e-3", "--num_accumulation_steps=%d" % accumulation,
          "--save_checkpoints_steps=%d" % SAVE_EVERY, "--display_loss_steps=1", "--seed=3"]


def _finetuning_command(script, config, out, epochs, *args):
  """`script` --do_train from scratch on the tiny config, batches of 8, a checkpoint every SAVE_EVERY updates."""
  return [PYTHON, os.path.join(ROOT, script), "--do_train", "--vocab_file=" + VOCAB, "--bert_config_file=" + config,
          "--output_dir=" + out, "--train_batch_size=8", "--num_train_epochs=%g" % epochs, "--learning_rate=1e-3",
          "--save_checkpoints_steps=%d" % SAVE_EVERY, "--display_loss_steps=1", "--seed=3", *args]


def _classifier_command(config, out, epochs):
  return _finetuning_command("run_classifier.py", config, out, epochs, "--task_name=CoLA",
                             "--data_dir=" + os.path.join(SAMPLES, "glue", "CoLA"), "--max_seq_length=64")


def _run(cmd, out):
  os.makedirs(out, exist_ok=True)
  with open(os.path.join(out, "stderr.txt"), "a") as err:
    proc = subprocess.run(cmd, env=ENV, stdout=subprocess.PIPE, stderr=err, text=True, timeout=600)
  assert proc.returncode == 0, _tail(out)
  return proc.stdout


def _tail(out):
  with open(os.path.join(out, "stderr.txt")) as f:
    return f.read()[-3000:]


def _kill_at_step(cmd, out, kill_step):
  """Runs `cmd` until its progress passes `kill_step`, then SIGKILLs it and every process it started.

  Returns:
    The global step of the newest checkpoint left behind.
  """
  import psutil   # a Horovod dependency, installed with it
  os.makedirs(out, exist_ok=True)
  with open(os.path.join(out, "stderr.txt"), "a") as err:
    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=err, text=True)
    try:
      for line in proc.stdout:
        match = PROGRESS.match(line)
        if match and int(match.group(1)) >= kill_step:
          break
    finally:
      family = [proc.pid] + [p.pid for p in psutil.Process(proc.pid).children(recursive=True)]
      for pid in family:
        os.kill(pid, signal.SIGKILL)
      proc.wait()
  assert proc.returncode == -signal.SIGKILL, _tail(out)
  return int(tf.train.latest_checkpoint(out).rsplit("-", 1)[1])


def _variables(out):
  reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(out))
  return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


def _assert_same_weights(resumed_dir, uninterrupted_dir):
  """Every variable of the two final checkpoints (weights, optimizer slots, step, input position) is equal."""
  resumed, uninterrupted = _variables(resumed_dir), _variables(uninterrupted_dir)
  assert resumed.keys() == uninterrupted.keys()
  diffs = {name: float(np.max(np.abs(resumed[name].astype(np.float64) - uninterrupted[name])))
           for name in sorted(resumed)}
  print("max |resumed - uninterrupted| per variable (%d variables):" % len(diffs))
  for name, diff in diffs.items():
    print("  %-70s %g" % (name, diff))
  assert [name for name, diff in diffs.items() if diff != 0] == []


def _kill_and_resume(cmd_for, tmp_path, last_step, micro_batches_per_step):
  """Runs `cmd_for(output_dir)` uninterrupted, and killed at a random step after the first checkpoint and
  resumed; checks the resume point and the final weights. `last_step` None: the uninterrupted run's."""
  _run(cmd_for(str(tmp_path / "uninterrupted")), str(tmp_path / "uninterrupted"))
  if last_step is None:
    last_step = int(tf.train.latest_checkpoint(str(tmp_path / "uninterrupted")).rsplit("-", 1)[1])
  killed = str(tmp_path / "killed")
  kill_step = random.randint(SAVE_EVERY + 1, last_step - SAVE_EVERY)
  print("kill after step", kill_step)
  checkpoint_step = _kill_at_step(cmd_for(killed), killed, kill_step)
  assert SAVE_EVERY <= checkpoint_step < last_step
  stdout = _run(cmd_for(killed), killed)
  assert "resuming from %s" % os.path.join(killed, "model.ckpt-%d" % checkpoint_step) in stdout
  assert "skipping the %d micro-batches" % (checkpoint_step * micro_batches_per_step) in stdout
  assert tf.train.latest_checkpoint(killed).endswith("model.ckpt-%d" % last_step)
  _assert_same_weights(killed, str(tmp_path / "uninterrupted"))


def test_pretraining_killed_and_resumed_ends_with_the_uninterrupted_weights(data, tmp_path):
  """Three files interleaved, dropout, two micro-batches per update (the checkpoint falls between updates)."""
  _kill_and_resume(lambda out: _pretraining_command(data, out, 40, 2), tmp_path, 40, 2)


def test_classifier_killed_and_resumed_ends_with_the_uninterrupted_weights(config, tmp_path):
  """run_classifier.py on the CoLA sample (200 sentences, 25 batches per epoch): two epochs, so the resumed
  run crosses into the reshuffled second epoch; batches of similar lengths (--trim_padding), the head's dropout."""
  _kill_and_resume(lambda out: _classifier_command(config, out, 2), tmp_path, 50, 1)


def test_squad_killed_and_resumed_ends_with_the_uninterrupted_weights(config, tmp_path):
  """run_squad.py on the SQuAD v1.1 training sample (302 questions, 676 windows of 128 tokens): 3/4 of an epoch
  in 31 updates of two micro-batches, windows of similar lengths batched together (--trim_padding)."""
  def command(out):
    return _finetuning_command(
        "run_squad.py", config, out, 0.75, "--train_file=" + os.path.join(SAMPLES, "squad", SQUAD_TRAIN),
        "--max_seq_length=128", "--doc_stride=64", "--max_query_length=32", "--num_accumulation_steps=2")

  _kill_and_resume(command, tmp_path, 31, 2)


def test_ner_killed_and_resumed_ends_with_the_uninterrupted_weights(config, tmp_path):
  """run_ner.py on the NCBI-disease training sample (200 sentences in windows of 64 pieces): 1.5 epochs, so the
  resumed run may cross into the reshuffled second epoch; the token head's dropout."""
  data_dir = os.path.join(SAMPLES, "biobert", "NCBI-disease")
  _kill_and_resume(lambda out: _finetuning_command(
      "run_ner.py", config, out, 1.5, "--task_name=ncbi-disease", "--data_dir=" + data_dir, "--max_seq_length=64"),
      tmp_path, None, 1)


def test_re_killed_and_resumed_ends_with_the_uninterrupted_weights(config, tmp_path):
  """run_re.py on the ChemProt training sample (200 sentences with entity markers): 1.5 epochs."""
  data_dir = os.path.join(SAMPLES, "biobert", "chemprot")
  _kill_and_resume(lambda out: _finetuning_command(
      "run_re.py", config, out, 1.5, "--task_name=chemprot", "--data_dir=" + data_dir, "--max_seq_length=64"),
      tmp_path, None, 1)


@pytest.mark.slow   # three 2-worker jobs: 73 CPU-seconds, more than a minute on 2 cores
@pytest.mark.horovod
def test_two_horovod_workers_killed_and_resumed_end_with_the_uninterrupted_weights(data, tmp_path):
  """horovodrun -np 2 (Gloo), each worker reading its own files: the whole job (launcher and workers) is
  killed and started again; the final checkpoint holds what both workers' gradients made."""
  horovodrun = shutil.which("horovodrun") or os.path.join(os.path.dirname(PYTHON), "horovodrun")

  def command(out):
    return ([horovodrun, "-np", "2", "-H", "localhost:2", "--gloo"] + _pretraining_command(data, out, 30, 1)
            + ["--horovod"])

  _kill_and_resume(command, tmp_path, 30, 1)


def test_a_checkpoint_without_input_position_is_named(data, tmp_path):
  """A checkpoint from before the input position was saved cannot resume exactly: one line names it."""
  out = tmp_path / "old"
  with tf.Graph().as_default():
    step = tf.compat.v1.train.get_or_create_global_step()
    with tf.compat.v1.Session() as sess:
      sess.run(step.initializer)
      tf.compat.v1.train.Saver([step]).save(sess, str(out / "model.ckpt"), global_step=10)
  proc = subprocess.run(_pretraining_command(data, str(out), 20, 1), env=ENV, capture_output=True, text=True,
                        timeout=600)
  assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
  assert ("run_pretraining.py: error: %s holds no input_position (an older version wrote it)" %
          (out / "model.ckpt-10")) in proc.stderr


# ------------------------------------------------------------------------------- a resume with other input

@pytest.fixture(scope="module")
def checkpointed(data, tmp_path_factory):
  """run_pretraining.py's output_dir after 5 updates of 8 sequences from the three files (a checkpoint at 5)."""
  out = str(tmp_path_factory.mktemp("checkpointed") / "out")
  _run(_pretraining_command(data, out, 5, 1), out)
  return out


def _resume_with(checkpointed, tmp_path, data, *flags):
  """Runs the command of `checkpointed` to 8 updates with `flags` added, in a copy of its output_dir.

  Returns:
    (the CompletedProcess, the output_dir).
  """
  out = str(tmp_path / "out")
  shutil.copytree(checkpointed, out)
  proc = subprocess.run(_pretraining_command(data, out, 8, 1) + list(flags), env=ENV, capture_output=True,
                        text=True, timeout=600)
  return proc, out


def _error(proc):
  """The message of the one "run_pretraining.py: error: " line of a run that failed with status 2."""
  assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
  lines = [line for line in proc.stderr.splitlines() if line.startswith("run_pretraining.py: error: ")]
  assert len(lines) == 1, proc.stderr[-3000:]
  return lines[0][len("run_pretraining.py: error: "):]


def _record(out):
  with open(os.path.join(out, resume.RECORD)) as f:
    return json.load(f)


def test_the_record_says_what_the_input_position_means(checkpointed, data):
  sizes = {name: os.path.getsize(os.path.join(data["train"], name)) for name in os.listdir(data["train"])}
  assert _record(checkpointed) == {"workers": 1, "train_batch_size": 8, "num_accumulation_steps": 1, "seed": 3,
                                   "input_files": sizes}
  assert sorted(sizes) == ["part-0.tfrecord", "part-1.tfrecord", "part-2.tfrecord"]


def test_a_resume_with_another_batch_size_is_an_error(checkpointed, data, tmp_path):
  proc, out = _resume_with(checkpointed, tmp_path, data, "--train_batch_size=16")
  assert _error(proc) == ("--output_dir=%s holds a checkpoint of a run with --train_batch_size=8; this run has 16: "
                          "resume it with the same flags or use a new --output_dir" % out)
  assert _record(out) == _record(checkpointed)
  assert tf.train.latest_checkpoint(out).endswith("model.ckpt-5")


def test_a_resume_with_other_input_files_is_an_error(checkpointed, data, tmp_path):
  """part-1 replaced by a copy of part-0, part-2 gone: the first file that differs is named, and the count."""
  other = tmp_path / "other"
  other.mkdir()
  for name in ("part-0.tfrecord", "part-1.tfrecord"):
    shutil.copy(os.path.join(data["train"], "part-0.tfrecord"), str(other / name))
  sizes = _record(checkpointed)["input_files"]
  assert sizes["part-0.tfrecord"] != sizes["part-1.tfrecord"]
  proc, out = _resume_with(checkpointed, tmp_path, data, "--input_files_dir=%s" % other)
  assert _error(proc) == (
      "--output_dir=%s holds a checkpoint of a run with input file part-1.tfrecord of %d bytes; this run has %d "
      "bytes (2 input files differ): resume it with the same flags or use a new --output_dir" % (
          out, sizes["part-1.tfrecord"], sizes["part-0.tfrecord"]))


def test_a_resume_with_other_accumulation_steps_is_an_error(checkpointed, data, tmp_path):
  """The input position would still count micro-batches of the same stream, but the updates are not the run's
  (and a checkpoint without accumulation lacks the accumulators)."""
  proc, out = _resume_with(checkpointed, tmp_path, data, "--num_accumulation_steps=2")
  assert _error(proc) == ("--output_dir=%s holds a checkpoint of a run with --num_accumulation_steps=1; this run "
                          "has 2: resume it with the same flags or use a new --output_dir" % out)


def test_a_resume_without_a_record_warns_and_writes_one(checkpointed, data, tmp_path):
  """A checkpoint written before the record existed resumes, unchecked, and the record is written."""
  out = str(tmp_path / "old")
  shutil.copytree(checkpointed, out)
  os.remove(os.path.join(out, resume.RECORD))
  proc = subprocess.run(_pretraining_command(data, out, 8, 1), env=ENV, capture_output=True, text=True, timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "input: skipping the 5 micro-batches read before the checkpoint" in proc.stdout
  assert ("warning: %s holds no input_position.json (an older version wrote the checkpoint): this resume cannot "
          "check that the input files, batch size, workers, accumulation steps and --seed are those of the run it "
          "resumes\n" % out) in proc.stderr
  assert _record(out) == _record(checkpointed)


@pytest.mark.parametrize("changes,then,now", [
    (dict(workers=1), "2 Horovod workers", "1"),
    (dict(workers=2, seed=4), "1 worker and --seed=3", "2 and 4"),
    (dict(input_files={"a.tfrecord": 10, "b.tfrecord": 20, "c.tfrecord": 5}), "no input file c.tfrecord",
     "one of 5 bytes"),
    (dict(input_files={"a.tfrecord": 10}), "input file b.tfrecord of 20 bytes", "no b.tfrecord"),
], ids=["fewer_workers", "more_workers_and_seed", "added_file", "removed_file"])
def test_compare_names_every_change(changes, then, now):
  previous = {"workers": 2 if changes.get("workers") == 1 else 1, "train_batch_size": 8,
              "num_accumulation_steps": 4, "seed": 3, "input_files": {"a.tfrecord": 10, "b.tfrecord": 20}}
  current = dict(previous, **changes)
  assert resume.compare(previous, current, "out") == (
      "--output_dir=out holds a checkpoint of a run with %s; this run has %s: resume it with the same flags or use "
      "a new --output_dir" % (then, now))


def test_compare_finds_no_change_in_the_same_record_nor_in_an_input_without_files():
  record = resume.describe(None, 8, 1, 1, 3)
  assert resume.compare(record, dict(record), "out") is None
  assert resume.compare(dict(record, input_files={"a.tfrecord": 10}), record, "out") is None


def test_a_fresh_start_replaces_the_record_of_a_run_that_left_no_checkpoint(tmp_path):
  """A run killed before its first checkpoint left its record; the next run starts afresh, with any flags."""
  old = resume.describe(None, 16, 1, 1, 3)
  new = resume.describe(None, 32, 1, 1, 3)
  training.check_input_record(str(tmp_path), None, old)
  training.check_input_record(str(tmp_path), None, new)
  assert resume.read(str(tmp_path)) == new
  assert os.listdir(tmp_path) == [resume.RECORD]


def test_a_record_that_is_not_json_is_named(tmp_path):
  (tmp_path / resume.RECORD).write_text("{")
  with pytest.raises(ValueError) as error:
    resume.read(str(tmp_path))
  assert str(error.value) == ("%s is not valid JSON (Expecting property name enclosed in double quotes: line 1 "
                              "column 2 (char 1)): delete it to resume without checking the input" % (
                                  tmp_path / resume.RECORD))
