// Row statistics for layer_norm and batch norm (a port of shaders/layernorm.glsl: the same
// uniforms, inputs and passes, so the WebGL backend's Python side runs both): one
// invocation per row of u_runs runs of u_d contiguous elements, read once, the sums taken
// about the row's first value. `kernels` gives the row's (mean, rstd, var, 0) in PASS 0
// (layer_norm writes the first two outputs, batch norm three) and (mean, rstd, a, c) in
// PASS 1 (the backward; WEIGHT: gw = g * w). Long rows on hardware adapters take
// layernorm_coop.wgsl's main() instead, a workgroup per row, which ends in `finish` too.
var<private> u_d: i32;
var<private> u_runs: i32;
var<private> u_runstride: i32;
var<private> u_rowstride: i32;
var<private> u_eps: f32;
var<storage, read> u_x: array<f32>;
var<storage, read> u_g: array<f32>;
var<storage, read> u_w: array<f32>;

fn gw(at: i32, j: i32) -> f32 {
    if (WEIGHT == 1) { return u_g[at + j] * u_w[j]; }
    return u_g[at + j];
}

// what value j of the run at `at` adds to the sums about k: x - k, (x - k)^2 and, in PASS 1,
// gw and gw (x - k)
fn terms(at: i32, j: i32, k: f32) -> vec4<f32> {
    let d = u_x[at + j] - k;
    var g = 0.0;
    if (PASS == 1) { g = gw(at, j); }
    return vec4<f32>(d, d * d, g, g * d);
}

fn kernels(i: i32) -> vec4<f32> {
    let base = i * u_rowstride;
    let k = u_x[base];
    var acc = vec4<f32>(0.0);
    for (var o = 0; o < u_runs; o++) {
        let at = base + o * u_runstride;
        for (var j = 0; j < u_d; j++) {
            acc += terms(at, j, k);
        }
    }
    return finish(k, acc.xy, acc.zw, f32(u_d * u_runs));
}

// a row's outputs from its n values' sums about k (its first value): s of x - k and
// (x - k)^2, t (PASS 1) of gw and gw (x - k)
fn finish(k: f32, s0: vec2<f32>, t0: vec2<f32>, n: f32) -> vec4<f32> {
    let s = s0 / n;
    let var_ = max(s.y - s.x * s.x, 0.0);
    let rstd = 1.0 / sqrt(var_ + u_eps);
    if (PASS == 0) { return vec4<f32>(k + s.x, rstd, var_, 0.0); }
    let t = t0 / n;
    return vec4<f32>(k + s.x, rstd, t.x, (t.y - s.x * t.x) * rstd);
}
