// Elementwise ops: op_<name>, one function per primitive of webdl/ops/elementwise.py (a port
// of shaders/elementwise.glsl, same edge cases); unary ones take two scalar parameters,
// op_where is the ternary. The WebGPU backend fuses chains of them into one generated
// main() (webdl/backends/webgpu/codegen.py).
fn op_where(c: f32, a: f32, b: f32) -> f32 { return select(b, a, c != 0.0); }
fn op_neg(x: f32, a: f32, b: f32) -> f32 { return -x; }
fn op_abs(x: f32, a: f32, b: f32) -> f32 { return abs(x); }
fn op_sign(x: f32, a: f32, b: f32) -> f32 { return select(sign(x), x, isnan(x)); }
fn safe_exp(x: f32) -> f32 {
    if (isnan(x)) { return x; }
    if (x > 88.7228) { return inf(); }
    if (x < -103.9721) { return 0.0; }
    return exp(x);
}
fn op_exp(x: f32, a: f32, b: f32) -> f32 { return safe_exp(x); }
fn op_log(x: f32, a: f32, b: f32) -> f32 {
    if (isnan(x) || x < 0.0) { return nan(); }
    if (x == 0.0) { return -inf(); }
    if (isinf(x)) { return x; }
    return log(x);
}
fn op_log1p(x: f32, a: f32, b: f32) -> f32 {
    let u = 1.0 + x;
    if (isnan(x) || x < -1.0) { return nan(); }
    if (isinf(x)) { return x; }
    if (u == 1.0) { return x; }
    if (u == 0.0) { return -inf(); }
    return log(u) * x / (u - 1.0);
}
fn op_sqrt(x: f32, a: f32, b: f32) -> f32 { if (x < 0.0) { return nan(); } return sqrt(x); }
fn op_rsqrt(x: f32, a: f32, b: f32) -> f32 {
    if (x < 0.0) { return nan(); }
    if (x == 0.0) { return inf(); }
    return 1.0 / sqrt(x);
}
fn op_sin(x: f32, a: f32, b: f32) -> f32 { return sin(x); }
fn op_cos(x: f32, a: f32, b: f32) -> f32 { return cos(x); }
fn op_tan(x: f32, a: f32, b: f32) -> f32 { return tan(x); }
fn op_tanh(x: f32, a: f32, b: f32) -> f32 {
    if (isnan(x)) { return x; }
    let t = safe_exp(-2.0 * abs(x));
    return sign(x) * (1.0 - t) / (1.0 + t);
}
fn op_sigmoid(x: f32, a: f32, b: f32) -> f32 { return 1.0 / (1.0 + safe_exp(-x)); }
fn op_relu(x: f32, a: f32, b: f32) -> f32 { return select(0.0, x, x > 0.0 || isnan(x)); }
fn op_leaky_relu(x: f32, slope: f32, b: f32) -> f32 { return select(x * slope, x, x > 0.0); }
fn erfc_nr(z: f32) -> f32 {
    // Numerical Recipes erfc, fractional error < 1.2e-7 (same formula as the reference)
    let a = abs(z);
    let t = 1.0 / (1.0 + 0.5 * a);
    let p = -a * a - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
        -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (
        -0.82215223 + t * 0.17087277))))))));
    let r = t * safe_exp(p);
    return select(2.0 - r, r, z >= 0.0);
}
fn op_erf(x: f32, a: f32, b: f32) -> f32 { return 1.0 - erfc_nr(x); }
fn op_gelu(x: f32, approx: f32, b: f32) -> f32 {
    if (isinf(x)) { return nan(); }   // as PyTorch
    if (approx > 0.5) {
        let inner = 0.7978845608028654 * (x + 0.044715 * x * x * x);
        return 0.5 * x * (1.0 + op_tanh(inner, 0.0, 0.0));
    }
    return 0.5 * x * erfc_nr(-x * 0.7071067811865476);
}
fn op_softplus(x: f32, beta: f32, threshold: f32) -> f32 {
    let bx = x * beta;
    if (bx > threshold || isnan(x)) { return x; }
    return op_log1p(safe_exp(bx), 0.0, 0.0) / beta;
}
fn op_clamp(x: f32, lo: f32, hi: f32) -> f32 {
    if (isnan(x)) { return x; }    // else a compiler may make the selects a NaN-dropping max/min
    let y = select(x, lo, x < lo);
    return select(y, hi, x > hi);
}
fn is_int(e: f32) -> bool { return floor(e) == e; }
// pow with C's (and PyTorch's) rules for zeros, negatives and infinities
fn torch_pow(x: f32, e: f32) -> f32 {
    if (e == 0.0) { return 1.0; }
    if (isnan(x) || isnan(e)) { return nan(); }
    let odd = is_int(e) && abs(e) % 2.0 == 1.0;
    if (isinf(x)) {
        let r = select(0.0, inf(), e > 0.0);
        return select(r, -r, x < 0.0 && odd);
    }
    if (isinf(e)) {
        let ax = abs(x);
        if (ax == 1.0) { return 1.0; }
        return select(0.0, inf(), (ax > 1.0) == (e > 0.0));
    }
    if (x == 0.0) { return select(inf(), 0.0, e > 0.0); }
    if (x < 0.0) {
        if (!is_int(e)) { return nan(); }
        let r = pow(-x, e);
        return select(r, -r, odd);
    }
    return pow(x, e);
}
fn op_pow_scalar(x: f32, e: f32, b: f32) -> f32 { return torch_pow(x, e); }
fn op_pow(x: f32, e: f32) -> f32 { return torch_pow(x, e); }
fn op_floor(x: f32, a: f32, b: f32) -> f32 { return floor(x); }
fn op_isnan(x: f32, a: f32, b: f32) -> f32 { return select(0.0, 1.0, isnan(x)); }
fn op_isinf(x: f32, a: f32, b: f32) -> f32 { return select(0.0, 1.0, isinf(x)); }
fn op_isfinite(x: f32, a: f32, b: f32) -> f32 { return select(1.0, 0.0, isnan(x) || isinf(x)); }
fn op_logical_not(x: f32, a: f32, b: f32) -> f32 { return select(0.0, 1.0, x == 0.0); }
// cast: a = 0 float32, 1 int64 (truncate toward zero), 2 bool
fn op_cast(x: f32, to: f32, b: f32) -> f32 {
    if (to == 1.0) { return trunc(x); }
    if (to == 2.0) { return select(0.0, 1.0, x != 0.0); }
    return x;
}

fn op_add(x: f32, y: f32) -> f32 { return x + y; }
fn op_sub(x: f32, y: f32) -> f32 { return x - y; }
fn op_floor_divide(x: f32, y: f32) -> f32 { if (y == 0.0) { return 0.0; } return floor(x / y); }
fn op_mul(x: f32, y: f32) -> f32 { return x * y; }
fn op_div(x: f32, y: f32) -> f32 { return x / y; }
fn op_maximum(x: f32, y: f32) -> f32 { if (isnan(x) || isnan(y)) { return nan(); } return max(x, y); }
fn op_minimum(x: f32, y: f32) -> f32 { if (isnan(x) || isnan(y)) { return nan(); } return min(x, y); }
fn op_eq(x: f32, y: f32) -> f32 { return select(0.0, 1.0, x == y); }
// NaN != anything (SwiftShader compiles != as an ordered comparison)
fn op_ne(x: f32, y: f32) -> f32 { return select(0.0, 1.0, x != y || isnan(x) || isnan(y)); }
fn op_lt(x: f32, y: f32) -> f32 { return select(0.0, 1.0, x < y); }
fn op_le(x: f32, y: f32) -> f32 { return select(0.0, 1.0, x <= y); }
fn op_gt(x: f32, y: f32) -> f32 { return select(0.0, 1.0, x > y); }
fn op_ge(x: f32, y: f32) -> f32 { return select(0.0, 1.0, x >= y); }
fn op_logical_and(x: f32, y: f32) -> f32 { return select(0.0, 1.0, x != 0.0 && y != 0.0); }
fn op_logical_or(x: f32, y: f32) -> f32 { return select(0.0, 1.0, x != 0.0 || y != 0.0); }
fn op_logical_xor(x: f32, y: f32) -> f32 { return select(0.0, 1.0, (x != 0.0) != (y != 0.0)); }
