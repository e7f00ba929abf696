//! The structure-aware scene generator shared by `tests/fuzz.rs` (a bounded
//! run in `cargo test`) and `examples/fuzz.rs` (a campaign of N minutes).
//!
//! A seeded ChaCha8 generator (no proptest: every case is reproducible from
//! `(seed, case number)` alone). A case is a scene as JSON text, the same
//! kind of scene built through the public structs (so `Scene::validate`
//! meets values the parser never lets through: NaN, infinities, negative
//! sizes), and a handful of image files: small valid PNG, JPEG and WebP
//! files with bytes flipped, truncated or extended.

#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use impasto::scene::{Fit, ImageLayer, Layer, LayerKind, Stop, TextLayer};
use impasto::{Assets, BlendMode, BlendSpace, Color, Error, RenderOptions, Renderer, Scene};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// One generated case.
pub struct Case {
    /// The scene as JSON text (may be invalid JSON or an invalid scene).
    pub json: String,
    /// A scene built through the structs, bypassing the parser.
    pub built: Scene,
    /// Image files the scenes refer to: (name, bytes).
    pub files: Vec<(String, Vec<u8>)>,
}

/// The image file names a case writes and its scenes may name.
pub const FILES: [&str; 4] = ["a.png", "b.jpg", "c.webp", "d.png"];

/// Odd text: scripts, combining marks, bidi, emoji sequences, controls.
const TEXTS: &[&str] = &[
    "",
    " ",
    "\n\n\n",
    "Hello, world",
    "e\u{301}\u{301}\u{301}\u{301}\u{301}\u{301}\u{301}",
    "\u{202E}abc\u{202C}def",
    "שלום עולם مرحبا بالعالم",
    "👩‍👩‍👧‍👦🏳️‍🌈🇫🇷",
    "漢字かなカナ한국어",
    "\u{0}\u{1}\u{7f}\u{85}\u{2028}\u{2029}",
    "\u{fffd}\u{ffff}\u{10ffff}\u{e000}",
    "\u{200b}\u{200d}\u{fe0f}\u{feff}",
    "\t\ttabs\r\nand CRLF",
    "ﷺ ﷽ ꧅ 𒐫",
    "Wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww",
];

/// A float from the whole range, edges most of all.
pub fn wild_f64(rng: &mut impl Rng) -> f64 {
    match rng.random_range(0..16) {
        0 => f64::NAN,
        1 => f64::INFINITY,
        2 => f64::NEG_INFINITY,
        3 => 1e-306,
        4 => 1e308,
        5 => -1e308,
        6 => -0.0,
        7 => f64::MIN_POSITIVE / 4.0,
        8 => 999_999.999,
        9 => -rng.random_range(0.0..100.0),
        10 => rng.random_range(-1e7..1e7),
        _ => rng.random_range(-40.0..120.0),
    }
}

/// A float mostly inside the format's ranges, sometimes anything.
pub fn edge_f64(rng: &mut impl Rng, lo: f64, hi: f64) -> f64 {
    match rng.random_range(0..60) {
        0 => wild_f64(rng),
        1..=3 => lo,
        4..=6 => hi,
        _ => rng.random_range(lo..=hi),
    }
}

fn color(rng: &mut impl Rng) -> Color {
    Color::rgba(rng.random(), rng.random(), rng.random(), rng.random())
}

fn stops(rng: &mut impl Rng) -> Vec<Stop> {
    let n = match rng.random_range(0..8) {
        0 => 0,
        1 => 1,
        2 => rng.random_range(100..1100),
        _ => rng.random_range(2..6),
    };
    let mut offset: f64 = 0.0;
    (0..n)
        .map(|_| {
            if rng.random_range(0..20) == 0 {
                offset = wild_f64(rng);
            } else if rng.random_bool(0.7) {
                offset = (offset + rng.random_range(0.0..0.4)).min(1.0);
            }
            Stop {
                offset,
                color: color(rng),
            }
        })
        .collect()
}

fn kind(rng: &mut impl Rng) -> LayerKind {
    match rng.random_range(0..5) {
        0 => LayerKind::Rect { color: color(rng) },
        1 => LayerKind::LinearGradient {
            angle: edge_f64(rng, -720.0, 720.0),
            stops: stops(rng),
        },
        2 => LayerKind::RadialGradient {
            center: [edge_f64(rng, -2.0, 3.0), edge_f64(rng, -2.0, 3.0)],
            radius: rng.random_bool(0.5).then(|| edge_f64(rng, 1e-9, 1e6)),
            stops: stops(rng),
        },
        3 => {
            let mut image = ImageLayer::new(FILES[rng.random_range(0..FILES.len())]);
            image.fit = [Fit::Cover, Fit::Contain, Fit::Fill, Fit::None][rng.random_range(0..4)];
            image.position = [edge_f64(rng, -1.0, 2.0), edge_f64(rng, -1.0, 2.0)];
            LayerKind::Image(image)
        }
        _ => {
            let mut text: String = TEXTS[rng.random_range(0..TEXTS.len())].into();
            if rng.random_bool(0.2) {
                text = text.repeat(rng.random_range(2..40));
            }
            LayerKind::Text(TextLayer {
                text,
                size: if rng.random_bool(0.03) {
                    10_000.0
                } else {
                    edge_f64(rng, 0.01, 80.0)
                },
                color: color(rng),
                weight: [100, 400, 900, 0, 1000][rng.random_range(0..5)],
                italic: rng.random(),
                line_height: edge_f64(rng, 0.01, 100.0),
                font: rng
                    .random_bool(0.1)
                    .then(|| ["Nope", "", "monospace"][rng.random_range(0..3)].into()),
                ..TextLayer::default()
            })
        }
    }
}

fn layer(rng: &mut impl Rng, canvas: f64) -> Layer {
    let mut l = Layer::rect(Color::BLACK);
    l.kind = kind(rng);
    l.x = edge_f64(rng, -canvas, canvas * 2.0);
    l.y = edge_f64(rng, -canvas, canvas * 2.0);
    l.width = edge_f64(rng, 1e-9, canvas * 3.0);
    l.height = edge_f64(rng, 1e-9, canvas * 3.0);
    l.opacity = edge_f64(rng, 0.0, 1.0);
    l.rotate = match rng.random_range(0..6) {
        0 => edge_f64(rng, -1e6, 1e6),
        1 => 0.0,
        _ => rng.random_range(-360.0..360.0),
    };
    l.corner_radius = edge_f64(rng, 0.0, canvas);
    l.blend = BlendMode::ALL[rng.random_range(0..BlendMode::ALL.len())];
    l.visible = rng.random_bool(0.9);
    l
}

/// A scene built through the structs: small canvas, wild values.
pub fn scene(rng: &mut impl Rng) -> Scene {
    let mut s = Scene::new(rng.random_range(1..48), rng.random_range(1..48));
    if rng.random_range(0..30) == 0 {
        // Sizes the format refuses.
        s.width = [0, 16385, u32::MAX][rng.random_range(0..3)];
    }
    s.background = color(rng);
    s.blend_space = if rng.random() {
        BlendSpace::Srgb
    } else {
        BlendSpace::Linear
    };
    let canvas = f64::from(s.width.clamp(1, 64));
    let n = rng.random_range(0..6);
    s.layers = (0..n).map(|_| layer(rng, canvas)).collect();
    s
}

/// The JSON text of a scene like `scene`'s, with its numbers written as
/// text (so `1e999`, `-0` and friends reach the parser) and, sometimes, a
/// byte-level mutation of the text.
fn json_text(rng: &mut impl Rng) -> String {
    let built = scene(rng);
    // NaN and the infinities serialize as `null`; the parser's own view of
    // them is spelt by the mutations below.
    let mut text = built.to_json();
    let mutations = rng.random_range(0..4);
    for _ in 0..mutations {
        mutate_text(rng, &mut text);
    }
    text
}

fn mutate_text(rng: &mut impl Rng, text: &mut String) {
    const TOKENS: &[&str] = &[
        "1e999",
        "-1e999",
        "NaN",
        "1e-306",
        "-0",
        "null",
        "true",
        "\"\"",
        "[]",
        "{}",
        "\"\\ud800\"",
        "18446744073709551616",
        "0.1e-400",
        "\"#ff\"",
        "\"multiply\"",
    ];
    // Replace one number (a run of digits, '.', '-', 'e') with a token.
    let bytes = text.as_bytes();
    let numbers: Vec<usize> = (0..bytes.len())
        .filter(|&i| bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric()))
        .collect();
    match rng.random_range(0..4) {
        0..=1 if !numbers.is_empty() => {
            let start = numbers[rng.random_range(0..numbers.len())];
            let end = (start..bytes.len())
                .find(|&i| !matches!(bytes[i], b'0'..=b'9' | b'.' | b'-' | b'e' | b'+'))
                .unwrap_or(bytes.len());
            let token = TOKENS[rng.random_range(0..TOKENS.len())];
            text.replace_range(start..end, token);
        }
        2 if !text.is_empty() => {
            // Cut at a char boundary.
            let mut cut = rng.random_range(0..text.len());
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
        }
        _ => {
            let fields = [
                "\"blend\": \"plus-darker\"",
                "\"visible\": 3",
                "\"layers\": 7",
            ];
            if let Some(i) = text.find('{') {
                let f = fields[rng.random_range(0..fields.len())];
                text.insert_str(i + 1, &format!("{f},"));
            }
        }
    }
}

/// Small valid image files, one per format, made once.
pub fn seed_images() -> Vec<(String, Vec<u8>)> {
    use image::{ImageFormat, RgbaImage};
    let img = RgbaImage::from_fn(13, 9, |x, y| {
        image::Rgba([(x * 19) as u8, (y * 27) as u8, 90, (x * y * 3) as u8])
    });
    let encode = |format: ImageFormat, img: image::DynamicImage| {
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, format).expect("encode a seed image");
        out.into_inner()
    };
    let rgba = image::DynamicImage::ImageRgba8(img);
    vec![
        ("a.png".into(), encode(ImageFormat::Png, rgba.clone())),
        (
            "b.jpg".into(),
            encode(ImageFormat::Jpeg, rgba.to_rgb8().into()),
        ),
        ("c.webp".into(), encode(ImageFormat::WebP, rgba.clone())),
        (
            "d.png".into(),
            encode(ImageFormat::Png, rgba.to_luma8().into()),
        ),
    ]
}

/// `bytes` with some bytes flipped, cut short or extended (or untouched).
fn mutate_file(rng: &mut impl Rng, bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    match rng.random_range(0..5) {
        0 => {}
        1 => out.truncate(rng.random_range(0..out.len())),
        2 => out.extend((0..rng.random_range(1..64)).map(|_| rng.random::<u8>())),
        _ => {
            for _ in 0..rng.random_range(1..9) {
                // Mostly past the signature, so the decoder gets further.
                let i = rng.random_range(out.len().min(12)..out.len());
                out[i] ^= 1 << rng.random_range(0..8);
            }
        }
    }
    out
}

/// Case `n` of the run seeded with `seed`.
pub fn case(seed: u64, n: u64, seeds: &[(String, Vec<u8>)]) -> Case {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let files: Vec<(String, Vec<u8>)> = seeds
        .iter()
        .map(|(name, bytes)| (name.clone(), mutate_file(&mut rng, bytes)))
        .collect();
    let json = json_text(&mut rng);
    let mut built = scene(&mut rng);
    // Some image layers draw the case's files as data: URLs, some of them
    // mangled; from a stream of their own, so the rest of each case is as
    // it was before data: URLs.
    let mut urls = ChaCha8Rng::seed_from_u64(seed ^ n.wrapping_mul(0xDA7A_0123_4567_89AB) ^ 0xDA7A);
    for layer in &mut built.layers {
        if let LayerKind::Image(image) = &mut layer.kind {
            if urls.random_bool(0.3) {
                let (_, bytes) = &files[urls.random_range(0..files.len())];
                image.src = data_url(&mut urls, bytes);
            }
        }
    }
    Case { json, built, files }
}

/// `bytes` as a data: URL, whole or mangled: whitespace, percent-escapes,
/// a fragment, cut short, a stray character, an odd header.
fn data_url(rng: &mut impl Rng, bytes: &[u8]) -> String {
    use base64::Engine;
    let mut data = base64::engine::general_purpose::STANDARD.encode(bytes);
    let at = |rng: &mut dyn rand::RngCore, data: &String| {
        let mut i = rng.random_range(0..=data.len());
        while !data.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    match rng.random_range(0..8) {
        0 => {}
        1 => {
            let i = at(rng, &data);
            data.insert_str(i, [" ", "\n", "\r\n\t", "%20"][rng.random_range(0..4)]);
        }
        2 => data = data.replace('+', "%2B").replace('/', "%2f"),
        3 => data.push_str("#frag,ment"),
        4 => {
            let i = at(rng, &data);
            data.truncate(i);
        }
        5 => {
            let i = at(rng, &data);
            let c = ["-", "_", "=", "%", "%zz", "\u{0}", "é", ","][rng.random_range(0..8)];
            data.insert_str(i, c);
        }
        6 => data = data.trim_end_matches('=').to_string(),
        _ => {
            return format!(
                "{}{}",
                [
                    "DATA:image/png;BASE64 ,",
                    " data:;charset=x;base64,",
                    "data:,",
                    "data:image/svg+xml,"
                ][rng.random_range(0..4)],
                data
            )
        }
    }
    format!("data:image/png;base64,{data}")
}

/// The renderer the fuzzers use: CPU, bundled fonts only, assets in `dir`.
pub fn renderer(dir: &Path) -> Renderer {
    Renderer::new(impasto::Backend::Cpu)
        .expect("the CPU backend")
        .with_system_fonts(false)
        .with_asset_root(dir)
}

/// What went wrong with a case: a panic or an internal error.
#[derive(Debug)]
pub struct Failure {
    /// Which scene: `"json"` or `"built"`.
    pub which: &'static str,
    /// The panic message or the internal error.
    pub message: String,
}

/// Writes the case's files into `dir`, then parses and renders its JSON
/// scene and renders its built scene. `Ok` or a bad-input error are both
/// fine; a panic or [`Error::Internal`] is a failure.
pub fn run_case(renderer: &Renderer, dir: &Path, case: &Case) -> Result<(), Failure> {
    for (name, bytes) in &case.files {
        std::fs::write(dir.join(name), bytes).expect("write a fuzz image file");
    }
    let options = RenderOptions::with_timeout(Duration::from_secs(5));
    let json = || match Scene::from_json(&case.json) {
        Ok(scene) => renderer
            .render_with(&scene, &Assets::new(), &options)
            .map(drop),
        Err(e) => Err(e),
    };
    check("json", json)?;
    check("built", || {
        renderer
            .render_with(&case.built, &Assets::new(), &options)
            .map(drop)
    })
}

fn check(which: &'static str, f: impl FnOnce() -> Result<(), Error>) -> Result<(), Failure> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Err(Error::Internal(message))) => Err(Failure { which, message }),
        Ok(_) => Ok(()),
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(Failure {
                which,
                message: format!("panic: {message}"),
            })
        }
    }
}

/// Saves a failing case (its scenes and files) into `dir` for replay.
pub fn save_case(dir: &Path, case: &Case, failure: &Failure) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("scene.json"), &case.json)?;
    // NaN and infinities do not survive JSON: the Debug form keeps them.
    std::fs::write(dir.join("built.json"), case.built.to_json_pretty())?;
    std::fs::write(dir.join("built.debug.txt"), format!("{:#?}", case.built))?;
    std::fs::write(
        dir.join("failure.txt"),
        format!("{}: {}\n", failure.which, failure.message),
    )?;
    for (name, bytes) in &case.files {
        std::fs::write(dir.join(name), bytes)?;
    }
    Ok(())
}
