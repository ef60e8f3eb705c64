#!/usr/bin/env bash
# What every launcher (scripts/run_*.sh) needs, defined once: the Python interpreter, the command prefix that
# starts Horovod workers, and what a bert_model argument names (a model folder or an architecture).
# scripts/configs/pretrain_config.sh, glue_config.sh and squad_config.sh source this file, so the launchers
# that source those have these helpers too.
#
# Each helper takes its inputs as arguments and prints (or, horovod_prefix, sets) one result; besides its
# arguments it reads only the environment variables named in its comment.

BERT_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$BERT_REPO/scripts/configs/minilm.sh"

# Prints the Python interpreter to run: $PYTHON, default the repository's .venv/bin/python (scripts/setup.sh
# makes it). Fails, naming it, when it cannot be run.
#   PY="$(bert_python)"
bert_python ()
{
  local py="${PYTHON:-$BERT_REPO/.venv/bin/python}"
  if ! command -v "$py" >/dev/null; then
    echo "Error! python $py not found: run scripts/setup.sh or set PYTHON" >&2
    return 1
  fi
  echo "$py"
}

# Sets the array named ARRAY to the command prefix that starts WORKERS processes of interpreter PYTHON:
# empty for one worker (Python runs directly); for more, `horovodrun -np N -H $HOROVOD_HOSTS` (default
# localhost:N), the horovodrun beside PYTHON (its virtualenv's) or else the one on PATH (it uses MPI when
# Horovod was built with it and mpirun exists, else Gloo), or with LAUNCHER=mpirun
# `mpirun --allow-run-as-root -np N --bind-to none --map-by slot -x PATH`. The script still needs --horovod.
#   horovod_prefix ARRAY WORKERS PYTHON      e.g.  horovod_prefix LAUNCH "$num_gpus" "$PY"
#                                                  "${LAUNCH[@]}" "$PY" run_squad.py ...
# shellcheck disable=SC2034  # horovod_prefix_out is a reference to the caller's array
horovod_prefix ()
{
  local -n horovod_prefix_out="$1"
  local workers="$2" python="$3" hvdrun
  horovod_prefix_out=()
  [ "$workers" -gt 1 ] || return 0
  case "${LAUNCHER:-horovodrun}" in
    horovodrun)
      hvdrun="$(dirname "$(command -v "$python")")/horovodrun"
      [ -x "$hvdrun" ] || hvdrun="$(command -v horovodrun)" || {
        echo "Error! horovodrun not found next to $python nor on PATH (scripts/setup.sh builds Horovod)" >&2
        return 1; }
      horovod_prefix_out=("$hvdrun" -np "$workers" -H "${HOROVOD_HOSTS:-localhost:$workers}") ;;
    mpirun)
      horovod_prefix_out=(mpirun --allow-run-as-root -np "$workers" --bind-to none --map-by slot -x PATH) ;;
    *) echo "Error! LAUNCHER=$LAUNCHER: expected horovodrun or mpirun" >&2; return 1 ;;
  esac
}

# Prints the model folder (bert_config.json, vocab.txt, bert_model.ckpt) that a fine-tuning launcher's
# bert_model argument names: the one table of these names, the same for SQuAD, GLUE and the benchmarks.
#   base        data/download/google_pretrained_weights/uncased_L-12_H-768_A-12 (Google's BERT-base, uncased)
#   large       data/download/google_pretrained_weights/uncased_L-24_H-1024_A-16 (Google's BERT-large, uncased)
#   large_lamb  data/download/nvidia_pretrained/bert_tf_pretraining_large_lamb (NVIDIA's LAMB-pretrained
#               BERT-large: what NVIDIA's run_glue.sh, alone among its launchers, calls "large")
#   minilm      the real MiniLM-L6, converted with PYTHON on first use (scripts/configs/minilm.sh; MINILM_DIR)
# Any other name: status 2, nothing printed (the launchers say what else they accept). The folder's files
# are not checked here.
#   bert_model_dir MODEL PYTHON
bert_model_dir ()
{
  local model="$1" python="$2" download="$BERT_REPO/data/download"
  case "$model" in
    base) echo "$download/google_pretrained_weights/uncased_L-12_H-768_A-12" ;;
    large) echo "$download/google_pretrained_weights/uncased_L-24_H-1024_A-16" ;;
    large_lamb) echo "$download/nvidia_pretrained/bert_tf_pretraining_large_lamb" ;;
    minilm) minilm_dir "$python" ;;
    *) return 2 ;;
  esac
}

# Prints the architecture (bert_config.json) shipped in scripts/configs for a bert_model name (large and base
# as in Google's checkpoints, minilm, mini, tiny, ...); the file is not checked here.
#   bert_model_config MODEL
bert_model_config ()
{
  echo "$BERT_REPO/scripts/configs/bert_$1_config.json"
}
