//! Weight tables kept between plans: a batch that draws the same photo and
//! logo in the same box on every card computes each axis's
//! [`AxisWeights`] once instead of once a card. A table is a pure function
//! of its five arguments (the filter, both lengths, and the bits of the
//! start and the step), so a kept one is bit for bit the one
//! [`AxisWeights::new`] would compute. Computing them is mostly the
//! Lanczos kernel's two `sin` a tap: about a fifth of what the thread
//! driving the GPU spends on a 600x750 card of `examples/batch` (perf,
//! BENCHMARKS.md), and the same work on the CPU backend.
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

fn cache() -> std::sync::MutexGuard<'static, Inner> {
    static CACHE: OnceLock<Mutex<Inner>> = OnceLock::new();
    CACHE
        .get_or_init(|| {
            Mutex::new(Inner {
                tables: ByteLru::new(WEIGHTS_CACHE_BYTES),
                hits: 0,
                misses: 0,
            })
        })
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

/// The process's weight-table cache's figures.
pub fn weights_cache_stats() -> WeightsCacheStats {
    let c = cache();
    WeightsCacheStats {
        tables: c.tables.len(),
        bytes: c.tables.bytes(),
        budget: c.tables.budget(),
        hits: c.hits,
        misses: c.misses,
        evictions: c.tables.evictions(),
    }
}

/// Bytes a table is charged: its two arrays and a little for the entry.
fn bytes(w: &AxisWeights) -> u64 {
    (w.start.len() as u64 + w.weights.len() as u64) * 4 + 64
}

impl AxisWeights {
    /// [`AxisWeights::new`]'s table, from the cache when it holds it
    /// (computed outside the cache's lock otherwise, then kept).
    pub fn cached(filter: Filter, src_len: u32, dst_len: u32, u0: f64, step: f64) -> AxisWeights {
        let args = Args {
            filter,
            src_len,
            dst_len,
            u0: u0.to_bits(),
            step: step.to_bits(),
        };
        let held = {
            let mut c = cache();
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
        let table = AxisWeights::new(filter, src_len, dst_len, u0, step);
        let size = bytes(&table);
        cache().tables.insert(args, Arc::new(table.clone()), size);
        table
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_table_is_the_computed_one_bit_for_bit_and_other_arguments_are_other_tables() {
        // Arguments no other test uses, so the counts are this test's.
        let args = [
            (Filter::Lanczos3, 977u32, 1311u32, 0.25f64, 977.0 / 1311.0),
            (Filter::Bilinear, 977, 1311, 0.25, 977.0 / 1311.0),
            (
                Filter::Lanczos3,
                977,
                1311,
                0.25f64.next_up(),
                977.0 / 1311.0,
            ),
            (Filter::Lanczos3, 977, 1310, 0.25, 977.0 / 1311.0),
        ];
        let before = weights_cache_stats();
        for &(f, s, d, u0, step) in &args {
            let want = AxisWeights::new(f, s, d, u0, step);
            for _ in 0..3 {
                let got = AxisWeights::cached(f, s, d, u0, step);
                assert_eq!(got.taps, want.taps);
                assert_eq!(got.start, want.start);
                let bits =
                    |w: &AxisWeights| w.weights.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&got), bits(&want));
            }
        }
        let after = weights_cache_stats();
        // Other tests plan images at the same time: at least ours.
        assert!(after.misses >= before.misses + 4, "{before:?} {after:?}");
        assert!(after.hits >= before.hits + 8, "{before:?} {after:?}");
        assert!(after.bytes <= after.budget && after.budget == WEIGHTS_CACHE_BYTES);
    }
}
