//! The CPU backend against an independent float64 reference, on random scenes
//! of the spec's exactly defined subset: 4 scenes for every blend name in
//! each blend space (224 scenes).
//!
//! Tolerance: alpha within 1 of the reference (0..=255), colour within 1.01
//! when both are compared premultiplied. The engine rounds once, at output,
//! to *straight* 8-bit values; premultiplying those back multiplies two
//! rounded numbers, which can move a channel by up to 0.5·a + 0.5·C + 0.25/255
//! <= 1.001 even when every computation before the rounding is exact.

mod common;

use common::{compare_with_reference, reference, write_failure, BLEND_NAMES};
use impasto::{Backend, Renderer, Scene};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn load_ref_image(dir: &std::path::Path, src: &str) -> reference::RefImage {
    let img = image::open(dir.join(src)).unwrap().into_rgba8();
    reference::RefImage {
        width: img.width(),
        height: img.height(),
        pixels: img.pixels().map(|p| p.0).collect(),
    }
}

#[test]
fn cpu_matches_float64_reference_for_every_blend_name_in_both_spaces() {
    let dir = tempfile::tempdir().unwrap();
    let renderer = Renderer::new(Backend::Cpu)
        .unwrap()
        .with_asset_root(dir.path());
    let mut rng = ChaCha8Rng::seed_from_u64(0x1a2b_3c4d);
    let mut scenes = 0;
    let mut worst_color = 0.0f64;
    let mut worst_alpha = 0.0f64;
    let mut failures = Vec::new();
    for space in ["srgb", "linear"] {
        for blend in BLEND_NAMES {
            for k in 0..4 {
                let json = common::random_exact_scene(&mut rng, dir.path(), blend, space);
                let scene = Scene::from_value(&json).unwrap();
                let img = renderer.render(&scene).unwrap();
                let (_, _, linear, want) =
                    reference::render(&json, &|src| load_ref_image(dir.path(), src));
                let d = compare_with_reference(&img, &want, linear);
                worst_color = worst_color.max(d.max_color);
                worst_alpha = worst_alpha.max(d.max_alpha);
                if d.max_alpha > 1.0 || d.max_color > 1.01 {
                    let name = format!("reference-{space}-{blend}-{k}");
                    let at = write_failure(&name, &img, &want, linear, &json);
                    failures.push(format!(
                        "{name}: max alpha diff {:.3}, max colour diff {:.3} (images in {})",
                        d.max_alpha,
                        d.max_color,
                        at.display()
                    ));
                }
                scenes += 1;
            }
        }
    }
    eprintln!(
        "{scenes} scenes: worst colour diff {worst_color:.4}, worst alpha diff {worst_alpha:.4}"
    );
    assert!(scenes >= 200);
    assert!(
        failures.is_empty(),
        "{} of {scenes} scenes differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
