//! A render's loans from the [`Pool`], behind typed handles: a [`BufferId`]
//! can only name a buffer and a [`TextureId`] a texture, so a texture cannot
//! be bound where a buffer belongs (or the reverse). Handles are made only
//! here, by [`Loans::add_buffer`], [`Loans::add_texture`] and, for the
//! buffers of the GPU's resampled-image cache ([`super::placed`]), which
//! the render binds but never gives back to the pool, [`Loans::add_cached`]
//! and [`Loans::add_filling`].

use super::phases::PhaseClock;
use super::pool::{BufferLoan, Loan, Pool, TextureLoan};
use crate::placed_cache::PlacedKey;

/// A buffer this render binds: lent by the pool, or held by the
/// resampled-image cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BufferId {
    Pool(usize),
    Cached(usize),
    /// A slice of the frame's arena of small uploads ([`Loans::arena_push`]).
    Arena(usize),
}

/// A frame's uniforms and small tables, gathered on the host and uploaded
/// in one write into one pooled buffer before anything is bound: a
/// `queue.write_buffer` each made wgpu allocate and map a staging buffer
/// each, about a tenth of the driving thread's work on a card.
#[derive(Debug, Default)]
struct Arena {
    bytes: Vec<u8>,
    /// Each slice's offset and bound size.
    slices: Vec<(u64, u64)>,
    /// The pool loan (index in `taken`) holding the uploaded bytes.
    buffer: Option<usize>,
}

/// A texture lent to this render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct TextureId(usize);

/// Every resource one render (one tile) holds, in the order it was taken;
/// all of them go back to the pool together, in that order.
#[derive(Debug, Default)]
pub(super) struct Loans {
    taken: Vec<Loan>,
    /// Buffers of the resampled-image cache this render reads (a hit) or
    /// writes (a fill), with the bytes bound: not the pool's.
    cached: Vec<(wgpu::Buffer, u64)>,
    /// Resamples this render fills, kept by the cache once the render is
    /// submitted without error ([`Loans::take_fills`]).
    fills: Vec<(PlacedKey, wgpu::Buffer)>,
    /// Keys this render claimed to fill (`PlacedCache::claim`): every claim
    /// is ended when the loans go back, whatever happened in between.
    claims: Vec<PlacedKey>,
    arena: Arena,
    /// Staged image uploads to record (buffer to texture) before any pass.
    copies: Vec<TextureCopy>,
    /// The render's phase clock, when the breakdown is on
    /// (`IMPASTO_GPU_PHASES`): it travels with the loans from the first
    /// upload to the readback.
    pub clock: Option<Box<PhaseClock>>,
}

/// An image written into a staging buffer, to be copied into its texture
/// at the start of the render's command encoder.
#[derive(Debug, Clone, Copy)]
pub(super) struct TextureCopy {
    pub from: BufferId,
    pub to: TextureId,
    pub size: (u32, u32),
    /// Bytes per row in the staging buffer (a multiple of 256).
    pub row_bytes: u32,
}

impl Loans {
    pub fn add_buffer(&mut self, loan: BufferLoan) -> BufferId {
        self.taken.push(Loan::Buffer(loan));
        BufferId::Pool(self.taken.len() - 1)
    }

    pub fn add_texture(&mut self, loan: TextureLoan) -> TextureId {
        self.taken.push(Loan::Texture(loan));
        TextureId(self.taken.len() - 1)
    }

    /// A buffer the resampled-image cache holds, `want` bytes of it bound.
    pub fn add_cached(&mut self, buffer: wgpu::Buffer, want: u64) -> BufferId {
        self.cached.push((buffer, want));
        BufferId::Cached(self.cached.len() - 1)
    }

    /// A buffer made for the resample `key` names, which this render fills
    /// and the cache keeps once the render is submitted.
    pub fn add_filling(&mut self, key: PlacedKey, buffer: wgpu::Buffer, want: u64) -> BufferId {
        self.fills.push((key, buffer.clone()));
        self.add_cached(buffer, want)
    }

    /// The resamples this render filled, for the cache (once it is
    /// submitted without error).
    pub fn take_fills(&mut self) -> Vec<(PlacedKey, wgpu::Buffer)> {
        std::mem::take(&mut self.fills)
    }

    /// Remembers a claim this render made, to end it with the loans.
    pub fn add_claim(&mut self, key: PlacedKey) {
        self.claims.push(key);
    }

    /// The claims this render made.
    pub fn take_claims(&mut self) -> Vec<PlacedKey> {
        std::mem::take(&mut self.claims)
    }

    /// Reserves `data` in the frame's arena of small uploads, at an offset
    /// that is a multiple of `align`, `data.len().max(16)` bytes long (the
    /// size it is bound with, as a pooled buffer's `want`), rounded up to 4.
    /// `None` once the arena is uploaded (a push then would bind bytes
    /// never written) or when it would grow past `max` bytes: the caller
    /// then uploads into a buffer of its own.
    pub fn arena_push(&mut self, data: &[u8], align: u64, max: u64) -> Option<BufferId> {
        let a = &mut self.arena;
        let offset = (a.bytes.len() as u64).next_multiple_of(align.max(4));
        let size = (data.len() as u64).max(16).next_multiple_of(4);
        if a.buffer.is_some() || offset + size > max {
            return None;
        }
        a.bytes.resize(offset as usize, 0);
        a.bytes.extend_from_slice(data);
        a.bytes.resize((offset + size) as usize, 0);
        a.slices.push((offset, size));
        Some(BufferId::Arena(a.slices.len() - 1))
    }

    /// The arena's bytes to upload, once, when it holds any and has no
    /// buffer yet.
    pub fn arena_to_upload(&self) -> Option<&[u8]> {
        (self.arena.buffer.is_none() && !self.arena.bytes.is_empty())
            .then_some(self.arena.bytes.as_slice())
    }

    /// The pooled buffer the arena was uploaded into.
    pub fn set_arena_buffer(&mut self, id: BufferId) {
        if let BufferId::Pool(i) = id {
            self.arena.buffer = Some(i);
        }
    }

    /// The pool's loan `id` names; `None` for a cache's buffer or an arena
    /// slice.
    fn buffer_loan(&self, id: BufferId) -> Option<&BufferLoan> {
        match id {
            BufferId::Pool(i) => match &self.taken[i] {
                Loan::Buffer(b) => Some(b),
                Loan::Texture(_) => unreachable!("a BufferId is only made for a buffer"),
            },
            BufferId::Cached(_) | BufferId::Arena(_) => None,
        }
    }

    /// The buffer `id` names, the offset of its bytes in it, and how many
    /// are bound.
    fn resolve(&self, id: BufferId) -> (&wgpu::Buffer, u64, u64) {
        match (id, self.buffer_loan(id)) {
            (_, Some(loan)) => (&loan.buffer, 0, loan.want),
            (BufferId::Cached(i), None) => (&self.cached[i].0, 0, self.cached[i].1),
            (BufferId::Arena(k), None) => {
                let (offset, size) = self.arena.slices[k];
                match self.arena.buffer.map(|i| &self.taken[i]) {
                    Some(Loan::Buffer(b)) => (&b.buffer, offset, size),
                    _ => unreachable!("the arena is uploaded before anything is bound"),
                }
            }
            (BufferId::Pool(_), None) => unreachable!("a Pool id names a pool loan"),
        }
    }

    /// The whole buffer `id` names (for copies and mapping: pool loans and
    /// the cache's buffers; an arena slice is only ever bound, through
    /// [`Loans::binding`]).
    pub fn buffer(&self, id: BufferId) -> &wgpu::Buffer {
        match id {
            BufferId::Arena(_) => unreachable!("an arena slice is only bound"),
            _ => self.resolve(id).0,
        }
    }

    /// Unmaps a written upload staging buffer (lent mapped) for the GPU.
    pub fn unmap(&self, id: BufferId) {
        if let Some(b) = self.buffer_loan(id) {
            b.unmap();
        }
    }

    /// Marks an upload staging buffer whose mapping could not be had: the
    /// pool drops it when it comes back.
    pub fn map_failed(&self, id: BufferId) {
        if let Some(b) = self.buffer_loan(id) {
            b.map_failed();
        }
    }

    /// The buffer bound with exactly the bytes the borrower asked for
    /// (pooled buffers are larger; an arena slice is part of the arena).
    pub fn binding(&self, id: BufferId) -> wgpu::BindingResource<'_> {
        let (buffer, offset, size) = self.resolve(id);
        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer,
            offset,
            size: std::num::NonZeroU64::new(size),
        })
    }

    pub fn texture(&self, id: TextureId) -> &wgpu::Texture {
        match &self.taken[id.0] {
            Loan::Texture(t) => &t.texture,
            Loan::Buffer(_) => unreachable!("a TextureId is only made for a texture"),
        }
    }

    /// A view of the whole texture.
    pub fn view(&self, id: TextureId) -> wgpu::TextureView {
        self.texture(id).create_view(&Default::default())
    }

    /// Remembers a staged upload for [`Loans::record_copies`].
    pub fn add_copy(&mut self, copy: TextureCopy) {
        self.copies.push(copy);
    }

    /// Bytes of staging whose copies are not recorded yet.
    pub fn pending_copy_bytes(&self) -> u64 {
        self.copies
            .iter()
            .map(|c| c.row_bytes as u64 * c.size.1 as u64)
            .sum()
    }

    /// Records every staged upload into `encoder` (before the passes that
    /// read the textures).
    pub fn record_copies(&mut self, encoder: &mut wgpu::CommandEncoder) {
        for c in std::mem::take(&mut self.copies) {
            encoder.copy_buffer_to_texture(
                wgpu::TexelCopyBufferInfo {
                    buffer: self.buffer(c.from),
                    layout: wgpu::TexelCopyBufferLayout {
                        offset: 0,
                        bytes_per_row: Some(c.row_bytes),
                        rows_per_image: Some(c.size.1),
                    },
                },
                wgpu::TexelCopyTextureInfo {
                    texture: self.texture(c.to),
                    mip_level: 0,
                    origin: wgpu::Origin3d::ZERO,
                    aspect: wgpu::TextureAspect::All,
                },
                wgpu::Extent3d {
                    width: c.size.0,
                    height: c.size.1,
                    depth_or_array_layers: 1,
                },
            );
        }
    }

    /// Returns every loan to `pool`, oldest first; the arena is empty after
    /// (the cache's buffers are let go: the cache, or nobody, holds them).
    pub fn give_back(&mut self, pool: &mut Pool) {
        self.copies.clear();
        self.clock = None;
        self.cached.clear();
        self.fills.clear();
        self.claims.clear();
        self.arena = Arena::default();
        for loan in self.taken.drain(..) {
            pool.give_back(loan);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arena_slices_start_aligned_hold_at_least_sixteen_bytes_and_upload_once() {
        let mut loans = Loans::default();
        assert!(
            loans.arena_to_upload().is_none(),
            "an empty arena uploads nothing"
        );
        let a = loans.arena_push(&[1; 20], 256, 1 << 20);
        let b = loans.arena_push(&[2; 4], 256, 1 << 20);
        let c = loans.arena_push(&[3; 300], 256, 1 << 20);
        let ids = [a, b, c].map(Option::unwrap);
        assert_eq!(ids, [0, 1, 2].map(BufferId::Arena));
        // Past the cap: not in the arena.
        assert_eq!(loans.arena_push(&[4; 300], 256, 1000), None);
        assert_eq!(loans.arena.slices, vec![(0, 20), (256, 16), (512, 300)]);
        let bytes = loans.arena_to_upload().expect("bytes to upload");
        assert_eq!(bytes.len(), 812);
        assert!(bytes[..20].iter().all(|&v| v == 1) && bytes[20..256].iter().all(|&v| v == 0));
        assert_eq!(&bytes[256..260], &[2; 4]);
        assert!(bytes[260..272].iter().all(|&v| v == 0));
        assert!(bytes[512..].iter().all(|&v| v == 3));
        // Uploaded (a pool loan holds it): not again, and nothing more goes
        // in (it would be bound unwritten).
        loans.arena.buffer = Some(0);
        assert!(loans.arena_to_upload().is_none());
        assert_eq!(loans.arena_push(&[5; 4], 256, 1 << 20), None);
    }
}
