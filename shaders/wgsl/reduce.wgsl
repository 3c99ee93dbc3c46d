// sum / amax / amin / argmax / argmin (a port of shaders/reduce.glsl; the same uniforms, so
// the WebGL backend's Python side of the reduction runs both). Output element i reads the
// input at u_off + dot(i unravelled over the kept dims u_keep, u_keep_st) + k1 * u_r1.y +
// k2 * u_r2.y for k1 < u_r1.x, k2 < u_r2.x; with u_split > 1, output i is the partial
// result of chunk i % u_split (a further pass combines the chunks). `const OP` picks the op.
// The input is read through value_at(position), which the appended code defines: the buffer
// u_a (webgpu/__init__.py's READ_BUFFER), or an elementwise chain computed where it is read
// (codegen.generate's value mode: no pass of its own, the chain's inputs read instead).
const SUM: i32 = 0;
const MAX: i32 = 1;
const MIN: i32 = 2;
const ARGMAX: i32 = 3;
const ARGMIN: i32 = 4;
var<private> u_keep: array<i32, 6>;
var<private> u_keep_st: array<i32, 6>;
var<private> u_off: i32;
var<private> u_r1: vec2<i32>;      // outer group: count, stride
var<private> u_r2: vec2<i32>;      // inner group: count, stride
var<private> u_split: i32;

// output i's chunk: (the input offset of its kept position, its first position, the end)
fn chunk(i0: i32) -> vec3<i32> {
    var i = i0;
    let total = u_r1.x * u_r2.x;
    let len = (total + u_split - 1) / u_split;
    let q0 = (i % u_split) * len;
    let q1 = min(q0 + len, total);
    i = i / u_split;
    var base = u_off;
    for (var d = 5; d >= 0; d--) {
        base += (i % u_keep[d]) * u_keep_st[d];
        i = i / u_keep[d];
    }
    return vec3<i32>(base, q0, q1);
}

fn kernel(i: i32) -> f32 {
    let ch = chunk(i);
    let base = ch.x;
    let q0 = ch.y;
    let q1 = ch.z;
    var k2 = q0 % u_r2.x;
    var row = base + (q0 / u_r2.x) * u_r1.y;
    if (OP == SUM) {
        var acc = 0.0;
        for (var q = q0; q < q1; q++) {
            acc += value_at(row + k2 * u_r2.y);
            k2++;
            if (k2 == u_r2.x) { k2 = 0; row += u_r1.y; }
        }
        return acc;
    }
    var best = value_at(row + k2 * u_r2.y);
    var at = q0;
    for (var q = q0 + 1; q < q1; q++) {
        k2++;
        if (k2 == u_r2.x) { k2 = 0; row += u_r1.y; }
        let v = value_at(row + k2 * u_r2.y);
        if (isnan(best)) { break; }                 // the first NaN wins, as in PyTorch
        if (OP == MAX || OP == ARGMAX) {
            if (isnan(v) || v > best) { best = v; at = q; }
        } else {
            if (isnan(v) || v < best) { best = v; at = q; }
        }
    }
    if (OP == ARGMAX || OP == ARGMIN) { return f32(at); }
    return best;
}
