// The view-like primitives permute, expand, slice and flip: each output element reads the
// input at offset + dot(coords, strides); strides may be 0 (expand) or negative (flip).
uniform sampler2D u_a;
uniform int u_a_w;
uniform int u_a_st[6];
uniform int u_off;

void main() {
    int c[6];
    unravel(out_index(), c);
    emit(fetch(u_a, u_a_w, u_off + dot6(c, u_a_st)));
}
