//! The GPU backend's glyph atlases (`Renderer::with_gpu_glyph_atlas_budget`,
//! `Renderer::gpu_glyph_atlas_stats`): their figures are the device's own
//! (read from its allocator), a render whose glyphs outgrow the first atlas
//! leaves it grown under the default budget and dropped over a small one,
//! renders are byte-identical whatever the budget, and a device opened
//! after a loss keeps the budget. Each test opens its
//! own device (the figures are per device); under `CI=true` no adapter
//! fails.

mod common;

use impasto::{Backend, Renderer, Scene};
use serde_json::json;

use common::backends::opened_gpu;

fn gpu(budget: Option<u64>) -> Option<Renderer> {
    let r = opened_gpu(Renderer::new(Backend::Gpu))?.with_system_fonts(false);
    Some(match budget {
        Some(b) => r.with_gpu_glyph_atlas_budget(b),
        None => r,
    })
}

/// Whether the renderer's device reports its allocations (Vulkan, DX12);
/// on the others (Metal, OpenGL) the figures have no bytes, which this
/// checks.
fn reports(r: &Renderer) -> bool {
    let backend = r.adapter().unwrap().backend.clone();
    let reports = backend == "Vulkan" || backend == "Dx12";
    if !reports {
        assert_eq!(r.gpu_glyph_atlas_stats().unwrap().bytes, None, "{backend}");
    }
    reports
}

/// Bytes of one glyph set's atlases as made: per blend space, a 256² RGBA8
/// colour atlas and a 256² R8 mask atlas.
const FIRST_SET_BYTES: u64 = 2 * (256 * 256 * 4 + 256 * 256);

/// Text whose glyphs cannot share one 512² atlas: 62 distinct letters and
/// digits at 160 px (about 100 x 160 px each, twice a 512² atlas).
fn big_text() -> Scene {
    Scene::from_value(
        &json!({"width": 2400, "height": 1200, "background": "#ffffff", "layers": [
        {"type": "text", "text": "ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghijklmnopqrstuvwxyz 0123456789",
         "x": 10, "y": 10, "width": 2380, "height": 1180, "size": 160, "color": "#202020"}]}),
    )
    .unwrap()
}

fn small_text() -> Scene {
    Scene::from_value(
        &json!({"width": 320, "height": 120, "background": "#102030", "layers": [
        {"type": "text", "text": "Small text", "x": 10, "y": 10, "width": 300, "height": 100,
         "size": 24, "color": "#ffffff"}]}),
    )
    .unwrap()
}

#[test]
fn glyph_atlas_figures_are_read_from_the_device_and_absent_on_the_cpu() {
    assert_eq!(
        Renderer::new(Backend::Cpu).unwrap().gpu_glyph_atlas_stats(),
        None
    );
    let Some(r) = gpu(None) else {
        return;
    };
    let s = r.gpu_glyph_atlas_stats().unwrap();
    assert_eq!((s.sets, s.lent, s.retired, s.waits), (0, 0, 0, 0), "{s:?}");
    assert_eq!(s.budget, 64 << 20);
    r.render(&small_text()).unwrap();
    let s = r.gpu_glyph_atlas_stats().unwrap();
    assert_eq!((s.sets, s.lent, s.retired), (1, 0, 0), "{s:?}");
    if reports(&r) {
        assert!(s.bytes.unwrap() >= FIRST_SET_BYTES, "{s:?}");
    }
    r.render(&small_text()).unwrap();
    let again = r.gpu_glyph_atlas_stats().unwrap();
    assert_eq!(again, s, "a second render reuses the set as it was");
}

#[test]
fn atlases_grown_by_one_render_are_kept_under_the_budget_and_dropped_over_it() {
    let (Some(kept), Some(small)) = (gpu(None), gpu(Some(2 * FIRST_SET_BYTES))) else {
        return;
    };
    if !reports(&kept) {
        eprintln!("no allocation figures on this backend: nothing to check");
        return;
    }
    let a = kept.render(&big_text()).unwrap();
    let s = kept.gpu_glyph_atlas_stats().unwrap();
    // The mask atlas grew past 512² (1 MiB at 1024²).
    assert!(
        s.bytes.unwrap() >= FIRST_SET_BYTES + 1024 * 1024 - 256 * 256
            && s.retired == 0
            && s.sets == 1,
        "the atlas grew and is kept: {s:?}"
    );
    let b = small.render(&big_text()).unwrap();
    let s = small.gpu_glyph_atlas_stats().unwrap();
    assert_eq!((s.sets, s.retired), (0, 1), "{s:?}");
    assert!(s.bytes.unwrap() <= s.budget, "its memory is freed: {s:?}");
    assert!(a == b, "the budget changes no pixel");
    // The next render makes a set again.
    let c = small.render(&big_text()).unwrap();
    assert!(a == c);
    assert_eq!(small.gpu_glyph_atlas_stats().unwrap().retired, 2);
}

#[test]
fn renders_with_no_glyph_atlas_kept_equal_renders_with_them_kept() {
    let (Some(kept), Some(none)) = (gpu(None), gpu(Some(0))) else {
        return;
    };
    // The pixels on every backend; the figures where the device reports
    // its allocations.
    for scene in [small_text(), big_text(), small_text()] {
        assert!(kept.render(&scene).unwrap() == none.render(&scene).unwrap());
    }
    if !reports(&kept) {
        eprintln!("no allocation figures on this backend: the atlas counts are not checked");
        return;
    }
    let s = none.gpu_glyph_atlas_stats().unwrap();
    assert_eq!((s.sets, s.retired), (0, 3), "{s:?}");
    assert_eq!(kept.gpu_glyph_atlas_stats().unwrap().retired, 0);
}

#[test]
fn a_device_opened_after_a_loss_keeps_the_glyph_atlas_budget_and_counts_from_zero() {
    let Some(r) = gpu(Some(0)) else {
        return;
    };
    if !reports(&r) {
        eprintln!("no allocation figures on this backend: nothing to check");
        return;
    }
    let want = r.render(&small_text()).unwrap();
    r.render(&small_text()).unwrap();
    assert_eq!(r.gpu_glyph_atlas_stats().unwrap().retired, 2);
    r.lose_gpu_device_for_test();
    // The first render after the loss may fail with the lost device; the
    // next ones run on a new device.
    let _ = r.render(&small_text());
    let before = r.gpu_glyph_atlas_stats().unwrap().retired;
    assert!(before <= 1, "counted from zero: {before}");
    assert!(r.render(&small_text()).unwrap() == want);
    let s = r.gpu_glyph_atlas_stats().unwrap();
    assert_eq!(s.budget, 0, "{s:?}");
    assert_eq!(s.retired, before + 1, "the budget still holds: {s:?}");
}
