//! WebP encoding: lossy through libwebp (the `webp` crate, libwebp built
//! from source with the C compiler), lossless through the pure-Rust
//! `image-webp`.
//!
//! Both take straight (un-premultiplied) 8-bit RGBA, as the PNG encoder
//! does: the renderer converts its premultiplied result to straight alpha
//! before any encoder sees it. Lossy WebP keeps the alpha channel, stored
//! losslessly beside the lossy colour (libwebp's `ALPH` chunk); colour under
//! fully transparent pixels may change (it is invisible), and an opaque
//! image gets no alpha chunk at all.
//!
//! Decoding goes through `image-webp` (via `image`); [`side_misread`] finds
//! the one size it misreads, so the error says so.

use image::RgbaImage;

/// WebP's largest width and height.
pub(crate) const MAX_SIDE: u32 = 16383;

/// Why a WebP could not be written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WebPError {
    /// The image is larger than the format allows.
    #[error("{width}x{height} is larger than WebP's {MAX_SIDE}x{MAX_SIDE}")]
    TooLarge {
        /// The image's width.
        width: u32,
        /// The image's height.
        height: u32,
    },
    /// libwebp refused its own default configuration (a header and
    /// library version mismatch).
    #[error("libwebp refused its default configuration")]
    Config,
    /// libwebp refused the image or its settings.
    #[error("libwebp: {0:?}")]
    Lossy(webp::WebPEncodingError),
    /// The lossless encoder failed.
    #[error("{0}")]
    Lossless(#[from] image::ImageError),
}

fn check_size(img: &RgbaImage) -> Result<(), WebPError> {
    let (width, height) = img.dimensions();
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(WebPError::TooLarge { width, height });
    }
    Ok(())
}

/// Lossy WebP at `quality` (1..=100, libwebp's scale: 75 is its default),
/// alpha kept.
pub(crate) fn encode_lossy(img: &RgbaImage, quality: u8) -> Result<Vec<u8>, WebPError> {
    check_size(img)?;
    let mut config = webp::WebPConfig::new().map_err(|()| WebPError::Config)?;
    config.lossless = 0;
    config.quality = f32::from(quality.clamp(1, 100));
    // Effort (0..=6, libwebp's default 4), chosen by measurement
    // (BENCHMARKS.md): on an opaque 400x600 photo, 2 takes half the time of
    // 4 for 1% more bytes. With translucent pixels every effort above 0 was
    // 5-10x slower (3.5 s instead of 0.36 s on the 2048x2048 benchmark
    // composite, for 3% fewer bytes; probably the alpha plane, which libwebp
    // compresses losslessly at the same effort).
    config.method = if img.pixels().all(|p| p[3] == 255) {
        2
    } else {
        0
    };
    // A second thread works on analysis and alpha; the bytes written do not
    // depend on it.
    config.thread_level = 1;
    config.alpha_compression = 1;
    let (w, h) = img.dimensions();
    let bytes = webp::Encoder::from_rgba(img.as_raw(), w, h)
        .encode_advanced(&config)
        .map_err(WebPError::Lossy)?;
    Ok(bytes.to_vec())
}

/// Lossless WebP: every visible pixel exact.
pub(crate) fn encode_lossless(img: &RgbaImage) -> Result<Vec<u8>, WebPError> {
    check_size(img)?;
    let mut out = Vec::new();
    let (w, h) = img.dimensions();
    image::codecs::webp::WebPEncoder::new_lossless(&mut out).encode(
        img.as_raw(),
        w,
        h,
        image::ExtendedColorType::Rgba8,
    )?;
    Ok(out)
}

/// A chunk of a RIFF WebP file: where its header is, its fourcc, the
/// length it declares, and its data (cut at the end of the bytes).
pub(super) struct Chunk<'a> {
    pub at: usize,
    pub fourcc: &'a [u8],
    pub len: usize,
    pub data: &'a [u8],
}

/// The chunks of the RIFF WebP `bytes`, from offset 12 (each a fourcc, a
/// little-endian length, and data padded to an even length), until the
/// bytes end; none when they are not a RIFF WebP file. Every walk of a
/// WebP's chunks here is this one.
pub(super) fn chunks(bytes: &[u8]) -> impl Iterator<Item = Chunk<'_>> {
    let webp = bytes.get(..4) == Some(b"RIFF") && bytes.get(8..12) == Some(b"WEBP");
    let mut at = Some(12usize).filter(|_| webp);
    // Within the RIFF's own size: bytes after it (a page appended to a
    // download, padding) are no chunks, as libwebp and Pillow read them.
    let riff = bytes
        .get(4..8)
        .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let end = bytes.len().min((riff as usize).saturating_add(8));
    std::iter::from_fn(move || {
        let here = at?;
        let head = bytes.get(here..here.checked_add(8)?.min(end).max(here))?;
        if head.len() < 8 {
            return None;
        }
        let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
        let start = here + 8;
        let data = &bytes[start..bytes.len().min(start.saturating_add(len))];
        at = start.checked_add(len).and_then(|e| e.checked_add(len & 1));
        Some(Chunk {
            at: here,
            fourcc: &head[..4],
            len,
            data,
        })
    })
}

/// A lossless WebP's size as its `VP8L` chunk's header gives it, when a
/// side is 16384 pixels: the bitstream allows that, but `image-webp`
/// 0.2.4 (the decoder) reads it as 0 (it adds one to the 14-bit field
/// before masking; fixed upstream in image-webp#179, not yet released).
/// `None` for every other file.
pub(crate) fn side_misread(bytes: &[u8]) -> Option<(u32, u32)> {
    let vp8l = chunks(bytes).find(|c| c.fourcc == b"VP8L")?;
    // Signature 0x2f, then (width - 1) and (height - 1) in 14 bits each.
    let data = vp8l.data.get(..5)?;
    if data[0] != 0x2f {
        return None;
    }
    let bits = u32::from_le_bytes(data[1..5].try_into().ok()?);
    let (w, h) = ((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1);
    (w == 16384 || h == 16384).then_some((w, h))
}

/// Refuses a WebP file one of whose chunks declares more bytes than the
/// file holds after it: `image-webp` allocates a metadata chunk (EXIF, XMP)
/// at its declared length before reading it, so a file of a few hundred
/// bytes declaring a 1.8 GB EXIF chunk took 1.8 GiB (a reviewer's, found
/// by a one-byte change). A truncated file is refused here too, with the
/// chunk named. Files that are not RIFF WebP pass (their decoder decides).
pub(crate) fn check_chunks(bytes: &[u8]) -> Result<(), super::DecodeError> {
    let Some(size) = bytes.get(4..8) else {
        return Ok(());
    };
    // Chunks within the RIFF's own size (bytes after it are not read).
    let riff = u32::from_le_bytes([size[0], size[1], size[2], size[3]]) as usize;
    let end = bytes.len().min(riff.saturating_add(8));
    // Cut short between two chunks (an animation's frames): libwebp
    // refuses it, and its frames past the cut are lost.
    if bytes.starts_with(b"RIFF") && riff.saturating_add(8) > bytes.len() {
        let last = chunks(bytes).take_while(|c| c.at + 8 <= end).last();
        if last.is_none_or(|c| c.data.len() >= c.len) {
            return Err(super::DecodeError(format!(
                "truncated or corrupt WEBP file: its \"RIFF\" chunk declares {riff} bytes, and {} follow it in the file",
                bytes.len() - 8
            )));
        }
    }
    for chunk in chunks(bytes).take_while(|c| c.at + 8 <= end) {
        if chunk.data.len() < chunk.len {
            let name = String::from_utf8_lossy(chunk.fourcc).trim_end().to_string();
            return Err(super::DecodeError(format!(
                "truncated or corrupt WEBP file: its {name:?} chunk declares {} bytes, and {} follow it in the file",
                chunk.len,
                chunk.data.len()
            )));
        }
    }
    Ok(())
}

/// The error for a lossless WebP [`side_misread`] found, of `w` x `h`.
pub(crate) fn misread_error((w, h): (u32, u32)) -> super::DecodeError {
    super::DecodeError(format!(
        "lossless WebP of {w}x{h}: the WebP decoder (image-webp 0.2.4) cannot read a side of 16384 pixels; sides up to 16383 are decoded"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunk_declaring_more_than_the_file_holds_is_refused_before_decoding() {
        let img = gradient(64, 48);
        let good = encode_lossy(&img, 80).unwrap();
        assert!(check_chunks(&good).is_ok());
        // An EXIF chunk declaring 0x70000000 bytes, 8 given.
        let mut bomb = good.clone();
        bomb.extend(b"EXIF");
        bomb.extend(0x7000_0000u32.to_le_bytes());
        bomb.extend([0u8; 8]);
        let riff = (bomb.len() - 8) as u32;
        bomb[4..8].copy_from_slice(&riff.to_le_bytes());
        let e = check_chunks(&bomb).unwrap_err();
        assert!(
            e.0.contains("\"EXIF\" chunk declares 1879048192 bytes, and 8 follow"),
            "{}",
            e.0
        );
        // Bytes after the RIFF (a page appended to a download) are no
        // chunks: an animation with them was refused ("a chunk runs past
        // the end").
        let mut tail = good.clone();
        tail.extend(b"<html>this file was cut</html>\n");
        assert!(check_chunks(&tail).is_ok());
        assert_eq!(chunks(&tail).count(), chunks(&good).count());
        // Cut between two chunks: the RIFF chunk is named.
        let e = check_chunks(&bomb[..good.len()]).unwrap_err();
        let want = format!(
            "\"RIFF\" chunk declares {} bytes, and {} follow",
            bomb.len() - 8,
            good.len() - 8
        );
        assert!(e.0.contains(&want), "{}", e.0);
        // Cut short: the image chunk is named.
        let e = check_chunks(&good[..good.len() - 10]).unwrap_err();
        assert!(e.0.contains("\"VP8\" chunk"), "{}", e.0);
        assert!(check_chunks(b"not a webp").is_ok());
        // Bytes after the RIFF's size are not chunks.
        let mut trailing = good.clone();
        trailing.extend(b"junk\xff\xff\xff\x7f");
        assert!(check_chunks(&trailing).is_ok());
    }
    use crate::codec::decode_bytes;

    /// Smooth colour gradients, alpha from 0 on the left to 255 on the right.
    fn gradient(width: u32, height: u32) -> RgbaImage {
        RgbaImage::from_fn(width, height, |x, y| {
            image::Rgba([
                (x * 255 / width) as u8,
                (y * 255 / height) as u8,
                ((x + y) * 2 % 256) as u8,
                (x * 255 / (width - 1)) as u8,
            ])
        })
    }

    fn noise(width: u32, height: u32) -> RgbaImage {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        RgbaImage::from_fn(width, height, |_, _| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let [r, g, b, ..] = state.to_le_bytes();
            image::Rgba([r, g, b, 255])
        })
    }

    #[test]
    fn lossy_webp_keeps_alpha_exactly_and_colour_within_tolerance() {
        let img = gradient(96, 64);
        let bytes = encode_lossy(&img, 90).unwrap();
        assert_eq!(&bytes[12..16], b"VP8X", "extended format, for the alpha");
        let back = decode_bytes(&bytes, 1 << 20).unwrap();
        assert_eq!(back.dimensions(), img.dimensions());
        let (mut sum, mut count) = (0u64, 0u64);
        for (a, b) in back.pixels().zip(img.pixels()) {
            assert_eq!(a[3], b[3], "alpha is stored losslessly");
            if b[3] >= 128 {
                sum += (0..3).map(|c| a[c].abs_diff(b[c]) as u64).sum::<u64>();
                count += 3;
            }
        }
        let mean = sum as f64 / count as f64;
        // Stated tolerance: at q90 a smooth image is off by under 2.5 levels
        // on average where it is at least half opaque.
        assert!(mean < 2.5, "mean colour error {mean}");
    }

    #[test]
    fn opaque_lossy_webp_gets_no_alpha_chunk() {
        let bytes = encode_lossy(&noise(64, 64), 80).unwrap();
        assert!(!bytes.windows(4).any(|w| w == b"ALPH"));
        let back = decode_bytes(&bytes, 1 << 20).unwrap();
        assert!(back.pixels().all(|p| p[3] == 255));
    }

    #[test]
    fn lower_lossy_quality_writes_a_smaller_file() {
        let img = noise(128, 128);
        let low = encode_lossy(&img, 30).unwrap().len();
        let high = encode_lossy(&img, 90).unwrap().len();
        assert!(low * 3 / 2 < high, "q30 {low} bytes, q90 {high} bytes");
    }

    #[test]
    fn lossless_webp_is_smaller_than_raw_and_exact_where_visible() {
        let img = gradient(96, 64);
        let bytes = encode_lossless(&img).unwrap();
        assert!(bytes.len() < img.as_raw().len());
        let back = decode_bytes(&bytes, 1 << 20).unwrap();
        for (a, b) in back.pixels().zip(img.pixels()) {
            if b[3] > 0 {
                assert_eq!(a, b);
            }
        }
    }

    #[test]
    fn a_lossless_side_of_16384_is_found_in_the_header() {
        let small = encode_lossless(&gradient(100, 30)).unwrap();
        assert_eq!(side_misread(&small), None);
        // The same file with its width field set to 16383 (16384 pixels).
        let mut wide = small.clone();
        let at = wide.windows(4).position(|w| w == b"VP8L").unwrap() + 9;
        let bits = u32::from_le_bytes(wide[at..at + 4].try_into().unwrap());
        wide[at..at + 4].copy_from_slice(&(bits | 0x3FFF).to_le_bytes());
        assert_eq!(side_misread(&wide), Some((16384, 30)));
        let err = decode_bytes(&wide, 1 << 30).unwrap_err().to_string();
        assert!(err.contains("16384x30"), "{err}");
        assert!(err.contains("16383"), "{err}");
        for cut in 0..small.len().min(64) {
            let _ = side_misread(&small[..cut]);
        }
    }

    #[test]
    fn images_without_pixels_are_an_error_not_a_panic() {
        for (w, h) in [(0, 10), (10, 0)] {
            assert!(encode_lossy(&RgbaImage::new(w, h), 80).is_err(), "{w}x{h}");
        }
    }

    #[test]
    fn images_wider_than_webp_allows_are_refused_with_their_size() {
        let img = RgbaImage::new(MAX_SIDE + 1, 1);
        for e in [
            encode_lossy(&img, 80).unwrap_err(),
            encode_lossless(&img).unwrap_err(),
        ] {
            assert!(e.to_string().contains("16384x1"), "{e}");
        }
    }
}
