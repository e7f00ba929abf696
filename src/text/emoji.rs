//! Emoji in text: which characters are shown as emoji (Unicode's emoji
//! presentation, U+FE0F and U+FE0E), the sequences that belong together
//! (skin tones, flags, keycaps, tags, zero-width joins), and the installed
//! colour emoji font they are drawn from ([`super::layout`] shapes them in
//! it), and whether a layer may draw a colour glyph at all
//! ([`super::TextEngine::may_draw_colour`], for the memory estimate).

use cosmic_text::FontSystem;

use crate::scene::TextLayer;

/// VARIATION SELECTOR-16: the character before it is shown as an emoji.
const EMOJI_PRESENTATION: char = '\u{FE0F}';

/// VARIATION SELECTOR-15: the character before it is shown as text.
const TEXT_PRESENTATION: char = '\u{FE0E}';

/// Whether `c` is shown as an emoji unless U+FE0E asks for text
/// (Unicode's `Emoji_Presentation=Yes`: 😀, 👍, regional indicators).
fn emoji_by_default(c: char) -> bool {
    use unicode_properties::emoji::{EmojiStatus, UnicodeEmoji};
    matches!(
        c.emoji_status(),
        EmojiStatus::EmojiPresentation
            | EmojiStatus::EmojiPresentationAndModifierBase
            | EmojiStatus::EmojiPresentationAndEmojiComponent
    )
}

/// The family of an installed colour emoji font (Noto Color Emoji first;
/// not a monochrome one such as Noto Emoji).
pub(super) fn emoji_family(fonts: &FontSystem) -> Option<String> {
    let mut best: Option<String> = None;
    for face in fonts.db().faces() {
        for (name, _) in &face.families {
            if name == "Noto Color Emoji" {
                return Some(name.clone());
            }
            if best.is_none() && is_colour_emoji_family(name) {
                best = Some(name.clone());
            }
        }
    }
    best
}

/// Whether `family` names a colour emoji font.
fn is_colour_emoji_family(family: &str) -> bool {
    family.contains("Color Emoji")
        || matches!(
            family,
            "Segoe UI Emoji" | "Twemoji" | "Twemoji Mozilla" | "JoyPixels" | "OpenMoji Color"
        )
}

/// Whether `text` has a character shown as an emoji: one followed by
/// U+FE0F, or an emoji by default (then drawn from a colour emoji font).
pub(super) fn shows_emoji(text: &str) -> bool {
    text.chars()
        .any(|c| c == EMOJI_PRESENTATION || emoji_by_default(c))
}

/// The tables of glyphs drawn in colour: layered outlines (`COLR`) and
/// colour bitmaps (`CBDT`, `sbix`).
const COLOUR_TABLES: [&[u8; 4]; 3] = [b"COLR", b"CBDT", b"sbix"];

/// Whether `font` has colour glyphs that swash draws in colour (four bytes
/// a pixel, where an outline's mask is one): layered outlines (`COLR`) or
/// colour bitmaps (`CBDT`, `sbix`).
fn has_colour_glyphs(font: &cosmic_text::Font) -> bool {
    let font = font.as_swash();
    COLOUR_TABLES
        .iter()
        .any(|tag| font.table(u32::from_be_bytes(**tag)).is_some())
}

impl super::TextEngine {
    /// Whether a glyph of `t` may be drawn in colour: its text has an emoji
    /// shown as one (drawn from the colour emoji font), or its font has
    /// colour glyphs, or lacks a character that a face with colour glyphs
    /// has (fallback may take it from there). Otherwise every glyph is an
    /// outline's mask, a byte a pixel, which the memory estimate counts
    /// (`plan::memory`).
    pub(crate) fn may_draw_colour(&self, t: &TextLayer) -> bool {
        if shows_emoji(&t.text) {
            return true;
        }
        let missing: Vec<char> = {
            let mut shaper = self.shaper();
            match super::primary_font(&mut shaper.fonts, t) {
                Some(font) if !has_colour_glyphs(&font) => super::lacks(&font, &t.text).collect(),
                _ => return true,
            }
        };
        if missing.is_empty() {
            return false;
        }
        let mut db = self.db();
        let super::FontDb {
            db, colour_chars, ..
        } = &mut *db;
        let colour = colour_chars.get_or_insert_with(|| colour_code_points(db));
        missing
            .iter()
            .any(|&c| colour.binary_search(&u32::from(c)).is_ok())
    }
}

/// Every character some face of `db` with colour glyphs (`COLR`, `CBDT`,
/// `sbix`) maps to a glyph, sorted: a font's table directory and `cmap`
/// read once (the files are mapped, not copied).
fn colour_code_points(db: &cosmic_text::fontdb::Database) -> Vec<u32> {
    let mut out = Vec::new();
    for face in db.faces() {
        db.with_face_data(face.id, |data, index| {
            let Ok(raw) = ttf_parser::RawFace::parse(data, index) else {
                return;
            };
            let colour = COLOUR_TABLES
                .iter()
                .any(|tag| raw.table(ttf_parser::Tag::from_bytes(tag)).is_some());
            if !colour {
                return;
            }
            let Ok(face) = ttf_parser::Face::parse(data, index) else {
                return;
            };
            if let Some(cmap) = face.tables().cmap {
                for subtable in cmap.subtables.into_iter().filter(|s| s.is_unicode()) {
                    subtable.codepoints(|c| {
                        if subtable.glyph_index(c).is_some_and(|g| g.0 != 0) {
                            out.push(c);
                        }
                    });
                }
            }
        });
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// `text` cut into byte ranges, each with whether it is an emoji sequence
/// shown as an emoji: a character followed by U+FE0F, or one that is an
/// emoji by default and not followed by U+FE0E, with what belongs to it (a
/// keycap's U+20E3, skin tones, a flag's second regional indicator, tag
/// characters, and the characters joined to it by U+200D with their own
/// U+FE0F).
pub(super) fn emoji_spans(text: &str) -> Vec<(std::ops::Range<usize>, bool)> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let end_of = |i: usize| chars.get(i).map_or(text.len(), |&(at, _)| at);
    let joins = |c: char| {
        matches!(
            c,
            '\u{FE0F}'
                | '\u{20E3}'
                | '\u{1F3FB}'..='\u{1F3FF}'
                | '\u{E0020}'..='\u{E007F}'
        )
    };
    let regional = |c: char| ('\u{1F1E6}'..='\u{1F1FF}').contains(&c);
    let mut spans = Vec::new();
    let (mut plain_from, mut i) = (0usize, 0usize);
    while i < chars.len() {
        let next = chars.get(i + 1).map(|&(_, c)| c);
        let c = chars[i].1;
        let starts = (next == Some(EMOJI_PRESENTATION) && c != EMOJI_PRESENTATION)
            || (emoji_by_default(c) && next != Some(TEXT_PRESENTATION));
        if !starts {
            i += 1;
            continue;
        }
        let start = chars[i].0;
        // A flag is two regional indicators.
        let pair = regional(c) && next.is_some_and(regional);
        let mut j = if pair { i + 2 } else { i + 1 };
        loop {
            while chars.get(j).is_some_and(|&(_, c)| joins(c)) {
                j += 1;
            }
            // A zero-width joiner and the character it joins.
            if chars.get(j).is_some_and(|&(_, c)| c == '\u{200D}') && j + 1 < chars.len() {
                j += 2;
                continue;
            }
            break;
        }
        if plain_from < start {
            spans.push((plain_from..start, false));
        }
        spans.push((start..end_of(j), true));
        plain_from = end_of(j);
        i = j;
    }
    if plain_from < text.len() {
        spans.push((plain_from..text.len(), false));
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_emoji_colour_fonts_or_fallback_may_draw_a_colour_glyph() {
        let engine = super::super::TextEngine::bundled_only();
        let layer = |text: &str, font: Option<&str>| TextLayer {
            text: text.into(),
            font: font.map(Into::into),
            ..TextLayer::default()
        };
        // Inter has every character and no colour glyphs: masks only.
        assert!(!engine.may_draw_colour(&layer("BIG SALE\n50% off", None)));
        assert!(!engine.may_draw_colour(&layer("Ag", Some("inter"))));
        // An emoji shown as one is drawn from the colour emoji font.
        assert!(engine.may_draw_colour(&layer("Sale \u{1F525}", None)));
        assert!(engine.may_draw_colour(&layer("I \u{2764}\u{FE0F} it", None)));
        // A character Inter lacks goes to fallback: in colour only where a
        // face with colour glyphs has it (the bundled fonts have none).
        assert!(!engine.may_draw_colour(&layer("\u{6F22}", None)));
        // A family that is not loaded: any font may draw it.
        assert!(engine.may_draw_colour(&layer("Ag", Some("No Such Family"))));
    }

    #[test]
    fn fallback_is_colour_only_for_characters_a_colour_font_has() {
        let engine = super::super::TextEngine::new(super::super::FontOptions::default())
            .expect("no font folders to fail on");
        let layer = |text: &str| TextLayer {
            text: text.into(),
            ..TextLayer::default()
        };
        // 🌡 (an emoji shown as text by default) and 漢: Inter has neither.
        let (thermometer, han) = (layer("hot \u{1F321}"), layer("\u{6F22}\u{5B57}"));
        engine.ensure_fonts_for(&thermometer);
        let has_colour_font = {
            let db = engine.db();
            !colour_code_points(&db.db).is_empty()
        };
        if !has_colour_font {
            // .ci/run installs Noto Color Emoji.
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true and no colour emoji font"
            );
            eprintln!("SKIPPED: no font with colour glyphs installed");
            return;
        }
        assert!(engine.may_draw_colour(&thermometer));
        assert!(!engine.may_draw_colour(&han));
    }

    #[test]
    fn emoji_presentation_sequences_are_cut_out_whole() {
        let spans = |t: &str| -> Vec<(String, bool)> {
            emoji_spans(t)
                .into_iter()
                .map(|(r, e)| (t[r].to_owned(), e))
                .collect()
        };
        assert_eq!(spans("plain ❤ text"), [("plain ❤ text".into(), false)]);
        assert_eq!(
            spans("I ❤\u{FE0F} it"),
            [
                ("I ".into(), false),
                ("❤\u{FE0F}".into(), true),
                (" it".into(), false)
            ]
        );
        // Joined to another emoji, and a keycap, and one at the very end.
        assert_eq!(
            spans("❤\u{FE0F}\u{200D}🔥1\u{FE0F}\u{20E3}x☀\u{FE0F}"),
            [
                ("❤\u{FE0F}\u{200D}🔥".into(), true),
                ("1\u{FE0F}\u{20E3}".into(), true),
                ("x".into(), false),
                ("☀\u{FE0F}".into(), true)
            ]
        );
        assert_eq!(spans("\u{FE0F}a"), [("\u{FE0F}a".into(), false)]);
        // Emoji by default: alone, with a skin tone, a flag; not with U+FE0E.
        assert_eq!(
            spans("a😀👍🏽🇫🇷b"),
            [
                ("a".into(), false),
                ("😀".into(), true),
                ("👍🏽".into(), true),
                ("🇫🇷".into(), true),
                ("b".into(), false)
            ]
        );
        assert_eq!(spans("😀\u{FE0E}"), [("😀\u{FE0E}".into(), false)]);
    }
}
