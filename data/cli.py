"""The data scripts' entry: absl flags, and a bad file or flag reported in one line with exit status 2."""
import os
import sys

from absl import app


def run_main(main):
  """Runs `main(argv)` under absl; a ValueError (naming the bad file or flag) prints as one line,
  "<script>: error: <message>", and exits with status 2 instead of a traceback."""

  def wrapped(argv):
    try:
      return main(argv)
    except ValueError as e:
      print("%s: error: %s" % (os.path.basename(sys.argv[0]), e), file=sys.stderr)
      sys.exit(2)

  app.run(wrapped)
