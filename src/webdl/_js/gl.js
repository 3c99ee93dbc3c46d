// The WebGL2 bridge that webdl's Python WebGL backend drives. It ships inside the wheel
// (webdl/_js/gl.js); webdl.backends.webgl.bridge evaluates it through Pyodide's FFI in any
// Pyodide that imports webdl (a worker or a page's main thread). It owns the context, a
// texture pool keyed by texture size, a program cache keyed by kernel name, and
// upload/readback. Tensors are R32F textures in row-major order, element i at texel
// (i % width, i / width).
"use strict";

const MAX_WIDTH = 4096;
const POOL_CAP_BYTES = 256 * 1024 * 1024; // free textures kept for reuse, at most
const LIVE_CAP_BYTES = 1536 * 1024 * 1024; // live tensors, at most (a clear error beyond)

// an OffscreenCanvas where there is one (workers, modern pages), else a canvas element
function newCanvas() {
  return typeof OffscreenCanvas !== "undefined" ? new OffscreenCanvas(1, 1) : document.createElement("canvas");
}

class GLBridge {
  constructor(canvas, options = {}) {
    this.canvas = canvas || newCanvas();
    this.options = options; // {noFloat: true} pretends float32 rendering is missing (tests)
    this.liveBytes = 0;
    this.liveCap = options.liveCap || LIVE_CAP_BYTES;
    this.textures = new Map(); // id -> {tex, w, h}
    this.pool = new Map(); // "w x h" -> [tex, ...]
    this.pooledBytes = 0;
    this.peak = { bytes: 0, textures: 0, reserved: 0 }; // highs since start or resetPeakStats
    this.nextId = 1;
    this.programs = []; // id -> {prog, uniforms: Map}
    this.programIds = new Map(); // key -> id
    this.lost = false;
    this.generation = 0;
    this.stats = { drawCalls: 0, uploads: 0, readbacks: 0, compiles: 0, runMs: 0 };
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
    const cbf = this.options.noFloat ? null : gl.getExtension("EXT_color_buffer_float");
    const dbg = gl.getExtension("WEBGL_debug_renderer_info");
    const renderer = dbg ? gl.getParameter(dbg.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);
    const info = {
      ok: true, renderer, version: gl.getParameter(gl.VERSION),
      maxTextureSize: gl.getParameter(gl.MAX_TEXTURE_SIZE),
      maxDrawBuffers: gl.getParameter(gl.MAX_DRAW_BUFFERS),
      floatRender: !!cbf,
    };
    if (!cbf) {
      info.ok = false;
      info.error = "this GPU can't render to float32 textures (EXT_color_buffer_float missing)";
      this.info = info;
      return JSON.stringify(info);
    }
    this.vbo = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, this.vbo);
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 3, -1, -1, 3]), gl.STATIC_DRAW);
    this.fbo = gl.createFramebuffer();
    this.maxTextureSize = info.maxTextureSize;
    this.maxWidth = Math.min(MAX_WIDTH, info.maxTextureSize);
    info.maxWidth = this.maxWidth;   // a tensor's texture is one row up to this many elements
    this.maxTexels = this.maxWidth * info.maxTextureSize;
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

  dims(numel) {
    const n = Math.max(numel, 1);
    const w = Math.min(n, this.maxWidth);
    return [w, Math.ceil(n / w)];
  }

  // --- textures -----------------------------------------------------------------------------
  alloc(numel) {
    if (numel > this.maxTexels) {
      throw new Error(`webgl: a tensor of ${numel} elements exceeds the largest texture ` +
        `(${this.maxTexels} elements)`);
    }
    const [w, h] = this.dims(numel);
    return this.allocTexture(w, h, 1);
  }

  // a texture of explicit size; channels 1 (R32F, tensors) or 4 (RGBA32F, packed kernels)
  allocTexture(w, h, channels) {
    this.checkContext();
    const gl = this.gl;
    const max = this.maxTextureSize;
    const need = w * h * 4 * channels;
    if (this.liveBytes + need > this.liveCap) {
      throw new Error(`webgl: out of GPU memory: ${(this.liveBytes / 2 ** 20).toFixed(0)} MiB in ` +
        `use, ${(need / 2 ** 20).toFixed(1)} MiB more requested, limit ` +
        `${(this.liveCap / 2 ** 20).toFixed(0)} MiB; free tensors (del x, or x.free_()) and retry`);
    }
    if (w > max || h > max) {
      throw new Error(`webgl: a ${w}x${h} texture exceeds the GPU's limit of ${max}`);
    }
    const key = w + "x" + h + "x" + channels;
    const free = this.pool.get(key);
    let tex;
    if (free && free.length) {
      tex = free.pop();
      this.pooledBytes -= w * h * 4 * channels;
    } else {
      tex = gl.createTexture();
      gl.bindTexture(gl.TEXTURE_2D, tex);
      for (let e = gl.getError(); e !== gl.NO_ERROR; e = gl.getError()) {
        this.staleError = this.staleError || e;   // kept for glError()
      }
      gl.texStorage2D(gl.TEXTURE_2D, 1, channels === 4 ? gl.RGBA32F : gl.R32F, w, h);
      if (gl.getError() === gl.OUT_OF_MEMORY) {
        gl.deleteTexture(tex);
        throw new Error(`webgl: out of GPU memory allocating a ${w}x${h} texture`);
      }
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    }
    const id = this.nextId++;
    this.textures.set(id, { tex, w, h, channels });
    this.liveBytes += need;
    this.notePeak();
    return id;
  }

  free(id) {
    const t = this.textures.get(id);
    if (!t) return;
    this.textures.delete(id);
    const bytes = t.w * t.h * 4 * t.channels;
    this.liveBytes -= bytes;
    if (this.lost) return;
    if (this.pooledBytes + bytes > POOL_CAP_BYTES) {
      this.gl.deleteTexture(t.tex);
      return;
    }
    const key = t.w + "x" + t.h + "x" + t.channels;
    if (!this.pool.has(key)) this.pool.set(key, []);
    this.pool.get(key).push(t.tex);
    this.pooledBytes += bytes;
  }

  // the memory statistics' highs: live bytes, live textures, and reserved bytes (live + pooled)
  notePeak() {
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
      pybuf = data.getBuffer("f32");
      view = pybuf.data;
    }
    try {
      let full = view;
      if (view.length !== t.w * t.h) {
        full = new Float32Array(t.w * t.h);
        full.set(view.subarray(0, Math.min(view.length, full.length)));
      }
      gl.bindTexture(gl.TEXTURE_2D, t.tex);
      gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
      gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, t.w, t.h, gl.RED, gl.FLOAT, full);
    } finally {
      if (pybuf) pybuf.release();
    }
    this.stats.uploads++;
  }

  // bind a tensor's texture for readPixels: [texture, rows]; the first time, probe whether
  // the implementation reads RED/FLOAT (a quarter of the data of RGBA)
  bindForRead(id, numel) {
    this.checkContext();
    const gl = this.gl;
    const t = this.textures.get(id);
    gl.bindFramebuffer(gl.FRAMEBUFFER, this.fbo);
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, t.tex, 0);
    if (this.readRed === undefined) {
      this.readRed = gl.getParameter(gl.IMPLEMENTATION_COLOR_READ_FORMAT) === gl.RED &&
        gl.getParameter(gl.IMPLEMENTATION_COLOR_READ_TYPE) === gl.FLOAT;
    }
    this.stats.readbacks++;
    return [t, Math.ceil(Math.max(numel, 1) / t.w)];
  }

  // readback straight into a Python buffer (a PyProxy of a float32 numpy array of at least
  // the texture's rows x width elements): no JS array, no second copy; false (nothing read)
  // where RED/FLOAT readback is not offered
  downloadInto(id, numel, target) {
    const [t, rows] = this.bindForRead(id, numel);
    if (!this.readRed) return false;
    const buf = target.getBuffer("f32");
    try {
      if (buf.data.length < t.w * rows) throw new Error("webgl: readback buffer too small");
      this.gl.readPixels(0, 0, t.w, rows, this.gl.RED, this.gl.FLOAT,
                         buf.data.subarray(0, t.w * rows));
    } finally {
      buf.release();
    }
    return true;
  }

  download(id, numel) {
    const gl = this.gl;
    const [t, rows] = this.bindForRead(id, numel);
    if (this.readRed) {
      const red = new Float32Array(t.w * rows);
      gl.readPixels(0, 0, t.w, rows, gl.RED, gl.FLOAT, red);
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

  compile(key, source) {
    this.checkContext();
    const gl = this.gl;
    if (!this.vs) {
      this.vs = this.shader(gl.VERTEX_SHADER,
        "#version 300 es\nin vec2 p;\nvoid main() { gl_Position = vec4(p, 0.0, 1.0); }\n");
    }
    const fs = this.shader(gl.FRAGMENT_SHADER, source);
    const prog = gl.createProgram();
    gl.attachShader(prog, this.vs);
    gl.attachShader(prog, fs);
    gl.bindAttribLocation(prog, 0, "p");
    gl.linkProgram(prog);
    if (!gl.getProgramParameter(prog, gl.LINK_STATUS)) {
      throw new Error(`webgl: kernel '${key}' failed to link: ${gl.getProgramInfoLog(prog)}`);
    }
    const uniforms = new Map();
    const n = gl.getProgramParameter(prog, gl.ACTIVE_UNIFORMS);
    let unit = 0;
    const samplers = new Map();
    for (let i = 0; i < n; i++) {
      const u = gl.getActiveUniform(prog, i);
      const name = u.name.replace(/\[0\]$/, "");
      uniforms.set(name, { loc: gl.getUniformLocation(prog, name), type: u.type });
      if (u.type === gl.SAMPLER_2D) samplers.set(name, unit++);
    }
    gl.useProgram(prog);
    for (const [name, u] of samplers) gl.uniform1i(uniforms.get(name).loc, u);
    const id = this.programs.length;
    this.programs.push({ prog, uniforms, samplers, key });
    this.programIds.set(key, id);
    this.stats.compiles++;
    return id;
  }

  shader(type, source) {
    const gl = this.gl;
    const s = gl.createShader(type);
    gl.shaderSource(s, source);
    gl.compileShader(s);
    if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) {
      throw new Error("webgl: shader compile error: " + gl.getShaderInfoLog(s));
    }
    return s;
  }

  // run(spec): one draw, spec the JSON of draw()'s argument (extra outputs go to further
  // color attachments, for kernels with several targets)
  run(spec) {
    this.checkContext();
    this.draw(JSON.parse(spec));
  }

  // exec(cmds, numel, w, h): the commands Python queued since its last call, in order, then
  // (numel >= 0) a texture allocated as alloc(numel), or as allocTexture(w, h, 4) when w > 0;
  // returns its id (-1 for none). cmds: "" or JSON [["r", <run's spec>...] | ["f", id], ...].
  // One call per realization instead of one per draw, free and allocation. After a failed
  // draw the remaining draws are skipped (their inputs may be missing) but the frees still
  // run, so the memory accounting stays right; then the first error is thrown.
  exec(cmds, numel, w, h) {
    this.checkContext();
    let err = null;
    if (cmds) {
      for (const c of JSON.parse(cmds)) {
        if (c[0] === "f") this.free(c[1]);
        else if (!err) {
          try { this.draw(c.slice(1)); } catch (e) { err = e; }
        }
      }
    }
    if (err) throw err;
    if (numel < 0) return -1;
    return w > 0 ? this.allocTexture(w, h, 4) : this.alloc(numel);
  }

  // one draw: [programId, outId, {sampler: texId}, {uniform: value}, extraOutIds]
  draw(spec) {
    const tRun = performance.now();
    const [pid, outId, inputs, uniforms, extra] = spec;
    const gl = this.gl;
    const p = this.programs[pid];
    const out = this.textures.get(outId);
    gl.useProgram(p.prog);
    // samplers this draw leaves unbound get no texture: a unit still holding an earlier
    // draw's texture that is now this draw's render target would be a feedback loop, and
    // the draw would be dropped
    for (const [name, unit] of p.samplers) {
      if (!(name in inputs)) {
        gl.activeTexture(gl.TEXTURE0 + unit);
        gl.bindTexture(gl.TEXTURE_2D, null);
      }
    }
    for (const name in inputs) {
      const t = this.textures.get(inputs[name]);
      if (!t) throw new Error(`webgl: input texture ${inputs[name]} is gone`);
      // a sampler the compiler optimised away has no unit: binding it would rebind
      // whichever unit was active last (another input's)
      if (!p.samplers.has(name)) continue;
      gl.activeTexture(gl.TEXTURE0 + p.samplers.get(name));
      gl.bindTexture(gl.TEXTURE_2D, t.tex);
    }
    for (const name in uniforms) {
      const u = p.uniforms.get(name);
      if (!u) continue; // optimised away by the compiler
      let v = uniforms[name];
      if (typeof v === "string") v = Number(v); // Infinity, -Infinity, NaN travel as strings
      switch (u.type) {
        case gl.FLOAT: Array.isArray(v) ? gl.uniform1fv(u.loc, v.map(Number)) : gl.uniform1f(u.loc, v); break;
        case gl.INT: Array.isArray(v) ? gl.uniform1iv(u.loc, v) : gl.uniform1i(u.loc, v); break;
        case gl.INT_VEC2: gl.uniform2iv(u.loc, v); break;
        case gl.INT_VEC3: gl.uniform3iv(u.loc, v); break;
        case gl.INT_VEC4: gl.uniform4iv(u.loc, v); break;
        default: throw new Error(`webgl: uniform ${name} has an unsupported type`);
      }
    }
    gl.bindFramebuffer(gl.FRAMEBUFFER, this.fbo);
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, out.tex, 0);
    const targets = [gl.COLOR_ATTACHMENT0];
    (extra || []).forEach((id, i) => {
      gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT1 + i, gl.TEXTURE_2D, this.textures.get(id).tex, 0);
      targets.push(gl.COLOR_ATTACHMENT1 + i);
    });
    gl.drawBuffers(targets);
    gl.viewport(0, 0, out.w, out.h);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.vbo);
    gl.enableVertexAttribArray(0);
    gl.vertexAttribPointer(0, 2, gl.FLOAT, false, 0, 0);
    const t0 = this.profile ? performance.now() : 0;
    gl.drawArrays(gl.TRIANGLES, 0, 3);
    this.stats.drawCalls++;
    if (extra && extra.length) { // detach, so the next single-target draw is unaffected
      extra.forEach((id, i) => gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT1 + i, gl.TEXTURE_2D, null, 0));
      gl.drawBuffers([gl.COLOR_ATTACHMENT0]);
    }
    this.stats.runMs += performance.now() - tRun;   // the CPU time of a draw, in JS
    if (this.profile) {
      gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.FLOAT, this.syncPixel); // waits for the draw
      const e = this.profile[p.key] || (this.profile[p.key] = [0, 0, 0]);
      e[0]++;
      e[1] += performance.now() - t0;
      e[2] += out.w * out.h;
    }
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
    this.syncPixel = new Float32Array(4);
  }

  stopProfile() {
    const p = this.profile || {};
    this.profile = null;
    return JSON.stringify(p);
  }

  memoryStats() {
    let bytes = 0;
    for (const t of this.textures.values()) bytes += t.w * t.h * 4 * t.channels;
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

return GLBridge; // the file is a function body: webdl's loader evaluates it with Function
