//! How the CPU paints one row span of a layer: its colour (solid,
//! gradient, image or text, the last two read from the window of their
//! resample or raster made for the band), times its exact coverage and
//! opacity.

use std::ops::Range;

use super::{kernels, Painter, Prepared};
use crate::color::BlendSpace;
use crate::plan::geometry::BoxGeometry;

/// A window of a layer's resample or text raster: its pixels `c0..c0 + w`
/// of rows `r0..`, row-major, as floats.
#[derive(Clone, Copy)]
pub(super) struct View<'a> {
    data: &'a [[f32; 4]],
    c0: usize,
    r0: usize,
    w: usize,
}

impl<'a> View<'a> {
    pub fn new(data: &'a [[f32; 4]], c0: usize, r0: usize, w: usize) -> View<'a> {
        View { data, c0, r0, w }
    }

    /// Up to `n` pixels of row `y` from column `x` (stopping at the
    /// resample's right edge, the window's), when the window holds them;
    /// the same values [`View::get`] gives one at a time.
    #[inline]
    pub(super) fn row(&self, x: u32, y: u32, n: usize) -> Option<&'a [[f32; 4]]> {
        let (dx, dy) = (
            (x as usize).checked_sub(self.c0)?,
            (y as usize).checked_sub(self.r0)?,
        );
        if dx >= self.w {
            return None;
        }
        let start = dy.checked_mul(self.w)? + dx;
        let end = start + n.min(self.w - dx);
        self.data.get(start..end)
    }

    /// Pixel `(x, y)` of the whole resample or raster. The window was made
    /// to cover every pixel the band reads; should one not be, it reads as
    /// transparent rather than panicking.
    #[inline]
    fn get(&self, x: u32, y: u32) -> [f32; 4] {
        let (dx, dy) = (
            (x as usize).wrapping_sub(self.c0),
            (y as usize).wrapping_sub(self.r0),
        );
        debug_assert!(
            dx < self.w && dy * self.w < self.data.len(),
            "({x}, {y}) outside the window"
        );
        if dx >= self.w {
            return [0.0; 4];
        }
        self.data
            .get(dy.wrapping_mul(self.w).wrapping_add(dx))
            .copied()
            .unwrap_or([0.0; 4])
    }
}

/// Writes the layer's premultiplied colour times coverage times opacity for
/// pixels `x0..x0 + out.len()` of row `y`; `view` is the window of its
/// resample or raster (for the painters that have one).
pub(super) fn paint_row(
    layer: &Prepared,
    y: u32,
    x0: u32,
    out: &mut [[f32; 4]],
    space: BlendSpace,
    view: Option<View>,
) {
    match view {
        Some(view) => paint_colour(layer, y, x0, out, space, &view),
        None => paint_colour(layer, y, x0, out, space, &View::new(&[], 0, 0, 0)),
    }
    apply_coverage(layer, y, x0, out);
}

/// Writes the layer's premultiplied colour (before coverage and opacity)
/// for pixels `x0..x0 + out.len()` of row `y`.
fn paint_colour(
    layer: &Prepared,
    y: u32,
    x0: u32,
    out: &mut [[f32; 4]],
    space: BlendSpace,
    view: &View,
) {
    let g = &layer.layer.geom;
    let py = y as f64 + 0.5;
    match &layer.painter {
        Painter::Solid(c) => out.fill(*c),
        // A ramp that does not change along the row (a vertical gradient,
        // unrotated): every pixel's `t` is the same sum (`dx * px` is a
        // zero), so one colour fills the row.
        Painter::Linear(ramp, stops) if ramp.dx == 0.0 => {
            let snap = stop_snap(ramp.dy.abs());
            out.fill(gradient_at(stops, ramp.at(x0 as f64 + 0.5, py), snap));
        }
        Painter::Linear(ramp, stops) => {
            let snap = stop_snap(ramp.dx.hypot(ramp.dy));
            for (i, o) in out.iter_mut().enumerate() {
                let px = (x0 as usize + i) as f64 + 0.5;
                *o = gradient_at(stops, ramp.at(px, py), snap);
            }
        }
        Painter::Radial(ramp, stops) => {
            let snap = stop_snap(1.0 / ramp.radius);
            for (i, o) in out.iter_mut().enumerate() {
                let px = (x0 as usize + i) as f64 + 0.5;
                *o = gradient_at(stops, ramp.at(px, py), snap);
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
            rows,
            x0: bx,
            y0: by,
        } => {
            let (w, h) = rows.size();
            let ry = y as i64 - *by as i64;
            if ry < 0 || ry >= h as i64 {
                out.fill([0.0; 4]);
            } else if let Some(row) =
                view.row((x0 as i64 - *bx as i64).max(0) as u32, ry as u32, out.len())
            {
                // Columns of `out` before and after the resample.
                let first = (*bx as i64 - x0 as i64).clamp(0, out.len() as i64) as usize;
                let n = row.len().min(out.len() - first);
                out[..first].fill([0.0; 4]);
                out[first..first + n].copy_from_slice(&row[..n]);
                out[first + n..].fill([0.0; 4]);
            } else {
                for (i, o) in out.iter_mut().enumerate() {
                    let rx = (x0 as usize + i) as i64 - *bx as i64;
                    *o = if rx >= 0 && rx < w as i64 {
                        view.get(rx as u32, ry as u32)
                    } else {
                        [0.0; 4]
                    };
                }
            }
        }
        Painter::Placed {
            src,
            placed,
            nearest,
        } => {
            let size = src.size();
            if !*nearest {
                if let Some(offset) = whole_pixel_offset(g, placed, size) {
                    return copy_translated(view, size, offset, y, x0, out);
                }
            }
            let nudge = nearest_nudge(placed, size);
            for (i, o) in out.iter_mut().enumerate() {
                let px = (x0 as usize + i) as f64 + 0.5;
                let (u, v) = source_point(g, placed, size, px, py);
                *o = if *nearest {
                    sample_nearest(view, size, (u, v), nudge)
                } else {
                    sample_bilinear(view, size, u, v)
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

/// How near a stop's offset `t` counts as on it: from a stop's offset on,
/// the later stops win (a hard edge where two stops share an offset), and
/// where `t` is exactly an offset (a diagonal's pixel centres on a 45°
/// split) float noise must not pick the side, nor differ between the CPU
/// (f64) and the GPU (f32, about 1e-7 for `t` near 0..1). At most
/// [`STOP_SNAP_PX`] of a pixel: on a ramp longer than 1000 pixels the snap
/// is that much less (1e-5 of a 10^6-pixel ramp moved a hard edge by 10
/// pixels). Same constants in `shaders/layer.wgsl`.
pub(crate) const STOP_SNAP: f64 = 1e-5;

/// The most a stop's snap may move it, in pixels.
pub(crate) const STOP_SNAP_PX: f64 = 1e-2;

/// The snap of a ramp whose `t` changes by `per_px` a pixel.
fn stop_snap(per_px: f64) -> f64 {
    STOP_SNAP.min(STOP_SNAP_PX * per_px)
}

/// The gradient colour at `t`, clamped to the first and last stops;
/// premultiplied stop colours are interpolated linearly.
#[inline]
fn gradient_at(stops: &[(f64, [f32; 4])], t: f64, snap: f64) -> [f32; 4] {
    // Stops are validated: at least two, offsets non-decreasing.
    let first = &stops[0];
    if t < first.0 - snap {
        return first.1;
    }
    for pair in stops.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if t < b.0 - snap {
            // Within STOP_SNAP past `a`, `t` may be just before it.
            let f = ((t - a.0) / (b.0 - a.0)).max(0.0) as f32;
            return std::array::from_fn(|c| a.1[c] + (b.1[c] - a.1[c]) * f);
        }
    }
    stops[stops.len() - 1].1
}

/// Where the canvas point `(px, py)` falls in a `size` source spanning the
/// box-local rectangle `placed`, in source pixels.
#[inline]
fn source_point(
    g: &BoxGeometry,
    placed: &[f64; 4],
    size: (usize, usize),
    px: f64,
    py: f64,
) -> (f64, f64) {
    let sx = size.0 as f64 / placed[2];
    let sy = size.1 as f64 / placed[3];
    let (lx, ly) = g.local_point(px, py);
    ((lx - placed[0]) * sx, (ly - placed[1]) * sy)
}

/// The source columns and rows that [`sample_bilinear`] and
/// [`sample_nearest`] read for canvas pixels `xs` x `ys` of a `size` source
/// spanning the box-local rectangle `placed`. Positions are affine in the
/// pixel, so their extremes are at the corner pixels; a margin far above
/// the rounding of `local_point` (a billionth of the coordinates' size)
/// keeps every pixel's own position inside, and widens the window by a
/// pixel only when an extreme lies that close to a pixel boundary.
pub(super) fn sampled_window(
    g: &BoxGeometry,
    placed: &[f64; 4],
    size: (usize, usize),
    xs: Range<u32>,
    ys: Range<u32>,
) -> (Range<usize>, Range<usize>) {
    let (mut u0, mut u1, mut v0, mut v1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    let mut nan = false;
    let (x0, x1) = (xs.start as f64 + 0.5, xs.end as f64 - 0.5);
    let (y0, y1) = (ys.start as f64 + 0.5, ys.end as f64 - 0.5);
    for (px, py) in [(x0, y0), (x1, y0), (x0, y1), (x1, y1)] {
        let (u, v) = source_point(g, placed, size, px, py);
        nan |= u.is_nan() || v.is_nan();
        (u0, u1, v0, v1) = (u0.min(u), u1.max(u), v0.min(v), v1.max(v));
    }
    let (cx, cy) = g.centre();
    let magnitude = [cx, cy, placed[0], placed[1], x1, y1]
        .iter()
        .fold(1.0f64, |m, c| m.max(c.abs()));
    let slack = |k: f64| 1e-9 * magnitude * (1.0 + k.abs());
    let (eu, ev) = (
        slack(size.0 as f64 / placed[2]),
        slack(size.1 as f64 / placed[3]),
    );
    // Bilinear reads floor(t - 0.5) and the next pixel, nearest floor(t),
    // clamped to the source; a NaN position reads pixel 0.
    let range = |lo: f64, hi: f64, e: f64, n: usize| {
        let last = n.saturating_sub(1) as f64;
        let a = if nan || e.is_nan() {
            0
        } else {
            ((lo - 0.5 - e).floor().clamp(0.0, last)) as usize
        };
        let b = ((hi - 0.5 + e).floor() + 1.0).clamp(0.0, last) as usize;
        let b = if e.is_nan() { n.saturating_sub(1) } else { b };
        a..b.max(a) + 1
    };
    (range(u0, u1, eu, size.0), range(v0, v1, ev, size.1))
}

/// How far past a nearest sample's position, in source pixels along each
/// axis, the pixel it reads is taken: 1/93 of a canvas pixel (at most a
/// quarter of a source pixel). A pixel centre that lies on the edge
/// between two source pixels (a quarter turn's diagonal, an image halved)
/// reads the same pixel on both backends, though the CPU computes
/// positions in `f64` and the GPU in `f32`, each a hair to either side:
/// only positions within a rounding error of 1/93 before an edge can
/// still differ. The GPU's `sample_placed` (shaders/layer.wgsl) computes
/// the same.
pub(super) fn nearest_nudge(placed: &[f64; 4], size: (usize, usize)) -> (f64, f64) {
    let nudge = |n: usize, extent: f64| (n as f64 / extent / 93.0).min(0.25);
    (nudge(size.0, placed[2]), nudge(size.1, placed[3]))
}

/// Nearest sample of a `size` source at `(u, v)`, read from `view`: the
/// pixel at `(u, v)` moved on by `nudge` ([`nearest_nudge`]), within the
/// source (a position outside it is transparent).
fn sample_nearest(
    view: &View,
    size: (usize, usize),
    (u, v): (f64, f64),
    (nu, nv): (f64, f64),
) -> [f32; 4] {
    if u < 0.0 || v < 0.0 || u >= size.0 as f64 || v >= size.1 as f64 {
        return [0.0; 4];
    }
    let x = ((u + nu) as usize).min(size.0 - 1);
    let y = ((v + nv) as usize).min(size.1 - 1);
    view.get(x as u32, y as u32)
}

/// Where a `size` source spanning the box-local rectangle `placed` lies
/// when it is drawn at its own size, unrotated, at whole canvas pixels
/// (text at integer coordinates): the canvas position of its first texel.
/// There every bilinear sample lands on a texel's centre exactly (the
/// sample points' coordinates are whole numbers plus a half, exact in
/// `f64` below 2^40).
fn whole_pixel_offset(
    g: &BoxGeometry,
    placed: &[f64; 4],
    size: (usize, usize),
) -> Option<(i64, i64)> {
    const EXACT: f64 = (1u64 << 40) as f64;
    let whole = |v: f64| v.fract() == 0.0 && v.abs() < EXACT;
    let fits = g.axis_aligned
        && size.0 > 0
        && size.1 > 0
        && placed[2] == size.0 as f64
        && placed[3] == size.1 as f64
        && whole(placed[0])
        && whole(placed[1]);
    fits.then(|| (placed[0] as i64, placed[1] as i64))
}

/// [`sample_bilinear`] of a `size` source at a whole-pixel `offset` (see
/// [`whole_pixel_offset`]) for pixels `x0..x0 + out.len()` of row `y`:
/// each sample is the texel under the pixel, clamped to the edge as there,
/// copied a row of the window at a time.
fn copy_translated(
    view: &View,
    size: (usize, usize),
    (ox, oy): (i64, i64),
    y: u32,
    x0: u32,
    out: &mut [[f32; 4]],
) {
    let (w, h) = (size.0 as i64, size.1 as i64);
    let sy = (y as i64 - oy).clamp(0, h - 1) as u32;
    // The source column under `out[0]`, and the columns of `out` whose
    // source column is inside the source.
    let sx = x0 as i64 - ox;
    let n = out.len() as i64;
    let first = (-sx).clamp(0, n) as usize;
    let last = (w - sx).clamp(first as i64, n) as usize;
    if first > 0 {
        out[..first].fill(view.get(0, sy));
    }
    if last < out.len() {
        out[last..].fill(view.get((w - 1) as u32, sy));
    }
    let inside = &mut out[first..last];
    let sx_first = (sx + first as i64) as u32;
    match view.row(sx_first, sy, inside.len()) {
        Some(row) if row.len() == inside.len() => inside.copy_from_slice(row),
        _ => {
            for (i, o) in inside.iter_mut().enumerate() {
                *o = view.get(sx_first + i as u32, sy);
            }
        }
    }
}

/// Bilinear sample of a `size` source with clamp-to-edge addressing
/// (coverage clips the edges), read from `view`.
fn sample_bilinear(view: &View, size: (usize, usize), u: f64, v: f64) -> [f32; 4] {
    let (w, h) = (size.0 as i64, size.1 as i64);
    let fx = u - 0.5;
    let fy = v - 0.5;
    let x0 = fx.floor();
    let y0 = fy.floor();
    let cx = |x: f64| (x as i64).clamp(0, w - 1) as u32;
    let cy = |y: f64| (y as i64).clamp(0, h - 1) as u32;
    let p00 = view.get(cx(x0), cy(y0));
    if fx == x0 && fy == y0 {
        // On a texel's centre (text drawn at its raster's size on whole
        // pixels): both weights are 0, and `p + (q - p) 0` is `p`.
        return p00;
    }
    let tx = (fx - x0) as f32;
    let ty = (fy - y0) as f32;
    let p10 = view.get(cx(x0 + 1.0), cy(y0));
    let p01 = view.get(cx(x0), cy(y0 + 1.0));
    let p11 = view.get(cx(x0 + 1.0), cy(y0 + 1.0));
    std::array::from_fn(|c| {
        let top = p00[c] + (p10[c] - p00[c]) * tx;
        let bot = p01[c] + (p11[c] - p01[c]) * tx;
        top + (bot - top) * ty
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_at_a_whole_pixel_offset_is_copied_with_the_bilinear_samples_values() {
        let (w, h) = (7usize, 5usize);
        let data: Vec<[f32; 4]> = (0..w * h)
            .map(|i| [i as f32, (i * 3 % 11) as f32, 0.5, 1.0])
            .collect();
        let view = View::new(&data, 0, 0, w);
        // Offsets that put the source inside the span, across either end,
        // and wholly outside it (clamped rows and columns).
        for (ox, oy) in [(3i64, 2i64), (-4, -1), (10, 0), (-20, 9), (25, 3)] {
            for y in 0..12u32 {
                for x0 in [0u32, 2, 9] {
                    let mut fast = vec![[9.0f32; 4]; 17];
                    copy_translated(&view, (w, h), (ox, oy), y, x0, &mut fast);
                    let slow: Vec<[f32; 4]> = (0..17)
                        .map(|i| {
                            let (px, py) = ((x0 + i) as f64 + 0.5, y as f64 + 0.5);
                            sample_bilinear(&view, (w, h), px - ox as f64, py - oy as f64)
                        })
                        .collect();
                    assert_eq!(fast, slow, "offset ({ox}, {oy}), row {y}, from {x0}");
                }
            }
        }
    }

    #[test]
    fn only_an_unscaled_source_at_whole_pixels_counts_as_a_translation() {
        let boxed = |degrees: f64| {
            let (sin, cos) = degrees.to_radians().sin_cos();
            BoxGeometry {
                x0: 10.0,
                y0: 20.0,
                x1: 17.0,
                y1: 25.0,
                radius: 0.0,
                cos,
                sin,
                axis_aligned: degrees == 0.0,
                clip: [10.0, 20.0, 17.0, 25.0],
            }
        };
        let g = boxed(0.0);
        assert_eq!(
            whole_pixel_offset(&g, &[10.0, 20.0, 7.0, 5.0], (7, 5)),
            Some((10, 20))
        );
        assert_eq!(
            whole_pixel_offset(&g, &[10.5, 20.0, 7.0, 5.0], (7, 5)),
            None
        );
        assert_eq!(
            whole_pixel_offset(&g, &[10.0, 20.0, 7.5, 5.0], (7, 5)),
            None
        );
        assert_eq!(
            whole_pixel_offset(&g, &[10.0, 20.0, 14.0, 10.0], (7, 5)),
            None
        );
        let turned = boxed(30.0);
        assert_eq!(
            whole_pixel_offset(&turned, &[10.0, 20.0, 7.0, 5.0], (7, 5)),
            None
        );
    }
}
