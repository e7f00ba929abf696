//! Writing scenes back out in the scene format, through `serde`.
//!
//! [`Scene`], [`Layer`] and [`Stop`] serialize to the JSON the parser reads,
//! and parsing that JSON gives an equal scene (but see *Numbers*;
//! [`base_dir`](Scene::base_dir) is not part of the format and is left out).
//! Fields at their default are left out, except a layer's `width` and
//! `height` (whose default, the canvas size, a layer alone does not know) and
//! the scene's `layers`.
//!
//! Numbers: whole numbers are written as integers (`"x": 64`, not `64.0`),
//! others as the shortest decimal that is exactly the `f64`. `serde_json`
//! is built with its `float_roundtrip` feature (Cargo.toml), so it reads
//! that decimal back to the same `f64`, a computed value such as
//! `154.41827426741565` too: the round trip is exact. (Without the
//! feature it reads a decimal of 16 or 17 significant digits to within one
//! unit in the last place.)
//!
//! [`Scene`] also implements `Deserialize`, through the same strict parser as
//! [`Scene::from_value`], so a scene can sit inside a larger serde document.

use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::color::{BlendSpace, Color};
use crate::error::{Error, Location};

use super::names::{Named, Style};
use super::{ImageLayer, Layer, LayerKind, Scene, Stop, TextLayer, LINEAR_ANGLE, RADIAL_CENTER};

impl Scene {
    /// The scene as compact scene-format JSON, which [`Scene::from_json`]
    /// reads back to an equal scene.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a scene always serializes")
    }

    /// The scene as indented scene-format JSON, for people to read.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("a scene always serializes")
    }

    /// Checks the scene against every rule of the format, as the parser does,
    /// and fails with the error the parser would give its JSON (for example
    /// `layer 2 (rect): field "opacity": 1.5 is out of range: ...`).
    ///
    /// Parsed scenes always pass; use it on scenes built or changed in code.
    pub fn validate(&self) -> Result<(), Error> {
        // Long `src`s (a data: URL of megabytes) are written short for the
        // check, which reads only whether a `src` is an empty string: the
        // JSON and the scene parsed from it held two copies of each.
        let value = {
            let _short = ShortSrc::on();
            serde_json::to_value(self)
        }
        .map_err(|e| Error::scene(Location::Document, None, e.to_string()))?;
        Scene::from_value(&value).map_err(|e| match e {
            // JSON has no NaN nor infinity: serde writes them as null.
            Error::Scene(mut error) if error.message.ends_with("got null") => {
                error
                    .message
                    .push_str(" (a NaN or an infinity, given in code)");
                Error::Scene(error)
            }
            e => e,
        })?;
        Ok(())
    }
}

/// The scene format, as [`Scene::from_json`] reads it.
impl Serialize for Scene {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut m = serializer.serialize_map(None)?;
        m.serialize_entry("width", &self.width)?;
        m.serialize_entry("height", &self.height)?;
        if self.background != Color::TRANSPARENT {
            m.serialize_entry("background", &self.background)?;
        }
        if self.blend_space != BlendSpace::default() {
            m.serialize_entry("blend_space", self.blend_space.name())?;
        }
        if self.animate {
            m.serialize_entry("animate", &true)?;
        }
        m.serialize_entry("layers", &self.layers)?;
        m.end()
    }
}

/// Reads a scene with the strict parser of [`Scene::from_value`]; its error
/// message is the parser's.
impl<'de> Deserialize<'de> for Scene {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Scene, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Scene::from_value(&value).map_err(serde::de::Error::custom)
    }
}

/// One element of a scene's `layers`.
impl Serialize for Layer {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let d = Layer::new(LayerKind::Rect {
            color: Color::TRANSPARENT,
        });
        let mut m = serializer.serialize_map(None)?;
        m.serialize_entry("type", self.kind.type_name())?;
        number_unless(&mut m, "x", self.x, d.x)?;
        number_unless(&mut m, "y", self.y, d.y)?;
        m.serialize_entry("width", &Number(self.width))?;
        m.serialize_entry("height", &Number(self.height))?;
        number_unless(&mut m, "opacity", self.opacity, d.opacity)?;
        if self.blend != d.blend {
            m.serialize_entry("blend", Named::name(self.blend))?;
        }
        number_unless(&mut m, "corner_radius", self.corner_radius, d.corner_radius)?;
        number_unless(&mut m, "rotate", self.rotate, d.rotate)?;
        if !self.visible {
            m.serialize_entry("visible", &false)?;
        }
        match &self.kind {
            LayerKind::Rect { color } => m.serialize_entry("color", color)?,
            LayerKind::LinearGradient { angle, stops } => {
                number_unless(&mut m, "angle", *angle, LINEAR_ANGLE)?;
                m.serialize_entry("stops", stops)?;
            }
            LayerKind::RadialGradient {
                center,
                radius,
                stops,
            } => {
                pair_unless(&mut m, "center", *center, RADIAL_CENTER)?;
                if let Some(r) = radius {
                    m.serialize_entry("radius", &Number(*r))?;
                }
                m.serialize_entry("stops", stops)?;
            }
            LayerKind::Image(image) => image_fields(&mut m, image)?,
            LayerKind::Text(text) => text_fields(&mut m, text)?,
        }
        m.end()
    }
}

/// `{"offset": .., "color": ..}`.
impl Serialize for Stop {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut m = serializer.serialize_map(Some(2))?;
        m.serialize_entry("offset", &Number(self.offset))?;
        m.serialize_entry("color", &self.color)?;
        m.end()
    }
}

thread_local! {
    /// Whether this thread is serializing a scene for
    /// [`Scene::validate`]: see [`ShortSrc`].
    static SHORT_SRC: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// While held, image `src`s longer than [`ShortSrc::MAX`] bytes serialize
/// as a short stand-in on this thread (for [`Scene::validate`], whose
/// checks of a `src` are its type and that it is not empty).
struct ShortSrc;

impl ShortSrc {
    const MAX: usize = 256;

    fn on() -> ShortSrc {
        SHORT_SRC.with(|short| short.set(true));
        ShortSrc
    }
}

impl Drop for ShortSrc {
    fn drop(&mut self) {
        SHORT_SRC.with(|short| short.set(false));
    }
}

fn image_fields<M: SerializeMap>(m: &mut M, image: &ImageLayer) -> Result<(), M::Error> {
    let d = ImageLayer::new("");
    let short = image.src.len() > ShortSrc::MAX && SHORT_SRC.with(std::cell::Cell::get);
    match short {
        true => m.serialize_entry("src", "(a long src, not read by the checks)")?,
        false => m.serialize_entry("src", &image.src)?,
    }
    named_unless(m, "fit", image.fit, d.fit)?;
    pair_unless(m, "position", image.position, d.position)?;
    named_unless(m, "filter", image.filter, d.filter)?;
    match image.frame {
        Some(frame) => m.serialize_entry("frame", &frame),
        None => Ok(()),
    }
}

fn text_fields<M: SerializeMap>(m: &mut M, text: &TextLayer) -> Result<(), M::Error> {
    let d = TextLayer::default();
    m.serialize_entry("text", &text.text)?;
    number_unless(m, "size", text.size, d.size)?;
    if text.color != d.color {
        m.serialize_entry("color", &text.color)?;
    }
    if let Some(font) = &text.font {
        m.serialize_entry("font", font)?;
    }
    if text.weight != d.weight {
        m.serialize_entry("weight", &text.weight)?;
    }
    named_unless(m, "style", Style::of(text.italic), Style::of(d.italic))?;
    named_unless(m, "align", text.align, d.align)?;
    named_unless(m, "valign", text.valign, d.valign)?;
    number_unless(m, "line_height", text.line_height, d.line_height)?;
    if let Some(lines) = text.max_lines {
        m.serialize_entry("max_lines", &lines)?;
    }
    named_unless(m, "overflow", text.overflow, d.overflow)?;
    if let Some(size) = text.min_size {
        m.serialize_entry("min_size", &Number(size))?;
    }
    number_unless(m, "letter_spacing", text.letter_spacing, d.letter_spacing)
}

/// A number as the format writes it: whole numbers as integers. A value that
/// is not finite, which no parsed scene holds, goes to the serializer as it
/// is (`serde_json` writes `null`, which the parser then rejects).
struct Number(f64);

impl Serialize for Number {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        /// Below 2^53 every whole `f64` is exactly an `i64`.
        const EXACT: f64 = (1u64 << 53) as f64;
        let n = self.0;
        if n.fract() == 0.0 && n.abs() < EXACT {
            serializer.serialize_i64(n as i64)
        } else {
            serializer.serialize_f64(n)
        }
    }
}

fn number_unless<M: SerializeMap>(
    m: &mut M,
    key: &str,
    n: f64,
    default: f64,
) -> Result<(), M::Error> {
    if n == default {
        return Ok(());
    }
    m.serialize_entry(key, &Number(n))
}

fn pair_unless<M: SerializeMap>(
    m: &mut M,
    key: &str,
    pair: [f64; 2],
    default: [f64; 2],
) -> Result<(), M::Error> {
    if pair == default {
        return Ok(());
    }
    m.serialize_entry(key, &[Number(pair[0]), Number(pair[1])])
}

fn named_unless<M: SerializeMap, T: Named>(
    m: &mut M,
    key: &str,
    value: T,
    default: T,
) -> Result<(), M::Error> {
    if value == default {
        return Ok(());
    }
    m.serialize_entry(key, value.name())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blend::BlendMode;
    use crate::scene::{Align, Filter, Fit, VAlign};

    #[test]
    fn every_field_off_its_default_is_written_and_read_back() {
        let stops = [(0.0, Color::BLACK), (0.5, Color::hex("#ff000080"))];
        let scene = Scene::new(64, 32)
            .background(Color::hex("#102030"))
            .blend_space(BlendSpace::Linear)
            .layer(
                Layer::rect(Color::WHITE)
                    .at(1.5, -2)
                    .size(3, 4)
                    .opacity(0.25)
                    .blend(BlendMode::Xor)
                    .corner_radius(1)
                    .rotate(45),
            )
            .layer(Layer::linear_gradient(stops).angle(0))
            .layer(Layer::radial_gradient(stops).center(0, 1).radius(5))
            .layer(
                Layer::image("a.png")
                    .fit(Fit::Fill)
                    .position(0, 0)
                    .filter(Filter::Nearest),
            )
            .layer(
                Layer::text("t", 10)
                    .color(Color::WHITE)
                    .font("Serif")
                    .weight(900)
                    .italic(true)
                    .align(Align::Right)
                    .valign(VAlign::Middle)
                    .line_height(2),
            );
        let v = serde_json::to_value(&scene).unwrap();
        assert_eq!(v.as_object().unwrap().len(), 5);
        let fields = |i: usize| v["layers"][i].as_object().unwrap().len();
        // The rect: `type`, the 8 common fields and `color`; the others:
        // `type`, `width`, `height` and every field of their type.
        let counts: Vec<usize> = (0..5).map(fields).collect();
        assert_eq!(counts, [10, 5, 6, 7, 12]);
        assert_eq!(Scene::from_value(&v).unwrap(), scene);
    }

    #[test]
    fn defaults_are_left_out_but_the_box_size_is_written() {
        let scene = Scene::new(8, 4).layer(Layer::image("a.png"));
        assert_eq!(
            scene.to_json(),
            r#"{"width":8,"height":4,"layers":[{"type":"image","width":8,"height":4,"src":"a.png"}]}"#
        );
    }

    #[test]
    fn whole_numbers_are_written_as_integers_and_non_finite_ones_as_null() {
        let json = |n: f64| serde_json::to_string(&Number(n)).unwrap();
        assert_eq!(json(64.0), "64");
        assert_eq!(json(-1e6), "-1000000");
        assert_eq!(json(-0.5), "-0.5");
        assert_eq!(json(1e300), "1e+300");
        assert_eq!(json(f64::NAN), "null");
        assert_eq!(json(f64::INFINITY), "null");
    }
}
