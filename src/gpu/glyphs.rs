//! Text on the GPU with glyphon. The layout is the one the CPU backend uses
//! (`text::plan`); glyphon rasterizes the glyphs with swash into its atlas
//! and draws them into a premultiplied `Rgba16Float` texture, one region per
//! text layer, which the composite pass then reads like any other layer
//! (blend, opacity, rotation and rounding included).
//!
//! glyphon's state (atlas, renderer, viewport, swash's scaler) comes in
//! [`GlyphSet`]s, lent one per frame by [`GlyphSets`]: a frame lays its text
//! out with its other inputs, then, once every other upload is made (so no
//! set is held while its thread runs rayon's work, which could take another
//! frame that waits for a set), prepares it with a set of its own (the
//! uploads: vertices, new glyphs), records the text pass into its own
//! command encoder ahead of the layers, and gives the set back once the
//! frame is submitted. So several threads driving the
//! GPU prepare text at once, and a card is one submission, not two. (Until
//! 2026-11-27 one set was shared under a lock held from `prepare` through a
//! submission of its own, which serialised the text of every driving
//! thread.) A set is never handed to a second frame before the first is
//! submitted: glyphon's vertex buffer and atlas are written by queue writes,
//! which run before the next submission, whoever makes it.
//!
//! Memory: at most [`MAX_GLYPH_SETS`] sets exist (a frame waits for one
//! given back past that). Each atlas holds the glyphs its recent frames drew
//! (trimmed as a set is given back: glyphs unused by its last frame may be
//! overwritten) and grows, by doubling from 256², only when one frame's
//! glyphs do not fit. glyphon rasterizes an atlas miss uncached, so swash
//! keeps no glyph images here (the CPU's glyph cache is the one with a
//! budget).

use std::sync::{Condvar, Mutex, MutexGuard};

use glyphon::{
    Cache, Color, ColorMode, Resolution, SwashCache, TextArea, TextAtlas, TextBounds, TextRenderer,
    Viewport,
};

use crate::color::BlendSpace;
use crate::error::Error;

/// The format text layers are drawn into: blendable, and premultiplied by
/// glyphon's alpha blending over a transparent clear.
pub(crate) const TEXT_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba16Float;

/// The most glyph sets a context makes: as many frames prepare text at
/// once, more wait. Eight covers `--gpu-drivers` up to eight.
pub(crate) const MAX_GLYPH_SETS: usize = 8;

/// One frame's glyphon state: an atlas and renderer per blend space (`Web`
/// keeps sRGB values for the sRGB space, `Accurate` converts to linear
/// light for the linear space), the viewport, and swash's scaler.
pub(crate) struct GlyphSet {
    viewport: Viewport,
    web: (TextAtlas, TextRenderer),
    accurate: (TextAtlas, TextRenderer),
    swash: SwashCache,
    /// The space of the last `prepare`: the pair `render` draws with.
    space: BlendSpace,
}

/// One text layer to draw: its laid-out buffer, colour, and the region of
/// the shared target texture it goes to.
pub(crate) struct TextJob {
    pub buffer: glyphon::Buffer,
    pub color: crate::Color,
    pub left: f32,
    pub top: f32,
    /// `[x0, y0, x1, y1)` in the target texture.
    pub region: [u32; 4],
}

impl GlyphSet {
    fn new(device: &wgpu::Device, queue: &wgpu::Queue, cache: &Cache) -> GlyphSet {
        let viewport = Viewport::new(device, cache);
        let make = |mode| {
            let mut atlas = TextAtlas::with_color_mode(device, queue, cache, TEXT_FORMAT, mode);
            let renderer =
                TextRenderer::new(&mut atlas, device, wgpu::MultisampleState::default(), None);
            (atlas, renderer)
        };
        GlyphSet {
            viewport,
            web: make(ColorMode::Web),
            accurate: make(ColorMode::Accurate),
            swash: SwashCache::new(),
            space: BlendSpace::Srgb,
        }
    }

    fn pair(&mut self, space: BlendSpace) -> &mut (TextAtlas, TextRenderer) {
        match space {
            BlendSpace::Srgb => &mut self.web,
            BlendSpace::Linear => &mut self.accurate,
        }
    }

    /// Uploads what drawing `jobs` into a `size` target needs (vertices, the
    /// glyphs the atlas lacks); [`GlyphSet::render`] then records the draw.
    pub fn prepare(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        fonts: &mut glyphon::FontSystem,
        space: BlendSpace,
        jobs: &[TextJob],
        (width, height): (u32, u32),
    ) -> Result<(), Error> {
        self.space = space;
        self.viewport.update(queue, Resolution { width, height });
        let areas = jobs.iter().map(|j| TextArea {
            buffer: &j.buffer,
            left: j.left + j.region[0] as f32,
            top: j.top + j.region[1] as f32,
            scale: 1.0,
            bounds: TextBounds {
                left: j.region[0] as i32,
                top: j.region[1] as i32,
                right: j.region[2] as i32,
                bottom: j.region[3] as i32,
            },
            default_color: Color::rgba(j.color.r, j.color.g, j.color.b, j.color.a),
            custom_glyphs: &[],
        });
        let GlyphSet {
            viewport,
            web,
            accurate,
            swash,
            ..
        } = self;
        let (atlas, renderer) = match space {
            BlendSpace::Srgb => web,
            BlendSpace::Linear => accurate,
        };
        renderer
            .prepare(device, queue, fonts, atlas, viewport, areas, swash)
            .map_err(|e| Error::Gpu(format!("preparing text: {e}")))
    }

    /// Records the prepared text into `target`, cleared first: a render pass
    /// in the frame's encoder, ahead of the passes that read it.
    pub fn render(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        target: &wgpu::Texture,
    ) -> Result<(), Error> {
        let (atlas, renderer) = match self.space {
            BlendSpace::Srgb => &self.web,
            BlendSpace::Linear => &self.accurate,
        };
        let view = target.create_view(&Default::default());
        let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("text layers"),
            color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                view: &view,
                depth_slice: None,
                resolve_target: None,
                ops: wgpu::Operations {
                    load: wgpu::LoadOp::Clear(wgpu::Color::TRANSPARENT),
                    store: wgpu::StoreOp::Store,
                },
            })],
            depth_stencil_attachment: None,
            timestamp_writes: None,
            occlusion_query_set: None,
            multiview_mask: None,
        });
        renderer
            .render(atlas, &self.viewport, &mut pass)
            .map_err(|e| Error::Gpu(format!("drawing text: {e}")))
    }
}

/// The glyph sets of a context: idle ones, and how many exist.
pub(crate) struct GlyphSets {
    /// Pipelines, layouts and samplers every set shares.
    cache: Cache,
    held: Mutex<Held>,
    given_back: Condvar,
}

#[derive(Default)]
struct Held {
    idle: Vec<GlyphSet>,
    made: usize,
    /// Frames waiting for a set given back.
    waiting: usize,
}

impl GlyphSets {
    pub fn new(device: &wgpu::Device) -> GlyphSets {
        GlyphSets {
            cache: Cache::new(device),
            held: Mutex::default(),
            given_back: Condvar::new(),
        }
    }

    fn held(&self) -> MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many sets exist (idle or lent).
    #[cfg(test)]
    pub fn made(&self) -> usize {
        self.held().made
    }

    /// How many frames wait for a set.
    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.held().waiting
    }

    /// Lends a set: an idle one, else a new one while fewer than
    /// [`MAX_GLYPH_SETS`] exist, else the next one given back.
    pub fn take(&self, device: &wgpu::Device, queue: &wgpu::Queue) -> LentGlyphs<'_> {
        let mut held = self.held();
        loop {
            if let Some(set) = held.idle.pop() {
                return LentGlyphs {
                    sets: self,
                    set: Some(set),
                };
            }
            if held.made < MAX_GLYPH_SETS {
                held.made += 1;
                drop(held);
                // Made outside the lock: pipelines come from the shared cache,
                // the atlas textures and buffers are new. Counted first, so
                // that no other frame makes one past the limit meanwhile;
                // uncounted again if making it panics.
                let counted = Uncount(self);
                let set = GlyphSet::new(device, queue, &self.cache);
                std::mem::forget(counted);
                return LentGlyphs {
                    sets: self,
                    set: Some(set),
                };
            }
            held.waiting += 1;
            held = self
                .given_back
                .wait(held)
                .unwrap_or_else(|p| p.into_inner());
            held.waiting -= 1;
        }
    }
}

/// Takes back the count of a set whose making panicked.
struct Uncount<'a>(&'a GlyphSets);

impl Drop for Uncount<'_> {
    fn drop(&mut self) {
        self.0.held().made -= 1;
        self.0.given_back.notify_one();
    }
}

/// A glyph set lent to one frame; given back (its atlases trimmed) when
/// dropped, which the frame does once it is submitted, or on an error.
pub(crate) struct LentGlyphs<'a> {
    sets: &'a GlyphSets,
    set: Option<GlyphSet>,
}

impl std::ops::Deref for LentGlyphs<'_> {
    type Target = GlyphSet;
    fn deref(&self) -> &GlyphSet {
        // `set` is `Some` from `take` until `drop`.
        self.set.as_ref().expect("a lent glyph set")
    }
}

impl std::ops::DerefMut for LentGlyphs<'_> {
    fn deref_mut(&mut self) -> &mut GlyphSet {
        self.set.as_mut().expect("a lent glyph set")
    }
}

impl Drop for LentGlyphs<'_> {
    fn drop(&mut self) {
        if let Some(mut set) = self.set.take() {
            let space = set.space;
            set.pair(space).0.trim();
            self.sets.held().idle.push(set);
            self.sets.given_back.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::context::test_context;

    #[test]
    fn a_glyph_set_is_lent_to_one_frame_at_a_time_and_reused_once_given_back() {
        let Some(ctx) = test_context(1 << 20) else {
            return;
        };
        let sets = GlyphSets::new(&ctx.device);
        let a = sets.take(&ctx.device, &ctx.queue);
        let b = sets.take(&ctx.device, &ctx.queue);
        assert_eq!(sets.made(), 2, "two frames at once hold two sets");
        drop(a);
        drop(b);
        let _c = sets.take(&ctx.device, &ctx.queue);
        let _d = sets.take(&ctx.device, &ctx.queue);
        assert_eq!(sets.made(), 2, "sets given back are lent again");
    }

    #[test]
    fn a_frame_past_the_most_sets_waits_for_one_given_back() {
        let Some(ctx) = test_context(1 << 20) else {
            return;
        };
        let sets = GlyphSets::new(&ctx.device);
        let mut lent: Vec<_> = (0..MAX_GLYPH_SETS)
            .map(|_| sets.take(&ctx.device, &ctx.queue))
            .collect();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::scope(|s| {
            s.spawn(|| {
                let _set = sets.take(&ctx.device, &ctx.queue);
                tx.send(()).unwrap();
            });
            // The taker gets no set (one made past the limit would be sent
            // here) until it waits for one given back.
            loop {
                assert!(rx.try_recv().is_err(), "a set was made past the limit");
                if sets.waiting() == 1 {
                    break;
                }
                std::thread::yield_now();
            }
            lent.pop();
            rx.recv().unwrap();
        });
        assert_eq!(sets.made(), MAX_GLYPH_SETS);
    }
}
