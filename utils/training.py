"""The one training loop every run_*.py shares: runtime set-up, TFRecord input, train / evaluate / predict.

A task supplies a `model_fn(features, mode)` returning a `ModelSpec` and an input function; this module does
the rest, the same way for every task:

  * Horovod, XLA and AMP set-up in one place (`init_runtime`; `amp_settings` says what --amp means on this
    machine: float16 on a GPU, bfloat16 on a CPU with bfloat16 units, float32 elsewhere);
  * TFRecord input sharded by Horovod rank, with repeat / shuffle / interleave for training (`tfrecord_input_fn`),
    and a check that the files hold the features the task expects, naming the file when they don't (up front
    for every file's first record; for a later record when the pipeline fails, by reading the files again);
  * weights from `init_checkpoint` by variable name on rank 0, then broadcast to every rank; the encoder
    (`bert/`) of the checkpoint and the model must match unless a partial start is asked for;
  * `optimization.create_optimizer` (LAMB or Adam, accumulation, loss scaling for float16) on the task's loss;
  * MonitoredTrainingSession with checkpoints every `save_checkpoints_steps` (TF writes the data and index
    under temporary names and updates the `checkpoint` file last, so a killed run resumes from the last
    complete checkpoint), automatic resume from `output_dir`, progress (loss, learning rate, loss scale,
    gradient norm) / throughput / ETA logging to stdout, dllogger JSON lines and TensorBoard;
  * exact resume: the training stream is a fixed function of --seed and the rank, the checkpoint holds how
    many micro-batches were read (`input_position`) and a resumed run skips them; dropout is stateless, its
    seed a function of --seed and the micro-batch's number (`training_stream`). A run killed and started
    again ends with the weights of an uninterrupted run. The chief records beside the checkpoints what the
    position means (input files and sizes, batch size, workers, accumulation steps, seed: utils/resume.py); a
    resume with other values is an error naming them.

The loop takes configs (`RunConfig`, `OptimizerConfig`), never flags: utils/flags_config.py defines the shared
flags and turns them into these configs.
"""

import collections
import contextlib
import dataclasses
import glob
import json
import os
import socket
import struct
import sys

import numpy as np
import tensorflow as tf

import optimization
from utils import cli
from utils import cpu
from utils import hooks as hooks_lib
from utils import resume
from utils.dllogger import DLLogger

tf1 = tf.compat.v1

TRAIN, EVAL, PREDICT = "train", "eval", "predict"


@dataclasses.dataclass
class RunConfig:
  """How the loop runs: output, checkpoints, logging, Horovod, XLA, AMP, seed."""
  output_dir: str
  init_checkpoint: str = None
  init_checkpoint_partial: bool = False
  save_checkpoints_steps: int = 1000
  keep_checkpoint_max: int = 5
  display_loss_steps: int = 10
  dllog_path: str = None
  horovod: bool = False
  amp: bool = False
  use_xla: bool = False
  seed: int = 12345


@dataclasses.dataclass
class OptimizerConfig:
  """Arguments of `optimization.create_optimizer` other than the loss."""
  learning_rate: float
  num_train_steps: int
  num_warmup_steps: int
  optimizer_type: str = "adam"
  num_accumulation_steps: int = 1
  allreduce_post_accumulation: bool = False
  init_loss_scale: float = 2.0 ** 32
  weight_decay_rate: float = 0.01


class ModelSpec(collections.namedtuple("ModelSpec", "loss predictions eval_metrics scalars")):
  """What a task's model_fn returns.

  loss: scalar float tensor (TRAIN, EVAL).
  predictions: dict name -> tensor with the batch as first axis (PREDICT).
  eval_metrics: dict name -> (value tensor, update op), e.g. from tf.compat.v1.metrics (EVAL).
  scalars: dict name -> scalar tensor logged with the loss during training (e.g. masked_lm_loss).
  """

  def __new__(cls, loss=None, predictions=None, eval_metrics=None, scalars=None):
    return super().__new__(cls, loss, predictions, eval_metrics or {}, scalars or {})


class Runtime(object):
  """The process's place in the job: Horovod rank and size, session config, logger, and what --amp means here.

  compute_type: the `compute_type` of modeling.BertModel: tf.bfloat16 with --amp on a CPU with bfloat16 units,
    else tf.float32 (on a GPU, float16 comes from the graph rewrite of `session_config`).
  loss_scaling: whether the optimizer scales the loss (--amp on a GPU: float16 gradients underflow without it).
  """

  def __init__(self, config):
    self.config = config
    self.hvd = None
    self.rank, self.size, self.local_rank = 0, 1, 0
    if config.horovod:
      import horovod.tensorflow as hvd
      hvd.init()
      self.hvd = hvd
      self.rank, self.size, self.local_rank = hvd.rank(), hvd.size(), hvd.local_rank()
      # One line from every rank (the rest of the log is rank 0's): which workers joined the job.
      print("Horovod rank %d of %d (local rank %d) on %s, pid %d" % (
          self.rank, self.size, self.local_rank, socket.gethostname(), os.getpid()), flush=True)
    self.is_chief = self.rank == 0
    if config.use_xla and "--tf_xla_cpu_global_jit" not in os.environ.get("TF_XLA_FLAGS", ""):
      # XLA auto-clustering skips CPU ops unless this flag is set before the first session.
      os.environ["TF_XLA_FLAGS"] = (os.environ.get("TF_XLA_FLAGS", "") +
                                    " --tf_xla_cpu_global_jit").strip()
    self.has_gpu = bool(tf.config.list_physical_devices("GPU"))
    dllog = config.dllog_path if self.is_chief else None
    self.logger = DLLogger(dllog, echo=self.is_chief)
    self.compute_type, self.loss_scaling, amp_note = amp_settings(config.amp, self.has_gpu)
    if amp_note:
      self.log_text(amp_note)

  def log_text(self, text):
    if self.is_chief:
      print(text, flush=True)

  def session_config(self):
    """A ConfigProto with the GPU of this rank, XLA, and float16 AMP on a GPU (bfloat16 on a CPU is in the
    model's `compute_type`; no CPU graph rewrite is set)."""
    config = tf1.ConfigProto(allow_soft_placement=True)
    if self.has_gpu:
      config.gpu_options.allow_growth = True
      if self.hvd is not None:
        config.gpu_options.visible_device_list = str(self.local_rank)
      if self.config.amp:
        config.graph_options.rewrite_options.auto_mixed_precision = 1   # RewriterConfig.ON
    if self.config.use_xla:
      config.graph_options.optimizer_options.global_jit_level = tf1.OptimizerOptions.ON_1
    return config


def init_runtime(config):
  """Sets up Horovod, XLA and AMP for this process; returns its `Runtime`."""
  return Runtime(config)


def amp_settings(amp, has_gpu):
  """What --amp means on this machine.

  On a GPU: float16 compute through TensorFlow's auto-mixed-precision graph rewrite, with dynamic loss scaling.
  On a CPU with bfloat16 units (`cpu.bf16_flags`): bfloat16 compute in the model (`modeling.BertModel`
  compute_type), variables, optimizer state, layer norms, softmax and losses in float32, and no loss scaling:
  bfloat16 has float32's 8-bit exponent, so small gradients do not underflow as they do in float16. On other
  CPUs: float32 (TensorFlow's float16 CPU rewrite, auto_mixed_precision_cpu, crashes and is never used).

  Args:
    amp: the --amp flag.
    has_gpu: whether TensorFlow sees a GPU.

  Returns:
    (compute type for modeling.BertModel, whether to scale the loss, the one line to log or None).
  """
  if not amp:
    return tf.float32, False, None
  if has_gpu:
    return tf.float32, True, None
  flags = cpu.bf16_flags()
  if not flags:
    return tf.float32, False, "--amp: %s has no bfloat16 units (no %s flag): computing in float32" % (
        cpu.model_name(), " or ".join(cpu.BF16_FLAGS))
  note = ("--amp: bfloat16 compute on %s (%s); variables, optimizer state, layer norms, softmax and the loss "
          "stay float32; no loss scaling (bfloat16 has float32's exponent range)" % (cpu.model_name(),
                                                                                   " ".join(flags)))
  if os.environ.get("TF_ENABLE_ONEDNN_OPTS") == "0":
    note += "; TF_ENABLE_ONEDNN_OPTS=0: without oneDNN bfloat16 runs slower than float32"
  return tf.bfloat16, False, note


# -------------------------------------------------------------------------------------------- input

def list_input_files(pattern, flag_name):
  """Expands a directory, a glob or a comma-separated list into a sorted list of files.

  Raises:
    ValueError: naming `flag_name` and the pattern when nothing exists or a file is empty.
  """
  files = []
  for part in [p for p in str(pattern or "").split(",") if p]:
    if os.path.isdir(part):
      files.extend(os.path.join(part, f) for f in os.listdir(part)
                   if not f.startswith(".") and os.path.isfile(os.path.join(part, f)))
    else:
      files.extend(f for f in glob.glob(part) if os.path.isfile(f))   # a glob may match folders too
  files = sorted(set(files))
  if not files:
    raise ValueError("--%s=%s: no input files found" % (flag_name, pattern))
  empty = [f for f in files if os.path.getsize(f) == 0]
  if empty:
    raise ValueError("--%s: input file %s is empty" % (flag_name, empty[0]))
  return files


def check_tfrecord_features(path, name_to_features):
  """Checks that the first record of `path` holds the expected features with the expected lengths.

  Raises:
    ValueError: naming the file and the feature that does not match.
  """
  _check_example(path, _first_record(path), name_to_features)


def _check_example(where, record, name_to_features):
  """Checks one serialized record against `name_to_features`; a ValueError starting with `where` (the file,
  or the file and record) names the feature that does not match."""
  try:
    example = tf.train.Example.FromString(record)
  except Exception as e:  # noqa: BLE001 -- protobuf raises DecodeError
    raise ValueError("%s: not a tf.train.Example (%s)" % (where, e)) from None
  features = example.features.feature
  for name, spec in name_to_features.items():
    if name not in features:
      raise ValueError("%s: no feature '%s' (the record has: %s)" %
                       (where, name, ", ".join(sorted(features))))
    kind = features[name].WhichOneof("kind")
    values = getattr(features[name], kind).value if kind else []
    want = "int64_list" if spec.dtype in (tf.int64, tf.int32) else "float_list"
    if kind != want:
      raise ValueError("%s: feature '%s' is %s, expected %s" % (where, name, kind, want))
    length = int(np.prod(spec.shape)) if spec.shape else 1
    if len(values) != length:
      raise ValueError("%s: feature '%s' has %d values, expected %d (was the data made with another "
                       "--max_seq_length / --max_predictions_per_seq?)" % (where, name, len(values), length))


def find_bad_record(input_files, name_to_features):
  """Reads every record of `input_files` in order and checks it as `check_tfrecord_features` checks the
  first: after the input pipeline failed mid-run, this finds the file and record at fault.

  Returns:
    A message naming the file and the record that cannot be read or does not match, or None.
  """
  # The undecorated function: the deprecation wrapper would log a multi-line warning.
  read_records = getattr(tf1.io.tf_record_iterator, "__wrapped__", tf1.io.tf_record_iterator)
  for path in input_files:
    count = 0
    try:
      for record in read_records(path):
        _check_example("%s: record %d" % (path, count), record, name_to_features)
        count += 1
    except tf.errors.OpError as e:
      return "%s is truncated or corrupt: record %d cannot be read (%s)" % (path, count, e.message)
    except ValueError as e:
      return str(e)
  return None


def _masked_crc32c(data):
  """TFRecord's checksum of `data`: CRC-32C, rotated right by 15 bits plus a constant (bitwise; for short
  strings such as the 8-byte length header)."""
  crc = 0xFFFFFFFF
  for byte in data:
    crc ^= byte
    for _ in range(8):
      crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
  crc ^= 0xFFFFFFFF
  return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _first_record(path):
  """The first record of a TFRecord file (length, length CRC, data, data CRC), without TF ops.

  The length's checksum is verified before anything past it is read: in a file that is not a TFRecord
  (a README, a text shard) the "length" is garbage, often exabytes.
  """
  with tf.io.gfile.GFile(path, "rb") as f:
    header = f.read(12)
    if len(header) < 12:
      raise ValueError("%s is not a TFRecord file (%d bytes, shorter than a record header)" % (path, len(header)))
    length, length_crc = struct.unpack("<QI", header)
    if _masked_crc32c(header[:8]) != length_crc:
      raise ValueError("%s is not a TFRecord file (its first record header fails its checksum)" % path)
    record = f.read(length)
  if len(record) != length:
    raise ValueError("%s is truncated: its first record has %d of %d bytes" % (path, len(record), length))
  return record


def decode_record(record, name_to_features):
  """Parses one serialized tf.train.Example; int64 features become int32."""
  example = tf.io.parse_single_example(record, name_to_features)
  return {k: tf.cast(v, tf.int32) if v.dtype == tf.int64 else v for k, v in example.items()}


class TFRecordInput(object):
  """An input function over TFRecord files: calling it builds the tf.data.Dataset. It knows its files and
  features, so that the loop can name the file and record behind an error the pipeline raises mid-run."""

  def __init__(self, files, name_to_features, make_dataset):
    self.files = files
    self.name_to_features = name_to_features
    self._make_dataset = make_dataset

  def __call__(self):
    return self._make_dataset()

  def map_dataset(self, transform):
    """The same input with `transform` (a function dataset -> dataset) applied to the dataset."""
    return TFRecordInput(self.files, self.name_to_features, lambda: transform(self._make_dataset()))


def tfrecord_input_fn(input_files, name_to_features, batch_size, is_training, runtime,
                      shuffle_buffer=1000, cycle_length=4, repeat=None, exact_epochs=False):
  """Returns an input function (a `TFRecordInput`) giving batches of the features in `input_files`.

  Training (and `repeat=True`): files are sharded by Horovod rank when there are enough of them (records
  otherwise), shuffled, interleaved in a fixed order (so that one --seed gives one result), repeated, and
  batched with drop_remainder so every step has the same shape. With `exact_epochs` (fine-tuning, where
  `shuffle_buffer` holds all of a worker's records), the records are sharded by rank and each pass over them is
  a fresh permutation, so every record is read once per epoch; otherwise the stream is shuffled after repeating
  and a record may come twice before another comes once. Evaluation/prediction: files are read in order, once, the
  last batch kept. Every file's first record is checked against `name_to_features` first.
  """
  repeat = is_training if repeat is None else repeat
  for path in input_files:
    check_tfrecord_features(path, name_to_features)

  def input_fn():
    if is_training and exact_epochs:
      d = tf.data.TFRecordDataset(input_files).shard(runtime.size, runtime.rank)
      d = d.shuffle(shuffle_buffer, seed=runtime.config.seed + runtime.rank, reshuffle_each_iteration=True)
      if repeat:
        d = d.repeat()
    elif is_training:
      d = tf.data.Dataset.from_tensor_slices(tf.constant(input_files))
      if len(input_files) >= runtime.size:
        d = d.shard(runtime.size, runtime.rank)
        own_files = len(range(runtime.rank, len(input_files), runtime.size))
        d = d.shuffle(own_files, seed=runtime.config.seed, reshuffle_each_iteration=True)
        if repeat:
          d = d.repeat()
        # No more readers than this worker has files: more would read a file's next pass beside this one, and
        # every record would come twice within a few batches.
        d = d.interleave(tf.data.TFRecordDataset, cycle_length=min(cycle_length, own_files),
                         num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
      else:
        d = tf.data.TFRecordDataset(input_files).shard(runtime.size, runtime.rank)
        if repeat:
          d = d.repeat()
      d = d.shuffle(shuffle_buffer, seed=runtime.config.seed + runtime.rank)
    else:
      d = tf.data.TFRecordDataset(input_files)
      if repeat:
        d = d.repeat()
    d = d.map(lambda r: decode_record(r, name_to_features), num_parallel_calls=tf.data.AUTOTUNE)
    d = d.batch(batch_size, drop_remainder=is_training)
    return d.prefetch(tf.data.AUTOTUNE)

  return TFRecordInput(input_files, name_to_features, input_fn)


SEQUENCE_FEATURES = ("input_ids", "input_mask", "segment_ids")
BUCKET_WIDTH = 16  # Trimmed training batches hold examples whose lengths fall in the same 16-token bucket.


def trim_batch_padding(features):
  """Cuts the sequence features of a batch to the longest real sequence in it (keeps at least 1 token)."""
  length = tf.maximum(tf.reduce_max(tf.reduce_sum(features["input_mask"], axis=1)), 1)
  return {k: v[:, :length] if k in SEQUENCE_FEATURES else v for k, v in features.items()}


def bucket_by_length(dataset, batch_size):
  """Regroups a stream of training batches into batches of examples from the same length bucket."""
  def bucket(features):
    return tf.cast((tf.reduce_sum(features["input_mask"]) - 1) // BUCKET_WIDTH, tf.int64)
  return dataset.unbatch().group_by_window(
      key_func=bucket, reduce_func=lambda _, window: window.batch(batch_size, drop_remainder=True),
      window_size=batch_size)


def trimmed_input_fn(input_fn, batch_size, bucket):
  """Wraps a `tfrecord_input_fn` so each batch is cut to its longest real sequence (dynamic padding).

  With `bucket` (training only), examples of similar length are batched together first, so little padding is
  left; but a batch then holds one length range only, which biases it where labels go with length (ChemProt's
  relations, see run_re.py). Every position-valued label (a SQuAD answer span, a masked-LM position) must lie
  inside the real tokens.
  """
  def trim(dataset):
    dataset = bucket_by_length(dataset, batch_size) if bucket else dataset
    return dataset.map(trim_batch_padding, num_parallel_calls=tf.data.AUTOTUNE).prefetch(2)

  return input_fn.map_dataset(trim)


# ------------------------------------------------------------------------------------- checkpoints

def resolve_checkpoint(path):
  """Returns a checkpoint prefix for a prefix or a directory (its latest or bert_model.ckpt)."""
  if path is None:
    return None
  if tf.io.gfile.isdir(path):
    found = tf.train.latest_checkpoint(path)
    if found is None and tf.io.gfile.exists(os.path.join(path, "bert_model.ckpt.index")):
      found = os.path.join(path, "bert_model.ckpt")
    if found is None:
      raise ValueError("--init_checkpoint=%s: directory holds no checkpoint" % path)
    return found
  if not tf.io.gfile.exists(path + ".index"):
    raise ValueError("--init_checkpoint=%s: no such checkpoint (%s.index missing)" % (path, path))
  return path


ENCODER_SCOPE = "bert/"   # the variables a config must describe exactly in the checkpoint it starts from


def read_checkpoint_shapes(checkpoint):
  """{variable name: shape as a list} of a checkpoint prefix; a ValueError names an index it cannot read."""
  try:
    return {name: list(shape) for name, shape in tf.train.list_variables(checkpoint)}
  except tf.errors.OpError as e:
    raise ValueError("%s.index is not a readable checkpoint index (%s)" % (checkpoint, e.message)) from None


def match_checkpoint(shapes, variables, scope=ENCODER_SCOPE):
  """Matches the model's `variables` with a checkpoint's by name.

  Args:
    shapes: {name: shape} of the checkpoint (`read_checkpoint_shapes`).
    variables: the model's variables.
    scope: the encoder's scope, which must be the same in both.

  Returns:
    (assignment, problems): assignment maps each name present in both with one shape to its variable;
    problems is a list of texts naming the `scope` variables of the model missing from the checkpoint, the
    `scope` variables of the checkpoint the model lacks (training state nested under a variable's name, such
    as the optimizer slot "<variable>/adam_m", aside) and the variables whose shapes differ.
  """
  by_name = collections.OrderedDict((v.op.name, v) for v in variables)
  assignment = collections.OrderedDict(
      (name, var) for name, var in by_name.items() if shapes.get(name) == var.shape.as_list())
  missing = [n for n in by_name if n.startswith(scope) and n not in shapes]
  unexpected = [n for n in sorted(shapes) if n.startswith(scope) and n not in by_name and not _nested(n, shapes)]
  mismatched = ["%s has shape %s in the checkpoint but %s in the model" % (n, shapes[n], v.shape.as_list())
                for n, v in by_name.items() if n in shapes and n not in assignment]
  problems = []
  if missing:
    problems.append("%d model variable(s) missing from the checkpoint: %s" % (len(missing), _some(missing)))
  if unexpected:
    problems.append("%d checkpoint variable(s) not in the model: %s" % (len(unexpected), _some(unexpected)))
  if mismatched:
    problems.append("%d shape mismatch(es): %s" % (len(mismatched), _some(mismatched)))
  return assignment, problems


def _nested(name, names):
  """Whether `name` lies under another of `names`, as an optimizer slot "<variable>/adam_m" does."""
  parts = name.split("/")
  return any("/".join(parts[:i]) in names for i in range(1, len(parts)))


def _some(names, limit=4):
  """The first `limit` of `names`, and how many more there are."""
  return ", ".join(names[:limit]) + (" and %d more" % (len(names) - limit) if len(names) > limit else "")


def init_from_checkpoint(checkpoint, variables, runtime, partial=False):
  """Initializes `variables` from `checkpoint` by name (call before the session is created).

  The encoder must match (`match_checkpoint`): every variable under bert/ of the model is in the checkpoint
  and the other way round, and every variable in both has one shape. Variables outside bert/ may be in one of
  them only: a task head starts fresh; the masked-LM / next-sentence heads, optimizer slots and step of a
  pretraining checkpoint go unused. Anything else means the config does not describe the checkpoint: a
  ValueError names the differences, unless `partial`, which loads what matches and logs the rest.

  Returns:
    The list of variable names initialized from the checkpoint.
  """
  checkpoint = resolve_checkpoint(checkpoint)
  shapes = read_checkpoint_shapes(checkpoint)
  assignment, problems = match_checkpoint(shapes, variables)
  if problems and not partial:
    raise ValueError("--init_checkpoint=%s does not match the model of --bert_config_file: %s "
                     "(--init_checkpoint_partial starts from the variables that match)" % (
                         checkpoint, "; ".join(problems)))
  if not any(n.startswith(ENCODER_SCOPE) for n in assignment):
    raise ValueError("--init_checkpoint=%s provides none of the model's %s variables" % (checkpoint, ENCODER_SCOPE))
  if runtime.is_chief:
    tf1.train.init_from_checkpoint(checkpoint, assignment)
  fresh = [v.op.name for v in variables if v.op.name not in assignment]
  if partial:
    unused = [n for n in sorted(shapes) if n not in assignment and not _nested(n, shapes)]
    runtime.log_text("init_checkpoint %s, partial start: %d variables loaded; %d initialized fresh: %s; %d "
                     "checkpoint variables unused: %s" % (checkpoint, len(assignment), len(fresh),
                                                          ", ".join(fresh), len(unused), ", ".join(unused)))
  else:
    runtime.log_text("init_checkpoint %s: %d variables loaded, %d initialized fresh%s" % (
        checkpoint, len(assignment), len(fresh), (" (%s)" % _some(fresh, 6)) if fresh else ""))
  return list(assignment)


# ---------------------------------------------------------------------------------------- the loops

@contextlib.contextmanager
def input_errors_named(input_fn, runtime):
  """Turns a read or parse error of the input pipeline (TF names its IteratorGetNext node) into a ValueError
  naming the file and record at fault, found by reading the files of a `TFRecordInput` again. Other errors,
  and pipeline errors whose record the second reading does not find, pass unchanged."""
  try:
    yield
  except (tf.errors.DataLossError, tf.errors.InvalidArgumentError) as e:
    if not isinstance(input_fn, TFRecordInput) or "IteratorGetNext" not in e.message:
      raise
    runtime.log_text("the input pipeline failed; reading its %d file(s) again to find the record at fault" %
                     len(input_fn.files))
    found = find_bad_record(input_fn.files, input_fn.name_to_features)
    if found is None:
      raise
    raise ValueError(found) from None


def _build(model_fn, input_fn, mode, runtime):
  tf1.set_random_seed(runtime.config.seed)
  features = tf1.data.make_one_shot_iterator(input_fn()).get_next()
  return features, model_fn(features, mode)


DROPOUT_SEED = "dropout_seed"       # the feature holding a training micro-batch's dropout seed
INPUT_POSITION = "input_position"   # the variable counting the micro-batches a worker has read


def training_stream(dataset, start, runtime):
  """The micro-batches of `dataset` from number `start` on, each with its dropout seed.

  A micro-batch's seed (feature `DROPOUT_SEED`, int64 [2]) is [--seed, its number * workers + rank]: the same
  whenever that micro-batch is read, in an uninterrupted run or after a resume, and different on every worker
  and for every micro-batch. Model functions pass it to `modeling.BertModel(dropout_seed=...)`.

  Args:
    dataset: the training batches, a fixed sequence for one --seed and rank (`tfrecord_input_fn`).
    start: int64 scalar tensor, the micro-batches to skip (read before the checkpoint resumed from).
    runtime: the `Runtime`.

  Returns:
    A tf.data.Dataset of feature dicts.
  """
  seed, size, rank = runtime.config.seed, runtime.size, runtime.rank

  def with_seed(number, features):
    features = dict(features)
    features[DROPOUT_SEED] = tf.stack([tf.constant(seed, tf.int64), number * size + rank])
    return features

  return dataset.enumerate().skip(start).map(with_seed)


def _build_training(model_fn, input_fn, runtime):
  """The training graph: the features from the input position on (`training_stream`) and the model.

  Returns:
    (the model's ModelSpec, the int64 input position variable, the op that starts the input at the value
    the position variable has when it runs).
  """
  tf1.set_random_seed(runtime.config.seed)
  position = tf1.get_variable(INPUT_POSITION, shape=[], dtype=tf.int64, initializer=tf1.zeros_initializer(),
                              trainable=False)
  iterator = tf1.data.make_initializable_iterator(training_stream(input_fn(), position.read_value(), runtime))
  return model_fn(iterator.get_next(), TRAIN), position, iterator.initializer


def train(model_fn, input_fn, runtime, optimizer_config, batch_size, hooks=()):
  """Trains until the global step reaches `optimizer_config.num_train_steps`, resuming from the output_dir.

  Args:
    model_fn: function(features, mode) -> ModelSpec with `loss`.
    input_fn: function() -> tf.data.Dataset of feature dicts (per-rank micro-batches of `batch_size`).
    runtime: `Runtime` from `init_runtime`; its `config` (a `RunConfig`) gives the output_dir, the
      init_checkpoint and the checkpoint and logging intervals.
    optimizer_config: `OptimizerConfig`.
    batch_size: per-rank micro-batch size (for throughput).
    hooks: extra SessionRunHooks.

  Returns:
    dict with the final global step, loss and average training throughput (sentences/sec).
  """
  config = runtime.config
  os.makedirs(config.output_dir, exist_ok=True)
  record = resume.describe(getattr(input_fn, "files", None), batch_size, optimizer_config.num_accumulation_steps,
                           runtime.size, config.seed)
  checkpoint = _resume_point(runtime, record)
  with tf.Graph().as_default():
    spec, position, start_input = _build_training(model_fn, input_fn, runtime)
    _init_or_resume(runtime, checkpoint)
    optimizer = _create_optimizer(spec.loss, optimizer_config, runtime)
    train_op = tf.group(optimizer.train_op, position.assign_add(1))
    scalars = collections.OrderedDict([("loss", spec.loss)])
    scalars.update(spec.scalars)
    scalars["learning_rate"] = optimizer.learning_rate
    if runtime.loss_scaling:
      scalars["loss_scale"] = optimizer.loss_scale
    for name, tensor in scalars.items():
      tf1.summary.scalar(name, tensor)
    # The gradient norm is logged by the progress hook only: it reports after an update, while a summary
    # step may fall on a micro-batch that only accumulates (norm 0).
    scalars["grad_norm"] = optimizer.grad_norm
    progress = hooks_lib.ProgressHook(
        scalars, tf1.train.get_global_step(), batch_size * runtime.size, optimizer_config.num_train_steps,
        config.display_loss_steps, runtime.logger,
        summary_writer=tf1.summary.FileWriterCache.get(config.output_dir) if runtime.is_chief else None,
        checkpoint_every=config.save_checkpoints_steps, runs_per_step=optimizer_config.num_accumulation_steps)
    all_hooks = _start_and_stop_hooks(spec.loss, runtime, optimizer_config.num_train_steps, position,
                                      start_input) + [progress] + list(hooks)
    with input_errors_named(input_fn, runtime):
      final = _run_training_session(train_op, spec.loss, runtime, all_hooks)
  final["global_step"] = (progress.last_step if progress.last_step is not None
                          else optimizer_config.num_train_steps)
  final.update(progress.summary())
  return final


def _resume_point(runtime, record):
  """The checkpoint in the output_dir to resume from (None: start afresh), once it is known to resume exactly.

  The chief compares the record of the input (`resume.describe`) of the run that wrote the checkpoint with
  `record`, this run's, and writes `record` to the output_dir (atomically) when it differs or is missing.

  Raises:
    ValueError: naming a checkpoint that lacks the input position (written by an older version), or what changed
      in the input since the run that wrote it (`resume.compare`).
  """
  output_dir = runtime.config.output_dir
  checkpoint = tf.train.latest_checkpoint(output_dir)
  if checkpoint and INPUT_POSITION not in read_checkpoint_shapes(checkpoint):
    raise ValueError("%s holds no %s (an older version wrote it): resume it with that version, or train "
                     "into a new --output_dir with --init_checkpoint=%s (its weights; the optimizer state and the "
                     "step start fresh)" % (checkpoint, INPUT_POSITION, checkpoint))
  if runtime.is_chief:
    check_input_record(output_dir, checkpoint, record)
  return checkpoint


def check_input_record(output_dir, checkpoint, record):
  """Checks a resume from `checkpoint` (None: no resume) against the input record in `output_dir`, then writes
  `record` there when it differs from the one found (none: a fresh start, or a checkpoint of an older version,
  which resumes with a warning on stderr).

  Raises:
    ValueError: naming what changed since the run that wrote the checkpoint (`resume.compare`).
  """
  previous = resume.read(output_dir) if checkpoint else None
  if checkpoint and previous is None:
    print("warning: %s holds no %s (an older version wrote the checkpoint): this resume cannot check that the "
          "input files, batch size, workers, accumulation steps and --seed are those of the run it resumes" % (
              output_dir, resume.RECORD), file=sys.stderr, flush=True)
  elif checkpoint:
    error = resume.compare(previous, record, output_dir)
    if error:
      raise ValueError(error)
  if previous != record:
    write_results(os.path.join(output_dir, resume.RECORD), record)


def _init_or_resume(runtime, checkpoint):
  """Loads `init_checkpoint` unless there is a `checkpoint` to resume from (which the session restores)."""
  config = runtime.config
  if config.init_checkpoint and not checkpoint:
    # The input position starts at 0 on new input (e.g. phase 2 from phase 1's checkpoint).
    model_variables = [v for v in tf1.global_variables() if v.op.name != INPUT_POSITION]
    init_from_checkpoint(config.init_checkpoint, model_variables, runtime, config.init_checkpoint_partial)
  if checkpoint:
    runtime.log_text("resuming from %s" % checkpoint)


def _create_optimizer(loss, optimizer_config, runtime):
  """`optimization.create_optimizer` with the settings of `optimizer_config` and `runtime`."""
  oc = optimizer_config
  return optimization.create_optimizer(
      loss, oc.learning_rate, oc.num_train_steps, oc.num_warmup_steps, hvd=runtime.hvd, amp=runtime.loss_scaling,
      num_accumulation_steps=oc.num_accumulation_steps, optimizer_type=oc.optimizer_type,
      allreduce_post_accumulation=oc.allreduce_post_accumulation, init_loss_scale=oc.init_loss_scale,
      weight_decay_rate=oc.weight_decay_rate)


def _start_and_stop_hooks(loss, runtime, num_train_steps, position, start_input):
  """The hooks that start the workers alike, each at its input position (`start_input` runs after the
  broadcast of rank 0's variables), and end training (at the last step, or on a NaN loss)."""
  hooks = [tf1.train.StopAtStepHook(last_step=num_train_steps)]
  if not runtime.loss_scaling:   # with loss scaling a non-finite step is skipped instead
    hooks.append(_NanLossHook(loss))
  if runtime.hvd is not None:
    hooks.append(hooks_lib.BroadcastGlobalVariablesHook(runtime.hvd, 0))
  hooks.append(hooks_lib.StartInputHook(start_input, position, runtime.log_text))
  return hooks


def _run_training_session(train_op, loss, runtime, hooks):
  """Runs `train_op` in a MonitoredTrainingSession (checkpoints and summaries on the chief) until a hook
  stops it; returns {"loss": the last loss}, or {} when there was nothing left to train."""
  config = runtime.config
  scaffold = tf1.train.Scaffold(saver=tf1.train.Saver(max_to_keep=config.keep_checkpoint_max,
                                                      save_relative_paths=True))
  final = {}
  with tf1.train.MonitoredTrainingSession(
      checkpoint_dir=config.output_dir if runtime.is_chief else None,
      scaffold=scaffold, hooks=hooks, config=runtime.session_config(),
      save_checkpoint_steps=config.save_checkpoints_steps if runtime.is_chief else None,
      save_checkpoint_secs=None,
      save_summaries_steps=config.display_loss_steps if runtime.is_chief else None,
      log_step_count_steps=None) as sess:
    while not sess.should_stop():
      _, final["loss"] = sess.run([train_op, loss])
  return final


class _NanLossHook(tf1.train.SessionRunHook):
  """Stops with a clear error when the loss becomes NaN."""

  def __init__(self, loss):
    self._loss = loss

  def before_run(self, run_context):
    return tf1.train.SessionRunArgs(self._loss)

  def after_run(self, run_context, run_values):
    if np.isnan(run_values.results):
      raise RuntimeError("training loss is NaN; lower --learning_rate (or, on a GPU, use --amp: its loss "
                         "scaling skips non-finite steps)")


def _restore_session(runtime, checkpoint):
  """A session with global variables from `checkpoint` (those it holds) and initialized locals; the encoder
  must match (`match_checkpoint`)."""
  checkpoint = resolve_checkpoint(checkpoint)
  restore, problems = match_checkpoint(read_checkpoint_shapes(checkpoint), tf1.global_variables())
  if problems:
    raise ValueError("checkpoint %s does not match the model of --bert_config_file: %s" % (
        checkpoint, "; ".join(problems)))
  missing = [v.op.name for v in tf1.global_variables() if v.op.name not in restore]
  if missing:
    runtime.log_text("checkpoint %s lacks %d variables, left at their initializers: %s" % (
        checkpoint, len(missing), ", ".join(missing[:6]) + (" ..." if len(missing) > 6 else "")))
  sess = tf1.Session(config=runtime.session_config())
  sess.run([tf1.global_variables_initializer(), tf1.local_variables_initializer()])
  tf1.train.Saver(restore).restore(sess, checkpoint)
  return sess, checkpoint


def evaluate(model_fn, input_fn, runtime, checkpoint, max_steps=None):
  """Runs the eval metrics of `model_fn` over the input (or `max_steps` batches) at `checkpoint`.

  Returns:
    dict metric name -> float, plus "eval_batches".
  """
  with tf.Graph().as_default():
    _, spec = _build(model_fn, input_fn, EVAL, runtime)
    values = {k: v[0] for k, v in spec.eval_metrics.items()}
    updates = [v[1] for v in spec.eval_metrics.values()]
    sess, checkpoint = _restore_session(runtime, checkpoint)
    batches = 0
    with sess, input_errors_named(input_fn, runtime):
      while max_steps is None or batches < max_steps:
        try:
          sess.run(updates)
        except tf.errors.OutOfRangeError:
          break
        batches += 1
      result = {k: float(v) for k, v in sess.run(values).items()}
  result["eval_batches"] = batches
  return result


def predict(model_fn, input_fn, runtime, checkpoint):
  """Yields one dict of numpy values per example (the batch axis unrolled) at `checkpoint`."""
  with tf.Graph().as_default():
    _, spec = _build(model_fn, input_fn, PREDICT, runtime)
    sess, _ = _restore_session(runtime, checkpoint)
    with sess, input_errors_named(input_fn, runtime):
      while True:
        try:
          batch = sess.run(spec.predictions)
        except tf.errors.OutOfRangeError:
          return
        n = len(next(iter(batch.values())))
        for i in range(n):
          yield {k: v[i] for k, v in batch.items()}


def write_results(path, results):
  """Writes a dict of results to `path` atomically (a temporary file renamed over it).

  Args:
    path: the file; a name ending in ".json" gets the dict as indented JSON, any other `key = value` lines
      sorted by key (Google's eval_results.txt).
    results: dict name -> value.
  """
  if path.endswith(".json"):
    text = json.dumps(results, indent=2)
  else:
    text = "".join("%s = %s\n" % (k, results[k]) for k in sorted(results))
  tmp = path + ".tmp"
  with tf.io.gfile.GFile(tmp, "w") as f:
    f.write(text)
  tf.io.gfile.rename(tmp, path, overwrite=True)


def latest_checkpoint(output_dir):
  """The newest checkpoint in `output_dir`, or a ValueError naming the directory."""
  found = tf.train.latest_checkpoint(output_dir)
  if found is None:
    raise ValueError("no checkpoint in %s to evaluate; train first or pass --init_checkpoint" % output_dir)
  return found


def run_main(main):
  """Runs `main` under absl through `cli.run_main` (a ValueError prints as one line, exit status 2), with
  TensorFlow's log lines printed once."""

  def with_tf_logger(argv):
    tf.get_logger().propagate = False   # TF's logger has its own handler; absl's would print twice
    return main(argv)

  cli.run_main(with_tf_logger)
