//! From kept coefficients to RGBA: the reduced inverse DCTs, chroma
//! upsampling and YCbCr -> RGB, every step on all cores.
//!
//! Each step is `jpeg-decoder` 0.3's arithmetic, so the pixels are the ones
//! it gives: its 4x4 and 2x2 transforms (Dugad and Ahuja, from libjpeg's
//! `jidctred.c`) and DC-only 1x1, its "fancy" triangle upsamplers, and its
//! colour conversion, which on x86 with SSSE3 converts all but the last 8
//! to 15 pixels of a row with 16-bit fixed point (`arch/ssse3.rs`) and the
//! rest with 20-bit fixed point (`decoder.rs`). The two round differently
//! by one level here and there; both are reproduced where it uses them.

use image::RgbaImage;
use rayon::prelude::*;

use super::k_point::{idct3, idct3_x8, idct_k, idct_up, LANES};
use super::scan::{Blocks, Layout, Sizes};
use crate::cpu::kernels::{self, Stage};

/// A frame component as the pixel stage needs it.
struct Component<'a> {
    /// Its first block slot in the MCU.
    base: usize,
    /// Kept coefficients per axis, the side of its transform's output
    /// ([`Layout::comp_k`]).
    k: usize,
    /// Samples per row of its plane (whole MCUs).
    stride: usize,
    /// Its size as jpeg-decoder computes it (for edge handling).
    width: usize,
    height: usize,
    h: usize,
    v: usize,
    quant: &'a [u16; 64],
    upsample: Upsample,
}

impl Component<'_> {
    /// The MCU rows `[from, to)` whose blocks output rows `first..=last`
    /// read (`mcus_y`: MCU rows in all).
    fn mcu_rows(&self, first: usize, last: usize, mcus_y: usize) -> (usize, usize) {
        let (lo, hi) = self.upsample.rows_read(first, last, self.height);
        let per_mcu = self.v * self.k;
        (lo / per_mcu, (hi / per_mcu + 1).min(mcus_y))
    }
}

/// Rows `first..` of one component's plane, as many as a band needs.
struct Plane {
    data: Vec<u8>,
    stride: usize,
    first: usize,
    width: usize,
    height: usize,
}

impl Plane {
    /// Row `r` of the plane (at least `first`), from its first sample.
    fn row(&self, r: usize) -> &[u8] {
        &self.data[(r - self.first) * self.stride..]
    }
}

/// Rows `rows` (`[first, end)`, within `out_h`) of the decoded image at
/// 1/`8 / k` scale (`k` = [`Layout::k`]), `out_w` pixels wide.
///
/// Bands of MCU rows on all cores; each band transforms its blocks (and,
/// for a component upsampled vertically, one MCU row above and below it)
/// into small planes of its own, then upsamples and converts them into
/// its rows of the image. So no plane of the whole image is ever written:
/// the band's planes stay in cache, and the only large buffer is the
/// output. Blocks no output row reads are not transformed.
pub(super) fn render(
    layout: &Layout,
    coefs: &Blocks,
    (out_w, out_h): (usize, usize),
    (first, end): (usize, usize),
) -> RgbaImage {
    let (_, vm) = layout.header.max_factors();
    let k = layout.k;
    let comps = components(layout, (out_w, out_h));
    let vector_pixels = vector_prefix(out_w);
    // About 64 output rows a band: the extra MCU rows a band transforms for
    // vertical upsampling cost a quarter of its chroma blocks or less.
    let band_rows = (64 / (vm * k)).max(2) * vm * k;
    let end = end.min(out_h);
    let first = first.min(end);
    let mut img = vec![0u8; out_w * (end - first) * 4];
    // The output split where the bands of the whole image split it.
    let mut bands = Vec::new();
    let mut rest = &mut img[..];
    let mut y = first;
    while y < end {
        let next = ((y / band_rows + 1) * band_rows).min(end);
        let (band, tail) = rest.split_at_mut((next - y) * out_w * 4);
        bands.push((y, band));
        (rest, y) = (tail, next);
    }
    bands.into_par_iter().for_each(|(first_y, rows)| {
        kernels::vectorised(Band {
            layout,
            coefs,
            comps: &comps,
            out_w,
            vector_pixels,
            first_y,
            rows,
        });
    });
    // The buffer is exactly out_w x (end - first) x 4 bytes.
    RgbaImage::from_raw(out_w as u32, (end - first) as u32, img).unwrap_or_default()
}

/// One band of [`render`]'s output: its blocks transformed into planes of
/// its own, upsampled and converted into `rows` (output rows from
/// `first_y`). A [`Stage`] so that its integer loops are compiled for AVX2
/// where the processor has it (same pixels either way).
struct Band<'a, 'h> {
    layout: &'a Layout<'h>,
    coefs: &'a Blocks,
    comps: &'a [Component<'h>],
    out_w: usize,
    vector_pixels: usize,
    first_y: usize,
    rows: &'a mut [u8],
}

impl Stage for Band<'_, '_> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        let Band {
            layout,
            coefs,
            comps,
            out_w,
            vector_pixels,
            first_y,
            rows,
        } = self;
        let mcus_y = layout.header.mcus().1;
        let last_y = first_y + rows.len() / (out_w * 4) - 1;
        // Plain loops, no closures: everything here is compiled into the
        // stage's wide copy (see `kernels::Stage`).
        let mut planes = Vec::with_capacity(comps.len());
        for c in comps {
            let (my0, my1) = c.mcu_rows(first_y, last_y, mcus_y);
            let per_mcu = c.v * c.k;
            let mut data = vec![0u8; c.stride * (my1 - my0) * per_mcu];
            for (my, band) in (my0..my1).zip(data.chunks_exact_mut(per_mcu * c.stride)) {
                transform_mcu_row(layout, coefs, c, my, band);
            }
            planes.push(Plane {
                data,
                stride: c.stride,
                first: my0 * per_mcu,
                width: c.width,
                height: c.height,
            });
        }
        let mut lines = vec![vec![0u8; out_w * 2 + 2]; planes.len()];
        let mut cols = Vec::with_capacity(out_w + 1);
        for (r, out) in rows.chunks_exact_mut(out_w * 4).enumerate() {
            let y = first_y + r;
            for ((p, c), line) in planes.iter().zip(comps).zip(&mut lines) {
                c.upsample.row(p, y, out_w, line, &mut cols);
            }
            if let [l] = &lines[..] {
                for (px, &g) in out.chunks_exact_mut(4).zip(&l[..out_w]) {
                    px.copy_from_slice(&[g, g, g, 255]);
                }
            } else {
                ycbcr_row(&lines[0], &lines[1], &lines[2], vector_pixels, out);
            }
        }
    }
}

/// How many MCU rows from the top [`render`] reads to make output rows
/// `[first, end)` (non-empty, within `out_h`) of an `out_w` x `out_h` image.
pub(super) fn mcu_rows_read(
    layout: &Layout,
    (out_w, out_h): (usize, usize),
    (first, end): (usize, usize),
) -> usize {
    let mcus_y = layout.header.mcus().1;
    components(layout, (out_w, out_h))
        .iter()
        .map(|c| c.mcu_rows(first, end - 1, mcus_y).1)
        .max()
        .unwrap_or(mcus_y)
}

/// The frame's components as the pixel stage needs them, for an `out_w` x
/// `out_h` output.
fn components<'h>(layout: &Layout<'h>, (out_w, out_h): (usize, usize)) -> Vec<Component<'h>> {
    let h = layout.header;
    let (hm, vm) = h.max_factors();
    let (mcus_x, _) = h.mcus();
    h.components
        .iter()
        .enumerate()
        .map(|(fi, c)| {
            // The component's first slot in the MCU: after the components
            // the scan lists before it.
            let scan_index = h.scan.iter().position(|s| s.frame_index == fi).unwrap_or(0);
            let k = layout.comp_k[fi];
            // A component transformed at twice the luma's scale (4:2:0
            // chroma) comes out at the luma's resolution: no upsampling.
            let upsample = if k == layout.k {
                Upsample::choose((c.h, c.v), (hm, vm), out_w, out_h)
            } else {
                Upsample::H1V1
            };
            Component {
                base: (0..layout.bpm)
                    .position(|s| layout.slot_component(s) == scan_index)
                    .unwrap_or(0),
                k,
                stride: mcus_x * c.h * k,
                width: (h.width * c.h * k).div_ceil(hm * 8),
                height: (h.height * c.v * k).div_ceil(vm * 8),
                h: c.h,
                v: c.v,
                quant: &h.quant[c.tq],
                upsample,
            }
        })
        .collect()
}

/// Component `c`'s blocks of MCU row `my`, each block's reduced inverse DCT
/// written at its place in `out` (the row's `c.v * k` plane rows).
#[inline(always)]
fn transform_mcu_row(layout: &Layout, coefs: &Blocks, c: &Component, my: usize, out: &mut [u8]) {
    let (k, sizes, bpm) = (c.k, &layout.sizes, layout.bpm);
    let mcus_x = c.stride / (c.h * k);
    let row_blocks = mcus_x * bpm;
    let run = coefs.run(my * row_blocks, row_blocks);
    // `header::parse` admits sampling factors of 1 and 2 only, so the
    // block column's MCU and place in it are a shift and a mask.
    let h_shift = c.h.trailing_zeros();
    for vb in 0..c.v {
        // Block column `bx`'s place in the row: its MCU, then its slot.
        let (first, slot0, h_mask) = (my * row_blocks, c.base + vb * c.h, c.h - 1);
        // Block column `bx`: its MCU in the row and its slot.
        let index = |bx: usize| (bx >> h_shift, slot0 + (bx & h_mask));
        let out = &mut out[vb * k * c.stride..];
        let columns = mcus_x * c.h;
        let mut bx = 0;
        if k == 3 {
            while bx + LANES <= columns {
                // A plain loop (no `array::from_fn`, whose closure was
                // called from the stage rather than compiled into it).
                let mut lanes: [&[i16; 9]; LANES] = [&[0; 9]; LANES];
                for (b, lane) in lanes.iter_mut().enumerate() {
                    let block = block_at(coefs, run, sizes, first, index(bx + b));
                    // Blocks hold at least k * k + 1 values, so the zeros are never read.
                    *lane = block.first_chunk::<9>().unwrap_or(&[0; 9]);
                }
                idct3_x8(lanes, c.quant, &mut out[bx * 3..], c.stride);
                bx += LANES;
            }
        }
        for bx in bx..columns {
            let out = &mut out[bx * k..];
            let block = block_at(coefs, run, sizes, first, index(bx));
            match k {
                4 => idct4(block, c.quant, out, c.stride),
                2 => idct2(block, c.quant, out, c.stride),
                1 => idct1(block, c.quant, out, layout.round_dc),
                3 => idct3(block, c.quant, out, c.stride),
                5 => idct_k::<5>(block, c.quant, out, c.stride),
                6 => idct_k::<6>(block, c.quant, out, c.stride),
                7 => idct_k::<7>(block, c.quant, out, c.stride),
                // 4:2:0 chroma at 5/8: the whole block drawn at twice the
                // luma's scale.
                10 => idct_up::<10>(block, c.quant, out, c.stride),
                // 4:2:0 chroma at 1/2: the whole block.
                _ => idct_k::<8>(block, c.quant, out, c.stride),
            }
        }
    }
}

/// The block in slot `slot` of MCU `mcu` of the MCU row whose first block
/// is `first`: from `run`, the row's blocks as one slice, when one part
/// holds them all. A function rather than a closure so that it is compiled
/// into the pixel stage's AVX2 copy (`kernels::Stage`) instead of being
/// called from it.
#[inline(always)]
fn block_at<'c>(
    coefs: &'c Blocks,
    run: Option<&'c [i16]>,
    sizes: &Sizes,
    first: usize,
    (mcu, slot): (usize, usize),
) -> &'c [i16] {
    match run {
        Some(run) => {
            let (at, len) = sizes.in_mcu(mcu, slot);
            &run[at..][..len]
        }
        None => coefs.block(first + mcu * sizes.bpm() + slot),
    }
}

/// The 4x4 transform's fixed-point scales (jpeg-decoder's).
const CONST_BITS: u32 = 12;
const PASS1_BITS: u32 = 2;
const FINAL_BITS: u32 = CONST_BITS + PASS1_BITS + 3;

fn f2f12(x: f32) -> i32 {
    (x * 4096.0 + 0.5) as i32
}

#[inline(always)]
fn clamp(x: i32) -> u8 {
    x.clamp(0, 255) as u8
}

/// jpeg-decoder's `dequantize_and_idct_block_4x4`; `c` holds the kept 4x4
/// corner row by row, `q` the table in natural order. (Its constants are
/// kept digit for digit; as `f32` they round the same either way.)
#[allow(clippy::excessive_precision)]
#[inline(always)]
pub(super) fn idct4(c: &[i16], q: &[u16; 64], out: &mut [u8], stride: usize) {
    let (k0, k1, k2) = (f2f12(0.541196100), f2f12(-1.847759065), f2f12(0.765366865));
    let bias = (1 << (FINAL_BITS - 1)) + (128 << FINAL_BITS);
    if c[1..16].iter().all(|&v| v == 0) {
        // Only DC: both passes reduce to this one value (the same wrapping
        // arithmetic with every other input zero).
        let s0 = i32::from(c[0]).wrapping_mul(i32::from(q[0]));
        let v = clamp(((s0 << PASS1_BITS) << CONST_BITS).wrapping_add(bias) >> FINAL_BITS);
        for row in out.chunks_mut(stride).take(4) {
            row[..4].fill(v);
        }
        return;
    }
    let k = [k0, k1, k2];
    let px = kernels::idct4_reduced(c, q, k, bias).unwrap_or_else(|| idct4_scalar(c, q, k, bias));
    for (i, row) in px.chunks_exact(4).enumerate() {
        out[i * stride..][..4].copy_from_slice(row);
    }
}

/// [`idct4`]'s two passes one value at a time (where
/// [`kernels::idct4_reduced`] does not run, and its reference in tests).
#[inline(always)]
pub(super) fn idct4_scalar(
    c: &[i16],
    q: &[u16; 64],
    [k0, k1, k2]: [i32; 3],
    bias: i32,
) -> [u8; 16] {
    let dq =
        |r: usize, col: usize| i32::from(c[r * 4 + col]).wrapping_mul(i32::from(q[r * 8 + col]));
    let (mut t, mut out) = ([0i32; 16], [0u8; 16]);
    for i in 0..4 {
        let (s0, s1, s2, s3) = (dq(0, i), dq(1, i), dq(2, i), dq(3, i));
        let x0 = s0.wrapping_add(s2) << PASS1_BITS;
        let x2 = s0.wrapping_sub(s2) << PASS1_BITS;
        let p1 = s1.wrapping_add(s3).wrapping_mul(k0);
        let t0 =
            p1.wrapping_add(s3.wrapping_mul(k1)).wrapping_add(512) >> (CONST_BITS - PASS1_BITS);
        let t2 =
            p1.wrapping_add(s1.wrapping_mul(k2)).wrapping_add(512) >> (CONST_BITS - PASS1_BITS);
        t[i] = x0.wrapping_add(t2);
        t[i + 12] = x0.wrapping_sub(t2);
        t[i + 4] = x2.wrapping_add(t0);
        t[i + 8] = x2.wrapping_sub(t0);
    }
    for i in 0..4 {
        let (s0, s1, s2, s3) = (t[i * 4], t[i * 4 + 1], t[i * 4 + 2], t[i * 4 + 3]);
        let x0 = (s0.wrapping_add(s2) << CONST_BITS).wrapping_add(bias);
        let x2 = (s0.wrapping_sub(s2) << CONST_BITS).wrapping_add(bias);
        let p1 = s1.wrapping_add(s3).wrapping_mul(k0);
        let t0 = p1.wrapping_add(s3.wrapping_mul(k1));
        let t2 = p1.wrapping_add(s1.wrapping_mul(k2));
        let row = &mut out[i * 4..][..4];
        row[0] = clamp(x0.wrapping_add(t2) >> FINAL_BITS);
        row[3] = clamp(x0.wrapping_sub(t2) >> FINAL_BITS);
        row[1] = clamp(x2.wrapping_add(t0) >> FINAL_BITS);
        row[2] = clamp(x2.wrapping_sub(t0) >> FINAL_BITS);
    }
    out
}

/// jpeg-decoder's `dequantize_and_idct_block_2x2`.
#[inline(always)]
pub(super) fn idct2(c: &[i16], q: &[u16; 64], out: &mut [u8], stride: usize) {
    const SCALE_BITS: u32 = 3;
    let dq = |i: usize, n: usize| i32::from(c[i]).wrapping_mul(i32::from(q[n]));
    let (s00, s10, s01, s11) = (dq(0, 0), dq(2, 8), dq(1, 1), dq(3, 9));
    let bias = (1 << (SCALE_BITS - 1)) + (128 << SCALE_BITS);
    let x0 = s00.wrapping_add(s10).wrapping_add(bias);
    let x2 = s00.wrapping_sub(s10).wrapping_add(bias);
    let (x1, x3) = (s01.wrapping_add(s11), s01.wrapping_sub(s11));
    out[0] = clamp(x0.wrapping_add(x1) >> SCALE_BITS);
    out[1] = clamp(x0.wrapping_sub(x1) >> SCALE_BITS);
    out[stride] = clamp(x2.wrapping_add(x3) >> SCALE_BITS);
    out[stride + 1] = clamp(x2.wrapping_sub(x3) >> SCALE_BITS);
}

/// jpeg-decoder's `dequantize_and_idct_block_1x1` (a division that
/// truncates, as there) or, with `round`, the same rounded to nearest, as
/// libjpeg's `jpeg_idct_1x1` (`DESCALE`) does.
#[inline(always)]
pub(super) fn idct1(c: &[i16], q: &[u16; 64], out: &mut [u8], round: bool) {
    let s = i32::from(c[0])
        .wrapping_mul(i32::from(q[0]))
        .wrapping_add(128 * 8);
    out[0] = clamp(if round { s.wrapping_add(4) >> 3 } else { s / 8 });
}

/// jpeg-decoder's choice of upsampler for a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Upsample {
    H1V1,
    H2V1,
    H1V2,
    H2V2,
}

impl Upsample {
    fn choose(f: (usize, usize), max: (usize, usize), out_w: usize, out_h: usize) -> Upsample {
        let h1 = f.0 == max.0 || out_w == 1;
        let v1 = f.1 == max.1 || out_h == 1;
        // `header::parse` admits factors of 1 and 2 only, so a factor that
        // is not the maximum is half of it.
        match (h1, v1) {
            (true, true) => Upsample::H1V1,
            (false, true) => Upsample::H2V1,
            (true, false) => Upsample::H1V2,
            (false, false) => Upsample::H2V2,
        }
    }

    /// The first and last plane rows (of a plane `height` rows high) that
    /// output rows `first..=last` read.
    fn rows_read(self, first: usize, last: usize, height: usize) -> (usize, usize) {
        match self {
            Upsample::H1V1 | Upsample::H2V1 => (first, last),
            // Each output row reads its near row (half its index) and the
            // far one next to it, within the plane.
            Upsample::H1V2 | Upsample::H2V2 => (
                (first / 2).saturating_sub(1),
                (last / 2 + 1).min(height.saturating_sub(1)),
            ),
        }
    }

    /// Output row `y` of plane `p`, at least `out_w` samples, into `line`
    /// (`cols`: scratch).
    #[inline(always)]
    fn row(self, p: &Plane, y: usize, out_w: usize, line: &mut [u8], cols: &mut Vec<u32>) {
        let at = |r: usize| p.row(r);
        // jpeg-decoder's near and far rows for vertical upsampling.
        let near_far = || {
            let near = y / 2;
            let far = if y.is_multiple_of(2) {
                near.saturating_sub(1)
            } else {
                (near + 1).min(p.height - 1)
            };
            (at(near), at(far))
        };
        match self {
            Upsample::H1V1 => line[..out_w].copy_from_slice(&at(y)[..out_w]),
            Upsample::H2V1 => h2(&at(y)[..p.width], line),
            Upsample::H1V2 => {
                let (near, far) = near_far();
                for ((o, &n), &f) in line[..out_w]
                    .iter_mut()
                    .zip(&near[..out_w])
                    .zip(&far[..out_w])
                {
                    *o = ((3 * u32::from(n) + u32::from(f) + 2) >> 2) as u8;
                }
            }
            Upsample::H2V2 => {
                let (near, far) = near_far();
                h2v2(&near[..p.width], &far[..p.width], cols, line);
            }
        }
    }
}

/// jpeg-decoder's `UpsamplerH2V1` of one row.
#[inline(always)]
fn h2(input: &[u8], out: &mut [u8]) {
    let w = input.len();
    if w == 1 {
        out[..2].copy_from_slice(&[input[0], input[0]]);
        return;
    }
    out[0] = input[0];
    out[1] = ((u32::from(input[0]) * 3 + u32::from(input[1]) + 2) >> 2) as u8;
    for i in 1..w - 1 {
        let sample = 3 * u32::from(input[i]) + 2;
        out[i * 2] = ((sample + u32::from(input[i - 1])) >> 2) as u8;
        out[i * 2 + 1] = ((sample + u32::from(input[i + 1])) >> 2) as u8;
    }
    out[(w - 1) * 2] = ((u32::from(input[w - 1]) * 3 + u32::from(input[w - 2]) + 2) >> 2) as u8;
    out[(w - 1) * 2 + 1] = input[w - 1];
}

/// jpeg-decoder's `UpsamplerH2V2` of one row from its near and far rows
/// (`cols`: scratch for the vertical sums).
#[inline(always)]
fn h2v2(near: &[u8], far: &[u8], cols: &mut Vec<u32>, out: &mut [u8]) {
    let w = near.len();
    cols.clear();
    cols.extend(
        near.iter()
            .zip(far)
            .map(|(&n, &f)| 3 * u32::from(n) + u32::from(f)),
    );
    if w == 1 {
        let v = ((cols[0] + 2) >> 2) as u8;
        out[..2].copy_from_slice(&[v, v]);
        return;
    }
    out[0] = ((cols[0] + 2) >> 2) as u8;
    for (pair, t) in out[1..2 * w - 1].chunks_exact_mut(2).zip(cols.windows(2)) {
        pair[0] = ((3 * t[0] + t[1] + 8) >> 4) as u8;
        pair[1] = ((3 * t[1] + t[0] + 8) >> 4) as u8;
    }
    out[w * 2 - 1] = ((cols[w - 1] + 2) >> 2) as u8;
}

/// How many pixels of an `out_w`-pixel row jpeg-decoder converts with its
/// SSSE3 routine (none where it does not use one).
fn vector_prefix(out_w: usize) -> usize {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    if std::is_x86_feature_detected!("ssse3") {
        return (out_w / 8).saturating_sub(1) * 8;
    }
    let _ = out_w;
    0
}

/// One row of YCbCr lines to RGBA: the first `vector` pixels as
/// jpeg-decoder's SSSE3 code rounds, the rest as its scalar code does.
#[inline(always)]
fn ycbcr_row(y: &[u8], cb: &[u8], cr: &[u8], vector: usize, out: &mut [u8]) {
    let n = out.len() / 4;
    let (head, tail) = out.split_at_mut(vector * 4);
    convert(&y[..vector], &cb[..vector], &cr[..vector], head, ycc_16bit);
    convert(
        &y[vector..n],
        &cb[vector..n],
        &cr[vector..n],
        tail,
        ycc_20bit,
    );
}

/// `f` over every pixel, sixteen at a time into packed RGBA words so the
/// compiler can keep the arithmetic in vector registers.
#[inline(always)]
fn convert(y: &[u8], cb: &[u8], cr: &[u8], out: &mut [u8], f: fn(u8, u8, u8) -> [u8; 3]) {
    const L: usize = 16;
    let pack = |y: u8, cb: u8, cr: u8| {
        let [r, g, b] = f(y, cb, cr);
        u32::from_le_bytes([r, g, b, 255])
    };
    let mut o = out.chunks_exact_mut(4 * L);
    let (mut yc, mut bc, mut rc) = (y.chunks_exact(L), cb.chunks_exact(L), cr.chunks_exact(L));
    for (((o, y), cb), cr) in o
        .by_ref()
        .zip(yc.by_ref())
        .zip(bc.by_ref())
        .zip(rc.by_ref())
    {
        let mut px = [0u32; L];
        for i in 0..L {
            px[i] = pack(y[i], cb[i], cr[i]);
        }
        for (o, p) in o.chunks_exact_mut(4).zip(px) {
            o.copy_from_slice(&p.to_le_bytes());
        }
    }
    let rest = o.into_remainder().chunks_exact_mut(4);
    for (o, ((&y, &cb), &cr)) in rest.zip(
        yc.remainder()
            .iter()
            .zip(bc.remainder())
            .zip(rc.remainder()),
    ) {
        o.copy_from_slice(&pack(y, cb, cr).to_le_bytes());
    }
}

/// jpeg-decoder's SSSE3 conversion, lane by lane: 16-bit samples scaled by
/// 64, `_mm_mulhrs_epi16` products (which never saturate for 8-bit input:
/// every sum stays within +-31 000).
#[inline(always)]
fn ycc_16bit(y: u8, cb: u8, cr: u8) -> [u8; 3] {
    let y = (i32::from(y) << 6) + 32;
    let cb = (i32::from(cb) - 128) << 6;
    let cr = (i32::from(cr) - 128) << 6;
    let mulhrs = |a: i32, b: i32| (a * b + 0x4000) >> 15;
    let r = y + mulhrs(cr, 13173) + cr;
    let g = y - (mulhrs(cb, 11276) + mulhrs(cr, 23401));
    let b = y + mulhrs(cb, 25297) + cb;
    [clamp(r >> 6), clamp(g >> 6), clamp(b >> 6)]
}

fn f2f20(x: f32) -> i32 {
    (x * ((1 << 20) as f32) + 0.5) as i32
}

/// jpeg-decoder's scalar `ycbcr_to_rgb` (20-bit fixed point, BT.601).
#[inline(always)]
fn ycc_20bit(y: u8, cb: u8, cr: u8) -> [u8; 3] {
    let y = (i32::from(y) << 20) + (1 << 19);
    let (cb, cr) = (i32::from(cb) - 128, i32::from(cr) - 128);
    let fix = |v: i32| clamp(v >> 20);
    [
        fix(y + f2f20(1.40200) * cr),
        fix(y - f2f20(0.34414) * cb - f2f20(0.71414) * cr),
        fix(y + f2f20(1.77200) * cb),
    ]
}
