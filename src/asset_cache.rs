//! Decoded images kept between renders: a [`crate::Renderer`] decodes a
//! file once however many renders use it, while the file stays the same
//! (same size and modification time), within a byte budget. A file is kept
//! once per shrink-on-load scale it was decoded at ([`crate::shrink`]), so
//! the same scene always gets the same pixels, whatever else was rendered.
//! A JPEG whose layers read only some rows of it may be decoded to those
//! rows; the entry then serves lookups that need no other rows, and a
//! lookup that needs more decodes the file again and replaces it.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

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
}

/// What [`AssetCache::lookup`] found.
pub(crate) enum Looked {
    /// The image, decoded as asked.
    Hit(SourceImage),
    /// Not held as asked: [`AssetCache::fill`] decodes it.
    Miss(Miss),
}

/// A lookup that missed: the file's identity, and the factor and rows the
/// cache holds of it (a decode covers those rows too).
pub(crate) struct Miss {
    identity: Option<Identity>,
    held: Option<(u32, (u32, u32))>,
}

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
    hits: u64,
    misses: u64,
}

/// A byte-bounded cache of decoded images keyed by canonical path and file
/// identity; the least recently used image goes first.
pub(crate) struct AssetCache {
    inner: Mutex<Inner>,
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
            hits: 0,
            misses: 0,
        };
        AssetCache {
            inner: Mutex::new(inner),
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
        match self.lookup(path, identity, &choose) {
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
    pub fn lookup(
        &self,
        path: &Path,
        identity: Option<Identity>,
        choose: impl Fn((u32, u32)) -> Pick,
    ) -> Looked {
        // The factor and rows of the entry held for the file, if any.
        let mut held: Option<(u32, (u32, u32))> = None;
        {
            let mut inner = self.lock();
            if let Some(id) = identity {
                // Any factor's entry of the unchanged file knows its size.
                let natural = SCALES.clone().find_map(|d| {
                    let e = inner.entries.peek(&(path.to_path_buf(), d))?;
                    (e.identity == id).then_some(e.natural)
                });
                if let Some(natural) = natural {
                    let pick = choose(natural);
                    // The entry decoded at the factor asked for, or one
                    // that a decode asked for it gave (whole images only).
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
                    held = entry.map(|e| (eighths, (e.first_row, e.first_row + e.image.height())));
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
                    if let Some(found) = found {
                        inner.hits += 1;
                        return Looked::Hit(found);
                    }
                }
            }
            inner.misses += 1;
        }
        Looked::Miss(Miss { identity, held })
    }

    /// The decode half of [`AssetCache::get_or_decode`], after `lookup`
    /// missed: decodes with `decode` (outside the lock, with the rows
    /// widened to those the cache holds of the file) and keeps the result.
    pub fn fill<E>(
        &self,
        path: &Path,
        Miss { identity, held }: Miss,
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
mod tests {
    use super::*;
    use crate::asset_files::Input;

    fn file(dir: &Path, name: &str, side: u32) -> PathBuf {
        let path = dir.join(name);
        RgbaImage::from_pixel(side, side, image::Rgba([side as u8, 0, 0, 255]))
            .save(&path)
            .unwrap();
        path
    }

    fn decode(path: &Path) -> Result<Decoded, String> {
        crate::shrink::decode_input(
            &Input::File(path.to_path_buf()),
            (1 << 24, u64::MAX),
            |_| Pick::whole(8),
        )
        .map_err(|e| e.0)
    }

    fn full(_: (u32, u32)) -> Pick {
        Pick::whole(8)
    }

    #[test]
    fn a_file_is_decoded_once_until_it_changes_and_the_budget_evicts_the_oldest() {
        let dir = tempfile::tempdir().unwrap();
        let a = file(dir.path(), "a.png", 16); // 1 KiB decoded
        let b = file(dir.path(), "b.png", 16);
        let cache = AssetCache::new(2048 + 1024);
        let first = cache.get_or_decode(&a, full, |_| decode(&a)).unwrap();
        let again = cache.get_or_decode(&a, full, |_| decode(&a)).unwrap();
        assert!(Arc::ptr_eq(&first.image, &again.image));
        cache.get_or_decode(&b, full, |_| decode(&b)).unwrap();
        let s = cache.stats();
        assert_eq!((s.hits, s.misses, s.images, s.bytes), (1, 2, 2, 2048));
        // A changed file (another size) is decoded again.
        file(dir.path(), "a.png", 20);
        let changed = cache.get_or_decode(&a, full, |_| decode(&a)).unwrap();
        assert_eq!(changed.image.width(), 20);
        assert_eq!(cache.stats().misses, 3);
        // Over the budget: the least recently used (b) goes.
        let c = file(dir.path(), "c.png", 16);
        cache.get_or_decode(&c, full, |_| decode(&c)).unwrap();
        let s = cache.stats();
        assert!(s.bytes <= s.budget, "{s:?}");
        assert_eq!(s.evictions, 1);
        cache.get_or_decode(&b, full, |_| decode(&b)).unwrap();
        assert_eq!(cache.stats().misses, 5, "b was evicted");
        // An image larger than the budget is decoded but not kept.
        let big = file(dir.path(), "big.png", 64);
        cache.get_or_decode(&big, full, |_| decode(&big)).unwrap();
        assert!(cache.stats().bytes <= s.budget);
    }

    #[test]
    fn an_entry_of_some_rows_serves_only_lookups_within_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.jpg");
        let rgb: Vec<u8> = (0..128u32 * 256)
            .flat_map(|i| [(i % 128) as u8, (i / 128) as u8, 90])
            .collect();
        jpeg_encoder::Encoder::new_file(&path, 90)
            .unwrap()
            .encode(&rgb, 128, 256, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        let cache = AssetCache::new(1 << 20);
        let rows = |a, b| Pick {
            eighths: 4,
            rows: Some((a, b)),
        };
        let get = |pick: Pick| {
            cache
                .get_or_decode(
                    &path,
                    |_| pick,
                    |choose| {
                        crate::shrink::decode_input(
                            &Input::File(path.clone()),
                            (1 << 24, u64::MAX),
                            choose,
                        )
                        .map_err(|e| e.0)
                    },
                )
                .unwrap()
        };
        let some = get(rows(10, 20));
        assert_eq!(
            (some.first_row, some.image.height(), some.raster),
            (10, 10, (64, 128))
        );
        let within = get(rows(12, 18));
        assert!(
            Arc::ptr_eq(&some.image, &within.image),
            "rows 12..18 are held"
        );
        let more = get(rows(0, 40));
        assert_eq!((more.first_row, more.image.height()), (0, 40));
        // Another crop: decoded widened to the rows held too, so the two
        // crops share the entry from then on.
        let other = get(rows(60, 70));
        assert_eq!((other.first_row, other.image.height()), (0, 70));
        let back = get(rows(0, 40));
        assert!(
            Arc::ptr_eq(&other.image, &back.image),
            "both crops are held"
        );
        let all = get(Pick::whole(4));
        assert_eq!((all.first_row, all.image.height()), (0, 128));
        let again = get(rows(10, 20));
        assert!(
            Arc::ptr_eq(&all.image, &again.image),
            "the whole image covers any rows"
        );
        assert_ne!(some.key, all.key, "pixels from another row are another key");
        let s = cache.stats();
        assert_eq!((s.hits, s.misses, s.images), (3, 4, 1));
        // The rows are those of the whole image.
        let w = 64 * 4;
        assert_eq!(some.image.as_raw()[..], all.image.as_raw()[10 * w..20 * w]);
    }
}
