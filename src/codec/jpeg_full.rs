//! A colour JPEG at full size, decoded by `zune-jpeg` straight into 8-bit
//! RGBA. Through `image` the same decoder wrote RGB, which was then
//! expanded to RGBA (`still::into_rgba8`), and `image` first copied the
//! whole file: three bytes a pixel and the file more at the peak, and a
//! pass over every pixel. The pixels are the same: `zune-jpeg` converts
//! YCbCr to RGB by one routine whatever the output's stride, with the
//! options `image` sets (not strict: a file that `image` decodes decodes
//! here).
//!
//! Grey JPEGs stay with `image` (one byte a pixel, expanded on every
//! core); CMYK and the layouts `zune-jpeg` gets wrong are decoded before
//! this is reached ([`super::cmyk`], [`super::jpeg_layout`]).

use image::metadata::Orientation;
use image::RgbaImage;
use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;

use super::DecodeError;

/// A decoded colour JPEG: its pixels, orientation and ICC profile.
pub(super) struct Decoded {
    pub image: RgbaImage,
    pub orientation: Orientation,
    pub icc: Option<Vec<u8>>,
}

/// The JPEG `bytes` decoded at full size as RGBA, or `None` when it is not
/// a YCbCr or RGB JPEG whose headers read (the caller's decoder takes it,
/// with its messages); refused over `max_pixels`.
pub(super) fn decode(bytes: &[u8], max_pixels: u64) -> Option<Result<Decoded, DecodeError>> {
    let options = DecoderOptions::default()
        .set_strict_mode(false)
        .set_max_width(usize::MAX)
        .set_max_height(usize::MAX)
        .jpeg_set_out_colorspace(ColorSpace::RGBA);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    decoder.decode_headers().ok()?;
    if !matches!(
        decoder.input_colorspace()?,
        ColorSpace::YCbCr | ColorSpace::RGB
    ) {
        return None;
    }
    let (w, h) = decoder.dimensions()?;
    let (w, h) = (w as u32, h as u32);
    if let Err(e) = super::check_size((w, h), max_pixels) {
        return Some(Err(e));
    }
    let orientation = decoder
        .exif()
        .and_then(|exif| Orientation::from_exif_chunk(exif))
        .unwrap_or(Orientation::NoTransforms);
    let icc = decoder.icc_profile();
    let mut image = RgbaImage::new(w, h);
    if let Err(e) = decoder.decode_into(&mut image) {
        return Some(Err(DecodeError(format!(
            "truncated or corrupt JPEG file: {e}"
        ))));
    }
    Some(Ok(Decoded {
        image,
        orientation,
        icc,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{DynamicImage, ImageReader};
    use std::io::Cursor;

    /// `image`'s decode of `bytes` as RGBA.
    fn by_image(bytes: &[u8]) -> RgbaImage {
        ImageReader::new(Cursor::new(bytes))
            .with_guessed_format()
            .unwrap()
            .decode()
            .unwrap()
            .into_rgba8()
    }

    fn jpeg(img: &DynamicImage, quality: u8) -> Vec<u8> {
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
            .encode_image(img)
            .unwrap();
        out
    }

    #[test]
    fn the_pixels_are_images_own_and_grey_is_left_to_it() {
        let rgb = DynamicImage::ImageRgb8(image::RgbImage::from_fn(67, 45, |x, y| {
            image::Rgb([(x * 3) as u8, (y * 5) as u8, ((x * y) % 251) as u8])
        }));
        for quality in [40, 90, 100] {
            let bytes = jpeg(&rgb, quality);
            let d = decode(&bytes, u64::MAX).unwrap().unwrap();
            assert_eq!(d.image, by_image(&bytes), "quality {quality}");
            assert_eq!(d.orientation, Orientation::NoTransforms);
        }
        // One component (`image`'s encoder writes grey as three).
        let mut grey = Vec::new();
        let pixels: Vec<u8> = (0..200).map(|i| (i % 20 * 9) as u8).collect();
        jpeg_encoder::Encoder::new(&mut grey, 90)
            .encode(&pixels, 20, 10, jpeg_encoder::ColorType::Luma)
            .unwrap();
        assert!(decode(&grey, u64::MAX).is_none());
    }

    #[test]
    fn over_the_pixel_limit_or_cut_short_is_an_error() {
        let rgb =
            DynamicImage::ImageRgb8(image::RgbImage::from_pixel(64, 64, image::Rgb([1, 2, 3])));
        let bytes = jpeg(&rgb, 90);
        let e = decode(&bytes, 64 * 64 - 1).unwrap().err().unwrap();
        assert!(e.0.contains("max_image_pixels"), "{}", e.0);
        assert!(decode(b"not a jpeg", u64::MAX).is_none());
    }
}
