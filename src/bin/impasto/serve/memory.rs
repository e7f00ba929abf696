//! The memory budget's units (KiB), taken first-fit: a reservation that
//! fits what is free is taken at once, whoever waits for more; one that
//! does not waits until memory is given back, and tries again.
//!
//! Why not a fair semaphore's `acquire_many` alone: tokio's hands what is
//! free to the first waiter, which holds it while it waits for the rest,
//! so everything behind it waits too. A 1 KiB body waited seconds, to its
//! deadline, behind a body waiting for room for a 90 MiB tree with 60 MiB
//! of a 160 MiB budget free. First-fit lets the small ones through; a
//! large reservation can wait longer than arrival order would have it,
//! while smaller ones keep fitting, until its deadline.

use std::sync::Arc;

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

/// The budget's units.
#[derive(Debug)]
pub struct Memory {
    permits: Arc<Semaphore>,
    /// Told each time units are given back.
    freed: Arc<Notify>,
}

/// Units taken from a [`Memory`], given back when dropped.
#[derive(Debug)]
pub struct Units {
    permit: Option<OwnedSemaphorePermit>,
    freed: Arc<Notify>,
}

impl Memory {
    /// A budget of `units`.
    pub fn new(units: usize) -> Memory {
        Memory {
            permits: Arc::new(Semaphore::new(units.min(Semaphore::MAX_PERMITS))),
            freed: Arc::new(Notify::new()),
        }
    }

    fn units(&self, permit: OwnedSemaphorePermit) -> Units {
        Units {
            permit: Some(permit),
            freed: Arc::clone(&self.freed),
        }
    }

    /// `n` units if they are free now.
    pub fn try_take(&self, n: u32) -> Option<Units> {
        let permit = Arc::clone(&self.permits).try_acquire_many_owned(n).ok()?;
        Some(self.units(permit))
    }

    /// `n` units, once they are free (never, if `n` is more than the
    /// budget: the callers refuse that first).
    pub async fn take(&self, n: u32) -> Units {
        loop {
            // Registered before the try, so that units given back between
            // the try and the wait are not missed.
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            if let Some(units) = self.try_take(n) {
                return units;
            }
            freed.await;
        }
    }
}

impl Units {
    /// How many units these are.
    pub fn count(&self) -> usize {
        self.permit.as_ref().map_or(0, |p| p.num_permits())
    }

    /// `n` of these units, split off (none when there are fewer).
    pub fn split(&mut self, n: usize) -> Option<Units> {
        let permit = self.permit.as_mut()?.split(n)?;
        Some(Units {
            permit: Some(permit),
            freed: Arc::clone(&self.freed),
        })
    }

    /// Adds `other`'s units to these.
    pub fn merge(&mut self, mut other: Units) {
        match (self.permit.as_mut(), other.permit.take()) {
            (Some(mine), Some(theirs)) => mine.merge(theirs),
            (None, theirs) => self.permit = theirs,
            (_, None) => {}
        }
    }
}

impl Drop for Units {
    fn drop(&mut self) {
        if let Some(permit) = self.permit.take() {
            drop(permit);
            self.freed.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn units_that_fit_are_taken_ahead_of_a_wait_for_more_and_a_wait_ends_when_they_are_freed() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            let memory = Memory::new(4);
            let mut two = memory.take(2).await;
            let three = memory.take(3);
            tokio::pin!(three);
            let waited = tokio::time::timeout(Duration::from_millis(30), &mut three).await;
            assert!(waited.is_err(), "3 of the 2 free");
            // One fits, waiting or not for three.
            let one = memory.try_take(1).expect("one unit, taken at once");
            // Split and merged, then given back: the wait for three ends.
            let half = two.split(1).unwrap();
            assert_eq!((two.count(), half.count()), (1, 1));
            two.merge(half);
            assert_eq!(two.count(), 2);
            drop((two, one));
            let three = tokio::time::timeout(Duration::from_secs(5), three)
                .await
                .expect("the wait ended when units were freed");
            assert_eq!(three.count(), 3);
            assert!(memory.try_take(2).is_none());
        });
    }
}
