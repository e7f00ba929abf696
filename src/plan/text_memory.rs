//! The text layers' part of a render's memory estimate ([`super::memory`]).
//!
//! The CPU painter (`crate::text::raster`) lays out every text layer
//! before the first band and keeps, per layer, its glyph list and its glyph
//! images until the render ends:
//!
//! - images shared with the renderer's glyph cache (each at most 1/64 of
//!   the cache's budget), at most the cache's budget of them for the whole
//!   render (`crate::text::SharedGlyphs`). An image is one glyph of one face
//!   at one size at one of 4 horizontal sub-pixel positions (cosmic-text
//!   truncates the vertical one), and a character may be drawn as glyphs
//!   of two forms (its own, and a ligature or contextual alternate; four
//!   in the joining scripts: Arabic, Syriac, N'Ko, Mongolian; an ASCII
//!   symbol as many as it is drawn, since fonts join runs of them into
//!   ligatures of many kinds), so a glyph the text may draw has at most 8
//!   (or 16) distinct images; layers
//!   of the same font, weight, style and size draw the same ones. They are
//!   counted by style, each once, and with what the cache may keep
//!   besides, at most twice its budget;
//! - crops of the glyphs too large for the cache, or past the render's
//!   share of it (which can happen only when the scene's images could pass
//!   the budget), and once those pass four bytes a pixel of the layer's
//!   raster, the float raster they are flattened into
//!   ([`crate::text::crops_held_at_most`]), with the whole raster of one
//!   glyph too large for the cache.
//!
//! The count is by grapheme cluster (what a reader sees as one character),
//! each drawn as up to one glyph per character in it (an emoji sequence a
//! font lacks falls apart into its emoji: a reviewer's 315 couple and
//! family sequences of 13 distinct characters drew some 25 glyphs each
//! from them), besides joiners and variation selectors, and two per
//! character of a script that splits a vowel into two glyphs (Indic,
//! Tibetan, Myanmar, Khmer); a soft hyphen is counted as the hyphen it may
//! become, and a layer that may end with an ellipsis draws "…" besides. A glyph image is counted at the box its
//! character's outline has in the layer's font, with room for what
//! shaping may draw instead (`crate::text::ink`), where that can be read
//! safely, and otherwise at 2 ems a side (ink past the em box: a
//! reviewer's DejaVu "‱" is 1.63 ems wide), each grown by what a synthetic
//! bold adds where the layer asks for 600 or more; a byte a pixel for an
//! outline's mask, four where a glyph may be a colour one
//! (`TextEngine::may_draw_colour`).

use std::collections::HashMap;

use super::{Paint, Plan};
use crate::scene::{Overflow, TextLayer};
use crate::text::MadeUp;

/// Bytes a text layer keeps per character (its placed glyph, with slack
/// for the list's growth), and its layout holds while it is made: a
/// reviewer's 100,000 characters, three in four of them combining marks,
/// allocated 275 bytes a character at the peak, past the 256 counted.
const TEXT_PER_CHAR: u64 = 384;

/// Distinct images one glyph can have: 4 horizontal sub-pixel positions
/// (cosmic-text's `SubpixelBin`; the vertical position is truncated to a
/// whole pixel before it is binned).
const SUBPIXEL_POSITIONS: u64 = 4;

/// The forms a character's glyph may take: its own and one other (a
/// ligature, a contextual alternate); in the joining scripts, four
/// (isolated, initial, medial, final).
const FORMS: u64 = 2;
const JOINING_FORMS: u64 = 4;

/// The forms of an ASCII symbol: as many as it is drawn. Fonts join runs
/// of them into ligatures of many kinds (Inter's default `calt` makes a
/// dozen arrows of `-`, `<`, `>` and `=`; coding fonts more), each an image
/// of its own.
const SYMBOL_FORMS: u64 = u64::MAX;

/// What the text layers of a plan hold, in bytes.
#[derive(Debug, Default)]
pub(super) struct TextMemory {
    /// What the layers keep for the whole render besides glyph images:
    /// their glyph lists.
    pub layers: u64,
    /// By layer index, what a layer holds of glyphs it does not share
    /// with the cache: crops and the float raster they are flattened
    /// into, and the whole raster of one glyph too large for the cache.
    pub crops: Vec<(usize, u64)>,
    /// Glyph images the render makes and shares with the glyph cache, or
    /// that the cache keeps.
    pub images: u64,
}

/// Layers that draw the same glyph images: the same font request, size and
/// bytes a pixel. A shrinking layer is a style of its own: its size is
/// found when it is laid out.
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
struct Style<'s> {
    font: Option<&'s str>,
    weight: u16,
    italic: bool,
    size: u64,
    bytes_per_pixel: u64,
    shrinking: Option<usize>,
}

/// A grapheme cluster a text draws.
#[derive(Clone, Copy)]
struct Glyphs {
    /// How many times it is drawn.
    count: u64,
    /// The glyphs it may be shaped into.
    glyphs: u64,
    /// The forms each may take ([`FORMS`]).
    forms: u64,
    /// The most pixels wide and high its glyphs' images can be.
    pixels: (u64, u64),
}

/// The glyphs a text draws, by grapheme cluster.
#[derive(Default)]
struct Drawn {
    glyphs: HashMap<String, Glyphs>,
}

impl Drawn {
    /// The text `t` draws: a soft hyphen is drawn as nothing or the hyphen
    /// a line breaks at, and a layer that may end with an ellipsis draws
    /// "…" besides.
    fn text(t: &TextLayer) -> String {
        let mut text = t.text.replace('\u{AD}', "-");
        if matches!(t.overflow, Overflow::Ellipsis | Overflow::Shrink) {
            text.push_str(" …");
        }
        text
    }

    /// What `text` draws, its glyphs' images at most `pixels` of a
    /// character.
    fn of(text: &str, pixels: impl Fn(char) -> (u64, u64)) -> Drawn {
        use unicode_segmentation::UnicodeSegmentation;
        let mut drawn = Drawn::default();
        for cluster in text.graphemes(true) {
            if let Some(g) = Drawn::cluster(cluster, &pixels) {
                drawn.add(cluster, g);
            }
        }
        drawn
    }

    /// A cluster drawn once, or `None` when it draws nothing (white space,
    /// controls).
    fn cluster(cluster: &str, pixels: impl Fn(char) -> (u64, u64)) -> Option<Glyphs> {
        let mut g = Glyphs {
            count: 1,
            glyphs: 0,
            forms: FORMS,
            pixels: (0, 0),
        };
        for c in visible_chars(cluster).filter(|&c| !invisible(c)) {
            g.glyphs += glyphs_of(c);
            if joins(c) {
                g.forms = g.forms.max(JOINING_FORMS);
            }
            if c.is_ascii_punctuation() {
                g.forms = SYMBOL_FORMS;
            }
            let (w, h) = pixels(c);
            g.pixels = (g.pixels.0.max(w), g.pixels.1.max(h));
        }
        (g.glyphs > 0).then_some(g)
    }

    fn add(&mut self, cluster: &str, g: Glyphs) {
        match self.glyphs.get_mut(cluster) {
            Some(entry) => {
                entry.count = entry.count.saturating_add(g.count);
                entry.pixels = (
                    entry.pixels.0.max(g.pixels.0),
                    entry.pixels.1.max(g.pixels.1),
                );
            }
            None => {
                self.glyphs.insert(cluster.to_owned(), g);
            }
        }
    }

    /// The bytes of its distinct images, at `bytes_per_pixel`, each at
    /// most `largest` bytes.
    fn images(&self, bytes_per_pixel: u64, largest: u64) -> u64 {
        self.glyphs.values().fold(0u64, |sum, g| {
            let drawn = g.count.saturating_mul(g.glyphs);
            let kinds = SUBPIXEL_POSITIONS
                .saturating_mul(g.forms)
                .saturating_mul(g.glyphs);
            let images = drawn.min(kinds);
            let (w, h) = g.pixels;
            let image = w
                .saturating_mul(h)
                .saturating_mul(bytes_per_pixel)
                .min(largest);
            sum.saturating_add(images.saturating_mul(image))
        })
    }

    /// The bytes of every glyph's image clipped to a `w` x `h` raster, at
    /// `bytes_per_pixel`, and the largest.
    fn crops(&self, (w, h): (u32, u32), bytes_per_pixel: u64) -> (u64, u64) {
        self.glyphs
            .values()
            .fold((0u64, 0u64), |(sum, largest), g| {
                let clipped = g.pixels.0.min(u64::from(w)) * g.pixels.1.min(u64::from(h));
                let crop = clipped.saturating_mul(bytes_per_pixel);
                let drawn = g.count.saturating_mul(g.glyphs);
                (
                    sum.saturating_add(drawn.saturating_mul(crop)),
                    largest.max(crop),
                )
            })
    }
}

/// The characters of `text` that may draw a glyph.
fn visible_chars(text: &str) -> impl Iterator<Item = char> + '_ {
    text.chars()
        .filter(|&c| !c.is_whitespace() && !c.is_control())
}

/// Characters that join or select glyphs and draw none themselves: zero
/// width joiner and non-joiner, variation selectors.
fn invisible(c: char) -> bool {
    matches!(c, '\u{200C}' | '\u{200D}' | '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}')
}

/// Whether `c` is of a script whose letters take a form by their place in
/// a word: Arabic, Syriac, N'Ko, Mongolian.
fn joins(c: char) -> bool {
    matches!(c,
        '\u{0600}'..='\u{07FF}'
        | '\u{0860}'..='\u{08FF}'
        | '\u{1800}'..='\u{18AF}'
        | '\u{FB50}'..='\u{FDFF}'
        | '\u{FE70}'..='\u{FEFF}')
}

/// Glyphs one character may be shaped into: two in the scripts that split
/// a vowel sign around a consonant.
fn glyphs_of(c: char) -> u64 {
    match c {
        // Devanagari to Sinhala, Tibetan, Myanmar, Khmer, Tai Tham.
        '\u{0900}'..='\u{0DFF}'
        | '\u{0F00}'..='\u{0FFF}'
        | '\u{1000}'..='\u{109F}'
        | '\u{1780}'..='\u{17FF}'
        | '\u{1A20}'..='\u{1AAF}' => 2,
        _ => 1,
    }
}

/// A text layer, as the estimate sees it.
struct Counted {
    /// Its index in the scene.
    index: usize,
    /// Its raster's size.
    raster: (u32, u32),
    /// The size it is counted at.
    size: f64,
    bytes_per_pixel: u64,
    /// The most pixels wide and high one of its glyph images can be.
    largest_glyph: (u64, u64),
    drawn: Drawn,
}

/// What the text layers of `plan` hold ([`TextMemory`]).
pub(super) fn estimate(plan: &Plan<'_>) -> TextMemory {
    let mut memory = TextMemory::default();
    let mut counted = Vec::new();
    // The images the cache may keep, by style, each once.
    let mut styles: HashMap<Style<'_>, Drawn> = HashMap::new();
    let engine = plan.resolved.text.as_ref();
    let (largest_kept, budget) = engine.map_or((0, 0), |e| e.glyph_cache_limits());
    for layer in &plan.layers {
        let Paint::Text {
            layer: box_layer,
            text,
        } = &layer.paint
        else {
            continue;
        };
        let list = text.text.chars().count() as u64 * TEXT_PER_CHAR;
        memory.layers = memory.layers.saturating_add(list);
        // `resolve` loads the text engine for any scene with a text layer.
        let Some(engine) = engine else { continue };
        let canvas = (plan.width, plan.height);
        let Some([x0, y0, x1, y1]) = crate::text::raster_rect(&layer.geom, canvas) else {
            continue;
        };
        // A shrinking layer is counted at the largest size it can be drawn
        // at, not the size it starts from.
        let size = crate::text::largest_size(box_layer, text);
        let bytes_per_pixel = if engine.may_draw_colour(text) { 4 } else { 1 };
        // Each glyph's image from its outline, or at 2 ems a side.
        let drawing = Drawn::text(text);
        let boxes = engine.ink_boxes(text, visible_chars(&drawing));
        let made_up = MadeUp::of(text);
        let grown = if made_up.bold {
            crate::text::most_bold_growth(size)
        } else {
            0.0
        };
        let reach = (2.0 * size + grown).min(u32::MAX as f64) as u64;
        let pixels = |c| match &boxes {
            Some(b) => b.pixels(c, size, made_up),
            None => (reach, reach),
        };
        let drawn = Drawn::of(&drawing, pixels);
        // The largest single glyph: a ligature may join the text's
        // characters (at most the font's width).
        let largest_glyph = match &boxes {
            Some(b) => b.largest_pixels(visible_chars(&drawing), size, made_up),
            None => (reach, reach),
        };
        let style = Style {
            font: text.font.as_deref(),
            weight: text.weight,
            italic: text.italic,
            size: size.to_bits(),
            bytes_per_pixel,
            shrinking: (text.overflow == Overflow::Shrink).then_some(layer.index),
        };
        let all = styles.entry(style).or_default();
        for (cluster, g) in &drawn.glyphs {
            all.add(cluster, *g);
        }
        counted.push(Counted {
            index: layer.index,
            raster: ((x1 - x0) as u32, (y1 - y0) as u32),
            size,
            bytes_per_pixel,
            largest_glyph,
            drawn,
        });
    }
    let images = styles.iter().fold(0u64, |sum, (style, drawn)| {
        sum.saturating_add(drawn.images(style.bytes_per_pixel, largest_kept))
    });
    // Past the render's share of the cache, any glyph may be cropped.
    let share_may_fill = images > budget;
    for layer in &counted {
        let bytes_per_pixel = layer.bytes_per_pixel;
        let (gw, gh) = layer.largest_glyph;
        let largest_glyph = gw.saturating_mul(gh).saturating_mul(bytes_per_pixel);
        let too_large = largest_glyph > largest_kept;
        if !(too_large || share_may_fill) {
            continue;
        }
        // A crop is the glyph's image clipped to the raster.
        let (w, h) = layer.raster;
        let (all, largest) = layer.drawn.crops((w, h), bytes_per_pixel);
        let clipped = gw.min(u64::from(w)) * gh.min(u64::from(h)) * bytes_per_pixel;
        let largest = largest.max(clipped);
        let mut held = crate::text::crops_held_at_most(all, largest, w, h);
        if too_large {
            // Such a glyph is rasterized whole before it is cropped: an
            // outline's mask is a byte a pixel of its image ("W" at size
            // 10,000: 97 MB of RSS in all); a colour (emoji) glyph is four
            // bytes a pixel with what scaling a colour bitmap holds
            // besides: 1.4 ems a side in all (a reviewer's emoji at size
            // 2000 on 200x200 took 28.6 MiB of RSS against the 23.6 MiB
            // 1.2 ems gave; at 3000, 60.7 against 51.1; at 8000, 365
            // against 353). An outline of a font whose boxes were not read
            // is counted at 2 ems a side (a reviewer's crafted variable
            // face drew 1.6-em squares: 269 MB against the 187 MiB 1.4
            // ems gave).
            let whole = if bytes_per_pixel == 1 {
                largest_glyph
            } else {
                let em = (1.4 * layer.size).min(u32::MAX as f64) as u64;
                em.saturating_mul(em).saturating_mul(bytes_per_pixel)
            };
            held = held.saturating_add(whole);
        }
        memory.crops.push((layer.index, held));
    }
    // The render shares at most the cache's budget, and the cache keeps at
    // most as much besides.
    memory.images = images.min(budget.saturating_mul(2));
    memory
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drawn(text: &str) -> Drawn {
        Drawn::of(text, |_| (10, 10))
    }

    #[test]
    fn clusters_are_counted_with_a_glyph_for_each_visible_character() {
        let d = drawn("ab ab\u{AD}");
        assert_eq!(d.glyphs.len(), 3, "a, b and the soft hyphen");
        assert_eq!((d.glyphs["a"].count, d.glyphs["a"].glyphs), (2, 1));
        // A couple with skin tones: four emoji, the joiners and the
        // variation selector drawing nothing.
        let couple = "\u{1F469}\u{1F3FB}\u{200D}\u{2764}\u{FE0F}\u{200D}\u{1F468}\u{1F3FF}";
        let d = drawn(couple);
        assert_eq!(d.glyphs.len(), 1, "one cluster");
        assert_eq!(d.glyphs[couple].glyphs, 5);
        // Drawn once, five images; drawn often, each glyph at up to 4
        // positions in 2 forms, 100 bytes each.
        assert_eq!(d.images(1, u64::MAX), 5 * 100);
        assert_eq!(drawn(&couple.repeat(10)).images(1, u64::MAX), 5 * 8 * 100);
        assert_eq!(drawn("a").images(1, 60), 60, "at most the largest kept");
        // Joining scripts take four forms; split vowels two glyphs.
        assert_eq!(drawn(&"\u{0628}".repeat(40)).images(1, u64::MAX), 16 * 100);
        // (KA with the vowel sign I: four glyphs, two for each.)
        let ki = drawn(&"\u{0915}\u{093F}".repeat(40));
        assert_eq!(ki.images(1, u64::MAX), 4 * 8 * 100);
        // ASCII symbols make ligatures of many kinds: each drawn is counted.
        assert_eq!(drawn(&"-".repeat(40)).images(1, u64::MAX), 40 * 100);
        // White space, controls and a lone joiner draw nothing.
        assert!(drawn(" \n\t\u{200D}").glyphs.is_empty());
    }

    #[test]
    fn crops_are_clipped_to_the_raster_and_counted_per_glyph_drawn() {
        let d = Drawn::of("aaa", |_| (100, 50));
        assert_eq!(d.crops((40, 1000), 4), (3 * 40 * 50 * 4, 40 * 50 * 4));
    }
}
