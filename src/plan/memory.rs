//! The memory a planned render needs at its peak, estimated before any
//! layer is painted, so that a render over [`crate::Limits::max_render_bytes`]
//! is refused with the figure and its largest parts instead of taking the
//! process down.
//!
//! The estimate is an upper bound of what the CPU painter holds at once.
//! It streams every layer through its bands (`crate::cpu`), so no layer
//! holds a layer-sized buffer and the peak is
//!
//! - the 8-bit canvas, and the encoder's copy of it (and, when the output
//!   format is known, what its encoder holds besides: [`encoder_part`]);
//! - the decoded sources (each distinct image once);
//! - per layer, what it keeps for the whole render: its resampling weights,
//!   and for text its glyph list and the crops of glyphs it does not share
//!   with the glyph cache, with the float raster they may be flattened
//!   into; and the glyph images the render shares with the cache, each
//!   once ([`super::text_memory`]);
//! - per worker thread, a bounded working set: the band accumulator and a
//!   scratch row, and for the largest layer one band's window of its
//!   resample or raster with the resampler's row ring ([`working_set`]),
//!   and the rings of source rows it keeps from band to band for layers
//!   resampled onto the canvas grid (at most [`KEPT_RINGS_BYTES`]).
//!
//! A render that fills the renderer's resampled-image cache
//! (`crate::cpu::placed`) also holds each filled layer's resample (8 bytes a
//! pixel) until it ends; the renderer adds that to this estimate, and fills
//! the cache only when the sum stays within the limit.
//!
//! The GPU backend's device memory is bounded by its own pool budget.

use std::collections::HashSet;
use std::sync::Arc;

use super::weights::{AxisWeights, PassOrder, PassPlan};
use super::{Paint, Plan, PlannedLayer, Sampling};
use crate::codec::OutputFormat;

/// Canvas rows per compositor band on the CPU (`crate::cpu`). 16 rows of a
/// 2048-pixel canvas is a 512 KiB accumulator, which stays in a core's L2
/// cache while every layer passes over it.
pub(crate) const BAND_ROWS: usize = 16;

/// Canvas columns per chunk of a rotated image or text layer: the CPU makes
/// the window of its source that one chunk of a band samples.
pub(crate) const CHUNK_COLS: u32 = 32;

/// Bytes of resampling scratch (rings of source rows) one CPU thread keeps
/// from band to band for the layers resampled onto the canvas grid, so the
/// source rows two bands share are filtered once.
pub(crate) const KEPT_RINGS_BYTES: u64 = 4 << 20;

/// Bytes of a CPU thread's per-layer slot for a kept ring (an empty
/// resampling scratch), with slack.
pub(crate) const KEPT_SLOT_BYTES: u64 = 256;

/// Bytes per pixel of the compositor's `f32` rows and windows.
const F32X4: u64 = 16;

/// A render's estimated peak memory and what it is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MemoryEstimate {
    /// The whole estimate, in bytes.
    pub total: u64,
    /// Its parts, largest first: what, and how many bytes.
    pub parts: Vec<(String, u64)>,
}

impl MemoryEstimate {
    /// The largest parts, for an error message: "decoded images: 8.2 MiB,
    /// ...".
    pub fn largest(&self, n: usize) -> String {
        self.parts
            .iter()
            .take(n)
            .map(|(what, bytes)| format!("{what}: {}", mib(*bytes)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A need and the limit it is over, as [`mib`] shows them, or in bytes
/// when they would read the same ("133.5 MiB, over the limit of 133.5
/// MiB").
pub(crate) fn over(need: u64, limit: u64) -> (String, String) {
    let (n, l) = (mib(need), mib(limit));
    if n == l {
        (format!("{need} bytes"), format!("{limit} bytes"))
    } else {
        (n, l)
    }
}

/// `bytes` as MiB with one decimal; below a tenth of a MiB (which would
/// read "0.0 MiB", as a tiny `max_render_bytes` did) as KiB, and below a
/// KiB as bytes.
pub(crate) fn mib(bytes: u64) -> String {
    const MIB: u64 = 1 << 20;
    if bytes >= MIB / 10 || bytes == 0 {
        format!("{:.1} MiB", bytes as f64 / MIB as f64)
    } else if bytes >= 1024 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else if bytes == 1 {
        "1 byte".to_owned()
    } else {
        format!("{bytes} bytes")
    }
}

/// Bytes per canvas pixel, and bytes whatever the size, an encoder holds
/// besides what every estimate counts (the canvas and a copy of it, 8
/// bytes a pixel): its working buffers and the file it writes, on content
/// it cannot compress (noise), the worst case. By peak RSS of `impasto
/// render` on 1000x1000 and 2000x2000 noise, opaque and with noisy alpha,
/// against the same render to JPEG (release build, 2026-11-28, this
/// workplace's 2-vCPU EPYC; libwebp allocates in C, which the counting
/// allocator of `tests/memory.rs` does not see): lossy WebP 4-5 bytes a
/// pixel opaque, 28 (2000x2000) to 40 (1000x1000) with a noisy alpha
/// plane (compressed losslessly);
/// lossless WebP 11 (2000x2000) to 27 (1000x1000); AVIF (rav1e) by quality, 110 up to 85, about 160 at
/// 90 to 95, 264 at 98, 463 at 100 (a photo-like canvas: about 41), plus
/// some MiB a thread; counted with room, as the RSS of a render admitted
/// at exactly its estimate came within 1 to 2 MiB of it past the
/// process's own 12 MiB. With the counting allocator on 1024x1024 noise: JPEG
/// at quality 100 3.7 bytes a pixel, PNG (its output given room for stored
/// blocks at once) 4.2. Rounded up.
fn encoder_bytes(format: OutputFormat) -> (u64, u64) {
    match format {
        OutputFormat::Jpeg { .. } => (4, 0),
        OutputFormat::Png => (5, 0),
        OutputFormat::WebP { .. } => (32, 8 << 20),
        OutputFormat::WebPLossless => (16, 16 << 20),
        // The indices, the palette search and the LZW output: with the
        // counting allocator on 1024x1024 noise, 4.2 bytes a pixel.
        OutputFormat::Gif => (6, 4 << 20),
        OutputFormat::Avif { quality } => {
            let per_pixel = match quality {
                0..=85 => 128,
                86..=95 => 176,
                96..=98 => 288,
                _ => 512,
            };
            // rav1e's own state whatever the size: a 8x1000 canvas at
            // quality 100 held about 60 MiB, 300x300 at 50 about 45.
            (per_pixel, 64 << 20)
        }
    }
}

/// The encoder's part of a render's memory for `format` on a `w` x `h`
/// canvas, if any.
fn encoder_part(format: OutputFormat, w: u32, h: u32) -> Option<(String, u64)> {
    let (per_pixel, fixed) = encoder_bytes(format);
    let bytes = per_pixel * u64::from(w) * u64::from(h) + fixed;
    (bytes > 0).then(|| (format!("{} encoder", format.name()), bytes))
}

/// The peak memory of painting `plan` with `threads` worker threads, and
/// of encoding it as `encoding` when that is known.
pub(crate) fn estimate(
    plan: &Plan<'_>,
    threads: usize,
    encoding: Option<OutputFormat>,
) -> MemoryEstimate {
    let threads = threads.max(1) as u64;
    let (w, h) = (plan.width as u64, plan.height as u64);
    let mut parts = vec![
        ("canvas (8-bit RGBA)".to_string(), w * h * 4),
        ("encoding (a copy of the canvas)".to_string(), w * h * 4),
    ];
    parts.extend(encoding.and_then(|f| encoder_part(f, plan.width, plan.height)));
    let mut seen = HashSet::new();
    let mut sources = 0u64;
    let mut kept = 0u64;
    let mut largest_window = 0u64;
    let mut rings = 0u64;
    for layer in &plan.layers {
        if let Paint::Image {
            image,
            sampling: Sampling::Grid { xw, yw, .. },
        } = &layer.paint
        {
            let n = xw.len() as u64;
            let window = n * BAND_ROWS as u64 * F32X4;
            rings += resample_set(xw, yw, image.dimensions(), n, BAND_ROWS as u64) - window;
        }
        if let Paint::Image { image, .. } = &layer.paint {
            if seen.insert(Arc::as_ptr(image)) {
                sources += image.as_raw().len() as u64;
            }
        }
        kept = kept.saturating_add(kept_bytes(layer));
        largest_window = largest_window.max(working_set(layer));
    }
    if sources > 0 {
        parts.push(("decoded images".to_string(), sources));
    }
    let text = super::text_memory::estimate(plan);
    let kept = kept.saturating_add(text.layers);
    if kept > 0 {
        let what = "layers' weights and glyphs".to_string();
        parts.push((what, kept));
    }
    for (index, bytes) in text.crops.into_iter().filter(|c| c.1 > 0) {
        let what = format!("layer {index} (text): glyphs not shared with the glyph cache");
        parts.push((what, bytes));
    }
    if text.images > 0 {
        let what = "glyph images (shared with the glyph cache)".to_string();
        parts.push((what, text.images));
    }
    // The band accumulator and a scratch row, the largest layer window,
    // the rings kept from band to band and a slot per layer for them.
    let per_thread = (BAND_ROWS as u64 + 1) * w * F32X4
        + largest_window
        + rings.min(KEPT_RINGS_BYTES)
        + plan.layers.len() as u64 * KEPT_SLOT_BYTES;
    parts.push((
        format!("band working sets ({threads} threads)"),
        threads.saturating_mul(per_thread),
    ));
    parts.sort_by_key(|p| std::cmp::Reverse(p.1));
    let total = parts.iter().map(|p| p.1).fold(0u64, u64::saturating_add);
    MemoryEstimate { total, parts }
}

/// Bytes of weight tables.
fn weights_bytes(w: &AxisWeights) -> u64 {
    (w.weights.len() + w.start.len()) as u64 * 4
}

/// What an image layer keeps for the whole render: its weights (text
/// layers: [`super::text_memory`]).
fn kept_bytes(layer: &PlannedLayer<'_>) -> u64 {
    match &layer.paint {
        Paint::Image {
            sampling: Sampling::Grid { xw, yw, .. } | Sampling::Placed { xw, yw, .. },
            ..
        } => weights_bytes(xw) + weights_bytes(yw),
        _ => 0,
    }
}

/// The most bytes one thread holds to paint a band of `layer`, besides the
/// band itself: the window of its resample or raster, and for images the
/// resampler's ring of source rows, premultiplied row and row of sums.
fn working_set(layer: &PlannedLayer<'_>) -> u64 {
    let rows = BAND_ROWS as u64;
    let Some([bx0, _, bx1, _]) = layer.bounds else {
        return 0;
    };
    // The canvas columns one window spans, and how far it reaches across
    // (rotated: a chunk's bounding box, both ways).
    let (span, reach) = if layer.geom.axis_aligned {
        ((bx1 - bx0) as u64, rows)
    } else {
        let c = CHUNK_COLS as u64 + rows;
        (c, c)
    };
    match &layer.paint {
        Paint::Image { image, sampling } => {
            let (sw, sh) = image.dimensions();
            match sampling {
                Sampling::Copy { .. } => 0,
                Sampling::Grid { xw, yw, .. } => {
                    resample_set(xw, yw, (sw, sh), xw.len() as u64, rows)
                }
                Sampling::Placed { xw, yw, placed, .. } => {
                    // The source pixels per canvas pixel, each way, and a
                    // margin of four pixels.
                    let kx = xw.len() as f64 / placed[2];
                    let ky = yw.len() as f64 / placed[3];
                    let ww = ((span.max(reach) as f64 * kx).ceil() as u64 + 4).min(xw.len() as u64);
                    let wh = ((reach.max(span) as f64 * ky).ceil() as u64 + 4).min(yw.len() as u64);
                    resample_set(xw, yw, (sw, sh), ww, wh)
                }
            }
        }
        Paint::Text { .. } => {
            let (ww, wh) = if layer.geom.axis_aligned {
                (span + 4, rows + 4)
            } else {
                (reach + 4, reach + 4)
            };
            ww * wh * F32X4
        }
        _ => 0,
    }
}

/// Bytes of a `ww` x `wh` window of a resample and its scratch: the ring of
/// `taps` source rows (filtered to the window's columns horizontal first,
/// premultiplied source columns vertical first), a premultiplied source
/// row and a row of sums.
fn resample_set(xw: &AxisWeights, yw: &AxisWeights, (sw, sh): (u32, u32), ww: u64, wh: u64) -> u64 {
    let (order, _) = PassPlan::order(xw, yw, sw, sh);
    // The source columns a window of `ww` output columns reads.
    let step = sw as f64 / xw.len().max(1) as f64;
    let cols = ((ww as f64 * step).ceil() as u64 + xw.taps as u64).min(sw as u64);
    let ring_rows = (yw.taps as u64).min(sh as u64).max(1);
    let ring_w = match order {
        PassOrder::HorizontalFirst => ww,
        PassOrder::VerticalFirst => cols,
    };
    (ww * wh + ring_rows * ring_w + 2 * cols.max(ww)) * F32X4
}

#[cfg(test)]
mod tests {
    use super::{mib, over};

    #[test]
    fn a_need_and_its_limit_never_read_the_same() {
        assert_eq!(
            over(140_000_001, 140_000_000),
            ("140000001 bytes".into(), "140000000 bytes".into())
        );
        assert_eq!(over(2 << 20, 1 << 20), ("2.0 MiB".into(), "1.0 MiB".into()));
    }

    #[test]
    fn small_sizes_are_not_shown_as_zero_mib() {
        assert_eq!(mib(0), "0.0 MiB");
        assert_eq!(mib(1), "1 byte");
        assert_eq!(mib(1000), "1000 bytes");
        assert_eq!(mib(1536), "1.5 KiB");
        assert_eq!(mib(100 * 1024), "100.0 KiB");
        assert_eq!(mib(1 << 20), "1.0 MiB");
        assert_eq!(mib(1024 << 20), "1024.0 MiB");
    }
}
