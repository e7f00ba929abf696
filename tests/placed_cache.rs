//! The resampled-image cache (`Renderer::with_placed_cache_budget`): renders
//! that read a resample from the cache are byte-identical to renders that
//! resample, over the golden scene set (both blend spaces) and the poster
//! example, and a cached resample is never used for other pixels: another
//! in-memory image under the same name, a changed file, another space.

mod common;

use image::RgbaImage;
use impasto::{Assets, Backend, Limits, Renderer, Scene};

fn renderer(budget: u64) -> Renderer {
    Renderer::new(Backend::Cpu)
        .unwrap()
        .with_system_fonts(false)
        .with_placed_cache_budget(budget)
}

#[test]
fn renders_from_the_cache_equal_renders_without_it_over_the_scene_set() {
    let off = renderer(0);
    // One cache for every scene, so that a key too coarse would show.
    let on = renderer(256 << 20);
    let images = common::cached_renders_match(&off, &on, false);
    let s = on.placed_cache_stats();
    // Every resample kept was missed twice (missed, filled) and then read.
    assert!(
        s.hits >= 8 && s.misses == 2 * s.hits,
        "{s:?} for {images} image layers"
    );
    assert_eq!(s.images as u64, s.hits, "{s:?}");
    assert!(s.images > 0 && s.bytes <= s.budget, "{s:?}");
    assert_eq!(
        off.placed_cache_stats().hits + off.placed_cache_stats().misses,
        0
    );
}

fn photo(seed: u8) -> RgbaImage {
    RgbaImage::from_fn(300, 200, |x, y| {
        let v = (x * 7 + y * 13) as u8 ^ seed;
        image::Rgba([v, v.wrapping_mul(3), seed, 255 - (v >> 2)])
    })
}

fn card() -> Scene {
    Scene::from_json(
        r#"{ "width": 160, "height": 100, "layers": [
            { "type": "image", "src": "photo.png", "x": 5, "y": 3, "width": 150, "height": 90,
              "fit": "cover" } ] }"#,
    )
    .unwrap()
}

#[test]
fn another_in_memory_image_under_the_same_name_is_resampled_again() {
    let (off, on) = (renderer(0), renderer(64 << 20));
    let mut a = Assets::new();
    a.insert("photo.png", photo(1));
    for _ in 0..3 {
        on.render_with_assets(&card(), &a).unwrap();
    }
    assert_eq!(on.placed_cache_stats().hits, 1);
    // Same name, same size, other pixels: both a new set and a replaced entry.
    let mut b = Assets::new();
    b.insert("photo.png", photo(2));
    let want = off.render_with_assets(&card(), &b).unwrap();
    assert!(on.render_with_assets(&card(), &b).unwrap() == want);
    a.insert("photo.png", photo(2));
    assert!(on.render_with_assets(&card(), &a).unwrap() == want);
    assert_eq!(on.placed_cache_stats().hits, 1);
}

#[test]
fn a_changed_file_is_resampled_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("photo.png");
    let (off, on) = (renderer(0), renderer(64 << 20));
    let on = on.with_asset_root(dir.path());
    let off = off.with_asset_root(dir.path());
    photo(1).save(&path).unwrap();
    for _ in 0..3 {
        on.render(&card()).unwrap();
    }
    assert_eq!(on.placed_cache_stats().hits, 1);
    photo(9).save(&path).unwrap();
    let want = off.render(&card()).unwrap();
    assert!(on.render(&card()).unwrap() == want);
    assert_eq!(on.placed_cache_stats().hits, 1);
}

#[test]
fn a_render_fills_the_cache_only_within_max_render_bytes() {
    let mut a = Assets::new();
    a.insert("photo.png", photo(3));
    let scene = card();
    let roomy = renderer(64 << 20);
    let need = roomy.estimate_render_bytes(&scene, &a).unwrap();
    // Limited to what the render needs without filling: it renders, keeps
    // nothing, and still matches.
    let limits = Limits {
        max_render_bytes: need,
        ..Limits::default()
    };
    let tight = renderer(64 << 20).with_limits(limits);
    let want = renderer(0).render_with_assets(&scene, &a).unwrap();
    for _ in 0..3 {
        assert!(tight.render_with_assets(&scene, &a).unwrap() == want);
    }
    let s = tight.placed_cache_stats();
    assert_eq!((s.images, s.hits, s.misses), (0, 0, 3), "{s:?}");
    // With room, the estimate counts the filling buffer once it would fill.
    roomy.render_with_assets(&scene, &a).unwrap();
    let filling = roomy.estimate_render_bytes(&scene, &a).unwrap();
    assert_eq!(filling, need + 150 * 90 * 8);
}

#[test]
fn an_image_kept_in_memory_hits_the_cache_from_a_new_asset_set_each_render() {
    // A service making an `Assets` per request from a logo it keeps: each
    // set numbered the image anew, so its resample was never read back.
    let on = renderer(64 << 20);
    let kept = std::sync::Arc::new(photo(4));
    let want = renderer(0)
        .render_with_assets(&card(), &{
            let mut a = Assets::new();
            a.insert("photo.png", photo(4));
            a
        })
        .unwrap();
    for _ in 0..4 {
        let mut a = Assets::new();
        a.insert("photo.png", kept.clone());
        assert!(on.render_with_assets(&card(), &a).unwrap() == want);
    }
    // Missed, filled, then read twice.
    assert_eq!(
        on.placed_cache_stats().hits,
        2,
        "{:?}",
        on.placed_cache_stats()
    );
    // Another image with the same pixels, decoded again, is another image.
    let mut a = Assets::new();
    a.insert("photo.png", photo(4));
    on.render_with_assets(&card(), &a).unwrap();
    assert_eq!(on.placed_cache_stats().hits, 2);
}
