//! The scene API as a Rust user meets it: building scenes in code, writing
//! them back as scene-format JSON, and reading that JSON to an equal scene.

use impasto::scene::{Align, Filter, Fit, Layer, LayerKind, Named, Stop, VAlign};
use impasto::{BlendMode, BlendSpace, Color, Scene};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

fn manifest_path(rel: &str) -> String {
    format!("{}/{rel}", env!("CARGO_MANIFEST_DIR"))
}

/// Parse, serialize (compact and pretty), parse again: equal scenes.
fn assert_round_trips(scene: &Scene, what: &str) {
    for json in [scene.to_json(), scene.to_json_pretty()] {
        let again = Scene::from_json(&json).unwrap_or_else(|e| panic!("{what}: {e}\n{json}"));
        assert_eq!(&again, scene, "{what}\n{json}");
        // And the JSON is stable: writing the reparsed scene gives the same text.
        assert_eq!(again.to_json(), scene.to_json(), "{what}");
    }
}

#[test]
fn the_example_poster_round_trips_through_json() {
    let text = std::fs::read_to_string(manifest_path("examples/poster/poster.json")).unwrap();
    let scene = Scene::from_json(&text).unwrap();
    assert_round_trips(&scene, "poster.json");
    // base_dir is not part of the format.
    let from_file = Scene::from_path(manifest_path("examples/poster/poster.json")).unwrap();
    assert!(from_file.base_dir.is_some());
    assert_eq!(Scene::from_json(&from_file.to_json()).unwrap(), scene);
}

#[test]
fn every_golden_scene_round_trips_through_json() {
    let text = std::fs::read_to_string(manifest_path("tests/golden/scenes.json")).unwrap();
    let scenes: Value = serde_json::from_str(&text).unwrap();
    let scenes = scenes.as_object().unwrap();
    assert!(scenes.len() > 10);
    for (name, json) in scenes {
        let scene = Scene::from_value(json).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_round_trips(&scene, name);
    }
}

/// A number with at most three decimals, as people write them (see
/// `computed_numbers_come_back_within_one_ulp` for the others).
fn short_decimal(rng: &mut impl Rng, lo: f64, hi: f64) -> f64 {
    (rng.random_range(lo..=hi) * 1000.0).round() / 1000.0
}

#[test]
fn every_mutation_of_the_poster_that_parses_round_trips() {
    let text = std::fs::read_to_string(manifest_path("examples/poster/poster.json")).unwrap();
    let base: Value = serde_json::from_str(&text).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let mut parsed = 0;
    for _ in 0..1000 {
        let mut v = base.clone();
        let layers = v["layers"].as_array_mut().unwrap();
        let i = rng.random_range(0..layers.len());
        let layer = layers[i].as_object_mut().unwrap();
        let (key, value) = [
            ("x", json!(short_decimal(&mut rng, -1e5, 1e5))),
            ("width", json!(short_decimal(&mut rng, 0.001, 5000.0))),
            ("opacity", json!(short_decimal(&mut rng, 0.0, 1.0))),
            ("rotate", json!(short_decimal(&mut rng, -720.0, 720.0))),
            ("blend", json!(*BlendMode::NAMES.choose(&mut rng).unwrap())),
            (
                "fit",
                json!(*["cover", "contain", "fill", "none"]
                    .choose(&mut rng)
                    .unwrap()),
            ),
            (
                "style",
                json!(*["normal", "italic"].choose(&mut rng).unwrap()),
            ),
            (
                "valign",
                json!(*["top", "middle", "bottom"].choose(&mut rng).unwrap()),
            ),
            ("radius", json!(short_decimal(&mut rng, 0.5, 900.0))),
            ("font", json!("Noto Serif")),
            ("weight", json!(rng.random_range(1..=9) * 100)),
        ]
        .choose(&mut rng)
        .unwrap()
        .clone();
        layer.insert(key.to_owned(), value);
        if let Ok(scene) = Scene::from_value(&v) {
            parsed += 1;
            assert_round_trips(&scene, &v.to_string());
        }
    }
    assert!(parsed > 200, "{parsed}");
}

/// serde_json, as this crate enables it (without `float_roundtrip`), reads
/// back a number of 16 or 17 significant digits (a computed one, such as
/// 154.41827426741565) to within one unit in the last place rather than
/// exactly; shorter numbers come back exactly.
#[test]
fn computed_numbers_come_back_within_one_ulp() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for _ in 0..5000 {
        let x: f64 = rng.random_range(-1e6..1e6);
        let scene = Scene::new(10, 10).layer(Layer::rect(Color::BLACK).at(x, 0));
        let back = Scene::from_json(&scene.to_json()).unwrap().layers[0].x;
        let ulps = (back.to_bits() as i64 - x.to_bits() as i64).abs();
        assert!(ulps <= 1, "{x:?} came back as {back:?}");
    }
    for x in [
        0.1 + 0.2,
        630.0 * 0.7,
        1200.0 / 7.0,
        1.0 / 3.0,
        64.125,
        1e-7,
    ] {
        let scene = Scene::new(10, 10).layer(Layer::rect(Color::BLACK).at(x, 0));
        assert_eq!(Scene::from_json(&scene.to_json()).unwrap(), scene, "{x:?}");
    }
}

/// One of the 50 cards of the issue: a title, a subtitle, a logo, an accent.
fn card(i: usize) -> Scene {
    let accent = [
        Color::hex("#e4572e"),
        Color::hex("#f3a712"),
        Color::hex("#2e86ab"),
    ][i % 3];
    Scene::new(1200, 630)
        .background(Color::hex("#0f172a"))
        .layer(
            Layer::linear_gradient([(0.0, Color::hex("#1e3a8a")), (1.0, Color::hex("#0f172a00"))])
                .angle(135),
        )
        .layer(
            Layer::radial_gradient([Stop::new(0.0, accent), Stop::new(0.7, Color::TRANSPARENT)])
                .at(800, -200)
                .size(700, 700)
                .center(0.5, 0.4)
                .blend(BlendMode::Screen),
        )
        .layer(
            Layer::image("logo.png")
                .at(64, 64)
                .size(96, 96)
                .fit(Fit::Contain)
                .filter(Filter::Bilinear),
        )
        .layer(
            Layer::text(format!("Release notes #{i}"), 72)
                .at(64, 200)
                .size(1072, 200)
                .color(Color::WHITE)
                .weight(700)
                .valign(VAlign::Bottom),
        )
        .layer(
            Layer::text("Faster renders, smaller files.", 32.5)
                .at(64, 420)
                .size(1072, 60)
                .color(Color::rgba(255, 255, 255, 200))
                .italic(true)
                .line_height(1.3),
        )
        .layer(
            Layer::rect(accent)
                .at(64, 540)
                .size(200, 8)
                .corner_radius(4)
                .rotate(i as f64 * 0.5),
        )
}

#[test]
fn fifty_cards_built_in_code_are_valid_and_round_trip() {
    for i in 0..50 {
        let scene = card(i);
        scene.validate().unwrap_or_else(|e| panic!("card {i}: {e}"));
        assert_round_trips(&scene, &format!("card {i}"));
    }
}

#[test]
fn a_layer_without_a_size_covers_the_canvas_as_in_the_format() {
    let built = Scene::new(640, 360)
        .blend_space(BlendSpace::Linear)
        .layer(Layer::rect(Color::hex("#ffcc00")).at(10, 0).opacity(0.5));
    let parsed = Scene::from_json(
        r##"{"width": 640, "height": 360, "blend_space": "linear",
             "layers": [{"type": "rect", "x": 10, "color": "#ffcc00", "opacity": 0.5}]}"##,
    )
    .unwrap();
    assert_eq!(built, parsed);
}

#[test]
fn serialized_json_leaves_defaults_out_and_writes_whole_numbers_as_integers() {
    let scene = Scene::new(100, 50)
        .layer(Layer::rect(Color::hex("#ff0000")).at(10, 20.5))
        .layer(Layer::text("hi", 32).align(Align::Center));
    assert_eq!(
        scene.to_json(),
        concat!(
            r##"{"width":100,"height":50,"layers":["##,
            r##"{"type":"rect","x":10,"y":20.5,"width":100,"height":50,"color":"#ff0000"},"##,
            r##"{"type":"text","width":100,"height":50,"text":"hi","align":"center"}]}"##
        )
    );
}

#[test]
fn validate_gives_the_parsers_located_error_for_bad_values_built_in_code() {
    let bad = Scene::new(100, 100)
        .layer(Layer::rect(Color::WHITE))
        .layer(Layer::rect(Color::WHITE).opacity(1.5));
    assert_eq!(
        bad.validate().unwrap_err().to_string(),
        r#"layer 1 (rect): field "opacity": 1.5 is out of range: expected a number from 0 to 1"#
    );

    // A layer pushed without Scene::layer keeps its unsized 0 width.
    let mut unsized_layer = Scene::new(100, 100);
    unsized_layer.layers.push(Layer::image("a.png"));
    let e = unsized_layer.validate().unwrap_err().to_string();
    assert!(
        e.starts_with(r#"layer 0 (image): field "width": 0 is out of range"#),
        "{e}"
    );

    let nan = Scene::new(100, 100).layer(Layer::rect(Color::WHITE).rotate(f64::NAN));
    let e = nan.validate().unwrap_err().to_string();
    assert_eq!(
        e,
        r#"layer 0 (rect): field "rotate": expected a number, got null (a NaN or an infinity, given in code)"#
    );

    let one_stop = Scene::new(10, 10).layer(Layer::linear_gradient([(0.0, Color::BLACK)]));
    assert!(one_stop
        .validate()
        .unwrap_err()
        .to_string()
        .contains("at least two stops"));

    assert!(Scene::new(0, 10).validate().is_err());
}

#[test]
fn serde_reads_and_writes_a_scene_inside_a_larger_document() {
    #[derive(serde::Serialize, serde::Deserialize)]
    struct Job {
        output: String,
        scene: Scene,
    }
    let job = Job {
        output: "card.png".into(),
        scene: card(3),
    };
    let text = serde_json::to_string(&job).unwrap();
    let back: Job = serde_json::from_str(&text).unwrap();
    assert_eq!(back.scene, job.scene);
    assert_eq!(back.output, "card.png");

    // Deserialize is the strict parser, with its messages.
    let e = serde_json::from_str::<Scene>(r#"{"width": 10, "height": 10, "heigth": 3}"#)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.starts_with(r#"canvas: field "heigth": unknown field"#),
        "{e}"
    );
}

#[test]
fn names_parse_and_print_through_one_table() {
    assert_eq!(Fit::from_name("fill"), Some(Fit::Fill));
    assert_eq!(Align::Center.name(), "center");
    assert_eq!(BlendMode::from_name("normal"), Some(BlendMode::SourceOver));
    for &(name, mode) in <BlendMode as Named>::TABLE {
        let scene = Scene::new(1, 1).layer(Layer::rect(Color::BLACK).blend(mode));
        let parsed = Scene::from_json(&scene.to_json()).unwrap();
        assert_eq!(parsed.layers[0].blend, mode, "{name}");
    }
}

#[test]
fn struct_literals_work_with_the_defaults() {
    use impasto::scene::TextLayer;
    let layer = Layer::new(TextLayer {
        text: "Hello".into(),
        weight: 600,
        ..TextLayer::default()
    })
    .at(5, 5)
    .size(100, 40);
    let LayerKind::Text(t) = &layer.kind else {
        panic!()
    };
    assert_eq!((t.size, t.color, t.line_height), (32.0, Color::BLACK, 1.2));
}

/// A text layer built without a size is measured unbounded (not wrapped):
/// as in the largest box the format allows. A size of 0 given is refused.
#[test]
fn measure_text_of_an_unsized_layer_is_its_unwrapped_text_and_a_zero_size_is_refused() {
    let r = impasto::Renderer::new(impasto::Backend::Cpu)
        .unwrap()
        .with_system_fonts(false);
    let text = "A title long enough to wrap in a small box";
    let unbounded = r.measure_text(&Layer::text(text, 30)).unwrap();
    let huge = r
        .measure_text(&Layer::text(text, 30).size(1.0e6, 1.0e6))
        .unwrap();
    assert_eq!(unbounded.lines, huge.lines);
    assert_eq!(unbounded.lines.len(), 1);
    assert!(!unbounded.truncated);
    let narrow = r
        .measure_text(&Layer::text(text, 30).size(150, 1.0e6))
        .unwrap();
    assert!(narrow.lines.len() > 1);
    let e = r
        .measure_text(&Layer::text(text, 30).size(0, 40))
        .unwrap_err()
        .to_string();
    assert!(e.contains("field \"width\""), "{e}");
}
