//! Criterion benchmarks of the CPU backend.
//!
//! - `composite/10x2048`: ten full-canvas 2048x2048 RGBA layers, natural
//!   size, composited source-over (the headline figure; peers are
//!   measured on the same pixels by `benches/peers.py`).
//! - `composite_gpu/10x2048`: the same on the GPU backend (upload, composite,
//!   encode and readback included), on whatever adapter wgpu finds.
//! - `poster/end_to_end`: the bundled sample poster, decode + resize +
//!   composite + PNG encode.
//! - `poster_gpu/8_one_by_one`, `poster_gpu/8_batch`: eight such posters on
//!   the GPU backend, rendered one by one and as a batch
//!   (`Renderer::render_each`, which overlaps one poster's readback and
//!   encoding with the next one's decoding, upload and drawing).
//! - `encode/...`: encoding the 2048x2048 ten-layer result: `png_2048` (the
//!   default settings), `jpeg_q85_2048` (the CLI default, 4:2:0, parallel
//!   strips), `jpeg_q90_2048` (4:4:4), `jpeg_q85_2048_strips_1_thread` (the
//!   strips on one thread), `jpeg_q85_2048_one_stream` (jpeg-encoder alone,
//!   the previous path), `webp_q85_2048`, `webp_lossless_2048`; and a
//!   1200x630 piece of the sample poster (scaled to 1200 wide): `jpeg_q85_card`, `webp_q85_card`.
//!
//! - `text/20_layers_2000_chars`: a text-heavy 1080x1350 poster (glyph cache
//!   warm after the first iteration: seen glyphs are not rasterized again).
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

/// Straight RGBA over white, as `codec::encode` flattens for JPEG.
fn flatten(img: &RgbaImage) -> Vec<u8> {
    img.pixels()
        .flat_map(|p| {
            let a = p[3] as u32;
            [0, 1, 2].map(|c| ((p[c] as u32 * a + 255 * (255 - a) + 127) / 255) as u8)
        })
        .collect()
}

/// The `encode` group: `result` (the ten-layer composite) in each format,
/// and a 1200x630 social-card-sized piece of the sample poster (a photo).
fn encoders(c: &mut Criterion, result: &RgbaImage, renderer: &Renderer) {
    let poster = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/poster/poster.json");
    let poster = renderer
        .render(&Scene::from_path(&poster).unwrap())
        .unwrap();
    // The 1080x1350 poster, scaled to 1200 wide, its top 630 rows.
    let wide = image::imageops::resize(&poster, 1200, 1500, image::imageops::Triangle);
    let card = image::imageops::crop_imm(&wide, 0, 0, 1200, 630).to_image();
    let (q85, q90) = (
        OutputFormat::Jpeg { quality: 85 },
        OutputFormat::Jpeg { quality: 90 },
    );
    let (webp85, exact) = (
        OutputFormat::WebP { quality: 85 },
        OutputFormat::WebPLossless,
    );
    for (name, img, format) in [
        ("2048", result, q85),
        ("2048", result, q90),
        ("2048", result, webp85),
        ("2048", result, exact),
        ("card", &card, q85),
        ("card", &card, webp85),
    ] {
        let bytes = encode(img, format).unwrap().len();
        eprintln!("{name} {format:?}: {bytes} bytes");
    }
    let mut g = c.benchmark_group("encode");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    g.bench_function("png_2048", |b| {
        b.iter(|| black_box(encode(result, OutputFormat::Png).unwrap()))
    });
    g.bench_function("jpeg_q85_2048", |b| {
        b.iter(|| black_box(encode(result, q85).unwrap()))
    });
    g.bench_function("jpeg_q90_2048", |b| {
        b.iter(|| black_box(encode(result, q90).unwrap()))
    });
    // The strips on one thread: what joining costs.
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    g.bench_function("jpeg_q85_2048_strips_1_thread", |b| {
        b.iter(|| one.install(|| black_box(encode(result, q85).unwrap())))
    });
    // The previous encoder: jpeg-encoder's one stream (flattening not timed).
    let rgb = flatten(result);
    g.bench_function("jpeg_q85_2048_one_stream", |b| {
        b.iter(|| {
            let mut out = Vec::new();
            let enc = jpeg_encoder::Encoder::new(&mut out, 85);
            enc.encode(&rgb, 2048, 2048, jpeg_encoder::ColorType::Rgb)
                .unwrap();
            black_box(out)
        })
    });
    g.bench_function("webp_q85_2048", |b| {
        b.iter(|| black_box(encode(result, webp85).unwrap()))
    });
    g.bench_function("webp_lossless_2048", |b| {
        b.iter(|| black_box(encode(result, exact).unwrap()))
    });
    g.bench_function("jpeg_q85_card", |b| {
        b.iter(|| black_box(encode(&card, q85).unwrap()))
    });
    g.bench_function("webp_q85_card", |b| {
        b.iter(|| black_box(encode(&card, webp85).unwrap()))
    });
    g.finish();
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

    // The same ten layers on the GPU backend, when an adapter exists (on a
    // software adapter such as lavapipe the figure says nothing about GPUs).
    match Renderer::new(Backend::Gpu) {
        Ok(gpu) => {
            eprintln!("GPU backend on {:?}", gpu.adapter());
            let mut g = c.benchmark_group("composite_gpu");
            g.sample_size(10).measurement_time(Duration::from_secs(10));
            g.bench_function("10x2048", |b| {
                b.iter(|| black_box(gpu.render_with_assets(&scene, &assets).unwrap()))
            });
            g.finish();
        }
        Err(e) => eprintln!("composite_gpu not measured: {e}"),
    }

    let result = renderer.render_with_assets(&scene, &assets).unwrap();
    encoders(c, &result, &renderer);

    // A text-heavy poster: 20 text layers, 2000 characters, bundled font.
    let words = "Fresh roasted beans daily, espresso, cortado, flat white and filter coffee; ";
    let layers: Vec<serde_json::Value> = (0..20)
        .map(|i| {
            let text: String = words.chars().cycle().skip(i * 7).take(100).collect();
            let weight = if i % 2 == 0 { 400 } else { 700 };
            serde_json::json!({"type": "text", "text": text, "x": 40 + (i % 2) * 520, "y": 30 + (i / 2) * 130,
                               "width": 480, "height": 120, "size": 18 + (i % 4) * 4,
                               "weight": weight, "color": "#1d1d1f"})
        })
        .collect();
    let text_scene = Scene::from_value(&serde_json::json!({
        "width": 1080, "height": 1350, "background": "#f4efe6", "layers": layers
    }))
    .unwrap();
    let text_renderer = Renderer::new(Backend::Cpu)
        .unwrap()
        .with_system_fonts(false);
    let mut g = c.benchmark_group("text");
    g.sample_size(20).measurement_time(Duration::from_secs(8));
    g.bench_function("20_layers_2000_chars", |b| {
        b.iter(|| black_box(text_renderer.render(&text_scene).unwrap()))
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

    // Eight posters, each decoded, rendered and PNG-encoded, on the GPU:
    // one after another, and as a batch (the next poster is decoded,
    // uploaded and submitted while the previous one is read back and
    // encoded). The renderer's caches are on, as on the CPU above: since
    // 2026-11-27 that includes the device's resampled-image cache, so the
    // photo is resampled once, not per poster as in earlier figures.
    match Renderer::new(Backend::Gpu) {
        Ok(gpu) => {
            eprintln!("GPU backend on {:?}", gpu.adapter());
            let posters = vec![scene; 8];
            let none = Assets::new();
            let mut g = c.benchmark_group("poster_gpu");
            g.sample_size(10).measurement_time(Duration::from_secs(10));
            g.bench_function("8_one_by_one", |b| {
                b.iter(|| {
                    for s in &posters {
                        let img = gpu.render(s).unwrap();
                        black_box(encode(&img, OutputFormat::Png).unwrap());
                    }
                })
            });
            g.bench_function("8_batch", |b| {
                b.iter(|| {
                    gpu.render_each(&posters, &none, |_, img| {
                        black_box(encode(&img.unwrap(), OutputFormat::Png).unwrap());
                    })
                })
            });
            g.finish();
        }
        Err(e) => eprintln!("poster_gpu not measured: {e}"),
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
