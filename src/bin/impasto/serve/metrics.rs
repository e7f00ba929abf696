//! The server's figures, written by hand in the Prometheus text format
//! (version 0.0.4): atomics and one small map, no metrics crate.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use impasto::{BreakerState, BreakerStats, Renderer};

/// Why a request was refused or did not get its image; every reason is
/// always printed (0 until it happens), so dashboards see the series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The wait queue was full (429).
    QueueFull,
    /// The render could never fit the memory budget (413).
    OverMemoryBudget,
    /// The request body was over `--max-body` (413).
    BodyTooLarge,
    /// The scene, template or values were invalid (400).
    BadInput,
    /// The request itself was unusable: format, quality, header (400).
    BadRequest,
    /// No such template or endpoint (404).
    NotFound,
    /// A method the endpoint does not answer (405).
    MethodNotAllowed,
    /// The body did not arrive within `--read-timeout` (408).
    SlowBody,
    /// A `/t/` URL unsigned or with a wrong signature (403).
    BadSignature,
    /// A `/t/` URL past its `expires` time (403).
    UrlExpired,
    /// A remote image was refused: host not allowed, too large, not an
    /// image (400).
    FetchRefused,
    /// A remote image's host failed: timeout, connection, status (502).
    FetchFailed,
    /// The deadline passed (504).
    Timeout,
    /// The client went away before the answer; the render was cancelled.
    ClientGone,
    /// The client stopped reading its answer for `--write-timeout`: the
    /// connection was closed mid-answer (its status was counted already).
    SlowReader,
    /// The server is shutting down (503).
    Draining,
    /// A connection past `--max-connections` (503, then closed).
    TooManyConnections,
    /// A failure of the server or the renderer (500).
    Internal,
}

impl Reason {
    const ALL: [Reason; 18] = [
        Reason::QueueFull,
        Reason::OverMemoryBudget,
        Reason::BodyTooLarge,
        Reason::BadInput,
        Reason::BadRequest,
        Reason::NotFound,
        Reason::MethodNotAllowed,
        Reason::SlowBody,
        Reason::BadSignature,
        Reason::UrlExpired,
        Reason::FetchRefused,
        Reason::FetchFailed,
        Reason::Timeout,
        Reason::ClientGone,
        Reason::SlowReader,
        Reason::Draining,
        Reason::TooManyConnections,
        Reason::Internal,
    ];

    /// The `reason` label.
    pub fn name(self) -> &'static str {
        match self {
            Reason::QueueFull => "queue_full",
            Reason::OverMemoryBudget => "over_memory_budget",
            Reason::BodyTooLarge => "body_too_large",
            Reason::BadInput => "bad_input",
            Reason::BadRequest => "bad_request",
            Reason::NotFound => "not_found",
            Reason::MethodNotAllowed => "method_not_allowed",
            Reason::SlowBody => "slow_body",
            Reason::BadSignature => "bad_signature",
            Reason::UrlExpired => "url_expired",
            Reason::FetchRefused => "fetch_refused",
            Reason::FetchFailed => "fetch_failed",
            Reason::Timeout => "timeout",
            Reason::ClientGone => "client_gone",
            Reason::SlowReader => "slow_reader",
            Reason::Draining => "draining",
            Reason::TooManyConnections => "too_many_connections",
            Reason::Internal => "internal",
        }
    }
}

/// Upper bounds (seconds) of the render latency histogram's buckets.
const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Every figure the server keeps.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Answers by HTTP status.
    statuses: Mutex<BTreeMap<u16, u64>>,
    rejections: [AtomicU64; Reason::ALL.len()],
    /// Admitted requests waiting for a worker or for memory.
    pub queued: AtomicI64,
    /// Renders running on a worker.
    pub in_flight: AtomicI64,
    /// Bytes reserved from the memory budget by admitted renders, answers
    /// not yet written and bodies being parsed.
    pub reserved_bytes: AtomicI64,
    /// 304 answers (no render).
    pub not_modified: AtomicU64,
    /// Remote images fetched.
    pub fetches_ok: AtomicU64,
    /// Remote images refused (host, size, not an image).
    pub fetches_refused: AtomicU64,
    /// Remote images whose host failed (timeout, connection, status).
    pub fetches_failed: AtomicU64,
    /// Bytes of remote image bodies received whole, refused ones included.
    pub fetched_bytes: AtomicU64,
    render_buckets: [AtomicU64; BUCKETS.len()],
    render_count: AtomicU64,
    render_micros: AtomicU64,
}

impl Metrics {
    /// Counts one answer with `status`.
    pub fn count_status(&self, status: u16) {
        // A poisoned lock only means another thread panicked mid-insert;
        // the map is still a valid map.
        let mut map = self.statuses.lock().unwrap_or_else(|p| p.into_inner());
        *map.entry(status).or_insert(0) += 1;
    }

    /// Counts `bytes` more reserved from the memory budget.
    pub fn reserve(&self, bytes: u64) {
        let bytes = i64::try_from(bytes).unwrap_or(i64::MAX);
        self.reserved_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Counts `bytes` of the memory budget given back.
    pub fn release(&self, bytes: u64) {
        let bytes = i64::try_from(bytes).unwrap_or(i64::MAX);
        self.reserved_bytes.fetch_sub(bytes, Ordering::Relaxed);
    }

    /// Counts one refusal.
    pub fn reject(&self, reason: Reason) {
        let i = Reason::ALL.iter().position(|r| *r == reason).unwrap_or(0);
        self.rejections[i].fetch_add(1, Ordering::Relaxed);
    }

    /// Records how long one render (render + encode, on a worker) took.
    pub fn observe_render(&self, took: Duration) {
        let secs = took.as_secs_f64();
        for (bound, bucket) in BUCKETS.iter().zip(&self.render_buckets) {
            if secs <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.render_count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.render_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// The Prometheus text exposition of every figure.
    /// `connections`: open now, and `--max-connections`.
    pub fn render_text(
        &self,
        renderer: &Renderer,
        budget: u64,
        ready: bool,
        connections: (usize, usize),
    ) -> String {
        let mut out = String::with_capacity(8192);
        self.statuses_text(&mut out);
        self.rejections_text(&mut out);
        write_figures(
            &mut out,
            self.server_figures(budget, ready, connections)
                .into_iter()
                .chain(cache_figures(renderer))
                .chain(placed_figures(renderer))
                .chain(weights_figures(impasto::weights_cache_stats())),
        );
        self.fetches_text(&mut out);
        gpu_pool_text(&mut out, renderer);
        gpu_placed_text(&mut out, renderer.gpu_placed_cache_stats());
        gpu_glyph_text(&mut out, renderer.gpu_glyph_atlas_stats());
        gpu_breaker_text(&mut out, renderer.gpu_breaker());
        // Any GPU renderer replaces a lost device, breaker or not.
        if renderer.gpu_pool_stats().is_some() {
            recoveries_text(&mut out, renderer.gpu_recoveries());
        }
        self.histogram_text(&mut out);
        out
    }

    fn statuses_text(&self, out: &mut String) {
        let name = "impasto_http_requests_total";
        head(out, name, "counter", "HTTP answers by status code.");
        let statuses = self
            .statuses
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        for (status, n) in statuses {
            let _ = writeln!(out, "{name}{{status=\"{status}\"}} {n}");
        }
    }

    fn rejections_text(&self, out: &mut String) {
        let name = "impasto_rejections_total";
        let help = "Requests refused or not rendered, by reason.";
        head(out, name, "counter", help);
        for (reason, n) in Reason::ALL.iter().zip(&self.rejections) {
            let n = n.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}{{reason=\"{}\"}} {n}", reason.name());
        }
    }

    fn fetches_text(&self, out: &mut String) {
        let name = "impasto_remote_fetches_total";
        let help = "Remote images (--allow-host) by result: ok, refused (400, or 413 over --memory-budget), failed (502).";
        head(out, name, "counter", help);
        for (result, n) in [
            ("ok", &self.fetches_ok),
            ("refused", &self.fetches_refused),
            ("failed", &self.fetches_failed),
        ] {
            let n = n.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}{{result=\"{result}\"}} {n}");
        }
        let name = "impasto_remote_fetched_bytes_total";
        head(
            out,
            name,
            "counter",
            "Bytes of remote image bodies received whole.",
        );
        let _ = writeln!(out, "{name} {}", self.fetched_bytes.load(Ordering::Relaxed));
    }

    /// The server's own unlabelled figures.
    fn server_figures(&self, budget: u64, ready: bool, connections: (usize, usize)) -> [Figure; 9] {
        let load = |a: &AtomicI64| a.load(Ordering::Relaxed).to_string();
        [
            (
                "impasto_not_modified_total",
                "counter",
                "304 answers given without rendering.",
                self.not_modified.load(Ordering::Relaxed).to_string(),
            ),
            (
                "impasto_queue_depth",
                "gauge",
                "Admitted requests waiting for a worker or memory.",
                load(&self.queued),
            ),
            (
                "impasto_renders_in_flight",
                "gauge",
                "Renders running on a worker.",
                load(&self.in_flight),
            ),
            (
                "impasto_reserved_render_bytes",
                "gauge",
                "Bytes reserved from the memory budget: renders, answers not yet written, bodies being parsed.",
                load(&self.reserved_bytes),
            ),
            (
                "impasto_memory_budget_bytes",
                "gauge",
                "The memory budget (--memory-budget).",
                budget.to_string(),
            ),
            (
                "impasto_encodes_abandoned_running",
                "gauge",
                "AVIF encodes given up on at their deadline or cancellation, still running (they keep their reservation and worker until they end).",
                impasto::codec::abandoned_encodes_running().to_string(),
            ),
            (
                "impasto_ready",
                "gauge",
                "1 when /readyz answers 200.",
                u64::from(ready).to_string(),
            ),
            (
                "impasto_connections_open",
                "gauge",
                "Client connections open (each may hold about 3 x --max-header-bytes while its headers arrive).",
                connections.0.to_string(),
            ),
            (
                "impasto_connections_max",
                "gauge",
                "The most client connections open at once (--max-connections); one past it is answered 503 and closed.",
                connections.1.to_string(),
            ),
        ]
    }

    fn histogram_text(&self, out: &mut String) {
        let name = "impasto_render_seconds";
        head(
            out,
            name,
            "histogram",
            "Time a worker spent rendering and encoding one image.",
        );
        for (bound, bucket) in BUCKETS.iter().zip(&self.render_buckets) {
            let n = bucket.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {n}");
        }
        let count = self.render_count.load(Ordering::Relaxed);
        let sum = self.render_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "{name}_sum {sum}");
        let _ = writeln!(out, "{name}_count {count}");
    }
}

mod caches;

use caches::{
    cache_figures, gpu_glyph_text, gpu_placed_text, gpu_pool_text, placed_figures, weights_figures,
};

/// One unlabelled series: name, type, help, value.
type Figure = (&'static str, &'static str, &'static str, String);

/// The `Backend::Auto` circuit breaker, when the renderer has one (a GPU
/// under `--backend auto`). The state is one gauge per state name, 1 for
/// the current one, as Prometheus enums are.
fn gpu_breaker_text(out: &mut String, breaker: Option<BreakerStats>) {
    let Some(b) = breaker else {
        return;
    };
    let name = "impasto_gpu_breaker_state";
    head(
        out,
        name,
        "gauge",
        "The GPU circuit breaker's state (1 for the current one).",
    );
    for (label, state) in [
        ("closed", BreakerState::Closed),
        ("open", BreakerState::Open),
        ("half_open", BreakerState::HalfOpen),
    ] {
        let _ = writeln!(
            out,
            "{name}{{state=\"{label}\"}} {}",
            u8::from(b.state == state)
        );
    }
    for (name, help, value) in [
        (
            "impasto_gpu_breaker_trips_total",
            "Times the GPU circuit breaker opened.",
            b.trips,
        ),
        (
            "impasto_gpu_breaker_cpu_renders_total",
            "Renders the open breaker sent to the CPU backend.",
            b.cpu_renders,
        ),
        (
            "impasto_gpu_failures_total",
            "GPU failures counted by the breaker (loss, out of memory, timeouts).",
            b.gpu_failures,
        ),
    ] {
        head(out, name, "counter", help);
        let _ = writeln!(out, "{name} {value}");
    }
}

/// Lost GPU devices replaced, on any GPU renderer.
fn recoveries_text(out: &mut String, recoveries: u64) {
    let name = "impasto_gpu_device_recoveries_total";
    head(
        out,
        name,
        "counter",
        "Lost GPU devices replaced by a new one.",
    );
    let _ = writeln!(out, "{name} {recoveries}");
}

/// Writes each unlabelled series: its HELP and TYPE lines, then its value.
fn write_figures(out: &mut String, figures: impl IntoIterator<Item = Figure>) {
    for (name, kind, help, value) in figures {
        head(out, name, kind, help);
        let _ = writeln!(out, "{name} {value}");
    }
}

fn head(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(state: BreakerState) -> BreakerStats {
        BreakerStats {
            state,
            consecutive_failures: 3,
            trips: 2,
            cpu_renders: 17,
            gpu_failures: 6,
            last_failure: Some("device lost".into()),
            cool_down_left: None,
            config: impasto::BreakerConfig::default(),
        }
    }

    #[test]
    fn breaker_series_mark_only_the_current_state_and_carry_the_counts() {
        let mut out = String::new();
        gpu_breaker_text(&mut out, Some(stats(BreakerState::HalfOpen)));
        recoveries_text(&mut out, 1);
        assert!(out.contains("impasto_gpu_breaker_state{state=\"closed\"} 0\n"));
        assert!(out.contains("impasto_gpu_breaker_state{state=\"open\"} 0\n"));
        assert!(out.contains("impasto_gpu_breaker_state{state=\"half_open\"} 1\n"));
        assert!(out.contains("impasto_gpu_breaker_trips_total 2\n"));
        assert!(out.contains("impasto_gpu_breaker_cpu_renders_total 17\n"));
        assert!(out.contains("impasto_gpu_failures_total 6\n"));
        assert!(out.contains("impasto_gpu_device_recoveries_total 1\n"));
    }

    #[test]
    fn no_breaker_series_without_a_gpu() {
        let mut out = String::new();
        gpu_breaker_text(&mut out, None);
        assert!(out.is_empty());
    }
}
