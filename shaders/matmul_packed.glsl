// Matmul on packed RGBA textures: PACK (for A and for B) / MM passes (one defined each);
// the product stays in MM's eight targets, read by elementwise.glsl's unpack8 (ir.Packed).
// PACK turns a (batch, rows, cols) operand into texel (c4, b * Rp + r) =
// M[b, r, 4 c4 .. 4 c4 + 3], rows padded to Rp per batch, zeros past the edges (so the MM
// loop needs no bounds checks): A (batch, n, k) with Rp = 8 * ceil(n / 8), B (batch, k, m)
// with Rp = 4 * k4, where K is padded to a multiple of 8 (k4 = 2 * ceil(k / 8) texels) so
// the MM loop takes two K steps a turn.
// MM: the fragment (j4, b * n8 + i8) computes rows 8 i8 .. 8 i8 + 7 and columns
// 4 j4 .. 4 j4 + 3 of product b, row r into render target r: 12 fetches feed 128
// multiply-adds (texture fetches are what costs most on SwiftShader).
uniform ivec4 u_mm;       // n, k, m, n8 (= ceil(n / 8))
uniform ivec2 u_batched;  // A, B: 1 when the input has the batch, 0 when it is shared

#ifdef PACK
uniform sampler2D u_a;
uniform ivec3 u_pack;     // rows, cols, padded rows per batch (Rp)
uniform ivec3 u_st;       // the operand's batch, row and column strides
uniform ivec2 u_bat;      // batches per inner group, the outer group's stride (two groups
                          // of batch dims: q of a packed q/k/v projection)
uniform int u_off;        // and its offset (it may be a view, such as a transpose)
void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    int b = p.y / u_pack.z, r = p.y % u_pack.z;
    vec4 v = vec4(0.0);
    if (r < u_pack.x) {
        int at = u_off + (b % u_bat.x) * u_st.x + (b / u_bat.x) * u_bat.y + r * u_st.y;
        for (int c = 0; c < 4; ++c) {
            int col = p.x * 4 + c;
            if (col < u_pack.y) v[c] = fetch(u_a, at + col * u_st.z);
        }
    }
    o_color = stored(v);
}
#endif

#ifdef MM
layout(location = 1) out vec4 o_color1;
layout(location = 2) out vec4 o_color2;
layout(location = 3) out vec4 o_color3;
layout(location = 4) out vec4 o_color4;
layout(location = 5) out vec4 o_color5;
layout(location = 6) out vec4 o_color6;
layout(location = 7) out vec4 o_color7;
uniform sampler2D u_a;
uniform sampler2D u_b;

#define ROW(t, r, acc) { vec4 a = texelFetch(u_a, ivec2(t, arow + r), 0); \
                      acc += a.x * b0 + a.y * b1 + a.z * b2 + a.w * b3; }
#define KSTEP(t) { int kk = brow + 4 * (t); \
    vec4 b0 = texelFetch(u_b, ivec2(p.x, kk), 0), b1 = texelFetch(u_b, ivec2(p.x, kk + 1), 0); \
    vec4 b2 = texelFetch(u_b, ivec2(p.x, kk + 2), 0), b3 = texelFetch(u_b, ivec2(p.x, kk + 3), 0); \
    ROW(t, 0, c0) ROW(t, 1, c1) ROW(t, 2, c2) ROW(t, 3, c3) \
    ROW(t, 4, c4) ROW(t, 5, c5) ROW(t, 6, c6) ROW(t, 7, c7) }
void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    int bo = p.y / u_mm.w;
    int k4 = (u_mm.y + 7) / 8 * 2;
    int arow = u_batched.x * bo * u_mm.w * 8 + (p.y % u_mm.w) * 8;
    int brow = u_batched.y * bo * k4 * 4;
    vec4 c0 = vec4(0.0), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
    for (int t = 0; t < k4; t += 2) {   // two K steps a turn (k4 is even), written out
        KSTEP(t)
        KSTEP(t + 1)
    }
    o_color = stored(c0); o_color1 = stored(c1); o_color2 = stored(c2); o_color3 = stored(c3);
    o_color4 = stored(c4); o_color5 = stored(c5); o_color6 = stored(c6); o_color7 = stored(c7);
}
#endif
