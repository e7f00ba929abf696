//! Animated sources and animated output: GIF, APNG and animated WebP in
//! (frames composited as browsers show them), every frame of the timeline
//! out with its delay and the loop count, the backends agreeing, and
//! animated bombs refused from their headers.
//!
//! The fixtures are made here, with the `gif` crate and impasto's own
//! encoders (themselves checked against decoders in `src/codec`).

mod common;

use std::borrow::Cow;
use std::path::Path;

use common::backends::{backends, check_images};
use image::{Rgba, RgbaImage};
use impasto::codec::{self, AnimationFormat, Delay, Loop};
use impasto::{Assets, Limits, RenderOptions, Scene};

const R: [u8; 3] = [220, 30, 40];
const G: [u8; 3] = [20, 200, 60];
const B: [u8; 3] = [30, 60, 230];
const W: [u8; 3] = [250, 250, 250];
const PALETTE: [[u8; 3]; 4] = [R, G, B, W];
/// The transparent index of the fixtures' palette.
const T: u8 = 4;

/// One GIF frame: its rectangle, palette indices (T transparent), disposal
/// and delay in hundredths.
struct GifFrame {
    rect: (u16, u16, u16, u16),
    indices: Vec<u8>,
    dispose: gif::DisposalMethod,
    delay: u16,
}

fn gif_file(size: (u16, u16), frames: &[GifFrame], repeat: Option<gif::Repeat>) -> Vec<u8> {
    let mut palette: Vec<u8> = PALETTE.concat();
    palette.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0]); // 8 entries
    let mut out = Vec::new();
    {
        let mut enc = gif::Encoder::new(&mut out, size.0, size.1, &palette).unwrap();
        if let Some(r) = repeat {
            enc.set_repeat(r).unwrap();
        }
        for f in frames {
            let (left, top, width, height) = f.rect;
            enc.write_frame(&gif::Frame {
                left,
                top,
                width,
                height,
                delay: f.delay,
                dispose: f.dispose,
                transparent: Some(T),
                buffer: Cow::Borrowed(&f.indices),
                ..gif::Frame::default()
            })
            .unwrap();
        }
    }
    out
}

/// A 40x30 GIF of three solid frames (red, green, blue) with delays of
/// 10, 20 and 70 hundredths, repeated 3 times after the first play.
fn three_frame_gif() -> Vec<u8> {
    let frames: Vec<GifFrame> = [(0u8, 10u16), (1, 20), (2, 70)]
        .into_iter()
        .map(|(colour, delay)| GifFrame {
            rect: (0, 0, 40, 30),
            indices: vec![colour; 40 * 30],
            dispose: gif::DisposalMethod::Keep,
            delay,
        })
        .collect();
    gif_file((40, 30), &frames, Some(gif::Repeat::Finite(3)))
}

/// The GIF's frames and a watermark: a translucent white band and a
/// rotated badge, on a canvas larger than the GIF.
fn watermark_scene(dir: &Path, src: &str, frame: Option<u32>) -> Scene {
    let frame = frame.map_or(String::new(), |f| format!(r#", "frame": {f}"#));
    let json = format!(
        r##"{{ "width": 48, "height": 36, "background": "#102030",
        "layers": [
          {{ "type": "image", "src": "{src}", "x": 4, "y": 3, "width": 40, "height": 30, "fit": "fill"{frame} }},
          {{ "type": "rect", "x": 0, "y": 24, "width": 48, "height": 8, "color": "#ffffff99" }},
          {{ "type": "rect", "x": 30, "y": 4, "width": 12, "height": 8, "color": "#f59e0b", "rotate": 15, "corner_radius": 2 }}
        ] }}"##
    );
    let mut scene = Scene::from_json(&json).unwrap();
    scene.base_dir = Some(dir.to_path_buf());
    scene
}

/// Every frame of a decoded output file with its delay in hundredths, and
/// the NETSCAPE repeat field, read with the `gif` crate.
fn read_gif(bytes: &[u8]) -> (Vec<RgbaImage>, Vec<u16>, gif::Repeat) {
    let anim = codec::decode_animation(bytes, &Limits::default(), None).unwrap();
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::RGBA);
    let mut d = options.read_info(bytes).unwrap();
    let mut delays = Vec::new();
    while let Some(f) = d.read_next_frame().unwrap() {
        delays.push(f.delay);
    }
    let frames = anim.frames.iter().map(|f| (*f.image).clone()).collect();
    (frames, delays, d.repeat())
}

#[test]
fn a_watermark_over_a_three_frame_gif_keeps_its_frames_delays_and_loop_count() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.gif"), three_frame_gif()).unwrap();
    let renderer = impasto::Renderer::new(impasto::Backend::Cpu).unwrap();
    let scene = watermark_scene(dir.path(), "in.gif", None);
    // The reference: each frame rendered as a still, picked by `frame`.
    let want: Vec<RgbaImage> = (0..3)
        .map(|i| {
            renderer
                .render(&watermark_scene(dir.path(), "in.gif", Some(i)))
                .unwrap()
        })
        .collect();
    assert_ne!(want[0], want[1], "the frames differ");

    let out = dir.path().join("out.gif");
    renderer
        .render_animation_to_file(
            &scene,
            &Assets::new(),
            &out,
            AnimationFormat::Gif,
            &RenderOptions::default(),
        )
        .unwrap();
    let (frames, delays, repeat) = read_gif(&std::fs::read(&out).unwrap());
    assert_eq!(delays, [10, 20, 70]);
    assert_eq!(repeat, gif::Repeat::Finite(3));
    // Few colours: the GIF's palette holds them exactly.
    assert_eq!(frames.len(), 3);
    for (i, f) in frames.iter().enumerate() {
        assert_close(f, &want[i], 0, &format!("gif frame {i}"));
    }

    // APNG and lossless WebP: the same frames, delays and plays (4).
    for (name, format) in [
        ("out.png", AnimationFormat::Png),
        ("out.webp", AnimationFormat::WebPLossless),
    ] {
        let path = dir.path().join(name);
        renderer
            .render_animation_to_file(
                &scene,
                &Assets::new(),
                &path,
                format,
                &RenderOptions::default(),
            )
            .unwrap();
        let anim = codec::decode_animation_file(&path, &Limits::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(anim.loop_count, Loop::Times(4), "{name}");
        let delays: Vec<Delay> = anim.frames.iter().map(|f| f.delay).collect();
        assert_eq!(delays, [10, 20, 70].map(Delay::from_centis), "{name}");
        // Exact: libwebp stores later frames as sub-rectangles blended
        // over the canvas, and copies their opaque pixels (image-webp's
        // compositor, used until 2026-11-28, lost a level on them).
        for (i, f) in anim.frames.iter().enumerate() {
            assert_close(&f.image, &want[i], 0, &format!("{name} frame {i}"));
        }
    }
}

/// Every channel of `got` within `tolerance` of `want`; the message names
/// the first pixel that is not.
fn assert_close(got: &RgbaImage, want: &RgbaImage, tolerance: u8, what: &str) {
    assert_eq!(got.dimensions(), want.dimensions(), "{what}");
    for (x, y, p) in got.enumerate_pixels() {
        let q = want.get_pixel(x, y);
        assert!(
            (0..4).all(|c| p[c].abs_diff(q[c]) <= tolerance),
            "{what}: pixel ({x}, {y}) is {:?}, expected {:?}",
            p.0,
            q.0
        );
    }
}

fn px(c: [u8; 3]) -> Rgba<u8> {
    Rgba([c[0], c[1], c[2], 255])
}

const CLEAR: Rgba<u8> = Rgba([0, 0, 0, 0]);

#[test]
fn gif_disposal_methods_composite_as_browsers_show_them() {
    use gif::DisposalMethod::*;
    let frame = |left, indices: &[u8], dispose| GifFrame {
        rect: (left, 0, indices.len() as u16, 1),
        indices: indices.to_vec(),
        dispose,
        delay: 5,
    };
    let bytes = gif_file(
        (4, 1),
        &[
            frame(0, &[0, 0, 0, 0], Keep), // R R R R, kept
            frame(1, &[1, T], Background), // R G R R, then x 1..3 cleared
            frame(2, &[2], Previous),      // R _ B R, then back to R _ _ R
            frame(3, &[3], Keep),          // R _ _ W
            frame(0, &[T, 1], Any),        // R G _ W (transparent keeps R)
        ],
        None,
    );
    let anim = codec::decode_animation(&bytes, &Limits::default(), None).unwrap();
    let want = [
        [px(R), px(R), px(R), px(R)],
        [px(R), px(G), px(R), px(R)],
        [px(R), CLEAR, px(B), px(R)],
        [px(R), CLEAR, CLEAR, px(W)],
        [px(R), px(G), CLEAR, px(W)],
    ];
    assert_eq!(anim.frames.len(), want.len());
    for (i, (f, w)) in anim.frames.iter().zip(want).enumerate() {
        let got: Vec<Rgba<u8>> = f.image.pixels().copied().collect();
        assert_eq!(got, w, "frame {i}");
        assert_eq!(f.delay, Delay::from_centis(5));
    }
    // No NETSCAPE block: the animation plays once.
    assert_eq!(anim.loop_count, Loop::Times(1));

    // A still render of a GIF shows frame 0; `frame` picks another.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("d.gif"), &bytes).unwrap();
    let renderer = impasto::Renderer::new(impasto::Backend::Cpu).unwrap();
    for (frame, want) in [(None, &want[0]), (Some(2), &want[2])] {
        let f = frame.map_or(String::new(), |f| format!(r#", "frame": {f}"#));
        let mut scene = Scene::from_json(&format!(
            r#"{{"width": 4, "height": 1, "layers": [{{"type": "image", "src": "d.gif", "filter": "nearest"{f}}}]}}"#
        ))
        .unwrap();
        scene.base_dir = Some(dir.path().to_path_buf());
        let img = renderer.render(&scene).unwrap();
        assert_eq!(
            img.pixels().copied().collect::<Vec<_>>(),
            want,
            "frame {frame:?}"
        );
    }
    let mut scene = Scene::from_json(
        r#"{"width": 4, "height": 1, "layers": [{"type": "image", "src": "d.gif", "frame": 5}]}"#,
    )
    .unwrap();
    scene.base_dir = Some(dir.path().to_path_buf());
    let err = renderer.render(&scene).unwrap_err();
    assert!(err.is_bad_input(), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("layer 0 (image): field \"frame\"") && msg.contains("5 frames"),
        "{msg}"
    );
}

#[test]
fn apng_and_animated_webp_sources_play_with_their_delays() {
    // Three frames with a transparent corner, 12x9.
    let frames: Vec<RgbaImage> = PALETTE[..3]
        .iter()
        .map(|c| RgbaImage::from_fn(12, 9, |x, y| if x < 3 && y < 3 { CLEAR } else { px(*c) }))
        .collect();
    let refs: Vec<&RgbaImage> = frames.iter().collect();
    let delays = [
        Delay::new(1, 30),
        Delay::from_millis(250),
        Delay::from_millis(40),
    ];
    let dir = tempfile::tempdir().unwrap();
    let renderer = impasto::Renderer::new(impasto::Backend::Cpu).unwrap();
    for (name, format, want_delays) in [
        ("a.png", AnimationFormat::Png, delays),
        // WebP counts whole milliseconds: 1/30 s is 33 ms.
        (
            "a.webp",
            AnimationFormat::WebPLossless,
            [Delay::from_millis(33), delays[1], delays[2]],
        ),
    ] {
        let bytes = codec::encode_animation(&refs, &delays, Loop::Forever, format).unwrap();
        std::fs::write(dir.path().join(name), bytes).unwrap();
        let mut scene = Scene::from_json(&format!(
            r##"{{"width": 12, "height": 9, "background": "#000000",
                 "layers": [{{"type": "image", "src": "{name}"}}]}}"##
        ))
        .unwrap();
        scene.base_dir = Some(dir.path().to_path_buf());
        let anim = renderer
            .render_animation(&scene, &Assets::new(), &RenderOptions::default())
            .unwrap();
        assert_eq!(anim.delays, want_delays, "{name}");
        assert_eq!(anim.loop_count, Loop::Forever, "{name}");
        assert_eq!(anim.frames.len(), 3, "{name}");
        for (i, f) in anim.frames.iter().enumerate() {
            assert_eq!(
                f.get_pixel(0, 0).0,
                [0, 0, 0, 255],
                "{name} frame {i}: background"
            );
            // Exact on WebP too, whose later frames are sub-rectangles
            // blended over the canvas (see above).
            let (got, want) = (f.get_pixel(6, 6).0, px(PALETTE[i]).0);
            assert_eq!(got, want, "{name} frame {i}");
        }
    }
}

#[test]
fn cpu_and_gpu_render_the_same_frames() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.gif"), three_frame_gif()).unwrap();
    let scene = watermark_scene(dir.path(), "in.gif", None);
    let all = backends();
    let cpu = all[0]
        .renderer
        .render_animation(&scene, &Assets::new(), &RenderOptions::default())
        .unwrap();
    assert_eq!(cpu.frames.len(), 3);
    for b in &all[1..] {
        let got = b
            .renderer
            .render_animation(&scene, &Assets::new(), &RenderOptions::default())
            .unwrap();
        assert_eq!(got.delays, cpu.delays);
        assert_eq!(got.loop_count, cpu.loop_count);
        for (i, (g, c)) in got.frames.iter().zip(&cpu.frames).enumerate() {
            let name = format!("animation-{}-frame{i}", b.name);
            if let Some(problem) = check_images(&name, g, c, &b.tolerance) {
                panic!("{problem}");
            }
        }
    }
}

fn refused(bytes: &[u8], limits: Limits) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bomb.gif"), bytes).unwrap();
    let mut scene = Scene::from_json(
        r#"{"width": 8, "height": 8, "layers": [{"type": "image", "src": "bomb.gif"}]}"#,
    )
    .unwrap();
    scene.base_dir = Some(dir.path().to_path_buf());
    let renderer = impasto::Renderer::new(impasto::Backend::Cpu)
        .unwrap()
        .with_limits(limits);
    let err = renderer
        .render_animation(&scene, &Assets::new(), &RenderOptions::default())
        .unwrap_err();
    assert!(err.is_bad_input(), "{err}");
    let msg = err.to_string();
    assert!(msg.starts_with("layer 0 (image): field \"src\""), "{msg}");
    msg
}

#[test]
fn animated_bombs_are_refused_from_their_headers() {
    let tiny = |n: usize| -> Vec<GifFrame> {
        (0..n)
            .map(|i| GifFrame {
                rect: (0, 0, 1, 1),
                indices: vec![(i % 4) as u8],
                dispose: gif::DisposalMethod::Keep,
                delay: 1,
            })
            .collect()
    };
    // Many frames: 1,001 one-pixel frames, over the default 1,000.
    let many = gif_file((1, 1), &tiny(1001), None);
    let msg = refused(&many, Limits::default());
    assert!(
        msg.contains("1001 frames") && msg.contains("max_animation_frames"),
        "{msg}"
    );

    // Frames x canvas: 8 frames of a 4096x4096 screen (16 megapixels each,
    // 128 in all) over a limit of 100 megapixels; the file is a few
    // hundred bytes.
    let big_screen = gif_file((4096, 4096), &tiny(8), None);
    assert!(big_screen.len() < 1000);
    let limits = Limits {
        max_animation_pixels: 100 << 20,
        ..Limits::default()
    };
    let msg = refused(&big_screen, limits);
    assert!(msg.contains("max_animation_pixels"), "{msg}");

    // One huge frame in a small screen: its descriptor says 65535x65535
    // (4 gigapixels) over a handful of bytes of image data.
    let mut huge = Vec::new();
    {
        let mut enc = gif::Encoder::new(&mut huge, 2, 2, &PALETTE.concat()).unwrap();
        let frame = gif::Frame {
            width: 65535,
            height: 65535,
            // LZW minimum code size 2, then a clear code and an end code.
            buffer: Cow::Borrowed(&[2, 2, 0x4c, 0x01, 0x00]),
            ..gif::Frame::default()
        };
        enc.write_lzw_pre_encoded_frame(&frame).unwrap();
    }
    let msg = refused(&huge, Limits::default());
    assert!(
        msg.contains("65535x65535") && msg.contains("over the limit"),
        "{msg}"
    );

    // A still render refuses the huge frame too, before decoding it.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("huge.gif"), &huge).unwrap();
    let e = codec::decode_file(dir.path().join("huge.gif"), 1 << 27).unwrap_err();
    assert!(e.0.contains("over the limit"), "{e}");
}

#[test]
fn output_frames_are_held_to_the_limits_before_any_is_drawn() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.gif"), three_frame_gif()).unwrap();
    let scene = watermark_scene(dir.path(), "in.gif", None);
    let renderer = impasto::Renderer::new(impasto::Backend::Cpu)
        .unwrap()
        .with_limits(Limits {
            max_animation_pixels: 40 * 30 * 3,
            ..Limits::default()
        });
    // The source fits (3 x 40x30); the output (3 x 48x36) does not.
    let err = renderer
        .render_animation(&scene, &Assets::new(), &RenderOptions::default())
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("canvas: the animation would have 3 frames"),
        "{err}"
    );
}

#[test]
fn an_animation_over_the_memory_limit_is_refused_before_any_frame_is_drawn() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.gif"), three_frame_gif()).unwrap();
    let scene = watermark_scene(dir.path(), "in.gif", None);
    // 3 frames of 48x36 kept (20736 bytes), the 3 decoded 40x30 source
    // frames (14400) and the GIF encoder's byte a pixel (5184).
    let render = |max_render_bytes| {
        let renderer = impasto::Renderer::new(impasto::Backend::Cpu)
            .unwrap()
            .with_limits(Limits {
                max_render_bytes,
                ..Limits::default()
            });
        let out = dir.path().join("out.gif");
        let err = renderer
            .render_animation_to_file(
                &scene,
                &Assets::new(),
                &out,
                AnimationFormat::Gif,
                &RenderOptions::default(),
            )
            .unwrap_err();
        assert!(err.is_bad_input());
        assert!(!out.exists(), "no file left");
        err.to_string()
    };
    // Frames and sources fit, not with the encoder: refused once decoded.
    let message = render(38_000);
    assert!(
        message.starts_with("canvas: the animation would need about 39.4 KiB")
            && message.contains("3 frames of 48x36")
            && message.contains("gif encoder"),
        "{message}"
    );
    // Not even the source's frames and as many output frames: refused
    // from the file's headers, naming the layer, before it is decoded.
    let message = render(30_000);
    assert!(
        message.starts_with("layer 0 (image): field \"src\": \"in.gif\": its 3 frames of 40x30"),
        "{message}"
    );
}

#[test]
fn the_command_line_animates_with_the_flag_or_the_scene_field() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.gif"), three_frame_gif()).unwrap();
    let scene = watermark_scene(dir.path(), "in.gif", None);
    std::fs::write(dir.path().join("still.json"), scene.to_json()).unwrap();
    std::fs::write(
        dir.path().join("anim.json"),
        scene.clone().animate(true).to_json(),
    )
    .unwrap();
    let run = |json: &str, out: &str, flags: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_impasto"))
            .args(["render", json, "-o", out, "--backend", "cpu"])
            .args(flags)
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let frames = |out: &str| {
        codec::decode_animation_file(dir.path().join(out), &Limits::default())
            .unwrap()
            .frames
            .len()
    };
    assert!(run("still.json", "flag.gif", &["--animate"])
        .status
        .success());
    assert_eq!(frames("flag.gif"), 3);
    assert!(run("anim.json", "field.webp", &[]).status.success());
    assert_eq!(frames("field.webp"), 3);
    // No animation asked for: a still GIF of the first frame.
    assert!(run("still.json", "still.gif", &[]).status.success());
    assert_eq!(frames("still.gif"), 1);
    // JPEG holds no animation: bad input (2), and no file.
    let out = run("still.json", "x.jpg", &["--animate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(".gif, .png (APNG) or .webp"));
    assert!(!dir.path().join("x.jpg").exists());
    // The scene's field alone: a .jpg of it is the still scene, with a note
    // (it was refused, so one scene could not give a GIF and a JPEG).
    let out = run("anim.json", "poster.jpg", &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("the still scene is written"));
    let still = image::open(dir.path().join("poster.jpg")).unwrap();
    assert!(run("still.json", "poster2.jpg", &[]).status.success());
    assert_eq!(still, image::open(dir.path().join("poster2.jpg")).unwrap());
}

#[test]
fn a_gif_cut_after_a_whole_frame_or_a_png_without_iend_decodes_and_one_cut_earlier_fails() {
    // Every frame whole, only the trailer byte missing: some encoders and
    // cut-off downloads leave such files, and browsers show them.
    let gif = three_frame_gif();
    assert_eq!(gif.last(), Some(&b';'));
    let cut = &gif[..gif.len() - 1];
    let whole = codec::decode_animation(&gif, &Limits::default(), None).unwrap();
    let anim = codec::decode_animation(cut, &Limits::default(), None).unwrap();
    assert_eq!(anim.frames.len(), 3);
    for (a, b) in anim.frames.iter().zip(&whole.frames) {
        assert_eq!(a.image, b.image);
    }
    assert_eq!(
        codec::decode_bytes(cut, u64::MAX).unwrap(),
        codec::decode_bytes(&gif, u64::MAX).unwrap()
    );
    // Cut inside the last frame: the frames before it, as browsers show
    // them (it was refused whole); cut inside the first: refused.
    let short = codec::decode_animation(&gif[..gif.len() - 40], &Limits::default(), None).unwrap();
    assert_eq!(short.frames.len(), 2);
    for (a, b) in short.frames.iter().zip(&whole.frames) {
        assert_eq!(a.image, b.image);
    }
    // (The one-frame file of the same first frame ends 5 bytes later.)
    let one = GifFrame {
        rect: (0, 0, 40, 30),
        indices: vec![0; 40 * 30],
        dispose: gif::DisposalMethod::Keep,
        delay: 10,
    };
    let first_frame_cut = gif_file((40, 30), &[one], Some(gif::Repeat::Finite(3))).len() - 6;
    assert!(codec::decode_animation(&gif[..first_frame_cut], &Limits::default(), None).is_err());
    assert!(codec::decode_bytes(&gif[..first_frame_cut], u64::MAX).is_err());
    // A PNG, straight or interlaced (the second decoder), without IEND.
    let img = RgbaImage::from_fn(33, 17, |x, y| {
        Rgba([(x * 7) as u8, (y * 13) as u8, 90, 200])
    });
    let straight = codec::encode(&img, codec::OutputFormat::Png).unwrap();
    let dot = Rgba([1, 2, 3, 255]);
    let interlaced = common::interlaced_png_1x1(dot);
    assert_eq!(
        codec::decode_bytes(&interlaced, u64::MAX).unwrap(),
        RgbaImage::from_pixel(1, 1, dot)
    );
    for (png, img) in [
        (straight, img),
        (interlaced, RgbaImage::from_pixel(1, 1, dot)),
    ] {
        assert!(png.ends_with(b"IEND\xAE\x42\x60\x82"));
        assert_eq!(
            codec::decode_bytes(&png[..png.len() - 12], u64::MAX).unwrap(),
            img
        );
        // Its last data chunk's checksum cut too: refused.
        let e = codec::decode_bytes(&png[..png.len() - 14], u64::MAX).unwrap_err();
        assert!(e.to_string().contains("PNG"), "{e}");
    }
}

#[test]
fn a_gif_extension_of_an_unknown_label_is_skipped_as_the_specification_asks() {
    // GIF89a: a decoder skips an extension it does not know over its
    // sub-blocks (browsers and Pillow do); a vendor's private label must
    // not make the file unreadable.
    let gif = three_frame_gif();
    let at = gif
        .windows(3)
        .position(|w| w == [0x21, 0xF9, 0x04])
        .expect("a graphic control extension");
    let mut odd = gif[..at].to_vec();
    odd.extend_from_slice(&[0x21, 0x99, 5, b'h', b'e', b'l', b'l', b'o', 2, 1, 2, 0]);
    odd.extend_from_slice(&gif[at..]);
    let whole = codec::decode_animation(&gif, &Limits::default(), None).unwrap();
    let anim = codec::decode_animation(&odd, &Limits::default(), None).unwrap();
    assert_eq!(anim.frames.len(), 3);
    for (a, b) in anim.frames.iter().zip(&whole.frames) {
        assert_eq!(a.image, b.image);
        assert_eq!(a.delay, b.delay);
    }
    assert_eq!(
        codec::decode_bytes(&odd, u64::MAX).unwrap(),
        codec::decode_bytes(&gif, u64::MAX).unwrap()
    );
    // The probe (the layout's size, the decode's predicted memory) reads
    // it too: through `image`'s GIF decoder it failed, and the decode went
    // uncounted.
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("odd.gif");
    std::fs::write(&path, &odd).unwrap();
    assert_eq!(codec::probe_file(&path, 1 << 20).unwrap(), (40, 30));
    let e = codec::probe_file(&path, 1199).unwrap_err();
    assert!(e.0.contains("over the limit of 1199 pixels"), "{e}");
}

#[test]
fn an_animated_render_reports_each_warning_once_naming_the_file_cut_short() {
    // A GIF cut inside its last frame shows the two before it; the
    // warning was logged without the file's name, and a text layer's
    // missing characters were logged once per output frame.
    let dir = tempfile::tempdir().unwrap();
    let gif = three_frame_gif();
    std::fs::write(dir.path().join("cut.gif"), &gif[..gif.len() - 40]).unwrap();
    let mut scene = Scene::from_value(&serde_json::json!({
        "width": 40, "height": 30, "animate": true, "layers": [
            {"type": "image", "src": "cut.gif"},
            {"type": "text", "text": "a\u{10FFFD}", "size": 12}]}))
    .unwrap();
    scene.base_dir = Some(dir.path().to_path_buf());
    for b in backends() {
        let anim = b
            .renderer
            .render_animation(&scene, &Assets::new(), &RenderOptions::default())
            .unwrap();
        assert_eq!(anim.frames.len(), 2, "{}", b.name);
        let said: Vec<(&str, Option<usize>, String)> = anim
            .warnings
            .iter()
            .map(|w| (w.kind(), w.layer(), w.to_string()))
            .collect();
        assert_eq!(said.len(), 2, "{}: {said:?}", b.name);
        assert_eq!(
            (said[0].0, said[0].1, said[0].2.as_str()),
            (
                "file_cut_short",
                Some(0),
                "layer 0 (image): field \"src\": \"cut.gif\": GIF file cut short: its first 2 frames are whole, and they are shown, as a browser would"
            ),
            "{}",
            b.name
        );
        assert_eq!(
            (said[1].0, said[1].1),
            ("missing_glyphs", Some(1)),
            "{}",
            b.name
        );
    }
    // A still render of a frame the cut left whole has nothing to say; the
    // still GIF's first frame neither.
    for frame in [None, Some(1)] {
        let mut scene = watermark_scene(dir.path(), "cut.gif", frame);
        scene.base_dir = Some(dir.path().to_path_buf());
        let r = impasto::Renderer::new(impasto::Backend::Cpu).unwrap();
        let rendered = r.render_report(&scene, &Assets::new(), &RenderOptions::default());
        let w = rendered.unwrap().warnings;
        assert!(w.is_empty(), "frame {frame:?}: {w:?}");
    }
    // Cut inside its second frame: one whole frame, so no animation left;
    // an animated render says what was lost.
    let one = GifFrame {
        rect: (0, 0, 40, 30),
        indices: vec![0; 40 * 30],
        dispose: gif::DisposalMethod::Keep,
        delay: 10,
    };
    let first_ends = gif_file((40, 30), &[one], Some(gif::Repeat::Finite(3))).len() - 1;
    std::fs::write(dir.path().join("one.gif"), &gif[..first_ends + 30]).unwrap();
    let mut scene = Scene::from_value(&serde_json::json!({
        "width": 40, "height": 30, "animate": true, "layers": [
            {"type": "image", "src": "one.gif"}]}))
    .unwrap();
    scene.base_dir = Some(dir.path().to_path_buf());
    let r = impasto::Renderer::new(impasto::Backend::Cpu).unwrap();
    let anim = r
        .render_animation(&scene, &Assets::new(), &RenderOptions::default())
        .unwrap();
    assert_eq!(anim.frames.len(), 1);
    let said: Vec<&str> = anim.warnings.iter().map(|w| w.kind()).collect();
    assert_eq!(said, ["file_cut_short"], "{:?}", anim.warnings);
    // A frame past the cut: the error says the file is cut short.
    let mut scene = watermark_scene(dir.path(), "cut.gif", Some(2));
    scene.base_dir = Some(dir.path().to_path_buf());
    let r = impasto::Renderer::new(impasto::Backend::Cpu).unwrap();
    let e = r.render(&scene).unwrap_err().to_string();
    assert!(e.contains("frame 2 does not exist"), "{e}");
    assert!(e.contains("the file is cut short"), "{e}");
}

/// A GIF of `n` solid 40x30 frames (cycling red, green, blue) of `delay`
/// hundredths each, looping forever.
fn solid_gif(n: usize, delay: u16) -> Vec<u8> {
    let frames: Vec<GifFrame> = (0..n)
        .map(|i| GifFrame {
            rect: (0, 0, 40, 30),
            indices: vec![(i % 3) as u8; 40 * 30],
            dispose: gif::DisposalMethod::Keep,
            delay,
        })
        .collect();
    gif_file((40, 30), &frames, Some(gif::Repeat::Infinite))
}

#[test]
fn only_layers_that_draw_set_the_timeline_and_merged_gif_delays_keep_its_length() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.gif"), three_frame_gif()).unwrap();
    std::fs::write(dir.path().join("long.gif"), solid_gif(10, 10)).unwrap();
    let renderer = impasto::Renderer::new(impasto::Backend::Cpu).unwrap();
    let scene = |second: &str| {
        let json = format!(
            r##"{{ "width": 48, "height": 36, "layers": [
              {{ "type": "image", "src": "a.gif", "width": 40, "height": 30 }},
              {{ "type": "image", "src": "long.gif", "width": 40, "height": 30{second} }} ] }}"##
        );
        let mut scene = Scene::from_json(&json).unwrap();
        scene.base_dir = Some(dir.path().to_path_buf());
        scene
    };
    let delays = |scene: &Scene| {
        let anim = renderer
            .render_animation(scene, &Assets::new(), &RenderOptions::default())
            .unwrap();
        let delays: Vec<u64> = anim.delays.iter().map(|d| d.centis()).collect();
        (delays, anim.loop_count)
    };
    // The ten-frame GIF transparent, or wholly off the canvas: it draws
    // nothing, so the animation is the three-frame GIF's (it was ten
    // frames, 100 cs, looping forever).
    for hidden in [r#", "opacity": 0"#, r#", "x": 5000"#] {
        assert_eq!(
            delays(&scene(hidden)),
            (vec![10, 20, 70], Loop::Times(4)),
            "{hidden}"
        );
    }
    // Drawn, it merges: 10 cs frames against 10, 20, 70: ten frames.
    let (merged, plays) = delays(&scene(""));
    assert_eq!(
        (merged.len(), merged.iter().sum::<u64>(), plays),
        (10, 100, Loop::Forever)
    );

    // Sources of 100 and 105 ms frames: no slice of 5-15 ms (shown for
    // 100 ms by browsers), and the GIF written keeps the 1050 ms.
    std::fs::write(dir.path().join("a.gif"), solid_gif(10, 10)).unwrap();
    let (blue, green) = (
        RgbaImage::from_pixel(40, 30, px(B)),
        RgbaImage::from_pixel(40, 30, px(G)),
    );
    let apng = codec::encode_animation(
        &[&blue, &green, &blue],
        &[Delay::from_millis(105); 3],
        Loop::Forever,
        AnimationFormat::Png,
    )
    .unwrap();
    std::fs::write(dir.path().join("long.png"), apng).unwrap();
    let mut scene = scene("");
    if let impasto::LayerKind::Image(image) = &mut scene.layers[1].kind {
        image.src = "long.png".into();
    }
    let out = dir.path().join("out.gif");
    renderer
        .render_animation_to_file(
            &scene,
            &Assets::new(),
            &out,
            AnimationFormat::Gif,
            &RenderOptions::default(),
        )
        .unwrap();
    let (_, written, _) = read_gif(&std::fs::read(&out).unwrap());
    assert_eq!(
        written.iter().map(|&d| u64::from(d)).sum::<u64>(),
        100,
        "{written:?}"
    );
    assert!(written.iter().all(|&d| d >= 2), "{written:?}");
}

#[test]
fn a_still_render_of_an_apng_with_a_hidden_default_image_draws_its_first_frame() {
    // The default image (magenta) is not part of the animation (red, then
    // green): browsers never show it; a still render, `frame: 0` and the
    // animation's first frame all draw red (the still drew magenta).
    let mut bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut bytes, 4, 4);
        enc.set_color(png::ColorType::Rgba);
        enc.set_animated(2, 0).unwrap();
        enc.set_sep_def_img(true).unwrap();
        let mut w = enc.write_header().unwrap();
        for colour in [[255, 0, 255, 255], [255, 0, 0, 255], [0, 255, 0, 255]] {
            w.write_image_data(&colour.repeat(16)).unwrap();
        }
        w.finish().unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hidden.png"), &bytes).unwrap();
    let renderer = impasto::Renderer::new(impasto::Backend::Cpu).unwrap();
    let scene = |frame: &str| {
        let json = format!(
            r#"{{ "width": 4, "height": 4, "layers": [
              {{ "type": "image", "src": "hidden.png", "width": 4, "height": 4{frame} }} ] }}"#
        );
        let mut scene = Scene::from_json(&json).unwrap();
        scene.base_dir = Some(dir.path().to_path_buf());
        scene
    };
    let red = [255, 0, 0, 255];
    assert_eq!(renderer.render(&scene("")).unwrap().get_pixel(1, 1).0, red);
    let picked = renderer.render(&scene(r#", "frame": 0"#)).unwrap();
    assert_eq!(picked.get_pixel(1, 1).0, red);
    let anim = renderer
        .render_animation(&scene(""), &Assets::new(), &RenderOptions::default())
        .unwrap();
    assert_eq!(anim.frames.len(), 2);
    assert_eq!(anim.frames[0].get_pixel(1, 1).0, red);
    assert_eq!(anim.frames[1].get_pixel(1, 1).0, [0, 255, 0, 255]);
}
