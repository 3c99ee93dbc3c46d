// sum / amax / amin / argmax / argmin. Output element i reads the input at
//   u_off + dot(i unravelled over the kept dims u_keep, u_keep_st) + k1 * u_r1.y + k2 * u_r2.y
// for k1 < u_r1.x, k2 < u_r2.x: the reduced axes as at most two strided groups, read in
// place (a view such as a permute needs no copy first). Flat position k1 * u_r2.x + k2 is
// what argmax/argmin return. Long sums, maxima and minima run in chunks of at most 256
// positions, combined by further passes. Specialised by `#define OP SUM|MAX|MIN|ARGMAX|ARGMIN`.
// Integers stay integers: an int input (INT_u_a) is compared as int, an int output
// (OUT_INT: int64 sums, maxima, argmax/argmin's positions) accumulates as int, so sums in
// the int32 range and positions past 2**24 are exact.
#define SUM 0
#define MAX 1
#define MIN 2
#define ARGMAX 3
#define ARGMIN 4
uniform int u_keep[6];
uniform int u_keep_st[6];
uniform int u_off;
uniform ivec2 u_r1;       // outer group: count, stride
uniform ivec2 u_r2;       // inner group: count, stride
uniform int u_split;      // chunks per output (1: the whole reduction)
#ifdef INT_u_a
uniform isampler2D u_a;
#define A_T int
#else
uniform sampler2D u_a;
#define A_T float
#endif
#ifdef OUT_INT
#define O_T int
#else
#define O_T float
#endif

void main() {
    // with u_split > 1, output i holds the partial result of chunk i % u_split of the
    // reduced positions (a second pass combines the chunks: few outputs over many
    // positions then still run as many parallel fragments)
    int i = out_index();
    int total = u_r1.x * u_r2.x;
    int len = (total + u_split - 1) / u_split;
    int q0 = (i % u_split) * len;
    int q1 = min(q0 + len, total);
    i /= u_split;
    int base = u_off;
    for (int d = 5; d >= 0; --d) {
        base += (i % u_keep[d]) * u_keep_st[d];
        i /= u_keep[d];
    }
    // walk positions q0 .. q1 - 1 as (k1, k2), carrying k2 into k1
    int k2 = q0 % u_r2.x;
    int row = base + (q0 / u_r2.x) * u_r1.y;
#if OP == SUM
    O_T acc = O_T(0);
    if (u_r1.x == 1) {
        // one strided group: four independent sums a turn, no carry to test (SwiftShader
        // runs this loop 1.5-2x faster than the general one below)
        int st = u_r2.y, at = row + k2 * st, q = q0;
        O_T acc1 = O_T(0), acc2 = O_T(0), acc3 = O_T(0);
        for (; q + 3 < q1; q += 4) {
            acc += O_T(fetch(u_a, at));
            acc1 += O_T(fetch(u_a, at + st));
            acc2 += O_T(fetch(u_a, at + 2 * st));
            acc3 += O_T(fetch(u_a, at + 3 * st));
            at += 4 * st;
        }
        for (; q < q1; ++q) {
            acc += O_T(fetch(u_a, at));
            at += st;
        }
        acc += (acc1 + acc2) + acc3;
    } else {
        for (int q = q0; q < q1; ++q) {
            acc += O_T(fetch(u_a, row + k2 * u_r2.y));
            if (++k2 == u_r2.x) { k2 = 0; row += u_r1.y; }
        }
    }
    emit(acc);
#else
    A_T best = fetch(u_a, row + k2 * u_r2.y);
    int at = q0;
    for (int q = q0 + 1; q < q1; ++q) {
        if (++k2 == u_r2.x) { k2 = 0; row += u_r1.y; }
        A_T v = fetch(u_a, row + k2 * u_r2.y);
        if (is_nan(best)) break;                   // the first NaN wins, as in PyTorch
#if OP == MAX || OP == ARGMAX
        if (is_nan(v) || v > best) { best = v; at = q; }
#else
        if (is_nan(v) || v < best) { best = v; at = q; }
#endif
    }
#if OP == ARGMAX || OP == ARGMIN
    emit(O_T(at));
#else
    emit(O_T(best));
#endif
#endif
}
