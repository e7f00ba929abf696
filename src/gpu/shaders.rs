//! The WGSL sources, their entry points and their binding numbers. Every
//! binding number is a named constant here and the `B_*` constant of the
//! same name in the shader (`@binding(B_PARAMS)`); the `contract_tests`
//! hold each pair equal and check which variable each one binds.

/// The WGSL of the per-layer composite pass (color + blend + composite).
pub const COMPOSITE_WGSL: &str = concat!(
    include_str!("../../shaders/color.wgsl"),
    include_str!("../../shaders/blend.wgsl"),
    include_str!("../../shaders/composite.wgsl")
);
/// The WGSL of the resampling passes (color + resample).
pub const RESAMPLE_WGSL: &str = concat!(
    include_str!("../../shaders/color.wgsl"),
    include_str!("../../shaders/resample.wgsl")
);
/// The WGSL of the encode pass.
pub const ENCODE_WGSL: &str = include_str!("../../shaders/encode.wgsl");

/// The composite pass's entry point.
pub const COMPOSITE_ENTRY: &str = "composite_layer";
/// The encode pass's entry point.
pub const ENCODE_ENTRY: &str = "encode";

/// Bindings (group 0) of shaders/composite.wgsl.
pub mod composite {
    /// `lp`: the layer's `LayerParams` (uniform).
    pub const B_PARAMS: u32 = 0;
    /// `canvas`: the premultiplied `f32` canvas (read-write storage).
    pub const B_CANVAS: u32 = 1;
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
