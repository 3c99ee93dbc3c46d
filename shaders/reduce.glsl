// sum / amax / amin / argmax / argmin over the last axis of a (M, K) view: the backend
// first moves the reduced axes to the end (a permute) and flattens them into K.
// Specialised by `#define OP SUM|MAX|MIN|ARGMAX|ARGMIN`.
#define SUM 0
#define MAX 1
#define MIN 2
#define ARGMAX 3
#define ARGMIN 4
uniform sampler2D u_a;
uniform int u_a_w;
uniform int u_k;

void main() {
    int i = out_index();
    int base = i * u_k;
#if OP == SUM
    // pairwise-ish: four partial sums keep the rounding error lower than one running sum
    float s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    int k = 0;
    for (; k + 3 < u_k; k += 4) {
        s0 += fetch(u_a, u_a_w, base + k);
        s1 += fetch(u_a, u_a_w, base + k + 1);
        s2 += fetch(u_a, u_a_w, base + k + 2);
        s3 += fetch(u_a, u_a_w, base + k + 3);
    }
    for (; k < u_k; ++k) s0 += fetch(u_a, u_a_w, base + k);
    emit((s0 + s1) + (s2 + s3));
#else
    float best = fetch(u_a, u_a_w, base);
    int at = 0;
    for (int k = 1; k < u_k; ++k) {
        float v = fetch(u_a, u_a_w, base + k);
        if (isnan(best)) break;                    // the first NaN wins, as in PyTorch
#if OP == MAX || OP == ARGMAX
        if (isnan(v) || v > best) { best = v; at = k; }
#else
        if (isnan(v) || v < best) { best = v; at = k; }
#endif
    }
#if OP == ARGMAX || OP == ARGMIN
    emit(float(at));
#else
    emit(best);
#endif
#endif
}
