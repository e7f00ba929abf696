//! A render's inputs, uploaded into pooled resources: uniforms, storage
//! tables, images and scratch space. Each returns the typed handle of its
//! loan.

use bytemuck::Pod;
use image::RgbaImage;

use std::sync::atomic::Ordering;
use std::time::Instant;

use super::context::GpuContext;
use rayon::prelude::*;

use super::loans::{BufferId, Loans, TextureCopy, TextureId};
use super::phases::overlap_submit_bytes;
use crate::error::Error;
use crate::pixels::PremulImage;
use crate::plan::Stops;

/// Uniforms and tables at most this large go into the frame's arena
/// (one upload for all of them, [`Loans::arena_push`]); larger ones get a
/// pooled buffer of their own.
const ARENA_ITEM_BYTES: usize = 64 << 10;

/// The most bytes a frame's arena holds (a scene of thousands of layers
/// uploads the rest into buffers of their own), far under any adapter's
/// buffer size limit (256 MiB by default).
const ARENA_MAX_BYTES: u64 = 16 << 20;

/// Images at least this large are uploaded through parallel staging.
const STAGED_UPLOAD_BYTES: usize = 1 << 20;

/// wgpu's row alignment for buffer-to-texture copies.
const CHUNK: usize = wgpu::COPY_BYTES_PER_ROW_ALIGNMENT as usize;

/// An image's rows as a staging buffer holds them: `row` bytes each, at a
/// stride of `row_bytes` (a multiple of 256).
struct Rows<'a> {
    raw: &'a [u8],
    row: usize,
    row_bytes: usize,
    /// Fill in blocks of [`BLOCK`] bytes (with in-frame overlap on), not
    /// of 256.
    blocks: bool,
}

/// The blocks of staging rayon fills: 1,024 per 2048x2048 image, against
/// 65,536 chunks of 256 bytes, whose handles are gathered on the calling
/// thread before any copy starts.
const BLOCK: usize = 16 << 10;

impl Rows<'_> {
    /// Copies the rows into `dst` (`row_bytes` x rows long) from every
    /// core; the padding past a row's end is never written (nor read).
    fn fill(&self, dst: wgpu::WriteOnly<'_, [u8]>) {
        if self.blocks {
            self.fill_blocks(dst);
        } else {
            self.fill_chunks(dst);
        }
    }

    /// [`Rows::fill`] in blocks of [`BLOCK`] bytes, each from the rows it
    /// covers; the last partial block on the calling thread.
    fn fill_blocks(&self, dst: wgpu::WriteOnly<'_, [u8]>) {
        let (blocks, rest) = dst.into_chunks::<BLOCK>();
        let whole = blocks.len();
        let blocks: Vec<wgpu::WriteOnly<'_, [u8; BLOCK]>> = blocks.into_iter().collect();
        blocks
            .into_par_iter()
            .enumerate()
            .for_each(|(k, block)| self.fill_span(k * BLOCK, block.into()));
        self.fill_span(whole * BLOCK, rest);
    }

    /// Fills `dst`, which holds the staging bytes from offset `base`, with
    /// the parts of rows it covers.
    fn fill_span(&self, base: usize, mut dst: wgpu::WriteOnly<'_, [u8]>) {
        let (raw, row, row_bytes) = (self.raw, self.row, self.row_bytes);
        let rows = raw.len() / row.max(1);
        let end = base + dst.len();
        let mut at = base;
        while at < end {
            let (y, x) = (at / row_bytes, at % row_bytes);
            if y < rows && x < row {
                let n = (row - x).min(end - at);
                let src = &raw[y * row + x..y * row + x + n];
                dst.slice(at - base..at - base + n).copy_from_slice(src);
            }
            at = ((y + 1) * row_bytes).min(end);
        }
    }

    /// [`Rows::fill`] in whole 256-byte chunks, each filled from its row's
    /// bytes (in-frame overlap off).
    fn fill_chunks(&self, dst: wgpu::WriteOnly<'_, [u8]>) {
        let (chunks, _) = dst.into_chunks::<CHUNK>();
        let chunks: Vec<wgpu::WriteOnly<'_, [u8; CHUNK]>> = chunks.into_iter().collect();
        let per_row = self.row_bytes / CHUNK;
        let (raw, row) = (self.raw, self.row);
        let rows = raw.len() / row.max(1);
        chunks
            .into_par_iter()
            .enumerate()
            .with_min_len(4096)
            .for_each(|(k, chunk)| {
                let (y, x) = (k / per_row, (k % per_row) * CHUNK);
                if y >= rows || x >= row {
                    return;
                }
                let n = (row - x).min(CHUNK);
                let src = &raw[y * row + x..y * row + x + n];
                let mut dst: wgpu::WriteOnly<'_, [u8]> = chunk.into();
                dst.slice(..n).copy_from_slice(src);
            });
    }
}

impl GpuContext {
    /// A pooled buffer for `usage` holding `bytes`.
    fn upload(&self, bytes: &[u8], usage: wgpu::BufferUsages, loans: &mut Loans) -> BufferId {
        if bytes.len() <= ARENA_ITEM_BYTES {
            if let Some(id) = loans.arena_push(bytes, self.arena_align, ARENA_MAX_BYTES) {
                return id;
            }
        }
        let id = self.take_buffer(
            bytes.len() as u64,
            usage | wgpu::BufferUsages::COPY_DST,
            loans,
        );
        self.queue.write_buffer(loans.buffer(id), 0, bytes);
        id
    }

    /// Uploads the frame's arena of small uploads (if it holds any) in one
    /// write into a pooled buffer: called once every upload is made and
    /// before anything is bound.
    pub(super) fn upload_arena(&self, loans: &mut Loans) {
        let Some(len) = loans.arena_to_upload().map(<[u8]>::len) else {
            return;
        };
        let usage = wgpu::BufferUsages::UNIFORM
            | wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_DST;
        let id = self.take_buffer(len as u64, usage, loans);
        if let Some(bytes) = loans.arena_to_upload() {
            self.queue.write_buffer(loans.buffer(id), 0, bytes);
        }
        loans.set_arena_buffer(id);
    }

    /// A read-only storage buffer holding `bytes`.
    pub(super) fn storage(&self, bytes: &[u8], loans: &mut Loans) -> BufferId {
        self.upload(bytes, wgpu::BufferUsages::STORAGE, loans)
    }

    /// A uniform buffer holding `params` (one of the `params` structs).
    pub(super) fn uniform<P: Pod>(&self, params: &P, loans: &mut Loans) -> BufferId {
        self.upload(
            bytemuck::bytes_of(params),
            wgpu::BufferUsages::UNIFORM,
            loans,
        )
    }

    /// A storage buffer of `bytes` for the GPU to write.
    pub(super) fn scratch(&self, bytes: u64, loans: &mut Loans) -> BufferId {
        self.take_buffer(
            bytes,
            wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            loans,
        )
    }

    /// A straight 8-bit image as an `Rgba8Unorm` texture. Images of a
    /// megabyte or more are staged: copied into mapped staging memory from
    /// every core, then copied into the texture at the start of the render's
    /// commands ([`Loans::record_copies`]); `queue.write_texture` copies on
    /// one thread, which bound a ten-layer 2048x2048 frame on an H100 host
    /// (45 ms of uploads against 17 ms staged; BENCHMARKS.md).
    pub(super) fn upload_texture(&self, img: &RgbaImage, loans: &mut Loans) -> TextureId {
        let (w, h) = img.dimensions();
        let id = self.take_texture(
            (w, h),
            wgpu::TextureFormat::Rgba8Unorm,
            wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
            loans,
        );
        if img.as_raw().len() >= STAGED_UPLOAD_BYTES && self.stage_image(img, id, loans) {
            return id;
        }
        self.queue.write_texture(
            wgpu::TexelCopyTextureInfo {
                texture: loans.texture(id),
                mip_level: 0,
                origin: wgpu::Origin3d::ZERO,
                aspect: wgpu::TextureAspect::All,
            },
            img.as_raw(),
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(4 * w),
                rows_per_image: Some(h),
            },
            wgpu::Extent3d {
                width: w,
                height: h,
                depth_or_array_layers: 1,
            },
        );
        id
    }

    /// Writes `img` into a pooled staging buffer (rows padded to 256 bytes)
    /// from every core and queues its copy into texture `to`: a pooled
    /// buffer lent mapped, or, where that fails, wgpu's staging memory
    /// (`queue.write_buffer_with`, one more copy on the GPU). False when
    /// neither gives memory (then the caller writes it directly).
    fn stage_image(&self, img: &RgbaImage, to: TextureId, loans: &mut Loans) -> bool {
        let (w, h) = img.dimensions();
        let row = 4 * w as usize;
        let row_bytes = row.div_ceil(CHUNK) * CHUNK;
        let Some(size) = std::num::NonZeroU64::new((row_bytes * h as usize) as u64) else {
            return false;
        };
        let rows = Rows {
            raw: img.as_raw(),
            row,
            row_bytes,
            blocks: self.overlap.load(Ordering::Relaxed),
        };
        let mapped = !self.unmapped_uploads.load(Ordering::Relaxed);
        let from = mapped
            .then(|| self.stage_mapped(&rows, size.get(), loans))
            .flatten()
            .or_else(|| self.stage_written(&rows, size, loans));
        let Some(from) = from else {
            return false;
        };
        loans.add_copy(TextureCopy {
            from,
            to,
            size: (w, h),
            row_bytes: row_bytes as u32,
        });
        // With in-frame overlap on, once enough staging is filled
        // (`IMPASTO_GPU_OVERLAP_SUBMIT_MIB`, 8 MiB by default).
        if self.overlap.load(Ordering::Relaxed)
            && loans.pending_copy_bytes() >= overlap_submit_bytes()
        {
            self.submit_copies(loans);
        }
        true
    }

    /// Submits the staged copies recorded so far in a submission of their
    /// own, so that the GPU copies them while the host fills the next
    /// staging buffers (in-frame overlap). The frame's passes come in a
    /// later submission on the same queue, which runs after this one.
    pub(super) fn submit_copies(&self, loans: &mut Loans) {
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("impasto uploads"),
            });
        loans.record_copies(&mut encoder);
        self.queue.submit([encoder.finish()]);
    }

    /// `rows` written into a pooled `MAP_WRITE` buffer lent mapped, then
    /// unmapped for the GPU (it is mapped again when the frame's loans go
    /// back). None when its mapped range cannot be had.
    fn stage_mapped(&self, rows: &Rows<'_>, size: u64, loans: &mut Loans) -> Option<BufferId> {
        let id = self.take_buffer(
            size,
            wgpu::BufferUsages::MAP_WRITE | wgpu::BufferUsages::COPY_SRC,
            loans,
        );
        let Ok(mut view) = loans.buffer(id).slice(..size).get_mapped_range_mut() else {
            loans.map_failed(id);
            return None;
        };
        let started = Instant::now();
        rows.fill(view.slice(..));
        let took = started.elapsed();
        drop(view);
        loans.unmap(id);
        if let Some(clock) = &mut loans.clock {
            clock.filled(size, took);
        }
        Some(id)
    }

    /// `rows` written into wgpu's staging memory for a pooled `COPY_DST`
    /// buffer (the fallback). None when wgpu gives no staging memory.
    fn stage_written(
        &self,
        rows: &Rows<'_>,
        size: std::num::NonZeroU64,
        loans: &mut Loans,
    ) -> Option<BufferId> {
        let id = self.take_buffer(
            size.get(),
            wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
            loans,
        );
        let mut view = self.queue.write_buffer_with(loans.buffer(id), 0, size)?;
        let started = Instant::now();
        rows.fill(view.slice(..));
        let took = started.elapsed();
        drop(view);
        if let Some(clock) = &mut loans.clock {
            clock.filled(size.get(), took);
        }
        Some(id)
    }

    /// Uploads a premultiplied image resampled or rasterized on the CPU
    /// (layer `index`'s) as the `f32` storage the composite pass reads.
    pub(super) fn upload_premul16(
        &self,
        index: usize,
        img: &PremulImage,
        loans: &mut Loans,
    ) -> Result<BufferId, Error> {
        let bytes = img.data.len() as u64 * 16;
        if bytes > self.max_storage() {
            return Err(Error::GpuLimit(format!(
                "layer {index}: its {}x{} resampled pixels need {bytes} bytes, over this adapter's storage binding limit of {} bytes; use the CPU backend",
                img.width, img.height, self.max_storage()
            )));
        }
        let floats: Vec<[f32; 4]> = img
            .data
            .iter()
            .map(|p| p.map(|v| v as f32 * (1.0 / 65535.0)))
            .collect();
        Ok(self.storage(bytemuck::cast_slice(&floats), loans))
    }

    /// Gradient stops as the shader reads them: per stop, its offset (in
    /// `x`) then its premultiplied colour.
    pub(super) fn stops(&self, stops: &Stops, loans: &mut Loans) -> BufferId {
        let data: Vec<[f32; 4]> = stops
            .iter()
            .flat_map(|&(offset, color)| [[offset as f32, 0.0, 0.0, 0.0], color])
            .collect();
        self.storage(bytemuck::cast_slice(&data), loans)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A context on whatever adapter wgpu finds (see `test_context`).
    fn context() -> Option<GpuContext> {
        super::super::context::test_context(64 << 20)
    }

    /// Staging bytes filled both ways, padding bytes left as they were.
    #[test]
    fn filling_in_blocks_writes_what_filling_in_chunks_writes() {
        // (width, height): padded rows spanning blocks, one-pixel rows,
        // rows wider than a block, rows that fill blocks exactly.
        for (w, h) in [
            (1000usize, 37usize),
            (1, 3),
            (5000, 9),
            (2048, 5),
            (64, 300),
        ] {
            let raw: Vec<u8> = (0..4 * w * h).map(|i| (i * 7 + i / 1000) as u8).collect();
            let row_bytes = (4 * w).div_ceil(CHUNK) * CHUNK;
            let fill = |blocks: bool| {
                let mut staging = vec![0xa5u8; row_bytes * h];
                let rows = Rows {
                    raw: &raw,
                    row: 4 * w,
                    row_bytes,
                    blocks,
                };
                rows.fill(wgpu::WriteOnly::from(&mut staging[..]));
                staging
            };
            let chunks = fill(false);
            assert!(fill(true) == chunks, "{w}x{h}");
            assert_eq!(&chunks[..4 * w], &raw[..4 * w], "{w}x{h}");
        }
    }

    const STAGING: wgpu::BufferUsages =
        wgpu::BufferUsages::MAP_WRITE.union(wgpu::BufferUsages::COPY_SRC);

    #[test]
    fn an_upload_staging_buffer_is_lent_mapped_and_comes_back_mapped_for_its_next_loan() {
        let Some(ctx) = context() else { return };
        let mut loans = Loans::default();
        let id = ctx.take_buffer(3 << 20, STAGING, &mut loans);
        let first = loans.buffer(id).clone();
        // Lent mapped (at creation); written, then unmapped for the GPU.
        assert!(first.slice(..).get_mapped_range_mut().is_ok());
        loans.unmap(id);
        ctx.give_back(&mut loans);
        // The same buffer again, mapped again (after one poll).
        let id = ctx.take_buffer(3 << 20, STAGING, &mut loans);
        assert!(*loans.buffer(id) == first, "a new buffer was allocated");
        assert!(loans.buffer(id).slice(..).get_mapped_range_mut().is_ok());
        let s = ctx.pool_stats();
        assert_eq!((s.hits, s.misses, s.buffers), (1, 1, 1), "{s:?}");
        assert_eq!(s.bytes_live, 4 << 20);
        ctx.give_back(&mut loans);
    }

    #[test]
    fn an_upload_staging_buffer_whose_mapping_failed_is_dropped_when_it_comes_back() {
        let Some(ctx) = context() else { return };
        let mut loans = Loans::default();
        let id = ctx.take_buffer(1 << 20, STAGING, &mut loans);
        loans.map_failed(id);
        ctx.give_back(&mut loans);
        let s = ctx.pool_stats();
        assert_eq!((s.buffers, s.bytes_live), (0, 0), "{s:?}");
        // The next loan is a new buffer, mapped.
        let id = ctx.take_buffer(1 << 20, STAGING, &mut loans);
        assert!(loans.buffer(id).slice(..).get_mapped_range_mut().is_ok());
        assert_eq!(ctx.pool_stats().misses, 2);
        ctx.give_back(&mut loans);
    }
}
