// The stable JS entry point for embedders and tests: window.webdl.ready (a promise of
// {renderer, backend, gpu, versions, startupMs}) and window.webdl.runPython(code), a
// promise of {ok, stdout, stderr, result, error}; Python state persists between calls.
// window.webdl.onEvent(f) receives progress, stream and display messages, and
// {type: "dead", reason} when the worker dies (a crash, out of memory, a fatal Pyodide
// error): its calls in flight reject with that reason, and window.webdl.restart() starts
// a fresh worker (Pyodide and webdl loaded again; Python state starts empty).
"use strict";
(function () {
  const here = document.currentScript ? document.currentScript.src : location.href;
  // ?gpu=nofloat|half, ?gpumem=MiB, ?kernels=... on the page pass through to the worker
  const q = new URLSearchParams(location.search);
  const listeners = new Set();
  const emit = (m) => { for (const f of listeners) f(m); };
  let nextId = 1;
  let kernel = null; // {worker, pending, interruptFlag, ready, dead}

  // A worker dies without an event (terminated, crashed, closed): it holds a Web Lock for
  // its lifetime, and the page's request for the same lock is granted when it is gone.
  function start() {
    const wurl = new URL("worker.js", here);
    for (const k of ["gpu", "gpumem", "device", "webgpu", "smallwidth", "poolmem", "kernels", "earlyms", "pipes", "poll"]) if (q.get(k)) wurl.searchParams.set(k, q.get(k));
    const lock = "webdl-kernel-" + Math.random().toString(36).slice(2);
    wurl.searchParams.set("lock", lock);
    const k = { worker: new Worker(wurl), pending: new Map(), interruptFlag: null, dead: null, error: null };
    kernel = k;
    k.worker.onmessage = (ev) => {
      const m = ev.data;
      if (m.type === "alive") { // it holds its lock now (where the page has Web Locks)
        navigator.locks.request(lock, () => die(k, k.error || "it stopped (a crash, or out of memory)"));
        return;
      }
      if (m.type === "fatal") { k.error = m.error; return; } // it closes itself next
      if (m.type === "progress" || m.type === "stream" || m.type === "display") {
        if (k === kernel) emit(m);
        if (m.type === "stream" && k.pending.has(m.id)) k.pending.get(m.id)[m.name] += m.text;
        return;
      }
      const p = k.pending.get(m.id);
      if (!p) return;
      k.pending.delete(m.id);
      if (m.type === "result") {
        m.stdout = p.stdout + (m.stdout || "");
        m.stderr = p.stderr + (m.stderr || "");
      }
      p.resolve(m);
    };
    // an error nothing in the worker caught (outside Python): its state is unknown, so it
    // is stopped and reported as dead rather than left to answer or not
    k.worker.onerror = (e) => {
      if (k === kernel) emit({ type: "progress", stage: "error", detail: e.message });
      k.worker.terminate();
      die(k, "it failed outside Python: " + e.message);
    };
    // Stop button support: a shared interrupt flag (needs cross-origin isolation)
    if (self.crossOriginIsolated && typeof SharedArrayBuffer === "function") {
      const sab = new SharedArrayBuffer(4);
      k.interruptFlag = new Int32Array(sab);
      k.worker.postMessage({ type: "interrupt-buffer", buffer: sab });
    }
    k.ready = call(k, { type: "ready" }).then((m) => {
      if (m.error) throw new Error(m.error);
      return m.info;
    });
    k.ready.catch(() => {}); // a caller that never asks is not an unhandled rejection
    return k;
  }

  function die(k, reason) {
    if (k.dead) return;
    k.dead = "the Python worker died: " + reason;
    for (const p of k.pending.values()) p.reject(new Error(k.dead));
    k.pending.clear();
    if (k === kernel) emit({ type: "dead", reason: k.dead });
  }

  function call(k, msg) {
    if (k.dead) return Promise.reject(new Error(k.dead));
    const id = nextId++;
    return new Promise((resolve, reject) => {
      k.pending.set(id, { resolve, reject, stdout: "", stderr: "" });
      k.worker.postMessage({ ...msg, id });
    });
  }

  start();

  window.webdl = {
    get ready() { return kernel.ready; },
    // inputs (optional): {name: number | string | TypedArray}, available to the code as
    // the dict `inputs` (typed arrays arrive as memoryviews)
    runPython(code, inputs) {
      // a Stop from before this run is cleared here, when the run is sent, not when the
      // worker starts it: a Stop pressed in between would be lost (and the cell run on)
      if (kernel.interruptFlag) Atomics.store(kernel.interruptFlag, 0, 0);
      return call(kernel, { type: "run", code, inputs }).then(({ type, id, ...rest }) => rest);
    },
    onEvent(f) { listeners.add(f); return () => listeners.delete(f); },
    // Interrupt the running code (KeyboardInterrupt); false when the page isn't isolated
    interrupt() {
      if (!kernel.interruptFlag) return false;
      Atomics.store(kernel.interruptFlag, 0, 2);
      return true;
    },
    get canInterrupt() { return !!kernel.interruptFlag; },
    // A fresh worker (the old one, alive or not, is stopped and its calls reject); the
    // promise of its start-up info, as `ready`
    restart() {
      const old = kernel;
      start();
      old.worker.terminate();
      die(old, "the kernel was restarted");
      return kernel.ready;
    },
    // the reason the worker died, or null while it lives
    get dead() { return kernel.dead; },
    get worker() { return kernel.worker; },
  };
})();
