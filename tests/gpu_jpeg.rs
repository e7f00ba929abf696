//! JPEG on the GPU through the public API: the GPU computes the DCT blocks
//! of renders bound for JPEG, and the file decodes to what the CPU
//! backend's JPEG of the same scene decodes to, within the backends'
//! pixel tolerance and JPEG's rounding; other formats come back as pixels;
//! `impasto render --backend gpu` writes the same file.

mod common;

use std::process::Command;

use impasto::codec::{encode, OutputFormat};
use impasto::{Assets, Backend, RenderOptions, Renderer, RgbaImage, Scene};

use common::backends::gpu_renderer;

fn card() -> Scene {
    Scene::from_value(&serde_json::json!({
        "width": 600, "height": 315, "background": "#101014",
        "layers": [
            {"type": "linear-gradient", "angle": 30, "stops": [
                {"offset": 0, "color": "#1d3557"}, {"offset": 1, "color": "#e63946"}]},
            {"type": "rect", "x": 40, "y": 30, "width": 220, "height": 90,
             "corner_radius": 20, "rotate": 5, "color": "#f1faeecc"},
            {"type": "rect", "x": 380, "y": 120, "width": 160, "height": 160,
             "corner_radius": 80, "color": "#a8dadc"}
        ]
    }))
    .expect("a valid scene")
}

fn decode(jpeg: &[u8]) -> RgbaImage {
    image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg)
        .expect("a readable JPEG")
        .into_rgba8()
}

/// The largest difference of any channel, and how many samples differ by
/// more than `over`.
fn difference(a: &RgbaImage, b: &RgbaImage, over: u8) -> (u8, usize) {
    assert_eq!(a.dimensions(), b.dimensions());
    let mut most = 0;
    let mut count = 0;
    for (x, y) in a.as_raw().iter().zip(b.as_raw()) {
        let d = x.abs_diff(*y);
        most = most.max(d);
        count += usize::from(d > over);
    }
    (most, count)
}

#[test]
fn a_gpu_jpeg_decodes_to_what_the_cpu_backends_jpeg_decodes_to() {
    let Some(gpu) = gpu_renderer() else { return };
    let cpu = Renderer::new(Backend::Cpu)
        .unwrap()
        .with_system_fonts(false);
    let scene = card();
    for quality in [60, 85, 95] {
        let format = OutputFormat::Jpeg { quality };
        let options = RenderOptions::default();
        let on_gpu = gpu
            .render_encoded(&scene, &Assets::new(), format, &options)
            .unwrap();
        assert!(on_gpu.has_gpu_jpeg_blocks(), "the GPU computed the blocks");
        assert_eq!(on_gpu.image(), None);
        let gpu_file = on_gpu.encode().unwrap();
        let cpu_file = cpu
            .render_encoded(&scene, &Assets::new(), format, &options)
            .unwrap()
            .encode()
            .unwrap();
        // The pixels differ by the backends' tolerance (1 or 2 levels) and
        // the DCT's rounding by a step in a few coefficients: after
        // quantisation, a few levels at most, in few samples (on lavapipe:
        // at most 5, in at most 127 of 756,000 samples).
        let (most, many) = difference(&decode(&gpu_file), &decode(&cpu_file), 3);
        let samples = 600 * 315 * 4;
        eprintln!("q{quality}: largest difference {most}, {many} samples over 3");
        assert!(
            most <= 8 && many * 1000 <= samples,
            "q{quality}: largest difference {most}, {many} of {samples} samples over 3"
        );
    }
}

#[test]
fn renders_bound_for_other_formats_come_back_as_pixels_on_the_gpu() {
    let Some(gpu) = gpu_renderer() else { return };
    let scene = card();
    let pixels = gpu.render(&scene).unwrap();
    let mut results = Vec::new();
    gpu.render_each_encoded(
        [&scene, &scene],
        &Assets::new(),
        OutputFormat::Png,
        |i, r| results.push((i, r.unwrap())),
    );
    assert_eq!(results.len(), 2);
    for (i, e) in &results {
        assert!(!e.has_gpu_jpeg_blocks(), "scene {i}");
        assert_eq!(e.image(), Some(&pixels), "scene {i}");
        assert_eq!(
            e.encode().unwrap(),
            encode(&pixels, OutputFormat::Png).unwrap()
        );
    }
}

#[test]
fn a_batch_of_gpu_jpegs_is_the_same_files_one_by_one_and_overlapped() {
    let Some(gpu) = gpu_renderer() else { return };
    let scenes = [card(), card(), card()];
    let format = OutputFormat::Jpeg { quality: 80 };
    let mut overlapped = vec![Vec::new(); 3];
    gpu.render_each_encoded(&scenes, &Assets::new(), format, |i, r| {
        let e = r.unwrap();
        assert!(e.has_gpu_jpeg_blocks());
        overlapped[i] = e.encode().unwrap();
    });
    for (i, scene) in scenes.iter().enumerate() {
        let one = gpu
            .render_encoded(scene, &Assets::new(), format, &RenderOptions::default())
            .unwrap()
            .encode()
            .unwrap();
        assert!(one == overlapped[i], "scene {i}");
    }
}

#[test]
fn impasto_render_on_the_gpu_writes_the_gpus_jpeg() {
    let Some(gpu) = gpu_renderer() else { return };
    let dir = tempfile::tempdir().unwrap();
    let scene_path = dir.path().join("card.json");
    std::fs::write(&scene_path, card().to_json()).unwrap();
    let out = dir.path().join("card.jpg");
    let status = Command::new(env!("CARGO_BIN_EXE_impasto"))
        .args(["render", "--backend", "gpu", "--quality", "85"])
        .arg(&scene_path)
        .arg("--output")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let written = std::fs::read(&out).unwrap();
    let format = OutputFormat::Jpeg { quality: 85 };
    let direct = gpu
        .render_encoded(&card(), &Assets::new(), format, &RenderOptions::default())
        .unwrap()
        .encode()
        .unwrap();
    assert!(
        written == direct,
        "the CLI's file is the library's GPU JPEG"
    );
}
