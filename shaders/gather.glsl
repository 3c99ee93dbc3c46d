// gather: out[c] = x[c with c[axis] = index[c]].
uniform sampler2D u_a;     // x
uniform int u_a_st[6];
uniform sampler2D u_b;     // index, the output's shape
uniform int u_axis;

void main() {
    int i = out_index();
    int c[6];
    unravel(i, c);
    c[u_axis] = int(fetch(u_b, i));
    emit(fetch(u_a, dot6(c, u_a_st)));
}
