//! What a render that succeeded has to say: facts that did not stop it but
//! that the caller may want to act on (a batch puts them in its manifest,
//! `impasto render` prints them), returned by
//! [`crate::Renderer::render_report`] as a [`Rendered`].
//!
//! [`crate::Renderer::render`] and the other entry points that return only
//! the image log each warning instead (`log::warn!`), as before.

use std::fmt;
use std::path::Path;

use image::RgbaImage;

use crate::codec;
use crate::{Assets, Error, RenderOptions, Renderer, Scene};

/// A non-fatal fact about a render.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Warning {
    /// Characters of a text layer that no available font can draw: they
    /// are drawn as the font's empty box (with
    /// [`crate::MissingGlyphs::Error`] they are an error instead).
    MissingGlyphs {
        /// The text layer's index in the scene.
        layer: usize,
        /// The characters, each once, in the order they appear.
        chars: Vec<char>,
        /// The family the layer asked for (the default one when it names
        /// none); every other available font was searched too.
        family: String,
    },
    /// An image layer's file carries colour information that could not be
    /// applied (an ICC profile that does not parse or does not match the
    /// pixels, a PNG `cICP` with an HDR transfer, ...): its colours were
    /// taken as sRGB (a CMYK file's converted without a profile).
    ColourProfileIgnored {
        /// The index of the first image layer drawing the file.
        layer: usize,
        /// The layer's `src`.
        src: String,
        /// Why it was ignored.
        reason: String,
    },
    /// An image layer's file (a GIF) is cut short: the whole frames before
    /// the cut are drawn, as a browser shows them, and the frames after it
    /// are missing.
    FileCutShort {
        /// The index of the first image layer drawing the file.
        layer: usize,
        /// The layer's `src`.
        src: String,
        /// What is shown.
        reason: String,
    },
}

impl Warning {
    /// A short stable name for the kind of warning (`missing_glyphs`), for
    /// machine-readable output such as a batch manifest.
    pub fn kind(&self) -> &'static str {
        match self {
            Warning::MissingGlyphs { .. } => "missing_glyphs",
            Warning::ColourProfileIgnored { .. } => "colour_profile_ignored",
            Warning::FileCutShort { .. } => "file_cut_short",
        }
    }

    /// The index of the layer the warning is about, if it is about one.
    pub fn layer(&self) -> Option<usize> {
        match self {
            Warning::MissingGlyphs { layer, .. }
            | Warning::ColourProfileIgnored { layer, .. }
            | Warning::FileCutShort { layer, .. } => Some(*layer),
        }
    }

    /// The scene field the warning is about, if any (`text`).
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Warning::MissingGlyphs { .. } => Some("text"),
            Warning::ColourProfileIgnored { .. } | Warning::FileCutShort { .. } => Some("src"),
        }
    }
}

impl fmt::Display for Warning {
    /// One line, in the form of the library's errors: `layer 2 (text):
    /// field "text": no available font has "😀" (U+1F600) (family "Inter");
    /// drawn as empty boxes`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::MissingGlyphs {
                layer,
                chars,
                family,
            } => {
                let listed: Vec<String> = chars.iter().map(|&c| char_listed(c)).collect();
                write!(
                    f,
                    "layer {layer} (text): field \"text\": no available font has {} (family {}); drawn as empty boxes",
                    listed.join(", "),
                    crate::scene::quoted(family)
                )
            }
            Warning::ColourProfileIgnored { layer, src, reason } => write!(
                f,
                "layer {layer} (image): field \"src\": {}: colour profile ignored{}: {reason}",
                crate::data_url::shown(src),
                crate::codec::taken_as(reason)
            ),
            Warning::FileCutShort { layer, src, reason } => write!(
                f,
                "layer {layer} (image): field \"src\": {}: {reason}",
                crate::data_url::shown(src)
            ),
        }
    }
}

/// A render's image and its warnings, from
/// [`crate::Renderer::render_report`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Rendered {
    /// Straight-alpha 8-bit sRGB RGBA, as [`crate::Renderer::render`] gives.
    pub image: RgbaImage,
    /// What the render has to say, in layer order; empty for most renders.
    pub warnings: Vec<Warning>,
}

impl Rendered {
    /// An image without warnings.
    pub(crate) fn new(image: RgbaImage) -> Rendered {
        Rendered {
            image,
            warnings: Vec::new(),
        }
    }
}

impl Renderer {
    /// [`Renderer::render_with`] that returns the render's warnings (such
    /// as characters no font can draw) with the image, instead of logging
    /// them.
    ///
    /// ```
    /// use impasto::{Assets, Backend, RenderOptions, Renderer, Scene, Warning};
    ///
    /// let renderer = Renderer::new(Backend::Cpu)?.with_system_fonts(false);
    /// let scene = Scene::from_json(r#"{ "width": 64, "height": 32,
    ///     "layers": [ { "type": "text", "text": "ok \uDBFF\uDFFD" } ] }"#)?;
    /// let rendered = renderer.render_report(&scene, &Assets::new(), &RenderOptions::default())?;
    /// assert!(matches!(&rendered.warnings[..],
    ///     [Warning::MissingGlyphs { layer: 0, chars, .. }] if chars == &['\u{10FFFD}']));
    /// # Ok::<(), impasto::Error>(())
    /// ```
    pub fn render_report(
        &self,
        scene: &Scene,
        assets: &Assets,
        options: &RenderOptions,
    ) -> Result<Rendered, Error> {
        let mut warnings = Vec::new();
        let image = self.render_collecting(scene, assets, options, &mut warnings)?;
        Ok(Rendered { image, warnings })
    }

    /// [`Renderer::render_each`] that hands each scene's warnings with its
    /// image ([`Renderer::render_report`]) instead of logging them.
    pub fn render_each_report<'s>(
        &self,
        scenes: impl IntoIterator<Item = &'s Scene>,
        assets: &Assets,
        on_result: impl FnMut(usize, Result<Rendered, Error>),
    ) {
        self.render_each_report_with(scenes, assets, &RenderOptions::default(), on_result)
    }

    /// [`Renderer::render_each_report`] under `options` (see
    /// [`Renderer::render_each_with`]: the deadline and cancel token cover
    /// the whole run).
    pub fn render_each_report_with<'s>(
        &self,
        scenes: impl IntoIterator<Item = &'s Scene>,
        assets: &Assets,
        options: &RenderOptions,
        mut on_result: impl FnMut(usize, Result<Rendered, Error>),
    ) {
        let mut scenes = scenes.into_iter().enumerate().peekable();
        let stop = options.stop();
        while let Some(&(i, scene)) = scenes.peek() {
            // Overlapped on the GPU while it works (a lost device is
            // replaced between runs); one by one otherwise.
            match self.gpu_for_batch() {
                Some((gpu, ctx)) => self.render_run(
                    gpu,
                    &ctx,
                    (crate::gpu::Want::Pixels, None),
                    &mut scenes,
                    (assets, &stop),
                    &mut |i, r| {
                        on_result(i, r.and_then(|(r, w)| crate::renderer::gpu::rendered(r, w)))
                    },
                ),
                None => {
                    scenes.next();
                    on_result(i, self.render_report(scene, assets, options));
                }
            }
        }
    }

    /// [`Renderer::render_to_file_as`] that returns the render's warnings
    /// (see [`Renderer::render_report`]) instead of logging them.
    pub fn render_to_file_report(
        &self,
        scene: &Scene,
        assets: &Assets,
        path: impl AsRef<Path>,
        format: codec::OutputFormat,
        options: &RenderOptions,
    ) -> Result<Vec<Warning>, Error> {
        let path = path.as_ref();
        crate::codec::check_output_dir(path)?;
        let root = self.asset_root_for(scene);
        crate::asset_files::refuse_own_input(scene, &root, assets, path)?;
        // The temporary file exists from the start of the render, so a
        // program stopped by a signal mid-render finds it through
        // `interrupt::remove_temp_files` (an unwritable folder also fails
        // before the work rather than after).
        let pending = codec::PendingFile::create(path)?;
        let rendered = self.render_encoded(scene, assets, format, options)?;
        pending.commit(&rendered.encode_with(options)?)?;
        Ok(rendered.warnings().to_vec())
    }
}

/// Logs `warnings` (for the entry points that return only the image).
pub(crate) fn log_all(warnings: &[Warning]) {
    for w in warnings {
        log::warn!("{w}");
    }
}

/// A character as a message lists it: quoted, with its code point
/// (`"字" (U+5B57)`); one the quoting would escape (a control, a private
/// use character, shown as a JSON escape such as `"\udbff\udffd"`) by its
/// code point alone.
pub(crate) fn char_listed(c: char) -> String {
    let shown = crate::scene::quoted(&c.to_string()).to_string();
    if shown == format!("\"{c}\"") {
        format!("{shown} (U+{:04X})", c as u32)
    } else {
        format!("U+{:04X}", c as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_glyph_warning_names_layer_field_characters_and_family() {
        let w = Warning::MissingGlyphs {
            layer: 2,
            chars: vec!['😀', '\u{10FFFD}'],
            family: "Inter".into(),
        };
        assert_eq!(
            w.to_string(),
            "layer 2 (text): field \"text\": no available font has \"😀\" (U+1F600), U+10FFFD (family \"Inter\"); drawn as empty boxes"
        );
        assert_eq!(
            (w.kind(), w.layer(), w.field()),
            ("missing_glyphs", Some(2), Some("text"))
        );
    }
}
