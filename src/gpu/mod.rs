//! The GPU backend: wgpu compute shaders (`shaders/*.wgsl`) that implement
//! the same formulas as the CPU backend, on a premultiplied `f32` canvas.
//!
//! A render runs in two steps, after the manner of glyphon: `prepare` takes
//! every resource from the [`pool`] and uploads every input (uniforms, gradient
//! stops, image textures, text rasters), then the passes are recorded into one
//! command encoder (resampling passes, one pass per layer, the encode pass,
//! and the copy into a staging buffer whose rows are padded to 256 bytes),
//! submitted, and read back with the device polled under a time limit. Every
//! resource goes back to the pool afterwards.

mod glyphs;
pub mod pool;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytemuck::{Pod, Zeroable};
use image::RgbaImage;

use crate::color::{linear_encode_tables, srgb8_to_linear_table, BlendSpace};
use crate::error::Error;
use crate::pixels::PremulImage;
use crate::plan::weights::{AxisWeights, PassOrder, PassPlan};
use crate::plan::{Paint, Plan, PlannedLayer, Sampling, Stops};
use pool::{Key, Loan, Pool, PoolStats};

/// The WGSL of the per-layer composite pass (color + blend + composite).
pub const COMPOSITE_WGSL: &str = concat!(
    include_str!("../../shaders/color.wgsl"),
    include_str!("../../shaders/blend.wgsl"),
    include_str!("../../shaders/composite.wgsl")
);
/// The WGSL of the resampling passes (color + resample).
pub const RESAMPLE_WGSL: &str = concat!(
    include_str!("../../shaders/color.wgsl"),
    include_str!("../../shaders/resample.wgsl")
);
/// The WGSL of the encode pass.
pub const ENCODE_WGSL: &str = include_str!("../../shaders/encode.wgsl");

/// Default byte budget of the resource pool: 512 MiB.
pub const DEFAULT_POOL_BUDGET: u64 = 512 << 20;

/// How long a render may wait for the GPU before it is an error.
const GPU_TIMEOUT: Duration = Duration::from_secs(60);

/// Per-layer uniforms. Keep in sync with `LayerParams` in shaders/composite.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
struct LayerParams {
    canvas: [u32; 2],
    origin: [u32; 2],
    size: [u32; 2],
    kind: u32,
    mode: u32,
    clip: [f32; 4],
    box_: [f32; 4],
    rot: [f32; 4],
    color: [f32; 4],
    ramp: [f32; 4],
    img: [i32; 4],
    placed: [f32; 4],
    flags: [u32; 4],
}
const _: () = assert!(std::mem::size_of::<LayerParams>() == 160);

/// Resampling uniforms, one set per pass of a band. Keep in sync with
/// `ResampleParams` in shaders/resample.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
struct ResampleParams {
    /// Output width.
    dst_w: u32,
    /// Source rows the band reads, from `row_lo`.
    rows: u32,
    /// Taps of the axis this pass filters.
    taps: u32,
    row_lo: u32,
    space: u32,
    /// Output rows in the band, from `k0`.
    band_rows: u32,
    k0: u32,
    /// Source columns read (vertical first), from `col_lo`.
    col_lo: u32,
    cols: u32,
    _pad: [u32; 3],
}
const _: () = assert!(std::mem::size_of::<ResampleParams>() == 48);

/// The resampling shader's entry points, in the order of
/// `GpuContext::resample_pipelines`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResampleEntry {
    /// Horizontal first, pass 1: texture -> intermediate.
    Horizontal = 0,
    /// Horizontal first, pass 2: intermediate -> output.
    Vertical = 1,
    /// Vertical first, pass 1: texture -> intermediate.
    VerticalTex = 2,
    /// Vertical first, pass 2: intermediate -> output.
    HorizontalBuf = 3,
}

impl ResampleEntry {
    const ALL: [ResampleEntry; 4] = [
        ResampleEntry::Horizontal,
        ResampleEntry::Vertical,
        ResampleEntry::VerticalTex,
        ResampleEntry::HorizontalBuf,
    ];

    fn name(self) -> &'static str {
        match self {
            ResampleEntry::Horizontal => "horizontal",
            ResampleEntry::Vertical => "vertical",
            ResampleEntry::VerticalTex => "vertical_tex",
            ResampleEntry::HorizontalBuf => "horizontal_buf",
        }
    }

    /// Whether the pass reads the source texture (else the intermediate).
    fn reads_texture(self) -> bool {
        matches!(self, ResampleEntry::Horizontal | ResampleEntry::VerticalTex)
    }
}

/// Encode uniforms. Keep in sync with `EncodeParams` in shaders/encode.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
struct EncodeParams {
    canvas: [u32; 2],
    space: u32,
    _pad: u32,
}
const _: () = assert!(std::mem::size_of::<EncodeParams>() == 16);

const KIND_SOLID: u32 = 0;
const KIND_LINEAR: u32 = 1;
const KIND_RADIAL: u32 = 2;
const KIND_COPY: u32 = 3;
const KIND_GRID: u32 = 4;
const KIND_PLACED: u32 = 5;
const KIND_NONE: u32 = 6;
const KIND_TEXT: u32 = 7;

/// One adapter wgpu can see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterSummary {
    /// The adapter's name.
    pub name: String,
    /// `DiscreteGpu`, `IntegratedGpu`, `VirtualGpu`, `Cpu` or `Other`.
    pub device_type: String,
    /// The graphics API (`Vulkan`, `Metal`, `Dx12`, ...).
    pub backend: String,
    /// True for real GPUs (discrete, integrated or virtual), which
    /// `Backend::Auto` prefers to the CPU backend.
    pub hardware: bool,
    /// The largest texture side the adapter allows. Larger images are
    /// resampled (or cropped to the canvas) on the CPU before upload.
    pub max_texture_side: u32,
}

fn is_hardware(t: wgpu::DeviceType) -> bool {
    matches!(
        t,
        wgpu::DeviceType::DiscreteGpu
            | wgpu::DeviceType::IntegratedGpu
            | wgpu::DeviceType::VirtualGpu
    )
}

fn instance() -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
    if desc.backends.is_empty() {
        desc.backends = wgpu::Backends::PRIMARY;
    }
    wgpu::Instance::new(desc)
}

fn summarize(a: &wgpu::Adapter) -> AdapterSummary {
    let info = a.get_info();
    AdapterSummary {
        name: info.name.clone(),
        device_type: format!("{:?}", info.device_type),
        backend: format!("{:?}", info.backend),
        hardware: is_hardware(info.device_type),
        max_texture_side: a.limits().max_texture_dimension_2d,
    }
}

/// Every adapter wgpu finds on this machine.
pub fn list_adapters() -> Vec<AdapterSummary> {
    let inst = instance();
    pollster::block_on(inst.enumerate_adapters(wgpu::Backends::all()))
        .iter()
        .map(summarize)
        .collect()
}

/// The device, its pipelines, fixed tables and the resource pool.
pub(crate) struct GpuContext {
    device: wgpu::Device,
    queue: wgpu::Queue,
    adapter: AdapterSummary,
    composite: wgpu::ComputePipeline,
    /// One pipeline per [`ResampleEntry`], in its order.
    resample_pipelines: Vec<wgpu::ComputePipeline>,
    encode: wgpu::ComputePipeline,
    srgb_lut: wgpu::Buffer,
    thresholds: wgpu::Buffer,
    buckets: wgpu::Buffer,
    dummy_texture: wgpu::Texture,
    dummy_storage: wgpu::Buffer,
    max_storage: u64,
    pool: Mutex<Pool>,
    glyphs: Mutex<glyphs::Glyphs>,
    /// The texture side the backend uses: the adapter's limit, or less
    /// (`Renderer::with_gpu_max_texture_side`).
    max_texture_side: std::sync::atomic::AtomicU32,
    lost: Arc<AtomicBool>,
}

impl std::fmt::Debug for GpuContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuContext")
            .field("adapter", &self.adapter)
            .finish()
    }
}

fn gpu_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Gpu(format!("{what}: {e}"))
}

/// A wgpu error on one line: its text is a summary ("Validation Error")
/// followed by an indented tree of causes, which are kept.
fn wgpu_err(what: &str, e: &wgpu::Error) -> Error {
    let text = e.to_string();
    let causes: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != "Caused by:")
        .collect();
    Error::Gpu(format!("{what}: {}", causes.join(": ")))
}

impl GpuContext {
    /// A context on the best adapter: with `hardware_only`, only a real GPU
    /// qualifies (`None` when there is none); otherwise any adapter,
    /// software ones included.
    pub fn new(hardware_only: bool, pool_budget: u64) -> Result<Option<GpuContext>, Error> {
        let inst = instance();
        let mut adapters = pollster::block_on(inst.enumerate_adapters(wgpu::Backends::all()));
        // Hardware first, discrete before integrated.
        adapters.sort_by_key(|a| match a.get_info().device_type {
            wgpu::DeviceType::DiscreteGpu => 0,
            wgpu::DeviceType::IntegratedGpu => 1,
            wgpu::DeviceType::VirtualGpu => 2,
            wgpu::DeviceType::Cpu => 3,
            wgpu::DeviceType::Other => 4,
        });
        let Some(adapter) = adapters
            .into_iter()
            .find(|a| !hardware_only || is_hardware(a.get_info().device_type))
        else {
            return Ok(None);
        };
        let limits = adapter.limits();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("impasto"),
            required_features: wgpu::Features::empty(),
            required_limits: limits.clone(),
            ..Default::default()
        }))
        .map_err(|e| gpu_err("cannot open the GPU device", e))?;
        let lost = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&lost);
        // Every GPU call of a render runs under error scopes; an error
        // outside them (a bug) is logged rather than wgpu's default panic.
        device.on_uncaptured_error(Arc::new(|e: wgpu::Error| {
            log::error!("uncaptured GPU error: {e}");
        }));
        device.set_device_lost_callback(move |reason, message| {
            log::error!("GPU device lost ({reason:?}): {message}");
            flag.store(true, Ordering::SeqCst);
        });
        let module = |label: &str, src: &str| {
            device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(label),
                source: wgpu::ShaderSource::Wgsl(src.into()),
            })
        };
        let composite_mod = module("composite", COMPOSITE_WGSL);
        let resample_mod = module("resample", RESAMPLE_WGSL);
        let encode_mod = module("encode", ENCODE_WGSL);
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
        let composite = pipeline(&composite_mod, "composite_layer");
        let resample_pipelines = ResampleEntry::ALL
            .iter()
            .map(|e| pipeline(&resample_mod, e.name()))
            .collect();
        let encode = pipeline(&encode_mod, "encode");
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(wgpu_err("shader pipelines do not validate", &e));
        }
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
        let budget = pool_budget.min(limits.max_buffer_size.saturating_mul(4));
        let glyphs = Mutex::new(glyphs::Glyphs::new(&device, &queue));
        Ok(Some(GpuContext {
            adapter: summarize(&adapter),
            max_storage: limits
                .max_storage_buffer_binding_size
                .min(limits.max_buffer_size),
            device,
            queue,
            composite,
            resample_pipelines,
            encode,
            srgb_lut,
            thresholds,
            buckets,
            dummy_texture,
            dummy_storage,
            pool: Mutex::new(Pool::new(budget)),
            glyphs,
            max_texture_side: limits.max_texture_dimension_2d.into(),
            lost,
        }))
    }

    /// The adapter this context renders on.
    pub fn adapter(&self) -> &AdapterSummary {
        &self.adapter
    }

    /// The pool's figures.
    pub fn pool_stats(&self) -> PoolStats {
        self.pool.lock().unwrap_or_else(|p| p.into_inner()).stats()
    }

    fn take(&self, key: Key) -> Loan {
        // A size class never goes past the adapter's limit (the size asked
        // for is within it).
        let key = match key {
            Key::Texture {
                width,
                height,
                format,
                usage,
            } => Key::Texture {
                width: width.min(self.max_texture_side()),
                height: height.min(self.max_texture_side()),
                format,
                usage,
            },
            buffer => buffer,
        };
        self.pool
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take(&self.device, key)
    }

    /// A pooled buffer of at least `bytes`, bound later with exactly `bytes`.
    fn take_buffer(&self, bytes: u64, usage: wgpu::BufferUsages) -> Loan {
        let mut loan = self.take(Key::buffer(bytes, usage));
        loan.want = bytes.max(16);
        loan
    }

    /// The texture side this backend uses.
    fn max_texture_side(&self) -> u32 {
        self.max_texture_side.load(Ordering::Relaxed)
    }

    /// Uses textures no larger than `side` (at least 256), below the
    /// adapter's own limit.
    pub fn cap_texture_side(&self, side: u32) {
        let limit = self.adapter.max_texture_side;
        self.max_texture_side
            .store(side.max(256).min(limit), Ordering::Relaxed);
    }

    /// Changes the pool's byte budget.
    pub fn set_pool_budget(&self, bytes: u64) {
        self.pool
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .set_budget(bytes);
    }

    /// A pooled buffer for `usage` holding `bytes`; returns its loan index.
    fn upload(&self, bytes: &[u8], usage: wgpu::BufferUsages, loans: &mut Vec<Loan>) -> usize {
        let loan = self.take_buffer(bytes.len() as u64, usage | wgpu::BufferUsages::COPY_DST);
        self.queue.write_buffer(loan.res.buffer(), 0, bytes);
        loans.push(loan);
        loans.len() - 1
    }

    fn storage(&self, bytes: &[u8], loans: &mut Vec<Loan>) -> usize {
        self.upload(bytes, wgpu::BufferUsages::STORAGE, loans)
    }

    fn uniform(&self, bytes: &[u8], loans: &mut Vec<Loan>) -> usize {
        self.upload(bytes, wgpu::BufferUsages::UNIFORM, loans)
    }

    fn scratch(&self, bytes: u64, loans: &mut Vec<Loan>) -> usize {
        loans.push(self.take_buffer(
            bytes,
            wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
        ));
        loans.len() - 1
    }

    fn upload_texture(&self, img: &RgbaImage, loans: &mut Vec<Loan>) -> usize {
        let (w, h) = img.dimensions();
        let loan = self.take(Key::texture(
            w,
            h,
            wgpu::TextureFormat::Rgba8Unorm,
            wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
        ));
        self.queue.write_texture(
            wgpu::TexelCopyTextureInfo {
                texture: loan.res.texture(),
                mip_level: 0,
                origin: wgpu::Origin3d::ZERO,
                aspect: wgpu::TextureAspect::All,
            },
            img.as_raw(),
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(4 * w),
                rows_per_image: Some(h),
            },
            wgpu::Extent3d {
                width: w,
                height: h,
                depth_or_array_layers: 1,
            },
        );
        loans.push(loan);
        loans.len() - 1
    }

    /// Renders a validated, resolved scene. Straight-alpha 8-bit sRGB out.
    pub fn render(&self, plan: &Plan<'_>) -> Result<RgbaImage, Error> {
        self.submit(plan)?.finish()
    }

    /// Submits a validated, resolved scene and returns without waiting for
    /// the GPU: [`Pending::finish`] reads the result back. A canvas over the
    /// adapter's texture or storage limits is rendered in tiles here and
    /// comes back finished.
    pub(crate) fn submit(&self, plan: &Plan<'_>) -> Result<Pending<'_>, Error> {
        if self.lost.load(Ordering::SeqCst) {
            return Err(Error::Gpu(
                "the GPU device was lost; create a new Renderer (or use the CPU backend)".into(),
            ));
        }
        let (w, h) = (plan.width, plan.height);
        // A canvas wider than one texture or larger than one storage binding
        // is rendered in tiles: each tile is the same scene moved up and
        // left by whole pixels, which every formula is invariant under.
        let side = self.max_texture_side();
        let tile_w = w.min(side);
        let tile_h = (self.max_storage / (tile_w as u64 * 16))
            .min(side as u64)
            .min(h as u64) as u32;
        if tile_h == 0 {
            return Err(Error::Gpu(
                "the canvas does not fit this adapter; use the CPU backend".into(),
            ));
        }
        if tile_w == w && tile_h == h {
            return self.submit_tile(plan).map(Pending::InFlight);
        }
        let mut out = RgbaImage::new(w, h);
        // Tile `k + 1` is submitted before tile `k` is read back.
        let mut previous: Option<(InFlight, u32, u32)> = None;
        for y0 in (0..h).step_by(tile_h as usize) {
            for x0 in (0..w).step_by(tile_w as usize) {
                let tile = plan.tile_scene(x0, y0, tile_w.min(w - x0), tile_h.min(h - y0));
                let next = self.submit_tile(&Plan::new(&tile, plan.resolved))?;
                if let Some((done, x, y)) = previous.replace((next, x0, y0)) {
                    image::imageops::replace(&mut out, &done.finish()?, x as i64, y as i64);
                }
            }
        }
        if let Some((done, x, y)) = previous {
            image::imageops::replace(&mut out, &done.finish()?, x as i64, y as i64);
        }
        Ok(Pending::Done(out))
    }

    /// Submits one tile (or a whole canvas) under error scopes: validation
    /// and out-of-memory errors of its uploads, recording and submission
    /// become `Error`s.
    fn submit_tile(&self, plan: &Plan<'_>) -> Result<InFlight<'_>, Error> {
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let mut loans = Vec::new();
        let submitted = self.record_and_submit(plan, &mut loans);
        // wgpu-core reports these when the call is made, so the scopes can
        // close before the GPU has finished.
        let oom_err = pollster::block_on(oom.pop());
        let val_err = pollster::block_on(validation.pop());
        let flight = match submitted {
            Ok(s) => InFlight {
                ctx: self,
                loans,
                job: Some(s),
            },
            Err(e) => {
                self.give_back(loans);
                return Err(e);
            }
        };
        // On an error the flight is dropped: it waits for the GPU and
        // returns its loans.
        if let Some(e) = oom_err {
            return Err(wgpu_err("out of GPU memory", &e));
        }
        if let Some(e) = val_err {
            return Err(wgpu_err("GPU validation error", &e));
        }
        Ok(flight)
    }

    /// Returns a render's loans to the pool.
    fn give_back(&self, loans: Vec<Loan>) {
        let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
        for loan in loans {
            pool.give_back(loan);
        }
    }

    /// Prepares (every upload and bind group), records and submits one
    /// tile, and asks for its staging buffer to be mapped.
    fn record_and_submit(
        &self,
        plan: &Plan<'_>,
        loans: &mut Vec<Loan>,
    ) -> Result<Submitted, Error> {
        let (w, h) = (plan.width, plan.height);
        let space = plan.space;
        let space_code = space_code(space);
        let canvas = self.scratch(w as u64 * h as u64 * 16, loans);
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("impasto render"),
            });
        encoder.clear_buffer(
            loans[canvas].res.buffer(),
            0,
            Some(w as u64 * h as u64 * 16),
        );

        // Text layers first: laid out once (the CPU's plan), drawn by glyphon
        // into one premultiplied texture, a region per layer.
        let text = self.draw_text(plan, loans)?;

        // Prepare: every upload and every bind group, before any pass.
        struct Pass {
            bind: wgpu::BindGroup,
            groups: (u32, u32),
            resample: Vec<(wgpu::BindGroup, ResampleEntry, (u32, u32))>,
        }
        let mut passes = Vec::new();
        let background = Layerish::Background(plan.background);
        for item in std::iter::once(background).chain(plan.layers.iter().map(Layerish::Layer)) {
            let prepared = self.prepare_layer(plan, &text, &item, space_code, loans)?;
            let Some(prep) = prepared else { continue };
            let mut resample = Vec::new();
            if let Some(r) = &prep.resample {
                let src_view = loans[r.texture]
                    .res
                    .texture()
                    .create_view(&Default::default());
                for pass in &r.passes {
                    let mut entries = vec![
                        entry_loan(0, &loans[pass.params]),
                        entry_loan(2, &loans[pass.starts]),
                        entry_loan(3, &loans[pass.weights]),
                        entry_loan(5, &loans[r.mid]),
                    ];
                    if pass.entry.reads_texture() {
                        entries.push(wgpu::BindGroupEntry {
                            binding: 1,
                            resource: wgpu::BindingResource::TextureView(&src_view),
                        });
                        entries.push(entry_buf(4, &self.srgb_lut));
                    } else {
                        entries.push(entry_loan(6, &loans[r.out]));
                    }
                    let pipeline = &self.resample_pipelines[pass.entry as usize];
                    let bind = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                        label: Some(pass.entry.name()),
                        layout: &pipeline.get_bind_group_layout(0),
                        entries: &entries,
                    });
                    resample.push((bind, pass.entry, pass.groups));
                }
            }
            let tex_view = match prep.texture {
                Some(t) => loans[t].res.texture().create_view(&Default::default()),
                None => self.dummy_texture.create_view(&Default::default()),
            };
            let text_view = match prep.text_tex {
                Some(t) => loans[t].res.texture().create_view(&Default::default()),
                None => self.dummy_texture.create_view(&Default::default()),
            };
            let dummy = |b: u32| entry_buf(b, &self.dummy_storage);
            let stops = prep
                .stops
                .map(|i| entry_loan(2, &loans[i]))
                .unwrap_or_else(|| dummy(2));
            let inter = prep
                .inter
                .map(|i| entry_loan(4, &loans[i]))
                .unwrap_or_else(|| dummy(4));
            let bind = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("layer"),
                layout: &self.composite.get_bind_group_layout(0),
                entries: &[
                    entry_loan(0, &loans[prep.params]),
                    entry_loan(1, &loans[canvas]),
                    stops,
                    wgpu::BindGroupEntry {
                        binding: 3,
                        resource: wgpu::BindingResource::TextureView(&tex_view),
                    },
                    inter,
                    entry_buf(5, &self.srgb_lut),
                    wgpu::BindGroupEntry {
                        binding: 6,
                        resource: wgpu::BindingResource::TextureView(&text_view),
                    },
                ],
            });
            passes.push(Pass {
                bind,
                groups: prep.groups,
                resample,
            });
        }
        let enc_params = self.uniform(
            bytemuck::bytes_of(&EncodeParams {
                canvas: [w, h],
                space: space_code,
                _pad: 0,
            }),
            loans,
        );
        let out_tex = self.take(Key::texture(
            w,
            h,
            wgpu::TextureFormat::Rgba8Uint,
            wgpu::TextureUsages::STORAGE_BINDING | wgpu::TextureUsages::COPY_SRC,
        ));
        loans.push(out_tex);
        let out_tex = loans.len() - 1;
        let out_view = loans[out_tex]
            .res
            .texture()
            .create_view(&Default::default());
        let enc_bind = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("encode"),
            layout: &self.encode.get_bind_group_layout(0),
            entries: &[
                entry_loan(0, &loans[enc_params]),
                entry_loan(1, &loans[canvas]),
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: wgpu::BindingResource::TextureView(&out_view),
                },
                entry_buf(3, &self.thresholds),
                entry_buf(4, &self.buckets),
            ],
        });
        // Readback rows are padded to 256 bytes.
        let row = 4 * w;
        let padded =
            row.div_ceil(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT) * wgpu::COPY_BYTES_PER_ROW_ALIGNMENT;
        let staging = self.take_buffer(
            padded as u64 * h as u64,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        );
        loans.push(staging);
        let staging = loans.len() - 1;

        // Record: passes only.
        {
            let mut cpass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("layers"),
                timestamp_writes: None,
            });
            for pass in &passes {
                for (bind, entry, groups) in &pass.resample {
                    cpass.set_pipeline(&self.resample_pipelines[*entry as usize]);
                    cpass.set_bind_group(0, bind, &[]);
                    cpass.dispatch_workgroups(groups.0, groups.1, 1);
                }
                cpass.set_pipeline(&self.composite);
                cpass.set_bind_group(0, &pass.bind, &[]);
                cpass.dispatch_workgroups(pass.groups.0, pass.groups.1, 1);
            }
            cpass.set_pipeline(&self.encode);
            cpass.set_bind_group(0, &enc_bind, &[]);
            cpass.dispatch_workgroups(w.div_ceil(16), h.div_ceil(16), 1);
        }
        encoder.copy_texture_to_buffer(
            wgpu::TexelCopyTextureInfo {
                texture: loans[out_tex].res.texture(),
                mip_level: 0,
                origin: wgpu::Origin3d::ZERO,
                aspect: wgpu::TextureAspect::All,
            },
            wgpu::TexelCopyBufferInfo {
                buffer: loans[staging].res.buffer(),
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(padded),
                    rows_per_image: Some(h),
                },
            },
            wgpu::Extent3d {
                width: w,
                height: h,
                depth_or_array_layers: 1,
            },
        );
        let index = self.queue.submit([encoder.finish()]);
        let (tx, mapped) = std::sync::mpsc::channel();
        loans[staging]
            .res
            .buffer()
            .slice(..padded as u64 * h as u64)
            .map_async(wgpu::MapMode::Read, move |r| {
                let _ = tx.send(r);
            });
        Ok(Submitted {
            staging,
            padded,
            size: (w, h),
            index,
            mapped,
        })
    }

    /// Uploads what one layer needs and returns its bindings; `None` when it
    /// touches nothing (and is not an erasing operator).
    fn prepare_layer(
        &self,
        plan: &Plan<'_>,
        text: &TextDrawn,
        item: &Layerish,
        space_code: u32,
        loans: &mut Vec<Loan>,
    ) -> Result<Option<Prepared>, Error> {
        let (w, h) = (plan.width, plan.height);
        let layer = match item {
            Layerish::Background(color) => {
                // The background: a full-canvas solid drawn over the cleared canvas.
                let p = LayerParams {
                    canvas: [w, h],
                    origin: [0, 0],
                    size: [w, h],
                    kind: KIND_SOLID,
                    mode: crate::BlendMode::SourceOver as u32,
                    clip: [0.0, 0.0, w as f32, h as f32],
                    box_: [0.0, 0.0, w as f32, h as f32],
                    rot: [1.0, 0.0, 0.0, 1.0],
                    color: *color,
                    ramp: [0.0; 4],
                    img: [0; 4],
                    placed: [0.0; 4],
                    flags: [1, 0, 0, space_code],
                };
                let params = self.uniform(bytemuck::bytes_of(&p), loans);
                return Ok(Some(Prepared::simple(
                    params,
                    (w.div_ceil(16), h.div_ceil(16)),
                )));
            }
            Layerish::Layer(l) => *l,
        };
        // The layers the operator changes nothing of are skipped.
        let Some([x0, y0, x1, y1]) = layer.region(w, h) else {
            return Ok(None);
        };
        let geom = &layer.geom;
        let mut p = LayerParams {
            canvas: [w, h],
            origin: [x0, y0],
            size: [x1 - x0, y1 - y0],
            kind: KIND_NONE,
            mode: layer.blend as u32,
            clip: geom.clip.map(|v| v as f32),
            box_: [
                geom.x0 as f32,
                geom.y0 as f32,
                geom.x1 as f32,
                geom.y1 as f32,
            ],
            rot: [
                geom.cos as f32,
                geom.sin as f32,
                geom.radius as f32,
                layer.opacity,
            ],
            color: [0.0; 4],
            ramp: [0.0; 4],
            img: [0; 4],
            placed: [0.0; 4],
            flags: [u32::from(geom.axis_aligned), 0, 0, space_code],
        };
        let mut prep = Prepared::simple(0, ((x1 - x0).div_ceil(16), (y1 - y0).div_ceil(16)));
        match &layer.paint {
            Paint::Solid(color) => {
                p.kind = KIND_SOLID;
                p.color = *color;
            }
            Paint::Linear { ramp, stops } => {
                p.kind = KIND_LINEAR;
                p.ramp = [ramp.t0 as f32, ramp.dx as f32, ramp.dy as f32, 0.0];
                p.flags[2] = stops.len() as u32;
                prep.stops = Some(self.stops(stops, loans));
            }
            Paint::Radial { ramp, stops } => {
                p.kind = KIND_RADIAL;
                p.ramp = [ramp.cx as f32, ramp.cy as f32, ramp.radius as f32, 0.0];
                p.flags[2] = stops.len() as u32;
                prep.stops = Some(self.stops(stops, loans));
            }
            Paint::Image { image, sampling } => {
                self.prepare_image(plan, layer.index, image, sampling, &mut p, &mut prep, loans)?
            }
            Paint::Text { .. } => {
                if let Some(&(_, region, origin)) = text.regions.iter().find(|r| r.0 == layer.index)
                {
                    // Drawn by glyphon into the text texture.
                    p.kind = KIND_TEXT;
                    p.img = [
                        0,
                        region[1] as i32,
                        (region[2] - region[0]) as i32,
                        (region[3] - region[1]) as i32,
                    ];
                    p.placed = [
                        origin.0 as f32,
                        origin.1 as f32,
                        (region[2] - region[0]) as f32,
                        (region[3] - region[1]) as f32,
                    ];
                    prep.text_tex = text.texture;
                } else if let Some(r) = layer.text_raster(plan) {
                    // Too large for the text texture: the CPU's raster.
                    prep.inter = Some(self.upload_premul16(layer.index, &r.image, loans)?);
                    p.kind = KIND_PLACED;
                    p.img = [0, 0, r.image.width as i32, r.image.height as i32];
                    p.placed = [
                        r.origin.0 as f32,
                        r.origin.1 as f32,
                        r.image.width as f32,
                        r.image.height as f32,
                    ];
                }
            }
            Paint::Nothing => {}
        }
        prep.params = self.uniform(bytemuck::bytes_of(&p), loans);
        Ok(Some(prep))
    }

    /// Uploads an image layer's texture (and records its resampling passes).
    #[allow(clippy::too_many_arguments)]
    fn prepare_image(
        &self,
        plan: &Plan<'_>,
        index: usize,
        img: &RgbaImage,
        sampling: &Sampling,
        p: &mut LayerParams,
        prep: &mut Prepared,
        loans: &mut Vec<Loan>,
    ) -> Result<(), Error> {
        let (sw, sh) = img.dimensions();
        match sampling {
            Sampling::Copy { ox, oy } => {
                p.kind = KIND_COPY;
                // An image over the texture size limit: only the part on the
                // canvas, which fits one.
                let [cx, cy, cw, ch] = if self.fits_texture(sw, sh) {
                    [0, 0, sw, sh]
                } else {
                    visible_crop(*ox, *oy, sw, sh, plan.width, plan.height)
                };
                p.img = [
                    (ox + cx as i64) as i32,
                    (oy + cy as i64) as i32,
                    cw as i32,
                    ch as i32,
                ];
                prep.texture = Some(if [cw, ch] == [sw, sh] {
                    self.upload_texture(img, loans)
                } else {
                    let crop = image::imageops::crop_imm(img, cx, cy, cw, ch);
                    self.upload_texture(&crop.to_image(), loans)
                });
            }
            Sampling::Grid { bounds, xw, yw } => {
                let [x0, y0, x1, y1] = *bounds;
                p.kind = KIND_GRID;
                p.img = [x0 as i32, y0 as i32, (x1 - x0) as i32, (y1 - y0) as i32];
                let (inter, resample) = self.resampled(index, img, xw, yw, plan.space, loans)?;
                prep.inter = Some(inter);
                prep.resample = resample;
            }
            Sampling::Placed {
                xw,
                yw,
                placed,
                nearest,
            } => {
                p.kind = KIND_PLACED;
                p.img = [0, 0, xw.len() as i32, yw.len() as i32];
                p.placed = placed.map(|v| v as f32);
                p.flags[1] = u32::from(*nearest);
                let (inter, resample) = self.resampled(index, img, xw, yw, plan.space, loans)?;
                prep.inter = Some(inter);
                prep.resample = resample;
            }
        }
        Ok(())
    }

    /// Lays out every text layer and draws them all with glyphon into one
    /// pooled texture. Layers that do not fit the adapter's texture size are
    /// left to the CPU raster path.
    fn draw_text(&self, plan: &Plan<'_>, loans: &mut Vec<Loan>) -> Result<TextDrawn, Error> {
        let mut drawn = TextDrawn::default();
        let Some(engine) = &plan.resolved.text else {
            return Ok(drawn);
        };
        let (w, h) = (plan.width, plan.height);
        let mut state = engine.lock();
        let mut jobs = Vec::new();
        let (mut tex_w, mut tex_h) = (1u32, 0u32);
        for planned in &plan.layers {
            let Paint::Text { layer, text: t } = &planned.paint else {
                continue;
            };
            let Some((buffer, tp)) =
                crate::text::plan(&mut state.fonts, layer, t, &planned.geom, w, h)
            else {
                continue;
            };
            // glyphon truncates the text's vertical position toward zero;
            // rows of padding above the region keep that position positive,
            // so it rounds down exactly as the CPU raster does.
            let pad = (-tp.top.floor()).max(0.0) as u64;
            let end = tex_h as u64 + pad + tp.height as u64;
            let side = self.max_texture_side();
            if tp.width > side || end > side as u64 {
                continue;
            }
            let region = [0, tex_h + pad as u32, tp.width, end as u32];
            tex_h = end as u32;
            tex_w = tex_w.max(tp.width);
            drawn.regions.push((planned.index, region, tp.origin));
            jobs.push(glyphs::TextJob {
                buffer,
                color: t.color,
                left: tp.left,
                top: tp.top,
                region,
            });
        }
        if jobs.is_empty() {
            return Ok(drawn);
        }
        let loan = self.take(Key::texture(
            tex_w,
            tex_h,
            glyphs::TEXT_FORMAT,
            wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::TEXTURE_BINDING,
        ));
        let result = self.glyphs.lock().unwrap_or_else(|p| p.into_inner()).draw(
            &self.device,
            &self.queue,
            &mut state,
            plan.space,
            &jobs,
            loan.res.texture(),
        );
        loans.push(loan);
        drawn.texture = Some(loans.len() - 1);
        result.map(|()| drawn)
    }

    /// Whether a `w` x `h` image fits one texture of this adapter.
    fn fits_texture(&self, w: u32, h: u32) -> bool {
        let side = self.max_texture_side();
        w <= side && h <= side
    }

    /// Layer `index`'s image resampled with `xw` x `yw`: the loan of the
    /// premultiplied `f32` result, and the passes that fill it. An image over
    /// the adapter's texture size limit is resampled on the CPU (the same
    /// plan and weights) and its result uploaded, with no passes.
    fn resampled(
        &self,
        index: usize,
        img: &RgbaImage,
        xw: &AxisWeights,
        yw: &AxisWeights,
        space: BlendSpace,
        loans: &mut Vec<Loan>,
    ) -> Result<(usize, Option<Resample>), Error> {
        let (sw, sh) = img.dimensions();
        if !self.fits_texture(sw, sh) {
            let r = crate::cpu::resample::resample(img, space, xw, yw);
            return Ok((self.upload_premul16(index, &r, loans)?, None));
        }
        let texture = self.upload_texture(img, loans);
        let r = self.resample(texture, (sw, sh), xw, yw, space_code(space), loans)?;
        Ok((r.out, Some(r)))
    }

    /// Uploads a premultiplied image resampled or rasterized on the CPU
    /// (layer `index`'s) as the `f32` storage the composite pass reads.
    fn upload_premul16(
        &self,
        index: usize,
        img: &PremulImage,
        loans: &mut Vec<Loan>,
    ) -> Result<usize, Error> {
        let bytes = img.data.len() as u64 * 16;
        if bytes > self.max_storage {
            return Err(Error::Gpu(format!(
                "layer {index}: its {}x{} resampled pixels need {bytes} bytes, over this adapter's storage binding limit of {} bytes; use the CPU backend",
                img.width, img.height, self.max_storage
            )));
        }
        let floats: Vec<[f32; 4]> = img
            .data
            .iter()
            .map(|p| p.map(|v| v as f32 * (1.0 / 65535.0)))
            .collect();
        Ok(self.storage(bytemuck::cast_slice(&floats), loans))
    }

    fn stops(&self, stops: &Stops, loans: &mut Vec<Loan>) -> usize {
        let data: Vec<[f32; 4]> = stops
            .iter()
            .flat_map(|&(offset, color)| [[offset as f32, 0.0, 0.0, 0.0], color])
            .collect();
        self.storage(bytemuck::cast_slice(&data), loans)
    }

    /// Uploads the weight tables and records nothing: returns the passes
    /// (two per band of [`PassPlan`]) that resample `texture` into an
    /// `xw.len()` x `yw.len()` premultiplied buffer.
    fn resample(
        &self,
        texture: usize,
        (sw, sh): (u32, u32),
        xw: &AxisWeights,
        yw: &AxisWeights,
        space_code: u32,
        loans: &mut Vec<Loan>,
    ) -> Result<Resample, Error> {
        let (dw, dh) = (xw.len() as u32, yw.len() as u32);
        let plan = PassPlan::new(xw, yw, sw, sh, u32::MAX);
        let mid_pixels = plan
            .bands
            .iter()
            .map(|b| plan.band_pixels(b, dw))
            .max()
            .unwrap_or(0)
            .max(1);
        let out_bytes = dw as u64 * dh as u64 * 16;
        for bytes in [mid_pixels * 16, out_bytes] {
            if bytes > self.max_storage {
                return Err(Error::Gpu(format!(
                    "resampling a {sw}x{sh} image to {dw}x{dh} needs a buffer of {bytes} bytes, over this adapter's storage binding limit of {} bytes; use the CPU backend",
                    self.max_storage
                )));
            }
        }
        let x_starts = self.storage(bytemuck::cast_slice(&xw.start), loans);
        let x_weights = self.storage(bytemuck::cast_slice(&xw.weights), loans);
        let y_starts = self.storage(bytemuck::cast_slice(&yw.start), loans);
        let y_weights = self.storage(bytemuck::cast_slice(&yw.weights), loans);
        let (col_lo, cols) = (plan.cols.0, plan.cols.1 - plan.cols.0);
        let mut passes = Vec::with_capacity(plan.bands.len() * 2);
        for band in &plan.bands {
            let band_rows = band.k1 - band.k0;
            let base = ResampleParams {
                dst_w: dw,
                rows: band.hi - band.lo,
                taps: 0,
                row_lo: band.lo,
                space: space_code,
                band_rows,
                k0: band.k0,
                col_lo,
                cols,
                _pad: [0; 3],
            };
            let x = (x_starts, x_weights, xw.taps as u32);
            let y = (y_starts, y_weights, yw.taps as u32);
            let steps = match plan.order {
                PassOrder::HorizontalFirst => [
                    (ResampleEntry::Horizontal, x, (dw, base.rows.max(1))),
                    (ResampleEntry::Vertical, y, (dw, band_rows)),
                ],
                PassOrder::VerticalFirst => [
                    (ResampleEntry::VerticalTex, y, (cols.max(1), band_rows)),
                    (ResampleEntry::HorizontalBuf, x, (dw, band_rows)),
                ],
            };
            for (entry, (starts, weights, taps), (gx, gy)) in steps {
                let params =
                    self.uniform(bytemuck::bytes_of(&ResampleParams { taps, ..base }), loans);
                passes.push(ResamplePass {
                    entry,
                    params,
                    starts,
                    weights,
                    groups: (gx.div_ceil(16), gy.div_ceil(16)),
                });
            }
        }
        Ok(Resample {
            texture,
            passes,
            mid: self.scratch(mid_pixels * 16, loans),
            out: self.scratch(out_bytes, loans),
        })
    }
}

/// The part `[x, y, w, h]` of an `sw` x `sh` image placed at `(ox, oy)` that
/// lies on a `cw` x `ch` canvas; one pixel (off the canvas) when none does,
/// so the layer still has an image to sample.
fn visible_crop(ox: i64, oy: i64, sw: u32, sh: u32, cw: u32, ch: u32) -> [u32; 4] {
    let axis = |o: i64, s: u32, c: u32| -> (u32, u32) {
        let lo = (-o).clamp(0, s as i64 - 1) as u32;
        let hi = (c as i64 - o).clamp(lo as i64 + 1, s as i64) as u32;
        (lo, hi - lo)
    };
    let (x, w) = axis(ox, sw, cw);
    let (y, h) = axis(oy, sh, ch);
    [x, y, w, h]
}

/// The shaders' code for a blend space.
fn space_code(space: BlendSpace) -> u32 {
    match space {
        BlendSpace::Srgb => 0,
        BlendSpace::Linear => 1,
    }
}

/// Binds exactly the bytes the borrower asked for (pooled buffers are larger).
fn entry_loan(binding: u32, loan: &Loan) -> wgpu::BindGroupEntry<'_> {
    wgpu::BindGroupEntry {
        binding,
        resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: loan.res.buffer(),
            offset: 0,
            size: std::num::NonZeroU64::new(loan.want),
        }),
    }
}

fn entry_buf(binding: u32, buffer: &wgpu::Buffer) -> wgpu::BindGroupEntry<'_> {
    wgpu::BindGroupEntry {
        binding,
        resource: buffer.as_entire_binding(),
    }
}

/// What a submitted tile's readback needs: the loan index of its staging
/// buffer, its padded row length and size, its submission, and the channel
/// on which wgpu says that the staging buffer is mapped.
struct Submitted {
    staging: usize,
    padded: u32,
    size: (u32, u32),
    index: wgpu::SubmissionIndex,
    mapped: std::sync::mpsc::Receiver<Result<(), wgpu::BufferAsyncError>>,
}

/// A tile (or whole canvas) submitted to the GPU whose result has not been read back. Its
/// loans go back to the pool when it is finished or dropped (after the GPU
/// is done with them).
pub(crate) struct InFlight<'a> {
    ctx: &'a GpuContext,
    loans: Vec<Loan>,
    job: Option<Submitted>,
}

impl InFlight<'_> {
    /// Waits for the GPU (polling the device, never longer than the GPU
    /// time limit) and reads the result back, removing the row padding.
    pub fn finish(mut self) -> Result<RgbaImage, Error> {
        let result = self.read();
        if self.ctx.lost.load(Ordering::SeqCst) {
            return Err(Error::Gpu(
                "the GPU device was lost during the render".into(),
            ));
        }
        result
    }

    fn read(&mut self) -> Result<RgbaImage, Error> {
        let Some(job) = self.job.take() else {
            return Err(Error::Gpu("the render was already read back".into()));
        };
        let ctx = self.ctx;
        let (w, h) = job.size;
        ctx.device
            .poll(wgpu::PollType::Wait {
                submission_index: Some(job.index),
                timeout: Some(GPU_TIMEOUT),
            })
            .map_err(|e| gpu_err("waiting for the GPU", e))?;
        let buffer = self.loans[job.staging].res.buffer();
        match job.mapped.recv_timeout(GPU_TIMEOUT) {
            Ok(Ok(())) => {}
            // A failed map leaves the buffer unmapped.
            Ok(Err(e)) => return Err(gpu_err("reading the result back", e)),
            Err(_) => {
                // Still waiting: unmapping cancels the request.
                buffer.unmap();
                return Err(Error::Gpu("the result was never mapped for reading".into()));
            }
        }
        // Mapped from here: it goes back to the pool unmapped.
        let _unmap = Unmap(buffer);
        let slice = buffer.slice(..job.padded as u64 * h as u64);
        let data = slice
            .get_mapped_range()
            .map_err(|e| gpu_err("reading the result back", e))?;
        let row = 4 * w as usize;
        let mut out = Vec::with_capacity(row * h as usize);
        for y in 0..h as usize {
            let start = y * job.padded as usize;
            out.extend_from_slice(&data[start..start + row]);
        }
        drop(data);
        RgbaImage::from_raw(w, h, out).ok_or_else(|| Error::Gpu("readback size mismatch".into()))
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some(job) = self.job.take() {
            // Never read back: let the GPU finish with the loans first.
            let _ = self.ctx.device.poll(wgpu::PollType::Wait {
                submission_index: Some(job.index),
                timeout: Some(GPU_TIMEOUT),
            });
            // Mapped, or still waiting: unmap (which cancels a request). A
            // failed map left it unmapped, and unmapping that is an error.
            match job.mapped.try_recv() {
                Ok(Ok(())) | Err(std::sync::mpsc::TryRecvError::Empty) => {
                    self.loans[job.staging].res.buffer().unmap()
                }
                Ok(Err(_)) | Err(std::sync::mpsc::TryRecvError::Disconnected) => {}
            }
        }
        self.ctx.give_back(std::mem::take(&mut self.loans));
    }
}

/// Unmaps a mapped buffer when dropped.
struct Unmap<'a>(&'a wgpu::Buffer);

impl Drop for Unmap<'_> {
    fn drop(&mut self) {
        self.0.unmap();
    }
}

/// A submitted scene: one tile (the whole canvas) in flight, or a canvas rendered in tiles
/// (already read back).
pub(crate) enum Pending<'a> {
    InFlight(InFlight<'a>),
    Done(RgbaImage),
}

impl Pending<'_> {
    /// The rendered scene, read back.
    pub fn finish(self) -> Result<RgbaImage, Error> {
        match self {
            Pending::InFlight(f) => f.finish(),
            Pending::Done(img) => Ok(img),
        }
    }
}

/// The background (premultiplied) or a planned layer.
enum Layerish<'a> {
    Background([f32; 4]),
    Layer(&'a PlannedLayer<'a>),
}

/// Text layers drawn by glyphon: (layer index, region in the texture,
/// box-local origin of the region), and the texture's loan.
#[derive(Default)]
struct TextDrawn {
    regions: Vec<(usize, [u32; 4], (f64, f64))>,
    texture: Option<usize>,
}

/// A resampled image: indices into the render's loans, and its passes.
struct Resample {
    /// The source texture.
    texture: usize,
    /// Two passes per band, in recording order.
    passes: Vec<ResamplePass>,
    /// The intermediate, sized for the largest band (reused by every band).
    mid: usize,
    /// The premultiplied result.
    out: usize,
}

/// One dispatch of a resample.
struct ResamplePass {
    entry: ResampleEntry,
    /// This pass's `ResampleParams`.
    params: usize,
    /// The weight table of the axis it filters.
    starts: usize,
    weights: usize,
    groups: (u32, u32),
}

struct Prepared {
    params: usize,
    groups: (u32, u32),
    stops: Option<usize>,
    texture: Option<usize>,
    text_tex: Option<usize>,
    inter: Option<usize>,
    resample: Option<Resample>,
}

impl Prepared {
    fn simple(params: usize, groups: (u32, u32)) -> Prepared {
        Prepared {
            params,
            groups,
            stops: None,
            texture: None,
            text_tex: None,
            inter: None,
            resample: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every shader parses and validates with naga, on any machine, GPU or not.
    #[test]
    fn every_wgsl_module_validates_with_naga() {
        for (name, src) in [
            ("composite", COMPOSITE_WGSL),
            ("resample", RESAMPLE_WGSL),
            ("encode", ENCODE_WGSL),
        ] {
            let module = naga::front::wgsl::parse_str(src)
                .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(src)));
            naga::valid::Validator::new(
                naga::valid::ValidationFlags::all(),
                naga::valid::Capabilities::default(),
            )
            .validate(&module)
            .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(src)));
        }
    }

    #[test]
    fn blend_codes_in_wgsl_match_the_rust_enum() {
        for mode in crate::BlendMode::ALL {
            let name = mode.name().to_uppercase().replace('-', "_");
            let line = format!("const {name}: u32 = {}u;", mode as u32);
            assert!(
                COMPOSITE_WGSL.contains(&line),
                "shaders/blend.wgsl lacks {line:?}"
            );
        }
    }
}
