//! Colour conversion of 16-bit pixels (16-bit PNGs) at 16 bits, rounded to
//! 8 only after. Reducing first loses what the file held where a profile's
//! curve is steep: a linear-light PNG keeps 13 of its 8-bit levels below 5%
//! of light, which sRGB spreads over 64, so a conversion after reducing gave
//! 14 distinct levels there, some 6 off; at 16 bits it gives all of them,
//! within one level of the exact maths (the tests below).
//!
//! Which profile applies, and why one is ignored, is decided by
//! [`super::icc`] exactly as for 8-bit pixels (an sRGB-like profile is not
//! applied, a mismatched one is ignored with its reason); this module only
//! runs at 16 bits the conversion that decision calls for. The transforms
//! are `moxcms`'s 16-bit ones (65536-entry curves), cached by profile.

use std::sync::{Arc, Mutex};

use moxcms::{ColorProfile, Layout, Transform16BitExecutor};

use super::icc::{self, Source};

/// A conversion to apply to 16-bit pixels: the profile's transform to sRGB.
pub(crate) struct Deep {
    transform: Arc<Transform16BitExecutor>,
    /// A grey profile: grey (the red sample of grey expanded to RGB) to
    /// sRGB RGB; else RGBA to RGBA.
    grey: bool,
}

/// Transforms kept ready, by profile bytes: one or two in a batch.
const CACHE_ENTRIES: usize = 4;

type Cached = (Arc<[u8]>, bool, Arc<Transform16BitExecutor>);
static CACHE: Mutex<Vec<Cached>> = Mutex::new(Vec::new());

/// The 16-bit conversion for pixels of kind `source` with profile `icc`,
/// when [`icc`] would apply one to them; `None` when it would leave them
/// (no profile, sRGB-like, unusable or mismatched: its 8-bit path then says
/// why, with the pixels reduced to 8 bits first, which changes nothing
/// there).
pub(crate) fn deep(icc_bytes: Option<&[u8]>, source: Source) -> Option<Deep> {
    let bytes = icc_bytes.filter(|p| !p.is_empty())?;
    let grey = icc::applies(bytes, source)?;
    {
        // A poisoned lock only means another thread panicked mid-update
        // of a Vec of whole entries.
        let cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, g, t)) = cache.iter().find(|(b, g, _)| **b == *bytes && *g == grey) {
            return Some(Deep {
                transform: Arc::clone(t),
                grey: *g,
            });
        }
    }
    // The 8-bit transform was made from the same bytes, so this one
    // builds too; guarded as that one is, against a bug in the parser.
    let transform = std::panic::catch_unwind(|| {
        let profile = ColorProfile::new_from_slice(bytes).ok()?;
        let (from, to) = if grey {
            (Layout::Gray, Layout::Rgb)
        } else {
            (Layout::Rgba, Layout::Rgba)
        };
        let srgb = ColorProfile::new_srgb();
        profile
            .create_transform_16bit(from, &srgb, to, icc::options())
            .ok()
    })
    .ok()
    .flatten()?;
    let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    if cache.len() == CACHE_ENTRIES {
        cache.remove(0);
    }
    cache.push((bytes.into(), grey, Arc::clone(&transform)));
    Some(Deep { transform, grey })
}

/// Scratch rows for [`Deep::row_to_rgba8`], kept between rows.
#[derive(Default)]
pub(crate) struct Scratch {
    rgba: Vec<u16>,
    grey: Vec<u16>,
    out: Vec<u16>,
}

impl Deep {
    /// One row of straight 16-bit pixels with `channels` samples each
    /// (grey, grey and alpha, RGB or RGBA, native `u16`) converted to sRGB
    /// and rounded to 8-bit RGBA in `out` (`(v + 128) / 257`, as `image`
    /// rounds). Alpha is carried through. `false` if the transform refused
    /// the row (it cannot: the buffers are whole pixels of its layout),
    /// when `out` holds the unconverted pixels.
    pub(crate) fn row_to_rgba8(
        &self,
        samples: &[u16],
        channels: usize,
        scratch: &mut Scratch,
        out: &mut [u8],
    ) -> bool {
        let n = out.len() / 4;
        let rgba = &mut scratch.rgba;
        rgba.clear();
        for s in samples.chunks_exact(channels).take(n) {
            rgba.extend_from_slice(&match channels {
                1 => [s[0], s[0], s[0], u16::MAX],
                2 => [s[0], s[0], s[0], s[1]],
                3 => [s[0], s[1], s[2], u16::MAX],
                _ => [s[0], s[1], s[2], s[3]],
            });
        }
        let converted = if self.grey {
            scratch.grey.clear();
            scratch.grey.extend(rgba.chunks_exact(4).map(|p| p[0]));
            scratch.out.resize(n * 3, 0);
            let ok = self
                .transform
                .transform(&scratch.grey, &mut scratch.out)
                .is_ok();
            if ok {
                for (p, c) in rgba.chunks_exact_mut(4).zip(scratch.out.chunks_exact(3)) {
                    p[..3].copy_from_slice(c);
                }
            }
            ok
        } else {
            scratch.out.resize(rgba.len(), 0);
            // RGBA to RGBA: moxcms carries alpha through (tested below).
            let ok = self.transform.transform(rgba, &mut scratch.out).is_ok();
            if ok {
                rgba.copy_from_slice(&scratch.out);
            }
            ok
        };
        for (o, &v) in out.iter_mut().zip(rgba.iter()) {
            *o = ((u32::from(v) + 128) / 257) as u8;
        }
        converted
    }

    /// A whole decoded 16-bit image (the interlaced PNGs `image` decodes)
    /// converted row by row to 8-bit sRGB RGBA; `None` when it is not
    /// 16-bit, and the note when the transform refused a row.
    pub(crate) fn image_to_rgba8(
        &self,
        img: &image::DynamicImage,
    ) -> Option<(image::RgbaImage, Option<String>)> {
        use image::DynamicImage as D;
        let (samples, channels): (&[u16], usize) = match img {
            D::ImageLuma16(b) => (b.as_raw(), 1),
            D::ImageLumaA16(b) => (b.as_raw(), 2),
            D::ImageRgb16(b) => (b.as_raw(), 3),
            D::ImageRgba16(b) => (b.as_raw(), 4),
            _ => return None,
        };
        let (w, h) = (img.width(), img.height());
        let mut out = image::RgbaImage::new(w, h);
        let mut scratch = Scratch::default();
        let mut all = true;
        let row = w as usize * channels;
        for (o, s) in out
            .chunks_exact_mut(w as usize * 4)
            .zip(samples.chunks(row))
        {
            all &= self.row_to_rgba8(s, channels, &mut scratch, o);
        }
        Some((out, (!all).then(|| REFUSED.to_string())))
    }
}

/// Why some pixels were left unconverted (cannot happen; said, not hidden).
pub(crate) const REFUSED: &str = "the transform refused a row; some pixels are unconverted";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::color::linear_to_srgb;

    /// A profile with sRGB's primaries and a linear curve.
    fn linear_icc() -> Vec<u8> {
        let mut p = ColorProfile::new_srgb();
        let curve = moxcms::ToneReprCurve::Parametric(vec![1.0]);
        p.red_trc = Some(curve.clone());
        p.green_trc = Some(curve.clone());
        p.blue_trc = Some(curve.clone());
        p.gray_trc = Some(curve);
        p.cicp = None;
        p.encode().unwrap()
    }

    #[test]
    fn a_linear_ramp_in_the_shadows_keeps_every_level_within_one_of_the_exact_maths() {
        let icc = linear_icc();
        let deep = deep(Some(&icc), Source::Rgb).expect("a linear profile applies");
        // 0 to 5% of light, 2048 steps, with alpha carried through.
        let samples: Vec<u16> = (0..2048u32)
            .flat_map(|i| {
                let v = (i * 3277 / 2047) as u16;
                [v, v, v, (i * 32) as u16]
            })
            .collect();
        let mut out = vec![0u8; 2048 * 4];
        assert!(deep.row_to_rgba8(&samples, 4, &mut Scratch::default(), &mut out));
        let mut levels = std::collections::BTreeSet::new();
        for (i, p) in out.chunks_exact(4).enumerate() {
            let v = samples[i * 4] as f64 / 65535.0;
            let want = linear_to_srgb(v) * 255.0;
            for &c in &p[..3] {
                assert!((c as f64 - want).abs() <= 1.0, "{i}: {c} vs {want:.2}");
            }
            assert_eq!(p[3], ((i as u32 * 32 + 128) / 257) as u8, "alpha");
            levels.insert(p[0]);
        }
        // sRGB gives 5% of light 63.5 levels: all of them are there.
        assert!(levels.len() >= 63, "{} levels", levels.len());
    }

    #[test]
    fn a_grey_profile_converts_grey_at_16_bits() {
        // The linear grey profile LittleCMS made for tests/colour.rs.
        let png = include_bytes!("../../tests/colour/grey-linear.png");
        let reader = png::Decoder::new(std::io::Cursor::new(&png[..]))
            .read_info()
            .unwrap();
        let bytes = reader.info().icc_profile.as_ref().unwrap().to_vec();
        let Some(deep) = deep(Some(&bytes), Source::Grey) else {
            panic!("a linear grey profile applies to grey pixels");
        };
        let samples: Vec<u16> = (0..512u32).flat_map(|i| [(i * 6) as u16, 40000]).collect();
        let mut out = vec![0u8; 512 * 4];
        assert!(deep.row_to_rgba8(&samples, 2, &mut Scratch::default(), &mut out));
        for (i, p) in out.chunks_exact(4).enumerate() {
            let want = linear_to_srgb(i as f64 * 6.0 / 65535.0) * 255.0;
            assert!((p[0] as f64 - want).abs() <= 1.0, "{i}: {p:?} vs {want:.2}");
            assert_eq!((p[0], p[1]), (p[1], p[2]), "grey stays grey");
            assert_eq!(p[3], 156);
        }
    }

    #[test]
    fn profiles_the_8_bit_path_leaves_are_left_here_too() {
        let srgb = ColorProfile::new_srgb().encode().unwrap();
        assert!(deep(Some(&srgb), Source::Rgb).is_none(), "sRGB");
        assert!(deep(Some(b"not a profile"), Source::Rgb).is_none());
        assert!(deep(None, Source::Rgb).is_none());
        // An RGB profile on grey pixels is a mismatch.
        assert!(deep(Some(&linear_icc()), Source::Grey).is_none());
    }
}
