"""The processor, as Linux describes it in /proc/cpuinfo: its model name and whether it computes bfloat16.

bfloat16 units come as the flags avx512_bf16 (AMD Zen 4 and later, Intel Cooper Lake and later) and amx_bf16
(Intel Sapphire Rapids and later). Without them TensorFlow still runs bfloat16 ops, emulated in float32 and
slower than float32 itself, so `--amp` computes in bfloat16 only where one of these flags is present.
"""

CPUINFO = "/proc/cpuinfo"
BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def _fields(path):
  """The `key: value` fields of the first processor in a cpuinfo file; {} when there is no such file."""
  fields = {}
  try:
    with open(path, encoding="utf-8", errors="replace") as f:
      for line in f:
        if not line.strip():
          break   # the first processor's block ends at the first blank line
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
  except OSError:
    pass
  return fields


def model_name(path=CPUINFO):
  """The processor's model name, e.g. "AMD EPYC 9R14", or "unknown processor"."""
  return _fields(path).get("model name", "unknown processor")


def matrix_flags(path=CPUINFO):
  """The processor's bfloat16 and AMX flags (avx512_bf16, amx_*), in the order cpuinfo lists them."""
  return [f for f in _fields(path).get("flags", "").split() if f == "avx512_bf16" or f.startswith("amx")]


def bf16_flags(path=CPUINFO):
  """The flags among `BF16_FLAGS` the processor has; empty when it has no bfloat16 units."""
  return [f for f in matrix_flags(path) if f in BF16_FLAGS]


def describe(path=CPUINFO):
  """One line for logs and benchmark headers: the model name and its bfloat16/AMX flags."""
  flags = matrix_flags(path)
  return "%s, bf16/AMX flags: %s" % (model_name(path), " ".join(flags) if flags else "none")
