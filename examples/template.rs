//! Binds rows to a template in code and renders them with the library's
//! batch runner (`Renderer::render_rows`):
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

use impasto::{Assets, Backend, Renderer, Template};

fn main() -> ExitCode {
    // Mesa's Vulkan drivers complain on stderr when this is unset (headless
    // machines), as the `impasto` binary avoids too.
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        // Single-threaded here, before anything reads the environment.
        std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir());
    }
    let mut args = std::env::args().skip(1);
    let out = match (args.next(), args.next()) {
        (None, _) => PathBuf::from("template-out"),
        (Some(flag), None) if flag == "-h" || flag == "--help" => {
            println!("usage: template [OUTPUT_DIR] (default: template-out)");
            return ExitCode::SUCCESS;
        }
        (Some(dir), None) if !dir.starts_with('-') => PathBuf::from(dir),
        _ => {
            eprintln!("usage: template [OUTPUT_DIR] (default: template-out)");
            return ExitCode::from(2);
        }
    };
    match run(&out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("template: {e}");
            ExitCode::from(if e.is_bad_input() { 2 } else { 1 })
        }
    }
}

fn run(out: &std::path::Path) -> Result<(), impasto::Error> {
    // The bundled files, wherever the example is run from.
    let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples");
    let template = Template::from_path(examples.join("batch/card.json"))?;
    for v in template.variables() {
        let need = if v.required { "required" } else { "optional" };
        println!("variable {} ({}, {need})", v.name, v.ty.name());
    }
    // One renderer for every row: fonts, glyphs and decoded images are shared.
    let renderer = Renderer::new(Backend::Auto)?.with_asset_root(examples.join("poster"));
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
    let rows = rows.iter().map(|row| {
        row.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<String, String>>()
    });
    // The library's batch runner: each row is bound (its values checked
    // against their variables' types, the scene then checked as strictly as
    // a scene file) and rendered, the rows of a group in parallel on the CPU
    // or overlapped on the GPU; results come back in row order, and a bad
    // row does not stop the others.
    let mut failed = None;
    renderer.render_rows(&template, rows, &Assets::new(), |i, result| {
        let path = out.join(format!("card-{}.png", i + 1));
        match result.and_then(|image| impasto::codec::save(&image, &path, 90)) {
            Ok(()) => println!("wrote {}", path.display()),
            Err(e) => {
                eprintln!("template: row {}: {e}", i + 1);
                failed.get_or_insert(e);
            }
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    Ok(())
}
