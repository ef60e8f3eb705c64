"""The BERT model, in TensorFlow 1 graph style (tf.compat.v1), with Google's API and checkpoint layout.

Variable names match Google's released checkpoints (`bert/embeddings/word_embeddings`,
`bert/encoder/layer_0/attention/self/query/kernel`, `bert/pooler/dense/kernel`, `cls/predictions/...`), with
dense kernels stored [in, out], so Google's and NVIDIA's checkpoints load by name and ours load in theirs.
Layers are built from `tf.compat.v1.get_variable` and `tf.nn` (the `tf.compat.v1.layers` API does not work
under Keras 3).

Dimension legend used in the shape comments:
  B = batch size
  S = sequence length (F = "from" length, T = "to" length in attention; F = T = S in self-attention)
  D = hidden size
  N = number of attention heads
  H = size of each attention head (D = N * H)
  I = intermediate (feed-forward) size
  V = vocabulary size
  P = number of masked positions per sequence
"""

import copy
import collections
import json
import math
import re
import zlib

import tensorflow as tf

tf1 = tf.compat.v1

LAYER_NORM_EPSILON = 1e-12


class BertConfig(object):
  """Configuration for `BertModel`, with the keys of Google's `bert_config.json`."""

  # key -> (type, default). Every key is required in a config file; defaults serve the constructor.
  FIELDS = collections.OrderedDict([
      ("vocab_size", (int, None)),
      ("hidden_size", (int, 768)),
      ("num_hidden_layers", (int, 12)),
      ("num_attention_heads", (int, 12)),
      ("intermediate_size", (int, 3072)),
      ("hidden_act", (str, "gelu")),
      ("hidden_dropout_prob", (float, 0.1)),
      ("attention_probs_dropout_prob", (float, 0.1)),
      ("max_position_embeddings", (int, 512)),
      ("type_vocab_size", (int, 16)),
      ("initializer_range", (float, 0.02)),
  ])

  def __init__(self, vocab_size, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
               intermediate_size=3072, hidden_act="gelu", hidden_dropout_prob=0.1,
               attention_probs_dropout_prob=0.1, max_position_embeddings=512, type_vocab_size=16,
               initializer_range=0.02):
    """Constructs BertConfig.

    Args:
      vocab_size: Vocabulary size of `input_ids`.
      hidden_size: Size of the encoder layers and the pooler layer (D).
      num_hidden_layers: Number of Transformer layers.
      num_attention_heads: Number of attention heads per layer (N); must divide `hidden_size`.
      intermediate_size: Size of the feed-forward layer (I).
      hidden_act: Non-linearity of the feed-forward layer: "gelu" (exact, erf), "gelu_tanh" (the tanh
        approximation Google's code used), "relu", "tanh" or "linear".
      hidden_dropout_prob: Dropout probability of the embeddings, encoder and pooler outputs.
      attention_probs_dropout_prob: Dropout probability of the attention probabilities.
      max_position_embeddings: Longest sequence the position embeddings cover.
      type_vocab_size: Vocabulary size of `token_type_ids`.
      initializer_range: Stddev of the truncated normal initializer of all weights.
    """
    self.vocab_size = vocab_size
    self.hidden_size = hidden_size
    self.num_hidden_layers = num_hidden_layers
    self.num_attention_heads = num_attention_heads
    self.intermediate_size = intermediate_size
    self.hidden_act = hidden_act
    self.hidden_dropout_prob = hidden_dropout_prob
    self.attention_probs_dropout_prob = attention_probs_dropout_prob
    self.max_position_embeddings = max_position_embeddings
    self.type_vocab_size = type_vocab_size
    self.initializer_range = initializer_range
    self.validate()

  def validate(self, source="BertConfig"):
    """Raises ValueError, naming `source`, when a field has the wrong type or an impossible value."""
    for key, (kind, _) in self.FIELDS.items():
      value = getattr(self, key)
      ok = (isinstance(value, kind) and not isinstance(value, bool)) or (
          kind is float and isinstance(value, int) and not isinstance(value, bool))
      if not ok:
        raise ValueError("%s: '%s' must be %s, got %r" % (source, key, kind.__name__, value))
    for key in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                "intermediate_size", "max_position_embeddings", "type_vocab_size"):
      if getattr(self, key) <= 0:
        raise ValueError("%s: '%s' must be positive, got %r" % (source, key, getattr(self, key)))
    if self.hidden_size % self.num_attention_heads:
      raise ValueError("%s: hidden_size %d is not a multiple of num_attention_heads %d" %
                       (source, self.hidden_size, self.num_attention_heads))
    if self.hidden_act.lower() not in _ACTIVATIONS:
      raise ValueError("%s: unsupported hidden_act %r (expected one of %s)" %
                       (source, self.hidden_act, ", ".join(sorted(_ACTIVATIONS))))

  @classmethod
  def from_dict(cls, json_object, source="BertConfig"):
    """Constructs a `BertConfig` from a dict with exactly the keys of `FIELDS`.

    Raises:
      ValueError: naming `source`, on an unknown or missing key or a value of the wrong type.
    """
    if not isinstance(json_object, dict):
      raise ValueError("%s: expected a JSON object, got %s" % (source, type(json_object).__name__))
    unknown = sorted(set(json_object) - set(cls.FIELDS))
    missing = [k for k in cls.FIELDS if k not in json_object]
    if unknown:
      raise ValueError("%s: unknown key(s) %s (a BERT config has %s)" %
                       (source, ", ".join(unknown), ", ".join(cls.FIELDS)))
    if missing:
      raise ValueError("%s: missing key(s) %s" % (source, ", ".join(missing)))
    config = cls.__new__(cls)
    for key, value in json_object.items():
      setattr(config, key, float(value) if cls.FIELDS[key][0] is float and isinstance(
          value, int) and not isinstance(value, bool) else value)
    config.validate(source)
    return config

  @classmethod
  def from_json_file(cls, json_file):
    """Constructs a `BertConfig` from a JSON file; errors name the file."""
    try:
      with tf.io.gfile.GFile(json_file, "r") as reader:
        text = reader.read()
    except tf.errors.NotFoundError:
      raise ValueError("bert_config_file %s does not exist" % json_file) from None
    try:
      data = json.loads(text)
    except json.JSONDecodeError as e:
      raise ValueError("bert_config_file %s is not valid JSON: %s" % (json_file, e)) from None
    return cls.from_dict(data, source=json_file)

  def to_dict(self):
    """Serializes this instance to a Python dictionary (the keys of `FIELDS`, in order)."""
    return collections.OrderedDict((k, copy.deepcopy(getattr(self, k))) for k in self.FIELDS)

  def to_json_string(self):
    """Serializes this instance to a JSON string."""
    return json.dumps(self.to_dict(), indent=2) + "\n"


class BertModel(object):
  """BERT: Bidirectional Encoder Representations from Transformers.

  Example usage:

  ```python
  input_ids = tf.constant([[31, 51, 99], [15, 5, 0]])         # [B, S]
  input_mask = tf.constant([[1, 1, 1], [1, 1, 0]])
  token_type_ids = tf.constant([[0, 0, 1], [0, 2, 0]])
  config = modeling.BertConfig(vocab_size=32000, hidden_size=512, num_hidden_layers=8,
                               num_attention_heads=8, intermediate_size=1024)
  model = modeling.BertModel(config=config, is_training=True, input_ids=input_ids,
                             input_mask=input_mask, token_type_ids=token_type_ids)
  pooled_output = model.get_pooled_output()                    # [B, D]
  ```
  """

  def __init__(self, config, is_training, input_ids, input_mask=None, token_type_ids=None,
               use_one_hot_embeddings=False, scope=None, compute_type=tf.float32, dropout_seed=None):
    """Constructs BertModel.

    Args:
      config: `BertConfig` instance.
      is_training: bool. True enables dropout; False disables it.
      input_ids: int32 Tensor of shape [B, S].
      input_mask: (optional) int32 Tensor of shape [B, S]; 1 for real tokens, 0 for padding.
      token_type_ids: (optional) int32 Tensor of shape [B, S].
      use_one_hot_embeddings: (optional) bool. Look up word embeddings by one-hot matmul instead of
        gather (faster on TPUs, slower on CPUs and GPUs).
      scope: (optional) variable scope. Defaults to "bert".
      compute_type: tf.float32, tf.float16 or tf.bfloat16. Variables are always float32; with float16 or
        bfloat16 the embeddings are computed in float32 and cast, the encoder's and pooler's variables are cast
        on read and they compute in that type, keeping layer norms, the attention softmax and its dropout in
        float32.
      dropout_seed: (optional) int32/int64 Tensor of shape [2]. None: TensorFlow's stateful dropout (its
        masks follow the graph-level seed and the number of runs so far). A seed: stateless dropout, every
        mask a function of this seed and the layer (see `dropout`), so a training loop that derives the seed
        from its position can make a step's masks again after a restart.

    Raises:
      ValueError: if the config is invalid or an input tensor has an invalid shape.
    """
    config = copy.deepcopy(config)
    if not is_training:
      config.hidden_dropout_prob = 0.0
      config.attention_probs_dropout_prob = 0.0

    input_shape = get_shape_list(input_ids, expected_rank=2)
    batch_size, seq_length = input_shape[0], input_shape[1]
    if isinstance(seq_length, int) and seq_length > config.max_position_embeddings:
      raise ValueError("sequence length %d exceeds max_position_embeddings %d" %
                       (seq_length, config.max_position_embeddings))
    if input_mask is None:
      input_mask = tf.ones(shape=[batch_size, seq_length], dtype=tf.int32)
    if token_type_ids is None:
      token_type_ids = tf.zeros(shape=[batch_size, seq_length], dtype=tf.int32)

    cast_on_read = _float32_variable_getter(compute_type)
    with tf1.variable_scope(scope, default_name="bert"):
      # The embeddings are gathered, summed and normalised in float32 (gathering from a cast table would cast
      # all of it on every run), then cast to the compute type.
      with tf1.variable_scope("embeddings"):
        # [B, S, D]
        (embedded, self.embedding_table) = embedding_lookup(
            input_ids=input_ids,
            vocab_size=config.vocab_size,
            embedding_size=config.hidden_size,
            initializer_range=config.initializer_range,
            word_embedding_name="word_embeddings",
            use_one_hot_embeddings=use_one_hot_embeddings)
        # [B, S, D]
        self.embedding_output = embedding_postprocessor(
            input_tensor=embedded,
            token_type_ids=token_type_ids,
            token_type_vocab_size=config.type_vocab_size,
            max_position_embeddings=config.max_position_embeddings,
            initializer_range=config.initializer_range,
            dropout_prob=config.hidden_dropout_prob,
            dropout_seed=dropout_seed)
        self.embedding_output = tf.cast(self.embedding_output, compute_type)

      with tf1.variable_scope("encoder", custom_getter=cast_on_read):
        # [B, F, T]
        attention_mask = create_attention_mask_from_input_mask(input_ids, input_mask)
        # list of [B, S, D], one per layer
        self.all_encoder_layers = transformer_model(
            input_tensor=self.embedding_output,
            attention_mask=attention_mask,
            hidden_size=config.hidden_size,
            num_hidden_layers=config.num_hidden_layers,
            num_attention_heads=config.num_attention_heads,
            intermediate_size=config.intermediate_size,
            intermediate_act_fn=get_activation(config.hidden_act),
            hidden_dropout_prob=config.hidden_dropout_prob,
            attention_probs_dropout_prob=config.attention_probs_dropout_prob,
            initializer_range=config.initializer_range,
            do_return_all_layers=True,
            dropout_seed=dropout_seed)
      # [B, S, D]
      self.sequence_output = self.all_encoder_layers[-1]

      with tf1.variable_scope("pooler", custom_getter=cast_on_read):
        # [B, D]: the hidden state of the first token ([CLS]) through a dense tanh layer.
        first_token_tensor = self.sequence_output[:, 0, :]
        self.pooled_output = dense_layer(first_token_tensor, config.hidden_size, "dense",
                                         create_initializer(config.initializer_range),
                                         activation=tf.tanh)

  def get_pooled_output(self):
    """Returns the pooled output, a float Tensor of shape [B, D]."""
    return self.pooled_output

  def get_sequence_output(self):
    """Returns the final encoder layer, a float Tensor of shape [B, S, D]."""
    return self.sequence_output

  def get_all_encoder_layers(self):
    """Returns the output of every encoder layer, a list of float Tensors of shape [B, S, D]."""
    return self.all_encoder_layers

  def get_embedding_output(self):
    """Returns the embeddings (word + position + token type, normalised), shape [B, S, D]."""
    return self.embedding_output

  def get_embedding_table(self):
    """Returns the word embedding table, a float32 variable of shape [V, D]."""
    return self.embedding_table


def _float32_variable_getter(compute_type):
  """A variable_scope custom getter: variables stay float32, reads are cast to `compute_type`."""

  def custom_getter(getter, name, *args, **kwargs):
    if kwargs.get("dtype") in (tf.float16, tf.bfloat16):
      kwargs["dtype"] = tf.float32
    variable = getter(name, *args, **kwargs)
    if compute_type != tf.float32 and variable.dtype.base_dtype == tf.float32:
      return tf.cast(variable, compute_type)
    return variable

  return custom_getter


def gelu(x):
  """Gaussian Error Linear Unit, exact: x * Phi(x) with the Gaussian CDF through erf."""
  return 0.5 * x * (1.0 + tf.math.erf(x / tf.cast(math.sqrt(2.0), x.dtype)))


def gelu_tanh(x):
  """GELU with the tanh approximation (https://arxiv.org/abs/1606.08415), as Google's BERT code used."""
  inner = math.sqrt(2.0 / math.pi) * (x + 0.044715 * tf.pow(x, 3))
  return 0.5 * x * (1.0 + tf.tanh(inner))


_ACTIVATIONS = {"linear": None, "relu": tf.nn.relu, "gelu": gelu, "gelu_tanh": gelu_tanh,
                "tanh": tf.tanh}


def get_activation(activation_string):
  """Maps an activation name ("gelu", "gelu_tanh", "relu", "tanh", "linear") to a function.

  Returns:
    A Python function, or None for "linear" or an empty name.

  Raises:
    ValueError: if the name is unknown.
  """
  if not isinstance(activation_string, str):
    return activation_string
  if not activation_string:
    return None
  key = activation_string.lower()
  if key not in _ACTIVATIONS:
    raise ValueError("Unsupported activation: %s" % activation_string)
  return _ACTIVATIONS[key]


def get_assignment_map_from_checkpoint(tvars, init_checkpoint):
  """Maps the checkpoint's variables onto the graph's by name.

  Args:
    tvars: list of graph variables.
    init_checkpoint: checkpoint path prefix.

  Returns:
    (assignment_map, initialized_variable_names): an OrderedDict {checkpoint name: graph name} for
    every graph variable whose name is in the checkpoint, and a dict of those names (both with and
    without the ":0" suffix), as Google's function returns them.
  """
  name_to_variable = collections.OrderedDict()
  for var in tvars:
    name = var.name
    m = re.match("^(.*):\\d+$", name)
    if m is not None:
      name = m.group(1)
    name_to_variable[name] = var

  assignment_map = collections.OrderedDict()
  initialized_variable_names = {}
  for name, _ in tf.train.list_variables(init_checkpoint):
    if name not in name_to_variable:
      continue
    assignment_map[name] = name
    initialized_variable_names[name] = 1
    initialized_variable_names[name + ":0"] = 1
  return assignment_map, initialized_variable_names


def dropout(input_tensor, dropout_prob, seed=None):
  """Dropout with drop probability `dropout_prob` (no-op when it is None or 0).

  Args:
    input_tensor: float Tensor.
    dropout_prob: drop probability.
    seed: (optional) int32/int64 Tensor of shape [2]. None: `tf.nn.dropout` (stateful, from the graph-level
      seed). Otherwise stateless dropout whose mask is a function of `seed` and of this op's name scope
      (e.g. "bert/encoder/layer_3/output/dropout/"), so layers sharing one seed get independent masks.

  Returns:
    Tensor shaped like `input_tensor`.
  """
  if dropout_prob is None or dropout_prob == 0.0:
    return input_tensor
  if seed is None:
    return tf.nn.dropout(input_tensor, rate=dropout_prob)
  with tf1.name_scope(None, "dropout") as scope:
    # The scope is unique in the graph and the same in every process building the same graph.
    return stateless_dropout(input_tensor, dropout_prob, scope_seed(seed, scope))


def scope_seed(seed, scope):
  """The seed of `dropout`'s mask at name scope `scope` (e.g. "bert/encoder/layer_3/output/dropout/") for the
  int32/int64 [2] `seed`: different scopes, independent masks."""
  return tf.random.experimental.stateless_fold_in(seed, zlib.crc32(scope.encode()) & 0x7FFFFFFF)


def stateless_dropout(input_tensor, dropout_prob, seed):
  """Stateless dropout from 16 random bits per element, the mask a function of `seed` and of the element's
  position in `input_tensor` read row-major (its number of elements, not its shape, matters).

  Philox makes 32-bit words; each gives two elements their bits, half the random-number work of
  `tf.nn.experimental.stateless_dropout` (on 2 cores: 5.6 against 10.0 ms for a [16, 12, 128, 128] attention
  mask). The drop probability is thus a multiple of 2^-16 (0.1 is 6554 / 65536 = 0.1000061).
  """
  shape = get_shape_list(input_tensor)
  size = tf.reduce_prod(shape)
  words = tf.random.stateless_uniform([(size + 1) // 2], seed, minval=None, maxval=None, dtype=tf.int32)
  bits = tf.reshape(tf.bitcast(words, tf.int16), [-1])[:size]            # [size], uniform over int16
  threshold = int(round(dropout_prob * 65536)) - 32768                     # P(bits < threshold) = drop prob
  keep = tf.reshape(bits >= threshold, shape)
  scale = tf.cast(1.0 / (1.0 - dropout_prob), input_tensor.dtype)
  return input_tensor * scale * tf.cast(keep, input_tensor.dtype)


def layer_norm(input_tensor, name=None):
  """Layer normalization over the last axis, variables `<name>/gamma` and `<name>/beta`.

  Statistics are computed in float32 whatever the input type, so float16 and bfloat16 inputs are safe.
  """
  with tf1.variable_scope(name, default_name="LayerNorm"):
    width = get_shape_list(input_tensor)[-1]
    beta = tf1.get_variable("beta", [width], initializer=tf1.zeros_initializer())
    gamma = tf1.get_variable("gamma", [width], initializer=tf1.ones_initializer())
    x = tf.cast(input_tensor, tf.float32)
    mean, variance = tf.nn.moments(x, axes=[-1], keepdims=True)
    normed = (x - mean) * tf.math.rsqrt(variance + LAYER_NORM_EPSILON)
    out = normed * tf.cast(gamma, tf.float32) + tf.cast(beta, tf.float32)
    return tf.cast(out, input_tensor.dtype)


def layer_norm_and_dropout(input_tensor, dropout_prob, name=None, seed=None):
  """Runs layer normalization followed by dropout (`seed` as in `dropout`)."""
  return dropout(layer_norm(input_tensor, name), dropout_prob, seed)


def create_initializer(initializer_range=0.02):
  """Creates a `truncated_normal_initializer` with the given range."""
  return tf1.truncated_normal_initializer(stddev=initializer_range)


def dense_variables(input_width, units, name, kernel_initializer, dtype=tf.float32):
  """Creates (or reuses) `<name>/kernel` [in, out] and `<name>/bias` [out]; returns both cast to `dtype`."""
  with tf1.variable_scope(name):
    kernel = tf1.get_variable("kernel", [input_width, units], initializer=kernel_initializer)
    bias = tf1.get_variable("bias", [units], initializer=tf1.zeros_initializer())
    return tf.cast(kernel, dtype), tf.cast(bias, dtype)


def dense_layer(input_tensor, units, name, kernel_initializer, activation=None):
  """A dense layer over the last axis with variables `<name>/kernel` [in, out] and `<name>/bias`.

  Args:
    input_tensor: float Tensor of shape [..., in].
    units: output width.
    name: variable scope name (Google's checkpoints use "dense", "query", "key", "value").
    kernel_initializer: initializer of the kernel.
    activation: (optional) function applied to the output.

  Returns:
    float Tensor of shape [..., units].
  """
  kernel, bias = dense_variables(get_shape_list(input_tensor)[-1], units, name, kernel_initializer,
                                 input_tensor.dtype)
  if input_tensor.shape.ndims == 2:
    output = tf.nn.bias_add(tf.matmul(input_tensor, kernel), bias)
  else:
    output = tf.nn.bias_add(tf.tensordot(input_tensor, kernel, axes=[[-1], [0]]), bias)
  return activation(output) if activation is not None else output


def embedding_lookup(input_ids, vocab_size, embedding_size=128, initializer_range=0.02,
                     word_embedding_name="word_embeddings", use_one_hot_embeddings=False):
  """Looks up word embeddings for an id tensor.

  Args:
    input_ids: int32 Tensor of shape [B, S].
    vocab_size: V.
    embedding_size: D.
    initializer_range: embedding initializer range.
    word_embedding_name: name of the embedding table.
    use_one_hot_embeddings: look up by one-hot matmul instead of gather.

  Returns:
    (output [B, S, D], embedding_table [V, D]).
  """
  embedding_table = tf1.get_variable(
      name=word_embedding_name, shape=[vocab_size, embedding_size],
      initializer=create_initializer(initializer_range))
  if use_one_hot_embeddings:
    one_hot = tf.one_hot(input_ids, depth=vocab_size, dtype=embedding_table.dtype)  # [B, S, V]
    output = tf.einsum("bsv,vd->bsd", one_hot, embedding_table)                     # [B, S, D]
  else:
    output = tf.gather(embedding_table, input_ids)                                 # [B, S, D]
  return output, embedding_table


def embedding_postprocessor(input_tensor, token_type_ids, token_type_vocab_size=16,
                            max_position_embeddings=512, initializer_range=0.02, dropout_prob=0.1,
                            token_type_embedding_name="token_type_embeddings",
                            position_embedding_name="position_embeddings", dropout_seed=None):
  """Adds token-type and position embeddings to word embeddings, then layer norm and dropout.

  Args:
    input_tensor: float Tensor of shape [B, S, D].
    token_type_ids: int32 Tensor of shape [B, S].
    token_type_vocab_size: number of token types.
    max_position_embeddings: rows of the position table (>= S).
    initializer_range: initializer range of both tables.
    dropout_prob: dropout applied to the output.
    token_type_embedding_name: name of the token-type table.
    position_embedding_name: name of the position table.
    dropout_seed: (optional) the dropout seed (see `dropout`).

  Returns:
    float Tensor of shape [B, S, D].
  """
  seq_length, width = get_shape_list(input_tensor, expected_rank=3)[1:]
  token_type_table = tf1.get_variable(
      name=token_type_embedding_name, shape=[token_type_vocab_size, width],
      initializer=create_initializer(initializer_range))
  output = input_tensor + tf.gather(token_type_table, token_type_ids)   # [B, S, D]

  full_position_embeddings = tf1.get_variable(
      name=position_embedding_name, shape=[max_position_embeddings, width],
      initializer=create_initializer(initializer_range))
  position_embeddings = full_position_embeddings[:seq_length]            # [S, D]
  output = output + position_embeddings[tf.newaxis]                       # [B, S, D]
  return layer_norm_and_dropout(output, dropout_prob, seed=dropout_seed)


def create_attention_mask_from_input_mask(from_tensor, to_mask):
  """Creates a 3D attention mask from a 2D padding mask.

  Args:
    from_tensor: Tensor of shape [B, F, ...] (only its first two dimensions are used).
    to_mask: int Tensor of shape [B, T].

  Returns:
    float32 Tensor of shape [B, F, T]: 1.0 where the "to" position may be attended.
  """
  from_shape = get_shape_list(from_tensor)
  to_mask = tf.cast(to_mask[:, tf.newaxis, :], tf.float32)               # [B, 1, T]
  return tf.ones([from_shape[0], from_shape[1], 1], tf.float32) * to_mask


def attention_layer(from_tensor, to_tensor, attention_mask=None, num_attention_heads=1,
                    size_per_head=512, attention_probs_dropout_prob=0.0, initializer_range=0.02,
                    batch_size=None, from_seq_length=None, to_seq_length=None, dropout_seed=None):
  """Multi-headed scaled dot-product attention from `from_tensor` to `to_tensor`.

  Args:
    from_tensor: float Tensor of shape [B*F, D] (or [B, F, D]).
    to_tensor: float Tensor of shape [B*T, D] (or [B, T, D]).
    attention_mask: (optional) Tensor of shape [B, F, T]; 1 where attention is allowed.
    num_attention_heads: N.
    size_per_head: H.
    attention_probs_dropout_prob: dropout of the attention probabilities.
    initializer_range: initializer range of the projections.
    batch_size, from_seq_length, to_seq_length: required when the inputs are 2D.
    dropout_seed: (optional) the dropout seed (see `dropout`).

  Returns:
    float Tensor of shape [B*F, N*H].
  """
  from_shape = get_shape_list(from_tensor, expected_rank=[2, 3])
  if len(from_shape) == 3:
    batch_size, from_seq_length = from_shape[0], from_shape[1]
    to_seq_length = get_shape_list(to_tensor, expected_rank=3)[1]
  elif batch_size is None or from_seq_length is None or to_seq_length is None:
    raise ValueError("batch_size, from_seq_length and to_seq_length are required for 2D inputs")
  from_2d = reshape_to_matrix(from_tensor)                                # [B*F, D]
  to_2d = reshape_to_matrix(to_tensor)                                    # [B*T, D]
  init = create_initializer(initializer_range)
  width = num_attention_heads * size_per_head

  def heads(x, seq_length, parts=1):
    # [B*S, parts*N*H] -> [parts, B, N, S, H]
    x = tf.reshape(x, [batch_size, seq_length, parts, num_attention_heads, size_per_head])
    return tf.transpose(x, [2, 0, 3, 1, 4])

  inputs = {"query": (from_2d, from_seq_length), "key": (to_2d, to_seq_length),
            "value": (to_2d, to_seq_length)}
  projections = {name: dense_variables(get_shape_list(x)[-1], width, name, init, from_tensor.dtype)
                 for name, (x, _) in inputs.items()}
  if from_tensor is to_tensor:
    # Self-attention: one [D, 3*N*H] matmul instead of three (the variables stay separate).
    kernel = tf.concat([k for k, _ in projections.values()], axis=1)       # [D, 3*N*H]
    bias = tf.concat([b for _, b in projections.values()], axis=0)         # [3*N*H]
    qkv = tf.nn.bias_add(tf.matmul(from_2d, kernel), bias)                 # [B*F, 3*N*H]
    query, key, value = tf.unstack(heads(qkv, from_seq_length, 3))         # 3 x [B, N, F, H]
  else:
    query, key, value = [                                                  # [B, N, F|T, H]
        heads(tf.nn.bias_add(tf.matmul(x, projections[name][0]), projections[name][1]), length)[0]
        for name, (x, length) in inputs.items()]

  # [B, N, F, T]; the 1/sqrt(H) scale goes on the (smaller) query.
  scores = tf.matmul(query * tf.cast(1.0 / math.sqrt(float(size_per_head)), query.dtype), key,
                     transpose_b=True)
  scores = tf.cast(scores, tf.float32)
  if attention_mask is not None:
    # Masked positions get -10000 before the softmax; the softmax runs in float32, so this is safe
    # for float16 models too.
    adder = (1.0 - tf.cast(attention_mask[:, tf.newaxis], tf.float32)) * -10000.0  # [B, 1, F, T]
    scores += adder
  # Dropout before the cast: random numbers and masks are cheaper in float32 than in 16-bit types on CPUs.
  probs = dropout(tf.nn.softmax(scores), attention_probs_dropout_prob, dropout_seed)   # [B, N, F, T]
  probs = tf.cast(probs, from_tensor.dtype)

  context = tf.matmul(probs, value)                                       # [B, N, F, H]
  context = tf.transpose(context, [0, 2, 1, 3])                           # [B, F, N, H]
  return tf.reshape(context, [batch_size * from_seq_length, width])       # [B*F, N*H]


def transformer_model(input_tensor, attention_mask=None, hidden_size=768, num_hidden_layers=12,
                      num_attention_heads=12, intermediate_size=3072, intermediate_act_fn=gelu,
                      hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
                      initializer_range=0.02, do_return_all_layers=False, dropout_seed=None):
  """The Transformer encoder of "Attention is All You Need", as BERT uses it (post layer norm).

  Args:
    input_tensor: float Tensor of shape [B, S, D].
    attention_mask: (optional) Tensor of shape [B, S, S]; 1 where attention is allowed.
    hidden_size: D.
    num_hidden_layers: number of layers.
    num_attention_heads: N.
    intermediate_size: I.
    intermediate_act_fn: feed-forward non-linearity.
    hidden_dropout_prob: dropout of the sub-layer outputs.
    attention_probs_dropout_prob: dropout of the attention probabilities.
    initializer_range: initializer range of all weights.
    do_return_all_layers: return every layer's output rather than the last.
    dropout_seed: (optional) the dropout seed (see `dropout`).

  Returns:
    float Tensor of shape [B, S, D], or a list of them (one per layer).

  Raises:
    ValueError: if `hidden_size` is not a multiple of `num_attention_heads` or the input is not [B, S, D].
  """
  if hidden_size % num_attention_heads != 0:
    raise ValueError("hidden size (%d) is not a multiple of the number of attention heads (%d)" %
                     (hidden_size, num_attention_heads))
  size_per_head = hidden_size // num_attention_heads
  batch_size, seq_length, input_width = get_shape_list(input_tensor, expected_rank=3)
  if input_width != hidden_size:
    raise ValueError("input width (%d) != hidden size (%d)" % (input_width, hidden_size))
  init = create_initializer(initializer_range)

  # The layers run on a [B*S, D] matrix, avoiding reshapes between them.
  prev_output = reshape_to_matrix(input_tensor)                           # [B*S, D]
  all_layer_outputs = []
  for layer_idx in range(num_hidden_layers):
    with tf1.variable_scope("layer_%d" % layer_idx):
      layer_input = prev_output
      with tf1.variable_scope("attention"):
        with tf1.variable_scope("self"):
          attention_output = attention_layer(                           # [B*S, D]
              from_tensor=layer_input, to_tensor=layer_input, attention_mask=attention_mask,
              num_attention_heads=num_attention_heads, size_per_head=size_per_head,
              attention_probs_dropout_prob=attention_probs_dropout_prob,
              initializer_range=initializer_range, batch_size=batch_size,
              from_seq_length=seq_length, to_seq_length=seq_length, dropout_seed=dropout_seed)
        with tf1.variable_scope("output"):
          attention_output = dense_layer(attention_output, hidden_size, "dense", init)
          attention_output = dropout(attention_output, hidden_dropout_prob, dropout_seed)
          attention_output = layer_norm(attention_output + layer_input)  # [B*S, D]
      with tf1.variable_scope("intermediate"):
        intermediate_output = dense_layer(attention_output, intermediate_size, "dense", init,
                                          activation=intermediate_act_fn)  # [B*S, I]
      with tf1.variable_scope("output"):
        layer_output = dense_layer(intermediate_output, hidden_size, "dense", init)
        layer_output = dropout(layer_output, hidden_dropout_prob, dropout_seed)
        layer_output = layer_norm(layer_output + attention_output)       # [B*S, D]
      prev_output = layer_output
      all_layer_outputs.append(layer_output)

  final_shape = [batch_size, seq_length, hidden_size]
  if do_return_all_layers:
    return [tf.reshape(x, final_shape) for x in all_layer_outputs]
  return tf.reshape(prev_output, final_shape)


def get_shape_list(tensor, expected_rank=None, name=None):
  """Returns the shape of a tensor as a list, static dimensions as ints, dynamic ones as scalars.

  Args:
    tensor: a tf.Tensor.
    expected_rank: (optional) int or list of ints; raises ValueError if the rank differs.
    name: (optional) tensor name for the error message.
  """
  if expected_rank is not None:
    assert_rank(tensor, expected_rank, name)
  shape = tensor.shape.as_list()
  dynamic = None
  for index, dim in enumerate(shape):
    if dim is None:
      if dynamic is None:
        dynamic = tf.shape(tensor)
      shape[index] = dynamic[index]
  return shape


def reshape_to_matrix(input_tensor):
  """Reshapes a >= rank 2 tensor to a rank 2 tensor (i.e. a matrix), keeping the last axis."""
  ndims = input_tensor.shape.ndims
  if ndims < 2:
    raise ValueError("Input tensor must have at least rank 2. Shape = %s" % (input_tensor.shape))
  if ndims == 2:
    return input_tensor
  return tf.reshape(input_tensor, [-1, get_shape_list(input_tensor)[-1]])


def assert_rank(tensor, expected_rank, name=None):
  """Raises ValueError if the tensor rank is not in `expected_rank` (an int or list of ints)."""
  expected = {expected_rank} if isinstance(expected_rank, int) else set(expected_rank)
  actual = tensor.shape.ndims
  if actual not in expected:
    raise ValueError("For the tensor `%s`, the actual rank `%d` (shape = %s) is not equal to the "
                     "expected rank `%s`" % (name or tensor.name, actual, tensor.shape,
                                             sorted(expected)))


# ----------------------------------------------------------------------------------------------------
# Pretraining heads, shared by run_pretraining.py and checkpoint conversion (Google's variable names).
# ----------------------------------------------------------------------------------------------------

def gather_indexes(sequence_tensor, positions):
  """Gathers the vectors at `positions` of each sequence.

  Args:
    sequence_tensor: float Tensor of shape [B, S, D].
    positions: int Tensor of shape [B, P].

  Returns:
    float Tensor of shape [B*P, D].
  """
  batch_size, seq_length, width = get_shape_list(sequence_tensor, expected_rank=3)
  flat_offsets = tf.reshape(tf.range(0, batch_size, dtype=tf.int32) * seq_length, [-1, 1])  # [B, 1]
  flat_positions = tf.reshape(tf.cast(positions, tf.int32) + flat_offsets, [-1])             # [B*P]
  flat_sequence = tf.reshape(sequence_tensor, [batch_size * seq_length, width])              # [B*S, D]
  return tf.gather(flat_sequence, flat_positions)                                            # [B*P, D]


def get_masked_lm_output(bert_config, input_tensor, output_weights, positions, label_ids,
                         label_weights):
  """The masked-LM head and loss (`cls/predictions/...`), output weights tied to the word embeddings.

  Args:
    bert_config: `BertConfig`.
    input_tensor: float Tensor of shape [B, S, D], the sequence output.
    output_weights: float Tensor of shape [V, D], the word embedding table.
    positions: int Tensor of shape [B, P], masked positions.
    label_ids: int Tensor of shape [B, P], original token ids.
    label_weights: float Tensor of shape [B, P]; 1.0 for real predictions, 0.0 for padding.

  Returns:
    (loss scalar, per_example_loss [B*P], log_probs [B*P, V]), all float32.
  """
  input_tensor = gather_indexes(input_tensor, positions)                 # [B*P, D]
  with tf1.variable_scope("cls/predictions"):
    with tf1.variable_scope("transform"):
      input_tensor = dense_layer(input_tensor, bert_config.hidden_size, "dense",
                                 create_initializer(bert_config.initializer_range),
                                 activation=get_activation(bert_config.hidden_act))
      input_tensor = layer_norm(input_tensor)                             # [B*P, D]
    output_bias = tf1.get_variable("output_bias", shape=[bert_config.vocab_size],
                                   initializer=tf1.zeros_initializer())
    # The projection runs in the compute type like every matmul; the softmax and loss in float32.
    logits = tf.matmul(input_tensor, tf.cast(output_weights, input_tensor.dtype),
                       transpose_b=True)                                  # [B*P, V]
    logits = tf.nn.bias_add(tf.cast(logits, tf.float32), output_bias)
    log_probs = tf.nn.log_softmax(logits, axis=-1)                        # [B*P, V]

    label_ids = tf.reshape(label_ids, [-1])                               # [B*P]
    label_weights = tf.cast(tf.reshape(label_weights, [-1]), tf.float32)  # [B*P]
    one_hot_labels = tf.one_hot(label_ids, depth=bert_config.vocab_size, dtype=tf.float32)
    per_example_loss = -tf.reduce_sum(log_probs * one_hot_labels, axis=[-1])  # [B*P]
    numerator = tf.reduce_sum(label_weights * per_example_loss)
    denominator = tf.reduce_sum(label_weights) + 1e-5
    loss = numerator / denominator
  return loss, per_example_loss, log_probs


def get_next_sentence_output(bert_config, input_tensor, labels):
  """The next-sentence head and loss (`cls/seq_relationship/...`); 0 is "is next", 1 is "random".

  Args:
    bert_config: `BertConfig`.
    input_tensor: float Tensor of shape [B, D], the pooled output.
    labels: int Tensor of shape [B] or [B, 1].

  Returns:
    (loss scalar, per_example_loss [B], log_probs [B, 2]), all float32.
  """
  with tf1.variable_scope("cls/seq_relationship"):
    # Stored [2, D] as in Google's checkpoints (not a [in, out] dense kernel).
    output_weights = tf1.get_variable(
        "output_weights", shape=[2, bert_config.hidden_size],
        initializer=create_initializer(bert_config.initializer_range))
    output_bias = tf1.get_variable("output_bias", shape=[2], initializer=tf1.zeros_initializer())
    logits = tf.matmul(tf.cast(input_tensor, tf.float32), output_weights, transpose_b=True)  # [B, 2]
    logits = tf.nn.bias_add(logits, output_bias)
    log_probs = tf.nn.log_softmax(logits, axis=-1)                        # [B, 2]
    labels = tf.reshape(labels, [-1])                                     # [B]
    one_hot_labels = tf.one_hot(labels, depth=2, dtype=tf.float32)
    per_example_loss = -tf.reduce_sum(one_hot_labels * log_probs, axis=-1)  # [B]
    loss = tf.reduce_mean(per_example_loss)
  return loss, per_example_loss, log_probs
