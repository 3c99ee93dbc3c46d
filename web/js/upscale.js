// The super-resolution page: decode an image in the page, upscale it with webdl's
// ESRGAN port on the GPU (in the worker), compare before/after with a slider, download.
"use strict";
(function () {
  const $ = (s) => document.querySelector(s);
  const state = { image: null, name: "image", result: null, busy: false, ready: false };
  const SCALES = { "esrgan-slim": [2, 3, 4, 8], "esrgan-medium": [2, 3, 4, 8], "esrgan-thick": [2, 3, 4, 8] };
  const MAX_SIDE = 2048;

  function message(text, ok) {
    $("#message").textContent = text || "";
    $("#message").className = "message" + (ok ? " ok" : "");
  }

  function setKernel(cls, text) {
    $("#kernel").className = "kernel " + cls;
    $("#kernel-text").textContent = text;
  }

  function updateButtons() {
    $("#run").disabled = !(state.ready && state.image && !state.busy);
    $("#download").disabled = !state.result || state.busy;
  }

  // --- loading an image: decoded by the browser, checked before any work ------------------
  // Only the latest load may change the page: an older one whose decode finishes later is
  // dropped (it would otherwise replace a newer image or clear a newer error message).
  let loads = 0;
  async function loadBlob(blob, name) {
    const mine = ++loads;
    state.result = null;
    try {
      if (!blob || blob.size === 0) throw new Error("the file is empty");
      const bmp = await createImageBitmap(blob);
      if (mine !== loads) return;
      if (!bmp.width || !bmp.height) throw new Error("the image has no pixels");
      if (bmp.width > MAX_SIDE || bmp.height > MAX_SIDE) {
        throw new Error(`the image is too large (${bmp.width}x${bmp.height}; at most ${MAX_SIDE} pixels a side)`);
      }
      const c = new OffscreenCanvas(bmp.width, bmp.height);
      const ctx = c.getContext("2d");
      ctx.drawImage(bmp, 0, 0);
      state.image = { width: bmp.width, height: bmp.height, rgba: ctx.getImageData(0, 0, bmp.width, bmp.height).data, bmp };
      state.name = (name || "image").replace(/\.[^.]*$/, "");
      $("#drop-text").textContent = `${name}: ${bmp.width}×${bmp.height}`;
      message("");
      showBefore();
    } catch (e) {
      if (mine !== loads) return;
      // the previous image, if any, stays loaded
      message(`Could not open ${name || "the file"}: ${e.message.includes("decode") || e.name === "InvalidStateError" ? "not a PNG, JPEG or WebP image" : e.message}`);
    }
    updateButtons();
  }

  function showBefore() {
    const { bmp, width, height } = state.image;
    const s = Number($("#scale").value);
    const before = $("#before");
    before.width = width * s;
    before.height = height * s;
    const ctx = before.getContext("2d");
    ctx.imageSmoothingEnabled = false;            // the input at the output's size
    ctx.drawImage(bmp, 0, 0, width * s, height * s);
    const after = $("#after");
    after.width = width * s;
    after.height = height * s;
    after.getContext("2d").clearRect(0, 0, after.width, after.height);
    // small results are shown enlarged (pixelated) so the two can be compared by eye
    before.style.width = Math.min(Math.max(width * s, 512), 1060) + "px";
    $("#compare").hidden = false;
    setSplit();
    $("#info").textContent = "";
  }

  function setSplit() {
    const v = Number($("#split").value);
    $("#after").style.clipPath = `inset(0 0 0 ${v}%)`;
    $("#handle").style.left = v + "%";
  }

  // --- running -------------------------------------------------------------------------------
  async function run() {
    if (!state.image || state.busy) return;
    const model = $("#model").value, scale = Number($("#scale").value);
    showBefore();
    state.busy = true;
    state.result = null;
    updateButtons();
    message("");
    $("#progress").hidden = false;
    $("#bar").style.width = "0%";
    $("#progress-text").textContent = "loading the model…";
    setKernel("busy", "Busy");
    const t0 = performance.now();
    const { width, height, rgba } = state.image;
    const r = await webdl.runPython(
      `import webdl.apps.superres\nwebdl.apps.superres.page_upscale(inputs, ${JSON.stringify(model)}, ${scale})`,
      { rgba, width, height });
    state.busy = false;
    setKernel("idle", "Idle · " + idleText);
    if (!r.ok) {
      const last = (r.error || "").trim().split("\n").pop();
      message("Upscaling failed: " + last.replace(/^[A-Za-z.]*Error: /, ""));
      $("#progress").hidden = true;
    } else {
      $("#bar").style.width = "100%";
      message(`Done in ${((performance.now() - t0) / 1000).toFixed(1)} s`, true);
    }
    updateButtons();
  }

  webdl.onEvent((m) => {
    if (m.type === "progress" && !state.ready) setKernel("starting", m.detail + "…");
    if (m.type !== "display") return;
    if (m.kind === "progress") {
      const { done, total, elapsed } = m.data;
      $("#bar").style.width = (100 * done / total).toFixed(1) + "%";
      $("#progress-text").textContent = `tile ${done} of ${total} · ${elapsed.toFixed(1)} s`;
    } else if (m.kind === "upscaled") {
      const { width, height, bytes, seconds, tiles } = m.data;
      const after = $("#after");
      after.width = width;
      after.height = height;
      after.getContext("2d").putImageData(new ImageData(new Uint8ClampedArray(bytes.buffer), width, height), 0, 0);
      state.result = { width, height };
      $("#info").textContent = `${state.image.width}×${state.image.height} → ${width}×${height} · ` +
        `${$("#model").value} ×${$("#scale").value} · ${tiles} tile(s) · ${seconds.toFixed(2)} s on ${idleText}`;
    }
  });

  function download() {
    $("#after").toBlob((blob) => {
      const a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = `${state.name}-${$("#model").value}-x${$("#scale").value}.png`;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 1000);
    }, "image/png");
  }

  // --- wiring --------------------------------------------------------------------------------
  let idleText = "";
  $("#file").addEventListener("change", (e) => { const f = e.target.files[0]; e.target.value = ""; if (f) loadBlob(f, f.name); });
  $("#sample").addEventListener("click", async () => {
    const r = await fetch("vendor/models/esrgan-slim/assets/fixture.png");
    loadBlob(await r.blob(), "fixture.png");
  });
  const drop = $("#drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const f = e.dataTransfer.files[0];
    if (f) loadBlob(f, f.name);
  });
  $("#model").addEventListener("change", () => {
    const scales = SCALES[$("#model").value];
    for (const o of $("#scale").options) o.disabled = !scales.includes(Number(o.value));
  });
  $("#scale").addEventListener("change", () => { if (state.image && !state.busy) { state.result = null; showBefore(); updateButtons(); } });
  $("#split").addEventListener("input", setSplit);
  $("#run").addEventListener("click", run);
  $("#download").addEventListener("click", download);
  webdl.ready.then((info) => {
    state.ready = true;
    idleText = `${info.backend} on ${/SwiftShader/.test(info.renderer || "") ? "SwiftShader" : info.renderer}`;
    setKernel("idle", "Idle · " + idleText);
    document.body.dataset.ready = "1";
    updateButtons();
  }, (e) => setKernel("failed", "Failed to start: " + e.message));
})();
