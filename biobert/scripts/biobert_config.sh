#!/usr/bin/env bash
# BioBERT fine-tuning presets, and the helpers the biobert/scripts launchers share.
#
# The fine-tuning launchers (ner_bc5cdr-chem.sh, ner_bc5cdr-disease.sh, ner_ncbi-disease.sh, rel_chemprot.sh,
# rel_gad.sh) take NVIDIA's 11 positional arguments:
#   init_checkpoint train_batch_size learning_rate cased precision use_xla num_gpu seq_length bert_model
#   eval_batch_size epochs
# A missing or empty argument takes its default, sized for a 2-core CPU with the real MiniLM: the converted
# MiniLM's checkpoint, 32 5e-5 false fp32 false 1 128 minilm 32 3.0. Each preset below prints the 10 arguments
# after init_checkpoint (pass "" for the default checkpoint):
#   bash biobert/scripts/ner_bc5cdr-chem.sh "" $(source biobert/scripts/biobert_config.sh && ner_dgx1_16gpu_fp16)

# NVIDIA's values (its launchers' defaults: BioBERT-base on 16 GPUs, AMP and XLA).
ner_dgx1_16gpu_fp16 () { echo 8 3.125e-6 false fp16 true 16 128 base 8 10.0; }
rel_dgx1_16gpu_fp16 () { echo 8 1.5e-6 false fp16 true 16 512 base 16 3.0; }
# The 2-core CPU defaults, spelled out; and the same with bfloat16 compute on a CPU with bfloat16 units.
cpu_2core_minilm_fp32 () { echo 32 5e-5 false fp32 false 1 128 minilm 32 3.0; }
cpu_2core_minilm_amp () { echo 32 5e-5 false fp16 false 1 128 minilm 32 3.0; }

# The interpreter, the Horovod prefix and the pretraining helpers (pretrain_check, pretrain_usage_error).
BIOBERT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=../../scripts/configs/pretrain_config.sh
source "$BIOBERT_ROOT/scripts/configs/pretrain_config.sh"

BIOBERT_NAMES=(init_checkpoint train_batch_size learning_rate cased precision use_xla num_gpu seq_length
               bert_model eval_batch_size epochs)

# Prints the model folder (bert_config.json, vocab.txt, bert_model.ckpt) of a bert_model name: $BERT_DIR when
# set; minilm (the real MiniLM, converted on first use by scripts/configs/minilm.sh); base and large: Google's
# BERT under data/download/google_pretrained_weights ({un,}cased_L-12_H-768_A-12, {un,}cased_L-24_H-1024_A-16)
# as NVIDIA's launchers have them.
#   biobert_bert_dir MODEL CASED PYTHON
biobert_bert_dir ()
{
  local casing=uncased weights="$BIOBERT_ROOT/data/download/google_pretrained_weights"
  if [ -n "${BERT_DIR:-}" ]; then echo "$BERT_DIR"; return; fi
  [ "$2" = true ] && casing=cased
  case "$1" in
    minilm) minilm_dir "$3" ;;
    base) echo "$weights/${casing}_L-12_H-768_A-12" ;;
    large) echo "$weights/${casing}_L-24_H-1024_A-16" ;;
  esac
}

# Sets the launcher arguments as variables named as in BIOBERT_NAMES (defaults for the empty ones), checks them
# (a bad one: usage and status 2), and sets PY, BERT_DIR, CASE_FLAG, RUN_FLAGS (precision, XLA, Horovod) and
# LAUNCH (horovod_prefix).
#   biobert_args SCRIPT "$@"
biobert_args ()
{
  local script="$1"; shift
  [ $# -le 11 ] || pretrain_usage_error "$script" "$# arguments given, at most 11 expected"
  local defaults=("" 32 5e-5 false fp32 false 1 128 minilm 32 3.0) values=("$@") i
  for i in "${!BIOBERT_NAMES[@]}"; do
    printf -v "${BIOBERT_NAMES[$i]}" '%s' "${values[$i]:-${defaults[$i]}}"
  done
  # shellcheck disable=SC2154  # set just above
  pretrain_check "$script" count train_batch_size "$train_batch_size" rate learning_rate "$learning_rate" \
    bool cased "$cased" precision precision "$precision" bool use_xla "$use_xla" count num_gpu "$num_gpu" \
    count seq_length "$seq_length" count eval_batch_size "$eval_batch_size" rate epochs "$epochs"
  [[ "$bert_model" =~ ^(minilm|base|large)$ ]] || [ -n "${BERT_DIR:-}" ] ||
    pretrain_usage_error "$script" "bert_model='$bert_model' is not minilm, base or large (or set BERT_DIR)"
  biobert_runtime "$cased" "$precision" "$use_xla" "$num_gpu" "$bert_model"
  init_checkpoint="${init_checkpoint:-$BERT_DIR/bert_model.ckpt}"
}

# Sets PY, BERT_DIR, CASE_FLAG, RUN_FLAGS and LAUNCH for cased precision use_xla num_gpu bert_model.
biobert_runtime ()
{
  PY="$(bert_python)"
  BERT_DIR="$(biobert_bert_dir "$5" "$1" "$PY")"
  [ -f "$BERT_DIR/vocab.txt" ] && [ -f "$BERT_DIR/bert_config.json" ] || {
    echo "Error! $BERT_DIR lacks vocab.txt or bert_config.json (bert_model=$5; or set BERT_DIR)" >&2; exit 2; }
  if [ "$1" = true ]; then CASE_FLAG=--nodo_lower_case; else CASE_FLAG=--do_lower_case; fi
  pretrain_precision_flags "$2" "$3"
  RUN_FLAGS=("${PRECISION_FLAGS[@]}")
  if [ "$4" -gt 1 ]; then RUN_FLAGS+=(--horovod); fi
  horovod_prefix LAUNCH "$4" "$PY"
}

# Prints the data folder of a task under $BIOBERT_DATA_DIR (default data/biobert, NVIDIA's layout as
# biobert_data_download.sh writes it); status 2 with a message when it is missing.
#   biobert_data_dir SUBDIR
biobert_data_dir ()
{
  local dir="${BIOBERT_DATA_DIR:-$BIOBERT_ROOT/data/biobert}/$1"
  if [ ! -d "$dir" ]; then
    echo "Error! $dir not found: run biobert/scripts/biobert_data_download.sh or set BIOBERT_DATA_DIR" >&2
    exit 2
  fi
  echo "$dir"
}

# Runs run_ner.py or run_re.py (SCRIPT) on the task with the arguments of biobert_args, in a fresh
# $RESULTS_DIR/<tag>_<date> folder, logging to <tag>.log there; --do_predict when the data has test.tsv.
#   biobert_finetune SCRIPT TASK DATA_SUBDIR TAG [more run_*.py flags]
biobert_finetune ()
{
  local script="$1" task="$2" data tag
  data="$(biobert_data_dir "$3")"
  printf -v tag "tf_bert_biobert_%s_%s_%s_gbs%d" "$4" "$bert_model" "$precision" $((train_batch_size * num_gpu))
  shift 4
  OUTPUT_DIR="${RESULTS_DIR:-$BIOBERT_ROOT/results}/${tag}_$(date +'%y%m%d%H%M%S')"
  mkdir -p "$OUTPUT_DIR"
  local predict=--nodo_predict
  [ -f "$data/test.tsv" ] && predict=--do_predict
  echo "$script $task: data $data, model $BERT_DIR, results and log in $OUTPUT_DIR"
  "${LAUNCH[@]}" "$PY" "$BIOBERT_ROOT/$script" --task_name="$task" --data_dir="$data" \
    --vocab_file="$BERT_DIR/vocab.txt" --bert_config_file="$BERT_DIR/bert_config.json" \
    --init_checkpoint="$init_checkpoint" --output_dir="$OUTPUT_DIR" --max_seq_length="$seq_length" \
    --train_batch_size="$train_batch_size" --eval_batch_size="$eval_batch_size" \
    --predict_batch_size="$eval_batch_size" --learning_rate="$learning_rate" --num_train_epochs="$epochs" \
    --do_eval "$predict" "$CASE_FLAG" "${RUN_FLAGS[@]}" "$@" 2>&1 | tee "$OUTPUT_DIR/$tag.log"
  return "${PIPESTATUS[0]}"
}

# Sets TASK_SCRIPT, TASK_NAME, TASK_DATA, TASK_TAG and TASK_SEQ_LENGTH (NVIDIA's inference length) of a task name
# of the inference and benchmark launchers; an unknown one: usage and status 2.
#   biobert_task_table SCRIPT TASK
biobert_task_table ()
{
  TASK_SEQ_LENGTH=128
  case "$2" in
    ner_bc5cdr-chem) set -- "$1" run_ner.py bc5cdr-chem BC5CDR/chem ner_bc5cdr_chem ;;
    ner_bc5cdr-disease) set -- "$1" run_ner.py bc5cdr-disease BC5CDR/disease ner_bc5cdr_disease ;;
    ner_ncbi-disease) set -- "$1" run_ner.py ncbi-disease NCBI-disease ner_ncbi_disease ;;
    rel_chemprot) set -- "$1" run_re.py chemprot chemprot-data_treeLSTM rel_chemprot; TASK_SEQ_LENGTH=512 ;;
    rel_gad) set -- "$1" run_re.py gad GAD rel_gad ;;
    *) pretrain_usage_error "$1" "task='$2' is not ner_bc5cdr-chem, ner_bc5cdr-disease, ner_ncbi-disease, \
rel_chemprot or rel_gad" ;;
  esac
  TASK_SCRIPT="$2" TASK_NAME="$3" TASK_DATA="$4" TASK_TAG="$5"
}

# Runs the task (biobert_task_table's TASK_*) once per sequence length, batch size and precision of
# SEQ_LENGTHS, BATCH_SIZES and PRECISIONS, and prints a table of the throughput: MODE train (training for
# EPOCHS epochs, throughput_train) or inference (evaluation, throughput_eval).
#   biobert_benchmark MODE TASK NUM_GPU BERT_MODEL CASED
biobert_benchmark ()
{
  local mode="$1" task="$2" gpus="$3" model="$4" cased="$5" seq bs prec rows=() key=throughput_eval extra=()
  [ "$mode" = train ] && key=throughput_train && extra=(--do_train --save_checkpoints_steps=100000)
  for seq in ${SEQ_LENGTHS:-128}; do
    for bs in ${BATCH_SIZES:-8 32}; do
      for prec in ${PRECISIONS:-fp32 fp16}; do
        biobert_args "$0" "" "$bs" "" "$cased" "$prec" false "$gpus" "$seq" "$model" "$bs" "${EPOCHS:-0.1}"
        biobert_finetune "$TASK_SCRIPT" "$TASK_NAME" "$TASK_DATA" "${TASK_TAG}_${mode}_benchmark" "${extra[@]}" \
          >/dev/null
        rows+=("$(printf '%-9s %-10s %-10s %s' "$prec" "$seq" "$bs" \
          "$(grep -o "\"$key\": [0-9.]*" "$OUTPUT_DIR/bert_dllog.json" | tail -n 1 | cut -d' ' -f2)")")
      done
    done
  done
  echo "BioBERT $task $mode benchmark, $gpus worker(s), $BERT_DIR (sentences/sec)"
  printf '%-9s %-10s %-10s %s\n' precision seq_length batch_size sentences/sec
  printf '%s\n' "${rows[@]}"
}

# PubMed pretraining (run_pretraining_pubmed_base_phase_{1,2}.sh) on the pretraining launchers' machinery
# (scripts/configs/pretrain_config.sh: pretrain_setup, pretrain_phase). Arguments in NVIDIA's order:
BIOBERT_PRETRAIN_NAMES=(train_batch_size learning_rate cased precision use_xla num_gpus warmup_steps train_steps
                        num_accumulation_steps save_checkpoints_steps eval_batch_size)
# NVIDIA's values (DGX-1, 16 GPUs): phase 1 from Google's BERT-base, phase 2 from phase 1's final checkpoint.
pubmed_phase1_dgx1_16gpu_fp16 () { echo 128 9.625e-5 false fp16 true 16 1953 19531 32 5000 80; }
pubmed_phase2_dgx1_16gpu_fp16 () { echo 16 2.9e-4 false fp16 true 16 434 4340 128 5000 26; }

# Runs pretraining phase $1 (1: 128 tokens / 20 masked; 2: 512 / 80, or MAX_SEQ_LENGTH_PHASE2 /
# MAX_PREDICTIONS_PHASE2) with LAMB on $DATA_DIR's TFRecords of DATASET (default pubmed_baseline), the 11
# arguments after the script name (defaults: the 2-core CPU's, MiniLM continued for 100 updates), into
# $RESULTS_DIR/biobert_phase_$1, from INIT_CHECKPOINT (phase 1's default: biobert_pretrained_checkpoint).
# cased, as in NVIDIA's launchers: false reads the lower_case_1_... TFRecords (uncased vocabulary), true the
# lower_case_0_... ones (cased vocabulary; data/create_biobert_datasets_from_start.sh makes both) and takes
# Google's cased BERT (bert_config.json and checkpoint) for base and large; the MiniLM is uncased only.
#   biobert_pretrain PHASE SCRIPT ARGS...
biobert_pretrain ()
{
  local phase="$1" script="$2" values i seq pred lower_case=1
  local ROOT="$BIOBERT_ROOT"   # the repository, for pretrain_setup and pretrain_phase
  shift 2
  [ $# -le 11 ] || pretrain_usage_error "$script" "$# arguments given, at most 11 expected"
  local defaults=(16 5e-4 false fp32 false 1 10 100 1 50 16)
  values=("$@")
  for i in "${!BIOBERT_PRETRAIN_NAMES[@]}"; do
    printf -v "${BIOBERT_PRETRAIN_NAMES[$i]}" '%s' "${values[$i]:-${defaults[$i]}}"
  done
  # shellcheck disable=SC2154  # set just above
  pretrain_check "$script" count train_batch_size "$train_batch_size" rate learning_rate "$learning_rate" \
    bool cased "$cased" precision precision "$precision" bool use_xla "$use_xla" count num_gpus "$num_gpus" \
    steps warmup_steps "$warmup_steps" count train_steps "$train_steps" \
    count num_accumulation_steps "$num_accumulation_steps" count save_checkpoints_steps "$save_checkpoints_steps" \
    count eval_batch_size "$eval_batch_size"
  bert_model="${BERT_MODEL:-minilm}"
  pretrain_check "$script" model BERT_MODEL "$bert_model"
  if [ "$cased" = true ]; then
    lower_case=0
    case "$bert_model" in
      minilm) pretrain_usage_error "$script" "cased=true: the MiniLM is uncased; use BERT_MODEL=base or large \
(Google's cased BERT) or a model trained from scratch (tiny, mini)" ;;
      base|large) export BERT_CONFIG="${BERT_CONFIG:-$(biobert_bert_dir "$bert_model" true "")/bert_config.json}" ;;
    esac
  fi
  export DATASET="${DATASET:-pubmed_baseline}"
  if [ "$phase" = 1 ] && [ -z "${INIT_CHECKPOINT+set}" ]; then
    INIT_CHECKPOINT="$(biobert_pretrained_checkpoint "$bert_model" "$cased")"
  fi
  seq=128 pred=20
  if [ "$phase" = 2 ]; then seq=${MAX_SEQ_LENGTH_PHASE2:-512} pred=${MAX_PREDICTIONS_PHASE2:-80}; fi
  pretrain_setup "$seq" "$pred" "$lower_case"
  local out="${RESULTS_DIR:-$BIOBERT_ROOT/results}/biobert_phase_$phase"
  echo "PubMed phase $phase: $train_steps updates of $num_gpus x $train_batch_size x $num_accumulation_steps" \
       "sequences of $seq tokens from $DATA, model $CONFIG, init ${INIT_CHECKPOINT:-none}"
  pretrain_phase "$out" "$out/biobert_phase_$phase.$(date +'%y%m%d%H%M%S').log" "$train_batch_size" "$seq" \
    "$pred" "$train_steps" "$warmup_steps" "$num_accumulation_steps" "$learning_rate" lamb --report_loss \
    "${INIT_FLAGS[@]}"
}

# Prints the pretrained checkpoint phase 1 continues by default for a bert_model and cased: the converted
# MiniLM's for minilm, Google's BERT (biobert_bert_dir) for base and large, nothing (from scratch) for the others.
#   biobert_pretrained_checkpoint MODEL CASED
biobert_pretrained_checkpoint ()
{
  case "$1" in
    minilm) echo "$(minilm_dir "$(bert_python)")/bert_model.ckpt" ;;
    base|large) echo "$(biobert_bert_dir "$1" "$2" "")/bert_model.ckpt" ;;
  esac
}
