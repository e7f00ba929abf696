//! Edges where the two backends once disagreed by whole levels, found by a
//! reviewer's random scenes: an unbounded operator around a rotated box (the
//! GPU evaluated the approximate coverage formula outside the box's bounds,
//! where the CPU has none), and a pixel exactly on a hard gradient stop
//! (float noise picked the side, differently in f64 and f32). Each scene
//! runs on the CPU and on both GPU compositing paths, held to
//! `common::backends::GPU`, and, where the spec fixes the answer, to it.

mod common;

use common::backends::{difference, opened_gpu, GPU};
use image::RgbaImage;
use impasto::{Backend, GpuCompositor, Renderer, Scene};
use serde_json::{json, Value};

fn render(r: &Renderer, scene: &Value) -> RgbaImage {
    r.render(&Scene::from_value(scene).unwrap())
        .unwrap_or_else(|e| panic!("{e}: {scene}"))
}

/// The CPU's render of `scene`, after checking that both GPU paths agree
/// with it (when there is an adapter; required under `CI=true`).
fn agreed(scene: &Value) -> RgbaImage {
    let cpu = render(&Renderer::new(Backend::Cpu).unwrap(), scene);
    for c in [GpuCompositor::Fragment, GpuCompositor::Compute] {
        let Some(gpu) = opened_gpu(Renderer::new(Backend::Gpu)) else {
            break;
        };
        let got = render(&gpu.with_gpu_compositor(c), scene);
        let d = difference(&got, &cpu, &GPU);
        assert!(d.within(&GPU), "{c:?} against the CPU: {d:?}\n{scene}");
    }
    cpu
}

#[test]
fn an_unbounded_operator_leaves_no_trace_outside_a_rotated_boxs_bounds() {
    // The box's corners reach x = 5.98 at most: column 2 of row 2 is outside
    // its bounds, where the approximate coverage formula still gave 3/255.
    for op in ["copy", "source-in", "destination-in", "destination-atop"] {
        let scene = json!({"width": 12, "height": 12, "background": "#0000ff", "layers": [
            {"type": "rect", "x": 2, "y": 5, "width": 12, "height": 2, "rotate": 20,
             "color": "#ff0000", "blend": op}]});
        let img = agreed(&scene);
        assert_eq!(img.get_pixel(2, 2).0, [0, 0, 0, 0], "{op}");
    }
}

#[test]
fn a_pixel_exactly_on_a_hard_stop_takes_the_later_stop_on_every_backend() {
    let split = |extra: Value| {
        let mut layer = json!({"type": "linear-gradient", "stops": [
            {"offset": 0, "color": "#ff0000"}, {"offset": 0.5, "color": "#ff0000"},
            {"offset": 0.5, "color": "#0000ff"}, {"offset": 1, "color": "#0000ff"}]});
        for (k, v) in extra.as_object().unwrap() {
            layer[k] = v.clone();
        }
        json!({"width": 21, "height": 21, "layers": [layer]})
    };
    // A 45° split through the pixel centres of the diagonal (k, k): t = 0.5
    // there, exactly, so the later stop (blue). Turned by `rotate`, the
    // box's corners are cut off: its opaque pixels are checked.
    for extra in [json!({"angle": 45}), json!({"angle": 0, "rotate": 45})] {
        for space in ["srgb", "linear"] {
            let mut scene = split(extra.clone());
            scene["blend_space"] = json!(space);
            let img = agreed(&scene);
            let diagonal: Vec<[u8; 4]> = (0..21)
                .map(|k| img.get_pixel(k, k).0)
                .filter(|p| p[3] == 255)
                .collect();
            assert!(diagonal.len() >= 9, "{extra}: {diagonal:?}");
            assert!(
                diagonal.iter().all(|&p| p == [0, 0, 255, 255]),
                "{extra} {space}: the diagonal on t = 0.5 is {diagonal:?}, not blue"
            );
        }
    }
    // Two stops at offset 0, and a pixel centre exactly on t = 0: an
    // angle-270 ramp (t grows leftwards) whose box's right edge, x = 8.5,
    // goes through pixel 8's centre. The later stop (green), not the first.
    let three = json!({"width": 9, "height": 2, "layers": [
        {"type": "linear-gradient", "x": 0.5, "width": 8, "angle": 270, "stops": [
            {"offset": 0, "color": "#ff0000"}, {"offset": 0, "color": "#00ff00"},
            {"offset": 1, "color": "#0000ff"}]}]});
    let edge = agreed(&three).get_pixel(8, 0).0;
    assert!(
        edge[0] == 0 && edge[1] > 200 && edge[3] > 100,
        "the pixel on t = 0 drew the first stop (red): {edge:?}"
    );
}

#[test]
fn the_snap_to_a_hard_stop_moves_it_by_no_visible_amount_on_a_long_gradient() {
    // A 10^6-pixel ramp split at its middle, x = 200 on the canvas: 1e-5 of
    // the ramp is 10 pixels, which the snap moved the edge by.
    let scene = json!({"width": 400, "height": 2, "layers": [
        {"type": "linear-gradient", "x": -499800, "width": 1000000, "angle": 90, "stops": [
            {"offset": 0, "color": "#ff0000"}, {"offset": 0.5, "color": "#ff0000"},
            {"offset": 0.5, "color": "#0000ff"}, {"offset": 1, "color": "#0000ff"}]}]});
    let img = agreed(&scene);
    assert_eq!(img.get_pixel(199, 0).0, [255, 0, 0, 255]);
    assert_eq!(img.get_pixel(200, 0).0, [0, 0, 255, 255]);
}
