// cat of two inputs along u_axis (the backend folds longer lists pairwise).
uniform sampler2D u_a;
uniform int u_a_w;
uniform int u_a_st[6];
uniform sampler2D u_b;
uniform int u_b_w;
uniform int u_b_st[6];
uniform int u_axis;
uniform int u_split;

void main() {
    int c[6];
    unravel(out_index(), c);
    int n = c[u_axis];
    if (n < u_split) {
        emit(fetch(u_a, u_a_w, dot6(c, u_a_st)));
    } else {
        c[u_axis] = n - u_split;
        emit(fetch(u_b, u_b_w, dot6(c, u_b_st)));
    }
}
