//! The run: a walker thread feeding a bounded channel, and worker threads
//! sharing one `Renderer` that render each image through a one-layer scene.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Mutex;

use impasto::scene::Fit;
use impasto::{Layer, Renderer, Scene};

use impasto::codec::OutputFormat;

use crate::options::{thumbnail_size, Args, FitArg, FormatArg};
use crate::report::Reporter;
use crate::walk::{walk, Found};

/// Exit status when every file was converted (unsupported formats aside).
pub const EXIT_OK: u8 = 0;
/// Exit status when the run could not start for another reason (no GPU).
pub const EXIT_FAILURE: u8 = 1;
/// Exit status for bad arguments.
pub const EXIT_USAGE: u8 = 2;
/// Exit status when some files failed.
pub const EXIT_SOME_FAILED: u8 = 3;

/// Runs the command line `args` (the program's name first): messages and
/// the summary go to `err`, with a progress bar instead of a line per file
/// when `terminal`. Returns the exit status.
pub fn run_cli(
    args: impl IntoIterator<Item = OsString>,
    mut err: Box<dyn Write + Send>,
    terminal: bool,
) -> u8 {
    let args = match Args::parse_from_os(args) {
        Ok(a) => a,
        Err(e) => {
            if !e.use_stderr() {
                // --help and --version go to stdout.
                let _ = e.print();
                return EXIT_OK;
            }
            let _ = write!(err, "{}", e.render());
            return EXIT_USAGE;
        }
    };
    if !args.input_dir.is_dir() {
        let _ = writeln!(
            err,
            "thumbnails: {}: not a folder",
            impasto::scene::shown_path(&args.input_dir)
        );
        return EXIT_USAGE;
    }
    let made = Made::default();
    made.note_missing(&args.output_dir);
    if let Err(e) = std::fs::create_dir_all(&args.output_dir) {
        let _ = writeln!(
            err,
            "thumbnails: cannot make the output folder {}: {e}",
            impasto::scene::shown_path(&args.output_dir)
        );
        return EXIT_USAGE;
    }
    // The thumbnails of a folder written into it would replace its photos.
    let same =
        std::fs::canonicalize(&args.input_dir).ok() == std::fs::canonicalize(&args.output_dir).ok();
    if same {
        let _ = writeln!(
            err,
            "thumbnails: the output folder {} is the input folder: the thumbnails would replace the images; give another folder",
            impasto::scene::shown_path(&args.output_dir)
        );
        return EXIT_USAGE;
    }
    let status = convert(&args, err, terminal, &made);
    made.remove_empty();
    status
}

/// Converts the files once the folders are checked; the exit status.
fn convert(args: &Args, mut err: Box<dyn Write + Send>, terminal: bool, made: &Made) -> u8 {
    let renderer = match Renderer::new(args.backend.backend()) {
        Ok(r) => r
            // Thumbnails have no text, and each file is used once: no fonts,
            // no decoded files kept (memory stays that of the images in flight).
            .with_system_fonts(false)
            .with_asset_cache_budget(0)
            .with_asset_root(&args.input_dir)
            .with_shrink_on_load_mode(args.shrink_on_load.mode())
            .with_limits(impasto::Limits {
                max_render_bytes: args.max_render_bytes,
                ..impasto::Limits::default()
            }),
        Err(e) => {
            let _ = writeln!(err, "thumbnails: {e}");
            return EXIT_FAILURE;
        }
    };
    let reporter = Reporter::new(err, terminal);
    run(args, &renderer, &reporter, made);
    let summary = reporter.finish();
    if summary.failed > 0 {
        EXIT_SOME_FAILED
    } else {
        EXIT_OK
    }
}

/// Walks, renders with `args.workers()` threads and reports every file.
fn run(args: &Args, renderer: &Renderer, reporter: &Reporter, made: &Made) {
    let workers = args.workers();
    let ext = args.format.extension();
    // Room for two files per worker: the walk stays just ahead of the work.
    let (tx, rx) = sync_channel::<Found>(workers * 2);
    let rx = Mutex::new(rx);
    // How the folders nest, found once (the output folder is made by now).
    let nesting = crate::walk::nesting(&args.input_dir, &args.output_dir);
    std::thread::scope(|s| {
        if reporter.has_bar() {
            s.spawn(|| count(args, ext, reporter));
        }
        s.spawn(move || walk(&args.input_dir, &args.output_dir, ext, &tx));
        for _ in 0..workers {
            s.spawn(|| work(args, renderer, reporter, &rx, made, nesting));
        }
    });
}

/// Counts the files for the progress bar's length, by a walk of its own
/// (names only, nothing kept).
fn count(args: &Args, ext: &str, reporter: &Reporter) {
    let (tx, rx) = sync_channel::<Found>(256);
    std::thread::scope(|s| {
        s.spawn(move || walk(&args.input_dir, &args.output_dir, ext, &tx));
        for found in rx {
            let files = match found {
                Found::Image { others, .. } => 1 + others.len(),
                _ => 1,
            };
            reporter.add_to_do(files as u64);
        }
    });
}

/// One worker: takes the next file until the walk is done.
fn work(
    args: &Args,
    renderer: &Renderer,
    reporter: &Reporter,
    rx: &Mutex<Receiver<Found>>,
    made: &Made,
    nesting: Option<&'static str>,
) {
    loop {
        let next = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
        match next {
            Err(_) => return, // the walk is over and everything is taken
            Ok(Found::Failed { path, why }) => reporter.failed(&path, &why),
            Ok(Found::Unsupported { path, why }) => reporter.unsupported(&path, &why),
            Ok(Found::Image {
                input,
                output,
                others,
            }) => {
                // The first file of the name that renders makes the
                // thumbnail; the files after it are reported.
                let mut made_from: Option<PathBuf> = None;
                for file in std::iter::once(&input).chain(&others) {
                    if let Some(winner) = &made_from {
                        let why = format!(
                            "its thumbnail {} is made from {}, a file of the same name before it",
                            impasto::scene::shown_path(&output),
                            impasto::scene::shown_path(winner)
                        );
                        reporter.failed(file, &why);
                        continue;
                    }
                    match thumbnail(args, renderer, file, &output, made, nesting) {
                        Ok(size) => {
                            reporter.written(file, &output, size);
                            made_from = Some(file.clone());
                        }
                        Err(why) => reporter.failed(file, &why),
                    }
                }
            }
        }
    }
}

/// Refuses to write over an image at `output` that is not this run's
/// thumbnail of its input (`size`), when the output folder and the input
/// folder nest: an output folder inside the input is not walked, and one
/// holding the input holds other files beside it, so a photo there would
/// have been replaced by a namesake's thumbnail. `nesting`: how the folders
/// nest ([`crate::walk::nesting`]). An image of the thumbnail's size may be
/// a thumbnail an earlier run made, to be replaced (runs repeat), or a
/// photo that happens to have that size: `Ok(Some(how))` says it is to be
/// judged once the new thumbnail is made ([`earlier_thumbnail`]). A JPEG
/// thumbnail an earlier run made, at any size or quality, carries the mark
/// ([`crate::mark`]) and is replaced.
fn refuse_to_replace(
    nesting: Option<&'static str>,
    output: &Path,
    size: (u32, u32),
    format: OutputFormat,
) -> Result<Option<&'static str>, String> {
    let Some(how) = nesting else {
        return Ok(None);
    };
    if !output.exists() {
        return Ok(None);
    }
    if matches!(format, OutputFormat::Jpeg { .. }) && head_is_marked(output) {
        return Ok(None);
    }
    let found = impasto::codec::probe_file(output, u64::MAX).ok();
    if found == Some(size) {
        return Ok(Some(how));
    }
    let what = match found {
        Some((w, h)) => format!("an image of {w}x{h}"),
        None => "a file that is no image impasto reads".into(),
    };
    Err(not_a_thumbnail(output, &what, size, how))
}

/// Whether the file at `path` is a JPEG carrying the thumbnails' mark (its
/// first 64 KiB read, where the mark is when it is there).
fn head_is_marked(path: &Path) -> bool {
    use std::io::Read;
    let mut head = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(64 << 10).read_to_end(&mut head))
        .is_ok_and(|_| crate::mark::is_marked(&head))
}

/// The refusal to replace `what` at `output`.
fn not_a_thumbnail(output: &Path, what: &str, size: (u32, u32), how: &str) -> String {
    format!(
        "its thumbnail {} would replace {what}, not a {}x{} thumbnail of it (the output folder {how}): remove that file, or give an output folder apart from the input",
        impasto::scene::shown_path(output),
        size.0,
        size.1
    )
}

/// Refuses to replace the image at `output`, of the thumbnail's size,
/// unless an earlier run made it: the new thumbnail's very bytes, or a
/// lossless thumbnail with its very pixels (`encoded`, in `format`). (A JPEG
/// carrying the thumbnails' mark is let through before the render, by
/// [`refuse_to_replace`].) A photo that has the thumbnail's name and size
/// is kept, however alike.
fn earlier_thumbnail(
    output: &Path,
    encoded: &[u8],
    format: OutputFormat,
    size: (u32, u32),
    how: &str,
) -> Result<(), String> {
    let there = std::fs::read(output).map_err(|e| {
        format!(
            "cannot read {}, which its thumbnail would replace: {e}",
            impasto::scene::shown_path(output)
        )
    })?;
    if there == encoded {
        return Ok(());
    }
    let what = match format {
        OutputFormat::Jpeg { .. } => "a JPEG without the mark this tool's thumbnails carry",
        _ => {
            let pixels = u64::from(size.0) * u64::from(size.1);
            let decode = |b: &[u8]| impasto::codec::decode_bytes(b, pixels).ok();
            if decode(&there).is_some_and(|a| Some(a) == decode(encoded)) {
                return Ok(());
            }
            "an image whose pixels are not this thumbnail's"
        }
    };
    Err(not_a_thumbnail(
        output,
        &format!("{what}, of {}x{}", size.0, size.1),
        size,
        how,
    ))
}

/// Renders the thumbnail of `input` to `output`; its size.
fn thumbnail(
    args: &Args,
    renderer: &Renderer,
    input: &Path,
    output: &Path,
    made: &Made,
    nesting: Option<&'static str>,
) -> Result<(u32, u32), String> {
    let src = input
        .strip_prefix(&args.input_dir)
        .ok()
        .and_then(Path::to_str)
        .ok_or("the path is not UTF-8, which scenes need")?;
    // The oriented size, from the header: the canvas is the thumbnail.
    let (w, h) = impasto::codec::probe_file(input, renderer.limits().max_image_pixels)
        .map_err(|e| e.to_string())?;
    let (tw, th) = thumbnail_size(args, w, h);
    let format = match args.format {
        FormatArg::Jpg => OutputFormat::Jpeg {
            quality: args.quality,
        },
        FormatArg::Webp => OutputFormat::WebPLossless,
        FormatArg::Png => OutputFormat::Png,
    };
    let compare = refuse_to_replace(nesting, output, (tw, th), format)?;
    let fit = match args.fit {
        // The canvas has the image's shape, to the rounding of a pixel.
        FitArg::Contain => Fit::Fill,
        FitArg::Cover => Fit::Cover,
    };
    let scene = Scene::new(tw, th).layer(Layer::image(src).size(tw, th).fit(fit));
    if let Some(dir) = output.parent() {
        made.note_missing(dir);
        std::fs::create_dir_all(dir).map_err(|e| {
            format!(
                "cannot make the folder {}: {e}",
                impasto::scene::shown_path(dir)
            )
        })?;
    }
    let assets = impasto::Assets::new();
    let rendered = renderer
        .render_encoded(&scene, &assets, format, &Default::default())
        .map_err(|e| e.to_string())?;
    let mut bytes = rendered.encode().map_err(|e| e.to_string())?;
    if matches!(format, OutputFormat::Jpeg { .. }) {
        bytes = crate::mark::marked(bytes);
    }
    if let Some(how) = compare {
        earlier_thumbnail(output, &bytes, format, (tw, th), how)?;
    }
    for w in rendered.warnings() {
        log::warn!("{w}");
    }
    impasto::codec::write_file(output, &bytes).map_err(|e| e.to_string())?;
    Ok((tw, th))
}

/// The folders this run made, so that those left empty (every file in
/// them failed) are removed at the end rather than left behind.
#[derive(Default)]
struct Made(Mutex<Vec<PathBuf>>);

impl Made {
    /// Notes `dir` and its ancestors that do not exist yet (about to be
    /// made by `create_dir_all`).
    fn note_missing(&self, dir: &Path) {
        let mut list = self.0.lock().unwrap_or_else(|p| p.into_inner());
        for d in dir.ancestors() {
            if d.as_os_str().is_empty() || d.exists() {
                break;
            }
            if !list.iter().any(|m| m == d) {
                list.push(d.to_path_buf());
            }
        }
    }

    /// Removes the noted folders that are empty, deepest first (a folder
    /// holding a thumbnail, or anything else, stays).
    fn remove_empty(&self) {
        let mut list = std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()));
        list.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        for d in list {
            // Fails, as it should, where the folder is not empty.
            let _ = std::fs::remove_dir(&d);
        }
    }
}
