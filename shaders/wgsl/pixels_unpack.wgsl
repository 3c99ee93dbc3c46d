// An image's bytes (uint8 uploaded as they are: four a word, the first in the low byte) as
// float32 values times u_scale. One invocation per value.
var<private> u_scale: f32;
var<storage, read> u_in: array<u32>;

fn kernel(i: i32) -> f32 {
    return f32((u_in[i / 4] >> (8u * u32(i % 4))) & 255u) * u_scale;
}
