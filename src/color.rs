//! Colours: CSS hex parsing, the sRGB transfer function, and the named
//! conversions between straight 8-bit sRGB (what files and the scene hold) and
//! premultiplied floating point in the blend space (what the engine computes in).
//!
//! These are the edges of the engine: everything between them is premultiplied.

use std::sync::OnceLock;

/// The space in which colours are blended (`blend_space` in the scene).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BlendSpace {
    /// Blend the sRGB-encoded values directly (what browsers do).
    #[default]
    Srgb,
    /// Convert to linear light before blending, back to sRGB when stored.
    Linear,
}

/// A colour as written in a scene: sRGB, straight (not premultiplied) alpha.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Color {
    /// Red, 0..=255, sRGB-encoded.
    pub r: u8,
    /// Green, 0..=255, sRGB-encoded.
    pub g: u8,
    /// Blue, 0..=255, sRGB-encoded.
    pub b: u8,
    /// Alpha, 0..=255, straight.
    pub a: u8,
}

impl Color {
    /// Parses `#rgb`, `#rgba`, `#rrggbb` or `#rrggbbaa`.
    pub fn parse_hex(s: &str) -> Result<Color, String> {
        let hex = s.strip_prefix('#').ok_or_else(|| {
            format!(
                "{s:?} is not a colour: expected \"#rgb\", \"#rgba\", \"#rrggbb\" or \"#rrggbbaa\""
            )
        })?;
        let bad = || {
            format!("{s:?} is not a colour: expected \"#rgb\", \"#rgba\", \"#rrggbb\" or \"#rrggbbaa\" with hex digits")
        };
        if !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let nib = |i: usize| u8::from_str_radix(&hex[i..i + 1], 16).map(|v| v * 17);
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16);
        let c = match hex.len() {
            3 | 4 => Color {
                r: nib(0).map_err(|_| bad())?,
                g: nib(1).map_err(|_| bad())?,
                b: nib(2).map_err(|_| bad())?,
                a: if hex.len() == 4 {
                    nib(3).map_err(|_| bad())?
                } else {
                    255
                },
            },
            6 | 8 => Color {
                r: byte(0).map_err(|_| bad())?,
                g: byte(2).map_err(|_| bad())?,
                b: byte(4).map_err(|_| bad())?,
                a: if hex.len() == 8 {
                    byte(6).map_err(|_| bad())?
                } else {
                    255
                },
            },
            _ => return Err(bad()),
        };
        Ok(c)
    }

    /// Straight 8-bit sRGB to premultiplied floating point in `space`.
    pub fn to_premul(self, space: BlendSpace) -> [f32; 4] {
        premultiply_rgba8([self.r, self.g, self.b, self.a], space)
    }
}

/// The sRGB electro-optical transfer function: encoded value to linear light.
pub fn srgb_to_linear(v: f64) -> f64 {
    if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

#[cfg(test)] // the scalar reference the SIMD kernels are tested against
/// The inverse transfer function: linear light to sRGB-encoded value.
pub fn linear_to_srgb(v: f64) -> f64 {
    if v <= 0.0031308 {
        v * 12.92
    } else {
        1.055 * v.powf(1.0 / 2.4) - 0.055
    }
}

struct Tables {
    /// Straight 8-bit sRGB value to linear light, exact to f32.
    to_linear: [f32; 256],
    /// `encode_thresholds[k]` is the linear value at which the correctly
    /// rounded 8-bit sRGB encoding becomes `k` (k >= 1); entry 256 is +inf.
    encode_thresholds: [f32; 257],
    /// `encode_bucket[b]` is the encoding of the linear value `b / 4095`.
    /// Buckets are narrower (2.4e-4) than the smallest gap between two
    /// thresholds (3.0e-4), so a value's encoding is its bucket's or the next.
    encode_bucket: [i32; ENCODE_BUCKETS],
}

const ENCODE_BUCKETS: usize = 4096;

fn tables() -> &'static Tables {
    static T: OnceLock<Tables> = OnceLock::new();
    T.get_or_init(|| {
        let mut to_linear = [0f32; 256];
        let mut encode_thresholds = [f32::INFINITY; 257];
        for k in 0..256 {
            to_linear[k] = srgb_to_linear(k as f64 / 255.0) as f32;
            encode_thresholds[k] = if k == 0 {
                f32::NEG_INFINITY
            } else {
                srgb_to_linear((k as f64 - 0.5) / 255.0) as f32
            };
        }
        let mut encode_bucket = [0i32; ENCODE_BUCKETS];
        for (b, slot) in encode_bucket.iter_mut().enumerate() {
            let v = b as f32 / (ENCODE_BUCKETS - 1) as f32;
            // Largest k with threshold[k] <= v (threshold[0] is -inf).
            *slot = (0..256)
                .rev()
                .find(|&k| encode_thresholds[k] <= v)
                .unwrap_or(0) as i32;
        }
        Tables {
            to_linear,
            encode_thresholds,
            encode_bucket,
        }
    })
}

/// The 256-entry table of 8-bit sRGB values decoded to linear light.
pub fn srgb8_to_linear_table() -> &'static [f32; 256] {
    &tables().to_linear
}

/// The tables behind [`linear_to_srgb8`]: the 4096 bucket encodings (as
/// `i32`, for vector gathers) and the 257 thresholds.
pub(crate) fn linear_encode_tables() -> (&'static [i32; ENCODE_BUCKETS], &'static [f32; 257]) {
    let t = tables();
    (&t.encode_bucket, &t.encode_thresholds)
}

/// Converts straight 8-bit sRGB RGBA to premultiplied floating point in
/// `space` (the decode edge of the engine).
#[inline]
pub fn premultiply_rgba8(p: [u8; 4], space: BlendSpace) -> [f32; 4] {
    let a = p[3] as f32 * (1.0 / 255.0);
    match space {
        BlendSpace::Srgb => [
            p[0] as f32 * (1.0 / 255.0) * a,
            p[1] as f32 * (1.0 / 255.0) * a,
            p[2] as f32 * (1.0 / 255.0) * a,
            a,
        ],
        BlendSpace::Linear => {
            let t = srgb8_to_linear_table();
            [
                t[p[0] as usize] * a,
                t[p[1] as usize] * a,
                t[p[2] as usize] * a,
                a,
            ]
        }
    }
}

#[cfg(test)] // the scalar reference the SIMD kernels are tested against
/// Rounds a value in 0..=1 to 8 bits, to nearest with ties to even
/// (clamping first).
#[inline]
pub fn quantize8(v: f32) -> u8 {
    // In 0..=255 after the clamp, so the cast is exact.
    (v.clamp(0.0, 1.0) * 255.0).round_ties_even() as u8
}

/// Encodes a linear-light value to 8-bit sRGB, correctly rounded (the
/// result is the 8-bit value nearest to `linear_to_srgb(v) * 255`).
#[inline]
pub fn linear_to_srgb8(v: f32) -> u8 {
    let t = tables();
    let v = v.clamp(0.0, 1.0);
    // In 0..=4095 after the clamp; the cast of a NaN gives 0.
    let k = t.encode_bucket[(v * (ENCODE_BUCKETS - 1) as f32) as usize] as u8;
    if t.encode_thresholds[k as usize + 1] <= v {
        k + 1
    } else if t.encode_thresholds[k as usize] > v {
        // `v * 4095` rounded up into the next bucket.
        k - 1
    } else {
        k
    }
}

#[cfg(test)] // the scalar reference the SIMD kernels are tested against
/// Converts a premultiplied pixel in `space` to straight 8-bit sRGB (the
/// encode edge of the engine). A pixel whose alpha rounds to 0 becomes all zeros.
#[inline]
pub fn unpremultiply_to_rgba8(p: [f32; 4], space: BlendSpace) -> [u8; 4] {
    let a = p[3].clamp(0.0, 1.0);
    let a8 = quantize8(a);
    if a8 == 0 {
        return [0; 4];
    }
    let inv = 1.0 / a;
    match space {
        BlendSpace::Srgb => [
            quantize8(p[0] * inv),
            quantize8(p[1] * inv),
            quantize8(p[2] * inv),
            a8,
        ],
        BlendSpace::Linear => [
            linear_to_srgb8((p[0] * inv).min(1.0)),
            linear_to_srgb8((p[1] * inv).min(1.0)),
            linear_to_srgb8((p[2] * inv).min(1.0)),
            a8,
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_hex_form() {
        assert_eq!(
            Color::parse_hex("#f0a").unwrap(),
            Color {
                r: 255,
                g: 0,
                b: 170,
                a: 255
            }
        );
        assert_eq!(Color::parse_hex("#f0a8").unwrap().a, 0x88);
        assert_eq!(
            Color::parse_hex("#102030").unwrap(),
            Color {
                r: 0x10,
                g: 0x20,
                b: 0x30,
                a: 255
            }
        );
        assert_eq!(Color::parse_hex("#10203040").unwrap().a, 0x40);
    }

    #[test]
    fn rejects_malformed_colours() {
        for s in [
            "", "#", "red", "#12", "#12345", "#1234567", "#gggggg", "#+1+2+3", "123456",
        ] {
            assert!(Color::parse_hex(s).is_err(), "{s:?} accepted");
        }
    }

    #[test]
    fn linear_encode_is_correctly_rounded_for_every_level() {
        for k in 0..=255u32 {
            let lin = srgb_to_linear(k as f64 / 255.0) as f32;
            assert_eq!(linear_to_srgb8(lin) as u32, k);
        }
        // Values between levels round to the nearest encoded level.
        for i in 0..=10000 {
            let v = i as f64 / 10000.0;
            let want = (linear_to_srgb(v) * 255.0).round() as i32;
            let got = linear_to_srgb8(v as f32) as i32;
            assert!((want - got).abs() <= 1, "v={v} want={want} got={got}");
        }
        assert_eq!(linear_to_srgb8(-1.0), 0);
        assert_eq!(linear_to_srgb8(2.0), 255);
    }

    #[test]
    fn premultiply_then_unpremultiply_round_trips_opaque_pixels() {
        for space in [BlendSpace::Srgb, BlendSpace::Linear] {
            for v in 0..=255u8 {
                let p = [v, 255 - v, v / 2, 255];
                assert_eq!(
                    unpremultiply_to_rgba8(premultiply_rgba8(p, space), space),
                    p
                );
            }
        }
    }

    #[test]
    fn transparent_pixels_encode_as_zeros() {
        assert_eq!(
            unpremultiply_to_rgba8([0.5, 0.5, 0.5, 0.0], BlendSpace::Srgb),
            [0; 4]
        );
        assert_eq!(
            unpremultiply_to_rgba8([0.0, 0.0, 0.0, 0.001], BlendSpace::Srgb),
            [0; 4]
        );
    }
}
