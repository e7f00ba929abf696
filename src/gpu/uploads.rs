//! A render's inputs, uploaded into pooled resources: uniforms, storage
//! tables, images and scratch space. Each returns the typed handle of its
//! loan.

use bytemuck::Pod;
use image::RgbaImage;

use super::context::GpuContext;
use rayon::prelude::*;

use super::loans::{BufferId, Loans, TextureCopy, TextureId};
use crate::error::Error;
use crate::pixels::PremulImage;
use crate::plan::Stops;

/// Images at least this large are uploaded through parallel staging.
const STAGED_UPLOAD_BYTES: usize = 1 << 20;

impl GpuContext {
    /// A pooled buffer for `usage` holding `bytes`.
    fn upload(&self, bytes: &[u8], usage: wgpu::BufferUsages, loans: &mut Loans) -> BufferId {
        let id = self.take_buffer(
            bytes.len() as u64,
            usage | wgpu::BufferUsages::COPY_DST,
            loans,
        );
        self.queue.write_buffer(loans.buffer(id), 0, bytes);
        id
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
    /// from every core and queues its copy into texture `to`. False when
    /// wgpu gives no staging memory (then the caller writes it directly).
    fn stage_image(&self, img: &RgbaImage, to: TextureId, loans: &mut Loans) -> bool {
        const CHUNK: usize = wgpu::COPY_BYTES_PER_ROW_ALIGNMENT as usize;
        let (w, h) = img.dimensions();
        let row = 4 * w as usize;
        let row_bytes = row.div_ceil(CHUNK) * CHUNK;
        let Some(size) = std::num::NonZeroU64::new((row_bytes * h as usize) as u64) else {
            return false;
        };
        let from = self.take_buffer(
            size.get(),
            wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
            loans,
        );
        let Some(mut view) = self.queue.write_buffer_with(loans.buffer(from), 0, size) else {
            return false;
        };
        // Whole 256-byte chunks (the size is a multiple of 256), each filled
        // from its row's bytes; the padding past a row's end is never read.
        let (chunks, _) = view.slice(..).into_chunks::<CHUNK>();
        let chunks: Vec<wgpu::WriteOnly<'_, [u8; CHUNK]>> = chunks.into_iter().collect();
        let per_row = row_bytes / CHUNK;
        let raw = img.as_raw();
        chunks
            .into_par_iter()
            .enumerate()
            .with_min_len(4096)
            .for_each(|(k, chunk)| {
                let (y, x) = (k / per_row, (k % per_row) * CHUNK);
                if x >= row {
                    return;
                }
                let n = (row - x).min(CHUNK);
                let src = &raw[y * row + x..y * row + x + n];
                let mut dst: wgpu::WriteOnly<'_, [u8]> = chunk.into();
                dst.slice(..n).copy_from_slice(src);
            });
        drop(view);
        loans.add_copy(TextureCopy {
            from,
            to,
            size: (w, h),
            row_bytes: row_bytes as u32,
        });
        true
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
        if bytes > self.max_storage {
            return Err(Error::GpuLimit(format!(
                "layer {index}: its {}x{} resampled pixels need {bytes} bytes, over this adapter's storage binding limit of {} bytes; use the CPU backend",
                img.width, img.height, self.max_storage
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
