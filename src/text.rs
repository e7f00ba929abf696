//! Text layers: fonts, layout and glyph rasterization.
//!
//! Layout is done once, with cosmic-text (shaping with ligatures and
//! kerning, line breaking on word boundaries and between CJK characters,
//! glyph fallback through the available fonts), and yields positioned glyphs
//! in the layer's box. The CPU backend rasterizes those glyphs with swash
//! (through cosmic-text's glyph cache, which persists across renders, so a
//! glyph seen before is not rasterized again) into a premultiplied raster of
//! the visible part of the box, which is then composited like any other layer.
//!
//! Fonts are looked up by family name among the bundled Inter family
//! (compiled in, see `fonts/inter/README.md`), the folders given with
//! [`crate::Renderer::with_font_dir`], and the system's fonts unless turned
//! off with [`crate::Renderer::with_system_fonts`].
//!
//! The system's fonts are scanned lazily (tens of milliseconds): only when a
//! text layer names a family the bundled fonts and font folders lack, or has
//! a character its font lacks (so glyph fallback may need them), or when the
//! list of families is asked for; then once per engine. A scene those fonts
//! serve renders without the scan. Scanning later gives the same font
//! database (bundled, folders, system, in that order) and the same font
//! system as scanning up front, so scenes that need the system's fonts render
//! exactly as before.

use std::path::PathBuf;
use std::sync::Mutex;

use cosmic_text::{
    Align as CtAlign, Attrs, Buffer, Family, FontSystem, Metrics, Shaping, Style, SwashCache,
    SwashContent, Weight, Wrap,
};

use crate::blend::{composite, BlendMode};
use crate::color::{premultiply_rgba8, BlendSpace};
use crate::error::{Error, Location};
use crate::pixels::{store16, PremulImage};
use crate::plan::geometry::BoxGeometry;
use crate::scene::{Align, Layer, TextLayer, VAlign};

/// The bundled default family.
pub const DEFAULT_FAMILY: &str = "Inter";

const BUNDLED: &[&[u8]] = &[
    include_bytes!("../fonts/inter/Inter-Light.otf"),
    include_bytes!("../fonts/inter/Inter-Regular.otf"),
    include_bytes!("../fonts/inter/Inter-Italic.otf"),
    include_bytes!("../fonts/inter/Inter-SemiBold.otf"),
    include_bytes!("../fonts/inter/Inter-Bold.otf"),
    include_bytes!("../fonts/inter/Inter-BoldItalic.otf"),
];

/// Default byte budget of the rasterized-glyph cache: 64 MiB.
pub const DEFAULT_GLYPH_CACHE_BYTES: u64 = 64 << 20;

/// Share of the glyph budget one glyph may take and still be kept: a larger
/// glyph (a 10,000-pixel emoji) is rasterized for the render that needs it
/// and dropped.
const LARGEST_KEPT_GLYPH_SHARE: u64 = 64;

/// Where fonts come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FontOptions {
    /// Extra folders searched for font files (recursively).
    pub font_dirs: Vec<PathBuf>,
    /// Whether the system's fonts are available (on by default; turn off for
    /// output that does not depend on the machine).
    pub system_fonts: bool,
    /// Byte budget of the rasterized-glyph cache kept between renders.
    pub glyph_cache_bytes: u64,
}

impl Default for FontOptions {
    fn default() -> FontOptions {
        FontOptions {
            font_dirs: Vec::new(),
            system_fonts: true,
            glyph_cache_bytes: DEFAULT_GLYPH_CACHE_BYTES,
        }
    }
}

/// The font database and the glyph cache, shared by every render of a
/// [`crate::Renderer`].
pub(crate) struct TextEngine {
    inner: Mutex<TextState>,
    options: FontOptions,
}

/// The font system and the glyph cache, behind the engine's lock.
pub(crate) struct TextState {
    pub fonts: FontSystem,
    pub glyphs: SwashCache,
    /// Whether the system's fonts are in `fonts` (loaded at most once).
    system_loaded: bool,
    /// The family names in `fonts`, sorted.
    families: Vec<String>,
}

impl std::fmt::Debug for TextEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextEngine")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// A text layer rasterized: premultiplied pixels of the box-local rectangle
/// `origin .. origin + (width, height)`.
pub(crate) struct TextRaster {
    pub image: PremulImage,
    pub origin: (f64, f64),
}

impl TextEngine {
    /// Loads the bundled fonts and the font folders; the system fonts (if
    /// asked for) wait until a text layer needs them
    /// ([`TextEngine::ensure_fonts_for`]).
    pub fn new(options: FontOptions) -> Result<TextEngine, Error> {
        let mut db = cosmic_text::fontdb::Database::new();
        for data in BUNDLED {
            db.load_font_data(data.to_vec());
        }
        for dir in &options.font_dirs {
            if !dir.is_dir() {
                return Err(Error::Options(format!(
                    "font folder {}: not a folder",
                    dir.display()
                )));
            }
            db.load_fonts_dir(dir);
        }
        let families = family_names(&db);
        let fonts = FontSystem::new_with_locale_and_db(LOCALE.into(), db);
        Ok(TextEngine {
            inner: Mutex::new(TextState {
                fonts,
                glyphs: SwashCache::new(),
                system_loaded: false,
                families,
            }),
            options,
        })
    }

    /// Loads the system's fonts, once, if they are on and `t` may need them:
    /// its family is not among the fonts loaded, or its family's font (the
    /// face cosmic-text picks for its weight and style) lacks one of its
    /// characters, so fallback searches every font.
    pub fn ensure_fonts_for(&self, t: &TextLayer) {
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if self.options.system_fonts && !guard.system_loaded && !covers(&mut guard.fonts, t) {
            load_system_fonts(&mut guard);
        }
    }

    /// Loads the system's fonts now if they are on and not loaded yet.
    fn ensure_all_fonts(&self) -> std::sync::MutexGuard<'_, TextState> {
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if self.options.system_fonts && !guard.system_loaded {
            load_system_fonts(&mut guard);
        }
        guard
    }

    /// Glyph images held in the cache, and their bytes.
    pub fn glyph_cache(&self) -> (usize, u64) {
        let guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        (guard.glyphs.image_cache.len(), cache_bytes(&guard.glyphs))
    }

    /// The family names available (scans the system's fonts if they are on).
    pub fn families(&self) -> Vec<String> {
        self.ensure_all_fonts().families.clone()
    }

    /// Checks that a text layer's family exists; the error names the family
    /// and everything searched.
    pub fn check_family(&self, index: usize, t: &TextLayer) -> Result<(), Error> {
        self.ensure_fonts_for(t);
        let Some(name) = &t.font else {
            return Ok(());
        };
        let guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if guard.families.iter().any(|f| f.eq_ignore_ascii_case(name)) {
            return Ok(());
        }
        drop(guard);
        let mut searched = vec![format!("the bundled fonts ({DEFAULT_FAMILY})")];
        if !self.options.font_dirs.is_empty() {
            let dirs: Vec<String> = self
                .options
                .font_dirs
                .iter()
                .map(|d| d.display().to_string())
                .collect();
            searched.push(format!("the font folders {}", dirs.join(", ")));
        }
        searched.push(if self.options.system_fonts {
            "the system fonts".into()
        } else {
            "no system fonts (turned off)".into()
        });
        Err(Error::scene(
            Location::Layer {
                index,
                kind: Some("text".into()),
            },
            Some("font"),
            format!(
                "family {name:?} not found; searched {}",
                searched.join(", ")
            ),
        ))
    }

    /// Locks the font system and glyph cache (for the GPU backend's glyphon
    /// pass, which shares them).
    /// The glyph cache is trimmed to its byte budget here, before the
    /// render that takes the lock adds to it.
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, TextState> {
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        trim_glyph_cache(&mut guard.glyphs, self.options.glyph_cache_bytes);
        guard
    }

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
        let mut guard = self.lock();
        let TextState { fonts, glyphs, .. } = &mut *guard;
        let (buffer, plan) = plan(fonts, layer, t, geom, canvas_w, canvas_h)?;
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
                let Some(img) = glyphs.get_image(fonts, phys.cache_key) else {
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
        trim_glyph_cache(glyphs, self.options.glyph_cache_bytes);
        drop(guard);
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

    /// The laid-out width of each line of a text layer (tests, diagnostics).
    pub fn line_widths(&self, layer: &Layer, t: &TextLayer) -> Vec<f32> {
        self.ensure_fonts_for(t);
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let buffer = layout(&mut guard.fonts, layer, t);
        buffer.layout_runs().map(|r| r.line_w).collect()
    }
}

/// The locale the font system is made with.
const LOCALE: &str = "en-US";

/// Every family name in `db`, sorted, without repeats.
fn family_names(db: &cosmic_text::fontdb::Database) -> Vec<String> {
    let mut families: Vec<String> = db
        .faces()
        .flat_map(|f| f.families.iter().map(|(name, _)| name.clone()))
        .collect();
    families.sort();
    families.dedup();
    families
}

/// Adds the system's fonts after those loaded, and makes the font system
/// again from the database: the same database, in the same order, and the
/// same font system as loading them up front gives. Face ids of fonts
/// already loaded do not change, so cached glyphs stay valid.
fn load_system_fonts(state: &mut TextState) {
    let empty =
        FontSystem::new_with_locale_and_db(LOCALE.into(), cosmic_text::fontdb::Database::new());
    let (locale, mut db) = std::mem::replace(&mut state.fonts, empty).into_locale_and_db();
    db.load_system_fonts();
    state.families = family_names(&db);
    state.fonts = FontSystem::new_with_locale_and_db(locale, db);
    state.system_loaded = true;
}

/// Whether the font cosmic-text picks for `t` (its family, weight and style)
/// is loaded and has every character of its text, so that shaping needs no
/// fallback. Line breaks are not drawn and need no glyph.
fn covers(fonts: &mut FontSystem, t: &TextLayer) -> bool {
    let family = t.font.as_deref().unwrap_or(DEFAULT_FAMILY);
    let weight = Weight(t.weight);
    let query = cosmic_text::fontdb::Query {
        families: &[Family::Name(family)],
        weight,
        stretch: cosmic_text::fontdb::Stretch::Normal,
        style: if t.italic {
            Style::Italic
        } else {
            Style::Normal
        },
    };
    let Some(id) = fonts.db().query(&query) else {
        return false;
    };
    let Some(font) = fonts.get_font(id, weight) else {
        return false;
    };
    let charmap = font.as_swash().charmap();
    t.text
        .chars()
        .filter(|&c| c != '\n' && c != '\r')
        .all(|c| charmap.map(c) != 0)
}

/// Bytes of glyph images a cache holds.
fn cache_bytes(cache: &SwashCache) -> u64 {
    cache
        .image_cache
        .values()
        .flatten()
        .map(|g| g.data.len() as u64)
        .sum()
}

/// Brings the glyph cache under `budget` bytes: glyphs over a share of the
/// budget are dropped (they served the render that drew them), then, if it
/// is still over, everything. Called after the CPU rasterizes a layer and
/// when a render takes the lock (the GPU's glyph renderer fills the same
/// cache). One pass over the cache per text render, next to which
/// rasterizing a glyph again is slow.
fn trim_glyph_cache(cache: &mut SwashCache, budget: u64) {
    let largest = budget / LARGEST_KEPT_GLYPH_SHARE;
    cache
        .image_cache
        .retain(|_, g| g.as_ref().is_none_or(|g| g.data.len() as u64 <= largest));
    if cache_bytes(cache) > budget {
        cache.image_cache.clear();
    }
}

/// Where a text layer's raster lies and where its text starts in it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct TextPlan {
    /// Box-local position of the raster's top-left pixel (whole canvas
    /// pixels when the box is not rotated).
    pub origin: (f64, f64),
    /// Raster size in pixels.
    pub width: u32,
    pub height: u32,
    /// The text's top-left corner in raster pixels (valign applied).
    pub left: f32,
    pub top: f32,
}

/// Lays a text layer out and plans its raster: the part of the box that can
/// be visible on the canvas (the box intersected with the canvas taken back
/// through the rotation). `None` when nothing is visible.
pub(crate) fn plan(
    fonts: &mut FontSystem,
    layer: &Layer,
    t: &TextLayer,
    geom: &BoxGeometry,
    canvas_w: u32,
    canvas_h: u32,
) -> Option<(Buffer, TextPlan)> {
    let corners = [
        geom.local_point(0.0, 0.0),
        geom.local_point(canvas_w as f64, 0.0),
        geom.local_point(0.0, canvas_h as f64),
        geom.local_point(canvas_w as f64, canvas_h as f64),
    ];
    let margin = if geom.axis_aligned { 0.0 } else { 2.0 };
    let lx0 = corners.iter().map(|c| c.0).fold(f64::INFINITY, f64::min) - margin;
    let ly0 = corners.iter().map(|c| c.1).fold(f64::INFINITY, f64::min) - margin;
    let lx1 = corners
        .iter()
        .map(|c| c.0)
        .fold(f64::NEG_INFINITY, f64::max)
        + margin;
    let ly1 = corners
        .iter()
        .map(|c| c.1)
        .fold(f64::NEG_INFINITY, f64::max)
        + margin;
    let rx0 = geom.x0.max(lx0).floor();
    let ry0 = geom.y0.max(ly0).floor();
    let rx1 = geom.x1.min(lx1).ceil();
    let ry1 = geom.y1.min(ly1).ceil();
    if rx0 >= rx1 || ry0 >= ry1 {
        return None;
    }
    let buffer = layout(fonts, layer, t);
    let text_height: f32 = buffer.layout_runs().map(|r| r.line_height).sum();
    let free = layer.height as f32 - text_height;
    let dy = match t.valign {
        VAlign::Top => 0.0,
        VAlign::Middle => free / 2.0,
        VAlign::Bottom => free,
    };
    let plan = TextPlan {
        origin: (rx0, ry0),
        width: (rx1 - rx0) as u32,
        height: (ry1 - ry0) as u32,
        left: (layer.x - rx0) as f32,
        top: (layer.y - ry0) as f32 + dy,
    };
    Some((buffer, plan))
}

/// Shapes and lays out a text layer in its box: wrapping at the box width on
/// word boundaries (anywhere a word must break), with the layer's alignment.
fn layout(fonts: &mut FontSystem, layer: &Layer, t: &TextLayer) -> Buffer {
    let size = t.size as f32;
    let mut buffer = Buffer::new(fonts, Metrics::new(size, size * t.line_height as f32));
    buffer.set_wrap(Wrap::WordOrGlyph);
    buffer.set_size(Some(layer.width as f32), None);
    let family = t.font.as_deref().unwrap_or(DEFAULT_FAMILY);
    let attrs = Attrs::new()
        .family(Family::Name(family))
        .weight(Weight(t.weight))
        .style(if t.italic {
            Style::Italic
        } else {
            Style::Normal
        });
    let align = match t.align {
        Align::Left => CtAlign::Left,
        Align::Center => CtAlign::Center,
        Align::Right => CtAlign::Right,
    };
    buffer.set_text(&t.text, &attrs, Shaping::Advanced, Some(align));
    buffer.shape_until_scroll(fonts, false);
    buffer
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> TextEngine {
        TextEngine::new(FontOptions::default()).expect("no font folders to fail on")
    }

    fn layer(text: &str, font: Option<&str>) -> TextLayer {
        TextLayer {
            text: text.into(),
            font: font.map(Into::into),
            ..TextLayer::default()
        }
    }

    fn system_loaded(e: &TextEngine) -> bool {
        e.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .system_loaded
    }

    #[test]
    fn text_the_bundled_font_covers_does_not_scan_system_fonts() {
        let e = engine();
        e.check_family(0, &layer("Hello, world!\nCafé – 42", None))
            .expect("Inter is bundled");
        e.check_family(1, &layer("Bold", Some("Inter")))
            .expect("Inter is bundled");
        assert!(!system_loaded(&e));
        // cosmic-text matches family names exactly: "inter" goes through
        // fallback over every font, so the system's fonts are loaded.
        e.check_family(2, &layer("x", Some("inter")))
            .expect("family names are checked without case");
        assert!(system_loaded(&e));
    }

    #[test]
    fn a_character_the_font_lacks_scans_system_fonts_once() {
        let e = engine();
        e.check_family(0, &layer("咖啡", None))
            .expect("default family");
        assert!(system_loaded(&e));
    }

    #[test]
    fn an_unknown_family_scans_system_fonts_before_it_is_refused() {
        let e = engine();
        let err = e
            .check_family(3, &layer("x", Some("No Such Family 1234")))
            .unwrap_err();
        assert!(system_loaded(&e));
        assert!(err.to_string().contains("the system fonts"), "{err}");
    }

    #[test]
    fn system_fonts_turned_off_are_never_scanned() {
        let e = TextEngine::new(FontOptions {
            system_fonts: false,
            ..FontOptions::default()
        })
        .expect("no font folders to fail on");
        e.check_family(0, &layer("咖啡", None))
            .expect("default family");
        assert!(e.families().iter().all(|f| f == DEFAULT_FAMILY));
        assert!(!system_loaded(&e));
    }

    #[test]
    fn lazily_scanned_families_equal_those_scanned_up_front() {
        let mut db = cosmic_text::fontdb::Database::new();
        for data in BUNDLED {
            db.load_font_data(data.to_vec());
        }
        db.load_system_fonts();
        assert_eq!(engine().families(), family_names(&db));
    }
}
