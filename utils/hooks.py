"""SessionRunHooks of the shared training loop: Horovod broadcast, starting the input, progress logging."""

import math
import time

import numpy as np
import tensorflow as tf

tf1 = tf.compat.v1


class BroadcastGlobalVariablesHook(tf1.train.SessionRunHook):
  """Broadcasts every global variable from `root_rank` once the session exists.

  Horovod's own hook is missing on TF >= 2.16; this one wraps `hvd.broadcast_global_variables`, so that
  all workers start from rank 0's initialisation, `--init_checkpoint` weights or restored checkpoint.
  """

  def __init__(self, hvd, root_rank=0):
    self._hvd = hvd
    self._root_rank = root_rank
    self._op = None

  def begin(self):
    if self._op is None or self._op.graph is not tf1.get_default_graph():
      self._op = self._hvd.broadcast_global_variables(self._root_rank)

  def after_create_session(self, session, coord):
    session.run(self._op)


class StartInputHook(tf1.train.SessionRunHook):
  """Starts the training input at the position the session holds (restored, or broadcast from rank 0).

  Place it after the broadcast hook: hooks set up the session in order.
  """

  def __init__(self, start_input, position, log_text):
    """Args:
      start_input: the op that starts the input at the value of `position` (an initializable iterator's
        initializer).
      position: the variable counting the micro-batches read so far.
      log_text: function(text) logging a line (on the chief).
    """
    self._start_input = start_input
    self._position = position
    self._log_text = log_text

  def after_create_session(self, session, coord):
    skipped = int(session.run(self._position))
    session.run(self._start_input)
    if skipped:
      self._log_text("input: skipping the %d micro-batches read before the checkpoint" % skipped)


class ProgressHook(tf1.train.SessionRunHook):
  """Every `every_n_steps` global steps, logs step, the given scalars, throughput and ETA.

  Throughput counts sentences per second over the micro-batch runs since the last report, leaving out the
  first `warmup_runs` runs (graph optimisation, XLA compilation) and runs that saved a checkpoint. It is
  logged to stdout and the dllogger file and written as TensorBoard summaries; the final average goes to
  `summary()`. The ETA is the global steps left times `runs_per_step` runs of the mean time of a run since
  the last report, so it holds in a resumed run too, whose global step did not start at 0.
  """

  def __init__(self, scalars, global_step, sentences_per_run, num_train_steps, every_n_steps, logger,
               summary_writer=None, warmup_runs=5, checkpoint_every=None, runs_per_step=1):
    """Args:
      scalars: dict name -> scalar tensor (loss, learning rate, loss scale, gradient norm, ...).
      global_step: the global step tensor.
      sentences_per_run: sentences one session run processes over all workers.
      num_train_steps: last global step, for the ETA.
      every_n_steps: report interval in global steps.
      logger: a `utils.dllogger.DLLogger`.
      summary_writer: (optional) a tf.compat.v1.summary.FileWriter for throughput summaries.
      warmup_runs: runs left out of throughput.
      checkpoint_every: checkpoint interval in global steps; runs ending on such a step are left out.
      runs_per_step: session runs (micro-batches) per global step (the accumulation steps), for the ETA.
    """
    self._scalars = dict(scalars)
    self._global_step = global_step
    self._sentences_per_run = sentences_per_run
    self._num_train_steps = num_train_steps
    self._every = max(1, every_n_steps)
    self._logger = logger
    self._writer = summary_writer
    self._warmup_runs = warmup_runs
    self._checkpoint_every = checkpoint_every
    self._runs_per_step = runs_per_step
    self._runs = 0
    self.last_step = None
    self._last_reported = None
    self._window_time = 0.0
    self._window_runs = 0
    self._total_time = 0.0
    self._total_runs = 0
    self._t0 = None

  def before_run(self, run_context):
    self._t0 = time.time()
    return tf1.train.SessionRunArgs(self._scalars)

  def after_run(self, run_context, run_values):
    elapsed = time.time() - self._t0
    self._runs += 1
    # Read after the run: a fetch beside the train op may see the step before or after its update.
    step = self.last_step = int(run_context.session.run(self._global_step))
    ckpt_step = self._checkpoint_every and step > 0 and step % self._checkpoint_every == 0
    if self._runs > self._warmup_runs and not ckpt_step:
      self._window_time += elapsed
      self._window_runs += 1
      self._total_time += elapsed
      self._total_runs += 1
    if self._last_reported is None:
      self._last_reported = step
    if step - self._last_reported >= self._every or step >= self._num_train_steps:
      self._last_reported = step
      self._report(step, run_values.results)

  def _report(self, step, scalars):
    data = {k: float(v) for k, v in scalars.items()}
    text = "step %d/%d" % (step, self._num_train_steps)
    text += "".join("  %s %.5g" % (k, v) for k, v in data.items())
    if self._window_runs:
      rate = self._window_runs * self._sentences_per_run / self._window_time
      data["throughput_train"] = rate
      eta = (self._num_train_steps - step) * self._runs_per_step * self._window_time / self._window_runs
      text += "  %.2f sentences/s  ETA %s" % (rate, _hms(eta))
      self._window_time = 0.0
      self._window_runs = 0
    self._logger.log(step, data, verbose_text=text)
    if self._writer is not None:
      self._writer.add_summary(tf1.Summary(value=[
          tf1.Summary.Value(tag=k, simple_value=v) for k, v in data.items()]), step)

  def summary(self):
    """Returns {"throughput_train": average sentences/sec, "train_runs_timed": runs} over the run."""
    if not self._total_runs:
      return {}
    return {"throughput_train": self._total_runs * self._sentences_per_run / self._total_time,
            "train_runs_timed": self._total_runs}


def _hms(seconds):
  if not np.isfinite(seconds):
    return "?"
  seconds = int(math.ceil(seconds))
  return "%d:%02d:%02d" % (seconds // 3600, seconds // 60 % 60, seconds % 60)
