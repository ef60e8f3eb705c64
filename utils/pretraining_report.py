"""The report of scripts/pretraining_accuracy.sh: held-out accuracy per checkpoint against the frequent-token
baseline, as a table (results.md, results.json) and a picture (curve.png).

  python utils/pretraining_report.py --output_dir=OUT --eval_dir=OUT/eval --train_records=DIR \
      --heldout_records=book=DIR,wiki=DIR --logs=phase_0/bert_dllog.json,phase_1/bert_dllog.json,...

--eval_dir holds one folder per evaluation, named phase<P>_step<S>_<set>_<seq_len>, each with the
eval_results.txt of `run_pretraining.py --do_eval`. Each phase's steps are drawn after those of the phases
before it (the phase of a dllogger file is its folder's, phase_<P>).
The baseline always predicts the token most often masked in the training records; it is scored on the same
held-out records as the checkpoints.
"""
import collections
import json
import os
import re
import sys

from absl import flags
import numpy as np
import tensorflow as tf

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from utils import plot_log  # noqa: E402
from utils import training  # noqa: E402

EVAL_NAME = re.compile(r"^phase(\d+)_step(\d+)_(\w+?)_(\d+)$")
LOG_PHASE = re.compile(r"(?:^|/)phase_(\d+)/[^/]+$")
SHUFFLED = "_shuffled"   # the suffix of a held-out set's word-order probe (utils/shuffle_records.py)
FLAGS = flags.FLAGS


def masked_token_counts(files):
  """Counts the real (weight > 0) masked-LM target ids of pretraining TFRecords.

  Args:
    files: TFRecord files of create_pretraining_data.py.

  Returns:
    collections.Counter id -> count.
  """
  first = tf.train.Example.FromString(next(iter(tf.data.TFRecordDataset(files[:1]))).numpy())
  pred = len(first.features.feature["masked_lm_ids"].int64_list.value)
  spec = {"masked_lm_ids": tf.io.FixedLenFeature([pred], tf.int64),
          "masked_lm_weights": tf.io.FixedLenFeature([pred], tf.float32)}
  counts = collections.Counter()
  for batch in tf.data.TFRecordDataset(files).batch(4096).map(lambda r: tf.io.parse_example(r, spec)):
    ids = batch["masked_lm_ids"].numpy()[batch["masked_lm_weights"].numpy() > 0]
    counts.update(dict(zip(*np.unique(ids, return_counts=True))))
  return counts


def read_evals(eval_dir):
  """Reads every eval_results.txt below `eval_dir`.

  Returns:
    list of dicts with phase, step, set, seq_len and the metrics, sorted by (phase, step, set, seq_len).
  """
  rows = []
  for name in sorted(os.listdir(eval_dir)):
    match = EVAL_NAME.match(name)
    path = os.path.join(eval_dir, name, "eval_results.txt")
    if not match or not os.path.isfile(path):
      continue
    row = dict(phase=int(match.group(1)), step=int(match.group(2)), set=match.group(3),
               seq_len=int(match.group(4)))
    with open(path) as f:
      for line in f:
        key, _, value = line.partition(" = ")
        row[key.strip()] = float(value)
    rows.append(row)
  if not rows:
    raise ValueError("--eval_dir=%s holds no phase<P>_step<S>_<set>_<len>/eval_results.txt" % eval_dir)
  return sorted(rows, key=lambda r: (r["phase"], r["step"], r["set"], r["seq_len"]))


def add_global_steps(rows, losses):
  """Numbers every phase's steps after those of the phases before it.

  Args:
    rows: eval rows as `read_evals` returns; each gets "global_step".
    losses: dict phase -> its logged (step, loss) points; a phase's length is its last logged or evaluated step.

  Returns:
    dict phase -> the number of updates of the phases before it (its offset).
  """
  phases = sorted(set(losses) | set(r["phase"] for r in rows))
  offsets, total = {}, 0
  for phase in phases:
    offsets[phase] = total
    total += max([step for step, _ in losses.get(phase, [])] +
                 [r["step"] for r in rows if r["phase"] == phase] + [0])
  for r in rows:
    r["global_step"] = r["step"] + offsets[r["phase"]]
  return offsets


def markdown_table(rows, sets, seq_len, baselines):
  """The held-out table at `seq_len`.

  Args:
    rows: eval rows with "global_step".
    sets: held-out set names, one group of columns each.
    seq_len: the records' length this table shows.
    baselines: dict set -> frequent-token accuracy at this length, or None (no ratio column).

  Returns:
    list of markdown lines: a row per checkpoint, masked-LM and next-sentence accuracy per set.
  """
  head = ["phase", "step", "global step"]
  for s in sets:
    head += ["%s masked-LM acc" % s] + (["%s x baseline" % s] if baselines else []) + [
        "%s next-sentence acc" % s]
  lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
  by_ckpt = collections.OrderedDict()
  for r in rows:
    if r["seq_len"] == seq_len:
      by_ckpt.setdefault((r["phase"], r["step"], r["global_step"]), {})[r["set"]] = r
  for (phase, step, global_step), per_set in by_ckpt.items():
    cells = [str(phase), str(step), str(global_step)]
    for s in sets:
      r = per_set.get(s)
      ratio = (["%.2f" % (r["masked_lm_accuracy"] / baselines[s]) if r and baselines[s] else "-"]
               if baselines else [])
      cells += (["%.4f" % r["masked_lm_accuracy"]] + ratio + ["%.4f" % r["next_sentence_accuracy"]] if r
                else ["-"] * (2 + len(ratio)))
    lines.append("| " + " | ".join(cells) + " |")
  return lines


def curve_runs(rows, losses, sets, seq_len, baselines, offsets):
  """The series of curve.png.

  Args:
    rows: eval rows with "global_step".
    losses: dict phase -> its logged (step, loss) points.
    sets: held-out set names.
    seq_len: the length whose evals are drawn.
    baselines: dict set -> frequent-token accuracy.
    offsets: dict phase -> its global-step offset (`add_global_steps`).

  Returns:
    list of (label, series) for `plot_log.plot_runs`: the training loss of every phase, each set's held-out
    accuracies and its baseline.
  """
  loss = []
  for phase in sorted(losses):
    loss += [(step + offsets[phase], v) for step, v in losses[phase]]
  runs = [("training loss (phases %s)" % ", ".join(str(p) for p in sorted(losses)), {"loss": loss})]
  steps = [r["global_step"] for r in rows]
  for s in sets:
    points = [r for r in rows if r["set"] == s and r["seq_len"] == seq_len]
    runs.append(("held-out %s" % s, {
        "masked_lm_accuracy": [(r["global_step"], r["masked_lm_accuracy"]) for r in points],
        "next_sentence_accuracy": [(r["global_step"], r["next_sentence_accuracy"]) for r in points]}))
    if not s.endswith(SHUFFLED):   # a shuffled copy's baseline is its original's (the same masked tokens)
      runs.append(("%s: most frequent token" % s, {
          "masked_lm_accuracy": [(0, baselines[s]), (max(steps), baselines[s])]}))
  return runs


def write_report(output_dir, rows, sets, baselines, top_id, logs):
  """Writes results.md, results.json and curve.png.

  Args:
    output_dir: where they go.
    rows: eval rows as `read_evals` returns.
    sets: held-out set names.
    baselines: dict set -> frequent-token accuracy on the records of the shortest evaluated length.
    top_id: the baseline's token id.
    logs: dict phase -> its dllogger file.

  Returns:
    The markdown text of results.md.
  """
  losses = {phase: plot_log.read_log(path).get("loss", []) for phase, path in logs.items()}
  offsets = add_global_steps(rows, losses)
  seq_lens = sorted(set(r["seq_len"] for r in rows))
  text = ["# Held-out accuracy of every checkpoint", "",
          "Baseline: always predict token id %d, the most frequent masked token of the training records: %s "
          "(on the %d-token held-out records)." % (
              top_id, ", ".join("%.4f on %s" % (baselines[s], s) for s in sets), seq_lens[0]), ""]
  if any(s.endswith(SHUFFLED) for s in sets):
    text += ["`<set>%s`: the same records with the words of each segment in a random order (masks moved with "
             "them, utils/shuffle_records.py). A model that predicts from the bag of words around the mask "
             "scores the same there; the gap is what it takes from word order." % SHUFFLED, ""]
  for seq_len in seq_lens:
    text += ["## Held-out records of %d tokens" % seq_len, ""]
    text += markdown_table(rows, sets, seq_len, baselines if seq_len == seq_lens[0] else None) + [""]
  _write(os.path.join(output_dir, "results.md"), "\n".join(text))
  _write(os.path.join(output_dir, "results.json"), json.dumps(
      {"baseline_token_id": top_id, "baseline": baselines, "evals": rows}, indent=1))
  runs = curve_runs(rows, losses, sets, seq_lens[0], baselines, offsets)
  plot_log.plot_runs(runs, ["loss", "masked_lm_accuracy", "next_sentence_accuracy"],
                     os.path.join(output_dir, "curve.png"),
                     title="Pretraining: training loss and held-out accuracy (%d tokens)" % seq_lens[0])
  return "\n".join(text)


def _write(path, text):
  with open(path + ".tmp", "w") as f:
    f.write(text + "\n")
  os.replace(path + ".tmp", path)


def main(_):
  train_counts = masked_token_counts(training.list_input_files(FLAGS.train_records, "train_records"))
  top_id = int(train_counts.most_common(1)[0][0])
  baselines, sets = {}, []
  for item in FLAGS.heldout_records:
    name, _, path = item.partition("=")
    if not name or not path:
      raise ValueError("--heldout_records: '%s' is not name=folder" % item)
    counts = masked_token_counts(training.list_input_files(path, "heldout_records"))
    baselines[name] = counts[top_id] / sum(counts.values())
    sets.append(name)
  rows = read_evals(FLAGS.eval_dir)
  logs = {}
  for log in FLAGS.logs:
    match = LOG_PHASE.search(log)
    if not match:
      raise ValueError("--logs: %s is not in a phase_<P> folder" % log)
    if not os.path.isfile(log):
      raise ValueError("--logs: %s not found" % log)
    logs[int(match.group(1))] = log
  try:
    print(write_report(FLAGS.output_dir, rows, sets, baselines, top_id, logs))
  except (plot_log.MissingMatplotlibError, OSError) as e:
    raise ValueError("%s: %s" % (FLAGS.output_dir, e)) from None
  print("wrote %s/results.md, results.json, curve.png" % FLAGS.output_dir)


def define_flags():
  flags.DEFINE_string("output_dir", None, "Where results.md, results.json and curve.png go.")
  flags.DEFINE_string("eval_dir", None, "Folder of phase<P>_step<S>_<set>_<len>/eval_results.txt.")
  flags.DEFINE_string("train_records", None, "Training TFRecords (folder, glob or list) for the baseline.")
  flags.DEFINE_list("heldout_records", None, "name=folder of each held-out set at the curve's length.")
  flags.DEFINE_list("logs", None, "dllogger file of every phase, each in its phase_<P> folder.")
  flags.mark_flags_as_required(["output_dir", "eval_dir", "train_records", "heldout_records", "logs"])


if __name__ == "__main__":
  define_flags()
  training.run_main(main)
