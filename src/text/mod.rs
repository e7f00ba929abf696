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
use std::sync::{Mutex, MutexGuard};

use cosmic_text::{FontSystem, SwashCache};

use crate::cancel::Stop;
use crate::error::{Error, Location};
use crate::pixels::PremulImage;
use crate::scene::{Layer, TextLayer};
use crate::warnings::Warning;

mod bold;
pub(crate) use bold::{emboldens, most_growth as most_bold_growth};
pub(crate) use ink::MadeUp;
pub(crate) use spacing::shifts_rtl;
mod emoji;
mod face;
mod fallback;
mod fallback_work;
mod family_hint;
mod glyph_cache;
mod hyphen;
mod ink;
mod layout;
mod raster;
mod shape;
mod spacing;

use glyph_cache::GlyphCache;

pub(crate) use glyph_cache::SharedGlyphs;
pub(crate) use layout::{largest_size, plan, raster_rect, FittedAhead};
pub(crate) use raster::crops_held_at_most;
pub(crate) use raster::TextGlyphs;

/// The bundled default family.
pub const DEFAULT_FAMILY: &str = "Inter";

const BUNDLED: &[&[u8]] = &[
    include_bytes!("../../fonts/inter/Inter-Light.otf"),
    include_bytes!("../../fonts/inter/Inter-Regular.otf"),
    include_bytes!("../../fonts/inter/Inter-Italic.otf"),
    include_bytes!("../../fonts/inter/Inter-SemiBold.otf"),
    include_bytes!("../../fonts/inter/Inter-Bold.otf"),
    include_bytes!("../../fonts/inter/Inter-BoldItalic.otf"),
];

/// Default byte budget of the rasterized-glyph cache: 64 MiB.
pub const DEFAULT_GLYPH_CACHE_BYTES: u64 = 64 << 20;

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
    /// What a character no font can draw does to a render (the
    /// renderer's; not the engine's, which renderers with other policies
    /// share).
    pub missing_glyphs: MissingGlyphs,
}

/// What a render does with a text layer's characters that no available font
/// can draw (they would be drawn as the font's empty box), set with
/// [`crate::Renderer::with_missing_glyphs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingGlyphs {
    /// Draw, with a [`crate::Warning::MissingGlyphs`] naming the layer and
    /// the characters (returned by [`crate::Renderer::render_report`],
    /// logged by the entry points that return only the image; the default).
    #[default]
    Warn,
    /// Refuse the scene: a bad-input error naming the layer, the field
    /// `text` and the characters.
    Error,
}

/// How a text layer lays out, from [`crate::Renderer::measure_text`]: what
/// both backends draw.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct TextMeasure {
    /// The width of each line drawn, in pixels, top to bottom (letter
    /// spacing included; an ellipsized line includes its "…").
    pub lines: Vec<f32>,
    /// The height of the lines drawn together, in pixels.
    pub height: f32,
    /// The font size used: the layer's `size`, or less with
    /// `overflow: shrink`.
    pub size: f32,
    /// Whether some of the text is not drawn: lines past `max_lines` cut
    /// off, or ellipsized (lines overflowing the box height with `clip` are
    /// drawn, cut at the box edge, and do not count).
    pub truncated: bool,
    /// Characters no available font can draw, each once, in order.
    pub missing: Vec<char>,
}

impl Default for FontOptions {
    fn default() -> FontOptions {
        FontOptions {
            font_dirs: Vec::new(),
            system_fonts: true,
            glyph_cache_bytes: DEFAULT_GLYPH_CACHE_BYTES,
            missing_glyphs: MissingGlyphs::default(),
        }
    }
}

/// The font database and the glyph images, shared by every render of a
/// [`crate::Renderer`]. Each thread shapes with a font system of its own
/// ([`Shaper`], from a pool), so text layers lay out and rasterize in
/// parallel; glyph images are shared ([`GlyphCache`]).
pub(crate) struct TextEngine {
    db: Mutex<FontDb>,
    /// Idle shapers, of the database's current generation or older.
    pool: Mutex<Vec<Shaper>>,
    glyphs: GlyphCache,
    options: FontOptions,
}

/// The fonts every shaper is made from.
struct FontDb {
    db: cosmic_text::fontdb::Database,
    /// Counts changes of `db` (the system's fonts loaded): shapers of an
    /// older generation are dropped.
    generation: u64,
    /// Whether the system's fonts are in `db` (loaded at most once).
    system_loaded: bool,
    /// The family names in `db`, sorted.
    families: Vec<String>,
    /// The characters some face of `db` with colour glyphs has, sorted
    /// (`TextEngine::may_draw_colour`): found when first asked.
    colour_chars: Option<Vec<u32>>,
}

/// One thread's shaping state: a font system made from the engine's font
/// database (face ids are the database's, so glyph images are shared by
/// every shaper) and swash scalers: cosmic-text's, and one for glyphs it
/// cannot draw (synthetic bold, `bold.rs`).
pub(crate) struct Shaper {
    generation: u64,
    pub fonts: FontSystem,
    pub scratch: SwashCache,
    pub bold: swash::scale::ScaleContext,
}

/// A shaper taken from the engine's pool; back to the pool when dropped.
pub(crate) struct ShaperGuard<'a> {
    engine: &'a TextEngine,
    shaper: Option<Shaper>,
}

impl std::ops::Deref for ShaperGuard<'_> {
    type Target = Shaper;
    fn deref(&self) -> &Shaper {
        self.shaper.as_ref().expect("present until dropped")
    }
}

impl std::ops::DerefMut for ShaperGuard<'_> {
    fn deref_mut(&mut self) -> &mut Shaper {
        self.shaper.as_mut().expect("present until dropped")
    }
}

impl Drop for ShaperGuard<'_> {
    fn drop(&mut self) {
        if let Some(shaper) = self.shaper.take() {
            if shaper.generation == self.engine.db().generation {
                lock(&self.engine.pool).push(shaper);
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
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
    /// The bytes of the largest glyph image the glyph cache keeps (a larger
    /// one is held by a render only as its crop to the raster), and the
    /// most it holds in all (which is also the most a render shares with
    /// it: [`TextEngine::shared_glyphs`]).
    pub(crate) fn glyph_cache_limits(&self) -> (u64, u64) {
        (self.glyphs.largest_kept(), self.glyphs.budget())
    }

    /// What one render shares with the glyph cache: at most its budget of
    /// glyph images.
    pub(crate) fn shared_glyphs(&self) -> SharedGlyphs {
        SharedGlyphs::new(self.glyphs.budget())
    }

    /// The bundled fonts alone (no folders, no system fonts), for tests.
    #[cfg(test)]
    pub(crate) fn bundled_only() -> TextEngine {
        TextEngine::new(FontOptions {
            system_fonts: false,
            ..FontOptions::default()
        })
        .expect("no font folders to fail on")
    }

    /// Loads the bundled fonts and the font folders; the system fonts (if
    /// asked for) wait until a text layer needs them
    /// ([`TextEngine::ensure_fonts_for`]).
    pub fn new(options: FontOptions) -> Result<TextEngine, Error> {
        let mut db = cosmic_text::fontdb::Database::new();
        for data in BUNDLED {
            // The bytes in the binary, shared rather than copied (1.6 MB
            // less memory to fault in for every renderer).
            let data: std::sync::Arc<dyn AsRef<[u8]> + Send + Sync> = std::sync::Arc::new(data);
            db.load_font_source(cosmic_text::fontdb::Source::Binary(data));
        }
        for dir in &options.font_dirs {
            if !dir.is_dir() {
                return Err(Error::Options(format!(
                    "font folder {}: not a folder",
                    crate::scene::quoted(&dir.display().to_string())
                )));
            }
            db.load_fonts_dir(dir);
        }
        let families = family_names(&db);
        Ok(TextEngine {
            db: Mutex::new(FontDb {
                db,
                generation: 0,
                system_loaded: false,
                families,
                colour_chars: None,
            }),
            pool: Mutex::new(Vec::new()),
            glyphs: GlyphCache::new(options.glyph_cache_bytes),
            options,
        })
    }

    fn db(&self) -> MutexGuard<'_, FontDb> {
        lock(&self.db)
    }

    /// A shaper for this thread: an idle one of the current fonts, or a new
    /// one (a font system over a copy of the database; its font files are
    /// shared, not copied).
    pub(crate) fn shaper(&self) -> ShaperGuard<'_> {
        let generation = self.db().generation;
        let idle = {
            let mut pool = lock(&self.pool);
            pool.retain(|s| s.generation == generation);
            pool.pop()
        };
        let shaper = idle.unwrap_or_else(|| {
            let (generation, db) = {
                let db = self.db();
                (db.generation, db.db.clone())
            };
            Shaper {
                generation,
                fonts: FontSystem::new_with_locale_and_db(LOCALE.into(), db),
                scratch: SwashCache::new(),
                bold: swash::scale::ScaleContext::new(),
            }
        });
        ShaperGuard {
            engine: self,
            shaper: Some(shaper),
        }
    }

    /// Adds the system's fonts after those loaded: the same database, in
    /// the same order, as loading them up front gives. Face ids of fonts
    /// already loaded do not change, so cached glyphs stay valid; shapers
    /// made before are dropped.
    fn load_system_fonts(&self, db: &mut FontDb) {
        db.db.load_system_fonts();
        db.families = family_names(&db.db);
        db.generation += 1;
        db.system_loaded = true;
        db.colour_chars = None;
        lock(&self.pool).clear();
    }

    /// Loads the system's fonts, once, if they are on and `t` may need them:
    /// its family is not among the fonts loaded, or its family's font (the
    /// face cosmic-text picks for its weight and style) lacks one of its
    /// characters, so fallback searches every font.
    pub fn ensure_fonts_for(&self, t: &TextLayer) {
        if !self.options.system_fonts || self.db().system_loaded {
            return;
        }
        if !covers(&mut self.shaper().fonts, t) {
            drop(self.ensure_all_fonts());
        }
    }

    /// Loads the system's fonts now if they are on and not loaded yet.
    fn ensure_all_fonts(&self) -> MutexGuard<'_, FontDb> {
        let mut db = self.db();
        if self.options.system_fonts && !db.system_loaded {
            self.load_system_fonts(&mut db);
        }
        db
    }

    /// Glyph images held in the CPU's glyph cache, and their bytes (the GPU
    /// backend's glyphs are in its atlases, `gpu::glyphs`).
    pub fn glyph_cache(&self) -> (usize, u64) {
        self.glyphs.stats()
    }

    /// The family names available (scans the system's fonts if they are on).
    pub fn families(&self) -> Vec<String> {
        self.ensure_all_fonts().families.clone()
    }

    /// Checks a text layer before it is drawn: its family exists, and its
    /// characters are drawable (or only warned about, as the options say:
    /// the warning is returned).
    pub(crate) fn check(
        &self,
        index: usize,
        layer: &Layer,
        t: &TextLayer,
        missing: MissingGlyphs,
        max_fallback_work: u64,
        stop: &Stop<'_>,
    ) -> Result<Option<Warning>, Error> {
        self.check_family(index, t)?;
        // A text the layer's own font covers needs no fallback and has no
        // missing character: one pass over its characters, no more.
        if covers(&mut self.shaper().fonts, t) {
            return Ok(None);
        }
        self.check_fallback_work(index, t, max_fallback_work)?;
        self.check_glyphs(index, layer, t, missing, stop)
    }

    /// Refuses a text layer one of whose words would ask font fallback for
    /// more than `max` (`Limits::max_text_fallback_work`), before it is laid
    /// out: see `fallback_work`.
    pub(crate) fn check_fallback_work(
        &self,
        index: usize,
        t: &TextLayer,
        max: u64,
    ) -> Result<(), Error> {
        self.ensure_fonts_for(t);
        let mut shaper = self.shaper();
        let Some(font) = primary_font(&mut shaper.fonts, t) else {
            return Ok(());
        };
        drop(shaper);
        fallback_work::check(&font, &t.text, index, max)
    }

    /// Checks that a text layer's family exists; the error names the family
    /// and everything searched.
    pub fn check_family(&self, index: usize, t: &TextLayer) -> Result<(), Error> {
        self.ensure_fonts_for(t);
        let Some(name) = &t.font else {
            return Ok(());
        };
        if self
            .db()
            .families
            .iter()
            .any(|f| f.eq_ignore_ascii_case(name))
        {
            return Ok(());
        }
        let mut searched = vec![format!("the bundled fonts ({DEFAULT_FAMILY})")];
        if !self.options.font_dirs.is_empty() {
            let dirs: Vec<String> = self
                .options
                .font_dirs
                .iter()
                .map(|d| crate::scene::quoted(&d.display().to_string()).to_string())
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
            {
                let db = self.db();
                let hint =
                    family_hint::hint(name, || db.families.iter().map(String::as_str).collect());
                format!(
                    "family {} not found; searched {}{}",
                    crate::scene::quoted(name),
                    searched.join(", "),
                    hint.map_or(String::new(), |h| format!("; {h}"))
                )
            },
        ))
    }

    /// How a text layer lays out (what both backends draw).
    /// `stop` ends the searches of `shrink` and `ellipsis` at once; the
    /// caller says why.
    pub fn measure(&self, layer: &Layer, t: &TextLayer, stop: &Stop<'_>) -> TextMeasure {
        self.ensure_fonts_for(t);
        let mut shaper = self.shaper();
        let fitted = layout::fit(&mut shaper.fonts, layer, t, stop);
        TextMeasure {
            lines: fitted.buffer.layout_runs().map(|r| r.line_w).collect(),
            height: fitted.buffer.layout_runs().map(|r| r.line_height).sum(),
            size: fitted.size,
            truncated: fitted.truncated,
            missing: layout::missing_chars(&mut shaper.fonts, &fitted.buffer),
        }
    }

    /// Characters of a text layer no available font draws, as the options
    /// say: a warning (returned, for the render's report), or an error
    /// naming the layer, `text` and them. Called only when the layer's own
    /// font lacks a character ([`TextEngine::check`]): it lays the text out.
    fn check_glyphs(
        &self,
        index: usize,
        layer: &Layer,
        t: &TextLayer,
        missing_glyphs: MissingGlyphs,
        stop: &Stop<'_>,
    ) -> Result<Option<Warning>, Error> {
        let mut shaper = self.shaper();
        let fitted = layout::fit(&mut shaper.fonts, layer, t, stop);
        let missing = layout::missing_chars(&mut shaper.fonts, &fitted.buffer);
        drop(shaper);
        if missing.is_empty() {
            return Ok(None);
        }
        let listed: Vec<String> = missing
            .iter()
            .map(|&c| crate::warnings::char_listed(c))
            .collect();
        let what = format!("no available font has {}", listed.join(", "));
        match missing_glyphs {
            MissingGlyphs::Warn => Ok(Some(Warning::MissingGlyphs {
                layer: index,
                chars: missing,
                family: t.font.clone().unwrap_or_else(|| DEFAULT_FAMILY.into()),
            })),
            MissingGlyphs::Error => Err(Error::scene(
                Location::Layer {
                    index,
                    kind: Some("text".into()),
                },
                Some("text"),
                what,
            )),
        }
    }
}

/// The locale the font system is made with.
pub(crate) const LOCALE: &str = "en-US";

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

/// The face `t` is drawn from (the one CSS picks from its family, see
/// [`face`]), if it is loaded.
fn primary_font(
    fonts: &mut FontSystem,
    t: &TextLayer,
) -> Option<std::sync::Arc<cosmic_text::Font>> {
    let family = t.font.as_deref().unwrap_or(DEFAULT_FAMILY);
    let spelt = layout::family_spelling(fonts.db(), family);
    let family = spelt.as_deref().unwrap_or(family);
    let (id, weight) = face::css_face(fonts.db(), family, t.weight, t.italic)?;
    fonts.get_font(id, weight)
}

/// The characters of `text` that `font` lacks. Line breaks are not drawn
/// and need no glyph.
fn lacks<'a>(font: &'a cosmic_text::Font, text: &'a str) -> impl Iterator<Item = char> + 'a {
    let charmap = font.as_swash().charmap();
    text.chars()
        .filter(|&c| !c.is_control() && !matches!(c, '\u{2028}' | '\u{2029}'))
        .filter(move |&c| charmap.map(c) == 0)
}

/// Whether the font cosmic-text picks for `t` is loaded and has every
/// character of its text, so that shaping needs no fallback.
fn covers(fonts: &mut FontSystem, t: &TextLayer) -> bool {
    primary_font(fonts, t).is_some_and(|font| lacks(&font, &t.text).next().is_none())
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
        e.db().system_loaded
    }

    #[test]
    fn text_the_bundled_font_covers_does_not_scan_system_fonts() {
        let e = engine();
        e.check_family(0, &layer("Hello, world!\nCafé – 42", None))
            .expect("Inter is bundled");
        e.check_family(1, &layer("Bold", Some("Inter")))
            .expect("Inter is bundled");
        // Family names match without case: "inter" is the bundled Inter
        // (respelt for cosmic-text, which matches names exactly).
        e.check_family(2, &layer("x", Some("inter")))
            .expect("family names are checked without case");
        assert!(!system_loaded(&e));
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
        let e = TextEngine::bundled_only();
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
