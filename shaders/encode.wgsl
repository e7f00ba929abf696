// The encode edge on the GPU: the premultiplied float canvas to straight 8-bit
// sRGB, rounded once. Keep in sync with src/cpu/kernels.rs (`encode_srgb_impl`,
// `encode_linear_impl`) and src/color.rs (`linear_to_srgb8`; `thresholds`
// and `buckets` are its tables).

// Keep in sync with `EncodeParams` in src/gpu/params.rs (16 bytes;
// src/gpu/contract_tests.rs compares names, offsets and types).
struct EncodeParams {
    canvas: vec2<u32>,
    space: u32,
    _pad: u32,
}

// `space` of the canvas (as in color.wgsl, which this module does not include).
const SPACE_SRGB: u32 = 0u;
const SPACE_LINEAR: u32 = 1u;

// Binding numbers: `shaders::encode` in src/gpu/shaders.rs.
const B_PARAMS: u32 = 0u;
const B_CANVAS: u32 = 1u;
const B_OUT_TEX: u32 = 2u;
const B_THRESHOLDS: u32 = 3u;
const B_BUCKETS: u32 = 4u;
const B_CANVAS_TEX: u32 = 5u;

@group(0) @binding(B_PARAMS) var<uniform> ep: EncodeParams;
@group(0) @binding(B_CANVAS) var<storage, read> acc_in: array<vec4<f32>>;
@group(0) @binding(B_OUT_TEX) var out_tex: texture_storage_2d<rgba8uint, write>;
@group(0) @binding(B_THRESHOLDS) var<storage, read> thresholds: array<f32, 257>;
@group(0) @binding(B_BUCKETS) var<storage, read> buckets: array<i32, 4096>;
// The fragment path's canvas (a float texture), read by `encode_texture`.
@group(0) @binding(B_CANVAS_TEX) var canvas_tex: texture_2d<f32>;

// src/color.rs `linear_to_srgb8`: bucket, then one step either way.
fn linear_to_srgb8(v_in: f32) -> u32 {
    let v = clamp(v_in, 0.0, 1.0);
    var k = buckets[u32(v * 4095.0)];
    if (thresholds[k + 1] <= v) { k = k + 1; }
    else if (thresholds[k] > v) { k = k - 1; }
    return u32(k);
}

// One premultiplied canvas pixel to straight 8-bit sRGB.
fn encode_pixel(p: vec4<f32>) -> vec4<u32> {
    let a = clamp(p.a, 0.0, 1.0);
    let a255 = a * 255.0;
    var out = vec4<u32>(0u);
    if (a255 > 0.5) {
        if (ep.space == SPACE_LINEAR) {
            let inv = 1.0 / a;
            out = vec4<u32>(
                linear_to_srgb8(p.r * inv),
                linear_to_srgb8(p.g * inv),
                linear_to_srgb8(p.b * inv),
                u32(round(a255)),
            );
        } else {
            let inv = 255.0 / a;
            let c = round(clamp(p.rgb * inv, vec3<f32>(0.0), vec3<f32>(255.0)));
            out = vec4<u32>(vec3<u32>(c), u32(round(a255)));
        }
    }
    return out;
}

// The compute path's canvas (a storage buffer).
@compute @workgroup_size(16, 16)
fn encode(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= ep.canvas.x || id.y >= ep.canvas.y) { return; }
    let p = acc_in[id.y * ep.canvas.x + id.x];
    textureStore(out_tex, vec2<i32>(i32(id.x), i32(id.y)), encode_pixel(p));
}

// The fragment path's canvas (a texture).
@compute @workgroup_size(16, 16)
fn encode_texture(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= ep.canvas.x || id.y >= ep.canvas.y) { return; }
    let q = vec2<i32>(i32(id.x), i32(id.y));
    textureStore(out_tex, q, encode_pixel(textureLoad(canvas_tex, q, 0)));
}
