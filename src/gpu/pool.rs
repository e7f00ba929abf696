//! The GPU resource pool: buffers and textures are taken from it and given
//! back after each render, keyed by size class, format and usage, under a
//! byte budget. Idle resources beyond the budget are dropped, least recently
//! used first, so memory stays flat over any number of renders.
//!
//! A buffer is lent as a [`BufferLoan`] and a texture as a [`TextureLoan`]:
//! the kind is in the type from the moment a resource leaves the pool (a
//! render keeps them in [`super::loans::Loans`], behind typed handles).

use std::collections::VecDeque;

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
}

#[derive(Debug)]
pub(crate) struct Pool {
    idle: VecDeque<Loan>,
    stats: PoolStats,
}

impl Pool {
    pub fn new(budget: u64) -> Pool {
        Pool {
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

    /// Takes a buffer of `key` from the pool, or allocates one.
    pub fn take_buffer(&mut self, device: &wgpu::Device, key: BufferKey) -> BufferLoan {
        let found = self
            .idle
            .iter()
            .position(|l| matches!(l, Loan::Buffer(b) if b.key == key));
        if let Some(Loan::Buffer(mut loan)) = found.and_then(|i| self.idle.remove(i)) {
            self.stats.hits += 1;
            loan.want = key.bytes();
            return loan;
        }
        self.stats.misses += 1;
        self.make_room(key.bytes());
        self.stats.buffers += 1;
        let buffer = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("impasto pooled buffer"),
            size: key.size,
            usage: key.usage,
            mapped_at_creation: false,
        });
        self.count_live(key.bytes());
        BufferLoan {
            key,
            buffer,
            want: key.bytes(),
        }
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

    /// Returns a resource; idle resources past the budget are dropped, oldest first.
    pub fn give_back(&mut self, loan: Loan) {
        self.idle.push_back(loan);
        self.make_room(0);
    }

    fn evict_oldest(&mut self) {
        if let Some(old) = self.idle.pop_front() {
            self.stats.bytes_live -= old.bytes();
            match old {
                Loan::Buffer(b) => {
                    self.stats.buffers -= 1;
                    b.buffer.destroy();
                }
                Loan::Texture(t) => {
                    self.stats.textures -= 1;
                    t.texture.destroy();
                }
            }
        }
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
