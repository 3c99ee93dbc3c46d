#version 300 es
// Shared by every kernel. Layout: a tensor is an R32F texture (R16F on the float16 path)
// holding its elements in row-major order, element i at texel (i % width, i / width); an
// int64 tensor's texture is R32I on either path (an isampler2D; exact over the int32
// range). Shapes are padded to 6 dims with leading 1s and passed as uniforms, so one
// program (a kernel compiled with one set of #defines) serves every shape. The backend
// defines OUT_INT when the output (location 0) is an int texture, and INT_<sampler> for
// each int texture a draw reads (see backends/webgl/__init__.py's draw); a kernel that may
// read ints declares those samplers isampler2D under them (fetch, emit and is_nan have int
// overloads).
precision highp float;
precision highp int;
precision highp sampler2D;
precision highp isampler2D;

#ifdef OUT_INT
layout(location = 0) out ivec4 o_color;
#else
layout(location = 0) out vec4 o_color;
#endif
uniform int u_shape[6];    // output shape, padded to 6 dims

const float INF = uintBitsToFloat(0x7f800000u);
const float NAN = uintBitsToFloat(0x7fc00000u);

// by the bits, not isnan()/isinf() or x != x: a GPU compiler may assume floats are finite
bool is_nan(float x) { return (floatBitsToUint(x) & 0x7fffffffu) > 0x7f800000u; }
bool is_inf(float x) { return (floatBitsToUint(x) & 0x7fffffffu) == 0x7f800000u; }
bool is_nan(int x) { return false; }

// exp with IEEE behaviour at the edges (GPU builtins may not honour infinities)
float safe_exp(float x) {
    if (is_nan(x)) return x;
    if (x > 88.7228) return INF;
    if (x < -103.9721) return 0.0;
    return exp(x);
}

// A tensor of more than 2^LOG2W elements has a texture 2^LOG2W wide (LOG2W is defined by
// the backend), element i at (i mod 2^LOG2W, i / 2^LOG2W): shifts and masks, no integer
// division (which SwiftShader does one lane at a time). Smaller ones: see out_index.
//
// A split tensor (more elements than one texture holds) is a texture array of layers of
// 2^LOG2R rows: element i at (i mod 2^LOG2W, (i / 2^LOG2W) mod 2^LOG2R) of layer
// i / 2^(LOG2W + LOG2R). A kernel reads one through the sampler2DArray overload of fetch
// (the backend declares the sampler so), and draws into one layer by layer: compiled with
// SPLIT_OUT, it is told the layer in u_layer.
#ifdef SPLIT_OUT
uniform int u_layer;
#endif

// A small tensor (at most 2^LOG2W elements) is 2^LOG2S wide instead, element i at
// (i mod 2^LOG2S, i / 2^LOG2S): many short rows, which a software rasteriser spreads over
// its threads (one long row runs on one, at half its SIMD width). A kernel reads a small
// one through fetch_s (the backend rewrites its fetch calls so) and draws into one compiled
// with SMALL_OUT.
int out_index() {
    ivec2 p = ivec2(gl_FragCoord.xy);
#ifdef SPLIT_OUT
    return (u_layer << (LOG2W + LOG2R)) + (p.y << LOG2W) + p.x;
#elif defined(SMALL_OUT)
    return (p.y << LOG2S) + p.x;
#else
    return (p.y << LOG2W) + p.x;
#endif
}
float fetch_s(sampler2D t, int i) {
    return texelFetch(t, ivec2(i & ((1 << LOG2S) - 1), i >> LOG2S), 0).r;
}
int fetch_s(isampler2D t, int i) {
    return texelFetch(t, ivec2(i & ((1 << LOG2S) - 1), i >> LOG2S), 0).r;
}

float fetch(sampler2D t, int i) {
    return texelFetch(t, ivec2(i & ((1 << LOG2W) - 1), i >> LOG2W), 0).r;
}

float fetch(highp sampler2DArray t, int i) {
    return texelFetch(t, ivec3(i & ((1 << LOG2W) - 1), (i >> LOG2W) & ((1 << LOG2R) - 1),
                               i >> (LOG2W + LOG2R)), 0).r;
}

int fetch(isampler2D t, int i) {
    return texelFetch(t, ivec2(i & ((1 << LOG2W) - 1), i >> LOG2W), 0).r;
}

int fetch(highp isampler2DArray t, int i) {
    return texelFetch(t, ivec3(i & ((1 << LOG2W) - 1), (i >> LOG2W) & ((1 << LOG2R) - 1),
                               i >> (LOG2W + LOG2R)), 0).r;
}

// Texel ``at`` of target ``r`` of a packed kernel's render targets t0 .. t7 (a matmul's or
// a convolution's result still there, ir.Packed; a kernel with fewer targets passes its
// last one again): a tree of branches, since GLSL ES can't index an array of samplers by a
// variable.
#define PACKED8 sampler2D t0, sampler2D t1, sampler2D t2, sampler2D t3, \
    sampler2D t4, sampler2D t5, sampler2D t6, sampler2D t7
vec4 pick8(PACKED8, ivec2 at, int r) {
    if (r < 4) {
        if (r < 2) return r == 0 ? texelFetch(t0, at, 0) : texelFetch(t1, at, 0);
        return r == 2 ? texelFetch(t2, at, 0) : texelFetch(t3, at, 0);
    }
    if (r < 6) return r == 4 ? texelFetch(t4, at, 0) : texelFetch(t5, at, 0);
    return r == 6 ? texelFetch(t6, at, 0) : texelFetch(t7, at, 0);
}

void unravel(int i, out int c[6]) {
    for (int d = 5; d >= 0; --d) {
        c[d] = i % u_shape[d];
        i /= u_shape[d];
    }
}

int dot6(int c[6], int s[6]) {
    return c[0] * s[0] + c[1] * s[1] + c[2] * s[2] + c[3] * s[3] + c[4] * s[4] + c[5] * s[5];
}

// What a kernel stores goes through stored(). On the float16 path (HALF defined: the GPU
// renders to float16 textures only) a value past float16's range must be stored as an
// infinity, and GPUs differ on how they convert one: SwiftShader stores NaN for an
// infinity and for most finite values past it, but infinity for 65520 (the first value
// that rounds past 65504; gl.js's probe checks this). So every overflow is written as
// +-65520. Elsewhere stored() changes nothing.
float stored(float v) {
#ifdef HALF
    return abs(v) >= 65520.0 ? sign(v) * 65520.0 : v;
#else
    return v;
#endif
}

vec4 stored(vec4 v) {
#ifdef HALF
    return mix(v, sign(v) * 65520.0, greaterThanEqual(abs(v), vec4(65520.0)));
#else
    return v;
#endif
}

#ifdef OUT_INT
void emit(int v) {
    o_color = ivec4(v, 0, 0, 1);
}
#else
void emit(float v) {
    o_color = vec4(stored(v), 0.0, 0.0, 1.0);
}
#endif
