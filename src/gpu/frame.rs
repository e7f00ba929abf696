//! One render: a scene is submitted whole, or in tiles when the canvas is
//! over the adapter's limits; each tile is prepared (every upload), bound,
//! recorded into one command encoder (by the fragment or the compute path)
//! and submitted under error scopes.

use std::sync::atomic::Ordering;

use image::RgbaImage;

use super::context::{wgpu_err, GpuContext};
use super::draw::{draw_blend, record_draws, DrawBlend, GpuCompositor, Targets};
use super::loans::{BufferId, Loans, TextureId};
use super::params::{space_code, EncodeParams, JpegParams};
use super::passes::{record, Dispatch};
use super::phases::PhaseClock;
use super::prepare::Prepared;
use super::readback::{InFlight, Pending, Readback, Submitted, Want};
use super::text::LaidOut;
use crate::cancel::Stop;
use crate::codec::jpeg_blocks::{BlockLayout, JpegTables};
use crate::error::Error;
use crate::plan::Plan;

/// The JPEG pass's inputs and output, uploaded and taken before any pass.
struct JpegPass {
    layout: BlockLayout,
    params: BufferId,
    quant: BufferId,
    out: BufferId,
}

impl GpuContext {
    /// Renders a validated, resolved scene (straight-alpha 8-bit sRGB out)
    /// under `stop`: no tile is submitted once it
    /// says stop, and the wait for the GPU gives up then instead of reading
    /// the result back (the loans go back to the pool once the GPU is done
    /// with the work already submitted, which cannot be recalled).
    /// Read back as `want` asks (a canvas rendered in tiles comes back as
    /// pixels).
    pub fn render_until(
        &self,
        plan: &Plan<'_>,
        want: Want,
        stop: &Stop<'_>,
    ) -> Result<Readback, Error> {
        match self.submit_until(plan, want, stop)? {
            Pending::InFlight(f) => f.finish_until(stop),
            Pending::Done(img) => Ok(Readback::Image(img)),
        }
    }

    /// Submits a validated, resolved scene and returns without waiting for
    /// the GPU: [`Pending::finish_until`] reads the result back. A canvas
    /// over the adapter's texture or storage limits is rendered in tiles
    /// here and comes back finished (as pixels, whatever `want` says);
    /// `stop` is checked before each tile.
    pub(crate) fn submit_until(
        &self,
        plan: &Plan<'_>,
        want: Want,
        stop: &Stop<'_>,
    ) -> Result<Pending<'_>, Error> {
        stop.check()?;
        self.reap_abandoned();
        if self.is_lost() {
            return Err(self.lost_error());
        }
        let (w, h) = (plan.width, plan.height);
        // A canvas wider than one texture or larger than one storage binding
        // is rendered in tiles: each tile is the same scene moved up and
        // left by whole pixels, which every formula is invariant under.
        let side = self.max_texture_side();
        let tile_w = w.min(side);
        let tile_h = (self.max_storage() / (tile_w as u64 * 16))
            .min(side as u64)
            .min(h as u64) as u32;
        if tile_h == 0 {
            return Err(Error::GpuLimit(
                "the canvas does not fit this adapter; use the CPU backend".into(),
            ));
        }
        if tile_w == w && tile_h == h {
            return self
                .submit_tile(plan, want, stop)
                .map(|f| Pending::InFlight(Box::new(f)));
        }
        self.render_tiles(plan, (tile_w, tile_h), stop)
            .map(Pending::Done)
    }

    /// Renders `plan` in tiles of at most `tile_w` x `tile_h`; tile `k + 1`
    /// is submitted before tile `k` is read back.
    fn render_tiles(
        &self,
        plan: &Plan<'_>,
        (tile_w, tile_h): (u32, u32),
        stop: &Stop<'_>,
    ) -> Result<RgbaImage, Error> {
        let (w, h) = (plan.width, plan.height);
        let mut out = RgbaImage::new(w, h);
        let mut previous: Option<(InFlight, u32, u32)> = None;
        let mut tiles = || -> Result<(), Error> {
            for y0 in (0..h).step_by(tile_h as usize) {
                for x0 in (0..w).step_by(tile_w as usize) {
                    stop.check()?;
                    let tile = plan.tile_scene(x0, y0, tile_w.min(w - x0), tile_h.min(h - y0));
                    let next =
                        self.submit_tile(&Plan::new(&tile, plan.resolved), Want::Pixels, stop)?;
                    if let Some((done, x, y)) = previous.replace((next, x0, y0)) {
                        let done = done.finish_until(stop)?.into_image()?;
                        image::imageops::replace(&mut out, &done, x as i64, y as i64);
                    }
                }
            }
            if let Some((done, x, y)) = previous.take() {
                let done = done.finish_until(stop)?.into_image()?;
                image::imageops::replace(&mut out, &done, x as i64, y as i64);
            }
            Ok(())
        };
        let result = tiles();
        if let (Err(Error::Cancelled | Error::DeadlineExceeded), Some((next, _, _))) =
            (&result, previous.take())
        {
            // Stopped with the next tile on the GPU: given up without
            // waiting for it (dropping it would wait), as a frame is.
            next.abandon();
        }
        result.map(|()| out)
    }

    /// Submits one tile (or a whole canvas) under error scopes: validation
    /// and out-of-memory errors of its uploads, recording and submission
    /// become `Error`s.
    fn submit_tile(
        &self,
        plan: &Plan<'_>,
        want: Want,
        stop: &Stop<'_>,
    ) -> Result<InFlight<'_>, Error> {
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let frame_loans = || {
            let mut frame = FrameLoans::new(self);
            if self.phases.load(Ordering::Relaxed) {
                let overlap = self.overlap.load(Ordering::Relaxed);
                frame.loans.clock = Some(Box::new(PhaseClock::start(
                    (plan.width, plan.height),
                    overlap,
                )));
            }
            frame
        };
        let mut frame = frame_loans();
        let mut submitted = self.record_and_submit(plan, want, &mut frame.loans, true, stop);
        if let Ok(None) = submitted {
            // The text's glyphs did not fit glyphon's atlas: the frame
            // again, its text layers rasterized on the CPU (as those too
            // large for a texture are). Nothing of the first try was
            // submitted; its loans go back and its claims end.
            frame = frame_loans();
            submitted = self.record_and_submit(plan, want, &mut frame.loans, false, stop);
        }
        let submitted = submitted.and_then(|s| {
            s.ok_or_else(|| Error::Internal("text without glyphon did not fit the atlas".into()))
        });
        // wgpu-core reports these when the call is made, so the scopes can
        // close before the GPU has finished.
        let oom_err = pollster::block_on(oom.pop());
        let val_err = pollster::block_on(validation.pop());
        let mut flight = match submitted {
            Ok(s) => InFlight {
                ctx: self,
                loans: frame.take(),
                job: Some(s),
            },
            // `frame` gives its loans back as it drops.
            Err(e) => return Err(e),
        };
        // On an error the flight is dropped: it waits for the GPU and
        // returns its loans.
        if (oom_err.is_some() || val_err.is_some()) && self.check_lost() {
            return Err(self.lost_error());
        }
        if let Some(e) = oom_err {
            return Err(wgpu_err("out of GPU memory", &e));
        }
        if let Some(e) = val_err {
            return Err(wgpu_err("GPU validation error", &e));
        }
        // Submitted clean: the resamples it fills are the cache's now.
        self.keep_fills(&mut flight.loans);
        Ok(flight)
    }

    /// Prepares (every upload, then every bind group), records and submits
    /// one tile, and asks for its staging buffer to be mapped. Text layers
    /// are drawn by glyphon when `glyphon` is true (else rasterized on the
    /// CPU); `None`, with nothing submitted, when their glyphs do not fit
    /// glyphon's atlas.
    fn record_and_submit(
        &self,
        plan: &Plan<'_>,
        want: Want,
        loans: &mut Loans,
        glyphon: bool,
        stop: &Stop<'_>,
    ) -> Result<Option<Submitted>, Error> {
        let (w, h) = (plan.width, plan.height);
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("impasto render"),
            });

        // Uploads, before any pass: every layer's inputs (the text laid out
        // into regions of one texture first), then the encode pass's, then
        // glyphon's (below).
        let (layers, text) = self.prepare_layers(plan, loans, glyphon, stop)?;
        // The phase breakdown's GPU timestamps, where the device has them.
        let mut marks = None;
        if let Some(clock) = &mut loans.clock {
            clock.prepared();
            marks = self.frame_timestamps();
        }
        let mark = |encoder: &mut wgpu::CommandEncoder, k| {
            if let Some(m) = &marks {
                m.mark(encoder, k);
            }
        };
        mark(&mut encoder, 0);
        loans.record_copies(&mut encoder);
        mark(&mut encoder, 1);
        let encode_params = EncodeParams {
            canvas: [w, h],
            space: space_code(plan.space),
            _pad: 0,
        };
        let encode_params = self.uniform(&encode_params, loans);
        // Read by the JPEG pass, copied out otherwise: one pooled kind.
        let out_tex = self.take_texture(
            (w, h),
            wgpu::TextureFormat::Rgba8Uint,
            wgpu::TextureUsages::STORAGE_BINDING
                | wgpu::TextureUsages::TEXTURE_BINDING
                | wgpu::TextureUsages::COPY_SRC,
            loans,
        );
        let jpeg = match want {
            Want::Pixels => None,
            Want::JpegBlocks(quality) => Some(self.prepare_jpeg((w, h), quality, loans)?),
        };
        let staging = match &jpeg {
            None => self.staging((w, h), loans),
            Some(j) => self.block_staging(j.layout, j.out, loans),
        };

        // Every upload is made: the small ones in one write.
        self.upload_arena(loans);
        // glyphon's, with a glyph set lent to this frame until it is
        // submitted; its pass goes first, as the layers' passes sample the
        // text texture.
        let text = match text {
            None => None,
            Some(t) => match self.prepare_text_pass(plan, t, loans)? {
                None => return Ok(None),
                pass => pass,
            },
        };
        if let Some(text) = &text {
            text.record(&mut encoder, loans)?;
        }
        // Bind, then record: passes only.
        let out = Output {
            params: encode_params,
            texture: out_tex,
            size: (w, h),
        };
        // `compositor()` is resolved for the adapter: never `Auto`.
        match self.compositor() {
            GpuCompositor::Compute => self.record_compute(&mut encoder, &layers, out, loans),
            GpuCompositor::Fragment | GpuCompositor::Auto => {
                self.record_fragment(&mut encoder, &layers, out, loans)
            }
        }
        // The JPEG pass belongs to the passes (timestamp 2 follows it).
        if let Some(j) = jpeg {
            let blocks = j.layout.blocks();
            let pass = self.bind_jpeg(j.params, out_tex, j.quant, j.out, blocks, loans);
            record(&mut encoder, &[pass]);
        }
        mark(&mut encoder, 2);
        staging.record_copy(&mut encoder, out_tex, loans);
        mark(&mut encoder, 3);
        if let Some(m) = &marks {
            m.resolve(&mut encoder);
        }
        let index = self.queue.submit([encoder.finish()]);
        // Submitted: the glyph set's uploads and draw are in; another frame
        // may take it.
        drop(text);
        if let Some(clock) = &mut loans.clock {
            clock.submitted();
            clock.timestamps = marks.map(|mut m| {
                m.map();
                m
            });
        }
        Ok(Some(staging.map(index, loans)))
    }

    /// The JPEG pass's uniforms, quantisers and output buffer for a `w` x
    /// `h` render at `quality`.
    fn prepare_jpeg(
        &self,
        (w, h): (u32, u32),
        quality: u8,
        loans: &mut Loans,
    ) -> Result<JpegPass, Error> {
        let layout = BlockLayout::new(w, h, quality)?;
        let tables = JpegTables::cached(layout.quality)?;
        let blocks = layout.blocks();
        let params = JpegParams {
            size: [w, h],
            mcus: [layout.mcu_cols(), layout.mcu_rows()],
            subsampled: u32::from(layout.subsampled()),
            blocks: u32::try_from(blocks).map_err(|_| {
                Error::GpuLimit(format!(
                    "a {w}x{h} JPEG has {blocks} DCT blocks, more than one GPU pass writes \
                     (2^32); use the CPU backend"
                ))
            })?,
            _pad0: 0,
            _pad1: 0,
        };
        Ok(JpegPass {
            layout,
            params: self.uniform(&params, loans),
            quant: self.storage(bytemuck::cast_slice(tables.quantisers().as_slice()), loans),
            out: self.take_buffer(
                blocks * 128,
                wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                loans,
            ),
        })
    }

    /// The fragment path: every resampling dispatch, then the layers drawn
    /// into the canvas texture, then the encode.
    fn record_fragment(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        layers: &[Prepared],
        out: Output,
        loans: &mut Loans,
    ) {
        let format = self.canvas_format();
        let usage = wgpu::TextureUsages::RENDER_ATTACHMENT
            | wgpu::TextureUsages::TEXTURE_BINDING
            | wgpu::TextureUsages::COPY_SRC;
        let canvas = self.take_texture(out.size, format, usage, loans);
        let reads_backdrop = layers
            .iter()
            .any(|p| draw_blend(p.mode) == DrawBlend::Backdrop);
        let backdrop = reads_backdrop.then(|| {
            let usage = wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST;
            self.take_texture(out.size, format, usage, loans)
        });
        let resamples = self.bind_resamples(layers, loans);
        if !resamples.is_empty() {
            record(encoder, &resamples);
        }
        let draws: Vec<_> = layers
            .iter()
            .map(|p| self.bind_draw(p, backdrop, format, loans))
            .collect();
        let targets = Targets {
            canvas,
            backdrop,
            size: out.size,
        };
        record_draws(encoder, &draws, &targets, loans);
        let encode = self.bind_encode_texture(out.params, canvas, out.texture, out.size, loans);
        record(encoder, &[encode]);
    }

    /// The compute path: per layer its resampling dispatches and its
    /// composite dispatch over the `f32` storage canvas, then the encode,
    /// all in one compute pass.
    fn record_compute(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        layers: &[Prepared],
        out: Output,
        loans: &mut Loans,
    ) {
        let (w, h) = out.size;
        let canvas_bytes = w as u64 * h as u64 * 16;
        let canvas = self.scratch(canvas_bytes, loans);
        encoder.clear_buffer(loans.buffer(canvas), 0, Some(canvas_bytes));
        let mut dispatches: Vec<Dispatch> = Vec::new();
        for prep in layers {
            self.bind_layer(prep, canvas, loans, &mut dispatches);
        }
        dispatches.push(self.bind_encode(out.params, canvas, out.texture, out.size, loans));
        record(encoder, &dispatches);
    }

    /// The background and every layer that changes something, prepared in
    /// order, and the frame's text laid out (if glyphon draws any layer).
    fn prepare_layers(
        &self,
        plan: &Plan<'_>,
        loans: &mut Loans,
        glyphon: bool,
        stop: &Stop<'_>,
    ) -> Result<(Vec<Prepared>, Option<LaidOut>), Error> {
        // Text layout and CPU-rasterized text are cut short once `stop`
        // says stop; nothing is submitted then.
        let text = self.lay_out_text(plan, loans, glyphon, stop);
        stop.check()?;
        let mut layers = vec![self.prepare_background(plan, loans)];
        for layer in &plan.layers {
            if let Some(prep) = self.prepare_layer(plan, layer, &text, loans, stop)? {
                layers.push(prep);
            }
            stop.check()?;
        }
        Ok((layers, text.laid_out))
    }
}

/// A frame's loans until its [`InFlight`] takes them: dropped before that
/// (an error, or a panic that the renderer's guard turns into one), they go
/// back to the pool and the frame's claims on the resample cache end, so
/// neither stays counted for a frame that will never finish.
struct FrameLoans<'a> {
    ctx: &'a GpuContext,
    loans: Loans,
}

impl<'a> FrameLoans<'a> {
    fn new(ctx: &'a GpuContext) -> FrameLoans<'a> {
        FrameLoans {
            ctx,
            loans: Loans::default(),
        }
    }

    /// The loans, for the frame in flight (this guard keeps none).
    fn take(mut self) -> Loans {
        std::mem::take(&mut self.loans)
    }
}

impl Drop for FrameLoans<'_> {
    fn drop(&mut self) {
        self.ctx.give_back(&mut self.loans);
    }
}

/// Where a render's canvas is encoded to: the encode pass's uniforms and the
/// 8-bit texture read back, of the render's size.
#[derive(Clone, Copy)]
struct Output {
    params: BufferId,
    texture: TextureId,
    size: (u32, u32),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::color::BlendSpace;
    use crate::placed_cache::PlacedKey;
    use crate::plan::weights::AxisWeights;
    use crate::scene::Filter;
    use crate::shrink::SourceKey;

    #[test]
    fn a_frame_that_panics_before_its_flight_returns_its_loans_and_ends_its_claims() {
        let Some(ctx) = super::super::context::test_context(64 << 20) else {
            return;
        };
        let w = AxisWeights::new(Filter::Bilinear, 8, 4, 0.0, 2.0);
        let key = PlacedKey::new(
            &SourceKey::Memory(u64::MAX),
            (8, 8),
            BlendSpace::Srgb,
            &w,
            &w,
        );
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut frame = FrameLoans::new(&ctx);
            ctx.scratch(1 << 16, &mut frame.loans);
            assert!(ctx.placed.claim(&key));
            frame.loans.add_claim(key.clone());
            panic!("a bug while preparing the frame");
        }));
        assert!(caught.is_err());
        // The scratch buffer went back: lent again without allocating.
        let before = ctx.pool_stats();
        let mut loans = Loans::default();
        ctx.scratch(1 << 16, &mut loans);
        let after = ctx.pool_stats();
        assert_eq!((after.misses, after.hits), (before.misses, before.hits + 1));
        ctx.give_back(&mut loans);
        assert!(ctx.placed.claim(&key), "the claim ended with the frame");
    }
}
