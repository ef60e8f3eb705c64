"""The entry of every script: absl flags, and a bad file or flag reported in one line with exit status 2.
Without TensorFlow, so that the text scripts in data/ start fast."""
import os
import sys

from absl import app


def run_main(main, errors=(ValueError,)):
  """Runs `main(argv)` under absl; an exception of `errors` (a ValueError names the bad file, flag or data)
  prints as one line, "<script>: error: <message>", and exits with status 2 instead of a traceback."""

  def wrapped(argv):
    try:
      return main(argv)
    except errors as e:
      print("%s: error: %s" % (os.path.basename(sys.argv[0]), e), file=sys.stderr, flush=True)
      sys.exit(2)

  app.run(wrapped)
