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
//! Layers stream through the bands too. Images are read straight from their
//! decoded 8-bit pixels when they land at natural size on whole pixels
//! (premultiplied as they are read: an exact copy); otherwise each band
//! resamples just the rows it shows ([`window::Windowed`]), and a rotated
//! image or a text layer just the window of its raster that a chunk of the
//! band samples. A window is the exact value the whole resampled image (or
//! text raster) would hold there, so streaming changes no pixel, only
//! memory: the canvas, the decoded sources, and per thread one band and one
//! layer's window (see `plan::memory` for the bound). An image resampled
//! onto the canvas grid may instead be read from, or copied into, the
//! renderer's cache of resampled images (`placed.rs`), with the same values.

pub(crate) mod kernels;
mod paint;
#[cfg(test)]
pub(crate) use paint::{STOP_SNAP, STOP_SNAP_PX};
pub(crate) mod placed;
pub(crate) mod resample;
pub(crate) mod window;

use image::RgbaImage;
use rayon::prelude::*;

use crate::blend::{composite_row, BlendMode};
use crate::cancel::Stop;
use crate::color::BlendSpace;
use crate::error::Error;
use crate::plan::geometry::{LinearRamp, RadialRamp};
use crate::plan::memory::{BAND_ROWS, CHUNK_COLS, KEPT_RINGS_BYTES};
use crate::plan::{Paint, Plan, PlannedLayer, Sampling, Stops};
use crate::text::TextGlyphs;
use paint::{paint_row, sampled_window, View};
use placed::{GridRows, Placed};
use window::{WindowScratch, Windowed};

/// How the CPU paints a planned layer's colour, row by row: the plan's
/// paint, with images resampled and text rasterized window by window.
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
    /// [`Sampling::Grid`]: canvas pixel (x, y) is pixel (x - x0, y - y0) of
    /// the resample, made band by band (or read from the cache).
    Grid {
        rows: GridRows<'p>,
        x0: u32,
        y0: u32,
    },
    /// [`Sampling::Placed`] and text rasters: `src` spans the box-local
    /// rectangle `placed` and is sampled bilinearly (or nearest), made a
    /// window at a time.
    Placed {
        src: Source<'p>,
        placed: [f64; 4],
        nearest: bool,
    },
}

/// What a [`Painter::Placed`] samples: a rotated image's resample or a
/// text layer's raster, both made on demand.
enum Source<'p> {
    Image(Windowed<'p>),
    Text(TextGlyphs),
}

impl Source<'_> {
    /// Size in pixels.
    fn size(&self) -> (usize, usize) {
        match self {
            Source::Image(r) => r.size(),
            Source::Text(t) => (t.width as usize, t.height as usize),
        }
    }

    /// Pixels `cols` x `rows` into `work.window`.
    fn window(&self, cols: std::ops::Range<usize>, rows: std::ops::Range<usize>, work: &mut Work) {
        match self {
            Source::Image(r) => r.window(cols, rows, &mut work.resample, &mut work.window),
            Source::Text(t) => t.paint(cols, rows, &mut work.window),
        }
    }
}

/// A planned layer and its CPU painter.
struct Prepared<'p> {
    layer: &'p PlannedLayer<'p>,
    painter: Painter<'p>,
}

/// One thread's buffers: the band accumulator, a scratch row, and the
/// window of the layer being painted with its resampling scratch.
struct Work {
    acc: Vec<[f32; 4]>,
    scratch: Vec<[f32; 4]>,
    window: Vec<[f32; 4]>,
    resample: WindowScratch,
    /// Per layer (by position), the resampling scratch of a
    /// [`Painter::Grid`] kept from one band to the next, so the source rows
    /// two bands share are filtered once; [`KEPT_RINGS_BYTES`] at most in
    /// all, the first layers that fit.
    kept: Vec<Option<WindowScratch>>,
    kept_bytes: usize,
    /// Whether the band's accumulator is still all zero (a transparent
    /// background, no layer composited yet): source-over onto it is a copy.
    fresh: bool,
}

impl Work {
    /// Resamples rows `rows` of the layer at `index` into `self.window`,
    /// with the layer's kept scratch if it has one (or is given one now).
    fn grid_window(&mut self, index: usize, resample: &Windowed, rows: std::ops::Range<usize>) {
        let cols = 0..resample.size().0;
        match self.kept.get_mut(index) {
            Some(Some(kept)) => resample.window(cols, rows, kept, &mut self.window),
            Some(slot) => {
                // With the shared scratch; kept (and the shared one started
                // afresh) if it fits the budget.
                resample.window(cols, rows, &mut self.resample, &mut self.window);
                let bytes = self.resample.bytes();
                if self.kept_bytes + bytes <= KEPT_RINGS_BYTES as usize {
                    self.kept_bytes += bytes;
                    *slot = Some(std::mem::take(&mut self.resample));
                }
            }
            None => resample.window(cols, rows, &mut self.resample, &mut self.window),
        }
    }
}

/// Paints a plan. Returns straight-alpha 8-bit sRGB RGBA, or `stop`'s
/// error once it says stop (checked between layers while preparing and
/// between layers of every band of rows).
pub(crate) fn render(plan: &Plan<'_>, stop: &Stop<'_>) -> Result<RgbaImage, Error> {
    render_cached(plan, stop, None)
}

/// [`render`], with the image layers' uses of the resampled-image cache
/// ([`Placed::lookup`]): hits are read from it, and fills kept in it once
/// the render has made every row.
pub(crate) fn render_cached(
    plan: &Plan<'_>,
    stop: &Stop<'_>,
    mut placed: Option<Placed<'_>>,
) -> Result<RgbaImage, Error> {
    let space = plan.space;
    let (w, h) = (plan.width, plan.height);
    let mut prepared: Vec<Prepared<'_>> = Vec::with_capacity(plan.layers.len());
    // The glyph images the text layers share with the glyph cache, held
    // until the render ends.
    let mut shared = plan.resolved.text.as_ref().map_or_else(
        || crate::text::SharedGlyphs::new(0),
        |engine| engine.shared_glyphs(),
    );
    for (i, layer) in plan.layers.iter().enumerate() {
        stop.check()?;
        let cached = placed.as_mut().and_then(|p| p.take(i));
        prepared.push(Prepared {
            layer,
            painter: painter(layer, plan, cached, stop, &mut shared),
        });
    }
    let background = plan.background;
    let width = w as usize;
    let mut out = vec![0u8; width * h as usize * 4];
    // One working set per thread, kept from band to band for the whole
    // render (as the memory estimate counts them). `for_each_init` made one
    // per rayon job instead: a thread's next job allocated its set anew
    // while the allocator still held the last one's, and an 11000-pixel
    // source drawn small peaked a whole resampling ring (225 MB) over the
    // estimate in one run of four.
    let threads = rayon::current_num_threads();
    let sets: Vec<std::sync::Mutex<Option<Work>>> =
        (0..=threads).map(|_| std::sync::Mutex::new(None)).collect();
    let new_work = || Work {
        acc: vec![[0f32; 4]; BAND_ROWS * width],
        scratch: vec![[0f32; 4]; width],
        window: Vec::new(),
        resample: WindowScratch::default(),
        kept: (0..prepared.len()).map(|_| None).collect(),
        kept_bytes: 0,
        fresh: false,
    };
    out.par_chunks_mut(BAND_ROWS * width * 4)
        .enumerate()
        .for_each(|(band, out_band)| {
            // The pool's threads are numbered below `threads`; any other
            // shares the last slot.
            let slot = &sets[rayon::current_thread_index().map_or(threads, |i| i.min(threads))];
            let lock = || {
                slot.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
            };
            // Taken out while in use: a band begun on this thread inside
            // another (work stealing) makes its own.
            let mut work = lock().take().unwrap_or_else(new_work);
            let y0 = (band * BAND_ROWS) as u32;
            let rows = out_band.len() / (width * 4);
            work.acc[..rows * width].fill(background);
            work.fresh = background == [0.0; 4];
            for (index, layer) in prepared.iter().enumerate() {
                if stop.now() {
                    return;
                }
                composite_band(index, layer, y0, rows, width, &mut work, space);
                work.fresh = false;
            }
            encode_band(&work.acc[..rows * width], out_band, space);
            *lock() = Some(work);
        });
    stop.check()?;
    if let Some(placed) = placed {
        placed.keep(prepared.into_iter().filter_map(|p| match p.painter {
            Painter::Grid { rows, .. } => rows.into_filling(),
            _ => None,
        }));
    }
    // The buffer has exactly width * height * 4 bytes.
    Ok(RgbaImage::from_raw(w, h, out).expect("buffer size matches the canvas"))
}

/// The CPU painter of a planned layer: how its images are resampled and
/// its text laid out (glyphs rasterized once, painted per window, images
/// shared with the glyph cache while `shared` has room); `cached` is its
/// use of the resampled-image cache.
fn painter<'p>(
    layer: &'p PlannedLayer<'p>,
    plan: &Plan<'_>,
    cached: Option<placed::Use>,
    stop: &'p Stop<'p>,
    shared: &mut crate::text::SharedGlyphs,
) -> Painter<'p> {
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
                rows: GridRows::new(Windowed::new(image, space, xw, yw, stop), cached),
                x0: bounds[0],
                y0: bounds[1],
            },
            Sampling::Placed {
                xw,
                yw,
                placed,
                nearest,
            } => Painter::Placed {
                src: Source::Image(Windowed::new(image, space, xw, yw, stop)),
                placed: *placed,
                nearest: *nearest,
            },
        },
        Paint::Text { .. } => match layer.text_glyphs(plan, stop, shared) {
            Some(g) => Painter::Placed {
                placed: [g.origin.0, g.origin.1, g.width as f64, g.height as f64],
                src: Source::Text(g),
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

/// Composites the layer at `index` onto the band's `rows` rows from canvas
/// row `y0`, making first the part of its resample or raster they show.
fn composite_band(
    index: usize,
    layer: &Prepared,
    y0: u32,
    rows: usize,
    width: usize,
    work: &mut Work,
    space: BlendSpace,
) {
    if let Painter::Placed { src, placed, .. } = &layer.painter {
        return composite_placed(layer, src, placed, y0, rows, width, work, space);
    }
    let mut view = None;
    if let Painter::Grid {
        rows: grid, y0: by, ..
    } = &layer.painter
    {
        // The resampled rows this band shows, every column.
        let (dw, dh) = grid.size();
        let k0 = (y0 as i64 - *by as i64).clamp(0, dh as i64) as usize;
        let k1 = ((y0 as usize + rows) as i64 - *by as i64).clamp(k0 as i64, dh as i64) as usize;
        if k0 < k1 {
            work.grid_rows(index, grid, k0..k1);
        } else {
            work.window.clear();
        }
        view = Some(View::new(&work.window, 0, k0, dw));
    }
    for r in 0..rows {
        let y = y0 + r as u32;
        let acc_row = &mut work.acc[r * width..(r + 1) * width];
        if let Some((x0, x1)) = clear_outside(layer, y, acc_row) {
            let scratch = &mut work.scratch;
            composite_layer_row(
                layer,
                y,
                (x0, x1),
                acc_row,
                scratch,
                space,
                view,
                work.fresh,
            );
        }
    }
}

/// Composites a rotated image or a text layer onto the band, in chunks of
/// columns (the whole span when not rotated), each from the window of its
/// source that the chunk samples.
#[allow(clippy::too_many_arguments)]
fn composite_placed(
    layer: &Prepared,
    src: &Source,
    placed: &[f64; 4],
    y0: u32,
    rows: usize,
    width: usize,
    work: &mut Work,
    space: BlendSpace,
) {
    let mut span = None;
    for r in 0..rows {
        let acc_row = &mut work.acc[r * width..(r + 1) * width];
        span = clear_outside(layer, y0 + r as u32, acc_row).or(span);
    }
    let (Some((bx0, bx1)), Some([_, by0, _, by1])) = (span, layer.layer.bounds) else {
        return;
    };
    let (ya, yb) = (y0.max(by0), (y0 + rows as u32).min(by1));
    let (sw, sh) = src.size();
    if sw == 0 || sh == 0 {
        return;
    }
    let g = &layer.layer.geom;
    let chunk = if g.axis_aligned {
        bx1 - bx0
    } else {
        CHUNK_COLS
    };
    let mut xa = bx0;
    while xa < bx1 {
        let xb = (xa + chunk).min(bx1);
        let (cols, src_rows) = sampled_window(g, placed, (sw, sh), xa..xb, ya..yb);
        let (c0, r0) = (cols.start, src_rows.start);
        src.window(cols.clone(), src_rows, work);
        let view = View::new(&work.window, c0, r0, cols.len());
        for y in ya..yb {
            let r = (y - y0) as usize;
            let acc_row = &mut work.acc[r * width..(r + 1) * width];
            let (xa, xb) = (xa as usize, xb as usize);
            composite_span(
                layer,
                y,
                xa,
                xb,
                acc_row,
                &mut work.scratch,
                space,
                Some(view),
            );
        }
        xa = xb;
    }
}

/// Clears what an unbounded operator clears outside the layer in row `y`,
/// and returns the columns `x0..x1` the layer paints there, if any.
fn clear_outside(layer: &Prepared, y: u32, acc_row: &mut [[f32; 4]]) -> Option<(u32, u32)> {
    let unbounded = layer.layer.blend.is_unbounded();
    match layer.layer.bounds {
        Some([x0, y0, x1, y1]) if y >= y0 && y < y1 => {
            if unbounded {
                acc_row[..x0 as usize].fill([0.0; 4]);
                acc_row[x1 as usize..].fill([0.0; 4]);
            }
            Some((x0, x1))
        }
        _ => {
            if unbounded {
                acc_row.fill([0.0; 4]);
            }
            None
        }
    }
}

/// Composites columns `x0..x1` of row `y` of a layer that is not
/// [`Painter::Placed`].
#[allow(clippy::too_many_arguments)]
fn composite_layer_row(
    layer: &Prepared,
    y: u32,
    (x0, x1): (u32, u32),
    acc_row: &mut [[f32; 4]],
    scratch: &mut [[f32; 4]],
    space: BlendSpace,
    view: Option<View>,
    fresh: bool,
) {
    let (x0, x1) = (x0 as usize, x1 as usize);
    if let Some((i0, i1, src)) = copy_over_run(layer, y, x0, x1) {
        // The fully covered run of a natural-size image drawn source-over:
        // premultiply and composite in one pass, no scratch row.
        composite_span(layer, y, x0, i0, acc_row, scratch, space, view);
        kernels::over_rgba8(src, &mut acc_row[i0..i1], space);
        composite_span(layer, y, i1, x1, acc_row, scratch, space, view);
    } else if let Some((i0, i1, src)) = grid_over_run(layer, y, x0, x1, view) {
        // The fully covered run of a resampled image drawn source-over:
        // its pixels composited straight from the resample (painting them
        // into the scratch row would copy them and multiply by a coverage
        // of 1). Onto an accumulator still all zero, `s + 0 (1 - a)` is `s`:
        // a copy.
        composite_span(layer, y, x0, i0, acc_row, scratch, space, view);
        if fresh {
            acc_row[i0..i1].copy_from_slice(src);
        } else {
            kernels::over_row(src, &mut acc_row[i0..i1]);
        }
        composite_span(layer, y, i1, x1, acc_row, scratch, space, view);
    } else {
        composite_span(layer, y, x0, x1, acc_row, scratch, space, view);
    }
}
/// For a layer drawn source-over at full opacity without rounding or
/// rotation, whose clip covers row `y` fully: the columns `[i0, i1)` of
/// `x0..x1` that it covers fully (possibly empty), where its painted
/// colour is composited with a coverage of 1.
fn covered_run(layer: &Prepared, y: u32, x0: usize, x1: usize) -> Option<(i64, i64)> {
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
    Some((
        cx0.ceil().max(x0 as f64) as i64,
        cx1.floor().min(x1 as f64) as i64,
    ))
}

/// For a natural-size image layer ([`Painter::Copy`]) in a
/// [`covered_run`]: that run, and the source bytes that land there.
fn copy_over_run<'a>(
    layer: &'a Prepared<'a>,
    y: u32,
    x0: usize,
    x1: usize,
) -> Option<(usize, usize, &'a [u8])> {
    let Painter::Copy { img, ox, oy } = &layer.painter else {
        return None;
    };
    let (i0, i1) = covered_run(layer, y, x0, x1)?;
    let sy = y as i64 - oy;
    let (s0, s1) = (i0 - ox, i1 - ox);
    // The clip lies inside the placed image, so these hold; checked anyway.
    if i0 >= i1 || sy < 0 || sy >= img.height() as i64 || s0 < 0 || s1 > img.width() as i64 {
        return None;
    }
    let row = (sy as usize) * img.width() as usize * 4;
    Some((
        i0 as usize,
        i1 as usize,
        &img.as_raw()[row + s0 as usize * 4..row + s1 as usize * 4],
    ))
}

/// For a resampled image ([`Painter::Grid`]) in a [`covered_run`]: that
/// run, within the resample, and its pixels there (what [`paint_row`]
/// writes, the coverage being 1).
fn grid_over_run<'v>(
    layer: &Prepared,
    y: u32,
    x0: usize,
    x1: usize,
    view: Option<View<'v>>,
) -> Option<(usize, usize, &'v [[f32; 4]])> {
    let Painter::Grid {
        rows,
        x0: bx,
        y0: by,
    } = &layer.painter
    else {
        return None;
    };
    let view = view?;
    let (i0, i1) = covered_run(layer, y, x0, x1)?;
    let (w, h) = rows.size();
    let (bx, by) = (i64::from(*bx), i64::from(*by));
    let ry = y as i64 - by;
    if ry < 0 || ry >= h as i64 {
        return None;
    }
    let (i0, i1) = (i0.max(bx), i1.min(bx + w as i64));
    if i0 >= i1 {
        return None;
    }
    let n = (i1 - i0) as usize;
    let row = view.row((i0 - bx) as u32, ry as u32, n)?;
    (row.len() == n).then_some((i0 as usize, i1 as usize, row))
}

/// Paints columns `x0..x1` of row `y` into the scratch row and composites
/// them; `view` is the part of the layer's resample or raster the row reads.
#[allow(clippy::too_many_arguments)]
fn composite_span(
    layer: &Prepared,
    y: u32,
    x0: usize,
    x1: usize,
    acc_row: &mut [[f32; 4]],
    scratch: &mut [[f32; 4]],
    space: BlendSpace,
    view: Option<View>,
) {
    if x0 >= x1 {
        return;
    }
    let src = &mut scratch[x0..x1];
    paint_row(layer, y, x0 as u32, src, space, view);
    composite_row(layer.layer.blend, src, &mut acc_row[x0..x1]);
}
