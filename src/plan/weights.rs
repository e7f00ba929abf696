//! The resampling filter's definition, shared by both backends: the
//! per-axis weight tables ([`AxisWeights`]) and how a separable resample
//! runs ([`PassPlan`]: pass order and bands). Source pixels are
//! premultiplied *before* they are filtered (no dark fringes), and when
//! minifying the filter is widened by the scale factor so every source pixel
//! contributes (no aliasing). A backend only executes these tables.

use crate::scene::Filter;

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
        // A box far thinner than a pixel (say 1e-300 wide) makes the step,
        // and with it `u0`, infinite or NaN. Past a few source lengths a
        // larger step only widens a filter that already spans the whole
        // source, so both are capped there and every weight stays finite.
        let cap = 4.0 * (src_len as f64 + 1.0);
        let step = if step.is_nan() { cap } else { step.min(cap) };
        let u0 = if u0.is_nan() {
            0.0
        } else {
            u0.clamp(-cap, cap)
        };
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
pub(crate) fn span(w: &AxisWeights, k0: usize, k1: usize, src_len: u32) -> (u32, u32) {
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
        let dw = xw.len() as u64;
        let dh = yw.len();
        let (order, cols) = PassPlan::order(xw, yw, sw, sh);
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

    /// The pass order of resampling a `sw` x `sh` source with `xw` and `yw`
    /// (the one with the smaller intermediate), and the source columns
    /// `[lo, hi)` the horizontal taps read. It defines the result, so a
    /// painter producing the output piece by piece follows it too.
    pub fn order(xw: &AxisWeights, yw: &AxisWeights, sw: u32, sh: u32) -> (PassOrder, (u32, u32)) {
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
        (order, cols)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infinitely_thin_boxes_get_finite_weights() {
        for filter in [Filter::Lanczos3, Filter::Bilinear, Filter::Nearest] {
            for (u0, step) in [
                (f64::NAN, f64::INFINITY),
                (f64::INFINITY, f64::INFINITY),
                (0.0, 1e300),
            ] {
                let w = AxisWeights::new(filter, 40, 3, u0, step);
                assert!(
                    w.weights.iter().all(|v| v.is_finite()),
                    "{filter:?} {u0} {step}"
                );
                assert!(w.start.iter().all(|&s| s < 40));
            }
        }
    }
}
