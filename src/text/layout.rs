//! What a text layer draws, decided once for both painters: its lines and
//! the size chosen, as one cosmic-text [`Buffer`]. The CPU rasterizes that
//! buffer's glyphs ([`super::raster`]); the GPU hands the same buffer to
//! glyphon (`gpu/text.rs`), so `max_lines`, `overflow` and `letter_spacing`
//! need nothing of either painter.
//!
//! Overflow is settled by changing the text the buffer holds, never by
//! skipping lines while painting:
//!
//! - lines past `max_lines` are cut off the text (`clip`);
//! - with `ellipsis`, the text keeps the lines before the last line that
//!   fits (in the box height and `max_lines`, at least one line), then that
//!   line, shortened by whole graphemes until it and "…" fit the box width,
//!   as a paragraph of its own;
//! - with `shrink`, sizes are tried in steps of [`SHRINK_STEP`] down from
//!   `size` to `min_size` (bisection over the steps, so about log2 of their
//!   number of layouts, always the same ones), and the largest at which
//!   the text fits is kept: as many lines as `max_lines` at most, their
//!   height within the box, no line wider than the box (no word broken).
//!   If even `min_size` does not fit, the text is drawn at `min_size` with
//!   an ellipsis.
//!
//! (Over 600 lines with its tests; the code is about 530.)

use cosmic_text::{Buffer, FontSystem, LineIter, Wrap};
use unicode_segmentation::UnicodeSegmentation;

use super::shape::shape;
use crate::cancel::Stop;
use crate::plan::geometry::BoxGeometry;
use crate::scene::{Layer, LayerKind, Overflow, TextLayer, VAlign, DEFAULT_MIN_SIZE};

/// The precision of `overflow: shrink`: sizes tried are `size`, `size` -
/// 0.5, `size` - 1, ... down to `min_size`.
pub(crate) const SHRINK_STEP: f32 = 0.5;

/// Slack when comparing laid-out lengths with the box (float noise).
pub(super) const SLACK: f32 = 0.01;

/// A text layer laid out as it is drawn.
pub(crate) struct Fitted {
    pub buffer: Buffer,
    /// The font size used (below the layer's `size` only with `shrink`).
    pub size: f32,
    /// Whether some of the text is not drawn (lines cut off, or ellipsized).
    pub truncated: bool,
}

/// Where a text layer's raster lies and where its text starts in it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct TextPlan {
    /// Box-local position of the raster's top-left pixel (whole canvas
    /// pixels when the box is not rotated).
    pub origin: (f64, f64),
    /// Raster size in pixels.
    pub width: u32,
    pub height: u32,
    /// The text's top-left corner in raster pixels (valign applied).
    pub left: f32,
    pub top: f32,
}

/// Text layers of one scene laid out ahead of their render, by layer index
/// (`fit`'s buffer: its shaping and overflow, which depend on the layer's
/// text, style and box size only), each taken once by the painter that
/// draws it. A GPU batch fills it on the thread that resolves the next
/// scene, so the thread driving the GPU does not shape text.
#[derive(Default)]
pub(crate) struct FittedAhead(std::sync::Mutex<Vec<(usize, Buffer)>>);

impl FittedAhead {
    /// Lays out every visible text layer of `layers` with `fonts`, until
    /// `stop` says stop.
    pub fn fill(&self, fonts: &mut FontSystem, layers: &[Layer], stop: &Stop<'_>) {
        let mut fitted = Vec::new();
        for (index, layer) in layers.iter().enumerate() {
            if stop.now() {
                break;
            }
            if let (true, LayerKind::Text(t)) = (layer.visible, &layer.kind) {
                fitted.push((index, fit(fonts, layer, t, stop).buffer));
            }
        }
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = fitted;
    }

    /// Layer `index`'s layout, if it was laid out ahead (and not taken).
    pub fn take(&self, index: usize) -> Option<Buffer> {
        let mut fitted = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let at = fitted.iter().position(|(i, _)| *i == index)?;
        Some(fitted.swap_remove(at).1)
    }
}

/// Lays a text layer out (or takes `fitted`, its layout made ahead) and
/// plans its raster: the part of the box that can be visible on the canvas
/// (the box intersected with the canvas taken back through the rotation).
/// `None` when nothing is visible. `stop` cuts the layout short (see
/// [`fit`]).
pub(crate) fn plan(
    fonts: &mut FontSystem,
    layer: &Layer,
    t: &TextLayer,
    geom: &BoxGeometry,
    (canvas_w, canvas_h): (u32, u32),
    fitted: Option<Buffer>,
    stop: &Stop<'_>,
) -> Option<(Buffer, TextPlan)> {
    let [rx0, ry0, rx1, ry1] = raster_rect(geom, (canvas_w, canvas_h))?;
    let buffer = fitted.unwrap_or_else(|| fit(fonts, layer, t, stop).buffer);
    let text_height: f32 = buffer.layout_runs().map(|r| r.line_height).sum();
    let free = layer.height as f32 - text_height;
    let dy = match t.valign {
        VAlign::Top => 0.0,
        VAlign::Middle => free / 2.0,
        VAlign::Bottom => free,
    };
    let plan = TextPlan {
        origin: (rx0, ry0),
        width: (rx1 - rx0) as u32,
        height: (ry1 - ry0) as u32,
        left: (layer.x - rx0) as f32,
        top: (layer.y - ry0) as f32 + dy,
    };
    Some((buffer, plan))
}

/// A text layer's raster in box-local pixels `[x0, y0, x1, y1)`: the part
/// of its box that can be visible on a `canvas_w` x `canvas_h` canvas (the
/// box intersected with the canvas taken back through the rotation, with a
/// margin of two pixels when rotated). `None` when nothing is visible.
pub(crate) fn raster_rect(
    geom: &BoxGeometry,
    (canvas_w, canvas_h): (u32, u32),
) -> Option<[f64; 4]> {
    let corners = [
        geom.local_point(0.0, 0.0),
        geom.local_point(canvas_w as f64, 0.0),
        geom.local_point(0.0, canvas_h as f64),
        geom.local_point(canvas_w as f64, canvas_h as f64),
    ];
    let margin = if geom.axis_aligned { 0.0 } else { 2.0 };
    let lx0 = corners.iter().map(|c| c.0).fold(f64::INFINITY, f64::min) - margin;
    let ly0 = corners.iter().map(|c| c.1).fold(f64::INFINITY, f64::min) - margin;
    let lx1 = corners
        .iter()
        .map(|c| c.0)
        .fold(f64::NEG_INFINITY, f64::max)
        + margin;
    let ly1 = corners
        .iter()
        .map(|c| c.1)
        .fold(f64::NEG_INFINITY, f64::max)
        + margin;
    let rx0 = geom.x0.max(lx0).floor();
    let ry0 = geom.y0.max(ly0).floor();
    let rx1 = geom.x1.min(lx1).ceil();
    let ry1 = geom.y1.min(ly1).ceil();
    (rx0 < rx1 && ry0 < ry1).then_some([rx0, ry0, rx1, ry1])
}

/// Whether `c` ends a line as `\n` does: vertical tab, form feed, next
/// line (U+0085), line and paragraph separators (U+2028, U+2029).
fn breaks_line(c: char) -> bool {
    matches!(c, '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// Whether `c` is a character that is not drawn: a control character (C0
/// but tab, line feed and carriage return; DEL; C1), or a Hangul filler
/// standing for nothing (U+3164, U+FFA0), which browsers draw as nothing
/// and fonts without Hangul as boxes (with a missing-glyph warning; a
/// reviewer's "invisible" name). (The jamo fillers U+115F and U+1160 stay:
/// they take part in composing syllables.)
pub(crate) fn is_undrawn_control(c: char) -> bool {
    (c.is_control() && !matches!(c, '\t' | '\n' | '\r') && !breaks_line(c))
        || matches!(c, '\u{3164}' | '\u{FFA0}')
}

/// The text as it is laid out: the line-breaking characters of
/// [`breaks_line`] as `\n`, the control characters of
/// [`is_undrawn_control`] left out; `None` when there are none.
fn drawn_text(text: &str) -> Option<String> {
    if !text
        .chars()
        .any(|c| c == '\r' || breaks_line(c) || is_undrawn_control(c))
    {
        return None;
    }
    // Every line end as `\n`: `\r\n` is one, a `\r` alone another (cosmic-
    // text took `\n\r` as one too, where the format counts two).
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek() == Some(&'\n') => {}
            '\r' => out.push('\n'),
            c if breaks_line(c) => out.push('\n'),
            c if is_undrawn_control(c) => {}
            c => out.push(c),
        }
    }
    Some(out)
}

/// The spelling in `db` of a family `name` given in other capitals: the
/// format matches family names ignoring ASCII case, fontdb matches them
/// exactly (and falls back to another font). `None` when `name` is spelt
/// as in `db`, or is not there.
pub(crate) fn family_spelling(db: &cosmic_text::fontdb::Database, name: &str) -> Option<String> {
    let mut other = None;
    for (family, _) in db.faces().flat_map(|f| f.families.iter()) {
        if family == name {
            return None;
        }
        if other.is_none() && family.eq_ignore_ascii_case(name) {
            other = Some(family.clone());
        }
    }
    other
}

/// The text without the spaces that end its lines (before a line break,
/// `\n` or a `\r` of its own or before `\n`, or at the end): as in a
/// browser they take no room, so a line ending in spaces is aligned by its
/// last visible character (cosmic-text trims them only where it wraps).
/// Spaces here are the breaking ones: space, tab, the ideographic space
/// U+3000 and the other space separators but the no-break ones (U+00A0,
/// U+2007, U+202F). `None` when no line ends so.
fn without_line_end_spaces(text: &str) -> Option<String> {
    let hangs = |c: char| matches!(c, ' ' | '\t' | '\u{1680}' | '\u{2000}'..='\u{2006}' | '\u{2008}'..='\u{200A}' | '\u{205F}' | '\u{3000}');
    let mut out = String::with_capacity(text.len());
    // Spaces seen since the last other character, kept until what follows
    // them is known.
    let mut pending = String::new();
    let mut trimmed = false;
    for c in text.chars() {
        if hangs(c) {
            pending.push(c);
        } else {
            if matches!(c, '\n' | '\r') {
                trimmed |= !pending.is_empty();
            } else {
                out.push_str(&pending);
            }
            pending.clear();
            out.push(c);
        }
    }
    trimmed |= !pending.is_empty();
    trimmed.then_some(out)
}

/// Lays a text layer out as it is drawn, overflow settled.
/// Once `stop` says stop (a deadline, a cancel), the searches of `shrink`
/// and the ellipsis end at once with the layout they have: the render
/// fails at its next check, and a layout that takes many shapings (a long
/// text without spaces, shrunk) does not run on past the deadline.
pub(crate) fn fit(fonts: &mut FontSystem, layer: &Layer, t: &TextLayer, stop: &Stop<'_>) -> Fitted {
    let text = drawn_text(&t.text);
    let text = without_line_end_spaces(text.as_deref().unwrap_or(&t.text)).or(text);
    let font = t
        .font
        .as_deref()
        .and_then(|f| family_spelling(fonts.db(), f));
    let normalized;
    let t = if text.is_some() || font.is_some() {
        normalized = TextLayer {
            text: text.unwrap_or_else(|| t.text.clone()),
            font: font.or_else(|| t.font.clone()),
            ..t.clone()
        };
        &normalized
    } else {
        t
    };
    let size = t.size as f32;
    match t.overflow {
        Overflow::Clip => limit(fonts, layer, t, size, false, stop),
        Overflow::Ellipsis => limit(fonts, layer, t, size, true, stop),
        Overflow::Shrink => shrink(fonts, layer, t, stop),
    }
}

/// The text at `size`, wrapped at the box width, with the lines past
/// `max_lines` cut off; with `ellipsis`, also those past the box height,
/// and the last line kept ends with "…".
fn limit(
    fonts: &mut FontSystem,
    layer: &Layer,
    t: &TextLayer,
    size: f32,
    ellipsis: bool,
    stop: &Stop<'_>,
) -> Fitted {
    let room = super::spacing::line_room(layer, t);
    let (buffer, hyphenated) = super::hyphen::hyphenated(&t.text, room, stop, |s| {
        shape(fonts, layer, t, s, size, Wrap::WordOrGlyph)
    });
    // Line ends at soft hyphens are in the text from here on.
    let owned;
    let t = match &hyphenated {
        Some(h) => {
            owned = TextLayer {
                text: h.text.clone(),
                ..t.clone()
            };
            &owned
        }
        None => t,
    };
    let mut allowed = t.max_lines.map_or(usize::MAX, |n| n as usize);
    if ellipsis {
        let line = size * t.line_height as f32;
        let by_height = ((layer.height as f32 + SLACK) / line).floor().max(1.0) as usize;
        allowed = allowed.min(by_height);
    }
    let cut = if stop.now() {
        None
    } else {
        last_kept_line(&buffer, &t.text, allowed)
    };
    let Some((start, end)) = cut else {
        return Fitted {
            buffer,
            size,
            truncated: false,
        };
    };
    let text = if ellipsis {
        // Laid out as a paragraph of its own, the line would take the
        // direction of its own first letter (a line of Hebrew in an
        // English paragraph was laid out right to left, "…" at its left):
        // a mark gives it its paragraph's.
        let mark = direction_mark(&t.text, start);
        let word = hyphenated.as_ref().and_then(|h| h.word_through(start, end));
        let kept = word.as_deref().unwrap_or(&t.text[start..end]);
        let line = ellipsize(fonts, layer, t, size, mark, kept, stop);
        let prefix = &t.text[..start];
        if prefix.is_empty() || prefix.ends_with(['\n', '\r']) {
            format!("{prefix}{mark}{line}")
        } else {
            // The blanks the line was wrapped at would count at the end of
            // a paragraph.
            let prefix = prefix.trim_end_matches(|c: char| c.is_whitespace() && !is_newline(c));
            format!("{prefix}\n{mark}{line}")
        }
    } else {
        t.text[..end].to_owned()
    };
    Fitted {
        buffer: shape(fonts, layer, t, &text, size, Wrap::WordOrGlyph),
        size,
        truncated: true,
    }
}

/// The mark of the direction of the paragraph of `text` holding byte `at`
/// (its first strong letter's, left to right when it has none): U+200E
/// or U+200F, which draw nothing.
pub(super) fn direction_mark(text: &str, at: usize) -> char {
    let para = LineIter::new(text)
        .map(|(range, _)| range)
        .find(|range| range.contains(&at))
        .map_or(text, |range| &text[range]);
    match unicode_bidi::get_base_direction(para) {
        unicode_bidi::Direction::Rtl => '\u{200F}',
        _ => '\u{200E}',
    }
}

fn is_newline(c: char) -> bool {
    c == '\n' || c == '\r'
}

/// When `buffer` has more than `allowed` lines: the byte range in `text` of
/// the last line kept. `None` when every line is kept.
fn last_kept_line(buffer: &Buffer, text: &str, allowed: usize) -> Option<(usize, usize)> {
    let mut runs = buffer.layout_runs();
    let last = runs.nth(allowed.checked_sub(1)?)?;
    runs.next()?;
    // Glyph offsets are within the run's paragraph, split as cosmic-text
    // splits the text it is given.
    let para = LineIter::new(text).nth(last.line_i)?.0;
    let start = last.glyphs.iter().map(|g| g.start).min().unwrap_or(0);
    let end = last.glyphs.iter().map(|g| g.end).max().unwrap_or(0);
    Some((para.start + start, para.start + end))
}

/// `line` shortened by as many trailing graphemes as needed for it and "…"
/// to fit the box width on one line (just "…" if nothing else fits),
/// measured as it is drawn: after the direction `mark`.
fn ellipsize(
    fonts: &mut FontSystem,
    layer: &Layer,
    t: &TextLayer,
    size: f32,
    mark: char,
    line: &str,
    stop: &Stop<'_>,
) -> String {
    let ends: Vec<usize> = line
        .grapheme_indices(true)
        .map(|(i, g)| i + g.len())
        .collect();
    let with = |n: usize| {
        let kept = if n == 0 { "" } else { &line[..ends[n - 1]] };
        format!("{}\u{2026}", kept.trim_end())
    };
    let mut fits = |n: usize| {
        let candidate = format!("{mark}{}", with(n));
        let b = shape(fonts, layer, t, &candidate, size, Wrap::None);
        b.layout_runs()
            .all(|r| r.line_w <= super::spacing::line_room(layer, t) + SLACK)
    };
    // The largest number of graphemes kept that fits: bisection, taking
    // fitting to shrink with fewer graphemes kept.
    let (mut lo, mut hi) = (0, ends.len());
    if fits(hi) {
        return with(hi);
    }
    while hi - lo > 1 && !stop.now() {
        let mid = lo + (hi - lo) / 2;
        if fits(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    with(lo)
}

/// The largest font size a text layer can be drawn at: its `size`, or
/// with `overflow: shrink`, at most the size whose one line fits the box
/// height (or `min_size`, if larger), with a step of slack. Known before
/// any layout, for the memory estimate (`crate::plan::memory`).
pub(crate) fn largest_size(layer: &Layer, t: &TextLayer) -> f64 {
    match t.overflow {
        Overflow::Shrink => {
            let min = t.min_size.unwrap_or(DEFAULT_MIN_SIZE).min(t.size);
            let one_line = (layer.height + f64::from(SLACK)) / t.line_height;
            t.size.min(one_line.max(min) + f64::from(SHRINK_STEP))
        }
        Overflow::Clip | Overflow::Ellipsis => t.size,
    }
}

/// `overflow: shrink`: the largest size of the steps from `size` down to
/// `min_size` at which the text fits; `min_size` with an ellipsis if none.
fn shrink(fonts: &mut FontSystem, layer: &Layer, t: &TextLayer, stop: &Stop<'_>) -> Fitted {
    let max = t.size as f32;
    let min = (t.min_size.unwrap_or(DEFAULT_MIN_SIZE) as f32).min(max);
    let steps = ((max - min) / SHRINK_STEP).ceil() as u32;
    let size_at = |k: u32| (max - k as f32 * SHRINK_STEP).max(min);
    if fits_at(fonts, layer, t, max, stop) || stop.now() {
        return limit(fonts, layer, t, max, false, stop);
    }
    if !fits_at(fonts, layer, t, min, stop) {
        return limit(fonts, layer, t, min, true, stop);
    }
    // The text does not fit at step lo and fits at step hi.
    let (mut lo, mut hi) = (0, steps);
    while hi - lo > 1 && !stop.now() {
        let mid = lo + (hi - lo) / 2;
        if fits_at(fonts, layer, t, size_at(mid), stop) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    limit(fonts, layer, t, size_at(hi), false, stop)
}

/// Whether the text at `size`, wrapped on words only, fits the box and
/// `max_lines`.
fn fits_at(
    fonts: &mut FontSystem,
    layer: &Layer,
    t: &TextLayer,
    size: f32,
    stop: &Stop<'_>,
) -> bool {
    let room = super::spacing::line_room(layer, t);
    let (buffer, _) = super::hyphen::hyphenated(&t.text, room, stop, |s| {
        shape(fonts, layer, t, s, size, Wrap::Word)
    });
    fits_box(&buffer, layer, t)
}

/// Whether a layout (wrapped on words only) fits the box and `max_lines`.
fn fits_box(buffer: &Buffer, layer: &Layer, t: &TextLayer) -> bool {
    let (mut lines, mut height) = (0usize, 0f32);
    for run in buffer.layout_runs() {
        if run.line_w > super::spacing::line_room(layer, t) + SLACK {
            return false;
        }
        lines += 1;
        height += run.line_height;
    }
    lines <= t.max_lines.map_or(usize::MAX, |n| n as usize) && height <= layer.height as f32 + SLACK
}

/// The characters of a layout that no available font can draw (shaped as
/// glyph 0), each once, in order of appearance; blanks are not drawn and
/// not listed. A glyph 0 stands for its whole cluster (a letter and its
/// marks): of those, the characters listed are the ones the font it was
/// shaped with lacks, not a base letter that font has.
pub(crate) fn missing_chars(fonts: &mut FontSystem, buffer: &Buffer) -> Vec<char> {
    // Each with where it is in the text (paragraph, byte): listed in text
    // order, where glyphs come in visual order (right-to-left runs
    // reversed).
    let mut missing: Vec<((usize, usize), char)> = Vec::new();
    for run in buffer.layout_runs() {
        for g in run.glyphs.iter().filter(|g| g.glyph_id == 0) {
            let font = fonts.get_font(g.font_id, g.font_weight);
            let charmap = font.as_ref().map(|f| f.as_swash().charmap());
            let lacks = |c: &char| charmap.is_none_or(|m| m.map(*c) == 0);
            let chars = run.text.get(g.start..g.end).unwrap_or("").chars();
            let drawn = chars.filter(|c| !c.is_whitespace() && !c.is_control());
            let cluster: Vec<char> = drawn.collect();
            // A font whose charmap has every one (a glyph 0 it maps to):
            // all of them.
            let absent: Vec<char> = match cluster.iter().any(lacks) {
                true => cluster.into_iter().filter(lacks).collect(),
                false => cluster,
            };
            for c in absent {
                missing.push(((run.line_i, g.start), c));
            }
        }
    }
    missing.sort_by_key(|&(at, _)| at);
    let mut listed = Vec::new();
    for (_, c) in missing {
        if !listed.contains(&c) {
            listed.push(c);
        }
    }
    listed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scene::Scene;

    #[test]
    fn a_stopped_render_ends_the_shrink_and_ellipsis_searches_at_once() {
        let engine = crate::text::TextEngine::bundled_only();
        let mut fonts = engine.shaper();
        // Too long for its box at 200: the shrink bisects a dozen sizes.
        let mut layer = Layer::text("word ".repeat(400), 200.0).size(300, 200);
        let LayerKind::Text(t) = &mut layer.kind else {
            unreachable!("a text layer")
        };
        t.overflow = Overflow::Shrink;
        let t = t.clone();
        let shapings = |stop: &Stop<'_>, fonts: &mut FontSystem| {
            super::super::shape::SHAPED.with(|n| n.set(0));
            fit(fonts, &layer, &t, stop);
            super::super::shape::SHAPED.with(|n| n.get())
        };
        let whole = shapings(&Stop::never(), &mut fonts.fonts);
        assert!(whole >= 8, "{whole}");
        let options = crate::RenderOptions::default().cancel_token({
            let token = crate::CancelToken::new();
            token.cancel();
            token
        });
        let cut = shapings(&options.stop(), &mut fonts.fonts);
        assert!(cut <= 2, "{cut} shapings after the stop");
    }

    #[test]
    fn every_line_end_is_one_line_feed_and_lf_cr_is_two() {
        assert_eq!(drawn_text("a\nb"), None);
        assert_eq!(drawn_text("a\r\nb").as_deref(), Some("a\nb"));
        assert_eq!(drawn_text("a\n\rb").as_deref(), Some("a\n\nb"));
        assert_eq!(drawn_text("a\r\rb").as_deref(), Some("a\n\nb"));
        assert_eq!(drawn_text("a\rb\u{2028}c").as_deref(), Some("a\nb\nc"));
    }

    #[test]
    fn spaces_and_tabs_that_end_a_line_are_left_out() {
        assert_eq!(without_line_end_spaces("a b\nc"), None);
        assert_eq!(without_line_end_spaces("a \t\nb  "), Some("a\nb".into()));
        assert_eq!(without_line_end_spaces("a  \r\nb"), Some("a\r\nb".into()));
        assert_eq!(without_line_end_spaces("a  \rb"), Some("a\rb".into()));
        assert_eq!(without_line_end_spaces("漢字\u{3000}"), Some("漢字".into()));
        assert_eq!(without_line_end_spaces("a \u{202F}\nb"), None);
        // Spaces that start a line, or a non-breaking one, are kept.
        assert_eq!(without_line_end_spaces("  a\u{A0}"), None);
        assert_eq!(without_line_end_spaces("   "), Some(String::new()));
    }

    #[test]
    fn separators_break_lines_and_other_controls_are_left_out() {
        assert_eq!(drawn_text("plain\ttext\n"), None);
        assert_eq!(
            drawn_text("a\u{1b}b\u{7f}c\u{85}d\u{2028}e\u{2029}f\u{0c}g\u{9b}h").as_deref(),
            Some("abc\nd\ne\nf\ngh")
        );
    }
    use crate::text::{FontOptions, TextEngine};

    /// Glyph ids and pen positions of every run of a layout.
    fn glyphs(b: &Buffer) -> Vec<(u16, u32, u32)> {
        b.layout_runs()
            .flat_map(|r| {
                r.glyphs
                    .iter()
                    .map(move |g| (g.glyph_id, g.x.to_bits(), r.line_y.to_bits()))
            })
            .collect()
    }

    #[test]
    fn a_layout_made_ahead_is_taken_once_and_plans_as_one_made_then() {
        let engine = TextEngine::new(FontOptions {
            system_fonts: false,
            ..FontOptions::default()
        })
        .expect("the bundled fonts");
        let scene = Scene::from_value(&serde_json::json!({"width": 200, "height": 100, "layers": [
            {"type": "rect", "color": "#fff"},
            {"type": "text", "text": "Laid out ahead, wrapped", "x": 10, "y": 5, "width": 90,
             "height": 60, "size": 18, "overflow": "shrink"},
            {"type": "text", "text": "hidden", "visible": false}
        ]}))
        .unwrap();
        let ahead = FittedAhead::default();
        ahead.fill(&mut engine.shaper().fonts, &scene.layers, &Stop::never());
        assert!(
            ahead.take(0).is_none() && ahead.take(2).is_none(),
            "only visible text"
        );
        let fitted = ahead.take(1).expect("the visible text layer");
        assert!(ahead.take(1).is_none(), "taken once");
        let layer = &scene.layers[1];
        let LayerKind::Text(t) = &layer.kind else {
            unreachable!("layer 1 is text")
        };
        let geom = BoxGeometry::of(layer);
        let mut fonts = engine.shaper();
        let (a, plan_a) = plan(
            &mut fonts.fonts,
            layer,
            t,
            &geom,
            (200, 100),
            Some(fitted),
            &Stop::never(),
        )
        .unwrap();
        let (b, plan_b) = plan(
            &mut fonts.fonts,
            layer,
            t,
            &geom,
            (200, 100),
            None,
            &Stop::never(),
        )
        .unwrap();
        assert_eq!(plan_a, plan_b);
        assert!(!glyphs(&b).is_empty());
        assert_eq!(glyphs(&a), glyphs(&b));
    }
}
