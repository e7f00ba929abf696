//! Text on the GPU with glyphon. The layout is the one the CPU backend uses
//! (`text::plan`); glyphon rasterizes the glyphs with swash (its own glyph
//! cache, kept within the same byte budget as the CPU's) into its atlas and draws them into a premultiplied `Rgba16Float` texture,
//! one region per text layer, which the composite pass then reads like any
//! other layer (blend, opacity, rotation and rounding included).
//!
//! glyphon's atlas and renderers live as long as the GPU context: prepared
//! once per render, trimmed after it (glyphs unused in a render leave the
//! atlas), never rebuilt per text layer.

use glyphon::{
    Cache, Color, ColorMode, Resolution, TextArea, TextAtlas, TextBounds, TextRenderer, Viewport,
};

use crate::color::BlendSpace;
use crate::error::Error;

/// The format text layers are drawn into: blendable, and premultiplied by
/// glyphon's alpha blending over a transparent clear.
pub(crate) const TEXT_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba16Float;

/// glyphon's long-lived state: one atlas and renderer per blend space
/// (`Web` keeps sRGB values for the sRGB space, `Accurate` converts to linear
/// light for the linear space).
pub(crate) struct Glyphs {
    viewport: Viewport,
    web: (TextAtlas, TextRenderer),
    accurate: (TextAtlas, TextRenderer),
}

/// One text layer to draw: its laid-out buffer, colour, and the region of
/// the shared target texture it goes to.
pub(crate) struct TextJob {
    pub buffer: glyphon::Buffer,
    pub color: crate::Color,
    pub left: f32,
    pub top: f32,
    /// `[x0, y0, x1, y1)` in the target texture.
    pub region: [u32; 4],
}

impl Glyphs {
    pub fn new(device: &wgpu::Device, queue: &wgpu::Queue) -> Glyphs {
        let cache = Cache::new(device);
        let viewport = Viewport::new(device, &cache);
        let make = |mode| {
            let mut atlas = TextAtlas::with_color_mode(device, queue, &cache, TEXT_FORMAT, mode);
            let renderer =
                TextRenderer::new(&mut atlas, device, wgpu::MultisampleState::default(), None);
            (atlas, renderer)
        };
        Glyphs {
            viewport,
            web: make(ColorMode::Web),
            accurate: make(ColorMode::Accurate),
        }
    }

    /// Prepares (uploads) every job and draws them into `target`, in a
    /// submission of its own so that the shared vertex buffer can be reused
    /// by the next render at once; later submissions see the result.
    #[allow(clippy::too_many_arguments)]
    pub fn draw(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        fonts: &mut glyphon::FontSystem,
        swash: &mut glyphon::SwashCache,
        space: BlendSpace,
        jobs: &[TextJob],
        target: &wgpu::Texture,
    ) -> Result<(), Error> {
        let (atlas, renderer) = match space {
            BlendSpace::Srgb => &mut self.web,
            BlendSpace::Linear => &mut self.accurate,
        };
        self.viewport.update(
            queue,
            Resolution {
                width: target.width(),
                height: target.height(),
            },
        );
        let areas = jobs.iter().map(|j| TextArea {
            buffer: &j.buffer,
            left: j.left + j.region[0] as f32,
            top: j.top + j.region[1] as f32,
            scale: 1.0,
            bounds: TextBounds {
                left: j.region[0] as i32,
                top: j.region[1] as i32,
                right: j.region[2] as i32,
                bottom: j.region[3] as i32,
            },
            default_color: Color::rgba(j.color.r, j.color.g, j.color.b, j.color.a),
            custom_glyphs: &[],
        });
        renderer
            .prepare(device, queue, fonts, atlas, &self.viewport, areas, swash)
            .map_err(|e| Error::Gpu(format!("preparing text: {e}")))?;
        let view = target.create_view(&Default::default());
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("impasto text"),
        });
        {
            let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("text layers"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view: &view,
                    depth_slice: None,
                    resolve_target: None,
                    ops: wgpu::Operations {
                        load: wgpu::LoadOp::Clear(wgpu::Color::TRANSPARENT),
                        store: wgpu::StoreOp::Store,
                    },
                })],
                depth_stencil_attachment: None,
                timestamp_writes: None,
                occlusion_query_set: None,
                multiview_mask: None,
            });
            renderer
                .render(atlas, &self.viewport, &mut pass)
                .map_err(|e| Error::Gpu(format!("drawing text: {e}")))?;
        }
        queue.submit([encoder.finish()]);
        atlas.trim();
        Ok(())
    }
}
