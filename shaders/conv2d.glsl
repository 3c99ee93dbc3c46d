// Direct conv2d (no im2col): out (N, O, Ho, Wo), zero padding, stride, dilation, groups.
uniform sampler2D u_a;       // x (N, C, H, W)
uniform sampler2D u_b;       // weight (O, C/groups, kh, kw)
uniform sampler2D u_c;       // bias (O,), when u_bias == 1
uniform int u_bias;
uniform ivec4 u_x;           // C, H, W, C/groups
uniform ivec2 u_kernel;
uniform ivec2 u_stride;
uniform ivec2 u_dil;
uniform ivec2 u_pad;         // top, left
uniform int u_og;            // out channels per group
// channels a slice: output (S, N, O, Ho, Wo), slice s summing channels [s * u_split,
// (s + 1) * u_split) of its group (conv.py adds the slices: a weight's gradient, a long
// sum over few outputs, spread over more fragments); C/groups for one slice
uniform int u_split;

void main() {
    int c[6];
    unravel(out_index(), c);    // (1, s, n, o, oh, ow)
    int n = c[2], o = c[3];
    int cg = u_x.w;
    int ch0 = (o / u_og) * cg;
    int h0 = c[4] * u_stride.x - u_pad.x;
    int w0 = c[5] * u_stride.y - u_pad.y;
    int kk = u_kernel.x * u_kernel.y;
    float acc = u_bias == 1 ? fetch(u_c, o) : 0.0;
    for (int ci = c[1] * u_split; ci < min(cg, (c[1] + 1) * u_split); ++ci) {
        int xb = (n * u_x.x + ch0 + ci) * u_x.y;
        int wb = (o * cg + ci) * kk;
        for (int ki = 0; ki < u_kernel.x; ++ki) {
            int h = h0 + ki * u_dil.x;
            if (h < 0 || h >= u_x.y) continue;
            for (int kj = 0; kj < u_kernel.y; ++kj) {
                int w = w0 + kj * u_dil.y;
                if (w < 0 || w >= u_x.z) continue;
                acc += fetch(u_a, (xb + h) * u_x.z + w) * fetch(u_b, wb + ki * u_kernel.y + kj);
            }
        }
    }
    emit(acc);
}
