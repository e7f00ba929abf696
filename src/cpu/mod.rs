//! The CPU backend: an exact, multi-threaded, band-streaming compositor.
//!
//! The canvas is split into horizontal bands of a few rows. Each band is
//! composited by one thread from bottom layer to top into a small
//! premultiplied `f32` accumulator that stays in cache, then rounded to 8 bits
//! once and written out. No full-canvas float buffer exists at any time: a
//! layer is painted one row span at a time into a scratch row (its paint times
//! coverage times opacity, premultiplied in the blend space) and composited
//! with [`crate::blend::composite_row`].
//!
//! Images are read straight from their decoded 8-bit pixels when they land at
//! natural size on whole pixels (premultiplied as they are read: an exact
//! copy), and otherwise resampled once, before compositing, into a 16-bit
//! premultiplied buffer of the part that is visible.

pub(crate) mod kernels;
pub(crate) mod resample;

use image::RgbaImage;
use rayon::prelude::*;

use crate::blend::{composite_row, BlendMode};
use crate::cancel::Stop;
use crate::color::BlendSpace;
use crate::error::Error;
use crate::pixels::PremulImage;
use crate::plan::geometry::{LinearRamp, RadialRamp};
use crate::plan::{Paint, Plan, PlannedLayer, Sampling, Stops};
use resample::resample_until;

/// Rows per band. 16 rows of a 2048-pixel canvas is a 512 KiB accumulator,
/// which stays in a core's L2 cache while every layer passes over it.
const BAND_ROWS: usize = 16;

/// How the CPU paints a planned layer's colour, row by row: the plan's
/// paint, with images resampled and text rasterized.
enum Painter<'p> {
    Solid([f32; 4]),
    Linear(&'p LinearRamp, &'p Stops),
    Radial(&'p RadialRamp, &'p Stops),
    /// [`Sampling::Copy`]: canvas pixel (x, y) is source pixel (x - ox, y - oy).
    Copy {
        img: &'p RgbaImage,
        ox: i64,
        oy: i64,
    },
    /// [`Sampling::Grid`]: canvas pixel (x, y) is `img` pixel (x - x0, y - y0).
    Grid {
        img: PremulImage,
        x0: u32,
        y0: u32,
    },
    /// [`Sampling::Placed`] and text rasters: `img` spans the box-local
    /// rectangle `placed` and is sampled bilinearly (or nearest).
    Placed {
        img: PremulImage,
        placed: [f64; 4],
        nearest: bool,
    },
}

/// A planned layer and its CPU painter.
struct Prepared<'p> {
    layer: &'p PlannedLayer<'p>,
    painter: Painter<'p>,
}

/// Paints a plan. Returns straight-alpha 8-bit sRGB RGBA, or `stop`'s
/// error once it says stop (checked between layers while preparing, between
/// resampling bands, and between layers of every band of rows).
pub(crate) fn render(plan: &Plan<'_>, stop: &Stop<'_>) -> Result<RgbaImage, Error> {
    let space = plan.space;
    let (w, h) = (plan.width, plan.height);
    let mut prepared: Vec<Prepared<'_>> = Vec::with_capacity(plan.layers.len());
    for layer in &plan.layers {
        stop.check()?;
        prepared.push(Prepared {
            layer,
            painter: painter(layer, plan, stop),
        });
    }
    let background = plan.background;
    let width = w as usize;
    let mut out = vec![0u8; width * h as usize * 4];
    out.par_chunks_mut(BAND_ROWS * width * 4)
        .enumerate()
        .for_each_init(
            || (vec![[0f32; 4]; BAND_ROWS * width], vec![[0f32; 4]; width]),
            |(acc, scratch), (band, out_band)| {
                let y0 = band * BAND_ROWS;
                let rows = out_band.len() / (width * 4);
                let acc = &mut acc[..rows * width];
                acc.fill(background);
                for layer in &prepared {
                    if stop.now() {
                        return;
                    }
                    for r in 0..rows {
                        let y = (y0 + r) as u32;
                        composite_layer_row(
                            layer,
                            y,
                            &mut acc[r * width..(r + 1) * width],
                            scratch,
                            space,
                        );
                    }
                }
                encode_band(acc, out_band, space);
            },
        );
    stop.check()?;
    // The buffer has exactly width * height * 4 bytes.
    Ok(RgbaImage::from_raw(w, h, out).expect("buffer size matches the canvas"))
}

/// The CPU painter of a planned layer: images are resampled here (once per
/// render) and text rasterized.
fn painter<'p>(layer: &'p PlannedLayer<'p>, plan: &Plan<'_>, stop: &Stop<'_>) -> Painter<'p> {
    let space = plan.space;
    match &layer.paint {
        Paint::Solid(c) => Painter::Solid(*c),
        Paint::Linear { ramp, stops } => Painter::Linear(ramp, stops),
        Paint::Radial { ramp, stops } => Painter::Radial(ramp, stops),
        Paint::Image { image, sampling } => match sampling {
            Sampling::Copy { ox, oy } => Painter::Copy {
                img: image,
                ox: *ox,
                oy: *oy,
            },
            Sampling::Grid { bounds, xw, yw } => Painter::Grid {
                img: resample_until(image, space, xw, yw, stop),
                x0: bounds[0],
                y0: bounds[1],
            },
            Sampling::Placed {
                xw,
                yw,
                placed,
                nearest,
            } => Painter::Placed {
                img: resample_until(image, space, xw, yw, stop),
                placed: *placed,
                nearest: *nearest,
            },
        },
        Paint::Text { .. } => match layer.text_raster(plan) {
            Some(r) => Painter::Placed {
                placed: [
                    r.origin.0,
                    r.origin.1,
                    r.image.width as f64,
                    r.image.height as f64,
                ],
                img: r.image,
                nearest: false,
            },
            None => Painter::Solid([0.0; 4]),
        },
        Paint::Nothing => Painter::Solid([0.0; 4]),
    }
}

fn encode_band(acc: &[[f32; 4]], out: &mut [u8], space: BlendSpace) {
    match space {
        BlendSpace::Srgb => kernels::encode_srgb_row(acc, out),
        BlendSpace::Linear => kernels::encode_linear_row(acc, out),
    }
}

fn composite_layer_row(
    layer: &Prepared,
    y: u32,
    acc_row: &mut [[f32; 4]],
    scratch: &mut [[f32; 4]],
    space: BlendSpace,
) {
    let unbounded = layer.layer.blend.is_unbounded();
    let (x0, x1) = match layer.layer.bounds {
        Some([x0, y0, x1, y1]) if y >= y0 && y < y1 => (x0 as usize, x1 as usize),
        _ => {
            if unbounded {
                acc_row.fill([0.0; 4]);
            }
            return;
        }
    };
    if unbounded {
        acc_row[..x0].fill([0.0; 4]);
        acc_row[x1..].fill([0.0; 4]);
    }
    if let Some((i0, i1, src)) = copy_over_run(layer, y, x0, x1) {
        // The fully covered run of a natural-size image drawn source-over:
        // premultiply and composite in one pass, no scratch row.
        composite_span(layer, y, x0, i0, acc_row, scratch, space);
        kernels::over_rgba8(src, &mut acc_row[i0..i1], space);
        composite_span(layer, y, i1, x1, acc_row, scratch, space);
    } else {
        composite_span(layer, y, x0, x1, acc_row, scratch, space);
    }
}

/// For a natural-size image layer drawn source-over at full opacity without
/// rounding or rotation: the columns `i0..i1` of row `y` (within `x0..x1`)
/// that the layer covers fully, and the source bytes that land there.
fn copy_over_run<'a>(
    layer: &'a Prepared<'a>,
    y: u32,
    x0: usize,
    x1: usize,
) -> Option<(usize, usize, &'a [u8])> {
    let Painter::Copy { img, ox, oy } = &layer.painter else {
        return None;
    };
    let g = &layer.layer.geom;
    if layer.layer.blend != BlendMode::SourceOver
        || layer.layer.opacity != 1.0
        || !g.axis_aligned
        || g.radius != 0.0
    {
        return None;
    }
    let [cx0, cy0, cx1, cy1] = g.clip;
    let fy = y as f64;
    if fy < cy0 || fy + 1.0 > cy1 {
        return None;
    }
    let i0 = (cx0.ceil().max(x0 as f64)) as usize;
    let i1 = (cx1.floor().min(x1 as f64)) as usize;
    let sy = y as i64 - oy;
    let (s0, s1) = (i0 as i64 - ox, i1 as i64 - ox);
    // The clip lies inside the placed image, so these hold; checked anyway.
    if i0 >= i1 || sy < 0 || sy >= img.height() as i64 || s0 < 0 || s1 > img.width() as i64 {
        return None;
    }
    let row = (sy as usize) * img.width() as usize * 4;
    Some((
        i0,
        i1,
        &img.as_raw()[row + s0 as usize * 4..row + s1 as usize * 4],
    ))
}

/// Paints columns `x0..x1` of row `y` into the scratch row and composites them.
fn composite_span(
    layer: &Prepared,
    y: u32,
    x0: usize,
    x1: usize,
    acc_row: &mut [[f32; 4]],
    scratch: &mut [[f32; 4]],
    space: BlendSpace,
) {
    if x0 >= x1 {
        return;
    }
    let src = &mut scratch[x0..x1];
    paint_row(layer, y, x0 as u32, src, space);
    composite_row(layer.layer.blend, src, &mut acc_row[x0..x1]);
}

/// Writes the layer's premultiplied colour times coverage times opacity for
/// pixels `x0..x0 + out.len()` of row `y`.
fn paint_row(layer: &Prepared, y: u32, x0: u32, out: &mut [[f32; 4]], space: BlendSpace) {
    paint_colour(layer, y, x0, out, space);
    apply_coverage(layer, y, x0, out);
}

/// Writes the layer's premultiplied colour (before coverage and opacity)
/// for pixels `x0..x0 + out.len()` of row `y`.
fn paint_colour(layer: &Prepared, y: u32, x0: u32, out: &mut [[f32; 4]], space: BlendSpace) {
    let g = &layer.layer.geom;
    let py = y as f64 + 0.5;
    match &layer.painter {
        Painter::Solid(c) => out.fill(*c),
        Painter::Linear(ramp, stops) => {
            for (i, o) in out.iter_mut().enumerate() {
                let px = (x0 as usize + i) as f64 + 0.5;
                *o = gradient_at(stops, ramp.at(px, py));
            }
        }
        Painter::Radial(ramp, stops) => {
            for (i, o) in out.iter_mut().enumerate() {
                let px = (x0 as usize + i) as f64 + 0.5;
                *o = gradient_at(stops, ramp.at(px, py));
            }
        }
        Painter::Copy { img, ox, oy } => {
            let sy = y as i64 - oy;
            if sy < 0 || sy >= img.height() as i64 {
                out.fill([0.0; 4]);
            } else {
                let sw = img.width() as i64;
                let row = &img.as_raw()[(sy * sw * 4) as usize..((sy + 1) * sw * 4) as usize];
                // Columns of `out` that have a source pixel.
                let first = (ox - x0 as i64).clamp(0, out.len() as i64) as usize;
                let last = (ox + sw - x0 as i64).clamp(0, out.len() as i64) as usize;
                out[..first].fill([0.0; 4]);
                out[last..].fill([0.0; 4]);
                let sx0 = (x0 as i64 + first as i64 - ox) as usize;
                let src = &row[sx0 * 4..(sx0 + last - first) * 4];
                kernels::premultiply_rgba8_row(src, &mut out[first..last], space);
            }
        }
        Painter::Grid {
            img,
            x0: bx,
            y0: by,
        } => {
            let ry = y as i64 - *by as i64;
            if ry < 0 || ry >= img.height as i64 {
                out.fill([0.0; 4]);
            } else {
                for (i, o) in out.iter_mut().enumerate() {
                    let rx = (x0 as usize + i) as i64 - *bx as i64;
                    *o = if rx >= 0 && rx < img.width as i64 {
                        img.get(rx as u32, ry as u32)
                    } else {
                        [0.0; 4]
                    };
                }
            }
        }
        Painter::Placed {
            img,
            placed,
            nearest,
        } => {
            let sx = img.width as f64 / placed[2];
            let sy = img.height as f64 / placed[3];
            for (i, o) in out.iter_mut().enumerate() {
                let px = (x0 as usize + i) as f64 + 0.5;
                let (lx, ly) = g.local_point(px, py);
                let u = (lx - placed[0]) * sx;
                let v = (ly - placed[1]) * sy;
                *o = if *nearest {
                    sample_nearest(img, u, v)
                } else {
                    sample_bilinear(img, u, v)
                };
            }
        }
    }
}

/// Multiplies pixels `x0..x0 + out.len()` of row `y` by the layer's exact
/// area coverage times its opacity.
fn apply_coverage(layer: &Prepared, y: u32, x0: u32, out: &mut [[f32; 4]]) {
    let g = &layer.layer.geom;
    let py = y as f64 + 0.5;
    let opacity = layer.layer.opacity;
    if g.axis_aligned && g.radius == 0.0 {
        // Exact area coverage factors into a row factor and a column factor,
        // and interior columns are fully covered.
        let [cx0, cy0, cx1, cy1] = g.clip;
        let row_cov =
            ((cy1.min(y as f64 + 1.0) - cy0.max(y as f64)).clamp(0.0, 1.0)) as f32 * opacity;
        let inner0 = (cx0.ceil().max(x0 as f64) as usize)
            .saturating_sub(x0 as usize)
            .min(out.len());
        let inner1 = ((cx1.floor() - x0 as f64).max(0.0) as usize).clamp(inner0, out.len());
        let col_cov = |i: usize| {
            let px = (x0 as usize + i) as f64;
            (cx1.min(px + 1.0) - cx0.max(px)).clamp(0.0, 1.0) as f32
        };
        for (i, o) in out[..inner0].iter_mut().enumerate() {
            scale(o, col_cov(i) * row_cov);
        }
        if row_cov != 1.0 {
            kernels::scale_row(&mut out[inner0..inner1], row_cov);
        }
        for (i, o) in out[inner1..].iter_mut().enumerate() {
            scale(o, col_cov(inner1 + i) * row_cov);
        }
    } else {
        for (i, o) in out.iter_mut().enumerate() {
            let px = (x0 as usize + i) as f64 + 0.5;
            let cov = g.coverage(px, py) as f32 * opacity;
            scale(o, cov);
        }
    }
}

#[inline]
fn scale(p: &mut [f32; 4], k: f32) {
    for c in p.iter_mut() {
        *c *= k;
    }
}

/// The gradient colour at `t`, clamped to the first and last stops;
/// premultiplied stop colours are interpolated linearly.
#[inline]
fn gradient_at(stops: &[(f64, [f32; 4])], t: f64) -> [f32; 4] {
    // Stops are validated: at least two, offsets non-decreasing.
    let first = &stops[0];
    if t <= first.0 {
        return first.1;
    }
    for pair in stops.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if t < b.0 {
            let f = ((t - a.0) / (b.0 - a.0)) as f32;
            return std::array::from_fn(|c| a.1[c] + (b.1[c] - a.1[c]) * f);
        }
    }
    stops[stops.len() - 1].1
}

fn sample_nearest(img: &PremulImage, u: f64, v: f64) -> [f32; 4] {
    if u < 0.0 || v < 0.0 || u >= img.width as f64 || v >= img.height as f64 {
        return [0.0; 4];
    }
    img.get(u as u32, v as u32)
}

/// Bilinear sample with clamp-to-edge addressing (coverage clips the edges).
fn sample_bilinear(img: &PremulImage, u: f64, v: f64) -> [f32; 4] {
    let (w, h) = (img.width as i64, img.height as i64);
    let fx = u - 0.5;
    let fy = v - 0.5;
    let x0 = fx.floor();
    let y0 = fy.floor();
    let tx = (fx - x0) as f32;
    let ty = (fy - y0) as f32;
    let cx = |x: f64| (x as i64).clamp(0, w - 1) as u32;
    let cy = |y: f64| (y as i64).clamp(0, h - 1) as u32;
    let p00 = img.get(cx(x0), cy(y0));
    let p10 = img.get(cx(x0 + 1.0), cy(y0));
    let p01 = img.get(cx(x0), cy(y0 + 1.0));
    let p11 = img.get(cx(x0 + 1.0), cy(y0 + 1.0));
    std::array::from_fn(|c| {
        let top = p00[c] + (p10[c] - p00[c]) * tx;
        let bot = p01[c] + (p11[c] - p01[c]) * tx;
        top + (bot - top) * ty
    })
}
