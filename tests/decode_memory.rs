//! Peak memory of renders that decode image files, measured with a counting
//! global allocator, held to `Limits::max_render_bytes`: a render admitted
//! under a limit peaks under it, whatever the decoder's own buffers (a
//! 16-bit PNG's, a progressive JPEG's coefficients, a CMYK JPEG decoded at
//! full size whatever its use), and the limit that admits it is within a
//! small factor of the peak (the prediction, `codec::decode_cost`, is not
//! vacuous). Until 2026-11-28 only the decoded 8-bit pixels were counted:
//! a 16-bit PNG peaked at 1.6 times its admitting limit, a progressive
//! JPEG drawn small at 6 to 9 times. (PNGs are now decoded row by row
//! into their 8-bit pixels, `codec::png_rows`: the 16-bit one's peak went
//! from 59.5 MB to 23.9 MB.)
//!
//! The files are written here (PNG by `image`, JPEG by `jpeg-encoder`, lossy
//! WebP by libwebp), 2000x1500 each. One test function: the allocator
//! counts every thread of the process.

mod common;

use std::path::Path;

use impasto::{Assets, Backend, Error, Limits, Location, Renderer, Scene};
use serde_json::json;

use common::counting::{peak_of, Counting};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const W: u32 = 2000;
const H: u32 = 1500;

fn px(x: u32, y: u32) -> [u8; 4] {
    let n = (x.wrapping_mul(2654435761) ^ y.wrapping_mul(40503)) >> 13;
    [
        (x / 8) as u8 ^ (n as u8 & 7),
        (y / 6) as u8,
        (x + y) as u8 / 2,
        255 - (n as u8 & 15),
    ]
}

fn jpeg(
    path: &Path,
    color: jpeg_encoder::ColorType,
    ch: usize,
    progressive: bool,
    s: jpeg_encoder::SamplingFactor,
    exif6: bool,
) {
    let mut data = Vec::with_capacity((W * H) as usize * ch);
    for y in 0..H {
        for x in 0..W {
            let p = px(x, y);
            data.extend_from_slice(&p[..ch]);
        }
    }
    let mut e = jpeg_encoder::Encoder::new_file(path, 85).unwrap();
    e.set_progressive(progressive);
    e.set_sampling_factor(s);
    if exif6 {
        let tiff: Vec<u8> = vec![
            b'M', b'M', 0, 42, 0, 0, 0, 8, 0, 1, 1, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0,
            0, 0,
        ];
        e.add_exif_metadata(&tiff).unwrap();
    }
    e.encode(&data, W as u16, H as u16, color).unwrap();
}

/// Writes the test files into `dir`.
fn write_files(dir: &Path) {
    use image::{ImageBuffer, Luma, LumaA, Rgb, Rgba};
    let rgba8: ImageBuffer<Rgba<u8>, _> = ImageBuffer::from_fn(W, H, |x, y| Rgba(px(x, y)));
    rgba8.save(dir.join("rgba8.png")).unwrap();
    image::DynamicImage::ImageRgba8(rgba8.clone())
        .to_rgb8()
        .save(dir.join("rgb8.png"))
        .unwrap();
    image::DynamicImage::ImageRgba8(rgba8.clone())
        .to_luma8()
        .save(dir.join("grey8.png"))
        .unwrap();
    let rgba16: ImageBuffer<Rgba<u16>, _> = ImageBuffer::from_fn(W, H, |x, y| {
        let p = px(x, y);
        Rgba(p.map(|c| c as u16 * 257))
    });
    rgba16.save(dir.join("rgba16.png")).unwrap();
    // The same with a gAMA chunk after its IHDR: converted at 16 bits, in
    // bands of rows.
    let plain = std::fs::read(dir.join("rgba16.png")).unwrap();
    let mut gama = 4u32.to_be_bytes().to_vec();
    gama.extend(b"gAMA");
    gama.extend(55556u32.to_be_bytes());
    let crc = common::png_crc(&gama[4..]);
    gama.extend(crc.to_be_bytes());
    std::fs::write(
        dir.join("rgba16-gama.png"),
        [&plain[..33], &gama, &plain[33..]].concat(),
    )
    .unwrap();
    let rgb16: ImageBuffer<Rgb<u16>, _> = ImageBuffer::from_fn(W, H, |x, y| {
        let p = px(x, y);
        Rgb([p[0] as u16 * 257, p[1] as u16 * 3, p[2] as u16 * 100])
    });
    rgb16.save(dir.join("rgb16.png")).unwrap();
    let g16: ImageBuffer<Luma<u16>, _> =
        ImageBuffer::from_fn(W, H, |x, y| Luma([px(x, y)[0] as u16 * 257]));
    g16.save(dir.join("grey16.png")).unwrap();
    let ga8: ImageBuffer<LumaA<u8>, _> = ImageBuffer::from_fn(W, H, |x, y| {
        let p = px(x, y);
        LumaA([p[0], p[3]])
    });
    ga8.save(dir.join("greya8.png")).unwrap();
    image::DynamicImage::ImageRgba8(rgba8.clone())
        .save_with_format(dir.join("lossless.webp"), image::ImageFormat::WebP)
        .unwrap();
    use jpeg_encoder::{ColorType as C, SamplingFactor as S};
    jpeg(
        &dir.join("base420.jpg"),
        C::Rgb,
        3,
        false,
        S::R_4_2_0,
        false,
    );
    jpeg(
        &dir.join("base444.jpg"),
        C::Rgb,
        3,
        false,
        S::R_4_4_4,
        false,
    );
    jpeg(&dir.join("prog420.jpg"), C::Rgb, 3, true, S::R_4_2_0, false);
    jpeg(&dir.join("prog444.jpg"), C::Rgb, 3, true, S::R_4_4_4, false);
    jpeg(&dir.join("grey.jpg"), C::Luma, 1, false, S::R_4_4_4, false);
    jpeg(&dir.join("cmyk.jpg"), C::Cmyk, 4, false, S::R_4_4_4, false);
    jpeg(
        &dir.join("ycck.jpg"),
        C::CmykAsYcck,
        4,
        false,
        S::R_4_2_0,
        false,
    );
    jpeg(
        &dir.join("cmykprog.jpg"),
        C::Cmyk,
        4,
        true,
        S::R_4_4_4,
        false,
    );
    jpeg(&dir.join("rot420.jpg"), C::Rgb, 3, false, S::R_4_2_0, true);
    jpeg(&dir.join("rotprog.jpg"), C::Rgb, 3, true, S::R_4_2_0, true);
    // Metadata before the frame header (XMP, Photoshop's, comments):
    // 3 MB before a photo's, 20 MB before a 64x64 image's.
    let padded = |from: &[u8], mb: usize| -> Vec<u8> {
        let segment = [&[0xFF, 0xFE, 0xFF, 0xFF][..], &[b'x'; 65533][..]].concat();
        let n = mb * 1_000_000 / segment.len();
        [&from[..2], &segment.repeat(n), &from[2..]].concat()
    };
    let photo = std::fs::read(dir.join("base420.jpg")).unwrap();
    std::fs::write(dir.join("xmp.jpg"), padded(&photo, 3)).unwrap();
    let mut small = Vec::new();
    jpeg_encoder::Encoder::new(&mut small, 85)
        .encode(&[90; 64 * 64 * 3], 64, 64, C::Rgb)
        .unwrap();
    std::fs::write(dir.join("tiny-padded.jpg"), padded(&small, 20)).unwrap();
    // Noise at quality 100: a file of several MB.
    let noise: Vec<u8> = (0..W * H * 3)
        .map(|i| (i.wrapping_mul(2654435761) >> 11) as u8)
        .collect();
    jpeg_encoder::Encoder::new_file(dir.join("noise.jpg"), 100)
        .unwrap()
        .encode(&noise, W as u16, H as u16, C::Rgb)
        .unwrap();
    let flat: ImageBuffer<Rgba<u8>, _> =
        ImageBuffer::from_fn(W, H, |x, _| Rgba([x as u8, 9, 9, 200]));
    flat.save(dir.join("flat8.png")).unwrap();
    let flat16: ImageBuffer<Rgba<u16>, _> =
        ImageBuffer::from_fn(W, H, |x, _| Rgba([x as u16, 9, 9, 200]));
    flat16.save(dir.join("flat16.png")).unwrap();
    let ga16: ImageBuffer<LumaA<u16>, _> = ImageBuffer::from_fn(W, H, |x, y| {
        let p = px(x, y);
        LumaA([p[0] as u16 * 257, p[3] as u16 * 250])
    });
    ga16.save(dir.join("greya16.png")).unwrap();
    let enc = webp::Encoder::from_rgba(rgba8.as_raw(), W, H).encode(80.0);
    std::fs::write(dir.join("lossy-alpha.webp"), &*enc).unwrap();
    let rgb = image::DynamicImage::ImageRgba8(rgba8.clone()).to_rgb8();
    let enc = webp::Encoder::from_rgb(rgb.as_raw(), W, H).encode(80.0);
    std::fs::write(dir.join("lossy.webp"), &*enc).unwrap();
    {
        let mut f = std::fs::File::create(dir.join("still.gif")).unwrap();
        let mut e = image::codecs::gif::GifEncoder::new(&mut f);
        let small =
            image::imageops::resize(&rgba8, 1000, 750, image::imageops::FilterType::Nearest);
        let small: ImageBuffer<Rgba<u8>, _> =
            ImageBuffer::from_fn(W, H, |x, y| *small.get_pixel(x / 2, y / 2));
        e.encode_frame(image::Frame::new(small)).unwrap();
    }
    {
        // A 3000x3000 frame on a 200x150 screen: drawn clipped to the
        // screen, a chunk of rows at a time (its 9 MB of indices were held
        // whole, uncounted: the prediction is the screen's).
        let mut f = std::fs::File::create(dir.join("bigframe.gif")).unwrap();
        let palette = [200, 40, 40, 40, 40, 200];
        let mut e = gif::Encoder::new(&mut f, 200, 150, &palette).unwrap();
        let indices: Vec<u8> = (0..3000 * 3000).map(|i| ((i / 7) % 2) as u8).collect();
        let frame = gif::Frame {
            width: 3000,
            height: 3000,
            buffer: indices.into(),
            ..gif::Frame::default()
        };
        e.write_frame(&frame).unwrap();
    }
}

/// A renderer of files under `dir` within `limit`, no cache keeping decoded
/// images or resamples between renders (each render decodes).
fn renderer(dir: &Path, limit: u64) -> Renderer {
    Renderer::new(Backend::Cpu)
        .unwrap()
        .with_system_fonts(false)
        .with_placed_cache_budget(0)
        .with_asset_cache_budget(0)
        .with_asset_root(dir)
        .with_limits(Limits {
            max_render_bytes: limit,
            ..Limits::default()
        })
}

#[test]
fn a_render_admitted_under_the_memory_limit_peaks_under_it_whatever_the_decoder() {
    let dir = std::env::temp_dir().join(format!("impasto-decode-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    write_files(&dir);
    // (file, canvas): drawn whole, or small (a JPEG shrunk on load: 1/8,
    // 3/8, 1/2; CMYK and progressive files cannot be, or only partly).
    let small = (240, 179);
    let cases = [
        ("rgba16.png", (W, H)),
        ("rgba16.png", small),
        ("rgba16-gama.png", (W, H)),
        ("rgba16-gama.png", small),
        ("rgb16.png", small),
        ("greya8.png", small),
        ("rgb8.png", small),
        ("lossy-alpha.webp", small),
        ("lossless.webp", small),
        ("still.gif", small),
        ("bigframe.gif", (200, 150)),
        ("base420.jpg", small),
        ("base420.jpg", (740, 554)),
        ("base420.jpg", (W, H)),
        ("prog420.jpg", small),
        ("prog420.jpg", (990, 742)),
        ("prog444.jpg", small),
        ("grey.jpg", small),
        ("cmyk.jpg", small),
        ("cmykprog.jpg", small),
        ("rotprog.jpg", small),
        ("rot420.jpg", (490, 367)),
        ("xmp.jpg", small),
        ("xmp.jpg", (W, H)),
        ("tiny-padded.jpg", small),
    ];
    let assets = Assets::new();
    let unlimited = renderer(&dir, u64::MAX);
    for (file, (cw, ch)) in cases {
        let scene = Scene::from_value(&json!({"width": cw, "height": ch, "layers": [
            {"type": "image", "src": file, "fit": "cover"}
        ]}))
        .unwrap();
        // Warm (thread pool, weights), then the peak with no limit.
        unlimited.render_with_assets(&scene, &assets).unwrap();
        let (_, peak) = peak_of(|| unlimited.render_with_assets(&scene, &assets).unwrap());
        // The least limit that admits it, to 2% of the peak.
        let (mut refused, mut admitted) = (peak / 4, peak * 8);
        let refusal = renderer(&dir, refused)
            .render_with_assets(&scene, &assets)
            .unwrap_err();
        assert!(
            matches!(refusal, Error::OverMemoryLimit { .. }),
            "{file}: {refusal}"
        );
        while admitted - refused > peak / 50 {
            let mid = (refused + admitted) / 2;
            match renderer(&dir, mid).render_with_assets(&scene, &assets) {
                Ok(_) => admitted = mid,
                Err(Error::OverMemoryLimit { .. }) => refused = mid,
                Err(e) => panic!("{file} under {mid} bytes: {e}"),
            }
        }
        let at_limit = renderer(&dir, admitted);
        let (out, peak_at_limit) = peak_of(|| at_limit.render_with_assets(&scene, &assets));
        out.unwrap();
        eprintln!(
            "{file} on {cw}x{ch}: peak {peak} bytes, admitted from {admitted} bytes, peak there {peak_at_limit}"
        );
        assert!(
            peak_at_limit <= admitted,
            "{file} on {cw}x{ch}: admitted under {admitted} bytes, it peaked at {peak_at_limit}"
        );
        // Not a vacuous bound: the limit it needs is near its peak (the
        // render's own estimate counts the canvas twice, the decode a MiB
        // of slack).
        assert!(
            admitted <= 4 * peak.max(peak_at_limit) + (4 << 20),
            "{file} on {cw}x{ch}: needs a limit of {admitted} bytes for a peak of {peak}"
        );
    }
    // A 16-bit PNG (11.5 MB, 24 MB at its decode's peak) is refused before
    // it is decoded, naming the layer, the field and the decode's peak.
    let scene = Scene::from_value(&json!({"width": 240, "height": 179, "layers": [
        {"type": "rect", "color": "#fff"},
        {"type": "image", "src": "rgba16.png", "fit": "cover"}
    ]}))
    .unwrap();
    let (out, peak) = peak_of(|| renderer(&dir, 20 << 20).render_with_assets(&scene, &assets));
    match out {
        Err(Error::OverMemoryLimit { ref error, .. }) => {
            let e = out.as_ref().err().unwrap().to_string();
            assert!(
                matches!(error.location, Location::Layer { index: 1, .. }),
                "{e}"
            );
            assert_eq!(error.field.as_deref(), Some("src"), "{e}");
            assert!(e.contains("rgba16.png"), "{e}");
            assert!(e.contains("at its peak"), "{e}");
        }
        other => panic!(
            "a 16-bit PNG of 2000x1500 under 20 MiB: {:?}",
            other.map(|i| i.dimensions())
        ),
    }
    // Refused from its header: its pixels were never decoded.
    assert!(peak < 12 << 20, "refused after {peak} bytes");
    // A JPEG drawn off the canvas has only its headers read: its first MiB,
    // not the whole file (`image`'s decoder read it all to probe it).
    // Its metadata is skipped, not read into memory.
    for file in ["noise.jpg", "tiny-padded.jpg"] {
        let len = std::fs::metadata(dir.join(file)).unwrap().len();
        assert!(len > 4 << 20, "{len} bytes");
        let off = Scene::from_value(&json!({"width": 64, "height": 64, "layers": [
            {"type": "image", "src": file, "x": 500, "width": 100, "height": 100}
        ]}))
        .unwrap();
        let (out, peak) = peak_of(|| renderer(&dir, 1 << 30).render_with_assets(&off, &assets));
        out.unwrap();
        assert!(
            peak < 2 << 20,
            "probing {file}, {len} bytes, took {peak} bytes"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    an_apng_whose_profile_is_a_decompression_bomb_is_decoded_without_inflating_it();
}

/// An APNG whose `iCCP` profile inflates to 64 MiB (a decompression bomb:
/// the decoder inflated it whole, 207 MB at the peak) has its frames
/// decoded without it, as a still PNG has: a frame of it drawn peaks far
/// below the profile's size. (Called from the first test: the counters
/// are global.)
fn an_apng_whose_profile_is_a_decompression_bomb_is_decoded_without_inflating_it() {
    let dir = std::env::temp_dir().join(format!("impasto-apng-bomb-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut apng = Vec::new();
    {
        let mut e = png::Encoder::new(&mut apng, 2, 2);
        e.set_color(png::ColorType::Rgba);
        e.set_depth(png::BitDepth::Eight);
        e.set_animated(2, 0).unwrap();
        let mut w = e.write_header().unwrap();
        w.write_image_data(&[200, 40, 90, 255].repeat(4)).unwrap();
        w.write_image_data(&[10, 20, 30, 255].repeat(4)).unwrap();
    }
    let chunk = common::iccp_bomb_chunk(64 << 20);
    // Right after IHDR (8 + 25 bytes).
    let bomb = [&apng[..33], &chunk[..], &apng[33..]].concat();
    std::fs::write(dir.join("bomb.png"), bomb).unwrap();
    let scene = Scene::from_value(&json!({"width": 2, "height": 2, "layers": [
        {"type": "image", "src": "bomb.png", "frame": 1}
    ]}))
    .unwrap();
    let r = renderer(&dir, 1 << 30);
    let (out, peak) = peak_of(|| r.render_with_assets(&scene, &Assets::new()));
    assert_eq!(out.unwrap().get_pixel(1, 1).0, [10, 20, 30, 255]);
    // The guard inflates up to 16 MiB to find the profile too large.
    assert!(peak < 32 << 20, "peaked at {peak} bytes");
    let _ = std::fs::remove_dir_all(&dir);
}
