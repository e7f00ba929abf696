//! Decoded images kept between renders: a [`crate::Renderer`] decodes a
//! file once however many renders use it, while the file stays the same
//! (same size and modification time), within a byte budget. A file is kept
//! once per shrink-on-load scale it was decoded at ([`crate::shrink`]), so
//! the same scene always gets the same pixels, whatever else was rendered.
//! A JPEG whose layers read only some rows of it may be decoded to those
//! rows; the entry then serves lookups that need no other rows, and a
//! lookup that needs more decodes the file again and replaces it.
//!
//! A miss of a file is a flight until its decode is kept: a lookup of the
//! same file from a thread that may wait (not one of rayon's workers, and
//! holding no flight of its own) waits for it and takes its pixels, so a
//! burst of renders of one cold file (a service's first requests) decodes
//! it once. A rayon worker never waits: blocked, it could hold under it on
//! its stack the very decode it waits for, taken by work stealing; it
//! decodes alongside, as every thread did before.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, SystemTime};

use image::RgbaImage;

use crate::byte_lru::ByteLru;
use crate::shrink::{Decoded, Pick, SourceImage, SourceKey};

/// Default byte budget of the decoded-image cache: 256 MiB.
pub const DEFAULT_ASSET_CACHE_BYTES: u64 = 256 << 20;

/// The decoded-image cache's figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AssetCacheStats {
    /// Images held.
    pub images: usize,
    /// Bytes they hold (RGBA8).
    pub bytes: u64,
    /// The byte budget.
    pub budget: u64,
    /// Lookups that found the image decoded.
    pub hits: u64,
    /// Lookups that decoded the file.
    pub misses: u64,
    /// Images dropped to stay under the budget.
    pub evictions: u64,
    /// Lookups that found the file being decoded for another render and
    /// waited for it (then counted as a hit, or as a miss when its decode
    /// failed or was not what they needed).
    pub waits: u64,
}

/// What [`AssetCache::lookup`] found.
pub(crate) enum Looked<'c> {
    /// The image, decoded as asked.
    Hit(SourceImage),
    /// Not held as asked: [`AssetCache::fill`] decodes it.
    Miss(Miss<'c>),
}

/// A lookup that missed: the file's identity, and the factor and rows the
/// cache holds of it (a decode covers those rows too); and the file's
/// flight when this miss leads it (until it is dropped, other lookups of
/// the file that may wait do).
pub(crate) struct Miss<'c> {
    identity: Option<Identity>,
    held: Option<(u32, (u32, u32))>,
    flight: Option<Flight<'c>>,
}

impl Miss<'_> {
    /// Whether this miss leads its file's flight: the thread holding it
    /// must not wait for another's.
    pub(crate) fn leads(&self) -> bool {
        self.flight.is_some()
    }
}

/// A file being decoded for a miss; dropped (decoded and kept, or failed),
/// it wakes the lookups waiting for it.
pub(crate) struct Flight<'c> {
    cache: &'c AssetCache,
    path: PathBuf,
}

impl Drop for Flight<'_> {
    fn drop(&mut self) {
        self.cache.lock().flights.remove(&self.path);
        self.cache.landed.notify_all();
    }
}

/// How often a waiting lookup asks whether its render must stop.
const WAIT_POLL: Duration = Duration::from_millis(20);

/// What identifies a file's content without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Identity {
    len: u64,
    modified: Option<SystemTime>,
}

impl Identity {
    /// The key of `path`'s pixels decoded at `eighths`, from raster row
    /// `first_row`, while it has this identity.
    fn key(self, path: &Path, eighths: u32, first_row: u32) -> SourceKey {
        SourceKey::File {
            path: path.to_path_buf(),
            len: self.len,
            modified: self.modified,
            eighths,
            first_row,
        }
    }

    pub(crate) fn of(meta: &std::fs::Metadata) -> Identity {
        Identity {
            len: meta.len(),
            modified: meta.modified().ok(),
        }
    }

    /// The identity of bytes held in memory (a `data:` URL's), whose key
    /// already names their content (`crate::data_url`): they never change.
    pub(crate) fn of_bytes(len: u64) -> Identity {
        Identity {
            len,
            modified: None,
        }
    }
}

struct Entry {
    identity: Identity,
    image: Arc<RgbaImage>,
    notes: crate::codec::Notes,
    natural: (u32, u32),
    raster: (u32, u32),
    first_row: u32,
    reversed: (bool, bool),
    /// The factors (bit `k` for `k`/8) whose lookups this decode
    /// answers: its own, and those asked of a file that no scaled decoder
    /// covers (a PNG, a progressive JPEG), which was decoded at another
    /// factor and would be again.
    asked: u16,
}

impl Entry {
    /// Whether the entry answers lookups at `factor`.
    fn answers(&self, factor: u32) -> bool {
        self.asked & (1 << factor) != 0
    }

    /// Whether the entry holds every row `pick` asks for.
    fn covers(&self, pick: Pick) -> bool {
        let (first, end) = pick.rows.unwrap_or((0, self.raster.1));
        self.first_row <= first && end <= self.first_row + self.image.height()
    }
}

/// The scales (eighths of the natural size) a file can be decoded at.
const SCALES: std::ops::RangeInclusive<u32> = 1..=crate::shrink::FULL;

struct Inner {
    entries: ByteLru<(PathBuf, u32), Entry>,
    /// Files being decoded for a miss that leads their flight.
    flights: HashSet<PathBuf>,
    hits: u64,
    misses: u64,
    waits: u64,
}

/// A byte-bounded cache of decoded images keyed by canonical path and file
/// identity; the least recently used image goes first.
pub(crate) struct AssetCache {
    inner: Mutex<Inner>,
    /// Signalled when a flight ends.
    landed: Condvar,
}

impl std::fmt::Debug for AssetCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("AssetCache").field(&self.stats()).finish()
    }
}

fn image_bytes(image: &RgbaImage) -> u64 {
    image.as_raw().len() as u64
}

impl AssetCache {
    pub fn new(budget: u64) -> AssetCache {
        let inner = Inner {
            entries: ByteLru::new(budget),
            flights: HashSet::new(),
            hits: 0,
            misses: 0,
            waits: 0,
        };
        AssetCache {
            inner: Mutex::new(inner),
            landed: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn stats(&self) -> AssetCacheStats {
        let inner = self.lock();
        AssetCacheStats {
            images: inner.entries.len(),
            bytes: inner.entries.bytes(),
            budget: inner.entries.budget(),
            hits: inner.hits,
            misses: inner.misses,
            evictions: inner.entries.evictions(),
            waits: inner.waits,
        }
    }

    /// The decoded image of `path` at the scale (and with the
    /// rows) `choose` picks for its natural size, decoding it with `decode`
    /// unless the cache holds the file as it is now at that factor, with
    /// those rows. `decode` runs outside the lock and must pick with the
    /// chooser it is given: `choose` with the rows widened to cover those
    /// the cache holds of the file at that factor, so scenes that crop the
    /// same file differently in turn end up sharing one entry.
    /// (`lookup` then `fill`, as `Assets` calls them; the tests drive both
    /// through this.)
    #[cfg(test)]
    pub fn get_or_decode<E>(
        &self,
        path: &Path,
        choose: impl Fn((u32, u32)) -> Pick,
        decode: impl FnOnce(&dyn Fn((u32, u32)) -> Pick) -> Result<Decoded, E>,
    ) -> Result<SourceImage, E> {
        let identity = std::fs::metadata(path).ok().map(|m| Identity::of(&m));
        match self.lookup(path, identity, &choose, None) {
            Looked::Hit(found) => Ok(found),
            Looked::Miss(miss) => self.fill(path, miss, choose, decode),
        }
    }

    /// The lookup half of [`AssetCache::get_or_decode`] (counted as a hit
    /// or a miss): the image, or what [`AssetCache::fill`] needs to decode
    /// it. A caller with several files looks them all up on its own thread
    /// and decodes only the misses in parallel. `identity` is the file's,
    /// from its metadata as the caller read it (`None`: it could not be
    /// read, and nothing is kept), or bytes' in memory.
    ///
    /// `wait`, given only by a thread that may wait (see the module's
    /// notes), is asked between waits whether the render must stop: while
    /// another thread decodes the file, the lookup waits for it and looks
    /// again. A miss with nothing to wait for leads the file's flight.
    pub fn lookup(
        &self,
        path: &Path,
        identity: Option<Identity>,
        choose: impl Fn((u32, u32)) -> Pick,
        wait: Option<&dyn Fn() -> bool>,
    ) -> Looked<'_> {
        let mut inner = self.lock();
        let mut waited = false;
        loop {
            // The factor and rows of the entry held for the file, if any.
            let held = match identity {
                Some(id) => match Self::find(&mut inner, path, id, &choose) {
                    Ok(found) => {
                        inner.hits += 1;
                        return Looked::Hit(found);
                    }
                    Err(held) => held,
                },
                None => None,
            };
            let in_flight = identity.is_some() && inner.flights.contains(path);
            if in_flight {
                // (A render that must stop goes on to its miss, whose
                // decode fails saying why.)
                if wait.is_some_and(|stopped| !stopped()) {
                    if !waited {
                        inner.waits += 1;
                        waited = true;
                    }
                    inner = match self.landed.wait_timeout(inner, WAIT_POLL) {
                        Ok((guard, _)) => guard,
                        Err(poisoned) => poisoned.into_inner().0,
                    };
                    continue;
                }
            }
            inner.misses += 1;
            // A file read by another thread's flight that this one cannot
            // wait for is decoded alongside, leading nothing.
            let flight = (identity.is_some() && !in_flight).then(|| {
                inner.flights.insert(path.to_path_buf());
                Flight {
                    cache: self,
                    path: path.to_path_buf(),
                }
            });
            return Looked::Miss(Miss {
                identity,
                held,
                flight,
            });
        }
    }

    /// The entry of `path` (with identity `id`) that answers `choose`, or
    /// the factor and rows of the entry held of it at the factor asked.
    #[allow(clippy::type_complexity)]
    fn find(
        inner: &mut Inner,
        path: &Path,
        id: Identity,
        choose: impl Fn((u32, u32)) -> Pick,
    ) -> Result<SourceImage, Option<(u32, (u32, u32))>> {
        // Any factor's entry of the unchanged file knows its size.
        let natural = SCALES.clone().find_map(|d| {
            let e = inner.entries.peek(&(path.to_path_buf(), d))?;
            (e.identity == id).then_some(e.natural)
        });
        let Some(natural) = natural else {
            return Err(None);
        };
        let pick = choose(natural);
        // The entry decoded at the factor asked for, or one that a decode
        // asked for it gave (whole images only).
        let eighths = SCALES
            .clone()
            .find(|&d| {
                inner
                    .entries
                    .peek(&(path.to_path_buf(), d))
                    .is_some_and(|e| e.identity == id && e.answers(pick.eighths))
            })
            .unwrap_or(pick.eighths);
        let entry = inner
            .entries
            .get(&(path.to_path_buf(), eighths))
            .filter(|e| e.identity == id);
        let held = entry.map(|e| (eighths, (e.first_row, e.first_row + e.image.height())));
        let found = entry.filter(|e| e.covers(pick)).map(|e| SourceImage {
            image: Arc::clone(&e.image),
            natural,
            eighths,
            raster: e.raster,
            first_row: e.first_row,
            reversed: e.reversed,
            notes: e.notes.clone(),
            key: Some(id.key(path, eighths, e.first_row)),
        });
        found.ok_or(held)
    }

    /// The decode half of [`AssetCache::get_or_decode`], after `lookup`
    /// missed: decodes with `decode` (outside the lock, with the rows
    /// widened to those the cache holds of the file) and keeps the result.
    pub fn fill<E>(
        &self,
        path: &Path,
        Miss {
            identity,
            held,
            flight,
        }: Miss<'_>,
        choose: impl Fn((u32, u32)) -> Pick,
        decode: impl FnOnce(&dyn Fn((u32, u32)) -> Pick) -> Result<Decoded, E>,
    ) -> Result<SourceImage, E> {
        let widened = |natural| {
            let mut pick = choose(natural);
            if let (Some((a, b)), Some((eighths, (c, d)))) = (pick.rows, held) {
                if eighths == pick.eighths {
                    pick.rows = Some((a.min(c), b.max(d)));
                }
            }
            pick
        };
        let decoded = decode(&widened)?;
        let asked = choose(decoded.natural).eighths;
        let cached = SourceImage {
            image: Arc::new(decoded.image),
            natural: decoded.natural,
            eighths: decoded.eighths,
            raster: decoded.raster,
            first_row: decoded.first_row,
            reversed: decoded.reversed,
            notes: decoded.notes,
            key: identity.map(|id| id.key(path, decoded.eighths, decoded.first_row)),
        };
        if let Some(identity) = identity {
            self.insert(path, identity, &cached, asked);
        }
        // Kept: the lookups waiting for it find it.
        drop(flight);
        Ok(cached)
    }

    /// Keeps `cached` (decoded for a lookup at factor `asked`).
    fn insert(&self, path: &Path, identity: Identity, cached: &SourceImage, asked: u32) {
        let bytes = image_bytes(&cached.image);
        let mut inner = self.lock();
        if bytes > inner.entries.budget() {
            return;
        }
        // Entries of an older version of the file (this factor's own is
        // replaced by the insert).
        for d in SCALES {
            let key = (path.to_path_buf(), d);
            if inner
                .entries
                .peek(&key)
                .is_some_and(|e| e.identity != identity)
            {
                inner.entries.remove(&key);
            }
        }
        // A decode at a factor no other lookup got: the entry it replaces
        // answered other lookups with these same pixels, and still does.
        let whole = cached.first_row == 0 && cached.image.height() == cached.raster.1;
        let kept = inner
            .entries
            .peek(&(path.to_path_buf(), cached.eighths))
            .filter(|e| e.identity == identity && whole)
            .map_or(0, |e| e.asked);
        let asked = if whole { 1 << asked } else { 0 };
        let entry = Entry {
            asked: kept | asked | (1 << cached.eighths),
            identity,
            image: Arc::clone(&cached.image),
            notes: cached.notes.clone(),
            natural: cached.natural,
            raster: cached.raster,
            first_row: cached.first_row,
            reversed: cached.reversed,
        };
        inner
            .entries
            .insert((path.to_path_buf(), cached.eighths), entry, bytes);
    }
}

#[cfg(test)]
mod tests;
