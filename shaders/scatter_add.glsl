// scatter_add into zeros: out[c] = sum over t of src[c'] where c' = c with c'[axis] = t
// and index[c'] == c[axis]; src and index share one shape (u_idx_shape).
uniform sampler2D u_a;     // src
uniform sampler2D u_b;     // index
uniform int u_idx_shape[6];
uniform int u_idx_st[6];
uniform int u_axis;

void main() {
    int c[6];
    unravel(out_index(), c);
    int j = c[u_axis];
    for (int d = 0; d < 6; ++d) {
        if (d != u_axis && c[d] >= u_idx_shape[d]) { emit(0.0); return; }
    }
    float acc = 0.0;
    for (int t = 0; t < u_idx_shape[u_axis]; ++t) {
        c[u_axis] = t;
        int k = dot6(c, u_idx_st);
        if (int(fetch(u_b, k)) == j) acc += fetch(u_a, k);
    }
    emit(acc);
}
