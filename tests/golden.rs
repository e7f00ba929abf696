//! Golden images of showcase scenes (shapes, gradients in both blend spaces,
//! image fits and filters, Latin text with each alignment, text rotated
//! with opacity and a blend mode, every blend name in both spaces as contact
//! sheets), rendered by the CPU backend and compared with the committed PNGs
//! in `tests/golden/`.
//!
//! Tolerance: every channel within 1 of the golden image, and at most 0.1%
//! of channels different at all. The CPU backend is deterministic for one
//! instruction set, but its AVX2/FMA kernels and its portable kernels may
//! round the last bit of a float differently (a fused multiply-add rounds
//! once), which can move an 8-bit result by one.
//!
//! To re-create the golden images after an intended change:
//! `IMPASTO_BLESS=1 cargo test --test golden`, then look at them.

use std::path::{Path, PathBuf};

use image::RgbaImage;
use impasto::{Backend, Renderer, Scene};
use serde_json::Value;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn failure_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-failures");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn scenes() -> Vec<(String, Value)> {
    let text = std::fs::read_to_string(golden_dir().join("scenes.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn render(json: &Value) -> RgbaImage {
    let scene = Scene::from_value(json).unwrap();
    // Bundled fonts only, so the images do not depend on the machine's fonts.
    Renderer::new(Backend::Cpu)
        .unwrap()
        .with_system_fonts(false)
        .with_asset_root(golden_dir())
        .render(&scene)
        .unwrap()
}

/// Compares with `tests/golden/NAME.png`; returns a problem or `None`.
fn check(name: &str, got: &RgbaImage) -> Option<String> {
    let path = golden_dir().join(format!("{name}.png"));
    if std::env::var_os("IMPASTO_BLESS").is_some() {
        got.save(&path).unwrap();
        return None;
    }
    let want = match image::open(&path) {
        Ok(img) => img.into_rgba8(),
        Err(e) => return Some(format!("{name}: cannot read {}: {e}", path.display())),
    };
    if want.dimensions() != got.dimensions() {
        return Some(format!(
            "{name}: size {:?}, golden {:?}",
            got.dimensions(),
            want.dimensions()
        ));
    }
    let mut differing = 0usize;
    let mut worst = 0i32;
    let diff = RgbaImage::from_fn(got.width(), got.height(), |x, y| {
        let (a, b) = (got.get_pixel(x, y), want.get_pixel(x, y));
        let mut m = 0;
        for c in 0..4 {
            let d = (a[c] as i32 - b[c] as i32).abs();
            if d > 0 {
                differing += 1;
            }
            m = m.max(d);
        }
        worst = worst.max(m);
        let v = (m * 60).min(255) as u8;
        image::Rgba([v, v, v, 255])
    });
    let channels = (got.width() * got.height() * 4) as usize;
    if worst > 1 || differing * 1000 > channels {
        let dir = failure_dir();
        got.save(dir.join(format!("{name}.got.png"))).unwrap();
        want.save(dir.join(format!("{name}.want.png"))).unwrap();
        diff.save(dir.join(format!("{name}.diff.png"))).unwrap();
        return Some(format!(
            "{name}: worst channel difference {worst}, {differing} of {channels} channels differ (images in {})",
            dir.display()
        ));
    }
    None
}

/// Lays tiles out in a grid with a 2-pixel transparent gutter.
fn contact_sheet(tiles: &[RgbaImage], columns: u32) -> RgbaImage {
    let (tw, th) = tiles[0].dimensions();
    let rows = (tiles.len() as u32).div_ceil(columns);
    let mut sheet = RgbaImage::new(columns * (tw + 2), rows * (th + 2));
    for (i, t) in tiles.iter().enumerate() {
        let (cx, cy) = (i as u32 % columns, i as u32 / columns);
        image::imageops::replace(
            &mut sheet,
            t,
            (cx * (tw + 2)) as i64,
            (cy * (th + 2)) as i64,
        );
    }
    sheet
}

#[test]
fn showcase_scenes_match_their_golden_images() {
    let mut problems = Vec::new();
    let mut checked = 0;
    for (name, json) in scenes().iter().filter(|(n, _)| !n.starts_with("blend-")) {
        problems.extend(check(name, &render(json)));
        checked += 1;
    }
    assert!(checked >= 4);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_blend_name_in_both_spaces_matches_its_contact_sheet() {
    let all = scenes();
    let mut problems = Vec::new();
    for space in ["srgb", "linear"] {
        let prefix = format!("blend-{space}-");
        let tiles: Vec<RgbaImage> = all
            .iter()
            .filter(|(n, _)| n.starts_with(&prefix))
            .map(|(_, json)| render(json))
            .collect();
        assert_eq!(tiles.len(), 27, "one tile per blend mode");
        problems.extend(check(&format!("blend-{space}"), &contact_sheet(&tiles, 9)));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
