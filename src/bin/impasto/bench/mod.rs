//! `impasto bench`: a fixed suite of cases, each with warm-up runs and timed
//! repetitions, on the CPU backend, the GPU backend or both; and `impasto
//! bench compare`, which compares two of its JSON reports. The report format
//! and how to read it are in docs/benchmark-harness.md.

mod cases;
mod compare;
mod report;
mod stats;
mod suite;
mod table;
mod threads;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use impasto::{Backend, Error, GpuCompositor, Renderer};

use report::{Adapter, BackendReport, CaseReport, Report, Status, System};
use suite::{Fixtures, Suite};

/// `impasto bench [options]` or `impasto bench compare OLD NEW`.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BenchArgs {
    #[command(subcommand)]
    command: Option<BenchCommand>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand, Debug)]
enum BenchCommand {
    /// Compare two JSON reports: each case's p50 latency and images/s per
    /// backend. Exit status 1 when a case regressed by more than the
    /// threshold, 2 when the files cannot be read or do not match.
    Compare {
        /// The baseline report (`impasto bench --json`).
        old: PathBuf,
        /// The report to check against it.
        new: PathBuf,
        /// Largest accepted slowdown, in percent: p50 latency up by more,
        /// or images/s down by more, is a regression.
        #[arg(long, value_name = "PCT", default_value_t = 10.0,
              value_parser = compare::parse_threshold)]
        threshold: f64,
    },
}

#[derive(Args, Debug)]
struct RunArgs {
    /// Which backends to measure: `all` is the CPU and the GPU (on any
    /// adapter wgpu finds; reported as skipped when there is none).
    #[arg(long, value_enum, default_value_t = BenchBackend::All)]
    backend: BenchBackend,
    /// `quick`: a smoke run of every case; `standard`: figures worth comparing.
    #[arg(long, value_enum, default_value_t = Suite::Quick)]
    suite: Suite,
    /// Write the report as JSON to FILE (schema: docs/benchmark-harness.md).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write the report as a Markdown table to FILE.
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
    /// Untimed runs of each case before the timed ones (default: the suite's).
    #[arg(long, value_name = "N", value_parser = crate::numbers::whole::<u32>(0..=u32::MAX))]
    warmup: Option<u32>,
    /// Timed runs of each case (default: the suite's).
    #[arg(long, value_name = "N", value_parser = crate::numbers::whole::<u32>(1..=u32::MAX))]
    reps: Option<u32>,
    /// How the GPU backend composites: `auto` (the renderer's default,
    /// reported as backend `gpu`), `fragment` (render pipelines, reported
    /// as `gpu-fragment`), `compute` (compute dispatches, `gpu-compute`), or
    /// `both` (the last two, one after the other).
    #[arg(long, value_enum, default_value_t = Compositors::Auto)]
    gpu_compositor: Compositors,
    /// Threads that drive the GPU side by side in the batch cases
    /// (`social_cards_batch`, `thumbnails`), each over its share of the
    /// images (default: up to three on a hardware GPU, one per five cores;
    /// one on a software adapter). No effect on the CPU backend.
    #[arg(long, value_name = "N", value_parser = crate::numbers::whole::<u16>(1..=64))]
    gpu_drivers: Option<u16>,
    /// Run only this case (repeat the option for several; default: every
    /// case).
    #[arg(long = "case", value_name = "NAME",
          value_parser = clap::builder::PossibleValuesParser::new(cases::CASES.map(|(n, _)| n)))]
    cases: Vec<String>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Compositors {
    /// `GpuCompositor::Auto`, reported as backend `gpu`.
    Auto,
    /// `GpuCompositor::Fragment`, reported as backend `gpu-fragment`.
    Fragment,
    /// `GpuCompositor::Compute`, reported as backend `gpu-compute`.
    Compute,
    /// `gpu-fragment` and `gpu-compute`.
    Both,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum BenchBackend {
    /// The CPU backend.
    Cpu,
    /// The GPU backend; an error when wgpu finds no adapter.
    Gpu,
    /// Both; the GPU's cases are reported as skipped when there is no adapter.
    All,
}

/// Runs `impasto bench`: exit status 0, or 1 when a case failed or (for
/// `compare`) regressed.
pub fn run(args: BenchArgs) -> Result<ExitCode, Error> {
    match args.command {
        Some(BenchCommand::Compare {
            old,
            new,
            threshold,
        }) => compare::run(&old, &new, threshold),
        None => run_suite(&args.run),
    }
}

/// A backend to measure: its name, and the GPU compositor (`None` for the
/// CPU backend).
type Spec = (&'static str, Option<GpuCompositor>);

/// The backends to measure, in order.
fn specs(which: BenchBackend, paths: Compositors) -> Vec<Spec> {
    let mut out = Vec::new();
    if which != BenchBackend::Gpu {
        out.push(("cpu", None));
    }
    if which != BenchBackend::Cpu {
        match paths {
            Compositors::Auto => out.push(("gpu", Some(GpuCompositor::Auto))),
            Compositors::Fragment => out.push(("gpu-fragment", Some(GpuCompositor::Fragment))),
            Compositors::Compute => out.push(("gpu-compute", Some(GpuCompositor::Compute))),
            Compositors::Both => {
                out.push(("gpu-fragment", Some(GpuCompositor::Fragment)));
                out.push(("gpu-compute", Some(GpuCompositor::Compute)));
            }
        }
    }
    out
}

/// The renderer of one backend. Bundled fonts only, so text costs the same
/// everywhere; no decoded-image cache, so `poster` decodes its files in
/// every repetition, as its first render does (the other cases' images are
/// in memory or decoded by the case itself); no resampled-image cache on
/// either backend, so every repetition uploads and resamples, as a single
/// render does.
fn make_renderer(compositor: Option<GpuCompositor>) -> Result<Renderer, Error> {
    let r = match compositor {
        None => Renderer::new(Backend::Cpu)?,
        Some(c) => Renderer::new(Backend::Gpu)?.with_gpu_compositor(c),
    };
    Ok(r.with_system_fonts(false)
        .with_asset_cache_budget(0)
        .with_placed_cache_budget(0)
        .with_gpu_placed_cache_budget(0))
}

/// Refuses an output path whose folder does not exist before the run,
/// rather than after minutes of measuring.
fn check_output(path: &Option<PathBuf>) -> Result<(), Error> {
    let Some(path) = path else { return Ok(()) };
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    match parent {
        Some(dir) if !dir.is_dir() => Err(Error::Output(format!(
            "{}: folder {} does not exist",
            impasto::scene::shown_path(path),
            impasto::scene::shown_path(dir)
        ))),
        _ if path.is_dir() => Err(Error::Output(format!(
            "{}: is a folder; give a file name",
            impasto::scene::shown_path(path)
        ))),
        _ => Ok(()),
    }
}

fn run_suite(args: &RunArgs) -> Result<ExitCode, Error> {
    check_output(&args.json)?;
    check_output(&args.markdown)?;
    let params = args.suite.params();
    let (warmup, reps) = (
        args.warmup.unwrap_or(params.warmup),
        args.reps.unwrap_or(params.reps),
    );
    let timestamp = report::timestamp_now();
    let specs = specs(args.backend, args.gpu_compositor);
    let fixtures = Fixtures::new(&params)?;
    let selected: Vec<(&str, &str)> = cases::CASES
        .into_iter()
        .filter(|(n, _)| args.cases.is_empty() || args.cases.iter().any(|c| c == n))
        .collect();
    // Each backend's renderer is made just before its cases (the inputs
    // are built first) and dropped after them, so that no device sits idle
    // while inputs are made or another backend runs (an idle H100 drops its
    // clock and a ten-millisecond case does not raise it again:
    // BENCHMARKS.md, "On an NVIDIA H100 again"). With `--backend gpu` a
    // first GPU that cannot be opened is an error before any case runs; a
    // later one (`--gpu-compositor both`) is reported as skipped, keeping
    // the figures already measured, as any GPU is under `all`.
    let drivers = args.gpu_drivers.map(usize::from);
    let mut backends = Vec::with_capacity(specs.len());
    for &(name, compositor) in &specs {
        let renderer = match make_renderer(compositor) {
            Ok(r) => r,
            Err(e)
                if compositor.is_none()
                    || (args.backend == BenchBackend::Gpu && backends.is_empty()) =>
            {
                return Err(e)
            }
            Err(e) => {
                let why = e.to_string();
                backends.push(skipped_backend(
                    name,
                    &why,
                    &selected,
                    &fixtures,
                    (warmup, reps),
                ));
                continue;
            }
        };
        backends.push(run_backend(
            name,
            &renderer,
            &selected,
            &fixtures,
            (warmup, reps),
            drivers,
        ));
    }
    let report = Report {
        schema: report::SCHEMA.into(),
        suite: args.suite.name().into(),
        timestamp,
        impasto_version: env!("CARGO_PKG_VERSION").into(),
        git_revision: report::git_revision(),
        warmup,
        reps,
        system: System::detect(),
        adapters: impasto::list_adapters().iter().map(Into::into).collect(),
        backends,
    };
    crate::print_out(&table::text(&report))?;
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report)
            .map_err(|e| Error::Options(format!("report: {e}")))?;
        write(path, json + "\n")?;
    }
    if let Some(path) = &args.markdown {
        write(path, table::markdown(&report))?;
    }
    let failed = report
        .backends
        .iter()
        .flat_map(|b| &b.cases)
        .any(|c| c.status == Status::Failed);
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn write(path: &Path, text: String) -> Result<(), Error> {
    std::fs::write(path, text).map_err(|e| suite::io_error(path, e))
}

fn run_backend(
    name: &str,
    renderer: &Renderer,
    selected: &[(&str, &str)],
    fx: &Fixtures,
    (warmup, reps): (u32, u32),
    drivers: Option<usize>,
) -> BackendReport {
    let adapter = renderer.adapter().map(Adapter::from);
    let drivers = drivers.unwrap_or_else(|| crate::gpu_drivers::auto(renderer));
    let cases = selected
        .iter()
        .map(|&case| {
            eprintln!("impasto bench: {name} {} ...", case.0);
            let report = cases::run_case(case, renderer, fx, (warmup, reps), drivers);
            if let Some(reason) = &report.reason {
                eprintln!("impasto bench: {name} {} failed: {reason}", case.0);
            }
            report
        })
        .collect();
    BackendReport {
        backend: name.into(),
        status: Status::Ok,
        reason: None,
        gpu_drivers: adapter.is_some().then_some(drivers),
        adapter,
        threads: rayon::current_num_threads(),
        cases,
    }
}

/// A backend that could not run here: every case listed as skipped, with
/// the reason.
fn skipped_backend(
    name: &str,
    reason: &str,
    selected: &[(&str, &str)],
    fx: &Fixtures,
    (warmup, reps): (u32, u32),
) -> BackendReport {
    eprintln!("impasto bench: {name} skipped: {reason}");
    let cases = selected
        .iter()
        .map(|&(case, description)| CaseReport {
            name: case.into(),
            description: description.into(),
            status: Status::Skipped,
            reason: Some(reason.into()),
            images_per_rep: cases::images_per_rep(case, fx),
            warmup,
            reps,
            latency_ms: None,
            images_per_second: None,
            samples_ms: Vec::new(),
            threads: None,
        })
        .collect();
    BackendReport {
        backend: name.into(),
        status: Status::Skipped,
        reason: Some(reason.into()),
        adapter: None,
        threads: rayon::current_num_threads(),
        gpu_drivers: None,
        cases,
    }
}
