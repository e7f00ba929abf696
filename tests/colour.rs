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
    // With sRGB's gAMA and cHRM, for readers that do not know sRGB (PNG 3,
    // 11.3.2.5), in 1/100000.
    let chunk = |name: &[u8; 4]| {
        let found = chunks.iter().find(|(k, _)| k == name);
        let data = &found.unwrap_or_else(|| panic!("no {name:?} chunk")).1;
        data.chunks(4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            .collect::<Vec<_>>()
    };
    assert_eq!(chunk(b"gAMA"), [45455]);
    assert_eq!(
        chunk(b"cHRM"),
        [31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000]
    );
    assert!(!chunks.iter().any(|(k, _)| k == b"iCCP"));
    // And it reads back unchanged: sRGB-tagged is sRGB.
    assert_eq!(decode_bytes(&bytes, 1 << 20).unwrap(), img);
}

// ---- CMYK JPEGs (tests/colour/make_cmyk_fixture.py) ----

// LittleCMS 2.19, Pillow 13.0.0:
// (CMYK ink as libjpeg decodes cmyk.jpg, LittleCMS sRGB)
#[rustfmt::skip]
const CMYK_LITTLECMS: &[([u8; 4], [u8; 3])] = &[
([0, 0, 0, 0], [255, 255, 255]),
([0, 0, 0, 255], [0, 0, 0]),
([255, 0, 0, 0], [0, 255, 255]),
([0, 255, 0, 0], [255, 0, 255]),
([0, 0, 255, 0], [255, 255, 0]),
([20, 90, 180, 10], [233, 181, 101]),
([128, 128, 128, 0], [155, 155, 155]),
([0, 0, 0, 128], [141, 141, 141]),
([200, 30, 60, 40], [71, 202, 182]),
([60, 200, 100, 150], [97, 34, 81]),
([10, 250, 240, 5], [244, 11, 30]),
([255, 255, 255, 255], [0, 0, 0]),
];

/// The block centres of a decoded fixture, one per 16x16 block.
fn centres(img: &image::RgbaImage) -> Vec<[u8; 4]> {
    (0..img.width() / 16)
        .map(|i| img.get_pixel(16 * i + 8, 8).0)
        .collect()
}

/// The most any channel of `got` is from `want`.
fn worst(got: &[[u8; 4]], want: &[[u8; 3]]) -> u8 {
    assert_eq!(got.len(), want.len());
    let mut worst = 0;
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g[3], 255, "opaque");
        for c in 0..3 {
            worst = worst.max(g[c].abs_diff(w[c]));
        }
    }
    worst
}

#[test]
fn cmyk_jpegs_convert_through_their_profile_as_littlecms_does() {
    let img = decode_file(fixture("cmyk.jpg"), 1 << 20).unwrap();
    let want: Vec<[u8; 3]> = CMYK_LITTLECMS.iter().map(|(_, w)| *w).collect();
    let got = centres(&img);
    let worst = worst(&got, &want);
    assert!(worst <= 1, "got {got:?}, LittleCMS {want:?}");
    eprintln!("CMYK: worst difference from LittleCMS: {worst} level(s)");
}

/// The naive conversion, `R = (255 - C)(255 - K) / 255` rounded.
fn naive(cmyk: [u8; 4]) -> [u8; 3] {
    let leave = |ink: u8| (((255 - ink as u32) * (255 - cmyk[3] as u32) + 127) / 255) as u8;
    [leave(cmyk[0]), leave(cmyk[1]), leave(cmyk[2])]
}

#[test]
fn cmyk_jpegs_without_a_profile_get_the_naive_conversion() {
    let img = decode_file(fixture("cmyk-untagged.jpg"), 1 << 20).unwrap();
    let want: Vec<[u8; 3]> = CMYK_LITTLECMS.iter().map(|(c, _)| naive(*c)).collect();
    assert_eq!(worst(&centres(&img), &want), 0);
    // The profile matters: the tagged file differs from the naive one.
    let tagged = decode_file(fixture("cmyk.jpg"), 1 << 20).unwrap();
    assert!(worst(&centres(&tagged), &want) > 20);
}

/// The CMYK profile embedded in cmyk.jpg.
fn cmyk_profile() -> Vec<u8> {
    let bytes = std::fs::read(fixture("cmyk.jpg")).unwrap();
    let mut d = jpeg_decoder::Decoder::new(&bytes[..]);
    d.read_info().unwrap();
    d.icc_profile().expect("cmyk.jpg embeds its profile")
}

/// CMYK blocks of the fixture's colours, as a q100 JPEG of `kind`
/// (Adobe-inverted with an APP14 marker, as jpeg-encoder writes them),
/// with `profile`.
fn cmyk_jpeg(kind: jpeg_encoder::ColorType, profile: Option<&[u8]>) -> Vec<u8> {
    let n = CMYK_LITTLECMS.len();
    let mut ink = Vec::new();
    for _y in 0..16 {
        for (c, _) in CMYK_LITTLECMS {
            for _x in 0..16 {
                ink.extend_from_slice(c);
            }
        }
    }
    let mut out = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut out, 100);
    enc.set_sampling_factor(jpeg_encoder::SamplingFactor::F_1_1);
    if let Some(p) = profile {
        enc.add_icc_profile(p).unwrap();
    }
    enc.encode(&ink, 16 * n as u16, 16, kind).unwrap();
    out
}

#[test]
fn ycck_and_cmyk_jpegs_from_another_encoder_decode_alike() {
    let profile = cmyk_profile();
    let want: Vec<[u8; 3]> = CMYK_LITTLECMS.iter().map(|(_, w)| *w).collect();
    for kind in [
        jpeg_encoder::ColorType::Cmyk,
        jpeg_encoder::ColorType::CmykAsYcck,
    ] {
        let img = decode_bytes(&cmyk_jpeg(kind, Some(&profile)), 1 << 20).unwrap();
        // YCCK passes C, M and Y through YCbCr and back: a level or two.
        let w = worst(&centres(&img), &want);
        assert!(w <= 3, "{kind:?}: {w} levels from LittleCMS");
        let untagged = decode_bytes(&cmyk_jpeg(kind, None), 1 << 20).unwrap();
        let naive: Vec<[u8; 3]> = CMYK_LITTLECMS.iter().map(|(c, _)| naive(*c)).collect();
        let w = worst(&centres(&untagged), &naive);
        assert!(
            w <= 3,
            "{kind:?} untagged: {w} levels from the naive conversion"
        );
    }
}

#[test]
fn a_cmyk_profile_without_a2b1_converts_through_its_a2b0() {
    // The fixture's profile with its A2B1 tag renamed A2B2 (saturation):
    // LittleCMS falls back to A2B0 for relative colorimetric, as the ICC
    // specification says, and so must impasto (moxcms alone refuses).
    let mut profile = cmyk_profile();
    let count = u32::from_be_bytes(profile[128..132].try_into().unwrap()) as usize;
    let entry = (0..count)
        .map(|i| 132 + 12 * i)
        .find(|&at| &profile[at..at + 4] == b"A2B1")
        .expect("the fixture has A2B1");
    profile[entry..entry + 4].copy_from_slice(b"A2B2");
    let img = decode_bytes(
        &cmyk_jpeg(jpeg_encoder::ColorType::Cmyk, Some(&profile)),
        1 << 20,
    )
    .unwrap();
    let want: Vec<[u8; 3]> = CMYK_LITTLECMS.iter().map(|(_, w)| *w).collect();
    let w = worst(&centres(&img), &want);
    assert!(w <= 1, "{w} levels from LittleCMS");
}

// ---- PNG cICP, sRGB, gAMA and cHRM (tests/colour/png_chunks_reference.py) ----

/// The fixture colours, as in tests/colour/make_fixtures.py.
const COLOURS: [[u8; 3]; 10] = [
    [200, 100, 50],
    [0, 0, 0],
    [255, 255, 255],
    [255, 0, 0],
    [0, 255, 0],
    [0, 0, 255],
    [30, 200, 120],
    [128, 128, 128],
    [10, 20, 30],
    [240, 230, 140],
];

type Chunk<'a> = (&'a [u8; 4], Vec<u8>);

/// A case: its name, the chunks the PNG carries, the sRGB expected.
type ChunkCase<'a> = (&'a str, Vec<Chunk<'a>>, &'a [[u8; 3]]);

/// An untagged RGB PNG of the colours' blocks, with `extra` chunks
/// inserted before its image data.
fn png_with(extra: &[Chunk]) -> Vec<u8> {
    let img = image::RgbaImage::from_fn(16 * COLOURS.len() as u32, 16, |x, _| {
        let c = COLOURS[x as usize / 16];
        image::Rgba([c[0], c[1], c[2], 255])
    });
    let plain = encode(&img, OutputFormat::Png).unwrap();
    let mut out = plain[..8].to_vec();
    let mut put = |kind: &[u8; 4], data: &[u8]| {
        out.extend((data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend(data);
        out.extend(&body);
        out.extend(crc32(&body).to_be_bytes());
    };
    for (kind, data) in png_chunks(&plain) {
        // encode() tags its output sRGB (and sRGB's gAMA and cHRM): drop
        // those, so only `extra` speaks.
        if [b"sRGB", b"gAMA", b"cHRM"].contains(&&kind) {
            continue;
        }
        if &kind == b"IDAT" {
            for (k, d) in extra {
                put(k, d);
            }
        }
        put(&kind, &data);
    }
    out
}

fn gama(gamma: f64) -> Chunk<'static> {
    (
        b"gAMA",
        ((100_000.0 / gamma).round() as u32).to_be_bytes().to_vec(),
    )
}

fn chrm(v: [u32; 8]) -> Chunk<'static> {
    (b"cHRM", v.iter().flat_map(|x| x.to_be_bytes()).collect())
}

const SRGB_CHRM: [u32; 8] = [31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000];
const ADOBE_CHRM: [u32; 8] = [31270, 32900, 64000, 33000, 21000, 71000, 15000, 6000];
const WIDE_D50_CHRM: [u32; 8] = [34570, 35850, 73470, 26530, 15960, 84040, 3660, 10];

// Colour maths, tests/colour/png_chunks_reference.py.
#[rustfmt::skip]
const P3_SRGB: &[[u8; 3]] = &[[215, 93, 31], [0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255], [0, 204, 112], [128, 128, 128], [7, 20, 31], [242, 230, 126]];
#[rustfmt::skip]
const BT2020_SRGB: &[[u8; 3]] = &[[241, 76, 29], [0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255], [0, 211, 109], [128, 128, 128], [0, 21, 31], [251, 229, 123]];
#[rustfmt::skip]
const BT2020_BT709: &[[u8; 3]] = &[[246, 94, 50], [0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255], [0, 217, 123], [140, 140, 140], [7, 37, 47], [252, 232, 137]];
#[rustfmt::skip]
const BT709_GAMMA22: &[[u8; 3]] = &[[201, 100, 46], [0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255], [24, 201, 121], [129, 129, 129], [3, 12, 24], [240, 231, 141]];
#[rustfmt::skip]
const BT709_LINEAR: &[[u8; 3]] = &[[229, 168, 122], [0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255], [96, 229, 182], [188, 188, 188], [56, 79, 96], [248, 244, 196]];
#[rustfmt::skip]
const GAMA_18: &[[u8; 3]] = &[[210, 119, 65], [0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255], [40, 210, 139], [146, 146, 146], [10, 26, 40], [243, 235, 158]];
#[rustfmt::skip]
const GAMA_22_ADOBE: &[[u8; 3]] = &[[227, 100, 42], [0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255], [0, 201, 116], [129, 129, 129], [0, 12, 24], [244, 231, 136]];
#[rustfmt::skip]
const GAMA_1_WIDE_D50: &[[u8; 3]] = &[[255, 150, 112], [0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255], [0, 248, 174], [188, 188, 188], [0, 83, 99], [255, 243, 186]];

fn cicp(primaries: u8, transfer: u8) -> Chunk<'static> {
    (b"cICP", vec![primaries, transfer, 0, 1])
}

fn decoded(png: &[u8]) -> Vec<[u8; 4]> {
    centres(&decode_bytes(png, 1 << 20).unwrap())
}

#[test]
fn png_cicp_and_gama_chrm_convert_as_the_colour_maths_says() {
    let cases: &[ChunkCase] = &[
        ("cICP 12/13", vec![cicp(12, 13)], P3_SRGB),
        ("cICP 9/13", vec![cicp(9, 13)], BT2020_SRGB),
        ("cICP 9/1", vec![cicp(9, 1)], BT2020_BT709),
        ("cICP 1/4", vec![cicp(1, 4)], BT709_GAMMA22),
        ("cICP 1/8", vec![cicp(1, 8)], BT709_LINEAR),
        ("gAMA 1/1.8", vec![gama(1.8)], GAMA_18),
        (
            "gAMA 1/2.2 + Adobe cHRM",
            vec![gama(2.2), chrm(ADOBE_CHRM)],
            GAMA_22_ADOBE,
        ),
        (
            "gAMA 1 + wide D50 cHRM",
            vec![gama(1.0), chrm(WIDE_D50_CHRM)],
            GAMA_1_WIDE_D50,
        ),
    ];
    let mut all = 0;
    for (name, chunks, want) in cases {
        let w = worst(&decoded(&png_with(chunks)), want);
        assert!(w <= 1, "{name}: {w} levels from the colour maths");
        all = all.max(w);
    }
    eprintln!("PNG chunks: worst difference from the colour maths: {all} level(s)");
}

#[test]
fn srgb_pngs_stay_untouched_whatever_says_so() {
    let srgb: Vec<[u8; 3]> = COLOURS.to_vec();
    for (name, chunks) in [
        ("nothing", vec![]),
        ("cICP 1/13", vec![cicp(1, 13)]),
        ("gAMA 1/2.2", vec![gama(2.2)]),
        ("gAMA 1/2.2 + sRGB cHRM", vec![gama(2.2), chrm(SRGB_CHRM)]),
        (
            "sRGB chunk over gAMA 1.0",
            vec![(b"sRGB", vec![0]), gama(1.0)],
        ),
    ] {
        assert_eq!(worst(&decoded(&png_with(&chunks)), &srgb), 0, "{name}");
    }
}

#[test]
fn cicp_wins_over_iccp_and_hdr_cicp_falls_back_to_it() {
    let png = std::fs::read(fixture("adobe-rgb.png")).unwrap();
    let iccp = png_chunks(&png)
        .into_iter()
        .find(|(k, _)| k == b"iCCP")
        .unwrap()
        .1;
    let adobe: Vec<[u8; 3]> = LITTLECMS[0].1.iter().map(|(_, w)| *w).collect();
    let both = png_with(&[(b"iCCP", iccp.clone()), cicp(12, 13)]);
    assert!(worst(&decoded(&both), P3_SRGB) <= 1, "cICP first");
    // PQ and HLG are not tone-mapped: the iCCP profile applies instead,
    // and without one the pixels are taken as sRGB.
    for hdr in [16, 18] {
        let with_iccp = png_with(&[(b"iCCP", iccp.clone()), cicp(9, hdr)]);
        assert!(worst(&decoded(&with_iccp), &adobe) <= 1, "cICP 9/{hdr}");
        let alone = png_with(&[cicp(9, hdr)]);
        assert_eq!(worst(&decoded(&alone), &COLOURS), 0, "cICP 9/{hdr} alone");
    }
    // Narrow range, reserved primaries, unspecified transfer: sRGB.
    for bad in [vec![1, 13, 0, 0], vec![3, 13, 0, 1], vec![1, 2, 0, 1]] {
        let png = png_with(&[(b"cICP", bad.clone())]);
        assert_eq!(worst(&decoded(&png), &COLOURS), 0, "cICP {bad:?}");
    }
    // A matrix other than 0 (RGB) is malformed: the png crate refuses the
    // file, an error like any other corrupt file's, not a panic.
    let e = decode_bytes(&png_with(&[(b"cICP", vec![1, 13, 1, 1])]), 1 << 20).unwrap_err();
    assert!(e.0.contains("PNG"), "{e}");
}

// ---- The render's warnings ----

#[test]
fn an_ignored_profile_is_a_render_warning_naming_the_layer_and_file() {
    use impasto::{Assets, Backend, RenderOptions, Renderer, Scene, Warning};
    let dir = tempfile::tempdir().unwrap();
    let png = std::fs::read(fixture("adobe-rgb.png")).unwrap();
    std::fs::write(
        dir.path().join("broken.png"),
        with_iccp(&png, b"not a profile"),
    )
    .unwrap();
    std::fs::write(dir.path().join("hdr.png"), png_with(&[cicp(9, 16)])).unwrap();
    std::fs::copy(fixture("adobe-rgb.png"), dir.path().join("fine.png")).unwrap();
    let mut scene = Scene::from_json(
        r#"{ "width": 32, "height": 16, "layers": [
            { "type": "image", "src": "fine.png" },
            { "type": "image", "src": "broken.png" },
            { "type": "image", "src": "hdr.png" },
            { "type": "image", "src": "broken.png", "opacity": 0.5 } ] }"#,
    )
    .unwrap();
    scene.base_dir = Some(dir.path().to_path_buf());
    let renderer = Renderer::new(Backend::Cpu)
        .unwrap()
        .with_system_fonts(false);
    for _ in 0..2 {
        // The second render finds the files decoded: the warnings stay.
        let rendered = renderer
            .render_report(&scene, &Assets::new(), &RenderOptions::default())
            .unwrap();
        let got: Vec<(usize, &str, &str)> = rendered
            .warnings
            .iter()
            .map(|w| match w {
                Warning::ColourProfileIgnored { layer, src, reason } => {
                    (*layer, src.as_str(), reason.as_str())
                }
                other => panic!("unexpected warning {other}"),
            })
            .collect();
        assert_eq!(got.len(), 2, "one per file: {got:?}");
        assert_eq!((got[0].0, got[0].1), (1, "broken.png"));
        assert!(got[0].2.contains("not a valid ICC profile"), "{}", got[0].2);
        assert_eq!((got[1].0, got[1].1), (2, "hdr.png"));
        assert!(got[1].2.contains("PQ"), "{}", got[1].2);
        let w = &rendered.warnings[0];
        assert_eq!(
            (w.kind(), w.field()),
            ("colour_profile_ignored", Some("src"))
        );
        assert!(w
            .to_string()
            .starts_with("layer 1 (image): field \"src\": \"broken.png\""));
    }
}

#[test]
fn a_jpeg_whose_profile_lost_a_segment_is_drawn_as_srgb_with_a_warning() {
    use impasto::{Assets, Backend, RenderOptions, Renderer, Scene, Warning};
    let dir = tempfile::tempdir().unwrap();
    // The fixture's profile is one APP2 segment, "1 of 1": said to be one
    // of two, the second is missing.
    let mut jpeg = std::fs::read(fixture("display-p3.jpg")).unwrap();
    let at = jpeg
        .windows(12)
        .position(|w| w == b"ICC_PROFILE\0")
        .unwrap();
    assert_eq!(jpeg[at + 12..at + 14], [1, 1]);
    jpeg[at + 13] = 2;
    std::fs::write(dir.path().join("cut.jpg"), &jpeg).unwrap();
    let renderer = Renderer::new(Backend::Cpu)
        .unwrap()
        .with_system_fonts(false);
    // Drawn whole (the full-size decoder) and at a quarter (shrink-on-load).
    for (w, h) in [(160, 16), (40, 4)] {
        let mut scene = Scene::from_json(&format!(
            r#"{{ "width": {w}, "height": {h}, "layers": [
                {{ "type": "image", "src": "cut.jpg", "fit": "fill" }} ] }}"#
        ))
        .unwrap();
        scene.base_dir = Some(dir.path().to_path_buf());
        let rendered = renderer
            .render_report(&scene, &Assets::new(), &RenderOptions::default())
            .unwrap();
        match rendered.warnings.as_slice() {
            [Warning::ColourProfileIgnored {
                layer: 0,
                src,
                reason,
            }] => {
                assert_eq!(src, "cut.jpg");
                assert!(reason.contains("incomplete"), "{reason}");
                assert!(reason.contains("segments 1 of the 2"), "{reason}");
            }
            other => panic!("{w}x{h}: {other:?}"),
        }
    }
}
