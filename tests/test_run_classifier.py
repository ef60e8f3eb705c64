"""run_classifier.py end to end through its command line, on the real MiniLM and real GLUE data.

Default tests: a short real MRPC fine-tune (train + evaluation + test prediction), the regression head
on real STS-B rows, the head's graph layout, and the errors for bad flags and bad TSV files.
Slow tests (`-m slow`): the full MRPC fine-tune with the Hugging Face reference hyperparameters, which must
reach the reference's dev accuracy 0.750 and F1 0.835 (same weights, lr 2e-5, batch 32, 3 epochs, length 128,
10% warmup, weight decay 0.01). scripts/glue_accuracy.sh runs the long runs and prints their table.
"""
import os
import shutil
import sys

import numpy as np
import pytest
import tensorflow as tf

from conftest import ROOT, SAMPLES, eval_results, run_finetuning

MRPC = os.path.join(SAMPLES, "glue", "MRPC")
STSB = os.path.join(SAMPLES, "glue", "STS-B")


def _head(src, dst, rows):
  """Copies the header and the first `rows` data rows of a TSV file."""
  with open(src, encoding="utf-8") as f:
    lines = f.readlines()[:rows + 1]
  with open(dst, "w", encoding="utf-8") as f:
    f.writelines(lines)
  return len(lines) - 1


def _run(model_dir, output_dir, data_dir, *args, task="MRPC"):
  """Runs run_classifier.py with the model in `model_dir`; returns the CompletedProcess."""
  return run_finetuning("run_classifier.py", task, model_dir, output_dir, data_dir, *args, timeout=1800)


def _read_tsv(path):
  with open(path, encoding="utf-8") as f:
    return [line.rstrip("\n").split("\t") for line in f]


def _assert_clean_error(result, *needles):
  assert result.returncode == 2, result.stderr[-3000:]
  assert "Traceback" not in result.stderr, result.stderr[-3000:]
  for needle in needles:
    assert needle in result.stderr, result.stderr[-3000:]


def test_short_mrpc_finetune_fits_and_predicts(minilm_tf_dir, tmp_path):
  """A short real fine-tune learns real MRPC pairs (evaluated on the pairs it trained on, as a dev set);
  --do_predict writes both prediction files; --do_eval alone re-evaluates the checkpoint in --output_dir.

  MiniLM needs the full train set (slow test below) to beat the majority class on MRPC dev: a few hundred
  examples leave it at the majority class, so the CI check is that training fits its data.
  """
  data = tmp_path / "MRPC"
  data.mkdir()
  num_train = _head(os.path.join(MRPC, "train.tsv"), data / "train.tsv", 64)
  shutil.copy(data / "train.tsv", data / "dev.tsv")
  num_test = _head(os.path.join(MRPC, "test.tsv"), data / "test.tsv", 60)
  labels = [int(row[0]) for row in _read_tsv(data / "train.tsv")[1:]]
  majority = max(np.mean(labels), 1 - np.mean(labels))   # 39 of 64 are paraphrases
  out = tmp_path / "out"
  result = _run(minilm_tf_dir, out, data, "--do_train", "--do_eval", "--do_predict", "--max_seq_length=128",
                "--train_batch_size=16", "--eval_batch_size=64", "--predict_batch_size=64",
                "--learning_rate=5e-5", "--num_train_epochs=10", "--warmup_proportion=0.1", "--seed=1")
  assert result.returncode == 0, result.stderr[-3000:]
  assert "40 steps of 16" in result.stdout   # int(64 / 16 * 10)

  metrics = eval_results(out)
  assert metrics["global_step"] == 40 and metrics["eval_examples"] == num_train
  assert metrics["eval_accuracy"] >= 0.95 > majority + 0.3, metrics
  assert metrics["eval_loss"] < 0.2, metrics

  probabilities = np.array(_read_tsv(out / "test_results.tsv"), dtype=np.float64)
  assert probabilities.shape == (num_test, 2)
  np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
  submission = _read_tsv(out / "MRPC.tsv")
  assert submission[0] == ["index", "prediction"] and len(submission) == num_test + 1
  test_ids = [row[0] for row in _read_tsv(data / "test.tsv")[1:]]
  assert [row[0] for row in submission[1:]] == test_ids
  assert [row[1] for row in submission[1:]] == [str(i) for i in probabilities.argmax(axis=1)]

  os.remove(out / "eval_results.txt")
  again = _run(minilm_tf_dir, out, data, "--do_eval", "--eval_batch_size=64", "--init_checkpoint=")
  assert again.returncode == 0, again.stderr[-3000:]
  assert eval_results(out)["eval_accuracy"] == metrics["eval_accuracy"]


def test_regression_eval_and_predict_on_real_stsb(minilm_tf_dir, tmp_path):
  """STS-B through the regression head (fresh head on the pretrained encoder): official metrics and files."""
  data = tmp_path / "STS-B"
  data.mkdir()
  num_dev = _head(os.path.join(STSB, "dev.tsv"), data / "dev.tsv", 48)
  num_test = _head(os.path.join(STSB, "test.tsv"), data / "test.tsv", 40)
  out = tmp_path / "out"
  result = _run(minilm_tf_dir, out, data, "--do_eval", "--do_predict", "--eval_batch_size=16",
                "--predict_batch_size=16", task="STS-B")
  assert result.returncode == 0, result.stderr[-3000:]
  metrics = eval_results(out)
  assert set(metrics) == {"eval_pearson", "eval_spearman", "eval_loss", "eval_examples", "global_step"}
  assert metrics["eval_examples"] == num_dev
  assert -1.0 <= metrics["eval_pearson"] <= 1.0 and -1.0 <= metrics["eval_spearman"] <= 1.0
  values = np.array(_read_tsv(out / "test_results.tsv"), dtype=np.float64)
  assert values.shape == (num_test, 1)
  submission = _read_tsv(out / "STS-B.tsv")
  assert len(submission) == num_test + 1
  scores = np.array([row[1] for row in submission[1:]], dtype=np.float64)
  np.testing.assert_allclose(scores, np.clip(values[:, 0], 0, 5), atol=6e-4)


def test_head_variables_losses_and_padding_trim():
  """Google's head names and shapes; cross-entropy / squared-error losses; trimming keeps the real tokens."""
  sys.path.insert(0, ROOT)
  import modeling
  import run_classifier
  from utils import training

  config = modeling.BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                               intermediate_size=32, max_position_embeddings=16)
  rng = np.random.default_rng(0)
  mask = np.array([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 0], [1, 1, 0, 0, 0, 0]], np.int32)
  features = {"input_ids": rng.integers(1, 50, size=mask.shape).astype(np.int32) * mask,
              "input_mask": mask, "segment_ids": np.zeros_like(mask)}
  for is_regression, labels in [(False, np.array([0, 2, 1], np.int32)),
                                (True, np.array([0.5, 4.0, 2.5], np.float32))]:
    num_labels = 1 if is_regression else 3
    with tf.Graph().as_default():
      tensors = training.trim_batch_padding({k: tf.constant(v) for k, v in features.items()})
      tensors["label_ids"] = tf.constant(labels)
      loss, per_example, logits, predictions = run_classifier.create_model(
          config, False, tensors, num_labels, is_regression)
      shapes = {v.op.name: v.shape.as_list() for v in tf.compat.v1.global_variables()}
      assert shapes["output_weights"] == [num_labels, 16] and shapes["output_bias"] == [num_labels]
      with tf.compat.v1.Session() as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        ids, loss, per_example, logits, predictions = sess.run(
            [tensors["input_ids"], loss, per_example, logits, predictions])
    assert ids.shape == (3, 5)   # cut to the longest real sequence
    if is_regression:
      np.testing.assert_allclose(predictions, logits[:, 0], rtol=1e-6)
      np.testing.assert_allclose(per_example, (logits[:, 0] - labels) ** 2, rtol=1e-5)
    else:
      softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
      np.testing.assert_allclose(predictions, softmax, rtol=1e-5)
      np.testing.assert_allclose(per_example, -np.log(softmax[np.arange(3), labels]), rtol=1e-5)
    np.testing.assert_allclose(loss, per_example.mean(), rtol=1e-6)


def test_max_seq_length_beyond_position_embeddings_is_refused(minilm_tf_dir, tmp_path):
  result = _run(minilm_tf_dir, tmp_path / "out", MRPC, "--do_train", "--max_seq_length=1024")
  _assert_clean_error(result, "--max_seq_length=1024", "max_position_embeddings=512")
  assert not os.path.exists(tmp_path / "out" / "train.tf_record")


@pytest.mark.parametrize("bad_row, message", [
    ("1\t1\t2\tonly three fields", "malformed row"),
    ("7\t1\t2\tThe first sentence.\tThe second sentence.", "unknown label '7'"),
])
def test_bad_tsv_row_names_file_and_line(minilm_tf_dir, tmp_path, bad_row, message):
  data = tmp_path / "MRPC"
  data.mkdir()
  _head(os.path.join(MRPC, "train.tsv"), data / "train.tsv", 3)
  with open(data / "train.tsv", "a", encoding="utf-8") as f:
    f.write(bad_row + "\n")
  result = _run(minilm_tf_dir, tmp_path / "out", data, "--do_train")
  _assert_clean_error(result, str(data / "train.tsv"), "line 5", message)


def test_missing_split_and_flags_are_named(minilm_tf_dir, tmp_path):
  result = _run(minilm_tf_dir, tmp_path / "out", tmp_path, "--do_eval")
  _assert_clean_error(result, "dev.tsv not found")
  result = _run(minilm_tf_dir, tmp_path / "out", MRPC, "--do_train", task="NOPE")
  _assert_clean_error(result, "Unknown task 'NOPE'")


@pytest.mark.slow
def test_full_mrpc_reaches_hugging_face_reference(minilm_tf_dir, tmp_path):
  """Full MRPC train set, the reference's hyperparameters: at least its dev accuracy and F1."""
  out = tmp_path / "out"
  result = _run(minilm_tf_dir, out, MRPC, "--do_train", "--do_eval", "--max_seq_length=128",
                "--train_batch_size=32", "--eval_batch_size=32", "--learning_rate=2e-5",
                "--num_train_epochs=3", "--warmup_proportion=0.1", "--weight_decay_rate=0.01", "--seed=42")
  assert result.returncode == 0, result.stderr[-3000:]
  metrics = eval_results(out)
  assert metrics["eval_accuracy"] >= 0.750 and metrics["eval_f1"] >= 0.835, metrics
