//! Per-layer preparation: a layer of the plan becomes its typed
//! [`LayerParams`], the uploads its paint reads (stops, textures, resampled
//! or CPU-rasterized images, its text region) and its workgroup count.
//! Nothing is bound or recorded here.

use image::RgbaImage;

use super::context::GpuContext;
use super::loans::{BufferId, Loans, TextureId};
use super::params::LayerParams;
use super::resample::Resample;
use super::text::TextDrawn;
use crate::blend::BlendMode;
use crate::cancel::Stop;
use crate::error::Error;
use crate::plan::{Paint, Plan, PlannedLayer, Sampling};

/// One layer, ready to bind: its uniforms, what its paint reads, how it
/// meets the canvas, the pixels it may change and its workgroups there
/// (the compute path).
pub(super) struct Prepared {
    pub params: BufferId,
    pub mode: BlendMode,
    /// `[x0, y0, x1, y1]`: its dispatch (compute) or scissor (fragment).
    pub region: [u32; 4],
    pub groups: (u32, u32),
    pub sources: Sources,
}

/// What a layer's paint reads besides its uniforms; `None` binds a
/// stand-in.
#[derive(Default)]
pub(super) struct Sources {
    /// Gradient stops.
    pub stops: Option<BufferId>,
    /// The image copied texel for texel.
    pub texture: Option<TextureId>,
    /// The text texture.
    pub text: Option<TextureId>,
    /// The resampled (or CPU-rasterized) premultiplied image.
    pub inter: Option<BufferId>,
    /// The passes that fill `inter`, run before the layer.
    pub resample: Option<Resample>,
}

/// Workgroups of 16 x 16 over a `w` x `h` region.
fn groups(w: u32, h: u32) -> (u32, u32) {
    (w.div_ceil(16), h.div_ceil(16))
}

impl GpuContext {
    /// The background: a full-canvas solid drawn over the cleared canvas.
    pub(super) fn prepare_background(&self, plan: &Plan<'_>, loans: &mut Loans) -> Prepared {
        let (w, h) = (plan.width, plan.height);
        let p = LayerParams::background([w, h], plan.background, plan.space);
        Prepared {
            params: self.uniform(&p, loans),
            mode: BlendMode::SourceOver,
            region: [0, 0, w, h],
            groups: groups(w, h),
            sources: Sources::default(),
        }
    }

    /// Uploads what one layer needs; `None` when it changes nothing (it
    /// touches no pixel and is not an erasing operator).
    pub(super) fn prepare_layer(
        &self,
        plan: &Plan<'_>,
        layer: &PlannedLayer<'_>,
        text: &TextDrawn,
        loans: &mut Loans,
        stop: &Stop<'_>,
    ) -> Result<Option<Prepared>, Error> {
        let (w, h) = (plan.width, plan.height);
        let Some(region @ [x0, y0, x1, y1]) = layer.region(w, h) else {
            return Ok(None);
        };
        let shape = LayerParams::shape(
            [w, h],
            region,
            layer.bounds,
            layer.blend,
            layer.opacity,
            &layer.geom,
            plan.space,
        );
        let mut sources = Sources::default();
        let p = match &layer.paint {
            Paint::Solid(color) => shape.solid(*color),
            Paint::Linear { ramp, stops } => {
                sources.stops = Some(self.stops(stops, loans));
                shape.linear(ramp, stops.len())
            }
            Paint::Radial { ramp, stops } => {
                sources.stops = Some(self.stops(stops, loans));
                shape.radial(ramp, stops.len())
            }
            Paint::Image { image, sampling } => {
                let image = ImageLayer {
                    index: layer.index,
                    image,
                    sampling,
                };
                self.prepare_image(plan, &image, shape, &mut sources, loans)?
            }
            Paint::Text { .. } => {
                self.prepare_text(plan, layer, text, shape, &mut sources, loans, stop)?
            }
            Paint::Nothing => shape,
        };
        Ok(Some(Prepared {
            params: self.uniform(&p, loans),
            mode: layer.blend,
            region,
            groups: groups(x1 - x0, y1 - y0),
            sources,
        }))
    }

    /// A text layer: its region of the text texture glyphon drew, or, when
    /// it did not fit there, the CPU's raster uploaded as a placed image.
    #[allow(clippy::too_many_arguments)]
    fn prepare_text(
        &self,
        plan: &Plan<'_>,
        layer: &PlannedLayer<'_>,
        text: &TextDrawn,
        shape: LayerParams,
        sources: &mut Sources,
        loans: &mut Loans,
        stop: &Stop<'_>,
    ) -> Result<LayerParams, Error> {
        if let Some(region) = text.region(layer.index) {
            sources.text = text.laid_out.as_ref().map(|l| l.texture);
            return Ok(shape.text(region.rect[1], region.size(), region.origin));
        }
        let Some(r) = layer.text_raster(plan, stop) else {
            return Ok(shape);
        };
        sources.inter = Some(self.upload_premul16(layer.index, &r.image, loans)?);
        let (w, h) = (r.image.width, r.image.height);
        let placed = [r.origin.0 as f32, r.origin.1 as f32, w as f32, h as f32];
        Ok(shape.placed([w, h], placed, false))
    }

    /// Uploads an image layer's texture, or its resampling inputs.
    fn prepare_image(
        &self,
        plan: &Plan<'_>,
        layer: &ImageLayer<'_>,
        shape: LayerParams,
        sources: &mut Sources,
        loans: &mut Loans,
    ) -> Result<LayerParams, Error> {
        let img = layer.image;
        let (sw, sh) = img.dimensions();
        match layer.sampling {
            Sampling::Copy { ox, oy } => {
                // An image over the texture size limit: only the part on the
                // canvas, which fits one.
                let [cx, cy, cw, ch] = if self.fits_texture(sw, sh) {
                    [0, 0, sw, sh]
                } else {
                    visible_crop(*ox, *oy, sw, sh, plan.width, plan.height)
                };
                sources.texture = Some(if [cw, ch] == [sw, sh] {
                    self.upload_texture(img, loans)
                } else {
                    let crop = image::imageops::crop_imm(img, cx, cy, cw, ch);
                    self.upload_texture(&crop.to_image(), loans)
                });
                Ok(shape.copy([ox + cx as i64, oy + cy as i64], [cw, ch]))
            }
            Sampling::Grid { bounds, xw, yw } => {
                let (inter, resample) = self.resampled(plan, layer.index, img, (xw, yw), loans)?;
                sources.inter = Some(inter);
                sources.resample = resample;
                Ok(shape.grid(*bounds))
            }
            Sampling::Placed {
                xw,
                yw,
                placed,
                nearest,
            } => {
                let (inter, resample) = self.resampled(plan, layer.index, img, (xw, yw), loans)?;
                sources.inter = Some(inter);
                sources.resample = resample;
                let size = [xw.len() as u32, yw.len() as u32];
                Ok(shape.placed(size, placed.map(|v| v as f32), *nearest))
            }
        }
    }
}

/// An image layer's paint, with the layer's index (for errors).
struct ImageLayer<'a> {
    index: usize,
    image: &'a RgbaImage,
    sampling: &'a Sampling,
}

/// The part `[x, y, w, h]` of an `sw` x `sh` image placed at `(ox, oy)` that
/// lies on a `cw` x `ch` canvas; one pixel (off the canvas) when none does,
/// so the layer still has an image to sample.
fn visible_crop(ox: i64, oy: i64, sw: u32, sh: u32, cw: u32, ch: u32) -> [u32; 4] {
    let axis = |o: i64, s: u32, c: u32| -> (u32, u32) {
        let lo = (-o).clamp(0, s as i64 - 1) as u32;
        let hi = (c as i64 - o).clamp(lo as i64 + 1, s as i64) as u32;
        (lo, hi - lo)
    };
    let (x, w) = axis(ox, sw, cw);
    let (y, h) = axis(oy, sh, ch);
    [x, y, w, h]
}

#[cfg(test)]
mod tests {
    use super::visible_crop;

    #[test]
    fn visible_crop_keeps_the_part_on_the_canvas_or_one_pixel() {
        // 100 x 10 at x = -30 on a 50 x 8 canvas: columns 30..80, rows 0..8.
        assert_eq!(visible_crop(-30, 0, 100, 10, 50, 8), [30, 0, 50, 8]);
        // Entirely off to the right: one pixel.
        assert_eq!(visible_crop(60, 0, 100, 10, 50, 8), [0, 0, 1, 8]);
    }
}
