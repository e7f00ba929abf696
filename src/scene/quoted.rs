//! How error messages quote what the user wrote: as a JSON string, the
//! form the user writes it in (`"a\u200bb"`), where Rust's `{:?}` would
//! print `"a\u{200b}b"`. Characters that would not show (controls,
//! invisible and combining characters, which `{:?}` escapes) are escaped
//! as `\uXXXX`, so a stray zero-width space is seen; other characters
//! print as they are. Public so that the command-line tool's own messages
//! quote as the library's do.

use std::fmt::{self, Display, Write};

/// `s` quoted as a JSON string, for a message: `format!("{}", quoted(s))`
/// writes `"a\u200bb"` for `a`, U+200B, `b`.
pub fn quoted(s: &str) -> Quoted<'_> {
    Quoted(s)
}

/// A string shown quoted as JSON: see [`quoted`].
pub struct Quoted<'a>(&'a str);

impl Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        for c in self.0.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                // `{:?}` escapes it for chars, not in strings.
                '\'' => f.write_char('\'')?,
                // Rust's own judgement of what would not show.
                c if c.escape_debug().nth(1).is_some() => {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        write!(f, "\\u{unit:04x}")?;
                    }
                }
                c => f.write_char(c)?,
            }
        }
        f.write_char('"')
    }
}

#[cfg(test)]
mod tests {
    use super::quoted;

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
}
