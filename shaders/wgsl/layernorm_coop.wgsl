// A cooperative main() for layernorm.wgsl (appended to it by Python on hardware adapters,
// for rows of at least NORM_COOP_MIN values: a batch norm's channels): a workgroup of 64
// invocations per row, each summing every 64th of the row's values about its first one
// (a value's run and offset unravelled from its position), the partial sums added by a
// tree in workgroup memory and `finish`ed by invocation 0, which writes the row's outputs
// through `store` (appended by Python: one line per output). One invocation per row,
// layernorm.wgsl's own main, left a few long rows to a few threads (a small CNN's batch norm
// statistics: 4.6 of its step's 9.5 ms of GPU time on an H200).
var<workgroup> part: array<vec4<f32>, 64>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) lane: u32) {
    load();
    let i = i32(wg.x + wg.y * nw.x);
    var acc = vec4<f32>(0.0);   // sums of x - k, (x - k)^2; backward: of gw, gw (x - k)
    var k = 0.0;
    if (i < u_numel) {
        let base = i * u_rowstride;
        k = u_x[base];
        for (var e = i32(lane); e < u_d * u_runs; e += 64) {
            let o = e / u_d;
            acc += terms(base + o * u_runstride, e - o * u_d, k);
        }
    }
    part[lane] = acc;
    workgroupBarrier();
    for (var s = 32u; s > 0u; s = s >> 1u) {
        if (lane < s) { part[lane] += part[lane + s]; }
        workgroupBarrier();
    }
    if (lane == 0u && i < u_numel) {
        let t = part[0];
        store(i, finish(k, t.xy, t.zw, f32(u_d * u_runs)));
    }
}
