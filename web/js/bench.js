// webdl's WebGL backend (in its worker) and TensorFlow.js 4.22's WebGL backend (this page)
// on the same work, alternating, after warm-up, each synchronised by reading its result back.
"use strict";
(function () {
  const rnd = (shape, scale = 1) => tf.randomNormal(shape, 0, scale, "float32", 1);
  const stats = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return { median: s[Math.floor(s.length / 2)], min: s[0], max: s[s.length - 1], n: s.length };
  };

  async function readback(t) {
    await t.data();
    t.dispose();
  }

  // TensorFlow.js versions of the cases in src/webdl/bench.py
  const TF = {
    async matmul({ n }) {
      const a = rnd([n, n]), b = rnd([n, n]);
      return { run: () => readback(tf.matMul(a, b)), dispose: () => tf.dispose([a, b]) };
    },
    async conv2d({ size = 128, ch = 64 }) {
      const x = rnd([1, size, size, ch]), w = rnd([3, 3, ch, ch], 0.05), b = rnd([ch]);
      return {
        run: () => readback(tf.fused.conv2d({ x, filter: w, strides: 1, pad: "same", bias: b })),
        dispose: () => tf.dispose([x, w, b]),
      };
    },
    async elementwise({ n = 1 << 20 }) {
      const [x, w, b, s] = [0, 1, 2, 3].map(() => rnd([n]));
      return {
        run: () => readback(tf.tidy(() => x.mul(w).add(b).relu().mul(s))),
        dispose: () => tf.dispose([x, w, b, s]),
      };
    },
    async esrgan({ model = "esrgan-slim", scale = 2, size = 128 }) {
      const m = await tf.loadLayersModel(`vendor/models/${model}/x${scale}/model.json`);
      const x = tf.randomUniform([1, size, size, 3], 0, 255);
      return {
        run: () => readback(tf.tidy(() => m.predict(x).clipByValue(0, 255))),
        dispose: () => { x.dispose(); m.dispose(); },
      };
    },
    async train({ batch = 32, size = 16 }) {
      const model = tf.sequential({ layers: [
        tf.layers.conv2d({ inputShape: [size, size, 1], filters: 8, kernelSize: 3, padding: "same" }),
        tf.layers.batchNormalization(), tf.layers.reLU(), tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.conv2d({ filters: 16, kernelSize: 3, padding: "same" }), tf.layers.reLU(),
        tf.layers.globalAveragePooling2d({}), tf.layers.dense({ units: 2 }),
      ] });
      const opt = tf.train.adam(1e-3);
      const x = rnd([batch, size, size, 1]);
      const y = tf.oneHot(tf.randomUniform([batch], 0, 2, "int32"), 2);
      return {
        run: async () => {
          const loss = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true })), true);
          await readback(loss);
        },
        dispose: () => { tf.dispose([x, y]); model.dispose(); },
      };
    },
  };

  let nextKey = 0;
  async function py(code) {
    const r = await webdl.runPython(code);
    if (!r.ok) throw new Error(r.error);
    return r.result;
  }

  // the value of a Python expression, through JSON on stdout (py() gives Python's repr)
  async function pyJSON(expr) {
    const r = await webdl.runPython(`import json\nprint(json.dumps(${expr}))`);
    if (!r.ok) throw new Error(r.error);
    return JSON.parse(r.stdout);
  }

  async function benchCase(c, reps, warmup) {
    const key = "c" + nextKey++;
    await py(`import webdl.apps.bench as B\nB.setup(${JSON.stringify(key)}, ${JSON.stringify(c.kind)}, **${JSON.stringify(c.args)})`);
    const t = await TF[c.kind](c.args);
    const wRun = async () => Number(await py(`B.run(${JSON.stringify(key)})`));
    const tRun = async () => { const t0 = performance.now(); await t.run(); return performance.now() - t0; };
    for (let i = 0; i < warmup; i++) { await wRun(); await tRun(); }
    const w = [], f = [];
    for (let i = 0; i < reps; i++) { w.push(await wRun()); f.push(await tRun()); }
    t.dispose();
    // c.profile: one more run with every draw timed (after the timed runs: it slows them)
    const profile = c.profile ? await pyJSON(`B.profile(${JSON.stringify(key)})`) : undefined;
    await py(`B.drop(${JSON.stringify(key)})`);
    const ws = stats(w), ts = stats(f);
    return { id: c.id, webdl: ws, tfjs: ts, ratio: ts.median / ws.median, profile };
  }

  // kind "conformance" (vs "reference"): tests/opinfo.py's cases on WebGL against the numpy
  // backend in this page, for GPUs the test suite doesn't run on; ratio = cases passed / all
  async function conformanceCase(c) {
    const t0 = performance.now();
    const conf = await pyJSON("__import__('webdl.apps.bench').apps.bench.conformance()");
    const ms = performance.now() - t0;
    const one = { median: ms, min: ms, max: ms, n: 1 };
    return { id: c.id, webdl: one, tfjs: one, ratio: conf.pass / conf.cases, conformance: conf };
  }

  // Group "models": webdl on WebGL against webdl's own numpy backend (device="cpu") in this
  // page, one training step of a program of vendor/programs (tests/programs, copied by set-up),
  // same weights, alternated after warm-up; ratio = cpu ms / webgl ms (> 1: WebGL faster)
  // Group "webgpu": a case on webdl's WebGPU backend (c.device) against the same case on its
  // WebGL backend (c.vs) in this page, alternated; ratio = webgl ms / webgpu ms.
  async function benchVsCpu(c, reps, warmup) {
    const key = "m" + nextKey++;
    const k = JSON.stringify(key);
    const dev = c.device || "webgl", vs = c.vs;
    const at = (d) => JSON.stringify(key + ":" + d);
    if (c.group === "models") {
      await py(`import webdl.apps.bench as B\nB.setup_model(${k}, ${JSON.stringify(c.args.name)})`);
    } else {
      for (const d of [dev, vs]) {
        await py(`import webdl.apps.bench as B\nB.setup_on(${at(d)}, ${JSON.stringify(c.kind)}, ${JSON.stringify(d)}, **${JSON.stringify(c.args)})`);
      }
    }
    const timed = (d) => async () => Number(await py(`B.run(${at(d)})`));
    const gRun = timed(dev), cRun = timed(vs);
    for (let i = 0; i < warmup; i++) { await gRun(); await cRun(); }
    const g = [], other = [];
    for (let i = 0; i < reps; i++) { g.push(await gRun()); other.push(await cRun()); }
    const draws = Number(await py(`B.draws(${at(dev)}, ${JSON.stringify(dev)})`));
    await py(`B.drop(${at(dev)}); B.drop(${at(vs)})`);
    const gs = stats(g), cs = stats(other);
    return { id: c.id, group: c.group, webdl: gs, [vs]: cs, ratio: cs.median / gs.median, draws };
  }

  // Cold: model load and first inference in this fresh page, shader compilation included
  async function cold(which, model = "esrgan-slim", scale = 2, size = 128) {
    if (which === "tfjs") {
      await tf.setBackend("webgl");
      await tf.ready();
      const t0 = performance.now();
      const m = await tf.loadLayersModel(`vendor/models/${model}/x${scale}/model.json`);
      const x = tf.randomUniform([1, size, size, 3], 0, 255);
      await readback(m.predict(x));
      return performance.now() - t0;
    }
    await webdl.ready;
    const t0 = performance.now();
    await py(`import webdl.apps.superres as sr, numpy as np\nup = sr.load(${JSON.stringify(model)}, ${scale})\n` +
             `up._run(np.zeros((${size}, ${size}, 3), np.uint8)); None`);
    return performance.now() - t0;
  }

  // the same chains of small adds as webdl.apps.bench.overhead(): one readback at the end, the
  // median of `reps` after one for warm-up
  async function tfjsOverhead(n = 2000, reps = 5) {
    const x = tf.ones([4]);
    const times = [];
    for (let r = 0; r <= reps; r++) {
      const t0 = performance.now();
      const y = tf.tidy(() => {
        let y = x.add(1);
        for (let i = 0; i < n; i++) y = y.add(x);
        return y;
      });
      await readback(y);
      times.push((performance.now() - t0) / n * 1000);
    }
    x.dispose();
    return stats(times.slice(1)).median;
  }

  async function run({ cases, reps = 5, warmup = 1 }) {
    await tf.setBackend("webgl");
    await tf.ready();
    await webdl.ready;
    const results = [];
    for (const c of cases) {
      document.getElementById("status").textContent = "running " + c.id;
      const one = c.vs === "reference" ? conformanceCase : c.vs ? benchVsCpu : benchCase;
      results.push(await one(c, c.reps || reps, c.warmup ?? warmup));
      document.getElementById("out").textContent = JSON.stringify(results, null, 1);
    }
    const overhead = Number(await py("import webdl.apps.bench as B\nB.overhead()"));
    const drawCost = await pyJSON("B.draw_cost()");
    const tfOverhead = await tfjsOverhead();
    document.getElementById("status").textContent = "done";
    return {
      results, overheadUs: overhead, tfjsOverheadUs: tfOverhead, drawCost, tfjs: { version: tf.version.tfjs, backend: tf.getBackend() },
      renderer: (await webdl.ready).renderer,
    };
  }

  window.bench = { run, cold };
  const q = new URLSearchParams(location.search);
  document.getElementById("status").textContent = q.get("cold") ? "cold run" : "ready";
})();
