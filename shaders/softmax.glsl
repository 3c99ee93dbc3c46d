// softmax / log_softmax over the last dim, with the scale and masks fused in (the primitives
// softmax and softmax_backward), in two passes each way. The scores x have the shape
// u_xshape (padded to 6 dims, rows of u_xshape[5] = S); s = x * u_scale, where
//   MASK 1: a bool mask drops s (to -inf) where it is 0; MASK 2: a float mask is added;
//   CAUSAL 1: s[.., i, j] is dropped where j > i (i: the index along dim -2),
// the masks read through u_mst (the mask's strides broadcast into x's shape, 0 where it is
// broadcast), so no mask the size of the scores is ever uploaded or made.
//   PASS 0 (one fragment per row): lse = log(sum(exp(s))), max-subtracted, in one online
//          walk (the running max m and the sum l rescaled when m grows); NaN when the row
//          holds NaN or +inf (as PyTorch's softmax), -inf when every position is dropped;
//          CAUSAL: the walk stops at the query's position (half the work of a square one).
//   PASS 1 (one fragment per element): exp(s - lse) (LOG: s - lse); SAFE: 0 in a row whose
//          lse is -inf (scaled_dot_product_attention), else NaN there.
//   PASS 2 (one fragment per row): r = sum(g * y) (LOG: sum(g)).
//   PASS 3 (one fragment per element): u_scale * y * (g - r) (LOG: u_scale * (g - exp(y) r),
//   0 where y = -inf: a dropped position takes no gradient).
#ifndef MASK
#define MASK 0
#endif
#ifndef CAUSAL
#define CAUSAL 0
#endif
#ifndef LOG
#define LOG 0
#endif
#ifndef SAFE
#define SAFE 0
#endif
uniform int u_xshape[6];
uniform int u_mst[6];
uniform float u_scale;
uniform sampler2D u_a;    // PASS 0, 1: x; PASS 2, 3: g
uniform sampler2D u_b;    // PASS 0, 1: the mask; PASS 2, 3: y
uniform sampler2D u_c;    // PASS 1: lse; PASS 3: r

// the masked, scaled score at position j of row `row` (whose mask offset is moff)
float score(int row, int j, int moff) {
    float s = fetch(u_a, row * u_xshape[5] + j) * u_scale;
#if MASK == 1
    if (fetch(u_b, moff + j * u_mst[5]) == 0.0) s = -INF;
#elif MASK == 2
    s += fetch(u_b, moff + j * u_mst[5]);
#endif
#if CAUSAL
    if (j > row % u_xshape[4]) s = -INF;
#endif
    return s;
}

int mask_offset(int row) {
    int off = 0;
    for (int d = 4; d >= 0; --d) {
        off += (row % u_xshape[d]) * u_mst[d];
        row /= u_xshape[d];
    }
    return off;
}

void main() {
    int i = out_index();
    int n = u_xshape[5];
#if PASS == 0
    int moff = mask_offset(i);
    float m = -INF, l = 0.0;
    bool bad = false;
#if CAUSAL
    int last = min(n, i % u_xshape[4] + 1);  // the keys past the query's position are dropped
#else
    int last = n;
#endif
    for (int j = 0; j < last; ++j) {
        float s = score(i, j, moff);
        if (is_nan(s) || (is_inf(s) && s > 0.0)) bad = true;
        else if (s > m) { l = l * safe_exp(m - s) + 1.0; m = s; }
        else if (!is_inf(s)) l += safe_exp(s - m);
    }
    emit(bad ? NAN : (is_inf(m) ? -INF : m + log(l)));
#elif PASS == 1
    int row = i / n;
    float s = score(row, i - row * n, mask_offset(row));
    float lse = fetch(u_c, row);
#if SAFE
    if (is_inf(lse) && lse < 0.0) { emit(0.0); return; }
#endif
#if LOG
    emit(s - lse);
#else
    emit(safe_exp(s - lse));
#endif
#elif PASS == 2
    float r = 0.0;
    for (int j = i * n; j < i * n + n; ++j) {
#if LOG
        r += fetch(u_a, j);
#else
        r += fetch(u_a, j) * fetch(u_b, j);
#endif
    }
    emit(r);
#else
    float g = fetch(u_a, i), y = fetch(u_b, i), r = fetch(u_c, i / n);
#if LOG
    // a dropped position (y = -inf) takes no gradient, as after PyTorch's masked_fill
    emit(is_inf(y) && y < 0.0 ? 0.0 : u_scale * (g - safe_exp(y) * r));
#else
    emit(u_scale * y * (g - r));
#endif
#endif
}
