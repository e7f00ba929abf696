//! The fixed suites and the inputs their cases share: built once, before
//! anything is timed, and used by every backend.

use std::path::PathBuf;
use std::sync::Arc;

use clap::ValueEnum;
use impasto::codec::{decode_bytes, encode, OutputFormat};
use impasto::{Assets, Error, Limits, RgbaImage, Scene};

/// The sample poster and its images, built into the binary so that the
/// harness runs from any folder.
const POSTER_JSON: &str = include_str!("../../../../examples/poster/poster.json");
const COFFEE_JPG: &[u8] = include_bytes!("../../../../examples/poster/coffee.jpg");
const LOGO_PNG: &[u8] = include_bytes!("../../../../examples/poster/logo.png");

/// Which suite runs.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Suite {
    /// Few repetitions and small batches: a smoke run of every case, seconds
    /// on a GPU, under a minute on a software adapter.
    Quick,
    /// More repetitions and larger batches, for figures worth comparing.
    Standard,
}

/// How much work each case does in a suite.
pub struct Params {
    pub warmup: u32,
    pub reps: u32,
    /// Social cards per batch.
    pub cards: u32,
    /// Generated images (width, height, format) added to the bundled two in
    /// the thumbnail folder.
    pub generated: &'static [(u32, u32, &'static str)],
}

impl Suite {
    pub fn name(self) -> &'static str {
        match self {
            Suite::Quick => "quick",
            Suite::Standard => "standard",
        }
    }

    pub fn params(self) -> Params {
        match self {
            Suite::Quick => Params {
                warmup: 1,
                reps: 3,
                cards: 4,
                generated: &[(1600, 1200, "jpg"), (900, 1200, "png")],
            },
            Suite::Standard => Params {
                warmup: 3,
                reps: 30,
                cards: 32,
                generated: &[
                    (4000, 3000, "jpg"),
                    (3000, 4000, "jpg"),
                    (6000, 4000, "jpg"),
                    (2400, 1600, "jpg"),
                    (1920, 1080, "png"),
                    (2048, 2048, "png"),
                ],
            },
        }
    }
}

/// The inputs of every case.
pub struct Fixtures {
    /// `composite_10x2048`: the scene and its ten in-memory layers.
    pub composite: (Scene, Assets),
    /// A folder holding poster.json, coffee.jpg and logo.png, then the
    /// thumbnail inputs under `thumbs/`.
    pub dir: tempfile::TempDir,
    /// `social_cards_batch`: one scene per card and the shared images.
    pub cards: (Vec<Scene>, Assets),
    /// `thumbnails`: the image files, in name order.
    pub thumbs: Vec<PathBuf>,
}

impl Fixtures {
    pub fn new(params: &Params) -> Result<Fixtures, Error> {
        let dir = tempfile::tempdir().map_err(|e| io_error(std::env::temp_dir(), e))?;
        let write = |name: &str, bytes: &[u8]| {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).map_err(|e| io_error(path, e))
        };
        write("poster.json", POSTER_JSON.as_bytes())?;
        write("coffee.jpg", COFFEE_JPG)?;
        write("logo.png", LOGO_PNG)?;
        let thumbs = thumbnail_folder(dir.path(), params)?;
        Ok(Fixtures {
            composite: composite_scene()?,
            cards: social_cards(params.cards)?,
            thumbs,
            dir,
        })
    }

    pub fn poster_path(&self) -> PathBuf {
        self.dir.path().join("poster.json")
    }
}

pub fn io_error(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
    Error::Io {
        path: path.into(),
        source,
    }
}

/// Layer `k` of `composite_10x2048`: a deterministic pattern with every
/// alpha value, the formula of `layer_image` in benches/composite.rs (and of
/// benches/peers.py), so the figures compare.
pub fn layer_image(k: u32, size: u32) -> RgbaImage {
    RgbaImage::from_fn(size, size, |x, y| {
        let v = x
            .wrapping_mul(7)
            .wrapping_add(y.wrapping_mul(13))
            .wrapping_add(k * 31);
        image::Rgba([
            (v & 255) as u8,
            ((v >> 3) & 255) as u8,
            ((x ^ y) & 255) as u8,
            ((x + y + k * 17) & 255) as u8,
        ])
    })
}

/// Ten full-canvas 2048x2048 layers at natural size, source-over, in sRGB.
fn composite_scene() -> Result<(Scene, Assets), Error> {
    let size = 2048;
    let mut assets = Assets::new();
    let mut layers = Vec::new();
    for k in 0..10 {
        let name = format!("layer{k}.png");
        assets.insert(name.clone(), Arc::new(layer_image(k, size)));
        layers.push(serde_json::json!({"type": "image", "src": name}));
    }
    let scene = Scene::from_value(&serde_json::json!({
        "width": size, "height": size, "blend_space": "srgb", "layers": layers
    }))?;
    Ok((scene, assets))
}

fn decode_bundled(name: &str, bytes: &[u8]) -> Result<RgbaImage, Error> {
    decode_bytes(bytes, Limits::default().max_image_pixels)
        .map_err(|e| Error::Options(format!("bundled {name}: {}", e.0)))
}

/// `n` 1200x630 cards: the photo cover-fit, a darkening gradient, the logo
/// and two text layers whose words differ from card to card. The photo and
/// logo are decoded once, as a service holding its templates would.
fn social_cards(n: u32) -> Result<(Vec<Scene>, Assets), Error> {
    let mut assets = Assets::new();
    assets.insert("coffee.jpg", decode_bundled("coffee.jpg", COFFEE_JPG)?);
    assets.insert("logo.png", decode_bundled("logo.png", LOGO_PNG)?);
    const DRINKS: [&str; 8] = [
        "Espresso",
        "Cortado",
        "Flat White",
        "Cold Brew",
        "Macchiato",
        "Filter",
        "Mocha",
        "Latte",
    ];
    const DAYS: [&str; 7] = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    let scenes = (0..n as usize)
        .map(|i| {
            let title = format!("{} Week, part {}", DRINKS[i % 8], i + 1);
            let subtitle = format!(
                "Every {} from 7 to 11 am: a second {} for {} cents.",
                DAYS[i % 7],
                DRINKS[(i + 3) % 8].to_lowercase(),
                50 + i % 50
            );
            Scene::from_value(&serde_json::json!({
                "width": 1200, "height": 630, "background": "#101014",
                "layers": [
                    {"type": "image", "src": "coffee.jpg", "fit": "cover", "position": [0.5, 0.4]},
                    {"type": "linear-gradient", "angle": 90, "stops": [
                        {"offset": 0, "color": "#000000d8"}, {"offset": 0.75, "color": "#00000000"}]},
                    {"type": "image", "src": "logo.png", "x": 60, "y": 48, "width": 96, "height": 96,
                     "fit": "contain"},
                    {"type": "text", "text": title, "x": 60, "y": 200, "width": 760, "height": 180,
                     "size": 68, "weight": 700, "color": "#ffffff"},
                    {"type": "text", "text": subtitle, "x": 60, "y": 420, "width": 700, "height": 130,
                     "size": 30, "line_height": 1.3, "color": "#e6e6e6"}
                ]
            }))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok((scenes, assets))
}

/// The thumbnail folder: copies of the bundled photo and logo, and the
/// suite's generated images (a smooth photo-like pattern, so that encoders
/// see realistic data), written as JPEG q90 or PNG.
fn thumbnail_folder(root: &std::path::Path, params: &Params) -> Result<Vec<PathBuf>, Error> {
    let dir = root.join("thumbs");
    std::fs::create_dir(&dir).map_err(|e| io_error(&dir, e))?;
    let mut files = vec![
        (dir.join("a_coffee.jpg"), COFFEE_JPG.to_vec()),
        (dir.join("b_logo.png"), LOGO_PNG.to_vec()),
    ];
    for (i, &(w, h, ext)) in params.generated.iter().enumerate() {
        let img = generated_image(w, h, i as u32);
        let format = match ext {
            "png" => OutputFormat::Png,
            _ => OutputFormat::Jpeg { quality: 90 },
        };
        let name = format!("c{i:02}_{w}x{h}.{ext}");
        files.push((dir.join(name), encode(&img, format)?));
    }
    for (path, bytes) in &files {
        std::fs::write(path, bytes).map_err(|e| io_error(path, e))?;
    }
    Ok(files.into_iter().map(|(p, _)| p).collect())
}

/// A deterministic photo-like image: gradients, soft stripes and a grid of
/// discs; PNG ones get a varying alpha.
fn generated_image(w: u32, h: u32, seed: u32) -> RgbaImage {
    RgbaImage::from_fn(w, h, |x, y| {
        let fx = x as f32 / w as f32;
        let fy = y as f32 / h as f32;
        let wave = ((fx * 23.0 + seed as f32).sin() * (fy * 17.0).cos() * 0.5 + 0.5) * 80.0;
        let (cx, cy) = ((x % 160) as f32 - 80.0, (y % 160) as f32 - 80.0);
        let disc = if cx * cx + cy * cy < 2500.0 {
            60.0
        } else {
            0.0
        };
        image::Rgba([
            (fx * 170.0 + wave) as u8,
            (fy * 150.0 + disc) as u8,
            ((1.0 - fx) * 120.0 + wave * 0.5 + (seed * 40 % 80) as f32) as u8,
            (255.0 - fy * 100.0 * (seed % 2) as f32) as u8,
        ])
    })
}
