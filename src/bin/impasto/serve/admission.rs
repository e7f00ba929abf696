//! Admission control: at most `workers` renders run, at most `queue`
//! requests wait, and every render first reserves its estimated bytes from
//! the memory budget. A full queue is refused at once (429); a render that
//! could never fit the budget is refused (413); one that cannot fit now
//! waits in the queue, in arrival order (tokio's semaphores are fair).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::error::ServeError;
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
    memory: Arc<Semaphore>,
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
    _memory: OwnedSemaphorePermit,
    bytes: u64,
    metrics: Arc<Metrics>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
        let bytes = i64::try_from(self.bytes).unwrap_or(i64::MAX);
        self.metrics
            .reserved_bytes
            .fetch_sub(bytes, Ordering::Relaxed);
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
            .min(self._memory.num_permits());
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
/// or by a request body's JSON while it is parsed into a tree
/// ([`Admission::reserve_parse`]).
#[derive(Debug)]
pub struct Held {
    _memory: Option<OwnedSemaphorePermit>,
    bytes: u64,
    metrics: Arc<Metrics>,
}

impl Drop for Held {
    fn drop(&mut self) {
        let bytes = i64::try_from(self.bytes).unwrap_or(i64::MAX);
        self.metrics
            .reserved_bytes
            .fetch_sub(bytes, Ordering::Relaxed);
    }
}

impl Held {
    /// The bytes held (for a parse: what its tree may take).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

/// The most a JSON text's tree can take a byte of text, bounded from the
/// shapes that cost most (`{"":0},` repeated: a 632-byte B-tree leaf, its
/// slot and the array's doubling for seven bytes of text, about 111 bytes
/// a byte); the parser's own estimate (`impasto::scene`) stops it there
/// anyway.
pub const TREE_BYTES_PER_TEXT_BYTE: u64 = 128;

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
            memory: Arc::new(Semaphore::new(memory_units.min(Semaphore::MAX_PERMITS))),
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

    /// Waits until the memory a body of `text_bytes` bytes may take as a
    /// parsed tree is free in the budget ([`TREE_BYTES_PER_TEXT_BYTE`]
    /// times it, plus 1 MiB; the whole budget at most, which the parse is
    /// then held to), so that parses, which ran beside the renders outside
    /// the budget, are counted in it: six bodies of 63 MB of tiny objects
    /// parsed at once peaked at 820 MB under a 300 MB budget.
    pub async fn reserve_parse(&self, text_bytes: u64) -> Result<Held, ServeError> {
        let want = text_bytes
            .saturating_mul(TREE_BYTES_PER_TEXT_BYTE)
            .saturating_add(1 << 20);
        let most = self.budget / UNIT;
        let need = u32::try_from(units(want).min(most)).unwrap_or(u32::MAX);
        let memory = Arc::clone(&self.memory)
            .acquire_many_owned(need)
            .await
            .map_err(|_| ServeError::Draining)?;
        let bytes = u64::from(need) * UNIT;
        let signed = i64::try_from(bytes).unwrap_or(i64::MAX);
        self.metrics
            .reserved_bytes
            .fetch_add(signed, Ordering::Relaxed);
        Ok(Held {
            _memory: Some(memory),
            bytes,
            metrics: Arc::clone(&self.metrics),
        })
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
        let memory = Arc::clone(&self.memory)
            .acquire_many_owned(need)
            .await
            .map_err(closed)?;
        let worker = Arc::clone(&self.running)
            .acquire_owned()
            .await
            .map_err(closed)?;
        let signed = i64::try_from(bytes).unwrap_or(i64::MAX);
        self.metrics
            .reserved_bytes
            .fetch_add(signed, Ordering::Relaxed);
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

    #[test]
    fn a_body_parse_reserves_its_tree_in_the_budget_and_waits_for_it() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            let metrics = Arc::new(Metrics::default());
            let admission = Admission::new(1, 1, 200 << 20, Arc::clone(&metrics));
            // 128 bytes a byte of text, and a MiB, in whole KiB.
            let kib = |bytes: u64| bytes.div_ceil(UNIT) * UNIT;
            let small = admission.reserve_parse(1000).await.unwrap();
            assert_eq!(small.bytes(), kib(1000 * 128 + (1 << 20)));
            let reserved = || metrics.reserved_bytes.load(Ordering::Relaxed);
            assert_eq!(reserved(), kib(1000 * 128 + (1 << 20)) as i64);
            drop(small);
            assert_eq!(reserved(), 0);
            // A body that could take more than the budget takes all of it,
            // and the next parse waits until it is done.
            let whole = admission.reserve_parse(10 << 20).await.unwrap();
            assert_eq!(whole.bytes(), 200 << 20);
            let waiting = admission.reserve_parse(10);
            let waited = tokio::time::timeout(std::time::Duration::from_millis(50), waiting).await;
            assert!(waited.is_err(), "the second parse did not wait");
            drop(whole);
            let next = admission.reserve_parse(10).await.unwrap();
            assert_eq!(next.bytes(), kib(10 * 128 + (1 << 20)));
        });
    }
}
