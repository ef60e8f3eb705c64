#!/usr/bin/env bash
# LAMB pretraining presets for scripts/run_pretraining_lamb.sh, and the helpers the pretraining launchers
# (run_pretraining_lamb*.sh, run_pretraining_adam.sh, run.sub) share.
#
# Each preset echoes run_pretraining_lamb.sh's 15 positional arguments, e.g.
#   bash scripts/run_pretraining_lamb.sh $(source scripts/configs/pretrain_config.sh && dgxa100_8gpu_fp16)
#
# NVIDIA's presets keep its per-GPU batch sizes and learning rates (never scaled by worker count) and its
# schedule: 7820 updates in all (phase 1: 7038 at 128 tokens; phase 2: 1564 at 512 tokens), 2000 / 200
# warmup updates, a checkpoint every 100 updates, BERT-large. The accumulation steps give NVIDIA's global
# batches: 65536 sequences per update in phase 1, 32768 in phase 2.
#
# cpu_2core_fp32 is sized for a 2-core machine without GPU: the tiny BERT (2 layers, hidden 128), 450 updates
# of 16 sequences at 128 tokens then 100 of 4 x 2 at 512, on the sample TFRecords of
# `bash data/create_datasets_from_start.sh sample`. It shows the pipeline, not learning.
#
# cpu_2core_mini_fp32 is the recipe of scripts/pretraining_accuracy.sh, which learns word order from ~7 MB of real
# text: after its phase 0 (1000 LAMB updates of 128 sequences of 16 tokens), BERT-Mini (4 layers, hidden 256)
# trains 4320 updates of 16 sequences at 128 tokens (lr 6e-3, 240 warmup), then 480 of 16 at 256 tokens
# (MAX_SEQ_LENGTH_PHASE2=256, lr 2e-3, 48 warmup); 40% of the tokens masked (the script's MASKED_LM_PROB).
# cpu_2core_mini_amp is the same with --amp (bfloat16 where the CPU has it: about 1.45x as fast there).
# Run times: README, Pretraining.

#                           bs1 bs2 eval lr1     lr2    prec  xla   gpus wu1  wu2 steps save acc1 acc2 model
dgxa100_8gpu_fp16 () { echo 64  16  8    7.5e-4  5e-4   fp16  true  8    2000 200 7820  100  128  256  large; }
dgxa100_8gpu_tf32 () { echo 64  8   8    7.5e-4  5e-4   tf32  true  8    2000 200 7820  100  128  512  large; }
dgx2_16gpu_fp16 ()   { echo 64  8   8    3.75e-4 2.5e-4 fp16  true  16   2000 200 7820  100  64   256  large; }
dgx2_16gpu_fp32 ()   { echo 32  8   8    3.75e-4 2.5e-4 fp32  true  16   2000 200 7820  100  128  256  large; }
dgx1_8gpu_fp16 ()    { echo 16  4   8    7.5e-4  5e-4   fp16  true  8    2000 200 7820  100  512  1024 large; }
dgx1_8gpu_fp32 ()    { echo 8   2   8    7.5e-4  5e-4   fp32  true  8    2000 200 7820  100  1024 2048 large; }
cpu_2core_fp32 ()    { echo 16  4   16   1e-2    5e-3   fp32  false 1    50   10  500   100  1    2    tiny; }
cpu_2core_mini_fp32 () { echo 16 16  64   6e-3    2e-3   fp32  false 1    240  48  4800  540  1    1    mini; }
cpu_2core_mini_amp () { echo 16  16  64   6e-3    2e-3   fp16  false 1    240  48  4800  540  1    1    mini; }

# The interpreter, the Horovod launch prefix and the bert_model architectures: scripts/configs/common.sh.
# shellcheck source=SCRIPTDIR/common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

# The 15 arguments of the LAMB launchers and their defaults (NVIDIA's).
PRETRAIN_LAMB_NAMES=(train_batch_size_phase1 train_batch_size_phase2 eval_batch_size learning_rate_phase1
                     learning_rate_phase2 precision use_xla num_gpus warmup_steps_phase1 warmup_steps_phase2
                     train_steps save_checkpoints_steps num_accumulation_steps_phase1
                     num_accumulation_steps_phase2 bert_model)
PRETRAIN_LAMB_DEFAULTS=(64 8 8 7.5e-4 5e-4 fp16 true 8 2000 200 7820 100 128 512 large)

# Prints the usage of a launcher: the comment block at the top of script $1.
pretrain_usage ()
{
  sed -n '2,/^[^#]/{/^#SBATCH/d;/^# shellcheck/d;/^#/{s/^# \{0,1\}//;p}}' "$1" >&2
}

# Prints "<script>: error: <message>" and the script's usage, and exits with status 2.
#   pretrain_usage_error SCRIPT MESSAGE
pretrain_usage_error ()
{
  echo "$(basename "$1"): error: $2" >&2
  echo >&2
  pretrain_usage "$1"
  exit 2
}

# Checks launcher arguments; a bad one ends the script through pretrain_usage_error.
#   pretrain_check SCRIPT KIND NAME VALUE [KIND NAME VALUE ...]
# KIND: count (integer >= 1), steps (integer >= 0), rate (a number such as 7.5e-4), precision (fp16 | fp32 | tf32 |
# manual_fp16), bool (true | false), model (large | base | minilm | mini | tiny, or anything with $BERT_CONFIG set).
pretrain_check ()
{
  local script="$1"; shift
  while [ $# -gt 0 ]; do
    local kind="$1" name="$2" value="$3" ok=1
    shift 3
    case "$kind" in
      count) [[ "$value" =~ ^[1-9][0-9]*$ ]] || ok=0 ;;
      steps) [[ "$value" =~ ^(0|[1-9][0-9]*)$ ]] || ok=0 ;;
      rate) [[ "$value" =~ ^([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$ ]] || ok=0 ;;
      precision) [[ "$value" =~ ^(fp16|fp32|tf32|manual_fp16)$ ]] || ok=0 ;;
      bool) [[ "$value" =~ ^(true|false)$ ]] || ok=0 ;;
      model) [ -n "${BERT_CONFIG:-}" ] || [[ "$value" =~ ^(large|base|minilm|mini|tiny)$ ]] || ok=0 ;;
    esac
    [ "$ok" = 1 ] || pretrain_usage_error "$script" "$name='$value' is not a valid $kind"
  done
}

# Sets the 15 arguments of the LAMB launchers as shell variables named as in PRETRAIN_LAMB_NAMES (a missing
# or empty argument takes its default), checks them, and sets LAMB_ARGS to the 15 values.
#   pretrain_lamb_args SCRIPT "$@"
pretrain_lamb_args ()
{
  local script="$1"; shift
  [ $# -le 15 ] || pretrain_usage_error "$script" "$# arguments given, at most 15 expected"
  local values=("$@") i
  LAMB_ARGS=()
  for i in "${!PRETRAIN_LAMB_NAMES[@]}"; do
    LAMB_ARGS+=("${values[$i]:-${PRETRAIN_LAMB_DEFAULTS[$i]}}")
    printf -v "${PRETRAIN_LAMB_NAMES[$i]}" '%s' "${LAMB_ARGS[$i]}"
  done
  local kinds=(count count count rate rate precision bool count steps steps count count count count model)
  for i in "${!kinds[@]}"; do
    pretrain_check "$script" "${kinds[$i]}" "${PRETRAIN_LAMB_NAMES[$i]}" "${LAMB_ARGS[$i]}"
  done
}

# Prints the bert_config.json for a bert_model argument: $BERT_CONFIG when set, else the architecture
# shipped in scripts/configs (bert_model_config: large and base as in Google's checkpoints).
pretrain_bert_config ()
{
  local config="${BERT_CONFIG:-$(bert_model_config "$1")}"
  if [ ! -f "$config" ]; then
    echo "Error! bert config $config missing (bert_model=$1, BERT_CONFIG=${BERT_CONFIG:-unset})" >&2
    return 1
  fi
  echo "$config"
}

# Prints the TFRecord dataset folder (holding training/ and test/) for sequence length $1, $2 masked positions
# and lower_case $3 (1, the default: uncased; 0: cased), in NVIDIA's layout (as data/create_datasets_from_start.sh
# and create_biobert_datasets_from_start.sh write it):
#   $DATA_DIR/tfrecord/lower_case_<$3>_seq_len_<$1>_max_pred_<$2>_masked_lm_prob_<$MASKED_LM_PROB>_
#       random_seed_12345_dupe_factor_5_<$TFRECORD_SHARDS>/<$DATASET>
# MASKED_LM_PROB defaults to 0.15 (NVIDIA's); DATA_DIR to the repository's data/; DATASET to the first present
# of books_wiki_en_corpus, wikicorpus_en and sample_corpus; TFRECORD_SHARDS (e.g. shard_1472_test_split_10) to
# the one variant present. Needs ROOT.
pretrain_data_dir ()
(
  shopt -s nullglob
  local data="${DATA_DIR:-$ROOT/data}" ds
  local prefix="$data/tfrecord/lower_case_${3:-1}_seq_len_$1_max_pred_$2_masked_lm_prob_${MASKED_LM_PROB:-0.15}"
  prefix+="_random_seed_12345_dupe_factor_5_"
  local shards="${TFRECORD_SHARDS:-shard_*_test_split_*}"
  for ds in ${DATASET:-books_wiki_en_corpus wikicorpus_en sample_corpus}; do
    # shellcheck disable=SC2206  # $shards is a glob on purpose
    local found=("$prefix"$shards/"$ds"/training)
    if [ ${#found[@]} -gt 1 ]; then
      echo "Error! several TFRecord folders for $ds at seq_len $1: ${found[*]%/training}; set TFRECORD_SHARDS" >&2
      exit 1
    elif [ ${#found[@]} = 1 ]; then
      echo "${found[0]%/training}"
      exit 0
    fi
  done
  echo "Error! no TFRecords at seq_len $1 / max_pred $2: looked for $prefix$shards/{${DATASET:-books_wiki_en_corpus,wikicorpus_en,sample_corpus}}/training." >&2
  local maker="data/create_datasets_from_start.sh (\`sample\` for the small shipped text)"
  [[ "${DATASET:-}" != pubmed_* ]] || maker=data/create_biobert_datasets_from_start.sh
  echo "Create them with $maker or set DATA_DIR." >&2
  exit 1
)

# Prints the final (highest-step) model.ckpt-<step> checkpoint prefix in directory $1.
pretrain_final_checkpoint ()
(
  shopt -s nullglob
  local found=("$1"/model.ckpt-*.index)
  if [ ${#found[@]} = 0 ]; then
    echo "Error! no model.ckpt-* checkpoint in $1: run phase 1 first (or set PHASE1_CHECKPOINT)" >&2
    exit 1
  fi
  printf '%s\n' "${found[@]%.index}" | sort -V | tail -n 1
)

# Sets PY (bert_python: $PYTHON, default the repository's .venv), LAUNCH (horovod_prefix: the command prefix
# starting $1 workers; empty for one, else horovodrun, or mpirun with LAUNCHER=mpirun; HOROVOD_HOSTS) and
# HOROVOD_FLAG (--horovod for more than one worker, else --nohorovod).
pretrain_launcher ()
{
  PY="$(bert_python)" || return 1
  horovod_prefix LAUNCH "$1" "$PY" || return 1
  # shellcheck disable=SC2034  # read by the launchers
  if [ "$1" -gt 1 ]; then HOROVOD_FLAG=--horovod; else HOROVOD_FLAG=--nohorovod; fi
}

# Sets PRECISION_FLAGS, run_pretraining.py's flags for the precision and use_xla arguments. fp16 and
# manual_fp16 both mean automatic mixed precision with dynamic loss scaling (--amp); tf32 is TensorFlow's
# default float32 math on Ampere GPUs.
pretrain_precision_flags ()
{
  local amp=--noamp xla=--nouse_xla
  case "$1" in fp16|manual_fp16) amp=--amp ;; esac
  if [ "$2" = true ]; then xla=--use_xla; fi
  # shellcheck disable=SC2034  # read by the launchers
  PRECISION_FLAGS=("$amp" "$xla")
}

# Sets what every pretraining launcher needs before pretrain_phase: DATA (pretrain_data_dir for sequence length
# $1, $2 masked positions and lower_case $3, default 1), CONFIG (for $bert_model), PY, LAUNCH and HOROVOD_FLAG
# (for $num_gpus), PRECISION_FLAGS (for $precision and $use_xla) and INIT_FLAGS
# (--init_checkpoint=$INIT_CHECKPOINT when that is set). Needs ROOT.
pretrain_setup ()
{
  DATA="$(pretrain_data_dir "$1" "$2" "${3:-1}")"
  CONFIG="$(pretrain_bert_config "$bert_model")"
  pretrain_launcher "$num_gpus"
  pretrain_precision_flags "$precision" "$use_xla"
  INIT_FLAGS=()
  if [ -n "${INIT_CHECKPOINT:-}" ]; then INIT_FLAGS=(--init_checkpoint="$INIT_CHECKPOINT"); fi
}

# Runs one pretraining phase on $DATA/{training,test} with $CONFIG and the launcher and precision flags:
#   pretrain_phase OUT LOG BATCH SEQ_LEN MAX_PRED STEPS WARMUP ACCUMULATION LEARNING_RATE OPTIMIZER [flags...]
pretrain_phase ()
{
  local out="$1" log="$2" batch="$3" seq="$4" pred="$5" steps="$6" warmup="$7" accum="$8" lr="$9"
  local optimizer="${10}"
  shift 10
  pretrain_run "$out" "$log" \
    --input_files_dir="$DATA/training" --eval_files_dir="$DATA/test" --bert_config_file="$CONFIG" \
    --do_train --do_eval --train_batch_size="$batch" --eval_batch_size="$eval_batch_size" \
    --max_seq_length="$seq" --max_predictions_per_seq="$pred" --num_train_steps="$steps" \
    --num_warmup_steps="$warmup" --num_accumulation_steps="$accum" \
    --save_checkpoints_steps="$save_checkpoints_steps" --keep_checkpoint_max="${KEEP_CHECKPOINT_MAX:-5}" \
    --learning_rate="$lr" --optimizer_type="$optimizer" \
    --allreduce_post_accumulation "${PRECISION_FLAGS[@]}" "$HOROVOD_FLAG" "$@"
}

# Runs run_pretraining.py (through LAUNCH, with PY) with output dir $1 and the other arguments, appends
# its output to the log file $2 and prints the final evaluation results; fails with run_pretraining.py.
#   pretrain_run OUTPUT_DIR LOGFILE FLAGS...
pretrain_run ()
{
  local out="$1" log="$2"; shift 2
  mkdir -p "$out"
  echo "Saving checkpoints to $out; log $log"
  local status=0
  "${LAUNCH[@]}" "$PY" "$ROOT/run_pretraining.py" --output_dir="$out" "$@" 2>&1 | tee -a "$log" \
      || status=${PIPESTATUS[0]}
  if [ "$status" != 0 ]; then
    echo "run_pretraining.py failed with status $status (output dir $out, log $log)" >&2
    return "$status"
  fi
  echo "Final eval results ($out/eval_results.txt):"
  sed 's/^/  /' "$out/eval_results.txt"
}
