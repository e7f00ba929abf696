// Separable resampling on premultiplied colour (keep in sync with
// src/cpu/resample.rs `resample`): the first pass premultiplies each source
// texel in the blend space *before* filtering, the second pass writes valid
// premultiplied colour (0 <= c <= a <= 1). Both read the same AxisWeights
// tables as the CPU, in the pass order and bands of `PassPlan`: one dispatch
// pair per band of output rows `k0 .. k0 + band_rows`, reading source rows
// `row_lo .. row_lo + rows`.
//
// Horizontal first: `horizontal` (texture -> mid, one row per source row
// read), then `vertical` (mid -> out).
// Vertical first: `vertical_tex` (texture -> mid, one row per output row of
// the band, source columns `col_lo .. col_lo + cols`), then
// `horizontal_buf` (mid -> out).

// Keep in sync with `ResampleParams` in src/gpu/params.rs (48 bytes;
// src/gpu/contract_tests.rs compares names, offsets and types).
struct ResampleParams {
    dst_w: u32,
    rows: u32,
    taps: u32,
    row_lo: u32,
    space: u32,
    band_rows: u32,
    k0: u32,
    col_lo: u32,
    cols: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

// Binding numbers: `shaders::resample` in src/gpu/shaders.rs.
const B_PARAMS: u32 = 0u;
const B_SRC_TEX: u32 = 1u;
const B_STARTS: u32 = 2u;
const B_WEIGHTS: u32 = 3u;
const B_SRGB_LUT: u32 = 4u;
const B_MID: u32 = 5u;
const B_OUT: u32 = 6u;

@group(0) @binding(B_PARAMS) var<uniform> rp: ResampleParams;
@group(0) @binding(B_SRC_TEX) var src_tex: texture_2d<f32>;
// The weight table of the axis this pass filters.
@group(0) @binding(B_STARTS) var<storage, read> starts: array<u32>;
@group(0) @binding(B_WEIGHTS) var<storage, read> weights: array<f32>;
@group(0) @binding(B_SRGB_LUT) var<storage, read> srgb_lut: array<f32, 256>;
@group(0) @binding(B_MID) var<storage, read_write> mid: array<vec4<f32>>;
@group(0) @binding(B_OUT) var<storage, read_write> out_buf: array<vec4<f32>>;

fn store_valid(acc: vec4<f32>) -> vec4<f32> {
    let a = clamp(acc.a, 0.0, 1.0);
    return vec4<f32>(clamp(acc.rgb, vec3<f32>(0.0), vec3<f32>(a)), a);
}

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
    mid[id.y * rp.dst_w + id.x] = acc;
}

@compute @workgroup_size(16, 16)
fn vertical(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= rp.dst_w || id.y >= rp.band_rows) { return; }
    let k = rp.k0 + id.y;
    let s = starts[k] - rp.row_lo;
    var acc = vec4<f32>(0.0);
    for (var i = 0u; i < rp.taps; i = i + 1u) {
        let w = weights[k * rp.taps + i];
        // Taps past the last source row carry zero weight.
        if (w != 0.0 && s + i < rp.rows) {
            acc = acc + w * mid[(s + i) * rp.dst_w + id.x];
        }
    }
    out_buf[k * rp.dst_w + id.x] = store_valid(acc);
}

@compute @workgroup_size(16, 16)
fn vertical_tex(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= rp.cols || id.y >= rp.band_rows) { return; }
    let k = rp.k0 + id.y;
    let s = starts[k];
    let x = i32(rp.col_lo + id.x);
    var acc = vec4<f32>(0.0);
    for (var i = 0u; i < rp.taps; i = i + 1u) {
        let w = weights[k * rp.taps + i];
        // Taps past the last source row carry zero weight.
        if (w != 0.0 && s + i < rp.row_lo + rp.rows) {
            let t = textureLoad(src_tex, vec2<i32>(x, i32(s + i)), 0);
            acc = acc + w * premultiply_bytes(texel_bytes(t), rp.space);
        }
    }
    mid[id.y * rp.cols + id.x] = acc;
}

@compute @workgroup_size(16, 16)
fn horizontal_buf(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= rp.dst_w || id.y >= rp.band_rows) { return; }
    let s = starts[id.x] - rp.col_lo;
    var acc = vec4<f32>(0.0);
    for (var i = 0u; i < rp.taps; i = i + 1u) {
        let w = weights[id.x * rp.taps + i];
        if (w != 0.0 && s + i < rp.cols) {
            acc = acc + w * mid[id.y * rp.cols + s + i];
        }
    }
    out_buf[(rp.k0 + id.y) * rp.dst_w + id.x] = store_valid(acc);
}
