"""The test-only Hugging Face references train as we do: our optimizer and schedule, and, without randomness or
with our run's randomness replayed, our fine-tuning loss curve."""
import argparse
import json
import subprocess
import sys

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
LR_FINETUNE = 5e-5


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


def _gad_batches(vocab_file, batch_size, count):
  """`count` batches of the shipped real GAD sample's features (length 64), in file order."""
  import tokenization
  from conftest import SAMPLES
  from utils import relations
  task = relations.get_task("gad")
  examples, _ = relations.read_examples(f"{SAMPLES}/biobert/gad/train.tsv", task)
  tokenizer = tokenization.FullTokenizer(vocab_file, do_lower_case=True)
  features, _ = relations.convert_examples_to_features(examples[:batch_size * count], task.labels, 64, tokenizer)
  return [{"input_ids": np.array([f.input_ids for f in chunk]), "input_mask": np.array([f.input_mask for f in chunk]),
           "label_ids": np.array([f.label_id for f in chunk])}
          for chunk in (features[i:i + batch_size] for i in range(0, len(features), batch_size))]


def _tf_finetune(model_dir, batches):
  """run_re.py's model (run_classifier.create_model) and optimizer, dropout off, one update per batch: (head
  init, losses)."""
  import modeling
  import run_classifier
  bert_config = modeling.BertConfig.from_json_file(f"{model_dir}/bert_config.json")
  with tf.Graph().as_default():
    features = {k: tf1.placeholder(tf.int32, [None, None]) for k in ("input_ids", "input_mask")}
    features["segment_ids"] = tf.zeros_like(features["input_ids"])
    features["label_ids"] = tf1.placeholder(tf.int32, [None])
    loss = run_classifier.create_model(bert_config, False, features, 2, False)[0]   # False: no dropout
    tvars = tf1.trainable_variables()
    assignment, _ = modeling.get_assignment_map_from_checkpoint(tvars, f"{model_dir}/bert_model.ckpt")
    tf1.train.init_from_checkpoint(f"{model_dir}/bert_model.ckpt", assignment)
    train_op = optimization.create_optimizer(loss, LR_FINETUNE, len(batches), 1, optimizer_type="adam").train_op
    head = [v for v in tvars if v.op.name in ("output_weights", "output_bias")]
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      init = sess.run(head)
      losses = []
      for batch in batches:
        feed = {features[k]: v for k, v in batch.items()}
        losses.append(float(sess.run(loss, feed)))
        sess.run(train_op, feed)
  return init, losses


def test_reference_finetunes_as_ours_without_dropout(minilm_tf_dir):
  # The side-by-side tables compare two random streams (shuffling, dropout, head init). With those taken away
  # (dropout off, our head's initial weights copied into the reference, the same batches of real GAD rows), the
  # reference and run_re.py's model and optimizer must follow the same loss curve, up to float32 round-off: a loss
  # near 0.6 has a unit in the last place of 6e-8, and 9 updates may amplify the round-off of the gradients
  # (m / sqrt(v) turns a round-off gradient into up to 3.3 lr), so 2e-5 (300 units) is allowed. Measured: the 9
  # losses agree to 1.2e-7; a learning rate 1% off moves them by up to 1.7e-3, bias-corrected Adam by 0.17.
  import transformers
  from conftest import minilm_hf_dir
  batches = _gad_batches(f"{minilm_tf_dir}/vocab.txt", 8, 3) * 3   # 3 passes over 3 batches: 9 updates
  head, tf_losses = _tf_finetune(minilm_tf_dir, batches)
  model = transformers.BertForSequenceClassification.from_pretrained(
      minilm_hf_dir(), num_labels=2, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
  with torch.no_grad():
    model.classifier.weight.copy_(torch.from_numpy(head[0]))
    model.classifier.bias.copy_(torch.from_numpy(head[1]))
  optimizer = hf_pretraining_reference.DecoupledWeightDecay(model, "adam")
  args = argparse.Namespace(learning_rate=LR_FINETUNE, warmup_proportion=0.15)   # int(9 * 0.15): 1 update, as TF
  torch_losses = []
  for batch in batches:
    length = int(batch["input_mask"].sum(axis=1).max())
    loss = model(input_ids=torch.from_numpy(batch["input_ids"][:, :length]).long(),
                 attention_mask=torch.from_numpy(batch["input_mask"][:, :length]).long(),
                 labels=torch.from_numpy(batch["label_ids"]).long()).loss
    torch_losses.append(loss.item())
    loss.backward()
    hf_biobert_reference.apply_update(optimizer, len(batches), args)
    optimizer.zero_grad()
  np.testing.assert_allclose(torch_losses, tf_losses, rtol=0, atol=2e-5)
  assert sum(tf_losses[-3:]) < sum(tf_losses[:3]) - 0.1   # and it learnt: the third pass's losses are lower


def _assert_follows_our_losses(replayed, output_dir):
  """The reference's losses (one per update) equal our run's logged ones within 2e-5 (float32 round-off, see the
  test above)."""
  from utils import plot_log
  ours = dict(plot_log.read_log(f"{output_dir}/bert_dllog.json")["loss"])
  np.testing.assert_allclose([replayed[step - 1] for step in sorted(ours)], [ours[s] for s in sorted(ours)],
                             rtol=0, atol=2e-5)
  return ours


@pytest.mark.parametrize("kind, task, sample, dev", [("re", "gad", "gad/train.tsv", "dev.tsv"),
                                                     ("ner", "ncbi-disease", "NCBI-disease/train.tsv", "devel.tsv")])
def test_reference_replays_our_run_with_dropout(minilm_tf_dir, tmp_path, kind, task, sample, dev):
  # With --replay the reference takes our run's randomness (head init from model.ckpt-0, our micro-batches in
  # our order, our dropout mask of every layer), so with dropout on, over 3 epochs (each a fresh shuffle; NER's
  # windows in length buckets), it must follow our loss curve up to float32 round-off: 2e-5, as in the test
  # above. Measured: within 1.2e-7 on both. Transformers' own dropout masks move the GAD losses by up to 0.03;
  # layer 2's output taking its attention output's mask, by 2e-4 at the first reported step and 4.8e-3 later.
  from conftest import ROOT, SAMPLES, SUBPROCESS_ENV, first_lines, first_sentences, run_finetuning
  data = tmp_path / "data"
  data.mkdir()
  first = first_sentences if kind == "ner" else first_lines
  first(f"{SAMPLES}/biobert/{sample}", data / "train.tsv", 25)
  first(f"{SAMPLES}/biobert/{sample}", data / dev, 25)
  flags = ["--max_seq_length=64", "--train_batch_size=8", "--learning_rate=5e-5", "--num_train_epochs=3", "--seed=3"]
  ours = run_finetuning(f"run_{kind}.py", task, minilm_tf_dir, tmp_path / "out", data, "--do_train",
                        "--display_loss_steps=1", *flags)
  assert ours.returncode == 0, ours.stderr[-3000:]
  reference = subprocess.run(
      [sys.executable, f"{ROOT}/tests/hf_biobert_reference.py", f"--kind={kind}", f"--task_name={task}",
       f"--data_dir={data}", f"--replay={tmp_path / 'out'}", *flags],
      capture_output=True, text=True, env=SUBPROCESS_ENV, timeout=600)
  assert reference.returncode == 0, reference.stderr[-3000:]
  replayed = json.loads(reference.stdout.splitlines()[-1])["losses"]
  losses = _assert_follows_our_losses(replayed, tmp_path / "out")
  assert len(replayed) == max(losses) >= 9 and min(losses) == 2   # our first report is after update 2


def test_accuracy_script_with_replay_scores_both_alike(minilm_tf_dir, tmp_path):
  # biobert/scripts/biobert_accuracy.sh end to end with REPLAY=1 on real GAD rows (25 to train, 3 epochs; the
  # next 25 to score): run_re.py, then the reference replaying it. The reference must follow our loss curve as in
  # the test above (so the script did pass --replay, with flags our run's), and the table's two F1 (with P and R)
  # must be equal to its 2 decimals: losses within 1.2e-7 leave the dev predictions alike unless a logit margin
  # is that small.
  from conftest import ROOT, SAMPLES, SUBPROCESS_ENV
  gad = tmp_path / "biodata" / "GAD"
  gad.mkdir(parents=True)
  with open(f"{SAMPLES}/biobert/gad/train.tsv", encoding="utf-8") as f:
    rows = f.readlines()
  (gad / "train.tsv").write_text("".join(rows[:25]), encoding="utf-8")
  (gad / "dev.tsv").write_text("".join(rows[25:50]), encoding="utf-8")
  out = tmp_path / "out"
  env = dict(SUBPROCESS_ENV, PYTHON=sys.executable, MINILM_DIR=minilm_tf_dir, OUT_DIR=str(out), REPLAY="1",
             BIOBERT_DATA_DIR=str(tmp_path / "biodata"), EPOCHS="3", BATCH="8", SEQ="64", SEED="3")
  result = subprocess.run(["bash", f"{ROOT}/biobert/scripts/biobert_accuracy.sh", "rel_gad"], env=env,
                          capture_output=True, text=True, timeout=900)
  assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
  assert "REPLAY=1" in result.stdout
  with open(out / "ours" / "rel_gad.reference.json", encoding="utf-8") as f:
    replayed = json.loads(f.read().splitlines()[-1])["losses"]
  _assert_follows_our_losses(replayed, out / "ours" / "rel_gad")
  row = result.stdout.splitlines()[-1].split("|")
  assert row[1].strip() == "rel_gad" and "P " in row[2] and row[2] == row[3], result.stdout


def test_replay_of_another_run_is_one_line_exit_2(tmp_path, capsys):
  # --replay of a run with other flags (here another seed) would replay another stream: refused, naming the flag.
  (tmp_path / "model.ckpt-0.index").write_text("")
  (tmp_path / "bert_dllog.json").write_text('DLLL {"step": "PARAMETER", "data": %s}\n' % json.dumps(dict(
      task_name="gad", data_dir=str(tmp_path), max_seq_length=64, train_batch_size=8, learning_rate=5e-5,
      num_train_epochs=3.0, warmup_proportion=0.1, seed=1, do_lower_case=True, trim_padding=True)))
  args = hf_biobert_reference.parse_args(["--kind=re", "--task_name=gad", f"--data_dir={tmp_path}/.",
                                          "--max_seq_length=64", "--train_batch_size=8", "--num_train_epochs=3",
                                          "--seed=1", f"--replay={tmp_path}"])
  hf_biobert_reference.check_replay(args)   # the same flags (data_dir spelt otherwise): accepted
  args.seed = 2
  with pytest.raises(SystemExit) as exit_info:
    hf_biobert_reference.check_replay(args)
  assert exit_info.value.code == 2
  expected = "hf_biobert_reference.py: error: --replay=%s ran with other flags: --seed (ours 1, here 2)\n" % tmp_path
  assert capsys.readouterr().err == expected
