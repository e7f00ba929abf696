//! Colour management on decode: an image with an embedded ICC profile
//! (JPEG APP2, PNG iCCP, WebP ICCP) has its colours converted to sRGB, the
//! engine's one colour space, as it is decoded; an image without one is
//! taken to be sRGB already.
//!
//! * The conversion is `moxcms`'s (the crate `image` itself uses), with the
//!   relative colorimetric intent and no black-point compensation (moxcms
//!   has none; for the matrix/TRC profiles photos carry the two intents are
//!   the same). It works on the decoder's straight 8-bit RGBA, before
//!   premultiplication; alpha is never touched.
//! * A profile that is sRGB, or so close to it that converting would move
//!   no colour of a test grid by more than one level, is not applied: a
//!   photo tagged "sRGB IEC61966-2.1" costs nothing.
//! * Grey images with a grey profile are converted through a 256-entry
//!   table made once per profile.
//! * CMYK pixels (from CMYK and YCCK JPEGs, [`super::cmyk`]) with a CMYK
//!   profile are converted through its `A2B1` table (its `A2B0` when it has
//!   no `A2B1`, as the ICC specification says); without a usable one they
//!   get the naive conversion of [`cmyk_naive`].
//! * Transforms are cached, keyed by the profile's bytes, so a batch of
//!   photos from one camera builds its transform once.
//! * A profile that cannot be used (it does not parse, moxcms cannot build a
//!   transform from it, or its colour space does not match the pixels, as a
//!   CMYK profile on an RGB JPEG) is ignored, its reason returned (the
//!   callers log it or make it a render warning), and the pixels are taken
//!   as sRGB. This
//!   is what web browsers do, so a poster shows the photo as the web shows
//!   it, and one odd file does not stop a batch. Parsing is additionally
//!   guarded against a panic inside the parser.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use image::RgbaImage;
use moxcms::{
    ColorProfile, DataColorSpace, Layout, RenderingIntent, Transform8BitExecutor, TransformOptions,
};

/// What the decoded pixels were in the file, as far as a profile matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// RGB (with or without alpha): an RGB profile applies.
    Rgb,
    /// Grey (with or without alpha), expanded to R = G = B: a grey profile applies.
    Grey,
}

/// A profile made ready to apply.
enum Conversion {
    /// sRGB, or within one level of it on the test grid.
    Identity,
    /// An RGB profile.
    Rgb(Arc<Transform8BitExecutor>),
    /// A grey profile: grey level to sRGB.
    Grey(Arc<[[u8; 3]; 256]>),
    /// A CMYK profile: CMYK (4 bytes, ink amounts) to sRGB (3 bytes).
    Cmyk(Arc<Transform8BitExecutor>),
    /// Not usable; why.
    Unusable(String),
}

impl Clone for Conversion {
    fn clone(&self) -> Self {
        match self {
            Conversion::Identity => Conversion::Identity,
            Conversion::Rgb(t) => Conversion::Rgb(Arc::clone(t)),
            Conversion::Grey(t) => Conversion::Grey(Arc::clone(t)),
            Conversion::Cmyk(t) => Conversion::Cmyk(Arc::clone(t)),
            Conversion::Unusable(why) => Conversion::Unusable(why.clone()),
        }
    }
}

/// Profiles kept ready: a batch rarely sees more than a handful.
const CACHE_ENTRIES: usize = 8;

struct Entry {
    hash: u64,
    bytes: Arc<[u8]>,
    conversion: Conversion,
}

static CACHE: Mutex<Vec<Entry>> = Mutex::new(Vec::new());

pub(super) fn options() -> TransformOptions {
    TransformOptions {
        rendering_intent: RenderingIntent::RelativeColorimetric,
        ..TransformOptions::default()
    }
}

/// The conversion for profile `icc`, from the cache or made (and cached).
fn conversion(icc: &[u8]) -> Conversion {
    let mut h = DefaultHasher::new();
    icc.hash(&mut h);
    let hash = h.finish();
    // A poisoned lock only means another thread panicked mid-update of a
    // Vec of complete entries: the entries are still whole.
    {
        let cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = cache.iter().find(|e| e.hash == hash && *e.bytes == *icc) {
            return e.conversion.clone();
        }
    }
    let conversion = make(icc);
    let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    if !cache.iter().any(|e| e.hash == hash && *e.bytes == *icc) {
        if cache.len() == CACHE_ENTRIES {
            cache.remove(0);
        }
        cache.push(Entry {
            hash,
            bytes: icc.into(),
            conversion: conversion.clone(),
        });
    }
    conversion
}

fn make(icc: &[u8]) -> Conversion {
    // moxcms is careful with its input; this guard is for a bug in it, so
    // that a hostile profile is at worst ignored.
    match std::panic::catch_unwind(|| make_unguarded(icc)) {
        Ok(c) => c,
        Err(_) => Conversion::Unusable("the profile parser failed on it".into()),
    }
}

fn make_unguarded(icc: &[u8]) -> Conversion {
    let unusable = |what: &str, e: moxcms::CmsError| Conversion::Unusable(format!("{what}: {e}"));
    let profile = match ColorProfile::new_from_slice(icc) {
        Ok(p) => p,
        Err(e) => return unusable("not a valid ICC profile", e),
    };
    let srgb = ColorProfile::new_srgb();
    match profile.color_space {
        DataColorSpace::Rgb => {
            match profile.create_transform_8bit(Layout::Rgba, &srgb, Layout::Rgba, options()) {
                Ok(t) if is_identity_rgba(&*t) => Conversion::Identity,
                Ok(t) => Conversion::Rgb(t),
                Err(e) => unusable("no transform from this RGB profile to sRGB", e),
            }
        }
        DataColorSpace::Gray => {
            match profile.create_transform_8bit(Layout::Gray, &srgb, Layout::Rgb, options()) {
                Ok(t) => grey_table(&*t),
                Err(e) => unusable("no transform from this grey profile to sRGB", e),
            }
        }
        DataColorSpace::Cmyk => {
            let with_intent = |intent| {
                let options = TransformOptions {
                    rendering_intent: intent,
                    ..options()
                };
                profile.create_transform_8bit(Layout::Rgba, &srgb, Layout::Rgb, options)
            };
            // moxcms reads relative colorimetric from `A2B1` only; the ICC
            // specification says to use `A2B0` when there is no `A2B1`,
            // which is the perceptual intent's table.
            let transform = match with_intent(RenderingIntent::RelativeColorimetric) {
                Err(moxcms::CmsError::UnsupportedLutRenderingIntent(_)) => {
                    with_intent(RenderingIntent::Perceptual)
                }
                other => other,
            };
            match transform {
                Ok(t) => Conversion::Cmyk(t),
                Err(e) => unusable("no transform from this CMYK profile to sRGB", e),
            }
        }
        other => Conversion::Unusable(format!(
            "a {other:?} profile: only RGB, grey and CMYK profiles are converted"
        )),
    }
}

/// Every 16th level on each axis (and 255): 4913 opaque colours.
fn grid() -> Vec<u8> {
    let levels: Vec<u8> = (0..=16u32).map(|i| (i * 16).min(255) as u8).collect();
    let mut v = Vec::with_capacity(levels.len().pow(3) * 4);
    for &r in &levels {
        for &g in &levels {
            for &b in &levels {
                v.extend_from_slice(&[r, g, b, 255]);
            }
        }
    }
    v
}

fn is_identity_rgba(t: &Transform8BitExecutor) -> bool {
    let src = grid();
    let mut dst = vec![0u8; src.len()];
    t.transform(&src, &mut dst).is_ok() && src.iter().zip(&dst).all(|(a, b)| a.abs_diff(*b) <= 1)
}

fn grey_table(t: &Transform8BitExecutor) -> Conversion {
    let src: Vec<u8> = (0..=255).collect();
    let mut dst = vec![0u8; 256 * 3];
    if let Err(e) = t.transform(&src, &mut dst) {
        return Conversion::Unusable(format!("the grey transform failed: {e}"));
    }
    let mut table = [[0u8; 3]; 256];
    for (slot, rgb) in table.iter_mut().zip(dst.chunks_exact(3)) {
        *slot = [rgb[0], rgb[1], rgb[2]];
    }
    let identity = table
        .iter()
        .enumerate()
        .all(|(i, c)| c.iter().all(|&v| v.abs_diff(i as u8) <= 1));
    if identity {
        Conversion::Identity
    } else {
        Conversion::Grey(Arc::new(table))
    }
}

/// Whether [`to_srgb`] would convert pixels of kind `source` with profile
/// `icc` (not sRGB-like, usable, of their kind): `Some(true)` for a grey
/// profile, `Some(false)` for an RGB one. For [`super::icc16`], which runs
/// that conversion at 16 bits.
pub(super) fn applies(icc: &[u8], source: Source) -> Option<bool> {
    match (conversion(icc), source) {
        (Conversion::Rgb(_), Source::Rgb) => Some(false),
        (Conversion::Grey(_), Source::Grey) => Some(true),
        _ => None,
    }
}

/// Converts `img` (straight 8-bit RGBA, as decoded from pixels of kind
/// `source`) from its embedded profile `icc` to sRGB, in place; alpha is
/// left as it is. Without a profile, or with an unusable one, the pixels
/// are left as they are: sRGB. Returns why a profile was ignored (also
/// logged), `None` when there was none or it was applied.
pub(crate) fn to_srgb(img: &mut RgbaImage, icc: Option<&[u8]>, source: Source) -> Option<String> {
    let icc = icc?;
    if icc.is_empty() {
        // An ICC segment or chunk with no bytes in it: no profile to
        // apply, but the file meant one.
        return Some("the embedded profile is empty".into());
    }
    let why = match (conversion(icc), source) {
        (Conversion::Identity, _) => return None,
        (Conversion::Unusable(why), _) => why,
        (Conversion::Rgb(t), Source::Rgb) => return apply_rgb(img, &*t),
        (Conversion::Grey(table), Source::Grey) => return apply_grey(img, &table),
        (Conversion::Rgb(_) | Conversion::Grey(_) | Conversion::Cmyk(_), _) => {
            let kind = match source {
                Source::Rgb => "RGB",
                Source::Grey => "grey",
            };
            format!("it does not match the {kind} pixels")
        }
    };
    Some(why)
}

/// CMYK pixels (4 bytes each: cyan, magenta, yellow and black ink, 0 is
/// none) of a `width` x `height` image to opaque sRGB RGBA, through the
/// CMYK profile `icc`, or with [`cmyk_naive`] when there is none or it
/// cannot be used. Returns the image and why a profile was ignored (also
/// logged).
pub(crate) fn cmyk_to_srgb(
    cmyk: &[u8],
    width: u32,
    height: u32,
    icc: Option<&[u8]>,
) -> (RgbaImage, Option<String>) {
    let mut out = RgbaImage::new(width, height);
    let n = (width as usize * height as usize).min(cmyk.len() / 4);
    let (cmyk, rgba) = (&cmyk[..n * 4], &mut out.as_mut()[..n * 4]);
    let why = match icc.filter(|p| !p.is_empty()).map(conversion) {
        None => None,
        Some(Conversion::Cmyk(t)) if apply_cmyk(cmyk, rgba, &*t) => return (out, None),
        Some(Conversion::Cmyk(_)) => Some("the CMYK transform failed".to_string()),
        Some(Conversion::Unusable(why)) => Some(why),
        Some(_) => Some("an RGB or grey profile does not match the CMYK pixels".to_string()),
    };
    cmyk_naive(cmyk, rgba);
    (out, why)
}

/// The conversion without a profile, as web browsers do it: each of red,
/// green and blue is what its complementary ink and the black ink leave
/// of the paper, `R = (255 - C)(255 - K) / 255`, rounded.
pub(crate) fn cmyk_naive(cmyk: &[u8], rgba: &mut [u8]) {
    use rayon::prelude::*;
    let leave = |ink: u8, k: u8| ((255 - ink as u32) * (255 - k as u32) + 127) / 255;
    rgba.par_chunks_mut(CHUNK * 4)
        .zip(cmyk.par_chunks(CHUNK * 4))
        .for_each(|(d, s)| {
            for (d, s) in d.chunks_exact_mut(4).zip(s.chunks_exact(4)) {
                let k = s[3];
                d.copy_from_slice(&[
                    leave(s[0], k) as u8,
                    leave(s[1], k) as u8,
                    leave(s[2], k) as u8,
                    255,
                ]);
            }
        });
}

/// CMYK to opaque RGBA through `t` (CMYK to RGB), in parallel chunks;
/// whether the transform took every chunk.
fn apply_cmyk(cmyk: &[u8], rgba: &mut [u8], t: &Transform8BitExecutor) -> bool {
    use rayon::prelude::*;
    rgba.par_chunks_mut(CHUNK * 4)
        .zip(cmyk.par_chunks(CHUNK * 4))
        .all(|(d, s)| {
            let mut rgb = vec![0u8; s.len() / 4 * 3];
            if t.transform(s, &mut rgb).is_err() {
                return false;
            }
            for (d, s) in d.chunks_exact_mut(4).zip(rgb.chunks_exact(3)) {
                d.copy_from_slice(&[s[0], s[1], s[2], 255]);
            }
            true
        })
}

/// Pixels per parallel task (and per scratch buffer).
const CHUNK: usize = 16 * 1024;

fn apply_rgb(img: &mut RgbaImage, t: &Transform8BitExecutor) -> Option<String> {
    use rayon::prelude::*;
    let failed = std::sync::atomic::AtomicBool::new(false);
    let raw: &mut [u8] = img;
    raw.par_chunks_mut(CHUNK * 4).for_each(|px| {
        // RGBA to RGBA: moxcms carries alpha through unchanged (the tests
        // check it), so the scratch copies back whole.
        let mut out = vec![0u8; px.len()];
        if t.transform(px, &mut out).is_err() {
            failed.store(true, std::sync::atomic::Ordering::Relaxed);
            return;
        }
        px.copy_from_slice(&out);
    });
    if failed.into_inner() {
        // Cannot happen: the buffers are whole pixels of the layout the
        // transform was made for. Say so rather than hide it.
        return Some("the transform refused a buffer; some pixels are unconverted".into());
    }
    None
}

fn apply_grey(img: &mut RgbaImage, table: &[[u8; 3]; 256]) -> Option<String> {
    for p in img.pixels_mut() {
        // Expanded grey: R = G = B.
        let c = table[p[0] as usize];
        p.0[..3].copy_from_slice(&c);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn srgb_icc() -> Vec<u8> {
        ColorProfile::new_srgb().encode().unwrap()
    }

    fn adobe_icc() -> Vec<u8> {
        ColorProfile::new_adobe_rgb().encode().unwrap()
    }

    #[test]
    fn srgb_profiles_are_not_applied() {
        assert!(matches!(conversion(&srgb_icc()), Conversion::Identity));
        let mut img = RgbaImage::from_fn(40, 3, |x, y| image::Rgba([x as u8 * 6, y as u8, 77, 9]));
        let before = img.clone();
        to_srgb(&mut img, Some(&srgb_icc()), Source::Rgb);
        assert_eq!(img, before);
    }

    #[test]
    fn an_rgb_profile_converts_colour_and_leaves_alpha() {
        let mut img =
            RgbaImage::from_fn(300, 200, |x, y| image::Rgba([200, 100, 50, (x + y) as u8]));
        to_srgb(&mut img, Some(&adobe_icc()), Source::Rgb);
        for (x, y, p) in img.enumerate_pixels() {
            assert_eq!(p[3], (x + y) as u8);
            // LittleCMS: (227, 100, 42), tests/colour.rs.
            assert!(p[0].abs_diff(227) <= 1 && p[1].abs_diff(100) <= 1 && p[2].abs_diff(42) <= 1);
        }
    }

    #[test]
    fn mismatched_and_broken_profiles_leave_the_pixels() {
        let img = RgbaImage::from_pixel(5, 5, image::Rgba([200, 100, 50, 255]));
        let adobe = adobe_icc();
        for (icc, source) in [
            (&adobe[..], Source::Grey),
            (&b"not a profile"[..], Source::Rgb),
            (&adobe[..adobe.len() / 2], Source::Rgb),
            (&[][..], Source::Rgb),
        ] {
            let mut got = img.clone();
            let why = to_srgb(&mut got, Some(icc), source);
            assert_eq!(got, img);
            assert!(why.is_some(), "the reason is returned");
        }
    }

    #[test]
    fn cmyk_without_a_usable_profile_is_converted_naively_and_says_why() {
        let cmyk = [0u8, 0, 0, 0, 255, 0, 0, 0, 20, 90, 180, 10, 0, 0, 0, 255];
        let naive = [
            255u8, 255, 255, 255, 0, 255, 255, 255, 226, 159, 72, 255, 0, 0, 0, 255,
        ];
        for (icc, says) in [
            (None, false),
            (Some(adobe_icc()), true),
            (Some(b"garbage".to_vec()), true),
        ] {
            let (img, why) = cmyk_to_srgb(&cmyk, 2, 2, icc.as_deref());
            assert_eq!(img.as_raw(), &naive.to_vec());
            assert_eq!(why.is_some(), says, "{why:?}");
        }
    }

    #[test]
    fn hostile_profiles_never_panic() {
        // Deterministic mutations of valid profiles: byte flips, truncation,
        // and lying sizes and offsets in the header and tag table.
        let bases = [
            adobe_icc(),
            srgb_icc(),
            ColorProfile::new_gray_with_gamma(1.8).encode().unwrap(),
        ];
        let mut next = super::super::xorshift32(0x9E37_79B9u32);
        let mut img = RgbaImage::from_pixel(3, 3, image::Rgba([1, 2, 3, 4]));
        for case in 0..1500 {
            let mut icc = bases[case % 3].clone();
            match case % 3 {
                0 => {
                    for _ in 0..1 + next() % 6 {
                        let i = next() as usize % icc.len();
                        icc[i] = next() as u8;
                    }
                }
                1 => icc.truncate(next() as usize % icc.len()),
                _ => {
                    // Somewhere in the header or the tag table.
                    let i = next() as usize % icc.len().min(128 + 4 + 12 * 10);
                    icc[i] = [0, 0xFF, 0x7F, 0x80][next() as usize % 4];
                }
            }
            // Unguarded, so that a panic in moxcms fails this test rather
            // than being caught by the guard production relies on.
            let _ = make_unguarded(&icc);
            let source = [Source::Rgb, Source::Grey][case % 2];
            to_srgb(&mut img, Some(&icc), source);
        }
    }

    #[test]
    fn hostile_cmyk_profiles_never_panic() {
        // The lut16 CMYK profile of tests/colour/cmyk.jpg, its header, tag
        // table and table header (grid size, entry counts) mutated.
        let jpg = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/colour/cmyk.jpg"
        ));
        let mut d = jpeg_decoder::Decoder::new(std::io::Cursor::new(jpg.unwrap()));
        d.read_info().unwrap();
        let base = d.icc_profile().unwrap();
        let lut = (0..base.len() - 4)
            .find(|&i| &base[i..i + 4] == b"mft2")
            .unwrap();
        let mut next = super::super::xorshift32(0x2468_ACE1u32);
        let cmyk = [10u8, 200, 30, 40, 0, 0, 0, 0];
        for case in 0..240 {
            let mut icc = base.clone();
            let i = match case % 3 {
                0 => next() as usize % 200,
                1 => lut + next() as usize % 64,
                _ => next() as usize % icc.len(),
            };
            icc[i] = [0, 1, 0xFF, 0x80, next() as u8][next() as usize % 5];
            // Each build makes a 17^4 grid: a few hundred cases only.
            if let Conversion::Cmyk(t) = make_unguarded(&icc) {
                let mut rgba = [0u8; 8];
                apply_cmyk(&cmyk, &mut rgba, &*t);
            }
        }
    }

    #[test]
    fn the_cache_is_bounded() {
        for g in 0..(CACHE_ENTRIES as u32 + 5) {
            let icc = ColorProfile::new_gray_with_gamma(1.0 + g as f32 / 10.0)
                .encode()
                .unwrap();
            let _ = conversion(&icc);
        }
        assert!(CACHE.lock().unwrap().len() <= CACHE_ENTRIES);
    }
}
