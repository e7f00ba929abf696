use image::RgbaImage;

use super::*;
use crate::codec::flatten_pixels_over_white;

/// The blocks of `img` flattened over white, computed on the CPU the way
/// the GPU pass computes them (and `jpeg-encoder` does): the reference the
/// GPU pass is tested against.
pub(crate) fn reference_blocks(img: &RgbaImage, quality: u8) -> Vec<i16> {
    blocks_rounded(img, quality, Rounding::Libjpeg)
}

/// How the DCT's second pass rounds its rows 0 and 4.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rounding {
    /// As libjpeg's C and `jpeg-encoder`'s scalar DCT: every coefficient.
    Libjpeg,
    /// As `jpeg-encoder`'s AVX2 DCT (0.7): its rounding constant for those
    /// rows is built as 32-bit lanes of 2 and added as 16-bit lanes, so
    /// the odd columns get 0 and are rounded down.
    Avx2,
}

/// [`reference_blocks`] with the DCT's second pass rounding as `rounding`.
fn blocks_rounded(img: &RgbaImage, quality: u8, rounding: Rounding) -> Vec<i16> {
    let layout = BlockLayout::new(img.width(), img.height(), quality).unwrap();
    let tables = JpegTables::new(layout.quality).unwrap();
    let quant = tables.quantisers();
    let (w, h) = (img.width(), img.height());
    let sample = |x: u32, y: u32, c: usize| -> i32 {
        let p = img.get_pixel(x.min(w - 1), y.min(h - 1)).0;
        let mut rgb = [0u8; 3];
        flatten_pixels_over_white(&p, &mut rgb);
        let [r, g, b] = rgb.map(i32::from);
        let v = match c {
            0 => 19595 * r + 38470 * g + 7471 * b,
            1 => -11059 * r - 21709 * g + 32768 * b + (128 << 16),
            _ => 32768 * r - 27439 * g - 5329 * b + (128 << 16),
        };
        ((v + 0x7FFF) >> 16) - 128
    };
    let side = layout.mcu_side();
    let mut out = Vec::new();
    for my in 0..layout.mcu_rows() {
        for mx in 0..layout.mcu_cols() {
            for b in 0..layout.blocks_per_mcu() {
                let luma = if layout.subsampled() { 4 } else { 1 };
                let (c, step, ox, oy) = if b < luma {
                    (0, 1, (b % 2) * 8, (b / 2) * 8)
                } else {
                    (b as usize - luma as usize + 1, side / 8, 0, 0)
                };
                let mut block = [0i32; 64];
                for y in 0..8 {
                    for x in 0..8 {
                        block[y * 8 + x] = sample(
                            mx * side + ox + x as u32 * step,
                            my * side + oy + y as u32 * step,
                            c,
                        );
                    }
                }
                fdct_islow(&mut block, rounding);
                let t = usize::from(c > 0);
                for k in 0..64 {
                    let [reciprocal, correction, z, _] = quant[t * 64 + k];
                    let v = block[z as usize];
                    let q = ((v.abs() + correction) * reciprocal) >> 15;
                    out.push((if v < 0 { -q } else { q }) as i16);
                }
            }
        }
    }
    out
}

/// libjpeg's integer forward DCT ("islow", jfdctint.c), output scaled by 8.
fn fdct_islow(d: &mut [i32; 64], rounding: Rounding) {
    const FIX: [i32; 12] = [
        2446, 3196, 4433, 6270, 7373, 9633, 12299, 15137, 16069, 16819, 20995, 25172,
    ];
    let [f0_298, f0_390, f0_541, f0_765, f0_899, f1_175, f1_501, f1_847, f1_961, f2_053, f2_562, f3_072] =
        FIX;
    let descale = |x: i32, n: i32| (x + (1 << (n - 1))) >> n;
    // One 1-D pass over 8 values `at(i)`; `shift_even` is PASS1_BITS in
    // the first pass (a left shift), the odd outputs' descale is `odd`.
    let pass = |v: [i32; 8], even: &dyn Fn(i32) -> i32, odd: i32| -> [i32; 8] {
        let tmp0 = v[0] + v[7];
        let tmp7 = v[0] - v[7];
        let tmp1 = v[1] + v[6];
        let tmp6 = v[1] - v[6];
        let tmp2 = v[2] + v[5];
        let tmp5 = v[2] - v[5];
        let tmp3 = v[3] + v[4];
        let tmp4 = v[3] - v[4];
        let tmp10 = tmp0 + tmp3;
        let tmp13 = tmp0 - tmp3;
        let tmp11 = tmp1 + tmp2;
        let tmp12 = tmp1 - tmp2;
        let mut o = [0i32; 8];
        o[0] = even(tmp10 + tmp11);
        o[4] = even(tmp10 - tmp11);
        let z1 = (tmp12 + tmp13) * f0_541;
        o[2] = descale(z1 + tmp13 * f0_765, odd);
        o[6] = descale(z1 - tmp12 * f1_847, odd);
        let z1 = tmp4 + tmp7;
        let z2 = tmp5 + tmp6;
        let z3 = tmp4 + tmp6;
        let z4 = tmp5 + tmp7;
        let z5 = (z3 + z4) * f1_175;
        let tmp4 = tmp4 * f0_298;
        let tmp5 = tmp5 * f2_053;
        let tmp6 = tmp6 * f3_072;
        let tmp7 = tmp7 * f1_501;
        let z1 = -z1 * f0_899;
        let z2 = -z2 * f2_562;
        let z3 = -z3 * f1_961 + z5;
        let z4 = -z4 * f0_390 + z5;
        o[7] = descale(tmp4 + z1 + z3, odd);
        o[5] = descale(tmp5 + z2 + z4, odd);
        o[3] = descale(tmp6 + z2 + z3, odd);
        o[1] = descale(tmp7 + z1 + z4, odd);
        o
    };
    let mut rows = [0i32; 64];
    for y in 0..8 {
        let v: [i32; 8] = d[y * 8..y * 8 + 8].try_into().unwrap();
        rows[y * 8..y * 8 + 8].copy_from_slice(&pass(v, &|x| x << 2, 13 - 2));
    }
    for x in 0..8 {
        let v: [i32; 8] = std::array::from_fn(|y| rows[y * 8 + x]);
        let o = if rounding == Rounding::Avx2 && x % 2 == 1 {
            pass(v, &|x| x >> 2, 13 + 2)
        } else {
            pass(v, &|x| descale(x, 2), 13 + 2)
        };
        for y in 0..8 {
            // jpeg-encoder keeps each coefficient as an i16.
            d[y * 8 + x] = i32::from(o[y] as i16);
        }
    }
}

/// How `jpeg-encoder` rounds on this machine: its AVX2 DCT where the CPU
/// has AVX2 (x86 only), its scalar one elsewhere.
fn as_jpeg_encoder_here() -> Rounding {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    if std::is_x86_feature_detected!("avx2") {
        return Rounding::Avx2;
    }
    Rounding::Libjpeg
}

/// Gradients, noise and varying alpha (flattened over white), so that
/// blocks have AC energy, DC changes across restart strips, and values hit
/// 0xFF bytes in the bit stream.
fn image(w: u32, h: u32, seed: u64, opaque: bool) -> RgbaImage {
    let mut state = seed | 1;
    RgbaImage::from_fn(w, h, |x, y| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let noise = (state % 64) as u32;
        let a = if opaque {
            255
        } else {
            (255 - (x * 7 + y * 3) % 256) as u8
        };
        image::Rgba([
            ((x * 255 / w) ^ noise) as u8,
            ((y * 255 / h) + noise / 2) as u8,
            ((x * y + noise) % 256) as u8,
            a,
        ])
    })
}

#[test]
fn blocks_written_as_jpeg_are_byte_for_byte_the_parallel_encoders_file() {
    // Sizes below and above the strip threshold, widths and heights off
    // the MCU grid, and both samplings (below and from quality 90).
    let sizes = [
        (1, 1),
        (7, 5),
        (37, 100),
        (300, 17),
        (1200, 630),
        (1001, 777),
    ];
    for (i, &(w, h)) in sizes.iter().enumerate() {
        for quality in [1, 50, 85, 89, 90, 100] {
            for opaque in [true, false] {
                let img = image(w, h, i as u64 * 31 + u64::from(quality), opaque);
                let layout = BlockLayout::new(w, h, quality).unwrap();
                let tables = JpegTables::new(quality).unwrap();
                let blocks = blocks_rounded(&img, quality, as_jpeg_encoder_here());
                assert_eq!(blocks.len() as u64, layout.blocks() * 64);
                let ours = write_jpeg(&blocks, layout, &tables).unwrap();
                let theirs = crate::codec::jpeg::encode_over_white(&img, quality).unwrap();
                assert!(
                    ours == theirs,
                    "{w}x{h} q{quality} opaque {opaque}: {} bytes against {}",
                    ours.len(),
                    theirs.len()
                );
            }
        }
    }
}

#[test]
fn the_entropy_coder_handles_extreme_coefficients_and_long_zero_runs() {
    // DC swings of the largest size, lone coefficients after runs of more
    // than 16 zeros, the last coefficient non-zero (no end-of-block): what
    // real images seldom reach (DC from its largest value at quality 100
    // to its smallest: a difference of category 11). An independent
    // decoder must read the file.
    let layout = BlockLayout::new(16, 8, 100).unwrap();
    let tables = JpegTables::new(100).unwrap();
    let mut blocks = vec![0i16; layout.blocks() as usize * 64];
    let first: [(usize, i16); 4] = [(0, 1016), (17, -1023), (40, 1), (63, 1023)];
    for (k, v) in first {
        blocks[k] = v;
    }
    blocks[3 * 64] = -1024;
    blocks[3 * 64 + 63] = -1;
    let jpeg = write_jpeg(&blocks, layout, &tables).unwrap();
    let mut dec = jpeg_decoder::Decoder::new(&jpeg[..]);
    dec.decode().expect("an independent decoder reads the file");
    let info = dec.info().unwrap();
    assert_eq!((info.width, info.height), (16, 8));
}

#[test]
fn categories_are_the_magnitudes_bits_with_negatives_in_ones_complement() {
    assert_eq!(category(0), (0, 0));
    assert_eq!(category(1), (1, 1));
    assert_eq!(category(-1), (1, 0));
    assert_eq!(category(5), (3, 5));
    assert_eq!(category(-5), (3, 2));
    assert_eq!(category(2047), (11, 2047));
    assert_eq!(category(-2048), (12, 2047));
}

#[test]
fn the_islow_dct_matches_jpeg_encoders_on_hostile_blocks() {
    // Through the whole encoder: a flat extreme block and alternating
    // extremes, where rounding and i16 truncation matter.
    for pattern in 0..4u32 {
        let img = RgbaImage::from_fn(8, 8, |x, y| {
            let v = match pattern {
                0 => 0,
                1 => 255,
                2 => {
                    if (x + y) % 2 == 0 {
                        0
                    } else {
                        255
                    }
                }
                _ => ((x * 37 + y * 101) % 256) as u8,
            };
            image::Rgba([v, 255 - v, v / 2, 255])
        });
        for quality in [1, 90, 100] {
            let layout = BlockLayout::new(8, 8, quality).unwrap();
            let tables = JpegTables::new(quality).unwrap();
            let blocks = blocks_rounded(&img, quality, as_jpeg_encoder_here());
            let ours = write_jpeg(&blocks, layout, &tables).unwrap();
            let theirs = crate::codec::jpeg::encode_over_white(&img, quality).unwrap();
            assert!(ours == theirs, "pattern {pattern} q{quality}");
        }
    }
}

#[test]
fn blocks_baseline_jpeg_cannot_code_are_an_error_naming_the_block_not_a_panic() {
    let layout = BlockLayout::new(32, 16, 85).unwrap();
    let tables = JpegTables::new(85).unwrap();
    let n = layout.blocks() as usize * 64;
    // An AC value of 11 bits, a lone -32768 after fifteen zeros (category
    // 16: past the table's row), a DC difference of 16 bits.
    for (block, k, v) in [(3, 5, 1024i16), (7, 16, i16::MIN), (9, 0, i16::MAX)] {
        let mut blocks = vec![0i16; n];
        blocks[block * 64 + k] = v;
        match write_jpeg(&blocks, layout, &tables) {
            Err(JpegError::Coefficient { block: b }) => assert_eq!(b, block),
            other => panic!("value {v} at {block}/{k}: {other:?}"),
        }
    }
    assert!(matches!(
        BlockLayout::new(0, 5, 85),
        Err(JpegError::Empty {
            width: 0,
            height: 5
        })
    ));
    let short = vec![0i16; n - 64];
    let err = write_jpeg(&short, layout, &tables).unwrap_err().to_string();
    assert!(
        err.contains(&format!("{n} DCT coefficients")) && err.contains(&format!("{}", n - 64)),
        "{err}"
    );
}

#[test]
fn the_reference_dct_is_eight_times_the_true_dct_to_within_rounding() {
    // The islow DCT against JPEG's definition of the 2-D DCT in floating
    // point, F(u, v) = C(u) C(v) / 4 * sum s(x, y) cos((2x+1)u pi/16)
    // cos((2y+1)v pi/16), which libjpeg's output is scaled up from by 8:
    // the reference the GPU is held to is a DCT, not only self-consistent.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut worst = 0f64;
    for _ in 0..500 {
        let mut d = [0i32; 64];
        for v in &mut d {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *v = (state % 256) as i32 - 128;
        }
        let s = d;
        fdct_islow(&mut d, Rounding::Libjpeg);
        for v in 0..8 {
            for u in 0..8 {
                let c = |k: usize| {
                    if k == 0 {
                        std::f64::consts::FRAC_1_SQRT_2
                    } else {
                        1.0
                    }
                };
                let mut f = 0.0;
                for y in 0..8 {
                    for x in 0..8 {
                        let pi = std::f64::consts::PI;
                        f += s[y * 8 + x] as f64
                            * ((2 * x + 1) as f64 * u as f64 * pi / 16.0).cos()
                            * ((2 * y + 1) as f64 * v as f64 * pi / 16.0).cos();
                    }
                }
                let f = c(u) * c(v) / 4.0 * f;
                worst = worst.max((d[v * 8 + u] as f64 - 8.0 * f).abs());
            }
        }
    }
    // 1.2 over these blocks: the fixed-point constants and two roundings.
    assert!(
        worst <= 1.5,
        "the islow DCT is off by {worst} (in units of 1/8)"
    );
}
