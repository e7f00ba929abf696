//! Image layers: EXIF orientation, exact natural-size copies, resampling on
//! premultiplied colour (no fringes), nearest-neighbour scaling, fit modes.
//! Every rendering test runs on every backend (`common::backends`) and holds
//! each to the same exact expectation: these are cases where both backends'
//! formulas give whole 8-bit values, so no tolerance applies.

mod common;

use std::sync::Arc;

use common::backends::{backends, TestBackend};
use image::RgbaImage;
use impasto::{Assets, Scene};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

fn render(backend: &TestBackend, scene: serde_json::Value, assets: &Assets) -> RgbaImage {
    let scene = Scene::from_value(&scene).unwrap();
    backend
        .renderer
        .render_with_assets(&scene, assets)
        .unwrap_or_else(|e| panic!("{}: {e}", backend.name))
}

/// An `APP1` EXIF segment's body giving `orientation` (little-endian TIFF),
/// stored as a LONG or as a SHORT.
fn exif_body(orientation: u16, long: bool) -> Vec<u8> {
    let mut exif = b"Exif\0\0II\x2a\0\x08\0\0\0".to_vec();
    exif.extend_from_slice(&1u16.to_le_bytes()); // one entry
    exif.extend_from_slice(&0x0112u16.to_le_bytes()); // Orientation
    exif.extend_from_slice(&(if long { 4u16 } else { 3 }).to_le_bytes());
    exif.extend_from_slice(&1u32.to_le_bytes()); // count
    if long {
        exif.extend_from_slice(&u32::from(orientation).to_le_bytes());
    } else {
        exif.extend_from_slice(&orientation.to_le_bytes());
        exif.extend_from_slice(&[0, 0]);
    }
    exif.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
    exif
}

/// A 40x20 JPEG (colour or grey) carrying `segments` as `APP1` segments.
fn jpeg_with_app1(grey: bool, segments: &[Vec<u8>]) -> Vec<u8> {
    let (w, h) = (40u16, 20u16);
    let samples: Vec<u8> = (0..u32::from(w) * u32::from(h))
        .flat_map(|i| {
            let v = (i % 40 * 6) as u8;
            if grey {
                vec![v]
            } else {
                vec![v, 255 - v, 90]
            }
        })
        .collect();
    let mut out = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut out, 90);
    for s in segments {
        enc.add_app_segment(1, s.clone()).unwrap();
    }
    let colour = if grey {
        jpeg_encoder::ColorType::Luma
    } else {
        jpeg_encoder::ColorType::Rgb
    };
    enc.encode(&samples, w, h, colour).unwrap();
    out
}

#[test]
fn the_first_exif_segment_gives_the_orientation_short_or_long_on_every_jpeg_path() {
    // As browsers and Pillow read it: the first EXIF segment (the decoders
    // took the last), its orientation a SHORT or, as some writers store
    // it, a LONG (the decoders read only a SHORT).
    let dir = tempfile::tempdir().expect("temporary folder");
    let cases = [
        (
            "first of two",
            vec![exif_body(6, false), exif_body(1, false)],
        ),
        ("a LONG", vec![exif_body(6, true)]),
        (
            "a LONG first of two",
            vec![exif_body(8, true), exif_body(1, false)],
        ),
    ];
    for (name, segments) in cases {
        for grey in [false, true] {
            let bytes = jpeg_with_app1(grey, &segments);
            let what = format!("{name}, grey {grey}");
            // Full-size decode (zune-jpeg for colour, another path for grey).
            let out = impasto::codec::decode_bytes(&bytes, 1 << 20).unwrap();
            assert_eq!(out.dimensions(), (20, 40), "{what}: decoded");
            // The probe (jpeg-decoder's headers, as the scaled decode).
            let path = dir.path().join("x.jpg");
            std::fs::write(&path, &bytes).unwrap();
            let probed = impasto::codec::probe_file(&path, 1 << 20).unwrap();
            assert_eq!(probed, (20, 40), "{what}: probed");
        }
    }
    // A non-EXIF APP1 (XMP) before the EXIF one is passed over.
    let xmp = b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>".to_vec();
    let bytes = jpeg_with_app1(false, &[xmp, exif_body(6, false)]);
    let out = impasto::codec::decode_bytes(&bytes, 1 << 20).unwrap();
    assert_eq!(out.dimensions(), (20, 40), "after XMP");
}

#[test]
fn a_png_with_a_large_text_chunk_probes_and_decodes_with_its_orientation() {
    // A 1 MiB tEXt chunk (over the 64 KiB passed to the decoder) before
    // the image data, and an eXIf orientation 6: the probe reads the chunks
    // before the image data without the text, the decode drops it; both
    // see the orientation.
    let (w, h) = (6u32, 4u32);
    let mut info = png::Info::with_size(w, h);
    info.color_type = png::ColorType::Rgba;
    info.bit_depth = png::BitDepth::Eight;
    let tiff = exif_body(6, false)[6..].to_vec();
    info.exif_metadata = Some(tiff.into());
    let mut bytes = Vec::new();
    {
        let mut enc = png::Encoder::with_info(&mut bytes, info).unwrap();
        enc.add_text_chunk("Comment".into(), "x".repeat(1 << 20))
            .unwrap();
        let mut writer = enc.write_header().unwrap();
        let pixels: Vec<u8> = (0..w * h * 4).map(|i| (i * 9) as u8).collect();
        writer.write_image_data(&pixels).unwrap();
    }
    assert!(bytes.len() > 1 << 20);
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("text.png");
    std::fs::write(&path, &bytes).unwrap();
    assert_eq!(impasto::codec::probe_file(&path, 1 << 20).unwrap(), (h, w));
    let out = impasto::codec::decode_bytes(&bytes, 1 << 20).unwrap();
    assert_eq!(out.dimensions(), (h, w));
}

#[test]
fn exif_orientation_is_applied_for_all_eight_values() {
    // 3 x 2 blocks of 8 x 8 pixels, each a distinct colour.
    let colours = [
        [255, 0, 0],
        [0, 255, 0],
        [0, 0, 255],
        [255, 255, 0],
        [0, 255, 255],
        [255, 0, 255],
    ];
    let (w, h) = (24u32, 16u32);
    let src = RgbaImage::from_fn(w, h, |x, y| {
        let c = colours[(y / 8 * 3 + x / 8) as usize];
        image::Rgba([c[0], c[1], c[2], 255])
    });
    for orientation in 1..=8u16 {
        let bytes = common::jpeg_with_orientation(&src, orientation);
        let out = impasto::codec::decode_bytes(&bytes, 1 << 20).unwrap();
        let transposed = orientation >= 5;
        let (ow, oh) = if transposed { (h, w) } else { (w, h) };
        assert_eq!(out.dimensions(), (ow, oh), "orientation {orientation}");
        // Where output pixel (x, y) comes from in the stored image (EXIF 2.3).
        let from = |x: u32, y: u32| match orientation {
            1 => (x, y),
            2 => (w - 1 - x, y),
            3 => (w - 1 - x, h - 1 - y),
            4 => (x, h - 1 - y),
            5 => (y, x),
            6 => (y, h - 1 - x),
            7 => (w - 1 - y, h - 1 - x),
            _ => (w - 1 - y, x),
        };
        for by in 0..oh / 8 {
            for bx in 0..ow / 8 {
                let (x, y) = (bx * 8 + 4, by * 8 + 4);
                let (sx, sy) = from(x, y);
                let want = src.get_pixel(sx, sy);
                let got = out.get_pixel(x, y);
                for c in 0..3 {
                    assert!(
                        (got[c] as i32 - want[c] as i32).abs() < 40,
                        "orientation {orientation}: pixel ({x},{y}) is {got:?}, want {want:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn natural_size_image_on_whole_pixels_is_copied_exactly_on_every_backend() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let img = common::random_image(&mut rng, 37, 23);
    let mut assets = Assets::new();
    assets.insert("a.png", Arc::new(img.clone()));
    for (backend, space) in backends()
        .iter()
        .flat_map(|b| ["srgb", "linear"].map(|s| (b, s)))
    {
        let b = backend.name;
        for fit in ["none", "cover", "contain", "fill"] {
            let out = render(
                backend,
                json!({"width": 50, "height": 40, "blend_space": space, "layers": [
                    {"type": "image", "src": "a.png", "x": 5, "y": 9, "width": 37, "height": 23, "fit": fit}]}),
                &assets,
            );
            for y in 0..23 {
                for x in 0..37 {
                    let want = img.get_pixel(x, y).0;
                    let want = if want[3] == 0 { [0; 4] } else { want };
                    assert_eq!(
                        out.get_pixel(x + 5, y + 9).0,
                        want,
                        "{b} {space} {fit} ({x},{y})"
                    );
                }
            }
            assert_eq!(out.get_pixel(4, 9).0, [0; 4], "{b}");
            assert_eq!(out.get_pixel(42, 31).0, [0; 4], "{b}");
        }
    }
}

#[test]
fn resampling_never_darkens_edges_next_to_transparent_pixels_on_every_backend() {
    // Opaque white shapes on fully transparent *black*: a renderer that
    // filters straight alpha bleeds the black into the edges.
    let logo = RgbaImage::from_fn(40, 40, |x, y| {
        let d = ((x as f64 - 19.5).powi(2) + (y as f64 - 19.5).powi(2)).sqrt();
        if d < 14.0 || (x / 5) % 2 == 0 && y < 6 {
            image::Rgba([255, 255, 255, 255])
        } else {
            image::Rgba([0, 0, 0, 0])
        }
    });
    let mut assets = Assets::new();
    assets.insert("logo.png", Arc::new(logo));
    for (backend, space) in backends()
        .iter()
        .flat_map(|b| ["srgb", "linear"].map(|s| (b, s)))
    {
        for filter in ["lanczos3", "bilinear", "nearest"] {
            for (w, rotate) in [(97.3, 0.0), (23.0, 0.0), (61.0, 17.0)] {
                let out = render(
                    backend,
                    json!({"width": 120, "height": 120, "background": "#ffffff", "blend_space": space,
                           "layers": [{"type": "image", "src": "logo.png", "x": 3.5, "y": 4.25,
                                       "width": w, "height": w, "filter": filter, "rotate": rotate}]}),
                    &assets,
                );
                for p in out.pixels() {
                    assert_eq!(
                        p.0,
                        [255, 255, 255, 255],
                        "{} {space} {filter} width {w} rotate {rotate}",
                        backend.name
                    );
                }
            }
        }
    }
}

/// A resampled image drawn first onto a transparent canvas is copied into
/// the accumulator (source-over onto zero is the source); the same image
/// drawn over a transparent layer goes through source-over. Same bytes,
/// translucent pixels and both blend spaces included.
#[test]
fn a_resampled_first_layer_gives_the_same_bytes_as_one_drawn_over_nothing_on_every_backend() {
    let img = RgbaImage::from_fn(53, 41, |x, y| {
        let a = ((x * 37 + y * 11) % 256) as u8;
        image::Rgba([(x * 5) as u8, (y * 6) as u8, 200, a])
    });
    let mut assets = Assets::new();
    assets.insert("p.png", Arc::new(img));
    for backend in backends().iter() {
        for space in ["srgb", "linear"] {
            let photo = json!({"type": "image", "src": "p.png", "x": 2.5, "y": 1.25,
                               "width": 91.3, "height": 60.7});
            let clear = json!({"type": "rect", "width": 96, "height": 64, "color": "#00000000"});
            let first = render(
                backend,
                json!({"width": 96, "height": 64, "blend_space": space, "layers": [photo]}),
                &assets,
            );
            let over = render(
                backend,
                json!({"width": 96, "height": 64, "blend_space": space, "layers": [clear, photo]}),
                &assets,
            );
            assert!(first == over, "{} {space}", backend.name);
            assert!(first.pixels().any(|p| p.0[3] > 0 && p.0[3] < 255));
        }
    }
}

#[test]
fn nearest_filter_repeats_pixels_when_doubling_on_every_backend() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let img = RgbaImage::from_fn(8, 6, |_, _| {
        use rand::Rng;
        image::Rgba([rng.random(), rng.random(), rng.random(), 255])
    });
    let mut assets = Assets::new();
    assets.insert("a.png", Arc::new(img.clone()));
    for backend in backends() {
        let out = render(
            &backend,
            json!({"width": 16, "height": 12, "layers": [
                {"type": "image", "src": "a.png", "fit": "fill", "filter": "nearest"}]}),
            &assets,
        );
        for y in 0..12 {
            for x in 0..16 {
                assert_eq!(
                    out.get_pixel(x, y),
                    img.get_pixel(x / 2, y / 2),
                    "{} ({x},{y})",
                    backend.name
                );
            }
        }
    }
}

#[test]
fn contain_letterboxes_and_cover_fills_the_box_on_every_backend() {
    let img = RgbaImage::from_pixel(20, 10, image::Rgba([10, 200, 30, 255]));
    let mut assets = Assets::new();
    assets.insert("wide.png", Arc::new(img));
    for backend in backends() {
        let b = backend.name;
        let contain = render(
            &backend,
            json!({"width": 40, "height": 40, "layers": [{"type": "image", "src": "wide.png", "fit": "contain"}]}),
            &assets,
        );
        // 40 x 20 centred: rows 10..30 filled, the rest transparent.
        assert_eq!(contain.get_pixel(20, 5)[3], 0, "{b}");
        assert_eq!(contain.get_pixel(20, 20).0, [10, 200, 30, 255], "{b}");
        assert_eq!(contain.get_pixel(20, 35)[3], 0, "{b}");
        let cover = render(
            &backend,
            json!({"width": 40, "height": 40, "layers": [{"type": "image", "src": "wide.png", "fit": "cover"}]}),
            &assets,
        );
        assert!(cover.pixels().all(|p| p.0 == [10, 200, 30, 255]), "{b}");
    }
}

/// A `fill` image in a box far thinner than a pixel (1e-307) once made the
/// CPU resampler panic on NaN weights; it must render, and draw (almost)
/// nothing, on every backend.
#[test]
fn an_image_filled_into_a_subpixel_box_renders_without_panicking() {
    let mut assets = Assets::new();
    assets.insert(
        "a.png",
        Arc::new(RgbaImage::from_pixel(
            40,
            30,
            image::Rgba([200, 30, 30, 255]),
        )),
    );
    for backend in backends() {
        for (w, h) in [(1e-307, 30.0), (30.0, 1e-307), (1e-307, 1e-307)] {
            let scene = json!({"width": 16, "height": 16, "background": "#ffffff", "layers": [
                {"type": "image", "src": "a.png", "fit": "fill", "x": 3, "y": 2, "width": w, "height": h}
            ]});
            let img = render(&backend, scene, &assets);
            assert!(
                img.pixels().all(|p| p.0 == [255, 255, 255, 255]),
                "{}: a {w}x{h} box drew visible pixels",
                backend.name
            );
        }
    }
}

/// A CPU renderer rooted in a new folder holding `logo.png`, a
/// `side` x `side` square of (10, 20, 30), and a scene drawing it 8x8 at
/// (4, 4) on a 16x16 canvas. The folder lives as long as the first value.
fn logo_drawn_8x8(
    side: u32,
) -> (
    tempfile::TempDir,
    std::path::PathBuf,
    impasto::Renderer,
    Scene,
) {
    let dir = tempfile::tempdir().unwrap();
    let logo = dir.path().join("logo.png");
    RgbaImage::from_pixel(side, side, image::Rgba([10, 20, 30, 255]))
        .save(&logo)
        .unwrap();
    let r = impasto::Renderer::new(impasto::Backend::Cpu)
        .unwrap()
        .with_asset_root(dir.path());
    let scene = Scene::from_value(&json!({"width": 16, "height": 16, "layers": [
        {"type": "image", "src": "logo.png", "x": 4, "y": 4, "width": 8, "height": 8}]}))
    .unwrap();
    (dir, logo, r, scene)
}

/// A `Renderer` decodes a file once for many renders (the decoded-image
/// cache), and again when the file changes on disk.
#[test]
fn renders_sharing_a_logo_decode_it_once_until_it_changes() {
    let (_dir, logo, r, scene) = logo_drawn_8x8(8);
    for _ in 0..20 {
        assert_eq!(
            r.render(&scene).unwrap().get_pixel(5, 5).0,
            [10, 20, 30, 255]
        );
    }
    let s = r.asset_cache_stats();
    assert_eq!((s.misses, s.hits, s.images), (1, 19, 1), "{s:?}");
    RgbaImage::from_pixel(4, 4, image::Rgba([200, 0, 0, 255]))
        .save(&logo)
        .unwrap();
    assert_eq!(
        r.render(&scene).unwrap().get_pixel(5, 5).0,
        [200, 0, 0, 255]
    );
    assert_eq!(r.asset_cache_stats().misses, 2);
}

/// A file that no scaled decoder covers (a PNG) is decoded at full size
/// whatever shrink its layers would allow; the cache serves that decode
/// to the next render rather than missing on the factor it was asked for.
#[test]
fn a_png_drawn_smaller_than_its_size_is_decoded_once() {
    let (_dir, _logo, r, scene) = logo_drawn_8x8(64);
    for _ in 0..5 {
        assert_eq!(
            r.render(&scene).unwrap().get_pixel(7, 7).0,
            [10, 20, 30, 255]
        );
    }
    let s = r.asset_cache_stats();
    assert_eq!((s.misses, s.hits, s.images), (1, 4, 1), "{s:?}");
}

/// Several files in one scene: those the cache holds are served from it,
/// the others decoded (together); a file that fails to decode is named by
/// its layer, and the others stay cached.
#[test]
fn a_scene_of_several_files_decodes_only_those_the_cache_lacks() {
    let dir = tempfile::tempdir().unwrap();
    let colours = [[200, 0, 0, 255], [0, 200, 0, 255], [0, 0, 200, 255]];
    for (name, c) in ["a.png", "b.png", "c.png"].iter().zip(colours) {
        RgbaImage::from_pixel(4, 4, image::Rgba(c))
            .save(dir.path().join(name))
            .unwrap();
    }
    std::fs::write(dir.path().join("broken.png"), b"not a png").unwrap();
    let r = impasto::Renderer::new(impasto::Backend::Cpu)
        .unwrap()
        .with_asset_root(dir.path());
    let scene = |files: &[&str]| {
        let layers: Vec<_> = files
            .iter()
            .enumerate()
            .map(|(i, f)| json!({"type": "image", "src": f, "x": 4 * i, "y": 0}))
            .collect();
        Scene::from_value(&json!({"width": 12, "height": 4, "layers": layers})).unwrap()
    };
    let img = r.render(&scene(&["a.png", "b.png"])).unwrap();
    assert_eq!(img.get_pixel(5, 1).0, colours[1]);
    let s = r.asset_cache_stats();
    assert_eq!((s.misses, s.hits, s.images), (2, 0, 2), "{s:?}");
    let img = r.render(&scene(&["a.png", "b.png", "c.png"])).unwrap();
    for (i, c) in colours.iter().enumerate() {
        assert_eq!(img.get_pixel(4 * i as u32 + 1, 1).0, *c, "layer {i}");
    }
    let s = r.asset_cache_stats();
    assert_eq!((s.misses, s.hits, s.images), (3, 2, 3), "{s:?}");
    let err = r
        .render(&scene(&["a.png", "broken.png", "c.png"]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("layer 1") && err.contains("broken.png"),
        "{err}"
    );
    let s = r.asset_cache_stats();
    assert_eq!((s.misses, s.hits, s.images), (4, 4, 3), "{s:?}");
}

#[test]
fn a_hidden_image_layer_is_not_read_so_a_missing_file_is_no_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut scene = Scene::from_value(
        &json!({"width": 4, "height": 4, "background": "#fff", "layers": [
            {"type": "image", "src": "badges/missing.png", "visible": false},
            {"type": "text", "text": "x", "font": "No Such Family", "visible": false}
        ]}),
    )
    .unwrap();
    scene.base_dir = Some(dir.path().to_path_buf());
    for b in backends() {
        let img = b
            .renderer
            .render(&scene)
            .unwrap_or_else(|e| panic!("{}: {e}", b.name));
        assert!(
            img.pixels().all(|p| p.0 == [255, 255, 255, 255]),
            "{}",
            b.name
        );
        scene.layers[0].visible = true;
        let err = b.renderer.render(&scene).unwrap_err().to_string();
        assert!(err.contains("missing.png"), "{}: {err}", b.name);
        scene.layers[0].visible = false;
    }
}

/// A CPU renderer of images under `root`, with `max_render_bytes`.
fn cpu_with_memory_limit(root: &std::path::Path, max_render_bytes: u64) -> impasto::Renderer {
    impasto::Renderer::new(impasto::Backend::Cpu)
        .unwrap()
        .with_asset_root(root)
        .with_limits(impasto::Limits {
            max_render_bytes,
            ..impasto::Limits::default()
        })
}

/// Decoded images count against `max_render_bytes` as they are read: when
/// their decodes' peaks (from the headers) may not fit together, files are
/// taken one after another and the first whose decode would not fit beside
/// the images held and the canvas is refused from its header, undecoded,
/// naming its layer; the files after it are not decoded. Within the limit
/// the same scene renders.
#[test]
fn images_past_the_render_memory_limit_are_refused_before_the_rest_are_decoded() {
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..8).map(|i| format!("big{i}.png")).collect();
    for name in &names {
        // 600 x 600 RGBA: 1.44 MB decoded, a few KB as a file.
        RgbaImage::from_pixel(600, 600, image::Rgba([0, 0, 0, 255]))
            .save(dir.path().join(name))
            .unwrap();
    }
    let layers: Vec<_> = names
        .iter()
        .map(|n| json!({"type": "image", "src": n, "width": 16, "height": 16}))
        .collect();
    let scene = Scene::from_value(&json!({"width": 16, "height": 16, "layers": layers})).unwrap();
    let renderer = |max_render_bytes| cpu_with_memory_limit(dir.path(), max_render_bytes);
    let r = renderer(4_000_000);
    let err = r.render(&scene).unwrap_err().to_string();
    assert!(
        err.contains("layer 2") && err.contains("big2.png") && err.contains("max_render_bytes"),
        "{err}"
    );
    let s = r.asset_cache_stats();
    assert_eq!(s.images, 2, "two files decoded, six not: {s:?}");
    // The same again: the same file is named.
    let again = r.render(&scene).unwrap_err().to_string();
    assert_eq!(again, err);
    assert!(renderer(64 << 20).render(&scene).is_ok());
}

/// An image layer whose box lies wholly off the canvas draws nothing, so
/// its file is not decoded nor counted toward `max_render_bytes`; its
/// header is still read, so a missing or broken file is refused as if it
/// were drawn. The render is the one a rect in its place gives, whatever
/// the blend (`copy`, unbounded, still clears the canvas). A rotated box
/// that reaches into the canvas is decoded.
#[test]
fn an_image_layer_wholly_off_the_canvas_is_not_decoded_but_its_file_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    // 600 x 600 RGBA: 1.44 MB decoded, over the 1 MB limit below.
    RgbaImage::from_pixel(600, 600, image::Rgba([200, 0, 0, 255]))
        .save(dir.path().join("big.png"))
        .unwrap();
    std::fs::write(dir.path().join("notes.png"), "not an image").unwrap();
    let renderer = |max_render_bytes| cpu_with_memory_limit(dir.path(), max_render_bytes);
    let scene = |top: serde_json::Value| {
        Scene::from_value(&json!({"width": 16, "height": 16, "background": "#0000ff80",
            "layers": [{"type": "rect", "x": 2, "y": 2, "width": 8, "height": 8, "color": "#0f0"}, top]}))
        .unwrap()
    };
    let off = |src: &str, blend: &str, rotate: f64| {
        json!({"type": "image", "src": src, "x": 17, "y": 0, "width": 16, "height": 16,
               "blend": blend, "rotate": rotate})
    };
    for blend in ["source-over", "copy", "destination-in"] {
        let r = renderer(1_000_000);
        let img = r
            .render(&scene(off("big.png", blend, 0.0)))
            .unwrap_or_else(|e| panic!("{blend}: {e}"));
        assert_eq!(r.asset_cache_stats().images, 0, "{blend}: nothing decoded");
        let rect = json!({"type": "rect", "x": 17, "y": 0, "width": 16, "height": 16,
                          "color": "#f00", "blend": blend});
        let want = r.render(&scene(rect)).unwrap();
        assert!(img == want, "{blend}: the same as a rect in its place");
    }
    for (src, what) in [
        ("missing.png", "cannot be read"),
        ("notes.png", "not an image"),
    ] {
        let err = renderer(1_000_000)
            .render(&scene(off(src, "source-over", 0.0)))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("layer 1") && err.contains(src) && err.contains(what),
            "{err}"
        );
    }
    // Turned 45 degrees about its centre (25, 8), its corner reaches x = 13.7.
    let r = renderer(u64::MAX);
    r.render(&scene(off("big.png", "source-over", 45.0)))
        .unwrap();
    assert_eq!(r.asset_cache_stats().images, 1, "drawn, so decoded");
}

/// A PNG whose `iCCP` profile inflates past 16 MiB (a decompression bomb:
/// the decoder inflated it whole, 3.2 GB for a 1.5 MB file) is drawn as
/// sRGB without its profile being inflated, with a warning saying why;
/// placed off the canvas too (its header is probed, not decoded).
#[test]
fn a_png_whose_colour_profile_is_a_decompression_bomb_is_drawn_as_srgb_with_a_warning() {
    use image::ImageEncoder;
    let dir = tempfile::tempdir().unwrap();
    let mut buf = Vec::new();
    image::codecs::png::PngEncoder::new(&mut buf)
        .write_image(&[200, 40, 90, 255], 1, 1, image::ExtendedColorType::Rgba8)
        .unwrap();
    // The chunk goes right after IHDR (8 + 25 bytes).
    let chunk = common::iccp_bomb_chunk(17 << 20);
    let png = [&buf[..33], &chunk[..], &buf[33..]].concat();
    std::fs::write(dir.path().join("bomb.png"), png).unwrap();
    let renderer = impasto::Renderer::new(impasto::Backend::Cpu).unwrap();
    for x in [0, 5000] {
        let mut scene = Scene::from_value(&json!({"width": 4, "height": 4, "layers": [
            {"type": "image", "src": "bomb.png", "x": x}]}))
        .unwrap();
        scene.base_dir = Some(dir.path().to_path_buf());
        let rendered = renderer
            .render_report(&scene, &Assets::new(), &impasto::RenderOptions::default())
            .unwrap();
        if x == 0 {
            assert_eq!(rendered.image.get_pixel(1, 1).0, [200, 40, 90, 255]);
            let said = format!("{:?}", rendered.warnings);
            assert!(said.contains("inflates to more than 16 MiB"), "{said}");
        }
    }
}

/// A lossless WebP 16384 pixels wide: probing its header (as thumbnails
/// and off-canvas layers do) says what decoding says, not "no pixels".
#[test]
fn a_lossless_webp_16384_wide_is_refused_by_its_probe_as_by_its_decode() {
    let hex = "524946461a000000574542505650384c0d0000002fffffff1f071011118888fe0700";
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wide.webp");
    std::fs::write(&path, &bytes).unwrap();
    let probed = impasto::codec::probe_file(&path, u64::MAX).unwrap_err().0;
    assert!(probed.contains("16384x16384"), "{probed}");
    let decoded = impasto::codec::decode_file(&path, u64::MAX).unwrap_err().0;
    assert_eq!(probed, decoded);
}

/// The library writes a still GIF as `impasto render` does (the README's
/// format table lists GIF output; `render_to_file` refused `.gif`).
#[test]
fn the_library_writes_a_still_gif_like_the_command_line() {
    let scene = Scene::from_value(&json!({"width": 40, "height": 30, "background": "#336699",
        "layers": [{"type": "rect", "x": 5, "y": 5, "width": 20, "height": 10, "color": "#e4572e80"}]}))
    .unwrap();
    let renderer = impasto::Renderer::new(impasto::Backend::Cpu).unwrap();
    let dir = std::env::temp_dir().join(format!("impasto-still-gif-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("card.GIF");
    renderer.render_to_file(&scene, &path, 85).unwrap();
    let written = std::fs::read(&path).unwrap();
    let image = renderer.render(&scene).unwrap();
    let still = impasto::RenderedAnimation::still(image.clone())
        .encode(impasto::codec::AnimationFormat::Gif)
        .unwrap();
    assert_eq!(written, still, "the same bytes");
    let back = image::load_from_memory(&written).unwrap().to_rgba8();
    assert_eq!(back, image, "two colours: kept exactly");
    let format = impasto::codec::OutputFormat::from_path(&path, 85).unwrap();
    assert_eq!(format.media_type(), "image/gif");
    assert!(impasto::codec::OutputFormat::from_path_lossless(&path).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

/// `Assets::insert_file`'s error goes into an `impasto::Error` with `?`
/// (every error is one), naming the file.
#[test]
fn an_asset_file_that_cannot_be_read_is_an_impasto_error_naming_it() {
    fn load(path: &std::path::Path) -> Result<Assets, impasto::Error> {
        let mut assets = Assets::new();
        assets.insert_file("logo.png", path, 1 << 20)?;
        Ok(assets)
    }
    let missing = std::env::temp_dir().join("impasto-no-such-logo.png");
    match load(&missing) {
        Err(e @ impasto::Error::Scene(_)) => {
            assert!(e.is_bad_input(), "{e}");
            assert!(e.to_string().contains("impasto-no-such-logo.png"), "{e}");
        }
        other => panic!("{:?}", other.map(|_| ())),
    }
    // A file over the default max_image_file_bytes (256 MiB, sparse here)
    // is refused from its size, not read into memory.
    let big = std::env::temp_dir().join(format!("impasto-big-{}.png", std::process::id()));
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&big).unwrap();
        f.write_all(b"\x89PNG\r\n\x1a\n").unwrap();
        f.set_len((256 << 20) + 1).unwrap();
    }
    let e = load(&big).map(|_| ()).unwrap_err().to_string();
    let _ = std::fs::remove_file(&big);
    assert!(e.contains("max_image_file_bytes"), "{e}");
}
