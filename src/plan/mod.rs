//! What to draw, decided once for every backend.
//!
//! A render goes scene -> [`crate::Assets::resolve`] (limits, decoding,
//! fonts) -> [`Plan`] -> one painter per backend (`crate::cpu`,
//! `crate::gpu`). The plan holds every decision that is not about how a
//! backend gets pixels on the screen: each layer's box and coverage
//! geometry and the pixels it can touch, its blend mode and opacity, and its
//! [`Paint`] with colours already premultiplied in the blend space, gradient
//! ramps, image placement and resampling weights, and the text layout to
//! rasterize. A backend matches on [`Paint`]: adding a layer kind adds a
//! variant here, and the compiler then points at each painter.

pub(crate) mod geometry;
pub(crate) mod image;
pub(crate) mod memory;
mod text_memory;
pub(crate) mod weights;
pub(crate) mod weights_cache;

use std::sync::Arc;

use ::image::RgbaImage;

use crate::assets::Resolved;
use crate::blend::BlendMode;
use crate::color::BlendSpace;
use crate::scene::{Layer, LayerKind, Scene, Stop, TextLayer};
use crate::text::{SharedGlyphs, TextGlyphs, TextRaster};
use geometry::{BoxGeometry, LinearRamp, RadialRamp};
pub(crate) use image::Sampling;

/// A scene, planned: the canvas and its layers, ready to paint.
pub(crate) struct Plan<'s> {
    /// Canvas width in pixels.
    pub width: u32,
    /// Canvas height in pixels.
    pub height: u32,
    /// The space colours blend in.
    pub space: BlendSpace,
    /// The background, premultiplied in `space`.
    pub background: [f32; 4],
    /// The layers, bottom first, one per visible scene layer.
    pub layers: Vec<PlannedLayer<'s>>,
    /// What was planned, for [`Plan::tile_scene`].
    scene: &'s Scene,
    /// The scene's decoded inputs.
    pub resolved: &'s Resolved,
}

/// One layer of a [`Plan`].
pub(crate) struct PlannedLayer<'s> {
    /// Index of the scene layer (for errors).
    pub index: usize,
    /// How it meets what is below.
    pub blend: BlendMode,
    /// Multiplies its coverage.
    pub opacity: f32,
    /// Box, rotation, rounded corners and area clip: exact coverage.
    pub geom: BoxGeometry,
    /// Pixels `[x0, y0, x1, y1)` its shape can touch; `None` if none.
    pub bounds: Option<[u32; 4]>,
    /// What it paints inside its coverage.
    pub paint: Paint<'s>,
}

/// Gradient stops: offset and premultiplied colour in the blend space.
pub(crate) type Stops = Vec<(f64, [f32; 4])>;

/// What a layer paints, per pixel, before coverage and opacity.
pub(crate) enum Paint<'s> {
    /// One premultiplied colour.
    Solid([f32; 4]),
    /// A linear gradient: ramp position `t` at each pixel, then the stops.
    Linear { ramp: LinearRamp, stops: Stops },
    /// A radial gradient.
    Radial { ramp: RadialRamp, stops: Stops },
    /// A decoded straight-alpha image and how it is sampled.
    Image {
        image: Arc<RgbaImage>,
        sampling: Sampling,
    },
    /// A text layer, laid out by the text engine; backends either draw it
    /// with their own glyph renderer or paint [`PlannedLayer::text_raster`].
    Text {
        layer: &'s Layer,
        text: &'s TextLayer,
    },
    /// Nothing (an image with nothing visible). Still composited, so the
    /// unbounded operators clear what they must.
    Nothing,
}

impl<'s> Plan<'s> {
    /// Plans `scene`, whose images and fonts `resolved` holds.
    pub fn new(scene: &'s Scene, resolved: &'s Resolved) -> Plan<'s> {
        let space = scene.blend_space;
        let canvas = (scene.width, scene.height);
        let layers = scene
            .layers
            .iter()
            .enumerate()
            // An invisible layer is not planned: no backend paints it.
            .filter(|(_, layer)| layer.visible)
            .map(|(index, layer)| plan_layer(index, layer, resolved, space, canvas))
            .collect();
        Plan {
            width: scene.width,
            height: scene.height,
            space,
            background: scene.background.to_premul(space),
            layers,
            scene,
            resolved,
        }
    }

    /// The part `[x0, x0 + w) x [y0, y0 + h)` of the canvas as a scene of
    /// its own: every layer moved up and left by whole pixels, which every
    /// formula is invariant under. A backend that cannot hold the whole
    /// canvas plans and paints it tile by tile
    /// (`Plan::new(&plan.tile_scene(..), plan.resolved)`).
    pub fn tile_scene(&self, x0: u32, y0: u32, w: u32, h: u32) -> Scene {
        let mut tile = self.scene.clone();
        tile.width = w;
        tile.height = h;
        for layer in &mut tile.layers {
            layer.x -= x0 as f64;
            layer.y -= y0 as f64;
        }
        tile
    }
}

impl PlannedLayer<'_> {
    /// The pixels this layer changes: its bounds, or the whole canvas for
    /// the unbounded operators (which clear outside the shape). `None`
    /// when it changes nothing.
    pub fn region(&self, width: u32, height: u32) -> Option<[u32; 4]> {
        if self.blend.is_unbounded() {
            Some([0, 0, width, height])
        } else {
            self.bounds
        }
    }

    /// A text layer rasterized on the CPU (premultiplied colour in the blend
    /// space, the visible part of its box), for backends without a glyph
    /// renderer of their own or where it cannot draw the layer. `None` for
    /// other paints or when nothing is visible.
    pub fn text_raster(
        &self,
        plan: &Plan<'_>,
        stop: &crate::cancel::Stop<'_>,
    ) -> Option<TextRaster> {
        let Paint::Text { layer, text } = &self.paint else {
            return None;
        };
        // `resolve` loads the text engine for any scene with a text layer.
        let engine = plan.resolved.text.as_ref()?;
        let canvas = (plan.width, plan.height);
        engine.rasterize(layer, text, &self.geom, plan.space, canvas, stop)
    }
}

impl PlannedLayer<'_> {
    /// A text layer laid out and its glyphs rasterized, for the CPU to paint
    /// window by window ([`TextGlyphs::paint`]), sharing glyph images with
    /// the glyph cache while `shared` (one for the render) has room. `None`
    /// for other paints or when nothing is visible.
    pub fn text_glyphs(
        &self,
        plan: &Plan<'_>,
        stop: &crate::cancel::Stop<'_>,
        shared: &mut SharedGlyphs,
    ) -> Option<TextGlyphs> {
        let Paint::Text { layer, text } = &self.paint else {
            return None;
        };
        let engine = plan.resolved.text.as_ref()?;
        engine.glyphs(
            layer,
            text,
            &self.geom,
            plan.space,
            (plan.width, plan.height),
            stop,
            shared,
        )
    }
}

fn premul_stops(stops: &[Stop], space: BlendSpace) -> Stops {
    stops
        .iter()
        .map(|s| (s.offset, s.color.to_premul(space)))
        .collect()
}

fn plan_layer<'s>(
    index: usize,
    layer: &'s Layer,
    resolved: &Resolved,
    space: BlendSpace,
    (w, h): (u32, u32),
) -> PlannedLayer<'s> {
    let mut geom = BoxGeometry::of(layer);
    let paint = match &layer.kind {
        LayerKind::Rect { color } => Paint::Solid(color.to_premul(space)),
        LayerKind::LinearGradient { angle, stops } => Paint::Linear {
            ramp: LinearRamp::new(&geom, *angle),
            stops: premul_stops(stops, space),
        },
        LayerKind::RadialGradient {
            center,
            radius,
            stops,
        } => Paint::Radial {
            ramp: RadialRamp::new(&geom, *center, *radius),
            stops: premul_stops(stops, space),
        },
        // `resolve` decodes every image layer; a missing one paints nothing
        // rather than panicking.
        LayerKind::Image(il) => match resolved.images.get(index).cloned().flatten() {
            Some(source) => {
                let (sampling, g) = image::plan_image(layer, il, &source, (w, h));
                geom = g;
                match sampling {
                    Some(sampling) => Paint::Image {
                        image: source.image,
                        sampling,
                    },
                    None => Paint::Nothing,
                }
            }
            None => Paint::Nothing,
        },
        LayerKind::Text(text) => Paint::Text { layer, text },
    };
    // A text layer's glyphs are drawn in its colour made opaque, and the
    // colour's alpha multiplies the layer's opacity: so it applies to
    // colour glyphs (emoji) too, as in browsers (`"color": "#0000"` hides
    // them), and glyphs overlapping one another (joined scripts, negative
    // letter spacing) are one shape, not darker where they meet.
    let alpha = match &layer.kind {
        LayerKind::Text(text) => f32::from(text.color.a) / 255.0,
        _ => 1.0,
    };
    PlannedLayer {
        index,
        blend: layer.blend,
        opacity: layer.opacity as f32 * alpha,
        bounds: geom.pixel_bounds(w, h),
        geom,
        paint,
    }
}
