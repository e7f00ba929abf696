//! Text layers on the GPU: laid out once (the CPU's layout), drawn by
//! glyphon ([`super::glyphs`]) into one premultiplied texture, a region per
//! layer, which the composite pass then samples like an image. The text is
//! prepared (uploaded) here with a glyph set lent to the frame; its pass is
//! recorded first in the frame's encoder ([`TextPass::record`]).

use super::context::GpuContext;
use super::glyphs::{GlyphAtlasStats, LentGlyphs, Prepared, TextJob, TEXT_FORMAT};
use super::loans::{Loans, TextureId};
use crate::cancel::Stop;
use crate::error::Error;
use crate::plan::{Paint, Plan};

/// One text layer's region of the text texture.
pub(super) struct TextRegion {
    /// The layer's index in the scene.
    pub layer: usize,
    /// `[x0, y0, x1, y1)` in the text texture.
    pub rect: [u32; 4],
    /// Box-local position of the region's top left.
    pub origin: (f64, f64),
}

impl TextRegion {
    /// Width and height of the region.
    pub fn size(&self) -> [u32; 2] {
        [self.rect[2] - self.rect[0], self.rect[3] - self.rect[1]]
    }
}

/// The text layers glyphon will draw, laid out, and the texture they go to.
#[derive(Default)]
pub(super) struct TextDrawn {
    pub regions: Vec<TextRegion>,
    /// The layout to draw, if any layer is drawn by glyphon.
    pub laid_out: Option<LaidOut>,
}

/// A frame's text, laid out into regions of one pooled texture: glyphon
/// prepares it ([`GpuContext::prepare_text_pass`]) once the frame's other
/// uploads are made.
pub(super) struct LaidOut {
    jobs: Vec<TextJob>,
    pub texture: TextureId,
}

/// The text of one frame, prepared: recorded by [`TextPass::record`] ahead
/// of the passes that sample its texture; the glyph set goes back to the
/// context when this is dropped, after the frame's submission.
pub(super) struct TextPass<'a> {
    glyphs: LentGlyphs<'a>,
    texture: TextureId,
}

impl TextPass<'_> {
    /// Records the text into its texture (cleared first).
    pub fn record(&self, encoder: &mut wgpu::CommandEncoder, loans: &Loans) -> Result<(), Error> {
        self.glyphs.render(encoder, loans.texture(self.texture))
    }
}

impl TextDrawn {
    /// Layer `index`'s region, if glyphon drew it.
    pub fn region(&self, index: usize) -> Option<&TextRegion> {
        self.regions.iter().find(|r| r.layer == index)
    }
}

/// The largest text size, in pixels, glyphon draws; larger text is
/// rasterized on the CPU (a glyph at 512 pixels is about a quarter of a
/// megapixel in the atlas).
const GLYPHON_MAX_SIZE: f32 = 512.0;

impl GpuContext {
    /// Lays out every text layer into a region of one pooled texture.
    /// Layers that do not fit the adapter's texture size, or whose text is
    /// larger than [`GLYPHON_MAX_SIZE`], or emboldened (synthetic bold), or
    /// letter-spaced right-to-left,
    /// are left to the CPU raster path;
    /// every layer is when `glyphon` is false (the frame's glyphs did not
    /// fit glyphon's atlas).
    pub(super) fn lay_out_text(
        &self,
        plan: &Plan<'_>,
        loans: &mut Loans,
        glyphon: bool,
        stop: &Stop<'_>,
    ) -> TextDrawn {
        let mut drawn = TextDrawn::default();
        let Some(engine) = plan.resolved.text.as_ref().filter(|_| glyphon) else {
            return drawn;
        };
        let (w, h) = (plan.width, plan.height);
        let mut shaper = engine.shaper();
        let mut jobs = Vec::new();
        let (mut tex_w, mut tex_h) = (1u32, 0u32);
        for planned in &plan.layers {
            let Paint::Text { layer, text: t } = &planned.paint else {
                continue;
            };
            let Some((buffer, tp)) = crate::text::plan(
                &mut shaper.fonts,
                layer,
                t,
                &planned.geom,
                (w, h),
                plan.resolved.fitted.take(planned.index),
                stop,
            ) else {
                continue;
            };
            // Glyphs this large (a glyph's image is about its size squared)
            // are rasterized on the CPU, cropped to what shows: glyphon
            // would put whole glyphs, also those outside the region, in an
            // atlas that grows to the adapter's largest texture and is not
            // counted toward `max_render_bytes`.
            if buffer.metrics().font_size > GLYPHON_MAX_SIZE {
                continue;
            }
            // Synthetic bold is drawn by the CPU's rasterizer: glyphon's,
            // cosmic-text's, cannot embolden (text/bold.rs); so is
            // letter-spaced right-to-left text, whose glyphs the CPU moves
            // (text/spacing.rs).
            if crate::text::emboldens(&buffer)
                || crate::text::shifts_rtl(&buffer, t.letter_spacing as f32)
            {
                continue;
            }
            // glyphon truncates the text's vertical position toward zero;
            // rows of padding above the region keep that position positive,
            // so it rounds down exactly as the CPU raster does.
            let pad = (-tp.top.floor()).max(0.0) as u64;
            // glyphon skips a line whose box lies outside its bounds, even
            // where its glyphs reach in (tight leading, a headline bleeding
            // off the canvas): the bounds reach this far past the region,
            // into rows of their own, so such lines are drawn and what
            // shows is cropped by the region as on the CPU.
            let margin = (buffer.metrics().font_size * 1.5).ceil() as u64;
            let top = tex_h as u64 + pad.max(margin);
            let end = top + tp.height as u64;
            let side = self.max_texture_side();
            if tp.width > side || end + margin > side as u64 {
                continue;
            }
            let rect = [0, top as u32, tp.width, end as u32];
            let bounds = [0, (top - margin) as u32, tp.width, (end + margin) as u32];
            tex_h = bounds[3];
            tex_w = tex_w.max(tp.width);
            drawn.regions.push(TextRegion {
                layer: planned.index,
                rect,
                origin: tp.origin,
            });
            jobs.push(TextJob {
                buffer,
                color: t.color,
                left: tp.left,
                top: tp.top,
                region: rect,
                bounds,
            });
        }
        if jobs.is_empty() {
            return drawn;
        }
        let texture = self.take_texture(
            (tex_w, tex_h),
            TEXT_FORMAT,
            wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::TEXTURE_BINDING,
            loans,
        );
        drawn.laid_out = Some(LaidOut { jobs, texture });
        drawn
    }

    /// Prepares glyphon's draw of `text` (its vertices, the glyphs its
    /// atlas lacks) with a glyph set lent to the frame until the returned
    /// pass is dropped; `None` when the glyphs do not fit the atlas. Called after the frame's other uploads: nothing
    /// between this and the submission waits on other threads, so a set is
    /// never held while its thread runs other work (rayon's), which could
    /// take another frame that waits for a set.
    pub(super) fn prepare_text_pass(
        &self,
        plan: &Plan<'_>,
        text: LaidOut,
        loans: &Loans,
    ) -> Result<Option<TextPass<'_>>, Error> {
        // A layout exists only for a plan with a text engine.
        let Some(engine) = &plan.resolved.text else {
            return Err(Error::Internal(
                "text laid out without a text engine".into(),
            ));
        };
        let target = loans.texture(text.texture);
        let mut glyphs = self.glyphs.take(&self.device, &self.queue);
        let prepared = glyphs.prepare(
            &self.device,
            &self.queue,
            &mut engine.shaper().fonts,
            plan.space,
            &text.jobs,
            // The pooled texture's own size (the pool rounds sizes up): the
            // viewport maps pixels to clip space over the whole target.
            (target.width(), target.height()),
        );
        Ok((prepared == Prepared::Done).then_some(TextPass {
            glyphs,
            texture: text.texture,
        }))
    }

    /// The glyph atlases' figures.
    pub fn glyph_atlas_stats(&self) -> GlyphAtlasStats {
        self.glyphs.stats()
    }

    /// Changes the glyph atlases' byte budget.
    pub fn set_glyph_atlas_budget(&self, bytes: u64) {
        self.glyphs.set_budget(bytes);
    }
}
