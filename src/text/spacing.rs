//! Letter spacing as CSS applies it: once after each grapheme, whatever
//! number of glyphs the shaper draws it with.
//!
//! cosmic-text adds a text's letter spacing to the advance of every glyph,
//! taking the attributes of the glyph's cluster (the byte where the
//! cluster starts). A cluster the shaper draws as several glyphs, such as
//! a letter with a mark its font does not compose with it (`e` + U+0308 +
//! U+0301: Inter has "ë" but no "ë́"), took the spacing once per glyph:
//! "ë́" was followed by two spacings, and its second mark drawn one
//! spacing to the right of its letter. So the text is shaped, the
//! clusters drawn with `k > 1` glyphs are found ([`shared_clusters`]), and
//! it is shaped again with each such cluster's spacing divided by `k`
//! ([`spacing_pieces`]): after the cluster, the whole spacing, once.
//! Within it, each glyph after the first still moves right by its share (a
//! mark by half a spacing where it had moved by a whole one): cosmic-text
//! gives a cluster's glyphs one spacing value. (A variation selector or a
//! joiner in an emoji's cluster, "❤️", is drawn with no glyph of its own
//! by the shaper, and was spaced once already.)

use std::collections::BTreeMap;
use std::ops::Range;

use cosmic_text::{Buffer, LayoutGlyph, LineIter};

use crate::scene::{Layer, TextLayer};

/// The width a text layer's lines may take: its box's, less the spacing
/// after a line's last character when that spacing is negative. The
/// spacing after the last character counts in a line's width (as in a
/// browser: a centred line moves left by half of a positive one); a
/// negative one would leave that character's ink past the line's end, so
/// that right-aligned and ellipsized lines were cut at the box edge (a
/// reviewer's "…" lost its dots at -5 px). With this room their ink ends
/// at the edge.
pub(super) fn line_room(layer: &Layer, t: &TextLayer) -> f32 {
    (layer.width as f32 + t.letter_spacing.min(0.0) as f32).max(0.0)
}

/// Whether `c` is a character that draws nothing and that letter spacing
/// therefore leaves alone: Unicode's default ignorable code points (the
/// soft hyphen where no line breaks at it, joiners, direction marks and
/// embeddings, zero-width spaces, variation selectors, tags, a byte order
/// mark). cosmic-text spaces every glyph, and these have one: the U+200E
/// that keeps an ellipsized line in its paragraph's direction
/// (`super::layout`) moved that line right by one spacing, and its "…"
/// past the box edge; a word's soft hyphens left holes in it. (One that
/// the shaper puts in the cluster of the character before it takes that
/// character's attributes: its cluster is then shared, as the module's
/// notes say.)
fn unspaced(c: char) -> bool {
    // DerivedCoreProperties.txt, Default_Ignorable_Code_Point.
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFF8}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

/// The clusters of `text` that `buffer` drew with more than one glyph,
/// each with its number of glyphs, in the order of the text.
pub(super) fn shared_clusters(buffer: &Buffer, text: &str) -> Vec<(Range<usize>, u32)> {
    let starts: Vec<usize> = LineIter::new(text).map(|(range, _)| range.start).collect();
    let mut glyphs: BTreeMap<(usize, usize), u32> = BTreeMap::new();
    for run in buffer.layout_runs() {
        let Some(&start) = starts.get(run.line_i) else {
            continue;
        };
        for g in run.glyphs {
            *glyphs.entry((start + g.start, start + g.end)).or_default() += 1;
        }
    }
    glyphs
        .into_iter()
        .filter(|&(_, k)| k > 1)
        .map(|((a, b), k)| (a..b, k))
        .collect()
}

/// How far right `glyph` is drawn from where cosmic-text puts it, with a
/// letter spacing of `spacing` pixels: in a right-to-left run, by the
/// spacing it takes. cosmic-text adds a glyph's spacing to its advance,
/// which puts it to the glyph's right whatever the direction; after a
/// right-to-left character it belongs to its left, as CSS puts it. So each
/// right-to-left glyph moves right by its spacing, within the same line
/// width: a right-aligned Hebrew line had ended one spacing short of the
/// box edge. (The divisor of a glyph's spacing is its metadata,
/// [`spacing_pieces`]'.)
pub(crate) fn rtl_shift(glyph: &LayoutGlyph, spacing: f32) -> f32 {
    if spacing == 0.0 || !glyph.level.is_rtl() || glyph.metadata == 0 {
        return 0.0;
    }
    spacing / glyph.metadata as f32
}

/// Whether a layout with a letter spacing of `spacing` draws a glyph
/// [`rtl_shift`] moves: glyphon draws the buffer's positions as they are,
/// so such a layer is rasterized by the CPU painter on the GPU backend.
pub(crate) fn shifts_rtl(buffer: &Buffer, spacing: f32) -> bool {
    spacing != 0.0
        && buffer
            .layout_runs()
            .any(|run| run.glyphs.iter().any(|g| rtl_shift(g, spacing) != 0.0))
}

/// `spans` (ranges of `text` and their faces) split where the letter
/// spacing changes: each piece with its face and what it takes after each
/// of its glyphs, as a divisor of the spacing (0: none, a character that
/// draws nothing ([`unspaced`]); 1: all of it; `k`: a `k`th, in a cluster
/// of `k` glyphs of `shared`, sorted). Without `spaced`, the spans as they
/// are.
pub(super) fn spacing_pieces(
    text: &str,
    spans: &[(Range<usize>, usize)],
    spaced: bool,
    shared: &[(Range<usize>, u32)],
) -> Vec<(Range<usize>, usize, u32)> {
    if !spaced {
        return spans.iter().map(|(r, f)| (r.clone(), *f, 1)).collect();
    }
    let divisor = |at: usize| {
        // The last cluster starting at or before `at`, if `at` is in it.
        let i = shared.partition_point(|(r, _)| r.start <= at);
        match i.checked_sub(1).map(|i| &shared[i]) {
            Some((r, k)) if r.contains(&at) => *k,
            _ => 1,
        }
    };
    let mut out: Vec<(Range<usize>, usize, u32)> = Vec::with_capacity(spans.len());
    for (range, f) in spans {
        for (i, c) in text[range.clone()].char_indices() {
            let at = range.start + i;
            let share = if unspaced(c) { 0 } else { divisor(at) };
            match out.last_mut() {
                Some(last) if last.0.end == at && last.1 == *f && last.2 == share => {
                    last.0.end = at + c.len_utf8();
                }
                _ => out.push((at..at + c.len_utf8(), *f, share)),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_split_where_the_spacing_is_left_out_or_shared() {
        let text = "ab\u{200B}c\u{0308}\u{0301}d";
        // "c" and its two marks: a cluster of two glyphs.
        let c = text.find('c').unwrap();
        let end = text.find('d').unwrap();
        let shared = [(c..end, 2)];
        let pieces = spacing_pieces(text, &[(0..text.len(), 0)], true, &shared);
        let shown: Vec<(&str, u32)> = pieces
            .iter()
            .map(|(r, f, k)| {
                assert_eq!(*f, 0);
                (&text[r.clone()], *k)
            })
            .collect();
        assert_eq!(
            shown,
            [
                ("ab", 1),
                ("\u{200B}", 0),
                ("c\u{0308}\u{0301}", 2),
                ("d", 1)
            ]
        );
        // Unspaced text is one piece a span, whole.
        let plain = spacing_pieces(text, &[(0..3, 0), (3..text.len(), 1)], false, &shared);
        assert_eq!(plain, [(0..3, 0, 1), (3..text.len(), 1, 1)]);
    }
}
