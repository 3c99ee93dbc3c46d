// The notebook page: cells with a CodeMirror editor, a run queue driving the worker's
// Python through window.webdl, rich outputs, persistence in localStorage and .ipynb
// import/export.
"use strict";
(function () {
  const STORE = "webdl-notebook-v1";
  const MAX_TEXT = 200000; // characters of one stream output kept in the page
  const $ = (s) => document.querySelector(s);
  const cellsEl = $("#cells");
  const kernelEl = $("#kernel");
  const kernelText = $("#kernel-text");
  const t0 = performance.now();

  let cells = [];
  let selected = null;
  let nextCellId = 1;
  let counter = 0;
  const queue = [];
  let running = null;
  let kernelReady = false;
  let readyInfo = null;

  // --- model ---------------------------------------------------------------------------------
  function newCell(source = "", type = "code", outputs = [], count = null) {
    return { id: "c" + nextCellId++, type, source, outputs, count, state: "idle", el: null, view: null };
  }

  function save() {
    clearTimeout(save.timer);
    save.timer = setTimeout(saveNow, 200);
  }

  function saveNow() {
    clearTimeout(save.timer);
    {
      const data = cells.map((c) => ({ type: c.type, source: c.source, count: c.count,
                                       outputs: c.outputs.filter((o) => o.type !== "plot" || o.values.length < 5000) }));
      try {
        localStorage.setItem(STORE, JSON.stringify({ cells: data, counter }));
      } catch (e) { // quota: keep the sources at least
        localStorage.setItem(STORE, JSON.stringify({ cells: data.map((c) => ({ ...c, outputs: [] })), counter }));
      }
    }
  }
  window.addEventListener("pagehide", saveNow); // a reload right after a change keeps it

  function load() {
    try {
      const data = JSON.parse(localStorage.getItem(STORE) || "null");
      if (data && Array.isArray(data.cells) && data.cells.length) {
        counter = data.counter || 0;
        return data.cells.map((c) => newCell(c.source || "", c.type || "code", c.outputs || [], c.count ?? null));
      }
    } catch (e) { /* a broken store starts a fresh notebook */ }
    return null;
  }

  // --- rendering -------------------------------------------------------------------------------
  function render() {
    cellsEl.textContent = "";
    for (const c of cells) {
      if (!c.el) buildCell(c);
      cellsEl.appendChild(c.el);
      renderState(c);
    }
  }

  function button(label, title, fn) {
    const b = document.createElement("button");
    b.textContent = label;
    b.title = title;
    b.addEventListener("click", (e) => { e.stopPropagation(); fn(); });
    return b;
  }

  function buildCell(c) {
    const el = document.createElement("section");
    el.className = "cell " + c.type;
    el.dataset.id = c.id;
    const prompt = document.createElement("div");
    prompt.className = "prompt";
    const ed = document.createElement("div");
    ed.className = "editor";
    const tools = document.createElement("div");
    tools.className = "tools";
    tools.append(
      button("▶", "Run this cell (Ctrl+Enter)", () => enqueue(c)),
      button("▲", "Move up", () => move(c, -1)),
      button("▼", "Move down", () => move(c, 1)),
      button("✕", "Delete cell", () => remove(c)),
    );
    const out = document.createElement("div");
    out.className = "output";
    el.append(prompt, ed, tools, out);
    el.addEventListener("mousedown", () => select(c));
    c.el = el;
    c.promptEl = prompt;
    c.outEl = out;
    c.view = WebdlEditor.create({
      parent: ed, doc: c.source,
      onChange: (text) => { c.source = text; save(); },
      onFocus: () => select(c),
      keys: {
        "Shift-Enter": () => { enqueue(c); focusNext(c); },
        "Ctrl-Enter": () => enqueue(c),
        "Mod-Enter": () => enqueue(c),
      },
    });
    for (const o of c.outputs) appendOutput(c, o, false);
  }

  function renderState(c) {
    c.el.classList.toggle("running", c.state === "running");
    c.el.classList.toggle("queued", c.state === "queued");
    c.el.classList.toggle("selected", c === selected);
    c.promptEl.textContent = c.type === "markdown" ? "md" :
      (c.state === "idle" ? `[${c.count ?? " "}]` : "[*]");
  }

  function select(c) {
    if (selected === c) return;
    const prev = selected;
    selected = c;
    if (prev && prev.el) renderState(prev);
    if (c && c.el) renderState(c);
  }

  function focusNext(c) {
    let i = cells.indexOf(c);
    if (i === cells.length - 1) insertAfter(c, newCell());
    const next = cells[i + 1];
    select(next);
    next.view.focus();
  }

  function insertAfter(c, cell) {
    const i = c ? cells.indexOf(c) : cells.length - 1;
    cells.splice(i + 1, 0, cell);
    render();
    save();
    return cell;
  }

  function move(c, d) {
    const i = cells.indexOf(c);
    const j = i + d;
    if (j < 0 || j >= cells.length) return;
    [cells[i], cells[j]] = [cells[j], cells[i]];
    render();
    save();
  }

  function remove(c) {
    if (c.state !== "idle") return;
    cells = cells.filter((x) => x !== c);
    if (!cells.length) cells.push(newCell());
    if (selected === c) selected = null;
    c.view.destroy();
    render();
    save();
  }

  // --- outputs ---------------------------------------------------------------------------------
  function pre(cls, text) {
    const p = document.createElement("pre");
    p.className = cls;
    p.textContent = text;
    return p;
  }

  function appendOutput(c, o, record = true) {
    const out = c.outEl;
    if (o.type === "stream") {
      const last = record && c.outputs[c.outputs.length - 1];
      if (last && last.type === "stream" && last.name === o.name) {
        const all = last.text + o.text;
        last.text = all.length > MAX_TEXT ? "[… earlier output dropped …]\n" + all.slice(-MAX_TEXT) : all;
        out.lastChild.textContent = last.text;
        return;
      }
      out.appendChild(pre(o.name, o.text));
    } else if (o.type === "result") {
      out.appendChild(pre("result", o.text));
    } else if (o.type === "error") {
      out.appendChild(pre("error", o.text));
    } else if (o.type === "image") {
      const fig = document.createElement("figure");
      const img = document.createElement("img");
      img.src = "data:image/png;base64," + o.png;
      const scale = Math.max(1, Math.floor(256 / Math.max(o.width, o.height)));
      img.width = o.width * scale;
      img.height = o.height * scale;
      img.alt = o.title || `image ${o.width}x${o.height}`;
      fig.appendChild(img);
      if (o.title) {
        const cap = document.createElement("figcaption");
        cap.textContent = o.title;
        fig.appendChild(cap);
      }
      out.appendChild(fig);
    } else if (o.type === "plot") {
      const existing = record && c.outputs.find((x) => x.type === "plot" && x.key === o.key);
      const svg = plotSVG(o);
      if (existing) {
        Object.assign(existing, o);
        const old = out.querySelector(`svg[data-key="${CSS.escape(o.key)}"]`);
        if (old) { old.replaceWith(svg); return; }
        out.appendChild(svg);
        return;
      }
      out.appendChild(svg);
    }
    if (record) c.outputs.push(o);
  }

  function plotSVG(o) {
    const W = 520, H = 200, L = 56, R = 12, T = o.title ? 22 : 10, B = 24;
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("class", "plot");
    svg.setAttribute("width", W);
    svg.setAttribute("height", H);
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    svg.dataset.key = o.key;
    const vals = o.values.map((v, i) => [i, v]).filter(([, v]) => v !== null);
    const add = (tag, attrs, text) => {
      const e = document.createElementNS(ns, tag);
      for (const k in attrs) e.setAttribute(k, attrs[k]);
      if (text !== undefined) e.textContent = text;
      svg.appendChild(e);
      return e;
    };
    if (o.title) add("text", { x: W / 2, y: 15, "text-anchor": "middle", "font-size": 12, fill: "#1d2430" }, o.title);
    add("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: "#bbb" });
    add("line", { x1: L, y1: T, x2: L, y2: H - B, stroke: "#bbb" });
    if (!vals.length) return svg;
    let lo = Math.min(...vals.map((p) => p[1])), hi = Math.max(...vals.map((p) => p[1]));
    if (lo === hi) { lo -= 1; hi += 1; }
    const n = Math.max(o.values.length - 1, 1);
    const X = (i) => L + (i / n) * (W - L - R);
    const Y = (v) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
    const fmt = (v) => (Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0)) ? v.toExponential(2) : v.toFixed(3);
    add("text", { x: L - 4, y: T + 4, "text-anchor": "end", "font-size": 10, fill: "#6b7380" }, fmt(hi));
    add("text", { x: L - 4, y: H - B, "text-anchor": "end", "font-size": 10, fill: "#6b7380" }, fmt(lo));
    add("text", { x: W - R, y: H - 8, "text-anchor": "end", "font-size": 10, fill: "#6b7380" }, `${o.values.length} points`);
    add("polyline", { points: vals.map(([i, v]) => `${X(i).toFixed(1)},${Y(v).toFixed(1)}`).join(" "),
                      fill: "none", stroke: "#3b5bdb", "stroke-width": 1.8 });
    const [li, lv] = vals[vals.length - 1];
    add("circle", { cx: X(li), cy: Y(lv), r: 3, fill: "#3b5bdb" });
    add("text", { x: L + 6, y: H - B - 6, "font-size": 11, fill: "#1d2430", class: "last" }, `last: ${fmt(lv)}`);
    return svg;
  }

  function clearOutputs(c) {
    c.outputs = [];
    c.outEl.textContent = "";
  }

  // --- running ---------------------------------------------------------------------------------
  function enqueue(c) {
    if (c.type !== "code" || c.state !== "idle") return;
    c.state = "queued";
    clearOutputs(c);
    renderState(c);
    queue.push(c);
    pump();
  }

  async function pump() {
    if (running || !queue.length || !kernelReady) return;
    const c = queue.shift();
    running = c;
    c.state = "running";
    renderState(c);
    setKernel("busy", "Busy");
    $("#stop").disabled = false;
    let r;
    try {
      r = await webdl.runPython(c.source);
    } catch (e) {
      r = { ok: false, error: String(e) };
    }
    c.count = ++counter;
    if (r.result !== null && r.result !== undefined) appendOutput(c, { type: "result", text: r.result });
    if (!r.ok) appendOutput(c, { type: "error", text: r.error || "error" });
    c.state = "idle";
    running = null;
    renderState(c);
    save();
    if (!r.ok && c.runAll) { // Run all stops at the first error, as in Jupyter
      for (const q of queue.splice(0)) { q.state = "idle"; renderState(q); }
    }
    c.runAll = false;
    if (!queue.length) {
      if (kernelReady) setKernel("idle", idleText());
      $("#stop").disabled = true;
    }
    pump();
  }

  function idleText() {
    return readyInfo ? `Idle · ${readyInfo.backend} on ${shortRenderer(readyInfo.renderer)}` : "Idle";
  }

  // renderer strings of CPU rasterisers (as webdl_tools.browser.SOFTWARE_RENDERERS)
  const SOFTWARE_GL = /swiftshader|llvmpipe|softpipe|software|microsoft basic/i;

  function shortRenderer(r) {
    if (!r) return "no GPU";
    const m = /SwiftShader/.test(r) ? "SwiftShader (software WebGL)" : r.replace(/^ANGLE \((.*)\)$/, "$1");
    return m.length > 60 ? m.slice(0, 57) + "…" : m;
  }

  function setKernel(state, text) {
    kernelEl.className = "kernel " + state;
    kernelText.textContent = text;
  }

  webdl.onEvent((m) => {
    if (m.type === "dead") return kernelDied(m.reason);
    if (m.type === "progress") {
      const steps = document.querySelectorAll("#steps li");
      let seen = false;
      for (const li of steps) {
        if (li.dataset.stage === m.stage) { li.className = "active"; seen = true; }
        else if (!seen) li.className = "done";
      }
      if (m.stage !== "error") setKernel("starting", m.detail + "…");
      return;
    }
    if (!running) return;
    if (m.type === "stream") appendOutput(running, { type: "stream", name: m.name, text: m.text });
    if (m.type === "display") appendOutput(running, { type: m.kind, ...m.data });
  });

  function kernelUp(info) {
    readyInfo = info;
    kernelReady = true;
    const ms = Math.round(performance.now() - t0);
    document.querySelectorAll("#steps li").forEach((li) => { li.className = "done"; });
    setTimeout(() => $("#startup").classList.add("hidden"), 1200);
    setKernel("idle", idleText());
    kernelEl.title = `${info.renderer}\nPyodide ${info.versions.pyodide}, Python ${info.versions.python}, ` +
      `numpy ${info.versions.numpy}, webdl ${info.versions.webdl}; ready in ${ms} ms` +
      (info.gpu && !info.gpu.ok ? `\nGPU not used: ${info.gpu.error}` : "") +
      (info.gpu && info.gpu.ok && info.gpu.storage !== "float32" ? `\nGPU: ${info.gpu.precision}` : "");
    // a software renderer: say so, and how to find out which device suits the model
    if (info.backend === "webgl" && SOFTWARE_GL.test(info.renderer || "")) {
      const note = $("#gpu-note");
      note.innerHTML = "WebGL runs on a software renderer here (" + shortRenderer(info.renderer) +
        "): small models may train faster on <code>device='cpu'</code>. " +
        "<code>webdl.suggest_device(model, example_input)</code> measures both.";
      note.hidden = false;
    }
    document.body.dataset.readyMs = ms;
    document.body.dataset.ready = "1";
    pump();
  }

  function kernelFailed(e) {
    setKernel("failed", "Failed to start: " + e.message);
  }

  // The worker died (a crash, out of memory): the running cell has its error already (its
  // call rejected); queued cells go back to idle, the cells' text is kept (saved as edited,
  // and now), and the page offers a fresh kernel.
  function kernelDied(reason) {
    kernelReady = false;
    for (const q of queue.splice(0)) { q.state = "idle"; renderState(q); }
    saveNow();
    setKernel("failed", "Kernel died");
    $("#dead-text").textContent = reason[0].toUpperCase() + reason.slice(1) +
      ". Your cells are kept; variables are lost. ";
    $("#kernel-dead").hidden = false;
  }

  // A fresh worker: Pyodide and webdl load again; a running cell fails as interrupted by it.
  function restartKernel() {
    kernelReady = false;
    delete document.body.dataset.ready;
    for (const q of queue.splice(0)) { q.state = "idle"; renderState(q); }
    $("#kernel-dead").hidden = true;
    setKernel("starting", "Restarting…");
    webdl.restart().then(kernelUp, kernelFailed);
  }

  webdl.ready.then(kernelUp, kernelFailed);

  // --- .ipynb ----------------------------------------------------------------------------------
  function lines(text) {
    const parts = text.split("\n");
    return parts.map((l, i) => (i < parts.length - 1 ? l + "\n" : l)).filter((l) => l !== "");
  }

  function toIpynb() {
    return {
      nbformat: 4, nbformat_minor: 5,
      metadata: {
        kernelspec: { name: "python3", display_name: "Python 3 (webdl)", language: "python" },
        language_info: { name: "python" }, webdl: { version: readyInfo?.versions?.webdl },
      },
      cells: cells.map((c) => c.type === "markdown" ? {
        cell_type: "markdown", id: c.id, metadata: {}, source: lines(c.source),
      } : {
        cell_type: "code", id: c.id, metadata: {}, execution_count: c.count, source: lines(c.source),
        outputs: c.outputs.map((o) => {
          if (o.type === "stream") return { output_type: "stream", name: o.name, text: lines(o.text) };
          if (o.type === "result") return { output_type: "execute_result", execution_count: c.count,
                                            data: { "text/plain": lines(o.text) }, metadata: {} };
          if (o.type === "error") {
            const last = o.text.trim().split("\n").pop() || "";
            const k = last.indexOf(":");
            return { output_type: "error", ename: k > 0 ? last.slice(0, k) : last,
                     evalue: k > 0 ? last.slice(k + 1).trim() : "", traceback: o.text.split("\n") };
          }
          if (o.type === "image") return { output_type: "display_data", data: { "image/png": o.png, "text/plain": [o.title || "image"] },
                                           metadata: { "image/png": { width: o.width, height: o.height }, webdl: { title: o.title ?? null } } };
          return { output_type: "display_data", data: { "application/vnd.webdl.plot+json": o, "text/plain": [`plot ${o.key}`] }, metadata: {} };
        }),
      }),
    };
  }

  function joinSrc(s) { return Array.isArray(s) ? s.join("") : (s || ""); }

  function fromIpynb(nb) {
    if (!nb || !Array.isArray(nb.cells) || nb.nbformat !== 4) {
      throw new Error("not a Jupyter notebook (nbformat 4) file");
    }
    return nb.cells.filter((c) => c.cell_type === "code" || c.cell_type === "markdown").map((c) => {
      const outputs = [];
      for (const o of c.outputs || []) {
        if (o.output_type === "stream") outputs.push({ type: "stream", name: o.name === "stderr" ? "stderr" : "stdout", text: joinSrc(o.text) });
        else if (o.output_type === "execute_result") outputs.push({ type: "result", text: joinSrc(o.data?.["text/plain"]) });
        else if (o.output_type === "error") outputs.push({ type: "error", text: (o.traceback || []).join("\n") || `${o.ename}: ${o.evalue}` });
        else if (o.output_type === "display_data" && o.data?.["image/png"]) {
          const md = o.metadata?.["image/png"] || {};
          outputs.push({ type: "image", png: joinSrc(o.data["image/png"]).replace(/\n/g, ""),
                         width: md.width || 128, height: md.height || 128, title: o.metadata?.webdl?.title ?? null });
        } else if (o.output_type === "display_data" && o.data?.["application/vnd.webdl.plot+json"]) {
          outputs.push(o.data["application/vnd.webdl.plot+json"]);
        }
      }
      return newCell(joinSrc(c.source), c.cell_type, outputs, c.execution_count ?? null);
    });
  }

  function replaceCells(list) {
    for (const c of cells) c.view && c.view.destroy();
    cells = list.length ? list : [newCell()];
    selected = null;
    render();
    save();
  }

  // --- toolbar ---------------------------------------------------------------------------------
  $("#run-all").addEventListener("click", () => {
    for (const c of cells) if (c.type === "code") { c.runAll = true; enqueue(c); }
  });
  $("#stop").addEventListener("click", () => {
    for (const q of queue.splice(0)) { q.state = "idle"; renderState(q); }
    if (running && !webdl.interrupt()) {
      appendOutput(running, { type: "stderr", name: "stderr", text: "Stop needs a cross-origin isolated page (see README)\n" });
    }
  });
  $("#restart").addEventListener("click", restartKernel);
  $("#dead-restart").addEventListener("click", restartKernel);
  $("#add-cell").addEventListener("click", () => {
    const c = insertAfter(selected, newCell());
    select(c);
    c.view.focus();
  });
  $("#clear").addEventListener("click", () => { for (const c of cells) clearOutputs(c); save(); });
  const exSel = $("#examples");
  for (const ex of self.WEBDL_EXAMPLES) {
    const opt = document.createElement("option");
    opt.value = ex.id;
    opt.textContent = ex.title;
    exSel.appendChild(opt);
  }
  exSel.addEventListener("change", () => {
    const ex = self.WEBDL_EXAMPLES.find((e) => e.id === exSel.value);
    exSel.value = "";
    if (!ex) return;
    const hasWork = cells.some((c) => c.source.trim());
    if (hasWork && !confirm(`Replace this notebook with the example "${ex.title}"? Export it first to keep it.`)) return;
    replaceCells(ex.cells.map((s) => newCell(s)));
  });
  $("#export").addEventListener("click", () => {
    const blob = new Blob([JSON.stringify(toIpynb(), null, 1)], { type: "application/x-ipynb+json" });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = "webdl-notebook.ipynb";
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  });
  $("#import").addEventListener("change", async (e) => {
    const f = e.target.files[0];
    e.target.value = "";
    if (!f) return;
    try {
      replaceCells(fromIpynb(JSON.parse(await f.text())));
    } catch (err) {
      alert(`Could not import ${f.name}: ${err.message}. Your notebook is unchanged.`);
    }
  });

  // --- start -----------------------------------------------------------------------------------
  cells = load() || self.WEBDL_EXAMPLES[0].cells.map((s) => newCell(s));
  render();
  select(cells[0]);
  window.notebook = { get cells() { return cells; }, toIpynb, fromIpynb, enqueue };
})();
