//! The CPU painter of text layers: the glyphs of the layout
//! ([`super::layout::plan`]) rasterized with swash and painted, glyph after
//! glyph, into a premultiplied raster of the visible part of the box.
//!
//! A layer is laid out once ([`TextEngine::glyphs`]: its glyph images and
//! where they land), then any window of its raster is painted on demand
//! ([`TextGlyphs::paint`]), so the compositor streams a text layer through
//! its bands without a layer-sized raster. Glyph images come from the
//! renderer's glyph cache and are shared, up to the glyph cache's budget
//! of them for the whole render ([`SharedGlyphs`]: a reviewer's 1,171
//! distinct emoji at size 400, all shared, held 1.2 GB); a glyph too large
//! for the cache to keep, or past that budget, is held only as its crop to
//! the raster. Once the crops held reach four bytes a pixel of the raster
//! (glyphs of thousands of pixels, each covering most of it, or hundreds
//! of distinct emoji piled up), those placed so far are flattened into a
//! float raster under the rest ([`TextGlyphs::paint`] starts from it) and
//! dropped, so a layer holds at most that raster and that much in crops,
//! whatever its number of glyphs. Flattening composites the same glyphs in
//! the same order as painting does, so the pixels are the same to the
//! bit.

use std::ops::Range;
use std::sync::Arc;

use cosmic_text::{SwashContent, SwashImage};

use super::glyph_cache::SharedGlyphs;
use super::{TextEngine, TextRaster};
use crate::blend::{composite, BlendMode};
use crate::cancel::Stop;
use crate::color::{premultiply_rgba8, BlendSpace, Color};
use crate::pixels::{store16, PremulImage};
use crate::plan::geometry::BoxGeometry;
use crate::scene::{Layer, TextLayer};

/// A text layer laid out and its glyphs rasterized: what any window of its
/// raster is painted from.
pub(crate) struct TextGlyphs {
    /// Raster size in pixels.
    pub width: u32,
    pub height: u32,
    /// Box-local position of the raster's top-left pixel.
    pub origin: (f64, f64),
    /// The text colour, premultiplied in `space`.
    colour: [f32; 4],
    space: BlendSpace,
    /// The glyphs flattened so far (see the module's notes): the whole
    /// raster, row-major, painted before `glyphs`.
    base: Option<Vec<[f32; 4]>>,
    /// The glyphs that reach the raster, in painting order (after `base`).
    glyphs: Vec<PlacedGlyph>,
}

/// A glyph's pixels inside the raster: the raster rectangle `x, y, w, h`
/// is pixel `(dx, dy)` onwards of `pixels` (rows of `stride` pixels).
struct PlacedGlyph {
    x: i64,
    y: i64,
    w: i64,
    h: i64,
    dx: i64,
    dy: i64,
    stride: i64,
    content: SwashContent,
    pixels: GlyphPixels,
}

/// A glyph image: the cache's, or a crop of one too large to keep.
enum GlyphPixels {
    Shared(Arc<SwashImage>),
    Cropped(Vec<u8>),
}

impl GlyphPixels {
    fn data(&self) -> &[u8] {
        match self {
            GlyphPixels::Shared(img) => &img.data,
            GlyphPixels::Cropped(data) => data,
        }
    }
}

/// Bytes per pixel of a glyph image.
fn bytes_per_pixel(content: SwashContent) -> usize {
    match content {
        SwashContent::Mask => 1,
        SwashContent::Color | SwashContent::SubpixelMask => 4,
    }
}

impl TextEngine {
    /// Lays out and rasterizes a text layer: premultiplied colour in the
    /// blend space, covering the part of the box that can be visible on a
    /// `canvas_w` x `canvas_h` canvas. `None` when nothing is visible.
    /// Cut short once `stop` says stop (see [`TextEngine::glyphs`]).
    pub fn rasterize(
        &self,
        layer: &Layer,
        t: &TextLayer,
        geom: &BoxGeometry,
        space: BlendSpace,
        (canvas_w, canvas_h): (u32, u32),
        stop: &Stop<'_>,
    ) -> Option<TextRaster> {
        let canvas = (canvas_w, canvas_h);
        let mut shared = self.shared_glyphs();
        let glyphs = self.glyphs(layer, t, geom, space, canvas, stop, &mut shared)?;
        let (rw, rh) = (glyphs.width as usize, glyphs.height as usize);
        let mut acc = Vec::new();
        glyphs.paint_exact(0..rw, 0..rh, &mut acc);
        let data = acc.into_iter().map(store16).collect();
        Some(TextRaster {
            image: PremulImage {
                width: rw as u32,
                height: rh as u32,
                data,
            },
            origin: glyphs.origin,
        })
    }

    /// Lays out a text layer and rasterizes its glyphs, keeping those that
    /// reach its raster (see [`TextEngine::rasterize`]). `None` when nothing
    /// is visible. Once `stop` says stop, no more glyphs are rasterized (the
    /// render fails at its next check): a glyph thousands of pixels high
    /// takes milliseconds. Glyph images are shared with the glyph cache
    /// while `shared` has room for them, and cropped past it.
    #[allow(clippy::too_many_arguments)]
    pub fn glyphs(
        &self,
        layer: &Layer,
        t: &TextLayer,
        geom: &BoxGeometry,
        space: BlendSpace,
        (canvas_w, canvas_h): (u32, u32),
        stop: &Stop<'_>,
        shared: &mut SharedGlyphs,
    ) -> Option<TextGlyphs> {
        let mut shaper = self.shaper();
        let (buffer, plan) = super::layout::plan(
            &mut shaper.fonts,
            layer,
            t,
            geom,
            (canvas_w, canvas_h),
            None,
            stop,
        )?;
        let (rw, rh) = (plan.width as i64, plan.height as i64);
        let (ox, oy) = (plan.left, plan.top);
        let oy_int = oy.floor() as i32;
        let oy_frac = oy - oy.floor();
        let mut glyphs = Vec::new();
        let mut base: Option<Vec<[f32; 4]>> = None;
        // The bytes of crops held, and how many are held before flattening.
        let mut held = 0u64;
        let flatten_at = crops_flattened_at(plan.width, plan.height);
        let colour = Color { a: 255, ..t.color }.to_premul(space);
        'runs: for run in buffer.layout_runs() {
            for glyph in run.glyphs {
                if stop.now() {
                    break 'runs;
                }
                // Positioned exactly as glyphon positions it on the GPU:
                // the whole-pixel part of the vertical offset is added after
                // cosmic-text truncates (see gpu/glyphs.rs).
                let shift = super::spacing::rtl_shift(glyph, t.letter_spacing as f32);
                let phys = glyph.physical((ox + shift, oy_frac), 1.0);
                // A glyph whose em box, widened by two ems on every side
                // (ink past its advance: italics, swashes, accents), misses
                // the raster is not rasterized: at a size of thousands of
                // pixels each takes milliseconds.
                let reach = 2.0 * f64::from(glyph.font_size);
                let pen_x = f64::from(phys.x);
                let pen_y = run.line_y.round() as f64 + f64::from(phys.y) + f64::from(oy_int);
                // (A negative letter spacing makes the advance `w`
                // negative; the ink still starts at the pen. Adding it
                // culled every glyph of a line spaced below about -2.6 ems:
                // a reviewer's "h" at 20 px and -52 px drew nothing.)
                if pen_x + f64::from(glyph.w.max(0.0)) + reach < 0.0
                    || pen_x - reach > rw as f64
                    || pen_y + reach < 0.0
                    || pen_y - reach > rh as f64
                {
                    continue;
                }
                let Some(img) = self.glyphs.get(&mut shaper, phys.cache_key) else {
                    continue;
                };
                let p = img.placement;
                let gx = phys.x as i64 + p.left as i64;
                let gy = run.line_y.round() as i64 + phys.y as i64 + oy_int as i64 - p.top as i64;
                // The glyph's rectangle clipped to the raster.
                let (x0, x1) = (gx.max(0), (gx + p.width as i64).min(rw));
                let (y0, y1) = (gy.max(0), (gy + p.height as i64).min(rh));
                if x0 >= x1 || y0 >= y1 {
                    continue;
                }
                let (dx, dy) = (x0 - gx, y0 - gy);
                let content = img.content;
                let (w, h) = (x1 - x0, y1 - y0);
                let keep = self.glyphs.keeps(img.data.len() as u64) && shared.share(&img);
                let (pixels, dx, dy, stride) = if keep {
                    (GlyphPixels::Shared(img), dx, dy, p.width as i64)
                } else {
                    let bpp = bytes_per_pixel(content);
                    let mut crop = Vec::with_capacity((w * h) as usize * bpp);
                    for yy in dy..dy + h {
                        let row = (yy * p.width as i64 + dx) as usize * bpp;
                        crop.extend_from_slice(&img.data[row..row + w as usize * bpp]);
                    }
                    held += crop.len() as u64;
                    (GlyphPixels::Cropped(crop), 0, 0, w)
                };
                glyphs.push(PlacedGlyph {
                    x: x0,
                    y: y0,
                    w,
                    h,
                    dx,
                    dy,
                    stride,
                    content,
                    pixels,
                });
                if held > flatten_at {
                    let (w, h) = (plan.width as usize, plan.height as usize);
                    let raster = base.get_or_insert_with(|| {
                        let mut raster = Vec::new();
                        crate::cpu::window::resize_exact(&mut raster, w * h);
                        raster
                    });
                    // Each crop is dropped as soon as it is painted.
                    for g in glyphs.drain(..) {
                        g.paint(colour, space, (0, w as i64), (0, h as i64), raster);
                    }
                    held = 0;
                }
            }
        }
        drop(shaper);
        Some(TextGlyphs {
            width: plan.width,
            height: plan.height,
            origin: plan.origin,
            // Opaque: the colour's alpha is in the planned layer's
            // opacity (`plan::plan_layer`).
            colour,
            space,
            base,
            glyphs,
        })
    }
}

impl TextGlyphs {
    /// Paints raster pixels `cols` x `rows` into `out` (row-major, resized
    /// to exactly that) as the compositor reads them: the value each has in
    /// the whole raster of [`TextEngine::rasterize`], read back as floats.
    pub fn paint(&self, cols: Range<usize>, rows: Range<usize>, out: &mut Vec<[f32; 4]>) {
        self.paint_exact(cols, rows, out);
        crate::cpu::kernels::quantize_row(out);
    }

    /// [`TextGlyphs::paint`] before the raster's 16-bit rounding.
    fn paint_exact(&self, cols: Range<usize>, rows: Range<usize>, out: &mut Vec<[f32; 4]>) {
        let cw = cols.len();
        match &self.base {
            Some(base) => {
                out.clear();
                out.reserve_exact(cw * rows.len());
                for y in rows.clone() {
                    let row = y * self.width as usize;
                    out.extend_from_slice(&base[row + cols.start..row + cols.end]);
                }
            }
            None => crate::cpu::window::resize_exact(out, cw * rows.len()),
        }
        let (c0, c1) = (cols.start as i64, cols.end as i64);
        let (r0, r1) = (rows.start as i64, rows.end as i64);
        for g in &self.glyphs {
            g.paint(self.colour, self.space, (c0, c1), (r0, r1), out);
        }
    }
}

/// The bytes of glyph crops a text layer holds before it flattens them
/// into a float raster (see the module's notes): four a pixel of its
/// raster.
pub(crate) fn crops_flattened_at(width: u32, height: u32) -> u64 {
    4 * u64::from(width) * u64::from(height)
}

/// The most a text layer with a `width` x `height` raster holds at once in
/// glyph crops, `all` bytes of them if it held every one, none larger than
/// `largest`, and in the float raster they may be flattened into
/// (`crate::plan::memory`'s count). Crops are flattened once they hold
/// more than [`crops_flattened_at`]: so when all of them together hold no
/// more, that is all; otherwise the raster (16 bytes a pixel) is made and
/// the crops held beside it reach that threshold and one crop more.
pub(crate) fn crops_held_at_most(all: u64, largest: u64, width: u32, height: u32) -> u64 {
    let flatten_at = crops_flattened_at(width, height);
    if all <= flatten_at {
        return all;
    }
    let raster = 16 * u64::from(width) * u64::from(height);
    flatten_at
        .saturating_add(largest)
        .min(all)
        .saturating_add(raster)
}

impl PlacedGlyph {
    /// Composites the glyph, in `colour` (premultiplied in `space`) unless
    /// it has its own, source-over onto raster columns `c0..c1`, rows
    /// `r0..r1` held row-major in `out`.
    fn paint(
        &self,
        colour: [f32; 4],
        space: BlendSpace,
        (c0, c1): (i64, i64),
        (r0, r1): (i64, i64),
        out: &mut [[f32; 4]],
    ) {
        let cw = (c1 - c0) as usize;
        let (x0, x1) = (self.x.max(c0), (self.x + self.w).min(c1));
        let (y0, y1) = (self.y.max(r0), (self.y + self.h).min(r1));
        if x0 >= x1 || y0 >= y1 {
            return;
        }
        let data = self.pixels.data();
        for ry in y0..y1 {
            let src_row = (ry - self.y + self.dy) * self.stride + self.dx - self.x;
            let dst_row = &mut out[(ry - r0) as usize * cw..][..cw];
            for rx in x0..x1 {
                let i = (src_row + rx) as usize;
                let src = match self.content {
                    SwashContent::Mask => {
                        let m = data[i] as f32 * (1.0 / 255.0);
                        colour.map(|c| c * m)
                    }
                    SwashContent::Color => {
                        // Colour glyphs (emoji) keep their own colours.
                        let d = &data[i * 4..i * 4 + 4];
                        premultiply_rgba8([d[0], d[1], d[2], d[3]], space)
                    }
                    SwashContent::SubpixelMask => {
                        let d = &data[i * 4..i * 4 + 4];
                        let m = (d[0] as f32 + d[1] as f32 + d[2] as f32) / (3.0 * 255.0);
                        colour.map(|c| c * m)
                    }
                };
                let dst = &mut dst_row[(rx - c0) as usize];
                *dst = composite(BlendMode::SourceOver, src, *dst);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scene::LayerKind;
    use crate::text::FontOptions;

    #[test]
    fn crops_are_counted_whole_until_they_would_be_flattened_then_with_the_raster() {
        // A 100 x 100 raster flattens past 40,000 bytes of crops.
        assert_eq!(crops_held_at_most(0, 5_000, 100, 100), 0);
        assert_eq!(crops_held_at_most(40_000, 5_000, 100, 100), 40_000);
        // Past it: the float raster, the threshold and one crop more.
        assert_eq!(
            crops_held_at_most(45_000, 5_000, 100, 100),
            160_000 + 45_000
        );
        assert_eq!(
            crops_held_at_most(4_500_000, 5_000, 100, 100),
            160_000 + 45_000
        );
        // Never more than the crops all together, besides the raster.
        assert_eq!(
            crops_held_at_most(60_000, 30_000, 100, 100),
            160_000 + 60_000
        );
        assert_eq!(crops_held_at_most(u64::MAX, u64::MAX, 100, 100), u64::MAX);
    }

    #[test]
    fn every_window_equals_the_whole_raster_with_cached_and_cropped_glyphs() {
        // A 64 KiB glyph budget keeps glyphs up to 1 KiB: at size 90 most
        // are cropped, at size 12 all are shared with the cache. Cropped or
        // not, the rasters are the same.
        let mut first = Vec::new();
        for budget in [64 << 20, 64 << 10] {
            let engine = TextEngine::new(FontOptions {
                system_fonts: false,
                glyph_cache_bytes: budget,
                ..FontOptions::default()
            })
            .expect("bundled fonts");
            for (size, rotate) in [(90.0, 0.0), (12.0, 0.0), (90.0, 17.0)] {
                let mut layer = Layer::text("Wavy Ag, WW", size)
                    .at(-7.5, 3.25)
                    .size(300, 200);
                layer.rotate = rotate;
                let LayerKind::Text(t) = &layer.kind else {
                    unreachable!("a text layer")
                };
                let geom = BoxGeometry::of(&layer);
                for space in [BlendSpace::Srgb, BlendSpace::Linear] {
                    let whole = engine
                        .rasterize(&layer, t, &geom, space, (256, 160), &Stop::never())
                        .expect("visible");
                    let mut shared = engine.shared_glyphs();
                    let glyphs = engine
                        .glyphs(
                            &layer,
                            t,
                            &geom,
                            space,
                            (256, 160),
                            &Stop::never(),
                            &mut shared,
                        )
                        .expect("visible");
                    if budget == 64 << 20 {
                        first.push(whole.image.clone());
                    } else {
                        assert_eq!(first.remove(0), whole.image, "size {size} cropped");
                    }
                    let (w, h) = (whole.image.width as usize, whole.image.height as usize);
                    assert_eq!((glyphs.width as usize, glyphs.height as usize), (w, h));
                    let mut out = Vec::new();
                    for (c0, c1, r0, r1) in [
                        (0, w, 0, h),
                        (0, w, h / 2, h / 2 + 16),
                        (w / 3, w / 3 + 32, h / 4, h / 4 + 40),
                        (w - 1, w, 0, h),
                    ] {
                        glyphs.paint(c0..c1, r0..r1, &mut out);
                        for (i, got) in out.iter().enumerate() {
                            let (x, y) = (c0 + i % (c1 - c0), r0 + i / (c1 - c0));
                            let want = whole.image.get(x as u32, y as u32);
                            assert_eq!(
                                got.map(f32::to_bits),
                                want.map(f32::to_bits),
                                "size {size} rotate {rotate} budget {budget} ({x},{y})"
                            );
                        }
                    }
                    assert!(
                        whole.image.data.iter().any(|p| p[3] > 0),
                        "the test paints some text"
                    );
                }
            }
        }
    }

    #[test]
    fn crops_past_four_bytes_a_pixel_are_flattened_and_paint_the_same_bits() {
        // Sixty overlapping glyphs 90 pixels high (a negative letter
        // spacing piles them up) on a 90 x 112 raster: cropped under a
        // 64 KiB glyph budget, or past a render's share of 16 KiB of a 64
        // MiB cache, they reach four bytes a pixel of the raster many times
        // over; under 64 MiB with room to share, none is cropped.
        let layer = Layer::text("Wavy Ag, WW".repeat(6), 90.0)
            .letter_spacing(-52)
            .at(-3.25, 1.5)
            .size(900, 200);
        let LayerKind::Text(t) = &layer.kind else {
            unreachable!("a text layer")
        };
        let geom = BoxGeometry::of(&layer);
        let canvas = (90, 112);
        let engine = |budget| {
            TextEngine::new(FontOptions {
                system_fonts: false,
                glyph_cache_bytes: budget,
                ..FontOptions::default()
            })
            .expect("bundled fonts")
        };
        let (large, small) = (engine(64 << 20), engine(64 << 10));
        let never = Stop::never();
        for space in [BlendSpace::Srgb, BlendSpace::Linear] {
            let mut room = SharedGlyphs::new(u64::MAX);
            let want = large
                .glyphs(&layer, t, &geom, space, canvas, &never, &mut room)
                .expect("visible");
            assert!(want.base.is_none(), "shared glyphs are never flattened");
            assert!(want
                .glyphs
                .iter()
                .all(|g| matches!(g.pixels, GlyphPixels::Shared(_))));
            let cases = [
                ("too large for the cache", &small, small.shared_glyphs()),
                (
                    "past the render's share",
                    &large,
                    SharedGlyphs::new(16 << 10),
                ),
            ];
            for (what, engine, mut shared) in cases {
                let got = engine
                    .glyphs(&layer, t, &geom, space, canvas, &never, &mut shared)
                    .expect("visible");
                assert!(got.base.is_some(), "{what}: the crops were flattened");
                assert!(shared.bytes() <= 16 << 10, "{what}: {}", shared.bytes());
                let held: usize = got
                    .glyphs
                    .iter()
                    .filter(|g| matches!(g.pixels, GlyphPixels::Cropped(_)))
                    .map(|g| g.pixels.data().len())
                    .sum();
                assert!(
                    held as u64 <= crops_flattened_at(got.width, got.height),
                    "{what}: {held} bytes of crops held"
                );
                let (w, h) = (got.width as usize, got.height as usize);
                let (mut a, mut b) = (Vec::new(), Vec::new());
                for (c0, c1, r0, r1) in [(0, w, 0, h), (w / 3, w / 3 + 32, h / 4, h / 4 + 16)] {
                    want.paint(c0..c1, r0..r1, &mut a);
                    got.paint(c0..c1, r0..r1, &mut b);
                    assert!(a.iter().any(|p| p[3] > 0.0), "the test paints some text");
                    assert_eq!(
                        a.iter().map(|p| p.map(f32::to_bits)).collect::<Vec<_>>(),
                        b.iter().map(|p| p.map(f32::to_bits)).collect::<Vec<_>>(),
                        "{what} {space:?} window {c0}..{c1} x {r0}..{r1}"
                    );
                }
            }
        }
    }

    #[test]
    fn glyphs_far_off_the_raster_are_not_rasterized_and_a_stop_ends_the_rest() {
        let engine = TextEngine::bundled_only();
        // 40 glyphs 10,000 pixels high, one a line (each is wider than the
        // box): only the first line is near a 500 x 500 canvas (each glyph
        // took milliseconds to rasterize).
        let layer = Layer::text("W".repeat(40), 10_000.0).size(500, 500);
        let LayerKind::Text(t) = &layer.kind else {
            unreachable!("a text layer")
        };
        let geom = BoxGeometry::of(&layer);
        let before = engine.glyphs.rasterized();
        engine
            .glyphs(
                &layer,
                t,
                &geom,
                BlendSpace::Srgb,
                (500, 500),
                &Stop::never(),
                &mut engine.shared_glyphs(),
            )
            .expect("visible");
        assert!(
            engine.glyphs.rasterized() - before <= 2,
            "{}",
            engine.glyphs.rasterized() - before
        );
        // A render already stopped rasterizes nothing more.
        let stopped = crate::RenderOptions::default().cancel_token({
            let token = crate::CancelToken::new();
            token.cancel();
            token
        });
        let stop = stopped.stop();
        let small = Layer::text("Many glyphs, none drawn", 20.0).size(400, 100);
        let LayerKind::Text(t) = &small.kind else {
            unreachable!("a text layer")
        };
        let before = engine.glyphs.rasterized();
        let cut = engine
            .glyphs(
                &small,
                t,
                &BoxGeometry::of(&small),
                BlendSpace::Srgb,
                (400, 100),
                &stop,
                &mut engine.shared_glyphs(),
            )
            .expect("visible");
        assert!(cut.glyphs.is_empty());
        assert_eq!(engine.glyphs.rasterized(), before);
    }
}
