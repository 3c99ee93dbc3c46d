// The stable JS entry point for embedders and tests: window.webdl.ready (a promise of
// {renderer, backend, gpu, versions, startupMs}) and window.webdl.runPython(code), a
// promise of {ok, stdout, stderr, result, error}; Python state persists between calls.
// window.webdl.onEvent(f) receives progress, stream and display messages.
"use strict";
(function () {
  const here = document.currentScript ? document.currentScript.src : location.href;
  // ?gpu=nofloat|half and ?gpumem=MiB on the page pass through to the worker (tests)
  const wurl = new URL("worker.js", here);
  const q = new URLSearchParams(location.search);
  for (const k of ["gpu", "gpumem", "device", "webgpu"]) if (q.get(k)) wurl.searchParams.set(k, q.get(k));
  const worker = new Worker(wurl);
  const pending = new Map();
  const listeners = new Set();
  let nextId = 1;

  function call(msg) {
    const id = nextId++;
    return new Promise((resolve) => {
      pending.set(id, { resolve, stdout: "", stderr: "" });
      worker.postMessage({ ...msg, id });
    });
  }

  worker.onmessage = (ev) => {
    const m = ev.data;
    if (m.type === "progress" || m.type === "stream" || m.type === "display") {
      for (const f of listeners) f(m);
      if (m.type === "stream" && pending.has(m.id)) pending.get(m.id)[m.name] += m.text;
      return;
    }
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.type === "result") {
      m.stdout = p.stdout + (m.stdout || "");
      m.stderr = p.stderr + (m.stderr || "");
    }
    p.resolve(m);
  };
  worker.onerror = (e) => {
    for (const f of listeners) f({ type: "progress", stage: "error", detail: e.message });
  };

  // Stop button support: a shared interrupt flag (needs cross-origin isolation)
  let interruptFlag = null;
  if (self.crossOriginIsolated && typeof SharedArrayBuffer === "function") {
    const sab = new SharedArrayBuffer(4);
    interruptFlag = new Int32Array(sab);
    worker.postMessage({ type: "interrupt-buffer", buffer: sab });
  }

  const ready = call({ type: "ready" }).then((m) => {
    if (m.error) throw new Error(m.error);
    return m.info;
  });

  window.webdl = {
    ready,
    // inputs (optional): {name: number | string | TypedArray}, available to the code as
    // the dict `inputs` (typed arrays arrive as memoryviews)
    runPython(code, inputs) {
      return call({ type: "run", code, inputs }).then(({ type, id, ...rest }) => rest);
    },
    onEvent(f) { listeners.add(f); return () => listeners.delete(f); },
    // Interrupt the running code (KeyboardInterrupt); false when the page isn't isolated
    interrupt() {
      if (!interruptFlag) return false;
      Atomics.store(interruptFlag, 0, 2);
      return true;
    },
    get canInterrupt() { return !!interruptFlag; },
    worker,
  };
})();
