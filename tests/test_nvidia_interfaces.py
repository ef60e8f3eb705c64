"""NVIDIA's interfaces: the presets equal scripts/configs/configurations.yml, the container and data scripts run
NVIDIA's command lines (a recording `docker` and interpreter on PATH stand in: no engine runs here), one
bert_model table, XLA without dynamic padding, --help listing every flag an entry point reads, enum flags in
NVIDIA's spelling; and run.sub on a real one-node SLURM cluster (slow)."""
import os
import re
import stat
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT

CONFIGS = os.path.join(ROOT, "scripts", "configs")
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHON=sys.executable)


def _bash(script, *args, **env):
  return subprocess.run(["bash", "-c", script, "bash"] + [str(a) for a in args], capture_output=True, text=True,
                        env=dict(ENV, **env))


def _shell_presets(config_sh):
  """{name: printed arguments} of every preset function (`name () { echo ...; }`) in a presets file."""
  with open(config_sh) as f:
    names = re.findall(r"^(\w+) \(\) *\{ echo ", f.read(), re.M)
  out = _bash('source "$1"; shift; for n in "$@"; do echo "$n|$($n)"; done', config_sh, *names)
  assert out.returncode == 0, out.stderr
  return dict(line.split("|", 1) for line in out.stdout.splitlines())


def test_presets_and_run_sub_equal_configurations_yml():
  with open(os.path.join(CONFIGS, "configurations.yml")) as f:
    config = yaml.safe_load(f)
  for section, config_sh in (("pretraining", "pretrain_config.sh"), ("squad", "squad_config.sh"),
                             ("glue", "glue_config.sh")):
    shell = _shell_presets(os.path.join(CONFIGS, config_sh))
    assert shell == config[section]["presets"], section
    assert all(len(v.split()) == len(config[section]["arguments"]) for v in shell.values()), section
  assert {"dgx2_16gpu_fp16", "dgx2_16gpu_fp32"} <= set(config["squad"]["presets"])
  with open(os.path.join(ROOT, "run.sub")) as f:
    run_sub = dict(re.findall(r"^  (\d)\) defaults=\(([^)]*)\)", f.read(), re.M))
  assert {"phase" + k: v for k, v in run_sub.items()} == config["slurm"]["presets"]


def _recorder(bin_dir, name, extra=""):
  """An executable `name` in bin_dir that appends its arguments (one a line, then ---) to bin_dir/name.log."""
  path = os.path.join(bin_dir, name)
  with open(path, "w") as f:
    f.write('#!/bin/bash\nprintf "%%s\\n" "$@" --- >> "%s.log"\n%s\n' % (path, extra))
  os.chmod(path, os.stat(path).st_mode | stat.S_IEXEC)
  return path + ".log"


def _calls(log):
  with open(log) as f:
    return [call.strip("\n").split("\n") for call in f.read().split("---\n") if call.strip()]


def test_docker_build_and_launch_run_nvidias_command_lines(tmp_path):
  bin_dir = str(tmp_path)
  log = _recorder(bin_dir, "docker")
  env = {"PATH": bin_dir + os.pathsep + os.environ["PATH"]}
  assert _bash('bash "$1"', os.path.join(ROOT, "scripts/docker/build.sh"), WITH_MPI="1", **env).returncode == 0
  work = tmp_path / "repo"
  work.mkdir()
  launch = os.path.join(ROOT, "scripts/docker/launch.sh")
  assert _bash('cd "$1" && bash "$2" python run_squad.py --help', work, launch, **env).returncode == 0
  # With a GPU (nvidia-smi on PATH) the container gets them all; the default command is bash.
  _recorder(bin_dir, "nvidia-smi")
  assert _bash('cd "$1" && bash "$2"', work, launch, NVIDIA_VISIBLE_DEVICES="0,1", **env).returncode == 0
  build, cpu, gpu = _calls(log)
  assert build == ["build", ".", "--rm", "-t", "bert", "--build-arg", "WITH_MPI=1"]
  mounts = ["run", "--rm", "--shm-size=1g", "--ulimit", "memlock=-1", "--ulimit", "stack=67108864", "-p",
            "8888:8888", "-v", "%s:/workspace/bert" % work, "-v", "%s/results:/results" % work,
            "--workdir=/workspace/bert"]
  assert cpu == mounts + ["bert", "python", "run_squad.py", "--help"]
  assert gpu == mounts + ["--gpus", "all", "-e", "NVIDIA_VISIBLE_DEVICES=0,1", "bert", "bash"]
  assert (work / "results").is_dir()


def test_data_download_runs_the_data_pipeline_in_nvidias_modes(tmp_path):
  """wiki_books: BookCorpus and Wikipedia downloaded, both formatted, sharded and made into TFRecords at
  128/20 and 512/80, as data/create_datasets_from_start.sh does (a recording interpreter stands in for
  bertPrep.py); through the container with DOCKER_RUN=1; a mode that is not NVIDIA's is refused."""
  bin_dir = str(tmp_path)
  data = tmp_path / "data"
  log = _recorder(bin_dir, "python", 'mkdir -p "%s/tfrecord/lower_case_1/books_wiki_en_corpus"' % data)
  script = os.path.join(ROOT, "scripts/data_download.sh")
  proc = _bash('bash "$1" wiki_books', script, PYTHON=os.path.join(bin_dir, "python"),
               BERT_PREP_WORKING_DIR=str(data), N_PROCESSES="2")
  assert proc.returncode == 0, proc.stderr
  steps = [(c[c.index("--action") + 1], c[c.index("--dataset") + 1]) for c in _calls(log)]
  assert steps == [("download", "bookscorpus"), ("download", "wikicorpus_en"),
                   ("download", "google_pretrained_weights"), ("download", "squad"), ("download", "glue"),
                   ("text_formatting", "bookscorpus"), ("text_formatting", "wikicorpus_en"),
                   ("sharding", "books_wiki_en_corpus"), ("create_tfrecord_files", "books_wiki_en_corpus"),
                   ("create_tfrecord_files", "books_wiki_en_corpus")]
  tfrecord_calls = [c for c in _calls(log) if "create_tfrecord_files" in c]
  assert [c[c.index("--max_seq_length") + 1] for c in tfrecord_calls] == ["128", "512"]

  docker_log = _recorder(bin_dir, "docker")
  proc = _bash('bash "$1" sample', script, DOCKER_RUN="1", PATH=bin_dir + os.pathsep + os.environ["PATH"])
  assert proc.returncode == 0, proc.stderr
  assert _calls(docker_log)[0][-4:] == ["bert", "bash", "data/create_datasets_from_start.sh", "sample"]

  proc = _bash('bash "$1" books_only', script)
  assert proc.returncode == 2
  assert proc.stderr.strip() == "data_download.sh: error: 'books_only': expected wiki_only, wiki_books or sample"


def test_one_bert_model_table_and_xla_without_dynamic_padding():
  common = os.path.join(CONFIGS, "common.sh")
  download = os.path.join(ROOT, "data", "download")
  for name, folder in (("base", "google_pretrained_weights/uncased_L-12_H-768_A-12"),
                       ("large", "google_pretrained_weights/uncased_L-24_H-1024_A-16"),
                       ("large_lamb", "nvidia_pretrained/bert_tf_pretraining_large_lamb")):
    out = _bash('source "$1" && bert_model_dir "$2" python', common, name)
    assert out.stdout.strip() == os.path.join(download, folder)
  assert _bash('source "$1" && bert_model_dir huge python', common).returncode == 2
  # GLUE's and SQuAD's model look-ups both go through it: the same folder for "large".
  glue = _bash('source "$1" && glue_bert_dir large python', os.path.join(CONFIGS, "glue_config.sh"))
  squad = _bash('source "$1" && squad_bert_dir large python', os.path.join(CONFIGS, "squad_config.sh"))
  large = os.path.join(download, "google_pretrained_weights/uncased_L-24_H-1024_A-16")
  assert "%s/bert_config.json not found" % large in glue.stderr
  assert "%s/bert_config.json missing" % large in squad.stderr
  # use_xla=true always comes with fixed shapes.
  squad_flags = _bash('source "$1" && squad_run_flags 1.1 fp16 true && echo "${SQUAD_FLAGS[@]}"',
                      os.path.join(CONFIGS, "squad_config.sh")).stdout.split()
  glue_flags = _bash('source "$1" && glue_runtime_flags fp16 true 8', os.path.join(CONFIGS, "glue_config.sh"))
  for flags in (squad_flags, glue_flags.stdout.split()):
    assert "--use_xla" in flags and "--notrim_padding" in flags


def _flags_read(path):
  with open(os.path.join(ROOT, path)) as f:
    return set(re.findall(r"\bFLAGS\.(\w+)", f.read()))


def _shared_flags(tokenizer):
  with open(os.path.join(ROOT, "utils", "flags_config.py")) as f:
    defined = set(re.findall(r'DEFINE_\w+\("(\w+)"', f.read()))
  return defined if tokenizer else defined - {"vocab_file", "do_lower_case"}


@pytest.mark.parametrize("script,enum_args,tokenizer", [
    ("run_pretraining.py", ["--optimizer_type=LAMB"], False),
    ("run_squad.py", ["--optimizer_type=ADAM"], True),
    ("run_classifier.py", ["--optimizer_type=Lamb"], True),
    ("create_pretraining_data.py", [], None),
])
def test_help_lists_every_flag_read_and_enums_take_nvidias_spelling(script, enum_args, tokenizer):
  # Flags parse in order, so a rejected --optimizer_type would fail before --help prints anything (absl's
  # --help itself exits with status 1).
  proc = subprocess.run([sys.executable, os.path.join(ROOT, script)] + enum_args + ["--help"],
                        capture_output=True, text=True, env=ENV)
  assert "Try --helpfull to get a list of all flags." in proc.stdout, proc.stderr[-2000:]
  listed = set(re.findall(r"^\s+--(?:\[no\])?(\w+):", proc.stdout, re.M))
  wanted = _flags_read(script) | (_shared_flags(tokenizer) if tokenizer is not None else set())
  assert wanted and wanted <= listed, sorted(wanted - listed)
  if tokenizer is not None:
    assert {"amp", "use_xla", "horovod", "optimizer_type"} <= listed


def test_enum_flags_still_refuse_other_values():
  proc = subprocess.run([sys.executable, os.path.join(ROOT, "run_pretraining.py"), "--optimizer_type=sgd",
                         "--help"], capture_output=True, text=True, env=ENV)
  assert proc.returncode != 0 and "--optimizer_type=sgd: value should be one of <lamb|adam>" in proc.stderr
  assert "Try --helpfull" not in proc.stdout


def _sbatch_wait(phase, env, out_dir):
  """Submits run.sub from the repository root for one phase on 2 tasks of one node (its output in out_dir),
  waits for it; returns (job id, JobState line)."""
  proc = subprocess.run(["sbatch", "-N1", "--ntasks-per-node=2", "--wait", "--parsable",
                         "--output=%s/slurm-%%j.out" % out_dir, "run.sub"], env=dict(env, PHASE=str(phase)),
                        cwd=ROOT, capture_output=True, text=True, timeout=900)
  job = proc.stdout.strip().split(";")[0]
  state = subprocess.run(["scontrol", "show", "job", job], capture_output=True, text=True).stdout
  with open(os.path.join(out_dir, "slurm-%s.out" % job)) as f:
    assert proc.returncode == 0, (proc.stderr, state, f.read()[-3000:])
  return job, re.search(r"JobState=\S+ Reason=\S+ Dependency=\S+", state).group(0)


@pytest.mark.slow
@pytest.mark.horovod
def test_run_sub_two_phases_on_a_one_node_slurm_cluster(tmp_path):
  """scripts/slurm_local_cluster.sh starts SLURM here (as root); run.sub's srun --mpi=pmix starts two Horovod
  ranks (Horovod with MPI: BERT_MPI_PYTHON, default .venv/bin/python, from `scripts/setup.sh --mpi`) on the
  tiny config; phase 2 starts from phase 1's final checkpoint."""
  import tensorflow as tf
  python = os.environ.get("BERT_MPI_PYTHON", os.path.join(ROOT, ".venv", "bin", "python"))
  has_mpi = subprocess.run([python, "-c", "import horovod.tensorflow as h; assert h.mpi_built()"])
  assert has_mpi.returncode == 0, "%s: Horovod without MPI; run scripts/setup.sh --mpi" % python
  start = subprocess.run(["bash", os.path.join(ROOT, "scripts", "slurm_local_cluster.sh"), "start"],
                         capture_output=True, text=True, timeout=600)
  assert start.returncode == 0, start.stderr
  data, results = tmp_path / "data", tmp_path / "results"
  prep = _bash('bash "$1" sample', os.path.join(ROOT, "scripts", "data_download.sh"),
               BERT_PREP_WORKING_DIR=str(data), N_PROCESSES="2")
  assert prep.returncode == 0, prep.stderr[-3000:]
  env = dict(ENV, PYTHON=python, DATA_DIR=str(data), RESULTS_DIR=str(results), BERT_MODEL="tiny",
             PRECISION="fp32", USE_XLA="false", NUM_ACCUMULATION_STEPS="1", LEARNING_RATE="1e-3",
             TF_CPP_MIN_LOG_LEVEL="2")
  # Phase 1: 6 updates of 2 x 4 sequences at 128 tokens, checkpoints every 3; phase 2: 4 of 2 x 2 at 512.
  job1, state1 = _sbatch_wait(1, dict(env, BATCHSIZE="4", TRAIN_STEPS="6", WARMUP_STEPS="2",
                                      SAVE_CHECKPOINTS_STEPS="3"), tmp_path)
  job2, state2 = _sbatch_wait(2, dict(env, BATCHSIZE="2", TRAIN_STEPS="4", WARMUP_STEPS="1",
                                      SAVE_CHECKPOINTS_STEPS="2"), tmp_path)
  assert state1.startswith("JobState=COMPLETED") and state2.startswith("JobState=COMPLETED")
  phase1, phase2 = results / "phase_1", results / "phase_2"
  for job, out in ((job1, phase1), (job2, phase2)):
    log = (out / ("slurm-%s.log" % job)).read_text()
    for rank in (0, 1):   # srun -l prefixes every line with its task id
      assert re.search(r"^%d: Horovod rank %d of 2 \(local rank %d\)" % (rank, rank, rank), log, re.M), log[-3000:]
    assert (out / "eval_results.txt").exists()
  assert tf.train.latest_checkpoint(str(phase1)).endswith("model.ckpt-6")
  assert tf.train.latest_checkpoint(str(phase2)).endswith("model.ckpt-4")
  # Phase 2 loaded phase 1's final weights: its step-0 checkpoint holds them.
  log2 = (phase2 / ("slurm-%s.log" % job2)).read_text()
  assert re.search(r"^0: init_checkpoint %s/model.ckpt-6: \d+ variables loaded" % phase1, log2, re.M)
  final1 = tf.train.load_checkpoint(str(phase1 / "model.ckpt-6"))
  start2 = tf.train.load_checkpoint(str(phase2 / "model.ckpt-0"))
  name = "bert/embeddings/word_embeddings"
  assert (start2.get_tensor(name) == final1.get_tensor(name)).all()
