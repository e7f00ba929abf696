//! Animated images in: GIF, APNG and animated WebP decoded to full-canvas
//! frames, composited as browsers show them, with their delays and loop
//! count.
//!
//! Every frame is the whole canvas in straight-alpha 8-bit sRGB RGBA, the
//! previous frames' disposal and blending already applied: frame `i` is
//! what a browser shows during its delay. The canvas starts transparent
//! (browsers ignore GIF and WebP background colours, and so does this).
//!
//! Bombs are refused from the headers, before any frame is decoded: the
//! canvas and each frame's rectangle against [`Limits::max_image_pixels`],
//! the frame count against [`Limits::max_animation_frames`], and frames x
//! canvas against [`Limits::max_animation_pixels`]. APNG and WebP give the
//! frame count in their headers; a GIF's frames are counted by walking its
//! blocks without decompressing any.

use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;

use image::{ImageDecoder, RgbaImage};

use super::{gif, icc, DecodeError};
use crate::limits::Limits;

/// How long a frame shows: `num / den` seconds (`den > 0`). GIF delays are
/// hundredths (`n / 100`), WebP's thousandths, APNG's any fraction; the
/// fraction is kept as the file gives it, so a GIF's delays are written
/// back exactly. Equality compares the values (`10/100 == 100/1000`).
#[derive(Debug, Clone, Copy, Eq)]
pub struct Delay {
    /// Numerator, in seconds.
    pub num: u32,
    /// Denominator (never 0).
    pub den: u32,
}

impl PartialEq for Delay {
    fn eq(&self, other: &Delay) -> bool {
        self.num as u64 * other.den as u64 == other.num as u64 * self.den as u64
    }
}

impl Delay {
    /// `cs` hundredths of a second (GIF's unit).
    pub fn from_centis(cs: u32) -> Delay {
        Delay { num: cs, den: 100 }
    }

    /// `ms` thousandths of a second (WebP's unit).
    pub fn from_millis(ms: u32) -> Delay {
        Delay { num: ms, den: 1000 }
    }

    /// `num / den` seconds, reduced; a zero denominator is taken as 100
    /// (as APNG says).
    pub fn new(num: u64, den: u64) -> Delay {
        let den = if den == 0 { 100 } else { den };
        let g = gcd(num, den).max(1);
        let (mut num, mut den) = (num / g, den / g);
        while den > u32::MAX as u64 || num > u32::MAX as u64 {
            num /= 2;
            den = (den / 2).max(1);
        }
        Delay {
            num: num as u32,
            den: den as u32,
        }
    }

    /// In hundredths of a second, rounded to nearest (for GIF output); a
    /// delay that is not zero is at least 1 (rounded to 0 it would play
    /// as browsers play 0, a tenth of a second).
    pub fn centis(self) -> u64 {
        self.in_units(100)
    }

    /// In thousandths of a second, rounded to nearest (for WebP output); a
    /// delay that is not zero is at least 1.
    pub fn millis(self) -> u64 {
        self.in_units(1000)
    }

    fn in_units(self, per_second: u64) -> u64 {
        let rounded = (self.num as u64 * per_second + self.den as u64 / 2) / self.den as u64;
        if self.num > 0 {
            rounded.max(1)
        } else {
            rounded
        }
    }
}

/// `delays` in whole units of `1 / per_second` seconds (GIF: 100, WebP:
/// 1000), rounded so that each frame's end stays within half a unit of its
/// exact time: the running time is rounded, not each delay on its own, so
/// an animation keeps its length (frames of 105 ms in hundredths are 11, 10,
/// 11, 10, ..., where rounding each made them all 11, 5% slow, and two
/// merged sources drifted apart). Browsers show a frame of 10 ms or less
/// for 100 ms, so a frame longer than that is never given 10 ms or less
/// (the time taken is given back by the frames after it, where they
/// allow); one of 10 ms or less keeps its own rounding (at least 1 unless
/// 0), shown as the source was.
pub(crate) fn running_units(delays: &[Delay], per_second: u64) -> Vec<u64> {
    // The least a frame longer than browsers' 10 ms threshold may have.
    let least = per_second / 100 + 1;
    let mut clock = RunningTime::default();
    let mut given: u64 = 0;
    delays
        .iter()
        .map(|&d| {
            let end = clock.add(d, per_second);
            let units = if u64::from(d.num) * 100 <= u64::from(d.den) {
                d.in_units(per_second)
            } else {
                end.saturating_sub(given).max(least)
            };
            given += units;
            units
        })
        .collect()
}

/// A running sum of delays: exact as a fraction of seconds while its
/// denominator fits 64 bits (every format's own units, and the merged
/// timelines, keep it small), in `f64` past that.
#[derive(Default)]
struct RunningTime {
    /// `num / den` seconds; `den == 0` until the first delay.
    num: u128,
    den: u128,
    float: Option<f64>,
}

impl RunningTime {
    /// Adds `d`; the sum in units of `1 / per_second` s, rounded.
    fn add(&mut self, d: Delay, per_second: u64) -> u64 {
        let (dn, dd) = (u128::from(d.num), u128::from(d.den.max(1)));
        if self.float.is_none() {
            let den = self.den.max(1);
            let lcm = den / gcd_u128(den, dd) * dd;
            if lcm <= u128::from(u64::MAX) {
                let num = self.num * (lcm / den) + dn * (lcm / dd);
                let g = gcd_u128(num, lcm).max(1);
                (self.num, self.den) = (num / g, lcm / g);
                let p = u128::from(per_second);
                return ((self.num * p + self.den / 2) / self.den) as u64;
            }
            self.float = Some(self.num as f64 / den as f64);
        }
        let t = self.float.unwrap_or(0.0) + dn as f64 / dd as f64;
        self.float = Some(t);
        (t * per_second as f64).round() as u64
    }
}

fn gcd_u128(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

pub(crate) fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// How many times an animation plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loop {
    /// Forever (GIF's NETSCAPE loop count 0, APNG `num_plays` 0, WebP loop
    /// count 0).
    Forever,
    /// This many times in all, at least 1 (`Times(0)` is written as
    /// `Times(1)`: an animation plays once at least). A GIF without a NETSCAPE block
    /// plays once; a NETSCAPE loop count `n > 0` means `n` repeats after
    /// the first play (as Chrome and Firefox play it), so `Times(n + 1)`.
    /// APNG's `num_plays` and WebP's loop count are the plays themselves.
    Times(u32),
}

/// One frame: the whole canvas as shown, and how long it shows.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Straight-alpha sRGB RGBA, the canvas size.
    pub image: Arc<RgbaImage>,
    /// How long the frame shows.
    pub delay: Delay,
}

/// A decoded animation (a still image is one frame that plays once).
#[derive(Debug, Clone)]
pub struct Animation {
    /// Canvas width.
    pub width: u32,
    /// Canvas height.
    pub height: u32,
    /// The frames, in order (at least one).
    pub frames: Vec<Frame>,
    /// How many times it plays.
    pub loop_count: Loop,
    /// What the decode has to say (a colour profile ignored, the file cut
    /// short): [`decode_animation`] logs them, a render warns of them.
    pub(crate) notes: super::Notes,
}

/// What an image file's headers say about its animation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnimationInfo {
    /// Canvas width and height.
    pub size: (u32, u32),
    /// How many frames (1 for a still image).
    pub frames: u32,
}

impl AnimationInfo {
    /// Whether there is more than one frame.
    pub fn is_animated(&self) -> bool {
        self.frames > 1
    }
}

/// Reads an image file's animation headers and checks them against
/// `limits` (see the module's rules), decoding no pixels.
pub fn probe_animation(bytes: &[u8], limits: &Limits) -> Result<AnimationInfo, DecodeError> {
    let info = read_info(bytes, limits)?;
    check_limits(&info, limits)?;
    Ok(info)
}

/// [`probe_animation`] for a decode of one frame ([`decode_frame_halting`]):
/// only the canvas is held to the limits, since one frame is kept whatever
/// the count (the frames before it are decoded, bounded by the file's size
/// and asked to stop between frames, but not kept). The count is the
/// file's.
pub(crate) fn probe_for_one_frame(
    bytes: &[u8],
    limits: &Limits,
) -> Result<AnimationInfo, DecodeError> {
    let info = read_info(bytes, limits)?;
    check_limits(&AnimationInfo { frames: 1, ..info }, limits)?;
    Ok(info)
}

/// An animation's canvas and frame count from its headers, unchecked.
fn read_info(bytes: &[u8], limits: &Limits) -> Result<AnimationInfo, DecodeError> {
    let info = match image::guess_format(bytes).map_err(|_| super::not_an_image(bytes))? {
        image::ImageFormat::Gif => gif::scan(bytes, limits.max_image_pixels)?,
        image::ImageFormat::Png => png_info(bytes)?,
        image::ImageFormat::WebP => {
            super::webp::check_chunks(bytes)?;
            let d = image_webp::WebPDecoder::new(Cursor::new(bytes))
                .map_err(|e| DecodeError(format!("not a valid WEBP file: {e}")))?;
            AnimationInfo {
                size: d.dimensions(),
                frames: d.num_frames().max(1),
            }
        }
        _ => AnimationInfo {
            size: (0, 0),
            frames: 1,
        },
    };
    Ok(info)
}

fn check_limits(info: &AnimationInfo, limits: &Limits) -> Result<(), DecodeError> {
    let (w, h) = info.size;
    let canvas = w as u64 * h as u64;
    if canvas > limits.max_image_pixels {
        return Err(DecodeError(format!(
            "decoded image would be {w}x{h} = {canvas} pixels, over the limit of {} pixels (max_image_pixels)",
            limits.max_image_pixels
        )));
    }
    if info.frames > limits.max_animation_frames {
        return Err(DecodeError(format!(
            "animation has {} frames, over the limit of {} frames (max_animation_frames)",
            info.frames, limits.max_animation_frames
        )));
    }
    let total = canvas.saturating_mul(info.frames as u64);
    if total > limits.max_animation_pixels {
        return Err(DecodeError(format!(
            "animation would decode to {} frames of {w}x{h} = {total} pixels, over the limit of {} pixels (max_animation_pixels)",
            info.frames, limits.max_animation_pixels
        )));
    }
    Ok(())
}

/// A PNG's size from `IHDR` and its frame count from `acTL` (1 without
/// one), read from the chunks before the image data.
fn png_info(bytes: &[u8]) -> Result<AnimationInfo, DecodeError> {
    let bad = || DecodeError("not a valid PNG file: truncated header".into());
    let mut pos = 8;
    let mut size = None;
    let mut frames = 1;
    while pos + 8 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[pos..pos + 4].try_into().map_err(|_| bad())?) as usize;
        let kind = &bytes[pos + 4..pos + 8];
        let data = bytes.get(pos + 8..pos + 8 + len).ok_or_else(bad)?;
        match kind {
            b"IHDR" if len >= 8 => {
                let w = u32::from_be_bytes(data[0..4].try_into().map_err(|_| bad())?);
                let h = u32::from_be_bytes(data[4..8].try_into().map_err(|_| bad())?);
                size = Some((w, h));
            }
            b"acTL" if len >= 8 => {
                frames = u32::from_be_bytes(data[0..4].try_into().map_err(|_| bad())?).max(1);
            }
            b"IDAT" | b"IEND" => break,
            _ => {}
        }
        pos += 12 + len;
    }
    Ok(AnimationInfo {
        size: size.ok_or_else(bad)?,
        frames,
    })
}

/// Reads and decodes an image file to its frames (see [`decode_animation`]).
pub fn decode_animation_file(
    path: impl AsRef<Path>,
    limits: &Limits,
) -> Result<Animation, DecodeError> {
    let (_, bytes) = super::read_image_file(path.as_ref(), limits.max_image_file_bytes)?;
    decode_animation(&bytes, limits, None)
}

/// Decodes an image held in memory to its frames, after checking its
/// headers against `limits`; with `until`, stops after frame `until`
/// (the frames before it are needed to composite it). A still image (JPEG,
/// a PNG without `acTL`, a still WebP) is one frame that plays once, EXIF
/// orientation applied. Frames get the file's ICC profile, as stills do.
///
/// A colour profile that cannot be applied, and a file cut short (the
/// whole frames before the cut are given), are logged (`log::warn!`); a
/// render reports them as [`crate::Warning`]s instead.
pub fn decode_animation(
    bytes: &[u8],
    limits: &Limits,
    until: Option<usize>,
) -> Result<Animation, DecodeError> {
    let anim = decode_animation_halting(bytes, limits, until, &|| false)?;
    anim.notes.log();
    Ok(anim)
}

/// Asked between frames (and between a GIF frame's chunks of rows) of an
/// animation's decode: `true` ends it with [`HALTED`], so that a render's
/// deadline or cancel stops a decode of many frames.
pub(crate) type Halt<'a> = &'a dyn Fn() -> bool;

/// The error of a decode that [`Halt`] ended: the caller says why.
pub(crate) const HALTED: &str = "decode stopped";

/// [`decode_animation`], asking `halt` between frames; its notes are the
/// caller's to report.
pub(crate) fn decode_animation_halting(
    bytes: &[u8],
    limits: &Limits,
    until: Option<usize>,
    halt: Halt<'_>,
) -> Result<Animation, DecodeError> {
    let info = probe_animation(bytes, limits)?;
    let stop = until.map_or(usize::MAX, |u| u + 1);
    decode_frames(bytes, &info, limits, 0..stop, halt)
}

/// Frame `frame` of an animation: [`decode_animation_halting`] until it,
/// whose frames before it hold no pixels (0x0 images): they are decoded to
/// composite it, and dropped. Holding every frame up to it, a pick of frame
/// 1,200 of a 1000x1000 GIF would have held 4.8 GB; the frame-count limits
/// therefore applied to picks, which now hold one frame.
pub(crate) fn decode_frame_halting(
    bytes: &[u8],
    limits: &Limits,
    frame: usize,
    halt: Halt<'_>,
) -> Result<Animation, DecodeError> {
    let info = probe_for_one_frame(bytes, limits)?;
    decode_frames(bytes, &info, limits, frame..frame.saturating_add(1), halt)
}

/// The frames before `wanted.end`, those before `wanted.start` without
/// their pixels (0x0).
fn decode_frames(
    bytes: &[u8],
    info: &AnimationInfo,
    limits: &Limits,
    wanted: std::ops::Range<usize>,
    halt: Halt<'_>,
) -> Result<Animation, DecodeError> {
    let format = image::guess_format(bytes).map_err(|_| super::not_an_image(bytes))?;
    let anim = match format {
        image::ImageFormat::Gif => gif::decode(bytes, limits.max_image_pixels, wanted, halt)?,
        image::ImageFormat::Png if info.frames > 1 => decode_apng(bytes, limits, wanted, halt)?,
        image::ImageFormat::WebP if info.frames > 1 => decode_webp(bytes, limits, wanted, halt)?,
        _ => {
            let (image, notes) = super::decode_bytes_noting(bytes, limits.max_image_pixels)?;
            Animation {
                width: image.width(),
                height: image.height(),
                frames: vec![Frame {
                    image: Arc::new(image),
                    delay: Delay::from_centis(0),
                }],
                loop_count: Loop::Times(1),
                notes,
            }
        }
    };
    if anim.frames.is_empty() {
        return Err(DecodeError("animation has no frames".into()));
    }
    Ok(anim)
}

fn image_limits(limits: &Limits) -> image::Limits {
    let mut l = image::Limits::default();
    l.max_alloc = Some(limits.max_image_pixels.saturating_mul(16).max(64 << 20));
    l
}

/// The first frame of the animation of an APNG whose default image is not
/// part of it ([`super::apng::default_image_hidden`]), colour managed as
/// the still decode is, with why its profile was ignored if it was.
pub(super) fn apng_first_frame(
    bytes: &[u8],
    max_pixels: u64,
) -> Result<(RgbaImage, Option<String>), DecodeError> {
    let limits = Limits {
        max_image_pixels: max_pixels,
        ..Limits::default()
    };
    let anim = decode_apng(bytes, &limits, 0..1, &|| false)?;
    let note = anim.notes.colour.as_deref().map(str::to_owned);
    let first = anim.frames.into_iter().next().ok_or_else(|| {
        DecodeError("truncated or corrupt PNG file: its animation has no frame".into())
    })?;
    Ok((Arc::unwrap_or_clone(first.image), note))
}

fn decode_apng(
    bytes: &[u8],
    limits: &Limits,
    wanted: std::ops::Range<usize>,
    halt: Halt<'_>,
) -> Result<Animation, DecodeError> {
    // A profile that is a decompression bomb: decoded without it, as a
    // still PNG is (`png_iccp`).
    let trimmed = super::png_large::without_large_text(bytes)?;
    let bytes = trimmed.as_deref().unwrap_or(bytes);
    let stripped = super::png_iccp::without_oversized_iccp(bytes);
    let (bytes, bomb) = match &stripped {
        Some((png, why)) => (png.as_slice(), Some(why.clone())),
        None => (bytes, None),
    };
    let mut decoder =
        image::codecs::png::PngDecoder::with_limits(Cursor::new(bytes), image_limits(limits))
            .map_err(|e| DecodeError(format!("not a valid PNG file: {}", super::readable(e))))?;
    let (width, height) = decoder.dimensions();
    // cICP, iCCP, sRGB, gAMA/cHRM, as for a still PNG.
    let colour = super::png_colour::colour(bytes, decoder.icc_profile().ok().flatten());
    let source = if colour.made || decoder.color_type().has_color() {
        icc::Source::Rgb
    } else {
        icc::Source::Grey
    };
    let profile = colour.profile;
    let max_alloc = limits.max_image_pixels.saturating_mul(16).max(64 << 20);
    let (composited, plays) = super::apng::frames(bytes, max_alloc as usize, wanted, halt)?;
    let loop_count = match plays {
        0 => Loop::Forever,
        n => Loop::Times(n),
    };
    let mut frames = Vec::new();
    let mut note = super::join_notes(bomb, colour.ignored);
    let mut noted = false;
    for (mut image, (n, d)) in composited {
        // Frames without pixels (before those wanted) need no profile.
        if !image.is_empty() {
            let why = icc::to_srgb(&mut image, profile.as_deref(), source);
            if !noted {
                note = super::join_notes(note, why);
                noted = true;
            }
        }
        frames.push(Frame {
            image: Arc::new(image),
            delay: Delay::new(n, d),
        });
    }
    Ok(Animation {
        width,
        height,
        frames,
        loop_count,
        notes: super::Notes::colour(note),
    })
}

fn decode_webp(
    bytes: &[u8],
    limits: &Limits,
    wanted: std::ops::Range<usize>,
    halt: Halt<'_>,
) -> Result<Animation, DecodeError> {
    // The header: canvas, profile, loop count (the frames are `webp_anim`'s).
    super::webp::check_chunks(bytes)?;
    let mut d = image_webp::WebPDecoder::new(Cursor::new(bytes))
        .map_err(|e| DecodeError(format!("not a valid WEBP file: {e}")))?;
    let (width, height) = d.dimensions();
    let profile = d.icc_profile().ok().flatten();
    let loop_count = match d.loop_count() {
        image_webp::LoopCount::Forever => Loop::Forever,
        image_webp::LoopCount::Times(n) => Loop::Times(n.get().into()),
    };
    let max_alloc = limits.max_image_pixels.saturating_mul(16).max(64 << 20) as usize;
    // Composited here, as libwebp does (`webp_anim`), not by image-webp.
    let first = wanted.start;
    let frames = super::webp_anim::frames(bytes, (width, height), max_alloc, wanted, halt)?;
    let mut note = None;
    let frames = frames
        .into_iter()
        .enumerate()
        .map(|(k, (raw, ms))| {
            if k < first {
                // Decoded to composite those after it, and dropped.
                return Ok(Frame {
                    image: Arc::new(RgbaImage::new(0, 0)),
                    delay: Delay::from_millis(ms),
                });
            }
            let mut image = RgbaImage::from_raw(width, height, raw)
                .ok_or_else(|| DecodeError("WEBP frame has the wrong size".into()))?;
            let why = icc::to_srgb(&mut image, profile.as_deref(), icc::Source::Rgb);
            if k == first {
                note = why;
            }
            Ok(Frame {
                image: Arc::new(image),
                delay: Delay::from_millis(ms),
            })
        })
        .collect::<Result<Vec<_>, DecodeError>>()?;
    Ok(Animation {
        width,
        height,
        frames,
        loop_count,
        notes: super::Notes::colour(note),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_compare_by_value_and_round_to_each_unit() {
        assert_eq!(Delay::from_centis(10), Delay::from_millis(100));
        assert_ne!(Delay::from_centis(10), Delay::from_millis(101));
        assert_eq!(Delay::new(1, 30).millis(), 33);
        assert_eq!(Delay::new(1, 30).centis(), 3);
        // Not zero, so not rounded to zero (which plays as 100 ms).
        assert_eq!(Delay::new(1, 1000).centis(), 1);
        assert_eq!(Delay::new(7, 65535).millis(), 1);
        assert_eq!(Delay::from_millis(0).centis(), 0);
        assert_eq!(Delay::new(7, 0), Delay::from_centis(7));
    }

    #[test]
    fn running_time_is_rounded_so_the_length_is_kept_and_no_long_frame_flashes() {
        let ms = |v: &[u32]| v.iter().map(|&m| Delay::from_millis(m)).collect::<Vec<_>>();
        // 105 ms frames in hundredths: 11, 10, 11, 10 (42 cs, as 420 ms);
        // each rounded alone they were 11 each (44).
        assert_eq!(running_units(&ms(&[105; 4]), 100), [11, 10, 11, 10]);
        // A merged timeline's slices keep its length: 1050 ms, 105 cs.
        let merged = ms(&[
            100, 5, 95, 10, 90, 15, 85, 20, 80, 25, 75, 30, 70, 35, 65, 40, 60, 45, 55, 50,
        ]);
        let cs = running_units(&merged, 100);
        assert_eq!(cs.iter().sum::<u64>(), 105);
        // ... but a frame over 10 ms is never 10 ms or less (shown for
        // 100 ms by browsers): 15 ms frames are 2 cs, not 1 or 2 in turn.
        assert_eq!(running_units(&ms(&[15; 4]), 100), [2, 2, 2, 2]);
        assert_eq!(running_units(&ms(&[11; 3]), 1000), [11, 11, 11]);
        // What is 10 ms or less keeps its own rounding (browsers stretch
        // the source's frame as they will the output's): 0 stays 0.
        assert_eq!(running_units(&ms(&[0, 5, 10]), 100), [0, 1, 1]);
        // A third of a second: 333, 334, 333 ms (1000 in all).
        assert_eq!(running_units(&[Delay::new(1, 3); 3], 1000), [333, 334, 333]);
        // Denominators past 64 bits together: in f64, still within a unit.
        let odd = [
            Delay::new(1, 4_294_967_291),
            Delay::new(1, 4_294_967_279),
            Delay::new(1, 3),
        ];
        let got = running_units(&odd, 1000);
        assert_eq!(got.iter().sum::<u64>(), 333);
    }

    #[test]
    fn apng_frame_count_comes_from_actl() {
        let mut png = Vec::new();
        png.extend_from_slice(b"\x89PNG\r\n\x1a\n");
        let mut chunk = |kind: &[u8], data: &[u8]| {
            png.extend_from_slice(&(data.len() as u32).to_be_bytes());
            png.extend_from_slice(kind);
            png.extend_from_slice(data);
            png.extend_from_slice(&[0; 4]);
        };
        chunk(b"IHDR", &[0, 0, 1, 0, 0, 0, 2, 0, 8, 6, 0, 0, 0]);
        chunk(b"acTL", &[0, 1, 0, 0, 0, 0, 0, 0]);
        chunk(b"IDAT", &[]);
        let info = png_info(&png).unwrap();
        assert_eq!((info.size, info.frames), ((256, 512), 65536));
        let e = probe_animation(&png, &Limits::default()).unwrap_err();
        assert!(e.0.contains("max_animation_frames"), "{e}");
    }
}
