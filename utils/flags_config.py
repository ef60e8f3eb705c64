"""The flags every run_*.py shares, and the one place where flag values become config objects.

A script defines its flags in a `define_flags()` called under `__main__` (so that a module importing it, such as
a benchmark, gets none of them): its own flags, the shared groups below, and then

  flags.adopt_module_key_flags(flags_config)

which makes the shared flags key flags of the script, so that `--help` lists them and `log_flags` logs them.

Groups: `define_run_flags` (the loop: output, checkpoints, logging, Horovod, XLA, AMP, seed),
`define_model_flags` (config, checkpoint, sequence length, vocabulary) and `define_optimizer_flags`.
Conversions, each taking the parsed flag values: `run_config_from_flags` (which creates --output_dir),
`bert_config_from_flags` (with the --max_seq_length check), `optimizer_config_from_flags` (and
`finetune_optimizer_config` for the epochs of a fine-tuning task),
`checkpoint_to_evaluate`; checks: `require_flags`, `require_file`, `require_output_dir`.
"""

import os
import sys

from absl import flags
import tensorflow as tf

import modeling
from utils import training


def define_run_flags():
  """Defines --output_dir and the flags of the training loop itself (`training.RunConfig`)."""
  flags.DEFINE_string("output_dir", None, "Where checkpoints, logs and results go; training resumes from the "
                      "newest checkpoint in it.")
  flags.DEFINE_integer("save_checkpoints_steps", 1000, "Checkpoint interval in optimizer updates.")
  flags.DEFINE_integer("keep_checkpoint_max", 5, "Newest checkpoints kept.")
  flags.DEFINE_integer("display_loss_steps", 10, "Progress interval in optimizer updates.")
  flags.DEFINE_bool("horovod", False, "Train over Horovod workers (launch with horovodrun or mpirun).")
  flags.DEFINE_bool("amp", False, "Mixed precision: on a GPU float16 compute with dynamic loss scaling; on a CPU "
                    "with bfloat16 units (avx512_bf16, amx_bf16) bfloat16 compute; elsewhere float32.")
  flags.DEFINE_bool("use_xla", False, "Compile with XLA.")
  flags.DEFINE_string("dllog_path", None, "dllogger JSON-lines file (default <output_dir>/bert_dllog.json).")
  flags.DEFINE_integer("seed", 12345, "Graph-level random seed (initialization, dropout, shuffling).")


def define_model_flags(max_seq_length, max_seq_length_help, tokenizer=False):
  """Defines --bert_config_file, --init_checkpoint and --max_seq_length (and the tokenizer's flags).

  Args:
    max_seq_length: default of --max_seq_length.
    max_seq_length_help: its help text (what a sequence is differs per task).
    tokenizer: whether to define --vocab_file and --do_lower_case too.
  """
  flags.DEFINE_string("bert_config_file", None, "bert_config.json: the model's architecture.")
  flags.DEFINE_string("init_checkpoint", None, "Checkpoint (prefix or directory) to start training from (none: "
                      "random initialisation); without --do_train, the checkpoint to use (default: the newest "
                      "in --output_dir).")
  flags.DEFINE_bool("init_checkpoint_partial", False, "Start from the variables of --init_checkpoint that match "
                    "the model even when --bert_config_file describes another encoder (other layers, sizes or "
                    "vocabulary); the log lists what starts fresh and what goes unused. Without it, such a "
                    "mismatch is an error.")
  flags.DEFINE_integer("max_seq_length", max_seq_length, max_seq_length_help)
  if tokenizer:
    flags.DEFINE_string("vocab_file", None, "WordPiece vocabulary (vocab.txt) of the pretrained model.")
    flags.DEFINE_bool("do_lower_case", True, "Lower-case the input (True for uncased models).")


def define_optimizer_flags(learning_rate, optimizer_type):
  """Defines the flags of `optimization.create_optimizer` other than the schedule's length.

  Args:
    learning_rate: default peak learning rate.
    optimizer_type: default optimizer, "lamb" or "adam".
  """
  flags.DEFINE_float("learning_rate", learning_rate,
                     "Peak learning rate (used as given: never scaled by worker count).")
  flags.DEFINE_enum("optimizer_type", optimizer_type, ["lamb", "adam"],
                    "Optimizer: lamb (LAMB; LayerNorm and bias variables get no trust ratio) or adam (Google's "
                    "AdamW); any case (NVIDIA's LAMB, ADAM).", case_sensitive=False)
  flags.DEFINE_float("weight_decay_rate", 0.01, "Decoupled weight decay (not on LayerNorm and biases).")
  flags.DEFINE_integer("num_accumulation_steps", 1, "Micro-batches accumulated into one optimizer update.")
  flags.DEFINE_bool("allreduce_post_accumulation", False,
                    "All-reduce the accumulated gradient once per update instead of every micro-batch.")
  flags.DEFINE_float("init_loss_scale", 2.0 ** 32, "Initial dynamic loss scale with --amp.")


def run_config_from_flags(flag_values):
  """The `training.RunConfig` given by the flags of `define_run_flags`, --init_checkpoint and
  --init_checkpoint_partial; creates --output_dir (`require_output_dir`)."""
  return training.RunConfig(
      output_dir=require_output_dir(flag_values), init_checkpoint=flag_values.init_checkpoint,
      init_checkpoint_partial=flag_values.init_checkpoint_partial,
      save_checkpoints_steps=flag_values.save_checkpoints_steps,
      keep_checkpoint_max=flag_values.keep_checkpoint_max,
      display_loss_steps=flag_values.display_loss_steps,
      dllog_path=flag_values.dllog_path or os.path.join(flag_values.output_dir, "bert_dllog.json"),
      horovod=flag_values.horovod, amp=flag_values.amp, use_xla=flag_values.use_xla, seed=flag_values.seed)


def bert_config_from_flags(flag_values):
  """Loads --bert_config_file and checks that --max_seq_length fits its position embeddings.

  Returns:
    `modeling.BertConfig`.

  Raises:
    ValueError: for a missing flag or file, a malformed config or a too long --max_seq_length.
  """
  path = require_flags(flag_values, ["bert_config_file"])[0]
  bert_config = modeling.BertConfig.from_json_file(path)
  if flag_values.max_seq_length > bert_config.max_position_embeddings:
    raise ValueError("--max_seq_length=%d exceeds max_position_embeddings=%d of %s" % (
        flag_values.max_seq_length, bert_config.max_position_embeddings, path))
  return bert_config


def optimizer_config_from_flags(flag_values, num_train_steps, num_warmup_steps):
  """The `training.OptimizerConfig` of the flags of `define_optimizer_flags`.

  Args:
    flag_values: the parsed flags.
    num_train_steps: optimizer updates (from --num_train_steps, or from the epochs of a fine-tuning task).
    num_warmup_steps: updates of learning-rate warmup.
  """
  return training.OptimizerConfig(
      learning_rate=flag_values.learning_rate, num_train_steps=num_train_steps, num_warmup_steps=num_warmup_steps,
      optimizer_type=flag_values.optimizer_type, num_accumulation_steps=flag_values.num_accumulation_steps,
      allreduce_post_accumulation=flag_values.allreduce_post_accumulation,
      init_loss_scale=flag_values.init_loss_scale, weight_decay_rate=flag_values.weight_decay_rate)


def finetune_optimizer_config(flag_values, num_examples, workers):
  """The `training.OptimizerConfig` of a fine-tuning run: --num_train_epochs over `num_examples` training
  examples in global batches of --train_batch_size x `workers` x --num_accumulation_steps, the first
  --warmup_proportion of the updates warming up.

  Raises:
    ValueError: when the examples make no full update.
  """
  global_batch = flag_values.train_batch_size * workers * flag_values.num_accumulation_steps
  num_train_steps = int(num_examples / global_batch * flag_values.num_train_epochs)
  if num_train_steps < 1:
    raise ValueError("%d training examples make no full update of --train_batch_size=%d x %d worker(s) x "
                     "--num_accumulation_steps=%d" % (num_examples, flag_values.train_batch_size, workers,
                                                       flag_values.num_accumulation_steps))
  return optimizer_config_from_flags(flag_values, num_train_steps,
                                     int(num_train_steps * flag_values.warmup_proportion))


def checkpoint_to_evaluate(flag_values):
  """The checkpoint to evaluate, predict or export with: the newest in --output_dir after --do_train, else
  --init_checkpoint or, without it, the newest in --output_dir."""
  if flag_values.do_train or not flag_values.init_checkpoint:
    return training.latest_checkpoint(flag_values.output_dir)
  return flag_values.init_checkpoint


def require_flags(flag_values, names):
  """Returns the values of the flags `names`; a ValueError names the first one not set."""
  for name in names:
    if not getattr(flag_values, name):
      raise ValueError("--%s is required" % name)
  return [getattr(flag_values, name) for name in names]


def require_file(flag_values, name):
  """Returns the value of the flag `name`; a ValueError says when it is not set or names no file."""
  value = require_flags(flag_values, [name])[0]
  if not tf.io.gfile.exists(value):
    raise ValueError("--%s=%s: no such file" % (name, value))
  return value


def require_output_dir(flag_values):
  """Returns --output_dir, created when missing; a ValueError names the flag when it is not set, names a file
  or cannot be created."""
  path = require_flags(flag_values, ["output_dir"])[0]
  if tf.io.gfile.exists(path) and not tf.io.gfile.isdir(path):
    raise ValueError("--output_dir=%s is a file, not a directory" % path)
  try:
    tf.io.gfile.makedirs(path)
  except tf.errors.OpError as e:
    raise ValueError("--output_dir=%s: cannot create the directory (%s)" % (path, e.message)) from None
  return path


def log_flags(runtime, flag_values):
  """Logs the key flags of the main module (its own and the shared ones it adopted) as dllogger PARAMETER
  lines."""
  params = {f.name: f.value for f in flag_values.get_key_flags_for_module(sys.argv[0]) if f.value is not None}
  runtime.logger.log("PARAMETER", params, verbose_text="%s on %d worker(s): %s" % (
      os.path.basename(sys.argv[0]), runtime.size,
      " ".join("--%s=%s" % kv for kv in sorted(params.items()))))
