// Batched matmul: output (b0, b1, b2, b3, n, m). a is (.., n, K) and b is (.., K, m), read
// at offset + dot(coords, strides): 4 batch strides (0 where broadcast), then row and
// column strides (either may be a view, such as a transpose).
uniform sampler2D u_a;
uniform int u_a_st[6];
uniform int u_a_off;
uniform sampler2D u_b;
uniform int u_b_st[6];
uniform int u_b_off;
uniform int u_k;

void main() {
    int c[6];
    unravel(out_index(), c);
    int ab = u_a_off + c[0] * u_a_st[0] + c[1] * u_a_st[1] + c[2] * u_a_st[2] +
             c[3] * u_a_st[3] + c[4] * u_a_st[4];
    int bb = u_b_off + c[0] * u_b_st[0] + c[1] * u_b_st[1] + c[2] * u_b_st[2] +
             c[3] * u_b_st[3] + c[5] * u_b_st[5];
    float acc = 0.0;
    for (int k = 0; k < u_k; ++k) {
        acc += fetch(u_a, ab + k * u_a_st[5]) * fetch(u_b, bb + k * u_b_st[4]);
    }
    emit(acc);
}
