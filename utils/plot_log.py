"""Plots training curves from dllogger JSON-lines files (`bert_dllog.json`), several runs overlaid.

  python utils/plot_log.py RUN1/bert_dllog.json [RUN2/bert_dllog.json ...] -o curve.png \
      [--metrics=loss,learning_rate,masked_lm_accuracy] [--labels=a,b] [--title=...]

Each line of a log is `DLLL {json}` as `utils/dllogger.py` writes it. A point is a line whose "step" is an
int or a one-element list of an int; its numeric "data" values are the metrics at that step (train loss,
learning rate, throughput, eval metrics logged at a step). PARAMETER lines, final results (step []),
multi-part steps and METADATA lines are skipped. One subplot per metric, x axis = step; a run's label is its
file's parent directory name unless --labels are given.

matplotlib is optional (requirements-plots.txt): it is imported only when plotting, through the Agg canvas.
Bad input (a missing or unreadable file, a file with no points, an unknown metric, a wrong number of
labels) and a missing matplotlib print one line to stderr and exit with status 2.
"""

import argparse
import json
import os
import sys
import tempfile

PROG = "plot_log.py"
MISSING_MATPLOTLIB = ("matplotlib is not installed; run `bash scripts/setup.sh --plots` or "
                      "`pip install -r requirements-plots.txt`")
# Default subplots: these keys, then keys containing each fragment, in this order, when present.
DEFAULT_KEYS = ("loss", "learning_rate")
DEFAULT_FRAGMENTS = ("accuracy", "f1", "mcc", "corr")


class MissingMatplotlibError(ImportError):
  """matplotlib cannot be imported; the message says how to install it."""


def _point_step(record):
  """Returns the int step of a parsed dllogger record, or None when the record is not a point."""
  step = record.get("step") if isinstance(record, dict) else None
  if isinstance(step, list) and len(step) == 1:
    step = step[0]
  if isinstance(step, int) and not isinstance(step, bool):
    return step
  return None


def _is_number(value):
  return isinstance(value, (int, float)) and not isinstance(value, bool)


def read_log(path):
  """Reads the points of one dllogger JSON-lines file.

  Lines that are not `DLLL {json}` records (e.g. a truncated last line of a killed run) are skipped. A step
  logged twice (a run resumed from an earlier checkpoint appends to the same file) keeps its last value.

  Args:
    path: the dllogger file.

  Returns:
    dict metric name -> list of (step, value) sorted by step; empty when the file has no points.

  Raises:
    OSError: the file cannot be read.
  """
  series = {}
  with open(path, encoding="utf-8", errors="replace") as f:
    for line in f:
      if not line.startswith("DLLL "):
        continue
      try:
        record = json.loads(line[5:])
      except ValueError:
        continue
      step = _point_step(record)
      data = record.get("data")
      if step is None or record.get("type", "LOG") != "LOG" or not isinstance(data, dict):
        continue
      for key, value in data.items():
        if _is_number(value):
          series.setdefault(key, {})[step] = float(value)
  return {key: sorted(points.items()) for key, points in series.items()}


def default_metrics(runs):
  """Chooses the subplots when none are named: loss, learning_rate, then every key containing "accuracy",
  "f1", "mcc" or "corr" (sorted within each group), when present. When none of these is present, every key
  but throughput-like ones.

  Args:
    runs: list of (label, series) pairs, series as `read_log` returns.

  Returns:
    list of metric names.
  """
  keys = sorted(set(k for _, series in runs for k in series))
  chosen = [k for k in DEFAULT_KEYS if k in keys]
  for fragment in DEFAULT_FRAGMENTS:
    chosen += [k for k in keys if fragment in k.lower() and k not in chosen]
  return chosen or [k for k in keys if "throughput" not in k.lower()] or keys


def _agg_figure(figsize):
  """Imports matplotlib and returns (Figure, its Agg canvas), leaving pyplot's global state alone.

  Raises:
    MissingMatplotlibError: matplotlib is not importable.
  """
  try:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
  except ImportError as e:
    raise MissingMatplotlibError(MISSING_MATPLOTLIB) from e
  figure = Figure(figsize=figsize, layout="constrained")
  return figure, FigureCanvasAgg(figure)


def _draw_metric(ax, runs, metric):
  """Draws one metric of every run on `ax`; a run's colour is fixed by its index."""
  for i, (label, series) in enumerate(runs):
    points = series.get(metric)
    if not points:
      continue
    steps, values = zip(*points)
    ax.plot(steps, values, color="C%d" % (i % 10), label=label, linewidth=1.2,
            marker="o" if len(points) <= 30 else None, markersize=3)
  ax.set_ylabel(metric)
  ax.grid(True, alpha=0.3)


def plot_runs(runs, metrics, output_path, title=None):
  """Draws one subplot per metric, the runs overlaid, and writes a PNG atomically (a temporary file in the
  same folder, then os.replace).

  Args:
    runs: list of (label, series) pairs, series as `read_log` returns (a dict label -> series also works).
    metrics: metric names, one subplot each, top to bottom.
    output_path: the PNG to write; its folder is created if needed.
    title: (optional) figure title.

  Returns:
    output_path.

  Raises:
    ValueError: no metrics, or a metric that no run has.
    MissingMatplotlibError: matplotlib is not installed.
  """
  runs = list(runs.items()) if isinstance(runs, dict) else list(runs)
  missing = [m for m in metrics if not any(series.get(m) for _, series in runs)]
  if not metrics or missing:
    raise ValueError("no metric to plot" if not metrics else "no run has metric(s) %s" % ", ".join(missing))
  figure, canvas = _agg_figure((9, 1.0 + 2.4 * len(metrics)))
  axes = figure.subplots(len(metrics), 1, sharex=True, squeeze=False)[:, 0]
  for ax, metric in zip(axes, metrics):
    _draw_metric(ax, runs, metric)
  from matplotlib.lines import Line2D
  from matplotlib.ticker import MaxNLocator
  axes[-1].set_xlabel("step")
  axes[-1].xaxis.set_major_locator(MaxNLocator(integer=True))
  handles = [Line2D([], [], color="C%d" % (i % 10), label=label) for i, (label, _) in enumerate(runs)]
  axes[0].legend(handles=handles, fontsize="small", loc="best")
  if title:
    figure.suptitle(title)
  _write_atomically(canvas, output_path)
  return output_path


def _write_atomically(canvas, output_path):
  """Renders `canvas` as PNG to a temporary file beside `output_path`, then renames it into place."""
  folder = os.path.dirname(os.path.abspath(output_path))
  os.makedirs(folder, exist_ok=True)
  fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(output_path) + ".", suffix=".tmp", dir=folder)
  try:
    with os.fdopen(fd, "wb") as f:
      canvas.print_png(f)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)   # mkstemp makes it private; the picture is not
    os.replace(tmp, output_path)
  except BaseException:
    if os.path.exists(tmp):
      os.remove(tmp)
    raise


def _split_list(text):
  return [item.strip() for item in text.split(",") if item.strip()] if text is not None else None


def _labels(paths, labels):
  """Returns one label per file: `labels` as given, else each file's parent directory name (the path when
  two files share it).

  Raises:
    ValueError: the number of labels differs from the number of files.
  """
  if labels is not None:
    if len(labels) != len(paths):
      raise ValueError("--labels: %d label(s) for %d file(s)" % (len(labels), len(paths)))
    return labels
  names = [os.path.basename(os.path.dirname(os.path.abspath(p))) or p for p in paths]
  return names if len(set(names)) == len(names) else list(paths)


def load_runs(paths, labels=None):
  """Reads every file into (label, series) pairs.

  Args:
    paths: dllogger files.
    labels: (optional) one label per file.

  Returns:
    list of (label, series) pairs.

  Raises:
    ValueError: a file is missing, unreadable or has no points (the message names it), or bad labels.
  """
  runs = []
  for path, label in zip(paths, _labels(paths, labels)):
    if not os.path.isfile(path):
      raise ValueError("%s: no such file" % path)
    try:
      series = read_log(path)
    except OSError as e:
      raise ValueError("%s: cannot read: %s" % (path, e.strerror or e))
    if not series:
      raise ValueError("%s: no plottable points (no dllogger line with an integer step and numeric data)"
                       % path)
    runs.append((label, series))
  return runs


def _parse_args(argv):
  parser = argparse.ArgumentParser(prog=PROG, description="Plots training curves from dllogger JSON-lines "
                                   "files, one subplot per metric, several runs overlaid.")
  parser.add_argument("logs", nargs="+", metavar="LOG.json", help="dllogger files (bert_dllog.json)")
  parser.add_argument("-o", "--output", required=True, help="PNG file to write")
  parser.add_argument("--metrics", help="comma-separated metrics (default: loss, learning_rate and "
                      "accuracy/f1/mcc/corr keys present)")
  parser.add_argument("--labels", help="comma-separated run labels (default: each file's folder name)")
  parser.add_argument("--title", help="figure title")
  return parser.parse_args(argv)


def _fail(message):
  print("%s: error: %s" % (PROG, message), file=sys.stderr, flush=True)
  sys.exit(2)


def main(argv=None):
  """Runs the tool; bad input or a missing matplotlib prints one line and exits with status 2.

  Args:
    argv: arguments without the program name (default sys.argv[1:]).

  Returns:
    0 on success.
  """
  args = _parse_args(argv)
  try:
    runs = load_runs(args.logs, _split_list(args.labels))
    metrics = _split_list(args.metrics)
    if metrics is not None:
      unknown = [m for m in metrics if not any(m in series for _, series in runs)]
      if unknown or not metrics:
        known = sorted(set(k for _, series in runs for k in series))
        raise ValueError("--metrics: unknown metric(s) %s (the logs have: %s)" % (
            ", ".join(unknown) or "(none given)", ", ".join(known)))
    plot_runs(runs, metrics or default_metrics(runs), args.output, title=args.title)
  except (ValueError, MissingMatplotlibError) as e:
    _fail(e)
  except OSError as e:
    _fail("%s: cannot write: %s" % (args.output, e.strerror or e))
  print("wrote %s" % args.output)
  return 0


if __name__ == "__main__":
  sys.exit(main())
