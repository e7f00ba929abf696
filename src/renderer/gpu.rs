//! The renderer on a GPU: where each render goes (the `Backend::Auto`
//! circuit breaker), renders overlapped on the device in batches, device
//! loss recovery, and the hooks tests use to make the GPU fail.

use std::iter::Peekable;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::time::Instant;

use super::{guarded, Backend, Renderer};
use crate::assets::{Assets, Resolved};
use crate::breaker::{BreakerConfig, BreakerStats, Route};
use crate::cancel::Stop;
use crate::error::Error;
use crate::gpu::{GpuCompositor, GpuContext, GpuDevice, GpuPhases, Pending, Readback, Want};
use crate::plan::Plan;
use crate::scene::Scene;
use crate::warnings::{Rendered, Warning};

/// Paints `plan` where `route` says: the CPU, or the GPU (on a new device
/// if the last one was lost), whose outcome the breaker counts; read back
/// as `want` asks (pixels from the CPU).
pub(crate) fn paint_as(
    gpu: &GpuDevice,
    route: Route,
    plan: &Plan<'_>,
    want: Want,
    stop: &Stop<'_>,
) -> Result<Readback, Error> {
    if route == Route::Cpu {
        return crate::cpu::render(plan, stop).map(Readback::Image);
    }
    // A panic is caught here so that a trial render is always counted.
    let result = guarded(|| {
        let readback = gpu.render(plan, want, stop)?;
        stop.check().map(|()| readback)
    });
    gpu.record(route, &result);
    match result {
        // `Backend::Auto`: a scene this adapter cannot hold (a buffer over
        // its binding limit) is the CPU's, as a machine without a GPU
        // would render it; the breaker counts it neither way.
        Err(Error::GpuLimit(why)) if gpu.is_auto() => {
            log::info!("backend auto: rendering on the CPU: {why}");
            crate::cpu::render(plan, stop).map(Readback::Image)
        }
        result => result,
    }
}

/// A scene of a batch once it is resolved: submitted to the GPU, or
/// already painted elsewhere (the breaker sent it to the CPU, or it was
/// the trial) and counted.
enum Next<'a> {
    Submitted(Pending<'a>),
    Painted(Result<Readback, Error>),
}

impl Renderer {
    /// The GPU and its current context, when a batch is to overlap its
    /// scenes on it: on the GPU backend, with the breaker closed.
    pub(crate) fn gpu_for_batch(&self) -> Option<(&GpuDevice, Arc<GpuContext>)> {
        match (self.backend, &self.gpu) {
            (Backend::Gpu, Some(gpu)) if gpu.is_closed() => {
                // A device that cannot be opened: the scene goes one by one,
                // which reports (and counts) that.
                gpu.context().ok().map(|ctx| (&**gpu, ctx))
            }
            _ => None,
        }
    }

    /// Renders scenes overlapped on `ctx` (scene `i + 1` submitted before
    /// scene `i` is read back) while its device is not lost and the breaker
    /// stays closed, and at least one; the scene in flight is finished
    /// before returning. Each result is read back as `want` asks (a scene
    /// painted on the CPU, or in tiles, comes back as pixels), with its
    /// warnings. Once `stop` says stop, the scene at hand fails with its
    /// error and so does every scene left, unrendered (one result each).
    pub(crate) fn render_run<'s>(
        &self,
        gpu: &GpuDevice,
        ctx: &GpuContext,
        (want, encoding): (Want, Option<crate::codec::OutputFormat>),
        scenes: &mut Peekable<impl Iterator<Item = (usize, &'s Scene)>>,
        (assets, stop): (&Assets, &Stop<'_>),
        on_result: &mut impl FnMut(usize, Result<(Readback, Vec<Warning>), Error>),
    ) {
        let Some(mut current) = scenes.next() else {
            return;
        };
        // With more than one scene, each is resolved (its images looked up
        // or decoded, its text checked) on a helper thread while the scene
        // before it is prepared and submitted here: this thread does the
        // GPU's part only. One scene alone is resolved here.
        std::thread::scope(|s| {
            let ahead = scenes
                .peek()
                .is_some()
                .then(|| ResolveAhead::start(s, self, assets, stop));
            if let Some(a) = &ahead {
                a.resolve(current.1);
            }
            let mut pending: Option<(usize, Pending<'_>, Vec<Warning>)> = None;
            let mut first = true;
            loop {
                let (i, scene) = current;
                // Overlapped on this context while its device is not lost
                // and the breaker stays closed, and at least one. A scene
                // taken ahead after which that changed is the run's last:
                // the scene in flight is finished first (the breaker counts
                // it), then this one goes where the breaker says, on its
                // own, as the caller would send it.
                let in_run = std::mem::take(&mut first) || (gpu.is_closed() && !ctx.is_lost());
                if !in_run {
                    report(gpu, ctx, pending.take(), stop, on_result);
                }
                if let Err(e) = stop.check() {
                    // Stopped: the scene in flight is read back (or given
                    // up), this one and the rest fail unrendered.
                    report(gpu, ctx, pending.take(), stop, on_result);
                    on_result(i, Err(e));
                    for (j, _) in scenes.by_ref() {
                        on_result(j, Err(stop.reason()));
                    }
                    return;
                }
                let resolved = match &ahead {
                    Some(a) => a.next(),
                    None => guarded(|| self.resolve(scene, assets, stop)),
                };
                // The next scene is taken now, so that it resolves while
                // this one is submitted.
                let goes_on = in_run && gpu.is_closed() && !ctx.is_lost();
                let following = if goes_on { scenes.next() } else { None };
                if let (Some(a), Some((_, next))) = (&ahead, following) {
                    a.resolve(next);
                }
                let mut warnings = Vec::new();
                let next = guarded(|| {
                    let resolved = resolved?;
                    warnings.clone_from(&resolved.warnings);
                    let plan = Plan::new(scene, &resolved);
                    if let Some(format) = encoding {
                        format.check_size(scene.width, scene.height)?;
                    }
                    self.check_memory(&plan, None, encoding)?;
                    match gpu.route() {
                        Route::Gpu if in_run => {
                            gpu.injected_failure()?;
                            ctx.submit_until(&plan, want, stop).map(Next::Submitted)
                        }
                        // Past the run, a render of its own (on a new device
                        // if this one was lost); or the breaker opened
                        // meanwhile (a failure elsewhere).
                        route => Ok(Next::Painted(paint_as(gpu, route, &plan, want, stop))),
                    }
                });
                report(gpu, ctx, pending.take(), stop, on_result);
                match next {
                    Ok(Next::Submitted(p)) => pending = Some((i, p, warnings)),
                    Ok(Next::Painted(result)) => on_result(i, result.map(|r| (r, warnings))),
                    Err(e) => {
                        let result = Err(blame_loss(ctx, e));
                        gpu.record(Route::Gpu, &result);
                        on_result(i, result);
                    }
                }
                match following {
                    Some(f) => current = f,
                    None => break,
                }
            }
            report(gpu, ctx, pending, stop, on_result);
        });
    }

    /// The `Backend::Auto` circuit breaker's figures: `None` unless this
    /// renderer chose the GPU for `Backend::Auto` (`Backend::Gpu` returns
    /// every GPU failure as an error instead; the CPU backend has none).
    /// Shared by every clone of this renderer.
    pub fn gpu_breaker(&self) -> Option<BreakerStats> {
        self.gpu.as_ref()?.breaker().map(|b| b.stats())
    }

    /// Sets when the `Backend::Auto` circuit breaker opens and how long it
    /// stays open (defaults in [`BreakerConfig::default`]: 3 GPU failures in
    /// a row, 30 s on the CPU). No effect without a breaker. Shared by
    /// every clone of this renderer.
    pub fn with_gpu_breaker(self, config: BreakerConfig) -> Renderer {
        if let Some(b) = self.gpu.as_ref().and_then(|g| g.breaker()) {
            b.configure(config);
        }
        self
    }

    /// Makes the GPU backend composite layers with `c`:
    /// [`GpuCompositor::Auto`] (the default: render pipelines, except on
    /// NVIDIA's data-center compute GPUs), [`GpuCompositor::Fragment`]
    /// (render pipelines with fixed-function blending) or
    /// [`GpuCompositor::Compute`] (compute dispatches over a storage
    /// canvas). All give the same pixels within the GPU's stated tolerance.
    /// Shared by every clone of this renderer; no effect on the CPU backend.
    pub fn with_gpu_compositor(self, c: GpuCompositor) -> Renderer {
        if let Some(g) = &self.gpu {
            g.set_compositor(c);
        }
        self
    }

    /// How the GPU backend composites, `Auto` resolved for its adapter
    /// (`None` on the CPU backend).
    pub fn gpu_compositor(&self) -> Option<GpuCompositor> {
        self.gpu.as_ref().map(|g| g.compositor())
    }

    /// Draws into an `Rgba16Float` canvas on the fragment path even where
    /// the adapter blends `Rgba32Float`, as adapters without that feature
    /// do. For tests.
    #[doc(hidden)]
    pub fn with_half_float_canvas_for_test(self) -> Renderer {
        if let Some(g) = &self.gpu {
            g.force_half_float_canvas(true);
        }
        self
    }

    /// Stages large image uploads through `queue.write_buffer_with` (the
    /// fallback when mapping fails) instead of pooled mapped buffers. For
    /// tests.
    #[doc(hidden)]
    pub fn with_unmapped_uploads_for_test(self) -> Renderer {
        if let Some(g) = &self.gpu {
            g.force_unmapped_uploads(true);
        }
        self
    }

    /// Binds GPU storage buffers of at most `bytes` even where the adapter
    /// allows larger ones, as an adapter with a smaller limit would (the
    /// current device's; a device opened after a loss has the adapter's).
    /// For tests.
    #[doc(hidden)]
    pub fn with_gpu_storage_cap_for_test(self, bytes: u64) -> Renderer {
        if let Some(g) = &self.gpu {
            g.current().cap_storage(bytes);
        }
        self
    }

    /// Turns in-frame overlap on or off (the `IMPASTO_GPU_OVERLAP`
    /// environment variable sets it at start: on unless `0`). Both give the
    /// same bytes. For tests and A/B measurements.
    #[doc(hidden)]
    pub fn with_gpu_overlap_for_test(self, on: bool) -> Renderer {
        if let Some(g) = &self.gpu {
            g.set_overlap(on);
        }
        self
    }

    /// Test hook: the JPEG pass dispatches at most `n` workgroups along x
    /// before it goes two-dimensional (65535 otherwise), so that small
    /// images exercise the split.
    #[cfg(test)]
    pub(crate) fn with_jpeg_groups_x_for_test(self, n: u32) -> Renderer {
        if let Some(Ok(ctx)) = self.gpu.as_ref().map(|g| g.context()) {
            ctx.jpeg_groups_x
                .store(n, std::sync::atomic::Ordering::Relaxed);
        }
        self
    }

    /// Turns the GPU phase breakdown on or off (the `IMPASTO_GPU_PHASES=1`
    /// environment variable turns it on at start): each render prints its
    /// phases to stderr. For tests and diagnostics.
    #[doc(hidden)]
    pub fn with_gpu_phases_for_test(self, on: bool) -> Renderer {
        if let Some(g) = &self.gpu {
            g.set_phases(on);
        }
        self
    }

    /// The phase breakdown of the last GPU render read back with the
    /// breakdown on (`None` before one, or on the CPU backend).
    #[doc(hidden)]
    pub fn gpu_last_phases_for_test(&self) -> Option<GpuPhases> {
        self.gpu.as_ref()?.current().last_phases()
    }

    /// How many times a lost GPU device was replaced by a new one (0 on
    /// the CPU backend).
    pub fn gpu_recoveries(&self) -> u64 {
        self.gpu.as_ref().map_or(0, |g| g.recoveries())
    }

    /// `Backend::Auto` as on a machine whose GPU is any adapter, software
    /// ones included (lavapipe): breaker included. For tests.
    #[doc(hidden)]
    pub fn auto_on_any_gpu_for_test() -> Result<Renderer, Error> {
        let budget = crate::gpu::DEFAULT_POOL_BUDGET;
        match GpuContext::new(false, budget)? {
            Some(ctx) => Ok(Renderer::on_gpu(
                GpuDevice::new(ctx, false, budget, true),
                "backend auto (test): using",
            )),
            None => Err(Error::Gpu("no GPU adapter found".into())),
        }
    }

    /// Destroys the GPU device (`wgpu::Device::destroy`), as a driver reset
    /// would lose it: renders in flight fail, the next one opens a new
    /// device. For tests.
    #[doc(hidden)]
    pub fn lose_gpu_device_for_test(&self) {
        if let Some(g) = &self.gpu {
            g.lose_device();
        }
    }

    /// Makes the next `n` GPU renders fail as the GPU failing would
    /// ([`Error::Gpu`]), before they reach the device. For tests.
    #[doc(hidden)]
    pub fn inject_gpu_failures_for_test(&self, n: u32) {
        if let Some(g) = &self.gpu {
            g.inject_failures(n);
        }
    }

    /// Replaces the clock the breaker's cool-down is measured with. For
    /// tests.
    #[doc(hidden)]
    pub fn with_gpu_breaker_clock_for_test(
        self,
        now: impl Fn() -> Instant + Send + Sync + 'static,
    ) -> Renderer {
        if let Some(b) = self.gpu.as_ref().and_then(|g| g.breaker()) {
            b.set_clock(Arc::new(now));
        }
        self
    }
}

/// A render's image and warnings, from a render that read back pixels.
pub(crate) fn rendered(readback: Readback, warnings: Vec<Warning>) -> Result<Rendered, Error> {
    let mut r = Rendered::new(readback.into_image()?);
    r.warnings = warnings;
    Ok(r)
}

/// A helper thread of a batch run that resolves its scenes (and lays their
/// text out) one ahead of the thread driving the GPU, in the order asked.
struct ResolveAhead<'s> {
    scenes: SyncSender<&'s Scene>,
    resolved: Receiver<Result<Resolved, Error>>,
}

impl<'s> ResolveAhead<'s> {
    /// Starts the helper in `scope`; it ends when this is dropped.
    fn start<'scope, 'env: 'scope>(
        scope: &'scope std::thread::Scope<'scope, 'env>,
        renderer: &'env Renderer,
        assets: &'env Assets,
        stop: &'env Stop<'env>,
    ) -> ResolveAhead<'s>
    where
        's: 'scope,
        's: 'env,
    {
        let (scenes, todo) = sync_channel::<&'s Scene>(1);
        let (done, resolved) = sync_channel(1);
        scope.spawn(move || {
            for scene in todo {
                // Its text laid out too: the driving thread takes each
                // layer's layout instead of shaping it. A panic is an error
                // of that scene, as on the driving thread.
                let resolved = guarded(|| {
                    let resolved = renderer.resolve(scene, assets, stop)?;
                    if let Some(engine) = &resolved.text {
                        resolved
                            .fitted
                            .fill(&mut engine.shaper().fonts, &scene.layers, stop);
                    }
                    Ok(resolved)
                });
                if done.send(resolved).is_err() {
                    return;
                }
            }
        });
        ResolveAhead { scenes, resolved }
    }

    /// Asks for `scene` (after those asked before).
    fn resolve(&self, scene: &'s Scene) {
        // The helper ends only when this is dropped: a failed send cannot
        // happen while it runs, and `next` reports a helper gone.
        let _ = self.scenes.send(scene);
    }

    /// The next scene asked for, resolved.
    fn next(&self) -> Result<Resolved, Error> {
        self.resolved
            .recv()
            .unwrap_or_else(|_| Err(Error::Internal("the scene resolver stopped".into())))
    }
}

/// Reads back the scene in flight, if any (given up once `stop` says
/// stop), counts the outcome and hands it to `on_result` with its warnings.
fn report(
    gpu: &GpuDevice,
    ctx: &GpuContext,
    pending: Option<(usize, Pending<'_>, Vec<Warning>)>,
    stop: &Stop<'_>,
    on_result: &mut impl FnMut(usize, Result<(Readback, Vec<Warning>), Error>),
) {
    if let Some((j, previous, w)) = pending {
        on_result(j, finish(gpu, ctx, previous, stop).map(|r| (r, w)));
    }
}

/// Reads back a scene of a batch, and counts the outcome (a stop is not a
/// GPU failure: the breaker does not count it).
fn finish(
    gpu: &GpuDevice,
    ctx: &GpuContext,
    pending: Pending<'_>,
    stop: &Stop<'_>,
) -> Result<Readback, Error> {
    let result = guarded(|| pending.finish_until(stop)).map_err(|e| blame_loss(ctx, e));
    gpu.record(Route::Gpu, &result);
    result
}

/// `e`, or the loss of the device when it is lost: whatever failed then
/// (a panic in a library included), the loss is the reason.
fn blame_loss(ctx: &GpuContext, e: Error) -> Error {
    match e {
        e if e.is_bad_input() => e,
        _ if ctx.check_lost() => ctx.lost_error(),
        e => e,
    }
}
