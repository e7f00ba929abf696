//! The renderer's memory budgets as command-line options, shared by
//! `impasto batch` and `impasto serve`: every cache and pool that holds
//! memory between renders, each settable in bytes (0 turns a cache off);
//! an option left out keeps the library's default.

use impasto::Renderer;

/// Byte budgets of what the renderer keeps between renders.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct CacheArgs {
    /// Bytes of decoded images kept between renders, so a file drawn by
    /// many renders is decoded once (default 256 MiB; 0: off).
    #[arg(long, value_name = "BYTES", value_parser = crate::numbers::whole::<u64>(0..=u64::MAX))]
    pub asset_cache_bytes: Option<u64>,
    /// Bytes of resampled images kept between renders on the CPU backend,
    /// so an image drawn at the same size and place by many renders is
    /// resampled once (default 256 MiB; 0: off).
    #[arg(long, value_name = "BYTES", value_parser = crate::numbers::whole::<u64>(0..=u64::MAX))]
    pub placed_cache_bytes: Option<u64>,
    /// Bytes of rasterized glyphs kept between renders on the CPU backend,
    /// so text drawn again is not rasterized again; glyphs over 1/64 of it
    /// are not kept (default 64 MiB; 0: off).
    #[arg(long, value_name = "BYTES", value_parser = crate::numbers::whole::<u64>(0..=u64::MAX))]
    pub glyph_cache_bytes: Option<u64>,
    /// Bytes of GPU memory for resampled images kept on the device, so such
    /// an image is uploaded and resampled once (default 256 MiB; 0: off; no
    /// effect on the CPU backend).
    #[arg(long, value_name = "BYTES", value_parser = crate::numbers::whole::<u64>(0..=u64::MAX))]
    pub gpu_placed_cache_bytes: Option<u64>,
    /// Bytes of GPU textures and buffers the resource pool may hold, in use
    /// or idle (default 512 MiB; no effect on the CPU backend).
    #[arg(long, value_name = "BYTES", value_parser = crate::numbers::whole::<u64>(0..=u64::MAX))]
    pub gpu_pool_bytes: Option<u64>,
    /// Bytes of GPU memory the glyph atlases may hold: a set of atlases
    /// given back while they hold more is dropped, to be made again at its
    /// first size (default 64 MiB; read where the device reports its
    /// allocations; no effect on the CPU backend).
    #[arg(long, value_name = "BYTES", value_parser = crate::numbers::whole::<u64>(0..=u64::MAX))]
    pub gpu_glyph_atlas_bytes: Option<u64>,
}

impl CacheArgs {
    /// `renderer` with the budgets given.
    pub fn apply(&self, mut renderer: Renderer) -> Renderer {
        if let Some(b) = self.asset_cache_bytes {
            renderer = renderer.with_asset_cache_budget(b);
        }
        if let Some(b) = self.placed_cache_bytes {
            renderer = renderer.with_placed_cache_budget(b);
        }
        if let Some(b) = self.glyph_cache_bytes {
            renderer = renderer.with_glyph_cache_budget(b);
        }
        if let Some(b) = self.gpu_placed_cache_bytes {
            renderer = renderer.with_gpu_placed_cache_budget(b);
        }
        if let Some(b) = self.gpu_pool_bytes {
            renderer = renderer.with_gpu_pool_budget(b);
        }
        if let Some(b) = self.gpu_glyph_atlas_bytes {
            renderer = renderer.with_gpu_glyph_atlas_budget(b);
        }
        renderer
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use impasto::Backend;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        caches: CacheArgs,
    }

    #[test]
    fn options_left_out_keep_the_library_defaults_and_each_given_sets_its_budget() {
        let lib = Renderer::new(Backend::Cpu).unwrap();
        let kept = Cli::parse_from(["t"])
            .caches
            .apply(Renderer::new(Backend::Cpu).unwrap());
        assert_eq!(
            kept.asset_cache_stats().budget,
            lib.asset_cache_stats().budget
        );
        assert_eq!(
            kept.placed_cache_stats().budget,
            lib.placed_cache_stats().budget
        );
        assert_eq!(kept.glyph_cache_budget(), lib.glyph_cache_budget());
        let set = Cli::parse_from([
            "t",
            "--asset-cache-bytes",
            "1000",
            "--placed-cache-bytes",
            "0",
            "--gpu-placed-cache-bytes",
            "5",
            "--gpu-pool-bytes",
            "7",
            "--gpu-glyph-atlas-bytes",
            "9",
            "--glyph-cache-bytes",
            "11",
        ])
        .caches;
        assert_eq!(
            (
                set.gpu_placed_cache_bytes,
                set.gpu_pool_bytes,
                set.gpu_glyph_atlas_bytes
            ),
            (Some(5), Some(7), Some(9))
        );
        let set = set.apply(Renderer::new(Backend::Cpu).unwrap());
        assert_eq!(set.asset_cache_stats().budget, 1000);
        assert_eq!(set.placed_cache_stats().budget, 0);
        assert_eq!(set.glyph_cache_budget(), 11);
    }
}
