//! Binding and recording. Every prepared layer becomes its dispatches (its
//! resampling passes, then its composite pass), each with a bind group whose
//! entries are named by the binding constants of [`super::shaders`]; then
//! the dispatches are recorded, in order, into one compute pass.

use super::context::GpuContext;
use super::loans::{BufferId, Loans, TextureId};
use super::prepare::Prepared;
use super::resample::Resample;
use super::shaders::{composite, encode, resample};

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

    /// The composite dispatch of a layer; what its paint does not read is
    /// bound to a stand-in.
    fn bind_composite(&self, prep: &Prepared, canvas: BufferId, loans: &Loans) -> Dispatch<'_> {
        let src = &prep.sources;
        let view = |t: Option<TextureId>| match t {
            Some(t) => loans.view(t),
            None => self.tables.dummy_texture.create_view(&Default::default()),
        };
        let (tex_view, text_view) = (view(src.texture), view(src.text));
        let storage = |binding: u32, b: Option<BufferId>| match b {
            Some(b) => loan_entry(binding, loans, b),
            None => buffer_entry(binding, &self.tables.dummy_storage),
        };
        let entries = [
            loan_entry(composite::B_PARAMS, loans, prep.params),
            loan_entry(composite::B_CANVAS, loans, canvas),
            storage(composite::B_STOPS, src.stops),
            view_entry(composite::B_SRC_TEX, &tex_view),
            storage(composite::B_INTER, src.inter),
            buffer_entry(composite::B_SRGB_LUT, &self.tables.srgb_lut),
            view_entry(composite::B_TEXT_TEX, &text_view),
        ];
        self.dispatch("layer", &self.pipelines.composite, &entries, prep.groups)
    }

    /// The encode dispatch: `canvas` (premultiplied `f32`, `w` x `h`) to
    /// straight 8-bit sRGB in `out_tex`.
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
