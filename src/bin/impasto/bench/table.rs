//! The report as text: the table `impasto bench` prints, and the Markdown
//! `--markdown` writes.

use std::fmt::Write as _;

use super::report::{Adapter, CaseReport, Report, Status};

const HEADER: [&str; 9] = [
    "backend", "case", "reps", "p50 ms", "p95 ms", "p99 ms", "mean ms", "min ms", "images/s",
];

/// One table row per case and backend; a case that did not run has its
/// status and reason in place of the figures, and a backend that was
/// skipped has one row saying why.
fn rows(report: &Report) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for b in &report.backends {
        if b.status == Status::Skipped {
            let reason = b.reason.as_deref().unwrap_or("not available");
            rows.push(vec![
                b.backend.clone(),
                "(all cases)".into(),
                format!("skipped: {reason}"),
            ]);
            continue;
        }
        for c in &b.cases {
            let mut row = vec![b.backend.clone(), c.name.clone()];
            row.extend(figures(c));
            rows.push(row);
        }
    }
    rows
}

fn figures(c: &CaseReport) -> Vec<String> {
    match (c.status, &c.latency_ms, c.images_per_second) {
        (Status::Ok, Some(l), Some(ips)) => {
            let mut v = vec![c.reps.to_string()];
            v.extend([l.p50, l.p95, l.p99, l.mean, l.min].map(|ms| format!("{ms:.2}")));
            v.push(format!("{ips:.2}"));
            v
        }
        (status, _, _) => {
            let what = format!("{status:?}").to_lowercase();
            let reason = c.reason.as_deref().unwrap_or("no figures");
            vec![format!("{what}: {reason}")]
        }
    }
}

fn adapter_line(a: &Adapter) -> String {
    let driver = a.driver.as_deref().unwrap_or("driver not reported");
    format!("{} ({}, {}, {driver})", a.name, a.device_type, a.backend)
}

fn about(report: &Report) -> Vec<String> {
    let s = &report.system;
    let mut os = format!("{} {}", s.os, s.arch);
    if let Some(r) = &s.os_release {
        let _ = write!(os, ", {r}");
    }
    if let Some(k) = &s.kernel {
        let _ = write!(os, ", kernel {k}");
    }
    let mut lines = vec![
        format!(
            "suite {}: warm-up {}, reps {}",
            report.suite, report.warmup, report.reps
        ),
        format!(
            "impasto {} (git {}), {}",
            report.impasto_version, report.git_revision, report.timestamp
        ),
        format!("cpu: {}, {} logical cores", s.cpu_model, s.logical_cores),
        format!("os: {os}"),
    ];
    for b in &report.backends {
        if let Some(a) = &b.adapter {
            let mut line = format!("{} adapter: {}", b.backend, adapter_line(a));
            if let Some(n) = b.gpu_drivers {
                let _ = write!(line, "; {n} driving thread(s) in the batch cases");
            }
            lines.push(line);
        }
    }
    if report.adapters.is_empty() {
        lines.push("adapters found: none".into());
    }
    for a in &report.adapters {
        lines.push(format!("adapter found: {}", adapter_line(a)));
    }
    lines
}

/// A line per GPU batch case saying where its host threads' time went.
fn thread_lines(report: &Report) -> Vec<String> {
    let mut lines = Vec::new();
    for b in &report.backends {
        for c in &b.cases {
            let Some(t) = &c.threads else { continue };
            let pct = |share: f64| format!("{:.0}%", share * 100.0);
            lines.push(format!(
                "{} {}: driving threads {:.3} ms on a CPU per image, on a CPU {} of their time, \
                 waiting for a core {}, handing over to the encoders {} (the rest: waiting for \
                 the GPU or a lock); encoders {:.3} ms on a CPU per image; every other thread \
                 (rayon's pool, the GPU driver's) {:.3} ms",
                b.backend,
                c.name,
                t.driver_cpu_ms_per_image,
                pct(t.driver_on_cpu),
                pct(t.driver_waiting_for_a_core),
                pct(t.driver_handing_over),
                t.encoder_cpu_ms_per_image,
                t.other_threads_cpu_ms_per_image,
            ));
        }
    }
    lines
}

/// The plain-text table, columns aligned (numbers to the right).
pub fn text(report: &Report) -> String {
    let rows = rows(report);
    let mut widths: Vec<usize> = HEADER.iter().map(|h| h.len()).collect();
    for row in rows.iter().filter(|r| r.len() == HEADER.len()) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for line in about(report) {
        let _ = writeln!(out, "{line}");
    }
    out.push('\n');
    let header: Vec<String> = HEADER.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            let w = widths[i];
            if i < 2 || row.len() != HEADER.len() {
                let _ = write!(line, "{cell:<w$}  ");
            } else {
                let _ = write!(line, "{cell:>w$}  ");
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let threads = thread_lines(report);
    if !threads.is_empty() {
        out.push('\n');
        for line in threads {
            let _ = writeln!(out, "{line}");
        }
    }
    out
}

/// The Markdown version: the facts as a list, then the table.
pub fn markdown(report: &Report) -> String {
    let mut out = format!("# impasto bench: {} suite\n\n", report.suite);
    for line in about(report) {
        let _ = writeln!(out, "- {}", line.replace('|', "\\|"));
    }
    let _ = writeln!(out, "\n| {} |", HEADER.join(" | "));
    let _ = writeln!(out, "|---|---|{}", "---:|".repeat(HEADER.len() - 2));
    for mut row in rows(report) {
        row.resize(HEADER.len(), String::new());
        let cells: Vec<String> = row.iter().map(|c| c.replace('|', "\\|")).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    let threads = thread_lines(report);
    if !threads.is_empty() {
        out.push('\n');
        for line in threads {
            let _ = writeln!(out, "- {line}");
        }
    }
    out
}
