//! The fragment path: every layer drawn by a render pipeline into a float
//! canvas texture (shaders/draw.wgsl). The Porter-Duff operators blend by
//! fixed-function premultiplied blend states; the blend modes read a copy of
//! the canvas under their region (the backdrop) and write their result
//! unblended. Consecutive layers share a render pass until a blend mode
//! needs the backdrop copied. Resampling and the final encode stay compute
//! passes (ARCHITECTURE.md says why).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use wgpu::{BlendComponent, BlendFactor as F, BlendOperation};

use super::loans::{Loans, TextureId};
use super::shaders::{
    draw, DRAW_WGSL, FRAGMENT_BACKDROP_ENTRY, FRAGMENT_ONE_ENTRY, FRAGMENT_SOURCE_ENTRY,
    VERTEX_ENTRY,
};
use crate::blend::BlendMode;

/// How the GPU backend composites layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GpuCompositor {
    /// [`GpuCompositor::Fragment`], except on NVIDIA's data-center compute
    /// GPUs (A100, A30, H100, H200, H20, B200 and their kin), whose few
    /// graphics-capable units made it 3 to 30 times slower than
    /// [`GpuCompositor::Compute`] on an H200 (BENCHMARKS.md). Decided from
    /// the adapter's name when the device is opened, so every render of a
    /// renderer takes the same path.
    #[default]
    Auto,
    /// Render pipelines into a float canvas texture: fixed-function blend
    /// states for the Porter-Duff operators, a backdrop copy for the blend
    /// modes (the design's path).
    Fragment,
    /// One compute dispatch per layer over an `f32` storage canvas, every
    /// operator blended in the shader.
    Compute,
}

/// The NVIDIA data-center parts whose graphics units are a small fraction
/// of the chip (GA100, GH100, GB100 families): a name token of the
/// adapter's, split at anything but letters and digits.
const COMPUTE_FIRST_GPUS: [&str; 12] = [
    "A100", "A800", "A30", "H100", "H200", "H800", "H20", "GH200", "B100", "B200", "GB200", "GB300",
];

impl GpuCompositor {
    /// What [`GpuCompositor::Auto`] means on the adapter named `adapter`;
    /// the other two mean themselves.
    pub fn resolve(self, adapter: &str) -> GpuCompositor {
        if self != GpuCompositor::Auto {
            return self;
        }
        let nvidia = adapter.to_ascii_uppercase().contains("NVIDIA");
        let compute_first = adapter
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|t| COMPUTE_FIRST_GPUS.contains(&t.to_ascii_uppercase().as_str()));
        if nvidia && compute_first {
            GpuCompositor::Compute
        } else {
            GpuCompositor::Fragment
        }
    }
}

/// How one layer meets the canvas in the fragment path.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum DrawBlend {
    /// `fs_source` under this blend state (colour and alpha alike).
    Fixed(BlendComponent),
    /// `lighter`: `fs_source` added, then `fs_one` under `Min` (min(s + d, 1)).
    Lighter,
    /// A blend mode: `fs_backdrop`, written without blending.
    Backdrop,
}

const fn fixed(src_factor: F, dst_factor: F) -> DrawBlend {
    DrawBlend::Fixed(BlendComponent {
        src_factor,
        dst_factor,
        operation: BlendOperation::Add,
    })
}

/// The blend state of each operator: its Porter-Duff factors (Fa, Fb) of
/// `blend::BlendMode::porter_duff_factors` as blend factors, result
/// `s * Fa + d * Fb` on premultiplied colour.
pub(super) fn draw_blend(mode: BlendMode) -> DrawBlend {
    use BlendMode as M;
    match mode {
        M::SourceOver => fixed(F::One, F::OneMinusSrcAlpha),
        M::SourceIn => fixed(F::DstAlpha, F::Zero),
        M::SourceOut => fixed(F::OneMinusDstAlpha, F::Zero),
        M::SourceAtop => fixed(F::DstAlpha, F::OneMinusSrcAlpha),
        M::DestinationOver => fixed(F::OneMinusDstAlpha, F::One),
        M::DestinationIn => fixed(F::Zero, F::SrcAlpha),
        M::DestinationOut => fixed(F::Zero, F::OneMinusSrcAlpha),
        M::DestinationAtop => fixed(F::OneMinusDstAlpha, F::SrcAlpha),
        M::Copy => fixed(F::One, F::Zero),
        M::Xor => fixed(F::OneMinusDstAlpha, F::OneMinusSrcAlpha),
        M::Clear => fixed(F::Zero, F::Zero),
        M::Lighter => DrawBlend::Lighter,
        _ => DrawBlend::Backdrop,
    }
}

/// A render pipeline of the fragment path: which fragment shader, under
/// which blend state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum PipelineKey {
    /// `fs_source` under the blend state of this operator (`lighter`: the
    /// additive one).
    Source(u32),
    /// `fs_backdrop`, unblended.
    Backdrop,
    /// `fs_one` under `Min`.
    One,
}

/// The fragment path's shader module, its one bind group layout (every
/// layer binds the same seven entries, so one bind group suits every
/// pipeline) and its pipelines per canvas format, made on first use: most
/// scenes use source-over alone.
pub(super) struct DrawPipelines {
    module: wgpu::ShaderModule,
    pub layout: wgpu::BindGroupLayout,
    pipeline_layout: wgpu::PipelineLayout,
    made: Mutex<HashMap<(wgpu::TextureFormat, PipelineKey), Arc<wgpu::RenderPipeline>>>,
}

fn layout_entry(binding: u32, ty: wgpu::BindingType, vertex: bool) -> wgpu::BindGroupLayoutEntry {
    let mut visibility = wgpu::ShaderStages::FRAGMENT;
    if vertex {
        visibility |= wgpu::ShaderStages::VERTEX;
    }
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility,
        ty,
        count: None,
    }
}

fn storage() -> wgpu::BindingType {
    wgpu::BindingType::Buffer {
        ty: wgpu::BufferBindingType::Storage { read_only: true },
        has_dynamic_offset: false,
        min_binding_size: None,
    }
}

fn texture() -> wgpu::BindingType {
    wgpu::BindingType::Texture {
        sample_type: wgpu::TextureSampleType::Float { filterable: false },
        view_dimension: wgpu::TextureViewDimension::D2,
        multisampled: false,
    }
}

impl DrawPipelines {
    /// Compiles draw.wgsl (validation errors surface in the caller's error
    /// scope) and lays out its bindings.
    pub fn new(device: &wgpu::Device) -> DrawPipelines {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("draw"),
            source: wgpu::ShaderSource::Wgsl(DRAW_WGSL.into()),
        });
        let uniform = wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: false,
            min_binding_size: None,
        };
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("layer"),
            entries: &[
                layout_entry(draw::B_PARAMS, uniform, true),
                layout_entry(draw::B_STOPS, storage(), false),
                layout_entry(draw::B_SRC_TEX, texture(), false),
                layout_entry(draw::B_INTER, storage(), false),
                layout_entry(draw::B_SRGB_LUT, storage(), false),
                layout_entry(draw::B_TEXT_TEX, texture(), false),
                layout_entry(draw::B_BACKDROP, texture(), false),
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("layer"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        DrawPipelines {
            module,
            layout,
            pipeline_layout,
            made: Mutex::new(HashMap::new()),
        }
    }

    fn pipeline(
        &self,
        device: &wgpu::Device,
        format: wgpu::TextureFormat,
        key: PipelineKey,
    ) -> Arc<wgpu::RenderPipeline> {
        let mut made = self.made.lock().unwrap_or_else(|p| p.into_inner());
        let p = made.entry((format, key)).or_insert_with(|| {
            let (entry, blend) = match key {
                PipelineKey::Source(mode) => {
                    let c = match BlendMode::ALL.get(mode as usize).map(|&m| draw_blend(m)) {
                        Some(DrawBlend::Fixed(c)) => c,
                        // `lighter`'s first draw.
                        _ => BlendComponent {
                            src_factor: F::One,
                            dst_factor: F::One,
                            operation: BlendOperation::Add,
                        },
                    };
                    (FRAGMENT_SOURCE_ENTRY, Some(c))
                }
                PipelineKey::Backdrop => (FRAGMENT_BACKDROP_ENTRY, None),
                PipelineKey::One => (FRAGMENT_ONE_ENTRY, Some(BlendComponent::MIN_ONE)),
            };
            Arc::new(self.make(device, format, entry, blend))
        });
        Arc::clone(p)
    }

    fn make(
        &self,
        device: &wgpu::Device,
        format: wgpu::TextureFormat,
        entry: &str,
        blend: Option<BlendComponent>,
    ) -> wgpu::RenderPipeline {
        device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some(entry),
            layout: Some(&self.pipeline_layout),
            vertex: wgpu::VertexState {
                module: &self.module,
                entry_point: Some(VERTEX_ENTRY),
                compilation_options: Default::default(),
                buffers: &[],
            },
            primitive: wgpu::PrimitiveState {
                topology: wgpu::PrimitiveTopology::TriangleStrip,
                ..Default::default()
            },
            depth_stencil: None,
            multisample: Default::default(),
            fragment: Some(wgpu::FragmentState {
                module: &self.module,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                targets: &[Some(wgpu::ColorTargetState {
                    format,
                    blend: blend.map(|c| wgpu::BlendState { color: c, alpha: c }),
                    write_mask: wgpu::ColorWrites::ALL,
                })],
            }),
            multiview_mask: None,
            cache: None,
        })
    }
}

/// `Min` with factors of one: min(src, dst), as WebGPU requires for `Min`.
trait MinOne {
    const MIN_ONE: BlendComponent;
}

impl MinOne for BlendComponent {
    const MIN_ONE: BlendComponent = BlendComponent {
        src_factor: F::One,
        dst_factor: F::One,
        operation: BlendOperation::Min,
    };
}

/// One layer, bound and ready to draw.
pub(super) struct Draw {
    pipeline: Arc<wgpu::RenderPipeline>,
    /// `lighter`'s clamp, drawn after it over the same quad.
    clamp: Option<Arc<wgpu::RenderPipeline>>,
    bind: wgpu::BindGroup,
    /// The pixels `[x0, y0, x1, y1]` it may change (the scissor).
    region: [u32; 4],
    /// Whether the canvas under `region` is copied to the backdrop first.
    backdrop: bool,
}

impl Draw {
    /// The draw of a layer composited with `mode` into a canvas of
    /// `format`, bound with `bind`.
    pub fn new(
        device: &wgpu::Device,
        pipelines: &DrawPipelines,
        mode: BlendMode,
        bind: wgpu::BindGroup,
        region: [u32; 4],
        format: wgpu::TextureFormat,
    ) -> Draw {
        let source = PipelineKey::Source(mode as u32);
        let (key, clamp, backdrop) = match draw_blend(mode) {
            DrawBlend::Fixed(_) => (source, None, false),
            DrawBlend::Lighter => (source, Some(PipelineKey::One), false),
            DrawBlend::Backdrop => (PipelineKey::Backdrop, None, true),
        };
        Draw {
            pipeline: pipelines.pipeline(device, format, key),
            clamp: clamp.map(|k| pipelines.pipeline(device, format, k)),
            bind,
            region,
            backdrop,
        }
    }
}

/// The textures the layers are drawn into.
pub(super) struct Targets {
    pub canvas: TextureId,
    /// Taken only when a layer reads it.
    pub backdrop: Option<TextureId>,
    pub size: (u32, u32),
}

/// Records `draws` in order: one render pass per run of layers (the first
/// clears the canvas), a new run starting at each layer that needs the
/// backdrop, after its region of the canvas is copied there.
pub(super) fn record_draws(
    encoder: &mut wgpu::CommandEncoder,
    draws: &[Draw],
    targets: &Targets,
    loans: &Loans,
) {
    let view = loans.view(targets.canvas);
    let mut load = wgpu::LoadOp::Clear(wgpu::Color::TRANSPARENT);
    let mut start = 0;
    loop {
        if let (Some(first), Some(backdrop)) = (draws.get(start), targets.backdrop) {
            if first.backdrop {
                if start == 0 {
                    // The canvas must be cleared before it is copied.
                    record_pass(encoder, &view, load, &[], targets.size);
                    load = wgpu::LoadOp::Load;
                }
                copy_region(encoder, loans, targets.canvas, backdrop, first.region);
            }
        }
        let mut end = (start + 1).min(draws.len());
        while end < draws.len() && !draws[end].backdrop {
            end += 1;
        }
        record_pass(encoder, &view, load, &draws[start..end], targets.size);
        load = wgpu::LoadOp::Load;
        if end >= draws.len() {
            break;
        }
        start = end;
    }
}

/// The canvas under `[x0, y0, x1, y1]` copied to the same place in the
/// backdrop.
fn copy_region(
    encoder: &mut wgpu::CommandEncoder,
    loans: &Loans,
    canvas: TextureId,
    backdrop: TextureId,
    [x0, y0, x1, y1]: [u32; 4],
) {
    let at = |id: TextureId| wgpu::TexelCopyTextureInfo {
        texture: loans.texture(id),
        mip_level: 0,
        origin: wgpu::Origin3d { x: x0, y: y0, z: 0 },
        aspect: wgpu::TextureAspect::All,
    };
    encoder.copy_texture_to_texture(
        at(canvas),
        at(backdrop),
        wgpu::Extent3d {
            width: x1 - x0,
            height: y1 - y0,
            depth_or_array_layers: 1,
        },
    );
}

/// One render pass over `draws`, each clipped to its region.
fn record_pass(
    encoder: &mut wgpu::CommandEncoder,
    view: &wgpu::TextureView,
    load: wgpu::LoadOp<wgpu::Color>,
    draws: &[Draw],
    (w, h): (u32, u32),
) {
    let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
        label: Some("layers"),
        color_attachments: &[Some(wgpu::RenderPassColorAttachment {
            view,
            depth_slice: None,
            resolve_target: None,
            ops: wgpu::Operations {
                load,
                store: wgpu::StoreOp::Store,
            },
        })],
        depth_stencil_attachment: None,
        timestamp_writes: None,
        occlusion_query_set: None,
        multiview_mask: None,
    });
    // The pooled canvas may be larger than the render: the viewport maps
    // the quad's canvas pixels onto its top-left w x h.
    pass.set_viewport(0.0, 0.0, w as f32, h as f32, 0.0, 1.0);
    for d in draws {
        let [x0, y0, x1, y1] = d.region;
        if x1 <= x0 || y1 <= y0 {
            continue;
        }
        pass.set_scissor_rect(x0, y0, x1 - x0, y1 - y0);
        pass.set_bind_group(0, &d.bind, &[]);
        pass.set_pipeline(&d.pipeline);
        pass.draw(0..4, 0..1);
        if let Some(clamp) = &d.clamp {
            pass.set_pipeline(clamp);
            pass.draw(0..4, 0..1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_composites_in_compute_only_on_nvidia_data_center_gpus() {
        let auto = |name| GpuCompositor::Auto.resolve(name);
        for name in [
            "NVIDIA H100 80GB HBM3",
            "NVIDIA H200",
            "NVIDIA A100-SXM4-80GB",
            "NVIDIA A30",
            "NVIDIA GH200 480GB",
            "NVIDIA B200",
        ] {
            assert_eq!(auto(name), GpuCompositor::Compute, "{name}");
        }
        for name in [
            "llvmpipe (LLVM 15.0.6, 256 bits)",
            "NVIDIA GeForce RTX 4090",
            "NVIDIA RTX A3000 Laptop GPU",
            "NVIDIA L40S",
            "Apple M2",
            "AMD Radeon RX 7900 XTX (RADV NAVI31)",
            "Intel(R) UHD Graphics 630",
        ] {
            assert_eq!(auto(name), GpuCompositor::Fragment, "{name}");
        }
        assert_eq!(
            GpuCompositor::Fragment.resolve("NVIDIA H100"),
            GpuCompositor::Fragment
        );
        assert_eq!(
            GpuCompositor::Compute.resolve("llvmpipe"),
            GpuCompositor::Compute
        );
    }

    /// Each fixed-function state, evaluated as the blend unit does
    /// (`s * Fa + d * Fb`), gives `blend::composite` of the operator.
    #[test]
    fn every_porter_duff_blend_state_computes_the_operator() {
        let factor = |f: F, s: [f32; 4], d: [f32; 4]| match f {
            F::Zero => 0.0,
            F::One => 1.0,
            F::SrcAlpha => s[3],
            F::OneMinusSrcAlpha => 1.0 - s[3],
            F::DstAlpha => d[3],
            F::OneMinusDstAlpha => 1.0 - d[3],
            other => panic!("unexpected factor {other:?}"),
        };
        let s = [0.3, 0.2, 0.1, 0.6];
        let d = [0.5, 0.1, 0.4, 0.7];
        for mode in BlendMode::ALL {
            let want = crate::blend::composite(mode, s, d);
            let got: [f32; 4] = match draw_blend(mode) {
                DrawBlend::Fixed(c) => {
                    let (fa, fb) = (factor(c.src_factor, s, d), factor(c.dst_factor, s, d));
                    std::array::from_fn(|i| s[i] * fa + d[i] * fb)
                }
                DrawBlend::Lighter => std::array::from_fn(|i| (s[i] + d[i]).min(1.0)),
                DrawBlend::Backdrop => {
                    assert!(mode.is_blend_mode(), "{mode:?} reads the backdrop");
                    continue;
                }
            };
            for i in 0..4 {
                assert!(
                    (got[i] - want[i]).abs() < 1e-6,
                    "{mode:?}: {got:?} vs {want:?}"
                );
            }
        }
    }
}
