// Batched matmul without workgroup memory, for software adapters (SwiftShader runs each
// invocation as a coroutine, so a workgroup barrier costs more than re-reading operands from
// memory): each invocation computes a 4x4 block of outputs, reading four rows of A and four
// columns of B per step along K. Its operands' declarations and offsets() come from
// matmul_operands.wgsl, appended by Python (the same uniforms as matmul.wgsl). Dispatched as
// (ceil(m / 32), ceil(n / 32), batch) workgroups of 8x8.
var<private> u_nkm: vec3<i32>;            // n, k, m

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
    load();
    let n = u_nkm.x;
    let k = u_nkm.y;
    let m = u_nkm.z;
    let offs = offsets(i32(g.z));
    let oa = offs.x;
    let ob = offs.y;
    let r0 = i32(g.y) * 4;
    let c0 = i32(g.x) * 4;
    if (r0 >= n || c0 >= m) { return; }
    // rows and columns past the edge read the last one (no branch in the loop), not written
    var ra = vec4<i32>(0);
    var cb = vec4<i32>(0);
    for (var j = 0; j < 4; j++) {
        ra[j] = oa + min(r0 + j, n - 1) * u_a_st[4];
        cb[j] = ob + min(c0 + j, m - 1) * u_b_st[5];
    }
    let sa = u_a_st[5];
    let sb = u_b_st[4];
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var q = 0; q < k; q++) {
        let b = vec4<f32>(u_b[cb.x + q * sb], u_b[cb.y + q * sb], u_b[cb.z + q * sb], u_b[cb.w + q * sb]);
        acc0 += u_a[ra.x + q * sa] * b;
        acc1 += u_a[ra.y + q * sa] * b;
        acc2 += u_a[ra.z + q * sa] * b;
        acc3 += u_a[ra.w + q * sa] * b;
    }
    let base = i32(g.z) * n * m;
    let acc = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
    for (var i = 0; i < 4; i++) {
        if (r0 + i < n) {
            for (var j = 0; j < 4; j++) {
                if (c0 + j < m) { out0[base + (r0 + i) * m + c0 + j] = acc[i][j]; }
            }
        }
    }
}
