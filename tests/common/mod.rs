//! Helpers shared by the behaviour tests: random scenes of the exactly
//! defined subset, test images, and image comparison that writes failure
//! images where a person can look at them.

#![allow(dead_code)]

pub mod backends;
pub mod counting;
pub mod reference;

use std::path::{Path, PathBuf};

use image::RgbaImage;
use rand::seq::IndexedRandom;
use rand::{Rng, RngCore};
use serde_json::{json, Value};

/// Every blend name of the spec, the alias included.
pub const BLEND_NAMES: &[&str] = &[
    "source-over",
    "normal",
    "source-in",
    "source-out",
    "source-atop",
    "destination-over",
    "destination-in",
    "destination-out",
    "destination-atop",
    "copy",
    "xor",
    "lighter",
    "clear",
    "multiply",
    "screen",
    "overlay",
    "darken",
    "lighten",
    "color-dodge",
    "color-burn",
    "hard-light",
    "soft-light",
    "difference",
    "exclusion",
    "hue",
    "saturation",
    "color",
    "luminosity",
];

/// The scenes the resampled-image cache tests render (`tests/placed_cache.rs`
/// for the CPU, `tests/gpu_placed_cache.rs` for the GPU): the golden scenes
/// (those that draw an image, with `images_only`), each also in the other
/// blend space, and the poster example, with the folder their images are in.
pub fn cache_scenes(images_only: bool) -> Vec<(String, Value, PathBuf)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let golden = root.join("tests/golden");
    let text = std::fs::read_to_string(golden.join("scenes.json")).unwrap();
    let all: serde_json::Map<String, Value> = serde_json::from_str(&text).unwrap();
    let mut out = Vec::new();
    for (name, json) in all {
        let layers = json["layers"].as_array().unwrap();
        if images_only && !layers.iter().any(|l| l["type"] == "image") {
            continue;
        }
        let mut other = json.clone();
        let linear = json["blend_space"] == "linear";
        other["blend_space"] = Value::from(if linear { "srgb" } else { "linear" });
        out.push((name.clone(), json, golden.clone()));
        out.push((format!("{name} (other space)"), other, golden.clone()));
    }
    let poster = root.join("examples/poster");
    let json = std::fs::read_to_string(poster.join("poster.json")).unwrap();
    out.push((
        "poster".into(),
        serde_json::from_str(&json).unwrap(),
        poster,
    ));
    out
}

/// Renders each scene of [`cache_scenes`] once with `off` and three times
/// with `on` (missed once, filled, then read from its cache), asserting the
/// same bytes every time; returns how many image layers they drew.
pub fn cached_renders_match(
    off: &impasto::Renderer,
    on: &impasto::Renderer,
    images_only: bool,
) -> usize {
    let render = |r: &impasto::Renderer, json: &Value, dir: &Path| {
        let scene = impasto::Scene::from_value(json).unwrap();
        r.clone().with_asset_root(dir).render(&scene).unwrap()
    };
    let mut images = 0;
    for (name, json, dir) in cache_scenes(images_only) {
        let want = render(off, &json, &dir);
        for pass in 0..3 {
            let got = render(on, &json, &dir);
            assert!(
                got == want,
                "{name}: pass {pass} differs from the uncached render"
            );
        }
        images += json["layers"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["type"] == "image")
            .count();
    }
    images
}

/// Where failing tests write images: `target/test-failures/`.
pub fn failure_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-failures");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn random_color(rng: &mut impl Rng) -> String {
    let a: u8 = match rng.random_range(0..6) {
        0 => 0,
        1 | 2 => 255,
        _ => rng.random(),
    };
    format!(
        "#{:02x}{:02x}{:02x}{:02x}",
        rng.random::<u8>(),
        rng.random::<u8>(),
        rng.random::<u8>(),
        a
    )
}

/// A random straight-alpha test image with fully transparent, opaque and
/// partial pixels.
pub fn random_image(rng: &mut impl Rng, w: u32, h: u32) -> RgbaImage {
    RgbaImage::from_fn(w, h, |_, _| {
        let a: u8 = match rng.random_range(0..5) {
            0 => 0,
            1 | 2 => 255,
            _ => rng.random(),
        };
        image::Rgba([rng.random(), rng.random(), rng.random(), a])
    })
}

fn frac(rng: &mut impl Rng, lo: f64, hi: f64) -> f64 {
    // Quarter-pixel steps half the time, arbitrary fractions otherwise.
    let v = rng.random_range(lo..hi);
    if rng.random_bool(0.5) {
        (v * 4.0).round() / 4.0
    } else {
        v
    }
}

fn stops(rng: &mut impl Rng) -> Value {
    let n = rng.random_range(2..=4);
    let mut offs: Vec<f64> = (0..n).map(|_| rng.random_range(0.0..=1.0)).collect();
    offs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    if rng.random_bool(0.3) {
        offs[0] = 0.0;
        offs[n - 1] = 1.0;
    }
    Value::Array(
        offs.into_iter()
            .map(|o| json!({"offset": o, "color": random_color(rng)}))
            .collect(),
    )
}

/// A random scene of the exactly defined subset (rect, gradients, natural
/// size images on whole pixels; no rotation or rounding). `blend` forces
/// the blend name of one layer so that a set of scenes covers every name.
/// Images are written into `dir` and named in the scene.
pub fn random_exact_scene(rng: &mut impl RngCore, dir: &Path, blend: &str, space: &str) -> Value {
    let w = rng.random_range(4..40u32);
    let h = rng.random_range(4..40u32);
    let n = rng.random_range(1..=5usize);
    let forced = rng.random_range(0..n);
    let mut layers = Vec::new();
    for i in 0..n {
        let mode = if i == forced {
            blend.to_string()
        } else {
            BLEND_NAMES.choose(rng).unwrap().to_string()
        };
        let (fw, fh) = (w as f64, h as f64);
        let x = frac(rng, -0.3 * fw, fw);
        let y = frac(rng, -0.3 * fh, fh);
        let bw = frac(rng, 0.3, fw * 1.2);
        let bh = frac(rng, 0.3, fh * 1.2);
        let mut layer = match rng.random_range(0..4) {
            0 => {
                json!({"type": "rect", "x": x, "y": y, "width": bw, "height": bh, "color": random_color(rng)})
            }
            1 => json!({"type": "linear-gradient", "x": x, "y": y, "width": bw, "height": bh,
                        "angle": rng.random_range(-360.0..360.0), "stops": stops(rng)}),
            2 => {
                let mut l = json!({"type": "radial-gradient", "x": x, "y": y, "width": bw, "height": bh,
                        "center": [rng.random_range(-0.2..1.2), rng.random_range(-0.2..1.2)], "stops": stops(rng)});
                if rng.random_bool(0.5) {
                    l["radius"] = json!(rng.random_range(0.5..fw.max(fh)));
                }
                l
            }
            _ => {
                let iw = rng.random_range(1..=w.min(24));
                let ih = rng.random_range(1..=h.min(24));
                let name = format!("img{}.png", rng.next_u32());
                random_image(rng, iw, ih).save(dir.join(&name)).unwrap();
                let ix = rng.random_range(-(iw as i64)..w as i64);
                let iy = rng.random_range(-(ih as i64)..h as i64);
                if rng.random_bool(0.5) {
                    // A box of exactly the image's size: every fit is natural size.
                    let fit = ["cover", "contain", "fill", "none"].choose(rng).unwrap();
                    json!({"type": "image", "src": name, "x": ix, "y": iy, "width": iw, "height": ih, "fit": fit})
                } else {
                    // fit "none" in an integer box, aligned to a corner so the
                    // image lands on whole pixels; the box clips it.
                    let bw = rng.random_range(1..=w);
                    let bh = rng.random_range(1..=h);
                    let pos = [
                        rng.random_range(0..=1) as f64,
                        rng.random_range(0..=1) as f64,
                    ];
                    json!({"type": "image", "src": name, "x": ix, "y": iy, "width": bw, "height": bh,
                           "fit": "none", "position": pos})
                }
            }
        };
        if rng.random_bool(0.4) {
            layer["opacity"] = json!(rng.random_range(0.0..=1.0));
        }
        if mode != "source-over" || rng.random_bool(0.5) {
            layer["blend"] = json!(mode);
        }
        layers.push(layer);
    }
    let mut scene = json!({"width": w, "height": h, "layers": layers});
    if rng.random_bool(0.7) {
        scene["background"] = json!(random_color(rng));
    }
    if space != "srgb" || rng.random_bool(0.5) {
        scene["blend_space"] = json!(space);
    }
    scene
}

/// Largest per-channel differences between a rendered straight-alpha image
/// (premultiplied back, 0..=255) and the float64 reference.
pub struct Diff {
    pub max_alpha: f64,
    pub max_color: f64,
    pub over_one: usize,
    pub channels: usize,
}

pub fn compare_with_reference(img: &RgbaImage, reference: &[reference::Px], linear: bool) -> Diff {
    let mut d = Diff {
        max_alpha: 0.0,
        max_color: 0.0,
        over_one: 0,
        channels: 0,
    };
    for (p, r) in img.pixels().zip(reference) {
        let want = reference::to_premul_srgb255(*r, linear);
        let a = p[3] as f64;
        let got = [
            p[0] as f64 * a / 255.0,
            p[1] as f64 * a / 255.0,
            p[2] as f64 * a / 255.0,
            a,
        ];
        d.max_alpha = d.max_alpha.max((got[3] - want[3]).abs());
        for c in 0..3 {
            let e = (got[c] - want[c]).abs();
            d.max_color = d.max_color.max(e);
            if e > 1.0 {
                d.over_one += 1;
            }
        }
        d.channels += 4;
    }
    d
}

/// Writes the reference (as straight RGBA8) next to the rendered image for a person to look at.
pub fn write_failure(
    name: &str,
    img: &RgbaImage,
    reference: &[reference::Px],
    linear: bool,
    scene: &Value,
) -> PathBuf {
    let dir = failure_dir();
    img.save(dir.join(format!("{name}.got.png"))).unwrap();
    let want = RgbaImage::from_fn(img.width(), img.height(), |x, y| {
        let p = reference::to_premul_srgb255(reference[(y * img.width() + x) as usize], linear);
        if p[3] <= 0.0 {
            return image::Rgba([0; 4]);
        }
        let s = |c: f64| (c / p[3] * 255.0).round().clamp(0.0, 255.0) as u8;
        image::Rgba([s(p[0]), s(p[1]), s(p[2]), p[3].round() as u8])
    });
    want.save(dir.join(format!("{name}.want.png"))).unwrap();
    std::fs::write(
        dir.join(format!("{name}.json")),
        serde_json::to_string_pretty(scene).unwrap(),
    )
    .unwrap();
    dir
}

/// A random scene over the whole format (rotation, rounding, every blend
/// name, scaled images of `full_scene_assets` with every filter, text), at
/// most 72 x 72.
pub fn random_full_scene(rng: &mut impl Rng) -> Value {
    let w = rng.random_range(8..72u32);
    let h = rng.random_range(8..72u32);
    let mut layers = Vec::new();
    for _ in 0..rng.random_range(1..6) {
        let (fw, fh) = (w as f64, h as f64);
        let mut l = match rng.random_range(0..5) {
            0 => json!({"type": "rect", "color": random_color(rng)}),
            1 => json!({"type": "linear-gradient", "angle": rng.random_range(0.0..360.0),
                        "stops": [{"offset": 0, "color": random_color(rng)}, {"offset": 1, "color": random_color(rng)}]}),
            2 => json!({"type": "radial-gradient",
                        "stops": [{"offset": 0.2, "color": random_color(rng)}, {"offset": 0.9, "color": random_color(rng)}]}),
            3 => {
                json!({"type": "text", "text": "Ag 12", "size": rng.random_range(8.0..30.0), "color": random_color(rng)})
            }
            _ => json!({"type": "image", "src": format!("i{}.png", rng.random_range(0..3)),
                        "fit": *["cover", "contain", "fill", "none"].choose(rng).unwrap(),
                        "filter": *["lanczos3", "bilinear", "nearest"].choose(rng).unwrap()}),
        };
        l["x"] = json!(rng.random_range(-0.3 * fw..fw));
        l["y"] = json!(rng.random_range(-0.3 * fh..fh));
        l["width"] = json!(rng.random_range(1.0..fw * 1.2));
        l["height"] = json!(rng.random_range(1.0..fh * 1.2));
        if rng.random_bool(0.5) {
            l["rotate"] = json!(rng.random_range(-180.0..180.0));
        }
        if rng.random_bool(0.5) {
            l["corner_radius"] = json!(rng.random_range(0.0..12.0));
        }
        if rng.random_bool(0.4) {
            l["opacity"] = json!(rng.random_range(0.0..=1.0));
        }
        l["blend"] = json!(*BLEND_NAMES.choose(rng).unwrap());
        layers.push(l);
    }
    json!({"width": w, "height": h, "background": random_color(rng),
           "blend_space": *["srgb", "linear"].choose(rng).unwrap(), "layers": layers})
}

/// The images `random_full_scene` names: `i0.png` .. `i2.png`.
pub fn full_scene_assets(rng: &mut impl Rng) -> impasto::Assets {
    let mut a = impasto::Assets::new();
    for (i, (w, h)) in [(5u32, 7u32), (40, 24), (96, 64)].into_iter().enumerate() {
        a.insert(
            format!("i{i}.png"),
            std::sync::Arc::new(random_image(rng, w, h)),
        );
    }
    a
}

/// A JPEG of `img` carrying an EXIF APP1 segment with `orientation`.
pub fn jpeg_with_orientation(img: &RgbaImage, orientation: u16) -> Vec<u8> {
    let mut exif = b"Exif\0\0MM\0\x2a\0\0\0\x08".to_vec();
    exif.extend_from_slice(&1u16.to_be_bytes()); // one entry
    exif.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    exif.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    exif.extend_from_slice(&1u32.to_be_bytes()); // count
    exif.extend_from_slice(&orientation.to_be_bytes());
    exif.extend_from_slice(&[0, 0]);
    exif.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    let rgb: Vec<u8> = img.pixels().flat_map(|p| [p[0], p[1], p[2]]).collect();
    let mut out = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut out, 95);
    enc.add_app_segment(1, exif).unwrap();
    enc.encode(
        &rgb,
        img.width() as u16,
        img.height() as u16,
        jpeg_encoder::ColorType::Rgb,
    )
    .unwrap();
    out
}

/// Renders `per_blend` random exact scenes (seeded by `seed`) per blend
/// name and space with `renderer` and compares each with the float64
/// reference: the worst alpha and colour differences (premultiplied, 8-bit
/// units) and a line per scene over `(alpha, colour)`, whose images are
/// written under `label`.
pub fn blend_reference_check(
    renderer: &impasto::Renderer,
    label: &str,
    seed: u64,
    per_blend: usize,
    (alpha_tol, colour_tol): (f64, f64),
) -> (f64, f64, Vec<String>) {
    use rand::SeedableRng;
    let dir = tempfile::tempdir().unwrap();
    let renderer = renderer.clone().with_asset_root(dir.path());
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let (mut worst_a, mut worst_c, mut failures) = (0.0f64, 0.0f64, Vec::new());
    for space in ["srgb", "linear"] {
        for blend in BLEND_NAMES {
            for k in 0..per_blend {
                let json = random_exact_scene(&mut rng, dir.path(), blend, space);
                let scene = impasto::Scene::from_value(&json).unwrap();
                let img = renderer.render(&scene).unwrap();
                let (_, _, linear, want) = reference::render(&json, &|src| {
                    let img = image::open(dir.path().join(src)).unwrap().into_rgba8();
                    reference::RefImage {
                        width: img.width(),
                        height: img.height(),
                        pixels: img.pixels().map(|p| p.0).collect(),
                    }
                });
                let d = compare_with_reference(&img, &want, linear);
                worst_a = worst_a.max(d.max_alpha);
                worst_c = worst_c.max(d.max_color);
                if d.max_alpha > alpha_tol || d.max_color > colour_tol {
                    let name = format!("{label}-{space}-{blend}-{k}");
                    write_failure(&name, &img, &want, linear, &json);
                    failures.push(format!(
                        "{name}: alpha {:.3}, colour {:.3}",
                        d.max_alpha, d.max_color
                    ));
                }
            }
        }
    }
    (worst_a, worst_c, failures)
}

/// A PNG `iCCP` chunk whose profile inflates to `inflated` zero bytes (a
/// decompression bomb when large), CRC included, to go right after IHDR
/// (byte 33 of a PNG).
pub fn iccp_bomb_chunk(inflated: usize) -> Vec<u8> {
    let mut z = fdeflate::Compressor::new(Vec::new()).unwrap();
    z.write_data(&vec![0u8; inflated]).unwrap();
    let mut data = b"bomb\0\0".to_vec();
    data.extend(z.finish().unwrap());
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    chunk.extend_from_slice(b"iCCP");
    chunk.extend_from_slice(&data);
    let crc = png_crc(&chunk[4..]);
    chunk.extend_from_slice(&crc.to_be_bytes());
    chunk
}

/// PNG's CRC-32 of a chunk's type and data.
pub fn png_crc(bytes: &[u8]) -> u32 {
    bytes.iter().fold(!0u32, |mut c, &b| {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 == 1 {
                (c >> 1) ^ 0xEDB8_8320
            } else {
                c >> 1
            };
        }
        c
    }) ^ !0
}

/// A 1x1 PNG of `pixel` marked interlaced (Adam7), which `image`'s whole-
/// image decoder reads rather than impasto's row decoder: a 1x1 image is
/// its own first pass, so the data is the straight file's (the `png`
/// crate writes no interlaced files).
pub fn interlaced_png_1x1(pixel: image::Rgba<u8>) -> Vec<u8> {
    let img = image::RgbaImage::from_pixel(1, 1, pixel);
    let mut png = impasto::codec::encode(&img, impasto::codec::OutputFormat::Png).unwrap();
    // IHDR: length at 8, type at 12, data at 16 (interlace is its 13th
    // byte, 28), CRC at 29.
    png[28] = 1;
    let crc = png_crc(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}
