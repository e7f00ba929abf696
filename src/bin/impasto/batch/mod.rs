//! `impasto batch`: one template, many rows, one image per row. Rows are
//! streamed from CSV or JSON Lines into a bounded queue that N worker
//! threads take from, sharing one `Renderer` (on the GPU one thread renders
//! through the overlapped path and the workers encode and write); a
//! collector writes the manifest in row order and reports progress.
//! docs/batch.md is the guide.

mod case;
mod manifest;
mod output;
mod overlap;
mod pipeline;
mod progress;
mod rows;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use impasto::scene::quoted;
use impasto::{Error, Limits, Renderer, Template};

pub use progress::interrupted_line;

use manifest::Manifest;
use output::Pattern;
use rows::Source;

/// `impasto batch TEMPLATE --data ROWS --output PATTERN [options]`.
#[derive(Args, Debug)]
pub struct BatchArgs {
    /// The template: a scene with `variables` (docs/scene-format.md,
    /// Templates). Image paths are relative to its folder unless --assets.
    template: PathBuf,
    /// The rows: a .csv file whose header row names the columns, a .jsonl
    /// or .ndjson file (one JSON object per line), or - for JSON Lines on standard
    /// input. Columns (keys) are matched to variables by name; others are
    /// ignored, except that the output pattern may use them (`id`, say).
    #[arg(long, value_name = "ROWS")]
    data: PathBuf,
    /// The rows' format, whatever --data's name: csv (so - reads CSV from
    /// standard input) or jsonl.
    #[arg(long, value_enum, value_name = "FORMAT")]
    data_format: Option<rows::DataFormat>,
    /// Where each row's image goes, e.g. 'out/{{id}}.jpg': `{{column}}` is
    /// that row's value, `{{row}}` its number. The extension picks the
    /// format. No row may write outside the folder before the first `{{`
    /// (created when missing), nor to another row's file.
    #[arg(short, long, value_name = "PATTERN")]
    output: String,
    /// Render this many rows at once (default: the number of CPUs).
    #[arg(long, value_name = "N", value_parser = crate::numbers::whole::<u16>(1..=1024))]
    jobs: Option<u16>,
    /// Threads that drive the GPU side by side (default: up to three on a
    /// hardware GPU, one per five cores; one on a software adapter). No
    /// effect on the CPU backend.
    #[arg(long, value_name = "N", value_parser = crate::numbers::whole::<u16>(1..=64))]
    gpu_drivers: Option<u16>,
    /// Render only shard K of N (0 <= K < N): the rows whose 0-based index
    /// (row number - 1) is K modulo N. N processes with K = 0..N-1 render
    /// every row exactly once.
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    shard: Option<(u64, u64)>,
    /// Stop at the first failed row (rows already started finish).
    #[arg(long)]
    fail_fast: bool,
    /// Leave a row whose output file exists alone (status `skipped`), to
    /// resume a batch.
    #[arg(long)]
    skip_existing: bool,
    /// Write one JSON line per row, in row order: row, id, status (ok,
    /// skipped, failed), output, bytes, ms, for a failure error, variable,
    /// layer, field, and for a row written with warnings (characters no
    /// font has, a colour profile ignored, a file cut short) `warnings`:
    /// [{kind, message, layer, field, ...}] (docs/batch.md).
    #[arg(long, value_name = "FILE")]
    manifest: Option<PathBuf>,
    /// Which compositor renders.
    #[arg(long, value_enum, default_value_t = crate::BackendArg::Auto)]
    backend: crate::BackendArg,
    /// How the GPU backend composites layers (no effect on the CPU).
    #[arg(long, value_enum, default_value_t = crate::CompositorArg::Auto)]
    gpu_compositor: crate::CompositorArg,
    /// Folder that image `src` paths are relative to (default: the
    /// template's folder). Paths may not leave it.
    #[arg(long)]
    assets: Option<PathBuf>,
    #[command(flatten)]
    limits: crate::limit_args::LimitArgs,
    /// Most memory one row's render may need, in bytes (estimated before
    /// it is painted; a row over it fails). `--jobs` rows run at once.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_render_bytes, value_parser = crate::limit_args::at_least_one::<u64>)]
    max_render_bytes: u64,
    /// Give up on a row (it fails, no file written) when its render is not
    /// done within this many seconds; on a GPU, rows are then rendered one
    /// at a time rather than overlapped.
    #[arg(long, value_name = "SECONDS", value_parser = crate::parse_timeout)]
    timeout: Option<std::time::Duration>,
    /// JPEG, WebP and AVIF quality, 1..=100.
    #[arg(long, default_value_t = 85, value_parser = crate::numbers::whole::<u8>(1..=100))]
    quality: u8,
    /// A folder searched for fonts; may be given more than once.
    #[arg(long = "font-dir", value_name = "DIR")]
    font_dirs: Vec<PathBuf>,
    /// Use only the bundled fonts and --font-dir folders.
    #[arg(long)]
    no_system_fonts: bool,
    /// What characters no available font can draw do: `warn` draws them
    /// as empty boxes and lists them under the row's `warnings` in the
    /// manifest; `error` fails the row.
    #[arg(long, value_enum, default_value_t = crate::oneoff::MissingGlyphsArg::Warn)]
    missing_glyphs: crate::oneoff::MissingGlyphsArg,
    /// How far a JPEG drawn smaller than its size is shrunk in the DCT as
    /// it is decoded: `fast` keeps 1.25 times the pixels it is drawn
    /// with, `fine` twice them (closer to the full decode), `off` full size.
    #[arg(long, value_enum, default_value_t = crate::oneoff::ShrinkArg::Fast)]
    shrink_on_load: crate::oneoff::ShrinkArg,
    #[command(flatten)]
    caches: crate::caches::CacheArgs,
}

/// `K/N` with `K < N`.
fn parse_shard(s: &str) -> Result<(u64, u64), String> {
    let bad = || {
        format!(
            "{} is not a shard K/N with 0 <= K < N (e.g. 0/4)",
            quoted(s)
        )
    };
    let (k, n) = s.split_once('/').ok_or_else(bad)?;
    let k: u64 = k.trim().parse().map_err(|_| bad())?;
    let n: u64 = n.trim().parse().map_err(|_| bad())?;
    if n == 0 || k >= n {
        return Err(bad());
    }
    Ok((k, n))
}

/// Runs the batch: exit 0 when every row was written or skipped, 3 when
/// some failed; an `Err` (exit 2 for bad input, 1 otherwise) when the
/// batch could not run.
/// Why batch refuses an animated scene, the template's or a row's.
pub(crate) const STILLS_ONLY: &str =
    "batch writes still images; render an animation with `impasto render` (.gif, .png or .webp)";

pub fn run(args: BatchArgs) -> Result<ExitCode, Error> {
    let template = Template::from_path_limited(&args.template, &limits(&args))?;
    if template.always_animates() {
        // Every row would fail alike: refused before any.
        return Err(Error::Scene(impasto::SceneError {
            location: impasto::Location::Canvas,
            field: Some("animate".into()),
            message: format!("true: {STILLS_ONLY}"),
        }));
    }
    let pattern = Pattern::new(&args.output, args.quality)?;
    let source = Source::of(&args.data, args.data_format)?;
    let cap = rows::max_row_bytes(args.limits.apply(Limits::default()).max_image_file_bytes);
    let (rows, headers) = source.open(cap)?;
    if let Some(headers) = &headers {
        check_columns(&template, &pattern, headers)?;
    }
    let total = source.count(cap)?.map(|n| match args.shard {
        Some((k, m)) => n / m + u64::from(n % m > k),
        None => n,
    });
    let mut pattern = pattern;
    // A row's output may not be the batch's own inputs.
    pattern.keep(&args.template, "the template");
    if args.data != Path::new("-") {
        pattern.keep(&args.data, "the --data file");
    } else if Path::new("/dev/stdin").exists() {
        // Standard input redirected from a file: that file (Linux names
        // it through /dev/stdin; a pipe resolves to no file).
        pattern.keep(Path::new("/dev/stdin"), "the --data file (standard input)");
    }
    if let Some(m) = &args.manifest {
        // Before anything is opened for writing: the manifest must not
        // overwrite the batch's own inputs, nor take a row's output.
        manifest::check_clashes(m, &args.template, &args.data, &mut pattern)?;
    }
    let renderer = renderer(&args)?;
    let manifest = args.manifest.as_deref().map(Manifest::create).transpose()?;
    let jobs = match args.jobs {
        Some(n) => usize::from(n),
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let ctx = pipeline::Context {
        template: &template,
        renderer: &renderer,
        quality: args.quality,
        jobs,
        gpu_drivers: args
            .gpu_drivers
            .map_or_else(|| crate::gpu_drivers::auto(&renderer), usize::from),
        shard: args.shard,
        fail_fast: args.fail_fast,
        skip_existing: args.skip_existing,
        timeout: args.timeout,
    };
    let counts = pipeline::run(&ctx, rows, pattern, manifest, total)?;
    Ok(if counts.failed > 0 {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}

/// With CSV the columns are known first: the output pattern's and the
/// required variables' must exist (else every row would fail); columns
/// that are neither variables, `id` nor in the pattern are ignored, with a
/// warning.
fn check_columns(template: &Template, pattern: &Pattern, headers: &[String]) -> Result<(), Error> {
    let required: Vec<&str> = template
        .variables()
        .iter()
        .filter(|v| v.required && !headers.contains(&v.name))
        .map(|v| v.name.as_str())
        .collect();
    if !required.is_empty() {
        // A column misspelling one of them, named.
        let hints: Vec<String> = headers
            .iter()
            .filter(|h| template.variable(h).is_none())
            .filter_map(|h| {
                let v = template.closest_variable(h)?;
                required
                    .contains(&v)
                    .then(|| format!("; is the column {} meant to be {}?", quoted(h), quoted(v)))
            })
            .collect();
        return Err(Error::Options(format!(
            "--data has no column for the required variable{} {} (columns: {}){}",
            if required.len() > 1 { "s" } else { "" },
            required.join(", "),
            headers
                .iter()
                .map(|h| quoted(h).to_string())
                .collect::<Vec<_>>()
                .join(", "),
            hints.concat()
        )));
    }
    let missing = pattern.missing_keys(headers);
    if !missing.is_empty() {
        return Err(Error::Options(format!(
            "--output uses {} but the data has no such column (columns: {})",
            missing
                .iter()
                .map(|k| quoted(k).to_string())
                .collect::<Vec<_>>()
                .join(", "),
            headers
                .iter()
                .map(|h| quoted(h).to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let unused: Vec<(usize, &str)> = headers
        .iter()
        .map(String::as_str)
        .enumerate()
        .filter(|(_, h)| *h != "id" && template.variable(h).is_none())
        .filter(|(_, h)| !pattern.uses(h))
        // Unnamed columns (a spreadsheet's trailing empty ones) are not
        // read, and not worth a line.
        .filter(|(_, h)| !h.trim().is_empty())
        .collect();
    if !unused.is_empty() {
        // Each with the variable it may be a misspelling of; a column
        // without a name (a header row ending in a comma) by its number.
        let shown: Vec<String> = unused
            .iter()
            .map(|&(_, h)| match template.closest_variable(h) {
                Some(v) => format!("{} (did you mean {}?)", quoted(h), quoted(v)),
                None => quoted(h).to_string(),
            })
            .collect();
        eprintln!(
            "impasto: --data: columns that are not template variables are ignored: {}",
            crate::one_line(&shown.join(", "))
        );
    }
    Ok(())
}

/// The limits of every row's render, and of the template's parse.
fn limits(args: &BatchArgs) -> Limits {
    args.limits.apply(Limits {
        max_render_bytes: args.max_render_bytes,
        ..Limits::default()
    })
}

fn renderer(args: &BatchArgs) -> Result<Renderer, Error> {
    let mut renderer = Renderer::new(args.backend.into())?
        .with_gpu_compositor(args.gpu_compositor.into())
        .with_limits(limits(args));
    if let Some(root) = &args.assets {
        crate::oneoff::check_folder("--assets", root)?;
        renderer = renderer.with_asset_root(root);
    }
    for dir in &args.font_dirs {
        crate::oneoff::check_folder("--font-dir", dir)?;
        renderer = renderer.with_font_dir(dir);
    }
    Ok(args.caches.apply(
        renderer
            .with_system_fonts(!args.no_system_fonts)
            .with_missing_glyphs(args.missing_glyphs.into())
            .with_shrink_on_load_mode(args.shrink_on_load.into()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_options_size_the_batchs_renderer() {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            batch: BatchArgs,
        }
        let cli = <Cli as clap::Parser>::parse_from([
            "t",
            "card.json",
            "--data",
            "rows.csv",
            "-o",
            "out/{{id}}.png",
            "--backend",
            "cpu",
            "--asset-cache-bytes",
            "12345",
            "--placed-cache-bytes",
            "0",
        ]);
        let r = renderer(&cli.batch).unwrap();
        assert_eq!(r.asset_cache_stats().budget, 12345);
        assert_eq!(r.placed_cache_stats().budget, 0);
    }

    #[test]
    fn shards_are_k_of_n_with_k_below_n() {
        assert_eq!(parse_shard("0/4"), Ok((0, 4)));
        assert_eq!(parse_shard("3/4"), Ok((3, 4)));
        for bad in ["4/4", "1/0", "a/2", "2", "-1/3"] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
    }
}
