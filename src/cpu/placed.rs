//! The CPU's use of the renderer's resampled-image cache
//! ([`crate::placed_cache`]): an image layer resampled onto the canvas grid
//! ([`Sampling::Grid`]) reads its rows from the cached resample on a hit,
//! and on a miss worth filling copies the rows its bands resample into a
//! layer-sized buffer that goes into the cache once every row is there.
//! Rotated images ([`Sampling::Placed`]) and images without a
//! [`crate::shrink::SourceKey`] (animation frames) bypass the cache.
//!
//! The cached pixels are the unorm16 values every window is quantized to
//! ([`super::kernels::quantize_row`]), and reading one back ([`crate::pixels::load16`]) gives
//! the window's float bit for bit, so a render from the cache equals one
//! that resamples, byte for byte.

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::kernels;
use super::window::{size_exact, Windowed};
use crate::pixels::{store16, PremulImage};
use crate::placed_cache::{Lookup, PlacedCache, PlacedKey};
use crate::plan::{Paint, Plan, Sampling};

/// What a layer does with the cache.
pub(crate) enum Use {
    /// Reads this resample.
    Hit(Arc<PremulImage>),
    /// Resamples, and fills the cache under this key.
    Fill(PlacedKey),
}

/// A render's uses of the cache, one per plan layer.
pub(crate) struct Placed<'c> {
    cache: &'c PlacedCache,
    uses: Vec<Option<Use>>,
}

impl<'c> Placed<'c> {
    /// Looks up every grid-resampled image layer of `plan` in `cache`
    /// (`count`: as a render, counted in the stats; otherwise a peek for an
    /// estimate). `None` when the cache is off.
    pub fn lookup(plan: &Plan<'_>, cache: &'c PlacedCache, count: bool) -> Option<Placed<'c>> {
        if cache.budget() == 0 {
            return None;
        }
        let uses = plan
            .layers
            .iter()
            .map(|layer| {
                let Paint::Image {
                    image,
                    sampling: Sampling::Grid { xw, yw, .. },
                } = &layer.paint
                else {
                    return None;
                };
                let source = plan.resolved.images.get(layer.index)?.as_ref()?;
                let key =
                    PlacedKey::new(source.key.as_ref()?, image.dimensions(), plan.space, xw, yw);
                match cache.lookup(&key, count) {
                    Lookup::Hit(image) => Some(Use::Hit(image)),
                    Lookup::Fill => Some(Use::Fill(key)),
                    Lookup::Pass => None,
                }
            })
            .collect();
        Some(Placed { cache, uses })
    }

    /// Bytes the render holds to fill the cache (a resample per filling
    /// layer, until the render ends).
    pub fn fill_bytes(&self) -> u64 {
        self.uses
            .iter()
            .map(|u| match u {
                Some(Use::Fill(key)) => self.cache.bytes_of(key),
                _ => 0,
            })
            .sum()
    }

    /// Fills nothing (the render reads hits only).
    pub fn drop_fills(&mut self) {
        for u in &mut self.uses {
            if matches!(u, Some(Use::Fill(_))) {
                *u = None;
            }
        }
    }

    /// The use of the plan layer at `index`, taken.
    pub(super) fn take(&mut self, index: usize) -> Option<Use> {
        self.uses.get_mut(index).and_then(Option::take)
    }

    /// Keeps the resamples `fills` completed.
    pub(super) fn keep(&self, fills: impl Iterator<Item = Box<Filling>>) {
        for f in fills {
            if f.rows.load(Ordering::Relaxed) == f.height {
                let data = f.pixels.into_inner().unwrap_or_else(|p| p.into_inner());
                let image = PremulImage {
                    width: f.width as u32,
                    height: f.height as u32,
                    data,
                };
                self.cache.insert(f.key, Arc::new(image));
            }
        }
    }
}

/// A layer's resample being collected for the cache, band by band.
pub(super) struct Filling {
    key: PlacedKey,
    pixels: Mutex<Vec<[u16; 4]>>,
    /// Rows stored so far (each band stores its own, once).
    rows: AtomicUsize,
    width: usize,
    height: usize,
}

impl Filling {
    /// Stores rows `rows` of the resample from `window` (their quantized
    /// floats, row-major, every column).
    fn store(&self, rows: Range<usize>, window: &[[f32; 4]]) {
        let mut pixels = self.pixels.lock().unwrap_or_else(|p| p.into_inner());
        let dst = &mut pixels[rows.start * self.width..rows.end * self.width];
        for (d, s) in dst.iter_mut().zip(window) {
            *d = store16(*s);
        }
        drop(pixels);
        self.rows.fetch_add(rows.len(), Ordering::Relaxed);
    }
}

/// Where a [`super::Painter::Grid`] gets its rows: resampled band by band
/// (and maybe kept), or read from the cache.
pub(super) enum GridRows<'p> {
    Resample {
        resample: Windowed<'p>,
        fill: Option<Box<Filling>>,
    },
    Cached(Arc<PremulImage>),
}

impl<'p> GridRows<'p> {
    /// The rows of `resample`, filling the cache or reading it as `u` says.
    pub fn new(resample: Windowed<'p>, u: Option<Use>) -> GridRows<'p> {
        let (width, height) = resample.size();
        match u {
            Some(Use::Hit(image)) => GridRows::Cached(image),
            Some(Use::Fill(key)) => GridRows::Resample {
                resample,
                fill: Some(Box::new(Filling {
                    key,
                    pixels: Mutex::new(vec![[0; 4]; width * height]),
                    rows: AtomicUsize::new(0),
                    width,
                    height,
                })),
            },
            None => GridRows::Resample {
                resample,
                fill: None,
            },
        }
    }

    /// Size of the resample in pixels.
    pub fn size(&self) -> (usize, usize) {
        match self {
            GridRows::Resample { resample, .. } => resample.size(),
            GridRows::Cached(image) => (image.width as usize, image.height as usize),
        }
    }

    /// The filling this layer did, if any.
    pub fn into_filling(self) -> Option<Box<Filling>> {
        match self {
            GridRows::Resample { fill, .. } => fill,
            GridRows::Cached(_) => None,
        }
    }
}

impl super::Work {
    /// Rows `rows` (every column) of the grid resample of the layer at
    /// `index` into `self.window`.
    pub(super) fn grid_rows(&mut self, index: usize, grid: &GridRows, rows: Range<usize>) {
        match grid {
            GridRows::Resample { resample, fill } => {
                self.grid_window(index, resample, rows.clone());
                if let Some(fill) = fill {
                    fill.store(rows, &self.window);
                }
            }
            GridRows::Cached(image) => {
                let w = image.width as usize;
                let src = &image.data[rows.start * w..rows.end * w];
                size_exact(&mut self.window, src.len());
                kernels::load16_row(src, &mut self.window);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pixels::load16;

    #[test]
    fn every_valid_unorm16_pixel_reads_back_and_stores_to_itself() {
        // The cache stores windows' quantized floats as unorm16 and reads
        // them back: exact for every premultiplied value (c <= a).
        for a in 0..=u16::MAX {
            for c in [0, a / 3, a / 2, a.saturating_sub(1), a] {
                let p = [c, a / 2, 0, a];
                assert_eq!(store16(load16(p)), p, "{p:?}");
            }
            let q = [a, a, a, u16::MAX];
            assert_eq!(store16(load16(q)), q, "{q:?}");
        }
    }
}
