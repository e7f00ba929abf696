//! The GPU backend's glyph atlases ([`crate::gpu::glyphs`]): their byte
//! budget and their figures.

use super::Renderer;
use crate::gpu::glyphs::GlyphAtlasStats;

impl Renderer {
    /// Sets the byte budget of the GPU backend's glyph atlases (default 64
    /// MiB of device memory). Text on the GPU is drawn from glyphon's
    /// atlases, a pair per blend space in each of at most eight glyph sets
    /// (one per frame drawing text at once), each atlas 256² and doubled
    /// when one render's glyphs do not fit it. Where the device's allocator
    /// reports its allocations (Vulkan, DX12), a set given back while the
    /// atlases hold more than `bytes` is dropped with the other idle sets
    /// (read when a set is given back and the device's texture memory
    /// moved since the last read; made again at 256² when needed), so a
    /// render with huge text does not leave large atlases behind; the
    /// pixels are the same. Metal and OpenGL report nothing: there only the
    /// count of sets bounds them. No effect on the CPU backend. Shared by
    /// every clone of this renderer; kept by a device opened after a loss.
    ///
    /// ```no_run
    /// use impasto::{Backend, Renderer};
    ///
    /// let renderer = Renderer::new(Backend::Gpu)?.with_gpu_glyph_atlas_budget(16 << 20);
    /// assert_eq!(renderer.gpu_glyph_atlas_stats().map(|s| s.budget), Some(16 << 20));
    /// # Ok::<(), impasto::Error>(())
    /// ```
    pub fn with_gpu_glyph_atlas_budget(self, bytes: u64) -> Renderer {
        if let Some(g) = &self.gpu {
            g.set_glyph_budget(bytes);
        }
        self
    }

    /// The GPU backend's glyph atlases' figures (`None` on the CPU
    /// backend): sets, bytes (read from the device's allocator now, where
    /// it reports), budget, sets dropped over it, frames that waited for a
    /// set. A device opened after a loss counts from zero.
    pub fn gpu_glyph_atlas_stats(&self) -> Option<GlyphAtlasStats> {
        self.gpu.as_ref().map(|g| g.current().glyph_atlas_stats())
    }
}
