//! A fuzzing campaign on stable Rust: the generator of `tests/fuzz.rs`
//! (tests/fuzzgen) in a loop for N minutes on the CPU backend, printing
//! cases per second, and saving every failing case (a panic or an
//! `Error::Internal`) with its scene JSON and image files.
//!
//! ```sh
//! cargo run --release --example fuzz -- --minutes 10 [--seed S] [--out fuzz-failures]
//! ```
//!
//! A failing case is replayed by its seed and number (`fuzzgen::case`), or
//! from the saved files. Exit status 1 when any case failed.

#[path = "../tests/fuzzgen/mod.rs"]
mod fuzzgen;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

struct Args {
    minutes: f64,
    seed: u64,
    out: PathBuf,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        minutes: 1.0,
        seed: 1,
        out: PathBuf::from("fuzz-failures"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if matches!(flag.as_str(), "--help" | "-h") {
            println!("usage: fuzz --minutes N [--seed S] [--out DIR]");
            std::process::exit(0);
        }
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--minutes" => args.minutes = value.parse().map_err(|e| format!("--minutes: {e}"))?,
            "--seed" => args.seed = value.parse().map_err(|e| format!("--seed: {e}"))?,
            "--out" => args.out = PathBuf::from(value),
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    if !(args.minutes > 0.0 && args.minutes < 1e6) {
        return Err("--minutes must be positive".into());
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("fuzz: {e}\nusage: fuzz --minutes N [--seed S] [--out DIR]");
            return ExitCode::from(2);
        }
    };
    let dir = tempfile::tempdir().expect("a temporary folder");
    let renderer = fuzzgen::renderer(dir.path());
    let seeds = fuzzgen::seed_images();
    let start = Instant::now();
    let budget = Duration::from_secs_f64(args.minutes * 60.0);
    let (mut cases, mut failed) = (0u64, 0u64);
    let mut last_report = Instant::now();
    while start.elapsed() < budget {
        let case = fuzzgen::case(args.seed, cases, &seeds);
        if let Err(f) = fuzzgen::run_case(&renderer, dir.path(), &case) {
            failed += 1;
            let folder = args.out.join(format!("seed{}-case{cases}", args.seed));
            eprintln!(
                "case {cases} ({}): {} -> {}",
                f.which,
                f.message,
                folder.display()
            );
            if let Err(e) = fuzzgen::save_case(&folder, &case, &f) {
                eprintln!("cannot save the case: {e}");
            }
        }
        cases += 1;
        if last_report.elapsed() >= Duration::from_secs(10) {
            last_report = Instant::now();
            let secs = start.elapsed().as_secs_f64();
            println!(
                "{cases} cases in {secs:.0} s ({:.1} cases/s), {failed} failed",
                cases as f64 / secs
            );
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "done: seed {}, {cases} cases in {secs:.0} s ({:.1} cases/s), {failed} failed",
        args.seed,
        cases as f64 / secs
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
