//! No input makes the library panic: random scenes over the whole format
//! (rotation, rounding, scaled images with every filter, extreme values)
//! render on every backend, and random mutations of a valid scene either
//! parse or give an error.

mod common;

use std::sync::Arc;

use common::backends::backends;
use impasto::{Assets, Scene};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

fn wild_number(rng: &mut impl Rng) -> f64 {
    match rng.random_range(0..8) {
        0 => 0.0,
        1 => 1e-9,
        2 => 999_999.0,
        3 => -999_999.0,
        4 => rng.random_range(-5.0..5.0),
        _ => rng.random_range(-50.0..120.0),
    }
}

#[test]
fn random_scenes_over_the_whole_format_render_without_panicking_on_every_backend() {
    for backend in backends() {
        wild_scenes_render(backend.name, &backend.renderer);
    }
}

fn wild_scenes_render(name: &str, renderer: &impasto::Renderer) {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut assets = Assets::new();
    for (i, (w, h)) in [(1u32, 1u32), (3, 200), (64, 48), (200, 3)]
        .into_iter()
        .enumerate()
    {
        assets.insert(
            format!("i{i}.png"),
            Arc::new(common::random_image(&mut rng, w, h)),
        );
    }
    for _ in 0..300 {
        let mut layers = Vec::new();
        for _ in 0..rng.random_range(0..5) {
            let mut l = match rng.random_range(0..4) {
                0 => json!({"type": "rect", "color": common::random_color(&mut rng)}),
                1 => json!({"type": "linear-gradient", "angle": wild_number(&mut rng),
                            "stops": [{"offset": 0, "color": common::random_color(&mut rng)},
                                      {"offset": 0, "color": common::random_color(&mut rng)},
                                      {"offset": 1, "color": common::random_color(&mut rng)}]}),
                2 => {
                    json!({"type": "radial-gradient", "center": [wild_number(&mut rng), wild_number(&mut rng)],
                            "stops": [{"offset": 0.5, "color": common::random_color(&mut rng)},
                                      {"offset": 0.5, "color": common::random_color(&mut rng)}]})
                }
                _ => json!({"type": "image", "src": format!("i{}.png", rng.random_range(0..4)),
                            "fit": *["cover", "contain", "fill", "none"].choose(&mut rng).unwrap(),
                            "filter": *["lanczos3", "bilinear", "nearest"].choose(&mut rng).unwrap(),
                            "position": [wild_number(&mut rng), wild_number(&mut rng)]}),
            };
            l["x"] = json!(wild_number(&mut rng));
            l["y"] = json!(wild_number(&mut rng));
            l["width"] = json!(wild_number(&mut rng).abs().max(1e-9));
            l["height"] = json!(wild_number(&mut rng).abs().max(1e-9));
            l["rotate"] = json!(wild_number(&mut rng));
            l["corner_radius"] = json!(wild_number(&mut rng).abs());
            l["opacity"] = json!(rng.random_range(0.0..=1.0));
            l["blend"] = json!(*common::BLEND_NAMES.choose(&mut rng).unwrap());
            layers.push(l);
        }
        let scene = json!({"width": rng.random_range(1..64), "height": rng.random_range(1..64),
                           "blend_space": *["srgb", "linear"].choose(&mut rng).unwrap(), "layers": layers});
        let parsed = Scene::from_value(&scene).unwrap_or_else(|e| panic!("{e}\n{scene}"));
        let img = renderer
            .render_with_assets(&parsed, &assets)
            .unwrap_or_else(|e| panic!("{name}: {e}\n{scene}"));
        assert_eq!((img.width(), img.height()), (parsed.width, parsed.height));
        // Straight-alpha output: transparent pixels are all zeros.
        assert!(img.pixels().all(|p| p[3] > 0 || p.0 == [0; 4]));
    }
}

fn mutate(rng: &mut impl Rng, v: &mut Value) {
    match v {
        Value::Object(map) if !map.is_empty() => {
            let keys: Vec<String> = map.keys().cloned().collect();
            let key = keys.choose(rng).unwrap().clone();
            if rng.random_bool(0.3) {
                let replacement = [
                    json!(null),
                    json!(-1),
                    json!("x"),
                    json!([]),
                    json!({}),
                    json!(1e300),
                    json!(true),
                ]
                .choose(rng)
                .unwrap()
                .clone();
                map.insert(key, replacement);
            } else if rng.random_bool(0.1) {
                map.remove(&key);
            } else {
                mutate(rng, map.get_mut(&key).unwrap());
            }
        }
        Value::Array(arr) if !arr.is_empty() => {
            let i = rng.random_range(0..arr.len());
            if rng.random_bool(0.2) {
                arr.remove(i);
            } else {
                mutate(rng, &mut arr[i]);
            }
        }
        _ => {
            *v = [
                json!(0),
                json!(-0.5),
                json!(16385),
                json!("#12345"),
                json!("source-over"),
                json!(null),
            ]
            .choose(rng)
            .unwrap()
            .clone()
        }
    }
}

#[test]
fn mutated_scenes_parse_or_fail_with_a_located_message() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/poster/poster.json"
    ))
    .unwrap();
    let base: Value = serde_json::from_str(&text).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut errors = 0;
    for _ in 0..2000 {
        let mut v = base.clone();
        for _ in 0..rng.random_range(1..4) {
            mutate(&mut rng, &mut v);
        }
        if let Err(e) = Scene::from_value(&v) {
            errors += 1;
            let msg = e.to_string();
            assert!(!msg.contains('\n'), "one line: {msg}");
            assert!(
                msg.starts_with("canvas") || msg.starts_with("layer ") || msg.starts_with("scene"),
                "located: {msg}"
            );
        }
    }
    assert!(
        errors > 500,
        "the mutations should break most scenes ({errors})"
    );
}

/// Scenes built in code skip the parser; every render entry point checks
/// them with the parser's rules, so what once panicked the library (a
/// zero-width canvas, text of size 0, a gradient without stops) or rendered
/// silently (NaN sizes, opacity 3) is one located error on every backend.
#[test]
fn invalid_scenes_built_in_code_are_errors_not_panics_on_every_backend() {
    use impasto::scene::Stop;
    use impasto::{Color, Layer, LayerKind};
    let red = Color::rgb(255, 0, 0);
    let rect = || Layer::rect(red).at(1, 1).size(4, 4);
    let mut cases: Vec<(&str, Scene, &str)> = Vec::new();
    let mut zero = Scene::new(8, 8);
    zero.width = 0;
    cases.push(("zero-width canvas", zero, "field \"width\""));
    let mut text = Layer::text("hi", 10).size(8, 8);
    if let LayerKind::Text(t) = &mut text.kind {
        t.size = 0.0;
    }
    cases.push((
        "text of size 0",
        Scene::new(8, 8).layer(text),
        "field \"size\"",
    ));
    let mut gradient = Layer::linear_gradient([Stop::new(0.0, red), Stop::new(1.0, red)]);
    if let LayerKind::LinearGradient { stops, .. } = &mut gradient.kind {
        stops.clear();
    }
    cases.push((
        "gradient without stops",
        Scene::new(8, 8).layer(gradient),
        "field \"stops\"",
    ));
    let mut nan = rect();
    nan.width = f64::NAN;
    cases.push(("NaN width", Scene::new(8, 8).layer(nan), "field \"width\""));
    cases.push((
        "opacity 3",
        Scene::new(8, 8).layer(rect().opacity(3)),
        "field \"opacity\"",
    ));
    let mut negative = rect();
    negative.height = -4.0;
    cases.push((
        "negative height",
        Scene::new(8, 8).layer(negative),
        "field \"height\"",
    ));
    for backend in backends() {
        for (what, scene, field) in &cases {
            let err = match backend.renderer.render(scene) {
                Ok(_) => panic!("{}: {what}: rendered", backend.name),
                Err(e) => e,
            };
            assert!(err.is_bad_input(), "{}: {what}: {err}", backend.name);
            assert!(
                err.to_string().contains(field),
                "{}: {what}: {err}",
                backend.name
            );
        }
    }
}

/// A scene can ask for only so much work: layers, gradient stops and text
/// length are bounded by `Limits` (configurable), each a located error.
#[test]
fn scenes_over_the_work_limits_are_refused_naming_the_field() {
    let limits = impasto::Limits {
        max_layers: 3,
        max_gradient_stops: 4,
        max_text_chars: 10,
        ..impasto::Limits::default()
    };
    let renderer = impasto::Renderer::new(impasto::Backend::Cpu)
        .unwrap()
        .with_system_fonts(false)
        .with_limits(limits);
    let stops: Vec<Value> = (0..5)
        .map(|i| json!({"offset": i as f64 / 4.0, "color": "#fff"}))
        .collect();
    let rect = json!({"type": "rect", "color": "#fff"});
    let cases = [
        (
            json!([rect, rect, rect, rect]),
            "canvas: field \"layers\": 4 layers, over the limit of 3 (max_layers)",
        ),
        (
            json!([{"type": "radial-gradient", "stops": stops}]),
            "layer 0 (radial-gradient): field \"stops\": 5 stops, over the limit of 4 (max_gradient_stops)",
        ),
        (
            json!([rect, {"type": "text", "text": "eleven char"}]),
            "layer 1 (text): field \"text\": 11 characters, over the limit of 10 (max_text_chars)",
        ),
    ];
    for (layers, want) in cases {
        let scene = Scene::from_value(&json!({"width": 8, "height": 8, "layers": layers})).unwrap();
        let err = renderer.render(&scene).unwrap_err();
        assert!(err.is_bad_input(), "{err}");
        assert_eq!(err.to_string(), want);
    }
}

/// A word (a run to the next line-break opportunity) of characters the
/// layer's font lacks costs cosmic-text's font fallback time in proportion
/// to its length times their count, uninterruptibly: 30,000 of U+FDD0 took
/// 2 to 7 s, 100,000 took 99 s. Its words' costs summed over the limit, a
/// text is refused from the text alone, before any layout, in a render and
/// in a measure; the same characters spaced out, or a long word the font
/// has, are drawn.
#[test]
fn a_long_word_of_characters_the_font_lacks_is_refused_before_layout() {
    let renderer = impasto::Renderer::new(impasto::Backend::Cpu)
        .unwrap()
        .with_system_fonts(false)
        .with_limits(impasto::Limits {
            max_text_fallback_work: 100 * 100,
            ..impasto::Limits::default()
        });
    let text = |t: String| {
        Scene::from_value(&json!({"width": 64, "height": 16, "layers": [
            {"type": "text", "text": t, "size": 4}]}))
        .unwrap()
    };
    let over = format!("ab{}", "\u{FDD0}".repeat(100));
    let err = renderer.render(&text(over.clone())).unwrap_err();
    assert!(err.is_bad_input(), "{err}");
    assert_eq!(
        err.to_string(),
        "layer 0 (text): field \"text\": its words would take font fallback 10200 steps (a word's characters times those not in the layer's font, summed; the largest: 102 characters with no line-break opportunity, 100 of them not in the font), over the limit of 10000 (max_text_fallback_work): laying the text out takes time in proportion; use a font that has its characters, or break its long words"
    );
    let layer = impasto::Layer::text(over, 4).size(64, 16);
    let e = renderer.measure_text(&layer).unwrap_err().to_string();
    assert!(e.contains("(max_text_fallback_work)"), "{e}");
    // Words under it each that together pass it: refused too (each word
    // is laid out in turn: 24 words of 4,000 took 3.5 s).
    let many = format!("{} ", "\u{FDD0}".repeat(60)).repeat(3);
    let e = renderer.render(&text(many)).unwrap_err().to_string();
    assert!(e.contains("fallback 10980 steps"), "{e}");
    // At the limit, spaced out, or all in the font: drawn.
    for fine in [
        "\u{FDD0}".repeat(100),
        "\u{FDD0} ".repeat(2000),
        "a".repeat(20_000),
    ] {
        renderer.render(&text(fine)).unwrap();
    }
}

/// Scene files: a path that is no regular file (a device, a FIFO with no
/// writer) is refused at once instead of read forever; a file over the size
/// limit is refused from its size; a UTF-8 byte-order mark is accepted.
#[test]
fn scene_files_that_are_devices_fifos_or_too_large_are_refused_at_once() {
    let err = Scene::from_path("/dev/zero").unwrap_err().to_string();
    assert!(err.contains("not a regular file"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    #[cfg(unix)]
    {
        let fifo = dir.path().join("scene.fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            let err = Scene::from_path(&fifo).unwrap_err().to_string();
            assert!(err.contains("not a regular file"), "{err}");
        }
    }
    let path = dir.path().join("s.json");
    std::fs::write(&path, "\u{feff}{\"width\": 4, \"height\": 4}").unwrap();
    assert_eq!(Scene::from_path(&path).unwrap().width, 4);
    let err = Scene::from_path_limited(&path, 10).unwrap_err().to_string();
    assert!(err.contains("bytes, over the limit of 10 bytes"), "{err}");
}

/// An image file over the byte limit is refused from its size, before it
/// is read or decoded.
#[test]
fn image_files_over_the_byte_limit_are_refused_from_their_size() {
    let dir = tempfile::tempdir().unwrap();
    let img = image::RgbaImage::from_pixel(64, 64, image::Rgba([9, 9, 9, 255]));
    img.save(dir.path().join("a.png")).unwrap();
    let size = std::fs::metadata(dir.path().join("a.png")).unwrap().len();
    let limits = impasto::Limits {
        max_image_file_bytes: size - 1,
        ..impasto::Limits::default()
    };
    let r = impasto::Renderer::new(impasto::Backend::Cpu)
        .unwrap()
        .with_asset_root(dir.path())
        .with_limits(limits);
    let scene = Scene::from_value(&json!({"width": 8, "height": 8,
        "layers": [{"type": "rect", "color": "#fff"}, {"type": "image", "src": "a.png"}]}))
    .unwrap();
    let err = r.render(&scene).unwrap_err().to_string();
    let want = format!(
        "layer 1 (image): field \"src\": \"a.png\": the file is {size} bytes, over the limit of {} bytes (max_image_file_bytes)",
        size - 1
    );
    assert_eq!(err, want);
}

#[test]
fn of_several_broken_images_the_first_layers_is_the_error_whichever_decode_fails_first() {
    let dir = tempfile::tempdir().unwrap();
    // Layer 0: a large PNG whose data is cut short, so its decode runs a
    // while before it fails; layer 1: not an image at all, refused at once.
    // Decoded side by side, layer 1's error came first in time.
    let noise = image::RgbaImage::from_fn(1500, 1500, |x, y| {
        let v = x
            .wrapping_mul(2_654_435_761)
            .wrapping_add(y.wrapping_mul(40_503));
        image::Rgba((v ^ (v >> 13)).to_le_bytes())
    });
    let mut png = Vec::new();
    noise
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    png.truncate(png.len() * 9 / 10);
    std::fs::write(dir.path().join("slow.png"), &png).unwrap();
    std::fs::write(dir.path().join("junk.png"), b"\x89PNG\r\n\x1a\nnot really").unwrap();
    let r = impasto::Renderer::new(impasto::Backend::Cpu)
        .unwrap()
        .with_asset_root(dir.path())
        .with_asset_cache_budget(0);
    let scene = Scene::from_value(&json!({"width": 8, "height": 8, "layers": [
        {"type": "image", "src": "slow.png"},
        {"type": "image", "src": "junk.png"}
    ]}))
    .unwrap();
    for _ in 0..5 {
        let err = r.render(&scene).unwrap_err().to_string();
        assert!(err.starts_with("layer 0 (image)"), "{err}");
    }
}

#[test]
fn an_estimate_over_the_memory_limit_is_refused_naming_its_largest_parts() {
    // A service whose limit is its budget says what is large (it said only
    // the total).
    let limits = impasto::Limits {
        max_render_bytes: 1_000_000,
        ..impasto::Limits::default()
    };
    let r = impasto::Renderer::new(impasto::Backend::Cpu)
        .unwrap()
        .with_limits(limits);
    let scene =
        Scene::from_value(&json!({"width": 2000, "height": 2000, "background": "#fff"})).unwrap();
    let e = r
        .estimate_render_bytes(&scene, &impasto::Assets::new())
        .unwrap_err();
    assert!(matches!(e, impasto::Error::OverMemoryLimit { .. }), "{e}");
    let said = e.to_string();
    assert!(
        said.contains("(max_render_bytes); largest parts: "),
        "{said}"
    );
    let small = Scene::from_value(&json!({"width": 20, "height": 20})).unwrap();
    assert!(r
        .estimate_render_bytes(&small, &impasto::Assets::new())
        .is_ok());
}
