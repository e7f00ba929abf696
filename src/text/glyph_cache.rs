//! Glyph images shared by every thread of a renderer: looked up under a
//! short lock, rasterized on a miss outside it (with the calling thread's
//! own swash scaler, so threads rasterize in parallel), and kept within a
//! byte budget; and what one render shares of them ([`SharedGlyphs`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cosmic_text::{CacheKey, SwashImage};

use super::Shaper;

/// Share of the glyph budget one glyph may take and still be kept: a larger
/// glyph (a 10,000-pixel emoji) is rasterized for the render that needs it
/// and dropped.
const LARGEST_KEPT_GLYPH_SHARE: u64 = 64;

/// The rasterized glyphs, by glyph, size and sub-pixel position.
pub(crate) struct GlyphCache {
    inner: Mutex<Held>,
    budget: u64,
    /// Glyph images made (cache misses), for tests.
    #[cfg(test)]
    misses: std::sync::atomic::AtomicU64,
}

#[derive(Default)]
struct Held {
    /// `None`: the glyph has no image (a blank).
    images: HashMap<CacheKey, Option<Arc<SwashImage>>>,
    bytes: u64,
}

fn bytes_of(image: &Option<Arc<SwashImage>>) -> u64 {
    image.as_ref().map_or(0, |i| i.data.len() as u64)
}

impl GlyphCache {
    pub fn new(budget: u64) -> GlyphCache {
        GlyphCache {
            inner: Mutex::new(Held::default()),
            budget,
            #[cfg(test)]
            misses: Default::default(),
        }
    }

    fn held(&self) -> std::sync::MutexGuard<'_, Held> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The image of a glyph: from the cache, or rasterized with `shaper`'s
    /// scaler and kept if it is small enough. When keeping it would go over
    /// the budget, the cache is emptied first (rasterizing a glyph again is
    /// slow next to one pass of bookkeeping, and the next render refills
    /// what it uses).
    pub fn get(&self, shaper: &mut Shaper, key: CacheKey) -> Option<Arc<SwashImage>> {
        if let Some(hit) = self.held().images.get(&key) {
            return hit.clone();
        }
        #[cfg(test)]
        self.misses
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let image = if key.flags.contains(super::bold::SYNTHETIC_BOLD) {
            super::bold::image(&mut shaper.fonts, &mut shaper.bold, key)
        } else {
            shaper.scratch.get_image_uncached(&mut shaper.fonts, key)
        }
        .map(Arc::new);
        let size = bytes_of(&image);
        if !self.keeps(size) {
            return image;
        }
        let mut held = self.held();
        if held.bytes + size > self.budget {
            held.images.clear();
            held.bytes = 0;
        }
        // Another thread may have rasterized the same glyph meanwhile.
        if let Some(old) = held.images.insert(key, image.clone()) {
            held.bytes -= bytes_of(&old);
        }
        held.bytes += size;
        image
    }

    /// How many glyph images were made (not found in the cache).
    #[cfg(test)]
    pub fn rasterized(&self) -> u64 {
        self.misses.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether a glyph image of `bytes` bytes is small enough to be kept.
    pub fn keeps(&self, bytes: u64) -> bool {
        bytes <= self.largest_kept()
    }

    /// The bytes of the largest glyph image kept.
    pub fn largest_kept(&self) -> u64 {
        self.budget / LARGEST_KEPT_GLYPH_SHARE
    }

    /// The most bytes of glyph images it holds.
    pub fn budget(&self) -> u64 {
        self.budget
    }

    /// Glyphs held (blanks included) and their bytes.
    pub fn stats(&self) -> (usize, u64) {
        let held = self.held();
        (held.images.len(), held.bytes)
    }
}

/// The glyph images a render shares with the glyph cache: each held once
/// until the render ends, at most `cap` bytes of them (the cache's budget);
/// a glyph past it is held as its crop (`crate::plan::memory` counts on
/// this bound).
pub(crate) struct SharedGlyphs {
    /// By address: held here, an image's address is not reused.
    held: HashMap<*const SwashImage, Arc<SwashImage>>,
    bytes: u64,
    cap: u64,
}

impl SharedGlyphs {
    /// Room for `cap` bytes of images.
    pub fn new(cap: u64) -> SharedGlyphs {
        SharedGlyphs {
            held: HashMap::new(),
            bytes: 0,
            cap,
        }
    }

    /// Whether `image` may be shared: it is held already, or there is room
    /// for it (then it is held).
    pub fn share(&mut self, image: &Arc<SwashImage>) -> bool {
        let key = Arc::as_ptr(image);
        if self.held.contains_key(&key) {
            return true;
        }
        let size = image.data.len() as u64;
        if self.bytes + size > self.cap {
            return false;
        }
        self.bytes += size;
        self.held.insert(key, image.clone());
        true
    }

    /// The bytes of images held.
    #[cfg(test)]
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}
