// Batched matmul, tiled in workgroup memory: a workgroup of 16x16 invocations computes a
// 64x64 block of one output matrix, each invocation a 4x4 sub-block, over K in steps of 16
// (A's 64x16 and B's 16x64 tiles staged in workgroup memory, each value read once from the
// storage buffer per workgroup). Operands are read in place at offset + batch + row and
// column strides (a transposed weight needs no copy); up to 4 batch dims, broadcast ones
// with stride 0. Dispatched as (ceil(m / 64), ceil(n / 64), batch).
var<private> u_nkm: vec3<i32>;            // n, k, m
var<private> u_batch: array<i32, 4>;      // the output's batch dims
var<private> u_a_st: array<i32, 6>;       // 4 batch strides, row, column
var<private> u_b_st: array<i32, 6>;
var<private> u_a_off: i32;
var<private> u_b_off: i32;
var<storage, read> u_a: array<f32>;
var<storage, read> u_b: array<f32>;
var<workgroup> ta: array<array<f32, 64>, 16>;    // [k][row]
var<workgroup> tb: array<array<f32, 64>, 16>;    // [k][column]

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    load();
    let n = u_nkm.x;
    let k = W(at_u_nkm + 1);    // uniform: the loop holds barriers
    let m = u_nkm.z;
    var z = i32(wg.z);
    var oa = u_a_off;
    var ob = u_b_off;
    for (var d = 3; d >= 0; d--) {
        let c = z % u_batch[d];
        z = z / u_batch[d];
        oa += c * u_a_st[d];
        ob += c * u_b_st[d];
    }
    let row0 = i32(wg.y) * 64;
    let col0 = i32(wg.x) * 64;
    let tx = i32(lid.x);
    let ty = i32(lid.y);
    let t = ty * 16 + tx;
    var acc: array<array<f32, 4>, 4>;
    for (var k0 = 0; k0 < k; k0 += 16) {
        for (var j = 0; j < 4; j++) {
            let e = t + j * 256;
            let r = e / 16;
            let ka = e % 16;
            var v = 0.0;
            if (row0 + r < n && k0 + ka < k) {
                v = u_a[oa + (row0 + r) * u_a_st[4] + (k0 + ka) * u_a_st[5]];
            }
            ta[ka][r] = v;
            let kb = e / 64;
            let c = e % 64;
            var w = 0.0;
            if (k0 + kb < k && col0 + c < m) {
                w = u_b[ob + (k0 + kb) * u_b_st[4] + (col0 + c) * u_b_st[5]];
            }
            tb[kb][c] = w;
        }
        workgroupBarrier();
        for (var kk = 0; kk < 16; kk++) {
            let a = vec4<f32>(ta[kk][ty * 4], ta[kk][ty * 4 + 1], ta[kk][ty * 4 + 2], ta[kk][ty * 4 + 3]);
            let b = vec4<f32>(tb[kk][tx * 4], tb[kk][tx * 4 + 1], tb[kk][tx * 4 + 2], tb[kk][tx * 4 + 3]);
            for (var i = 0; i < 4; i++) {
                acc[i][0] += a[i] * b.x;
                acc[i][1] += a[i] * b.y;
                acc[i][2] += a[i] * b.z;
                acc[i][3] += a[i] * b.w;
            }
        }
        workgroupBarrier();
    }
    let base = i32(wg.z) * n * m;
    for (var i = 0; i < 4; i++) {
        let r = row0 + ty * 4 + i;
        for (var j = 0; j < 4; j++) {
            let c = col0 + tx * 4 + j;
            if (r < n && c < m) { out0[base + r * m + c] = acc[i][j]; }
        }
    }
}
