//! Remote images (`--allow-host`): image layers whose `src` is an
//! `http://` or `https://` URL are fetched before the render, only from the
//! hosts listed, with connect and read timeouts, a byte limit, and redirects
//! followed by hand (each hop checked against the list again, at most
//! [`MAX_REDIRECTS`]). Without `--allow-host` such a scene is refused (400).
//!
//! The client is ureq (blocking, rustls with ring); fetches run on the
//! blocking pool, never on the async runtime's threads.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use impasto::scene::quoted;
use impasto::{Assets, LayerKind, Location, Scene, SceneError};
use ureq::http::Uri;
use ureq::Agent;

use super::error::ServeError;
use super::metrics::Metrics;
use super::url_ref::{request_form, resolve, written_port};

/// Redirects followed per image, each re-checked against the list.
pub const MAX_REDIRECTS: usize = 3;

/// One `--allow-host` entry: `HOST` (the scheme's default port only),
/// `HOST:PORT`, or `*.DOMAIN[:PORT]` (any subdomain of DOMAIN).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHost {
    /// Lowercase; `*.` kept for wildcards; IPv6 in brackets.
    host: String,
    port: Option<u16>,
}

impl FromStr for AllowedHost {
    type Err = String;

    fn from_str(text: &str) -> Result<AllowedHost, String> {
        let bad = || format!("--allow-host {}: expected HOST or HOST:PORT", quoted(text));
        if text.contains(['/', '@', '?', '#']) || text.trim() != text {
            return Err(bad());
        }
        let authority: ureq::http::uri::Authority = text.parse().map_err(|_| bad())?;
        let host = authority.host().to_ascii_lowercase();
        let name = host.strip_prefix("*.").unwrap_or(&host);
        if name.is_empty() || name.contains('*') {
            return Err(bad());
        }
        // `HOST:84337` or `HOST:` is refused, not read as the default port.
        let port = written_port(text).map_err(|()| {
            format!(
                "--allow-host {}: the port must be a number from 1 to 65535",
                quoted(text)
            )
        })?;
        Ok(AllowedHost { host, port })
    }
}

impl fmt::Display for AllowedHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(port) => write!(f, "{}:{port}", self.host),
            None => write!(f, "{}", self.host),
        }
    }
}

impl AllowedHost {
    fn allows(&self, host: &str, port: u16, default_port: u16) -> bool {
        let host_ok = match self.host.strip_prefix('*') {
            Some(suffix) => host.ends_with(suffix) && host.len() > suffix.len(),
            None => host == self.host,
        };
        host_ok && self.port.unwrap_or(default_port) == port
    }
}

/// Whether `src` names a remote image.
pub fn is_remote(src: &str) -> bool {
    let lower = |n: usize| src.get(..n).map(str::to_ascii_lowercase);
    lower(7).as_deref() == Some("http://") || lower(8).as_deref() == Some("https://")
}

/// The fetch limits.
#[derive(Debug, Clone)]
pub struct FetchLimits {
    /// Most time to open a connection.
    pub connect: Duration,
    /// Most time between two reads (headers or body).
    pub read: Duration,
    /// Largest body, in bytes.
    pub max_bytes: u64,
    /// Largest decoded image, in pixels (the library's limit).
    pub max_pixels: u64,
    /// A render's memory limit (`--memory-budget`): the scene's fetched
    /// images, decoded, and its canvas must fit it.
    pub max_render_bytes: u64,
}

/// The remote-image fetcher shared by all requests.
#[derive(Debug)]
pub struct Fetcher {
    allow: Vec<AllowedHost>,
    limits: FetchLimits,
    agent: Agent,
    metrics: Arc<Metrics>,
}

/// Remote images fetched for one scene: encoded, by `src`, and the SHA-256
/// of each body (for the ETag).
#[derive(Debug, Default)]
pub struct Fetched {
    pub assets: Assets,
    pub digests: HashMap<String, [u8; 32]>,
}

/// Why one URL gave no image: refused by policy or input (400), or the
/// remote failed (502).
enum Failure {
    Refused(String),
    Failed(String),
}

impl Fetcher {
    /// A fetcher for `allow` (empty: every remote image is refused).
    pub fn new(allow: Vec<AllowedHost>, limits: FetchLimits, metrics: Arc<Metrics>) -> Fetcher {
        let agent = Agent::config_builder()
            .timeout_connect(Some(limits.connect))
            .timeout_per_read(Some(limits.read))
            .max_redirects(0)
            .http_status_as_error(false)
            .proxy(None)
            .user_agent(concat!("impasto/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Fetcher {
            allow,
            limits,
            agent,
            metrics,
        }
    }

    /// Fetches every remote image of `scene`'s visible layers
    /// (each distinct URL once, in layer order) before `deadline`.
    /// Blocking: call it on the blocking pool.
    /// Each image's full decoded size, from its header, is counted with the
    /// canvas against the render's memory limit (413): an upper bound, as
    /// the render may shrink it on load. The bodies are handed over
    /// encoded ([`Assets::insert_encoded`]); the render decodes them.
    /// Stops between images once `token` is cancelled (the request gone).
    /// `fetching` holds the layer and `src` of the image being fetched,
    /// while it is, for a 504 to name.
    pub fn fetch_scene(
        &self,
        scene: &Scene,
        deadline: Instant,
        token: &impasto::CancelToken,
        fetching: &Mutex<Option<SceneError>>,
    ) -> Result<Fetched, ServeError> {
        let mut fetched = Fetched::default();
        let mut needed = 2 * u64::from(scene.width) * u64::from(scene.height) * 4;
        for (index, layer) in scene.layers.iter().enumerate() {
            let LayerKind::Image(image) = &layer.kind else {
                continue;
            };
            if !layer.visible || !is_remote(&image.src) || fetched.digests.contains_key(&image.src)
            {
                continue;
            }
            if token.is_cancelled() {
                return Err(ServeError::Render(impasto::Error::Cancelled));
            }
            // This layer's `src`, shown, then what is said of it.
            let shown = quoted(&redacted(&image.src)).to_string();
            let at_src = |message: String| SceneError {
                location: Location::Layer {
                    index,
                    kind: Some("image".into()),
                },
                field: Some("src".into()),
                message,
            };
            let fail = |refused: bool, message: String| ServeError::Fetch {
                error: at_src(format!("{shown}: {message}")),
                refused,
                variable: None,
            };
            let now = |what: Option<SceneError>| {
                *fetching.lock().unwrap_or_else(|p| p.into_inner()) = what;
            };
            now(Some(at_src(shown.clone())));
            let result = self.fetch(&image.src, deadline);
            now(None);
            let bytes = match result {
                Ok(bytes) => bytes,
                Err(Failure::Refused(m)) => return Err(fail(true, m)),
                Err(Failure::Failed(m)) => return Err(fail(false, m)),
            };
            let m = &self.metrics;
            // Every body received whole, whether or not it is then refused
            // (not an image, over a limit from its header).
            m.fetched_bytes
                .fetch_add(bytes.len() as u64, Ordering::Relaxed);
            let refused = |e: String| {
                m.fetches_refused.fetch_add(1, Ordering::Relaxed);
                fail(true, e)
            };
            // The size from the header (a body that has none is refused by
            // the decode below, with its reason).
            if let Ok((w, h)) = image::ImageReader::new(std::io::Cursor::new(&bytes))
                .with_guessed_format()
                .map_err(|e| e.to_string())
                .and_then(|r| r.into_dimensions().map_err(|e| e.to_string()))
            {
                // The pixel limit first, as for a local file (400): a bomb
                // is bad input before it is a memory question.
                let pixels = u64::from(w) * u64::from(h);
                if pixels > self.limits.max_pixels {
                    return Err(refused(format!(
                        "image is {w}x{h} = {pixels} pixels, over the limit of {} pixels (max_image_pixels)",
                        self.limits.max_pixels
                    )));
                }
                needed = needed.saturating_add(u64::from(w) * u64::from(h) * 4);
                let limit = self.limits.max_render_bytes;
                if needed > limit {
                    // As a local file over the budget: 413, naming the
                    // layer; a fetch refused, as one too large in bytes.
                    m.fetches_refused.fetch_add(1, Ordering::Relaxed);
                    let mib = |b: u64| format!("{:.1} MiB", b as f64 / (1 << 20) as f64);
                    return Err(ServeError::Render(impasto::Error::OverMemoryLimit {
                        error: at_src(format!(
                            "{shown}: decoded, it would bring the scene's images and canvas to about {}, over the limit of {} (--memory-budget)",
                            mib(needed),
                            mib(limit)
                        )),
                        needed,
                        limit,
                    }));
                }
            }
            // Kept encoded: the render reads it as a file (shrunk on load,
            // any frame, kept decoded between requests by its SHA-256).
            // Until 2026-11-29 it was decoded here, whole, a still, and
            // decoded again for every request.
            let digest = fetched
                .assets
                .insert_encoded(image.src.clone(), bytes)
                .map_err(|e| refused(e.0))?;
            m.fetches_ok.fetch_add(1, Ordering::Relaxed);
            fetched.digests.insert(image.src.clone(), digest);
        }
        Ok(fetched)
    }

    /// One URL's body, a failure counted in the metrics (a body is
    /// counted once its header reads as an image).
    fn fetch(&self, url: &str, deadline: Instant) -> Result<Vec<u8>, Failure> {
        let result = self.follow(url, deadline);
        let m = &self.metrics;
        match &result {
            Ok(_) => {}
            Err(Failure::Refused(_)) => {
                m.fetches_refused.fetch_add(1, Ordering::Relaxed);
            }
            Err(Failure::Failed(_)) => {
                m.fetches_failed.fetch_add(1, Ordering::Relaxed);
            }
        }
        result
    }

    /// GETs `url`, following redirects by hand, each hop checked.
    fn follow(&self, url: &str, deadline: Instant) -> Result<Vec<u8>, Failure> {
        if self.allow.is_empty() {
            return Err(Failure::Refused(
                "remote images are off: the server was started without --allow-host".into(),
            ));
        }
        let give_up = deadline;
        let mut uri = self.check(url, None)?;
        // After a redirect, what failed is said of the URL it led to (the
        // layer's `src` prefixes every message).
        let mut at = String::new();
        for hop in 0..=MAX_REDIRECTS {
            let left = give_up.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Failure::Failed(format!("timed out{at}")));
            }
            let mut response = self
                .agent
                .get(&uri)
                .header("accept", "image/png, image/jpeg, image/webp, image/*;q=0.8")
                .config()
                .timeout_global(Some(left))
                .build()
                .call()
                .map_err(|e| {
                    let https = uri.scheme_str() == Some("https");
                    Failure::Failed(format!("{}{at}", describe(&e, true, https)))
                })?;
            let status = response.status();
            if status.is_redirection() {
                let Some(location) = response
                    .headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                else {
                    return Err(Failure::Failed(format!("{status} without a Location{at}")));
                };
                let next = resolve(&uri, location);
                uri = self.check(&next, Some(&uri))?;
                at = format!(
                    " (at {}, after {} redirect{})",
                    quoted(&redacted(&uri.to_string())),
                    hop + 1,
                    if hop == 0 { "" } else { "s" }
                );
                continue;
            }
            if !status.is_success() {
                return Err(Failure::Failed(format!("the server answered {status}{at}")));
            }
            // No Accept-Encoding is sent: an encoded body is the host's
            // mistake, said so rather than "not an image".
            if let Some(encoding) = response
                .headers()
                .get("content-encoding")
                .and_then(|v| v.to_str().ok())
                .filter(|e| !e.trim().eq_ignore_ascii_case("identity"))
            {
                return Err(Failure::Refused(format!(
                    "the server sent the image with Content-Encoding {}, which impasto did not ask for and does not decode{at}",
                    quoted(encoding)
                )));
            }
            let limit = self.limits.max_bytes;
            let too_large = || {
                Failure::Refused(format!(
                    "the image is over the limit of {limit} bytes (--max-image-file-bytes)"
                ))
            };
            let declared = response
                .headers()
                .get("content-length")
                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
            if declared.is_some_and(|n| n > limit) {
                return Err(too_large());
            }
            let reader = response.body_mut().with_config().limit(limit).reader();
            return match read_body(reader, declared, limit) {
                Ok(bytes) => Ok(bytes),
                Err(e) => match ureq::Error::from(e) {
                    ureq::Error::BodyExceedsLimit(_) => Err(too_large()),
                    e => Err(Failure::Failed(format!(
                        "{}{at}",
                        describe(&e, false, false)
                    ))),
                },
            };
        }
        Err(Failure::Failed(format!(
            "more than {MAX_REDIRECTS} redirects"
        )))
    }

    /// Parses `url` and checks it against the list; `from` is the URL that
    /// redirected to it.
    fn check(&self, url: &str, from: Option<&Uri>) -> Result<Uri, Failure> {
        // The layer's `src` prefixes every message: a URL is named here
        // only when a redirect led to it; credentials never.
        let (it, via) = match from {
            Some(f) => (
                quoted(&redacted(url)).to_string(),
                format!(" (redirected from {})", redacted(&f.to_string())),
            ),
            None => ("the URL".to_string(), String::new()),
        };
        let refuse = |why: String| Failure::Refused(format!("{why}{via}"));
        // A redirect's `data:` or `mailto:` is no URL to fetch, whatever
        // the URL parser makes of it.
        if !is_remote(url) {
            return Err(refuse(format!("{it} is not an http or https URL")));
        }
        // The URL parser's own word for it is "uri too long".
        const LONGEST_URL: usize = u16::MAX as usize - 1;
        if url.len() > LONGEST_URL {
            return Err(refuse(format!(
                "{it} is {} bytes long, over the {LONGEST_URL} a request's URL may hold",
                url.len()
            )));
        }
        let uri: Uri = request_form(url)
            .parse()
            .map_err(|e| refuse(format!("{it} is not a URL: {e}")))?;
        let default_port = match uri.scheme_str().map(str::to_ascii_lowercase).as_deref() {
            Some("http") => 80,
            Some("https") => 443,
            _ => return Err(refuse(format!("{it} is not an http or https URL"))),
        };
        let Some(authority) = uri.authority() else {
            return Err(refuse(format!("{it} names no host")));
        };
        if authority.as_str().contains('@') {
            return Err(refuse(
                "user names and passwords in URLs are refused".to_string(),
            ));
        }
        let host = authority.host().to_ascii_lowercase();
        let port = written_port(authority.as_str())
            .map_err(|()| refuse(format!("{it} has a port that is no number from 1 to 65535")))?
            .unwrap_or(default_port);
        if !self
            .allow
            .iter()
            .any(|a| a.allows(&host, port, default_port))
        {
            let list: Vec<String> = self.allow.iter().map(ToString::to_string).collect();
            return Err(refuse(format!(
                "host {host}:{port} is not allowed (--allow-host {})",
                list.join(", ")
            )));
        }
        Ok(uri)
    }
}

/// `url` with the user name and password of its authority, if any,
/// replaced by `***`, for messages.
fn redacted(url: &str) -> std::borrow::Cow<'_, str> {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return url.into();
    };
    let end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    match url[start..end].rfind('@') {
        Some(at) => format!("{}***{}", &url[..start], &url[start + at..]).into(),
        None => url.into(),
    }
}

/// A ureq error in words, timeouts named as such.
/// What failed, in words. `before_answer`: the error came while asking
/// (connecting, the TLS handshake, sending, reading the answer's head),
/// not while reading a body. `https`: the URL asked for TLS.
fn describe(error: &ureq::Error, before_answer: bool, https: bool) -> String {
    let io = match error {
        ureq::Error::Timeout(what) => return format!("timed out ({what})"),
        ureq::Error::Io(io) => io,
        other => return other.to_string(),
    };
    // rustls's errors reach here as io errors that carry them.
    if let Some(tls) = io.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()) {
        return match tls {
            rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType) => {
                "the host did not answer in TLS (it may serve plain HTTP on this port: \
                 an http:// URL would ask for that)"
                    .into()
            }
            other => format!("TLS: {other}"),
        };
    }
    if before_answer && io.kind() == std::io::ErrorKind::UnexpectedEof {
        return if https {
            "the host closed the connection before answering (during or after the TLS \
             handshake: a host that does not speak TLS on this port does that)"
                .into()
        } else {
            "the host closed the connection before answering".into()
        };
    }
    format!("{error}")
}

/// Whether `scene` has a visible image layer with a remote `src`.
pub fn has_remote(scene: &Scene) -> bool {
    scene.layers.iter().any(|layer| {
        layer.visible && matches!(&layer.kind, LayerKind::Image(i) if is_remote(&i.src))
    })
}

/// A body of at most `limit` bytes (`reader` fails past it), read into
/// parts of a MiB (or one part of the declared length) joined at the end:
/// a body refused at the limit has held the limit and no more. Reading to
/// the end in one `Vec` reallocates it as it doubles, and the allocator
/// keeps what it frees: a reviewer measured 206 MiB of RSS for one endless
/// body at the 64 MiB default.
fn read_body(
    mut reader: impl std::io::Read,
    declared: Option<u64>,
    limit: u64,
) -> std::io::Result<Vec<u8>> {
    const PART: usize = 1 << 20;
    let first = declared.map_or(PART, |n| n.clamp(1, limit.max(1)) as usize);
    let mut parts: Vec<Vec<u8>> = vec![Vec::with_capacity(first)];
    let mut scratch = vec![0u8; 64 << 10];
    loop {
        let n = match reader.read(&mut scratch) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let mut data = &scratch[..n];
        while !data.is_empty() {
            let last = match parts.last_mut() {
                Some(last) if last.len() < last.capacity() => last,
                _ => {
                    parts.push(Vec::with_capacity(PART));
                    continue;
                }
            };
            let k = (last.capacity() - last.len()).min(data.len());
            last.extend_from_slice(&data[..k]);
            data = &data[k..];
        }
    }
    if parts.len() == 1 {
        return Ok(parts.swap_remove(0));
    }
    let mut body = Vec::with_capacity(parts.iter().map(Vec::len).sum());
    for part in parts {
        body.extend_from_slice(&part);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_read_whole_across_parts_and_the_limit_error_passes_through() {
        let body: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        // No declared length: parts of a MiB, joined.
        let got = read_body(std::io::Cursor::new(&body), None, u64::MAX).unwrap();
        assert!(got == body);
        // Declared: one part of that length.
        let got = read_body(
            std::io::Cursor::new(&body),
            Some(body.len() as u64),
            1 << 30,
        );
        assert!(got.unwrap() == body);
        assert!(read_body(std::io::empty(), None, 10).unwrap().is_empty());
        // A reader's error (the limit reader's, past the limit) is returned.
        struct Fails;
        impl std::io::Read for Fails {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("over"))
            }
        }
        assert!(read_body(Fails, None, 10).is_err());
    }

    fn allows(rule: &str, url: &str) -> bool {
        let rule: AllowedHost = rule.parse().expect("a rule");
        let uri: Uri = url.parse().expect("a URL");
        let default = if uri.scheme_str() == Some("https") {
            443
        } else {
            80
        };
        let host = uri.host().expect("a host").to_ascii_lowercase();
        rule.allows(&host, uri.port_u16().unwrap_or(default), default)
    }

    #[test]
    fn allow_rules_match_host_and_port() {
        assert!(allows("img.example.com", "https://IMG.example.com/a.png"));
        assert!(!allows(
            "img.example.com",
            "https://img.example.com:8443/a.png"
        ));
        assert!(allows(
            "img.example.com:8443",
            "https://img.example.com:8443/a"
        ));
        assert!(!allows(
            "img.example.com",
            "https://img.example.com.evil.net/a"
        ));
        assert!(allows("*.example.com", "http://a.b.example.com/x"));
        assert!(!allows("*.example.com", "http://example.com/x"));
        assert!(!allows("*.example.com", "http://badexample.com/x"));
        assert!(allows("127.0.0.1:9000", "http://127.0.0.1:9000/x"));
        assert!("http://x".parse::<AllowedHost>().is_err());
        assert!("user@x".parse::<AllowedHost>().is_err());
        assert!("".parse::<AllowedHost>().is_err());
        // A port that is no port is refused, not read as the default.
        for bad in ["h:84337", "h:", "h:0", "h:+80", "[::1]:"] {
            assert!(bad.parse::<AllowedHost>().is_err(), "{bad}");
        }
        assert!(allows("[::1]:8080", "http://[::1]:8080/x"));
    }

    #[test]
    fn messages_show_urls_without_their_user_name_and_password() {
        assert_eq!(redacted("http://u:p@h:8/a@b?c@d"), "http://***@h:8/a@b?c@d");
        assert_eq!(redacted("https://a:b@c@host"), "https://***@host");
        assert_eq!(redacted("http://host/x@y"), "http://host/x@y");
        assert_eq!(redacted("no scheme u:p@h"), "no scheme u:p@h");
    }
}
