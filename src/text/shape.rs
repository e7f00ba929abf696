//! Shaping a text layer's text into a cosmic-text [`Buffer`]: its family's
//! face as CSS picks it ([`super::face`]), colour emoji from the emoji
//! font, and the characters the family lacks from a face of another
//! family that has them.
//!
//! cosmic-text's own fallback took, for a character the family lacks, the
//! first family of its lists (by script, then common ones, then every
//! font) whose face nearest the weight asked for (whatever its style) has
//! it: Inter at 600 took a fallback family's 500 face where CSS takes its
//! 700, italic text an upright face, slanted; and italic Arabic, whose
//! DejaVu Sans Bold Oblique face lacks Arabic, went on to DejaVu Sans Mono,
//! whose Arabic letters do not join. So the text is shaped once, and each
//! fallback glyph's face is chosen again, as a browser on fontconfig would:
//! the first family that has a face holding its characters, of the
//! layer's own (another face of it), cosmic-text's list for its script,
//! its common list, and the family cosmic-text drew it from; of that
//! family, the face CSS picks for the
//! weight and style asked for when it holds them, else the face CSS picks
//! among those that do (DejaVu Sans Bold for italic Arabic, slanted); an
//! italic drawn from an upright face is slanted, and a bold one from a
//! face lighter than bold emboldened ([`super::bold`]). Where a glyph was
//! not drawn from its face so, the text is shaped again with those
//! characters asked of that face. Text that needs no other face is shaped
//! once.

use std::collections::HashMap;
use std::ops::Range;

use cosmic_text::fontdb::{Weight, ID};
use cosmic_text::{
    Align as CtAlign, Attrs, Buffer, CacheKeyFlags, Fallback, Family, FontSystem, LineIter,
    Metrics, PlatformFallback, Shaping, Style, Wrap,
};

use super::emoji::{emoji_family, emoji_spans, shows_emoji};
use super::{bold, face, DEFAULT_FAMILY, LOCALE};
use crate::scene::{Align, Layer, TextLayer};

#[cfg(test)]
thread_local! {
    /// Layouts made by `shape` on this thread.
    pub(super) static SHAPED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// What a span of text asks cosmic-text for: a family, a weight and style
/// that make it draw one face of it, and the flags its glyphs carry.
#[derive(Debug, Clone, PartialEq)]
struct SpanFace {
    family: String,
    weight: Weight,
    italic: bool,
    flags: CacheKeyFlags,
}

impl SpanFace {
    /// The face CSS picks from `family` for `t` (the layer's family, the
    /// emoji font's), emboldened where it is lighter than bold.
    fn css(fonts: &FontSystem, family: &str, t: &TextLayer) -> SpanFace {
        let weight = face::drawn_weight(fonts.db(), family, t.weight, t.italic);
        SpanFace {
            family: family.to_string(),
            weight,
            italic: t.italic,
            flags: bold_flag(t, weight),
        }
    }

    /// `base` asking for this face.
    fn attrs<'a>(&'a self, base: &Attrs<'a>) -> Attrs<'a> {
        base.clone()
            .family(Family::Name(&self.family))
            .weight(self.weight)
            .style(if self.italic {
                Style::Italic
            } else {
                Style::Normal
            })
            .cache_key_flags(self.flags)
    }
}

/// The synthetic bold flag, for text `t` drawn at `weight`.
fn bold_flag(t: &TextLayer, weight: Weight) -> CacheKeyFlags {
    if bold::wanted(t.weight, weight) {
        bold::SYNTHETIC_BOLD
    } else {
        CacheKeyFlags::empty()
    }
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
    let mut base = Attrs::new();
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
    let mut faces = vec![SpanFace::css(fonts, family, t)];
    let mut spans: Vec<(Range<usize>, usize)> = match &emoji {
        Some(e) => {
            faces.push(SpanFace::css(fonts, e, t));
            let spans = emoji_spans(text).into_iter();
            spans
                .map(|(range, is_emoji)| (range, usize::from(is_emoji)))
                .collect()
        }
        None => vec![(0..text.len(), 0)],
    };
    for pass in 0..2 {
        let attrs: Vec<Attrs> = faces.iter().map(|f| f.attrs(&base)).collect();
        let rich = spans
            .iter()
            .map(|(range, f)| (&text[range.clone()], attrs[*f].clone()));
        buffer.set_rich_text(rich, &attrs[0], Shaping::Advanced, Some(align));
        buffer.shape_until_scroll(fonts, false);
        if pass == 1 {
            break;
        }
        let families: Vec<String> = faces.iter().map(|f| f.family.clone()).collect();
        let refaced = refaced(fonts, &buffer, text, &families, t);
        if refaced.is_empty() {
            break;
        }
        spans = overlay(&spans, text.len(), refaced, &mut faces);
    }
    buffer
}

/// A fallback glyph as drawn: its range of the text, its face, weight and
/// flags, and the family it was drawn from.
struct Drawn {
    range: Range<usize>,
    id: ID,
    weight: Weight,
    flags: CacheKeyFlags,
    family: String,
}

/// The ranges of `text` that `buffer` drew from a family other than those
/// asked for (`families`: the layer's, the emoji font's), each with the
/// face it is to be drawn from (module notes). Empty when every such glyph
/// is drawn from that face already, or none can be chosen.
fn refaced(
    fonts: &mut FontSystem,
    buffer: &Buffer,
    text: &str,
    families: &[String],
    t: &TextLayer,
) -> Vec<(Range<usize>, SpanFace)> {
    let starts: Vec<usize> = LineIter::new(text).map(|(range, _)| range.start).collect();
    let mut drawn = Vec::new();
    let db = fonts.db();
    for run in buffer.layout_runs() {
        let Some(&start) = starts.get(run.line_i) else {
            continue;
        };
        for g in run.glyphs.iter().filter(|g| g.glyph_id != 0) {
            let Some(face) = db.face(g.font_id) else {
                continue;
            };
            let Some((family, _)) = face.families.first() else {
                continue;
            };
            if face
                .families
                .iter()
                .any(|(name, _)| families.contains(name))
            {
                continue;
            }
            drawn.push(Drawn {
                range: start + g.start..start + g.end,
                id: g.font_id,
                weight: g.font_weight,
                flags: g.cache_key_flags,
                family: family.clone(),
            });
        }
    }
    if drawn.is_empty() {
        return Vec::new();
    }
    let mut chooser = Chooser {
        t,
        families,
        picks: HashMap::new(),
        covers: HashMap::new(),
    };
    let mut other = false;
    let mut found = Vec::new();
    for d in drawn {
        let cluster = &text[d.range.clone()];
        let Some((family, id, weight)) = chooser.choose(fonts, cluster, &d.family) else {
            continue;
        };
        let db = fonts.db();
        let Some(chosen) = db.face(id) else { continue };
        let italic_face = chosen.style != cosmic_text::fontdb::Style::Normal;
        let mut flags = bold_flag(t, weight);
        if t.italic && !italic_face {
            flags |= CacheKeyFlags::FAKE_ITALIC;
        }
        let variable = face::weight_axis(db, id).is_some();
        other |= id != d.id || (variable && weight != d.weight) || flags != d.flags;
        let span = SpanFace {
            family,
            weight,
            italic: italic_face,
            flags,
        };
        found.push((d.range, span));
    }
    if !other {
        found.clear();
    }
    found
}

/// Chooses the faces of fallback characters, remembering what it read.
struct Chooser<'a> {
    t: &'a TextLayer,
    /// The families asked for: the layer's first.
    families: &'a [String],
    /// The face CSS picks of a family, by family.
    picks: HashMap<String, Option<(ID, Weight)>>,
    /// Whether a face has a character.
    covers: HashMap<(ID, char), bool>,
}

impl Chooser<'_> {
    /// The family and face (and the weight to draw it at) to draw
    /// `cluster` from, which cosmic-text drew from `drawn_from` (module
    /// notes); `None` when no family of the lists has it.
    fn choose(
        &mut self,
        fonts: &mut FontSystem,
        cluster: &str,
        drawn_from: &str,
    ) -> Option<(String, ID, Weight)> {
        use unicode_script::{Script, UnicodeScript};
        let script = cluster
            .chars()
            .map(|c| c.script())
            .find(|s| !matches!(s, Script::Common | Script::Inherited | Script::Unknown))
            .unwrap_or(Script::Common);
        let lists = PlatformFallback;
        let listed = lists
            .script_fallback(script, LOCALE)
            .iter()
            .chain(lists.common_fallback())
            .copied()
            .filter(|f| !lists.forbidden_fallback().contains(f));
        let mut tried: Vec<&str> = Vec::new();
        let layers = self.families[0].as_str();
        let families = std::iter::once(layers)
            .chain(listed)
            .chain(std::iter::once(drawn_from));
        for family in families {
            if tried.contains(&family) {
                continue;
            }
            tried.push(family);
            if let Some((id, weight)) = self.face_of(fonts, family, cluster) {
                return Some((family.to_string(), id, weight));
            }
        }
        None
    }

    /// The face of `family` to draw `cluster` from: the one CSS picks if it
    /// has the characters, else the one CSS picks among those that have
    /// them; `None` when no face of it has them.
    fn face_of(
        &mut self,
        fonts: &mut FontSystem,
        family: &str,
        cluster: &str,
    ) -> Option<(ID, Weight)> {
        let (weight, italic) = (self.t.weight, self.t.italic);
        let picked = match self.picks.get(family) {
            Some(p) => *p,
            None => {
                let p = face::css_face(fonts.db(), family, weight, italic);
                self.picks.insert(family.to_string(), p);
                p
            }
        };
        let (id, w) = picked?;
        if self.has(fonts, id, cluster) {
            return Some((id, w));
        }
        let ids: Vec<ID> = fonts
            .db()
            .faces()
            .filter(|f| f.families.iter().any(|(name, _)| name == family))
            .map(|f| f.id)
            .collect();
        let holding: Vec<ID> = ids
            .into_iter()
            .filter(|&id| self.has(fonts, id, cluster))
            .collect();
        face::css_face_among(fonts.db(), family, weight, italic, |id| {
            holding.contains(&id)
        })
    }

    /// Whether face `id` has every character of `cluster` (joiners and
    /// variation selectors aside).
    fn has(&mut self, fonts: &mut FontSystem, id: ID, cluster: &str) -> bool {
        let mut font = None;
        for c in cluster
            .chars()
            .filter(|&c| !c.is_control() && !is_joiner(c))
        {
            let known = match self.covers.get(&(id, c)) {
                Some(&k) => k,
                None => {
                    let font = font.get_or_insert_with(|| fonts.get_font(id, Weight::NORMAL));
                    let Some(font) = font else { return false };
                    let k = font.as_swash().charmap().map(c) != 0;
                    self.covers.insert((id, c), k);
                    k
                }
            };
            if !known {
                return false;
            }
        }
        true
    }
}

/// Characters a font need not have to draw a cluster: joiners and
/// variation selectors.
fn is_joiner(c: char) -> bool {
    matches!(c, '\u{200C}' | '\u{200D}' | '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}')
}

/// `spans` (ranges of a text `len` bytes long, each with its index in
/// `faces`) with the `refaced` ranges of the first face (the layer's)
/// given their own face, added to `faces`.
fn overlay(
    spans: &[(Range<usize>, usize)],
    len: usize,
    refaced: Vec<(Range<usize>, SpanFace)>,
    faces: &mut Vec<SpanFace>,
) -> Vec<(Range<usize>, usize)> {
    // The face of every byte, then runs of one face.
    let mut of = vec![0usize; len];
    for (range, f) in spans {
        of[range.clone()].fill(*f);
    }
    for (range, face) in refaced {
        let index = match faces.iter().position(|f| *f == face) {
            Some(i) => i,
            None => {
                faces.push(face);
                faces.len() - 1
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
        let face = |family: &str| SpanFace {
            family: family.into(),
            weight: Weight::NORMAL,
            italic: false,
            flags: CacheKeyFlags::empty(),
        };
        let spans = vec![(0..2, 0), (2..6, 1), (6..8, 0)];
        let mut faces = vec![face("Layer"), face("Emoji")];
        let refaced = vec![(1..3, face("F")), (5..8, face("F"))];
        let out = overlay(&spans, 8, refaced, &mut faces);
        assert_eq!(out, vec![(0..1, 0), (1..2, 2), (2..6, 1), (6..8, 2)]);
        assert_eq!(faces[2], face("F"));
        // A face met again is not added twice.
        let again = overlay(&out, 8, vec![(0..1, face("F"))], &mut faces);
        assert_eq!(again, vec![(0..2, 2), (2..6, 1), (6..8, 2)]);
        assert_eq!(faces.len(), 3);
    }
}
