//! Renders every image of a folder (recursively) to thumbnails, in parallel,
//! through the library's `Renderer`:
//!
//! ```text
//! cargo run --release --example thumbnails -- INPUT_DIR OUTPUT_DIR \
//!     [--size 256] [--fit contain|cover] [--no-upscale] [--format jpg|webp|png] \
//!     [--quality 85] [--backend auto|cpu|gpu] [--jobs N] \
//!     [--max-render-bytes BYTES] [--shrink-on-load fast|fine|off]
//! ```
//!
//! PNG, JPEG, WebP and GIF (its first frame) files are rendered (EXIF
//! orientation applied); other image formats impasto does not decode (BMP,
//! TIFF, AVIF, HEIC) are reported as unsupported;
//! other files are ignored. A file that fails is reported with its path and
//! the error, and leaves no output. Exit status: 0 all converted, 3 some
//! failed, 2 bad arguments, 1 the renderer could not be made (`--backend
//! gpu` with no adapter).

mod mark;
mod options;
mod report;
mod run;
mod walk;

use std::io::IsTerminal;
use std::process::ExitCode;

/// On SIGINT, SIGTERM or SIGHUP, the thumbnails being written (temporary
/// files beside their outputs) are deleted before the process exits with
/// 128 + the signal, as `impasto render` does.
#[cfg(unix)]
fn remove_temp_files_on_signals() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        return;
    };
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            impasto::interrupt::remove_temp_files();
            std::process::exit(128 + signal);
        }
    });
}

#[cfg(not(unix))]
fn remove_temp_files_on_signals() {}

fn main() -> ExitCode {
    // Mesa's Vulkan drivers complain on stderr when this is unset (headless
    // machines), as the `impasto` binary avoids too.
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        // Single-threaded here, before anything reads the environment.
        std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir());
    }
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    remove_temp_files_on_signals();
    let terminal = std::io::stderr().is_terminal();
    ExitCode::from(run::run_cli(
        std::env::args_os(),
        Box::new(std::io::stderr()),
        terminal,
    ))
}
