// conv2d on packed textures: PACK_X / PACK_W / CONV / UNPACK passes (one defined each).
// Packed layout "C4": an RGBA32F texture whose row r = (n * C4 + c4) * H + h holds, at
// column w, channels 4*c4 .. 4*c4+3 of pixel (h, w) of image n (missing channels are 0).
// Rows wrap into blocks of R rows placed side by side: row r is at (w + (r / R) * W, r % R).
// 2-D addressing keeps integer division out of the inner loop; one input fetch feeds 16
// multiply-adds.
uniform ivec4 u_x;        // C, H, W, C4 (input)
uniform ivec4 u_y;        // O, Ho, Wo, O4 (output)
uniform int u_xr;         // R of the packed input
uniform int u_yr;         // R of the packed output

ivec2 c4pos(int w, int row, int width, int rows) {
#ifdef ONE_BLOCK_X
    return ivec2(w, row);     // the input fits one block: no division in the inner loop
#else
    return ivec2(w + (row / rows) * width, row % rows);
#endif
}

// KH, KW: the kernel size, compiled in so the tap loops unroll (few distinct values)
#ifndef KH
#define KH u_kernel.x
#define KW u_kernel.y
#endif
uniform ivec2 u_kernel;
uniform ivec2 u_stride;
uniform ivec2 u_dil;
uniform ivec2 u_pad;      // top, left

// PACK_X / PACK_W read their input at u_off + dot((n, c, h, w) or (o, c, i, j), u_st): it
// may be a view (the weight gradient convolves transposed tensors)
uniform ivec4 u_st;
uniform int u_off;

#ifdef PACK_X
// R32F NCHW (u_a) -> C4; the output texture is W x (N * C4 * H)
uniform sampler2D u_a;
uniform int u_a_w;
void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    int row = (p.x / u_x.z) * u_xr + p.y;
    int w = p.x % u_x.z;
    int h = row % u_x.y, nc4 = row / u_x.y;
    int c4 = nc4 % u_x.w, n = nc4 / u_x.w;
    vec4 v = vec4(0.0);
    for (int j = 0; j < 4; ++j) {
        int ch = c4 * 4 + j;
        if (ch < u_x.x) v[j] = fetch(u_a, u_a_w, u_off + n * u_st.x + ch * u_st.y + h * u_st.z + w * u_st.w);
    }
    o_color = v;
}
#endif

#ifdef PACK_W
// weight (O, C, kh, kw) R32F (u_b) -> texel ((c4 * kh + ki) * kw + kj, o): 4 input channels
uniform sampler2D u_b;
uniform int u_b_w;
void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    int kk = u_kernel.x * u_kernel.y;
    int c4 = p.x / kk, t = p.x % kk;
    int o = p.y;
    vec4 v = vec4(0.0);
    for (int j = 0; j < 4; ++j) {
        int ch = c4 * 4 + j;
        if (ch < u_x.x && o < u_y.x) {
            v[j] = fetch(u_b, u_b_w, u_off + o * u_st.x + ch * u_st.y +
                                     (t / u_kernel.y) * u_st.z + (t % u_kernel.y) * u_st.w);
        }
    }
    o_color = v;
}
#endif

#ifdef CONV
// packed x (u_a) and packed weights (u_b) -> packed y in two targets: a fragment computes
// output columns 2q (o_color) and 2q+1 (o_color1) for 4 output channels, so each weight
// fetch feeds 8 multiply-adds and each input fetch 16. Texel (q, (n * O4 + o4) * Ho + oh).
layout(location = 1) out vec4 o_color1;
uniform sampler2D u_a;
uniform sampler2D u_b;
uniform sampler2D u_c;    // bias, R32F, when u_bias == 1
uniform int u_c_w;
uniform int u_bias;
uniform int u_half;       // ceil(Wo / 2): the width of one output block
void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    int q = p.x % u_half;
    int orow = (p.x / u_half) * u_yr + p.y;
    int oh = orow % u_y.y, no4 = orow / u_y.y;
    int o4 = no4 % u_y.w, n = no4 / u_y.w;
    int o0 = o4 * 4;
    vec4 acc0 = vec4(0.0);
    if (u_bias == 1) {
        for (int j = 0; j < 4; ++j) if (o0 + j < u_y.x) acc0[j] = fetch(u_c, u_c_w, o0 + j);
    }
    vec4 acc1 = acc0;
    int h0 = oh * u_stride.x - u_pad.x;
    int w0 = (2 * q) * u_stride.y - u_pad.y;
    int w1 = w0 + u_stride.y;
    int kk = u_kernel.x * u_kernel.y;
    for (int c4 = 0; c4 < u_x.w; ++c4) {
        int rowbase = (n * u_x.w + c4) * u_x.y;
        int wbase = c4 * kk;
        for (int ki = 0; ki < KH; ++ki) {
            int h = h0 + ki * u_dil.x;
            if (h < 0 || h >= u_x.y) continue;
            for (int kj = 0; kj < KW; ++kj) {
                int wa = w0 + kj * u_dil.y, wb = w1 + kj * u_dil.y;
                vec4 xa = (wa >= 0 && wa < u_x.z) ? texelFetch(u_a, c4pos(wa, rowbase + h, u_x.z, u_xr), 0) : vec4(0.0);
                vec4 xb = (wb >= 0 && wb < u_x.z) ? texelFetch(u_a, c4pos(wb, rowbase + h, u_x.z, u_xr), 0) : vec4(0.0);
                int t = wbase + ki * KW + kj;
                vec4 k0 = texelFetch(u_b, ivec2(t, o0), 0);
                vec4 k1 = texelFetch(u_b, ivec2(t, o0 + 1), 0);
                vec4 k2 = texelFetch(u_b, ivec2(t, o0 + 2), 0);
                vec4 k3 = texelFetch(u_b, ivec2(t, o0 + 3), 0);
                acc0 += vec4(dot(xa, k0), dot(xa, k1), dot(xa, k2), dot(xa, k3));
                acc1 += vec4(dot(xb, k0), dot(xb, k1), dot(xb, k2), dot(xb, k3));
            }
        }
    }
    o_color = acc0;
    o_color1 = acc1;
}
#endif

#ifdef UNPACK
// the two packed targets (u_a: even columns, u_b: odd columns) -> R32F NCHW
uniform sampler2D u_a;
uniform sampler2D u_b;
uniform int u_half;
void main() {
    int c[6];
    unravel(out_index(), c);   // (1, 1, n, o, oh, ow)
    int row = (c[2] * u_y.w + c[3] / 4) * u_y.y + c[4];
    ivec2 at = ivec2(c[5] / 2 + (row / u_yr) * u_half, row % u_yr);
    vec4 v = (c[5] % 2 == 0) ? texelFetch(u_a, at, 0) : texelFetch(u_b, at, 0);
    emit(v[c[3] % 4]);
}
#endif
