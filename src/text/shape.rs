//! Shaping a text layer's text into a cosmic-text [`Buffer`]: its family's
//! face as CSS picks it ([`super::face`]), colour emoji from the emoji
//! font, and the characters the family lacks from the face CSS picks in
//! the family they fall back to.
//!
//! Which family a character the layer's family lacks is drawn from is
//! cosmic-text's choice (its fallback lists by script, then every font).
//! Within that family it picked the face by nearest weight, then style
//! (ties lighter): Inter at 600 took a fallback family's 500 face where
//! CSS takes its 700, and italic text took an upright face and slanted
//! it. So the text is shaped once, the fallback glyphs are read, and where
//! one is not drawn from the face CSS picks in its family for the weight
//! and style asked for (or not emboldened as that face wants,
//! [`super::bold`]), the text is shaped again with those characters asked
//! of that family by name, at the weight that draws that face. Text that
//! needs no other face is shaped once.

use std::ops::Range;

use cosmic_text::{
    Align as CtAlign, Attrs, Buffer, Family, FontSystem, LineIter, Metrics, Shaping, Style, Wrap,
};

use super::emoji::{emoji_family, emoji_spans, shows_emoji};
use super::{bold, face, DEFAULT_FAMILY};
use crate::scene::{Align, Layer, TextLayer};

#[cfg(test)]
thread_local! {
    /// Layouts made by `shape` on this thread.
    pub(super) static SHAPED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Shapes and lays out `text` with a text layer's font, alignment and
/// letter spacing at `size`, wrapping at the box width as `wrap` says.
pub(super) fn shape(
    fonts: &mut FontSystem,
    layer: &Layer,
    t: &TextLayer,
    text: &str,
    size: f32,
    wrap: Wrap,
) -> Buffer {
    #[cfg(test)]
    SHAPED.with(|n| n.set(n.get() + 1));
    let mut buffer = Buffer::new(fonts, Metrics::new(size, size * t.line_height as f32));
    buffer.set_wrap(wrap);
    buffer.set_size(Some(layer.width as f32), None);
    let family = t.font.as_deref().unwrap_or(DEFAULT_FAMILY);
    let mut base = Attrs::new().style(if t.italic {
        Style::Italic
    } else {
        Style::Normal
    });
    if t.letter_spacing != 0.0 {
        // cosmic-text's letter spacing is in ems of the size laid out.
        base = base.letter_spacing(t.letter_spacing as f32 / size);
    }
    let align = match t.align {
        Align::Left => CtAlign::Left,
        Align::Center => CtAlign::Center,
        Align::Right => CtAlign::Right,
    };
    // A character shown as an emoji (U+FE0F after it, as in "❤️", or an
    // emoji by default, as "😀") is drawn from a colour emoji font when
    // there is one: fallback alone takes the first font that has it, often
    // a text font's black outline.
    let emoji = shows_emoji(text).then(|| emoji_family(fonts)).flatten();
    let mut families = vec![family.to_string()];
    let mut spans: Vec<(Range<usize>, usize)> = match &emoji {
        Some(e) => {
            families.push(e.clone());
            let spans = emoji_spans(text).into_iter();
            spans
                .map(|(range, is_emoji)| (range, usize::from(is_emoji)))
                .collect()
        }
        None => vec![(0..text.len(), 0)],
    };
    for pass in 0..2 {
        let attrs: Vec<Attrs> = families
            .iter()
            .map(|f| face_attrs(fonts, base.clone(), f, t))
            .collect();
        let rich = spans
            .iter()
            .map(|(range, f)| (&text[range.clone()], attrs[*f].clone()));
        buffer.set_rich_text(rich, &attrs[0], Shaping::Advanced, Some(align));
        buffer.shape_until_scroll(fonts, false);
        if pass == 1 {
            break;
        }
        let refaced = refaced(fonts, &buffer, text, &families, t);
        if refaced.is_empty() {
            break;
        }
        spans = overlay(&spans, text.len(), refaced, &mut families);
    }
    buffer
}

/// The attributes that draw `family`'s face CSS picks for `t`: `base` with
/// the family, the weight that has cosmic-text draw that face (face.rs),
/// and the synthetic bold flag where that face is lighter than bold.
fn face_attrs<'a>(
    fonts: &FontSystem,
    base: Attrs<'a>,
    family: &'a str,
    t: &TextLayer,
) -> Attrs<'a> {
    let weight = face::drawn_weight(fonts.db(), family, t.weight, t.italic);
    let attrs = base.family(Family::Name(family)).weight(weight);
    if bold::wanted(t.weight, weight) {
        attrs.cache_key_flags(bold::SYNTHETIC_BOLD)
    } else {
        attrs
    }
}

/// The ranges of `text` that `buffer` drew from a family other than those
/// asked for (`families`: the layer's, the emoji font's), with that
/// family, where a glyph is not drawn from the face CSS picks of it (or
/// not flagged for synthetic bold as that face wants). Empty when every
/// glyph is drawn as CSS would.
fn refaced(
    fonts: &FontSystem,
    buffer: &Buffer,
    text: &str,
    families: &[String],
    t: &TextLayer,
) -> Vec<(Range<usize>, String)> {
    let starts: Vec<usize> = LineIter::new(text).map(|(range, _)| range.start).collect();
    let db = fonts.db();
    let mut found = Vec::new();
    let mut other = false;
    let mut picks = std::collections::HashMap::new();
    for run in buffer.layout_runs() {
        let Some(&start) = starts.get(run.line_i) else {
            continue;
        };
        for g in run.glyphs.iter().filter(|g| g.glyph_id != 0) {
            let Some(drawn) = db.face(g.font_id) else {
                continue;
            };
            let Some((family, _)) = drawn.families.first() else {
                continue;
            };
            if drawn
                .families
                .iter()
                .any(|(name, _)| families.contains(name))
            {
                continue;
            }
            let range = start + g.start..start + g.end;
            // Matching reads every face of the database: once a family.
            let picked = *picks
                .entry(family.as_str())
                .or_insert_with(|| face::css_face(db, family, t.weight, t.italic));
            let Some((id, weight)) = picked else {
                continue;
            };
            let variable = face::weight_axis(db, id).is_some();
            let flagged = g.cache_key_flags.contains(bold::SYNTHETIC_BOLD);
            other |= id != g.font_id
                || (variable && weight != g.font_weight)
                || flagged != bold::wanted(t.weight, weight);
            found.push((range, family.clone()));
        }
    }
    if !other {
        found.clear();
    }
    found
}

/// `spans` (ranges of a text `len` bytes long, each with its index in
/// `families`) with the `refaced` ranges of the first family (the
/// layer's) given their own family, added to `families`.
fn overlay(
    spans: &[(Range<usize>, usize)],
    len: usize,
    refaced: Vec<(Range<usize>, String)>,
    families: &mut Vec<String>,
) -> Vec<(Range<usize>, usize)> {
    // The family of every byte, then runs of one family.
    let mut of = vec![0usize; len];
    for (range, f) in spans {
        of[range.clone()].fill(*f);
    }
    for (range, family) in refaced {
        let index = match families.iter().position(|f| *f == family) {
            Some(i) => i,
            None => {
                families.push(family);
                families.len() - 1
            }
        };
        for byte in &mut of[range.start.min(len)..range.end.min(len)] {
            if *byte == 0 {
                *byte = index;
            }
        }
    }
    let mut out: Vec<(Range<usize>, usize)> = Vec::new();
    for (at, &f) in of.iter().enumerate() {
        match out.last_mut() {
            Some((range, last)) if *last == f => range.end = at + 1,
            _ => out.push((at..at + 1, f)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refaced_ranges_take_only_bytes_of_the_layers_family() {
        // "ab😀cd": the emoji (bytes 2..6) is the emoji font's (1); bytes
        // 1..8 drawn from "F" are given to "F" but for the emoji's.
        let spans = vec![(0..2, 0), (2..6, 1), (6..8, 0)];
        let mut families = vec!["Layer".to_string(), "Emoji".to_string()];
        let refaced = vec![(1..3, "F".to_string()), (5..8, "F".to_string())];
        let out = overlay(&spans, 8, refaced, &mut families);
        assert_eq!(out, vec![(0..1, 0), (1..2, 2), (2..6, 1), (6..8, 2)]);
        assert_eq!(families[2], "F");
        // A family met again is not added twice.
        let again = overlay(&out, 8, vec![(0..1, "F".to_string())], &mut families);
        assert_eq!(again, vec![(0..2, 2), (2..6, 1), (6..8, 2)]);
        assert_eq!(families.len(), 3);
    }
}
