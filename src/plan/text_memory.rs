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
//! an ellipsis draws "…" besides. A glyph image is counted at the box its
//! character's outline has in the layer's font, with room for what
//! shaping may draw instead (`crate::text::ink`), where that can be read
//! safely, and otherwise at 2 ems a side (ink past the em box: a
//! reviewer's DejaVu "‱" is 1.63 ems wide); a byte a pixel for an
//! outline's mask, four where a glyph may be a colour one
//! (`TextEngine::may_draw_colour`).

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

/// A character a text draws.
#[derive(Clone, Copy)]
struct Glyphs {
    /// How many times it is drawn.
    count: u64,
    /// The glyphs it may be shaped into ([`glyphs_of`]).
    per_char: u64,
    /// The most pixels wide and high its glyphs' images can be.
    pixels: (u64, u64),
}

/// The glyphs a text draws, by character.
#[derive(Default)]
struct Drawn {
    glyphs: HashMap<char, Glyphs>,
}

impl Drawn {
    /// The characters of `t` that draw a glyph: a soft hyphen draws
    /// nothing or the hyphen a line breaks at, and a layer that may end
    /// with an ellipsis draws "…".
    fn chars(t: &TextLayer) -> impl Iterator<Item = char> + '_ {
        let ellipsis = matches!(t.overflow, Overflow::Ellipsis | Overflow::Shrink);
        t.text
            .chars()
            .filter(|&c| !c.is_whitespace() && !c.is_control())
            .map(|c| if c == '\u{AD}' { '-' } else { c })
            .chain(ellipsis.then_some('…'))
    }

    /// What `t` draws, its glyphs' images at most `pixels` of a character.
    fn of(t: &TextLayer, pixels: impl Fn(char) -> (u64, u64)) -> Drawn {
        let mut drawn = Drawn::default();
        for c in Drawn::chars(t) {
            drawn.add(c, 1, pixels(c));
        }
        drawn
    }

    fn add(&mut self, c: char, count: u64, pixels: (u64, u64)) {
        let entry = self.glyphs.entry(c).or_insert(Glyphs {
            count: 0,
            per_char: glyphs_of(c),
            pixels,
        });
        entry.count = entry.count.saturating_add(count);
        entry.pixels = (entry.pixels.0.max(pixels.0), entry.pixels.1.max(pixels.1));
    }

    /// The bytes of its distinct images, at `bytes_per_pixel`, each at
    /// most `largest` bytes.
    fn images(&self, bytes_per_pixel: u64, largest: u64) -> u64 {
        self.glyphs.values().fold(0u64, |sum, g| {
            let drawn = g.count.saturating_mul(g.per_char);
            let images = drawn.min(SUBPIXEL_POSITIONS * g.per_char);
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
                let drawn = g.count.saturating_mul(g.per_char);
                (
                    sum.saturating_add(drawn.saturating_mul(crop)),
                    largest.max(crop),
                )
            })
    }

    /// The bytes of its largest glyph image, at `bytes_per_pixel`.
    fn largest(&self, bytes_per_pixel: u64) -> u64 {
        self.glyphs.values().fold(0u64, |largest, g| {
            let (w, h) = g.pixels;
            largest.max(w.saturating_mul(h).saturating_mul(bytes_per_pixel))
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
    /// Whether its glyphs' images are read from their outlines.
    outlines_read: bool,
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
        let boxes = engine.ink_boxes(text, Drawn::chars(text));
        let reach = (2.0 * size).min(u32::MAX as f64) as u64;
        let pixels = |c| match &boxes {
            Some(b) => b.pixels(c, size, text.italic),
            None => (reach, reach),
        };
        let drawn = Drawn::of(text, pixels);
        let style = Style {
            font: text.font.as_deref(),
            weight: text.weight,
            italic: text.italic,
            size: size.to_bits(),
            bytes_per_pixel,
            shrinking: (text.overflow == Overflow::Shrink).then_some(layer.index),
        };
        let all = styles.entry(style).or_default();
        for (&c, g) in &drawn.glyphs {
            all.add(c, g.count, g.pixels);
        }
        counted.push(Counted {
            raster: ((x1 - x0) as u32, (y1 - y0) as u32),
            size,
            bytes_per_pixel,
            outlines_read: boxes.is_some(),
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
        let too_large = layer.drawn.largest(bytes_per_pixel) > largest_kept;
        if !(too_large || share_may_fill) {
            continue;
        }
        // A crop is the glyph's image clipped to the raster.
        let (w, h) = layer.raster;
        let (all, largest) = layer.drawn.crops((w, h), bytes_per_pixel);
        let mut held = crate::text::crops_held_at_most(all, largest, w, h);
        if too_large {
            // Such a glyph is rasterized whole before it is cropped: an
            // outline's mask is a byte a pixel of its image ("W" at size
            // 10,000: 97 MB of RSS in all); a colour (emoji) glyph is four
            // bytes a pixel with what scaling a colour bitmap holds
            // besides: 1.4 ems a side in all (a reviewer's emoji at size
            // 2000 on 200x200 took 28.6 MiB of RSS against the 23.6 MiB
            // 1.2 ems gave; at 3000, 60.7 against 51.1; at 8000, 365
            // against 353).
            let whole = if layer.outlines_read && bytes_per_pixel == 1 {
                layer.drawn.largest(1)
            } else {
                let em = (1.4 * layer.size).min(u32::MAX as f64) as u64;
                em.saturating_mul(em).saturating_mul(bytes_per_pixel)
            };
            held = held.saturating_add(whole);
        }
        memory.layers = memory.layers.saturating_add(held);
    }
    // The render shares at most the cache's budget, and the cache keeps at
    // most as much besides.
    memory.images = images.min(budget.saturating_mul(2));
    memory
}
