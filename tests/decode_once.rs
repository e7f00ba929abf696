//! Renders that need the same cold file at once, from threads of their
//! own (a service's request threads, an application's workers), decode it
//! once: the first leads, the others wait for its pixels (the
//! decoded-image cache's flights). Renders on rayon's pool do not wait
//! (one blocked there could hold the decode it waits for) and are not
//! tested for it here.

use std::sync::Barrier;

use image::RgbaImage;
use impasto::{Backend, Renderer, Scene};
use serde_json::json;

/// A 2400x1600 PNG of noise (slow to decode, so that the renders overlap)
/// drawn on a 64x64 canvas.
fn setup() -> (tempfile::TempDir, Scene) {
    let dir = tempfile::tempdir().unwrap();
    let photo = RgbaImage::from_fn(2400, 1600, |x, y| {
        let n = x.wrapping_mul(2654435761) ^ y.wrapping_mul(40503);
        image::Rgba([(n >> 7) as u8, (n >> 15) as u8, (x / 10) as u8, 255])
    });
    photo.save(dir.path().join("photo.png")).unwrap();
    let scene = Scene::from_value(&json!({"width": 64, "height": 64, "layers": [
        {"type": "image", "src": "photo.png", "width": 64, "height": 64, "fit": "cover"}]}))
    .unwrap();
    (dir, scene)
}

#[test]
fn renders_of_one_cold_file_from_several_threads_decode_it_once_and_draw_the_same() {
    let (dir, scene) = setup();
    let renderer = Renderer::new(Backend::Cpu)
        .unwrap()
        .with_asset_root(dir.path());
    let threads = 4;
    let start = Barrier::new(threads);
    let images: Vec<RgbaImage> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    start.wait();
                    renderer.render(&scene).unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for image in &images[1..] {
        assert!(image == &images[0], "the renders differ");
    }
    let s = renderer.asset_cache_stats();
    assert_eq!(
        (s.misses, s.hits),
        (1, threads as u64 - 1),
        "one decode, the other renders served from it: {s:?}"
    );
}
