//! The scales only this decoder has (3/8, 5/8, 6/8, 7/8): its `k`-point
//! transform against the fixed-point ones jpeg-decoder uses, the decodes
//! against a full-size decode filtered down, and the same guarantees as at
//! the other scales (rows, chunks, AVX2 and baseline give the same bytes).

use super::k_point::{idct3, idct3_x8, idct_n, LANES};
use super::pixels::{idct1, idct2, idct4};
use super::tests::{encode, SAMPLINGS};
use super::*;
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

/// Random blocks shaped like a photo's: a DC anywhere, AC coefficients
/// that shrink with frequency, quantisation steps of a quality-50 table.
fn blocks(k: usize, count: usize) -> Vec<([i16; 64], [u16; 64])> {
    let mut next = crate::codec::xorshift32(0xB10C + k as u32);
    (0..count)
        .map(|_| {
            let mut c = [0i16; 64];
            let mut q = [0u16; 64];
            for (i, q) in q.iter_mut().enumerate() {
                *q = 4 + (i as u16 % 8 + i as u16 / 8) * 3 + (next() % 5) as u16;
            }
            for v in 0..k {
                for u in 0..k {
                    let span = if u + v == 0 {
                        256
                    } else {
                        24 / (u + v) as u32 + 1
                    };
                    c[v * k + u] = (next() % (2 * span + 1)) as i16 - span as i16;
                }
            }
            (c, q)
        })
        .collect()
}

#[test]
fn the_k_point_transform_is_within_a_level_of_the_fixed_point_ones() {
    for k in [1, 2, 4] {
        let mut worst = 0;
        for (c, q) in blocks(k, 4000) {
            let (mut fixed, mut ours) = ([0u8; 16], [0u8; 16]);
            match k {
                4 => idct4(&c, &q, &mut fixed, 4),
                2 => idct2(&c, &q, &mut fixed, 4),
                _ => idct1(&c, &q, &mut fixed, false),
            }
            idct_n(&c, &q, &mut ours, 4, k);
            if k == 1 {
                // Rounded (impasto's own 1/8), it is the matrix form exactly.
                let mut rounded = [0u8; 1];
                idct1(&c, &q, &mut rounded, true);
                assert_eq!(rounded[0], ours[0], "{c:?}");
            }
            for y in 0..k {
                for x in 0..k {
                    worst = worst.max(fixed[y * 4 + x].abs_diff(ours[y * 4 + x]));
                }
            }
        }
        // idct1 truncates where the others round: one level either way.
        assert!(worst <= 1, "{k}x{k}: {worst} levels apart");
    }
}

#[test]
fn the_fixed_point_3_point_transform_is_within_a_level_of_the_matrix_form() {
    let mut worst = 0;
    for (c, q) in blocks(3, 20_000) {
        let (mut fast, mut matrix) = ([0u8; 12], [0u8; 12]);
        idct3(&c, &q, &mut fast, 4);
        idct_n(&c, &q, &mut matrix, 4, 3);
        for (a, b) in fast.iter().zip(&matrix) {
            worst = worst.max(a.abs_diff(*b));
        }
    }
    assert!(worst <= 1, "{worst} levels apart");
    // Coefficients no encoder writes wrap without a panic.
    let mut c = [i16::MIN; 64];
    c[4] = i16::MAX;
    idct3(&c, &[u16::MAX; 64], &mut [0u8; 12], 4);
}

#[test]
fn eight_blocks_at_a_time_give_the_3_point_transforms_bytes() {
    let mut photo_like = blocks(3, 8 * 2_000);
    // Hostile coefficients and steps, which wrap.
    let mut next = crate::codec::xorshift32(0x3E8);
    for (c, q) in photo_like.iter_mut().step_by(7) {
        for v in c.iter_mut().take(9) {
            *v = next() as i16;
        }
        for s in q.iter_mut() {
            *s = next() as u16;
        }
    }
    let stride = 3 * LANES + 5;
    for group in photo_like.chunks_exact(LANES) {
        // One table per call, as for one component's row of blocks.
        let q = group[0].1;
        let (mut one, mut eight) = (vec![0u8; 3 * stride], vec![0u8; 3 * stride]);
        for (b, (c, _)) in group.iter().enumerate() {
            idct3(c, &q, &mut one[3 * b..], stride);
        }
        let lanes = std::array::from_fn(|b| group[b].0.first_chunk::<9>().unwrap());
        idct3_x8(lanes, &q, &mut eight, stride);
        assert_eq!(one, eight);
    }
}

#[test]
fn a_flat_block_keeps_its_level_at_every_scale() {
    let q = [1u16; 64];
    for k in 1..8 {
        for dc in [-1024i16, -80, 0, 8, 1016] {
            let mut c = [0i16; 64];
            c[0] = dc;
            let mut out = [0u8; 64];
            idct_n(&c, &q, &mut out, 8, k);
            let want = (f64::from(dc) / 8.0 + 128.0).round().clamp(0.0, 255.0) as u8;
            for y in 0..k {
                assert!(out[y * 8..y * 8 + k].iter().all(|&v| v == want), "{k} {dc}");
            }
        }
    }
}

/// A smooth `w` x `h` RGB JPEG (no grain: what a downscale keeps).
fn smooth(w: u16, h: u16, sampling: SamplingFactor) -> Vec<u8> {
    let (wf, hf) = (f64::from(w), f64::from(h));
    let px: Vec<u8> = (0..usize::from(w) * usize::from(h))
        .flat_map(|i| {
            let (x, y) = ((i % usize::from(w)) as f64, (i / usize::from(w)) as f64);
            let r = 128.0 + 100.0 * (x / wf * 7.0).sin() * (y / hf * 3.0).cos();
            let g = 128.0 + 90.0 * (x / wf * 2.0 + y / hf * 5.0).sin();
            let b = 40.0 + 180.0 * x / wf;
            [r as u8, g as u8, b as u8]
        })
        .collect();
    let mut out = Vec::new();
    let mut enc = Encoder::new(&mut out, 95);
    enc.set_sampling_factor(sampling);
    enc.encode(&px, w, h, ColorType::Rgb).unwrap();
    out
}

#[test]
fn a_decode_at_k_eighths_is_close_to_the_full_decode_filtered_down() {
    let (w, h) = (400u16, 304u16);
    for sampling in SAMPLINGS {
        let bytes = smooth(w, h, sampling);
        let full = image::load_from_memory(&bytes).unwrap().to_rgba8();
        for k in [3usize, 5, 6, 7] {
            let (img, first) = decode(&bytes, k as u32, None).unwrap();
            assert_eq!(first, 0);
            let size = (scaled(w.into(), k), scaled(h.into(), k));
            assert_eq!((img.width() as usize, img.height() as usize), size);
            let want = image::imageops::resize(
                &full,
                size.0 as u32,
                size.1 as u32,
                image::imageops::FilterType::Triangle,
            );
            // Measured: mean 0.21-0.36 levels, worst 2-3.
            let (mut sum, mut worst) = (0u64, 0u8);
            for (a, b) in img.as_raw().iter().zip(want.as_raw()) {
                sum += u64::from(a.abs_diff(*b));
                worst = worst.max(a.abs_diff(*b));
            }
            let mean = sum as f64 / img.as_raw().len() as f64;
            assert!(
                mean < 0.6 && worst <= 6,
                "{sampling:?} {k}/8: mean {mean:.2}, worst {worst}"
            );
        }
    }
}

#[test]
fn rows_chunks_and_both_compilations_give_the_whole_images_bytes() {
    use crate::cpu::kernels::PORTABLE_STAGES;
    use std::sync::atomic::Ordering;
    for sampling in SAMPLINGS {
        for restart in [0, 5] {
            let bytes = encode(203, 300, false, 90, sampling, restart);
            let header = header::parse(&bytes).unwrap();
            for k in [3usize, 5, 6, 7] {
                let (all, _) = decode(&bytes, k as u32, None).unwrap();
                let (w, h) = (all.width() as usize, all.height() as usize);
                PORTABLE_STAGES.store(true, Ordering::Relaxed);
                let portable = decode(&bytes, k as u32, None);
                PORTABLE_STAGES.store(false, Ordering::Relaxed);
                let what = format!("{sampling:?} rst{restart} {k}/8");
                assert!(
                    portable.map(|p| p.0) == Some(all.clone()),
                    "{what}: baseline"
                );
                for (a, b) in [(0, 1), (5, 9), (60, 70), (h - 3, h)] {
                    let (img, first) = decode(&bytes, k as u32, Some((a, b))).unwrap();
                    let rows = &all.as_raw()[a * w * 4..b * w * 4];
                    assert_eq!(first, a, "{what} rows {a}..{b}");
                    assert!(img.as_raw()[..] == *rows, "{what} rows {a}..{b}");
                    let mut layout = scan::Layout::new(&header, k);
                    layout.limit_rows(pixels::mcu_rows_read(&layout, (w, h), (a, b)));
                    let coefs = scan::decode_chunked(&layout, 5, 256).unwrap();
                    let got = pixels::render(&layout, &coefs, (w, h), (a, b));
                    assert!(got.as_raw()[..] == *rows, "{what} rows {a}..{b}, 5 chunks");
                }
            }
        }
    }
}

/// Squares of `side` pixels, red and blue in turn (the detail is mostly
/// in the chroma): the pixels, and the file (4:2:0, quality 95).
fn colour_squares(w: u16, h: u16, side: usize) -> (image::RgbaImage, Vec<u8>) {
    let px = image::RgbaImage::from_fn(w.into(), h.into(), |x, y| {
        if (x as usize / side + y as usize / side).is_multiple_of(2) {
            image::Rgba([200, 60, 40, 255])
        } else {
            image::Rgba([40, 90, 230, 255])
        }
    });
    let rgb = image::DynamicImage::ImageRgba8(px.clone()).to_rgb8();
    let mut out = Vec::new();
    let mut enc = Encoder::new(&mut out, 95);
    enc.set_sampling_factor(SamplingFactor::F_2_2);
    enc.encode(rgb.as_raw(), w, h, ColorType::Rgb).unwrap();
    (px, out)
}

/// `img` averaged over `d` x `d` squares (what a decode at 1/`d` shows).
fn box_down(img: &image::RgbaImage, d: u32) -> image::RgbaImage {
    image::RgbaImage::from_fn(img.width() / d, img.height() / d, |x, y| {
        let mut sum = [0u32; 4];
        for dy in 0..d {
            for dx in 0..d {
                let p = img.get_pixel(x * d + dx, y * d + dy).0;
                for c in 0..4 {
                    sum[c] += u32::from(p[c]);
                }
            }
        }
        image::Rgba(sum.map(|s| ((s + d * d / 2) / (d * d)) as u8))
    })
}

/// Mean difference per channel of two same-sized images.
fn mean_differences(a: &image::RgbaImage, b: &image::RgbaImage) -> [f64; 3] {
    let mut sum = [0u64; 3];
    for (p, q) in a.pixels().zip(b.pixels()) {
        for (c, total) in sum.iter_mut().enumerate() {
            *total += u64::from(p.0[c].abs_diff(q.0[c]));
        }
    }
    let n = f64::from(a.width() * a.height());
    sum.map(|s| s as f64 / n)
}

#[test]
fn chroma_of_4_2_0_files_is_as_sharp_as_the_full_decode_at_1_8_1_4_and_1_2() {
    // Red and blue squares of 8, 16 and 32 pixels, against the squares
    // averaged down. Measured, mean levels per channel (R, G, B): the full
    // decode averaged down 4.7-17.9, 0.9-4.9, 6.0-23.6; chroma at the
    // luma's scale 1.0-14.0, 0.0-4.0, 0.5-17.6; chroma at half of it (as
    // jpeg-decoder) 9.2-75.5, 2.2-19.5, 11.5-99.5.
    let (w, h) = (512u16, 384u16);
    for side in [8usize, 16, 32] {
        let (px, bytes) = colour_squares(w, h, side);
        let full = image::load_from_memory(&bytes).unwrap().to_rgba8();
        for k in [1usize, 2, 4] {
            let want = box_down(&px, 8 / k as u32);
            let full_mean = mean_differences(&box_down(&full, 8 / k as u32), &want);
            let (ours, _) = decode(&bytes, k as u32, None).unwrap();
            let mean = mean_differences(&ours, &want);
            for c in 0..3 {
                assert!(
                    mean[c] <= full_mean[c] + 0.5,
                    "side {side} {k}/8 channel {c}: {mean:.2?}, full decode {full_mean:.2?}"
                );
            }
        }
    }
}

#[test]
fn a_decode_at_one_eighth_is_not_biased_darker() {
    // The DC-only transform rounded (jpeg-decoder truncates: R and B came
    // out a level darker on 4:4:4, all channels half a level on 4:2:0).
    // Measured against the full decode averaged down: 0.29, -0.01, 0.32
    // on 4:4:4 (truncated: -0.90, 0.02, -1.05).
    for sampling in [SamplingFactor::F_1_1, SamplingFactor::F_2_2] {
        let bytes = smooth(512, 384, sampling);
        let full = image::load_from_memory(&bytes).unwrap().to_rgba8();
        let want = box_down(&full, 8);
        let (ours, _) = decode(&bytes, 1, None).unwrap();
        let mut bias = [0f64; 3];
        for (p, q) in ours.pixels().zip(want.pixels()) {
            for (c, b) in bias.iter_mut().enumerate() {
                *b += f64::from(p.0[c]) - f64::from(q.0[c]);
            }
        }
        let n = f64::from(ours.width() * ours.height());
        let bias = bias.map(|b| b / n);
        assert!(
            bias.iter().all(|b| b.abs() < 0.45),
            "{sampling:?}: signed mean difference {bias:.2?}"
        );
    }
}

#[test]
fn chroma_of_4_2_0_files_at_5_8_is_closer_to_the_squares_than_at_half_resolution() {
    // Red and blue squares of 8, 16 and 32 pixels, against the squares
    // themselves filtered down. Measured at 5/8, mean levels summed over
    // R, G and B: ours 9.6-38.0, the full decode filtered down 8.2-27.6,
    // chroma transformed at the luma's scale and upsampled (6/8 and 7/8
    // still are) 10.4-56.1.
    let (w, h) = (512u16, 384u16);
    for side in [8usize, 16, 32] {
        let (px, bytes) = colour_squares(w, h, side);
        let full = image::load_from_memory(&bytes).unwrap().to_rgba8();
        let k = 5usize;
        let size = (scaled(w.into(), k) as u32, scaled(h.into(), k) as u32);
        let down = |img: &image::RgbaImage| {
            image::imageops::resize(img, size.0, size.1, image::imageops::FilterType::Triangle)
        };
        let want = down(&px);
        let full_mean = mean_differences(&down(&full), &want);
        let (ours, _) = decode(&bytes, k as u32, None).unwrap();
        let mean = mean_differences(&ours, &want);
        let (half, _) = tests::as_jpeg_decoder(|| decode(&bytes, k as u32, None)).unwrap();
        let half_mean = mean_differences(&half, &want);
        let sum = |m: [f64; 3]| m.iter().sum::<f64>();
        assert!(
            sum(mean) < sum(half_mean) && sum(mean) <= 1.5 * sum(full_mean),
            "side {side} {k}/8: ours {mean:.2?}, full {full_mean:.2?}, half {half_mean:.2?}"
        );
    }
}
