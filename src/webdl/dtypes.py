"""The three dtypes webdl knows: float32 for values, int64 for indices, bool for masks."""
import builtins

import numpy as np


class dtype:
    __slots__ = ("name", "np", "is_floating_point", "rank")

    def __init__(self, name, np_dtype, is_float, rank):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.is_floating_point = is_float
        self.rank = rank  # type-promotion order: bool < int64 < float32

    def __repr__(self):
        return "webdl." + self.name

    def __reduce__(self):
        return (to_dtype, (self.name,))


float32 = dtype("float32", np.float32, True, 2)
int64 = dtype("int64", np.int64, False, 1)
bool_ = dtype("bool", np.bool_, False, 0)
float = float32  # noqa: A001 - torch-style aliases
long = int64

_BY_NAME = {"float32": float32, "float": float32, "float64": float32, "double": float32,
            "float16": float32, "half": float32,
            "int64": int64, "long": int64, "int32": int64, "int": int64, "int16": int64,
            "int8": int64, "uint8": int64, "bool": bool_}


def to_dtype(d):
    """Map a webdl dtype, a numpy dtype, a Python type or a name to a webdl dtype."""
    if isinstance(d, dtype):
        return d
    if d is None:
        return None
    if d is builtins.float:
        return float32
    if d is builtins.int:
        return int64
    if d is builtins.bool:
        return bool_
    name = getattr(d, "name", None) or str(d)
    name = name.replace("torch.", "").replace("webdl.", "")
    try:
        return _BY_NAME[name]
    except KeyError:
        try:
            return _BY_NAME[np.dtype(d).name]
        except (TypeError, KeyError):
            raise TypeError(f"dtype: unsupported dtype {d!r}; webdl has float32, int64 and bool") from None


def promote(a, b):
    return a if a.rank >= b.rank else b
