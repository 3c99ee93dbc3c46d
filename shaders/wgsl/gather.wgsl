// gather: out[c] = x[c with c[axis] = index[c]] (a port of shaders/gather.glsl). Both read in
// place (views: an expanded index, a permuted x) at offset + dot(coordinates, strides).
var<storage, read> u_a: array<f32>;     // x
var<private> u_a_st: array<i32, 6>;
var<private> u_a_off: i32;
var<storage, read> u_b: array<f32>;     // index, the output's shape
var<private> u_b_st: array<i32, 6>;
var<private> u_b_off: i32;
var<private> u_axis: i32;

fn kernel(i: i32) -> f32 {
    var c = unravel(i);
    let j = i32(u_b[u_b_off + dot6(c, u_b_st)]);
    c[u_axis] = j;
    return u_a[u_a_off + dot6(c, u_a_st)];
}
