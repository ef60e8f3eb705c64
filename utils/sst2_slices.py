"""Disjoint train / held-back slices of SST-2's public train.tsv, for a labelled evaluation without dev.tsv.

SST-2's rows are phrases of movie-review sentences, and the phrases of one sentence are spread over the file: a
held-back row is often a piece of a training row ("the movie" inside "the movie is a mess"). Such a row is not
held out, and a model that memorises training phrases scores well on it. So the held-back slice keeps only the
rows whose text does not occur inside any training row.

  python -m utils.sst2_slices GLUE_DIR/SST-2/train.tsv OUT_DIR --train_rows=8000 --heldout_rows=2000

writes OUT_DIR/train.tsv (the first --train_rows rows) and OUT_DIR/dev.tsv (of the last --heldout_rows rows, those
that are not inside a training row), both with the header, and prints how many rows each got.
"""
import argparse
import os
import sys


def make_slices(rows, train_rows, heldout_rows):
  """Splits SST-2 rows (without the header) into a training slice and a held-back slice.

  Args:
    rows: list of "sentence\\tlabel" lines.
    train_rows: the training slice is rows[:train_rows].
    heldout_rows: the held-back slice is taken from rows[-heldout_rows:].

  Returns:
    (train, heldout, dropped): the training rows, the held-back rows whose sentence occurs inside no training
    row's sentence, and how many held-back rows were dropped for that.
  """
  if train_rows + heldout_rows > len(rows):
    raise ValueError("--train_rows=%d and --heldout_rows=%d overlap: the file has %d rows"
                     % (train_rows, heldout_rows, len(rows)))
  train = rows[:train_rows]
  training_text = "\n".join(" %s " % row.split("\t")[0].strip() for row in train)
  heldout = [row for row in rows[len(rows) - heldout_rows:]
             if " %s " % row.split("\t")[0].strip() not in training_text]
  return train, heldout, heldout_rows - len(heldout)


def _write(path, header, rows):
  with open(path + ".tmp", "w", encoding="utf-8") as f:
    f.write("".join(line + "\n" for line in [header] + rows))
  os.replace(path + ".tmp", path)


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("train_tsv")
  parser.add_argument("output_dir")
  parser.add_argument("--train_rows", type=int, default=8000)
  parser.add_argument("--heldout_rows", type=int, default=2000)
  args = parser.parse_args(argv)
  try:
    with open(args.train_tsv, encoding="utf-8") as f:
      lines = f.read().splitlines()
    if not lines or lines[0].split("\t") != ["sentence", "label"]:
      raise ValueError("%s: line 1: expected the header 'sentence<TAB>label'" % args.train_tsv)
    train, heldout, dropped = make_slices(lines[1:], args.train_rows, args.heldout_rows)
  except (OSError, ValueError) as e:
    print("error: %s" % e, file=sys.stderr)
    return 2
  os.makedirs(args.output_dir, exist_ok=True)
  _write(os.path.join(args.output_dir, "train.tsv"), lines[0], train)
  _write(os.path.join(args.output_dir, "dev.tsv"), lines[0], heldout)  # last: marks the slices complete
  print("SST-2 slices: %d training rows, %d held-back rows (%d of the last %d dropped: inside a training row)"
        % (len(train), len(heldout), dropped, args.heldout_rows))
  return 0


if __name__ == "__main__":
  sys.exit(main())
