"""Reads and writes the safetensors format with numpy alone (no torch, no safetensors package).

Layout: an 8-byte little-endian header length N, N bytes of JSON
({name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}), then the raw
little-endian tensor bytes, offsets relative to the end of the header.
"""

import json
import os
import struct

import numpy as np

_DTYPES = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
    "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_,
}
_NAMES = {np.dtype(v): k for k, v in _DTYPES.items()}


def load_file(path):
    """Returns {name: numpy array} for every tensor in a safetensors file (bfloat16 read as float32).

    Raises:
      ValueError: naming the file, if it is truncated or not in the safetensors format.
    """
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError("%s: not a safetensors file (%d bytes)" % (path, len(data)))
    (header_len,) = struct.unpack("<Q", data[:8])
    if 8 + header_len > len(data):
        raise ValueError("%s: not a safetensors file (header length %d beyond end)" % (path, header_len))
    try:
        header = json.loads(data[8:8 + header_len].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError("%s: unreadable safetensors header: %s" % (path, e)) from None
    body = memoryview(data)[8 + header_len:]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        if end > len(body):
            raise ValueError("%s: tensor %s runs past the end of the file (truncated?)" % (path, name))
        shape = tuple(info["shape"])
        dtype = info["dtype"]
        if dtype == "BF16":
            raw = np.frombuffer(body[begin:end], dtype="<u2").astype(np.uint32) << 16
            array = raw.view(np.float32).reshape(shape)
        elif dtype in _DTYPES:
            array = np.frombuffer(body[begin:end], dtype=np.dtype(_DTYPES[dtype]).newbyteorder("<"))
            array = array.reshape(shape).copy()
        else:
            raise ValueError("%s: tensor %s has unsupported dtype %s" % (path, name, dtype))
        tensors[name] = array
    return tensors


def save_file(tensors, path, metadata=None):
    """Writes {name: numpy array} to `path` atomically (a temporary file renamed into place)."""
    header = {}
    offset = 0
    ordered = sorted(tensors.items())
    for name, array in ordered:
        array = np.asarray(array)
        if array.dtype not in _NAMES:
            raise ValueError("tensor %s has unsupported dtype %s" % (name, array.dtype))
        nbytes = array.size * array.dtype.itemsize
        header[name] = {"dtype": _NAMES[array.dtype], "shape": list(array.shape),
                        "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    header_bytes += b" " * (-len(header_bytes) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(header_bytes)))
        f.write(header_bytes)
        for _, array in ordered:
            f.write(np.ascontiguousarray(array, dtype=np.asarray(array).dtype.newbyteorder("<")).tobytes())
    os.replace(tmp, path)
