// The WebGL2 bridge that webdl's Python WebGL backend drives. It ships inside the wheel
// (webdl/_js/gl.js); webdl.backends.webgl.bridge evaluates it through Pyodide's FFI in any
// Pyodide that imports webdl (a worker or a page's main thread). It owns the context, a
// texture pool keyed by texture size, a program cache keyed by kernel name, and
// upload/readback. Tensors are R32F textures (int64 tensors: R32I, exact over int32, on
// either path: R32I is color-renderable in core WebGL2) in row-major order, element i at
// texel (i % width, i / width): width is maxWidth (4096) for tensors of more elements, and
// SMALL_WIDTH (64) for tensors of at most maxWidth elements ("small": many short rows, not
// one long row, which a software rasteriser runs on one thread at half its SIMD width --
// SwiftShader took as long for 4096 elements in one row as for 16384 in four). Where the GPU
// can't render to float32 textures but can to float16 ones (EXT_color_buffer_half_float), it
// runs on float16 storage instead: tensors are R16F (RGBA16F for packed kernels), but
// uploaded bool data stays R32F (core WebGL2 samples R32F; only rendering into it needs the
// extension) and int64 tensors stay R32I.
// A float tensor larger than one texture (more than splitAbove elements; float32 storage only)
// is a texture array instead: layers of layerRows rows (a power of two), element i at
// texel (i % width, (i / width) % layerRows) of layer i / (width * layerRows); a draw into
// it is one draw per layer, with the uniform u_layer set to the layer.
"use strict";

const MAX_WIDTH = 4096;
const SMALL_WIDTH = 64;  // the width of a small tensor's texture (see the top of this file)
const LAYER_ROWS = 2048; // rows per layer of a split tensor: 8M elements, 32 MiB at width 4096
// free textures kept for reuse, at most: this, or POOL_LIVE_FACTOR times the most bytes
// ever live at once where that is more (up to the live cap). A run that repeats (a training
// step, a super-resolution tile) frees and takes back textures of many exact sizes, and the
// pool must hold them all at once: esrgan-slim x2 256 needs 331 MiB pooled for a peak of 146
// MiB live. Below that, the pool deleted textures that the next run made again (50 a run:
// 363 ms against 106 ms on the H100's GL driver, where a new texture's first use is slow).
const POOL_CAP_BYTES = 256 * 1024 * 1024;
const POOL_LIVE_FACTOR = 3;
const LIVE_CAP_BYTES = 1536 * 1024 * 1024; // live tensors, at most (a clear error beyond)
// Early flushes: once the draws since the last flush have written this many texels and this
// long has passed since it, gl.flush() sends them to the GPU, so that it works while Python
// queues the rest (a model's forward pass) instead of starting at the readback; the time
// gate bounds the flushes for a chain of small draws. {earlyMs: -1} (?earlyms=-1): none.
const EARLY_TEXELS = 1 << 18;
const EARLY_MS = 0.5;
// what init() reports as the precision of each storage
const PRECISION = {
  float32: "float32 storage and arithmetic",
  float16: "float16 storage, ~3 decimal digits (relative error up to 2^-11 per stored value); " +
    "arithmetic in highp float within each shader; integers computed on the GPU exact up to " +
    "2047, uploaded ones up to 2^24",
};

// an OffscreenCanvas where there is one (workers, modern pages), else a canvas element
function newCanvas() {
  return typeof OffscreenCanvas !== "undefined" ? new OffscreenCanvas(1, 1) : document.createElement("canvas");
}

class GLBridge {
  constructor(canvas, options = {}) {
    this.canvas = canvas || newCanvas();
    // {noFloat: true} pretends float32 and float16 rendering are missing, {half: true} that
    // float32 rendering is (tests force the refusal and the float16 path with them)
    this.options = options;
    this.half = false;      // float16 render targets (set by init)
    this.liveBytes = 0;
    this.liveCap = options.liveCap || LIVE_CAP_BYTES;
    this.earlyMs = options.earlyMs ?? EARLY_MS;   // see EARLY_TEXELS
    this.texels = 0;        // texels drawn since the last early flush
    this.lastFlush = 0;     // performance.now() at that flush
    this.highLive = 0;     // the most bytes live at once (not reset: see poolLimit)
    this.textures = new Map(); // id -> {tex, w, h}
    this.pool = new Map(); // "w x h" -> [tex, ...], in order of last free
    this.keyBytes = new Map(); // "w x h" -> bytes of one of its textures
    this.pooledBytes = 0;
    this.peak = { bytes: 0, textures: 0, reserved: 0 }; // highs since start or resetPeakStats
    this.nextId = 1 << 30; // ids gl.js gives (a replay's textures); Python gives those below
    this.recordings = new Map(); // webdl.compile's templates (see record)
    this.nextRecording = 1;
    this.programs = []; // id -> {prog, uniforms: Map}
    this.programIds = new Map(); // key -> id
    this.lost = false;
    this.generation = 0;
    // texturesMade: textures created (not taken from the pool)
    this.stats = { drawCalls: 0, uploads: 0, readbacks: 0, compiles: 0, runMs: 0, texturesMade: 0, flushes: 0 };
    this.profile = null; // {key: [calls, ms]} while profiling (each draw then waits)
  }

  // Capability probe: WebGL2 and float32 render targets. Returns a JSON string.
  init() {
    const gl = this.canvas.getContext("webgl2", {
      antialias: false, depth: false, stencil: false, alpha: true,
      preserveDrawingBuffer: false, powerPreference: "high-performance",
    });
    if (!gl) return JSON.stringify({ ok: false, error: "WebGL2 is not available in this browser" });
    this.gl = gl;
    const canvas = this.canvas; // the event may arrive after a recovery: only ours counts
    canvas.addEventListener("webglcontextlost", (e) => {
      e.preventDefault();
      if (this.canvas === canvas) this.lost = true;
    });
    const opts = this.options;
    const cbf = opts.noFloat || opts.half ? null : gl.getExtension("EXT_color_buffer_float");
    const cbh = cbf || opts.noFloat ? null : gl.getExtension("EXT_color_buffer_half_float");
    const dbg = gl.getExtension("WEBGL_debug_renderer_info");
    // programs link in the GPU process's worker threads where it has this (see compile)
    const parallel = gl.getExtension("KHR_parallel_shader_compile");
    const renderer = dbg ? gl.getParameter(dbg.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);
    const info = {
      ok: true, renderer, version: gl.getParameter(gl.VERSION),
      maxTextureSize: gl.getParameter(gl.MAX_TEXTURE_SIZE),
      maxDrawBuffers: gl.getParameter(gl.MAX_DRAW_BUFFERS),
      floatRender: !!cbf, halfRender: !!cbh, parallelCompile: !!parallel,
      storage: cbf ? "float32" : "float16",
    };
    info.precision = PRECISION[info.storage];
    if (!cbf && !cbh) {
      info.ok = false;
      info.error = "this GPU can't render to float32 textures (EXT_color_buffer_float missing) " +
        "nor to float16 ones (EXT_color_buffer_half_float missing)";
      this.info = info;
      return JSON.stringify(info);
    }
    this.half = !cbf;
    // texture formats: [internal format, bytes a texel] for 1 and 4 channels, for uploads
    // (which are never rendered into) and for int tensors
    this.formats = this.half
      ? { 1: [gl.R16F, 2], 4: [gl.RGBA16F, 8], up: [gl.R32F, 4], int: [gl.R32I, 4] }
      : { 1: [gl.R32F, 4], 4: [gl.RGBA32F, 16], up: [gl.R32F, 4], int: [gl.R32I, 4] };
    this.vbo = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, this.vbo);
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 3, -1, -1, 3]), gl.STATIC_DRAW);
    // the one vertex stream every draw uses: set once (the default vertex array keeps it)
    gl.enableVertexAttribArray(0);
    gl.vertexAttribPointer(0, 2, gl.FLOAT, false, 0, 0);
    this.fbo = gl.createFramebuffer();
    // GL state as draw() last set it, so that a draw sends only what changed (each WebGL
    // call costs the worker and the GPU process): the program in use, the draw-buffer count,
    // the viewport, attachment 0's texture; each program's uniforms keep their last values
    // (p.uniforms' `last`). ?statecache=0 (options.noStateCache) sends everything (A/B).
    this.state = { prog: null, drawBuffers: 0, viewport: [-1, -1, -1, -1], att0: null };
    this.maxTextureSize = info.maxTextureSize;
    this.maxWidth = Math.min(MAX_WIDTH, info.maxTextureSize);
    info.maxWidth = this.maxWidth;   // tensors of more elements: textures this wide
    // tensors of at most maxWidth elements: this wide ({smallWidth: maxWidth}, a power of
    // two, gives them one row again: an A/B switch for measurements)
    const sw = this.options.smallWidth;
    this.smallWidth = sw > 0 && sw <= this.maxWidth && !(sw & (sw - 1)) ? sw : SMALL_WIDTH;
    info.smallWidth = this.smallWidth;
    this.maxTexels = this.maxWidth * info.maxTextureSize;
    // larger tensors: texture arrays (see the top of this file)
    info.maxLayers = gl.getParameter(gl.MAX_ARRAY_TEXTURE_LAYERS);
    this.setSplit(this.maxTexels, Math.min(LAYER_ROWS, info.maxTextureSize), info);
    if (this.half) {
      this.probeHalf(info);
      this.info = info;
      return JSON.stringify(info);
    }
    // a probe: render a float value that needs 32 bits and read it back bit-exactly
    const probe = this.alloc(4);
    this.upload(probe, new Float32Array([1.0000001, -3.5e-20, 65504.5, 123456.789]));
    const back = this.download(probe, 4);
    this.free(probe);
    const want = new Float32Array([1.0000001, -3.5e-20, 65504.5, 123456.789]);
    info.floatExact = back.every((v, i) => v === want[i]);
    if (!info.floatExact) {
      info.ok = false;
      info.error = "float32 textures don't round-trip exactly on this GPU";
    }
    this.info = info;
    return JSON.stringify(info);
  }

  // The float16 probe, a real render: upload float32 values (an R32F texture), draw them
  // doubled into an R16F target, read it back. Each value must come back within float16's
  // rounding (2^-11 relative), and -65520 must be stored as -infinity: the kernels write
  // every overflow as +-65520 (common.glsl's stored()), as GPUs differ on larger values
  // (SwiftShader stores NaN for an infinity).
  probeHalf(info) {
    const gl = this.gl;
    const vals = [1.0009765625, -0.1, 1000.3, -32760];
    const src = this.alloc(4, true), dst = this.alloc(4);
    let back = [];
    try {
      this.upload(src, new Float32Array(vals));
      const pid = this.compile("webdl-probe-half", "#version 300 es\nprecision highp float;\n" +
        "uniform highp sampler2D u_a;\nout vec4 o;\nvoid main() {\n" +
        "  o = vec4(2.0 * texelFetch(u_a, ivec2(gl_FragCoord.xy), 0).r, 0.0, 0.0, 1.0);\n}\n");
      this.draw([pid, dst, { u_a: src }, {}, []]);
      back = Array.from(this.download(dst, 4));
    } catch (e) {
      back = [String(e)];
    } finally {
      this.free(src);
      this.free(dst);
    }
    const err = gl.getError();
    const close = (i) => Math.abs(back[i] - 2 * vals[i]) <= Math.abs(2 * vals[i]) * 2 ** -11;
    info.halfProbe = back.map(String);   // JSON has no Infinity
    info.halfExact = err === gl.NO_ERROR && [0, 1, 2].every(close) && back[3] === -Infinity;
    if (!info.halfExact) {
      info.ok = false;
      info.error = `float16 render targets failed webdl's probe on this GPU (read back ` +
        `${info.halfProbe.join(", ")} for ${JSON.stringify(vals.map((v) => 2 * v))}, GL error ${err})`;
    }
  }

  // Context loss: the call that finds the context lost fails with a clear error, and the
  // bridge starts again on a new context (generation + 1); tensors of the old one are gone.
  checkContext() {
    if (!this.lost && !(this.gl && this.gl.isContextLost())) return;
    this.recover();
    throw new Error("webgl: the GPU context was lost; webdl has started a new one, and " +
      "tensors created before are gone (create them again)");
  }

  recover() {
    this.canvas = newCanvas();
    this.gl = null;
    this.lost = false;
    this.textures = new Map();
    this.pool = new Map();
    this.pooledBytes = 0;
    this.liveBytes = 0;
    this.programs = [];
    this.programIds = new Map();
    this.recordings = new Map();
    this.vs = null;
    this.generation++;
    this.init();
  }

  // test hook: lose the context as a real GPU reset would (WEBGL_lose_context)
  loseContext() {
    const ext = this.gl.getExtension("WEBGL_lose_context");
    ext.loseContext();
    this.lost = true;
  }

  probe() {
    return JSON.stringify(this.info || { ok: false, error: "the GPU was not initialised" });
  }

  // split tensors of more than `above` elements into layers of `rows` rows (a power of
  // two); tests lower both to exercise the split path at small sizes
  setSplit(above, rows, info = this.info) {
    this.splitAbove = Math.min(above, this.maxTexels);
    this.layerRows = rows;
    // the largest split tensor: every layer, and flat indices within int32
    this.maxSplit = Math.min(info.maxLayers * rows * this.maxWidth, 2 ** 31 - 1);
    Object.assign(info, { splitAbove: this.splitAbove, layerRows: rows, maxSplit: this.maxSplit });
    return JSON.stringify(info);
  }

  dims(numel) {
    const n = Math.max(numel, 1);
    const w = Math.min(n, n <= this.maxWidth ? this.smallWidth : this.maxWidth);
    return [w, Math.ceil(n / w)];
  }

  // --- textures -----------------------------------------------------------------------------
  // a tensor's texture; upload: one that only Python's bool data is written to (R32F on
  // the float16 path: sampled, never rendered into nor read back); isInt: an int64
  // tensor's (R32I; a split one an R32I texture array)
  alloc(numel, upload = false, isInt = false, id = 0) {
    if (numel > this.splitAbove) {
      if (this.half) {
        throw new Error(`webgl: a tensor of ${numel} elements exceeds the largest texture ` +
          `(${this.splitAbove} elements); on the float16 path tensors are not split across textures`);
      }
      if (numel > this.maxSplit) {
        throw new Error(`webgl: a tensor of ${numel} elements exceeds the largest split ` +
          `texture (${this.maxSplit} elements: ${this.info.maxLayers} layers of ` +
          `${this.maxWidth}x${this.layerRows})`);
      }
      const layers = Math.ceil(numel / (this.maxWidth * this.layerRows));
      return this.allocTexture(this.maxWidth, this.layerRows, 1, false, layers, isInt, id);
    }
    const [w, h] = this.dims(numel);
    return this.allocTexture(w, h, 1, upload, 0, isInt, id);
  }

  // a texture of explicit size; channels 1 (R32F, tensors; R32I with isInt, int tensors) or
  // 4 (RGBA32F, packed kernels), float16 ones on the float16 path (but R32F for uploads);
  // layers > 0: a texture array of that many layers (a split tensor)
  allocTexture(w, h, channels, upload = false, layers = 0, isInt = false, given = 0) {
    this.checkContext();
    const gl = this.gl;
    const max = this.maxTextureSize;
    const fmt = isInt ? "int" : (upload && this.half ? "up" : channels);
    const [internal, texel] = this.formats[fmt];
    const need = w * h * texel * Math.max(layers, 1);
    if (this.liveBytes + need > this.liveCap) {
      throw new Error(`webgl: out of GPU memory: ${(this.liveBytes / 2 ** 20).toFixed(0)} MiB in ` +
        `use, ${(need / 2 ** 20).toFixed(1)} MiB more requested, limit ` +
        `${(this.liveCap / 2 ** 20).toFixed(0)} MiB; free tensors (del x, or x.free_()) and retry`);
    }
    if (w > max || h > max) {
      throw new Error(`webgl: a ${w}x${h} texture exceeds the GPU's limit of ${max}`);
    }
    const key = w + "x" + h + "x" + fmt + "x" + layers;
    const free = this.pool.get(key);
    let tex;
    if (free && free.length) {
      tex = free.pop();
      this.pooledBytes -= need;
    } else {
      const target = layers ? gl.TEXTURE_2D_ARRAY : gl.TEXTURE_2D;
      tex = gl.createTexture();
      this.stats.texturesMade++;
      gl.bindTexture(target, tex);
      for (let e = gl.getError(); e !== gl.NO_ERROR; e = gl.getError()) {
        this.staleError = this.staleError || e;   // kept for glError()
      }
      if (layers) gl.texStorage3D(target, 1, internal, w, h, layers);
      else gl.texStorage2D(target, 1, internal, w, h);
      const e = gl.getError();
      if (e !== gl.NO_ERROR) {
        gl.deleteTexture(tex);
        const size = `${w}x${h}` + (layers ? `x${layers} layers` : "");
        throw new Error(e === gl.OUT_OF_MEMORY ? `webgl: out of GPU memory allocating a ${size} texture`
          : `webgl: the GPU refused a ${size} texture (GL error ${e})`);
      }
      gl.texParameteri(target, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
      gl.texParameteri(target, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
      gl.texParameteri(target, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
      gl.texParameteri(target, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    }
    const id = given || this.nextId++;
    this.textures.set(id, { tex, w, h, channels, layers, key, bytes: need, upload: fmt === "up",
                            isInt });
    this.liveBytes += need;
    this.notePeak();
    return id;
  }

  free(id) {
    const t = this.textures.get(id);
    if (!t) return;
    this.textures.delete(id);
    const bytes = t.bytes;
    this.liveBytes -= bytes;
    if (this.lost) return;
    const cap = this.poolLimit();
    if (bytes > cap) {
      this.gl.deleteTexture(t.tex);
      return;
    }
    // past the pool's cap, the textures of the shapes freed longest ago go first (the Map
    // is kept in order of last free), so the shapes in use now stay pooled when earlier
    // work (another model, another tile size) filled the pool
    const list = this.pool.get(t.key) || [];
    this.pool.delete(t.key);
    this.pool.set(t.key, list);
    list.push(t.tex);
    this.pooledBytes += bytes;
    this.keyBytes.set(t.key, bytes);
    for (const [key, old] of this.pool) {
      if (this.pooledBytes <= cap) break;
      const b = this.keyBytes.get(key);
      while (old.length && this.pooledBytes > cap) {
        this.gl.deleteTexture(old.pop());
        this.pooledBytes -= b;
      }
      if (!old.length) this.pool.delete(key);
    }
  }

  // the pool's cap (see POOL_CAP_BYTES); {poolCap: bytes} fixes it (an A/B switch)
  poolLimit() {
    return this.options.poolCap ||
      Math.max(POOL_CAP_BYTES, Math.min(POOL_LIVE_FACTOR * this.highLive, this.liveCap));
  }

  // the memory statistics' highs: live bytes, live textures, and reserved bytes (live + pooled)
  notePeak() {
    this.highLive = Math.max(this.highLive, this.liveBytes);
    const p = this.peak;
    p.bytes = Math.max(p.bytes, this.liveBytes);
    p.textures = Math.max(p.textures, this.textures.size);
    p.reserved = Math.max(p.reserved, this.liveBytes + this.pooledBytes);
  }

  resetPeakStats() {
    this.peak = { bytes: 0, textures: 0, reserved: 0 };
    this.notePeak();
  }

  // the pool's textures are deleted (torch.cuda.empty_cache): reserved drops to live
  emptyCache() {
    if (!this.lost && this.gl) {
      for (const list of this.pool.values()) for (const tex of list) this.gl.deleteTexture(tex);
    }
    this.pool = new Map();
    this.pooledBytes = 0;
  }

  upload(id, data) {
    // data: a Float32Array, or a PyProxy of a float32 buffer (zero-copy through getBuffer)
    this.checkContext();
    const gl = this.gl;
    const t = this.textures.get(id);
    let view = data, pybuf = null;
    if (data && typeof data.getBuffer === "function") {
      pybuf = data.getBuffer(t.isInt ? "i32" : "f32");
      view = pybuf.data;
    }
    try {
      gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
      if (t.layers) {
        this.uploadLayers(t, view);
        return;
      }
      gl.bindTexture(gl.TEXTURE_2D, t.tex);
      if (this.half && !t.upload && !t.isInt) {
        // float16 storage: converted here (round to nearest even, overflow to infinity), as
        // GPUs differ (SwiftShader turns 70000 into NaN)
        const bits = new Uint16Array(t.w * t.h);
        const n = Math.min(view.length, bits.length);
        for (let i = 0; i < n; i++) bits[i] = floatToHalf(view[i]);
        gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, t.w, t.h, gl.RED, gl.HALF_FLOAT, bits);
        return;
      }
      let full = view;
      if (view.length !== t.w * t.h) {
        full = new (t.isInt ? Int32Array : Float32Array)(t.w * t.h);
        full.set(view.subarray(0, Math.min(view.length, full.length)));
      }
      gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, t.w, t.h, t.isInt ? gl.RED_INTEGER : gl.RED,
                       t.isInt ? gl.INT : gl.FLOAT, full);
    } finally {
      if (pybuf) pybuf.release();
      this.stats.uploads++;
    }
  }

  // a split tensor's upload, layer by layer: whole rows straight from `view`, a last
  // partial row padded
  uploadLayers(t, view) {
    const gl = this.gl;
    gl.bindTexture(gl.TEXTURE_2D_ARRAY, t.tex);
    const per = t.w * t.h;
    const [format, type] = t.isInt ? [gl.RED_INTEGER, gl.INT] : [gl.RED, gl.FLOAT];
    for (let l = 0; l < t.layers && l * per < view.length; l++) {
      const part = view.subarray(l * per, Math.min((l + 1) * per, view.length));
      const whole = Math.floor(part.length / t.w);
      if (whole) {
        gl.texSubImage3D(gl.TEXTURE_2D_ARRAY, 0, 0, 0, l, t.w, whole, 1, format, type,
                         part.subarray(0, whole * t.w));
      }
      if (part.length > whole * t.w) {
        const row = new (t.isInt ? Int32Array : Float32Array)(t.w);
        row.set(part.subarray(whole * t.w));
        gl.texSubImage3D(gl.TEXTURE_2D_ARRAY, 0, 0, whole, l, t.w, 1, 1, format, type, row);
      }
    }
  }

  // readPixels of the first `numel` elements' rows, layer by layer for a split tensor:
  // read(x, y, w, rows, offset) reads rows into the destination at element `offset`
  readLayers(t, numel, read) {
    const gl = this.gl;
    const per = t.w * t.h;
    for (let l = 0; l * per < numel; l++) {
      gl.framebufferTextureLayer(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, t.tex, 0, l);
      this.state.att0 = null;
      read(t.w, Math.ceil(Math.min(per, numel - l * per) / t.w), l * per);
    }
  }

  // bind a tensor's texture for readPixels: [texture, rows]; the first time, probe whether
  // the implementation reads RED/FLOAT (a quarter of the data of RGBA) or, from float16
  // targets, RED/HALF_FLOAT (an eighth; converted here)
  bindForRead(id, numel) {
    this.checkContext();
    const gl = this.gl;
    const t = this.textures.get(id);
    if (t.upload) {   // Python keeps the values of what it uploaded on the float16 path
      throw new Error("webgl: an uploaded float32 texture can't be read back without " +
        "EXT_color_buffer_float");
    }
    this.attach(t);
    if (t.isInt) {   // int textures: readInt
      if (this.readRedInt === undefined) {
        this.readRedInt = gl.getParameter(gl.IMPLEMENTATION_COLOR_READ_FORMAT) === gl.RED_INTEGER &&
          gl.getParameter(gl.IMPLEMENTATION_COLOR_READ_TYPE) === gl.INT;
      }
    } else if (this.readRed === undefined) {
      const format = gl.getParameter(gl.IMPLEMENTATION_COLOR_READ_FORMAT);
      const type = gl.getParameter(gl.IMPLEMENTATION_COLOR_READ_TYPE);
      this.readRed = format === gl.RED && type === gl.FLOAT;
      this.readHalf = this.half && format === gl.RED && type === gl.HALF_FLOAT;
    }
    this.stats.readbacks++;
    return [t, Math.ceil(Math.max(numel, 1) / t.w)];
  }

  // texture record t (its first layer) as the framebuffer's attachment 0, to read from
  attach(t) {
    const gl = this.gl;
    gl.bindFramebuffer(gl.FRAMEBUFFER, this.fbo);
    if (t.layers) gl.framebufferTextureLayer(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, t.tex, 0, 0);
    else gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, t.tex, 0);
    this.state.att0 = t.layers ? null : t.tex;
  }

  // one texel of the bound framebuffer (an int texture's when isInt): waits for the draws
  // that wrote it
  readTexel(isInt) {
    const gl = this.gl;
    if (isInt) gl.readPixels(0, 0, 1, 1, gl.RGBA_INTEGER, gl.INT, this.syncInt || (this.syncInt = new Int32Array(4)));
    else gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.FLOAT, this.syncPixel || (this.syncPixel = new Float32Array(4)));
  }

  // RED/HALF_FLOAT readback into the float32 array out (at least w * rows long)
  readHalfInto(t, rows, out) {
    const bits = new Uint16Array(t.w * rows);
    this.gl.readPixels(0, 0, t.w, rows, this.gl.RED, this.gl.HALF_FLOAT, bits);
    const table = this.halfTable || (this.halfTable = halfToFloatTable());
    for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]];
  }

  // an R32I texture's first numel elements (whole rows) into the Int32Array out, layer by
  // layer for a split one: RED_INTEGER where offered, else RGBA_INTEGER (which WebGL2 always
  // offers)
  readInt(t, numel, out) {
    const gl = this.gl;
    const read = (w, r, at) => {
      if (this.readRedInt) {
        gl.readPixels(0, 0, w, r, gl.RED_INTEGER, gl.INT, out.subarray(at, at + w * r));
        return;
      }
      const rgba = new Int32Array(w * r * 4);
      gl.readPixels(0, 0, w, r, gl.RGBA_INTEGER, gl.INT, rgba);
      for (let i = 0; i < w * r && at + i < out.length; i++) out[at + i] = rgba[4 * i];
    };
    if (t.layers) this.readLayers(t, numel, read);
    else read(t.w, Math.ceil(Math.max(numel, 1) / t.w), 0);
  }

  // readback straight into a Python buffer (a PyProxy of a float32 numpy array -- int32 for
  // an int texture -- of at least the texture's rows x width elements): no JS array, no
  // second copy; false (nothing read) where neither RED/FLOAT nor RED/HALF_FLOAT readback
  // is offered
  downloadInto(id, numel, target) {
    const [t, rows] = this.bindForRead(id, numel);
    if (t.isInt) {
      const buf = target.getBuffer("i32");
      try {
        if (buf.data.length < t.w * rows) throw new Error("webgl: readback buffer too small");
        this.readInt(t, numel, buf.data);
      } finally {
        buf.release();
      }
      return true;
    }
    if (!this.readRed && !this.readHalf) return false;
    const buf = target.getBuffer("f32");
    try {
      if (buf.data.length < t.w * rows) throw new Error("webgl: readback buffer too small");
      const gl = this.gl;
      if (t.layers) {
        this.readLayers(t, numel, (w, r, at) =>
          gl.readPixels(0, 0, w, r, gl.RED, gl.FLOAT, buf.data.subarray(at, at + w * r)));
      } else if (this.readHalf) {
        this.readHalfInto(t, rows, buf.data);
      } else {
        gl.readPixels(0, 0, t.w, rows, gl.RED, gl.FLOAT, buf.data.subarray(0, t.w * rows));
      }
    } finally {
      buf.release();
    }
    return true;
  }

  download(id, numel) {
    const gl = this.gl;
    const [t, rows] = this.bindForRead(id, numel);
    if (t.isInt) {
      const out = new Int32Array(t.w * rows);
      this.readInt(t, numel, out);
      return out.subarray(0, numel);
    }
    if (t.layers) {   // RGBA layer by layer
      const out = new Float32Array(numel);
      this.readLayers(t, numel, (w, r, at) => {
        const rgba = new Float32Array(w * r * 4);
        gl.readPixels(0, 0, w, r, gl.RGBA, gl.FLOAT, rgba);
        for (let i = 0; i < w * r && at + i < numel; i++) out[at + i] = rgba[4 * i];
      });
      return out;
    }
    if (this.readRed || this.readHalf) {
      const red = new Float32Array(t.w * rows);
      if (this.readHalf) this.readHalfInto(t, rows, red);
      else gl.readPixels(0, 0, t.w, rows, gl.RED, gl.FLOAT, red);
      return red.length === numel ? red : red.subarray(0, numel);
    }
    const rgba = new Float32Array(t.w * rows * 4);
    gl.readPixels(0, 0, t.w, rows, gl.RGBA, gl.FLOAT, rgba);
    const out = new Float32Array(numel);
    for (let i = 0; i < numel; i++) out[i] = rgba[4 * i];
    return out;
  }

  // --- programs -------------------------------------------------------------------------------
  programId(key) {
    const id = this.programIds.get(key);
    return id === undefined ? -1 : id;
  }

  // A program from a fragment shader's source, compiled and linked without waiting: the
  // link's status, uniforms and samplers are read at its first draw (_linked), so the
  // programs a model's first run asks for compile while Python goes on queueing draws, in
  // parallel where the driver can (KHR_parallel_shader_compile, enabled at init), instead of
  // one round trip to the GPU process each.
  compile(key, source) {
    this.checkContext();
    const gl = this.gl;
    if (!this.vs) {
      this.vs = this.shader(gl.VERTEX_SHADER,
        "#version 300 es\nin vec2 p;\nvoid main() { gl_Position = vec4(p, 0.0, 1.0); }\n");
      if (!gl.getShaderParameter(this.vs, gl.COMPILE_STATUS)) {
        throw new Error("webgl: the vertex shader does not compile: " + gl.getShaderInfoLog(this.vs));
      }
    }
    const fs = this.shader(gl.FRAGMENT_SHADER, source);
    const prog = gl.createProgram();
    gl.attachShader(prog, this.vs);
    gl.attachShader(prog, fs);
    gl.bindAttribLocation(prog, 0, "p");
    gl.linkProgram(prog);
    const id = this.programs.length;
    this.programs.push({ prog, fs, uniforms: null, samplers: null, key });
    this.programIds.set(key, id);
    this.stats.compiles++;
    if (this.options.syncCompile) this._linked(id);   // the A/B switch: checked at once
    return id;
  }

  // Program pid, its link checked and its uniforms and samplers read (once, at its first draw);
  // a kernel that does not compile is named with the compiler's log
  _linked(pid) {
    const p = this.programs[pid];
    if (p.uniforms) return p;
    const gl = this.gl, prog = p.prog;
    if (!gl.getProgramParameter(prog, gl.LINK_STATUS)) {
      this.checkContext();    // a context lost since: that error, not a compile error
      const log = gl.getShaderParameter(p.fs, gl.COMPILE_STATUS) ? gl.getProgramInfoLog(prog)
        : gl.getShaderInfoLog(p.fs);
      throw new Error(`webgl: kernel '${p.key.split("|")[0]}' does not compile: ${log}`);
    }
    gl.deleteShader(p.fs);    // freed with its program
    p.fs = null;
    const uniforms = new Map();
    const n = gl.getProgramParameter(prog, gl.ACTIVE_UNIFORMS);
    let unit = 0;
    const samplers = new Map();
    for (let i = 0; i < n; i++) {
      const u = gl.getActiveUniform(prog, i);
      const name = u.name.replace(/\[0\]$/, "");
      uniforms.set(name, { loc: gl.getUniformLocation(prog, name), type: u.type });
      if ([gl.SAMPLER_2D, gl.SAMPLER_2D_ARRAY, gl.INT_SAMPLER_2D, gl.INT_SAMPLER_2D_ARRAY]
        .includes(u.type)) {
        samplers.set(name, unit++);
      }
    }
    gl.useProgram(prog);
    this.state.prog = prog;
    for (const [name, u] of samplers) gl.uniform1i(uniforms.get(name).loc, u);
    p.uniforms = uniforms;
    p.samplers = samplers;
    return p;
  }

  shader(type, source) {
    const gl = this.gl;
    const s = gl.createShader(type);
    gl.shaderSource(s, source);
    gl.compileShader(s);
    return s;
  }

  // run(spec): one draw, spec the JSON of draw()'s argument (extra outputs go to further
  // color attachments, for kernels with several targets)
  run(spec) {
    this.checkContext();
    this.draw(JSON.parse(spec));
  }

  // exec(cmds, numel, w, h, upload, isInt): the commands Python queued since its last call,
  // in order, then (numel >= 0) a texture allocated as alloc(numel, upload, isInt), or as
  // allocTexture(w, h, 4) when w > 0;
  // returns its id (-1 for none). cmds: "" or JSON [["r", <run's spec>...] | ["f", id] |
  // ["a", ...] | ["A", ...] | ["F", ...], ...] (frees and allocations: see below).
  // One call per realization instead of one per draw, free and allocation. After a failed
  // draw the remaining draws are skipped (their inputs may be missing) but the frees still
  // run, so the memory accounting stays right; then the first error is thrown.
  exec(cmds, numel, w, h, upload = false, isInt = false) {
    this.checkContext();
    let err = null;
    if (cmds) {
      for (const c of JSON.parse(cmds)) {
        if (c[0] === "f") this.free(c[1]);
        else if (c[0] === "a") { // ["a", id, numel, w, h, upload, isInt]: a texture for Python's id
          try {
            if (c[3] > 0) this.allocTexture(c[3], c[4], 4, false, 0, false, c[1]);
            else this.alloc(c[2], c[5], !!c[6], c[1]);
          } catch (e) { if (!err) err = e; }
        } else if (c[0] === "A") { // ["A", first, count, w, h]: RGBA textures first, first + 1, ...
          for (let j = 0; j < c[2]; j++) {
            try { this.allocTexture(c[3], c[4], 4, false, 0, false, c[1] + j); } catch (e) { if (!err) err = e; }
          }
        } else if (c[0] === "F") { // ["F", first, count]: those textures freed
          for (let j = 0; j < c[2]; j++) this.free(c[1] + j);
        } else if (!err) {
          try { this.draw(c.slice(1)); } catch (e) { err = e; }
        }
      }
    }
    if (err) throw err;
    if (numel < 0) return -1;
    return w > 0 ? this.allocTexture(w, h, 4) : this.alloc(numel, upload, !!isInt);
  }

  // --- webdl.compile: a call's commands kept as a template (exec's draws and frees, with
  // ["a", numel, w, h, upload, isInt] for the textures it allocated), texture ids as codes:
  // -(1<<24 + j) input j of a replay, -(k+1) the k-th texture the call allocated ---
  record(tpl) {
    const id = this.nextRecording++;
    this.recordings.set(id, JSON.parse(tpl));
    return id;
  }

  forget(id) {
    this.recordings.delete(id);
  }

  // Run the queued commands, then template `id` on the input ids `ins` (JSON); returns the
  // JSON ids of the new textures listed in `outs` (their indices). On an error the textures
  // this replay made are freed before it is thrown.
  replay(cmds, id, ins, outs) {
    this.exec(cmds, -1, 0, 0);
    const tpl = this.recordings.get(id);
    if (!tpl) throw new Error(`webgl: recording ${id} is gone`);
    const inputs = JSON.parse(ins), made = [];
    const map = (v) => (v >= 0 ? v : v > -(1 << 24) ? made[-v - 1] : inputs[-v - (1 << 24)]);
    try {
      for (const c of tpl) {
        if (c[0] === "a") {
          made.push(c[2] > 0 ? this.allocTexture(c[2], c[3], 4) : this.alloc(c[1], c[4], !!c[5]));
        } else if (c[0] === "f") {
          this.free(map(c[1]));
        } else {
          const src = c[3], inputsOf = {};
          for (const k in src) inputsOf[k] = map(src[k]);
          this.draw([c[1], map(c[2]), inputsOf, c[4], c[5].map(map)]);
        }
      }
    } catch (e) {
      for (const t of made) this.free(t);
      throw e;
    }
    return JSON.stringify(JSON.parse(outs).map((k) => made[k]));
  }

  // one draw: [programId, outId, {sampler: texId}, {uniform: value}, extraOutIds]
  draw(spec) {
    const tRun = performance.now();
    const [pid, outId, inputs, uniforms, extra] = spec;
    const gl = this.gl;
    const p = this._linked(pid);
    const out = this.textures.get(outId);
    this.lastTex = out;
    if (out.upload) throw new Error("webgl: a draw into an uploaded float32 texture (float16 path)");
    const st = this.options.noStateCache ? NO_STATE : this.state;
    if (st.prog !== p.prog) {
      gl.useProgram(p.prog);
      this.state.prog = p.prog;
    }
    // samplers this draw leaves unbound get no texture: a unit still holding an earlier
    // draw's texture that is now this draw's render target would be a feedback loop, and
    // the draw would be dropped
    for (const [name, unit] of p.samplers) {
      if (!(name in inputs)) {
        gl.activeTexture(gl.TEXTURE0 + unit);
        gl.bindTexture(gl.TEXTURE_2D, null);
        gl.bindTexture(gl.TEXTURE_2D_ARRAY, null);
      }
    }
    for (const name in inputs) {
      const t = this.textures.get(inputs[name]);
      if (!t) throw new Error(`webgl: input texture ${inputs[name]} is gone`);
      // a sampler the compiler optimised away has no unit: binding it would rebind
      // whichever unit was active last (another input's)
      if (!p.samplers.has(name)) continue;
      gl.activeTexture(gl.TEXTURE0 + p.samplers.get(name));
      gl.bindTexture(t.layers ? gl.TEXTURE_2D_ARRAY : gl.TEXTURE_2D, t.tex);
    }
    for (const name in uniforms) {
      const u = p.uniforms.get(name);
      if (!u) continue; // optimised away by the compiler
      let v = uniforms[name];
      if (st !== NO_STATE && sameValue(u.last, v)) continue;   // the program keeps it
      const raw = v;   // kept as sent (not changed later: a parsed draw's, or a template's)
      if (typeof v === "string") v = Number(v); // Infinity, -Infinity, NaN travel as strings
      switch (u.type) {
        case gl.FLOAT: Array.isArray(v) ? gl.uniform1fv(u.loc, v.map(Number)) : gl.uniform1f(u.loc, v); break;
        case gl.INT: Array.isArray(v) ? gl.uniform1iv(u.loc, v) : gl.uniform1i(u.loc, v); break;
        case gl.INT_VEC2: gl.uniform2iv(u.loc, v); break;
        case gl.INT_VEC3: gl.uniform3iv(u.loc, v); break;
        case gl.INT_VEC4: gl.uniform4iv(u.loc, v); break;
        default: throw new Error(`webgl: uniform ${name} has an unsupported type`);
      }
      u.last = raw;
    }
    gl.bindFramebuffer(gl.FRAMEBUFFER, this.fbo);
    const outs = extra && extra.length ? [out].concat(extra.map((id) => this.textures.get(id))) : [out];
    if (st.drawBuffers !== outs.length) {
      gl.drawBuffers(outs.map((_, i) => gl.COLOR_ATTACHMENT0 + i));
      this.state.drawBuffers = outs.length;
    }
    // u_rows [first, count]: the draw writes those rows of the output alone (the rest of
    // the texture keeps what earlier draws wrote)
    const rows = uniforms.u_rows;
    const vy = rows ? rows[0] : 0, vh = rows ? rows[1] : out.h, vp = st.viewport;
    if (vp[1] !== vy || vp[2] !== out.w || vp[3] !== vh) {
      gl.viewport(0, vy, out.w, vh);
      this.state.viewport = [0, vy, out.w, vh];
    }
    const t0 = this.profile ? performance.now() : 0;
    // a split output (its extra targets are split alike): one draw per layer, u_layer set
    // (where the compiler kept it: a kernel whose result depends on the position does)
    const layer = out.layers ? p.uniforms.get("u_layer") : null;
    for (let l = 0; l < Math.max(out.layers, 1); l++) {
      outs.forEach((t, i) => {
        if (t.layers) gl.framebufferTextureLayer(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0 + i, t.tex, 0, l);
        else if (i > 0 || st.att0 !== t.tex) gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0 + i, gl.TEXTURE_2D, t.tex, 0);
      });
      this.state.att0 = out.layers ? null : out.tex;
      if (layer) {
        gl.uniform1i(layer.loc, l);
        layer.last = undefined;
      }
      gl.drawArrays(gl.TRIANGLES, 0, 3);
      this.stats.drawCalls++;
    }
    if (extra && extra.length) { // detach, so the next single-target draw is unaffected
      extra.forEach((id, i) => gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT1 + i, gl.TEXTURE_2D, null, 0));
      gl.drawBuffers([gl.COLOR_ATTACHMENT0]);
      this.state.drawBuffers = 1;
    }
    this.texels += out.w * (rows ? rows[1] : out.h) * Math.max(out.layers, 1) * outs.length;
    if (this.texels >= EARLY_TEXELS && this.earlyMs >= 0 && performance.now() - this.lastFlush >= this.earlyMs) {
      gl.flush();
      this.texels = 0;
      this.lastFlush = performance.now();
      this.stats.flushes++;
    }
    this.stats.runMs += performance.now() - tRun;   // the CPU time of a draw, in JS
    if (this.profile) {
      this.readTexel(out.isInt); // waits for the draw
      const e = this.profile[p.key] || (this.profile[p.key] = [0, 0, 0]);
      e[0]++;
      e[1] += performance.now() - t0;
      e[2] += out.w * out.h * Math.max(out.layers, 1);
    }
  }

  // Wait until every draw sent so far has run: a one-texel read of the last draw's output
  // (glFinish where its texture is deleted, or on the float16 path). Kernel choice times the
  // variants of a kernel with it (webdl/backends/tuning.py).
  finish() {
    this.checkContext();
    const gl = this.gl, t = this.lastTex;    // drawn last (maybe freed since: pooled)
    if (!t || !gl.isTexture(t.tex) || this.half) { gl.finish(); return; }
    this.attach(t);
    this.readTexel(t.isInt);
  }

  // the GL error flag (waits for the GPU: for tests, which check no draw was refused)
  glError() {
    const e = this.staleError || this.gl.getError();
    this.staleError = 0;
    return e;
  }

  // profiling: every draw waits for the GPU, and its time is added to its kernel's entry
  startProfile() {
    this.profile = {};
  }

  stopProfile() {
    const p = this.profile || {};
    this.profile = null;
    return JSON.stringify(p);
  }

  memoryStats() {
    let bytes = 0;
    for (const t of this.textures.values()) bytes += t.bytes;
    let pooled = 0;
    for (const list of this.pool.values()) pooled += list.length;
    return JSON.stringify({
      textures: this.textures.size, bytes, pooledTextures: pooled, pooledBytes: this.pooledBytes,
      reservedBytes: this.liveBytes + this.pooledBytes, peakBytes: this.peak.bytes,
      peakTextures: this.peak.textures, peakReservedBytes: this.peak.reserved, limitBytes: this.liveCap,
      generation: this.generation,
      programs: this.programs.length, ...this.stats,
    });
  }
}

// draw()'s state when nothing is taken as already set (?statecache=0)
const NO_STATE = { prog: null, drawBuffers: 0, viewport: [-1, -1, -1, -1], att0: null };

// whether uniform value v (a number, a string for a non-finite float, or a list of them) is
// `last`, the one its program holds (-0 is not 0: a constant's sign can matter)
function sameValue(last, v) {
  if (Object.is(last, v)) return true;
  if (!Array.isArray(v) || !Array.isArray(last) || last.length !== v.length) return false;
  for (let i = 0; i < v.length; i++) if (!Object.is(last[i], v[i])) return false;
  return true;
}

// a float32 value's float16 bit pattern: round to nearest even, overflow to infinity,
// subnormals kept, NaN kept
const F32 = new Float32Array(1), U32 = new Uint32Array(F32.buffer);
function floatToHalf(x) {
  F32[0] = x;
  const b = U32[0];
  const sign = (b >>> 16) & 0x8000, exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 112;                              // float16's biased exponent
  if (e >= 31) return sign | 0x7c00;
  let h, rem, halfway;
  if (e <= 0) {                                     // a float16 subnormal, or zero
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    h = mant >>> shift;
    rem = mant & ((1 << shift) - 1);
    halfway = 1 << (shift - 1);
  } else {
    h = (e << 10) | (mant >>> 13);
    rem = mant & 0x1fff;
    halfway = 0x1000;
  }
  if (rem > halfway || (rem === halfway && (h & 1))) h++;   // a carry may make infinity
  return sign | h;
}

// float16 bit patterns (0 .. 65535) to their float32 values, for RED/HALF_FLOAT readback
function halfToFloatTable() {
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1, exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
    table[h] = exp === 0 ? sign * frac * 2 ** -24
      : exp === 31 ? (frac ? NaN : sign * Infinity)
        : sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return table;
}

return GLBridge; // the file is a function body: webdl's loader evaluates it with Function
