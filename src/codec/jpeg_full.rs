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
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;

use super::halting_input::HaltingCursor;
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
    let options = |out| {
        DecoderOptions::default()
            .set_strict_mode(false)
            .set_max_width(usize::MAX)
            .set_max_height(usize::MAX)
            .jpeg_set_out_colorspace(out)
    };
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(
        HaltingCursor::new(bytes),
        options(ColorSpace::RGBA),
    );
    decoder.decode_headers().ok()?;
    // `zune-jpeg` converts YCbCr to RGBA, but an RGB JPEG (Adobe transform
    // 0, or components named R, G, B) only to RGB ("Unimplemented colorspace
    // mapping from RGB to RGBA"): that is decoded as RGB into the image's
    // buffer and spread out to RGBA in place.
    let rgb = match decoder.input_colorspace()? {
        ColorSpace::YCbCr => false,
        ColorSpace::RGB => {
            decoder = zune_jpeg::JpegDecoder::new_with_options(
                HaltingCursor::new(bytes),
                options(ColorSpace::RGB),
            );
            decoder.decode_headers().ok()?;
            true
        }
        _ => return None,
    };
    let (w, h) = decoder.dimensions()?;
    let (w, h) = (w as u32, h as u32);
    if let Err(e) = super::check_size((w, h), max_pixels) {
        return Some(Err(e));
    }
    let orientation = super::jpeg_headers::orientation(bytes);
    let icc = decoder.icc_profile();
    let mut image = RgbaImage::new(w, h);
    let pixels = w as usize * h as usize;
    let buf: &mut [u8] = &mut image;
    let out = if rgb { &mut buf[..pixels * 3] } else { buf };
    let decoded = decoder.decode_into(out);
    // Its input fails once the render must stop, which `zune-jpeg`, not
    // strict, may take for data cut short and fill in: the pixels are not
    // the file's then.
    if super::halt_scope::must_stop() {
        return Some(Err(DecodeError(super::halting_input::STOPPED.into())));
    }
    if let Err(e) = decoded {
        return Some(Err(DecodeError(format!(
            "truncated or corrupt JPEG file: {e}"
        ))));
    }
    if rgb {
        spread_rgb_to_rgba(&mut image, pixels);
    }
    Some(Ok(Decoded {
        image,
        orientation,
        icc,
    }))
}

/// The first `pixels` RGB pixels packed at the start of `buf` spread out
/// to opaque RGBA in place, from the last pixel back (each RGBA pixel ends
/// at or after the RGB pixel it is made from, so none is overwritten before
/// it is read).
fn spread_rgb_to_rgba(buf: &mut [u8], pixels: usize) {
    for i in (0..pixels).rev() {
        let [r, g, b] = [buf[3 * i], buf[3 * i + 1], buf[3 * i + 2]];
        buf[4 * i..4 * i + 4].copy_from_slice(&[r, g, b, 255]);
    }
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
    fn an_rgb_jpeg_decodes_as_libjpeg_does() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/jpeg/");
        let bytes = std::fs::read(format!("{dir}rgb-adobe.jpg")).unwrap();
        // Refused before: "Unimplemented colorspace mapping from RGB to RGBA".
        let d = decode(&bytes, u64::MAX).unwrap().unwrap();
        let want = image::open(format!("{dir}rgb-adobe.libjpeg.png"))
            .unwrap()
            .to_rgba8();
        assert_eq!(d.image.dimensions(), want.dimensions());
        let worst = d
            .image
            .as_raw()
            .iter()
            .zip(want.as_raw())
            .map(|(a, b)| a.abs_diff(*b))
            .max();
        // Measured: 1.
        assert!(worst <= Some(2), "{worst:?}");
        assert!(d.image.pixels().all(|p| p[3] == 255));
    }

    #[test]
    fn rgb_spreads_to_rgba_in_place() {
        let mut buf = vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 0, 0];
        spread_rgb_to_rgba(&mut buf, 3);
        assert_eq!(buf, [1, 2, 3, 255, 4, 5, 6, 255, 7, 8, 9, 255]);
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
