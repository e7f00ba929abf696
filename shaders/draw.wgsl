// The fragment path (the default): each layer drawn by a render pipeline
// into the premultiplied float canvas texture. The vertex shader places the
// layer's quad; the fragment shader computes its coverage and paint
// (`layer_source`, layer.wgsl) and either hands the premultiplied colour to
// the fixed-function blend state of its Porter-Duff operator (`fs_source`,
// states in src/gpu/draw.rs), or, for the blend modes, which need the
// destination colour, reads it from a copy of the canvas under the layer's
// region and composites in the shader (`fs_backdrop`, written over the
// canvas without blending). Prepended: color.wgsl, blend.wgsl, layer.wgsl.

// Binding number: `shaders::draw` in src/gpu/shaders.rs.
const B_BACKDROP: u32 = 7u;
// The canvas as it was before the layer, over at least its region
// (blend modes only; a stand-in otherwise).
@group(0) @binding(B_BACKDROP) var backdrop: texture_2d<f32>;

// Corner `i` (0..4, a triangle strip) of the layer's quad in canvas pixels.
// A rotated layer's quad is its area clip grown by one pixel, rotated: every
// pixel whose centre gets any coverage lies within half a pixel of the clip
// in box-local space, so inside it. Otherwise (axis-aligned, or a region that
// is the whole canvas, as the unbounded operators' is) the quad is the
// region. The scissor rectangle (the region) bounds both.
fn quad_corner(i: u32) -> vec2<f32> {
    let uv = vec2<f32>(f32(i & 1u), f32((i >> 1u) & 1u));
    let whole = all(lp.origin == vec2<u32>(0u)) && all(lp.size == lp.canvas);
    if (lp.axis_aligned != 0u || whole) {
        return vec2<f32>(lp.origin) + vec2<f32>(lp.size) * uv;
    }
    let l = mix(lp.clip.xy - vec2<f32>(1.0), lp.clip.zw + vec2<f32>(1.0), uv);
    let c = (lp.box_rect.xy + lp.box_rect.zw) * 0.5;
    let e = l - c;
    let co = lp.rotation.x;
    let si = lp.rotation.y;
    // The inverse of `local_point`'s rotation.
    return c + vec2<f32>(co * e.x - si * e.y, si * e.x + co * e.y);
}

@vertex
fn vs_layer(@builtin(vertex_index) i: u32) -> @builtin(position) vec4<f32> {
    let p = quad_corner(i);
    let size = vec2<f32>(lp.canvas);
    return vec4<f32>(p.x / size.x * 2.0 - 1.0, 1.0 - p.y / size.y * 2.0, 0.0, 1.0);
}

// The pixel a fragment is the centre of.
fn pixel(pos: vec4<f32>) -> vec2<u32> {
    return vec2<u32>(floor(pos.xy));
}

// Porter-Duff operators: the layer's premultiplied colour, blended by the
// pipeline's fixed-function state.
@fragment
fn fs_source(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let q = pixel(pos);
    return layer_source(q.x, q.y);
}

// Blend modes: the result of compositing over the backdrop, written as is.
@fragment
fn fs_backdrop(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let q = pixel(pos);
    let d = textureLoad(backdrop, vec2<i32>(q), 0);
    return composite(lp.mode, layer_source(q.x, q.y), d);
}

// `lighter` is min(s + d, 1): an additive draw, then this one with the
// `Min` blend operation over the same quad (float targets do not clamp).
@fragment
fn fs_one(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    return vec4<f32>(1.0);
}
