//! The public entry point: [`Renderer`], built with a [`Backend`], an asset
//! root and [`Limits`].
//!
//! A render runs in two steps. `resolve` checks everything that can be wrong
//! with the input (limits, asset paths, decoding) before any pixel is drawn;
//! then the chosen backend composites. Both backends receive the same
//! resolved input.

use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, OnceLock};

use image::RgbaImage;
use rayon::prelude::*;

use crate::codec;
use crate::error::{Error, Location};
use crate::gpu::pool::PoolStats;
use crate::gpu::{AdapterSummary, GpuContext};
use crate::scene::{LayerKind, Scene};
use crate::text::{FontOptions, TextEngine};

/// Which compositor renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// A hardware GPU when there is one, otherwise the CPU.
    #[default]
    Auto,
    /// The CPU backend.
    Cpu,
    /// The GPU backend (any adapter, software ones included).
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

/// Size limits enforced before any allocation of the size they bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest canvas, in pixels (width x height). Default 16384 x 16384, the
    /// format's own bound.
    pub max_canvas_pixels: u64,
    /// Largest decoded image, in pixels. Default 128 megapixels (512 MiB as
    /// RGBA8); larger files are refused from their header, before decoding.
    pub max_image_pixels: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_canvas_pixels: 16384 * 16384,
            max_image_pixels: 128 * 1024 * 1024,
        }
    }
}

/// Decoded images supplied in memory, by the `src` names scenes use for
/// them. They take precedence over files, so a service can decode its logos
/// and templates once and render thousands of scenes from them.
#[derive(Debug, Clone, Default)]
pub struct Assets {
    images: std::collections::HashMap<String, Arc<RgbaImage>>,
}

impl Assets {
    /// An empty set.
    pub fn new() -> Assets {
        Assets::default()
    }

    /// Registers a decoded straight-alpha image under the `src` name scenes use.
    pub fn insert(&mut self, src: impl Into<String>, image: impl Into<Arc<RgbaImage>>) {
        self.images.insert(src.into(), image.into());
    }

    /// The image registered under `src`, if any.
    pub fn get(&self, src: &str) -> Option<&Arc<RgbaImage>> {
        self.images.get(src)
    }
}

/// Renders scenes. Cheap to share between threads (`Send + Sync`).
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
    gpu: Option<Arc<GpuContext>>,
}

/// What a backend receives besides the scene: every image layer's decoded
/// pixels (by layer index) and, when the scene has text, the text engine.
pub(crate) struct Resolved {
    pub images: Vec<Option<Arc<RgbaImage>>>,
    pub text: Option<Arc<TextEngine>>,
}

impl Renderer {
    /// A renderer for `backend`, with default limits; the asset root is each
    /// scene's own folder (or the current directory for scenes from JSON text).
    pub fn new(backend: Backend) -> Result<Renderer, Error> {
        let budget = crate::gpu::DEFAULT_POOL_BUDGET;
        match backend {
            Backend::Gpu => match GpuContext::new(false, budget)? {
                Some(ctx) => Ok(Renderer::on_gpu(ctx, "backend gpu: using")),
                None => Err(Error::Gpu(
                    "no GPU adapter found (on Linux without a GPU, install Mesa's lavapipe: apt-get install mesa-vulkan-drivers); use --backend cpu".into(),
                )),
            },
            Backend::Auto => match GpuContext::new(true, budget) {
                Ok(Some(ctx)) => Ok(Renderer::on_gpu(ctx, "backend auto: hardware GPU found, using")),
                Ok(None) => {
                    log::info!("backend auto: no hardware GPU adapter, using the CPU backend");
                    Ok(Renderer::with_backend(Backend::Cpu))
                }
                Err(e) => {
                    log::info!("backend auto: the GPU could not be opened ({e}), using the CPU backend");
                    Ok(Renderer::with_backend(Backend::Cpu))
                }
            },
            Backend::Cpu => Ok(Renderer::with_backend(backend)),
        }
    }

    /// The GPU adapter this renderer uses, if it renders on the GPU.
    pub fn adapter(&self) -> Option<&AdapterSummary> {
        self.gpu.as_ref().map(|g| g.adapter())
    }

    /// The GPU resource pool's figures (`None` on the CPU backend).
    pub fn gpu_pool_stats(&self) -> Option<PoolStats> {
        self.gpu.as_ref().map(|g| g.pool_stats())
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

    fn on_gpu(ctx: GpuContext, why: &str) -> Renderer {
        let a = ctx.adapter();
        log::info!("{why} {} ({}, {})", a.name, a.device_type, a.backend);
        let mut r = Renderer::with_backend(Backend::Gpu);
        r.gpu = Some(Arc::new(ctx));
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
        }
    }

    /// Adds a folder searched (recursively) for font files.
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
        Ok(self.text_engine()?.families().to_vec())
    }

    /// How many rasterized glyph images the text engine holds (0 before any
    /// text is rendered). A glyph seen before is drawn from this cache.
    pub fn cached_glyphs(&self) -> usize {
        match self.text.get() {
            Some(Ok(engine)) => engine.cached_glyphs(),
            _ => 0,
        }
    }

    /// The widths of the lines a text layer lays out into (its box width
    /// wraps them); useful to check that a template's text fits. Other
    /// layer kinds have no lines.
    pub fn measure_text(&self, layer: &crate::scene::Layer) -> Result<Vec<f32>, Error> {
        match &layer.kind {
            LayerKind::Text(t) => Ok(self.text_engine()?.line_widths(layer, t)),
            _ => Ok(Vec::new()),
        }
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

    /// Renders a scene to straight-alpha 8-bit sRGB RGBA.
    pub fn render(&self, scene: &Scene) -> Result<RgbaImage, Error> {
        self.render_with_assets(scene, &Assets::default())
    }

    /// Renders a scene whose image layers may name in-memory `assets`
    /// (looked up by `src` before the asset root is searched).
    pub fn render_with_assets(&self, scene: &Scene, assets: &Assets) -> Result<RgbaImage, Error> {
        let resolved = self.resolve(scene, assets)?;
        match self.backend {
            Backend::Gpu => match &self.gpu {
                Some(g) => g.render(scene, &resolved),
                None => Err(Error::Gpu("this renderer has no GPU device".into())),
            },
            Backend::Cpu | Backend::Auto => Ok(crate::cpu::render(scene, &resolved)),
        }
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
        mut on_result: impl FnMut(usize, Result<RgbaImage, Error>),
    ) {
        let gpu = match (self.backend, &self.gpu) {
            (Backend::Gpu, Some(gpu)) => gpu,
            _ => {
                for (i, scene) in scenes.into_iter().enumerate() {
                    on_result(i, self.render_with_assets(scene, assets));
                }
                return;
            }
        };
        let mut pending: Option<(usize, crate::gpu::Pending<'_>)> = None;
        for (i, scene) in scenes.into_iter().enumerate() {
            let next = self
                .resolve(scene, assets)
                .and_then(|resolved| gpu.submit(scene, &resolved));
            if let Some((j, previous)) = pending.take() {
                on_result(j, previous.finish());
            }
            match next {
                Ok(p) => pending = Some((i, p)),
                Err(e) => on_result(i, Err(e)),
            }
        }
        if let Some((j, last)) = pending {
            on_result(j, last.finish());
        }
    }

    /// Renders `scenes` in order, overlapping their work on the GPU (see
    /// [`Renderer::render_each`]); one result per scene.
    pub fn render_batch(&self, scenes: &[Scene], assets: &Assets) -> Vec<Result<RgbaImage, Error>> {
        let mut out = Vec::with_capacity(scenes.len());
        self.render_each(scenes, assets, |_, r| out.push(r));
        out
    }

    /// Renders a scene and writes it to `path` in the format its extension
    /// names (`.png`, `.jpg`/`.jpeg` with `jpeg_quality`, `.webp`). The file
    /// appears whole or not at all.
    pub fn render_to_file(
        &self,
        scene: &Scene,
        path: &Path,
        jpeg_quality: u8,
    ) -> Result<(), Error> {
        // Refuse a bad output name before spending time on the render.
        codec::OutputFormat::from_path(path, jpeg_quality)?;
        let img = self.render(scene)?;
        codec::save(&img, path, jpeg_quality)
    }

    /// Checks limits and layer support, and decodes every image layer's file
    /// (in parallel), so that a render either fails here or succeeds.
    fn resolve(&self, scene: &Scene, assets: &Assets) -> Result<Resolved, Error> {
        let pixels = scene.width as u64 * scene.height as u64;
        if pixels > self.limits.max_canvas_pixels {
            return Err(Error::scene(
                Location::Canvas,
                Some("width"),
                format!(
                    "canvas {}x{} = {pixels} pixels is over the limit of {} pixels",
                    scene.width, scene.height, self.limits.max_canvas_pixels
                ),
            ));
        }
        let mut text = None;
        for (index, layer) in scene.layers.iter().enumerate() {
            if let LayerKind::Text(t) = &layer.kind {
                let engine = match &text {
                    Some(e) => Arc::clone(e),
                    None => self.text_engine()?,
                };
                engine.check_family(index, t)?;
                text = Some(engine);
            }
        }
        let root = self
            .asset_root
            .clone()
            .or_else(|| scene.base_dir.clone())
            .unwrap_or_else(|| PathBuf::from("."));
        let max_pixels = self.limits.max_image_pixels;
        scene
            .layers
            .par_iter()
            .enumerate()
            .map(|(index, layer)| match &layer.kind {
                LayerKind::Image(il) => {
                    let loc = Location::Layer {
                        index,
                        kind: Some("image".into()),
                    };
                    if let Some(img) = assets.get(&il.src) {
                        let pixels = img.width() as u64 * img.height() as u64;
                        if pixels > max_pixels {
                            return Err(Error::scene(
                                loc,
                                Some("src"),
                                format!("{:?}: image is {}x{} = {pixels} pixels, over the limit of {max_pixels} pixels", il.src, img.width(), img.height()),
                            ));
                        }
                        if pixels == 0 {
                            return Err(Error::scene(loc, Some("src"), format!("{:?}: image has no pixels", il.src)));
                        }
                        return Ok(Some(img.clone()));
                    }
                    let path = resolve_asset(&root, &il.src)
                        .map_err(|m| Error::scene(loc.clone(), Some("src"), m))?;
                    let img = codec::decode_file(&path, max_pixels).map_err(|e| {
                        Error::scene(loc.clone(), Some("src"), format!("{:?}: {}", il.src, e.0))
                    })?;
                    Ok(Some(Arc::new(img)))
                }
                _ => Ok(None),
            })
            .collect::<Result<Vec<_>, Error>>()
            .map(|images| Resolved { images, text })
    }
}

/// Resolves `src` under `root`, refusing absolute paths and paths that lead
/// outside the root (lexically, or through a symbolic link).
pub fn resolve_asset(root: &Path, src: &str) -> Result<PathBuf, String> {
    let rel = Path::new(src);
    if rel.is_absolute() || rel.has_root() || src.starts_with('/') || src.starts_with('\\') {
        return Err(format!(
            "{src:?} is an absolute path; image paths must be relative to the asset root"
        ));
    }
    let mut depth: i64 = 0;
    for c in rel.components() {
        match c {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => {
                depth -= 1;
                if depth < 0 {
                    return Err(format!("{src:?} resolves outside the asset root"));
                }
            }
            Component::Prefix(_) | Component::RootDir => {
                return Err(format!(
                    "{src:?} is an absolute path; image paths must be relative to the asset root"
                ))
            }
        }
    }
    let joined = root.join(rel);
    let canon_root = root
        .canonicalize()
        .map_err(|e| format!("asset root {} cannot be opened: {e}", root.display()))?;
    let canon = joined
        .canonicalize()
        .map_err(|e| format!("{src:?} cannot be read: {e}"))?;
    if !canon.starts_with(&canon_root) {
        return Err(format!(
            "{src:?} resolves outside the asset root (through a symbolic link)"
        ));
    }
    if !canon.is_file() {
        return Err(format!("{src:?} is not a file"));
    }
    Ok(canon)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_paths_stay_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/a.png"), b"x").unwrap();
        assert!(resolve_asset(dir.path(), "sub/a.png").is_ok());
        assert!(resolve_asset(dir.path(), "sub/../sub/a.png").is_ok());
        assert!(resolve_asset(dir.path(), "../a.png")
            .unwrap_err()
            .contains("outside the asset root"));
        assert!(resolve_asset(dir.path(), "sub/../../a.png")
            .unwrap_err()
            .contains("outside"));
        assert!(resolve_asset(dir.path(), "/etc/passwd")
            .unwrap_err()
            .contains("absolute"));
        assert!(resolve_asset(dir.path(), "missing.png")
            .unwrap_err()
            .contains("cannot be read"));
        assert!(resolve_asset(dir.path(), "sub")
            .unwrap_err()
            .contains("not a file"));
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_out_of_the_root_are_refused() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.png"), b"x").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("secret.png"),
            dir.path().join("link.png"),
        )
        .unwrap();
        assert!(resolve_asset(dir.path(), "link.png")
            .unwrap_err()
            .contains("outside"));
    }

    #[test]
    fn renderer_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Renderer>();
    }
}
