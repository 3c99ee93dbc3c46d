// cat of N (<= 8) inputs along u_axis: the output coordinate along the axis picks the input
// (u_ends holds each input's end offset along the axis). The inputs are int textures
// exactly when the output is (OUT_INT): cat's inputs share its dtype. One declaration a
// line: bridge.Programs rewrites a split input's.
#ifdef OUT_INT
uniform isampler2D u_in0;
uniform isampler2D u_in1;
uniform isampler2D u_in2;
uniform isampler2D u_in3;
uniform isampler2D u_in4;
uniform isampler2D u_in5;
uniform isampler2D u_in6;
uniform isampler2D u_in7;
#define T int
#else
uniform sampler2D u_in0;
uniform sampler2D u_in1;
uniform sampler2D u_in2;
uniform sampler2D u_in3;
uniform sampler2D u_in4;
uniform sampler2D u_in5;
uniform sampler2D u_in6;
uniform sampler2D u_in7;
#define T float
#endif
uniform int u_ends[8];
uniform int u_axis;
uniform int u_inner;      // elements after the axis (the product of the later dims)

T pick(int k, int i) {
    if (k == 0) return fetch(u_in0, i);
#if N > 1
    if (k == 1) return fetch(u_in1, i);
#endif
#if N > 2
    if (k == 2) return fetch(u_in2, i);
#endif
#if N > 3
    if (k == 3) return fetch(u_in3, i);
#endif
#if N > 4
    if (k == 4) return fetch(u_in4, i);
#endif
#if N > 5
    if (k == 5) return fetch(u_in5, i);
#endif
#if N > 6
    if (k == 6) return fetch(u_in6, i);
#endif
#if N > 7
    if (k == 7) return fetch(u_in7, i);
#endif
    return T(0);
}

#ifdef ROWS
// one input copied into rows u_rows.x .. u_rows.x + u_rows.y - 1 of the output (the draw's
// viewport): the output's texel (x, y) is the input's element (y - u_rows.x) * maxWidth + x
// (at the same texel where the input is wide too; an input of one row's elements is small)
uniform ivec2 u_rows;

void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    emit(fetch(u_in0, ((p.y - u_rows.x) << LOG2W) + p.x));
}
#else
void main() {
    int i = out_index();
    int total = u_ends[N - 1];
    int outer = i / (total * u_inner);
    int a = (i / u_inner) % total;
    int inner = i % u_inner;
    int k = 0, start = 0;
    for (int j = 0; j < N - 1; ++j) {
        if (a >= u_ends[j]) { k = j + 1; start = u_ends[j]; }
    }
    int size = u_ends[k] - start;
    emit(pick(k, (outer * size + (a - start)) * u_inner + inner));
}
#endif
