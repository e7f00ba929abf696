//! How an image layer is drawn, decided once for both backends.

use crate::plan::geometry::{place_image, BoxGeometry};
use crate::plan::weights::{span, AxisWeights};
use crate::scene::{Filter, ImageLayer, Layer};
use crate::shrink::SourceImage;

/// How an image's pixels reach the canvas. The same three cases are the
/// three image painters of each backend (`Copy`, `Grid`, `Placed`), under
/// these names everywhere.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Sampling {
    /// Natural size on whole pixels, not rotated: canvas pixel (x, y) is
    /// source pixel (x - ox, y - oy), copied exactly.
    Copy {
        /// Canvas x of the image's left edge.
        ox: i64,
        /// Canvas y of the image's top edge.
        oy: i64,
    },
    /// Not rotated: resampled once onto the canvas grid, over `bounds`
    /// (`[x0, y0, x1, y1)`, the visible pixels) with these weights; canvas
    /// pixel (x, y) is pixel (x - x0, y - y0) of the result.
    Grid {
        /// Canvas pixels covered.
        bounds: [u32; 4],
        /// Horizontal weights (one entry per column of `bounds`).
        xw: AxisWeights,
        /// Vertical weights (one entry per row of `bounds`).
        yw: AxisWeights,
    },
    /// Rotated: resampled to `xw.len()` x `yw.len()` pixels spanning the
    /// placed rectangle, then sampled (bilinear, or nearest) at each
    /// pixel's box-local position.
    Placed {
        /// Horizontal weights.
        xw: AxisWeights,
        /// Vertical weights.
        yw: AxisWeights,
        /// The placed rectangle `[x, y, w, h]`, box-local.
        placed: [f64; 4],
        /// Nearest-neighbour sampling of the placed raster (the layer's
        /// filter is `nearest`); otherwise bilinear.
        nearest: bool,
    },
}

/// Plans an image layer: where its image lands in the box (fit, position,
/// by the image's natural size), the layer's area clip narrowed to it, and
/// how the pixels get there on a `canvas_w` x `canvas_h` canvas (`None`:
/// nothing of it is visible). Weights index the decoded raster: natural
/// positions divided by the shrink-on-load factor.
pub(crate) fn plan_image(
    layer: &Layer,
    il: &ImageLayer,
    source: &SourceImage,
    (canvas_w, canvas_h): (u32, u32),
) -> (Option<Sampling>, BoxGeometry) {
    let (sw, sh) = source.natural;
    let (rw, rh) = source.raster;
    let d = crate::shrink::divisor(source.eighths);
    let ((px, py, pw, ph), geom) = placement(layer, il, source.natural);
    if geom.axis_aligned {
        let natural = pw == sw as f64 && ph == sh as f64 && source.eighths == crate::shrink::FULL;
        if natural && px.fract() == 0.0 && py.fract() == 0.0 {
            let plan = Sampling::Copy {
                ox: px as i64,
                oy: py as i64,
            };
            return (Some(plan), geom);
        }
        let placed = (px, py, pw, ph);
        let Some((bounds, xw, mut yw)) =
            grid(il, &geom, placed, d, &source.into(), (canvas_w, canvas_h))
        else {
            return (None, geom);
        };
        // Weights index the whole raster; the pixels may start further
        // down (a decode of only the rows read, which `rows_read` computed
        // from these same weights). The clamp only guards a mismatch.
        let held = source.image.height();
        if source.first_row != 0 || held != rh {
            let last = held.saturating_sub(1);
            for s in &mut yw.start {
                *s = s.saturating_sub(source.first_row).min(last);
            }
        }
        let plan = Sampling::Grid { bounds, xw, yw };
        return (Some(plan), geom);
    }
    debug_assert!(
        source.first_row == 0 && source.image.height() == rh,
        "rows_read gives every row to rotated layers"
    );
    // Rotated. The intermediate is capped at four canvases' worth of pixels
    // (an extreme `cover` of a sliver-shaped box could otherwise ask for
    // gigabytes); past that it has a proportionally lower resolution.
    let budget = (4.0 * canvas_w as f64 * canvas_h as f64).max((1u32 << 20) as f64);
    let shrink = ((pw.max(1.0) * ph.max(1.0)) / budget).sqrt().max(1.0);
    let nw = (pw / shrink).round().clamp(1.0, 1e6) as u32;
    let nh = (ph / shrink).round().clamp(1.0, 1e6) as u32;
    let (lx, ly) = lead(&source.into(), d);
    let xw = AxisWeights::cached(il.filter, rw, nw, lx, sw as f64 / d / nw as f64);
    let yw = AxisWeights::cached(il.filter, rh, nh, ly, sh as f64 / d / nh as f64);
    let plan = Sampling::Placed {
        xw,
        yw,
        placed: [px, py, pw, ph],
        nearest: il.filter == Filter::Nearest,
    };
    (Some(plan), geom)
}

/// Where an image of `natural` size lands in the layer's box, and the
/// layer's geometry with its area clip narrowed to it.
fn placement(
    layer: &Layer,
    il: &ImageLayer,
    (sw, sh): (u32, u32),
) -> ((f64, f64, f64, f64), BoxGeometry) {
    let (px, py, pw, ph) = place_image(layer, il.fit, il.position, sw, sh);
    let geom = BoxGeometry::of(layer).with_clip([px, py, px + pw, py + ph]);
    ((px, py, pw, ph), geom)
}

/// The canvas pixels an axis-aligned resample of `source` placed at
/// `(px, py, pw, ph)` covers (`None`: none are visible), and its weights
/// over the whole decoded raster (`source.raster`, shrunk by `d`).
fn grid(
    il: &ImageLayer,
    geom: &BoxGeometry,
    (px, py, pw, ph): (f64, f64, f64, f64),
    d: f64,
    source: &SourceGeometry,
    (canvas_w, canvas_h): (u32, u32),
) -> Option<([u32; 4], AxisWeights, AxisWeights)> {
    let ((sw, sh), (rw, rh)) = (source.natural, source.raster);
    let (lx, ly) = lead(source, d);
    // Resample onto the canvas grid, only where the layer is visible.
    let [x0, y0, x1, y1] = geom.pixel_bounds(canvas_w, canvas_h)?;
    let xw = grid_axis(il, (x0, x1), (px, pw), (sw, rw), d, lx);
    let yw = grid_axis(il, (y0, y1), (py, ph), (sh, rh), d, ly);
    Some(([x0, y0, x1, y1], xw, yw))
}

/// One axis of [`grid`]: canvas pixels `[lo, hi)` of a layer placed at
/// `pos`, `len` long, from an image `natural` long whose decoded raster is
/// `raster` long (shrunk by `d`) and starts `lead` raster pixels early.
fn grid_axis(
    il: &ImageLayer,
    (lo, hi): (u32, u32),
    (pos, len): (f64, f64),
    (natural, raster): (u32, u32),
    d: f64,
    lead: f64,
) -> AxisWeights {
    let k = natural as f64 / len / d;
    AxisWeights::cached(il.filter, raster, hi - lo, (lo as f64 - pos) * k + lead, k)
}

/// How far, in raster pixels, each axis of the decoded raster starts
/// before the image: a raster decoded at k/8 is `ceil(natural * k / 8)`
/// long, so its last pixel is partly past the image's end; where the EXIF
/// orientation reverses an axis, that part-pixel comes first and the image
/// starts the part missing into the raster (0 on every other axis).
fn lead(source: &SourceGeometry, d: f64) -> (f64, f64) {
    let one = |reversed: bool, natural: u32, raster: u32| {
        if reversed {
            (raster as f64 - natural as f64 / d).max(0.0)
        } else {
            0.0
        }
    };
    let ((sw, sh), (rw, rh)) = (source.natural, source.raster);
    (
        one(source.reversed.0, sw, rw),
        one(source.reversed.1, sh, rh),
    )
}

/// The sizes `grid` needs: the image's natural size and its whole decoded
/// raster's, and which of the raster's axes run against the file's.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SourceGeometry {
    pub natural: (u32, u32),
    pub raster: (u32, u32),
    pub reversed: (bool, bool),
}

impl From<&SourceImage> for SourceGeometry {
    fn from(s: &SourceImage) -> SourceGeometry {
        SourceGeometry {
            natural: s.natural,
            raster: s.raster,
            reversed: s.reversed,
        }
    }
}

/// Which rows of an image's decoded raster drawing a layer reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RowsRead {
    /// None: nothing of the layer is visible.
    None,
    /// Rows `[first, end)`.
    Some(u32, u32),
    /// Any row (a rotated layer, a copy at natural size).
    All,
}

/// The rows of the raster of a `natural`-sized image decoded at `eighths`/8
/// (`raster` pixels) that `plan_image` will read for `layer` on a
/// `canvas`-sized canvas: the span of the same weights, wider on each side
/// by two rows and one canvas row's step (so that a tile of the canvas,
/// whose weights are computed from shifted positions, stays inside).
pub(crate) fn rows_read(
    layer: &Layer,
    il: &ImageLayer,
    source: SourceGeometry,
    eighths: u32,
    canvas: (u32, u32),
) -> RowsRead {
    let (placed, geom) = placement(layer, il, source.natural);
    if !geom.axis_aligned || eighths >= crate::shrink::FULL {
        return RowsRead::All;
    }
    let (sh, ph) = (source.natural.1, placed.3);
    let d = crate::shrink::divisor(eighths);
    // [`grid`]'s vertical weights (its horizontal ones are not needed here).
    match geom.pixel_bounds(canvas.0, canvas.1) {
        None => RowsRead::None,
        Some([_, y0, _, y1]) => {
            let rh = source.raster.1;
            let yw = grid_axis(
                il,
                (y0, y1),
                (placed.1, ph),
                (sh, rh),
                d,
                lead(&source, d).1,
            );
            let (lo, hi) = span(&yw, 0, yw.len(), rh);
            // A tile's bounds, rounded from shifted positions, may take one
            // more canvas row at the layer's edge: its taps start up to one
            // row's step (`ky` raster rows) further out.
            let ky = sh as f64 / ph / d;
            let margin = 2 + ky.ceil().clamp(0.0, rh as f64) as u32;
            RowsRead::Some(lo.saturating_sub(margin), hi.saturating_add(margin).min(rh))
        }
    }
}
