//! The GPU backend's two ways of compositing layers, held to the same
//! references: the fragment path (render pipelines, the default on all but
//! NVIDIA's data-center GPUs, so every other GPU test runs it on lavapipe)
//! and the compute path (`GpuCompositor::Compute`), plus the fragment path on an `Rgba16Float` canvas, which
//! adapters that cannot blend `Rgba32Float` get. Each renderer here has a
//! device of its own, so switching paths does not touch the other tests.
//!
//! Tolerances:
//! - Compute path and `Rgba32Float` fragment path against the float64
//!   reference: alpha within 1, colour within 1.01 (as `tests/gpu.rs`).
//! - `Rgba16Float` canvas: alpha and colour within 2. Half floats keep 11
//!   significant bits, a step of 1/2048 to 1/1024 of full scale near 1, so
//!   each layer's blend may be off by up to a quarter of an 8-bit level
//!   before the final rounding; the random scenes have up to four layers.
//! - The two paths against each other: `common::backends::GPU`.

mod common;

use common::backends::{difference, opened_gpu, GPU};
use common::blend_reference_check;
use impasto::{Backend, GpuCompositor, Renderer, Scene};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// A GPU renderer with its own device, compositing with `c`; `None` without
/// an adapter (a failure under `CI=true`).
fn own_gpu(c: GpuCompositor) -> Option<Renderer> {
    let r = opened_gpu(Renderer::new(Backend::Gpu))?;
    Some(r.with_system_fonts(false).with_gpu_compositor(c))
}

/// The default (`Auto`) draws with render pipelines on every adapter but
/// NVIDIA's data-center compute GPUs (the rule's unit test is in
/// src/gpu/draw.rs), so the other GPU tests run the fragment path on
/// lavapipe.
#[test]
fn the_default_compositor_is_the_fragment_path_except_on_compute_only_gpus() {
    let Some(gpu) = common::backends::gpu_renderer() else {
        return;
    };
    let name = &gpu.adapter().unwrap().name;
    assert_eq!(
        gpu.gpu_compositor(),
        Some(GpuCompositor::Auto.resolve(name))
    );
    if name.contains("llvmpipe") {
        assert_eq!(gpu.gpu_compositor(), Some(GpuCompositor::Fragment));
    }
    let cpu = Renderer::new(Backend::Cpu).unwrap();
    assert_eq!(cpu.gpu_compositor(), None);
}

#[test]
fn the_compute_path_matches_the_float64_reference_for_every_blend_name_in_both_spaces() {
    let Some(gpu) = own_gpu(GpuCompositor::Compute) else {
        return;
    };
    let (a, c, failures) =
        blend_reference_check(&gpu, "compute-reference", 0x5eed_9a7b, 2, (1.0, 1.01));
    eprintln!("compute path: worst alpha {a:.3}, colour {c:.3}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_half_float_canvas_stays_within_two_levels_of_the_float64_reference() {
    let Some(gpu) = own_gpu(GpuCompositor::Fragment) else {
        return;
    };
    let gpu = gpu.with_half_float_canvas_for_test();
    let (a, c, failures) =
        blend_reference_check(&gpu, "half-float-reference", 0x5eed_9a7b, 2, (2.0, 2.0));
    eprintln!("Rgba16Float canvas: worst alpha {a:.3}, colour {c:.3}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_compute_and_fragment_paths_agree_on_rotated_rounded_scaled_and_text_layers() {
    let (Some(fragment), Some(compute)) = (
        own_gpu(GpuCompositor::Fragment),
        own_gpu(GpuCompositor::Compute),
    ) else {
        return;
    };
    let mut rng = ChaCha8Rng::seed_from_u64(0xfa7);
    let assets = common::full_scene_assets(&mut rng);
    let mut failures = Vec::new();
    for k in 0..60 {
        let json = common::random_full_scene(&mut rng);
        let scene = Scene::from_value(&json).unwrap();
        let a = compute.render_with_assets(&scene, &assets).unwrap();
        let b = fragment.render_with_assets(&scene, &assets).unwrap();
        let d = difference(&a, &b, &GPU);
        if !d.within(&GPU) {
            failures.push(format!("scene {k}: {d:?}\n{json}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
