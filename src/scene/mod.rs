//! The scene model of `docs/scene-format.md`, version 1: its strict
//! parser, its builders and its serializer.
//!
//! Parsing walks the JSON by hand rather than through `#[derive(Deserialize)]`
//! so that every error names the layer (index and type), the field and the
//! problem, e.g. `layer 3 (image): field "src": "../x.png" resolves outside the
//! asset root`. Unknown fields and layer types are errors, so a typo such as
//! `"heigth"` never passes silently. Every default of the spec is applied here,
//! so the renderers see fully resolved values.
//!
//! Building a scene in code ([`Scene::new`], [`Layer::text`], ...) starts
//! from the same defaults, stated on every field; [`Scene::to_json`] (or
//! `serde`) writes a scene back in the format. See [`Scene`] for a social card
//! built in code.
//!
//! The parts:
//! - `types`: the model, [`Scene`], [`Layer`] and the rest;
//! - `names`: [`Named`], the one table of names per enum (`"cover"`,
//!   `"center"`...), used to parse and to write;
//! - `parse` (with `fields`, the field-by-field reader): JSON to [`Scene`];
//! - `build`: constructors, [`Default`]s and chainable setters;
//! - `ser`: [`Scene`] to JSON, and `Deserialize` through the parser.

mod build;
mod fields;
mod names;
mod parse;
mod quoted;
mod ser;
mod strict_json;
mod types;

pub(crate) use fields::{closest, kind_of, UNKNOWN_FIELD};
pub use names::Named;
pub(crate) use parse::{json_value, read_limited, read_text};
pub(crate) use quoted::start_of;
pub use quoted::{is_unseen, quoted, shown_path, Quoted, LONGEST_QUOTED};
pub use strict_json::describe as describe_json_error;
pub use strict_json::from_slice as json_from_slice_strict;
pub use strict_json::from_slice_within as json_from_slice_within;
pub use strict_json::tree_bytes as json_tree_bytes;
pub use types::{
    Align, Filter, Fit, ImageLayer, Layer, LayerKind, Overflow, Scene, Stop, TextLayer, VAlign,
    DEFAULT_MIN_SIZE,
};

/// Largest canvas side the format allows.
pub const MAX_CANVAS_SIDE: u32 = 16384;
/// Largest magnitude accepted for a coordinate or size, in pixels. Far outside
/// any canvas; it keeps the geometry maths well inside `f32`/`f64` range.
pub const MAX_COORD: f64 = 1.0e6;
/// Largest scene file [`Scene::from_path`] reads: 64 MiB, far beyond any
/// poster (`Scene::from_path_limited` takes another).
pub const MAX_SCENE_BYTES: u64 = 64 << 20;

/// The default `angle` of a linear gradient: 180, top to bottom.
const LINEAR_ANGLE: f64 = 180.0;
/// The default `center` of a radial gradient: the box centre.
const RADIAL_CENTER: [f64; 2] = [0.5, 0.5];
