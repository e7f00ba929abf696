//! Weight tables kept between plans: a batch that draws the same photo and
//! logo in the same box on every card computes each axis's
//! [`AxisWeights`] once instead of once a card. A table is a pure function
//! of its five arguments (the filter, both lengths, and the bits of the
//! start and the step), so a kept one is bit for bit the one
//! [`AxisWeights::new`] would compute. Computing them is mostly the
//! Lanczos kernel's two `sin` a tap: measured on lavapipe, about a fifth
//! of what the thread driving the GPU spent on a 600x750 card of
//! `examples/batch` (perf, BENCHMARKS.md), and the same work on the CPU
//! backend.
//!
//! Process-wide (the tables depend on no renderer setting), under a fixed
//! byte budget ([`WEIGHTS_CACHE_BYTES`], least recently used first), with
//! figures in [`weights_cache_stats`].

use std::sync::{Arc, Mutex, OnceLock};

use super::weights::AxisWeights;
use crate::byte_lru::ByteLru;
use crate::scene::Filter;

/// The weight-table cache's byte budget: 16 MiB, a few hundred tables of a
/// card's size (a 1200-pixel axis upscaled by Lanczos is about 38 KiB).
pub const WEIGHTS_CACHE_BYTES: u64 = 16 << 20;

/// The arguments of [`AxisWeights::new`], floats by their bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Args {
    filter: Filter,
    src_len: u32,
    dst_len: u32,
    u0: u64,
    step: u64,
}

/// A byte-bounded map of weight tables with its counts; the process has
/// one ([`AxisWeights::cached`]), tests make their own.
struct WeightsCache {
    inner: Mutex<Inner>,
}

struct Inner {
    tables: ByteLru<Args, Arc<AxisWeights>>,
    hits: u64,
    misses: u64,
}

/// The weight-table cache's figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WeightsCacheStats {
    /// Tables held.
    pub tables: usize,
    /// Bytes they hold.
    pub bytes: u64,
    /// The byte budget ([`WEIGHTS_CACHE_BYTES`]).
    pub budget: u64,
    /// Tables read from the cache.
    pub hits: u64,
    /// Tables computed.
    pub misses: u64,
    /// Tables dropped to stay within the budget.
    pub evictions: u64,
}

impl WeightsCache {
    fn new(budget: u64) -> WeightsCache {
        WeightsCache {
            inner: Mutex::new(Inner {
                tables: ByteLru::new(budget),
                hits: 0,
                misses: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn stats(&self) -> WeightsCacheStats {
        let c = self.lock();
        WeightsCacheStats {
            tables: c.tables.len(),
            bytes: c.tables.bytes(),
            budget: c.tables.budget(),
            hits: c.hits,
            misses: c.misses,
            evictions: c.tables.evictions(),
        }
    }

    /// The table of `args`: a copy of the kept one, or computed (outside
    /// the lock) and kept when it fits the budget.
    fn table(&self, args: Args) -> AxisWeights {
        let held = {
            let mut c = self.lock();
            let found = c.tables.get(&args).cloned();
            match found {
                Some(_) => c.hits += 1,
                None => c.misses += 1,
            }
            found
        };
        if let Some(table) = held {
            return AxisWeights::clone(&table);
        }
        let table = AxisWeights::new(
            args.filter,
            args.src_len,
            args.dst_len,
            f64::from_bits(args.u0),
            f64::from_bits(args.step),
        );
        let size = bytes(&table);
        let mut c = self.lock();
        if size <= c.tables.budget() {
            c.tables.insert(args, Arc::new(table.clone()), size);
        }
        table
    }
}

/// The process's cache.
fn process_cache() -> &'static WeightsCache {
    static CACHE: OnceLock<WeightsCache> = OnceLock::new();
    CACHE.get_or_init(|| WeightsCache::new(WEIGHTS_CACHE_BYTES))
}

/// The process's weight-table cache's figures.
pub fn weights_cache_stats() -> WeightsCacheStats {
    process_cache().stats()
}

/// Bytes a table is charged: its two arrays and a little for the entry.
fn bytes(w: &AxisWeights) -> u64 {
    (w.start.len() as u64 + w.weights.len() as u64) * 4 + 64
}

impl Args {
    fn new(filter: Filter, src_len: u32, dst_len: u32, u0: f64, step: f64) -> Args {
        Args {
            filter,
            src_len,
            dst_len,
            u0: u0.to_bits(),
            step: step.to_bits(),
        }
    }
}

impl AxisWeights {
    /// [`AxisWeights::new`]'s table, from the process's cache when it holds
    /// it (computed outside the cache's lock otherwise, then kept).
    pub fn cached(filter: Filter, src_len: u32, dst_len: u32, u0: f64, step: f64) -> AxisWeights {
        process_cache().table(Args::new(filter, src_len, dst_len, u0, step))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(w: &AxisWeights) -> (usize, Vec<u32>, Vec<u32>) {
        let weights = w.weights.iter().map(|v| v.to_bits()).collect();
        (w.taps, w.start.clone(), weights)
    }

    #[test]
    fn a_kept_table_is_the_computed_one_bit_for_bit_and_each_argument_is_in_the_key() {
        let cache = WeightsCache::new(1 << 20);
        let base = (
            Filter::Lanczos3,
            977u32,
            1311u32,
            0.25f64,
            977.0f64 / 1311.0,
        );
        let (f, s, d, u0, step) = base;
        // The base, then each argument changed alone.
        let args = [
            base,
            (Filter::Bilinear, s, d, u0, step),
            (f, 976, d, u0, step),
            (f, s, 1310, u0, step),
            (f, s, d, u0.next_up(), step),
            (f, s, d, u0, step.next_up()),
        ];
        for &(f, s, d, u0, step) in &args {
            let want = bits(&AxisWeights::new(f, s, d, u0, step));
            for _ in 0..3 {
                let got = cache.table(Args::new(f, s, d, u0, step));
                assert_eq!(bits(&got), want);
            }
        }
        let st = cache.stats();
        assert_eq!((st.misses, st.hits, st.tables), (6, 12, 6), "{st:?}");
        assert!(st.bytes <= st.budget, "{st:?}");
    }

    #[test]
    fn a_table_over_the_budget_is_computed_every_time_and_never_kept() {
        let cache = WeightsCache::new(1000);
        for _ in 0..2 {
            let got = cache.table(Args::new(Filter::Lanczos3, 500, 600, 0.0, 0.8));
            assert_eq!(got.len(), 600);
        }
        let st = cache.stats();
        assert_eq!(
            (st.misses, st.hits, st.tables, st.bytes),
            (2, 0, 0, 0),
            "{st:?}"
        );
    }
}
