//! Renders on their way to files: [`Renderer::render_each_encoded`] hands
//! out [`Encodable`]s, whose [`Encodable::encode`] does whatever encoding
//! work is left, on whichever thread calls it.
//!
//! On the GPU backend with JPEG out, the GPU does most of the encoding
//! too: after the encode pass, a compute pass (shaders/jpeg_blocks.wgsl)
//! turns the pixels into quantised DCT blocks, and those are read back
//! instead of the pixels, so that the CPU only entropy-codes them
//! (`codec::jpeg_blocks`). Everywhere else the pixels are read back and
//! encoded whole.

use image::RgbaImage;

use crate::assets::Assets;
use crate::cancel::RenderOptions;
use crate::codec::jpeg_blocks::{write_jpeg, BlockLayout, JpegTables};
use crate::codec::{encode, OutputFormat};
use crate::error::Error;
use crate::gpu::{Readback, Want};
use crate::scene::Scene;
use crate::warnings::Warning;
use crate::Renderer;

/// A render and the format it is bound for, not yet encoded, with the
/// render's warnings. It can be sent to another thread to be encoded there.
pub struct Encodable {
    format: OutputFormat,
    inner: Inner,
    warnings: Vec<Warning>,
}

enum Inner {
    /// Straight 8-bit RGBA, to encode whole.
    Pixels(RgbaImage),
    /// A JPEG's quantised DCT blocks, computed on the GPU.
    JpegBlocks {
        blocks: Vec<i16>,
        layout: BlockLayout,
    },
}

impl std::fmt::Debug for Encodable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encodable")
            .field("format", &self.format)
            .field("dimensions", &self.dimensions())
            .field("gpu_jpeg_blocks", &self.has_gpu_jpeg_blocks())
            .finish()
    }
}

impl Encodable {
    fn new(readback: Readback, format: OutputFormat, warnings: Vec<Warning>) -> Encodable {
        let inner = match readback {
            Readback::Image(img) => Inner::Pixels(img),
            Readback::Jpeg { blocks, layout } => Inner::JpegBlocks { blocks, layout },
        };
        Encodable {
            format,
            inner,
            warnings,
        }
    }

    /// What the render had to say, in layer order (as
    /// [`crate::Rendered::warnings`]); empty for most renders.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// [`Encodable::encode`] written to `path` atomically: a temporary
    /// file in the same folder renamed into place, so that a failure
    /// leaves no file behind.
    pub fn save(&self, path: impl AsRef<std::path::Path>) -> Result<(), Error> {
        let pending = crate::codec::PendingFile::create(path.as_ref())?;
        pending.commit(&self.encode()?)
    }

    /// The format [`Encodable::encode`] writes.
    pub fn format(&self) -> OutputFormat {
        self.format
    }

    /// The image's width and height in pixels.
    pub fn dimensions(&self) -> (u32, u32) {
        match &self.inner {
            Inner::Pixels(img) => img.dimensions(),
            Inner::JpegBlocks { layout, .. } => (u32::from(layout.width), u32::from(layout.height)),
        }
    }

    /// Whether the GPU computed this JPEG's blocks, leaving only their
    /// entropy coding to [`Encodable::encode`].
    pub fn has_gpu_jpeg_blocks(&self) -> bool {
        matches!(self.inner, Inner::JpegBlocks { .. })
    }

    /// The pixels, where they were read back (`None` for a JPEG whose
    /// blocks the GPU computed).
    pub fn image(&self) -> Option<&RgbaImage> {
        match &self.inner {
            Inner::Pixels(img) => Some(img),
            Inner::JpegBlocks { .. } => None,
        }
    }

    /// The encoded file. For pixels, as [`crate::codec::encode`] writes
    /// them; for the GPU's JPEG blocks, the entropy coding (in parallel
    /// strips, as the CPU's JPEG encoder does) under the same headers.
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        match &self.inner {
            Inner::Pixels(img) => encode(img, self.format),
            Inner::JpegBlocks { blocks, layout } => {
                let tables = JpegTables::cached(layout.quality)?;
                Ok(write_jpeg(blocks, *layout, &tables)?)
            }
        }
    }

    /// [`Encodable::encode`] unless `options`' deadline has passed or its
    /// token was cancelled: checked before the encoder starts and again
    /// when it is done (one that ends past the deadline fails, as the
    /// render would have, rather than succeed late). An AVIF encode, which
    /// cannot be interrupted (seconds a megapixel), runs on a thread of
    /// its own and is given up on at the deadline or cancellation: this
    /// answers then, and the abandoned encode runs to its end in the
    /// background, its result dropped (at most two such in the process;
    /// another AVIF encode waits for room).
    pub fn encode_with(&self, options: &crate::RenderOptions) -> Result<Vec<u8>, Error> {
        self.encode_holding(options, ()).map(|(bytes, ())| bytes)
    }

    /// [`Encodable::encode_with`], with `hold` (a reservation of memory or
    /// of a worker) kept while the encode runs: given back with the bytes,
    /// or dropped when an abandoned AVIF encode ends, so what it stands for
    /// stays counted as long as the work runs.
    pub fn encode_holding<H: Send + 'static>(
        &self,
        options: &crate::RenderOptions,
        hold: H,
    ) -> Result<(Vec<u8>, H), Error> {
        let stop = options.stop();
        match &self.inner {
            Inner::Pixels(img) => crate::codec::encode_stoppable(img, self.format, &stop, hold),
            Inner::JpegBlocks { .. } => {
                stop.check()?;
                let bytes = self.encode()?;
                stop.check()?;
                Ok((bytes, hold))
            }
        }
    }
}

/// What the GPU reads back for `format`: a JPEG's blocks, else pixels.
fn want(format: OutputFormat) -> Want {
    match format {
        OutputFormat::Jpeg { quality } => Want::JpegBlocks(quality),
        _ => Want::Pixels,
    }
}

impl Renderer {
    /// One render bound for `format`, under `options` (deadline, cancel
    /// token), as [`Renderer::render_with`] renders it; on the GPU backend
    /// with JPEG out the GPU also computes the JPEG's blocks, as
    /// [`Renderer::render_each_encoded`] says. The warnings are in the
    /// result, not logged.
    ///
    /// ```
    /// use impasto::codec::OutputFormat;
    /// use impasto::{Assets, Backend, RenderOptions, Renderer, Scene};
    ///
    /// let scene = Scene::from_json(r##"{ "width": 64, "height": 32, "background": "#336699" }"##)?;
    /// let renderer = Renderer::new(Backend::Cpu)?;
    /// let jpeg = OutputFormat::Jpeg { quality: 85 };
    /// let rendered = renderer.render_encoded(&scene, &Assets::new(), jpeg, &RenderOptions::default())?;
    /// assert_eq!(rendered.dimensions(), (64, 32));
    /// assert!(rendered.encode()?.starts_with(&[0xFF, 0xD8]));
    /// # Ok::<(), impasto::Error>(())
    /// ```
    pub fn render_encoded(
        &self,
        scene: &Scene,
        assets: &Assets,
        format: OutputFormat,
        options: &RenderOptions,
    ) -> Result<Encodable, Error> {
        format.check_size(scene.width, scene.height)?;
        let mut warnings = Vec::new();
        let readback = self.render_readback(
            scene,
            assets,
            options,
            &mut warnings,
            want(format),
            Some(format),
        )?;
        Ok(Encodable::new(readback, format, warnings))
    }

    /// [`Renderer::render_each`] for renders bound for `format`: each result
    /// is an [`Encodable`], with its warnings. Scenes overlap on the GPU
    /// as in `render_each`; `on_result` can hand each result to another
    /// thread to encode.
    ///
    /// On the GPU backend with JPEG out, the GPU also computes each JPEG's
    /// quantised DCT blocks (colour conversion, chroma subsampling, the
    /// forward DCT and quantisation, as `jpeg-encoder` does them, with
    /// libjpeg's exact integer DCT), so that [`Encodable::encode`] only
    /// entropy-codes them: most of a JPEG encode's CPU time moves to the
    /// GPU. A scene rendered on the CPU instead (the circuit breaker open)
    /// or in tiles (a canvas over the adapter's limits) comes back as
    /// pixels and is encoded whole.
    pub fn render_each_encoded<'s>(
        &self,
        scenes: impl IntoIterator<Item = &'s Scene>,
        assets: &Assets,
        format: OutputFormat,
        on_result: impl FnMut(usize, Result<Encodable, Error>),
    ) {
        self.render_each_encoded_with(scenes, assets, format, &RenderOptions::default(), on_result)
    }

    /// [`Renderer::render_each_encoded`] under `options` (see
    /// [`Renderer::render_each_with`]: the deadline and cancel token cover
    /// the whole run). Encoding is the caller's: pass the same options to
    /// [`Encodable::encode_with`].
    pub fn render_each_encoded_with<'s>(
        &self,
        scenes: impl IntoIterator<Item = &'s Scene>,
        assets: &Assets,
        format: OutputFormat,
        options: &RenderOptions,
        mut on_result: impl FnMut(usize, Result<Encodable, Error>),
    ) {
        let want = want(format);
        let mut scenes = scenes.into_iter().enumerate().peekable();
        let stop = options.stop();
        while let Some(&(i, scene)) = scenes.peek() {
            match self.gpu_for_batch() {
                Some((gpu, ctx)) => self.render_run(
                    gpu,
                    &ctx,
                    (want, Some(format)),
                    &mut scenes,
                    (assets, &stop),
                    &mut |i, r| {
                        on_result(
                            i,
                            r.map(|(readback, warnings)| {
                                Encodable::new(readback, format, warnings)
                            }),
                        )
                    },
                ),
                None => {
                    scenes.next();
                    on_result(i, self.render_encoded(scene, assets, format, options));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::jpeg_blocks::tests::reference_blocks;
    use crate::{Backend, GpuCompositor};

    /// Scenes whose pixels exercise the JPEG pass: a photo-like image,
    /// gradients, text and shapes on an opaque card (4:2:0 and 4:4:4), and
    /// a translucent canvas off the MCU grid (flattening, edge repetition).
    fn scenes() -> (Vec<(Scene, u8)>, Assets) {
        let mut assets = Assets::new();
        assets.insert(
            "photo.png",
            RgbaImage::from_fn(640, 480, |x, y| {
                let v = ((x * 7) ^ (y * 13)) as u8;
                image::Rgba([v, (x / 3) as u8, (y / 2) as u8, 255])
            }),
        );
        let card = serde_json::json!({
            "width": 1200, "height": 630, "background": "#101014",
            "layers": [
                {"type": "image", "src": "photo.png", "fit": "cover"},
                {"type": "linear-gradient", "angle": 90, "stops": [
                    {"offset": 0, "color": "#000000d8"}, {"offset": 0.75, "color": "#00000000"}]},
                {"type": "rect", "x": 60, "y": 40, "width": 300, "height": 120,
                 "corner_radius": 24, "rotate": 7, "color": "#ffcc00"},
                {"type": "text", "text": "Flat White Week", "x": 60, "y": 200, "width": 760,
                 "height": 180, "size": 68, "weight": 700, "color": "#ffffff"}
            ]
        });
        let translucent = serde_json::json!({
            "width": 101, "height": 77, "background": "#00000000",
            "layers": [
                {"type": "rect", "x": 10, "y": 5, "width": 70, "height": 60,
                 "corner_radius": 12, "color": "#2e86ab80"},
                {"type": "image", "src": "photo.png", "x": 40, "y": 30, "width": 50,
                 "height": 40, "opacity": 0.6}
            ]
        });
        // Sizes under one block and one MCU, at the qualities either side of
        // the 4:2:0 / 4:4:4 switch and the extremes.
        let tiny = |w: u32, h: u32| {
            serde_json::json!({
                "width": w, "height": h, "background": "#ffffff00",
                "layers": [{"type": "image", "src": "photo.png", "fit": "cover", "opacity": 0.8}]
            })
        };
        let scene = |v: &serde_json::Value| Scene::from_value(v).expect("a valid test scene");
        let all = vec![
            (scene(&card), 85),
            (scene(&card), 95),
            (scene(&translucent), 75),
            (scene(&translucent), 100),
            (scene(&tiny(1, 1)), 1),
            (scene(&tiny(5, 3)), 89),
            (scene(&tiny(17, 9)), 90),
            (scene(&tiny(33, 31)), 50),
        ];
        (all, assets)
    }

    #[test]
    fn the_gpus_jpeg_blocks_equal_the_cpu_reference_of_its_own_pixels() {
        if let Err(e) = Renderer::new(Backend::Gpu) {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true and no GPU adapter: {e}"
            );
            eprintln!("SKIPPED (no GPU adapter): {e}");
            return;
        }
        let (scenes, assets) = scenes();
        // Both compositors (the encode pass the JPEG pass reads is a
        // different entry point on each), each on a new device, so that no
        // pooled buffer or texture holds another path's result.
        for compositor in [GpuCompositor::Fragment, GpuCompositor::Compute] {
            let fresh = Renderer::new(Backend::Gpu).expect("the adapter opened above");
            let renderer = fresh
                .with_system_fonts(false)
                .with_gpu_compositor(compositor);
            assert_eq!(renderer.gpu_compositor(), Some(compositor));
            same_blocks_as_the_reference(&renderer, &scenes, &assets);
        }
        // The dispatch split into two dimensions, which only images of
        // about 90 megapixels reach at the real limit (65535 groups). A new
        // device each time: a pooled output buffer would still hold the
        // blocks of an earlier render of the same size.
        for x in [1, 7] {
            let fresh = Renderer::new(Backend::Gpu).expect("the adapter opened above");
            let renderer = fresh
                .with_system_fonts(false)
                .with_jpeg_groups_x_for_test(x);
            same_blocks_as_the_reference(&renderer, &scenes[..1], &assets);
        }
    }

    fn same_blocks_as_the_reference(renderer: &Renderer, scenes: &[(Scene, u8)], assets: &Assets) {
        for (i, (scene, quality)) in scenes.iter().enumerate() {
            let pixels = renderer.render_with_assets(scene, assets).unwrap();
            let format = OutputFormat::Jpeg { quality: *quality };
            let mut got = None;
            renderer.render_each_encoded([scene], assets, format, |_, r| got = Some(r));
            let encodable = got.expect("one result").expect("the render succeeds");
            assert_eq!(encodable.dimensions(), pixels.dimensions());
            let Inner::JpegBlocks { blocks, layout } = &encodable.inner else {
                panic!("scene {i}: the GPU read back pixels, not JPEG blocks");
            };
            assert_eq!(layout.quality, *quality);
            let want = reference_blocks(&pixels, *quality);
            assert_eq!(blocks.len(), want.len(), "scene {i} q{quality}");
            if let Some(k) = (0..want.len()).find(|&k| blocks[k] != want[k]) {
                panic!(
                    "scene {i} q{quality}: block {} coefficient {} (zigzag) is {} on the GPU, {} \
                     in the reference",
                    k / 64,
                    k % 64,
                    blocks[k],
                    want[k]
                );
            }
            // And the file is the reference blocks' file.
            let tables = JpegTables::new(*quality).unwrap();
            let file = encodable.encode().unwrap();
            assert!(file == write_jpeg(&want, *layout, &tables).unwrap());
        }
    }

    #[test]
    fn the_cpu_backend_hands_out_pixels_even_for_jpeg() {
        let (scenes, assets) = scenes();
        let (scene, _) = &scenes[2];
        let cpu = Renderer::new(Backend::Cpu)
            .unwrap()
            .with_system_fonts(false);
        let mut got = None;
        let format = OutputFormat::Jpeg { quality: 80 };
        cpu.render_each_encoded([scene], &assets, format, |_, r| got = Some(r));
        let e = got.unwrap().unwrap();
        assert!(!e.has_gpu_jpeg_blocks());
        let pixels = cpu.render_with_assets(scene, &assets).unwrap();
        assert_eq!(e.image(), Some(&pixels));
        assert_eq!(e.encode().unwrap(), encode(&pixels, format).unwrap());
    }
}
