//! A planned resample ([`crate::plan::weights`]) computed a rectangle at a
//! time, for the compositor to stream image layers through its bands: every
//! pixel of a window is the value the whole-image resample
//! ([`super::resample::resample`]) gives it, read back as floats.

use std::ops::Range;

use image::RgbaImage;

use super::kernels;
use super::resample::{tap_span, RowRing};
use crate::cancel::Stop;
use crate::color::BlendSpace;
use crate::plan::weights::{span, AxisWeights, PassOrder, PassPlan};

/// Makes `v` `n` transparent pixels, growing its allocation to exactly
/// `n` if it must (a scratch buffer then holds its largest use, not up to
/// twice that).
pub(crate) fn resize_exact(v: &mut Vec<[f32; 4]>, n: usize) {
    v.clear();
    v.reserve_exact(n);
    v.resize(n, [0.0; 4]);
}

/// Makes `v` `n` pixels long for a caller that writes every one of them:
/// zeroed (by [`resize_exact`]) only when its length changes, so windows
/// of a band's usual size reuse the buffer as it is.
pub(crate) fn size_exact(v: &mut Vec<[f32; 4]>, n: usize) {
    if v.len() != n {
        resize_exact(v, n);
    }
}

/// A planned resample computed a rectangle at a time: every pixel of a
/// window is the value [`super::resample::resample`] gives it (same pass order, same taps in
/// the same order), as the compositor reads the whole image. A window holds only
/// its own pixels, and its scratch ([`WindowScratch`]) the source rows its
/// taps read; nothing the size of the whole output exists.
pub(crate) struct Windowed<'a> {
    src: &'a RgbaImage,
    space: BlendSpace,
    xw: &'a AxisWeights,
    yw: &'a AxisWeights,
    order: PassOrder,
    /// Unique to this resample.
    id: u64,
    /// Asked before each output row: a window of a huge source drawn
    /// small sums thousands of source rows a row (an 11000-pixel-square
    /// image drawn 50x40 went 0.9 s past its deadline in one window).
    /// Stopped, the rest of the window is left unwritten: the render is
    /// dropped.
    stop: &'a Stop<'a>,
}

/// The reusable buffers of [`Windowed::window`] (one per thread): a ring
/// of filtered or premultiplied source rows, one premultiplied source row
/// and (vertical pass first) one row of vertical sums. They grow to the
/// largest window's need and keep it.
///
/// The ring carries over from one window to the next of the same resample
/// and columns (a band's rows to the next band's: the source rows both
/// read are filtered once), and is emptied for any other.
pub(crate) struct WindowScratch {
    ring: RowRing,
    premul: Vec<[f32; 4]>,
    line: Vec<[f32; 4]>,
    /// The resample ([`Windowed::id`]) and columns the ring holds rows of.
    key: Option<(u64, usize, usize)>,
}

impl Default for WindowScratch {
    fn default() -> WindowScratch {
        WindowScratch {
            ring: RowRing::new(1, 0),
            premul: Vec::new(),
            line: Vec::new(),
            key: None,
        }
    }
}

impl WindowScratch {
    /// Bytes held.
    pub fn bytes(&self) -> usize {
        (self.ring.pixels() + self.premul.capacity() + self.line.capacity()) * 16
    }
}

/// Numbers every [`Windowed`], so a scratch never mistakes another
/// resample's rows for its own.
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl<'a> Windowed<'a> {
    /// The resample of `src` with `xw` and `yw`, premultiplied in `space`.
    pub fn new(
        src: &'a RgbaImage,
        space: BlendSpace,
        xw: &'a AxisWeights,
        yw: &'a AxisWeights,
        stop: &'a Stop<'a>,
    ) -> Windowed<'a> {
        let (order, _) = PassPlan::order(xw, yw, src.width(), src.height());
        Windowed {
            src,
            space,
            xw,
            yw,
            order,
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            stop,
        }
    }

    /// Output size in pixels.
    pub fn size(&self) -> (usize, usize) {
        (self.xw.len(), self.yw.len())
    }

    /// Output pixels `cols` x `rows` into `out`, row-major (`out` is resized
    /// to exactly that). Both ranges must lie inside [`Windowed::size`].
    pub fn window(
        &self,
        cols: Range<usize>,
        rows: Range<usize>,
        scratch: &mut WindowScratch,
        out: &mut Vec<[f32; 4]>,
    ) {
        let cw = cols.len();
        // Every pixel of `out` is written below.
        size_exact(out, cw * rows.len());
        if cw == 0 || rows.is_empty() {
            return;
        }
        let (sw, sh) = (self.src.width() as usize, self.src.height() as usize);
        // The source columns the window's horizontal taps read; every tap a
        // full-width pass sums lies inside them, so sums are unchanged.
        let (xlo, xhi) = span(self.xw, cols.start, cols.end, sw as u32);
        let (xlo, xhi) = (xlo as usize, xhi as usize);
        let xt = self.xw.taps;
        let xws = &self.xw.weights[cols.start * xt..cols.end * xt];
        let xst = &self.xw.start[cols.clone()];
        let (raw, space) = (self.src.as_raw(), self.space);
        // Source row `y`'s columns `[c0, c0 + out.len())`, premultiplied.
        let premul_row = |y: usize, c0: usize, out: &mut [[f32; 4]]| {
            let row = &raw[(y * sw + c0) * 4..(y * sw + c0 + out.len()) * 4];
            // The vectorised row kernel (equal to `premultiply_rgba8` per pixel).
            kernels::premultiply_rgba8_row(row, out, space);
        };
        let key = Some((self.id, cols.start, cols.end));
        let fresh = scratch.key != key;
        scratch.key = key;
        let WindowScratch {
            ring, premul, line, ..
        } = scratch;
        let capacity = self.yw.taps.min(sh);
        match self.order {
            PassOrder::HorizontalFirst => {
                // The ring holds source rows filtered horizontally, for the
                // window's columns.
                if fresh {
                    ring.reset(capacity, cw);
                }
                // Written before it is read.
                size_exact(premul, xhi - xlo);
                // Each output row sums its taps in place, then is quantized.
                for (k, out_row) in rows.zip(out.chunks_exact_mut(cw)) {
                    if self.stop.now() {
                        return;
                    }
                    let (ws, s) = tap_span(self.yw, k);
                    let n = ws.len().min(sh.saturating_sub(s));
                    let taps = ring.rows(s, n, |y, buf| {
                        premul_row(y, xlo, premul.as_mut_slice());
                        kernels::filter_row(buf, premul, xws, xst, xt, xlo);
                    });
                    kernels::sum_rows(out_row, &ws[..taps.len()], &taps);
                    kernels::quantize_row(out_row);
                }
            }
            PassOrder::VerticalFirst => {
                // The ring holds premultiplied source rows, the columns read.
                if fresh {
                    ring.reset(capacity, xhi - xlo);
                }
                size_exact(line, xhi - xlo);
                for (k, out_row) in rows.zip(out.chunks_exact_mut(cw)) {
                    if self.stop.now() {
                        return;
                    }
                    let (ws, s) = tap_span(self.yw, k);
                    let n = ws.len().min(sh.saturating_sub(s));
                    let taps = ring.rows(s, n, |y, buf| premul_row(y, xlo, buf));
                    kernels::sum_rows(line, &ws[..taps.len()], &taps);
                    kernels::filter_row(out_row, line, xws, xst, xt, xlo);
                    kernels::quantize_row(out_row);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cancel::Stop;
    use crate::cpu::resample::resample_planned;
    use crate::cpu::resample::tests::noise;
    use crate::scene::Filter;

    #[test]
    fn a_kept_ring_slot_is_within_what_the_estimate_counts() {
        let slot = std::mem::size_of::<Option<WindowScratch>>() as u64;
        assert!(slot <= crate::plan::memory::KEPT_SLOT_BYTES, "{slot} bytes");
    }

    #[test]
    fn every_window_equals_the_whole_resample_bit_for_bit() {
        let mut scratch = WindowScratch::default();
        let mut out = Vec::new();
        for (sw, sh, seed) in [(37u32, 29u32, 6u32), (64, 5, 7), (5, 64, 8), (1, 1, 9)] {
            let src = noise(sw, sh, seed);
            for filter in [Filter::Lanczos3, Filter::Bilinear, Filter::Nearest] {
                for (dw, dh, u0) in [(80u32, 9u32, 0.0), (9, 80, -1.5), (13, 13, 2.25)] {
                    let xw = AxisWeights::new(filter, sw, dw, u0, sw as f64 / dw as f64);
                    let yw = AxisWeights::new(filter, sh, dh, u0, sh as f64 / dh as f64);
                    for (space, order) in [
                        (BlendSpace::Srgb, PassOrder::HorizontalFirst),
                        (BlendSpace::Linear, PassOrder::VerticalFirst),
                        (BlendSpace::Srgb, PassOrder::VerticalFirst),
                    ] {
                        let mut plan = PassPlan::new(&xw, &yw, sw, sh, 7);
                        plan.order = order;
                        let never = Stop::never();
                        let whole = resample_planned(&src, space, &xw, &yw, &plan, &never);
                        let mut win = Windowed::new(&src, space, &xw, &yw, &never);
                        win.order = order;
                        let (dw, dh) = (dw as usize, dh as usize);
                        for (c0, c1, r0, r1) in [
                            (0, dw, 0, dh),
                            (0, dw, dh / 3, dh / 3 + 1),
                            (dw / 2, dw, 1, dh),
                            (1, 2, 0, dh / 2 + 1),
                            (dw - 1, dw, dh - 1, dh),
                        ] {
                            win.window(c0..c1, r0..r1, &mut scratch, &mut out);
                            assert_eq!(out.len(), (c1 - c0) * (r1 - r0));
                            for (i, got) in out.iter().enumerate() {
                                let (x, y) = (c0 + i % (c1 - c0), r0 + i / (c1 - c0));
                                let want = whole.get(x as u32, y as u32);
                                assert_eq!(
                                    got.map(f32::to_bits),
                                    want.map(f32::to_bits),
                                    "{sw}x{sh}->{dw}x{dh} {filter:?} {space:?} {order:?} ({x},{y}) of {c0}..{c1} x {r0}..{r1}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_window_asked_to_stop_writes_no_row() {
        let src = noise(64, 64, 3);
        let xw = AxisWeights::new(Filter::Lanczos3, 64, 8, 0.0, 8.0);
        let yw = AxisWeights::new(Filter::Lanczos3, 64, 8, 0.0, 8.0);
        let token = crate::CancelToken::new();
        token.cancel();
        let options = crate::RenderOptions::default().cancel_token(token);
        let stopped = options.stop();
        let never = Stop::never();
        for order in [PassOrder::HorizontalFirst, PassOrder::VerticalFirst] {
            for (stop, written) in [(&stopped, false), (&never, true)] {
                let mut win = Windowed::new(&src, BlendSpace::Srgb, &xw, &yw, stop);
                win.order = order;
                let mut out = vec![[9.0f32; 4]; 64];
                win.window(0..8, 0..8, &mut WindowScratch::default(), &mut out);
                let untouched = out.iter().all(|p| *p == [9.0; 4]);
                assert_eq!(untouched, !written, "{order:?}");
            }
        }
    }
}
