// softmax / log_softmax over the last dim with the scale and masks fused in, and its
// backward (a port of shaders/softmax.glsl: the same uniforms, inputs and passes, so the
// WebGL backend's Python side runs both). `const PASS` picks the pass; MASK, CAUSAL, LOG and
// SAFE as there (every one given).
//   PASS 0 (one invocation per row): lse, in one online walk; PASS 1 (per element): the
//   output; PASS 2 (per row): r = sum(g * y) (LOG: sum(g)); PASS 3 (per element): dx.
var<private> u_xshape: array<i32, 6>;
var<private> u_mst: array<i32, 6>;
var<private> u_scale: f32;
var<storage, read> u_a: array<f32>;     // PASS 0, 1: x; PASS 2, 3: g
var<storage, read> u_b: array<f32>;     // PASS 0, 1: the mask; PASS 2, 3: y
var<storage, read> u_c: array<f32>;     // PASS 1: lse; PASS 3: r

fn safe_exp(x: f32) -> f32 {
    if (isnan(x)) { return x; }
    if (x > 88.7228) { return inf(); }
    if (x < -103.9721) { return 0.0; }
    return exp(x);
}

// the masked, scaled score at position j of row `row` (whose mask offset is moff)
fn score(row: i32, j: i32, moff: i32) -> f32 {
    var s = u_a[row * u_xshape[5] + j] * u_scale;
    if (MASK == 1) {
        if (u_b[moff + j * u_mst[5]] == 0.0) { s = -inf(); }
    } else if (MASK == 2) {
        s += u_b[moff + j * u_mst[5]];
    }
    if (CAUSAL == 1 && j > row % u_xshape[4]) { s = -inf(); }
    return s;
}

fn mask_offset(row0: i32) -> i32 {
    var row = row0;
    var off = 0;
    for (var d = 4; d >= 0; d--) {
        off += (row % u_xshape[d]) * u_mst[d];
        row = row / u_xshape[d];
    }
    return off;
}

fn kernel(i: i32) -> f32 {
    let n = u_xshape[5];
    if (PASS == 0) {
        let moff = mask_offset(i);
        var m = -inf();
        var l = 0.0;
        var bad = false;
        var last = n;
        if (CAUSAL == 1) { last = min(n, i % u_xshape[4] + 1); }
        for (var j = 0; j < last; j++) {
            let s = score(i, j, moff);
            if (isnan(s) || (isinf(s) && s > 0.0)) {
                bad = true;
            } else if (s > m) {
                l = l * safe_exp(m - s) + 1.0;
                m = s;
            } else if (!isinf(s)) {
                l += safe_exp(s - m);
            }
        }
        if (bad) { return nan(); }
        if (isinf(m)) { return -inf(); }
        return m + log(l);
    }
    if (PASS == 1) {
        let row = i / n;
        let s = score(row, i - row * n, mask_offset(row));
        let lse = u_c[row];
        if (SAFE == 1 && isinf(lse) && lse < 0.0) { return 0.0; }
        if (LOG == 1) { return s - lse; }
        return safe_exp(s - lse);
    }
    if (PASS == 2) {
        var r = 0.0;
        for (var j = i * n; j < i * n + n; j++) {
            if (LOG == 1) { r += u_a[j]; } else { r += u_a[j] * u_b[j]; }
        }
        return r;
    }
    let g = u_a[i];
    let y = u_b[i];
    let r = u_c[i / n];
    if (LOG == 1) {
        // a dropped position (y = -inf) takes no gradient, as after PyTorch's masked_fill
        if (isinf(y) && y < 0.0) { return 0.0; }
        return u_scale * (g - safe_exp(y) * r);
    }
    return u_scale * y * (g - r);
}
