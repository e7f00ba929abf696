//! AVIF output: `ravif` (rav1e, pure Rust, built without its nasm
//! assembly), from straight 8-bit sRGB RGBA.
//!
//! Colour is stored as 10-bit YCbCr (ravif's choice: it compresses 8-bit
//! sources better than 8-bit AV1), alpha as a separate AV1 image at the same
//! quality, left out when every pixel is opaque. The colour of fully
//! transparent pixels is cleaned (it is invisible). The file is tagged sRGB
//! in the AV1 stream's colour description (BT.709 primaries, sRGB transfer,
//! BT.601 matrix, full range). The container has no `colr` box: ravif
//! leaves it out when its values are those a reader assumes without one
//! (a reviewer's check: libavif through Pillow reads the colours right).

use image::RgbaImage;

/// rav1e's speed, 1 (slowest, smallest) to 10 (fastest). Measured
/// (BENCHMARKS.md) on a 1200x630 card at quality 70: speed 4 took 4.0 s,
/// 6 took 2.8 s for 4% more bytes, 8 took 1.3 s for 8% more bytes (2
/// loaded cores). 6 is the middle ground; AVIF stays 100x slower than
/// lossy WebP.
pub(crate) const SPEED: u8 = 6;

/// AVIF at `quality` (1..=100, ravif's scale, which follows JPEG's).
pub(crate) fn encode(img: &RgbaImage, quality: u8) -> Result<Vec<u8>, String> {
    encode_at_speed(img, quality, SPEED)
}

/// [`encode`] at a chosen rav1e speed (1..=10), for the benchmark.
pub(crate) fn encode_at_speed(img: &RgbaImage, quality: u8, speed: u8) -> Result<Vec<u8>, String> {
    job(img, quality, speed)?()
}

/// An encode of `img`, ready to run on any thread (`super::stoppable`):
/// its pixels copied into the encoder's form, which [`encode`] makes too.
pub(crate) fn job(
    img: &RgbaImage,
    quality: u8,
    speed: u8,
) -> Result<impl FnOnce() -> Result<Vec<u8>, String> + Send + 'static, String> {
    let (w, h) = img.dimensions();
    if w == 0 || h == 0 {
        return Err(format!("{w}x{h} has no pixels"));
    }
    let pixels: Vec<ravif::RGBA8> = img
        .as_raw()
        .chunks_exact(4)
        .map(|p| ravif::RGBA8::new(p[0], p[1], p[2], p[3]))
        .collect();
    let q = f32::from(quality.clamp(1, 100));
    // Threads of its own (rav1e builds a pool for the encode, one a core),
    // not rayon's global pool: in it an encode's tasks queued ahead of every
    // render's, so while an AVIF encode ran (or one given up on at its
    // deadline ran on) renders waited behind it: a batch's rows under
    // `--timeout 0.05` ended 500-870 ms late. Threads of their own share
    // the cores with the renders' by the scheduler's turns.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    Ok(move || {
        ravif::Encoder::new()
            .with_num_threads(Some(threads))
            .with_quality(q)
            .with_alpha_quality(q)
            .with_speed(speed.clamp(1, 10))
            .with_alpha_color_mode(ravif::AlphaColorMode::UnassociatedClean)
            .encode_rgba(ravif::Img::new(&pixels[..], w as usize, h as usize))
            .map(|e| e.avif_file)
            .map_err(|e| e.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_avif_file_is_written_with_alpha_when_there_is_some() {
        let img = RgbaImage::from_fn(24, 16, |x, y| {
            image::Rgba([
                (x * 10) as u8,
                (y * 15) as u8,
                128,
                if x < 4 { 0 } else { 255 },
            ])
        });
        let bytes = encode(&img, 70).unwrap();
        // An ISO-BMFF file whose brand is AVIF.
        assert_eq!(&bytes[4..12], b"ftypavif");
        let opaque = RgbaImage::from_pixel(24, 16, image::Rgba([200, 30, 30, 255]));
        let without_alpha = encode(&opaque, 70).unwrap();
        // Two AV1 items (colour and alpha) against one.
        let count = |b: &[u8]| b.windows(4).filter(|w| w == b"av01").count();
        assert!(count(&bytes) > count(&without_alpha), "alpha item written");
    }
}
