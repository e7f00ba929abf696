//! A renderer's GPU: its current [`GpuContext`], replaced by a new one (a
//! new device, pool, pipelines, tables and glyph atlas) on the first render
//! after the device is lost, and, for `Backend::Auto`, the circuit breaker
//! that sends renders to the CPU while the GPU keeps failing.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::adapter::AdapterSummary;
use super::context::GpuContext;
use super::draw::GpuCompositor;
use super::readback::{Readback, Want};
use crate::breaker::{Breaker, BreakerConfig, Route};
use crate::cancel::Stop;
use crate::error::Error;
use crate::plan::Plan;

/// A renderer's GPU, shared by its clones.
#[derive(Debug)]
pub(crate) struct GpuDevice {
    /// Whether a new context, like the first, must be on a hardware GPU.
    hardware_only: bool,
    /// The adapter of the first context (a new one opens the best adapter
    /// again: the same one, unless the machine changed).
    adapter: AdapterSummary,
    current: Mutex<Arc<GpuContext>>,
    /// The settings a new context gets: the pool's byte budget, and the
    /// texture side cap (0: the adapter's own limit).
    pool_budget: AtomicU64,
    texture_cap: AtomicU32,
    /// The byte budget of a new context's resampled-image cache.
    placed_budget: AtomicU64,
    /// The byte budget of a new context's glyph atlases.
    glyph_budget: AtomicU64,
    /// How layers are composited (as set: `Auto` is resolved by each
    /// context for its adapter), and the test hook forcing a half-float
    /// canvas.
    compositor: Mutex<GpuCompositor>,
    half_canvas: AtomicBool,
    /// Test hook: uploads staged by `queue.write_buffer_with`, not mapped
    /// pooled buffers.
    unmapped_uploads: AtomicBool,
    /// In-frame overlap and the phase breakdown (`super::phases`), as the
    /// environment set them or a test since.
    overlap: AtomicBool,
    phases: AtomicBool,
    /// Contexts opened to replace a lost one.
    recoveries: AtomicU64,
    /// `Backend::Auto` only.
    breaker: Option<Breaker>,
    /// Test hook: GPU renders still to fail as if the GPU had.
    injected_failures: AtomicU32,
}

impl GpuDevice {
    /// `ctx`, opened on a hardware GPU only when `hardware_only`; with a
    /// breaker for `Backend::Auto`.
    pub fn new(ctx: GpuContext, hardware_only: bool, pool_budget: u64, auto: bool) -> GpuDevice {
        let placed_budget = ctx.placed.budget();
        let (overlap, phases) = (
            ctx.overlap.load(Ordering::Relaxed),
            ctx.phases.load(Ordering::Relaxed),
        );
        GpuDevice {
            hardware_only,
            adapter: ctx.adapter().clone(),
            current: Mutex::new(Arc::new(ctx)),
            pool_budget: pool_budget.into(),
            texture_cap: 0.into(),
            placed_budget: placed_budget.into(),
            glyph_budget: super::glyphs::DEFAULT_GLYPH_ATLAS_BUDGET.into(),
            compositor: Mutex::new(GpuCompositor::default()),
            half_canvas: false.into(),
            unmapped_uploads: false.into(),
            overlap: overlap.into(),
            phases: phases.into(),
            recoveries: 0.into(),
            breaker: auto.then(|| Breaker::new(BreakerConfig::default())),
            injected_failures: 0.into(),
        }
    }

    fn slot(&self) -> MutexGuard<'_, Arc<GpuContext>> {
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The adapter the renderer opened.
    pub fn adapter(&self) -> &AdapterSummary {
        &self.adapter
    }

    /// The context now in use (lost or not).
    pub fn current(&self) -> Arc<GpuContext> {
        Arc::clone(&self.slot())
    }

    /// The context to render with: the current one, or, when its device is
    /// lost, a new one in its place. Renders still holding the lost one
    /// fail with [`Error::GpuDeviceLost`]; the others wait for the new one
    /// rather than open their own.
    pub fn context(&self) -> Result<Arc<GpuContext>, Error> {
        let mut slot = self.slot();
        if !slot.is_lost() {
            return Ok(Arc::clone(&slot));
        }
        let lost = slot.adapter().name.clone();
        let budget = self.pool_budget.load(Ordering::Relaxed);
        let ctx = GpuContext::new(self.hardware_only, budget)
            .map_err(|e| {
                Error::Gpu(format!(
                    "the device of {lost} was lost, and a new one cannot be opened: {e}"
                ))
            })?
            .ok_or_else(|| {
                Error::Gpu(format!(
                    "the device of {lost} was lost, and no adapter is left to open a new one"
                ))
            })?;
        let cap = self.texture_cap.load(Ordering::Relaxed);
        if cap > 0 {
            ctx.cap_texture_side(cap);
        }
        ctx.set_placed_budget(self.placed_budget.load(Ordering::Relaxed));
        ctx.set_glyph_atlas_budget(self.glyph_budget.load(Ordering::Relaxed));
        ctx.set_compositor(*self.compositor.lock().unwrap_or_else(|p| p.into_inner()));
        ctx.force_half_float_canvas(self.half_canvas.load(Ordering::Relaxed));
        let unmapped = self.unmapped_uploads.load(Ordering::Relaxed);
        ctx.unmapped_uploads.store(unmapped, Ordering::Relaxed);
        let overlap = self.overlap.load(Ordering::Relaxed);
        ctx.overlap.store(overlap, Ordering::Relaxed);
        ctx.phases
            .store(self.phases.load(Ordering::Relaxed), Ordering::Relaxed);
        let n = self.recoveries.fetch_add(1, Ordering::Relaxed) + 1;
        log::warn!(
            "the GPU device of {lost} was lost; opened a new one on {} (recovery {n})",
            ctx.adapter().name
        );
        *slot = Arc::new(ctx);
        Ok(Arc::clone(&slot))
    }

    /// Contexts opened to replace a lost one.
    pub fn recoveries(&self) -> u64 {
        self.recoveries.load(Ordering::Relaxed)
    }

    /// Sets the pool's byte budget, now and for contexts opened later.
    pub fn set_pool_budget(&self, bytes: u64) {
        self.pool_budget.store(bytes, Ordering::Relaxed);
        self.current().set_pool_budget(bytes);
    }

    /// Sets the resampled-image cache's byte budget, now and for contexts
    /// opened later.
    pub fn set_placed_budget(&self, bytes: u64) {
        self.placed_budget.store(bytes, Ordering::Relaxed);
        self.current().set_placed_budget(bytes);
    }

    /// Sets the glyph atlases' byte budget, now and for contexts opened
    /// later.
    pub fn set_glyph_budget(&self, bytes: u64) {
        self.glyph_budget.store(bytes, Ordering::Relaxed);
        self.current().set_glyph_atlas_budget(bytes);
    }

    /// Caps the texture side, now and for contexts opened later.
    pub fn cap_texture_side(&self, side: u32) {
        self.texture_cap.store(side, Ordering::Relaxed);
        self.current().cap_texture_side(side);
    }

    /// How layers are composited now ([`GpuCompositor::Auto`] resolved).
    pub fn compositor(&self) -> GpuCompositor {
        self.current().compositor()
    }

    /// Composites with `c`, now and in contexts opened later.
    pub fn set_compositor(&self, c: GpuCompositor) {
        *self.compositor.lock().unwrap_or_else(|p| p.into_inner()) = c;
        self.current().set_compositor(c);
    }

    /// Test hook: an `Rgba16Float` canvas on the fragment path, now and in
    /// contexts opened later.
    pub fn force_half_float_canvas(&self, on: bool) {
        self.half_canvas.store(on, Ordering::Relaxed);
        self.current().force_half_float_canvas(on);
    }

    /// Test hook: large images staged through `queue.write_buffer_with`
    /// (the fallback path) instead of pooled mapped buffers, now and in
    /// contexts opened later.
    pub fn force_unmapped_uploads(&self, on: bool) {
        self.unmapped_uploads.store(on, Ordering::Relaxed);
        let ctx = self.current();
        ctx.unmapped_uploads.store(on, Ordering::Relaxed);
    }

    /// In-frame overlap on or off (`IMPASTO_GPU_OVERLAP`), now and in
    /// contexts opened later.
    pub fn set_overlap(&self, on: bool) {
        self.overlap.store(on, Ordering::Relaxed);
        self.current().overlap.store(on, Ordering::Relaxed);
    }

    /// The phase breakdown on or off (`IMPASTO_GPU_PHASES`), now and in
    /// contexts opened later.
    pub fn set_phases(&self, on: bool) {
        self.phases.store(on, Ordering::Relaxed);
        self.current().phases.store(on, Ordering::Relaxed);
    }

    /// The breaker (`Backend::Auto` only).
    pub fn breaker(&self) -> Option<&Breaker> {
        self.breaker.as_ref()
    }

    /// Whether renders go to the GPU without a trial (always, without a
    /// breaker).
    pub fn is_closed(&self) -> bool {
        self.breaker.as_ref().is_none_or(Breaker::is_closed)
    }

    /// Test hook: loses the current device (`Device::destroy`).
    pub fn lose_device(&self) {
        self.current().destroy_device();
    }

    /// Whether this is `Backend::Auto`'s GPU (with a breaker).
    pub fn is_auto(&self) -> bool {
        self.breaker.is_some()
    }

    /// Where the next render goes: always the GPU without a breaker.
    pub fn route(&self) -> Route {
        self.breaker.as_ref().map_or(Route::Gpu, Breaker::route)
    }

    /// Counts a GPU render's outcome with the breaker, if there is one.
    pub fn record<T>(&self, route: Route, result: &Result<T, Error>) {
        if let Some(b) = &self.breaker {
            b.record(route, result);
        }
    }

    /// Renders `plan` on the GPU, on a new device if the last one was lost,
    /// and reads it back as `want` asks.
    pub fn render(&self, plan: &Plan<'_>, want: Want, stop: &Stop<'_>) -> Result<Readback, Error> {
        self.injected_failure()?;
        let ctx = self.context()?;
        // Whatever failed, a lost device is the reason.
        ctx.render_until(plan, want, stop).map_err(|e| {
            if ctx.check_lost() {
                ctx.lost_error()
            } else {
                e
            }
        })
    }

    /// Test hook: the next `n` GPU renders fail as if the GPU had failed.
    pub fn inject_failures(&self, n: u32) {
        self.injected_failures.store(n, Ordering::SeqCst);
    }

    /// An injected failure, if one is left (consumed).
    pub fn injected_failure(&self) -> Result<(), Error> {
        let left = self
            .injected_failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        match left {
            Ok(n) => Err(Error::Gpu(format!(
                "a GPU failure injected by a test ({} more to come)",
                n - 1
            ))),
            Err(_) => Ok(()),
        }
    }
}
