"""modeling.py: config validation, Google's variable layout, activations, float16 compute."""
import json
import math

import numpy as np
import pytest
import tensorflow as tf

import modeling

tf1 = tf.compat.v1


def _base_config():
  return modeling.BertConfig(vocab_size=30522, hidden_size=768, num_hidden_layers=12,
                             num_attention_heads=12, intermediate_size=3072, hidden_act="gelu",
                             max_position_embeddings=512, type_vocab_size=2)


def _google_bert_base_variables():
  """The 199 variables of Google's released BERT-base (uncased_L-12_H-768_A-12) `bert/` scope."""
  names = {
      "bert/embeddings/word_embeddings": (30522, 768),
      "bert/embeddings/token_type_embeddings": (2, 768),
      "bert/embeddings/position_embeddings": (512, 768),
      "bert/embeddings/LayerNorm/beta": (768,),
      "bert/embeddings/LayerNorm/gamma": (768,),
      "bert/pooler/dense/kernel": (768, 768),
      "bert/pooler/dense/bias": (768,),
  }
  for i in range(12):
    p = "bert/encoder/layer_%d/" % i
    for proj in ("query", "key", "value"):
      names[p + "attention/self/%s/kernel" % proj] = (768, 768)
      names[p + "attention/self/%s/bias" % proj] = (768,)
    names[p + "attention/output/dense/kernel"] = (768, 768)
    names[p + "attention/output/dense/bias"] = (768,)
    names[p + "attention/output/LayerNorm/beta"] = (768,)
    names[p + "attention/output/LayerNorm/gamma"] = (768,)
    names[p + "intermediate/dense/kernel"] = (768, 3072)
    names[p + "intermediate/dense/bias"] = (3072,)
    names[p + "output/dense/kernel"] = (3072, 768)
    names[p + "output/dense/bias"] = (768,)
    names[p + "output/LayerNorm/beta"] = (768,)
    names[p + "output/LayerNorm/gamma"] = (768,)
  return names


def test_bert_base_builds_googles_199_variables():
  with tf.Graph().as_default():
    ids = tf1.placeholder(tf.int32, [2, 16])
    modeling.BertModel(_base_config(), is_training=True, input_ids=ids)
    got = {v.op.name: tuple(v.shape.as_list()) for v in tf1.global_variables()}
    assert all(v.dtype.base_dtype == tf.float32 for v in tf1.global_variables())
  expected = _google_bert_base_variables()
  assert len(expected) == 199
  assert got == expected


def test_pretraining_heads_have_googles_names_and_tie_embeddings():
  config = modeling.BertConfig(vocab_size=99, hidden_size=32, num_hidden_layers=1,
                               num_attention_heads=4, intermediate_size=37)
  with tf.Graph().as_default():
    ids = tf.constant([[5, 6, 7, 0]])
    model = modeling.BertModel(config, True, ids)
    before = set(v.op.name for v in tf1.global_variables())
    modeling.get_masked_lm_output(config, model.get_sequence_output(), model.get_embedding_table(),
                                  tf.constant([[1, 2]]), tf.constant([[6, 7]]), tf.constant([[1.0, 0.0]]))
    modeling.get_next_sentence_output(config, model.get_pooled_output(), tf.constant([1]))
    heads = {v.op.name: tuple(v.shape.as_list()) for v in tf1.global_variables()
             if v.op.name not in before}
  assert heads == {
      "cls/predictions/transform/dense/kernel": (32, 32),
      "cls/predictions/transform/dense/bias": (32,),
      "cls/predictions/transform/LayerNorm/beta": (32,),
      "cls/predictions/transform/LayerNorm/gamma": (32,),
      "cls/predictions/output_bias": (99,),   # no output kernel: tied to bert/embeddings/word_embeddings
      "cls/seq_relationship/output_weights": (2, 32),
      "cls/seq_relationship/output_bias": (2,),
  }


def test_output_shapes_and_getters():
  config = modeling.BertConfig(vocab_size=50, hidden_size=24, num_hidden_layers=3,
                               num_attention_heads=2, intermediate_size=40, type_vocab_size=2)
  with tf.Graph().as_default():
    ids = tf.constant([[1, 2, 3, 4, 0], [5, 6, 7, 0, 0]])
    mask = tf.constant([[1, 1, 1, 1, 0], [1, 1, 1, 0, 0]])
    model = modeling.BertModel(config, False, ids, mask, tf.zeros_like(ids))
    assert model.get_sequence_output().shape.as_list() == [2, 5, 24]
    assert model.get_pooled_output().shape.as_list() == [2, 24]
    assert len(model.get_all_encoder_layers()) == 3
    assert model.get_embedding_output().shape.as_list() == [2, 5, 24]
    assert model.get_embedding_table().shape.as_list() == [50, 24]
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      seq, layers = sess.run([model.get_sequence_output(), model.get_all_encoder_layers()])
  np.testing.assert_array_equal(seq, layers[-1])
  assert np.isfinite(seq).all()


def test_padding_does_not_change_real_positions():
  """Padded positions are masked out of attention: real tokens' outputs ignore them."""
  config = modeling.BertConfig(vocab_size=50, hidden_size=24, num_hidden_layers=2,
                               num_attention_heads=2, intermediate_size=40)
  with tf.Graph().as_default():
    short = modeling.BertModel(config, False, tf.constant([[3, 4, 5]]), scope="bert")
    with tf1.variable_scope(tf1.get_variable_scope(), reuse=True):
      long_ = modeling.BertModel(config, False, tf.constant([[3, 4, 5, 9, 9]]),
                                 tf.constant([[1, 1, 1, 0, 0]]), scope="bert")
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      a, b = sess.run([short.get_sequence_output(), long_.get_sequence_output()])
  np.testing.assert_allclose(a[0], b[0, :3], atol=1e-5)


def test_activations_match_their_formulas():
  xs = np.linspace(-6, 6, 97).astype(np.float32)
  exact = np.array([0.5 * x * (1 + math.erf(x / math.sqrt(2))) for x in xs])
  approx = np.array([0.5 * x * (1 + math.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
                     for x in xs])
  with tf.Graph().as_default(), tf1.Session() as sess:
    t = tf.constant(xs)
    got = sess.run({name: modeling.get_activation(name)(t) for name in ("gelu", "gelu_tanh", "relu")})
  np.testing.assert_allclose(got["gelu"], exact, atol=1e-6)
  np.testing.assert_allclose(got["gelu_tanh"], approx, atol=1e-6)
  np.testing.assert_allclose(got["relu"], np.maximum(xs, 0))
  assert np.abs(exact - approx).max() > 1e-4   # the two GELUs really differ
  assert modeling.get_activation("linear") is None
  with pytest.raises(ValueError, match="Unsupported activation: swishy"):
    modeling.get_activation("swishy")


def test_config_round_trip_and_errors(tmp_path):
  config = _base_config()
  again = modeling.BertConfig.from_dict(json.loads(config.to_json_string()))
  assert again.to_dict() == config.to_dict()
  path = tmp_path / "bert_config.json"
  path.write_text(config.to_json_string())
  assert modeling.BertConfig.from_json_file(str(path)).to_dict() == config.to_dict()

  good = config.to_dict()
  with pytest.raises(ValueError, match="unknown key.*hidden_sise"):
    modeling.BertConfig.from_dict(dict(good, hidden_sise=3))
  bad = dict(good)
  del bad["type_vocab_size"]
  with pytest.raises(ValueError, match="missing key.*type_vocab_size"):
    modeling.BertConfig.from_dict(bad)
  with pytest.raises(ValueError, match="'hidden_size' must be int"):
    modeling.BertConfig.from_dict(dict(good, hidden_size="768"))
  with pytest.raises(ValueError, match="'hidden_dropout_prob' must be float"):
    modeling.BertConfig.from_dict(dict(good, hidden_dropout_prob=None))
  with pytest.raises(ValueError, match="not a multiple of num_attention_heads"):
    modeling.BertConfig.from_dict(dict(good, num_attention_heads=7))
  with pytest.raises(ValueError, match="unsupported hidden_act"):
    modeling.BertConfig.from_dict(dict(good, hidden_act="swish2"))
  # Errors from a file name the file.
  path.write_text(json.dumps(dict(good, vocab_size=-1)))
  with pytest.raises(ValueError, match="bert_config.json.*'vocab_size' must be positive"):
    modeling.BertConfig.from_json_file(str(path))
  path.write_text("{not json")
  with pytest.raises(ValueError, match="bert_config.json is not valid JSON"):
    modeling.BertConfig.from_json_file(str(path))
  with pytest.raises(ValueError, match="nope.json does not exist"):
    modeling.BertConfig.from_json_file(str(tmp_path / "nope.json"))


def test_sequence_longer_than_position_table_is_refused():
  config = modeling.BertConfig(vocab_size=50, hidden_size=8, num_hidden_layers=1,
                               num_attention_heads=2, intermediate_size=8, max_position_embeddings=4)
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match="sequence length 5 exceeds max_position_embeddings 4"):
      modeling.BertModel(config, False, tf.zeros([1, 5], tf.int32))


def test_seeded_dropout_is_a_function_of_the_seed_and_the_layer():
  """With a dropout seed, BertModel's masks depend on the seed only (a resumed run makes a step's masks again):
  two runs with one seed agree, another seed differs; without one, TF's stateful dropout changes every run."""
  config = modeling.BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                               intermediate_size=32)
  ids = np.random.default_rng(0).integers(1, 50, size=(2, 8)).astype(np.int32)
  with tf.Graph().as_default():
    tf1.set_random_seed(1)
    seed = tf1.placeholder(tf.int64, [2])
    seeded = modeling.BertModel(config, True, tf.constant(ids), dropout_seed=seed).get_sequence_output()
    stateful = modeling.BertModel(config, True, tf.constant(ids)).get_sequence_output()
    with tf1.Session() as sess:
      sess.run(tf1.global_variables_initializer())
      first, stateful_1 = sess.run([seeded, stateful], {seed: [3, 7]})
      again, stateful_2 = sess.run([seeded, stateful], {seed: [3, 7]})
      other = sess.run(seeded, {seed: [3, 8]})
  np.testing.assert_array_equal(first, again)
  assert not np.array_equal(first, other)
  assert not np.array_equal(stateful_1, stateful_2)


def test_seeded_dropout_layers_draw_independent_masks():
  """Layers sharing one seed get masks of their own (the seed is folded with the layer's name scope)."""
  with tf.Graph().as_default():
    x = tf.ones([64, 64])
    seed = tf.constant([5, 9], tf.int64)
    a, b = modeling.dropout(x, 0.5, seed), modeling.dropout(x, 0.5, seed)
    with tf1.Session() as sess:
      a, b = sess.run([a, b])
  kept_a, kept_b = a > 0, b > 0
  # Independent masks at p = 0.5 agree on Binomial(4096, 0.5) positions: 2048 +- 32 (std), so the bounds are
  # about 7 std away; one mask used twice would agree on all 4096.
  assert 1800 < np.sum(kept_a == kept_b) < 2300
  np.testing.assert_array_equal(a[kept_a], 2.0)   # kept values are scaled by 1 / (1 - p)


def test_seeded_dropout_drops_its_rate_at_any_size_and_type():
  """The 16-bit masks drop `rate` of the elements (0.1 rounds to 6554 / 65536 = 0.1000061) for an odd element
  count (one 32-bit word is split in half) and for bfloat16, scaling the kept ones by 1 / (1 - rate)."""
  outputs = []
  for dtype in (tf.float32, tf.bfloat16):
    with tf.Graph().as_default():   # one graph each: the same name scope, so the same mask
      out = modeling.dropout(tf.ones([999, 1001], dtype), 0.1, tf.constant([5, 9], tf.int64))
      with tf1.Session() as sess:
        outputs.append(sess.run(tf.cast(out, tf.float32)))
  out32, out16 = outputs
  assert out32.shape == (999, 1001)
  # 999,999 Bernoulli(0.9) draws: the kept share has std sqrt(0.9 * 0.1 / 999999) = 0.0003; 0.0015 is 5 std.
  kept = out32 > 0
  assert abs(kept.mean() - 0.9) < 0.0015
  np.testing.assert_allclose(out32[kept], 1 / 0.9, rtol=1e-6)
  # One seed and scope name draw one mask whatever the type; bfloat16 rounds 1 / 0.9 to 8 bits (error < 2^-8).
  np.testing.assert_array_equal(out16 > 0, kept)
  np.testing.assert_allclose(out16[kept], 1 / 0.9, rtol=2 ** -8)
