// Direct conv2d (no im2col), a port of shaders/conv2d.glsl: out (N, O, Ho, Wo), zero
// padding, stride, dilation, groups; one invocation per output element.
var<storage, read> u_a: array<f32>;     // x (N, C, H, W)
var<storage, read> u_b: array<f32>;     // weight (O, C/groups, kh, kw)
var<storage, read> u_c: array<f32>;     // bias (O,), read when u_bias == 1
var<private> u_bias: i32;
var<private> u_x: vec4<i32>;            // C, H, W, C/groups
var<private> u_kernel: vec2<i32>;
var<private> u_stride: vec2<i32>;
var<private> u_dil: vec2<i32>;
var<private> u_pad: vec2<i32>;          // top, left
var<private> u_og: i32;                 // out channels per group

fn kernel(i: i32) -> f32 {
    let c = unravel(i);    // (1, 1, n, o, oh, ow)
    let n = c[2];
    let o = c[3];
    let cg = u_x.w;
    let ch0 = (o / u_og) * cg;
    let h0 = c[4] * u_stride.x - u_pad.x;
    let w0 = c[5] * u_stride.y - u_pad.y;
    let kk = u_kernel.x * u_kernel.y;
    var acc = 0.0;
    if (u_bias == 1) { acc = u_c[o]; }
    for (var ci = 0; ci < cg; ci++) {
        let xb = (n * u_x.x + ch0 + ci) * u_x.y;
        let wb = (o * cg + ci) * kk;
        for (var ki = 0; ki < u_kernel.x; ki++) {
            let h = h0 + ki * u_dil.x;
            if (h < 0 || h >= u_x.y) { continue; }
            for (var kj = 0; kj < u_kernel.y; kj++) {
                let w = w0 + kj * u_dil.y;
                if (w < 0 || w >= u_x.z) { continue; }
                acc += u_a[(xb + h) * u_x.z + w] * u_b[wb + ki * u_kernel.y + kj];
            }
        }
    }
    return acc;
}
