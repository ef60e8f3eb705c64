"""optimization.py against a NumPy reference written here: LAMB, AdamW, schedule, accumulation, loss scaling."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import optimization

tf1 = tf.compat.v1

KERNEL, BIAS, GAMMA = "layer/kernel", "layer/bias", "layer/LayerNorm/gamma"
BETA_1, BETA_2, EPS, WEIGHT_DECAY = 0.9, 0.999, 1e-6, 0.01


def _data(n=32, seed=0):
  """A small regression problem whose gradient norm is well above 1, so clipping matters."""
  rng = np.random.RandomState(seed)
  x = rng.normal(size=(n, 4)).astype(np.float32)
  true_w = rng.normal(size=(4, 3)).astype(np.float32) * 2.0
  target = (x @ true_w + 1.5).astype(np.float32)
  init = {KERNEL: (rng.normal(size=(4, 3)) * 0.5).astype(np.float32),
          BIAS: np.zeros(3, np.float32),  # starts at zero, as BERT's biases do
          GAMMA: (1.0 + 0.1 * rng.normal(size=3)).astype(np.float32)}
  return x, target, init


class Problem(object):
  """y = (x W + b) * gamma with loss mean_batch sum_out (y - target)^2, times a feedable `overflow` factor."""

  def __init__(self, init, **optimizer_kwargs):
    self.graph = tf.Graph()
    with self.graph.as_default():
      self.x = tf1.placeholder(tf.float32, [None, 4])
      self.target = tf1.placeholder(tf.float32, [None, 3])
      self.overflow = tf1.placeholder_with_default(1.0, [])  # feed inf/nan to force non-finite gradients
      with tf1.variable_scope("layer"):
        w = tf1.get_variable("kernel", initializer=init[KERNEL])
        b = tf1.get_variable("bias", initializer=init[BIAS])
        with tf1.variable_scope("LayerNorm"):
          gamma = tf1.get_variable("gamma", initializer=init[GAMMA])
      y = (tf.matmul(self.x, w) + b) * gamma
      loss = tf.reduce_mean(tf.reduce_sum(tf.square(y - self.target), axis=1)) * self.overflow
      kwargs = dict(init_lr=0.1, num_train_steps=10, num_warmup_steps=3)
      kwargs.update(optimizer_kwargs)
      self.tensors = optimization.create_optimizer(loss, **kwargs)
      self.train_op = self.tensors.train_op
      self.vars = {v.op.name: v for v in tf1.global_variables()}
      self.trainable = {v.op.name for v in tf1.trainable_variables()}
      config = tf1.ConfigProto(intra_op_parallelism_threads=1, inter_op_parallelism_threads=1)
      self.sess = tf1.Session(config=config)
      self.sess.run(tf1.global_variables_initializer())

  def run(self, x, target, overflow=1.0):
    self.sess.run(self.train_op, {self.x: x, self.target: target, self.overflow: overflow})

  def values(self):
    return self.sess.run(self.vars)

  def tensor(self, name):
    """The value of a field of the `optimization.OptimizerTensors` (e.g. "learning_rate")."""
    return self.sess.run(getattr(self.tensors, name))


def _np_grads(params, x, target):
  h = x @ params[KERNEL] + params[BIAS]
  dy = 2.0 * (h * params[GAMMA] - target) / len(x)
  return {KERNEL: x.T @ (dy * params[GAMMA]), BIAS: (dy * params[GAMMA]).sum(0), GAMMA: (dy * h).sum(0)}


def _np_lr(step, init_lr, num_train_steps, num_warmup_steps, power):
  if step < num_warmup_steps:
    return init_lr * step / num_warmup_steps
  return init_lr * (1.0 - min(step, num_train_steps) / num_train_steps) ** power


def _np_update(params, slots, grads, step, lr, lamb):
  """One NVLAMB or AdamW update in float64, in place; returns the unclipped global gradient norm."""
  norm = np.sqrt(sum(np.sum(g.astype(np.float64) ** 2) for g in grads.values()))
  t = step + 1
  for name, g in grads.items():
    g = g / max(norm, 1.0)
    m, v = slots[name]
    m, v = BETA_1 * m + (1 - BETA_1) * g, BETA_2 * v + (1 - BETA_2) * g * g
    slots[name] = (m, v)
    if lamb:
      u = (m / (1 - BETA_1 ** t)) / (np.sqrt(v / (1 - BETA_2 ** t)) + EPS)
    else:
      u = m / (np.sqrt(v) + EPS)
    if name == KERNEL:  # the bias and LayerNorm/gamma get no weight decay
      u = u + WEIGHT_DECAY * params[name]
    if lamb and name == KERNEL:  # nor the trust ratio: a zero-initialised bias would stay near zero
      w_norm, u_norm = np.linalg.norm(params[name]), np.linalg.norm(u)
      u = u * (w_norm / u_norm if w_norm > 0 and u_norm > 0 else 1.0)
    params[name] = params[name] - lr * u
  return norm


@pytest.mark.parametrize("optimizer_type,amp", [("lamb", False), ("adam", False), ("lamb", True)])
def test_steps_match_numpy_reference(optimizer_type, amp):
  x, target, init = _data()
  problem = Problem(init, optimizer_type=optimizer_type, amp=amp)
  lamb = optimizer_type == "lamb"
  params = {k: v.astype(np.float64) for k, v in init.items()}
  slots = {k: (np.zeros_like(v), np.zeros_like(v)) for k, v in params.items()}
  for step in range(6):
    batch = slice(4 * step, 4 * step + 8)
    lr = _np_lr(step, 0.1, 10, 3, 0.5 if lamb else 1.0)
    assert problem.tensor("learning_rate") == pytest.approx(lr, rel=1e-6)
    norm = _np_update(params, slots, _np_grads(params, x[batch], target[batch]), step, lr, lamb)
    assert norm > 1.0  # clipping is exercised
    problem.run(x[batch], target[batch])
    got = problem.values()
    assert got["global_step"] == step + 1
    prefix = "lamb" if lamb else "adam"
    for name in init:
      np.testing.assert_allclose(got[name], params[name], rtol=2e-5, atol=1e-6, err_msg=name)
      np.testing.assert_allclose(got[name + "/%s_m" % prefix], slots[name][0], rtol=2e-5, atol=1e-6)
      np.testing.assert_allclose(got[name + "/%s_v" % prefix], slots[name][1], rtol=2e-5, atol=1e-6)
  assert not np.allclose(params[BIAS], 0.0)
  assert problem.tensor("loss_scale") == (2.0 ** 32 if amp else 1.0)


def test_slot_variables_are_named_non_trainable_and_saved():
  _, _, init = _data()
  lamb = Problem(init, optimizer_type="lamb", num_accumulation_steps=2)
  adam = Problem(init, optimizer_type="adam")
  for problem, names in [(lamb, ("lamb_m", "lamb_v", "accum_grad")), (adam, ("adam_m", "adam_v"))]:
    saved = problem.graph.get_collection(tf1.GraphKeys.GLOBAL_VARIABLES)  # what a default Saver saves
    for var in init:
      for suffix in names:
        slot = problem.vars[var + "/" + suffix]
        assert slot.op.name not in problem.trainable
        assert any(slot is v for v in saved)
  assert not any(name.endswith("accum_grad") for name in adam.vars)


def test_learning_rate_schedule():
  with tf.Graph().as_default():
    step = tf1.placeholder(tf.int64, [])
    lamb = optimization.learning_rate_schedule(step, 1e-3, 100, 10, 0.5)
    adam = optimization.learning_rate_schedule(step, 1e-3, 100, 10, 1.0)
    no_warmup = optimization.learning_rate_schedule(step, 1e-3, 100, 0, 1.0)
    with tf1.Session() as sess:
      values = {s: sess.run([lamb, adam, no_warmup], {step: s}) for s in (0, 5, 10, 55, 100, 150)}
  expected = {0: (0.0, 0.0, 1e-3), 5: (5e-4, 5e-4, 9.5e-4), 10: (1e-3 * 0.9 ** 0.5, 9e-4, 9e-4),
              55: (1e-3 * 0.45 ** 0.5, 4.5e-4, 4.5e-4), 100: (0.0, 0.0, 0.0), 150: (0.0, 0.0, 0.0)}
  for s, want in expected.items():
    np.testing.assert_allclose(values[s], want, rtol=1e-5, atol=1e-12, err_msg="step %d" % s)


@pytest.mark.parametrize("optimizer_type", ["lamb", "adam"])
def test_accumulating_4_micro_batches_of_8_equals_one_batch_of_32(optimizer_type):
  x, target, init = _data(n=64)
  big = Problem(init, optimizer_type=optimizer_type)
  small = Problem(init, optimizer_type=optimizer_type, num_accumulation_steps=4)
  for update in range(3):
    rows = slice(32 * (update % 2), 32 * (update % 2) + 32)
    before = small.values()
    for micro in range(4):
      sub = slice(rows.start + 8 * micro, rows.start + 8 * micro + 8)
      assert small.tensor("update_step") == (micro == 3)
      small.run(x[sub], target[sub])
      if micro < 3:  # only the accumulators change inside the window
        after = small.values()
        assert after["global_step"] == update
        for name in init:
          np.testing.assert_array_equal(after[name], before[name])
        assert np.abs(after[KERNEL + "/accum_grad"]).max() > 0
    if update == 0:  # the reported norm is that of the whole batch's gradient
      norm = np.sqrt(sum(np.sum(g.astype(np.float64) ** 2) for g in _np_grads(init, x[rows], target[rows]).values()))
      big_norm = big.sess.run(big.tensors.grad_norm, {big.x: x[rows], big.target: target[rows]})
      assert big_norm == pytest.approx(norm, rel=1e-5)
    big.run(x[rows], target[rows])
    got_small, got_big = small.values(), big.values()
    assert got_small["global_step"] == got_big["global_step"] == update + 1
    for name in got_big:
      np.testing.assert_allclose(got_small[name], got_big[name], rtol=1e-5, atol=1e-6, err_msg=name)
    np.testing.assert_array_equal(got_small[KERNEL + "/accum_grad"], 0.0)


@pytest.mark.parametrize("bad", [np.inf, np.nan])
@pytest.mark.parametrize("num_accumulation_steps", [1, 3])
def test_non_finite_gradient_skips_the_update(bad, num_accumulation_steps):
  x, target, init = _data()
  n = num_accumulation_steps
  problem = Problem(init, amp=True, init_loss_scale=2.0 ** 20, num_accumulation_steps=n)
  for _ in range(n):  # one good update, so slots and accumulators are non-zero
    problem.run(x[:8], target[:8])
  for _ in range(n - 1):  # a partial window, so accumulators hold something
    problem.run(x[8:16], target[8:16])
  before = problem.values()
  if n > 1:
    assert np.abs(before[KERNEL + "/accum_grad"]).max() > 0
  problem.run(x[16:24], target[16:24], overflow=bad)  # ends the window with a non-finite gradient
  after = problem.values()
  assert after["global_step"] == before["global_step"] == 1
  assert after["dynamic_loss_scale/scale"] == 2.0 ** 19
  for name, value in before.items():
    if name.endswith("accum_grad"):
      np.testing.assert_array_equal(after[name], 0.0)
    elif not name.startswith("dynamic_loss_scale") and name != "accum_local_step":
      np.testing.assert_array_equal(after[name], value, err_msg=name)
  if n > 1:
    assert after["accum_local_step"] == 0
    # A non-finite first micro-batch also poisons the whole window.
    problem.run(x[:8], target[:8], overflow=bad)
    for _ in range(n - 1):
      problem.run(x[:8], target[:8])
    assert problem.values()["global_step"] == 1
    assert problem.tensor("loss_scale") == 2.0 ** 18
  for _ in range(n):  # training resumes
    problem.run(x[:8], target[:8])
  resumed = problem.values()
  assert resumed["global_step"] == 2
  assert np.all(np.isfinite(resumed[KERNEL])) and not np.array_equal(resumed[KERNEL], before[KERNEL])


def test_loss_scale_doubles_after_growth_interval_finite_updates():
  x, target, init = _data()
  problem = Problem(init, amp=True, init_loss_scale=4.0, loss_scale_growth_interval=3)
  scales = []
  for overflow in [1, 1, 1, 1, np.inf, 1, 1, 1]:  # the overflow also restarts the count of finite updates
    problem.run(x[:8], target[:8], overflow=overflow)
    scales.append(problem.tensor("loss_scale"))
  assert scales == [4.0, 4.0, 8.0, 8.0, 4.0, 4.0, 4.0, 8.0]
  assert problem.values()["global_step"] == 7
  assert optimization.LOSS_SCALE_GROWTH_INTERVAL == 1000


def test_optimizer_tensors_and_bad_arguments():
  _, _, init = _data()
  problem = Problem(init, optimizer_type="adam")
  assert problem.tensor("loss_scale") == 1.0
  assert problem.tensor("learning_rate") == 0.0  # warmup starts at 0
  assert problem.tensor("update_step")
  assert not any(name.startswith("dynamic_loss_scale") for name in problem.vars)
  with pytest.raises(ValueError, match="--optimizer_type"):
    Problem(init, optimizer_type="sgd")
  with pytest.raises(ValueError, match="--num_accumulation_steps"):
    Problem(init, num_accumulation_steps=0)


def _horovod_worker():
  """Run by each horovodrun process: 2 workers x 2 micro-batches of 8 must equal one batch of 32 without hvd."""
  import horovod.tensorflow as hvd  # pylint: disable=import-outside-toplevel
  hvd.init()
  x, target, init = _data()
  reference = Problem(init)
  for _ in range(2):
    reference.run(x, target)
  want = reference.values()
  for post in (False, True):
    distributed = Problem(init, hvd=hvd, num_accumulation_steps=2, allreduce_post_accumulation=post, amp=True)
    for _ in range(2):
      for micro in range(2):
        rows = slice(16 * hvd.rank() + 8 * micro, 16 * hvd.rank() + 8 * micro + 8)
        distributed.run(x[rows], target[rows])
    got = distributed.values()
    assert got["global_step"] == 2
    for name in init:
      np.testing.assert_allclose(got[name], want[name], rtol=1e-5, atol=1e-6, err_msg=name)
  print("horovod worker %d of %d: OK" % (hvd.rank(), hvd.size()))


@pytest.mark.horovod
def test_horovod_two_workers_match_one_large_batch():
  horovodrun = os.path.join(os.path.dirname(sys.executable), "horovodrun")
  if not os.path.exists(horovodrun):
    horovodrun = shutil.which("horovodrun")
  assert horovodrun, "horovodrun not found: horovod is a runtime requirement (scripts/setup.sh builds it)"
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  env = dict(os.environ, PYTHONPATH=root, TF_CPP_MIN_LOG_LEVEL="2")
  result = subprocess.run([horovodrun, "-np", "2", "-H", "localhost:2", "--gloo", sys.executable,
                           os.path.abspath(__file__), "--horovod-worker"],
                          env=env, capture_output=True, text=True, timeout=300)
  output = result.stdout + result.stderr
  assert result.returncode == 0, output[-3000:]
  assert "worker 0 of 2: OK" in output and "worker 1 of 2: OK" in output, output[-3000:]


if __name__ == "__main__" and sys.argv[1:] == ["--horovod-worker"]:
  _horovod_worker()
