"""A small logger writing NVIDIA dllogger-style JSON lines, plus a human-readable echo.

Each line of the JSON file is `DLLL {json}` with the fields NVIDIA's dllogger writes: "timestamp",
"datetime", "elapsedtime", "type" ("LOG" or "METADATA"), "step" (a list, or "PARAMETER" / [] for
parameters and final results) and "data". Only rank 0 should create one with a path.
"""

import datetime
import json
import os
import time


class DLLogger(object):
  """Writes dllogger JSON lines to `path` (appending, line-buffered) and echoes to stdout."""

  def __init__(self, path=None, echo=True):
    self.path = path
    self.echo = echo
    self.start = time.time()
    self._file = None
    if path:
      os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
      self._file = open(path, "a", buffering=1)

  def _write(self, kind, step, data):
    now = time.time()
    record = {"timestamp": "%.6f" % now,
              "datetime": datetime.datetime.fromtimestamp(now).isoformat(),
              "elapsedtime": round(now - self.start, 6), "type": kind, "step": step,
              "data": {k: _plain(v) for k, v in data.items()}}
    if self._file:
      self._file.write("DLLL " + json.dumps(record) + "\n")

  def log(self, step, data, verbose_text=None):
    """Logs `data` (a dict of scalars) at `step` (an int, a tuple, "PARAMETER" or ())."""
    step_field = step if isinstance(step, str) else list(step) if isinstance(step, (tuple, list)) \
        else [int(step)]
    self._write("LOG", step_field, data)
    if self.echo:
      print(verbose_text or ("%s %s" % (_step_text(step), " ".join(
          "%s: %s" % (k, _fmt(v)) for k, v in data.items()))), flush=True)

  def metadata(self, name, meta):
    """Records what a metric is (unit, format), as dllogger's METADATA lines do."""
    if self._file:
      self._file.write("DLLL " + json.dumps({"type": "METADATA", "metric": name,
                                             "metadata": meta}) + "\n")

  def close(self):
    if self._file:
      self._file.close()
      self._file = None


def _plain(v):
  try:
    return v.item()
  except AttributeError:
    return v


def _fmt(v):
  v = _plain(v)
  if isinstance(v, float):
    return "%.6g" % v
  return str(v)


def _step_text(step):
  if step == "PARAMETER":
    return "PARAMETER"
  if step == () or step == []:
    return "FINAL"
  return "step %s" % (step if not isinstance(step, (list, tuple)) else "/".join(map(str, step)))
