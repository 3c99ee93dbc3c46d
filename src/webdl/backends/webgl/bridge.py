"""The JS side of the backend: the WebGL2 bridge (webdl/_js/gl.js, shipped in the wheel),
GPU buffers, shader sources, compiled programs and the draw call. JS exceptions come back
as RuntimeErrors carrying the bridge's message.

In any Pyodide (a worker or a page's main thread) this module instantiates the bridge
itself: it evaluates gl.js from the package data through Pyodide's FFI (``js.Function``),
and the bridge creates its own WebGL2 context (an OffscreenCanvas where one exists, else a
canvas element). A host may set ``globalThis.webdlConfig`` before ``import webdl``:
``{noFloat, half, liveCap, smallWidth}`` go to the bridge (tests force the refusal path and
the float16 path with them; smallWidth switches the small tensors' layout), ``device``
forces the default device (``backends.choose_default``), and ``quiet`` silences the one
line ``import webdl`` prints. The bridge is also importable as the
module ``webdl_gl`` (tests and tools call its hooks). On CPython there is no ``js`` module:
this module still imports (so the kernels and their registry can be checked); ``probe``
then raises.
"""
import functools
import itertools
import json
import math
import sys
import time
from importlib import resources

try:
    import js   # Pyodide's view of the JS global scope
except ImportError:  # CPython: nothing can run, the package still imports
    js = None


def _config():
    """``globalThis.webdlConfig`` as a JS object, or None."""
    return getattr(js, "webdlConfig", None) if js is not None else None


def _start():
    """Evaluate the wheel's gl.js and make the bridge: (bridge or None, why not)."""
    if js is None:
        return None, "no JS runtime (webdl's WebGL backend runs in Pyodide in a browser)"
    if not (hasattr(js, "WebGL2RenderingContext")):
        return None, "this JS runtime has no WebGL2"
    source = resources.files("webdl").joinpath("_js", "gl.js").read_text()
    try:
        make = js.Function(source)
    except Exception as e:  # noqa: BLE001 - a JsException: the page's CSP forbids eval
        return None, (f"could not load webdl's WebGL bridge ({js_error(e)}); a page whose "
                      "Content-Security-Policy lacks 'unsafe-eval' in script-src can't run it")
    bridge = make().new(None, _config())
    bridge.init()   # the context and the capability probe (its result: probe())
    sys.modules["webdl_gl"] = bridge
    return bridge, None


@functools.lru_cache(maxsize=None)
def appended(*pieces):
    """Shader source pieces joined by newlines (a kernel's file and what follows it: a
    generated function, the functions it calls), one string object per combination: a
    program key hashes a string once, a new copy per call would cost a hash of the source."""
    return "\n".join(pieces)


def js_error(e):
    """A JS exception from the bridge as a Python RuntimeError with the bridge's message."""
    msg = str(e)
    if "Error: " in msg:
        msg = msg.split("Error: ", 1)[1]
    return RuntimeError(msg.strip().splitlines()[0] if msg.strip() else "webgl: GPU call failed")


_gl, _why = _start()


def gpu_info():
    """What the start found: gl.js's probe ({ok, renderer, ..., error}), or {ok: False,
    error} where there is no bridge."""
    return json.loads(_gl.probe()) if _gl is not None else {"ok": False, "error": _why}


def probe():
    """The GPU's capabilities as gl.js reports them; ImportError where there is no bridge
    (CPython, a JS runtime without WebGL2, a page that forbids evaluating it)."""
    if _gl is None:
        raise ImportError(_why)
    _gen[0] = _gl.generation
    info = gpu_info()
    if "splitAbove" in info:    # absent where the GPU was refused
        _split[:] = [info["splitAbove"], info["layerRows"]]
        _small[0] = info["maxWidth"]
    return info


# Split tensors (gl.js): a tensor of more than _split[0] elements is a texture array of
# layers of _split[1] rows. GLBuffer mirrors gl.js's rule to know which buffers are split.
_split = [1 << 62, 0]
# Small tensors (gl.js): at most _small[0] elements, in a texture of the small width (kernels
# read them through fetch_s, common.glsl); ``is_small`` mirrors gl.js's rule.
_small = [0]


def is_small(numel):
    """Whether a tensor of ``numel`` elements has the small layout (gl.js dims)."""
    return 0 < numel <= _small[0]


def set_split(above, rows):
    """Split tensors of more than ``above`` elements into layers of ``rows`` rows (a power
    of two): tests lower the limit to exercise the split path at small sizes. Returns the
    probe's new values."""
    flush()
    info = json.loads(_call(_gl.setSplit, above, rows))
    _split[:] = [info["splitAbove"], info["layerRows"]]
    return info


def on_main_thread():
    """True where Python runs on a page's main thread (PyScript's default, Pyodide's
    console): there a long computation freezes the page until it ends."""
    return js is not None and hasattr(js, "document")


def quiet():
    return bool(config_value("quiet"))


def config_value(name):
    """``webdlConfig[name]`` as a Python value (None where it is not set)."""
    cfg = _config()
    return getattr(cfg, name, None) if cfg is not None else None


# Render targets one draw writes at most: the packed matmul and conv shaders declare eight
# outputs (o_color .. o_color7). WebGL2 promises only 4 (MAX_DRAW_BUFFERS); SwiftShader has 8.
MAX_TARGETS = 8


def num(v):
    """A float uniform for the JSON draw spec: infinities and NaN travel as strings."""
    v = float(v)
    if math.isfinite(v):
        return v
    return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")


# Draws and frees are queued here and sent to gl.js with the next call that needs an answer
# (an allocation, a readback, an upload, the statistics): one crossing of the Python/JS
# boundary per realization instead of one per draw, free and allocation. gl.js runs them in
# order, so the queue changes no result. QUEUE_MAX bounds how far the GPU lags behind.
_pending = []
QUEUE_MAX = 256
# Early sends: the queue also goes to gl.js once its draws write EARLY_ELEMS elements and
# _early_s has passed since the last send; gl.js then flushes them to the GPU by the same rule
# (EARLY_TEXELS), so the GPU runs a model's first layers while Python queues the rest. The
# time gate bounds the crossings for a long chain of small draws; gl.js's earlyMs < 0
# (?earlyms=-1) turns both off.
EARLY_ELEMS = 1 << 18
_early_s = (_gl.earlyMs / 1000.0) if _gl is not None else 0.0
_early = [0, 0.0]  # elements drawn since the last send, time.perf_counter() of that send
# Textures up to QUEUED_ALLOC_MAX elements get their id here and are made by gl.js when the
# queue runs (an error -- out of memory -- then comes with that call); larger ones are made
# at once, so that a too-large or over-budget tensor fails where it is made. gl.js gives ids
# from 2**30 (a replay's textures), Python below.
QUEUED_ALLOC_MAX = 1 << 20
_next_id = [1]
# gl.js's context generation as last seen: it changes only when a lost context is replaced,
# which gl.js reports by throwing from the call that finds the loss (see _call)
_gen = [None]
_profiling = [False]


def _call(fn, *args):
    """``fn(*args)`` of gl.js; a JS exception as a RuntimeError, the generation re-read."""
    try:
        return fn(*args)
    except Exception as e:  # noqa: BLE001 - a JsException: too large, out of memory, lost
        _gen[0] = _gl.generation
        raise js_error(e) from None


def _exec(numel=-1, w=0, h=0, upload=False, is_int=False):
    """Send the queued commands, then allocate (``numel`` >= 0): the new texture's id."""
    global _pending
    cmds, _pending = _pending, []
    _early[0], _early[1] = 0, time.perf_counter()
    tid = _call(_gl.exec, json.dumps(cmds) if cmds else "", numel, w, h, upload, is_int)
    rec = _rec[0]
    if rec is not None:
        rec.cmds.extend(cmds)
        if numel >= 0:
            rec.cmds.append(("a", tid, numel, w, h, upload, is_int))
    return tid


# why a recording that moved data between the host and the GPU can't be replayed (both bridges)
HOST_DATA = "it moves data between the host and the GPU (an upload, a readback, random " \
            "numbers made on the host, a sync: {})"


def _host(what):
    """A call that moves data between the host and the GPU: a recording can't replay it."""
    rec = _rec[0]
    if rec is not None and rec.why is None:
        rec.why = HOST_DATA.format(what)


def flush():
    """Run every queued draw and free now (before reading or writing textures directly).
    A loop: the garbage collector may queue frees while the queue is being sent."""
    while _pending:
        _exec()


def sync():
    """Send the queued draws and wait until the GPU has run them (as the WebGPU bridge's
    ``sync``: for timing, kernel choice's included)."""
    flush()
    _call(_gl.finish)


class GLBuffer:
    """A texture on the GPU, freed (back to the pool) when the last tensor using it is gone:
    an R32F tensor texture of ``numel`` elements (R32I with ``is_int``: an int64 tensor's,
    exact over the int32 range, on either path), or with ``packed=(w, h)`` an RGBA32F
    texture for a packed kernel's intermediate (R16F and RGBA16F on the float16 path, where
    ``upload=True`` makes an R32F texture that only Python's bool data is written to)."""
    __slots__ = ("id", "numel", "gen", "host", "is_int", "split", "small", "group",
                 "__weakref__")

    def __init__(self, numel, packed=None, upload=False, is_int=False):
        self.id = None
        self.group = None  # the _Group it was allocated in (see targets)
        self.host = None   # a host copy of uploaded data (see HostTransfer; buffers never change)
        self.is_int = is_int
        if upload or (numel if packed is None else packed[0] * packed[1] * 4) > QUEUED_ALLOC_MAX:
            self.id = _exec(numel, upload=upload, is_int=is_int) if packed is None else \
                _exec(0, *packed)
        else:
            self.id = _next_id[0]
            _next_id[0] += 1
            _pending.append(("a", self.id, numel, *(packed or (0, 0)), False, is_int))
        self.numel = numel
        self.gen = _gen[0]
        # a split tensor (a texture array, see gl.js): its rows per layer, else 0
        self.split = _split[1] if packed is None and numel > _split[0] else 0
        self.small = packed is None and is_small(numel)    # the small width (gl.js)

    @classmethod
    def adopt(cls, tid, numel, is_int):
        """The tensor texture ``tid`` that a replayed recording allocated (gl.js made it)."""
        buf = object.__new__(cls)
        buf.id, buf.numel, buf.gen, buf.host, buf.is_int = tid, numel, _gen[0], None, is_int
        buf.split = _split[1] if numel > _split[0] else 0
        buf.small = is_small(numel)
        buf.group = None
        return buf

    def free(self):
        if self.id is not None:
            if self.gen == _gen[0]:
                group = self.group
                if group is None:
                    _pending.append(("f", self.id))
                else:               # the group's textures go back together, with the last
                    group.live -= 1
                    if not group.live:
                        _pending.append(("F", group.first, group.count))
            self.id = None

    def __del__(self):
        try:
            self.free()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


class _Group:
    """Textures allocated together: one command makes them (ids ``first`` .. ``first + count
    - 1``) and one frees them all once every member is freed."""
    __slots__ = ("first", "count", "live")


def targets(count, packed):
    """``count`` RGBA32F textures of ``packed`` = (w, h) texels: a packed kernel's render
    targets (the eight of a product), made by one queued command and freed by one (a _Group)
    instead of one each -- the queue's JSON, its Python tuples and the buffers' bookkeeping
    were a third of a small product's host time. Textures too large to queue are made one by
    one (see QUEUED_ALLOC_MAX)."""
    w, h = packed
    if w * h * 4 > QUEUED_ALLOC_MAX:
        return [GLBuffer(0, packed) for _ in range(count)]
    group = _Group()
    first = group.first = _next_id[0]
    _next_id[0] += count
    group.count = group.live = count
    _pending.append(("A", first, count, w, h))
    gen, out = _gen[0], []
    for j in range(count):
        b = object.__new__(GLBuffer)
        b.id, b.numel, b.gen, b.host, b.is_int, b.split, b.small, b.group = \
            first + j, 0, gen, None, False, 0, False, group
        out.append(b)
    return out


def expanded(cmds):
    """``cmds`` with each group's allocation and free ("A", "F": see targets) as the commands
    of its textures one by one ("a", "f"), for what reads the commands (recordings)."""
    for c in cmds:
        if c[0] == "A":
            for j in range(c[2]):
                yield ("a", c[1] + j, 0, c[3], c[4], False, False)
        elif c[0] == "F":
            for j in range(c[2]):
                yield ("f", c[1] + j)
        else:
            yield c


def check(buf):
    """Raise if ``buf``'s texture is gone (freed, or its context was lost)."""
    if buf.id is None:
        raise RuntimeError("webgl: this tensor's GPU memory was already freed")
    if buf.gen != _gen[0]:
        raise RuntimeError("webgl: this tensor lived on a GPU context that was lost; its "
                           "values are gone (create it again)")


def upload(buf, array, constant=False):
    """``constant`` (see Backend.from_numpy): while recording, the texture is kept for the
    record's replays instead of making the record unusable."""
    flush()
    if constant and _rec[0] is not None:
        _rec[0].constants.append(buf)
    else:
        _host("upload")
    _call(_gl.upload, buf.id, array)


def download(buf, n, data):
    """The first ``n`` values of ``buf`` into the array ``data`` (float32, int32 for an int
    texture; whole texture rows long)."""
    flush()
    _host("readback")
    if not _call(_gl.downloadInto, buf.id, n, data):   # straight into numpy's memory
        _call(_gl.download, buf.id, n).assign_to(data[:n])


def memory_stats():
    flush()
    return json.loads(_call(_gl.memoryStats))


def empty_cache():
    flush()    # queued frees first: their textures join the pool that is emptied
    _call(_gl.emptyCache)


def reset_peak_memory_stats():
    flush()
    _call(_gl.resetPeakStats)


def start_profile():
    """From now on every draw waits for the GPU and adds its time to its kernel's entry."""
    flush()
    _gl.startProfile()
    _profiling[0] = True


def stop_profile():
    """{program key: [draws, milliseconds, output texels]} since ``start_profile``."""
    _profiling[0] = False
    flush()
    return json.loads(_gl.stopProfile())


@functools.lru_cache(maxsize=None)
def _shader(name):
    """shaders/<name>.glsl, read once: a reduction reading a fused chain asks for
    elementwise.glsl on every call (a file read in Pyodide's file system each time, and a
    new string for ``appended``'s cache to hash)."""
    return resources.files("webdl").joinpath("_shaders", name + ".glsl").read_text()


class Programs:
    """Compiled programs, one per (shader file, #defines, generated code). Every program is
    common.glsl, the defines (plus ``layout``'s, which every kernel gets) and
    shaders/<kernel>.glsl, followed by ``code`` (a fused elementwise chain's generated
    main). A lost context takes its programs with it: the cache empties when gl.js starts a
    new context."""

    def __init__(self, layout):
        self._ids = {}
        self._gen = _gen[0]
        self.set_layout(layout)

    def set_layout(self, layout):
        """New layout defines (a test's split setting): programs compile again."""
        self._layout = layout
        self._ids.clear()

    def get(self, kernel, defines, code="", arrays=(), smalls=()):
        """The program; ``arrays`` names the samplers that read split tensors: their
        ``uniform sampler2D <name>;`` lines become sampler2DArray, ``uniform isampler2D
        <name>;`` isampler2DArray (common.glsl's fetch overloads read them); ``smalls``
        those that read small tensors: their ``fetch(<name>,`` calls become fetch_s."""
        key = kernel + "|" + ",".join(f"{k}={v}" for k, v in defines) + "|" + code
        if arrays:
            key += "|" + ",".join(arrays)
        if smalls:
            key += "|s" + ",".join(smalls)
        if self._gen != _gen[0]:
            self._ids.clear()
            self._gen = _gen[0]
        pid = self._ids.get(key)
        if pid is None:
            version, rest = _shader("common").split("\n", 1)
            head = "".join(f"#define {k} {v}\n" for k, v in defines + self._layout)
            src = f"{version}\n{head}{rest}\n{_shader(kernel)}\n{code}"
            for name in arrays:
                decl, idecl = f"uniform sampler2D {name};", f"uniform isampler2D {name};"
                if decl not in src and idecl not in src:
                    raise RuntimeError(f"webgl: kernel '{kernel}' declares no sampler {name}")
                src = src.replace(decl, f"uniform highp sampler2DArray {name};").replace(
                    idecl, f"uniform highp isampler2DArray {name};")
            for name in smalls:
                src = src.replace(f"fetch({name},", f"fetch_s({name},")
            pid = _call(_gl.compile, key, src)
            self._ids[key] = pid
        return pid


def draw(pid, out, inputs, uniforms, extra=()):
    """One draw of program ``pid``: ``inputs`` ({sampler: GLBuffer}) and ``uniforms`` in,
    ``out`` at location 0 and the ``extra`` targets at locations 1, 2, ... out."""
    _pending.append(("r", pid, out.id, {k: b.id for k, b in inputs.items()}, uniforms,
                     [b.id for b in extra]))
    _early[0] += out.numel
    if len(_pending) > QUEUE_MAX or _profiling[0] or (   # profiling times each draw alone
            _early[0] >= EARLY_ELEMS and _early_s >= 0
            and time.perf_counter() - _early[1] >= _early_s):
        _exec()


# Recordings (webdl.compile; the WebGPU bridge has the same): between ``record_begin`` and
# ``record_end`` every command sent to gl.js (draws, frees, and the allocations made meanwhile)
# is also kept; a call whose commands depend only on its inputs and on textures that stay (a
# model's parameters) becomes a template in gl.js that ``replay`` runs again on new inputs,
# with new textures for those the call allocates: one crossing for the whole call.
_rec = [None]
_INPUT_CODE = 1 << 24   # template id -(_INPUT_CODE + j): input j; -(k + 1): the k-th new texture


class _Trace:
    __slots__ = ("cmds", "why", "constants", "derived")

    def __init__(self):
        self.cmds, self.why, self.constants = [], None, []
        self.derived = {}   # texture id -> (source GLBuffer, fetch, GLBuffer): see derived


class Recording:
    """A replayable call: gl.js's template ``tid``, its outputs ((new-texture index, numel,
    is_int)), the context generation it was made on, the derived textures it reads ((input
    index, fetch): extra inputs, fetched for each replay) and those it holds (derived from
    kept textures)."""
    __slots__ = ("tid", "outputs", "gen", "constants", "derived", "held")

    def __del__(self):
        try:
            if _gl is not None and self.gen == _gen[0]:
                _gl.forget(self.tid)
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


def record_begin():
    flush()
    _rec[0] = _Trace()


# Derived textures: a texture computed from one other alone and kept while that one lives (a
# matmul operand's packed copy, see WebGLBackend.derived). Made outside any record, and
# read by a record as an extra input that each replay fetches for its own source texture:
# a recurrent layer's steps, replayed, pack their weight once, not once a step.
def made_in_record(buf):
    """Whether ``buf`` was allocated by the call being recorded."""
    tr = _rec[0]
    return tr is not None and any(c[0] == "a" and c[1] == buf.id
                                  for c in expanded(itertools.chain(tr.cmds, _pending)))


def derived(buf, src, fetch):
    """Note that ``buf`` is ``fetch(src)``: a record reading it reads it as fetched anew for
    its source's texture at each replay."""
    tr = _rec[0]
    if tr is not None:
        tr.derived[buf.id] = (src, fetch, buf)


def record_cancel():
    flush()
    _rec[0] = None


def record_end(inputs, kept, outputs, owned=()):
    """The Recording of the commands since ``record_begin`` (already run), or a string saying
    why it can't be replayed (as the WebGPU bridge's). ``owned``: ids of inputs the call may
    free (state it replaces: a training step's old parameters and gradients, its host inputs):
    those frees are left out of the template, the caller's rebinding frees them at a replay."""
    flush()
    tr, _rec[0] = _rec[0], None
    if tr.why is not None:
        return tr.why
    slot = {b.id: j for j, b in enumerate(inputs)}
    owned = set(owned)
    kept = set(kept) | {b.id for b in tr.constants}    # made in the call, kept by the record
    new, alive, tpl = {}, set(), []
    fetched, held = {}, []      # derived textures: of an input (fetched anew), of a kept one

    def code(tid):
        if tid in new:
            return -(new[tid] + 1)
        if tid in slot:
            return -(_INPUT_CODE + slot[tid])
        if tid in kept:
            return tid
        src, fetch, buf = tr.derived.get(tid, (None, None, None))
        if src is not None and src.id in slot:
            if tid not in fetched:
                fetched[tid] = (len(fetched), slot[src.id], fetch)
            return -(_INPUT_CODE + len(inputs) + fetched[tid][0])
        if src is not None and src.id in kept:
            held.append(buf)
            return tid
        raise LookupError(tid)

    try:
        for c in expanded(tr.cmds):
            if c[0] == "a" and c[1] in kept:
                continue           # a constant (arange, ...): allocated and uploaded once
            if c[0] == "f" and c[1] in owned:
                continue
            if c[0] == "a":
                new[c[1]] = len(new)
                alive.add(c[1])
                tpl.append(["a", *c[2:]])
            elif c[0] == "f":
                if c[1] in new:
                    alive.discard(c[1])
                    tpl.append(["f", code(c[1])])
                elif c[1] in slot or c[1] in kept:
                    return "it frees or replaces an input or a parameter (an in-place write)"
            else:
                _, pid, out, ins, uniforms, extra = c
                tpl.append(["r", pid, code(out), {k: code(v) for k, v in ins.items()},
                            uniforms, [code(e) for e in extra]])
    except LookupError:
        return "it reads a tensor that is neither an argument nor a parameter or buffer of " \
               "the module (a global tensor, or one made before the call)"
    outs = []
    for b in outputs:
        if b.id not in new or b.id not in alive:
            return "it returns a tensor it did not compute (an input, a parameter, an empty one)"
        outs.append((new[b.id], b.numel, b.is_int))
    if alive != {b.id for b in outputs}:
        return "it keeps GPU memory past the call (a cache or a global made inside it)"
    rec = Recording()
    rec.tid = _call(_gl.record, json.dumps(tpl))
    rec.outputs, rec.gen = outs, _gen[0]
    rec.constants, rec.held = tr.constants, held
    rec.derived = [(j, fetch) for _, j, fetch in sorted(fetched.values(), key=lambda d: d[0])]
    return rec


def replay(rec, inputs):
    """Run ``rec`` on the textures ``inputs``: its output textures, or None when its context
    is gone (run the call itself)."""
    if rec.gen != _gen[0]:
        return None
    inputs = list(inputs) + [fetch(inputs[j]) for j, fetch in rec.derived]
    for b in inputs:
        check(b)
    global _pending
    cmds, _pending = _pending, []
    ids = json.loads(_call(_gl.replay, json.dumps(cmds) if cmds else "", rec.tid,
                           json.dumps([b.id for b in inputs]),
                           json.dumps([k for k, _, _ in rec.outputs])))
    return [GLBuffer.adopt(t, n, i) for t, (_, n, i) in zip(ids, rec.outputs)]
