//! A map whose entries are charged bytes against a budget, the least
//! recently used going first to stay within it: the storage of the
//! decoded-image cache ([`crate::asset_cache`]) and the resampled-image cache
//! ([`crate::placed_cache`]), each of which adds its own keys, rules and
//! hit/miss counts.

use std::collections::HashMap;
use std::hash::Hash;

struct Slot<V> {
    value: V,
    bytes: u64,
    last_used: u64,
}

/// Entries under a byte budget, evicted least recently used first.
pub(crate) struct ByteLru<K, V> {
    entries: HashMap<K, Slot<V>>,
    bytes: u64,
    budget: u64,
    tick: u64,
    evictions: u64,
}

impl<K: Hash + Eq + Clone, V> ByteLru<K, V> {
    pub fn new(budget: u64) -> ByteLru<K, V> {
        ByteLru {
            entries: HashMap::new(),
            bytes: 0,
            budget,
            tick: 0,
            evictions: 0,
        }
    }

    pub fn budget(&self) -> u64 {
        self.budget
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Bytes the entries are charged.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Entries dropped to stay within the budget.
    pub fn evictions(&self) -> u64 {
        self.evictions
    }

    /// `key`'s value, now the most recently used.
    pub fn get(&mut self, key: &K) -> Option<&V> {
        self.tick += 1;
        let slot = self.entries.get_mut(key)?;
        slot.last_used = self.tick;
        Some(&slot.value)
    }

    /// `key`'s value, its recency unchanged.
    pub fn peek(&self, key: &K) -> Option<&V> {
        self.entries.get(key).map(|s| &s.value)
    }

    /// Removes `key` (not counted as an eviction).
    pub fn remove(&mut self, key: &K) -> Option<V> {
        let slot = self.entries.remove(key)?;
        self.bytes -= slot.bytes;
        Some(slot.value)
    }

    /// Keeps `value` under `key`, charged `bytes`, replacing what `key`
    /// held and evicting the least recently used entries to stay within
    /// the budget. Nothing is kept (false) when `bytes` alone is over it.
    pub fn insert(&mut self, key: K, value: V, bytes: u64) -> bool {
        if bytes > self.budget {
            return false;
        }
        self.remove(&key);
        self.make_room(bytes);
        self.tick += 1;
        self.bytes += bytes;
        let slot = Slot {
            value,
            bytes,
            last_used: self.tick,
        };
        self.entries.insert(key, slot);
        true
    }

    /// Changes the budget, evicting the least recently used entries down
    /// to it.
    pub fn set_budget(&mut self, budget: u64) {
        self.budget = budget;
        self.make_room(0);
    }

    /// Evicts the least recently used entries until `bytes` more fit.
    fn make_room(&mut self, bytes: u64) {
        while self.bytes + bytes > self.budget {
            let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, s)| s.last_used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            self.remove(&oldest);
            self.evictions += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_goes_first_and_nothing_over_the_budget_is_kept() {
        let mut lru: ByteLru<&str, u32> = ByteLru::new(30);
        assert!(lru.insert("a", 1, 10));
        assert!(lru.insert("b", 2, 10));
        assert!(lru.insert("c", 3, 10));
        // `a` used, `b` only looked at: `b` is the oldest.
        assert_eq!(lru.get(&"a"), Some(&1));
        assert_eq!(lru.peek(&"b"), Some(&2));
        assert!(lru.insert("d", 4, 10));
        assert_eq!(lru.peek(&"b"), None);
        assert_eq!((lru.len(), lru.bytes(), lru.evictions()), (3, 30, 1));
        // Replacing a key charges its new size, no eviction.
        assert!(lru.insert("a", 5, 5));
        assert_eq!((lru.len(), lru.bytes(), lru.evictions()), (3, 25, 1));
        assert!(!lru.insert("huge", 9, 31));
        assert_eq!(lru.remove(&"c"), Some(3));
        assert_eq!((lru.len(), lru.bytes(), lru.evictions()), (2, 15, 1));
        // A smaller budget evicts down to it, the oldest first.
        lru.set_budget(6);
        assert_eq!((lru.len(), lru.bytes(), lru.evictions()), (1, 5, 2));
        assert_eq!(lru.peek(&"a"), Some(&5));
    }
}
