"""Bad inputs and faults against the real entry points: each gives one line naming the file, record, flag,
variable or question id, and exit status 2 (issue 14's table). The data are the shipped samples (and
TFRecords made from them by create_pretraining_data.py), the model the 2-layer hidden-32 test config.
"""
import gzip
import hashlib
import json
import os
import shutil
import socket
import struct
import subprocess
import sys

import pytest

from conftest import (ROOT, SAMPLES, SUBPROCESS_ENV as ENV, TRAIN_TEXT, VOCAB,
                      make_pretraining_records, write_tiny_config)

sys.path.insert(0, os.path.join(ROOT, "data"))
import downloader  # noqa: E402
from test_data_prep import BERT_PREP, SQUAD_DEV, _Server, _read  # noqa: E402

PYTHON = sys.executable
SQUAD_FILE = os.path.join(SAMPLES, "squad", "dev-v1.1.first5articles.official-answerable.json")
SEQ, PRED = 64, 10


def _run(script, *args):
  return subprocess.run([PYTHON, os.path.join(ROOT, script)] + list(args), env=ENV, capture_output=True,
                        text=True, timeout=600)


def _error_line(proc, script):
  """The one "<script>: error: ..." line of a run that must have failed with status 2 and no traceback."""
  assert proc.returncode == 2, proc.stderr[-3000:]
  assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
  lines = [line for line in proc.stderr.splitlines() if line.startswith(script + ": error: ")]
  assert len(lines) == 1, proc.stderr[-3000:]
  return lines[0][len(script + ": error: "):]


def _whole_records(data):
  """How many complete records (8-byte length, 4-byte CRC, data, 4-byte CRC) `data` starts with."""
  count, offset = 0, 0
  while offset + 12 <= len(data):
    length, = struct.unpack("<Q", data[offset:offset + 8])
    if offset + 16 + length > len(data):
      break
    offset += 16 + length
    count += 1
  return count


def _pretrain(output_dir, config, *extra, train_dir=None):
  args = ["--bert_config_file=" + config, "--output_dir=" + output_dir, "--max_seq_length=%d" % SEQ,
          "--max_predictions_per_seq=%d" % PRED, "--train_batch_size=8", "--eval_batch_size=8",
          "--num_train_steps=1", "--num_warmup_steps=1", "--learning_rate=1e-3"]
  if train_dir:
    args += ["--do_train", "--input_files_dir=" + train_dir]
  return _run("run_pretraining.py", *(args + list(extra)))


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
  """Real TFRecords (seq 64 and 32), the tiny config and a 1-update pretraining checkpoint (with its LAMB
  slots and masked-LM / next-sentence heads, as a pretraining checkpoint has)."""
  root = tmp_path_factory.mktemp("reliability")
  train = root / "train"
  train.mkdir()
  data = {"root": root, "train": str(train), "config": write_tiny_config(str(root / "tiny.json")),
          "seq64": os.path.join(make_pretraining_records(TRAIN_TEXT, str(train), SEQ, PRED, 1), "part-0.tfrecord"),
          "seq32": os.path.join(make_pretraining_records(TRAIN_TEXT, str(root / "seq32"), 32, PRED, 1),
                                "part-0.tfrecord")}
  proc = _pretrain(str(root / "phase1"), data["config"], train_dir=data["train"])
  assert proc.returncode == 0, proc.stderr[-3000:]
  data["checkpoint"] = str(root / "phase1" / "model.ckpt-1")
  return data


# ----------------------------------------------------------------------------- input pipeline, mid-run

def test_truncated_tfrecord_names_the_file_and_record(pretrained, tmp_path):
  """The first record passes the up-front check; the cut is met mid-run (DataLossError)."""
  data = _read(pretrained["seq64"])
  folder = tmp_path / "truncated"
  folder.mkdir()
  truncated = folder / "part-0.tfrecord"
  truncated.write_bytes(data[:len(data) // 2])
  proc = _pretrain(str(tmp_path / "out"), pretrained["config"], train_dir=str(folder))
  message = _error_line(proc, "run_pretraining.py")
  assert message.startswith("%s is truncated or corrupt: record %d cannot be read (" % (
      truncated, _whole_records(data[:len(data) // 2]))), message


def test_records_of_another_length_later_in_a_file_name_the_record(pretrained, tmp_path):
  """A file whose first records fit the flags and later ones were made with --max_seq_length=32
  (InvalidArgumentError mid-run), here in evaluation after a normal training step."""
  mixed = tmp_path / "eval"
  mixed.mkdir()
  first = _read(pretrained["seq64"])
  (mixed / "part-0.tfrecord").write_bytes(first + _read(pretrained["seq32"]))
  proc = _pretrain(str(tmp_path / "out"), pretrained["config"], "--do_eval", "--eval_files_dir=%s" % mixed,
                   train_dir=pretrained["train"])
  assert _error_line(proc, "run_pretraining.py") == (
      "%s: record %d: feature 'input_ids' has 32 values, expected 64 (was the data made with another "
      "--max_seq_length / --max_predictions_per_seq?)" % (mixed / "part-0.tfrecord", _whole_records(first)))


# ----------------------------------------------------------------------------- config against checkpoint

def _config(path, **changes):
  with open(write_tiny_config(path)) as f:
    config = json.load(f)
  config.update(changes)
  with open(path, "w") as f:
    json.dump(config, f)
  return path


@pytest.mark.parametrize("changes,problem", [
    (dict(num_hidden_layers=1),
     "16 checkpoint variable(s) not in the model: bert/encoder/layer_1/attention/output/LayerNorm/beta, "
     "bert/encoder/layer_1/attention/output/LayerNorm/gamma, bert/encoder/layer_1/attention/output/dense/bias, "
     "bert/encoder/layer_1/attention/output/dense/kernel and 12 more"),
    (dict(num_hidden_layers=3),
     "16 model variable(s) missing from the checkpoint: bert/encoder/layer_2/attention/self/query/kernel, "
     "bert/encoder/layer_2/attention/self/query/bias, bert/encoder/layer_2/attention/self/key/kernel, "
     "bert/encoder/layer_2/attention/self/key/bias and 12 more"),
    (dict(vocab_size=30000),
     "2 shape mismatch(es): bert/embeddings/word_embeddings has shape [30522, 32] in the checkpoint but "
     "[30000, 32] in the model, cls/predictions/output_bias has shape [30522] in the checkpoint but [30000] in "
     "the model"),
], ids=["fewer_layers", "more_layers", "other_vocabulary"])
def test_config_that_disagrees_with_the_checkpoint_is_an_error(pretrained, tmp_path, changes, problem):
  config = _config(str(tmp_path / "config.json"), **changes)
  proc = _pretrain(str(tmp_path / "out"), config, "--init_checkpoint=" + pretrained["checkpoint"],
                   train_dir=pretrained["train"])
  assert _error_line(proc, "run_pretraining.py") == (
      "--init_checkpoint=%s does not match the model of --bert_config_file: %s (--init_checkpoint_partial "
      "starts from the variables that match)" % (pretrained["checkpoint"], problem))


def test_partial_start_logs_what_starts_fresh_and_what_goes_unused(pretrained, tmp_path):
  config = _config(str(tmp_path / "config.json"), num_hidden_layers=3)
  proc = _pretrain(str(tmp_path / "out"), config, "--init_checkpoint=" + pretrained["checkpoint"],
                   "--init_checkpoint_partial", train_dir=pretrained["train"])
  assert proc.returncode == 0, proc.stderr[-3000:]
  (line,) = [x for x in proc.stdout.splitlines() if x.startswith("init_checkpoint ")]
  loaded = 2 * 16 + 5 + 2 + 7   # 2 layers, embeddings, pooler, masked-LM and next-sentence heads
  assert line.startswith("init_checkpoint %s, partial start: %d variables loaded; 16 initialized fresh: "
                         "bert/encoder/layer_2/attention/self/query/kernel, " % (pretrained["checkpoint"], loaded))
  assert line.endswith("; 2 checkpoint variables unused: global_step, input_position")


def test_fine_tuning_graphs_start_from_a_pretraining_checkpoint(pretrained):
  """The expected differences are no error: the classifier and SQuAD heads start fresh, the pretraining
  heads, LAMB slots and step of the checkpoint go unused."""
  import tensorflow as tf
  import modeling
  import run_classifier
  import run_squad
  from utils import training
  tf1 = tf.compat.v1
  bert_config = modeling.BertConfig.from_json_file(pretrained["config"])
  runtime = training.Runtime(training.RunConfig(output_dir=None))
  builders = {"classifier": lambda ids: run_classifier.create_model(
                  bert_config, True, {"input_ids": ids, "input_mask": ids, "segment_ids": ids,
                                      "label_ids": tf.zeros([2], tf.int32)}, 2, False),
              "squad": lambda ids: run_squad.create_model(bert_config, True, ids, ids, ids)}
  for name, build in builders.items():
    with tf.Graph().as_default():
      build(tf.zeros([2, SEQ], tf.int32))
      variables = tf1.global_variables()
      loaded = training.init_from_checkpoint(pretrained["checkpoint"], variables, runtime)
      fresh = sorted(v.op.name for v in variables if v.op.name not in loaded)
      assert all(n.startswith("bert/") for n in loaded) and len(loaded) == 2 * 16 + 5 + 2, name
      assert fresh == {"classifier": ["output_bias", "output_weights"],
                       "squad": ["cls/squad/output_bias", "cls/squad/output_weights"]}[name]


def test_corrupt_checkpoint_index_names_the_file(pretrained, tmp_path):
  prefix = tmp_path / "model.ckpt-1"
  shutil.copy(pretrained["checkpoint"] + ".data-00000-of-00001", str(prefix) + ".data-00000-of-00001")
  shutil.copy(os.path.join(ROOT, "README.md"), str(prefix) + ".index")
  proc = _pretrain(str(tmp_path / "out"), pretrained["config"], "--init_checkpoint=%s" % prefix,
                   train_dir=pretrained["train"])
  assert _error_line(proc, "run_pretraining.py") == (
      "%s.index is not a readable checkpoint index (not an sstable (bad magic number))" % prefix)


# ------------------------------------------------------------------------------------- flags and files

@pytest.mark.parametrize("script,flags", [
    ("run_pretraining.py", ["--do_train", "--input_files_dir=" + TRAIN_TEXT]),
    ("run_classifier.py", ["--do_train", "--task_name=MRPC", "--data_dir=" + os.path.join(SAMPLES, "glue", "MRPC"),
                           "--vocab_file=" + VOCAB]),
    ("run_squad.py", ["--do_predict", "--predict_file=" + SQUAD_FILE, "--vocab_file=" + VOCAB,
                      "--max_seq_length=64", "--max_query_length=16"]),
])
def test_output_dir_that_is_a_file_is_named(tmp_path, script, flags):
  a_file = tmp_path / "results"
  a_file.write_text("not a directory\n")
  proc = _run(script, "--bert_config_file=" + write_tiny_config(str(tmp_path / "tiny.json")),
              "--output_dir=%s" % a_file, *flags)
  assert _error_line(proc, script) == "--output_dir=%s is a file, not a directory" % a_file


def test_squad_question_with_empty_text_is_named(pretrained, tmp_path):
  with open(SQUAD_FILE) as f:
    squad = json.load(f)
  question = squad["data"][0]["paragraphs"][0]["qas"][1]
  question["question"] = "  "
  path = tmp_path / "empty_question.json"
  path.write_text(json.dumps(squad))
  proc = _run("run_squad.py", "--do_predict", "--predict_file=%s" % path, "--vocab_file=" + VOCAB,
              "--bert_config_file=" + pretrained["config"], "--init_checkpoint=" + pretrained["checkpoint"],
              "--output_dir=%s" % (tmp_path / "out"), "--max_seq_length=64", "--doc_stride=32",
              "--max_query_length=16")
  assert _error_line(proc, "run_squad.py") == "%s, question id %s: empty question text." % (path, question["id"])


def test_convert_checkpoint_names_a_malformed_config(tmp_path):
  hf_dir = tmp_path / "hf"
  hf_dir.mkdir()
  (hf_dir / "config.json").write_text('{"hidden_size": 32,}')
  shutil.copy(VOCAB, hf_dir / "vocab.txt")
  proc = _run("utils/convert_checkpoint.py", "--direction=hf_to_tf", "--input_dir=%s" % hf_dir,
              "--output_dir=%s" % (tmp_path / "out"))
  message = _error_line(proc, "convert_checkpoint")
  assert message.startswith("%s is not valid JSON: " % (hf_dir / "config.json")), message
  assert message.endswith("line 1 column 20 (char 19)"), message   # the trailing comma
  assert not os.path.exists(tmp_path / "out")


# --------------------------------------------------------------------------------- create_pretraining_data

def _create(tmp_path, *args):
  return _run("create_pretraining_data.py", "--vocab_file=" + VOCAB, "--max_seq_length=%d" % SEQ,
              "--max_predictions_per_seq=%d" % PRED, "--dupe_factor=1", *args)


def test_create_pretraining_data_warns_about_a_few_bytes_that_are_not_utf8(tmp_path):
  text = tmp_path / "books.txt"
  text.write_bytes(_read(TRAIN_TEXT) + b"The caf\xe9 was full.\n")   # one Latin-1 byte
  characters = len(_read(TRAIN_TEXT).decode("utf-8")) + len("The caf\ufffd was full.\n")
  proc = _create(tmp_path, "--input_file=%s" % text, "--output_file=%s" % (tmp_path / "out.tfrecord"))
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert ("] %s: 1 of %d characters are not text (not UTF-8: 1, control characters: 0); the tokenizer drops "
          "them\n" % (text, characters)) in proc.stderr


def test_create_pretraining_data_refuses_binary_input(tmp_path):
  binary = tmp_path / "books.txt.gz"
  binary.write_bytes(gzip.compress(_read(TRAIN_TEXT), mtime=0))
  proc = _create(tmp_path, "--input_file=%s" % binary, "--output_file=%s" % (tmp_path / "out.tfrecord"))
  message = _error_line(proc, "create_pretraining_data.py")
  assert message.startswith("%s: " % binary) and message.endswith(
      "): more than 1%; is it binary, or not UTF-8 (convert it with iconv)?"), message
  assert os.listdir(tmp_path) == ["books.txt.gz"]


def test_create_pretraining_data_errors_are_one_line(tmp_path):
  a_file = tmp_path / "a_file"
  a_file.write_text("x\n")
  cases = [
      (["--input_file=%s" % (tmp_path / "missing.txt"), "--output_file=%s" % (tmp_path / "o.tfrecord")],
       "--input_file %s does not exist" % (tmp_path / "missing.txt")),
      (["--input_file=" + TRAIN_TEXT, "--output_file=%s" % (a_file / "o.tfrecord")],
       "--output_file %s: %s is a file, not a directory" % (a_file / "o.tfrecord", a_file)),
      (["--input_file=" + TRAIN_TEXT, "--output_file=%s" % tmp_path], "--output_file %s is a directory" % tmp_path),
      # sysfs takes no new files, not even from root.
      (["--input_file=" + TRAIN_TEXT, "--output_file=/sys/o.tfrecord"],
       "--output_file /sys/o.tfrecord cannot be written: Permission denied"),
      (["--input_file=" + TRAIN_TEXT], "--output_file is required"),
      (["--input_file=" + TRAIN_TEXT, "--output_file=%s" % (tmp_path / "o.tfrecord"), "--max_seq_length=4"],
       "--max_seq_length must be >= 5, got 4"),
  ]
  for args, message in cases:
    assert _error_line(_create(tmp_path, *args), "create_pretraining_data.py") == message
  assert os.listdir(tmp_path) == ["a_file"]


# ------------------------------------------------------------------------------------------ data preparation

def _closed_port():
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def test_download_from_an_unreachable_url_says_no_partial_file_is_kept(tmp_path):
  url = "http://127.0.0.1:%d/dev.json" % _closed_port()
  with pytest.raises(downloader.DownloadError) as error:
    downloader.download(url, str(tmp_path / "dev.json"), retries=1, backoff=0.01, timeout=10)
  assert str(error.value).startswith("%s: download failed after 2 attempts (last error: URLError: " % url)
  assert str(error.value).endswith("; no data was received, so no partial file is kept")
  assert os.listdir(tmp_path) == []


def test_download_cut_short_says_the_partial_file_is_kept(tmp_path):
  data = _read(SQUAD_DEV)
  dest = str(tmp_path / "dev.json")
  with _Server({"/dev.json": data}, drop_after=50000, drops=-1) as server:
    with pytest.raises(downloader.DownloadError) as error:
      downloader.download(server.url + "/dev.json", dest, retries=1, backoff=0.01, timeout=10)
  assert str(error.value).endswith("; the partial file %s.part (100000 bytes) is kept and the next run "
                                   "resumes it" % dest)
  assert os.listdir(tmp_path) == ["dev.json.part"]


def test_bertprep_download_errors_exit_2(tmp_path):
  """`bertPrep.py --action download` through the URL override: one line, exit 2, no final file."""
  with _Server({"/sq/train-v1.1.json": _read(SQUAD_DEV)}) as server:
    env = dict(os.environ, BERT_PREP_WORKING_DIR=str(tmp_path), BERT_PREP_URL_SQUAD=server.url + "/sq")
    result = subprocess.run([PYTHON, BERT_PREP, "--action", "download", "--dataset", "squad"],
                            env=env, capture_output=True, text=True, timeout=120)
  assert result.returncode == 2 and "Traceback" not in result.stderr
  assert ("bertPrep.py --action download --dataset squad: error: %s: md5 checksum mismatch: got %s, expected "
          "981b29407e0affa3b1b156f72073b945 (downloaded from %s/sq/train-v1.1.json; partial file removed)\n" % (
              tmp_path / "download" / "squad" / "v1.1" / "train-v1.1.json.part",
              hashlib.md5(_read(SQUAD_DEV)).hexdigest(), server.url)) in result.stderr
  assert not [f for _, _, files in os.walk(tmp_path / "download" / "squad") for f in files]
  books = subprocess.run([PYTHON, BERT_PREP, "--action", "download", "--dataset", "bookscorpus"],
                         env=env, capture_output=True, text=True, timeout=120)
  assert books.returncode == 2 and "BookCorpus has no public download" in books.stderr
