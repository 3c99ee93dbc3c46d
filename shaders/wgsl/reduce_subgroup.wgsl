// reduce_coop.wgsl's combine with subgroups (the device's "subgroups" feature): each
// subgroup's sum by subgroupAdd, one lane of each writing it, lane 0 adding those (no
// assumption on how the 64 invocations split into subgroups).
enable subgroups;

fn combine(acc: f32, lane: u32) -> f32 {
    let s = subgroupAdd(acc);
    part[lane] = select(0.0, s, subgroupElect());
    workgroupBarrier();
    var t = 0.0;
    if (lane == 0u) {
        for (var j = 0; j < 64; j++) { t += part[j]; }
    }
    return t;
}
