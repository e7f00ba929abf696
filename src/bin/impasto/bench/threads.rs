//! Where the GPU batch cases' host time goes: each driving thread's time on
//! a CPU, waiting for a core, and blocked handing a result to a busy
//! encoder, against its wall-clock time; the encoders' time on a CPU, and
//! that of every other thread of the process (rayon's pool, where the
//! encoders' entropy coding and the uploads' staging run, and the GPU
//! driver's own threads: on a software adapter, its shaders). The
//! rest of a driving thread's time it was blocked otherwise: waiting for
//! the GPU, or for a lock another thread held. So a sweep of
//! `--gpu-drivers` shows whether more threads ran more (their CPU time a
//! card steady, their time on a CPU near their wall time) or waited on each
//! other.
//!
//! Read from Linux's `/proc/thread-self/schedstat` (nanoseconds on a CPU,
//! nanoseconds runnable but waiting for one); elsewhere, or on a kernel
//! without scheduler statistics, there are no figures.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// The calling thread's nanoseconds on a CPU and waiting for one. The
/// kernel brings a running thread's sums up to date when it is scheduled:
/// the thread yields first, so its own reading is current (another running
/// thread's, in [`tasks_cpu`], may be behind by up to a scheduler tick).
fn schedstat() -> Option<(u64, u64)> {
    std::thread::yield_now();
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let mut fields = s.split_whitespace().map(str::parse::<u64>);
    Some((fields.next()?.ok()?, fields.next()?.ok()?))
}

/// Nanoseconds on a CPU by thread id.
pub type TasksCpu = HashMap<u64, u64>;

/// Nanoseconds on a CPU of every thread of the process now, by thread id.
pub fn tasks_cpu() -> Option<TasksCpu> {
    std::thread::yield_now();
    let mut by_thread = HashMap::new();
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let task = task.ok()?;
        let Some(tid) = task.file_name().to_str().and_then(|t| t.parse().ok()) else {
            continue;
        };
        // A thread that ended since the listing: nothing to add.
        let Ok(s) = std::fs::read_to_string(task.path().join("schedstat")) else {
            continue;
        };
        by_thread.insert(tid, s.split_whitespace().next()?.parse::<u64>().ok()?);
    }
    Some(by_thread)
}

/// The CPU time between two readings of [`tasks_cpu`] of the threads in
/// both: a thread that started or ended between them (one of the
/// repetition's own, still being torn down as the first reading or already
/// listed at the second) is left out, not counted whole.
fn cpu_between(before: &TasksCpu, after: &TasksCpu) -> u64 {
    after
        .iter()
        .filter_map(|(tid, a)| before.get(tid).map(|b| a.saturating_sub(*b)))
        .sum()
}

/// One thread's clocks from a start: call [`Stamp::since`] at its end.
pub struct Stamp {
    at: Instant,
    sched: Option<(u64, u64)>,
}

impl Stamp {
    pub fn now() -> Stamp {
        Stamp {
            at: Instant::now(),
            sched: schedstat(),
        }
    }

    /// (wall, on a CPU, waiting for a CPU) in nanoseconds since the stamp;
    /// `None` without scheduler statistics.
    fn since(&self) -> Option<(u64, u64, u64)> {
        let (cpu0, queued0) = self.sched?;
        let (cpu1, queued1) = schedstat()?;
        let wall = self.at.elapsed().as_nanos() as u64;
        Some((
            wall,
            cpu1.saturating_sub(cpu0),
            queued1.saturating_sub(queued0),
        ))
    }
}

/// Nanosecond sums over one repetition's threads.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    driver_wall: u64,
    driver_cpu: u64,
    driver_queued: u64,
    driver_handing_over: u64,
    encoder_cpu: u64,
    /// Every other thread's, alive before and after the repetition.
    others_cpu: u64,
    /// False once a thread had no scheduler statistics.
    complete: bool,
}

/// The tally of one repetition, added to by its threads.
pub struct Tallies {
    sum: Mutex<Tally>,
}

impl Tallies {
    pub fn new() -> Tallies {
        Tallies {
            sum: Mutex::new(Tally {
                complete: true,
                ..Tally::default()
            }),
        }
    }

    fn add(&self, f: impl FnOnce(&mut Tally)) {
        f(&mut self.sum.lock().unwrap_or_else(PoisonError::into_inner));
    }

    /// A driving thread ends: `start` was stamped as it began, and it spent
    /// `handing_over` blocked on the encoders' queue.
    pub fn driver_done(&self, start: &Stamp, handing_over: Duration) {
        let clocks = start.since();
        self.add(|t| match clocks {
            Some((wall, cpu, queued)) => {
                t.driver_wall += wall;
                t.driver_cpu += cpu;
                t.driver_queued += queued;
                t.driver_handing_over += handing_over.as_nanos() as u64;
            }
            None => t.complete = false,
        });
    }

    /// An encoding thread ends (`start` stamped as it began).
    pub fn encoder_done(&self, start: &Stamp) {
        let clocks = start.since();
        self.add(|t| match clocks {
            Some((_, cpu, _)) => t.encoder_cpu += cpu,
            None => t.complete = false,
        });
    }

    /// The sums, with the other threads' CPU time between two readings of
    /// [`tasks_cpu`], one before the repetition's own threads started and
    /// one after they ended.
    pub fn into_tally(self, (before, after): (Option<TasksCpu>, Option<TasksCpu>)) -> Tally {
        let mut t = self
            .sum
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        match (before, after) {
            (Some(b), Some(a)) => t.others_cpu = cpu_between(&b, &a),
            _ => t.complete = false,
        }
        t
    }
}

/// The host threads of a GPU batch case over its timed repetitions (the
/// report's `threads`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct ThreadTimes {
    /// The driving threads' time on a CPU, per image, in milliseconds.
    pub driver_cpu_ms_per_image: f64,
    /// Shares of the driving threads' wall-clock time: on a CPU, and
    /// runnable but waiting for a core (the scheduler's figures, disjoint);
    /// the rest they were blocked (the GPU, a lock, the encoders).
    pub driver_on_cpu: f64,
    pub driver_waiting_for_a_core: f64,
    /// Share of their wall-clock time spent in handing a result to the
    /// encoders (their queue full): mostly blocked, but measured by the
    /// clock, so it may include some of the two shares above.
    pub driver_handing_over: f64,
    /// The encoding threads' time on a CPU, per image, in milliseconds
    /// (their entropy coding runs on rayon's pool, counted in the next).
    pub encoder_cpu_ms_per_image: f64,
    /// Every other thread's time on a CPU, per image, in milliseconds:
    /// rayon's pool and the GPU driver's threads (on a software adapter,
    /// its shaders too).
    pub other_threads_cpu_ms_per_image: f64,
}

impl ThreadTimes {
    /// The figures of `tallies` (one per timed repetition) for `images`
    /// images in all; `None` if any thread had no scheduler statistics or
    /// no driving thread ran.
    pub fn of(tallies: &[Tally], images: u64) -> Option<ThreadTimes> {
        if tallies.is_empty() || images == 0 || tallies.iter().any(|t| !t.complete) {
            return None;
        }
        let sum = |f: fn(&Tally) -> u64| tallies.iter().map(f).sum::<u64>() as f64;
        let wall = sum(|t| t.driver_wall);
        if wall == 0.0 {
            return None;
        }
        let per_image_ms = |ns: f64| round3(ns / images as f64 / 1e6);
        Some(ThreadTimes {
            driver_cpu_ms_per_image: per_image_ms(sum(|t| t.driver_cpu)),
            driver_on_cpu: round3(sum(|t| t.driver_cpu) / wall),
            driver_waiting_for_a_core: round3(sum(|t| t.driver_queued) / wall),
            driver_handing_over: round3(sum(|t| t.driver_handing_over) / wall),
            encoder_cpu_ms_per_image: per_image_ms(sum(|t| t.encoder_cpu)),
            other_threads_cpu_ms_per_image: per_image_ms(sum(|t| t.others_cpu)),
        })
    }
}

fn round3(v: f64) -> f64 {
    (v * 1e3).round() / 1e3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_thread_is_on_a_cpu_and_the_figures_are_shares_of_wall_time() {
        let Some(_) = schedstat() else {
            // Scheduler statistics are a Linux feature; CI runs on Linux.
            assert!(
                !cfg!(target_os = "linux") || std::env::var("CI").as_deref() != Ok("true"),
                "no /proc/thread-self/schedstat on Linux in CI"
            );
            return;
        };
        let tallies = Tallies::new();
        std::thread::scope(|s| {
            s.spawn(|| {
                let start = Stamp::now();
                // Spin (on a CPU), then sleep (blocked) about as long.
                let spin = Instant::now();
                let mut x = 0u64;
                while spin.elapsed() < Duration::from_millis(40) {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
                std::thread::sleep(Duration::from_millis(40));
                tallies.driver_done(&start, Duration::from_millis(10));
            });
            s.spawn(|| {
                let start = Stamp::now();
                let spin = Instant::now();
                while spin.elapsed() < Duration::from_millis(20) {
                    std::hint::black_box(0);
                }
                tallies.encoder_done(&start);
            });
        });
        let before = tasks_cpu();
        let spin = Instant::now();
        while spin.elapsed() < Duration::from_millis(20) {
            std::hint::black_box(0);
        }
        let t = ThreadTimes::of(&[tallies.into_tally((before, tasks_cpu()))], 2).unwrap();
        // Spinning 40 ms of 80: on a CPU for at most its wall time and
        // more than nothing (a loaded machine may run it for less).
        assert!(t.driver_on_cpu > 0.0 && t.driver_on_cpu <= 1.0, "{t:?}");
        assert!(
            t.driver_cpu_ms_per_image > 0.0 && t.driver_cpu_ms_per_image <= 40.0,
            "{t:?}"
        );
        assert!((0.0..=1.0).contains(&t.driver_waiting_for_a_core), "{t:?}");
        assert!(
            t.driver_handing_over > 0.0 && t.driver_handing_over <= 0.2,
            "{t:?}"
        );
        assert!(t.encoder_cpu_ms_per_image > 0.0, "{t:?}");
        // This thread summed between the two readings.
        assert!(t.other_threads_cpu_ms_per_image > 0.0, "{t:?}");
        assert!(
            t.driver_on_cpu + t.driver_waiting_for_a_core <= 1.01,
            "{t:?}"
        );
    }

    #[test]
    fn no_figures_when_a_thread_had_no_statistics_or_nothing_ran() {
        let mut t = Tally {
            complete: true,
            driver_wall: 1000,
            driver_cpu: 500,
            ..Tally::default()
        };
        assert!(ThreadTimes::of(&[t], 1).is_some());
        assert!(ThreadTimes::of(&[t], 0).is_none());
        assert!(ThreadTimes::of(&[], 1).is_none());
        t.complete = false;
        assert!(ThreadTimes::of(&[t], 1).is_none());
    }
}
