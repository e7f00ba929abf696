//! Binds rows to a template in code and renders each:
//!
//! ```text
//! cargo run --release --example template [-- OUTPUT_DIR]
//! ```
//!
//! The template is `examples/batch/card.json`; its images are the sample
//! poster's (`examples/poster/`, see `ASSETS.md` there), so the asset root
//! is that folder. `impasto batch` does the same from a CSV file, in
//! parallel and with a manifest (docs/batch.md).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use impasto::{Backend, Renderer, Template};

fn main() -> ExitCode {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "template-out".into()),
    );
    match run(&out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("template: {e}");
            ExitCode::from(if e.is_bad_input() { 2 } else { 1 })
        }
    }
}

fn run(out: &std::path::Path) -> Result<(), impasto::Error> {
    let template = Template::from_path("examples/batch/card.json")?;
    for v in template.variables() {
        let need = if v.required { "required" } else { "optional" };
        println!("variable {} ({}, {need})", v.name, v.ty.name());
    }
    // One renderer for every row: fonts, glyphs and decoded images are shared.
    let renderer = Renderer::new(Backend::Auto)?.with_asset_root("examples/poster");
    std::fs::create_dir_all(out).map_err(|source| impasto::Error::Io {
        path: out.to_path_buf(),
        source,
    })?;
    let rows = [
        [
            ("title", "Ristretto"),
            ("price", "2.2"),
            ("has_badge", "true"),
            ("badge", "Bold"),
        ],
        [
            ("title", "Macchiato"),
            ("price", "2.9"),
            ("accent", "#8b5cf6"),
            ("subtitle", "A spot of foam"),
        ],
    ];
    for (i, row) in rows.iter().enumerate() {
        let row: BTreeMap<String, String> = row
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        // Each value is checked against its variable's type; the scene is
        // then checked as strictly as a scene file.
        let scene = template.bind(&row)?;
        let path = out.join(format!("card-{}.png", i + 1));
        renderer.render_to_file(&scene, &path, 90)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
