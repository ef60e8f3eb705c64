"""The test-only Hugging Face references train with our hyperparameters: here, our learning-rate schedule."""
import argparse

import numpy as np
import pytest
import tensorflow as tf

import optimization

torch = pytest.importorskip("torch", reason="torch is a test requirement: bash scripts/setup.sh --test")
import hf_biobert_reference  # noqa: E402  (imported, not importorskip'd: a broken reference must fail, not skip)


def test_biobert_reference_follows_our_learning_rate_schedule():
  # 50 updates, 5 of warmup: the reference's lr at each update must be optimization.learning_rate_schedule's
  # (ramp to 5e-5, then 5e-5 * (1 - step / 50): 4.5e-5 at step 5, where transformers' linear schedule has 5e-5).
  args = argparse.Namespace(learning_rate=5e-5, warmup_proportion=0.1)
  optimizer, schedule = hf_biobert_reference.optimizer_and_schedule(torch.nn.Linear(2, 2), args, 50)
  used = []
  for _ in range(50):
    used.append(optimizer.param_groups[0]["lr"])
    optimizer.step()
    schedule.step()
  ours = [float(optimization.learning_rate_schedule(tf.constant(step), 5e-5, 50, 5, 1.0)) for step in range(50)]
  # Ours is float32: 1 - step / 50 carries an absolute round-off of a few 2^-24 (large relative to the small values
  # near the end), and init_lr a relative one of 2^-24; the reference's is float64.
  np.testing.assert_allclose(used, ours, rtol=1e-6, atol=5e-5 * 4 * 2.0**-24)
  assert used[0] == 0.0 and used[5] == pytest.approx(4.5e-5, rel=1e-6)
