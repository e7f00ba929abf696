//! The compositing formulas: every blend name of the scene format, on
//! premultiplied colour, exactly as W3C Compositing and Blending Level 1 writes
//! them. This file is the one source of truth for the maths on the CPU; the
//! WGSL in `shaders/` implements the same formulas line for line (keep in sync
//! with `shaders/blend.wgsl`).
//!
//! Notation: `s` is the source (the layer), `d` the destination (what is
//! below); lower-case `c` is premultiplied colour, `a` alpha; upper-case `C` is
//! straight colour (`c / a`).

/// A blend name (`blend` in the scene): a Porter-Duff operator or a blend mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum BlendMode {
    /// `source-over` (alias `normal`): s + d(1 - as).
    SourceOver = 0,
    /// `source-in`: s·ad.
    SourceIn,
    /// `source-out`: s(1 - ad).
    SourceOut,
    /// `source-atop`: s·ad + d(1 - as).
    SourceAtop,
    /// `destination-over`: s(1 - ad) + d.
    DestinationOver,
    /// `destination-in`: d·as.
    DestinationIn,
    /// `destination-out`: d(1 - as).
    DestinationOut,
    /// `destination-atop`: s(1 - ad) + d·as.
    DestinationAtop,
    /// `copy`: s.
    Copy,
    /// `xor`: s(1 - ad) + d(1 - as).
    Xor,
    /// `lighter`: min(1, s + d).
    Lighter,
    /// `clear`: 0.
    Clear,
    /// `multiply`.
    Multiply,
    /// `screen`.
    Screen,
    /// `overlay`.
    Overlay,
    /// `darken`.
    Darken,
    /// `lighten`.
    Lighten,
    /// `color-dodge`.
    ColorDodge,
    /// `color-burn`.
    ColorBurn,
    /// `hard-light`.
    HardLight,
    /// `soft-light`.
    SoftLight,
    /// `difference`.
    Difference,
    /// `exclusion`.
    Exclusion,
    /// `hue` (non-separable).
    Hue,
    /// `saturation` (non-separable).
    Saturation,
    /// `color` (non-separable).
    Color,
    /// `luminosity` (non-separable).
    Luminosity,
}

impl BlendMode {
    /// Every blend mode, in declaration order (the order of the `u32` codes
    /// the GPU shaders use).
    pub const ALL: [BlendMode; 27] = [
        BlendMode::SourceOver,
        BlendMode::SourceIn,
        BlendMode::SourceOut,
        BlendMode::SourceAtop,
        BlendMode::DestinationOver,
        BlendMode::DestinationIn,
        BlendMode::DestinationOut,
        BlendMode::DestinationAtop,
        BlendMode::Copy,
        BlendMode::Xor,
        BlendMode::Lighter,
        BlendMode::Clear,
        BlendMode::Multiply,
        BlendMode::Screen,
        BlendMode::Overlay,
        BlendMode::Darken,
        BlendMode::Lighten,
        BlendMode::ColorDodge,
        BlendMode::ColorBurn,
        BlendMode::HardLight,
        BlendMode::SoftLight,
        BlendMode::Difference,
        BlendMode::Exclusion,
        BlendMode::Hue,
        BlendMode::Saturation,
        BlendMode::Color,
        BlendMode::Luminosity,
    ];

    /// Every name the scene format accepts and the mode it stands for: the one
    /// table of blend names in Rust. A mode's first entry is its canonical
    /// name (what [`name`](Self::name) returns and a serialized scene holds);
    /// `normal` is an alias of `source-over`. `shaders/blend.wgsl` spells the
    /// same modes as upper-case `u32` constants (checked by a test in
    /// `gpu/mod.rs`).
    pub const NAME_TABLE: &'static [(&'static str, BlendMode)] = &[
        ("source-over", BlendMode::SourceOver),
        ("normal", BlendMode::SourceOver),
        ("source-in", BlendMode::SourceIn),
        ("source-out", BlendMode::SourceOut),
        ("source-atop", BlendMode::SourceAtop),
        ("destination-over", BlendMode::DestinationOver),
        ("destination-in", BlendMode::DestinationIn),
        ("destination-out", BlendMode::DestinationOut),
        ("destination-atop", BlendMode::DestinationAtop),
        ("copy", BlendMode::Copy),
        ("xor", BlendMode::Xor),
        ("lighter", BlendMode::Lighter),
        ("clear", BlendMode::Clear),
        ("multiply", BlendMode::Multiply),
        ("screen", BlendMode::Screen),
        ("overlay", BlendMode::Overlay),
        ("darken", BlendMode::Darken),
        ("lighten", BlendMode::Lighten),
        ("color-dodge", BlendMode::ColorDodge),
        ("color-burn", BlendMode::ColorBurn),
        ("hard-light", BlendMode::HardLight),
        ("soft-light", BlendMode::SoftLight),
        ("difference", BlendMode::Difference),
        ("exclusion", BlendMode::Exclusion),
        ("hue", BlendMode::Hue),
        ("saturation", BlendMode::Saturation),
        ("color", BlendMode::Color),
        ("luminosity", BlendMode::Luminosity),
    ];

    /// Every name the scene format accepts (including the alias `normal`), in
    /// the order of [`NAME_TABLE`](Self::NAME_TABLE).
    pub const NAMES: &'static [&'static str] = &{
        let mut names = [""; Self::NAME_TABLE.len()];
        let mut i = 0;
        while i < names.len() {
            names[i] = Self::NAME_TABLE[i].0;
            i += 1;
        }
        names
    };

    /// Looks a blend name up (`"normal"` is `source-over`).
    pub fn from_name(name: &str) -> Option<BlendMode> {
        BlendMode::NAME_TABLE
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, m)| m)
    }

    /// The canonical name.
    pub fn name(self) -> &'static str {
        BlendMode::NAME_TABLE
            .iter()
            .find(|&&(_, m)| m == self)
            .map(|&(n, _)| n)
            .expect("NAME_TABLE names every mode")
    }

    /// True for the operators that erase where the source is transparent
    /// (`copy`, `source-in`, `source-out`, `destination-in`,
    /// `destination-atop`, `clear`): they act on the whole canvas, and outside
    /// the layer's shape they leave transparent black.
    pub fn is_unbounded(self) -> bool {
        matches!(
            self,
            BlendMode::Copy
                | BlendMode::SourceIn
                | BlendMode::SourceOut
                | BlendMode::DestinationIn
                | BlendMode::DestinationAtop
                | BlendMode::Clear
        )
    }

    /// True for the separable and non-separable blend modes (composited with
    /// source-over), false for the Porter-Duff operators.
    pub fn is_blend_mode(self) -> bool {
        (self as u32) >= (BlendMode::Multiply as u32)
    }

    /// Porter-Duff factors `(Fa, Fb)` for `as` and `ad`: result = s·Fa + d·Fb.
    /// `None` for `lighter` and the blend modes, which are not of that form.
    #[inline]
    pub fn porter_duff_factors(self, sa: f32, da: f32) -> Option<(f32, f32)> {
        Some(match self {
            BlendMode::Clear => (0.0, 0.0),
            BlendMode::Copy => (1.0, 0.0),
            BlendMode::SourceOver => (1.0, 1.0 - sa),
            BlendMode::DestinationOver => (1.0 - da, 1.0),
            BlendMode::SourceIn => (da, 0.0),
            BlendMode::DestinationIn => (0.0, sa),
            BlendMode::SourceOut => (1.0 - da, 0.0),
            BlendMode::DestinationOut => (0.0, 1.0 - sa),
            BlendMode::SourceAtop => (da, 1.0 - sa),
            BlendMode::DestinationAtop => (1.0 - da, sa),
            BlendMode::Xor => (1.0 - da, 1.0 - sa),
            _ => return None,
        })
    }
}

/// Composites one premultiplied source pixel onto one premultiplied
/// destination pixel with `mode`. The reference for every other code path.
#[inline]
pub fn composite(mode: BlendMode, s: [f32; 4], d: [f32; 4]) -> [f32; 4] {
    if let Some((fa, fb)) = mode.porter_duff_factors(s[3], d[3]) {
        return [
            s[0] * fa + d[0] * fb,
            s[1] * fa + d[1] * fb,
            s[2] * fa + d[2] * fb,
            s[3] * fa + d[3] * fb,
        ];
    }
    if mode == BlendMode::Lighter {
        return [
            (s[0] + d[0]).min(1.0),
            (s[1] + d[1]).min(1.0),
            (s[2] + d[2]).min(1.0),
            (s[3] + d[3]).min(1.0),
        ];
    }
    blend_mode_over(mode, s, d)
}

/// A blend mode composited with source-over:
/// `co = cs(1 - ad) + cd(1 - as) + as·ad·B(Cd, Cs)`, `ao = as + ad - as·ad`.
#[inline]
fn blend_mode_over(mode: BlendMode, s: [f32; 4], d: [f32; 4]) -> [f32; 4] {
    let (sa, da) = (s[3], d[3]);
    let ao = sa + da - sa * da;
    let both = sa * da;
    let mut out = [0.0, 0.0, 0.0, ao];
    // B(Cd, Cs) only matters where both are non-transparent.
    let b = if sa > 0.0 && da > 0.0 {
        let cs = unpremultiply(s);
        let cd = unpremultiply(d);
        blend_function(mode, cd, cs)
    } else {
        [0.0; 3]
    };
    for i in 0..3 {
        out[i] = s[i] * (1.0 - da) + d[i] * (1.0 - sa) + both * b[i];
    }
    out
}

/// Straight colour of a premultiplied pixel with alpha > 0, clamped to 0..=1
/// (float rounding can push `c / a` a hair above 1).
#[inline]
fn unpremultiply(p: [f32; 4]) -> [f32; 3] {
    let inv = 1.0 / p[3];
    [
        (p[0] * inv).clamp(0.0, 1.0),
        (p[1] * inv).clamp(0.0, 1.0),
        (p[2] * inv).clamp(0.0, 1.0),
    ]
}

/// The blend function B(Cb, Cs) of W3C Compositing Level 1 on straight
/// colour: `cb` is the backdrop (destination), `cs` the source.
pub fn blend_function(mode: BlendMode, cb: [f32; 3], cs: [f32; 3]) -> [f32; 3] {
    let sep = |f: fn(f32, f32) -> f32| [f(cb[0], cs[0]), f(cb[1], cs[1]), f(cb[2], cs[2])];
    match mode {
        BlendMode::Multiply => sep(multiply),
        BlendMode::Screen => sep(screen),
        BlendMode::Overlay => sep(|b, s| hard_light(s, b)),
        BlendMode::Darken => sep(f32::min),
        BlendMode::Lighten => sep(f32::max),
        BlendMode::ColorDodge => sep(color_dodge),
        BlendMode::ColorBurn => sep(color_burn),
        BlendMode::HardLight => sep(hard_light),
        BlendMode::SoftLight => sep(soft_light),
        BlendMode::Difference => sep(|b, s| (b - s).abs()),
        BlendMode::Exclusion => sep(|b, s| b + s - 2.0 * b * s),
        BlendMode::Hue => set_lum(set_sat(cs, sat(cb)), lum(cb)),
        BlendMode::Saturation => set_lum(set_sat(cb, sat(cs)), lum(cb)),
        BlendMode::Color => set_lum(cs, lum(cb)),
        BlendMode::Luminosity => set_lum(cb, lum(cs)),
        // Porter-Duff operators have no blend function: B = Cs (normal).
        _ => cs,
    }
}

#[inline]
fn multiply(b: f32, s: f32) -> f32 {
    b * s
}

#[inline]
fn screen(b: f32, s: f32) -> f32 {
    b + s - b * s
}

#[inline]
fn hard_light(b: f32, s: f32) -> f32 {
    if s <= 0.5 {
        multiply(b, 2.0 * s)
    } else {
        screen(b, 2.0 * s - 1.0)
    }
}

#[inline]
fn color_dodge(b: f32, s: f32) -> f32 {
    if b == 0.0 {
        0.0
    } else if s >= 1.0 {
        1.0
    } else {
        (b / (1.0 - s)).min(1.0)
    }
}

#[inline]
fn color_burn(b: f32, s: f32) -> f32 {
    if b >= 1.0 {
        1.0
    } else if s <= 0.0 {
        0.0
    } else {
        1.0 - ((1.0 - b) / s).min(1.0)
    }
}

#[inline]
fn soft_light(b: f32, s: f32) -> f32 {
    if s <= 0.5 {
        b - (1.0 - 2.0 * s) * b * (1.0 - b)
    } else {
        let d = if b <= 0.25 {
            ((16.0 * b - 12.0) * b + 4.0) * b
        } else {
            b.sqrt()
        };
        b + (2.0 * s - 1.0) * (d - b)
    }
}

#[inline]
fn lum(c: [f32; 3]) -> f32 {
    0.3 * c[0] + 0.59 * c[1] + 0.11 * c[2]
}

fn clip_color(c: [f32; 3]) -> [f32; 3] {
    let l = lum(c);
    let n = c[0].min(c[1]).min(c[2]);
    let x = c[0].max(c[1]).max(c[2]);
    let mut c = c;
    if n < 0.0 {
        let k = l / (l - n);
        c = c.map(|v| l + (v - l) * k);
    }
    if x > 1.0 {
        let k = (1.0 - l) / (x - l);
        c = c.map(|v| l + (v - l) * k);
    }
    c
}

fn set_lum(c: [f32; 3], l: f32) -> [f32; 3] {
    let d = l - lum(c);
    clip_color(c.map(|v| v + d))
}

#[inline]
fn sat(c: [f32; 3]) -> f32 {
    c[0].max(c[1]).max(c[2]) - c[0].min(c[1]).min(c[2])
}

fn set_sat(c: [f32; 3], s: f32) -> [f32; 3] {
    let max = c[0].max(c[1]).max(c[2]);
    let min = c[0].min(c[1]).min(c[2]);
    if max > min {
        c.map(|v| (v - min) * s / (max - min))
    } else {
        [0.0; 3]
    }
}

/// Composites a row of premultiplied source pixels onto a row of destination
/// pixels. Same results as calling [`composite`] per pixel; the common
/// operators get loops the compiler can vectorise.
pub fn composite_row(mode: BlendMode, src: &[[f32; 4]], dst: &mut [[f32; 4]]) {
    debug_assert_eq!(src.len(), dst.len());
    match mode {
        // s + d(1 - as), in the vectorised row kernel.
        BlendMode::SourceOver => crate::cpu::kernels::over_row(src, dst),
        BlendMode::Copy => dst.copy_from_slice(src),
        BlendMode::Clear => dst.fill([0.0; 4]),
        m if m.porter_duff_factors(0.0, 0.0).is_some() || m == BlendMode::Lighter => {
            for (d, s) in dst.iter_mut().zip(src) {
                *d = composite(m, *s, *d);
            }
        }
        m => {
            for (d, s) in dst.iter_mut().zip(src) {
                // A transparent source leaves the destination as it is.
                if s[3] > 0.0 {
                    *d = composite(m, *s, *d);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EPS: f32 = 1e-6;

    fn close(a: [f32; 4], b: [f32; 4]) -> bool {
        a.iter().zip(&b).all(|(x, y)| (x - y).abs() < EPS)
    }

    #[test]
    fn every_name_round_trips() {
        for m in BlendMode::ALL {
            assert_eq!(BlendMode::from_name(m.name()), Some(m));
        }
        assert_eq!(BlendMode::from_name("normal"), Some(BlendMode::SourceOver));
        assert_eq!(BlendMode::from_name("plus"), None);
        assert_eq!(BlendMode::NAMES.len(), 28);
        assert_eq!(
            BlendMode::NAMES[..3],
            ["source-over", "normal", "source-in"]
        );
        assert_eq!(BlendMode::SourceOver.name(), "source-over");
        for (i, m) in BlendMode::ALL.iter().enumerate() {
            assert_eq!(*m as usize, i, "ALL must follow the u32 codes");
        }
    }

    #[test]
    fn porter_duff_operators_match_their_definitions() {
        let s = [0.3, 0.2, 0.1, 0.6];
        let d = [0.1, 0.4, 0.2, 0.5];
        let pd = |fa: f32, fb: f32| -> [f32; 4] { std::array::from_fn(|i| s[i] * fa + d[i] * fb) };
        assert!(close(composite(BlendMode::SourceOver, s, d), pd(1.0, 0.4)));
        assert!(close(composite(BlendMode::SourceIn, s, d), pd(0.5, 0.0)));
        assert!(close(composite(BlendMode::SourceOut, s, d), pd(0.5, 0.0)));
        assert!(close(composite(BlendMode::SourceAtop, s, d), pd(0.5, 0.4)));
        assert!(close(
            composite(BlendMode::DestinationOver, s, d),
            pd(0.5, 1.0)
        ));
        assert!(close(
            composite(BlendMode::DestinationIn, s, d),
            pd(0.0, 0.6)
        ));
        assert!(close(
            composite(BlendMode::DestinationOut, s, d),
            pd(0.0, 0.4)
        ));
        assert!(close(
            composite(BlendMode::DestinationAtop, s, d),
            pd(0.5, 0.6)
        ));
        assert!(close(composite(BlendMode::Copy, s, d), s));
        assert!(close(composite(BlendMode::Xor, s, d), pd(0.5, 0.4)));
        assert!(close(composite(BlendMode::Clear, s, d), [0.0; 4]));
        assert!(close(
            composite(
                BlendMode::Lighter,
                [0.6, 0.2, 0.1, 0.7],
                [0.5, 0.4, 0.2, 0.5]
            ),
            [1.0, 0.6, 0.3, 1.0]
        ));
    }

    #[test]
    fn separable_blend_functions_match_w3c() {
        assert_eq!(multiply(0.5, 0.4), 0.2);
        assert!((screen(0.5, 0.4) - 0.7).abs() < EPS);
        assert!((hard_light(0.5, 0.25) - 0.25).abs() < EPS);
        assert!((hard_light(0.5, 0.75) - 0.75).abs() < EPS);
        assert_eq!(color_dodge(0.0, 1.0), 0.0);
        assert_eq!(color_dodge(0.3, 1.0), 1.0);
        assert!((color_dodge(0.3, 0.5) - 0.6).abs() < EPS);
        assert_eq!(color_burn(1.0, 0.0), 1.0);
        assert_eq!(color_burn(0.5, 0.0), 0.0);
        assert!((color_burn(0.5, 0.8) - (1.0 - 0.625)).abs() < EPS);
        assert!(
            (soft_light(0.16, 0.75)
                - (0.16 + 0.5 * (((16.0 * 0.16 - 12.0) * 0.16 + 4.0) * 0.16 - 0.16)))
                .abs()
                < EPS
        );
        assert!((soft_light(0.64, 0.75) - (0.64 + 0.5 * (0.8 - 0.64))).abs() < EPS);
        assert!((soft_light(0.5, 0.25) - (0.5 - 0.5 * 0.5 * 0.5)).abs() < EPS);
    }

    #[test]
    fn non_separable_modes_preserve_the_luminosity_they_promise() {
        let cb = [0.2, 0.5, 0.8];
        let cs = [0.9, 0.1, 0.3];
        let out = blend_function(BlendMode::Luminosity, cb, cs);
        assert!((lum(out) - lum(cs)).abs() < 1e-5);
        let out = blend_function(BlendMode::Color, cb, cs);
        assert!((lum(out) - lum(cb)).abs() < 1e-5);
        let out = blend_function(BlendMode::Hue, cb, cs);
        assert!((lum(out) - lum(cb)).abs() < 1e-5);
        let out = blend_function(BlendMode::Saturation, cb, cs);
        assert!((lum(out) - lum(cb)).abs() < 1e-5);
        assert!((sat(out) - sat(cs)).abs() < 1e-5);
    }

    #[test]
    fn blend_mode_with_transparent_side_reduces_to_source_over() {
        let s = [0.3, 0.2, 0.1, 0.6];
        for m in BlendMode::ALL.into_iter().filter(|m| m.is_blend_mode()) {
            assert!(close(composite(m, s, [0.0; 4]), s), "{m:?}");
            let d = [0.1, 0.4, 0.2, 0.5];
            assert!(close(composite(m, [0.0; 4], d), d), "{m:?}");
        }
    }

    #[test]
    fn row_matches_per_pixel() {
        let src: Vec<[f32; 4]> = (0..64)
            .map(|i| {
                let a = (i % 9) as f32 / 8.0;
                [a * 0.3, a * 0.7, a * ((i % 5) as f32 / 4.0), a]
            })
            .collect();
        let dst0: Vec<[f32; 4]> = (0..64)
            .map(|i| {
                let a = (i % 7) as f32 / 6.0;
                [a * 0.9, a * 0.1, a * ((i % 3) as f32 / 2.0), a]
            })
            .collect();
        for m in BlendMode::ALL {
            let mut dst = dst0.clone();
            composite_row(m, &src, &mut dst);
            for i in 0..64 {
                assert!(close(dst[i], composite(m, src[i], dst0[i])), "{m:?} {i}");
            }
        }
    }
}
