//! Building scenes in code: constructors, [`Default`]s and chainable setters.
//! (Just over 600 lines: one short documented setter per field of every
//! layer type, kept together so the builder reads as one table.)
//!
//! The rules, so that a card reads top to bottom:
//! - a constructor takes what a layer of its type cannot do without (a
//!   rect's colour, a gradient's stops, an image's `src`, a text and its font
//!   size); everything else starts at the format's default (stated on each
//!   field) and has a setter named after the field;
//! - setters take `self` and return it, and take numbers as `impl Into<f64>`,
//!   so `.at(64, 200)` and `.at(64.5, 200.0)` both read;
//! - a layer built in code is "unsized" (width and height 0) until
//!   [`Layer::size`]; [`Scene::layer`] gives an unsized side the canvas side,
//!   as the format does for an omitted `width` or `height`;
//! - a type-specific setter on a layer of another type (`.fit` on a rect) is
//!   a bug in the calling code, and panics;
//! - nothing is checked while building: [`Scene::validate`] applies every
//!   rule of the parser, with its messages.

use crate::blend::BlendMode;
use crate::color::{BlendSpace, Color};

use super::{
    Align, Filter, Fit, ImageLayer, Layer, LayerKind, Overflow, Scene, Stop, TextLayer, VAlign,
    LINEAR_ANGLE, RADIAL_CENTER,
};

impl Scene {
    /// An empty `width` x `height` canvas with the format's defaults: a
    /// transparent background, sRGB blending, no layers.
    pub fn new(width: u32, height: u32) -> Scene {
        Scene {
            width,
            height,
            background: Color::TRANSPARENT,
            blend_space: BlendSpace::default(),
            layers: Vec::new(),
            animate: false,
            base_dir: None,
        }
    }

    /// Sets [`animate`](Scene::animate).
    #[must_use]
    pub fn animate(mut self, on: bool) -> Scene {
        self.animate = on;
        self
    }

    /// Sets [`background`](Scene::background).
    #[must_use]
    pub fn background(mut self, color: Color) -> Scene {
        self.background = color;
        self
    }

    /// Sets [`blend_space`](Scene::blend_space).
    #[must_use]
    pub fn blend_space(mut self, space: BlendSpace) -> Scene {
        self.blend_space = space;
        self
    }

    /// Adds a layer on top of the others. A side of the layer never sized
    /// (as the layer constructors leave it) becomes the canvas side; one
    /// sized 0 with [`Layer::size`] stays 0 (and the scene is refused).
    #[must_use]
    pub fn layer(mut self, mut layer: Layer) -> Scene {
        // A size never given is +0; one given as 0 is -0 ([`Layer::size`]),
        // kept, and refused when the scene is checked.
        let unset = |n: f64| n == 0.0 && n.is_sign_positive();
        if unset(layer.width) {
            layer.width = f64::from(self.width);
        }
        if unset(layer.height) {
            layer.height = f64::from(self.height);
        }
        self.layers.push(layer);
        self
    }

    /// Adds layers on top of the others, first to last, as
    /// [`layer`](Scene::layer) does.
    #[must_use]
    pub fn layers(self, layers: impl IntoIterator<Item = Layer>) -> Scene {
        layers.into_iter().fold(self, Scene::layer)
    }
}

impl Layer {
    /// A layer that paints `kind`, every common field at its default, and
    /// unsized (width and height 0: see [`Scene::layer`]).
    pub fn new(kind: impl Into<LayerKind>) -> Layer {
        Layer {
            x: 0.0,
            y: 0.0,
            width: 0.0,
            height: 0.0,
            opacity: 1.0,
            blend: BlendMode::SourceOver,
            corner_radius: 0.0,
            rotate: 0.0,
            visible: true,
            kind: kind.into(),
        }
    }

    /// A `rect` layer filled with `color`.
    pub fn rect(color: Color) -> Layer {
        Layer::new(LayerKind::Rect { color })
    }

    /// A `linear-gradient` layer, top to bottom until [`angle`](Layer::angle).
    /// `stops` are [`Stop`]s or `(offset, color)` pairs.
    pub fn linear_gradient(stops: impl IntoIterator<Item = impl Into<Stop>>) -> Layer {
        Layer::new(LayerKind::LinearGradient {
            angle: LINEAR_ANGLE,
            stops: stops.into_iter().map(Into::into).collect(),
        })
    }

    /// A `radial-gradient` layer from the box centre to its farthest corner,
    /// until [`center`](Layer::center) and [`radius`](Layer::radius).
    /// `stops` are [`Stop`]s or `(offset, color)` pairs.
    pub fn radial_gradient(stops: impl IntoIterator<Item = impl Into<Stop>>) -> Layer {
        Layer::new(LayerKind::RadialGradient {
            center: RADIAL_CENTER,
            radius: None,
            stops: stops.into_iter().map(Into::into).collect(),
        })
    }

    /// An `image` layer showing `src`, a path relative to the asset root.
    pub fn image(src: impl Into<String>) -> Layer {
        Layer::new(ImageLayer::new(src))
    }

    /// A `text` layer of `text` at `size` pixels (the one optional field a
    /// constructor takes: the setter `size` is the box's).
    pub fn text(text: impl Into<String>, size: impl Into<f64>) -> Layer {
        Layer::new(TextLayer {
            text: text.into(),
            size: size.into(),
            ..TextLayer::default()
        })
    }

    /// Sets the top-left corner of the box, [`x`](Layer::x) and [`y`](Layer::y).
    #[must_use]
    pub fn at(mut self, x: impl Into<f64>, y: impl Into<f64>) -> Layer {
        self.x = x.into();
        self.y = y.into();
        self
    }

    /// Sets the box's [`width`](Layer::width) and [`height`](Layer::height).
    /// A size of 0 (a bar at 0% of a chart) is kept, and refused when the
    /// scene is checked, as the scene format refuses it; it is not a size
    /// left unset, which [`Scene::layer`] fills with the canvas's (a bar
    /// at 0% was drawn across the whole canvas).
    #[must_use]
    pub fn size(mut self, width: impl Into<f64>, height: impl Into<f64>) -> Layer {
        // Marked -0 (equal to 0 everywhere else; written 0).
        let given = |n: f64| if n == 0.0 { -0.0 } else { n };
        self.width = given(width.into());
        self.height = given(height.into());
        self
    }

    /// Sets [`opacity`](Layer::opacity).
    #[must_use]
    pub fn opacity(mut self, opacity: impl Into<f64>) -> Layer {
        self.opacity = opacity.into();
        self
    }

    /// Sets [`blend`](Layer::blend).
    #[must_use]
    pub fn blend(mut self, mode: BlendMode) -> Layer {
        self.blend = mode;
        self
    }

    /// Sets [`corner_radius`](Layer::corner_radius).
    #[must_use]
    pub fn corner_radius(mut self, radius: impl Into<f64>) -> Layer {
        self.corner_radius = radius.into();
        self
    }

    /// Sets [`rotate`](Layer::rotate), degrees clockwise.
    #[must_use]
    pub fn rotate(mut self, degrees: impl Into<f64>) -> Layer {
        self.rotate = degrees.into();
        self
    }

    /// Sets [`visible`](Layer::visible): false skips the layer.
    #[must_use]
    pub fn visible(mut self, visible: bool) -> Layer {
        self.visible = visible;
        self
    }

    /// Sets the colour of a rect or text layer.
    ///
    /// # Panics
    ///
    /// On a layer of another type.
    #[must_use]
    #[track_caller]
    pub fn color(mut self, color: Color) -> Layer {
        match &mut self.kind {
            LayerKind::Rect { color: c } => *c = color,
            LayerKind::Text(t) => t.color = color,
            other => wrong_kind("color", "rect and text", other),
        }
        self
    }

    /// Sets the `angle` of a linear gradient, degrees (0 up, 90 right).
    ///
    /// # Panics
    ///
    /// On a layer of another type.
    #[must_use]
    #[track_caller]
    pub fn angle(mut self, degrees: impl Into<f64>) -> Layer {
        match &mut self.kind {
            LayerKind::LinearGradient { angle, .. } => *angle = degrees.into(),
            other => wrong_kind("angle", "linear-gradient", other),
        }
        self
    }

    /// Sets the `center` of a radial gradient, as fractions of the box.
    ///
    /// # Panics
    ///
    /// On a layer of another type.
    #[must_use]
    #[track_caller]
    pub fn center(mut self, fx: impl Into<f64>, fy: impl Into<f64>) -> Layer {
        match &mut self.kind {
            LayerKind::RadialGradient { center, .. } => *center = [fx.into(), fy.into()],
            other => wrong_kind("center", "radial-gradient", other),
        }
        self
    }

    /// Sets the `radius` of a radial gradient, in pixels.
    ///
    /// # Panics
    ///
    /// On a layer of another type.
    #[must_use]
    #[track_caller]
    pub fn radius(mut self, pixels: impl Into<f64>) -> Layer {
        match &mut self.kind {
            LayerKind::RadialGradient { radius, .. } => *radius = Some(pixels.into()),
            other => wrong_kind("radius", "radial-gradient", other),
        }
        self
    }

    /// Sets an image layer's [`fit`](ImageLayer::fit).
    ///
    /// # Panics
    ///
    /// On a layer of another type.
    #[must_use]
    #[track_caller]
    pub fn fit(mut self, fit: Fit) -> Layer {
        self.image_mut("fit").fit = fit;
        self
    }

    /// Sets an image layer's [`position`](ImageLayer::position), as fractions.
    ///
    /// # Panics
    ///
    /// On a layer of another type.
    #[must_use]
    #[track_caller]
    pub fn position(mut self, fx: impl Into<f64>, fy: impl Into<f64>) -> Layer {
        self.image_mut("position").position = [fx.into(), fy.into()];
        self
    }

    /// Sets an image layer's [`filter`](ImageLayer::filter).
    ///
    /// # Panics
    ///
    /// On a layer of another type.
    #[must_use]
    #[track_caller]
    pub fn filter(mut self, filter: Filter) -> Layer {
        self.image_mut("filter").filter = filter;
        self
    }

    /// Sets an image layer's [`frame`](ImageLayer::frame): which frame of
    /// an animated source it shows.
    ///
    /// # Panics
    ///
    /// On a layer of another type.
    #[must_use]
    #[track_caller]
    pub fn frame(mut self, index: u32) -> Layer {
        self.image_mut("frame").frame = Some(index);
        self
    }

    /// Sets a text layer's [`font`](TextLayer::font) family.
    ///
    /// # Panics
    ///
    /// On a layer of another type.
    #[must_use]
    #[track_caller]
    pub fn font(mut self, family: impl Into<String>) -> Layer {
        self.text_mut("font").font = Some(family.into());
        self
    }

    /// Sets a text layer's [`weight`](TextLayer::weight), 100..=900.
    ///
    /// # Panics
    ///
    /// On a layer of another type.
    #[must_use]
    #[track_caller]
    pub fn weight(mut self, weight: u16) -> Layer {
        self.text_mut("weight").weight = weight;
        self
    }

    /// Sets whether a text layer is [`italic`](TextLayer::italic).
    ///
    /// # Panics
    ///
    /// On a layer of another type.
    #[must_use]
    #[track_caller]
    pub fn italic(mut self, italic: bool) -> Layer {
        self.text_mut("italic").italic = italic;
        self
    }

    /// Sets a text layer's horizontal [`align`](TextLayer::align)ment.
    ///
    /// # Panics
    ///
    /// On a layer of another type.
    #[must_use]
    #[track_caller]
    pub fn align(mut self, align: Align) -> Layer {
        self.text_mut("align").align = align;
        self
    }

    /// Sets a text layer's vertical [`valign`](TextLayer::valign)ment.
    ///
    /// # Panics
    ///
    /// On a layer of another type.
    #[must_use]
    #[track_caller]
    pub fn valign(mut self, valign: VAlign) -> Layer {
        self.text_mut("valign").valign = valign;
        self
    }

    /// Sets a text layer's [`line_height`](TextLayer::line_height), a
    /// multiple of its font size.
    ///
    /// # Panics
    ///
    /// On a layer of another type.
    #[must_use]
    #[track_caller]
    pub fn line_height(mut self, multiple: impl Into<f64>) -> Layer {
        self.text_mut("line_height").line_height = multiple.into();
        self
    }

    /// Sets a text layer's [`max_lines`](TextLayer::max_lines).
    ///
    /// # Panics
    ///
    /// On a layer of another type.
    #[must_use]
    #[track_caller]
    pub fn max_lines(mut self, lines: u32) -> Layer {
        self.text_mut("max_lines").max_lines = Some(lines);
        self
    }

    /// Sets what a text layer does with text that does not fit
    /// ([`overflow`](TextLayer::overflow)).
    ///
    /// # Panics
    ///
    /// On a layer of another type.
    #[must_use]
    #[track_caller]
    pub fn overflow(mut self, overflow: Overflow) -> Layer {
        self.text_mut("overflow").overflow = overflow;
        self
    }

    /// Sets the smallest size [`Overflow::Shrink`] goes down to
    /// ([`min_size`](TextLayer::min_size)).
    ///
    /// # Panics
    ///
    /// On a layer of another type.
    #[must_use]
    #[track_caller]
    pub fn min_size(mut self, size: impl Into<f64>) -> Layer {
        self.text_mut("min_size").min_size = Some(size.into());
        self
    }

    /// Sets a text layer's [`letter_spacing`](TextLayer::letter_spacing) in
    /// pixels.
    ///
    /// # Panics
    ///
    /// On a layer of another type.
    #[must_use]
    #[track_caller]
    pub fn letter_spacing(mut self, px: impl Into<f64>) -> Layer {
        self.text_mut("letter_spacing").letter_spacing = px.into();
        self
    }

    #[track_caller]
    fn image_mut(&mut self, setter: &str) -> &mut ImageLayer {
        match &mut self.kind {
            LayerKind::Image(image) => image,
            other => wrong_kind(setter, "image", other),
        }
    }

    #[track_caller]
    fn text_mut(&mut self, setter: &str) -> &mut TextLayer {
        match &mut self.kind {
            LayerKind::Text(text) => text,
            other => wrong_kind(setter, "text", other),
        }
    }
}

#[track_caller]
fn wrong_kind(setter: &str, types: &str, kind: &LayerKind) -> ! {
    panic!(
        "Layer::{setter} applies to {types} layers, not to a {} layer",
        kind.type_name()
    )
}

impl ImageLayer {
    /// An image layer part showing `src`, every other field at its default.
    pub fn new(src: impl Into<String>) -> ImageLayer {
        ImageLayer {
            src: src.into(),
            fit: Fit::default(),
            position: [0.5, 0.5],
            filter: Filter::default(),
            frame: None,
        }
    }
}

/// Every default of the format (size 32, black, weight 400, upright, left,
/// top, line height 1.2), with empty text.
impl Default for TextLayer {
    fn default() -> TextLayer {
        TextLayer {
            text: String::new(),
            size: 32.0,
            color: Color::BLACK,
            font: None,
            weight: 400,
            italic: false,
            align: Align::default(),
            valign: VAlign::default(),
            line_height: 1.2,
            max_lines: None,
            overflow: Overflow::default(),
            min_size: None,
            letter_spacing: 0.0,
        }
    }
}

impl From<ImageLayer> for LayerKind {
    fn from(image: ImageLayer) -> LayerKind {
        LayerKind::Image(image)
    }
}

impl From<TextLayer> for LayerKind {
    fn from(text: TextLayer) -> LayerKind {
        LayerKind::Text(text)
    }
}

impl Stop {
    /// A stop of `color` at `offset` (0..=1).
    pub const fn new(offset: f64, color: Color) -> Stop {
        Stop { offset, color }
    }
}

/// `(offset, color)`.
impl From<(f64, Color)> for Stop {
    fn from((offset, color): (f64, Color)) -> Stop {
        Stop { offset, color }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_start_from_the_defaults_the_parser_applies() {
        let parsed = Scene::from_json(
            r##"{"width": 100, "height": 50, "layers": [
                {"type": "rect", "color": "#fff"},
                {"type": "image", "src": "a.png"},
                {"type": "linear-gradient", "stops": [{"offset": 0, "color": "#000"}, {"offset": 1, "color": "#fff"}]},
                {"type": "radial-gradient", "stops": [{"offset": 0, "color": "#000"}, {"offset": 1, "color": "#fff"}]},
                {"type": "text", "text": "hi"}]}"##,
        )
        .unwrap();
        let stops = [(0.0, Color::BLACK), (1.0, Color::WHITE)];
        let built = Scene::new(100, 50)
            .layer(Layer::rect(Color::WHITE))
            .layer(Layer::image("a.png"))
            .layer(Layer::linear_gradient(stops))
            .layer(Layer::radial_gradient(stops))
            .layer(Layer::text("hi", 32));
        assert_eq!(built, parsed);
    }

    #[test]
    fn scene_layer_gives_only_unsized_sides_the_canvas_side() {
        let s = Scene::new(300, 200)
            .layer(Layer::rect(Color::WHITE).at(10, 20))
            .layers([Layer::rect(Color::WHITE).size(5.5, 6)]);
        let sizes: Vec<_> = s.layers.iter().map(|l| (l.width, l.height)).collect();
        assert_eq!(sizes, [(300.0, 200.0), (5.5, 6.0)]);
        assert_eq!((s.layers[0].x, s.layers[0].y), (10.0, 20.0));
        // Sized 0 (a bar at 0%, computed): kept, and refused as the format
        // refuses it; it was the canvas's whole width.
        let zero = Scene::new(300, 200).layer(Layer::rect(Color::WHITE).size(0.0 * 100.0, 10));
        assert_eq!(zero.layers[0].width, 0.0);
        let e = zero.validate().unwrap_err().to_string();
        assert!(e.contains("field \"width\": 0 is out of range"), "{e}");
        // A NaN is said to be one, not "null".
        let nan = Scene::new(300, 200).layer(Layer::rect(Color::WHITE).at(f64::NAN, 0));
        let e = nan.validate().unwrap_err().to_string();
        assert!(
            e.ends_with("got null (a NaN or an infinity, given in code)"),
            "{e}"
        );
    }

    #[test]
    fn setters_write_the_fields_they_are_named_after() {
        let l = Layer::text("t", 20)
            .color(Color::WHITE)
            .font("Serif")
            .weight(700)
            .italic(true)
            .align(Align::Right)
            .valign(VAlign::Bottom)
            .line_height(1.5)
            .opacity(0.5)
            .blend(BlendMode::Screen)
            .corner_radius(3)
            .rotate(-10);
        let LayerKind::Text(t) = &l.kind else {
            panic!("{l:?}")
        };
        assert_eq!(
            (t.size, t.color, t.font.as_deref(), t.weight, t.italic),
            (20.0, Color::WHITE, Some("Serif"), 700, true)
        );
        assert_eq!(
            (t.align, t.valign, t.line_height),
            (Align::Right, VAlign::Bottom, 1.5)
        );
        assert_eq!(
            (l.opacity, l.blend, l.corner_radius, l.rotate),
            (0.5, BlendMode::Screen, 3.0, -10.0)
        );

        let i = Layer::image("p.png")
            .fit(Fit::None)
            .position(0, 1)
            .filter(Filter::Nearest)
            .frame(3);
        assert_eq!(
            i.kind,
            LayerKind::Image(ImageLayer {
                src: "p.png".into(),
                fit: Fit::None,
                position: [0.0, 1.0],
                filter: Filter::Nearest,
                frame: Some(3),
            })
        );
        let stops = [Stop::new(0.0, Color::BLACK), Stop::new(1.0, Color::WHITE)];
        let r = Layer::radial_gradient(stops).center(0.25, 0.75).radius(40);
        assert_eq!(
            r.kind,
            LayerKind::RadialGradient {
                center: [0.25, 0.75],
                radius: Some(40.0),
                stops: stops.to_vec()
            }
        );
        let g = Layer::linear_gradient(stops).angle(90);
        let LayerKind::LinearGradient { angle, .. } = g.kind else {
            panic!("{g:?}")
        };
        assert_eq!(angle, 90.0);
    }

    #[test]
    #[should_panic(expected = "Layer::fit applies to image layers, not to a rect layer")]
    fn a_setter_of_another_layer_type_panics() {
        let _ = Layer::rect(Color::BLACK).fit(Fit::Contain);
    }
}
