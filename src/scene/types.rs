//! The scene model: what a parsed scene holds, every default resolved.
//!
//! Each field's rustdoc gives its default: the value the parser uses when a
//! scene file leaves the field out, and the value the constructors
//! ([`Scene::new`], [`Layer::text`], ...) start from.

use std::path::PathBuf;

use crate::blend::BlendMode;
use crate::color::{BlendSpace, Color};

/// One scene: a canvas and its layers, bottom first.
///
/// Read one with [`Scene::from_json`] or [`Scene::from_path`], or build one
/// in code with [`Scene::new`] and [`Scene::layer`]; write one with
/// [`Scene::to_json`] (or through `serde`, as the scene format).
///
/// A social card, built in code:
///
/// ```
/// use impasto::scene::{Align, Fit, Layer, Scene, VAlign};
/// use impasto::Color;
///
/// let card = Scene::new(1200, 630)
///     .background(Color::hex("#0f172a"))
///     // No size: the layer covers the canvas.
///     .layer(
///         Layer::linear_gradient([(0.0, Color::hex("#1e3a8a")), (1.0, Color::hex("#0f172a"))])
///             .angle(135),
///     )
///     .layer(Layer::image("logo.png").at(64, 64).size(96, 96).fit(Fit::Contain))
///     .layer(
///         Layer::text("Shipping faster with impasto", 64)
///             .at(64, 200)
///             .size(1072, 300)
///             .color(Color::WHITE)
///             .weight(700)
///             .align(Align::Left)
///             .valign(VAlign::Middle),
///     )
///     .layer(Layer::rect(Color::hex("#f59e0b")).at(64, 560).size(200, 8).corner_radius(4));
///
/// assert_eq!(card.layers.len(), 4);
/// assert_eq!((card.layers[0].width, card.layers[0].height), (1200.0, 630.0));
/// card.validate()?; // the checks of the parser, with its messages
/// // The JSON is the scene format, and reads back to the same scene.
/// assert_eq!(Scene::from_json(&card.to_json())?, card);
/// # Ok::<(), impasto::Error>(())
/// ```
///
/// Rendering it (the logo is read from the asset root, here the current
/// folder):
///
/// ```no_run
/// # use impasto::{Backend, Renderer, Scene};
/// # let card = Scene::new(1200, 630);
/// let image = Renderer::new(Backend::Auto)?.render(&card)?;
/// impasto::codec::save(&image, "card.png", 90)?;
/// # Ok::<(), impasto::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Scene {
    /// Output width in pixels, 1..=16384. Required: no default.
    pub width: u32,
    /// Output height in pixels, 1..=16384. Required: no default.
    pub height: u32,
    /// What the canvas holds before the first layer. Default: transparent
    /// black, [`Color::TRANSPARENT`] (`#00000000`).
    pub background: Color,
    /// The space in which colours are blended. Default:
    /// [`BlendSpace::Srgb`] (`"srgb"`).
    pub blend_space: BlendSpace,
    /// The layers, painted first to last. Default: none.
    pub layers: Vec<Layer>,
    /// Whether output to `.gif`, `.png` (APNG) or `.webp` is an animation
    /// of the scene's animated sources (`"animate": true`), as `impasto
    /// render --animate` asks. Default: `false`.
    pub animate: bool,
    /// The folder that held the scene file, when it was read from one: the
    /// default asset root. Default: `None` (the current folder, unless the
    /// [`Renderer`](crate::Renderer) is given a root). Not part of the
    /// scene format: never serialized.
    pub base_dir: Option<PathBuf>,
}

/// One layer: the fields every layer has, and its type-specific part.
///
/// Build one with [`Layer::rect`], [`Layer::linear_gradient`],
/// [`Layer::radial_gradient`], [`Layer::image`] or [`Layer::text`] and the
/// chainable setters; see [`Scene`] for a whole card.
///
/// ```
/// use impasto::scene::Layer;
/// use impasto::{BlendMode, Color};
///
/// let badge = Layer::rect(Color::hex("#e4572e"))
///     .at(800, 820)
///     .size(220, 220)
///     .corner_radius(110)
///     .rotate(12)
///     .opacity(0.9)
///     .blend(BlendMode::Multiply);
/// assert_eq!((badge.x, badge.width, badge.rotate), (800.0, 220.0, 12.0));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    /// Left edge of the layer's box, in pixels. Default: 0.
    pub x: f64,
    /// Top edge of the layer's box, in pixels. Default: 0.
    pub y: f64,
    /// Width of the box (> 0). Default: the canvas width. (A layer built in
    /// code starts at 0, "unsized", and [`Scene::layer`] gives it the canvas
    /// width.)
    pub width: f64,
    /// Height of the box (> 0). Default: the canvas height. (A layer built in
    /// code starts at 0, "unsized", and [`Scene::layer`] gives it the canvas
    /// height.)
    pub height: f64,
    /// Multiplies the layer's alpha, 0..=1. Default: 1.
    pub opacity: f64,
    /// How the layer meets what is below it. Default:
    /// [`BlendMode::SourceOver`] (`"source-over"`).
    pub blend: BlendMode,
    /// Corner radius of the clip, >= 0. Default: 0 (square corners).
    pub corner_radius: f64,
    /// Degrees clockwise about the box centre. Default: 0.
    pub rotate: f64,
    /// Whether the layer is painted; an invisible layer is skipped as if it
    /// were not in the scene (its fields are still checked, its image still
    /// read). Default: true. A template can hide a layer per row with
    /// `"visible": "{{has_badge}}"`.
    pub visible: bool,
    /// What the layer paints. Required: no default.
    pub kind: LayerKind,
}

/// The type-specific part of a layer.
#[derive(Debug, Clone, PartialEq)]
pub enum LayerKind {
    /// `rect`: fills the box with one colour.
    Rect {
        /// The fill colour. Required: no default.
        color: Color,
    },
    /// `linear-gradient`.
    LinearGradient {
        /// Degrees; 0 points up, 90 right, 180 down. Default: 180 (top to
        /// bottom).
        angle: f64,
        /// At least two stops in non-decreasing offset order. Required: no
        /// default.
        stops: Vec<Stop>,
    },
    /// `radial-gradient`.
    RadialGradient {
        /// Centre as fractions of the box. Default: `[0.5, 0.5]` (the box
        /// centre).
        center: [f64; 2],
        /// Radius in pixels; `None` means the distance to the farthest corner.
        /// Default: `None`.
        radius: Option<f64>,
        /// At least two stops in non-decreasing offset order. Required: no
        /// default.
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
        use super::names::{LayerType, Named};
        let t = match self {
            LayerKind::Rect { .. } => LayerType::Rect,
            LayerKind::LinearGradient { .. } => LayerType::LinearGradient,
            LayerKind::RadialGradient { .. } => LayerType::RadialGradient,
            LayerKind::Image(_) => LayerType::Image,
            LayerKind::Text(_) => LayerType::Text,
        };
        t.name()
    }
}

/// A gradient stop.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stop {
    /// Position along the gradient, 0..=1. Required: no default.
    pub offset: f64,
    /// Colour at that position. Required: no default.
    pub color: Color,
}

/// How an image is fitted into its box (`fit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fit {
    /// `"cover"`: scale uniformly to cover the box (default).
    #[default]
    Cover,
    /// `"contain"`: scale uniformly to fit inside the box.
    Contain,
    /// `"fill"`: stretch to the box.
    Fill,
    /// `"none"`: keep the natural size.
    None,
}

/// The resampling filter of an image layer (`filter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Filter {
    /// `"lanczos3"`: Lanczos, 3 lobes (default).
    #[default]
    Lanczos3,
    /// `"bilinear"`: triangle filter (bilinear when magnifying,
    /// area-weighted when minifying).
    Bilinear,
    /// `"nearest"`: nearest neighbour.
    Nearest,
}

/// The fields of an `image` layer.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageLayer {
    /// Path relative to the asset root, as written in the scene; not empty.
    /// Required: no default.
    pub src: String,
    /// How the image is fitted into the box. Default: [`Fit::Cover`].
    pub fit: Fit,
    /// CSS `object-position` as fractions. Default: `[0.5, 0.5]` (centred).
    pub position: [f64; 2],
    /// Resampling filter. Default: [`Filter::Lanczos3`].
    pub filter: Filter,
    /// Which frame of an animated source (GIF, APNG, animated WebP) to
    /// draw, from 0; the layer then shows that frame in animated output
    /// too. Default: `None`: a still render shows frame 0, an animated one
    /// plays the source.
    pub frame: Option<u32>,
}

/// Horizontal alignment of text (`align`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Align {
    /// `"left"` (default).
    #[default]
    Left,
    /// `"center"`.
    Center,
    /// `"right"`.
    Right,
    /// `"start"`: each paragraph's start, as CSS's `text-align: start`:
    /// left in a left-to-right paragraph, right in a right-to-left one
    /// (the direction of its first strong letter).
    Start,
    /// `"end"`: each paragraph's end, as CSS's `text-align: end`.
    End,
}

/// Vertical alignment of text (`valign`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VAlign {
    /// `"top"` (default).
    #[default]
    Top,
    /// `"middle"`.
    Middle,
    /// `"bottom"`.
    Bottom,
}

/// The fields of a `text` layer.
///
/// Its [`Default`] is every default of the format, with empty text.
#[derive(Debug, Clone, PartialEq)]
pub struct TextLayer {
    /// UTF-8 text; `\n` (and `\r`, VT, FF, NEL, U+2028, U+2029) breaks lines, other control characters are not drawn. Required in a scene file; the
    /// [`Default`] is empty.
    pub text: String,
    /// Font size in pixels, 0.01..=10000. Default: 32.
    pub size: f64,
    /// Text colour. Default: opaque black, [`Color::BLACK`] (`#000000`).
    pub color: Color,
    /// Family name; `None` is the bundled default family. Default: `None`.
    pub font: Option<String>,
    /// 100..=900. Default: 400 (regular).
    pub weight: u16,
    /// True for `"style": "italic"`. Default: false (`"normal"`).
    pub italic: bool,
    /// Horizontal alignment. Default: [`Align::Left`].
    pub align: Align,
    /// Vertical alignment. Default: [`VAlign::Top`].
    pub valign: VAlign,
    /// Line height as a multiple of `size`, 0.01..=100. Default: 1.2.
    pub line_height: f64,
    /// The most lines drawn, 1..=100000; `None` (the default) is no limit.
    /// Lines past it are not drawn (with [`Overflow::Ellipsis`] the last
    /// one drawn ends with "…").
    pub max_lines: Option<u32>,
    /// What happens to text that does not fit its box or `max_lines`.
    /// Default: [`Overflow::Clip`].
    pub overflow: Overflow,
    /// The smallest size [`Overflow::Shrink`] goes down to, 0.01..=10000
    /// pixels; `None` (the default) is [`DEFAULT_MIN_SIZE`] (8 px), or
    /// `size` if that is smaller. Ignored by the other overflow modes.
    pub min_size: Option<f64>,
    /// Extra space after every character in pixels (tracking),
    /// -1000..=1000; negative tightens. Default: 0. Stays in pixels when
    /// [`Overflow::Shrink`] reduces the size.
    pub letter_spacing: f64,
}

/// The smallest size [`Overflow::Shrink`] goes down to when a text layer
/// gives no `min_size`: 8 pixels (or its `size`, if smaller).
pub const DEFAULT_MIN_SIZE: f64 = 8.0;

/// What a text layer does with text that does not fit (`overflow`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overflow {
    /// `"clip"` (default): lines wrap at the box width, lines past
    /// `max_lines` are dropped, and what lies outside the box is cut off.
    #[default]
    Clip,
    /// `"ellipsis"`: the last line that fits (within the box height and
    /// `max_lines`) ends with "…", replacing as many trailing characters as
    /// needed to fit the box width; later lines are dropped.
    Ellipsis,
    /// `"shrink"`: the largest size, in steps of 0.5 px down from `size` to
    /// `min_size`, at which the text fits the box and `max_lines` without
    /// breaking a word; if none does, `min_size` with an ellipsis.
    Shrink,
}
