// cat of N (<= 8) inputs along u_axis (a port of shaders/cat.glsl): the output coordinate
// along the axis picks the input (u_ends holds each input's end offset along the axis).
// All eight inputs are bound (unused ones to the first input).
var<storage, read> u_in0: array<f32>;
var<storage, read> u_in1: array<f32>;
var<storage, read> u_in2: array<f32>;
var<storage, read> u_in3: array<f32>;
var<storage, read> u_in4: array<f32>;
var<storage, read> u_in5: array<f32>;
var<storage, read> u_in6: array<f32>;
var<storage, read> u_in7: array<f32>;
var<private> u_ends: array<i32, 8>;
var<private> u_axis: i32;
var<private> u_inner: i32;      // elements after the axis (the product of the later dims)

fn pick(k: i32, i: i32) -> f32 {
    switch k {
        case 0: { return u_in0[i]; }
        case 1: { return u_in1[i]; }
        case 2: { return u_in2[i]; }
        case 3: { return u_in3[i]; }
        case 4: { return u_in4[i]; }
        case 5: { return u_in5[i]; }
        case 6: { return u_in6[i]; }
        default: { return u_in7[i]; }
    }
}

fn kernel(i: i32) -> f32 {
    let total = u_ends[N - 1];
    let outer = i / (total * u_inner);
    let a = (i / u_inner) % total;
    let inner = i % u_inner;
    var k = 0;
    var start = 0;
    for (var j = 0; j < N - 1; j++) {
        if (a >= u_ends[j]) { k = j + 1; start = u_ends[j]; }
    }
    let size = u_ends[k] - start;
    return pick(k, (outer * size + (a - start)) * u_inner + inner);
}
