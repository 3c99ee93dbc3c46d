"""``webdl.save`` / ``webdl.load``: checkpoints as safetensors files. Nothing is pickled and
loading never runs code from the file.

The safetensors layout: an 8-byte little-endian header length N, N bytes of JSON header
``{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}``,
then the raw little-endian bytes of the tensors, back to back.

What ``save`` writes:

- a dict (or OrderedDict) of str -> Tensor, such as ``model.state_dict()``: one entry per
  key, named by the key, its own bytes (even where two keys share a tensor), so that any
  safetensors reader sees exactly that dict;
- anything else webdl stores -- dicts, OrderedDicts, lists and tuples nested in any way,
  holding Tensors, numpy arrays and scalars, int, float, bool, str, None, ``webdl.Size``,
  dtypes and devices (an optimizer's ``state_dict()``, a training checkpoint) -- as one
  entry per distinct tensor, named by its path (``optimizer.state.0.exp_avg``), stored
  once however many places hold it.

In both cases ``__metadata__["webdl.structure"]`` is a JSON text that rebuilds the object:

    {"objects": [{"name": entry, "device": "cpu", "requires_grad": true,
                  "parameter": true}, ...],      # one per distinct Tensor object saved
     "root": value}

where a value is a JSON null, bool, int, str, float, list (a Python list), or a one-key
object: ``{"dict": [[key, value], ...]}``, ``{"odict": [...]}`` (OrderedDict),
``{"tuple": [...]}``, ``{"tensor": i}`` (the i-th object: the same index comes back as the
same Tensor; two objects naming one entry come back sharing one buffer),
``{"ndarray": entry}`` / ``{"numpy_scalar": entry}`` (exact numpy dtype), ``{"float":
"nan" | "inf" | "-inf"}``, ``{"size": [...]}``, ``{"dtype": name}``, ``{"device": type}``.
``__metadata__["webdl.format"]`` is ``"1"``; plain state dicts also carry ``"format":
"pt"`` as PyTorch's safetensors files do.

``load`` reads any safetensors file: webdl's come back as saved; others as a dict of
name -> Tensor. Floats come back as float32 (float16, bfloat16 and float64 too), integers as
int64 -- webdl's storage types (see ``webdl.dtypes``).
"""
import collections
import io
import json
import math
import os
import struct
import zipfile

import numpy as np

from . import dtypes
from .backends import Device, device as _device
from .tensor import Tensor, Size, tensor as _tensor
from .nn.module import Module, Parameter

FORMAT_VERSION = "1"
_MAX_HEADER = 100_000_000   # the safetensors package's limit

_TENSOR_ST = {"float32": "F32", "int64": "I64", "bool": "BOOL"}
_NP_ST = {"float64": "F64", "float32": "F32", "float16": "F16", "int64": "I64", "int32": "I32",
          "int16": "I16", "int8": "I8", "uint64": "U64", "uint32": "U32", "uint16": "U16",
          "uint8": "U8", "bool": "BOOL"}
_ST_NP = {v: k for k, v in _NP_ST.items()}
_ST_SIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
            "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1}


class _Entry:
    __slots__ = ("name", "st", "shape", "array")

    def __init__(self, name, st, shape, array):
        self.name, self.st, self.shape, self.array = name, st, shape, array


# --- save ---------------------------------------------------------------------------------
def _not_data(x, where):
    kind = type(x).__name__
    if isinstance(x, Module):
        hint = (f"webdl.save stores data, not modules: save {where}.state_dict() and load it "
                f"with load_state_dict() into a freshly built {kind}")
    elif callable(getattr(x, "state_dict", None)):
        hint = f"save {where}.state_dict() instead"
    else:
        hint = ("webdl.save stores Tensors, numpy arrays, int, float, bool, str, None and "
                "dicts, lists and tuples of them")
    return TypeError(f"save: can't store a {kind} at {where}: {hint}")


class _Writer:
    def __init__(self):
        self.entries = []
        self.names = set()
        self.objects = []
        self.by_id = {}         # id(Tensor) -> object index
        self.by_buffer = {}     # (id(buffer), shape, dtype, device) -> entry name
        self.keep = []          # what the ids above refer to, alive until the file is made

    def name(self, path):
        base = ".".join(path) or "root"
        name, k = base, 1
        while name in self.names or name == "__metadata__":
            k += 1
            name = f"{base}#{k}"
        self.names.add(name)
        return name

    def add(self, name, st, arr):
        arr = np.asarray(arr)
        self.entries.append(_Entry(name, st, tuple(arr.shape), arr))

    def tensor(self, t, path, where, own_entry=None):
        if t.requires_grad and t._ctx is not None:
            raise RuntimeError(f"save: the tensor at {where} is not a leaf and requires grad; "
                               "save its value with .detach()")
        idx = self.by_id.get(id(t))
        if idx is not None and own_entry is None:
            return idx
        key = (id(t._buf), tuple(t.shape), t.dtype.name, t.device.type)
        name = own_entry or self.by_buffer.get(key)
        if own_entry or name is None:
            name = own_entry or self.name(path)
            self.names.add(name)
            self.add(name, _TENSOR_ST[t.dtype.name],
                     np.asarray(t.detach()._value(), dtype=t.dtype.np))
            self.by_buffer.setdefault(key, name)
        if idx is not None:         # a plain dict holding one Tensor twice: its own bytes,
            return idx              # the same object when loaded
        obj = {"name": name, "device": t.device.type}
        if t.requires_grad:
            obj["requires_grad"] = True
        if isinstance(t, Parameter):
            obj["parameter"] = True
        self.objects.append(obj)
        self.by_id[id(t)] = len(self.objects) - 1
        self.keep.append(t)
        return len(self.objects) - 1

    def value(self, x, path, where, active):
        t = type(x)
        if x is None or t in (bool, int, str):
            return x
        if t is float:
            return x if math.isfinite(x) else {"float": repr(x)}
        if isinstance(x, Tensor):
            return {"tensor": self.tensor(x, path, where)}
        if isinstance(x, (np.ndarray, np.generic)):
            st = _NP_ST.get(x.dtype.name)
            if st is None:
                raise TypeError(f"save: can't store the numpy {x.dtype} array at {where} "
                                f"(numeric and bool dtypes only)")
            name = self.name(path)
            self.add(name, st, x)
            return {"ndarray" if t is np.ndarray else "numpy_scalar": name}
        if t is Size:
            return {"size": [int(d) for d in x]}
        if t is dtypes.dtype:
            return {"dtype": x.name}
        if t is Device:
            return {"device": x.type}
        if t in (list, tuple, dict, collections.OrderedDict):
            if id(x) in active:
                raise ValueError(f"save: the {t.__name__} at {where} contains itself")
            active.add(id(x))
            try:
                if t is list or t is tuple:
                    out = [self.value(v, path + [str(i)], f"{where}[{i}]", active)
                           for i, v in enumerate(x)]
                    return out if t is list else {"tuple": out}
                items = []
                for k, v in x.items():
                    if type(k) not in (str, int, float, bool, type(None), tuple):
                        raise TypeError(f"save: can't store the {type(k).__name__} key {k!r} "
                                        f"of the dict at {where} (keys must be str, int, "
                                        "float, bool, None or tuples of them)")
                    sub = f"{where}[{k!r}]"
                    items.append([self.value(k, path, sub, active),
                                  self.value(v, path + [str(k)], sub, active)])
                return {"dict" if t is dict else "odict": items}
            finally:
                active.discard(id(x))
        raise _not_data(x, where)


def _is_plain(obj):
    return type(obj) in (dict, collections.OrderedDict) and all(
        type(k) is str and k != "__metadata__" and isinstance(v, Tensor)
        for k, v in obj.items())


def _encode(obj, metadata):
    w = _Writer()
    plain = _is_plain(obj)
    if plain:
        items = [[k, {"tensor": w.tensor(v, [k], f"obj[{k!r}]", own_entry=k)}]
                 for k, v in obj.items()]
        root = {"dict" if type(obj) is dict else "odict": items}
    elif isinstance(obj, Module):
        raise TypeError(f"save: can't save a whole {type(obj).__name__} module: webdl saves "
                        "data, not code. Save model.state_dict(), and to restore it build the "
                        "model again and call load_state_dict()")
    else:
        root = w.value(obj, [], "obj", set())
    meta = {}
    for k, v in (metadata or {}).items():
        if str(k).startswith("webdl."):
            raise ValueError(f"save: metadata key {k!r} is reserved (webdl.*)")
        meta[str(k)] = str(v)
    if plain:
        meta.setdefault("format", "pt")
    meta["webdl.format"] = FORMAT_VERSION
    meta["webdl.structure"] = json.dumps({"objects": w.objects, "root": root},
                                         separators=(",", ":"), allow_nan=False)
    header, offset = {}, 0
    for e in w.entries:
        n = int(np.prod(e.shape, dtype=np.int64)) * _ST_SIZE[e.st]
        header[e.name] = {"dtype": e.st, "shape": list(e.shape),
                          "data_offsets": [offset, offset + n]}
        offset += n
    header["__metadata__"] = meta
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h, w.entries


def _chunks(entries):
    for e in entries:
        a = e.array
        yield a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()


def save(obj, f, pickle_module=None, pickle_protocol=None,
         _use_new_zipfile_serialization=True, _disable_byteorder_record=False,
         metadata=None):
    """Write ``obj`` to ``f`` (a path or a binary file object) as a safetensors file (see
    the module doc). ``obj`` is a state dict, an optimizer's ``state_dict()``, or any nesting
    of dicts, lists and tuples of tensors, numbers, strings and None; a module or other
    object raises TypeError before anything is written. A path is written to a temporary
    file that replaces it only when complete, so a failed save leaves any earlier file
    intact. ``metadata`` adds str -> str entries to the header. The pickle arguments of
    ``torch.save`` are accepted and have no effect: nothing is pickled."""
    head, entries = _encode(obj, metadata)
    if hasattr(f, "write"):
        f.write(head)
        for c in _chunks(entries):
            f.write(c)
        return
    try:
        path = os.fspath(f)
    except TypeError:
        raise TypeError(f"save: f must be a path or a binary file object, got "
                        f"{type(f).__name__}") from None
    tmp = f"{path}.{os.getpid()}-{os.urandom(4).hex()}.tmp"
    try:
        with open(tmp, "xb") as out:
            out.write(head)
            for c in _chunks(entries):
                out.write(c)
            out.flush()
            try:
                os.fsync(out.fileno())
            except (OSError, AttributeError):   # pragma: no cover - platform dependent
                pass
        os.replace(tmp, path)   # never a half-written file under the real name
    except OSError as e:
        _remove(tmp)
        raise OSError(f"save: cannot write '{path}': {e.strerror or e}") from None
    except BaseException:
        _remove(tmp)
        raise


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


# --- load ---------------------------------------------------------------------------------
def _read(f):
    if hasattr(f, "read"):
        where = f"'{f.name}'" if isinstance(getattr(f, "name", None), str) else "the file object"
        if isinstance(f, io.TextIOBase):
            raise TypeError(f"load: {where} is open in text mode: open it in binary mode "
                            "('rb')")
        raw = f.read()
        if not isinstance(raw, (bytes, bytearray)):
            raise TypeError(f"load: {where} gives {type(raw).__name__}, not bytes: open the "
                            "file in binary mode ('rb')")
        return bytes(raw), where
    try:
        path = os.fspath(f)
    except TypeError:
        raise TypeError(f"load: f must be a path or a binary file object, got "
                        f"{type(f).__name__}") from None
    try:
        with open(path, "rb") as fh:
            return fh.read(), f"'{path}'"
    except OSError as e:
        raise OSError(f"load: cannot read '{path}': {e.strerror or e}") from None


_CONVERT = ("webdl does not unpickle (unpickling can run arbitrary code). Convert it once "
            "in PyTorch: `from safetensors.torch import save_file; "
            "save_file(torch.load(path, map_location='cpu'), 'model.safetensors')` -- for a "
            "nested checkpoint, save its state dict, e.g. checkpoint['model'] -- or rebuild "
            "the checkpoint with webdl.save")


def _not_safetensors(raw, where):
    """The error for a file that is not safetensors, naming what it looks like."""
    if raw[:4] == b"PK\x03\x04":
        try:
            names = zipfile.ZipFile(io.BytesIO(raw)).namelist()
        except (zipfile.BadZipFile, ValueError, OSError):
            names = []
        if any(n.endswith("data.pkl") for n in names) or not names:
            return ValueError(f"load: {where} was written by torch.save (a zip of pickles). "
                              + _CONVERT)
        return ValueError(f"load: {where} is a zip archive, not a safetensors file")
    if raw[:1] == b"\x80" and raw[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return ValueError(f"load: {where} is a pickle (PyTorch's legacy torch.save format). "
                          + _CONVERT)
    return None


def _header(raw, where):
    """The parsed, checked header: ({name: (st, shape, begin, end)}, metadata, body)."""
    bad = _not_safetensors(raw, where)
    if bad is not None:
        raise bad
    if len(raw) < 8:
        raise ValueError(f"load: {where} is not a safetensors file (only {len(raw)} bytes)")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8 or n > _MAX_HEADER:
        raise ValueError(f"load: {where} is not a safetensors file or is truncated (header "
                         f"length {n} but the file has {len(raw)} bytes)")
    try:
        header = json.loads(raw[8:8 + n].decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise ValueError(f"load: {where} has a malformed safetensors header (not JSON)") \
            from None
    if not isinstance(header, dict):
        raise ValueError(f"load: {where} has a malformed safetensors header (not a JSON "
                         "object)")
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise ValueError(f"load: {where} has a malformed safetensors header (__metadata__ "
                         "must map strings to strings)")
    body = memoryview(raw)[8 + n:]
    out = {}
    for name, info in header.items():
        try:
            st, shape, (a, b) = info["dtype"], info["shape"], info["data_offsets"]
            ok = (isinstance(shape, list) and all(type(d) is int and d >= 0 for d in shape)
                  and type(a) is int and type(b) is int and 0 <= a <= b)
        except (TypeError, KeyError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"load: {where} has a malformed safetensors header (entry "
                             f"{name!r} needs dtype, shape and data_offsets [begin, end])")
        if st not in _ST_SIZE:
            raise ValueError(f"load: tensor '{name}' in {where} has unknown dtype {st!r} "
                             f"(known: {', '.join(_ST_SIZE)})")
        need = math.prod(shape) * _ST_SIZE[st]
        if b - a != need:
            raise ValueError(f"load: tensor '{name}' in {where}: the header lies about its "
                             f"size: data_offsets [{a}, {b}] hold {b - a} bytes but shape "
                             f"{tuple(shape)} of {st} needs {need}")
        if b > len(body):
            raise ValueError(f"load: tensor '{name}' in {where} is truncated: its data ends "
                             f"at byte {b} but the file holds {len(body)} bytes of data")
        out[name] = (st, tuple(shape), a, b)
    end = 0
    for name, (_, _, a, b) in sorted(out.items(), key=lambda kv: (kv[1][2], kv[1][3])):
        if a != end:
            raise ValueError(f"load: {where} has a malformed safetensors header: tensor "
                             f"'{name}' starts at byte {a}, expected {end} (overlapping "
                             "or gapped data)")
        end = b
    if end != len(body):
        raise ValueError(f"load: {where} has {len(body) - end} bytes after its last tensor "
                         "(not a well-formed safetensors file)")
    return out, meta, body


def _array(entries, body, name):
    st, shape, a, b = entries[name]
    if st == "BF16":
        bits = np.frombuffer(body[a:b], dtype="<u2").astype(np.uint32) << 16
        return bits.view(np.float32).reshape(shape)
    dt = np.dtype(_ST_NP[st]).newbyteorder("<")
    return np.frombuffer(body[a:b], dtype=dt).reshape(shape)


def _tensor_value(arr, st, name, where):
    """A file entry as one of webdl's storage types (floats float32, integers int64)."""
    if st == "U64" and arr.size and int(arr.max()) > np.iinfo(np.int64).max:
        raise ValueError(f"load: tensor '{name}' in {where} holds uint64 values beyond "
                         "int64, webdl's integer type")
    if arr.dtype.kind == "f":
        return arr.astype(np.float32)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    return arr.astype(np.bool_)


class _Loader:
    def __init__(self, entries, body, where, map_location):
        self.entries, self.body, self.where = entries, body, where
        self.map_location = map_location
        self.devices = {}
        self.bases = {}         # (entry name, device) -> Tensor
        self.objects = []
        self.made = {}

    def device(self, saved):
        """The device a tensor saved on ``saved`` goes to, under ``map_location``."""
        loc = self.map_location
        if isinstance(loc, dict):
            loc = loc.get(saved, saved)
            loc = loc.type if isinstance(loc, Device) else loc
        if loc is None or callable(loc):
            loc = saved
        if loc not in self.devices:
            try:
                self.devices[loc] = _device(loc)
            except RuntimeError as e:
                hint = ("; pass map_location='cpu'" if loc == saved else "")
                raise RuntimeError(f"load: {self.where} holds tensors for device '{loc}': "
                                   f"{e}{hint}") from None
        return self.devices[loc]

    def base(self, name, saved):
        if name not in self.entries:
            raise ValueError(f"load: the structure in {self.where} refers to tensor "
                             f"'{name}', which the file does not hold")
        dev = self.device(saved)
        key = (name, dev.type)
        if key not in self.bases:
            st = self.entries[name][0]
            arr = _tensor_value(_array(self.entries, self.body, name), st, name, self.where)
            t = _tensor(arr, device=dev)
            if callable(self.map_location) and not isinstance(self.map_location, dict):
                moved = self.map_location(t, saved)
                t = t if moved is None else moved
                if not isinstance(t, Tensor):
                    raise TypeError(f"load: map_location returned a "
                                    f"{type(t).__name__}, not a Tensor")
            self.bases[key] = t
            return t
        b = self.bases[key]
        return Tensor._wrap(b._buf, b.shape, b.dtype, b.device)   # shares the buffer

    def object(self, i, objects):
        if type(i) is not int or not 0 <= i < len(objects):
            raise self.malformed(f"tensor reference {i!r} out of range")
        if i not in self.made:
            o = objects[i]
            if not isinstance(o, dict) or not isinstance(o.get("name"), str):
                raise self.malformed(f"object {i} has no entry name")
            t = self.base(o["name"], o.get("device", "cpu"))
            if o.get("parameter"):
                t = Parameter(t, requires_grad=bool(o.get("requires_grad")))
            elif o.get("requires_grad") and t.dtype.is_floating_point:
                t.requires_grad_(True)
            self.made[i] = t
        return self.made[i]

    def malformed(self, what):
        return ValueError(f"load: {self.where} has a malformed webdl structure ({what})")

    def numpy(self, name, scalar):
        if name not in self.entries:
            raise ValueError(f"load: the structure in {self.where} refers to array "
                             f"'{name}', which the file does not hold")
        if self.entries[name][0] == "BF16":
            raise self.malformed(f"numpy array '{name}' is bfloat16")
        arr = _array(self.entries, self.body, name)
        arr = arr.astype(arr.dtype.newbyteorder("="))   # a writable, native-order copy
        return arr[()] if scalar else arr

    def value(self, x, objects):
        if x is None or type(x) in (bool, int, float, str):
            return x
        if type(x) is list:
            return [self.value(v, objects) for v in x]
        if type(x) is not dict or len(x) != 1:
            raise self.malformed(f"unexpected {json.dumps(x)[:80]}")
        (tag, v), = x.items()
        if tag == "tensor":
            return self.object(v, objects)
        if tag in ("dict", "odict"):
            if type(v) is not list or not all(type(p) is list and len(p) == 2 for p in v):
                raise self.malformed(f"{tag} is not a list of [key, value] pairs")
            pairs = [(self.key(k, objects), self.value(val, objects)) for k, val in v]
            return dict(pairs) if tag == "dict" else collections.OrderedDict(pairs)
        if tag in ("tuple", "size") and type(v) is list:
            items = tuple(self.value(i, objects) for i in v)
            return items if tag == "tuple" else Size(items)
        if tag == "float" and v in ("nan", "inf", "-inf"):
            return float(v)
        if tag in ("ndarray", "numpy_scalar") and type(v) is str:
            return self.numpy(v, tag == "numpy_scalar")
        if tag == "dtype" and type(v) is str:
            try:
                return dtypes.to_dtype(v)
            except TypeError:
                raise self.malformed(f"unknown dtype {v!r}") from None
        if tag == "device" and type(v) is str:
            return _device(v)
        raise self.malformed(f"unknown entry {tag!r}")

    def key(self, k, objects):
        k = self.value(k, objects)
        try:
            hash(k)
        except TypeError:
            raise self.malformed(f"unhashable dict key {k!r}") from None
        return k


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None,
         device=None, **pickle_load_args):
    """Read a file written by ``webdl.save`` -- or any safetensors file, which comes back as
    a dict of name -> Tensor. ``f`` is a path or a binary file object.

    ``map_location`` as in ``torch.load``: None puts each tensor on the device it was saved
    from (files without that record: the default device); a device or name puts them all
    there; a dict maps saved device names to others; a callable ``(tensor, saved_device)``
    may return the tensor to use. ``device=`` is the same as a single ``map_location``.
    Nothing in the file is executed, so ``weights_only`` (any value), ``pickle_module``,
    ``mmap`` and unpickling arguments change nothing. Files written by ``torch.save`` (zip
    or pickle) raise ValueError saying how to convert them; malformed files raise
    ValueError naming the file and the problem."""
    if device is not None:
        if map_location is not None:
            raise TypeError("load: pass map_location or device, not both")
        map_location = device
    if isinstance(map_location, Device):
        map_location = map_location.type
    raw, where = _read(f)
    entries, meta, body = _header(raw, where)
    structure = meta.get("webdl.structure")
    if structure is None:   # a safetensors file from elsewhere: a dict of its tensors
        default = map_location if isinstance(map_location, str) else \
            _device(None).type
        loader = _Loader(entries, body, where, map_location)
        order = sorted(entries, key=lambda k: entries[k][2])
        return {name: loader.base(name, default) for name in order}
    version = meta.get("webdl.format", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise ValueError(f"load: {where} is a webdl checkpoint of format {version!r}; this "
                         f"webdl reads format {FORMAT_VERSION!r} (a newer webdl wrote it?)")
    try:
        doc = json.loads(structure)
    except ValueError:
        raise ValueError(f"load: {where} has a malformed webdl structure (not JSON)") from None
    loader = _Loader(entries, body, where, map_location)
    if not isinstance(doc, dict) or not isinstance(doc.get("objects"), list) or \
            "root" not in doc:
        raise loader.malformed("no objects or root")
    return loader.value(doc["root"], doc["objects"])
