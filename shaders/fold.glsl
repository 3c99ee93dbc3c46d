// col2im, the adjoint of unfold: (N, C*kh*kw, Ho*Wo) -> (N, C, H, W), overlaps summed.
uniform sampler2D u_a;
uniform ivec2 u_out;      // Ho, Wo (windows)
uniform ivec2 u_kernel;
uniform ivec2 u_dil;
uniform ivec2 u_stride;

void main() {
    int c[6];
    unravel(out_index(), c);   // (1, 1, n, ch, h, w)
    int C = u_shape[3];
    int kk = u_kernel.x * u_kernel.y;
    int L = u_out.x * u_out.y;
    float acc = 0.0;
    for (int ki = 0; ki < u_kernel.x; ++ki) {
        int hh = c[4] - ki * u_dil.x;
        if (hh < 0 || hh % u_stride.x != 0) continue;
        int oh = hh / u_stride.x;
        if (oh >= u_out.x) continue;
        for (int kj = 0; kj < u_kernel.y; ++kj) {
            int ww = c[5] - kj * u_dil.y;
            if (ww < 0 || ww % u_stride.y != 0) continue;
            int ow = ww / u_stride.y;
            if (ow >= u_out.y) continue;
            int row = c[3] * kk + ki * u_kernel.y + kj;
            acc += fetch(u_a, (c[2] * C * kk + row) * L + oh * u_out.y + ow);
        }
    }
    emit(acc);
}
