//! Criterion benchmarks of the CPU backend.
//!
//! - `composite/10x2048`: ten full-canvas 2048x2048 RGBA layers, natural
//!   size, composited source-over (the headline figure; peers are
//!   measured on the same pixels by `benches/peers.py`).
//! - `poster/end_to_end`: the bundled sample poster, decode + resize +
//!   composite + PNG encode.
//! - `encode/png_2048`, `encode/jpeg_q85_2048`: encoding a 2048x2048 result (PNG default settings; JPEG at the CLI default quality, 4:2:0).
//!
//! Run: `cargo bench --bench composite`. Figures go to BENCHMARKS.md.

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use impasto::codec::{encode, OutputFormat};
use impasto::{Assets, Backend, Renderer, RgbaImage, Scene};

/// The benchmark's layer `k`: a deterministic pattern with every alpha value,
/// the same formula as `benches/peers.py`.
pub fn layer_image(k: u32, size: u32) -> RgbaImage {
    RgbaImage::from_fn(size, size, |x, y| {
        let v = x
            .wrapping_mul(7)
            .wrapping_add(y.wrapping_mul(13))
            .wrapping_add(k * 31);
        image::Rgba([
            (v & 255) as u8,
            ((v >> 3) & 255) as u8,
            ((x ^ y) & 255) as u8,
            ((x + y + k * 17) & 255) as u8,
        ])
    })
}

fn ten_layers(space: &str) -> (Scene, Assets) {
    let size = 2048;
    let mut assets = Assets::new();
    let mut layers = Vec::new();
    for k in 0..10 {
        assets.insert(format!("layer{k}.png"), Arc::new(layer_image(k, size)));
        layers.push(serde_json::json!({"type": "image", "src": format!("layer{k}.png")}));
    }
    let scene = Scene::from_value(&serde_json::json!({
        "width": size, "height": size, "blend_space": space, "layers": layers
    }))
    .unwrap();
    assert_eq!(format!("{:?}", scene.blend_space).to_lowercase(), space);
    (scene, assets)
}

fn bench(c: &mut Criterion) {
    let renderer = Renderer::new(Backend::Cpu).unwrap();
    eprintln!(
        "impasto CPU backend, {} rayon threads",
        rayon::current_num_threads()
    );

    let (scene, assets) = ten_layers("srgb");
    let (linear_scene, _) = ten_layers("linear");
    let mut g = c.benchmark_group("composite");
    g.sample_size(20).measurement_time(Duration::from_secs(8));
    g.bench_function("10x2048", |b| {
        b.iter(|| black_box(renderer.render_with_assets(&scene, &assets).unwrap()))
    });
    g.bench_function("10x2048_linear", |b| {
        b.iter(|| black_box(renderer.render_with_assets(&linear_scene, &assets).unwrap()))
    });
    g.finish();

    // The floor: read the ten layers' bytes once and write one canvas,
    // on the same threads (byte-wise max, which any compositor must beat
    // the memory traffic of).
    let raw: Vec<Arc<RgbaImage>> = (0..10)
        .map(|k| assets.get(&format!("layer{k}.png")).unwrap().clone())
        .collect();
    let mut g = c.benchmark_group("baseline");
    g.sample_size(20).measurement_time(Duration::from_secs(5));
    g.bench_function("read10_write1_2048", |b| {
        b.iter(|| {
            use rayon::prelude::*;
            let mut out = vec![0u8; 2048 * 2048 * 4];
            out.par_chunks_mut(64 * 1024)
                .enumerate()
                .for_each(|(i, chunk)| {
                    let at = i * 64 * 1024;
                    chunk.copy_from_slice(&raw[0].as_raw()[at..at + chunk.len()]);
                    for l in &raw[1..] {
                        for (o, v) in chunk.iter_mut().zip(&l.as_raw()[at..]) {
                            *o = (*o).max(*v);
                        }
                    }
                });
            black_box(out)
        })
    });
    g.finish();

    let result = renderer.render_with_assets(&scene, &assets).unwrap();
    let mut g = c.benchmark_group("encode");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    g.bench_function("png_2048", |b| {
        b.iter(|| black_box(encode(&result, OutputFormat::Png).unwrap()))
    });
    g.bench_function("jpeg_q85_2048", |b| {
        b.iter(|| black_box(encode(&result, OutputFormat::Jpeg { quality: 85 }).unwrap()))
    });
    g.finish();

    let poster = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/poster/poster.json");
    let scene = Scene::from_path(&poster).unwrap();
    let mut g = c.benchmark_group("poster");
    g.sample_size(20).measurement_time(Duration::from_secs(8));
    g.bench_function("end_to_end", |b| {
        b.iter(|| {
            let img = renderer.render(&scene).unwrap();
            black_box(encode(&img, OutputFormat::Png).unwrap())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
