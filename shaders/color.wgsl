// The decode edge on the GPU: straight 8-bit texels to premultiplied colour
// in the blend space. Keep in sync with src/color.rs `premultiply_rgba8`
// (same operations in the same order; `srgb_lut` is the same 256-entry table).

// Blend space codes: `SPACE_*` in src/gpu/params.rs.
const SPACE_SRGB: u32 = 0u;
const SPACE_LINEAR: u32 = 1u;

// A straight rgba8unorm texel back to its 8-bit integers.
fn texel_bytes(t: vec4<f32>) -> vec4<u32> {
    return vec4<u32>(round(clamp(t, vec4<f32>(0.0), vec4<f32>(1.0)) * 255.0));
}

fn premultiply_bytes(p: vec4<u32>, space: u32) -> vec4<f32> {
    let inv = 1.0 / 255.0;
    let a = f32(p.w) * inv;
    if (space == SPACE_LINEAR) {
        return vec4<f32>(srgb_lut[p.x] * a, srgb_lut[p.y] * a, srgb_lut[p.z] * a, a);
    }
    return vec4<f32>(f32(p.x) * inv * a, f32(p.y) * inv * a, f32(p.z) * inv * a, a);
}
