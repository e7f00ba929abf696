//! Soft hyphens (U+00AD): a line that breaks at one ends with a visible
//! hyphen, as in a browser; elsewhere a soft hyphen draws nothing.
//!
//! cosmic-text breaks a line after a soft hyphen but draws nothing there.
//! The layout is corrected by changing the text it lays out, as overflow is
//! (`super::layout`): line by line from the top, a soft hyphen where a line
//! breaks becomes a hyphen-minus and a line feed. If the line with its
//! hyphen no longer fits the box width (it wraps earlier, or it is wider),
//! the break is not taken there: that soft hyphen is left out and the text
//! laid out again. Lines above the one changed keep their layout (lines are
//! filled greedily from the top), so each soft hyphen is settled once, with
//! one more layout; text without a soft hyphen is laid out once, as before.
//!
//! A hyphenated paragraph becomes two paragraphs, laid out as the one would
//! be for every alignment the format has: the tail keeps the paragraph's
//! direction by a mark (U+200E or U+200F, which draw nothing and take no
//! letter spacing) put before it.

use cosmic_text::{Buffer, LineIter};

use crate::cancel::Stop;

/// SOFT HYPHEN: a break allowed, drawn as a hyphen only where taken.
const SOFT_HYPHEN: char = '\u{AD}';

/// A laid-out line's place in the text: byte range of its characters and
/// its width.
struct Line {
    start: usize,
    end: usize,
    width: f32,
    paragraph: usize,
}

/// The lines of `buffer` (a layout of `text`) that hold glyphs, in order.
fn lines(buffer: &Buffer, text: &str) -> Vec<Line> {
    let starts: Vec<usize> = LineIter::new(text).map(|(range, _)| range.start).collect();
    buffer
        .layout_runs()
        .filter(|r| !r.glyphs.is_empty())
        .map(|r| {
            let at = starts.get(r.line_i).copied().unwrap_or(0);
            let start = r.glyphs.iter().map(|g| g.start).min().unwrap_or(0);
            let end = r.glyphs.iter().map(|g| g.end).max().unwrap_or(0);
            Line {
                start: at + start,
                end: at + end,
                width: r.line_w,
                paragraph: r.line_i,
            }
        })
        .collect()
}

/// The first line break of `buffer` taken at a soft hyphen: the line that
/// ends there, and the soft hyphen's byte offset in `text`.
fn first_soft_break(buffer: &Buffer, text: &str) -> Option<(Line, usize)> {
    let lines = lines(buffer, text);
    let mut pairs = lines.into_iter().peekable();
    while let Some(line) = pairs.next() {
        let Some(next) = pairs.peek() else {
            break;
        };
        if next.paragraph != line.paragraph {
            continue;
        }
        let Some(at) = next.start.checked_sub(SOFT_HYPHEN.len_utf8()) else {
            continue;
        };
        if at >= line.start && text.get(at..next.start) == Some("\u{AD}") {
            return Some((line, at));
        }
    }
    None
}

/// `text` laid out by `shape` with a hyphen drawn at each soft hyphen a
/// line breaks at (see the module's notes), and the text laid out when it
/// differs from `text` (what byte offsets of the layout index). `width` is
/// the box width a line must fit. Once `stop` says stop, the layout made
/// so far is returned.
pub(super) fn hyphenated(
    text: &str,
    width: f32,
    stop: &Stop<'_>,
    mut shape: impl FnMut(&str) -> Buffer,
) -> (Buffer, Option<Hyphenated>) {
    let mut buffer = shape(text);
    if !text.contains(SOFT_HYPHEN) {
        return (buffer, None);
    }
    let mut text = text.to_owned();
    let mut changed = false;
    // Where hyphens went in: each edit is below the ones before it, so a
    // soft hyphen left out later moves none of them.
    let mut hyphens = Vec::new();
    while let Some((line, at)) = first_soft_break(&buffer, &text) {
        if stop.now() {
            break;
        }
        let after = at + SOFT_HYPHEN.len_utf8();
        // The paragraph's tail, a paragraph of its own now, keeps the
        // paragraph's direction (and with it its start, for `start` and
        // `end` alignment) by a mark, as an ellipsized line does.
        let mark = super::layout::direction_mark(&text, at);
        let candidate = format!("{}-\n{mark}{}", &text[..at], &text[after..]);
        let laid = shape(&candidate);
        // The line with its hyphen starts where it did and holds it, and
        // is no wider than the box.
        let kept = lines(&laid, &candidate).iter().any(|l| {
            l.start == line.start && l.end == at + 1 && l.width <= width + super::layout::SLACK
        });
        if kept {
            hyphens.push(at);
        }
        (text, buffer) = if kept {
            (candidate, laid)
        } else {
            let without = format!("{}{}", &text[..at], &text[after..]);
            let laid = shape(&without);
            (without, laid)
        };
        changed = true;
    }
    (buffer, changed.then_some(Hyphenated { text, hyphens }))
}

/// Text whose line breaks at soft hyphens are written out.
pub(super) struct Hyphenated {
    /// The text, each soft hyphen a line breaks at now "-\n" and its
    /// paragraph's direction mark (U+200E or U+200F), the others that
    /// could not be broken at left out.
    pub text: String,
    /// The byte offsets of the hyphens put in, in order.
    pub hyphens: Vec<usize>,
}

impl Hyphenated {
    /// The word that the line `text[start..end]` ends, broken at a hyphen
    /// put in at `end - 1`, whole: the line without that hyphen, then the
    /// rest of the word up to its next blank, without the hyphens and
    /// line feeds put in on the way; `None` when the line does not end at
    /// one. (A line cut there with "…" keeps as much of the word as fits,
    /// where "Extra-…" had kept a hyphen that is only drawn at a break.)
    pub fn word_through(&self, start: usize, end: usize) -> Option<String> {
        let put = |at: usize| self.hyphens.binary_search(&at).is_ok();
        if end == 0 || !put(end - 1) {
            return None;
        }
        // After a hyphen put in: its line feed and the direction mark.
        let past_break = |at: usize| {
            let at = at + 1;
            match self.text[at..].chars().next() {
                Some(c @ ('\u{200E}' | '\u{200F}')) => at + c.len_utf8(),
                _ => at,
            }
        };
        let mut out = self.text[start..end - 1].to_owned();
        let mut at = past_break(end);
        while let Some(c) = self.text[at..].chars().next() {
            if put(at) {
                at = past_break(at + 1);
                continue;
            }
            if c.is_whitespace() {
                break;
            }
            out.push(c);
            at += c.len_utf8();
        }
        Some(out)
    }
}
