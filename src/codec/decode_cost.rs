//! The memory decoding an image file holds at its peak, predicted from its
//! header before any pixel is decoded, so that
//! [`crate::Limits::max_render_bytes`] bounds the decode itself and not only
//! the decoded result: a 16-bit PNG passes through a buffer twice the size
//! of its 8-bit pixels, a progressive JPEG keeps every DCT coefficient of
//! the file (two bytes a sample) whatever the scale it is drawn at, a CMYK
//! JPEG is decoded at full size.
//!
//! Every figure is an upper bound of what the decoder and the conversions
//! after it hold at once (the file read into memory, the decoder's buffers,
//! the 8-bit RGBA result and the quarter turn of an EXIF orientation), in
//! bytes per pixel of the raster decoded, from reading the decoders and
//! measured with a counting allocator on every layout
//! (`tests/decode_memory.rs` holds renders to it). What it leaves out, on
//! purpose: a baseline JPEG that impasto's reduced decoder declines for its
//! data (restart markers out of order, corrupt entropy data) at 5/8 or 6/8
//! of its size falls back to a full-size decode, about 7 bytes a pixel
//! rather than the 1 to 3 counted, as such files are rare and broken.

use image::metadata::Orientation;
use image::{ColorType, ImageFormat};

use super::{jpeg_headers, Probed};

/// What decoding a file is expected to take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DecodeCost {
    /// Bytes of the decoded image (8-bit RGBA) at the scale decoded.
    pub result: u64,
    /// Bytes held at the decode's peak, the result included.
    pub peak: u64,
}

/// Slack on every prediction: half a byte a pixel, and 256 KiB whatever
/// the size (decoder state, tables, row buffers; the measured peaks are
/// within a few KiB of the per-pixel figures).
const SLACK_FIXED: u64 = 256 << 10;

/// The memory decoding a file (probed as `probed`, `len`
/// bytes long) takes at `eighths`/8 of its size (a JPEG's shrink-on-load;
/// 8 for every other format).
pub(crate) fn decode_cost(probed: &Probed, len: u64, eighths: u32) -> DecodeCost {
    let (w, h) = (u64::from(probed.raw.0), u64::from(probed.raw.1));
    let turned = matches!(
        probed.orientation,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    );
    let (result, sixteenths) = if probed.format == ImageFormat::Jpeg {
        // The probe's headers, walked to the frame header.
        jpeg_cost(&probed.head, (w, h), eighths.clamp(1, 8), turned, len)
    } else {
        let px = w * h;
        (px * 4, px * other_sixteenths(probed, turned))
    };
    // Sixteenths of a byte, rounded up, and half a byte a pixel of slack
    // on the larger of the two rasters.
    let slack = (w * h).max(result / 4) / 2 + SLACK_FIXED;
    // A GIF with stray bytes between its blocks is decoded from a copy
    // without them (`gif_blocks`).
    let file = match probed.format {
        ImageFormat::Gif => len.saturating_mul(2),
        _ => len,
    };
    DecodeCost {
        result,
        peak: file
            .saturating_add(sixteenths.div_ceil(16))
            .saturating_add(slack),
    }
}

/// Sixteenths of a byte a pixel that a PNG, WebP or GIF holds at its
/// decode's peak, the file aside. A PNG that is not interlaced is decoded
/// row by row into its RGBA (`png_rows`): 4 bytes. Other files hold the
/// decoder's own layout and the 8-bit RGBA made of it (measured: grey 5
/// bytes, RGB 7, RGBA 8; every other layout goes through `image`'s
/// conversion, which holds 4 more: grey and alpha 10, 16-bit RGBA 16). A
/// lossy WebP also holds its YUV planes and alpha (10.5 bytes with alpha,
/// measured), a GIF its frame's indices (9). A quarter turn holds the
/// result and its turned copy, 8.
fn other_sixteenths(probed: &Probed, turned: bool) -> u64 {
    // IHDR's interlace method, byte 28 of the file.
    let interlaced = probed.head.get(28).is_none_or(|&m| m != 0);
    if probed.format == ImageFormat::Png && !interlaced {
        return if turned { 8 * 16 } else { 4 * 16 };
    }
    let native = u64::from(probed.colour.bytes_per_pixel());
    let direct = matches!(
        probed.colour,
        ColorType::L8 | ColorType::Rgb8 | ColorType::Rgba8
    );
    let mut bytes16 = (native + if direct { 4 } else { 8 }) * 16;
    bytes16 += match probed.format {
        // The lossy planes (1.5 bytes) and the alpha plane (1); lossless
        // files decode into the layout itself, within this.
        ImageFormat::WebP => 40,
        ImageFormat::Gif => 16,
        _ => 0,
    };
    if turned {
        bytes16 = if probed.format == ImageFormat::WebP {
            // Measured by a reviewer on an 8000x6000 lossy WebP turned by
            // its EXIF: 11.7 bytes a pixel, over the unturned 9.5 (not
            // traced further): the turned copy counted on top.
            bytes16 + 4 * 16
        } else {
            bytes16.max(8 * 16)
        };
    }
    bytes16
}

/// A JPEG's frame, as its decode's memory depends on it.
struct JpegFrame {
    progressive: bool,
    precision: u8,
    /// `(h, v)` per component.
    factors: Vec<(u8, u8)>,
}

impl JpegFrame {
    fn read(head: &[u8]) -> Option<JpegFrame> {
        let frame = jpeg_headers::frame(head)?;
        let factors = frame.factors()?;
        if factors.is_empty() || factors.iter().any(|&(h, v)| h == 0 || v == 0) {
            return None;
        }
        Some(JpegFrame {
            progressive: matches!(frame.marker, 0xC2 | 0xC6 | 0xCA | 0xCE),
            precision: frame.precision()?,
            factors,
        })
    }

    /// Blocks (8x8 samples) of each component, padded to whole MCUs.
    fn blocks(&self, (w, h): (u64, u64)) -> Vec<u64> {
        let hm = u64::from(self.factors.iter().map(|f| f.0).max().unwrap_or(1));
        let vm = u64::from(self.factors.iter().map(|f| f.1).max().unwrap_or(1));
        let (mx, my) = (w.div_ceil(8 * hm), h.div_ceil(8 * vm));
        self.factors
            .iter()
            .map(|&(fh, fv)| mx * u64::from(fh) * my * u64::from(fv))
            .collect()
    }

    /// Whether a component is sampled more finely than the luma.
    fn chroma_finer(&self) -> bool {
        let hm = self.factors.iter().map(|f| f.0).max().unwrap_or(1);
        let vm = self.factors.iter().map(|f| f.1).max().unwrap_or(1);
        self.factors.len() > 1 && (self.factors[0].0 != hm || self.factors[0].1 != vm)
    }
}

/// `len` at `k`/8, rounded up (the decoders' sizes).
fn scaled(len: u64, k: u32) -> u64 {
    (len * u64::from(k)).div_ceil(8)
}

/// The decoded bytes and the peak (in sixteenths of a byte, the file read
/// into memory aside, but for the copy of it, `len` bytes, that the
/// full-size path makes) of a JPEG of `head`, `w` x `h` as stored, decoded
/// at `k`/8 on the path `crate::shrink::decode_file` takes for it.
fn jpeg_cost(head: &[u8], (w, h): (u64, u64), k: u32, turned: bool, len: u64) -> (u64, u64) {
    let px = w * h;
    let Some(frame) = JpegFrame::read(head) else {
        // Unknown: a full-size progressive CMYK decode, the worst there is.
        return (px * 4, (px * 22 + len) * 16);
    };
    let blocks = frame.blocks((w, h));
    let samples: u64 = blocks.iter().sum::<u64>() * 64;
    // Every coefficient, two bytes each, kept by a progressive decode.
    let coefs = if frame.progressive { samples * 2 } else { 0 };
    // jpeg-decoder hands each component's rows to its worker as copies:
    // at most the largest component's coefficients again.
    let copies = if frame.progressive {
        blocks.iter().max().copied().unwrap_or(0) * 128
    } else {
        0
    };
    let comps = frame.factors.len() as u64;
    let sp = |k: u32| scaled(w, k) * scaled(h, k);
    // jpeg-decoder at `k2`/8: coefficients (progressive), each component's
    // plane at that scale, its interleaved output (one byte a component),
    // the RGBA made of it; a baseline frame's one MCU row of coefficients.
    // A quarter turn adds the turned copy of the RGBA.
    let jpeg_decoder = |k2: u32| -> u64 {
        let planes = samples * u64::from(k2 * k2) / 64;
        let row = 128 * w.div_ceil(8) * 4;
        let rgba = if turned { 8 } else { 4 };
        (coefs + copies + planes + row + sp(k2) * (comps.min(4) + rgba)) * 16
    };
    // zune-jpeg at full size. A colour file straight into RGBA
    // (`jpeg_full`): its coefficients (progressive) and the RGBA. A grey
    // one through `image`, which copies the whole file into its own buffer
    // first: that copy, the coefficients and the grey output, then the
    // output and the RGBA. The quarter turn holds two RGBAs.
    let zune = || -> u64 {
        let mut b = if comps == 1 {
            (coefs + px).max(5 * px) + len
        } else {
            coefs + 4 * px
        };
        if turned {
            b = b.max(8 * px);
        }
        b * 16
    };
    let full = (px * 4, 0);
    if comps == 4 || frame.precision != 8 || !matches!(comps, 1 | 3) {
        // CMYK (and 12-bit) at full size through jpeg-decoder, its four
        // inks converted to RGBA.
        return (full.0, jpeg_decoder(8));
    }
    if k >= 8 || frame.chroma_finer() {
        let b = if frame.chroma_finer() {
            jpeg_decoder(8)
        } else {
            zune()
        };
        return (full.0, b);
    }
    // Where impasto's reduced decoder does not apply (or declines the
    // data): jpeg-decoder at the power of two at or above `k`, or
    // zune-jpeg at full size.
    let k2 = k.next_power_of_two();
    let (fallback_result, fallback) = if k2 < 8 {
        (sp(k2) * 4, jpeg_decoder(k2))
    } else {
        (px * 4, zune())
    };
    let hm = frame.factors.iter().map(|f| f.0).max().unwrap_or(1);
    let vm = frame.factors.iter().map(|f| f.1).max().unwrap_or(1);
    if frame.progressive || hm > 2 || vm > 2 {
        return (fallback_result, fallback);
    }
    // impasto's reduced decoder: the corner of each block it keeps (twice
    // the luma's side for 4:2:0 chroma, and its speculative chunks, within
    // all the coefficients at most), the output and its turned copy; the
    // fallback counted too where it stays below full size (k up to 4).
    let result = sp(k) * 4;
    let kept = (samples * 2 * u64::from(4 * k * k) / 64).min(samples * 2);
    let reduced = (kept + sp(k) * if turned { 12 } else { 8 }) * 16;
    if k2 < 8 {
        (result.max(fallback_result), reduced.max(fallback))
    } else {
        (result, reduced)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1000x1000 image's header facts; a PNG's head says whether it is
    /// interlaced.
    fn probed(format: ImageFormat, colour: ColorType, orientation: Orientation) -> Probed {
        Probed {
            format,
            raw: (1000, 1000),
            orientation,
            colour,
            head: Vec::new(),
        }
    }

    fn with_interlace(mut p: Probed, method: u8) -> Probed {
        p.head = vec![0; 29];
        p.head[28] = method;
        p
    }

    #[test]
    fn an_interlaced_16_bit_png_counts_its_16_bit_buffer_and_the_8_bit_result() {
        let none = Orientation::NoTransforms;
        let c = |colour, interlace| {
            let p = with_interlace(probed(ImageFormat::Png, colour, none), interlace);
            decode_cost(&p, 0, 8)
        };
        let rgba8 = c(ColorType::Rgba8, 1);
        let rgba16 = c(ColorType::Rgba16, 1);
        assert_eq!(rgba8.result, 4_000_000);
        assert_eq!(rgba16.result, 4_000_000);
        // 8 + 0.5 bytes a pixel and 16 + 0.5, and the fixed slack.
        assert_eq!(rgba8.peak, 8_500_000 + SLACK_FIXED);
        assert_eq!(rgba16.peak, 16_500_000 + SLACK_FIXED);
        // Not interlaced: decoded row by row into the result.
        assert_eq!(c(ColorType::Rgba16, 0).peak, 4_500_000 + SLACK_FIXED);
    }

    #[test]
    fn a_quarter_turn_holds_two_rgba_copies() {
        let p = probed(ImageFormat::WebP, ColorType::Rgb8, Orientation::Rotate90);
        let c = decode_cost(&p, 10, 8);
        // Lossy RGB: 3 + 4 + 2.5 bytes, and the turned copy's 4.
        assert_eq!(c.peak, 10 + 14_000_000 + SLACK_FIXED);
        let p = with_interlace(
            probed(ImageFormat::Png, ColorType::L8, Orientation::Rotate90),
            0,
        );
        let c = decode_cost(&p, 10, 8);
        assert_eq!(c.peak, 10 + 8_500_000 + SLACK_FIXED);
    }

    /// A JPEG frame header alone: SOI, then SOFn with `factors`.
    fn jpeg(marker: u8, factors: &[(u8, u8)], (w, h): (u16, u16)) -> Vec<u8> {
        let mut b = vec![0xFF, 0xD8, 0xFF, marker];
        let len = 8 + 3 * factors.len() as u16;
        b.extend_from_slice(&len.to_be_bytes());
        b.push(8);
        b.extend_from_slice(&h.to_be_bytes());
        b.extend_from_slice(&w.to_be_bytes());
        b.push(factors.len() as u8);
        for (i, &(fh, fv)) in factors.iter().enumerate() {
            b.extend_from_slice(&[i as u8 + 1, fh << 4 | fv, 0]);
        }
        b
    }

    #[test]
    fn a_progressive_jpeg_counts_every_coefficient_whatever_its_scale() {
        let s420 = [(2, 2), (1, 1), (1, 1)];
        let base = jpeg(0xC0, &s420, (4000, 3000));
        let prog = jpeg(0xC2, &s420, (4000, 3000));
        let (_, b) = jpeg_cost(&base, (4000, 3000), 1, false, 0);
        let (_, p) = jpeg_cost(&prog, (4000, 3000), 1, false, 0);
        let px = 4000 * 3000;
        // 1.5 samples a pixel, two bytes each, and the copies of the luma.
        assert!(p / 16 >= px * 3 + px * 2, "{p}");
        // The reduced decoder keeps a small corner of each block.
        assert!(b / 16 < px / 2, "{b}");
    }

    #[test]
    fn a_cmyk_jpeg_is_counted_at_full_size_whatever_the_scale_asked() {
        let cmyk = jpeg(0xC0, &[(1, 1); 4], (2000, 1000));
        let (result, peak) = jpeg_cost(&cmyk, (2000, 1000), 1, false, 0);
        assert_eq!(result, 2000 * 1000 * 4);
        assert!(peak / 16 >= 2000 * 1000 * 8, "{peak}");
    }

    #[test]
    fn an_unreadable_jpeg_frame_is_counted_as_the_worst_decode() {
        let (_, peak) = jpeg_cost(&[0xFF, 0xD8], (100, 100), 1, false, 0);
        assert_eq!(peak, 100 * 100 * 22 * 16);
    }
}
