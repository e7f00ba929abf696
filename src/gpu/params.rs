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

/// Per-layer uniforms of `composite_layer` (shaders/composite.wgsl). Built
/// with [`LayerParams::shape`] (or [`LayerParams::background`]) and one
/// paint method; some fields change meaning with the kind.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub(super) struct LayerParams {
    pub canvas: [u32; 2],
    pub origin: [u32; 2],
    pub size: [u32; 2],
    pub kind: u32,
    pub mode: u32,
    pub clip: [f32; 4],
    pub box_: [f32; 4],
    /// cos, sin, corner radius, opacity.
    pub rot: [f32; 4],
    pub color: [f32; 4],
    /// Linear: t0, dx, dy; radial: cx, cy, radius.
    pub ramp: [f32; 4],
    /// Copy: ox, oy, w, h; grid: x0, y0, w, h; placed: -, -, w, h of the
    /// intermediate; text: -, first row, w, h.
    pub img: [i32; 4],
    /// Placed: x, y, w, h (box-local).
    pub placed: [f32; 4],
    /// Axis aligned, nearest, stop count, blend space.
    pub flags: [u32; 4],
}
const _: () = assert!(std::mem::size_of::<LayerParams>() == 160);

impl LayerParams {
    /// The background: a solid over the whole `w` x `h` canvas, source-over.
    pub fn background([w, h]: [u32; 2], color: [f32; 4], space: BlendSpace) -> LayerParams {
        LayerParams {
            canvas: [w, h],
            size: [w, h],
            mode: BlendMode::SourceOver as u32,
            clip: [0.0, 0.0, w as f32, h as f32],
            box_: [0.0, 0.0, w as f32, h as f32],
            rot: [1.0, 0.0, 0.0, 1.0],
            flags: [1, 0, 0, space_code(space)],
            ..LayerParams::zeroed()
        }
        .solid(color)
    }

    /// A layer's shape, blend and opacity over the pixels `[x0, y0, x1, y1)`
    /// of the canvas, painting nothing ([`PaintKind::None`]) until one of the
    /// paint methods below sets its kind.
    pub fn shape(
        canvas: [u32; 2],
        [x0, y0, x1, y1]: [u32; 4],
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
            clip: geom.clip.map(|v| v as f32),
            box_: [
                geom.x0 as f32,
                geom.y0 as f32,
                geom.x1 as f32,
                geom.y1 as f32,
            ],
            rot: [
                geom.cos as f32,
                geom.sin as f32,
                geom.radius as f32,
                opacity,
            ],
            flags: [u32::from(geom.axis_aligned), 0, 0, space_code(space)],
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

    pub fn linear(mut self, ramp: &LinearRamp, stop_count: usize) -> LayerParams {
        self.kind = PaintKind::Linear as u32;
        self.ramp = [ramp.t0 as f32, ramp.dx as f32, ramp.dy as f32, 0.0];
        self.flags[2] = stop_count as u32;
        self
    }

    pub fn radial(mut self, ramp: &RadialRamp, stop_count: usize) -> LayerParams {
        self.kind = PaintKind::Radial as u32;
        self.ramp = [ramp.cx as f32, ramp.cy as f32, ramp.radius as f32, 0.0];
        self.flags[2] = stop_count as u32;
        self
    }

    /// A texture of `size` copied texel for texel, its first at `origin`.
    pub fn copy(self, [ox, oy]: [i64; 2], [w, h]: [u32; 2]) -> LayerParams {
        LayerParams {
            kind: PaintKind::Copy as u32,
            img: [ox as i32, oy as i32, w as i32, h as i32],
            ..self
        }
    }

    /// A resampled image covering the canvas pixels `[x0, y0, x1, y1)`.
    pub fn grid(self, [x0, y0, x1, y1]: [u32; 4]) -> LayerParams {
        LayerParams {
            kind: PaintKind::Grid as u32,
            img: [x0 as i32, y0 as i32, (x1 - x0) as i32, (y1 - y0) as i32],
            ..self
        }
    }

    /// A resampled image of `size` stretched over `placed` (box-local).
    pub fn placed(mut self, [w, h]: [u32; 2], placed: [f32; 4], nearest: bool) -> LayerParams {
        self.kind = PaintKind::Placed as u32;
        self.img = [0, 0, w as i32, h as i32];
        self.placed = placed;
        self.flags[1] = u32::from(nearest);
        self
    }

    /// The text texture's rows `row ..` (`size` pixels), whose top left is
    /// box-local `origin`.
    pub fn text(self, row: u32, [w, h]: [u32; 2], origin: (f64, f64)) -> LayerParams {
        LayerParams {
            kind: PaintKind::Text as u32,
            img: [0, row as i32, w as i32, h as i32],
            placed: [origin.0 as f32, origin.1 as f32, w as f32, h as f32],
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_params_place_the_region_at_its_origin_with_its_size() {
        let p = LayerParams::zeroed().text(7, [30, 12], (-1.5, 2.25));
        assert_eq!(p.kind, PaintKind::Text as u32);
        assert_eq!(p.img, [0, 7, 30, 12]);
        assert_eq!(p.placed, [-1.5, 2.25, 30.0, 12.0]);
    }

    #[test]
    fn the_background_is_an_opaque_axis_aligned_solid_over_the_canvas() {
        let p = LayerParams::background([5, 3], [0.5; 4], BlendSpace::Linear);
        assert_eq!(p.kind, PaintKind::Solid as u32);
        assert_eq!((p.origin, p.size), ([0, 0], [5, 3]));
        assert_eq!((p.rot[3], p.flags), (1.0, [1, 0, 0, SPACE_LINEAR]));
        assert_eq!(p.box_, [0.0, 0.0, 5.0, 3.0]);
    }
}
