//! impasto composes layered images (photos, logos, gradients, shapes and
//! text) into posters, social cards and thumbnails, with exact
//! premultiplied-alpha compositing maths.
//!
//! ```no_run
//! use impasto::{Backend, Renderer, Scene};
//!
//! let scene = Scene::from_path("examples/poster/poster.json")?;
//! let renderer = Renderer::new(Backend::Auto)?;
//! let image = renderer.render(&scene)?; // straight-alpha RGBA8
//! impasto::codec::save(&image, "poster.png".as_ref(), 90)?;
//! # Ok::<(), impasto::Error>(())
//! ```
//!
//! A tour of the modules:
//! - [`scene`]: the scene format (`shared/spec/scene-format.md`) and its strict parser;
//! - [`color`]: colour parsing, the sRGB transfer function, and the named
//!   premultiply / unpremultiply conversions at the engine's edges;
//! - [`blend`]: every compositing formula, in one place;
//! - [`geometry`]: boxes, rotation, antialiased coverage, gradient and image placement;
//! - [`resample`]: premultiplied resampling filters;
//! - [`codec`]: decoding (limits, EXIF orientation) and encoding (PNG, JPEG, WebP);
//! - `cpu`: the band-streaming CPU compositor (and `kernels`, its SIMD row loops);
//! - [`gpu`]: the wgpu backend and its resource pool;
//! - [`text`]: fonts, text layout and glyph rasterization;
//! - [`render`]: [`Renderer`], [`Backend`], [`Limits`], [`Assets`].

#![warn(missing_docs)]

pub mod blend;
pub mod codec;
pub mod color;
mod cpu;
pub mod error;
pub mod geometry;
pub mod gpu;
mod kernels;
pub mod render;
pub mod resample;
pub mod scene;
pub mod text;

pub use blend::BlendMode;
pub use color::{BlendSpace, Color};
pub use error::{Error, Location, SceneError};
pub use gpu::pool::PoolStats;
pub use gpu::AdapterSummary;
pub use image::RgbaImage;
pub use render::{Assets, Backend, Limits, Renderer};
pub use scene::{Layer, LayerKind, Scene};
