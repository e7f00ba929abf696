//! The circuit breaker of `Backend::Auto` on a GPU: repeated GPU failures
//! send renders to the CPU backend for a cool-down, after which one trial
//! render goes to the GPU again.
//!
//! ```text
//!            failure_threshold GPU failures in a row
//!   Closed ──────────────────────────────────────────▶ Open (renders on the CPU)
//!     ▲                                                 │  ▲
//!     │ the trial succeeds          cool_down has passed│  │ the trial fails
//!     │                                                 ▼  │
//!     └───────────────────────────────────────────── HalfOpen (one trial on the GPU)
//! ```
//!
//! Only failures of the GPU itself count ([`Error::is_gpu_failure`]: a
//! lost device, out of memory, a failed or timed-out readback); bad input,
//! an adapter's limits, a cancel or a deadline are neither a failure nor a
//! success. While the trial render runs, other renders go to the CPU.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::error::Error;

/// When the breaker opens and for how long
/// ([`crate::Renderer::with_gpu_breaker`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// GPU failures in a row that open the breaker (default 3; at least 1).
    pub failure_threshold: u32,
    /// How long renders go to the CPU once it is open, before a trial
    /// render on the GPU (default 30 s).
    pub cool_down: Duration,
}

impl Default for BreakerConfig {
    fn default() -> BreakerConfig {
        BreakerConfig {
            failure_threshold: 3,
            cool_down: Duration::from_secs(30),
        }
    }
}

/// Where the breaker stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Renders go to the GPU.
    Closed,
    /// Renders go to the CPU until the cool-down has passed.
    Open,
    /// The cool-down has passed: the next render is a trial on the GPU
    /// (one at a time; the others go to the CPU meanwhile).
    HalfOpen,
}

/// The breaker's figures ([`crate::Renderer::gpu_breaker`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakerStats {
    /// Where it stands.
    pub state: BreakerState,
    /// GPU failures since the last GPU success.
    pub consecutive_failures: u32,
    /// Times it opened (from closed, or again after a failed trial).
    pub trips: u64,
    /// Renders it sent to the CPU backend.
    pub cpu_renders: u64,
    /// GPU failures counted in all.
    pub gpu_failures: u64,
    /// The last GPU failure's message.
    pub last_failure: Option<String>,
    /// While open: the cool-down left before the trial.
    pub cool_down_left: Option<Duration>,
    /// The thresholds in force.
    pub config: BreakerConfig,
}

/// Where one render goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// To the GPU, the breaker closed.
    Gpu,
    /// To the GPU, as the half-open breaker's trial.
    Trial,
    /// To the CPU: the breaker is open (or a trial is running).
    Cpu,
}

/// What time it is, for the cool-down: `Instant::now` but in tests.
pub(crate) type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

struct Inner {
    config: BreakerConfig,
    state: BreakerState,
    /// When it last opened.
    opened_at: Option<Instant>,
    /// Whether the half-open trial render is running.
    trial_running: bool,
    consecutive_failures: u32,
    trips: u64,
    cpu_renders: u64,
    gpu_failures: u64,
    last_failure: Option<String>,
}

/// The breaker, shared by a renderer's clones.
pub(crate) struct Breaker {
    inner: Mutex<Inner>,
    clock: Mutex<Clock>,
}

impl std::fmt::Debug for Breaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Breaker")
            .field("stats", &self.stats())
            .finish()
    }
}

impl Breaker {
    pub fn new(config: BreakerConfig) -> Breaker {
        Breaker {
            inner: Mutex::new(Inner {
                config: sane(config),
                state: BreakerState::Closed,
                opened_at: None,
                trial_running: false,
                consecutive_failures: 0,
                trips: 0,
                cpu_renders: 0,
                gpu_failures: 0,
                last_failure: None,
            }),
            clock: Mutex::new(Arc::new(Instant::now)),
        }
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn now(&self) -> Instant {
        let clock = self.clock.lock().unwrap_or_else(|p| p.into_inner()).clone();
        clock()
    }

    /// Replaces the thresholds (the state and figures stay).
    pub fn configure(&self, config: BreakerConfig) {
        self.inner().config = sane(config);
    }

    /// Replaces the clock (tests).
    pub fn set_clock(&self, clock: Clock) {
        *self.clock.lock().unwrap_or_else(|p| p.into_inner()) = clock;
    }

    /// Where the next render goes; a [`Route::Trial`] must be followed by
    /// [`Breaker::record`] (the others may be).
    pub fn route(&self) -> Route {
        let now = self.now();
        let mut b = self.inner();
        let route = match b.state {
            BreakerState::Closed => Route::Gpu,
            BreakerState::Open => {
                let cooled = b
                    .opened_at
                    .is_none_or(|t| now.saturating_duration_since(t) >= b.config.cool_down);
                if cooled {
                    b.state = BreakerState::HalfOpen;
                    b.trial_running = true;
                    Route::Trial
                } else {
                    Route::Cpu
                }
            }
            BreakerState::HalfOpen if !b.trial_running => {
                b.trial_running = true;
                Route::Trial
            }
            BreakerState::HalfOpen => Route::Cpu,
        };
        if route == Route::Cpu {
            b.cpu_renders += 1;
        }
        route
    }

    /// Counts the outcome of a render that went to the GPU by `route`.
    pub fn record<T>(&self, route: Route, result: &Result<T, Error>) {
        let now = self.now();
        let mut b = self.inner();
        let failure = match result {
            Ok(_) => None,
            Err(e) if e.is_gpu_failure() => Some(e.to_string()),
            // Neither a success nor a failure: a trial is to be run again.
            Err(_) => {
                if route == Route::Trial {
                    b.trial_running = false;
                }
                return;
            }
        };
        match (route, failure) {
            (Route::Cpu, _) => {}
            (_, None) => {
                b.consecutive_failures = 0;
                if route == Route::Trial {
                    log::info!("GPU breaker closed: the trial render on the GPU succeeded");
                    b.state = BreakerState::Closed;
                    b.trial_running = false;
                }
            }
            (_, Some(message)) => {
                b.consecutive_failures = b.consecutive_failures.saturating_add(1);
                b.gpu_failures += 1;
                b.last_failure = Some(message);
                let trip = match route {
                    Route::Trial => true,
                    _ => {
                        b.state == BreakerState::Closed
                            && b.consecutive_failures >= b.config.failure_threshold
                    }
                };
                if trip {
                    log::warn!(
                        "GPU breaker open: {} GPU failures in a row (last: {}); rendering on the CPU for {:?}",
                        b.consecutive_failures,
                        b.last_failure.as_deref().unwrap_or(""),
                        b.config.cool_down
                    );
                    b.state = BreakerState::Open;
                    b.trial_running = false;
                    b.opened_at = Some(now);
                    b.trips += 1;
                }
            }
        }
    }

    /// The breaker's figures.
    pub fn stats(&self) -> BreakerStats {
        let now = self.now();
        let b = self.inner();
        let cool_down_left = match (b.state, b.opened_at) {
            (BreakerState::Open, Some(t)) => Some(
                b.config
                    .cool_down
                    .saturating_sub(now.saturating_duration_since(t)),
            ),
            _ => None,
        };
        // Open with its cool-down over: the next render is the trial.
        let state = match cool_down_left {
            Some(left) if left.is_zero() => BreakerState::HalfOpen,
            _ => b.state,
        };
        BreakerStats {
            state,
            consecutive_failures: b.consecutive_failures,
            trips: b.trips,
            cpu_renders: b.cpu_renders,
            gpu_failures: b.gpu_failures,
            last_failure: b.last_failure.clone(),
            cool_down_left: cool_down_left.filter(|left| !left.is_zero()),
            config: b.config,
        }
    }

    /// Whether renders go to the GPU without a trial.
    pub fn is_closed(&self) -> bool {
        self.inner().state == BreakerState::Closed
    }
}

/// At least one failure opens the breaker.
fn sane(config: BreakerConfig) -> BreakerConfig {
    BreakerConfig {
        failure_threshold: config.failure_threshold.max(1),
        ..config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gpu_failure() -> Result<(), Error> {
        Err(Error::Gpu("out of GPU memory".into()))
    }

    /// A breaker with a clock the test moves by hand.
    fn breaker(threshold: u32, cool_down: Duration) -> (Breaker, Arc<Mutex<Instant>>) {
        let b = Breaker::new(BreakerConfig {
            failure_threshold: threshold,
            cool_down,
        });
        let now = Arc::new(Mutex::new(Instant::now()));
        let clock = Arc::clone(&now);
        b.set_clock(Arc::new(move || *clock.lock().unwrap()));
        (b, now)
    }

    #[test]
    fn failures_below_the_threshold_or_broken_by_a_success_keep_it_closed() {
        let (b, _) = breaker(3, Duration::from_secs(10));
        for _ in 0..2 {
            b.record(b.route(), &gpu_failure());
        }
        b.record(b.route(), &Ok(()));
        for _ in 0..2 {
            b.record(b.route(), &gpu_failure());
        }
        let s = b.stats();
        assert_eq!(
            (s.state, s.consecutive_failures, s.trips),
            (BreakerState::Closed, 2, 0)
        );
        assert_eq!(s.gpu_failures, 4);
    }

    #[test]
    fn bad_input_cancels_and_adapter_limits_never_count() {
        let (b, _) = breaker(1, Duration::from_secs(10));
        let neutral = [
            Error::Options("bad".into()),
            Error::Cancelled,
            Error::DeadlineExceeded,
            Error::GpuLimit("too large for this adapter".into()),
        ];
        for e in neutral {
            b.record(b.route(), &Err::<(), _>(e));
        }
        let s = b.stats();
        assert_eq!((s.state, s.gpu_failures), (BreakerState::Closed, 0));
    }

    #[test]
    fn it_opens_cools_down_and_a_trial_closes_or_reopens_it() {
        let (b, now) = breaker(2, Duration::from_secs(10));
        b.record(b.route(), &gpu_failure());
        b.record(b.route(), &gpu_failure());
        assert_eq!(b.stats().state, BreakerState::Open);
        assert_eq!(b.stats().cool_down_left, Some(Duration::from_secs(10)));
        assert_eq!(b.route(), Route::Cpu);
        *now.lock().unwrap() += Duration::from_secs(10);
        assert_eq!(b.stats().state, BreakerState::HalfOpen);
        assert_eq!(b.stats().cool_down_left, None);
        // The trial, and meanwhile the CPU for everyone else.
        assert_eq!(b.route(), Route::Trial);
        assert_eq!(b.stats().state, BreakerState::HalfOpen);
        assert_eq!(b.route(), Route::Cpu);
        b.record(Route::Trial, &gpu_failure());
        let s = b.stats();
        assert_eq!(
            (s.state, s.trips, s.cpu_renders),
            (BreakerState::Open, 2, 2)
        );
        *now.lock().unwrap() += Duration::from_secs(10);
        assert_eq!(b.route(), Route::Trial);
        b.record(Route::Trial, &Ok(()));
        let s = b.stats();
        assert_eq!((s.state, s.consecutive_failures), (BreakerState::Closed, 0));
        assert_eq!(b.route(), Route::Gpu);
    }

    #[test]
    fn a_trial_that_ends_in_bad_input_leaves_the_next_render_to_try_again() {
        let (b, now) = breaker(1, Duration::ZERO);
        b.record(b.route(), &gpu_failure());
        *now.lock().unwrap() += Duration::from_secs(1);
        assert_eq!(b.route(), Route::Trial);
        b.record(Route::Trial, &Err::<(), _>(Error::Options("bad".into())));
        assert_eq!(b.stats().state, BreakerState::HalfOpen);
        assert_eq!(b.route(), Route::Trial);
    }
}
