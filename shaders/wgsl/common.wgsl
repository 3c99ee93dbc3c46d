// Shared by every WebGPU kernel (webdl/backends/webgpu/bridge.py puts it first). A tensor is
// a storage buffer of f32 in row-major order (int64 and bool stored as floats, as on WebGL).
// Uniforms are declared `var<private> u_name: type;`: bridge.py reads these declarations as
// the kernel's uniform schema, binds a uniform buffer of int32 words and generates load(),
// which copies the words into the variables. Shapes are padded to 6 dims with leading 1s.
// A kernel without its own main() defines `fn kernel(i: i32) -> f32`, the value of output
// element i, or `fn kernels(i: i32) -> vec4<f32>`, element i of each of its (up to four)
// outputs; bridge.py then appends the one-invocation-per-element main().
var<private> u_shape: array<i32, 6>;   // output shape
var<private> u_numel: i32;             // output elements
var<private> INF_BITS: u32 = 0x7f800000u;
var<private> NAN_BITS: u32 = 0x7fc00000u;

fn load() {}

fn inf() -> f32 { return bitcast<f32>(INF_BITS); }
fn nan() -> f32 { return bitcast<f32>(NAN_BITS); }
// by the bits: a compiler may assume x == x for floats
fn isnan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn isinf(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) == 0x7f800000u; }

fn unravel(i0: i32) -> array<i32, 6> {
    var c: array<i32, 6>;
    var i = i0;
    for (var d = 5; d >= 0; d--) {
        c[d] = i % u_shape[d];
        i = i / u_shape[d];
    }
    return c;
}

fn dot6(c: array<i32, 6>, s: array<i32, 6>) -> i32 {
    return c[0] * s[0] + c[1] * s[1] + c[2] * s[2] + c[3] * s[3] + c[4] * s[4] + c[5] * s[5];
}

// the flat index of this invocation (1-D dispatches split into rows of workgroups past
// the per-dimension limit: gpu.js splits x into x * y)
fn flat_index(g: vec3<u32>, nw: vec3<u32>) -> i32 {
    return i32(g.x + g.y * nw.x * 64u);
}
