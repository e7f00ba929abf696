//! JPEG layouts that `zune-jpeg` (the full-size decoder) decodes to wrong
//! pixels without an error, or refuses, decoded by `jpeg-decoder` instead,
//! which gets them right:
//!
//! - components in scans of their own (a "non-interleaved" file, which
//!   cjpeg and jpegtran write with a scan script) with chroma subsampled:
//!   stripes and wrong colours (4:2:0 off by 112 levels on average);
//! - a chroma component sampled more finely than the luma (Y 1x1 with
//!   Cb/Cr 2x1 or 2x2): every other row wrong (off by 37 to 49);
//! - a horizontal sampling factor of 3 (`cjpeg -sample 3x1`), which
//!   `zune-jpeg` refuses, in progressive files too.
//!
//! All are legal and rare; measured against Pillow (libjpeg) on files a
//! reviewer wrote, where `jpeg-decoder` is within 4 levels (0.1 to 0.2 on
//! average). Everything else stays with `zune-jpeg`, which is faster.

use image::{DynamicImage, GrayImage, RgbImage, RgbaImage};

use super::{icc, jpeg_headers, DecodeError};

/// What the marker walk found: the frame's components' sampling factors,
/// and how many scans follow the frame header.
#[derive(Debug, PartialEq, Eq)]
struct Layout {
    /// `(h, v)` per component, in frame order.
    factors: Vec<(u8, u8)>,
    scans: usize,
}

/// Whether `zune-jpeg` is known to decode the sequential (baseline or
/// extended) JPEG `bytes` wrongly (see the module's notes).
fn zune_mishandles(bytes: &[u8]) -> bool {
    if zune_refuses_factors(bytes) {
        return true;
    }
    let Some(layout) = layout(bytes) else {
        return false;
    };
    let f = &layout.factors;
    let subsampled = f.windows(2).any(|w| w[0] != w[1]);
    chroma_finer(f) || (subsampled && layout.scans > 1)
}

/// Whether a component of the baseline, extended or progressive JPEG
/// `bytes` has a horizontal sampling factor of 3, which is legal (`cjpeg
/// -sample 3x1`) and decoded by libjpeg and `jpeg-decoder`, but refused by
/// `zune-jpeg` ("Horizontal sample is not a power of two"; a vertical 3 it
/// decodes). Until 2026-11-29 such a file was refused at full size and
/// drawn when shrunk on load to a quarter or less.
fn zune_refuses_factors(bytes: &[u8]) -> bool {
    jpeg_headers::frame(bytes)
        .filter(|f| matches!(f.marker, 0xC0..=0xC2))
        .and_then(|f| f.factors())
        .is_some_and(|f| f.iter().any(|&(h, _)| h == 3))
}

/// Whether a component is sampled more finely than the first (the luma).
fn chroma_finer(f: &[(u8, u8)]) -> bool {
    let (hm, vm) = (
        f.iter().map(|c| c.0).max().unwrap_or(1),
        f.iter().map(|c| c.1).max().unwrap_or(1),
    );
    f.len() > 1 && (f[0].0 != hm || f[0].1 != vm)
}

/// Whether the sequential JPEG `bytes` has chroma sampled more finely than
/// its luma: the scaled decoders then scale by the chroma's grid and leave
/// the luma at half the scale asked for (a blurred picture), so such a
/// file is decoded at full size ([`decode`]) and resampled.
pub(crate) fn luma_is_coarser(bytes: &[u8]) -> bool {
    layout(bytes).is_some_and(|l| chroma_finer(&l.factors))
}

/// The layout of a sequential (SOF0 or SOF1) JPEG: its frame header's
/// factors, and the start-of-scan markers counted after it (in
/// entropy-coded data a 0xFF byte is always followed by 0x00 or a restart
/// marker, so `FF DA` there is a scan's start); `None` for other frames or
/// when the walk fails.
fn layout(bytes: &[u8]) -> Option<Layout> {
    let frame = jpeg_headers::frame(bytes).filter(|f| matches!(f.marker, 0xC0 | 0xC1))?;
    let factors = frame.factors()?;
    let scans = memchr::memmem::find_iter(frame.after()?, &[0xFF, 0xDA]).count();
    Some(Layout { factors, scans })
}

/// The JPEG `bytes` decoded by `jpeg-decoder` at full size when it has a
/// layout `zune-jpeg` gets wrong: RGBA with EXIF orientation and the
/// embedded colour profile applied, and why the profile was ignored if it
/// was. `None` for every other file (and for sizes over `max_pixels`,
/// which the caller refuses with its message).
pub(crate) fn decode(
    bytes: &[u8],
    max_pixels: u64,
) -> Result<Option<(RgbaImage, Option<String>)>, DecodeError> {
    if !zune_mishandles(bytes) || super::jpeg_has_too_many_scans(bytes) {
        return Ok(None);
    }
    let Some(opened) = jpeg_headers::open(bytes, max_pixels) else {
        return Ok(None);
    };
    let Some(gray) = opened.grey() else {
        return Ok(None);
    };
    let (orientation, profile) = (opened.orientation, opened.profile);
    let (decoder, size) = (opened.decoder, opened.size);
    let mut img = DynamicImage::ImageRgba8(jpeg_decoder_rgba(decoder, size, gray)?);
    img.apply_orientation(orientation);
    let mut img = img.into_rgba8();
    let source = if gray {
        icc::Source::Grey
    } else {
        icc::Source::Rgb
    };
    let why = icc::to_srgb(&mut img, profile.as_deref(), source);
    Ok(Some((img, why)))
}

/// The pixels of a grey or RGB JPEG whose headers `decoder` has read (and
/// which may be set to decode at a reduced size: `w` x `h`), as RGBA;
/// `jpeg-decoder`'s messages name what is wrong with a broken file.
pub(crate) fn jpeg_decoder_rgba(
    mut decoder: jpeg_decoder::Decoder<super::halting_input::HaltingReader<'_>>,
    (w, h): (u32, u32),
    gray: bool,
) -> Result<RgbaImage, DecodeError> {
    let channels = if gray { 1 } else { 3 };
    // The caller keeps w x h within its pixel limit, far below usize::MAX / 3.
    decoder.set_max_decoding_buffer_size((w as usize * h as usize * channels).max(1 << 20));
    let data = decoder
        .decode()
        .map_err(|e| DecodeError(format!("truncated or corrupt JPEG file: {e}")))?;
    let img = if gray {
        GrayImage::from_raw(w, h, data).map(DynamicImage::ImageLuma8)
    } else {
        RgbImage::from_raw(w, h, data).map(DynamicImage::ImageRgb8)
    }
    .ok_or_else(|| DecodeError("corrupt JPEG file: fewer pixels than its header says".into()))?;
    Ok(super::into_rgba8(img))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sequential JPEG: the frame header with these factors, `scans`
    /// empty start-of-scan segments after it, then the end.
    fn headers(factors: &[(u8, u8)], scans: usize) -> Vec<u8> {
        let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0];
        let n = factors.len() as u8;
        b.extend([0xFF, 0xC0, 0, 8 + 3 * n, 8, 0, 16, 0, 16, n]);
        for (i, (h, v)) in factors.iter().enumerate() {
            b.extend([i as u8 + 1, h << 4 | v, 0]);
        }
        for _ in 0..scans {
            b.extend([0xFF, 0xDA, 0, 2, 0x12, 0x34, 0xFF, 0x00]);
        }
        b.extend([0xFF, 0xD9]);
        b
    }

    #[test]
    fn only_the_layouts_zune_jpeg_gets_wrong_are_taken() {
        // Interleaved (one scan): zune-jpeg's, whatever the subsampling.
        assert!(!zune_mishandles(&headers(&[(2, 2), (1, 1), (1, 1)], 1)));
        assert!(!zune_mishandles(&headers(&[(2, 1), (1, 1), (1, 1)], 1)));
        // Non-interleaved: without subsampling zune-jpeg's, with it ours.
        assert!(!zune_mishandles(&headers(&[(1, 1), (1, 1), (1, 1)], 3)));
        assert!(zune_mishandles(&headers(&[(2, 2), (1, 1), (1, 1)], 3)));
        assert!(zune_mishandles(&headers(&[(1, 2), (1, 1), (1, 1)], 3)));
        // Chroma finer than luma, interleaved or not.
        assert!(zune_mishandles(&headers(&[(1, 1), (2, 1), (2, 1)], 1)));
        assert!(zune_mishandles(&headers(&[(1, 1), (2, 2), (1, 1)], 1)));
        // A horizontal factor of 3, which zune-jpeg refuses: in any frame
        // jpeg-decoder reads; a vertical 3 zune-jpeg decodes.
        assert!(zune_mishandles(&headers(&[(3, 1), (1, 1), (1, 1)], 1)));
        let mut progressive = headers(&[(3, 1), (1, 1), (1, 1)], 1);
        progressive[9] = 0xC2;
        assert!(zune_mishandles(&progressive));
        assert!(!zune_mishandles(&headers(&[(1, 3), (1, 1), (1, 1)], 1)));
        // Grey, and what is not a sequential JPEG.
        assert!(!zune_mishandles(&headers(&[(1, 1)], 1)));
        let mut progressive = headers(&[(2, 2), (1, 1), (1, 1)], 3);
        progressive[9] = 0xC2;
        assert!(!zune_mishandles(&progressive));
        assert!(!zune_mishandles(b"not a jpeg"));
        assert_eq!(
            layout(&headers(&[(2, 2), (1, 1), (1, 1)], 3)),
            Some(Layout {
                factors: vec![(2, 2), (1, 1), (1, 1)],
                scans: 3
            })
        );
    }

    #[test]
    fn files_zune_jpeg_gets_wrong_decode_as_libjpeg_does() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/jpeg/");
        for name in [
            "noninterleaved-420",
            "chroma-finer-than-luma",
            "sampling-3x1",
            "sampling-3x1-progressive",
        ] {
            let bytes = std::fs::read(format!("{dir}{name}.jpg")).unwrap();
            assert!(zune_mishandles(&bytes), "{name}");
            let (ours, _) = super::super::decode_bytes_noting(&bytes, 1 << 20).unwrap();
            let want = image::open(format!("{dir}{name}.libjpeg.png"))
                .unwrap()
                .to_rgba8();
            let (mut sum, mut worst) = (0u64, 0u8);
            for (a, b) in ours.as_raw().iter().zip(want.as_raw()) {
                sum += u64::from(a.abs_diff(*b));
                worst = worst.max(a.abs_diff(*b));
            }
            let mean = sum as f64 / ours.as_raw().len() as f64;
            // Measured: worst 3 and 4, mean 0.1 and 0.2 (zune-jpeg: 255
            // and 229, 112 and 47); the 3x1 files worst 2, mean 0.08
            // (zune-jpeg refused them).
            assert!(
                worst <= 6 && mean < 0.5,
                "{name}: worst {worst}, mean {mean:.2}"
            );
        }
    }
}
