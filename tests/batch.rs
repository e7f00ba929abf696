//! Batches: `Renderer::render_each` / `render_batch` give, scene by scene,
//! exactly what single renders give (on the GPU the scenes overlap: one is
//! submitted while the previous is read back), a failing scene does not
//! stop the others, and results arrive in order. Run on every backend.

mod common;

use common::backends::backends;
use impasto::{Error, Scene};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

#[test]
fn a_batch_gives_each_scene_what_a_single_render_gives_on_every_backend() {
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    let assets = common::full_scene_assets(&mut rng);
    let mut scenes: Vec<Scene> = (0..24)
        .map(|_| Scene::from_value(&common::random_full_scene(&mut rng)).unwrap())
        .collect();
    // A scene with a missing image fails; the others still render.
    scenes[7] = Scene::from_value(&json!({"width": 8, "height": 8, "layers": [
        {"type": "image", "src": "missing.png"}]}))
    .unwrap();
    for backend in backends() {
        let b = backend.name;
        let r = &backend.renderer;
        let single: Vec<_> = scenes
            .iter()
            .map(|s| r.render_with_assets(s, &assets))
            .collect();
        let mut order = Vec::new();
        let mut batch = Vec::new();
        r.render_each(&scenes, &assets, |i, result| {
            order.push(i);
            batch.push(result);
        });
        assert_eq!(order, (0..scenes.len()).collect::<Vec<_>>(), "{b}: order");
        for (i, (one, many)) in single.iter().zip(&batch).enumerate() {
            match (one, many) {
                (Ok(a), Ok(m)) => assert!(a == m, "{b}: scene {i} differs in the batch"),
                (Err(a), Err(m)) => assert_eq!(a.to_string(), m.to_string(), "{b}: scene {i}"),
                _ => panic!("{b}: scene {i}: single {one:?} but batch {many:?}"),
            }
        }
        assert!(
            matches!(&batch[7], Err(e @ Error::Scene(_)) if e.to_string().contains("missing.png")),
            "{b}: {:?}",
            batch[7]
        );
        assert_eq!(r.render_batch(&scenes[..3], &assets).len(), 3);
        if let Some(pool) = r.gpu_pool_stats() {
            // Two scenes in flight at most: the pool stays within its budget.
            assert!(pool.bytes_live <= pool.budget, "{b}: {pool:?}");
        }
    }
}

#[test]
fn a_batch_of_canvases_rendered_in_strips_matches_single_renders_on_every_backend() {
    // 3000 x 3000 is over one storage binding on most adapters (lavapipe
    // included): the GPU renders it in strips, overlapping them too.
    let big = Scene::from_value(&json!({"width": 3000, "height": 3000, "background": "#204060", "layers": [
        {"type": "radial-gradient", "stops": [{"offset": 0, "color": "#ff000080"}, {"offset": 1, "color": "#00ff0040"}]},
        {"type": "rect", "x": 400.5, "y": 1100.25, "width": 2000, "height": 1500, "rotate": 20, "corner_radius": 200, "color": "#ffffffc0"}]}))
    .unwrap();
    let small =
        Scene::from_value(&json!({"width": 33, "height": 17, "background": "#ff8000"})).unwrap();
    let scenes = [small.clone(), big.clone(), small];
    for backend in backends() {
        let r = &backend.renderer;
        let batch = r.render_batch(&scenes, &impasto::Assets::new());
        for (i, (scene, got)) in scenes.iter().zip(batch).enumerate() {
            let want = r.render(scene).unwrap();
            assert!(got.unwrap() == want, "{}: scene {i}", backend.name);
        }
    }
}

#[test]
fn render_rows_binds_each_row_and_gives_single_renders_in_row_order_on_every_backend() {
    let template = impasto::Template::from_json(
        r##"{
        "width": 96, "height": 48, "background": "#101820",
        "variables": {
            "accent": { "type": "color", "required": true },
            "width": { "type": "number", "default": 40 },
            "badge": { "type": "boolean", "default": false }
        },
        "layers": [
            { "type": "linear-gradient", "angle": 30, "stops": [
                { "offset": 0, "color": "{{accent}}" }, { "offset": 1, "color": "#ffffff20" } ] },
            { "type": "rect", "x": 4.5, "y": 6.25, "width": "{{width}}", "height": 20,
              "rotate": 12, "corner_radius": 5, "color": "{{accent}}" },
            { "type": "rect", "x": 70, "y": 4, "width": 20, "height": 10,
              "color": "#ffd400", "visible": "{{badge}}" }
        ]
    }"##,
    )
    .unwrap();
    // 11 rows, more than one group on two threads; row 4 has a bad colour
    // and row 8 misses its required value.
    let rows: Vec<std::collections::BTreeMap<String, String>> = (0..11)
        .map(|i| {
            let mut row = std::collections::BTreeMap::new();
            let accent = match i {
                4 => Some("#12345".to_string()),
                8 => None,
                _ => Some(format!("#{:02x}{:02x}c0", 20 * i, 255 - 20 * i)),
            };
            if let Some(a) = accent {
                row.insert("accent".to_string(), a);
            }
            row.insert("width".to_string(), format!("{}", 20 + 3 * i));
            row.insert("badge".to_string(), (i % 2 == 0).to_string());
            row
        })
        .collect();
    for backend in backends() {
        let (b, r) = (backend.name, &backend.renderer);
        let mut got = Vec::new();
        r.render_rows(
            &template,
            rows.clone(),
            &impasto::Assets::new(),
            |i, result| {
                got.push((i, result));
            },
        );
        let order: Vec<usize> = got.iter().map(|(i, _)| *i).collect();
        assert_eq!(order, (0..rows.len()).collect::<Vec<_>>(), "{b}: row order");
        for ((i, result), row) in got.iter().zip(&rows) {
            match template.bind(row) {
                Ok(scene) => {
                    let want = r.render(&scene).unwrap();
                    let image = result
                        .as_ref()
                        .unwrap_or_else(|e| panic!("{b}: row {i}: {e}"));
                    assert!(
                        *image == want,
                        "{b}: row {i} differs from its single render"
                    );
                }
                Err(bind_error) => {
                    let e = result.as_ref().expect_err("a row that does not bind fails");
                    assert_eq!(e.to_string(), bind_error.to_string(), "{b}: row {i}");
                    assert!(e.to_string().contains("accent"), "{b}: row {i}: {e}");
                }
            }
        }
        assert!(got[4].1.is_err() && got[8].1.is_err(), "{b}");
        assert_eq!(got.iter().filter(|(_, r)| r.is_ok()).count(), 9, "{b}");
    }
}

/// `render_rows_report` hands each row's warnings with its image, and a
/// cancelled run takes no further row from an endless stream.
#[test]
fn render_rows_report_gives_warnings_and_stops_taking_rows_once_cancelled_on_every_backend() {
    let template = impasto::Template::from_json(
        r##"{
        "width": 40, "height": 20,
        "variables": { "title": { "type": "string", "required": true } },
        "layers": [ { "type": "text", "text": "{{title}}", "size": 10, "color": "#000000" } ]
    }"##,
    )
    .unwrap();
    for backend in backends() {
        let (b, r) = (backend.name, &backend.renderer);
        let token = impasto::CancelToken::new();
        let options = impasto::RenderOptions::default().cancel_token(token.clone());
        let pulled = std::cell::Cell::new(0usize);
        // Every third row holds a character no font has.
        let rows = (0..).map(|i: usize| {
            pulled.set(pulled.get() + 1);
            let title = if i.is_multiple_of(3) {
                "a\u{10FFFD}"
            } else {
                "ab"
            };
            std::collections::BTreeMap::from([("title".to_string(), title.to_string())])
        });
        let mut results = Vec::new();
        r.render_rows_report(
            &template,
            rows,
            &impasto::Assets::new(),
            &options,
            |i, result| {
                results.push((i, result));
                if results.len() == 7 {
                    token.cancel();
                }
            },
        );
        assert!(results.len() >= 7, "{b}");
        // The rows in flight when it was cancelled end; no more are taken.
        assert_eq!(pulled.get(), results.len(), "{b}: rows taken");
        assert!(results.len() < 7 + 64, "{b}: {} rows ran", results.len());
        for (i, result) in &results[..7] {
            let rendered = result
                .as_ref()
                .unwrap_or_else(|e| panic!("{b}: row {i}: {e}"));
            assert_eq!(
                rendered.warnings.len(),
                usize::from(i.is_multiple_of(3)),
                "{b}: row {i}"
            );
        }
        for (i, result) in &results[7..] {
            if let Err(e) = result {
                assert!(matches!(e, impasto::Error::Cancelled), "{b}: row {i}: {e}");
            }
        }
    }
}

#[test]
fn a_rows_render_error_in_a_field_a_variable_filled_names_the_variable() {
    // An image `src` from a variable naming no file: the render's error
    // named the layer and field, not the variable the row set.
    let template = impasto::Template::from_json(
        r##"{ "width": 16, "height": 16,
        "variables": { "photo": { "type": "string", "required": true } },
        "layers": [ { "type": "image", "src": "{{photo}}", "width": 16, "height": 16 } ] }"##,
    )
    .unwrap();
    let row = std::collections::BTreeMap::from([("photo".to_string(), "nope.jpg".to_string())]);
    let r = impasto::Renderer::new(impasto::Backend::Cpu).unwrap();
    let mut said = Vec::new();
    r.render_rows(&template, [row], &impasto::Assets::new(), |_, result| {
        said.push(result.unwrap_err().to_string());
    });
    assert_eq!(said.len(), 1);
    assert!(said[0].contains("from variable \"photo\""), "{}", said[0]);
}
