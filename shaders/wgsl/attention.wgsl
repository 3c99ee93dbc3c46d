// Attention's fused ops (webdl/ops/attention.py), a workgroup of 64 invocations per row:
// PASS 0 `attention` and PASS 1 `attention_grad_q` take a query row i, PASS 2
// `attention_grad_kv` a key row j. The row's scores (and their gradients) stay in workgroup
// memory (at most 1024 keys or queries), the q / k / v / g row of the workgroup in ra / rb
// (at most 256 features); max and sum are trees in `red`. Every input is read in place
// through its strides: 4 leading (batch) strides, then row and column, and an offset, so a
// head split by view and transpose needs no copy. CAUSAL: query i sees keys j <= i. A row
// whose scores are all -inf gives zeros (its log-sum-exp is +inf), as safe softmax.
// q (.., L, E), k (.., S, E), v (.., S, Ev), g: the output's gradient (.., L, Ev);
// u_x: PASS 1 the output o (.., L, Ev), PASS 2 the rows of PASS 1 (.., L, E + 2): lse, D.
var<private> u_batch: array<i32, 4>;   // leading dims (padded with 1s in front)
var<private> u_ls: vec2<i32>;          // L, S
var<private> u_ed: vec2<i32>;          // E, Ev
var<private> u_rows: i32;              // workgroups that write a row
var<private> u_scale: f32;
var<private> u_q_st: array<i32, 6>;
var<private> u_k_st: array<i32, 6>;
var<private> u_v_st: array<i32, 6>;
var<private> u_g_st: array<i32, 6>;
var<private> u_x_st: array<i32, 6>;
var<private> u_offs: array<i32, 5>;    // q, k, v, g, x
var<storage, read> u_q: array<f32>;
var<storage, read> u_k: array<f32>;
var<storage, read> u_v: array<f32>;
var<storage, read> u_g: array<f32>;
var<storage, read> u_x: array<f32>;

var<workgroup> wa: array<f32, 1024>;
var<workgroup> wb: array<f32, 1024>;
var<workgroup> ra: array<f32, 256>;
var<workgroup> rb: array<f32, 256>;
var<workgroup> red: array<f32, 64>;

// the offset of matrix `bh` (its leading dims flattened) of an input
fn base_of(bh0: i32, st: array<i32, 6>, off: i32) -> i32 {
    var bh = bh0;
    var b = off;
    for (var d = 3; d >= 0; d--) {
        b += (bh % u_batch[d]) * st[d];
        bh = bh / u_batch[d];
    }
    return b;
}

// the largest of the workgroup's values; a NaN anywhere wins
fn wg_max(x: f32, lane: u32) -> f32 {
    red[lane] = x;
    workgroupBarrier();
    for (var s = 32u; s > 0u; s = s >> 1u) {
        if (lane < s) {
            let o = red[lane + s];
            if (o > red[lane] || isnan(o)) { red[lane] = o; }
        }
        workgroupBarrier();
    }
    let r = red[0];
    workgroupBarrier();
    return r;
}

fn wg_sum(x: f32, lane: u32) -> f32 {
    red[lane] = x;
    workgroupBarrier();
    for (var s = 32u; s > 0u; s = s >> 1u) {
        if (lane < s) { red[lane] += red[lane + s]; }
        workgroupBarrier();
    }
    let r = red[0];
    workgroupBarrier();
    return r;
}

// PASS 0 / 1: query row `row` (of L per matrix)
fn query_row(row: i32, valid: bool, lid: u32) {
    let lane = i32(lid);
    let L = u_ls.x;
    let S = u_ls.y;
    let E = u_ed.x;
    let Ev = u_ed.y;
    let bh = row / L;
    let i = row % L;
    let qb = base_of(bh, u_q_st, u_offs[0]) + i * u_q_st[4];
    let kb = base_of(bh, u_k_st, u_offs[1]);
    let vb = base_of(bh, u_v_st, u_offs[2]);
    for (var e = lane; e < E; e += 64) { ra[e] = u_q[qb + e * u_q_st[5]]; }
    var dpart = 0.0;
    if (PASS == 1) {
        let gb = base_of(bh, u_g_st, u_offs[3]) + i * u_g_st[4];
        let ob = base_of(bh, u_x_st, u_offs[4]) + i * u_x_st[4];
        for (var e = lane; e < Ev; e += 64) {
            let gv = u_g[gb + e * u_g_st[5]];
            rb[e] = gv;
            dpart += gv * u_x[ob + e * u_x_st[5]];
        }
    }
    workgroupBarrier();
    var n = S;
    if (CAUSAL == 1) { n = min(i + 1, S); }
    var mx = -inf();
    for (var j = lane; j < n; j += 64) {
        let kr = kb + j * u_k_st[4];
        var acc = 0.0;
        for (var e = 0; e < E; e++) { acc += ra[e] * u_k[kr + e * u_k_st[5]]; }
        let s = acc * u_scale;
        wa[j] = s;
        if (s > mx || isnan(s)) { mx = s; }
    }
    let m0 = wg_max(mx, lid);
    let dead = m0 == -inf();
    let m = select(m0, 0.0, dead);
    var part = 0.0;
    for (var j = lane; j < n; j += 64) {
        let p = exp(wa[j] - m);
        wa[j] = p;
        part += p;
    }
    let l = wg_sum(part, lid);
    if (PASS == 0) {
        for (var e = lane; e < Ev; e += 64) {
            var acc = 0.0;
            for (var j = 0; j < n; j++) { acc += wa[j] * u_v[vb + j * u_v_st[4] + e * u_v_st[5]]; }
            if (valid) { out0[row * Ev + e] = select(acc / l, 0.0, dead); }
        }
        return;
    }
    let D = wg_sum(dpart, lid);
    for (var j = lane; j < n; j += 64) {       // the scores' gradients, ds = p (dp - D)
        let vr = vb + j * u_v_st[4];
        var dp = 0.0;
        for (var e = 0; e < Ev; e++) { dp += rb[e] * u_v[vr + e * u_v_st[5]]; }
        let p = select(wa[j] / l, 0.0, dead);
        wa[j] = p * (dp - D);
    }
    workgroupBarrier();
    let w = E + 2;
    for (var e = lane; e < E; e += 64) {
        var acc = 0.0;
        for (var j = 0; j < n; j++) { acc += wa[j] * u_k[kb + j * u_k_st[4] + e * u_k_st[5]]; }
        if (valid) { out0[row * w + e] = acc * u_scale; }
    }
    if (valid && lane == 0) {
        out0[row * w + E] = select(m + log(l), inf(), dead);
        out0[row * w + E + 1] = D;
    }
}

// PASS 2: key row `row` (of S per matrix): the key's gradient, then the value's
fn key_row(row: i32, valid: bool, lid: u32) {
    let lane = i32(lid);
    let L = u_ls.x;
    let S = u_ls.y;
    let E = u_ed.x;
    let Ev = u_ed.y;
    let bh = row / S;
    let j = row % S;
    let kb = base_of(bh, u_k_st, u_offs[1]) + j * u_k_st[4];
    let vb = base_of(bh, u_v_st, u_offs[2]) + j * u_v_st[4];
    for (var e = lane; e < E; e += 64) { ra[e] = u_k[kb + e * u_k_st[5]]; }
    for (var e = lane; e < Ev; e += 64) { rb[e] = u_v[vb + e * u_v_st[5]]; }
    workgroupBarrier();
    let qb = base_of(bh, u_q_st, u_offs[0]);
    let gb = base_of(bh, u_g_st, u_offs[3]);
    let xb = base_of(bh, u_x_st, u_offs[4]);
    var i0 = 0;
    if (CAUSAL == 1) { i0 = j; }
    for (var i = i0 + lane; i < L; i += 64) {
        let qr = qb + i * u_q_st[4];
        var s = 0.0;
        for (var e = 0; e < E; e++) { s += u_q[qr + e * u_q_st[5]] * ra[e]; }
        s = s * u_scale;
        let xr = xb + i * u_x_st[4];
        let lse = u_x[xr + E * u_x_st[5]];
        let D = u_x[xr + (E + 1) * u_x_st[5]];
        var p = 0.0;
        if (!(isinf(lse) && lse > 0.0)) { p = exp(s - lse); }
        let gr = gb + i * u_g_st[4];
        var dp = 0.0;
        for (var e = 0; e < Ev; e++) { dp += u_g[gr + e * u_g_st[5]] * rb[e]; }
        wa[i] = p;
        wb[i] = p * (dp - D);
    }
    workgroupBarrier();
    let w = E + Ev;
    for (var e = lane; e < E; e += 64) {
        var acc = 0.0;
        for (var i = i0; i < L; i++) { acc += wb[i] * u_q[qb + i * u_q_st[4] + e * u_q_st[5]]; }
        if (valid) { out0[row * w + e] = acc * u_scale; }
    }
    for (var e = lane; e < Ev; e += 64) {
        var acc = 0.0;
        for (var i = i0; i < L; i++) { acc += wa[i] * u_g[gb + i * u_g_st[4] + e * u_g_st[5]]; }
        if (valid) { out0[row * w + E + e] = acc; }
    }
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    load();
    let r0 = i32(wg.x + wg.y * nw.x);
    let rows = W(at_u_rows);
    let valid = r0 < rows;
    let row = min(r0, rows - 1);   // a workgroup past the rows computes the last, unwritten
    if (PASS == 2) { key_row(row, valid, lid); } else { query_row(row, valid, lid); }
}
