//! The public entry point: [`Renderer`], built with a [`Backend`], an asset
//! root and [`Limits`].
//!
//! A render runs in three steps: [`Assets::resolve`] checks everything that
//! can be wrong with the input (limits, asset paths, decoding, fonts) before
//! any pixel is drawn; [`Plan::new`] decides what to draw; the chosen
//! backend paints the plan. Both backends paint the same plan.
//!
//! About 600 lines, most of them the documented public methods (with their
//! examples) of the one type users hold; the GPU routing, device loss and
//! breaker live in `renderer/gpu.rs`, warnings in `crate::warnings`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use image::RgbaImage;

use crate::asset_cache::{AssetCache, AssetCacheStats, DEFAULT_ASSET_CACHE_BYTES};
use crate::assets::{Assets, Resolved};
use crate::cancel::{RenderOptions, Stop};
use crate::codec;
use crate::error::Error;
use crate::gpu::pool::PoolStats;
use crate::gpu::{AdapterSummary, GpuContext, GpuDevice};
pub use crate::limits::Limits;
use crate::placed_cache::{PlacedCache, DEFAULT_PLACED_CACHE_BYTES};
use crate::plan::Plan;
use crate::scene::{LayerKind, Scene};
use crate::shrink::ShrinkOnLoad;
use crate::text::{FontOptions, MissingGlyphs, TextEngine, TextMeasure};
use crate::warnings::Warning;

pub(crate) mod gpu;
mod gpu_glyphs;
mod placed;
mod rows;

/// Which compositor renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Backend {
    /// A hardware GPU when there is one, otherwise the CPU. On Linux a
    /// machine with no GPU device node (`/dev/dri/*`, `/dev/nvidia*`,
    /// `/dev/dxg`) gets the CPU at once, without loading any GPU driver; a
    /// probe that finds no hardware adapter is remembered for the process.
    /// On a GPU, a circuit breaker sends renders to the CPU while the GPU
    /// keeps failing ([`Renderer::gpu_breaker`]).
    #[default]
    Auto,
    /// The CPU backend.
    Cpu,
    /// The GPU backend (any adapter, software ones included). GPU failures
    /// are returned as errors; a lost device is replaced on the next render.
    Gpu,
}

impl Backend {
    /// Parses `auto`, `cpu` or `gpu`.
    pub fn from_name(name: &str) -> Option<Backend> {
        match name {
            "auto" => Some(Backend::Auto),
            "cpu" => Some(Backend::Cpu),
            "gpu" => Some(Backend::Gpu),
            _ => None,
        }
    }
}

/// Renders scenes. Cheap to share between threads (`Send + Sync`); its
/// clones share the fonts, the glyph cache and the GPU device.
///
/// ```
/// use impasto::{Backend, Renderer, Scene};
///
/// let renderer = Renderer::new(Backend::Cpu)?.with_system_fonts(false);
/// let scene = Scene::from_json(r##"{
///     "width": 64, "height": 32, "background": "#ffffff",
///     "layers": [ { "type": "rect", "x": 8, "y": 8, "width": 16, "height": 16, "color": "#e4572e" } ]
/// }"##)?;
/// let image = renderer.render(&scene)?; // straight-alpha 8-bit sRGB RGBA
/// assert_eq!(image.get_pixel(12, 12).0, [0xe4, 0x57, 0x2e, 255]);
/// # Ok::<(), impasto::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Renderer {
    backend: Backend,
    asset_root: Option<PathBuf>,
    limits: Limits,
    fonts: FontOptions,
    /// Fonts and glyph cache, loaded on the first text layer and shared by
    /// every clone of this renderer.
    text: Arc<OnceLock<Result<Arc<TextEngine>, String>>>,
    /// The GPU device and its resources, when rendering on the GPU.
    gpu: Option<Arc<GpuDevice>>,
    /// Decoded image files, shared by every clone of this renderer.
    asset_cache: Arc<AssetCache>,
    /// Resampled images, shared by every clone of this renderer.
    placed_cache: Arc<PlacedCache>,
    /// Whether JPEGs drawn smaller than their size are decoded smaller.
    shrink_on_load: ShrinkOnLoad,
}

impl Renderer {
    /// A renderer for `backend`, with default limits; the asset root is each
    /// scene's own folder (or the current directory for scenes from JSON text).
    pub fn new(backend: Backend) -> Result<Renderer, Error> {
        let budget = crate::gpu::DEFAULT_POOL_BUDGET;
        match backend {
            Backend::Gpu => match GpuContext::new(false, budget)? {
                Some(ctx) => Ok(Renderer::on_gpu(
                    GpuDevice::new(ctx, false, budget, false),
                    "backend gpu: using",
                )),
                None => Err(Error::Gpu(
                    "no GPU adapter found (on Linux without a GPU, install Mesa's lavapipe: apt-get install mesa-vulkan-drivers); use --backend cpu".into(),
                )),
            },
            Backend::Auto => match crate::gpu::auto_needs_no_probe() {
                Some(why) => {
                    log::info!("backend auto: {why}, using the CPU backend");
                    Ok(Renderer::with_backend(Backend::Cpu))
                }
                None => Renderer::probe_auto(budget),
            },
            Backend::Cpu => Ok(Renderer::with_backend(backend)),
        }
    }

    /// `Backend::Auto` when a hardware GPU may be there: asks wgpu for one,
    /// and falls back to the CPU when there is none or it cannot be opened.
    fn probe_auto(budget: u64) -> Result<Renderer, Error> {
        match GpuContext::new(true, budget) {
            Ok(Some(ctx)) => Ok(Renderer::on_gpu(
                GpuDevice::new(ctx, true, budget, true),
                "backend auto: hardware GPU found, using",
            )),
            Ok(None) => {
                crate::gpu::remember_no_hardware_adapter();
                log::info!("backend auto: no hardware GPU adapter, using the CPU backend");
                Ok(Renderer::with_backend(Backend::Cpu))
            }
            Err(e) => {
                log::info!(
                    "backend auto: the GPU could not be opened ({e}), using the CPU backend"
                );
                Ok(Renderer::with_backend(Backend::Cpu))
            }
        }
    }

    /// The GPU adapter this renderer uses, if it renders on the GPU.
    pub fn adapter(&self) -> Option<&AdapterSummary> {
        self.gpu.as_ref().map(|g| g.adapter())
    }

    /// The GPU resource pool's figures (`None` on the CPU backend). A
    /// device opened after a loss starts with an empty pool.
    pub fn gpu_pool_stats(&self) -> Option<PoolStats> {
        self.gpu.as_ref().map(|g| g.current().pool_stats())
    }

    /// Sets the GPU resource pool's byte budget (default 512 MiB). Shared by
    /// every clone of this renderer.
    pub fn with_gpu_pool_budget(self, bytes: u64) -> Renderer {
        if let Some(g) = &self.gpu {
            g.set_pool_budget(bytes);
        }
        self
    }

    /// Makes the GPU backend use textures no larger than `side` pixels (at
    /// least 256) even where the adapter allows more, as an adapter with a
    /// smaller limit would: canvases wider than that render in tiles, and
    /// larger images are cropped or resampled on the CPU before upload.
    /// A way to check, on any machine, what a smaller GPU does. Shared by
    /// every clone of this renderer.
    pub fn with_gpu_max_texture_side(self, side: u32) -> Renderer {
        if let Some(g) = &self.gpu {
            g.cap_texture_side(side);
        }
        self
    }

    fn on_gpu(gpu: GpuDevice, why: &str) -> Renderer {
        let a = gpu.adapter();
        log::info!("{why} {} ({}, {})", a.name, a.device_type, a.backend);
        let mut r = Renderer::with_backend(Backend::Gpu);
        r.gpu = Some(Arc::new(gpu));
        r
    }

    fn with_backend(backend: Backend) -> Renderer {
        Renderer {
            backend,
            asset_root: None,
            limits: Limits::default(),
            fonts: FontOptions::default(),
            text: Arc::default(),
            gpu: None,
            asset_cache: Arc::new(AssetCache::new(DEFAULT_ASSET_CACHE_BYTES)),
            placed_cache: Arc::new(PlacedCache::new(DEFAULT_PLACED_CACHE_BYTES)),
            shrink_on_load: ShrinkOnLoad::Fast,
        }
    }

    /// Adds a folder searched (recursively) for font files. The fonts are
    /// loaded at the first render with text: a folder that cannot be read
    /// fails that render with [`Error::Options`] (which
    /// [`Error::is_bad_input`] counts as the caller's), so a service calls
    /// [`Renderer::font_families`] at start-up to find it then.
    pub fn with_font_dir(mut self, dir: impl Into<PathBuf>) -> Renderer {
        self.fonts.font_dirs.push(dir.into());
        self.text = Arc::default();
        self
    }

    /// Turns the system's fonts on (the default) or off (for output that does
    /// not depend on the machine's fonts).
    pub fn with_system_fonts(mut self, on: bool) -> Renderer {
        self.fonts.system_fonts = on;
        self.text = Arc::default();
        self
    }

    /// The font families text layers can name (loads the fonts if needed).
    pub fn font_families(&self) -> Result<Vec<String>, Error> {
        Ok(self.text_engine()?.families())
    }

    /// How many rasterized glyph images the text engine holds (0 before any
    /// text is rendered). A glyph seen before is drawn from this cache.
    pub fn cached_glyphs(&self) -> usize {
        self.glyph_cache().0
    }

    /// The glyph cache's figures: glyph images held and their bytes (kept
    /// under the budget of [`Renderer::with_glyph_cache_budget`]).
    pub fn glyph_cache(&self) -> (usize, u64) {
        match self.text.get() {
            Some(Ok(engine)) => engine.glyph_cache(),
            _ => (0, 0),
        }
    }

    /// The glyph cache's byte budget ([`Renderer::with_glyph_cache_budget`]).
    pub fn glyph_cache_budget(&self) -> u64 {
        self.fonts.glyph_cache_bytes
    }

    /// Sets the glyph cache's byte budget (default 64 MiB). Glyphs larger
    /// than 1/64 of it are rasterized for the render that needs them and not
    /// kept. (This is the CPU raster's cache; the GPU backend keeps its
    /// glyphs in glyphon's atlases, one set per render drawing text at once,
    /// at most eight, each grown only as far as one render's glyphs need.)
    pub fn with_glyph_cache_budget(mut self, bytes: u64) -> Renderer {
        self.fonts.glyph_cache_bytes = bytes;
        self.text = Arc::default();
        self
    }

    /// How a text layer lays out, as both backends draw it: the width of
    /// each line drawn, their height, the size chosen (`overflow: shrink`),
    /// whether text was cut off, and the characters no font has; useful to
    /// check that a template's text fits. Other layer kinds measure empty.
    ///
    /// The layer is checked as a scene's layer is (its fields' ranges: an
    /// error names it as layer 0), and measured in its own box. A side
    /// left unset (a layer made with [`crate::Layer::text`] and no
    /// [`crate::Layer::size`]) is unbounded: without a width the text is
    /// not wrapped, so each paragraph's line gives its natural width.
    ///
    /// ```
    /// use impasto::{Backend, Layer, Renderer};
    ///
    /// let r = Renderer::new(Backend::Cpu)?.with_system_fonts(false);
    /// let one_line = r.measure_text(&Layer::text("Hello, world", 32))?;
    /// assert_eq!(one_line.lines.len(), 1);
    /// let wrapped = r.measure_text(&Layer::text("Hello, world", 32).size(80, 400))?;
    /// assert!(wrapped.lines.len() > 1);
    /// # Ok::<(), impasto::Error>(())
    /// ```
    pub fn measure_text(&self, layer: &crate::scene::Layer) -> Result<TextMeasure, Error> {
        self.measure_text_with(layer, &RenderOptions::default())
    }

    /// [`Renderer::measure_text`] under a deadline or cancel token: text
    /// from outside is laid out within the render's limits
    /// ([`Limits::max_text_chars`] too), and a long `shrink` or `ellipsis`
    /// search stops at the deadline with [`Error::DeadlineExceeded`] (or
    /// [`Error::Cancelled`]).
    pub fn measure_text_with(
        &self,
        layer: &crate::scene::Layer,
        options: &RenderOptions,
    ) -> Result<TextMeasure, Error> {
        let LayerKind::Text(t) = &layer.kind else {
            return Ok(TextMeasure::default());
        };
        // A size never given is +0 (`Layer::size` marks a 0 given as -0,
        // which the check below refuses).
        let mut layer = layer.clone();
        for side in [&mut layer.width, &mut layer.height] {
            if *side == 0.0 && side.is_sign_positive() {
                *side = crate::scene::MAX_COORD;
            }
        }
        // Checked as in a scene: the canvas plays no part in a text
        // layer's checks, so any size does.
        let mut alone = Scene::new(1, 1);
        alone.layers.push(layer.clone());
        alone.validate()?;
        let limits = self.limits();
        crate::assets::check_work(&alone, &limits)?;
        let stop = options.stop();
        stop.check()?;
        guarded(|| {
            let engine = self.text_engine()?;
            engine.check_fallback_work(0, t, limits.max_text_fallback_work)?;
            let measured = engine.measure(&layer, t, &stop);
            // A search the stop ended measured what it had reached.
            stop.check()?;
            Ok(measured)
        })
    }

    /// What a text layer's characters that no available font can draw do
    /// (default [`MissingGlyphs::Warn`]: a logged warning naming the layer
    /// and the characters; [`MissingGlyphs::Error`] refuses the scene).
    /// The fonts loaded and the glyph cache stay shared with the renderer
    /// this was cloned from, so a clone per request with its own policy
    /// costs nothing (the other font settings load the fonts again).
    pub fn with_missing_glyphs(mut self, policy: MissingGlyphs) -> Renderer {
        self.fonts.missing_glyphs = policy;
        self
    }

    fn text_engine(&self) -> Result<Arc<TextEngine>, Error> {
        self.text
            .get_or_init(|| {
                TextEngine::new(self.fonts.clone())
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            })
            .clone()
            .map_err(Error::Options)
    }

    /// Whether a JPEG drawn smaller than its natural size is decoded at k/8
    /// of it in the DCT, k from 1 to 6: `true` is [`ShrinkOnLoad::Fast`]
    /// (the default), `false` [`ShrinkOnLoad::Off`] (every image decoded
    /// at full precision; slower for large photos).
    pub fn with_shrink_on_load(self, on: bool) -> Renderer {
        self.with_shrink_on_load_mode(if on {
            ShrinkOnLoad::Fast
        } else {
            ShrinkOnLoad::Off
        })
    }

    /// How far a JPEG drawn smaller than its natural size is shrunk in the
    /// DCT as it is decoded (default [`ShrinkOnLoad::Fast`]): the smallest
    /// k/8 that leaves 1.25 times the pixels of every placed size that uses
    /// the file (twice them with [`ShrinkOnLoad::Fine`]), on both axes (EXIF
    /// orientation applied first), the rest of the way filtered as the
    /// layer says. Layers with `filter: nearest` always get the full-size
    /// decode.
    pub fn with_shrink_on_load_mode(mut self, mode: ShrinkOnLoad) -> Renderer {
        self.shrink_on_load = mode;
        self
    }

    /// Sets the byte budget of the decoded-image cache (default 256 MiB):
    /// an image file used by many renders is decoded once while it is
    /// unchanged on disk (same size and modification time); the least
    /// recently used image goes first; 0 turns the cache off.
    pub fn with_asset_cache_budget(mut self, bytes: u64) -> Renderer {
        self.asset_cache = Arc::new(AssetCache::new(bytes));
        self
    }

    /// The decoded-image cache's figures (images, bytes, hits, misses,
    /// evictions).
    pub fn asset_cache_stats(&self) -> AssetCacheStats {
        self.asset_cache.stats()
    }

    /// Resolves image `src` paths under `root` instead of the scene's folder.
    pub fn with_asset_root(mut self, root: impl Into<PathBuf>) -> Renderer {
        self.asset_root = Some(root.into());
        self
    }

    /// Replaces the size limits.
    pub fn with_limits(mut self, limits: Limits) -> Renderer {
        self.limits = limits;
        self
    }

    /// The backend that renders (never `Auto`: that is resolved at construction).
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The files `scene`'s visible image layers draw, by layer index,
    /// resolved under this renderer's asset root (canonical paths; a file
    /// not there yet, where it would be; a `src` outside the root is left
    /// out, as rendering refuses it): for a
    /// caller that must not write over them (`impasto batch`). The render
    /// calls that write a file refuse to write over these themselves.
    pub fn image_files(&self, scene: &Scene) -> Vec<(usize, PathBuf)> {
        crate::asset_files::image_inputs(scene, &self.asset_root_for(scene), &Assets::new())
    }

    /// Refuses, before rendering `scene`, an output `path` that cannot or
    /// must not be written: its folder missing, a folder, a pipe, socket
    /// or device, or an image the scene draws. The render calls that
    /// write a file check this themselves; for a caller writing otherwise
    /// (a still GIF through [`crate::RenderedAnimation::save`]).
    pub fn check_output_path(&self, scene: &Scene, path: &Path) -> Result<(), Error> {
        crate::codec::check_output_dir(path)?;
        let root = self.asset_root_for(scene);
        crate::asset_files::refuse_own_input(scene, &root, &Assets::new(), path)
    }

    /// The folder `scene`'s image `src` paths are resolved under.
    pub(crate) fn asset_root_for(&self, scene: &Scene) -> PathBuf {
        self.asset_root
            .clone()
            .or_else(|| scene.base_dir.clone())
            .unwrap_or_else(|| PathBuf::from("."))
    }

    /// Renders a scene to straight-alpha 8-bit sRGB RGBA.
    pub fn render(&self, scene: &Scene) -> Result<RgbaImage, Error> {
        self.render_with_assets(scene, &Assets::default())
    }

    /// Renders a scene whose image layers may name in-memory `assets`
    /// (looked up by `src` before the asset root is searched).
    pub fn render_with_assets(&self, scene: &Scene, assets: &Assets) -> Result<RgbaImage, Error> {
        self.render_with(scene, assets, &RenderOptions::default())
    }

    /// [`Renderer::render_with_assets`] under a deadline and a cancel token:
    /// the render stops with [`Error::DeadlineExceeded`] or
    /// [`Error::Cancelled`] and frees its memory.
    ///
    /// ```
    /// use std::time::Duration;
    /// use impasto::{Assets, Backend, Error, RenderOptions, Renderer, Scene};
    ///
    /// let scene = Scene::from_json(r#"{ "width": 4096, "height": 4096 }"#)?;
    /// let options = RenderOptions::with_timeout(Duration::ZERO);
    /// let result = Renderer::new(Backend::Cpu)?.render_with(&scene, &Assets::new(), &options);
    /// assert!(matches!(result, Err(Error::DeadlineExceeded)));
    /// # Ok::<(), impasto::Error>(())
    /// ```
    pub fn render_with(
        &self,
        scene: &Scene,
        assets: &Assets,
        options: &RenderOptions,
    ) -> Result<RgbaImage, Error> {
        let mut warnings = Vec::new();
        let image = self.render_collecting(scene, assets, options, &mut warnings);
        crate::warnings::log_all(&warnings);
        image
    }

    /// The render behind [`Renderer::render_with`] and
    /// [`Renderer::render_report`]; the warnings go to `warnings`.
    pub(crate) fn render_collecting(
        &self,
        scene: &Scene,
        assets: &Assets,
        options: &RenderOptions,
        warnings: &mut Vec<Warning>,
    ) -> Result<RgbaImage, Error> {
        self.render_readback(
            scene,
            assets,
            options,
            warnings,
            crate::gpu::Want::Pixels,
            None,
        )?
        .into_image()
    }

    /// [`Renderer::render_collecting`], read back from the GPU as `want`
    /// asks (pixels from the CPU); the memory limit counts the `encoding`
    /// format's encoder too.
    pub(crate) fn render_readback(
        &self,
        scene: &Scene,
        assets: &Assets,
        options: &RenderOptions,
        warnings: &mut Vec<Warning>,
        want: crate::gpu::Want,
        encoding: Option<codec::OutputFormat>,
    ) -> Result<crate::gpu::Readback, Error> {
        let stop = options.stop();
        let _running = crate::busy::Running::start();
        guarded(|| {
            stop.check()?;
            let resolved = self.resolve(scene, assets, &stop)?;
            warnings.extend_from_slice(&resolved.warnings);
            stop.check()?;
            let plan = Plan::new(scene, &resolved);
            let mut placed = self.placed_for(&plan, true);
            self.check_memory(&plan, placed.as_mut(), encoding)?;
            match self.backend {
                Backend::Gpu => match &self.gpu {
                    Some(g) => gpu::paint_as(g, g.route(), &plan, want, &stop),
                    None => Err(Error::Gpu("this renderer has no GPU device".into())),
                },
                Backend::Cpu | Backend::Auto => {
                    crate::cpu::render_cached(&plan, &stop, placed).map(crate::gpu::Readback::Image)
                }
            }
        })
    }

    /// Renders `scenes` in order and hands each result, with its index, to
    /// `on_result` as soon as it is ready. Each result is the one
    /// [`Renderer::render_with_assets`] gives, and a scene that fails does
    /// not stop the others.
    ///
    /// On the GPU the work overlaps: scene `i + 1` is decoded, uploaded and
    /// submitted before scene `i` is read back, and `on_result` (encoding or
    /// saving, say) runs while the GPU draws the next scene. At most two
    /// scenes are in flight, so memory stays that of two renders. On the CPU
    /// the scenes render one after another (each one on every core).
    pub fn render_each<'s>(
        &self,
        scenes: impl IntoIterator<Item = &'s Scene>,
        assets: &Assets,
        on_result: impl FnMut(usize, Result<RgbaImage, Error>),
    ) {
        self.render_each_with(scenes, assets, &RenderOptions::default(), on_result)
    }

    /// [`Renderer::render_each`] under `options`, whose deadline and cancel
    /// token cover the whole run: once they say stop, the scene being
    /// rendered fails with [`Error::DeadlineExceeded`] or
    /// [`Error::Cancelled`] (checked within it as in
    /// [`Renderer::render_with`]) and so does every scene left, without
    /// being rendered; `on_result` still gets one result per scene.
    ///
    /// ```
    /// use impasto::{Assets, Backend, CancelToken, Error, RenderOptions, Renderer, Scene};
    ///
    /// let scene = Scene::from_json(r#"{ "width": 64, "height": 64 }"#)?;
    /// let token = CancelToken::new();
    /// let options = RenderOptions::default().cancel_token(token.clone());
    /// let mut results = Vec::new();
    /// Renderer::new(Backend::Cpu)?.render_each_with([&scene, &scene, &scene], &Assets::new(), &options, |i, r| {
    ///     token.cancel(); // after the first scene
    ///     results.push((i, r.is_ok()));
    /// });
    /// assert_eq!(results, [(0, true), (1, false), (2, false)]);
    /// # Ok::<(), impasto::Error>(())
    /// ```
    pub fn render_each_with<'s>(
        &self,
        scenes: impl IntoIterator<Item = &'s Scene>,
        assets: &Assets,
        options: &RenderOptions,
        mut on_result: impl FnMut(usize, Result<RgbaImage, Error>),
    ) {
        self.render_each_report_with(scenes, assets, options, |i, result| {
            on_result(
                i,
                result.map(|r| {
                    crate::warnings::log_all(&r.warnings);
                    r.image
                }),
            )
        });
    }

    /// The memory a render of `scene` would need at its peak, in bytes, as
    /// [`Limits::max_render_bytes`] counts it: its images are decoded (and
    /// kept in the decoded-asset cache) to know it, nothing is painted. The
    /// larger of the painting's peak and the decodes' (should the render
    /// decode its files again). A service can reserve this much before
    /// rendering. A render over [`Limits::max_render_bytes`] is refused as
    /// rendering it would be ([`Error::OverMemoryLimit`], naming its
    /// largest parts), so that a service whose limit is its budget can
    /// say what is large.
    pub fn estimate_render_bytes(&self, scene: &Scene, assets: &Assets) -> Result<u64, Error> {
        self.estimate_render_bytes_with(scene, assets, None, &RenderOptions::default())
    }

    /// [`Renderer::estimate_render_bytes`] of a render to be encoded as
    /// `encoding` (its encoder's memory counted: AVIF's is 128 to 512
    /// bytes a pixel with the quality, and 64 MiB, so that under the
    /// default 1 GiB limit an AVIF above about 8 megapixels is refused),
    /// under a deadline and a cancel token: checked before each
    /// image file is decoded, so an estimate whose request is gone stops
    /// decoding ([`Error::Cancelled`], [`Error::DeadlineExceeded`]).
    pub fn estimate_render_bytes_with(
        &self,
        scene: &Scene,
        assets: &Assets,
        encoding: Option<codec::OutputFormat>,
        options: &RenderOptions,
    ) -> Result<u64, Error> {
        if let Some(format) = encoding {
            format.check_size(scene.width, scene.height)?;
        }
        let stop = options.stop();
        guarded(|| {
            let resolved = self.resolve(scene, assets, &stop)?;
            let plan = Plan::new(scene, &resolved);
            let estimate =
                crate::plan::memory::estimate(&plan, rayon::current_num_threads(), encoding);
            if estimate.total > self.limits.max_render_bytes {
                return Err(self.over_limit(&estimate));
            }
            let fill = self.placed_for(&plan, false).map_or(0, |p| p.fill_bytes());
            // As `check_memory`: the cache is filled only within the limit.
            let with_fill = estimate.total.saturating_add(fill);
            let painting = if with_fill <= self.limits.max_render_bytes {
                with_fill
            } else {
                estimate.total
            };
            // The decodes' peak, should the render decode its files again
            // (the decoded-asset cache keeping none of them).
            Ok(painting.max(resolved.decode_peak))
        })
    }

    /// Checks the scene against the format's rules ([`Scene::validate`]:
    /// scenes built or changed in code skip the parser) and loads everything
    /// it refers to (see [`Assets::resolve`]).
    fn resolve(&self, scene: &Scene, assets: &Assets, stop: &Stop<'_>) -> Result<Resolved, Error> {
        scene.validate()?;
        assets.resolve(
            scene,
            self.asset_root.as_deref(),
            &self.limits,
            &self.asset_cache,
            self.shrink_on_load,
            || self.text_engine(),
            self.fonts.missing_glyphs,
            stop,
        )
    }

    /// Renders `scenes` in order, overlapping their work on the GPU (see
    /// [`Renderer::render_each`]); one result per scene.
    pub fn render_batch(&self, scenes: &[Scene], assets: &Assets) -> Vec<Result<RgbaImage, Error>> {
        let mut out = Vec::with_capacity(scenes.len());
        self.render_each(scenes, assets, |_, r| out.push(r));
        out
    }

    /// Renders a scene (its image layers may name in-memory `assets`) and
    /// encodes it in `format`: the bytes a service sends.
    ///
    /// ```
    /// use impasto::codec::OutputFormat;
    /// use impasto::{Assets, Backend, Renderer, Scene};
    ///
    /// let scene = Scene::from_json(r##"{ "width": 8, "height": 8, "background": "#336699" }"##)?;
    /// let renderer = Renderer::new(Backend::Cpu)?;
    /// let png = renderer.render_to_vec(&scene, &Assets::new(), OutputFormat::Png)?;
    /// assert_eq!(&png[1..4], b"PNG");
    /// # Ok::<(), impasto::Error>(())
    /// ```
    pub fn render_to_vec(
        &self,
        scene: &Scene,
        assets: &Assets,
        format: codec::OutputFormat,
    ) -> Result<Vec<u8>, Error> {
        self.render_to_vec_with(scene, assets, format, &RenderOptions::default())
    }

    /// [`Renderer::render_to_vec`] under `options`: the render stops at the
    /// deadline or on a cancel ([`Renderer::render_with`]), and the encoder
    /// is not started after either ([`crate::Encodable::encode_with`]; an
    /// encode under way runs to its end, then the render fails all the
    /// same).
    pub fn render_to_vec_with(
        &self,
        scene: &Scene,
        assets: &Assets,
        format: codec::OutputFormat,
        options: &RenderOptions,
    ) -> Result<Vec<u8>, Error> {
        // As `render_encoded`: the format's size limit is checked before
        // the render, and its encoder counts toward `max_render_bytes`.
        let encodable = self.render_encoded(scene, assets, format, options)?;
        crate::warnings::log_all(encodable.warnings());
        encodable.encode_with(options)
    }

    /// Renders a scene and writes it to `path` in the format its extension
    /// names (`.png`, `.jpg`/`.jpeg` and lossy `.webp` at `quality`; see
    /// [`codec::OutputFormat::from_path`]). The file appears whole or not at
    /// all: a failed render leaves no file behind. It is a still image,
    /// whatever the scene's [`Scene::animate`] says (a `.gif` holds the
    /// first frames): [`Renderer::render_animation_to_file`] writes the
    /// animation.
    pub fn render_to_file(
        &self,
        scene: &Scene,
        path: impl AsRef<Path>,
        quality: u8,
    ) -> Result<(), Error> {
        self.render_to_file_with(
            scene,
            &Assets::new(),
            path,
            quality,
            &RenderOptions::default(),
        )
    }

    /// [`Renderer::render_to_file`] with in-memory `assets` and render
    /// `options` (deadline, cancel token). A bad output name or a missing
    /// output folder is refused before the render starts.
    pub fn render_to_file_with(
        &self,
        scene: &Scene,
        assets: &Assets,
        path: impl AsRef<Path>,
        quality: u8,
        options: &RenderOptions,
    ) -> Result<(), Error> {
        let path = path.as_ref();
        let format = codec::OutputFormat::from_path(path, quality)?;
        self.render_to_file_as(scene, assets, path, format, options)
    }

    /// [`Renderer::render_to_file_with`] in a chosen `format` (for example
    /// [`codec::OutputFormat::WebPLossless`], from
    /// [`codec::OutputFormat::from_path_lossless`]), whatever `path`'s
    /// extension. A missing output folder is refused before the render starts.
    pub fn render_to_file_as(
        &self,
        scene: &Scene,
        assets: &Assets,
        path: impl AsRef<Path>,
        format: codec::OutputFormat,
        options: &RenderOptions,
    ) -> Result<(), Error> {
        let warnings = self.render_to_file_report(scene, assets, path, format, options)?;
        crate::warnings::log_all(&warnings);
        Ok(())
    }
}

/// Runs `f`, turning a panic (in it or in a worker thread it waits for)
/// into [`Error::Internal`], so that a bug in impasto fails one render
/// instead of taking the caller down.
fn guarded<T>(f: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    // The renderer's shared state stays usable after a panic: its locks are
    // taken with `unwrap_or_else(PoisonError::into_inner)` and a render's
    // resources go back to the pool on drop.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        Err(Error::Internal(message))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renderer_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Renderer>();
    }

    #[test]
    fn a_panic_inside_a_render_becomes_an_internal_error() {
        let err = guarded::<()>(|| panic!("boom {}", 7)).unwrap_err();
        assert!(matches!(&err, Error::Internal(m) if m == "boom 7"), "{err}");
        assert!(!err.is_bad_input());
        // Panics in rayon workers reach the caller's thread too.
        use rayon::prelude::*;
        let err = guarded(|| {
            (0..64)
                .into_par_iter()
                .for_each(|i| assert!(i != 40, "worker {i}"));
            Ok(())
        })
        .unwrap_err();
        assert!(err.to_string().contains("worker 40"), "{err}");
    }
}
