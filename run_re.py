"""BERT fine-tuning for biomedical relation extraction (BioBERT's RE: ChemProt, GAD).

  python run_re.py --task_name=chemprot --data_dir=$DATA/chemprot \
      --vocab_file=$BERT_DIR/vocab.txt --bert_config_file=$BERT_DIR/bert_config.json \
      --init_checkpoint=$BERT_DIR/bert_model.ckpt --do_train --do_eval --do_predict \
      --max_seq_length=128 --train_batch_size=32 --learning_rate=5e-5 --num_train_epochs=3 \
      --output_dir=results/chemprot

--data_dir holds train.tsv, dev.tsv and test.tsv: a sentence with the pair's entities replaced by markers and
its label (utils/relations.py, which also documents how markers become single [unused*] tokens). The model is
run_classifier.py's: the pooled [CLS] output and a softmax over the task's labels.

--do_eval writes eval_results.txt with utils/re_eval.py's scores of dev.tsv (ChemProt: micro precision / recall /
F1 over CPR:3,4,5,6,9, False excluded; GAD: of class 1) and accuracy; --do_predict writes test_results.tsv (class
probabilities, one row per test example, in the order of relations.TASKS' labels), which
`python utils/re_eval.py --task=chemprot --output_path=test_results.tsv --answer_path=test.tsv` scores.
"""

import os
import time

# oneDNN on unless the user set TF_ENABLE_ONEDNN_OPTS (see run_classifier.py).
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

from absl import flags  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import run_classifier  # noqa: E402
import tokenization  # noqa: E402
from utils import flags_config  # noqa: E402
from utils import glue  # noqa: E402
from utils import re_eval  # noqa: E402
from utils import relations  # noqa: E402
from utils import training  # noqa: E402

tf1 = tf.compat.v1
FLAGS = flags.FLAGS


def define_flags():
  """Defines the flags of run_re.py, the shared ones included (called under __main__)."""
  flags.DEFINE_string("task_name", "chemprot", "The relation task (utils/relations.py TASKS): chemprot or gad.")
  flags.DEFINE_string("data_dir", None, "Folder with train.tsv, dev.tsv and test.tsv (sentence<TAB>label).")
  flags_config.define_model_flags(128, "Maximum tokens per sentence after WordPiece, [CLS] and [SEP] included; "
                                  "longer sentences are truncated (the log counts them).", tokenizer=True)
  flags.DEFINE_bool("do_train", False, "Whether to fine-tune on train.tsv.")
  flags.DEFINE_bool("do_eval", False, "Whether to evaluate on dev.tsv.")
  flags.DEFINE_bool("do_predict", False, "Whether to predict test.tsv (test_results.tsv).")
  flags.DEFINE_integer("train_batch_size", 32, "Micro-batch size per worker for training.")
  flags.DEFINE_integer("eval_batch_size", 8, "Batch size for evaluation.")
  flags.DEFINE_integer("predict_batch_size", 8, "Batch size for prediction.")
  flags.DEFINE_float("num_train_epochs", 3.0, "Passes over the training set.")
  flags.DEFINE_float("warmup_proportion", 0.1, "Fraction of the updates with linear learning-rate warmup.")
  flags.DEFINE_bool("trim_padding", True, "Cut every batch to its longest real sequence (dynamic padding).")
  flags_config.define_optimizer_flags(learning_rate=5e-5, optimizer_type="adam")
  flags_config.define_run_flags()
  flags.DEFINE_alias("use_fp16", "amp")   # NVIDIA's name of --amp
  flags.adopt_module_key_flags(flags_config)


def input_fn_builder(examples, task, tokenizer, max_seq_length, path, batch_size, is_training, runtime,
                     trim_padding):
  """Writes `examples` as TFRecords to `path` and returns (input function, truncated sentence count)."""
  features, truncated = relations.convert_examples_to_features(examples, task.labels, max_seq_length, tokenizer)
  glue.write_features_to_tfrecord(features, path)
  input_fn = training.tfrecord_input_fn([path], glue.name_to_features(max_seq_length, False), batch_size,
                                        is_training, runtime, shuffle_buffer=len(features), exact_epochs=True)
  # Unbucketed: a relation's label goes with sentence length (see biobert/README.md, Results).
  return (training.trimmed_input_fn(input_fn, batch_size, bucket=False) if trim_padding else input_fn), truncated


def predict(model_fn, input_fn, runtime, checkpoint):
  """(class probabilities [N, labels], mean loss, examples/sec) of the input at `checkpoint`."""
  start = time.time()
  outputs = list(training.predict(model_fn, input_fn, runtime, checkpoint))
  seconds = time.time() - start
  probabilities = np.stack([o["predictions"] for o in outputs])
  return probabilities, float(np.mean([o["per_example_loss"] for o in outputs])), len(outputs) / seconds


def evaluate(model_fn, input_fn, runtime, checkpoint, task_name, examples):
  """re_eval's scores of `examples` at `checkpoint`, as eval_<name>, plus eval_loss and throughput_eval."""
  task = relations.get_task(task_name)
  probabilities, loss, throughput = predict(model_fn, input_fn, runtime, checkpoint)
  predicted = [task.labels[i] for i in probabilities.argmax(axis=1)]
  result = {"eval_" + k: v for k, v in re_eval.scores(task_name, [e.label for e in examples], predicted).items()}
  result.update({"eval_loss": loss, "eval_examples": len(examples), "throughput_eval": throughput,
                 "global_step": run_classifier.checkpoint_step(checkpoint)})
  return result


def write_probabilities(path, probabilities):
  """test_results.tsv: one tab-separated row of class probabilities per example."""
  with tf.io.gfile.GFile(path, "w") as f:
    f.write("".join("\t".join("%.6f" % p for p in row) + "\n" for row in probabilities))


def main(_):
  tf1.disable_eager_execution()
  if not (FLAGS.do_train or FLAGS.do_eval or FLAGS.do_predict):
    raise ValueError("at least one of --do_train, --do_eval and --do_predict must be set")
  flags_config.require_flags(FLAGS, ["data_dir", "vocab_file", "bert_config_file", "output_dir"])
  bert_config = flags_config.bert_config_from_flags(FLAGS)
  tokenization.validate_case_matches_checkpoint(FLAGS.do_lower_case, FLAGS.init_checkpoint)
  task = relations.get_task(FLAGS.task_name)
  tokenizer = tokenization.FullTokenizer(vocab_file=FLAGS.vocab_file, do_lower_case=FLAGS.do_lower_case)
  relations.check_marker_vocabulary(tokenizer, FLAGS.vocab_file)
  runtime = training.init_runtime(flags_config.run_config_from_flags(FLAGS))
  model_fn = run_classifier.model_fn_builder(bert_config, len(task.labels), False, runtime.compute_type)
  flags_config.log_flags(runtime, FLAGS)

  def read(split, batch_size, is_training):
    path = os.path.join(FLAGS.data_dir, split + ".tsv")
    examples, one_marker = relations.read_examples(path, task)
    input_fn, truncated = input_fn_builder(
        examples, task, tokenizer, FLAGS.max_seq_length, os.path.join(FLAGS.output_dir, split + ".tf_record"),
        batch_size, is_training, runtime, FLAGS.trim_padding)
    runtime.log_text("%s: %d examples; %d with one marker of the pair only%s; %d truncated to %d tokens" % (
        path, len(examples), len(one_marker), " (first: line %d)" % one_marker[0] if one_marker else "",
        truncated, FLAGS.max_seq_length))
    return examples, input_fn

  if FLAGS.do_train:
    examples, input_fn = read("train", FLAGS.train_batch_size, True)
    optimizer = flags_config.finetune_optimizer_config(FLAGS, len(examples), runtime.size)
    runtime.log_text("training: %d steps of %d x %d worker(s) x %d micro-batch(es)" % (
        optimizer.num_train_steps, FLAGS.train_batch_size, runtime.size, optimizer.num_accumulation_steps))
    start = time.time()
    result = training.train(model_fn, input_fn, runtime, optimizer, FLAGS.train_batch_size)
    result["train_time_sec"] = time.time() - start
    runtime.logger.log((), result)

  if not runtime.is_chief or not (FLAGS.do_eval or FLAGS.do_predict):
    runtime.logger.close()
    return
  checkpoint = flags_config.checkpoint_to_evaluate(FLAGS)
  if FLAGS.do_eval:
    examples, input_fn = read("dev", FLAGS.eval_batch_size, False)
    result = evaluate(model_fn, input_fn, runtime, checkpoint, FLAGS.task_name, examples)
    runtime.logger.log((), result)
    training.write_results(os.path.join(FLAGS.output_dir, "eval_results.txt"), result)
  if FLAGS.do_predict:
    examples, input_fn = read("test", FLAGS.predict_batch_size, False)
    probabilities, _, throughput = predict(model_fn, input_fn, runtime, checkpoint)
    write_probabilities(os.path.join(FLAGS.output_dir, "test_results.tsv"), probabilities)
    runtime.logger.log((), {"test_examples": len(examples), "throughput_test": throughput})
  runtime.logger.close()


if __name__ == "__main__":
  define_flags()
  training.run_main(main)
