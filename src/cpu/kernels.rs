//! The CPU backend's hot row loops, compiled twice: once for the baseline
//! target and once with AVX2 and FMA enabled, picked at run time. Each loop
//! is written once, as plain per-pixel code the compiler vectorises; the
//! formulas are those of [`crate::blend`] and [`crate::color`] (the tests
//! hold every path to the float64 reference).
//!
//! A few loops the compiler did not vectorise well are written by hand with
//! AVX2 intrinsics (`mod avx2`), each tested bit for bit against its plain
//! form. Over 600 lines on purpose: this is the crate's one module with
//! `unsafe`, so every hand-written SIMD loop lives here.

use crate::color::{linear_to_srgb8, srgb8_to_linear_table, BlendSpace};
use crate::pixels::{load16, store16};

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
    over_rgba8_auto,
    (src: &[u8], acc: &mut [[f32; 4]], space: BlendSpace),
    over_rgba8_impl(src, acc, space)
);

/// Premultiplies straight 8-bit sRGB pixels into the blend space and
/// composites them source-over onto `acc`, in one pass.
pub fn over_rgba8(src: &[u8], acc: &mut [[f32; 4]], space: BlendSpace) {
    #[cfg(target_arch = "x86_64")]
    if avx2::available() {
        // SAFETY: the processor has AVX2 and FMA (checked just above).
        match space {
            BlendSpace::Srgb => unsafe { avx2::over_rgba8::<false>(src, acc) },
            BlendSpace::Linear => unsafe { avx2::over_rgba8::<true>(src, acc) },
        }
        return;
    }
    over_rgba8_auto(src, acc, space)
}

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
    encode_srgb_row_auto,
    (acc: &[[f32; 4]], out: &mut [u8]),
    encode_srgb_impl(acc, out)
);

/// Straight 8-bit sRGB from premultiplied colour in the sRGB blend space.
pub fn encode_srgb_row(acc: &[[f32; 4]], out: &mut [u8]) {
    #[cfg(target_arch = "x86_64")]
    if avx2::available() {
        // SAFETY: the processor has AVX2 and FMA (checked just above).
        unsafe { avx2::encode_srgb(acc, out) };
        return;
    }
    encode_srgb_row_auto(acc, out)
}

/// Hand-written AVX2 versions of the hottest loops, one pixel per
/// 128-bit lane (two per register), so no transposition is needed. Same
/// operations in the same order as the portable code above.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    pub fn available() -> bool {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }

    /// `over_rgba8_impl`; `LINEAR` decodes colour through the sRGB table.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn over_rgba8<const LINEAR: bool>(src: &[u8], acc: &mut [[f32; 4]]) {
        let n = acc.len().min(src.len() / 4);
        let pairs = n / 2;
        let inv255 = _mm256_set1_ps(1.0 / 255.0);
        let one = _mm256_set1_ps(1.0);
        let table = crate::color::srgb8_to_linear_table().as_ptr();
        let sp = src.as_ptr();
        let dp = acc.as_mut_ptr() as *mut f32;
        for i in 0..pairs {
            // SAFETY: pixel pair i covers bytes 8i..8i+8 of `src` and floats
            // 8i..8i+8 of `acc`, both in bounds since 2i + 1 < n; gather
            // indices are bytes, inside the 256-entry table.
            unsafe {
                let bytes = _mm_loadl_epi64(sp.add(i * 8) as *const __m128i);
                let idx = _mm256_cvtepu8_epi32(bytes);
                let v = _mm256_mul_ps(_mm256_cvtepi32_ps(idx), inv255);
                let a = _mm256_permute_ps::<0xff>(v);
                let colour = if LINEAR {
                    _mm256_i32gather_ps::<4>(table, idx)
                } else {
                    v
                };
                let s = _mm256_blend_ps::<0b1000_1000>(_mm256_mul_ps(colour, a), v);
                let d = _mm256_loadu_ps(dp.add(i * 8));
                let k = _mm256_sub_ps(one, a);
                _mm256_storeu_ps(dp.add(i * 8), _mm256_fmadd_ps(d, k, s));
            }
        }
        if n % 2 == 1 {
            super::over_rgba8_impl(
                &src[(n - 1) * 4..n * 4],
                &mut acc[n - 1..n],
                if LINEAR {
                    super::BlendSpace::Linear
                } else {
                    super::BlendSpace::Srgb
                },
            );
        }
    }

    /// Encodes 8 pixels (4 pairs from `pair`, one pixel per 128-bit lane,
    /// as i32 channels) and stores their 32 bytes in order.
    ///
    /// # Safety
    /// AVX2 must be available; `src` must point at 8 readable pixels (32
    /// floats) and `dst` at 32 writable bytes.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn store_block(pair: &impl Fn(*const f32) -> __m256i, src: *const f32, dst: *mut u8) {
        // SAFETY: the caller's contract covers every access below.
        unsafe {
            let w01 = _mm256_packus_epi32(pair(src), pair(src.add(8)));
            let w23 = _mm256_packus_epi32(pair(src.add(16)), pair(src.add(24)));
            // The packs interleave the lanes: pixels come out 0 2 4 6 1 3 5 7.
            let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
            let bytes = _mm256_permutevar8x32_epi32(_mm256_packus_epi16(w01, w23), order);
            _mm256_storeu_si256(dst as *mut __m256i, bytes);
        }
    }

    /// `encode_srgb_impl`: round(255 c / a), round(255 a), zeros where the
    /// alpha rounds to 0; conversion rounds to nearest, ties to even.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn encode_srgb(acc: &[[f32; 4]], out: &mut [u8]) {
        let n = acc.len().min(out.len() / 4);
        let blocks = n / 8;
        let zero = _mm256_setzero_ps();
        let one = _mm256_set1_ps(1.0);
        let k255 = _mm256_set1_ps(255.0);
        let half = _mm256_set1_ps(0.5);
        let sp = acc.as_ptr() as *const f32;
        let op = out.as_mut_ptr();
        let pair = |p: *const f32| -> __m256i {
            // SAFETY (for the caller): `p` points at two in-bounds pixels.
            unsafe {
                let v = _mm256_loadu_ps(p);
                let a = _mm256_min_ps(_mm256_max_ps(_mm256_permute_ps::<0xff>(v), zero), one);
                let a255 = _mm256_mul_ps(a, k255);
                let keep = _mm256_cmp_ps::<_CMP_GT_OQ>(a255, half);
                let inv = _mm256_and_ps(_mm256_div_ps(k255, a), keep);
                let c = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(v, inv), zero), k255);
                _mm256_cvtps_epi32(_mm256_blend_ps::<0b1000_1000>(c, a255))
            }
        };
        for b in 0..blocks {
            // SAFETY: block b covers pixels 8b..8b+8 < n of `acc` and bytes
            // 32b..32b+32 of `out`.
            unsafe { store_block(&pair, sp.add(b * 32), op.add(b * 32)) };
        }
        let done = blocks * 8;
        super::encode_srgb_impl(&acc[done..n], &mut out[done * 4..n * 4]);
    }

    /// `encode_linear_impl`: the same bucket-and-threshold lookup as
    /// `color::linear_to_srgb8`, with gathers.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn encode_linear(acc: &[[f32; 4]], out: &mut [u8]) {
        let (buckets, thresholds) = crate::color::linear_encode_tables();
        let n = acc.len().min(out.len() / 4);
        let blocks = n / 8;
        let zero = _mm256_setzero_ps();
        let one = _mm256_set1_ps(1.0);
        let k255 = _mm256_set1_ps(255.0);
        let half = _mm256_set1_ps(0.5);
        let scale = _mm256_set1_ps((buckets.len() - 1) as f32);
        let ione = _mm256_set1_epi32(1);
        let bp = buckets.as_ptr();
        let tp = thresholds.as_ptr();
        let sp = acc.as_ptr() as *const f32;
        let op = out.as_mut_ptr();
        let pair = |p: *const f32| -> __m256i {
            // SAFETY (for the caller): `p` points at two in-bounds pixels;
            // bucket indices are in 0..=4095 after the clamp, and encodings
            // k in 0..=255 keep k and k + 1 inside the 257 thresholds.
            unsafe {
                let v = _mm256_loadu_ps(p);
                let a = _mm256_min_ps(_mm256_max_ps(_mm256_permute_ps::<0xff>(v), zero), one);
                let a255 = _mm256_mul_ps(a, k255);
                let keep = _mm256_cmp_ps::<_CMP_GT_OQ>(a255, half);
                let inv = _mm256_and_ps(_mm256_div_ps(one, a), keep);
                let c = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(v, inv), zero), one);
                let b = _mm256_cvttps_epi32(_mm256_mul_ps(c, scale));
                let k = _mm256_i32gather_epi32::<4>(bp, b);
                let next = _mm256_i32gather_ps::<4>(tp, _mm256_add_epi32(k, ione));
                let this = _mm256_i32gather_ps::<4>(tp, k);
                let up = _mm256_castps_si256(_mm256_cmp_ps::<_CMP_LE_OQ>(next, c));
                let down = _mm256_castps_si256(_mm256_cmp_ps::<_CMP_GT_OQ>(this, c));
                // Masks are -1 where true: k + 1 where up, k - 1 where down.
                let k = _mm256_add_epi32(_mm256_sub_epi32(k, up), down);
                let alpha = _mm256_cvtps_epi32(a255);
                let px = _mm256_blend_epi32::<0b1000_1000>(k, alpha);
                _mm256_and_si256(px, _mm256_castps_si256(keep))
            }
        };
        for b in 0..blocks {
            // SAFETY: block b covers pixels 8b..8b+8 < n of `acc` and bytes
            // 32b..32b+32 of `out`.
            unsafe { store_block(&pair, sp.add(b * 32), op.add(b * 32)) };
        }
        let done = blocks * 8;
        super::encode_linear_impl(&acc[done..n], &mut out[done * 4..n * 4]);
    }

    /// `quantize_row_impl` (`load16(store16(p))` per pixel), two pixels a
    /// register: the same comparisons, the multiply and add unfused, and
    /// the truncation through i32 (a NaN gives 0x80000000, whose low 16
    /// bits are the 0 that `as u16` gives).
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn quantize(row: &mut [[f32; 4]]) {
        let pairs = row.len() / 2;
        let zero = _mm256_setzero_ps();
        let one = _mm256_set1_ps(1.0);
        let k65535 = _mm256_set1_ps(65535.0);
        let half = _mm256_set1_ps(0.5);
        let low16 = _mm256_set1_epi32(0xffff);
        let inv = _mm256_set1_ps(1.0 / 65535.0);
        let p = row.as_mut_ptr() as *mut f32;
        for i in 0..pairs {
            // SAFETY: pair i is pixels 2i and 2i + 1 < row.len(), floats
            // 8i..8i + 8 of `row`.
            unsafe {
                let v = _mm256_loadu_ps(p.add(i * 8));
                // a = alpha.clamp(0, 1): below 0 -> 0, above 1 -> 1.
                let a = _mm256_permute_ps::<0xff>(v);
                let a = _mm256_blendv_ps(a, zero, _mm256_cmp_ps::<_CMP_LT_OQ>(a, zero));
                let a = _mm256_blendv_ps(a, one, _mm256_cmp_ps::<_CMP_GT_OQ>(a, one));
                // Each channel: below 0 -> 0, above a -> a (alpha itself
                // becomes a).
                let c = _mm256_blendv_ps(v, zero, _mm256_cmp_ps::<_CMP_LT_OQ>(v, zero));
                let c = _mm256_blendv_ps(c, a, _mm256_cmp_ps::<_CMP_GT_OQ>(c, a));
                let f = _mm256_add_ps(_mm256_mul_ps(c, k65535), half);
                let q = _mm256_and_si256(_mm256_cvttps_epi32(f), low16);
                let back = _mm256_mul_ps(_mm256_cvtepi32_ps(q), inv);
                _mm256_storeu_ps(p.add(i * 8), back);
            }
        }
        super::quantize_row_impl(&mut row[pairs * 2..]);
    }

    /// [`super::idct4_reduced`]'s body: jpeg-decoder's 4x4 reduced inverse
    /// DCT, the first pass with the block's columns as lanes, the second
    /// with its rows.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn idct4(c: &[i16; 16], q: &[u16; 64], k: [i32; 3], bias: i32) -> [u8; 16] {
        // SAFETY (every load): row r of `c` is its values 4r..4r+4, and row r
        // of `q` its values 8r..8r+4, inside both arrays for r < 4.
        let dq = |r: usize| unsafe {
            let cv = _mm_cvtepi16_epi32(_mm_loadl_epi64(c.as_ptr().add(r * 4) as *const __m128i));
            let qv = _mm_cvtepu16_epi32(_mm_loadl_epi64(q.as_ptr().add(r * 8) as *const __m128i));
            _mm_mullo_epi32(cv, qv)
        };
        let (s0, s1, s2, s3) = (dq(0), dq(1), dq(2), dq(3));
        let (k0, k1, k2) = (
            _mm_set1_epi32(k[0]),
            _mm_set1_epi32(k[1]),
            _mm_set1_epi32(k[2]),
        );
        let x0 = _mm_slli_epi32::<2>(_mm_add_epi32(s0, s2));
        let x2 = _mm_slli_epi32::<2>(_mm_sub_epi32(s0, s2));
        let p1 = _mm_mullo_epi32(_mm_add_epi32(s1, s3), k0);
        let half = _mm_set1_epi32(512);
        let t0 = _mm_srai_epi32::<10>(_mm_add_epi32(
            _mm_add_epi32(p1, _mm_mullo_epi32(s3, k1)),
            half,
        ));
        let t2 = _mm_srai_epi32::<10>(_mm_add_epi32(
            _mm_add_epi32(p1, _mm_mullo_epi32(s1, k2)),
            half,
        ));
        let (c0, c1, c2, c3) = transpose(
            _mm_add_epi32(x0, t2),
            _mm_add_epi32(x2, t0),
            _mm_sub_epi32(x2, t0),
            _mm_sub_epi32(x0, t2),
        );
        let bias = _mm_set1_epi32(bias);
        let x0 = _mm_add_epi32(_mm_slli_epi32::<12>(_mm_add_epi32(c0, c2)), bias);
        let x2 = _mm_add_epi32(_mm_slli_epi32::<12>(_mm_sub_epi32(c0, c2)), bias);
        let p1 = _mm_mullo_epi32(_mm_add_epi32(c1, c3), k0);
        let t0 = _mm_add_epi32(p1, _mm_mullo_epi32(c3, k1));
        let t2 = _mm_add_epi32(p1, _mm_mullo_epi32(c1, k2));
        let (r0, r1, r2, r3) = transpose(
            _mm_srai_epi32::<17>(_mm_add_epi32(x0, t2)),
            _mm_srai_epi32::<17>(_mm_add_epi32(x2, t0)),
            _mm_srai_epi32::<17>(_mm_sub_epi32(x2, t0)),
            _mm_srai_epi32::<17>(_mm_sub_epi32(x0, t2)),
        );
        // Saturating to i16 and then to u8 clamps to 0..=255, as `clamp`.
        let bytes = _mm_packus_epi16(_mm_packs_epi32(r0, r1), _mm_packs_epi32(r2, r3));
        let mut out = [0u8; 16];
        // SAFETY: `out` holds 16 bytes.
        unsafe { _mm_storeu_si128(out.as_mut_ptr() as *mut __m128i, bytes) };
        out
    }

    /// The columns of the 4x4 matrix whose rows are `a`, `b`, `c`, `d`.
    #[inline(always)]
    unsafe fn transpose(
        a: __m128i,
        b: __m128i,
        c: __m128i,
        d: __m128i,
    ) -> (__m128i, __m128i, __m128i, __m128i) {
        let (ab_lo, cd_lo) = (_mm_unpacklo_epi32(a, b), _mm_unpacklo_epi32(c, d));
        let (ab_hi, cd_hi) = (_mm_unpackhi_epi32(a, b), _mm_unpackhi_epi32(c, d));
        (
            _mm_unpacklo_epi64(ab_lo, cd_lo),
            _mm_unpackhi_epi64(ab_lo, cd_lo),
            _mm_unpacklo_epi64(ab_hi, cd_hi),
            _mm_unpackhi_epi64(ab_hi, cd_hi),
        )
    }

    /// Eight output pixels of `filter_row_impl`, all of whose taps lie
    /// inside `src` (checked): pixel `j` sums `weights[j * taps + i] *
    /// src[starts[j] + i]` over `i`. Two pixels to a register and four
    /// registers, so four chains of additions run side by side (the
    /// compiler's form waited on one). Each lane sums its pixel's taps in
    /// order, a product then a sum as there (no fused multiply-add), so
    /// every sum is the same bit for bit.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn filter_eight(
        out: &mut [[f32; 4]],
        src: &[[f32; 4]],
        weights: &[f32],
        starts: &[usize; 8],
        taps: usize,
    ) {
        assert!(out.len() >= 8 && weights.len() >= 8 * taps);
        assert!(starts.iter().all(|&s| s + taps <= src.len()));
        let sp = src.as_ptr() as *const f32;
        let wp = weights.as_ptr();
        let mut acc = [_mm256_setzero_ps(); 4];
        for i in 0..taps {
            for (r, a) in acc.iter_mut().enumerate() {
                let (j0, j1) = (2 * r, 2 * r + 1);
                // SAFETY (all four reads): `j * taps + i < 8 * taps <=
                // weights.len()`, and `starts[j] + i < src.len()` (both
                // asserted above), four floats a pixel.
                let w = _mm256_set_m128(
                    _mm_broadcast_ss(&*wp.add(j1 * taps + i)),
                    _mm_broadcast_ss(&*wp.add(j0 * taps + i)),
                );
                let p =
                    _mm256_loadu2_m128(sp.add((starts[j1] + i) * 4), sp.add((starts[j0] + i) * 4));
                *a = _mm256_add_ps(*a, _mm256_mul_ps(w, p));
            }
        }
        let op = out.as_mut_ptr() as *mut f32;
        for (r, a) in acc.iter().enumerate() {
            // SAFETY: pixels 2r and 2r + 1 of `out`, which holds at least 8.
            _mm256_storeu_ps(op.add(8 * r), *a);
        }
    }
}

/// Straight 8-bit sRGB from premultiplied colour in the linear blend space.
pub fn encode_linear_row(acc: &[[f32; 4]], out: &mut [u8]) {
    #[cfg(target_arch = "x86_64")]
    if avx2::available() {
        // SAFETY: the processor has AVX2 and FMA (checked just above).
        unsafe { avx2::encode_linear(acc, out) };
        return;
    }
    encode_linear_impl(acc, out)
}

fn encode_linear_impl(acc: &[[f32; 4]], out: &mut [u8]) {
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

/// `acc[x] += w * row[x]`: one tap of the resampler's vertical filter for
/// a whole row, as it once ran tap after tap (tests: the reference of
/// [`sum_rows`]).
#[cfg(test)]
fn accumulate_row_impl(acc: &mut [[f32; 4]], w: f32, row: &[[f32; 4]]) {
    for (a, p) in acc.iter_mut().zip(row) {
        for c in 0..4 {
            a[c] += w * p[c];
        }
    }
}

/// Pixels [`sum_rows_impl`] sums side by side: four 8-lane registers.
const SUM_PIXELS: usize = 8;

/// The resampler's vertical filter for a whole row: `out[x] = sum_i
/// weights[i] * rows[i][x]`, each pixel summed from zero in tap order: the
/// values that adding the taps one at a time into a zeroed row gives (the
/// form it replaced, `accumulate_row_impl`, its reference in tests). Here
/// eight pixels' sums stay in registers across all the taps, so the
/// output row is written once rather than read and written once a tap.
/// Each of `rows` holds at least `out.len()` pixels.
#[inline(always)]
fn sum_rows_impl(out: &mut [[f32; 4]], weights: &[f32], rows: &[&[[f32; 4]]]) {
    let mut chunks = out.chunks_exact_mut(SUM_PIXELS);
    let mut x = 0;
    for chunk in chunks.by_ref() {
        let mut a = [[0f32; 4]; SUM_PIXELS];
        for (&w, row) in weights.iter().zip(rows) {
            let p = &row[x..x + SUM_PIXELS];
            for (a, p) in a.iter_mut().zip(p) {
                for c in 0..4 {
                    a[c] += w * p[c];
                }
            }
        }
        chunk.copy_from_slice(&a);
        x += SUM_PIXELS;
    }
    for (i, o) in chunks.into_remainder().iter_mut().enumerate() {
        let mut a = [0f32; 4];
        for (&w, row) in weights.iter().zip(rows) {
            for c in 0..4 {
                a[c] += w * row[x + i][c];
            }
        }
        *o = a;
    }
}

dispatch!(
    sum_rows,
    (out: &mut [[f32; 4]], weights: &[f32], rows: &[&[[f32; 4]]]),
    sum_rows_impl(out, weights, rows)
);

/// Each pixel of `row` as the resampler stores it and the compositor reads
/// it back: rounded to unorm16 premultiplied colour ([`store16`], which
/// clamps filter overshoot) and converted back to floats ([`load16`]).
#[inline(always)]
fn quantize_row_impl(row: &mut [[f32; 4]]) {
    for p in row {
        *p = load16(store16(*p));
    }
}

/// [`quantize_row_impl`]: by hand with AVX2 where the processor has it
/// (the compiler's own vectorisation of it gathered lanes one by one).
pub fn quantize_row(row: &mut [[f32; 4]]) {
    #[cfg(target_arch = "x86_64")]
    if avx2::available() {
        // SAFETY: the processor has AVX2 and FMA (checked just above).
        unsafe { avx2::quantize(row) };
        return;
    }
    quantize_row_impl(row)
}

/// jpeg-decoder's 4x4 reduced inverse DCT of `c` (the kept corner row by
/// row, at least 16 values) with quantization table `q` (natural order),
/// constants `k` and rounding `bias`, as 4 rows of 4 bytes: by hand with
/// SSE4.1-class instructions where the processor has AVX2 (the compiler
/// gathered the scalar form's lanes one value at a time), `None` elsewhere,
/// where the caller runs the scalar form (`reduced_jpeg::pixels`), which a
/// test holds this to bit for bit. Integer arithmetic, wrapping as there.
pub fn idct4_reduced(c: &[i16], q: &[u16; 64], k: [i32; 3], bias: i32) -> Option<[u8; 16]> {
    #[cfg(target_arch = "x86_64")]
    if avx2::available() {
        let c: &[i16; 16] = c.get(..16)?.try_into().ok()?;
        // SAFETY: the processor has AVX2 and FMA (checked just above).
        return Some(unsafe { avx2::idct4(c, q, k, bias) });
    }
    let _ = (c, q, k, bias);
    None
}

/// Unorm16 premultiplied pixels as floats ([`load16`] each): a cached
/// resample read back.
#[inline(always)]
fn load16_row_impl(src: &[[u16; 4]], out: &mut [[f32; 4]]) {
    for (o, p) in out.iter_mut().zip(src) {
        *o = load16(*p);
    }
}

dispatch!(
    load16_row,
    (src: &[[u16; 4]], out: &mut [[f32; 4]]),
    load16_row_impl(src, out)
);

/// One output pixel of the horizontal filter: `sum_i ws[i] * px[i]` over
/// the taps that exist, in tap order.
#[inline(always)]
fn taps_one(ws: &[f32], px: &[[f32; 4]]) -> [f32; 4] {
    let mut a = [0f32; 4];
    for (&w, p) in ws.iter().zip(px) {
        for c in 0..4 {
            a[c] += w * p[c];
        }
    }
    a
}

/// Output pixel `k` of the horizontal filter ([`filter_row_impl`]) alone,
/// over the taps that lie inside `src`: the pixels whose taps run off it.
#[inline(always)]
fn filter_one(
    k: usize,
    src: &[[f32; 4]],
    weights: &[f32],
    starts: &[u32],
    taps: usize,
    offset: usize,
) -> [f32; 4] {
    let s = (starts[k] as usize - offset).min(src.len());
    taps_one(&weights[k * taps..(k + 1) * taps], &src[s..])
}

/// The resampler's horizontal filter over one row: output pixel `k` is
/// `sum_i weights[k * taps + i] * src[starts[k] - offset + i]` over the taps
/// inside `src`. Two output pixels are filtered side by side (each in its own
/// half of an 8-lane register when compiled for AVX2), each summing its taps
/// in order, so every pixel gets exactly the sum `taps_one` gives.
#[inline(always)]
fn filter_row_impl(
    out: &mut [[f32; 4]],
    src: &[[f32; 4]],
    weights: &[f32],
    starts: &[u32],
    taps: usize,
    offset: usize,
) {
    let one = |k: usize| filter_one(k, src, weights, starts, taps, offset);
    let mut k = 0;
    while k + 1 < out.len() {
        let (s0, s1) = (starts[k] as usize - offset, starts[k + 1] as usize - offset);
        if s0 + taps <= src.len() && s1 + taps <= src.len() {
            let (w0, w1) = (
                &weights[k * taps..][..taps],
                &weights[(k + 1) * taps..][..taps],
            );
            let (p0, p1) = (&src[s0..][..taps], &src[s1..][..taps]);
            let mut a = [0f32; 8];
            for i in 0..taps {
                for c in 0..4 {
                    a[c] += w0[i] * p0[i][c];
                    a[4 + c] += w1[i] * p1[i][c];
                }
            }
            out[k] = [a[0], a[1], a[2], a[3]];
            out[k + 1] = [a[4], a[5], a[6], a[7]];
        } else {
            out[k] = one(k);
            out[k + 1] = one(k + 1);
        }
        k += 2;
    }
    if k < out.len() {
        out[k] = one(k);
    }
}

/// [`filter_row_impl`]: eight output pixels at a time by hand with AVX2
/// where the processor has it (`avx2::filter_eight`, the same sums bit for
/// bit), the pixels whose taps run off `src` one at a time.
pub fn filter_row(
    out: &mut [[f32; 4]],
    src: &[[f32; 4]],
    weights: &[f32],
    starts: &[u32],
    taps: usize,
    offset: usize,
) {
    #[cfg(target_arch = "x86_64")]
    if avx2::available() {
        let mut chunks = out.chunks_exact_mut(8);
        let mut k = 0;
        for chunk in chunks.by_ref() {
            let s: [usize; 8] = std::array::from_fn(|j| starts[k + j] as usize - offset);
            if s.iter().all(|&s| s + taps <= src.len()) {
                let w = &weights[k * taps..(k + 8) * taps];
                // SAFETY: the processor has AVX2 and FMA (checked above).
                unsafe { avx2::filter_eight(chunk, src, w, &s, taps) };
            } else {
                for (j, o) in chunk.iter_mut().enumerate() {
                    *o = filter_one(k + j, src, weights, starts, taps, offset);
                }
            }
            k += 8;
        }
        for (j, o) in chunks.into_remainder().iter_mut().enumerate() {
            *o = filter_one(k + j, src, weights, starts, taps, offset);
        }
        return;
    }
    filter_row_impl(out, src, weights, starts, taps, offset)
}

/// A stage of integer work written as plain code outside this module (the
/// reduced JPEG decoder's pixel stage), to be compiled
/// for the processor's wider instructions by [`vectorised`]. Its `run`
/// must be `#[inline(always)]`, down to the loops that matter, so that it
/// is compiled into [`vectorised`]'s AVX2 copy rather than called from it.
/// Integer arithmetic gives the same results whichever instructions carry
/// it out; a test still compares the two copies (`PORTABLE_STAGES`).
pub(crate) trait Stage {
    type Output;
    fn run(self) -> Self::Output;
}

/// Runs `stage` compiled with AVX2, FMA, BMI1/2, LZCNT and POPCNT (x86-64-v3)
/// when the processor has them, else as compiled for the baseline.
/// Measured: the decoder's pixel stage takes about a third less CPU
/// (BENCHMARKS.md, "The decoder's pixel stage compiled for AVX2").
#[inline(always)]
pub(crate) fn vectorised<S: Stage>(stage: S) -> S::Output {
    #[cfg(test)]
    if PORTABLE_STAGES.load(std::sync::atomic::Ordering::Relaxed) {
        return stage.run();
    }
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2,fma,bmi1,bmi2,lzcnt,popcnt")]
        unsafe fn wide<S: Stage>(stage: S) -> S::Output {
            stage.run()
        }
        if std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("fma")
            && std::is_x86_feature_detected!("bmi1")
            && std::is_x86_feature_detected!("bmi2")
            && std::is_x86_feature_detected!("lzcnt")
            && std::is_x86_feature_detected!("popcnt")
        {
            // SAFETY: the processor supports the features `wide` is compiled for.
            return unsafe { wide(stage) };
        }
    }
    stage.run()
}

/// For tests: [`vectorised`] runs every stage as compiled for the baseline
/// (the results are the same either way, so tests running at the same time
/// are not disturbed).
#[cfg(test)]
pub(crate) static PORTABLE_STAGES: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

#[cfg(test)]
#[path = "kernels_tests.rs"]
mod tests;
