// col2im, the adjoint of unfold: (N, C*kh*kw, Ho*Wo) -> (N, C, H, W), overlaps summed (a port
// of shaders/fold.glsl).
var<storage, read> u_a: array<f32>;
var<private> u_out: vec2<i32>;       // Ho, Wo (windows)
var<private> u_kernel: vec2<i32>;
var<private> u_dil: vec2<i32>;
var<private> u_stride: vec2<i32>;

fn kernel(i: i32) -> f32 {
    let c = unravel(i);   // (1, 1, n, ch, h, w)
    let C = u_shape[3];
    let kk = u_kernel.x * u_kernel.y;
    let L = u_out.x * u_out.y;
    var acc = 0.0;
    for (var ki = 0; ki < u_kernel.x; ki++) {
        let hh = c[4] - ki * u_dil.x;
        if (hh < 0 || hh % u_stride.x != 0) { continue; }
        let oh = hh / u_stride.x;
        if (oh >= u_out.x) { continue; }
        for (var kj = 0; kj < u_kernel.y; kj++) {
            let ww = c[5] - kj * u_dil.y;
            if (ww < 0 || ww % u_stride.y != 0) { continue; }
            let ow = ww / u_stride.y;
            if (ow >= u_out.y) { continue; }
            let row = c[3] * kk + ki * u_kernel.y + kj;
            acc += u_a[(c[2] * C * kk + row) * L + oh * u_out.y + ow];
        }
    }
    return acc;
}
