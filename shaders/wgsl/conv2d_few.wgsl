// Convolution with few output channels (groups 1, O <= 16): each output position's O
// channels at once, so each input tap is read once and used O times. A workgroup takes P
// positions, and S invocations share each one, each summing every S-th tap (the slices are
// added in workgroup memory at the end): the invocations number positions x S, enough to
// keep a large GPU busy, where the tiled product ran a 16-row block mostly past its few rows
// in few workgroups (on an H200 it took 37% of esrgan-slim's GPU time for 3% of its
// multiply-adds), and an invocation per position alone waited on its loads. The weight is
// read alike by every invocation of a slice (a broadcast). OC (O rounded up to 4) and P (a
// power of two: 32, fewer where there are few positions and many taps -- a weight's
// gradient) are consts from Python; S = 256 / P. The operands are conv2d_operands.wgsl's
// (appended by Python, as for matmul.wgsl), and so is `store(index, value)`: the value
// itself, or the epilogue's chain (bias, activation).
var<private> u_y: vec4<i32>;            // O, C * KH * KW, Ho * Wo, positions (N * Ho * Wo)
const S: i32 = 256 / P;
var<workgroup> part: array<vec4<f32>, S * (OC / 4) * P>;     // [slice][channels / 4][position]

@compute @workgroup_size(P, S)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
    load();
    let pi = i32(lid.x);
    let s = i32(lid.y);
    let p0 = i32(wg.x + wg.y * nw.x) * P;       // gpu.js splits x into x * y past the limit
    let hw = u_y.z;
    let p = p0 + pi;
    let z = p / hw;
    let col = p - z * hw;
    var acc: array<vec4<f32>, OC / 4>;
    if (p < u_y.w) {
        let offs = offsets(z);
        let q = b_col(col);
        var rows: array<i32, OC>;               // each channel's weight row (the last repeated)
        for (var o = 0; o < OC; o++) {
            rows[o] = min(o, u_y.x - 1);
        }
        for (var k = s; k < u_y.y; k += S) {
            let v = b_at(offs.y, k, q);
            for (var j = 0; j < OC / 4; j++) {
                acc[j] += v * vec4<f32>(a_at(offs.x, rows[4 * j], k), a_at(offs.x, rows[4 * j + 1], k),
                                        a_at(offs.x, rows[4 * j + 2], k), a_at(offs.x, rows[4 * j + 3], k));
            }
        }
    }
    for (var j = 0; j < OC / 4; j++) {
        part[(s * (OC / 4) + j) * P + pi] = acc[j];
    }
    workgroupBarrier();
    for (var e = s * P + pi; e < P * u_y.x; e += P * S) {    // (channel, position) pairs
        let o = e / P;
        let pj = e - o * P;
        let pp = p0 + pj;
        if (pp < u_y.w) {
            var sum = 0.0;
            for (var t = 0; t < S; t++) {
                sum += part[(t * (OC / 4) + o / 4) * P + pj][o % 4];
            }
            let zz = pp / hw;
            let i = (zz * u_y.x + o) * hw + pp - zz * hw;
            out0[i] = store(i, sum);
        }
    }
}
