//! The scene model of `shared/spec/scene-format.md`, version 1, and its strict
//! parser.
//!
//! Parsing walks the JSON by hand rather than through `#[derive(Deserialize)]`
//! so that every error names the layer (index and type), the field and the
//! problem, e.g. `layer 3 (image): field "src": "../x.png" resolves outside the
//! asset root`. Unknown fields and layer types are errors, so a typo such as
//! `"heigth"` never passes silently. Every default of the spec is applied here,
//! so the renderers see fully resolved values.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::blend::BlendMode;
use crate::color::{BlendSpace, Color};
use crate::error::{Error, Location};

/// Largest canvas side the format allows.
pub const MAX_CANVAS_SIDE: u32 = 16384;
/// Largest magnitude accepted for a coordinate or size, in pixels. Far outside
/// any canvas; it keeps the geometry maths well inside `f32`/`f64` range.
pub const MAX_COORD: f64 = 1.0e6;

/// One scene: a canvas and its layers, bottom first.
#[derive(Debug, Clone, PartialEq)]
pub struct Scene {
    /// Output width in pixels, 1..=16384.
    pub width: u32,
    /// Output height in pixels, 1..=16384.
    pub height: u32,
    /// What the canvas holds before the first layer.
    pub background: Color,
    /// The space in which colours are blended.
    pub blend_space: BlendSpace,
    /// The layers, painted first to last.
    pub layers: Vec<Layer>,
    /// The folder that held the scene file, when it was read from one: the
    /// default asset root.
    pub base_dir: Option<PathBuf>,
}

/// One layer: the fields every layer has, and its type-specific part.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    /// Left edge of the layer's box.
    pub x: f64,
    /// Top edge of the layer's box.
    pub y: f64,
    /// Width of the box (> 0); defaults to the canvas width.
    pub width: f64,
    /// Height of the box (> 0); defaults to the canvas height.
    pub height: f64,
    /// Multiplies the layer's alpha, 0..=1.
    pub opacity: f64,
    /// How the layer meets what is below it.
    pub blend: BlendMode,
    /// Corner radius of the clip, >= 0.
    pub corner_radius: f64,
    /// Degrees clockwise about the box centre.
    pub rotate: f64,
    /// What the layer paints.
    pub kind: LayerKind,
}

/// The type-specific part of a layer.
#[derive(Debug, Clone, PartialEq)]
pub enum LayerKind {
    /// `rect`: fills the box with one colour.
    Rect {
        /// The fill colour.
        color: Color,
    },
    /// `linear-gradient`.
    LinearGradient {
        /// Degrees; 0 points up, 90 right, 180 down.
        angle: f64,
        /// At least two stops in non-decreasing offset order.
        stops: Vec<Stop>,
    },
    /// `radial-gradient`.
    RadialGradient {
        /// Centre as fractions of the box.
        center: [f64; 2],
        /// Radius in pixels; `None` means the distance to the farthest corner.
        radius: Option<f64>,
        /// At least two stops in non-decreasing offset order.
        stops: Vec<Stop>,
    },
    /// `image`: a decoded file placed in the box.
    Image(ImageLayer),
    /// `text`.
    Text(TextLayer),
}

impl LayerKind {
    /// The `type` string of this layer kind.
    pub fn type_name(&self) -> &'static str {
        match self {
            LayerKind::Rect { .. } => "rect",
            LayerKind::LinearGradient { .. } => "linear-gradient",
            LayerKind::RadialGradient { .. } => "radial-gradient",
            LayerKind::Image(_) => "image",
            LayerKind::Text(_) => "text",
        }
    }
}

/// A gradient stop.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stop {
    /// Position along the gradient, 0..=1.
    pub offset: f64,
    /// Colour at that position.
    pub color: Color,
}

/// How an image is fitted into its box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fit {
    /// Scale uniformly to cover the box (default).
    #[default]
    Cover,
    /// Scale uniformly to fit inside the box.
    Contain,
    /// Stretch to the box.
    Fill,
    /// Keep the natural size.
    None,
}

/// The resampling filter of an image layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Filter {
    /// Lanczos, 3 lobes (default).
    #[default]
    Lanczos3,
    /// Triangle filter (bilinear when magnifying, area-weighted when minifying).
    Bilinear,
    /// Nearest neighbour.
    Nearest,
}

/// The fields of an `image` layer.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageLayer {
    /// Path relative to the asset root, as written in the scene.
    pub src: String,
    /// How the image is fitted into the box.
    pub fit: Fit,
    /// CSS `object-position` as fractions.
    pub position: [f64; 2],
    /// Resampling filter.
    pub filter: Filter,
}

/// Horizontal alignment of text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Align {
    /// Left (default).
    #[default]
    Left,
    /// Centre.
    Center,
    /// Right.
    Right,
}

/// Vertical alignment of text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VAlign {
    /// Top (default).
    #[default]
    Top,
    /// Middle.
    Middle,
    /// Bottom.
    Bottom,
}

/// The fields of a `text` layer (parsed and validated; rendering is the text
/// issue's work).
#[derive(Debug, Clone, PartialEq)]
pub struct TextLayer {
    /// UTF-8 text; `\n` breaks lines.
    pub text: String,
    /// Font size in pixels.
    pub size: f64,
    /// Text colour.
    pub color: Color,
    /// Family name; `None` is the bundled default family.
    pub font: Option<String>,
    /// 100..=900.
    pub weight: u16,
    /// True for `"italic"`.
    pub italic: bool,
    /// Horizontal alignment.
    pub align: Align,
    /// Vertical alignment.
    pub valign: VAlign,
    /// Line height as a multiple of `size`.
    pub line_height: f64,
}

impl Scene {
    /// Parses a scene from JSON text. Its asset root is the current directory
    /// unless the [`Renderer`](crate::Renderer) is given one.
    pub fn from_json(json: &str) -> Result<Scene, Error> {
        let value: Value = serde_json::from_str(json)
            .map_err(|e| Error::scene(Location::Document, None, format!("invalid JSON: {e}")))?;
        Scene::from_value(&value)
    }

    /// Reads and parses a scene file; the folder that holds it becomes the
    /// default asset root.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Scene, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::scene(
                Location::Document,
                None,
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        let mut scene = Scene::from_json(&text)?;
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
        let o = Fields::new(map, Location::Canvas, CANVAS_FIELDS)?;
        let width = o.canvas_side("width")?;
        let height = o.canvas_side("height")?;
        let background = o.color("background")?.unwrap_or(Color {
            r: 0,
            g: 0,
            b: 0,
            a: 0,
        });
        let blend_space = match o.string("blend_space")? {
            None => BlendSpace::Srgb,
            Some(s) => match s {
                "srgb" => BlendSpace::Srgb,
                "linear" => BlendSpace::Linear,
                other => {
                    return Err(o.err(
                        "blend_space",
                        format!("{other:?} is not a blend space: expected \"srgb\" or \"linear\""),
                    ))
                }
            },
        };
        let mut layers = Vec::new();
        if let Some(v) = o.get("layers") {
            let arr = v
                .as_array()
                .ok_or_else(|| o.err("layers", format!("expected an array, got {}", kind_of(v))))?;
            for (index, lv) in arr.iter().enumerate() {
                layers.push(parse_layer(index, lv, width, height)?);
            }
        }
        Ok(Scene {
            width,
            height,
            background,
            blend_space,
            layers,
            base_dir: None,
        })
    }
}

const CANVAS_FIELDS: &[&str] = &["width", "height", "background", "blend_space", "layers"];
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
];
const LAYER_TYPES: &[&str] = &[
    "image",
    "rect",
    "linear-gradient",
    "radial-gradient",
    "text",
];

fn type_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "rect" => &["color"],
        "linear-gradient" => &["angle", "stops"],
        "radial-gradient" => &["center", "radius", "stops"],
        "image" => &["src", "fit", "position", "filter"],
        "text" => &[
            "text",
            "size",
            "color",
            "font",
            "weight",
            "style",
            "align",
            "valign",
            "line_height",
        ],
        _ => &[],
    }
}

fn parse_layer(index: usize, v: &Value, canvas_w: u32, canvas_h: u32) -> Result<Layer, Error> {
    let map = v.as_object().ok_or_else(|| {
        Error::scene(
            Location::Layer { index, kind: None },
            None,
            format!("expected a JSON object, got {}", kind_of(v)),
        )
    })?;
    let kind_name = match map.get("type") {
        None => {
            return Err(Error::scene(
                Location::Layer { index, kind: None },
                Some("type"),
                format!("missing; expected one of {}", quoted_list(LAYER_TYPES)),
            ))
        }
        Some(Value::String(s)) if LAYER_TYPES.contains(&s.as_str()) => s.clone(),
        Some(other) => {
            return Err(Error::scene(
                Location::Layer { index, kind: None },
                Some("type"),
                format!(
                    "{} is not a layer type: expected one of {}",
                    other,
                    quoted_list(LAYER_TYPES)
                ),
            ))
        }
    };
    let loc = Location::Layer {
        index,
        kind: Some(kind_name.clone()),
    };
    let allowed: Vec<&str> = COMMON_FIELDS
        .iter()
        .chain(type_fields(&kind_name))
        .copied()
        .collect();
    let o = Fields::new(map, loc, &allowed)?;

    let x = o.coord("x", 0.0)?;
    let y = o.coord("y", 0.0)?;
    let width = o.size("width", canvas_w as f64)?;
    let height = o.size("height", canvas_h as f64)?;
    let opacity = o.number_in("opacity", 1.0, 0.0, 1.0)?;
    let blend = match o.string("blend")? {
        None => BlendMode::SourceOver,
        Some(name) => BlendMode::from_name(name).ok_or_else(|| {
            o.err(
                "blend",
                format!(
                    "{name:?} is not a blend name: expected one of {}",
                    quoted_list(BlendMode::NAMES)
                ),
            )
        })?,
    };
    let corner_radius = o.number_in("corner_radius", 0.0, 0.0, MAX_COORD)?;
    let rotate = o.number_in("rotate", 0.0, -MAX_COORD, MAX_COORD)?;

    let kind = match kind_name.as_str() {
        "rect" => LayerKind::Rect {
            color: o.required_color("color")?,
        },
        "linear-gradient" => LayerKind::LinearGradient {
            angle: o.number_in("angle", 180.0, -MAX_COORD, MAX_COORD)?,
            stops: o.stops()?,
        },
        "radial-gradient" => LayerKind::RadialGradient {
            center: o.pair("center", [0.5, 0.5])?,
            radius: match o.get("radius") {
                None => None,
                Some(_) => Some(o.number_in("radius", 1.0, f64::MIN_POSITIVE, MAX_COORD)?),
            },
            stops: o.stops()?,
        },
        "image" => {
            let src = o
                .string("src")?
                .ok_or_else(|| o.err("src", "missing (required for an image layer)"))?
                .to_owned();
            if src.is_empty() {
                return Err(o.err("src", "is empty"));
            }
            let fit = match o.string("fit")? {
                None => Fit::Cover,
                Some("cover") => Fit::Cover,
                Some("contain") => Fit::Contain,
                Some("fill") => Fit::Fill,
                Some("none") => Fit::None,
                Some(other) => {
                    return Err(o.err(
                        "fit",
                        format!("{other:?} is not a fit: expected \"cover\", \"contain\", \"fill\" or \"none\""),
                    ))
                }
            };
            let filter = match o.string("filter")? {
                None => Filter::Lanczos3,
                Some("lanczos3") => Filter::Lanczos3,
                Some("bilinear") => Filter::Bilinear,
                Some("nearest") => Filter::Nearest,
                Some(other) => {
                    return Err(o.err(
                        "filter",
                        format!("{other:?} is not a filter: expected \"lanczos3\", \"bilinear\" or \"nearest\""),
                    ))
                }
            };
            LayerKind::Image(ImageLayer {
                src,
                fit,
                position: o.pair("position", [0.5, 0.5])?,
                filter,
            })
        }
        "text" => {
            let text = o
                .string("text")?
                .ok_or_else(|| o.err("text", "missing (required for a text layer)"))?
                .to_owned();
            let weight = o.number_in("weight", 400.0, 100.0, 900.0)?;
            if weight.fract() != 0.0 {
                return Err(o.err(
                    "weight",
                    format!("expected an integer from 100 to 900, got {weight}"),
                ));
            }
            let italic = match o.string("style")? {
                None | Some("normal") => false,
                Some("italic") => true,
                Some(other) => {
                    return Err(o.err(
                        "style",
                        format!("{other:?} is not a style: expected \"normal\" or \"italic\""),
                    ))
                }
            };
            let align = match o.string("align")? {
                None | Some("left") => Align::Left,
                Some("center") => Align::Center,
                Some("right") => Align::Right,
                Some(other) => {
                    return Err(o.err(
                        "align",
                        format!(
                        "{other:?} is not an alignment: expected \"left\", \"center\" or \"right\""
                    ),
                    ))
                }
            };
            let valign = match o.string("valign")? {
                None | Some("top") => VAlign::Top,
                Some("middle") => VAlign::Middle,
                Some("bottom") => VAlign::Bottom,
                Some(other) => {
                    return Err(o.err(
                        "valign",
                        format!("{other:?} is not a vertical alignment: expected \"top\", \"middle\" or \"bottom\""),
                    ))
                }
            };
            let font = o.string("font")?.map(str::to_owned);
            if font.as_deref() == Some("") {
                return Err(o.err("font", "is empty"));
            }
            LayerKind::Text(TextLayer {
                text,
                size: o.number_in("size", 32.0, 0.01, 10000.0)?,
                color: o.color("color")?.unwrap_or(Color {
                    r: 0,
                    g: 0,
                    b: 0,
                    a: 255,
                }),
                font,
                weight: weight as u16,
                italic,
                align,
                valign,
                line_height: o.number_in("line_height", 1.2, 0.01, 100.0)?,
            })
        }
        // `kind_name` was checked against LAYER_TYPES above.
        _ => unreachable!("layer type checked above"),
    };
    Ok(Layer {
        x,
        y,
        width,
        height,
        opacity,
        blend,
        corner_radius,
        rotate,
        kind,
    })
}

/// A JSON object being read field by field, with errors that know where they are.
struct Fields<'a> {
    map: &'a Map<String, Value>,
    loc: Location,
}

impl<'a> Fields<'a> {
    /// Checks that every key of `map` is in `allowed`.
    fn new(map: &'a Map<String, Value>, loc: Location, allowed: &[&str]) -> Result<Self, Error> {
        for key in map.keys() {
            if !allowed.contains(&key.as_str()) {
                let hint = match closest(key, allowed) {
                    Some(s) => format!("; did you mean \"{s}\"?"),
                    None => String::new(),
                };
                let what = match &loc {
                    Location::Layer {
                        kind: Some(kind), ..
                    } => format!(
                        "unknown field for a {kind} layer{hint} (allowed: {})",
                        allowed.join(", ")
                    ),
                    _ => format!("unknown field{hint} (allowed: {})", allowed.join(", ")),
                };
                return Err(Error::scene(loc, Some(key), what));
            }
        }
        Ok(Fields { map, loc })
    }

    fn err(&self, field: &str, message: impl Into<String>) -> Error {
        Error::scene(self.loc.clone(), Some(field), message)
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    fn number(&self, key: &str, v: &Value) -> Result<f64, Error> {
        v.as_f64()
            .filter(|n| n.is_finite())
            .ok_or_else(|| self.err(key, format!("expected a number, got {}", kind_of(v))))
    }

    fn number_in(&self, key: &str, default: f64, lo: f64, hi: f64) -> Result<f64, Error> {
        let Some(v) = self.get(key) else {
            return Ok(default);
        };
        let n = self.number(key, v)?;
        if n < lo || n > hi {
            let range = if lo == f64::MIN_POSITIVE {
                format!("greater than 0 and at most {hi}")
            } else {
                format!("from {lo} to {hi}")
            };
            return Err(self.err(
                key,
                format!("{n} is out of range: expected a number {range}"),
            ));
        }
        Ok(n)
    }

    fn coord(&self, key: &str, default: f64) -> Result<f64, Error> {
        self.number_in(key, default, -MAX_COORD, MAX_COORD)
    }

    fn size(&self, key: &str, default: f64) -> Result<f64, Error> {
        let Some(v) = self.get(key) else {
            return Ok(default);
        };
        let n = self.number(key, v)?;
        if n <= 0.0 || n > MAX_COORD {
            return Err(self.err(
                key,
                format!(
                    "{n} is out of range: expected a number greater than 0 and at most {MAX_COORD}"
                ),
            ));
        }
        Ok(n)
    }

    fn canvas_side(&self, key: &str) -> Result<u32, Error> {
        let v = self
            .get(key)
            .ok_or_else(|| self.err(key, "missing (required)"))?;
        let n = self.number(key, v)?;
        if n.fract() != 0.0 || !(1.0..=MAX_CANVAS_SIDE as f64).contains(&n) {
            return Err(self.err(
                key,
                format!("{n} is out of range: expected an integer from 1 to {MAX_CANVAS_SIDE}"),
            ));
        }
        Ok(n as u32)
    }

    fn string(&self, key: &str) -> Result<Option<&'a str>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(v) => Err(self.err(key, format!("expected a string, got {}", kind_of(v)))),
        }
    }

    fn color(&self, key: &str) -> Result<Option<Color>, Error> {
        match self.string(key)? {
            None => Ok(None),
            Some(s) => Color::parse_hex(s).map(Some).map_err(|m| self.err(key, m)),
        }
    }

    fn required_color(&self, key: &str) -> Result<Color, Error> {
        self.color(key)?
            .ok_or_else(|| self.err(key, "missing (required)"))
    }

    fn pair(&self, key: &str, default: [f64; 2]) -> Result<[f64; 2], Error> {
        let Some(v) = self.get(key) else {
            return Ok(default);
        };
        let bad = || {
            self.err(
                key,
                format!("expected an array of two numbers, got {}", kind_of(v)),
            )
        };
        let arr = v.as_array().ok_or_else(bad)?;
        if arr.len() != 2 {
            return Err(bad());
        }
        let a = arr[0].as_f64().filter(|n| n.is_finite()).ok_or_else(bad)?;
        let b = arr[1].as_f64().filter(|n| n.is_finite()).ok_or_else(bad)?;
        if a.abs() > MAX_COORD || b.abs() > MAX_COORD {
            return Err(self.err(key, format!("[{a}, {b}] is out of range")));
        }
        Ok([a, b])
    }

    fn stops(&self) -> Result<Vec<Stop>, Error> {
        let v = self
            .get("stops")
            .ok_or_else(|| self.err("stops", "missing (required: at least two stops)"))?;
        let arr = v
            .as_array()
            .ok_or_else(|| self.err("stops", format!("expected an array, got {}", kind_of(v))))?;
        if arr.len() < 2 {
            return Err(self.err(
                "stops",
                format!("expected at least two stops, got {}", arr.len()),
            ));
        }
        let mut stops = Vec::with_capacity(arr.len());
        for (i, sv) in arr.iter().enumerate() {
            let field = format!("stops[{i}]");
            let map = sv.as_object().ok_or_else(|| {
                self.err(
                    &field,
                    format!(
                        "expected an object with \"offset\" and \"color\", got {}",
                        kind_of(sv)
                    ),
                )
            })?;
            for key in map.keys() {
                if key != "offset" && key != "color" {
                    return Err(self.err(
                        &format!("{field}.{key}"),
                        "unknown field (allowed: offset, color)",
                    ));
                }
            }
            let off_field = format!("{field}.offset");
            let offset = match map.get("offset") {
                None => return Err(self.err(&off_field, "missing (required)")),
                Some(ov) => self.number(&off_field, ov)?,
            };
            if !(0.0..=1.0).contains(&offset) {
                return Err(self.err(
                    &off_field,
                    format!("{offset} is out of range: expected a number from 0 to 1"),
                ));
            }
            if let Some(prev) = stops.last().map(|s: &Stop| s.offset) {
                if offset < prev {
                    return Err(self.err(
                        &off_field,
                        format!("{offset} is less than the previous stop's offset {prev}: offsets must not decrease"),
                    ));
                }
            }
            let col_field = format!("{field}.color");
            let color = match map.get("color") {
                None => return Err(self.err(&col_field, "missing (required)")),
                Some(Value::String(s)) => {
                    Color::parse_hex(s).map_err(|m| self.err(&col_field, m))?
                }
                Some(cv) => {
                    return Err(self.err(
                        &col_field,
                        format!("expected a string, got {}", kind_of(cv)),
                    ))
                }
            };
            stops.push(Stop { offset, color });
        }
        Ok(stops)
    }
}

fn kind_of(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {s:?}"),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

fn quoted_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The allowed name closest to `key` (edit distance at most 2), for hints.
fn closest<'b>(key: &str, allowed: &[&'b str]) -> Option<&'b str> {
    allowed
        .iter()
        .map(|a| (edit_distance(key, a), *a))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, a)| a)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let sub = prev[j - 1] + usize::from(a[i - 1] != b[j - 1]);
            cur[j] = sub.min(prev[j] + 1).min(cur[j - 1] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("heigth", "height"), 2);
        assert_eq!(edit_distance("x", "x"), 0);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
