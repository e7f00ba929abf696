//! The report `impasto bench` writes (`--json`), and the facts about the
//! machine and build it records. The schema is documented in
//! docs/benchmark-harness.md; `SCHEMA` changes when a field changes meaning.

use serde::{Deserialize, Serialize};

/// The report format's name and version.
pub const SCHEMA: &str = "impasto-bench/1";

/// A whole run: what ran, where, and every case on every backend.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub suite: String,
    /// Start of the run, RFC 3339, UTC.
    pub timestamp: String,
    pub impasto_version: String,
    pub git_revision: String,
    pub warmup: u32,
    pub reps: u32,
    pub system: System,
    /// Every adapter wgpu finds (`impasto info`), whether benchmarked or not.
    pub adapters: Vec<Adapter>,
    pub backends: Vec<BackendReport>,
}

/// The machine.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct System {
    /// `linux`, `macos`, `windows`, ... (Rust's `std::env::consts::OS`).
    pub os: String,
    /// The distribution's name and version, when known (/etc/os-release).
    pub os_release: Option<String>,
    /// The kernel version, when known.
    pub kernel: Option<String>,
    pub arch: String,
    /// The CPU's model name, or "unknown".
    pub cpu_model: String,
    pub logical_cores: usize,
}

/// A GPU adapter, as `impasto::AdapterSummary` describes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Adapter {
    pub name: String,
    pub device_type: String,
    pub backend: String,
    pub hardware: bool,
    pub max_texture_side: u32,
    /// The driver's name and version (`AdapterSummary::driver_line`);
    /// `null` when the graphics API reports neither.
    pub driver: Option<String>,
}

impl From<&impasto::AdapterSummary> for Adapter {
    fn from(a: &impasto::AdapterSummary) -> Adapter {
        Adapter {
            name: a.name.clone(),
            device_type: a.device_type.clone(),
            backend: a.backend.clone(),
            hardware: a.hardware,
            max_texture_side: a.max_texture_side,
            driver: a.driver_line(),
        }
    }
}

/// `ok`, `skipped` (could not run here, e.g. no GPU adapter) or `failed`
/// (a render returned an error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Skipped,
    Failed,
}

/// One backend's cases.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackendReport {
    /// `cpu` or `gpu`.
    pub backend: String,
    pub status: Status,
    /// Why the backend was skipped.
    pub reason: Option<String>,
    /// The adapter the GPU backend rendered on (`null` for the CPU).
    pub adapter: Option<Adapter>,
    /// Worker threads of the CPU side (rayon's pool).
    pub threads: usize,
    /// Threads that drove the GPU side by side in the batch cases (`null`
    /// for the CPU, and in reports written before this field).
    #[serde(default)]
    pub gpu_drivers: Option<usize>,
    pub cases: Vec<CaseReport>,
}

/// One case on one backend.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseReport {
    pub name: String,
    pub description: String,
    pub status: Status,
    /// Why the case was skipped or failed.
    pub reason: Option<String>,
    /// Images one repetition produces (the batch size for batch cases).
    pub images_per_rep: u32,
    pub warmup: u32,
    pub reps: u32,
    /// Wall-clock time of one repetition, in milliseconds.
    pub latency_ms: Option<Latency>,
    pub images_per_second: Option<f64>,
    /// Every timed repetition, in milliseconds, in the order they ran.
    pub samples_ms: Vec<f64>,
    /// The batch cases on the GPU: where the host threads' time went over
    /// the timed repetitions (`null` otherwise, without Linux's scheduler
    /// statistics, and in reports written before 2026-11-27).
    #[serde(default)]
    pub threads: Option<super::threads::ThreadTimes>,
}

/// Latency figures in milliseconds (percentiles by nearest rank).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Latency {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
}

impl System {
    /// Reads what the operating system says about itself.
    pub fn detect() -> System {
        let read = |p: &str| std::fs::read_to_string(p).ok();
        let os_release = read("/etc/os-release").and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_string())
        });
        System {
            os: std::env::consts::OS.into(),
            os_release,
            kernel: read("/proc/sys/kernel/osrelease").map(|k| k.trim().to_string()),
            arch: std::env::consts::ARCH.into(),
            cpu_model: cpu_model().unwrap_or_else(|| "unknown".into()),
            logical_cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

fn cpu_model() -> Option<String> {
    if let Ok(info) = std::fs::read_to_string("/proc/cpuinfo") {
        let model = info.lines().find_map(|l| {
            let (key, value) = l.split_once(':')?;
            (key.trim() == "model name").then(|| value.trim().to_string())
        });
        if model.is_some() {
            return model;
        }
    }
    if cfg!(target_os = "macos") {
        return command_output("sysctl", &["-n", "machdep.cpu.brand_string"]);
    }
    None
}

/// A command's trimmed standard output, when it runs and succeeds.
fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let out = std::process::Command::new(program)
        .args(args)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

/// The git revision of the current directory's checkout (`git rev-parse
/// --short HEAD`), else the one CI built from (`GITHUB_SHA` when the binary
/// was built, or now), else "unknown".
pub fn git_revision() -> String {
    if let Some(rev) = command_output("git", &["rev-parse", "--short", "HEAD"]) {
        return rev;
    }
    let sha = option_env!("GITHUB_SHA")
        .map(str::to_string)
        .or_else(|| std::env::var("GITHUB_SHA").ok());
    match sha {
        Some(s) if !s.is_empty() => s.chars().take(12).collect(),
        _ => "unknown".into(),
    }
}

/// Now, as RFC 3339 UTC (`2025-01-31T12:00:00Z`).
pub fn timestamp_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
