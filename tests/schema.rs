//! The scene format's JSON Schema, `docs/scene.schema.json`, against the
//! parser, `impasto::Scene::from_json`, with an independent validator (the
//! `jsonschema` crate):
//!
//! - the schema is a valid draft 2020-12 schema, and `impasto schema` prints it;
//! - every scene of the repository (the sample poster, the golden scenes, the
//!   scene literals in the sources, the scenes the tests' random generators
//!   make) and hand-written scenes that use every field and every enumerated
//!   value pass both;
//! - a list of invalid scenes is refused by both, each for a named reason;
//! - random mutations of the poster and every scene literal in the sources
//!   get the same verdict from both;
//! - the schema's defaults are the parser's defaults;
//! - the one check only the parser can make (stop offsets that decrease) is
//!   refused by the parser and passes the schema, as `docs/scene-format.md`
//!   says.
//!
//! Longer than the house's 600 lines on purpose: most of it is data (about
//! a hundred named invalid scenes, each with the parser's expected message,
//! and hand-written scenes covering every field and enumerated value), which
//! reads best as one list beside the checks that use it.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use impasto::Scene;
use jsonschema::Validator;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

const SCHEMA_TEXT: &str = include_str!("../docs/scene.schema.json");

/// What the parser refuses and JSON Schema cannot express; a scene refused
/// for one of these reasons may pass the schema (`docs/scene-format.md`,
/// "Validation", lists them).
const PARSER_ONLY_CHECKS: &[&str] = &["offsets must not decrease"];

fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA
        .get_or_init(|| serde_json::from_str(SCHEMA_TEXT).expect("docs/scene.schema.json is JSON"))
}

fn validator() -> &'static Validator {
    static VALIDATOR: OnceLock<Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        jsonschema::draft202012::new(schema())
            .unwrap_or_else(|e| panic!("docs/scene.schema.json does not compile: {e}"))
    })
}

/// The schema's objections to `scene`, one line each; empty when it passes.
fn schema_errors(scene: &Value) -> Vec<String> {
    validator()
        .iter_errors(scene)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// The parser's verdict on `scene`, given as JSON text as a user would.
fn parse(scene: &Value) -> Result<Scene, String> {
    Scene::from_json(&scene.to_string()).map_err(|e| e.to_string())
}

/// Asserts that both the schema and the parser accept `scene`.
fn assert_valid(name: &str, scene: &Value) {
    let errors = schema_errors(scene);
    assert!(
        errors.is_empty(),
        "{name}: the schema refuses a scene the parser should accept: {errors:#?}\n{scene}"
    );
    if let Err(e) = parse(scene) {
        panic!("{name}: the parser refuses a scene the schema accepts: {e}\n{scene}");
    }
}

/// True when the parser's message names a check the schema cannot make.
fn is_parser_only(message: &str) -> bool {
    PARSER_ONLY_CHECKS.iter().any(|c| message.contains(c))
}

/// Asserts that the schema and the parser give `scene` the same verdict
/// (allowing the parser to refuse for a parser-only reason); returns whether
/// the parser accepted it.
fn assert_same_verdict(name: &str, scene: &Value) -> bool {
    let errors = schema_errors(scene);
    let parsed = parse(scene);
    match &parsed {
        Ok(_) => assert!(
            errors.is_empty(),
            "{name}: the parser accepts it but the schema refuses it: {errors:#?}\n{scene}"
        ),
        Err(e) => assert!(
            !errors.is_empty() || is_parser_only(e),
            "{name}: the parser refuses it ({e}) but the schema accepts it\n{scene}"
        ),
    }
    parsed.is_ok()
}

fn repo_path(rel: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn read_json(rel: &str) -> Value {
    let text = std::fs::read_to_string(repo_path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// A 16 x 12 canvas holding `layers`.
fn canvas(layers: Value) -> Value {
    json!({"width": 16, "height": 12, "layers": layers})
}

/// A 16 x 12 canvas holding one layer.
fn one_layer(layer: Value) -> Value {
    canvas(json!([layer]))
}

fn two_stops() -> Value {
    json!([{"offset": 0, "color": "#000"}, {"offset": 1, "color": "#fff"}])
}

// ---------------------------------------------------------------------------
// The schema itself

#[test]
fn schema_is_a_valid_draft_2020_12_schema() {
    assert_eq!(
        schema()["$schema"],
        "https://json-schema.org/draft/2020-12/schema",
        "the schema declares draft 2020-12"
    );
    if let Err(e) = jsonschema::draft202012::meta::validate(schema()) {
        panic!("docs/scene.schema.json is not a valid draft 2020-12 schema: {e}");
    }
    // And it compiles (every $ref resolves, every pattern is a regex).
    validator();
}

#[test]
fn schema_blend_names_are_the_parsers_28_names_in_order() {
    let names: Vec<&str> = schema()["$defs"]["blend"]["enum"]
        .as_array()
        .expect("$defs.blend.enum")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(names, impasto::BlendMode::NAMES);
    assert_eq!(names.len(), 28);
    assert_eq!(common::BLEND_NAMES, impasto::BlendMode::NAMES);
}

#[test]
fn schema_layer_types_each_have_a_definition_chosen_by_type() {
    let types: Vec<&str> = schema()["$defs"]["layer"]["properties"]["type"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "rect",
            "linear-gradient",
            "radial-gradient",
            "image",
            "text"
        ]
    );
    let branches = schema()["$defs"]["layer"]["allOf"].as_array().unwrap();
    for t in &types {
        let branch = branches
            .iter()
            .find(|b| b["if"]["properties"]["type"]["const"] == *t)
            .unwrap_or_else(|| panic!("no if/then branch for {t}"));
        let target = branch["then"]["$ref"].as_str().unwrap();
        let def = &schema()["$defs"][target.trim_start_matches("#/$defs/")];
        assert_eq!(def["properties"]["type"]["const"], *t, "{target}");
        assert_eq!(def["additionalProperties"], false, "{target} is closed");
    }
}

#[test]
fn impasto_schema_prints_the_schema_file() {
    let out = Command::new(env!("CARGO_BIN_EXE_impasto"))
        .arg("schema")
        .output()
        .expect("run impasto schema");
    assert!(
        out.status.success(),
        "impasto schema failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: Value = serde_json::from_slice(&out.stdout).expect("impasto schema prints JSON");
    assert_eq!(&printed, schema());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), SCHEMA_TEXT);
}

#[test]
fn impasto_help_points_to_the_format_reference_and_lists_every_backend() {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_impasto"))
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "impasto {args:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let help = run(&["--help"]);
    assert!(help.contains("docs/scene-format.md"), "{help}");
    assert!(!help.contains("shared/spec"), "{help}");
    assert!(help.contains("schema"), "{help}");
    let render = run(&["render", "--help"]);
    for value in ["auto", "cpu", "gpu"] {
        assert!(render.contains(value), "{value} in {render}");
    }
    assert!(render.contains("[default: auto]"), "{render}");
}

// ---------------------------------------------------------------------------
// Valid scenes

#[test]
fn poster_example_passes_schema_and_parser() {
    assert_valid(
        "examples/poster/poster.json",
        &read_json("examples/poster/poster.json"),
    );
}

#[test]
fn every_golden_scene_passes_schema_and_parser() {
    let golden = read_json("tests/golden/scenes.json");
    let scenes = golden
        .as_object()
        .expect("tests/golden/scenes.json maps names to scenes");
    assert!(scenes.len() >= 10, "only {} golden scenes", scenes.len());
    for (name, scene) in scenes {
        assert_valid(&format!("golden scene {name:?}"), scene);
    }
}

#[test]
fn random_scenes_of_the_test_generators_pass_schema_and_parser() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5c4e_3a00);
    for i in 0..200 {
        assert_valid(
            &format!("random_full_scene #{i}"),
            &common::random_full_scene(&mut rng),
        );
    }
    let dir = tempfile::tempdir().unwrap();
    for space in ["srgb", "linear"] {
        for blend in common::BLEND_NAMES {
            let scene = common::random_exact_scene(&mut rng, dir.path(), blend, space);
            assert_valid(&format!("random_exact_scene {space} {blend}"), &scene);
        }
    }
}

/// Scenes written to use every field of every layer type, every enumerated
/// value, every colour syntax and the bounds of every range.
fn hand_written_valid_scenes() -> Vec<(&'static str, Value)> {
    let every_blend: Vec<Value> = impasto::BlendMode::NAMES
        .iter()
        .map(|b| json!({"type": "rect", "color": "#80808080", "blend": b}))
        .collect();
    let mut every_fit_and_filter = Vec::new();
    for fit in ["cover", "contain", "fill", "none"] {
        for filter in ["lanczos3", "bilinear", "nearest"] {
            every_fit_and_filter
                .push(json!({"type": "image", "src": "a.png", "fit": fit, "filter": filter}));
        }
    }
    let mut every_alignment = Vec::new();
    for align in ["left", "center", "right", "start", "end"] {
        for valign in ["top", "middle", "bottom"] {
            every_alignment
                .push(json!({"type": "text", "text": "Ag", "align": align, "valign": valign}));
        }
    }
    vec![
        ("smallest scene", json!({"width": 1, "height": 1})),
        (
            "scene naming its schema for editors",
            json!({"$schema": "./scene.schema.json", "width": 1, "height": 1}),
        ),
        ("largest canvas", json!({"width": 16384, "height": 16384})),
        (
            "canvas sides written as floats with a zero fraction",
            serde_json::from_str(r#"{"width": 100.0, "height": 1e2}"#).unwrap(),
        ),
        (
            "every canvas field",
            json!({"width": 20, "height": 10, "background": "#f4efe6", "blend_space": "linear", "animate": true, "layers": []}),
        ),
        ("srgb blend space", json!({"width": 2, "height": 2, "blend_space": "srgb"})),
        (
            "every colour syntax",
            json!({"width": 4, "height": 4, "background": "#ABC", "layers": [
                {"type": "rect", "color": "#abcd"},
                {"type": "rect", "color": "#AaBbCc"},
                {"type": "rect", "color": "#00000000"},
                {"type": "rect", "color": "#FFFFFFFF"}]}),
        ),
        ("every blend name", canvas(Value::Array(every_blend))),
        (
            "rect with every common field at the low end of its range",
            one_layer(json!({"type": "rect", "color": "#fff", "x": -1_000_000, "y": -1_000_000,
                "width": 1e-9, "height": 1e-9, "opacity": 0, "blend": "normal", "corner_radius": 0,
                "rotate": -1_000_000, "visible": false})),
        ),
        (
            "rect with every common field at the high end of its range",
            one_layer(json!({"type": "rect", "color": "#fff", "x": 1_000_000, "y": 1_000_000,
                "width": 1_000_000, "height": 1_000_000, "opacity": 1, "blend": "luminosity",
                "corner_radius": 1_000_000, "rotate": 1_000_000, "visible": true})),
        ),
        (
            "linear gradient with every field, equal offsets",
            one_layer(json!({"type": "linear-gradient", "x": 1.5, "y": 2.25, "width": 10, "height": 5,
                "opacity": 0.5, "blend": "multiply", "corner_radius": 2, "rotate": 30, "visible": false, "angle": -45.5,
                "stops": [{"offset": 0, "color": "#000"}, {"offset": 0.5, "color": "#f00"},
                          {"offset": 0.5, "color": "#0f0"}, {"offset": 1, "color": "#00f"}]})),
        ),
        (
            "linear gradient angle bounds",
            canvas(json!([
                {"type": "linear-gradient", "angle": -1_000_000, "stops": two_stops()},
                {"type": "linear-gradient", "angle": 1_000_000, "stops": two_stops()}])),
        ),
        (
            "radial gradient with every field",
            one_layer(json!({"type": "radial-gradient", "x": -3, "y": 4, "width": 20, "height": 8,
                "opacity": 0.25, "blend": "screen", "corner_radius": 4, "rotate": -90, "visible": true,
                "center": [-0.5, 1.5], "radius": 7.5,
                "stops": [{"offset": 0.2, "color": "#ffd27a90"}, {"offset": 0.2, "color": "#ffd27a00"}]})),
        ),
        (
            "radial gradient bounds",
            canvas(json!([
                {"type": "radial-gradient", "center": [-1_000_000, 1_000_000],
                 "radius": f64::MIN_POSITIVE, "stops": two_stops()},
                {"type": "radial-gradient", "radius": 1_000_000, "stops": two_stops()}])),
        ),
        (
            "image with every field",
            one_layer(json!({"type": "image", "src": "photos/coffee.jpg", "x": 0, "y": 0,
                "width": 16, "height": 9, "opacity": 0.95, "blend": "source-atop", "corner_radius": 3,
                "rotate": 12, "visible": false, "fit": "contain", "position": [0, 1], "filter": "bilinear",
                "frame": 2})),
        ),
        (
            "image position bounds",
            canvas(json!([
                {"type": "image", "src": "a.png", "position": [-1_000_000, 1_000_000]},
                {"type": "image", "src": "../parsed-but-refused-when-rendered.png", "position": [0.5, 0.4]}])),
        ),
        ("image every fit and filter", canvas(Value::Array(every_fit_and_filter))),
        (
            "text with every field",
            one_layer(json!({"type": "text", "text": "Summer Sale\nline two", "x": 1, "y": 2,
                "width": 14, "height": 10, "opacity": 0.8, "blend": "difference", "corner_radius": 1,
                "rotate": 5, "visible": true, "size": 96, "color": "#1d1d1f", "font": "Inter", "weight": 700,
                "style": "italic", "align": "center", "valign": "middle", "line_height": 1.3,
                "max_lines": 2, "overflow": "ellipsis", "min_size": 12, "letter_spacing": -0.5})),
        ),
        (
            "text bounds",
            canvas(json!([
                {"type": "text", "text": "", "size": 0.01, "weight": 100, "line_height": 0.01, "style": "normal",
                 "max_lines": 1, "min_size": 0.01, "letter_spacing": -1000, "overflow": "clip"},
                {"type": "text", "text": "夏 🌞", "size": 10000, "weight": 900, "line_height": 100,
                 "max_lines": 100000, "min_size": 10000, "letter_spacing": 1000, "overflow": "shrink"}])),
        ),
        (
            "text weight written as a float with a zero fraction",
            serde_json::from_str(r#"{"width": 4, "height": 4, "layers": [{"type": "text", "text": "a", "weight": 700.0}]}"#)
                .unwrap(),
        ),
        ("text every alignment", canvas(Value::Array(every_alignment))),
    ]
}

#[test]
fn hand_written_scenes_pass_schema_and_parser() {
    for (name, scene) in hand_written_valid_scenes() {
        assert_valid(name, &scene);
    }
}

/// Every object member `key: value` in `v`, recursively.
fn members<'a>(v: &'a Value, out: &mut Vec<(&'a str, &'a Value)>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                out.push((k.as_str(), x));
                members(x, out);
            }
        }
        Value::Array(arr) => arr.iter().for_each(|x| members(x, out)),
        _ => {}
    }
}

/// Every `enum` in the schema, by the name of the property (or definition)
/// that holds it.
fn schema_enums<'a>(v: &'a Value, key: &'a str, out: &mut Vec<(&'a str, &'a Value)>) {
    if let Value::Object(map) = v {
        if let Some(e) = map.get("enum") {
            out.push((key, e));
        }
        for (k, x) in map {
            let name = if k == "properties" || k == "$defs" {
                key
            } else {
                k.as_str()
            };
            schema_enums(x, name, out);
        }
    }
}

#[test]
fn hand_written_scenes_use_every_field_enumerated_value_and_colour_syntax() {
    let scenes: Vec<Value> = hand_written_valid_scenes()
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    let all = Value::Array(scenes);
    let mut used = Vec::new();
    members(&all, &mut used);

    // Every value of every enum, under its property name.
    let mut enums = Vec::new();
    schema_enums(schema(), "", &mut enums);
    let mut checked = 0;
    for (key, values) in enums {
        for value in values.as_array().unwrap() {
            assert!(
                used.iter().any(|(k, v)| *k == key && *v == value),
                "no hand-written scene uses {key}: {value}"
            );
            checked += 1;
        }
    }
    // 2 blend spaces, 5 layer types, 28 blend names, 4 fits, 3 filters,
    // 2 styles, 5 aligns, 3 valigns, 3 overflows.
    assert_eq!(checked, 55, "enumerated values checked");

    // Every field of the canvas and of every layer type.
    let defs = schema()["$defs"].as_object().unwrap();
    for field in schema()["properties"].as_object().unwrap().keys() {
        assert!(
            all.as_array()
                .unwrap()
                .iter()
                .any(|s| s.get(field).is_some()),
            "no hand-written scene sets the canvas field {field}"
        );
    }
    for def in defs
        .values()
        .filter(|d| d["properties"]["type"].get("const").is_some())
    {
        let t = &def["properties"]["type"]["const"];
        for field in def["properties"].as_object().unwrap().keys() {
            assert!(
                used.iter().any(|(k, v)| *k == "layers"
                    && v.as_array()
                        .unwrap()
                        .iter()
                        .any(|l| l["type"] == *t && l.get(field).is_some())),
                "no hand-written {t} layer sets {field}"
            );
        }
    }

    // Every colour syntax: 3, 4, 6 and 8 digits, both cases.
    let colours: Vec<&str> = used
        .iter()
        .filter(|(k, _)| *k == "color" || *k == "background")
        .filter_map(|(_, v)| v.as_str())
        .collect();
    for digits in [3, 4, 6, 8] {
        assert!(
            colours.iter().any(|c| c.len() == digits + 1),
            "#{digits} digits"
        );
    }
    assert!(colours
        .iter()
        .any(|c| c.chars().any(|ch| ch.is_ascii_uppercase())));
}

// ---------------------------------------------------------------------------
// The schema's defaults

/// The smallest valid layer of each type.
fn minimal_layer(t: &str) -> Value {
    match t {
        "rect" => json!({"type": "rect", "color": "#fff"}),
        "linear-gradient" | "radial-gradient" => json!({"type": t, "stops": two_stops()}),
        "image" => json!({"type": "image", "src": "a.png"}),
        "text" => json!({"type": "text", "text": "a"}),
        other => panic!("unknown layer type {other}"),
    }
}

/// The `default` of a property: on the property itself, or on the
/// definition it refers to.
fn default_of(property: &Value) -> Option<&Value> {
    property.get("default").or_else(|| {
        let target = property.get("$ref")?.as_str()?;
        schema()["$defs"][target.trim_start_matches("#/$defs/")].get("default")
    })
}

#[test]
fn schema_defaults_are_the_parsers_defaults() {
    let mut checked = 0;
    // Canvas fields.
    let bare = json!({"width": 4, "height": 3});
    for (field, property) in schema()["properties"].as_object().unwrap() {
        let Some(default) = default_of(property) else {
            continue;
        };
        let mut with = bare.clone();
        with[field] = default.clone();
        assert_valid(&format!("canvas {field}: default"), &with);
        assert_eq!(
            parse(&with),
            parse(&bare),
            "canvas {field}: default {default}"
        );
        checked += 1;
    }
    // Layer fields, per type.
    for def in schema()["$defs"].as_object().unwrap().values() {
        let Some(t) = def["properties"]["type"]["const"].as_str() else {
            continue;
        };
        let bare = one_layer(minimal_layer(t));
        for (field, property) in def["properties"].as_object().unwrap() {
            let Some(default) = default_of(property) else {
                continue;
            };
            let mut with = bare.clone();
            with["layers"][0][field] = default.clone();
            assert_valid(&format!("{t} {field}: default"), &with);
            assert_eq!(
                parse(&with),
                parse(&bare),
                "{t} layer {field}: default {default}"
            );
            checked += 1;
        }
    }
    // 4 canvas fields; x, y, opacity, blend, corner_radius, rotate, visible
    // on 5 types; angle; center; fit, position, filter; size, color, weight,
    // style, align, valign, line_height, overflow, letter_spacing.
    assert_eq!(checked, 4 + 7 * 5 + 1 + 1 + 3 + 9, "defaults checked");
}

// ---------------------------------------------------------------------------
// Invalid scenes

/// Scenes that break the format in a way JSON Schema can express: each is
/// refused by both. The third item is what the parser's message must
/// contain, so that it refuses the scene for the intended reason.
fn invalid_scenes() -> Vec<(&'static str, Value, &'static str)> {
    let rect = |extra: Value| {
        let mut l = json!({"type": "rect", "color": "#fff"});
        for (k, v) in extra.as_object().unwrap() {
            l[k] = v.clone();
        }
        one_layer(l)
    };
    let stops = |s: Value| one_layer(json!({"type": "linear-gradient", "stops": s}));
    let text = |extra: Value| {
        let mut l = json!({"type": "text", "text": "a"});
        for (k, v) in extra.as_object().unwrap() {
            l[k] = v.clone();
        }
        one_layer(l)
    };
    let image = |extra: Value| {
        let mut l = json!({"type": "image", "src": "a.png"});
        for (k, v) in extra.as_object().unwrap() {
            l[k] = v.clone();
        }
        one_layer(l)
    };
    let radial = |extra: Value| {
        let mut l = json!({"type": "radial-gradient", "stops": two_stops()});
        for (k, v) in extra.as_object().unwrap() {
            l[k] = v.clone();
        }
        one_layer(l)
    };
    vec![
        // The document and the canvas.
        (
            "document is an array",
            json!([{"width": 1, "height": 1}]),
            "expected a JSON object",
        ),
        (
            "document is a string",
            json!("scene"),
            "expected a JSON object",
        ),
        (
            "missing width",
            json!({"height": 10}),
            "field \"width\": missing",
        ),
        (
            "missing height",
            json!({"width": 10}),
            "field \"height\": missing",
        ),
        (
            "width 0",
            json!({"width": 0, "height": 10}),
            "field \"width\": 0 is out of range",
        ),
        (
            "width 16385",
            json!({"width": 16385, "height": 10}),
            "field \"width\": 16385 is out of range",
        ),
        (
            "height -1",
            json!({"width": 10, "height": -1}),
            "field \"height\"",
        ),
        (
            "fractional width",
            json!({"width": 10.5, "height": 10}),
            "expected an integer",
        ),
        (
            "width as a string",
            json!({"width": "10", "height": 10}),
            "field \"width\": expected a number",
        ),
        (
            "width null",
            json!({"width": null, "height": 10}),
            "field \"width\": expected a number",
        ),
        (
            "unknown canvas field",
            json!({"width": 10, "height": 10, "colour": "#fff"}),
            "field \"colour\": unknown field",
        ),
        (
            "$schema that is not a string",
            json!({"$schema": 3, "width": 10, "height": 10}),
            "field \"$schema\": expected a string",
        ),
        (
            "$schema on a layer",
            json!({"width": 10, "height": 10, "layers": [{"type": "rect", "color": "#fff", "$schema": "x"}]}),
            "field \"$schema\": unknown field",
        ),
        (
            "unknown blend space",
            json!({"width": 10, "height": 10, "blend_space": "rgb"}),
            "field \"blend_space\"",
        ),
        (
            "blend space in capitals",
            json!({"width": 10, "height": 10, "blend_space": "SRGB"}),
            "field \"blend_space\"",
        ),
        // Colours.
        (
            "colour name",
            json!({"width": 10, "height": 10, "background": "blue"}),
            "field \"background\"",
        ),
        (
            "colour without #",
            json!({"width": 10, "height": 10, "background": "ffffff"}),
            "field \"background\"",
        ),
        (
            "colour with 5 digits",
            json!({"width": 10, "height": 10, "background": "#12345"}),
            "field \"background\"",
        ),
        (
            "colour with 7 digits",
            json!({"width": 10, "height": 10, "background": "#1234567"}),
            "field \"background\"",
        ),
        (
            "colour with 9 digits",
            json!({"width": 10, "height": 10, "background": "#123456789"}),
            "field \"background\"",
        ),
        (
            "colour with a non-hex digit",
            json!({"width": 10, "height": 10, "background": "#ggg"}),
            "field \"background\"",
        ),
        (
            "colour with a trailing space",
            json!({"width": 10, "height": 10, "background": "#fff "}),
            "field \"background\"",
        ),
        (
            "colour with a trailing newline",
            json!({"width": 10, "height": 10, "background": "#fff\n"}),
            "field \"background\"",
        ),
        (
            "colour #",
            json!({"width": 10, "height": 10, "background": "#"}),
            "field \"background\"",
        ),
        (
            "colour rgb()",
            json!({"width": 10, "height": 10, "background": "rgb(0,0,0)"}),
            "field \"background\"",
        ),
        (
            "colour as a number",
            rect(json!({"color": 16777215})),
            "field \"color\": expected a string",
        ),
        // Layers in general.
        (
            "layers is an object",
            json!({"width": 10, "height": 10, "layers": {}}),
            "field \"layers\": expected an array",
        ),
        (
            "layer is a string",
            canvas(json!(["rect"])),
            "layer 0: expected a JSON object",
        ),
        (
            "layer without type",
            one_layer(json!({"color": "#fff"})),
            "field \"type\": missing",
        ),
        (
            "unknown layer type",
            one_layer(json!({"type": "circle"})),
            "is not a layer type",
        ),
        (
            "layer type in capitals",
            one_layer(json!({"type": "Rect", "color": "#fff"})),
            "is not a layer type",
        ),
        (
            "layer type as a number",
            one_layer(json!({"type": 1})),
            "is not a layer type",
        ),
        (
            "unknown field (typo)",
            rect(json!({"heigth": 4})),
            "field \"heigth\": unknown field for a rect layer",
        ),
        (
            "field of another layer type",
            rect(json!({"src": "a.png"})),
            "field \"src\": unknown field for a rect layer",
        ),
        (
            "rect without color",
            one_layer(json!({"type": "rect"})),
            "field \"color\": missing",
        ),
        (
            "x as a string",
            rect(json!({"x": "10"})),
            "field \"x\": expected a number",
        ),
        (
            "x beyond MAX_COORD",
            rect(json!({"x": 1_000_001})),
            "field \"x\"",
        ),
        (
            "y below -MAX_COORD",
            rect(json!({"y": -1_000_001})),
            "field \"y\"",
        ),
        (
            "layer width 0",
            rect(json!({"width": 0})),
            "field \"width\"",
        ),
        (
            "layer height negative",
            rect(json!({"height": -5})),
            "field \"height\"",
        ),
        (
            "layer width beyond MAX_COORD",
            rect(json!({"width": 1_000_001})),
            "field \"width\"",
        ),
        (
            "opacity 1.5",
            rect(json!({"opacity": 1.5})),
            "field \"opacity\": 1.5 is out of range",
        ),
        (
            "opacity -0.1",
            rect(json!({"opacity": -0.1})),
            "field \"opacity\"",
        ),
        (
            "opacity null",
            rect(json!({"opacity": null})),
            "field \"opacity\": expected a number",
        ),
        (
            "opacity as a percentage string",
            rect(json!({"opacity": "50%"})),
            "field \"opacity\"",
        ),
        (
            "unknown blend name",
            rect(json!({"blend": "burn"})),
            "field \"blend\": \"burn\" is not a blend name",
        ),
        (
            "blend name in capitals",
            rect(json!({"blend": "Multiply"})),
            "field \"blend\"",
        ),
        (
            "blend name plus",
            rect(json!({"blend": "plus"})),
            "field \"blend\"",
        ),
        (
            "negative corner radius",
            rect(json!({"corner_radius": -1})),
            "field \"corner_radius\"",
        ),
        (
            "rotate beyond MAX_COORD",
            rect(json!({"rotate": 2e6})),
            "field \"rotate\"",
        ),
        (
            "rotate as a boolean",
            rect(json!({"rotate": true})),
            "field \"rotate\": expected a number",
        ),
        (
            "visible as a string",
            rect(json!({"visible": "false"})),
            "field \"visible\": expected true or false",
        ),
        // Gradients.
        (
            "gradient without stops",
            one_layer(json!({"type": "linear-gradient"})),
            "field \"stops\": missing",
        ),
        (
            "one stop",
            stops(json!([{"offset": 0, "color": "#000"}])),
            "expected at least two stops, got 1",
        ),
        (
            "no stops",
            stops(json!([])),
            "expected at least two stops, got 0",
        ),
        (
            "stops is an object",
            stops(json!({"offset": 0, "color": "#000"})),
            "field \"stops\": expected an array",
        ),
        (
            "stop is a string",
            stops(json!(["#000", "#fff"])),
            "field \"stops[0]\"",
        ),
        (
            "stop offset 1.5",
            stops(json!([{"offset": 0, "color": "#000"}, {"offset": 1.5, "color": "#fff"}])),
            "field \"stops[1].offset\"",
        ),
        (
            "stop offset negative",
            stops(json!([{"offset": -0.5, "color": "#000"}, {"offset": 1, "color": "#fff"}])),
            "field \"stops[0].offset\"",
        ),
        (
            "stop without offset",
            stops(json!([{"color": "#000"}, {"offset": 1, "color": "#fff"}])),
            "field \"stops[0].offset\": missing",
        ),
        (
            "stop without color",
            stops(json!([{"offset": 0}, {"offset": 1, "color": "#fff"}])),
            "field \"stops[0].color\": missing",
        ),
        (
            "stop with a bad colour",
            stops(json!([{"offset": 0, "color": "#00000g"}, {"offset": 1, "color": "#fff"}])),
            "field \"stops[0].color\"",
        ),
        (
            "stop with an unknown field",
            stops(
                json!([{"offset": 0, "color": "#000", "position": 0}, {"offset": 1, "color": "#fff"}]),
            ),
            "field \"stops[0].position\": unknown field",
        ),
        (
            "angle as a string",
            one_layer(json!({"type": "linear-gradient", "angle": "90deg", "stops": two_stops()})),
            "field \"angle\"",
        ),
        (
            "angle beyond MAX_COORD",
            one_layer(json!({"type": "linear-gradient", "angle": -1e7, "stops": two_stops()})),
            "field \"angle\"",
        ),
        (
            "center on a linear gradient",
            one_layer(
                json!({"type": "linear-gradient", "center": [0.5, 0.5], "stops": two_stops()}),
            ),
            "field \"center\": unknown field",
        ),
        ("radius 0", radial(json!({"radius": 0})), "field \"radius\""),
        (
            "radius negative",
            radial(json!({"radius": -1})),
            "field \"radius\"",
        ),
        (
            "radius null",
            radial(json!({"radius": null})),
            "field \"radius\": expected a number",
        ),
        (
            "center with one number",
            radial(json!({"center": [0.5]})),
            "field \"center\"",
        ),
        (
            "center with three numbers",
            radial(json!({"center": [0.5, 0.5, 0.5]})),
            "field \"center\"",
        ),
        (
            "center with a string",
            radial(json!({"center": ["left", 0]})),
            "field \"center\"",
        ),
        (
            "center as an object",
            radial(json!({"center": {"x": 0.5, "y": 0.5}})),
            "field \"center\"",
        ),
        (
            "angle on a radial gradient",
            radial(json!({"angle": 90})),
            "field \"angle\": unknown field",
        ),
        // Images.
        (
            "image without src",
            one_layer(json!({"type": "image"})),
            "field \"src\": missing",
        ),
        (
            "image with an empty src",
            image(json!({"src": ""})),
            "field \"src\": is empty",
        ),
        (
            "image src as a number",
            image(json!({"src": 5})),
            "field \"src\": expected a string",
        ),
        (
            "unknown fit",
            image(json!({"fit": "stretch"})),
            "field \"fit\"",
        ),
        (
            "unknown filter",
            image(json!({"filter": "bicubic"})),
            "field \"filter\"",
        ),
        (
            "negative frame",
            image(json!({"frame": -1})),
            "field \"frame\"",
        ),
        (
            "fractional frame",
            image(json!({"frame": 1.5})),
            "field \"frame\"",
        ),
        (
            "position beyond MAX_COORD",
            image(json!({"position": [2e6, 0]})),
            "field \"position\"",
        ),
        (
            "position with one number",
            image(json!({"position": [1]})),
            "field \"position\"",
        ),
        (
            "color on an image",
            image(json!({"color": "#fff"})),
            "field \"color\": unknown field",
        ),
        // Text.
        (
            "text layer without text",
            one_layer(json!({"type": "text"})),
            "field \"text\": missing",
        ),
        (
            "text as a number",
            text(json!({"text": 42})),
            "field \"text\": expected a string",
        ),
        (
            "text null",
            text(json!({"text": null})),
            "field \"text\": expected a string",
        ),
        (
            "weight 950",
            text(json!({"weight": 950})),
            "field \"weight\"",
        ),
        ("weight 50", text(json!({"weight": 50})), "field \"weight\""),
        (
            "fractional weight",
            text(json!({"weight": 450.5})),
            "field \"weight\": expected an integer",
        ),
        (
            "weight as a name",
            text(json!({"weight": "bold"})),
            "field \"weight\"",
        ),
        (
            "unknown style",
            text(json!({"style": "oblique"})),
            "field \"style\"",
        ),
        (
            "unknown align",
            text(json!({"align": "justify"})),
            "field \"align\"",
        ),
        (
            "valign center instead of middle",
            text(json!({"valign": "center"})),
            "field \"valign\"",
        ),
        ("text size 0", text(json!({"size": 0})), "field \"size\""),
        (
            "text size over 10000",
            text(json!({"size": 10001})),
            "field \"size\"",
        ),
        (
            "line height 0",
            text(json!({"line_height": 0})),
            "field \"line_height\"",
        ),
        (
            "line height over 100",
            text(json!({"line_height": 101})),
            "field \"line_height\"",
        ),
        (
            "max_lines 0",
            text(json!({"max_lines": 0})),
            "field \"max_lines\"",
        ),
        (
            "fractional max_lines",
            text(json!({"max_lines": 2.5})),
            "field \"max_lines\": expected an integer",
        ),
        (
            "max_lines over 100000",
            text(json!({"max_lines": 100001})),
            "field \"max_lines\"",
        ),
        (
            "unknown overflow",
            text(json!({"overflow": "scroll"})),
            "field \"overflow\"",
        ),
        (
            "min_size 0",
            text(json!({"min_size": 0})),
            "field \"min_size\"",
        ),
        (
            "letter_spacing beyond -1000",
            text(json!({"letter_spacing": -1001})),
            "field \"letter_spacing\"",
        ),
        (
            "letter_spacing as a string",
            text(json!({"letter_spacing": "1px"})),
            "field \"letter_spacing\"",
        ),
        (
            "empty font",
            text(json!({"font": ""})),
            "field \"font\": is empty",
        ),
        (
            "font as a list",
            text(json!({"font": ["Inter", "sans-serif"]})),
            "field \"font\"",
        ),
        (
            "stops on a text layer",
            text(json!({"stops": two_stops()})),
            "field \"stops\": unknown field for a text layer",
        ),
        (
            "italic as a boolean field",
            text(json!({"italic": true})),
            "field \"italic\": unknown field",
        ),
    ]
}

#[test]
fn invalid_scenes_are_refused_by_schema_and_parser_each_for_its_reason() {
    let cases = invalid_scenes();
    assert!(cases.len() >= 25, "only {} invalid scenes", cases.len());
    let mut names = std::collections::HashSet::new();
    for (name, scene, needle) in &cases {
        assert!(names.insert(*name), "two cases named {name:?}");
        assert!(
            !schema_errors(scene).is_empty(),
            "{name}: the schema accepts an invalid scene\n{scene}"
        );
        match parse(scene) {
            Ok(_) => panic!("{name}: the parser accepts an invalid scene\n{scene}"),
            Err(e) => assert!(
                e.contains(needle),
                "{name}: the parser refuses it, but not for the intended reason: {e:?} should contain {needle:?}"
            ),
        }
    }
}

#[test]
fn invalid_json_and_numbers_beyond_f64_are_refused_by_the_parser() {
    // Not schema questions (no JSON value exists), but part of the contract.
    for (name, text) in [
        ("truncated document", r#"{"width": 10,"#),
        ("trailing comma", r#"{"width": 10, "height": 10,}"#),
        (
            "NaN",
            r##"{"width": 10, "height": 10, "layers": [{"type": "rect", "color": "#fff", "x": NaN}]}"##,
        ),
        (
            "number beyond f64",
            r##"{"width": 10, "height": 10, "layers": [{"type": "rect", "color": "#fff", "x": 1e400}]}"##,
        ),
    ] {
        let e = Scene::from_json(text).expect_err(name).to_string();
        assert!(e.starts_with("scene: invalid JSON"), "{name}: {e}");
    }
}

#[test]
fn duplicate_keys_are_refused_by_the_parser() {
    let e = Scene::from_json(r#"{"width": 0, "height": 10, "width": 20}"#)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("scene: invalid JSON: duplicate key \"width\""),
        "{e}"
    );
}

// ---------------------------------------------------------------------------
// What only the parser checks

#[test]
fn decreasing_stop_offsets_are_refused_by_the_parser_though_the_schema_passes_them() {
    let cases = [
        (
            "linear gradient, second offset below the first",
            one_layer(json!({"type": "linear-gradient", "stops": [
                {"offset": 0.5, "color": "#000"}, {"offset": 0.2, "color": "#fff"}]})),
            "field \"stops[1].offset\"",
        ),
        (
            "radial gradient, last offset below the middle one",
            one_layer(json!({"type": "radial-gradient", "stops": [
                {"offset": 0, "color": "#000"}, {"offset": 1, "color": "#888"}, {"offset": 0.9, "color": "#fff"}]})),
            "field \"stops[2].offset\"",
        ),
    ];
    for (name, scene, needle) in cases {
        let errors = schema_errors(&scene);
        assert!(
            errors.is_empty(),
            "{name}: the schema now refuses it; move it to invalid_scenes: {errors:?}"
        );
        let e = parse(&scene).expect_err(name);
        assert!(e.contains(needle) && is_parser_only(&e), "{name}: {e}");
    }
}

// ---------------------------------------------------------------------------
// Agreement on scenes nobody picked by hand

/// The raw string literals (`r"..."`, `r#"..."#`, ...) of a Rust source file.
fn raw_string_literals(src: &str) -> Vec<&str> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts = bytes[i] == b'r'
            && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_'));
        if starts {
            let hashes = bytes[i + 1..].iter().take_while(|&&b| b == b'#').count();
            let open = i + 1 + hashes;
            if bytes.get(open) == Some(&b'"') {
                let close: String = std::iter::once('"')
                    .chain(std::iter::repeat_n('#', hashes))
                    .collect();
                if let Some(len) = src[open + 1..].find(&close) {
                    out.push(&src[open + 1..open + 1 + len]);
                    i = open + 1 + len + close.len();
                    continue;
                }
            }
        }
        i += 1;
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_scene_literal_in_the_sources_gets_the_same_verdict_from_schema_and_parser() {
    let mut files = Vec::new();
    for dir in ["src", "tests", "examples", "benches"] {
        rust_files(&repo_path(dir), &mut files);
    }
    files.sort();
    let (mut accepted, mut refused) = (0, 0);
    for file in &files {
        let src = std::fs::read_to_string(file).unwrap();
        let rel = file
            .strip_prefix(repo_path(""))
            .unwrap_or(file)
            .display()
            .to_string();
        for literal in raw_string_literals(&src) {
            let Ok(Value::Object(map)) = serde_json::from_str::<Value>(literal) else {
                continue;
            };
            // A layer is checked on a canvas; a scene as it is.
            let scene = if map.contains_key("type") {
                one_layer(Value::Object(map))
            } else if ["width", "height", "layers"]
                .iter()
                .any(|k| map.contains_key(*k))
            {
                Value::Object(map)
            } else {
                continue;
            };
            if assert_same_verdict(&format!("{rel}: {literal}"), &scene) {
                accepted += 1;
            } else {
                refused += 1;
            }
        }
    }
    assert!(
        accepted >= 10 && refused >= 10,
        "found only {accepted} valid and {refused} invalid scene literals"
    );
}

/// Replaces, removes or adds one thing somewhere in `v`.
fn mutate(rng: &mut impl Rng, v: &mut Value) {
    let replacements = [
        json!(null),
        json!(true),
        json!(-1),
        json!(0),
        json!(0.5),
        json!(1.5),
        json!(2),
        json!(100.5),
        json!(16385),
        json!(1e300),
        json!(""),
        json!("x"),
        json!("#fff"),
        json!("#12345"),
        json!("normal"),
        json!("center"),
        json!([]),
        json!([0.5, 0.5]),
        json!({}),
    ];
    match v {
        Value::Object(map) if !map.is_empty() => {
            let keys: Vec<String> = map.keys().cloned().collect();
            let key = keys.choose(rng).unwrap().clone();
            match rng.random_range(0..10) {
                0..=2 => {
                    map.insert(key, replacements.choose(rng).unwrap().clone());
                }
                3 => {
                    map.remove(&key);
                }
                4 => {
                    // A field from elsewhere in the format, or a typo.
                    let extra = [
                        "color", "src", "stops", "angle", "radius", "text", "heigth", "fit",
                    ];
                    map.insert(
                        extra.choose(rng).unwrap().to_string(),
                        replacements.choose(rng).unwrap().clone(),
                    );
                }
                _ => mutate(rng, map.get_mut(&key).unwrap()),
            }
        }
        Value::Array(arr) if !arr.is_empty() => {
            let i = rng.random_range(0..arr.len());
            match rng.random_range(0..6) {
                0 => {
                    arr.remove(i);
                }
                1 => {
                    let copy = arr[i].clone();
                    arr.push(copy);
                }
                _ => mutate(rng, &mut arr[i]),
            }
        }
        _ => *v = replacements.choose(rng).unwrap().clone(),
    }
}

#[test]
fn random_mutations_of_the_poster_get_the_same_verdict_from_schema_and_parser() {
    let base = read_json("examples/poster/poster.json");
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let (mut accepted, mut refused) = (0, 0);
    for i in 0..3000 {
        let mut v = base.clone();
        for _ in 0..rng.random_range(1..4) {
            mutate(&mut rng, &mut v);
        }
        if assert_same_verdict(&format!("mutation #{i}"), &v) {
            accepted += 1;
        } else {
            refused += 1;
        }
    }
    // Both verdicts are well represented, so the agreement means something.
    assert!(
        accepted >= 100 && refused >= 1000,
        "{accepted} accepted, {refused} refused"
    );
}

#[test]
fn every_field_set_to_edge_and_wrong_values_gets_the_same_verdict_from_schema_and_parser() {
    // Every field name of the format on the canvas and on every layer type,
    // with values of every JSON type and at the edges of the ranges.
    let fields: Vec<String> = {
        let mut names: Vec<String> = schema()["$defs"]
            .as_object()
            .unwrap()
            .values()
            .filter_map(|d| d["properties"].as_object())
            .flat_map(|p| p.keys().cloned())
            .collect();
        names.extend(["heigth", "italic", "$schema"].map(String::from));
        names.sort();
        names.dedup();
        names
    };
    let values = [
        json!(null),
        json!(true),
        json!(-1_000_001),
        json!(-1_000_000),
        json!(-1),
        json!(0),
        json!(1e-9),
        json!(0.009),
        json!(0.01),
        json!(0.5),
        json!(1),
        json!(99),
        json!(100),
        json!(100.5),
        json!(450),
        json!(900),
        json!(901),
        json!(10000),
        json!(10001),
        json!(1_000_000),
        json!(1_000_001),
        json!(""),
        json!("#fff"),
        json!("#fffff"),
        json!("a.png"),
        json!("normal"),
        json!("italic"),
        json!("center"),
        json!("middle"),
        json!("none"),
        json!("nearest"),
        json!("rect"),
        json!([]),
        json!([0.5]),
        json!([0.5, 0.5]),
        json!([0.5, "0.5"]),
        json!([0.5, 0.5, 0.5]),
        json!({}),
        two_stops(),
    ];
    let mut compared = 0;
    let canvas_fields = [
        "width",
        "height",
        "background",
        "blend_space",
        "layers",
        "colour",
    ];
    for field in canvas_fields {
        for value in &values {
            let mut scene = json!({"width": 4, "height": 3});
            scene[field] = value.clone();
            assert_same_verdict(&format!("canvas, {field}: {value}"), &scene);
            compared += 1;
        }
    }
    for t in [
        "rect",
        "linear-gradient",
        "radial-gradient",
        "image",
        "text",
    ] {
        for field in &fields {
            for value in &values {
                let mut layer = minimal_layer(t);
                layer[field.as_str()] = value.clone();
                assert_same_verdict(&format!("{t} layer, {field}: {value}"), &one_layer(layer));
                compared += 1;
            }
        }
    }
    assert!(compared > 1000, "{compared}");
}

// ---------------------------------------------------------------------------
// Templates

/// The schema's `#/$defs/variables` as a schema of its own.
fn variables_validator() -> Validator {
    let doc = json!({"$defs": schema()["$defs"].clone(), "$ref": "#/$defs/variables"});
    jsonschema::draft202012::new(&doc).expect("#/$defs/variables compiles")
}

#[test]
fn template_declarations_get_the_same_verdict_from_the_schema_and_the_template_parser() {
    let validator = variables_validator();
    let example = read_json("examples/batch/card.json");
    let mut cases = vec![(example["variables"].clone(), true)];
    for (decl, ok) in [
        (json!({"t": {"type": "string"}}), true),
        (
            json!({"t": {"type": "color", "default": "#fff", "description": "d"}}),
            true,
        ),
        (json!({"t": {"type": "boolean", "required": true}}), true),
        (json!({"t": {"type": "text"}}), false),
        (json!({"t": {}}), false),
        (json!({"t": {"type": "string", "typ": 1}}), false),
        (json!({"1t": {"type": "string"}}), false),
        (json!({"t": {"type": "string", "required": "yes"}}), false),
        (json!([]), false),
        // Required and default, each type's default (a reviewer's cases:
        // the schema passed them, the parser refused them).
        (
            json!({"a": {"type": "number", "required": true, "default": 1}}),
            false,
        ),
        (json!({"a": {"type": "number", "required": false}}), false),
        (
            json!({"a": {"type": "number", "required": false, "default": 2}}),
            true,
        ),
        (json!({"a": {"type": "number", "default": "x"}}), false),
        (json!({"a": {"type": "string", "default": 3}}), false),
        (json!({"a": {"type": "color", "default": "red"}}), false),
        (json!({"a": {"type": "color", "default": "#f80"}}), true),
        (json!({"a": {"type": "image", "default": ""}}), false),
        (json!({"a": {"type": "image", "default": "a.png"}}), true),
        (json!({"a": {"type": "boolean", "default": "true"}}), false),
        (json!({"a": {"type": "boolean", "default": false}}), true),
    ] {
        cases.push((decl, ok));
    }
    for (decl, ok) in cases {
        let template = json!({"variables": decl, "width": 4, "height": 4});
        let parsed = impasto::Template::from_value(template.clone());
        assert_eq!(parsed.is_ok(), ok, "template parser on {decl}: {parsed:?}");
        assert_eq!(validator.is_valid(&decl), ok, "schema on {decl}");
    }
}
