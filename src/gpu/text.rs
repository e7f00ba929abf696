//! Text layers on the GPU: laid out once (the CPU's layout), drawn by
//! glyphon ([`super::glyphs`]) into one premultiplied texture, a region per
//! layer, which the composite pass then samples like an image.

use super::context::GpuContext;
use super::glyphs::{TextJob, TEXT_FORMAT};
use super::loans::{Loans, TextureId};
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

/// The text layers glyphon drew, and the texture they are in.
#[derive(Default)]
pub(super) struct TextDrawn {
    pub regions: Vec<TextRegion>,
    pub texture: Option<TextureId>,
}

impl TextDrawn {
    /// Layer `index`'s region, if glyphon drew it.
    pub fn region(&self, index: usize) -> Option<&TextRegion> {
        self.regions.iter().find(|r| r.layer == index)
    }
}

impl GpuContext {
    /// Lays out every text layer and draws them all with glyphon into one
    /// pooled texture. Layers that do not fit the adapter's texture size are
    /// left to the CPU raster path.
    pub(super) fn draw_text(&self, plan: &Plan<'_>, loans: &mut Loans) -> Result<TextDrawn, Error> {
        let mut drawn = TextDrawn::default();
        let Some(engine) = &plan.resolved.text else {
            return Ok(drawn);
        };
        let (w, h) = (plan.width, plan.height);
        let mut shaper = engine.shaper();
        let mut jobs = Vec::new();
        let (mut tex_w, mut tex_h) = (1u32, 0u32);
        for planned in &plan.layers {
            let Paint::Text { layer, text: t } = &planned.paint else {
                continue;
            };
            let Some((buffer, tp)) =
                crate::text::plan(&mut shaper.fonts, layer, t, &planned.geom, w, h)
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
            let rect = [0, tex_h + pad as u32, tp.width, end as u32];
            tex_h = end as u32;
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
            });
        }
        if jobs.is_empty() {
            return Ok(drawn);
        }
        let texture = self.take_texture(
            (tex_w, tex_h),
            TEXT_FORMAT,
            wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::TEXTURE_BINDING,
            loans,
        );
        drawn.texture = Some(texture);
        self.glyphs.lock().unwrap_or_else(|p| p.into_inner()).draw(
            &self.device,
            &self.queue,
            &mut shaper.fonts,
            &mut engine.gpu_glyphs(),
            plan.space,
            &jobs,
            loans.texture(texture),
        )?;
        Ok(drawn)
    }
}
