//! Parsing a scene is bounded before the scene exists: the JSON tree is
//! counted as it is built, against `max_render_bytes`, and the layers array
//! against `max_layers`, so a file within the size limit cannot take
//! gigabytes as a tree of tiny values (a 59 MB file of 1.9 million rect
//! layers peaked at 3.5 GB before `max_layers` was checked after the parse).
//!
//! One test function: the counting allocator counts every thread of the
//! process, so the cases run one after another, nothing else running.

mod common;

use impasto::{Limits, Scene, Template};

use common::counting::{peak_of, Counting};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// A scene of `n` copies of `item` in a field no scene has (the tree is
/// built before the fields are checked).
fn junk(item: &str, n: usize) -> String {
    format!(
        r#"{{"width": 8, "height": 8, "junk": [{}]}}"#,
        vec![item; n].join(",")
    )
}

fn rects(n: usize) -> String {
    let rect = r##"{"type": "rect", "color": "#fff"}"##;
    format!(
        r#"{{"width": 8, "height": 8, "layers": [{}]}}"#,
        vec![rect; n].join(",")
    )
}

#[test]
fn a_parse_holds_no_more_than_its_budget_and_refuses_extra_layers_as_it_reads() {
    // Trees over the budget: each refused with at most the budget held
    // (the text is allocated before the measure), whatever its shape. The
    // budget is max_render_bytes, or 64 MiB if that is less.
    for (max_render_bytes, limit) in [
        (64 << 20, "(max_render_bytes)"),
        (
            1000,
            "(64 MiB, the least a scene's tree is allowed whatever max_render_bytes)",
        ),
    ] {
        let limits = Limits {
            max_render_bytes,
            ..Limits::default()
        };
        let budget: u64 = 64 << 20;
        for (item, n) in [
            ("{}", 3_000_000),
            ("[]", 3_000_000),
            (r#"{"a": 1}"#, 150_000),
            (r#""ab""#, 2_000_000),
            ("1.5", 3_000_000),
            (
                r#"{"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6, "g": 7, "h": 8, "i": 9, "j": 10, "k": 11, "l": 12}"#,
                40_000,
            ),
            (r#"[[[[[[[[{"deep": ["x"]}]]]]]]]]"#, 50_000),
        ] {
            let text = junk(item, n);
            let (parsed, peak) = peak_of(|| Scene::from_json_limited(&text, &limits));
            let e = parsed.unwrap_err().to_string();
            assert!(
                e.starts_with(&format!(
                    "scene: the JSON's parsed tree would take more than the {budget} bytes of memory allowed"
                )),
                "{item}: {e}"
            );
            assert!(
                e.contains(&format!("{limit} at line 1 column")),
                "{item}: {e}"
            );
            assert!(
                peak <= budget,
                "{item}: the parse held {peak} bytes, over its budget {budget}"
            );
        }
    }
    // A document under the budget reaches the field check.
    let e = Scene::from_json(&junk("{}", 1000)).unwrap_err().to_string();
    assert!(e.contains(r#"field "junk""#), "{e}");

    // Layers: the array is refused at its max_layers + 1th element, before
    // the rest is read; max_layers exactly is a scene.
    let many = rects(200_000);
    let (parsed, peak) = peak_of(|| Scene::from_json(&many));
    let e = parsed.unwrap_err().to_string();
    assert!(
        e.starts_with(
            r#"canvas: field "layers": more than 10000 layers, over the limit of 10000 (max_layers) at line 1 column"#
        ),
        "{e}"
    );
    // 200,000 layers take some 150 MB as a tree; 10,001, under 16 MiB.
    assert!(peak < 16 << 20, "the parse held {peak} bytes");
    assert_eq!(
        Scene::from_json(&rects(10_000)).unwrap().layers.len(),
        10_000
    );
    let three = Limits {
        max_layers: 3,
        ..Limits::default()
    };
    assert_eq!(
        Scene::from_json_limited(&rects(3), &three)
            .unwrap()
            .layers
            .len(),
        3
    );
    let e = Scene::from_json_limited(&rects(4), &three)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("more than 3 layers, over the limit of 3 (max_layers)"),
        "{e}"
    );
    // Templates are read as bounded, and only the top level's "layers"
    // counts (a variable's default is a string, whatever its name).
    let template = rects(4).replacen(
        '{',
        r#"{"variables": {"layers": {"type": "string", "default": "x"}}, "$schema": "{{layers}}","#,
        1,
    );
    let e = Template::from_json_limited(&template, &three)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("more than 3 layers, over the limit of 3 (max_layers)"),
        "{e}"
    );
    let four = Limits {
        max_layers: 4,
        ..Limits::default()
    };
    let bound = Template::from_json_limited(&template, &four).unwrap();
    assert_eq!(bound.bind(&Default::default()).unwrap().layers.len(), 4);
}
