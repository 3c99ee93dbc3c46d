// The Web Worker that owns Pyodide and the WebGL2 context (on an OffscreenCanvas), so
// Python drives the GPU synchronously while the page stays responsive. The page talks to
// it by messages: {type: "run", id, code} -> {type: "result", id, ...} and streamed
// {type: "stream", id, name, text} for stdout/stderr.
// The GL bridge is not here: `import webdl` makes it from the wheel, as in any Pyodide.
"use strict";

const base = new URL("../", self.location.href).href;
importScripts(base + "js/gpu.js"); // WebGPU (issue 17): the block "WebGPU" in start()
let pyodide = null;
let current = null; // id of the cell being run
let interrupt = null; // Int32Array over the page's SharedArrayBuffer, when isolated
let promising = false; // cells run through JSPI (callPromising): only where WebGPU is usable

// Held for the worker's lifetime: the page's request for the same lock is granted when the
// worker is gone (terminated, crashed, out of memory), which no event would tell it.
const lifeLock = new URL(self.location.href).searchParams.get("lock");
if (lifeLock && self.navigator && navigator.locks) {
  navigator.locks.request(lifeLock, () => {
    postMessage({ type: "alive" });
    return new Promise(() => {});
  });
}

// Pyodide can't go on after a fatal error (out of WebAssembly memory, a crash in C): the
// page is told why, and the worker ends, so the page offers a fresh one.
function fatal(e) {
  postMessage({ type: "fatal", error: String(e && e.message || e) });
  close();
}

function progress(stage, detail) {
  postMessage({ type: "progress", stage, detail });
}

async function start() {
  const t0 = performance.now();
  const manifest = await (await fetch(base + "vendor/manifest.json")).json();
  progress("python", "loading Pyodide");
  importScripts(base + "vendor/pyodide/pyodide.js");
  pyodide = await loadPyodide({ indexURL: base + "vendor/pyodide/" });
  for (const name of ["stdout", "stderr"]) {
    const dec = new TextDecoder();
    const write = (buf) => { stream(name, dec.decode(buf, { stream: true })); return buf.length; };
    if (name === "stdout") pyodide.setStdout({ write }); else pyodide.setStderr({ write });
  }
  progress("numpy", "loading numpy");
  await pyodide.loadPackage(manifest.packages, { messageCallback: () => {} });
  progress("webdl", "installing webdl");
  await pyodide.loadPackage(base + "vendor/" + manifest.webdl_wheel, { messageCallback: () => {} });
  const opts = new URL(self.location.href).searchParams;
  const kept = await keptChoices();
  self.webdlConfig = {   // read by webdl's bridge on import
    quiet: true,                                             // the page shows the device itself
    noFloat: opts.get("gpu") === "nofloat",                  // tests force the refusal path
    half: opts.get("gpu") === "half",                        // ... and the float16 path
    liveCap: Number(opts.get("gpumem") || 0) * 2 ** 20 || undefined,
    device: opts.get("device") || undefined,                 // ?device=cpu|webgl|webgpu forces one
    smallWidth: Number(opts.get("smallwidth") || 0) || undefined,  // ?smallwidth=4096: A/B
    poolCap: Number(opts.get("poolmem") || 0) * 2 ** 20 || undefined,  // ?poolmem=1024 (MiB)
    earlyMs: opts.get("earlyms") ? Number(opts.get("earlyms")) : undefined,  // ?earlyms=-1: A/B
    syncCompile: opts.get("synccompile") === "1",           // ?synccompile=1: A/B, each link waited for
    noStateCache: opts.get("statecache") === "0",           // ?statecache=0: A/B, every GL state set each draw
    // kernel choice per GPU (webdl/backends/tuning.py): ?kernels=measure|default|family=variant,
    // and the choices measured before on this browser, kept in IndexedDB by renderer
    kernels: opts.get("kernels") || undefined,
    kernelChoices: JSON.stringify(kept.all),
    saveKernelChoices: (renderer, json) => kept.save(renderer, json),
  };
  pyodide.registerJsModule("webdl_display", {
    emit: (kind, json) => { flush(); postMessage({ type: "display", id: current, kind, data: JSON.parse(json) }); },
    // binary payloads (images) travel as transferable bytes, not JSON
    emitBytes: (kind, json, pybuf) => {
      flush();
      const view = pybuf.getBuffer("u8");
      const bytes = view.data.slice();
      view.release();
      postMessage({ type: "display", id: current, kind, data: { ...JSON.parse(json), bytes } }, [bytes.buffer]);
    },
  });
  pyodide.registerJsModule("webdl_fetch", {
    // synchronous (allowed in workers): copy an app file into Pyodide's file system
    toFile: (url, path) => {
      const xhr = new XMLHttpRequest();
      xhr.open("GET", new URL(url, base).href, false);
      xhr.responseType = "arraybuffer";
      xhr.send();
      if (xhr.status !== 200) throw new Error(`could not fetch ${url}: HTTP ${xhr.status}`);
      pyodide.FS.writeFile(path, new Uint8Array(xhr.response));
    },
  });
  // WebGPU: a second GPU backend where the page has an adapter, registered before webdl is
  // imported (which picks the default device: a hardware WebGPU adapter, else WebGL2, else
  // the CPU). Python waits for its readbacks through JSPI (cells run via callPromising, see
  // "run" below), so without JSPI it is not offered. ?webgpu=off skips the probe.
  let webgpu = { ok: false, error: "not probed (?webgpu=off)" };
  if (opts.get("webgpu") !== "off") {
    const gpu = new GPUBridge({ liveCap: Number(opts.get("gpumem") || 0) * 2 ** 20 || undefined,
                                 earlyMs: opts.get("earlyms") ? Number(opts.get("earlyms")) : undefined,
                                 pipes: opts.get("pipes") ? Number(opts.get("pipes")) : undefined,
                                 poll: opts.get("poll") ? Number(opts.get("poll")) : undefined });  // ?pipes=0|1: A/B
    webgpu = JSON.parse(await gpu.init());
    webgpu.jspi = typeof WebAssembly.Suspending === "function";
    if (webgpu.ok && !webgpu.jspi) webgpu = { ...webgpu, ok: false, error: "this browser has no JSPI (WebAssembly.Suspending), which webdl needs to wait for WebGPU" };
    if (webgpu.ok) { self.gpuBridge = gpu; pyodide.registerJsModule("webdl_gpu", gpu); }
    promising = webgpu.ok;
  }
  progress("gpu", "probing the GPU");
  pyodide.runPython("import webdl, numpy, webdl.apps.runner");
  const info = JSON.parse(pyodide.runPython(
    "import json, webdl; json.dumps(webdl.backend_info())", { globals: pyodide.toPy({}) }));
  return {
    renderer: info.webgl.renderer || null, backend: info.default, why: info.chosen.why,
    gpu: info.webgl, webgpu,
    versions: {
      pyodide: pyodide.version,
      python: pyodide.runPython("import sys; sys.version.split()[0]"),
      numpy: pyodide.runPython("numpy.__version__"),
      webdl: pyodide.runPython("webdl.__version__"),
    },
    startupMs: Math.round(performance.now() - t0),
  };
}

// The kernel choices measured on this browser's GPUs ({renderer: {shape class: variant}}),
// kept in IndexedDB (a worker has no localStorage) and read before webdl is imported; save
// writes one renderer's choices back (asynchronously: done once the running cell yields).
// Where IndexedDB is unavailable (a private window may refuse it), choices last the session.
async function keptChoices() {
  const kept = { all: {}, save: () => {} };
  try {
    const db = await new Promise((resolve, reject) => {
      const r = indexedDB.open("webdl", 1);
      r.onupgradeneeded = () => r.result.createObjectStore("kernels");
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    kept.all = await new Promise((resolve, reject) => {
      const q = db.transaction("kernels").objectStore("kernels").get("choices");
      q.onsuccess = () => resolve(q.result || {});
      q.onerror = () => reject(q.error);
    });
    kept.save = (renderer, json) => {
      kept.all[renderer] = JSON.parse(json);
      db.transaction("kernels", "readwrite").objectStore("kernels").put(kept.all, "choices");
    };
  } catch (e) { /* no storage: measured choices last this session */ }
  return kept;
}

// Output is batched: Python runs synchronously here, so timers can't fire; the write handler
// flushes when 50 ms have passed, and the end of a run flushes the rest. A flood of prints
// becomes a few messages a second, and the page stays responsive.
const pending = { stdout: "", stderr: "" };
let lastFlush = 0;
function stream(name, text) {
  if (!text) return;
  pending[name] += text;
  if (performance.now() - lastFlush > 50) flush();
}
function flush() {
  lastFlush = performance.now();
  for (const name of ["stdout", "stderr"]) {
    if (pending[name]) postMessage({ type: "stream", id: current, name, text: pending[name] });
    pending[name] = "";
  }
}

const ready = start();

self.onmessage = async (ev) => {
  const msg = ev.data;
  if (msg.type === "ready") {
    try {
      postMessage({ type: "ready", id: msg.id, info: await ready });
    } catch (e) {
      postMessage({ type: "ready", id: msg.id, error: String(e && e.stack || e) });
    }
    return;
  }
  if (msg.type === "interrupt-buffer") {
    // a SharedArrayBuffer from the page (cross-origin isolated pages only): writing 2 into
    // it raises KeyboardInterrupt in the running Python code
    interrupt = new Int32Array(msg.buffer);
    (await ready.catch(() => null)) && pyodide.setInterruptBuffer(interrupt);
    return;
  }
  if (msg.type === "test-crash") {   // tests: the ways a worker dies outside Python
    if (msg.how === "close") close();
    else setTimeout(() => { throw new Error("a test crash outside Python"); });
    return;
  }
  if (msg.type === "run") {
    try {
      await ready;
    } catch (e) {
      postMessage({ type: "result", id: msg.id, ok: false, error: "runtime failed to start: " + e });
      return;
    }
    current = msg.id;   // (the page clears the interrupt flag when it sends a run)
    let out;
    try {
      const run = pyodide.globals.get("webdl").apps.runner.run_cell;
      const inputs = msg.inputs ? pyodide.toPy(msg.inputs) : null;
      // through JSPI where WebGPU is usable, so Python can wait on it (run_sync); a plain
      // call elsewhere (WebGL alone never waits on a promise)
      out = JSON.parse(promising ? await run.callPromising(msg.code, inputs)
        : run(msg.code, inputs));
      run.destroy();
      if (inputs) inputs.destroy();
    } catch (e) {
      if (e && e.pyodide_fatal_error) { flush(); fatal(e); return; }
      out = { ok: false, stdout: "", stderr: "", result: null, error: String(e) };
    }
    flush();
    current = null;
    postMessage({ type: "result", id: msg.id, ...out });
  }
};
