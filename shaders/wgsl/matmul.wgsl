// Tiled matrix product, the main() of two kernels: a workgroup of WX x WY = 256 invocations
// computes a TM x TN block (TM = 4 WY rows, TN = 4 WX columns) of one output matrix, each
// invocation a 4x4 sub-block, over K in steps of 16 (A's TM x 16 and B's 16 x TN tiles staged
// in workgroup memory, each value read once from the storage buffers per workgroup). WX and
// WY are consts from Python: 16 x 16 (64 x 64 blocks) in general, flatter blocks (16 x 256,
// 32 x 128) for products with few rows (a convolution's few output channels), which would
// otherwise compute a 64-row block mostly past the edge. Where the operands come from is the
// second half of the kernel, appended by Python: matmul_operands.wgsl (batched matmul,
// operands read in place through strides) or conv2d_operands.wgsl (convolution as a product
// with the image's patch matrix, its elements gathered from the image as the tile is loaded:
// no im2col buffer). Each defines `offsets(z)` (the operands' offsets for output matrix z),
// `a_at(offset, row, k)`, `b_col(column)` (what B's reads of a column share: computed once
// per invocation, before the K loop -- a convolution's patch position) and
// `b_at(offset, k, b_col(column))`. Python also appends `store(index, value)`, the value
// written at flat output index `index`: the value itself (matmul.PLAIN_STORE), or an
// elementwise chain over it (a convolution's bias and activation: conv.py's epilogue).
// Dispatched as (ceil(m / TN), ceil(n / TM), matrices).
var<private> u_nkm: vec3<i32>;            // n, k, m
const TM: i32 = 4 * WY;
const TN: i32 = 4 * WX;
var<workgroup> ta: array<array<f32, TM>, 16>;    // [k][row]
var<workgroup> tb: array<array<f32, TN>, 16>;    // [k][column]

@compute @workgroup_size(WX, WY)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    load();
    let n = u_nkm.x;
    let k = W(at_u_nkm + 1);    // uniform: the loop holds barriers
    let m = u_nkm.z;
    let offs = offsets(i32(wg.z));
    let oa = offs.x;
    let ob = offs.y;
    let row0 = i32(wg.y) * TM;
    let col0 = i32(wg.x) * TN;
    let tx = i32(lid.x);
    let ty = i32(lid.y);
    let t = ty * WX + tx;
    var acc: array<vec4<f32>, 4>;
    var bq: array<vec2<i32>, TN / 16>;           // b_col of the columns this one loads
    for (var j = 0; j < TN / 16; j++) {
        bq[j] = b_col(col0 + (t + j * 256) % TN);
    }
    for (var k0 = 0; k0 < k; k0 += 16) {
        for (var j = 0; j < TM / 16; j++) {      // TM x 16 values, 256 at a time
            let e = t + j * 256;
            let r = e / 16;
            let ka = e % 16;
            var v = 0.0;
            if (row0 + r < n && k0 + ka < k) {
                v = a_at(oa, row0 + r, k0 + ka);
            }
            ta[ka][r] = v;
        }
        for (var j = 0; j < TN / 16; j++) {      // 16 x TN values
            let e = t + j * 256;
            let kb = e / TN;
            let c = e % TN;
            var w = 0.0;
            if (k0 + kb < k && col0 + c < m) {
                w = b_at(ob, k0 + kb, bq[j]);
            }
            tb[kb][c] = w;
        }
        workgroupBarrier();
        for (var kk = 0; kk < 16; kk++) {
            let a = vec4<f32>(ta[kk][ty * 4], ta[kk][ty * 4 + 1], ta[kk][ty * 4 + 2], ta[kk][ty * 4 + 3]);
            let b = vec4<f32>(tb[kk][tx * 4], tb[kk][tx * 4 + 1], tb[kk][tx * 4 + 2], tb[kk][tx * 4 + 3]);
            acc[0] += a.x * b;
            acc[1] += a.y * b;
            acc[2] += a.z * b;
            acc[3] += a.w * b;
        }
        workgroupBarrier();
    }
    let base = i32(wg.z) * n * m;
    for (var i = 0; i < 4; i++) {
        let r = row0 + ty * 4 + i;
        for (var j = 0; j < 4; j++) {
            let c = col0 + tx * 4 + j;
            if (r < n && c < m) { out0[base + r * m + c] = store(base + r * m + c, acc[i][j]); }
        }
    }
}
