use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::*;
use crate::color::Color;
use crate::scene::LayerKind;

/// A card with a text, a colour, a number, a boolean and an image.
fn card() -> Template {
    Template::from_value(json!({
        "variables": {
            "title": {"type": "string"},
            "price": {"type": "number", "default": 9.5},
            "accent": {"type": "color", "default": "#e4572e"},
            "badge": {"type": "boolean", "default": false},
            "photo": {"type": "image", "default": "a.png"}
        },
        "width": 100, "height": 50,
        "layers": [
            {"type": "rect", "color": "{{accent}}", "x": "{{price}}"},
            {"type": "image", "src": "photos/{{photo}}"},
            {"type": "text", "text": "{{title}} — {{price}} \\{{x}}"},
            {"type": "rect", "color": "#fff", "visible": "{{badge}}"}
        ]
    }))
    .unwrap()
}

fn row(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn text_of(scene: &Scene, i: usize) -> &str {
    match &scene.layers[i].kind {
        LayerKind::Text(t) => &t.text,
        other => panic!("layer {i} is {other:?}"),
    }
}

#[test]
fn binding_substitutes_inside_strings_and_lone_references_keep_their_type() {
    let scene = card()
        .bind(&row(&[
            ("title", "Mug"),
            ("price", "12"),
            ("badge", "true"),
            ("sku", "x"),
        ]))
        .unwrap();
    assert_eq!(text_of(&scene, 2), "Mug — 12 {{x}}");
    assert_eq!(scene.layers[0].x, 12.0);
    assert!(
        matches!(scene.layers[0].kind, LayerKind::Rect { color } if color == Color::hex("#e4572e"))
    );
    assert!(matches!(&scene.layers[1].kind, LayerKind::Image(i) if i.src == "photos/a.png"));
    assert!(scene.layers[3].visible);
    let json_row = json!({"title": "Mug", "price": 3.25, "badge": null});
    let scene = card().bind_json(json_row.as_object().unwrap()).unwrap();
    assert_eq!(text_of(&scene, 2), "Mug — 3.25 {{x}}");
    assert!(!scene.layers[3].visible, "null takes the default");
}

#[test]
fn a_missing_required_value_names_the_variable_and_where_it_is_used() {
    let e = card().bind(&row(&[("title", "")])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "variable \"title\": missing (required) (used at layer 2 (text): field \"text\")"
    );
    assert!(e.is_bad_input());
}

#[test]
fn every_required_variable_without_a_value_is_named_in_one_error() {
    // Only the first was: a user fixed it to be told of the next.
    let t = Template::from_json(
        r#"{"variables": {"a": {"type": "string", "required": true},
            "b": {"type": "number", "required": true},
            "c": {"type": "string", "default": "x"},
            "d": {"type": "color", "required": true}},
            "width": 8, "height": 8, "layers": []}"#,
    )
    .unwrap();
    let e = t.bind(&row(&[("b", "")])).unwrap_err().to_string();
    assert_eq!(
        e,
        "variable \"a\": missing (required) (not used); also missing: \"b\", \"d\""
    );
    let e = t
        .bind(&row(&[("a", "1"), ("b", "2")]))
        .unwrap_err()
        .to_string();
    assert_eq!(e, "variable \"d\": missing (required) (not used)");
}

#[test]
fn a_bad_colour_names_the_variable_the_layer_and_the_field() {
    let e = card()
        .bind(&row(&[("title", "a"), ("accent", "#12345")]))
        .unwrap_err();
    let Error::Template(t) = &e else {
        panic!("{e}")
    };
    assert_eq!(t.variable(), Some("accent"));
    assert_eq!(t.field(), Some("color"));
    assert!(
        e.to_string().contains("layer 0 (rect): field \"color\""),
        "{e}"
    );
}

#[test]
fn a_scene_error_in_a_substituted_field_names_its_variable() {
    let e = card()
        .bind(&row(&[("title", "a"), ("price", "-2000000")]))
        .unwrap_err();
    let msg = e.to_string();
    assert!(msg.starts_with("layer 0 (rect): field \"x\""), "{msg}");
    assert!(msg.ends_with("(from variable \"price\")"), "{msg}");
}

#[test]
fn decreasing_stop_offsets_name_the_variable_of_either_stop() {
    let t = Template::from_value(json!({
        "variables": {"o": {"type": "number"}, "p": {"type": "number", "default": 0.6}},
        "width": 10, "height": 10,
        "layers": [{"type": "linear-gradient", "stops": [
            {"offset": "{{o}}", "color": "#000"},
            {"offset": 0.5, "color": "#fff"},
            {"offset": "{{p}}", "color": "#fff"}
        ]}]
    }))
    .unwrap();
    // The stop named is the literal one; the variable bound before it is
    // the cause.
    let e = t.bind(&row(&[("o", "0.9")])).unwrap_err().to_string();
    assert!(e.contains("field \"stops[1].offset\""), "{e}");
    assert!(e.ends_with("(from variable \"o\")"), "{e}");
    // A variable at the stop named is named too, its own first.
    let e = t
        .bind(&row(&[("o", "0.1"), ("p", "0.2")]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("field \"stops[2].offset\""), "{e}");
    assert!(e.ends_with("(from variable \"p\")"), "{e}");
    // An offset out of range blames only its own stop.
    let e = t.bind(&row(&[("o", "0.1"), ("p", "7")])).unwrap_err();
    assert!(e.to_string().ends_with("(from variable \"p\")"), "{e}");
}

#[test]
fn an_undeclared_reference_is_refused_when_the_template_is_loaded() {
    let e = Template::from_value(json!({
        "variables": {"a": {"type": "string"}},
        "width": 10, "height": 10,
        "layers": [{"type": "text", "text": "{{a}} {{b}}"}]
    }))
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "layer 0 (text): field \"text\": {{b}} refers to an undeclared variable (declared: a)"
    );
}

/// A message never writes out megabytes a user pasted: a long reference
/// name, and a long value of the wrong type, are shown by their start and
/// length; a value of another JSON type is described, not written.
#[test]
fn a_long_name_or_value_in_a_message_is_shown_by_its_start_and_length() {
    let long = "x".repeat(5000);
    let e = Template::from_value(json!({
        "variables": {"a": {"type": "string"}},
        "width": 10, "height": 10,
        "layers": [{"type": "text", "text": format!("{{{{{long}}}}}")}]
    }))
    .unwrap_err()
    .to_string();
    assert!(e.len() < 400, "{} bytes: {e}", e.len());
    assert!(
        e.contains("... (5000 bytes)}} refers to an undeclared variable"),
        "{e}"
    );
    let t = Template::from_value(json!({
        "variables": {"n": {"type": "number", "default": 1}},
        "width": 10, "height": 10,
        "layers": [{"type": "rect", "width": "{{n}}", "height": 5, "color": "#000"}]
    }))
    .unwrap();
    let pasted = format!("data:image/png;base64,{}", "A".repeat(20_000));
    let mut values = serde_json::Map::new();
    values.insert("n".into(), Value::String(pasted));
    let e = t.bind_json(&values).unwrap_err().to_string();
    assert!(e.len() < 400, "{} bytes: {e}", e.len());
    assert!(
        e.contains("expected a number, got the string \"data:image/png;base64,AAA"),
        "{e}"
    );
    assert!(e.contains("... (20022 bytes)"), "{e}");
    values.insert("n".into(), json!((0..3000).collect::<Vec<u32>>()));
    let e = t.bind_json(&values).unwrap_err().to_string();
    assert!(
        e.contains("expected a number, got an array of 3000 items"),
        "{e}"
    );
}

#[test]
fn a_lone_number_or_boolean_in_a_text_field_is_shown_as_text() {
    // It kept its type and the text layer refused it ("expected a string,
    // got the number 4.5"); elsewhere a lone reference still keeps it.
    let t = Template::from_value(json!({
        "variables": {"p": {"type": "number"}, "b": {"type": "boolean"}},
        "width": 10, "height": 10,
        "layers": [{"type": "text", "text": "{{p}}", "x": "{{p}}"},
                   {"type": "text", "text": "{{ b }}"}]
    }))
    .unwrap();
    let scene = t.bind(&row(&[("p", "4.5"), ("b", "true")])).unwrap();
    assert_eq!(text_of(&scene, 0), "4.5");
    assert_eq!(text_of(&scene, 1), "true");
    assert_eq!(scene.layers[0].x, 4.5);
}

#[test]
fn only_spaces_and_tabs_around_a_reference_name_are_dropped() {
    let bound = |text: &str| {
        let t = Template::from_value(json!({
            "variables": {"d": {"type": "string"}},
            "width": 10, "height": 10,
            "layers": [{"type": "text", "text": text}]
        }))?;
        t.bind(&row(&[("d", "x")]))
    };
    assert_eq!(text_of(&bound("{{ \td\t }}").unwrap(), 0), "x");
    // A line separator or a no-break space was trimmed unseen.
    for odd in ["{{d\u{2028}}}", "{{\u{a0}d}}"] {
        let e = bound(odd).unwrap_err().to_string();
        assert!(e.contains("is not a variable name"), "{e}");
    }
}

#[test]
fn a_value_for_an_undeclared_name_is_refused_naming_the_declared_ones() {
    let e = card().check_names(["title", "titel"]).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("variable \"titel\" is not declared by the template; did you mean \"title\"? (declared: "),
        "{e}"
    );
    // A scene that is not a template says so, rather than "declared: none".
    let plain = Template::from_json(r#"{"width": 8, "height": 8}"#).unwrap();
    let e = plain.check_names(["a"]).unwrap_err().to_string();
    assert!(
        e.contains(
            "the scene declares none: a template declares its variables under \"variables\""
        ),
        "{e}"
    );
    // A template whose one variable is named "none" lists it.
    let none = Template::from_json(
        r#"{"width": 8, "height": 8, "variables": {"none": {"type": "string", "default": "x"}}}"#,
    )
    .unwrap();
    let e = none.check_names(["a"]).unwrap_err().to_string();
    assert!(e.ends_with("(declared: none)"), "{e}");
}

#[test]
fn a_scene_without_variables_binds_to_exactly_the_scene_it_describes() {
    let text =
        r##"{"width": 8, "height": 8, "layers": [{"type": "text", "text": "{{kept}} \\{{"}]}"##;
    let template = Template::from_json(text).unwrap();
    assert!(template.variables().is_empty());
    assert_eq!(
        template.bind(&row(&[("kept", "x")])).unwrap(),
        Scene::from_json(text).unwrap()
    );
    assert!(Template::from_json(r#"{"width": 0, "height": 8}"#).is_err());
}

#[test]
fn a_template_given_to_the_scene_parser_says_it_is_a_template() {
    let e = Scene::from_json(r#"{"variables": {}, "width": 8, "height": 8}"#).unwrap_err();
    assert!(e.to_string().contains("this scene is a template"), "{e}");
}

#[test]
fn check_names_refuses_a_value_for_an_undeclared_variable() {
    let e = card().check_names(["title", "titel"]).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("variable \"titel\" is not declared"),
        "{e}"
    );
}

#[test]
fn a_misspelt_field_name_is_refused_at_load_whatever_its_value_holds() {
    // A reference in the value does not make the name right: every row
    // failed, each blaming the variable.
    for value in [json!("{{a}}"), json!("x{{a}}"), json!({"n": "{{a}}"})] {
        let e = Template::from_value(json!({
            "variables": {"a": {"type": "number", "default": 1}},
            "width": 10, "height": 10,
            "layers": [{"type": "rect", "color": "#fff", "heigth": value}]
        }))
        .unwrap_err();
        let e = e.to_string();
        assert!(
            e.starts_with("layer 0 (rect): field \"heigth\": unknown field for a rect layer; did you mean \"height\"?"),
            "{e}"
        );
        assert!(!e.contains("variable"), "{e}");
    }
    // In a gradient stop too.
    let e = Template::from_value(json!({
        "variables": {"o": {"type": "number"}},
        "width": 10, "height": 10,
        "layers": [{"type": "linear-gradient", "stops": [
            {"offset": 0, "color": "#000"}, {"ofset": "{{o}}", "color": "#fff"}]}]
    }))
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("unknown field; did you mean \"offset\"?"),
        "{e}"
    );
}

#[test]
fn a_scene_error_outside_the_references_is_refused_when_the_template_is_loaded() {
    let e = Template::from_value(json!({
        "variables": {"c": {"type": "color"}, "w": {"type": "number"}},
        "width": 10, "height": 10,
        "layers": [{"type": "rect", "color": "{{c}}", "heigth": 3}]
    }))
    .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("layer 0 (rect): field \"heigth\""),
        "{e}"
    );
    // A stand-in value that the field refuses is left to the rows.
    let t = Template::from_value(json!({
        "variables": {"w": {"type": "number"}},
        "width": 10, "height": 10,
        "layers": [{"type": "text", "text": "a", "weight": "{{w}}"}]
    }))
    .unwrap();
    let e = t.bind(&row(&[("w", "50")])).unwrap_err();
    assert!(e.to_string().ends_with("(from variable \"w\")"), "{e}");
    assert!(t.bind(&row(&[("w", "700")])).is_ok());
}

#[test]
fn a_number_given_as_text_keeps_its_digits_in_text() {
    let t = Template::from_value(json!({
        "variables": {"p": {"type": "number"}},
        "width": 10, "height": 10,
        "layers": [
            {"type": "text", "text": "€{{p}}"},
            {"type": "text", "text": "{{p}}"},
            {"type": "rect", "color": "#000", "x": "{{p}}"}
        ]
    }))
    .unwrap();
    for (cell, shown, x) in [
        (" 2.50", "2.50", 2.5),
        ("1e3", "1e3", 1000.0),
        ("-0", "-0", 0.0),
    ] {
        let scene = t.bind(&row(&[("p", cell)])).unwrap();
        assert_eq!(text_of(&scene, 0), format!("€{shown}"));
        assert_eq!(text_of(&scene, 1), shown);
        assert_eq!(scene.layers[2].x, x, "a lone reference stays a number");
    }
    // JSON numbers are serde_json's (no digits kept beyond the value's).
    let json_row = json!({"p": 2.5});
    let scene = t.bind_json(json_row.as_object().unwrap()).unwrap();
    assert_eq!(text_of(&scene, 0), "€2.5");
}

#[test]
fn a_cell_of_spaces_is_no_value_except_for_a_string() {
    let t = Template::from_value(json!({
        "variables": {
            "n": {"type": "number", "default": 3},
            "b": {"type": "boolean", "default": true},
            "c": {"type": "color", "default": "#fff"},
            "s": {"type": "string", "default": "d"}
        },
        "width": 10, "height": 10,
        "layers": [{"type": "rect", "x": "{{n}}", "visible": "{{b}}", "color": "{{c}}"},
                   {"type": "text", "text": "[{{s}}]"}]
    }))
    .unwrap();
    let scene = t
        .bind(&row(&[("n", " "), ("b", "  "), ("c", "\t"), ("s", " ")]))
        .unwrap();
    assert_eq!(scene.layers[0].x, 3.0);
    assert!(scene.layers[0].visible);
    assert_eq!(text_of(&scene, 1), "[ ]");
}

#[test]
fn a_literal_refused_only_beside_a_variable_is_left_to_the_rows() {
    // The stand-in 1 for `w` puts the literal 0.5 after an offset of 1;
    // rows with a smaller `w` are valid, so the template is.
    for stops in [
        json!([{"offset": "{{w}}", "color": "#000"}, {"offset": 0.5, "color": "#fff"}]),
        json!([{"offset": 0.2, "color": "#000"}, {"offset": "{{w}}", "color": "#888"},
               {"offset": 0.99, "color": "#fff"}]),
    ] {
        let t = Template::from_value(json!({
            "variables": {"w": {"type": "number"}},
            "width": 20, "height": 20,
            "layers": [{"type": "linear-gradient", "stops": stops}]
        }))
        .unwrap();
        assert!(t.bind(&row(&[("w", "0.3")])).is_ok());
        let e = t.bind(&row(&[("w", "2")])).unwrap_err();
        assert!(e.to_string().contains("offset"), "{e}");
    }
    // A literal wrong whatever the numbers still fails the template.
    let e = Template::from_value(json!({
        "variables": {"w": {"type": "number"}},
        "width": 20, "height": 20,
        "layers": [{"type": "linear-gradient", "stops": [
            {"offset": "{{w}}", "color": "#000"}, {"offset": -1, "color": "#fff"}]}]
    }))
    .unwrap_err();
    assert!(e.to_string().contains("stops[1].offset"), "{e}");
}
