//! The text layers' part of a render's memory estimate ([`super::memory`]).
//!
//! The CPU painter (`crate::text::raster`) lays out every text layer
//! before the first band and keeps, per layer, its glyph list and its glyph
//! images until the render ends:
//!
//! - images shared with the renderer's glyph cache (each at most 1/64 of
//!   the cache's budget), at most the cache's budget of them for the whole
//!   render (`crate::text::SharedGlyphs`). An image is one glyph of one face
//!   at one size at one of 16 sub-pixel positions, so a character draws at
//!   most 16 distinct images; layers of the same font, weight, style and
//!   size draw the same ones. They are counted by style, each once, and
//!   with what the cache may keep besides, at most twice its budget;
//! - crops of the glyphs too large for the cache, or past the render's
//!   share of it (which can happen only when the scene's images could pass
//!   the budget), and once those pass four bytes a pixel of the layer's
//!   raster, the float raster they are flattened into
//!   ([`crate::text::crops_held_at_most`]), with the whole raster of one
//!   glyph too large for the cache.
//!
//! The count is by characters: a character of a script that splits a vowel
//! into two glyphs (Indic, Tibetan, Myanmar, Khmer) is counted as two, a
//! soft hyphen as the hyphen it may become, and a layer that may end with
//! an ellipsis draws "…" besides. A glyph image is counted at 2 ems a side
//! (ink past the em box: a reviewer's DejaVu "‱" is 1.63 ems wide), a
//! byte a pixel for an outline's mask, four where a glyph may be a colour
//! one (`TextEngine::may_draw_colour`).

use std::collections::HashMap;

use super::{Paint, Plan};
use crate::scene::{Overflow, TextLayer};

/// Bytes a text layer keeps per character (its placed glyph, with slack
/// for the list's growth).
const TEXT_PER_CHAR: u64 = 256;

/// Distinct images one glyph can have: 4 horizontal by 4 vertical
/// sub-pixel positions (cosmic-text's `SubpixelBin`).
const SUBPIXEL_POSITIONS: u64 = 16;

/// What the text layers of a plan hold, in bytes.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct TextMemory {
    /// What the layers keep for the whole render besides shared images:
    /// glyph lists, crops and flattened rasters, and the whole raster of
    /// one glyph too large for the cache.
    pub layers: u64,
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

/// The glyphs a text draws, by character.
#[derive(Default)]
struct Drawn {
    /// Character, its count in the text, and the glyphs it may be shaped
    /// into ([`glyphs_of`]).
    glyphs: HashMap<char, (u64, u64)>,
}

impl Drawn {
    fn of(t: &TextLayer) -> Drawn {
        let mut drawn = Drawn::default();
        let chars = t
            .text
            .chars()
            .filter(|&c| !c.is_whitespace() && !c.is_control());
        for c in chars {
            // A soft hyphen draws nothing, or the hyphen a line breaks at.
            let c = if c == '\u{AD}' { '-' } else { c };
            drawn.add(c, 1);
        }
        if matches!(t.overflow, Overflow::Ellipsis | Overflow::Shrink) {
            drawn.add('…', 1);
        }
        drawn
    }

    fn add(&mut self, c: char, n: u64) {
        let entry = self.glyphs.entry(c).or_insert((0, glyphs_of(c)));
        entry.0 = entry.0.saturating_add(n);
    }

    /// The glyphs drawn.
    fn count(&self) -> u64 {
        self.glyphs.values().fold(0u64, |sum, &(n, per_char)| {
            sum.saturating_add(n.saturating_mul(per_char))
        })
    }

    /// The bytes of its distinct images, each of `image` bytes.
    fn images(&self, image: u64) -> u64 {
        self.glyphs.values().fold(0u64, |sum, &(n, per_char)| {
            let images = n
                .saturating_mul(per_char)
                .min(SUBPIXEL_POSITIONS * per_char);
            sum.saturating_add(images.saturating_mul(image))
        })
    }
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
    /// Its raster's size.
    raster: (u32, u32),
    /// The size it is counted at.
    size: f64,
    bytes_per_pixel: u64,
    /// Bytes of the largest image one of its glyphs may have.
    largest: u64,
    drawn: Drawn,
}

/// What the text layers of `plan` hold ([`TextMemory`]).
pub(super) fn estimate(plan: &Plan<'_>) -> TextMemory {
    let mut memory = TextMemory::default();
    let mut counted = Vec::new();
    // The images the cache may keep, by style, each once.
    let mut styles: HashMap<Style<'_>, (u64, Drawn)> = HashMap::new();
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
        let reach = (2.0 * size).min(u32::MAX as f64) as u64;
        let largest = reach.saturating_mul(reach).saturating_mul(bytes_per_pixel);
        let drawn = Drawn::of(text);
        let style = Style {
            font: text.font.as_deref(),
            weight: text.weight,
            italic: text.italic,
            size: size.to_bits(),
            bytes_per_pixel,
            shrinking: (text.overflow == Overflow::Shrink).then_some(layer.index),
        };
        let image = largest.min(largest_kept);
        let (_, all) = styles
            .entry(style)
            .or_insert_with(|| (image, Drawn::default()));
        for (&c, &(n, _)) in &drawn.glyphs {
            all.add(c, n);
        }
        let raster = ((x1 - x0) as u32, (y1 - y0) as u32);
        counted.push(Counted {
            raster,
            size,
            bytes_per_pixel,
            largest,
            drawn,
        });
    }
    let images = styles.values().fold(0u64, |sum, (image, drawn)| {
        sum.saturating_add(drawn.images(*image))
    });
    // Past the render's share of the cache, any glyph may be cropped.
    let share_may_fill = images > budget;
    for layer in &counted {
        let too_large = largest_kept < layer.largest;
        if !(too_large || share_may_fill) {
            continue;
        }
        // A crop is the glyph's image clipped to the raster.
        let reach = (2.0 * layer.size).min(u32::MAX as f64) as u64;
        let (w, h) = layer.raster;
        let clipped = |n: u32| reach.min(u64::from(n));
        let crop = clipped(w) * clipped(h) * layer.bytes_per_pixel;
        let all = layer.drawn.count().saturating_mul(crop);
        let mut held = crate::text::crops_held_at_most(all, crop, w, h);
        if too_large {
            // Such a glyph is rasterized whole before it is cropped: about
            // its em square, and for a colour (emoji) glyph, four bytes a
            // pixel and what scaling a colour bitmap holds besides: 1.4
            // ems a side in all (a reviewer's emoji at size 2000 on 200x200
            // took 28.6 MiB of RSS against the 23.6 MiB 1.2 ems gave; at
            // 3000, 60.7 against 51.1; at 8000, 365 against 353). An
            // outline's mask is a byte a pixel ("W" at size 10,000: 97 MB
            // of RSS in all, the estimate 187 MiB).
            let em = (1.4 * layer.size).min(u32::MAX as f64) as u64;
            let whole = em.saturating_mul(em).saturating_mul(layer.bytes_per_pixel);
            held = held.saturating_add(whole);
        }
        memory.layers = memory.layers.saturating_add(held);
    }
    // The render shares at most the cache's budget, and the cache keeps at
    // most as much besides.
    memory.images = images.min(budget.saturating_mul(2));
    memory
}
