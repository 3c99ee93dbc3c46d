// unslice: `value` everywhere, the input placed at start + i * step along every axis.
uniform sampler2D u_a;
uniform int u_a_shape[6];
uniform int u_start[6];
uniform int u_step[6];
uniform float u_value;

void main() {
    int c[6];
    unravel(out_index(), c);
    int src = 0;
    for (int d = 0; d < 6; ++d) {
        int r = c[d] - u_start[d];
        if (r < 0 || r % u_step[d] != 0 || r / u_step[d] >= u_a_shape[d]) {
            emit(u_value);
            return;
        }
        src = src * u_a_shape[d] + r / u_step[d];
    }
    emit(fetch(u_a, src));
}
