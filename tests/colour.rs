//! Colour management on decode, checked against LittleCMS: images carrying
//! Adobe RGB (1998), Display P3, ProPhoto and linear-grey ICC profiles
//! (JPEG APP2, PNG iCCP, WebP ICCP) decode to the sRGB values LittleCMS 2
//! gives (relative colorimetric, no black-point compensation), within one
//! level. The fixtures and the numbers come from
//! tests/colour/make_fixtures.py (run by hand, not by CI).

use std::path::PathBuf;

use impasto::codec::{decode_bytes, decode_file, encode, OutputFormat};

type Case = (&'static str, &'static [([u8; 3], [u8; 3])]);

// LittleCMS 2.19, Pillow 13.0.0:
// (file, [(source pixel as libjpeg decodes it, LittleCMS sRGB)])
#[rustfmt::skip]
const LITTLECMS: &[Case] = &[
("adobe-rgb.png", &[([200, 100, 50], [227, 100, 42]), ([0, 0, 0], [0, 0, 0]), ([255, 255, 255], [255, 255, 255]), ([255, 0, 0], [255, 0, 0]), ([0, 255, 0], [0, 255, 0]), ([0, 0, 255], [0, 0, 255]), ([30, 200, 120], [0, 201, 116]), ([128, 128, 128], [129, 129, 129]), ([10, 20, 30], [0, 12, 24]), ([240, 230, 140], [244, 231, 136])]),
("adobe-rgb.jpg", &[([200, 100, 50], [227, 100, 42]), ([0, 0, 0], [0, 0, 0]), ([255, 255, 255], [255, 255, 255]), ([254, 0, 0], [255, 0, 0]), ([0, 255, 1], [0, 255, 0]), ([0, 0, 254], [0, 0, 255]), ([31, 199, 121], [0, 200, 117]), ([128, 128, 128], [129, 129, 129]), ([10, 20, 30], [0, 12, 24]), ([240, 231, 140], [244, 232, 136])]),
("display-p3.png", &[([200, 100, 50], [215, 93, 31]), ([0, 0, 0], [0, 0, 0]), ([255, 255, 255], [255, 255, 255]), ([255, 0, 0], [255, 0, 0]), ([0, 255, 0], [0, 255, 0]), ([0, 0, 255], [0, 0, 255]), ([30, 200, 120], [0, 204, 112]), ([128, 128, 128], [128, 128, 128]), ([10, 20, 30], [7, 20, 31]), ([240, 230, 140], [242, 230, 126])]),
("display-p3.jpg", &[([200, 100, 50], [215, 93, 31]), ([0, 0, 0], [0, 0, 0]), ([255, 255, 255], [255, 255, 255]), ([254, 0, 0], [255, 0, 0]), ([0, 255, 1], [0, 255, 0]), ([0, 0, 254], [0, 0, 255]), ([31, 199, 121], [0, 203, 113]), ([128, 128, 128], [128, 128, 128]), ([10, 20, 30], [7, 20, 31]), ([240, 231, 140], [242, 231, 126])]),
("display-p3.webp", &[([200, 100, 50], [215, 93, 31]), ([0, 0, 0], [0, 0, 0]), ([255, 255, 255], [255, 255, 255]), ([255, 0, 0], [255, 0, 0]), ([0, 255, 0], [0, 255, 0]), ([0, 0, 255], [0, 0, 255]), ([30, 200, 120], [0, 204, 112]), ([128, 128, 128], [128, 128, 128]), ([10, 20, 30], [7, 20, 31]), ([240, 230, 140], [242, 230, 126])]),
("prophoto.png", &[([200, 100, 50], [255, 80, 47]), ([0, 0, 0], [0, 0, 0]), ([255, 255, 255], [255, 255, 255]), ([255, 0, 0], [255, 0, 0]), ([0, 255, 0], [0, 255, 0]), ([0, 0, 255], [0, 0, 255]), ([30, 200, 120], [0, 230, 124]), ([128, 128, 128], [146, 146, 146]), ([10, 20, 30], [0, 28, 42]), ([240, 230, 140], [255, 233, 139])]),
("prophoto.jpg", &[([200, 100, 50], [255, 80, 47]), ([0, 0, 0], [0, 0, 0]), ([255, 255, 255], [255, 255, 255]), ([254, 0, 0], [255, 0, 0]), ([0, 255, 1], [0, 255, 0]), ([0, 0, 254], [0, 0, 255]), ([31, 199, 121], [0, 229, 125]), ([128, 128, 128], [146, 146, 146]), ([10, 20, 30], [0, 28, 42]), ([240, 231, 140], [255, 234, 139])]),
("grey-linear.png", &[([0, 0, 0], [0, 0, 0]), ([10, 10, 10], [55, 55, 55]), ([50, 50, 50], [122, 122, 122]), ([100, 100, 100], [168, 168, 168]), ([128, 128, 128], [188, 188, 188]), ([180, 180, 180], [219, 219, 219]), ([220, 220, 220], [239, 239, 239]), ([255, 255, 255], [255, 255, 255])]),
("grey-linear.jpg", &[([0, 0, 0], [0, 0, 0]), ([10, 10, 10], [55, 55, 55]), ([50, 50, 50], [122, 122, 122]), ([100, 100, 100], [168, 168, 168]), ([128, 128, 128], [188, 188, 188]), ([180, 180, 180], [219, 219, 219]), ([220, 220, 220], [239, 239, 239]), ([255, 255, 255], [255, 255, 255])]),
];

/// Alpha of the blocks of the RGBA PNGs, left to right.
const PNG_ALPHAS: [u8; 10] = [255, 200, 128, 64, 1, 0, 255, 30, 99, 254];

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/colour")
        .join(name)
}

#[test]
fn profiled_images_decode_to_the_srgb_littlecms_gives() {
    let mut worst = 0;
    for (file, blocks) in LITTLECMS {
        let img = decode_file(fixture(file), 1 << 20).unwrap();
        assert_eq!(img.dimensions(), (16 * blocks.len() as u32, 16), "{file}");
        for (i, (_, want)) in blocks.iter().enumerate() {
            let p = img.get_pixel(16 * i as u32 + 8, 8).0;
            for c in 0..3 {
                let diff = p[c].abs_diff(want[c]);
                worst = worst.max(diff);
                assert!(diff <= 1, "{file} block {i}: got {p:?}, LittleCMS {want:?}");
            }
            if file.ends_with(".png") && !file.starts_with("grey") {
                assert_eq!(p[3], PNG_ALPHAS[i], "{file} block {i}: alpha is untouched");
            } else {
                assert_eq!(p[3], 255, "{file} block {i}");
            }
        }
    }
    eprintln!("worst difference from LittleCMS: {worst} level(s)");
}

#[test]
fn the_profile_matters_the_same_pixels_untagged_stay_as_they_are() {
    // The Adobe RGB PNG's pixels re-encoded without a profile are sRGB.
    let tagged = decode_file(fixture("adobe-rgb.png"), 1 << 20).unwrap();
    let raw = image::open(fixture("adobe-rgb.png")).unwrap().into_rgba8();
    assert_ne!(tagged, raw, "the profile was applied");
    let untagged = encode(&raw, OutputFormat::Png).unwrap();
    assert_eq!(decode_bytes(&untagged, 1 << 20).unwrap(), raw);
}

/// PNG chunks: (type, data) after the signature.
fn png_chunks(bytes: &[u8]) -> Vec<([u8; 4], Vec<u8>)> {
    let mut out = Vec::new();
    let mut i = 8;
    while i + 8 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap()) as usize;
        let kind: [u8; 4] = bytes[i + 4..i + 8].try_into().unwrap();
        out.push((kind, bytes[i + 8..i + 8 + len].to_vec()));
        i += 12 + len;
    }
    out
}

/// `png` with its iCCP chunk's profile replaced by `profile` (the chunk's
/// CRC recomputed), as a hostile or broken file would carry it.
fn with_iccp(png: &[u8], profile: &[u8]) -> Vec<u8> {
    let mut out = png[..8].to_vec();
    for (kind, data) in png_chunks(png) {
        let data = if &kind == b"iCCP" {
            let mut d = b"broken\0\0".to_vec();
            d.extend(compress(profile));
            d
        } else {
            data
        };
        out.extend((data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend(&data);
        out.extend(&body);
        out.extend(crc32(&body).to_be_bytes());
    }
    out
}

/// zlib "stored" blocks: no compressor needed.
fn compress(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let chunks: Vec<&[u8]> = data.chunks(65535).collect();
    for (i, c) in chunks.iter().enumerate() {
        out.push((i + 1 == chunks.len()) as u8);
        out.extend((c.len() as u16).to_le_bytes());
        out.extend((!(c.len() as u16)).to_le_bytes());
        out.extend(*c);
    }
    if chunks.is_empty() {
        out.extend([1, 0, 0, 0xFF, 0xFF]);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + x as u32) % 65521;
        b = (b + a) % 65521;
    }
    out.extend(((b << 16) | a).to_be_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn a_broken_profile_is_ignored_and_the_pixels_taken_as_srgb() {
    let png = std::fs::read(fixture("adobe-rgb.png")).unwrap();
    let raw = image::open(fixture("adobe-rgb.png")).unwrap().into_rgba8();
    let profile = {
        let chunks = png_chunks(&png);
        let (_, d) = chunks.iter().find(|(k, _)| k == b"iCCP").unwrap();
        d.clone()
    };
    assert!(!profile.is_empty());
    for garbage in [
        &b"not an ICC profile at all"[..],
        &[0u8; 200][..],
        &[0xFF; 131][..],
    ] {
        let bytes = with_iccp(&png, garbage);
        let got = decode_bytes(&bytes, 1 << 20).expect("a broken profile is no decode error");
        assert_eq!(got, raw);
    }
}

#[test]
fn png_output_is_tagged_srgb() {
    let img = image::RgbaImage::from_pixel(4, 4, image::Rgba([1, 2, 3, 4]));
    let bytes = encode(&img, OutputFormat::Png).unwrap();
    let chunks = png_chunks(&bytes);
    let srgb = chunks
        .iter()
        .find(|(k, _)| k == b"sRGB")
        .expect("an sRGB chunk");
    // Rendering intent 0: perceptual.
    assert_eq!(srgb.1, vec![0]);
    assert!(!chunks.iter().any(|(k, _)| k == b"iCCP"));
    // And it reads back unchanged: sRGB-tagged is sRGB.
    assert_eq!(decode_bytes(&bytes, 1 << 20).unwrap(), img);
}
