// gather: out[c] = x[c with c[axis] = index[c]]. Both read in place (views: an expanded
// index, a permuted x) at offset + dot(coordinates, strides). x is an int texture exactly
// when the output is (OUT_INT); the index is one when it is int64 (INT_u_b), as it is.
#ifdef OUT_INT
uniform isampler2D u_a;    // x
#else
uniform sampler2D u_a;     // x
#endif
uniform int u_a_st[6];
uniform int u_a_off;
#ifdef INT_u_b
uniform isampler2D u_b;    // index, the output's shape
#else
uniform sampler2D u_b;
#endif
uniform int u_b_st[6];
uniform int u_b_off;
uniform int u_axis;

void main() {
    int c[6];
    unravel(out_index(), c);
    int j = int(fetch(u_b, u_b_off + dot6(c, u_b_st)));
    c[u_axis] = j;
    emit(fetch(u_a, u_a_off + dot6(c, u_a_st)));
}
