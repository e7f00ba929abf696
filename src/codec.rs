//! Decoding and encoding: the edges of the engine.
//!
//! Decoding checks the image's size against the pixel limit *before* the
//! pixels are allocated (decompression bombs are refused from the header),
//! applies the EXIF orientation, converts the colours to sRGB when the file
//! embeds an ICC profile (module `icc`), and returns straight-alpha 8-bit sRGB
//! RGBA; the renderers premultiply when they read it.
//!
//! Encoding (`output.rs`) takes straight-alpha 8-bit RGBA, picks the format
//! from the file extension, and writes through a temporary file in the same
//! folder that is renamed into place, so a failed render never leaves a file
//! behind.

use std::io::Read;
use std::path::Path;

use image::RgbaImage;

pub mod anim;
mod anim_out;
mod apng;
mod avif;
mod cmyk;
mod decode_cost;
pub(crate) use decode_cost::{decode_cost, DecodeCost};
mod gif;
mod gif_blocks;
pub(crate) mod halt_scope;
mod halting_input;
pub(crate) mod icc;
mod icc16;
pub(crate) mod jpeg;
pub(crate) mod jpeg_blocks;
mod jpeg_headers;
pub(crate) use jpeg_headers::{broken_icc, open as open_jpeg, Opened as OpenedJpeg};
mod jpeg_full;
mod jpeg_layout;
pub(crate) use jpeg_layout::{jpeg_decoder_rgba, luma_is_coarser};
mod output;
mod png_colour;
mod png_iccp;
mod png_large;
mod png_rows;
mod probe;
mod quantize;
mod still;
pub(crate) mod stoppable;
pub(crate) use still::{decode_bytes_noting, into_rgba8, jpeg_has_end, jpeg_has_too_many_scans};
pub use stoppable::abandoned_running as abandoned_encodes_running;
pub(crate) mod reduced_jpeg;
mod webp;
mod webp_anim;
pub use anim::{
    decode_animation, decode_animation_file, probe_animation, Animation, AnimationInfo, Delay,
    Frame, Loop,
};
pub(crate) use anim::{decode_animation_halting, decode_frame_halting, probe_for_one_frame, Halt};
pub use anim_out::{encode_animation, AnimationFormat};
pub(crate) use output::encode_stoppable;
#[cfg(test)]
pub(crate) use output::flatten_over_white;
pub(crate) use output::{
    check_output_dir, flatten_pixels_over_white, webp_fits, write_atomic, PendingFile,
};
pub use output::{encode, encode_avif_at_speed, output_target, save, save_as, OutputFormat};
pub use probe::probe_file;
pub(crate) use probe::{probe_bytes, probe_header, Probed};

/// Why a file could not be decoded (the renderer adds layer and field).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub String);

/// A decoder's error as text, with the debug dumps some print spelt
/// plainly: the `png` crate names a chunk as `ChunkType { type: IDAT,
/// critical: true, ... }`, here `IDAT`; and without `image`'s "Format error
/// decoding Png: " (the caller names the format).
pub(crate) fn readable(error: impl std::fmt::Display) -> String {
    const DUMP: &str = "ChunkType { type: ";
    let mut message = error.to_string();
    if let Some(rest) = message.strip_prefix("Format error decoding ") {
        if let Some((_, reason)) = rest.split_once(": ") {
            message = reason.to_owned();
        }
    }
    if !message.contains(DUMP) {
        return message;
    }
    let mut out = String::with_capacity(message.len());
    let mut rest = message.as_str();
    while let Some(at) = rest.find(DUMP) {
        out.push_str(&rest[..at]);
        let after = &rest[at + DUMP.len()..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[at..]);
            rest = "";
            break;
        };
        let name = after.split([',', ' ', '}']).next().unwrap_or_default();
        out.push_str(name);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    crc_in_words(&out).unwrap_or(out)
}

/// The png crate's checksum error (`CRC error: expected 0x0 have
/// 0x1ef06c9d while decoding IDAT chunk.`, where "expected" is the value the
/// file holds and "have" the one its data gives) said the right way round.
fn crc_in_words(message: &str) -> Option<String> {
    let (before, rest) = message.split_once("CRC error: expected 0x")?;
    let (stored, rest) = rest.split_once(" have 0x")?;
    let (computed, rest) = rest.split_once(" while decoding ")?;
    let (chunk, after) = rest.split_once(" chunk.")?;
    let hex = |h: &str| u32::from_str_radix(h, 16).ok();
    let (stored, computed) = (hex(stored)?, hex(computed)?);
    Some(format!(
        "{before}the {chunk} chunk's checksum (CRC) does not match its data: the file says 0x{stored:08x}, the data gives 0x{computed:08x}{after}"
    ))
}

/// Reads and decodes an image file, refusing images of more than
/// `max_pixels` pixels before decoding them.
pub fn decode_file(path: impl AsRef<Path>, max_pixels: u64) -> Result<RgbaImage, DecodeError> {
    let (_, bytes) = read_image_file(path.as_ref(), u64::MAX)?;
    decode_bytes(&bytes, max_pixels)
}

/// Reads an image file whole, after sniffing its format from the first
/// bytes: a large file that is no image costs nothing. At most `max_bytes`
/// are read: the caller checks the file's size before, and a file that
/// grew since (or whose size the system does not know) is refused rather
/// than read past the limit.
pub(crate) fn read_image_file(
    path: &Path,
    max_bytes: u64,
) -> Result<(image::ImageFormat, Vec<u8>), DecodeError> {
    let read_err = |e: std::io::Error| DecodeError(format!("cannot read: {e}"));
    let mut head = [0u8; 32];
    let mut file = std::fs::File::open(path).map_err(read_err)?;
    let n = read_up_to(&mut file, &mut head).map_err(read_err)?;
    let format = image::guess_format(&head[..n]).map_err(|_| not_an_image(&head[..n]))?;
    // Room for the whole file at once (and the byte past it that ends
    // the read): grown by doubling, the buffer reached twice the file's
    // size, which the decode's memory estimate counts once.
    let len = file.metadata().map_or(0, |m| m.len()).min(max_bytes);
    let mut bytes = Vec::with_capacity(usize::try_from(len).map_or(0, |l| l.saturating_add(1)));
    bytes.extend_from_slice(&head[..n]);
    // One byte past the limit tells a file over it from one at it.
    let rest = max_bytes.saturating_sub(n as u64).saturating_add(1);
    file.take(rest).read_to_end(&mut bytes).map_err(read_err)?;
    if bytes.len() as u64 > max_bytes {
        return Err(DecodeError(format!(
            "the file is over the limit of {max_bytes} bytes (it grew after its size was checked)"
        )));
    }
    Ok((format, bytes))
}

/// What the first bytes of a file (`head`, of `format`) already refuse,
/// in words of its own rather than a decoder's: a format impasto does not
/// read (AVIF, BMP, TIFF...: `image` said "not a valid AVIF file: the image
/// format Avif is not supported"), a PNG whose header is over `max_pixels`
/// (the `png` decoder said "Memory limit exceeded" for a 2147483647x1
/// one), and a JPEG coding no decoder here has (arithmetic, lossless,
/// hierarchical: "Number of components cannot be zero").
pub(crate) fn check_head(
    head: &[u8],
    format: image::ImageFormat,
    max_pixels: u64,
) -> Result<(), DecodeError> {
    use image::ImageFormat as F;
    match format {
        F::Png => {
            if let (Some(b"IHDR"), Some(size)) = (head.get(12..16), head.get(16..24)) {
                let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
                check_size((be(&size[..4]), be(&size[4..])), max_pixels)?;
            }
            Ok(())
        }
        F::Jpeg => match jpeg_headers::unsupported_coding(head) {
            Some(what) => Err(DecodeError(format!(
                "{what} JPEG files are not read (baseline and progressive Huffman-coded ones are)"
            ))),
            None => Ok(()),
        },
        F::WebP | F::Gif => Ok(()),
        other => Err(DecodeError(format!(
            "{} files are not read: impasto reads PNG, JPEG, WebP and GIF",
            format!("{other:?}").to_uppercase()
        ))),
    }
}

/// Refuses a decoder's `(w, h)` over `max_pixels` or without pixels, as
/// every still decode and header probe says it.
pub(crate) fn check_size((w, h): (u32, u32), max_pixels: u64) -> Result<(), DecodeError> {
    let pixels = u64::from(w) * u64::from(h);
    if pixels > max_pixels {
        return Err(DecodeError(format!(
            "decoded image would be {w}x{h} = {pixels} pixels, over the limit of {max_pixels} pixels (max_image_pixels)"
        )));
    }
    if w == 0 || h == 0 {
        return Err(DecodeError(format!("image has no pixels ({w}x{h})")));
    }
    Ok(())
}

/// `(width, height)` as shown once `orientation` is applied: a quarter
/// turn swaps them.
pub(crate) fn oriented_size(
    (w, h): (u32, u32),
    orientation: image::metadata::Orientation,
) -> (u32, u32) {
    use image::metadata::Orientation::*;
    match orientation {
        Rotate90 | Rotate270 | Rotate90FlipH | Rotate270FlipH => (h, w),
        NoTransforms | Rotate180 | FlipHorizontal | FlipVertical => (w, h),
    }
}

/// Bytes whose format is not known from their start (`bytes`, or their
/// first few): no image, or none at all (a failed upload or download
/// leaves a file of 0 bytes, which had the message of a text file).
pub(crate) fn not_an_image(bytes: &[u8]) -> DecodeError {
    if bytes.is_empty() {
        return DecodeError("empty (0 bytes): there is no image in it".into());
    }
    DecodeError("not an image impasto can decode (expected PNG, JPEG, WebP or GIF)".into())
}

/// Reads until `buf` is full or the file ends; the bytes read.
pub(crate) fn read_up_to(file: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Decodes an encoded image held in memory (PNG, JPEG, WebP or GIF), EXIF
/// orientation applied, to straight 8-bit RGBA in sRGB (an embedded ICC
/// profile, or a PNG's `cICP` or `gAMA`/`cHRM`, is applied; without one the
/// file is taken to be sRGB; CMYK JPEGs are converted through their
/// profile). An animation gives its first frame ([`decode_animation`] gives
/// them all).
///
/// A profile that cannot be applied is logged (`log::warn!`) and the pixels
/// taken as sRGB; a render reports it as a
/// [`crate::Warning::ColourProfileIgnored`] instead.
pub fn decode_bytes(bytes: &[u8], max_pixels: u64) -> Result<RgbaImage, DecodeError> {
    let (img, notes) = decode_bytes_noting(bytes, max_pixels)?;
    notes.log();
    Ok(img)
}

/// Writes `bytes` (an encoded image, say) to `path` as impasto writes its
/// own outputs: through a temporary file in the same folder renamed into
/// place, so that the whole file appears or none does, a link at `path`
/// followed (the file it points to is replaced), and the temporary file
/// deleted by [`crate::interrupt::remove_temp_files`] if the program is
/// stopped meanwhile.
pub fn write_file(path: impl AsRef<Path>, bytes: &[u8]) -> Result<(), crate::Error> {
    write_atomic(path.as_ref(), bytes)
}

/// Logs why a colour profile was ignored, if one was.
pub(crate) fn log_colour_note(note: Option<&str>) {
    if let Some(why) = note {
        log::warn!("colour profile ignored{}: {why}", taken_as(why));
    }
}

/// What a decode that succeeded has to say about its file. A render turns
/// each into a [`crate::Warning`] naming the layer and the file; the entry
/// points that name no file log them ([`Notes::log`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Notes {
    /// Why the file's colour profile was ignored, if it was.
    pub colour: Option<std::sync::Arc<str>>,
    /// How the file is cut short, where frames it was to show were lost
    /// (a GIF's: the whole frames before the cut are shown).
    pub cut: Option<std::sync::Arc<str>>,
}

impl Notes {
    /// Notes of a colour profile ignored, if one was.
    pub(crate) fn colour(note: Option<String>) -> Notes {
        Notes {
            colour: note.map(Into::into),
            cut: None,
        }
    }

    /// The warnings of these notes, about layer `layer` drawing `src`.
    pub(crate) fn warnings(&self, layer: usize, src: &str) -> Vec<crate::Warning> {
        let colour = self
            .colour
            .iter()
            .map(|reason| crate::Warning::ColourProfileIgnored {
                layer,
                src: src.to_string(),
                reason: reason.to_string(),
            });
        let cut = self.cut.iter().map(|reason| crate::Warning::FileCutShort {
            layer,
            src: src.to_string(),
            reason: reason.to_string(),
        });
        colour.chain(cut).collect()
    }

    /// Logs each note (`log::warn!`).
    pub(crate) fn log(&self) {
        log_colour_note(self.colour.as_deref());
        if let Some(cut) = &self.cut {
            log::warn!("{cut}");
        }
    }
}

/// What the colours were taken as, after "colour profile ignored", for a
/// note `why`: sRGB, unless the note says another profile applied.
pub(crate) fn taken_as(why: &str) -> &'static str {
    if why.ends_with(png_colour::APPLIED_INSTEAD) {
        ""
    } else {
        ", colours taken as sRGB"
    }
}

/// Joins two reasons a colour profile was ignored.
pub(crate) fn join_notes(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(format!("{a}; {b}")),
        (a, b) => a.or(b),
    }
}

/// For tests: sets byte `at` of the data of the PNG chunk whose type
/// starts at `type_at` in `png` to `value`, and the chunk's CRC to match.
#[cfg(test)]
pub(crate) fn set_png_chunk_byte(png: &mut [u8], type_at: usize, at: usize, value: u8) {
    let len = u32::from_be_bytes([
        png[type_at - 4],
        png[type_at - 3],
        png[type_at - 2],
        png[type_at - 1],
    ]) as usize;
    png[type_at + 4 + at] = value;
    let end = type_at + 4 + len;
    // PNG's CRC-32 over the type and the data, bit by bit (a few bytes).
    let mut c = !0u32;
    for &b in &png[type_at..end] {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    png[end..end + 4].copy_from_slice(&(!c).to_be_bytes());
}

/// For tests: a deterministic xorshift32 sequence from `seed` (non-zero),
/// to mutate files reproducibly.
#[cfg(test)]
pub(crate) fn xorshift32(seed: u32) -> impl FnMut() -> u32 {
    let mut state = seed;
    move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_refused_before_a_decoder_say_why_in_their_own_words() {
        let err = |bytes: &[u8]| {
            let format = image::guess_format(bytes).unwrap();
            check_head(bytes, format, 1 << 20).unwrap_err().0
        };
        let avif = b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf";
        assert_eq!(
            err(avif),
            "AVIF files are not read: impasto reads PNG, JPEG, WebP and GIF"
        );
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend(0x7FFF_FFFFu32.to_be_bytes());
        png.extend(1u32.to_be_bytes());
        assert!(err(&png).contains("over the limit of 1048576 pixels (max_image_pixels)"));
        // A JPEG: an APP0 segment, then an arithmetic-coded frame (SOF9).
        let jpeg = [
            0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0, 0xFF, 0xC9, 0, 11, 8, 0, 8, 0, 8, 1, 1, 0x11, 0,
        ];
        assert_eq!(
            err(&jpeg),
            "arithmetic-coded (SOF9-10) JPEG files are not read (baseline and progressive Huffman-coded ones are)"
        );
        let mut baseline = jpeg;
        baseline[9] = 0xC2;
        assert!(check_head(&baseline, image::ImageFormat::Jpeg, 1 << 20).is_ok());
    }

    #[test]
    fn a_png_chunk_is_named_plainly_in_an_error() {
        let e = readable(
            "truncated or corrupt PNG file: CRC error: expected 0x4d2 have 0x7376f70d while decoding ChunkType { type: IDAT, critical: true, private: false, reserved: false, safecopy: false } chunk.",
        );
        assert_eq!(
            e,
            "truncated or corrupt PNG file: the IDAT chunk's checksum (CRC) does not match its data: the file says 0x000004d2, the data gives 0x7376f70d"
        );
        assert_eq!(
            readable("ChunkType { type: unclosed"),
            "ChunkType { type: unclosed"
        );
    }

    #[test]
    fn an_image_file_is_read_up_to_the_byte_limit_and_refused_past_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jpg");
        let bytes = jpeg(false);
        std::fs::write(&path, &bytes).unwrap();
        let len = bytes.len() as u64;
        let (format, read) = read_image_file(&path, len).unwrap();
        assert_eq!((format, read), (image::ImageFormat::Jpeg, bytes));
        for max in [len - 1, 10] {
            let e = read_image_file(&path, max).unwrap_err().0;
            assert!(e.contains(&format!("over the limit of {max} bytes")), "{e}");
        }
    }

    fn jpeg(progressive: bool) -> Vec<u8> {
        let rgb: Vec<u8> = (0..64 * 48 * 3).map(|i| (i * 7 % 251) as u8).collect();
        let mut out = Vec::new();
        let mut enc = jpeg_encoder::Encoder::new(&mut out, 90);
        enc.set_progressive(progressive);
        enc.encode(&rgb, 64, 48, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        out
    }

    #[test]
    fn truncated_jpegs_are_refused_baseline_and_progressive() {
        for progressive in [false, true] {
            let whole = jpeg(progressive);
            assert!(decode_bytes(&whole, 1 << 20).is_ok());
            let mut trailing = whole.clone();
            trailing.extend_from_slice(b"trailing bytes some cameras write");
            assert!(decode_bytes(&trailing, 1 << 20).is_ok());
            for cut in [whole.len() - 2, whole.len() * 2 / 3, whole.len() / 3] {
                let e = decode_bytes(&whole[..cut], 1 << 20).unwrap_err();
                assert!(
                    e.0.contains("truncated"),
                    "progressive={progressive} cut={cut}: {e}"
                );
            }
        }
    }

    /// The rule `jpeg_has_end` answers, searched the slow way.
    fn has_end_after_last_scan(bytes: &[u8]) -> bool {
        let at = |m: u8| {
            (0..bytes.len().saturating_sub(1))
                .filter(move |&i| bytes[i] == 0xFF && bytes[i + 1] == m)
        };
        match at(0xDA).next_back() {
            Some(scan) => at(0xD9).any(|i| i > scan),
            None => false,
        }
    }

    #[test]
    fn the_end_marker_search_from_both_ends_agrees_with_the_rule() {
        let mut cases: Vec<Vec<u8>> = vec![
            vec![],
            vec![0xFF, 0xD9],
            vec![0xFF, 0xDA, 0xFF, 0xD9],
            vec![0xFF, 0xD9, 0xFF, 0xDA],
            vec![0xFF, 0xDA, 0xFF, 0xD9, 0xFF, 0xDA, 1, 2],
            vec![0xFF, 0xDA, 0xFF, 0xD9, 0xFF, 0xDA, 0xFF, 0xD9, 9],
            vec![0xFF, 0xFF, 0xDA, 0xFF, 0xFF, 0xD9],
        ];
        for progressive in [false, true] {
            let whole = jpeg(progressive);
            // Every prefix: truncated in the headers, the scans, the end.
            cases.extend((0..=whole.len()).map(|n| whole[..n].to_vec()));
            let mut trailing = whole.clone();
            trailing.extend_from_slice(&[0xFF, 0xDA, 0, 0xFF, 0xD9, 0xFF]);
            cases.push(trailing);
        }
        for bytes in &cases {
            assert_eq!(
                jpeg_has_end(bytes),
                has_end_after_last_scan(bytes),
                "{bytes:x?}"
            );
        }
    }

    fn sample() -> RgbaImage {
        RgbaImage::from_fn(7, 5, |x, y| {
            image::Rgba([x as u8 * 30, y as u8 * 50, 200, (x * 40) as u8])
        })
    }

    #[cfg(unix)]
    #[test]
    fn written_files_get_the_permissions_of_a_created_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let made = dir.path().join("made.png");
        std::fs::File::create(&made).unwrap();
        let written = dir.path().join("written.png");
        write_atomic(&written, b"x").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&written), mode(&made));
    }

    #[cfg(unix)]
    #[test]
    fn a_file_replaced_keeps_its_permissions_and_a_read_only_one_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let private = dir.path().join("private.png");
        std::fs::write(&private, b"old").unwrap();
        // Both bits a umask removes (0664 under 022) and bits it keeps.
        for mode in [0o600, 0o664, 0o666] {
            std::fs::set_permissions(&private, std::fs::Permissions::from_mode(mode)).unwrap();
            write_atomic(&private, b"new").unwrap();
            let meta = std::fs::metadata(&private).unwrap();
            assert_eq!(meta.permissions().mode() & 0o777, mode);
            assert_eq!(std::fs::read(&private).unwrap(), b"new");
        }
        // The set-user-ID bit is not carried onto new content.
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o4755)).unwrap();
        write_atomic(&private, b"new").unwrap();
        let mode = std::fs::metadata(&private).unwrap().permissions().mode();
        assert_eq!(mode & 0o7777, 0o755);
        let locked = dir.path().join("locked.png");
        std::fs::write(&locked, b"old").unwrap();
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o444)).unwrap();
        let err = write_atomic(&locked, b"new").unwrap_err().to_string();
        assert!(err.contains("read-only"), "{err}");
        assert_eq!(std::fs::read(&locked).unwrap(), b"old");
    }

    #[cfg(unix)]
    #[test]
    fn a_pipe_or_socket_output_is_refused_and_left_as_it_is() {
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap();
        let pipe = dir.path().join("pipe.png");
        let made = std::process::Command::new("mkfifo").arg(&pipe).status();
        assert!(made.unwrap().success(), "mkfifo");
        let socket = dir.path().join("socket.png");
        let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        for path in [&pipe, &socket] {
            for err in [
                check_output_dir(path).unwrap_err(),
                write_atomic(path, b"x").unwrap_err(),
            ] {
                assert!(err.to_string().contains("is not a regular file"), "{err}");
                assert!(err.is_bad_input());
            }
        }
        let kind = |p: &Path| std::fs::symlink_metadata(p).unwrap().file_type();
        assert!(kind(&pipe).is_fifo() && kind(&socket).is_socket());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            2,
            "no temporary file"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_symbolic_link_is_followed_and_the_file_it_names_replaced() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("real")).unwrap();
        let target = dir.path().join("real/poster.png");
        std::fs::write(&target, b"old").unwrap();
        let link = dir.path().join("link.png");
        std::os::unix::fs::symlink("real/poster.png", &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        // A loop is refused, and left as it is.
        std::os::unix::fs::symlink("loop2.png", dir.path().join("loop1.png")).unwrap();
        std::os::unix::fs::symlink("loop1.png", dir.path().join("loop2.png")).unwrap();
        let err = write_atomic(&dir.path().join("loop1.png"), b"x").unwrap_err();
        assert!(err.to_string().contains("too many levels"), "{err}");
        assert!(std::fs::symlink_metadata(dir.path().join("loop1.png"))
            .unwrap()
            .file_type()
            .is_symlink());
        // A link to a file not there yet: the file is made where it points.
        let dangling = dir.path().join("later.png");
        std::os::unix::fs::symlink("real/later.png", &dangling).unwrap();
        write_atomic(&dangling, b"made").unwrap();
        assert_eq!(
            std::fs::read(dir.path().join("real/later.png")).unwrap(),
            b"made"
        );
        // No temporary file is left in either folder.
        for folder in [dir.path().to_path_buf(), dir.path().join("real")] {
            for entry in std::fs::read_dir(folder).unwrap() {
                let name = entry.unwrap().file_name();
                assert!(!name.to_string_lossy().ends_with(".tmp"), "{name:?}");
            }
        }
    }

    #[test]
    fn png_round_trips_exactly() {
        let img = sample();
        let bytes = encode(&img, OutputFormat::Png).unwrap();
        let back = decode_bytes(&bytes, 1000).unwrap();
        assert_eq!(back, img);
    }

    #[test]
    fn lossless_webp_round_trips_exactly() {
        let img = sample();
        let bytes = encode(&img, OutputFormat::WebPLossless).unwrap();
        let back = decode_bytes(&bytes, 1000).unwrap();
        // Lossless WebP may drop the colour of fully transparent pixels.
        for (a, b) in back.pixels().zip(img.pixels()) {
            if b[3] > 0 {
                assert_eq!(a, b);
            }
        }
    }

    #[test]
    fn flattening_matches_the_rounded_formula_for_every_value() {
        for a in 0..=255u32 {
            for c in [0u32, 1, 37, 128, 200, 254, 255] {
                let img = RgbaImage::from_pixel(1, 1, image::Rgba([c as u8, 0, 255, a as u8]));
                let want = (c * a + 255 * (255 - a) + 127) / 255;
                assert_eq!(flatten_over_white(&img)[0] as u32, want, "c={c} a={a}");
            }
        }
    }

    #[test]
    fn jpeg_is_flattened_over_white() {
        let img = RgbaImage::from_pixel(16, 16, image::Rgba([0, 0, 0, 0]));
        let bytes = encode(&img, OutputFormat::Jpeg { quality: 90 }).unwrap();
        let back = decode_bytes(&bytes, 1000).unwrap();
        assert!(back
            .pixels()
            .all(|p| p[0] > 250 && p[1] > 250 && p[2] > 250));
        assert_eq!(
            flatten_over_white(&RgbaImage::from_pixel(
                1,
                1,
                image::Rgba([0, 100, 200, 128])
            )),
            vec![127, 177, 227]
        );
    }

    #[test]
    fn pixel_limit_is_checked_before_decoding() {
        let img = RgbaImage::new(100, 100);
        let bytes = encode(&img, OutputFormat::Png).unwrap();
        let e = decode_bytes(&bytes, 9999).unwrap_err();
        assert!(e.0.contains("over the limit of 9999 pixels"), "{}", e.0);
    }

    #[test]
    fn garbage_and_truncation_are_errors() {
        assert!(decode_bytes(b"hello world, not an image", 1000)
            .unwrap_err()
            .0
            .contains("not an image"));
        let bytes = encode(&sample(), OutputFormat::Png).unwrap();
        let e = decode_bytes(&bytes[..bytes.len() / 2], 1000).unwrap_err();
        assert!(e.0.contains("PNG"), "{}", e.0);
    }

    #[test]
    fn unknown_extension_is_refused() {
        assert!(OutputFormat::from_path(Path::new("a.bmp"), 90).is_err());
        assert_eq!(
            OutputFormat::from_path(Path::new("a.gif"), 90).unwrap(),
            OutputFormat::Gif
        );
        assert_eq!(
            OutputFormat::from_path(Path::new("a.JPG"), 80).unwrap(),
            OutputFormat::Jpeg { quality: 80 }
        );
    }

    #[test]
    fn webp_is_lossy_at_the_quality_unless_lossless_is_asked_for() {
        let webp = Path::new("a.WebP");
        assert_eq!(
            OutputFormat::from_path(webp, 70).unwrap(),
            OutputFormat::WebP { quality: 70 }
        );
        assert_eq!(
            OutputFormat::from_path_lossless(webp).unwrap(),
            OutputFormat::WebPLossless
        );
        assert_eq!(
            OutputFormat::from_path_lossless(Path::new("a.png")).unwrap(),
            OutputFormat::Png
        );
        let e = OutputFormat::from_path_lossless(Path::new("a.jpg")).unwrap_err();
        assert!(e.to_string().contains("cannot be lossless"), "{e}");
    }
}
