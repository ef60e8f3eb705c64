"""utils/sst2_slices.py: the held-back SST-2 slice keeps no phrase that occurs inside a training phrase."""
import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT, SUBPROCESS_ENV
from utils import sst2_slices

ROWS = ["the movie is a mess \t0", "a warm , funny film\t1", "the movie\t0", "funny\t1", "a mess of a plot\t0",
        "messy\t0", "warm\t1"]


def test_heldout_rows_inside_a_training_row_are_dropped():
  train, heldout, dropped = sst2_slices.make_slices(ROWS, train_rows=2, heldout_rows=5)
  assert train == ROWS[:2]
  # "the movie" and "funny" occur inside training rows; "messy" contains "mess" but is another word, and "a mess
  # of a plot" contains the training phrase "a mess" only as a piece, which is allowed (the reverse direction).
  # "warm" occurs inside "a warm , funny film".
  assert heldout == ["a mess of a plot\t0", "messy\t0"]
  assert dropped == 3


def test_overlapping_slices_are_refused():
  with pytest.raises(ValueError, match="overlap"):
    sst2_slices.make_slices(ROWS, train_rows=4, heldout_rows=4)


def test_cli_writes_both_files_and_names_a_bad_header(tmp_path):
  good = tmp_path / "train.tsv"
  good.write_text("sentence\tlabel\n" + "".join(r + "\n" for r in ROWS))
  out = tmp_path / "out"
  run = subprocess.run([sys.executable, "-m", "utils.sst2_slices", str(good), str(out), "--train_rows=2",
                        "--heldout_rows=5"], cwd=ROOT, env=SUBPROCESS_ENV, capture_output=True, text=True)
  assert run.returncode == 0, run.stderr
  assert (out / "dev.tsv").read_text() == "sentence\tlabel\na mess of a plot\t0\nmessy\t0\n"
  assert (out / "train.tsv").read_text().splitlines() == ["sentence\tlabel"] + ROWS[:2]
  bad = tmp_path / "bad.tsv"
  bad.write_text("text\tlabel\nfine\t1\n")
  run = subprocess.run([sys.executable, "-m", "utils.sst2_slices", str(bad), str(out)], cwd=ROOT,
                       env=SUBPROCESS_ENV, capture_output=True, text=True)
  assert run.returncode == 2
  assert run.stderr.strip() == "error: %s: line 1: expected the header 'sentence<TAB>label'" % bad


@pytest.mark.parametrize("rows", ["0", "2k"])
def test_downstream_script_names_a_bad_training_slice(tmp_path, rows):
  checkpoint, config = tmp_path / "model.ckpt-1", tmp_path / "bert_config.json"
  (tmp_path / "model.ckpt-1.index").write_text("")
  config.write_text("{}")
  run = subprocess.run(["bash", os.path.join(ROOT, "scripts", "pretraining_downstream.sh"), str(tmp_path / "out"),
                        str(checkpoint), str(config)], env=dict(SUBPROCESS_ENV, SST2_TRAIN_ROWS=rows),
                       capture_output=True, text=True)
  assert run.returncode == 2
  assert run.stderr.strip() == "error: SST2_TRAIN_ROWS=%s is not a positive row count" % rows


def test_downstream_dev_split_never_touches_the_held_back_slice(tmp_path):
  """SST2_DEV=1 trains on the first 3/4 of the training slice and scores on the rest, not on the held-back rows."""
  rows = ["w%04d phrase\t%d" % (i, i % 2) for i in range(2100)]
  glue = tmp_path / "shared" / "glue" / "SST-2"
  glue.mkdir(parents=True)
  (glue / "train.tsv").write_text("sentence\tlabel\n" + "".join(r + "\n" for r in rows))
  checkpoint, config = tmp_path / "model.ckpt-1", tmp_path / "bert_config.json"
  (tmp_path / "model.ckpt-1.index").write_text("")  # not a checkpoint: fine-tuning fails after the slices are made
  shutil.copy(os.path.join(ROOT, "scripts", "configs", "bert_tiny_config.json"), config)
  out = tmp_path / "out"
  run = subprocess.run(["bash", os.path.join(ROOT, "scripts", "pretraining_downstream.sh"), str(out), str(checkpoint),
                        str(config)], env=dict(SUBPROCESS_ENV, PYTHON=sys.executable, TASKS="sst2", SEEDS="1",
                                               SST2_TRAIN_ROWS="80", SST2_DEV="1", OPTIMIZER="lamb",
                                               BERT_SHARED_DATA=str(tmp_path / "shared")),
                       capture_output=True, text=True)
  assert run.returncode == 1 and "fine-tuning failed" in run.stderr
  read = lambda path: path.read_text().splitlines()[1:]
  assert read(out / "data" / "SST-2" / "train.tsv") == rows[:80]
  assert read(out / "data" / "SST-2" / "dev.tsv") == rows[100:]
  assert read(out / "data" / "SST-2-dev" / "train.tsv") == rows[:60]
  assert read(out / "data" / "SST-2-dev" / "dev.tsv") == rows[60:80]
  log = (out / "sst2" / "pretrained_s1.log").read_text()
  assert "--data_dir=%s" % (out / "data" / "SST-2-dev") in log and "--optimizer_type=lamb" in log


@pytest.mark.parametrize("env, message", [(dict(SST2_DEV="yes"), "error: SST2_DEV=yes: expected 0 or 1"),
                                          (dict(OPTIMIZER="sgd"), "error: OPTIMIZER=sgd: expected adam or lamb")])
def test_downstream_script_names_a_bad_switch(tmp_path, env, message):
  checkpoint, config = tmp_path / "model.ckpt-1", tmp_path / "bert_config.json"
  (tmp_path / "model.ckpt-1.index").write_text("")
  config.write_text("{}")
  run = subprocess.run(["bash", os.path.join(ROOT, "scripts", "pretraining_downstream.sh"), str(tmp_path / "out"),
                        str(checkpoint), str(config)], env=dict(SUBPROCESS_ENV, **env),
                       capture_output=True, text=True)
  assert run.returncode == 2
  assert run.stderr.strip() == message
