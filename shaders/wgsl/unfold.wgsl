// im2col: (N, C, H, W) -> (N, C*kh*kw, Ho*Wo) in PyTorch's order (a port of shaders/unfold.glsl).
var<storage, read> u_a: array<f32>;
var<private> u_x: vec4<i32>;         // C, H, W, Wo
var<private> u_kernel: vec2<i32>;
var<private> u_dil: vec2<i32>;
var<private> u_stride: vec2<i32>;

fn kernel(i: i32) -> f32 {
    let c = unravel(i);   // (1, 1, 1, n, ckk, l)
    let kk = u_kernel.x * u_kernel.y;
    let ch = c[4] / kk;
    let ki = (c[4] / u_kernel.y) % u_kernel.x;
    let kj = c[4] % u_kernel.y;
    let h = (c[5] / u_x.w) * u_stride.x + ki * u_dil.x;
    let w = (c[5] % u_x.w) * u_stride.y + kj * u_dil.y;
    return u_a[((c[3] * u_x.x + ch) * u_x.y + h) * u_x.z + w];
}
