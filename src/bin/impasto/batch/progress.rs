//! Progress on stderr: a bar on a terminal, a plain line every few seconds
//! otherwise, and a summary line at the end.

use std::io::IsTerminal;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How many failures are printed one per line before the rest go to the
/// manifest only.
const FAILURES_SHOWN: u64 = 20;
/// How often a plain progress line is printed.
const LINE_EVERY: Duration = Duration::from_secs(5);

/// The counts so far.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    /// Rows finished (any status).
    pub rows: u64,
    /// Images written.
    pub written: u64,
    /// Rows skipped (`--skip-existing`).
    pub skipped: u64,
    /// Rows failed.
    pub failed: u64,
    /// Rows written with warnings (in the manifest).
    pub warned: u64,
}

/// The counts of the batch running in this process and when it started,
/// for the line printed when a signal ends it ([`interrupted_line`]).
static RUNNING: Mutex<Option<(Counts, Instant)>> = Mutex::new(None);

fn running() -> MutexGuard<'static, Option<(Counts, Instant)>> {
    // Plain data: consistent whatever a panicking holder left.
    RUNNING.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `1 row`, `2 rows`.
pub fn rows(n: u64) -> String {
    format!("{n} row{}", if n == 1 { "" } else { "s" })
}

/// What a batch interrupted now has done, for the signal handler: `None`
/// when no batch is running.
pub fn interrupted_line() -> Option<String> {
    let (c, start) = (*running())?;
    Some(format!(
        "impasto batch: interrupted after {}: {} written, {} skipped, {} failed in {:.1} s; `--skip-existing` goes on from the files written",
        rows(c.rows),
        c.written,
        c.skipped,
        c.failed,
        start.elapsed().as_secs_f64()
    ))
}

/// The reporter.
pub struct Progress {
    bar: Option<ProgressBar>,
    start: Instant,
    last_line: Instant,
    total: Option<u64>,
    /// Whether a manifest lists every row (`--manifest`).
    manifest: bool,
}

impl Progress {
    /// A bar when stderr is a terminal; `total` rows when known; whether
    /// a manifest lists every row, for what the lines printed point to.
    pub fn new(total: Option<u64>, manifest: bool) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = match total {
                Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()),
                None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
            };
            let template = if total.is_some() {
                "{bar:30} {pos}/{len} rows, ETA {eta}, {msg}"
            } else {
                "{spinner} {pos} rows, {msg}"
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style);
            }
            bar
        });
        let now = Instant::now();
        *running() = Some((Counts::default(), now));
        Progress {
            bar,
            start: now,
            last_line: now,
            total,
            manifest,
        }
    }

    /// Reports a failure (the first few, one line each).
    pub fn failure(&self, counts: &Counts, row: u64, message: &str) {
        if counts.failed > FAILURES_SHOWN {
            return;
        }
        let message = crate::one_line(message);
        let line = if counts.failed == FAILURES_SHOWN {
            let rest = if self.manifest {
                "further failures are in the manifest only"
            } else {
                "further failures are counted, not printed: --manifest FILE lists every row"
            };
            format!("impasto: row {row}: {message} ({rest})")
        } else {
            format!("impasto: row {row}: {message}")
        };
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    /// Reports a written row's warnings (those of the first few rows with
    /// warnings, one line each; `counts.warned` counts this row).
    pub fn warnings(&self, counts: &Counts, row: u64, warnings: &[impasto::Warning]) {
        if counts.warned > FAILURES_SHOWN {
            return;
        }
        for w in warnings {
            let line = format!(
                "impasto: row {row}: warning: {}",
                crate::one_line(&w.to_string())
            );
            match &self.bar {
                Some(bar) => bar.println(line),
                None => eprintln!("{line}"),
            }
        }
        if counts.warned == FAILURES_SHOWN {
            let line = if self.manifest {
                "impasto: further warnings are in the manifest only"
            } else {
                "impasto: further warnings are not printed: --manifest FILE lists every row's"
            };
            match &self.bar {
                Some(bar) => bar.println(line),
                None => eprintln!("{line}"),
            }
        }
    }

    /// Reports the counts so far.
    pub fn update(&mut self, counts: &Counts) {
        if let Some((c, _)) = running().as_mut() {
            *c = *counts;
        }
        match &self.bar {
            Some(bar) => {
                bar.set_position(counts.rows);
                let rate = rate(counts.written, self.start.elapsed());
                bar.set_message(format!("{rate:.1} images/s, {} failed", counts.failed));
            }
            None if self.last_line.elapsed() >= LINE_EVERY => {
                self.last_line = Instant::now();
                let of = self.total.map(|t| format!("/{t}")).unwrap_or_default();
                eprintln!(
                    "impasto batch: {}{of} rows, {} failed, {:.1} images/s",
                    counts.rows,
                    counts.failed,
                    rate(counts.written, self.start.elapsed())
                );
            }
            None => {}
        }
    }

    /// The summary line.
    pub fn finish(self, counts: &Counts) {
        *running() = None;
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        let elapsed = self.start.elapsed();
        eprintln!(
            "impasto batch: {}, {} written ({} with warnings), {} skipped, {} failed in {:.1} s ({:.1} images/s)",
            rows(counts.rows),
            counts.written,
            counts.warned,
            counts.skipped,
            counts.failed,
            elapsed.as_secs_f64(),
            rate(counts.written, elapsed)
        );
    }
}

fn rate(n: u64, elapsed: Duration) -> f64 {
    let s = elapsed.as_secs_f64();
    if s > 0.0 {
        n as f64 / s
    } else {
        0.0
    }
}
