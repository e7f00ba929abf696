//! How large a text layer's glyph images can be, read from its font's
//! outlines before any layout, for the memory estimate
//! (`crate::plan::text_memory`): where it cannot be read safely, the
//! estimate counts every glyph at 2 ems a side.
//!
//! A glyph's image is its outline's bounding box at the size, rounded out
//! to whole pixels. Shaping may draw other glyphs than the characters map
//! to: ligatures (Inter's default `calt` turns `--->` into an arrow 2.46
//! ems wide and 0.64 high, where its characters' ink is 1.41 ems wide and
//! 0.52 high), contextual and case alternates, a synthetic italic (slanted
//! by 14 degrees). So each character is counted at the larger of its ink
//! and its advance, a quarter wider (a ligature spans its characters'
//! advances: the arrow's are 2.04 ems), every glyph at the height of the
//! font's bounding box (the `head` table's, which holds every glyph's) a
//! tenth taller, and a single glyph at most as wide as the characters of
//! its layer together and the font's box. The boxes are read only where
//! shaping is that simple: characters of the Latin, Greek, Cyrillic and
//! CJK scripts (no combining marks, which a font may compose with their
//! base into one glyph), every face of the layer's family having each (so
//! whichever face the layout takes, none falls back to another family),
//! and no face with colour glyphs or variations (its outlines at the weight
//! drawn are not those read). The maxima are over every face of the
//! family. A font is trusted to tell its own boxes: one whose tables lie,
//! or whose hinting moves points far, can draw larger than counted.

use std::collections::HashMap;

use crate::scene::TextLayer;

/// The ink of a text layer's glyphs, in ems: each character's width, the
/// font's height (every glyph is counted at it), and its width (no glyph
/// is wider).
#[derive(Debug)]
pub(crate) struct InkBoxes {
    pub widths: HashMap<char, f64>,
    pub height: f64,
    pub widest: f64,
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

/// What a layer's glyphs may be drawn with besides their outlines: a
/// synthetic italic's slant (the layer asks for italic) and a synthetic
/// bold's growth (it asks for 600 or more; `super::bold`).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct MadeUp {
    pub italic: bool,
    pub bold: bool,
}

impl MadeUp {
    /// What `t`'s glyphs may be drawn with.
    pub fn of(t: &TextLayer) -> MadeUp {
        MadeUp {
            italic: t.italic,
            bold: super::bold::may_embolden(t.weight),
        }
    }
}

impl InkBoxes {
    /// The most pixels wide and high that glyph images of `c` can be, at
    /// `size` pixels per em, for a layer whose glyphs may be `made_up`.
    pub fn pixels(&self, c: char, size: f64, made_up: MadeUp) -> (u64, u64) {
        let width = self.widths.get(&c).copied().unwrap_or(0.0) * WIDER;
        self.box_pixels(width, size, made_up)
    }

    /// The most pixels wide and high one glyph image of a text of `chars`
    /// can be (a ligature of all of them, at most the font's width).
    pub fn largest_pixels(
        &self,
        chars: impl Iterator<Item = char>,
        size: f64,
        made_up: MadeUp,
    ) -> (u64, u64) {
        let all: f64 = chars
            .map(|c| self.widths.get(&c).copied().unwrap_or(0.0))
            .sum();
        self.box_pixels((all * WIDER).min(self.widest * WIDER), size, made_up)
    }

    fn box_pixels(&self, width: f64, size: f64, made_up: MadeUp) -> (u64, u64) {
        let height = self.height * TALLER;
        let slant = if made_up.italic { SLANT * height } else { 0.0 };
        // Emboldening strokes the (slanted) outline: more on every side.
        let grown = if made_up.bold {
            super::bold::most_growth(size)
        } else {
            0.0
        };
        let px = |em: f64| ((em * size + grown).ceil().min(u32::MAX as f64) as u64) + MARGIN_PX;
        (px(width + slant), px(height))
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
        // Each character once: a long text repeats a few dozen (read for
        // every character of 100,000, the boxes took 180 ms a render).
        let mut chars: Vec<char> = chars.collect();
        chars.sort_unstable();
        chars.dedup();
        if !chars.iter().all(|&c| simple(c)) {
            return None;
        }
        let shaper = self.shaper();
        let db = shaper.fonts.db();
        let asked = t.font.as_deref().unwrap_or(super::DEFAULT_FAMILY);
        let spelt = super::layout::family_spelling(db, asked);
        let family = spelt.as_deref().unwrap_or(asked);
        let faces: Vec<_> = db
            .faces()
            .filter(|f| f.families.iter().any(|(name, _)| name == family))
            .map(|f| f.id)
            .collect();
        let mut boxes = InkBoxes {
            widths: HashMap::new(),
            height: 0.0,
            widest: 0.0,
        };
        if faces.is_empty() {
            return None;
        }
        for id in faces {
            db.with_face_data(id, |data, index| read_face(data, index, &chars, &mut boxes))??;
        }
        Some(boxes)
    }
}

/// Reads the face `index` of `data` into `boxes` (each width and the
/// heights their largest so far); `None` when it cannot be read safely.
fn read_face(data: &[u8], index: u32, chars: &[char], boxes: &mut InkBoxes) -> Option<()> {
    let face = ttf_parser::Face::parse(data, index).ok()?;
    let tables = face.tables();
    let colour = tables.colr.is_some() || tables.cbdt.is_some() || tables.sbix.is_some();
    if tables.fvar.is_some() || colour || tables.svg.is_some() {
        return None;
    }
    let units = f64::from(face.units_per_em());
    let em = |v: f64| v / units;
    let global = face.global_bounding_box();
    let mut height = em(f64::from(global.y_max) - f64::from(global.y_min));
    boxes.widest = boxes
        .widest
        .max(em(f64::from(global.x_max) - f64::from(global.x_min)));
    for &c in chars {
        // A character a face lacks is drawn from another family
        // (fallback), whichever face of this one the layout takes.
        let glyph = face.glyph_index(c)?;
        let advance = em(f64::from(face.glyph_hor_advance(glyph).unwrap_or(0)));
        let (ink, tall) = face.glyph_bounding_box(glyph).map_or((0.0, 0.0), |r| {
            (
                em(f64::from(r.x_max) - f64::from(r.x_min)),
                em(f64::from(r.y_max) - f64::from(r.y_min)),
            )
        });
        // The font's box holds every glyph; should it not, the glyph's own.
        height = height.max(tall);
        boxes.widest = boxes.widest.max(ink);
        let width = boxes.widths.entry(c).or_insert(0.0);
        *width = width.max(ink).max(advance);
    }
    boxes.height = boxes.height.max(height);
    Some(())
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
        let (w, h) = boxes.pixels('W', 100.0, MadeUp::default());
        assert!(w > 94 && w <= 200 && h > 55 && h <= 200, "{w} x {h}");
        let italic = MadeUp {
            italic: true,
            bold: false,
        };
        let (slanted, _) = boxes.pixels('W', 100.0, italic);
        assert!(slanted > w, "a synthetic italic is wider");
        let bold = MadeUp {
            italic: false,
            bold: true,
        };
        let (wide, high) = boxes.pixels('W', 100.0, bold);
        assert!(wide > w && high > h, "a synthetic bold is larger");
        // Inter's default `calt` draws "--->" as one arrow 2.46 ems wide
        // and 0.64 high, where its characters' ink is 1.41 ems wide and
        // 0.52 high: counted within their advances, at the font's height.
        let arrow = t("--->");
        let boxes = engine
            .ink_boxes(&arrow, arrow.text.chars())
            .expect("Inter has these");
        let (w, h) = boxes.largest_pixels(arrow.text.chars(), 100.0, MadeUp::default());
        assert!(w >= 246 && h >= 64, "{w} x {h}");
        let images: u64 = ['-', '-', '-', '>']
            .iter()
            .map(|&c| boxes.pixels(c, 100.0, MadeUp::default()))
            .map(|(w, h)| w * h)
            .sum();
        assert!(
            images >= 246 * 64,
            "the arrow's image within its characters'"
        );
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
