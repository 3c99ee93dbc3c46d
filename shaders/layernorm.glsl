// Row statistics for layer_norm (the fused ops layer_norm and layer_norm_backward) and for
// batch norm (norm_stats): one fragment per row, which it reads once. A row is u_runs runs
// of u_d contiguous elements, u_runstride apart, starting at row * u_rowstride (layer_norm:
// one run, the normalized dims flattened; batch norm: a channel, a run of H*W per sample).
// The sums are taken about the row's first value K (the shifted-data algorithm): var =
// E[(x - K)^2] - E[x - K]^2 loses at most a factor (K - mean)^2 / var <= n - 1 of
// precision, where E[x^2] - E[x]^2 can lose all of it. The normalisation itself is an
// elementwise chain that the backend builds on these values.
//   PASS 0: mean (location 0), rstd = 1 / sqrt(var + u_eps) (location 1), var biased;
//           VAR: also var (location 2);
//   PASS 1 (the backward; g the output's gradient, gw = g * w with WEIGHT, else g): also
//           a = mean(gw) (location 2) and c = mean(gw * xhat) (location 3), xhat =
//           (x - mean) * rstd; dx = rstd * (gw - a - xhat * c) is the chain.
// CHUNKS (long rows on a hardware renderer, where one fragment per row leaves a few
// fragments each walking thousands of values -- a batch norm's channels: ~3 ms a pass on
// an H200): fragment (row, chunk) sums u_chunk consecutive values of its row instead, about
// the row's K, and writes the sums: of x - K (location 0), (x - K)^2 (1), and in PASS 1 of
// gw (2) and gw (x - K) (3). reduce.py adds each row's chunks and finishes the statistics in
// an elementwise chain (reading K in place).
#ifndef WEIGHT
#define WEIGHT 0
#endif
#ifndef VAR
#define VAR 0
#endif
#ifndef CHUNKS
#define CHUNKS 0
#endif
uniform int u_d;
uniform int u_runs;
uniform int u_runstride;
uniform int u_rowstride;
uniform sampler2D u_x;
layout(location = 1) out vec4 o_color1;
#if PASS == 1 || VAR
layout(location = 2) out vec4 o_color2;
#endif
#if PASS == 1
uniform sampler2D u_g;
#if WEIGHT
uniform sampler2D u_w;
#define GW(at, j) (fetch(u_g, (at) + (j)) * fetch(u_w, j))
#else
#define GW(at, j) fetch(u_g, (at) + (j))
#endif
layout(location = 3) out vec4 o_color3;
#endif
// value j of the run at `at` (and k, the row's first value) added to the sums s (of x - K,
// (x - K)^2) and, in PASS 1, t (of gw, gw (x - K))
#if PASS == 1
#define ADD(s, t, at, j) { float d_ = fetch(u_x, (at) + (j)) - k; float g_ = GW(at, j); \
    s += vec2(d_, d_ * d_); t += vec2(g_, g_ * d_); }
#else
#define ADD(s, t, at, j) { float d_ = fetch(u_x, (at) + (j)) - k; s += vec2(d_, d_ * d_); }
#endif

#if CHUNKS
uniform int u_chunk;
uniform int u_chunks;

void main() {
    int i = out_index();
    int row = i / u_chunks;
    int base = row * u_rowstride;
    float k = fetch(u_x, base);
    int e0 = (i - row * u_chunks) * u_chunk;
    int e1 = min(e0 + u_chunk, u_d * u_runs);
    int o = e0 / u_d;
    int j = e0 - o * u_d;
    int at = base + o * u_runstride;
    vec2 s = vec2(0.0);
#if PASS == 1
    vec2 t = vec2(0.0);
#endif
    for (int e = e0; e < e1; ++e) {
        ADD(s, t, at, j)
        if (++j == u_d) {
            j = 0;
            at += u_runstride;
        }
    }
    emit(s.x);
    o_color1 = vec4(stored(s.y), 0.0, 0.0, 1.0);
#if PASS == 1
    o_color2 = vec4(stored(t.x), 0.0, 0.0, 1.0);
    o_color3 = vec4(stored(t.y), 0.0, 0.0, 1.0);
#endif
}
#else
uniform float u_eps;

void main() {
    int base = out_index() * u_rowstride;
    float n = float(u_d * u_runs), k = fetch(u_x, base);
    // two chains of sums a turn (SwiftShader runs independent chains side by side): of
    // x - K, (x - K)^2 and, backward, gw and gw (x - K)
    vec2 s0 = vec2(0.0), s1 = vec2(0.0);
#if PASS == 1
    vec2 t0 = vec2(0.0), t1 = vec2(0.0);
#endif
    for (int o = 0; o < u_runs; ++o) {
        int at = base + o * u_runstride;
        int j = 0;
        for (; j + 1 < u_d; j += 2) {
            ADD(s0, t0, at, j)
            ADD(s1, t1, at, j + 1)
        }
        if (j < u_d) ADD(s0, t0, at, j)
    }
    vec2 s = (s0 + s1) / n;     // E[x - K], E[(x - K)^2]
    float var = max(s.y - s.x * s.x, 0.0);
    float rstd = 1.0 / sqrt(var + u_eps);
    emit(k + s.x);
    o_color1 = vec4(stored(rstd), 0.0, 0.0, 1.0);
#if PASS == 1
    vec2 t = (t0 + t1) / n;     // E[gw], E[gw (x - K)]
    o_color2 = vec4(stored(t.x), 0.0, 0.0, 1.0);
    o_color3 = vec4(stored((t.y - s.x * t.x) * rstd), 0.0, 0.0, 1.0);
#elif VAR
    o_color2 = vec4(stored(var), 0.0, 0.0, 1.0);
#endif
}
#endif
