// scatter_add into zeros (a port of shaders/scatter_add.glsl): out[c] = sum over t of
// src[c'] where c' = c with c'[axis] = t and index[c'] == c[axis]; src and index share one
// shape (u_idx_shape), each read in place at offset + dot(c', strides).
var<storage, read> u_a: array<f32>;     // src
var<private> u_a_st: array<i32, 6>;
var<private> u_a_off: i32;
var<storage, read> u_b: array<f32>;     // index
var<private> u_b_st: array<i32, 6>;
var<private> u_b_off: i32;
var<private> u_idx_shape: array<i32, 6>;
var<private> u_axis: i32;

fn kernel(i: i32) -> f32 {
    let c = unravel(i);
    let j = c[u_axis];
    for (var d = 0; d < 6; d++) {
        if (d != u_axis && c[d] >= u_idx_shape[d]) { return 0.0; }
    }
    var acc = 0.0;
    var a = u_a_off + dot6(c, u_a_st) - j * u_a_st[u_axis];
    var b = u_b_off + dot6(c, u_b_st) - j * u_b_st[u_axis];
    for (var t = 0; t < u_idx_shape[u_axis]; t++) {
        if (i32(u_b[b]) == j) { acc += u_a[a]; }
        a += u_a_st[u_axis];
        b += u_b_st[u_axis];
    }
    return acc;
}
