//! One render through the server: output format, ETag and 304, deadline,
//! admission, remote images, the render on a blocking worker, and
//! cancellation when the deadline passes or the client goes away.

use std::collections::HashMap;
use std::path::{Component, Path};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use impasto::codec::OutputFormat;
use impasto::{Assets, CancelToken, LayerKind, RenderOptions, Scene};
use sha2::{Digest, Sha256};

use super::admission::{Held, Slot};
use super::error::{ServeError, Stage};
use super::metrics::{Metrics, Reason};
use super::remote::{self, Fetched};
use super::AppState;

/// The header that lowers the deadline of one request, in milliseconds.
pub const TIMEOUT_HEADER: &str = "x-impasto-timeout-ms";

/// The JPEG quality when `?quality` is not given.
const DEFAULT_QUALITY: u8 = 85;

/// The format named by `?format=` or a `/t/{name}.{ext}` extension.
pub fn format_named(name: &str, quality: u8) -> Result<OutputFormat, ServeError> {
    match name.to_ascii_lowercase().as_str() {
        "png" => Ok(OutputFormat::Png),
        "jpg" | "jpeg" => Ok(OutputFormat::Jpeg { quality }),
        "webp" => Ok(OutputFormat::WebP { quality }),
        // Only when named: AVIF takes seconds per card, so browsers that
        // list image/avif in Accept get one of the fast formats.
        "avif" => Ok(OutputFormat::Avif { quality }),
        other => Err(ServeError::BadParameter {
            field: "format".into(),
            message: format!(
                "unknown output format {}: use png, jpg, webp or avif",
                impasto::scene::quoted(other)
            ),
        }),
    }
}

/// `?quality=`: 1..=100, default 85, in digits without a sign or a
/// leading zero (`+50` and `050` were taken as 50: one image under several
/// URLs, each cached apart).
pub fn quality(value: Option<&str>) -> Result<u8, ServeError> {
    let Some(v) = value else {
        return Ok(DEFAULT_QUALITY);
    };
    let plain = v.bytes().all(|b| b.is_ascii_digit()) && !v.starts_with('0');
    match v.parse::<u8>() {
        Ok(q) if plain && (1..=100).contains(&q) => Ok(q),
        _ => Err(ServeError::BadParameter {
            field: "quality".into(),
            message: format!(
                "quality {} is not a whole number from 1 to 100",
                impasto::scene::quoted(v)
            ),
        }),
    }
}

/// The format from `?format=`, else the first image type the `Accept`
/// header lists that impasto writes, else PNG.
pub fn negotiate(
    format: Option<&str>,
    quality: u8,
    headers: &HeaderMap,
) -> Result<OutputFormat, ServeError> {
    if let Some(name) = format {
        return format_named(name, quality);
    }
    let accept = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','));
    let (mut refused_all, mut refused_named) = (false, Vec::new());
    for media in accept {
        let mut parts = media.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        // `q=0` says "not acceptable" (RFC 9110, 12.4.2; the name in any
        // case); other q-values are not weighed: the first type listed
        // wins. A weight that is not one (`q=abc`, `q=0.0001`) refuses its
        // type too: what the client meant is unknown.
        let refused = parts.any(|p| {
            let (name, value) = p.split_once('=').unwrap_or((p, ""));
            name.trim().eq_ignore_ascii_case("q") && qvalue(value.trim()).is_none_or(|q| q == 0)
        });
        if refused {
            // Not this type, nor (a wildcard) any not listed by name.
            match media.as_str() {
                "*/*" | "image/*" => refused_all = true,
                "image/png" | "image/jpeg" | "image/webp" => refused_named.push(media),
                _ => {}
            }
            continue;
        }
        match media.as_str() {
            "image/png" => return Ok(OutputFormat::Png),
            "image/jpeg" => return Ok(OutputFormat::Jpeg { quality }),
            "image/webp" => return Ok(OutputFormat::WebP { quality }),
            _ => {}
        }
    }
    // None named: PNG, unless the client refused it (`image/png;q=0`, or a
    // refused wildcard), then the next the client did not refuse; 406 when
    // it refused them all.
    if refused_all {
        return Err(ServeError::NotAcceptable);
    }
    let fallback = [
        ("image/png", OutputFormat::Png),
        ("image/jpeg", OutputFormat::Jpeg { quality }),
        ("image/webp", OutputFormat::WebP { quality }),
    ];
    fallback
        .into_iter()
        .find(|(name, _)| !refused_named.iter().any(|r| r == name))
        .map(|(_, format)| format)
        .ok_or(ServeError::NotAcceptable)
}

/// An Accept weight (RFC 9110, 12.4.2: `0`, `0.5`, `1.000`, at most three
/// decimals) in thousandths; `None` for what is not one.
fn qvalue(q: &str) -> Option<u16> {
    let (whole, decimals) = q.split_once('.').unwrap_or((q, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !matches!(whole, "0" | "1") || decimals.len() > 3 || !digits(decimals) {
        return None;
    }
    let thousandths: u16 = format!("{decimals:0<3}").parse().ok()?;
    let q = u16::from(whole == "1") * 1000 + thousandths;
    (q <= 1000).then_some(q)
}

/// The strong ETag of a render: SHA-256 over the crate version, the
/// backend, the output format and quality, the scene's canonical JSON, the
/// size and modification time of every image file it names and the SHA-256
/// of every remote image's body (`remote`, by `src`).
async fn etag(
    state: &AppState,
    scene: &Scene,
    format: OutputFormat,
    remote: &HashMap<String, [u8; 32]>,
) -> Result<String, ServeError> {
    let mut hash = Sha256::new();
    hash.update(env!("CARGO_PKG_VERSION").as_bytes());
    hash.update(format!("\0{:?}\0{format:?}\0", state.renderer.backend()).as_bytes());
    // The scene's JSON hashed as it is written, not held (a data: URL of
    // megabytes was copied for it).
    serde_json::to_writer(HashWriter(&mut hash), scene)
        .map_err(|e| ServeError::Internal(format!("serializing the scene: {e}")))?;
    for layer in &scene.layers {
        if let LayerKind::Image(image) = &layer.kind {
            hash.update(b"\0");
            hash.update(image.src.as_bytes());
            if let Some(digest) = remote.get(&image.src) {
                hash.update(digest);
                continue;
            }
            hash.update(
                file_identity(&state.asset_root, &image.src)
                    .await
                    .as_bytes(),
            );
        }
    }
    let digest = hash.finalize();
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("\"{hex}\""))
}

/// Bytes written into a hash.
struct HashWriter<'a>(&'a mut Sha256);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `size:mtime` of an image under the asset root, or `-` when it cannot be
/// read or its path would leave the root (the render then refuses it), or
/// is a `data:` URL (whose bytes the scene's JSON holds).
async fn file_identity(root: &Path, src: &str) -> String {
    if impasto::is_data_url(src) {
        return "-".into();
    }
    let rel = Path::new(src);
    if !rel
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return "-".into();
    }
    match tokio::fs::metadata(root.join(rel)).await {
        Ok(meta) => {
            let mtime = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            format!(":{}:{mtime}", meta.len())
        }
        Err(_) => "-".into(),
    }
}

/// The entity tags `If-None-Match` lists, `W/` dropped (weak comparison,
/// as RFC 9110 asks for this header).
fn if_none_match(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
}

/// Whether `If-None-Match` names `etag`.
fn matches_etag(headers: &HeaderMap, etag: &str) -> bool {
    if_none_match(headers).any(|t| t == etag)
}

/// Whether `If-None-Match` is `*`: true only once the render succeeded
/// (a representation exists), so a scene that fails is never a 304.
fn matches_any(headers: &HeaderMap) -> bool {
    if_none_match(headers).any(|t| t == "*")
}

/// The deadline: `--timeout`, lowered (never raised) by the header. Given
/// more than once (or as a list, `5000, 200`), the shortest applies: a
/// proxy in front that adds a shorter deadline is heeded.
fn request_timeout(state: &AppState, headers: &HeaderMap) -> Result<Duration, ServeError> {
    shortest_timeout(headers, state.timeout)
}

/// Where a request stands when its scene is ready to render: its
/// deadline, and the admission slot its body's parse took (none for a
/// `GET`, which takes one as it is rendered).
#[derive(Debug)]
pub struct Started {
    /// The request's deadline.
    pub deadline: Deadline,
    /// Its admission slot, if it holds one.
    pub slot: Option<Slot>,
}

/// A request's deadline, taken once when its handler starts: the waits
/// for its body's and its parse's memory, its admission, fetches and
/// render all end by it (each had started its own clock, so a request
/// could run for several times its timeout).
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    /// When it passes.
    pub at: Instant,
    /// The timeout it was taken with, for the 504's words.
    pub timeout: Duration,
}

impl Deadline {
    /// The deadline of a request with `headers`, from now.
    pub fn of(state: &AppState, headers: &HeaderMap) -> Result<Deadline, ServeError> {
        let timeout = request_timeout(state, headers)?;
        Ok(Deadline {
            at: Instant::now() + timeout,
            timeout,
        })
    }

    /// The 504 of a request whose deadline passed at `stage`, before its
    /// render.
    pub fn passed(&self, stage: Stage) -> ServeError {
        ServeError::TimeoutBefore {
            ms: self.timeout.as_millis(),
            stage,
        }
    }

    /// Runs `work` until the deadline; [`Deadline::passed`] at `stage`
    /// past it.
    pub async fn within<T>(
        &self,
        stage: Stage,
        work: impl std::future::Future<Output = T>,
    ) -> Result<T, ServeError> {
        tokio::time::timeout_at(self.at.into(), work)
            .await
            .map_err(|_| self.passed(stage))
    }
}

/// [`request_timeout`] of `headers` under `cap` (`--timeout`).
fn shortest_timeout(headers: &HeaderMap, cap: Duration) -> Result<Duration, ServeError> {
    let mut timeout = cap;
    let values = headers.get_all(TIMEOUT_HEADER).iter();
    for value in values {
        let items = value.to_str().map_or(vec![""], |v| v.split(',').collect());
        // Empty elements of a list are none (RFC 9110, 5.6.1).
        let items = items
            .into_iter()
            .filter(|i| !i.trim().is_empty() || value.is_empty());
        for item in items {
            // Whole milliseconds; more than u64 holds is more than
            // --timeout, which caps any value.
            let v = item.trim();
            let digits = !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit());
            match digits.then(|| v.parse::<u64>().unwrap_or(u64::MAX)) {
                Some(ms) if ms > 0 => timeout = timeout.min(Duration::from_millis(ms)),
                _ => {
                    return Err(ServeError::BadParameter {
                        field: TIMEOUT_HEADER.into(),
                        message: format!(
                            "{TIMEOUT_HEADER} must be a positive whole number of milliseconds"
                        ),
                    })
                }
            }
        }
    }
    Ok(timeout)
}

/// Cancels the render when the request's future is dropped before it
/// finished: the client went away (hyper drops the handler).
struct CancelOnDrop {
    token: CancelToken,
    metrics: Arc<Metrics>,
    armed: bool,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if self.armed {
            self.token.cancel();
            self.metrics.reject(Reason::ClientGone);
        }
    }
}

/// How long caches may keep an answer sent now: `--cache-max-age`, and no
/// longer than a URL's `expires` (Unix seconds) leaves, counted when the
/// answer goes out (a render can take up to `--timeout`).
fn max_age(state: &AppState, expires: Option<u64>) -> u64 {
    match expires {
        None => state.cache_max_age,
        // Whole seconds left, the second begun counted as passed.
        Some(at) => at
            .saturating_sub(super::signing::unix_now_ceil())
            .min(state.cache_max_age),
    }
}

fn cached_headers(response: &mut Response, etag: &str, max_age: u64) {
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
        headers.insert(header::CACHE_CONTROL, v);
    }
}

fn not_modified(state: &AppState, etag: &str, expires: Option<u64>) -> Response {
    state.metrics.not_modified.fetch_add(1, Ordering::Relaxed);
    // No length: an empty body of known size makes hyper answer a HEAD's
    // 304 with `Content-Length: 0`, which is not the image's.
    let mut response = (StatusCode::NOT_MODIFIED, axum::body::Body::new(NoLength)).into_response();
    cached_headers(&mut response, etag, max_age(state, expires));
    response
}

/// What a request admitted for rendering ends with.
enum Outcome {
    /// The encoded image, its ETag, and its bytes of the memory budget.
    Image(Vec<u8>, String, Held),
    /// The scene would render (its images decoded, its memory estimated),
    /// not painted: for `HEAD` and `If-None-Match: *`.
    Valid(String),
    /// The client has it (known only once its remote images were fetched).
    NotModified(String),
}

/// Renders `scene` as `format` for a request with `headers`: 304 when the
/// client has it, else the image, or the error; caches may keep either
/// for `--cache-max-age` seconds, and no longer than `expires` (a signed
/// URL's, Unix seconds) leaves. A scene without remote
/// images is answered 304 before admission; one with remote images is
/// admitted first, since its ETag needs their bodies. A `head` request
/// (and one with `If-None-Match: *`) gets its answer once the scene is
/// known to render (images decoded, memory estimated), without painting:
/// the image's headers but `Content-Length`, which only encoding gives
/// (RFC 9110 lets a HEAD answer leave it out).
pub async fn respond(
    state: Arc<AppState>,
    scene: Scene,
    format: OutputFormat,
    headers: &HeaderMap,
    expires: Option<u64>,
    head: bool,
    Started { deadline, slot }: Started,
) -> Result<Response, ServeError> {
    if scene.animate {
        // Refused rather than answered with one frame, silently (as batch).
        return Err(ServeError::Render(impasto::Error::Scene(impasto::SceneError {
            location: impasto::Location::Canvas,
            field: Some("animate".into()),
            message: "true: the service answers still images; render an animation with `impasto render` (.gif, .png or .webp)".into(),
        })));
    }
    let remote = remote::has_remote(&scene);
    let local_etag = match remote {
        false => Some(etag(&state, &scene, format, &HashMap::new()).await?),
        true => None,
    };
    if let Some(etag) = local_etag.as_deref().filter(|e| matches_etag(headers, e)) {
        return Ok(not_modified(&state, etag, expires));
    }
    let Deadline {
        at: deadline_at,
        timeout,
    } = deadline;
    let token = CancelToken::new();
    let waiting = Arc::new(AtomicBool::new(false));
    // The remote image being fetched, if one is, for a 504 to name.
    let fetching = Arc::new(std::sync::Mutex::new(None));
    let mut guard = CancelOnDrop {
        token: token.clone(),
        metrics: Arc::clone(&state.metrics),
        armed: true,
    };
    let work = async {
        // A body's parse took its slot before it waited for memory.
        let slot = match slot {
            Some(slot) => slot,
            None => state.admission.enter()?,
        };
        let scene = Arc::new(scene);
        let fetched = match remote {
            true => fetch(&state, &scene, deadline_at, &token, &fetching).await?,
            false => Fetched::default(),
        };
        let etag = match local_etag {
            Some(etag) => etag,
            None => etag(&state, &scene, format, &fetched.digests).await?,
        };
        if matches_etag(headers, &etag) {
            return Ok(Outcome::NotModified(etag));
        }
        let job = Job {
            scene,
            assets: fetched.assets,
            format,
            deadline: deadline_at,
            token,
            paint: !head && !matches_any(headers),
            waiting: Arc::clone(&waiting),
        };
        Ok::<_, ServeError>(
            match render_admitted(Arc::clone(&state), slot, job).await? {
                Some((bytes, held)) => Outcome::Image(bytes, etag, held),
                None => Outcome::Valid(etag),
            },
        )
    };
    let result = tokio::time::timeout_at(deadline_at.into(), work).await;
    guard.armed = false;
    let image = match result {
        // This deadline, or the render's own a moment before it: the same
        // answer in the same words.
        Err(_) | Ok(Err(ServeError::Render(impasto::Error::DeadlineExceeded))) => {
            guard.token.cancel();
            if waiting.load(Ordering::Relaxed) {
                return Err(deadline.passed(Stage::RenderRoom));
            }
            let fetching = fetching.lock().unwrap_or_else(|p| p.into_inner()).take();
            return Err(ServeError::Timeout {
                ms: timeout.as_millis(),
                fetching,
            });
        }
        Ok(Err(e)) => return Err(e),
        Ok(Ok(Outcome::NotModified(etag))) => return Ok(not_modified(&state, &etag, expires)),
        Ok(Ok(Outcome::Valid(etag))) if matches_any(headers) => {
            return Ok(not_modified(&state, &etag, expires))
        }
        Ok(Ok(Outcome::Valid(etag))) => {
            let mut response = (
                [(header::CONTENT_TYPE, format.media_type())],
                axum::body::Body::new(NoLength),
            )
                .into_response();
            cached_headers(&mut response, &etag, max_age(&state, expires));
            return Ok(response);
        }
        Ok(Ok(Outcome::Image(bytes, etag, held))) => (bytes, etag, held),
    };
    let (bytes, etag, held) = image;
    let mut response = ([(header::CONTENT_TYPE, format.media_type())], bytes).into_response();
    cached_headers(&mut response, &etag, max_age(&state, expires));
    // Taken into the answer's body by `handlers::count`.
    response.extensions_mut().insert(Arc::new(held));
    Ok(response)
}

/// Fetches the scene's remote images on the blocking pool, holding one of
/// the `--workers + --queue` fetch permits until the blocking fetch ends,
/// even when the request is dropped first (its client gone, its deadline
/// past): so no more fetches run than the server admits requests, however
/// many clients give up on slow hosts. `token` stops the fetch between
/// images once the request is gone.
async fn fetch(
    state: &Arc<AppState>,
    scene: &Arc<Scene>,
    deadline: Instant,
    token: &CancelToken,
    fetching: &Arc<std::sync::Mutex<Option<impasto::SceneError>>>,
) -> Result<Fetched, ServeError> {
    let permit = Arc::clone(&state.fetch_permits)
        .acquire_owned()
        .await
        .map_err(|e| ServeError::Internal(format!("fetch permits: {e}")))?;
    let (state, scene, token) = (Arc::clone(state), Arc::clone(scene), token.clone());
    let fetching = Arc::clone(fetching);
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        state
            .fetcher
            .fetch_scene(&scene, deadline, &token, &fetching)
    })
    .await
    .map_err(|e| ServeError::Internal(format!("fetch task: {e}")))?
}

/// One admitted render's inputs.
struct Job {
    scene: Arc<Scene>,
    /// Remote images, fetched and decoded.
    assets: Assets,
    format: OutputFormat,
    deadline: Instant,
    token: CancelToken,
    /// Whether to paint and encode (else only the estimate: the scene is
    /// known to render).
    paint: bool,
    /// Set while it waits for its reservation and a worker, for a 504 to
    /// say so.
    waiting: Arc<AtomicBool>,
}

/// The memory estimate, then the render and encoding on a blocking thread
/// that holds the worker and the memory until it ends; `None` after the
/// estimate when the job is not to be painted.
async fn render_admitted(
    state: Arc<AppState>,
    slot: Slot,
    job: Job,
) -> Result<Option<(Vec<u8>, Held)>, ServeError> {
    let assets = Arc::new(job.assets);
    let (paint, format) = (job.paint, job.format);
    let (renderer, scene, for_estimate) = (
        state.renderer.clone(),
        Arc::clone(&job.scene),
        Arc::clone(&assets),
    );
    // Stops decoding (between files) once the request is gone or late.
    let options = RenderOptions {
        deadline: Some(job.deadline),
        cancel: Some(job.token.clone()),
    };
    let estimate = tokio::task::spawn_blocking(move || {
        renderer.estimate_render_bytes_with(&scene, &for_estimate, Some(format), &options)
    })
    .await
    .map_err(|e| ServeError::Internal(format!("estimate task: {e}")))?
    .map_err(|e| match e {
        // Over the budget (the renderer's limit is the budget), found as
        // its images were read or from the whole estimate: it could never
        // run. The library's error says where, or what is largest; the
        // limit it names is this server's --memory-budget.
        impasto::Error::OverMemoryLimit {
            mut error,
            needed,
            limit,
        } => {
            error.message = error
                .message
                .replace("(max_render_bytes)", "(--memory-budget)");
            ServeError::Render(impasto::Error::OverMemoryLimit {
                error,
                needed,
                limit,
            })
        }
        e => e.into(),
    })?;
    if !paint {
        state.admission.units_within_budget(estimate)?;
        return Ok(None);
    }
    job.waiting.store(true, Ordering::Relaxed);
    let running = state.admission.start(slot, estimate).await?;
    job.waiting.store(false, Ordering::Relaxed);
    let (renderer, metrics) = (state.renderer.clone(), Arc::clone(&state.metrics));
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let options = RenderOptions {
            deadline: Some(job.deadline),
            cancel: Some(job.token),
        };
        // On the GPU with JPEG out, the GPU computes the JPEG's blocks too.
        let encoded = renderer
            .render_encoded(&job.scene, &assets, job.format, &options)
            .and_then(|rendered| {
                for w in rendered.warnings() {
                    log::warn!("{w}");
                }
                // Not started past the deadline (a render that ended
                // just before it would add the whole encode). An AVIF
                // encode given up on at the deadline keeps the
                // reservation and the worker until it ends.
                rendered.encode_holding(&options, running)
            });
        metrics.observe_render(started.elapsed());
        // The answer's bytes stay reserved until it is written; the rest
        // of the reservation and the worker are freed here.
        encoded.map(|(bytes, mut running)| {
            let held = running.keep(bytes.len() as u64);
            (bytes, held)
        })
    })
    .await
    .map_err(|e| ServeError::Internal(format!("render task: {e}")))?
    .map(Some)
    .map_err(ServeError::from)
}

/// The empty body of a `HEAD` answer whose length is not known (the image
/// was not encoded): an empty body of known size would be answered with
/// `Content-Length: 0`, the length of a GET's image.
struct NoLength;

impl hyper::body::Body for NoLength {
    type Data = axum::body::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        std::task::Poll::Ready(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shortest_timeout_of_every_header_and_list_item_applies_under_the_cap() {
        let cap = Duration::from_secs(30);
        let of = |values: &[&str]| {
            let mut headers = HeaderMap::new();
            for v in values {
                headers.append(TIMEOUT_HEADER, v.parse().unwrap());
            }
            shortest_timeout(&headers, cap).map_err(|e| e.to_string())
        };
        assert_eq!(of(&[]), Ok(cap));
        assert_eq!(of(&["99999", "300"]), Ok(Duration::from_millis(300)));
        assert_eq!(of(&["5000, 200"]), Ok(Duration::from_millis(200)));
        // Empty list elements are none (RFC 9110, 5.6.1).
        assert_eq!(of(&["5000,,1"]), Ok(Duration::from_millis(1)));
        assert_eq!(of(&["99999999999999999999999"]), Ok(cap));
        for bad in [&["0"][..], &["5000, x"], &["1.5"], &[""]] {
            assert!(of(bad).is_err(), "{bad:?}");
        }
    }
}
