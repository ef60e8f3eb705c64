"""What the input position of a checkpoint means, and the check that a resumed run reads the same input.

A checkpoint of the shared training loop holds how many micro-batches each worker has read
(`training.INPUT_POSITION`); a resumed run skips that many micro-batches of its own input stream. The count
points at the same records only when the stream is the same one: the same input files, per-worker batch size,
number of Horovod workers and --seed. The chief writes these, and --num_accumulation_steps, to `RECORD` in the
output directory (`describe`; training.py writes it atomically) when a run starts there, and a resume compares
them with its own (`compare`): any change is an error naming it. Other input files (names or sizes), batch
size, worker count or seed would land the skip somewhere else in another stream. Other accumulation steps would
keep the position's meaning but not the run's updates, and a checkpoint without accumulation lacks the
accumulators a run with it restores; to change them, start a new output directory from the checkpoint's weights.

Phase 2 of pretraining is no resume: it starts in a new output directory from phase 1's weights
(--init_checkpoint), with its own batch size, accumulation and workers.
"""

import json
import os

RECORD = "input_position.json"
KEYS = ("workers", "train_batch_size", "num_accumulation_steps", "seed", "input_files")   # in a message's order


def describe(files, batch_size, accumulation_steps, workers, seed):
  """The record of a run: what its input position means.

  Args:
    files: the training input files (every worker's), or None for an input that is not read from files.
    batch_size: per-worker micro-batch size.
    accumulation_steps: micro-batches per optimizer update.
    workers: number of Horovod workers.
    seed: the --seed of the run.

  Returns:
    A dict for JSON: the values under the names of KEYS, the files as {name: size in bytes}.
  """
  return {"workers": workers, "train_batch_size": batch_size, "num_accumulation_steps": accumulation_steps,
          "seed": seed, "input_files": None if files is None else file_sizes(files)}


def file_sizes(files):
  """{name: size in bytes} of `files`, each named relative to the directory they share (so a data set moved
  elsewhere as a whole keeps its names)."""
  if not files:
    return {}
  paths = [os.path.abspath(f) for f in files]
  root = os.path.commonpath([os.path.dirname(p) for p in paths])
  return {os.path.relpath(p, root): os.path.getsize(p) for p in paths}


def read(output_dir):
  """The record in `output_dir`, or None when it holds none.

  Raises:
    ValueError: naming the file when it is not a record.
  """
  path = os.path.join(output_dir, RECORD)
  if not os.path.exists(path):
    return None
  try:
    with open(path) as f:
      record = json.load(f)
  except ValueError as e:
    raise ValueError("%s is not valid JSON (%s): delete it to resume without checking the input" % (
        path, e)) from None
  if not isinstance(record, dict) or not set(KEYS) <= set(record):
    raise ValueError("%s lacks some of %s: delete it to resume without checking the input" % (
        path, ", ".join(KEYS)))
  return record


def compare(previous, current, output_dir):
  """Compares the record of the run that wrote the checkpoint in `output_dir` with this run's.

  Returns:
    One line naming every change (values that are None, an input not read from files, are not compared), or
    None when nothing changed.
  """
  changed = [key for key in KEYS if previous[key] != current[key]
             and previous[key] is not None and current[key] is not None]
  if not changed:
    return None
  phrases = [_phrases(key, previous[key], current[key]) for key in changed]
  return ("--output_dir=%s holds a checkpoint of a run with %s; this run has %s: resume it with the same flags or "
          "use a new --output_dir" % (output_dir, " and ".join(then for then, _ in phrases),
                                      " and ".join(now for _, now in phrases)))


def _phrases(key, then, now):
  """(what the run that wrote the checkpoint had, what this run has) for a changed value."""
  if key == "workers":
    return ("1 worker" if then == 1 else "%d Horovod workers" % then), "%d" % now
  if key == "input_files":
    return _file_phrases(then, now)
  return "--%s=%s" % (key, then), "%s" % now


def _file_phrases(then, now):
  """`_phrases` of two {name: size} dicts: the first name whose presence or size differs, and how many differ
  when more than one does."""
  differing = sorted(name for name in set(then) | set(now) if then.get(name) != now.get(name))
  name = differing[0]
  if name not in now:
    phrases = ["input file %s of %d bytes" % (name, then[name]), "no %s" % name]
  elif name not in then:
    phrases = ["no input file %s" % name, "one of %d bytes" % now[name]]
  else:
    phrases = ["input file %s of %d bytes" % (name, then[name]), "%d bytes" % now[name]]
  if len(differing) > 1:
    phrases[1] += " (%d input files differ)" % len(differing)
  return tuple(phrases)
