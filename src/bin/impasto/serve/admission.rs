//! Admission control: at most `workers` renders run, at most `queue`
//! requests wait, and every render first reserves its estimated bytes from
//! the memory budget. A full queue is refused at once (429); a render that
//! could never fit the budget is refused (413); one that cannot fit now
//! waits in the queue until memory is given back (first-fit:
//! [`super::memory`]), then for a worker in arrival order.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::error::ServeError;
use super::memory::{Memory, Units};
use super::metrics::Metrics;

/// The memory semaphore counts KiB, so that `acquire_many`'s `u32` covers
/// budgets up to 4 TiB.
const UNIT: u64 = 1024;

/// The largest `--memory-budget` (4 TiB less one KiB).
pub const MAX_BUDGET: u64 = u32::MAX as u64 * UNIT;

/// The gates every render passes.
#[derive(Debug)]
pub struct Admission {
    workers: usize,
    queue: usize,
    budget: u64,
    /// `workers + queue` permits: one per admitted request.
    slots: Arc<Semaphore>,
    /// `workers` permits.
    running: Arc<Semaphore>,
    /// The budget in KiB.
    memory: Memory,
    metrics: Arc<Metrics>,
}

/// An admitted request, waiting (counted in the queue depth) until
/// [`Admission::start`] turns it into a [`Running`] render.
#[derive(Debug)]
pub struct Slot {
    /// `None` once [`Admission::start`] has moved it to a [`Running`].
    permit: Option<OwnedSemaphorePermit>,
    metrics: Arc<Metrics>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if self.permit.is_some() {
            self.metrics.queued.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// A render holding a worker and its memory; dropping it (when the render
/// ends, whether or not anyone still waits for it) frees both.
#[derive(Debug)]
pub struct Running {
    _slot: OwnedSemaphorePermit,
    _worker: OwnedSemaphorePermit,
    _memory: Units,
    bytes: u64,
    metrics: Arc<Metrics>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.metrics.release(self.bytes);
    }
}

impl Running {
    /// Keeps `bytes` of this render's reservation (its encoded answer's
    /// size) past its end, until the [`Held`] is dropped: when the answer
    /// is written or its connection closes. The rest is freed with the
    /// worker when the render ends. (An answer larger than the reservation,
    /// which the estimate's canvas copy makes unlikely, holds all of it.)
    pub fn keep(&mut self, bytes: u64) -> Held {
        let n = usize::try_from(units(bytes))
            .unwrap_or(usize::MAX)
            .min(self._memory.count());
        let permit = self._memory.split(n);
        let kept = if permit.is_some() {
            (n as u64 * UNIT).min(self.bytes)
        } else {
            0
        };
        self.bytes -= kept;
        Held {
            _memory: permit,
            bytes: kept,
            metrics: Arc::clone(&self.metrics),
        }
    }
}

/// Bytes of the memory budget held outside a running render: by an encoded
/// answer until it is written (so clients that read slowly, or not at all
/// until `--write-timeout`, cannot hold more than the budget in answers),
/// by a request body from before it is read until it is parsed
/// ([`Admission::reserve_body`]), or by the tree its JSON is parsed into
/// ([`Admission::reserve_parse`]).
#[derive(Debug)]
pub struct Held {
    _memory: Option<Units>,
    bytes: u64,
    metrics: Arc<Metrics>,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.metrics.release(self.bytes);
    }
}

impl Held {
    /// The bytes held (for a parse: what its tree may take).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Frees what is held beyond `bytes` (a body read without a
    /// `Content-Length`, which held `--max-body` until its end).
    pub fn trim(&mut self, bytes: u64) {
        let Some(memory) = self._memory.as_mut() else {
            return;
        };
        let keep = units(bytes).min(self.bytes / UNIT);
        let extra = usize::try_from(self.bytes / UNIT - keep).unwrap_or(usize::MAX);
        if extra == 0 {
            return;
        }
        // Dropped at once: back in the budget.
        drop(memory.split(extra));
        self.bytes = keep * UNIT;
        self.metrics.release(extra as u64 * UNIT);
    }
}

fn units(bytes: u64) -> u64 {
    bytes.div_ceil(UNIT)
}

impl Admission {
    /// Gates for `workers` renders, `queue` waiting requests and `budget`
    /// bytes (at most [`MAX_BUDGET`]; `workers` at least 1).
    pub fn new(workers: usize, queue: usize, budget: u64, metrics: Arc<Metrics>) -> Admission {
        let budget = budget.min(MAX_BUDGET);
        let workers = workers.max(1);
        let memory_units = usize::try_from(budget / UNIT).unwrap_or(Semaphore::MAX_PERMITS);
        Admission {
            workers,
            queue,
            budget,
            slots: Arc::new(Semaphore::new(workers.saturating_add(queue))),
            running: Arc::new(Semaphore::new(workers)),
            memory: Memory::new(memory_units),
            metrics,
        }
    }

    /// The memory budget in bytes.
    pub fn budget(&self) -> u64 {
        self.budget
    }

    /// Admits a request or refuses it at once when `workers + queue`
    /// requests are admitted already.
    pub fn enter(&self) -> Result<Slot, ServeError> {
        match Arc::clone(&self.slots).try_acquire_owned() {
            Ok(permit) => {
                self.metrics.queued.fetch_add(1, Ordering::Relaxed);
                Ok(Slot {
                    permit: Some(permit),
                    metrics: Arc::clone(&self.metrics),
                })
            }
            Err(_) => Err(ServeError::QueueFull {
                workers: self.workers,
                queue: self.queue,
            }),
        }
    }

    /// Waits until `bytes` of the budget (the whole budget at most) are
    /// free, and holds them.
    async fn hold(&self, bytes: u64) -> Held {
        let need = u32::try_from(units(bytes).min(self.budget / UNIT)).unwrap_or(u32::MAX);
        let memory = self.memory.take(need).await;
        let bytes = u64::from(need) * UNIT;
        self.metrics.reserve(bytes);
        Held {
            _memory: Some(memory),
            bytes,
            metrics: Arc::clone(&self.metrics),
        }
    }

    /// Waits until a request body of `bytes` (its `Content-Length`, or
    /// `--max-body` when it has none, [`Held::trim`]med once read) is free
    /// in the budget, before any of it is read: so that the bodies open
    /// connections send, up to `--max-body` each, are counted in the
    /// budget while they are read and parsed. The whole budget at most (a
    /// body that would need more is refused by the caller).
    pub async fn reserve_body(&self, bytes: u64) -> Held {
        self.hold(bytes).await
    }

    /// Makes `body`'s reservation (that of a body, read) one for the body
    /// and the `tree` bytes its JSON parses into (measured beforehand,
    /// `impasto::scene::json_tree_bytes`; the caller has refused a body
    /// whose tree would not fit [`Admission::fits_beside`] it), so that
    /// parses, which ran beside the renders outside the budget, are counted
    /// in it: six bodies of 63 MB of tiny objects parsed at once had peaked
    /// at 820 MB under a 300 MB budget.
    ///
    /// Taken at once when the budget has it. Otherwise the body's bytes are
    /// given back and the whole waited for (first-fit): requests that
    /// each held a body while they waited for room for a tree could fill
    /// the budget so that none got it (two bodies of a third of the budget
    /// did), until their deadlines. While it waits, the body is memory the
    /// budget does not count; the caller holds an admission [`Slot`] by
    /// then, so that at most `--workers + --queue` such bodies wait.
    pub async fn reserve_parse(&self, tree: u64, mut body: Held) -> Held {
        let held = units(body.bytes);
        let whole = held.saturating_add(units(tree)).min(self.budget / UNIT);
        let more = u32::try_from(whole.saturating_sub(held)).unwrap_or(u32::MAX);
        if let Some(permit) = body._memory.as_mut() {
            if let Some(extra) = self.memory.try_take(more) {
                permit.merge(extra);
                let added = u64::from(more) * UNIT;
                body.bytes += added;
                self.metrics.reserve(added);
                return body;
            }
        }
        drop(body);
        self.hold(whole * UNIT).await
    }

    /// The budget as reservations count it, in whole KiB (rounded down).
    pub fn usable(&self) -> u64 {
        self.budget / UNIT * UNIT
    }

    /// Whether a body of `body` bytes and the `tree` its JSON parses into
    /// fit the budget together, as they are reserved (whole KiB each).
    pub fn fits_beside(&self, body: u64, tree: u64) -> bool {
        units(body).saturating_add(units(tree)) <= self.budget / UNIT
    }

    /// The budget units a render estimated at `bytes` reserves; 413 when
    /// it could never fit the whole budget.
    pub fn units_within_budget(&self, bytes: u64) -> Result<u32, ServeError> {
        // Whole KiB of the budget, rounded down, must hold the estimate
        // rounded up: otherwise it would wait for ever.
        match u32::try_from(units(bytes)) {
            Ok(n) if u64::from(n) <= self.budget / UNIT => Ok(n),
            _ => Err(ServeError::OverMemoryBudget {
                needed: bytes,
                budget: self.budget,
            }),
        }
    }

    /// Waits until `bytes` of the budget and a worker are free (in that
    /// order), or refuses a render that could never fit the budget.
    pub async fn start(&self, mut slot: Slot, bytes: u64) -> Result<Running, ServeError> {
        let need = self.units_within_budget(bytes)?;
        let closed = |_| ServeError::Draining;
        let memory = self.memory.take(need).await;
        let worker = Arc::clone(&self.running)
            .acquire_owned()
            .await
            .map_err(closed)?;
        self.metrics.reserve(bytes);
        self.metrics.in_flight.fetch_add(1, Ordering::Relaxed);
        let Some(permit) = slot.permit.take() else {
            return Err(ServeError::Internal("admission slot used twice".into()));
        };
        self.metrics.queued.fetch_sub(1, Ordering::Relaxed);
        Ok(Running {
            _slot: permit,
            _worker: worker,
            _memory: memory,
            bytes,
            metrics: Arc::clone(&self.metrics),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
    }

    async fn futures_join<A, B>(
        a: impl std::future::Future<Output = A>,
        b: impl std::future::Future<Output = B>,
    ) -> (A, B) {
        tokio::join!(a, b)
    }

    /// Whole KiB, rounded up.
    fn kib(bytes: u64) -> u64 {
        bytes.div_ceil(UNIT) * UNIT
    }

    #[test]
    fn a_body_parse_reserves_its_tree_in_the_budget_and_waits_for_it() {
        runtime().block_on(async {
            let metrics = Arc::new(Metrics::default());
            let admission = Admission::new(1, 1, 200 << 20, Arc::clone(&metrics));
            let reserved = || metrics.reserved_bytes.load(Ordering::Relaxed);
            let body = || admission.reserve_body(0);
            // The tree's bytes, in whole KiB.
            let small = admission.reserve_parse(1000, body().await).await;
            assert_eq!(small.bytes(), kib(1000));
            drop(small);
            assert_eq!(reserved(), 0);
            // A tree of the whole budget takes all of it, and the next
            // parse waits until it is done.
            let whole = admission.reserve_parse(200 << 20, body().await).await;
            assert_eq!(whole.bytes(), 200 << 20);
            assert!(admission.fits_beside(0, 200 << 20));
            assert!(!admission.fits_beside(1, 200 << 20));
            let waiting = admission.reserve_parse(10, body().await);
            let waited = tokio::time::timeout(Duration::from_millis(50), waiting).await;
            assert!(waited.is_err(), "the second parse did not wait");
            drop(whole);
            let next = admission.reserve_parse(10, body().await).await;
            assert_eq!(next.bytes(), kib(10));
            drop(next);
            assert_eq!(reserved(), 0);
        });
    }

    #[test]
    fn a_body_holds_its_bytes_until_dropped_and_its_tree_adds_to_it() {
        runtime().block_on(async {
            let metrics = Arc::new(Metrics::default());
            let admission = Admission::new(1, 1, 4 << 20, Arc::clone(&metrics));
            let reserved = || metrics.reserved_bytes.load(Ordering::Relaxed);
            // A body without a length holds --max-body (here 3 MiB) until
            // it is read, then what it took, in whole KiB.
            let mut body = admission.reserve_body(3 << 20).await;
            assert_eq!(reserved(), 3 << 20);
            body.trim(1500);
            assert_eq!(body.bytes(), 2 * UNIT);
            assert_eq!(reserved(), 2 * UNIT as i64);
            // Trimming to more than is held changes nothing.
            body.trim(1 << 30);
            assert_eq!(body.bytes(), 2 * UNIT);
            // Its tree is added to it.
            let both = admission.reserve_parse(30_000, body).await;
            assert_eq!(both.bytes(), 2 * UNIT + kib(30_000));
            assert_eq!(reserved(), both.bytes() as i64);
            drop(both);
            let body = admission.reserve_body(1500).await;
            let both = admission.reserve_parse((4 << 20) - 2048, body).await;
            assert_eq!(both.bytes(), 4 << 20);
            // The budget is full: the next body waits.
            let waiting = admission.reserve_body(1);
            let waited = tokio::time::timeout(Duration::from_millis(50), waiting).await;
            assert!(waited.is_err(), "a body was read past the budget");
            drop(both);
            assert_eq!(reserved(), 0);
            // A budget of no whole number of KiB: counted in whole KiB.
            let odd = Admission::new(1, 1, 1_000_000, Arc::clone(&metrics));
            assert_eq!(odd.usable(), 976 * UNIT);
            assert!(odd.fits_beside(100, 975 * UNIT));
            assert!(!odd.fits_beside(100, 975 * UNIT + 1));
            let body = odd.reserve_body(100).await;
            let both =
                tokio::time::timeout(Duration::from_secs(5), odd.reserve_parse(975 * UNIT, body))
                    .await
                    .expect("the tree fits beside the body");
            assert_eq!(both.bytes(), 976 * UNIT);
            // A body over the whole budget holds all of it.
            let all = admission.reserve_body(u64::MAX).await;
            assert_eq!(all.bytes(), 4 << 20);
        });
    }

    #[test]
    fn a_reservation_that_fits_goes_ahead_of_one_waiting_for_more_than_is_free() {
        runtime().block_on(async {
            let metrics = Arc::new(Metrics::default());
            let admission = Admission::new(1, 1, 4 << 20, Arc::clone(&metrics));
            let held = admission.reserve_body(2 << 20).await;
            let large = admission.reserve_body(3 << 20);
            tokio::pin!(large);
            let waited = tokio::time::timeout(Duration::from_millis(50), &mut large).await;
            assert!(waited.is_err(), "3 MiB of the 2 free");
            // 1 MiB fits: it is not made to wait behind the 3 MiB.
            let small =
                tokio::time::timeout(Duration::from_millis(50), admission.reserve_body(1 << 20))
                    .await
                    .expect("the small reservation waited behind the large one");
            drop((held, small));
            let large = tokio::time::timeout(Duration::from_secs(5), large).await;
            assert_eq!(large.expect("the large one, once free").bytes(), 3 << 20);
        });
    }

    #[test]
    fn bodies_that_each_want_the_whole_budget_for_their_tree_take_turns_rather_than_wait_for_ever()
    {
        runtime().block_on(async {
            let metrics = Arc::new(Metrics::default());
            let admission = Admission::new(1, 1, 4 << 20, Arc::clone(&metrics));
            // Two bodies of a MiB, read; each tree would take the budget.
            let first = admission.reserve_body(1 << 20).await;
            let second = admission.reserve_body(1 << 20).await;
            // Each gives its body back when its tree does not fit, and
            // waits for body and tree together; one gets them, parses and
            // lets them go, then the other.
            let admission = &admission;
            let parse = |body| async move {
                let both = admission.reserve_parse(3 << 20, body).await;
                both.bytes()
            };
            let both = futures_join(parse(first), parse(second));
            let (one, two) = tokio::time::timeout(Duration::from_secs(5), both)
                .await
                .expect("the two parses waited for each other");
            assert_eq!((one, two), (4 << 20, 4 << 20));
            assert_eq!(metrics.reserved_bytes.load(Ordering::Relaxed), 0);
        });
    }
}
