//! The CPU's execution of a planned resample ([`crate::plan::weights`]):
//! a straight-alpha 8-bit source to a premultiplied 16-bit image in the
//! blend space, bands in parallel ([`resample`], for the GPU's over-limit
//! images). The compositor makes the same values a window at a time
//! ([`super::window::Windowed`]).

use image::RgbaImage;
use rayon::prelude::*;

use crate::cancel::Stop;
use crate::color::BlendSpace;
use crate::cpu::kernels;
use crate::pixels::{store16, PremulImage};
use crate::plan::weights::{AxisWeights, PassOrder, PassPlan};

/// The weights and first source index of output pixel `k` of `w`.
#[inline]
pub(super) fn tap_span(w: &AxisWeights, k: usize) -> (&[f32], usize) {
    (
        &w.weights[k * w.taps..(k + 1) * w.taps],
        w.start[k] as usize,
    )
}

/// Source rows premultiplied once each, kept while the taps of the next
/// output rows still read them: a ring of `capacity` rows (at least the
/// taps of one output row, so one output row's rows never evict each other).
pub(super) struct RowRing {
    width: usize,
    tags: Vec<usize>,
    rows: Vec<[f32; 4]>,
}

impl RowRing {
    pub(super) fn new(capacity: usize, width: usize) -> RowRing {
        let mut ring = RowRing {
            width: 0,
            tags: Vec::new(),
            rows: Vec::new(),
        };
        ring.reset(capacity, width);
        ring
    }

    /// Empties the ring and shapes it to `capacity` rows of `width` pixels,
    /// keeping its allocation.
    pub(super) fn reset(&mut self, capacity: usize, width: usize) {
        let capacity = capacity.max(1);
        self.width = width;
        self.tags.clear();
        self.tags.resize(capacity, usize::MAX);
        if self.rows.len() < capacity * width {
            self.rows.reserve_exact(capacity * width - self.rows.len());
            self.rows.resize(capacity * width, [0.0; 4]);
        }
    }

    /// Pixels allocated.
    pub(super) fn pixels(&self) -> usize {
        self.rows.capacity()
    }

    /// Makes the ring hold row `y`, filled by `fill` unless it does.
    fn fill(&mut self, y: usize, fill: impl FnOnce(&mut [[f32; 4]])) {
        let slot = y % self.tags.len();
        if self.tags[slot] != y {
            fill(&mut self.rows[slot * self.width..(slot + 1) * self.width]);
            self.tags[slot] = y;
        }
    }

    /// Row `y`, when the ring holds it.
    fn get(&self, y: usize) -> Option<&[[f32; 4]]> {
        let slot = y % self.tags.len();
        (self.tags[slot] == y).then(|| &self.rows[slot * self.width..(slot + 1) * self.width])
    }

    /// Rows `first..first + count` (at most the ring's capacity, so none
    /// evicts another), each filled by `fill(y, row)` unless the ring holds
    /// it: the taps of one output row.
    pub(super) fn rows(
        &mut self,
        first: usize,
        count: usize,
        mut fill: impl FnMut(usize, &mut [[f32; 4]]),
    ) -> Vec<&[[f32; 4]]> {
        debug_assert!(
            count <= self.tags.len(),
            "{count} rows in a ring of {}",
            self.tags.len()
        );
        for y in first..first + count {
            self.fill(y, |row| fill(y, row));
        }
        // Every row was just filled or kept, and `count` rows fit in the
        // ring, so each is there (`map_while` stops short only if not).
        (first..first + count).map_while(|y| self.get(y)).collect()
    }
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
    resample_until(src, space, xw, yw, &Stop::never())
}

/// [`resample`], skipping the bands left once `stop` says stop (the result
/// is then incomplete, and the caller returns `stop`'s error instead).
pub(crate) fn resample_until(
    src: &RgbaImage,
    space: BlendSpace,
    xw: &AxisWeights,
    yw: &AxisWeights,
    stop: &Stop<'_>,
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
    resample_planned(src, space, xw, yw, &plan, stop)
}

/// [`resample`] in the order and bands of `plan` (made for these weights).
pub(super) fn resample_planned(
    src: &RgbaImage,
    space: BlendSpace,
    xw: &AxisWeights,
    yw: &AxisWeights,
    plan: &PassPlan,
    stop: &Stop<'_>,
) -> PremulImage {
    let (sw, sh) = (src.width() as usize, src.height() as usize);
    let (dw, dh) = (xw.len(), yw.len());
    let raw = src.as_raw();
    // Source row `y`'s columns `[c0, c0 + out.len())`, premultiplied.
    let premul_row = |y: usize, c0: usize, out: &mut [[f32; 4]]| {
        let row = &raw[(y * sw + c0) * 4..(y * sw + c0 + out.len()) * 4];
        // The vectorised row kernel (equal to `premultiply_rgba8` per pixel).
        kernels::premultiply_rgba8_row(row, out, space);
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
        if stop.now() {
            return;
        }
        let (k0, lo) = (band.k0 as usize, band.lo as usize);
        let mut acc = vec![[0f32; 4]; dw];
        match plan.order {
            PassOrder::HorizontalFirst => {
                // Horizontal over the source rows this band reads, then vertical.
                let mut premul = vec![[0f32; 4]; sw];
                let mut horiz = vec![[0f32; 4]; (band.hi as usize - lo) * dw];
                for (r, out) in horiz.chunks_exact_mut(dw).enumerate() {
                    // Row by row too: a band of a huge source drawn small
                    // reads thousands of rows (an 11000-pixel-square image
                    // drawn 50x40 ran 0.9 s past its deadline in one band).
                    if stop.now() {
                        return;
                    }
                    premul_row(lo + r, 0, &mut premul);
                    kernels::filter_row(out, &premul, &xw.weights, &xw.start, xw.taps, 0);
                }
                for (r, out) in out_band.chunks_exact_mut(dw).enumerate() {
                    let (ws, s) = tap_span(yw, k0 + r);
                    // The taps' rows that the band filtered (all of them
                    // but past the source's last row).
                    let rows: Vec<&[[f32; 4]]> = (0..ws.len())
                        .map_while(|i| horiz.get((s - lo + i) * dw..(s - lo + i + 1) * dw))
                        .collect();
                    kernels::sum_rows(&mut acc, &ws[..rows.len()], &rows);
                    for (o, a) in out.iter_mut().zip(&acc) {
                        *o = store16(*a);
                    }
                }
            }
            PassOrder::VerticalFirst => {
                // Vertical over the source columns read, then horizontal;
                // each source row premultiplied once per band.
                let cols = col_hi - col_lo;
                let mut ring = RowRing::new(yw.taps.min(sh), cols);
                let mut vert = vec![[0f32; 4]; cols];
                for (r, out) in out_band.chunks_exact_mut(dw).enumerate() {
                    // Each output row sums its taps' rows: many of them
                    // for a source far larger than its output.
                    if stop.now() {
                        return;
                    }
                    let (ws, s) = tap_span(yw, k0 + r);
                    let n = ws.len().min(sh.saturating_sub(s));
                    let rows = ring.rows(s, n, |y, buf| premul_row(y, col_lo, buf));
                    kernels::sum_rows(&mut vert, &ws[..rows.len()], &rows);
                    let (w, s, t) = (&xw.weights, &xw.start, xw.taps);
                    kernels::filter_row(&mut acc, &vert, w, s, t, col_lo);
                    for (o, a) in out.iter_mut().zip(&acc) {
                        *o = store16(*a);
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
#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::color::premultiply_rgba8;
    use crate::plan::weights::BAND_BYTES;
    use crate::scene::Filter;

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

    /// The scalar reference the vectorised resampler is tested against:
    /// per pixel, tap by tap (the implementation before vectorisation).
    fn resample_reference(
        src: &RgbaImage,
        space: BlendSpace,
        xw: &AxisWeights,
        yw: &AxisWeights,
        plan: &PassPlan,
        stop: &Stop<'_>,
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
            if stop.now() {
                return;
            }
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

    #[test]
    fn vectorised_passes_equal_the_scalar_reference_bit_for_bit() {
        for (sw, sh, seed) in [(37u32, 29u32, 1u32), (64, 5, 2), (5, 64, 3), (1, 1, 4)] {
            let src = noise(sw, sh, seed);
            for filter in [Filter::Lanczos3, Filter::Bilinear, Filter::Nearest] {
                for (dw, dh, u0) in [
                    (80u32, 9u32, 0.0),
                    (9, 80, -1.5),
                    (13, 13, 2.25),
                    (3, 2, 0.0),
                ] {
                    let xw = AxisWeights::new(filter, sw, dw, u0, sw as f64 / dw as f64);
                    let yw = AxisWeights::new(filter, sh, dh, u0, sh as f64 / dh as f64);
                    for order in [PassOrder::HorizontalFirst, PassOrder::VerticalFirst] {
                        for band_rows in [1, 7, 1000] {
                            let mut plan = PassPlan::new(&xw, &yw, sw, sh, band_rows);
                            plan.order = order;
                            for space in [BlendSpace::Srgb, BlendSpace::Linear] {
                                let never = Stop::never();
                                let got = resample_planned(&src, space, &xw, &yw, &plan, &never);
                                let want = resample_reference(&src, space, &xw, &yw, &plan, &never);
                                assert_eq!(
                                    got.data, want.data,
                                    "{sw}x{sh}->{dw}x{dh} {filter:?} {order:?} {band_rows} {space:?}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }

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

    /// A random straight-alpha image (also used by `cpu::window`'s tests).
    pub(crate) fn noise(w: u32, h: u32, seed: u32) -> RgbaImage {
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
                let want =
                    resample_planned(&src, BlendSpace::Linear, &xw, &yw, &plan, &Stop::never());
                for order in [PassOrder::HorizontalFirst, PassOrder::VerticalFirst] {
                    for band_rows in [1, 7, 1000] {
                        let mut other = PassPlan::new(&xw, &yw, 37, 29, band_rows);
                        other.order = order;
                        let got = resample_planned(
                            &src,
                            BlendSpace::Linear,
                            &xw,
                            &yw,
                            &other,
                            &Stop::never(),
                        );
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
