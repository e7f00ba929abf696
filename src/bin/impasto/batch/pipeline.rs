//! The batch's threads: the reader (this thread) streams rows into a
//! bounded queue, N workers render from it with one shared `Renderer` (on
//! the GPU, `gpu.rs`: one to three driving threads render them overlapped
//! and the N workers encode and write), and a collector puts outcomes back
//! in row order for the manifest.
//!
//! Memory stays flat: the queue holds at most 2N rows, and the reader waits
//! while it is more than `WINDOW` rows ahead of the last row written in
//! order, so the reorder buffer never holds more than `WINDOW` outcomes.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Instant;

use impasto::codec::OutputFormat;
use impasto::scene::quoted;
use impasto::{
    Assets, Backend, Error, Location, RenderOptions, Renderer, SceneError, Template, Warning,
};

use super::manifest::{Failure, Manifest, Outcome, Reorder, Status};
use super::output::Pattern;
use super::overlap::Overlap;
use super::progress::{Counts, Progress};
use super::rows::{RowData, Rows};

mod gpu;

/// How far the reader may run ahead of the manifest, per worker.
const WINDOW_PER_JOB: u64 = 16;

/// What every thread reads.
pub struct Context<'a> {
    pub template: &'a Template,
    pub renderer: &'a Renderer,
    pub quality: u8,
    pub jobs: usize,
    /// Threads driving the GPU side by side (each takes its own groups of
    /// rows); unused on the CPU.
    pub gpu_drivers: usize,
    pub shard: Option<(u64, u64)>,
    pub fail_fast: bool,
    pub skip_existing: bool,
    /// Each row's deadline (`--timeout`).
    pub timeout: Option<std::time::Duration>,
}

impl Context<'_> {
    /// The options of one row's render: its deadline from now.
    pub fn row_options(&self) -> RenderOptions {
        self.timeout
            .map_or_else(RenderOptions::default, RenderOptions::with_timeout)
    }
}

/// A row to render.
struct Job {
    seq: u64,
    row: u64,
    id: Option<String>,
    output: PathBuf,
    /// When a worker took the row (until then, when the reader made it).
    start: Instant,
}

/// A row in the queue: the job, and its scene as the reader bound it (to
/// know the files it draws), or why it does not bind (the row's failure,
/// reported by its worker). Bound once: workers render this scene.
struct Queued {
    job: Job,
    scene: Result<impasto::Scene, Error>,
}

/// What the threads share: where the batch stops (fail-fast, or the
/// collector gave up) and how many rows are written in order (the reader's
/// window).
struct Shared {
    /// The first row (by `seq`) not to start: `u64::MAX` while none
    /// failed under `--fail-fast`, one past the earliest failed row after
    /// (rows before it still run, so the first failure in row order is
    /// the one reported, whichever thread found it first), 0 when the
    /// collector gave up.
    limit: AtomicU64,
    done: Mutex<u64>,
    moved: Condvar,
}

impl Default for Shared {
    fn default() -> Shared {
        Shared {
            limit: AtomicU64::new(u64::MAX),
            done: Mutex::new(0),
            moved: Condvar::new(),
        }
    }
}

impl Shared {
    /// Whether the batch is stopping: no further row is read.
    fn stopped(&self) -> bool {
        self.limit.load(Ordering::Relaxed) != u64::MAX
    }

    /// Whether row `seq` may still start.
    fn runs(&self, seq: u64) -> bool {
        seq < self.limit.load(Ordering::Relaxed)
    }

    /// Row `seq` failed under `--fail-fast`: no later row starts.
    fn stop_after(&self, seq: u64) {
        self.limit.fetch_min(seq + 1, Ordering::Relaxed);
    }

    /// `done` rows are written in order; `stop` stops every row not yet
    /// started (the collector gave up).
    fn set_done(&self, done: u64, stop: bool) {
        let mut d = self.done.lock().unwrap_or_else(PoisonError::into_inner);
        *d = done;
        if stop {
            self.limit.store(0, Ordering::Relaxed);
        }
        self.moved.notify_all();
    }

    /// Waits until row `seq` is within `window` of the rows written.
    fn wait_window(&self, seq: u64, window: u64) {
        let mut d = self.done.lock().unwrap_or_else(PoisonError::into_inner);
        while seq >= *d + window && !self.stopped() {
            d = self.moved.wait(d).unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// Runs every row; the counts, or why the batch had to stop.
pub fn run(
    ctx: &Context<'_>,
    rows: Rows,
    pattern: Pattern,
    manifest: Option<Manifest>,
    total: Option<u64>,
) -> Result<Counts, Error> {
    let shared = Shared::default();
    let (job_tx, job_rx) = sync_channel::<Queued>(ctx.jobs * 2);
    let job_rx = Mutex::new(job_rx);
    let (res_tx, res_rx) = channel::<Outcome>();
    // On the GPU, `gpu_drivers` threads drive the device through the
    // overlapped path, each over its own groups of rows, and the workers
    // encode and write what they render.
    let on_gpu = ctx.renderer.backend() == Backend::Gpu;
    let (img_tx, img_rx) = sync_channel::<gpu::Rendered>(ctx.jobs);
    let img_rx = Mutex::new(img_rx);
    std::thread::scope(|s| {
        for _ in 0..ctx.jobs {
            let (res_tx, job_rx, shared) = (res_tx.clone(), &job_rx, &shared);
            if on_gpu {
                let img_rx = &img_rx;
                s.spawn(move || gpu::write_work(ctx, img_rx, res_tx, shared));
            } else {
                s.spawn(move || work(ctx, job_rx, res_tx, shared));
            }
        }
        if on_gpu {
            for _ in 0..ctx.gpu_drivers.max(1) {
                let (img_tx, res_tx) = (img_tx.clone(), res_tx.clone());
                let (job_rx, shared) = (&job_rx, &shared);
                s.spawn(move || gpu::drive(ctx, job_rx, img_tx, res_tx, shared));
            }
        }
        // The writers stop once every driver has dropped its sender.
        drop(img_tx);
        let shared_ref = &shared;
        let collector = s.spawn(move || collect(res_rx, manifest, total, shared_ref));
        let read = read(ctx, rows, pattern, job_tx, res_tx, &shared);
        let collected = collector
            .join()
            .unwrap_or_else(|_| Err(Error::Internal("the batch collector panicked".into())));
        read.and(collected)
    })
}

/// The variable an image layer's `src` takes its value from, if any (the
/// template's own attribution of an error in that field).
fn src_variable(template: &Template, layer: usize) -> Option<String> {
    let in_src = Error::Scene(SceneError {
        location: Location::Layer {
            index: layer,
            kind: Some("image".into()),
        },
        field: Some("src".into()),
        message: String::new(),
    });
    match template.attribute(in_src) {
        Error::Template(t) => t.variable().map(str::to_owned),
        _ => None,
    }
}

/// Warns, once per name, of a JSON Lines key that is neither a template
/// variable, `id`, nor used by the output pattern: it is ignored, and is
/// most often a misspelt optional variable (whose default is then drawn).
/// CSV warns of such columns up front, from its header.
fn warn_ignored_keys(
    template: &Template,
    pattern: &Pattern,
    row: u64,
    map: &serde_json::Map<String, serde_json::Value>,
    warned: &mut HashSet<String>,
) {
    for key in map.keys() {
        if key == "id" || template.variable(key).is_some() || pattern.uses(key) {
            continue;
        }
        if warned.insert(key.clone()) {
            let hint = template
                .closest_variable(key)
                .map(|v| format!("; did you mean {}?", quoted(v)))
                .unwrap_or_default();
            eprintln!(
                "impasto: --data: row {row}: {} is not a template variable and is ignored{hint}",
                crate::one_line(&quoted(key).to_string())
            );
        }
    }
}

/// The reader: every row of this shard, in order, to a worker or (when it
/// fails or is skipped before rendering) straight to the collector.
fn read(
    ctx: &Context<'_>,
    mut rows: Rows,
    mut pattern: Pattern,
    jobs: SyncSender<Queued>,
    results: Sender<Outcome>,
    shared: &Shared,
) -> Result<(), Error> {
    let window = WINDOW_PER_JOB * ctx.jobs as u64;
    let mut overlap = Overlap::default();
    let mut seq = 0;
    let mut ignored = HashSet::new();
    while let Some((row, data)) = rows.next_row()? {
        if let Some((k, n)) = ctx.shard {
            if (row - 1) % n != k {
                continue;
            }
        }
        if let Ok(RowData::Json(map)) = &data {
            warn_ignored_keys(ctx.template, &pattern, row, map, &mut ignored);
        }
        shared.wait_window(seq, window);
        if shared.stopped() {
            break;
        }
        let start = Instant::now();
        let outcome = |status, id, output, failure| Outcome {
            seq,
            row,
            id,
            status,
            output,
            bytes: None,
            ms: start.elapsed().as_millis() as u64,
            failure,
            warnings: Vec::new(),
        };
        let mut failed = true;
        // A row not read, or holding a data: URL cut at its ',' (a CSV
        // field not in quotes), fails with its id where it has one.
        let data = match data {
            Err(unread) => Err((unread.id, Failure::text(unread.message))),
            Ok(data) => match data.cut_data_url(ctx.template) {
                Some((variable, message)) => Err((
                    data.text("id"),
                    Failure {
                        message,
                        variable: Some(variable),
                        ..Failure::default()
                    },
                )),
                None => Ok(data),
            },
        };
        let sent = match data {
            Err((id, failure)) => results
                .send(outcome(Status::Failed, id, None, Some(failure)))
                .is_ok(),
            Ok(data) => {
                let id = data.text("id");
                // A row that does not bind fails on its worker, saying why.
                let scene = data.bind(ctx.template);
                let inputs = |scene: &impasto::Scene| ctx.renderer.image_files(scene);
                let drawn = scene.as_ref().map(inputs).unwrap_or_default();
                let resolved = pattern.resolve(row, &data);
                // Skipped rows too, so that a resumed batch refuses the
                // rows a fresh one does.
                let checked = match resolved {
                    Ok(path) => match overlap.check(row, &path, &drawn) {
                        Ok(()) => Ok(path),
                        // A clash over an image layer's file names the layer,
                        // its `src` and the variable that gave it in the
                        // manifest.
                        Err((message, layer)) => Err(Failure {
                            message,
                            layer,
                            field: layer.map(|_| "src".to_string()),
                            variable: layer.and_then(|i| src_variable(ctx.template, i)),
                            disk_full: false,
                        }),
                    },
                    Err(m) => Err(Failure::text(m)),
                };
                match checked {
                    Err(f) => {
                        let o = outcome(Status::Failed, id, None, Some(f));
                        results.send(o).is_ok()
                    }
                    // A file only: a folder there is the row's failure to write.
                    Ok(path) if ctx.skip_existing && path.is_file() => {
                        failed = false;
                        // Its size, as the run that wrote it said, so that
                        // a resumed batch's manifest still has it.
                        let bytes = std::fs::metadata(&path).ok().map(|m| m.len());
                        let skipped = Outcome {
                            bytes,
                            ..outcome(Status::Skipped, id, Some(path), None)
                        };
                        results.send(skipped).is_ok()
                    }
                    Ok(output) => {
                        failed = false;
                        let job = Job {
                            seq,
                            row,
                            id,
                            output,
                            start,
                        };
                        jobs.send(Queued { job, scene }).is_ok()
                    }
                }
            }
        };
        if !sent {
            break;
        }
        if failed && ctx.fail_fast {
            shared.stop_after(seq);
        }
        seq += 1;
    }
    Ok(())
}

/// A worker: renders jobs until the queue closes (after a stop, it only
/// drains the queue).
fn work(
    ctx: &Context<'_>,
    jobs: &Mutex<Receiver<Queued>>,
    results: Sender<Outcome>,
    shared: &Shared,
) {
    loop {
        let queued = jobs.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok(Queued { mut job, scene }) = queued else {
            return;
        };
        // A row's `ms` is its time on a worker, not in the queue before.
        job.start = Instant::now();
        let outcome = if shared.runs(job.seq) {
            render(ctx, job, scene)
        } else {
            not_run(job)
        };
        send(ctx, &results, shared, outcome);
    }
}

/// A job not rendered because the batch stopped.
fn not_run(job: Job) -> Outcome {
    Outcome {
        seq: job.seq,
        row: job.row,
        id: job.id,
        status: Status::NotRun,
        output: None,
        bytes: None,
        ms: 0,
        failure: None,
        warnings: Vec::new(),
    }
}

/// Hands a worker's outcome to the collector.
fn send(ctx: &Context<'_>, results: &Sender<Outcome>, shared: &Shared, outcome: Outcome) {
    let full = outcome.failure.as_ref().is_some_and(|f| f.disk_full);
    if outcome.status == Status::Failed && (ctx.fail_fast || full) {
        // Stop here rather than in the collector, so that the next job
        // this worker takes is not started.
        shared.stop_after(outcome.seq);
    }
    // A closed channel means the collector gave up: keep draining so
    // that the reader never blocks on a full queue.
    let _ = results.send(outcome);
}

/// Creates the folder of a job's output file.
fn create_folder(job: &Job) -> Result<(), Error> {
    if let Some(dir) = job.output.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    Ok(())
}

/// The size of a job's written file, and its warnings.
fn written(job: &Job, warnings: Vec<Warning>) -> Result<(u64, Vec<Warning>), Error> {
    std::fs::metadata(&job.output)
        .map(|m| (m.len(), warnings))
        .map_err(|source| Error::Io {
            path: job.output.clone(),
            source,
        })
}

/// Renders and writes one row's bound scene (atomically: a temporary file
/// renamed).
fn render(ctx: &Context<'_>, job: Job, scene: Result<impasto::Scene, Error>) -> Outcome {
    // A panic (a bug) in the batch's own part of a row (the library
    // catches its own) fails the row, saying so, rather than ending the
    // worker with its row never reported: the reader would wait for that
    // row for ever, deaf to signals.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        render_row(ctx, &job, scene)
    }))
    .unwrap_or_else(|panic| {
        let said = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(Error::Internal(format!(
            "the row's render panicked: {said}"
        )))
    });
    finish(job, result)
}

/// [`render`]'s work: the row's file written, or why not.
fn render_row(
    ctx: &Context<'_>,
    job: &Job,
    scene: Result<impasto::Scene, Error>,
) -> Result<(u64, Vec<Warning>), Error> {
    scene.and_then(|scene| {
        if scene.animate {
            // Refused rather than written as one frame, silently.
            return Err(Error::Unsupported {
                location: impasto::Location::Canvas,
                message: format!("\"animate\": true: {}", super::STILLS_ONLY),
            });
        }
        let format = OutputFormat::from_path(&job.output, ctx.quality)?;
        create_folder(job)?;
        let options = ctx.row_options();
        // A render's error in a field filled from variables names them.
        let warnings = ctx
            .renderer
            .render_to_file_report(&scene, &Assets::new(), &job.output, format, &options)
            .map_err(|e| ctx.template.attribute(e))?;
        written(job, warnings)
    })
}

/// A job's outcome from its written file's size and warnings.
fn finish(job: Job, result: Result<(u64, Vec<Warning>), Error>) -> Outcome {
    let (status, bytes, failure, warnings) = match result {
        Ok((bytes, warnings)) => (Status::Ok, Some(bytes), None, warnings),
        // Cut off by a signal (the process is exiting): not done, so not
        // in the manifest, like the rows after it.
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::Interrupted => {
            (Status::NotRun, None, None, Vec::new())
        }
        Err(e) => (Status::Failed, None, Some(Failure::of(&e)), Vec::new()),
    };
    Outcome {
        seq: job.seq,
        row: job.row,
        id: job.id,
        status,
        output: Some(job.output),
        bytes,
        ms: job.start.elapsed().as_millis() as u64,
        failure,
        warnings,
    }
}

/// The collector: counts, progress, and the manifest in row order.
fn collect(
    results: Receiver<Outcome>,
    mut manifest: Option<Manifest>,
    total: Option<u64>,
    shared: &Shared,
) -> Result<Counts, Error> {
    let mut progress = Progress::new(total, manifest.is_some());
    let mut counts = Counts::default();
    let mut reorder = Reorder::default();
    // A manifest that cannot be written stops the batch: the rows running
    // finish and are counted, and the summary is printed before the error.
    let mut failed = None;
    // A row that found the disk full stopped the batch.
    let mut disk_full = false;
    // A row not run in row order: the manifest's lines end before it.
    let mut ended = false;
    for o in results {
        disk_full |= o.failure.as_ref().is_some_and(|f| f.disk_full);
        match o.status {
            Status::Ok => counts.written += 1,
            Status::Skipped => counts.skipped += 1,
            Status::Failed => {
                counts.failed += 1;
                let message = o.failure.as_ref().map_or("", |f| f.message.as_str());
                // Under --fail-fast the reader or the worker that met the
                // failure has already stopped the rows after it.
                progress.failure(&counts, o.row, message);
            }
            Status::NotRun => {}
        }
        if o.status != Status::NotRun {
            counts.rows += 1;
        }
        if !o.warnings.is_empty() {
            counts.warned += 1;
            progress.warnings(&counts, o.row, &o.warnings);
        }
        // Counted before its manifest line is written: a signal between
        // the two said one row fewer than the manifest held.
        progress.update(&counts);
        for ready in reorder.push(o) {
            // The manifest holds rows 1, 2, 3... up to the first row not
            // run: a row cut off by a signal (or not started after a stop)
            // ends it, though a row after it may have finished first (the
            // manifest then skipped a row).
            if ready.status == Status::NotRun {
                ended = true;
            }
            if let (Some(m), false) = (manifest.as_mut(), ended) {
                if let Err(e) = m.write(&ready) {
                    manifest = None;
                    failed = Some(e);
                }
            }
        }
        shared.set_done(reorder.done(), failed.is_some());
    }
    if let Some(m) = manifest {
        if let Err(e) = m.finish() {
            failed = Some(e);
        }
    }
    progress.finish(&counts);
    // Stopped by --fail-fast or a full disk (a manifest failure says its
    // own error).
    if shared.stopped() && failed.is_none() {
        let left = match total {
            Some(t) => format!(
                "{} not run",
                super::progress::rows(t.saturating_sub(counts.rows))
            ),
            None => "the rows after it not run".into(),
        };
        let why = match disk_full {
            true => "a row whose file found the disk full",
            false => "the first failed row (--fail-fast)",
        };
        eprintln!("impasto batch: stopped at {why}; {left}");
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(counts),
    }
}
