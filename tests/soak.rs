//! Long runs: one process renders many varied scenes (canvas sizes from
//! 64 x 64 to 1200 x 630, images read from files and handed in memory, text
//! in the bundled font and large CJK glyphs from a system font, every blend
//! mode) and its resident memory must stop growing after a warm-up: no leak
//! in the renderer, its asset cache, its glyph cache or its pools.
//!
//! The bound: after the warm-up (the first tenth of the renders, at least
//! 40), the resident set size never exceeds the largest seen during the
//! warm-up plus 64 MiB. RSS is read from /proc/self/status (Linux only).
//!
//! - `cargo test --test soak`: 320 CPU renders (seconds).
//! - `cargo test --release --test soak -- --ignored cpu`: 10,000 CPU renders.
//! - `cargo test --release --test soak -- --ignored gpu`: 2,000 GPU renders;
//!   fails without a GPU adapter (lavapipe counts).
#![cfg(target_os = "linux")]

use std::sync::Arc;

use impasto::scene::Layer;
use impasto::{Assets, Backend, BlendMode, Color, Renderer, RgbaImage, Scene};

/// Growth allowed over the warm-up's largest RSS.
const BOUND_MIB: f64 = 64.0;

/// The resident set size of this process, in MiB.
fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("a VmRSS line in /proc/self/status");
    let kib: f64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("VmRSS in kB");
    kib / 1024.0
}

/// A CJK family among the system fonts; `None` without one, which is a
/// failure under `CI=true` (CI installs fonts-wqy-microhei).
fn cjk_family(renderer: &Renderer) -> Option<String> {
    let families = renderer.font_families().expect("list the fonts");
    let found = families.into_iter().find(|f| {
        let f = f.to_lowercase();
        f.contains("cjk") || f.contains("wenquanyi") || f.contains("wqy")
    });
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "no CJK font found: CI must install fonts-wqy-microhei"
        );
        eprintln!("soak: no CJK font installed: the scenes draw no CJK text");
    }
    found
}

fn photo(w: u32, h: u32, salt: u32) -> RgbaImage {
    RgbaImage::from_fn(w, h, |x, y| {
        image::Rgba([
            (x * 7 + salt) as u8,
            (y * 5 + salt * 3) as u8,
            ((x ^ y) + salt) as u8,
            if (x + y) % 9 == 0 { 128 } else { 255 },
        ])
    })
}

/// Scene `i`: size, layers and blend modes vary with `i`; every blend mode
/// comes round every few scenes.
fn scene(i: usize, cjk: Option<&str>) -> Scene {
    const SIZES: [(u32, u32); 4] = [(64, 64), (320, 200), (640, 360), (1200, 630)];
    let (w, h) = SIZES[i % SIZES.len()];
    let mut s = Scene::new(w, h).background(Color::rgb(240, 236, 228));
    let blend = |k: usize| BlendMode::ALL[(i * 5 + k) % BlendMode::ALL.len()];
    let (fw, fh) = (f64::from(w), f64::from(h));
    s = s
        .layer(Layer::image("photo.jpg").size(fw, fh * 0.7).blend(blend(0)))
        .layer(
            Layer::image(format!("mem{}", i % 3))
                .at(fw * 0.1, fh * 0.1)
                .size(fw * 0.5, fh * 0.5)
                .rotate((i % 40) as f64 - 20.0)
                .blend(blend(1)),
        )
        .layer(
            Layer::linear_gradient([
                (0.0, Color::rgba(200, 40, 40, 200)),
                (1.0, Color::rgba(20, 40, 200, 100)),
            ])
            .blend(blend(2))
            .opacity(0.8),
        )
        .layer(
            Layer::rect(Color::rgba(30, 160, 90, 180))
                .at(fw * 0.6, fh * 0.5)
                .size(fw * 0.3, fh * 0.3)
                .corner_radius(12)
                .blend(blend(3)),
        )
        .layer(
            Layer::text(format!("Render number {i}: café, naïve"), fh / 10.0)
                .at(8, 8)
                .size(fw - 16.0, fh / 3.0)
                .blend(blend(4)),
        );
    if let Some(family) = cjk.filter(|_| i.is_multiple_of(2)) {
        let mut text = Layer::text(format!("漢字の描画テスト{i}号"), fh * 0.3)
            .at(0, fh * 0.5)
            .size(fw, fh * 0.5);
        if let impasto::LayerKind::Text(t) = &mut text.kind {
            t.font = Some(family.to_owned());
        }
        s = s.layer(text);
    }
    s
}

/// Renders `n` scenes with `renderer` and checks RSS stays within the bound.
fn soak(renderer: &Renderer, n: usize, cjk: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    image::DynamicImage::ImageRgba8(photo(800, 600, 1))
        .to_rgb8()
        .save(dir.path().join("photo.jpg"))
        .expect("write a JPEG");
    let renderer = renderer.clone().with_asset_root(dir.path());
    let mut assets = Assets::new();
    for k in 0..3 {
        assets.insert(format!("mem{k}"), Arc::new(photo(300 + k * 50, 200, k)));
    }
    let warm_up = (n / 10).max(40);
    let mut warm_peak: f64 = 0.0;
    let mut worst = (0.0, 0);
    for i in 0..n {
        let img = renderer
            .render_with_assets(&scene(i, cjk), &assets)
            .unwrap_or_else(|e| panic!("render {i}: {e}"));
        assert!(img.width() > 0);
        let rss = rss_mib();
        if i < warm_up {
            warm_peak = warm_peak.max(rss);
        } else if rss > worst.0 {
            worst = (rss, i);
        }
    }
    eprintln!(
        "soak: {n} renders; RSS after the warm-up ({warm_up} renders) {warm_peak:.1} MiB, \
         highest later {:.1} MiB (render {})",
        worst.0, worst.1
    );
    assert!(
        worst.0 <= warm_peak + BOUND_MIB,
        "RSS grew from {warm_peak:.1} MiB (warm-up) to {:.1} MiB at render {}: over the \
         {BOUND_MIB} MiB allowed",
        worst.0,
        worst.1
    );
}

fn cpu() -> Renderer {
    Renderer::new(Backend::Cpu).expect("the CPU backend")
}

#[test]
fn resident_memory_stays_bounded_over_320_cpu_renders() {
    let r = cpu();
    let cjk = cjk_family(&r);
    soak(&r, 320, cjk.as_deref());
}

#[test]
#[ignore = "long: 10,000 renders (cargo test --release --test soak -- --ignored cpu)"]
fn resident_memory_stays_bounded_over_10000_cpu_renders() {
    let r = cpu();
    let cjk = cjk_family(&r);
    soak(&r, 10_000, cjk.as_deref());
}

#[test]
#[ignore = "long, needs a GPU adapter (cargo test --release --test soak -- --ignored gpu)"]
fn resident_memory_stays_bounded_over_2000_gpu_renders() {
    let r = Renderer::new(Backend::Gpu).expect("a GPU adapter (this test needs one)");
    let cjk = cjk_family(&r);
    soak(&r, 2_000, cjk.as_deref());
}
