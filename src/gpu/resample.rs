//! Resampling setup: the weight tables and per-band uniforms of an image
//! layer's resampling passes (shaders/resample.wgsl), in the pass order and
//! bands of the plan's [`PassPlan`]. Nothing is recorded here; the passes
//! are bound and recorded with the layer's composite pass.

use image::RgbaImage;

use super::context::GpuContext;
use super::loans::{BufferId, Loans, TextureId};
use super::params::{space_code, ResampleParams};
use super::placed::GpuUse;
use super::shaders::ResampleEntry;
use crate::error::Error;
use crate::placed_cache::PlacedKey;
use crate::plan::weights::{AxisWeights, Band, PassOrder, PassPlan};
use crate::plan::Plan;

/// A resampled image: its loans and its passes.
pub(super) struct Resample {
    /// The source texture.
    pub texture: TextureId,
    /// Two passes per band, in recording order.
    pub passes: Vec<ResamplePass>,
    /// The intermediate, sized for the largest band (reused by every band).
    pub mid: BufferId,
    /// The premultiplied result.
    pub out: BufferId,
}

/// One dispatch of a resample.
pub(super) struct ResamplePass {
    pub entry: ResampleEntry,
    /// This pass's `ResampleParams`.
    pub params: BufferId,
    /// The weight table of the axis it filters.
    pub starts: BufferId,
    pub weights: BufferId,
    pub groups: (u32, u32),
}

/// One axis's weight table, uploaded.
#[derive(Clone, Copy)]
struct AxisTable {
    starts: BufferId,
    weights: BufferId,
    taps: u32,
}

impl GpuContext {
    /// Layer `index`'s image resampled with `xw` x `yw` in `plan`'s blend
    /// space: the premultiplied `f32` result, and the passes that fill it.
    /// A resample the device's cache holds is bound with no upload and no
    /// passes ([`super::placed`]). An image over the adapter's texture size
    /// limit is resampled on the CPU (the same plan and weights) and its
    /// result uploaded, with no passes.
    pub(super) fn resampled(
        &self,
        plan: &Plan<'_>,
        index: usize,
        img: &RgbaImage,
        (xw, yw): (&AxisWeights, &AxisWeights),
        loans: &mut Loans,
    ) -> Result<(BufferId, Option<Resample>), Error> {
        let space = plan.space;
        let (sw, sh) = img.dimensions();
        if !self.fits_texture(sw, sh) {
            let r = crate::cpu::resample::resample(img, space, xw, yw);
            return Ok((self.upload_premul16(index, &r, loans)?, None));
        }
        let fill = match self.placed_use(plan, index, img, (xw, yw), space, loans) {
            GpuUse::Hit(kept) => return Ok((kept, None)),
            GpuUse::Fill(key) => Some(key),
            GpuUse::Pass => None,
        };
        let texture = self.upload_texture(img, loans);
        let r = self.resample(texture, (sw, sh), (xw, yw), space_code(space), fill, loans)?;
        Ok((r.out, Some(r)))
    }

    /// Uploads the weight tables and records nothing: returns the passes
    /// (two per band of [`PassPlan`]) that resample `texture` into an
    /// `xw.len()` x `yw.len()` premultiplied buffer: the pool's scratch, or
    /// with `fill`, a buffer of its own that the cache keeps.
    fn resample(
        &self,
        texture: TextureId,
        (sw, sh): (u32, u32),
        (xw, yw): (&AxisWeights, &AxisWeights),
        space: u32,
        fill: Option<PlacedKey>,
        loans: &mut Loans,
    ) -> Result<Resample, Error> {
        let (dw, dh) = (xw.len() as u32, yw.len() as u32);
        let plan = PassPlan::new(xw, yw, sw, sh, u32::MAX);
        let mid_pixels = plan
            .bands
            .iter()
            .map(|b| plan.band_pixels(b, dw))
            .max()
            .unwrap_or(0)
            .max(1);
        let out_bytes = dw as u64 * dh as u64 * 16;
        for bytes in [mid_pixels * 16, out_bytes] {
            if bytes > self.max_storage() {
                return Err(Error::GpuLimit(format!(
                    "resampling a {sw}x{sh} image to {dw}x{dh} needs a buffer of {bytes} bytes, over this adapter's storage binding limit of {} bytes; use the CPU backend",
                    self.max_storage()
                )));
            }
        }
        let x = self.axis_table(xw, loans);
        let y = self.axis_table(yw, loans);
        let mut passes = Vec::with_capacity(plan.bands.len() * 2);
        for band in &plan.bands {
            self.band_passes(&plan, band, (x, y), (dw, space), &mut passes, loans);
        }
        Ok(Resample {
            texture,
            passes,
            mid: self.scratch(mid_pixels * 16, loans),
            out: match fill {
                Some(key) => self.filling(key, loans),
                None => self.scratch(out_bytes, loans),
            },
        })
    }

    fn axis_table(&self, w: &AxisWeights, loans: &mut Loans) -> AxisTable {
        AxisTable {
            starts: self.storage(bytemuck::cast_slice(&w.start), loans),
            weights: self.storage(bytemuck::cast_slice(&w.weights), loans),
            taps: w.taps as u32,
        }
    }

    /// The two passes of one band: their uniforms, uploaded, and their
    /// workgroup counts.
    fn band_passes(
        &self,
        plan: &PassPlan,
        band: &Band,
        (x, y): (AxisTable, AxisTable),
        (dw, space): (u32, u32),
        passes: &mut Vec<ResamplePass>,
        loans: &mut Loans,
    ) {
        let (col_lo, cols) = (plan.cols.0, plan.cols.1 - plan.cols.0);
        let band_rows = band.k1 - band.k0;
        let base = ResampleParams {
            dst_w: dw,
            rows: band.hi - band.lo,
            taps: 0,
            row_lo: band.lo,
            space,
            band_rows,
            k0: band.k0,
            col_lo,
            cols,
            _pad0: 0,
            _pad1: 0,
            _pad2: 0,
        };
        let steps = match plan.order {
            PassOrder::HorizontalFirst => [
                (ResampleEntry::Horizontal, x, (dw, base.rows.max(1))),
                (ResampleEntry::Vertical, y, (dw, band_rows)),
            ],
            PassOrder::VerticalFirst => [
                (ResampleEntry::VerticalTex, y, (cols.max(1), band_rows)),
                (ResampleEntry::HorizontalBuf, x, (dw, band_rows)),
            ],
        };
        for (entry, table, (gx, gy)) in steps {
            let params = ResampleParams {
                taps: table.taps,
                ..base
            };
            passes.push(ResamplePass {
                entry,
                params: self.uniform(&params, loans),
                starts: table.starts,
                weights: table.weights,
                groups: (gx.div_ceil(16), gy.div_ceil(16)),
            });
        }
    }
}
