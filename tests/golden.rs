//! Golden images of showcase scenes (shapes, gradients in both blend spaces,
//! image fits and filters, Latin text with each alignment, text rotated
//! with opacity and a blend mode, every blend name in both spaces as contact
//! sheets), rendered on every backend and compared with the committed PNGs
//! in `tests/golden/`, which the CPU backend made.
//!
//! Tolerances are each backend's, stated once in `tests/common/backends.rs`:
//! the CPU within 1 of its own images (its SIMD and portable kernels may
//! round the last bit of a float differently), the GPU within its parity
//! tolerance of the CPU (and its text tolerance on scenes with text).
//!
//! To re-create the golden images after an intended change:
//! `IMPASTO_BLESS=1 cargo test --test golden` (the CPU's renders are
//! written), then look at them.

mod common;

use std::path::{Path, PathBuf};

use common::backends::{backends, check_images, TestBackend, Tolerance};
use image::RgbaImage;
use impasto::{Renderer, Scene};
use serde_json::Value;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
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

fn has_text(json: &Value) -> bool {
    json["layers"]
        .as_array()
        .is_some_and(|ls| ls.iter().any(|l| l["type"] == "text"))
}

/// Renders with the backend's renderer (bundled fonts only, so the images
/// do not depend on the machine's fonts), images found beside the goldens.
fn render(renderer: &Renderer, json: &Value) -> RgbaImage {
    let scene = Scene::from_value(json).unwrap();
    renderer
        .clone()
        .with_asset_root(golden_dir())
        .render(&scene)
        .unwrap()
}

/// Compares a backend's render with `tests/golden/NAME.png`; returns a
/// problem or `None`. With `IMPASTO_BLESS` set, the CPU's render becomes
/// the golden image.
fn check(backend: &TestBackend, name: &str, got: &RgbaImage, t: &Tolerance) -> Option<String> {
    let path = golden_dir().join(format!("{name}.png"));
    if std::env::var_os("IMPASTO_BLESS").is_some() && backend.name == "cpu" {
        got.save(&path).unwrap();
        return None;
    }
    let want = match image::open(&path) {
        Ok(img) => img.into_rgba8(),
        Err(e) => return Some(format!("{name}: cannot read {}: {e}", path.display())),
    };
    check_images(&format!("{name}.{}", backend.name), got, &want, t)
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
fn showcase_scenes_match_their_golden_images_on_every_backend() {
    let mut problems = Vec::new();
    for backend in backends() {
        let mut checked = 0;
        for (name, json) in scenes().iter().filter(|(n, _)| !n.starts_with("blend-")) {
            let t = if has_text(json) {
                &backend.text_tolerance
            } else {
                &backend.tolerance
            };
            problems.extend(check(&backend, name, &render(&backend.renderer, json), t));
            checked += 1;
        }
        assert!(checked >= 6, "{}: {checked} scenes", backend.name);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_blend_name_in_both_spaces_matches_its_contact_sheet_on_every_backend() {
    let all = scenes();
    let mut problems = Vec::new();
    for backend in backends() {
        for space in ["srgb", "linear"] {
            let prefix = format!("blend-{space}-");
            let tiles: Vec<RgbaImage> = all
                .iter()
                .filter(|(n, _)| n.starts_with(&prefix))
                .map(|(_, json)| render(&backend.renderer, json))
                .collect();
            assert_eq!(tiles.len(), 27, "one tile per blend mode");
            let sheet = contact_sheet(&tiles, 9);
            problems.extend(check(
                &backend,
                &format!("blend-{space}"),
                &sheet,
                &backend.tolerance,
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Chinese and mixed Latin + Chinese + emoji text, with the fonts CI installs
/// from Debian (`fonts-wqy-microhei`, `fonts-noto-color-emoji`) given as font
/// folders and the system's other fonts off, so the fallback is the same on
/// every machine that has them. Without them: a failure under `CI=true`,
/// a printed skip elsewhere.
#[test]
fn chinese_and_mixed_script_text_match_their_golden_images_on_every_backend() {
    let wqy = Path::new("/usr/share/fonts/truetype/wqy");
    let emoji = Path::new("/usr/share/fonts/truetype/noto");
    if !wqy.join("wqy-microhei.ttc").exists() || !emoji.join("NotoColorEmoji.ttf").exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI must install fonts-wqy-microhei and fonts-noto-color-emoji"
        );
        eprintln!("SKIPPED chinese_and_mixed_script_text: install fonts-wqy-microhei and fonts-noto-color-emoji");
        return;
    }

    let scenes = [
        (
            "text-chinese-title",
            serde_json::json!({"width": 320, "height": 120, "background": "#b22222", "layers": [
                {"type": "text", "text": "夏季大促销", "y": 10, "height": 60, "size": 48, "weight": 700,
                 "align": "center", "color": "#ffd700"},
                {"type": "text", "text": "全场商品限时五折优惠，欢迎选购", "x": 20, "y": 70, "width": 280, "height": 45,
                 "size": 18, "align": "center", "color": "#ffffff"}]}),
        ),
        (
            "text-mixed-scripts",
            serde_json::json!({"width": 320, "height": 120, "background": "#ffffff", "layers": [
                {"type": "text", "text": "Coffee 咖啡 ☕ 50% off 🎉 今天", "x": 10, "y": 10, "width": 300, "height": 100,
                 "size": 26, "color": "#1d1d1f"}]}),
        ),
    ];
    let mut problems = Vec::new();
    for backend in backends() {
        let renderer = backend
            .renderer
            .clone()
            .with_font_dir(wqy)
            .with_font_dir(emoji);
        for (name, json) in &scenes {
            let img = renderer.render(&Scene::from_value(json).unwrap()).unwrap();
            problems.extend(check(&backend, name, &img, &backend.text_tolerance));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
