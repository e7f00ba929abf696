// One layer: its uniforms, what its paint reads, its coverage and its paint,
// shared by both ways of compositing it (composite.wgsl: a compute pass over
// an f32 storage canvas; draw.wgsl: a render pipeline into a float canvas
// texture). Keep in sync with src/cpu/mod.rs (`paint_row`, `gradient_at`,
// `sample_bilinear`) and src/plan/geometry.rs (`BoxGeometry::coverage`).
// Prepended: color.wgsl, blend.wgsl.

// What a layer paints: `PaintKind` in src/gpu/params.rs.
const KIND_SOLID: u32 = 0u;
const KIND_LINEAR: u32 = 1u;
const KIND_RADIAL: u32 = 2u;
const KIND_COPY: u32 = 3u;
const KIND_GRID: u32 = 4u;
const KIND_PLACED: u32 = 5u;
const KIND_NONE: u32 = 6u;
const KIND_TEXT: u32 = 7u;

// Keep in sync with `LayerParams` in src/gpu/params.rs (192 bytes;
// src/gpu/contract_tests.rs compares names, offsets and types). Every field has
// one meaning; the fields a kind does not read are zero.
struct LayerParams {
    canvas: vec2<u32>,
    // first pixel of the layer's region (the pixels it can change), and its size
    origin: vec2<u32>,
    size: vec2<u32>,
    // KIND_*
    kind: u32,
    // blend mode (blend.wgsl's constants)
    mode: u32,
    // SPACE_* (color.wgsl)
    space: u32,
    opacity: f32,
    // cos, sin
    rotation: vec2<f32>,
    // box-local [x0, y0, x1, y1]
    clip: vec4<f32>,
    // the box [x0, y0, x1, y1] before rotation
    box_rect: vec4<f32>,
    corner_radius: f32,
    axis_aligned: u32,
    // KIND_PLACED: nearest-neighbour (1) or bilinear (0)
    nearest: u32,
    // KIND_LINEAR, KIND_RADIAL: stops in `stops`
    stop_count: u32,
    // KIND_SOLID: premultiplied
    color: vec4<f32>,
    // KIND_LINEAR: t = linear_t0 + linear_step . p
    linear_step: vec2<f32>,
    linear_t0: f32,
    // KIND_RADIAL: t = |p - radial_center| / radial_radius
    radial_radius: f32,
    radial_center: vec2<f32>,
    // KIND_COPY, KIND_GRID: canvas position of the image's first pixel
    image_origin: vec2<i32>,
    // the image sampled: texture (COPY), `inter` (GRID, PLACED), text region (TEXT)
    image_size: vec2<i32>,
    // KIND_TEXT: first row of the layer's region in `text_tex`
    text_row: i32,
    _pad: u32,
    // KIND_PLACED, KIND_TEXT: box-local x, y, w, h the image is stretched over
    placed: vec4<f32>,
    // pixels [x0, y0, x1, y1) the shape can touch: coverage is 0 outside
    // (an unbounded operator's region is the whole canvas)
    bounds: vec4<u32>,
}

// Binding numbers: `shaders::layer` in src/gpu/shaders.rs (1 is the
// compute canvas of composite.wgsl, 7 the backdrop of draw.wgsl).
const B_PARAMS: u32 = 0u;
const B_STOPS: u32 = 2u;
const B_SRC_TEX: u32 = 3u;
const B_INTER: u32 = 4u;
const B_SRGB_LUT: u32 = 5u;
const B_TEXT_TEX: u32 = 6u;

@group(0) @binding(B_PARAMS) var<uniform> lp: LayerParams;
@group(0) @binding(B_STOPS) var<storage, read> stops: array<vec4<f32>>;
@group(0) @binding(B_SRC_TEX) var src_tex: texture_2d<f32>;
@group(0) @binding(B_INTER) var<storage, read> inter: array<vec4<f32>>;
@group(0) @binding(B_SRGB_LUT) var<storage, read> srgb_lut: array<f32, 256>;
// Text layers drawn by glyphon (premultiplied), one region per layer
// starting at row lp.text_row.
@group(0) @binding(B_TEXT_TEX) var text_tex: texture_2d<f32>;

fn local_point(p: vec2<f32>) -> vec2<f32> {
    if (lp.axis_aligned != 0u) { return p; }
    let c = (lp.box_rect.xy + lp.box_rect.zw) * 0.5;
    let d = p - c;
    let co = lp.rotation.x;
    let si = lp.rotation.y;
    return c + vec2<f32>(co * d.x + si * d.y, -si * d.x + co * d.y);
}

fn coverage(p: vec2<f32>) -> f32 {
    // p is a pixel centre: its pixel is inside the bounds or not.
    let px = vec2<u32>(p);
    if (any(px < lp.bounds.xy) || any(px >= lp.bounds.zw)) { return 0.0; }
    let l = local_point(p);
    let cx = clamp(min(lp.clip.z, l.x + 0.5) - max(lp.clip.x, l.x - 0.5), 0.0, 1.0);
    let cy = clamp(min(lp.clip.w, l.y + 0.5) - max(lp.clip.y, l.y - 0.5), 0.0, 1.0);
    var cov = cx * cy;
    let r = lp.corner_radius;
    if (r > 0.0 && cov > 0.0) {
        var qx = 0.0;
        var qy = 0.0;
        var in_x = false;
        var in_y = false;
        if (l.x < lp.box_rect.x + r) { qx = lp.box_rect.x + r; in_x = true; }
        else if (l.x > lp.box_rect.z - r) { qx = lp.box_rect.z - r; in_x = true; }
        if (l.y < lp.box_rect.y + r) { qy = lp.box_rect.y + r; in_y = true; }
        else if (l.y > lp.box_rect.w - r) { qy = lp.box_rect.w - r; in_y = true; }
        if (in_x && in_y) {
            let dist = length(l - vec2<f32>(qx, qy));
            cov = min(cov, clamp(r - dist + 0.5, 0.0, 1.0));
        }
    }
    return cov;
}

// `STOP_SNAP` and `STOP_SNAP_PX` in src/cpu/paint.rs: within the snap of
// a stop's offset, `t` is on it (the later stops win), whatever the float
// noise; the snap is at most STOP_SNAP_PX of a pixel (`per_px`: the change
// of `t` a pixel).
const STOP_SNAP: f32 = 1e-5;
const STOP_SNAP_PX: f32 = 1e-2;

fn gradient_at(t: f32, per_px: f32) -> vec4<f32> {
    let snap = min(STOP_SNAP, STOP_SNAP_PX * per_px);
    let n = lp.stop_count;
    if (t < stops[0].x - snap) { return stops[1]; }
    for (var i = 1u; i < n; i = i + 1u) {
        let b = stops[2u * i].x;
        if (t < b - snap) {
            let a = stops[2u * (i - 1u)].x;
            let f = max((t - a) / (b - a), 0.0);
            let ca = stops[2u * (i - 1u) + 1u];
            let cb = stops[2u * i + 1u];
            return ca + (cb - ca) * f;
        }
    }
    return stops[2u * (n - 1u) + 1u];
}

fn inter_at(x: i32, y: i32) -> vec4<f32> {
    if (lp.kind == KIND_TEXT) {
        return textureLoad(text_tex, vec2<i32>(x, y + lp.text_row), 0);
    }
    return inter[u32(y * lp.image_size.x + x)];
}

fn sample_placed(p: vec2<f32>) -> vec4<f32> {
    let l = local_point(p);
    let w = lp.image_size.x;
    let h = lp.image_size.y;
    let u = (l.x - lp.placed.x) * (f32(w) / lp.placed.z);
    let v = (l.y - lp.placed.y) * (f32(h) / lp.placed.w);
    if (lp.nearest != 0u) {
        if (u < 0.0 || v < 0.0 || u >= f32(w) || v >= f32(h)) { return vec4<f32>(0.0); }
        // Read past the position by 1/93 of a canvas pixel (at most a
        // quarter of a source pixel), as the CPU does (`nearest_nudge` in
        // src/cpu/paint.rs): a pixel centre on an edge between two source
        // pixels reads the same one on both backends.
        let nu = min(f32(w) / lp.placed.z / 93.0, 0.25);
        let nv = min(f32(h) / lp.placed.w / 93.0, 0.25);
        return inter_at(min(i32(u + nu), w - 1), min(i32(v + nv), h - 1));
    }
    let fx = u - 0.5;
    let fy = v - 0.5;
    let x0 = floor(fx);
    let y0 = floor(fy);
    let tx = fx - x0;
    let ty = fy - y0;
    let xa = clamp(i32(x0), 0, w - 1);
    let xb = clamp(i32(x0) + 1, 0, w - 1);
    let ya = clamp(i32(y0), 0, h - 1);
    let yb = clamp(i32(y0) + 1, 0, h - 1);
    let top = mix(inter_at(xa, ya), inter_at(xb, ya), tx);
    let bot = mix(inter_at(xa, yb), inter_at(xb, yb), tx);
    return mix(top, bot, ty);
}

fn paint(x: u32, y: u32) -> vec4<f32> {
    let p = vec2<f32>(f32(x) + 0.5, f32(y) + 0.5);
    switch lp.kind {
        case KIND_SOLID: { return lp.color; }
        case KIND_LINEAR: { return gradient_at(lp.linear_t0 + lp.linear_step.x * p.x + lp.linear_step.y * p.y, length(lp.linear_step)); }
        case KIND_RADIAL: { return gradient_at(length(p - lp.radial_center) / lp.radial_radius, 1.0 / lp.radial_radius); }
        case KIND_COPY: {
            let sx = i32(x) - lp.image_origin.x;
            let sy = i32(y) - lp.image_origin.y;
            if (sx < 0 || sy < 0 || sx >= lp.image_size.x || sy >= lp.image_size.y) { return vec4<f32>(0.0); }
            return premultiply_bytes(texel_bytes(textureLoad(src_tex, vec2<i32>(sx, sy), 0)), lp.space);
        }
        case KIND_GRID: {
            let rx = i32(x) - lp.image_origin.x;
            let ry = i32(y) - lp.image_origin.y;
            if (rx < 0 || ry < 0 || rx >= lp.image_size.x || ry >= lp.image_size.y) { return vec4<f32>(0.0); }
            return inter_at(rx, ry);
        }
        case KIND_PLACED, KIND_TEXT: { return sample_placed(p); }
        default: { return vec4<f32>(0.0); }
    }
}

// What the layer puts on pixel (x, y): its paint times its coverage and
// opacity, premultiplied in the blend space. Both paths composite this.
fn layer_source(x: u32, y: u32) -> vec4<f32> {
    let p = vec2<f32>(f32(x) + 0.5, f32(y) + 0.5);
    let k = coverage(p) * lp.opacity;
    return paint(x, y) * k;
}
