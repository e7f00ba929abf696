//! `data:` URLs as image sources: an image layer's `src` that holds the
//! image itself (`data:image/png;base64,iVBORw0...`), as satori, Takumi
//! and browsers take them. Read as the WHATWG Fetch standard's "data: URL
//! processor" reads them: the part after the first `,` is percent-decoded,
//! then, when the part before it ends in `;base64`, decoded as "forgiving"
//! base64 (ASCII whitespace skipped, `=` padding optional). The media
//! type is not trusted: the format comes from the bytes, as for a file
//! (a mismatch is no error; a type impasto cannot read is named when the
//! bytes are no image it reads).
//!
//! The bytes are then an image input like a file's
//! ([`crate::asset_files::Input`]): the same limits, shrink-on-load, frames
//! and decoded-image cache, where they are keyed by their SHA-256 (a
//! keyed-by-content cache that a crafted collision cannot poison), so a
//! service rendering one embedded logo a thousand times decodes it once.

use std::borrow::Cow;
use std::path::PathBuf;

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use sha2::{Digest, Sha256};

/// The bytes of a `data:` URL, with what names them.
#[derive(Debug)]
pub(crate) struct DataImage {
    pub bytes: Vec<u8>,
    /// The media type the URL declares (`image/png`; empty when none).
    pub media_type: String,
    /// Whether its base64 data held spaces (see [`DataImage::explain`]).
    pub spaces: bool,
    /// The bytes' SHA-256.
    pub digest: [u8; 32],
    /// `data:sha256,<hex of the bytes' SHA-256>`: the key the
    /// decoded-image caches hold them under, in place of a file's
    /// canonical path (which is absolute, so never this).
    pub key: PathBuf,
}

/// `src` without the ASCII whitespace a URL parser drops before it
/// (browsers read `" data:..."` as a data: URL); only for a `src` that is
/// then a data: URL, since a file's name may start with a space.
fn trimmed(src: &str) -> &str {
    let start = src.trim_start_matches(|c: char| c.is_ascii_whitespace() || c.is_ascii_control());
    match start.get(..5) {
        Some(scheme) if scheme.eq_ignore_ascii_case("data:") => start,
        _ => src,
    }
}

/// Whether `src` is read as a `data:` URL: it starts with `data:` (in any
/// case, after any ASCII whitespace) and holds the `,` that ends the URL's
/// header. Without the comma it is a file name, as before (a file may be
/// named `data:x.png`).
pub fn is_data_url(src: &str) -> bool {
    let src = trimmed(src);
    src.get(..5)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("data:"))
        && src.contains(',')
}

/// `src` shown in a message: quoted, a `data:` URL (often many kilobytes)
/// by its first 40 characters and its length, any other as
/// [`crate::scene::quoted`] shows it (a long one shortened too).
pub(crate) fn shown(src: &str) -> String {
    let is_data = trimmed(src)
        .get(..5)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("data:"));
    match is_data {
        true => shown_start(src),
        false => crate::scene::quoted(src).to_string(),
    }
}

/// The bytes `src` (a `data:` URL, [`is_data_url`]) holds, at most
/// `max_bytes` of them (`max_image_file_bytes`, as for a file); why not,
/// in words, when they cannot be read.
pub(crate) fn parse(src: &str, max_bytes: u64) -> Result<DataImage, String> {
    // A fragment, from the first '#' on, is no part of the URL's data or
    // header, as browsers read it (`data:#,AAAA` holds no ',').
    let src = trimmed(src);
    let src = match memchr::memchr(b'#', src.as_bytes()) {
        Some(at) => &src[..at],
        None => src,
    };
    let Some((header, payload)) = src.get(5..).and_then(|rest| rest.split_once(',')) else {
        return Err("is no data: URL: it has no ',' before its data".into());
    };
    let header = header.trim_matches(|c: char| c.is_ascii_whitespace());
    // `;base64` last, spaces around `base64` allowed.
    let (media_type, base64) = match header.rsplit_once(';') {
        Some((before, last))
            if last
                .trim_matches(|c: char| c.is_ascii_whitespace())
                .eq_ignore_ascii_case("base64") =>
        {
            (before, true)
        }
        _ => (header, false),
    };
    let media_type = media_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let over = |bytes: u64| {
        format!("the data: URL holds {bytes} bytes, over the limit of {max_bytes} bytes (max_image_file_bytes)")
    };
    // Base64 without escapes gives its size before it is decoded: three
    // bytes for four characters, padding and whitespace aside.
    // (Counted only when its length alone could be over: each scan of a
    // URL of megabytes costs a render some of its time.)
    let escaped = memchr::memchr(b'%', payload.as_bytes()).is_some();
    if base64 && !escaped && payload.len() as u64 / 4 * 3 > max_bytes {
        let chars = payload
            .bytes()
            .filter(|&b| !is_space(b) && b != b'=')
            .count() as u64;
        if chars / 4 * 3 + (chars % 4).saturating_sub(1) > max_bytes {
            return Err(over(chars / 4 * 3 + (chars % 4).saturating_sub(1)));
        }
    }
    // Borrowed when there is nothing to decode (base64 has no `%`), so a
    // large URL is not copied on its way to its bytes.
    let decoded: Cow<'_, [u8]> = match escaped {
        true => percent_encoding::percent_decode_str(payload).into(),
        false => payload.as_bytes().into(),
    };
    let spaces = base64 && memchr::memchr(b' ', &decoded).is_some();
    let bytes = if base64 {
        forgiving_base64(&decoded).map_err(|e| match spaces {
            true => with_space_hint(e),
            false => e,
        })?
    } else {
        decoded.into_owned()
    };
    if bytes.len() as u64 > max_bytes {
        return Err(over(bytes.len() as u64));
    }
    if bytes.is_empty() {
        return Err("the data: URL holds no data".into());
    }
    Ok(DataImage {
        spaces,
        ..DataImage::new(bytes, media_type)
    })
}

/// The ASCII whitespace forgiving base64 skips.
fn is_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

impl DataImage {
    /// `bytes` as an image input, declared `media_type` (may be empty),
    /// keyed by their SHA-256.
    pub(crate) fn new(bytes: Vec<u8>, media_type: String) -> DataImage {
        let digest: [u8; 32] = Sha256::digest(&bytes).into();
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        DataImage {
            bytes,
            media_type,
            spaces: false,
            digest,
            key: PathBuf::from(format!("data:sha256,{hex}")),
        }
    }

    /// `message`, about bytes that did not decode, with a hint when their
    /// base64 held spaces: a `+` sent in a URL query (`/t/` of `impasto
    /// serve`) arrives as a space, which base64 skips.
    pub(crate) fn explain(&self, message: String) -> String {
        match self.spaces {
            true => with_space_hint(message),
            false => message,
        }
    }

    /// The declared media type, for a message: quoted, at most 40
    /// characters of it.
    pub(crate) fn shown_media_type(&self) -> String {
        shown_start(&self.media_type)
    }
}

/// `message` with the hint [`DataImage::explain`] gives.
fn with_space_hint(message: String) -> String {
    format!(
        "{message} (its base64 data holds spaces: a '+' sent in a URL query reads as a space; write it %2B)"
    )
}

/// `text` quoted, shortened to its first 40 characters and its length.
fn shown_start(text: &str) -> String {
    let start = crate::scene::start_of(text, 40);
    match start.len() < text.len() {
        true => format!("{}... ({} bytes)", crate::scene::quoted(start), text.len()),
        false => crate::scene::quoted(text).to_string(),
    }
}

/// Base64 as the Fetch standard's "forgiving-base64 decode" reads it: ASCII
/// whitespace skipped, `=` padding optional (but only at the end), bits
/// past the last whole byte ignored.
fn forgiving_base64(text: &[u8]) -> Result<Vec<u8>, String> {
    let any_space = memchr::memchr3(b' ', b'\n', b'\r', text).is_some()
        || memchr::memchr2(b'\t', b'\x0c', text).is_some();
    let compact: Cow<'_, [u8]> = match any_space {
        true => text.iter().copied().filter(|&b| !is_space(b)).collect(),
        false => text.into(),
    };
    let engine = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    engine.decode(&compact).map_err(|e| {
        let at = |offset: usize, byte: u8| {
            let shown = match byte {
                b'!'..=b'~' => format!("'{}'", byte as char),
                _ => format!("byte 0x{byte:02x}"),
            };
            let url_safe = match byte {
                b'-' | b'_' => " (URL-safe base64 is not read: write '+' and '/' for '-' and '_')",
                _ => "",
            };
            format!(
                "the data: URL's base64 data has {shown} at its base64 character {}, which is not base64{url_safe}",
                offset + 1
            )
        };
        match e {
            base64::DecodeError::InvalidByte(_, b'=') if compact.iter().all(|&b| b == b'=') => {
                "the data: URL's base64 data is only '=' padding".into()
            }
            base64::DecodeError::InvalidByte(offset, b'=') => format!(
                "the data: URL's base64 data has '=' at its base64 character {}: padding may only end the data",
                offset + 1
            ),
            base64::DecodeError::InvalidByte(offset, byte)
            | base64::DecodeError::InvalidLastSymbol {
                offset,
                symbol: byte,
                ..
            } => at(offset, byte),
            base64::DecodeError::InvalidPadding => {
                "the data: URL's base64 data ends in the wrong number of '='".into()
            }
            base64::DecodeError::InvalidLength(_) => {
                let n = compact.iter().filter(|&&b| b != b'=').count();
                format!(
                    "the data: URL's base64 data is cut short: its {n} base64 character{} leave{} one over",
                    if n == 1 { "" } else { "s" },
                    if n == 1 { "s" } else { "" }
                )
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(src: &str) -> Result<Vec<u8>, String> {
        parse(src, 1 << 20).map(|d| d.bytes)
    }

    #[test]
    fn base64_and_percent_forms_read_as_browsers_read_them() {
        assert_eq!(bytes("data:image/png;base64,aGk=").unwrap(), b"hi");
        // Padding optional, whitespace skipped, the marker in any case and
        // with spaces, the scheme in any case.
        assert_eq!(bytes("DATA:image/png; BASE64 ,aG k\n").unwrap(), b"hi");
        // Percent-decoded before base64.
        assert_eq!(bytes("data:;base64,aG%6B=").unwrap(), b"hi");
        // Not base64: the percent-decoded text itself.
        assert_eq!(bytes("data:text/plain,a%20b%ff").unwrap(), b"a b\xff");
        let d = parse("data:Image/PNG;charset=x;base64,aGk=", 10).unwrap();
        assert_eq!(d.media_type, "image/png");
        assert_eq!(
            d.key,
            PathBuf::from(
                "data:sha256,8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4"
            )
        );
    }

    #[test]
    fn bad_data_urls_are_refused_saying_what_is_wrong() {
        let e = bytes("data:image/png;base64,aGk-").unwrap_err();
        assert!(
            e.contains("'-' at its base64 character 4") && e.contains("URL-safe"),
            "{e}"
        );
        let e = bytes("data:image/png;base64,a=Gk").unwrap_err();
        assert!(e.contains("padding may only end the data"), "{e}");
        let e = bytes("data:image/png;base64,aGkxa").unwrap_err();
        assert!(e.contains("cut short"), "{e}");
        let e = bytes("data:image/png;base64,").unwrap_err();
        assert_eq!(e, "the data: URL holds no data");
        let e = parse("data:image/png;base64,aGVsbG8=", 4).unwrap_err();
        assert!(
            e.contains("holds 5 bytes, over the limit of 4 bytes (max_image_file_bytes)"),
            "{e}"
        );
    }

    #[test]
    fn a_fragment_leading_whitespace_and_spaces_are_read_as_browsers_read_them() {
        // The fragment is dropped; whitespace before the scheme too.
        assert_eq!(bytes("data:image/png;base64,aGk=#frag").unwrap(), b"hi");
        // From the first '#' on, the header's too: no ',' is left.
        let e = bytes("data:#,aGk=").unwrap_err();
        assert_eq!(e, "is no data: URL: it has no ',' before its data");
        assert_eq!(bytes(" \t\ndata:;base64,aGk=").unwrap(), b"hi");
        assert!(is_data_url("  data:,x") && !is_data_url(" a.png"));
        // Spaces in base64 are skipped, and remembered for a hint.
        let d = parse("data:;base64,a Gk=", 10).unwrap();
        assert!(d.spaces && d.bytes == b"hi");
        assert!(d.explain("bad".into()).contains("write it %2B"));
        let d = parse("data:;base64,aGk=", 10).unwrap();
        assert_eq!(d.explain("bad".into()), "bad");
        // Over the limit by its length: refused before it is decoded (the
        // '-' after the limit's worth would fail the decode).
        let e = parse("data:;base64,aGVsbG8gd29ybGQ-", 4).unwrap_err();
        assert!(
            e.contains("holds 12 bytes, over the limit of 4 bytes"),
            "{e}"
        );
        let e = bytes("data:;base64,==").unwrap_err();
        assert_eq!(e, "the data: URL's base64 data is only '=' padding");
        let e = bytes("data:;base64,a").unwrap_err();
        assert!(e.contains("its 1 base64 character leaves one over"), "{e}");
        // A long media type is shown short.
        let long = format!("data:image/{},aGk=", "x".repeat(500));
        let d = parse(&long, 10).unwrap();
        assert_eq!(
            d.shown_media_type(),
            format!("\"image/{}\"... (506 bytes)", "x".repeat(34))
        );
    }

    #[test]
    fn only_a_data_scheme_with_its_comma_is_a_data_url_and_long_ones_are_shown_short() {
        assert!(is_data_url("data:image/png;base64,aGk="));
        assert!(is_data_url("Data:,x"));
        assert!(!is_data_url("data:x.png"));
        assert!(!is_data_url("photos/data:x,png") && !is_data_url("dat"));
        let long = format!("data:image/png;base64,{}", "A".repeat(1000));
        assert_eq!(
            shown(&long),
            "\"data:image/png;base64,AAAAAAAAAAAAAAAAAA\"... (1022 bytes)"
        );
        assert_eq!(shown("a.png"), "\"a.png\"");
        // A file name of any length is shown whole.
        let name = "a".repeat(60);
        assert_eq!(shown(&name), format!("\"{name}\""));
    }
}
