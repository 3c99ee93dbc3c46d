// im2col: (N, C, H, W) -> (N, C*kh*kw, Ho*Wo) in PyTorch's order.
uniform sampler2D u_a;
uniform ivec4 u_x;        // C, H, W, Wo
uniform ivec2 u_kernel;
uniform ivec2 u_dil;
uniform ivec2 u_stride;

void main() {
    int c[6];
    unravel(out_index(), c);   // (1, 1, 1, n, ckk, l)
    int kk = u_kernel.x * u_kernel.y;
    int ch = c[4] / kk;
    int ki = (c[4] / u_kernel.y) % u_kernel.x;
    int kj = c[4] % u_kernel.y;
    int h = (c[5] / u_x.w) * u_stride.x + ki * u_dil.x;
    int w = (c[5] % u_x.w) * u_stride.y + kj * u_dil.y;
    emit(fetch(u_a, ((c[3] * u_x.x + ch) * u_x.y + h) * u_x.z + w));
}
