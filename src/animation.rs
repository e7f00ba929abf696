//! Animated output: the timeline of a scene's animated sources, rendered
//! frame by frame through the batch path ([`Renderer::render_each`], so
//! frames overlap on the GPU).
//!
//! The animated sources are the visible image layers whose file (GIF,
//! APNG, animated WebP) has more than one frame, that pick no `frame`, and
//! that draw something (opacity above 0, on the canvas).
//! The timeline is the union of their frames' start times: each output
//! frame shows, for every source, the frame active at its time, and lasts
//! until the next start time. With one source the output has exactly its
//! frames and delays. With several, the animation lasts as long as the
//! longest source; shorter ones loop within it; a delay of 10 ms or less
//! counts as 100 ms, as browsers show it; no merged frame is shorter than
//! 20 ms ([`timeline`]). Still layers (and layers with a `frame`)
//! are the same on every frame. The loop count is the source's (with
//! several: forever if any loops forever, else the largest count).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use image::RgbaImage;

use crate::asset_files::Input;
use crate::cancel::Stop;
use crate::codec::{self, AnimationFormat, Delay, Loop};
use crate::data_url;
use crate::error::{Error, Location};
use crate::scene::{LayerKind, Scene};
use crate::{Assets, RenderOptions, Renderer, Warning};

mod timeline;
use timeline::Timeline;

/// A rendered animation: frames (straight-alpha sRGB RGBA, the canvas
/// size), each frame's delay, the loop count, and the render's warnings.
#[derive(Debug, Clone)]
pub struct RenderedAnimation {
    /// The frames, in order.
    pub frames: Vec<RgbaImage>,
    /// How long each frame shows.
    pub delays: Vec<Delay>,
    /// How many times the animation plays.
    pub loop_count: Loop,
    /// What the render has to say, in layer order, each once (not once a
    /// frame): characters no font draws, a source's colour profile
    /// ignored, a source cut short.
    pub warnings: Vec<Warning>,
}

impl RenderedAnimation {
    /// One still image as an animation of one frame that plays once (a
    /// still GIF, say).
    pub fn still(image: RgbaImage) -> RenderedAnimation {
        RenderedAnimation {
            frames: vec![image],
            delays: vec![Delay::from_centis(0)],
            loop_count: Loop::Times(1),
            warnings: Vec::new(),
        }
    }

    /// Encodes the animation in `format` and writes it to `path`
    /// atomically (the whole file appears, or nothing).
    pub fn save(&self, path: impl AsRef<Path>, format: AnimationFormat) -> Result<(), Error> {
        let path = path.as_ref();
        crate::codec::check_output_dir(path)?;
        codec::write_atomic(path, &self.encode(format)?)
    }

    /// Encodes the animation in `format` (see [`codec::encode_animation`]).
    pub fn encode(&self, format: AnimationFormat) -> Result<Vec<u8>, Error> {
        let refs: Vec<&RgbaImage> = self.frames.iter().collect();
        codec::encode_animation(&refs, &self.delays, self.loop_count, format)
    }
}

/// One animated file and the layers that play it.
struct Source {
    anim: codec::Animation,
    layers: Vec<usize>,
}

/// The in-memory asset name of frame `frame` of source `source` (the
/// leading control character keeps it apart from any file name).
fn frame_key(source: usize, frame: usize) -> String {
    format!("\u{1}animation/{source}/{frame}")
}

impl Renderer {
    /// Renders every frame of `scene`'s animation (see the module's
    /// rules). A scene without animated sources gives one frame. The
    /// output's frame count and frames x canvas pixels are held to
    /// [`crate::Limits::max_animation_frames`] and
    /// [`crate::Limits::max_animation_pixels`], and the frames with the
    /// decoded sources to [`crate::Limits::max_render_bytes`], before any
    /// frame is drawn; `options`' deadline and cancel token are checked
    /// between frames and within each, as [`Renderer::render_with`] checks
    /// them.
    ///
    /// ```no_run
    /// use impasto::codec::AnimationFormat;
    /// use impasto::{Assets, Backend, RenderOptions, Renderer, Scene};
    ///
    /// let scene = Scene::from_path("captioned.json")?; // a GIF and a caption
    /// let renderer = Renderer::new(Backend::Auto)?;
    /// let anim = renderer.render_animation(&scene, &Assets::new(), &RenderOptions::default())?;
    /// std::fs::write("captioned.gif", anim.encode(AnimationFormat::Gif)?).unwrap();
    /// # Ok::<(), impasto::Error>(())
    /// ```
    pub fn render_animation(
        &self,
        scene: &Scene,
        assets: &Assets,
        options: &RenderOptions,
    ) -> Result<RenderedAnimation, Error> {
        self.render_animation_for(scene, assets, options, None)
    }

    /// [`Renderer::render_animation`], its memory check counting the
    /// `encoding` format's encoder too.
    fn render_animation_for(
        &self,
        scene: &Scene,
        assets: &Assets,
        options: &RenderOptions,
        encoding: Option<AnimationFormat>,
    ) -> Result<RenderedAnimation, Error> {
        let stop = options.stop();
        scene.validate()?;
        let mut assets = assets.clone();
        let (mut scene, sources, mut warnings) = self.load_sources(scene, &mut assets, &stop)?;
        let timeline = self.timeline(&scene, &sources)?;
        self.check_output(&scene, timeline.frames.len())?;
        self.check_memory_of(&scene, timeline.frames.len(), &sources, encoding)?;
        for (s, source) in sources.iter().enumerate() {
            for (f, frame) in source.anim.frames.iter().enumerate() {
                assets.insert(frame_key(s, f), Arc::clone(&frame.image));
            }
        }
        let mut scenes = Vec::with_capacity(timeline.frames.len());
        for shown in &timeline.frames {
            for (s, source) in sources.iter().enumerate() {
                for &layer in &source.layers {
                    if let LayerKind::Image(il) = &mut scene.layers[layer].kind {
                        il.src = frame_key(s, shown[s]);
                    }
                }
            }
            scenes.push(scene.clone());
        }
        let mut frames = Vec::with_capacity(scenes.len());
        // One run (overlapped on the GPU) under `options`: a deadline or a
        // cancel stops the frame being drawn and the rest fail unrendered.
        let mut failed = None;
        self.render_each_report_with(&scenes, &assets, options, |_, r| match r {
            Ok(rendered) => {
                // Every frame says what the frames before it said.
                for w in rendered.warnings {
                    if !warnings.contains(&w) {
                        warnings.push(w);
                    }
                }
                frames.push(rendered.image);
            }
            Err(e) => failed = failed.take().or(Some(e)),
        });
        if let Some(e) = failed {
            return Err(e);
        }
        stop.check()?;
        // In layer order (stable: a layer's own warnings keep theirs).
        warnings.sort_by_key(|w| w.layer());
        Ok(RenderedAnimation {
            frames,
            delays: timeline.delays,
            loop_count: timeline.loop_count,
            warnings,
        })
    }

    /// Renders `scene`'s animation and writes it to `path` in `format`,
    /// atomically (a failed render leaves no file). Its warnings are logged
    /// ([`Renderer::render_animation_to_file_report`] returns them).
    pub fn render_animation_to_file(
        &self,
        scene: &Scene,
        assets: &Assets,
        path: impl AsRef<Path>,
        format: AnimationFormat,
        options: &RenderOptions,
    ) -> Result<(), Error> {
        let warnings =
            self.render_animation_to_file_report(scene, assets, path, format, options)?;
        crate::warnings::log_all(&warnings);
        Ok(())
    }

    /// [`Renderer::render_animation_to_file`], returning the render's
    /// warnings (each once, in layer order) instead of logging them.
    pub fn render_animation_to_file_report(
        &self,
        scene: &Scene,
        assets: &Assets,
        path: impl AsRef<Path>,
        format: AnimationFormat,
        options: &RenderOptions,
    ) -> Result<Vec<Warning>, Error> {
        let path = path.as_ref();
        crate::codec::check_output_dir(path)?;
        let root = self.asset_root_for(scene);
        crate::asset_files::refuse_own_input(scene, &root, assets, path)?;
        let pending = codec::PendingFile::create(path)?;
        let (bytes, warnings) =
            self.render_animation_encoded_report(scene, assets, format, options)?;
        pending.commit(&bytes)?;
        Ok(warnings)
    }

    /// Renders `scene`'s animation and encodes it in `format`: the file's
    /// bytes, for a stream or a response. A canvas the format cannot hold
    /// is refused before any frame is drawn, and the memory check counts
    /// the format's encoder. Its warnings are logged
    /// ([`Renderer::render_animation_encoded_report`] returns them).
    pub fn render_animation_encoded(
        &self,
        scene: &Scene,
        assets: &Assets,
        format: AnimationFormat,
        options: &RenderOptions,
    ) -> Result<Vec<u8>, Error> {
        let (bytes, warnings) =
            self.render_animation_encoded_report(scene, assets, format, options)?;
        crate::warnings::log_all(&warnings);
        Ok(bytes)
    }

    /// [`Renderer::render_animation_encoded`], returning the render's
    /// warnings (each once, in layer order) with the bytes instead of
    /// logging them.
    pub fn render_animation_encoded_report(
        &self,
        scene: &Scene,
        assets: &Assets,
        format: AnimationFormat,
        options: &RenderOptions,
    ) -> Result<(Vec<u8>, Vec<Warning>), Error> {
        if let AnimationFormat::WebP { .. } | AnimationFormat::WebPLossless = format {
            crate::codec::webp_fits(scene.width, scene.height)?;
        }
        let rendered = self.render_animation_for(scene, assets, options, Some(format))?;
        Ok((rendered.encode(format)?, rendered.warnings))
    }

    /// Refuses an animation whose frames (8-bit RGBA, all kept until it is
    /// encoded), decoded sources and `encoding`'s encoder would hold more
    /// than [`crate::Limits::max_render_bytes`] (each frame's render is
    /// held to it on its own as well).
    fn check_memory_of(
        &self,
        scene: &Scene,
        frames: usize,
        sources: &[Source],
        encoding: Option<AnimationFormat>,
    ) -> Result<(), Error> {
        use crate::plan::memory::mib;
        let pixels = u64::from(scene.width) * u64::from(scene.height) * frames as u64;
        let held = pixels.saturating_mul(4);
        // Each decoded frame once (a frame identical to the one before
        // may share its pixels).
        let mut seen = std::collections::HashSet::new();
        let decoded: u64 = sources
            .iter()
            .flat_map(|s| &s.anim.frames)
            .filter(|f| seen.insert(Arc::as_ptr(&f.image)))
            .map(|f| f.image.as_raw().len() as u64)
            .sum();
        // Bytes per output pixel an encoder holds besides the frames and
        // sources: peak RSS over theirs for 1000 frames of 357x357 from a
        // 1000-frame GIF (2026-11-27, this workplace's 2-vCPU EPYC): GIF
        // 0.7 (the indexed frames), APNG 0.7 (the file), WebP 1.2
        // (libwebp's canvases and the file); rounded up, with room for
        // files that compress less.
        let per_pixel = match encoding {
            None => 0,
            Some(AnimationFormat::Gif) => 1,
            Some(AnimationFormat::Png | AnimationFormat::WebP { .. }) => 2,
            Some(AnimationFormat::WebPLossless) => 2,
        };
        let encoder = pixels.saturating_mul(per_pixel);
        let needed = held.saturating_add(decoded).saturating_add(encoder);
        let limit = self.limits().max_render_bytes;
        if needed <= limit {
            return Ok(());
        }
        let encoder = match encoding {
            Some(f) if encoder > 0 => format!(", the {} encoder {}", f.name(), mib(encoder)),
            _ => String::new(),
        };
        let message = format!(
            "the animation would need about {} of memory, over the limit of {} (max_render_bytes): {frames} frames of {}x{} {}, the decoded sources {}{encoder}",
            mib(needed),
            mib(limit),
            scene.width,
            scene.height,
            mib(held),
            mib(decoded),
        );
        Err(Error::over_memory(
            Location::Canvas,
            None,
            message,
            needed,
            limit,
        ))
    }

    /// The output's frames, refused as soon as they are more than the
    /// limits allow: merged, sources of very unlike frame times (65535 s
    /// and 1/65535 s) make billions, which were listed before the limit
    /// was checked (tens of GB from two 237-byte files).
    fn timeline(&self, scene: &Scene, sources: &[Source]) -> Result<Timeline, Error> {
        let limits = self.limits();
        let (w, h) = (scene.width, scene.height);
        let per_frame = (w as u64 * h as u64).max(1);
        // Every output frame is kept until the animation is encoded, 4
        // bytes a pixel: more frames than `max_render_bytes` holds are
        // refused by the memory check anyway, so the list stops there too
        // (whatever the frame limits are raised to).
        let caps = [
            (
                limits.max_animation_frames as u64,
                format!("{} frames (max_animation_frames)", limits.max_animation_frames),
            ),
            (
                limits.max_animation_pixels / per_frame,
                format!("{} pixels (max_animation_pixels)", limits.max_animation_pixels),
            ),
            (
                limits.max_render_bytes / (4 * per_frame),
                format!(
                    "{} of memory (max_render_bytes; every frame is kept until encoded, 4 bytes a pixel)",
                    crate::plan::memory::mib(limits.max_render_bytes)
                ),
            ),
        ];
        // The first of the smallest: the limit the user would raise.
        let (cap, limit) = caps
            .iter()
            .fold(&caps[0], |a, b| if b.0 < a.0 { b } else { a });
        let message = |what: String| Error::scene(Location::Canvas, None, what);
        if *cap == 0 {
            return Err(message(format!(
                "one {w}x{h} frame ({per_frame} pixels) is already over the limit of {limit}"
            )));
        }
        Timeline::of(sources, *cap as usize).ok_or_else(|| {
            message(format!(
                "the animation would have more than {cap} frames (its sources' frame times merged), over the limit of {limit}"
            ))
        })
    }

    /// Refuses an output of more frames, or frames x pixels, than the
    /// limits allow.
    fn check_output(&self, scene: &Scene, frames: usize) -> Result<(), Error> {
        let limits = self.limits();
        let pixels = scene.width as u64 * scene.height as u64 * frames as u64;
        let message = if frames as u64 > limits.max_animation_frames as u64 {
            format!(
                "the animation would have {frames} frames, over the limit of {} (max_animation_frames)",
                limits.max_animation_frames
            )
        } else if pixels > limits.max_animation_pixels {
            format!(
                "the animation would have {frames} frames of {}x{} = {pixels} pixels, over the limit of {} pixels (max_animation_pixels)",
                scene.width, scene.height, limits.max_animation_pixels
            )
        } else {
            return Ok(());
        };
        Err(Error::scene(Location::Canvas, None, message))
    }

    /// Decodes every animated source of `scene` (each file once) and every
    /// layer's picked `frame` (put into `assets`, the layer pointed at it);
    /// the scene with those layers changed, the sources, and the warnings
    /// of their decodes (the frames' renders no longer see the files).
    fn load_sources(
        &self,
        scene: &Scene,
        assets: &mut Assets,
        stop: &Stop<'_>,
    ) -> Result<(Scene, Vec<Source>, Vec<Warning>), Error> {
        // A decode is asked between frames whether the render must stop,
        // and one it ended fails with the reason, not as a bad file.
        let halt: codec::Halt<'_> = &|| stop.now();
        let stopped = |e: Error| if stop.now() { stop.reason() } else { e };
        let limits = self.limits();
        let root = self.asset_root_for(scene);
        let mut scene = scene.clone();
        let mut sources: Vec<Source> = Vec::new();
        let mut by_path: HashMap<PathBuf, usize> = HashMap::new();
        let mut warnings = Vec::new();
        let (scene_w, scene_h) = (scene.width, scene.height);
        let (mut decoded_bytes, mut output_frames) = (0u64, 0u64);
        for index in 0..scene.layers.len() {
            let layer = &mut scene.layers[index];
            let LayerKind::Image(il) = &mut layer.kind else {
                continue;
            };
            if !layer.visible || assets.get(&il.src).is_some() {
                continue;
            }
            // A layer that draws nothing (transparent, or wholly off the
            // canvas) shows the same on every frame, whatever its file:
            // it does not set the timeline (it lengthened it, and set the
            // loop count). Each frame's render still checks its file.
            let on_canvas = crate::plan::geometry::BoxGeometry::of(layer)
                .pixel_bounds(scene_w, scene_h)
                .is_some();
            if layer.opacity <= 0.0 || !on_canvas {
                continue;
            }
            let LayerKind::Image(il) = &mut layer.kind else {
                continue;
            };
            let fail = |field, m: String| {
                let loc = Location::Layer {
                    index,
                    kind: Some("image".into()),
                };
                Error::scene(loc, Some(field), m)
            };
            let input = assets
                .input(&root, &il.src, limits.max_image_file_bytes)
                .map_err(|m| fail("src", m))?;
            if let Some(frame) = il.frame {
                // Pinned to a frame: decoded once, the same on every frame.
                let image = crate::asset_files::decode_frame(&input, frame, &limits, halt)
                    .map_err(|(field, m)| {
                        stopped(fail(field, format!("{}: {m}", data_url::shown(&il.src))))
                    })?;
                let key = format!("\u{1}frame/{index}");
                warnings.extend(image.notes.warnings(index, &il.src));
                assets.insert(key.clone(), image.image);
                il.src = key;
                il.frame = None;
                continue;
            }
            if let Some(&s) = by_path.get(input.key()) {
                sources[s].layers.push(index);
                continue;
            }
            let bytes: std::borrow::Cow<'_, [u8]> = match &input {
                Input::File(path) => read_limited(path, limits.max_image_file_bytes)
                    .map_err(|m| fail("src", format!("{}: {m}", data_url::shown(&il.src))))?
                    .into(),
                Input::Data(data) => (&data.bytes[..]).into(),
            };
            let info = codec::probe_animation(&bytes, &limits).map_err(|e| {
                fail(
                    "src",
                    format!("{}: {}", data_url::shown(&il.src), input.explain(e.0)),
                )
            })?;
            if !info.is_animated() {
                // A GIF cut short with one whole frame left is a still
                // now: the frames it lost are said (a still render, which
                // shows frame 0 only, says nothing). Read to its end only
                // when it lacks its trailer byte: rare.
                if bytes.starts_with(b"GIF8") && !bytes.ends_with(b";") {
                    let anim = codec::decode_animation_halting(&bytes, &limits, None, halt)
                        .map_err(|e| {
                            stopped(fail(
                                "src",
                                format!("{}: {}", data_url::shown(&il.src), input.explain(e.0)),
                            ))
                        })?;
                    warnings.extend(anim.notes.warnings(index, &il.src));
                }
                continue;
            }
            // From the headers, before decoding: the sources' frames so far
            // and this one's, and at least as many output frames as it has,
            // must fit the memory limit (the full check, with the timeline
            // and the encoder, follows once every source is decoded). Every
            // frame counts here, also one a decoder could share with the
            // frame before it: an upper bound.
            let frame_bytes = |(w, h): (u32, u32)| u64::from(w) * u64::from(h) * 4;
            decoded_bytes = decoded_bytes
                .saturating_add(u64::from(info.frames).saturating_mul(frame_bytes(info.size)));
            output_frames = output_frames.max(u64::from(info.frames));
            let needed = decoded_bytes
                .saturating_add(output_frames.saturating_mul(frame_bytes((scene_w, scene_h))));
            if needed > limits.max_render_bytes {
                let message = format!(
                    "{}: its {} frames of {}x{}, decoded, and as many frames of the canvas would need about {} of memory, over the limit of {} (max_render_bytes)",
                    data_url::shown(&il.src),
                    info.frames,
                    info.size.0,
                    info.size.1,
                    crate::plan::memory::mib(needed),
                    crate::plan::memory::mib(limits.max_render_bytes)
                );
                let location = Location::Layer {
                    index,
                    kind: Some("image".into()),
                };
                let limit = limits.max_render_bytes;
                return Err(Error::over_memory(
                    location,
                    Some("src"),
                    message,
                    needed,
                    limit,
                ));
            }
            let anim =
                codec::decode_animation_halting(&bytes, &limits, None, halt).map_err(|e| {
                    stopped(fail(
                        "src",
                        format!("{}: {}", data_url::shown(&il.src), input.explain(e.0)),
                    ))
                })?;
            warnings.extend(anim.notes.warnings(index, &il.src));
            by_path.insert(input.key().to_path_buf(), sources.len());
            sources.push(Source {
                anim,
                layers: vec![index],
            });
        }
        Ok((scene, sources, warnings))
    }
}

/// Reads a file of at most `max` bytes.
fn read_limited(path: &Path, max: u64) -> Result<Vec<u8>, String> {
    let len = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
    if len > max {
        return Err(format!(
            "the file is {len} bytes, over the limit of {max} bytes"
        ));
    }
    std::fs::read(path).map_err(|e| format!("cannot read: {e}"))
}

#[cfg(test)]
mod tests {
    use super::timeline::tests::source;
    use super::*;

    #[test]
    fn merged_frames_are_capped_by_the_memory_limit_whatever_the_frame_limits() {
        // Frame limits raised to the maximum: the list of merged frames
        // still stops at what max_render_bytes holds (before, it grew to
        // billions and the process aborted).
        let renderer = Renderer::new(crate::Backend::Cpu)
            .unwrap()
            .with_limits(crate::Limits {
                max_animation_frames: u32::MAX,
                max_animation_pixels: u64::MAX,
                max_render_bytes: 1 << 20,
                ..crate::Limits::default()
            });
        let scene = Scene::from_json(r#"{"width": 16, "height": 16, "animate": true}"#).unwrap();
        let sources = [
            source(&[65_500, 65_500], Loop::Forever),
            source(&[1], Loop::Forever),
        ];
        let e = renderer
            .timeline(&scene, &sources)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("more than 1024 frames"), "{e}");
        assert!(e.contains("(max_render_bytes;"), "{e}");
        // A canvas over max_animation_pixels in one frame says so.
        let tight = Renderer::new(crate::Backend::Cpu)
            .unwrap()
            .with_limits(crate::Limits {
                max_animation_pixels: 100,
                ..crate::Limits::default()
            });
        let e = tight.timeline(&scene, &sources).err().unwrap().to_string();
        assert!(
            e.contains("one 16x16 frame (256 pixels) is already over the limit of 100 pixels"),
            "{e}"
        );
    }
}
