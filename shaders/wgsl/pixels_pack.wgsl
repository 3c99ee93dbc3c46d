// out: u32
// Float values as bytes, four a word (the first in the low byte), each clamped to 0..255 and
// rounded half to even: an image's pixels, read back as uint8 -- a quarter of the floats'
// bytes and no conversion on the host. One invocation per word; u_n values in all.
var<private> u_n: i32;
var<storage, read> u_in: array<f32>;

fn kernel(i: i32) -> u32 {
    var w = 0u;
    for (var j = 0; j < 4; j++) {
        let k = 4 * i + j;
        if (k < u_n) {
            w = w | (u32(clamp(round(u_in[k]), 0.0, 255.0)) << (8u * u32(j)));
        }
    }
    return w;
}
