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
//! budget). The atlases' bytes are read from the device allocator's report
//! (glyphon names its textures "glyphon atlas" and exposes no sizes; the
//! Vulkan and DX12 backends report, Metal and OpenGL do not) at a set's
//! give-back when the device's texture memory changed since the last read
//! (an atlas grows only by making a texture; wgpu's `counters` feature
//! keeps that figure: 31 ns to read, where the report costs about 13 µs
//! and the allocator's lock), and when over the byte budget the idle sets,
//! the one given back included, are dropped, to be made again at 256² when
//! a frame needs one ([`GlyphAtlasStats`]).

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

/// The default byte budget of a context's glyph atlases: room for every
/// set to grow past its first 256² atlases (640 KiB a set).
pub(crate) const DEFAULT_GLYPH_ATLAS_BUDGET: u64 = 64 << 20;

/// The label glyphon gives its atlas textures.
const ATLAS_LABEL: &str = "glyphon atlas";

/// The GPU backend's glyph atlases, observable through
/// [`crate::Renderer::gpu_glyph_atlas_stats`]. A device opened after a loss
/// counts from zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GlyphAtlasStats {
    /// Glyph sets (a pair of atlases per blend space each) that exist, idle
    /// or lent to a frame; at most eight.
    pub sets: usize,
    /// Sets lent to frames now.
    pub lent: usize,
    /// Bytes of device memory the atlases hold, from the device
    /// allocator's report; `None` where the backend gives no report (Metal,
    /// OpenGL), and then no byte budget is kept, only the count of sets.
    pub bytes: Option<u64>,
    /// The byte budget: idle sets are dropped while `bytes` is over it.
    pub budget: u64,
    /// Sets dropped because the atlases were over the budget.
    pub retired: u64,
    /// Frames that waited for a set because eight were lent.
    pub waits: u64,
}

/// The bytes of every glyphon atlas on `device`, from its allocator's
/// report (`None` without one).
fn atlas_bytes(device: &wgpu::Device) -> Option<u64> {
    let report = device.generate_allocator_report()?;
    Some(
        report
            .allocations
            .iter()
            .filter(|a| a.name == ATLAS_LABEL)
            .map(|a| a.size)
            .sum(),
    )
}

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

/// How [`GlyphSet::prepare`] went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prepared {
    /// Ready to render.
    Done,
    /// The glyphs do not fit the largest atlas the adapter allows (glyphs
    /// thousands of pixels high): the frame draws its text otherwise.
    AtlasFull,
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
    /// The rows glyphon may draw into, `region` and margins above and
    /// below it: lines whose box is outside these are skipped.
    pub bounds: [u32; 4],
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
    /// [`Prepared::AtlasFull`] when their glyphs do not fit the atlas.
    pub fn prepare(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        fonts: &mut glyphon::FontSystem,
        space: BlendSpace,
        jobs: &[TextJob],
        (width, height): (u32, u32),
    ) -> Prepared {
        self.space = space;
        self.viewport.update(queue, Resolution { width, height });
        let areas = jobs.iter().map(|j| TextArea {
            buffer: &j.buffer,
            left: j.left + j.region[0] as f32,
            top: j.top + j.region[1] as f32,
            scale: 1.0,
            bounds: TextBounds {
                left: j.bounds[0] as i32,
                top: j.bounds[1] as i32,
                right: j.bounds[2] as i32,
                bottom: j.bounds[3] as i32,
            },
            // Opaque: the colour's alpha is in the planned layer's opacity
            // (`plan::plan_layer`), which also reaches colour glyphs.
            default_color: Color::rgba(j.color.r, j.color.g, j.color.b, 255),
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
        match renderer.prepare(device, queue, fonts, atlas, viewport, areas, swash) {
            Ok(()) => Prepared::Done,
            // glyphon puts every glyph of a visible line in the atlas, also
            // those outside the region: huge ones fill it.
            Err(glyphon::PrepareError::AtlasFull) => Prepared::AtlasFull,
        }
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
    /// The device whose allocator reports the atlases' bytes.
    device: wgpu::Device,
    /// Pipelines, layouts and samplers every set shares.
    cache: Cache,
    held: Mutex<Held>,
    given_back: Condvar,
}

struct Held {
    idle: Vec<GlyphSet>,
    made: usize,
    /// Frames waiting for a set given back.
    waiting: usize,
    budget: u64,
    /// The device's texture memory when the atlases' bytes were last read
    /// at a give-back (`None`: read them at the next one).
    checked: Option<isize>,
    retired: u64,
    waits: u64,
}

impl Held {
    /// Whether a give-back, with the device's texture memory at `memory`,
    /// reads the atlases' bytes (and marks it read).
    fn check_due(&mut self, memory: isize) -> bool {
        let due = self.checked != Some(memory);
        self.checked = Some(memory);
        due
    }
}

impl GlyphSets {
    pub fn new(device: &wgpu::Device) -> GlyphSets {
        GlyphSets {
            device: device.clone(),
            cache: Cache::new(device),
            held: Mutex::new(Held {
                idle: Vec::new(),
                made: 0,
                waiting: 0,
                budget: DEFAULT_GLYPH_ATLAS_BUDGET,
                checked: None,
                retired: 0,
                waits: 0,
            }),
            given_back: Condvar::new(),
        }
    }

    /// Sets the atlases' byte budget; the next give-back checks it.
    pub fn set_budget(&self, bytes: u64) {
        let mut held = self.held();
        held.budget = bytes;
        held.checked = None;
    }

    /// The atlases' figures (the bytes read from the allocator now).
    pub fn stats(&self) -> GlyphAtlasStats {
        let bytes = atlas_bytes(&self.device);
        let held = self.held();
        GlyphAtlasStats {
            sets: held.made,
            lent: held.made - held.idle.len(),
            bytes,
            budget: held.budget,
            retired: held.retired,
            waits: held.waits,
        }
    }

    /// Drops the idle sets if the atlases are over the budget (read outside
    /// the lock: the report takes the allocator's).
    fn enforce_budget(&self) {
        let Some(bytes) = atlas_bytes(&self.device) else {
            return;
        };
        let retired = {
            let mut held = self.held();
            if bytes <= held.budget {
                return;
            }
            let idle = std::mem::take(&mut held.idle);
            // Read again at the next give-back: the texture memory can be
            // back where it was (sets dropped, as many made) and over.
            held.checked = None;
            held.made -= idle.len();
            held.retired += idle.len() as u64;
            idle
        };
        if !retired.is_empty() {
            log::debug!(
                "glyph atlases hold {bytes} bytes, over their budget: {} idle sets dropped",
                retired.len()
            );
            // Dropped outside the lock; frames waiting may make sets again.
            drop(retired);
            self.given_back.notify_all();
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
        let mut waited = false;
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
            // One wait a frame, however many wake-ups it takes.
            if !waited {
                held.waits += 1;
                waited = true;
            }
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
            let memory = self
                .sets
                .device
                .get_internal_counters()
                .hal
                .texture_memory
                .read();
            let due = {
                let mut held = self.sets.held();
                held.idle.push(set);
                held.check_due(memory)
            };
            self.sets.given_back.notify_one();
            if due {
                self.sets.enforce_budget();
            }
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
        assert_eq!(sets.stats().waits, 1, "the wait is counted");
    }

    /// Bytes of one set's atlases as made: per blend space, a 256² RGBA8
    /// colour atlas and a 256² R8 mask atlas.
    const FIRST_SET_BYTES: u64 = 2 * (256 * 256 * 4 + 256 * 256);

    #[test]
    fn idle_sets_are_dropped_at_give_back_while_the_atlases_are_over_the_budget() {
        let Some(ctx) = test_context(1 << 20) else {
            return;
        };
        let sets = GlyphSets::new(&ctx.device);
        let (a, b, c) = (
            sets.take(&ctx.device, &ctx.queue),
            sets.take(&ctx.device, &ctx.queue),
            sets.take(&ctx.device, &ctx.queue),
        );
        let s = sets.stats();
        let Some(three) = s.bytes else {
            // Metal and OpenGL report no allocations: no bytes, no budget.
            let backend = ctx.adapter().backend.to_lowercase();
            assert!(
                backend.contains("metal") || backend.contains("gl"),
                "no allocator report on {backend}"
            );
            return;
        };
        assert!(three >= 3 * FIRST_SET_BYTES, "{s:?}");
        assert_eq!((s.sets, s.lent, s.retired), (3, 3, 0), "{s:?}");
        // Under the default budget a set given back is kept.
        drop(a);
        let s = sets.stats();
        assert_eq!((s.sets, s.lent, s.retired), (3, 2, 0), "{s:?}");
        // Over it, the idle sets go, the one given back included; the sets
        // still lent stay.
        sets.set_budget(three - 1);
        drop(b);
        let s = sets.stats();
        assert_eq!((s.sets, s.lent, s.retired), (1, 1, 2), "{s:?}");
        assert!(
            s.bytes.unwrap() <= three / 3,
            "their memory is freed: {s:?}"
        );
        // Within it again, a set given back is kept.
        drop(c);
        let s = sets.stats();
        assert_eq!((s.sets, s.lent, s.retired), (1, 0, 2), "{s:?}");
        let _d = sets.take(&ctx.device, &ctx.queue);
        assert_eq!(sets.made(), 1, "the kept set is lent again");
    }

    #[test]
    fn the_atlases_are_read_at_give_back_when_texture_memory_changed_or_the_budget_did() {
        let Some(ctx) = test_context(1 << 20) else {
            return;
        };
        let sets = GlyphSets::new(&ctx.device);
        let mut held = sets.held();
        assert!(held.check_due(1000), "the first give-back reads them");
        assert!(!held.check_due(1000), "no texture made or freed since");
        assert!(held.check_due(2000));
        drop(held);
        sets.set_budget(1);
        assert!(
            sets.held().check_due(2000),
            "a new budget is checked at the next give-back"
        );
        if ctx.device.generate_allocator_report().is_none() {
            // Metal and OpenGL keep no memory counters (nor reports).
            eprintln!("no allocator report on this backend: memory counter not checked");
            return;
        }
        let memory = || ctx.device.get_internal_counters().hal.texture_memory.read();
        let before = memory();
        let set = sets.take(&ctx.device, &ctx.queue);
        assert!(memory() > before, "wgpu counts texture memory");
        drop(set);
    }
}
