//! Criterion benchmarks of the real-photo path (CPU backend).
//!
//! - `photo/resample_4000x3000_cover_1200x630`: a 4000x3000 photo-like
//!   image already in memory, cover-fitted into a 1200x630 canvas (Lanczos-3,
//!   the resampler alone plus one layer's compositing).
//! - `photo/jpeg_file_cover_1200x630`: the same image as a q90 JPEG file,
//!   decoded on every render (decoded-asset cache off), so shrink-on-load
//!   decides the cost.
//! - `photo/jpeg_file_cover_1200x630_full_decode`: the same with
//!   shrink-on-load off (full-precision decode).
//!
//! Run: `cargo bench --bench photo`. Figures go to BENCHMARKS.md.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use impasto::{Assets, Backend, Renderer, Scene};

#[path = "support/photo_like.rs"]
mod photo_like;
use photo_like::photo;

fn card(src: &str) -> Scene {
    Scene::from_value(&serde_json::json!({
        "width": 1200, "height": 630,
        "layers": [ { "type": "image", "src": src, "fit": "cover" } ]
    }))
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let img = photo(4000, 3000);
    let dir = tempfile::tempdir().unwrap();
    let mut rgb = Vec::with_capacity(4000 * 3000 * 3);
    for p in img.pixels() {
        rgb.extend_from_slice(&p.0[..3]);
    }
    let enc = jpeg_encoder::Encoder::new_file(dir.path().join("photo.jpg"), 90).unwrap();
    enc.encode(&rgb, 4000, 3000, jpeg_encoder::ColorType::Rgb)
        .unwrap();

    let mut assets = Assets::new();
    assets.insert("mem.png", img);
    let renderer = Renderer::new(Backend::Cpu)
        .unwrap()
        .with_asset_cache_budget(0)
        .with_asset_root(dir.path());
    let mut g = c.benchmark_group("photo");
    g.sample_size(20).measurement_time(Duration::from_secs(8));
    let scene = card("mem.png");
    g.bench_function("resample_4000x3000_cover_1200x630", |b| {
        b.iter(|| black_box(renderer.render_with_assets(&scene, &assets).unwrap()))
    });
    let scene = card("photo.jpg");
    g.bench_function("jpeg_file_cover_1200x630", |b| {
        b.iter(|| black_box(renderer.render(&scene).unwrap()))
    });
    let full = renderer.clone().with_shrink_on_load(false);
    g.bench_function("jpeg_file_cover_1200x630_full_decode", |b| {
        b.iter(|| black_box(full.render(&scene).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
