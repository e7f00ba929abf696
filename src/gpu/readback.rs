//! Reading a render back: the staging buffer (rows padded to 256 bytes),
//! the copy into it, its mapping, and the wait for the GPU under a time
//! limit. A submitted tile is an [`InFlight`], whose loans go back to the
//! pool when it is finished or dropped (after the GPU is done with them).

use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::{Duration, Instant};

use image::RgbaImage;
use rayon::prelude::*;

use super::context::{gpu_err, GpuContext};
use super::loans::{BufferId, Loans, TextureId};
use crate::cancel::Stop;
use crate::codec::jpeg_blocks::BlockLayout;
use crate::error::Error;

/// How long a render may wait for the GPU before it is an error.
const GPU_TIMEOUT: Duration = Duration::from_secs(60);

/// How often a wait for the GPU looks at the render's deadline and cancel
/// token.
const STOP_POLL: Duration = Duration::from_millis(5);

/// Bytes of one readback row of `w` RGBA8 pixels: padded to wgpu's copy
/// alignment (256 bytes).
fn padded_row(w: u32) -> u32 {
    let row = 4 * w;
    row.div_ceil(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT) * wgpu::COPY_BYTES_PER_ROW_ALIGNMENT
}

/// `h` rows of `w` RGBA8 pixels out of rows of `padded` bytes.
fn unpad(data: &[u8], w: u32, h: u32, padded: u32) -> Vec<u8> {
    let row = 4 * w as usize;
    let mut out = Vec::with_capacity(row * h as usize);
    for y in 0..h as usize {
        let start = y * padded as usize;
        out.extend_from_slice(&data[start..start + row]);
    }
    out
}

/// Results smaller than this are copied out on the calling thread (handing
/// work to rayon's threads costs more than copying them).
const PARALLEL_COPY_OUT_BYTES: usize = 256 << 10;

/// [`unpad`] from every core (for results of [`PARALLEL_COPY_OUT_BYTES`]
/// or more). Without row padding (rows of a multiple of
/// 256 bytes: widths of a multiple of 64) the bytes are collected by rayon
/// in 64-byte blocks straight into the result's fresh memory, with no pass
/// to zero it first (an allocator that reuses memory, mimalloc in the
/// `impasto` binary, zeroes a large `vec![0; n]` on the calling thread).
/// With padding, the result is allocated zeroed and filled in bands of rows.
fn unpad_parallel(data: &[u8], w: u32, h: u32, padded: u32) -> Vec<u8> {
    const BLOCK: usize = 64;
    let row = 4 * w as usize;
    let n = row * h as usize;
    if n < PARALLEL_COPY_OUT_BYTES {
        return unpad(data, w, h, padded);
    }
    if row == padded as usize && n.is_multiple_of(BLOCK) {
        let mut blocks: Vec<[u8; BLOCK]> = Vec::new();
        data[..n]
            .par_chunks_exact(BLOCK)
            .with_min_len(1024)
            .map(|c| {
                let mut b = [0u8; BLOCK];
                b.copy_from_slice(c);
                b
            })
            .collect_into_vec(&mut blocks);
        return blocks.into_flattened();
    }
    let mut out = vec![0u8; n];
    if row == 0 {
        return out;
    }
    // Bands of at least 64 KiB, so that small results are not split finely.
    let min_rows = (64 << 10) / row + 1;
    out.par_chunks_mut(row)
        .enumerate()
        .with_min_len(min_rows)
        .for_each(|(y, dst)| {
            let start = y * padded as usize;
            dst.copy_from_slice(&data[start..start + row]);
        });
    out
}

/// Blocks of at least this many bytes are copied out by rayon's threads
/// with `parallel` (a 4K frame's 25 MB); below, one `memcpy` on the calling
/// thread is faster (2.7 MB: 0.08 ms alone against 0.11 ms split, on this
/// project's 2-vCPU EPYC).
const PARALLEL_BLOCKS_BYTES: usize = 8 << 20;

/// The JPEG pass's blocks (zigzag `i16` coefficients) out of mapped bytes
/// (WGSL's buffers are little-endian whatever the host): on a little-endian
/// host a plain copy, split between rayon's threads for large results with
/// `parallel`; on a big-endian one, value by value. (Until 2026-11-27 every
/// host converted value by value, 64 at a time, and split it between every
/// core: 0.36-0.58 ms for a 1200x630 card's 2.7 MB against 0.08 ms for the
/// copy, same machine.)
fn blocks_from_le(data: &[u8], parallel: bool) -> Vec<i16> {
    let mut out = vec![0i16; data.len() / 2];
    if cfg!(target_endian = "little") {
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut out);
        let data = &data[..bytes.len()];
        if parallel && bytes.len() >= PARALLEL_BLOCKS_BYTES {
            const CHUNK: usize = 1 << 18;
            bytes
                .par_chunks_mut(CHUNK)
                .zip(data.par_chunks(CHUNK))
                .for_each(|(d, s)| d.copy_from_slice(s));
        } else {
            bytes.copy_from_slice(data);
        }
    } else {
        for (o, c) in out.iter_mut().zip(data.chunks_exact(2)) {
            *o = i16::from_le_bytes([c[0], c[1]]);
        }
    }
    out
}

/// What a render reads back: its pixels, or (JPEG out, at this quality)
/// the quantised DCT blocks the JPEG pass computed from them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Want {
    /// Straight 8-bit RGBA.
    Pixels,
    /// The blocks of a JPEG at this quality (1..=100).
    JpegBlocks(u8),
}

/// A render read back, as [`Want`] asked.
pub(crate) enum Readback {
    /// Straight 8-bit RGBA.
    Image(RgbaImage),
    /// Quantised DCT blocks, laid out as `layout` says.
    Jpeg {
        /// Every block's coefficients, zigzag order.
        blocks: Vec<i16>,
        /// Size, quality and block order.
        layout: BlockLayout,
    },
}

impl Readback {
    /// The pixels of a render that asked for them.
    pub fn into_image(self) -> Result<RgbaImage, Error> {
        match self {
            Readback::Image(img) => Ok(img),
            Readback::Jpeg { .. } => Err(Error::Gpu(
                "the render read back JPEG blocks where its pixels were asked for".into(),
            )),
        }
    }
}

/// What a staging buffer receives.
#[derive(Debug, Clone, Copy)]
enum Content {
    /// A `size` image, rows of `padded` bytes.
    Pixels { padded: u32, size: (u32, u32) },
    /// The JPEG pass's blocks (128 bytes each), copied from `source`.
    Blocks {
        layout: BlockLayout,
        source: BufferId,
    },
}

/// The buffer a result is copied into.
pub(super) struct Staging {
    buffer: BufferId,
    content: Content,
}

impl Staging {
    fn bytes(&self) -> u64 {
        match self.content {
            Content::Pixels { padded, size } => padded as u64 * size.1 as u64,
            Content::Blocks { layout, .. } => layout.blocks() * 128,
        }
    }

    /// Records the copy of the result into the staging buffer: `texture`
    /// (the encode pass's output) for pixels, the JPEG pass's buffer for
    /// blocks.
    pub fn record_copy(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        texture: TextureId,
        loans: &Loans,
    ) {
        let (padded, (w, h)) = match self.content {
            Content::Pixels { padded, size } => (padded, size),
            Content::Blocks { source, .. } => {
                let bytes = self.bytes();
                let (from, to) = (loans.buffer(source), loans.buffer(self.buffer));
                encoder.copy_buffer_to_buffer(from, 0, to, 0, bytes);
                return;
            }
        };
        encoder.copy_texture_to_buffer(
            wgpu::TexelCopyTextureInfo {
                texture: loans.texture(texture),
                mip_level: 0,
                origin: wgpu::Origin3d::ZERO,
                aspect: wgpu::TextureAspect::All,
            },
            wgpu::TexelCopyBufferInfo {
                buffer: loans.buffer(self.buffer),
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(padded),
                    rows_per_image: Some(h),
                },
            },
            wgpu::Extent3d {
                width: w,
                height: h,
                depth_or_array_layers: 1,
            },
        );
    }

    /// Asks for the staging buffer to be mapped once submission `index` is
    /// done.
    pub fn map(self, index: wgpu::SubmissionIndex, loans: &Loans) -> Submitted {
        let (tx, mapped) = std::sync::mpsc::channel();
        loans
            .buffer(self.buffer)
            .slice(..self.bytes())
            .map_async(wgpu::MapMode::Read, move |r| {
                let _ = tx.send(r);
            });
        Submitted {
            staging: self,
            index,
            mapped,
        }
    }
}

impl GpuContext {
    /// A staging buffer for a `w` x `h` result.
    pub(super) fn staging(&self, (w, h): (u32, u32), loans: &mut Loans) -> Staging {
        let padded = padded_row(w);
        let buffer = self.take_buffer(
            padded as u64 * h as u64,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            loans,
        );
        Staging {
            buffer,
            content: Content::Pixels {
                padded,
                size: (w, h),
            },
        }
    }

    /// A staging buffer for the JPEG pass's blocks of `layout`, which it
    /// writes into `source`.
    pub(super) fn block_staging(
        &self,
        layout: BlockLayout,
        source: BufferId,
        loans: &mut Loans,
    ) -> Staging {
        let buffer = self.take_buffer(
            layout.blocks() * 128,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            loans,
        );
        Staging {
            buffer,
            content: Content::Blocks { layout, source },
        }
    }
}

/// What a submitted tile's readback needs: its staging buffer, its
/// submission, and the channel on which wgpu says that the staging buffer
/// is mapped.
pub(super) struct Submitted {
    staging: Staging,
    index: wgpu::SubmissionIndex,
    mapped: Receiver<Result<(), wgpu::BufferAsyncError>>,
}

/// A tile (or whole canvas) submitted to the GPU whose result has not been
/// read back. Its loans go back to the pool when it is finished or dropped
/// (after the GPU is done with them).
pub(crate) struct InFlight<'a> {
    pub(super) ctx: &'a GpuContext,
    pub(super) loans: Loans,
    pub(super) job: Option<Submitted>,
}

impl InFlight<'_> {
    /// Gives the frame up unread, without waiting for the GPU: its loans
    /// go back to the pool once the GPU is done with them
    /// ([`GpuContext::reap_abandoned`]).
    pub fn abandon(mut self) {
        self.give_up();
    }

    /// Hands the job still on the GPU, with its loans, to the context's
    /// abandoned frames (`Drop` then has nothing to wait for).
    fn give_up(&mut self) {
        if let Some(job) = self.job.take() {
            let loans = std::mem::take(&mut self.loans);
            self.ctx.abandon(Abandoned { job, loans });
        }
    }

    /// Waits for the GPU (polling the device, never longer than the GPU
    /// time limit) and reads the result back, removing the row padding;
    /// gives up with `stop`'s error once it says stop (checked every few
    /// milliseconds while the GPU works).
    pub fn finish_until(mut self, stop: &Stop<'_>) -> Result<Readback, Error> {
        let result = self.read(stop);
        if let Err(Error::Cancelled | Error::DeadlineExceeded) = &result {
            // Given up while the GPU still works: do not wait for it here.
            self.give_up();
        }
        // A loss shows as the device-lost callback, which runs on a poll:
        // the wait above polled; after a failure, poll once more.
        let lost = match &result {
            Ok(_) => self.ctx.is_lost(),
            Err(Error::Cancelled | Error::DeadlineExceeded) => false,
            Err(_) => self.ctx.check_lost(),
        };
        if lost {
            return Err(self.ctx.lost_error());
        }
        result
    }

    fn read(&mut self, stop: &Stop<'_>) -> Result<Readback, Error> {
        let Some(job) = self.job.as_ref() else {
            return Err(Error::Gpu("the render was already read back".into()));
        };
        let mut clock = self.loans.clock.take();
        if let Some(c) = &mut clock {
            c.waiting();
        }
        // Wait in short slices, so that a cancel or a deadline is seen
        // while the GPU works; the job stays in `self` until then, so that
        // dropping `self` after a stop waits for the GPU and unmaps.
        let give_up = Instant::now() + GPU_TIMEOUT;
        loop {
            stop.check()?;
            // Without a deadline or a cancel token, one wait (short waits
            // polled from many threads at once trip a wgpu-core assertion).
            let left = give_up.saturating_duration_since(Instant::now());
            let slice = if stop.can_stop() {
                STOP_POLL.min(left)
            } else {
                left
            };
            match self.ctx.device.poll(wgpu::PollType::Wait {
                submission_index: Some(job.index.clone()),
                timeout: Some(slice),
            }) {
                Ok(_) => break,
                Err(wgpu::PollError::Timeout) if Instant::now() < give_up => continue,
                Err(e) => return Err(gpu_err("waiting for the GPU", e)),
            }
        }
        let Some(job) = self.job.take() else {
            return Err(Error::Gpu("the render was already read back".into()));
        };
        let buffer = self.loans.buffer(job.staging.buffer);
        match job.mapped.recv_timeout(GPU_TIMEOUT) {
            Ok(Ok(())) => {}
            // A failed map leaves the buffer unmapped.
            Ok(Err(e)) => return Err(gpu_err("reading the result back", e)),
            Err(_) => {
                // Still waiting: unmapping cancels the request.
                buffer.unmap();
                return Err(Error::Gpu("the result was never mapped for reading".into()));
            }
        }
        if let Some(c) = &mut clock {
            c.mapped();
        }
        // Mapped from here: it goes back to the pool unmapped.
        let _unmap = Unmap(buffer);
        let data = buffer
            .slice(..job.staging.bytes())
            .get_mapped_range()
            .map_err(|e| gpu_err("reading the result back", e))?;
        let out = match job.staging.content {
            Content::Pixels {
                padded,
                size: (w, h),
            } => {
                let out = if self.ctx.overlap.load(Ordering::Relaxed) {
                    unpad_parallel(&data, w, h, padded)
                } else {
                    unpad(&data, w, h, padded)
                };
                RgbaImage::from_raw(w, h, out)
                    .map(Readback::Image)
                    .ok_or_else(|| Error::Gpu("readback size mismatch".into()))?
            }
            Content::Blocks { layout, .. } => Readback::Jpeg {
                blocks: blocks_from_le(&data, self.ctx.overlap.load(Ordering::Relaxed)),
                layout,
            },
        };
        drop(data);
        if let Some(c) = clock {
            self.ctx.report_phases(c.done(self.ctx));
        }
        Ok(out)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some(job) = self.job.take() {
            // Never read back: let the GPU finish with the loans first.
            let _ = self.ctx.device.poll(wgpu::PollType::Wait {
                submission_index: Some(job.index),
                timeout: Some(GPU_TIMEOUT),
            });
            // Mapped, or still waiting: unmap (which cancels a request). A
            // failed map left it unmapped, and unmapping that is an error.
            match job.mapped.try_recv() {
                Ok(Ok(())) | Err(TryRecvError::Empty) => {
                    self.loans.buffer(job.staging.buffer).unmap()
                }
                Ok(Err(_)) | Err(TryRecvError::Disconnected) => {}
            }
        }
        self.ctx.give_back(&mut self.loans);
    }
}

/// A frame given up on while the GPU worked on it, kept until the GPU is
/// done with its loans ([`GpuContext::reap_abandoned`]).
pub(crate) struct Abandoned {
    job: Submitted,
    loans: Loans,
}

impl GpuContext {
    /// Keeps `frame` until the GPU is done with it.
    fn abandon(&self, frame: Abandoned) {
        self.abandoned
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(frame);
    }

    /// Gives the loans of abandoned frames the GPU has finished back to the
    /// pool (without waiting for the others); called before each submission.
    pub(super) fn reap_abandoned(&self) {
        let mut frames = self.abandoned.lock().unwrap_or_else(|p| p.into_inner());
        if frames.is_empty() {
            return;
        }
        let _ = self.device.poll(wgpu::PollType::Poll);
        let mut kept = Vec::new();
        for mut frame in frames.drain(..) {
            // The staging buffer is mapped (or failed to map) only once the
            // GPU has finished the submission that wrote it.
            match frame.job.mapped.try_recv() {
                Ok(Ok(())) => {
                    frame.loans.buffer(frame.job.staging.buffer).unmap();
                    self.give_back(&mut frame.loans);
                }
                Ok(Err(_)) | Err(TryRecvError::Disconnected) => self.give_back(&mut frame.loans),
                Err(TryRecvError::Empty) => kept.push(frame),
            }
        }
        *frames = kept;
    }
}

/// Unmaps a mapped buffer when dropped.
struct Unmap<'a>(&'a wgpu::Buffer);

impl Drop for Unmap<'_> {
    fn drop(&mut self) {
        self.0.unmap();
    }
}

/// A submitted scene: one tile (the whole canvas) in flight, or a canvas
/// rendered in tiles (already read back).
pub(crate) enum Pending<'a> {
    /// Boxed: a frame's loans are a few hundred bytes, its pixels a handle.
    InFlight(Box<InFlight<'a>>),
    Done(RgbaImage),
}

impl Pending<'_> {
    /// The rendered scene, read back; given up with `stop`'s error once it
    /// says stop (see [`InFlight::finish_until`]).
    pub fn finish_until(self, stop: &Stop<'_>) -> Result<Readback, Error> {
        match self {
            Pending::InFlight(f) => f.finish_until(stop),
            Pending::Done(img) => Ok(Readback::Image(img)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_the_bytes_read_as_little_endian_i16_on_one_core_or_every_core() {
        // Small (always one copy) and large enough to be split, in a number
        // of bytes that is not a multiple of the split's chunks.
        for n in [128 * 1000, PARALLEL_BLOCKS_BYTES + 128 * 3] {
            let data: Vec<u8> = (0..n).map(|i| (i * 7 % 251) as u8).collect();
            let want: Vec<i16> = data
                .chunks_exact(2)
                .map(|p| i16::from_le_bytes([p[0], p[1]]))
                .collect();
            assert_eq!(blocks_from_le(&data, true), want);
            assert_eq!(blocks_from_le(&data, false), want);
        }
    }

    #[test]
    fn readback_rows_are_padded_to_256_bytes() {
        assert_eq!(padded_row(1), 256);
        assert_eq!(padded_row(64), 256);
        assert_eq!(padded_row(65), 512);
    }

    #[test]
    fn unpadding_keeps_each_rows_pixels_and_drops_the_padding() {
        // Two rows of 3 pixels (12 bytes) in rows of 16 bytes.
        let data: Vec<u8> = (0..32).collect();
        let out = unpad(&data, 3, 2, 16);
        let want: Vec<u8> = (0..12).chain(16..28).collect();
        assert_eq!(out, want);
        assert_eq!(unpad_parallel(&data, 3, 2, 16), want);
    }

    #[test]
    fn unpadding_from_every_core_gives_the_same_bytes_in_many_bands() {
        // 700 rows of 300 pixels (1,200 bytes, 840,000 in all) in rows of
        // 1,280: bands of 55 rows, so a dozen of them.
        let (w, h, padded) = (300u32, 700u32, 1280u32);
        let data: Vec<u8> = (0..padded * h).map(|i| (i * 7 + i / 251) as u8).collect();
        assert_eq!(
            unpad_parallel(&data, w, h, padded),
            unpad(&data, w, h, padded)
        );
        assert!(unpad_parallel(&data, 0, 0, 256).is_empty());
    }

    #[test]
    fn unpadding_rows_without_padding_from_every_core_copies_them_whole() {
        // 600 rows of 128 pixels (512 bytes, no padding; 307,200 in all):
        // 64-byte blocks.
        let (w, h) = (128u32, 600u32);
        let data: Vec<u8> = (0..4 * w * h + 512)
            .map(|i| (i * 13 + i / 509) as u8)
            .collect();
        let out = unpad_parallel(&data, w, h, 4 * w);
        assert_eq!(out, unpad(&data, w, h, 4 * w));
        assert_eq!(out.len(), (4 * w * h) as usize);
    }
}
