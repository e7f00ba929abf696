//! The server's figures, written by hand in the Prometheus text format
//! (version 0.0.4): atomics and one small map, no metrics crate.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use impasto::Renderer;

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
    /// No such template (404).
    NotFound,
    /// The deadline passed (504).
    Timeout,
    /// The client went away before the answer; the render was cancelled.
    ClientGone,
    /// The server is shutting down (503).
    Draining,
    /// A failure of the server or the renderer (500).
    Internal,
}

impl Reason {
    const ALL: [Reason; 10] = [
        Reason::QueueFull,
        Reason::OverMemoryBudget,
        Reason::BodyTooLarge,
        Reason::BadInput,
        Reason::BadRequest,
        Reason::NotFound,
        Reason::Timeout,
        Reason::ClientGone,
        Reason::Draining,
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
            Reason::Timeout => "timeout",
            Reason::ClientGone => "client_gone",
            Reason::Draining => "draining",
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
    /// Bytes reserved from the memory budget by admitted renders.
    pub reserved_bytes: AtomicI64,
    /// 304 answers (no render).
    pub not_modified: AtomicU64,
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
    pub fn render_text(&self, renderer: &Renderer, budget: u64, ready: bool) -> String {
        let mut out = String::with_capacity(4096);
        let statuses = self
            .statuses
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        head(
            &mut out,
            "impasto_http_requests_total",
            "counter",
            "HTTP answers by status code.",
        );
        for (status, n) in statuses {
            let _ = writeln!(
                out,
                "impasto_http_requests_total{{status=\"{status}\"}} {n}"
            );
        }
        head(
            &mut out,
            "impasto_rejections_total",
            "counter",
            "Requests refused or not rendered, by reason.",
        );
        for (reason, n) in Reason::ALL.iter().zip(&self.rejections) {
            let n = n.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "impasto_rejections_total{{reason=\"{}\"}} {n}",
                reason.name()
            );
        }
        let load = |a: &AtomicI64| a.load(Ordering::Relaxed);
        let cache = renderer.asset_cache_stats();
        let (glyphs, glyph_bytes) = renderer.glyph_cache();
        let ready = u64::from(ready);
        let single: [(&str, &str, &str, String); 14] = [
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
                load(&self.queued).to_string(),
            ),
            (
                "impasto_renders_in_flight",
                "gauge",
                "Renders running on a worker.",
                load(&self.in_flight).to_string(),
            ),
            (
                "impasto_reserved_render_bytes",
                "gauge",
                "Bytes reserved from the memory budget.",
                load(&self.reserved_bytes).to_string(),
            ),
            (
                "impasto_memory_budget_bytes",
                "gauge",
                "The memory budget (--memory-budget).",
                budget.to_string(),
            ),
            (
                "impasto_ready",
                "gauge",
                "1 when /readyz answers 200.",
                ready.to_string(),
            ),
            (
                "impasto_asset_cache_hits_total",
                "counter",
                "Decoded-image cache hits.",
                cache.hits.to_string(),
            ),
            (
                "impasto_asset_cache_misses_total",
                "counter",
                "Decoded-image cache misses (files decoded).",
                cache.misses.to_string(),
            ),
            (
                "impasto_asset_cache_evictions_total",
                "counter",
                "Images dropped from the decoded-image cache.",
                cache.evictions.to_string(),
            ),
            (
                "impasto_asset_cache_bytes",
                "gauge",
                "Bytes held by the decoded-image cache.",
                cache.bytes.to_string(),
            ),
            (
                "impasto_asset_cache_images",
                "gauge",
                "Images held by the decoded-image cache.",
                cache.images.to_string(),
            ),
            (
                "impasto_asset_cache_budget_bytes",
                "gauge",
                "The decoded-image cache's budget.",
                cache.budget.to_string(),
            ),
            (
                "impasto_glyph_cache_glyphs",
                "gauge",
                "Glyph images held by the glyph cache.",
                glyphs.to_string(),
            ),
            (
                "impasto_glyph_cache_bytes",
                "gauge",
                "Bytes held by the glyph cache.",
                glyph_bytes.to_string(),
            ),
        ];
        for (name, kind, help, value) in single {
            head(&mut out, name, kind, help);
            let _ = writeln!(out, "{name} {value}");
        }
        self.histogram_text(&mut out);
        out
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

fn head(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}
