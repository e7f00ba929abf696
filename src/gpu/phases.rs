//! Two runtime switches of the GPU backend, read from the environment once
//! per process, and the per-render phase breakdown one of them turns on.
//!
//! - `IMPASTO_GPU_PHASES=1`: each render (each tile) prints one line to
//!   stderr with the wall-clock milliseconds of its phases ([`GpuPhases`]).
//!   A diagnostic: it changes nothing in what is submitted or when.
//! - `IMPASTO_GPU_OVERLAP=0|1` (default 1): in-frame overlap. With 1, the
//!   copies of staged uploads into their textures are submitted as soon as
//!   a few megabytes of staging are filled (the host fills the next image
//!   while the GPU copies the last), staging is filled in 16 KiB blocks
//!   (not 256-byte chunks), and the mapped readback is copied into the
//!   result by every core. With 0, every upload is filled before the one
//!   submission of the frame, in 256-byte chunks, and the readback is
//!   copied out on one thread. Both give the same bytes. `IMPASTO_GPU_OVERLAP_SUBMIT_MIB=N` (default
//!   8) sets how many MiB of filled staging make a submission; a huge value
//!   leaves only the readback's copy-out overlapped.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::context::GpuContext;
use super::timestamps::Timestamps;

/// Whether `IMPASTO_GPU_PHASES` asks for the phase breakdown (`1`).
pub(super) fn phases_from_env() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var("IMPASTO_GPU_PHASES").as_deref() == Ok("1"))
}

/// Whether in-frame overlap is on: `IMPASTO_GPU_OVERLAP`, `0` for off,
/// anything else (or unset) for on.
pub(super) fn overlap_from_env() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var("IMPASTO_GPU_OVERLAP").as_deref() != Ok("0"))
}

/// With overlap on, how many bytes of filled staging make a submission of
/// their copies: `IMPASTO_GPU_OVERLAP_SUBMIT_MIB` (whole MiB, at least 1),
/// else 8 MiB: one submission per 16 MiB image of 2048x2048, a few images
/// of a megabyte or two grouped.
pub(super) fn overlap_submit_bytes() -> u64 {
    static BYTES: OnceLock<u64> = OnceLock::new();
    *BYTES.get_or_init(|| {
        let mib = std::env::var("IMPASTO_GPU_OVERLAP_SUBMIT_MIB")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(8);
        mib.clamp(1, 1 << 20) << 20
    })
}

/// One render's (one tile's) phases, in milliseconds of wall-clock time on
/// the thread that rendered it. `prepare`, `submit`, `between`, `gpu_wait`
/// and `copy_out` follow one another and add up to `total`; `fill` is part
/// of `prepare`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GpuPhases {
    /// The tile's size.
    pub size: (u32, u32),
    /// Whether in-frame overlap was on.
    pub overlap: bool,
    /// Images staged (uploads of 1 MiB or more).
    pub staged_images: u32,
    /// Their staging bytes (rows padded to 256 bytes).
    pub staged_bytes: u64,
    /// The host's copies into staging memory (rayon), part of `prepare`.
    pub fill_ms: f64,
    /// Every upload (text, uniforms, tables, images), including `fill`, and
    /// the submissions of upload copies when overlapping.
    pub prepare_ms: f64,
    /// Binding, recording and the frame's last submission.
    pub submit_ms: f64,
    /// From the submission to the wait for the GPU (the caller's time: 0
    /// for a single render, the next scene's work in a batch).
    pub between_ms: f64,
    /// The wait for the GPU until the readback buffer is mapped.
    pub gpu_wait_ms: f64,
    /// The mapped readback copied into the result image.
    pub copy_out_ms: f64,
    /// From the start of the tile's submission to its image.
    pub total_ms: f64,
    /// GPU timestamps of the frame's last submission, in milliseconds: the
    /// staged copies in it (all of them with overlap off, the last group
    /// with it on), the passes, the readback copy. `None` where the adapter
    /// has no `TIMESTAMP_QUERY_INSIDE_ENCODERS` or the device was opened
    /// without `IMPASTO_GPU_PHASES=1`.
    pub gpu_ms: Option<[f64; 3]>,
}

impl std::fmt::Display for GpuPhases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}x{} overlap={}: fill {:.2} ms ({} images, {:.1} MiB) | prepare {:.2} | \
             record+submit {:.2} | between {:.2} | gpu wait {:.2} | copy-out {:.2} | total {:.2} ms",
            self.size.0,
            self.size.1,
            u8::from(self.overlap),
            self.fill_ms,
            self.staged_images,
            self.staged_bytes as f64 / (1 << 20) as f64,
            self.prepare_ms,
            self.submit_ms,
            self.between_ms,
            self.gpu_wait_ms,
            self.copy_out_ms,
            self.total_ms
        )?;
        match self.gpu_ms {
            Some([c, p, r]) => write!(
                f,
                " | gpu timestamps: copies {c:.2}, passes {p:.2}, readback copy {r:.2} ms"
            ),
            None => write!(f, " | gpu timestamps: none"),
        }
    }
}

impl GpuContext {
    /// Prints a render's breakdown (stderr) and keeps it as the last one.
    pub(super) fn report_phases(&self, phases: GpuPhases) {
        eprintln!("impasto gpu phases: {phases}");
        *self.last_phases.lock().unwrap_or_else(|p| p.into_inner()) = Some(phases);
    }

    /// The breakdown of the last render read back with the breakdown on.
    pub fn last_phases(&self) -> Option<GpuPhases> {
        *self.last_phases.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// A render's phase clock (only when the breakdown is on): started when
/// the tile's submission starts, read when its image is ready.
#[derive(Debug)]
pub(super) struct PhaseClock {
    start: Instant,
    last: Instant,
    phases: GpuPhases,
    /// The frame's GPU timestamps, where the device can write them.
    pub timestamps: Option<Timestamps>,
}

impl PhaseClock {
    pub fn start(size: (u32, u32), overlap: bool) -> PhaseClock {
        let now = Instant::now();
        PhaseClock {
            start: now,
            last: now,
            phases: GpuPhases {
                size,
                overlap,
                ..GpuPhases::default()
            },
            timestamps: None,
        }
    }

    /// Counts one image's fill into staging, which took `took`.
    pub fn filled(&mut self, bytes: u64, took: Duration) {
        self.phases.staged_images += 1;
        self.phases.staged_bytes += bytes;
        self.phases.fill_ms += ms(took);
    }

    /// Milliseconds since the last mark (or the start); marks now.
    fn lap(&mut self) -> f64 {
        let now = Instant::now();
        let d = now - self.last;
        self.last = now;
        ms(d)
    }

    /// Every upload is done.
    pub fn prepared(&mut self) {
        self.phases.prepare_ms = self.lap();
    }

    /// The frame's last submission is made.
    pub fn submitted(&mut self) {
        self.phases.submit_ms = self.lap();
    }

    /// The wait for the GPU starts.
    pub fn waiting(&mut self) {
        self.phases.between_ms = self.lap();
    }

    /// The readback buffer is mapped.
    pub fn mapped(&mut self) {
        self.phases.gpu_wait_ms = self.lap();
    }

    /// The image is copied out: the breakdown (the GPU timestamps are
    /// read after the clock stops).
    pub fn done(mut self, ctx: &GpuContext) -> GpuPhases {
        self.phases.copy_out_ms = self.lap();
        self.phases.total_ms = ms(self.last - self.start);
        self.phases.gpu_ms = self.timestamps.take().and_then(|t| t.read(ctx));
        self.phases
    }

    /// [`PhaseClock::done`] without GPU timestamps.
    #[cfg(test)]
    fn stop(mut self) -> GpuPhases {
        self.phases.copy_out_ms = self.lap();
        self.phases.total_ms = ms(self.last - self.start);
        self.phases
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clocks_phases_follow_one_another_and_add_up_to_its_total() {
        let mut c = PhaseClock::start((4, 4), true);
        c.filled(1 << 20, Duration::from_micros(300));
        c.filled(1 << 20, Duration::from_micros(200));
        for mark in [
            PhaseClock::prepared,
            PhaseClock::submitted,
            PhaseClock::waiting,
            PhaseClock::mapped,
        ] {
            std::thread::sleep(Duration::from_millis(1));
            mark(&mut c);
        }
        let p = c.stop();
        let sum = p.prepare_ms + p.submit_ms + p.between_ms + p.gpu_wait_ms + p.copy_out_ms;
        assert!((sum - p.total_ms).abs() < 1e-6, "{p:?}");
        assert!(p.prepare_ms >= 1.0 && p.gpu_wait_ms >= 1.0, "{p:?}");
        assert_eq!((p.staged_images, p.staged_bytes), (2, 2 << 20));
        assert!((p.fill_ms - 0.5).abs() < 1e-9, "{p:?}");
        let line = p.to_string();
        assert!(line.starts_with("4x4 overlap=1: fill 0.50 ms (2 images, 2.0 MiB)"));
        assert!(line.ends_with("| gpu timestamps: none"), "{line}");
    }
}
