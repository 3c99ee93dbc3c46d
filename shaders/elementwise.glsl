// Elementwise ops: op_<name>, one function per primitive of webdl/ops/elementwise.py but
// where (a ternary in the generated code); unary ones take two scalar parameters. The WebGL
// backend fuses chains of them into one generated main() (webdl/backends/webgl/ir.py), with
// shapes and parameters as uniforms.

float op_neg(float x, float a, float b) { return -x; }
float op_abs(float x, float a, float b) { return abs(x); }
float op_sign(float x, float a, float b) { return is_nan(x) ? x : sign(x); }
// log with IEEE behaviour at the edges (common.glsl's safe_exp likewise for exp)
float op_exp(float x, float a, float b) { return safe_exp(x); }
float op_log(float x, float a, float b) {
    if (is_nan(x) || x < 0.0) return NAN;
    if (x == 0.0) return -INF;
    return is_inf(x) ? x : log(x);
}
float op_log1p(float x, float a, float b) {
    float u = 1.0 + x;
    if (is_nan(x) || x < -1.0) return NAN;
    if (is_inf(x)) return x;
    if (u == 1.0) return x;
    return u == 0.0 ? -INF : log(u) * x / (u - 1.0);
}
float op_sqrt(float x, float a, float b) { return x < 0.0 ? NAN : sqrt(x); }
float op_rsqrt(float x, float a, float b) { return x < 0.0 ? NAN : (x == 0.0 ? INF : 1.0 / sqrt(x)); }
float op_sin(float x, float a, float b) { return sin(x); }
float op_cos(float x, float a, float b) { return cos(x); }
float op_tan(float x, float a, float b) { return tan(x); }
float op_tanh(float x, float a, float b) {
    if (is_nan(x)) return x;
    float t = safe_exp(-2.0 * abs(x));
    return sign(x) * (1.0 - t) / (1.0 + t);
}
float op_sigmoid(float x, float a, float b) { return 1.0 / (1.0 + safe_exp(-x)); }
float op_relu(float x, float a, float b) { return (x > 0.0 || is_nan(x)) ? x : 0.0; }
float op_leaky_relu(float x, float slope, float b) { return x > 0.0 ? x : x * slope; }
float erfc_nr(float z) {
    // Numerical Recipes erfc, fractional error < 1.2e-7 (same formula as the reference)
    float a = abs(z);
    float t = 1.0 / (1.0 + 0.5 * a);
    float p = -a * a - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
        -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (
        -0.82215223 + t * 0.17087277))))))));
    float r = t * safe_exp(p);
    return z >= 0.0 ? r : 2.0 - r;
}
float op_erf(float x, float a, float b) { return 1.0 - erfc_nr(x); }
float op_gelu(float x, float approx, float b) {
    if (is_inf(x)) return NAN;    // as PyTorch
    if (approx > 0.5) {
        float inner = 0.7978845608028654 * (x + 0.044715 * x * x * x);
        return 0.5 * x * (1.0 + op_tanh(inner, 0.0, 0.0));
    }
    return 0.5 * x * erfc_nr(-x * 0.7071067811865476);
}
float op_softplus(float x, float beta, float threshold) {
    float bx = x * beta;
    return (bx > threshold || is_nan(x)) ? x : op_log1p(safe_exp(bx), 0.0, 0.0) / beta;
}
float op_clamp(float x, float lo, float hi) {
    if (is_nan(x)) return x;    // else a compiler may make the selects a NaN-dropping max/min
    float y = x < lo ? lo : x;
    return x > hi ? hi : y;
}
bool is_int(float e) { return floor(e) == e; }
// pow with C's (and PyTorch's) rules for zeros, negatives and infinities
float torch_pow(float x, float e) {
    if (e == 0.0) return 1.0;
    if (is_nan(x) || is_nan(e)) return NAN;
    bool odd = is_int(e) && mod(abs(e), 2.0) == 1.0;
    if (is_inf(x)) {
        float r = e > 0.0 ? INF : 0.0;
        return (x < 0.0 && odd) ? -r : r;
    }
    if (is_inf(e)) {
        float ax = abs(x);
        if (ax == 1.0) return 1.0;
        return (ax > 1.0) == (e > 0.0) ? INF : 0.0;
    }
    if (x == 0.0) return e > 0.0 ? 0.0 : INF;
    if (x < 0.0) {
        if (!is_int(e)) return NAN;
        float r = pow(-x, e);
        return odd ? -r : r;
    }
    return pow(x, e);
}
float op_pow_scalar(float x, float e, float b) { return torch_pow(x, e); }
float op_pow(float x, float e) { return torch_pow(x, e); }
float op_floor(float x, float a, float b) { return floor(x); }
float op_isnan(float x, float a, float b) { return is_nan(x) ? 1.0 : 0.0; }
float op_isinf(float x, float a, float b) { return is_inf(x) ? 1.0 : 0.0; }
float op_isfinite(float x, float a, float b) { return is_nan(x) || is_inf(x) ? 0.0 : 1.0; }
float op_logical_not(float x, float a, float b) { return x == 0.0 ? 1.0 : 0.0; }
// cast: a = 0 float32, 1 int64 (truncate toward zero), 2 bool
float op_cast(float x, float to, float b) {
    if (to == 1.0) return trunc(x);
    if (to == 2.0) return x != 0.0 ? 1.0 : 0.0;
    return x;
}

float op_add(float x, float y) { return x + y; }
float op_sub(float x, float y) { return x - y; }
float op_floor_divide(float x, float y) { return y == 0.0 ? 0.0 : floor(x / y); }
float op_mul(float x, float y) { return x * y; }
float op_div(float x, float y) { return x / y; }
float op_maximum(float x, float y) { return is_nan(x) || is_nan(y) ? NAN : max(x, y); }
float op_minimum(float x, float y) { return is_nan(x) || is_nan(y) ? NAN : min(x, y); }
float op_eq(float x, float y) { return x == y ? 1.0 : 0.0; }
float op_ne(float x, float y) { return x != y ? 1.0 : 0.0; }
float op_lt(float x, float y) { return x < y ? 1.0 : 0.0; }
float op_le(float x, float y) { return x <= y ? 1.0 : 0.0; }
float op_gt(float x, float y) { return x > y ? 1.0 : 0.0; }
float op_ge(float x, float y) { return x >= y ? 1.0 : 0.0; }
float op_logical_and(float x, float y) { return (x != 0.0 && y != 0.0) ? 1.0 : 0.0; }
float op_logical_or(float x, float y) { return (x != 0.0 || y != 0.0) ? 1.0 : 0.0; }
float op_logical_xor(float x, float y) { return ((x != 0.0) != (y != 0.0)) ? 1.0 : 0.0; }

// int64 results (int textures): the int overloads, exact over int32 (overflow wraps, as
// int32 would). Unary ones take two int parameters (ir.int_param). A comparison of two
// ints compares ints (floats past 2**24 would merge neighbours).
int op_neg(int x, int a, int b) { return -x; }
int op_abs(int x, int a, int b) { return abs(x); }
int op_sign(int x, int a, int b) { return sign(x); }
int op_relu(int x, int a, int b) { return max(x, 0); }
int op_floor(int x, int a, int b) { return x; }
int op_clamp(int x, int lo, int hi) { return min(max(x, lo), hi); }
// x ** e by squaring; a negative e gives C's integer result (0 unless |x| is 1)
int int_pow(int x, int e) {
    if (e < 0) return x == 1 ? 1 : (x == -1 ? ((e & 1) == 1 ? -1 : 1) : 0);
    int r = 1;
    for (int i = 0; i < 32 && e > 0; ++i) {
        if ((e & 1) == 1) r *= x;
        x *= x;
        e >>= 1;
    }
    return r;
}
int op_pow_scalar(int x, int e, int b) { return int_pow(x, e); }
int op_pow(int x, int e) { return int_pow(x, e); }
int op_add(int x, int y) { return x + y; }
int op_sub(int x, int y) { return x - y; }
int op_mul(int x, int y) { return x * y; }
// floor division on magnitudes (GLSL leaves / of negative ints undefined); x // 0 is 0
int op_floor_divide(int x, int y) {
    if (y == 0) return 0;
    uint ax = uint(abs(x)), ay = uint(abs(y));     // abs(-2**31) wraps; as uint it is 2**31
    uint q = ax / ay;
    if ((x < 0) == (y < 0)) return int(q);
    return -int(q) - (q * ay != ax ? 1 : 0);
}
int op_maximum(int x, int y) { return max(x, y); }
int op_minimum(int x, int y) { return min(x, y); }
float op_eq(int x, int y) { return x == y ? 1.0 : 0.0; }
float op_ne(int x, int y) { return x != y ? 1.0 : 0.0; }
float op_lt(int x, int y) { return x < y ? 1.0 : 0.0; }
float op_le(int x, int y) { return x <= y ? 1.0 : 0.0; }
float op_gt(int x, int y) { return x > y ? 1.0 : 0.0; }
float op_ge(int x, int y) { return x >= y ? 1.0 : 0.0; }

// A product still in the render targets of the packed kernel that computed it (ir.Packed;
// pick8 in common.glsl). unpack8: a matmul's (matmul_packed.glsl): element f of the (batch,
// n, m) product is channel j % 4 of texel (j / 4, b * n8 + i / 8) of target i % 8. mm: (m,
// n, n8); unpack8p: (log2 m, log2 n, n8), both powers of two, so shifts and masks, no
// integer division (slow on SwiftShader).
float unpack8(PACKED8, int f, ivec4 mm) {
    int j = f % mm.x, rest = f / mm.x;
    int i = rest % mm.y, b = rest / mm.y;
    return pick8(t0, t1, t2, t3, t4, t5, t6, t7, ivec2(j >> 2, b * mm.z + (i >> 3)),
                 i & 7)[j & 3];
}
float unpack8p(PACKED8, int f, ivec4 mm) {
    int j = f & ((1 << mm.x) - 1), rest = f >> mm.x;
    int i = rest & ((1 << mm.y) - 1), b = rest >> mm.y;
    return pick8(t0, t1, t2, t3, t4, t5, t6, t7, ivec2(j >> 2, b * mm.z + (i >> 3)),
                 i & 7)[j & 3];
}
// unpackc: a convolution's (conv2d_packed.glsl): element f of the (N, O, Ho, Wo) output is
// channel o % 4 of texel (w / cols + (row / R) * wq, row % R) of target w % cols, where row =
// (n * O4 + o / 4) * Ho + h. y: (Wo, Ho, O, O4); q: (wq, R); cols targets (t0 repeated past
// them).
float unpackc(PACKED8, int f, ivec4 y, ivec2 q, int cols) {
    int w = f % y.x, r = f / y.x;
    int h = r % y.y;
    r /= y.y;
    int o = r % y.z, n = r / y.z;
    int row = (n * y.w + (o >> 2)) * y.y + h;
    return pick8(t0, t1, t2, t3, t4, t5, t6, t7, ivec2(w / cols + (row / q.y) * q.x, row % q.y),
                 w % cols)[o & 3];
}
