//! Text layers: wrapping, breaking of long words, clipping to the box,
//! alignment, weight, CJK glyphs from fallback fonts, the glyph cache.
//! Every test that renders runs on every backend (`common::backends`); the
//! layout is shared, so the same pixel bounds hold on each.

mod common;

use common::backends::{backends, check_images, gpu_renderer};
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
        .unwrap()
        .lines;
    assert_eq!(wide.len(), 1);
    let narrow = r
        .measure_text(&text_layer(json!({"text": text, "width": 120, "size": 20})))
        .unwrap()
        .lines;
    assert!(narrow.len() >= 3, "{narrow:?}");
    assert!(narrow.iter().all(|w| *w <= 120.0), "{narrow:?}");
    let explicit = r
        .measure_text(&text_layer(
            json!({"text": "one\ntwo\nthree", "width": 2000}),
        ))
        .unwrap()
        .lines;
    assert_eq!(explicit.len(), 3);
}

#[test]
fn a_word_longer_than_the_box_is_broken_rather_than_overflowing() {
    let r = renderer();
    let lines = r
        .measure_text(&text_layer(
            json!({"text": "Donaudampfschifffahrtsgesellschaft", "width": 100, "size": 24}),
        ))
        .unwrap()
        .lines;
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

const LONG: &str =
    "Templates carry text of unknown length, so a text layer must say what happens when it does not fit";

#[test]
fn max_lines_drops_the_lines_past_it() {
    let r = renderer();
    let all = r
        .measure_text(&text_layer(json!({"text": LONG, "width": 220, "size": 18})))
        .unwrap();
    assert!(all.lines.len() > 2, "{all:?}");
    assert!(!all.truncated);
    let two = r
        .measure_text(&text_layer(
            json!({"text": LONG, "width": 220, "size": 18, "max_lines": 2}),
        ))
        .unwrap();
    assert_eq!(two.lines, all.lines[..2], "the kept lines are unchanged");
    assert!(two.truncated);
    assert!((two.height - 2.0 * 18.0 * 1.2).abs() < 0.01, "{two:?}");
    assert_eq!(two.size, 18.0);
}

#[test]
fn ellipsis_ends_the_last_line_that_fits_the_box_height() {
    let r = renderer();
    // 50 px of box holds two lines of 21.6 px.
    let m = r
        .measure_text(&text_layer(
            json!({"text": LONG, "width": 220, "height": 50,
            "size": 18, "overflow": "ellipsis"}),
        ))
        .unwrap();
    assert_eq!(m.lines.len(), 2, "{m:?}");
    assert!(m.truncated);
    assert!(m.lines.iter().all(|w| *w <= 220.0), "{m:?}");
    let clip = r
        .measure_text(&text_layer(json!({"text": LONG, "width": 220, "size": 18})))
        .unwrap();
    assert_eq!(m.lines[0], clip.lines[0], "lines before the last are kept");
}

#[test]
fn ellipsis_stops_at_max_lines_before_the_box_height() {
    let m = renderer()
        .measure_text(&text_layer(
            json!({"text": LONG, "width": 220, "height": 300,
            "size": 18, "overflow": "ellipsis", "max_lines": 1}),
        ))
        .unwrap();
    assert_eq!(m.lines.len(), 1, "{m:?}");
    assert!(m.truncated && m.lines[0] <= 220.0, "{m:?}");
}

#[test]
fn ellipsis_on_text_that_fits_changes_nothing() {
    let r = renderer();
    let fields = json!({"text": "Short", "width": 220, "height": 50, "size": 18});
    let mut ellipsis = fields.clone();
    ellipsis["overflow"] = json!("ellipsis");
    let (a, b) = (
        r.measure_text(&text_layer(fields)).unwrap(),
        r.measure_text(&text_layer(ellipsis)).unwrap(),
    );
    assert_eq!(a, b);
    assert!(!b.truncated);
}

#[test]
fn shrink_keeps_the_size_of_text_that_fits() {
    let m = renderer()
        .measure_text(&text_layer(
            json!({"text": "Fits", "width": 220, "height": 60,
            "size": 40, "overflow": "shrink"}),
        ))
        .unwrap();
    assert_eq!(m.size, 40.0);
    assert!(!m.truncated);
}

#[test]
fn shrink_picks_the_largest_half_pixel_step_that_fits() {
    let r = renderer();
    let layer = |size: f32| {
        text_layer(
            json!({"text": LONG, "width": 220, "height": 38, "size": size,
            "overflow": "shrink", "min_size": 6}),
        )
    };
    let m = r.measure_text(&layer(24.0)).unwrap();
    assert!(m.size < 24.0 && m.size >= 6.0, "{m:?}");
    assert_eq!(
        ((24.0 - m.size) / 0.5).fract(),
        0.0,
        "{m:?}: not a 0.5 px step"
    );
    assert!(
        m.height <= 38.0 && m.lines.iter().all(|w| *w <= 220.0),
        "{m:?}"
    );
    assert!(!m.truncated);
    // The next step up did not fit: starting there, shrink goes below it.
    let up = r.measure_text(&layer(m.size + 0.5)).unwrap();
    assert!(up.size < m.size + 0.5, "{up:?}");
    // The same layer always chooses the same size.
    assert_eq!(r.measure_text(&layer(24.0)).unwrap(), m);
}

#[test]
fn shrink_that_cannot_fit_at_min_size_ellipsizes_there() {
    let m = renderer()
        .measure_text(&text_layer(
            json!({"text": LONG, "width": 120, "height": 20,
            "size": 30, "overflow": "shrink", "min_size": 12}),
        ))
        .unwrap();
    assert_eq!(m.size, 12.0);
    assert!(m.truncated);
    assert_eq!(m.lines.len(), 1, "{m:?}");
    assert!(m.lines[0] <= 120.0, "{m:?}");
}

#[test]
fn shrink_defaults_to_a_min_size_of_8_px() {
    let m = renderer()
        .measure_text(&text_layer(json!({"text": LONG, "width": 40, "height": 10,
            "size": 30, "overflow": "shrink"})))
        .unwrap();
    assert_eq!(m.size, 8.0, "{m:?}");
}

#[test]
fn letter_spacing_adds_its_pixels_after_every_character() {
    let r = renderer();
    let width = |spacing: f64| {
        r.measure_text(&text_layer(
            json!({"text": "ABCDE", "width": 400, "size": 20,
            "letter_spacing": spacing}),
        ))
        .unwrap()
        .lines[0]
    };
    let plain = width(0.0);
    assert!(
        (width(4.0) - plain - 20.0).abs() < 0.01,
        "{} {plain}",
        width(4.0)
    );
    assert!(
        (width(-1.0) - plain + 5.0).abs() < 0.01,
        "{} {plain}",
        width(-1.0)
    );
}

#[test]
fn missing_glyphs_are_measured_and_refused_when_asked() {
    let r = renderer();
    let layer = text_layer(json!({"text": "hi 😀 ok 😀 \u{10FFFD}"}));
    let m = r.measure_text(&layer).unwrap();
    assert_eq!(m.missing, ['😀', '\u{10FFFD}']);
    // A letter with a mark its font lacks: the mark, not the letter (the
    // whole cluster was listed, "o" included).
    let marked = r
        .measure_text(&text_layer(json!({"text": "no\u{1ab0} ok"})))
        .unwrap();
    assert_eq!(marked.missing, ['\u{1ab0}']);
    let scene = json!({"width": 100, "height": 40, "layers": [
        {"type": "rect", "color": "#fff"},
        {"type": "text", "text": "hi 😀"}]});
    // The default only warns.
    render(&r, scene.clone());
    // render_report returns the warning with the same image.
    let parsed = Scene::from_value(&scene).unwrap();
    let options = impasto::RenderOptions::default();
    let report = r
        .render_report(&parsed, &impasto::Assets::new(), &options)
        .unwrap();
    assert_eq!(report.image, r.render(&parsed).unwrap());
    assert_eq!(
        report.warnings,
        [impasto::Warning::MissingGlyphs {
            layer: 1,
            chars: vec!['😀'],
            family: "Inter".into()
        }]
    );
    // A layer its font covers has nothing to report.
    let plain = json!({"width": 100, "height": 40, "layers": [{"type": "text", "text": "hi"}]});
    let plain = Scene::from_value(&plain).unwrap();
    let report = r
        .render_report(&plain, &impasto::Assets::new(), &options)
        .unwrap();
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    let strict = r.clone().with_missing_glyphs(impasto::MissingGlyphs::Error);
    let err = strict
        .render(&Scene::from_value(&scene).unwrap())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("layer 1") && err.contains("\"text\"") && err.contains("U+1F600"),
        "{err}"
    );
    // The clone shares the fonts, not the policy: the original still warns.
    assert!(r.render(&Scene::from_value(&scene).unwrap()).is_ok());
}

#[test]
fn overflow_modes_and_letter_spacing_render_alike_on_every_backend() {
    let scene = json!({"width": 240, "height": 200, "background": "#ffffff", "layers": [
        {"type": "text", "text": LONG, "x": 5, "y": 0, "width": 230, "height": 50, "size": 16,
         "max_lines": 2},
        {"type": "text", "text": LONG, "x": 5, "y": 50, "width": 230, "height": 50, "size": 16,
         "overflow": "ellipsis", "align": "right"},
        {"type": "text", "text": LONG, "x": 5, "y": 100, "width": 230, "height": 50, "size": 30,
         "overflow": "shrink", "valign": "middle"},
        {"type": "text", "text": "Spaced out", "x": 5, "y": 150, "width": 230, "height": 50,
         "size": 20, "letter_spacing": 3.5, "align": "center"}]});
    let all = backends();
    let cpu = render(&all[0].renderer, scene.clone());
    assert!(ink(&cpu).is_some());
    for backend in &all[1..] {
        let got = render(&backend.renderer, scene.clone());
        let name = format!("text-fit-parity.{}", backend.name);
        if let Some(problem) = check_images(&name, &got, &cpu, &backend.text_tolerance) {
            panic!("{problem}");
        }
    }
}

#[test]
fn text_fit_fields_parse_serialize_and_build_alike() {
    use impasto::scene::{Layer, Overflow, TextLayer};
    let json = r#"{"width": 10, "height": 10, "layers": [{"type": "text", "text": "x",
        "max_lines": 3, "overflow": "shrink", "min_size": 9.5, "letter_spacing": -0.5}]}"#;
    let parsed = Scene::from_json(json).unwrap();
    let built = Layer::new(TextLayer {
        text: "x".into(),
        ..TextLayer::default()
    })
    .size(10, 10)
    .max_lines(3)
    .overflow(Overflow::Shrink)
    .min_size(9.5)
    .letter_spacing(-0.5);
    assert_eq!(parsed.layers[0], built);
    let again = Scene::from_json(&parsed.to_json()).unwrap();
    assert_eq!(again, parsed);
    assert!(parsed.validate().is_ok());
}

#[test]
fn bad_text_fit_fields_are_refused_naming_the_field() {
    for (field, value, says) in [
        ("max_lines", json!(0), "out of range"),
        ("max_lines", json!(1.5), "expected an integer"),
        ("overflow", json!("wrap"), "wrap"),
        ("min_size", json!(0), "out of range"),
        ("letter_spacing", json!(5000), "out of range"),
        ("letter_spacing", json!("wide"), "expected a number"),
    ] {
        let mut layer = json!({"type": "text", "text": "x"});
        layer[field] = value;
        let err = Scene::from_value(&json!({"width": 10, "height": 10, "layers": [layer]}))
            .unwrap_err()
            .to_string();
        assert!(err.contains(field) && err.contains(says), "{field}: {err}");
    }
}

#[test]
fn line_separators_break_lines_and_other_control_characters_are_not_drawn() {
    let r = renderer();
    // No box: one line unless the text breaks it (so not the line
    // breaker's mandatory breaks, which only wrapping applies). Controls
    // are dropped before shaping, whatever the fonts draw for them (some
    // system fonts draw boxes; the bundled ones nothing).
    let scene = |text: &str| {
        json!({"width": 200, "height": 120, "layers": [
            {"type": "text", "text": text, "size": 24}]})
    };
    let plain = render(&r, scene("ab\ncd"));
    for text in [
        "ab\u{2028}cd",
        "ab\u{2029}cd",
        "ab\u{85}cd",
        "a\u{1b}b\ncd\u{7f}",
    ] {
        assert!(
            render(&r, scene(text)) == plain,
            "{text:?} is drawn as \"ab\\ncd\""
        );
    }
    // Not vacuous: one line is not two.
    assert!(render(&r, scene("abcd")) != plain);
}

#[test]
fn a_heart_with_the_emoji_selector_is_drawn_in_colour_from_the_emoji_font() {
    // Uses the system's colour emoji font (CI installs
    // fonts-noto-color-emoji); text fonts that have U+2764 come first in
    // fallback and drew it as a black heart.
    let cpu = Renderer::new(Backend::Cpu).unwrap();
    let has_emoji = cpu
        .font_families()
        .unwrap()
        .iter()
        .any(|f| f.contains("Color Emoji"));
    if !has_emoji {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "no colour emoji font found: CI must install fonts-noto-color-emoji"
        );
        eprintln!("SKIPPED a_heart_with_the_emoji_selector: no emoji font installed (apt-get install fonts-noto-color-emoji)");
        return;
    }
    for (name, r) in std::iter::once(("cpu", &cpu)).chain(gpu_renderer().map(|g| ("gpu", g))) {
        let img = render(
            r,
            json!({"width": 200, "height": 60, "background": "#ffffff", "layers": [
                {"type": "text", "text": "I \u{2764}\u{FE0F} it", "size": 40, "color": "#000000"}]}),
        );
        let red = img
            .pixels()
            .filter(|p| p[0] > 150 && p[1] < 100 && p[2] < 100)
            .count();
        assert!(
            red > 200,
            "{name}: {red} red pixels: the heart is not in colour"
        );
        // An emoji by default (no selector): the yellow face, not a text
        // font's black outline.
        let face = render(
            r,
            json!({"width": 100, "height": 60, "background": "#ffffff", "layers": [
                {"type": "text", "text": "\u{1F600}", "size": 40, "color": "#000000"}]}),
        );
        let yellow = face
            .pixels()
            .filter(|p| p[0] > 180 && p[1] > 120 && p[2] < 100)
            .count();
        assert!(
            yellow > 200,
            "{name}: {yellow} yellow pixels: the face is not in colour"
        );
    }
}

/// `measure_text` takes a layer built in code, unchecked: it is checked as
/// a scene's layer is. (A negative size spun a core without end, a zero
/// size or line height panicked in cosmic-text, a NaN size measured NaN.)
#[test]
fn measure_text_refuses_a_layer_out_of_range_naming_the_field() {
    use impasto::scene::Overflow;
    use impasto::Layer;
    let r = renderer();
    let boxed = |l: Layer| l.size(200, 100);
    let cases = [
        (boxed(Layer::text("hello", -10.0)), "size"),
        (boxed(Layer::text("hello", 0.0)), "size"),
        (boxed(Layer::text("hello", f64::NAN)), "size"),
        (boxed(Layer::text("hello", 1e30)), "size"),
        (
            boxed(Layer::text("hello world", 40.0))
                .overflow(Overflow::Shrink)
                .min_size(-1e9),
            "min_size",
        ),
        (
            boxed(Layer::text("a\nb", 10.0)).line_height(0.0),
            "line_height",
        ),
    ];
    for (layer, field) in cases {
        match r.measure_text(&layer) {
            Err(impasto::Error::Scene(e)) => {
                assert_eq!(e.field.as_deref(), Some(field), "{e}");
            }
            other => panic!("{field}: {other:?}"),
        }
    }
    let fine = r.measure_text(&boxed(Layer::text("hello", 20.0))).unwrap();
    assert_eq!(fine.lines.len(), 1);
    // A layer built without a size is measured unbounded, not refused.
    let unbounded = r.measure_text(&Layer::text("no box", 10.0)).unwrap();
    assert_eq!(unbounded.lines.len(), 1);
}
