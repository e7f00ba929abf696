//! The GPU's resampled-image cache: an image layer's resample (the `f32`
//! premultiplied buffer the resampling passes write and the composite
//! reads) kept on the device between renders, under the same keys, the
//! same doorkeeper and the same kind of byte budget as the CPU's
//! ([`crate::placed_cache`]). A batch whose cards draw the same photo and
//! logo at the same place then uploads and resamples them once: a hit
//! binds the kept buffer, with no upload, no weight tables and no
//! resampling passes.
//!
//! A resample is filled into a buffer of its own (not the pool's), which
//! the cache takes once the render that writes it is submitted without
//! error: later renders are submitted after it on the same queue, so they
//! read it written. One render at a time fills a key (a claim, ended when
//! the buffer is kept or the render fails); the others resample it into
//! the pool's scratch meanwhile, so concurrent renders never allocate the
//! same buffer twice. Images resampled on the CPU (over the texture size
//! limit) are not kept. The cache belongs to the device: a device opened
//! after a loss starts empty. Hits and misses count lookups: one per image
//! layer and tile.

use super::context::GpuContext;
use super::loans::{BufferId, Loans};
use crate::color::BlendSpace;
use crate::placed_cache::{Lookup, PlacedCache, PlacedKey};
use crate::plan::weights::AxisWeights;
use crate::plan::Plan;

/// Default byte budget of the GPU's resampled-image cache: 256 MiB of
/// device memory.
pub const DEFAULT_GPU_PLACED_CACHE_BYTES: u64 = 256 << 20;

/// Bytes a pixel of a GPU resample holds (`f32` RGBA).
const BYTES_PER_PIXEL: u64 = 16;

/// The cache: buffers on the device, by resample.
pub(crate) type GpuPlacedCache = PlacedCache<wgpu::Buffer>;

/// A new, empty cache of `budget` bytes.
pub(super) fn new_cache(budget: u64) -> GpuPlacedCache {
    PlacedCache::holding(budget, BYTES_PER_PIXEL)
}

/// What a render does with one image layer's resample.
pub(super) enum GpuUse {
    /// Read the kept buffer (bound as the layer's resample; no passes).
    Hit(BufferId),
    /// Resample into a buffer of its own, which the cache keeps.
    Fill(PlacedKey),
    /// Resample into the pool's scratch, as without a cache.
    Pass,
}

impl GpuContext {
    /// Looks layer `index`'s resample of `img` with `xw` x `yw` up (counted
    /// in the stats: one lookup per layer and tile); a hit is bound through
    /// `loans`. `Pass` when the cache is off, the image has no identity
    /// across renders (an animation's frame), the key was not missed before
    /// (the doorkeeper), its resample is over the whole budget, or another
    /// render is filling it.
    pub(super) fn placed_use(
        &self,
        plan: &Plan<'_>,
        index: usize,
        img: &image::RgbaImage,
        (xw, yw): (&AxisWeights, &AxisWeights),
        space: BlendSpace,
        loans: &mut Loans,
    ) -> GpuUse {
        if self.placed.budget() == 0 {
            return GpuUse::Pass;
        }
        let Some(source) = plan
            .resolved
            .images
            .get(index)
            .and_then(Option::as_ref)
            .and_then(|s| s.key.as_ref())
        else {
            return GpuUse::Pass;
        };
        let key = PlacedKey::new(source, img.dimensions(), space, xw, yw);
        match self.placed.lookup(&key, true) {
            Lookup::Hit(buffer) => {
                let want = self.placed.bytes_of(&key);
                GpuUse::Hit(loans.add_cached(buffer, want))
            }
            // One filler per key: another render (or layer) filling it
            // already makes the same buffer.
            Lookup::Fill if self.placed.claim(&key) => {
                loans.add_claim(key.clone());
                GpuUse::Fill(key)
            }
            Lookup::Fill | Lookup::Pass => GpuUse::Pass,
        }
    }

    /// A buffer of its own for the resample `key` names, which the cache
    /// keeps once the render is submitted ([`GpuContext::keep_fills`]).
    pub(super) fn filling(&self, key: PlacedKey, loans: &mut Loans) -> BufferId {
        let bytes = self.placed.bytes_of(&key);
        let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("impasto kept resample"),
            size: bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        loans.add_filling(key, buffer, bytes)
    }

    /// Keeps the resamples a render filled: called once it is submitted
    /// and its error scopes closed clean.
    pub(super) fn keep_fills(&self, loans: &mut Loans) {
        for (key, buffer) in loans.take_fills() {
            self.placed.insert(key, buffer);
        }
    }

    /// Ends the render's claims as its loans go back: those whose buffer
    /// was kept ended when it was (releasing one again does nothing); the
    /// others (the render failed before its submission was clean, or before
    /// it made the buffer) end here, so the key can be filled later.
    pub(super) fn release_claims(&self, loans: &mut Loans) {
        for key in loans.take_claims() {
            self.placed.release(&key);
        }
    }
}
