//! The one error type of the library.
//!
//! Every failure is a value of [`Error`]; no input makes the library panic.
//! Errors about the scene (bad JSON, a bad field, an unreadable asset, a limit
//! exceeded) are [`Error::Scene`] and carry where the problem is: the layer
//! (index and type) or the canvas, the field, and what is wrong.

use std::fmt;
use std::path::PathBuf;

/// Where in a scene a problem was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// The JSON document as a whole (syntax errors).
    Document,
    /// A canvas-level field (`width`, `background`, ...).
    Canvas,
    /// A layer, by its index in `layers` and its `type` (when known).
    Layer {
        /// Index in the scene's `layers` array (0 is the bottom layer).
        index: usize,
        /// The layer's `type` string, or `None` when it could not be read.
        kind: Option<String>,
    },
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Document => write!(f, "scene"),
            Location::Canvas => write!(f, "canvas"),
            Location::Layer {
                index,
                kind: Some(kind),
            } => write!(f, "layer {index} ({kind})"),
            Location::Layer { index, kind: None } => write!(f, "layer {index}"),
        }
    }
}

/// A problem with the scene or its assets: the user's input is at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SceneError {
    /// The layer or canvas the problem belongs to.
    pub location: Location,
    /// The field at fault (e.g. `"src"`, `"stops[1].offset"`), if any.
    pub field: Option<String>,
    /// What is wrong, in words.
    pub message: String,
}

impl fmt::Display for SceneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            // The field as a JSON string: an unknown key from the input may
            // hold a quote or an invisible character.
            Some(field) => write!(
                f,
                "{}: field {}: {}",
                self.location,
                crate::scene::quoted(field),
                self.message
            ),
            None => write!(f, "{}: {}", self.location, self.message),
        }
    }
}

impl std::error::Error for SceneError {}

/// An image file that cannot be decoded (from [`crate::Assets::insert_file`]
/// or [`crate::codec::decode_file`]): bad input, an [`Error::Scene`] whose
/// message names the file, so `?` carries it into an `impasto::Error`.
impl From<crate::codec::DecodeError> for Error {
    fn from(e: crate::codec::DecodeError) -> Error {
        Error::scene(Location::Document, None, e.0)
    }
}

/// Every error impasto returns. New kinds of failure may be added in a
/// minor release: a `match` on it needs a `_` arm.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The scene or one of its assets is invalid (bad input).
    #[error("{0}")]
    Scene(#[from] SceneError),

    /// A template or the values bound to it are invalid (bad input): names
    /// the variable and, where it is used, the layer and field.
    #[error("{0}")]
    Template(#[from] crate::template::TemplateError),

    /// The render would need more memory than
    /// [`crate::Limits::max_render_bytes`] (bad input). Found as its images
    /// were read, `error` names the image layer whose pixels brought the
    /// sum of decoded images and canvas, `needed` bytes at least, over the
    /// `limit` (the images after it are not decoded); found by the estimate
    /// of the whole render before painting, it names the canvas and the
    /// largest parts, `needed` being that estimate.
    #[error("{error}")]
    OverMemoryLimit {
        /// Where (the image layer, field `src`) and what.
        error: SceneError,
        /// The bytes counted when the limit was passed (a lower bound of
        /// what the render needs).
        needed: u64,
        /// `max_render_bytes`.
        limit: u64,
    },

    /// The scene is valid but asks for something this build cannot render yet.
    #[error("{location}: {message}")]
    Unsupported {
        /// Which layer.
        location: Location,
        /// What is not supported.
        message: String,
    },

    /// Reading or writing a file failed.
    #[error("{}: {source}", crate::scene::shown_path(path))]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    /// An output path or option is unusable (bad input, e.g. an unknown extension).
    #[error("output: {0}")]
    Output(String),

    /// A renderer option is unusable (bad input, e.g. a font folder that
    /// does not exist).
    #[error("{0}")]
    Options(String),

    /// Encoding the image failed.
    #[error("encoding {format}: {message}")]
    Encode {
        /// `png`, `jpeg`, `webp`, `gif` or `avif`.
        format: &'static str,
        /// The encoder's message.
        message: String,
    },

    /// The GPU backend failed (no adapter, out of memory, validation, a
    /// readback that failed or timed out).
    #[error("gpu: {0}")]
    Gpu(String),

    /// The GPU device was lost while this render used it (a driver reset,
    /// the GPU removed or out of memory, `Device::destroy`): the render's
    /// result is lost with it. The renderer opens a new device on its next
    /// render.
    #[error("gpu: the device ({adapter}) was lost during the render: {reason}; the next render opens a new device")]
    GpuDeviceLost {
        /// The adapter whose device was lost.
        adapter: String,
        /// Why, as the driver said (`Destroyed`, `Unknown: ...`).
        reason: String,
    },

    /// The scene is valid but over a limit of this GPU adapter (a buffer
    /// larger than its storage binding limit, a canvas no tile of which
    /// fits): the CPU backend renders it.
    #[error("gpu: {0}")]
    GpuLimit(String),

    /// The render was cancelled through its [`crate::CancelToken`].
    #[error("render cancelled")]
    Cancelled,

    /// The render passed its deadline ([`crate::RenderOptions::deadline`]).
    #[error("render deadline exceeded")]
    DeadlineExceeded,

    /// A bug in impasto: a panic inside a render, caught at the library's
    /// boundary so that it fails this render only.
    #[error("internal error (a bug in impasto; please report it): {0}")]
    Internal(String),
}

impl Error {
    /// True when the error is the user's input's fault (scene, assets, output
    /// path, options): the CLI exits with status 2 for these, 1 otherwise.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            Error::Scene(_)
                | Error::OverMemoryLimit { .. }
                | Error::Template(_)
                | Error::Output(_)
                | Error::Options(_)
        )
    }

    /// True when the error says the GPU itself failed: a lost device,
    /// out of memory, a validation error, a readback that failed or timed
    /// out. These are what trip the `Backend::Auto` circuit breaker
    /// ([`crate::Renderer::gpu_breaker`]); bad input, an adapter's limits,
    /// a cancel or a deadline never do.
    pub fn is_gpu_failure(&self) -> bool {
        matches!(self, Error::Gpu(_) | Error::GpuDeviceLost { .. })
    }

    /// Shorthand for a [`SceneError`] wrapped in [`Error::Scene`].
    pub(crate) fn scene(
        location: Location,
        field: Option<&str>,
        message: impl Into<String>,
    ) -> Error {
        Error::Scene(SceneError {
            location,
            field: field.map(str::to_owned),
            message: message.into(),
        })
    }

    /// Shorthand for [`Error::OverMemoryLimit`]: what at `location` (and
    /// `field`) brings the render to `needed` bytes, over `limit`.
    pub(crate) fn over_memory(
        location: Location,
        field: Option<&str>,
        message: impl Into<String>,
        needed: u64,
        limit: u64,
    ) -> Error {
        Error::OverMemoryLimit {
            error: SceneError {
                location,
                field: field.map(str::to_owned),
                message: message.into(),
            },
            needed,
            limit,
        }
    }
}
