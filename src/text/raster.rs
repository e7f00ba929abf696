//! The CPU painter of text layers: the glyphs of the layout
//! ([`super::layout::plan`]) rasterized with swash into a premultiplied
//! raster of the visible part of the box.

use cosmic_text::SwashContent;

use super::{TextEngine, TextRaster};
use crate::blend::{composite, BlendMode};
use crate::color::{premultiply_rgba8, BlendSpace};
use crate::pixels::{store16, PremulImage};
use crate::plan::geometry::BoxGeometry;
use crate::scene::{Layer, TextLayer};

impl TextEngine {
    /// Lays out and rasterizes a text layer: premultiplied colour in the
    /// blend space, covering the part of the box that can be visible on a
    /// `canvas_w` x `canvas_h` canvas. `None` when nothing is visible.
    pub fn rasterize(
        &self,
        layer: &Layer,
        t: &TextLayer,
        geom: &BoxGeometry,
        space: BlendSpace,
        canvas_w: u32,
        canvas_h: u32,
    ) -> Option<TextRaster> {
        let mut shaper = self.shaper();
        let (buffer, plan) =
            super::layout::plan(&mut shaper.fonts, layer, t, geom, canvas_w, canvas_h)?;
        let (rw, rh) = (plan.width as usize, plan.height as usize);
        let (ox, oy) = (plan.left, plan.top);
        let oy_int = oy.floor() as i32;
        let oy_frac = oy - oy.floor();
        let colour = t.color.to_premul(space);
        let mut acc = vec![[0f32; 4]; rw * rh];
        for run in buffer.layout_runs() {
            for glyph in run.glyphs {
                // Positioned exactly as glyphon positions it on the GPU:
                // the whole-pixel part of the vertical offset is added after
                // cosmic-text truncates (see gpu/glyphs.rs).
                let phys = glyph.physical((ox, oy_frac), 1.0);
                let Some(img) = self.glyphs.get(&mut shaper, phys.cache_key) else {
                    continue;
                };
                let p = img.placement;
                let gx = phys.x + p.left;
                let gy = run.line_y.round() as i32 + phys.y + oy_int - p.top;
                for yy in 0..p.height as i64 {
                    let ry = gy as i64 + yy;
                    if ry < 0 || ry >= rh as i64 {
                        continue;
                    }
                    for xx in 0..p.width as i64 {
                        let rx = gx as i64 + xx;
                        if rx < 0 || rx >= rw as i64 {
                            continue;
                        }
                        let i = (yy * p.width as i64 + xx) as usize;
                        let src = match img.content {
                            SwashContent::Mask => {
                                let m = img.data[i] as f32 * (1.0 / 255.0);
                                colour.map(|c| c * m)
                            }
                            SwashContent::Color => {
                                // Colour glyphs (emoji) keep their own colours.
                                let d = &img.data[i * 4..i * 4 + 4];
                                premultiply_rgba8([d[0], d[1], d[2], d[3]], space)
                            }
                            SwashContent::SubpixelMask => {
                                let d = &img.data[i * 4..i * 4 + 4];
                                let m = (d[0] as f32 + d[1] as f32 + d[2] as f32) / (3.0 * 255.0);
                                colour.map(|c| c * m)
                            }
                        };
                        let dst = &mut acc[ry as usize * rw + rx as usize];
                        *dst = composite(BlendMode::SourceOver, src, *dst);
                    }
                }
            }
        }
        drop(shaper);
        let data = acc.into_iter().map(store16).collect();
        Some(TextRaster {
            image: PremulImage {
                width: rw as u32,
                height: rh as u32,
                data,
            },
            origin: plan.origin,
        })
    }
}
