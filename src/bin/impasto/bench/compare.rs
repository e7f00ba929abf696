//! `impasto bench compare OLD NEW`: each case's p50 latency and images/s on
//! each backend, old against new, and whether any slowed down by more than
//! the threshold.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use impasto::scene::quoted;
use impasto::Error;

use super::report::{CaseReport, Report, Status, SCHEMA};

/// `--threshold`: a percentage (`10`, `10%`, `2.5`), finite and not negative.
pub fn parse_threshold(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("{} is not a percentage", quoted(s)))?;
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(format!("{} must be a percentage of 0 or more", quoted(s)))
    }
}

/// Reads a report; anything wrong with the file is bad input (exit 2).
fn load(path: &Path) -> Result<Report, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::Options(format!(
            "{}: cannot read: {e}",
            impasto::scene::shown_path(path)
        ))
    })?;
    let report: Report = serde_json::from_str(&text).map_err(|e| {
        Error::Options(format!(
            "{}: not an impasto bench report: {e}",
            impasto::scene::shown_path(path)
        ))
    })?;
    if report.schema != SCHEMA {
        return Err(Error::Options(format!(
            "{}: report schema {:?}, this impasto reads {SCHEMA:?}",
            impasto::scene::shown_path(path),
            report.schema
        )));
    }
    check(&report).map_err(|why| {
        Error::Options(format!(
            "{}: not a valid impasto bench report: {why}",
            impasto::scene::shown_path(path)
        ))
    })?;
    Ok(report)
}

/// What a report must hold to be compared: each backend and each of its
/// cases once, and an `ok` case with its figures (a positive p50 and
/// images/s), so that a broken or edited report cannot pass as "not
/// compared".
fn check(report: &Report) -> Result<(), String> {
    let mut backends: Vec<&str> = Vec::new();
    for b in &report.backends {
        if backends.contains(&b.backend.as_str()) {
            return Err(format!("backend {} appears twice", quoted(&b.backend)));
        }
        backends.push(&b.backend);
        let mut cases: Vec<&str> = Vec::new();
        for c in &b.cases {
            if cases.contains(&c.name.as_str()) {
                return Err(format!(
                    "case {} appears twice on {}",
                    quoted(&c.name),
                    quoted(&b.backend)
                ));
            }
            cases.push(&c.name);
            if c.status == Status::Ok && figures(c).is_none() {
                return Err(format!(
                    "case {} on {} is ok without a positive p50 latency and images/s",
                    quoted(&c.name),
                    quoted(&b.backend)
                ));
            }
        }
    }
    Ok(())
}

/// How one case on one backend compares.
enum Outcome {
    /// Both ran: p50 latency (ms) and images/s, old and new.
    Figures { p50: (f64, f64), ips: (f64, f64) },
    /// Ran before, fails now: a regression.
    FailedNow(String),
    /// Cannot be compared (skipped or missing on one side); not a regression.
    NotCompared(String),
}

fn find<'r>(report: &'r Report, backend: &str, case: &str) -> Option<&'r CaseReport> {
    let b = report.backends.iter().find(|b| b.backend == backend)?;
    b.cases.iter().find(|c| c.name == case)
}

fn figures(c: &CaseReport) -> Option<(f64, f64)> {
    match (c.status, &c.latency_ms, c.images_per_second) {
        (Status::Ok, Some(l), Some(ips)) if l.p50 > 0.0 && ips > 0.0 => Some((l.p50, ips)),
        _ => None,
    }
}

fn outcome(old: Option<&CaseReport>, new: Option<&CaseReport>) -> Outcome {
    let why = |c: &CaseReport| {
        let status = format!("{:?}", c.status).to_lowercase();
        match &c.reason {
            Some(r) => format!("{status}: {r}"),
            None => status,
        }
    };
    match (old, new) {
        (None, _) => Outcome::NotCompared("not in the old report".into()),
        (_, None) => Outcome::NotCompared("not in the new report".into()),
        (Some(o), Some(n)) => match (figures(o), figures(n)) {
            (Some(a), Some(b)) => Outcome::Figures {
                p50: (a.0, b.0),
                ips: (a.1, b.1),
            },
            (Some(_), None) if n.status == Status::Failed => Outcome::FailedNow(why(n)),
            (Some(_), None) => Outcome::NotCompared(format!("new {}", why(n))),
            (None, _) => Outcome::NotCompared(format!("old {}", why(o))),
        },
    }
}

fn change(old: f64, new: f64) -> f64 {
    (new - old) / old * 100.0
}

/// Every (backend, case) pair either report has, in the old report's order.
fn pairs(old: &Report, new: &Report) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for r in [old, new] {
        for b in &r.backends {
            for c in &b.cases {
                let key = (b.backend.clone(), c.name.clone());
                if !out.contains(&key) {
                    out.push(key);
                }
            }
        }
    }
    out
}

pub fn run(old_path: &Path, new_path: &Path, threshold: f64) -> Result<ExitCode, Error> {
    let (old, new) = (load(old_path)?, load(new_path)?);
    if old.suite != new.suite {
        return Err(Error::Options(format!(
            "{} is a {:?} suite report and {} a {:?} one; compare reports of the same suite",
            impasto::scene::shown_path(old_path),
            old.suite,
            impasto::scene::shown_path(new_path),
            new.suite
        )));
    }
    let mut out = format!(
        "old: {} (git {}, {})\nnew: {} (git {}, {})\nsuite {}, threshold {threshold}%\n\n",
        impasto::scene::shown_path(old_path),
        old.git_revision,
        old.timestamp,
        impasto::scene::shown_path(new_path),
        new.git_revision,
        new.timestamp,
        old.suite
    );
    out += &adapter_notes(&old, &new);
    let (mut regressed, mut compared) = (Vec::new(), 0);
    let _ = writeln!(
        out,
        "{:<8} {:<20} {:>10} {:>10} {:>8}  {:>10} {:>10} {:>8}  verdict",
        "backend", "case", "p50 old", "p50 new", "change", "img/s old", "img/s new", "change"
    );
    for (backend, case) in pairs(&old, &new) {
        let o = outcome(find(&old, &backend, &case), find(&new, &backend, &case));
        let (line, bad) = row(&o, threshold);
        let _ = writeln!(out, "{backend:<8} {case:<20} {line}");
        compared += usize::from(matches!(o, Outcome::Figures { .. } | Outcome::FailedNow(_)));
        if bad {
            regressed.push(format!("{backend}/{case}"));
        }
    }
    if compared == 0 {
        return Err(Error::Options(format!(
            "{} and {}: no case ran in both reports, nothing to compare",
            impasto::scene::shown_path(old_path),
            impasto::scene::shown_path(new_path)
        )));
    }
    if regressed.is_empty() {
        crate::print_out(&format!(
            "{out}\nno case regressed by more than {threshold}%\n"
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    let list = regressed.join(", ");
    crate::print_out(&format!(
        "{out}\nregressed by more than {threshold}%: {list}\n"
    ))?;
    eprintln!("impasto: bench compare: regressed by more than {threshold}%: {list}");
    Ok(ExitCode::FAILURE)
}

/// The figures of one row, and whether it is a regression.
fn row(o: &Outcome, threshold: f64) -> (String, bool) {
    match *o {
        Outcome::Figures { p50, ips } => {
            let (dp, di) = (change(p50.0, p50.1), change(ips.0, ips.1));
            let bad = dp > threshold || di < -threshold;
            let verdict = if bad {
                "REGRESSED"
            } else if dp < -threshold || di > threshold {
                "improved"
            } else {
                "ok"
            };
            let line = format!(
                "{:>10.2} {:>10.2} {:>+7.1}%  {:>10.2} {:>10.2} {:>+7.1}%  {verdict}",
                p50.0, p50.1, dp, ips.0, ips.1, di
            );
            (line, bad)
        }
        Outcome::FailedNow(ref why) => (format!("REGRESSED: {why}"), true),
        Outcome::NotCompared(ref why) => (format!("not compared: {why}"), false),
    }
}

/// Warns when a backend ran on different adapters in the two reports.
fn adapter_notes(old: &Report, new: &Report) -> String {
    let mut notes = String::new();
    for b in &old.backends {
        let Some(nb) = new.backends.iter().find(|n| n.backend == b.backend) else {
            continue;
        };
        if let (Some(a), Some(n)) = (&b.adapter, &nb.adapter) {
            if a.name != n.name || a.backend != n.backend {
                let _ = writeln!(
                    notes,
                    "note: {} ran on {} ({}) before and on {} ({}) now\n",
                    b.backend, a.name, a.backend, n.name, n.backend
                );
            }
        }
    }
    if old.system.cpu_model != new.system.cpu_model {
        let _ = writeln!(
            notes,
            "note: the CPU differs: {} before, {} now\n",
            old.system.cpu_model, new.system.cpu_model
        );
    }
    notes
}
