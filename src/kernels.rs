//! The CPU backend's hot row loops, compiled twice: once for the baseline
//! target and once with AVX2 and FMA enabled, picked at run time. Each loop
//! is written once, as plain per-pixel code the compiler vectorises; the
//! formulas are those of [`crate::blend`] and [`crate::color`] (the tests
//! hold every path to the float64 reference).

use crate::color::{linear_to_srgb8, srgb8_to_linear_table, BlendSpace};

const INV255: f32 = 1.0 / 255.0;

/// Runs `$body` (a call of an `#[inline(always)]` function) compiled with
/// AVX2 + FMA when the processor has them, else as compiled for the baseline.
macro_rules! dispatch {
    ($name:ident, ($($arg:ident : $ty:ty),*), $body:expr) => {
        pub fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                unsafe fn wide($($arg: $ty),*) {
                    $body
                }
                if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                    // SAFETY: the processor supports the features `wide` is compiled for.
                    unsafe { wide($($arg),*) };
                    return;
                }
            }
            $body
        }
    };
}

#[inline(always)]
fn over(s: [f32; 4], d: &mut [f32; 4]) {
    let k = 1.0 - s[3];
    *d = [
        s[0] + d[0] * k,
        s[1] + d[1] * k,
        s[2] + d[2] * k,
        s[3] + d[3] * k,
    ];
}

#[inline(always)]
fn premul_srgb(p: &[u8]) -> [f32; 4] {
    let a = p[3] as f32 * INV255;
    [
        p[0] as f32 * INV255 * a,
        p[1] as f32 * INV255 * a,
        p[2] as f32 * INV255 * a,
        a,
    ]
}

#[inline(always)]
fn premul_linear(p: &[u8], t: &[f32; 256]) -> [f32; 4] {
    let a = p[3] as f32 * INV255;
    [
        t[p[0] as usize] * a,
        t[p[1] as usize] * a,
        t[p[2] as usize] * a,
        a,
    ]
}

#[inline(always)]
fn over_rgba8_impl(src: &[u8], acc: &mut [[f32; 4]], space: BlendSpace) {
    match space {
        BlendSpace::Srgb => {
            for (d, p) in acc.iter_mut().zip(src.chunks_exact(4)) {
                over(premul_srgb(p), d);
            }
        }
        BlendSpace::Linear => {
            let t = srgb8_to_linear_table();
            for (d, p) in acc.iter_mut().zip(src.chunks_exact(4)) {
                over(premul_linear(p, t), d);
            }
        }
    }
}

dispatch!(
    over_rgba8,
    (src: &[u8], acc: &mut [[f32; 4]], space: BlendSpace),
    over_rgba8_impl(src, acc, space)
);

#[inline(always)]
fn premultiply_rgba8_impl(src: &[u8], out: &mut [[f32; 4]], space: BlendSpace) {
    match space {
        BlendSpace::Srgb => {
            for (o, p) in out.iter_mut().zip(src.chunks_exact(4)) {
                *o = premul_srgb(p);
            }
        }
        BlendSpace::Linear => {
            let t = srgb8_to_linear_table();
            for (o, p) in out.iter_mut().zip(src.chunks_exact(4)) {
                *o = premul_linear(p, t);
            }
        }
    }
}

dispatch!(
    premultiply_rgba8_row,
    (src: &[u8], out: &mut [[f32; 4]], space: BlendSpace),
    premultiply_rgba8_impl(src, out, space)
);

#[inline(always)]
fn over_row_impl(src: &[[f32; 4]], acc: &mut [[f32; 4]]) {
    for (d, s) in acc.iter_mut().zip(src) {
        over(*s, d);
    }
}

dispatch!(
    over_row,
    (src: &[[f32; 4]], acc: &mut [[f32; 4]]),
    over_row_impl(src, acc)
);

#[inline(always)]
fn scale_row_impl(row: &mut [[f32; 4]], k: f32) {
    for p in row {
        for c in p.iter_mut() {
            *c *= k;
        }
    }
}

dispatch!(scale_row, (row: &mut [[f32; 4]], k: f32), scale_row_impl(row, k));

/// Rounds `v` in 0..=255 to the nearest integer (ties to even) with the
/// float trick: adding 1.5 * 2^23 leaves the integer in the low mantissa
/// bits. Plain bit operations, so the loop vectorises (an `as` cast from
/// float to integer saturates and does not).
#[inline(always)]
fn round_u8(v: f32) -> u8 {
    (v + 12_582_912.0).to_bits() as u8
}

/// Straight 8-bit sRGB from premultiplied colour in the sRGB blend space:
/// `round(255 · c / a)`, `round(255 · a)`; all zeros where alpha rounds to 0.
#[inline(always)]
fn encode_srgb_impl(acc: &[[f32; 4]], out: &mut [u8]) {
    for (p, o) in acc.iter().zip(out.chunks_exact_mut(4)) {
        let a = p[3].clamp(0.0, 1.0);
        let a255 = a * 255.0;
        // Zero where the alpha rounds to 0, so the whole pixel is zeros.
        let inv = if a255 > 0.5 { 255.0 / a } else { 0.0 };
        o[0] = round_u8((p[0] * inv).clamp(0.0, 255.0));
        o[1] = round_u8((p[1] * inv).clamp(0.0, 255.0));
        o[2] = round_u8((p[2] * inv).clamp(0.0, 255.0));
        o[3] = round_u8(a255);
    }
}

dispatch!(
    encode_srgb_row,
    (acc: &[[f32; 4]], out: &mut [u8]),
    encode_srgb_impl(acc, out)
);

/// Straight 8-bit sRGB from premultiplied colour in the linear blend space.
pub fn encode_linear_row(acc: &[[f32; 4]], out: &mut [u8]) {
    for (p, o) in acc.iter().zip(out.chunks_exact_mut(4)) {
        let a = p[3].clamp(0.0, 1.0);
        let a8 = (a * 255.0 + 0.5) as u8;
        if a8 == 0 {
            o.copy_from_slice(&[0; 4]);
            continue;
        }
        let inv = 1.0 / a;
        o[0] = linear_to_srgb8(p[0] * inv);
        o[1] = linear_to_srgb8(p[1] * inv);
        o[2] = linear_to_srgb8(p[2] * inv);
        o[3] = a8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::color::{premultiply_rgba8, unpremultiply_to_rgba8};

    fn pixels() -> Vec<u8> {
        (0..4096u32)
            .flat_map(|i| {
                let a = (i * 37 % 256) as u8;
                [(i % 256) as u8, (i * 7 % 256) as u8, (i * 13 % 256) as u8, a]
            })
            .collect()
    }

    #[test]
    fn wide_and_scalar_paths_agree_with_the_reference_conversions() {
        let src = pixels();
        for space in [BlendSpace::Srgb, BlendSpace::Linear] {
            let mut row = vec![[0f32; 4]; 4096];
            premultiply_rgba8_row(&src, &mut row, space);
            let mut scalar = vec![[0f32; 4]; 4096];
            premultiply_rgba8_impl(&src, &mut scalar, space);
            for (i, p) in src.chunks_exact(4).enumerate() {
                let want = premultiply_rgba8([p[0], p[1], p[2], p[3]], space);
                assert_eq!(row[i], want);
                assert_eq!(scalar[i], want);
            }
            let mut out = vec![0u8; 4096 * 4];
            match space {
                BlendSpace::Srgb => encode_srgb_row(&row, &mut out),
                BlendSpace::Linear => encode_linear_row(&row, &mut out),
            }
            for (i, o) in out.chunks_exact(4).enumerate() {
                let want = unpremultiply_to_rgba8(row[i], space);
                for c in 0..4 {
                    assert!((o[c] as i32 - want[c] as i32).abs() <= 1, "{space:?} {i}: {o:?} vs {want:?}");
                }
                assert_eq!(o[3], want[3]);
                if want[3] == 0 {
                    assert_eq!(o, [0, 0, 0, 0]);
                }
            }
        }
    }

    #[test]
    fn fused_over_equals_premultiply_then_over() {
        let src = pixels();
        let base: Vec<[f32; 4]> = (0..4096).map(|i| {
            let a = (i % 11) as f32 / 10.0;
            [a * 0.3, a * 0.6, a * 0.9, a]
        }).collect();
        for space in [BlendSpace::Srgb, BlendSpace::Linear] {
            let mut fused = base.clone();
            over_rgba8(&src, &mut fused, space);
            let mut tmp = vec![[0f32; 4]; 4096];
            premultiply_rgba8_row(&src, &mut tmp, space);
            let mut two = base.clone();
            over_row(&tmp, &mut two);
            let mut reference = base.clone();
            for (d, s) in reference.iter_mut().zip(&tmp) {
                *d = crate::blend::composite(crate::blend::BlendMode::SourceOver, *s, *d);
            }
            for i in 0..4096 {
                for c in 0..4 {
                    assert!((fused[i][c] - two[i][c]).abs() < 1e-6);
                    assert!((fused[i][c] - reference[i][c]).abs() < 1e-6);
                }
            }
        }
    }
}
