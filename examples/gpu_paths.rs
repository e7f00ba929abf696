//! The GPU backend's two compositors side by side, per kind of layer:
//! `cargo run --release --example gpu_paths -- [--size 2048] [--layers 20] [--reps 20]`.
//!
//! Each scene is a `size` x `size` canvas; each is rendered `reps` times
//! (after three warm-up renders) with `GpuCompositor::Fragment` and with
//! `GpuCompositor::Compute`, on renderers of their own, and the median
//! milliseconds of one render (upload, composite, encode, readback) are
//! printed. The scenes separate the costs: solids upload nothing, so they
//! measure compositing alone; `multiply` takes the fragment path's backdrop
//! route; `rotated` draws rotated quads; `images` uploads `size`-square
//! RGBA8 images from memory.

use std::sync::Arc;
use std::time::Instant;

use impasto::{Assets, Backend, GpuCompositor, Renderer, RgbaImage, Scene};
use serde_json::{json, Value};

const USAGE: &str = "usage: gpu_paths [--size 2048] [--layers 20] [--reps 20]";

/// The number after `name`, or `default`; `--help` prints the usage, and
/// an argument the example does not know stops it (it would run minutes).
fn arg(name: &str, default: u32) -> u32 {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        std::process::exit(0);
    }
    let known = ["--size", "--layers", "--reps"];
    let mut rest = args.iter().skip(1);
    while let Some(a) = rest.next() {
        if !known.contains(&a.as_str()) {
            eprintln!("gpu_paths: unknown argument {a:?}\n{USAGE}");
            std::process::exit(2);
        }
        rest.next();
    }
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} takes a number"))
        })
        .unwrap_or(default)
}

fn pattern(k: u32, size: u32) -> RgbaImage {
    RgbaImage::from_fn(size, size, |x, y| {
        let v = x.wrapping_mul(7).wrapping_add(y.wrapping_mul(13)) + k * 31;
        image::Rgba([
            v as u8,
            (v >> 3) as u8,
            (x ^ y) as u8,
            (x + y + k * 17) as u8,
        ])
    })
}

/// The scenes: name, JSON and in-memory images.
fn scenes(size: u32, layers: u32) -> Vec<(&'static str, Value, Assets)> {
    let solid = |blend: &str| -> Vec<Value> {
        (0..layers)
            .map(|k| {
                json!({ "type": "rect", "color": format!("#{:02x}80c0a0", (k * 37) % 256),
                        "blend": blend, "opacity": 0.9 })
            })
            .collect()
    };
    let rotated: Vec<Value> = (0..layers)
        .map(|k| {
            json!({ "type": "rect", "x": (k * 53) % (size / 2), "y": (k * 97) % (size / 2),
                    "width": size / 2, "height": size / 3, "rotate": 30, "corner_radius": 24,
                    "color": "#3070c0a0" })
        })
        .collect();
    let n_images = layers.min(10);
    let mut assets = Assets::new();
    let images: Vec<Value> = (0..n_images)
        .map(|k| {
            let name = format!("layer{k}.png");
            assets.insert(name.clone(), Arc::new(pattern(k, size)));
            json!({ "type": "image", "src": name, "x": 0, "y": 0 })
        })
        .collect();
    let scene = |layers: Vec<Value>| json!({ "width": size, "height": size, "background": "#ffffff", "layers": layers });
    vec![
        (
            "solid source-over",
            scene(solid("source-over")),
            Assets::new(),
        ),
        ("solid multiply", scene(solid("multiply")), Assets::new()),
        ("rotated rounded rects", scene(rotated), Assets::new()),
        ("images (natural size)", scene(images), assets),
    ]
}

fn median_ms(r: &Renderer, scene: &Scene, assets: &Assets, reps: u32) -> f64 {
    for _ in 0..3 {
        r.render_with_assets(scene, assets).expect("render");
    }
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let start = Instant::now();
            r.render_with_assets(scene, assets).expect("render");
            start.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

fn main() {
    let (size, layers, reps) = (arg("--size", 2048), arg("--layers", 20), arg("--reps", 20));
    let open = |c| {
        Renderer::new(Backend::Gpu)
            .expect("a GPU adapter")
            .with_gpu_compositor(c)
    };
    let (fragment, compute) = (open(GpuCompositor::Fragment), open(GpuCompositor::Compute));
    let a = fragment.adapter().expect("a GPU renderer has an adapter");
    println!(
        "adapter: {} ({}, {}, {})",
        a.name, a.device_type, a.backend, a.driver
    );
    println!(
        "canvas {size}x{size}, {layers} layers (images: at most 10), median of {reps} renders\n"
    );
    println!("{:<24} {:>12} {:>12}", "scene", "fragment ms", "compute ms");
    for (name, json, assets) in scenes(size, layers) {
        let scene = Scene::from_value(&json).expect("a valid scene");
        let f = median_ms(&fragment, &scene, &assets, reps);
        let c = median_ms(&compute, &scene, &assets, reps);
        println!("{name:<24} {f:>12.2} {c:>12.2}");
    }
}
