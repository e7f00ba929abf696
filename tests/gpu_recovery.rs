//! A lost GPU device is replaced on the next render, and renders in flight
//! at the loss fail saying so; with `Backend::Auto`, repeated GPU failures
//! open a circuit breaker that sends renders to the CPU until a trial on
//! the GPU succeeds. Run on whatever adapter wgpu finds (lavapipe in CI):
//! under `CI=true` a missing adapter fails these tests; elsewhere they say
//! that they were skipped.
//!
//! Each test opens its own device (it destroys it). The breaker's cool-down
//! is measured on a clock the test moves by hand: no sleeps.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::backends::{check_images, opened_gpu, GPU, GPU_TEXT};
use image::RgbaImage;
use impasto::{Backend, BreakerConfig, BreakerState, Error, Renderer, Scene};
use serde_json::json;

/// A renderer on its own GPU device (`auto`: as `Backend::Auto` on a GPU,
/// breaker included), or `None` without an adapter (a failure under
/// `CI=true`, a printed skip elsewhere).
fn fresh_gpu(auto: bool) -> Option<Renderer> {
    let made = if auto {
        Renderer::auto_on_any_gpu_for_test()
    } else {
        Renderer::new(Backend::Gpu)
    };
    Some(opened_gpu(made)?.with_system_fonts(false))
}

fn cpu() -> Renderer {
    Renderer::new(Backend::Cpu)
        .expect("the CPU backend always exists")
        .with_system_fonts(false)
}

/// Gradients and a rotated rounded rectangle: no text.
fn shapes(seed: u32) -> Scene {
    let x = 10 + (seed % 7) as i32 * 9;
    Scene::from_value(
        &json!({"width": 160, "height": 120, "background": "#f4efe6", "layers": [
        {"type": "linear-gradient", "angle": 30 + seed * 11, "opacity": 0.7,
         "stops": [{"offset": 0, "color": "#e4572e"}, {"offset": 1, "color": "#2e86ab80"}]},
        {"type": "rect", "x": x, "y": 20.5, "width": 90, "height": 60, "rotate": 12,
         "corner_radius": 14, "color": "#1d1d1fc0", "blend": "multiply"},
        {"type": "radial-gradient", "x": 70, "y": 40, "width": 70, "height": 50, "blend": "screen",
         "stops": [{"offset": 0, "color": "#ffcc00"}, {"offset": 1, "color": "#ffcc0000"}]}]}),
    )
    .expect("a valid scene")
}

/// Text: drawn through the glyph atlas, which a new device rebuilds.
fn text() -> Scene {
    Scene::from_value(
        &json!({"width": 240, "height": 80, "background": "#102030", "layers": [
        {"type": "text", "text": "Lost and found", "x": 8, "y": 8, "width": 224, "height": 64,
         "size": 30, "weight": 700, "color": "#ffffff"}]}),
    )
    .expect("a valid scene")
}

/// Holds `got` to the GPU tolerance against the CPU's render of `scene`.
fn assert_matches_cpu(name: &str, scene: &Scene, got: &RgbaImage, text: bool) {
    let want = cpu().render(scene).expect("the CPU renders it");
    let t = if text { GPU_TEXT } else { GPU };
    if let Some(problem) = check_images(name, got, &want, &t) {
        panic!("{problem}");
    }
}

/// A clock the test moves by hand, and the function the breaker reads it by.
fn manual_clock() -> (
    Arc<Mutex<Instant>>,
    impl Fn() -> Instant + Send + Sync + 'static,
) {
    let now = Arc::new(Mutex::new(Instant::now()));
    let read = Arc::clone(&now);
    (now, move || *read.lock().expect("clock"))
}

fn advance(clock: &Mutex<Instant>, by: Duration) {
    *clock.lock().expect("clock") += by;
}

#[test]
fn a_lost_device_is_replaced_on_the_next_render_which_matches_the_cpu() {
    let Some(gpu) = fresh_gpu(false) else { return };
    let (shapes, text) = (shapes(0), text());
    // A first render fills the pool, the pipelines' caches and the atlas.
    gpu.render(&shapes).expect("renders before the loss");
    gpu.render(&text).expect("renders text before the loss");
    assert_eq!(gpu.gpu_recoveries(), 0);

    gpu.lose_gpu_device_for_test();
    let got = gpu.render(&shapes).expect("renders on a new device");
    assert_eq!(gpu.gpu_recoveries(), 1, "one new device");
    assert_matches_cpu("recovery-shapes", &shapes, &got, false);
    let got = gpu.render(&text).expect("renders text on a new device");
    assert_matches_cpu("recovery-text", &text, &got, true);
    assert_eq!(gpu.gpu_recoveries(), 1, "the new device stays");

    // Its clones share the device, lost or new.
    let clone = gpu.clone();
    gpu.lose_gpu_device_for_test();
    clone
        .render(&shapes)
        .expect("a clone renders on a new device");
    assert_eq!(gpu.gpu_recoveries(), 2);
}

#[test]
fn a_render_in_flight_at_the_loss_fails_saying_so_and_the_batch_goes_on() {
    let Some(gpu) = fresh_gpu(false) else { return };
    let scenes: Vec<Scene> = (0..4).map(shapes).collect();
    let mut results: Vec<Option<Result<RgbaImage, Error>>> = vec![None, None, None, None];
    // Scene 1 is submitted before scene 0 is handed over: losing the
    // device then catches scene 1 in flight.
    gpu.render_each(&scenes, &impasto::Assets::new(), |i, r| {
        if i == 0 {
            gpu.lose_gpu_device_for_test();
        }
        results[i] = Some(r);
    });
    let results: Vec<_> = results.into_iter().map(|r| r.expect("a result")).collect();
    assert!(results[0].is_ok(), "scene 0 was read back before the loss");
    match &results[1] {
        Err(e @ Error::GpuDeviceLost { adapter, reason }) => {
            assert!(!adapter.is_empty() && !reason.is_empty(), "{e}");
            assert!(e.to_string().contains("was lost"), "{e}");
            assert!(e.is_gpu_failure() && !e.is_bad_input());
            eprintln!("in flight at the loss: {e}");
        }
        other => panic!("scene 1 in flight at the loss: {other:?}"),
    }
    for i in [2, 3] {
        let got = results[i]
            .as_ref()
            .unwrap_or_else(|e| panic!("scene {i}: {e}"));
        assert_matches_cpu(&format!("recovery-batch-{i}"), &scenes[i], got, false);
    }
    assert_eq!(gpu.gpu_recoveries(), 1);
}

#[test]
fn staged_uploads_across_a_loss_fail_saying_so_or_match_the_render_before_it() {
    use rand::SeedableRng;
    let Some(gpu) = fresh_gpu(false) else { return };
    // A 700x500 image (1.4 MB): uploaded through pooled mapped staging
    // buffers, which the lost device's pool holds, mapped or mapping.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(14);
    let mut assets = impasto::Assets::new();
    assets.insert("big.png", common::random_image(&mut rng, 700, 500));
    let scene = Scene::from_value(
        &json!({"width": 700, "height": 500, "background": "#ffffff", "layers": [
        {"type": "image", "src": "big.png", "fit": "cover"},
        {"type": "image", "src": "big.png", "fit": "contain", "rotate": 10.0, "opacity": 0.5}]}),
    )
    .expect("a valid scene");
    let want = gpu.render_with_assets(&scene, &assets).expect("renders");
    let scenes = vec![scene.clone(); 4];
    let mut results: Vec<Option<Result<RgbaImage, Error>>> = vec![None, None, None, None];
    gpu.render_each(&scenes, &assets, |i, r| {
        if i == 0 {
            gpu.lose_gpu_device_for_test();
        }
        results[i] = Some(r);
    });
    for (i, r) in results.into_iter().enumerate() {
        match r.expect("a result") {
            Ok(got) => assert!(got == want, "scene {i} differs from the render before"),
            Err(Error::GpuDeviceLost { .. }) if i == 1 => {}
            Err(e) => panic!("scene {i}: {e}"),
        }
    }
    let got = gpu
        .render_with_assets(&scene, &assets)
        .expect("renders after");
    assert!(got == want, "the render after the loss differs");
    assert_eq!(gpu.gpu_recoveries(), 1);
}

#[test]
fn renders_on_many_threads_across_a_loss_succeed_or_say_the_device_was_lost() {
    let Some(gpu) = fresh_gpu(false) else { return };
    let scenes = [shapes(3), text()];
    let want: Vec<RgbaImage> = scenes
        .iter()
        .map(|s| cpu().render(s).expect("CPU"))
        .collect();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let (ok, lost) = std::thread::scope(|threads| {
        let workers: Vec<_> = (0..4)
            .map(|t| {
                let (gpu, scenes, want, done) = (&gpu, &scenes, &want, &done);
                threads.spawn(move || {
                    let (mut ok, mut lost) = (0, 0);
                    for k in 0..8 {
                        done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let which = (t + k) % 2;
                        match gpu.render(&scenes[which]) {
                            Ok(got) => {
                                let name = format!("recovery-threads-{t}-{k}");
                                assert_matches_cpu(&name, &scenes[which], &got, which == 1);
                                assert_eq!(got.dimensions(), want[which].dimensions());
                                ok += 1;
                            }
                            Err(Error::GpuDeviceLost { .. }) => lost += 1,
                            Err(e) => panic!("thread {t}, render {k}: {e}"),
                        }
                    }
                    (ok, lost)
                })
            })
            .collect();
        // Lose the device once every thread has started rendering.
        while done.load(std::sync::atomic::Ordering::SeqCst) < 4 {
            std::thread::yield_now();
        }
        gpu.lose_gpu_device_for_test();
        workers
            .into_iter()
            .map(|w| w.join().expect("a worker"))
            .fold((0, 0), |(a, b), (c, d)| (a + c, b + d))
    });
    eprintln!("{ok} renders succeeded, {lost} were in flight at the loss");
    assert_eq!(ok + lost, 32);
    // One loss, one new device, whoever found it lost first.
    gpu.render(&scenes[0]).expect("renders after the loss");
    assert_eq!(gpu.gpu_recoveries(), 1);
}

#[test]
fn the_auto_breaker_opens_on_gpu_failures_half_opens_after_the_cool_down_and_closes() {
    let Some(auto) = fresh_gpu(true) else { return };
    let (clock, now) = manual_clock();
    let cool_down = Duration::from_secs(30);
    let auto = auto
        .with_gpu_breaker(BreakerConfig {
            failure_threshold: 2,
            cool_down,
        })
        .with_gpu_breaker_clock_for_test(now);
    let scene = shapes(1);
    let cpu_image = cpu().render(&scene).expect("the CPU renders it");
    let state = |r: &Renderer| r.gpu_breaker().expect("Auto on a GPU has a breaker");

    let got = auto.render(&scene).expect("closed: renders on the GPU");
    assert_matches_cpu("breaker-closed", &scene, &got, false);
    assert_eq!(state(&auto).state, BreakerState::Closed);

    // Bad input never counts.
    let bad = Scene::from_value(&json!({"width": 8, "height": 8, "layers": [
        {"type": "image", "src": "missing.png"}]}))
    .expect("parses");
    for _ in 0..3 {
        assert!(auto.render(&bad).unwrap_err().is_bad_input());
    }
    assert_eq!(state(&auto).consecutive_failures, 0);

    // Two GPU failures in a row: open.
    auto.inject_gpu_failures_for_test(2);
    for k in 0..2 {
        let e = auto.render(&scene).unwrap_err();
        assert!(e.is_gpu_failure(), "failure {k}: {e}");
    }
    let s = state(&auto);
    assert_eq!(
        (s.state, s.trips, s.consecutive_failures),
        (BreakerState::Open, 1, 2)
    );
    assert_eq!(s.cool_down_left, Some(cool_down));
    assert!(s
        .last_failure
        .as_deref()
        .is_some_and(|m| m.contains("injected")));

    // Open: renders go to the CPU, exactly its output; a batch too.
    assert_eq!(auto.render(&scene).expect("on the CPU"), cpu_image);
    let batch = auto.render_batch(&[scene.clone(), scene.clone()], &impasto::Assets::new());
    for r in batch {
        assert_eq!(r.expect("on the CPU"), cpu_image);
    }
    assert_eq!(state(&auto).cpu_renders, 3);
    advance(&clock, cool_down / 2);
    assert_eq!(state(&auto).state, BreakerState::Open);
    assert_eq!(state(&auto).cool_down_left, Some(cool_down / 2));

    // Cooled down: half-open; the trial fails and it opens again.
    advance(&clock, cool_down / 2);
    assert_eq!(state(&auto).state, BreakerState::HalfOpen);
    auto.inject_gpu_failures_for_test(1);
    assert!(auto.render(&scene).unwrap_err().is_gpu_failure());
    let s = state(&auto);
    assert_eq!(
        (s.state, s.trips, s.cpu_renders),
        (BreakerState::Open, 2, 3)
    );
    assert_eq!(auto.render(&scene).expect("on the CPU"), cpu_image);

    // Cooled down again: the trial succeeds on the GPU and closes it.
    advance(&clock, cool_down);
    assert_eq!(state(&auto).state, BreakerState::HalfOpen);
    let got = auto.render(&scene).expect("the trial renders on the GPU");
    assert_matches_cpu("breaker-trial", &scene, &got, false);
    let s = state(&auto);
    assert_eq!(
        (s.state, s.consecutive_failures, s.trips),
        (BreakerState::Closed, 0, 2)
    );
    assert_eq!(s.cpu_renders, 4, "the trial was not a CPU render");
    assert_eq!(s.gpu_failures, 3);
}

#[test]
fn a_device_lost_under_a_render_counts_toward_the_auto_breaker() {
    let Some(auto) = fresh_gpu(true) else { return };
    let (_clock, now) = manual_clock();
    let auto = auto
        .with_gpu_breaker(BreakerConfig {
            failure_threshold: 1,
            cool_down: Duration::from_secs(60),
        })
        .with_gpu_breaker_clock_for_test(now);
    let scenes: Vec<Scene> = (0..4).map(shapes).collect();
    let cpu = cpu();
    let mut results: Vec<Option<Result<RgbaImage, Error>>> = vec![None, None, None, None];
    auto.render_each(&scenes, &impasto::Assets::new(), |i, r| {
        if i == 0 {
            auto.lose_gpu_device_for_test();
        }
        results[i] = Some(r);
    });
    let results: Vec<_> = results.into_iter().map(|r| r.expect("a result")).collect();
    assert!(
        matches!(results[1], Err(Error::GpuDeviceLost { .. })),
        "{:?}",
        results[1]
    );
    // The loss opened the breaker: the rest of the batch ran on the CPU.
    for i in [2, 3] {
        let want = cpu.render(&scenes[i]).expect("the CPU renders it");
        assert_eq!(results[i].as_ref().expect("on the CPU"), &want, "scene {i}");
    }
    let s = auto.gpu_breaker().expect("a breaker");
    assert_eq!(
        (s.state, s.trips, s.cpu_renders),
        (BreakerState::Open, 1, 2)
    );
    assert!(s
        .last_failure
        .as_deref()
        .is_some_and(|m| m.contains("lost")));
}

#[test]
fn backend_gpu_and_the_cpu_have_no_breaker() {
    assert!(cpu().gpu_breaker().is_none());
    assert_eq!(cpu().gpu_recoveries(), 0);
    if let Some(gpu) = fresh_gpu(false) {
        assert!(gpu.gpu_breaker().is_none());
        // Without a breaker, failures are returned and nothing is routed.
        gpu.inject_gpu_failures_for_test(5);
        for _ in 0..5 {
            assert!(gpu.render(&shapes(2)).unwrap_err().is_gpu_failure());
        }
        gpu.render(&shapes(2))
            .expect("renders once the failures are spent");
    }
}

#[test]
fn a_scene_over_the_adapters_limits_goes_to_the_cpu_with_auto_and_fails_clearly_with_gpu() {
    // A rotated image needs its whole resample in one storage buffer: 16
    // bytes a pixel, 480,000 bytes here, over a 256 KiB cap (lavapipe's
    // 128 MiB binding limit refused a 3900x2600 one the same way).
    let scene = Scene::from_value(&json!({"width": 200, "height": 150, "layers": [
        {"type": "linear-gradient", "angle": 45,
         "stops": [{"offset": 0, "color": "#e4572e"}, {"offset": 1, "color": "#2e86ab"}]},
        {"type": "rect", "width": 200, "height": 150, "color": "#1d1d1f80", "rotate": 3}
    ]}))
    .expect("a valid scene");
    let mut assets = impasto::Assets::new();
    assets.insert(
        "photo.png",
        RgbaImage::from_fn(64, 48, |x, y| {
            image::Rgba([x as u8 * 4, y as u8 * 5, 90, 255])
        }),
    );
    let photo = Scene::from_value(&json!({"width": 200, "height": 150, "layers": [
        {"type": "image", "src": "photo.png", "fit": "cover", "rotate": 3}
    ]}))
    .expect("a valid scene");
    let Some(gpu) = fresh_gpu(false) else { return };
    let gpu = gpu.with_gpu_storage_cap_for_test(256 << 10);
    gpu.render(&scene).expect("no layer needs a large buffer");
    match gpu.render_with_assets(&photo, &assets) {
        Err(Error::GpuLimit(why)) => assert!(
            why.contains("storage binding limit") && why.contains("CPU backend"),
            "{why}"
        ),
        other => panic!(
            "Backend::Gpu over the limit: {:?}",
            other.map(|i| i.dimensions())
        ),
    }
    let Some(auto) = fresh_gpu(true) else { return };
    let auto = auto.with_gpu_storage_cap_for_test(256 << 10);
    let got = auto
        .render_with_assets(&photo, &assets)
        .expect("Backend::Auto renders it on the CPU");
    let want = cpu().render_with_assets(&photo, &assets).unwrap();
    assert_eq!(got, want, "the CPU's pixels");
    let stats = auto.gpu_breaker().expect("auto has a breaker");
    assert_eq!(stats.state, BreakerState::Closed, "{stats:?}");
}
