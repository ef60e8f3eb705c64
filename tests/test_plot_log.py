"""utils/plot_log.py: reads the points of dllogger files written by utils.dllogger.DLLogger, draws PNGs of
overlaid runs, and fails with one line and status 2 on bad input or a missing matplotlib.

matplotlib is required here (requirements-plots.txt): these tests fail, not skip, without it.
"""
import os
import subprocess
import sys

import pytest

from conftest import ROOT
from utils import plot_log
from utils.dllogger import DLLogger

TOOL = os.path.join(ROOT, "utils", "plot_log.py")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _write_log(path, scale=1.0):
  """A pretraining-like log: parameters, metadata, train points, an eval metric at a step, final results."""
  logger = DLLogger(str(path), echo=False)
  logger.log("PARAMETER", {"learning_rate": 0.004, "train_batch_size": 64, "optimizer_type": "lamb"})
  logger.metadata("loss", {"unit": None, "format": ":.4f"})
  logger.log(0, {"loss": 10.5 * scale, "learning_rate": 0.0, "masked_lm_loss": 9.75})
  logger.log(20, {"loss": 8.25 * scale, "learning_rate": 0.0004, "throughput_train": 512.5})
  logger.log([40], {"loss": 7.5 * scale, "learning_rate": 0.0008, "throughput_train": 520.0,
                    "note": "text values are not points"})
  logger.log(40, {"masked_lm_accuracy": 0.125 * scale})
  logger.log((1, 2), {"loss": 99.0})      # a multi-part step is not a point
  logger.log((), {"loss": 98.0, "throughput_train": 515.0})  # final results
  logger.close()
  return str(path)


def _run_tool(args, cwd):
  return subprocess.run([sys.executable, TOOL] + list(args), capture_output=True, text=True, cwd=str(cwd),
                        timeout=300)


def _assert_one_line_error(proc, *fragments):
  assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
  lines = proc.stderr.strip().splitlines()
  assert len(lines) == 1, proc.stderr
  assert lines[0].startswith("plot_log.py: error: "), lines[0]
  for fragment in fragments:
    assert fragment in lines[0], lines[0]


def test_matplotlib_is_installed():
  try:
    import matplotlib  # noqa: F401
  except ImportError:
    pytest.fail("matplotlib is missing: pip install -r requirements-plots.txt")


def test_read_log_returns_exactly_the_logged_points(tmp_path):
  series = plot_log.read_log(_write_log(tmp_path / "run" / "bert_dllog.json"))
  assert series == {
      "loss": [(0, 10.5), (20, 8.25), (40, 7.5)],
      "learning_rate": [(0, 0.0), (20, 0.0004), (40, 0.0008)],
      "masked_lm_loss": [(0, 9.75)],
      "throughput_train": [(20, 512.5), (40, 520.0)],
      "masked_lm_accuracy": [(40, 0.125)],
  }


def test_read_log_skips_broken_lines_and_keeps_the_last_value_of_a_repeated_step(tmp_path):
  path = tmp_path / "bert_dllog.json"
  path.write_text('DLLL {"type": "LOG", "step": [10], "data": {"loss": 2.0}}\n'
                  "some stdout noise\n"
                  'DLLL {"type": "LOG", "step": [5], "data": {"loss": 3.0}}\n'
                  'DLLL {"type": "LOG", "step": [10], "data": {"loss": 1.5}}\n'
                  'DLLL {"type": "LOG", "step": [15], "data": {"lo')   # truncated by a kill
  assert plot_log.read_log(str(path)) == {"loss": [(5, 3.0), (10, 1.5)]}


def test_default_metrics_order(tmp_path):
  runs = [("a", {"eval_f1": [(1, 0.5)], "learning_rate": [(1, 0.1)], "throughput_train": [(1, 9.0)],
                 "masked_lm_accuracy": [(1, 0.2)], "loss": [(1, 1.0)]}),
          ("b", {"mcc": [(1, 0.3)], "eval_accuracy": [(1, 0.4)], "loss_scale": [(1, 2.0)]})]
  assert plot_log.default_metrics(runs) == ["loss", "learning_rate", "eval_accuracy", "masked_lm_accuracy",
                                            "eval_f1", "mcc"]
  assert plot_log.default_metrics([("a", {"throughput_train": [(1, 9.0)], "loss_scale": [(1, 2.0)]})]) == \
      ["loss_scale"]


def test_plot_runs_writes_a_png_of_two_overlaid_runs(tmp_path):
  runs = [("lamb", plot_log.read_log(_write_log(tmp_path / "lamb" / "bert_dllog.json"))),
          ("adam", plot_log.read_log(_write_log(tmp_path / "adam" / "bert_dllog.json", scale=1.5)))]
  out = tmp_path / "plots" / "curve.png"
  assert plot_log.plot_runs(runs, ["loss", "learning_rate", "masked_lm_accuracy"], str(out),
                            title="two runs") == str(out)
  data = out.read_bytes()
  assert data.startswith(PNG_MAGIC) and len(data) > 10000
  assert os.listdir(str(tmp_path / "plots")) == ["curve.png"]   # no temporary file left behind
  with pytest.raises(ValueError, match="eval_f1"):
    plot_log.plot_runs(runs, ["loss", "eval_f1"], str(out))


def test_cli_overlays_runs_and_writes_the_png(tmp_path):
  first = _write_log(tmp_path / "lamb4e-3" / "bert_dllog.json")
  second = _write_log(tmp_path / "adam1e-4" / "bert_dllog.json", scale=1.2)
  out = tmp_path / "curve.png"
  proc = _run_tool([first, second, "-o", str(out), "--title=pretraining"], tmp_path)
  assert proc.returncode == 0, proc.stderr
  assert out.read_bytes().startswith(PNG_MAGIC) and out.stat().st_size > 10000
  proc = _run_tool([first, second, "-o", "named.png", "--metrics=masked_lm_accuracy, loss",
                    "--labels=a,b"], tmp_path)
  assert proc.returncode == 0, proc.stderr
  assert (tmp_path / "named.png").read_bytes().startswith(PNG_MAGIC)


def test_cli_bad_input_prints_one_line_naming_the_file_or_flag(tmp_path):
  good = _write_log(tmp_path / "run" / "bert_dllog.json")
  params_only = tmp_path / "params" / "bert_dllog.json"
  logger = DLLogger(str(params_only), echo=False)
  logger.log("PARAMETER", {"learning_rate": 0.004})
  logger.log((), {"throughput_train": 5.0})
  logger.close()
  missing = str(tmp_path / "nowhere" / "bert_dllog.json")
  out = str(tmp_path / "curve.png")
  _assert_one_line_error(_run_tool([good, missing, "-o", out], tmp_path), missing, "no such file")
  _assert_one_line_error(_run_tool([str(params_only), "-o", out], tmp_path), str(params_only),
                         "no plottable points")
  _assert_one_line_error(_run_tool([good, "-o", out, "--metrics=loss,eval_f1"], tmp_path), "--metrics",
                         "eval_f1")
  _assert_one_line_error(_run_tool([good, "-o", out, "--labels=a,b"], tmp_path), "--labels")
  assert not os.path.exists(out)


def test_cli_without_matplotlib_prints_how_to_install_it(tmp_path):
  log = _write_log(tmp_path / "run" / "bert_dllog.json")
  out = str(tmp_path / "curve.png")
  blocker = (
      "import importlib.abc, runpy, sys\n"
      "class Block(importlib.abc.MetaPathFinder):\n"
      "  def find_spec(self, name, path=None, target=None):\n"
      "    if name == 'matplotlib' or name.startswith('matplotlib.'):\n"
      "      raise ImportError('blocked: ' + name)\n"
      "    return None\n"
      "sys.meta_path.insert(0, Block())\n"
      "sys.argv = sys.argv[1:]\n"
      "runpy.run_path(sys.argv[0], run_name='__main__')\n")
  proc = subprocess.run([sys.executable, "-c", blocker, TOOL, log, "-o", out], capture_output=True,
                        text=True, cwd=str(tmp_path), timeout=300)
  _assert_one_line_error(proc, "matplotlib is not installed", "requirements-plots.txt",
                         "scripts/setup.sh --plots")
  assert not os.path.exists(out)
