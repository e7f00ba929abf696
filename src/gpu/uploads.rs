//! A render's inputs, uploaded into pooled resources: uniforms, storage
//! tables, images and scratch space. Each returns the typed handle of its
//! loan.

use bytemuck::Pod;
use image::RgbaImage;

use super::context::GpuContext;
use super::loans::{BufferId, Loans, TextureId};
use crate::error::Error;
use crate::pixels::PremulImage;
use crate::plan::Stops;

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

    /// A straight 8-bit image as an `Rgba8Unorm` texture.
    pub(super) fn upload_texture(&self, img: &RgbaImage, loans: &mut Loans) -> TextureId {
        let (w, h) = img.dimensions();
        let id = self.take_texture(
            (w, h),
            wgpu::TextureFormat::Rgba8Unorm,
            wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
            loans,
        );
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
            return Err(Error::Gpu(format!(
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
