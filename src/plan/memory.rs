//! The memory a planned render needs at its peak, estimated before any
//! layer is painted, so that a render over [`crate::Limits::max_render_bytes`]
//! is refused with the figure and its largest parts instead of taking the
//! process down.
//!
//! The estimate is an upper bound of what the CPU painter holds at once:
//! the decoded sources (each distinct image once), every resampled image
//! and text raster (held until compositing), the resampler's band
//! intermediates and the compositor's band accumulators (one set per
//! worker thread), the 8-bit canvas, and the encoder's copy of it. The GPU
//! backend holds the same host-side images while it uploads them; its
//! device memory is bounded by its own pool budget.

use std::collections::HashSet;
use std::sync::Arc;

use super::weights::BAND_BYTES;
use super::{Paint, Plan, Sampling};

/// Bytes per pixel of a resampled image or text raster (16-bit RGBA).
const PREMUL16: u64 = 8;
/// Bytes per pixel of a text raster while it is made: the `f32`
/// accumulator and the 16-bit result it is converted into.
const TEXT_RASTER: u64 = 16 + PREMUL16;
/// Rows per compositor band (`crate::cpu`), times 16 bytes per pixel, plus
/// a scratch row.
const COMPOSITOR_ROWS: u64 = 16 + 1;

/// A render's estimated peak memory and what it is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MemoryEstimate {
    /// The whole estimate, in bytes.
    pub total: u64,
    /// Its parts, largest first: what, and how many bytes.
    pub parts: Vec<(String, u64)>,
}

impl MemoryEstimate {
    /// The largest parts, for an error message: "layer 3 (image, resampled
    /// 1200x900): 8.2 MiB, ...".
    pub fn largest(&self, n: usize) -> String {
        self.parts
            .iter()
            .take(n)
            .map(|(what, bytes)| format!("{what}: {}", mib(*bytes)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// `bytes` as MiB with one decimal.
pub(crate) fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
}

/// The peak memory of painting `plan` with `threads` worker threads.
pub(crate) fn estimate(plan: &Plan<'_>, threads: usize) -> MemoryEstimate {
    let threads = threads.max(1) as u64;
    let (w, h) = (plan.width as u64, plan.height as u64);
    let mut parts = vec![
        ("canvas (8-bit RGBA)".to_string(), w * h * 4),
        ("encoding (a copy of the canvas)".to_string(), w * h * 4),
        (
            format!("compositor bands ({threads} threads)"),
            threads * COMPOSITOR_ROWS * w * 16,
        ),
    ];
    let mut seen = HashSet::new();
    let mut sources = 0u64;
    let mut resample_bands = 0u64;
    for layer in &plan.layers {
        let kind = plan.scene.layers[layer.index].kind.type_name();
        match &layer.paint {
            Paint::Image { image, sampling } => {
                if seen.insert(Arc::as_ptr(image)) {
                    sources += image.as_raw().len() as u64;
                }
                let (rw, rh) = match sampling {
                    Sampling::Copy { .. } => continue,
                    Sampling::Grid { xw, yw, .. } | Sampling::Placed { xw, yw, .. } => {
                        (xw.len() as u64, yw.len() as u64)
                    }
                };
                resample_bands = BAND_BYTES;
                let what = format!("layer {} ({kind}, resampled {rw}x{rh})", layer.index);
                parts.push((what, rw * rh * PREMUL16));
            }
            Paint::Text { .. } => {
                if let Some([x0, y0, x1, y1]) = layer.bounds {
                    let area = (x1 - x0) as u64 * (y1 - y0) as u64;
                    let what = format!("layer {} ({kind}, raster)", layer.index);
                    parts.push((what, area * TEXT_RASTER));
                }
            }
            _ => {}
        }
    }
    if sources > 0 {
        parts.push(("decoded images".to_string(), sources));
    }
    if resample_bands > 0 {
        let what = format!("resampling bands ({threads} threads)");
        parts.push((what, threads * resample_bands));
    }
    parts.sort_by_key(|p| std::cmp::Reverse(p.1));
    let total = parts.iter().map(|p| p.1).fold(0u64, u64::saturating_add);
    MemoryEstimate { total, parts }
}
