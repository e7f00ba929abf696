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
//! whose Arabic letters do not join. It was slow too: it shaped a run with
//! font after font until one had its characters.
//!
//! So the face of each grapheme the layer's face lacks is chosen before
//! shaping ([`split_fallback`]), as a browser on fontconfig would: the
//! first family that has a face holding its characters, of the layer's own
//! (another face of it), cosmic-text's list for its script, its common
//! list, the families found so far, then every font; of that family, the
//! face CSS picks for the weight and style asked for when it holds them,
//! else the face CSS picks among those that do (DejaVu Sans Bold for italic
//! Arabic, slanted); an italic drawn from an upright face is slanted, and a
//! bold one from a face lighter than bold emboldened ([`super::bold`]).
//! The text is shaped once with those spans. Where shaping still falls
//! back (a character composed with its mark into one the face lacks), the
//! glyphs drawn from other families are read, and where one is not drawn
//! from the face chosen so ([`refaced`]), the text is shaped again.
//! Spans are then settled for cosmic-text's layout ([`settle`]).
//!
//! (Over 600 lines with its tests; the code is about 520.)

use std::collections::HashMap;
use std::ops::Range;

use cosmic_text::fontdb::{Stretch, Weight, ID};
use cosmic_text::{
    Align as CtAlign, Attrs, Buffer, CacheKeyFlags, Family, FontSystem, LineIter, Metrics, Shaping,
    Style, Wrap,
};

use super::emoji::{emoji_family, emoji_spans, shows_emoji};
use super::fallback::{is_ignorable, Chooser};
use super::spacing::{line_room, shared_clusters, spacing_pieces};
use super::{bold, face, DEFAULT_FAMILY};
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
    stretch: Stretch,
    flags: CacheKeyFlags,
    /// The face it draws, where the family is loaded.
    id: Option<ID>,
}

impl SpanFace {
    /// The face CSS picks from `family` for `t` (the layer's family, the
    /// emoji font's), emboldened where it is lighter than bold.
    fn css(fonts: &FontSystem, family: &str, t: &TextLayer) -> SpanFace {
        let picked = face::css_face(fonts.db(), family, t.weight, t.italic);
        // The weight asked for when the family is not loaded (the text
        // falls back to other fonts then, as it would).
        let weight = picked.map_or(Weight(t.weight), |(_, w)| w);
        let stretch = picked
            .and_then(|(id, _)| fonts.db().face(id))
            .map_or(Stretch::Normal, |f| f.stretch);
        SpanFace {
            family: family.to_string(),
            weight,
            italic: t.italic,
            stretch,
            flags: bold_flag(t, weight),
            id: picked.map(|(id, _)| id),
        }
    }

    /// What asks for face `id` of `family` at `weight` for `t`: its own
    /// style (cosmic-text takes the face of exactly that weight and style),
    /// slanted where `t` is italic and the face upright, emboldened where
    /// `t` is bold and the face light. `None` for a face not loaded.
    fn chosen(
        fonts: &FontSystem,
        t: &TextLayer,
        family: String,
        id: ID,
        weight: Weight,
    ) -> Option<SpanFace> {
        let face = fonts.db().face(id)?;
        let (italic, stretch) = (
            face.style != cosmic_text::fontdb::Style::Normal,
            face.stretch,
        );
        let mut flags = bold_flag(t, weight);
        if t.italic && !italic {
            flags |= CacheKeyFlags::FAKE_ITALIC;
        }
        Some(SpanFace {
            family,
            weight,
            italic,
            stretch,
            flags,
            id: Some(id),
        })
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
            .stretch(self.stretch)
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
    buffer.set_size(Some(line_room(layer, t)), None);
    let family = t.font.as_deref().unwrap_or(DEFAULT_FAMILY);
    // cosmic-text aligns a paragraph without an alignment to its start.
    let align = match t.align {
        Align::Left => Some(CtAlign::Left),
        Align::Center => Some(CtAlign::Center),
        Align::Right => Some(CtAlign::Right),
        Align::Start => None,
        Align::End => Some(CtAlign::End),
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
    let emoji_face = emoji.is_some().then_some(1);
    let mut chooser = Chooser::new(t, family);
    let split = split_fallback(fonts, &mut chooser, text, &spans, &faces[0]);
    if !split.is_empty() {
        spans = overlay(&spans, text.len(), split, &mut faces);
        spans = settle(fonts, &mut chooser, text, &spans, &faces, emoji_face);
    }
    let spaced = t.letter_spacing != 0.0;
    // cosmic-text's letter spacing is in ems of the size laid out.
    let em = t.letter_spacing as f32 / size;
    let fill = |fonts: &mut FontSystem,
                buffer: &mut Buffer,
                spans: &[(Range<usize>, usize)],
                faces: &[SpanFace],
                shared: &[(Range<usize>, u32)]| {
        let pieces = spacing_pieces(text, spans, spaced, shared);
        let rich = pieces
            .iter()
            .map(|(range, f, share)| (&text[range.clone()], spaced_attrs(&faces[*f], em, *share)));
        buffer.set_rich_text(
            rich,
            &spaced_attrs(&faces[0], em, 1),
            Shaping::Advanced,
            align,
        );
        buffer.shape_until_scroll(fonts, false);
    };
    for pass in 0..2 {
        fill(fonts, &mut buffer, &spans, &faces, &[]);
        if pass == 1 {
            break;
        }
        let families: Vec<String> = faces.iter().map(|f| f.family.clone()).collect();
        let refaced = refaced(fonts, &mut chooser, &buffer, text, &families);
        if refaced.is_empty() {
            break;
        }
        spans = overlay(&spans, text.len(), refaced, &mut faces);
        spans = settle(fonts, &mut chooser, text, &spans, &faces, emoji_face);
    }
    if spaced {
        // Clusters drawn with several glyphs take the spacing once
        // (`super::spacing`).
        let shared = shared_clusters(&buffer, text);
        if !shared.is_empty() {
            fill(fonts, &mut buffer, &spans, &faces, &shared);
        }
    }
    buffer
}

/// The attributes of a piece drawn from `face`, with `1 / divisor` of the
/// letter spacing `em` (none with 0, [`spacing_pieces`]); the divisor is
/// its glyphs' metadata, for [`super::spacing::rtl_shift`].
fn spaced_attrs(face: &SpanFace, em: f32, divisor: u32) -> Attrs<'_> {
    let base = match divisor {
        k if k > 0 && em != 0.0 => Attrs::new().letter_spacing(em / k as f32),
        _ => Attrs::new(),
    };
    face.attrs(&base.metadata(divisor as usize))
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
    chooser: &mut Chooser<'_>,
    buffer: &Buffer,
    text: &str,
    families: &[String],
) -> Vec<(Range<usize>, SpanFace)> {
    let t = chooser.t;
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
    let mut other = false;
    let mut found = Vec::new();
    for d in drawn {
        let cluster = &text[d.range.clone()];
        let Some((family, id, weight)) = chooser.choose(fonts, cluster, Some(&d.family)) else {
            continue;
        };
        let Some(span) = SpanFace::chosen(fonts, t, family, id, weight) else {
            continue;
        };
        let variable = face::weight_axis(fonts.db(), id).is_some();
        other |= id != d.id || (variable && weight != d.weight) || span.flags != d.flags;
        found.push((d.range, span));
    }
    if !other {
        found.clear();
    }
    found
}

/// The characters of `text` in `spans` of the layer's face (index 0) that
/// face lacks, grapheme by grapheme, each with the face it falls back to
/// ([`Chooser::choose_any`]), so that the text is shaped once with them:
/// cosmic-text's own search shaped a run with font after font until one
/// had it (a CJK paragraph in Inter, shrunk to fit, took 0.9 s). Empty
/// when the layer's family is not loaded (cosmic-text falls back alone).
fn split_fallback(
    fonts: &mut FontSystem,
    chooser: &mut Chooser<'_>,
    text: &str,
    spans: &[(Range<usize>, usize)],
    layer: &SpanFace,
) -> Vec<(Range<usize>, SpanFace)> {
    use unicode_segmentation::UnicodeSegmentation;
    let Some(primary) = layer.id else {
        return Vec::new();
    };
    let t = chooser.t;
    let mut chosen: HashMap<&str, Option<SpanFace>> = HashMap::new();
    let mut out = Vec::new();
    let mut spans = spans.iter().peekable();
    for (start, g) in text.grapheme_indices(true) {
        while spans.next_if(|(range, _)| range.end <= start).is_some() {}
        if spans
            .peek()
            .is_none_or(|(range, f)| *f != 0 || !range.contains(&start))
        {
            continue;
        }
        if chooser.has(fonts, primary, g) {
            continue;
        }
        let face = match chosen.get(g) {
            Some(face) => face.clone(),
            None => {
                // No font with every character of the cluster (a letter and
                // a mark no font of the letter has): the letter's font,
                // where shaping finds the mark elsewhere.
                let base = g.char_indices().find(|&(_, c)| !is_ignorable(c));
                let base = base.map_or(g, |(at, c)| &g[at..at + c.len_utf8()]);
                let face = chooser
                    .choose_any(fonts, g)
                    .or_else(|| {
                        (base != g)
                            .then(|| chooser.choose_any(fonts, base))
                            .flatten()
                    })
                    .and_then(|(family, id, weight)| {
                        SpanFace::chosen(fonts, t, family, id, weight)
                    });
                chosen.insert(g, face.clone());
                face
            }
        };
        if let Some(face) = face {
            out.push((start..start + g.len(), face));
        }
    }
    out
}

/// `spans` settled so that cosmic-text lays them out right, and with few
/// spans:
///
/// - blanks and punctuation between two runs of one fallback face, which
///   has them, are drawn from that face: a paragraph of Hebrew in Inter
///   was a span a word, and cosmic-text checks every span at every word
///   (80,000 characters took 12 s);
/// - every word (between spaces) laid out right to left whose characters
///   come from several faces is drawn from one face that has them all:
///   that of its first right-to-left letter, else a fallback face of it,
///   else the layer's. cosmic-text shapes a word's runs of different
///   attributes one after the other in reading order, also right to left,
///   where they belong the other way round: "(عالم)" with its brackets from
///   Inter and its letters from DejaVu Sans was drawn ")عالم(", and the
///   Arabic percent sign of "(خصم ٤٥٪)" landed outside the brackets.
///
/// Emoji (face `emoji`) keep their colour font.
fn settle(
    fonts: &mut FontSystem,
    chooser: &mut Chooser<'_>,
    text: &str,
    spans: &[(Range<usize>, usize)],
    faces: &[SpanFace],
    emoji: Option<usize>,
) -> Vec<(Range<usize>, usize)> {
    use unicode_bidi::{bidi_class, BidiClass, BidiInfo};
    let mut of = by_byte(spans, text.len());
    let fallback = |f: usize| f != 0 && Some(f) != emoji;
    let neutral = |c: char| {
        matches!(
            bidi_class(c),
            BidiClass::WS
                | BidiClass::ON
                | BidiClass::CS
                | BidiClass::ES
                | BidiClass::ET
                | BidiClass::S
        )
    };
    // Blanks and punctuation of the layer's face between runs of one
    // fallback face.
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut k = 0;
    while k < chars.len() {
        let (at, c) = chars[k];
        if !(neutral(c) && of[at] == 0) {
            k += 1;
            continue;
        }
        let mut end = k;
        while end < chars.len() && neutral(chars[end].1) && of[chars[end].0] == 0 {
            end += 1;
        }
        let before = (k > 0).then(|| of[chars[k - 1].0]);
        let after = chars.get(end).map(|&(at, _)| of[at]);
        let to = chars.get(end).map_or(text.len(), |&(at, _)| at);
        if let (Some(b), Some(a)) = (before, after) {
            if a == b
                && fallback(a)
                && faces[a]
                    .id
                    .is_some_and(|id| chooser.has(fonts, id, &text[at..to]))
            {
                of[at..to].fill(a);
            }
        }
        k = end.max(k + 1);
    }
    // Words laid out right to left, of several faces.
    let rtl = |c: char| matches!(bidi_class(c), BidiClass::R | BidiClass::AL);
    if text.chars().any(rtl) {
        for (para, _) in LineIter::new(text) {
            let bidi = BidiInfo::new(&text[para.clone()], None);
            let levels = &bidi.levels;
            let mut start = None;
            let ends = text[para.clone()].char_indices().map(Some).chain([None]);
            for item in ends {
                let at = item.map_or(para.len(), |(at, _)| at);
                let cut = item.is_none_or(|(at, c)| c.is_whitespace() || !levels[at].is_rtl());
                match (start, cut) {
                    (None, false) => start = Some(at),
                    (Some(from), true) => {
                        start = None;
                        let range = para.start + from..para.start + at;
                        unify(fonts, chooser, text, range, &mut of, faces, emoji, rtl);
                    }
                    _ => {}
                }
            }
        }
    }
    runs(&of)
}

/// Draws the characters of `range` (a word laid out right to left) but
/// emoji from one face ([`settle`]) when they come from several.
#[allow(clippy::too_many_arguments)]
fn unify(
    fonts: &mut FontSystem,
    chooser: &mut Chooser<'_>,
    text: &str,
    range: Range<usize>,
    of: &mut [usize],
    faces: &[SpanFace],
    emoji: Option<usize>,
    rtl: impl Fn(char) -> bool,
) {
    let word = &text[range.clone()];
    let own = |at: usize| Some(of[range.start + at]) != emoji;
    let mut present: Vec<usize> = Vec::new();
    for (at, _) in word.char_indices().filter(|&(at, _)| own(at)) {
        let f = of[range.start + at];
        if !present.contains(&f) {
            present.push(f);
        }
    }
    if present.len() < 2 {
        return;
    }
    let letters = word
        .char_indices()
        .find(|&(at, c)| own(at) && rtl(c))
        .map(|(at, _)| of[range.start + at]);
    let drawn: String = word
        .char_indices()
        .filter(|&(at, _)| own(at))
        .map(|(_, c)| c)
        .collect();
    let mut candidates: Vec<usize> = letters.into_iter().collect();
    candidates.extend(present.iter().copied().filter(|&f| f != 0));
    candidates.push(0);
    let mine: Vec<Range<usize>> = word
        .char_indices()
        .filter(|&(at, _)| own(at))
        .map(|(at, c)| range.start + at..range.start + at + c.len_utf8())
        .collect();
    for f in candidates {
        if faces[f].id.is_some_and(|id| chooser.has(fonts, id, &drawn)) {
            for bytes in mine {
                of[bytes].fill(f);
            }
            return;
        }
    }
}

/// The face index of every byte of a text `len` bytes long, from `spans`
/// ([`runs`] undoes it).
fn by_byte(spans: &[(Range<usize>, usize)], len: usize) -> Vec<usize> {
    let mut of = vec![0usize; len];
    for (range, f) in spans {
        of[range.clone()].fill(*f);
    }
    of
}

/// The runs of equal face indices of `of` (one a byte).
fn runs(of: &[usize]) -> Vec<(Range<usize>, usize)> {
    let mut out: Vec<(Range<usize>, usize)> = Vec::new();
    for (at, &f) in of.iter().enumerate() {
        match out.last_mut() {
            Some((range, last)) if *last == f => range.end = at + 1,
            _ => out.push((at..at + 1, f)),
        }
    }
    out
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
    let mut of = by_byte(spans, len);
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
    runs(&of)
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
            stretch: Stretch::Normal,
            flags: CacheKeyFlags::empty(),
            id: None,
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

    #[test]
    fn a_family_not_loaded_is_asked_for_at_the_weight_asked_for() {
        // The text falls back to other fonts then, as it would.
        let db = cosmic_text::fontdb::Database::new();
        let fonts = FontSystem::new_with_locale_and_db("en-US".into(), db);
        let mut layer = Layer::text("x", 10.0);
        let crate::scene::LayerKind::Text(t) = &mut layer.kind else {
            unreachable!("a text layer")
        };
        t.weight = 700;
        let face = SpanFace::css(&fonts, "No Such Family", t);
        assert_eq!(
            (face.weight, face.id, face.flags),
            (Weight(700), None, CacheKeyFlags::empty())
        );
    }

    #[test]
    fn a_right_to_left_word_of_two_faces_is_drawn_whole_from_its_letters_face() {
        // "(عالم) ab", a right-to-left paragraph: the brackets in the
        // layer's face (0), the letters in DejaVu Sans's (1), which has
        // brackets too: the word is one run of face 1. The Latin word,
        // laid out left to right, is left as it is.
        let mut fonts = FontSystem::new_with_locale_and_db("en-US".into(), {
            let mut db = cosmic_text::fontdb::Database::new();
            db.load_system_fonts();
            db
        });
        let Some(id) = face::css_face(fonts.db(), "DejaVu Sans", 400, false).map(|(id, _)| id)
        else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "no DejaVu Sans: CI must install fonts-dejavu-core"
            );
            eprintln!("SKIPPED: no DejaVu Sans installed (apt-get install fonts-dejavu-core)");
            return;
        };
        let text = "(عالم) ab";
        let open = text.find('(').expect("a bracket");
        let close = text.find(')').expect("a bracket");
        let face = |family: &str, id| SpanFace {
            family: family.into(),
            weight: Weight::NORMAL,
            italic: false,
            stretch: Stretch::Normal,
            flags: CacheKeyFlags::empty(),
            id,
        };
        let faces = vec![face("Layer", None), face("DejaVu Sans", Some(id))];
        let spans = vec![
            (0..open + 1, 0),
            (open + 1..close, 1),
            (close..text.len(), 0),
        ];
        let layer = Layer::text(text, 10.0);
        let crate::scene::LayerKind::Text(t) = &layer.kind else {
            unreachable!("a text layer")
        };
        let mut chooser = Chooser::new(t, "Layer");
        let joined = settle(&mut fonts, &mut chooser, text, &spans, &faces, None);
        assert_eq!(joined, vec![(0..close + 1, 1), (close + 1..text.len(), 0)]);
    }
}
