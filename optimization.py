"""Optimizers for BERT pretraining and fine-tuning (TF1 graph mode).

`create_optimizer` builds the whole update: learning-rate schedule, optional dynamic loss scaling for float16,
gradient accumulation over micro-batches, optional Horovod all-reduce, global-norm clipping and one of

  * "lamb": LAMB -- bias-corrected Adam moments of the pre-clipped gradient, decoupled weight decay, and a
    per-variable trust ratio ||w|| / ||update|| on the variables that get weight decay. LayerNorm parameters and
    biases get neither (as in Google's LAMB and apex's FusedLAMB by default): with the ratio, a bias that starts
    at zero moves by about lr * ||bias|| per update and stays near zero for the whole run;
  * "adam": Adam with decoupled weight decay as in Google's BERT (AdamWeightDecayOptimizer: no bias correction).

Slot variables are named "<var>/lamb_m", "<var>/lamb_v" or "<var>/adam_m", "<var>/adam_v" (the names Google's
BERT checkpoints use) and gradient accumulators "<var>/accum_grad"; all are non-trainable global variables, so a
tf.compat.v1.train.Saver checkpoints them.
"""
import collections
import functools
import re

import tensorflow as tf

# Finite optimizer updates in a row after which the dynamic loss scale doubles.
LOSS_SCALE_GROWTH_INTERVAL = 1000
# Variables whose name contains one of these get no weight decay (and no LAMB trust ratio).
NO_WEIGHT_DECAY = ("LayerNorm", "layer_norm", "bias")
OPTIMIZER_TYPES = ("lamb", "adam")


class OptimizerTensors(collections.namedtuple(
    "OptimizerTensors", "train_op learning_rate loss_scale grad_norm update_step")):
  """What `create_optimizer` returns: the op to run per micro-batch and the scalars worth logging.

  train_op: runs one micro-batch (and, on the last of a window, the update).
  learning_rate: float32 scalar, the learning rate of the current update.
  loss_scale: float32 scalar, the dynamic loss scale; a constant 1.0 without loss scaling.
  grad_norm: float32 scalar, the global L2 norm of the unscaled, accumulated, all-reduced gradient before
    clipping; 0.0 on micro-batches that only accumulate.
  update_step: bool scalar, True on the micro-batch that ends an accumulation window and applies the update.
  """


def create_optimizer(loss, init_lr, num_train_steps, num_warmup_steps, hvd=None, amp=False,
                     num_accumulation_steps=1, optimizer_type="lamb", allreduce_post_accumulation=False,
                     init_loss_scale=2**32, weight_decay_rate=0.01, poly_power=None, clip_norm=1.0,
                     loss_scale_growth_interval=LOSS_SCALE_GROWTH_INTERVAL):
  """Creates the update that minimizes `loss` over all trainable variables.

  Each run of the train op processes one micro-batch. Gradients of `loss / num_accumulation_steps` are summed
  over `num_accumulation_steps` runs (so a mean loss over micro-batches gives the gradient of the mean over the
  whole batch); the last run of the window clips the summed gradient to global norm `clip_norm` and applies one
  optimizer update, which advances the global step by one. Call it once per graph, at the root variable scope.

  Args:
    loss: scalar loss tensor (any float dtype; the gradient is taken of its float32 cast).
    init_lr: peak learning rate, reached after the warmup. Not scaled by the number of workers.
    num_train_steps: number of optimizer updates; the learning rate decays to 0 at this global step.
    num_warmup_steps: updates of linear warmup from 0 to `init_lr`.
    hvd: the `horovod.tensorflow` module (initialized) or None. With more than one worker, gradients are
      averaged over workers.
    amp: whether to use dynamic loss scaling (for float16 compute). The loss is multiplied by the scale and the
      gradients divided by it; if an update's gradient is not finite, no variable and not the global step
      changes, the accumulators are reset and the scale halves (`DynamicLossScale`).
    num_accumulation_steps: micro-batches whose gradients make one update.
    optimizer_type: "lamb" or "adam".
    allreduce_post_accumulation: all-reduce only the accumulated gradient, once per update, instead of every
      micro-batch's gradient.
    init_loss_scale: initial dynamic loss scale (used with `amp`).
    weight_decay_rate: decoupled weight decay, not applied to variables named with one of NO_WEIGHT_DECAY.
    poly_power: power of the polynomial decay after warmup; None means 0.5 for "lamb" and 1.0 for "adam".
    clip_norm: the gradient is clipped to this global norm before the optimizer sees it.
    loss_scale_growth_interval: finite updates in a row after which the loss scale doubles (with `amp`).

  Returns:
    `OptimizerTensors`.

  Raises:
    ValueError: on a bad argument, or when the loss depends on no trainable variable.
  """
  _check_args(init_lr, num_train_steps, num_warmup_steps, num_accumulation_steps, optimizer_type,
              init_loss_scale, clip_norm, loss_scale_growth_interval)
  if poly_power is None:
    poly_power = 0.5 if optimizer_type == "lamb" else 1.0
  global_step = tf.compat.v1.train.get_or_create_global_step()
  learning_rate = learning_rate_schedule(global_step, init_lr, num_train_steps, num_warmup_steps, poly_power)
  loss_scale = DynamicLossScale(init_loss_scale, loss_scale_growth_interval) if amp else None
  grads, tvars = _unscaled_gradients(loss, num_accumulation_steps, loss_scale)
  distributed = hvd is not None and hvd.size() > 1
  post_accumulation = allreduce_post_accumulation and num_accumulation_steps > 1
  if distributed and not post_accumulation:
    grads = _allreduce(hvd, grads)
  optimizer = DecoupledWeightDecayOptimizer(optimizer_type, learning_rate, weight_decay_rate, tvars)

  def apply_update(grads):
    return _apply_update(optimizer, grads, tvars, global_step, clip_norm, loss_scale)

  allreduce = functools.partial(_allreduce, hvd) if distributed and post_accumulation else None
  update_step, grad_norm, train_op = _accumulated_update(grads, tvars, num_accumulation_steps, apply_update,
                                                         allreduce)
  return OptimizerTensors(train_op=train_op, learning_rate=learning_rate,
                          loss_scale=tf.constant(1.0) if loss_scale is None else loss_scale.scale,
                          grad_norm=grad_norm, update_step=update_step)


def _unscaled_gradients(loss, num_accumulation_steps, loss_scale):
  """The gradients of `loss / num_accumulation_steps` and the trainable variables they belong to.

  Args:
    loss: scalar loss tensor.
    num_accumulation_steps: micro-batches per update.
    loss_scale: a `DynamicLossScale` (the loss is multiplied by its scale and the gradients divided by it),
      or None.

  Returns:
    (list of dense gradient tensors, list of the variables), leaving out variables the loss does not depend on.
  """
  loss = tf.cast(loss, tf.float32) / num_accumulation_steps
  tvars = tf.compat.v1.trainable_variables()
  grads = tf.gradients(loss if loss_scale is None else loss * loss_scale.scale, tvars)
  grads, tvars = _drop_unused(grads, tvars)
  grads = [tf.convert_to_tensor(g) for g in grads]  # embedding gradients come as IndexedSlices
  if loss_scale is not None:
    grads = [g / loss_scale.scale for g in grads]
  return grads, tvars


def _apply_update(optimizer, grads, tvars, global_step, clip_norm, loss_scale):
  """Clips `grads` and applies them, unless loss scaling is on and found them non-finite.

  Args:
    optimizer: `DecoupledWeightDecayOptimizer`.
    grads: the gradients of one update.
    tvars: their variables.
    global_step: the global step variable (incremented by an applied update).
    clip_norm: the global norm the gradients are clipped to.
    loss_scale: a `DynamicLossScale`, updated with whether the gradient was finite, or None.

  Returns:
    (the global norm of `grads` before clipping, the update op).
  """
  grad_norm = tf.linalg.global_norm(grads)
  finite = tf.math.is_finite(grad_norm)
  grads, _ = tf.clip_by_global_norm(grads, clip_norm, use_norm=tf.where(finite, grad_norm, 1.0))
  if loss_scale is None:
    return grad_norm, optimizer.apply_gradients(grads, tvars, global_step)
  applied = tf.cond(finite, lambda: _true_after(optimizer.apply_gradients(grads, tvars, global_step)),
                    lambda: tf.constant(False))
  return grad_norm, tf.group(applied, loss_scale.update(finite))


def _accumulated_update(grads, tvars, num_accumulation_steps, apply_update, allreduce=None):
  """Sums `grads` over the micro-batches of a window and applies the sum on its last one (every micro-batch
  is a window of its own when `num_accumulation_steps` is 1).

  Args:
    grads: this micro-batch's gradients.
    tvars: their variables.
    num_accumulation_steps: micro-batches per window.
    apply_update: function(gradients) -> (gradient norm, update op), as `_apply_update`.
    allreduce: function(list of tensors) -> their averages over workers, applied to the sums once per update;
      None for none.

  Returns:
    (update_step: bool, whether this micro-batch ends the window; the gradient norm, 0.0 on micro-batches that
    only accumulate; the train op).
  """
  if num_accumulation_steps == 1:
    grad_norm, train_op = apply_update(grads)
    return tf.constant(True), grad_norm, train_op
  accumulator = GradientAccumulator(tvars, num_accumulation_steps)
  update_step = accumulator.is_last_micro_batch()

  def update():
    totals = accumulator.totals(grads)
    if allreduce is not None:
      totals = allreduce(totals)
    grad_norm, op = apply_update(totals)
    with tf.control_dependencies([op]):
      reset = accumulator.reset()
    with tf.control_dependencies(reset):
      return tf.identity(grad_norm)

  def accumulate():
    with tf.control_dependencies(accumulator.add(grads)):
      return tf.constant(0.0)

  grad_norm = tf.cond(update_step, update, accumulate)
  return update_step, grad_norm, tf.group(grad_norm)


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
    "lamb": u *= ||w|| / ||u||   (only where `use_weight_decay`; 1 when either norm is 0)
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
      decayed = use_weight_decay(_var_name(var))
      if self.weight_decay_rate and decayed:
        update += self.weight_decay_rate * var
      if self.lamb and decayed:
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

