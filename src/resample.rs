//! Resampling of images on premultiplied colour.
//!
//! A separable filter (`lanczos3`, `bilinear` = triangle, `nearest`) maps a
//! straight-alpha 8-bit source to a premultiplied 16-bit image in the blend
//! space. Source pixels are premultiplied *before* they are filtered, so a
//! transparent pixel's colour never bleeds into its neighbours (no dark
//! fringes). When minifying, the filter is widened by the scale factor so every
//! source pixel contributes (no aliasing).
//!
//! The per-axis weight tables ([`AxisWeights`]) are the one definition of the
//! filter; a backend that resamples elsewhere uses the same tables.

use image::RgbaImage;
use rayon::prelude::*;

use crate::color::{premultiply_rgba8, BlendSpace};
use crate::scene::Filter;

/// A premultiplied image in the blend space, 16 bits per channel (unorm).
#[derive(Debug, Clone, PartialEq)]
pub struct PremulImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Row-major pixels, `[r, g, b, a]` premultiplied, 0..=65535.
    pub data: Vec<[u16; 4]>,
}

impl PremulImage {
    /// The pixel at `(x, y)` as floats in 0..=1.
    #[inline]
    pub fn get(&self, x: u32, y: u32) -> [f32; 4] {
        let p = self.data[(y * self.width + x) as usize];
        p.map(|v| v as f32 * (1.0 / 65535.0))
    }

    /// Bytes held.
    pub fn byte_size(&self) -> usize {
        self.data.len() * 8
    }
}

/// Stores a premultiplied float pixel as unorm16, keeping it valid
/// premultiplied colour (`0 <= c <= a <= 1`) after filter overshoot.
#[inline]
fn store16(p: [f32; 4]) -> [u16; 4] {
    let a = p[3].clamp(0.0, 1.0);
    let q = |v: f32| (v * 65535.0 + 0.5) as u16;
    [
        q(p[0].clamp(0.0, a)),
        q(p[1].clamp(0.0, a)),
        q(p[2].clamp(0.0, a)),
        q(a),
    ]
}

/// The filter's kernel, on distances measured in (possibly widened) pixels.
pub fn kernel(filter: Filter, x: f64) -> f64 {
    let x = x.abs();
    match filter {
        Filter::Nearest => {
            if x < 0.5 {
                1.0
            } else {
                0.0
            }
        }
        Filter::Bilinear => (1.0 - x).max(0.0),
        Filter::Lanczos3 => {
            if x == 0.0 {
                1.0
            } else if x >= 3.0 {
                0.0
            } else {
                let px = std::f64::consts::PI * x;
                3.0 * px.sin() * (px / 3.0).sin() / (px * px)
            }
        }
    }
}

fn support(filter: Filter) -> f64 {
    match filter {
        Filter::Nearest => 0.5,
        Filter::Bilinear => 1.0,
        Filter::Lanczos3 => 3.0,
    }
}

/// The filter weights along one axis: destination pixel `k` is
/// `sum_i weights[k * taps + i] * src[start[k] + i]`.
#[derive(Debug, Clone, PartialEq)]
pub struct AxisWeights {
    /// Taps per destination pixel (padded with zero weights).
    pub taps: usize,
    /// First source index of each destination pixel.
    pub start: Vec<u32>,
    /// `taps` weights per destination pixel, summing to 1.
    pub weights: Vec<f32>,
}

impl AxisWeights {
    /// Weights for `dst_len` destination pixels whose centres map to source
    /// coordinates `u(k) = u0 + (k + 0.5) * step` (source pixel `j` has its
    /// centre at `j + 0.5`), over a source of `src_len` pixels. Taps that fall
    /// outside the source are dropped and the rest renormalised.
    pub fn new(filter: Filter, src_len: u32, dst_len: u32, u0: f64, step: f64) -> AxisWeights {
        let widen = step.max(1.0);
        let reach = if filter == Filter::Nearest {
            0.5
        } else {
            support(filter) * widen
        };
        // More taps than source pixels can never carry weight.
        let taps = if filter == Filter::Nearest {
            1
        } else {
            ((2.0 * reach).ceil().min(src_len as f64 + 1.0)) as usize + 1
        };
        let mut start = Vec::with_capacity(dst_len as usize);
        let mut weights = vec![0f32; taps * dst_len as usize];
        let last = src_len as i64 - 1;
        for k in 0..dst_len as usize {
            let u = u0 + (k as f64 + 0.5) * step;
            if filter == Filter::Nearest {
                let j = (u.floor() as i64).clamp(0, last);
                start.push(j as u32);
                weights[k] = 1.0;
                continue;
            }
            // Source pixels whose centres lie within the reach of `u`.
            let lo = ((u - reach - 0.5).ceil() as i64).clamp(0, last);
            let hi = ((u + reach - 0.5).floor() as i64).clamp(0, last);
            let hi = hi.min(lo + taps as i64 - 1);
            let mut ws = [0f64; 64];
            let mut row: Vec<f64> = Vec::new();
            let buf: &mut [f64] = if taps <= 64 {
                &mut ws[..taps]
            } else {
                row.resize(taps, 0.0);
                &mut row
            };
            let mut sum = 0.0;
            for j in lo..=hi {
                let w = kernel(filter, (j as f64 + 0.5 - u) / widen);
                buf[(j - lo) as usize] = w;
                sum += w;
            }
            let dst = &mut weights[k * taps..(k + 1) * taps];
            if sum.abs() < 1e-9 {
                // Only possible far outside the source: take the nearest pixel.
                let j = (u.floor() as i64).clamp(0, last);
                start.push(j as u32);
                dst[0] = 1.0;
                continue;
            }
            start.push(lo as u32);
            for (d, w) in dst.iter_mut().zip(buf.iter()) {
                *d = (*w / sum) as f32;
            }
        }
        AxisWeights {
            taps,
            start,
            weights,
        }
    }

    /// Number of destination pixels.
    pub fn len(&self) -> usize {
        self.start.len()
    }

    /// True when there are no destination pixels.
    pub fn is_empty(&self) -> bool {
        self.start.is_empty()
    }
}

/// Which axis a separable resample filters first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassOrder {
    /// Source rows are filtered horizontally, then the result vertically.
    HorizontalFirst,
    /// Source columns are filtered vertically, then the result horizontally.
    VerticalFirst,
}

/// A band of output rows `k0..k1` of a separable resample, and the source
/// rows `lo..hi` its vertical taps read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Band {
    /// First output row.
    pub k0: u32,
    /// One past the last output row.
    pub k1: u32,
    /// First source row read.
    pub lo: u32,
    /// One past the last source row read.
    pub hi: u32,
}

/// Most bytes of `f32` RGBA intermediate that one band holds, on either
/// backend; a band is at least one output row even when that is more.
pub const BAND_BYTES: u64 = 16 << 20;

/// How a separable resample runs, decided once for both backends.
///
/// The pass order is the one with the smaller intermediate: horizontal
/// first keeps `output width x source rows read`, vertical first keeps
/// `source columns read x output height` (a tie keeps horizontal first).
/// It is part of the result's definition (float sums round differently in
/// the two orders), so both backends follow it. Output rows are produced in
/// bands, each filtering only the source rows it reads, so the intermediate
/// stays under [`BAND_BYTES`] per band whatever the image: banding does not
/// change a single value, only memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassPlan {
    /// Which axis is filtered first.
    pub order: PassOrder,
    /// Source columns `[lo, hi)` the horizontal taps read.
    pub cols: (u32, u32),
    /// The bands of output rows, in order, covering every row once.
    pub bands: Vec<Band>,
}

/// Source indices `[lo, hi)` read by destination pixels `k0..k1` of `w`.
fn span(w: &AxisWeights, k0: usize, k1: usize, src_len: u32) -> (u32, u32) {
    let starts = &w.start[k0..k1];
    let lo = starts.iter().copied().min().unwrap_or(0);
    let hi = starts
        .iter()
        .map(|&s| s as u64 + w.taps as u64)
        .max()
        .unwrap_or(0)
        .min(src_len as u64) as u32;
    (lo, hi.max(lo))
}

impl PassPlan {
    /// The plan for resampling a `sw` x `sh` source with `xw` and `yw`, in
    /// bands of at most `max_band_rows` output rows.
    pub fn new(
        xw: &AxisWeights,
        yw: &AxisWeights,
        sw: u32,
        sh: u32,
        max_band_rows: u32,
    ) -> PassPlan {
        let (dw, dh) = (xw.len() as u64, yw.len());
        let cols = span(xw, 0, xw.len(), sw);
        let rows = span(yw, 0, dh, sh);
        let horizontal_first = dw * (rows.1 - rows.0) as u64;
        let vertical_first = (cols.1 - cols.0) as u64 * dh as u64;
        let order = if vertical_first < horizontal_first {
            PassOrder::VerticalFirst
        } else {
            PassOrder::HorizontalFirst
        };
        let max_rows = max_band_rows.max(1) as usize;
        let budget = BAND_BYTES / 16;
        let mut bands = Vec::new();
        let mut k0 = 0;
        while k0 < dh {
            // Grow the band row by row while it stays under the byte budget,
            // keeping the span of source rows it reads.
            let (mut lo, mut hi) = span(yw, k0, k0 + 1, sh);
            let mut k1 = k0 + 1;
            while k1 < dh && k1 - k0 < max_rows {
                let (l, h) = span(yw, k1, k1 + 1, sh);
                let (l, h) = (l.min(lo), h.max(hi));
                let grown = Band {
                    k0: k0 as u32,
                    k1: k1 as u32 + 1,
                    lo: l,
                    hi: h,
                };
                if intermediate_pixels(order, cols, &grown, dw) > budget {
                    break;
                }
                (lo, hi, k1) = (l, h, k1 + 1);
            }
            bands.push(Band {
                k0: k0 as u32,
                k1: k1 as u32,
                lo,
                hi,
            });
            k0 = k1;
        }
        PassPlan { order, cols, bands }
    }

    /// Pixels of intermediate the band holds (`f32` RGBA each).
    pub fn band_pixels(&self, band: &Band, dst_w: u32) -> u64 {
        intermediate_pixels(self.order, self.cols, band, dst_w as u64)
    }
}

/// Pixels of intermediate a band holds: horizontal first, the output width
/// times the source rows it reads; vertical first, the source columns read
/// times its output rows.
fn intermediate_pixels(order: PassOrder, cols: (u32, u32), band: &Band, dst_w: u64) -> u64 {
    match order {
        PassOrder::HorizontalFirst => dst_w * (band.hi - band.lo) as u64,
        PassOrder::VerticalFirst => (cols.1 - cols.0) as u64 * (band.k1 - band.k0) as u64,
    }
}

/// `sum_i ws[i] * px(s + i)` over the non-zero weights; `px` returns `None`
/// for taps past the source's end (which carry zero weight).
#[inline]
fn taps(ws: &[f32], s: usize, px: impl Fn(usize) -> Option<[f32; 4]>) -> [f32; 4] {
    let mut acc = [0f32; 4];
    for (i, &w) in ws.iter().enumerate() {
        if w != 0.0 {
            let Some(p) = px(s + i) else { continue };
            for c in 0..4 {
                acc[c] += w * p[c];
            }
        }
    }
    acc
}

/// Output rows per band on the CPU (bands run in parallel).
const CPU_BAND_ROWS: u32 = 32;

/// Resamples a straight-alpha source into a premultiplied image of
/// `xw.len()` x `yw.len()` pixels with the given per-axis weights,
/// premultiplying in `space` before filtering, in the order and bands of
/// [`PassPlan`].
pub fn resample(
    src: &RgbaImage,
    space: BlendSpace,
    xw: &AxisWeights,
    yw: &AxisWeights,
) -> PremulImage {
    let (sw, sh) = src.dimensions();
    let dw = xw.len();
    let dh = yw.len();
    if dw == 0 || dh == 0 {
        return PremulImage {
            width: dw as u32,
            height: dh as u32,
            data: Vec::new(),
        };
    }
    let plan = PassPlan::new(xw, yw, sw, sh, CPU_BAND_ROWS);
    resample_planned(src, space, xw, yw, &plan)
}

/// [`resample`] in the order and bands of `plan` (made for these weights).
fn resample_planned(
    src: &RgbaImage,
    space: BlendSpace,
    xw: &AxisWeights,
    yw: &AxisWeights,
    plan: &PassPlan,
) -> PremulImage {
    let (sw, sh) = src.dimensions();
    let (dw, dh) = (xw.len(), yw.len());
    let raw = src.as_raw();
    let texel = |x: usize, y: usize| {
        let i = (y * sw as usize + x) * 4;
        premultiply_rgba8([raw[i], raw[i + 1], raw[i + 2], raw[i + 3]], space)
    };
    let mut data = vec![[0u16; 4]; dw * dh];
    // Each band's slice of the output, to fill in parallel.
    let mut work = Vec::with_capacity(plan.bands.len());
    let mut rest = data.as_mut_slice();
    for band in &plan.bands {
        let (out, tail) = rest.split_at_mut((band.k1 - band.k0) as usize * dw);
        work.push((*band, out));
        rest = tail;
    }
    let (col_lo, col_hi) = (plan.cols.0 as usize, plan.cols.1 as usize);
    work.into_par_iter().for_each(|(band, out_band)| {
        let (k0, lo) = (band.k0 as usize, band.lo as usize);
        match plan.order {
            PassOrder::HorizontalFirst => {
                // Horizontal over the source rows this band reads, then vertical.
                let mut premul: Vec<[f32; 4]> = Vec::with_capacity(sw as usize);
                let mut horiz = vec![[0f32; 4]; (band.hi as usize - lo) * dw];
                for (r, out) in horiz.chunks_exact_mut(dw).enumerate() {
                    let y = lo + r;
                    let row = &raw[y * sw as usize * 4..(y + 1) * sw as usize * 4];
                    premul.clear();
                    premul.extend(
                        row.chunks_exact(4)
                            .map(|p| premultiply_rgba8([p[0], p[1], p[2], p[3]], space)),
                    );
                    for (k, o) in out.iter_mut().enumerate() {
                        let ws = &xw.weights[k * xw.taps..(k + 1) * xw.taps];
                        *o = taps(ws, xw.start[k] as usize, |x| premul.get(x).copied());
                    }
                }
                for (r, out) in out_band.chunks_exact_mut(dw).enumerate() {
                    let k = k0 + r;
                    let ws = &yw.weights[k * yw.taps..(k + 1) * yw.taps];
                    let s = yw.start[k] as usize - lo;
                    for (x, o) in out.iter_mut().enumerate() {
                        *o = store16(taps(ws, s, |y| horiz.get(y * dw + x).copied()));
                    }
                }
            }
            PassOrder::VerticalFirst => {
                // Vertical over the source columns read, then horizontal.
                let cols = col_hi - col_lo;
                let mut vert = vec![[0f32; 4]; cols];
                for (r, out) in out_band.chunks_exact_mut(dw).enumerate() {
                    let k = k0 + r;
                    let ws = &yw.weights[k * yw.taps..(k + 1) * yw.taps];
                    let s = yw.start[k] as usize;
                    for (c, v) in vert.iter_mut().enumerate() {
                        *v = taps(ws, s, |y| (y < sh as usize).then(|| texel(col_lo + c, y)));
                    }
                    for (x, o) in out.iter_mut().enumerate() {
                        let ws = &xw.weights[x * xw.taps..(x + 1) * xw.taps];
                        let s = xw.start[x] as usize - col_lo;
                        *o = store16(taps(ws, s, |c| vert.get(c).copied()));
                    }
                }
            }
        }
    });
    PremulImage {
        width: dw as u32,
        height: dh as u32,
        data,
    }
}

/// How an image layer is drawn, decided once for both backends.
#[derive(Debug, Clone, PartialEq)]
pub enum ImagePlan {
    /// Natural size on whole pixels, not rotated: canvas pixel (x, y) is
    /// source pixel (x - ox, y - oy), copied exactly.
    Direct {
        /// Canvas x of the image's left edge.
        ox: i64,
        /// Canvas y of the image's top edge.
        oy: i64,
    },
    /// Not rotated: resampled once onto the canvas grid, over `bounds`
    /// (`[x0, y0, x1, y1)`, the visible pixels) with these weights.
    Canvas {
        /// Canvas pixels covered.
        bounds: [u32; 4],
        /// Horizontal weights (one entry per column of `bounds`).
        xw: AxisWeights,
        /// Vertical weights (one entry per row of `bounds`).
        yw: AxisWeights,
    },
    /// Rotated: resampled to `xw.len()` x `yw.len()` pixels spanning the
    /// placed rectangle, then sampled at each pixel's box-local position.
    Placed {
        /// Horizontal weights.
        xw: AxisWeights,
        /// Vertical weights.
        yw: AxisWeights,
        /// The placed rectangle `[x, y, w, h]`, box-local.
        placed: [f64; 4],
    },
    /// Nothing of it is visible.
    Hidden,
}

/// Plans an image layer: where its `sw` x `sh` image lands in the box
/// (fit, position), the layer's area clip narrowed to it, and how the pixels
/// get there on a `canvas_w` x `canvas_h` canvas.
pub fn plan_image(
    layer: &crate::scene::Layer,
    il: &crate::scene::ImageLayer,
    sw: u32,
    sh: u32,
    canvas_w: u32,
    canvas_h: u32,
) -> (ImagePlan, crate::geometry::BoxGeometry) {
    let (px, py, pw, ph) = crate::geometry::place_image(layer, il.fit, il.position, sw, sh);
    let geom = crate::geometry::BoxGeometry::of(layer).with_clip([px, py, px + pw, py + ph]);
    if geom.axis_aligned {
        let natural = pw == sw as f64 && ph == sh as f64;
        if natural && px.fract() == 0.0 && py.fract() == 0.0 {
            let plan = ImagePlan::Direct {
                ox: px as i64,
                oy: py as i64,
            };
            return (plan, geom);
        }
        // Resample onto the canvas grid, only where the layer is visible.
        let Some([x0, y0, x1, y1]) = geom.pixel_bounds(canvas_w, canvas_h) else {
            return (ImagePlan::Hidden, geom);
        };
        let (kx, ky) = (sw as f64 / pw, sh as f64 / ph);
        let xw = AxisWeights::new(il.filter, sw, x1 - x0, (x0 as f64 - px) * kx, kx);
        let yw = AxisWeights::new(il.filter, sh, y1 - y0, (y0 as f64 - py) * ky, ky);
        let plan = ImagePlan::Canvas {
            bounds: [x0, y0, x1, y1],
            xw,
            yw,
        };
        return (plan, geom);
    }
    // Rotated. The intermediate is capped at four canvases' worth of pixels
    // (an extreme `cover` of a sliver-shaped box could otherwise ask for
    // gigabytes); past that it has a proportionally lower resolution.
    let budget = (4.0 * canvas_w as f64 * canvas_h as f64).max((1u32 << 20) as f64);
    let shrink = ((pw.max(1.0) * ph.max(1.0)) / budget).sqrt().max(1.0);
    let nw = (pw / shrink).round().clamp(1.0, 1e6) as u32;
    let nh = (ph / shrink).round().clamp(1.0, 1e6) as u32;
    let xw = AxisWeights::new(il.filter, sw, nw, 0.0, sw as f64 / nw as f64);
    let yw = AxisWeights::new(il.filter, sh, nh, 0.0, sh as f64 / nh as f64);
    let plan = ImagePlan::Placed {
        xw,
        yw,
        placed: [px, py, pw, ph],
    };
    (plan, geom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_sum_to_one_for_every_filter_and_scale() {
        for filter in [Filter::Lanczos3, Filter::Bilinear, Filter::Nearest] {
            for (src, dst) in [(10u32, 3u32), (3, 10), (100, 37), (7, 7), (1, 5)] {
                let step = src as f64 / dst as f64;
                let w = AxisWeights::new(filter, src, dst, 0.0, step);
                for k in 0..dst as usize {
                    let s: f32 = w.weights[k * w.taps..(k + 1) * w.taps].iter().sum();
                    assert!(
                        (s - 1.0).abs() < 1e-5,
                        "{filter:?} {src}->{dst} k={k} sum={s}"
                    );
                    assert!(w.start[k] < src, "{filter:?} start out of the source");
                }
            }
        }
    }

    /// A random straight-alpha image.
    fn noise(w: u32, h: u32, seed: u32) -> RgbaImage {
        let mut v = seed.wrapping_mul(2654435761).max(1);
        RgbaImage::from_fn(w, h, |_, _| {
            let mut next = || {
                v ^= v << 13;
                v ^= v >> 17;
                v ^= v << 5;
                (v >> 24) as u8
            };
            image::Rgba([next(), next(), next(), next()])
        })
    }

    #[test]
    fn both_pass_orders_and_any_banding_give_the_same_image() {
        let src = noise(37, 29, 5);
        for filter in [Filter::Lanczos3, Filter::Bilinear, Filter::Nearest] {
            for (dw, dh) in [(80u32, 9u32), (9, 80), (13, 13), (120, 61)] {
                let xw = AxisWeights::new(filter, 37, dw, 0.0, 37.0 / dw as f64);
                let yw = AxisWeights::new(filter, 29, dh, 0.0, 29.0 / dh as f64);
                let plan = PassPlan::new(&xw, &yw, 37, 29, 32);
                let want = resample_planned(&src, BlendSpace::Linear, &xw, &yw, &plan);
                for order in [PassOrder::HorizontalFirst, PassOrder::VerticalFirst] {
                    for band_rows in [1, 7, 1000] {
                        let mut other = PassPlan::new(&xw, &yw, 37, 29, band_rows);
                        other.order = order;
                        let got = resample_planned(&src, BlendSpace::Linear, &xw, &yw, &other);
                        for (g, w) in got.data.iter().zip(&want.data) {
                            for c in 0..4 {
                                // Float sums in another order: a last-bit
                                // difference can move a 16-bit value by one.
                                assert!(
                                    g[c].abs_diff(w[c]) <= 1,
                                    "{filter:?} {dw}x{dh} {order:?} bands of {band_rows}: {g:?} vs {w:?}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn bands_cover_every_row_once_and_stay_under_the_byte_budget() {
        // A 6000-row photo down to 2048 rows: horizontal first, many bands.
        let xw = AxisWeights::new(Filter::Lanczos3, 8000, 2048, 1000.0, 6000.0 / 2048.0);
        let yw = AxisWeights::new(Filter::Lanczos3, 6000, 2048, 0.0, 6000.0 / 2048.0);
        let plan = PassPlan::new(&xw, &yw, 8000, 6000, u32::MAX);
        assert_eq!(plan.order, PassOrder::HorizontalFirst);
        assert!(plan.bands.len() > 4, "{} bands", plan.bands.len());
        let mut next = 0;
        for b in &plan.bands {
            assert_eq!(b.k0, next);
            assert!(b.k1 > b.k0 && b.lo < b.hi && b.hi <= 6000);
            assert!(plan.band_pixels(b, 2048) * 16 <= BAND_BYTES);
            next = b.k1;
        }
        assert_eq!(next, 2048);
    }

    #[test]
    fn a_long_thin_stretch_filters_vertically_first() {
        // 3 x 200 drawn 200_000 x 5: horizontal first would hold
        // 200_000 x 200 pixels; vertical first holds 3 x 5.
        let xw = AxisWeights::new(Filter::Bilinear, 3, 200_000, 0.0, 3.0 / 200_000.0);
        let yw = AxisWeights::new(Filter::Bilinear, 200, 5, 0.0, 40.0);
        let plan = PassPlan::new(&xw, &yw, 3, 200, 32);
        assert_eq!(plan.order, PassOrder::VerticalFirst);
        assert_eq!(plan.cols, (0, 3));
        assert!(plan
            .bands
            .iter()
            .all(|b| plan.band_pixels(b, 200_000) <= 15));
    }

    #[test]
    fn identity_scale_copies_pixels() {
        let src = RgbaImage::from_fn(9, 4, |x, y| {
            image::Rgba([x as u8 * 20, y as u8 * 60, 7, 255])
        });
        for filter in [Filter::Lanczos3, Filter::Bilinear, Filter::Nearest] {
            let xw = AxisWeights::new(filter, 9, 9, 0.0, 1.0);
            let yw = AxisWeights::new(filter, 4, 4, 0.0, 1.0);
            let out = resample(&src, BlendSpace::Srgb, &xw, &yw);
            for y in 0..4 {
                for x in 0..9 {
                    let want = premultiply_rgba8(src.get_pixel(x, y).0, BlendSpace::Srgb);
                    let got = out.get(x, y);
                    for c in 0..4 {
                        assert!((want[c] - got[c]).abs() < 1e-4, "{filter:?} ({x},{y})");
                    }
                }
            }
        }
    }

    #[test]
    fn transparent_neighbours_do_not_darken_edges() {
        // Opaque white next to transparent black: after upscaling, every
        // pixel with any alpha is still pure white once unpremultiplied.
        let src = RgbaImage::from_fn(4, 1, |x, _| {
            if x < 2 {
                image::Rgba([255, 255, 255, 255])
            } else {
                image::Rgba([0, 0, 0, 0])
            }
        });
        for filter in [Filter::Lanczos3, Filter::Bilinear] {
            let xw = AxisWeights::new(filter, 4, 16, 0.0, 0.25);
            let yw = AxisWeights::new(filter, 1, 1, 0.0, 1.0);
            let out = resample(&src, BlendSpace::Srgb, &xw, &yw);
            for x in 0..16 {
                let p = out.get(x, 0);
                if p[3] > 0.01 {
                    assert!((p[0] / p[3] - 1.0).abs() < 1e-3, "{filter:?} x={x} {p:?}");
                }
            }
        }
    }

    #[test]
    fn downscaling_averages_like_a_box() {
        // A 1-pixel checker halved with the triangle filter becomes grey.
        let src = RgbaImage::from_fn(64, 64, |x, y| {
            let v = if (x + y) % 2 == 0 { 255 } else { 0 };
            image::Rgba([v, v, v, 255])
        });
        let xw = AxisWeights::new(Filter::Bilinear, 64, 32, 0.0, 2.0);
        let yw = AxisWeights::new(Filter::Bilinear, 64, 32, 0.0, 2.0);
        let out = resample(&src, BlendSpace::Srgb, &xw, &yw);
        let p = out.get(16, 16);
        assert!((p[0] - 0.5).abs() < 0.02, "{p:?}");
    }
}
