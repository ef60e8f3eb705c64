"""BERT fine-tuning for biomedical named-entity recognition (BioBERT's NER: BC5CDR, NCBI-disease).

  python run_ner.py --task_name=ncbi-disease --data_dir=$DATA/NCBI-disease \
      --vocab_file=$BERT_DIR/vocab.txt --bert_config_file=$BERT_DIR/bert_config.json \
      --init_checkpoint=$BERT_DIR/bert_model.ckpt --do_train --do_eval --do_predict \
      --max_seq_length=128 --train_batch_size=32 --learning_rate=5e-5 --num_train_epochs=3 \
      --output_dir=results/ncbi

--data_dir holds train.tsv, devel.tsv and test.tsv in BioBERT's IOB layout (utils/ner.py; tasks and their
entity types in ner.TASKS). Each word is labelled on its first WordPiece; sentences longer than
--max_seq_length are split into windows, so every input token gets exactly one prediction.

--do_eval scores devel.tsv, --do_predict test.tsv. Each writes, with prefix eval or test:
  <prefix>_predictions.tsv  token<TAB>predicted tag per input token, the input's layout
  <prefix>_labels.txt       token gold predicted per token (conlleval's input)
  <prefix>_conlleval.txt    conlleval's report: entity-level precision / recall / FB1 (utils/conlleval.py)
and --do_eval also eval_results.txt (eval_precision, eval_recall, eval_f1, eval_accuracy, eval_loss, ...).
"""

import os
import time

# oneDNN on unless the user set TF_ENABLE_ONEDNN_OPTS (see run_classifier.py).
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

from absl import flags  # noqa: E402
import tensorflow as tf  # noqa: E402

import modeling  # noqa: E402
import run_classifier  # noqa: E402
import tokenization  # noqa: E402
from utils import conlleval  # noqa: E402
from utils import flags_config  # noqa: E402
from utils import ner  # noqa: E402
from utils import training  # noqa: E402

tf1 = tf.compat.v1
FLAGS = flags.FLAGS


def define_flags():
  """Defines the flags of run_ner.py, the shared ones included (called under __main__)."""
  flags.DEFINE_string("task_name", "ncbi-disease", "The entity types to tag (utils/ner.py TASKS): bc5cdr, "
                      "bc5cdr-chem, bc5cdr-disease or ncbi-disease.")
  flags.DEFINE_string("data_dir", None, "Folder with train.tsv, devel.tsv and test.tsv (IOB, token<TAB>tag).")
  flags_config.define_model_flags(128, "Maximum WordPieces per window, [CLS] and [SEP] included; longer "
                                  "sentences are split into several windows.", tokenizer=True)
  flags.DEFINE_bool("do_train", False, "Whether to fine-tune on train.tsv.")
  flags.DEFINE_bool("do_eval", False, "Whether to evaluate on devel.tsv.")
  flags.DEFINE_bool("do_predict", False, "Whether to tag test.tsv.")
  flags.DEFINE_integer("train_batch_size", 32, "Micro-batch size per worker for training (windows).")
  flags.DEFINE_integer("eval_batch_size", 8, "Batch size for evaluation.")
  flags.DEFINE_integer("predict_batch_size", 8, "Batch size for prediction.")
  flags.DEFINE_float("num_train_epochs", 3.0, "Passes over the training set.")
  flags.DEFINE_float("warmup_proportion", 0.1, "Fraction of the updates with linear learning-rate warmup.")
  flags.DEFINE_bool("trim_padding", True, "Cut every batch to its longest real window (dynamic padding).")
  flags_config.define_optimizer_flags(learning_rate=5e-5, optimizer_type="adam")
  flags_config.define_run_flags()
  flags.DEFINE_alias("use_fp16", "amp")   # NVIDIA's name of --amp
  flags.adopt_module_key_flags(flags_config)


def create_model(bert_config, is_training, features, num_labels, compute_type=tf.float32):
  """BERT with a token-classification head over the sequence output.

  The head (dropout 0.1 in training, then `output_weights` [num_labels, hidden] and `output_bias`) scores every
  position; the loss is the mean cross-entropy over the positions with label_mask 1 (first WordPieces). The
  label features are cut to the (possibly trimmed) length of input_ids. In training, every dropout mask follows
  the micro-batch's seed (`training.DROPOUT_SEED`), so a resumed run repeats the masks.

  Returns:
    (loss, per-position loss [B, S] (0 where unlabelled), label_mask [B, S], predicted label ids [B, S]).
  """
  dropout_seed = features.get(training.DROPOUT_SEED)
  model = modeling.BertModel(
      config=bert_config, is_training=is_training, input_ids=features["input_ids"],
      input_mask=features["input_mask"], token_type_ids=features["segment_ids"], compute_type=compute_type,
      dropout_seed=dropout_seed)
  sequence = tf.cast(model.get_sequence_output(), tf.float32)                    # [B, S, D]
  hidden_size = sequence.shape[-1]
  output_weights = tf1.get_variable(
      "output_weights", [num_labels, hidden_size],
      initializer=modeling.create_initializer(bert_config.initializer_range))
  output_bias = tf1.get_variable("output_bias", [num_labels], initializer=tf1.zeros_initializer())
  if is_training:
    sequence = modeling.dropout(sequence, 0.1, dropout_seed)
  logits = tf.nn.bias_add(tf.einsum("bsd,ld->bsl", sequence, output_weights), output_bias)  # [B, S, L]
  length = tf.shape(features["input_ids"])[1]
  labels = features["label_ids"][:, :length]                                     # [B, S]
  mask = tf.cast(features["label_mask"][:, :length], tf.float32)                 # [B, S]
  log_probs = tf.nn.log_softmax(logits, axis=-1)
  per_position = -tf.reduce_sum(tf.one_hot(labels, num_labels) * log_probs, axis=-1) * mask
  loss = tf.reduce_sum(per_position) / tf.maximum(tf.reduce_sum(mask), 1.0)
  return loss, per_position, mask, tf.argmax(logits, axis=-1, output_type=tf.int32)


def model_fn_builder(bert_config, num_labels, compute_type=tf.float32):
  """Returns the model_fn: the loss for training, per-position predictions and losses otherwise."""

  def model_fn(features, mode):
    loss, per_position, mask, predictions = create_model(
        bert_config, mode == training.TRAIN, features, num_labels, compute_type)
    if mode == training.TRAIN:
      return training.ModelSpec(loss=loss)
    return training.ModelSpec(loss=loss, predictions={
        "predictions": predictions, "loss_sum": tf.reduce_sum(per_position, axis=1),
        "labelled": tf.reduce_sum(mask, axis=1)})

  return model_fn


def input_fn_builder(windows, max_seq_length, path, batch_size, is_training, runtime, trim_padding):
  """Writes the windows as TFRecords to `path` and returns the input function reading them."""
  ner.write_tfrecord(windows, max_seq_length, path)
  input_fn = training.tfrecord_input_fn([path], ner.name_to_features(max_seq_length), batch_size, is_training,
                                        runtime, shuffle_buffer=len(windows), exact_epochs=True)
  return training.trimmed_input_fn(input_fn, batch_size, bucket=is_training) if trim_padding else input_fn


def predict_and_score(model_fn, input_fn, runtime, checkpoint, sentences, windows, labels, out):
  """Tags the sentences at `checkpoint`, writes the three files named `out` + _predictions.tsv, _labels.txt
  and _conlleval.txt (`out` is <output_dir>/<prefix>) and returns the scores.

  Returns:
    dict <prefix>_precision, _recall, _f1, _accuracy (conlleval's, as fractions), _loss (mean over labelled
    words), _sentences, _tokens, _windows and throughput_<prefix> (windows/sec of prediction).
  """
  start = time.time()
  outputs = list(training.predict(model_fn, input_fn, runtime, checkpoint))
  seconds = time.time() - start
  tags = ner.reassemble(sentences, windows, [o["predictions"] for o in outputs], labels)
  prefix = os.path.basename(out)
  ner.write_predictions(out + "_predictions.tsv", sentences, tags)
  ner.write_conll(out + "_labels.txt", sentences, tags)
  counts = conlleval.evaluate([[w.tag for w in s] for s in sentences], tags)
  with tf.io.gfile.GFile(out + "_conlleval.txt", "w") as f:
    f.write(conlleval.report(counts))
  runtime.log_text(conlleval.report(counts).rstrip())
  result = {"%s_%s" % (prefix, k): v for k, v in conlleval.metrics(counts).items()}
  result.update({prefix + "_loss": float(sum(o["loss_sum"] for o in outputs) /
                                         max(sum(o["labelled"] for o in outputs), 1.0)),
                 prefix + "_sentences": len(sentences), prefix + "_tokens": counts.tokens,
                 prefix + "_windows": len(windows), "throughput_" + prefix: len(windows) / seconds})
  return result


def train(model_fn, input_fn, runtime, optimizer, batch_size):
  """Fine-tunes with the `training.OptimizerConfig`; returns the loop's result with the time it took."""
  runtime.log_text("training: %d steps of %d x %d worker(s) x %d micro-batch(es)" % (
      optimizer.num_train_steps, batch_size, runtime.size, optimizer.num_accumulation_steps))
  start = time.time()
  result = training.train(model_fn, input_fn, runtime, optimizer, batch_size)
  result["train_time_sec"] = time.time() - start
  return result


def main(_):
  tf1.disable_eager_execution()
  if not (FLAGS.do_train or FLAGS.do_eval or FLAGS.do_predict):
    raise ValueError("at least one of --do_train, --do_eval and --do_predict must be set")
  flags_config.require_flags(FLAGS, ["data_dir", "vocab_file", "bert_config_file", "output_dir"])
  bert_config = flags_config.bert_config_from_flags(FLAGS)
  tokenization.validate_case_matches_checkpoint(FLAGS.do_lower_case, FLAGS.init_checkpoint)
  labels = ner.get_labels(FLAGS.task_name)
  tokenizer = tokenization.FullTokenizer(vocab_file=FLAGS.vocab_file, do_lower_case=FLAGS.do_lower_case)
  runtime = training.init_runtime(flags_config.run_config_from_flags(FLAGS))
  model_fn = model_fn_builder(bert_config, len(labels), runtime.compute_type)
  flags_config.log_flags(runtime, FLAGS)

  def read(split, name, batch_size, is_training):
    sentences = ner.read_iob(os.path.join(FLAGS.data_dir, split), labels)
    windows = ner.make_windows(sentences, tokenizer, FLAGS.max_seq_length, labels)
    runtime.log_text("%s: %d sentences, %d words, %d windows of at most %d pieces" % (
        split, len(sentences), sum(len(s) for s in sentences), len(windows), FLAGS.max_seq_length))
    input_fn = input_fn_builder(windows, FLAGS.max_seq_length, os.path.join(FLAGS.output_dir, name + ".tf_record"),
                                batch_size, is_training, runtime, FLAGS.trim_padding)
    return sentences, windows, input_fn

  if FLAGS.do_train:
    _, windows, input_fn = read("train.tsv", "train", FLAGS.train_batch_size, True)
    optimizer = flags_config.finetune_optimizer_config(FLAGS, len(windows), runtime.size)
    runtime.logger.log((), train(model_fn, input_fn, runtime, optimizer, FLAGS.train_batch_size))

  if not runtime.is_chief or not (FLAGS.do_eval or FLAGS.do_predict):
    runtime.logger.close()
    return
  checkpoint = flags_config.checkpoint_to_evaluate(FLAGS)
  for wanted, split, prefix, batch_size in [(FLAGS.do_eval, "devel.tsv", "eval", FLAGS.eval_batch_size),
                                            (FLAGS.do_predict, "test.tsv", "test", FLAGS.predict_batch_size)]:
    if wanted:
      sentences, windows, input_fn = read(split, prefix, batch_size, False)
      result = predict_and_score(model_fn, input_fn, runtime, checkpoint, sentences, windows, labels,
                                 os.path.join(FLAGS.output_dir, prefix))
      result["global_step"] = run_classifier.checkpoint_step(checkpoint)
      runtime.logger.log((), result)
      if prefix == "eval":
        training.write_results(os.path.join(FLAGS.output_dir, "eval_results.txt"), result)
  runtime.logger.close()


if __name__ == "__main__":
  define_flags()
  training.run_main(main)
