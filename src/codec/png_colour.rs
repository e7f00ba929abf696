//! The colour chunks of a PNG other than `iCCP`: `cICP` (coding-independent
//! code points, PNG 3rd edition), `sRGB`, and `gAMA` with `cHRM`. Each is
//! turned into an ICC profile made with `moxcms` from the primaries, white
//! point and transfer curve it names, which [`super::icc`] then applies like
//! an embedded one (cached, skipped when it is sRGB within one level).
//!
//! Which chunk wins, as the PNG 3rd edition orders them: `cICP`, then
//! `iCCP`, then `sRGB`, then `gAMA`/`cHRM`. A `cICP` impasto cannot apply
//! is passed over with a warning, to the next chunk present, as a decoder
//! that does not know `cICP` would do:
//!
//! * `cICP` applies with the primaries of H.273 that have chromaticities
//!   (BT.709/sRGB 1, BT.2020 9, Display P3 12, DCI-P3 11, and the others
//!   moxcms lists) and transfers that are curves in SDR: sRGB 13, BT.709
//!   1/6/14/15 (taken as the inverse of the BT.709 OETF, as moxcms does),
//!   gamma 2.2 (4) and 2.8 (5), linear 8, and SMPTE 240M. PQ (16) and HLG
//!   (18) are HDR: they are not tone-mapped, and are passed over with a
//!   warning. So are a matrix other than 0 (RGB) and narrow range, which
//!   PNG does not allow.
//! * `gAMA` and `cHRM`: a profile with those primaries and white point
//!   (sRGB's without `cHRM`) and the pure power curve `1 / gamma` (sRGB's
//!   curve without `gAMA`). A file whose `gAMA` is 1/2.2 (within 1%) and
//!   whose `cHRM` is sRGB's (within 0.001) or absent is sRGB, as libpng and
//!   browsers take it: left untouched, though a pure 2.2 power curve is a
//!   few levels from sRGB's in the shadows.

use moxcms::{
    Chromaticity, CicpColorPrimaries, CicpProfile, ColorPrimaries, ColorProfile,
    MatrixCoefficients, ToneReprCurve, TransferCharacteristics,
};

/// Whether `cHRM` values (white, red, green, blue; x and y times 100000)
/// describe an RGB space: every y above 0, x + y at most 1, and the
/// primaries' XYZ independent (the profile's matrix is invertible).
fn chromaticities_usable(c: &[u32; 8]) -> bool {
    let xy = |i: usize| (c[2 * i] as f64 / 1e5, c[2 * i + 1] as f64 / 1e5);
    let xyz = |i: usize| {
        let (x, y) = xy(i);
        [x / y, 1.0, (1.0 - x - y) / y]
    };
    if (0..4).any(|i| xy(i).1 <= 0.0 || xy(i).0 + xy(i).1 > 1.0) {
        return false;
    }
    let (r, g, b) = (xyz(1), xyz(2), xyz(3));
    let det = r[0] * (g[1] * b[2] - g[2] * b[1]) - g[0] * (r[1] * b[2] - r[2] * b[1])
        + b[0] * (r[1] * g[2] - r[2] * g[1]);
    det.abs() > 1e-6
}

/// The profile to apply to a PNG's pixels, and why a colour chunk was
/// passed over (for the render's warnings), if one was.
#[derive(Debug, Default)]
pub(crate) struct PngColour {
    /// ICC profile bytes: the `iCCP` profile, or one made from `cICP` or
    /// `gAMA`/`cHRM`; `None` for sRGB.
    pub profile: Option<Vec<u8>>,
    /// Whether `profile` was made here (it describes RGB, and applies to
    /// grey pixels expanded to RGB too) rather than embedded.
    pub made: bool,
    /// Why a chunk was passed over.
    pub ignored: Option<String>,
}

/// The colour chunks found before the image data.
#[derive(Debug, Default, Clone, PartialEq)]
struct Chunks {
    cicp: Option<[u8; 4]>,
    iccp: bool,
    srgb: bool,
    gama: Option<u32>,
    chrm: Option<[u32; 8]>,
}

pub(super) fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// The chunks of `png` before its image data (`IDAT` or `IEND`; colour
/// chunks must come before it), each its type and where its data is; a
/// malformed stream just ends the walk (the decoder reports it).
pub(super) fn chunks_before_data(
    png: &[u8],
) -> impl Iterator<Item = ([u8; 4], std::ops::Range<usize>)> + '_ {
    let mut at = 8usize;
    std::iter::from_fn(move || {
        let head = png.get(at..at + 8)?;
        let len = be32(head) as usize;
        let data = at + 8..(at + 8).saturating_add(len);
        png.get(data.clone())?;
        let kind = [head[4], head[5], head[6], head[7]];
        if &kind == b"IDAT" || &kind == b"IEND" {
            return None;
        }
        at = data.end.saturating_add(4);
        Some((kind, data))
    })
}

/// The colour chunks before the image data.
fn chunks(png: &[u8]) -> Chunks {
    let mut found = Chunks::default();
    for (kind, range) in chunks_before_data(png) {
        let data = &png[range];
        let len = data.len();
        match &kind {
            b"cICP" if len == 4 => found.cicp = Some([data[0], data[1], data[2], data[3]]),
            b"iCCP" => found.iccp = true,
            b"sRGB" => found.srgb = true,
            b"gAMA" if len == 4 => found.gama = Some(be32(data)),
            b"cHRM" if len == 32 => {
                let mut v = [0u32; 8];
                for (i, slot) in v.iter_mut().enumerate() {
                    *slot = be32(&data[4 * i..]);
                }
                found.chrm = Some(v);
            }
            _ => {}
        }
    }
    found
}

/// How a colour note ends when another profile was applied in place of the
/// one ignored ([`crate::Warning::ColourProfileIgnored`] then does not say
/// the colours were taken as sRGB).
pub(crate) const APPLIED_INSTEAD: &str = "applied instead";

/// What to apply to the pixels of the PNG `png`, whose decoder found the
/// embedded `iCCP` profile `embedded`.
pub(crate) fn colour(png: &[u8], embedded: Option<Vec<u8>>) -> PngColour {
    let found = chunks(png);
    let mut ignored = None;
    if let Some(cicp) = found.cicp {
        match cicp_profile(cicp) {
            Ok(profile) => {
                return PngColour {
                    profile: Some(profile),
                    made: true,
                    ignored: None,
                }
            }
            Err(why) => ignored = Some(format!("cICP chunk ignored: {why}")),
        }
    }
    let (profile, made) = if found.iccp {
        if embedded.is_none() {
            // The decoder could not read it (corrupt compressed data, an
            // unknown compression method, an empty name): said, not hidden.
            let note = Some("its iCCP chunk could not be read (corrupt or malformed)".to_string());
            ignored = super::join_notes(ignored.take(), note);
        }
        (embedded, false)
    } else if found.srgb {
        (None, false)
    } else {
        match gama_chrm_profile(found.gama, found.chrm) {
            Ok(p) => (p, true),
            Err(why) => {
                let note = Some(format!("gAMA/cHRM chunks ignored: {why}"));
                ignored = super::join_notes(ignored.take(), note);
                (None, false)
            }
        }
    };
    // A cICP passed over for a chunk that applies: say which, so that the
    // warning does not read as sRGB taken.
    if let (Some(note), true) = (&mut ignored, found.cicp.is_some()) {
        let next = if found.iccp {
            Some("the iCCP profile")
        } else if profile.is_some() {
            Some("the gAMA/cHRM chunks")
        } else {
            None
        };
        if let Some(next) = next {
            note.push_str(&format!("; {next} {APPLIED_INSTEAD}"));
        }
    }
    PngColour {
        profile,
        made,
        ignored,
    }
}

/// An ICC profile for the code points `[primaries, transfer, matrix,
/// full range]`, or why there is none.
fn cicp_profile([primaries, transfer, matrix, full]: [u8; 4]) -> Result<Vec<u8>, String> {
    if matrix != 0 {
        return Err(format!(
            "matrix coefficients {matrix} (PNG allows only 0, RGB)"
        ));
    }
    if full != 1 {
        return Err("narrow-range samples (PNG allows only full range)".into());
    }
    let transfer_characteristics = match transfer {
        16 => return Err("the PQ (SMPTE ST 2084) transfer is HDR; it is not tone-mapped".into()),
        18 => return Err("the HLG transfer is HDR; it is not tone-mapped".into()),
        1 | 4 | 5 | 6 | 7 | 8 | 13 | 14 | 15 => TransferCharacteristics::try_from(transfer)
            .map_err(|e| format!("transfer characteristics {transfer}: {e}"))?,
        t => return Err(format!("transfer characteristics {t} are not supported")),
    };
    let color_primaries = match primaries {
        1 | 4..=9 | 11 | 12 | 22 => CicpColorPrimaries::try_from(primaries)
            .map_err(|e| format!("colour primaries {primaries}: {e}"))?,
        p => return Err(format!("colour primaries {p} are not supported")),
    };
    let profile = ColorProfile::new_from_cicp(CicpProfile {
        color_primaries,
        transfer_characteristics,
        matrix_coefficients: MatrixCoefficients::Identity,
        full_range: true,
    });
    profile
        .encode()
        .map_err(|e| format!("no profile can be made from it: {e}"))
}

/// sRGB's chromaticities as `cHRM` stores them (x and y times 100000):
/// white, red, green, blue.
const SRGB_CHRM: [u32; 8] = [31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000];

/// An ICC profile for `gAMA` (the encoding exponent times 100000) and
/// `cHRM`; `None` when the pair describes sRGB (or is absent).
fn gama_chrm_profile(gama: Option<u32>, chrm: Option<[u32; 8]>) -> Result<Option<Vec<u8>>, String> {
    let srgb_chrm = chrm.is_none_or(|c| c.iter().zip(SRGB_CHRM).all(|(a, b)| a.abs_diff(b) <= 100));
    let srgb_gama = gama.is_none_or(|g| g.abs_diff(45455) <= 455);
    if srgb_chrm && srgb_gama {
        return Ok(None);
    }
    let mut profile = ColorProfile::new_srgb();
    if let Some(g) = gama {
        if g == 0 {
            return Err("a gamma of 0".into());
        }
        // libpng's range: outside it a file is broken, not meant.
        if !(16..=625_000_000).contains(&g) {
            return Err(format!(
                "a gamma of {g}/100000, outside libpng's 16 to 625000000"
            ));
        }
        let curve = ToneReprCurve::Parametric(vec![100_000.0 / g as f32]);
        profile.red_trc = Some(curve.clone());
        profile.green_trc = Some(curve.clone());
        profile.blue_trc = Some(curve);
    }
    if let Some(c) = chrm {
        let xy = |i: usize| Chromaticity {
            x: c[i] as f32 / 100_000.0,
            y: c[i + 1] as f32 / 100_000.0,
        };
        if !chromaticities_usable(&c) {
            return Err(format!("chromaticities {c:?} do not make an RGB space"));
        }
        let white = xy(0);
        profile.update_rgb_colorimetry(
            white.to_xyyb(),
            ColorPrimaries {
                red: xy(2),
                green: xy(4),
                blue: xy(6),
            },
        );
        profile.media_white_point = Some(white.to_xyyb().to_xyzd());
    }
    profile.cicp = None;
    profile
        .encode()
        .map(Some)
        .map_err(|e| format!("no profile can be made from them: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srgb_like_gama_chrm_make_no_profile_and_others_do() {
        assert_eq!(gama_chrm_profile(None, None), Ok(None));
        assert_eq!(gama_chrm_profile(Some(45455), Some(SRGB_CHRM)), Ok(None));
        assert_eq!(gama_chrm_profile(Some(45000), None), Ok(None));
        assert!(matches!(gama_chrm_profile(Some(55556), None), Ok(Some(_))));
        assert!(matches!(
            gama_chrm_profile(
                None,
                Some([34570, 35850, 73470, 26530, 15960, 84040, 3660, 10])
            ),
            Ok(Some(_))
        ));
    }

    #[test]
    fn degenerate_gama_and_chrm_are_refused_with_a_reason() {
        assert!(gama_chrm_profile(Some(0), None).is_err());
        assert!(gama_chrm_profile(Some(1), None).is_err());
        assert!(gama_chrm_profile(Some(u32::MAX), None).is_err());
        assert!(gama_chrm_profile(Some(16), None).is_ok());
        let mut flat = SRGB_CHRM;
        flat[1] = 0; // white y = 0
        assert!(gama_chrm_profile(None, Some(flat)).is_err());
        // Three primaries on one line: no RGB space.
        let line = [31270, 32900, 10000, 10000, 20000, 20000, 30000, 30000];
        assert!(gama_chrm_profile(None, Some(line)).is_err());
    }

    /// A PNG's signature and chunks (CRCs not checked by [`chunks`]).
    fn png_of(chunks_in: &[(&[u8; 4], &[u8])]) -> Vec<u8> {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        for (kind, data) in chunks_in {
            png.extend((data.len() as u32).to_be_bytes());
            png.extend(*kind);
            png.extend(*data);
            png.extend([0; 4]);
        }
        png
    }

    #[test]
    fn a_cicp_passed_over_for_another_chunk_says_which_applies() {
        let pq = [9u8, 16, 0, 1];
        // With an iCCP profile (what a decoder without cICP applies).
        let png = png_of(&[(b"IHDR", &[0; 13]), (b"cICP", &pq), (b"iCCP", b"p\0\0x")]);
        let c = colour(&png, Some(vec![1, 2, 3]));
        let note = c.ignored.unwrap();
        assert!(note.starts_with("cICP chunk ignored"), "{note}");
        assert!(note.ends_with("the iCCP profile applied instead"), "{note}");
        assert_eq!(crate::codec::taken_as(&note), "");
        // With gAMA: its profile.
        let png = png_of(&[
            (b"IHDR", &[0; 13]),
            (b"cICP", &pq),
            (b"gAMA", &55556u32.to_be_bytes()),
        ]);
        let note = colour(&png, None).ignored.unwrap();
        assert!(
            note.ends_with("the gAMA/cHRM chunks applied instead"),
            "{note}"
        );
        // Alone: sRGB, said so.
        let png = png_of(&[(b"IHDR", &[0; 13]), (b"cICP", &pq)]);
        let note = colour(&png, None).ignored.unwrap();
        assert_eq!(crate::codec::taken_as(&note), ", colours taken as sRGB");
    }

    #[test]
    fn an_iccp_chunk_the_decoder_could_not_read_is_said_not_hidden() {
        let png = png_of(&[(b"IHDR", &[0; 13]), (b"iCCP", b"p\0\x01garbage")]);
        let c = colour(&png, None);
        assert_eq!(c.profile, None);
        let note = c.ignored.unwrap();
        assert!(note.contains("iCCP chunk could not be read"), "{note}");
        assert_eq!(crate::codec::taken_as(&note), ", colours taken as sRGB");
        // Read: no note.
        assert_eq!(colour(&png, Some(vec![1, 2])).ignored, None);
    }

    #[test]
    fn chunks_after_the_image_data_and_malformed_streams_are_not_read() {
        let chunk = |kind: &[u8; 4], data: &[u8]| {
            let mut c = (data.len() as u32).to_be_bytes().to_vec();
            c.extend(kind);
            c.extend(data);
            c.extend([0; 4]); // CRC, not checked here
            c
        };
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend(chunk(b"IHDR", &[0; 13]));
        png.extend(chunk(b"gAMA", &55556u32.to_be_bytes()));
        png.extend(chunk(b"IDAT", &[1, 2]));
        png.extend(chunk(b"cICP", &[12, 13, 0, 1]));
        let found = chunks(&png);
        assert_eq!((found.gama, found.cicp), (Some(55556), None));
        // A length running past the end stops the walk.
        let mut cut = png[..8].to_vec();
        cut.extend(chunk(b"sRGB", &[0]));
        cut.extend(0xFFFF_FFF0u32.to_be_bytes());
        cut.extend(b"gAMA");
        assert!(chunks(&cut).srgb);
        assert_eq!(chunks(&cut).gama, None);
    }
}
