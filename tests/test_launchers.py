"""The pretraining launchers (scripts/run_pretraining_lamb*.sh, run_pretraining_adam.sh and the presets of
scripts/configs/pretrain_config.sh) end to end on TFRecords made from the shipped real text, laid out as
data/bertPrep.py lays them out, and their argument checking."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from conftest import ROOT, SAMPLES

sys.path.insert(0, os.path.join(ROOT, "data"))
import tfrecord_creation  # noqa: E402

PYTHON = sys.executable
SCRIPTS = os.path.join(ROOT, "scripts")
CONFIG_SH = os.path.join(SCRIPTS, "configs", "pretrain_config.sh")
VOCAB = os.path.join(SAMPLES, "vocab", "bert-base-uncased-vocab.txt")
TRAIN_TEXT = os.path.join(SAMPLES, "pretrain", "gutenberg_sample.txt")
TEST_TEXT = os.path.join(SAMPLES, "pretrain", "sample_text.txt")
PHASE2_SEQ, PHASE2_PRED = 256, 40   # phase 2 at 512 tokens is too slow for a 2-core test
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1", PYTHON=PYTHON)


def _sample_dataset_dir(data_dir, seq, pred):
  """Where `create_datasets_from_start.sh sample` puts the sample_corpus TFRecords (2 training shards,
  20% test split)."""
  return os.path.join(tfrecord_creation.tfrecord_dir(data_dir, 1, seq, pred, 0.15, 12345, 5, 2, 0.2),
                      "sample_corpus")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
  """A data root holding TFRecords at 128/20 (phase 1) and 256/40 (phase 2) from the real sample text."""
  root = str(tmp_path_factory.mktemp("data"))
  procs = []
  for seq, pred in [(128, 20), (PHASE2_SEQ, PHASE2_PRED)]:
    for split, text in [("training", TRAIN_TEXT), ("test", TEST_TEXT)]:
      out = os.path.join(_sample_dataset_dir(root, seq, pred), split)
      os.makedirs(out)
      procs.append(subprocess.Popen(
          [PYTHON, os.path.join(ROOT, "create_pretraining_data.py"), "--input_file=" + text,
           "--output_file=" + os.path.join(out, "part-0.tfrecord"), "--vocab_file=" + VOCAB,
           "--do_lower_case", "--max_seq_length=%d" % seq, "--max_predictions_per_seq=%d" % pred,
           "--dupe_factor=1"], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
  for proc in procs:
    assert proc.wait() == 0, proc.stderr.read().decode()[-2000:]
  return root


def _preset(name):
  out = subprocess.run(["bash", "-c", 'source "$0" && %s' % name, CONFIG_SH], capture_output=True,
                       text=True, check=True)
  return out.stdout.split()


def _launch(script, args, **env):
  return subprocess.run(["bash", os.path.join(SCRIPTS, script)] + [str(a) for a in args],
                        env=dict(ENV, **env), capture_output=True, text=True)


def _eval_results(output_dir):
  with open(os.path.join(output_dir, "eval_results.txt")) as f:
    return {k: float(v) for k, v in (line.strip().split(" = ") for line in f)}


def test_lamb_cpu_preset_runs_phase2_from_phase1_final_weights(data_dir, tmp_path):
  args = _preset("cpu_2core_fp32")
  assert len(args) == 15 and args[7] == "1"   # one worker: python runs directly
  # A few updates: 12 in all, warmup 2 / 1, a checkpoint every 5.
  args[8:12] = ["2", "1", "12", "5"]
  results = str(tmp_path / "results")
  proc = _launch("run_pretraining_lamb.sh", args, DATA_DIR=data_dir, RESULTS_DIR=results,
                 MAX_SEQ_LENGTH_PHASE2=str(PHASE2_SEQ), MAX_PREDICTIONS_PHASE2=str(PHASE2_PRED))
  assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
  phase1, phase2 = os.path.join(results, "phase_1"), os.path.join(results, "phase_2")

  # Phase 1: 90% of the 12 updates at 128 tokens (checkpoints 0, 5, 10); phase 2: 10% of the sequences
  # (12 x 16 / 10) in global batches of 4 x 2 = 8, so 2 updates, at the overridden 256 tokens.
  assert tf.train.latest_checkpoint(phase1).endswith("model.ckpt-10")
  assert tf.train.latest_checkpoint(phase2).endswith("model.ckpt-2")
  assert "--max_seq_length=128" in proc.stdout and "--max_seq_length=%d" % PHASE2_SEQ in proc.stdout

  # Phase 2 started from phase 1's final checkpoint: the log names it, and phase 2's step-0 checkpoint holds
  # phase 1's final weights (every trained variable: those with a LAMB slot) with fresh optimizer slots and
  # step counter.
  loaded = re.findall(r"^init_checkpoint (\S+): (\d+) variables loaded, 0 initialized fresh", proc.stdout,
                      re.M)
  final1_path = os.path.join(phase1, "model.ckpt-10")
  assert [path for path, _ in loaded] == [final1_path]
  final1 = tf.train.load_checkpoint(final1_path)
  start2 = tf.train.load_checkpoint(os.path.join(phase2, "model.ckpt-0"))
  names = [n for n, _ in tf.train.list_variables(final1_path) if final1.has_tensor(n + "/lamb_m")]
  assert len(names) == int(loaded[0][1])
  for name in names:
    np.testing.assert_array_equal(start2.get_tensor(name), final1.get_tensor(name), err_msg=name)
  assert all(not start2.get_tensor(n + "/lamb_m").any() for n in names)
  assert any(final1.get_tensor(n + "/lamb_m").any() for n in names)
  assert start2.get_tensor("global_step") == 0 and final1.get_tensor("global_step") == 10

  # Both phases evaluated; the launcher printed the results and logged both phases to its log file.
  for out in (phase1, phase2):
    metrics = _eval_results(out)
    assert 0.0 <= metrics["masked_lm_accuracy"] <= 1.0 and metrics["eval_batches"] >= 1
    assert "Final eval results (%s/eval_results.txt)" % out in proc.stdout
  logs = [f for f in os.listdir(results) if f.startswith("tf_bert_pretraining_lamb_tiny_fp32_gbs116_gbs28")]
  assert len(logs) == 1
  with open(os.path.join(results, logs[0])) as f:
    log = f.read()
  assert log.count("FINAL masked_lm_accuracy") == 2 and "Phase 2: 2 updates" in log


@pytest.mark.slow   # the 2-process Horovod path is covered by tests/test_run_pretraining.py by default
@pytest.mark.horovod
def test_adam_two_workers_run_through_horovodrun(data_dir, tmp_path):
  results = str(tmp_path / "adam")
  # train_batch_size eval_batch_size lr precision use_xla num_gpus warmup steps save model accumulation
  # seq_len max_pred
  proc = _launch("run_pretraining_adam.sh", [4, 16, 1e-3, "fp32", "false", 2, 1, 3, 3, "tiny", 2, 128, 20],
                 DATA_DIR=data_dir, RESULTS_DIR=results)
  assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
  assert "run_pretraining.py on 2 worker(s)" in proc.stdout and "--horovod=True" in proc.stdout
  assert tf.train.latest_checkpoint(results).endswith("model.ckpt-3")
  assert "Final eval results" in proc.stdout and _eval_results(results)["eval_batches"] >= 1


@pytest.mark.parametrize("name", ["dgxa100_8gpu_fp16", "dgxa100_8gpu_tf32", "dgx2_16gpu_fp16",
                                  "dgx2_16gpu_fp32", "dgx1_8gpu_fp16", "dgx1_8gpu_fp32"])
def test_nvidia_presets_keep_nvidia_global_batches(name):
  args = _preset(name)
  check = subprocess.run(["bash", "-c", 'source "$0" && pretrain_lamb_args x "$@" && echo ok', CONFIG_SH]
                         + args, capture_output=True, text=True)
  assert check.stdout.strip() == "ok", check.stderr
  bs1, bs2, gpus, acc1, acc2 = (int(args[i]) for i in (0, 1, 7, 12, 13))
  assert (bs1 * gpus * acc1, bs2 * gpus * acc2) == (65536, 32768)
  assert args[8:12] == ["2000", "200", "7820", "100"] and args[14] == "large"


def test_missing_or_empty_arguments_take_nvidia_defaults():
  out = subprocess.run(["bash", "-c", 'source "$0" && pretrain_lamb_args x "" 3 && echo "${LAMB_ARGS[*]}"',
                        CONFIG_SH], capture_output=True, text=True, check=True)
  assert out.stdout.split() == ["64", "3", "8", "7.5e-4", "5e-4", "fp16", "true", "8", "2000", "200", "7820",
                                "100", "128", "512", "large"]


@pytest.mark.parametrize("script,args,message", [
    ("run_pretraining_lamb.sh", [16, 4, 16, 1e-2, 5e-3, "fp8"], "precision='fp8' is not a valid precision"),
    ("run_pretraining_lamb.sh", [16, 4, 16, 1e-2, 5e-3, "fp32", "yes"], "use_xla='yes' is not a valid bool"),
    ("run_pretraining_lamb.sh", [16, 4, 16, 1e-2, 5e-3, "fp32", "false", 0], "num_gpus='0' is not a valid"),
    ("run_pretraining_lamb.sh", [1] * 16, "16 arguments given, at most 15 expected"),
    ("run_pretraining_lamb.sh", [16, 4, 16, 1e-2, 5e-3, "fp32", "false", 1, 2, 1, 10, 5, 1, 2, "huge"],
     "bert_model='huge' is not a valid model"),
    ("run_pretraining_lamb_phase1.sh", [16, 4, 16, "fast"], "learning_rate_phase1='fast' is not a valid rate"),
    ("run_pretraining_lamb_phase2.sh", [16, 4, 16, 1e-2, 5e-3, "fp32", "false", 1, 2, 1, 5],
     "train_steps=5 leaves phase 2 no update"),
    ("run_pretraining_adam.sh", [8, 16, 1e-3, "fp8"], "precision='fp8' is not a valid precision"),
])
def test_bad_arguments_print_usage_and_fail(script, args, message, tmp_path):
  results = str(tmp_path / "results")
  proc = _launch(script, args, RESULTS_DIR=results)
  assert proc.returncode == 2
  assert "%s: error: %s" % (script, message) in proc.stderr
  assert "bash scripts/%s [" % script in proc.stderr   # the usage
  assert not os.path.exists(results)


def test_phase2_without_phase1_checkpoint_names_the_directory(tmp_path):
  proc = _launch("run_pretraining_lamb_phase2.sh", _preset("cpu_2core_fp32"),
                 RESULTS_DIR=str(tmp_path))
  assert proc.returncode != 0
  assert "no model.ckpt-* checkpoint in %s/phase_1" % tmp_path in proc.stderr
  assert not os.path.exists(tmp_path / "phase_2")


def test_missing_tfrecords_are_named(tmp_path):
  proc = _launch("run_pretraining_lamb_phase1.sh", _preset("cpu_2core_fp32"), DATA_DIR=str(tmp_path),
                 RESULTS_DIR=str(tmp_path / "results"))
  assert proc.returncode != 0
  assert "no TFRecords at seq_len 128 / max_pred 20: looked for %s/tfrecord/lower_case_1_seq_len_128" % tmp_path \
      in proc.stderr
  assert "create_datasets_from_start.sh" in proc.stderr
