//! How error messages quote what the user wrote: as a JSON string, the
//! form the user writes it in (`"a\u200bb"`), where Rust's `{:?}` would
//! print `"a\u{200b}b"`. Characters that would not show (controls,
//! invisible and combining characters, which `{:?}` escapes) are escaped
//! as `\uXXXX`, so a stray zero-width space is seen; other characters
//! print as they are. Public so that the command-line tool's own messages
//! quote as the library's do.

use std::fmt::{self, Display, Write};

/// `s` quoted as a JSON string, for a message: `format!("{}", quoted(s))`
/// writes `"a\u200bb"` for `a`, U+200B, `b`. A string over
/// [`LONGEST_QUOTED`] bytes (an image's data pasted into the wrong field) is
/// shown by its first 200 characters and its length:
/// `"data:image/png;base64,iVBOR..."... (41831778 bytes)`.
pub fn quoted(s: &str) -> Quoted<'_> {
    Quoted(s)
}

/// The first `chars` characters of `s` (all of it when it has fewer): how
/// messages shorten what is long, then followed by its length.
pub(crate) fn start_of(s: &str, chars: usize) -> &str {
    s.char_indices().nth(chars).map_or(s, |(i, _)| &s[..i])
}

/// The longest string [`quoted`] writes whole, in bytes.
pub const LONGEST_QUOTED: usize = 1024;

/// A string shown quoted as JSON: see [`quoted`].
pub struct Quoted<'a>(&'a str);

impl Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = match self.0.len() > LONGEST_QUOTED {
            true => start_of(self.0, 200),
            false => self.0,
        };
        f.write_char('"')?;
        for c in shown.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                // `{:?}` escapes it for chars, not in strings.
                '\'' => f.write_char('\'')?,
                c if is_unseen(c) => {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        write!(f, "\\u{unit:04x}")?;
                    }
                }
                c => f.write_char(c)?,
            }
        }
        f.write_char('"')?;
        if shown.len() < self.0.len() {
            write!(f, "... ({} bytes)", self.0.len())?;
        }
        Ok(())
    }
}

/// Whether `c` would not show as itself on a terminal (a control, an
/// invisible, bidi or combining character), in Rust's own judgement (what
/// `{:?}` escapes), quotes and the backslash aside: what [`quoted`]
/// writes as `\uXXXX`.
pub fn is_unseen(c: char) -> bool {
    !matches!(c, '"' | '\'' | '\\') && c.escape_debug().nth(1).is_some()
}

/// A path that begins a message (`out/x.png: is a folder`): as it is
/// where that reads unambiguously, else quoted as [`quoted`] quotes it:
/// when it holds a character that would not show as itself (a control, a
/// zero-width or bidi mark), a quote or a backslash, `": "`, or begins or
/// ends with whitespace. A name that is not UTF-8 shows U+FFFD for its
/// bad bytes.
pub fn shown_path(path: &std::path::Path) -> String {
    let s = path.to_string_lossy();
    let plain = |c: char| !matches!(c, '"' | '\\') && !is_unseen(c);
    let unambiguous = s.chars().all(plain)
        && !s.contains(": ")
        && !s.starts_with(char::is_whitespace)
        && !s.ends_with(char::is_whitespace);
    match unambiguous {
        true => s.into_owned(),
        false => quoted(&s).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::{quoted, shown_path};
    use std::path::Path;

    #[test]
    fn a_path_is_shown_as_it_is_unless_it_would_read_ambiguously() {
        let shown = |p: &str| shown_path(Path::new(p));
        assert_eq!(shown("out/poster 1.png"), "out/poster 1.png");
        assert_eq!(shown("café/漢字.png"), "café/漢字.png");
        assert_eq!(shown("a\u{200b}.png"), r#""a\u200b.png""#);
        assert_eq!(shown("a\u{202e}gnp.exe"), r#""a\u202egnp.exe""#);
        assert_eq!(shown("a\nb.png"), r#""a\nb.png""#);
        assert_eq!(shown("x.png "), r#""x.png ""#);
        assert_eq!(shown("a: b.png"), r#""a: b.png""#);
        assert_eq!(shown("say\"hi\".png"), r#""say\"hi\".png""#);
    }

    #[test]
    fn invisible_characters_are_json_escapes_and_the_rest_prints_as_is() {
        let q = |s: &str| quoted(s).to_string();
        assert_eq!(q("cover"), r#""cover""#);
        assert_eq!(q("a\u{200b}b"), r#""a\u200bb""#);
        assert_eq!(q("say \"hi\"\\\n\t\r"), r#""say \"hi\"\\\n\t\r""#);
        assert_eq!(q("\0\u{7f}\u{301}"), r#""\u0000\u007f\u0301""#);
        assert_eq!(q("café 漢字 🔥 l'été"), "\"café 漢字 🔥 l'été\"");
        // Outside the Basic Multilingual Plane: a surrogate pair, as JSON
        // writes it (a tag character here).
        assert_eq!(q("\u{E0041}"), r#""\udb40\udc41""#);
        // What is printed reads back as the string.
        let s = "x\u{200b}\u{feff}\"\\y\u{E0041}";
        assert_eq!(serde_json::from_str::<String>(&q(s)).unwrap(), s);
    }

    #[test]
    fn a_string_over_the_longest_quoted_shows_its_start_and_length() {
        let whole = "é".repeat(512);
        assert_eq!(quoted(&whole).to_string(), format!("\"{whole}\""));
        let long = format!("{whole}x");
        assert_eq!(
            quoted(&long).to_string(),
            format!("\"{}\"... (1025 bytes)", "é".repeat(200))
        );
    }
}
