//! A still PNG decoded row by row straight into 8-bit RGBA: the peak is the
//! file and the result (4 bytes a pixel) and one row, where decoding the
//! whole image in its own layout and converting it held both (a 16-bit RGBA
//! PNG 16 bytes a pixel, grey and alpha 10; measured in
//! `tests/decode_memory.rs`). The pixels are exactly those of `image`'s
//! decoder and conversion: the same `png` transformations (`EXPAND`), grey
//! copied to red, green and blue, a missing alpha opaque, 16-bit samples
//! rounded to 8 bits as `image` rounds them (`(v + 128) / 257`); the unit
//! tests compare the two on every layout. A 16-bit file whose profile
//! applies is converted to sRGB row by row at 16 bits before the rounding
//! ([`super::icc16`]).
//!
//! Interlaced (Adam7) files are left to `image`'s decoder, which
//! de-interlaces into a whole buffer, as are files whose header does not
//! read (its error message is the one users see).

use std::io::Cursor;

use image::metadata::Orientation;
use image::RgbaImage;
use png::{BitDepth, ColorType, Transformations};

use super::icc16::{self, Deep, Scratch};
use super::DecodeError;

/// A still PNG whose header has been read, its rows still to decode.
pub(super) struct Rows<'a> {
    reader: png::Reader<Cursor<&'a [u8]>>,
    /// The layout the decoder gives (as `image` names it), for the colour
    /// profile's kind and the depth.
    pub layout: image::ColorType,
    pub orientation: Orientation,
    pub icc: Option<Vec<u8>>,
}

/// The still PNG `bytes` opened for decoding row by row, or `None` when it
/// is interlaced, its header does not read, or it is over `max_pixels` or
/// has no pixels (the caller's decoder refuses it with its message).
/// `max_alloc` bounds the decoder's own buffers (text and profile chunks).
pub(super) fn open(bytes: &[u8], max_pixels: u64, max_alloc: usize) -> Option<Rows<'_>> {
    let mut decoder =
        png::Decoder::new_with_limits(Cursor::new(bytes), png::Limits { bytes: max_alloc });
    decoder.set_transformations(Transformations::EXPAND);
    let reader = decoder.read_info().ok()?;
    let info = reader.info();
    let (w, h) = (info.width, info.height);
    if info.interlaced || w == 0 || h == 0 || u64::from(w) * u64::from(h) > max_pixels {
        return None;
    }
    let icc = info.icc_profile.as_ref().map(|p| p.to_vec());
    let orientation = info
        .exif_metadata
        .as_ref()
        .and_then(|e| Orientation::from_exif_chunk(e))
        .unwrap_or(Orientation::NoTransforms);
    let (colour, depth) = reader.output_color_type();
    let layout = image_layout(colour, depth)?;
    Some(Rows {
        reader,
        layout,
        orientation,
        icc,
    })
}

impl Rows<'_> {
    /// Whether the samples are 16-bit.
    pub fn deep(&self) -> bool {
        sixteen_bit(self.layout)
    }

    /// The rows decoded into 8-bit RGBA. With `deep` (16-bit samples and a
    /// profile that applies), each row is converted to sRGB at 16 bits
    /// before it is rounded, and the note says if the transform refused a
    /// row; otherwise the samples are only rounded.
    pub fn read(mut self, deep: Option<&Deep>) -> Result<(RgbaImage, Option<String>), DecodeError> {
        let info = self.reader.info();
        let (w, h) = (info.width, info.height);
        let mut image = RgbaImage::new(w, h);
        let row_bytes = w as usize * 4;
        let corrupt = |e: png::DecodingError| {
            DecodeError(format!(
                "truncated or corrupt PNG file: {}",
                super::readable(e)
            ))
        };
        let deep = deep.filter(|_| self.deep());
        let pixels: &mut [u8] = &mut image;
        let channels = self.layout.channel_count() as usize;
        // 16-bit rows to convert are gathered in bands of a few MiB,
        // converted on every core.
        let row_samples = w as usize * channels;
        // At most a MiB, and a quarter of a byte a pixel: within the
        // decode's slack (`decode_cost`), with the workers' scratch rows.
        let band_bytes = (u64::from(w) * u64::from(h) / 4).min(BAND_BYTES) as usize;
        let band_rows = (band_bytes / (row_samples * 2)).max(1);
        let (mut band, mut band_start, mut all) = (Vec::new(), 0, true);
        for y in 0..h as usize {
            // A bomb's rows (a 117 KB file of 11000 rows of 11000 pixels)
            // take a second: the render's stop is asked every 64 of them.
            if y % 64 == 63 && super::halt_scope::must_stop() {
                return Err(DecodeError("the render stopped during the decode".into()));
            }
            let row = match self.reader.next_row() {
                Ok(Some(row)) => row,
                Ok(None) => {
                    return Err(DecodeError(
                        "truncated or corrupt PNG file: fewer rows than its header says".into(),
                    ))
                }
                Err(e) => return Err(corrupt(e)),
            };
            let Some(deep) = deep else {
                to_rgba8(
                    row.data(),
                    self.layout,
                    &mut pixels[y * row_bytes..][..row_bytes],
                );
                continue;
            };
            if band.is_empty() {
                band_start = y;
            }
            band.extend(
                row.data()
                    .chunks_exact(2)
                    .map(|b| u16::from_be_bytes([b[0], b[1]])),
            );
            if band.len() == band_rows * row_samples || y + 1 == h as usize {
                let dst = &mut pixels[band_start * row_bytes..(y + 1) * row_bytes];
                all &= convert_band(deep, &band, channels, w as usize, dst);
                band.clear();
            }
        }
        // The rest of the image data read to its end, as `image` does: a
        // file cut after its last row's data (its checksum, or its end) is
        // refused.
        if let Err(e) = self.reader.next_row() {
            return Err(corrupt(e));
        }
        Ok((image, (!all).then(|| icc16::REFUSED.to_string())))
    }
}

/// The most 16-bit samples, in bytes, gathered before they are converted.
const BAND_BYTES: u64 = 1 << 20;

/// A band of whole 16-bit rows `width` pixels wide (`channels` samples a
/// pixel) converted through `deep` into the 8-bit RGBA rows `out`, a row
/// per task; whether the transform took every row.
fn convert_band(deep: &Deep, band: &[u16], channels: usize, width: usize, out: &mut [u8]) -> bool {
    use rayon::prelude::*;
    let (row_samples, row_bytes) = (width * channels, width * 4);
    out.par_chunks_mut(row_bytes)
        .zip(band.par_chunks(row_samples))
        .map_init(Scratch::default, |scratch, (o, s)| {
            deep.row_to_rgba8(s, channels, scratch, o)
        })
        .reduce(|| true, |a, b| a && b)
}

/// Whether `layout` has 16-bit samples (a 16-bit conversion applies).
pub(super) fn sixteen_bit(layout: image::ColorType) -> bool {
    layout.bytes_per_pixel() / layout.channel_count() == 2
}

/// `image`'s name for the decoder's output layout (after `EXPAND`, 8 or
/// 16 bits, never indexed).
fn image_layout(colour: ColorType, depth: BitDepth) -> Option<image::ColorType> {
    use image::ColorType as I;
    Some(match (colour, depth) {
        (ColorType::Grayscale, BitDepth::Eight) => I::L8,
        (ColorType::Grayscale, BitDepth::Sixteen) => I::L16,
        (ColorType::GrayscaleAlpha, BitDepth::Eight) => I::La8,
        (ColorType::GrayscaleAlpha, BitDepth::Sixteen) => I::La16,
        (ColorType::Rgb, BitDepth::Eight) => I::Rgb8,
        (ColorType::Rgb, BitDepth::Sixteen) => I::Rgb16,
        (ColorType::Rgba, BitDepth::Eight) => I::Rgba8,
        (ColorType::Rgba, BitDepth::Sixteen) => I::Rgba16,
        _ => return None,
    })
}

/// A 16-bit sample (big-endian, as PNG stores it) at 8 bits, rounded as
/// `image` converts: `round(v * 255 / 65535)`.
fn eight(hi: u8, lo: u8) -> u8 {
    ((u32::from(u16::from_be_bytes([hi, lo])) + 128) / 257) as u8
}

/// One decoded row in `layout` into 8-bit RGBA `out`.
fn to_rgba8(row: &[u8], layout: image::ColorType, out: &mut [u8]) {
    use image::ColorType as I;
    let px = out.chunks_exact_mut(4);
    match layout {
        I::L8 => px
            .zip(row)
            .for_each(|(o, &g)| o.copy_from_slice(&[g, g, g, 255])),
        I::La8 => px
            .zip(row.chunks_exact(2))
            .for_each(|(o, s)| o.copy_from_slice(&[s[0], s[0], s[0], s[1]])),
        I::Rgb8 => px
            .zip(row.chunks_exact(3))
            .for_each(|(o, s)| o.copy_from_slice(&[s[0], s[1], s[2], 255])),
        I::Rgba8 => out.copy_from_slice(&row[..out.len()]),
        I::L16 => px.zip(row.chunks_exact(2)).for_each(|(o, s)| {
            let g = eight(s[0], s[1]);
            o.copy_from_slice(&[g, g, g, 255]);
        }),
        I::La16 => px.zip(row.chunks_exact(4)).for_each(|(o, s)| {
            let g = eight(s[0], s[1]);
            o.copy_from_slice(&[g, g, g, eight(s[2], s[3])]);
        }),
        I::Rgb16 => px.zip(row.chunks_exact(6)).for_each(|(o, s)| {
            o.copy_from_slice(&[eight(s[0], s[1]), eight(s[2], s[3]), eight(s[4], s[5]), 255]);
        }),
        I::Rgba16 => px.zip(row.chunks_exact(8)).for_each(|(o, s)| {
            o.copy_from_slice(&[
                eight(s[0], s[1]),
                eight(s[2], s[3]),
                eight(s[4], s[5]),
                eight(s[6], s[7]),
            ]);
        }),
        // `image_layout` gives no other.
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use image::{DynamicImage, ImageBuffer, ImageFormat};

    use super::*;

    /// `img` as PNG bytes.
    fn png(img: &DynamicImage) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    /// A PNG written by the `png` crate itself: palette (with or without
    /// transparency) and low bit depths, which `image` does not write.
    fn raw_png(w: u32, h: u32, colour: ColorType, depth: BitDepth, palette: bool) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut e = png::Encoder::new(&mut out, w, h);
            e.set_color(colour);
            e.set_depth(depth);
            if palette {
                e.set_palette(
                    (0..=255u8)
                        .flat_map(|i| [i, 255 - i, i / 2])
                        .collect::<Vec<_>>(),
                );
                e.set_trns((0..=255u8).map(|i| i.wrapping_mul(7)).collect::<Vec<_>>());
            }
            let mut wr = e.write_header().unwrap();
            let bits = match depth {
                BitDepth::One => 1,
                BitDepth::Two => 2,
                BitDepth::Four => 4,
                BitDepth::Eight => 8,
                BitDepth::Sixteen => 16,
            };
            let row = (w as usize * colour.samples() * bits).div_ceil(8);
            let data: Vec<u8> = (0..row * h as usize)
                .map(|i| (i as u32).wrapping_mul(2654435761).rotate_right(13) as u8)
                .collect();
            wr.write_image_data(&data).unwrap();
        }
        out
    }

    /// What `image` makes of `bytes`: its decoder, then `into_rgba8`.
    fn by_image(bytes: &[u8]) -> RgbaImage {
        image::load_from_memory_with_format(bytes, ImageFormat::Png)
            .unwrap()
            .into_rgba8()
    }

    #[test]
    fn every_layout_decodes_to_the_pixels_image_gives() {
        let (w, h) = (37, 11);
        let f = |x: u32, y: u32, c: u32| {
            ((x * 97 + y * 31 + c * 53).wrapping_mul(2654435761) >> 7) as u16
        };
        let images = [
            DynamicImage::ImageLuma8(ImageBuffer::from_fn(w, h, |x, y| {
                image::Luma([f(x, y, 0) as u8])
            })),
            DynamicImage::ImageLumaA8(ImageBuffer::from_fn(w, h, |x, y| {
                image::LumaA([f(x, y, 0) as u8, f(x, y, 1) as u8])
            })),
            DynamicImage::ImageRgb8(ImageBuffer::from_fn(w, h, |x, y| {
                image::Rgb([f(x, y, 0) as u8, f(x, y, 1) as u8, f(x, y, 2) as u8])
            })),
            DynamicImage::ImageRgba8(ImageBuffer::from_fn(w, h, |x, y| {
                image::Rgba([0, 1, 2, 3].map(|c| f(x, y, c) as u8))
            })),
            DynamicImage::ImageLuma16(ImageBuffer::from_fn(w, h, |x, y| image::Luma([f(x, y, 0)]))),
            DynamicImage::ImageLumaA16(ImageBuffer::from_fn(w, h, |x, y| {
                image::LumaA([f(x, y, 0), f(x, y, 1)])
            })),
            DynamicImage::ImageRgb16(ImageBuffer::from_fn(w, h, |x, y| {
                image::Rgb([f(x, y, 0), f(x, y, 1), f(x, y, 2)])
            })),
            DynamicImage::ImageRgba16(ImageBuffer::from_fn(w, h, |x, y| {
                image::Rgba([0, 1, 2, 3].map(|c| f(x, y, c)))
            })),
        ];
        let mut files: Vec<Vec<u8>> = images.iter().map(png).collect();
        for depth in [
            BitDepth::One,
            BitDepth::Two,
            BitDepth::Four,
            BitDepth::Eight,
        ] {
            files.push(raw_png(w, h, ColorType::Indexed, depth, true));
            files.push(raw_png(w, h, ColorType::Grayscale, depth, false));
        }
        for (i, bytes) in files.iter().enumerate() {
            let (image, note) = open(bytes, u64::MAX, 1 << 26).unwrap().read(None).unwrap();
            assert_eq!((image, note), (by_image(bytes), None), "file {i}");
        }
    }

    #[test]
    fn a_decode_for_a_render_that_must_stop_stops_within_64_rows() {
        let img = DynamicImage::ImageLuma8(ImageBuffer::from_pixel(8, 200, image::Luma([7])));
        let bytes = png(&img);
        let past = crate::RenderOptions::with_deadline(std::time::Instant::now());
        let stopped = super::super::halt_scope::decoding_for(&past, || {
            open(&bytes, u64::MAX, 1 << 26).unwrap().read(None)
        });
        let e = stopped.err().unwrap();
        assert!(e.0.contains("stopped during the decode"), "{}", e.0);
        // Outside a render, or for one with time left, the whole image.
        assert!(open(&bytes, u64::MAX, 1 << 26).unwrap().read(None).is_ok());
    }

    #[test]
    fn a_truncated_file_is_an_error_not_grey_rows() {
        let img = DynamicImage::ImageRgb8(ImageBuffer::from_fn(64, 64, |x, y| {
            image::Rgb([(x * 3) as u8, (y * 5) as u8, (x ^ y) as u8])
        }));
        let bytes = png(&img);
        for cut in [bytes.len() / 2, bytes.len() - 20] {
            let e = open(&bytes[..cut], u64::MAX, 1 << 26)
                .unwrap()
                .read(None)
                .err()
                .unwrap();
            assert!(e.0.starts_with("truncated or corrupt PNG file"), "{}", e.0);
        }
    }

    #[test]
    fn interlaced_and_oversized_files_are_left_to_the_whole_image_decoder() {
        let img = DynamicImage::ImageRgb8(ImageBuffer::from_pixel(8, 8, image::Rgb([1, 2, 3])));
        assert!(open(&png(&img), 63, 1 << 26).is_none());
        // A 1x1 image is its own first Adam7 pass: the same data, with
        // IHDR's interlace byte set (and its CRC mended; `png` writes no
        // interlaced files).
        let one = DynamicImage::ImageRgb8(ImageBuffer::from_pixel(1, 1, image::Rgb([1, 2, 3])));
        let mut interlaced = png(&one);
        // IHDR's interlace method (its 13th byte).
        crate::codec::set_png_chunk_byte(&mut interlaced, 12, 12, 1);
        assert_eq!(by_image(&interlaced).get_pixel(0, 0).0, [1, 2, 3, 255]);
        assert!(open(&interlaced, u64::MAX, 1 << 26).is_none());
    }
}
