//! The `impasto` command line.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use impasto::codec::AnimationFormat;
use impasto::{Assets, Backend, Error, Limits, RenderOptions, RenderedAnimation, Renderer};
use messages::invalid_value;
pub(crate) use messages::one_line;

/// Diagnostics on standard error. `std`'s `eprintln!`, which this shadows
/// in every module below, panics when the line cannot be written (standard
/// error closed, a pipe whose reader has gone, a full disk): a batch piped
/// into `head` died at its next warning, or hung with a worker gone. A line
/// that cannot be written is dropped; the work and its exit status go on.
macro_rules! eprintln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// As `eprintln!` above, without the line end.
#[allow(unused_macros)]
macro_rules! eprint {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stderr(), $($arg)*);
    }};
}

/// mimalloc: faster JPEG decoding here (see its entry in Cargo.toml).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "impasto/batch/mod.rs"]
mod batch;
#[path = "impasto/bench/mod.rs"]
mod bench;
#[path = "impasto/caches.rs"]
mod caches;
#[path = "impasto/gpu_drivers.rs"]
mod gpu_drivers;
#[path = "impasto/limit_args.rs"]
mod limit_args;
#[path = "impasto/messages.rs"]
mod messages;
#[path = "impasto/numbers.rs"]
mod numbers;
#[path = "impasto/oneoff.rs"]
mod oneoff;
#[path = "impasto/serve/mod.rs"]
mod serve;

/// impasto composes layered images (posters, social cards, thumbnails) from a
/// JSON scene. The scene format is described in docs/scene-format.md;
/// `impasto schema` prints its JSON Schema.
///
/// Exit status: 0 on success, 2 for bad input (scene, assets, arguments),
/// 1 for any other failure; `impasto batch` also exits 3 when some rows
/// failed. Errors are one line on stderr. A failed render never leaves an
/// output file behind.
#[derive(Parser, Debug)]
#[command(name = "impasto", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List the GPU adapters wgpu finds, and which backend `auto` would use.
    Info,
    /// Print the JSON Schema (draft 2020-12) of the scene format, for editors
    /// and for validating scenes elsewhere (docs/scene.schema.json).
    Schema,
    /// Render a scene to an image file.
    Render {
        /// The scene file (JSON), or a template (with --set), or - to read
        /// either from standard input (image paths then relative to the
        /// current folder unless --assets).
        scene: PathBuf,
        /// A template variable's value, NAME=VALUE; may be given more than
        /// once (docs/scene-format.md, Templates).
        #[arg(long = "set", value_name = "NAME=VALUE")]
        set: Vec<String>,
        /// The output file; its extension picks the format: .png (RGBA,
        /// straight alpha), .jpg/.jpeg (flattened over white), .webp (lossy
        /// at --quality with straight alpha kept, or lossless with --lossless),
        /// .avif (at --quality, alpha kept), .gif (256 colours; animated
        /// with --animate). `-` writes to standard output (with --format).
        #[arg(short, long)]
        output: PathBuf,
        /// The output format, whatever the file name says: png, jpg, webp,
        /// avif or gif. Needed with `-o -`.
        #[arg(long, value_parser = ["png", "jpg", "jpeg", "webp", "avif", "gif"])]
        format: Option<String>,
        /// Which compositor renders.
        #[arg(long, value_enum, default_value_t = BackendArg::Auto)]
        backend: BackendArg,
        /// How the GPU backend composites layers (no effect on the CPU).
        #[arg(long, value_enum, default_value_t = CompositorArg::Auto)]
        gpu_compositor: CompositorArg,
        /// Folder that image `src` paths are relative to (default: the scene
        /// file's folder). Paths may not leave it.
        #[arg(long)]
        assets: Option<PathBuf>,
        /// JPEG, lossy WebP and AVIF quality, 1..=100. For JPEG, below 90 colour is
        /// subsampled 4:2:0 (smaller, about twice as fast to encode); 90 and
        /// above keep it at full resolution (4:4:4). [default: 85]; given for
        /// a .png or .gif, which have no quality, it is warned of.
        #[arg(long, value_parser = numbers::whole::<u8>(1..=100))]
        quality: Option<u8>,
        /// Write .webp lossless (every visible pixel exact; files several
        /// times larger) instead of lossy. .png is always lossless; refused
        /// for .jpg, .avif and .gif.
        #[arg(long, conflicts_with = "quality")]
        lossless: bool,
        /// Write every frame of the scene's animated sources (GIF, APNG,
        /// animated WebP) with their delays and loop count, as the scene's
        /// `"animate": true` does; the output must be .gif, .png (APNG) or
        /// .webp. Without it (and without "animate"), .gif output is a
        /// still GIF of the first frame.
        #[arg(long)]
        animate: bool,
        /// A folder searched (recursively) for fonts that text layers can
        /// name; may be given more than once.
        #[arg(long = "font-dir", value_name = "DIR")]
        font_dirs: Vec<PathBuf>,
        /// Use only the bundled fonts and --font-dir folders, not the
        /// system's fonts (output that does not depend on the machine).
        #[arg(long)]
        no_system_fonts: bool,
        /// What characters no available font can draw do: `warn` draws
        /// them as empty boxes and prints a warning on stderr; `error`
        /// refuses the scene (exit 2).
        #[arg(long, value_enum, default_value_t = oneoff::MissingGlyphsArg::Warn)]
        missing_glyphs: oneoff::MissingGlyphsArg,
        /// How far a JPEG drawn smaller than its size is shrunk in the DCT
        /// as it is decoded (k/8, k from 1 to 6): `fast` keeps 1.25 times
        /// the pixels it is drawn with, `fine` twice them (closer to the full decode),
        /// `off` decodes every image at full size.
        #[arg(long, value_enum, default_value_t = oneoff::ShrinkArg::Fast)]
        shrink_on_load: oneoff::ShrinkArg,
        /// The same as --shrink-on-load off.
        #[arg(long, conflicts_with = "shrink_on_load")]
        no_shrink_on_load: bool,
        #[command(flatten)]
        limits: limit_args::LimitArgs,
        /// Most memory one render may need, in bytes (estimated before any
        /// layer is painted; a render over it is refused, exit 2).
        #[arg(long, default_value_t = Limits::default().max_render_bytes, value_parser = limit_args::at_least_one::<u64>)]
        max_render_bytes: u64,
        /// Give up (exit 1, no file written) if the render is not done within
        /// this many seconds. The encoder is not started past it, an AVIF
        /// encode under way is given up on at it, PNG, JPEG and lossless
        /// WebP decodes stop part way (a progressive JPEG's last pass, a
        /// lossy WebP's or a grey JPEG's decode run to their end), and one
        /// text shaping under way runs to its end first.
        #[arg(long, value_name = "SECONDS", value_parser = parse_timeout)]
        timeout: Option<std::time::Duration>,
    },
    /// Measure a fixed suite of cases (composite, poster, social cards,
    /// thumbnails) on the CPU and/or GPU backend, with warm-up runs and timed
    /// repetitions; or compare two reports (`impasto bench compare OLD NEW`).
    /// See docs/benchmark-harness.md.
    Bench(bench::BenchArgs),
    /// Render a template once per row of a CSV or JSON Lines file
    /// (docs/batch.md). Exit status: 0 when every row was written (or
    /// skipped), 3 when some rows failed (each is in the manifest with its
    /// row number and error), 2 when the template or the arguments are bad
    /// (nothing rendered), 1 for any other failure.
    Batch(batch::BatchArgs),
    /// Serve renders over HTTP: POST /render, templates, /metrics
    /// (docs/serve.md). Exit status 0 after a clean drain on SIGTERM or
    /// ctrl-c, 1 when the grace period cut requests off.
    Serve(serve::ServeArgs),
    /// Sign a /t/ URL for a server started with --signing-key: prints the
    /// path and query with the `sig` parameter appended (docs/serve.md).
    Sign(serve::SignArgs),
}

/// The `--backend` values; `impasto::Backend` is the library's, this is the
/// command line's spelling of it.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum BackendArg {
    /// A hardware GPU when there is one, otherwise the CPU.
    Auto,
    /// The CPU compositor.
    Cpu,
    /// The GPU compositor, on any adapter (software ones included).
    Gpu,
}

/// The `--gpu-compositor` values: `impasto::GpuCompositor`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum CompositorArg {
    /// Render pipelines, except on NVIDIA's data-center compute GPUs
    /// (A100, H100, H200 and kin), where compute dispatches are faster.
    Auto,
    /// Render pipelines with fixed-function blending.
    Fragment,
    /// Compute dispatches over a storage canvas.
    Compute,
}

impl From<CompositorArg> for impasto::GpuCompositor {
    fn from(c: CompositorArg) -> impasto::GpuCompositor {
        match c {
            CompositorArg::Auto => impasto::GpuCompositor::Auto,
            CompositorArg::Fragment => impasto::GpuCompositor::Fragment,
            CompositorArg::Compute => impasto::GpuCompositor::Compute,
        }
    }
}

impl From<BackendArg> for Backend {
    fn from(b: BackendArg) -> Backend {
        match b {
            BackendArg::Auto => Backend::Auto,
            BackendArg::Cpu => Backend::Cpu,
            BackendArg::Gpu => Backend::Gpu,
        }
    }
}

/// `--timeout`: seconds, a positive number.
fn parse_timeout(s: &str) -> Result<std::time::Duration, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() && v < 1e9 => Ok(std::time::Duration::from_secs_f64(v)),
        _ => Err(format!(
            "{} is not a number of seconds greater than 0 and below 1000000000",
            impasto::scene::quoted(s)
        )),
    }
}

/// Writes `text` to standard output: rather than `print!`, which panics
/// when it cannot. A reader gone (`impasto schema | head`) ends the command
/// quietly; any other failure (a full disk) is an error, exit status 1.
pub(crate) fn print_out(text: &str) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::Io {
            path: PathBuf::from("<stdout>"),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// The scene format's JSON Schema, as `impasto schema` prints it.
const SCENE_SCHEMA: &str = include_str!("../../docs/scene.schema.json");

fn main() -> ExitCode {
    // Mesa's Vulkan drivers complain on stderr when this is unset (headless
    // machines); the CLI promises one line of stderr per error.
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        // Single-threaded here, before anything reads the environment.
        std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir());
    }
    let mut logger =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn"));
    if std::env::args().nth(1).as_deref() != Some("serve") {
        // One line a message, as the CLI's own warnings and errors (a
        // service's log keeps env_logger's timestamps).
        logger.format(|buf, record| {
            use std::io::Write as _;
            let level = match record.level() {
                log::Level::Warn => "warning".to_owned(),
                other => other.as_str().to_ascii_lowercase(),
            };
            writeln!(buf, "impasto: {level}: {}", record.args())
        });
    }
    logger.init();
    let parsed = negative_numbers(Cli::command())
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            let mut code = if e.use_stderr() { 2 } else { 0 };
            if code == 0 {
                // `--help` and `--version` on standard output: a reader
                // gone is no failure, a full disk is (exit 1, as every
                // command's output).
                use std::io::Write as _;
                let printed = e.print().and_then(|()| std::io::stdout().flush());
                if let Err(source) = printed {
                    if source.kind() != std::io::ErrorKind::BrokenPipe {
                        let e = Error::Io {
                            path: PathBuf::from("<stdout>"),
                            source,
                        };
                        eprintln!("impasto: {}", one_line(&messages::error_message(&e)));
                        code = 1;
                    }
                }
            } else if let Some(line) = invalid_value(&e) {
                eprintln!("impasto: {}", one_line(&line));
            } else {
                // One line: clap's message up to its usage section.
                let msg = e.to_string();
                let problem: Vec<&str> = msg
                    .lines()
                    .map(str::trim)
                    .take_while(|l| !l.starts_with("Usage:"))
                    .filter(|l| !l.is_empty() && !l.starts_with("For more information"))
                    .collect();
                let line = problem.join(" ");
                eprintln!("impasto: {}", one_line(line.trim_start_matches("error: ")));
            }
            return ExitCode::from(code);
        }
    };
    // `serve` drains on SIGTERM itself (it must answer the renders in
    // flight); every other command writes files and cleans up on a signal.
    if !matches!(cli.command, Command::Serve(_)) {
        remove_temp_files_on_signal();
    }
    let code = match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("impasto: {}", one_line(&messages::error_message(&e)));
            ExitCode::from(if e.is_bad_input() { 2 } else { 1 })
        }
    };
    // Ended (often failed) because a signal is stopping the process: its
    // thread ends it with 128 + the signal, as a shell expects; exiting
    // here first raced it (exit 1 for SIGQUIT, seen in CI).
    if impasto::interrupt::is_stopping() {
        std::thread::sleep(std::time::Duration::from_secs(5));
    }
    code
}

/// On a signal that ends the process ([`ENDING_SIGNALS`]), deletes the temporary file of any output
/// being written (`impasto::interrupt`) and exits with status 128 + the
/// signal's number (143, 130, 129...), as a shell reports a process the
/// signal ended. A signal the process was started ignoring (`nohup`
/// ignores SIGHUP; a shell's background job, SIGINT and SIGQUIT) stays
/// ignored.
fn remove_temp_files_on_signal() {
    #[cfg(unix)]
    {
        let ignored = ignored_signals();
        let wanted: Vec<i32> = ENDING_SIGNALS
            .into_iter()
            .filter(|&s| !ignored(s))
            .collect();
        let mut signals = match signal_hook::iterator::Signals::new(&wanted) {
            Ok(s) => s,
            Err(e) => {
                // The default disposition stays: the signal still ends the
                // process, only the clean-up is lost.
                log::warn!("cannot install the signal handler: {e}");
                return;
            }
        };
        let spawned = std::thread::Builder::new()
            .name("impasto-signals".into())
            .spawn(move || {
                if let Some(signal) = signals.forever().next() {
                    impasto::interrupt::remove_temp_files();
                    if let Some(line) = batch::interrupted_line() {
                        eprintln!("{line}");
                    }
                    std::process::exit(128 + signal);
                }
            });
        if let Err(e) = spawned {
            log::warn!("cannot start the signal thread: {e}");
        }
    }
}

/// The signals whose default ends the process and that can be caught:
/// the CLI cleans up on them, `serve` drains on them.
#[cfg(unix)]
pub(crate) const ENDING_SIGNALS: [i32; 11] = {
    use signal_hook::consts::*;
    [
        SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGXCPU, SIGXFSZ, SIGVTALRM,
        SIGPROF,
    ]
};

/// Which signals the process was started ignoring: on Linux from
/// `/proc/self/status`'s `SigIgn` mask; elsewhere, where a disposition
/// cannot be read without `unsafe`, SIGHUP and SIGQUIT are taken as
/// ignored (left alone, so `nohup` keeps working) and the others not.
#[cfg(unix)]
pub(crate) fn ignored_signals() -> impl Fn(i32) -> bool {
    let mask = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| sig_ign_mask(&status));
    move |signal| match mask {
        Some(mask) => signal >= 1 && mask & (1u64 << (signal - 1)) != 0,
        None => {
            use signal_hook::consts::{SIGHUP, SIGQUIT};
            [SIGHUP, SIGQUIT].contains(&signal)
        }
    }
}

/// The `SigIgn:` mask of a `/proc/PID/status` text (bit `n - 1` for signal
/// `n`).
#[cfg(unix)]
fn sig_ign_mask(status: &str) -> Option<u64> {
    let line = status.lines().find_map(|l| l.strip_prefix("SigIgn:"))?;
    u64::from_str_radix(line.trim(), 16).ok()
}

/// `cmd` and its subcommands taking `-1` as an option's value, so that
/// `--jobs -1` is refused by the option's own check ("invalid value '-1'
/// for '--jobs <N>'") rather than as an unknown argument.
fn negative_numbers(cmd: clap::Command) -> clap::Command {
    cmd.allow_negative_numbers(true)
        .mut_subcommands(negative_numbers)
}

fn run(cli: Cli) -> Result<ExitCode, Error> {
    match cli.command {
        Command::Bench(args) => bench::run(args),
        Command::Batch(args) => batch::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Sign(args) => serve::sign(args),
        command => run_command(command).map(|()| ExitCode::SUCCESS),
    }
}

fn run_command(command: Command) -> Result<(), Error> {
    match command {
        Command::Info => {
            use std::fmt::Write as _;
            let adapters = impasto::list_adapters();
            let mut text = String::new();
            if adapters.is_empty() {
                text.push_str("no GPU adapters found\n");
            }
            for a in &adapters {
                let _ = writeln!(
                    text,
                    "adapter: {} | type: {} | backend: {} | driver: {} | max texture side: {}{}",
                    a.name,
                    a.device_type,
                    a.backend,
                    a.driver_line().as_deref().unwrap_or("not reported"),
                    a.max_texture_side,
                    if a.hardware { " | hardware" } else { "" }
                );
            }
            let auto = match adapters.iter().find(|a| a.hardware) {
                Some(a) => format!("gpu ({})", a.name),
                None => "cpu (no hardware GPU adapter)".into(),
            };
            let _ = writeln!(text, "backend auto would use: {auto}");
            print_out(&text)
        }
        Command::Schema => print_out(SCENE_SCHEMA),
        Command::Render {
            scene,
            set,
            output,
            format: format_name,
            backend,
            gpu_compositor,
            assets,
            quality,
            lossless,
            animate,
            limits,
            max_render_bytes,
            font_dirs,
            no_system_fonts,
            missing_glyphs,
            shrink_on_load,
            no_shrink_on_load,
            timeout,
        } => {
            let quality_given = quality.is_some();
            let quality = quality.unwrap_or(85);
            let scene_file = scene;
            let limits = limits.apply(Limits {
                max_render_bytes,
                ..Limits::default()
            });
            let (scene, template) = oneoff::load(&scene_file, &set, &limits)?;
            // A render error in a field a variable filled (an image `src`
            // naming no file) names the variable, as binding errors do.
            let render = || -> Result<(), Error> {
                let mut renderer = Renderer::new(backend.into())?
                    .with_gpu_compositor(gpu_compositor.into())
                    .with_limits(limits);
                if let Some(root) = assets {
                    oneoff::check_folder("--assets", &root)?;
                    renderer = renderer.with_asset_root(root);
                }
                for dir in font_dirs {
                    oneoff::check_folder("--font-dir", &dir)?;
                    renderer = renderer.with_font_dir(dir);
                }
                renderer = renderer
                    .with_system_fonts(!no_system_fonts)
                    .with_missing_glyphs(missing_glyphs.into())
                    .with_shrink_on_load_mode(if no_shrink_on_load {
                        impasto::ShrinkOnLoad::Off
                    } else {
                        shrink_on_load.into()
                    });
                let options = match timeout {
                    Some(t) => {
                        let _ = messages::RENDER_TIMEOUT.set(t);
                        RenderOptions::with_timeout(t)
                    }
                    None => RenderOptions::default(),
                };
                // The name the format is read from: the file's, or --format's.
                let to_stdout = output.as_os_str() == "-";
                let named = match &format_name {
                    Some(ext) if to_stdout => PathBuf::from(format!("stdout.{ext}")),
                    Some(ext) => output.with_extension(ext),
                    None if to_stdout => {
                        return Err(Error::Options(
                            "-o - writes to standard output: give the format with --format png, jpg, webp, avif or gif".into(),
                        ))
                    }
                    None => output.clone(),
                };
                // A format error names the output as given, with --format.
                let renamed = |e: Error| match (&format_name, e) {
                    (Some(ext), Error::Output(m)) => Error::Output(m.replacen(
                        &impasto::scene::shown_path(&named),
                        &format!("{} (--format {ext})", impasto::scene::shown_path(&output)),
                        1,
                    )),
                    (_, e) => e,
                };
                // The scene's `"animate": true` asks for an animation where
                // the format holds one; a .jpg or .avif of it is the still
                // scene (`--animate` with them is refused).
                let scene_animates = scene.animate
                    && {
                        let can = AnimationFormat::from_path(&named, quality, lossless).is_ok();
                        if !can && !animate {
                            eprintln!(
                            "impasto: the scene's \"animate\": true is for .gif, .png and .webp output; {} holds no animation, so the still scene is written",
                            impasto::scene::shown_path(&output)
                        );
                        }
                        can
                    };
                // A folder or a device is said so before its name is read
                // for a format (`-o /dev/null` was "unknown output format").
                if !to_stdout {
                    renderer.check_output_path(&scene, &output)?;
                }
                let chosen =
                    oneoff::output_for(&named, quality, lossless, animate || scene_animates)
                        .map_err(renamed)?;
                let no_quality = matches!(
                    chosen,
                    oneoff::Output::Still(impasto::OutputFormat::Png)
                        | oneoff::Output::StillGif
                        | oneoff::Output::Animation(AnimationFormat::Png | AnimationFormat::Gif)
                );
                if quality_given && no_quality {
                    eprintln!(
                        "impasto: warning: --quality is for .jpg, .webp and .avif; {} has none and ignores it",
                        impasto::scene::shown_path(&output)
                    );
                }
                if to_stdout {
                    return oneoff::render_to_stdout(&renderer, &scene, chosen, &options);
                }
                oneoff::refuse_inputs(&renderer, &scene, &scene_file, &output)?;
                let assets = Assets::new();
                let warnings = match chosen {
                    oneoff::Output::Animation(format) => renderer.render_animation_to_file_report(
                        &scene, &assets, &output, format, &options,
                    )?,
                    oneoff::Output::StillGif => {
                        let still = renderer.render_with(&scene, &assets, &options)?;
                        RenderedAnimation::still(still).save(&output, AnimationFormat::Gif)?;
                        Vec::new()
                    }
                    oneoff::Output::Still(format) => renderer
                        .render_to_file_report(&scene, &assets, &output, format, &options)?,
                };
                oneoff::print_warnings(&warnings);
                Ok(())
            };
            render().map_err(|e| template.attribute(e))
        }
        Command::Bench(_) | Command::Batch(_) | Command::Serve(_) | Command::Sign(_) => {
            unreachable!("run() handles bench, batch, serve and sign")
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn the_ignored_signals_mask_is_read_from_proc_status() {
        let status =
            "Name:\timpasto\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000000003\nSigCgt:\t0\n";
        let mask = sig_ign_mask(status).unwrap();
        assert_eq!(mask, 0b11, "SIGHUP (1) and SIGINT (2)");
        assert_eq!(sig_ign_mask("Name: x\n"), None);
        // This test process ignores SIGPIPE (Rust's runtime does) and not
        // SIGTERM.
        let ignored = ignored_signals();
        assert!(!ignored(signal_hook::consts::SIGTERM));
        if std::path::Path::new("/proc/self/status").exists() {
            assert!(ignored(signal_hook::consts::SIGPIPE));
        }
    }
}
