//! The renderer's resampled-image cache ([`crate::placed_cache`]): its
//! budget, its figures, a render's lookups in it, and the memory check that
//! admits a render and the cache fills it may make.

use std::sync::Arc;

use super::{Backend, Renderer};
use crate::codec::OutputFormat;
use crate::cpu::placed::Placed;
use crate::error::{Error, Location};
use crate::placed_cache::{PlacedCache, PlacedCacheStats};
use crate::plan::Plan;

impl Renderer {
    /// Sets the byte budget of the resampled-image cache (default 256 MiB):
    /// an image drawn at the same size and place by many renders (a photo
    /// or a logo of a batch's template) is resampled once, and later renders
    /// read its pixels, byte-identical to resampling them. A resample is
    /// kept from the second render that needs it; the least recently used
    /// goes first; rotated images are not kept; 0 turns the cache off. Used
    /// by the CPU backend; the GPU backend keeps its resamples on the
    /// device ([`Renderer::with_gpu_placed_cache_budget`]).
    ///
    /// ```
    /// use impasto::{Backend, Renderer};
    ///
    /// let renderer = Renderer::new(Backend::Cpu)?.with_placed_cache_budget(64 << 20);
    /// assert_eq!(renderer.placed_cache_stats().budget, 64 << 20);
    /// # Ok::<(), impasto::Error>(())
    /// ```
    pub fn with_placed_cache_budget(mut self, bytes: u64) -> Renderer {
        self.placed_cache = Arc::new(PlacedCache::new(bytes));
        self
    }

    /// The resampled-image cache's figures (images, bytes, hits, misses,
    /// evictions).
    pub fn placed_cache_stats(&self) -> PlacedCacheStats {
        self.placed_cache.stats()
    }

    /// Sets the byte budget of the GPU backend's resampled-image cache
    /// (default 256 MiB of device memory): as
    /// [`Renderer::with_placed_cache_budget`] does for the CPU, an image
    /// layer's resample (the premultiplied `f32` buffer the resampling
    /// passes write, 16 bytes a pixel) is kept on the device from the second
    /// render that needs it, and later renders bind it with no upload and
    /// no resampling passes; rotated images are kept too; the least recently
    /// used goes first; 0 turns it off. A device opened after a loss starts
    /// with an empty cache. No effect on the CPU backend. Shared by every
    /// clone of this renderer.
    ///
    /// ```no_run
    /// use impasto::{Backend, Renderer};
    ///
    /// let renderer = Renderer::new(Backend::Gpu)?.with_gpu_placed_cache_budget(64 << 20);
    /// assert_eq!(renderer.gpu_placed_cache_stats().map(|s| s.budget), Some(64 << 20));
    /// # Ok::<(), impasto::Error>(())
    /// ```
    pub fn with_gpu_placed_cache_budget(self, bytes: u64) -> Renderer {
        if let Some(g) = &self.gpu {
            g.set_placed_budget(bytes);
        }
        self
    }

    /// The GPU backend's resampled-image cache's figures (`None` on the CPU
    /// backend). A device opened after a loss starts with an empty cache
    /// and counts from zero.
    pub fn gpu_placed_cache_stats(&self) -> Option<PlacedCacheStats> {
        self.gpu.as_ref().map(|g| g.current().placed_stats())
    }

    /// The uses of the resampled-image cache of a render of `plan` on the
    /// CPU (`count`: counted in the stats, as a render does); `None` on the
    /// GPU or with the cache off.
    pub(super) fn placed_for<'c>(&'c self, plan: &Plan<'_>, count: bool) -> Option<Placed<'c>> {
        match self.backend {
            Backend::Cpu | Backend::Auto => Placed::lookup(plan, &self.placed_cache, count),
            Backend::Gpu => None,
        }
    }

    /// Refuses a plan whose estimated peak memory is over
    /// [`crate::Limits::max_render_bytes`], naming the figure and its largest parts;
    /// `placed` fills the resampled-image cache only if its buffers fit
    /// under the limit too; `encoding` adds what that format's encoder
    /// holds.
    pub(super) fn check_memory(
        &self,
        plan: &Plan<'_>,
        placed: Option<&mut Placed>,
        encoding: Option<OutputFormat>,
    ) -> Result<(), Error> {
        let estimate = crate::plan::memory::estimate(plan, rayon::current_num_threads(), encoding);
        let max = self.limits.max_render_bytes;
        if estimate.total <= max {
            if let Some(p) = placed {
                if estimate.total.saturating_add(p.fill_bytes()) > max {
                    p.drop_fills();
                }
            }
            return Ok(());
        }
        Err(self.over_limit(&estimate))
    }

    /// The error of a render whose `estimate` is over
    /// [`crate::Limits::max_render_bytes`], naming its largest parts.
    pub(super) fn over_limit(&self, estimate: &crate::plan::memory::MemoryEstimate) -> Error {
        let max = self.limits.max_render_bytes;
        let (need, limit) = crate::plan::memory::over(estimate.total, max);
        Error::over_memory(
            Location::Canvas,
            None,
            format!(
                "the render would need about {need} of memory, over the limit of {limit} (max_render_bytes); largest parts: {}",
                estimate.largest(3)
            ),
            estimate.total,
            max,
        )
    }
}
