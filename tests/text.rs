//! Text layers: wrapping, breaking of long words, clipping to the box,
//! alignment, weight, CJK glyphs from fallback fonts, the glyph cache.
//! Every test that renders runs on every backend (`common::backends`); the
//! layout is shared, so the same pixel bounds hold on each.

mod common;

use common::backends::{backends, gpu_renderer};
use image::RgbaImage;
use impasto::{Backend, Renderer, Scene};
use serde_json::{json, Value};

fn renderer() -> Renderer {
    Renderer::new(Backend::Cpu)
        .unwrap()
        .with_system_fonts(false)
}

fn text_layer(extra: Value) -> impasto::Layer {
    let mut layer = json!({"type": "text", "text": "x"});
    for (k, v) in extra.as_object().unwrap() {
        layer[k] = v.clone();
    }
    let scene =
        Scene::from_value(&json!({"width": 400, "height": 300, "layers": [layer]})).unwrap();
    scene.layers[0].clone()
}

fn render(r: &Renderer, scene: Value) -> RgbaImage {
    r.render(&Scene::from_value(&scene).unwrap()).unwrap()
}

/// Bounding box `[x0, y0, x1, y1)` of pixels with alpha above 32.
fn ink(img: &RgbaImage) -> Option<[u32; 4]> {
    let mut b: Option<[u32; 4]> = None;
    for (x, y, p) in img.enumerate_pixels() {
        if p[3] > 32 {
            b = Some(match b {
                None => [x, y, x + 1, y + 1],
                Some([a, c, d, e]) => [a.min(x), c.min(y), d.max(x + 1), e.max(y + 1)],
            });
        }
    }
    b
}

#[test]
fn lines_wrap_at_the_box_width_on_word_boundaries() {
    let r = renderer();
    let text = "the quick brown fox jumps over the lazy dog";
    let wide = r
        .measure_text(&text_layer(
            json!({"text": text, "width": 2000, "size": 20}),
        ))
        .unwrap();
    assert_eq!(wide.len(), 1);
    let narrow = r
        .measure_text(&text_layer(json!({"text": text, "width": 120, "size": 20})))
        .unwrap();
    assert!(narrow.len() >= 3, "{narrow:?}");
    assert!(narrow.iter().all(|w| *w <= 120.0), "{narrow:?}");
    let explicit = r
        .measure_text(&text_layer(
            json!({"text": "one\ntwo\nthree", "width": 2000}),
        ))
        .unwrap();
    assert_eq!(explicit.len(), 3);
}

#[test]
fn a_word_longer_than_the_box_is_broken_rather_than_overflowing() {
    let r = renderer();
    let lines = r
        .measure_text(&text_layer(
            json!({"text": "Donaudampfschifffahrtsgesellschaft", "width": 100, "size": 24}),
        ))
        .unwrap();
    assert!(lines.len() >= 3, "{lines:?}");
    assert!(lines.iter().all(|w| *w <= 100.0), "{lines:?}");
}

#[test]
fn what_does_not_fit_in_the_box_is_clipped_on_every_backend() {
    for backend in backends() {
        let b = backend.name;
        let img = render(
            &backend.renderer,
            json!({"width": 300, "height": 300, "layers": [
                {"type": "text", "text": "clip me please, this text is far too long for its box", "x": 50, "y": 50,
                 "width": 120, "height": 54, "size": 28, "color": "#000000"}]}),
        );
        let [x0, y0, x1, y1] = ink(&img).expect("some ink");
        assert!(
            x0 >= 50 && y0 >= 50 && x1 <= 170 && y1 <= 104,
            "{b}: ink {:?} leaves the box",
            [x0, y0, x1, y1]
        );
        // The second line (from 33.6 px down) is cut by the box's bottom edge.
        assert!(
            y1 >= 101,
            "{b}: ink ends at {y1}: the second line should reach the box edge"
        );
    }
}

#[test]
fn alignment_places_the_line_left_centre_and_right_on_every_backend() {
    for backend in backends() {
        let b = backend.name;
        let mut lefts = Vec::new();
        for align in ["left", "center", "right"] {
            let img = render(
                &backend.renderer,
                json!({"width": 400, "height": 100, "layers": [
                    {"type": "text", "text": "Sale", "x": 0, "y": 0, "width": 400, "height": 100, "size": 40,
                     "align": align, "valign": "middle"}]}),
            );
            let [x0, y0, x1, y1] = ink(&img).unwrap();
            // valign middle: the ink sits around the box's middle.
            assert!(y0 > 20 && y1 < 80, "{b} {align}: rows {y0}..{y1}");
            lefts.push((x0, x1));
        }
        assert!(lefts[0].0 < 8, "{b} left: {:?}", lefts[0]);
        let centre = (lefts[1].0 + lefts[1].1) as i32 / 2;
        assert!((centre - 200).abs() < 8, "{b} center: {:?}", lefts[1]);
        assert!(lefts[2].1 > 392, "{b} right: {:?}", lefts[2]);
    }
}

#[test]
fn bold_is_heavier_than_regular_on_every_backend() {
    for backend in backends() {
        let ink_sum = |weight: u32| -> u64 {
            let img = render(
                &backend.renderer,
                json!({"width": 300, "height": 80, "layers": [
                    {"type": "text", "text": "Heavy", "size": 48, "weight": weight}]}),
            );
            img.pixels().map(|p| p[3] as u64).sum()
        };
        let (bold, regular) = (ink_sum(700), ink_sum(400));
        assert!(
            bold as f64 > regular as f64 * 1.2,
            "{}: bold {bold}, regular {regular}",
            backend.name
        );
    }
}

#[test]
fn two_chinese_strings_render_differently_with_a_cjk_font_on_every_backend() {
    // Uses the system's CJK fonts (CI installs fonts-wqy-microhei).
    let cpu = Renderer::new(Backend::Cpu).unwrap();
    let families = cpu.font_families().unwrap();
    let has_cjk = families.iter().any(|f| {
        let f = f.to_lowercase();
        f.contains("cjk")
            || f.contains("wenquanyi")
            || f.contains("wqy")
            || f.contains("droid sans fallback")
    });
    if !has_cjk {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "no CJK font found: CI must install fonts-wqy-microhei"
        );
        eprintln!("SKIPPED two_chinese_strings_render_differently: no CJK font installed (apt-get install fonts-wqy-microhei)");
        return;
    }
    // System fonts on for both backends.
    for (name, r) in std::iter::once(("cpu", &cpu)).chain(gpu_renderer().map(|g| ("gpu", g))) {
        let draw = |text: &str| {
            render(
                r,
                json!({"width": 200, "height": 60, "layers": [{"type": "text", "text": text, "size": 40}]}),
            )
        };
        let (a, b) = (draw("夏季大促销"), draw("限时优惠券"));
        assert!(ink(&a).is_some() && ink(&b).is_some(), "{name}: no ink");
        let differing = a
            .pixels()
            .zip(b.pixels())
            .filter(|(p, q)| p[3].abs_diff(q[3]) > 64)
            .count();
        assert!(
            differing > 300,
            "{name}: the two strings look alike ({differing} pixels differ): missing-glyph boxes?"
        );
    }
}

#[test]
fn glyphs_seen_before_are_not_rasterized_again() {
    let r = renderer();
    // Glyph images are cached per glyph, size and sub-pixel position.
    let scene = |text: &str, x: u32| json!({"width": 300, "height": 60, "layers": [{"type": "text", "text": text, "x": x, "size": 24}]});
    render(&r, scene("coffee beans", 0));
    let after_first = r.cached_glyphs();
    assert!(after_first > 0);
    render(&r, scene("coffee beans", 0));
    render(&r, scene("coffee beans", 17));
    assert_eq!(
        r.cached_glyphs(),
        after_first,
        "known glyphs were rasterized again"
    );
    render(&r, scene("xyz", 0));
    assert!(r.cached_glyphs() > after_first);
}

/// The glyph cache is bounded in bytes: large glyphs (over 1/64 of the
/// budget) serve the render that drew them and are not kept, and many
/// medium glyphs never hold more than the budget after a render.
#[test]
fn the_glyph_cache_stays_under_its_byte_budget() {
    let budget = 1 << 20;
    let r = renderer().with_glyph_cache_budget(budget);
    let scene = |text: &str, size: u32| json!({"width": 64, "height": 64, "layers": [{"type": "text", "text": text, "size": size}]});
    // One 2000-pixel glyph: megabytes of coverage, drawn and dropped.
    render(&r, scene("W", 2000));
    assert_eq!(r.glyph_cache(), (0, 0), "a huge glyph was kept");
    // Medium glyphs (under 16 KiB each) are kept until the budget is reached.
    let letters: Vec<char> = ('A'..='Z').chain('a'..='z').chain('0'..='9').collect();
    for chunk in letters.chunks(4) {
        for size in [60, 70, 80, 90, 100] {
            render(&r, scene(&chunk.iter().collect::<String>(), size));
            let (glyphs, bytes) = r.glyph_cache();
            assert!(bytes <= budget, "{glyphs} glyphs hold {bytes} bytes");
        }
    }
    assert!(r.glyph_cache().0 > 0, "medium glyphs are kept");
}
