"""How many updates a post-LayerNorm BERT needs to learn to read a neighbour, by sequence length (Hugging Face).

A test-only tool (not imported by the suite, not collected by pytest), the control behind the README's phase 0
(Pretraining from scratch on 2 CPU cores). Records where only word order answers, at any length: [CLS] + pairs
(a, a) of ids from a pool of 20 + [SEP]; 15% of the positions are masked, each in a different pair, so the
target is always the unmasked neighbour. transformers.BertForMaskedLM (no dropout, vocabulary cut to 2100 ids
for speed) trains with torch's AdamW (bias-corrected), linear warmup and decay, global-norm clipping to 1.0, and
is scored on 200 held-out records of the final length every --every updates.

  python tests/hf_word_order_probe.py --seq=128 --steps=4000 --every=500    # stays at chance (1/20)
  python tests/hf_word_order_probe.py --seq=16 --steps=3000                  # learns it by update 250
  python tests/hf_word_order_probe.py --curriculum=16:500 --steps=3000       # 16 tokens, then 128

(the README's table: these, --lr=3e-4 / 3e-3 and --position_init=sinusoid at 128 tokens, and --seq=32).

--curriculum=LEN:UNTIL,... trains on LEN-token records up to update UNTIL, then on the next entry, then on --seq.
Needs torch and transformers (requirements-test.txt).
"""
import argparse
import os
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")   # see hf_pretraining_reference.py

import numpy as np  # noqa: E402
import torch  # noqa: E402
from transformers import BertConfig, BertForMaskedLM  # noqa: E402

CLS, SEP, MASK, FIRST_ID = 101, 102, 103, 2000


def parse_args():
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--layers", type=int, default=2)
  p.add_argument("--hidden", type=int, default=128)
  p.add_argument("--heads", type=int, default=2)
  p.add_argument("--seq", type=int, default=128, help="Sequence length (after any curriculum).")
  p.add_argument("--curriculum", default="", help="LEN:UNTIL,... shorter lengths first.")
  p.add_argument("--lr", type=float, default=1e-3)
  p.add_argument("--steps", type=int, default=2000)
  p.add_argument("--warmup", type=int, default=100)
  p.add_argument("--batch", type=int, default=16)
  p.add_argument("--pool", type=int, default=20, help="Distinct ids the pairs are drawn from.")
  p.add_argument("--vocab", type=int, default=2100)
  p.add_argument("--every", type=int, default=250, help="Evaluate every N updates.")
  p.add_argument("--position_init", choices=["random", "sinusoid"], default="random",
                 help="sinusoid: the position table starts as sines and cosines, rows scaled to the random rows' norm.")
  return p.parse_args()


def make_batch(rng, rows, seq, pool):
  """`rows` records of `seq` tokens: (input ids, labels with -100 where nothing is predicted)."""
  pairs_per_row = (seq - 2) // 2
  masks = max(1, round(0.15 * seq))
  ids = np.zeros((rows, seq), np.int64)
  labels = np.full((rows, seq), -100, np.int64)
  for r in range(rows):
    row = [CLS] + list(np.repeat(rng.integers(FIRST_ID, FIRST_ID + pool, pairs_per_row), 2)) + [SEP]
    row += [0] * (seq - len(row))
    for pair in rng.choice(pairs_per_row, masks, replace=False):
      q = 1 + 2 * pair + rng.integers(2)
      labels[r, q], row[q] = row[q], MASK
    ids[r] = row
  return torch.tensor(ids), torch.tensor(labels)


def init_sinusoids(table):
  """Overwrites the [positions, hidden] table with sinusoids whose rows have the table's mean row norm."""
  with torch.no_grad():
    positions, hidden = table.shape
    angles = np.arange(positions)[:, None] / 10000 ** (2 * np.arange(hidden // 2)[None] / hidden)
    waves = np.concatenate([np.sin(angles), np.cos(angles)], 1)
    waves *= table.norm(dim=1).mean().item() / np.linalg.norm(waves, axis=1).mean()
    table.copy_(torch.tensor(waves, dtype=torch.float32))


def main():
  a = parse_args()
  torch.manual_seed(0)
  torch.set_num_threads(2)
  model = BertForMaskedLM(BertConfig(
      vocab_size=a.vocab, hidden_size=a.hidden, num_hidden_layers=a.layers, num_attention_heads=a.heads,
      intermediate_size=4 * a.hidden, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
      attn_implementation="eager"))
  if a.position_init == "sinusoid":
    init_sinusoids(model.bert.embeddings.position_embeddings.weight)
  optimizer = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.01)
  schedule = torch.optim.lr_scheduler.LambdaLR(
      optimizer, lambda s: min(1.0, (s + 1) / a.warmup) * max(0.0, 1.0 - s / a.steps))
  stages = [(int(length), int(until)) for length, until in (x.split(":") for x in a.curriculum.split(",") if x)]
  rng = np.random.default_rng(0)
  eval_ids, eval_labels = make_batch(rng, 200, a.seq, a.pool)
  start = time.time()
  for step in range(1, a.steps + 1):
    seq = next((length for length, until in stages if step <= until), a.seq)
    ids, labels = make_batch(rng, a.batch, seq, a.pool)
    loss = model(input_ids=ids, labels=labels).loss
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    schedule.step()
    if step % a.every == 0:
      with torch.no_grad():
        predicted = model(input_ids=eval_ids).logits.argmax(-1)
      scored = eval_labels != -100
      accuracy = (predicted[scored] == eval_labels[scored]).float().mean().item()
      print("step %d (training on %d tokens) loss %.3f held-out accuracy at %d tokens %.3f  %.0f s" % (
          step, seq, loss.item(), a.seq, accuracy, time.time() - start), flush=True)


if __name__ == "__main__":
  main()
