"""The three dtypes webdl stores: float32 for values, int64 for indices, bool for masks.

PyTorch's other dtype names exist so that programs naming them run, but they are the same
objects as the storage types: every floating name (``float16``/``half``, ``bfloat16``,
``float64``/``double``) *is* ``float32`` and every integer name (``int32``, ``int16``,
``int8``, ``uint8``, ``short``) *is* ``int64``. ``finfo``/``iinfo`` report the types
really stored, so ``finfo(float16).eps`` is float32's eps, not float16's.
"""
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
# PyTorch's names for types webdl does not store: the storage types themselves (see above)
double = float64 = float32
half = float16 = bfloat16 = float32
int32 = int16 = short = int8 = uint8 = int64

_BY_NAME = {"float32": float32, "float": float32, "float64": float32, "double": float32,
            "float16": float32, "half": float32, "bfloat16": float32,
            "int64": int64, "long": int64, "int32": int64, "int": int64, "int16": int64,
            "short": int64, "int8": int64, "uint8": int64, "bool": bool_}


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


class finfo:
    """Machine limits of a floating dtype as webdl stores it (``finfo(float16)`` describes
    float32, which is what a "float16" tensor holds here). Fields as in ``torch.finfo``."""
    __slots__ = ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype")

    def __init__(self, type=None):  # noqa: A002 - PyTorch's argument name
        d = float32 if type is None else to_dtype(type)
        if not d.is_floating_point:
            raise TypeError(f"finfo: {d!r} is not a floating point type; use webdl.iinfo for "
                            "integer types")
        info = np.finfo(d.np)
        self.bits = info.bits
        self.eps = builtins.float(info.eps)
        self.max = builtins.float(info.max)
        self.min = builtins.float(info.min)
        self.tiny = self.smallest_normal = builtins.float(info.smallest_normal)
        self.resolution = 10.0 ** -info.precision
        self.dtype = d.name

    def __repr__(self):
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.smallest_normal:g}, "
                f"tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:
    """Limits of an integer dtype as webdl stores it: every integer name is int64 here
    (``iinfo(uint8).max`` is int64's max). On the WebGL backend int64 tensors are stored as
    int32 (exact over the int32 range; values beyond it raise on upload, results beyond it
    wrap), on WebGPU as float32 (exact up to 2**24; values past it raise on upload)."""
    __slots__ = ("bits", "max", "min", "dtype")

    def __init__(self, type):  # noqa: A002 - PyTorch's argument name
        d = to_dtype(type)
        if d.is_floating_point or d is bool_:
            raise TypeError(f"iinfo: {d!r} is not an integer type"
                            + ("; use webdl.finfo for floating point types"
                               if d.is_floating_point else ""))
        info = np.iinfo(d.np)
        self.bits, self.max, self.min, self.dtype = info.bits, builtins.int(info.max), \
            builtins.int(info.min), d.name

    def __repr__(self):
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"
