//! 16-bit PNGs are converted to sRGB at 16 bits, rounded to 8 only after:
//! a linear-light ramp over the darkest 5% of light keeps every sRGB level
//! there, each within one level of the exact maths, where reducing to 8 bits
//! first left 14 distinct levels, some 6 off. Straight and interlaced files
//! (two decoders), a profile made from `gAMA` and an embedded grey one.

mod common;

use common::png_crc;
use common::reference::linear_to_srgb;
use impasto::codec::decode_bytes;

const W: u32 = 64;
const H: u32 = 32;

/// The ramp: 0 to 5% of light (3277 of 65535) over the image's pixels, in
/// reading order.
fn level(x: u32, y: u32) -> u16 {
    ((y * W + x) * 3277 / (W * H - 1)) as u16
}

/// Alpha of the grey-and-alpha file.
fn alpha(x: u32, y: u32) -> u16 {
    ((x * 1021 + y * 7) % 65536) as u16
}

fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = (data.len() as u32).to_be_bytes().to_vec();
    c.extend(kind);
    c.extend(data);
    let crc = png_crc(&c[4..]);
    c.extend(crc.to_be_bytes());
    c
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut z = fdeflate::Compressor::new(Vec::new()).unwrap();
    z.write_data(data).unwrap();
    z.finish().unwrap()
}

/// A 16-bit grey PNG of the ramp (with alpha when `with_alpha`), Adam7
/// interlaced when `interlaced` (written here: the `png` crate writes no
/// interlaced files), with `extra` chunks before its data.
fn ramp_png(with_alpha: bool, interlaced: bool, extra: &[Vec<u8>]) -> Vec<u8> {
    let mut ihdr = W.to_be_bytes().to_vec();
    ihdr.extend(H.to_be_bytes());
    ihdr.extend([16, if with_alpha { 4 } else { 0 }, 0, 0, interlaced as u8]);
    let pixel = |x: u32, y: u32| {
        let mut p = level(x, y).to_be_bytes().to_vec();
        if with_alpha {
            p.extend(alpha(x, y).to_be_bytes());
        }
        p
    };
    // Each pass (or the whole image): rows of its pixels, filter 0 each.
    let passes: &[(u32, u32, u32, u32)] = if interlaced {
        &[
            (0, 0, 8, 8),
            (4, 0, 8, 8),
            (0, 4, 4, 8),
            (2, 0, 4, 4),
            (0, 2, 2, 4),
            (1, 0, 2, 2),
            (0, 1, 1, 2),
        ]
    } else {
        &[(0, 0, 1, 1)]
    };
    let mut raw = Vec::new();
    for &(x0, y0, dx, dy) in passes {
        for y in (y0..H).step_by(dy as usize) {
            raw.push(0);
            for x in (x0..W).step_by(dx as usize) {
                raw.extend(pixel(x, y));
            }
        }
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &ihdr));
    for c in extra {
        png.extend(c);
    }
    png.extend(chunk(b"IDAT", &deflate(&raw)));
    png.extend(chunk(b"IEND", &[]));
    png
}

/// The grey ICC profile (linear, made by LittleCMS) of
/// tests/colour/grey-linear.png, as an `iCCP` chunk.
fn grey_linear_iccp() -> Vec<u8> {
    let file = std::fs::read("tests/colour/grey-linear.png").unwrap();
    let reader = png::Decoder::new(std::io::Cursor::new(&file[..]))
        .read_info()
        .unwrap();
    let profile = reader.info().icc_profile.as_ref().unwrap().to_vec();
    let mut data = b"grey linear\0\0".to_vec();
    data.extend(deflate(&profile));
    chunk(b"iCCP", &data)
}

/// Checks that `png` decodes to the ramp in sRGB, each level within one
/// of the exact maths, with every sRGB level of the range there; and its
/// alpha, when it has one, rounded from 16 bits.
fn check(name: &str, png: &[u8], with_alpha: bool) {
    let img = decode_bytes(png, 1 << 20).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut levels = std::collections::BTreeSet::new();
    let mut worst = 0f64;
    for (x, y, p) in img.enumerate_pixels() {
        let want = linear_to_srgb(level(x, y) as f64 / 65535.0) * 255.0;
        for &c in &p.0[..3] {
            worst = worst.max((c as f64 - want).abs());
        }
        let a = if with_alpha {
            ((alpha(x, y) as u32 + 128) / 257) as u8
        } else {
            255
        };
        assert_eq!(p.0[3], a, "{name}: alpha at {x},{y}");
        levels.insert(p.0[0]);
    }
    assert!(
        worst <= 1.0,
        "{name}: {worst:.2} levels from the exact maths"
    );
    // 5% of light is 63.5 sRGB levels.
    assert!(levels.len() >= 63, "{name}: {} levels", levels.len());
}

#[test]
fn a_16_bit_png_with_a_linear_gama_keeps_every_shadow_level() {
    let gama = chunk(b"gAMA", &100_000u32.to_be_bytes());
    check(
        "straight",
        &ramp_png(false, false, std::slice::from_ref(&gama)),
        false,
    );
    check("interlaced", &ramp_png(false, true, &[gama]), false);
}

#[test]
fn a_16_bit_grey_png_with_a_grey_profile_converts_at_16_bits_and_keeps_its_alpha() {
    let iccp = grey_linear_iccp();
    check(
        "straight",
        &ramp_png(true, false, std::slice::from_ref(&iccp)),
        true,
    );
    check("interlaced", &ramp_png(true, true, &[iccp]), true);
}
