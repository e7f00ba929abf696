//! How the command line writes a message on stderr: one line, with what
//! came from the input escaped so that it can neither move the cursor nor
//! hide.

/// `impasto render --timeout`, as given, for the message of a render that
/// ran past it: the library's error says only that a deadline passed.
pub(crate) static RENDER_TIMEOUT: std::sync::OnceLock<std::time::Duration> =
    std::sync::OnceLock::new();

/// The message of `e`, a render's deadline named when `--timeout` set it.
pub(crate) fn error_message(e: &impasto::Error) -> String {
    match (e, RENDER_TIMEOUT.get()) {
        (impasto::Error::DeadlineExceeded, Some(t)) => {
            format!("{e}: the render ran past --timeout {} s", t.as_secs_f64())
        }
        _ => e.to_string(),
    }
}

/// `text` as one line for stderr: a line break becomes a space, and every
/// other control character (CR, ESC, BEL, DEL, C1) is written as its JSON
/// escape (`\r`, `\u001b`), so that a name from the input (a JSON key, a
/// CSV column, a variable) can neither clear the terminal nor split the
/// line.
pub(crate) fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push(' '),
            // Controls, and the marks that reorder a line's text.
            c if c.is_control()
                || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}') =>
            {
                match c {
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    // Every such character is in the Basic Multilingual
                    // Plane: one UTF-16 unit.
                    c => out.push_str(&format!("\\u{:04x}", u32::from(c))),
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// clap's "invalid value" error with the value quoted as the tool's own
/// messages quote it (clap prints it raw between single quotes: a carriage
/// return or a zero-width space in it reached the terminal as it was),
/// then the option and why; `None` for other errors.
pub(crate) fn invalid_value(e: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if !matches!(
        e.kind(),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation
    ) {
        return None;
    }
    let text = |kind| match e.get(kind) {
        Some(ContextValue::String(s)) => Some(s.as_str()),
        _ => None,
    };
    let value = text(ContextKind::InvalidValue)?;
    let arg = text(ContextKind::InvalidArg)?;
    let valid = match e.get(ContextKind::ValidValue) {
        Some(ContextValue::Strings(valid)) if !valid.is_empty() => {
            format!(" (possible values: {})", valid.join(", "))
        }
        _ => String::new(),
    };
    if value.is_empty() {
        return Some(format!(
            "a value is required for '{arg}' but none was supplied{valid}"
        ));
    }
    let mut line = format!(
        "invalid value {} for '{arg}'",
        impasto::scene::quoted(value)
    );
    match std::error::Error::source(e) {
        Some(why) => line.push_str(&format!(": {why}")),
        None => line.push_str(&valid),
    }
    Some(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_escapes_control_characters_from_the_input() {
        assert_eq!(one_line("a\nb"), "a b");
        assert_eq!(
            one_line("field \"\u{1b}[2J\r\u{b}\u{7f}\u{85}\": bad"),
            "field \"\\u001b[2J\\r\\u000b\\u007f\\u0085\": bad"
        );
        assert_eq!(one_line("naïve ✓"), "naïve ✓");
        assert_eq!(one_line("a\u{202E}b"), "a\\u202eb");
    }
}
