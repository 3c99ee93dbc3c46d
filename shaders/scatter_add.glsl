// scatter_add into zeros: out[c] = sum over t of src[c'] where c' = c with c'[axis] = t
// and index[c'] == c[axis]; src and index share one shape (u_idx_shape), each read in place
// (views: an expanded index) at offset + dot(c', strides). An int src (INT_u_a) sums as
// int into an int output (int64 sums, exact in the int32 range).
//
// FIRST (an index broadcast along every other dim, as embedding's backward has): PASS 0
// finds, per position j along the axis, the first t whose index is j (u_idx_shape[axis]
// where none is), one fragment per position, into an int texture; PASS 1 is the scatter,
// each fragment starting its walk at its position's first match (u_c) -- rows no index
// names end at once, which matters for a 50257-row gradient of a few tokens.
#ifdef INT_u_a
uniform isampler2D u_a;    // src
#define T int
#else
uniform sampler2D u_a;     // src
#define T float
#endif
uniform int u_a_st[6];
uniform int u_a_off;
#ifdef INT_u_b
uniform isampler2D u_b;    // index
#else
uniform sampler2D u_b;     // index
#endif
uniform int u_b_st[6];
uniform int u_b_off;
uniform int u_idx_shape[6];
uniform int u_axis;
#if FIRST
#ifdef INT_u_c
uniform isampler2D u_c;    // PASS 1: the first match per position along the axis
#else
uniform sampler2D u_c;
#endif
uniform int u_inner;       // PASS 1: the elements after the axis (the later dims' product)
#endif

#if FIRST && PASS == 0
void main() {
    int j = out_index();
    int n = u_idx_shape[u_axis];
    int b = u_b_off;
    for (int t = 0; t < n; ++t) {
        if (int(fetch(u_b, b)) == j) { emit(t); return; }
        b += u_b_st[u_axis];
    }
    emit(n);
}
#else
void main() {
    int t0 = 0;
#if FIRST   // the position along the axis first: most fragments stop here
    t0 = int(fetch(u_c, (out_index() / u_inner) % u_shape[u_axis]));
    if (t0 >= u_idx_shape[u_axis]) { emit(T(0)); return; }
#endif
    int c[6];
    unravel(out_index(), c);
    int j = c[u_axis];
    for (int d = 0; d < 6; ++d) {
        if (d != u_axis && c[d] >= u_idx_shape[d]) { emit(T(0)); return; }
    }
    T acc = T(0);
    int a = u_a_off + dot6(c, u_a_st) + (t0 - j) * u_a_st[u_axis];
    int b = u_b_off + dot6(c, u_b_st) + (t0 - j) * u_b_st[u_axis];
    for (int t = t0; t < u_idx_shape[u_axis]; ++t) {
        if (int(fetch(u_b, b)) == j) acc += fetch(u_a, a);
        a += u_a_st[u_axis];
        b += u_b_st[u_axis];
    }
    emit(acc);
}
#endif
