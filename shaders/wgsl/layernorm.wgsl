// layer_norm's row statistics (a port of shaders/layernorm.glsl: the same uniforms, inputs
// and passes, so the WebGL backend's Python side runs both): one invocation per row of u_d
// elements, read once, the sums taken about the row's first value. `kernels` gives the
// row's (mean, rstd, a, c): PASS 0 writes the first two outputs, PASS 1 (the backward;
// WEIGHT: gw = g * w) all four.
var<private> u_d: i32;
var<private> u_eps: f32;
var<storage, read> u_x: array<f32>;
var<storage, read> u_g: array<f32>;
var<storage, read> u_w: array<f32>;

fn gw(at: i32, j: i32) -> f32 {
    if (WEIGHT == 1) { return u_g[at] * u_w[j]; }
    return u_g[at];
}

fn kernels(i: i32) -> vec4<f32> {
    let base = i * u_d;
    let n = f32(u_d);
    let k = u_x[base];
    var s = vec2<f32>(0.0);     // sums of x - K, (x - K)^2
    var t = vec2<f32>(0.0);     // backward: of gw, gw (x - K)
    for (var j = 0; j < u_d; j++) {
        let d = u_x[base + j] - k;
        s += vec2<f32>(d, d * d);
        if (PASS == 1) {
            let g = gw(base + j, j);
            t += vec2<f32>(g, g * d);
        }
    }
    s = s / n;
    let rstd = 1.0 / sqrt(max(s.y - s.x * s.x, 0.0) + u_eps);
    t = t / n;
    return vec4<f32>(k + s.x, rstd, t.x, (t.y - s.x * t.x) * rstd);
}
