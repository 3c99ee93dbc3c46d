// A cooperative main() for reduce.wgsl's SUM (appended to it by Python on hardware
// adapters): a workgroup of 64 invocations per output element, each summing every 64th
// position of the element's chunk (reduce.wgsl's `chunk`), and `combine` -- subgroupAdd
// where the device has subgroups (reduce_subgroup.wgsl), else a tree in workgroup memory
// (reduce_tree.wgsl) -- adding the 64 partial sums. Dispatched as one workgroup per output
// element (x split into x * y past the per-dimension limit).
var<workgroup> part: array<f32, 64>;

fn partial(i: i32, lane: i32) -> f32 {
    let ch = chunk(i);
    var acc = 0.0;
    for (var q = ch.y + lane; q < ch.z; q += 64) {
        acc += value_at(ch.x + (q / u_r2.x) * u_r1.y + (q % u_r2.x) * u_r2.y);
    }
    return acc;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) lane: u32) {
    load();
    let i = i32(wg.x + wg.y * nw.x);
    var acc = 0.0;
    if (i < u_numel) { acc = partial(i, i32(lane)); }
    let total = combine(acc, lane);     // in uniform control flow: it holds barriers
    if (lane == 0u && i < u_numel) { out0[i] = total; }
}
