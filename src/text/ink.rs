//! How large a text layer's glyph images can be, read from its font's
//! outlines before any layout, for the memory estimate
//! (`crate::plan::text_memory`): where it cannot be read safely, the
//! estimate counts every glyph at 2 ems a side.
//!
//! A glyph's image is its outline's bounding box at the size, rounded out
//! to whole pixels. Shaping may draw other glyphs than the characters map
//! to: ligatures (about as wide as the glyphs they join), contextual and
//! case alternates (about as large as the glyphs they replace), a synthetic
//! italic (slanted by 14 degrees). So the boxes are read only where shaping
//! is that simple, and counted with room ([`InkBoxes`]): characters of the
//! Latin, Greek, Cyrillic and CJK scripts, the layer's font having each
//! (no fallback), no colour glyphs, and no variations (its outlines at the
//! weight drawn are not those read). Scripts that join or reorder glyphs
//! (Arabic, Indic and others) and combining marks (which a font may compose
//! with their base into one taller glyph) are counted at 2 ems.

use std::collections::HashMap;

use crate::scene::TextLayer;

/// The ink of a text layer's glyphs, in ems: each character's width, and
/// the tallest glyph's height (every glyph is counted at that height, so a
/// ligature's image is within the sum of its characters').
#[derive(Debug)]
pub(crate) struct InkBoxes {
    pub widths: HashMap<char, f64>,
    pub height: f64,
}

/// Room for glyphs shaping draws in place of the characters' own: a
/// quarter wider, a tenth taller.
const WIDER: f64 = 1.25;
const TALLER: f64 = 1.1;

/// What a synthetic italic adds to a glyph's width, per em of its height:
/// tan(14°), with room.
const SLANT: f64 = 0.26;

/// Pixels added to each side of a box: rounding out and hinting.
const MARGIN_PX: u64 = 4;

impl InkBoxes {
    /// The most pixels wide and high that glyph images of `c` can be, at
    /// `size` pixels per em, for a layer asking for `italic`.
    pub fn pixels(&self, c: char, size: f64, italic: bool) -> (u64, u64) {
        let height = self.height * TALLER;
        let slant = if italic { SLANT * height } else { 0.0 };
        let width = self.widths.get(&c).copied().unwrap_or(0.0) * WIDER + slant;
        let px = |em: f64| ((em * size).ceil().min(u32::MAX as f64) as u64) + MARGIN_PX;
        (px(width), px(height))
    }
}

/// Whether shaping draws `c` as the glyph the font maps it to, or one
/// about as large ([`InkBoxes`]).
fn simple(c: char) -> bool {
    matches!(c,
        // Basic Latin to Latin Extended-B, IPA and spacing modifiers.
        '\u{21}'..='\u{2FF}'
        // Greek and Cyrillic.
        | '\u{370}'..='\u{52F}'
        // Latin Extended Additional, Greek Extended, punctuation, super-
        // and subscripts, currency, letterlike symbols, number forms,
        // arrows, mathematical operators.
        | '\u{1E00}'..='\u{22FF}'
        // CJK punctuation, kana, CJK ideographs, Hangul syllables,
        // compatibility ideographs and half- and full-width forms.
        | '\u{3000}'..='\u{30FF}'
        | '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{AC00}'..='\u{D7A3}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{FF00}'..='\u{FFEF}')
        // Combining marks in those ranges.
        && !matches!(c, '\u{300}'..='\u{36F}' | '\u{483}'..='\u{489}' | '\u{20D0}'..='\u{20FF}' | '\u{3099}'..='\u{309A}')
}

impl super::TextEngine {
    /// The ink boxes of the glyphs `chars` of `t` may draw, or `None` where
    /// they cannot be read safely (see the module's notes).
    pub(crate) fn ink_boxes(
        &self,
        t: &TextLayer,
        chars: impl Iterator<Item = char>,
    ) -> Option<InkBoxes> {
        let chars: Vec<char> = chars.collect();
        if !chars.iter().all(|&c| simple(c)) {
            return None;
        }
        let mut shaper = self.shaper();
        let font = super::primary_font(&mut shaper.fonts, t)?;
        let index = shaper.fonts.db().face(font.id())?.index;
        let face = ttf_parser::Face::parse(font.data(), index).ok()?;
        let tables = face.tables();
        if tables.fvar.is_some() || tables.colr.is_some() || tables.cbdt.is_some() {
            return None;
        }
        if tables.sbix.is_some() || tables.svg.is_some() {
            return None;
        }
        let units = f64::from(face.units_per_em());
        let mut boxes = InkBoxes {
            widths: HashMap::new(),
            height: 0.0,
        };
        for c in chars {
            // A character the font lacks is drawn from another (fallback).
            let glyph = face.glyph_index(c)?;
            let (width, height) = face.glyph_bounding_box(glyph).map_or((0.0, 0.0), |r| {
                (
                    (f64::from(r.x_max) - f64::from(r.x_min)) / units,
                    (f64::from(r.y_max) - f64::from(r.y_min)) / units,
                )
            });
            boxes.widths.insert(c, width);
            boxes.height = boxes.height.max(height);
        }
        Some(boxes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_are_read_for_simple_text_in_the_layers_font_only() {
        let engine = crate::text::TextEngine::bundled_only();
        let t = |text: &str| TextLayer {
            text: text.into(),
            ..TextLayer::default()
        };
        let latin = t("AgW");
        let boxes = engine
            .ink_boxes(&latin, latin.text.chars())
            .expect("Inter has these");
        // Inter's "W" is wider than an em's three quarters and narrower
        // than an em and a quarter; "A" to "g" is taller than an em's
        // half and shorter than two.
        assert!((0.75..1.25).contains(&boxes.widths[&'W']), "{boxes:?}");
        assert!((0.5..2.0).contains(&boxes.height), "{boxes:?}");
        // At size 100, "W" with its room is within 2 ems a side.
        let (w, h) = boxes.pixels('W', 100.0, false);
        assert!(w > 94 && w <= 200 && h > 55 && h <= 200, "{w} x {h}");
        let (slanted, _) = boxes.pixels('W', 100.0, true);
        assert!(slanted > w, "a synthetic italic is wider");
        // Joined scripts, combining marks and characters Inter lacks
        // (fallback) are not read.
        for text in ["مرحبا", "नमस्ते", "e\u{301}", "漢字"] {
            let layer = t(text);
            assert!(
                engine.ink_boxes(&layer, layer.text.chars()).is_none(),
                "{text}"
            );
        }
    }
}
