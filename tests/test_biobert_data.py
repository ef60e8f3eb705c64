"""utils/ner.py and utils/relations.py on the shipped real BioBERT samples: readers and their errors, windows
and reassembly, entity markers as single tokens."""
import os

import pytest

from conftest import SAMPLES, VOCAB
import tokenization
from utils import ner
from utils import relations

BIOBERT = os.path.join(SAMPLES, "biobert")
NCBI_DEVEL = os.path.join(BIOBERT, "NCBI-disease", "devel.tsv")
CHEM_DEVEL = os.path.join(BIOBERT, "BC5CDR-chem", "devel.tsv")


@pytest.fixture(scope="module")
def tokenizer():
  return tokenization.FullTokenizer(VOCAB, do_lower_case=True)


def _raw_tokens(path):
  """(token, tag) of every non-blank line, straight from the file."""
  with open(path, encoding="utf-8") as f:
    return [tuple(line.rstrip("\n").split("\t")) for line in f if line.strip()]


def test_iob_reader_keeps_every_token_in_order():
  labels = ner.get_labels("ncbi-disease")
  assert labels == ["O", "B-Disease", "I-Disease"]
  sentences = ner.read_iob(NCBI_DEVEL, labels)
  assert len(sentences) == 100   # the sample's 100 blank-line-terminated sentences
  assert [(w.token, w.tag) for s in sentences for w in s] == _raw_tokens(NCBI_DEVEL)


def test_blank_lines_break_sentences(tmp_path):
  path = tmp_path / "x.tsv"
  path.write_text("\n\nA\tB-Disease\nb\tI-Disease\n\n\n\nC\tO\r\n")   # leading, repeated, CRLF, no final blank
  sentences = ner.read_iob(str(path), ner.get_labels("ncbi-disease"))
  assert [[(w.token, w.tag, w.line) for w in s] for s in sentences] == [
      [("A", "B-Disease", 3), ("b", "I-Disease", 4)], [("C", "O", 8)]]


@pytest.mark.parametrize("line, message", [
    ("tumour", "line 3: token 'tumour' has no tag"),
    ("tumour\t", "line 3: token 'tumour' has no tag"),
    ("tumour\tB-Gene", "line 3: unknown tag 'B-Gene' for token 'tumour' (expected one of: O, B-Disease, I-Disease)"),
])
def test_bad_iob_lines_name_file_and_line(tmp_path, line, message):
  path = tmp_path / "train.tsv"
  path.write_text("The\tO\n\n%s\nis\tO\n" % line)
  with pytest.raises(ValueError) as e:
    ner.read_iob(str(path), ner.get_labels("ncbi-disease"))
  assert str(e.value).startswith("%s, %s" % (path, message))


def test_unknown_task_is_named():
  with pytest.raises(ValueError, match="--task_name=bc2gm: unknown NER task"):
    ner.get_labels("bc2gm")


@pytest.mark.parametrize("path, task", [(NCBI_DEVEL, "ncbi-disease"), (CHEM_DEVEL, "bc5cdr")])
@pytest.mark.parametrize("max_seq_length", [12, 32, 128])
def test_windows_give_every_token_exactly_one_prediction(tokenizer, path, task, max_seq_length):
  labels = ner.get_labels(task)
  sentences = ner.read_iob(path, labels)
  windows = ner.make_windows(sentences, tokenizer, max_seq_length, labels)
  assert all(len(w.input_ids) <= max_seq_length for w in windows)
  assert sum(sum(w.label_mask) for w in windows) == sum(len(s) for s in sentences)
  if max_seq_length < 128:
    assert len(windows) > len(sentences)   # sentences were split, not truncated
  # "Predicting" each window's gold label ids reassembles to the gold tags of every token, in order.
  tags = ner.reassemble(sentences, windows, [w.label_ids for w in windows], labels)
  assert tags == [[w.tag for w in s] for s in sentences]
  # Each window is [CLS] pieces [SEP], its labelled positions the first pieces of its words.
  cls, sep = tokenizer.convert_tokens_to_ids(["[CLS]", "[SEP]"])
  for window in windows[:50]:
    words = sentences[window.sentence][window.first_word:window.first_word + sum(window.label_mask)]
    pieces = [tokenizer.convert_tokens_to_ids(ner.word_pieces(tokenizer, w.token)) for w in words]
    assert window.input_ids == [cls] + [i for p in pieces for i in p][:max_seq_length - 2] + [sep] or \
        len(words) == 1   # a lone word longer than the window keeps its first pieces


def test_long_and_erased_words_still_get_a_prediction(tokenizer):
  labels = ner.get_labels("ncbi-disease")
  long_word = "pseudohypoaldosteronism" * 4
  sentence = [ner.Word(t, tag, i) for i, (t, tag) in enumerate(
      [("\x01", "O"), (long_word, "B-Disease"), ("type", "I-Disease"), ("1", "I-Disease")])]
  windows = ner.make_windows([sentence], tokenizer, 8, labels)
  assert all(len(w.input_ids) <= 8 for w in windows)
  assert ner.reassemble([sentence], windows, [w.label_ids for w in windows], labels) == [
      ["O", "B-Disease", "I-Disease", "I-Disease"]]
  assert windows[0].input_ids[1] == tokenizer.vocab["[UNK]"]   # the control character erased by the tokenizer


def test_reassembly_refuses_missing_windows(tokenizer):
  labels = ner.get_labels("ncbi-disease")
  sentences = ner.read_iob(NCBI_DEVEL, labels)[:3]
  windows = ner.make_windows(sentences, tokenizer, 12, labels)
  with pytest.raises(ValueError):
    ner.reassemble(sentences, windows[:-1], [w.label_ids for w in windows[:-1]], labels)


def test_relation_readers_on_real_samples():
  chemprot = relations.get_task("chemprot")
  examples, one_marker = relations.read_examples(os.path.join(BIOBERT, "chemprot", "train.tsv"), chemprot)
  assert len(examples) == 200 and one_marker == []   # the header line is skipped
  assert examples[0].label == "CPR:5" and examples[0].guid == "train-2"
  gad, _ = relations.read_examples(os.path.join(BIOBERT, "gad", "train.tsv"), relations.get_task("gad"))
  assert len(gad) == 200 and sum(e.label == "1" for e in gad) == 111


def test_markers_stay_single_vocabulary_tokens(tokenizer):
  tokens = relations.tokenize_with_markers(
      tokenizer, "BC6ENTC-induced inhibition of @GENE$ and BC6OTHER in @DISEASE$, @CHEMICAL$ BC6ENTG.")
  assert tokens == ["[unused1]", "-", "induced", "inhibition", "of", "[unused2]", "and", "[unused4]", "in",
                    "[unused3]", ",", "[unused1]", "[unused2]", "."]
  assert all(t in tokenizer.vocab for t in tokens)
  relations.check_marker_vocabulary(tokenizer, VOCAB)


@pytest.mark.parametrize("row, message", [
    ("The BC6OTHER binds nothing.\tFalse", "line 3: no entity marker of the pair (expected @CHEMICAL$/BC6ENTC and "
                                           "@GENE$/BC6ENTG)"),
    ("BC6ENTC binds BC6ENTG.\tCPR:7", "line 3: unknown label 'CPR:7'"),
    ("BC6ENTC binds BC6ENTG.", "line 3: expected sentence<TAB>label"),
])
def test_bad_relation_rows_name_file_and_line(tmp_path, row, message):
  path = tmp_path / "train.tsv"
  path.write_text("sentence\tlabel\nBC6ENTC binds BC6ENTG.\tCPR:3\n%s\n" % row)
  with pytest.raises(ValueError) as e:
    relations.read_examples(str(path), relations.get_task("chemprot"))
  assert str(e.value).startswith("%s, %s" % (path, message))


def test_one_marker_rows_are_kept_and_listed(tmp_path):
  path = tmp_path / "dev.tsv"
  path.write_text("sentence\tlabel\nBC6ENTC binds BC6ENTG.\tCPR:3\nCHEM binds BC6ENTG.\tFalse\n")
  examples, one_marker = relations.read_examples(str(path), relations.get_task("chemprot"))
  assert len(examples) == 2 and one_marker == [3]
