//! The strict parser: JSON to [`Scene`], every default applied, every error
//! located.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::blend::BlendMode;
use crate::color::Color;
use crate::error::{Error, Location};
use crate::Limits;

use super::fields::{kind_of, Fields};
use super::names::{expected, LayerType, Named, Style};
use super::strict_json::{Budget, Over};
use super::{
    ImageLayer, Layer, LayerKind, Scene, TextLayer, LINEAR_ANGLE, MAX_COORD, RADIAL_CENTER,
};

/// `$schema` names the JSON Schema for editors (`docs/scene.schema.json`);
/// it must be a string and does not change the scene.
const CANVAS_FIELDS: &[&str] = &[
    "$schema",
    "width",
    "height",
    "background",
    "blend_space",
    "animate",
    "layers",
    // A template's (refused above in a scene, listed in the unknown-field
    // error's allowed names).
    "variables",
];
const COMMON_FIELDS: &[&str] = &[
    "type",
    "x",
    "y",
    "width",
    "height",
    "opacity",
    "blend",
    "corner_radius",
    "rotate",
    "visible",
];

impl Scene {
    /// Parses a scene from JSON text. Its asset root is the current directory
    /// unless the [`Renderer`](crate::Renderer) is given one.
    ///
    /// The parse is bounded by the default [`Limits`]: more than
    /// `max_layers` layers, or a JSON tree over `max_render_bytes`, is
    /// refused while it is read ([`Scene::from_json_limited`] takes others).
    pub fn from_json(json: &str) -> Result<Scene, Error> {
        Scene::from_json_limited(json, &Limits::default())
    }

    /// [`Scene::from_json`] bounded by `limits`: the layers array is
    /// refused at its `max_layers + 1`th layer, and the JSON tree, whose
    /// heap is estimated from above as it is built, at `max_render_bytes`
    /// or 64 MiB, whichever is more (a scene of many tiny values takes tens
    /// of times its text as a tree).
    pub fn from_json_limited(json: &str, limits: &Limits) -> Result<Scene, Error> {
        Scene::from_value(&json_value(json, limits)?)
    }

    /// [`Scene::from_json_limited`] with the JSON tree held to exactly
    /// `max_tree_bytes` (no 64 MiB floor): for a caller that reserved that
    /// much memory for the parse (`impasto serve` reserves it in its
    /// memory budget).
    pub fn from_json_within(
        json: &str,
        limits: &Limits,
        max_tree_bytes: u64,
    ) -> Result<Scene, Error> {
        let budget = Budget {
            max_tree_bytes,
            tree_limit: super::strict_json::RESERVED,
            ..Budget::of(limits)
        };
        Scene::from_value(&strict_value(strip_bom(json), budget)?)
    }

    /// Reads and parses a scene file; the folder that holds it becomes the
    /// default asset root.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Scene, Error> {
        Scene::from_path_limited(path, super::MAX_SCENE_BYTES)
    }

    /// [`Scene::from_path`] with another limit on the file's size: a path
    /// that is not a regular file (a FIFO, `/dev/zero`) or a file over
    /// `max_bytes` is refused before it is read. The parse is bounded by the
    /// default [`Limits`], as [`Scene::from_json`]'s is.
    pub fn from_path_limited(path: impl AsRef<Path>, max_bytes: u64) -> Result<Scene, Error> {
        let path = path.as_ref();
        // The text is dropped once parsed, before the scene is built: a
        // scene holding a data: URL of megabytes held it three times.
        let value = json_value(&read_limited(path, max_bytes)?, &Limits::default())?;
        let mut scene = Scene::from_value(&value)?;
        drop(value);
        let dir = path.parent().unwrap_or(Path::new(""));
        scene.base_dir = Some(if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir.to_path_buf()
        });
        Ok(scene)
    }

    /// Builds a scene from an already parsed JSON value.
    pub fn from_value(value: &Value) -> Result<Scene, Error> {
        let map = value.as_object().ok_or_else(|| {
            Error::scene(
                Location::Document,
                None,
                format!("expected a JSON object, got {}", kind_of(value)),
            )
        })?;
        if map.contains_key("variables") {
            return Err(Error::scene(
                Location::Canvas,
                Some("variables"),
                "this scene is a template: bind its variables first \
                 (impasto::Template, `impasto render --set`, `impasto batch`)",
            ));
        }
        let o = Fields::new(map, Location::Canvas, CANVAS_FIELDS)?;
        o.string("$schema")?;
        let mut scene = Scene::new(o.canvas_side("width")?, o.canvas_side("height")?);
        if let Some(background) = o.color("background")? {
            scene.background = background;
        }
        scene.blend_space = o.named("blend_space", scene.blend_space)?;
        scene.animate = o.boolean("animate", scene.animate)?;
        if let Some(v) = o.get("layers") {
            let arr = v
                .as_array()
                .ok_or_else(|| o.err("layers", format!("expected an array, got {}", kind_of(v))))?;
            for (index, lv) in arr.iter().enumerate() {
                let layer = parse_layer(index, lv, scene.width, scene.height)?;
                scene.layers.push(layer);
            }
        }
        Ok(scene)
    }
}

/// A scene's JSON text parsed strictly ([`strict_value`]), a UTF-8
/// byte-order mark before it skipped (some editors write one).
pub(crate) fn json_value(json: &str, limits: &Limits) -> Result<Value, Error> {
    strict_value(strip_bom(json), Budget::of(limits))
}

fn strip_bom(json: &str) -> &str {
    json.strip_prefix('\u{feff}').unwrap_or(json)
}

/// JSON text to a value, refusing duplicate keys, more than `max_layers`
/// top-level layers and a tree over `max_tree_bytes` as it is built (see
/// [`Budget`]); errors are scene errors.
fn strict_value(json: &str, budget: Budget) -> Result<Value, Error> {
    super::strict_json::from_str(json, budget).map_err(|(e, over)| match over {
        Some(Over::Layers(_)) => Error::scene(Location::Canvas, Some("layers"), e.to_string()),
        Some(Over::TreeBytes(_)) => Error::scene(Location::Document, None, e.to_string()),
        None => {
            let e = super::strict_json::describe(&e);
            Error::scene(Location::Document, None, format!("invalid JSON: {e}"))
        }
    })
}

/// Reads a scene (or template) file of at most `max_bytes` as UTF-8 text: a
/// path that is not a regular file (a FIFO, `/dev/zero`) or a file over the
/// limit is refused before it is read.
pub(crate) fn read_limited(path: &Path, max_bytes: u64) -> Result<String, Error> {
    let fail = |m: String| Error::scene(Location::Document, None, m);
    let shown = super::quoted(&path.display().to_string()).to_string();
    let cannot = |e: std::io::Error| fail(format!("cannot read {shown}: {e}"));
    let meta = std::fs::metadata(path).map_err(cannot)?;
    if !meta.is_file() {
        return Err(fail(format!(
            "{}: not a regular file",
            super::shown_path(path)
        )));
    }
    if meta.len() > max_bytes {
        return Err(fail(format!(
            "{}: the scene file is {} bytes, over the limit of {max_bytes} bytes",
            super::shown_path(path),
            meta.len()
        )));
    }
    let file = std::fs::File::open(path).map_err(cannot)?;
    read_text(file, max_bytes, &super::shown_path(path))
}

/// Reads at most `max_bytes` of UTF-8 text from `reader` (a file, standard
/// input); `what` names it in errors.
pub(crate) fn read_text(reader: impl Read, max_bytes: u64, what: &str) -> Result<String, Error> {
    let fail = |m: String| Error::scene(Location::Document, None, m);
    // Room for the whole limit at once (64 MiB at most; pages are taken as
    // they are written): grown by doubling, a 68 MB scene on standard input
    // peaked at 224 MB before it was refused.
    let room = max_bytes.saturating_add(1).min(super::MAX_SCENE_BYTES + 1);
    let mut bytes = Vec::with_capacity(usize::try_from(room).unwrap_or(usize::MAX));
    // The input may be longer than announced: read one byte past the limit at most.
    reader
        .take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(format!("cannot read {what}: {e}")))?;
    if bytes.len() as u64 > max_bytes {
        return Err(fail(format!(
            "{what}: the scene is more than {max_bytes} bytes, over the limit of {max_bytes} bytes"
        )));
    }
    String::from_utf8(bytes).map_err(|e| fail(format!("{what}: not UTF-8: {e}")))
}

/// Layer `index` of a `canvas_w` x `canvas_h` scene.
fn parse_layer(index: usize, v: &Value, canvas_w: u32, canvas_h: u32) -> Result<Layer, Error> {
    let map = v.as_object().ok_or_else(|| {
        Error::scene(
            Location::Layer { index, kind: None },
            None,
            format!("expected a JSON object, got {}", kind_of(v)),
        )
    })?;
    let ty = layer_type(index, map)?;
    let loc = Location::Layer {
        index,
        kind: Some(ty.name().to_owned()),
    };
    let allowed: Vec<&str> = COMMON_FIELDS.iter().chain(ty.fields()).copied().collect();
    let o = Fields::new(map, loc, &allowed)?;

    // Start from the defaults and read each field in the order that decides
    // which error a scene with several gets.
    let mut l = Layer::new(LayerKind::Rect {
        color: Color::TRANSPARENT,
    });
    l.x = o.coord("x", l.x)?;
    l.y = o.coord("y", l.y)?;
    l.width = o.size("width", f64::from(canvas_w))?;
    l.height = o.size("height", f64::from(canvas_h))?;
    l.opacity = o.number_in("opacity", l.opacity, 0.0, 1.0)?;
    l.blend = o.named::<BlendMode>("blend", l.blend)?;
    l.corner_radius = o.number_in("corner_radius", l.corner_radius, 0.0, MAX_COORD)?;
    l.rotate = o.number_in("rotate", l.rotate, -MAX_COORD, MAX_COORD)?;
    l.visible = o.boolean("visible", l.visible)?;
    l.kind = match ty {
        LayerType::Rect => LayerKind::Rect {
            color: o.required_color("color")?,
        },
        LayerType::LinearGradient => LayerKind::LinearGradient {
            angle: o.number_in("angle", LINEAR_ANGLE, -MAX_COORD, MAX_COORD)?,
            stops: o.stops()?,
        },
        LayerType::RadialGradient => parse_radial(&o)?,
        LayerType::Image => LayerKind::Image(parse_image(&o)?),
        LayerType::Text => LayerKind::Text(parse_text(&o)?),
    };
    Ok(l)
}

/// The `type` of layer `index`.
fn layer_type(index: usize, map: &Map<String, Value>) -> Result<LayerType, Error> {
    let err = |message: String| {
        Error::scene(Location::Layer { index, kind: None }, Some("type"), message)
    };
    let Some(v) = map.get("type") else {
        return Err(err(format!(
            "missing; expected {}",
            expected::<LayerType>()
        )));
    };
    let found = match v {
        Value::String(s) => LayerType::from_name(s),
        _ => None,
    };
    found.ok_or_else(|| {
        // A string as every name is quoted; another value as JSON writes it.
        let shown = match v {
            Value::String(s) => super::quoted(s).to_string(),
            other => other.to_string(),
        };
        err(format!(
            "{shown} is not a layer type: expected {}",
            expected::<LayerType>()
        ))
    })
}

fn parse_radial(o: &Fields) -> Result<LayerKind, Error> {
    Ok(LayerKind::RadialGradient {
        center: o.pair("center", RADIAL_CENTER)?,
        radius: match o.get("radius") {
            None => None,
            Some(_) => Some(o.number_in("radius", 1.0, f64::MIN_POSITIVE, MAX_COORD)?),
        },
        stops: o.stops()?,
    })
}

fn parse_image(o: &Fields) -> Result<ImageLayer, Error> {
    let src = o
        .string("src")?
        .ok_or_else(|| o.err("src", "missing (required for an image layer)"))?;
    if src.is_empty() {
        return Err(o.err("src", "is empty"));
    }
    let mut image = ImageLayer::new(src);
    image.fit = o.named("fit", image.fit)?;
    image.filter = o.named("filter", image.filter)?;
    image.position = o.pair("position", image.position)?;
    if o.get("frame").is_some() {
        image.frame = Some(o.integer_in("frame", 0, 0, u32::MAX)?);
    }
    Ok(image)
}

fn parse_text(o: &Fields) -> Result<TextLayer, Error> {
    let d = TextLayer::default();
    let text = o
        .string("text")?
        .ok_or_else(|| o.err("text", "missing (required for a text layer)"))?
        .to_owned();
    let weight = o.integer_in("weight", u32::from(d.weight), 100, 900)?;
    let italic = o.named("style", Style::of(d.italic))? == Style::Italic;
    let align = o.named("align", d.align)?;
    let valign = o.named("valign", d.valign)?;
    let font = o.string("font")?.map(str::to_owned);
    if font.as_deref() == Some("") {
        return Err(o.err("font", "is empty"));
    }
    Ok(TextLayer {
        text,
        size: o.number_in("size", d.size, 0.01, 10000.0)?,
        color: o.color("color")?.unwrap_or(d.color),
        font: font.or(d.font),
        weight: weight as u16,
        italic,
        align,
        valign,
        line_height: o.number_in("line_height", d.line_height, 0.01, 100.0)?,
        max_lines: max_lines(o)?,
        overflow: o.named("overflow", d.overflow)?,
        min_size: match o.get("min_size") {
            Some(_) => Some(o.number_in("min_size", 0.0, 0.01, 10000.0)?),
            None => d.min_size,
        },
        letter_spacing: o.number_in("letter_spacing", d.letter_spacing, -1000.0, 1000.0)?,
    })
}

/// A text layer's `max_lines`: an integer from 1 to [`MAX_LINES`].
fn max_lines(o: &Fields) -> Result<Option<u32>, Error> {
    if o.get("max_lines").is_none() {
        return Ok(None);
    }
    o.integer_in("max_lines", 1, 1, MAX_LINES).map(Some)
}

/// The largest `max_lines`.
const MAX_LINES: u32 = 100_000;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::color::BlendSpace;
    use crate::scene::{Filter, Fit};

    fn err(json: &str) -> String {
        Scene::from_json(json).unwrap_err().to_string()
    }

    #[test]
    fn applies_every_default() {
        let s = Scene::from_json(
            r##"{"width": 100, "height": 50, "layers": [{"type": "rect", "color": "#fff"},
                {"type": "image", "src": "a.png"},
                {"type": "linear-gradient", "stops": [{"offset": 0, "color": "#000"}, {"offset": 1, "color": "#fff"}]},
                {"type": "text", "text": "hi"}]}"##,
        )
        .unwrap();
        assert_eq!(
            s.background,
            Color {
                r: 0,
                g: 0,
                b: 0,
                a: 0
            }
        );
        assert_eq!(s.blend_space, BlendSpace::Srgb);
        let l = &s.layers[0];
        assert_eq!((l.x, l.y, l.width, l.height), (0.0, 0.0, 100.0, 50.0));
        assert_eq!((l.opacity, l.corner_radius, l.rotate), (1.0, 0.0, 0.0));
        assert_eq!(l.blend, BlendMode::SourceOver);
        match &s.layers[1].kind {
            LayerKind::Image(i) => {
                assert_eq!(i.fit, Fit::Cover);
                assert_eq!(i.position, [0.5, 0.5]);
                assert_eq!(i.filter, Filter::Lanczos3);
            }
            k => panic!("unexpected {k:?}"),
        }
        match &s.layers[2].kind {
            LayerKind::LinearGradient { angle, .. } => assert_eq!(*angle, 180.0),
            k => panic!("unexpected {k:?}"),
        }
        match &s.layers[3].kind {
            LayerKind::Text(t) => {
                assert_eq!((t.size, t.weight, t.line_height), (32.0, 400, 1.2));
                assert_eq!(
                    t.color,
                    Color {
                        r: 0,
                        g: 0,
                        b: 0,
                        a: 255
                    }
                );
                assert!(!t.italic);
            }
            k => panic!("unexpected {k:?}"),
        }
    }

    #[test]
    fn unknown_field_names_layer_field_and_suggests() {
        let e = err(
            r##"{"width": 10, "height": 10, "layers": [{"type": "rect", "color": "#fff"}, {"type": "rect", "color": "#fff", "heigth": 3}]}"##,
        );
        assert!(
            e.starts_with("layer 1 (rect): field \"heigth\": unknown field"),
            "{e}"
        );
        assert!(e.contains("did you mean \"height\""), "{e}");
    }

    #[test]
    fn unknown_layer_type_is_an_error() {
        let e = err(r#"{"width": 10, "height": 10, "layers": [{"type": "circle"}]}"#);
        assert!(e.starts_with("layer 0: field \"type\""), "{e}");
    }

    #[test]
    fn canvas_limits_and_types() {
        assert!(err(r#"{"width": 0, "height": 10}"#).contains("canvas: field \"width\""));
        assert!(err(r#"{"width": 16385, "height": 10}"#).contains("out of range"));
        assert!(err(r#"{"width": 10.5, "height": 10}"#).contains("integer"));
        assert!(err(r#"{"width": "10", "height": 10}"#).contains("expected a number"));
        assert!(err(r#"{"height": 10}"#).contains("missing"));
        assert!(err(r#"{"width": 10, "height": 10, "blend_space": "rgb"}"#).contains("blend_space"));
        assert!(err(r#"[1]"#).contains("expected a JSON object"));
        assert!(err(r#"{"width": 10,"#).contains("invalid JSON"));
    }

    #[test]
    fn layer_value_errors_name_the_field() {
        let base = |layer: &str| format!(r#"{{"width": 10, "height": 10, "layers": [{layer}]}}"#);
        let cases = [
            (
                r##"{"type": "rect", "color": "#fff", "opacity": 1.5}"##,
                "layer 0 (rect): field \"opacity\"",
            ),
            (r##"{"type": "rect"}"##, "field \"color\": missing"),
            (r##"{"type": "rect", "color": "blue"}"##, "field \"color\""),
            (
                r##"{"type": "rect", "color": "#fff", "width": 0}"##,
                "field \"width\"",
            ),
            (
                r##"{"type": "rect", "color": "#fff", "blend": "burn"}"##,
                "field \"blend\"",
            ),
            (
                r##"{"type": "rect", "color": "#fff", "corner_radius": -1}"##,
                "field \"corner_radius\"",
            ),
            (
                r##"{"type": "linear-gradient", "stops": [{"offset": 0, "color": "#000"}]}"##,
                "field \"stops\"",
            ),
            (
                r##"{"type": "linear-gradient", "stops": [{"offset": 0.5, "color": "#000"}, {"offset": 0.2, "color": "#000"}]}"##,
                "field \"stops[1].offset\"",
            ),
            (
                r##"{"type": "radial-gradient", "radius": 0, "stops": [{"offset": 0, "color": "#000"}, {"offset": 1, "color": "#000"}]}"##,
                "field \"radius\"",
            ),
            (
                r##"{"type": "image"}"##,
                "layer 0 (image): field \"src\": missing",
            ),
            (
                r##"{"type": "image", "src": "a.png", "fit": "stretch"}"##,
                "field \"fit\"",
            ),
            (
                r##"{"type": "image", "src": "a.png", "position": [1]}"##,
                "field \"position\"",
            ),
            (
                r##"{"type": "text", "text": "a", "weight": 950}"##,
                "field \"weight\"",
            ),
            (
                r##"{"type": "rect", "color": "#fff", "src": "a.png"}"##,
                "unknown field for a rect layer",
            ),
        ];
        for (layer, want) in cases {
            let e = err(&base(layer));
            assert!(e.contains(want), "{layer}: {e}");
        }
    }

    #[test]
    fn pair_integer_subnormal_and_typo_errors_say_which_item_and_why() {
        let layer = |l: &str| {
            err(&format!(
                r#"{{"width": 10, "height": 10, "layers": [{l}]}}"#
            ))
        };
        for (l, want) in [
            (
                r#"{"type": "image", "src": "a.png", "position": [0, "1"]}"#,
                r#"field "position": item 1: expected a number, got the string "1""#,
            ),
            // An integer field says so whatever it got, with CSS's keyword
            // as a number.
            (
                r#"{"type": "text", "text": "a", "weight": "bold"}"#,
                r#"field "weight": expected an integer from 100 to 900, got the string "bold" (bold is 700)"#,
            ),
            (
                r##"{"type": "radial-gradient", "center": [1000001, 0], "stops": [{"offset": 0, "color": "#000"}, {"offset": 1, "color": "#fff"}]}"##,
                r#"field "center": item 0: 1000001 is out of range: expected a number from -1000000 to 1000000"#,
            ),
            (
                r##"{"type": "radial-gradient", "radius": 5e-324, "stops": [{"offset": 0, "color": "#000"}, {"offset": 1, "color": "#fff"}]}"##,
                "is too small: expected a number greater than 0 (and at least 2.2250738585072014e-308)",
            ),
            (
                r#"{"type": "image", "src": "a.png", "fit": "cover\u200b"}"#,
                r#"field "fit": "cover\u200b" is not a fit"#,
            ),
            (
                r##"{"type": "rect", "color": "#fff", "a\"b\u200b": 1}"##,
                r#"field "a\"b\u200b": unknown field"#,
            ),
            (
                r#"{"type": "re\u200bct"}"#,
                r#"field "type": "re\u200bct" is not a layer type"#,
            ),
            (
                r##"{"type": "rect", "color": "#fff\u200b"}"##,
                r##"field "color": "#fff\u200b" is not a colour"##,
            ),
            (
                r#"{"type": "image", "src": "a.png", "fitt": "cover"}"#,
                "unknown field for an image layer; did you mean \"fit\"?",
            ),
            (
                r#"{"type": "text", "text": "a", "max_lines": 0}"#,
                "0 is out of range: expected an integer from 1 to 100000",
            ),
            (
                r#"{"type": "text", "text": "a", "weight": 450.5}"#,
                "expected an integer from 100 to 900, got 450.5",
            ),
            (
                r##"{"type": "linear-gradient", "stops": [{"offset": 0, "colr": "#000"}, {"offset": 1, "color": "#fff"}]}"##,
                r#"field "stops[0].colr": unknown field; did you mean "color"?"#,
            ),
        ] {
            let e = layer(l);
            assert!(e.contains(want), "{l}: {e}");
        }
    }

    #[test]
    fn name_errors_keep_their_exact_wording() {
        let layer = |l: &str| {
            err(&format!(
                r#"{{"width": 10, "height": 10, "layers": [{l}]}}"#
            ))
        };
        assert_eq!(
            err(r#"{"width": 10, "height": 10, "blend_space": "rgb"}"#),
            r#"canvas: field "blend_space": "rgb" is not a blend space: expected "srgb" or "linear""#
        );
        assert_eq!(
            layer(r#"{"type": "image", "src": "a.png", "fit": "stretch"}"#),
            r#"layer 0 (image): field "fit": "stretch" is not a fit: expected "cover", "contain", "fill" or "none""#
        );
        assert_eq!(
            layer(r#"{"type": "image", "src": "a.png", "filter": "cubic"}"#),
            r#"layer 0 (image): field "filter": "cubic" is not a filter: expected "lanczos3", "bilinear" or "nearest""#
        );
        assert_eq!(
            layer(r#"{"type": "text", "text": "a", "style": "oblique"}"#),
            r#"layer 0 (text): field "style": "oblique" is not a style: expected "normal" or "italic""#
        );
        assert_eq!(
            layer(r#"{"type": "text", "text": "a", "align": "justify"}"#),
            r#"layer 0 (text): field "align": "justify" is not an alignment: expected one of "left", "center", "right", "start", "end""#
        );
        assert_eq!(
            layer(r#"{"type": "text", "text": "a", "valign": "center"}"#),
            r#"layer 0 (text): field "valign": "center" is not a vertical alignment: expected "top", "middle" or "bottom""#
        );
        let blend = layer(r##"{"type": "rect", "color": "#fff", "blend": "burn"}"##);
        let names: Vec<String> = BlendMode::NAMES
            .iter()
            .map(|n| format!("\"{n}\""))
            .collect();
        assert_eq!(
            blend,
            format!(
                r#"layer 0 (rect): field "blend": "burn" is not a blend name: expected one of {}"#,
                names.join(", ")
            )
        );
        let types = r#"one of "image", "rect", "linear-gradient", "radial-gradient", "text""#;
        assert_eq!(
            layer(r#"{"type": "circle"}"#),
            format!(r#"layer 0: field "type": "circle" is not a layer type: expected {types}"#)
        );
        assert_eq!(
            layer(r#"{"type": 3}"#),
            format!(r#"layer 0: field "type": 3 is not a layer type: expected {types}"#)
        );
        assert_eq!(
            layer(r#"{"x": 3}"#),
            format!(r#"layer 0: field "type": missing; expected {types}"#)
        );
    }
}
