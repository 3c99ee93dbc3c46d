"""The JS side of the WebGPU backend: calls into ``webdl_gpu`` (web/js/gpu.js, which the
browser worker registers as a Python module), storage buffers, WGSL sources, compiled
pipelines and the dispatch. JS exceptions come back as RuntimeErrors with the bridge's
message.

Synchronous Python over asynchronous WebGPU: allocations, dispatches and frees are queued
here and sent in one call when something must wait or read (see ``_q``); gpu.js records the
dispatches and submits them in one command buffer per flush. The calls that must wait -- a
readback, a sync -- return JS promises that ``wait`` resolves with ``pyodide.ffi.run_sync``
(JSPI: the worker enters Python through ``callPromising``, so the WebAssembly stack can
suspend while the promise settles). A pipeline compile doesn't wait: the GPU process
compiles while the queue fills, and a compile error comes at the next readback or sync.

``webdl_gpu`` exists only in the browser runtime; without it this module still imports (so
the kernels and their registry can be checked on CPython) and ``probe`` raises.
"""
import functools
import json
import re
import struct
import time
import weakref
from importlib import resources

from ..webgl.bridge import HOST_DATA, appended, js_error

try:
    import webdl_gpu as _gpu
except ImportError:  # CPython: nothing can run, the package still imports
    _gpu = None

try:
    from pyodide.ffi import run_sync as _run_sync
except ImportError:  # CPython, or a Pyodide without run_sync
    _run_sync = None

# Work-items per workgroup of the one-output-per-invocation kernels (MAIN_HEAD; common.wgsl's
# flat_index assumes it).
WORKGROUP = 64

# The head of a one-invocation-per-output-element main(): ``i`` is the element.
MAIN_HEAD = (f"@compute @workgroup_size({WORKGROUP})\n"
             "fn main(@builtin(global_invocation_id) g: vec3<u32>, "
             "@builtin(num_workgroups) nw: vec3<u32>) {\n"
             "    load();\n    let i = flat_index(g, nw);\n    if (i >= u_numel) { return; }\n")


def probe():
    """The adapter and device as gpu.js reports them; ImportError outside the browser."""
    if _gpu is None:
        raise ImportError("the JS module 'webdl_gpu' is missing (webdl's WebGPU backend runs "
                          "only inside the webdl browser runtime)")
    return json.loads(_gpu.infoJson())


def wait(promise):
    """The value of a JS promise, waiting for it (JSPI). Raises a clear error when this
    Python stack cannot suspend (called from a synchronous JS entry point)."""
    if _run_sync is None:
        raise RuntimeError("webgpu: waiting for the GPU needs pyodide.ffi.run_sync (JSPI), "
                           "which this Pyodide lacks")
    try:
        return _run_sync(promise)
    except Exception as e:  # noqa: BLE001 - JsException or run_sync's RuntimeError
        raise failed(e) from None


def failed(e):
    """The Python error for a failed bridge call. After a device loss (gpu.js then starts a
    new device) it first waits for the new device, so that the next call works, and drops
    what was queued for the old one."""
    err = js_error(e)
    if _gpu is None:
        return err
    if "device was lost" in str(err):
        restart = _gpu.whenRestarted()
        if restart is not None and _run_sync is not None:
            try:
                _run_sync(restart)
            except Exception:  # noqa: BLE001 - reported by the next call
                pass
    _new_generation()
    return err


def generation():
    """How many times the device was replaced after a loss (a buffer of an older one is gone)."""
    return _gen[0]


# Allocations, dispatches and frees are not sent one by one: they are queued here as int32
# words and sent to gpu.js as one JSON array with the next call that needs an answer or a
# wait (a readback, an upload, sync, the memory statistics, emptying the cache) or when the
# queue passes QUEUE_WORDS; gpu.js's ``exec`` runs them in order into its pending command
# encoder, so a chain of ops costs one Python/JS crossing per readback, not several per op.
# Buffer ids are assigned here (gpu.js creates or pools the buffer when it runs the alloc),
# and the memory budget is checked here, so an allocation past it fails where it is made.
#   alloc:    ALLOC, id, floats
#   free:     FREE, id
#   dispatch: DISPATCH, pipeline, groups x, y, z, n, n buffer ids (0: an empty tensor),
#             m, m uniform words
ALLOC, FREE, DISPATCH = 1, 2, 3
QUEUE_WORDS = 16384
# Early sends: the queue also goes to gpu.js before anything reads back once it holds
# EARLY_GROUPS workgroups and _early_s has passed since the last send; gpu.js then submits
# it by the same rule (GPU_EARLY_*), so the GPU runs a model's first layers while Python
# queues the rest instead of starting at the readback. The time gate bounds the crossings
# (and submits) for a long chain of small dispatches; gpu.js's earlyMs < 0 (?earlyms=-1)
# turns both off.
EARLY_GROUPS = 1024
_early_s = (_gpu.earlyMs / 1000.0) if _gpu is not None else 0.0
_early = [0, 0.0]  # workgroups queued since the last send, time.perf_counter() of that send
_q = []
_next = [1]        # the next buffer id
_live = [0]        # bytes of this generation's live buffers (the budget's count)
_limits = []       # [live cap bytes, largest storage binding bytes] from gpu.js's info
# gpu.js's device generation as last seen: it changes only when a lost device is replaced,
# which gpu.js reports by throwing from the call that finds the loss (see failed)
_gen = [_gpu.generation if _gpu is not None else 0]


def _new_generation():
    """Re-read gpu.js's generation after a failed call; a new device has none of the old
    one's buffers, and the commands queued for the old one are dropped."""
    g = _gpu.generation
    if g != _gen[0]:
        _gen[0] = g
        _q.clear()
        _live[0] = 0


def _send(fn, *args, only_queue=False):
    """``fn(queue, *args)`` of gpu.js, the queue taken first (frees the garbage collector
    queues meanwhile wait for the next call); a JS exception as a RuntimeError. While a
    recording is made (``record_begin``) the queue is kept for it too, and any call but
    running the queue (``only_queue``: flush) makes the recording unusable."""
    global _q
    q, _q = _q, []
    _early[0], _early[1] = 0, time.perf_counter()
    rec = _rec[0]
    if rec is not None:
        rec.words.extend(q)
        if not only_queue and rec.why is None:
            rec.why = HOST_DATA.format(getattr(fn, "name", fn))
    try:
        return fn(json.dumps(q) if q else "", *args)
    except Exception as e:  # noqa: BLE001 - JsException: budget, size, device lost
        raise failed(e) from None


def flush():
    """Run everything queued now (a loop: frees may be queued while the queue is sent)."""
    while _q:
        _send(_gpu.exec, only_queue=True)


def size_class(nbytes):
    """The bytes gpu.js's pool gives a buffer of ``nbytes`` (GPUBridge.sizeClass)."""
    if nbytes <= 65536:
        return max(16, 1 << (nbytes - 1).bit_length())
    return -(-nbytes // 65536) * 65536


def _limit():
    if not _limits:
        info = json.loads(_gpu.infoJson())
        _limits[:] = [info["liveCap"], info["maxStorageBufferBindingSize"]]
    return _limits


class GPUBuffer:
    """A storage buffer of ``numel`` floats, back to gpu.js's pool when the last tensor
    using it is gone. Its id is assigned here; gpu.js makes the buffer when the queued
    alloc runs."""
    __slots__ = ("id", "numel", "host", "gen", "size", "pending", "__weakref__")

    def __init__(self, numel):
        self.id = None
        self.host = None   # a host copy of small uploaded int/bool data (buffers never change)
        self.pending = None  # the dispatch that writes it, not queued yet (see defer)
        self.numel = numel
        self.gen = _gen[0]
        self.size = 0
        if numel:
            size = size_class(max(4, numel * 4))
            cap, binding = _limit()
            if _live[0] + size > cap:
                raise RuntimeError(
                    f"webgpu: out of GPU memory budget ({_live[0] / 2 ** 20:.0f} MiB live, "
                    f"{size / 2 ** 20:.1f} MiB more asked, cap {cap / 2 ** 20:.0f} MiB); free "
                    "tensors (del x, or x.free_()) and retry")
            if size > binding:
                raise RuntimeError(f"webgpu: a tensor of {numel} elements exceeds the largest "
                                   f"storage binding ({binding} bytes)")
            self.id = _next[0]
            _next[0] += 1
            self.size = size
            _live[0] += size
            _q.extend((ALLOC, self.id, numel))

    @classmethod
    def adopt(cls, bid, numel):
        """The buffer ``bid`` that a replayed recording allocated (gpu.js made it)."""
        buf = cls(0)
        buf.id, buf.numel = bid, numel
        buf.size = size_class(max(4, numel * 4))
        _live[0] += buf.size
        return buf

    def free(self):
        if self.id is not None:
            if self.gen == _gen[0]:
                _q.extend((FREE, self.id))
                _live[0] -= self.size
            self.id = None

    def __del__(self):
        try:
            self.free()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


# Deferred dispatches (the convolution's, see webgpu/conv.py): ``defer(out, run)`` leaves
# ``out`` unwritten until something uses it, so that the elementwise chain reading it (its
# bias, its activation) can be computed by the same dispatch instead (``run(target,
# epilogue)``: the chain in the kernel's store). Whatever else uses ``out`` runs the plain
# dispatch first -- a dispatch reading it, a readback, a replay, a sync, the profiler, a
# recording's start or end. Every dispatch and upload writes a buffer made for it (in-place
# ops make new buffers too), so what a deferred dispatch reads is the same whenever it runs.
_pendings = weakref.WeakSet()


def defer(out, run):
    """``run(out)`` (a callable queueing the dispatch that writes ``out``) deferred until
    ``out`` is used. ``run.reads``: the buffers the dispatch binds besides its output where
    it can also take an epilogue (``run(out, epilogue)``), None where it can't."""
    out.pending = run
    _pendings.add(out)


def settle(buf):
    """Queue ``buf``'s deferred dispatch now, if it has one (dropped if ``buf`` belongs to a
    device lost since: it is gone, and its use raises that)."""
    p = buf.pending
    if p is not None:
        buf.pending = None
        _pendings.discard(buf)
        if buf.gen == _gen[0]:
            p(buf)


def settle_all():
    for p in list(_pendings):
        settle(p)


def check(buf, gen=None):
    if buf.numel and buf.id is None:
        raise RuntimeError("webgpu: this tensor's GPU memory was already freed")
    if buf.numel and buf.gen != (_gen[0] if gen is None else gen):
        raise RuntimeError("webgpu: this tensor was on a GPU device that was lost; it is gone "
                           "(create it again)")


def upload(buf, array, constant=False):
    """``constant`` (see Backend.from_numpy): while recording, the buffer is kept for the
    record's replays instead of making the record unusable."""
    rec = _rec[0]
    if constant and rec is not None:
        rec.constants.append(buf)
    _send(_gpu.upload, buf.id, array, only_queue=constant)


def download(buf, n, data):
    """The first ``n`` floats of ``buf`` into the float32 array ``data`` (gpu.js writes them
    in place): one crossing (the queue, then the flush) and one wait for mapAsync."""
    settle(buf)
    check(buf)
    wait(_send(_gpu.readInto, buf.id, n, data))


def sync():
    """Wait until the GPU has run everything queued and recorded (for timing: the deferred
    dispatches are run too)."""
    settle_all()
    wait(_send(_gpu.sync))


def start_profile():
    """From now on each dispatch is timed on the GPU (timestamp queries; RuntimeError where
    the adapter has none)."""
    settle_all()
    _send(_gpu.startProfile)


def stop_profile():
    """{program key: [dispatches, GPU milliseconds]} since ``start_profile``."""
    settle_all()
    return json.loads(wait(_send(_gpu.stopProfile)))


def memory_stats():
    return json.loads(_send(_gpu.memoryStats))


def empty_cache():
    _send(_gpu.emptyCache)


def reset_peak_memory_stats():
    _send(_gpu.resetPeakStats)


@functools.lru_cache(maxsize=None)
def _source(name):
    """shaders/wgsl/<name>.wgsl, read once (kernels append pieces of it to each dispatch)."""
    return resources.files("webdl").joinpath("_shaders", "wgsl", name + ".wgsl").read_text()


# Uniforms are declared in the WGSL as ``var<private> u_name: type;`` (the kernel's source
# is the schema): Python packs their values into int32 words in declaration order, and a
# generated ``load()`` fills the private variables from the uniform buffer's words.
_DECL = re.compile(r"^var<private>\s+(u_\w+)\s*:\s*([\w<>, ]+?)\s*;", re.M)
_INPUT = re.compile(r"^var<storage,\s*read>\s+(\w+)\s*:", re.M)
_ENABLE = re.compile(r"^enable [\w, ]+;\n", re.M)
_TYPE = re.compile(r"^(?:(i32|f32)|vec([234])<(i32|f32)>|array<(i32|f32),\s*(\d+)>)$")


def _layout(decl):
    """(count, scalar type) of a declared uniform type."""
    m = _TYPE.match(decl.strip())
    if m is None:
        raise RuntimeError(f"webgpu: uniform type '{decl}' is not supported")
    if m.group(1):
        return 1, m.group(1)
    if m.group(2):
        return int(m.group(2)), m.group(3)
    return int(m.group(5)), m.group(4)


_STRUCTS = {}    # n -> (n float32s, n int32s): the bits of float uniforms as words


def _structs(n):
    pair = _STRUCTS.get(n)
    if pair is None:
        pair = _STRUCTS[n] = (struct.Struct(f"<{n}f"), struct.Struct(f"<{n}i"))
    return pair


def _words(values, kind):
    if kind == "i32":
        return [int(v) for v in values]
    f, i = _structs(len(values))
    return list(i.unpack(f.pack(*map(float, values))))   # float("NaN"): num()'s strings


class Program:
    """A compiled kernel: its pipeline id, uniform schema and input names (bindings)."""
    __slots__ = ("pid", "uniforms", "inputs", "outputs", "nwords", "_flat", "_struct")

    def set_uniforms(self, uniforms):
        """The schema [(name, count, "i32" | "f32")], and its packing: every value in one
        struct (ints as int32, floats as float32) read back as int32 words."""
        self.uniforms = uniforms
        self.nwords = sum(c for _, c, _ in uniforms)
        self._flat = tuple((name, count == 1) for name, count, _ in uniforms)
        fmt = "".join(f"{c}{'i' if kind == 'i32' else 'f'}" for _, c, kind in uniforms)
        self._struct = (struct.Struct("<" + fmt), struct.Struct(f"<{self.nwords}i"))

    def pack(self, values):
        """The uniform words of ``values`` ({name: value}); a missing uniform is an error.
        Called per dispatch: one struct for the common case (each value a number or a
        sequence of its count, ints where the schema says i32); anything else (a float for an
        i32, a NaN given as a string, a wrong count) goes the checked way."""
        flat = []
        try:
            for name, one in self._flat:
                if one:
                    flat.append(values[name])
                else:
                    flat.extend(values[name])
            fmt, words = self._struct
            return words.unpack(fmt.pack(*flat))
        except (KeyError, TypeError, struct.error):
            return self._pack_checked(values)

    def _pack_checked(self, values):
        words = []
        name = None
        try:
            for name, count, kind in self.uniforms:
                v = values[name]
                if not isinstance(v, (list, tuple)):
                    v = (v,)
                if len(v) != count:
                    raise RuntimeError(f"webgpu: uniform '{name}' takes {count} values, "
                                       f"got {len(v)}")
                words.extend(_words(v, kind))
        except KeyError:
            raise RuntimeError(f"webgpu: uniform '{name}' was not given") from None
        return words


def coop_sum_code(combine):
    """What reduce.wgsl's cooperative sum appends: reduce_coop.wgsl's main and its combine
    (``combine``: "subgroup" or "tree")."""
    return appended(_source("reduce_coop"), _source("reduce_" + combine))


def build(kernel, defines, code="", outputs=1):
    """WGSL source of shaders/wgsl/<kernel>.wgsl after common.wgsl, with ``defines`` as
    ``const`` declarations and ``code`` appended; (source, Program without pid)."""
    body = "".join(f"const {k}: i32 = {v};\n" for k, v in defines)   # v: a number or a
    body += _source(kernel) + "\n" + code                                # const's name
    if "fn main(" not in body and "fn kernels(" in body:   # up to four outputs an element
        body += MAIN_HEAD + "    let v = kernels(i);\n" + "".join(
            f"    out{j}[i] = v[{j}];\n" for j in range(outputs)) + "}\n"
    elif "fn main(" not in body:
        body += MAIN_HEAD + "    out0[i] = kernel(i);\n}\n"
    if kernel != "common":
        body = _source("common") + "\n" + body
    # directives (``enable subgroups;``) go before every declaration (see the return)
    enables = _ENABLE.findall(body)
    if enables:
        body = _ENABLE.sub("", body)
    prog = Program()
    decls = _DECL.findall(body)
    prog.set_uniforms([(n, *_layout(t)) for n, t in decls])
    decls = dict(decls)
    prog.inputs = _INPUT.findall(body)
    prog.outputs = outputs
    load, at = [], 0
    for name, count, kind in prog.uniforms:
        vals = [f"W({at + j})" if kind == "i32" else f"bitcast<f32>(W({at + j}))"
                for j in range(count)]
        decl = decls[name]
        load.append(f"    {name} = {vals[0]};" if count == 1 else f"    {name} = {decl}({', '.join(vals)});")
        at += count
    nvec = max(1, -(-prog.nwords // 4))
    # W(at_<name> + j): word j of a uniform read straight from the uniform buffer, a value
    # WGSL's uniformity analysis knows is uniform (a loop bound around a barrier)
    head = (f"@group(0) @binding(0) var<uniform> U: array<vec4<i32>, {nvec}>;\n"
            "fn W(k: i32) -> i32 { return U[k / 4][k % 4]; }\n")
    at = 0
    for name, count, _ in prog.uniforms:
        head += f"const at_{name}: i32 = {at};\n"
        at += count
    word = "u32" if re.search(r"^// out: u32$", body, re.M) else "f32"   # raw bytes out
    head += "".join(f"@group(0) @binding({1 + j}) var<storage, read_write> out{j}: array<{word}>;\n"
                    for j in range(outputs))
    binding = {name: 1 + outputs + j for j, name in enumerate(prog.inputs)}
    body = _INPUT.sub(lambda m: f"@group(0) @binding({binding.pop(m.group(1))}) "
                      f"var<storage, read> {m.group(1)}:", body)   # one pass, no regex per input
    body = body.replace("fn load() {}", "fn load() {\n" + "\n".join(load) + "\n}")
    return "".join(enables) + head + body, prog


class Programs:
    """Compiled pipelines, one per (kernel, defines, generated code, output count)."""

    def __init__(self):
        self._progs = {}
        self._gen = None

    def get(self, kernel, defines=(), code="", outputs=1, gen=0):
        """The program of ``kernel``; ``gen``: the device's generation (a new device after a
        loss has none of the old one's pipelines)."""
        if gen != self._gen:
            self._progs, self._gen = {}, gen
        key = kernel + "|" + ",".join(f"{k}={v}" for k, v in defines) + f"|{outputs}|" + code
        prog = self._progs.get(key)
        if prog is None:
            src, prog = build(kernel, tuple(defines), code, outputs)
            try:                  # no wait: errors come at the next readback or sync
                prog.pid = _gpu.compile(key, src)
            except Exception as e:  # noqa: BLE001 - JsException: device lost
                raise failed(e) from None
            self._progs[key] = prog
        return prog


def dispatch(prog, outs, inputs, uniforms, groups):
    """Queue one dispatch of ``prog``: ``outs`` (buffers) written, ``inputs`` ({name:
    buffer}, each declared input bound; an unused one to the first given) read."""
    if _pendings:
        for b in inputs.values():
            settle(b)
    first = next(iter(inputs.values()), outs[0])
    ids = [b.id or 0 for b in outs] + [inputs.get(n, first).id or 0 for n in prog.inputs]
    words = prog.pack(uniforms)
    _q.extend((DISPATCH, prog.pid, *groups, len(ids), *ids, len(words), *words))
    _early[0] += groups[0] * groups[1] * groups[2]
    if len(_q) > QUEUE_WORDS or (_early[0] >= EARLY_GROUPS and _early_s >= 0
                                 and time.perf_counter() - _early[1] >= _early_s):
        flush()


# Recordings (webdl.compile): between ``record_begin`` and ``record_end`` every queued
# command is also kept. When the commands depend only on the call's inputs and on buffers
# that stay (a model's parameters), they become a template in gpu.js whose buffer ids are
# codes -- an input slot, or the k-th buffer allocated during the call -- and ``replay``
# runs them again on new inputs, with new ids for the buffers the call allocates: one
# crossing for the whole call, no Python per op.
_rec = [None]
_INPUT_CODE = 1 << 24    # template id -(_INPUT_CODE + j): input j; -(k + 1): the k-th new buffer


class _Trace:
    __slots__ = ("words", "first", "why", "constants")

    def __init__(self):
        self.words, self.first, self.why, self.constants = [], _next[0], None, []


class Recording:
    """A replayable call: gpu.js's template ``tid``, ``count`` new buffer ids per replay, the
    most bytes its buffers hold at once (``peak``), its outputs (new-buffer index, floats),
    the device generation it was made on."""
    __slots__ = ("tid", "count", "peak", "outputs", "gen", "constants")

    def __del__(self):
        try:
            if _gpu is not None and self.gen == _gen[0]:
                _gpu.forget(self.tid)
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


def record_begin():
    settle_all()
    flush()
    _rec[0] = _Trace()


def record_cancel():
    flush()
    _rec[0] = None


def record_end(inputs, kept, outputs, owned=()):
    """The Recording of what was queued since ``record_begin`` (already run), or a string
    saying why it can't be replayed. ``inputs``: the call's input buffers (slot order);
    ``kept``: ids of buffers it may read that outlive it (parameters); ``outputs``: the
    buffers of its results; ``owned``: ids of inputs it may free (see the WebGL bridge's)."""
    settle_all()
    flush()
    tr, _rec[0] = _rec[0], None
    if tr.why is not None:
        return tr.why
    first, w = tr.first, tr.words
    slot = {b.id: j for j, b in enumerate(inputs) if b.id}
    kept = set(kept) | {b.id for b in tr.constants}    # made in the call, kept by the record
    tpl, alive, live, peak = [], {}, 0, 0

    owned = set(owned)

    def code(bid):
        if bid in slot:     # (an input made during the call, unrecorded: a host input)
            return -(_INPUT_CODE + slot[bid])
        if bid >= first and bid not in kept:
            return -(bid - first + 1)
        if bid == 0 or bid in kept:
            return bid
        raise LookupError(bid)

    i = 0
    try:
        while i < len(w):
            op = w[i]
            if op == ALLOC and w[i + 1] in kept:
                i += 3             # a constant (arange, ...): allocated and uploaded once
            elif op == ALLOC:
                bid, n = w[i + 1], w[i + 2]
                alive[bid] = n
                live += size_class(max(4, n * 4))
                peak = max(peak, live)
                tpl.extend((ALLOC, code(bid), n))
                i += 3
            elif op == FREE:
                bid = w[i + 1]
                if bid in owned:
                    pass
                elif bid >= first and bid not in kept:
                    live -= size_class(max(4, alive.pop(bid) * 4))
                    tpl.extend((FREE, code(bid)))
                elif bid in slot or bid in kept:
                    return "it frees or replaces an input or a parameter (an in-place write)"
                i += 2     # another buffer freed meanwhile by the garbage collector: not the call's
            else:
                k = w[i + 5]
                m = w[i + 6 + k]
                tpl.extend(w[i:i + 6])
                tpl.extend(code(b) for b in w[i + 6:i + 6 + k])
                tpl.extend(w[i + 6 + k:i + 7 + k + m])
                i += 7 + k + m
    except LookupError:
        return "it reads a tensor that is neither an argument nor a parameter or buffer of " \
               "the module (a global tensor, or one made before the call)"
    outs = []
    for b in outputs:
        if not b.id or b.id < first or b.id not in alive:
            return "it returns a tensor it did not compute (an input, a parameter, an empty one)"
        outs.append((b.id - first, b.numel))
    if set(alive) != {b.id for b in outputs}:
        return "it keeps GPU memory past the call (a cache or a global made inside it)"
    rec = Recording()
    rec.tid = _gpu.record(json.dumps(tpl))
    rec.count, rec.peak, rec.outputs = _next[0] - first, peak, outs
    rec.gen = _gen[0]
    rec.constants = tr.constants
    return rec


def replay(rec, inputs):
    """Run ``rec`` on the buffers ``inputs``: its output buffers, or None when it can't run
    now (a device replaced since, or not enough memory budget left: run the call itself)."""
    if rec.gen != _gen[0] or _live[0] + rec.peak > _limit()[0]:
        return None
    for b in inputs:
        settle(b)
        check(b)
    base = _next[0]
    _next[0] += rec.count
    outs = [GPUBuffer.adopt(base + k, n) for k, n in rec.outputs]
    try:
        _send(_gpu.replay, rec.tid, base, json.dumps([b.id for b in inputs]))
    except Exception:
        for b in outs:
            b.free()
        raise
    return outs
