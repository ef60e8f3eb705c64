"""The benchmark scripts run end to end on a tiny config (the masked-LM probe: on the real MiniLM and a small
text) and print their tables with sane figures.

They measure nothing here (the tables in the README come from full runs on an idle machine); these tests
only keep the scripts working.
"""
import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT
from utils import cpu

# What --amp computes on this machine (no GPU here): bfloat16 with bfloat16 units, float32 without.
AMP = "amp-bf16" if cpu.bf16_flags() else "amp-fp32"


def _run_script(name, *args, results_dir=None, status=0):
  env = dict(os.environ, PYTHON=sys.executable, RESULTS_DIR=str(results_dir or os.path.join(ROOT, "results")))
  proc = subprocess.run(["bash", os.path.join(ROOT, "scripts", name)] + list(args), capture_output=True,
                        text=True, env=env, timeout=900)
  assert proc.returncode == status, proc.stdout[-3000:] + proc.stderr[-3000:]
  return proc.stdout if status == 0 else proc.stderr


def _table_rows(text, first_cell):
  return [[c.strip() for c in line.strip("|").split("|")] for line in text.splitlines()
          if re.match(r"^\| %s \|" % re.escape(first_cell), line)]


def _assert_processor_heads_table(out, header):
  """The processor and its bf16/AMX flags are printed on the line above the table's header."""
  lines = out.splitlines()
  at = [i for i, line in enumerate(lines) if line.startswith(header)]
  assert at and lines[at[-1] - 1] == "processor: " + cpu.describe(), out[-2000:]


def test_finetune_inference_benchmark_prints_latency_percentiles(tmp_path):
  out = _run_script("finetune_inference_benchmark.sh", "tiny", "--batch_sizes=1,2", "--seq_lengths=64",
                    "--iterations=6", "--precision=fp32,amp", results_dir=tmp_path)
  # NVIDIA's log file holds the table too.
  assert out.split("\nlog: ")[0] == (tmp_path / "squad_inference_benchmark_bert_tiny.log").read_text().rstrip()
  _assert_processor_heads_table(out, "| Model | Sequence Length | Batch Size | Precision | Throughput-Average(sent/sec)")
  rows = _table_rows(out, "bert-tiny")
  assert [(r[1], r[2], r[3]) for r in rows] == [("64", "1", "fp32"), ("64", "1", AMP), ("64", "2", "fp32"),
                                                ("64", "2", AMP)]
  for r in rows:
    throughput, average, p50, p90, p95, p99, p100 = map(float, r[4:11])
    assert throughput > 0 and 0 < p50 <= p90 <= p95 <= p99 <= p100
    assert int(r[11]) == 6
    # throughput is batch / mean latency, up to the printing: the average (ms) has one decimal, so the true one is
    # within 0.05 of it and batch * 1000 / average within the gap below; the throughput has two decimals (0.005).
    batch = int(r[2])
    assert average > 0.05
    bound = batch * 1000.0 / (average - 0.05) - batch * 1000.0 / average + 0.005
    assert abs(throughput - batch * 1000.0 / average) <= bound


def test_finetune_train_benchmark_prints_throughput(tmp_path):
  # NVIDIA's positional arguments (bert_model use_xla num_gpu task) before the benchmark's flags.
  out = _run_script("finetune_train_benchmark.sh", "tiny", "true", "1", "squad", "--batch_sizes=2",
                    "--seq_lengths=64", "--steps=2", "--warmup_steps=1", "--precision=fp32,amp", results_dir=tmp_path)
  _assert_processor_heads_table(out, "| Sequence Length | Batch size | Precision | Throughput (sentences/sec)")
  rows = _table_rows(out, "64")
  assert [(r[1], r[2], r[4]) for r in rows] == [("2", "fp32", "True"), ("2", AMP, "True")]   # XLA on
  assert all(float(r[3]) > 0 for r in rows)
  assert "| 64 | 2 | fp32 |" in (tmp_path / "squad_training_benchmark_bert_tiny_gpu_1.log").read_text()


@pytest.mark.parametrize("script,args,message", [
    ("finetune_train_benchmark.sh", ["large", "true", "8", "squad"],
     "num_gpu='8': the benchmark times one process; use 1"),
    ("finetune_train_benchmark.sh", ["large", "yes"], "use_xla='yes': expected true or false"),
    ("finetune_train_benchmark.sh", ["large", "false", "1", "glue"],
     "task='glue': benchmarking is only supported for squad"),
])
def test_finetune_benchmark_refuses_what_it_cannot_do(script, args, message, tmp_path):
  err = _run_script(script, *args, results_dir=tmp_path, status=2)
  assert err.strip() == "%s: error: %s" % (script, message)
  assert not os.listdir(tmp_path)


def test_pretraining_benchmark_prints_sentences_and_flops():
  out = _run_script("pretraining_benchmark.sh", "--bert_configs=tiny=scripts/configs/bert_tiny_config.json",
                    "--optimizers=adam,lamb", "--xla=off", "--precision=fp32,amp", "--steps=2", "--repeats=1",
                    "--warmup_steps=1")
  _assert_processor_heads_table(out, "config     opt   prec")
  rows = [line.split() for line in out.splitlines() if line.startswith("tiny ")][-4:]
  assert [(r[1], r[2]) for r in rows] == [("adam", "fp32"), ("adam", AMP), ("lamb", "fp32"), ("lamb", AMP)]
  for r in rows:
    gflop_per_sentence, sentences, gflops = float(r[4]), float(r[5]), float(r[6])
    assert r[8] == "-"   # no reference figure for this config
    assert sentences > 0 and abs(gflops - gflop_per_sentence * sentences) <= 0.01 * gflops + 1e-3
  for fp32, amp in (rows[:2], rows[2:]):   # amp's speed over fp32's, same optimizer
    assert fp32[9] == "-" and abs(float(amp[9].rstrip("x")) - float(amp[5]) / float(fp32[5])) <= 0.01


def test_mlm_probe_scores_the_checkpoint_and_a_random_init(minilm_tf_dir, tmp_path):
  records = {}
  for split, text in (("train", "pretrain/sample_text.txt"),
                      ("eval", "pretrain_heldout/chesterton_thursday_sample.txt")):
    records[split] = str(tmp_path / ("%s.tfrecord" % split))
    subprocess.run([sys.executable, os.path.join(ROOT, "create_pretraining_data.py"),
                    "--input_file=" + os.path.join(ROOT, "data", "samples", text),
                    "--output_file=" + records[split], "--vocab_file=" + os.path.join(minilm_tf_dir, "vocab.txt"),
                    "--do_lower_case", "--max_seq_length=64", "--max_predictions_per_seq=10", "--dupe_factor=1",
                    "--random_seed=1"], check=True, capture_output=True)
  proc = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "mlm_probe.py"),
                         "--bert_config_file=" + os.path.join(minilm_tf_dir, "bert_config.json"),
                         "--init_checkpoint=" + os.path.join(minilm_tf_dir, "bert_model.ckpt"),
                         "--train_records=" + records["train"], "--eval_records=" + records["eval"],
                         "--max_seq_length=64", "--max_predictions_per_seq=10", "--epochs=2", "--batch_size=64"],
                        capture_output=True, text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"), timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  rows = {name: _table_rows(proc.stdout, name) for name in ("checkpoint", "random init")}
  for name, table in rows.items():
    assert [r[3] for r in table] == ["1", "2"], proc.stdout
    for r in table:
      assert int(r[1]) > 0 and int(r[2]) > 0
      assert all(0.0 <= float(x) <= 1.0 for x in r[5:8])
  # The checkpoint's encoder was loaded: its held-out loss differs from the random encoder's.
  assert rows["checkpoint"][-1][4] != rows["random init"][-1][4]
