"""utils/hooks.py ProgressHook: the throughput and ETA it logs, driven run by run with a fake session and clock."""
import types

import pytest

from utils import hooks


class _Logger(object):
  """Collects the progress lines (the DLLogger interface the hook uses)."""

  def __init__(self):
    self.lines = []

  def log(self, step, data, verbose_text=None):
    self.lines.append(verbose_text)


def _drive(hook, monkeypatch, steps_of_runs, seconds_per_run):
  """Runs `hook` as the training session would: one before_run / after_run pair per micro-batch, the global
  step after each run taken from `steps_of_runs`, each run taking `seconds_per_run` of the fake clock."""
  clock = [1000.0]
  monkeypatch.setattr(hooks.time, "time", lambda: clock[0])
  for step in steps_of_runs:
    context = types.SimpleNamespace(session=types.SimpleNamespace(run=lambda tensor, step=step: step))
    hook.before_run(context)
    clock[0] += seconds_per_run
    hook.after_run(context, types.SimpleNamespace(results={"loss": 1.0}))


@pytest.mark.parametrize("first_step", [0, 100], ids=["fresh", "resumed"])
def test_eta_counts_the_micro_batches_of_the_updates_left(monkeypatch, first_step):
  """4 micro-batches per update of 0.5 s each, 200 updates in all, a report every 10 updates: at update
  first_step + 10 the ETA is (200 - that step) x 4 x 0.5 s, whether the run started at step 0 or resumed at
  step 100 (where a count of runs since the start over the global step said 1 run per update, 4 times too
  few)."""
  logger = _Logger()
  hook = hooks.ProgressHook({}, None, sentences_per_run=8, num_train_steps=200, every_n_steps=10, logger=logger,
                            runs_per_step=4)
  runs = [first_step + (run + 1) // 4 for run in range(40)]   # the step moves on every 4th micro-batch
  _drive(hook, monkeypatch, runs, 0.5)
  step = first_step + 10
  eta = (200 - step) * 4 * 0.5
  assert logger.lines == ["step %d/200  loss 1  16.00 sentences/s  ETA 0:%02d:%02d" % (step, eta // 60, eta % 60)]
