//! The reduced inverse DCTs jpeg-decoder does not have: 3/8, 5/8, 6/8 and
//! 7/8 of the size (libjpeg-turbo's `jpeg_idct_3x3` and its siblings),
//! the 3-point one in fixed point, block by block and eight blocks at a
//! time, the others as a matrix product in `f32`.

/// The `k`-point inverse DCT's basis, for each `k`: `m[x * k + u]` is
/// `c(u) cos((2x + 1) u pi / 2k) / sqrt(8)`, `c(0) = 1`, `c(u) = sqrt(2)`.
/// Applied along both axes it gives `1/8 sum c(u) c(v) F cos cos`, the
/// 8-point transform's normalisation, so a flat block keeps its level.
fn basis(k: usize) -> &'static [f32; 64] {
    &bases()[k].0
}

/// [`basis`] transposed: `mt[u * k + x] = m[x * k + u]`.
fn basis_transposed(k: usize) -> &'static [f32; 64] {
    &bases()[k].1
}

/// Each `k`'s basis and its transpose, made once.
#[allow(clippy::type_complexity)]
fn bases() -> &'static [([f32; 64], [f32; 64]); 9] {
    static BASES: std::sync::OnceLock<[([f32; 64], [f32; 64]); 9]> = std::sync::OnceLock::new();
    BASES.get_or_init(|| {
        let mut all = [([0f32; 64], [0f32; 64]); 9];
        for (k, (m, mt)) in all.iter_mut().enumerate().skip(1) {
            for x in 0..k {
                for u in 0..k {
                    m[x * k + u] = basis_entry(x, u, k);
                    mt[u * k + x] = m[x * k + u];
                }
            }
        }
        all
    })
}

/// `c(u) cos((2x + 1) u pi / 2n) / sqrt(8)`, `c(0) = 1`, `c(u) = sqrt(2)`:
/// output `x` of the `n`-point transform's weight for coefficient `u`.
fn basis_entry(x: usize, u: usize, n: usize) -> f32 {
    let c = if u == 0 {
        1.0
    } else {
        std::f64::consts::SQRT_2
    };
    let angle = (2 * x + 1) as f64 * u as f64 * std::f64::consts::PI / (2 * n) as f64;
    (c * angle.cos() / 8f64.sqrt()) as f32
}

/// The `K`-point inverse DCT of a block's kept `K` x `K` corner (`c`, row
/// by row; `q` the table in natural order), for the scales jpeg-decoder has
/// no transform for (3/8, 5/8, 6/8 and 7/8 of the size): what libjpeg's
/// scaled transforms (`jidctint.c`, `jpeg_idct_3x3` and its siblings)
/// compute, here in `f32` (tested against the fixed-point 2- and 4-point
/// ones within one level). The result is rounded to nearest and clamped,
/// so wild coefficients in a hostile file give 0 or 255.
#[inline(always)]
pub(super) fn idct_k<const K: usize>(c: &[i16], q: &[u16; 64], out: &mut [u8], stride: usize) {
    // Plain loops, no closures: compiled into the pixel stage's AVX2 copy.
    let flat = basis(K);
    let c = &c[..K * K];
    if c[1..].iter().all(|&v| v == 0) {
        // Only DC: every sum below reduces to these two products.
        let dc = f32::from(c[0]) * f32::from(q[0]);
        let v = round_level(flat[0] * (flat[0] * dc));
        for row in out.chunks_mut(stride).take(K) {
            row[..K].fill(v);
        }
        return;
    }
    let mut dq = [[0f32; K]; K];
    for (v, dv) in dq.iter_mut().enumerate() {
        for (u, d) in dv.iter_mut().enumerate() {
            *d = f32::from(c[v * K + u]) * f32::from(q[v * 8 + u]);
        }
    }
    // Only the rows and columns up to the last non-zero coefficient count
    // (the others add zeros): most blocks, chroma above all, have their
    // energy in a small corner, so an 8-point block (4:2:0 chroma at 1/2)
    // costs a fraction of its 1024 products.
    let (mut rows, mut cols) = (0, 0);
    for (v, cv) in c.chunks_exact(K).enumerate() {
        for (u, &x) in cv.iter().enumerate() {
            if x != 0 {
                rows = rows.max(v + 1);
                cols = cols.max(u + 1);
            }
        }
    }
    // Along the columns, then along the rows, each as sums of whole rows
    // scaled (K lanes at a time, which the compiler vectorises: one AVX2
    // register for K = 8). The products and the order of each sum are
    // those of the plain double loops, so the result is the same to the
    // bit; the columns past `cols` hold zeros and are never read.
    let mut t = [[0f32; K]; K];
    for (ty, my) in t.iter_mut().zip(flat.chunks_exact(K)) {
        for (&w, dv) in my[..rows].iter().zip(&dq) {
            for (t, &d) in ty.iter_mut().zip(dv) {
                *t += w * d;
            }
        }
    }
    let flat_t = basis_transposed(K);
    for (y, ty) in t.iter().enumerate() {
        let mut o = [0f32; K];
        for (&tu, mu) in ty[..cols].iter().zip(flat_t.chunks_exact(K)) {
            for (o, &w) in o.iter_mut().zip(mu) {
                *o += tu * w;
            }
        }
        for (px, &v) in out[y * stride..][..K].iter_mut().zip(&o) {
            *px = round_level(v);
        }
    }
}

/// The `n`-point inverse DCT's basis for a whole block's eight
/// coefficients per axis (`n` = 10: 4:2:0 chroma at 5/8, transformed at
/// twice the luma's scale, as libjpeg's `jpeg_idct_10x10` does):
/// `m[x * 8 + u]` is `c(u) cos((2x + 1) u pi / 2n) / sqrt(8)`, and its
/// transpose `mt[u * n + x]`, made once. (12 and 14 points, for 6/8 and
/// 7/8, were measured and dropped: see [`super::scan`]'s `full_chroma`.)
fn basis_up(n: usize) -> (&'static [f32], &'static [f32]) {
    static BASIS: std::sync::OnceLock<(Vec<f32>, Vec<f32>)> = std::sync::OnceLock::new();
    debug_assert_eq!(n, 10);
    let (m, mt) = BASIS.get_or_init(|| {
        let (mut m, mut mt) = (vec![0f32; n * 8], vec![0f32; n * 8]);
        for x in 0..n {
            for u in 0..8 {
                m[x * 8 + u] = basis_entry(x, u, n);
                mt[u * n + x] = m[x * 8 + u];
            }
        }
        (m, mt)
    });
    (m, mt)
}

/// The `N`-point inverse DCT (`N` = 10) of a block's whole 8 x 8
/// coefficients (`c`, row by row; `q` the table in natural order): the
/// block drawn at `N / 8` of its size, as [`idct_k`] draws it at `K / 8`
/// from its kept corner, and the same arithmetic otherwise (`f32`, sums
/// of whole rows, rounded and clamped).
#[inline(always)]
pub(super) fn idct_up<const N: usize>(c: &[i16], q: &[u16; 64], out: &mut [u8], stride: usize) {
    let (m, mt) = basis_up(N);
    let Some(c) = c.first_chunk::<64>() else {
        return; // blocks at this scale hold all 64 values and one more
    };
    if c[1..].iter().all(|&v| v == 0) {
        let dc = f32::from(c[0]) * f32::from(q[0]);
        let v = round_level(m[0] * (m[0] * dc));
        for row in out.chunks_mut(stride).take(N) {
            row[..N].fill(v);
        }
        return;
    }
    let mut dq = [[0f32; 8]; 8];
    let (mut rows, mut cols) = (0, 0);
    for (v, dv) in dq.iter_mut().enumerate() {
        for (u, d) in dv.iter_mut().enumerate() {
            let x = c[v * 8 + u];
            *d = f32::from(x) * f32::from(q[v * 8 + u]);
            if x != 0 {
                rows = rows.max(v + 1);
                cols = cols.max(u + 1);
            }
        }
    }
    let mut t = [[0f32; 8]; N];
    for (ty, my) in t.iter_mut().zip(m.chunks_exact(8)) {
        for (&w, dv) in my[..rows].iter().zip(&dq) {
            for (t, &d) in ty.iter_mut().zip(dv) {
                *t += w * d;
            }
        }
    }
    for (y, ty) in t.iter().enumerate() {
        let mut o = [0f32; N];
        for (&tu, mu) in ty[..cols].iter().zip(mt.chunks_exact(N)) {
            for (o, &w) in o.iter_mut().zip(mu) {
                *o += tu * w;
            }
        }
        for (px, &v) in out[y * stride..][..N].iter_mut().zip(&o) {
            *px = round_level(v);
        }
    }
}

/// [`idct3`]'s fixed point: 13-bit constants, two more bits kept between
/// the passes.
const BITS: u32 = 13;
const PASS1: u32 = 2;
// basis(3) times 2^13: [S0, S1, S2], [S0, 0, -2 S2], [S0, -S1, S2],
// S0 = 1/sqrt(8), S1 = sqrt(2) cos(pi/6) / sqrt(8), S2 = 1/4.
const S0: i32 = 2896;
const S1: i32 = 3547;
const S2: i32 = 2048;
const M1: [i32; 3] = [S1, 0, -S1];
const M2: [i32; 3] = [S2, -2 * S2, S2];
const ROUND1: i32 = 1 << (BITS - PASS1 - 1);
const BIAS: i32 = (1 << (BITS + PASS1 - 1)) + (128 << (BITS + PASS1));

/// [`idct_k`] for `K` = 3 (3/8 scale, a social card's or a poster's photo)
/// in 13-bit fixed point, as libjpeg's `jpeg_idct_3x3` computes it: rows
/// first, then columns. Within a level of the `f32` matrix form (tested);
/// wrapping arithmetic on hostile coefficients, as in the 4x4 transform.
/// A row of blocks goes through [`idct3_x8`], eight at a time; this is the
/// rest of the row, and the reference the eight-block form is tested
/// against.
#[inline(always)]
pub(super) fn idct3(c: &[i16], q: &[u16; 64], out: &mut [u8], stride: usize) {
    let Some(c) = c.first_chunk::<9>() else {
        return; // blocks hold k * k + 1 values
    };
    let mut r = [[0i32; 3]; 3];
    for (v, rv) in r.iter_mut().enumerate() {
        let d = |u: usize| i32::from(c[v * 3 + u]).wrapping_mul(i32::from(q[v * 8 + u]));
        let (d0, d1, d2) = (d(0).wrapping_mul(S0).wrapping_add(ROUND1), d(1), d(2));
        for x in 0..3 {
            let sum = d0
                .wrapping_add(d1.wrapping_mul(M1[x]))
                .wrapping_add(d2.wrapping_mul(M2[x]));
            rv[x] = sum >> (BITS - PASS1);
        }
    }
    for y in 0..3 {
        for x in 0..3 {
            let sum = r[0][x]
                .wrapping_mul(S0)
                .wrapping_add(r[1][x].wrapping_mul(M1[y]))
                .wrapping_add(r[2][x].wrapping_mul(M2[y]))
                .wrapping_add(BIAS);
            out[y * stride + x] = (sum >> (BITS + PASS1)).clamp(0, 255) as u8;
        }
    }
}

/// Blocks side by side in [`idct3_x8`].
pub(super) const LANES: usize = 8;

/// [`idct3`] of eight blocks that lie side by side in `out` (block `b`'s
/// three columns at `3 b`), the same arithmetic with the blocks as lanes:
/// each step is one operation on eight `i32`s, which the pixel stage's
/// AVX2 copy (`kernels::vectorised`) does in one instruction, where one
/// block's nine values did not fill a vector (measured: BENCHMARKS.md,
/// "The 3-point transform, eight blocks at a time"). The same bytes as
/// [`idct3`] block by block (tested, hostile coefficients included).
#[inline(always)]
pub(super) fn idct3_x8(blocks: [&[i16; 9]; LANES], q: &[u16; 64], out: &mut [u8], stride: usize) {
    // Dequantised coefficients, coefficient by coefficient across blocks.
    let mut d = [[0i32; LANES]; 9];
    for (b, c) in blocks.iter().enumerate() {
        for (j, dj) in d.iter_mut().enumerate() {
            dj[b] = i32::from(c[j]).wrapping_mul(i32::from(q[(j / 3) * 8 + j % 3]));
        }
    }
    // Along each coefficient row: r[v][x], lanes the blocks.
    let mut r = [[[0i32; LANES]; 3]; 3];
    for (v, rv) in r.iter_mut().enumerate() {
        let (d0, d1, d2) = (&d[v * 3], &d[v * 3 + 1], &d[v * 3 + 2]);
        for (x, rvx) in rv.iter_mut().enumerate() {
            for b in 0..LANES {
                let sum = d0[b]
                    .wrapping_mul(S0)
                    .wrapping_add(ROUND1)
                    .wrapping_add(d1[b].wrapping_mul(M1[x]))
                    .wrapping_add(d2[b].wrapping_mul(M2[x]));
                rvx[b] = sum >> (BITS - PASS1);
            }
        }
    }
    for y in 0..3 {
        let mut px = [[0u8; LANES]; 3];
        for (x, pxx) in px.iter_mut().enumerate() {
            for b in 0..LANES {
                let sum = r[0][x][b]
                    .wrapping_mul(S0)
                    .wrapping_add(r[1][x][b].wrapping_mul(M1[y]))
                    .wrapping_add(r[2][x][b].wrapping_mul(M2[y]))
                    .wrapping_add(BIAS);
                pxx[b] = (sum >> (BITS + PASS1)).clamp(0, 255) as u8;
            }
        }
        let row = &mut out[y * stride..][..3 * LANES];
        for (b, o) in row.chunks_exact_mut(3).enumerate() {
            o.copy_from_slice(&[px[0][b], px[1][b], px[2][b]]);
        }
    }
}

/// A transform's output (centred on 0) as a sample: level-shifted,
/// rounded to nearest, clamped. (Truncating a value clamped to
/// `[0, 255]` after adding 128.5 rounds it.)
#[inline(always)]
fn round_level(v: f32) -> u8 {
    (v + 128.5).clamp(0.0, 255.0) as u8
}

/// [`idct_k`] for a `k` known at run time (tests).
#[cfg(test)]
pub(super) fn idct_n(c: &[i16], q: &[u16; 64], out: &mut [u8], stride: usize, k: usize) {
    match k {
        1 => idct_k::<1>(c, q, out, stride),
        2 => idct_k::<2>(c, q, out, stride),
        3 => idct_k::<3>(c, q, out, stride),
        4 => idct_k::<4>(c, q, out, stride),
        5 => idct_k::<5>(c, q, out, stride),
        6 => idct_k::<6>(c, q, out, stride),
        7 => idct_k::<7>(c, q, out, stride),
        _ => idct_k::<8>(c, q, out, stride),
    }
}
