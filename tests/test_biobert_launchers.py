"""biobert/scripts: NVIDIA's positional arguments turned into run_ner.py / run_re.py / run_pretraining.py flags,
the benchmark tables, argument errors, and data/biobert_data.py. The launchers run a stand-in interpreter
(PYTHON) that records its arguments, so only the launchers' own work is tested here; run_ner.py and run_re.py
are tested end to end in tests/test_run_{ner,re}.py."""
import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT, SAMPLES

sys.path.insert(0, os.path.join(ROOT, "data"))
import biobert_data  # noqa: E402

SCRIPTS = os.path.join(ROOT, "biobert", "scripts")
FAKE_PYTHON = """#!/bin/sh
# Records its arguments, one a line, and writes a dllogger line with a throughput into --output_dir.
printf '%s\\n' "$@" > "$ARGV_LOG"
for a in "$@"; do case "$a" in --output_dir=*) d="${a#--output_dir=}"; mkdir -p "$d"
  echo 'DLLL {"data": {"throughput_train": 12.5, "throughput_eval": 40.25}}' > "$d/bert_dllog.json";; esac; done
"""
FAKE_MPIRUN = """#!/bin/sh
echo "$@" > "$MPIRUN_LOG"
shift 9   # mpirun --allow-run-as-root -np N --bind-to none --map-by slot -x PATH
exec "$@"
"""


@pytest.fixture
def env(tmp_path):
  """An environment with the stand-in interpreter and mpirun, a model folder and the data layout."""
  bin_dir = tmp_path / "bin"
  bin_dir.mkdir()
  for name, text in (("python", FAKE_PYTHON), ("mpirun", FAKE_MPIRUN)):
    (bin_dir / name).write_text(text)
    (bin_dir / name).chmod(0o755)
  model = tmp_path / "model"
  model.mkdir()
  (model / "vocab.txt").write_text("[PAD]\n")
  (model / "bert_config.json").write_text("{}")
  data = tmp_path / "biobert"
  for sub in ("BC5CDR/chem", "NCBI-disease", "chemprot-data_treeLSTM", "GAD"):
    (data / sub).mkdir(parents=True)
  (data / "GAD" / "test.tsv").write_text("x\t1\n")
  return dict(os.environ, PYTHON=str(bin_dir / "python"), PATH="%s:%s" % (bin_dir, os.environ["PATH"]),
              ARGV_LOG=str(tmp_path / "argv"), MPIRUN_LOG=str(tmp_path / "mpirun"), BERT_DIR=str(model),
              BIOBERT_DATA_DIR=str(data), RESULTS_DIR=str(tmp_path / "results"), DATA_DIR=str(tmp_path / "none"))


def _launch(script, args, env):
  return subprocess.run(["bash", os.path.join(SCRIPTS, script)] + [str(a) for a in args], env=env,
                        capture_output=True, text=True)


def _argv(env):
  with open(env["ARGV_LOG"]) as f:
    return f.read().splitlines()


def test_defaults_fine_tune_minilm_on_one_cpu_worker(env):
  proc = _launch("ner_bc5cdr-chem.sh", [], env)
  assert proc.returncode == 0, proc.stderr
  argv = _argv(env)
  assert argv[0] == os.path.join(ROOT, "run_ner.py")
  model, data = env["BERT_DIR"], os.path.join(env["BIOBERT_DATA_DIR"], "BC5CDR", "chem")
  for flag in ["--task_name=bc5cdr-chem", "--data_dir=" + data, "--init_checkpoint=%s/bert_model.ckpt" % model,
               "--vocab_file=%s/vocab.txt" % model, "--max_seq_length=128", "--train_batch_size=32",
               "--eval_batch_size=32", "--learning_rate=5e-5", "--num_train_epochs=3.0", "--do_train",
               "--do_eval", "--nodo_predict", "--do_lower_case", "--noamp", "--nouse_xla"]:
    assert flag in argv, (flag, argv)
  assert "--horovod" not in argv
  out = [a for a in argv if a.startswith("--output_dir=")][0]
  assert os.path.basename(out).startswith("tf_bert_biobert_ner_bc5cdr_chem_minilm_fp32_gbs32_")


def test_nvidia_preset_runs_sixteen_horovod_workers(env):
  preset = subprocess.run(["bash", "-c", "source %s/biobert_config.sh && rel_dgx1_16gpu_fp16" % SCRIPTS],
                          capture_output=True, text=True, env=env, check=True).stdout.split()
  proc = _launch("rel_chemprot.sh", ["/ckpt/model.ckpt-7"] + preset, dict(env, LAUNCHER="mpirun"))
  assert proc.returncode == 0, proc.stderr
  with open(env["MPIRUN_LOG"]) as f:
    assert f.read().startswith("--allow-run-as-root -np 16 ")
  argv = _argv(env)
  for flag in ["--task_name=chemprot", "--init_checkpoint=/ckpt/model.ckpt-7", "--max_seq_length=512",
               "--train_batch_size=8", "--eval_batch_size=16", "--learning_rate=1.5e-6", "--num_train_epochs=3.0",
               "--amp", "--use_xla", "--horovod"]:
    assert flag in argv, (flag, argv)


def test_cased_gad_predicts_when_test_set_exists(env):
  proc = _launch("rel_gad.sh", ["", 16, 3e-5, "true"], env)
  assert proc.returncode == 0, proc.stderr
  argv = _argv(env)
  assert {"--task_name=gad", "--nodo_lower_case", "--do_predict", "--train_batch_size=16",
          "--learning_rate=3e-05"} <= set(argv)


def test_inference_launcher_evaluates_a_checkpoint_without_training(env):
  proc = _launch("run_biobert_finetuning_inference.sh", ["rel_chemprot", "/ft/model.ckpt-99", "", "", "fp16",
                                                         "", 64], env)
  assert proc.returncode == 0, proc.stderr
  argv = _argv(env)
  assert argv[0] == os.path.join(ROOT, "run_re.py") and "--do_train" not in argv
  for flag in ["--init_checkpoint=/ft/model.ckpt-99", "--max_seq_length=512", "--eval_batch_size=64",
               "--predict_batch_size=64", "--do_eval", "--amp"]:
    assert flag in argv, (flag, argv)


def test_benchmarks_print_a_table_of_throughputs(env):
  env = dict(env, BATCH_SIZES="8 16", PRECISIONS="fp32")
  proc = _launch("biobert_finetune_training_benchmark.sh", ["ner_ncbi-disease"], env)
  assert proc.returncode == 0, proc.stderr
  lines = proc.stdout.splitlines()
  assert lines[-3].split() == ["precision", "seq_length", "batch_size", "sentences/sec"]
  assert [line.split() for line in lines[-2:]] == [["fp32", "128", "8", "12.5"], ["fp32", "128", "16", "12.5"]]
  assert "--num_train_epochs=0.1" in _argv(env) and "--do_train" in _argv(env)
  proc = _launch("biobert_finetune_inference_benchmark.sh", ["rel_gad"], dict(env, BATCH_SIZES="4"))
  assert proc.returncode == 0, proc.stderr
  assert proc.stdout.splitlines()[-1].split() == ["fp32", "128", "4", "40.25"]
  assert "--do_train" not in _argv(env)


@pytest.mark.parametrize("script, args, message", [
    ("ner_bc5cdr-chem.sh", ["", 8, 1e-5, "false", "fp8"], "precision='fp8' is not a valid precision"),
    ("ner_ncbi-disease.sh", ["", 0], "train_batch_size='0' is not a valid count"),
    ("rel_chemprot.sh", [""] * 12, "12 arguments given, at most 11 expected"),
    ("run_biobert_finetuning_inference.sh", ["ner_bc2gm"], "task='ner_bc2gm' is not ner_bc5cdr-chem"),
    ("run_pretraining_pubmed_base_phase_1.sh", [16, "fast"], "learning_rate='fast' is not a valid rate"),
    ("run_pretraining_pubmed_base_phase_1.sh", [16, 1e-4, "true"], "cased=true: the MiniLM is uncased"),
    ("biobert_data_download.sh", ["wiki"], "'wiki': expected nothing or pubmed"),
])
def test_bad_arguments_print_usage_and_exit_2(env, script, args, message):
  proc = _launch(script, args, env)
  assert proc.returncode == 2, proc.stderr
  assert "%s: error: %s" % (script, message) in proc.stderr
  assert "bash biobert/scripts/%s [" % script in proc.stderr   # the usage
  assert not os.path.exists(env["ARGV_LOG"])


def test_bert_model_must_be_known_without_bert_dir(env):
  env = dict(env)
  del env["BERT_DIR"]
  proc = _launch("ner_bc5cdr-disease.sh", [""] * 8 + ["huge"], env)
  assert proc.returncode == 2 and "bert_model='huge' is not minilm, base or large" in proc.stderr


def test_missing_data_folder_is_named(env):
  proc = _launch("ner_bc5cdr-disease.sh", [], env)
  assert proc.returncode == 2
  assert "%s/BC5CDR/disease not found" % env["BIOBERT_DATA_DIR"] in proc.stderr


def test_pubmed_phase1_looks_for_pubmed_tfrecords(env):
  proc = _launch("run_pretraining_pubmed_base_phase_1.sh", [], dict(env, BERT_MODEL="tiny"))
  assert proc.returncode != 0
  assert "no TFRecords at seq_len 128 / max_pred 20" in proc.stderr and "pubmed_baseline" in proc.stderr
  assert "Create them with data/create_biobert_datasets_from_start.sh or set DATA_DIR" in proc.stderr


def _pubmed_tfrecord_dirs(data_dir, lower_case):
  """The phase 1 and 2 pubmed_baseline TFRecord folders (training/ and test/) of one casing, as
  data/create_biobert_datasets_from_start.sh names them."""
  for seq, pred in ((128, 20), (512, 80)):
    folder = os.path.join(data_dir, "tfrecord", "lower_case_%d_seq_len_%d_max_pred_%d_masked_lm_prob_0.15_random_"
                          "seed_12345_dupe_factor_5_shard_1472_test_split_10" % (lower_case, seq, pred),
                          "pubmed_baseline")
    for split in ("training", "test"):
      os.makedirs(os.path.join(folder, split))
  return folder.replace("512_max_pred_80", "128_max_pred_20")


def test_pubmed_cased_reads_cased_tfrecords_and_googles_cased_bert(env, tmp_path):
  """cased=true, as NVIDIA's launchers: the lower_case_0 TFRecords, and for base/large the bert_config.json and
  checkpoint of Google's cased BERT (here BERT_DIR, else data/download/google_pretrained_weights/cased_*)."""
  data = str(tmp_path / "data")
  _pubmed_tfrecord_dirs(data, 1)
  cased = _pubmed_tfrecord_dirs(data, 0)
  (tmp_path / "bin" / "python").write_text(FAKE_PYTHON + 'touch "$d/eval_results.txt"\n')   # as run_pretraining.py
  env = dict(env, DATA_DIR=data, BERT_MODEL="base")
  proc = _launch("run_pretraining_pubmed_base_phase_1.sh", [8, 1e-4, "true"], env)
  assert proc.returncode == 0, proc.stderr
  argv = _argv(env)
  for flag in ["--input_files_dir=%s/training" % cased, "--eval_files_dir=%s/test" % cased,
               "--bert_config_file=%s/bert_config.json" % env["BERT_DIR"],
               "--init_checkpoint=%s/bert_model.ckpt" % env["BERT_DIR"], "--max_seq_length=128"]:
    assert flag in argv, (flag, argv)
  proc = _launch("run_pretraining_pubmed_base_phase_2.sh", ["/p1/model.ckpt-9", 2, 1e-4, "true"], env)
  assert proc.returncode == 0, proc.stderr
  assert "--input_files_dir=%s/training" % cased.replace("128_max_pred_20", "512_max_pred_80") in _argv(env)
  assert "--init_checkpoint=/p1/model.ckpt-9" in _argv(env)
  del env["BERT_DIR"]
  proc = _launch("run_pretraining_pubmed_base_phase_1.sh", [8, 1e-4, "true"], env)
  assert "google_pretrained_weights/cased_L-12_H-768_A-12/bert_config.json missing" in proc.stderr


def test_biobert_data_download_pubmed_runs_nvidias_pubmed_steps(env, tmp_path):
  """`biobert_data_download.sh pubmed`: the fine-tuning data, then data/create_biobert_datasets_from_start.sh
  (a recording interpreter stands in for data/biobert_data.py and bertPrep.py)."""
  log = tmp_path / "calls"
  (tmp_path / "bin" / "python").write_text('#!/bin/sh\necho "$@" >> "%s"\n' % log)
  work = tmp_path / "work"
  (work / "tfrecord" / "x" / "pubmed_baseline").mkdir(parents=True)
  proc = _launch("biobert_data_download.sh", ["pubmed"], dict(env, BERT_PREP_WORKING_DIR=str(work)))
  assert proc.returncode == 0, proc.stderr
  calls = [line.split() for line in log.read_text().splitlines()]
  assert calls[0][0] == os.path.join(ROOT, "data", "biobert_data.py")
  steps = [(c[c.index("--action") + 1], c[c.index("--dataset") + 1]) for c in calls[1:]]
  assert steps == [("download", "pubmed_baseline"), ("download", "google_pretrained_weights"),
                   ("text_formatting", "pubmed_baseline"), ("sharding", "pubmed_baseline")] + \
      [("create_tfrecord_files", "pubmed_baseline")] * 4
  weights = os.path.join(str(work), "download", "google_pretrained_weights")
  assert [(c[c.index("--max_seq_length") + 1], c[c.index("--do_lower_case") + 1], c[c.index("--vocab_file") + 1])
          for c in calls[5:]] == [
              ("128", "1", weights + "/uncased_L-12_H-768_A-12/vocab.txt"),
              ("512", "1", weights + "/uncased_L-12_H-768_A-12/vocab.txt"),
              ("128", "0", weights + "/cased_L-12_H-768_A-12/vocab.txt"),
              ("512", "0", weights + "/cased_L-12_H-768_A-12/vocab.txt")]
  assert all(c[c.index("--n_training_shards") + 1] == "1472" for c in calls[4:])


def test_data_script_splits_gad_and_names_missing_files(tmp_path):
  gad = tmp_path / "GAD"
  gad.mkdir()
  shutil.copy(os.path.join(SAMPLES, "biobert", "gad", "train.tsv"), gad / "full_train.tsv")
  assert biobert_data.split_gad(str(gad / "full_train.tsv")) == (180, 20)
  with open(gad / "full_train.tsv") as full, open(gad / "train.tsv") as train, open(gad / "dev.tsv") as dev:
    assert full.read() == train.read() + dev.read()
  assert biobert_data.main(["--output_dir=%s" % (tmp_path / "out"), "--source_dir=%s" % tmp_path]) == 2
