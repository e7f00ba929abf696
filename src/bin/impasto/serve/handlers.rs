//! The HTTP endpoints.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use impasto::scene::quoted;
use impasto::{Limits, Scene, Template};
use serde_json::{Map, Value};

use super::admission::{Held, Slot};
use super::error::{ServeError, Stage};
use super::metrics::Reason;
use super::render::{format_named, negotiate, quality, respond, Deadline, Started};
use super::signing::{self, EXPIRES_PARAM, SIG_PARAM};
use super::AppState;

type Params = RawQuery;
type Body = axum::body::Body;

/// Counts every answer by status, and its refusal reason when it has one;
/// the router's own 404 and 405 get a JSON body and a reason too. A
/// request is counted in flight from its headers until its answer's body
/// is written (or its client goes away), which is what the drain waits
/// for: an image still going out to a slow reader when `--grace` ends is a
/// request cut off.
pub async fn count(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let in_flight = InFlight::start(Arc::clone(&state));
    // CONNECT's target is an authority (`host:port`), with no path.
    let path = match request.uri().path() {
        "" => request.uri().to_string(),
        path => path.to_owned(),
    };
    let method = request.method().to_string();
    // RFC 9112 (3.2): an HTTP/1.1 request without Host, with more than
    // one, or with one that is no host[:port], is answered 400.
    let hosts: Vec<&[u8]> = request
        .headers()
        .get_all(header::HOST)
        .iter()
        .map(|h| h.as_bytes())
        .collect();
    let bad_host = request.version() == axum::http::Version::HTTP_11
        && !matches!(&hosts[..], [one] if !one.iter().any(|b| b.is_ascii_whitespace() || matches!(b, b'/' | b'?' | b'#' | b'@')));
    // RFC 9110 (10.1.1): an expectation other than 100-continue, which
    // hyper meets, may be answered 417 rather than ignored.
    let expected = request
        .headers()
        .get_all(header::EXPECT)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_owned())
        // hyper answers `100 Continue` only to this value exactly: a list
        // of it (`100-continue, 100-continue`) left the client waiting.
        .find(|v| !v.eq_ignore_ascii_case("100-continue"));
    let mut response = match (bad_host, expected) {
        (true, _) => ServeError::BadRequest(
            "an HTTP/1.1 request must carry one Host header naming a host[:port] (RFC 9112, 3.2)"
                .into(),
        )
        .into_response(),
        (false, Some(expected)) => ServeError::ExpectationFailed(expected).into_response(),
        (false, None) => next.run(request).await,
    };
    if response.extensions().get::<Reason>().is_none() {
        let status = response.status();
        if status == StatusCode::NOT_FOUND {
            response = ServeError::NoEndpoint { method, path }.into_response();
        } else if status == StatusCode::METHOD_NOT_ALLOWED {
            let allow = response.headers().get(header::ALLOW).cloned();
            response = ServeError::MethodNotAllowed { method, path }.into_response();
            if let Some(allow) = allow {
                response.headers_mut().insert(header::ALLOW, allow);
            }
        }
    }
    // Refused before its body was read (or while it was): the connection
    // cannot carry another request, which hyper closes it for; say so.
    if matches!(response.status().as_u16(), 408 | 413 | 415 | 417 | 501) {
        response.headers_mut().insert(
            header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
    }
    let reason = response.extensions().get::<Reason>().copied();
    // A client gone before its body arrived gets no answer to count.
    if reason != Some(Reason::ClientGone) {
        state.metrics.count_status(response.status().as_u16());
    }
    if let Some(reason) = reason {
        state.metrics.reject(reason);
    }
    // An image's bytes of the memory budget, held until it is written.
    let held = response.extensions_mut().remove::<Arc<Held>>();
    response.map(|body| {
        Body::new(Sending {
            body,
            rest: Bytes::new(),
            _in_flight: in_flight,
            _held: held,
        })
    })
}

/// The most of an answer's body handed to hyper at once: hyper asks for
/// more only once it has written what it holds, so the request stays in
/// flight until no more than this (and hyper's buffer) is left to write.
const SEND_CHUNK: usize = 64 << 10;

/// A request counted in flight while this lives: in the handler, then in
/// its answer's body until hyper has written it and drops it (dropped also
/// when the client goes away and hyper drops the handler or the body).
struct InFlight(Arc<AppState>);

impl InFlight {
    fn start(state: Arc<AppState>) -> InFlight {
        state.requests_in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(state)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.requests_in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// An answer's body in pieces of at most [`SEND_CHUNK`] bytes, holding
/// its request in flight until hyper drops it (written, or the client
/// gone).
struct Sending {
    body: Body,
    /// What is left of the last frame taken from `body`.
    rest: Bytes,
    _in_flight: InFlight,
    _held: Option<Arc<Held>>,
}

impl Sending {
    fn piece(&mut self) -> hyper::body::Frame<Bytes> {
        let n = self.rest.len().min(SEND_CHUNK);
        hyper::body::Frame::data(self.rest.split_to(n))
    }
}

impl hyper::body::Body for Sending {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, axum::Error>>> {
        use std::task::Poll;
        // `Body` is `Unpin` (a boxed body), so `Sending` is too.
        let this = self.get_mut();
        if !this.rest.is_empty() {
            return Poll::Ready(Some(Ok(this.piece())));
        }
        match std::pin::Pin::new(&mut this.body).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                Ok(data) => {
                    this.rest = data;
                    Poll::Ready(Some(Ok(this.piece())))
                }
                Err(frame) => Poll::Ready(Some(Ok(frame))),
            },
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.rest.is_empty() && self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        let hint = self.body.size_hint();
        let rest = self.rest.len() as u64;
        let mut sum = hyper::body::SizeHint::new();
        sum.set_lower(hint.lower() + rest);
        if let Some(upper) = hint.upper() {
            sum.set_upper(upper + rest);
        }
        sum
    }
}

/// The query's `name=value` pairs, percent-decoded (`+` is a space). A
/// malformed escape (`%zz`) or one that decodes to bytes that are not
/// UTF-8 (`%ff`) is a 400 naming the parameter, not a value silently
/// changed into something else (U+FFFD) and rendered.
fn params(RawQuery(query): Params) -> Result<Vec<(String, String)>, ServeError> {
    match query {
        None => Ok(Vec::new()),
        Some(query) => decode_query_naming(&query)
            .map_err(|(field, message)| ServeError::BadParameter { field, message }),
    }
}

/// What `GET /t/` refuses of a request `target` (path and query) before
/// it loads the template, at `now` (Unix seconds): a query that does not
/// decode, a parameter given twice, a `quality` or `expires` it does not
/// read, an `expires` past, a `/t/` file name without a format's
/// extension. `impasto sign` checks a target with it, since a signed URL
/// the server refuses is of no use; the template's variables only the
/// server can check.
pub(super) fn check_target(target: &str, now: u64) -> Result<(), String> {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let params = decode_query_naming(query).map_err(|(_, message)| message)?;
    let check = || -> Result<(), ServeError> {
        for (i, (name, _)) in params.iter().enumerate() {
            if params[..i].iter().any(|(k, _)| k == name) {
                return Err(given_twice(name));
            }
        }
        signing::remaining(param(&params, EXPIRES_PARAM)?, now)?;
        let quality = quality(param(&params, "quality")?)?;
        if let Some(file) = path.strip_prefix("/t/") {
            let ext = file.rsplit_once('.').map_or("", |(_, ext)| ext);
            format_named(ext, quality)?;
        }
        Ok(())
    };
    check().map_err(|e| e.to_string())
}

/// [`decode_query`], a refusal naming the parameter (as far as it can be
/// decoded) with its message.
fn decode_query_naming(query: &str) -> Result<Vec<(String, String)>, (String, String)> {
    let decode = |part: &str, what: &str| -> Result<String, String> {
        let bad = |why: &str| format!("the query's {what}: {why}");
        let raw = part.as_bytes();
        let mut out = Vec::with_capacity(raw.len());
        let mut i = 0;
        while i < raw.len() {
            match raw[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    // Two hex digits exactly: `from_str_radix` alone takes
                    // a sign too (`%+A` read as a line feed).
                    let hex = raw
                        .get(i + 1..i + 3)
                        .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                        .and_then(|h| std::str::from_utf8(h).ok());
                    let byte = hex.and_then(|h| u8::from_str_radix(h, 16).ok());
                    out.push(byte.ok_or_else(|| bad("a % not followed by two hex digits"))?);
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).map_err(|_| bad("its escapes decode to bytes that are not UTF-8"))
    };
    let mut pairs = Vec::new();
    for piece in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = piece.split_once('=').unwrap_or((piece, ""));
        let key =
            decode(k, &format!("parameter name {}", quoted(k))).map_err(|m| (k.to_string(), m))?;
        let value =
            decode(v, &format!("value of {}", quoted(&key))).map_err(|m| (key.clone(), m))?;
        pairs.push((key, value));
    }
    Ok(pairs)
}

/// The value of the query parameter `name`, which may be given once: a
/// second (`?quality=5&quality=90`) would be read one way here and another
/// by a cache or an application in front.
fn param<'a>(params: &'a [(String, String)], name: &str) -> Result<Option<&'a str>, ServeError> {
    let mut found = params.iter().filter(|(k, _)| k == name);
    let first = found.next().map(|(_, v)| v.as_str());
    if found.next().is_some() {
        return Err(given_twice(name));
    }
    Ok(first)
}

/// The refusal of a query parameter given more than once.
fn given_twice(name: &str) -> ServeError {
    ServeError::BadParameter {
        field: name.to_string(),
        message: format!("the query gives {} twice", quoted(name)),
    }
}

/// Refuses a query parameter `POST /render` and `POST /templates/{name}`
/// do not read (a misspelt `?fromat=webp` was ignored, and the default
/// format answered): the variables of a template go in the body.
fn only_known(params: &[(String, String)]) -> Result<(), ServeError> {
    match params.iter().find(|(k, _)| k != "format" && k != "quality") {
        Some((k, _)) => Err(ServeError::BadParameter {
            field: k.clone(),
            message: format!(
                "unknown query parameter {}: this endpoint reads only \"format\" and \"quality\" (a template's variables go in the body)",
                quoted(k)
            ),
        }),
        None => Ok(()),
    }
}

/// The first coding listed in the `name` headers other than `allowed`
/// (compared without case), if any.
fn other_coding(headers: &HeaderMap, name: header::HeaderName, allowed: &str) -> Option<String> {
    headers.get_all(name).iter().find_map(|value| {
        let value = String::from_utf8_lossy(value.as_bytes());
        value
            .split(',')
            .map(str::trim)
            .find(|c| !c.is_empty() && !c.eq_ignore_ascii_case(allowed))
            .map(str::to_owned)
    })
}

/// The request's body: refused from its `Content-Length` before any of it
/// is read (so no `100 Continue` invites it) or as it streams when over
/// `--max-body`; 408 when it does not arrive within `--read-timeout`; 415
/// in a content coding other than `identity` (RFC 9110, 8.4.1: a gzip body
/// was read as JSON and refused as not UTF-8). Its bytes are reserved in
/// the memory budget before it is read (its `Content-Length`, or
/// `--max-body` until it has all arrived), waiting for them within the
/// request's `deadline`; one longer than the whole budget is 413. The
/// reservation is returned with the bytes, to be held until they are
/// dropped. The body must arrive within `--read-timeout` (408) and the
/// deadline (504), whichever ends first.
async fn body(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    deadline: &Deadline,
) -> Result<(Bytes, Held), ServeError> {
    use http_body_util::BodyExt;
    if let Some(other) = other_coding(headers, header::CONTENT_ENCODING, "identity") {
        return Err(ServeError::UnsupportedEncoding(other));
    }
    if let Some(other) = other_coding(headers, header::TRANSFER_ENCODING, "chunked") {
        return Err(ServeError::UnsupportedTransferCoding(other));
    }
    let too_large = || ServeError::BodyTooLarge {
        limit: state.max_body,
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > state.max_body as u64) {
        return Err(too_large());
    }
    // Reservations are whole KiB: the budget as they count it.
    let budget = state.admission.usable();
    if let Some(length) = declared.filter(|&n| n.div_ceil(1024) * 1024 > budget) {
        return Err(ServeError::BodyOverBudget { length, budget });
    }
    let most = declared.unwrap_or(state.max_body as u64);
    let reserve = state.admission.reserve_body(most);
    let mut held = deadline.within(Stage::BodyRoom, reserve).await?;
    // What may be read into: the reservation (less than --max-body only
    // where the budget is; a declared length over it was refused above).
    let room = usize::try_from(held.bytes())
        .unwrap_or(usize::MAX)
        .min(state.max_body);
    let read = async {
        let mut body = body;
        // Room for the whole body at once, once its first bytes arrive (a
        // connection that sends only its headers holds none; one allocated
        // before, at 1,000 such connections, made the whole budget
        // resident): grown by doubling, a 63 MB body held twice that while
        // read, and a chunked one two and a half times its reservation.
        let mut out = Vec::new();
        let whole = declared.map_or(room, |n| n as usize);
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| match gone_mid_body(e.into_inner()) {
                Ok(()) => ServeError::ClientGone,
                Err(e) => ServeError::BadRequest(format!("reading the request body: {e}")),
            })?;
            if let Ok(data) = frame.into_data() {
                if out.capacity() == 0 {
                    out.reserve_exact(whole.max(data.len()));
                }
                let length = out.len() + data.len();
                if length > state.max_body {
                    return Err(too_large());
                }
                if length > room {
                    let length = length as u64;
                    return Err(ServeError::BodyOverBudget { length, budget });
                }
                out.extend_from_slice(&data);
            }
        }
        Ok(Bytes::from(out))
    };
    // The read timeout or the deadline, whichever comes first.
    let slow = std::time::Instant::now() + state.read_timeout;
    let bytes = match slow < deadline.at {
        true => tokio::time::timeout(state.read_timeout, read)
            .await
            .map_err(|_| ServeError::SlowBody {
                secs: state.read_timeout.as_secs_f64(),
            })??,
        false => deadline.within(Stage::BodyArriving, read).await??,
    };
    held.trim(bytes.len() as u64);
    Ok((bytes, held))
}

/// 503 for a request that reaches its handler once the server drains (one
/// whose handler started before, its body still arriving, is answered).
fn refuse_if_draining(state: &AppState) -> Result<(), ServeError> {
    match state.draining.load(Ordering::Relaxed) {
        true => Err(ServeError::Draining),
        false => Ok(()),
    }
}

/// `Ok` when a body failed because its connection ended before the body
/// did (the client went away); otherwise the error (a malformed body).
fn gone_mid_body(e: axum::BoxError) -> Result<(), axum::BoxError> {
    use std::io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset, UnexpectedEof};
    if let Some(h) = e.downcast_ref::<hyper::Error>() {
        if h.is_incomplete_message() || h.is_closed() || h.is_canceled() {
            return Ok(());
        }
    }
    // hyper's body decoder reports a connection ended early as an I/O
    // error under its own.
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&*e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                UnexpectedEof | ConnectionReset | ConnectionAborted | BrokenPipe
            ) {
                return Ok(());
            }
        }
        source = s.source();
    }
    Err(e)
}

/// The name in a path (`/t/{file}`, `/templates/{name}`), percent-decoded;
/// one that does not decode to UTF-8 names no template: 404 with the JSON
/// body and reason of every other (axum's own answer was a plain-text 400,
/// given before the signature was checked, and counted under no reason).
fn path_name(name: Result<Path<String>, PathRejection>, uri: &Uri) -> Result<String, ServeError> {
    let last = uri.path().rsplit('/').next().unwrap_or_default();
    // The router keeps a bad escape as its three characters: a malformed
    // request (400), as in the query, not a template of that name (404).
    let raw = last.as_bytes();
    let bad = raw.iter().enumerate().any(|(i, &b)| {
        b == b'%'
            && !raw
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
    });
    if bad {
        return Err(ServeError::BadParameter {
            field: "path".into(),
            message: format!(
                "the path's last segment {}: a % not followed by two hex digits",
                quoted(last)
            ),
        });
    }
    name.map(|Path(name)| name)
        .map_err(|_| ServeError::NoTemplate(format!("{last} (not UTF-8 once decoded)")))
}

/// Runs `parse` on a request body `bytes`, whose reservation is `body`,
/// once it holds an admission slot (429 when `--workers + --queue`
/// requests hold one) and its reservation has grown to hold the tree its
/// JSON parses into, measured first (`impasto::scene::json_tree_bytes`;
/// 413 when body and tree could never fit the budget; waited for within
/// the request's `deadline`, [`super::admission::Admission::reserve_parse`]).
/// `parse` gets the renderer's limits and the bytes the tree may take;
/// `invalid` makes the error of JSON the measure found invalid. The
/// reservation ends with the parse; the slot is the render's.
async fn parse_body<T>(
    state: &AppState,
    deadline: &Deadline,
    (bytes, body): (&[u8], Held),
    parse: impl FnOnce(&Limits, u64) -> T,
    invalid: impl FnOnce(&serde_json::Error) -> ServeError,
) -> Result<(T, Slot), ServeError> {
    // JSON that is not valid is told as its parse would tell it, without
    // the tree before its error being built (or waited for).
    let tree = impasto::scene::json_tree_bytes(bytes).map_err(|e| invalid(&e))?;
    let len = bytes.len() as u64;
    if !state.admission.fits_beside(len, tree) {
        return Err(ServeError::ParseOverBudget {
            tree,
            body: len,
            budget: state.admission.usable(),
        });
    }
    let slot = state.admission.enter()?;
    let reserve = state.admission.reserve_parse(tree, body);
    let reserved = deadline.within(Stage::ParseRoom, reserve).await?;
    let parsed = parse(&state.renderer.limits(), tree);
    drop(reserved);
    Ok((parsed, slot))
}

/// A scene body that is not JSON: the error its parse gives.
fn invalid_scene(e: &serde_json::Error) -> ServeError {
    let message = format!("invalid JSON: {}", impasto::scene::describe_json_error(e));
    ServeError::Render(impasto::Error::Scene(impasto::SceneError {
        location: impasto::Location::Document,
        field: None,
        message,
    }))
}

/// A template values body that is not JSON: the error its parse gives.
fn invalid_values(e: &serde_json::Error) -> ServeError {
    let e = impasto::scene::describe_json_error(e);
    ServeError::BadRequest(format!("the body is not JSON: {e}"))
}

fn utf8(bytes: &[u8]) -> Result<&str, ServeError> {
    std::str::from_utf8(bytes)
        .map_err(|e| ServeError::BadRequest(format!("the body is not UTF-8 text: {e}")))
}

/// `POST /render`: the body is a scene.
pub async fn render(
    State(state): State<Arc<AppState>>,
    query: Params,
    headers: HeaderMap,
    bytes: Body,
) -> Result<Response, ServeError> {
    refuse_if_draining(&state)?;
    let params = params(query)?;
    only_known(&params)?;
    let quality = quality(param(&params, "quality")?)?;
    let named = param(&params, "format")?;
    let format = negotiate(named, quality, &headers)?;
    let negotiated = named.is_none();
    let deadline = Deadline::of(&state, &headers)?;
    // The body (and its reservation) is dropped once parsed: a scene
    // holding a data: URL of megabytes held it twice through the render.
    let (scene, slot) = {
        let (bytes, held) = body(&state, &headers, bytes, &deadline).await?;
        let text = utf8(&bytes)?;
        let parse = |limits: &Limits, tree| Scene::from_json_within(text, limits, tree);
        let (parsed, slot) =
            parse_body(&state, &deadline, (&bytes, held), parse, invalid_scene).await?;
        (parsed?, slot)
    };
    let started = Started {
        deadline,
        slot: Some(slot),
    };
    let response = respond(state, scene, format, &headers, None, false, started).await?;
    Ok(vary_accept(response, negotiated))
}

/// Adds `Vary: Accept` to an answer whose format `Accept` chose (no
/// `?format=`), so that a shared cache keeps one answer per format
/// (RFC 9110, 12.5.5).
fn vary_accept(mut response: Response, negotiated: bool) -> Response {
    if negotiated {
        response
            .headers_mut()
            .insert(header::VARY, header::HeaderValue::from_static("accept"));
    }
    response
}

/// `POST /templates/{name}`: the body is a JSON object of variable values.
pub async fn post_template(
    State(state): State<Arc<AppState>>,
    name: Result<Path<String>, PathRejection>,
    uri: Uri,
    query: Params,
    headers: HeaderMap,
    bytes: Body,
) -> Result<Response, ServeError> {
    refuse_if_draining(&state)?;
    let name = path_name(name, &uri)?;
    let params = params(query)?;
    only_known(&params)?;
    let quality = quality(param(&params, "quality")?)?;
    let named = param(&params, "format")?;
    let format = negotiate(named, quality, &headers)?;
    let negotiated = named.is_none();
    let deadline = Deadline::of(&state, &headers)?;
    // A template that is not there is 404 before its body is read.
    let template = load_template(&state, &name).await?;
    let (bytes, held) = body(&state, &headers, bytes, &deadline).await?;
    let parse = |_: &Limits, tree| impasto::scene::json_from_slice_within(&bytes, tree);
    let (parsed, slot) =
        parse_body(&state, &deadline, (&bytes, held), parse, invalid_values).await?;
    drop(bytes);
    let values: Map<String, Value> = match parsed {
        Ok(Value::Object(map)) => map,
        Ok(_) => {
            return Err(ServeError::BadRequest(
                "the body must be a JSON object of variable values".into(),
            ))
        }
        // A duplicate key, or a tree over its bound: JSON, refused.
        Err(e) if e.classify() == serde_json::error::Category::Data => {
            return Err(ServeError::BadRequest(format!("the body: {e}")));
        }
        Err(e) => {
            let e = impasto::scene::describe_json_error(&e);
            return Err(ServeError::BadRequest(format!("the body is not JSON: {e}")));
        }
    };
    // A key that is no variable is a typo (no warning reaches a client):
    // 400, as for `/t/` queries.
    template.check_names(values.keys().map(String::as_str))?;
    let scene = template.bind_json(&values)?;
    drop(values);
    let started = Started {
        deadline,
        slot: Some(slot),
    };
    respond(state, scene, format, &headers, None, false, started)
        .await
        .map(|r| vary_accept(r, negotiated))
        .map_err(|e| attributed(&template, e))
}

/// `GET /t/{name}.{ext}?var=value&...`: the query holds the variables
/// (`quality` is the JPEG quality, `expires` the URL's expiry time and
/// `sig` the signature, not variables), read as `--set` reads them: a name
/// the template does not declare, or one given twice, is 400. With
/// `--signing-key`, the URL must be signed (403 otherwise). A URL past its
/// `expires` is 403, as is one without `expires` or expiring further ahead
/// than `--max-url-lifetime` when that is set; caches are told to keep an answer no longer than
/// the URL is valid.
pub async fn get_template(
    State(state): State<Arc<AppState>>,
    method: Method,
    file: Result<Path<String>, PathRejection>,
    uri: Uri,
    query: Params,
    headers: HeaderMap,
) -> Result<Response, ServeError> {
    refuse_if_draining(&state)?;
    if let Some(key) = &state.signing_key {
        key.verify(uri.path(), uri.query())?;
    }
    // After the signature: an unsigned URL is 403 whatever its path.
    let deadline = Deadline::of(&state, &headers)?;
    let file = path_name(file, &uri)?;
    let params = params(query)?;
    // Reserved names, each once (a variable given twice is refused below).
    param(&params, SIG_PARAM)?;
    let now = signing::unix_now();
    let left = signing::remaining(param(&params, EXPIRES_PARAM)?, now)?;
    if let Some(max) = state.max_url_lifetime {
        signing::within_lifetime(left, max)?;
    }
    let expires = left.map(|left| now + left);
    let quality = quality(param(&params, "quality")?)?;
    let Some((name, ext)) = file.rsplit_once('.') else {
        return Err(ServeError::BadRequest(format!(
            "{} has no extension: ask for /t/{{name}}.png, .jpg, .webp or .avif",
            quoted(&file)
        )));
    };
    let format = format_named(ext, quality)?;
    let mut row: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in params
        .into_iter()
        .filter(|(k, _)| k != "quality" && k != SIG_PARAM && k != EXPIRES_PARAM)
    {
        if row.contains_key(&k) {
            return Err(given_twice(&k));
        }
        row.insert(k, v);
    }
    let template = load_template(&state, name).await?;
    // `?format=` as POST /render takes it: said so, not "variable format
    // is not declared" (a template may declare one, which it then sets).
    if row.contains_key("format") && template.variable("format").is_none() {
        return Err(ServeError::BadParameter {
            field: "format".into(),
            message: "a /t/ URL's extension names its format (/t/card.jpg); ?format is read by POST /render and POST /templates/{name}".into(),
        });
    }
    template.check_names(row.keys().map(String::as_str))?;
    let scene = template.bind(&row)?;
    let head = method == Method::HEAD;
    let started = Started {
        deadline,
        slot: None,
    };
    respond(state, scene, format, &headers, expires, head, started)
        .await
        .map_err(|e| attributed(&template, e))
}

/// A render error in a field a variable filled (an image `src` naming no
/// file) names the variable, as binding errors do.
fn attributed(template: &Template, e: ServeError) -> ServeError {
    match e {
        ServeError::Render(e) => ServeError::Render(template.attribute(e)),
        // A remote image's `src` from a variable names it too.
        ServeError::Fetch {
            error,
            refused,
            variable: None,
        } => {
            let variable = match template.attribute(impasto::Error::Scene(error.clone())) {
                impasto::Error::Template(t) => t.variable().map(str::to_owned),
                _ => None,
            };
            ServeError::Fetch {
                error,
                refused,
                variable,
            }
        }
        other => other,
    }
}

/// Whether `name` may name a template file: 1 to 64 ASCII letters, digits,
/// `-` and `_` (so no `/`, `..` or hidden files).
fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Reads `--templates DIR/{name}.json` (read on every request, so an edited
/// template is served at once).
async fn load_template(state: &AppState, name: &str) -> Result<Template, ServeError> {
    let (Some(dir), true) = (&state.templates, valid_name(name)) else {
        return Err(ServeError::NoTemplate(name.to_owned()));
    };
    let path = dir.join(format!("{name}.json"));
    // A regular file (a link to one is followed) of at most a scene file's
    // size: a link to /dev/zero grew the process by gigabytes, and a FIFO
    // held its request past every deadline. Read on a blocking thread.
    // `Ok(None)`: no such file. A broken template file is the server's
    // fault, not the client's (500).
    let what = format!("template {name}");
    let limits = state.renderer.limits();
    let read = tokio::task::spawn_blocking(move || -> Result<Option<Template>, String> {
        let meta = match std::fs::metadata(&path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.to_string()),
        };
        if !meta.is_file() {
            return Err("not a regular file (a folder, device, pipe or socket)".into());
        }
        let max = impasto::scene::MAX_SCENE_BYTES;
        if meta.len() > max {
            return Err(format!("{} bytes, over the limit of {max}", meta.len()));
        }
        let file = std::fs::File::open(&path).map_err(|e| e.to_string())?;
        // Read to `max` at most (the file may have grown) and parsed.
        Template::from_reader(file, max, &what, &limits)
            .map(Some)
            .map_err(|e| e.to_string())
    });
    match read.await {
        Ok(Ok(Some(template))) => Ok(template),
        Ok(Ok(None)) => Err(ServeError::NoTemplate(name.to_owned())),
        Ok(Err(e)) => Err(ServeError::Internal(format!("template {name}: {e}"))),
        Err(e) => Err(ServeError::Internal(format!("template {name}: {e}"))),
    }
}

/// `GET /healthz`: the process answers.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// Whether the server takes renders: not draining, and the reserved bytes
/// under the watermark.
pub fn is_ready(state: &AppState) -> bool {
    let reserved = state.metrics.reserved_bytes.load(Ordering::Relaxed).max(0) as f64;
    let watermark = state.admission.budget() as f64 * state.ready_watermark;
    !state.draining.load(Ordering::Relaxed) && reserved <= watermark
}

/// `GET /readyz`: 200 when ready, 503 when draining or over the memory
/// watermark.
pub async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    if is_ready(&state) {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response()
    }
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let text = state.metrics.render_text(
        &state.renderer,
        state.admission.budget(),
        is_ready(&state),
        state.connections_open(),
    );
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}
