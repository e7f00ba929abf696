//! The host's share of a JPEG on the GPU backend, against the whole encode
//! of the same pixels on the CPU.
//!
//! - `gpu_jpeg/entropy_code_1200x630_q85`: `Encodable::encode` of a social
//!   card whose DCT blocks the GPU computed: the entropy coding (and the
//!   headers), all that is left to the CPU.
//! - `gpu_jpeg/encode_pixels_1200x630_q85`: `codec::encode` of the same
//!   card's pixels as JPEG q85: colour conversion, subsampling, DCT,
//!   quantisation and entropy coding on the CPU (`jpeg-encoder`), as the
//!   CPU backend and the GPU backend before the JPEG pass do it.
//!
//! Both run in parallel strips on rayon's pool: run with
//! `RAYON_NUM_THREADS=1` for the cost on one core. Needs a GPU adapter
//! (lavapipe will do: the timed part runs on the CPU either way); without
//! one it says so and measures nothing.
//!
//! Run: `RAYON_NUM_THREADS=1 cargo bench --bench gpu_jpeg`. Figures go to
//! BENCHMARKS.md.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use impasto::codec::{encode, OutputFormat};
use impasto::{Assets, Backend, RenderOptions, Renderer, Scene};

#[path = "support/photo_like.rs"]
mod photo_like;
use photo_like::photo;

fn card() -> Scene {
    Scene::from_value(&serde_json::json!({
        "width": 1200, "height": 630, "background": "#101014",
        "layers": [
            {"type": "image", "src": "photo", "fit": "cover"},
            {"type": "linear-gradient", "angle": 90, "stops": [
                {"offset": 0, "color": "#000000d8"}, {"offset": 0.75, "color": "#00000000"}]},
            {"type": "text", "text": "Flat White Week, part 12", "x": 60, "y": 200,
             "width": 760, "height": 180, "size": 68, "weight": 700, "color": "#ffffff"},
            {"type": "text", "text": "Every Tuesday from 7 to 11 am: a second mocha for 61 cents.",
             "x": 60, "y": 420, "width": 700, "height": 130, "size": 30, "color": "#e6e6e6"}
        ]
    }))
    .expect("a valid scene")
}

fn bench(c: &mut Criterion) {
    let gpu = match Renderer::new(Backend::Gpu) {
        Ok(r) => r.with_system_fonts(false),
        Err(e) => {
            eprintln!("gpu_jpeg: no GPU adapter ({e}); nothing measured");
            return;
        }
    };
    let mut assets = Assets::new();
    assets.insert("photo", photo(1600, 1000));
    let scene = card();
    let format = OutputFormat::Jpeg { quality: 85 };
    let options = RenderOptions::default();
    let blocks = gpu
        .render_encoded(&scene, &assets, format, &options)
        .expect("the card renders");
    assert!(blocks.has_gpu_jpeg_blocks());
    let pixels = gpu
        .render_with_assets(&scene, &assets)
        .expect("the card renders");
    let mut g = c.benchmark_group("gpu_jpeg");
    g.measurement_time(Duration::from_secs(4));
    g.bench_function("entropy_code_1200x630_q85", |b| {
        b.iter(|| black_box(blocks.encode().unwrap()))
    });
    g.bench_function("encode_pixels_1200x630_q85", |b| {
        b.iter(|| black_box(encode(&pixels, format).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
