"""run_re.py end to end through its command line, on the real MiniLM and the shipped real GAD and ChemProt
samples: a short fine-tune, evaluation and prediction agreeing with utils/re_eval.py, the one-line errors."""
import os
import subprocess
import sys

from conftest import ROOT, SAMPLES, SUBPROCESS_ENV, eval_results, first_lines, run_finetuning

BIOBERT = os.path.join(SAMPLES, "biobert")


def _run(model_dir, output_dir, data_dir, task, *args):
  return run_finetuning("run_re.py", task, model_dir, output_dir, data_dir, *args)


def test_short_gad_finetune_fits_its_pairs(minilm_tf_dir, tmp_path):
  """64 real GAD pairs (markers as [unused*] tokens), 10 epochs, evaluated on the same pairs: the model fits
  them (as tests/test_run_classifier.py's MRPC check: a few dozen pairs do not generalise)."""
  data = tmp_path / "gad"
  data.mkdir()
  lines = first_lines(os.path.join(BIOBERT, "gad", "train.tsv"), data / "train.tsv", 64)
  first_lines(data / "train.tsv", data / "dev.tsv", 64)
  positives = sum(line.rstrip("\n").endswith("\t1") for line in lines)
  majority = max(positives, 64 - positives) / 64
  out = tmp_path / "out"
  result = _run(minilm_tf_dir, out, data, "gad", "--do_train", "--do_eval", "--max_seq_length=64",
                "--train_batch_size=16", "--eval_batch_size=64", "--learning_rate=5e-5", "--num_train_epochs=10",
                "--seed=1")
  assert result.returncode == 0, result.stderr[-3000:]
  assert "40 steps of 16" in result.stdout   # int(64 / 16 * 10)
  metrics = eval_results(out)
  assert metrics["eval_examples"] == 64 and metrics["global_step"] == 40
  # Measured: 63 of the 64 pairs right (accuracy 0.98) at seed 1; the majority class (label 1) is 38 of 64
  # (0.59). 0.9 leaves room for another seed's or CPU's rounding and is beyond the majority by 0.3. F1 of
  # class 1 must follow from tp / fp / fn.
  assert metrics["eval_accuracy"] >= 0.9 > majority, (metrics, majority)
  tp, fp, fn = metrics["eval_tp"], metrics["eval_fp"], metrics["eval_fn"]
  assert tp + fn == positives and abs(metrics["eval_f1"] - 2 * tp / (2 * tp + fp + fn)) < 1e-6


def test_chemprot_eval_and_predict_agree_with_re_eval(minilm_tf_dir, tmp_path):
  """The pretrained encoder with a fresh head on 120 real ChemProt dev pairs: eval_results.txt and
  re_eval.py on test_results.tsv (the same pairs) give the same micro scores."""
  data = tmp_path / "chemprot"
  data.mkdir()
  first_lines(os.path.join(BIOBERT, "chemprot", "dev.tsv"), data / "dev.tsv", 121)
  first_lines(os.path.join(BIOBERT, "chemprot", "dev.tsv"), data / "test.tsv", 121)
  out = tmp_path / "out"
  result = _run(minilm_tf_dir, out, data, "chemprot", "--do_eval", "--do_predict", "--use_fp16",
                "--eval_batch_size=32", "--predict_batch_size=32")
  assert result.returncode == 0, result.stderr[-3000:]
  assert "--amp=True" in result.stdout
  metrics = eval_results(out)
  assert metrics["eval_examples"] == 120
  with open(out / "test_results.tsv") as f:
    rows = [line.split("\t") for line in f]
  assert len(rows) == 120 and all(len(r) == 6 for r in rows)
  cli = subprocess.run([sys.executable, os.path.join(ROOT, "utils", "re_eval.py"), "--task=chemprot",
                        "--output_path=%s" % (out / "test_results.tsv"), "--answer_path=%s" % (data / "test.tsv")],
                       capture_output=True, text=True, env=SUBPROCESS_ENV)
  assert cli.returncode == 0, cli.stderr
  assert "(tp %d, fp %d, fn %d)" % (metrics["eval_tp"], metrics["eval_fp"], metrics["eval_fn"]) in cli.stdout
  assert metrics["eval_tp"] + metrics["eval_fn"] == 19   # the sample's 19 positive (CPR) dev pairs


def test_row_without_markers_is_one_line_exit_2(minilm_tf_dir, tmp_path):
  data = tmp_path / "chemprot"
  data.mkdir()
  (data / "train.tsv").write_text("sentence\tlabel\nBC6ENTC inhibits BC6ENTG.\tCPR:4\nAspirin inhibits COX.\tCPR:4\n")
  result = _run(minilm_tf_dir, tmp_path / "out", data, "chemprot", "--do_train")
  assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-3000:]
  assert "run_re.py: error: %s, line 3: no entity marker of the pair" % (data / "train.tsv") in result.stderr
