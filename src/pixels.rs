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
#[inline(always)]
pub(crate) fn load16(p: [u16; 4]) -> [f32; 4] {
    p.map(|v| v as f32 * (1.0 / 65535.0))
}

/// Stores a premultiplied float pixel as unorm16, keeping it valid
/// premultiplied colour (`0 <= c <= a <= 1`) after filter overshoot.
#[inline(always)]
pub(crate) fn store16(p: [f32; 4]) -> [u16; 4] {
    let a = p[3].clamp(0.0, 1.0);
    // `v.clamp(0.0, a)` without its check that `0 <= a` (true here), which
    // kept this loop from being vectorised; the same comparisons, so the
    // same result (a NaN passes through both).
    let colour = |v: f32| {
        let v = if v < 0.0 { 0.0 } else { v };
        if v > a {
            a
        } else {
            v
        }
    };
    // `v` is in 0..=1 (or NaN, which gives 0 either way), so through i32 is
    // the saturating `as u16`, in a form the compiler vectorises.
    let q = |v: f32| (v * 65535.0 + 0.5) as i32 as u16;
    [q(colour(p[0])), q(colour(p[1])), q(colour(p[2])), q(a)]
}
