//! Resampled ("placed") images kept between renders: a batch that draws
//! the same photo at the same place on every card resamples it once. Both
//! backends keep one: the CPU's holds `Arc<PremulImage>`s in host memory,
//! the GPU's (`crate::gpu::placed`) `f32` storage buffers on the device;
//! the keys, the doorkeeper and the budget are the same code. An
//! entry is keyed by what determines every resampled pixel: the decoded
//! image's identity ([`SourceKey`]: the decoded-image cache's key, or an
//! in-memory asset's number), its size, the blend space its pixels are
//! premultiplied in, and both axes' weight tables (the filter, the source
//! crop, the target size and the phase are all in them, bit for bit). What
//! is kept is exactly what the backend's resample produces (the CPU's
//! unorm16 premultiplied pixels, the GPU's `f32` ones), so a render from
//! the cache is byte-identical to one that resamples.
//!
//! A key is filled on its second miss only (a small "doorkeeper" set of
//! keys missed once): a one-off render never pays for filling, and a batch
//! that draws each image once or cycles through more images than fit does
//! not churn the cache. Bounded by a byte budget (least recently used first).

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use crate::byte_lru::ByteLru;
use crate::color::BlendSpace;
use crate::pixels::PremulImage;
use crate::plan::weights::AxisWeights;
use crate::shrink::SourceKey;

/// Default byte budget of the resampled-image cache: 256 MiB.
pub const DEFAULT_PLACED_CACHE_BYTES: u64 = 256 << 20;

/// Keys the doorkeeper remembers (missed once, not yet filled).
const DOORKEEPER_KEYS: usize = 4096;

/// The resampled-image cache's figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PlacedCacheStats {
    /// Resampled images held.
    pub images: usize,
    /// Bytes they hold (per pixel: 8 on the CPU, unorm16 premultiplied
    /// RGBA; 16 on the GPU, `f32`).
    pub bytes: u64,
    /// The byte budget.
    pub budget: u64,
    /// Image layers that read their resample from the cache (on the GPU,
    /// counted per tile of a canvas drawn in tiles).
    pub hits: u64,
    /// Image layers that resampled (their key was not held; per tile on
    /// the GPU, as `hits`).
    pub misses: u64,
    /// Images dropped to stay under the budget.
    pub evictions: u64,
}

/// One axis's weight table, bit for bit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct WeightsKey {
    taps: usize,
    start: Vec<u32>,
    weights: Vec<u32>,
}

impl WeightsKey {
    fn of(w: &AxisWeights) -> WeightsKey {
        WeightsKey {
            taps: w.taps,
            start: w.start.clone(),
            weights: w.weights.iter().map(|v| v.to_bits()).collect(),
        }
    }
}

/// Everything that determines a resampled image's pixels.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PlacedKey {
    source: SourceKey,
    size: (u32, u32),
    linear: bool,
    x: WeightsKey,
    y: WeightsKey,
}

impl PlacedKey {
    /// The key of resampling the `size` image `source` with `xw` and `yw`,
    /// premultiplied in `space`.
    pub fn new(
        source: &SourceKey,
        size: (u32, u32),
        space: BlendSpace,
        xw: &AxisWeights,
        yw: &AxisWeights,
    ) -> PlacedKey {
        PlacedKey {
            source: source.clone(),
            size,
            linear: space == BlendSpace::Linear,
            x: WeightsKey::of(xw),
            y: WeightsKey::of(yw),
        }
    }

    /// Pixels the resampled image holds.
    pub fn pixels(&self) -> u64 {
        self.x.start.len() as u64 * self.y.start.len() as u64
    }

    fn digest(&self) -> u64 {
        let mut h = DefaultHasher::new();
        self.hash(&mut h);
        h.finish()
    }
}

/// What a lookup found.
pub(crate) enum Lookup<V> {
    /// The resampled image.
    Hit(V),
    /// Not held; worth filling (missed before, and fits the budget).
    Fill,
    /// Not held; resample without keeping it.
    Pass,
}

struct Inner<V> {
    entries: ByteLru<PlacedKey, V>,
    /// Digests of keys missed once, oldest first.
    seen: VecDeque<u64>,
    seen_set: HashSet<u64>,
    /// Digests of keys a render has claimed to fill ([`PlacedCache::claim`]).
    filling: HashSet<u64>,
    hits: u64,
    misses: u64,
}

/// A byte-bounded cache of resampled images shared by a renderer's threads,
/// each held as a `V` (cloned out on a hit: an `Arc` or a GPU handle) and
/// charged `bytes_per_pixel` a pixel.
pub(crate) struct PlacedCache<V = Arc<PremulImage>> {
    inner: Mutex<Inner<V>>,
    bytes_per_pixel: u64,
}

/// Bytes a pixel of the CPU's resampled images holds (unorm16 RGBA).
pub(crate) const CPU_BYTES_PER_PIXEL: u64 = 8;

impl<V: Clone> std::fmt::Debug for PlacedCache<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("PlacedCache").field(&self.stats()).finish()
    }
}

impl PlacedCache {
    /// The CPU backend's cache.
    pub fn new(budget: u64) -> PlacedCache {
        PlacedCache::holding(budget, CPU_BYTES_PER_PIXEL)
    }
}

impl<V: Clone> PlacedCache<V> {
    /// A cache of `budget` bytes whose entries are charged
    /// `bytes_per_pixel` a pixel.
    pub fn holding(budget: u64, bytes_per_pixel: u64) -> PlacedCache<V> {
        let inner = Inner {
            entries: ByteLru::new(budget),
            seen: VecDeque::new(),
            seen_set: HashSet::new(),
            filling: HashSet::new(),
            hits: 0,
            misses: 0,
        };
        PlacedCache {
            inner: Mutex::new(inner),
            bytes_per_pixel,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<V>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The byte budget (0: off).
    pub fn budget(&self) -> u64 {
        self.lock().entries.budget()
    }

    pub fn stats(&self) -> PlacedCacheStats {
        let inner = self.lock();
        PlacedCacheStats {
            images: inner.entries.len(),
            bytes: inner.entries.bytes(),
            budget: inner.entries.budget(),
            hits: inner.hits,
            misses: inner.misses,
            evictions: inner.entries.evictions(),
        }
    }

    /// Changes the byte budget (0 turns the cache off), evicting the least
    /// recently used images down to it.
    pub fn set_budget(&self, bytes: u64) {
        self.lock().entries.set_budget(bytes);
    }

    /// Bytes the resample `key` names is charged.
    pub fn bytes_of(&self, key: &PlacedKey) -> u64 {
        key.pixels().saturating_mul(self.bytes_per_pixel)
    }

    /// Looks `key` up. `count` records the lookup (hit or miss, and the
    /// doorkeeper); an estimate looks without it.
    pub fn lookup(&self, key: &PlacedKey, count: bool) -> Lookup<V> {
        let mut inner = self.lock();
        let found = if count {
            inner.entries.get(key)
        } else {
            inner.entries.peek(key)
        };
        if let Some(image) = found.cloned() {
            if count {
                inner.hits += 1;
            }
            return Lookup::Hit(image);
        }
        if count {
            inner.misses += 1;
        }
        if self.bytes_of(key) > inner.entries.budget() {
            return Lookup::Pass;
        }
        let digest = key.digest();
        if inner.seen_set.contains(&digest) {
            return Lookup::Fill;
        }
        if count {
            inner.seen_set.insert(digest);
            inner.seen.push_back(digest);
            if inner.seen.len() > DOORKEEPER_KEYS {
                if let Some(old) = inner.seen.pop_front() {
                    inner.seen_set.remove(&old);
                }
            }
        }
        Lookup::Pass
    }

    /// Claims the filling of `key` after a lookup answered
    /// [`Lookup::Fill`]: true for the first claim, false while another
    /// render (or another layer of the same render) fills it, which then
    /// resamples without keeping. The claim ends with [`PlacedCache::insert`]
    /// or [`PlacedCache::release`].
    pub fn claim(&self, key: &PlacedKey) -> bool {
        let digest = key.digest();
        self.lock().filling.insert(digest)
    }

    /// Ends a claim whose fill will not be inserted (its render failed).
    pub fn release(&self, key: &PlacedKey) {
        let digest = key.digest();
        self.lock().filling.remove(&digest);
    }

    /// Keeps `image`, the resample `key` names, evicting the least
    /// recently used images to stay within the budget (and ends a claim
    /// of `key`).
    pub fn insert(&self, key: PlacedKey, image: V) {
        let bytes = self.bytes_of(&key);
        let digest = key.digest();
        let mut inner = self.lock();
        inner.filling.remove(&digest);
        if inner.entries.peek(&key).is_some() {
            return;
        }
        if inner.entries.insert(key, image, bytes) {
            inner.seen_set.remove(&digest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scene::Filter;

    fn key(id: u64, n: u32) -> PlacedKey {
        let w = AxisWeights::new(Filter::Lanczos3, 40, n, 0.0, 40.0 / n as f64);
        PlacedKey::new(&SourceKey::Memory(id), (40, 40), BlendSpace::Srgb, &w, &w)
    }

    fn image(n: u32) -> Arc<PremulImage> {
        Arc::new(PremulImage {
            width: n,
            height: n,
            data: vec![[1, 2, 3, 4]; (n * n) as usize],
        })
    }

    #[test]
    fn a_key_is_filled_on_its_second_miss_and_the_budget_evicts_the_oldest() {
        let cache = PlacedCache::new(3 * 16 * 16 * 8);
        assert!(matches!(cache.lookup(&key(1, 16), true), Lookup::Pass));
        assert!(matches!(cache.lookup(&key(1, 16), false), Lookup::Fill));
        assert!(matches!(cache.lookup(&key(1, 16), true), Lookup::Fill));
        cache.insert(key(1, 16), image(16));
        assert!(matches!(cache.lookup(&key(1, 16), true), Lookup::Hit(_)));
        // Another source, or other weights, is another key.
        assert!(matches!(cache.lookup(&key(2, 16), true), Lookup::Pass));
        assert!(matches!(cache.lookup(&key(1, 15), true), Lookup::Pass));
        let s = cache.stats();
        assert_eq!((s.hits, s.misses, s.images, s.bytes), (1, 4, 1, 2048));
        for id in 2..5 {
            cache.insert(key(id, 16), image(16));
        }
        let s = cache.stats();
        assert_eq!((s.images, s.evictions), (3, 1));
        assert!(s.bytes <= s.budget);
        // Larger than the whole budget: never filled, never kept.
        assert!(matches!(cache.lookup(&key(9, 40), true), Lookup::Pass));
        assert!(matches!(cache.lookup(&key(9, 40), true), Lookup::Pass));
        cache.insert(key(9, 40), image(40));
        assert_eq!(cache.stats().images, 3);
    }

    #[test]
    fn one_render_at_a_time_fills_a_key_until_it_is_kept_or_released() {
        let cache: PlacedCache<u8> = PlacedCache::holding(1 << 20, 16);
        let k = key(1, 16);
        assert!(cache.claim(&k));
        assert!(!cache.claim(&k), "a second filler while the first fills");
        cache.release(&k);
        assert!(cache.claim(&k), "released: claimable again");
        cache.insert(k.clone(), 7);
        assert!(cache.claim(&k), "kept: the claim ended");
        assert_eq!(cache.stats().bytes, 16 * 16 * 16);
    }
}
