//! Synthetic bold: text asked for at a bold weight (600 or more) drawn
//! from a face lighter than that (the face CSS picks, [`super::face`], in
//! the layer's family or in the family a character falls back to,
//! `super::shape`) is emboldened, as browsers do (CSS Fonts 4,
//! `font-synthesis-weight: auto`; Firefox's rule: a weight of 600 or more
//! drawn from a face lighter than 600).
//!
//! How: Skia's (Chrome's) fake bold, the outline stroked and filled, the
//! stroke `size / 24` wide at 9 pixels and smaller, `size / 32` at 36 and
//! larger, linearly between, mitred (limit 4). Advances are not changed
//! (shaping has already placed the glyphs), so the ink of neighbouring
//! letters comes closer by that much, as in Chrome.
//!
//! The shaped glyphs of such text carry [`SYNTHETIC_BOLD`] in their cache
//! key's flags (set on the text's attributes, so cosmic-text copies it to
//! every glyph of the span, and the glyph caches tell them from the same
//! glyphs drawn regular). Its rasterizer ignores the flag: [`image`]
//! rasterizes flagged glyphs the way cosmic-text's
//! `SwashCache::get_image_uncached` does, and adds the stroke. A flagged
//! glyph whose own face is bold already is drawn as it is, and so is a
//! colour glyph (emoji).
//!
//! glyphon draws through cosmic-text's rasterizer, so on the GPU the text
//! layers holding flagged glyphs are rasterized by the CPU painter
//! (`crate::gpu::text`) and sampled like images.

use cosmic_text::fontdb::Weight;
use cosmic_text::{CacheKey, CacheKeyFlags, FontSystem, SwashImage};
use swash::scale::image::Content;
use swash::scale::{Render, ScaleContext, Source, StrikeWith};
use swash::zeno::{Angle, Format, Join, Stroke, Transform, Vector};

/// The flag of a glyph asked for bold and drawn from a face lighter than
/// bold. A bit cosmic-text does not use (its flags are the low three).
pub(crate) const SYNTHETIC_BOLD: CacheKeyFlags = CacheKeyFlags::from_bits_retain(1 << 16);

/// Whether a layout holds glyphs flagged [`SYNTHETIC_BOLD`].
pub(crate) fn emboldens(buffer: &cosmic_text::Buffer) -> bool {
    buffer.layout_runs().any(|run| {
        run.glyphs
            .iter()
            .any(|g| g.cache_key_flags.contains(SYNTHETIC_BOLD))
    })
}

/// The lightest weight that counts as bold.
const BOLD: u16 = 600;

/// Whether text asked for at `asked` and drawn from a face at `drawn` (its
/// own weight, or a variable face's weight within its axis) is emboldened.
pub(crate) fn wanted(asked: u16, drawn: Weight) -> bool {
    may_embolden(asked) && drawn.0 < BOLD
}

/// Whether text asked for at `asked` may be emboldened (when its face is
/// lighter than bold).
pub(crate) fn may_embolden(asked: u16) -> bool {
    asked >= BOLD
}

/// How far the outline of a glyph at `size` pixels grows on each side:
/// half of Skia's fake-bold stroke.
pub(crate) fn outset(size: f32) -> f32 {
    const SMALL: (f32, f32) = (9.0, 1.0 / 24.0);
    const LARGE: (f32, f32) = (36.0, 1.0 / 32.0);
    let ratio = if size <= SMALL.0 {
        SMALL.1
    } else if size >= LARGE.0 {
        LARGE.1
    } else {
        let t = (size - SMALL.0) / (LARGE.0 - SMALL.0);
        SMALL.1 + (LARGE.1 - SMALL.1) * t
    };
    size * ratio / 2.0
}

/// The most pixels emboldening adds to the width or the height of a glyph's
/// image at `size` (both sides together): a mitre reaches at most 4 stroke
/// widths' halves past a corner (the mitre limit), 4 outsets each side.
pub(crate) fn most_growth(size: f64) -> f64 {
    8.0 * f64::from(outset(size as f32))
}

/// The weight a glyph of `key` is drawn at from its face: a variable face's
/// weight asked for, within its `wght` axis; a static face's own.
fn face_weight(fonts: &FontSystem, key: &CacheKey) -> Option<Weight> {
    let face = fonts.db().face(key.font_id)?;
    Some(match super::face::weight_axis(fonts.db(), key.font_id) {
        Some((low, high)) => Weight(f32::from(key.font_weight.0).clamp(low, high) as u16),
        None => face.weight,
    })
}

/// The image of a glyph flagged [`SYNTHETIC_BOLD`], rasterized as
/// cosmic-text rasterizes glyphs (its `swash_image`: colour outlines, then
/// colour bitmaps, then the outline; its `wght` setting, hinting, sub-pixel
/// offset and synthetic italic), the outline emboldened unless its face is
/// bold already. `None` for a glyph whose font is not loaded.
pub(crate) fn image(
    fonts: &mut FontSystem,
    context: &mut ScaleContext,
    key: CacheKey,
) -> Option<SwashImage> {
    let light = face_weight(fonts, &key).is_some_and(|w| w.0 < BOLD);
    let font = fonts.get_font(key.font_id, key.font_weight)?;
    let size = f32::from_bits(key.font_size_bits);
    let swash_font = font.as_swash();
    let wght = swash::Tag::from_be_bytes(*b"wght");
    let mut builder = context
        .builder(swash_font)
        .size(size)
        .hint(!key.flags.contains(CacheKeyFlags::DISABLE_HINTING));
    if let Some(axis) = swash_font.variations().find_by_tag(wght) {
        let weight = f32::from(key.font_weight.0).clamp(axis.min_value(), axis.max_value());
        builder =
            builder.normalized_coords(swash_font.variations().normalized_coords([(wght, weight)]));
    }
    let mut scaler = builder.build();
    let offset = if key.flags.contains(CacheKeyFlags::PIXEL_FONT) {
        Vector::new(key.x_bin.as_float().round(), key.y_bin.as_float().round())
    } else {
        Vector::new(key.x_bin.as_float(), key.y_bin.as_float())
    };
    let skew = key
        .flags
        .contains(CacheKeyFlags::FAKE_ITALIC)
        .then(|| Transform::skew(Angle::from_degrees(14.0), Angle::from_degrees(0.0)));
    let fill = Render::new(&[
        Source::ColorOutline(0),
        Source::ColorBitmap(StrikeWith::BestFit),
        Source::Outline,
    ])
    .format(Format::Alpha)
    .offset(offset)
    .transform(skew)
    .render(&mut scaler, key.glyph_id)?;
    // Colour glyphs (emoji) are drawn as they are.
    if !light || !matches!(fill.content, Content::Mask) {
        return Some(fill);
    }
    // Skia's fake bold is the outline stroked and filled: the stroke,
    // mitred as Skia's paint is by default (limit 4), on the same
    // (slanted) outline, and the fill, together. swash's own `embolden`
    // (FreeType's, moving points along the normals) leaves sharp turns and
    // short segments where they are: a reviewer's star of 50 spikes and a
    // rough edge of 200 teeth did not grow at all.
    let mut stroke = Stroke::new(2.0 * outset(size));
    stroke.join(Join::Miter).miter_limit(4.0);
    let edge = Render::new(&[Source::Outline])
        .format(Format::Alpha)
        .offset(offset)
        .transform(skew)
        .style(stroke)
        .render(&mut scaler, key.glyph_id)?;
    Some(union(&fill, edge))
}

/// The coverage of two masks together (the larger at each pixel), in the
/// box holding both. Placements are whole pixels: `left` from the pen, `top`
/// above the baseline.
fn union(a: &SwashImage, mut b: SwashImage) -> SwashImage {
    let (pa, pb) = (a.placement, b.placement);
    let left = pa.left.min(pb.left);
    let top = pa.top.max(pb.top);
    let right = (pa.left + pa.width as i32).max(pb.left + pb.width as i32);
    let bottom = (pa.top - pa.height as i32).min(pb.top - pb.height as i32);
    let (w, h) = ((right - left) as usize, (top - bottom) as usize);
    let mut out = vec![0u8; w * h];
    for img in [a, &b] {
        let p = img.placement;
        let (dx, dy) = ((p.left - left) as usize, (top - p.top) as usize);
        for (y, row) in img.data.chunks_exact(p.width.max(1) as usize).enumerate() {
            let at = (dy + y) * w + dx;
            for (o, &v) in out[at..at + row.len()].iter_mut().zip(row) {
                *o = (*o).max(v);
            }
        }
    }
    b.placement.left = left;
    b.placement.top = top;
    b.placement.width = w as u32;
    b.placement.height = h as u32;
    b.data = out;
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use cosmic_text::fontdb::Database;
    use cosmic_text::SwashCache;

    #[test]
    fn the_outset_is_half_of_skias_fake_bold_stroke() {
        // 1/24 of the size up to 9 px, 1/32 from 36 px, linear between.
        assert_eq!(outset(6.0), 6.0 / 48.0);
        assert_eq!(outset(9.0), 9.0 / 48.0);
        assert_eq!(outset(100.0), 100.0 / 64.0);
        let mid = (1.0 / 24.0 + 1.0 / 32.0) / 2.0;
        assert!((outset(22.5) - 22.5 * mid / 2.0).abs() < 1e-6);
        assert_eq!(most_growth(100.0), 12.5);
    }

    #[test]
    fn bold_is_made_up_only_for_600_and_more_drawn_lighter_than_600() {
        assert!(wanted(700, Weight(400)));
        assert!(wanted(600, Weight(500)));
        assert!(!wanted(500, Weight(400)), "500 is not bold");
        assert!(!wanted(700, Weight(600)), "a semibold face is bold");
        assert!(!wanted(900, Weight(700)));
    }

    /// A font system of the bundled Inter `file` alone, its face's id and
    /// a key for glyph 40 at size 37, at a quarter-pixel offset.
    fn inter(file: &str, flags: CacheKeyFlags) -> (FontSystem, CacheKey) {
        let mut db = Database::new();
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fonts/inter");
        db.load_font_file(format!("{dir}/{file}"))
            .expect("a bundled font");
        let face = db.faces().next().expect("one face");
        let (id, weight) = (face.id, face.weight);
        let fonts = FontSystem::new_with_locale_and_db("en-US".into(), db);
        let (key, _, _) = CacheKey::new(id, 40, 37.0, (0.25, 0.0), weight, flags);
        (fonts, key)
    }

    #[test]
    fn a_glyph_not_emboldened_is_the_image_cosmic_text_rasterizes() {
        // Inter Bold is bold already: flagged (a fallback face), it is
        // drawn as cosmic-text draws it, upright and slanted.
        for flags in [CacheKeyFlags::empty(), CacheKeyFlags::FAKE_ITALIC] {
            let (mut fonts, key) = inter("Inter-Bold.otf", flags | SYNTHETIC_BOLD);
            let ours = image(&mut fonts, &mut ScaleContext::new(), key).expect("drawn");
            let plain = CacheKey { flags, ..key };
            let theirs = SwashCache::new()
                .get_image_uncached(&mut fonts, plain)
                .expect("drawn");
            let at = |p: swash::zeno::Placement| (p.left, p.top, p.width, p.height);
            assert_eq!(at(ours.placement), at(theirs.placement), "{flags:?}");
            assert!(ours.data == theirs.data, "{flags:?}");
        }
    }

    #[test]
    fn an_emboldened_glyph_covers_the_glyph_and_grows_by_the_outset_each_side() {
        let (mut fonts, key) = inter("Inter-Regular.otf", SYNTHETIC_BOLD);
        let bold = image(&mut fonts, &mut ScaleContext::new(), key).expect("drawn");
        let plain = CacheKey {
            flags: CacheKeyFlags::empty(),
            ..key
        };
        let regular = SwashCache::new()
            .get_image_uncached(&mut fonts, plain)
            .expect("drawn");
        let (b, r) = (bold.placement, regular.placement);
        // 37 px: an outset of 37/64 px on each side, so the box grows by
        // at most a pixel on each side.
        assert!(b.left <= r.left && b.left >= r.left - 1, "{b:?} {r:?}");
        assert!(b.top >= r.top && b.top <= r.top + 1, "{b:?} {r:?}");
        assert!(b.width > r.width && b.width <= r.width + 2, "{b:?} {r:?}");
        assert!(
            b.height > r.height && b.height <= r.height + 2,
            "{b:?} {r:?}"
        );
        let ink = |data: &[u8]| data.iter().map(|&a| u64::from(a)).sum::<u64>();
        assert!(ink(&bold.data) > ink(&regular.data) * 11 / 10);
    }
}
