// The compositing formulas on premultiplied colour, W3C Compositing and
// Blending Level 1. Keep in sync with src/blend.rs: the mode codes are the
// `u32` values of `BlendMode` (its declaration order), and every formula
// below is the one of the same name there.

const SOURCE_OVER: u32 = 0u;
const SOURCE_IN: u32 = 1u;
const SOURCE_OUT: u32 = 2u;
const SOURCE_ATOP: u32 = 3u;
const DESTINATION_OVER: u32 = 4u;
const DESTINATION_IN: u32 = 5u;
const DESTINATION_OUT: u32 = 6u;
const DESTINATION_ATOP: u32 = 7u;
const COPY: u32 = 8u;
const XOR: u32 = 9u;
const LIGHTER: u32 = 10u;
const CLEAR: u32 = 11u;
const MULTIPLY: u32 = 12u;
const SCREEN: u32 = 13u;
const OVERLAY: u32 = 14u;
const DARKEN: u32 = 15u;
const LIGHTEN: u32 = 16u;
const COLOR_DODGE: u32 = 17u;
const COLOR_BURN: u32 = 18u;
const HARD_LIGHT: u32 = 19u;
const SOFT_LIGHT: u32 = 20u;
const DIFFERENCE: u32 = 21u;
const EXCLUSION: u32 = 22u;
const HUE: u32 = 23u;
const SATURATION: u32 = 24u;
const COLOR: u32 = 25u;
const LUMINOSITY: u32 = 26u;

fn b_multiply(b: f32, s: f32) -> f32 { return b * s; }
fn b_screen(b: f32, s: f32) -> f32 { return b + s - b * s; }

fn b_hard_light(b: f32, s: f32) -> f32 {
    if (s <= 0.5) { return b_multiply(b, 2.0 * s); }
    return b_screen(b, 2.0 * s - 1.0);
}

fn b_color_dodge(b: f32, s: f32) -> f32 {
    if (b == 0.0) { return 0.0; }
    if (s >= 1.0) { return 1.0; }
    return min(b / (1.0 - s), 1.0);
}

fn b_color_burn(b: f32, s: f32) -> f32 {
    if (b >= 1.0) { return 1.0; }
    if (s <= 0.0) { return 0.0; }
    return 1.0 - min((1.0 - b) / s, 1.0);
}

fn b_soft_light(b: f32, s: f32) -> f32 {
    if (s <= 0.5) { return b - (1.0 - 2.0 * s) * b * (1.0 - b); }
    var d: f32;
    if (b <= 0.25) { d = ((16.0 * b - 12.0) * b + 4.0) * b; } else { d = sqrt(b); }
    return b + (2.0 * s - 1.0) * (d - b);
}

fn b_separable(mode: u32, b: f32, s: f32) -> f32 {
    switch mode {
        case 12u: { return b_multiply(b, s); }
        case 13u: { return b_screen(b, s); }
        case 14u: { return b_hard_light(s, b); }
        case 15u: { return min(b, s); }
        case 16u: { return max(b, s); }
        case 17u: { return b_color_dodge(b, s); }
        case 18u: { return b_color_burn(b, s); }
        case 19u: { return b_hard_light(b, s); }
        case 20u: { return b_soft_light(b, s); }
        case 21u: { return abs(b - s); }
        case 22u: { return b + s - 2.0 * b * s; }
        default: { return s; }
    }
}

fn lum(c: vec3<f32>) -> f32 { return 0.3 * c.x + 0.59 * c.y + 0.11 * c.z; }

fn clip_color(c_in: vec3<f32>) -> vec3<f32> {
    var c = c_in;
    let l = lum(c);
    let n = min(min(c.x, c.y), c.z);
    let x = max(max(c.x, c.y), c.z);
    if (n < 0.0) {
        let k = l / (l - n);
        c = vec3<f32>(l) + (c - vec3<f32>(l)) * k;
    }
    if (x > 1.0) {
        let k = (1.0 - l) / (x - l);
        c = vec3<f32>(l) + (c - vec3<f32>(l)) * k;
    }
    return c;
}

fn set_lum(c: vec3<f32>, l: f32) -> vec3<f32> {
    let d = l - lum(c);
    return clip_color(c + vec3<f32>(d));
}

fn sat(c: vec3<f32>) -> f32 { return max(max(c.x, c.y), c.z) - min(min(c.x, c.y), c.z); }

fn set_sat(c: vec3<f32>, s: f32) -> vec3<f32> {
    let mx = max(max(c.x, c.y), c.z);
    let mn = min(min(c.x, c.y), c.z);
    if (mx > mn) { return (c - vec3<f32>(mn)) * s / (mx - mn); }
    return vec3<f32>(0.0);
}

// B(Cb, Cs) on straight colour: cb the backdrop, cs the source.
fn blend_function(mode: u32, cb: vec3<f32>, cs: vec3<f32>) -> vec3<f32> {
    switch mode {
        case 23u: { return set_lum(set_sat(cs, sat(cb)), lum(cb)); }
        case 24u: { return set_lum(set_sat(cb, sat(cs)), lum(cb)); }
        case 25u: { return set_lum(cs, lum(cb)); }
        case 26u: { return set_lum(cb, lum(cs)); }
        default: {
            return vec3<f32>(
                b_separable(mode, cb.x, cs.x),
                b_separable(mode, cb.y, cs.y),
                b_separable(mode, cb.z, cs.z),
            );
        }
    }
}

// Porter-Duff factors (Fa, Fb); x < 0 marks "not a Porter-Duff operator".
fn porter_duff(mode: u32, sa: f32, da: f32) -> vec2<f32> {
    switch mode {
        case 11u: { return vec2<f32>(0.0, 0.0); }
        case 8u: { return vec2<f32>(1.0, 0.0); }
        case 0u: { return vec2<f32>(1.0, 1.0 - sa); }
        case 4u: { return vec2<f32>(1.0 - da, 1.0); }
        case 1u: { return vec2<f32>(da, 0.0); }
        case 5u: { return vec2<f32>(0.0, sa); }
        case 2u: { return vec2<f32>(1.0 - da, 0.0); }
        case 6u: { return vec2<f32>(0.0, 1.0 - sa); }
        case 3u: { return vec2<f32>(da, 1.0 - sa); }
        case 7u: { return vec2<f32>(1.0 - da, sa); }
        case 9u: { return vec2<f32>(1.0 - da, 1.0 - sa); }
        default: { return vec2<f32>(-1.0, -1.0); }
    }
}

// Composites premultiplied `s` onto premultiplied `d` (src/blend.rs `composite`).
fn composite(mode: u32, s: vec4<f32>, d: vec4<f32>) -> vec4<f32> {
    let f = porter_duff(mode, s.a, d.a);
    if (f.x >= 0.0) {
        return s * f.x + d * f.y;
    }
    if (mode == LIGHTER) {
        return min(s + d, vec4<f32>(1.0));
    }
    let ao = s.a + d.a - s.a * d.a;
    var b = vec3<f32>(0.0);
    if (s.a > 0.0 && d.a > 0.0) {
        let cs = clamp(s.rgb * (1.0 / s.a), vec3<f32>(0.0), vec3<f32>(1.0));
        let cd = clamp(d.rgb * (1.0 / d.a), vec3<f32>(0.0), vec3<f32>(1.0));
        b = blend_function(mode, cd, cs);
    }
    let c = s.rgb * (1.0 - d.a) + d.rgb * (1.0 - s.a) + (s.a * d.a) * b;
    return vec4<f32>(c, ao);
}
