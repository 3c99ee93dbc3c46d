// gpukit: injected by drive.py into the project's bench page (?gpukit=1). Calls the page's
// benchmark functions itself, as `python -m webdl_tools bench` does through Playwright, and POSTs
// what they return to drive.py. The function names come from /__gpukit/cfg.json (drive.py's
// PROJECT). Modes: main (ready, run, extras, then the cold runs in new pages of this browser)
// and ?cold=tfjs|webdl (one cold run; &delay=ms waits first; &next=url goes on).
"use strict";
(function () {
  const q = new URLSearchParams(location.search);
  const tag = q.get("tag") || "x";
  const post = (n, o) => fetch(`/__gpukit/post/${tag}.${n}`, {
    method: "POST", body: typeof o === "string" ? o : JSON.stringify(o) }).catch(() => {});
  const errText = (e) => String((e && (e.stack || e.message)) || e);
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  window.addEventListener("error", (e) => post("log", "window error: " + e.message));
  window.addEventListener("unhandledrejection", (e) => post("log", "unhandledrejection: " + errText(e.reason)));

  // count WebGL contexts lost on this page (TensorFlow.js's; webdl's live in its worker)
  let onLost = null, lost = 0;
  for (const C of [self.HTMLCanvasElement, self.OffscreenCanvas]) {
    if (!C) continue;
    const orig = C.prototype.getContext;
    C.prototype.getContext = function (...a) {
      const ctx = orig.apply(this, a);
      if (ctx && !this.__gpukit) {
        this.__gpukit = true;
        this.addEventListener("webglcontextlost", () => {
          lost++;
          post("lost", { n: lost, t: performance.now() });
          if (onLost) onLost();
        });
      }
      return ctx;
    };
  }
  const lookup = (path) => {   // "bench.run" -> window.bench.run, bound
    const parts = path.split("."), obj = parts.slice(0, -1).reduce((o, k) => o && o[k], window);
    const v = obj && obj[parts[parts.length - 1]];
    return typeof v === "function" ? v.bind(obj) : v;
  };
  const tfInfo = () => {
    try {
      const gl = tf.backend().gpgpu.gl, d = gl.getExtension("WEBGL_debug_renderer_info");
      return { renderer: gl.getParameter(d.UNMASKED_RENDERER_WEBGL), version: gl.getParameter(gl.VERSION) };
    } catch (e) { return { error: errText(e) }; }
  };
  const text = () => { const o = document.getElementById("out"); return o ? o.textContent : ""; };

  (async function () {
    try {
      const cfg = await (await fetch("/__gpukit/cfg.json")).json();
      const api = { run: lookup(cfg.api.run), cold: lookup(cfg.api.cold), ready: () => lookup(cfg.api.ready) };
      for (const k of ["run", "cold"]) {
        if (typeof api[k] !== "function") throw new Error(`${cfg.api[k]} is not a function on this page (drive.py PROJECT / GPU_JS_${k.toUpperCase()})`);
      }
      const cold = q.get("cold");
      if (cold) {
        const delay = Number(q.get("delay") || 0);
        if (delay) await sleep(delay);
        const lostP = new Promise((res) => { onLost = () => res({ error: "WebGL context lost" }); });
        const t0 = performance.now();
        const r = await Promise.race([api.cold(cold).then((ms) => ({ ms }), (e) => ({ error: errText(e) })), lostP]);
        Object.assign(r, { which: cold, delayMs: delay, sinceCall: performance.now() - t0, pageMs: performance.now(), lost });
        if (cold === "tfjs") r.tf = tfInfo(); else r.ready = await api.ready();
        if (window.benchColdDetail) r.detail = window.benchColdDetail;   // the page's own split
        await post("cold_" + cold, r);
        const next = q.get("next");
        if (next) { location.href = next; return; }
        await post("done", {});
        return;
      }
      const timer = setInterval(() => post("progress", text()), 5000);
      const t00 = performance.now();
      const info = await api.ready();
      await post("ready", { info, pageMs: performance.now(), waitMs: performance.now() - t00 });
      const t0 = performance.now();
      let main;
      try {
        main = await api.run({ cases: cfg.cases, reps: cfg.reps });
      } catch (e) {
        main = { error: errText(e), partial: text() };
      }
      main.wallMs = performance.now() - t0;
      main.tf = tfInfo();
      main.lost = lost;
      await post("main", main);
      if (main.error) {   // one case at a time, so that one failure does not hide the rest
        for (const c of cfg.cases) {
          try { await post("percase", await api.run({ cases: [c], reps: cfg.reps })); }
          catch (e) { await post("percase", { id: c.id, error: errText(e) }); }
        }
      }
      for (const c of cfg.extra || []) {
        try { await post("extra", await api.run({ cases: [c], reps: cfg.reps })); }
        catch (e) { await post("extra", { id: c.id, error: errText(e) }); }
      }
      clearInterval(timer);
      if (cfg.cold) {   // as the CLI: each cold run in a new page of this browser, tfjs first
        const keep = [...q].filter(([k]) => !["gpukit", "tag", "cold", "next", "delay"].includes(k))
          .map(([k, v]) => `&${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("");
        const page = (w) => `${location.pathname}?gpukit=1${keep}&tag=${encodeURIComponent(tag)}&cold=${w}`;
        location.href = page("tfjs") + "&next=" + encodeURIComponent(page("webdl"));
        return;
      }
      await post("done", {});
    } catch (e) {
      await post("log", "fatal: " + errText(e));
      await post("done", { error: errText(e) });
    }
  })();
})();
