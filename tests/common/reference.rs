//! An independent float64 implementation of the scene format's exactly
//! defined subset: axis-aligned `rect`, `linear-gradient`, `radial-gradient`
//! and natural-size `image` layers on whole pixels, every blend name, both
//! blend spaces. It is written from `shared/spec/scene-format.md` and the W3C
//! Compositing and Blending Level 1 formulas, and shares no code with the
//! engine: it works on JSON values and straight RGBA8 images directly.

use serde_json::Value;

pub type Px = [f64; 4];

pub fn srgb_to_linear(v: f64) -> f64 {
    if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

pub fn linear_to_srgb(v: f64) -> f64 {
    if v <= 0.0031308 {
        v * 12.92
    } else {
        1.055 * v.powf(1.0 / 2.4) - 0.055
    }
}

pub fn parse_color(s: &str) -> [f64; 4] {
    let h = &s[1..];
    let (digits, width) = match h.len() {
        3 | 4 => (h.len(), 1),
        _ => (h.len() / 2, 2),
    };
    let mut out = [0.0, 0.0, 0.0, 1.0];
    for (i, slot) in out.iter_mut().enumerate().take(digits) {
        let v = u32::from_str_radix(&h[i * width..(i + 1) * width], 16).unwrap() as f64;
        *slot = if width == 1 {
            v * 17.0 / 255.0
        } else {
            v / 255.0
        };
    }
    out
}

/// Straight sRGB colour (0..1) to premultiplied in the blend space.
fn to_space_premul(c: [f64; 4], linear: bool) -> Px {
    let f = |v: f64| if linear { srgb_to_linear(v) } else { v };
    [f(c[0]) * c[3], f(c[1]) * c[3], f(c[2]) * c[3], c[3]]
}

fn blend_fn(mode: &str, cb: f64, cs: f64) -> f64 {
    match mode {
        "multiply" => cb * cs,
        "screen" => cb + cs - cb * cs,
        "overlay" => blend_fn("hard-light", cs, cb),
        "darken" => cb.min(cs),
        "lighten" => cb.max(cs),
        "color-dodge" => {
            if cb == 0.0 {
                0.0
            } else if cs == 1.0 {
                1.0
            } else {
                (cb / (1.0 - cs)).min(1.0)
            }
        }
        "color-burn" => {
            if cb == 1.0 {
                1.0
            } else if cs == 0.0 {
                0.0
            } else {
                1.0 - ((1.0 - cb) / cs).min(1.0)
            }
        }
        "hard-light" => {
            if cs <= 0.5 {
                cb * 2.0 * cs
            } else {
                let s = 2.0 * cs - 1.0;
                cb + s - cb * s
            }
        }
        "soft-light" => {
            if cs <= 0.5 {
                cb - (1.0 - 2.0 * cs) * cb * (1.0 - cb)
            } else {
                let d = if cb <= 0.25 {
                    ((16.0 * cb - 12.0) * cb + 4.0) * cb
                } else {
                    cb.sqrt()
                };
                cb + (2.0 * cs - 1.0) * (d - cb)
            }
        }
        "difference" => (cb - cs).abs(),
        "exclusion" => cb + cs - 2.0 * cb * cs,
        _ => unreachable!("{mode}"),
    }
}

fn lum(c: [f64; 3]) -> f64 {
    0.3 * c[0] + 0.59 * c[1] + 0.11 * c[2]
}

fn clip_color(c: [f64; 3]) -> [f64; 3] {
    let l = lum(c);
    let n = c[0].min(c[1]).min(c[2]);
    let x = c[0].max(c[1]).max(c[2]);
    let mut c = c;
    if n < 0.0 {
        c = [0, 1, 2].map(|i| l + (c[i] - l) * l / (l - n));
    }
    if x > 1.0 {
        c = [0, 1, 2].map(|i| l + (c[i] - l) * (1.0 - l) / (x - l));
    }
    c
}

fn set_lum(c: [f64; 3], l: f64) -> [f64; 3] {
    let d = l - lum(c);
    clip_color([c[0] + d, c[1] + d, c[2] + d])
}

fn sat(c: [f64; 3]) -> f64 {
    c[0].max(c[1]).max(c[2]) - c[0].min(c[1]).min(c[2])
}

/// W3C SetSat, written as the spec's Cmax/Cmid/Cmin procedure.
fn set_sat(c: [f64; 3], s: f64) -> [f64; 3] {
    let mut idx = [0usize, 1, 2];
    idx.sort_by(|&a, &b| c[a].partial_cmp(&c[b]).unwrap());
    let (imin, imid, imax) = (idx[0], idx[1], idx[2]);
    let mut out = [0.0; 3];
    if c[imax] > c[imin] {
        out[imid] = (c[imid] - c[imin]) * s / (c[imax] - c[imin]);
        out[imax] = s;
    } else {
        out[imid] = 0.0;
        out[imax] = 0.0;
    }
    out[imin] = 0.0;
    out
}

fn non_separable(mode: &str, cb: [f64; 3], cs: [f64; 3]) -> [f64; 3] {
    match mode {
        "hue" => set_lum(set_sat(cs, sat(cb)), lum(cb)),
        "saturation" => set_lum(set_sat(cb, sat(cs)), lum(cb)),
        "color" => set_lum(cs, lum(cb)),
        "luminosity" => set_lum(cb, lum(cs)),
        _ => unreachable!(),
    }
}

/// Composites premultiplied `s` over premultiplied `d` with a blend name.
pub fn composite(mode: &str, s: Px, d: Px) -> Px {
    let (sa, da) = (s[3], d[3]);
    let pd = |fa: f64, fb: f64| -> Px { [0, 1, 2, 3].map(|i| s[i] * fa + d[i] * fb) };
    match mode {
        "source-over" | "normal" => pd(1.0, 1.0 - sa),
        "source-in" => pd(da, 0.0),
        "source-out" => pd(1.0 - da, 0.0),
        "source-atop" => pd(da, 1.0 - sa),
        "destination-over" => pd(1.0 - da, 1.0),
        "destination-in" => pd(0.0, sa),
        "destination-out" => pd(0.0, 1.0 - sa),
        "destination-atop" => pd(1.0 - da, sa),
        "copy" => pd(1.0, 0.0),
        "xor" => pd(1.0 - da, 1.0 - sa),
        "clear" => pd(0.0, 0.0),
        "lighter" => [0, 1, 2, 3].map(|i| (s[i] + d[i]).min(1.0)),
        _ => {
            // Blend mode, then source-over:
            // co = cs(1 - ab) + cb(1 - as) + as·ab·B(Cb, Cs)
            let straight = |p: Px| -> [f64; 3] {
                if p[3] > 0.0 {
                    [p[0] / p[3], p[1] / p[3], p[2] / p[3]]
                } else {
                    [0.0; 3]
                }
            };
            let (cs, cb) = (straight(s), straight(d));
            let b = match mode {
                "hue" | "saturation" | "color" | "luminosity" => non_separable(mode, cb, cs),
                _ => [0, 1, 2].map(|i| blend_fn(mode, cb[i], cs[i])),
            };
            let ao = sa + da - sa * da;
            let c = [0, 1, 2].map(|i| s[i] * (1.0 - da) + d[i] * (1.0 - sa) + sa * da * b[i]);
            [c[0], c[1], c[2], ao]
        }
    }
}

/// Area of the pixel square `[i, i+1) x [j, j+1)` inside the rectangle.
fn area(i: f64, j: f64, x0: f64, y0: f64, x1: f64, y1: f64) -> f64 {
    let w = (x1.min(i + 1.0) - x0.max(i)).max(0.0);
    let h = (y1.min(j + 1.0) - y0.max(j)).max(0.0);
    w * h
}

/// A decoded test image: straight RGBA8.
pub struct RefImage {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<[u8; 4]>,
}

fn num(v: &Value, key: &str, default: f64) -> f64 {
    v.get(key).and_then(Value::as_f64).unwrap_or(default)
}

fn stops_of(v: &Value, linear: bool) -> Vec<(f64, Px)> {
    v["stops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["offset"].as_f64().unwrap(),
                to_space_premul(parse_color(s["color"].as_str().unwrap()), linear),
            )
        })
        .collect()
}

fn gradient(stops: &[(f64, Px)], t: f64) -> Px {
    if t <= stops[0].0 {
        return stops[0].1;
    }
    for w in stops.windows(2) {
        if t < w[1].0 {
            let f = (t - w[0].0) / (w[1].0 - w[0].0);
            return [0, 1, 2, 3].map(|i| w[0].1[i] + (w[1].1[i] - w[0].1[i]) * f);
        }
    }
    stops[stops.len() - 1].1
}

/// Renders a scene of the exact subset; `images` gives the decoded image of
/// each `src`. Returns premultiplied colour in the blend space, row-major.
pub fn render(scene: &Value, images: &dyn Fn(&str) -> RefImage) -> (u32, u32, bool, Vec<Px>) {
    let w = scene["width"].as_u64().unwrap() as u32;
    let h = scene["height"].as_u64().unwrap() as u32;
    let linear = scene.get("blend_space").and_then(Value::as_str) == Some("linear");
    let bg = scene
        .get("background")
        .and_then(Value::as_str)
        .map(parse_color)
        .unwrap_or([0.0; 4]);
    let mut canvas = vec![to_space_premul(bg, linear); (w * h) as usize];
    let empty = vec![];
    for layer in scene
        .get("layers")
        .and_then(Value::as_array)
        .unwrap_or(&empty)
    {
        let kind = layer["type"].as_str().unwrap();
        let bx = num(layer, "x", 0.0);
        let by = num(layer, "y", 0.0);
        let bw = num(layer, "width", w as f64);
        let bh = num(layer, "height", h as f64);
        let opacity = num(layer, "opacity", 1.0);
        let mode = layer
            .get("blend")
            .and_then(Value::as_str)
            .unwrap_or("source-over");
        let img = (kind == "image").then(|| images(layer["src"].as_str().unwrap()));
        for j in 0..h {
            for i in 0..w {
                let (fi, fj) = (i as f64, j as f64);
                let (px, py) = (fi + 0.5, fj + 0.5);
                let (paint, cov): (Px, f64) = match kind {
                    "rect" => (
                        to_space_premul(parse_color(layer["color"].as_str().unwrap()), linear),
                        area(fi, fj, bx, by, bx + bw, by + bh),
                    ),
                    "linear-gradient" => {
                        let a = num(layer, "angle", 180.0).to_radians();
                        let len = (bw * a.sin()).abs() + (bh * a.cos()).abs();
                        let (cx, cy) = (bx + bw / 2.0, by + bh / 2.0);
                        let t = ((px - cx) * a.sin() - (py - cy) * a.cos()) / len + 0.5;
                        (
                            gradient(&stops_of(layer, linear), t),
                            area(fi, fj, bx, by, bx + bw, by + bh),
                        )
                    }
                    "radial-gradient" => {
                        let c = layer
                            .get("center")
                            .map(|c| [c[0].as_f64().unwrap(), c[1].as_f64().unwrap()])
                            .unwrap_or([0.5, 0.5]);
                        let (cx, cy) = (bx + c[0] * bw, by + c[1] * bh);
                        let r = layer
                            .get("radius")
                            .and_then(Value::as_f64)
                            .unwrap_or_else(|| {
                                let fx = (cx - bx).max(bx + bw - cx);
                                let fy = (cy - by).max(by + bh - cy);
                                (fx * fx + fy * fy).sqrt()
                            });
                        let t = ((px - cx).powi(2) + (py - cy).powi(2)).sqrt() / r;
                        (
                            gradient(&stops_of(layer, linear), t),
                            area(fi, fj, bx, by, bx + bw, by + bh),
                        )
                    }
                    "image" => {
                        // Natural size (fit "none", or a box of exactly the
                        // image's size), offset by object-position.
                        let im = img.as_ref().unwrap();
                        let (sw, sh) = (im.width as f64, im.height as f64);
                        let pos = layer
                            .get("position")
                            .map(|p| [p[0].as_f64().unwrap(), p[1].as_f64().unwrap()])
                            .unwrap_or([0.5, 0.5]);
                        let ox = bx + (bw - sw) * pos[0];
                        let oy = by + (bh - sh) * pos[1];
                        let (sx, sy) = (fi - ox, fj - oy);
                        let paint = if sx >= 0.0 && sy >= 0.0 && sx < sw && sy < sh {
                            let p = im.pixels[(sy as u32 * im.width + sx as u32) as usize];
                            to_space_premul(p.map(|v| v as f64 / 255.0), linear)
                        } else {
                            [0.0; 4]
                        };
                        let x0 = bx.max(ox);
                        let y0 = by.max(oy);
                        let x1 = (bx + bw).min(ox + sw);
                        let y1 = (by + bh).min(oy + sh);
                        (paint, area(fi, fj, x0, y0, x1, y1))
                    }
                    other => panic!("reference does not render {other}"),
                };
                let k = cov * opacity;
                let s = [paint[0] * k, paint[1] * k, paint[2] * k, paint[3] * k];
                let idx = (j * w + i) as usize;
                canvas[idx] = composite(mode, s, canvas[idx]);
            }
        }
    }
    (w, h, linear, canvas)
}

/// The reference pixel as premultiplied sRGB in 0..=255 (what an 8-bit
/// straight-alpha file holds, premultiplied back).
pub fn to_premul_srgb255(p: Px, linear: bool) -> [f64; 4] {
    let a = p[3].clamp(0.0, 1.0);
    if a <= 0.0 {
        return [0.0; 4];
    }
    let straight = [0, 1, 2].map(|i| {
        let c = (p[i] / a).clamp(0.0, 1.0);
        if linear {
            linear_to_srgb(c)
        } else {
            c
        }
    });
    [
        straight[0] * a * 255.0,
        straight[1] * a * 255.0,
        straight[2] * a * 255.0,
        a * 255.0,
    ]
}
