//! How long AVIF and lossy WebP take to encode a rendered 1200x630 social
//! card and a 2048x2048 poster (BENCHMARKS.md, "AVIF and WebP encoding").
//!
//! ```sh
//! cargo run --release --example encode_speed
//! ```
//!
//! Each figure is the median of 5 encodes (after one warm-up), on all cores
//! (rav1e and libwebp both use threads). Prints one line per encoder.

use std::time::Instant;

use impasto::codec::{self, OutputFormat};
use impasto::scene::{Fit, Layer};
use impasto::{Backend, Color, Renderer, RgbaImage, Scene};

fn scene(width: u32, height: u32) -> Scene {
    let mut scene = Scene::new(width, height)
        .background(Color::hex("#0f172a"))
        .layer(Layer::image("coffee.jpg").fit(Fit::Cover))
        .layer(
            Layer::linear_gradient([
                (0.0, Color::hex("#00000000")),
                (1.0, Color::hex("#000000c0")),
            ])
            .angle(180),
        )
        .layer(
            Layer::text("Cold brew, slow mornings", (height / 10) as f64)
                .at(60, (height * 3 / 5) as i32)
                .size(width as f64 - 120.0, (height / 4) as f64)
                .color(Color::WHITE)
                .weight(700),
        )
        .layer(
            Layer::image("logo.png")
                .at(40, 40)
                .size((width / 8) as f64, (width / 8) as f64)
                .fit(Fit::Contain),
        );
    scene.base_dir = Some("examples/poster".into());
    scene
}

fn median_ms(mut f: impl FnMut() -> usize) -> (f64, usize) {
    let bytes = f();
    let mut times: Vec<f64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    (times[2], bytes)
}

fn main() -> Result<(), impasto::Error> {
    let renderer = Renderer::new(Backend::Cpu)?.with_system_fonts(false);
    let threads = rayon::current_num_threads();
    println!("encoder                      image      ms      bytes   (threads: {threads})");
    for (w, h) in [(1200, 630), (2048, 2048)] {
        let img: RgbaImage = renderer.render(&scene(w, h))?;
        let size = format!("{w}x{h}");
        for speed in [4u8, 6, 8] {
            let (ms, bytes) =
                median_ms(|| codec::encode_avif_at_speed(&img, 70, speed).unwrap().len());
            let name = format!("avif q70 speed {speed}");
            let default = if speed == 6 { " (default)" } else { "" };
            println!("{name:<28} {size:<9} {ms:>7.1} {bytes:>10}{default}");
        }
        let (ms, bytes) = median_ms(|| {
            codec::encode(&img, OutputFormat::WebP { quality: 80 })
                .unwrap()
                .len()
        });
        println!(
            "{:<28} {size:<9} {ms:>7.1} {bytes:>10}",
            "webp lossy q80 (method 2)"
        );
        let (ms, bytes) = median_ms(|| {
            codec::encode(&img, OutputFormat::Jpeg { quality: 85 })
                .unwrap()
                .len()
        });
        println!(
            "{:<28} {size:<9} {ms:>7.1} {bytes:>10}",
            "jpeg q85 (reference)"
        );
    }
    Ok(())
}
