//! Animated output: the timeline of a scene's animated sources, rendered
//! frame by frame through the batch path ([`Renderer::render_each`], so
//! frames overlap on the GPU).
//!
//! The animated sources are the visible image layers whose file (GIF,
//! APNG, animated WebP) has more than one frame and that pick no `frame`.
//! The timeline is the union of their frames' start times: each output
//! frame shows, for every source, the frame active at its time, and lasts
//! until the next start time. With one source the output has exactly its
//! frames and delays. With several, the animation lasts as long as the
//! longest source; shorter ones loop within it; a zero delay counts as
//! 100 ms, as browsers show it. Still layers (and layers with a `frame`)
//! are the same on every frame. The loop count is the source's (with
//! several: forever if any loops forever, else the largest count).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use image::RgbaImage;

use crate::asset_files::resolve_asset;
use crate::codec::{self, AnimationFormat, Delay, Loop};
use crate::error::{Error, Location};
use crate::scene::{LayerKind, Scene};
use crate::{Assets, RenderOptions, Renderer};

/// A rendered animation: frames (straight-alpha sRGB RGBA, the canvas
/// size), each frame's delay, and the loop count.
#[derive(Debug, Clone)]
pub struct RenderedAnimation {
    /// The frames, in order.
    pub frames: Vec<RgbaImage>,
    /// How long each frame shows.
    pub delays: Vec<Delay>,
    /// How many times the animation plays.
    pub loop_count: Loop,
}

impl RenderedAnimation {
    /// One still image as an animation of one frame that plays once (a
    /// still GIF, say).
    pub fn still(image: RgbaImage) -> RenderedAnimation {
        RenderedAnimation {
            frames: vec![image],
            delays: vec![Delay::from_centis(0)],
            loop_count: Loop::Times(1),
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
    /// between frames.
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
        let (mut scene, sources) = self.load_sources(scene, &mut assets)?;
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
        // A few frames at a time, so that a deadline or a cancel is seen.
        for chunk in scenes.chunks(4) {
            stop.check()?;
            let mut failed = None;
            self.render_each(chunk, &assets, |_, r| match r {
                Ok(img) => frames.push(img),
                Err(e) => failed = failed.take().or(Some(e)),
            });
            if let Some(e) = failed {
                return Err(e);
            }
        }
        stop.check()?;
        Ok(RenderedAnimation {
            frames,
            delays: timeline.delays,
            loop_count: timeline.loop_count,
        })
    }

    /// Renders `scene`'s animation and writes it to `path` in `format`,
    /// atomically (a failed render leaves no file).
    pub fn render_animation_to_file(
        &self,
        scene: &Scene,
        assets: &Assets,
        path: impl AsRef<Path>,
        format: AnimationFormat,
        options: &RenderOptions,
    ) -> Result<(), Error> {
        let path = path.as_ref();
        crate::codec::check_output_dir(path)?;
        let root = self.asset_root_for(scene);
        crate::asset_files::refuse_own_input(scene, &root, assets, path)?;
        let pending = codec::PendingFile::create(path)?;
        pending.commit(&self.render_animation_encoded(scene, assets, format, options)?)
    }

    /// Renders `scene`'s animation and encodes it in `format`: the file's
    /// bytes, for a stream or a response. A canvas the format cannot hold
    /// is refused before any frame is drawn, and the memory check counts
    /// the format's encoder.
    pub fn render_animation_encoded(
        &self,
        scene: &Scene,
        assets: &Assets,
        format: AnimationFormat,
        options: &RenderOptions,
    ) -> Result<Vec<u8>, Error> {
        if let AnimationFormat::WebP { .. } | AnimationFormat::WebPLossless = format {
            crate::codec::webp_fits(scene.width, scene.height)?;
        }
        self.render_animation_for(scene, assets, options, Some(format))?
            .encode(format)
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
        let per_frame = (scene.width as u64 * scene.height as u64).max(1);
        let by_pixels = limits.max_animation_pixels / per_frame;
        let cap = (limits.max_animation_frames as u64).min(by_pixels);
        Timeline::of(sources, cap as usize).ok_or_else(|| {
            let limit = if cap == by_pixels && by_pixels < limits.max_animation_frames as u64 {
                format!(
                    "{} pixels of {}x{} frames (max_animation_pixels)",
                    limits.max_animation_pixels, scene.width, scene.height
                )
            } else {
                format!("{} frames (max_animation_frames)", limits.max_animation_frames)
            };
            Error::scene(
                Location::Canvas,
                None,
                format!(
                    "the animation would have more than {cap} frames (its sources' frame times merged), over the limit of {limit}"
                ),
            )
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
                "the animation would have {frames} frames of {}x{} = {pixels} pixels, over the limit of {} (max_animation_pixels)",
                scene.width, scene.height, limits.max_animation_pixels
            )
        } else {
            return Ok(());
        };
        Err(Error::scene(Location::Canvas, None, message))
    }

    /// Decodes every animated source of `scene` (each file once) and every
    /// layer's picked `frame` (put into `assets`, the layer pointed at it);
    /// the scene with those layers changed, and the sources.
    fn load_sources(
        &self,
        scene: &Scene,
        assets: &mut Assets,
    ) -> Result<(Scene, Vec<Source>), Error> {
        let limits = self.limits();
        let root = self.asset_root_for(scene);
        let mut scene = scene.clone();
        let mut sources: Vec<Source> = Vec::new();
        let mut by_path: HashMap<PathBuf, usize> = HashMap::new();
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
            let fail = |field, m: String| {
                let loc = Location::Layer {
                    index,
                    kind: Some("image".into()),
                };
                Error::scene(loc, Some(field), m)
            };
            let path = resolve_asset(&root, &il.src).map_err(|m| fail("src", m))?;
            if let Some(frame) = il.frame {
                // Pinned to a frame: decoded once, the same on every frame.
                let image = crate::asset_files::decode_frame(&path, frame, &limits)
                    .map_err(|(field, m)| fail(field, format!("{:?}: {m}", il.src)))?;
                let key = format!("\u{1}frame/{index}");
                assets.insert(key.clone(), image.image);
                il.src = key;
                il.frame = None;
                continue;
            }
            if let Some(&s) = by_path.get(&path) {
                sources[s].layers.push(index);
                continue;
            }
            let bytes = read_limited(&path, limits.max_image_file_bytes)
                .map_err(|m| fail("src", format!("{:?}: {m}", il.src)))?;
            let info = codec::probe_animation(&bytes, &limits)
                .map_err(|e| fail("src", format!("{:?}: {}", il.src, e.0)))?;
            if !info.is_animated() {
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
                    "{:?}: its {} frames of {}x{}, decoded, and as many frames of the canvas would need about {} of memory, over the limit of {} (max_render_bytes)",
                    il.src,
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
            let anim = codec::decode_animation(&bytes, &limits, None)
                .map_err(|e| fail("src", format!("{:?}: {}", il.src, e.0)))?;
            by_path.insert(path, sources.len());
            sources.push(Source {
                anim,
                layers: vec![index],
            });
        }
        Ok((scene, sources))
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

/// The output frames: for each, the frame of every source it shows; and
/// their delays and the loop count.
struct Timeline {
    frames: Vec<Vec<usize>>,
    delays: Vec<Delay>,
    loop_count: Loop,
}

impl Timeline {
    /// The output's frames; `None` when they would be more than `cap` (a
    /// single source's frames are checked by the caller: their number is
    /// the source's, already held to the limits when it was decoded).
    fn of(sources: &[Source], cap: usize) -> Option<Timeline> {
        Some(match sources {
            [] => Timeline {
                frames: vec![vec![]],
                delays: vec![Delay::from_centis(0)],
                loop_count: Loop::Times(1),
            },
            [one] => Timeline {
                frames: (0..one.anim.frames.len()).map(|f| vec![f]).collect(),
                delays: one.anim.frames.iter().map(|f| f.delay).collect(),
                loop_count: one.anim.loop_count,
            },
            many => Timeline::union(many, cap)?,
        })
    }

    /// Several sources: times in ticks of `1 / unit` seconds, `unit` the
    /// least common multiple of their delays' denominators (microseconds,
    /// rounded, past 10^9).
    fn union(sources: &[Source], cap: usize) -> Option<Timeline> {
        let delays: Vec<Vec<Delay>> = sources
            .iter()
            .map(|s| {
                s.anim
                    .frames
                    .iter()
                    .map(|f| {
                        if f.delay.num == 0 {
                            Delay::from_centis(10)
                        } else {
                            f.delay
                        }
                    })
                    .collect()
            })
            .collect();
        let mut unit: u64 = 1;
        for d in delays.iter().flatten() {
            let den = d.den as u64;
            unit = unit / codec::anim::gcd(unit, den) * den;
            if unit > 1_000_000_000 {
                unit = 1_000_000;
                break;
            }
        }
        let ticks = |d: &Delay| ((d.num as u64 * unit + d.den as u64 / 2) / d.den as u64).max(1);
        // Each source's frame start times and its length.
        let starts: Vec<(Vec<u64>, u64)> = delays
            .iter()
            .map(|ds| {
                let mut t = 0;
                let starts = ds
                    .iter()
                    .map(|d| {
                        let s = t;
                        t += ticks(d);
                        s
                    })
                    .collect();
                (starts, t)
            })
            .collect();
        let total = starts.iter().map(|(_, len)| *len).max().unwrap_or(1);
        let mut times: Vec<u64> = Vec::new();
        for (s, len) in &starts {
            // Each pass of a source starts a frame at a time of its own
            // (`base`): more than `cap` passes are more than `cap` frames.
            let mut base = 0;
            let mut passes = 0usize;
            while base < total {
                passes += 1;
                if passes > cap {
                    return None;
                }
                times.extend(s.iter().map(|t| base + t).filter(|&t| t < total));
                base += len;
            }
        }
        times.sort_unstable();
        times.dedup();
        if times.len() > cap {
            return None;
        }
        let frames = times
            .iter()
            .map(|&t| {
                starts
                    .iter()
                    .map(|(s, len)| s.partition_point(|&st| st <= t % len) - 1)
                    .collect()
            })
            .collect();
        let delays = times
            .iter()
            .zip(times.iter().skip(1).chain([&total]))
            .map(|(a, b)| Delay::new(b - a, unit))
            .collect();
        let loop_count = sources
            .iter()
            .map(|s| s.anim.loop_count)
            .fold(Loop::Times(1), |a, b| match (a, b) {
                (Loop::Forever, _) | (_, Loop::Forever) => Loop::Forever,
                (Loop::Times(x), Loop::Times(y)) => Loop::Times(x.max(y)),
            });
        Some(Timeline {
            frames,
            delays,
            loop_count,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(centis: &[u32], loop_count: Loop) -> Source {
        let image = Arc::new(RgbaImage::new(1, 1));
        Source {
            anim: codec::Animation {
                width: 1,
                height: 1,
                frames: centis
                    .iter()
                    .map(|&c| codec::Frame {
                        image: Arc::clone(&image),
                        delay: Delay::from_centis(c),
                    })
                    .collect(),
                loop_count,
            },
            layers: vec![0],
        }
    }

    #[test]
    fn one_source_keeps_its_frames_and_delays_even_zero_ones() {
        let t = Timeline::of(&[source(&[10, 0, 70], Loop::Times(2))], 3).unwrap();
        assert_eq!(t.frames, vec![vec![0], vec![1], vec![2]]);
        assert_eq!(t.delays, [10, 0, 70].map(Delay::from_centis));
        assert_eq!(t.loop_count, Loop::Times(2));
    }

    #[test]
    fn two_sources_merge_their_frame_times_and_the_shorter_one_loops() {
        // A: 0-10, 10-30 (30 cs). B: 0-15 (15 cs), looping once more.
        let t = Timeline::of(
            &[
                source(&[10, 20], Loop::Times(1)),
                source(&[15], Loop::Forever),
            ],
            3,
        )
        .unwrap();
        assert_eq!(t.frames, vec![vec![0, 0], vec![1, 0], vec![1, 0]]);
        assert_eq!(t.delays, [10, 5, 15].map(Delay::from_centis));
        assert_eq!(t.loop_count, Loop::Forever);
        let t = Timeline::of(
            &[
                source(&[10, 10], Loop::Times(1)),
                source(&[5, 5, 5, 5], Loop::Times(3)),
            ],
            4,
        )
        .unwrap();
        assert_eq!(
            t.frames,
            vec![vec![0, 0], vec![0, 1], vec![1, 2], vec![1, 3]]
        );
        assert_eq!(t.delays, [5, 5, 5, 5].map(Delay::from_centis));
        assert_eq!(t.loop_count, Loop::Times(3));
    }

    #[test]
    fn merged_frames_past_the_cap_are_refused_without_listing_them_all() {
        let two = |a: u32, b: u32| [source(&[a, a], Loop::Forever), source(&[b], Loop::Forever)];
        // 4 frames: within a cap of 4, not of 3.
        assert!(Timeline::of(&two(10, 10), 2).is_some());
        assert!(Timeline::of(&two(10, 5), 4).is_some());
        assert!(Timeline::of(&two(10, 5), 3).is_none());
        // 655 s against 1 cs: 65,500 passes of the short source, stopped
        // after the cap's worth (a 237-byte pair of APNGs with 65535 s and
        // 1/65535 s delays made billions and ran out of memory).
        assert!(Timeline::of(&two(65_500, 1), 1000).is_none());
    }
}
