// webdl's WebGL backend (in its worker) and TensorFlow.js 4.22's WebGL backend (this page)
// on the same work, alternating, after warm-up, each synchronised by reading its result back.
"use strict";
(function () {
  // TensorFlow.js runs on the same kind of GPU backend as webdl: its WebGPU backend
  // (@tensorflow/tfjs-backend-webgpu) where webdl's default device is webgpu (a hardware
  // adapter, or ?device=webgpu), its WebGL backend otherwise; ?tfjs=webgl|webgpu forces one
  const tfjsBackend = async () => new URLSearchParams(location.search).get("tfjs") ||
    ((await webdl.ready).backend === "webgpu" ? "webgpu" : "webgl");
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
      const work = () => tf.tidy(() => m.predict(x).clipByValue(0, 255));
      return { run: () => readback(work()), work, dispose: () => { x.dispose(); m.dispose(); } };
    },
    async sum({ rows = 1, n = 1 << 24 }) {
      const x = rnd([rows, n / rows]);
      return { run: () => readback(tf.sum(x, 1)), dispose: () => x.dispose() };
    },
    async transfer({ n = 1 << 20, up = 0 }) {
      const x = rnd([n]), a = new Float32Array(n).fill(1);
      return {
        run: async () => { if (up) await readback(tf.tidy(() => tf.tensor(a).sum())); else await readback(tf.mul(x, 2)); },
        dispose: () => x.dispose(),
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
    // softmax, log-softmax, layer norm and cross-entropy of one (rows, cols) input, their
    // means summed and read back (webdl.apps.bench's "softmax")
    async softmax({ rows = 2048, cols = 1024 }) {
      const x = rnd([rows, cols]), g = tf.ones([cols]), b = tf.zeros([cols]);
      const labels = tf.randomUniform([rows], 0, cols, "int32", 1);
      const y = tf.oneHot(labels, cols);
      return {
        run: () => readback(tf.tidy(() => tf.softmax(x).mean().add(tf.logSoftmax(x).mean())
          .add(layerNorm(x, g, b).mean()).add(tf.losses.softmaxCrossEntropy(y, x)))),
        dispose: () => tf.dispose([x, g, b, labels, y]),
      };
    },
    // attention over (1, heads, seq, dim) and its gradients: d sum(attention(q, k, v)^2)
    // by q, k and v, their sums read back (webdl.apps.bench's "attention")
    async attention({ heads = 8, seq = 128, dim = 64 }) {
      const [q, k, v] = [0, 1, 2].map(() => rnd([1, heads, seq, dim]));
      const grads = tf.grads((a, c, d) => attention(a, c, d).square().sum());
      return {
        run: () => readback(tf.tidy(() => {
          const [gq, gk, gv] = grads([q, k, v]);
          return gq.sum().add(gk.sum()).add(gv.sum());
        })),
        dispose: () => tf.dispose([q, k, v]),
      };
    },
  };

  // --- sequence models (issue #13): the same work as webdl.apps.bench's lstm, transformer
  // and generate cases, written with tf.layers where TensorFlow.js has the layer and with tf
  // ops where it has not (a transformer). Their variables are the only ones alive while a
  // case runs (cases run one at a time), so dispose() drops every variable.
  const variable = (shape, scale) => tf.variable(scale === 0 ? tf.zeros(shape) : scale === 1 &&
    shape.length === 1 ? tf.ones(shape) : rnd(shape, scale));
  const layerNorm = (x, g, b) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return x.sub(mean).mul(tf.rsqrt(variance.add(1e-5))).mul(g).add(b);
  };
  const lnParams = (d) => ({ g: variable([d], 1), b: variable([d], 0) });
  const linParams = (i, o) => ({ w: variable([i, o], 1 / Math.sqrt(i)), b: variable([o], 0) });
  const linear = (x, p) => x.matMul(p.w).add(p.b);
  // (B*T, D) -> (B, H, T, D/H)
  const splitHeads = (x, b, t, h) => x.reshape([b, t, h, -1]).transpose([0, 2, 1, 3]);
  const mergeHeads = (x, b, t) => x.transpose([0, 2, 1, 3]).reshape([b * t, -1]);
  function attention(q, k, v, mask) {
    let s = tf.matMul(q, k, false, true).mul(1 / Math.sqrt(q.shape[3]));
    if (mask) s = tf.where(mask, s, tf.fill(s.shape, -1e30));
    return tf.matMul(tf.softmax(s), v);
  }
  const gelu = (x) => x.mul(tf.erf(x.mul(Math.SQRT1_2)).add(1)).mul(0.5);
  async function minimizeStep(lossFn) {
    const opt = tf.train.adam(1e-3);
    return async () => readback(opt.minimize(lossFn, true));
  }
  const TF_SEQUENCE = {
    async lstm({ batch = 32, seq = 64, hidden = 256, inp = 64, layers = 2 }) {
      const model = tf.sequential();
      for (let l = 0; l < layers; l++) {
        model.add(tf.layers.lstm({ units: hidden, returnSequences: true, recurrentActivation: "sigmoid",
                                   ...(l === 0 ? { inputShape: [seq, inp] } : {}) }));
      }
      model.add(tf.layers.dense({ units: inp }));
      const x = rnd([batch, seq, inp]), y = rnd([batch, seq, inp]);
      const run = await minimizeStep(() => tf.losses.meanSquaredError(y, model.apply(x, { training: true })));
      return { run, dispose: () => { tf.dispose([x, y]); model.dispose(); } };
    },
    async transformer({ batch = 16, seq = 64, d_model = 128, heads = 4, layers = 4, ffn = 512 }) {
      const D = d_model, L = [];
      for (let l = 0; l < layers; l++) {
        L.push({ q: linParams(D, D), k: linParams(D, D), v: linParams(D, D), o: linParams(D, D),
                 n1: lnParams(D), f1: linParams(D, ffn), f2: linParams(ffn, D), n2: lnParams(D) });
      }
      const x = rnd([batch * seq, D]), y = rnd([batch * seq, D]);
      const forward = () => {   // post-norm encoder layers, as nn.TransformerEncoderLayer
        let h = x;
        for (const p of L) {
          const [q, k, v] = [p.q, p.k, p.v].map((w) => splitHeads(linear(h, w), batch, seq, heads));
          h = layerNorm(h.add(linear(mergeHeads(attention(q, k, v), batch, seq), p.o)), p.n1.g, p.n1.b);
          h = layerNorm(h.add(linear(linear(h, p.f1).relu(), p.f2)), p.n2.g, p.n2.b);
        }
        return h;
      };
      const run = await minimizeStep(() => tf.losses.meanSquaredError(y, forward()));
      return { run, dispose: () => { tf.dispose([x, y]); tf.disposeVariables(); } };
    },
    async generate({ tokens = 200, vocab = 65, d = 128, heads = 4, layers = 4, context = 64 }) {
      const tok = variable([vocab, d], 1), pos = variable([context, d], 1), B = [];
      for (let l = 0; l < layers; l++) {
        B.push({ n1: lnParams(d), qkv: linParams(d, 3 * d), proj: linParams(d, d), n2: lnParams(d),
                 f1: linParams(d, 4 * d), f2: linParams(4 * d, d) });
      }
      const nf = lnParams(d), head = linParams(d, vocab);
      const causal = tf.linalg.bandPart(tf.ones([context, context], "bool"), -1, 0);
      const forward = (idx) => {   // (1, T) int32 -> logits (T, vocab); pre-norm blocks
        const t = idx.shape[1];
        const mask = causal.slice([0, 0], [t, t]);
        let x = tf.gather(tok, idx.reshape([-1])).add(pos.slice([0, 0], [t, d]));
        for (const p of B) {
          const [q, k, v] = tf.split(linear(layerNorm(x, p.n1.g, p.n1.b), p.qkv), 3, -1)
            .map((u) => splitHeads(u, 1, t, heads));
          x = x.add(linear(mergeHeads(attention(q, k, v, mask), 1, t), p.proj));
          x = x.add(linear(gelu(linear(layerNorm(x, p.n2.g, p.n2.b), p.f1)), p.f2));
        }
        return linear(layerNorm(x, nf.g, nf.b), head);
      };
      const run = async () => {   // greedy; the tokens stay on the GPU, one readback at the end
        let idx = tf.zeros([1, 1], "int32");
        for (let i = 0; i < tokens; i++) {
          const next = tf.tidy(() => {
            const n = idx.shape[1], ctx = n > context ? idx.slice([0, n - context], [1, context]) : idx;
            const logits = forward(ctx);
            return tf.concat([idx, logits.slice([ctx.shape[1] - 1, 0], [1, vocab]).argMax(-1).reshape([1, 1])], 1);
          });
          idx.dispose();
          idx = next;
        }
        await readback(idx);
      };
      return { run, dispose: () => { causal.dispose(); tf.disposeVariables(); } };
    },
  };
  Object.assign(TF, TF_SEQUENCE);

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

  // TensorFlow.js's kernels in one run of work() (tf.profile; GPU times where its backend
  // has timer queries): the top 12 by time as [kernel, runs, ms], as B.kernel_profile
  async function tfKernelProfile(work, top = 12) {
    const info = await tf.profile(work);
    tf.dispose(info.result);
    const rows = {};
    for (const k of info.kernels) {
      const r = rows[k.name] || (rows[k.name] = [k.name, 0, 0]);
      r[1]++;
      r[2] += typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : NaN;
    }
    return Object.values(rows).sort((a, b) => b[2] - a[2]).slice(0, top);
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
    // per-op overhead of the webdl side (sequence cases): ops, draws, host us/op, host ms, ms
    const profile = c.profile ? await pyJSON(`list(B.profile(${JSON.stringify(key)}))`) : undefined;
    // c.kernels: one more run with every draw timed (after the timed runs: it slows them)
    const kernels = c.kernels ? await pyJSON(`B.kernel_profile(${JSON.stringify(key)})`) : undefined;
    // and TensorFlow.js's kernels where the case gives its work as a function (tf.profile)
    const tfKernels = c.kernels && t.work ? await tfKernelProfile(t.work) : undefined;
    t.dispose();
    await py(`B.drop(${JSON.stringify(key)})`);
    const ws = stats(w), ts = stats(f);
    return { id: c.id, webdl: ws, tfjs: ts, ratio: ts.median / ws.median, profile, kernels, tfKernels };
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
    // the models group runs on the page's GPU device (webgpu where it is the default)
    const gpu = (await webdl.ready).backend === "webgpu" ? "webgpu" : "webgl";
    const dev = c.device || (c.group === "models" ? gpu : "webgl"), vs = c.vs;
    const at = (d) => JSON.stringify(key + ":" + d);
    if (c.group === "models") {
      await py(`import webdl.apps.bench as B\nB.setup_model(${k}, ${JSON.stringify(c.args.name)}, ${JSON.stringify(dev)}, ${c.args.compiled ? "True" : "False"})`);
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
    // as benchCase: the GPU side's profile (host ms against the wait) and kernel times
    const profile = c.profile ? await pyJSON(`list(B.profile(${at(dev)}))`) : undefined;
    const kernels = c.kernels ? await pyJSON(`B.kernel_profile(${at(dev)})`) : undefined;
    await py(`B.drop(${at(dev)}); B.drop(${at(vs)})`);
    const gs = stats(g), cs = stats(other);
    return { id: c.id, group: c.group, device: dev, webdl: gs, [vs]: cs, ratio: cs.median / gs.median, draws, profile, kernels };
  }

  // Cold: model load and first inference in this fresh page, shader compilation included
  async function cold(which, model = "esrgan-slim", scale = 2, size = 128) {
    if (which === "tfjs") {
      await setTfBackend();
      const t0 = performance.now();
      const m = await tf.loadLayersModel(`vendor/models/${model}/x${scale}/model.json`);
      const t1 = performance.now();
      const x = tf.randomUniform([1, size, size, 3], 0, 255);
      await readback(m.predict(x));
      const t2 = performance.now();
      window.benchColdDetail = { loadMs: t1 - t0, firstMs: t2 - t1 };
      return t2 - t0;
    }
    await webdl.ready;
    const t0 = performance.now();
    await py(`import time as _t\n_c = [_t.perf_counter()]\nimport webdl.apps.superres as sr, numpy as np\n` +
             `_c.append(_t.perf_counter())\nup = sr.load(${JSON.stringify(model)}, ${scale})\n_c.append(_t.perf_counter())\n` +
             `up._run(np.zeros((${size}, ${size}, 3), np.uint8)); _c.append(_t.perf_counter()); None`);
    const ms = performance.now() - t0;
    // where it went (after the timed part): Python's phases, the bridge's counters since start
    window.benchColdDetail = await pyJSON("dict(importMs=(_c[1] - _c[0]) * 1e3, loadMs=(_c[2] - _c[1]) * 1e3, " +
      "firstMs=(_c[3] - _c[2]) * 1e3, stats=__import__(\"webdl\").memory_stats())").catch((e) => ({ error: String(e) }));
    return ms;
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

  async function setTfBackend() {
    const name = await tfjsBackend();
    if (!(await tf.setBackend(name))) throw new Error(`TensorFlow.js's ${name} backend did not start`);
    await tf.ready();
  }

  async function run({ cases, reps = 5, warmup = 1 }) {
    await setTfBackend();
    const info = await webdl.ready;
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
    const kernels = await pyJSON("B.kernel_choices()");
    document.getElementById("status").textContent = "done";
    return {
      results, overheadUs: overhead, tfjsOverheadUs: tfOverhead, drawCost, tfjs: { version: tf.version.tfjs, backend: tf.getBackend() },
      renderer: info.renderer, device: info.backend, adapter: info.webgpu, kernels,
    };
  }

  window.bench = { run, cold };
  const q = new URLSearchParams(location.search);
  document.getElementById("status").textContent = q.get("cold") ? "cold run" : "ready";
})();
