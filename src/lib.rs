//! impasto composes layered images (photos, logos, gradients, shapes and
//! text) into posters, social cards and thumbnails, with exact
//! premultiplied-alpha compositing maths, on the CPU or on a GPU (wgpu).
//!
//! ```no_run
//! use impasto::{Backend, Renderer, Scene};
//!
//! let scene = Scene::from_path("examples/poster/poster.json")?;
//! let renderer = Renderer::new(Backend::Auto)?;
//! renderer.render_to_file(&scene, "poster.png", 90)?;
//! # Ok::<(), impasto::Error>(())
//! ```
//!
//! The scene format is documented in `docs/scene-format.md` (and as a JSON
//! Schema in `docs/scene.schema.json`, which `impasto schema` prints).
//!
//! The public surface: [`Renderer`] (built with a [`Backend`] and
//! [`Limits`]) renders a [`Scene`] whose images are files under the asset
//! root or in-memory [`Assets`]; [`codec`] decodes and encodes files;
//! [`scene`] holds the scene types; [`Renderer::render_report`] returns a
//! render's [`Warning`]s (characters no font can draw) with its image, in a
//! [`Rendered`]. How a render flows, module by module, is in
//! `ARCHITECTURE.md`.

#![warn(missing_docs)]

mod animation;
mod asset_cache;
mod asset_files;
mod assets;
mod blend;
mod breaker;
mod busy;
mod byte_lru;
mod cancel;
pub mod codec;
mod color;
mod cpu;
mod data_url;
mod encodable;
mod error;
mod gpu;
pub mod interrupt;
mod limits;
mod pixels;
mod placed_cache;
mod plan;
mod renderer;
pub mod scene;
mod shrink;
pub mod template;
mod text;
mod warnings;

#[cfg(test)]
mod blend_crosscheck;

pub use animation::RenderedAnimation;
pub use asset_cache::AssetCacheStats;
pub use assets::Assets;
pub use blend::BlendMode;
pub use breaker::{BreakerConfig, BreakerState, BreakerStats};
pub use cancel::{CancelToken, RenderOptions};
pub use color::{BlendSpace, Color};
pub use data_url::is_data_url;
pub use encodable::Encodable;
pub use error::{Error, Location, SceneError};
pub use gpu::glyphs::GlyphAtlasStats;
pub use gpu::pool::PoolStats;
#[doc(hidden)]
pub use gpu::GpuPhases;
pub use gpu::{list_adapters, AdapterSummary, GpuCompositor};
// What a renderer's caller builds and reads, at the crate's root (they
// stay where they are too): the pixel type with its image, the layer
// fields' enums, the output formats, a template's variables.
pub use codec::{AnimationFormat, OutputFormat};
pub use image::{Rgba, RgbaImage};
pub use placed_cache::PlacedCacheStats;
pub use plan::weights_cache::{weights_cache_stats, WeightsCacheStats, WEIGHTS_CACHE_BYTES};
pub use renderer::{Backend, Limits, Renderer};
pub use scene::{Align, Filter, Fit, Layer, LayerKind, Overflow, Scene, VAlign};
pub use shrink::ShrinkOnLoad;
pub use template::{Template, TemplateError, VarType, Variable};
pub use text::{MissingGlyphs, TextMeasure};
pub use warnings::{Rendered, Warning};
