//! Animated images out: GIF, APNG and animated WebP, each frame the whole
//! canvas, with its delay and the animation's loop count.
//!
//! - GIF ([`super::gif`]): one shared palette, exact or NeuQuant with
//!   Floyd-Steinberg dithering (a pixel unchanged from the frame before
//!   keeps its index); without transparency, each frame after the first
//!   written as the rectangle that changed; delays in hundredths of a
//!   second (the running time rounded, so the length is kept; a frame over
//!   10 ms never 1 cs or less, which browsers show for 100 ms); one-bit
//!   transparency.
//! - APNG (the `png` crate): RGBA8, exact pixels, every frame replacing the
//!   canvas (`APNG_BLEND_OP_SOURCE`); delays as the fraction they are, or
//!   in the finest unit (1/1000 s to 1 s) whose count fits 16 bits.
//! - WebP (libwebp's `WebPAnimEncoder`, through the `webp` crate): lossy at
//!   a quality or lossless; delays in milliseconds (the running time
//!   rounded, as for GIF). libwebp may
//!   merge a frame identical to the one before into it (its delay added):
//!   what is shown, and when, is the same.

use image::RgbaImage;

use super::anim::{Delay, Loop};
use crate::error::Error;

/// The format of an animated output file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AnimationFormat {
    /// `.gif`: 256 colours, one-bit alpha.
    Gif,
    /// `.png`: APNG, RGBA8, exact.
    Png,
    /// `.webp`, lossy at `quality` (1..=100), alpha kept.
    WebP {
        /// libwebp's quality.
        quality: u8,
    },
    /// `.webp`, lossless.
    WebPLossless,
}

impl AnimationFormat {
    /// The format for a path's extension: `.gif`, `.png`, `.webp` (lossy at
    /// `quality`, or lossless with `lossless`); anything else is refused.
    pub fn from_path(
        path: &std::path::Path,
        quality: u8,
        lossless: bool,
    ) -> Result<AnimationFormat, Error> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("gif") => Ok(AnimationFormat::Gif),
            Some("png") | Some("apng") => Ok(AnimationFormat::Png),
            Some("webp") if lossless => Ok(AnimationFormat::WebPLossless),
            Some("webp") => Ok(AnimationFormat::WebP { quality }),
            _ => Err(Error::Output(format!(
                "{}: an animation is written as .gif, .png (APNG) or .webp",
                crate::scene::shown_path(path)
            ))),
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            AnimationFormat::Gif => "gif",
            AnimationFormat::Png => "apng",
            AnimationFormat::WebP { .. } | AnimationFormat::WebPLossless => "webp",
        }
    }
}

/// Encodes `frames` (straight-alpha RGBA, all one size, at least one) with
/// their `delays` and `loop_count` in `format`.
pub fn encode_animation(
    frames: &[&RgbaImage],
    delays: &[Delay],
    loop_count: Loop,
    format: AnimationFormat,
) -> Result<Vec<u8>, Error> {
    let err = |message: String| Error::Encode {
        format: format.name(),
        message,
    };
    let Some(first) = frames.first() else {
        return Err(err("an animation needs at least one frame".into()));
    };
    if delays.len() != frames.len() || frames.iter().any(|f| f.dimensions() != first.dimensions()) {
        return Err(err("every frame needs a delay and the same size".into()));
    }
    match format {
        AnimationFormat::Gif => super::gif::encode(frames, delays, loop_count).map_err(err),
        AnimationFormat::Png => {
            encode_apng(frames, delays, loop_count).map_err(|e| err(e.to_string()))
        }
        AnimationFormat::WebP { quality } => {
            encode_webp(frames, delays, loop_count, Some(quality)).map_err(err)
        }
        AnimationFormat::WebPLossless => encode_webp(frames, delays, loop_count, None).map_err(err),
    }
}

/// A delay as APNG's 16-bit fraction of a second: exact when it fits,
/// otherwise the nearest thousandths, hundredths, tenths or whole seconds,
/// the finest whose count fits 16 bits (a delay that is not zero stays at
/// least one unit; past 65,535 s, 65,535 s).
fn apng_delay(d: Delay) -> (u16, u16) {
    let r = Delay::new(d.num as u64, d.den as u64);
    if let (Ok(n), Ok(m)) = (u16::try_from(r.num), u16::try_from(r.den)) {
        return (n, m);
    }
    let (num, den) = (u64::from(d.num), u64::from(d.den));
    for unit in [1000u64, 100, 10, 1] {
        let n = (num * unit + den / 2) / den;
        if let Ok(n) = u16::try_from(n) {
            return (n.max(u16::from(num > 0)), unit as u16);
        }
    }
    (u16::MAX, 1)
}

fn encode_apng(
    frames: &[&RgbaImage],
    delays: &[Delay],
    loop_count: Loop,
) -> Result<Vec<u8>, png::EncodingError> {
    let (w, h) = frames[0].dimensions();
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    super::output::tag_png_srgb(&mut enc);
    enc.set_compression(png::Compression::Fast);
    let plays = match loop_count {
        Loop::Forever => 0,
        Loop::Times(n) => n.max(1),
    };
    enc.set_animated(frames.len() as u32, plays)?;
    let mut writer = enc.write_header()?;
    for (img, &delay) in frames.iter().zip(delays) {
        let (n, d) = apng_delay(delay);
        writer.set_frame_delay(n, d)?;
        writer.set_dispose_op(png::DisposeOp::None)?;
        writer.set_blend_op(png::BlendOp::Source)?;
        writer.write_image_data(img.as_raw())?;
    }
    writer.finish()?;
    Ok(out)
}

fn encode_webp(
    frames: &[&RgbaImage],
    delays: &[Delay],
    loop_count: Loop,
    quality: Option<u8>,
) -> Result<Vec<u8>, String> {
    let (w, h) = frames[0].dimensions();
    if w > 16383 || h > 16383 {
        return Err(format!("{w}x{h} is larger than WebP's 16383x16383"));
    }
    let mut config =
        webp::WebPConfig::new().map_err(|()| "libwebp refused its default configuration")?;
    match quality {
        Some(q) => {
            config.lossless = 0;
            config.quality = f32::from(q.clamp(1, 100));
            config.alpha_compression = 1;
            // As for still lossy WebP (BENCHMARKS.md): effort 2.
            config.method = 2;
        }
        None => {
            config.lossless = 1;
            config.quality = 75.0;
            config.method = 2;
        }
    }
    let mut enc = webp::AnimEncoder::new(w, h, &config);
    enc.set_loop_count(match loop_count {
        Loop::Forever => 0,
        Loop::Times(n) => n.clamp(1, 65535) as i32,
    });
    let mut t: u64 = 0;
    let millis = super::anim::running_units(delays, 1000);
    for (img, &delay) in frames.iter().zip(&millis) {
        let ts = i32::try_from(t).map_err(|_| "animation longer than 24 days")?;
        enc.add_frame(webp::AnimFrame::from_rgba(img.as_raw(), w, h, ts));
        // A frame's duration is 24 bits of milliseconds: a longer delay is
        // cut to that (4.66 hours; libwebp refuses more).
        t += delay.min(WEBP_MAX_MILLIS);
    }
    let bytes = enc
        .try_encode()
        .map_err(|e| format!("libwebp: {e:?}"))?
        .to_vec();
    let mut bytes = set_last_duration(bytes, t)?;
    if frames.iter().any(|f| f.pixels().any(|p| p[3] < 255)) {
        set_alpha_flag(&mut bytes);
    }
    Ok(bytes)
}

/// Sets the alpha flag of an animated WebP's `VP8X` chunk. libwebp's
/// encoder stores the parts of frames that change, and the `webp` crate's
/// re-muxing sets the flag from those parts only: a square moving over a
/// transparent canvas is opaque parts, so the file said "no alpha" and
/// decoders that heed the flag (Pillow, browsers) drew the canvas black.
/// A still file (no `VP8X` first) is left as it is: its bitstream says.
fn set_alpha_flag(bytes: &mut [u8]) {
    const ALPHA: u8 = 0x10;
    if bytes.len() > 20 && &bytes[12..16] == b"VP8X" {
        bytes[20] |= ALPHA;
    }
}

/// The longest frame duration WebP holds, in milliseconds (24 bits).
const WEBP_MAX_MILLIS: u64 = 0xFF_FFFF;

/// The `webp` crate ends the animation at timestamp 0, so libwebp gives
/// the last frame the mean duration of the others: this sets it to what
/// is left of the `total` milliseconds, in the last `ANMF` chunk's
/// 24-bit duration field. A file without `ANMF` chunks is returned as it
/// is: libwebp writes a still image when one frame is left (one frame
/// given, or every frame identical to the one before and merged into it).
fn set_last_duration(mut bytes: Vec<u8>, total: u64) -> Result<Vec<u8>, String> {
    // Where each frame's duration is: 12 bytes into its `ANMF` data.
    let frames: Vec<usize> = super::webp::chunks(&bytes)
        .filter(|c| c.fourcc == b"ANMF" && c.data.len() >= 16)
        .map(|c| c.at + 8 + 12)
        .collect();
    let Some((&last, others)) = frames.split_last() else {
        return Ok(bytes);
    };
    let read =
        |b: &[u8], at: usize| b[at] as u64 | (b[at + 1] as u64) << 8 | (b[at + 2] as u64) << 16;
    let before: u64 = others.iter().map(|&at| read(&bytes, at)).sum();
    let left = total.saturating_sub(before).min(WEBP_MAX_MILLIS);
    bytes[last..last + 3].copy_from_slice(&left.to_le_bytes()[..3]);
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::anim::decode_animation;
    use crate::Limits;

    fn frames() -> Vec<RgbaImage> {
        (0..3)
            .map(|i| {
                RgbaImage::from_fn(8, 6, |x, y| {
                    let a = if x == 0 { 0 } else { 255 };
                    image::Rgba([(i * 80) as u8, (x * 30) as u8, (y * 40) as u8, a])
                })
            })
            .collect()
    }

    #[test]
    fn a_halt_ends_every_formats_decode_between_frames() {
        let frames = frames();
        let refs: Vec<&RgbaImage> = frames.iter().collect();
        let delays = [Delay::from_centis(10); 3];
        for format in [
            AnimationFormat::Gif,
            AnimationFormat::Png,
            AnimationFormat::WebPLossless,
        ] {
            let bytes = encode_animation(&refs, &delays, Loop::Forever, format).unwrap();
            let limits = Limits::default();
            // Halted at its k-th question: never past it.
            for k in 1..=2 {
                let asked = std::cell::Cell::new(0);
                let halt = || {
                    asked.set(asked.get() + 1);
                    asked.get() >= k
                };
                let e = crate::codec::decode_animation_halting(&bytes, &limits, None, &halt)
                    .unwrap_err();
                assert_eq!(e.0, crate::codec::anim::HALTED, "{format:?}");
                assert_eq!(asked.get(), k, "{format:?}: asked after it said stop");
            }
            let asked = std::cell::Cell::new(0);
            let all = crate::codec::decode_animation_halting(&bytes, &limits, None, &|| {
                asked.set(asked.get() + 1);
                false
            })
            .unwrap();
            assert_eq!(all.frames.len(), 3, "{format:?}");
            assert!(asked.get() >= 3, "{format:?}: asked {} times", asked.get());
        }
    }

    #[test]
    fn a_frame_picked_is_that_of_the_whole_decode_alone_holds_pixels_and_passes_the_frame_limit() {
        let frames = frames();
        let refs: Vec<&RgbaImage> = frames.iter().collect();
        let delays = [Delay::from_centis(10); 3];
        // Fewer frames allowed than the file has: a decode of them all is
        // refused; one frame is not.
        let limits = Limits {
            max_animation_frames: 1,
            ..Limits::default()
        };
        for format in [
            AnimationFormat::Gif,
            AnimationFormat::Png,
            AnimationFormat::WebPLossless,
        ] {
            let bytes = encode_animation(&refs, &delays, Loop::Forever, format).unwrap();
            let all = decode_animation(&bytes, &Limits::default(), None).unwrap();
            assert!(
                decode_animation(&bytes, &limits, None).is_err(),
                "{format:?}"
            );
            for pick in 0..3 {
                let one = crate::codec::decode_frame_halting(&bytes, &limits, pick, &|| false)
                    .unwrap_or_else(|e| panic!("{format:?} frame {pick}: {e}"));
                assert_eq!(one.frames.len(), pick + 1, "{format:?}");
                assert!(
                    one.frames[..pick].iter().all(|f| f.image.is_empty()),
                    "{format:?}: frames before {pick} kept"
                );
                assert!(
                    *one.frames[pick].image == *all.frames[pick].image,
                    "{format:?} frame {pick}"
                );
            }
        }
    }

    #[test]
    fn every_format_keeps_the_frames_delays_and_loop_count() {
        let frames = frames();
        let refs: Vec<&RgbaImage> = frames.iter().collect();
        let delays = [
            Delay::from_centis(10),
            Delay::from_centis(20),
            Delay::from_centis(70),
        ];
        for format in [
            AnimationFormat::Gif,
            AnimationFormat::Png,
            AnimationFormat::WebPLossless,
            AnimationFormat::WebP { quality: 90 },
        ] {
            let bytes = encode_animation(&refs, &delays, Loop::Times(3), format).unwrap();
            let back = decode_animation(&bytes, &Limits::default(), None).unwrap();
            assert_eq!(back.frames.len(), 3, "{format:?}");
            assert_eq!(back.loop_count, Loop::Times(3), "{format:?}");
            for (i, f) in back.frames.iter().enumerate() {
                assert_eq!(f.delay, delays[i], "{format:?} frame {i}");
                if !matches!(format, AnimationFormat::WebP { .. }) {
                    for (p, q) in f.image.pixels().zip(frames[i].pixels()) {
                        assert_eq!(p[3], q[3], "{format:?} frame {i}");
                        if q[3] > 0 {
                            assert_eq!(p, q, "{format:?} frame {i}");
                        }
                    }
                }
            }
        }
    }

    /// An opaque square moving over an opaque background of `colours`
    /// kinds: a smooth field of thousands of colours (dithered) or four.
    fn sticker_over(many: bool) -> Vec<RgbaImage> {
        (0..4)
            .map(|i| {
                RgbaImage::from_fn(64, 48, |x, y| {
                    if (6 + i * 10..14 + i * 10).contains(&x) && (20..28).contains(&y) {
                        image::Rgba([250, 30, 30, 255])
                    } else if many {
                        image::Rgba([(x * 4) as u8, (y * 5) as u8, ((x + y) * 2) as u8, 255])
                    } else {
                        image::Rgba([if x < 32 { 10 } else { 200 }, 90, 90, 255])
                    }
                })
            })
            .collect()
    }

    #[test]
    fn an_opaque_gif_keeps_still_areas_still_and_writes_only_what_changed() {
        for many in [true, false] {
            let frames = sticker_over(many);
            let refs: Vec<&RgbaImage> = frames.iter().collect();
            let delays = [Delay::from_centis(10); 4];
            let bytes =
                encode_animation(&refs, &delays, Loop::Forever, AnimationFormat::Gif).unwrap();
            let back = decode_animation(&bytes, &Limits::default(), None).unwrap();
            assert_eq!(back.frames.len(), 4);
            // Where no frame's square is (x >= 48 or y outside 20..28), every
            // frame shows the very same pixels (the dithering error of the
            // moving square spread into the field: up to 35 levels).
            for (i, f) in back.frames.iter().enumerate().skip(1) {
                for (x, y, p) in f.image.enumerate_pixels() {
                    if x >= 48 || !(20..28).contains(&y) {
                        assert_eq!(
                            p,
                            back.frames[0].image.get_pixel(x, y),
                            "many {many}, frame {i} at ({x}, {y})"
                        );
                    }
                    if !many {
                        assert_eq!(p, frames[i].get_pixel(x, y), "exact palette, frame {i}");
                    }
                }
            }
            // Frames after the first hold the changed rectangle only: the
            // whole file is well under four full frames.
            let full = encode_animation(
                &refs[..1],
                &delays[..1],
                Loop::Forever,
                AnimationFormat::Gif,
            )
            .unwrap();
            assert!(
                bytes.len() < full.len() * 2,
                "many {many}: {} against one frame's {}",
                bytes.len(),
                full.len()
            );
        }
    }

    #[test]
    fn apng_delays_are_exact_fractions_when_they_fit() {
        assert_eq!(apng_delay(Delay::new(1, 30)), (1, 30));
        assert_eq!(apng_delay(Delay::from_centis(7)), (7, 100));
        // Not zero, so not rounded to zero.
        assert_eq!(apng_delay(Delay::new(1, 100_003)), (1, 1000));
        // Past 65.535 s: the finest unit that fits (a reviewer's 700.001 s
        // and 16,777.215 s were both written as 655.35 s).
        assert_eq!(apng_delay(Delay::from_millis(700_001)), (7000, 10));
        assert_eq!(apng_delay(Delay::from_millis(16_777_215)), (16777, 1));
        assert_eq!(apng_delay(Delay::from_millis(100_000_000)), (65535, 1));
        assert_eq!(apng_delay(Delay::from_millis(65_535)), (13107, 200));
    }

    /// A rectangle moving over a transparent canvas: libwebp stores such
    /// frames as sub-rectangles disposed to the background.
    fn moving_rect() -> Vec<RgbaImage> {
        (0..5)
            .map(|i| {
                RgbaImage::from_fn(40, 30, |x, y| {
                    let inside = (4 + i * 6..12 + i * 6).contains(&x) && (3..11).contains(&y);
                    let a = if inside { 255 } else { 0 };
                    image::Rgba([if inside { 255 } else { 0 }, 40, 0, a])
                })
            })
            .collect()
    }

    #[test]
    fn animated_webp_frames_disposed_to_the_background_leave_no_trails() {
        let frames = moving_rect();
        let refs: Vec<&RgbaImage> = frames.iter().collect();
        let delays = [Delay::from_millis(100); 5];
        for format in [
            AnimationFormat::WebPLossless,
            AnimationFormat::WebP { quality: 90 },
        ] {
            let bytes = encode_animation(&refs, &delays, Loop::Forever, format).unwrap();
            let back = decode_animation(&bytes, &Limits::default(), None).unwrap();
            assert_eq!(back.frames.len(), 5, "{format:?}");
            for (i, (got, want)) in back.frames.iter().zip(&frames).enumerate() {
                for (x, y, p) in got.image.enumerate_pixels() {
                    assert_eq!(
                        p[3],
                        want.get_pixel(x, y)[3],
                        "{format:?} frame {i} at ({x}, {y}): {p:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn an_animated_webp_of_opaque_parts_on_a_transparent_canvas_says_it_has_alpha() {
        // A red square moving over a transparent canvas: libwebp stores the
        // squares only, opaque, and the file had no alpha flag, so Pillow
        // and browsers drew the canvas black.
        let frames: Vec<RgbaImage> = (0..3)
            .map(|i| {
                RgbaImage::from_fn(30, 10, |x, _| {
                    let inside = (i * 10..i * 10 + 10).contains(&x);
                    image::Rgba(if inside { [255, 0, 0, 255] } else { [0; 4] })
                })
            })
            .collect();
        let refs: Vec<&RgbaImage> = frames.iter().collect();
        let delays = [Delay::from_millis(100); 3];
        for format in [
            AnimationFormat::WebPLossless,
            AnimationFormat::WebP { quality: 90 },
        ] {
            let bytes = encode_animation(&refs, &delays, Loop::Forever, format).unwrap();
            assert_eq!(&bytes[12..16], b"VP8X", "{format:?}");
            assert_eq!(bytes[20] & 0x10, 0x10, "{format:?}: no alpha flag");
        }
        // Opaque frames keep no flag they do not need.
        let opaque: Vec<RgbaImage> = frames
            .iter()
            .map(|f| {
                RgbaImage::from_fn(30, 10, |x, y| {
                    image::Rgba([f.get_pixel(x, y)[0], 9, 9, 255])
                })
            })
            .collect();
        let refs: Vec<&RgbaImage> = opaque.iter().collect();
        let bytes =
            encode_animation(&refs, &delays, Loop::Forever, AnimationFormat::WebPLossless).unwrap();
        assert_eq!(
            bytes[20] & 0x10,
            0,
            "an opaque animation flagged as having alpha"
        );
    }

    #[test]
    fn one_frame_is_written_as_a_still_image_in_every_format() {
        let frames = frames();
        for format in [
            AnimationFormat::Gif,
            AnimationFormat::Png,
            AnimationFormat::WebPLossless,
            AnimationFormat::WebP { quality: 90 },
        ] {
            let bytes = encode_animation(
                &[&frames[0]],
                &[Delay::from_centis(10)],
                Loop::Forever,
                format,
            )
            .unwrap_or_else(|e| panic!("{format:?}: {e}"));
            let back = decode_animation(&bytes, &Limits::default(), None).unwrap();
            assert_eq!(back.frames.len(), 1, "{format:?}");
        }
    }

    #[test]
    fn identical_frames_merged_into_one_are_written_as_a_still_webp() {
        let frames = frames();
        let same = [&frames[0], &frames[0], &frames[0]];
        let delays = [Delay::from_centis(10); 3];
        for format in [
            AnimationFormat::WebPLossless,
            AnimationFormat::WebP { quality: 90 },
        ] {
            let bytes = encode_animation(&same, &delays, Loop::Forever, format)
                .unwrap_or_else(|e| panic!("{format:?}: {e}"));
            let back = decode_animation(&bytes, &Limits::default(), None).unwrap();
            assert_eq!(back.frames.len(), 1, "{format:?}");
        }
    }

    #[test]
    fn delays_past_what_a_format_holds_are_cut_to_its_longest() {
        let frames = frames();
        let refs: Vec<&RgbaImage> = frames[..2].iter().collect();
        let long = [Delay::new(20_000, 1), Delay::new(20_000, 1)];
        let webp = encode_animation(&refs, &long, Loop::Forever, AnimationFormat::WebPLossless)
            .expect("cut, not refused");
        let back = decode_animation(&webp, &Limits::default(), None).unwrap();
        for f in &back.frames {
            assert_eq!(f.delay, Delay::from_millis(0xFF_FFFF));
        }
        let gif = encode_animation(&refs, &long, Loop::Forever, AnimationFormat::Gif).unwrap();
        let back = decode_animation(&gif, &Limits::default(), None).unwrap();
        assert_eq!(back.frames[0].delay, Delay::from_centis(65535));
    }
}
