// reduce_coop.wgsl's combine without subgroups: a tree of halvings in workgroup memory.
fn combine(acc: f32, lane: u32) -> f32 {
    part[lane] = acc;
    workgroupBarrier();
    for (var s = 32u; s > 0u; s = s >> 1u) {
        if (lane < s) { part[lane] += part[lane + s]; }
        workgroupBarrier();
    }
    return part[0];
}
