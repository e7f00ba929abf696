//! CMYK and YCCK JPEGs (what print workflows and Photoshop write): decoded
//! by `jpeg-decoder`, which gives the four inks rather than the RGB
//! `zune-jpeg` makes of them, then converted to sRGB through the file's CMYK
//! profile, or naively without one ([`icc::cmyk_to_srgb`]).
//!
//! Samples are taken as Adobe writes them, inverted (`jpeg-decoder` turns
//! them back into ink amounts, 0 meaning none), with or without an Adobe
//! `APP14` marker: Photoshop's files have one, and web browsers assume the
//! Adobe convention for every CMYK JPEG too. A YCCK file (Adobe transform
//! 2) is turned back into CMYK by the decoder the same way.
//!
//! Always at full size: the shrink-on-load path ([`crate::shrink`]) leaves
//! CMYK files to [`super::decode_bytes`], which calls [`decode`].

use image::{DynamicImage, RgbaImage};

use super::{icc, jpeg_headers, DecodeError};

/// A CMYK JPEG decoded to sRGB, EXIF orientation applied, and why its
/// profile was ignored if it was; `None` when `bytes` is not a 4-channel
/// JPEG (or its headers do not parse: the caller's decoder then reports
/// the error), or is larger than `max_pixels` (the caller refuses it, with
/// its message).
pub(crate) fn decode(
    bytes: &[u8],
    max_pixels: u64,
) -> Result<Option<(RgbaImage, Option<String>)>, DecodeError> {
    // Most JPEGs are not CMYK: the frame header says so for the cost of
    // walking a few marker segments.
    if jpeg_headers::frame(bytes).and_then(|f| f.components()) != Some(4) {
        return Ok(None);
    }
    let Some(jpeg_headers::Opened {
        mut decoder,
        size: (w, h),
        format,
        orientation,
        profile,
    }) = jpeg_headers::open(bytes, max_pixels)
    else {
        return Ok(None);
    };
    if format != jpeg_decoder::PixelFormat::CMYK32 {
        return Ok(None);
    }
    let pixels = u64::from(w) * u64::from(h);
    // pixels <= max_pixels, which the caller keeps far below usize::MAX / 4.
    decoder.set_max_decoding_buffer_size((pixels as usize).saturating_mul(4).max(1 << 20));
    let data = decoder
        .decode()
        .map_err(|e| DecodeError(format!("truncated or corrupt JPEG file: {e}")))?;
    if data.len() < pixels as usize * 4 {
        return Err(DecodeError(
            "corrupt JPEG file: fewer pixels than its header says".into(),
        ));
    }
    let (img, why) = icc::cmyk_to_srgb(&data, w, h, profile.as_deref());
    drop(data);
    let mut img = DynamicImage::ImageRgba8(img);
    img.apply_orientation(orientation);
    Ok(Some((img.into_rgba8(), why)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame_components(bytes: &[u8]) -> Option<u8> {
        jpeg_headers::frame(bytes).and_then(|f| f.components())
    }

    #[test]
    fn the_frame_header_gives_the_component_count() {
        let cmyk = jpeg(16, 8, jpeg_encoder::ColorType::Cmyk);
        assert_eq!(frame_components(&cmyk), Some(4));
        let ycck = jpeg(16, 8, jpeg_encoder::ColorType::CmykAsYcck);
        assert_eq!(frame_components(&ycck), Some(4));
        let mut rgb = Vec::new();
        let mut enc = jpeg_encoder::Encoder::new(&mut rgb, 90);
        enc.add_app_segment(1, vec![0xC0; 300]).unwrap();
        enc.encode(&[9; 8 * 8 * 3], 8, 8, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        assert_eq!(frame_components(&rgb), Some(3));
        for cut in 0..cmyk.len().min(400) {
            // Never past the end, whatever the cut.
            let _ = frame_components(&cmyk[..cut]);
        }
        assert_eq!(frame_components(b"\xFF\xD8\xFF\xDA"), None);
    }

    /// A `w` x `h` CMYK (or YCCK) JPEG of smooth ink ramps.
    fn jpeg(w: u16, h: u16, kind: jpeg_encoder::ColorType) -> Vec<u8> {
        let ink: Vec<u8> = (0..w as u32 * h as u32)
            .flat_map(|i| {
                let (x, y) = (i % w as u32, i / w as u32);
                [
                    (x * 255 / w as u32) as u8,
                    (y * 255 / h as u32) as u8,
                    40,
                    90,
                ]
            })
            .collect();
        let mut out = Vec::new();
        jpeg_encoder::Encoder::new(&mut out, 90)
            .encode(&ink, w, h, kind)
            .unwrap();
        out
    }

    #[test]
    fn only_four_channel_jpegs_within_the_limit_are_taken() {
        let cmyk = jpeg(40, 24, jpeg_encoder::ColorType::Cmyk);
        let (img, why) = decode(&cmyk, 40 * 24).unwrap().expect("a CMYK JPEG");
        assert_eq!((img.dimensions(), why), ((40, 24), None));
        assert!(
            decode(&cmyk, 40 * 24 - 1).unwrap().is_none(),
            "over the limit"
        );
        let mut rgb = Vec::new();
        jpeg_encoder::Encoder::new(&mut rgb, 90)
            .encode(&[9; 8 * 8 * 3], 8, 8, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        assert!(decode(&rgb, 1 << 20).unwrap().is_none());
        assert!(decode(b"not a jpeg", 1 << 20).unwrap().is_none());
    }

    #[test]
    fn hostile_cmyk_jpegs_never_panic() {
        let bases = [
            jpeg(48, 32, jpeg_encoder::ColorType::Cmyk),
            jpeg(48, 32, jpeg_encoder::ColorType::CmykAsYcck),
        ];
        let mut next = super::super::xorshift32(0x1234_5677u32);
        for case in 0..400 {
            let mut bytes = bases[case % 2].clone();
            if case % 3 == 0 {
                bytes.truncate(2 + next() as usize % (bytes.len() - 2));
            } else {
                for _ in 0..1 + next() % 8 {
                    let i = next() as usize % bytes.len();
                    bytes[i] ^= 1 << (next() % 8);
                }
            }
            let run = std::panic::catch_unwind(|| super::super::decode_bytes(&bytes, 1 << 20));
            assert!(run.is_ok(), "case {case} panicked");
        }
    }
}
