// sum / amax / amin / argmax / argmin. Output element i reads the input at
//   u_off + dot(i unravelled over the kept dims u_keep, u_keep_st) + k1 * u_r1.y + k2 * u_r2.y
// for k1 < u_r1.x, k2 < u_r2.x: the reduced axes as at most two strided groups, read in
// place (a view such as a permute needs no copy first). Flat position k1 * u_r2.x + k2 is
// what argmax/argmin return. Specialised by `#define OP SUM|MAX|MIN|ARGMAX|ARGMIN`.
#define SUM 0
#define MAX 1
#define MIN 2
#define ARGMAX 3
#define ARGMIN 4
uniform sampler2D u_a;
uniform int u_a_w;
uniform int u_keep[6];
uniform int u_keep_st[6];
uniform int u_off;
uniform ivec2 u_r1;       // outer group: count, stride
uniform ivec2 u_r2;       // inner group: count, stride

void main() {
    int i = out_index();
    int base = u_off;
    for (int d = 5; d >= 0; --d) {
        base += (i % u_keep[d]) * u_keep_st[d];
        i /= u_keep[d];
    }
    int s2 = u_r2.y;
#if OP == SUM
    // four partial sums keep the rounding error lower than one running sum
    float s0 = 0.0, t1 = 0.0, t2 = 0.0, t3 = 0.0;
    for (int k1 = 0; k1 < u_r1.x; ++k1) {
        int b = base + k1 * u_r1.y;
        int k = 0;
        for (; k + 3 < u_r2.x; k += 4) {
            s0 += fetch(u_a, u_a_w, b + k * s2);
            t1 += fetch(u_a, u_a_w, b + (k + 1) * s2);
            t2 += fetch(u_a, u_a_w, b + (k + 2) * s2);
            t3 += fetch(u_a, u_a_w, b + (k + 3) * s2);
        }
        for (; k < u_r2.x; ++k) s0 += fetch(u_a, u_a_w, b + k * s2);
    }
    emit((s0 + t1) + (t2 + t3));
#else
    float best = fetch(u_a, u_a_w, base);
    int at = 0;
    for (int k1 = 0; k1 < u_r1.x; ++k1) {
        int b = base + k1 * u_r1.y;
        for (int k2 = 0; k2 < u_r2.x; ++k2) {
            float v = fetch(u_a, u_a_w, b + k2 * s2);
            if (isnan(best)) break;                // the first NaN wins, as in PyTorch
#if OP == MAX || OP == ARGMAX
            if (isnan(v) || v > best) { best = v; at = k1 * u_r2.x + k2; }
#else
            if (isnan(v) || v < best) { best = v; at = k1 * u_r2.x + k2; }
#endif
        }
    }
#if OP == ARGMAX || OP == ARGMIN
    emit(float(at));
#else
    emit(best);
#endif
#endif
}
