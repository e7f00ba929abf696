//! Baseline JPEG encoding in parallel: the image is cut into horizontal
//! strips of whole MCU rows, each strip is encoded on its own (rayon) by
//! `jpeg-encoder` with the same quality, sampling and standard Huffman
//! tables, and the strips' entropy-coded segments are joined into one file
//! under one set of headers, separated by restart markers (`RST0`..`RST7`,
//! cycling) with a restart interval (`DRI`) of one strip's MCUs.
//!
//! This is exact, not an approximation: a restart resets the DC predictors
//! and byte-aligns the bit stream (padding with 1-bits), which is what the
//! start of a separate encode does too, and `jpeg-encoder` reads no pixel
//! outside the MCU row it encodes (it pads the last row by repeating the
//! image's last line, which is the strip's last line). The joined file is
//! byte-for-byte what `jpeg-encoder` writes for the whole image with the
//! same restart interval (a unit test checks it).

use image::RgbaImage;
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};
use rayon::prelude::*;

use super::flatten_pixels_over_white;

/// About how many pixels one strip holds: small enough that a 2048x2048
/// image makes 16 strips (work for every core, and for rayon to balance),
/// large enough that a strip's fixed costs (tables, headers, one restart
/// marker and its padding) stay far below 1% of its encode. Fixed, rather
/// than derived from the thread count, so the bytes written do not depend
/// on the machine.
pub(super) const STRIP_PIXELS: usize = 1 << 18;

/// Why a JPEG could not be written: the image is too large, or (never bad
/// input) `jpeg-encoder` wrote something this module does not expect (a
/// bug here or a changed encoder), or the GPU's blocks are not what its
/// JPEG pass writes.
#[derive(Debug, thiserror::Error)]
pub(crate) enum JpegError {
    /// The image is larger than the format allows.
    #[error("{width}x{height} is larger than JPEG's 65535x65535")]
    TooLarge {
        /// The image's width.
        width: u32,
        /// The image's height.
        height: u32,
    },
    /// The image has no pixels.
    #[error("a JPEG needs at least one pixel: the image is {width}x{height}")]
    Empty {
        /// The image's width.
        width: u32,
        /// The image's height.
        height: u32,
    },
    /// The encoder itself failed.
    #[error("{0}")]
    Encoder(#[from] jpeg_encoder::EncodingError),
    /// A strip's stream did not have the expected marker layout.
    #[error("strip {strip} of the parallel JPEG encode is malformed: {what}")]
    Malformed {
        /// Which strip (0 is the top).
        strip: usize,
        /// What was wrong.
        what: &'static str,
    },
    /// `jpeg-encoder`'s one-pixel file, whose tables the GPU's JPEGs use,
    /// is not as expected.
    #[error("jpeg-encoder's tables at quality {quality} cannot be read: {what}")]
    Tables {
        /// The quality.
        quality: u8,
        /// What was wrong.
        what: &'static str,
    },
    /// The GPU read back another number of coefficients than the image's
    /// blocks hold.
    #[error("{width}x{height} at quality {quality} has {want} DCT coefficients, the GPU read back {got}")]
    BlockCount {
        /// The image's width.
        width: u16,
        /// The image's height.
        height: u16,
        /// The quality.
        quality: u8,
        /// The coefficients of every block.
        want: usize,
        /// The coefficients read back.
        got: usize,
    },
    /// A block holds a value baseline JPEG's Huffman tables cannot code
    /// (a DC difference of more than 11 bits, an AC value of more than 10),
    /// which the GPU's JPEG pass never writes for 8-bit pixels.
    #[error("DCT block {block} holds a coefficient baseline JPEG cannot code")]
    Coefficient {
        /// The block's index in the image's block order.
        block: usize,
    },
}

impl From<JpegError> for crate::error::Error {
    fn from(e: JpegError) -> Self {
        crate::error::Error::Encode {
            format: "jpeg",
            message: e.to_string(),
        }
    }
}

/// The chroma sampling `jpeg-encoder` picks for `quality` (4:2:0 below 90,
/// 4:4:4 from 90), set explicitly so the MCU size is known here.
pub(super) fn sampling(quality: u8) -> SamplingFactor {
    if quality < 90 {
        SamplingFactor::F_2_2
    } else {
        SamplingFactor::F_1_1
    }
}

pub(super) fn encoder(
    out: &mut Vec<u8>,
    quality: u8,
    restart_interval: u16,
) -> Encoder<&mut Vec<u8>> {
    let mut enc = Encoder::new(out, quality);
    enc.set_sampling_factor(sampling(quality));
    enc.set_restart_interval(restart_interval);
    enc
}

/// How the image is cut: strips of `rows` pixel rows (a whole number of
/// MCU rows), each of `mcus` MCUs, the restart interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Strips {
    pub rows: usize,
    pub mcus: u16,
    pub count: usize,
}

/// The strips of about `strip_pixels` pixels for a `width` x `height` image
/// at `quality`, or `None` when it is too small for two.
pub(super) fn strips(width: u16, height: u16, quality: u8, strip_pixels: usize) -> Option<Strips> {
    let mcu = if sampling(quality) == SamplingFactor::F_2_2 {
        16
    } else {
        8
    };
    let cols = usize::from(width).div_ceil(mcu);
    let mcu_rows = usize::from(height).div_ceil(mcu);
    if cols == 0 {
        // No pixels: the plain encoder reports it.
        return None;
    }
    // DRI is a u16: at most 65535 MCUs a strip. `cols` <= 8192 (65535 / 8
    // rounded up), so this is at least 7 MCU rows.
    let most = usize::from(u16::MAX) / cols;
    let per_strip = (strip_pixels / (cols * mcu * mcu)).clamp(1, most);
    let count = mcu_rows.div_ceil(per_strip);
    let mcus = u16::try_from(per_strip * cols).ok()?;
    (count >= 2).then_some(Strips {
        rows: per_strip * mcu,
        mcus,
        count,
    })
}

/// Encodes straight 8-bit RGBA, flattened over opaque white, as a baseline
/// JPEG at `quality` (1..=100), in parallel strips when the image is large
/// enough.
pub(crate) fn encode_over_white(img: &RgbaImage, quality: u8) -> Result<Vec<u8>, JpegError> {
    encode_in_strips(img, quality, STRIP_PIXELS)
}

/// [`encode_over_white`] with strips of about `strip_pixels` pixels.
fn encode_in_strips(
    img: &RgbaImage,
    quality: u8,
    strip_pixels: usize,
) -> Result<Vec<u8>, JpegError> {
    let (width, height) = img.dimensions();
    let too_large = || JpegError::TooLarge { width, height };
    let w = u16::try_from(width).map_err(|_| too_large())?;
    let h = u16::try_from(height).map_err(|_| too_large())?;
    let Some(plan) = strips(w, h, quality, strip_pixels) else {
        return encode_part(img.as_raw(), w, h, quality);
    };
    let row_bytes = usize::from(w) * 4;
    // Each strip is flattened by the thread that encodes it, while its
    // rows are in that core's cache.
    let parts: Vec<Vec<u8>> = img
        .as_raw()
        .par_chunks(plan.rows * row_bytes)
        .map(|strip| {
            // A strip has at most plan.rows <= height rows: it fits a u16.
            encode_part(strip, w, (strip.len() / row_bytes) as u16, quality)
        })
        .collect::<Result<_, JpegError>>()?;
    join(&parts, h, plan.mcus)
}

/// One stream, without restarts, of `rows` rows of `w` straight RGBA
/// pixels flattened over white: read as RGBA where every pixel is opaque
/// ([`is_opaque`]), flattened into an RGB copy otherwise.
fn encode_part(rgba: &[u8], w: u16, rows: u16, quality: u8) -> Result<Vec<u8>, JpegError> {
    let mut out = Vec::with_capacity(rgba.len() / 32);
    if is_opaque(rgba) {
        encoder(&mut out, quality, 0).encode(rgba, w, rows, ColorType::Rgba)?;
    } else {
        let mut rgb = vec![0u8; rgba.len() / 4 * 3];
        flatten_pixels_over_white(rgba, &mut rgb);
        encoder(&mut out, quality, 0).encode(&rgb, w, rows, ColorType::Rgb)?;
    }
    Ok(out)
}

/// Whether every pixel of the straight RGBA bytes `rgba` is opaque. Then
/// flattening over white leaves every colour as it is, and the encoder can
/// read the RGBA bytes themselves (`ColorType::Rgba`: it ignores alpha and
/// converts R, G, B exactly as for `ColorType::Rgb`), without the flattened
/// copy: the same bytes out, one pass and one strip-sized buffer fewer.
/// Most outputs are opaque (any scene with an opaque background). A fold
/// over blocks rather than an early exit, so that it vectorises.
fn is_opaque(rgba: &[u8]) -> bool {
    rgba.chunks(1024)
        .all(|block| block.chunks_exact(4).fold(255u8, |all, p| all & p[3]) == 255)
}

/// Where the parts of one strip's stream are.
pub(super) struct Layout {
    /// Offset of the SOF0 segment's marker.
    pub sof: usize,
    /// Offset of the SOS segment's marker.
    pub sos: usize,
    /// Offset of the first entropy-coded byte (after the SOS header).
    pub scan: usize,
    /// Offset of the EOI marker, the end of the entropy-coded data.
    pub eoi: usize,
}

/// Walks a `jpeg-encoder` stream's marker segments up to its scan.
pub(super) fn layout(jpeg: &[u8], strip: usize) -> Result<Layout, JpegError> {
    let bad = |what| JpegError::Malformed { strip, what };
    if !jpeg.starts_with(&[0xFF, 0xD8]) {
        return Err(bad("no start-of-image marker"));
    }
    if !jpeg.ends_with(&[0xFF, 0xD9]) {
        return Err(bad("no end-of-image marker at the end"));
    }
    let mut at = 2;
    let mut sof = None;
    loop {
        let Some(&[0xFF, marker, hi, lo]) = jpeg.get(at..at + 4) else {
            return Err(bad("marker segments run off the end before the scan"));
        };
        let next = at + 2 + usize::from(u16::from_be_bytes([hi, lo]));
        match marker {
            0xC0 => sof = Some(at),
            0xC1..=0xCF if marker != 0xC4 && marker != 0xC8 && marker != 0xCC => {
                return Err(bad("not a baseline frame"));
            }
            0xDD => return Err(bad("already has a restart interval")),
            0xDA => {
                let sof = sof.ok_or_else(|| bad("no SOF0 frame header before the scan"))?;
                let eoi = jpeg.len() - 2;
                if next > eoi {
                    return Err(bad("scan header runs past the end"));
                }
                return Ok(Layout {
                    sof,
                    sos: at,
                    scan: next,
                    eoi,
                });
            }
            _ => {}
        }
        at = next;
    }
}

/// Joins the strips' streams into one JPEG of `height` rows with a restart
/// interval of `interval` MCUs.
fn join(parts: &[Vec<u8>], height: u16, interval: u16) -> Result<Vec<u8>, JpegError> {
    let layouts = parts
        .iter()
        .enumerate()
        .map(|(i, p)| layout(p, i))
        .collect::<Result<Vec<_>, _>>()?;
    let (Some(first), Some(head)) = (parts.first(), layouts.first()) else {
        return Err(JpegError::Malformed {
            strip: 0,
            what: "there are no strips",
        });
    };
    let scans: usize = layouts.iter().map(|l| l.eoi - l.scan).sum();
    let mut out = Vec::with_capacity(head.scan + 6 + scans + 2 * parts.len() + 2);
    out.extend_from_slice(&first[..head.sos]);
    // SOF0: FF C0, length (2), precision (1), then the height (2).
    out[head.sof + 5..head.sof + 7].copy_from_slice(&height.to_be_bytes());
    out.extend_from_slice(&[0xFF, 0xDD, 0x00, 0x04]);
    out.extend_from_slice(&interval.to_be_bytes());
    out.extend_from_slice(&first[head.sos..head.scan]);
    for (i, (part, l)) in parts.iter().zip(&layouts).enumerate() {
        if i > 0 {
            // RSTn: n counts the restarts modulo 8.
            out.extend_from_slice(&[0xFF, 0xD0 + ((i - 1) % 8) as u8]);
        }
        out.extend_from_slice(&part[l.scan..l.eoi]);
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    Ok(out)
}

#[cfg(test)]
#[path = "jpeg_tests.rs"]
mod tests;
