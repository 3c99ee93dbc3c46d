// The operands of a convolution for matmul.wgsl (and conv2d_few.wgsl), output matrix z the
// image z of the batch: A is the weight (O rows of C * kh * kw, read in place at its offset,
// rows u_w_row apart), B the image's patch matrix (C * kh * kw rows, Ho * Wo columns), each
// element gathered from the image (N, C, H, W) as the tile is loaded -- zero outside it
// (padding) -- so no im2col buffer is written. The kernel's size is KH x KW, consts from
// Python (divisions by them compile to multiplies); a column's patch position is computed
// once per invocation (b_col), not per element. The image's values come from `image(o, c,
// at)`, appended by Python (conv.py's image_code): channel c's element at offset `at` of image
// o read from u_b, or where the image is a cat along the channels from its parts (u_b, u_b1,
// ...: conv.py's deferred cat), so that the cat itself need not run.
var<private> u_x: vec4<i32>;            // C, H, W, Wo
var<private> u_stride: vec2<i32>;
var<private> u_dil: vec2<i32>;
var<private> u_pad: vec2<i32>;          // top, left
var<private> u_w_row: i32;              // the weight's row stride
var<private> u_a_off: i32;              // the weight's offset
var<storage, read> u_a: array<f32>;     // weight
const TAPS: i32 = KH * KW;

// the weight's offset; image z's offset in one channel plane's units (times H * W)
fn offsets(z: i32) -> vec2<i32> { return vec2<i32>(u_a_off, z * u_x.y * u_x.z); }

fn a_at(o: i32, r: i32, k: i32) -> f32 { return u_a[o + r * u_w_row + k]; }

// the input position of output column p's top-left tap
fn b_col(p: i32) -> vec2<i32> {
    let oh = p / u_x.w;
    let ow = p - oh * u_x.w;
    return vec2<i32>(oh * u_stride.x - u_pad.x, ow * u_stride.y - u_pad.y);
}

fn b_at(o: i32, k: i32, q: vec2<i32>) -> f32 {
    let c = k / TAPS;
    let t = k - c * TAPS;
    let ki = t / KW;
    let kj = t - ki * KW;
    let h = q.x + ki * u_dil.x;
    let w = q.y + kj * u_dil.y;
    if (h < 0 || h >= u_x.y || w < 0 || w >= u_x.z) { return 0.0; }
    return image(o, c, (c * u_x.y + h) * u_x.z + w);
}
