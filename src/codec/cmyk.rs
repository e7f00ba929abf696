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

use image::metadata::Orientation;
use image::{DynamicImage, RgbaImage};

use super::{icc, DecodeError};

/// A CMYK JPEG decoded to sRGB, EXIF orientation applied, and why its
/// profile was ignored if it was; `None` when `bytes` is not a 4-channel
/// JPEG (or its headers do not parse: the caller's decoder then reports
/// the error), or is larger than `max_pixels` (the caller refuses it, with
/// its message).
pub(crate) fn decode(
    bytes: &[u8],
    max_pixels: u64,
) -> Result<Option<(RgbaImage, Option<String>)>, DecodeError> {
    let mut decoder = jpeg_decoder::Decoder::new(bytes);
    if decoder.read_info().is_err() {
        return Ok(None);
    }
    let Some(info) = decoder.info() else {
        return Ok(None);
    };
    let (w, h) = (u32::from(info.width), u32::from(info.height));
    let pixels = u64::from(w) * u64::from(h);
    if info.pixel_format != jpeg_decoder::PixelFormat::CMYK32 || pixels > max_pixels || pixels == 0
    {
        return Ok(None);
    }
    let orientation = decoder
        .exif_data()
        .and_then(Orientation::from_exif_chunk)
        .unwrap_or(Orientation::NoTransforms);
    let profile = decoder.icc_profile();
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
