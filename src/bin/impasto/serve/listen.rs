//! The accept loop: each connection served by hyper's HTTP/1 with a timer,
//! so a client that does not send its headers within `--read-timeout` is
//! cut off (axum's `serve` sets no timer, so it never is); on SIGTERM or
//! ctrl-c, new connections stop, idle ones close, and the requests in
//! flight get `--grace` to finish. A client that stops reading its answer
//! for `--write-timeout` is cut off too (counted as `slow_reader`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use impasto::Error;
use tower_service::Service as _;

use super::metrics::Reason;
use super::AppState;

/// Serves `state`'s router on `listen` until a signal, then drains: exit 0
/// when no request was still being answered (handled, or its answer's body
/// written) at the end of `grace` (idle connections, and clients still
/// sending their headers, do not count), 1 when some were cut off.
pub(super) async fn serve(
    listen: SocketAddr,
    grace: Duration,
    state: Arc<AppState>,
) -> Result<ExitCode, Error> {
    let io_error = |source| Error::Io {
        path: PathBuf::from(listen.to_string()),
        source,
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(io_error)?;
    let bound = listener.local_addr().map_err(io_error)?;
    let mut signal = std::pin::pin!(super::shutdown_signal());
    // The line a supervisor (or a test) reads the address from; with no
    // one reading it, serving goes on.
    let _ = crate::print_out(&format!("impasto serve listening on http://{bound}\n"));
    let router = super::router(Arc::clone(&state));
    let graceful = GracefulShutdown::new();
    // Each connection's task holds a sender; the receiver sees the channel
    // close once every task has ended, cut-off counts noted.
    let (alive, mut all_ended) = tokio::sync::mpsc::channel::<()>(1);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Out of file descriptors, say: wait, rather than spin.
                        log::warn!("accepting a connection: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Ok(permit) = Arc::clone(&state.connections).try_acquire_owned() else {
                    state.metrics.count_status(503);
                    state.metrics.reject(Reason::TooManyConnections);
                    tokio::spawn(too_many(stream));
                    continue;
                };
                let router = router.clone();
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    // The router is always ready (axum's `Router`).
                    let mut router = router.clone();
                    async move { router.call(req.map(Body::new)).await }
                });
                let mut http = hyper::server::conn::http1::Builder::new();
                // Not `half_close`: a client that shuts down its side after
                // its request looks like one that left, whose render is
                // cancelled at once (hyper drops the handler).
                http.timer(TokioTimer::new())
                    .header_read_timeout(state.read_timeout)
                    .max_buf_size(state.max_header_bytes);
                // A write that makes no progress for --write-timeout (the
                // client stopped reading) fails, and hyper closes the
                // connection, dropping the answer and what it holds.
                limit_unsent(&stream);
                let mut io = tokio_io_timeout::TimeoutStream::new(stream);
                io.set_write_timeout(Some(state.write_timeout));
                let connection = http.serve_connection(TokioIo::new(Box::pin(io)), service);
                let watched = graceful.watch(connection);
                let state = Arc::clone(&state);
                let alive = alive.clone();
                tokio::spawn(async move {
                    if let Err(e) = watched.await {
                        if timed_out(&e) {
                            state.metrics.reject(Reason::SlowReader);
                            if state.draining.load(Ordering::Relaxed) {
                                // An answer cut off: not a clean drain.
                                state.cut_in_drain.fetch_add(1, Ordering::Relaxed);
                            }
                        } else if let Some(status) = refused_by_hyper(&e) {
                            state.metrics.count_status(status);
                            state.metrics.reject(Reason::BadRequest);
                        } else if e.is_parse_version_h2() {
                            // HTTP/2 with prior knowledge, which this
                            // HTTP/1.1 server does not speak: closed with
                            // no answer, counted all the same.
                            state.metrics.reject(Reason::BadRequest);
                        }
                        log::debug!("connection ended: {e}");
                    }
                    drop((alive, permit));
                });
            }
            () = &mut signal => break,
        }
    }
    drop(listener);
    drop(alive);
    state.draining.store(true, Ordering::Relaxed);
    eprintln!("impasto serve: draining (up to {} s)", grace.as_secs_f64());
    tokio::select! {
        () = async {
            graceful.shutdown().await;
            // The tasks note their cuts just after their connections end.
            while all_ended.recv().await.is_some() {}
        } => {
            let cut = state.cut_in_drain.load(Ordering::Relaxed);
            if cut > 0 {
                let (n, were) = if cut == 1 { ("answer", "was") } else { ("answers", "were") };
                eprintln!("impasto serve: stopped; {cut} {n} {were} cut off by --write-timeout while draining");
                Ok(ExitCode::from(1))
            } else {
                eprintln!("impasto serve: stopped");
                Ok(ExitCode::SUCCESS)
            }
        }
        () = tokio::time::sleep(grace) => {
            let running = state.requests_in_flight.load(Ordering::Relaxed);
            if running == 0 {
                eprintln!("impasto serve: stopped (connections still open were idle)");
                Ok(ExitCode::SUCCESS)
            } else {
                let n = if running == 1 { "request" } else { "requests" };
                eprintln!("impasto serve: grace period over with {running} {n} still being answered; stopping");
                Ok(ExitCode::from(1))
            }
        }
    }
}

/// Answers a connection past `--max-connections` with a 503 and closes
/// it. What the client sent is read (and dropped) for a moment after the
/// answer, so that closing with it unread does not reset the connection
/// before the client reads the answer; bounded in time, and in memory by
/// one small buffer.
async fn too_many(mut stream: tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const BODY: &str = r#"{"error":"too many connections open (--max-connections); retry","field":null,"layer":null,"location":null,"variable":null}"#;
    // Dated as hyper dates its answers (RFC 9110, 6.6.1: an origin server
    // with a clock sends Date).
    let date = httpdate::fmt_http_date(std::time::SystemTime::now());
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ndate: {date}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: 1\r\ncache-control: no-store\r\nconnection: close\r\n\r\n{BODY}",
        BODY.len()
    );
    let linger = async {
        if stream.write_all(answer.as_bytes()).await.is_err() {
            return;
        }
        let _ = stream.shutdown().await;
        let mut sink = [0u8; 1024];
        while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), linger).await;
}

/// The status hyper answered itself, before any handler, when a connection
/// ended on a request it could not parse: 400 (malformed request line or
/// header), 431 (headers over its limit) or 414 (URI too long); `None`
/// for errors it sends no answer for.
fn refused_by_hyper(e: &hyper::Error) -> Option<u16> {
    if !e.is_parse() || e.is_parse_version_h2() {
        return None;
    }
    if e.is_parse_too_large() {
        // hyper names the two kinds only in its message.
        return Some(if e.to_string().contains("URI") {
            414
        } else {
            431
        });
    }
    Some(400)
}

/// Whether a connection ended because a write timed out (its client
/// stopped reading for `--write-timeout`).
fn timed_out(e: &hyper::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return io.kind() == std::io::ErrorKind::TimedOut;
        }
        source = s.source();
    }
    false
}

/// The most bytes of an answer left unsent in a connection's socket
/// (`TCP_NOTSENT_LOWAT`, Linux). Without it the kernel, which grows a send
/// buffer to megabytes, reports the socket writable only once a third of
/// it is free, so a client reading steadily at 80 KB/s let no write
/// through for longer than `--write-timeout` and was cut off as if it had
/// stopped. With it a write goes through each time the client has taken
/// this much. (The client's kernel still takes data in bursts, when it
/// reopens its receive window, so slow steady readers need a timeout of
/// several seconds: docs/serve.md.)
const UNSENT_BYTES: u32 = 64 << 10;

#[cfg(any(target_os = "linux", target_os = "android"))]
fn limit_unsent(stream: &tokio::net::TcpStream) {
    if let Err(e) = socket2::SockRef::from(stream).set_tcp_notsent_lowat(UNSENT_BYTES) {
        log::debug!("TCP_NOTSENT_LOWAT: {e}");
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn limit_unsent(_stream: &tokio::net::TcpStream) {
    let _ = UNSENT_BYTES;
}
