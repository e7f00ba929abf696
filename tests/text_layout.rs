//! Text layers as reviewers found them on 2026-11-29: ellipses with
//! letter spacing and soft hyphens, negative and very negative spacing,
//! characters that draw nothing, `start` and `end` alignment, the hints of
//! a family not found, the order missing characters are listed in, and
//! `measure_text` within the limits. The drawn ones run on every backend
//! (the GPU under `CI=true`).

mod common;

use common::backends::{backends, with_system_font};
use image::RgbaImage;
use impasto::{Renderer, Scene};
use serde_json::{json, Value};

fn render(r: &Renderer, scene: Value) -> RgbaImage {
    r.render(&Scene::from_value(&scene).unwrap()).unwrap()
}

/// The columns holding ink (any pixel darker than mid grey), first and
/// last, on a white canvas.
fn ink_columns(img: &RgbaImage) -> Option<(u32, u32)> {
    let dark = |x: u32| (0..img.height()).any(|y| img.get_pixel(x, y)[1] < 128);
    let first = (0..img.width()).find(|&x| dark(x))?;
    let last = (0..img.width()).rev().find(|&x| dark(x))?;
    Some((first, last))
}

fn card(text: &str, overflow: &str, spacing: f64, width: f64) -> Value {
    json!({"width": 400, "height": 60, "background": "#ffffff", "layers": [
        {"type": "text", "text": text, "x": 10, "y": 0, "width": width, "height": 50,
         "size": 36, "color": "#000000", "overflow": overflow, "max_lines": 1,
         "letter_spacing": spacing}]})
}

#[test]
fn an_ellipsized_line_with_letter_spacing_starts_where_it_would_and_keeps_its_ellipsis() {
    // The line cut with "…" was moved right by one spacing (the direction
    // mark before it was spaced too), and measured without that spacing:
    // with wide spacing its "…" went past the box edge, and was lost.
    for b in backends() {
        let r = &b.renderer;
        for spacing in [0.0, 10.0, 25.0] {
            let clipped = ink_columns(&render(
                r,
                card("One two three four", "clip", spacing, 300.0),
            ));
            let cut = ink_columns(&render(
                r,
                card("One two three four", "ellipsis", spacing, 300.0),
            ));
            let (clipped, cut) = (clipped.unwrap(), cut.unwrap());
            assert_eq!(
                clipped.0, cut.0,
                "{}: spacing {spacing}: the cut line moved",
                b.name
            );
        }
        // A long word cut: "S u p e r …", the ellipsis drawn within the box.
        let word = "Supercalifragilisticexpialidocious";
        let with = render(r, card(word, "ellipsis", 25.0, 300.0));
        let without_dots = render(r, card("Super", "clip", 25.0, 300.0));
        let (_, last) = ink_columns(&with).unwrap();
        let (_, word_end) = ink_columns(&without_dots).unwrap();
        assert!(
            last > word_end + 10 && last < 310,
            "{}: no ellipsis: ink ends at {last}",
            b.name
        );
    }
}

#[test]
fn with_negative_letter_spacing_right_and_centred_lines_keep_their_ink_and_ellipsis_in_the_box() {
    // The spacing after a line's last character counts in its width: a
    // negative one put that character's ink past the line's end, so a
    // right-aligned line, and its "…", were cut at the box edge.
    let line = |align: &str, spacing: f64, overflow: &str| {
        json!({"width": 500, "height": 60, "background": "#ffffff", "layers": [
            {"type": "text", "text": "The quick brown fox jumps over the lazy dog again",
             "x": 50, "y": 0, "width": 400, "height": 50, "size": 36, "color": "#000000",
             "overflow": overflow, "max_lines": 1, "align": align, "letter_spacing": spacing}]})
    };
    for b in backends() {
        let r = &b.renderer;
        for spacing in [0.0, -5.0, -8.0] {
            let right = ink_columns(&render(r, line("right", spacing, "ellipsis"))).unwrap();
            let flush = ink_columns(&render(r, line("right", 0.0, "ellipsis"))).unwrap();
            // The last dot ends where it does without spacing.
            assert_eq!(right.1, flush.1, "{}: right, spacing {spacing}", b.name);
            let centred = ink_columns(&render(r, line("center", spacing, "ellipsis"))).unwrap();
            let middle = f64::from(centred.0 + centred.1) / 2.0;
            assert!(
                (middle - 249.5).abs() <= 2.0,
                "{}: centre {middle}, spacing {spacing}",
                b.name
            );
        }
    }
}

#[test]
fn characters_that_draw_nothing_take_no_letter_spacing() {
    // A soft hyphen where no line breaks, a joiner, a variation selector:
    // each had a glyph, spaced, and left a hole in the word.
    let word = |text: &str| {
        json!({"width": 300, "height": 60, "background": "#ffffff", "layers": [
            {"type": "text", "text": text, "x": 10, "y": 0, "width": 280, "height": 50,
             "size": 36, "color": "#000000", "letter_spacing": 40}]})
    };
    for b in backends() {
        let r = &b.renderer;
        let plain = ink_columns(&render(r, word("AB"))).unwrap();
        // (A zero-width joiner or a variation selector joins the character
        // before it into one cluster, and is spaced as a mark is: the
        // docs' known limit. A Hangul filler is not drawn at all: fonts
        // without Hangul drew it as a box.)
        for between in ['\u{AD}', '\u{200C}', '\u{2060}', '\u{E0001}', '\u{3164}'] {
            let got = ink_columns(&render(r, word(&format!("A{between}B")))).unwrap();
            assert_eq!(got, plain, "{}: U+{:04X}", b.name, between as u32);
        }
    }
}

#[test]
fn a_line_broken_at_a_soft_hyphen_and_cut_with_an_ellipsis_keeps_more_of_the_word_not_the_hyphen() {
    // "Extra-…" kept the hyphen drawn only because the line broke there,
    // and left the rest of the box empty.
    let text = |t: &str| {
        json!({"width": 200, "height": 40, "background": "#ffffff", "layers": [
            {"type": "text", "text": t, "x": 10, "y": 0, "width": 140, "height": 30,
             "size": 24, "color": "#000000", "overflow": "ellipsis"}]})
    };
    for b in backends() {
        let r = &b.renderer;
        let soft = render(r, text("Extra\u{AD}ordinary\u{AD}long\u{AD}word here"));
        let plain = render(r, text("Extraordinarylongword here"));
        // As the word without soft hyphens is cut: as much of it as fits.
        assert!(soft == plain, "{}: the cut differs from the word's", b.name);
        let hyphen = render(r, text("Extra-\u{2026}"));
        assert!(soft != hyphen, "{}: drawn as \"Extra-…\"", b.name);
    }
}

#[test]
fn a_family_not_found_is_told_how_to_name_it() {
    let r = Renderer::new(impasto::Backend::Cpu)
        .unwrap()
        .with_system_fonts(false);
    let said = |font: &str| {
        let scene = json!({"width": 40, "height": 40, "layers": [
            {"type": "text", "text": "a", "font": font}]});
        r.render(&Scene::from_value(&scene).unwrap())
            .unwrap_err()
            .to_string()
    };
    assert!(said("Inter, sans-serif").ends_with(
        "give one family, not a CSS list: \"Inter\" (characters it lacks fall back by themselves)"
    ));
    assert!(said("sans-serif").contains("leave \"font\" out for the default (Inter)"));
    assert!(said("Inter Bold").ends_with("that is the family \"Inter\" with \"weight\": 700"));
    assert!(said("Inter ").ends_with("without the spaces around it: \"Inter\""));
}

#[test]
fn measuring_text_is_held_to_the_renderers_limits_and_a_deadline() {
    // Text from outside was measured whatever its length: only a render
    // refused it (max_text_chars), and a measure could not be stopped.
    let r = Renderer::new(impasto::Backend::Cpu)
        .unwrap()
        .with_system_fonts(false)
        .with_limits(impasto::Limits {
            max_text_chars: 10,
            ..impasto::Limits::default()
        });
    let long = impasto::Layer::text("word ".repeat(2000), 16).size(400, 400);
    let e = r.measure_text(&long).unwrap_err().to_string();
    assert!(e.contains("over the limit of 10 (max_text_chars)"), "{e}");
    let short = impasto::Layer::text("word", 16).size(400, 400);
    assert_eq!(r.measure_text(&short).unwrap().lines.len(), 1);
    // A deadline already passed: the measure stops, saying so.
    let past = impasto::RenderOptions::with_deadline(std::time::Instant::now());
    let result = r.measure_text_with(&short, &past);
    assert!(
        matches!(result, Err(impasto::Error::DeadlineExceeded)),
        "{result:?}"
    );
    let token = impasto::CancelToken::new();
    token.cancel();
    let cancelled = impasto::RenderOptions::default().cancel_token(token);
    let result = r.measure_text_with(&short, &cancelled);
    assert!(
        matches!(result, Err(impasto::Error::Cancelled)),
        "{result:?}"
    );
}

#[test]
fn start_and_end_align_each_paragraph_by_its_direction_as_css_does() {
    // A left-to-right paragraph starts at the left, a right-to-left one
    // (here drawn as the font's empty boxes: its direction is its
    // letters') at the right; `end` is the other side.
    let text = |t: &str, align: &str| {
        json!({"width": 300, "height": 50, "background": "#ffffff", "layers": [
            {"type": "text", "text": t, "x": 10, "y": 0, "width": 280, "height": 50,
             "size": 24, "color": "#000000", "align": align}]})
    };
    for b in backends() {
        let r = &b.renderer;
        for (t, start_is) in [("abc", "left"), ("\u{5D0}\u{5D1}\u{5D2}", "right")] {
            let end_is = if start_is == "left" { "right" } else { "left" };
            let got = |align: &str| ink_columns(&render(r, text(t, align))).unwrap();
            assert_eq!(got("start"), got(start_is), "{}: {t:?} start", b.name);
            assert_eq!(got("end"), got(end_is), "{}: {t:?} end", b.name);
            assert_ne!(got("start"), got("end"), "{}: {t:?}", b.name);
        }
    }
}

#[test]
fn a_very_negative_letter_spacing_still_draws_the_first_glyph_at_the_lines_start() {
    // The CPU raster culled glyphs whose advance, spacing included, ended
    // left of the raster: below about -2.6 ems every glyph was, and "h"
    // at 20 px and -52 px of spacing drew nothing.
    let text = |spacing: f64| {
        json!({"width": 300, "height": 60, "background": "#ffffff", "layers": [
            {"type": "text", "text": "h", "x": 50, "y": 10, "width": 200, "height": 40,
             "size": 20, "color": "#000000", "letter_spacing": spacing}]})
    };
    for b in backends() {
        let r = &b.renderer;
        let plain = ink_columns(&render(r, text(0.0))).expect("ink at spacing 0");
        for spacing in [-40.0, -52.0, -60.0, -300.0] {
            let got = ink_columns(&render(r, text(spacing)));
            assert_eq!(got, Some(plain), "{}: spacing {spacing}", b.name);
        }
    }
}

#[test]
fn characters_no_font_has_are_listed_in_text_order() {
    // Glyphs come in visual order: a right-to-left word's letters were
    // listed last to first, and after what follows them.
    let r = Renderer::new(impasto::Backend::Cpu)
        .unwrap()
        .with_system_fonts(false);
    let scene = json!({"width": 300, "height": 60, "layers": [
        {"type": "text", "text": "\u{915} \u{5D0}\u{5D1} \u{4E2D}", "width": 280, "height": 50}]});
    let report = r
        .render_report(
            &Scene::from_value(&scene).unwrap(),
            &impasto::Assets::new(),
            &impasto::RenderOptions::default(),
        )
        .unwrap();
    let chars = match &report.warnings[..] {
        [impasto::Warning::MissingGlyphs { chars, .. }] => chars.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(chars, ['\u{915}', '\u{5D0}', '\u{5D1}', '\u{4E2D}']);
}

#[test]
fn letter_spacing_comes_once_after_a_grapheme_drawn_with_several_glyphs() {
    // Inter has "ë" but no "ë́": e + U+0308 + U+0301 is drawn as two
    // glyphs in one cluster, which took the spacing once a glyph.
    let width = |r: &Renderer, text: &str, spacing: f64| {
        let layer = impasto::Layer::text(text, 30)
            .size(600, 100)
            .letter_spacing(spacing);
        r.measure_text(&layer).unwrap().lines[0]
    };
    let bundled = Renderer::new(impasto::Backend::Cpu)
        .unwrap()
        .with_system_fonts(false);
    for text in ["e\u{308}\u{301}x", "\u{eb}x", "ex"] {
        let extra = width(&bundled, text, 10.0) - width(&bundled, text, 0.0);
        assert!((extra - 20.0).abs() < 0.01, "{text:?}: {extra}");
    }
    // "❤️": the heart and its variation selector, an empty glyph of the
    // emoji font's.
    for (name, r) in with_system_font("Color Emoji", "fonts-noto-color-emoji") {
        let text = "a\u{2764}\u{FE0F}b";
        let extra = width(&r, text, 10.0) - width(&r, text, 0.0);
        assert!((extra - 30.0).abs() < 0.01, "{name}: {text:?}: {extra}");
    }
}

#[test]
fn right_to_left_letter_spacing_goes_before_each_letter_so_a_right_aligned_line_meets_the_edge() {
    // After a right-to-left letter its spacing is to its left (CSS); it
    // was drawn to its right, so a right-aligned Hebrew line ended one
    // spacing short of the box edge.
    let scene = |spacing: f64| {
        json!({"width": 400, "height": 60, "background": "#ffffff", "layers": [
            {"type": "text", "text": "\u{5E9}\u{5DC}\u{5D5}\u{5DD}", "x": 10, "y": 0,
             "width": 380, "height": 50, "size": 36, "color": "#000000",
             "font": "DejaVu Sans", "align": "right", "letter_spacing": spacing}]})
    };
    for (name, r) in with_system_font("DejaVu Sans", "fonts-dejavu-core") {
        let (left, right) = ink_columns(&render(&r, scene(0.0))).expect("ink");
        let (spaced_left, spaced_right) = ink_columns(&render(&r, scene(12.0))).expect("ink");
        assert!(
            spaced_right.abs_diff(right) <= 1,
            "{name}: ink ends at {spaced_right}, unspaced at {right}"
        );
        // Four letters, three gaps between them of 12 px each.
        assert!(
            (left - spaced_left).abs_diff(36) <= 1,
            "{name}: ink starts at {spaced_left}, unspaced at {left}"
        );
    }
}
