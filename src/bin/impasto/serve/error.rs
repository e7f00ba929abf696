//! Why a request did not get its image, and the HTTP answer for each case:
//! a status, a JSON body `{ "error", "location", "layer", "field",
//! "variable" }` and the metrics reason.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use impasto::{Error, Location, SceneError};
use serde_json::{json, Value};

use super::metrics::Reason;

/// A request that ends without an image.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The library refused the scene, template or values (400), or failed (500).
    #[error(transparent)]
    Render(#[from] Error),
    /// Every worker is busy and the queue holds `queue` requests already (429).
    #[error("overloaded: {workers} renders and {queue} more requests are admitted already (--workers, --queue); retry later")]
    QueueFull {
        /// `--workers`.
        workers: usize,
        /// `--queue`.
        queue: usize,
    },
    /// The render needs more memory than the whole budget (413).
    #[error("the render needs about {needed} bytes, more than the server's whole memory budget of {budget} bytes (--memory-budget)")]
    OverMemoryBudget {
        /// The estimate.
        needed: u64,
        /// `--memory-budget`.
        budget: u64,
    },
    /// The body was over `--max-body` (413).
    #[error("request body over the limit of {limit} bytes (--max-body)")]
    BodyTooLarge {
        /// `--max-body`.
        limit: usize,
    },
    /// The request was unusable (400): body, encoding.
    #[error("{0}")]
    BadRequest(String),
    /// A query parameter or header of the request was unusable (400):
    /// `format`, `quality`, `expires`, one given twice, one unknown, the
    /// timeout header. The body's `location` is `request`, its `field` the
    /// parameter's or header's name.
    #[error("{message}")]
    BadParameter {
        /// The parameter's (or lower-case header's) name.
        field: String,
        /// What is wrong, naming it.
        message: String,
    },
    /// The body came in a content coding (`Content-Encoding: gzip`) the
    /// server does not decode (415).
    #[error(
        "the request body's Content-Encoding {} is not decoded here: send the body uncompressed",
        impasto::scene::quoted(.0)
    )]
    UnsupportedEncoding(String),
    /// A request `Transfer-Encoding` other than `chunked` (501, as RFC 9112
    /// 6.1 asks of a coding the server does not know): the HTTP library
    /// takes the chunks off and would hand on, say, gzip bytes as the body.
    #[error(
        "the request's Transfer-Encoding {} is not decoded here: send the body uncompressed (chunked or with a Content-Length)",
        impasto::scene::quoted(.0)
    )]
    UnsupportedTransferCoding(String),
    /// An `Expect` other than `100-continue` (417, RFC 9110 10.1.1).
    #[error(
        "the request's Expect {} cannot be met: only 100-continue is",
        impasto::scene::quoted(.0)
    )]
    ExpectationFailed(String),
    /// A `/t/` URL without a valid signature while `--signing-key` is set (403).
    #[error("{0}")]
    Forbidden(String),
    /// A `/t/` URL past its `expires` time (403).
    #[error("the URL expired {ago} s ago (expires={at}, Unix seconds)")]
    Expired {
        /// The URL's `expires` value.
        at: u64,
        /// Seconds since then.
        ago: u64,
    },
    /// A remote image was refused (not on `--allow-host`, too large, not
    /// an image: 400) or its host failed (timeout, error status: 502).
    #[error("{error}")]
    Fetch {
        /// Where (the image layer, field `src`) and what.
        error: SceneError,
        /// Refused by policy or input (400) rather than failed (502).
        refused: bool,
        /// The template variable that filled the layer's `src`, if any.
        variable: Option<String>,
    },
    /// No template of that name (404).
    #[error("no template named {}", impasto::scene::quoted(.0))]
    NoTemplate(String),
    /// No endpoint at that path (404).
    #[error("no endpoint {method} {path} (docs/serve.md lists them)")]
    NoEndpoint {
        /// The request's method.
        method: String,
        /// The request's path.
        path: String,
    },
    /// The endpoint does not answer that method (405).
    #[error("{path} does not answer {method}")]
    MethodNotAllowed {
        /// The request's method.
        method: String,
        /// The request's path.
        path: String,
    },
    /// The body did not arrive in time (408).
    #[error("the request body did not arrive within {secs} s (--read-timeout)")]
    SlowBody {
        /// `--read-timeout`, in seconds.
        secs: f64,
    },
    /// The deadline passed (504).
    #[error("the render did not finish within {ms} ms{}", still_fetching(.fetching))]
    Timeout {
        /// The deadline that applied, in milliseconds.
        ms: u128,
        /// The remote image still being fetched then, if one was: its
        /// layer, and `src` shown.
        fetching: Option<SceneError>,
    },
    /// The deadline passed before the render began (504): while the body
    /// arrived, or while it waited for room in the memory budget.
    #[error("the request did not finish within {ms} ms: {stage}")]
    TimeoutBefore {
        /// The deadline that applied, in milliseconds.
        ms: u128,
        /// Where it was.
        stage: Stage,
    },
    /// A body whose JSON's tree, beside the body, would take more than the
    /// whole memory budget (413).
    #[error("parsing the request body would take about {tree} bytes of memory beside its own {body}, more than the server's whole memory budget of {budget} bytes (--memory-budget)")]
    ParseOverBudget {
        /// The tree's bytes, measured.
        tree: u64,
        /// The body's bytes.
        body: u64,
        /// The budget, in whole KiB.
        budget: u64,
    },
    /// A body longer than the whole memory budget, which it could never
    /// be read into (413).
    #[error("the request body of {length} bytes is more than the server's whole memory budget of {budget} bytes (--memory-budget)")]
    BodyOverBudget {
        /// Its `Content-Length`, or the bytes it had sent when it passed
        /// the budget.
        length: u64,
        /// `--memory-budget`.
        budget: u64,
    },
    /// The server is shutting down (503).
    #[error("the server is shutting down")]
    Draining,
    /// The Accept header refuses every format the server writes (406).
    #[error("the Accept header refuses (q=0) every format this server writes: image/png, image/jpeg and image/webp; accept one, or name it with ?format=")]
    NotAcceptable,
    /// The client went away before its request's body had arrived: nobody
    /// gets an answer, so none is counted by status (`client_gone`).
    #[error("the client went away while sending its request body")]
    ClientGone,
    /// A worker task died (500).
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServeError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ServeError::Render(Error::Cancelled | Error::DeadlineExceeded) => {
                StatusCode::GATEWAY_TIMEOUT
            }
            ServeError::Render(Error::OverMemoryLimit { .. }) => StatusCode::PAYLOAD_TOO_LARGE,
            ServeError::Render(e) if e.is_bad_input() => StatusCode::BAD_REQUEST,
            ServeError::Render(_) | ServeError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ServeError::QueueFull { .. } => StatusCode::TOO_MANY_REQUESTS,
            ServeError::OverMemoryBudget { .. }
            | ServeError::BodyTooLarge { .. }
            | ServeError::BodyOverBudget { .. }
            | ServeError::ParseOverBudget { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ServeError::BadRequest(_) | ServeError::BadParameter { .. } => StatusCode::BAD_REQUEST,
            ServeError::UnsupportedEncoding(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ServeError::UnsupportedTransferCoding(_) => StatusCode::NOT_IMPLEMENTED,
            ServeError::ExpectationFailed(_) => StatusCode::EXPECTATION_FAILED,
            ServeError::NoTemplate(_) | ServeError::NoEndpoint { .. } => StatusCode::NOT_FOUND,
            ServeError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ServeError::SlowBody { .. } => StatusCode::REQUEST_TIMEOUT,
            ServeError::Forbidden(_) | ServeError::Expired { .. } => StatusCode::FORBIDDEN,
            ServeError::Fetch { refused: true, .. } => StatusCode::BAD_REQUEST,
            ServeError::Fetch { refused: false, .. } => StatusCode::BAD_GATEWAY,
            ServeError::Timeout { .. } | ServeError::TimeoutBefore { .. } => {
                StatusCode::GATEWAY_TIMEOUT
            }
            ServeError::Draining => StatusCode::SERVICE_UNAVAILABLE,
            ServeError::ClientGone => StatusCode::BAD_REQUEST,
            ServeError::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
        }
    }

    /// The metrics reason.
    pub fn reason(&self) -> Reason {
        match self {
            ServeError::Render(Error::Cancelled | Error::DeadlineExceeded) => Reason::Timeout,
            ServeError::Render(Error::OverMemoryLimit { .. }) => Reason::OverMemoryBudget,
            ServeError::Render(e) if e.is_bad_input() => Reason::BadInput,
            ServeError::Render(_) | ServeError::Internal(_) => Reason::Internal,
            ServeError::QueueFull { .. } => Reason::QueueFull,
            ServeError::OverMemoryBudget { .. }
            | ServeError::BodyOverBudget { .. }
            | ServeError::ParseOverBudget { .. } => Reason::OverMemoryBudget,
            ServeError::BodyTooLarge { .. } => Reason::BodyTooLarge,
            ServeError::BadRequest(_)
            | ServeError::BadParameter { .. }
            | ServeError::UnsupportedEncoding(_)
            | ServeError::UnsupportedTransferCoding(_)
            | ServeError::ExpectationFailed(_)
            | ServeError::NotAcceptable => Reason::BadRequest,
            ServeError::NoTemplate(_) | ServeError::NoEndpoint { .. } => Reason::NotFound,
            ServeError::MethodNotAllowed { .. } => Reason::MethodNotAllowed,
            ServeError::SlowBody { .. } => Reason::SlowBody,
            ServeError::Forbidden(_) => Reason::BadSignature,
            ServeError::Expired { .. } => Reason::UrlExpired,
            ServeError::Fetch { refused: true, .. } => Reason::FetchRefused,
            ServeError::Fetch { refused: false, .. } => Reason::FetchFailed,
            ServeError::Timeout { .. } | ServeError::TimeoutBefore { .. } => Reason::Timeout,
            ServeError::Draining => Reason::Draining,
            ServeError::ClientGone => Reason::ClientGone,
        }
    }

    /// The JSON body: the library's one-line message and, for scene and
    /// template errors, where it is.
    pub fn body(&self) -> Value {
        let one_line = self.to_string().replace('\n', " ");
        let (location, field, variable) = match self {
            ServeError::Render(Error::Scene(e) | Error::OverMemoryLimit { error: e, .. }) => {
                (Some(&e.location), e.field.as_deref(), None)
            }
            ServeError::Fetch {
                error: e, variable, ..
            } => (Some(&e.location), e.field.as_deref(), variable.as_deref()),
            ServeError::Render(Error::Template(e)) => (e.location(), e.field(), e.variable()),
            ServeError::Render(Error::Unsupported { location, .. }) => (Some(location), None, None),
            ServeError::Timeout {
                fetching: Some(e), ..
            } => (Some(&e.location), e.field.as_deref(), None),
            _ => (None, None, None),
        };
        let (where_, layer) = match location {
            Some(Location::Document) => (Some("scene"), None),
            Some(Location::Canvas) => (Some("canvas"), None),
            Some(Location::Layer { index, .. }) => (Some("layer"), Some(*index)),
            None => (None, None),
        };
        let (where_, field) = match self {
            ServeError::BadParameter { field, .. } => (Some("request"), Some(field.as_str())),
            _ => (where_, field),
        };
        json!({
            "error": one_line,
            "location": where_,
            "layer": layer,
            "field": field,
            "variable": variable,
        })
    }
}

impl IntoResponse for ServeError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), axum::Json(self.body())).into_response();
        // The status-counting middleware reads the reason from here.
        response.extensions_mut().insert(self.reason());
        // A CDN in front must not keep a 404 for a template not yet
        // deployed, nor a 503 or 504 of a busy moment.
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let ServeError::TimeoutBefore { stage, .. } = self {
            if stage.body_unread() {
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
        }
        if let ServeError::QueueFull { .. } = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

/// Where a request was when its deadline passed before its render began:
/// its 504 says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Waiting for room in the budget to read its body into.
    BodyRoom,
    /// Its body still arriving.
    BodyArriving,
    /// Waiting for room in the budget to parse its body.
    ParseRoom,
    /// Waiting for a worker or for room in the budget to render.
    RenderRoom,
}

impl Stage {
    /// Whether the body was not all read: the answer closes the connection
    /// (the rest of the body would be taken for the next request).
    pub fn body_unread(self) -> bool {
        matches!(self, Stage::BodyRoom | Stage::BodyArriving)
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stage::BodyRoom => "it was waiting for room in the memory budget (--memory-budget) to read its body into",
            Stage::BodyArriving => "its body was still arriving",
            Stage::ParseRoom => "it was waiting for room in the memory budget (--memory-budget) to parse its body",
            Stage::RenderRoom => "it was waiting for a worker or for room in the memory budget (--workers, --memory-budget) to render",
        })
    }
}

/// What a 504 adds when a remote image was still being fetched.
fn still_fetching(fetching: &Option<SceneError>) -> String {
    match fetching {
        Some(e) => format!(": {}: {} was still being fetched", e.location, e.message),
        None => String::new(),
    }
}
