"""SQuAD data handling on the shipped real SQuAD samples: reading, windows, TFRecords, predictions."""
import collections
import json
import os

import numpy as np
import pytest
import tensorflow as tf

import tokenization
from conftest import SAMPLES
from utils import evaluate_squad_v1
from utils import evaluate_squad_v2
from utils import squad
from utils import training

SQUAD = os.path.join(SAMPLES, "squad")
DEV_V1 = os.path.join(SQUAD, "dev-v1.1.first5articles.official-answerable.json")
DEV_V2 = os.path.join(SQUAD, "dev-v2.0.first5articles.official.json")
TRAIN_V1 = os.path.join(SQUAD, "train-v1.1.3articles.reconstructed.json")
TRAIN_V2 = os.path.join(SQUAD, "train-v2.0.3articles.reconstructed.json")
VOCAB = os.path.join(SAMPLES, "vocab", "bert-base-uncased-vocab.txt")
# Short windows so that most paragraphs are split into several overlapping windows.
SEQ, STRIDE, QUERY = 128, 48, 32


@pytest.fixture(scope="module")
def tokenizer():
  return tokenization.FullTokenizer(VOCAB, do_lower_case=True)


def _features(examples, tokenizer, is_training, seq=SEQ, stride=STRIDE):
  features = []
  count = squad.convert_examples_to_features(examples, tokenizer, seq, stride, QUERY, is_training,
                                             features.append)
  assert count == len(features)
  return features


def _load(path):
  with open(path) as f:
    return json.load(f)


def _qas(path):
  return [qa for a in _load(path)["data"] for p in a["paragraphs"] for qa in p["qas"]]


def test_read_counts_on_real_files():
  v1 = squad.read_squad_examples(DEV_V1, is_training=False, version_2_with_negative=False)
  assert len(v1) == 705 and not any(e.is_impossible for e in v1)
  v2 = squad.read_squad_examples(DEV_V2, is_training=False, version_2_with_negative=True)
  assert len(v2) == 1407 and sum(e.is_impossible for e in v2) == 702
  assert [e.qas_id for e in v2] == [qa["id"] for qa in _qas(DEV_V2)]
  # Training: every question is kept (none dropped), impossible ones get (-1, -1) and "".
  train_v1 = squad.read_squad_examples(TRAIN_V1, is_training=True, version_2_with_negative=False)
  assert len(train_v1) == len(_qas(TRAIN_V1)) == 302
  train_v2 = squad.read_squad_examples(TRAIN_V2, is_training=True, version_2_with_negative=True)
  assert len(train_v2) == 643 and sum(e.is_impossible for e in train_v2) == 341
  for e in train_v2:
    if e.is_impossible:
      assert (e.start_position, e.end_position, e.orig_answer_text) == (-1, -1, "")
  # Word-level answer positions hold the answer (dev v1 has the official offsets).
  dev_train = squad.read_squad_examples(DEV_V1, is_training=True, version_2_with_negative=False)
  assert len(dev_train) == 705
  for e, qa in zip(dev_train, _qas(DEV_V1)):
    assert e.orig_answer_text == qa["answers"][0]["text"]
    span = " ".join(e.doc_tokens[e.start_position:e.end_position + 1])
    assert " ".join(e.orig_answer_text.split()) in span


def test_first_occurrence_offsets_are_moved_to_whole_words():
  # In the rebuilt file "Timucua" has answer_start 127, its first occurrence, inside "Timucuan";
  # the whole word appears later and is used instead.
  examples = squad.read_squad_examples(TRAIN_V1, True, False)
  e = next(e for e in examples if e.qas_id == "57280e1aff5b5019007d9bee")
  assert e.doc_tokens[e.start_position:e.end_position + 1] == ["Timucua"]


def _write_json(tmp_path, obj, name="in.json"):
  path = str(tmp_path / name)
  with open(path, "w") as f:
    f.write(obj if isinstance(obj, str) else json.dumps(obj))
  return path


def _one_question(context, answers, qid="q-1", **extra):
  qa = dict({"id": qid, "question": "What?", "answers": answers}, **extra)
  return {"version": "2.0", "data": [{"title": "t", "paragraphs": [
      {"context": context, "qas": [qa]}]}]}


def test_hand_made_offsets(tmp_path):
  context = "A start of art. The art was loved."
  # "art" first occurs inside "start" (offset 4): moved to the whole word "art" (offset 11).
  path = _write_json(tmp_path, _one_question(context, [{"text": "art", "answer_start": 4}]))
  (e,) = squad.read_squad_examples(path, True, False)
  assert e.doc_tokens[e.start_position] == "art."
  # An offset that is off by a few characters is repaired to the nearest occurrence (offset 20).
  path = _write_json(tmp_path, _one_question(context, [{"text": "art was", "answer_start": 17}]))
  (e,) = squad.read_squad_examples(path, True, False)
  assert e.doc_tokens[e.start_position:e.end_position + 1] == ["art", "was"]


@pytest.mark.parametrize("content,message", [
    ("{not json", "not a valid SQuAD json"),
    ({"version": "1.1"}, "missing field 'data'"),
    (_one_question("Paris is nice.", [{"text": "Paris", "answer_start": 0}], qid=None),
     "field 'id' should be a str"),
    ({"data": [{"paragraphs": [{"context": "x", "qas": [{"id": "q-7", "answers": []}]}]}]},
     "question id q-7: missing field 'question'"),
    (_one_question("Paris is nice.", [{"text": "London", "answer_start": 0}], qid="q-9"),
     "question id q-9: answer text 'London' is not found"),
    (_one_question("Paris is nice.", [{"text": "Paris"}], qid="q-3"),
     "question id q-3: missing field 'answer_start'"),
    (_one_question("Paris is nice.", [], qid="q-5"), "question id q-5: a training question"),
])
def test_malformed_inputs_name_the_file_and_question(tmp_path, content, message):
  path = _write_json(tmp_path, content)
  with pytest.raises(ValueError, match=message) as err:
    squad.read_squad_examples(path, is_training=True, version_2_with_negative=False)
  assert path in str(err.value)


def test_malformed_v2_and_duplicates(tmp_path):
  bad = _one_question("Paris is nice.", [{"text": "Paris", "answer_start": 0}], qid="q-2",
                      is_impossible=True)
  with pytest.raises(ValueError, match="q-2: is_impossible is true"):
    squad.read_squad_examples(_write_json(tmp_path, bad), True, True)
  dup = _one_question("Paris is nice.", [{"text": "Paris", "answer_start": 0}])
  dup["data"][0]["paragraphs"].append(dup["data"][0]["paragraphs"][0])
  with pytest.raises(ValueError, match="q-1: duplicate question id"):
    squad.read_squad_examples(_write_json(tmp_path, dup), False, True)


def test_windows_cover_every_token(tokenizer):
  examples = squad.read_squad_examples(DEV_V2, False, True)[::7]
  features = _features(examples, tokenizer, is_training=False)
  by_example = collections.defaultdict(list)
  for f in features:
    by_example[f.example_index].append(f)
  assert sorted(by_example) == list(range(len(examples)))
  num_multi_window = 0
  for index, example in enumerate(examples):
    doc = [t for w in example.doc_tokens for t in tokenizer.tokenize(w)]
    windows = sorted(by_example[index], key=lambda f: f.doc_span_index)
    num_multi_window += len(windows) > 1
    query_len = len(tokenizer.tokenize(example.question_text)[:QUERY])
    max_doc = SEQ - query_len - 3
    max_context_count = [0] * len(doc)
    for j, f in enumerate(windows):
      assert len(f.input_ids) == len(f.input_mask) == len(f.segment_ids) == SEQ
      n = sum(f.input_mask)
      assert f.tokens[0] == "[CLS]" and f.tokens[query_len + 1] == "[SEP]" == f.tokens[n - 1]
      assert f.segment_ids[:n] == [0] * (query_len + 2) + [1] * (n - query_len - 2)
      assert f.input_ids[:n] == tokenizer.convert_tokens_to_ids(f.tokens)
      # Window j is doc[j * stride : j * stride + max_doc]; only the last window may be shorter.
      window = f.tokens[query_len + 2:n - 1]
      assert window == doc[j * STRIDE:j * STRIDE + max_doc]
      assert len(window) == max_doc or j == len(windows) - 1
      for k, position in enumerate(range(query_len + 2, n - 1)):
        max_context_count[j * STRIDE + k] += f.token_is_max_context[position]
    assert windows[-1].tokens[sum(windows[-1].input_mask) - 2] == doc[-1]
    assert max_context_count == [1] * len(doc)  # each token is max-context in exactly one window
  assert num_multi_window > len(examples) // 2


def test_max_context_window():
  # Google's example: "the man went to the store and bought a gallon of ..." in windows
  # A = [0, 5) "the man went to the", B = [3, 8) "to the store and bought",
  # C = [6, 11) "and bought a gallon of". Score = min(left, right) + 0.01 * length.
  spans = [squad._DocSpan(0, 5), squad._DocSpan(3, 5), squad._DocSpan(6, 5)]  # pylint: disable=protected-access
  def best(position):
    return [i for i in range(3) if squad._check_is_max_context(spans, i, position)]  # pylint: disable=protected-access
  assert best(7) == [2]   # "bought": B has 4 left / 0 right, C 1 left / 3 right
  assert best(4) == [1]   # "the": A 4 / 0, B 1 / 3
  assert best(6) == [1]   # "and": B 3 / 1 (score 1.05), C 0 / 4 (0.05)
  assert best(0) == [0] and best(10) == [2]


def _projected_answer(example, feature):
  tok_text = squad._detokenize(feature.tokens[feature.start_position:feature.end_position + 1])  # pylint: disable=protected-access
  start = feature.token_to_orig_map[feature.start_position]
  end = feature.token_to_orig_map[feature.end_position]
  orig_text = " ".join(example.doc_tokens[start:end + 1])
  return squad.get_final_text(tok_text, orig_text, do_lower_case=True)


@pytest.mark.parametrize("path,version_2", [(TRAIN_V1, False), (DEV_V1, False), (TRAIN_V2, True)])
def test_training_features_round_trip(tokenizer, path, version_2):
  examples = squad.read_squad_examples(path, True, version_2)
  features = _features(examples, tokenizer, is_training=True)
  inside = exact = outside = 0
  for f in features:
    example = examples[f.example_index]
    if f.start_position == 0:
      assert f.end_position == 0
      outside += not example.is_impossible
      continue
    assert not example.is_impossible
    assert 0 < f.start_position <= f.end_position < sum(f.input_mask) - 1
    assert f.segment_ids[f.start_position] == 1
    inside += 1
    exact += _projected_answer(example, f) == example.orig_answer_text
  rate = exact / inside
  print("%s: %d/%d in-window answers projected back exactly (%.2f%%), %d out-of-window features"
        % (os.path.basename(path), exact, inside, 100 * rate, outside))
  assert outside > 0  # the short windows do leave answers outside some windows
  assert rate >= 0.98, rate
  if version_2:
    impossible = [f for f in features if examples[f.example_index].is_impossible]
    assert impossible and all((f.start_position, f.end_position) == (0, 0) for f in impossible)


def test_improve_answer_span(tokenizer):
  # "(1895-1943)." is one whitespace word; the answer "1895" is tightened to its sub-token.
  doc = tokenizer.tokenize("born (1895-1943).")
  start, end = squad._improve_answer_span(doc, 1, len(doc) - 1, tokenizer, "1895")  # pylint: disable=protected-access
  assert doc[start:end + 1] == ["1895"]


@pytest.mark.parametrize("is_training", [True, False])
def test_feature_writer_round_trip(tmp_path, tokenizer, is_training):
  examples = squad.read_squad_examples(TRAIN_V2, is_training, True)[:40]
  features = _features(examples, tokenizer, is_training)
  path = str(tmp_path / "features.tf_record")
  writer = squad.FeatureWriter(path, is_training)
  for f in features:
    writer.process_feature(f)
  writer.close()
  assert writer.num_features == len(features) and not os.path.exists(path + ".tmp")
  spec = squad.name_to_features(SEQ, is_training)
  dataset = tf.data.TFRecordDataset(path).map(lambda r: training.decode_record(r, spec))
  records = list(dataset.as_numpy_iterator())
  assert len(records) == len(features)
  for record, f in zip(records, features):
    assert set(record) == set(spec)
    assert record["unique_ids"] == f.unique_id and record["input_ids"].dtype == np.int32
    for name in ("input_ids", "input_mask", "segment_ids"):
      assert record[name].tolist() == getattr(f, name)
    if is_training:
      assert (record["start_positions"], record["end_positions"]) == (f.start_position,
                                                                      f.end_position)


def _gold_logits(features, examples, null_logit=None):
  """Logits that put the maximum on each example's gold span, in a window where it is max-context.

  With null_logit (SQuAD 2.0): impossible questions get [CLS] logits null_logit in every window
  and 0.5 on the first document token (best non-null score 1.0); answerable ones get 5 + 5 on the
  gold span and [CLS] logits 1 + window index, so that their null score (the minimum) is 2.
  """
  results, answered = [], set()
  for f in features:
    start, end = np.zeros(SEQ), np.zeros(SEQ)
    example = examples[f.example_index]
    if example.is_impossible:
      start[0] = end[0] = null_logit
      first = min(f.token_to_orig_map)
      start[first] = end[first] = 0.5
      answered.add(f.example_index)
    else:
      if null_logit is not None:
        start[0] = end[0] = 1 + f.doc_span_index
      if f.start_position > 0 and f.token_is_max_context[f.start_position]:
        start[f.start_position] = end[f.end_position] = 5
        answered.add(f.example_index)
    results.append(squad.RawResult(f.unique_id, start.tolist(), end.tolist()))
  assert answered == set(range(len(examples)))
  return results


def _write_predictions(tmp_path, examples, features, results, version_2, threshold=0.0):
  names = [str(tmp_path / n) for n in ("predictions.json", "nbest.json", "null_odds.json")]
  preds = squad.write_predictions(examples, features, results, 20, 30, True, *names,
                                  version_2_with_negative=version_2,
                                  null_score_diff_threshold=threshold)
  return preds, [_load(n) if os.path.exists(n) else None for n in names]


def test_write_predictions_gold_logits_give_em_100_v1(tmp_path, tokenizer):
  examples = squad.read_squad_examples(DEV_V1, True, False)
  features = _features(examples, tokenizer, is_training=True)
  results = _gold_logits(features, examples)
  preds, (pred_file, nbest, null_odds) = _write_predictions(tmp_path, examples, features,
                                                            results, version_2=False)
  assert pred_file == preds and null_odds is None and len(preds) == 705
  out = evaluate_squad_v1.evaluate(_load(DEV_V1)["data"], preds)
  assert out == {"exact_match": 100.0, "f1": 100.0}
  for qid, entries in nbest.items():
    assert entries[0]["text"] == preds[qid] and entries[0]["start_logit"] == 5.0
    assert sum(e["probability"] for e in entries) == pytest.approx(1.0)
    assert len(entries) <= 20 and len({e["text"] for e in entries}) == len(entries)


def test_write_predictions_null_threshold_v2(tmp_path, tokenizer):
  examples = squad.read_squad_examples(DEV_V2, True, True)
  features = _features(examples, tokenizer, is_training=True)
  results = _gold_logits(features, examples, null_logit=5.0)
  dataset = _load(DEV_V2)["data"]
  impossible = {e.qas_id for e in examples if e.is_impossible}

  preds, (_, nbest, null_odds) = _write_predictions(tmp_path, examples, features, results, True)
  # score_null - best non-null: answerable 2 - 10 = -8 (the minimum [CLS] score over windows),
  # impossible 10 - 1 = 9.
  assert null_odds == {e.qas_id: 9.0 if e.is_impossible else -8.0 for e in examples}
  assert all(any(x["text"] == "" for x in nbest[q]) for q in nbest)
  out = evaluate_squad_v2.evaluate_v2(dataset, preds, na_probs=null_odds)
  assert (out["exact"], out["f1"], out["HasAns_total"], out["NoAns_total"]) == (100, 100, 705, 702)
  assert (out["best_exact"], out["best_exact_thresh"]) == (100.0, -8.0)

  # "" only when the difference is strictly above the threshold.
  preds, _ = _write_predictions(tmp_path, examples, features, results, True, threshold=9.0)
  assert all(preds[q] for q in impossible)
  out = evaluate_squad_v2.evaluate_v2(dataset, preds)
  # Unanswerable questions now get the first document token (counted right only when it
  # normalises to "", like "The").
  assert out["HasAns_exact"] == 100.0 and out["NoAns_exact"] < 50.0
  preds, _ = _write_predictions(tmp_path, examples, features, results, True, threshold=-8.5)
  assert set(preds.values()) == {""}
  preds, _ = _write_predictions(tmp_path, examples, features, results, True, threshold=-8.0)
  assert all(preds[e.qas_id] for e in examples if not e.is_impossible)


def test_get_final_text():
  # Lower-cased, punctuation-split prediction mapped back onto the original characters.
  assert squad.get_final_text("steve smith", "Steve Smith's", True) == "Steve Smith"
  assert squad.get_final_text("1895", "(1895-1943).", True) == "1895"
  assert squad.get_final_text("cafe", "Café!", True) == "Café"
  # Not found: the original text is returned whole.
  assert squad.get_final_text("paris", "London.", True) == "London."
