// Separable resampling on premultiplied colour (keep in sync with
// src/resample.rs `resample`): the horizontal pass premultiplies each source
// texel in the blend space *before* filtering, the vertical pass writes valid
// premultiplied colour (0 <= c <= a <= 1). Both read the same AxisWeights
// tables as the CPU.

// Keep in sync with `ResampleParams` in src/gpu/mod.rs.
struct ResampleParams {
    dst_w: u32,
    rows: u32,
    taps: u32,
    row_lo: u32,
    space: u32,
    dst_h: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> rp: ResampleParams;
@group(0) @binding(1) var src_tex: texture_2d<f32>;
@group(0) @binding(2) var<storage, read> starts: array<u32>;
@group(0) @binding(3) var<storage, read> weights: array<f32>;
@group(0) @binding(4) var<storage, read> srgb_lut: array<f32, 256>;
@group(0) @binding(5) var<storage, read_write> hbuf: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> out_buf: array<vec4<f32>>;

@compute @workgroup_size(16, 16)
fn horizontal(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= rp.dst_w || id.y >= rp.rows) { return; }
    let s = starts[id.x];
    let y = i32(rp.row_lo + id.y);
    var acc = vec4<f32>(0.0);
    for (var i = 0u; i < rp.taps; i = i + 1u) {
        let w = weights[id.x * rp.taps + i];
        if (w != 0.0) {
            let t = textureLoad(src_tex, vec2<i32>(i32(s + i), y), 0);
            acc = acc + w * premultiply_bytes(texel_bytes(t), rp.space);
        }
    }
    hbuf[id.y * rp.dst_w + id.x] = acc;
}

@compute @workgroup_size(16, 16)
fn vertical(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= rp.dst_w || id.y >= rp.dst_h) { return; }
    let s = starts[id.y] - rp.row_lo;
    var acc = vec4<f32>(0.0);
    for (var i = 0u; i < rp.taps; i = i + 1u) {
        let w = weights[id.y * rp.taps + i];
        if (w != 0.0 && s + i < rp.rows) {
            acc = acc + w * hbuf[(s + i) * rp.dst_w + id.x];
        }
    }
    let a = clamp(acc.a, 0.0, 1.0);
    out_buf[id.y * rp.dst_w + id.x] = vec4<f32>(clamp(acc.rgb, vec3<f32>(0.0), vec3<f32>(a)), a);
}
