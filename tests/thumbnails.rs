//! The thumbnails example (`examples/thumbnails/`), run in process: its
//! modules are included here with `#[path]` (an example has no
//! `CARGO_BIN_EXE_*`, and building it with a nested `cargo` would wait on
//! the build lock this test's own `cargo test` holds). Their unit tests run
//! here too. Also `codec::probe_file`, which the example sizes canvases by.

#[path = "../examples/thumbnails/mark.rs"]
mod mark;
#[path = "../examples/thumbnails/options.rs"]
mod options;
#[path = "../examples/thumbnails/report.rs"]
mod report;
#[path = "../examples/thumbnails/run.rs"]
mod run;
#[path = "../examples/thumbnails/walk.rs"]
mod walk;

mod common;

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use image::{Rgba, RgbaImage};

/// A `Write` whose bytes the test reads afterwards.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("not poisoned").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs the example with `args` after the program name; its exit status
/// and what it wrote to stderr.
fn thumbnails(args: &[&str]) -> (u8, String) {
    let err = Captured::default();
    let all = std::iter::once("thumbnails").chain(args.iter().copied());
    let status = run::run_cli(all.map(OsString::from), Box::new(err.clone()), false);
    let text = String::from_utf8(err.0.lock().expect("not poisoned").clone()).expect("UTF-8");
    (status, text)
}

/// 40 x 20 stored, red on top and blue below; orientation 6 turns it a
/// quarter clockwise: 20 x 40, red on the right.
fn rotated_jpeg() -> Vec<u8> {
    let img = RgbaImage::from_fn(40, 20, |_, y| {
        if y < 10 {
            Rgba([255, 0, 0, 255])
        } else {
            Rgba([0, 0, 255, 255])
        }
    });
    common::jpeg_with_orientation(&img, 6)
}

/// 30 x 30, the left half transparent, the right half opaque green.
fn half_transparent_png() -> Vec<u8> {
    let img = RgbaImage::from_fn(30, 30, |x, _| {
        if x < 15 {
            Rgba([0, 0, 0, 0])
        } else {
            Rgba([0, 200, 0, 255])
        }
    });
    impasto::codec::encode(&img, impasto::codec::OutputFormat::Png).expect("encodes")
}

fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("has a folder")).expect("mkdir");
    std::fs::write(path, bytes).expect("write");
}

/// Every file under `root`, relative, sorted.
fn files_under(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut dirs = vec![PathBuf::from(root)];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d)
            .expect("readable")
            .map(|e| e.expect("entry"))
        {
            if e.file_type().expect("type").is_dir() {
                dirs.push(e.path());
            } else {
                let rel = e
                    .path()
                    .strip_prefix(root)
                    .expect("under root")
                    .to_path_buf();
                out.push(rel.display().to_string());
            }
        }
    }
    out.sort();
    out
}

fn decode(path: &Path) -> RgbaImage {
    impasto::codec::decode_file(path, 1 << 20).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_folder_is_converted_with_oriented_sizes_and_bad_files_are_named_and_leave_nothing() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let input = dir.path().join("in");
    let output = dir.path().join("out");
    let coffee = std::fs::read("examples/poster/coffee.jpg").expect("the sample photo");
    write(&input, "photos/2024/coffee.jpg", &coffee); // 400x600 stored, rotated by EXIF
    write(&input, "a/b/rotated.jpg", &rotated_jpeg());
    write(&input, "logo.png", &half_transparent_png());
    write(&input, "broken.jpg", &coffee[..coffee.len() / 2]);
    write(&input, "nested/fake.png", b"these are words, not pixels");
    write(&input, "notes.txt", b"not an image and not named like one");
    let gif = std::fs::read("examples/animation/bouncing.gif").expect("the sample GIF");
    write(&input, "anim.gif", &gif); // 160x100, 6 frames: the first is drawn
    write(&input, "cut.gif", b"GIF89a");
    write(&input, "scan.tiff", b"II*\0");
    let (i, o) = (
        input.to_str().expect("UTF-8"),
        output.to_str().expect("UTF-8"),
    );
    let (status, err) = thumbnails(&[i, o, "--size", "64", "--format", "png", "--jobs", "2"]);

    assert_eq!(status, 3, "{err}");
    assert_eq!(
        files_under(&output),
        [
            "a/b/rotated.png",
            "anim.png",
            "logo.png",
            "photos/2024/coffee.png"
        ],
        "{err}"
    );
    // The sample photo is stored portrait and shown landscape.
    assert_eq!(
        decode(&output.join("photos/2024/coffee.png")).dimensions(),
        (64, 43)
    );
    let rotated = decode(&output.join("a/b/rotated.png"));
    assert_eq!(rotated.dimensions(), (32, 64));
    let (left, right) = (rotated.get_pixel(4, 32).0, rotated.get_pixel(27, 32).0);
    assert!(
        left[2] > 200 && left[0] < 60,
        "left should be blue: {left:?}"
    );
    assert!(
        right[0] > 200 && right[2] < 60,
        "right should be red: {right:?}"
    );
    let logo = decode(&output.join("logo.png"));
    assert_eq!(logo.dimensions(), (64, 64));
    assert_eq!(logo.get_pixel(5, 30).0[3], 0, "transparency is kept");
    assert_eq!(logo.get_pixel(58, 30).0, [0, 200, 0, 255]);

    let broken = input.join("broken.jpg");
    let fake = input.join("nested/fake.png");
    assert!(
        err.contains(&format!("error: {}: ", broken.display())),
        "{err}"
    );
    assert!(err.contains("truncated"), "{err}");
    assert!(
        err.contains(&format!("error: {}: not an image", fake.display())),
        "{err}"
    );
    assert_eq!(decode(&output.join("anim.png")).dimensions(), (64, 40));
    assert!(
        err.contains(&format!("error: {}: ", input.join("cut.gif").display())),
        "{err}"
    );
    assert!(
        err.contains("scan.tiff: skipped: TIFF files are not supported"),
        "{err}"
    );
    assert!(!err.contains("notes.txt"), "{err}");
    assert!(
        err.contains("thumbnails: 8 files, 4 written, 3 failed, 1 unsupported"),
        "{err}"
    );
}

#[test]
fn cover_makes_squares_and_a_clean_run_exits_zero() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let input = dir.path().join("in");
    let output = dir.path().join("out");
    write(&input, "x/rotated.JPG", &rotated_jpeg());
    write(&input, "logo.png", &half_transparent_png());
    // JPEG's other extension, as cameras and browsers save it.
    write(&input, "y/saved.jfif", &rotated_jpeg());
    let (i, o) = (
        input.to_str().expect("UTF-8"),
        output.to_str().expect("UTF-8"),
    );
    let (status, err) = thumbnails(&[i, o, "--fit", "cover", "--size", "24", "--format", "webp"]);
    assert_eq!(status, 0, "{err}");
    assert_eq!(
        files_under(&output),
        ["logo.webp", "x/rotated.webp", "y/saved.webp"]
    );
    assert_eq!(
        decode(&output.join("x/rotated.webp")).dimensions(),
        (24, 24)
    );
    assert!(
        err.contains("thumbnails: 3 files, 3 written, 0 failed"),
        "{err}"
    );
}

#[test]
fn webp_thumbnails_are_lossless() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let (input, output) = (dir.path().join("in"), dir.path().join("out"));
    write(&input, "logo.png", &half_transparent_png());
    let (i, o) = (input.to_str().unwrap(), output.to_str().unwrap());
    let (status, err) = thumbnails(&[i, o, "--format", "webp", "--size", "20"]);
    assert_eq!(status, 0, "{err}");
    let bytes = std::fs::read(output.join("logo.webp")).unwrap();
    assert_eq!(&bytes[12..16], b"VP8L", "a lossless WebP");
}

#[test]
fn photos_are_never_replaced_by_their_thumbnails() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let input = dir.path().join("in");
    write(&input, "a.jpg", &rotated_jpeg());
    write(&input, "in/a.jpg", &rotated_jpeg());
    let original = std::fs::read(input.join("a.jpg")).unwrap();
    let i = input.to_str().unwrap();
    // The same folder: refused before anything is written.
    let (status, err) = thumbnails(&[i, i]);
    assert_eq!(status, 2, "{err}");
    assert!(err.contains("is the input folder"), "{err}");
    assert_eq!(std::fs::read(input.join("a.jpg")).unwrap(), original);
    // The input inside the output: in/in/a.jpg's thumbnail would be
    // in/a.jpg, itself an input: that file fails, the photo stays.
    let (status, err) = thumbnails(&[i, dir.path().to_str().unwrap()]);
    assert_eq!(status, 3, "{err}");
    assert!(err.contains("would replace an input file"), "{err}");
    assert_eq!(std::fs::read(input.join("a.jpg")).unwrap(), original);
    assert!(
        dir.path().join("a.jpg").exists(),
        "in/a.jpg's own thumbnail"
    );
    // The output inside the input, holding a photo whose namesake's
    // thumbnail it would be (the output folder is not walked): that file
    // fails, the photo stays; the same through a link to the folder.
    let photos = dir.path().join("photos");
    write(&photos, "2024/beach.jpg", &rotated_jpeg());
    write(&photos, "beach.jpg", &half_transparent_png());
    let kept = std::fs::read(photos.join("2024/beach.jpg")).unwrap();
    let p = photos.to_str().unwrap();
    let inner = photos.join("2024");
    #[cfg(unix)]
    let link = {
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&inner, &link).unwrap();
        link
    };
    #[cfg(not(unix))]
    let link = inner.clone();
    for out in [&inner, &link] {
        let (status, err) = thumbnails(&[p, out.to_str().unwrap(), "--backend", "cpu"]);
        assert_eq!(status, 3, "{err}");
        assert!(err.contains("would replace an image of 20x40"), "{err}");
        assert!(err.contains("lies inside the input folder"), "{err}");
        assert_eq!(std::fs::read(photos.join("2024/beach.jpg")).unwrap(), kept);
    }
    // Thumbnails an earlier run made there are replaced: runs repeat.
    let thumbs = photos.join("thumbs");
    let args = [p, thumbs.to_str().unwrap(), "--backend", "cpu"];
    for run in 0..2 {
        let (status, err) = thumbnails(&args);
        assert_eq!(status, 0, "run {run}: {err}");
        assert!(thumbs.join("2024/beach.jpg").exists(), "{err}");
    }
    // Also at other qualities, down to a small size: a JPEG thumbnail
    // carries a mark, whatever its quality.
    for quality in ["30", "95"] {
        let mut other = args.to_vec();
        other.extend(["--quality", quality, "--size", "32"]);
        let (status, err) = thumbnails(&other);
        assert_eq!(status, 0, "quality {quality}: {err}");
    }
    assert!(mark::is_marked(
        &std::fs::read(thumbs.join("2024/beach.jpg")).unwrap()
    ));
    // A photo there of the thumbnail's very name and size is kept, however
    // alike: another picture, or the thumbnail itself saved again without
    // the mark (a retouched copy).
    let thumb = thumbs.join("2024/beach.jpg");
    let (w, h) = impasto::codec::probe_file(&thumb, u64::MAX).unwrap();
    let green = RgbaImage::from_pixel(w, h, Rgba([40, 160, 60, 255]));
    let resaved = decode(&thumb);
    for photo in [green, resaved] {
        let photo =
            impasto::codec::encode(&photo, impasto::codec::OutputFormat::Jpeg { quality: 90 })
                .unwrap();
        write(&thumbs, "2024/beach.jpg", &photo);
        let mut small = args.to_vec();
        small.extend(["--size", "32"]);
        let (status, err) = thumbnails(&small);
        assert_eq!(status, 3, "{err}");
        assert!(
            err.contains(&format!(
                "would replace a JPEG without the mark this tool's thumbnails carry, of {w}x{h}"
            )),
            "{err}"
        );
        assert_eq!(std::fs::read(&thumb).unwrap(), photo);
    }
    // Lossless thumbnails carry no mark: an earlier run's has the new
    // one's very pixels, and another picture of its size is kept.
    let pngs = photos.join("pngs");
    let png_args = [
        p,
        pngs.to_str().unwrap(),
        "--backend",
        "cpu",
        "--format",
        "png",
    ];
    for run in 0..2 {
        let (status, err) = thumbnails(&png_args);
        assert_eq!(status, 0, "run {run}: {err}");
    }
    let thumb = pngs.join("2024/beach.png");
    let (w, h) = impasto::codec::probe_file(&thumb, u64::MAX).unwrap();
    let other = RgbaImage::from_pixel(w, h, Rgba([40, 160, 60, 255]));
    let other = impasto::codec::encode(&other, impasto::codec::OutputFormat::Png).unwrap();
    write(&pngs, "2024/beach.png", &other);
    let (status, err) = thumbnails(&png_args);
    assert_eq!(status, 3, "{err}");
    assert!(
        err.contains("would replace an image whose pixels are not this thumbnail's"),
        "{err}"
    );
    assert_eq!(std::fs::read(&thumb).unwrap(), other);
    // The output holding the input, and a photo beside it that a
    // thumbnail of the input would replace.
    let outer = dir.path().join("outer");
    write(&outer, "photo.jpg", &rotated_jpeg());
    write(&outer, "sub/photo.png", &half_transparent_png());
    let kept = std::fs::read(outer.join("photo.jpg")).unwrap();
    let (o, sub) = (outer.to_str().unwrap(), outer.join("sub"));
    let (status, err) = thumbnails(&[sub.to_str().unwrap(), o, "--backend", "cpu"]);
    assert_eq!(status, 3, "{err}");
    assert!(err.contains("holds the input folder"), "{err}");
    assert_eq!(std::fs::read(outer.join("photo.jpg")).unwrap(), kept);
    // A thumbnail that would land inside the input folder (sub/sub/x.png's
    // is sub/x.jpg) is not written: the next run would walk it as a photo.
    write(&outer, "sub/sub/x.png", &half_transparent_png());
    let (status, err) = thumbnails(&[sub.to_str().unwrap(), o, "--backend", "cpu"]);
    assert_eq!(status, 3, "{err}");
    assert!(
        err.contains("would be written inside the input folder"),
        "{err}"
    );
    assert!(!outer.join("sub/x.jpg").exists());
}

#[cfg(unix)]
#[test]
fn a_symbolic_link_to_a_folder_is_reported_not_skipped_silently() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let input = dir.path().join("in");
    write(&dir.path().join("elsewhere"), "b.jpg", &rotated_jpeg());
    std::fs::create_dir_all(&input).unwrap();
    std::os::unix::fs::symlink(dir.path().join("elsewhere"), input.join("linked")).unwrap();
    let output = dir.path().join("out");
    let (status, err) = thumbnails(&[input.to_str().unwrap(), output.to_str().unwrap()]);
    assert_eq!(status, 3, "{err}");
    assert!(err.contains("a symbolic link to a folder"), "{err}");
}

#[test]
fn bad_arguments_exit_two_before_anything_is_written() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let missing = dir.path().join("missing");
    let out = dir.path().join("out");
    let (m, o) = (
        missing.to_str().expect("UTF-8"),
        out.to_str().expect("UTF-8"),
    );
    let (status, err) = thumbnails(&[m, o]);
    assert_eq!(status, 2);
    assert!(err.contains("missing: not a folder"), "{err}");
    assert!(!out.exists());
    let here = dir.path().to_str().expect("UTF-8");
    assert_eq!(thumbnails(&[here, o, "--fit", "stretch"]).0, 2);
    assert_eq!(thumbnails(&[here]).0, 2);
}

#[test]
fn probe_file_gives_the_oriented_size_of_all_eight_orientations() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let img = RgbaImage::from_fn(40, 20, |x, y| Rgba([x as u8 * 6, y as u8 * 12, 90, 255]));
    for orientation in 1..=8u16 {
        let path = dir.path().join(format!("o{orientation}.jpg"));
        std::fs::write(&path, common::jpeg_with_orientation(&img, orientation)).expect("write");
        let probed = impasto::codec::probe_file(&path, 1 << 20).expect("probes");
        assert_eq!(
            probed,
            decode(&path).dimensions(),
            "orientation {orientation}"
        );
        let want = if orientation >= 5 { (20, 40) } else { (40, 20) };
        assert_eq!(probed, want, "orientation {orientation}");
    }
    let path = dir.path().join("o1.jpg");
    let e = impasto::codec::probe_file(&path, 799).expect_err("800 pixels");
    assert!(e.0.contains("over the limit of 799 pixels"), "{e}");
    let text = dir.path().join("t.png");
    std::fs::write(&text, b"plain words").expect("write");
    let e = impasto::codec::probe_file(&text, 1 << 20).expect_err("no image");
    assert!(e.0.contains("not an image"), "{e}");
}

#[test]
fn folders_made_for_thumbnails_that_all_failed_are_removed() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let input = dir.path().join("in");
    let coffee = std::fs::read("examples/poster/coffee.jpg").expect("the sample photo");
    // The header is whole (the file is probed and its folder made), the
    // data is cut: the render fails.
    write(&input, "a/b/broken.jpg", &coffee[..coffee.len() / 2]);
    let i = input.to_str().expect("UTF-8");

    // A new output folder, and the folders inside it, are not left behind.
    let fresh = dir.path().join("new/out");
    let (status, err) = thumbnails(&[i, fresh.to_str().expect("UTF-8"), "--jobs", "1"]);
    assert_eq!(status, 3, "{err}");
    assert!(err.contains("truncated"), "{err}");
    assert!(!fresh.exists(), "{err}");
    assert!(!dir.path().join("new").exists(), "{err}");

    // In an output folder that was there, only what the run made goes.
    let old = dir.path().join("old");
    write(&old, "keep/note.txt", b"not the run's");
    let (status, err) = thumbnails(&[i, old.to_str().expect("UTF-8"), "--jobs", "1"]);
    assert_eq!(status, 3, "{err}");
    assert!(!old.join("a").exists(), "{err}");
    assert_eq!(files_under(&old), ["keep/note.txt"], "{err}");
}

#[test]
fn of_files_sharing_a_thumbnail_name_the_first_that_renders_makes_it() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let input = dir.path().join("in");
    let output = dir.path().join("out");
    // a.jpg is cut short and fails: a.png, after it in name order, makes
    // a.jpg's thumbnail (it was refused as a clash with a.jpg's, which was
    // never written); b.jpg renders, so b.png is reported.
    let jpeg = rotated_jpeg();
    let wide = RgbaImage::from_pixel(40, 20, Rgba([9, 9, 9, 255]));
    let wide = impasto::codec::encode(&wide, impasto::codec::OutputFormat::Png).expect("encodes");
    write(&input, "a.jpg", &jpeg[..jpeg.len() / 3]);
    write(&input, "a.png", &wide);
    write(&input, "b.jpg", &jpeg);
    write(&input, "b.png", &half_transparent_png());
    let (i, o) = (
        input.to_str().expect("UTF-8"),
        output.to_str().expect("UTF-8"),
    );
    let (status, err) = thumbnails(&[i, o, "--size", "24", "--format", "png"]);
    assert_eq!(status, 3, "{err}");
    assert_eq!(files_under(&output), ["a.png", "b.png"]);
    // a.png's picture (wider than tall), not a.jpg's (turned: taller).
    let a = decode(&output.join("a.png"));
    assert!(a.width() > a.height(), "{:?}", a.dimensions());
    let b = decode(&output.join("b.png"));
    assert!(b.width() < b.height(), "{:?}", b.dimensions());
    assert!(err.contains("b.png: its thumbnail"), "{err}");
    assert!(err.contains("is made from"), "{err}");
    assert!(
        err.contains("thumbnails: 4 files, 2 written, 2 failed"),
        "{err}"
    );
}
