"""A pretraining worker for the multi-process and XLA tests: the real pretraining model_fn on the shared
training loop, fed records in a fixed order (no shuffling), so runs with different worker counts see the
same global batches. Records every loss and, at the end, every trainable variable to <out>/rank<r>.npz.

  python tests/pretraining_worker.py --out DIR --data FILE --config FILE --batch 8 --steps 10 [--horovod]
      [--use_xla] [--fail_rank R --fail_at_step S]
"""
import argparse
import os
import sys

import numpy as np
import tensorflow as tf

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import modeling  # noqa: E402
import run_pretraining  # noqa: E402
from utils import training  # noqa: E402

tf1 = tf.compat.v1
SEQ, PRED = 64, 10


class RecordHook(tf1.train.SessionRunHook):
  def __init__(self, loss, path, fail_at_step):
    self.loss, self.path, self.fail_at_step = loss, path, fail_at_step
    self.losses = []

  def before_run(self, run_context):
    return tf1.train.SessionRunArgs(self.loss)

  def after_run(self, run_context, run_values):
    self.losses.append(float(run_values.results))
    if self.fail_at_step and len(self.losses) == self.fail_at_step:
      raise RuntimeError("injected failure at step %d" % self.fail_at_step)

  def end(self, session):
    values = session.run({v.op.name: v for v in tf1.trainable_variables()})
    np.savez(self.path, losses=np.array(self.losses), **values)


def main():
  parser = argparse.ArgumentParser()
  for name in ("--out", "--data", "--config"):
    parser.add_argument(name, required=True)
  parser.add_argument("--batch", type=int, default=8)
  parser.add_argument("--steps", type=int, default=10)
  parser.add_argument("--horovod", action="store_true")
  parser.add_argument("--use_xla", action="store_true")
  parser.add_argument("--fail_rank", type=int, default=-1)
  parser.add_argument("--fail_at_step", type=int, default=0)
  args = parser.parse_args()
  tf1.disable_eager_execution()

  run_config = training.RunConfig(output_dir=os.path.join(args.out, "ckpt"), horovod=args.horovod,
                                  use_xla=args.use_xla, save_checkpoints_steps=1000,
                                  display_loss_steps=5)
  runtime = training.init_runtime(run_config)
  config = modeling.BertConfig.from_json_file(args.config)
  model_fn = run_pretraining.model_fn_builder(config, report_loss=False)
  features = run_pretraining.name_to_features(SEQ, PRED)

  def input_fn():
    d = tf.data.TFRecordDataset([args.data]).shard(runtime.size, runtime.rank).repeat()
    d = d.map(lambda r: training.decode_record(r, features))
    return d.batch(args.batch, drop_remainder=True)

  hook_holder = {}

  def recording_model_fn(features, mode):
    spec = model_fn(features, mode)
    fail = args.fail_at_step if runtime.rank == args.fail_rank else 0
    hook_holder["hook"] = RecordHook(spec.loss, os.path.join(args.out, "rank%d.npz" % runtime.rank), fail)
    return spec

  class Deferred(tf1.train.SessionRunHook):
    """Forwards to the RecordHook built with the graph (the loss tensor exists only then)."""

    def begin(self):
      self.hook = hook_holder["hook"]

    def before_run(self, run_context):
      return self.hook.before_run(run_context)

    def after_run(self, run_context, run_values):
      self.hook.after_run(run_context, run_values)

    def end(self, session):
      self.hook.end(session)

  optimizer = training.OptimizerConfig(learning_rate=1e-3, num_train_steps=args.steps, num_warmup_steps=2,
                                       optimizer_type="lamb")
  training.train(recording_model_fn, input_fn, runtime, optimizer, args.batch, hooks=[Deferred()])


if __name__ == "__main__":
  main()
