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
    /// `data:sha256,<hex of the bytes' SHA-256>`: the key the
    /// decoded-image caches hold them under, in place of a file's
    /// canonical path (which is absolute, so never this).
    pub key: PathBuf,
}

/// Whether `src` is read as a `data:` URL: it starts with `data:` (in any
/// case) and holds the `,` that ends the URL's header. Without the comma
/// it is a file name, as before (a file may be named `data:x.png`).
pub(crate) fn is_data_url(src: &str) -> bool {
    src.get(..5)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("data:"))
        && src.contains(',')
}

/// `src` shown in a message: quoted, and a `data:` URL (often many
/// kilobytes) by its first 40 characters and its length.
pub(crate) fn shown(src: &str) -> String {
    let is_data = src
        .get(..5)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("data:"));
    let start: String = src.chars().take(40).collect();
    match is_data && start.len() < src.len() {
        true => format!("{}... ({} bytes)", crate::scene::quoted(&start), src.len()),
        false => crate::scene::quoted(src).to_string(),
    }
}

/// The bytes `src` (a `data:` URL, [`is_data_url`]) holds, at most
/// `max_bytes` of them (`max_image_file_bytes`, as for a file); why not,
/// in words, when they cannot be read.
pub(crate) fn parse(src: &str, max_bytes: u64) -> Result<DataImage, String> {
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
    // The URL's length is bounded by the scene's (`MAX_SCENE_BYTES`), so
    // it is decoded whole before its bytes are counted.
    // Borrowed when there is nothing to decode (base64 has no `%`), so a
    // large URL is not copied on its way to its bytes.
    let decoded: Cow<'_, [u8]> = percent_encoding::percent_decode_str(payload).into();
    let bytes = if base64 {
        forgiving_base64(&decoded)?
    } else {
        decoded.into_owned()
    };
    if bytes.len() as u64 > max_bytes {
        return Err(format!(
            "the data: URL holds {} bytes, over the limit of {max_bytes} bytes (max_image_file_bytes)",
            bytes.len()
        ));
    }
    if bytes.is_empty() {
        return Err("the data: URL holds no data".into());
    }
    let digest = Sha256::digest(&bytes);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    Ok(DataImage {
        bytes,
        media_type,
        key: PathBuf::from(format!("data:sha256,{hex}")),
    })
}

/// Base64 as the Fetch standard's "forgiving-base64 decode" reads it: ASCII
/// whitespace skipped, `=` padding optional (but only at the end), bits
/// past the last whole byte ignored.
fn forgiving_base64(text: &[u8]) -> Result<Vec<u8>, String> {
    let space = |b: &u8| matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ');
    let compact: Cow<'_, [u8]> = match text.iter().any(space) {
        true => text.iter().copied().filter(|b| !space(b)).collect(),
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
            base64::DecodeError::InvalidLength(_) => format!(
                "the data: URL's base64 data is cut short: its {} base64 characters leave one over",
                compact.iter().filter(|&&b| b != b'=').count()
            ),
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
