//! The series of the renderer's caches and GPU memory: decoded images,
//! glyphs, resampled images (CPU and GPU), weight tables, the GPU pool and
//! glyph atlases.

use std::fmt::Write as _;

use impasto::Renderer;

use super::{head, write_figures, Figure};

/// The renderer's caches: decoded images and glyphs.
pub(super) fn cache_figures(renderer: &Renderer) -> [Figure; 10] {
    let cache = renderer.asset_cache_stats();
    let (glyphs, glyph_bytes) = renderer.glyph_cache();
    [
        (
            "impasto_asset_cache_hits_total",
            "counter",
            "Decoded-image cache hits.",
            cache.hits.to_string(),
        ),
        (
            "impasto_asset_cache_misses_total",
            "counter",
            "Decoded-image cache misses (files decoded).",
            cache.misses.to_string(),
        ),
        (
            "impasto_asset_cache_waits_total",
            "counter",
            "Decoded-image cache lookups that waited for another request's decode of the same file.",
            cache.waits.to_string(),
        ),
        (
            "impasto_asset_cache_evictions_total",
            "counter",
            "Images dropped from the decoded-image cache.",
            cache.evictions.to_string(),
        ),
        (
            "impasto_asset_cache_bytes",
            "gauge",
            "Bytes held by the decoded-image cache.",
            cache.bytes.to_string(),
        ),
        (
            "impasto_asset_cache_images",
            "gauge",
            "Images held by the decoded-image cache.",
            cache.images.to_string(),
        ),
        (
            "impasto_asset_cache_budget_bytes",
            "gauge",
            "The decoded-image cache's budget.",
            cache.budget.to_string(),
        ),
        (
            "impasto_glyph_cache_glyphs",
            "gauge",
            "Glyph images held by the glyph cache.",
            glyphs.to_string(),
        ),
        (
            "impasto_glyph_cache_bytes",
            "gauge",
            "Bytes held by the glyph cache.",
            glyph_bytes.to_string(),
        ),
        (
            "impasto_glyph_cache_budget_bytes",
            "gauge",
            "The glyph cache's budget.",
            renderer.glyph_cache_budget().to_string(),
        ),
    ]
}

/// A resampled-image cache's six series: names, types and help texts, in
/// the order of [`placed_series`]'s values.
type PlacedNames = [(&'static str, &'static str, &'static str); 6];

/// The CPU backend's resampled-image cache.
const CPU_PLACED: PlacedNames = [
    (
        "impasto_placed_cache_hits_total",
        "counter",
        "Image layers whose resample was read from the resampled-image cache.",
    ),
    (
        "impasto_placed_cache_misses_total",
        "counter",
        "Image layers resampled (not in the resampled-image cache).",
    ),
    (
        "impasto_placed_cache_evictions_total",
        "counter",
        "Resampled images dropped from the cache.",
    ),
    (
        "impasto_placed_cache_bytes",
        "gauge",
        "Bytes held by the resampled-image cache.",
    ),
    (
        "impasto_placed_cache_images",
        "gauge",
        "Resampled images held by the cache.",
    ),
    (
        "impasto_placed_cache_budget_bytes",
        "gauge",
        "The resampled-image cache's budget.",
    ),
];

/// The GPU backend's resampled-image cache (resamples kept on the device).
const GPU_PLACED: PlacedNames = [
    (
        "impasto_gpu_placed_cache_hits_total",
        "counter",
        "Image layers whose resample was read from the GPU's resampled-image cache.",
    ),
    (
        "impasto_gpu_placed_cache_misses_total",
        "counter",
        "Image layers resampled on the GPU (not in its resampled-image cache).",
    ),
    (
        "impasto_gpu_placed_cache_evictions_total",
        "counter",
        "Resampled images dropped from the GPU's cache.",
    ),
    (
        "impasto_gpu_placed_cache_bytes",
        "gauge",
        "Bytes of device memory held by the GPU's resampled-image cache.",
    ),
    (
        "impasto_gpu_placed_cache_images",
        "gauge",
        "Resampled images held by the GPU's cache.",
    ),
    (
        "impasto_gpu_placed_cache_budget_bytes",
        "gauge",
        "The GPU's resampled-image cache's budget.",
    ),
];

/// A resampled-image cache's figures under `names`.
fn placed_series(names: PlacedNames, cache: impasto::PlacedCacheStats) -> [Figure; 6] {
    let values = [
        cache.hits,
        cache.misses,
        cache.evictions,
        cache.bytes,
        cache.images as u64,
        cache.budget,
    ];
    std::array::from_fn(|i| {
        let (name, kind, help) = names[i];
        (name, kind, help, values[i].to_string())
    })
}

/// The CPU backend's resampled-image cache's figures.
pub(super) fn placed_figures(renderer: &Renderer) -> [Figure; 6] {
    placed_series(CPU_PLACED, renderer.placed_cache_stats())
}

/// The process's cache of resampling weight tables (both backends).
pub(super) fn weights_figures(cache: impasto::WeightsCacheStats) -> [Figure; 6] {
    [
        (
            "impasto_weights_cache_hits_total",
            "counter",
            "Resampling weight tables read from the weight-table cache.",
            cache.hits.to_string(),
        ),
        (
            "impasto_weights_cache_misses_total",
            "counter",
            "Resampling weight tables computed (not in the cache).",
            cache.misses.to_string(),
        ),
        (
            "impasto_weights_cache_evictions_total",
            "counter",
            "Weight tables dropped from the cache.",
            cache.evictions.to_string(),
        ),
        (
            "impasto_weights_cache_bytes",
            "gauge",
            "Bytes held by the weight-table cache.",
            cache.bytes.to_string(),
        ),
        (
            "impasto_weights_cache_tables",
            "gauge",
            "Weight tables held by the cache.",
            cache.tables.to_string(),
        ),
        (
            "impasto_weights_cache_budget_bytes",
            "gauge",
            "The weight-table cache's budget.",
            cache.budget.to_string(),
        ),
    ]
}

/// The GPU backend's resampled-image cache (resamples kept on the device),
/// when rendering on the GPU (no series on the CPU backend). Its counters
/// start again from zero on a device opened after a loss.
pub(super) fn gpu_placed_text(out: &mut String, cache: Option<impasto::PlacedCacheStats>) {
    if let Some(cache) = cache {
        write_figures(out, placed_series(GPU_PLACED, cache));
    }
}

/// The GPU resource pool's bytes, when rendering on the GPU (no series on
/// the CPU backend).
pub(super) fn gpu_pool_text(out: &mut String, renderer: &Renderer) {
    let Some(pool) = renderer.gpu_pool_stats() else {
        return;
    };
    for (name, help, value) in [
        (
            "impasto_gpu_pool_bytes",
            "Bytes of GPU textures and buffers allocated, in use or idle.",
            pool.bytes_live,
        ),
        (
            "impasto_gpu_pool_budget_bytes",
            "The GPU resource pool's budget.",
            pool.budget,
        ),
    ] {
        head(out, name, "gauge", help);
        let _ = writeln!(out, "{name} {value}");
    }
}

/// The GPU backend's glyph atlases, when rendering on the GPU (no series
/// on the CPU backend); their bytes only where the device's allocator
/// reports them (Vulkan, DX12). Counters start again from zero on a device
/// opened after a loss.
pub(super) fn gpu_glyph_text(out: &mut String, atlases: Option<impasto::GlyphAtlasStats>) {
    let Some(a) = atlases else {
        return;
    };
    let bytes = a.bytes.map(|b| {
        (
            "impasto_gpu_glyph_atlas_bytes",
            "gauge",
            "Bytes of device memory held by the GPU's glyph atlases.",
            b.to_string(),
        )
    });
    let figures = [
        (
            "impasto_gpu_glyph_atlas_budget_bytes",
            "gauge",
            "The GPU glyph atlases' budget.",
            a.budget.to_string(),
        ),
        (
            "impasto_gpu_glyph_sets",
            "gauge",
            "GPU glyph sets (atlases for one frame drawing text), idle or lent.",
            a.sets.to_string(),
        ),
        (
            "impasto_gpu_glyph_sets_retired_total",
            "counter",
            "GPU glyph sets dropped because the atlases were over their budget.",
            a.retired.to_string(),
        ),
        (
            "impasto_gpu_glyph_set_waits_total",
            "counter",
            "GPU frames that waited for a glyph set, all being lent.",
            a.waits.to_string(),
        ),
    ];
    write_figures(out, bytes.into_iter().chain(figures));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpu_glyph_atlas_series_carry_their_figures_and_bytes_only_where_reported() {
        let mut out = String::new();
        gpu_glyph_text(&mut out, None);
        assert!(out.is_empty());
        let mut stats = impasto::GlyphAtlasStats {
            sets: 3,
            lent: 1,
            bytes: Some(655360),
            budget: 1 << 26,
            retired: 2,
            waits: 5,
        };
        gpu_glyph_text(&mut out, Some(stats));
        for line in [
            "# TYPE impasto_gpu_glyph_atlas_bytes gauge\n",
            "impasto_gpu_glyph_atlas_bytes 655360\n",
            "impasto_gpu_glyph_atlas_budget_bytes 67108864\n",
            "impasto_gpu_glyph_sets 3\n",
            "# TYPE impasto_gpu_glyph_sets_retired_total counter\n",
            "impasto_gpu_glyph_sets_retired_total 2\n",
            "impasto_gpu_glyph_set_waits_total 5\n",
        ] {
            assert!(out.contains(line), "{line:?} missing from {out}");
        }
        stats.bytes = None;
        let mut out = String::new();
        gpu_glyph_text(&mut out, Some(stats));
        assert!(!out.contains("impasto_gpu_glyph_atlas_bytes "), "{out}");
        assert!(out.contains("impasto_gpu_glyph_sets 3\n"), "{out}");
    }

    #[test]
    fn gpu_placed_cache_series_carry_its_figures_and_are_absent_without_a_gpu() {
        let mut out = String::new();
        gpu_placed_text(&mut out, None);
        assert!(out.is_empty());
        let stats = impasto::PlacedCacheStats {
            images: 2,
            bytes: 4096,
            budget: 1 << 20,
            hits: 7,
            misses: 5,
            evictions: 1,
        };
        gpu_placed_text(&mut out, Some(stats));
        for line in [
            "# TYPE impasto_gpu_placed_cache_hits_total counter\n",
            "impasto_gpu_placed_cache_hits_total 7\n",
            "impasto_gpu_placed_cache_misses_total 5\n",
            "impasto_gpu_placed_cache_evictions_total 1\n",
            "# TYPE impasto_gpu_placed_cache_bytes gauge\n",
            "impasto_gpu_placed_cache_bytes 4096\n",
            "impasto_gpu_placed_cache_images 2\n",
            "impasto_gpu_placed_cache_budget_bytes 1048576\n",
        ] {
            assert!(out.contains(line), "{line:?} missing from {out}");
        }
    }
}
