// One layer composited onto the premultiplied f32 canvas. Keep in sync with
// src/cpu/mod.rs (`paint_row`, `gradient_at`, `sample_bilinear`) and
// src/plan/geometry.rs (`BoxGeometry::coverage`). Prepended: color.wgsl, blend.wgsl.

// What a layer paints: `PaintKind` in src/gpu/params.rs.
const KIND_SOLID: u32 = 0u;
const KIND_LINEAR: u32 = 1u;
const KIND_RADIAL: u32 = 2u;
const KIND_COPY: u32 = 3u;
const KIND_GRID: u32 = 4u;
const KIND_PLACED: u32 = 5u;
const KIND_NONE: u32 = 6u;
const KIND_TEXT: u32 = 7u;

// Keep in sync with `LayerParams` in src/gpu/params.rs (160 bytes;
// src/gpu/contract_tests.rs compares names, offsets and types).
struct LayerParams {
    canvas: vec2<u32>,
    origin: vec2<u32>,
    size: vec2<u32>,
    kind: u32,
    mode: u32,
    clip: vec4<f32>,
    box_: vec4<f32>,
    // cos, sin, corner radius, opacity
    rot: vec4<f32>,
    color: vec4<f32>,
    // linear: t0, dx, dy; radial: cx, cy, radius
    ramp: vec4<f32>,
    // direct: ox, oy, w, h; intermediate on the canvas grid: x0, y0, w, h;
    // rotated: -, -, w, h of the intermediate; text: -, first row, w, h
    img: vec4<i32>,
    // rotated: placed x, y, w, h (box-local)
    placed: vec4<f32>,
    // axis aligned, nearest, stop count, blend space
    flags: vec4<u32>,
}

// Binding numbers: `shaders::composite` in src/gpu/shaders.rs.
const B_PARAMS: u32 = 0u;
const B_CANVAS: u32 = 1u;
const B_STOPS: u32 = 2u;
const B_SRC_TEX: u32 = 3u;
const B_INTER: u32 = 4u;
const B_SRGB_LUT: u32 = 5u;
const B_TEXT_TEX: u32 = 6u;

@group(0) @binding(B_PARAMS) var<uniform> lp: LayerParams;
@group(0) @binding(B_CANVAS) var<storage, read_write> canvas: array<vec4<f32>>;
@group(0) @binding(B_STOPS) var<storage, read> stops: array<vec4<f32>>;
@group(0) @binding(B_SRC_TEX) var src_tex: texture_2d<f32>;
@group(0) @binding(B_INTER) var<storage, read> inter: array<vec4<f32>>;
@group(0) @binding(B_SRGB_LUT) var<storage, read> srgb_lut: array<f32, 256>;
// Text layers drawn by glyphon (premultiplied), one region per layer
// starting at row lp.img.y.
@group(0) @binding(B_TEXT_TEX) var text_tex: texture_2d<f32>;

fn local_point(p: vec2<f32>) -> vec2<f32> {
    if (lp.flags.x != 0u) { return p; }
    let c = (lp.box_.xy + lp.box_.zw) * 0.5;
    let d = p - c;
    let co = lp.rot.x;
    let si = lp.rot.y;
    return c + vec2<f32>(co * d.x + si * d.y, -si * d.x + co * d.y);
}

fn coverage(p: vec2<f32>) -> f32 {
    let l = local_point(p);
    let cx = clamp(min(lp.clip.z, l.x + 0.5) - max(lp.clip.x, l.x - 0.5), 0.0, 1.0);
    let cy = clamp(min(lp.clip.w, l.y + 0.5) - max(lp.clip.y, l.y - 0.5), 0.0, 1.0);
    var cov = cx * cy;
    let r = lp.rot.z;
    if (r > 0.0 && cov > 0.0) {
        var qx = 0.0;
        var qy = 0.0;
        var in_x = false;
        var in_y = false;
        if (l.x < lp.box_.x + r) { qx = lp.box_.x + r; in_x = true; }
        else if (l.x > lp.box_.z - r) { qx = lp.box_.z - r; in_x = true; }
        if (l.y < lp.box_.y + r) { qy = lp.box_.y + r; in_y = true; }
        else if (l.y > lp.box_.w - r) { qy = lp.box_.w - r; in_y = true; }
        if (in_x && in_y) {
            let dist = length(l - vec2<f32>(qx, qy));
            cov = min(cov, clamp(r - dist + 0.5, 0.0, 1.0));
        }
    }
    return cov;
}

fn gradient_at(t: f32) -> vec4<f32> {
    let n = lp.flags.z;
    if (t <= stops[0].x) { return stops[1]; }
    for (var i = 1u; i < n; i = i + 1u) {
        let b = stops[2u * i].x;
        if (t < b) {
            let a = stops[2u * (i - 1u)].x;
            let f = (t - a) / (b - a);
            let ca = stops[2u * (i - 1u) + 1u];
            let cb = stops[2u * i + 1u];
            return ca + (cb - ca) * f;
        }
    }
    return stops[2u * (n - 1u) + 1u];
}

fn inter_at(x: i32, y: i32) -> vec4<f32> {
    if (lp.kind == KIND_TEXT) {
        return textureLoad(text_tex, vec2<i32>(x, y + lp.img.y), 0);
    }
    return inter[u32(y * lp.img.z + x)];
}

fn sample_placed(p: vec2<f32>) -> vec4<f32> {
    let l = local_point(p);
    let w = lp.img.z;
    let h = lp.img.w;
    let u = (l.x - lp.placed.x) * (f32(w) / lp.placed.z);
    let v = (l.y - lp.placed.y) * (f32(h) / lp.placed.w);
    if (lp.flags.y != 0u) {
        if (u < 0.0 || v < 0.0 || u >= f32(w) || v >= f32(h)) { return vec4<f32>(0.0); }
        return inter_at(i32(u), i32(v));
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
        case KIND_LINEAR: { return gradient_at(lp.ramp.x + lp.ramp.y * p.x + lp.ramp.z * p.y); }
        case KIND_RADIAL: { return gradient_at(length(p - lp.ramp.xy) / lp.ramp.z); }
        case KIND_COPY: {
            let sx = i32(x) - lp.img.x;
            let sy = i32(y) - lp.img.y;
            if (sx < 0 || sy < 0 || sx >= lp.img.z || sy >= lp.img.w) { return vec4<f32>(0.0); }
            return premultiply_bytes(texel_bytes(textureLoad(src_tex, vec2<i32>(sx, sy), 0)), lp.flags.w);
        }
        case KIND_GRID: {
            let rx = i32(x) - lp.img.x;
            let ry = i32(y) - lp.img.y;
            if (rx < 0 || ry < 0 || rx >= lp.img.z || ry >= lp.img.w) { return vec4<f32>(0.0); }
            return inter_at(rx, ry);
        }
        case KIND_PLACED, KIND_TEXT: { return sample_placed(p); }
        default: { return vec4<f32>(0.0); }
    }
}

@compute @workgroup_size(16, 16)
fn composite_layer(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= lp.size.x || id.y >= lp.size.y) { return; }
    let x = lp.origin.x + id.x;
    let y = lp.origin.y + id.y;
    let p = vec2<f32>(f32(x) + 0.5, f32(y) + 0.5);
    let k = coverage(p) * lp.rot.w;
    let s = paint(x, y) * k;
    let i = y * lp.canvas.x + x;
    canvas[i] = composite(lp.mode, s, canvas[i]);
}
