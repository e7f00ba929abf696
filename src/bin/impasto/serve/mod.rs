//! `impasto serve`: an HTTP server that renders scenes and templates
//! (docs/serve.md). Requests are handled on a small tokio runtime; renders
//! run on blocking threads, at most `--workers` at a time, each holding its
//! estimated memory from `--memory-budget`.

mod admission;
mod error;
mod handlers;
mod listen;
mod memory;
mod metrics;
mod remote;
mod render;
mod signing;
mod url_ref;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use clap::Args;

use crate::numbers::whole;
use impasto::scene::quoted;
use impasto::{Error, Limits, Renderer};

use crate::{BackendArg, CompositorArg};
use admission::Admission;
use metrics::Metrics;
use remote::{AllowedHost, FetchLimits, Fetcher};
use signing::SigningKey;

/// `impasto serve` arguments.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port. The first line on
    /// standard output names the address bound.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Folder that image `src` paths are relative to (they may not leave it).
    #[arg(long, default_value = ".")]
    assets: PathBuf,
    /// Folder of templates, served as /templates/{name} and /t/{name}.{ext}
    /// from DIR/{name}.json. Without it there are no templates (404).
    #[arg(long, value_name = "DIR")]
    templates: Option<PathBuf>,
    /// Renders that run at once.
    #[arg(long, default_value_t = 2, value_parser = whole::<u16>(1..=u16::MAX))]
    workers: u16,
    /// Requests that may wait for a worker or memory; past that, 429.
    #[arg(long, default_value_t = 16, value_parser = whole::<u16>(0..=u16::MAX))]
    queue: u16,
    /// Bytes of memory that renders (each reserves its estimate), request
    /// bodies being read and parsed (with their JSON trees) and answers not
    /// yet written may hold together; a render or body needing more than
    /// this is refused (413). Also each render's own limit.
    #[arg(long, default_value_t = 1 << 30, value_name = "BYTES", value_parser = whole::<u64>(1..=admission::MAX_BUDGET))]
    memory_budget: u64,
    /// Most seconds a request may take, queue included (504 after). A
    /// request may lower it with the X-Impasto-Timeout-Ms header.
    #[arg(long, default_value = "30", value_name = "SECONDS", value_parser = crate::parse_timeout)]
    timeout: Duration,
    /// Largest request body in bytes (413 over it, from Content-Length
    /// before any of it is read when given).
    #[arg(long, default_value_t = 1 << 20, value_name = "BYTES", value_parser = crate::limit_args::at_least_one::<usize>)]
    max_body: usize,
    /// Connections open at once; one past it is answered 503 and closed
    /// (`too_many_connections`). Each may hold about 3 x --max-header-bytes
    /// while its headers arrive, outside --memory-budget.
    #[arg(long, default_value_t = 1024, value_parser = whole::<u32>(1..=u32::MAX))]
    max_connections: u32,
    /// Largest request head (request line and headers) in bytes, hyper's
    /// read buffer, which takes no less than 8 KiB: 431 over it (414 for a
    /// request line over 64 KiB).
    #[arg(long, default_value_t = 128 << 10, value_name = "BYTES", value_parser = whole::<usize>(8192..=16 << 20))]
    max_header_bytes: usize,
    /// Most seconds a client may take to send a request's headers, and
    /// then its body (the connection is closed, or 408).
    #[arg(long, default_value = "10", value_name = "SECONDS", value_parser = crate::parse_timeout)]
    read_timeout: Duration,
    /// Most seconds a client may leave its answer unread (no byte taken):
    /// the connection is then closed, and the answer's memory, held
    /// against --memory-budget until it is written, freed.
    #[arg(long, default_value = "10", value_name = "SECONDS", value_parser = crate::parse_timeout)]
    write_timeout: Duration,
    /// Seconds in-flight requests get to finish after SIGTERM or ctrl-c.
    #[arg(long, default_value = "25", value_name = "SECONDS", value_parser = crate::parse_timeout)]
    grace: Duration,
    /// /readyz fails while the memory reserved (renders, request bodies and
    /// their trees, unwritten answers) is over this fraction of
    /// --memory-budget.
    #[arg(long, default_value_t = 0.9)]
    ready_watermark: f64,
    /// `Cache-Control: public, max-age=N` on images and 304s (at most
    /// 2147483648, which caches take for any larger value, RFC 9111 1.2.2).
    #[arg(long, default_value_t = 3600, value_name = "SECONDS", value_parser = whole::<u64>(0..=MAX_AGE))]
    cache_max_age: u64,
    /// Which compositor renders.
    #[arg(long, value_enum, default_value_t = BackendArg::Cpu)]
    backend: BackendArg,
    /// How the GPU backend composites layers (no effect on the CPU).
    #[arg(long, value_enum, default_value_t = CompositorArg::Auto)]
    gpu_compositor: CompositorArg,
    /// A folder searched for fonts; may be given more than once.
    #[arg(long = "font-dir", value_name = "DIR")]
    font_dirs: Vec<PathBuf>,
    /// Use only the bundled fonts and --font-dir folders (output, and so
    /// ETags, that do not depend on the machine's fonts).
    #[arg(long)]
    no_system_fonts: bool,
    /// Require signed /t/ URLs: HMAC-SHA256 with this key over the path and
    /// query, as a last `sig` parameter (docs/serve.md). Also read from the
    /// environment variable IMPASTO_SIGNING_KEY.
    #[arg(long, value_name = "KEY", conflicts_with = "signing_key_file")]
    signing_key: Option<String>,
    /// Like --signing-key, the key read from a file (one trailing newline
    /// dropped), so that it is not in the process list.
    #[arg(long, value_name = "FILE")]
    signing_key_file: Option<PathBuf>,
    /// With a signing key: every /t/ URL must carry `expires`, at most this
    /// many seconds ahead (403 otherwise), so that no signed URL is valid
    /// for ever (`impasto sign --expires-in`).
    #[arg(long, value_name = "SECONDS", value_parser = whole::<u64>(1..=u64::MAX))]
    max_url_lifetime: Option<u64>,
    /// Allow image layers whose `src` is an http:// or https:// URL on this
    /// host: HOST (the scheme's default port), HOST:PORT, or *.DOMAIN; may
    /// be given more than once. Without it, no remote fetches.
    #[arg(long = "allow-host", value_name = "HOST[:PORT]")]
    allow_hosts: Vec<AllowedHost>,
    /// Most seconds to connect to a remote image's host.
    #[arg(long, default_value = "5", value_name = "SECONDS", value_parser = crate::parse_timeout)]
    fetch_connect_timeout: Duration,
    /// Most seconds a remote image's host may stay silent (between reads);
    /// the request's deadline bounds the whole fetch.
    #[arg(long, default_value = "5", value_name = "SECONDS", value_parser = crate::parse_timeout)]
    fetch_read_timeout: Duration,
    #[command(flatten)]
    limits: crate::limit_args::LimitArgs,
    /// How far a JPEG drawn smaller than its size is shrunk in the DCT as
    /// it is decoded: `fast` keeps 1.25 times the pixels it is drawn
    /// with, `fine` twice them (closer to the full decode), `off` full size.
    #[arg(long, value_enum, default_value_t = crate::oneoff::ShrinkArg::Fast)]
    shrink_on_load: crate::oneoff::ShrinkArg,
    #[command(flatten)]
    caches: crate::caches::CacheArgs,
}

/// The largest `max-age` sent: RFC 9111 (1.2.2) has caches take any
/// larger delta-seconds as 2^31.
pub const MAX_AGE: u64 = 1 << 31;

/// What every request shares.
#[derive(Debug)]
pub struct AppState {
    renderer: Renderer,
    admission: Admission,
    metrics: Arc<Metrics>,
    asset_root: PathBuf,
    templates: Option<PathBuf>,
    timeout: Duration,
    max_body: usize,
    /// `--max-connections`: a permit a connection, held until it ends.
    connections: Arc<tokio::sync::Semaphore>,
    max_connections: usize,
    /// `--max-header-bytes`: hyper's read buffer.
    max_header_bytes: usize,
    /// `--read-timeout`: headers (hyper) and body (the handlers).
    read_timeout: Duration,
    /// `--write-timeout`: a write to the client making no progress.
    write_timeout: Duration,
    /// Requests between their headers and their answer (`handlers::count`).
    requests_in_flight: AtomicUsize,
    /// `--workers + --queue`: remote fetches running at once, each held
    /// until its blocking fetch ends (`render::fetch`).
    fetch_permits: Arc<tokio::sync::Semaphore>,
    cache_max_age: u64,
    ready_watermark: f64,
    draining: AtomicBool,
    /// Answers `--write-timeout` cut off once draining began (exit 1).
    cut_in_drain: AtomicUsize,
    /// `--signing-key`: when set, `/t/` URLs must be signed.
    signing_key: Option<SigningKey>,
    /// `--max-url-lifetime`: when set, `/t/` URLs must expire within it.
    max_url_lifetime: Option<u64>,
    /// Remote images (`--allow-host`).
    fetcher: Fetcher,
}

/// `--signing-key`, `--signing-key-file`, else `IMPASTO_SIGNING_KEY`.
fn signing_key(text: Option<&String>, file: Option<&PathBuf>) -> Result<Option<SigningKey>, Error> {
    let key = match (text, file) {
        (Some(text), _) => SigningKey::new(text),
        (None, Some(path)) => SigningKey::from_file(path),
        (None, None) => match std::env::var(signing::KEY_ENV) {
            Ok(text) => SigningKey::new(&text),
            Err(std::env::VarError::NotPresent) => return Ok(None),
            Err(e) => Err(format!("{}: {e}", signing::KEY_ENV)),
        },
    };
    key.map(Some).map_err(Error::Options)
}

/// `impasto sign` arguments.
#[derive(Args, Debug)]
pub struct SignArgs {
    /// The request target to sign: path and query exactly as they will be
    /// sent, e.g. '/t/card.png?title=Hello%20world'.
    target: String,
    /// The server's key (as `impasto serve --signing-key`); also read from
    /// the environment variable IMPASTO_SIGNING_KEY.
    #[arg(long, value_name = "KEY", conflicts_with = "signing_key_file")]
    signing_key: Option<String>,
    /// The key read from a file (one trailing newline dropped).
    #[arg(long, value_name = "FILE")]
    signing_key_file: Option<PathBuf>,
    /// Make the URL expire this many seconds from now: appends
    /// `expires=<Unix seconds>` to the query before signing; the server
    /// answers 403 after that time.
    #[arg(long, value_name = "SECONDS", value_parser = whole::<u64>(1..=10_000_000_000))]
    expires_in: Option<u64>,
}

/// `impasto sign`: prints the target with its `sig` parameter appended, the
/// URL path a server started with the same key accepts.
pub fn sign(args: SignArgs) -> Result<ExitCode, Error> {
    let key = signing_key(args.signing_key.as_ref(), args.signing_key_file.as_ref())?.ok_or_else(
        || {
            Error::Options(format!(
                "no signing key: give --signing-key, --signing-key-file or {}",
                signing::KEY_ENV
            ))
        },
    )?;
    if signing::has_param(&args.target, signing::SIG_PARAM) || args.target.contains('#') {
        return Err(Error::Options(format!(
            "the target to sign may not hold a {} parameter or a '#' fragment (got {})",
            quoted(signing::SIG_PARAM),
            quoted(&args.target)
        )));
    }
    // A request line carries neither controls nor spaces: such a target
    // could not be sent as it is signed.
    // Nor a character that would not show (a bidi override, a zero-width
    // space): percent-encoded, it shows in what is printed.
    if args
        .target
        .chars()
        .any(|c| c.is_whitespace() || impasto::scene::is_unseen(c))
    {
        return Err(Error::Options(format!(
            "the target to sign holds a control character, a space or a character that would not show, which a request cannot carry: percent-encode it (a space is %20) (got {})",
            quoted(&args.target)
        )));
    }
    // Sent as signed or not at all: a character outside ASCII is sent
    // percent-encoded by clients (the signature would not match), and a
    // `.` or `..` segment is taken out by them (another path).
    let path = args.target.split(['?', '#']).next().unwrap_or("");
    if !args.target.is_ascii() || path.split('/').any(|seg| seg == "." || seg == "..") {
        return Err(Error::Options(format!(
            "the target to sign holds a character outside ASCII or a '.' or '..' path segment, which clients rewrite before sending: percent-encode the characters (é is %C3%A9), name the template directly (got {})",
            quoted(&args.target)
        )));
    }
    // Only `GET /t/` checks a signature: any other signed path is
    // answered as unsigned, its signature of no use.
    if !args.target.starts_with("/t/") {
        return Err(Error::Options(format!(
            "the target to sign must be a template URL's path, /t/NAME.EXT with its query: the server checks signatures there only (got {})",
            quoted(&args.target)
        )));
    }
    let now = signing::unix_now();
    let target = match args.expires_in {
        Some(secs) => signing::with_expiry(&args.target, now + secs).map_err(Error::Options)?,
        None => args.target,
    };
    // What the server would refuse is not signed (a 400 or 403 for every
    // use): a query that does not decode, a parameter given twice, a
    // quality or expiry it does not read, an expiry past, no format's
    // extension.
    handlers::check_target(&target, now).map_err(|m| {
        Error::Options(format!(
            "{m}; the server would refuse it (got {})",
            quoted(&target)
        ))
    })?;
    crate::print_out(&format!("{}\n", key.signed_url(&target)))?;
    Ok(ExitCode::SUCCESS)
}

fn state(args: &ServeArgs) -> Result<AppState, Error> {
    if !(args.ready_watermark > 0.0 && args.ready_watermark <= 1.0) {
        return Err(Error::Options("--ready-watermark must be in (0, 1]".into()));
    }
    crate::oneoff::check_folder("--assets", &args.assets)?;
    if let Some(dir) = &args.templates {
        crate::oneoff::check_folder("--templates", dir)?;
    }
    // Remote images are fetched whole into memory: a smaller file bound.
    let limits = args.limits.apply(Limits {
        max_render_bytes: args.memory_budget,
        max_image_file_bytes: 64 << 20,
        ..Limits::default()
    });
    let mut renderer = args.caches.apply(
        Renderer::new(args.backend.into())?
            .with_gpu_compositor(args.gpu_compositor.into())
            .with_limits(limits)
            .with_asset_root(&args.assets)
            .with_system_fonts(!args.no_system_fonts)
            .with_shrink_on_load_mode(args.shrink_on_load.into()),
    );
    for dir in &args.font_dirs {
        crate::oneoff::check_folder("--font-dir", dir)?;
        renderer = renderer.with_font_dir(dir);
    }
    let metrics = Arc::new(Metrics::default());
    let workers = usize::from(args.workers);
    let queue = usize::from(args.queue);
    let fetch_limits = FetchLimits {
        connect: args.fetch_connect_timeout,
        read: args.fetch_read_timeout,
        max_bytes: limits.max_image_file_bytes,
        max_pixels: limits.max_image_pixels,
        max_render_bytes: limits.max_render_bytes,
    };
    let fetcher = Fetcher::new(args.allow_hosts.clone(), fetch_limits, Arc::clone(&metrics));
    let signing_key = signing_key(args.signing_key.as_ref(), args.signing_key_file.as_ref())?;
    if args.max_url_lifetime.is_some() && signing_key.is_none() {
        // Without a signature anyone could drop or move `expires`.
        return Err(Error::Options(format!(
            "--max-url-lifetime needs a signing key (--signing-key, --signing-key-file or {})",
            signing::KEY_ENV
        )));
    }
    Ok(AppState {
        renderer,
        admission: Admission::new(workers, queue, args.memory_budget, Arc::clone(&metrics)),
        metrics,
        asset_root: args.assets.clone(),
        templates: args.templates.clone(),
        timeout: args.timeout,
        max_body: args.max_body,
        connections: Arc::new(tokio::sync::Semaphore::new(args.max_connections as usize)),
        max_connections: args.max_connections as usize,
        max_header_bytes: args.max_header_bytes,
        read_timeout: args.read_timeout,
        write_timeout: args.write_timeout,
        requests_in_flight: AtomicUsize::new(0),
        fetch_permits: Arc::new(tokio::sync::Semaphore::new(workers + queue)),
        cache_max_age: args.cache_max_age,
        ready_watermark: args.ready_watermark,
        draining: AtomicBool::new(false),
        cut_in_drain: AtomicUsize::new(0),
        signing_key,
        max_url_lifetime: args.max_url_lifetime,
        fetcher,
    })
}

fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/render", post(handlers::render))
        .route("/templates/{name}", post(handlers::post_template))
        .route("/t/{file}", get(handlers::get_template))
        .route("/healthz", get(handlers::healthz))
        .route("/readyz", get(handlers::readyz))
        .route("/metrics", get(handlers::metrics))
        .layer(DefaultBodyLimit::max(state.max_body))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            handlers::count,
        ))
        .with_state(state)
}

/// Runs the server until SIGTERM or ctrl-c, then drains: exit 0 when every
/// in-flight request finished within `--grace`, 1 when some were cut off.
pub fn run(args: ServeArgs) -> Result<ExitCode, Error> {
    let state = Arc::new(state(&args)?);
    let blocking = usize::from(args.workers) + usize::from(args.queue) + 16;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(blocking)
        .enable_all()
        .build()
        .map_err(|e| Error::Options(format!("starting the async runtime: {e}")))?;
    let code = runtime.block_on(listen::serve(args.listen, args.grace, state))?;
    // Renders whose clients went away were cancelled; give them a moment.
    runtime.shutdown_timeout(Duration::from_secs(5));
    Ok(code)
}

/// SIGTERM or ctrl-c (SIGINT); or any other signal whose default would end
/// the process at once, cutting every request off (SIGHUP from a closed
/// terminal, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGXCPU, SIGXFSZ,
/// SIGVTALRM, SIGPROF: `ENDING_SIGNALS`), unless the process was started
/// ignoring it (`nohup`'s SIGHUP, a background job's SIGINT stay ignored). The handlers are
/// installed now, in the runtime, before the address is printed: a signal
/// sent as soon as the server says it listens is caught, not fatal.
pub(super) fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<()>(1);
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let ignored = crate::ignored_signals();
        for kind in crate::ENDING_SIGNALS {
            // Not one the process was started ignoring (a shell's
            // background job ignores SIGINT; `nohup`, SIGHUP).
            if ignored(kind) {
                continue;
            }
            match signal(SignalKind::from_raw(kind)) {
                Ok(mut stream) => {
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        stream.recv().await;
                        let _ = tx.send(()).await;
                    });
                }
                Err(e) => log::warn!("cannot catch signal {kind}: {e}"),
            }
        }
    }
    #[cfg(not(unix))]
    {
        let tx = tx.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                let _ = tx.send(()).await;
            }
        });
    }
    drop(tx);
    async move {
        // None: no handler could be installed; never.
        if rx.recv().await.is_none() {
            std::future::pending::<()>().await;
        }
    }
}

impl AppState {
    /// Connections open now, and `--max-connections`.
    fn connections_open(&self) -> (usize, usize) {
        let free = self.connections.available_permits();
        (
            self.max_connections.saturating_sub(free),
            self.max_connections,
        )
    }
}
