//! The GPU backend (wgpu), run on whatever adapter wgpu finds: lavapipe in CI.
//! Under `CI=true` a missing adapter fails these tests; elsewhere they say
//! that they were skipped.
//!
//! Tolerances:
//! - Against the float64 reference (exact subset): the same as the CPU
//!   backend's (alpha within 1, colour within 1.01 premultiplied): the
//!   shaders run the same f32 formulas on the same tables.
//! - GPU against CPU (whole format): `common::backends::GPU` (premultiplied
//!   channels within 2 everywhere and within 1 for 99.9% of them), and
//!   `GPU_TEXT` for text; the reasons are written beside them.

mod common;

use std::sync::Arc;

use common::backends::{difference, gpu_renderer, GPU, GPU_TEXT};
use image::RgbaImage;
use impasto::{Assets, Backend, GpuCompositor, Renderer, Scene};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

/// The GPU renderer with the system's fonts off, or `None` without an
/// adapter (a failure under `CI=true`, a printed skip elsewhere).
fn gpu() -> Option<Renderer> {
    gpu_renderer().map(|r| r.clone().with_system_fonts(false))
}

fn cpu() -> Renderer {
    Renderer::new(Backend::Cpu)
        .unwrap()
        .with_system_fonts(false)
}

/// (max difference, share of channels over 1) between two renders,
/// premultiplied.
fn parity(a: &RgbaImage, b: &RgbaImage) -> (f64, f64) {
    let d = difference(a, b, &GPU);
    (d.worst, d.loose as f64 / d.channels as f64)
}

/// Renders `json` on the CPU and on `gpu` and holds them to the GPU
/// tolerance; on failure both renders are saved under `name`.
fn assert_parity(gpu: &Renderer, name: &str, json: &Value, assets: &Assets) {
    let scene = Scene::from_value(json).unwrap();
    let a = cpu().render_with_assets(&scene, assets).unwrap();
    let b = gpu
        .render_with_assets(&scene, assets)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let d = difference(&a, &b, &GPU);
    if !d.within(&GPU) {
        let at = save_pair(name, &a, &b, json);
        panic!("{name}: {d:?} (in {at})");
    }
}

fn save_pair(name: &str, cpu: &RgbaImage, gpu: &RgbaImage, scene: &Value) -> String {
    let dir = common::failure_dir();
    cpu.save(dir.join(format!("{name}.cpu.png"))).unwrap();
    gpu.save(dir.join(format!("{name}.gpu.png"))).unwrap();
    std::fs::write(dir.join(format!("{name}.json")), scene.to_string()).unwrap();
    dir.display().to_string()
}

#[test]
fn gpu_matches_float64_reference_for_every_blend_name_in_both_spaces() {
    let Some(gpu) = gpu() else { return };
    let (_, _, failures) =
        common::blend_reference_check(&gpu, "gpu-reference", 0x1a2b_3c4d, 4, (1.0, 1.01));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn gpu_and_cpu_agree_on_rotated_rounded_scaled_and_text_layers() {
    let Some(gpu) = gpu() else { return };
    let cpu = cpu();
    let mut rng = ChaCha8Rng::seed_from_u64(77);
    let assets = common::full_scene_assets(&mut rng);
    let mut failures = Vec::new();
    let (mut worst, mut worst_frac) = (0.0f64, 0.0f64);
    for k in 0..240 {
        let json = common::random_full_scene(&mut rng);
        let scene = Scene::from_value(&json).unwrap();
        let a = cpu.render_with_assets(&scene, &assets).unwrap();
        let b = gpu.render_with_assets(&scene, &assets).unwrap();
        let (d, frac) = parity(&a, &b);
        worst = worst.max(d);
        worst_frac = worst_frac.max(frac);
        if d > 2.0 || frac > 0.001 {
            let at = save_pair(&format!("parity-{k}"), &a, &b, &json);
            failures.push(format!(
                "scene {k}: max {d:.2}, {:.3}% over 1 (in {at})",
                frac * 100.0
            ));
        }
    }
    eprintln!(
        "GPU vs CPU: worst channel {worst:.2}, worst share over 1: {:.4}%",
        worst_frac * 100.0
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn readback_removes_row_padding_for_odd_widths() {
    let Some(gpu) = gpu() else { return };
    let cpu = cpu();
    for w in [1u32, 3, 63, 64, 65, 257, 1081] {
        let json = json!({"width": w, "height": 5, "background": "#102030", "layers": [
            {"type": "linear-gradient", "angle": 90, "stops": [{"offset": 0, "color": "#ff0000"}, {"offset": 1, "color": "#0000ff80"}]}]});
        let scene = Scene::from_value(&json).unwrap();
        let (a, b) = (cpu.render(&scene).unwrap(), gpu.render(&scene).unwrap());
        assert_eq!(b.dimensions(), (w, 5));
        let (d, _) = parity(&a, &b);
        assert!(d <= 1.0, "width {w}: max difference {d}");
    }
}

#[test]
fn pool_live_bytes_stay_under_budget_and_flat_over_1000_renders() {
    if gpu_renderer().is_none() {
        return;
    }
    // A renderer of its own, so the pool holds only this test's resources.
    let budget = 48 << 20;
    let gpu = Renderer::new(Backend::Gpu)
        .unwrap()
        .with_gpu_pool_budget(budget);
    assert!(gpu.adapter().is_some());
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let assets = common::full_scene_assets(&mut rng);
    let sizes = [
        (17u32, 9u32),
        (64, 64),
        (300, 200),
        (129, 257),
        (400, 300),
        (31, 500),
    ];
    let mut peak_first = 0;
    let mut peak_second = 0;
    for i in 0..1000 {
        let (w, h) = sizes[i % sizes.len()];
        let json = json!({"width": w, "height": h, "background": "#ffffff", "layers": [
            {"type": "image", "src": format!("i{}.png", i % 3), "fit": "cover", "rotate": (i % 7) as f64 * 10.0},
            {"type": "radial-gradient", "stops": [{"offset": 0, "color": "#ff000080"}, {"offset": 1, "color": "#00000000"}]}]});
        gpu.render_with_assets(&Scene::from_value(&json).unwrap(), &assets)
            .unwrap();
        let s = gpu.gpu_pool_stats().unwrap();
        assert!(
            s.bytes_live <= budget,
            "render {i}: {} live bytes over the budget {budget}",
            s.bytes_live
        );
        if i < 500 {
            peak_first = peak_first.max(s.bytes_live);
        } else {
            peak_second = peak_second.max(s.bytes_live);
        }
    }
    let s = gpu.gpu_pool_stats().unwrap();
    eprintln!("pool after 1000 renders: {s:?}");
    // The device's resample cache (rotated images of three sources at seven
    // angles and six sizes) holds device memory of its own, within its own
    // budget.
    let c = gpu.gpu_placed_cache_stats().unwrap();
    assert!(c.images > 0 && c.bytes <= c.budget, "{c:?}");
    assert!(
        peak_second <= peak_first,
        "live bytes grew: {peak_first} then {peak_second}"
    );
    assert!(
        s.hits > s.misses * 10,
        "the pool should serve most requests: {s:?}"
    );
}

/// A render with two layers of one 700x500 image (1.4 MB, rows of 2,800
/// bytes padded to 2,816 in staging): one drawn 1:1 (uploaded as is), one
/// rotated (uploaded for resampling). Both uploads are staged.
fn staged_image_scene() -> (Scene, Assets) {
    let mut rng = ChaCha8Rng::seed_from_u64(14);
    let mut assets = Assets::new();
    assets.insert(
        "big.png",
        Arc::new(common::random_image(&mut rng, 700, 500)),
    );
    let json = json!({"width": 700, "height": 500, "background": "#ffffff", "layers": [
        {"type": "image", "src": "big.png", "fit": "cover"},
        {"type": "image", "src": "big.png", "fit": "contain", "rotate": 10.0, "opacity": 0.5}]});
    (Scene::from_value(&json).unwrap(), assets)
}

#[test]
fn staged_uploads_reuse_their_pooled_mapped_buffers_and_match_the_write_buffer_path() {
    if gpu_renderer().is_none() {
        return;
    }
    let (scene, assets) = staged_image_scene();
    // Renderers of their own, so each pool holds only this test's resources;
    // without the device's resampled-image cache, so that every render
    // uploads the same images (a render reading the rotated layer's resample
    // from it uploads one image less, and fewer uniforms).
    let mapped = Renderer::new(Backend::Gpu)
        .unwrap()
        .with_gpu_placed_cache_budget(0);
    let first = mapped.render_with_assets(&scene, &assets).unwrap();
    let after_first = mapped.gpu_pool_stats().unwrap();
    for i in 0..20 {
        let img = mapped.render_with_assets(&scene, &assets).unwrap();
        assert!(img == first, "render {i} differs from the first");
    }
    let s = mapped.gpu_pool_stats().unwrap();
    assert_eq!(
        (s.misses, s.bytes_live, s.buffers),
        (
            after_first.misses,
            after_first.bytes_live,
            after_first.buffers
        ),
        "later renders allocated: {after_first:?} then {s:?}"
    );
    assert!(s.hits > after_first.hits, "{s:?}");
    // The fallback (wgpu's staging memory, then one more GPU copy) writes
    // the same bytes.
    let written = Renderer::new(Backend::Gpu)
        .unwrap()
        .with_unmapped_uploads_for_test();
    let img = written.render_with_assets(&scene, &assets).unwrap();
    assert!(img == first, "the write_buffer_with path differs");
}

/// Six staged images of 1000x1100 (4.4 MB, rows of 4,000 bytes padded to
/// 4,096): with overlap on, their copies go in three submissions of two;
/// one is also rotated (its upload feeds the resampling passes), one is a
/// small image (not staged). The canvas's odd row length pads the readback.
fn multi_image_scene() -> (Scene, Assets) {
    let mut rng = ChaCha8Rng::seed_from_u64(41);
    let mut assets = Assets::new();
    let mut layers = Vec::new();
    for k in 0..6 {
        let name = format!("big{k}.png");
        assets.insert(
            name.clone(),
            Arc::new(common::random_image(&mut rng, 1000, 1100)),
        );
        layers.push(json!({"type": "image", "src": name, "x": k * 7, "y": -k * 5, "opacity": 0.8}));
    }
    layers.push(json!({"type": "image", "src": "big2.png", "fit": "contain", "rotate": 12.0}));
    assets.insert(
        "small.png",
        Arc::new(common::random_image(&mut rng, 100, 80)),
    );
    layers
        .push(json!({"type": "image", "src": "small.png", "x": 30, "y": 40, "blend": "multiply"}));
    let json = json!({"width": 1001, "height": 900, "background": "#ffffff", "layers": layers});
    (Scene::from_value(&json).unwrap(), assets)
}

#[test]
fn in_frame_overlap_on_and_off_render_the_same_bytes_on_both_compositors() {
    if gpu_renderer().is_none() {
        return;
    }
    let (scene, assets) = multi_image_scene();
    for compositor in [GpuCompositor::Fragment, GpuCompositor::Compute] {
        // Without the device's resample cache: every render uploads every
        // image, the rotated one's for resampling too.
        let gpu = Renderer::new(Backend::Gpu)
            .unwrap()
            .with_gpu_compositor(compositor)
            .with_gpu_placed_cache_budget(0);
        let gpu = gpu.with_gpu_overlap_for_test(false);
        let off = gpu.render_with_assets(&scene, &assets).unwrap();
        let gpu = gpu.with_gpu_overlap_for_test(true);
        let on = gpu.render_with_assets(&scene, &assets).unwrap();
        let again = gpu.render_with_assets(&scene, &assets).unwrap();
        assert!(on == off, "{compositor:?}: overlap on differs from off");
        assert!(
            again == on,
            "{compositor:?}: a second overlapped render differs"
        );
    }
}

#[test]
fn the_phase_breakdown_is_off_unless_asked_and_its_phases_fit_in_the_render() {
    if gpu_renderer().is_none() {
        return;
    }
    let (scene, assets) = multi_image_scene();
    // Without the device's resampled-image cache, which would serve the
    // repeated renders' resamples with no upload at all.
    let gpu = Renderer::new(Backend::Gpu)
        .unwrap()
        .with_gpu_placed_cache_budget(0);
    gpu.render_with_assets(&scene, &assets).unwrap();
    if std::env::var("IMPASTO_GPU_PHASES").as_deref() != Ok("1") {
        assert_eq!(gpu.gpu_last_phases_for_test(), None, "on by default");
    }
    let gpu = gpu.with_gpu_phases_for_test(true);
    for overlap in [false, true] {
        let gpu = gpu.clone().with_gpu_overlap_for_test(overlap);
        let started = std::time::Instant::now();
        gpu.render_with_assets(&scene, &assets).unwrap();
        let wall = started.elapsed().as_secs_f64() * 1e3;
        let p = gpu.gpu_last_phases_for_test().expect("no breakdown");
        let sum = p.prepare_ms + p.submit_ms + p.between_ms + p.gpu_wait_ms + p.copy_out_ms;
        assert!(
            sum <= p.total_ms + 1e-6 && p.total_ms <= wall,
            "{p:?}, wall {wall} ms"
        );
        assert!(p.fill_ms <= p.prepare_ms, "{p:?}");
        // Seven staged uploads: the six images, and big2 again for the
        // rotated layer's resampling.
        assert_eq!((p.size, p.overlap), ((1001, 900), overlap));
        assert_eq!(p.staged_images, 7, "{p:?}");
        assert_eq!(p.staged_bytes, 7 * 4096 * 1100, "{p:?}");
    }
}

/// The environment switches, read by the command line: without
/// `IMPASTO_GPU_PHASES=1` nothing is printed; with it, one breakdown per
/// render, naming the `IMPASTO_GPU_OVERLAP` setting; every output is the
/// same file.
#[test]
fn the_phases_and_overlap_environment_variables_work_from_the_command_line() {
    if gpu_renderer().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    common::random_image(&mut rng, 600, 500)
        .save(dir.path().join("big.png"))
        .unwrap();
    let scene = json!({"width": 600, "height": 500, "layers": [
        {"type": "image", "src": "big.png"},
        {"type": "rect", "x": 50, "y": 40, "width": 200, "height": 100, "color": "#2e86ab80"}]});
    std::fs::write(dir.path().join("scene.json"), scene.to_string()).unwrap();
    let run = |env: &[(&str, &str)], out: &str| -> String {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_impasto"))
            .args(["render", "scene.json", "-o", out, "--backend", "gpu"])
            .envs(env.iter().copied())
            .current_dir(dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(o.status.success(), "{env:?}: {stderr}");
        stderr
    };
    let quiet = run(&[("IMPASTO_GPU_PHASES", "0")], "quiet.png");
    assert!(!quiet.contains("gpu phases"), "{quiet}");
    for overlap in ["0", "1"] {
        let env = [
            ("IMPASTO_GPU_PHASES", "1"),
            ("IMPASTO_GPU_OVERLAP", overlap),
        ];
        let stderr = run(&env, &format!("overlap{overlap}.png"));
        let lines: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with("impasto gpu phases: "))
            .collect();
        assert_eq!(lines.len(), 1, "{stderr}");
        let want = format!("600x500 overlap={overlap}: fill ");
        assert!(lines[0].contains(&want), "{}", lines[0]);
        assert!(lines[0].contains("(1 images, 1.2 MiB)"), "{}", lines[0]);
        assert!(lines[0].contains("| gpu timestamps: "), "{}", lines[0]);
        eprintln!("{}", lines[0]);
    }
    let read = |name: &str| std::fs::read(dir.path().join(name)).unwrap();
    assert!(read("overlap0.png") == read("quiet.png"));
    assert!(read("overlap1.png") == read("quiet.png"));
}

#[test]
fn eight_threads_render_at_once_and_match_single_threaded_renders() {
    let Some(gpu) = gpu() else { return };
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let assets = Arc::new(common::full_scene_assets(&mut rng));
    let scenes: Vec<Scene> = (0..16)
        .map(|_| Scene::from_value(&common::random_full_scene(&mut rng)).unwrap())
        .collect();
    let single: Vec<RgbaImage> = scenes
        .iter()
        .map(|s| gpu.render_with_assets(s, &assets).unwrap())
        .collect();
    let scenes = Arc::new(scenes);
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let (gpu, scenes, assets) = (gpu.clone(), Arc::clone(&scenes), Arc::clone(&assets));
            std::thread::spawn(move || {
                (0..scenes.len())
                    .map(|i| (i + t) % scenes.len())
                    .map(|i| (i, gpu.render_with_assets(&scenes[i], &assets).unwrap()))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for h in handles {
        for (i, img) in h.join().unwrap() {
            assert!(
                img == single[i],
                "scene {i} differs when rendered concurrently"
            );
        }
    }
}

#[test]
fn gpu_backend_renders_the_sample_poster_like_the_cpu() {
    let Some(gpu) = gpu() else { return };
    let scene = Scene::from_path(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/poster/poster.json"
    ))
    .unwrap();
    let (a, b) = (cpu().render(&scene).unwrap(), gpu.render(&scene).unwrap());
    let (d, frac) = parity(&a, &b);
    assert!(d <= 2.0 && frac <= 0.001, "poster: max {d}, {frac} over 1");
}

/// Text on the GPU is drawn by glyphon from the same layout, glyph images
/// and pixel positions as the CPU raster. Tolerance: `GPU_TEXT`
/// (premultiplied channels within 2 for 99.5% of them); the test also
/// reports the worst difference.
#[test]
fn gpu_text_matches_cpu_text_latin_cjk_emoji_rotated_and_blended() {
    let Some(gpu) = gpu_renderer() else { return };
    // System fonts on: CJK and emoji come from fallback fonts when installed.
    let cpu = Renderer::new(Backend::Cpu).unwrap();
    let scenes = [
        json!({"width": 600, "height": 400, "background": "#f4efe6", "layers": [
            {"type": "text", "text": "Summer Sale — 50% off", "x": 20, "y": 20, "width": 560, "height": 80, "size": 48, "weight": 700, "color": "#1d1d1f"},
            {"type": "text", "text": "A long paragraph that wraps across several lines in the box, with ligatures fi fl and kerning AV To.", "x": 20.5, "y": 100.25, "width": 260, "height": 150, "size": 20, "align": "center", "color": "#333"},
            {"type": "text", "text": "夏季大促销 限时优惠 🎉😀", "x": 300, "y": 100, "width": 280, "height": 120, "size": 32, "color": "#e4572e"},
            {"type": "text", "text": "Rotated italic", "x": 300, "y": 260, "width": 260, "height": 60, "size": 36, "style": "italic", "rotate": -8, "opacity": 0.8, "blend": "multiply", "color": "#2e86ab"},
            {"type": "text", "text": "bottom right", "x": 20, "y": 250, "width": 260, "height": 130, "size": 24, "align": "right", "valign": "bottom", "weight": 300}]}),
        json!({"width": 320, "height": 200, "blend_space": "linear", "background": "#102030", "layers": [
            {"type": "text", "text": "Linear light\nwhite on navy", "x": -5, "y": -12.5, "width": 330, "height": 120, "size": 40, "color": "#ffffff"},
            {"type": "text", "text": "screen", "x": 10, "y": 130, "width": 300, "height": 60, "size": 44, "blend": "screen", "corner_radius": 12, "color": "#ff8000c0"}]}),
    ];
    for (k, json) in scenes.iter().enumerate() {
        let scene = Scene::from_value(json).unwrap();
        let (a, b) = (cpu.render(&scene).unwrap(), gpu.render(&scene).unwrap());
        let (worst, over_one) = parity(&a, &b);
        eprintln!(
            "text scene {k}: worst {worst:.1}, {:.4}% over 1",
            over_one * 100.0
        );
        let d = difference(&a, &b, &GPU_TEXT);
        if !d.within(&GPU_TEXT) {
            let at = save_pair(&format!("text-parity-{k}"), &a, &b, json);
            panic!(
                "text scene {k}: {} of {} channels differ by more than 2 (in {at})",
                d.loose, d.channels
            );
        }
    }
}

#[test]
fn canvases_larger_than_one_storage_binding_render_in_strips() {
    let Some(gpu) = gpu() else { return };
    // 3000 x 3000 x 16 bytes is over the 128 MiB storage binding most
    // adapters (lavapipe included) allow, so this renders as strips.
    let json = json!({"width": 3000, "height": 3000, "background": "#204060", "layers": [
        {"type": "linear-gradient", "angle": 30, "stops": [{"offset": 0, "color": "#ff000080"}, {"offset": 1, "color": "#00ff00"}]},
        {"type": "rect", "x": 500.5, "y": 1200.25, "width": 2000, "height": 1500, "rotate": 20, "corner_radius": 200, "color": "#ffffffc0", "blend": "overlay"},
        {"type": "text", "text": "Across the strips", "x": 200, "y": 1300, "width": 2600, "height": 600, "size": 300, "color": "#000000"},
        {"type": "rect", "x": 100, "y": 2900, "width": 50, "height": 50, "color": "#ffffff", "blend": "destination-out"}]});
    let scene = Scene::from_value(&json).unwrap();
    let (a, b) = (cpu().render(&scene).unwrap(), gpu.render(&scene).unwrap());
    let (d, frac) = parity(&a, &b);
    assert!(d <= 2.0 && frac <= 0.001, "max {d}, {frac} over 1");
}

/// A 4000 x 3000 photo scaled onto a 1200 x 900 canvas: horizontal first,
/// the intermediate of the whole image (1200 x 3000 x 16 bytes = 58 MB)
/// would be over the 16 MiB band budget, so it is resampled in bands.
/// Nearest sampling of a rotated image: at 45° (and at other angles, by
/// rounding) pixel centres fall on the edges between source pixels, which
/// the CPU (double precision) and the GPU (single) put a hair to either
/// side: 200 levels apart on a checker before both read 1/93 of a pixel
/// past the point.
#[test]
fn a_rotated_image_sampled_nearest_matches_the_cpu_at_tie_angles() {
    let Some(gpu) = gpu() else { return };
    let mut assets = Assets::new();
    assets.insert(
        "checker.png",
        RgbaImage::from_fn(64, 64, |x, y| {
            if (x / 8 + y / 8) % 2 == 0 {
                image::Rgba([255, 0, 255, 200])
            } else {
                image::Rgba([0, 255, 0, 200])
            }
        }),
    );
    for rotate in [45.0, 135.0, 29.0, 8.0] {
        let json = json!({"width": 160, "height": 160, "layers": [
            {"type": "image", "src": "checker.png", "x": 16, "y": 16, "width": 128,
             "height": 128, "fit": "fill", "filter": "nearest", "rotate": rotate}]});
        assert_parity(&gpu, &format!("nearest-rotated-{rotate}"), &json, &assets);
    }
}

#[test]
fn a_large_photo_is_resampled_in_bands_like_the_cpu() {
    let Some(gpu) = gpu() else { return };
    let mut rng = ChaCha8Rng::seed_from_u64(48);
    let photo = RgbaImage::from_fn(4000, 3000, |x, y| {
        let n: u8 = rng.random();
        image::Rgba([(x / 16) as u8, (y / 12) as u8, n, 255 - (x ^ y) as u8 / 2])
    });
    let mut assets = Assets::new();
    assets.insert("photo.png", Arc::new(photo));
    for filter in ["lanczos3", "bilinear"] {
        let json = json!({"width": 1200, "height": 900, "background": "#ffffff", "layers": [
            {"type": "image", "src": "photo.png", "x": 0.5, "fit": "cover", "filter": filter}]});
        assert_parity(&gpu, &format!("banded-{filter}"), &json, &assets);
    }
}

/// An image stretched long and thin (3 x 200 drawn 100000 x 12, rotated):
/// filtering it horizontally first would hold 100000 x 200 pixels, so both
/// backends filter vertically first, and agree.
#[test]
fn a_long_thin_stretch_is_filtered_vertically_first_like_the_cpu() {
    let Some(gpu) = gpu() else { return };
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut assets = Assets::new();
    assets.insert("thin.png", Arc::new(common::random_image(&mut rng, 3, 200)));
    for (rotate, filter) in [(0.0, "bilinear"), (4.0, "lanczos3"), (90.0, "bilinear")] {
        let json = json!({"width": 64, "height": 48, "background": "#203040", "layers": [
            {"type": "image", "src": "thin.png", "x": -50000, "y": 18, "width": 100000, "height": 12,
             "fit": "fill", "filter": filter, "rotate": rotate}]});
        assert_parity(&gpu, &format!("thin-{rotate}"), &json, &assets);
    }
}

/// Images over the adapter's texture size limit: drawn at natural size, the
/// part on the canvas is uploaded; scaled or rotated, they are resampled on
/// the CPU with the same plan and uploaded. Either way, like the CPU.
#[test]
fn images_over_the_texture_size_limit_render_like_the_cpu() {
    let Some(gpu) = gpu() else { return };
    let side = gpu.adapter().unwrap().max_texture_side;
    let mut rng = ChaCha8Rng::seed_from_u64(16);
    let mut assets = Assets::new();
    assets.insert(
        "wide.png",
        Arc::new(common::random_image(&mut rng, side + 1, 3)),
    );
    assets.insert(
        "tall.png",
        Arc::new(common::random_image(&mut rng, 2, side + 5)),
    );
    let half = -((side / 2) as i64);
    let layers = [
        json!({"type": "image", "src": "wide.png", "x": half, "y": 2, "width": side + 1, "height": 3}),
        json!({"type": "image", "src": "wide.png", "x": 1, "y": 1, "width": 60, "height": 5, "fit": "fill"}),
        json!({"type": "image", "src": "wide.png", "x": 4, "y": 0, "width": 50, "height": 8, "fit": "fill",
               "rotate": 10, "filter": "lanczos3"}),
        json!({"type": "image", "src": "tall.png", "x": 30, "y": half, "width": 2, "height": side + 5}),
        json!({"type": "image", "src": "tall.png", "x": 500, "y": 0, "width": 2, "height": side + 5,
               "blend": "source-in"}),
    ];
    for (k, layer) in layers.into_iter().enumerate() {
        let json = json!({"width": 64, "height": 10, "background": "#80402080", "layers": [layer]});
        assert_parity(&gpu, &format!("oversize-{k}"), &json, &assets);
    }
}

/// A canvas wider and taller than the largest texture is rendered in tiles
/// (here on a renderer capped at 1024-pixel textures, as an adapter with a
/// small limit would be): layers that cross the seams (a gradient, a rotated
/// rounded rectangle, a scaled image, an image over the texture limit,
/// text, an erasing operator) match the CPU.
#[test]
fn canvases_over_the_texture_limit_render_in_tiles() {
    if gpu_renderer().is_none() {
        return;
    }
    // A renderer of its own: the cap is shared by every clone.
    let gpu = Renderer::new(Backend::Gpu)
        .unwrap()
        .with_system_fonts(false)
        .with_gpu_max_texture_side(1024);
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let mut assets = Assets::new();
    assets.insert("i.png", Arc::new(common::random_image(&mut rng, 24, 16)));
    assets.insert(
        "wide.png",
        Arc::new(common::random_image(&mut rng, 1300, 9)),
    );
    let json = json!({"width": 1100, "height": 1060, "background": "#f4efe6", "layers": [
        {"type": "linear-gradient", "angle": 60, "stops": [{"offset": 0, "color": "#ff000080"}, {"offset": 1, "color": "#0000ff"}]},
        {"type": "rect", "x": 1003.5, "y": 1003.25, "width": 41, "height": 40, "rotate": 25, "corner_radius": 6, "color": "#208040c0", "blend": "multiply"},
        {"type": "image", "src": "i.png", "x": 1011.7, "y": 995, "width": 30, "height": 60, "fit": "fill", "filter": "lanczos3"},
        {"type": "image", "src": "wide.png", "x": 3.5, "y": 1010, "width": 1090, "height": 30, "fit": "fill", "rotate": 1},
        {"type": "text", "text": "Seam", "x": 990, "y": 1000, "width": 100, "height": 50, "size": 32, "color": "#000000"},
        {"type": "rect", "x": 1030, "y": 1030, "width": 8, "height": 8, "color": "#ffffff", "blend": "destination-out"}]});
    assert_parity(&gpu, "tiles", &json, &assets);
}
