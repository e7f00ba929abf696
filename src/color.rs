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
    /// Transparent black, `#00000000`: the default canvas background.
    pub const TRANSPARENT: Color = Color::rgba(0, 0, 0, 0);
    /// Opaque black, `#000000`: the default text colour.
    pub const BLACK: Color = Color::rgb(0, 0, 0);
    /// Opaque white, `#ffffff`.
    pub const WHITE: Color = Color::rgb(255, 255, 255);

    /// An opaque colour from sRGB-encoded channels.
    pub const fn rgb(r: u8, g: u8, b: u8) -> Color {
        Color { r, g, b, a: 255 }
    }

    /// A colour from sRGB-encoded channels and straight (not premultiplied)
    /// alpha.
    pub const fn rgba(r: u8, g: u8, b: u8, a: u8) -> Color {
        Color { r, g, b, a }
    }

    /// A colour from a hex literal written in code: `#rgb`, `#rgba`,
    /// `#rrggbb` or `#rrggbbaa`, as in a scene file.
    ///
    /// # Panics
    ///
    /// If `s` is not one of those forms; in a `const` the build fails
    /// instead. Use [`Color::parse_hex`] (or `str::parse`) for text that
    /// comes from outside the program.
    ///
    /// ```
    /// use impasto::Color;
    ///
    /// const INK: Color = Color::hex("#1d1d1f");
    /// assert_eq!(INK, Color::rgb(0x1d, 0x1d, 0x1f));
    /// assert_eq!(Color::hex("#fff8"), Color::rgba(255, 255, 255, 0x88));
    /// ```
    #[track_caller]
    pub const fn hex(s: &str) -> Color {
        match parse_hex_bytes(s.as_bytes()) {
            Some(c) => c,
            None => {
                panic!("Color::hex: expected \"#rgb\", \"#rgba\", \"#rrggbb\" or \"#rrggbbaa\"")
            }
        }
    }

    /// Parses `#rgb`, `#rgba`, `#rrggbb` or `#rrggbbaa`.
    pub fn parse_hex(s: &str) -> Result<Color, String> {
        if !s.starts_with('#') {
            return Err(format!(
                "{} is not a colour: expected \"#rgb\", \"#rgba\", \"#rrggbb\" or \"#rrggbbaa\"",
                crate::scene::quoted(s)
            ));
        }
        parse_hex_bytes(s.as_bytes()).ok_or_else(|| {
            format!("{} is not a colour: expected \"#rgb\", \"#rgba\", \"#rrggbb\" or \"#rrggbbaa\" with hex digits", crate::scene::quoted(s))
        })
    }

    /// Straight 8-bit sRGB to premultiplied floating point in `space`.
    pub fn to_premul(self, space: BlendSpace) -> [f32; 4] {
        premultiply_rgba8([self.r, self.g, self.b, self.a], space)
    }
}

/// Parses `#rgb`, `#rgba`, `#rrggbb` or `#rrggbbaa` (const, so that
/// [`Color::hex`] works in constants).
const fn parse_hex_bytes(s: &[u8]) -> Option<Color> {
    let [b'#', hex @ ..] = s else {
        return None;
    };
    let n = hex.len();
    if !matches!(n, 3 | 4 | 6 | 8) {
        return None;
    }
    let mut digits = [0u8; 8];
    let mut i = 0;
    while i < n {
        digits[i] = match hex[i] {
            c @ b'0'..=b'9' => c - b'0',
            c @ b'a'..=b'f' => c - b'a' + 10,
            c @ b'A'..=b'F' => c - b'A' + 10,
            _ => return None,
        };
        i += 1;
    }
    // r, g, b and alpha (opaque unless given).
    let mut ch = [0, 0, 0, 255u8];
    let channels = if n == 3 || n == 6 { 3 } else { 4 };
    let mut k = 0;
    while k < channels {
        ch[k] = if n <= 4 {
            digits[k] * 17
        } else {
            digits[2 * k] * 16 + digits[2 * k + 1]
        };
        k += 1;
    }
    Some(Color::rgba(ch[0], ch[1], ch[2], ch[3]))
}

/// `#rrggbb` when opaque, else `#rrggbbaa`: the form a scene file accepts.
impl std::fmt::Display for Color {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{:02x}{:02x}{:02x}", self.r, self.g, self.b)?;
        if self.a != 255 {
            write!(f, "{:02x}", self.a)?;
        }
        Ok(())
    }
}

/// Parses a hex colour as [`Color::parse_hex`] does.
impl std::str::FromStr for Color {
    type Err = String;

    fn from_str(s: &str) -> Result<Color, String> {
        Color::parse_hex(s)
    }
}

/// Serializes as the hex string of [`Display`](std::fmt::Display), as a scene
/// file writes colours.
impl serde::Serialize for Color {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
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
    fn hex_constructor_agrees_with_the_parser() {
        for s in ["#f0a", "#f0a8", "#102030", "#10203040", "#ABCDEF"] {
            assert_eq!(Color::hex(s), Color::parse_hex(s).unwrap(), "{s}");
        }
        assert_eq!(Color::hex("#000"), Color::BLACK);
        assert_eq!(Color::hex("#00000000"), Color::TRANSPARENT);
        assert_eq!("#fff".parse::<Color>(), Ok(Color::WHITE));
    }

    #[test]
    #[should_panic(expected = "Color::hex: expected")]
    fn hex_constructor_panics_on_a_malformed_literal() {
        let _ = Color::hex("fff");
    }

    #[test]
    fn display_writes_a_hex_colour_the_parser_reads_back() {
        assert_eq!(Color::rgb(0x1d, 0x1d, 0x1f).to_string(), "#1d1d1f");
        assert_eq!(Color::rgba(255, 0, 0, 0x80).to_string(), "#ff000080");
        for a in [0, 1, 254, 255] {
            let c = Color::rgba(1, 128, 255, a);
            assert_eq!(Color::parse_hex(&c.to_string()), Ok(c));
        }
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
