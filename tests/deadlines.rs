//! Deadlines and cancellation: a render that would run for minutes stops
//! with the error that says why, whether the deadline passes or a cancel
//! token is cancelled from another thread, and the renderer renders on
//! afterwards.

use std::time::Duration;

use impasto::{Assets, Backend, CancelToken, Error, RenderOptions, Renderer, Scene};
use serde_json::json;

/// 300 rotated, rounded full-canvas rectangles on 8192 x 8192: minutes of
/// exact coverage on two cores.
fn compute_bomb() -> Scene {
    let layers: Vec<_> = (0..300)
        .map(|i| {
            json!({"type": "rect", "color": "#33669980", "rotate": i as f64 * 1.7,
                   "corner_radius": 40, "blend": "multiply"})
        })
        .collect();
    Scene::from_value(&json!({"width": 8192, "height": 8192, "layers": layers})).unwrap()
}

fn renderer() -> Renderer {
    Renderer::new(Backend::Cpu)
        .unwrap()
        .with_system_fonts(false)
}

#[test]
fn a_render_past_its_deadline_stops_with_deadline_exceeded() {
    let r = renderer();
    let options = RenderOptions::with_timeout(Duration::from_millis(300));
    let result = r.render_with(&compute_bomb(), &Assets::new(), &options);
    assert!(matches!(result, Err(Error::DeadlineExceeded)), "{result:?}");
    // The renderer is not left in a bad state.
    let small = Scene::from_value(&json!({"width": 8, "height": 8})).unwrap();
    assert!(r.render(&small).is_ok());
}

#[test]
fn a_render_cancelled_from_another_thread_stops_with_cancelled() {
    let r = renderer();
    let token = CancelToken::new();
    let canceller = {
        let token = token.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            token.cancel();
        })
    };
    let options = RenderOptions::default().cancel_token(token);
    let result = r.render_with(&compute_bomb(), &Assets::new(), &options);
    canceller.join().unwrap();
    assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");
}

#[test]
fn a_deadline_also_stops_resampling_a_large_image() {
    // A 4000 x 3000 photo stretched onto 8192 x 8192, rotated: the
    // resampling alone is seconds in a debug build.
    let mut assets = Assets::new();
    assets.insert(
        "big.png",
        impasto::RgbaImage::from_fn(4000, 3000, |x, y| {
            image::Rgba([(x % 251) as u8, (y % 241) as u8, 90, 255])
        }),
    );
    let layers: Vec<_> = (0..6)
        .map(|i| json!({"type": "image", "src": "big.png", "fit": "fill", "rotate": 3 + i}))
        .collect();
    let scene =
        Scene::from_value(&json!({"width": 8192, "height": 8192, "layers": layers})).unwrap();
    let options = RenderOptions::with_timeout(Duration::from_millis(100));
    let result = renderer().render_with(&scene, &assets, &options);
    assert!(matches!(result, Err(Error::DeadlineExceeded)), "{result:?}");
}
