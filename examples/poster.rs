//! Renders the bundled sample poster:
//!
//! ```text
//! cargo run --release --example poster [-- OUTPUT.png [--backend auto|cpu|gpu]]
//! ```
//!
//! The scene is `examples/poster/poster.json`; its assets sit beside it
//! (see `examples/poster/ASSETS.md` for their sources and licences).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use impasto::{Backend, Renderer, Scene};

fn main() -> ExitCode {
    // Mesa's Vulkan drivers complain on stderr when this is unset (headless
    // machines), as the `impasto` binary avoids too.
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        // Single-threaded here, before anything reads the environment.
        std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir());
    }
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let mut output = PathBuf::from("poster.png");
    let mut backend = Backend::Auto;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--backend" {
            match args.next().as_deref().and_then(Backend::from_name) {
                Some(b) => backend = b,
                None => {
                    eprintln!("poster: --backend takes auto, cpu or gpu");
                    return ExitCode::from(2);
                }
            }
        } else {
            output = PathBuf::from(arg);
        }
    }
    let scene_path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/poster/poster.json");
    let result = Scene::from_path(&scene_path).and_then(|scene| {
        let renderer = Renderer::new(backend)?;
        let start = Instant::now();
        renderer.render_to_file(&scene, &output, 90)?;
        Ok(start.elapsed())
    });
    match result {
        Ok(elapsed) => {
            println!(
                "wrote {} ({:.1} ms to decode, composite and encode)",
                output.display(),
                elapsed.as_secs_f64() * 1e3
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("poster: {e}");
            ExitCode::from(if e.is_bad_input() { 2 } else { 1 })
        }
    }
}
