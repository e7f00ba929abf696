//! The GPU backend's resampled-image cache
//! (`Renderer::with_gpu_placed_cache_budget`): renders that bind a resample
//! kept on the device are byte-identical to renders that upload and
//! resample, over the golden scenes with images (both blend spaces) and the
//! poster example; a kept resample is never used for other pixels; rotated
//! images are kept; the budget bounds it; a device opened after a loss
//! starts with an empty cache under the same budget. Each test opens its own
//! device (the figures are per device); under `CI=true` no adapter fails.

mod common;

use impasto::{Assets, Backend, Renderer, RgbaImage, Scene};

use common::backends::opened_gpu;

/// A GPU renderer of its own with a GPU cache of `budget` bytes (and none
/// on the CPU side, which a GPU render does not use).
fn gpu(budget: u64) -> Option<Renderer> {
    let r = opened_gpu(Renderer::new(Backend::Gpu))?;
    Some(
        r.with_system_fonts(false)
            .with_placed_cache_budget(0)
            .with_gpu_placed_cache_budget(budget),
    )
}

#[test]
fn gpu_renders_from_the_cache_equal_renders_without_it_over_the_scenes_with_images() {
    let (Some(off), Some(on)) = (gpu(0), gpu(256 << 20)) else {
        return;
    };
    let layers = common::cached_renders_match(&off, &on, true);
    let s = on.gpu_placed_cache_stats().unwrap();
    // Every resample kept was missed twice (missed, filled) and then read
    // once: all of them, rotated ones included, on the GPU.
    assert!(
        s.hits >= 6 && s.misses == 2 * s.hits,
        "{s:?} for {layers} image layers"
    );
    assert_eq!(s.images as u64, s.hits, "{s:?}");
    assert!(s.images > 0 && s.bytes <= s.budget, "{s:?}");
    let o = off.gpu_placed_cache_stats().unwrap();
    assert_eq!((o.hits, o.misses, o.images), (0, 0, 0), "{o:?}");
}

fn photo(seed: u8) -> RgbaImage {
    RgbaImage::from_fn(300, 200, |x, y| {
        let v = (x * 7 + y * 13) as u8 ^ seed;
        image::Rgba([v, v.wrapping_mul(3), seed, 255 - (v >> 2)])
    })
}

/// A 160x100 card: the photo cover-fit into 150x90, turned by `rotate`
/// degrees.
fn card(rotate: f64) -> Scene {
    card_of("photo.png", rotate)
}

/// [`card`] drawing the image `src`.
fn card_of(src: &str, rotate: f64) -> Scene {
    Scene::from_value(&serde_json::json!({
        "width": 160, "height": 100, "layers": [
            { "type": "image", "src": src, "x": 5, "y": 3, "width": 150, "height": 90,
              "fit": "cover", "rotate": rotate } ] }))
    .unwrap()
}

#[test]
fn gpu_cache_keeps_a_rotated_image_and_charges_it_sixteen_bytes_a_pixel() {
    let (Some(off), Some(on)) = (gpu(0), gpu(64 << 20)) else {
        return;
    };
    let mut a = Assets::new();
    a.insert("photo.png", photo(1));
    let scene = card(17.0);
    let want = off.render_with_assets(&scene, &a).unwrap();
    for _ in 0..3 {
        assert!(on.render_with_assets(&scene, &a).unwrap() == want);
    }
    let s = on.gpu_placed_cache_stats().unwrap();
    assert_eq!((s.hits, s.misses, s.images), (1, 2, 1), "{s:?}");
    // The resample is the image cover-scaled to 150x100 (the box clips it
    // to 90 rows when it is drawn).
    assert_eq!(s.bytes, 150 * 100 * 16, "{s:?}");
}

#[test]
fn gpu_cache_never_serves_another_in_memory_image_under_the_same_name() {
    let (Some(off), Some(on)) = (gpu(0), gpu(64 << 20)) else {
        return;
    };
    let mut a = Assets::new();
    a.insert("photo.png", photo(1));
    for _ in 0..3 {
        on.render_with_assets(&card(0.0), &a).unwrap();
    }
    assert_eq!(on.gpu_placed_cache_stats().unwrap().hits, 1);
    // Same name, same size, other pixels: both a new set and a replaced entry.
    let mut b = Assets::new();
    b.insert("photo.png", photo(2));
    let want = off.render_with_assets(&card(0.0), &b).unwrap();
    assert!(on.render_with_assets(&card(0.0), &b).unwrap() == want);
    a.insert("photo.png", photo(2));
    assert!(on.render_with_assets(&card(0.0), &a).unwrap() == want);
    assert_eq!(on.gpu_placed_cache_stats().unwrap().hits, 1);
}

#[test]
fn gpu_cache_stays_within_its_budget_and_zero_turns_it_off() {
    // Room for one 150x90 resample, not two.
    let Some(on) = gpu(150 * 90 * 16 + 1000) else {
        return;
    };
    let mut a = Assets::new();
    a.insert("one.png", photo(1));
    a.insert("two.png", photo(2));
    for src in ["one.png", "one.png", "two.png", "two.png", "one.png"] {
        on.render_with_assets(&card_of(src, 0.0), &a).unwrap();
    }
    let s = on.gpu_placed_cache_stats().unwrap();
    // one kept, then two in its place; one missed again.
    assert_eq!((s.images, s.evictions, s.hits), (1, 1, 0), "{s:?}");
    assert!(s.bytes <= s.budget, "{s:?}");
    let off = on.with_gpu_placed_cache_budget(0);
    for _ in 0..3 {
        off.render_with_assets(&card_of("one.png", 0.0), &a)
            .unwrap();
    }
    let s = off.gpu_placed_cache_stats().unwrap();
    assert_eq!((s.images, s.bytes, s.budget), (0, 0, 0), "{s:?}");
    assert_eq!(s.misses, 5, "an off cache counts nothing: {s:?}");
}

#[test]
fn gpu_cache_starts_empty_under_the_same_budget_on_a_device_opened_after_a_loss() {
    let (Some(off), Some(on)) = (gpu(0), gpu(32 << 20)) else {
        return;
    };
    let mut a = Assets::new();
    a.insert("photo.png", photo(5));
    let scene = card(0.0);
    let want = off.render_with_assets(&scene, &a).unwrap();
    for _ in 0..3 {
        on.render_with_assets(&scene, &a).unwrap();
    }
    assert_eq!(on.gpu_placed_cache_stats().unwrap().images, 1);
    on.lose_gpu_device_for_test();
    // The first render after the loss may fail with the lost device; the
    // next ones run on a new device, whose cache is empty.
    let _ = on.render_with_assets(&scene, &a);
    for _ in 0..3 {
        assert!(on.render_with_assets(&scene, &a).unwrap() == want);
    }
    let s = on.gpu_placed_cache_stats().unwrap();
    assert_eq!(s.budget, 32 << 20, "{s:?}");
    assert_eq!(s.images, 1, "{s:?}");
    assert!(s.hits >= 1 && s.hits <= 2, "{s:?}");
}

#[test]
fn gpu_cache_serves_a_canvas_drawn_in_tiles_the_bytes_it_renders_without_it() {
    // Textures capped at 256 pixels: the 600x300 canvas is drawn in tiles,
    // each looking up its own part of the photo (the rotated layer's whole
    // resample, which tiles share).
    let (Some(off), Some(on)) = (gpu(0), gpu(64 << 20)) else {
        return;
    };
    let (off, on) = (
        off.with_gpu_max_texture_side(256),
        on.with_gpu_max_texture_side(256),
    );
    // A photo within the cap (a larger one is resampled on the CPU).
    let small = image::imageops::crop_imm(&photo(4), 0, 0, 240, 160).to_image();
    let mut a = Assets::new();
    a.insert("photo.png", small);
    let scene = Scene::from_value(&serde_json::json!({
        "width": 600, "height": 300, "background": "#203040", "layers": [
            { "type": "image", "src": "photo.png", "fit": "cover" },
            { "type": "image", "src": "photo.png", "x": 250, "y": 40, "width": 300, "height": 200,
              "fit": "contain", "rotate": 23, "opacity": 0.8 } ] }))
    .unwrap();
    let want = off.render_with_assets(&scene, &a).unwrap();
    for pass in 0..3 {
        let got = on.render_with_assets(&scene, &a).unwrap();
        assert!(got == want, "pass {pass} differs from the uncached render");
    }
    let s = on.gpu_placed_cache_stats().unwrap();
    assert!(s.hits > 0 && s.images > 0, "{s:?}");
}
