"""The test-only Hugging Face references train with our optimizer and learning-rate schedule."""
import argparse

import numpy as np
import pytest
import tensorflow as tf

import optimization

tf1 = tf.compat.v1
torch = pytest.importorskip("torch", reason="torch is a test requirement: bash scripts/setup.sh --test")
# Imported, not importorskip'd: a broken reference must fail, not skip.
import hf_biobert_reference  # noqa: E402
import hf_pretraining_reference  # noqa: E402

STEPS, WARMUP, LR = 20, 2, 1e-2


def gradients(seed):
  """STEPS (kernel, bias) gradient pairs; every third is scaled to a global norm above 1, so clipping acts."""
  rng = np.random.default_rng(seed)
  return [tuple((rng.standard_normal(shape) * (3.0 if i % 3 == 0 else 0.1)).astype(np.float32)
                for shape in ((4, 3), (4,))) for i in range(STEPS)]


def tf_weights(kernel, bias, grads, optimizer_type):
  """The weights after each update of optimization.create_optimizer fed `grads` (loss = <kernel, g> + <bias, g>)."""
  with tf.Graph().as_default():
    variables = [tf1.get_variable("dense/kernel", initializer=kernel), tf1.get_variable("dense/bias", initializer=bias)]
    feeds = [tf1.placeholder(tf.float32, v.shape) for v in variables]
    loss = sum(tf.reduce_sum(v * g) for v, g in zip(variables, feeds))
    train_op = optimization.create_optimizer(loss, LR, STEPS, WARMUP, optimizer_type=optimizer_type).train_op
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      out = []
      for grad in grads:
        sess.run(train_op, dict(zip(feeds, grad)))
        out.append(sess.run(variables))
  return out


@pytest.mark.parametrize("optimizer_type", ["adam", "lamb"])
def test_reference_optimizer_updates_as_ours(optimizer_type):
  # 20 updates, 2 of warmup, of a kernel (weight decay; LAMB's trust ratio) and a bias (neither), from the same
  # weights with the same gradients: the PyTorch port (with the BioBERT reference's schedule for "adam") must move
  # the weights as create_optimizer does. Bias correction (torch.optim.AdamW) would make the first "adam" update
  # 3.2x smaller, and transformers' linear schedule 1/0.9 of ours after the warmup: far outside the tolerance.
  rng = np.random.default_rng(0)
  kernel, bias = rng.standard_normal((4, 3)).astype(np.float32), rng.standard_normal(4).astype(np.float32)
  grads = gradients(1)
  expected = tf_weights(kernel, bias, grads, optimizer_type)
  model = torch.nn.Linear(3, 4)
  with torch.no_grad():
    model.weight.copy_(torch.from_numpy(kernel))
    model.bias.copy_(torch.from_numpy(bias))
  optimizer = hf_pretraining_reference.DecoupledWeightDecay(model, optimizer_type)
  args = argparse.Namespace(learning_rate=LR, warmup_proportion=WARMUP / STEPS)
  for (grad_kernel, grad_bias), (tf_kernel, tf_bias) in zip(grads, expected):
    model.weight.grad, model.bias.grad = torch.from_numpy(grad_kernel), torch.from_numpy(grad_bias)
    if optimizer_type == "adam":
      hf_biobert_reference.apply_update(optimizer, STEPS, args)
    else:
      optimizer.step(hf_pretraining_reference.learning_rate(optimizer.global_step, LR, STEPS, WARMUP, 0.5))
    # Both sides compute in float32, in different orders. Each side rounds the new weight to float32 (half a unit in
    # the last place of the largest |w| each, np.spacing), and the update it subtracts, at most lr * 3.3 (|m| /
    # sqrt(v) <= (1 - beta_1) / sqrt(1 - beta_2) for Adam without bias correction; LAMB scales to ||w||), differs by
    # a few float32 round-offs of itself, a small fraction of that unit: so at most 2 units per update so far.
    atol = optimizer.global_step * 2 * np.spacing(max(np.abs(tf_kernel).max(), np.abs(tf_bias).max()))
    np.testing.assert_allclose(model.weight.detach().numpy(), tf_kernel, rtol=0, atol=atol)
    np.testing.assert_allclose(model.bias.detach().numpy(), tf_bias, rtol=0, atol=atol)
  assert np.abs(expected[-1][0] - kernel).max() > 1000 * atol   # the weights did move
