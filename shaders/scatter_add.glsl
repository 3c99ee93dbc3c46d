// scatter_add into zeros: out[c] = sum over t of src[c'] where c' = c with c'[axis] = t
// and index[c'] == c[axis]; src and index share one shape (u_idx_shape), each read in place
// (views: an expanded index) at offset + dot(c', strides). src is an int texture exactly
// when the output is (OUT_INT: int64 sums, exact in the int32 range).
#ifdef OUT_INT
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
uniform sampler2D u_b;
#endif
uniform int u_b_st[6];
uniform int u_b_off;
uniform int u_idx_shape[6];
uniform int u_axis;

void main() {
    int c[6];
    unravel(out_index(), c);
    int j = c[u_axis];
    for (int d = 0; d < 6; ++d) {
        if (d != u_axis && c[d] >= u_idx_shape[d]) { emit(T(0)); return; }
    }
    T acc = T(0);
    int a = u_a_off + dot6(c, u_a_st) - j * u_a_st[u_axis];
    int b = u_b_off + dot6(c, u_b_st) - j * u_b_st[u_axis];
    for (int t = 0; t < u_idx_shape[u_axis]; ++t) {
        if (int(fetch(u_b, b)) == j) acc += fetch(u_a, a);
        a += u_a_st[u_axis];
        b += u_b_st[u_axis];
    }
    emit(acc);
}
