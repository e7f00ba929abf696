//! impasto's own decoder for baseline JPEGs drawn smaller than their size
//! (shrink-on-load), at 1/8 to 7/8 of it, on every core.
//!
//! Why our own: decoding the 4000x3000 photo of a social card took about
//! 55 of its 82 ms in `jpeg-decoder`, whose Huffman decoding runs on one
//! thread, reads the file byte by byte through `io::Read` and allocates
//! each MCU row of coefficients zeroed; sharp's libjpeg-turbo does the same
//! Huffman work with SIMD around it. Ours reads the scan in place, eight
//! bytes at a time. Measured in BENCHMARKS.md ("Our own
//! reduced JPEG decoder"). Huffman data without restart markers is decoded
//! on several threads speculatively ([`scan`]).
//!
//! At 1/8, 1/4 and 1/2 every pixel equals `jpeg-decoder` 0.3's at the
//! same scale: each step mirrors its arithmetic (see [`pixels`]), and the
//! tests compare the two byte for byte on many files, sizes and
//! subsamplings. But for one departure, on purpose: the chroma of a 4:2:0
//! file at 1/8 to 1/2 keeps twice the luma's coefficients and is
//! transformed at twice its scale, as libjpeg does, so colour comes out at
//! the output's resolution instead of half of it upsampled
//! (`scan::full_chroma`), and the 1/8 transform rounds where jpeg-decoder
//! truncates (`scan::Layout::round_dc`); the byte-for-byte tests switch
//! both off. At 3/8, 5/8, 6/8 and 7/8, which jpeg-decoder lacks (as
//! libvips' shrink-on-load does; libjpeg-turbo has them), the blocks go
//! through the `k`-point inverse DCT of their kept corner
//! ([`k_point::idct_n`]) and everything else is the same code. Why: a
//! social card's photo, 4000x3000 drawn 1200x900, needs more than 1/4;
//! at 1/2 the decoder writes and the resampler reads 1.8 times the pixels
//! that 3/8 has, which measured 14% of the card's time. Files outside what
//! this decoder covers (progressive, 12-bit, CMYK, odd subsampling, several
//! scans, restart markers out of order, corrupt data) return `None`, and
//! the caller decodes them with `jpeg-decoder` as before, which also gives
//! its own messages for broken files.

#[cfg(test)]
mod eighths_tests;
mod entropy;
mod header;
mod k_point;
mod pixels;
mod restarts;
mod scan;
#[cfg(test)]
mod tests;

use image::RgbaImage;

/// `bytes` (a whole JPEG file) decoded at `eighths`/8 of its size (1 to 7;
/// dimensions rounded up) as opaque RGBA, or `None` when this decoder
/// does not cover the file (the caller then uses `jpeg-decoder`, at the
/// scales it has: 1/8, 1/4 and 1/2, which this decoder reproduces exactly;
/// 3/8, 5/8, 6/8 and 7/8 are this decoder's own, [`k_point::idct_n`]). With
/// `rows` (`[first, end)` of the decoded image), only those rows are
/// transformed and returned: the image and the row it starts at.
///
/// The caller bounds the frame's size first (`shrink.rs` refuses more than
/// the renderer's pixel limit from the header): besides the output, memory
/// here is about its size (kept coefficients, and each band's own small
/// planes; the scan is read in place); a speculative chunk never holds more
/// than four times its share of the blocks.
pub(crate) fn decode(
    bytes: &[u8],
    eighths: u32,
    rows: Option<(usize, usize)>,
) -> Option<(RgbaImage, usize)> {
    if !(1..8).contains(&eighths) || !enabled() {
        return None;
    }
    let header = header::parse(bytes)?;
    if header.restart_interval == 0 && !header.restarts.is_empty() {
        return None; // restart markers without an interval
    }
    let asked = eighths as usize;
    let want = (scaled(header.width, asked), scaled(header.height, asked));
    // At jpeg-decoder's scales, its choice of transform for this size (a
    // tiny image asked for at 1/2 may get the 1/8 one, for the same size).
    let k = if asked.is_power_of_two() {
        let k = idct_size((header.width, header.height), want);
        if (scaled(header.width, k), scaled(header.height, k)) != want || k == 8 {
            return None;
        }
        k
    } else {
        asked
    };
    let (first, end) = rows.map_or((0, want.1), |(a, b)| (a.min(want.1), b.min(want.1)));
    let (first, end) = if first < end {
        (first, end)
    } else {
        (0, want.1)
    };
    let mut layout = scan::Layout::new(&header, k);
    // The Huffman data after the last MCU row the rows read is not decoded.
    layout.limit_rows(pixels::mcu_rows_read(&layout, want, (first, end)));
    // Speculative chunks only pay where cores would otherwise idle.
    let threads = if crate::busy::cores_taken() {
        1
    } else {
        rayon::current_num_threads()
    };
    let coefs = scan::decode(&layout, threads).ok()?;
    Some((pixels::render(&layout, &coefs, want, (first, end)), first))
}

/// Whether this decoder is used: yes unless the environment variable
/// `IMPASTO_JPEG_DECODER` is `jpeg-decoder` (read once per process), the
/// switch the benchmarks use to measure the two decoders against each
/// other on the same build.
fn enabled() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var("IMPASTO_JPEG_DECODER").as_deref() != Ok("jpeg-decoder"))
}

/// `len` at `k`/8 of its size, rounded up.
fn scaled(len: usize, k: usize) -> usize {
    (len * k).div_ceil(8)
}

/// The transform size jpeg-decoder's `scale` picks for a requested size:
/// the smallest whose result reaches the request on either axis (so a tiny
/// image asked for at 1/2 may be decoded at 1/8 when that gives the same
/// size).
fn idct_size(full: (usize, usize), want: (usize, usize)) -> usize {
    [1, 2, 4]
        .into_iter()
        .find(|&k| scaled(full.0, k) >= want.0 || scaled(full.1, k) >= want.1)
        .unwrap_or(8)
}
