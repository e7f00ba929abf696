//! Throughput of one scene rendered many times through the library, every
//! core busy: the impasto side of `benches/peers_photo.py`'s batch figures.
//!
//! ```sh
//! cargo run --release --example photo_jobs -- examples/poster/poster.json 200
//! ```
//!
//! One `Renderer` (CPU backend, fonts and decoded-asset cache shared) renders
//! the scene `N` times on rayon's pool and encodes each to JPEG (quality 85)
//! in memory; prints renders per second. `--no-cache` turns the
//! decoded-asset cache and the resampled-image cache off, so that every
//! render decodes and resamples its images, as the peers are measured;
//! `--no-decode-cache` turns off only the first (every render decodes its
//! files, resamples of unchanged files are reused, as in a service). The global allocator is mimalloc, as in the `impasto`
//! binary.

use std::time::Instant;

use impasto::codec::OutputFormat;
use impasto::{Assets, Backend, Renderer, Scene};
use rayon::prelude::*;

/// mimalloc: faster JPEG decoding here (see its entry in Cargo.toml).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: photo_jobs SCENE.json N [--no-cache | --no-decode-cache]";
    let scene_path = args.first().ok_or(usage)?;
    let n: usize = args.get(1).ok_or(usage)?.parse()?;
    let no_cache = args.iter().any(|a| a == "--no-cache");
    let no_decode_cache = no_cache || args.iter().any(|a| a == "--no-decode-cache");
    let scene = Scene::from_path(scene_path)?;
    let mut renderer = Renderer::new(Backend::Cpu)?.with_system_fonts(false);
    if no_decode_cache {
        renderer = renderer.with_asset_cache_budget(0);
    }
    if no_cache {
        renderer = renderer.with_placed_cache_budget(0);
    }
    let assets = Assets::new();
    let format = OutputFormat::Jpeg { quality: 85 };
    // One render first: fonts load, caches fill as in a long-running service.
    renderer.render_to_vec(&scene, &assets, format)?;
    let start = Instant::now();
    let bytes: usize = (0..n)
        .into_par_iter()
        .map(|_| {
            renderer
                .render_to_vec(&scene, &assets, format)
                .map(|v| v.len())
        })
        .collect::<Result<Vec<_>, _>>()?
        .iter()
        .sum();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{{\"renders\": {n}, \"seconds\": {secs:.3}, \"per_s\": {:.2}, \"mean_bytes\": {}, \"threads\": {}}}",
        n as f64 / secs,
        bytes / n.max(1),
        rayon::current_num_threads()
    );
    Ok(())
}
