//! Timing: warm-up runs, timed repetitions, and the figures drawn from them.

use std::time::Instant;

use impasto::Error;

use super::report::Latency;

/// The timed repetitions of one case, in milliseconds, in the order they ran.
pub struct Samples {
    pub ms: Vec<f64>,
}

/// Runs `f` `warmup` times untimed, then `reps` times timed (one wall-clock
/// time per call). The first error stops the case.
pub fn measure(
    warmup: u32,
    reps: u32,
    mut f: impl FnMut() -> Result<(), Error>,
) -> Result<Samples, Error> {
    for _ in 0..warmup {
        f()?;
    }
    let mut ms = Vec::with_capacity(reps as usize);
    for _ in 0..reps {
        let start = Instant::now();
        f()?;
        ms.push(round3(start.elapsed().as_secs_f64() * 1e3));
    }
    Ok(Samples { ms })
}

impl Samples {
    /// p50, p95 and p99 (nearest rank, so each is one of the samples and
    /// p50 <= p95 <= p99 <= max), mean, min and max. `None` with no samples.
    pub fn latency(&self) -> Option<Latency> {
        if self.ms.is_empty() {
            return None;
        }
        let mut sorted = self.ms.clone();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let rank = |p: f64| {
            let r = (p / 100.0 * n as f64).ceil() as usize;
            sorted[r.clamp(1, n) - 1]
        };
        Some(Latency {
            p50: rank(50.0),
            p95: rank(95.0),
            p99: rank(99.0),
            mean: round3(sorted.iter().sum::<f64>() / n as f64),
            min: sorted[0],
            max: sorted[n - 1],
        })
    }

    /// Images per second over the timed repetitions: every image produced
    /// divided by the total time.
    pub fn images_per_second(&self, images_per_rep: u32) -> Option<f64> {
        let total_s: f64 = self.ms.iter().sum::<f64>() / 1e3;
        (total_s > 0.0).then(|| round3(f64::from(images_per_rep) * self.ms.len() as f64 / total_s))
    }
}

/// Rounds to three decimals: microseconds for times in milliseconds, more
/// than any clock here resolves reliably, and the JSON stays readable.
fn round3(v: f64) -> f64 {
    (v * 1e3).round() / 1e3
}
