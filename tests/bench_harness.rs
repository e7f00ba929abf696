//! `impasto bench` and `impasto bench compare`, run as the built binary: the
//! report has every field, the figures are consistent with each other (no
//! timing thresholds: machines differ), and `compare` exits 0 for the same
//! figures, 1 for a regression (naming it) and 2 for files it cannot use.

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

const CASES: [&str; 4] = [
    "composite_10x2048",
    "poster",
    "social_cards_batch",
    "thumbnails",
];

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn impasto(args: &[&str], cwd: &Path) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_impasto"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run impasto");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `impasto bench` with `args` plus `--json` (and `--markdown`) into a
/// fresh folder; returns the run, the parsed report and the Markdown.
fn bench(args: &[&str]) -> (Run, Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut all = vec!["bench"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--json", "out.json", "--markdown", "out.md"]);
    let run = impasto(&all, dir.path());
    assert_eq!(run.code, 0, "impasto {all:?} failed: {}", run.stderr);
    let json = std::fs::read_to_string(dir.path().join("out.json")).unwrap();
    let md = std::fs::read_to_string(dir.path().join("out.md")).unwrap();
    (run, serde_json::from_str(&json).unwrap(), md)
}

/// The quick suite on the CPU, run once and shared by the tests.
fn cpu_report() -> &'static (Run, Value, String) {
    static REPORT: OnceLock<(Run, Value, String)> = OnceLock::new();
    REPORT.get_or_init(|| bench(&["--suite", "quick", "--backend", "cpu"]))
}

fn num(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number in {v}"))
}

fn text<'v>(v: &'v Value, key: &str) -> &'v str {
    let s = v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string in {v}"));
    assert!(!s.is_empty(), "{key} is empty");
    s
}

fn check_top(report: &Value) {
    assert_eq!(text(report, "schema"), "impasto-bench/1");
    assert_eq!(text(report, "suite"), "quick");
    assert_eq!(text(report, "impasto_version"), env!("CARGO_PKG_VERSION"));
    text(report, "git_revision");
    let ts = text(report, "timestamp").as_bytes();
    assert!(ts.len() == 20 && ts[4] == b'-' && ts[10] == b'T' && ts[19] == b'Z');
    assert!(num(report, "reps") >= 1.0 && num(report, "warmup") >= 0.0);
    let sys = &report["system"];
    for key in ["os", "arch", "cpu_model"] {
        text(sys, key);
    }
    assert!(num(sys, "logical_cores") >= 1.0);
    for key in ["os_release", "kernel"] {
        assert!(sys.get(key).is_some(), "system.{key} missing");
    }
    for a in report["adapters"].as_array().expect("adapters") {
        check_adapter(a);
    }
}

fn check_adapter(a: &Value) {
    for key in ["name", "device_type", "backend"] {
        text(a, key);
    }
    assert!(a["hardware"].is_boolean());
    assert!(num(a, "max_texture_side") > 0.0);
    assert!(a.get("driver").is_some(), "adapter.driver missing");
    // Vulkan drivers (lavapipe in CI) report their name and version.
    if a["backend"] == "Vulkan" {
        assert!(
            a["driver"].as_str().is_some_and(|d| !d.is_empty()),
            "adapter.driver is {} on Vulkan",
            a["driver"]
        );
    }
}

/// A case that ran: figures positive and consistent with each other and
/// with its samples.
fn check_case_figures(c: &Value, reps: f64) {
    let l = &c["latency_ms"];
    let [p50, p95, p99, mean, min, max] =
        ["p50", "p95", "p99", "mean", "min", "max"].map(|k| num(l, k));
    assert!(min > 0.0, "{c}");
    assert!(min <= p50 && p50 <= p95 && p95 <= p99 && p99 <= max, "{c}");
    assert!(min <= mean && mean <= max, "{c}");
    let samples: Vec<f64> = c["samples_ms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_f64().unwrap())
        .collect();
    assert_eq!(samples.len() as f64, reps);
    assert!(samples.iter().all(|&s| min <= s && s <= max));
    let ips = num(c, "images_per_second");
    let expected = num(c, "images_per_rep") * 1e3 / mean;
    assert!(ips > 0.0 && (ips / expected - 1.0).abs() < 0.01, "{c}");
}

/// The host threads' figures: for the batch cases on the GPU (on Linux,
/// whose scheduler statistics they come from), each share of the driving
/// threads' wall time within 0..=1, the scheduler's two together too;
/// `null` otherwise.
fn check_threads(backend: &str, c: &Value) {
    let t = &c["threads"];
    let batch = ["social_cards_batch", "thumbnails"].contains(&text(c, "name"));
    if backend != "gpu" || !batch || !cfg!(target_os = "linux") {
        assert!(t.is_null(), "{c}");
        return;
    }
    assert!(num(t, "driver_cpu_ms_per_image") > 0.0, "{t}");
    let shares = [
        "driver_on_cpu",
        "driver_waiting_for_a_core",
        "driver_handing_over",
    ]
    .map(|k| num(t, k));
    assert!(shares.iter().all(|s| (0.0..=1.0).contains(s)), "{t}");
    // The scheduler's two shares are disjoint (handing over is clock time
    // and may overlap them).
    assert!(shares[0] + shares[1] <= 1.01, "{t}");
    assert!(num(t, "encoder_cpu_ms_per_image") >= 0.0, "{t}");
    // The adapter's own threads at least (a software one's shaders).
    assert!(num(t, "other_threads_cpu_ms_per_image") > 0.0, "{t}");
}

/// Every case of `backend`, in order; `ran` says whether they must have run.
fn check_backend(b: &Value, ran: bool) {
    assert!(num(b, "threads") >= 1.0);
    let status = text(b, "status");
    let cases = b["cases"].as_array().expect("cases");
    let names: Vec<&str> = cases.iter().map(|c| text(c, "name")).collect();
    assert_eq!(names, CASES);
    for c in cases {
        text(c, "description");
        assert!(num(c, "images_per_rep") >= 1.0);
        let reps = num(c, "reps");
        if ran {
            assert_eq!(text(c, "status"), "ok", "{c}");
            check_case_figures(c, reps);
            check_threads(text(b, "backend"), c);
        } else {
            assert_eq!(text(c, "status"), "skipped", "{c}");
            text(c, "reason");
            assert!(c["latency_ms"].is_null() && c["images_per_second"].is_null());
        }
    }
    assert_eq!(status, if ran { "ok" } else { "skipped" });
    if !ran {
        text(b, "reason");
    }
}

#[test]
fn quick_suite_on_the_cpu_reports_every_case() {
    let (run, report, md) = cpu_report();
    check_top(report);
    let backends = report["backends"].as_array().unwrap();
    assert_eq!(backends.len(), 1);
    assert_eq!(text(&backends[0], "backend"), "cpu");
    assert!(backends[0]["adapter"].is_null());
    check_backend(&backends[0], true);
    let cases = backends[0]["cases"].as_array().unwrap();
    assert_eq!(num(&cases[0], "images_per_rep"), 1.0);
    assert_eq!(num(&cases[1], "images_per_rep"), 1.0);
    for case in CASES {
        assert!(
            run.stdout.contains(&format!("cpu      {case}")),
            "{}",
            run.stdout
        );
        assert!(md.contains(&format!("| cpu | {case} |")), "{md}");
    }
    assert!(run.stdout.contains("p50 ms") && md.contains("| p50 ms |"));
}

#[test]
fn quick_suite_on_all_backends() {
    // One repetition and no warm-up: on a software adapter the GPU cases
    // take seconds each.
    let (run, report, _) = bench(&[
        "--suite",
        "quick",
        "--backend",
        "all",
        "--warmup",
        "0",
        "--reps",
        "1",
    ]);
    check_top(&report);
    assert_eq!(num(&report, "reps"), 1.0);
    let backends = report["backends"].as_array().unwrap();
    let names: Vec<&str> = backends.iter().map(|b| text(b, "backend")).collect();
    assert_eq!(names, ["cpu", "gpu"]);
    check_backend(&backends[0], true);
    let gpu = &backends[1];
    let gpu_ran = text(gpu, "status") == "ok";
    // CI installs lavapipe: there the GPU backend must run.
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        assert!(gpu_ran, "no GPU adapter in CI: {gpu}");
    }
    check_backend(gpu, gpu_ran);
    assert!(backends[0]["gpu_drivers"].is_null(), "{}", backends[0]);
    if gpu_ran {
        check_adapter(&gpu["adapter"]);
        // The default: one on a software adapter, up to three on hardware.
        let drivers = num(gpu, "gpu_drivers");
        if gpu["adapter"]["hardware"] == false {
            assert_eq!(drivers, 1.0);
        } else {
            assert!((1.0..=3.0).contains(&drivers), "{gpu}");
        }
    } else {
        assert!(run.stdout.contains("skipped"), "{}", run.stdout);
    }
}

#[test]
fn gpu_drivers_are_reported_and_several_render_the_batch_cases() {
    let (_, report, _) = bench(&[
        "--suite",
        "quick",
        "--backend",
        "all",
        "--case",
        "social_cards_batch",
        "--case",
        "thumbnails",
        "--gpu-drivers",
        "2",
        "--warmup",
        "0",
        "--reps",
        "1",
    ]);
    let backends = report["backends"].as_array().unwrap();
    assert!(backends[0]["gpu_drivers"].is_null(), "{}", backends[0]);
    let gpu = &backends[1];
    if text(gpu, "status") != "ok" {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "no GPU adapter in CI: {gpu}"
        );
        eprintln!("no GPU adapter: the GPU half of this test did not run");
        return;
    }
    assert_eq!(num(gpu, "gpu_drivers"), 2.0);
    for c in gpu["cases"].as_array().unwrap() {
        assert_eq!(text(c, "status"), "ok", "{c}");
        check_case_figures(c, 1.0);
        check_threads("gpu", c);
    }
    for c in backends[0]["cases"].as_array().unwrap() {
        assert!(c["threads"].is_null(), "{c}");
    }
}

#[test]
fn case_runs_only_the_cases_named() {
    let (run, report, _) = bench(&[
        "--suite",
        "quick",
        "--backend",
        "cpu",
        "--case",
        "poster",
        "--case",
        "composite_10x2048",
        "--reps",
        "1",
        "--warmup",
        "0",
    ]);
    let cases = report["backends"][0]["cases"].as_array().unwrap();
    let names: Vec<&str> = cases.iter().map(|c| text(c, "name")).collect();
    // In the suite's order, whatever the order of the options.
    assert_eq!(names, ["composite_10x2048", "poster"]);
    assert!(!run.stdout.contains("thumbnails"), "{}", run.stdout);
}

/// Writes `report` as a file in `dir`.
fn write(dir: &Path, name: &str, report: &Value) -> String {
    std::fs::write(dir.join(name), serde_json::to_string(report).unwrap()).unwrap();
    name.to_string()
}

#[test]
fn compare_accepts_the_same_figures() {
    let dir = tempfile::tempdir().unwrap();
    let (_, report, _) = cpu_report();
    let a = write(dir.path(), "a.json", report);
    let b = write(dir.path(), "b.json", report);
    let run = impasto(&["bench", "compare", &a, &b], dir.path());
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    for case in CASES {
        assert!(run.stdout.contains(case), "{}", run.stdout);
    }
    assert!(run.stdout.contains("+0.0%"), "{}", run.stdout);
}

#[test]
fn compare_fails_on_a_regression_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let (_, report, _) = cpu_report();
    let mut slower = report.clone();
    let case = &mut slower["backends"][0]["cases"][2];
    assert_eq!(case["name"], "social_cards_batch");
    for key in ["p50", "p95", "p99", "mean", "min", "max"] {
        let v = num(&case["latency_ms"], key);
        case["latency_ms"][key] = (v * 1.5).into();
    }
    let ips = num(case, "images_per_second");
    case["images_per_second"] = (ips / 1.5).into();
    let old = write(dir.path(), "old.json", report);
    let new = write(dir.path(), "new.json", &slower);
    let run = impasto(&["bench", "compare", &old, &new], dir.path());
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("cpu/social_cards_batch"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("poster"), "{}", run.stderr);
    assert!(run.stdout.contains("REGRESSED"), "{}", run.stdout);
    // 50% slower is within a 60% threshold; the reverse is an improvement.
    let run = impasto(
        &["bench", "compare", &old, &new, "--threshold", "60"],
        dir.path(),
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let run = impasto(&["bench", "compare", &new, &old], dir.path());
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("improved"), "{}", run.stdout);
}

#[test]
fn compare_refuses_files_it_cannot_use() {
    let dir = tempfile::tempdir().unwrap();
    let (_, report, _) = cpu_report();
    let good = write(dir.path(), "good.json", report);
    std::fs::write(dir.path().join("garbage.json"), "not json {").unwrap();
    let mut standard = report.clone();
    standard["suite"] = "standard".into();
    let standard = write(dir.path(), "standard.json", &standard);
    let mut other = report.clone();
    other["schema"] = "something-else/9".into();
    let other = write(dir.path(), "other.json", &other);
    // Broken or edited reports that would otherwise pass as "not compared".
    let mut no_figures = report.clone();
    no_figures["backends"][0]["cases"][0]
        .as_object_mut()
        .unwrap()
        .remove("latency_ms");
    let no_figures = write(dir.path(), "no_figures.json", &no_figures);
    let mut zero = report.clone();
    zero["backends"][0]["cases"][0]["latency_ms"]["p50"] = 0.into();
    let zero = write(dir.path(), "zero.json", &zero);
    let mut twice = report.clone();
    let first = twice["backends"][0]["cases"][0].clone();
    twice["backends"][0]["cases"]
        .as_array_mut()
        .unwrap()
        .push(first);
    let twice = write(dir.path(), "twice.json", &twice);
    for (old, new, says) in [
        (good.as_str(), "garbage.json", "not an impasto bench report"),
        ("missing.json", good.as_str(), "cannot read"),
        (good.as_str(), standard.as_str(), "same suite"),
        (other.as_str(), good.as_str(), "schema"),
        (good.as_str(), no_figures.as_str(), "without a positive p50"),
        (good.as_str(), zero.as_str(), "without a positive p50"),
        (good.as_str(), twice.as_str(), "appears twice"),
    ] {
        let run = impasto(&["bench", "compare", old, new], dir.path());
        assert_eq!(run.code, 2, "{old} {new}: {}{}", run.stdout, run.stderr);
        assert!(run.stderr.contains(says), "{old} {new}: {}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    }
}

#[test]
fn bad_arguments_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["bench", "--reps", "0"][..],
        &["bench", "--gpu-drivers", "0"],
        &["bench", "--suite", "huge"],
        &["bench", "--backend", "tpu"],
        &["bench", "--case", "no_such_case"],
        &["bench", "compare", "only-one.json"],
        &["bench", "compare", "a.json", "b.json", "--threshold", "-5"],
        &["bench", "--json", "no/such/folder/out.json"],
        // A folder: refused before anything is measured.
        &["bench", "--json", "."],
    ] {
        let run = impasto(args, dir.path());
        assert_eq!(run.code, 2, "{args:?}: {}{}", run.stdout, run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{args:?}: {}", run.stderr);
    }
}
