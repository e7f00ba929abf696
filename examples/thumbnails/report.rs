//! What the user sees: a progress bar with rate and ETA on a terminal,
//! plain lines otherwise; every failure with its path; a summary line.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressState, ProgressStyle};

/// Counts and prints results; shared by the workers.
pub struct Reporter {
    /// `Some` on a terminal: the bar, drawn on stderr.
    bar: Option<ProgressBar>,
    /// Where plain lines and the summary go.
    out: Mutex<Box<dyn Write + Send>>,
    started: Instant,
    written: AtomicU64,
    failed: AtomicU64,
    unsupported: AtomicU64,
}

/// The figures of a finished run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub written: u64,
    pub failed: u64,
    pub unsupported: u64,
    pub elapsed: Duration,
}

impl Summary {
    /// Every file looked at.
    pub fn files(&self) -> u64 {
        self.written + self.failed + self.unsupported
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self.elapsed.as_secs_f64();
        let rate = if secs > 0.0 {
            self.written as f64 / secs
        } else {
            0.0
        };
        write!(
            f,
            "thumbnails: {} files, {} written, {} failed, {} unsupported, {secs:.2} s, {rate:.1} images/s",
            self.files(),
            self.written,
            self.failed,
            self.unsupported
        )
    }
}

impl Reporter {
    /// Plain lines to `out`, or (`terminal`) a progress bar on stderr with
    /// the failures above it; the summary goes to `out` either way.
    pub fn new(out: Box<dyn Write + Send>, terminal: bool) -> Reporter {
        let bar = terminal.then(|| {
            let bar = ProgressBar::new(0);
            let style = ProgressStyle::with_template(
                "{elapsed_precise} [{bar:30}] {pos}/{len} {rate} images/s, ETA {eta}",
            )
            .map(|s| {
                s.progress_chars("=> ").with_key(
                    "rate",
                    |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = write!(w, "{:.1}", state.per_sec());
                    },
                )
            });
            // The template is fixed; a bad one would only lose the style.
            if let Ok(style) = style {
                bar.set_style(style);
            }
            bar
        });
        Reporter {
            bar,
            out: Mutex::new(out),
            started: Instant::now(),
            written: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            unsupported: AtomicU64::new(0),
        }
    }

    /// Whether a progress bar is drawn (it wants the number of files).
    pub fn has_bar(&self) -> bool {
        self.bar.is_some()
    }

    /// One more file to do (the bar's length; a count runs ahead of the work).
    pub fn add_to_do(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.inc_length(n);
        }
    }

    /// A thumbnail written.
    pub fn written(&self, input: &Path, output: &Path, size: (u32, u32)) {
        self.written.fetch_add(1, Ordering::Relaxed);
        match &self.bar {
            Some(bar) => bar.inc(1),
            None => self.line(&format!(
                "{} -> {} ({}x{})",
                impasto::scene::shown_path(input),
                impasto::scene::shown_path(output),
                size.0,
                size.1
            )),
        }
    }

    /// A file that failed, and why.
    pub fn failed(&self, path: &Path, why: &str) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        self.problem(&format!(
            "error: {}: {why}",
            impasto::scene::shown_path(path)
        ));
    }

    /// A file in a format that is not supported.
    pub fn unsupported(&self, path: &Path, why: &str) {
        self.unsupported.fetch_add(1, Ordering::Relaxed);
        self.problem(&format!("{}: {why}", impasto::scene::shown_path(path)));
    }

    fn problem(&self, line: &str) {
        match &self.bar {
            Some(bar) => {
                bar.println(line);
                bar.inc(1);
            }
            None => self.line(line),
        }
    }

    fn line(&self, line: &str) {
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        // A closed stderr is no reason to stop rendering.
        let _ = writeln!(out, "{line}");
    }

    /// Clears the bar and prints the summary line.
    pub fn finish(&self) -> Summary {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        let summary = Summary {
            written: self.written.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            unsupported: self.unsupported.load(Ordering::Relaxed),
            elapsed: self.started.elapsed(),
        };
        self.line(&summary.to_string());
        summary
    }
}
