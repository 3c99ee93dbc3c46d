// The operands of a batched matmul for matmul.wgsl: A and B read in place at offset + batch
// + row and column strides (a transposed weight needs no copy); up to 4 batch dims,
// broadcast ones with stride 0.
var<private> u_batch: array<i32, 4>;      // the output's batch dims
var<private> u_a_st: array<i32, 6>;       // 4 batch strides, row, column
var<private> u_b_st: array<i32, 6>;
var<private> u_a_off: i32;
var<private> u_b_off: i32;
var<storage, read> u_a: array<f32>;
var<storage, read> u_b: array<f32>;

fn offsets(z0: i32) -> vec2<i32> {
    var z = z0;
    var o = vec2<i32>(u_a_off, u_b_off);
    for (var d = 3; d >= 0; d--) {
        let c = z % u_batch[d];
        z = z / u_batch[d];
        o += vec2<i32>(c * u_a_st[d], c * u_b_st[d]);
    }
    return o;
}

fn a_at(o: i32, r: i32, k: i32) -> f32 { return u_a[o + r * u_a_st[4] + k * u_a_st[5]]; }
fn b_col(c: i32) -> vec2<i32> { return vec2<i32>(c * u_b_st[5], 0); }
fn b_at(o: i32, k: i32, q: vec2<i32>) -> f32 { return u_b[o + k * u_b_st[4] + q.x]; }
