use super::*;
use crate::codec::flatten_over_white;

/// A deterministic test image: gradients with noise, so every block has AC
/// energy and the DC values change across strips, and alpha that varies
/// (flattened over white).
fn rgba(width: u16, height: u16) -> RgbaImage {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let (w, h) = (u32::from(width), u32::from(height));
    RgbaImage::from_fn(w, h, |x, y| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let noise = (state % 48) as u32;
        image::Rgba([
            ((x * 255 / w) ^ noise) as u8,
            ((y * 255 / h) + noise / 2) as u8,
            ((x + y) * 3 % 256) as u8,
            (255 - (x + 2 * y) % 64) as u8,
        ])
    })
}

/// jpeg-encoder's one stream of the flattened image, with `interval` MCUs
/// between restart markers (0: none).
fn single(img: &RgbaImage, quality: u8, interval: u16) -> Vec<u8> {
    let (w, h) = (img.width() as u16, img.height() as u16);
    let mut out = Vec::new();
    encoder(&mut out, quality, interval)
        .encode(&flatten_over_white(img), w, h, ColorType::Rgb)
        .unwrap();
    out
}

fn decode_image(jpeg: &[u8]) -> Vec<u8> {
    image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg)
        .unwrap()
        .into_rgb8()
        .into_raw()
}

fn decode_jpeg_decoder(jpeg: &[u8]) -> Vec<u8> {
    let mut dec = jpeg_decoder::Decoder::new(jpeg);
    dec.decode().unwrap()
}

/// The restart markers in the entropy-coded data, in order (after the
/// first SOS; `FF 00` stuffing and `FF D9` are not restart markers).
fn restart_markers(jpeg: &[u8]) -> Vec<u8> {
    let sos = jpeg.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
    jpeg[sos..]
        .windows(2)
        .filter(|w| w[0] == 0xFF && (0xD0..=0xD7).contains(&w[1]))
        .map(|w| w[1] - 0xD0)
        .collect()
}

const SIZES: [(u16, u16); 7] = [
    (37, 100),
    (1, 300),
    (64, 64),
    (129, 47),
    (250, 161),
    (17, 200),
    (300, 33),
];

#[test]
fn joined_strips_are_byte_identical_to_one_encode_with_the_same_restart_interval() {
    for quality in [85, 90] {
        for (w, h) in SIZES {
            let img = rgba(w, h);
            let plan = strips(w, h, quality, 2048).unwrap();
            let joined = encode_in_strips(&img, quality, 2048).unwrap();
            let whole = single(&img, quality, plan.mcus);
            assert!(joined == whole, "{w}x{h} q{quality}: {plan:?}");
        }
    }
}

#[test]
fn joined_strips_decode_to_the_pixels_of_the_plain_single_stream() {
    for quality in [85, 90] {
        for (w, h) in SIZES {
            let img = rgba(w, h);
            let joined = encode_in_strips(&img, quality, 2048).unwrap();
            let plain = single(&img, quality, 0);
            assert!(restart_markers(&plain).is_empty());
            let want = decode_image(&plain);
            assert_eq!(want.len(), img.as_raw().len() / 4 * 3);
            assert!(decode_image(&joined) == want, "image: {w}x{h} q{quality}");
            assert!(
                decode_jpeg_decoder(&joined) == decode_jpeg_decoder(&plain),
                "jpeg-decoder: {w}x{h} q{quality}"
            );
        }
    }
}

#[test]
fn opaque_strips_read_as_rgba_give_the_bytes_of_the_flattened_encode() {
    for quality in [85, 90] {
        for (w, h) in SIZES {
            let mut img = rgba(w, h);
            for p in img.pixels_mut() {
                p[3] = 255;
            }
            assert!(is_opaque(img.as_raw()));
            // Whole image, strips, and one plain stream (too small for two).
            for strip_pixels in [2048, 1 << 30] {
                let out = encode_in_strips(&img, quality, strip_pixels).unwrap();
                let interval = strips(w, h, quality, strip_pixels).map_or(0, |p| p.mcus);
                assert!(out == single(&img, quality, interval), "{w}x{h} q{quality}");
            }
            // One translucent pixel: its strip is flattened, the others not.
            let (x, y) = (u32::from(w) / 2, u32::from(h) - 1);
            img.get_pixel_mut(x, y)[3] = 7;
            assert!(!is_opaque(img.as_raw()));
            let plan = strips(w, h, quality, 2048).unwrap();
            let out = encode_in_strips(&img, quality, 2048).unwrap();
            assert!(
                out == single(&img, quality, plan.mcus),
                "{w}x{h} q{quality}"
            );
        }
    }
}

#[test]
fn restart_markers_cycle_once_between_each_pair_of_strips() {
    let (w, h) = (40, 400);
    let plan = strips(w, h, 85, 1024).unwrap();
    assert_eq!(plan.rows % 16, 0, "strips are whole 4:2:0 MCU rows");
    assert!(plan.count > 9, "enough strips to wrap past RST7: {plan:?}");
    let joined = encode_in_strips(&rgba(w, h), 85, 1024).unwrap();
    let want: Vec<u8> = (0..plan.count - 1).map(|i| (i % 8) as u8).collect();
    assert_eq!(restart_markers(&joined), want);
    let dri = joined.windows(2).position(|w| w == [0xFF, 0xDD]).unwrap();
    assert_eq!(joined[dri + 2..dri + 4], [0, 4]);
    assert_eq!(joined[dri + 4..dri + 6], plan.mcus.to_be_bytes());
    assert_eq!(plan.mcus, 3 * (plan.rows as u16 / 16), "3 MCU columns");
}

#[test]
fn images_too_small_for_two_strips_get_one_plain_stream() {
    // One pixel tall is one MCU row: one strip whatever its size.
    for (w, h, q) in [(300, 1, 85), (300, 1, 90), (16, 16, 85), (64, 8, 90)] {
        assert_eq!(strips(w, h, q, 16), None, "{w}x{h}");
        let img = rgba(w, h);
        let out = encode_in_strips(&img, q, 16).unwrap();
        assert!(out == single(&img, q, 0), "{w}x{h}");
        assert_eq!(decode_image(&out).len(), img.as_raw().len() / 4 * 3);
    }
}

#[test]
fn restart_interval_fits_a_u16_at_the_widest_image() {
    for quality in [85, 90] {
        let plan = strips(u16::MAX, u16::MAX, quality, STRIP_PIXELS).unwrap();
        let cols = if quality < 90 { 4096 } else { 8192 };
        assert_eq!(plan.mcus as usize % cols, 0, "whole MCU rows");
        assert!(plan.rows >= 8 && plan.count * plan.rows >= usize::from(u16::MAX));
    }
}

#[test]
fn parallel_file_is_within_one_percent_of_the_single_stream() {
    let (w, h) = (1024, 1024);
    let img = rgba(w, h);
    for quality in [85, 90] {
        let plan = strips(w, h, quality, STRIP_PIXELS).unwrap();
        assert!(plan.count >= 4, "{plan:?}");
        let joined = encode_over_white(&img, quality).unwrap().len() as f64;
        let plain = single(&img, quality, 0).len() as f64;
        assert!(
            (joined / plain - 1.0).abs() < 0.01,
            "q{quality}: {joined} vs {plain} bytes"
        );
    }
}

#[test]
fn images_without_pixels_are_an_error_not_a_panic() {
    for (w, h) in [(0, 5000), (5000, 0), (0, 0)] {
        assert_eq!(strips(w, h, 85, 16), None, "{w}x{h}");
        let e = encode_over_white(&RgbaImage::new(w.into(), h.into()), 85).unwrap_err();
        assert!(e.to_string().contains("zero"), "{w}x{h}: {e}");
    }
}

#[test]
fn images_wider_than_jpeg_allows_are_refused_with_their_size() {
    let e = encode_over_white(&RgbaImage::new(65536, 1), 85).unwrap_err();
    assert!(e.to_string().contains("65536x1"), "{e}");
}

#[test]
fn a_stream_without_a_scan_is_reported_with_its_strip() {
    let good = single(&rgba(16, 16), 85, 0);
    let sos = good.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
    let mut cut = good[..sos].to_vec();
    cut.extend_from_slice(&[0xFF, 0xD9]);
    let e = join(&[good.clone(), cut], 32, 1).unwrap_err();
    assert!(e.to_string().contains("strip 1"), "{e}");
    let e = join(&[good[1..].to_vec()], 16, 1).unwrap_err();
    assert!(e.to_string().contains("start-of-image"), "{e}");
}
