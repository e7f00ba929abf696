//! The WGSL sources, their entry points and their binding numbers. Every
//! binding number is a named constant here and the `B_*` constant of the
//! same name in the shader (`@binding(B_PARAMS)`); the `contract_tests`
//! hold each pair equal and check which variable each one binds.

/// The WGSL of the fragment path's layer pipelines (color + blend + layer +
/// draw).
pub const DRAW_WGSL: &str = concat!(
    include_str!("../../shaders/color.wgsl"),
    include_str!("../../shaders/blend.wgsl"),
    include_str!("../../shaders/layer.wgsl"),
    include_str!("../../shaders/draw.wgsl")
);
/// The WGSL of the compute path's per-layer composite pass (color + blend +
/// layer + composite).
pub const COMPOSITE_WGSL: &str = concat!(
    include_str!("../../shaders/color.wgsl"),
    include_str!("../../shaders/blend.wgsl"),
    include_str!("../../shaders/layer.wgsl"),
    include_str!("../../shaders/composite.wgsl")
);
/// The WGSL of the resampling passes (color + resample).
pub const RESAMPLE_WGSL: &str = concat!(
    include_str!("../../shaders/color.wgsl"),
    include_str!("../../shaders/resample.wgsl")
);
/// The WGSL of the encode pass.
pub const ENCODE_WGSL: &str = include_str!("../../shaders/encode.wgsl");
/// The WGSL of the JPEG pass (the encode pass's pixels to quantised DCT
/// blocks).
pub const JPEG_WGSL: &str = include_str!("../../shaders/jpeg_blocks.wgsl");
/// The JPEG pass's entry point.
pub const JPEG_ENTRY: &str = "jpeg_blocks";

/// The fragment path's vertex shader: the layer's quad.
pub const VERTEX_ENTRY: &str = "vs_layer";
/// The fragment shader of the Porter-Duff operators (fixed-function blend).
pub const FRAGMENT_SOURCE_ENTRY: &str = "fs_source";
/// The fragment shader of the blend modes (reads the backdrop).
pub const FRAGMENT_BACKDROP_ENTRY: &str = "fs_backdrop";
/// The fragment shader of `lighter`'s clamp (writes 1, blended with `Min`).
pub const FRAGMENT_ONE_ENTRY: &str = "fs_one";
/// The compute path's composite pass's entry point.
pub const COMPOSITE_ENTRY: &str = "composite_layer";
/// The encode pass's entry point for the compute path's storage canvas.
pub const ENCODE_ENTRY: &str = "encode";
/// The encode pass's entry point for the fragment path's canvas texture.
pub const ENCODE_TEXTURE_ENTRY: &str = "encode_texture";

/// Bindings (group 0) of shaders/layer.wgsl, shared by the two paths.
pub mod layer {
    /// `lp`: the layer's `LayerParams` (uniform).
    pub const B_PARAMS: u32 = 0;
    /// `stops`: gradient stops, offset then colour (storage).
    pub const B_STOPS: u32 = 2;
    /// `src_tex`: a straight 8-bit image copied texel for texel.
    pub const B_SRC_TEX: u32 = 3;
    /// `inter`: a resampled (or CPU-rasterized) premultiplied image (storage).
    pub const B_INTER: u32 = 4;
    /// `srgb_lut`: sRGB byte to linear light.
    pub const B_SRGB_LUT: u32 = 5;
    /// `text_tex`: text layers drawn by glyphon, premultiplied.
    pub const B_TEXT_TEX: u32 = 6;
}

/// Bindings (group 0) of shaders/composite.wgsl (the compute path): the
/// layer's ([`layer`]), and its canvas.
pub mod composite {
    /// `canvas`: the premultiplied `f32` canvas (read-write storage).
    pub const B_CANVAS: u32 = 1;
}

/// Bindings (group 0) of shaders/draw.wgsl (the fragment path): the
/// layer's, and the backdrop.
pub mod draw {
    pub use super::layer::*;
    /// `backdrop`: a copy of the canvas under a blend mode's region.
    pub const B_BACKDROP: u32 = 7;
}

/// Bindings (group 0) of shaders/resample.wgsl.
pub mod resample {
    /// `rp`: the pass's `ResampleParams` (uniform).
    pub const B_PARAMS: u32 = 0;
    /// `src_tex`: the straight 8-bit source (first passes).
    pub const B_SRC_TEX: u32 = 1;
    /// `starts`: the filtered axis's first source index per output pixel.
    pub const B_STARTS: u32 = 2;
    /// `weights`: the filtered axis's taps per output pixel.
    pub const B_WEIGHTS: u32 = 3;
    /// `srgb_lut`: sRGB byte to linear light (first passes).
    pub const B_SRGB_LUT: u32 = 4;
    /// `mid`: the intermediate of one band.
    pub const B_MID: u32 = 5;
    /// `out_buf`: the premultiplied result (second passes).
    pub const B_OUT: u32 = 6;
}

/// Bindings (group 0) of shaders/encode.wgsl.
pub mod encode {
    /// `ep`: the `EncodeParams` (uniform).
    pub const B_PARAMS: u32 = 0;
    /// `acc_in`: the premultiplied `f32` canvas.
    pub const B_CANVAS: u32 = 1;
    /// `out_tex`: straight 8-bit sRGB out (storage texture).
    pub const B_OUT_TEX: u32 = 2;
    /// `thresholds`: the linear-to-sRGB8 decision thresholds.
    pub const B_THRESHOLDS: u32 = 3;
    /// `buckets`: the linear-to-sRGB8 first guesses.
    pub const B_BUCKETS: u32 = 4;
    /// `canvas_tex`: the fragment path's canvas texture.
    pub const B_CANVAS_TEX: u32 = 5;
}

/// Bindings (group 0) of shaders/jpeg_blocks.wgsl.
pub mod jpeg {
    /// `jp`: the `JpegParams` (uniform).
    pub const B_PARAMS: u32 = 0;
    /// `pixels`: the encode pass's straight 8-bit output (texture).
    pub const B_PIXELS: u32 = 1;
    /// `quant`: the quantisers, per table and zigzag position (storage).
    pub const B_QUANT: u32 = 2;
    /// `blocks`: the quantised blocks out (storage).
    pub const B_BLOCKS: u32 = 3;
}

/// The resampling shader's entry points, in the order of
/// `Pipelines::resample`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResampleEntry {
    /// Horizontal first, pass 1: texture -> intermediate.
    Horizontal = 0,
    /// Horizontal first, pass 2: intermediate -> output.
    Vertical = 1,
    /// Vertical first, pass 1: texture -> intermediate.
    VerticalTex = 2,
    /// Vertical first, pass 2: intermediate -> output.
    HorizontalBuf = 3,
}

impl ResampleEntry {
    pub const ALL: [ResampleEntry; 4] = [
        ResampleEntry::Horizontal,
        ResampleEntry::Vertical,
        ResampleEntry::VerticalTex,
        ResampleEntry::HorizontalBuf,
    ];

    /// Its entry point in shaders/resample.wgsl.
    pub fn name(self) -> &'static str {
        match self {
            ResampleEntry::Horizontal => "horizontal",
            ResampleEntry::Vertical => "vertical",
            ResampleEntry::VerticalTex => "vertical_tex",
            ResampleEntry::HorizontalBuf => "horizontal_buf",
        }
    }

    /// Whether the pass reads the source texture (else the intermediate).
    pub fn reads_texture(self) -> bool {
        matches!(self, ResampleEntry::Horizontal | ResampleEntry::VerticalTex)
    }
}
