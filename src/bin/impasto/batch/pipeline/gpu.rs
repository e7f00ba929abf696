//! The batch on the GPU backend: one or a few threads (`--gpu-drivers`,
//! see `crate::gpu_drivers`) drive the device through the overlapped path
//! (`Renderer::render_each_encoded`: a row is uploaded and submitted while
//! the previous one is drawn and read back), each taking the queued rows a
//! group at a time (rendered in runs of one output format), and the workers
//! encode and write what they hand over; for JPEG the GPU computed each
//! image's DCT blocks, so the workers only entropy-code them. Rows in
//! flight stay bounded: the queue, one group per driver, the hand-over
//! queue (one image per worker) and one image per worker.

use std::cell::Cell;
use std::sync::mpsc::{Receiver, Sender, SyncSender};
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use impasto::codec::OutputFormat;
use impasto::{Assets, Encodable, Error, Scene};

use super::{create_folder, finish, not_run, send, written, Context, Job, Outcome, Queued, Shared};

/// A row rendered on the GPU, to be written.
pub(super) type Rendered = (Job, Result<Encodable, Error>);

/// A driving thread: renders the queued rows a group at a time until the
/// queue closes, and hands each image to the writers.
pub(super) fn drive(
    ctx: &Context<'_>,
    jobs: &Mutex<Receiver<Queued>>,
    images: SyncSender<Rendered>,
    results: Sender<Outcome>,
    shared: &Shared,
) {
    let group_max = 2 * ctx.jobs.max(1);
    loop {
        let rx = jobs.lock().unwrap_or_else(PoisonError::into_inner);
        let Ok(first) = rx.recv() else {
            return;
        };
        let mut group = vec![first];
        while group.len() < group_max {
            match rx.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        drop(rx);
        let mut bound: Vec<(Option<Job>, Scene, OutputFormat)> = Vec::with_capacity(group.len());
        for Queued { job, scene } in group {
            if !shared.runs(job.seq) {
                send(ctx, &results, shared, not_run(job));
                continue;
            }
            let format = OutputFormat::from_path(&job.output, ctx.quality);
            match scene.and_then(|s| Ok((s, format?))) {
                Ok((scene, format)) => bound.push((Some(job), scene, format)),
                Err(e) => send(ctx, &results, shared, finish(job, Err(e))),
            }
        }
        // One run of rows per output format (a pattern seldom mixes them).
        for run in bound.chunk_by_mut(|a, b| a.2 == b.2) {
            let format = run[0].2;
            let mut jobs: Vec<Option<Job>> = run.iter_mut().map(|(j, _, _)| j.take()).collect();
            let scenes: Vec<&Scene> = run.iter().map(|(_, s, _)| s).collect();
            // A row's `ms` starts when the device starts on it: when the
            // run starts, or the row before it is handed over (rows
            // overlap, so that is when the pipeline turns to it), not when
            // it was read (a group's last rows waited for the others).
            let turn = Cell::new(Instant::now());
            let mut deliver = |k: usize, result| {
                if let Some(mut job) = jobs.get_mut(k).and_then(Option::take) {
                    job.start = turn.replace(Instant::now());
                    // A closed channel: every writer is gone, nothing to do.
                    let _ = images.send((job, result));
                }
            };
            if ctx.timeout.is_some() {
                // A deadline of its own for each row: one run a row (a
                // run's deadline covers all of it).
                for (k, scene) in scenes.into_iter().enumerate() {
                    turn.set(Instant::now());
                    let options = ctx.row_options();
                    ctx.renderer.render_each_encoded_with(
                        [scene],
                        &Assets::new(),
                        format,
                        &options,
                        |_, result| deliver(k, result),
                    );
                }
            } else {
                ctx.renderer
                    .render_each_encoded(scenes, &Assets::new(), format, &mut deliver);
            }
        }
    }
}

/// A writer: encodes and writes (atomically) what the driving threads
/// render.
pub(super) fn write_work(
    ctx: &Context<'_>,
    images: &Mutex<Receiver<Rendered>>,
    results: Sender<Outcome>,
    shared: &Shared,
) {
    loop {
        let next = images.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok((job, rendered)) = next else {
            return;
        };
        let outcome = if !shared.runs(job.seq) {
            not_run(job)
        } else {
            // A render's error in a field filled from variables names them.
            let rendered = rendered.map_err(|e| ctx.template.attribute(e));
            let result = rendered.and_then(|r| {
                create_folder(&job)?;
                r.save(&job.output)?;
                written(&job, r.warnings().to_vec())
            });
            finish(job, result)
        };
        send(ctx, &results, shared, outcome);
    }
}
