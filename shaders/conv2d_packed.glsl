// conv2d on packed textures: PACK_X / PACK_W / CONV passes (one defined each); the output
// stays in CONV's targets, read by elementwise.glsl's unpackc or packed by PACK_X (ir.Packed).
// Packed input "C4": an RGBA32F texture whose row r = (n * C4 + c4) * Hp + h holds, at
// column w, channels 4*c4 .. 4*c4+3 of pixel (h, w) of the zero-padded image n (missing
// channels and the padding are 0, so the CONV loop needs no bounds checks). Rows wrap into
// blocks of R rows placed side by side: row r is at (w + (r / R) * Wp, r % R).
// CONV: a fragment computes COLS (2, 4 or 8) neighbouring output columns of 4 output
// channels, one column per render target: per tap COLS input fetches and 4 weight fetches
// feed 16 * COLS multiply-adds.
uniform ivec4 u_x;        // C, H, W, C4 (input)
uniform ivec4 u_xp;       // Hp, Wp (the padded image), R of the packed input, N
uniform ivec4 u_y;        // O, Ho, Wo, O4 (output)
uniform ivec2 u_yq;       // output texels per row of one target (ceil(Wo / COLS)), its R

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
// R32F NCHW (u_a) -> C4, padded. With FROM: the input is a convolution's output still in
// CONV's targets (u_t0 .. u_t7, the last repeated past its count; ir.Packed), whose texels
// hold 4 channels already: one fetch a texel, at (w / cols + (row / R) * wq, row % R) of
// target w % cols, row = nc4 * H + h (u_src: that output's wq, R, cols)
#ifdef FROM
uniform sampler2D u_t0;
uniform sampler2D u_t1;
uniform sampler2D u_t2;
uniform sampler2D u_t3;
uniform sampler2D u_t4;
uniform sampler2D u_t5;
uniform sampler2D u_t6;
uniform sampler2D u_t7;
uniform ivec3 u_src;
#else
uniform sampler2D u_a;
#endif
void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    int row = (p.x / u_xp.y) * u_xp.z + p.y;
    int h = row % u_xp.x - u_pad.x, w = p.x % u_xp.y - u_pad.y;
    int nc4 = row / u_xp.x;
    int c4 = nc4 % u_x.w, n = nc4 / u_x.w;
    vec4 v = vec4(0.0);
    if (n < u_xp.w && h >= 0 && h < u_x.y && w >= 0 && w < u_x.z) {
#ifdef FROM
        int srow = nc4 * u_x.y + h;
        v = pick8(u_t0, u_t1, u_t2, u_t3, u_t4, u_t5, u_t6, u_t7,
                  ivec2(w / u_src.z + (srow / u_src.y) * u_src.x, srow % u_src.y), w % u_src.z);
#else
        int at = u_off + n * u_st.x + h * u_st.z + w * u_st.w;
        for (int j = 0; j < 4; ++j) {
            int ch = c4 * 4 + j;
            if (ch < u_x.x) v[j] = fetch(u_a, at + ch * u_st.y);
        }
#endif
    }
    o_color = stored(v);
}
#endif

#ifdef PACK_W
// weight (O, C, kh, kw) R32F (u_b) -> texel ((c4 * kh + ki) * kw + kj, o): 4 input channels
uniform sampler2D u_b;
void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    int kk = u_kernel.x * u_kernel.y;
    int c4 = p.x / kk, t = p.x % kk;
    int o = p.y;
    vec4 v = vec4(0.0);
    for (int j = 0; j < 4; ++j) {
        int ch = c4 * 4 + j;
        if (ch < u_x.x && o < u_y.x) {
            v[j] = fetch(u_b, u_off + o * u_st.x + ch * u_st.y +
                                     (t / u_kernel.y) * u_st.z + (t % u_kernel.y) * u_st.w);
        }
    }
    o_color = stored(v);
}
#endif

#ifdef CONV
// packed x (u_a) and packed weights (u_b) -> COLS targets; target j holds output column
// COLS * q + j of 4 output channels at texel (q, (n * O4 + o4) * Ho + oh) (blocks wrap as
// for the input)
layout(location = 1) out vec4 o_color1;
#if COLS > 2
layout(location = 2) out vec4 o_color2;
layout(location = 3) out vec4 o_color3;
#endif
#if COLS > 4
layout(location = 4) out vec4 o_color4;
layout(location = 5) out vec4 o_color5;
layout(location = 6) out vec4 o_color6;
layout(location = 7) out vec4 o_color7;
#endif
uniform sampler2D u_a;
uniform sampler2D u_b;
uniform sampler2D u_c;    // bias, R32F, when u_bias == 1
uniform int u_bias;

#define COL(j, acc) { vec4 x = texelFetch(u_a, a + ivec2((j) * sw, 0), 0); \
    acc += vec4(dot(x, k0), dot(x, k1), dot(x, k2), dot(x, k3)); }
void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    int q = p.x % u_yq.x;
    int orow = (p.x / u_yq.x) * u_yq.y + p.y;
    int oh = orow % u_y.y, no4 = orow / u_y.y;
    int o4 = no4 % u_y.w, n = no4 / u_y.w;
    int o0 = o4 * 4;
    vec4 acc0 = vec4(0.0);
    if (u_bias == 1) {
        for (int j = 0; j < 4; ++j) if (o0 + j < u_y.x) acc0[j] = fetch(u_c, o0 + j);
    }
    vec4 acc1 = acc0, acc2 = acc0, acc3 = acc0, acc4 = acc0, acc5 = acc0, acc6 = acc0,
         acc7 = acc0;
    int sw = u_stride.y;
    int w0 = q * COLS * sw;
    int t = 0;
    for (int c4 = 0; c4 < u_x.w; ++c4) {
        int rowbase = (n * u_x.w + c4) * u_xp.x + oh * u_stride.x;
        for (int ki = 0; ki < KH; ++ki) {
            int row = rowbase + ki * u_dil.x;
#ifdef ONE_BLOCK_X
            ivec2 at = ivec2(w0, row);
#else
            ivec2 at = ivec2(w0 + (row / u_xp.z) * u_xp.y, row % u_xp.z);
#endif
            for (int kj = 0; kj < KW; ++kj) {
                vec4 k0 = texelFetch(u_b, ivec2(t, o0), 0);
                vec4 k1 = texelFetch(u_b, ivec2(t, o0 + 1), 0);
                vec4 k2 = texelFetch(u_b, ivec2(t, o0 + 2), 0);
                vec4 k3 = texelFetch(u_b, ivec2(t, o0 + 3), 0);
                ++t;
                ivec2 a = at + ivec2(kj * u_dil.y, 0);
                COL(0, acc0) COL(1, acc1)
#if COLS > 2
                COL(2, acc2) COL(3, acc3)
#endif
#if COLS > 4
                COL(4, acc4) COL(5, acc5) COL(6, acc6) COL(7, acc7)
#endif
            }
        }
    }
    o_color = stored(acc0); o_color1 = stored(acc1);
#if COLS > 2
    o_color2 = stored(acc2); o_color3 = stored(acc3);
#endif
#if COLS > 4
    o_color4 = stored(acc4); o_color5 = stored(acc5);
    o_color6 = stored(acc6); o_color7 = stored(acc7);
#endif
}
#endif
