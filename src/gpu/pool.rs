//! The GPU resource pool: buffers and textures are taken from it and given
//! back after each render, keyed by size class, format and usage, under a
//! byte budget. Idle resources beyond the budget are dropped, least recently
//! used first, so memory stays flat over any number of renders.

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

/// What a pooled resource is for: its kind, size class, format and usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    Buffer {
        size: u64,
        usage: wgpu::BufferUsages,
    },
    Texture {
        width: u32,
        height: u32,
        format: wgpu::TextureFormat,
        usage: wgpu::TextureUsages,
    },
}

impl Key {
    /// Bytes a resource of this key holds.
    pub fn bytes(&self) -> u64 {
        match *self {
            Key::Buffer { size, .. } => size,
            Key::Texture {
                width,
                height,
                format,
                ..
            } => {
                let bpp = format.block_copy_size(None).unwrap_or(4) as u64;
                width as u64 * height as u64 * bpp
            }
        }
    }

    /// A buffer key for at least `size` bytes: sizes round up to a power of
    /// two (at least 256 bytes), so similar requests share resources.
    pub fn buffer(size: u64, usage: wgpu::BufferUsages) -> Key {
        Key::Buffer {
            size: size.max(256).next_power_of_two(),
            usage,
        }
    }

    /// A texture key for at least `width` x `height`: sides round up to a
    /// multiple of 256 (to a power of two below that).
    pub fn texture(
        width: u32,
        height: u32,
        format: wgpu::TextureFormat,
        usage: wgpu::TextureUsages,
    ) -> Key {
        let class = |v: u32| {
            if v <= 256 {
                v.max(16).next_power_of_two()
            } else {
                v.div_ceil(256) * 256
            }
        };
        Key::Texture {
            width: class(width),
            height: class(height),
            format,
            usage,
        }
    }
}

/// A pooled resource.
#[derive(Debug)]
pub(crate) enum Resource {
    Buffer(wgpu::Buffer),
    Texture(wgpu::Texture),
}

impl Resource {
    pub fn buffer(&self) -> &wgpu::Buffer {
        match self {
            Resource::Buffer(b) => b,
            // Keys decide the kind: a buffer key always makes a buffer.
            Resource::Texture(_) => unreachable!("buffer key holds a texture"),
        }
    }

    pub fn texture(&self) -> &wgpu::Texture {
        match self {
            Resource::Texture(t) => t,
            Resource::Buffer(_) => unreachable!("texture key holds a buffer"),
        }
    }
}

/// A resource on loan from the pool; give it back with [`Pool::give_back`].
#[derive(Debug)]
pub(crate) struct Loan {
    pub key: Key,
    pub res: Resource,
    /// Bytes the borrower asked for (a buffer may be larger: its size class).
    pub want: u64,
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

    /// Takes a resource of `key` from the pool, or allocates one.
    pub fn take(&mut self, device: &wgpu::Device, key: Key) -> Loan {
        if let Some(i) = self.idle.iter().position(|l| l.key == key) {
            self.stats.hits += 1;
            // `i` was just found in the deque.
            let mut loan = self.idle.remove(i).expect("index found above");
            loan.want = key.bytes();
            return loan;
        }
        self.stats.misses += 1;
        // Make room first: drop idle resources while over budget.
        while self.stats.bytes_live + key.bytes() > self.stats.budget && !self.idle.is_empty() {
            self.evict_oldest();
        }
        let res = match key {
            Key::Buffer { size, usage } => {
                self.stats.buffers += 1;
                Resource::Buffer(device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("impasto pooled buffer"),
                    size,
                    usage,
                    mapped_at_creation: false,
                }))
            }
            Key::Texture {
                width,
                height,
                format,
                usage,
            } => {
                self.stats.textures += 1;
                Resource::Texture(device.create_texture(&wgpu::TextureDescriptor {
                    label: Some("impasto pooled texture"),
                    size: wgpu::Extent3d {
                        width,
                        height,
                        depth_or_array_layers: 1,
                    },
                    mip_level_count: 1,
                    sample_count: 1,
                    dimension: wgpu::TextureDimension::D2,
                    format,
                    usage,
                    view_formats: &[],
                }))
            }
        };
        self.stats.bytes_live += key.bytes();
        self.stats.bytes_peak = self.stats.bytes_peak.max(self.stats.bytes_live);
        Loan {
            key,
            res,
            want: key.bytes(),
        }
    }

    /// Changes the budget; idle resources over it are dropped at once.
    pub fn set_budget(&mut self, budget: u64) {
        self.stats.budget = budget;
        while self.stats.bytes_live > budget && !self.idle.is_empty() {
            self.evict_oldest();
        }
    }

    /// Returns a resource; idle resources past the budget are dropped, oldest first.
    pub fn give_back(&mut self, loan: Loan) {
        self.idle.push_back(loan);
        while self.stats.bytes_live > self.stats.budget && !self.idle.is_empty() {
            self.evict_oldest();
        }
    }

    fn evict_oldest(&mut self) {
        if let Some(old) = self.idle.pop_front() {
            self.stats.bytes_live -= old.key.bytes();
            match old.res {
                Resource::Buffer(b) => {
                    self.stats.buffers -= 1;
                    b.destroy();
                }
                Resource::Texture(t) => {
                    self.stats.textures -= 1;
                    t.destroy();
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
            Key::buffer(1, u),
            Key::Buffer {
                size: 256,
                usage: u
            }
        );
        assert_eq!(
            Key::buffer(1000, u),
            Key::Buffer {
                size: 1024,
                usage: u
            }
        );
        let t = Key::texture(
            257,
            3,
            wgpu::TextureFormat::Rgba8Unorm,
            wgpu::TextureUsages::COPY_DST,
        );
        match t {
            Key::Texture { width, height, .. } => assert_eq!((width, height), (512, 16)),
            _ => unreachable!(),
        }
        assert_eq!(t.bytes(), 512 * 16 * 4);
    }
}
