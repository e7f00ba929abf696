//! `data:` URLs as image sources, and encoded images in memory
//! (`Assets::insert_encoded`): drawn as their bytes in a file would be (on
//! every backend, exactly), decoded once for many renders, animated, and
//! refused with what is wrong when they are bad.

mod common;

use base64::Engine;
use common::backends::backends;
use image::RgbaImage;
use impasto::codec::{self, AnimationFormat, Delay, Loop};
use impasto::{Assets, Backend, Limits, RenderOptions, Renderer, Scene};
use serde_json::json;

fn data_url(media_type: &str, bytes: &[u8]) -> String {
    let text = base64::engine::general_purpose::STANDARD.encode(bytes);
    format!("data:{media_type};base64,{text}")
}

fn png_bytes(image: &RgbaImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A 20x10 image of translucent stripes, the PNG of it, and a 64x48 JPEG.
fn sources() -> (Vec<u8>, Vec<u8>) {
    let stripes = RgbaImage::from_fn(20, 10, |x, y| {
        image::Rgba([(x * 12) as u8, (y * 25) as u8, 200, (40 + x * 10) as u8])
    });
    let photo = image::RgbImage::from_fn(64, 48, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 5) as u8, 90])
    });
    let mut jpeg = std::io::Cursor::new(Vec::new());
    photo.write_to(&mut jpeg, image::ImageFormat::Jpeg).unwrap();
    (png_bytes(&stripes), jpeg.into_inner())
}

fn two_image_scene(png: &str, jpeg: &str) -> serde_json::Value {
    json!({"width": 48, "height": 40, "background": "#203040",
        "layers": [
            {"type": "image", "src": png, "x": 3, "y": 2, "width": 37, "height": 19, "rotate": 7},
            {"type": "image", "src": jpeg, "x": 10, "y": 18, "width": 24, "height": 18, "fit": "cover"}]})
}

/// [`sources`] written to `a.png` and `b.jpg` in `dir`, and
/// [`two_image_scene`] drawing them from there.
fn scene_of_files(dir: &std::path::Path) -> (Vec<u8>, Vec<u8>, Scene) {
    let (png, jpeg) = sources();
    std::fs::write(dir.join("a.png"), &png).unwrap();
    std::fs::write(dir.join("b.jpg"), &jpeg).unwrap();
    let mut scene = Scene::from_value(&two_image_scene("a.png", "b.jpg")).unwrap();
    scene.base_dir = Some(dir.to_path_buf());
    (png, jpeg, scene)
}

#[test]
fn a_data_url_draws_exactly_what_its_file_draws_on_every_backend() {
    let dir = tempfile::tempdir().unwrap();
    let (png, jpeg, from_files) = scene_of_files(dir.path());
    // The media type is not trusted (the bytes say JPEG): no error.
    let inline = two_image_scene(&data_url("image/png", &png), &data_url("image/png", &jpeg));
    let inline = Scene::from_value(&inline).unwrap();
    for backend in backends() {
        let want = backend.renderer.render(&from_files).unwrap();
        let got = backend
            .renderer
            .render(&inline)
            .unwrap_or_else(|e| panic!("{}: {e}", backend.name));
        assert!(
            got == want,
            "{}: a data: URL drew other pixels",
            backend.name
        );
    }
}

#[test]
fn renders_sharing_a_data_url_decode_it_once() {
    let (png, _) = sources();
    let src = data_url("image/png", &png);
    // The same bytes written another way (percent-encoded, no base64)
    // are the same image to the cache.
    let percent: String = png.iter().map(|b| format!("%{b:02X}")).collect();
    let other = format!("data:image/png,{percent}");
    let scene = |src: &str, again: &str| {
        Scene::from_value(&json!({"width": 30, "height": 20, "layers": [
            {"type": "image", "src": src, "width": 10, "height": 10},
            {"type": "image", "src": again, "x": 12, "width": 10, "height": 10}]}))
        .unwrap()
    };
    let r = Renderer::new(Backend::Cpu).unwrap();
    let first = r.render(&scene(&src, &src)).unwrap();
    for _ in 0..4 {
        assert!(r.render(&scene(&src, &other)).unwrap() == first);
    }
    let s = r.asset_cache_stats();
    assert_eq!((s.misses, s.hits, s.images), (1, 4, 1), "{s:?}");
}

fn refusal(src: &str, limits: Limits) -> String {
    let scene = Scene::from_value(&json!({"width": 8, "height": 8, "layers": [
        {"type": "rect", "color": "#ffffff"},
        {"type": "image", "src": src}]}))
    .unwrap();
    let err = Renderer::new(Backend::Cpu)
        .unwrap()
        .with_limits(limits)
        .render(&scene)
        .unwrap_err();
    assert!(err.is_bad_input(), "{err}");
    let msg = err.to_string();
    assert!(
        msg.starts_with("layer 1 (image): field \"src\": \"data:"),
        "{msg}"
    );
    // Shown by its start and length, not its kilobytes.
    assert!(msg.len() < 400, "{msg}");
    msg
}

#[test]
fn bad_data_urls_are_refused_naming_the_layer_and_what_is_wrong() {
    let (png, _) = sources();
    let defaults = Limits::default();
    let svg = data_url(
        "image/svg+xml",
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
    );
    let e = refusal(&svg, defaults);
    assert!(
        e.contains("not an image impasto can decode")
            && e.contains("the data: URL says \"image/svg+xml\""),
        "{e}"
    );
    let url_safe = data_url("image/png", &png).replace('+', "-");
    let url_safe = match url_safe.contains('-') {
        true => url_safe,
        false => format!("{url_safe}-"),
    };
    let e = refusal(&url_safe, defaults);
    assert!(
        e.contains("which is not base64") && e.contains("URL-safe"),
        "{e}"
    );
    let small = Limits {
        max_image_file_bytes: 100,
        ..defaults
    };
    let e = refusal(&data_url("image/png", &png), small);
    assert!(
        e.contains(&format!(
            "holds {} bytes, over the limit of 100 bytes (max_image_file_bytes)",
            png.len()
        )),
        "{e}"
    );
    // A PNG cut short: the decoder's own message, as for a file.
    let e = refusal(&data_url("image/png", &png[..40]), defaults);
    assert!(e.contains("PNG"), "{e}");
    // No comma: no data: URL, and no such file.
    let e = refusal("data:image/png;base64", defaults);
    assert!(e.contains("has a ',' before its data"), "{e}");
    // Its '+' sent in a query, read as spaces: a hint.
    let plus = (0u8..=255).cycle().take(3000).collect::<Vec<u8>>();
    let image = RgbaImage::from_raw(25, 30, plus).unwrap();
    let url = data_url("image/png", &png_bytes(&image));
    assert!(url.contains('+'));
    let e = refusal(&url.replace('+', " "), defaults);
    assert!(
        e.contains("a '+' sent in a URL query reads as a space; write it %2B"),
        "{e}"
    );
}

#[test]
fn a_scene_holding_a_long_data_url_checks_and_renders_and_a_leading_space_is_no_file() {
    let big = RgbaImage::from_fn(300, 200, |x, y| image::Rgba([x as u8, y as u8, 7, 255]));
    let src = format!(" {}", data_url("image/png", &png_bytes(&big)));
    assert!(src.len() > 1000);
    let mut scene = Scene::from_value(&json!({"width": 30, "height": 20,
        "layers": [{"type": "image", "src": src, "fit": "fill"}]}))
    .unwrap();
    scene.validate().unwrap();
    let image = Renderer::new(Backend::Cpu).unwrap().render(&scene).unwrap();
    assert_eq!(image.dimensions(), (30, 20));
    // The check still reads an empty `src`.
    if let impasto::LayerKind::Image(il) = &mut scene.layers[0].kind {
        il.src.clear();
    }
    let e = scene.validate().unwrap_err().to_string();
    assert!(e.contains("field \"src\": is empty"), "{e}");
}

#[test]
fn an_animated_data_url_plays_and_a_layer_can_pin_one_of_its_frames() {
    let frames: Vec<RgbaImage> = [[255, 0, 0, 255], [0, 255, 0, 255], [0, 0, 255, 255]]
        .into_iter()
        .map(|c| RgbaImage::from_pixel(6, 4, image::Rgba(c)))
        .collect();
    let refs: Vec<&RgbaImage> = frames.iter().collect();
    let delays = [Delay::from_millis(100); 3];
    let apng =
        codec::encode_animation(&refs, &delays, Loop::Forever, AnimationFormat::Png).unwrap();
    let src = data_url("image/apng", &apng);
    let r = Renderer::new(Backend::Cpu).unwrap();
    let scene = Scene::from_value(&json!({"width": 6, "height": 4, "animate": true,
        "layers": [{"type": "image", "src": src}]}))
    .unwrap();
    let anim = r
        .render_animation(&scene, &Assets::new(), &RenderOptions::default())
        .unwrap();
    assert_eq!(anim.frames.len(), 3);
    for (got, want) in anim.frames.iter().zip(&frames) {
        assert!(got == want);
    }
    let pinned = Scene::from_value(&json!({"width": 6, "height": 4,
        "layers": [{"type": "image", "src": src, "frame": 2}]}))
    .unwrap();
    assert!(r.render(&pinned).unwrap() == frames[2]);
    let past = Scene::from_value(&json!({"width": 6, "height": 4,
        "layers": [{"type": "image", "src": src, "frame": 3}]}))
    .unwrap();
    let e = r.render(&past).unwrap_err().to_string();
    assert!(
        e.contains("field \"frame\"") && e.contains("the image has 3 frames"),
        "{e}"
    );
}

#[test]
fn a_scene_s_image_files_leave_its_data_urls_out() {
    let dir = tempfile::tempdir().unwrap();
    let (png, _) = sources();
    std::fs::write(dir.path().join("a.png"), &png).unwrap();
    let mut scene = Scene::from_value(&json!({"width": 8, "height": 8, "layers": [
        {"type": "image", "src": data_url("image/png", &png)},
        {"type": "image", "src": "a.png"}]}))
    .unwrap();
    scene.base_dir = Some(dir.path().to_path_buf());
    let r = Renderer::new(Backend::Cpu).unwrap();
    let files: Vec<usize> = r.image_files(&scene).into_iter().map(|(i, _)| i).collect();
    assert_eq!(files, [1]);
}

#[test]
fn encoded_images_in_memory_draw_as_files_play_and_are_decoded_once() {
    let dir = tempfile::tempdir().unwrap();
    let (png, jpeg, from_files) = scene_of_files(dir.path());
    // Named as the files are, in a folder without them.
    let empty = tempfile::tempdir().unwrap();
    let mut in_memory = from_files.clone();
    in_memory.base_dir = Some(empty.path().to_path_buf());
    let r = Renderer::new(Backend::Cpu).unwrap();
    let want = r.render(&from_files).unwrap();
    for _ in 0..3 {
        // A new set per request, as a service makes them.
        let mut assets = Assets::new();
        assets.insert_encoded("a.png", png.clone()).unwrap();
        assets.insert_encoded("b.jpg", jpeg.clone()).unwrap();
        assert!(r.render_with_assets(&in_memory, &assets).unwrap() == want);
    }
    let s = r.asset_cache_stats();
    // Two decodes for the files, two for the encoded bytes (keyed apart).
    assert_eq!((s.misses, s.hits), (4, 4), "{s:?}");
    // An animation in memory plays.
    let frames: Vec<RgbaImage> = [[9, 0, 0, 255], [0, 9, 0, 255]]
        .into_iter()
        .map(|c| RgbaImage::from_pixel(3, 2, image::Rgba(c)))
        .collect();
    let refs: Vec<&RgbaImage> = frames.iter().collect();
    let apng = codec::encode_animation(
        &refs,
        &[Delay::from_millis(50); 2],
        Loop::Forever,
        AnimationFormat::Png,
    )
    .unwrap();
    let mut assets = Assets::new();
    assets.insert_encoded("anim.png", apng).unwrap();
    let scene = Scene::from_value(&json!({"width": 3, "height": 2, "animate": true,
        "layers": [{"type": "image", "src": "anim.png"}]}))
    .unwrap();
    let anim = r
        .render_animation(&scene, &assets, &RenderOptions::default())
        .unwrap();
    assert!(anim.frames == frames);
    // What is no image is refused when inserted; a name inserted again
    // is the image last inserted, decoded or encoded.
    let e = Assets::new()
        .insert_encoded("x.png", b"<svg/>".to_vec())
        .unwrap_err();
    assert!(e.to_string().contains("not an image"), "{e}");
    assets.insert("anim.png", frames[1].clone());
    let still = Scene::from_value(&json!({"width": 3, "height": 2,
        "layers": [{"type": "image", "src": "anim.png"}]}))
    .unwrap();
    assert!(r.render_with_assets(&still, &assets).unwrap() == frames[1]);
}
