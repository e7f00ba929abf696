//! The typed uniforms of the three pipelines and the codes they carry. Each
//! struct is mirrored field for field (names, order, offsets, types) by the
//! WGSL struct of the same name, and each code by a WGSL constant; the
//! `contract_tests` read the shaders with naga and hold the two sides equal.

use bytemuck::{Pod, Zeroable};

use crate::blend::BlendMode;
use crate::color::BlendSpace;
use crate::plan::geometry::{BoxGeometry, LinearRamp, RadialRamp};

/// What a layer paints: `LayerParams::kind`, the `KIND_*` constants of
/// shaders/composite.wgsl, on which its `paint` switches.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PaintKind {
    /// `color`.
    Solid = 0,
    /// The `stops` along `linear_t0 + linear_step . p`.
    Linear = 1,
    /// The `stops` along `|p - radial_center| / radial_radius`.
    Radial = 2,
    /// The source texture's texels, at `image_origin` on the canvas.
    Copy = 3,
    /// The resampled image (`inter`), on the canvas grid at `image_origin`.
    Grid = 4,
    /// The resampled image (`inter`) stretched over `placed`, box-local.
    Placed = 5,
    /// Nothing (transparent): composited only for what the operator clears.
    None = 6,
    /// A region of the text texture, from `text_row`, over `placed`.
    Text = 7,
}

impl PaintKind {
    /// Every kind, for the contract tests.
    #[cfg(test)]
    pub const ALL: [PaintKind; 8] = [
        PaintKind::Solid,
        PaintKind::Linear,
        PaintKind::Radial,
        PaintKind::Copy,
        PaintKind::Grid,
        PaintKind::Placed,
        PaintKind::None,
        PaintKind::Text,
    ];

    /// The name of its WGSL constant.
    #[cfg(test)]
    pub fn wgsl_name(self) -> &'static str {
        match self {
            PaintKind::Solid => "KIND_SOLID",
            PaintKind::Linear => "KIND_LINEAR",
            PaintKind::Radial => "KIND_RADIAL",
            PaintKind::Copy => "KIND_COPY",
            PaintKind::Grid => "KIND_GRID",
            PaintKind::Placed => "KIND_PLACED",
            PaintKind::None => "KIND_NONE",
            PaintKind::Text => "KIND_TEXT",
        }
    }
}

/// The `space` fields: `SPACE_SRGB` in the shaders (color.wgsl, encode.wgsl).
pub(super) const SPACE_SRGB: u32 = 0;
/// The `space` fields: `SPACE_LINEAR` in the shaders.
pub(super) const SPACE_LINEAR: u32 = 1;

/// The shaders' code for a blend space.
pub(super) fn space_code(space: BlendSpace) -> u32 {
    match space {
        BlendSpace::Srgb => SPACE_SRGB,
        BlendSpace::Linear => SPACE_LINEAR,
    }
}

/// Per-layer uniforms of `composite_layer` (shaders/composite.wgsl). Every
/// field has one meaning; the fields a kind does not read are zero. Booleans
/// are `u32` 0 or 1.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub(super) struct LayerParams {
    /// Canvas width and height in pixels.
    pub canvas: [u32; 2],
    /// First canvas pixel of the dispatch.
    pub origin: [u32; 2],
    /// Pixels the dispatch covers from `origin`.
    pub size: [u32; 2],
    /// What the layer paints: a [`PaintKind`].
    pub kind: u32,
    /// How it meets the canvas: `BlendMode as u32` (blend.wgsl's constants).
    pub mode: u32,
    /// The blend space: [`SPACE_SRGB`] or [`SPACE_LINEAR`] (images are
    /// premultiplied in it).
    pub space: u32,
    /// Multiplies the coverage.
    pub opacity: f32,
    /// cos and sin of the box's rotation.
    pub rotation: [f32; 2],
    /// The area clip `[x0, y0, x1, y1]`, box-local.
    pub clip: [f32; 4],
    /// The box `[x0, y0, x1, y1]` before rotation.
    pub box_rect: [f32; 4],
    /// The corners' radius; 0 for square corners.
    pub corner_radius: f32,
    /// 1 when the box is not rotated (box-local points are canvas points).
    pub axis_aligned: u32,
    /// 1 to sample the placed image nearest-neighbour, 0 bilinear.
    pub nearest: u32,
    /// Gradient stops in the `stops` binding.
    pub stop_count: u32,
    /// The premultiplied colour of a solid.
    pub color: [f32; 4],
    /// A linear ramp's change of `t` per pixel in x and y.
    pub linear_step: [f32; 2],
    /// A linear ramp's `t` at the canvas origin.
    pub linear_t0: f32,
    /// A radial ramp's radius (`t` = 1 there).
    pub radial_radius: f32,
    /// A radial ramp's centre on the canvas.
    pub radial_center: [f32; 2],
    /// Canvas position of the image's first pixel (copied texture, or
    /// resampled image on the canvas grid).
    pub image_origin: [i32; 2],
    /// Width and height of the image the layer samples: the texture, the
    /// resampled image, or the layer's text region.
    pub image_size: [i32; 2],
    /// First row of the layer's region in the text texture.
    pub text_row: i32,
    pub _pad: u32,
    /// The box-local rectangle `[x, y, w, h]` the image (or text region) is
    /// stretched over.
    pub placed: [f32; 4],
    /// The pixels `[x0, y0, x1, y1)` the layer's shape can touch (the
    /// plan's bounds): its coverage is 0 outside, as on the CPU, also where
    /// an unbounded operator's region is the whole canvas.
    pub bounds: [u32; 4],
}
const _: () = assert!(std::mem::size_of::<LayerParams>() == 192);

impl LayerParams {
    /// The background: a solid over the whole `w` x `h` canvas, source-over.
    pub fn background([w, h]: [u32; 2], color: [f32; 4], space: BlendSpace) -> LayerParams {
        LayerParams {
            canvas: [w, h],
            size: [w, h],
            mode: BlendMode::SourceOver as u32,
            space: space_code(space),
            opacity: 1.0,
            rotation: [1.0, 0.0],
            clip: [0.0, 0.0, w as f32, h as f32],
            box_rect: [0.0, 0.0, w as f32, h as f32],
            axis_aligned: 1,
            bounds: [0, 0, w, h],
            ..LayerParams::zeroed()
        }
        .solid(color)
    }

    /// A layer's shape, blend and opacity over the pixels `[x0, y0, x1, y1)`
    /// of the canvas, its coverage 0 outside `bounds` (`None`: everywhere),
    /// painting nothing ([`PaintKind::None`]) until one of the paint
    /// methods below sets its kind.
    pub fn shape(
        canvas: [u32; 2],
        [x0, y0, x1, y1]: [u32; 4],
        bounds: Option<[u32; 4]>,
        blend: BlendMode,
        opacity: f32,
        geom: &BoxGeometry,
        space: BlendSpace,
    ) -> LayerParams {
        LayerParams {
            canvas,
            origin: [x0, y0],
            size: [x1 - x0, y1 - y0],
            kind: PaintKind::None as u32,
            mode: blend as u32,
            space: space_code(space),
            opacity,
            rotation: [geom.cos as f32, geom.sin as f32],
            clip: geom.clip.map(|v| v as f32),
            box_rect: [
                geom.x0 as f32,
                geom.y0 as f32,
                geom.x1 as f32,
                geom.y1 as f32,
            ],
            corner_radius: geom.radius as f32,
            axis_aligned: u32::from(geom.axis_aligned),
            bounds: bounds.unwrap_or_default(),
            ..LayerParams::zeroed()
        }
    }

    pub fn solid(self, color: [f32; 4]) -> LayerParams {
        LayerParams {
            kind: PaintKind::Solid as u32,
            color,
            ..self
        }
    }

    pub fn linear(self, ramp: &LinearRamp, stop_count: usize) -> LayerParams {
        LayerParams {
            kind: PaintKind::Linear as u32,
            linear_t0: ramp.t0 as f32,
            linear_step: [ramp.dx as f32, ramp.dy as f32],
            stop_count: stop_count as u32,
            ..self
        }
    }

    pub fn radial(self, ramp: &RadialRamp, stop_count: usize) -> LayerParams {
        LayerParams {
            kind: PaintKind::Radial as u32,
            radial_center: [ramp.cx as f32, ramp.cy as f32],
            radial_radius: ramp.radius as f32,
            stop_count: stop_count as u32,
            ..self
        }
    }

    /// A texture of `size` copied texel for texel, its first at `origin`.
    pub fn copy(self, origin: [i64; 2], size: [u32; 2]) -> LayerParams {
        LayerParams {
            kind: PaintKind::Copy as u32,
            image_origin: origin.map(|v| v as i32),
            image_size: size.map(|v| v as i32),
            ..self
        }
    }

    /// A resampled image covering the canvas pixels `[x0, y0, x1, y1)`.
    pub fn grid(self, [x0, y0, x1, y1]: [u32; 4]) -> LayerParams {
        LayerParams {
            kind: PaintKind::Grid as u32,
            image_origin: [x0 as i32, y0 as i32],
            image_size: [(x1 - x0) as i32, (y1 - y0) as i32],
            ..self
        }
    }

    /// A resampled image of `size` stretched over `placed` (box-local).
    pub fn placed(self, size: [u32; 2], placed: [f32; 4], nearest: bool) -> LayerParams {
        LayerParams {
            kind: PaintKind::Placed as u32,
            image_size: size.map(|v| v as i32),
            placed,
            nearest: u32::from(nearest),
            ..self
        }
    }

    /// The text texture's rows `row ..` (`size` pixels), whose top left is
    /// box-local `origin`.
    pub fn text(self, row: u32, size: [u32; 2], origin: (f64, f64)) -> LayerParams {
        LayerParams {
            kind: PaintKind::Text as u32,
            text_row: row as i32,
            image_size: size.map(|v| v as i32),
            placed: [
                origin.0 as f32,
                origin.1 as f32,
                size[0] as f32,
                size[1] as f32,
            ],
            ..self
        }
    }
}

/// Resampling uniforms of shaders/resample.wgsl, one set per pass of a band.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub(super) struct ResampleParams {
    /// Output width.
    pub dst_w: u32,
    /// Source rows the band reads, from `row_lo`.
    pub rows: u32,
    /// Taps of the axis this pass filters.
    pub taps: u32,
    /// First source row the band reads.
    pub row_lo: u32,
    /// The blend space the source is premultiplied in (`SPACE_*`).
    pub space: u32,
    /// Output rows in the band, from `k0`.
    pub band_rows: u32,
    /// First output row of the band.
    pub k0: u32,
    /// First source column read (vertical first).
    pub col_lo: u32,
    /// Source columns read (vertical first), from `col_lo`.
    pub cols: u32,
    pub _pad0: u32,
    pub _pad1: u32,
    pub _pad2: u32,
}
const _: () = assert!(std::mem::size_of::<ResampleParams>() == 48);

/// Uniforms of shaders/encode.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub(super) struct EncodeParams {
    /// Canvas width and height in pixels.
    pub canvas: [u32; 2],
    /// The blend space the canvas holds (`SPACE_*`).
    pub space: u32,
    pub _pad: u32,
}
const _: () = assert!(std::mem::size_of::<EncodeParams>() == 16);

/// Uniforms of shaders/jpeg_blocks.wgsl.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub(super) struct JpegParams {
    /// Image width and height in pixels.
    pub size: [u32; 2],
    /// MCUs across and down.
    pub mcus: [u32; 2],
    /// 1: 4:2:0 (six blocks an MCU); 0: 4:4:4 (three).
    pub subsampled: u32,
    /// Blocks in the image (invocations that write).
    pub blocks: u32,
    pub _pad0: u32,
    pub _pad1: u32,
}
const _: () = assert!(std::mem::size_of::<JpegParams>() == 32);

#[cfg(test)]
mod tests {
    use super::*;

    /// The text kind's fields as the one uniform of old had them: region
    /// row and size, and the placed rectangle of the same size.
    #[test]
    fn text_params_place_the_region_at_its_origin_with_its_size() {
        let p = LayerParams::zeroed().text(7, [30, 12], (-1.5, 2.25));
        assert_eq!(p.kind, PaintKind::Text as u32);
        assert_eq!((p.text_row, p.image_size), (7, [30, 12]));
        assert_eq!(p.placed, [-1.5, 2.25, 30.0, 12.0]);
        assert_eq!(p.image_origin, [0, 0]);
    }

    #[test]
    fn the_background_is_an_opaque_axis_aligned_solid_over_the_canvas() {
        let p = LayerParams::background([5, 3], [0.5; 4], BlendSpace::Linear);
        assert_eq!(p.kind, PaintKind::Solid as u32);
        assert_eq!((p.origin, p.size), ([0, 0], [5, 3]));
        assert_eq!((p.opacity, p.axis_aligned, p.space), (1.0, 1, SPACE_LINEAR));
        assert_eq!(p.box_rect, [0.0, 0.0, 5.0, 3.0]);
    }
}
