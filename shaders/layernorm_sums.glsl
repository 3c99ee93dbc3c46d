// The row statistics' sums in chunks (layernorm.glsl's rows, for long ones on a hardware
// renderer, where one fragment per row leaves a few fragments each walking thousands of
// values -- a batch norm's channels: ~3 ms a pass on an H200): fragment (row, chunk) sums
// u_chunk consecutive values of its row (a row is u_runs runs of u_d values, u_runstride
// apart, from row * u_rowstride), about the row's first value K, as layernorm.glsl does.
// reduce.py adds the chunks (a sum each, K by a max: every chunk of a row writes the same)
// and finishes the statistics in an elementwise chain.
//   location 0: sum of x - K; 1: of (x - K)^2; PASS 0: 2: K.
//   PASS 1 (g the output's gradient, gw = g * w with WEIGHT, else g): 2: sum of gw;
//   3: of gw (x - K); 4: K.
#ifndef WEIGHT
#define WEIGHT 0
#endif
uniform int u_d;
uniform int u_runs;
uniform int u_runstride;
uniform int u_rowstride;
uniform int u_chunk;
uniform int u_chunks;
uniform sampler2D u_x;
layout(location = 1) out vec4 o_color1;
layout(location = 2) out vec4 o_color2;
#if PASS == 1
uniform sampler2D u_g;
#if WEIGHT
uniform sampler2D u_w;
#define GW(at, j) (fetch(u_g, (at) + (j)) * fetch(u_w, j))
#else
#define GW(at, j) fetch(u_g, (at) + (j))
#endif
layout(location = 3) out vec4 o_color3;
layout(location = 4) out vec4 o_color4;
#endif

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
        float d = fetch(u_x, at + j) - k;
        s += vec2(d, d * d);
#if PASS == 1
        float g = GW(at, j);
        t += vec2(g, g * d);
#endif
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
    o_color4 = vec4(stored(k), 0.0, 0.0, 1.0);
#else
    o_color2 = vec4(stored(k), 0.0, 0.0, 1.0);
#endif
}
