//! A baseline JPEG written from its quantised DCT blocks: what the GPU's
//! JPEG pass computes (colour conversion, chroma subsampling, the forward
//! DCT and quantisation, `shaders/jpeg_blocks.wgsl`), leaving only the
//! entropy coding to the CPU.
//!
//! Given the blocks `jpeg-encoder` computes, the file is byte for byte the
//! one [`super::jpeg::encode_over_white`] writes for the same straight RGBA
//! pixels (a test checks it on many sizes, qualities and alphas): the
//! headers are `jpeg-encoder`'s own (taken from a one-pixel encode, its
//! size patched), the quantisation and Huffman tables are read back out of
//! them, the blocks follow `jpeg-encoder`'s arithmetic (its fixed-point
//! colour conversion, top-left chroma sample, libjpeg's integer "islow"
//! DCT, its reciprocal quantiser), and the entropy-coded data is cut into
//! the same restart strips and coded in parallel. The GPU computes
//! libjpeg's exact DCT where `jpeg-encoder`'s AVX2 DCT rounds a few
//! coefficients down (ARCHITECTURE.md, "JPEG on the GPU"), so there a GPU
//! JPEG can differ from the CPU's by one step in those coefficients.

use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use super::jpeg::{encoder, layout, sampling, strips, JpegError, STRIP_PIXELS};

/// Where coefficient `k` of a block's zigzag order sits in its natural
/// (row-major) order.
pub(crate) const ZIGZAG: [u8; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// How an image is cut into MCUs and blocks at a quality: 4:2:0 (MCUs of
/// 16x16 pixels, four luma blocks then one Cb and one Cr) below quality 90,
/// 4:4:4 (8x8, one block of each) from 90, as `jpeg-encoder` is set up.
/// The blocks are stored MCU by MCU in raster order, each block's 64
/// coefficients in zigzag order, the luma blocks of an MCU row-major.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BlockLayout {
    /// The image's width in pixels.
    pub width: u16,
    /// The image's height in pixels.
    pub height: u16,
    /// The quality, 1..=100.
    pub quality: u8,
}

impl BlockLayout {
    /// The layout of a `width` x `height` image at `quality` (clamped to
    /// 1..=100), or an error when JPEG cannot hold the size.
    pub fn new(width: u32, height: u32, quality: u8) -> Result<BlockLayout, JpegError> {
        if width == 0 || height == 0 {
            return Err(JpegError::Empty { width, height });
        }
        let too_large = || JpegError::TooLarge { width, height };
        Ok(BlockLayout {
            width: u16::try_from(width).map_err(|_| too_large())?,
            height: u16::try_from(height).map_err(|_| too_large())?,
            quality: quality.clamp(1, 100),
        })
    }

    /// Whether chroma is subsampled 2x2 (4:2:0).
    pub fn subsampled(&self) -> bool {
        sampling(self.quality) == jpeg_encoder::SamplingFactor::F_2_2
    }

    /// An MCU's side in pixels.
    pub fn mcu_side(&self) -> u32 {
        if self.subsampled() {
            16
        } else {
            8
        }
    }

    /// MCUs across.
    pub fn mcu_cols(&self) -> u32 {
        u32::from(self.width).div_ceil(self.mcu_side())
    }

    /// MCU rows.
    pub fn mcu_rows(&self) -> u32 {
        u32::from(self.height).div_ceil(self.mcu_side())
    }

    /// Blocks in one MCU.
    pub fn blocks_per_mcu(&self) -> u32 {
        if self.subsampled() {
            6
        } else {
            3
        }
    }

    /// Every block of the image.
    pub fn blocks(&self) -> u64 {
        u64::from(self.mcu_cols()) * u64::from(self.mcu_rows()) * u64::from(self.blocks_per_mcu())
    }
}

/// One Huffman table as an encoder uses it: each symbol's code length and
/// code (length 0: the symbol has no code).
type Codes = [(u8, u16); 256];

/// What a quality's file needs besides its blocks: `jpeg-encoder`'s headers
/// and the tables read out of them.
pub(crate) struct JpegTables {
    /// A one-pixel file's bytes up to its scan (SOI, JFIF, DQT, SOF0, DHT,
    /// SOS).
    head: Vec<u8>,
    /// Offset of the SOF0 marker in `head`.
    sof: usize,
    /// Offset of the SOS marker in `head`.
    sos: usize,
    /// The quantisers, as [`JpegTables::quantisers`] gives them.
    quantisers: [[i32; 4]; 128],
    /// DC luma, AC luma, DC chroma, AC chroma.
    codes: Box<[Codes; 4]>,
}

impl JpegTables {
    /// The tables `jpeg-encoder` writes at `quality` (1..=100).
    pub fn new(quality: u8) -> Result<JpegTables, JpegError> {
        let mut one = Vec::new();
        encoder(&mut one, quality, 0).encode(
            &[255, 255, 255],
            1,
            1,
            jpeg_encoder::ColorType::Rgb,
        )?;
        let at = layout(&one, 0)?;
        let bad = |what| JpegError::Tables { quality, what };
        let mut divisors = [[0u16; 64]; 2];
        let mut codes = Box::new([[(0u8, 0u16); 256]; 4]);
        let mut seen = [false; 6];
        let mut i = 2;
        while i < at.sos {
            let Some(&[0xFF, marker, hi, lo]) = one.get(i..i + 4) else {
                return Err(bad("marker segments run off the end"));
            };
            let end = i + 2 + usize::from(u16::from_be_bytes([hi, lo]));
            let body = one.get(i + 4..end).ok_or_else(|| bad("segment too long"))?;
            match marker {
                0xDB => read_dqt(body, &mut divisors, &mut seen)
                    .ok_or_else(|| bad("a DQT segment is not two 8-bit tables of 64"))?,
                0xC4 => read_dht(body, &mut codes, &mut seen)
                    .ok_or_else(|| bad("a DHT segment is not tables 0 and 1 of DC and AC"))?,
                _ => {}
            }
            i = end;
        }
        if seen.contains(&false) {
            return Err(bad("a quantisation or Huffman table is missing"));
        }
        let mut quantisers = [[0i32; 4]; 128];
        for (t, table) in divisors.iter().enumerate() {
            for (k, &z) in ZIGZAG.iter().enumerate() {
                let (reciprocal, correction) = reciprocal(u32::from(table[usize::from(z)]));
                quantisers[t * 64 + k] = [reciprocal, correction, i32::from(z), 0];
            }
        }
        Ok(JpegTables {
            head: one[..at.scan].to_vec(),
            sof: at.sof,
            sos: at.sos,
            quantisers,
            codes,
        })
    }

    /// [`JpegTables::new`], kept for the process: at most one per quality
    /// (100), about 5 KiB each.
    pub fn cached(quality: u8) -> Result<Arc<JpegTables>, JpegError> {
        static CACHE: Mutex<Vec<(u8, Arc<JpegTables>)>> = Mutex::new(Vec::new());
        let quality = quality.clamp(1, 100);
        let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, t)) = cache.iter().find(|(q, _)| *q == quality) {
            return Ok(Arc::clone(t));
        }
        let tables = Arc::new(JpegTables::new(quality)?);
        cache.push((quality, Arc::clone(&tables)));
        Ok(tables)
    }

    /// The quantiser of table `t` (0 luma, 1 chroma) for each coefficient
    /// in zigzag order, as the GPU pass reads it: `jpeg-encoder`'s
    /// reciprocal and rounding correction for the divisor, and the
    /// coefficient's natural index. Computed once, when the tables are
    /// read (each divisor is the table's value times 8, as the DCT leaves
    /// its output scaled by 8).
    pub fn quantisers(&self) -> &[[i32; 4]; 128] {
        &self.quantisers
    }
}

/// Reads a DQT segment's 8-bit tables (written in zigzag order).
fn read_dqt(mut body: &[u8], divisors: &mut [[u16; 64]; 2], seen: &mut [bool; 6]) -> Option<()> {
    while let [pq_tq, rest @ ..] = body {
        let t = usize::from(pq_tq & 0x0F);
        if pq_tq >> 4 != 0 || t > 1 || rest.len() < 64 {
            return None;
        }
        for (k, &v) in rest[..64].iter().enumerate() {
            divisors[t][usize::from(ZIGZAG[k])] = u16::from(v) << 3;
        }
        seen[t] = true;
        body = &rest[64..];
    }
    Some(())
}

/// Reads a DHT segment's tables into canonical codes (JPEG's Annex C).
fn read_dht(mut body: &[u8], codes: &mut [Codes; 4], seen: &mut [bool; 6]) -> Option<()> {
    while let [tc_th, rest @ ..] = body {
        let (class, id) = (usize::from(tc_th >> 4), usize::from(tc_th & 0x0F));
        if class > 1 || id > 1 || rest.len() < 16 {
            return None;
        }
        let counts = &rest[..16];
        let n: usize = counts.iter().map(|&c| usize::from(c)).sum();
        let values = rest.get(16..16 + n)?;
        let table = &mut codes[id * 2 + class];
        let mut code = 0u32;
        let mut values = values.iter();
        for (len, &count) in (1u8..=16).zip(counts) {
            for _ in 0..count {
                let &symbol = values.next()?;
                table[usize::from(symbol)] = (len, u16::try_from(code).ok()?);
                code += 1;
            }
            code <<= 1;
        }
        seen[2 + id * 2 + class] = true;
        body = &rest[16 + n..];
    }
    Some(())
}

/// `jpeg-encoder`'s quantiser for `divisor`: `(|x| + correction) *
/// reciprocal >> 15` is `|x| / divisor` rounded to nearest.
fn reciprocal(divisor: u32) -> (i32, i32) {
    const SHIFT: u32 = 15;
    if divisor <= 1 {
        return (1, 0);
    }
    let mut reciprocal = (1 << SHIFT) / divisor;
    let fractional = (1 << SHIFT) % divisor;
    let mut correction = divisor / 2;
    if fractional != 0 {
        if fractional <= correction {
            correction += 1;
        } else {
            reciprocal += 1;
        }
    }
    // Both below 2^15.
    (reciprocal as i32, correction as i32)
}

/// The JPEG file of `blocks` (laid out as [`BlockLayout`] says), with
/// `tables` for the layout's quality: the same bytes as
/// [`super::jpeg::encode_over_white`] writes for the same blocks. Blocks
/// that do not fill the image, or that hold values baseline JPEG cannot
/// code, are an error (never a panic, never a corrupt file).
pub(crate) fn write_jpeg(
    blocks: &[i16],
    layout: BlockLayout,
    tables: &JpegTables,
) -> Result<Vec<u8>, JpegError> {
    let per_mcu = layout.blocks_per_mcu() as usize * 64;
    let mcus = layout.mcu_cols() as usize * layout.mcu_rows() as usize;
    if blocks.len() != mcus * per_mcu {
        return Err(JpegError::BlockCount {
            width: layout.width,
            height: layout.height,
            quality: layout.quality,
            want: mcus * per_mcu,
            got: blocks.len(),
        });
    }
    let plan = strips(layout.width, layout.height, layout.quality, STRIP_PIXELS);
    let strip_mcus = plan.map_or(mcus.max(1), |p| usize::from(p.mcus));
    let strip_blocks = strip_mcus * per_mcu / 64;
    let parts: Vec<Vec<u8>> = blocks
        .par_chunks(strip_mcus * per_mcu)
        .enumerate()
        .map(|(i, strip)| {
            entropy_code(strip, layout.subsampled(), &tables.codes).map_err(|b| {
                JpegError::Coefficient {
                    block: i * strip_blocks + b,
                }
            })
        })
        .collect::<Result<_, _>>()?;
    let scans: usize = parts.iter().map(Vec::len).sum();
    let mut out = Vec::with_capacity(tables.head.len() + 6 + scans + 2 * parts.len() + 2);
    out.extend_from_slice(&tables.head[..tables.sos]);
    // SOF0: FF C0, length (2), precision (1), height (2), width (2).
    let sof = tables.sof;
    out[sof + 5..sof + 7].copy_from_slice(&layout.height.to_be_bytes());
    out[sof + 7..sof + 9].copy_from_slice(&layout.width.to_be_bytes());
    if let Some(p) = plan {
        out.extend_from_slice(&[0xFF, 0xDD, 0x00, 0x04]);
        out.extend_from_slice(&p.mcus.to_be_bytes());
    }
    out.extend_from_slice(&tables.head[tables.sos..]);
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            // RSTn: n counts the restarts modulo 8.
            out.extend_from_slice(&[0xFF, 0xD0 + ((i - 1) % 8) as u8]);
        }
        out.extend_from_slice(part);
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    Ok(out)
}

/// The entropy-coded data of whole MCUs, starting with fresh DC
/// predictors and ending padded to a byte with 1-bits; or the index (in
/// these MCUs) of the first block holding a value the tables cannot code.
fn entropy_code(mcus: &[i16], subsampled: bool, codes: &[Codes; 4]) -> Result<Vec<u8>, usize> {
    let mut bits = BitWriter::with_capacity(mcus.len() / 4);
    let mut prev_dc = [0i16; 3];
    let luma_blocks = if subsampled { 4 } else { 1 };
    let per_mcu = luma_blocks + 2;
    for (m, mcu) in mcus.chunks_exact(per_mcu * 64).enumerate() {
        for (b, block) in mcu.chunks_exact(64).enumerate() {
            let c = b.saturating_sub(luma_blocks - 1);
            let t = usize::from(c > 0) * 2;
            // chunks_exact(64): the block has 64 coefficients.
            let block: &[i16; 64] = block.try_into().expect("a block of 64");
            if !bits.block(block, prev_dc[c], &codes[t], &codes[t + 1]) {
                return Err(m * per_mcu + b);
            }
            prev_dc[c] = block[0];
        }
    }
    Ok(bits.finish())
}

/// JPEG's bit stream: codes written most significant bit first, a 0x00
/// stuffed after every 0xFF byte.
struct BitWriter {
    out: Vec<u8>,
    /// The pending bits are the low `bits` bits.
    acc: u64,
    bits: u32,
}

impl BitWriter {
    fn with_capacity(bytes: usize) -> BitWriter {
        BitWriter {
            out: Vec::with_capacity(bytes),
            acc: 0,
            bits: 0,
        }
    }

    /// Appends the low `len` (at most 32) bits of `code`.
    #[inline(always)]
    fn put(&mut self, code: u32, len: u32) {
        self.acc = (self.acc << len) | u64::from(code);
        self.bits += len;
        if self.bits >= 32 {
            self.bits -= 32;
            self.word((self.acc >> self.bits) as u32);
        }
    }

    /// Writes four bytes, stuffing where one is 0xFF.
    #[inline(always)]
    fn word(&mut self, w: u32) {
        // Non-zero when some byte is 0xFF (and sometimes when none is).
        if w & 0x8080_8080 & !w.wrapping_add(0x0101_0101) == 0 {
            self.out.extend_from_slice(&w.to_be_bytes());
        } else {
            for b in w.to_be_bytes() {
                self.byte(b);
            }
        }
    }

    fn byte(&mut self, b: u8) {
        self.out.push(b);
        if b == 0xFF {
            self.out.push(0);
        }
    }

    /// One block (zigzag order) after a block of the same component whose
    /// DC was `prev_dc`; `false` (and bits not worth keeping) when a value
    /// has no code in the tables.
    #[inline(always)]
    fn block(&mut self, block: &[i16; 64], prev_dc: i16, dc: &Codes, ac: &Codes) -> bool {
        let (n, v) = category(i32::from(block[0]) - i32::from(prev_dc));
        // n <= 16 indexes the table; a category without a code has length 0.
        let (len, code) = dc[n as usize];
        let mut coded = len != 0;
        self.put((u32::from(code) << n) | v, u32::from(len) + n);
        // Bit k - 1 set: coefficient k is non-zero.
        let mut nonzero = nonzero_mask(block) >> 1;
        let mut next = 1;
        while nonzero != 0 {
            let k = nonzero.trailing_zeros() as usize + 1;
            nonzero &= nonzero - 1;
            let mut run = k - next;
            while run > 15 {
                let (len, code) = ac[0xF0];
                self.put(u32::from(code), u32::from(len));
                run -= 16;
            }
            let (n, v) = category(i32::from(block[k]));
            // AC values have at most 10 bits: symbols of sizes 11 to 15 have
            // no code (length 0), and size 16 (only -32768) is taken as 15.
            let (len, code) = ac[(run << 4) | (n as usize).min(15)];
            coded &= len != 0;
            self.put((u32::from(code) << n) | v, u32::from(len) + n);
            next = k + 1;
        }
        if next < 64 {
            let (len, code) = ac[0x00];
            self.put(u32::from(code), u32::from(len));
        }
        coded
    }

    /// Pads to a byte with 1-bits and returns the bytes.
    fn finish(mut self) -> Vec<u8> {
        self.put(0x7F, 7);
        while self.bits >= 8 {
            self.bits -= 8;
            self.byte((self.acc >> self.bits) as u8);
        }
        self.out
    }
}

/// Bit `k` set where coefficient `k` is non-zero: sixteen at a time, in a
/// form the compiler vectorises.
#[inline(always)]
fn nonzero_mask(block: &[i16; 64]) -> u64 {
    let mut mask = 0u64;
    for (i, chunk) in block.chunks_exact(16).enumerate() {
        let mut m = 0u16;
        for (j, &x) in chunk.iter().enumerate() {
            m |= u16::from(x != 0) << j;
        }
        mask |= u64::from(m) << (16 * i);
    }
    mask
}

/// A value's size category (bits of its magnitude) and its bits as JPEG
/// writes them (one's complement for negatives).
#[inline(always)]
fn category(x: i32) -> (u32, u32) {
    let n = 32 - x.unsigned_abs().leading_zeros();
    let bits = (x - i32::from(x < 0)) as u32 & ((1u32 << n) - 1);
    (n, bits)
}

#[cfg(test)]
#[path = "jpeg_blocks_tests.rs"]
pub(crate) mod tests;
