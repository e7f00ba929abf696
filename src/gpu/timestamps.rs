//! GPU timestamps of a frame's last submission, for the phase breakdown
//! (`IMPASTO_GPU_PHASES=1`, [`super::phases`]) on adapters with
//! `TIMESTAMP_QUERY_INSIDE_ENCODERS`: four marks around the staged copies
//! still in that submission, the passes and the readback copy. Only
//! requested (at device creation) and written when the breakdown is on.

use std::sync::mpsc::Receiver;
use std::time::Duration;

use super::context::GpuContext;

/// Marks written per frame: before the copies, after them, after the
/// passes, after the readback copy.
pub(super) const MARKS: u32 = 4;

/// The device features the marks need.
pub(super) const FEATURES: wgpu::Features =
    wgpu::Features::TIMESTAMP_QUERY.union(wgpu::Features::TIMESTAMP_QUERY_INSIDE_ENCODERS);

/// One frame's query set and the buffers its marks are read back through.
#[derive(Debug)]
pub(super) struct Timestamps {
    set: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    read: wgpu::Buffer,
    mapped: Option<Receiver<Result<(), wgpu::BufferAsyncError>>>,
}

impl GpuContext {
    /// A frame's timestamps, when the device has the features.
    pub(super) fn frame_timestamps(&self) -> Option<Timestamps> {
        if !self.device.features().contains(FEATURES) {
            return None;
        }
        let set = self.device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("impasto phases"),
            ty: wgpu::QueryType::Timestamp,
            count: MARKS,
        });
        let buffer = |usage| {
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("impasto phases"),
                size: MARKS as u64 * wgpu::QUERY_SIZE as u64,
                usage,
                mapped_at_creation: false,
            })
        };
        Some(Timestamps {
            set,
            resolve: buffer(wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC),
            read: buffer(wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST),
            mapped: None,
        })
    }
}

impl Timestamps {
    /// Writes mark `k` (below [`MARKS`]) into the encoder.
    pub fn mark(&self, encoder: &mut wgpu::CommandEncoder, k: u32) {
        encoder.write_timestamp(&self.set, k);
    }

    /// Records the resolution of the marks and their copy for reading; the
    /// last command of the frame.
    pub fn resolve(&self, encoder: &mut wgpu::CommandEncoder) {
        encoder.resolve_query_set(&self.set, 0..MARKS, &self.resolve, 0);
        let bytes = MARKS as u64 * wgpu::QUERY_SIZE as u64;
        encoder.copy_buffer_to_buffer(&self.resolve, 0, &self.read, 0, bytes);
    }

    /// Asks for the marks to be mapped once the frame is submitted.
    pub fn map(&mut self) {
        let (tx, rx) = std::sync::mpsc::channel();
        self.read.map_async(wgpu::MapMode::Read, .., move |r| {
            let _ = tx.send(r);
        });
        self.mapped = Some(rx);
    }

    /// The milliseconds between consecutive marks (copies, passes, readback
    /// copy), once the frame is done; `None` if they cannot be read.
    pub fn read(self, ctx: &GpuContext) -> Option<[f64; 3]> {
        // The frame is done: its callbacks run on this poll at the latest.
        let _ = ctx.device.poll(wgpu::PollType::Wait {
            submission_index: None,
            timeout: Some(Duration::from_secs(5)),
        });
        self.mapped.as_ref()?.try_recv().ok()?.ok()?;
        let ticks: Vec<u64> = {
            let data = self.read.slice(..).get_mapped_range().ok()?;
            data.chunks_exact(8)
                .map(|c| {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(c);
                    u64::from_ne_bytes(b)
                })
                .collect()
        };
        self.read.unmap();
        let ns = ctx.queue.get_timestamp_period() as f64;
        let ms = |a: usize| ticks[a + 1].wrapping_sub(ticks[a]) as f64 * ns / 1e6;
        Some([ms(0), ms(1), ms(2)])
    }
}
