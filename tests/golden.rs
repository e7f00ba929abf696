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

/// Chinese and mixed Latin + Chinese + emoji text, with the fonts CI installs
/// from Debian (`fonts-wqy-microhei`, `fonts-noto-color-emoji`) given as font
/// folders and the system's other fonts off, so the fallback is the same on
/// every machine that has them. Without them: a failure under `CI=true`,
/// a printed skip elsewhere.
#[test]
fn chinese_and_mixed_script_text_match_their_golden_images() {
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
    let renderer = Renderer::new(Backend::Cpu)
        .unwrap()
        .with_system_fonts(false)
        .with_font_dir(wqy)
        .with_font_dir(emoji);
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
    for (name, json) in scenes {
        let img = renderer.render(&Scene::from_value(&json).unwrap()).unwrap();
        problems.extend(check(name, &img));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
