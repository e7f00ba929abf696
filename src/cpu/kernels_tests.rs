//! Tests of [`super::kernels`]: every wide path against the portable one
//! and the float64 reference.

use super::*;
use crate::color::{premultiply_rgba8, unpremultiply_to_rgba8};

fn pixels() -> Vec<u8> {
    (0..4096u32)
        .flat_map(|i| {
            let a = (i * 37 % 256) as u8;
            [
                (i % 256) as u8,
                (i * 7 % 256) as u8,
                (i * 13 % 256) as u8,
                a,
            ]
        })
        .collect()
}

#[test]
fn resample_kernels_wide_and_baseline_give_identical_sums() {
    let src: Vec<[f32; 4]> = (0..97)
        .map(|i| {
            [
                i as f32 * 0.01,
                (i * 7 % 13) as f32 * 0.07,
                0.5,
                1.0 - i as f32 * 0.003,
            ]
        })
        .collect();
    for (taps, n) in [(1usize, 40), (2, 45), (5, 40), (11, 43), (11, 9), (23, 17)] {
        let weights: Vec<f32> = (0..n * taps)
            .map(|i| ((i * 31 % 17) as f32 - 5.0) * 0.037)
            .collect();
        // Starts that run off the end of the source for the last pixels.
        let starts: Vec<u32> = (0..n as u32).map(|k| 3 + k * 2 + (k % 3)).collect();
        let mut wide = vec![[0f32; 4]; n];
        filter_row(&mut wide, &src, &weights, &starts, taps, 3);
        let mut base = vec![[0f32; 4]; n];
        filter_row_impl(&mut base, &src, &weights, &starts, taps, 3);
        for k in 0..n {
            let s = (starts[k] as usize - 3).min(src.len());
            let want = taps_one(&weights[k * taps..(k + 1) * taps], &src[s..]);
            assert_eq!(wide[k], want, "taps {taps} pixel {k}");
            assert_eq!(base[k], want, "taps {taps} pixel {k}");
        }
    }
}

#[test]
fn summed_rows_equal_the_taps_accumulated_one_at_a_time() {
    let src: Vec<[f32; 4]> = (0..200)
        .map(|i| {
            let v = |m: usize| ((i * m) % 23) as f32 * 0.043 - 0.1;
            [v(7), v(11), v(13), v(3)]
        })
        .collect();
    // Rows of the source at different offsets; widths around the chunk of
    // eight, and tap counts from one to many.
    for (taps, width) in [(1usize, 8), (3, 7), (9, 37), (9, 40), (24, 17)] {
        let rows: Vec<&[[f32; 4]]> = (0..taps).map(|i| &src[i * 3..][..width + i]).collect();
        let weights: Vec<f32> = (0..taps)
            .map(|i| ((i * 31 % 17) as f32 - 5.0) * 0.037)
            .collect();
        let mut one_at_a_time = vec![[0f32; 4]; width];
        for (&w, row) in weights.iter().zip(&rows) {
            accumulate_row_impl(&mut one_at_a_time, w, row);
        }
        let (mut wide, mut base) = (vec![[9f32; 4]; width], vec![[9f32; 4]; width]);
        sum_rows(&mut wide, &weights, &rows);
        sum_rows_impl(&mut base, &weights, &rows);
        assert_eq!(wide, one_at_a_time, "{taps} taps, {width} wide");
        assert_eq!(base, one_at_a_time, "{taps} taps, {width} wide");
    }
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
            BlendSpace::Srgb => {
                encode_srgb_row(&row, &mut out);
                let mut portable = vec![0u8; 4096 * 4];
                encode_srgb_impl(&row, &mut portable);
                assert_eq!(out, portable, "wide and portable encoders differ");
            }
            BlendSpace::Linear => {
                encode_linear_row(&row, &mut out);
                let mut portable = vec![0u8; 4096 * 4];
                encode_linear_impl(&row, &mut portable);
                assert_eq!(out, portable, "wide and portable encoders differ");
            }
        }
        for (i, o) in out.chunks_exact(4).enumerate() {
            let want = unpremultiply_to_rgba8(row[i], space);
            for c in 0..4 {
                assert!(
                    (o[c] as i32 - want[c] as i32).abs() <= 1,
                    "{space:?} {i}: {o:?} vs {want:?}"
                );
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
    let base: Vec<[f32; 4]> = (0..4096)
        .map(|i| {
            let a = (i % 11) as f32 / 10.0;
            [a * 0.3, a * 0.6, a * 0.9, a]
        })
        .collect();
    for space in [BlendSpace::Srgb, BlendSpace::Linear] {
        let mut fused = base.clone();
        over_rgba8(&src, &mut fused, space);
        let mut portable = base.clone();
        over_rgba8_impl(&src, &mut portable, space);
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
                assert!((fused[i][c] - portable[i][c]).abs() < 1e-6);
                assert!((fused[i][c] - reference[i][c]).abs() < 1e-6);
            }
        }
    }
}

#[test]
fn quantize_row_wide_equals_store16_then_load16_on_overshoot_edges_and_nan() {
    let mut next = crate::codec::xorshift32(77);
    let mut row: Vec<[f32; 4]> = (0..4099)
        .map(|_| {
            // Mostly filter overshoot around valid premultiplied colour.
            let mut v = || (next() % 2600) as f32 / 2000.0 - 0.15;
            let a = v();
            [v() * a.max(0.0), v(), v() * 1.1, a]
        })
        .collect();
    let edges = [
        [-0.0, 0.0, 1.0, 1.0],
        [2.0, -3.0, 0.5, 0.25],
        [0.3, 0.3, 0.3, -0.5],
        [0.3, 0.9, 1.5, 1.7],
        [f32::NAN, 0.5, 0.2, 0.5],
        [0.5, 0.2, 0.1, f32::NAN],
        [1.0 / 131070.0, 3.0 / 131070.0, 0.999_99, 1.0],
    ];
    row.extend(edges);
    let mut wide = row.clone();
    quantize_row(&mut wide);
    for (i, (w, p)) in wide.iter().zip(&row).enumerate() {
        let want = load16(store16(*p));
        assert_eq!(
            w.map(f32::to_bits),
            want.map(f32::to_bits),
            "pixel {i}: {p:?}"
        );
    }
}

#[test]
fn load16_row_wide_equals_load16_per_pixel() {
    let src: Vec<[u16; 4]> = (0..1027u32)
        .map(|i| {
            let v = |k: u32| (i.wrapping_mul(2654435761u32.wrapping_mul(k + 1)) >> 16) as u16;
            [v(0), v(1), v(2), v(3).max(v(0))]
        })
        .chain([[0, 0, 0, 0], [65535; 4], [1, 2, 3, 65534]])
        .collect();
    let mut out = vec![[0f32; 4]; src.len()];
    load16_row(&src, &mut out);
    for (i, (o, p)) in out.iter().zip(&src).enumerate() {
        assert_eq!(
            o.map(f32::to_bits),
            load16(*p).map(f32::to_bits),
            "pixel {i}"
        );
    }
}
