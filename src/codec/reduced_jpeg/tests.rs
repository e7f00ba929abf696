//! The reduced decoder against `jpeg-decoder`, byte for byte.

use super::*;
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

/// Photo-like pixels: smooth colour fields with grain, so blocks carry AC
/// energy of every size.
fn photo(w: u16, h: u16, channels: usize, seed: u32) -> Vec<u8> {
    let mut next = crate::codec::xorshift32(seed | 1);
    let (w, h) = (usize::from(w), usize::from(h));
    let mut px = Vec::with_capacity(w * h * channels);
    for y in 0..h {
        for x in 0..w {
            for c in 0..channels {
                let smooth = (x * (3 + c) * 255 / w.max(1) + y * 200 / h.max(1)) / 2;
                let grain = (next() % 40) as usize;
                px.push(((smooth + grain) % 256) as u8);
            }
        }
    }
    px
}

pub(super) fn encode(
    w: u16,
    h: u16,
    grey: bool,
    q: u8,
    sampling: SamplingFactor,
    restart: u16,
) -> Vec<u8> {
    let channels = if grey { 1 } else { 3 };
    let px = photo(w, h, channels, u32::from(w) * 31 + u32::from(h));
    let mut out = Vec::new();
    let mut enc = Encoder::new(&mut out, q);
    enc.set_sampling_factor(sampling);
    enc.set_restart_interval(restart);
    let ct = if grey {
        ColorType::Luma
    } else {
        ColorType::Rgb
    };
    enc.encode(&px, w, h, ct).unwrap();
    out
}

/// jpeg-decoder's pixels at 1/`d`, as RGBA; `None` when it refuses, or
/// when its nearest scale does not give the size asked for.
fn reference(bytes: &[u8], d: u32) -> Option<Vec<u8>> {
    let mut dec = jpeg_decoder::Decoder::new(bytes);
    dec.read_info().ok()?;
    let info = dec.info()?;
    let (w, h) = (
        u32::from(info.width).div_ceil(d),
        u32::from(info.height).div_ceil(d),
    );
    if dec.scale(w as u16, h as u16).ok()? != (w as u16, h as u16) {
        return None; // impasto then decodes at full size
    }
    let px = dec.decode().ok()?;
    let rgba = match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 => px.iter().flat_map(|&g| [g, g, g, 255]).collect(),
        jpeg_decoder::PixelFormat::RGB24 => px
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
        _ => return None,
    };
    Some(rgba)
}

/// Ours at 1/`d` with the scan cut into chunks of at least `min_chunk`
/// bytes for up to `threads` threads.
fn ours(bytes: &[u8], d: u32, threads: usize, min_chunk: usize) -> Option<Vec<u8>> {
    let header = header::parse(bytes)?;
    let want = (
        header.width.div_ceil(d as usize),
        header.height.div_ceil(d as usize),
    );
    let k = idct_size((header.width, header.height), want);
    let layout = scan::Layout::new(&header, k);
    let coefs = scan::decode_chunked(&layout, threads, min_chunk).ok()?;
    let (w, h) = (
        header.width.div_ceil(d as usize),
        header.height.div_ceil(d as usize),
    );
    Some(pixels::render(&layout, &coefs, (w, h), (0, h)).into_raw())
}

/// `f` run with every component transformed at the luma's scale, as
/// jpeg-decoder does (by default 4:2:0 chroma keeps twice the luma's
/// coefficients: `scan::full_chroma`), so that pixels compare with its own.
pub(super) fn as_jpeg_decoder<T>(f: impl FnOnce() -> T) -> T {
    scan::AS_JPEG_DECODER.with(|on| on.set(true));
    let out = f();
    scan::AS_JPEG_DECODER.with(|on| on.set(false));
    out
}

/// Ours, every row.
fn whole(bytes: &[u8], d: u32) -> Option<RgbaImage> {
    decode(bytes, 8 / d, None).map(|(img, first)| {
        assert_eq!(first, 0);
        img
    })
}

pub(super) const SAMPLINGS: [SamplingFactor; 4] = [
    SamplingFactor::F_1_1,
    SamplingFactor::F_2_1,
    SamplingFactor::F_1_2,
    SamplingFactor::F_2_2,
];

#[test]
fn every_size_subsampling_quality_restart_interval_and_scale_matches_jpeg_decoder_exactly() {
    // The last spans several of the pixel stage's bands at every scale.
    let sizes = [
        (1, 1),
        (7, 5),
        (8, 8),
        (17, 33),
        (100, 61),
        (257, 130),
        (121, 1043),
    ];
    for (w, h) in sizes {
        for sampling in SAMPLINGS {
            for (q, restart) in [(60, 0), (95, 0), (90, 1), (75, 7)] {
                let bytes = encode(w, h, false, q, sampling, restart);
                for d in [2, 4, 8] {
                    let got = as_jpeg_decoder(|| whole(&bytes, d)).map(RgbaImage::into_raw);
                    let what = format!("{w}x{h} {sampling:?} q{q} rst{restart} 1/{d}");
                    assert!(got == reference(&bytes, d), "{what}");
                    assert!(got.is_some() || w.min(h) < 8, "{what}: not covered");
                }
            }
        }
    }
}

#[test]
fn the_pixel_stage_gives_the_same_bytes_compiled_for_avx2_and_for_the_baseline() {
    use crate::cpu::kernels::PORTABLE_STAGES;
    use std::sync::atomic::Ordering;
    for sampling in SAMPLINGS {
        for grey in [false, true] {
            let bytes = encode(257, 130, grey, 90, sampling, 0);
            for d in [2, 4, 8] {
                let wide = whole(&bytes, d).unwrap();
                PORTABLE_STAGES.store(true, Ordering::Relaxed);
                let portable = whole(&bytes, d);
                PORTABLE_STAGES.store(false, Ordering::Relaxed);
                assert!(
                    portable.as_ref() == Some(&wide),
                    "{sampling:?} grey {grey} 1/{d}"
                );
            }
        }
    }
}

#[test]
#[allow(clippy::excessive_precision)] // jpeg-decoder's digits
fn the_hand_written_4x4_transform_gives_the_scalar_forms_bytes_at_every_extreme() {
    // jpeg-decoder's constants, and any others: the kernel must wrap and
    // saturate exactly as the scalar form for every input.
    let f2f12 = |x: f32| (x * 4096.0 + 0.5) as i32;
    let real = [f2f12(0.541196100), f2f12(-1.847759065), f2f12(0.765366865)];
    let bias = (1 << 16) + (128 << 17);
    let mut next = crate::codec::xorshift32(0x9e37_79b9);
    let mut compared = 0;
    for case in 0..20_000 {
        let mut pick = |small: u32| -> i16 {
            match next() % 8 {
                0 => i16::MIN,
                1 => i16::MAX,
                2 => 0,
                _ => (i64::from(next() % (2 * small + 1)) - i64::from(small)) as i16,
            }
        };
        let c: Vec<i16> = (0..17)
            .map(|_| pick(if case % 2 == 0 { 64 } else { 32767 }))
            .collect();
        let q: [u16; 64] = std::array::from_fn(|_| match next() % 6 {
            0 => u16::MAX,
            1 => 1,
            _ => (next() % 255 + 1) as u16,
        });
        let (k, b) = if case % 3 == 0 {
            ([next() as i32, next() as i32, next() as i32], next() as i32)
        } else {
            (real, bias)
        };
        let scalar = pixels::idct4_scalar(&c, &q, k, b);
        match crate::cpu::kernels::idct4_reduced(&c, &q, k, b) {
            Some(fast) => {
                assert_eq!(fast, scalar, "case {case}: {c:?}");
                compared += 1;
            }
            None => break,
        }
    }
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        assert_eq!(compared, 20_000, "the kernel must run where AVX2 is");
    }
    if compared == 0 {
        eprintln!("no hand-written 4x4 transform on this processor: nothing to compare");
    }
}

/// Ours at 1/`d`, rows `[first, end)` only (the scan decoded as far as
/// they need), with the scan cut as in [`ours`].
fn ours_rows(
    bytes: &[u8],
    d: u32,
    threads: usize,
    (first, end): (usize, usize),
) -> Option<Vec<u8>> {
    let header = header::parse(bytes)?;
    let want = (
        header.width.div_ceil(d as usize),
        header.height.div_ceil(d as usize),
    );
    let mut layout = scan::Layout::new(&header, idct_size((header.width, header.height), want));
    layout.limit_rows(pixels::mcu_rows_read(&layout, want, (first, end)));
    let coefs = scan::decode_chunked(&layout, threads, 256).ok()?;
    Some(pixels::render(&layout, &coefs, want, (first, end)).into_raw())
}

#[test]
fn a_range_of_rows_is_exactly_those_rows_of_the_whole_image() {
    for sampling in SAMPLINGS {
        for restart in [0, 5] {
            let bytes = encode(203, 700, false, 90, sampling, restart);
            for d in [2, 4, 8] {
                let all = whole(&bytes, d).unwrap();
                let (w, h) = (all.width() as usize, all.height() as usize);
                // Within one band, across band boundaries, the edges, past
                // the end (clamped), and an empty range (the whole image).
                for (a, b) in [(0, 1), (5, 9), (60, 70), (63, 200), (h - 3, h + 9), (7, 7)] {
                    let (img, first) = decode(&bytes, 8 / d, Some((a, b))).unwrap();
                    let (want_first, want_end) = if a.min(h) < b.min(h) {
                        (a, b.min(h))
                    } else {
                        (0, h)
                    };
                    let what = format!("{sampling:?} rst{restart} 1/{d} rows {a}..{b}");
                    assert_eq!(first, want_first, "{what}");
                    assert_eq!(img.width() as usize, w, "{what}");
                    assert_eq!(img.height() as usize, want_end - want_first, "{what}");
                    let rows = &all.as_raw()[want_first * w * 4..want_end * w * 4];
                    assert!(img.as_raw()[..] == *rows, "{what}");
                    // The scan cut into speculative chunks, decoded only as
                    // far as the rows need.
                    for threads in [2, 5] {
                        let got = ours_rows(&bytes, d, threads, (want_first, want_end));
                        assert!(got.as_deref() == Some(rows), "{what}, {threads} chunks");
                    }
                }
            }
        }
    }
}

#[test]
fn rows_whose_data_outruns_their_share_are_decoded_in_more_rounds_with_the_same_pixels() {
    // Grain in the top three quarters, flat grey below: the top rows hold
    // nearly all of the scan, far past their share of it, so the first
    // round's chunks stop short and further rounds go on from the chain.
    let (w, h) = (320u16, 640u16);
    let mut px = photo(w, h, 3, 7);
    px[usize::from(w) * 480 * 3..].fill(128);
    let mut bytes = Vec::new();
    let mut enc = Encoder::new(&mut bytes, 95);
    enc.set_sampling_factor(SamplingFactor::F_2_2);
    enc.encode(&px, w, h, ColorType::Rgb).unwrap();
    let all = whole(&bytes, 2).unwrap().into_raw();
    let row = 160 * 4;
    for threads in [2, 3, 8] {
        let before = scan::LATER_ROUNDS.with(|r| r.get());
        let got = ours_rows(&bytes, 2, threads, (0, 236)).unwrap();
        assert!(got[..] == all[..236 * row], "{threads} chunks");
        let rounds = scan::LATER_ROUNDS.with(|r| r.get()) - before;
        assert!(rounds > 0, "{threads} chunks: one round did it all");
    }
}

#[test]
fn grey_files_match_jpeg_decoder_exactly() {
    for (w, h) in [(1, 9), (33, 17), (300, 200)] {
        for restart in [0, 3] {
            let bytes = encode(w, h, true, 85, SamplingFactor::F_1_1, restart);
            for d in [2, 4, 8] {
                let got = as_jpeg_decoder(|| whole(&bytes, d)).map(RgbaImage::into_raw);
                assert!(got == reference(&bytes, d), "{w}x{h} rst{restart} 1/{d}");
                assert!(got.is_some() || w.min(h) < 8, "{w}x{h} 1/{d}: not covered");
            }
        }
    }
}

#[test]
fn speculative_chunks_rejoin_and_give_the_serial_result_for_any_number_of_chunks() {
    for sampling in [SamplingFactor::F_2_2, SamplingFactor::F_1_1] {
        let bytes = encode(480, 360, false, 92, sampling, 0);
        for d in [2, 8] {
            let expected = reference(&bytes, d).unwrap();
            let serial = ours(&bytes, d, 1, 256).expect("covered");
            for threads in [1, 2, 3, 8, 31] {
                let got = as_jpeg_decoder(|| ours(&bytes, d, threads, 256)).expect("covered");
                assert!(got == expected, "{sampling:?} 1/{d} {threads} chunks");
                // And with 4:2:0 chroma at the luma's scale.
                let got = ours(&bytes, d, threads, 256).expect("covered");
                assert!(
                    got == serial,
                    "{sampling:?} 1/{d} {threads} chunks, full chroma"
                );
            }
        }
    }
}

#[test]
fn files_outside_the_reduced_decoder_are_left_to_jpeg_decoder() {
    let mut progressive = Vec::new();
    let mut enc = Encoder::new(&mut progressive, 80);
    enc.set_progressive(true);
    enc.encode(&photo(64, 64, 3, 5), 64, 64, ColorType::Rgb)
        .unwrap();
    assert!(whole(&progressive, 2).is_none());
    let cmyk = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/colour/cmyk.jpg"
    ))
    .unwrap();
    assert!(whole(&cmyk, 2).is_none());
    let plain = encode(64, 64, false, 80, SamplingFactor::F_2_2, 0);
    assert!(
        whole(&plain, 1).is_none(),
        "full size is not a reduced decode"
    );
    assert!(whole(&plain[..plain.len() - 2], 2).is_none(), "no EOI");
}

#[test]
fn the_bundled_photo_matches_jpeg_decoder_exactly() {
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/poster/coffee.jpg"
    ))
    .unwrap();
    for d in [2, 4, 8] {
        let expected = reference(&bytes, d).unwrap();
        for threads in [1, 4] {
            assert!(
                as_jpeg_decoder(|| ours(&bytes, d, threads, 4096)).unwrap() == expected,
                "1/{d} {threads}"
            );
        }
    }
}

#[test]
fn corrupted_scans_never_panic_and_decode_as_jpeg_decoder_does_or_are_left_to_it() {
    corruption_campaign(0x5EED, 150);
}

/// The campaign behind the test above, longer: `cargo test --release --lib
/// reduced_jpeg -- --ignored` (docs/robustness.md).
#[test]
#[ignore]
fn corruption_campaign_of_twenty_thousand_files() {
    corruption_campaign(0xC0FFEE, 10_000);
}

/// `per_base` mutations of a file without and one with restart markers,
/// each decoded by both decoders, ours on one and on five chunks.
fn corruption_campaign(seed: u32, per_base: usize) {
    let clean = encode(160, 120, false, 90, SamplingFactor::F_2_2, 0);
    let with_restarts = encode(160, 120, false, 90, SamplingFactor::F_2_1, 4);
    let mut next = crate::codec::xorshift32(seed);
    let (mut same, mut left) = (0, 0);
    for (i, base) in [clean, with_restarts].iter().enumerate() {
        let sos = base.windows(2).rposition(|w| w == [0xFF, 0xDA]).unwrap() + 14;
        for _ in 0..per_base {
            let mut bytes = base.clone();
            for _ in 0..1 + next() % 4 {
                let at = sos + (next() as usize) % (bytes.len() - sos - 2);
                bytes[at] = next() as u8;
            }
            // The scales of this decoder's own transform: no panic, and
            // a decode where the data allows one.
            for k in [3, 6] {
                let _ = decode(&bytes, k, (k == 3).then_some((2, 30)));
            }
            let expected = reference(&bytes, 2);
            // With 4:2:0 chroma at the luma's scale (the default): the same
            // pixels on one chunk and on five, or left to jpeg-decoder.
            let full = [1, 5].map(|threads| ours(&bytes, 2, threads, 64));
            assert!(full[0] == full[1], "file {i}: chunks differ");
            assert!(
                full[0].is_none() || expected.is_some(),
                "file {i}: decoded what jpeg-decoder refuses"
            );
            for threads in [1, 5] {
                match (as_jpeg_decoder(|| ours(&bytes, 2, threads, 64)), &expected) {
                    (None, _) => left += 1,
                    (Some(got), Some(e)) => {
                        assert!(got == *e, "file {i}: differs from jpeg-decoder");
                        same += 1;
                    }
                    (Some(_), None) => panic!("file {i}: decoded what jpeg-decoder refuses"),
                }
            }
            // Rows 8..24 of 60, the scan decoded only as far as they need:
            // the rows jpeg-decoder gives, or left to it. (Damage past the
            // rows read goes unseen, as in any decoder that stops early.)
            let rows = as_jpeg_decoder(|| ours_rows(&bytes, 2, 5, (8, 24)));
            if let (Some(got), Some(e)) = (rows, &expected) {
                assert!(
                    got[..] == e[8 * 80 * 4..24 * 80 * 4],
                    "file {i}: rows differ"
                );
            }
        }
    }
    assert!(
        same > 100 && left > 0,
        "{same} equal, {left} left to jpeg-decoder"
    );
}
