//! The GPU resource pool: buffers and textures are taken from it and given
//! back after each render, keyed by size class, format and usage, under a
//! byte budget. Idle resources beyond the budget are dropped, least recently
//! used first, so memory stays flat over any number of renders.
//!
//! A buffer is lent as a [`BufferLoan`] and a texture as a [`TextureLoan`]:
//! the kind is in the type from the moment a resource leaves the pool (a
//! render keeps them in [`super::loans::Loans`], behind typed handles).
//!
//! `MAP_WRITE` buffers (upload staging) are lent mapped: mapped at creation,
//! and mapped again (`map_async`) when they come back, which is once the GPU
//! is done with the frame; one still mapping is not lent (nor waited on).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

/// Pool figures, observable through [`crate::Renderer::gpu_pool_stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Textures allocated (in use or idle in the pool).
    pub textures: usize,
    /// Buffers allocated (in use or idle in the pool).
    pub buffers: usize,
    /// Bytes of every allocated resource, in use or idle.
    pub bytes_live: u64,
    /// The largest `bytes_live` seen.
    pub bytes_peak: u64,
    /// Requests served from the pool.
    pub hits: u64,
    /// Requests that had to allocate.
    pub misses: u64,
    /// The byte budget for idle resources plus those in use.
    pub budget: u64,
}

/// What a pooled buffer is for: its size class and usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct BufferKey {
    pub size: u64,
    pub usage: wgpu::BufferUsages,
}

impl BufferKey {
    /// A key for at least `size` bytes: sizes round up to a power of two (at
    /// least 256 bytes), so similar requests share resources.
    pub fn new(size: u64, usage: wgpu::BufferUsages) -> BufferKey {
        BufferKey {
            size: size.max(256).next_power_of_two(),
            usage,
        }
    }

    /// Bytes a buffer of this key holds.
    pub fn bytes(&self) -> u64 {
        self.size
    }
}

/// What a pooled texture is for: its size class, format and usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct TextureKey {
    pub width: u32,
    pub height: u32,
    pub format: wgpu::TextureFormat,
    pub usage: wgpu::TextureUsages,
}

impl TextureKey {
    /// A key for at least `width` x `height`: sides round up to a multiple
    /// of 256 (to a power of two below that).
    pub fn new(
        width: u32,
        height: u32,
        format: wgpu::TextureFormat,
        usage: wgpu::TextureUsages,
    ) -> TextureKey {
        let class = |v: u32| {
            if v <= 256 {
                v.max(16).next_power_of_two()
            } else {
                v.div_ceil(256) * 256
            }
        };
        TextureKey {
            width: class(width),
            height: class(height),
            format,
            usage,
        }
    }

    /// Bytes a texture of this key holds.
    pub fn bytes(&self) -> u64 {
        let bpp = self.format.block_copy_size(None).unwrap_or(4) as u64;
        self.width as u64 * self.height as u64 * bpp
    }
}

/// A buffer on loan from the pool.
#[derive(Debug)]
pub(crate) struct BufferLoan {
    key: BufferKey,
    pub buffer: wgpu::Buffer,
    /// Bytes the borrower asked for (the buffer may be larger: its size
    /// class); bindings cover exactly these.
    pub want: u64,
    /// For a `MAP_WRITE` buffer (upload staging), whether it is mapped:
    /// it is lent mapped, and re-mapped when it comes back.
    mapping: Option<Arc<AtomicU8>>,
}

/// [`BufferLoan::mapping`]'s states.
const UNMAPPED: u8 = 0;
const MAPPING: u8 = 1;
const MAPPED: u8 = 2;
const MAP_FAILED: u8 = 3;

impl BufferLoan {
    /// Whether this buffer can be lent: any buffer but a `MAP_WRITE` one
    /// not (yet) mapped.
    fn ready(&self) -> bool {
        self.state().is_none_or(|s| s == MAPPED)
    }

    fn state(&self) -> Option<u8> {
        self.mapping.as_ref().map(|m| m.load(Ordering::Acquire))
    }

    /// Unmaps a mapped `MAP_WRITE` buffer (written, now for the GPU); it
    /// is mapped again when it goes back to the pool.
    pub fn unmap(&self) {
        if let Some(m) = &self.mapping {
            self.buffer.unmap();
            m.store(UNMAPPED, Ordering::Release);
        }
    }

    /// Marks a `MAP_WRITE` buffer whose mapped range could not be had: it
    /// is dropped when it goes back to the pool, never lent again.
    pub fn map_failed(&self) {
        if let Some(m) = &self.mapping {
            m.store(MAP_FAILED, Ordering::Release);
        }
    }

    /// Asks for an unmapped `MAP_WRITE` buffer to be mapped for writing
    /// (once the GPU is done with it; the callback runs on a later poll or
    /// submission).
    fn remap(&self) {
        let Some(m) = &self.mapping else { return };
        if m.load(Ordering::Acquire) != UNMAPPED {
            return;
        }
        m.store(MAPPING, Ordering::Release);
        let state = Arc::clone(m);
        self.buffer.map_async(wgpu::MapMode::Write, .., move |r| {
            state.store(
                if r.is_ok() { MAPPED } else { MAP_FAILED },
                Ordering::Release,
            );
        });
    }
}

/// A texture on loan from the pool.
#[derive(Debug)]
pub(crate) struct TextureLoan {
    key: TextureKey,
    pub texture: wgpu::Texture,
}

/// A loan of either kind, as it goes back to the pool (idle resources of
/// both kinds share one least-recently-used queue).
#[derive(Debug)]
pub(crate) enum Loan {
    Buffer(BufferLoan),
    Texture(TextureLoan),
}

impl Loan {
    fn bytes(&self) -> u64 {
        match self {
            Loan::Buffer(b) => b.key.bytes(),
            Loan::Texture(t) => t.key.bytes(),
        }
    }

    /// Frees the resource's memory now (wgpu waits for the GPU's use of it).
    pub fn destroy(self) {
        match self {
            Loan::Buffer(b) => b.buffer.destroy(),
            Loan::Texture(t) => t.texture.destroy(),
        }
    }
}

#[derive(Debug)]
pub(crate) struct Pool {
    idle: VecDeque<Loan>,
    stats: PoolStats,
    /// Resources dropped from the pool, no longer counted, to be destroyed
    /// once its lock is released ([`Pool::take_doomed`]): destroying takes
    /// wgpu-core's device-wide write lock, which waits for every thread
    /// blocked in a wait for the GPU, and the pool's lock must not be held
    /// through that.
    doomed: Vec<Loan>,
}

impl Pool {
    pub fn new(budget: u64) -> Pool {
        Pool {
            doomed: Vec::new(),
            idle: VecDeque::new(),
            stats: PoolStats {
                budget,
                ..PoolStats::default()
            },
        }
    }

    pub fn stats(&self) -> PoolStats {
        self.stats
    }

    /// Whether no idle buffer of `key` can be lent but one waits for its
    /// mapping (a poll of the device may finish it).
    pub fn awaits_mapping(&self, key: BufferKey) -> bool {
        let mut of_key = self.idle.iter().filter_map(|l| match l {
            Loan::Buffer(b) if b.key == key => Some(b),
            _ => None,
        });
        let (mut ready, mut mapping) = (false, false);
        for b in &mut of_key {
            ready |= b.ready();
            mapping |= b.state() == Some(MAPPING);
        }
        mapping && !ready
    }

    /// Takes a buffer of `key` from the pool, or allocates one. A
    /// `MAP_WRITE` buffer is lent mapped: one mapped again since it came
    /// back, or a new one mapped at creation.
    pub fn take_buffer(&mut self, device: &wgpu::Device, key: BufferKey) -> BufferLoan {
        self.drop_failed_maps();
        let found = self
            .idle
            .iter()
            .position(|l| matches!(l, Loan::Buffer(b) if b.key == key && b.ready()));
        if let Some(Loan::Buffer(mut loan)) = found.and_then(|i| self.idle.remove(i)) {
            self.stats.hits += 1;
            loan.want = key.bytes();
            return loan;
        }
        self.stats.misses += 1;
        self.make_room(key.bytes());
        self.stats.buffers += 1;
        let mappable = key.usage.contains(wgpu::BufferUsages::MAP_WRITE);
        let buffer = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("impasto pooled buffer"),
            size: key.size,
            usage: key.usage,
            mapped_at_creation: mappable,
        });
        self.count_live(key.bytes());
        BufferLoan {
            key,
            buffer,
            want: key.bytes(),
            mapping: mappable.then(|| Arc::new(AtomicU8::new(MAPPED))),
        }
    }

    /// Drops idle `MAP_WRITE` buffers whose mapping failed (a lost device,
    /// say): they can never be lent again.
    fn drop_failed_maps(&mut self) {
        let failed = |l: &Loan| matches!(l, Loan::Buffer(b) if b.state() == Some(MAP_FAILED));
        if !self.idle.iter().any(failed) {
            return;
        }
        let (gone, kept): (VecDeque<Loan>, VecDeque<Loan>) =
            self.idle.drain(..).partition(|l| failed(l));
        self.idle = kept;
        gone.into_iter().for_each(|l| self.drop_loan(l));
    }

    /// Takes a texture of `key` from the pool, or allocates one.
    pub fn take_texture(&mut self, device: &wgpu::Device, key: TextureKey) -> TextureLoan {
        let found = self
            .idle
            .iter()
            .position(|l| matches!(l, Loan::Texture(t) if t.key == key));
        if let Some(Loan::Texture(loan)) = found.and_then(|i| self.idle.remove(i)) {
            self.stats.hits += 1;
            return loan;
        }
        self.stats.misses += 1;
        self.make_room(key.bytes());
        self.stats.textures += 1;
        let texture = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("impasto pooled texture"),
            size: wgpu::Extent3d {
                width: key.width,
                height: key.height,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: key.format,
            usage: key.usage,
            view_formats: &[],
        });
        self.count_live(key.bytes());
        TextureLoan { key, texture }
    }

    /// Drops idle resources while `bytes` more would be over the budget.
    fn make_room(&mut self, bytes: u64) {
        while self.stats.bytes_live + bytes > self.stats.budget && !self.idle.is_empty() {
            self.evict_oldest();
        }
    }

    fn count_live(&mut self, bytes: u64) {
        self.stats.bytes_live += bytes;
        self.stats.bytes_peak = self.stats.bytes_peak.max(self.stats.bytes_live);
    }

    /// Changes the budget; idle resources over it are dropped at once.
    pub fn set_budget(&mut self, budget: u64) {
        self.stats.budget = budget;
        self.make_room(0);
    }

    /// Returns a resource; idle resources past the budget are dropped,
    /// oldest first. The render it served is done with it (the GPU too): a
    /// `MAP_WRITE` buffer is mapped again for its next loan, and one whose
    /// mapping failed is dropped.
    pub fn give_back(&mut self, loan: Loan) {
        if let Loan::Buffer(b) = &loan {
            if b.state() == Some(MAP_FAILED) {
                self.drop_loan(loan);
                return;
            }
            b.remap();
        }
        self.idle.push_back(loan);
        self.make_room(0);
    }

    fn evict_oldest(&mut self) {
        if let Some(old) = self.idle.pop_front() {
            self.drop_loan(old);
        }
    }

    /// Stops counting a resource and dooms it (destroyed by whoever takes
    /// the doomed, outside the lock).
    fn drop_loan(&mut self, old: Loan) {
        self.stats.bytes_live -= old.bytes();
        match &old {
            Loan::Buffer(_) => self.stats.buffers -= 1,
            Loan::Texture(_) => self.stats.textures -= 1,
        }
        self.doomed.push(old);
    }

    /// The resources dropped from the pool since the last call, to be
    /// destroyed ([`Loan::destroy`]) once the pool's lock is released.
    pub fn take_doomed(&mut self) -> Vec<Loan> {
        std::mem::take(&mut self.doomed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_classes_round_up() {
        let u = wgpu::BufferUsages::STORAGE;
        assert_eq!(
            BufferKey::new(1, u),
            BufferKey {
                size: 256,
                usage: u
            }
        );
        assert_eq!(
            BufferKey::new(1000, u),
            BufferKey {
                size: 1024,
                usage: u
            }
        );
        let t = TextureKey::new(
            257,
            3,
            wgpu::TextureFormat::Rgba8Unorm,
            wgpu::TextureUsages::COPY_DST,
        );
        assert_eq!((t.width, t.height), (512, 16));
        assert_eq!(t.bytes(), 512 * 16 * 4);
    }
}
