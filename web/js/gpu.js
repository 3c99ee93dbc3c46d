// The WebGPU bridge that webdl's Python WebGPU backend drives (registered in Pyodide as the
// JS module `webdl_gpu`). It owns the device, a storage-buffer pool with a cap, compiled
// compute pipelines, and one command encoder that collects every dispatch until something
// reads back (or the queue grows long): one submit per flush, not one per op.
// Python does not call it per op: it queues allocations (ids assigned in Python), dispatches
// and frees as int32 words and sends them as one JSON array with the next call that needs an
// answer (exec, read, upload, sync, memoryStats, ...: the queue is their first argument),
// which `exec` runs in order (src/webdl/backends/webgpu/bridge.py: the format).
// Tensors are f32 storage buffers in row-major order (int64 and bool as floats, as WebGL).
"use strict";

// free buffers kept for reuse, at most: this, or GPU_POOL_LIVE_FACTOR times the most bytes
// ever live at once where that is more, up to the live cap (as gl.js's texture pool: a run
// that repeats takes back buffers of many sizes, and a new buffer is cleared before its
// first use)
const GPU_POOL_CAP_BYTES = 256 * 1024 * 1024;
const GPU_POOL_LIVE_FACTOR = 3;
const GPU_LIVE_CAP_BYTES = 1536 * 1024 * 1024; // live tensors, at most (a clear error beyond)
const GPU_MAX_PENDING = 512; // dispatches collected before a submit without a readback
const GPU_UNIFORM_RING = 1 << 20; // bytes of uniforms per flush (a flush when full)
// Early submits: once the pending encoder holds this many workgroups and this long has passed
// since the last submit, it is submitted without waiting for a readback, so the GPU works
// while Python queues the rest (a model's forward pass) instead of starting at the readback.
// The time gate bounds the submits' cost for a chain of many small dispatches.
const GPU_EARLY_GROUPS = 1024;
const GPU_EARLY_MS = 0.5;
const GPU_STAGING_CAP_BYTES = 64 * 1024 * 1024; // readback buffers kept for reuse, at most
const GPU_POLL_MAX_MS = 50; // a wait sends commands to the GPU process this long at most (pollMode)
const GPU_POLL_WORD = new Uint32Array(1); // what pollMode 2 writes

class GPUBridge {
  constructor(options = {}) {
    this.liveCap = options.liveCap || GPU_LIVE_CAP_BYTES;
    this.earlyMs = options.earlyMs ?? GPU_EARLY_MS;   // < 0: no early submits (?earlyms=-1)
    // how dispatches wait for pipelines still compiling (?pipes=N, an A/B): 2 (default) holds
    // the commands from the first such dispatch until a readback or sync has awaited them; 1
    // makes such a pipeline synchronously and waits at a readback only for those not made;
    // 0 also waits for every asynchronous make (the duplicates of those made synchronously)
    this.pipeMode = options.pipes ?? 2;
    // While a readback or sync waits (mapAsync, onSubmittedWorkDone), a command is sent to
    // the GPU process at every turn of the worker's task loop: Chromium's GPU process notices
    // finished GPU work when it handles commands, else on a timer of a few ms. On the H200
    // (Vulkan) a 256x256 matmul read back took 3.9-4.3 ms without and 1.7-1.8 ms with it,
    // TensorFlow.js 3.2-3.5 ms. 2: a 4-byte writeBuffer (the default on hardware adapters); 1:
    // an empty submit (2.0-2.3 ms); 0: none (the default on software adapters, where the
    // GPU process's threads are the CPU's: SwiftShader's matmul took 2.3x as long with 2).
    // ?poll=N forces one, for an A/B. A wait past GPU_POLL_MAX_MS stops sending (the timer's
    // few ms no longer matter, and the worker's thread is left idle).
    this.pollMode = options.poll;
    this.held = []; // [{w, i}]: command arrays held from word i on (see _run), in order
    this.groups = 0;        // workgroups in the pending encoder
    this.lastSubmit = 0;    // performance.now() at the last submit
    this.liveBytes = 0;
    this.pooledBytes = 0;
    this.bufs = new Map(); // id -> {buf, size}
    this.pool = new Map(); // size class -> [GPUBuffer, ...]
    // size class -> [{buf, size}]: freed while the pending encoder may still use them. An
    // allocation takes from here first: commands of one encoder run in order (WebGPU orders
    // a dispatch that writes a buffer after one that reads it), so reusing a buffer within
    // the encoder is safe; only a host write (upload: queue.writeBuffer, which runs before
    // the encoder's submit) into such a buffer must submit the encoder first. Without this,
    // each flush needed a new buffer per allocation, and new buffers cost clears on the GPU.
    this.deferred = new Map();
    this.deferredBytes = 0;
    this.stagingPool = new Map(); // size class -> [mappable GPUBuffer, ...] (readbacks)
    this.stagingBytes = 0;
    this.peak = { bytes: 0, buffers: 0, reserved: 0 }; // highs since start or resetPeakStats
    this.pipelines = []; // id -> {pipe, layout, key, desc}
    this.pendingPipelines = []; // [{p, ready}]: their asynchronous makes not awaited yet
    this.unchecked = []; // error-scope promises of submits not checked yet (see _takeErrors)
    this.recordings = new Map(); // webdl.compile's templates: id -> {w: Int32Array, at: [word positions of ids]}
    this.nextRecording = 1;
    this.generation = 0;
    this.lost = null; // the loss message, until the call that finds it reports it
    this.restarting = null; // a new device starting after a loss
    this.options = options;
    this.encoder = null;
    this.pass = null;
    this.pending = 0;
    // buffersMade: storage buffers created (not taken from the pool); readInto's ms: readMs in
    // all, preMs before its mapAsync (the queue run, the submit), mapMs waiting for mapAsync,
    // scopeMs for the error scopes after it; early: submits made before a readback asked
    // polls: commands sent while waiting (see pollMode)
    // pipeWaitMs: awaiting pipelines still compiling; pipesMadeSync: pipelines a dispatch
    // had to make synchronously; held: command arrays held for compiling pipelines
    this.stats = { dispatches: 0, submits: 0, uploads: 0, readbacks: 0, compiles: 0, execs: 0, runMs: 0,
                   buffersMade: 0, mapMs: 0, scopeMs: 0, readMs: 0, preMs: 0, early: 0,
                   pipeWaitMs: 0, pipesMadeSync: 0, held: 0, polls: 0 };
    this.highLive = 0;     // the most bytes live at once (not reset: see poolLimit)
  }

  // Adapter and device. Returns a JSON string {ok, vendor, architecture, isFallbackAdapter, ...}.
  async init() {
    const fail = (error) => JSON.stringify(this.info = { ok: false, error });
    if (!self.navigator || !navigator.gpu) return fail("WebGPU is not available in this browser (navigator.gpu is missing)");
    let adapter;
    try {
      adapter = await navigator.gpu.requestAdapter({ powerPreference: "high-performance" });
    } catch (e) {
      return fail("requestAdapter failed: " + e);
    }
    if (!adapter) return fail("no WebGPU adapter (Chromium needs --enable-unsafe-webgpu on Linux)");
    const lim = adapter.limits;
    const want = {};
    for (const k of ["maxStorageBuffersPerShaderStage", "maxStorageBufferBindingSize", "maxBufferSize",
                     "maxComputeWorkgroupStorageSize", "maxComputeInvocationsPerWorkgroup"]) want[k] = lim[k];
    // timestamp queries, where the adapter has them: the profiler (startProfile); subgroups:
    // the cooperative sum's subgroupAdd (shaders/wgsl/reduce_subgroup.wgsl)
    const requiredFeatures = ["timestamp-query", "subgroups"].filter((f) => adapter.features.has(f));
    try {
      this.device = await adapter.requestDevice({ requiredLimits: want, requiredFeatures });
    } catch (e) {
      return fail("requestDevice failed: " + e);
    }
    const device = this.device;
    device.lost.then((info) => { if (this.device === device) this.lost = info.message || info.reason || "lost"; });
    const ai = adapter.info || {};
    this.align = device.limits.minUniformBufferOffsetAlignment;
    this.maxGroups = device.limits.maxComputeWorkgroupsPerDimension;
    this.uniCpu = new ArrayBuffer(GPU_UNIFORM_RING);
    this.uniI32 = new Int32Array(this.uniCpu);
    this.uniUsed = 0;
    this.uniGpu = device.createBuffer({ size: GPU_UNIFORM_RING, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    this.empty = device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE });
    const fallback = !!(ai.isFallbackAdapter ?? adapter.isFallbackAdapter);
    this.pollMode ??= fallback || ai.architecture === "swiftshader" ? 0 : 2;
    this.pollBuf = null; // made for this device by the first _wait that polls
    this.info = {
      ok: true, vendor: ai.vendor || "", architecture: ai.architecture || "", description: ai.description || "",
      isFallbackAdapter: fallback,
      features: [...adapter.features].sort(),
      subgroups: device.features.has("subgroups"),
      maxStorageBuffers: device.limits.maxStorageBuffersPerShaderStage,
      maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize,
      maxWorkgroupStorage: device.limits.maxComputeWorkgroupStorageSize,
      liveCap: this.liveCap, poll: this.pollMode,
    };
    return JSON.stringify(this.info);
  }

  infoJson() {
    return JSON.stringify(this.info || { ok: false, error: "not initialised" });
  }

  // Device loss (GPUDevice.lost: a driver reset, a GPU removed, destroy()), as WebGL's context
  // loss: the call that finds it fails with a clear error and a new device starts
  // (generation + 1); tensors and pipelines of the old one are gone (Python checks each
  // buffer's generation). Calls made while the new device starts fail clearly too.
  _check() {
    if (this.lost !== null) {
      const why = this.lost;
      this._restart();
      throw new Error(`webgpu: the GPU device was lost (${why}); webdl has started a new one, and ` +
                      "tensors created before are gone (create them again)");
    }
    if (this.restarting) throw new Error("webgpu: a new GPU device is still starting after a device loss; try again");
    if (!this.device) throw new Error("webgpu: no device (init failed or was not called)");
  }

  _restart() {
    this.lost = null;
    this.device = null;
    this.bufs = new Map();
    this.pool = new Map();
    this.deferred = new Map();
    this.deferredBytes = 0;
    this.stagingPool = new Map();
    this.stagingBytes = 0;
    this.liveBytes = 0;
    this.pooledBytes = 0;
    this.pipelines = [];
    this.pendingPipelines = [];
    this.held = [];
    this.recordings = new Map();
    this.unchecked = [];
    this.encoder = null;
    this.pass = null;
    this.pending = 0;
    this.generation++;
    this.restarting = this.init().then((j) => {
      this.restarting = null;
      if (!JSON.parse(j).ok) this.lost = "no new device: " + this.info.error;
    });
  }

  // a promise settled when a restart after a loss is done (null when none runs)
  whenRestarted() {
    return this.restarting;
  }

  // test hook: lose the device as a GPU reset would
  loseDevice() {
    this.device.destroy();
    return this.device.lost.then(() => 0);
  }

  static sizeClass(bytes) {
    if (bytes <= 65536) return Math.max(16, 1 << Math.ceil(Math.log2(bytes)));
    return Math.ceil(bytes / 65536) * 65536;
  }

  // Run the queued commands (a JSON array of int32 words, "" when none) in order:
  //   1 id n: alloc (a storage buffer of n floats for id), 2 id: free,
  //   3 pipeline x y z k ids... m words...: a dispatch (ids 0: an empty tensor)
  // A command that fails does not stop the allocations and frees after it (so the pool's
  // count stays right), but the dispatches after it are skipped; the first error is thrown.
  exec(q) {
    if (!q) return;
    this.stats.execs++;
    this._run(JSON.parse(q));
  }

  // webdl.compile: keep a template of commands (exec's format) whose negative buffer ids are
  // codes: -(1<<24 + j) input j of a replay, -(k+1) the k-th buffer the call allocates
  record(tpl) {
    const w = Int32Array.from(JSON.parse(tpl)), at = [];
    for (let i = 0; i < w.length;) {
      const op = w[i];
      if (op === 3) {
        const k = w[i + 5];
        for (let j = 0; j < k; j++) if (w[i + 6 + j] < 0) at.push(i + 6 + j);
        i += 7 + k + w[i + 6 + k];
      } else {
        if (w[i + 1] < 0) at.push(i + 1);
        i += op === 1 ? 3 : 2;
      }
    }
    const id = this.nextRecording++;
    this.recordings.set(id, { w, at });
    return id;
  }

  forget(id) {
    this.recordings.delete(id);
  }

  // Run the queue, then template `id` with the k-th new buffer as id base+k and the inputs
  // as the ids of the JSON array `ins`
  replay(q, id, base, ins) {
    this.exec(q);
    const r = this.recordings.get(id);
    if (!r) throw new Error(`webgpu: recording ${id} is gone`);
    const w = r.w.slice(), inputs = JSON.parse(ins);
    for (const p of r.at) {
      const v = w[p];
      w[p] = v > -(1 << 24) ? base - v - 1 : inputs[-v - (1 << 24)];
    }
    this.stats.execs++;
    this._run(w);
  }

  // Commands from word `start` on. With `hold` (pipeMode 2), a dispatch whose pipeline is
  // still compiling holds the rest (and every later array) until _drain: a model's first run
  // makes no pipeline synchronously, so the GPU process compiles them all in parallel.
  _run(w, start = 0, hold = this.pipeMode === 2) {
    this._check();
    if (this.held.length) { this.held.push({ w, i: start }); return; }
    const t0 = performance.now();
    let err = null;
    for (let i = start; i < w.length;) {
      const op = w[i];
      if (op === 2) {
        this.free(w[i + 1]);
        i += 2;
      } else if (op === 3) {
        const k = w[i + 5], m = w[i + 6 + k];
        if (err === null && hold && !this.pipelines[w[i + 1]].pipe) {
          this.held.push({ w, i });
          this.stats.held++;
          break;
        }
        if (err === null) {
          try { this._dispatch(w, i, k, m); } catch (e) { err = e; }
        }
        i += 7 + k + m;
      } else if (op === 1) {
        try { this._alloc(w[i + 1], w[i + 2]); } catch (e) { if (err === null) err = e; }
        i += 3;
      } else {
        throw new Error(`webgpu: bad queued command ${op} at word ${i}`);
      }
    }
    this.stats.runMs += performance.now() - t0;
    if (err !== null) throw err;
  }

  // Run what is held (pipelines not made yet are made synchronously); the first error is
  // thrown after all of it ran (allocations and frees included)
  _drain() {
    const held = this.held;
    if (!held.length) return;
    this.held = [];
    let err = null;
    for (const h of held) {
      try { this._run(h.w, h.i, false); } catch (e) { if (err === null) err = e; }
    }
    if (err !== null) throw err;
  }

  // exec, then what is held: for the calls that act on buffers or report on them at once
  _execNow(q) {
    this.exec(q);
    this._drain();
  }

  // A storage buffer of n floats for buffer id (from the pool when one of its size class is
  // free). Python checks the budget and the size first; these checks are the last line.
  _alloc(id, n) {
    const size = GPUBridge.sizeClass(Math.max(4, n * 4));
    if (this.liveBytes + size > this.liveCap) {
      throw new Error(`webgpu: out of GPU memory budget (${(this.liveBytes / 2 ** 20).toFixed(0)} MiB live, ` +
                      `${(size / 2 ** 20).toFixed(1)} MiB more asked, cap ${(this.liveCap / 2 ** 20).toFixed(0)} MiB)`);
    }
    if (size > this.device.limits.maxStorageBufferBindingSize) {
      throw new Error(`webgpu: a tensor of ${n} elements exceeds the largest storage binding (${this.device.limits.maxStorageBufferBindingSize} bytes)`);
    }
    let buf = null, dirty = false;
    const d = this.deferred.get(size);
    if (d && d.length) { buf = d.pop().buf; this.deferredBytes -= size; dirty = true; }
    else { buf = (this.pool.get(size) || []).pop(); if (buf) this.pooledBytes -= size; }
    if (!buf) {
      buf = this.device.createBuffer({ size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
      this.stats.buffersMade++;
    }
    this.bufs.set(id, { buf, size, dirty }); // dirty: the pending encoder may use it
    this.liveBytes += size;
    this.notePeak();
  }

  free(id) {
    const b = this.bufs.get(id);
    if (!b) return;
    this.bufs.delete(id);
    this.liveBytes -= b.size;
    if (this.encoder) { // a queued dispatch may still read it
      if (!this.deferred.has(b.size)) this.deferred.set(b.size, []);
      this.deferred.get(b.size).push(b);
      this.deferredBytes += b.size;
    } else this._release(b);
  }

  // Back to the pool; past its cap, the buffers of the sizes released longest ago go first
  // (the pool's Map is kept in order of last release), so the sizes in use now stay pooled
  // when earlier work (another model, another tile size) filled the pool.
  _release(b) {
    const cap = this.poolLimit();
    if (b.size > cap) { b.buf.destroy(); return; }
    const list = this.pool.get(b.size) || [];
    this.pool.delete(b.size);
    this.pool.set(b.size, list);
    list.push(b.buf);
    this.pooledBytes += b.size;
    for (const [size, old] of this.pool) {
      if (this.pooledBytes <= cap) break;
      while (old.length && this.pooledBytes > cap) {
        old.pop().destroy();
        this.pooledBytes -= size;
      }
      if (!old.length) this.pool.delete(size);
    }
  }

  // buffers held but not live: the pool, those freed while the pending encoder may use them,
  // and the readbacks' staging buffers kept for reuse
  cachedBytes() {
    return this.pooledBytes + this.deferredBytes + this.stagingBytes;
  }

  poolLimit() {
    return Math.max(GPU_POOL_CAP_BYTES, Math.min(GPU_POOL_LIVE_FACTOR * this.highLive, this.liveCap));
  }

  // the memory statistics' highs: live bytes, live buffers, reserved bytes (live + cached)
  notePeak() {
    this.highLive = Math.max(this.highLive, this.liveBytes);
    const p = this.peak;
    p.bytes = Math.max(p.bytes, this.liveBytes);
    p.buffers = Math.max(p.buffers, this.bufs.size);
    p.reserved = Math.max(p.reserved, this.liveBytes + this.cachedBytes());
  }

  resetPeakStats(q) {
    this._execNow(q);
    this.peak = { bytes: 0, buffers: 0, reserved: 0 };
    this.notePeak();
  }

  // the pools' buffers are destroyed (torch.cuda.empty_cache); those a pending dispatch may
  // still read go to the pool at its submit, so the queue is submitted first
  emptyCache(q) {
    this._execNow(q);
    if (this.encoder && this.lost === null) this.flush();
    for (const pool of [this.pool, this.stagingPool]) {
      for (const list of pool.values()) for (const buf of list) buf.destroy();
    }
    this.pool = new Map();
    this.pooledBytes = 0;
    this.stagingPool = new Map();
    this.stagingBytes = 0;
  }

  _buf(id) {
    if (!id) return this.empty; // an empty tensor, bound but never read
    const b = this.bufs.get(id);
    if (!b) throw new Error(`webgpu: buffer ${id} is gone`);
    return b.buf;
  }

  // data: a Float32Array, or a PyProxy of a float32 buffer (read without a copy)
  upload(q, id, data) {
    this._check();
    this._execNow(q);
    let view = null;
    if (data && typeof data.getBuffer === "function") { view = data.getBuffer("f32"); data = view.data; }
    const b = this.bufs.get(id);
    if (b && b.dirty) { // reused within the pending encoder: its commands run first
      if (this.encoder) this.flush();
      b.dirty = false;
    }
    try {
      this.device.queue.writeBuffer(this._buf(id), 0, data.buffer, data.byteOffset, data.byteLength);
    } finally {
      if (view) view.release();
    }
    this.stats.uploads++;
  }

  // A compute pipeline from WGSL source, made without waiting: createComputePipelineAsync
  // lets the GPU process compile pipelines in parallel while Python goes on queueing; a
  // readback or sync first awaits those still compiling (_pipelinesReady), and a dispatch
  // encoded before its pipeline is done makes it synchronously (_pipeline). A model's first
  // run pays no round trip per kernel. A compile error is kept, named, and thrown at the
  // next readback or sync (as a submit's validation error).
  compile(key, src) {
    this._check();
    this.device.pushErrorScope("validation");
    const module = this.device.createShaderModule({ code: src, label: key });
    const named = (what) => ({ message: `webgpu: kernel '${key.split("|")[0]}' does not compile: ${what}`, named: true });
    this.unchecked.push(this.device.popErrorScope().then(async (e) => {
      if (!e) return null;
      const info = await module.getCompilationInfo();
      const lines = src.split("\n");
      const errs = info.messages.filter((m) => m.type === "error");
      return named(errs.length ? errs.map((m) => `${m.lineNum}: ${m.message} [${(lines[m.lineNum - 1] || "").trim()}]`).join("; ") : e.message);
    }));
    const p = { pipe: null, layout: null, key, desc: { layout: "auto", compute: { module, entryPoint: "main" } } };
    this.pendingPipelines.push({ p, ready: this.device.createComputePipelineAsync(p.desc).then(
      (pipe) => { if (!p.pipe) { p.pipe = pipe; p.layout = pipe.getBindGroupLayout(0); } },
      () => null) }); // its error: the module's (above), or the synchronous make's
    this.pipelines.push(p);
    this.stats.compiles++;
    return this.pipelines.length - 1;
  }

  // The pipelines still compiling, awaited (before a readback or sync runs the queue); those
  // made synchronously meanwhile are not waited for (pipeMode 0: they are)
  async _pipelinesReady() {
    const t = performance.now();
    while (this.pendingPipelines.length) {
      const all = this.pendingPipelines.filter((x) => this.pipeMode === 0 || !x.p.pipe);
      this.pendingPipelines = [];
      await Promise.all(all.map((x) => x.ready));
    }
    this.stats.pipeWaitMs += performance.now() - t;
  }

  // Pipeline pid, made synchronously when its asynchronous make has not finished
  _pipeline(pid) {
    const p = this.pipelines[pid];
    if (!p.pipe) {
      this.device.pushErrorScope("validation");
      p.pipe = this.device.createComputePipeline(p.desc);
      p.layout = p.pipe.getBindGroupLayout(0);
      this.unchecked.push(this.device.popErrorScope());
      this.stats.pipesMadeSync++;
    }
    return p;
  }

  // One dispatch, recorded into the pending compute pass (no submit): the command at word i
  // of the queue w (see exec), k buffer ids (bindings 1..k), m uniform words (binding 0).
  _dispatch(w, i, k, m) {
    const pid = w[i + 1];
    const bytes = Math.max(16, Math.ceil(m / 4) * 16);
    let at = Math.ceil(this.uniUsed / this.align) * this.align;
    if (at + bytes > GPU_UNIFORM_RING || this.pending >= GPU_MAX_PENDING) { this.flush(); at = 0; }
    const u = this.uniI32, w0 = i + 7 + k;
    for (let j = 0, a = at / 4; j < m; j++) u[a + j] = w[w0 + j];
    this.uniUsed = at + bytes;
    this._encoder();
    const p = this._pipeline(pid);
    const entries = [{ binding: 0, resource: { buffer: this.uniGpu, offset: at, size: bytes } }];
    for (let j = 0; j < k; j++) entries.push({ binding: j + 1, resource: { buffer: this._buf(w[i + 6 + j]) } });
    const group = this.device.createBindGroup({ layout: p.layout, entries });
    if (!this.pass) this.pass = this.encoder.beginComputePass(this._timed(p));
    this.pass.setPipeline(p.pipe);
    this.pass.setBindGroup(0, group);
    let x = w[i + 2], y = w[i + 3], z = w[i + 4];
    if (x > this.maxGroups && y === 1) { y = Math.ceil(x / this.maxGroups); x = this.maxGroups; }
    this.pass.dispatchWorkgroups(x, y, z);
    if (this.prof) { this.pass.end(); this.pass = null; } // profiling: a pass per dispatch
    this.pending++;
    this.stats.dispatches++;
    this.groups += x * y * z;
    if (this.groups >= GPU_EARLY_GROUPS && this.earlyMs >= 0 && performance.now() - this.lastSubmit >= this.earlyMs) {
      this.flush();
      this.stats.early++;
    }
  }

  // The pending command encoder, begun (with its validation error scope) if there is none.
  _encoder() {
    if (!this.encoder) {
      this.device.pushErrorScope("validation");
      this.encoder = this.device.createCommandEncoder();
    }
    return this.encoder;
  }

  // Submit what is pending (uniforms first); freed buffers go back to the pool after it.
  flush(extra) {
    if (!this.encoder) return null;
    if (this.pass) { this.pass.end(); this.pass = null; }
    if (extra) extra(this.encoder);
    this.device.queue.writeBuffer(this.uniGpu, 0, this.uniCpu, 0, Math.ceil(this.uniUsed / 4) * 4);
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    this.pending = 0;
    this.groups = 0;
    this.lastSubmit = performance.now();
    this.uniUsed = 0;
    this.stats.submits++;
    for (const list of this.deferred.values()) for (const b of list) this._release(b);
    this.deferred = new Map();
    this.deferredBytes = 0;
    this.errors = this.device.popErrorScope();
    this.unchecked.push(this.errors);
    return this.errors;
  }

  // The first validation error of the submits and compiles since the last call (a flush
  // that nothing awaited -- a full queue, an upload's -- is checked at the next readback or
  // sync), or null
  _takeErrors() {
    const all = this.unchecked;
    this.unchecked = [];
    return Promise.all(all).then((es) => es.find((e) => e) || null);
  }

  // Throw the error _takeErrors found, if any (a compile error names its kernel itself)
  static raise(e) {
    if (e) throw new Error(e.named ? e.message : "webgpu: a kernel failed validation: " + e.message);
  }

  // A mappable buffer for a readback of `bytes`, from the pool by size class: creating one
  // per read costs a new shared-memory mapping each time (as TensorFlow.js, webdl reuses them)
  _staging(bytes) {
    const size = GPUBridge.sizeClass(bytes);
    const list = this.stagingPool.get(size);
    if (list && list.length) { this.stagingBytes -= size; return list.pop(); }
    return this.device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  }

  _unstage(buf) {
    if (this.stagingBytes + buf.size > GPU_STAGING_CAP_BYTES) { buf.destroy(); return; }
    if (!this.stagingPool.has(buf.size)) this.stagingPool.set(buf.size, []);
    this.stagingPool.get(buf.size).push(buf);
    this.stagingBytes += buf.size;
    this.notePeak();
  }

  // The first n floats of buffer id into `dest` (a PyProxy of a float32 numpy array, written
  // in place: one copy, from the mapped range into Python's memory): flushes, copies into a
  // staging buffer, waits for mapAsync. Async: Python waits with pyodide.ffi.run_sync (JSPI).
  async readInto(q, id, n, dest) {
    const tr = performance.now();
    this._check();
    await this._ready(q);
    const bytes = Math.max(4, n * 4);
    const staging = this._staging(bytes);
    const src = this._buf(id);
    this._encoder();
    this.flush((enc) => enc.copyBufferToBuffer(src, 0, staging, 0, bytes));
    const err = this._takeErrors();
    const t0 = performance.now();
    this.stats.preMs += t0 - tr;
    try {
      await this._wait(staging.mapAsync(GPUMapMode.READ, 0, bytes));
      this.stats.mapMs += performance.now() - t0;
    } catch (e) {
      this._check(); // a lost device: its clear error (and a new device)
      throw e;
    }
    try {
      const view = dest.getBuffer("f32");
      try {
        view.data.set(new Float32Array(staging.getMappedRange(0, bytes), 0, n));
      } finally {
        view.release();
      }
    } finally {
      staging.unmap();
      this._unstage(staging);
    }
    const t1 = performance.now();
    GPUBridge.raise(await err);
    this.stats.scopeMs += performance.now() - t1;   // the error scopes' wait after the map
    this._check();
    this.stats.readbacks++;
    this.stats.readMs += performance.now() - tr;
    return 0;
  }

  // p awaited; with pollMode, a command sent at each task turn while it is pending, for
  // GPU_POLL_MAX_MS at most (see the constructor). Counted in stats.polls.
  async _wait(p) {
    if (!this.pollMode) return p;
    let done = false;
    const q = p.finally(() => { done = true; });
    this.pollBuf ??= this.device.createBuffer({ size: 16, usage: GPUBufferUsage.COPY_DST });
    if (!this.pollYield) {   // a task turn: a message to itself (setTimeout clamps to 4 ms)
      const chan = new MessageChannel();
      const waiting = [];
      chan.port1.onmessage = () => waiting.shift()();
      this.pollYield = () => new Promise((r) => { waiting.push(r); chan.port2.postMessage(0); });
    }
    const t0 = performance.now();
    while (!done && performance.now() - t0 < GPU_POLL_MAX_MS) {
      if (this.pollMode === 1) this.device.queue.submit([]);
      else this.device.queue.writeBuffer(this.pollBuf, 0, GPU_POLL_WORD);
      this.stats.polls++;
      await this.pollYield();
    }
    return q;
  }

  // The queue run, once the pipelines it needs are compiled (held commands too)
  async _ready(q) {
    if (this.pipeMode === 2) this.exec(q);
    await this._pipelinesReady();
    if (this.pipeMode === 2) this._drain(); else this.exec(q);
  }

  // Wait until the queue is idle (for timing): an empty round trip.
  async sync(q) {
    this._check();
    await this._ready(q);
    this.flush();
    const err = this._takeErrors();
    await this._wait(this.device.queue.onSubmittedWorkDone());
    GPUBridge.raise(await err);
    return 0;
  }

  // --- the profiler: each dispatch in its own compute pass with timestamp writes at its
  // beginning and end (needs the adapter's "timestamp-query"; Chromium quantizes timestamps
  // to 100 us unless started with --enable-webgpu-developer-features) ---
  startProfile(q, cap = 2048) {   // dispatches: a query set holds at most 4096 queries
    this._check();
    this._execNow(q);
    if (!this.device.features.has("timestamp-query")) {
      throw new Error("webgpu: this adapter has no timestamp queries ('timestamp-query'); the profiler needs them");
    }
    this.flush(); // dispatches recorded before are not timed (and their pass is ended)
    this.prof = {
      cap, keys: [], untimed: 0,
      set: this.device.createQuerySet({ type: "timestamp", count: 2 * cap }),
      resolve: this.device.createBuffer({ size: 16 * cap, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC }),
    };
  }

  _timed(p) {
    const prof = this.prof;
    if (!prof) return undefined;
    if (prof.keys.length >= prof.cap) { prof.untimed++; return undefined; }
    const i = prof.keys.length;
    prof.keys.push(p.key);
    return { timestampWrites: { querySet: prof.set, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } };
  }

  // {kernel key: [dispatches, GPU ms]} since startProfile (JSON); dispatches past the cap
  // are counted under "(not timed)"
  async stopProfile(q) {
    this._check();
    await this._ready(q);
    const prof = this.prof;
    this.prof = null;
    if (!prof) return "{}";
    const n = prof.keys.length;
    const bytes = Math.max(16, 16 * n);
    const staging = this._staging(bytes);
    this._encoder();
    this.flush((enc) => {
      if (n) {
        enc.resolveQuerySet(prof.set, 0, 2 * n, prof.resolve, 0);
        enc.copyBufferToBuffer(prof.resolve, 0, staging, 0, 16 * n);
      }
    });
    await staging.mapAsync(GPUMapMode.READ, 0, bytes);
    const t = new BigInt64Array(staging.getMappedRange(0, bytes).slice(0));
    staging.unmap();
    this._unstage(staging);
    prof.set.destroy();
    prof.resolve.destroy();
    const out = prof.untimed ? { "(not timed)": [prof.untimed, 0] } : {};
    for (let i = 0; i < n; i++) {
      const r = out[prof.keys[i]] || (out[prof.keys[i]] = [0, 0]);
      r[0]++;
      r[1] += Number(t[2 * i + 1] - t[2 * i]) / 1e6;
    }
    return JSON.stringify(out);
  }

  memoryStats(q) {
    this._execNow(q);
    let pooled = 0, staging = 0;
    for (const list of this.pool.values()) pooled += list.length;
    for (const list of this.stagingPool.values()) staging += list.length;
    return JSON.stringify({
      buffers: this.bufs.size, bytes: this.liveBytes, pooledBuffers: pooled, pooledBytes: this.pooledBytes,
      stagingBuffers: staging, stagingBytes: this.stagingBytes,
      reservedBytes: this.liveBytes + this.cachedBytes(), peakBytes: this.peak.bytes,
      peakBuffers: this.peak.buffers, peakReservedBytes: this.peak.reserved,
      pipelines: this.pipelines.length, pending: this.pending, generation: this.generation, ...this.stats,
    });
  }
}

self.GPUBridge = GPUBridge;
