"""run_pretraining.py and the shared training loop on TFRecords made from the shipped real text."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from conftest import (ROOT, SAMPLES, SUBPROCESS_ENV as ENV, TRAIN_TEXT, make_pretraining_records, write_tiny_config)

PYTHON = sys.executable
HELDOUT_TEXT = os.path.join(SAMPLES, "pretrain_heldout", "chesterton_thursday_sample.txt")
SEQ, PRED = 64, 10


def _make_records(text, out_dir, seq=SEQ, dupe=2):
  return make_pretraining_records(text, out_dir, seq, PRED, dupe)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
  root = tmp_path_factory.mktemp("pretrain_data")
  return {"train": _make_records(TRAIN_TEXT, str(root / "train")),
          "eval": _make_records(HELDOUT_TEXT, str(root / "eval"), dupe=1),
          "config": write_tiny_config(str(root / "tiny.json")),
          "config_nodrop": write_tiny_config(str(root / "tiny_nodrop.json"), dropout=0.0)}


def _pretrain(output_dir, config, train_dir=None, eval_dir=None, extra=(), check=True, **kw):
  args = [PYTHON, os.path.join(ROOT, "run_pretraining.py"), "--bert_config_file=" + config,
          "--output_dir=" + output_dir, "--max_seq_length=%d" % kw.pop("seq", SEQ),
          "--max_predictions_per_seq=%d" % PRED, "--train_batch_size=8", "--eval_batch_size=16",
          "--num_warmup_steps=5", "--display_loss_steps=5", "--save_checkpoints_steps=10"]
  if train_dir:
    args += ["--do_train", "--input_files_dir=" + train_dir]
  if eval_dir:
    args += ["--do_eval", "--eval_files_dir=" + eval_dir]
  args += ["--%s=%s" % kv for kv in kw.items()] + list(extra)
  proc = subprocess.run(args, env=ENV, capture_output=True, text=True)
  if check and proc.returncode != 0:
    raise AssertionError("run_pretraining failed (%d):\n%s" % (proc.returncode, proc.stderr[-3000:]))
  return proc


def _dllog(output_dir):
  with open(os.path.join(output_dir, "bert_dllog.json")) as f:
    return [json.loads(line[5:]) for line in f if line.startswith("DLLL {")]


def _eval_results(output_dir):
  with open(os.path.join(output_dir, "eval_results.txt")) as f:
    return {k: float(v) for k, v in (line.strip().split(" = ") for line in f)}


def test_masked_lm_loss_falls_and_eval_reports_metrics(data, tmp_path):
  out = str(tmp_path / "run")
  _pretrain(out, data["config"], data["train"], data["eval"], num_train_steps=150,
            learning_rate=2e-3, optimizer_type="adam", max_eval_steps=20)
  logs = [r for r in _dllog(out) if r["type"] == "LOG" and isinstance(r["step"], list) and r["step"]]
  mlm = [r["data"]["masked_lm_loss"] for r in logs if "masked_lm_loss" in r["data"]]
  assert logs[-1]["step"] == [150]
  assert {"loss", "learning_rate", "throughput_train", "next_sentence_loss"} <= set(logs[-1]["data"])
  print("masked-LM loss by report:", ["%.2f" % x for x in mlm])
  assert mlm[0] > 9.5                      # ~ln(30522) = 10.3 at random initialisation
  assert mlm[-1] < mlm[0] - 2.5            # falls clearly within 150 steps
  result = _eval_results(out)
  assert set(result) >= {"masked_lm_accuracy", "masked_lm_loss", "next_sentence_accuracy",
                         "next_sentence_loss"}
  # 150 steps learn word frequencies, not words from context: the held-out loss is far below ln(30522) = 10.3,
  # and the arg-max is still the most frequent token, so the accuracy is that token's share (about 5%).
  assert result["masked_lm_loss"] < 8.0
  assert 0.03 < result["masked_lm_accuracy"] < 0.2
  # TensorBoard summaries were written.
  assert any(f.startswith("events.out.tfevents") for f in os.listdir(out))


def test_killed_run_resumes_from_its_last_checkpoint(data, tmp_path):
  out = str(tmp_path / "run")
  args = [PYTHON, os.path.join(ROOT, "run_pretraining.py"), "--bert_config_file=" + data["config"],
          "--output_dir=" + out, "--input_files_dir=" + data["train"], "--do_train",
          "--max_seq_length=%d" % SEQ, "--max_predictions_per_seq=%d" % PRED, "--train_batch_size=8",
          "--num_train_steps=400", "--num_warmup_steps=5", "--save_checkpoints_steps=10",
          "--learning_rate=1e-3"]
  proc = subprocess.Popen(args, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  try:
    deadline = time.time() + 240
    while not os.path.exists(os.path.join(out, "model.ckpt-20.index")):
      assert proc.poll() is None and time.time() < deadline, "no checkpoint at step 20"
      time.sleep(0.5)
  finally:
    proc.send_signal(signal.SIGKILL)
    proc.wait()
  last = tf.train.latest_checkpoint(out)
  done = int(last.rsplit("-", 1)[1])
  assert 20 <= done < 400
  resumed = _pretrain(out, data["config"], data["train"], num_train_steps=done + 10, learning_rate=1e-3)
  assert "resuming from %s" % last in resumed.stdout
  steps = [r["step"][0] for r in _dllog(out) if r["type"] == "LOG" and isinstance(r["step"], list)
           and r["step"]]
  assert steps[-1] == done + 10
  assert tf.train.latest_checkpoint(out).endswith("model.ckpt-%d" % (done + 10))


def _variables(checkpoint):
  reader = tf.train.load_checkpoint(checkpoint)
  return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


def test_same_seed_and_input_give_the_same_weights_with_several_files(data, tmp_path):
  """Two input files are interleaved in a fixed order: two runs with one --seed end bit-identical."""
  two_files = tmp_path / "two_files"
  shutil.copytree(data["train"], two_files)
  _make_records(HELDOUT_TEXT, str(tmp_path / "second"), dupe=1)
  shutil.copy(tmp_path / "second" / "part-0.tfrecord", two_files / "part-1.tfrecord")
  runs = []
  for name in ("a", "b"):
    out = str(tmp_path / name)
    _pretrain(out, data["config"], str(two_files), num_train_steps=15, learning_rate=1e-3, seed=7)
    runs.append(_variables(tf.train.latest_checkpoint(out)))
  assert runs[0].keys() == runs[1].keys()
  differing = [name for name in runs[0] if not np.array_equal(runs[0][name], runs[1][name])]
  assert differing == []


def test_phase2_loads_phase1_weights_but_not_optimizer_state(data, tmp_path):
  phase1, phase2 = str(tmp_path / "phase1"), str(tmp_path / "phase2")
  _pretrain(phase1, data["config"], data["train"], num_train_steps=10, learning_rate=1e-3)
  data128 = _make_records(TRAIN_TEXT, str(tmp_path / "data128"), seq=128, dupe=1)
  _pretrain(phase2, data["config"], data128, num_train_steps=2, num_warmup_steps=1, learning_rate=1e-3,
            seq=128,
            init_checkpoint=os.path.join(phase1, "model.ckpt-10"))
  p1 = tf.train.load_checkpoint(os.path.join(phase1, "model.ckpt-10"))
  p2 = tf.train.load_checkpoint(os.path.join(phase2, "model.ckpt-0"))   # before phase 2's first step
  names = p2.get_variable_to_shape_map()
  weights = [n for n in names if n.startswith(("bert/", "cls/")) and not n.endswith(("adam_m", "adam_v",
                                                                                      "lamb_m", "lamb_v"))]
  slots = [n for n in names if n.endswith(("lamb_m", "lamb_v"))]
  assert len(weights) == 2 * 16 + 5 + 2 + 7 and slots
  for n in weights:
    np.testing.assert_array_equal(p2.get_tensor(n), p1.get_tensor(n), err_msg=n)
  assert p1.get_tensor("global_step") == 10 and p2.get_tensor("global_step") == 0
  assert p1.get_tensor("input_position") == 10 and p2.get_tensor("input_position") == 0   # new input
  assert any(np.abs(p1.get_tensor(n)).max() > 0 for n in slots)
  assert all(np.abs(p2.get_tensor(n)).max() == 0 for n in slots)


def _worker(out, data, horovod=False, batch=8, steps=8, extra=()):
  cmd = [PYTHON, os.path.join(ROOT, "tests", "pretraining_worker.py"), "--out", out,
         "--data", os.path.join(data["train"], "part-0.tfrecord"), "--config", data["config_nodrop"],
         "--batch", str(batch), "--steps", str(steps)] + list(extra)
  if horovod:
    horovodrun = shutil.which("horovodrun") or os.path.join(os.path.dirname(PYTHON), "horovodrun")
    cmd = [horovodrun, "-np", "2", "-H", "localhost:2", "--gloo"] + cmd + ["--horovod"]
  os.makedirs(out, exist_ok=True)
  return subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=600)


@pytest.mark.horovod
def test_two_horovod_ranks_agree_and_match_one_process(data, tmp_path):
  two = _worker(str(tmp_path / "two"), data, horovod=True, batch=4)
  assert two.returncode == 0, two.stderr[-3000:]
  one = _worker(str(tmp_path / "one"), data, batch=8)
  assert one.returncode == 0, one.stderr[-3000:]
  r0, r1 = (np.load(str(tmp_path / "two" / ("rank%d.npz" % r))) for r in (0, 1))
  single = np.load(str(tmp_path / "one" / "rank0.npz"))
  for name in r0.files:
    if name != "losses":
      np.testing.assert_array_equal(r0[name], r1[name], err_msg=name)   # identical weights on both ranks
  # Same global batches (records 2k and 2k+1 on ranks 0 and 1 = records k of the single run's batch).
  # The masked-LM loss is normalised per rank by its own masked-token count, so the mean of the two
  # ranks' losses differs slightly from the single run's: 1% relative is allowed.
  two_loss = (r0["losses"] + r1["losses"]) / 2
  print("losses, 2 ranks:", np.round(two_loss, 4), "1 process:", np.round(single["losses"], 4))
  np.testing.assert_allclose(two_loss, single["losses"], rtol=0.01)
  kernel = "bert/encoder/layer_1/output/dense/kernel"
  assert np.abs(r0[kernel] - single[kernel]).max() < 1e-3


@pytest.mark.horovod
def test_a_failing_rank_fails_the_job_promptly(data, tmp_path):
  start = time.time()
  proc = _worker(str(tmp_path / "fail"), data, horovod=True, batch=4, steps=50,
                 extra=["--fail_rank", "1", "--fail_at_step", "3"])
  elapsed = time.time() - start
  assert proc.returncode != 0
  assert "injected failure at step 3" in proc.stderr + proc.stdout
  assert elapsed < 120, "the job took %.0f s to fail" % elapsed


def test_xla_compiles_the_step_and_gives_the_same_loss(data, tmp_path):
  plain = _worker(str(tmp_path / "plain"), data, steps=3)
  xla = _worker(str(tmp_path / "xla"), data, steps=3, extra=["--use_xla"])
  assert plain.returncode == 0 and xla.returncode == 0, xla.stderr[-3000:]
  assert "XLA service" in xla.stderr and "XLA service" not in plain.stderr
  a = np.load(str(tmp_path / "plain" / "rank0.npz"))["losses"]
  b = np.load(str(tmp_path / "xla" / "rank0.npz"))["losses"]
  np.testing.assert_allclose(a, b, rtol=1e-4)


def test_bad_inputs_give_clear_errors(data, tmp_path, minilm_tf_dir):
  empty = tmp_path / "empty"
  empty.mkdir()
  with_readme, mixed = tmp_path / "with_readme", tmp_path / "mixed"
  for folder in (with_readme, mixed):
    shutil.copytree(data["train"], folder)
  (with_readme / "z_README").write_text("Shard 0 of the corpus, made by create_pretraining_data.py.\n")
  _make_records(TRAIN_TEXT, str(tmp_path / "seq32"), seq=32, dupe=1)  # a later file made with another length
  shutil.copy(tmp_path / "seq32" / "part-0.tfrecord", mixed / "part-1.tfrecord")
  cases = [
      (dict(train_dir=str(with_readme)),   # its garbage "length" once crashed the reader (~8e18 bytes)
       "%s is not a TFRecord file (its first record header fails its checksum)" % (with_readme / "z_README")),
      (dict(train_dir=str(mixed)), "part-1.tfrecord: feature 'input_ids' has 32 values, expected 64"),
      (dict(train_dir=str(tmp_path / "nope")), "--input_files_dir=%s: no input files found" % (tmp_path / "nope")),
      (dict(train_dir=str(empty)), "no input files found"),
      (dict(train_dir=str(tmp_path / "em*")), "--input_files_dir=%s: no input files found" % (tmp_path / "em*")),
      (dict(train_dir=data["train"], seq=32),
       "part-0.tfrecord: feature 'input_ids' has 64 values, expected 32"),
      (dict(train_dir=data["train"], init_checkpoint=os.path.join(minilm_tf_dir, "bert_model.ckpt")),
       "bert/embeddings/word_embeddings has shape [30522, 384] in the checkpoint but [30522, 32] in the model"),
  ]
  for kwargs, message in cases:
    train_dir = kwargs.pop("train_dir")
    proc = _pretrain(str(tmp_path / "out"), data["config"], train_dir, check=False, num_train_steps=1,
                     **kwargs)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
  bad_config = tmp_path / "bad.json"
  bad_config.write_text('{"vocab_size": 10}')
  proc = _pretrain(str(tmp_path / "out"), str(bad_config), data["train"], check=False)
  assert proc.returncode == 2 and "bad.json: missing key(s) hidden_size" in proc.stderr
