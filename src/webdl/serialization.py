"""save/load in the safetensors format: an 8-byte little-endian header length, a JSON
header of {name: {dtype, shape, data_offsets}}, then the raw little-endian tensor bytes."""
import json
import os
import struct

import numpy as np

from .tensor import Tensor, tensor

_TO_ST = {"float32": "F32", "int64": "I64", "bool": "BOOL"}
_FROM_ST = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64,
            "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}


def save(state_dict, path, metadata=None):
    """Write a dict of name -> Tensor to ``path`` as safetensors."""
    header, chunks, offset = {}, [], 0
    for name, t in state_dict.items():
        if not isinstance(t, Tensor):
            raise TypeError(f"save: value for key '{name}' is a {type(t).__name__}, not a Tensor")
        arr = np.ascontiguousarray(t.detach()._value())
        data = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": _TO_ST[t.dtype.name], "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = f"{path}.tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for c in chunks:
            f.write(c)
    os.replace(tmp, path)  # never leave a half-written file under the real name


def load(path, device=None):
    """Read a safetensors file into an ordered dict of name -> Tensor (float16/64 become
    float32, smaller ints int64)."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise OSError(f"load: cannot read '{path}': {e.strerror}") from None
    if len(raw) < 8:
        raise ValueError(f"load: '{path}' is not a safetensors file (too short)")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        raise ValueError(f"load: '{path}' is not a safetensors file (header length {n} exceeds "
                         f"the file size {len(raw)})")
    try:
        header = json.loads(raw[8:8 + n])
    except ValueError:
        raise ValueError(f"load: '{path}' has a malformed safetensors header") from None
    body = memoryview(raw)[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        st = info.get("dtype")
        if st not in _FROM_ST:
            raise ValueError(f"load: tensor '{name}' in '{path}' has unsupported dtype {st}")
        a, b = info["data_offsets"]
        shape = tuple(info["shape"])
        dt = np.dtype(_FROM_ST[st]).newbyteorder("<")
        if b > len(body) or b - a != int(np.prod(shape, dtype=np.int64)) * dt.itemsize:
            raise ValueError(f"load: tensor '{name}' in '{path}' is truncated or its offsets "
                             f"don't match shape {shape} and dtype {st}")
        arr = np.frombuffer(body[a:b], dtype=dt).reshape(shape)
        if arr.dtype.kind == "f":
            arr = arr.astype(np.float32)
        out[name] = tensor(arr, device=device)
    return dict(sorted(out.items(), key=lambda kv: header[kv[0]]["data_offsets"][0]))
