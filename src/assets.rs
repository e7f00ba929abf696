//! Inputs a scene refers to: in-memory [`Assets`], files under the asset
//! root, and fonts. [`Assets::resolve`] checks and loads all of them before
//! anything is planned or drawn, so a render either fails there or succeeds.
//!
//! Over 600 lines with its tests: `load_images` is one decision (what to
//! decode, at which scale, in which order, under the memory limit) best
//! read whole; the file names, frames and colour notes are in
//! `asset_files.rs` and `shrink.rs`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use image::RgbaImage;
use rayon::prelude::*;

use crate::asset_cache::{AssetCache, Looked, Miss};
use crate::asset_files::{decode_frame, resolve_input, Input};
use crate::cancel::Stop;
use crate::codec;
use crate::data_url;
use crate::data_url::DataImage;
use crate::error::{Error, Location};
use crate::plan::geometry::place_image;
use crate::plan::image::{RowsRead, SourceGeometry};
use crate::renderer::Limits;
use crate::scene::{Filter, LayerKind, Scene};
use crate::shrink::{self, Pick, ShrinkOnLoad, SourceImage, SourceKey};
use crate::text::TextEngine;
use crate::warnings::Warning;

/// What the planner receives besides the scene: every image layer's decoded
/// pixels (by layer index) and, when the scene has text, the text engine.
pub(crate) struct Resolved {
    pub images: Vec<Option<SourceImage>>,
    pub text: Option<Arc<TextEngine>>,
    /// What the render has to report (characters no font has), in layer
    /// order.
    pub warnings: Vec<Warning>,
    /// Text layers already laid out (`text::fit`), by layer index, for the
    /// painter to take instead of laying them out again: a GPU batch lays
    /// a scene's text out on the thread that resolves it ahead
    /// (`crate::text::FittedAhead`). Empty otherwise.
    pub fitted: crate::text::FittedAhead,
    /// The memory the decodes held at their peak as counted toward
    /// `max_render_bytes` (the canvas, the images held, and what the files
    /// decoded at once hold while decoding: `codec::decode_cost`); 0 when
    /// nothing was decoded.
    pub decode_peak: u64,
}

/// Decoded images supplied in memory, by the `src` names scenes use for
/// them. They take precedence over files, so a service can decode its logos
/// and templates once and render thousands of scenes from them.
///
/// ```
/// use impasto::{Assets, Backend, Renderer, RgbaImage, Scene};
///
/// let mut assets = Assets::new();
/// assets.insert("dot.png", RgbaImage::from_pixel(1, 1, image::Rgba([255, 0, 0, 255])));
/// let scene = Scene::from_json(
///     r#"{ "width": 4, "height": 4,
///          "layers": [ { "type": "image", "src": "dot.png", "fit": "fill" } ] }"#,
/// )?;
/// let image = Renderer::new(Backend::Cpu)?.render_with_assets(&scene, &assets)?;
/// assert_eq!(image.get_pixel(2, 2).0, [255, 0, 0, 255]);
/// # Ok::<(), impasto::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Assets {
    /// Each image with the number it was registered under
    /// ([`SourceKey::Memory`]).
    images: HashMap<String, (Arc<RgbaImage>, u64)>,
    /// Encoded images ([`Assets::insert_encoded`]), read as files are.
    encoded: HashMap<String, Arc<DataImage>>,
}

/// Numbers every image registered in an [`Assets`], so that the cache of
/// resampled images tells them apart: one number per image in memory (one
/// `Arc`), whichever `Assets` it is inserted in, so that a service making a
/// set per request from images it keeps (a logo) hits the cache.
struct AssetIds {
    next: u64,
    /// By the image's address: the image (weakly, so that an address
    /// reused by another image after this one is freed is not taken for
    /// it) and its number.
    live: std::collections::BTreeMap<usize, (std::sync::Weak<RgbaImage>, u64)>,
    /// `live`'s size after its last sweep of freed images.
    swept: usize,
}

static ASSET_IDS: std::sync::Mutex<AssetIds> = std::sync::Mutex::new(AssetIds {
    next: 0,
    live: std::collections::BTreeMap::new(),
    swept: 0,
});

impl AssetIds {
    /// The number of `image`: the one it had if it was inserted before and
    /// is still in memory, else a new one.
    fn of(image: &Arc<RgbaImage>) -> u64 {
        let mut ids = ASSET_IDS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let at = Arc::as_ptr(image) as usize;
        if let Some((weak, id)) = ids.live.get(&at) {
            if weak
                .upgrade()
                .is_some_and(|known| Arc::ptr_eq(&known, image))
            {
                return *id;
            }
        }
        // Freed images' entries go once they are as many as the live ones,
        // so the map stays within twice the images in memory.
        if ids.live.len() >= 64 && ids.live.len() >= 2 * ids.swept {
            ids.live.retain(|_, (weak, _)| weak.strong_count() > 0);
            ids.swept = ids.live.len();
        }
        let id = ids.next;
        ids.next += 1;
        ids.live.insert(at, (Arc::downgrade(image), id));
        id
    }
}

impl Assets {
    /// An empty set.
    pub fn new() -> Assets {
        Assets::default()
    }

    /// Registers a decoded straight-alpha image under the `src` name scenes use.
    /// The same `Arc` inserted again (in this set or another) is the same
    /// image to the renderer's cache of resampled images.
    pub fn insert(&mut self, src: impl Into<String>, image: impl Into<Arc<RgbaImage>>) {
        let image = image.into();
        let id = AssetIds::of(&image);
        let src = src.into();
        self.encoded.remove(&src);
        self.images.insert(src, (image, id));
    }

    /// Registers an encoded image under the `src` name scenes use: the
    /// bytes of a PNG, JPEG, WebP or GIF file (animated ones included),
    /// which a render that draws them reads as it reads a file: EXIF
    /// orientation and colour profile applied, shrunk on load, every
    /// frame for an animation or a layer's `frame`, under the renderer's
    /// [`crate::Limits`]. The renderer's decoded-image cache keeps them by
    /// their SHA-256, so a service inserting the same logo for every
    /// request decodes it once. Refused here when the header is no image
    /// impasto reads; the pixel limits apply when it is drawn. Returns the
    /// bytes' SHA-256 (what a cache or an ETag may know them by).
    ///
    /// ```
    /// use impasto::{Assets, Backend, Renderer, RgbaImage, Scene};
    ///
    /// let mut png = std::io::Cursor::new(Vec::new());
    /// RgbaImage::from_pixel(2, 2, image::Rgba([0, 0, 255, 255]))
    ///     .write_to(&mut png, image::ImageFormat::Png)
    ///     .unwrap();
    /// let mut assets = Assets::new();
    /// assets.insert_encoded("logo.png", png.into_inner())?;
    /// let scene = Scene::from_json(
    ///     r#"{ "width": 4, "height": 4,
    ///          "layers": [ { "type": "image", "src": "logo.png", "fit": "fill" } ] }"#,
    /// )?;
    /// let image = Renderer::new(Backend::Cpu)?.render_with_assets(&scene, &assets)?;
    /// assert_eq!(image.get_pixel(1, 1).0, [0, 0, 255, 255]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn insert_encoded(
        &mut self,
        src: impl Into<String>,
        bytes: impl Into<Vec<u8>>,
    ) -> Result<[u8; 32], codec::DecodeError> {
        let bytes = bytes.into();
        codec::probe_bytes(&bytes, u64::MAX)?;
        let src = src.into();
        self.images.remove(&src);
        let data = DataImage::new(bytes, String::new());
        let digest = data.digest;
        self.encoded.insert(src, Arc::new(data));
        Ok(digest)
    }

    /// Whether an image, decoded or encoded, is registered under `src`.
    pub(crate) fn holds(&self, src: &str) -> bool {
        self.images.contains_key(src) || self.encoded.contains_key(src)
    }

    /// The input `src` names: an encoded image registered under it, a
    /// `data:` URL, or the file under `root`
    /// ([`crate::asset_files::resolve_input`]).
    pub(crate) fn input(&self, root: &Path, src: &str, max_bytes: u64) -> Result<Input, String> {
        match self.encoded.get(src) {
            Some(data) => Ok(Input::Data(Arc::clone(data))),
            None => resolve_input(root, src, max_bytes),
        }
    }

    /// Decodes the image file at `path` (PNG, JPEG or WebP; EXIF orientation
    /// applied; at most `max_pixels` pixels, refused from the header; a
    /// file of at most [`crate::Limits`]' default `max_image_file_bytes`,
    /// 256 MiB, refused from its size) and registers it under `src`.
    ///
    /// ```no_run
    /// let mut assets = impasto::Assets::new();
    /// assets.insert_file("logo.png", "brand/logo.png", 64 << 20)?;
    /// # Ok::<(), impasto::Error>(())
    /// ```
    pub fn insert_file(
        &mut self,
        src: impl Into<String>,
        path: impl AsRef<Path>,
        max_pixels: u64,
    ) -> Result<(), codec::DecodeError> {
        let path = path.as_ref();
        let named = |e: codec::DecodeError| {
            codec::DecodeError(format!("{}: {}", crate::scene::shown_path(path), e.0))
        };
        let limit = crate::Limits::default().max_image_file_bytes;
        let bytes = std::fs::metadata(path)
            .map_err(|e| named(codec::DecodeError(format!("cannot read: {e}"))))?
            .len();
        if let Some(over) = over_file_limit(bytes, limit) {
            return Err(named(codec::DecodeError(over)));
        }
        let (_, file) = codec::read_image_file(path, limit).map_err(named)?;
        let image = codec::decode_bytes(&file, max_pixels).map_err(named)?;
        self.insert(src, image);
        Ok(())
    }

    /// The decoded image registered under `src` ([`Assets::insert`]), if
    /// any.
    pub fn get(&self, src: &str) -> Option<&Arc<RgbaImage>> {
        self.images.get(src).map(|(image, _)| image)
    }

    /// Checks limits and layer support, and decodes every image layer's file
    /// (in parallel, each distinct file once), so that a render either fails
    /// here or succeeds. `text_engine` loads the fonts, and is called only
    /// for scenes with text. `stop` is checked before each file is decoded
    /// (a decode itself runs to its end).
    #[allow(clippy::too_many_arguments)] // one call site per renderer path
    pub(crate) fn resolve(
        &self,
        scene: &Scene,
        root: Option<&Path>,
        limits: &Limits,
        cache: &AssetCache,
        shrink_on_load: ShrinkOnLoad,
        text_engine: impl Fn() -> Result<Arc<TextEngine>, Error>,
        missing_glyphs: crate::MissingGlyphs,
        stop: &Stop<'_>,
    ) -> Result<Resolved, Error> {
        let pixels = scene.width as u64 * scene.height as u64;
        if pixels > limits.max_canvas_pixels {
            return Err(Error::scene(
                Location::Canvas,
                Some("width"),
                format!(
                    "canvas {}x{} = {pixels} pixels is over the limit of {} pixels (max_canvas_pixels)",
                    scene.width, scene.height, limits.max_canvas_pixels
                ),
            ));
        }
        check_work(scene, limits)?;
        let mut text = None;
        let mut warnings = Vec::new();
        // Hidden layers (`visible: false`) are not drawn: their fonts and
        // files are not needed, and a missing one is no error.
        for (index, layer) in scene.layers.iter().enumerate() {
            if !layer.visible {
                continue;
            }
            if let LayerKind::Text(t) = &layer.kind {
                let engine = match &text {
                    Some(e) => Arc::clone(e),
                    None => text_engine()?,
                };
                let work = limits.max_text_fallback_work;
                warnings.extend(engine.check(index, layer, t, missing_glyphs, work, stop)?);
                stop.check()?;
                text = Some(engine);
            }
        }
        let root = root
            .map(Path::to_path_buf)
            .or_else(|| scene.base_dir.clone())
            .unwrap_or_else(|| PathBuf::from("."));
        let (images, decode_peak) =
            self.load_images(scene, &root, limits, cache, shrink_on_load, stop)?;
        warnings.extend(source_warnings(scene, &images));
        // In layer order (stable: a layer's own warnings keep theirs).
        warnings.sort_by_key(|w| w.layer());
        Ok(Resolved {
            images,
            text,
            warnings,
            fitted: Default::default(),
            decode_peak,
        })
    }

    /// Every image layer's pixels, by layer index: in-memory assets first,
    /// then files under `root`. A file used by several layers is read and
    /// decoded once, shrunk on load (with `shrink_on_load`) only as far as
    /// its largest use allows; a decoding error names the first layer that
    /// uses it. A file drawn only by layers wholly off the canvas has its
    /// header checked but is not decoded (those layers get `None`). With
    /// the images, the memory the decodes held at their peak
    /// ([`Resolved::decode_peak`]).
    fn load_images(
        &self,
        scene: &Scene,
        root: &Path,
        limits: &Limits,
        cache: &AssetCache,
        shrink_on_load: ShrinkOnLoad,
        stop: &Stop<'_>,
    ) -> Result<(Vec<Option<SourceImage>>, u64), Error> {
        let max_pixels = limits.max_image_pixels;
        let loc = |index| Location::Layer {
            index,
            kind: Some("image".into()),
        };
        let mut images = vec![None; scene.layers.len()];
        // Distinct inputs (and frames of them), each with its `src` and the
        // layers that use it, in layer order; `inputs` holds each one's
        // input, `data` each data: URL's, read once.
        let mut files: Vec<(FileKey, &str, Vec<usize>)> = Vec::new();
        let mut inputs: Vec<Input> = Vec::new();
        let mut seen: HashMap<FileKey, usize> = HashMap::new();
        let mut data: HashMap<&str, Input> = HashMap::new();
        for (index, layer) in scene.layers.iter().enumerate() {
            let LayerKind::Image(il) = &layer.kind else {
                continue;
            };
            if !layer.visible {
                continue;
            }
            if let Some((img, id)) = self.images.get(&il.src) {
                let pixels = img.width() as u64 * img.height() as u64;
                if pixels > max_pixels {
                    return Err(Error::scene(
                        loc(index),
                        Some("src"),
                        format!("{}: image is {}x{} = {pixels} pixels, over the limit of {max_pixels} pixels (max_image_pixels)", data_url::shown(&il.src), img.width(), img.height()),
                    ));
                }
                if pixels == 0 {
                    return Err(Error::scene(
                        loc(index),
                        Some("src"),
                        format!("{}: image has no pixels", data_url::shown(&il.src)),
                    ));
                }
                if il.frame.unwrap_or(0) > 0 {
                    return Err(Error::scene(
                        loc(index),
                        Some("frame"),
                        format!(
                            "{} is a still image in memory: it has only frame 0",
                            data_url::shown(&il.src)
                        ),
                    ));
                }
                images[index] = Some(SourceImage::full(
                    Arc::clone(img),
                    Some(SourceKey::Memory(*id)),
                ));
                continue;
            }
            let input = match data.get(il.src.as_str()) {
                Some(input) => input.clone(),
                None => {
                    let input = self
                        .input(root, &il.src, limits.max_image_file_bytes)
                        .map_err(|m| Error::scene(loc(index), Some("src"), m))?;
                    if matches!(input, Input::Data(_)) {
                        data.insert(&il.src, input.clone());
                    }
                    input
                }
            };
            let key = (input.key().to_path_buf(), il.frame);
            match seen.get(&key) {
                Some(&i) => files[i].2.push(index),
                None => {
                    seen.insert(key.clone(), files.len());
                    files.push((key, &il.src, vec![index]));
                    inputs.push(input);
                }
            }
        }
        // Every file is looked up in the cache on this thread (a hit is a
        // few checks under a lock); only what must be decoded goes to
        // rayon's pool, several files at once. (Until 2026-11-27 every file
        // went through the pool, hits too: a batch card's two cached images
        // cost its driving thread a hand-over to the pool and back, 0.58 ms
        // of wall time for 0.1 ms of work on a busy 2-vCPU machine.)
        // A layer whose box lies wholly off the canvas draws nothing: its
        // file's header is read (a missing or broken file is refused as
        // if drawn) but its pixels are decoded, and counted toward the
        // memory limit, only for the layers that are on the canvas.
        let on_canvas = |index: usize| {
            let geom = crate::plan::geometry::BoxGeometry::of(&scene.layers[index]);
            geom.pixel_bounds(scene.width, scene.height).is_some()
        };
        let choose_for = |layers: &[usize]| {
            let layers: Vec<usize> = layers.iter().copied().filter(|&i| on_canvas(i)).collect();
            move |natural| {
                if let Some(margin) = shrink_on_load.margin() {
                    let eighths = eighths_for_layers(scene, &layers, natural, margin);
                    Pick {
                        eighths,
                        rows: rows_for_layers(scene, &layers, natural, eighths),
                    }
                } else {
                    Pick::whole(shrink::FULL)
                }
            }
        };
        let mut decoded: Vec<Option<SourceImage>> = Vec::with_capacity(files.len());
        let mut to_decode: Vec<(usize, ToDecode)> = Vec::new();
        let stopped: &dyn Fn() -> bool = &|| stop.now();
        for (k, ((path, frame), src, layers)) in files.iter().enumerate() {
            // Read once: for the limit here, and as the cache's identity of
            // the file's content.
            let (bytes, identity) = inputs[k].identity();
            if let Some(over) = over_file_limit(bytes, limits.max_image_file_bytes) {
                return Err(Error::scene(
                    loc(layers[0]),
                    Some("src"),
                    format!("{}: {over}", data_url::shown(src)),
                ));
            }
            if !layers.iter().any(|&i| on_canvas(i)) {
                inputs[k].probe_header(max_pixels).map_err(|e| {
                    Error::scene(
                        loc(layers[0]),
                        Some("src"),
                        format!("{}: {}", data_url::shown(src), inputs[k].explain(e.0)),
                    )
                })?;
                decoded.push(None);
                continue;
            }
            let todo = match *frame {
                Some(frame) => ToDecode::Frame(frame),
                None => match cache.lookup(path, identity, choose_for(layers), {
                    // Waiting for another render's decode of the file only
                    // off rayon's pool and leading no flight of our own
                    // (`asset_cache`'s notes say why).
                    let leads = to_decode
                        .iter()
                        .any(|(_, t)| matches!(t, ToDecode::File(m) if m.leads()));
                    let may_wait = rayon::current_thread_index().is_none() && !leads;
                    may_wait.then_some(stopped)
                }) {
                    Looked::Hit(img) => {
                        decoded.push(Some(img));
                        continue;
                    }
                    Looked::Miss(miss) => ToDecode::File(miss),
                },
            };
            decoded.push(None);
            to_decode.push((k, todo));
        }
        let decode = |(k, todo): (usize, ToDecode)| -> Result<(usize, SourceImage), Error> {
            stop.check()?;
            let ((path, _), src, layers) = &files[k];
            let img = match todo {
                ToDecode::Frame(frame) => {
                    decode_frame(&inputs[k], frame, limits, &|| stop.now()).map_err(|(field, m)| {
                        // Ended by the deadline or a cancel: said as such.
                        if stop.now() {
                            return stop.reason();
                        }
                        Error::scene(
                            loc(layers[0]),
                            Some(field),
                            format!("{}: {m}", data_url::shown(src)),
                        )
                    })
                }
                ToDecode::File(miss) => cache
                    .fill(path, miss, choose_for(layers), |choose| {
                        let max = (max_pixels, limits.max_image_file_bytes);
                        // The decoder asks the render's stop (a PNG's rows).
                        codec::halt_scope::decoding_for(stop.options(), || {
                            shrink::decode_input(&inputs[k], max, choose)
                        })
                    })
                    .map_err(|e| {
                        // Ended by the deadline or a cancel: said as such.
                        if stop.now() {
                            return stop.reason();
                        }
                        Error::scene(
                            loc(layers[0]),
                            Some("src"),
                            format!("{}: {}", data_url::shown(src), inputs[k].explain(e.0)),
                        )
                    }),
            }?;
            Ok((k, img))
        };
        // Memory: the images decoded, with the canvas and its encoding copy,
        // must fit `max_render_bytes` (the plan's estimate counts these and
        // more, but only once everything is decoded), and so must each
        // decode's own peak (`codec::decode_cost`: the file read, the
        // decoder's buffers, the result), predicted from the file's header.
        // When the misses' peaks fit together, they decode at once;
        // otherwise the files are taken one after another, in file order
        // (from the cache or decoded): a file whose decode would not fit
        // beside what is held is refused before it is decoded, and one
        // whose pixels bring the sum over the limit (a JPEG's scale may
        // differ from the prediction) after, so the refusal names the same
        // file whatever the timing or what the cache held.
        let canvas = 2 * u64::from(scene.width) * u64::from(scene.height) * 4;
        let budget = limits.max_render_bytes;
        let over_budget = |k: usize, total: u64, peak: Option<u64>| {
            let (_, src, layers) = &files[k];
            let mib = crate::plan::memory::mib;
            let (need, limit) = crate::plan::memory::over(total, budget);
            let message = match peak {
                Some(peak) => format!(
                    "{}: decoding it needs about {} of memory at its peak (the file, the decoder's buffers and its pixels), which with the scene's other images and canvas comes to about {need}, over the limit of {limit} (max_render_bytes)",
                    data_url::shown(src),
                    mib(peak),
                ),
                None => format!(
                    "{}: decoded, it brings the scene's images and canvas to about {need} of memory, over the limit of {limit} (max_render_bytes)",
                    data_url::shown(src),
                ),
            };
            Error::over_memory(loc(layers[0]), Some("src"), message, total, budget)
        };
        // Each file to decode: its header read once, for both paths.
        let expected: Vec<codec::DecodeCost> = to_decode
            .iter()
            .map(|(k, _)| {
                let (_, _, layers) = &files[*k];
                expected_cost(&inputs[*k], max_pixels, choose_for(layers))
            })
            .collect();
        let held: u64 = decoded.iter().flatten().map(source_bytes).sum();
        let peaks: u64 = expected.iter().map(|e| e.peak).sum();
        let at_once = canvas.saturating_add(held).saturating_add(peaks);
        let fits = to_decode.is_empty() || at_once <= budget;
        let mut decode_peak = if to_decode.is_empty() { 0 } else { at_once };
        let done: Vec<(usize, SourceImage)> = if fits && to_decode.len() > 1 {
            // Every result kept, then the first error in layer order: a
            // `Result` collected in parallel is whichever error a thread
            // met first, so the layer named changed from run to run.
            let all: Vec<Result<(usize, SourceImage), Error>> =
                to_decode.into_par_iter().map(decode).collect();
            all.into_iter().collect::<Result<_, _>>()?
        } else if fits {
            to_decode
                .into_iter()
                .map(decode)
                .collect::<Result<_, _>>()?
        } else {
            let mut total = canvas;
            let mut todo: Vec<Option<(ToDecode, codec::DecodeCost)>> =
                (0..files.len()).map(|_| None).collect();
            for ((k, t), e) in to_decode.into_iter().zip(expected) {
                todo[k] = Some((t, e));
            }
            let mut done = Vec::with_capacity(files.len());
            decode_peak = 0;
            for (k, t) in todo.into_iter().enumerate() {
                let bytes = match t {
                    Some((_, e)) if total.saturating_add(e.peak) > budget => {
                        return Err(over_budget(k, total.saturating_add(e.peak), Some(e.peak)));
                    }
                    Some((t, e)) => {
                        decode_peak = decode_peak.max(total + e.peak);
                        let (k, img) = decode((k, t))?;
                        let bytes = source_bytes(&img);
                        done.push((k, img));
                        bytes
                    }
                    None => decoded[k].as_ref().map_or(0, source_bytes),
                };
                total = total.saturating_add(bytes);
                if total > budget {
                    return Err(over_budget(k, total, None));
                }
            }
            done
        };
        for (k, img) in done {
            decoded[k] = Some(img);
        }
        for ((_, _, layers), img) in files.iter().zip(decoded) {
            for &index in layers {
                images[index].clone_from(&img);
            }
        }
        Ok((images, decode_peak))
    }
}

/// What decoding an image file is expected to take, from its header
/// ([`codec::decode_cost`]): a JPEG at the scale the chooser picks for its
/// natural size (shrink-on-load), any other format whole. Nothing when the
/// header cannot be read (the decode says why).
fn expected_cost(
    input: &Input,
    max_pixels: u64,
    choose: impl Fn((u32, u32)) -> Pick,
) -> codec::DecodeCost {
    let Ok(probed) = input.probe_header(max_pixels) else {
        return codec::DecodeCost { result: 0, peak: 0 };
    };
    let (len, _) = input.identity();
    let eighths = if probed.format == image::ImageFormat::Jpeg {
        choose(probed.shown()).eighths
    } else {
        shrink::FULL
    };
    codec::decode_cost(&probed, len, eighths)
}

/// The bytes of a decoded image's pixels.
fn source_bytes(img: &SourceImage) -> u64 {
    img.image.as_raw().len() as u64
}

/// The warnings of each file's decode ([`crate::codec::Notes`]): a
/// [`Warning::ColourProfileIgnored`] for each file whose colour profile
/// was ignored, a [`Warning::FileCutShort`] for each file cut short, naming
/// the first visible layer that draws it.
fn source_warnings(scene: &Scene, images: &[Option<SourceImage>]) -> Vec<Warning> {
    let mut warned: Vec<&Arc<RgbaImage>> = Vec::new();
    let mut out = Vec::new();
    for (index, img) in images.iter().enumerate() {
        let Some(SourceImage { image, notes, .. }) = img else {
            continue;
        };
        // Layers drawing one file share its decoded pixels.
        if *notes == crate::codec::Notes::default() || warned.iter().any(|w| Arc::ptr_eq(w, image))
        {
            continue;
        }
        warned.push(image);
        let src = match &scene.layers[index].kind {
            LayerKind::Image(il) => il.src.clone(),
            _ => String::new(),
        };
        out.extend(notes.warnings(index, &src));
    }
    out
}

/// What a file that the cache did not answer needs: a frame of an
/// animation (never cached), or the decode of a lookup that missed.
enum ToDecode<'c> {
    Frame(u32),
    File(Miss<'c>),
}

/// A file, and the frame of it a layer picks (`None`: the still image).
type FileKey = (PathBuf, Option<u32>);

/// The smallest shrink-on-load scale (in eighths) that leaves every layer
/// in `layers` (image layers drawing the same file) at least the pixels it
/// is drawn with; full size for a layer that samples the nearest pixel,
/// whose exact pixels are the point.
fn eighths_for_layers(scene: &Scene, layers: &[usize], natural: (u32, u32), margin: f64) -> u32 {
    let mut eighths = 1;
    for &index in layers {
        let layer = &scene.layers[index];
        let LayerKind::Image(il) = &layer.kind else {
            continue;
        };
        if il.filter == Filter::Nearest {
            return shrink::FULL;
        }
        let (_, _, pw, ph) = place_image(layer, il.fit, il.position, natural.0, natural.1);
        eighths = eighths.max(shrink::eighths_for(natural, (pw, ph), margin));
    }
    eighths
}

/// The rows of the file's raster at `eighths`/8 that the layers in
/// `layers` read, when that is at most nine tenths of them (a decode of
/// those rows only then saves enough to be worth a separate cache entry);
/// `None`: all of them.
fn rows_for_layers(
    scene: &Scene,
    layers: &[usize],
    natural: (u32, u32),
    eighths: u32,
) -> Option<(u32, u32)> {
    let raster = (
        shrink::scaled_len(natural.0, eighths),
        shrink::scaled_len(natural.1, eighths),
    );
    // Rows are read in part only from a file whose orientation keeps its
    // axes (`crate::shrink`).
    let source = SourceGeometry {
        natural,
        raster,
        reversed: (false, false),
    };
    let canvas = (scene.width, scene.height);
    let mut span: Option<(u32, u32)> = None;
    for &index in layers {
        let layer = &scene.layers[index];
        let LayerKind::Image(il) = &layer.kind else {
            continue;
        };
        match crate::plan::image::rows_read(layer, il, source, eighths, canvas) {
            RowsRead::All => return None,
            RowsRead::None => {}
            RowsRead::Some(a, b) => {
                span = Some(span.map_or((a, b), |(lo, hi)| (lo.min(a), hi.max(b))));
            }
        }
    }
    span.filter(|(a, b)| (b - a) as u64 * 10 <= raster.1 as u64 * 9)
}

/// Refuses scenes that ask for more work than `limits` allow: too many
/// layers, gradients with too many stops, text layers too long.
pub(crate) fn check_work(scene: &Scene, limits: &Limits) -> Result<(), Error> {
    if scene.layers.len() > limits.max_layers {
        return Err(Error::scene(
            Location::Canvas,
            Some("layers"),
            format!(
                "{} layers, over the limit of {} (max_layers)",
                scene.layers.len(),
                limits.max_layers
            ),
        ));
    }
    for (index, layer) in scene.layers.iter().enumerate() {
        let loc = || Location::Layer {
            index,
            kind: Some(layer.kind.type_name().into()),
        };
        let (field, count, max, what, limit) = match &layer.kind {
            LayerKind::LinearGradient { stops, .. } | LayerKind::RadialGradient { stops, .. } => {
                let max = limits.max_gradient_stops;
                ("stops", stops.len(), max, "stops", "max_gradient_stops")
            }
            LayerKind::Text(t) => {
                let count = t.text.chars().count();
                (
                    "text",
                    count,
                    limits.max_text_chars,
                    "characters",
                    "max_text_chars",
                )
            }
            _ => continue,
        };
        if count > max {
            return Err(Error::scene(
                loc(),
                Some(field),
                format!("{count} {what}, over the limit of {max} ({limit})"),
            ));
        }
    }
    Ok(())
}

/// Why a file of `bytes` is refused under `limit` (`max_image_file_bytes`),
/// if it is: checked from its size, before it is read.
fn over_file_limit(bytes: u64, limit: u64) -> Option<String> {
    (bytes > limit).then(|| {
        format!("the file is {bytes} bytes, over the limit of {limit} bytes (max_image_file_bytes)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_shared_by_layers_is_decoded_once_and_errors_name_the_first_layer() {
        let dir = tempfile::tempdir().unwrap();
        let img = RgbaImage::from_pixel(3, 2, image::Rgba([1, 2, 3, 255]));
        img.save(dir.path().join("a.png")).unwrap();
        // Not an image: refused from its first bytes.
        std::fs::write(dir.path().join("b.png"), vec![0u8; 1 << 20]).unwrap();
        let scene = |srcs: &[&str]| {
            let layers: Vec<String> = srcs
                .iter()
                .map(|s| format!(r#"{{"type": "image", "src": "{s}"}}"#))
                .collect();
            Scene::from_json(&format!(
                r##"{{"width": 4, "height": 4, "layers": [{{"type": "rect", "color": "#fff"}}, {}]}}"##,
                layers.join(",")
            ))
            .unwrap()
        };
        let limits = Limits::default();
        let cache = AssetCache::new(0);
        let no_text = || -> Result<Arc<TextEngine>, Error> { unreachable!("no text layers") };
        let ok = Assets::new()
            .resolve(
                &scene(&["a.png", "a.png"]),
                Some(dir.path()),
                &limits,
                &cache,
                ShrinkOnLoad::Fast,
                no_text,
                crate::MissingGlyphs::default(),
                &Stop::never(),
            )
            .unwrap();
        let (one, two) = (
            ok.images[1].as_ref().unwrap(),
            ok.images[2].as_ref().unwrap(),
        );
        assert!(
            Arc::ptr_eq(&one.image, &two.image),
            "one decode shared by both layers"
        );
        let err = Assets::new()
            .resolve(
                &scene(&["a.png", "b.png", "b.png"]),
                Some(dir.path()),
                &limits,
                &cache,
                ShrinkOnLoad::Fast,
                no_text,
                crate::MissingGlyphs::default(),
                &Stop::never(),
            )
            .err()
            .unwrap()
            .to_string();
        assert!(err.starts_with("layer 2 (image): field \"src\""), "{err}");
        assert!(err.contains("not an image"), "{err}");
        // A cancelled render decodes nothing: the broken file is not read.
        let token = crate::CancelToken::new();
        token.cancel();
        let options = crate::RenderOptions::default().cancel_token(token);
        let cancelled = Assets::new().resolve(
            &scene(&["b.png"]),
            Some(dir.path()),
            &limits,
            &cache,
            ShrinkOnLoad::Fast,
            no_text,
            crate::MissingGlyphs::default(),
            &options.stop(),
        );
        assert!(matches!(cancelled, Err(Error::Cancelled)));
    }
}
