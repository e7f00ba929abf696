//! The benchmarks' photo-like test image, shared by `benches/photo.rs` and
//! `benches/gpu_jpeg.rs`.

use impasto::RgbaImage;

/// A deterministic photo-like image: smooth gradients with fine texture,
/// so JPEG sizes and decode costs are realistic (not a flat colour).
pub fn photo(w: u32, h: u32) -> RgbaImage {
    let mut v = 0x9E37_79B9u32;
    RgbaImage::from_fn(w, h, |x, y| {
        v ^= v << 13;
        v ^= v >> 17;
        v ^= v << 5;
        let n = (v >> 28) as f32;
        let (fx, fy) = (x as f32 / w as f32, y as f32 / h as f32);
        let r = 120.0 + 100.0 * (fx * 9.0).sin() * (fy * 4.0).cos() + n;
        let g = 90.0 + 80.0 * (fy * 7.0 + fx * 3.0).sin() + n;
        let b = 140.0 + 90.0 * ((fx - 0.5) * (fy - 0.3) * 40.0).cos() + n;
        image::Rgba([r as u8, g as u8, b as u8, 255])
    })
}
