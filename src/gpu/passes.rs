//! Binding and recording. Every prepared layer becomes its resampling
//! dispatches and either its draw (the fragment path, recorded by
//! [`super::draw`]) or its composite dispatch (the compute path), each with a
//! bind group whose entries are named by the binding constants of
//! [`super::shaders`]; dispatches are recorded, in order, into one compute
//! pass.

use super::context::GpuContext;
use super::draw::Draw;
use super::loans::{BufferId, Loans, TextureId};
use super::prepare::Prepared;
use super::resample::Resample;
use super::shaders::{composite, draw, encode, jpeg, layer, resample};

/// One compute dispatch, bound and ready to record.
pub(super) struct Dispatch<'a> {
    pipeline: &'a wgpu::ComputePipeline,
    bind: wgpu::BindGroup,
    groups: (u32, u32),
}

/// A pooled buffer bound with exactly the bytes its borrower asked for.
fn loan_entry(binding: u32, loans: &Loans, id: BufferId) -> wgpu::BindGroupEntry<'_> {
    wgpu::BindGroupEntry {
        binding,
        resource: loans.binding(id),
    }
}

/// A whole fixed buffer (a table or a stand-in).
fn buffer_entry(binding: u32, buffer: &wgpu::Buffer) -> wgpu::BindGroupEntry<'_> {
    wgpu::BindGroupEntry {
        binding,
        resource: buffer.as_entire_binding(),
    }
}

fn view_entry(binding: u32, view: &wgpu::TextureView) -> wgpu::BindGroupEntry<'_> {
    wgpu::BindGroupEntry {
        binding,
        resource: wgpu::BindingResource::TextureView(view),
    }
}

impl GpuContext {
    fn dispatch<'a>(
        &'a self,
        label: &'static str,
        pipeline: &'a wgpu::ComputePipeline,
        entries: &[wgpu::BindGroupEntry<'_>],
        groups: (u32, u32),
    ) -> Dispatch<'a> {
        let bind = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(label),
            layout: &pipeline.get_bind_group_layout(0),
            entries,
        });
        Dispatch {
            pipeline,
            bind,
            groups,
        }
    }

    /// A prepared layer's dispatches, appended to `out`: its resampling
    /// passes (if any), then its composite pass onto `canvas`.
    pub(super) fn bind_layer<'a>(
        &'a self,
        prep: &Prepared,
        canvas: BufferId,
        loans: &Loans,
        out: &mut Vec<Dispatch<'a>>,
    ) {
        if let Some(r) = &prep.sources.resample {
            self.bind_resample(r, loans, out);
        }
        out.push(self.bind_composite(prep, canvas, loans));
    }

    /// The resampling dispatches of every layer, in order (the fragment
    /// path runs them all before the first draw).
    pub(super) fn bind_resamples<'a>(
        &'a self,
        layers: &[Prepared],
        loans: &Loans,
    ) -> Vec<Dispatch<'a>> {
        let mut out = Vec::new();
        for prep in layers {
            if let Some(r) = &prep.sources.resample {
                self.bind_resample(r, loans, &mut out);
            }
        }
        out
    }

    /// The two dispatches per band of a resampled image.
    fn bind_resample<'a>(&'a self, r: &Resample, loans: &Loans, out: &mut Vec<Dispatch<'a>>) {
        let src_view = loans.view(r.texture);
        for pass in &r.passes {
            let mut entries = vec![
                loan_entry(resample::B_PARAMS, loans, pass.params),
                loan_entry(resample::B_STARTS, loans, pass.starts),
                loan_entry(resample::B_WEIGHTS, loans, pass.weights),
                loan_entry(resample::B_MID, loans, r.mid),
            ];
            if pass.entry.reads_texture() {
                entries.push(view_entry(resample::B_SRC_TEX, &src_view));
                entries.push(buffer_entry(resample::B_SRGB_LUT, &self.tables.srgb_lut));
            } else {
                entries.push(loan_entry(resample::B_OUT, loans, r.out));
            }
            let pipeline = self.pipelines.resample(pass.entry);
            out.push(self.dispatch(pass.entry.name(), pipeline, &entries, pass.groups));
        }
    }

    /// A view of `t`, or of the stand-in texture.
    fn view_or_dummy(&self, t: Option<TextureId>, loans: &Loans) -> wgpu::TextureView {
        match t {
            Some(t) => loans.view(t),
            None => self.tables.dummy_texture.create_view(&Default::default()),
        }
    }

    /// Calls `with` on the bind group entries of `prep`: those of
    /// shaders/layer.wgsl (what its paint does not read bound to a
    /// stand-in), then `extra`, the path's own. (The texture views the
    /// entries borrow live only for the call.)
    fn with_layer_entries<R>(
        &self,
        prep: &Prepared,
        loans: &Loans,
        extra: &[wgpu::BindGroupEntry<'_>],
        with: impl FnOnce(&[wgpu::BindGroupEntry<'_>]) -> R,
    ) -> R {
        let src = &prep.sources;
        let tex_view = self.view_or_dummy(src.texture, loans);
        let text_view = self.view_or_dummy(src.text, loans);
        let storage = |binding: u32, b: Option<BufferId>| match b {
            Some(b) => loan_entry(binding, loans, b),
            None => buffer_entry(binding, &self.tables.dummy_storage),
        };
        let mut entries = vec![
            loan_entry(layer::B_PARAMS, loans, prep.params),
            storage(layer::B_STOPS, src.stops),
            view_entry(layer::B_SRC_TEX, &tex_view),
            storage(layer::B_INTER, src.inter),
            buffer_entry(layer::B_SRGB_LUT, &self.tables.srgb_lut),
            view_entry(layer::B_TEXT_TEX, &text_view),
        ];
        entries.extend(extra.iter().cloned());
        with(&entries)
    }

    /// The compute path's composite dispatch of a layer.
    fn bind_composite(&self, prep: &Prepared, canvas: BufferId, loans: &Loans) -> Dispatch<'_> {
        let canvas = [loan_entry(composite::B_CANVAS, loans, canvas)];
        self.with_layer_entries(prep, loans, &canvas, |entries| {
            self.dispatch("layer", &self.pipelines.composite, entries, prep.groups)
        })
    }

    /// The fragment path's draw of a layer; `backdrop` is bound where the
    /// layer reads it (a stand-in otherwise).
    pub(super) fn bind_draw(
        &self,
        prep: &Prepared,
        backdrop: Option<TextureId>,
        format: wgpu::TextureFormat,
        loans: &Loans,
    ) -> Draw {
        let backdrop_view = self.view_or_dummy(backdrop, loans);
        let extra = [view_entry(draw::B_BACKDROP, &backdrop_view)];
        let bind = self.with_layer_entries(prep, loans, &extra, |entries| {
            self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("layer"),
                layout: &self.draw.layout,
                entries,
            })
        });
        Draw::new(
            &self.device,
            &self.draw,
            prep.mode,
            bind,
            prep.region,
            format,
        )
    }

    /// The encode dispatch of the fragment path: the canvas texture
    /// (premultiplied float, `w` x `h`) to straight 8-bit sRGB in `out_tex`.
    pub(super) fn bind_encode_texture(
        &self,
        params: BufferId,
        canvas: TextureId,
        out_tex: TextureId,
        (w, h): (u32, u32),
        loans: &Loans,
    ) -> Dispatch<'_> {
        let (canvas_view, out_view) = (loans.view(canvas), loans.view(out_tex));
        let entries = [
            loan_entry(encode::B_PARAMS, loans, params),
            view_entry(encode::B_CANVAS_TEX, &canvas_view),
            view_entry(encode::B_OUT_TEX, &out_view),
            buffer_entry(encode::B_THRESHOLDS, &self.tables.thresholds),
            buffer_entry(encode::B_BUCKETS, &self.tables.buckets),
        ];
        let groups = (w.div_ceil(16), h.div_ceil(16));
        self.dispatch("encode", &self.pipelines.encode_texture, &entries, groups)
    }

    /// The encode dispatch of the compute path: `canvas` (premultiplied
    /// `f32`, `w` x `h`) to straight 8-bit sRGB in `out_tex`.
    pub(super) fn bind_encode(
        &self,
        params: BufferId,
        canvas: BufferId,
        out_tex: TextureId,
        (w, h): (u32, u32),
        loans: &Loans,
    ) -> Dispatch<'_> {
        let out_view = loans.view(out_tex);
        let entries = [
            loan_entry(encode::B_PARAMS, loans, params),
            loan_entry(encode::B_CANVAS, loans, canvas),
            view_entry(encode::B_OUT_TEX, &out_view),
            buffer_entry(encode::B_THRESHOLDS, &self.tables.thresholds),
            buffer_entry(encode::B_BUCKETS, &self.tables.buckets),
        ];
        let groups = (w.div_ceil(16), h.div_ceil(16));
        self.dispatch("encode", &self.pipelines.encode, &entries, groups)
    }
}

impl GpuContext {
    /// The JPEG pass: the encode pass's `pixels` to `blocks` quantised DCT
    /// blocks, one invocation each, in groups of 64 (two-dimensional past
    /// 65535 groups).
    pub(super) fn bind_jpeg(
        &self,
        params: BufferId,
        pixels: TextureId,
        quant: BufferId,
        out: BufferId,
        blocks: u64,
        loans: &Loans,
    ) -> Dispatch<'_> {
        let view = loans.view(pixels);
        let entries = [
            loan_entry(jpeg::B_PARAMS, loans, params),
            view_entry(jpeg::B_PIXELS, &view),
            loan_entry(jpeg::B_QUANT, loans, quant),
            loan_entry(jpeg::B_BLOCKS, loans, out),
        ];
        let groups = blocks.div_ceil(64).max(1);
        let cap = self
            .jpeg_groups_x
            .load(std::sync::atomic::Ordering::Relaxed);
        let x = groups.min(u64::from(cap.clamp(1, 65535)));
        // Blocks fit a u32 (`prepare_jpeg`): with x = 65535, y < 1025.
        let groups = (x as u32, groups.div_ceil(x) as u32);
        self.dispatch("jpeg", &self.pipelines.jpeg, &entries, groups)
    }
}

/// Records `dispatches`, in order, into one compute pass.
pub(super) fn record(encoder: &mut wgpu::CommandEncoder, dispatches: &[Dispatch<'_>]) {
    let mut cpass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
        label: Some("layers"),
        timestamp_writes: None,
    });
    for d in dispatches {
        cpass.set_pipeline(d.pipeline);
        cpass.set_bind_group(0, &d.bind, &[]);
        cpass.dispatch_workgroups(d.groups.0, d.groups.1, 1);
    }
}
