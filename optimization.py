"""Optimizers for BERT pretraining and fine-tuning (TF1 graph mode).

`create_optimizer` builds the whole update: learning-rate schedule, optional dynamic loss scaling for float16,
gradient accumulation over micro-batches, optional Horovod all-reduce, global-norm clipping and one of

  * "lamb": NVIDIA's NVLAMB -- bias-corrected Adam moments of the pre-clipped gradient, decoupled weight decay,
    and a per-variable trust ratio ||w|| / ||update||;
  * "adam": Adam with decoupled weight decay as in Google's BERT (AdamWeightDecayOptimizer: no bias correction).

Slot variables are named "<var>/lamb_m", "<var>/lamb_v" or "<var>/adam_m", "<var>/adam_v" (the names Google's
BERT checkpoints use) and gradient accumulators "<var>/accum_grad"; all are non-trainable global variables, so a
tf.compat.v1.train.Saver checkpoints them.
"""
import re

import tensorflow as tf

from utils import graph_names

# Finite optimizer updates in a row after which the dynamic loss scale doubles.
LOSS_SCALE_GROWTH_INTERVAL = 1000
# Variables whose name contains one of these get no weight decay.
NO_WEIGHT_DECAY = ("LayerNorm", "layer_norm", "bias")
OPTIMIZER_TYPES = ("lamb", "adam")


def create_optimizer(loss, init_lr, num_train_steps, num_warmup_steps, hvd=None, amp=False,
                     num_accumulation_steps=1, optimizer_type="lamb", allreduce_post_accumulation=False,
                     init_loss_scale=2**32, weight_decay_rate=0.01, poly_power=None, clip_norm=1.0,
                     loss_scale_growth_interval=LOSS_SCALE_GROWTH_INTERVAL):
  """Creates the training op that minimizes `loss` over all trainable variables.

  Each run of the op processes one micro-batch. Gradients of `loss / num_accumulation_steps` are summed over
  `num_accumulation_steps` runs (so a mean loss over micro-batches gives the gradient of the mean over the whole
  batch); the last run of the window clips the summed gradient to global norm `clip_norm` and applies one
  optimizer update, which advances the global step by one. Call it once per graph, at the root variable scope.

  Graph tensors named in utils/graph_names.py: LEARNING_RATE, LOSS_SCALE (1.0 without `amp`), GRAD_NORM and
  UPDATE_STEP.

  Args:
    loss: scalar loss tensor (any float dtype; the gradient is taken of its float32 cast).
    init_lr: peak learning rate, reached after the warmup. Not scaled by the number of workers.
    num_train_steps: number of optimizer updates; the learning rate decays to 0 at this global step.
    num_warmup_steps: updates of linear warmup from 0 to `init_lr`.
    hvd: the `horovod.tensorflow` module (initialized) or None. With more than one worker, gradients are
      averaged over workers.
    amp: whether to use dynamic loss scaling (for float16 compute). The loss is multiplied by the scale and the
      gradients divided by it; if the update's gradient is not finite, no variable and not the global step
      changes, the accumulators are reset and the scale halves. After `loss_scale_growth_interval` finite
      updates in a row the scale doubles.
    num_accumulation_steps: micro-batches whose gradients make one update.
    optimizer_type: "lamb" or "adam".
    allreduce_post_accumulation: all-reduce only the accumulated gradient, once per update, instead of every
      micro-batch's gradient.
    init_loss_scale: initial dynamic loss scale (used with `amp`).
    weight_decay_rate: decoupled weight decay, not applied to variables named with one of NO_WEIGHT_DECAY.
    poly_power: power of the polynomial decay after warmup; None means 0.5 for "lamb" and 1.0 for "adam".
    clip_norm: the gradient is clipped to this global norm before the optimizer sees it.
    loss_scale_growth_interval: see `amp`.

  Returns:
    The train op.

  Raises:
    ValueError: on a bad argument, or when the loss depends on no trainable variable.
  """
  _check_args(init_lr, num_train_steps, num_warmup_steps, num_accumulation_steps, optimizer_type,
              init_loss_scale, clip_norm, loss_scale_growth_interval)
  if poly_power is None:
    poly_power = 0.5 if optimizer_type == "lamb" else 1.0
  global_step = tf.compat.v1.train.get_or_create_global_step()
  learning_rate = _name_at_root(
      learning_rate_schedule(global_step, init_lr, num_train_steps, num_warmup_steps, poly_power),
      graph_names.LEARNING_RATE)
  loss_scale = DynamicLossScale(init_loss_scale, loss_scale_growth_interval) if amp else None
  scale = _name_at_root(loss_scale.scale if amp else tf.constant(1.0), graph_names.LOSS_SCALE)

  loss = tf.cast(loss, tf.float32) / num_accumulation_steps
  tvars = tf.compat.v1.trainable_variables()
  grads = tf.gradients(loss * scale if amp else loss, tvars)
  grads, tvars = _drop_unused(grads, tvars)
  grads = [tf.convert_to_tensor(g) for g in grads]  # embedding gradients come as IndexedSlices
  if amp:
    grads = [g / scale for g in grads]

  distributed = hvd is not None and hvd.size() > 1
  if distributed and (not allreduce_post_accumulation or num_accumulation_steps == 1):
    grads = _allreduce(hvd, grads)
  optimizer = DecoupledWeightDecayOptimizer(optimizer_type, learning_rate, weight_decay_rate, tvars)

  def apply_update(grads):
    """Clips `grads`, applies them unless loss scaling found them non-finite; returns (grad norm, op)."""
    grad_norm = tf.linalg.global_norm(grads)
    finite = tf.math.is_finite(grad_norm)
    grads, _ = tf.clip_by_global_norm(grads, clip_norm, use_norm=tf.where(finite, grad_norm, 1.0))
    if not amp:
      return grad_norm, optimizer.apply_gradients(grads, tvars, global_step)
    applied = tf.cond(finite, lambda: _true_after(optimizer.apply_gradients(grads, tvars, global_step)),
                      lambda: tf.constant(False))
    return grad_norm, tf.group(applied, loss_scale.update(finite))

  if num_accumulation_steps == 1:
    update_step = tf.constant(True)
    grad_norm, train_op = apply_update(grads)
  else:
    accumulator = GradientAccumulator(tvars, num_accumulation_steps)
    update_step = accumulator.is_last_micro_batch()

    def update():
      totals = accumulator.totals(grads)
      if distributed and allreduce_post_accumulation:
        totals = _allreduce(hvd, totals)
      grad_norm, op = apply_update(totals)
      with tf.control_dependencies([op]):
        reset = accumulator.reset()
      with tf.control_dependencies(reset):
        return tf.identity(grad_norm)

    def accumulate():
      with tf.control_dependencies(accumulator.add(grads)):
        return tf.constant(0.0)

    grad_norm = tf.cond(update_step, update, accumulate)
    train_op = tf.group(grad_norm)
  _name_at_root(update_step, graph_names.UPDATE_STEP)
  _name_at_root(grad_norm, graph_names.GRAD_NORM)
  return train_op


def learning_rate_schedule(global_step, init_lr, num_train_steps, num_warmup_steps, poly_power):
  """Linear warmup to `init_lr`, then polynomial decay to 0, as in Google's and NVIDIA's BERT.

  lr(step) = init_lr * step / num_warmup_steps                   for step < num_warmup_steps,
             init_lr * (1 - min(step, num_train_steps) / num_train_steps) ** poly_power   otherwise.

  Args:
    global_step: integer scalar tensor or variable.
    init_lr: peak learning rate.
    num_train_steps: step at which the learning rate reaches 0.
    num_warmup_steps: warmup length in steps (0 for none).
    poly_power: power of the decay.

  Returns:
    float32 scalar tensor.
  """
  with tf.compat.v1.name_scope("learning_rate_schedule"):
    step = tf.cast(global_step, tf.float32)
    decayed = init_lr * (1.0 - tf.minimum(step, float(num_train_steps)) / num_train_steps) ** poly_power
    if not num_warmup_steps:
      return decayed
    warmup = init_lr * step / num_warmup_steps
    return tf.where(step < num_warmup_steps, warmup, decayed)


def use_weight_decay(var_name):
  """Whether the variable named `var_name` gets weight decay (not LayerNorm parameters nor biases)."""
  return not any(part in var_name for part in NO_WEIGHT_DECAY)


class DecoupledWeightDecayOptimizer(object):
  """LAMB (NVLAMB) or Adam with decoupled weight decay, on already clipped gradients.

  For each variable w with gradient g, at update t = global_step + 1:
    m = beta_1 * m + (1 - beta_1) * g;  v = beta_2 * v + (1 - beta_2) * g^2
    "adam": u = m / (sqrt(v) + epsilon)                                   (no bias correction)
    "lamb": u = m_hat / (sqrt(v_hat) + epsilon), m_hat = m / (1 - beta_1^t), v_hat = v / (1 - beta_2^t)
    u += weight_decay_rate * w   (unless excluded by `use_weight_decay`)
    "lamb": u *= ||w|| / ||u||   (1 when either norm is 0)
    w -= learning_rate * u
  """

  def __init__(self, optimizer_type, learning_rate, weight_decay_rate, tvars, beta_1=0.9, beta_2=0.999,
               epsilon=1e-6):
    """Creates the slot variables "<var>/<type>_m" and "<var>/<type>_v" for every variable in `tvars`."""
    self.lamb = optimizer_type == "lamb"
    self.learning_rate = learning_rate
    self.weight_decay_rate = weight_decay_rate
    self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
    prefix = "lamb" if self.lamb else "adam"
    self.slots = [(_zeros_like_var(var, prefix + "_m"), _zeros_like_var(var, prefix + "_v")) for var in tvars]

  def apply_gradients(self, grads, tvars, global_step):
    """Returns an op that updates `tvars` and their slots with `grads`, then increments `global_step`."""
    t = tf.cast(global_step, tf.float32) + 1.0
    assignments = []
    for grad, var, (m, v) in zip(grads, tvars, self.slots):
      next_m = self.beta_1 * m + (1.0 - self.beta_1) * grad
      next_v = self.beta_2 * v + (1.0 - self.beta_2) * tf.square(grad)
      if self.lamb:
        m_hat, v_hat = next_m / (1.0 - self.beta_1 ** t), next_v / (1.0 - self.beta_2 ** t)
      else:
        m_hat, v_hat = next_m, next_v
      update = m_hat / (tf.sqrt(v_hat) + self.epsilon)
      if self.weight_decay_rate and use_weight_decay(_var_name(var)):
        update += self.weight_decay_rate * var
      if self.lamb:
        update *= _trust_ratio(var, update)
      assignments += [var.assign_sub(self.learning_rate * update), m.assign(next_m), v.assign(next_v)]
    with tf.control_dependencies(assignments):
      return global_step.assign_add(1).op


class GradientAccumulator(object):
  """Sums gradients over the micro-batches of one update in variables "<var>/accum_grad"."""

  def __init__(self, tvars, num_accumulation_steps):
    self.accums = [_zeros_like_var(var, "accum_grad") for var in tvars]
    self.num_accumulation_steps = num_accumulation_steps
    self.local_step = tf.compat.v1.get_variable(  # micro-batches already summed in the current window
        "accum_local_step", shape=[], dtype=tf.int32, initializer=tf.zeros_initializer(), trainable=False)

  def is_last_micro_batch(self):
    """Whether the current micro-batch ends the window (bool tensor)."""
    return tf.equal(self.local_step, self.num_accumulation_steps - 1)

  def totals(self, grads):
    """The sums including this micro-batch's `grads`."""
    return [accum + grad for accum, grad in zip(self.accums, grads)]

  def add(self, grads):
    """Ops storing the sums and counting the micro-batch."""
    return ([accum.assign(total) for accum, total in zip(self.accums, self.totals(grads))]
            + [self.local_step.assign_add(1)])

  def reset(self):
    """Ops emptying the accumulators for the next window."""
    return [accum.assign(tf.zeros_like(accum)) for accum in self.accums] + [self.local_step.assign(0)]


class DynamicLossScale(object):
  """Loss scale that halves on a non-finite update and doubles after `growth_interval` finite ones in a row."""

  def __init__(self, init_loss_scale, growth_interval):
    self.growth_interval = growth_interval
    self.scale = tf.compat.v1.get_variable(
        "dynamic_loss_scale/scale", shape=[], dtype=tf.float32,
        initializer=tf.constant_initializer(float(init_loss_scale)), trainable=False)
    self.good_steps = tf.compat.v1.get_variable(
        "dynamic_loss_scale/good_steps", shape=[], dtype=tf.int32, initializer=tf.zeros_initializer(),
        trainable=False)

  def update(self, finite):
    """Returns an op updating the scale after an update whose gradient was `finite` (bool tensor)."""
    good_steps = self.good_steps + 1
    grow = good_steps >= self.growth_interval
    grown = tf.where(tf.math.is_finite(self.scale * 2.0), self.scale * 2.0, self.scale)
    new_scale = tf.where(finite, tf.where(grow, grown, self.scale), tf.maximum(self.scale / 2.0, 1.0))
    new_good_steps = tf.where(tf.logical_and(finite, tf.logical_not(grow)), good_steps, 0)
    return tf.group(self.scale.assign(new_scale), self.good_steps.assign(new_good_steps))


def _check_args(init_lr, num_train_steps, num_warmup_steps, num_accumulation_steps, optimizer_type,
                init_loss_scale, clip_norm, loss_scale_growth_interval):
  """Raises ValueError naming the flag of a bad argument."""
  checks = [
      (optimizer_type in OPTIMIZER_TYPES, "--optimizer_type must be one of %s, got %r" % (OPTIMIZER_TYPES,
                                                                                           optimizer_type)),
      (init_lr > 0, "--learning_rate must be > 0, got %r" % (init_lr,)),
      (num_train_steps >= 1, "--num_train_steps must be >= 1, got %r" % (num_train_steps,)),
      (0 <= num_warmup_steps <= num_train_steps,
       "--num_warmup_steps must be in [0, num_train_steps=%r], got %r" % (num_train_steps, num_warmup_steps)),
      (num_accumulation_steps >= 1, "--num_accumulation_steps must be >= 1, got %r" % (num_accumulation_steps,)),
      (init_loss_scale >= 1, "--init_loss_scale must be >= 1, got %r" % (init_loss_scale,)),
      (clip_norm > 0, "clip_norm must be > 0, got %r" % (clip_norm,)),
      (loss_scale_growth_interval >= 1,
       "loss_scale_growth_interval must be >= 1, got %r" % (loss_scale_growth_interval,)),
  ]
  for ok, message in checks:
    if not ok:
      raise ValueError("create_optimizer: " + message)


def _drop_unused(grads, tvars):
  """Keeps the (gradient, variable) pairs whose gradient exists."""
  pairs = [(g, v) for g, v in zip(grads, tvars) if g is not None]
  if not pairs:
    raise ValueError("create_optimizer: the loss depends on no trainable variable")
  return [g for g, _ in pairs], [v for _, v in pairs]


def _allreduce(hvd, tensors):
  return [hvd.allreduce(t, op=hvd.Average) for t in tensors]


def _trust_ratio(var, update):
  w_norm, u_norm = tf.norm(var), tf.norm(update)
  safe = tf.logical_and(w_norm > 0, u_norm > 0)
  return tf.where(safe, w_norm / tf.where(safe, u_norm, 1.0), 1.0)


def _true_after(op):
  with tf.control_dependencies([op]):
    return tf.constant(True)


def _var_name(var):
  return re.sub(r":\d+$", "", var.name)


def _zeros_like_var(var, suffix):
  """A non-trainable global variable "<var>/<suffix>" of zeros shaped like `var`."""
  return tf.compat.v1.get_variable(_var_name(var) + "/" + suffix, shape=var.shape, dtype=var.dtype.base_dtype,
                                   initializer=tf.zeros_initializer(), trainable=False)


def _name_at_root(tensor, name):
  """tf.identity(tensor) named exactly `name` at the graph's root name scope."""
  with tensor.graph.name_scope(None):
    named = tf.identity(tensor, name=name)
  if named.op.name != name:
    raise ValueError("create_optimizer: the graph already has an op named %r (call create_optimizer once per "
                     "graph)" % name)
  return named
