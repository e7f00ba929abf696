//! A bound on the work font fallback may take for one text layer.
//!
//! cosmic-text lays a text out word by word (a word runs to the next
//! line-break opportunity), and puts the characters a word's font lacks
//! into it from the fallback fonts one cluster at a time, each time
//! searching a list of what is still missing and shifting the glyphs after
//! it: time in proportion to the word's length times the characters of it
//! the font lacks, for every fallback font tried (pop-os/cosmic-text issue
//! 523, open). A word of 30,000 characters no font has took 2 s with the
//! bundled fonts and some 7 s with the system's; 100,000 took 99 s, and a
//! layout cannot be interrupted. [`total`] sums what its words ask of
//! it, from the layer's font alone, before anything is laid out; the
//! renderer refuses a layer whose words together ask more than
//! `Limits::max_text_fallback_work`.

use super::lacks;
use crate::error::{Error, Location};

/// The work font fallback would take over `text`: each word's (from one
/// line-break opportunity to the next) length in characters times its
/// characters `font` lacks, summed (each word is laid out on its own, one
/// after another); with the word that takes the most, its length and how
/// many of them the font lacks. `None` when the font lacks none.
pub(super) fn total(font: &cosmic_text::Font, text: &str) -> Option<(u64, usize, usize)> {
    let mut start = 0;
    let mut sum = 0u64;
    let mut worst: Option<(u64, usize, usize)> = None;
    for (end, _) in unicode_linebreak::linebreaks(text) {
        // `linebreaks` ends with the text's end; each end is a char boundary.
        let word = text.get(start..end).unwrap_or_default();
        start = end;
        let lacking = lacks(font, word).count();
        if lacking == 0 {
            continue;
        }
        let length = word.chars().count();
        let work = length as u64 * lacking as u64;
        sum = sum.saturating_add(work);
        if worst.is_none_or(|(w, _, _)| work > w) {
            worst = Some((work, length, lacking));
        }
    }
    worst.map(|(_, length, lacking)| (sum, length, lacking))
}

/// Refuses text layer `index`'s `text` when its words ask font fallback
/// ([`total`]) for more than `max`.
pub(super) fn check(
    font: &cosmic_text::Font,
    text: &str,
    index: usize,
    max: u64,
) -> Result<(), Error> {
    match total(font, text) {
        Some((work, length, lacking)) if work > max => Err(Error::scene(
            Location::Layer {
                index,
                kind: Some("text".into()),
            },
            Some("text"),
            format!(
                "its words would take font fallback {work} steps (a word's characters times those not in the layer's font, summed; the largest: {length} characters with no line-break opportunity, {lacking} of them not in the font), over the limit of {max} (max_text_fallback_work): laying the text out takes time in proportion; use a font that has its characters, or break its long words"
            ),
        )),
        _ => Ok(()),
    }
}
