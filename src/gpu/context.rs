//! The GPU context: the device, its pipelines and fixed tables, the
//! resource pool and glyphon's state, made once per renderer.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::adapter::{best_adapter, summarize, AdapterSummary};
use super::draw::{DrawPipelines, GpuCompositor};
use super::glyphs::GlyphSets;
use super::loans::{BufferId, Loans, TextureId};
use super::pool::{BufferKey, Pool, PoolStats, TextureKey};
use super::shaders::{
    ResampleEntry, COMPOSITE_ENTRY, COMPOSITE_WGSL, ENCODE_ENTRY, ENCODE_TEXTURE_ENTRY,
    ENCODE_WGSL, JPEG_ENTRY, JPEG_WGSL, RESAMPLE_WGSL,
};
use crate::color::{linear_encode_tables, srgb8_to_linear_table};
use crate::error::Error;

/// The device, its pipelines, fixed tables and the resource pool.
pub(crate) struct GpuContext {
    pub(super) device: wgpu::Device,
    pub(super) queue: wgpu::Queue,
    adapter: AdapterSummary,
    pub(super) pipelines: Pipelines,
    /// The fragment path's render pipelines.
    pub(super) draw: DrawPipelines,
    pub(super) tables: Tables,
    /// Whether the adapter blends `Rgba32Float` (the fragment path's canvas
    /// is `Rgba16Float` otherwise).
    float32_blendable: bool,
    /// The [`GpuCompositor`] in use, resolved for this adapter, as `u8`:
    /// 0 fragment, 1 compute.
    compositor: AtomicU8,
    /// Test hook: the fragment path's canvas is `Rgba16Float` even where
    /// `Rgba32Float` blends.
    half_canvas: AtomicBool,
    /// Test hook: large images are staged through `queue.write_buffer_with`
    /// (the fallback) instead of pooled mapped buffers.
    pub(super) unmapped_uploads: AtomicBool,
    /// The most workgroups the JPEG pass dispatches along x before it goes
    /// two-dimensional: 65535 (the limit wgpu guarantees); tests lower it.
    pub(crate) jpeg_groups_x: AtomicU32,
    /// In-frame overlap (`IMPASTO_GPU_OVERLAP`, [`super::phases`]): upload
    /// copies submitted as their staging fills, the readback copied out by
    /// every core.
    pub(super) overlap: AtomicBool,
    /// The phase breakdown (`IMPASTO_GPU_PHASES`): printed per render, the
    /// last one kept in `last_phases`.
    pub(super) phases: AtomicBool,
    pub(super) last_phases: Mutex<Option<super::phases::GpuPhases>>,
    /// The largest storage buffer binding, in bytes: the adapter's, or
    /// less in tests (`Renderer::with_gpu_storage_cap_for_test`).
    max_storage: AtomicU64,
    /// The offset alignment of a binding into the frame's arena of small
    /// uploads: the larger of the uniform and storage alignments.
    pub(super) arena_align: u64,
    pool: Mutex<Pool>,
    /// Resamples kept on the device between renders ([`super::placed`]).
    pub(super) placed: super::placed::GpuPlacedCache,
    /// glyphon's state, a set lent to each frame that draws text.
    pub(super) glyphs: GlyphSets,
    /// The texture side the backend uses: the adapter's limit, or less
    /// (`Renderer::with_gpu_max_texture_side`).
    max_texture_side: AtomicU32,
    /// Set when the device is lost: renders in flight fail with
    /// [`Error::GpuDeviceLost`], and the renderer opens a new context
    /// (`super::device::GpuDevice`).
    loss: Arc<Loss>,
    /// Frames given up on (a deadline or a cancel) while the GPU still
    /// worked on them: their loans go back to the pool once it is done.
    pub(super) abandoned: Mutex<Vec<super::readback::Abandoned>>,
}

impl std::fmt::Debug for GpuContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuContext")
            .field("adapter", &self.adapter)
            .finish()
    }
}

/// The compute pipelines, one per entry point.
pub(super) struct Pipelines {
    pub composite: wgpu::ComputePipeline,
    /// One per [`ResampleEntry`], in its order.
    resample: Vec<wgpu::ComputePipeline>,
    pub encode: wgpu::ComputePipeline,
    pub encode_texture: wgpu::ComputePipeline,
    pub jpeg: wgpu::ComputePipeline,
}

impl Pipelines {
    /// Compiles the four shader modules and their pipelines; a shader that
    /// does not validate is an error.
    fn new(device: &wgpu::Device) -> Result<Pipelines, Error> {
        let module = |label: &str, src: &str| {
            device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(label),
                source: wgpu::ShaderSource::Wgsl(src.into()),
            })
        };
        let composite_mod = module("composite", COMPOSITE_WGSL);
        let resample_mod = module("resample", RESAMPLE_WGSL);
        let encode_mod = module("encode", ENCODE_WGSL);
        let jpeg_mod = module("jpeg", JPEG_WGSL);
        let pipeline = |m: &wgpu::ShaderModule, entry: &str| {
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(entry),
                layout: None,
                module: m,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache: None,
            })
        };
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let pipelines = Pipelines {
            composite: pipeline(&composite_mod, COMPOSITE_ENTRY),
            resample: ResampleEntry::ALL
                .iter()
                .map(|e| pipeline(&resample_mod, e.name()))
                .collect(),
            encode: pipeline(&encode_mod, ENCODE_ENTRY),
            encode_texture: pipeline(&encode_mod, ENCODE_TEXTURE_ENTRY),
            jpeg: pipeline(&jpeg_mod, JPEG_ENTRY),
        };
        match pollster::block_on(scope.pop()) {
            Some(e) => Err(wgpu_err("shader pipelines do not validate", &e)),
            None => Ok(pipelines),
        }
    }

    pub fn resample(&self, entry: ResampleEntry) -> &wgpu::ComputePipeline {
        &self.resample[entry as usize]
    }
}

/// Fixed tables the shaders read, and stand-ins for unused bindings.
pub(super) struct Tables {
    /// sRGB byte to linear light (`srgb_lut`).
    pub srgb_lut: wgpu::Buffer,
    /// The linear-to-sRGB8 thresholds of the encode pass.
    pub thresholds: wgpu::Buffer,
    /// The linear-to-sRGB8 buckets of the encode pass.
    pub buckets: wgpu::Buffer,
    /// Bound where a layer reads no texture.
    pub dummy_texture: wgpu::Texture,
    /// Bound where a layer reads no storage buffer.
    pub dummy_storage: wgpu::Buffer,
}

impl Tables {
    fn new(device: &wgpu::Device, queue: &wgpu::Queue) -> Tables {
        let init = |label: &str, bytes: &[u8]| {
            let b = device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: bytes.len() as u64,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            queue.write_buffer(&b, 0, bytes);
            b
        };
        let (bucket_table, threshold_table) = linear_encode_tables();
        let srgb_lut = init("srgb lut", bytemuck::cast_slice(srgb8_to_linear_table()));
        // +inf and -inf are valid f32 bit patterns for the thresholds.
        let thresholds = init("srgb thresholds", bytemuck::cast_slice(threshold_table));
        let buckets = init("srgb buckets", bytemuck::cast_slice(bucket_table));
        let dummy_storage = init("dummy", &[0u8; 16]);
        let dummy_texture = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("dummy"),
            size: wgpu::Extent3d {
                width: 1,
                height: 1,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::Rgba8Unorm,
            usage: wgpu::TextureUsages::TEXTURE_BINDING,
            view_formats: &[],
        });
        Tables {
            srgb_lut,
            thresholds,
            buckets,
            dummy_texture,
            dummy_storage,
        }
    }
}

pub(super) fn gpu_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Gpu(format!("{what}: {e}"))
}

/// A wgpu error on one line: its text is a summary ("Validation Error")
/// followed by an indented tree of causes, which are kept.
pub(super) fn wgpu_err(what: &str, e: &wgpu::Error) -> Error {
    let text = e.to_string();
    let causes: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != "Caused by:")
        .collect();
    Error::Gpu(format!("{what}: {}", causes.join(": ")))
}

/// Held while a device is opened or destroyed: one at a time per process.
/// On an NVIDIA H200 (driver 580.159.04), `tests/gpu_recovery.rs` on eight
/// threads (each test opening and destroying devices) deadlocked inside the
/// driver in 4 of 40 runs without this lock, and in none of 40 with it
/// (BENCHMARKS.md).
fn device_lifecycle() -> MutexGuard<'static, ()> {
    static LIFECYCLE: Mutex<()> = Mutex::new(());
    LIFECYCLE.lock().unwrap_or_else(|p| p.into_inner())
}

/// Opens `adapter`'s device with all of its limits and `features`.
fn open_device(
    adapter: &wgpu::Adapter,
    limits: &wgpu::Limits,
    features: wgpu::Features,
) -> Result<(wgpu::Device, wgpu::Queue), Error> {
    pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        label: Some("impasto"),
        required_features: features,
        required_limits: limits.clone(),
        ..Default::default()
    }))
    .map_err(|e| gpu_err("cannot open the GPU device", e))
}

/// Whether, and why, a device was lost: set by wgpu's device-lost callback,
/// which runs on a later poll of the device (`Device::destroy` waits for the
/// work already submitted).
#[derive(Debug, Default)]
struct Loss {
    lost: AtomicBool,
    reason: Mutex<Option<String>>,
}

impl Loss {
    /// Records the loss; the first reason is kept.
    fn mark(&self, reason: String) {
        let mut r = self.reason.lock().unwrap_or_else(|p| p.into_inner());
        r.get_or_insert(reason);
        self.lost.store(true, Ordering::SeqCst);
    }
}

/// Logs errors outside any error scope (a bug) instead of wgpu's default
/// panic, and returns the flag that is set when the device is lost.
fn watch_device(device: &wgpu::Device) -> Arc<Loss> {
    let lost = Arc::new(Loss::default());
    let flag = Arc::clone(&lost);
    // Every GPU call of a render runs under error scopes.
    device.on_uncaptured_error(Arc::new(|e: wgpu::Error| {
        log::error!("uncaptured GPU error: {e}");
    }));
    device.set_device_lost_callback(move |reason, message| {
        log::error!("GPU device lost ({reason:?}): {message}");
        flag.mark(if message.is_empty() {
            format!("{reason:?}")
        } else {
            format!("{reason:?}: {message}")
        });
    });
    lost
}

impl GpuContext {
    /// A context on the best adapter: with `hardware_only`, only a real GPU
    /// qualifies (`None` when there is none); otherwise any adapter,
    /// software ones included.
    pub fn new(hardware_only: bool, pool_budget: u64) -> Result<Option<GpuContext>, Error> {
        let _lifecycle = device_lifecycle();
        let Some(adapter) = best_adapter(hardware_only) else {
            return Ok(None);
        };
        let limits = adapter.limits();
        // Timestamps only for the phase breakdown (`IMPASTO_GPU_PHASES=1`).
        let mut wanted = wgpu::Features::FLOAT32_BLENDABLE;
        if super::phases::phases_from_env() {
            wanted |= super::timestamps::FEATURES;
        }
        let features = adapter.features() & wanted;
        let (device, queue) = open_device(&adapter, &limits, features)?;
        let lost = watch_device(&device);
        let pipelines = Pipelines::new(&device)?;
        let draw = DrawPipelines::new(&device);
        let tables = Tables::new(&device, &queue);
        let budget = pool_budget.min(limits.max_buffer_size.saturating_mul(4));
        let glyphs = GlyphSets::new(&device);
        let ctx = GpuContext {
            adapter: summarize(&adapter),
            arena_align: u64::from(
                limits
                    .min_uniform_buffer_offset_alignment
                    .max(limits.min_storage_buffer_offset_alignment),
            ),
            max_storage: limits
                .max_storage_buffer_binding_size
                .min(limits.max_buffer_size)
                .into(),
            device,
            queue,
            pipelines,
            draw,
            tables,
            float32_blendable: features.contains(wgpu::Features::FLOAT32_BLENDABLE),
            compositor: AtomicU8::new(0),
            half_canvas: AtomicBool::new(false),
            unmapped_uploads: AtomicBool::new(false),
            overlap: AtomicBool::new(super::phases::overlap_from_env()),
            jpeg_groups_x: AtomicU32::new(65535),
            phases: AtomicBool::new(super::phases::phases_from_env()),
            last_phases: Mutex::new(None),
            pool: Mutex::new(Pool::new(budget)),
            placed: super::placed::new_cache(super::placed::DEFAULT_GPU_PLACED_CACHE_BYTES),
            glyphs,
            max_texture_side: limits.max_texture_dimension_2d.into(),
            loss: lost,
            abandoned: Mutex::new(Vec::new()),
        };
        ctx.set_compositor(GpuCompositor::Auto);
        Ok(Some(ctx))
    }

    /// The adapter this context renders on.
    pub fn adapter(&self) -> &AdapterSummary {
        &self.adapter
    }

    /// Whether the device is lost (as far as wgpu has said: its callback
    /// runs when the device is polled).
    pub fn is_lost(&self) -> bool {
        self.loss.lost.load(Ordering::SeqCst)
    }

    /// Polls the device without waiting, so that a loss wgpu knows of
    /// reaches the device-lost callback, and says whether it is lost.
    pub fn check_lost(&self) -> bool {
        if !self.is_lost() {
            let _ = self.device.poll(wgpu::PollType::Poll);
        }
        self.is_lost()
    }

    /// The error of a render that used this context's device after its loss.
    pub fn lost_error(&self) -> Error {
        let reason = self
            .loss
            .reason
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .unwrap_or_else(|| "reason not given".into());
        Error::GpuDeviceLost {
            adapter: self.adapter.name.clone(),
            reason,
        }
    }

    /// Destroys the device, as a driver reset would lose it (a test hook:
    /// `Renderer::lose_gpu_device_for_test`). wgpu runs the device-lost
    /// callback of a destroyed device only once a poll finds its queue
    /// empty, while a device lost by the driver calls it at once: the loss
    /// is marked here at once too, so that renders racing the destruction
    /// are blamed on it.
    pub fn destroy_device(&self) {
        let _lifecycle = device_lifecycle();
        self.device.destroy();
        self.loss
            .mark("Destroyed (Renderer::lose_gpu_device_for_test)".into());
        let _ = self.device.poll(wgpu::PollType::Poll);
    }

    /// The pool, locked; what it drops meanwhile is destroyed after the
    /// lock is released ([`PoolGuard`]).
    fn pool(&self) -> PoolGuard<'_> {
        PoolGuard(Some(self.pool.lock().unwrap_or_else(|p| p.into_inner())))
    }

    /// The pool's figures.
    pub fn pool_stats(&self) -> PoolStats {
        self.pool().stats()
    }

    /// Changes the pool's byte budget.
    pub fn set_pool_budget(&self, bytes: u64) {
        // As a new context's (`GpuContext::new`): at most four of the
        // adapter's largest buffers, so a recovery keeps the same budget.
        let most = self.device.limits().max_buffer_size.saturating_mul(4);
        self.pool().set_budget(bytes.min(most));
    }

    /// The resampled-image cache's figures.
    pub fn placed_stats(&self) -> crate::PlacedCacheStats {
        self.placed.stats()
    }

    /// Changes the resampled-image cache's byte budget (0: off).
    pub fn set_placed_budget(&self, bytes: u64) {
        self.placed.set_budget(bytes);
    }

    /// How layers are composited ([`GpuCompositor::Auto`] resolved).
    pub fn compositor(&self) -> GpuCompositor {
        match self.compositor.load(Ordering::Relaxed) {
            1 => GpuCompositor::Compute,
            _ => GpuCompositor::Fragment,
        }
    }

    /// Composites the next renders with `c` (`Auto` resolved for this
    /// adapter).
    pub fn set_compositor(&self, c: GpuCompositor) {
        let code = match c.resolve(&self.adapter.name) {
            GpuCompositor::Compute => 1,
            _ => 0,
        };
        self.compositor.store(code, Ordering::Relaxed);
    }

    /// Test hook: draws into an `Rgba16Float` canvas even where
    /// `Rgba32Float` blends (what adapters without it get).
    pub fn force_half_float_canvas(&self, on: bool) {
        self.half_canvas.store(on, Ordering::Relaxed);
    }

    /// The fragment path's canvas format.
    pub fn canvas_format(&self) -> wgpu::TextureFormat {
        if self.float32_blendable && !self.half_canvas.load(Ordering::Relaxed) {
            wgpu::TextureFormat::Rgba32Float
        } else {
            wgpu::TextureFormat::Rgba16Float
        }
    }

    /// The largest storage buffer binding this backend uses, in bytes.
    pub(super) fn max_storage(&self) -> u64 {
        self.max_storage.load(Ordering::Relaxed)
    }

    /// Binds storage buffers of at most `bytes`, below the adapter's own
    /// limit, as an adapter with a smaller one would. For tests.
    pub fn cap_storage(&self, bytes: u64) {
        self.max_storage.fetch_min(bytes, Ordering::Relaxed);
    }

    /// The texture side this backend uses.
    pub(super) fn max_texture_side(&self) -> u32 {
        self.max_texture_side.load(Ordering::Relaxed)
    }

    /// Uses textures no larger than `side` (at least 256), below the
    /// adapter's own limit.
    pub fn cap_texture_side(&self, side: u32) {
        let limit = self.adapter.max_texture_side;
        self.max_texture_side
            .store(side.max(256).min(limit), Ordering::Relaxed);
    }

    /// Whether a `w` x `h` image fits one texture of this adapter.
    pub(super) fn fits_texture(&self, w: u32, h: u32) -> bool {
        let side = self.max_texture_side();
        w <= side && h <= side
    }

    /// A pooled buffer of at least `bytes`, bound later with exactly
    /// `bytes` (at least 16).
    pub(super) fn take_buffer(
        &self,
        bytes: u64,
        usage: wgpu::BufferUsages,
        loans: &mut Loans,
    ) -> BufferId {
        let key = BufferKey::new(bytes, usage);
        // An upload staging buffer back from a finished frame is mapped
        // again on the device's next poll: poll once (without waiting, and
        // not under the pool's lock) rather than allocate another.
        if self.pool().awaits_mapping(key) {
            let _ = self.device.poll(wgpu::PollType::Poll);
        }
        let mut loan = self.pool().take_buffer(&self.device, key);
        loan.want = bytes.max(16);
        loans.add_buffer(loan)
    }

    /// A pooled texture of at least `width` x `height`.
    pub(super) fn take_texture(
        &self,
        (width, height): (u32, u32),
        format: wgpu::TextureFormat,
        usage: wgpu::TextureUsages,
        loans: &mut Loans,
    ) -> TextureId {
        let mut key = TextureKey::new(width, height, format, usage);
        // A size class never goes past the adapter's limit (the size asked
        // for is within it).
        key.width = key.width.min(self.max_texture_side());
        key.height = key.height.min(self.max_texture_side());
        loans.add_texture(self.pool().take_texture(&self.device, key))
    }

    /// Returns a render's loans to the pool.
    pub(super) fn give_back(&self, loans: &mut Loans) {
        self.release_claims(loans);
        loans.give_back(&mut self.pool());
    }
}

/// The pool's lock; on release, the resources the pool dropped meanwhile
/// are destroyed (outside the lock: see `Pool::take_doomed`).
struct PoolGuard<'a>(Option<MutexGuard<'a, Pool>>);

impl std::ops::Deref for PoolGuard<'_> {
    type Target = Pool;
    fn deref(&self) -> &Pool {
        // `Some` from `GpuContext::pool` until `drop`.
        self.0.as_ref().expect("the pool's lock")
    }
}

impl std::ops::DerefMut for PoolGuard<'_> {
    fn deref_mut(&mut self) -> &mut Pool {
        self.0.as_mut().expect("the pool's lock")
    }
}

impl Drop for PoolGuard<'_> {
    fn drop(&mut self) {
        let doomed = match self.0.as_mut() {
            Some(pool) => pool.take_doomed(),
            None => return,
        };
        drop(self.0.take());
        doomed.into_iter().for_each(super::pool::Loan::destroy);
    }
}

/// For unit tests: a context on whatever adapter wgpu finds, with a pool of
/// `pool_budget` bytes; `None` (a printed skip) without one, which is a
/// failure under `CI=true`.
#[cfg(test)]
pub(super) fn test_context(pool_budget: u64) -> Option<GpuContext> {
    match GpuContext::new(false, pool_budget) {
        Ok(Some(ctx)) => Some(ctx),
        other => {
            let why = other.err().map_or("no adapter".into(), |e| e.to_string());
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true and no GPU adapter: {why}"
            );
            eprintln!("SKIPPED (no GPU adapter): {why}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_dropped_past_the_pool_budget_are_destroyed_after_its_lock_is_released() {
        let Some(ctx) = test_context(1 << 20) else {
            return;
        };
        let mut loans = super::super::loans::Loans::default();
        ctx.scratch(1 << 16, &mut loans);
        ctx.take_texture(
            (64, 64),
            wgpu::TextureFormat::Rgba8Unorm,
            wgpu::TextureUsages::TEXTURE_BINDING,
            &mut loans,
        );
        ctx.set_pool_budget(0);
        ctx.give_back(&mut loans);
        let stats = ctx.pool_stats();
        assert_eq!((stats.buffers, stats.textures, stats.bytes_live), (0, 0, 0));
        let mut pool = ctx.pool.lock().unwrap();
        assert!(pool.take_doomed().is_empty(), "left to be destroyed");
    }

    /// Without the test hook: wgpu's device-lost callback alone marks the
    /// context lost, with its reason.
    #[test]
    fn the_device_lost_callback_marks_the_context_lost() {
        let Some(ctx) = test_context(1 << 20) else {
            return;
        };
        assert!(!ctx.check_lost());
        ctx.device.destroy();
        let _ = ctx.device.poll(wgpu::PollType::Wait {
            submission_index: None,
            timeout: Some(std::time::Duration::from_secs(10)),
        });
        assert!(ctx.is_lost());
        match ctx.lost_error() {
            Error::GpuDeviceLost { adapter, reason } => {
                assert_eq!(adapter, ctx.adapter().name);
                assert_eq!(reason, "Destroyed");
            }
            other => panic!("{other}"),
        }
    }
}
