//! Throughput of one `impasto serve` replica: a fixed number of requests
//! for a social card (1200x630: photo cover, gradient, logo, two text
//! layers, JPEG q85) at a fixed concurrency, from 127.0.0.1; prints the
//! requests per second of 200s, their p50/p90/p99 latency, the statuses,
//! the load average and the server's peak RSS.
//!
//! One command (builds nothing itself; starts the release binary with the
//! card's template, then stops it):
//!
//! ```sh
//! cargo build --release && cargo run --release --example serve_load -- --requests 2000 --concurrency 8
//! ```
//!
//! Against a server already running (it must serve the template `social`
//! from `--templates`, see `--write-template`): `--url http://HOST:PORT`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;

/// The social card, as a template with one variable.
const SOCIAL: &str = r##"{
  "variables": { "title": { "type": "string", "required": true } },
  "width": 1200, "height": 630, "background": "#f4efe6",
  "layers": [
    { "type": "image", "src": "coffee.jpg", "width": 1200, "height": 630, "fit": "cover" },
    { "type": "linear-gradient", "y": 300, "height": 330,
      "stops": [ { "offset": 0, "color": "#00000000" }, { "offset": 1, "color": "#000000b0" } ] },
    { "type": "image", "src": "logo.png", "x": 40, "y": 30, "width": 110, "height": 110, "fit": "contain" },
    { "type": "text", "text": "{{title}}", "x": 60, "y": 430, "width": 1080, "height": 90,
      "size": 64, "weight": 700, "color": "#ffffff" },
    { "type": "text", "text": "impasto.example/cards", "x": 60, "y": 530, "width": 1080, "height": 50,
      "size": 30, "color": "#ffffffcc" }
  ]
}"##;

#[derive(Parser, Debug)]
struct Args {
    /// Requests measured (after the warm-up).
    #[arg(long, default_value_t = 2000)]
    requests: usize,
    /// Client threads, each sending its requests back to back.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Requests sent first and not measured (fonts, caches).
    #[arg(long, default_value_t = 50)]
    warmup: usize,
    /// A running server; without it, `--server` is started.
    #[arg(long)]
    url: Option<String>,
    /// The binary to start.
    #[arg(long, default_value = "target/release/impasto")]
    server: PathBuf,
    /// `--workers` of the started server (default: the number of cores).
    #[arg(long)]
    workers: Option<usize>,
    /// `--queue` of the started server.
    #[arg(long, default_value_t = 64)]
    queue: usize,
    /// Only write the template to DIR/social.json and exit.
    #[arg(long, value_name = "DIR")]
    write_template: Option<PathBuf>,
}

/// The started server, killed when dropped.
struct Started(Child);

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(args: &Args, templates: &Path) -> Result<(Started, String), String> {
    let workers = args
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let mut child = Command::new(&args.server)
        .args(["serve", "--listen", "127.0.0.1:0", "--no-system-fonts"])
        .args(["--assets", "examples/poster", "--templates"])
        .arg(templates)
        .args(["--workers", &workers.to_string()])
        .args(["--queue", &args.queue.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| {
            format!(
                "{}: {e} (cargo build --release first)",
                args.server.display()
            )
        })?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let url = line.trim().rsplit(' ').next().unwrap_or("").to_owned();
    println!(
        "started {} with --workers {workers} --queue {}",
        args.server.display(),
        args.queue
    );
    Ok((Started(child), url))
}

/// Sends `count` requests from `concurrency` threads; (status, latency).
fn run(base: &str, count: usize, concurrency: usize, offset: usize) -> Vec<(u16, Duration)> {
    let per = count.div_ceil(concurrency.max(1));
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..concurrency)
            .map(|c| {
                s.spawn(move || {
                    let agent: ureq::Agent = ureq::Agent::config_builder()
                        .http_status_as_error(false)
                        .build()
                        .into();
                    let mut out = Vec::with_capacity(per);
                    for i in (c * per..((c + 1) * per).min(count)).map(|i| i + offset) {
                        let url = format!("{base}/t/social.jpg?title=Card+number+{}", i % 100);
                        let started = Instant::now();
                        let status = match agent.get(&url).call() {
                            Ok(mut r) => {
                                let status = r.status().as_u16();
                                let _ = r.body_mut().with_config().limit(64 << 20).read_to_vec();
                                status
                            }
                            Err(_) => 0,
                        };
                        out.push((status, started.elapsed()));
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn peak_rss_mib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? / 1024)
}

fn report(answers: &[(u16, Duration)], took: Duration) {
    let mut statuses = BTreeMap::new();
    for (status, _) in answers {
        *statuses.entry(*status).or_insert(0usize) += 1;
    }
    let mut ok: Vec<Duration> = answers
        .iter()
        .filter(|(s, _)| *s == 200)
        .map(|(_, d)| *d)
        .collect();
    ok.sort();
    let pct = |p: f64| {
        ok.get(((ok.len() as f64 - 1.0) * p).round() as usize)
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1e3)
    };
    println!("statuses: {statuses:?} (0: no answer)");
    println!(
        "{:.1} images/s ({} x 200 in {:.2} s); latency of 200s: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, p99/p50 {:.2}",
        ok.len() as f64 / took.as_secs_f64(),
        ok.len(),
        took.as_secs_f64(),
        pct(0.5),
        pct(0.9),
        pct(0.99),
        pct(0.99) / pct(0.5)
    );
}

fn main() -> Result<(), String> {
    let args = Args::parse();
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let templates = args
        .write_template
        .clone()
        .unwrap_or(dir.path().to_path_buf());
    std::fs::write(templates.join("social.json"), SOCIAL).map_err(|e| e.to_string())?;
    if args.write_template.is_some() {
        return Ok(());
    }
    let (started, base) = match &args.url {
        Some(url) => (None, url.trim_end_matches('/').to_owned()),
        None => {
            let (child, url) = start(&args, &templates)?;
            (Some(child), url)
        }
    };
    run(&base, args.warmup, args.concurrency, 0);
    println!(
        "{} requests, concurrency {}, load average before: {}",
        args.requests,
        args.concurrency,
        loadavg()
    );
    let t0 = Instant::now();
    let answers = run(&base, args.requests, args.concurrency, args.warmup);
    let took = t0.elapsed();
    report(&answers, took);
    println!("load average after: {}", loadavg());
    if let Some(Started(child)) = &started {
        if let Some(mib) = peak_rss_mib(child.id()) {
            println!("server peak RSS: {mib} MiB");
        }
    }
    Ok(())
}
