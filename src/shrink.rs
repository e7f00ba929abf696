//! Shrink-on-load: a JPEG drawn smaller than its natural size is decoded at
//! `k`/8 of it in the DCT (reduced inverse transforms, `k` from 1 to 6: the
//! smallest that still has the pixels the layers draw on both axes, with
//! the mode's margin; where that is 7, at full size: see [`eighths_for`]), so the
//! decoder writes, and the resampler reads, up to 64 times fewer pixels.
//! Baseline files go through impasto's own decoder
//! ([`codec::reduced_jpeg`]: the Huffman stream on every core), the rest
//! (progressive, unusual layouts, corrupt data) through `jpeg-decoder`,
//! whose pixels the first reproduces exactly at 1/8, 1/4 and 1/2, the
//! scales it has (a file it decodes is taken at the next of those up from
//! the scale asked for). Other formats, and JPEGs no scaled decoder covers
//! (CMYK, 16-bit), are decoded at full size by [`codec::decode_bytes`].
//!
//! Why several JPEG decoders: `zune-jpeg` (through `image`) decodes a
//! full-size 4000x2250 photo in about the instructions `jpeg-decoder` needs
//! at 1/8 scale (392 M against 363 M, callgrind, 2026-11-25), and it has no
//! reduced transforms; `jpeg-decoder` is the maintained crate that has
//! them, but decodes the Huffman stream on one thread, and that stream was
//! most of a social card's time. So a full-size decode stays with
//! `zune-jpeg`, a reduced one goes to `reduced_jpeg`, then `jpeg-decoder`.
//!
//! All paths apply an embedded ICC profile the same way ([`codec::icc`]).
//!
//! Pixel `i` of an image decoded at `k`/8 covers natural pixels
//! `[i d, (i + 1) d)`, `d = 8 / k`: the planner places the image by its
//! natural size and maps positions into the decoded raster by dividing by
//! `d` ([`crate::plan`]), so a shrunk decode moves nothing, it only has
//! less detail to filter. A raster at `k`/8 has `ceil(n k / 8)` pixels on
//! an axis of `n`.

use image::metadata::Orientation;
use image::{DynamicImage, RgbaImage};

use crate::codec::{self, DecodeError};

/// A decoded image, the size it has at full resolution (EXIF orientation
/// applied), and the scale it was decoded at (in eighths: 8 is full size).
#[derive(Debug, Clone)]
pub(crate) struct Decoded {
    /// Rows `first_row..` of the decoded raster (all of them unless the
    /// decode was asked for fewer).
    pub image: RgbaImage,
    pub natural: (u32, u32),
    /// The decode's scale, in eighths of the natural size (1 to 8).
    pub eighths: u32,
    /// The size of the whole decoded raster (at the shrunk scale).
    pub raster: (u32, u32),
    /// The raster row `image`'s first row is.
    pub first_row: u32,
    /// Whether each axis runs against the file's ([`reversed_axes`]).
    pub reversed: (bool, bool),
    /// What the decode has to say (a colour profile ignored, a GIF cut
    /// short), for the render's warnings.
    pub notes: crate::codec::Notes,
}

/// An image layer's source as the planner receives it: the pixels, the
/// image's natural size, and the scale they were decoded at (8 eighths for
/// in-memory assets and full-size decodes).
#[derive(Debug, Clone)]
pub(crate) struct SourceImage {
    /// Rows `first_row..` of the decoded raster: all of them, or (a JPEG
    /// drawn smaller, whose layers read only some rows) those rows.
    pub image: std::sync::Arc<RgbaImage>,
    pub natural: (u32, u32),
    /// The decode's scale, in eighths of the natural size (1 to 8).
    pub eighths: u32,
    /// The size of the whole decoded raster, which the planner's weights
    /// index before they are moved to `image` by `first_row`.
    pub raster: (u32, u32),
    pub first_row: u32,
    /// Whether each axis of the raster runs against the file's
    /// ([`reversed_axes`]).
    pub reversed: (bool, bool),
    /// What the decode has to say (a colour profile ignored, a GIF cut
    /// short), for the render's warnings.
    pub notes: crate::codec::Notes,
    /// What identifies these pixels across renders, for the cache of
    /// resampled images (`None`: not cached).
    pub key: Option<SourceKey>,
}

/// What identifies a decoded image's pixels across renders: a file as the
/// decoded-image cache keys it (path, size, modification time, decode
/// scale), or an in-memory asset by the number it was given when it was
/// registered (never reused within a process).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum SourceKey {
    /// A still image decoded from a file.
    File {
        path: std::path::PathBuf,
        len: u64,
        modified: Option<std::time::SystemTime>,
        eighths: u32,
        /// The raster row the decoded pixels start at.
        first_row: u32,
    },
    /// An image registered in [`crate::Assets`].
    Memory(u64),
}

impl SourceImage {
    /// An image used at its full size, `key` identifying it (if anything
    /// does).
    pub fn full(image: std::sync::Arc<RgbaImage>, key: Option<SourceKey>) -> SourceImage {
        SourceImage {
            natural: image.dimensions(),
            raster: image.dimensions(),
            first_row: 0,
            reversed: (false, false),
            image,
            eighths: FULL,
            notes: crate::codec::Notes::default(),
            key,
        }
    }
}

/// A full-size decode's scale, in eighths.
pub(crate) const FULL: u32 = 8;

/// How far a JPEG drawn smaller than its natural size is shrunk in the
/// DCT as it is decoded ([`Renderer::with_shrink_on_load_mode`]).
///
/// [`Renderer::with_shrink_on_load_mode`]: crate::Renderer::with_shrink_on_load_mode
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ShrinkOnLoad {
    /// Every image decoded at full size: full-precision output.
    Off,
    /// The smallest k/8 that leaves 1.25 times the pixels the image is
    /// drawn with, so the layer's filter always does some of the reduction
    /// (close to sharp's default, `fastShrinkOnLoad`, which halves its
    /// JPEG shrink when the shrink alone would do the whole reduction, and
    /// so keeps at least about 1.25 too): fastest, softer on real photos
    /// than `Fine` (see the README for figures). With a margin of 1, a
    /// decode at exactly the drawn size (1/8, 1/2) was left unfiltered:
    /// 3 to 5 times sharp's error on photos, 3 to 20 on colour detail.
    #[default]
    Fast,
    /// The smallest k/8 that leaves twice those pixels, so the layer's
    /// filter does at least a 2x reduction (as libvips' thumbnail and
    /// sharp with `fastShrinkOnLoad: false`): close to the full decode.
    Fine,
}

impl ShrinkOnLoad {
    /// The reduction left to the layer's filter, at least.
    pub(crate) fn margin(self) -> Option<f64> {
        match self {
            ShrinkOnLoad::Off => None,
            ShrinkOnLoad::Fast => Some(FAST_MARGIN),
            ShrinkOnLoad::Fine => Some(2.0),
        }
    }
}

/// [`ShrinkOnLoad::Fast`]'s margin: the least reduction left to the
/// layer's filter.
pub(crate) const FAST_MARGIN: f64 = 1.25;

/// The smallest DCT scale (`k`/8, `k` from 1 to 6, or 8) that leaves at
/// least `margin` times `need` pixels on both axes of a `natural`-sized
/// image (within a billionth: 4000 drawn 1200 wide has exactly 1.25 times
/// at 3/8, whatever rounding the layer's placement left in `need`).
///
/// Never 7/8: measured on a 4000x3000 photo drawn 2800x2100, the whole
/// render at 7/8 took as long as at full size (the 7-point transform and
/// the scan cost what `zune-jpeg`'s full decode does), and its pixels were
/// further from the full decode filtered down (0.61 levels on average
/// against 0.34; on a colour chart 1.85 against 0.19). 6/8 still saves a
/// quarter of the time (2400x1800: about 240 ms against 315).
pub(crate) fn eighths_for(natural: (u32, u32), need: (f64, f64), margin: f64) -> u32 {
    (1..FULL - 1)
        .find(|&k| {
            let at = |n: u32| n as f64 * k as f64 / FULL as f64 * (1.0 + 1e-9);
            at(natural.0) >= margin * need.0 && at(natural.1) >= margin * need.1
        })
        .unwrap_or(FULL)
}

/// A raster's length at `eighths`/8 of `len` (rounded up, as a DCT scaled
/// decode gives).
pub(crate) fn scaled_len(len: u32, eighths: u32) -> u32 {
    ((len as u64 * eighths as u64).div_ceil(FULL as u64)) as u32
}

/// How much smaller than natural a raster at `eighths`/8 is: the divisor
/// that maps natural positions into it.
pub(crate) fn divisor(eighths: u32) -> f64 {
    FULL as f64 / eighths.clamp(1, FULL) as f64
}

/// How to decode a file, picked once its natural size is known: the
/// scale, and the rows of the scaled raster that its layers read
/// (`[first, end)`; `None`: all of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pick {
    /// In eighths of the natural size (8: full size).
    pub eighths: u32,
    pub rows: Option<(u32, u32)>,
}

impl Pick {
    /// Every row at `eighths`/8.
    pub fn whole(eighths: u32) -> Pick {
        Pick {
            eighths,
            rows: None,
        }
    }
}

/// Reads and decodes the image `input` (at most `max_bytes` of a file read,
/// at most `max_pixels` at full size, refused from the header), asking
/// `choose` for the scale
/// and rows once the natural (oriented) size is known. Only a JPEG that
/// impasto's own reduced decoder covers, without EXIF rotation or flip, is
/// decoded to fewer rows; any other file has all of them.
pub(crate) fn decode_input(
    input: &crate::asset_files::Input,
    (max_pixels, max_bytes): (u64, u64),
    choose: impl FnOnce((u32, u32)) -> Pick,
) -> Result<Decoded, DecodeError> {
    let (format, bytes) = input.read(max_bytes)?;
    if format == image::ImageFormat::Jpeg {
        if let Some(decoded) = decode_jpeg_scaled(&bytes, max_pixels, choose)? {
            return Ok(decoded);
        }
    }
    let (image, notes) = codec::decode_bytes_noting(&bytes, max_pixels)?;
    Ok(Decoded {
        natural: image.dimensions(),
        raster: image.dimensions(),
        first_row: 0,
        reversed: (false, false),
        image,
        eighths: FULL,
        notes,
    })
}

/// A JPEG decoded at the scale `choose` picks (or, for a file that only
/// `jpeg-decoder` decodes, the next of its scales up), or `None` when that
/// is full size or no scaled decoder applies (the caller then decodes at
/// full size).
fn decode_jpeg_scaled(
    bytes: &[u8],
    max_pixels: u64,
    choose: impl FnOnce((u32, u32)) -> Pick,
) -> Result<Option<Decoded>, DecodeError> {
    // Refused by the full-size path, with its message, when None.
    let Some(opened) = codec::open_jpeg(bytes, max_pixels) else {
        return Ok(None);
    };
    // CMYK and 16-bit files are decoded at full size.
    let Some(gray) = opened.grey() else {
        return Ok(None);
    };
    let codec::OpenedJpeg {
        mut decoder,
        size: (w, h),
        orientation,
        profile,
        ..
    } = opened;
    let natural = codec::oriented_size((w, h), orientation);
    let pick = choose(natural);
    let k = pick.eighths;
    // Rows of the file's raster are rows of the displayed one only when the
    // orientation neither turns nor flips it upside down.
    let rows = pick
        .rows
        .filter(|_| orientation == Orientation::NoTransforms)
        .map(|(a, b)| (a as usize, b as usize));
    // A truncated file goes to the full-size path, which refuses it with
    // the precise message; checked here, where the scaled decoder is sure
    // to run, so a full-size decode scans the file for its end only once.
    if !(1..FULL).contains(&k) || !codec::jpeg_has_end(bytes) || codec::luma_is_coarser(bytes) {
        return Ok(None);
    }
    let (k, (sw, sh), mut img, first_row) = match codec::reduced_jpeg::decode(bytes, k, rows) {
        Some((rgba, first)) => {
            let size = (scaled_len(w, k), scaled_len(h, k));
            (k, size, DynamicImage::ImageRgba8(rgba), first as u32)
        }
        None => {
            // jpeg-decoder's scales are 1/8, 1/4 and 1/2.
            let k = k.next_power_of_two();
            if k >= FULL || codec::jpeg_has_too_many_scans(bytes) {
                return Ok(None);
            }
            let (sw, sh) = (scaled_len(w, k), scaled_len(h, k));
            // Only sizes below 65536 reach here: JPEG sizes are 16-bit.
            let got = decoder.scale(sw as u16, sh as u16);
            if got.ok() != Some((sw as u16, sh as u16)) {
                return Ok(None);
            }
            // The files the reduced decoder leaves aside (progressive,
            // unusual layouts, corrupt data).
            let rgba = codec::jpeg_decoder_rgba(decoder, (sw, sh), gray)?;
            (k, (sw, sh), DynamicImage::ImageRgba8(rgba), 0)
        }
    };
    let whole = first_row == 0 && img.height() == sh;
    img.apply_orientation(orientation);
    let mut image = img.into_rgba8();
    // Fewer rows only come without orientation.
    let raster = if whole { image.dimensions() } else { (sw, sh) };
    let source = if gray {
        codec::icc::Source::Grey
    } else {
        codec::icc::Source::Rgb
    };
    let note = codec::icc::to_srgb(&mut image, profile.as_deref(), source)
        .or_else(|| codec::broken_icc(bytes));
    Ok(Some(Decoded {
        image,
        natural,
        eighths: k,
        raster,
        first_row,
        reversed: reversed_axes(orientation),
        notes: codec::Notes::colour(note),
    }))
}

/// Whether the displayed image's x and y axes run against the file's
/// raster under an EXIF orientation. A raster decoded at k/8 of a size that
/// is not a multiple of 8/k ends in a part-pixel; on a reversed axis that
/// pixel comes first, and the planner shifts its weights by the part
/// missing (`crate::plan::image`).
pub(crate) fn reversed_axes(orientation: Orientation) -> (bool, bool) {
    match orientation {
        Orientation::NoTransforms | Orientation::Rotate90FlipH => (false, false),
        Orientation::FlipHorizontal | Orientation::Rotate90 => (true, false),
        Orientation::FlipVertical | Orientation::Rotate270 => (false, true),
        Orientation::Rotate180 | Orientation::Rotate270FlipH => (true, true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    fn decode_file(
        path: &Path,
        limits: (u64, u64),
        choose: impl FnOnce((u32, u32)) -> Pick,
    ) -> Result<Decoded, DecodeError> {
        let input = crate::asset_files::Input::File(path.to_path_buf());
        decode_input(&input, limits, choose)
    }

    #[test]
    fn the_axes_an_orientation_reverses_are_where_the_first_pixel_lands() {
        // A 3x2 raster whose pixel (0, 0) alone is marked: after the
        // orientation it lands at the end of each reversed axis.
        for exif in 1..=8 {
            let o = Orientation::from_exif(exif).unwrap();
            let mut img =
                image::DynamicImage::ImageLuma8(image::GrayImage::from_fn(3, 2, |x, y| {
                    image::Luma([u8::from(x == 0 && y == 0)])
                }));
            img.apply_orientation(o);
            let g = img.into_luma8();
            let (x, y, _) = g.enumerate_pixels().find(|(_, _, p)| p[0] == 1).unwrap();
            let want = (x + 1 == g.width(), y + 1 == g.height());
            assert_eq!(reversed_axes(o), want, "EXIF orientation {exif}");
        }
    }

    /// A `w` x `h` JPEG of smooth colour, with an EXIF orientation tag when
    /// `orientation` is not 1.
    fn jpeg(w: u16, h: u16, orientation: u16) -> Vec<u8> {
        let rgb: Vec<u8> = (0..w as u32 * h as u32)
            .flat_map(|i| {
                let (x, y) = (i % w as u32, i / w as u32);
                [(x * 255 / w as u32) as u8, (y * 255 / h as u32) as u8, 90]
            })
            .collect();
        let mut out = Vec::new();
        let mut enc = jpeg_encoder::Encoder::new(&mut out, 92);
        if orientation != 1 {
            // A little-endian TIFF header with one IFD entry: Orientation.
            let mut exif = b"II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0".to_vec();
            exif.extend_from_slice(&orientation.to_le_bytes());
            exif.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
            let mut app1 = b"Exif\0\0".to_vec();
            app1.extend_from_slice(&exif);
            enc.add_app_segment(1, app1).unwrap();
        }
        enc.encode(&rgb, w, h, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        out
    }

    /// `bytes` decoded at `eighths`/8.
    fn decode(bytes: &[u8], eighths: u32) -> Decoded {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jpg");
        std::fs::write(&path, bytes).unwrap();
        decode_file(&path, (1 << 30, u64::MAX), |_| Pick::whole(eighths)).unwrap()
    }

    #[test]
    fn a_file_with_chroma_finer_than_its_luma_is_decoded_at_full_size() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/jpeg/");
        let finer = std::fs::read(format!("{dir}chroma-finer-than-luma.jpg")).unwrap();
        // Asked for 1/2: the scaled decoders would leave the luma at 1/4.
        let got = decode(&finer, 4);
        assert_eq!((got.eighths, got.image.dimensions()), (FULL, (64, 48)));
        let plain = std::fs::read(format!("{dir}noninterleaved-420.jpg")).unwrap();
        assert_eq!(decode(&plain, 4).eighths, 4);
    }

    #[test]
    fn the_scale_is_the_smallest_that_keeps_the_pixels_needed() {
        assert_eq!(eighths_for((4000, 3000), (1200.0, 900.0), 1.0), 3);
        assert_eq!(eighths_for((4000, 3000), (1000.0, 750.0), 1.0), 2);
        assert_eq!(eighths_for((4000, 3000), (1001.0, 750.0), 1.0), 3);
        assert_eq!(eighths_for((4000, 3000), (1500.0, 1125.0), 1.0), 3);
        assert_eq!(eighths_for((4000, 3000), (1501.0, 10.0), 1.0), 4);
        assert_eq!(eighths_for((6000, 4000), (256.0, 171.0), 1.0), 1);
        assert_eq!(eighths_for((4000, 3000), (3501.0, 10.0), 1.0), 8);
        assert_eq!(eighths_for((4000, 3000), (10.0, 2626.0), 1.0), 8);
        // 7/8 would do, but is no faster than the full decode.
        assert_eq!(eighths_for((4000, 3000), (10.0, 2625.0), 1.0), 8);
        assert_eq!(eighths_for((4000, 3000), (10.0, 2250.0), 1.0), 6);
        // Fine: twice the pixels, so 1200x900 from 4000x3000 is 5/8.
        assert_eq!(eighths_for((4000, 3000), (1200.0, 900.0), 2.0), 5);
        assert_eq!(eighths_for((4000, 3000), (250.0, 10.0), 2.0), 1);
        assert_eq!(eighths_for((4000, 3000), (1800.0, 10.0), 2.0), 8);
        assert_eq!(eighths_for((8, 8), (1.0, 1.0), 1.0), 1);
        // Fast: 1.25 times, so a decode is never left unfiltered at the
        // drawn size; 1200x900 from 4000x3000 is still 3/8 (1.25 exactly).
        let fast = FAST_MARGIN;
        assert_eq!(eighths_for((4000, 3000), (1200.0, 900.0), fast), 3);
        assert_eq!(eighths_for((4000, 3000), (1_200.000_000_1, 900.0), fast), 3);
        assert_eq!(eighths_for((4000, 3000), (1201.0, 900.0), fast), 4);
        assert_eq!(eighths_for((4000, 3000), (500.0, 375.0), fast), 2);
        assert_eq!(eighths_for((4000, 3000), (2000.0, 1500.0), fast), 5);
        assert_eq!(eighths_for((4000, 3000), (2400.0, 1800.0), fast), 6);
        assert_eq!(eighths_for((4000, 3000), (2800.0, 2100.0), fast), 8);
        assert_eq!(eighths_for((4000, 3000), (2801.0, 2100.0), fast), 8);
        assert_eq!(scaled_len(4000, 3), 1500);
        assert_eq!(scaled_len(4001, 3), 1501);
        assert_eq!(scaled_len(203, 4), 102);
    }

    #[test]
    fn a_jpeg_decodes_at_the_chosen_scale_with_the_natural_size_kept() {
        let bytes = jpeg(203, 101, 1);
        for k in 1..=8 {
            let got = decode(&bytes, k);
            assert_eq!(got.natural, (203, 101));
            assert_eq!(got.eighths, k);
            assert_eq!(
                got.image.dimensions(),
                (scaled_len(203, k), scaled_len(101, k))
            );
        }
        // The colour survives: the left edge is dark red, the right bright.
        let small = decode(&bytes, 1).image;
        assert!(small.get_pixel(0, 6).0[0] < 40 && small.get_pixel(25, 6).0[0] > 210);
    }

    #[test]
    fn exif_rotation_is_applied_and_the_natural_size_is_the_rotated_one() {
        // Orientation 6: rotate 90 degrees clockwise to display.
        let bytes = jpeg(160, 80, 6);
        let mut asked = None;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jpg");
        std::fs::write(&path, &bytes).unwrap();
        let got = decode_file(&path, (1 << 30, u64::MAX), |n| {
            asked = Some(n);
            Pick::whole(2)
        })
        .unwrap();
        assert_eq!(asked, Some((80, 160)), "the choice sees the displayed size");
        assert_eq!(got.natural, (80, 160));
        assert_eq!(got.image.dimensions(), (20, 40));
        let full = codec::decode_bytes(&bytes, 1 << 30).unwrap();
        assert_eq!(full.dimensions(), (80, 160));
        // Same corner content as the full decode: the top row comes from the
        // source's left column (dark red), the bottom from its right.
        let (top, bottom) = (got.image.get_pixel(10, 0).0, got.image.get_pixel(10, 39).0);
        let (ftop, fbottom) = (full.get_pixel(40, 0).0, full.get_pixel(40, 159).0);
        assert!(top[0].abs_diff(ftop[0]) < 24 && bottom[0].abs_diff(fbottom[0]) < 24);
    }

    #[test]
    fn a_reduced_decode_is_close_to_a_box_average_of_the_full_decode() {
        let bytes = jpeg(256, 192, 1);
        let full = codec::decode_bytes(&bytes, 1 << 30).unwrap();
        let half = decode(&bytes, 4).image;
        let mut worst = 0u8;
        for y in 0..96 {
            for x in 0..128 {
                for c in 0..3 {
                    let sum: u32 = [(0, 0), (1, 0), (0, 1), (1, 1)]
                        .iter()
                        .map(|(dx, dy)| full.get_pixel(2 * x + dx, 2 * y + dy).0[c] as u32)
                        .sum();
                    let avg = ((sum + 2) / 4) as u8;
                    worst = worst.max(avg.abs_diff(half.get_pixel(x, y).0[c]));
                }
            }
        }
        assert!(worst <= 6, "worst difference {worst}");
    }

    #[test]
    fn embedded_profiles_are_applied_at_every_scale_as_at_full_size() {
        // tests/colour: 16x16 flat blocks, so a 1/8 decode has 2x2 pixels
        // per block, each the block's colour.
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/colour");
        for name in ["adobe-rgb", "display-p3", "prophoto", "grey-linear"] {
            let path = dir.join(format!("{name}.jpg"));
            let full = codec::decode_file(&path, 1 << 20).unwrap();
            for d in [2, 4, 8] {
                let small =
                    decode_file(&path, (1 << 20, u64::MAX), |_| Pick::whole(8 / d)).unwrap();
                assert_eq!(small.eighths, 8 / d, "{name}: the scaled decoder was used");
                for i in 0..full.width() / 16 {
                    let want = full.get_pixel(16 * i + 8, 8).0;
                    let got = small.image.get_pixel((16 * i + 8) / d, 8 / d).0;
                    for c in 0..4 {
                        assert!(
                            got[c].abs_diff(want[c]) <= 1,
                            "{name} 1/{d} block {i}: {got:?} against full size {want:?}"
                        );
                    }
                }
            }
        }
        // LittleCMS's Adobe RGB (200, 100, 50): (227, 100, 42).
        let small = decode_file(&dir.join("adobe-rgb.jpg"), (1 << 20, u64::MAX), |_| {
            Pick::whole(1)
        })
        .unwrap();
        let p = small.image.get_pixel(1, 1).0;
        assert!(p[0].abs_diff(227) <= 1 && p[1].abs_diff(100) <= 1 && p[2].abs_diff(42) <= 1);
    }

    #[test]
    fn hostile_jpegs_through_the_scaled_decoder_never_panic() {
        // Deterministic mutations of a valid file: byte flips, truncations
        // with the end marker put back, and lying sizes in the frame header.
        let base = jpeg(64, 48, 6);
        let mut next = crate::codec::xorshift32(0x2545_F491u32);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.jpg");
        for case in 0..600 {
            let mut bytes = base.clone();
            match case % 3 {
                0 => {
                    for _ in 0..1 + next() % 8 {
                        let i = next() as usize % bytes.len();
                        bytes[i] ^= 1 << (next() % 8);
                    }
                }
                1 => {
                    let cut = 2 + next() as usize % (bytes.len() - 2);
                    bytes.truncate(cut);
                    bytes.extend_from_slice(&[0xFF, 0xD9]);
                }
                _ => {
                    if let Some(sof) = bytes.windows(2).position(|w| w == [0xFF, 0xC0]) {
                        let i = sof + 5 + next() as usize % 4;
                        bytes[i] = next() as u8;
                    }
                }
            }
            std::fs::write(&path, &bytes).unwrap();
            let eighths = 1 + case as u32 % 8;
            let rows = (case % 5 == 0).then_some((case as u32 % 7, 3 + case as u32 % 11));
            let pick = Pick { eighths, rows };
            let run =
                std::panic::catch_unwind(|| decode_file(&path, (1 << 24, u64::MAX), |_| pick));
            assert!(run.is_ok(), "case {case} panicked");
        }
    }
}
