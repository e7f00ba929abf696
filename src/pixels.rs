//! Premultiplied pixel buffers shared by the planner and both backends.

/// A premultiplied image in the blend space, 16 bits per channel (unorm):
/// a resampled image or a text raster.
#[derive(Debug, Clone, PartialEq)]
pub struct PremulImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Row-major pixels, `[r, g, b, a]` premultiplied, 0..=65535.
    pub data: Vec<[u16; 4]>,
}

impl PremulImage {
    /// The pixel at `(x, y)` as floats in 0..=1 (the CPU reads windows
    /// of such images made on demand, through [`load16`]).
    #[cfg(test)]
    pub fn get(&self, x: u32, y: u32) -> [f32; 4] {
        load16(self.data[(y * self.width + x) as usize])
    }
}

/// A unorm16 premultiplied pixel as floats in 0..=1.
#[inline]
pub(crate) fn load16(p: [u16; 4]) -> [f32; 4] {
    p.map(|v| v as f32 * (1.0 / 65535.0))
}

/// Stores a premultiplied float pixel as unorm16, keeping it valid
/// premultiplied colour (`0 <= c <= a <= 1`) after filter overshoot.
#[inline]
pub(crate) fn store16(p: [f32; 4]) -> [u16; 4] {
    let a = p[3].clamp(0.0, 1.0);
    let q = |v: f32| (v * 65535.0 + 0.5) as u16;
    [
        q(p[0].clamp(0.0, a)),
        q(p[1].clamp(0.0, a)),
        q(p[2].clamp(0.0, a)),
        q(a),
    ]
}
