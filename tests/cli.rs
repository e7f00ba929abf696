//! The command line: one test per class of bad input (exit status 2, one
//! line on stderr naming the problem, no output file and no temporary file
//! left behind), and the successful paths.
//!
//! Over 600 lines on purpose: 36 tests of one contract (the CLI's exit
//! statuses and messages), kept together so that a new subcommand's bad
//! inputs are added beside the others.

use std::path::{Path, PathBuf};
use std::process::Command;

use image::RgbaImage;

struct Run {
    code: i32,
    stderr: String,
}

fn impasto(args: &[&str], cwd: &Path) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_impasto"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run impasto");
    Run {
        code: out.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A folder with a scene file, a small PNG and the output path.
struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    fn new() -> Case {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("assets")).unwrap();
        RgbaImage::from_pixel(4, 3, image::Rgba([200, 10, 10, 255]))
            .save(dir.path().join("assets/ok.png"))
            .unwrap();
        Case { dir }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn scene(&self, json: &str) -> &Self {
        std::fs::write(self.path("assets/scene.json"), json).unwrap();
        self
    }

    /// Runs `impasto render assets/scene.json -o out/<name>` with extra args.
    fn render(&self, out_name: &str, extra: &[&str]) -> Run {
        std::fs::create_dir_all(self.path("out")).unwrap();
        let out = format!("out/{out_name}");
        let mut args = vec![
            "render",
            "assets/scene.json",
            "-o",
            &out,
            "--backend",
            "cpu",
        ];
        args.extend_from_slice(extra);
        impasto(&args, self.dir.path())
    }

    fn out_is_empty(&self) -> bool {
        std::fs::read_dir(self.path("out"))
            .unwrap()
            .next()
            .is_none()
    }
}

/// Asserts the run failed as bad input: status 2, one line naming `needle`,
/// and nothing written.
fn assert_bad_input(case: &Case, run: &Run, needle: &str) {
    assert_eq!(run.code, 2, "exit status; stderr: {}", run.stderr);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr, got: {:?}", run.stderr);
    assert!(
        lines[0].contains(needle),
        "{:?} should contain {needle:?}",
        lines[0]
    );
    assert!(case.out_is_empty(), "a failed render left a file behind");
}

fn layer_scene(layer: &str) -> String {
    format!(
        r##"{{"width": 16, "height": 12, "background": "#ffffff", "layers": [{{"type": "rect", "color": "#000"}}, {layer}]}}"##
    )
}

#[test]
fn renders_png_jpeg_and_webp() {
    let c = Case::new();
    c.scene(&layer_scene(
        r#"{"type": "image", "src": "ok.png", "fit": "contain"}"#,
    ));
    for name in ["a.png", "b.jpg", "c.jpeg", "d.webp"] {
        let run = c.render(name, &[]);
        assert_eq!(run.code, 0, "{name}: {}", run.stderr);
        let img = image::open(c.path(&format!("out/{name}"))).unwrap();
        assert_eq!((img.width(), img.height()), (16, 12));
    }
    // Only the four outputs: no temporary files.
    assert_eq!(std::fs::read_dir(c.path("out")).unwrap().count(), 4);
    // A quality given for a format that has none is warned of, not
    // silently ignored; given for one that has, or not given, nothing.
    for (name, extra, warned) in [
        ("e.png", &["--quality", "50"][..], true),
        ("f.jpg", &["--quality", "50"][..], false),
        ("g.png", &[][..], false),
    ] {
        let run = c.render(name, extra);
        assert_eq!(run.code, 0, "{name}: {}", run.stderr);
        assert_eq!(
            run.stderr
                .contains("--quality is for .jpg, .webp and .avif"),
            warned,
            "{name}: {}",
            run.stderr
        );
    }
}

#[test]
fn webp_is_lossy_at_the_quality_and_lossless_on_request() {
    let c = Case::new();
    c.scene(&layer_scene(
        r#"{"type": "image", "src": "ok.png", "fit": "contain"}"#,
    ));
    let riff_chunk = |name: &str| {
        let bytes = std::fs::read(c.path(&format!("out/{name}"))).unwrap();
        // RIFF, size, WEBP, then the first chunk's tag (VP8X when alpha or
        // other extras follow, then the image chunk).
        let image_chunk = ["VP8 ", "VP8L"]
            .into_iter()
            .find(|tag| bytes.windows(4).any(|w| w == tag.as_bytes()));
        image_chunk.unwrap_or("none").to_string()
    };
    assert_eq!(c.render("lossy.webp", &["--quality", "60"]).code, 0);
    assert_eq!(riff_chunk("lossy.webp"), "VP8 ");
    let run = c.render("exact.webp", &["--lossless"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(riff_chunk("exact.webp"), "VP8L");
    assert_eq!(c.render("ref.png", &[]).code, 0);
    let open = |name: &str| {
        image::open(c.path(&format!("out/{name}")))
            .unwrap()
            .into_rgba8()
    };
    assert!(open("exact.webp") == open("ref.png"), "lossless is exact");
}

#[test]
fn lossless_jpeg_is_bad_input() {
    let c = Case::new();
    c.scene(&layer_scene(r##"{"type": "rect", "color": "#fff"}"##));
    assert_bad_input(
        &c,
        &c.render("o.jpg", &["--lossless"]),
        "JPEG output cannot be lossless",
    );
}

#[test]
fn avif_is_written_at_the_quality_and_lossless_avif_is_bad_input() {
    let c = Case::new();
    c.scene(&layer_scene(
        r#"{"type": "image", "src": "ok.png", "fit": "contain"}"#,
    ));
    let run = c.render("card.avif", &["--quality", "60"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let bytes = std::fs::read(c.path("out/card.avif")).unwrap();
    // ISO BMFF: a size, then `ftyp` and the brand `avif`.
    assert_eq!(&bytes[4..12], b"ftypavif");
    std::fs::remove_file(c.path("out/card.avif")).unwrap();
    assert_bad_input(
        &c,
        &c.render("o.avif", &["--lossless"]),
        "AVIF output is lossy here",
    );
}

#[test]
fn a_negative_option_value_is_refused_by_that_options_range() {
    let case = Case::new();
    case.scene(&layer_scene(r##"{"type": "rect", "color": "#fff"}"##));
    let run = case.render("a.jpg", &["--quality", "-1"]);
    assert_bad_input(&case, &run, "invalid value \"-1\" for '--quality");
    // The value quoted as the tool's own messages quote it: clap printed
    // it raw, a carriage return included.
    let run = case.render("a.jpg", &["--timeout", "5\rs"]);
    assert_bad_input(&case, &run, "invalid value \"5\\rs\" for '--timeout");
    assert!(!run.stderr.contains('\r'), "{:?}", run.stderr);
    // An empty value: said so, with no empty list of possible values.
    let run = case.render("a.jpg", &["--font-dir", ""]);
    assert_bad_input(
        &case,
        &run,
        "a value is required for '--font-dir <DIR>' but none was supplied",
    );
    assert!(!run.stderr.contains("possible values"), "{}", run.stderr);
    // A target a request line cannot carry (a control character), or
    // that would not show as it is (a bidi override), is not signed.
    for (target, shown) in [
        ("/t/x\u{1b}[31m.png", "\"/t/x\\u001b[31m.png\""),
        ("/t/a\u{202e}gnp.png", "\"/t/a\\u202egnp.png\""),
        // Only a template URL's signature is checked by the server.
        ("/render", "/t/NAME.EXT"),
        // What clients rewrite before sending: not signed as written.
        ("/t/../x.png", "'..' path segment"),
        ("/t/card.png?title=\u{e9}", "outside ASCII"),
        ("t/card.png", "/t/NAME.EXT"),
    ] {
        let key = "k".repeat(32);
        let sign = impasto(&["sign", target, "--signing-key", &key], case.dir.path());
        assert_eq!(sign.code, 2, "{target:?} is signed: {}", sign.stderr);
        assert!(sign.stderr.contains(shown), "{}", sign.stderr);
    }
    let batch = impasto(
        &[
            "batch", "t.json", "--data", "r.csv", "-o", "{n}.png", "--jobs", "-2",
        ],
        case.dir.path(),
    );
    assert_eq!(batch.code, 2, "{}", batch.stderr);
    assert!(
        batch.stderr.contains("invalid value \"-2\" for '--jobs"),
        "{}",
        batch.stderr
    );
}

#[test]
fn a_limit_of_zero_is_refused_for_it_does_not_mean_no_limit() {
    // `--max-canvas-pixels 0` was taken, and every render refused after.
    let case = Case::new();
    case.scene(&layer_scene(r##"{"type": "rect", "color": "#fff"}"##));
    for flag in [
        "--max-canvas-pixels",
        "--max-text-chars",
        "--max-render-bytes",
    ] {
        let run = case.render("a.png", &[flag, "0"]);
        assert_bad_input(&case, &run, &format!("invalid value \"0\" for '{flag}"));
        assert!(
            run.stderr.contains("does not mean \"no limit\""),
            "{}",
            run.stderr
        );
    }
    let serve = impasto(&["serve", "--max-image-pixels", "0"], case.dir.path());
    assert_eq!(serve.code, 2, "{}", serve.stderr);
}

#[test]
fn a_canvas_larger_than_webp_holds_is_bad_input_before_rendering() {
    let case = Case::new();
    case.scene(r#"{"width": 16384, "height": 1}"#);
    let run = case.render("wide.webp", &[]);
    assert_bad_input(&case, &run, "larger than WebP's 16383x16383");
    let run = case.render("wide.webp", &["--animate"]);
    assert_bad_input(&case, &run, "larger than WebP's 16383x16383");
}

#[test]
fn dash_writes_the_format_given_to_standard_output() {
    let case = Case::new();
    case.scene(&layer_scene(r##"{"type": "rect", "color": "#f00"}"##));
    let out = Command::new(env!("CARGO_BIN_EXE_impasto"))
        .args(["render", "assets/scene.json", "-o", "-", "--format", "png"])
        .args(["--backend", "cpu"])
        .current_dir(case.dir.path())
        .output()
        .expect("run impasto");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let img = image::load_from_memory(&out.stdout).expect("a PNG on stdout");
    assert_eq!((img.width(), img.height()), (16, 12));
    // --format also overrides a file's extension.
    std::fs::create_dir_all(case.path("out")).unwrap();
    let run = impasto(
        &[
            "render",
            "assets/scene.json",
            "-o",
            "out/x.dat",
            "--format",
            "webp",
        ],
        case.dir.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        &std::fs::read(case.path("out/x.dat")).unwrap()[8..12],
        b"WEBP"
    );
    std::fs::remove_file(case.path("out/x.dat")).unwrap();
    let run = impasto(
        &["render", "assets/scene.json", "-o", "-", "--backend", "cpu"],
        case.dir.path(),
    );
    assert_bad_input(&case, &run, "give the format with --format");
    // A format error names the output as given, not a made-up name.
    let run = case.render("x.png", &["--format", "jpg", "--lossless"]);
    assert_bad_input(
        &case,
        &run,
        "x.png (--format jpg): JPEG output cannot be lossless",
    );
    let run = case.render("x.gif", &["--lossless"]);
    assert_bad_input(&case, &run, "x.gif: GIF output has 256 colours");
}

#[test]
fn control_characters_in_a_json_key_are_escaped_in_the_one_line_error() {
    let case = Case::new();
    case.scene(&layer_scene(
        r##"{"type": "rect", "color": "#fff", "\u001b[2J\r\u000b": 1}"##,
    ));
    let run = case.render("a.png", &[]);
    assert_bad_input(&case, &run, "\\u001b[2J\\r\\u000b");
    assert!(!run.stderr.contains('\u{1b}') && !run.stderr.contains('\r'));
}

#[test]
fn option_values_are_quoted_in_json_escapes_as_scene_values_are() {
    // A zero-width space the user cannot see, shown as JSON writes it
    // (`\u200b`), not as Rust's `{:?}` does (`\u{200b}`).
    let case = Case::new();
    case.scene(
        r##"{"variables": {"title": {"type": "string"}}, "width": 8, "height": 8,
            "layers": [{"type": "text", "text": "{{title}}"}]}"##,
    );
    let run = case.render("a.png", &["--set", "title\u{200b}"]);
    assert_bad_input(&case, &run, "--set \"title\\u200b\": expected NAME=VALUE");
    let run = case.render("a.png", &["--set", "title=a", "--set", "title=b"]);
    assert_bad_input(&case, &run, "--set: \"title\" is given twice");
    // An image path, as the asset root resolves it.
    case.scene(&layer_scene(
        r##"{"type": "image", "src": "no such\u200b.png"}"##,
    ));
    let run = case.render("a.png", &[]);
    assert_bad_input(&case, &run, "\"no such\\u200b.png\" cannot be read");
}

#[test]
fn an_image_variable_naming_no_file_is_bad_input_naming_the_variable() {
    let case = Case::new();
    case.scene(
        r##"{"variables": {"img": {"type": "image"}}, "width": 8, "height": 8,
            "layers": [{"type": "image", "src": "{{img}}"}]}"##,
    );
    let run = case.render("a.png", &["--set", "img=missing.png"]);
    assert_bad_input(&case, &run, "(from variable \"img\")");
}

#[test]
fn unknown_field_is_bad_input() {
    let c = Case::new();
    c.scene(&layer_scene(
        r##"{"type": "rect", "color": "#fff", "heigth": 4}"##,
    ));
    assert_bad_input(
        &c,
        &c.render("o.png", &[]),
        r#"layer 1 (rect): field "heigth": unknown field"#,
    );
}

#[test]
fn unknown_layer_type_is_bad_input() {
    let c = Case::new();
    c.scene(&layer_scene(r#"{"type": "circle"}"#));
    assert_bad_input(&c, &c.render("o.png", &[]), r#"layer 1: field "type""#);
}

#[test]
fn wrong_type_is_bad_input() {
    let c = Case::new();
    c.scene(&layer_scene(
        r##"{"type": "rect", "color": "#fff", "x": "10"}"##,
    ));
    assert_bad_input(
        &c,
        &c.render("o.png", &[]),
        r#"layer 1 (rect): field "x": expected a number"#,
    );
}

#[test]
fn value_out_of_range_is_bad_input() {
    let c = Case::new();
    c.scene(&layer_scene(
        r##"{"type": "rect", "color": "#fff", "opacity": 2}"##,
    ));
    assert_bad_input(
        &c,
        &c.render("o.png", &[]),
        r#"layer 1 (rect): field "opacity": 2 is out of range"#,
    );
}

#[test]
fn invalid_json_is_bad_input() {
    let c = Case::new();
    c.scene(r#"{"width": 10, "height": "#);
    assert_bad_input(&c, &c.render("o.png", &[]), "invalid JSON");
}

#[test]
fn missing_scene_file_is_bad_input() {
    let c = Case::new();
    std::fs::create_dir_all(c.path("out")).unwrap();
    let run = impasto(&["render", "nope.json", "-o", "out/o.png"], c.dir.path());
    assert_bad_input(&c, &run, "nope.json");
}

#[test]
fn missing_image_file_is_bad_input() {
    let c = Case::new();
    c.scene(&layer_scene(r#"{"type": "image", "src": "missing.png"}"#));
    assert_bad_input(
        &c,
        &c.render("o.png", &[]),
        r#"layer 1 (image): field "src": "missing.png" cannot be read"#,
    );
}

#[test]
fn truncated_png_is_bad_input() {
    let c = Case::new();
    let bytes = std::fs::read(c.path("assets/ok.png")).unwrap();
    std::fs::write(c.path("assets/cut.png"), &bytes[..bytes.len() - 20]).unwrap();
    c.scene(&layer_scene(r#"{"type": "image", "src": "cut.png"}"#));
    assert_bad_input(
        &c,
        &c.render("o.png", &[]),
        r#"layer 1 (image): field "src": "cut.png""#,
    );
}

#[test]
fn non_image_file_is_bad_input() {
    let c = Case::new();
    std::fs::write(c.path("assets/notes.png"), "these are not pixels").unwrap();
    c.scene(&layer_scene(r#"{"type": "image", "src": "notes.png"}"#));
    assert_bad_input(&c, &c.render("o.png", &[]), "not an image");
}

#[test]
fn an_empty_image_file_is_bad_input_that_says_it_is_empty() {
    let c = Case::new();
    std::fs::write(c.path("assets/zero.png"), "").unwrap();
    // Drawn (decoded), and wholly off the canvas (only its header read).
    for x in [0, 5000] {
        c.scene(&layer_scene(&format!(
            r#"{{"type": "image", "src": "zero.png", "x": {x}}}"#
        )));
        let out = c.render("o.png", &[]);
        assert_bad_input(&c, &out, r#""zero.png": empty (0 bytes)"#);
    }
}

#[test]
fn path_outside_asset_root_is_bad_input() {
    let c = Case::new();
    RgbaImage::new(2, 2).save(c.path("outside.png")).unwrap();
    c.scene(&layer_scene(
        r#"{"type": "image", "src": "../outside.png"}"#,
    ));
    assert_bad_input(
        &c,
        &c.render("o.png", &[]),
        r#"layer 1 (image): field "src": "../outside.png" resolves outside the asset root (a '..' climbs above it; write the path from the root)"#,
    );
}

#[test]
fn absolute_path_is_bad_input() {
    let c = Case::new();
    let abs = c.path("assets/ok.png");
    c.scene(&layer_scene(&format!(
        r#"{{"type": "image", "src": {:?}}}"#,
        abs.display().to_string()
    )));
    assert_bad_input(&c, &c.render("o.png", &[]), "is an absolute path");
}

#[test]
fn canvas_over_the_format_limit_is_bad_input() {
    let c = Case::new();
    c.scene(r#"{"width": 16385, "height": 10}"#);
    assert_bad_input(
        &c,
        &c.render("o.png", &[]),
        r#"canvas: field "width": 16385 is out of range"#,
    );
}

#[test]
fn canvas_over_the_configured_limit_is_bad_input() {
    let c = Case::new();
    c.scene(r#"{"width": 400, "height": 300}"#);
    assert_bad_input(
        &c,
        &c.render("o.png", &["--max-canvas-pixels", "100000"]),
        "over the limit of 100000 pixels",
    );
}

/// A PNG whose header claims 60000 x 60000 pixels (a decompression bomb):
/// refused from the header, before any pixel is allocated.
fn bomb_png() -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc_input = kind.to_vec();
        crc_input.extend_from_slice(data);
        out.extend_from_slice(&crc_input);
        out.extend_from_slice(&crc32(&crc_input).to_be_bytes());
    }
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &b in bytes {
            crc ^= b as u32;
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&60000u32.to_be_bytes());
    ihdr.extend_from_slice(&60000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(
        &mut png,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    chunk(&mut png, b"IEND", &[]);
    png
}

#[test]
fn decoded_image_over_the_pixel_limit_is_bad_input() {
    let c = Case::new();
    std::fs::write(c.path("assets/bomb.png"), bomb_png()).unwrap();
    c.scene(&layer_scene(r#"{"type": "image", "src": "bomb.png"}"#));
    assert_bad_input(
        &c,
        &c.render("o.png", &[]),
        r#"layer 1 (image): field "src": "bomb.png": decoded image would be 60000x60000 = 3600000000 pixels, over the limit"#,
    );
}

#[test]
fn configured_image_pixel_limit_is_enforced() {
    let c = Case::new();
    c.scene(&layer_scene(r#"{"type": "image", "src": "ok.png"}"#));
    assert_bad_input(
        &c,
        &c.render("o.png", &["--max-image-pixels", "11"]),
        "over the limit of 11 pixels",
    );
}

#[test]
fn unknown_output_extension_is_bad_input() {
    let c = Case::new();
    c.scene(&layer_scene(r##"{"type": "rect", "color": "#fff"}"##));
    // .gif is written (a still GIF); .bmp is not.
    assert_bad_input(&c, &c.render("o.bmp", &[]), "unknown output format");
}

#[test]
fn bad_arguments_are_bad_input() {
    let c = Case::new();
    c.scene(&layer_scene(r##"{"type": "rect", "color": "#fff"}"##));
    assert_bad_input(&c, &c.render("o.png", &["--quality", "0"]), "quality");
    assert_bad_input(&c, &c.render("o.png", &["--backend", "tpu"]), "backend");
}

/// A missing output folder is bad input (exit 2), found before the render
/// rather than after it.
#[test]
fn a_missing_output_folder_is_bad_input_without_a_file() {
    let c = Case::new();
    c.scene(&layer_scene(r##"{"type": "rect", "color": "#fff"}"##));
    std::fs::create_dir_all(c.path("out")).unwrap();
    let run = impasto(
        &["render", "assets/scene.json", "-o", "no/such/dir/o.png"],
        c.dir.path(),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(
        run.stderr.trim(),
        "impasto: output: no/such/dir/o.png: the folder \"no/such/dir\" does not exist"
    );
    assert!(!c.path("no").exists());
    // A folder where the file would go, or a file where its folder would:
    // bad input too, before the render.
    std::fs::create_dir_all(c.path("out/isdir.png")).unwrap();
    let run = c.render("isdir.png", &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(
        run.stderr.trim(),
        "impasto: output: out/isdir.png: is a folder; give a file name"
    );
    std::fs::write(c.path("out/file"), b"x").unwrap();
    let run = c.render("file/o.png", &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(
        run.stderr.trim(),
        "impasto: output: out/file/o.png: the folder \"out/file\" is not a folder"
    );
    // A name ending in '/' names a folder, there or not: refused before
    // the render.
    let run = c.render("new.png/", &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(
        run.stderr.trim(),
        "impasto: output: out/new.png/: ends in '/', a folder's name; give a file name"
    );
    // A folder or a device without an image extension: said as such, not
    // as an unknown output format.
    std::fs::create_dir_all(c.path("out/plain")).unwrap();
    let run = c.render("plain", &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(
        run.stderr.trim(),
        "impasto: output: out/plain: is a folder; give a file name"
    );
    let run = impasto(
        &["render", "assets/scene.json", "-o", "/dev/null"],
        c.dir.path(),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .starts_with("impasto: output: /dev/null: is not a regular file"),
        "{}",
        run.stderr
    );
}

#[test]
fn text_layers_render_with_the_bundled_font_only() {
    let c = Case::new();
    c.scene(&layer_scene(
        r##"{"type": "text", "text": "Hi", "size": 10, "color": "#ffffff"}"##,
    ));
    let run = c.render("o.png", &["--no-system-fonts"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let img = image::open(c.path("out/o.png")).unwrap().into_rgba8();
    assert!(
        img.pixels().any(|p| p[0] > 128),
        "no white ink on the black rect"
    );
}

#[test]
fn unknown_font_family_is_bad_input_naming_what_was_searched() {
    let c = Case::new();
    std::fs::create_dir(c.path("fonts")).unwrap();
    c.scene(&layer_scene(
        r#"{"type": "text", "text": "Hi", "font": "No Such Family"}"#,
    ));
    let run = c.render("o.png", &["--no-system-fonts", "--font-dir", "fonts"]);
    assert_bad_input(
        &c,
        &run,
        r#"layer 1 (text): field "font": family "No Such Family" not found; searched the bundled fonts (Inter), the font folders "fonts""#,
    );
}

#[test]
fn missing_font_folder_is_bad_input() {
    let c = Case::new();
    c.scene(&layer_scene(r#"{"type": "text", "text": "Hi"}"#));
    assert_bad_input(
        &c,
        &c.render("o.png", &["--font-dir", "nope"]),
        "--font-dir nope: does not exist",
    );
}

#[test]
fn help_documents_every_option() {
    let c = Case::new();
    let out = Command::new(env!("CARGO_BIN_EXE_impasto"))
        .args(["render", "--help"])
        .current_dir(c.dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for opt in [
        "--output",
        "--backend",
        "--assets",
        "--quality",
        "--lossless",
        "--max-canvas-pixels",
        "--max-image-pixels",
    ] {
        assert!(help.contains(opt), "--help lacks {opt}");
    }
}

#[test]
fn assets_option_moves_the_asset_root() {
    let c = Case::new();
    std::fs::create_dir(c.path("elsewhere")).unwrap();
    RgbaImage::from_pixel(2, 2, image::Rgba([0, 0, 255, 255]))
        .save(c.path("elsewhere/blue.png"))
        .unwrap();
    c.scene(&layer_scene(
        r#"{"type": "image", "src": "blue.png", "fit": "fill"}"#,
    ));
    let run = c.render("o.png", &["--assets", "elsewhere"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let img = image::open(c.path("out/o.png")).unwrap().into_rgba8();
    assert_eq!(img.get_pixel(8, 6).0, [0, 0, 255, 255]);
}

#[test]
fn a_render_past_its_timeout_exits_1_with_one_line_and_no_file() {
    let c = Case::new();
    c.scene(&compute_bomb());
    let run = c.render("o.png", &["--timeout", "0.2"]);
    assert_eq!(run.code, 1, "stderr: {}", run.stderr);
    assert_eq!(
        run.stderr.trim(),
        "impasto: render deadline exceeded: the render ran past --timeout 0.2 s"
    );
    assert!(c.out_is_empty());
    let bad = c.render("o.png", &["--timeout", "-1"]);
    assert_eq!(bad.code, 2, "stderr: {}", bad.stderr);
}

/// The `.impasto-*.tmp` files in `dir`.
fn temp_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with(".impasto-") && name.ends_with(".tmp")
        })
        .collect()
}

/// Starts `impasto args` in `cwd`, waits (up to two minutes) for a
/// temporary output file in `out`, sends `signal` with kill(1) and returns
/// the exit status and stderr.
fn signal_mid_render(args: &[&str], cwd: &Path, out: &Path, signal: &str) -> Run {
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_impasto"))
        .args(args)
        .current_dir(cwd)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run impasto");
    // The temporary file is created before the render starts, and the
    // render is minutes of work: poll for it (a bound, not a timing claim).
    let mut seen = false;
    for _ in 0..1200 {
        if out.is_dir() && !temp_files(out).is_empty() {
            seen = true;
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("impasto ended before writing a temporary file: {status}");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    if !seen {
        child.kill().unwrap();
        panic!("no temporary file appeared in {}", out.display());
    }
    let sent = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success(), "kill -{signal} failed");
    let output = child.wait_with_output().expect("wait for impasto");
    Run {
        code: output.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `n` rotated full-canvas layers on a `side` x `side` canvas.
fn rotated_rects(n: u32, side: u32) -> String {
    let layers: Vec<String> = (0..n)
        .map(|i| format!(r##"{{"type": "rect", "color": "#33669980", "rotate": {i}.5}}"##))
        .collect();
    format!(
        r#"{{"width": {side}, "height": {side}, "layers": [{}]}}"#,
        layers.join(",")
    )
}

/// 300 rotated full-canvas layers on 8192 x 8192: minutes of work.
fn compute_bomb() -> String {
    rotated_rects(300, 8192)
}

#[cfg(unix)]
#[test]
fn sigterm_sigint_sighup_and_sigquit_mid_render_exit_128_plus_signal_and_leave_no_file() {
    let c = Case::new();
    c.scene(&compute_bomb());
    std::fs::create_dir_all(c.path("out")).unwrap();
    for (signal, code) in [("TERM", 143), ("INT", 130), ("HUP", 129), ("QUIT", 131)] {
        // Off Linux impasto leaves SIGHUP and SIGQUIT alone (it cannot read
        // whether they are ignored); on Linux a signal this test process
        // was started ignoring (`nohup cargo test`) is ignored by impasto
        // too, as it should be.
        if (code == 129 || code == 131) && !cfg!(target_os = "linux") {
            continue;
        }
        if ignored_by_this_process(code - 128) {
            eprintln!("SIG{signal} is ignored by the test process: its case is not run");
            continue;
        }
        let args = [
            "render",
            "assets/scene.json",
            "-o",
            "out/o.png",
            "--backend",
            "cpu",
        ];
        let run = signal_mid_render(&args, c.dir.path(), &c.path("out"), signal);
        assert_eq!(run.code, code, "SIG{signal}; stderr: {}", run.stderr);
        assert!(
            c.out_is_empty(),
            "SIG{signal} left {:?}",
            temp_files(&c.path("out"))
        );
    }
}

/// Whether this process was started with `signal` ignored (Linux's
/// `/proc/self/status`; false elsewhere).
fn ignored_by_this_process(signal: i32) -> bool {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (signal - 1)) != 0)
}

/// `nohup` starts impasto with SIGHUP ignored: it stays ignored, so a
/// hangup does not end the render (which then writes its file).
#[cfg(target_os = "linux")]
#[test]
fn sighup_ignored_by_nohup_stays_ignored() {
    use std::process::Stdio;
    let c = Case::new();
    // 40 rotated full-canvas layers on 4096 x 4096: seconds of work.
    c.scene(&rotated_rects(40, 4096));
    std::fs::create_dir_all(c.path("out")).unwrap();
    let mut child = Command::new("nohup")
        .args([env!("CARGO_BIN_EXE_impasto"), "render", "assets/scene.json"])
        .args(["-o", "out/o.png", "--backend", "cpu"])
        .current_dir(c.dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run nohup impasto");
    // The hangup is sent once the render has started (its temporary file
    // exists), unless it ended first (then the check below still holds).
    for _ in 0..1200 {
        if !temp_files(&c.path("out")).is_empty() || child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status();
    let output = child.wait_with_output().expect("wait for impasto");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "stderr: {stderr}");
    assert!(c.path("out/o.png").is_file());
}

#[cfg(unix)]
#[test]
fn sigterm_during_a_batch_leaves_no_temporary_file() {
    let c = Case::new();
    std::fs::write(c.path("bomb.json"), compute_bomb()).unwrap();
    std::fs::write(c.path("rows.csv"), "name\na\nb\n").unwrap();
    let args = [
        "batch",
        "bomb.json",
        "--data",
        "rows.csv",
        "--output",
        "out/{{name}}.png",
        "--backend",
        "cpu",
        "--no-system-fonts",
    ];
    let run = signal_mid_render(&args, c.dir.path(), &c.path("out"), "TERM");
    assert_eq!(run.code, 143, "stderr: {}", run.stderr);
    assert!(c.out_is_empty(), "left {:?}", temp_files(&c.path("out")));
}

/// `--gpu-compositor` picks how the GPU backend composites: the fragment
/// and compute paths render the same scene (a rotated image, a blend mode,
/// `lighter`) within 2 levels of each other; an unknown value is refused
/// (status 2) before anything is written. Without a GPU adapter the renders
/// fail, which is a test failure under `CI=true` and a printed skip
/// elsewhere.
#[test]
fn gpu_compositor_fragment_and_compute_render_the_same_scene() {
    let case = Case::new();
    case.scene(
        r##"{"width": 64, "height": 48, "background": "#f4efe6", "layers": [
        {"type": "image", "src": "ok.png", "x": 8, "y": 6, "width": 40, "height": 30, "rotate": 20},
        {"type": "rect", "x": 10, "y": 8, "width": 40, "height": 24, "corner_radius": 6,
         "color": "#2e86abc0", "blend": "multiply"},
        {"type": "rect", "x": 20, "y": 16, "width": 30, "height": 20, "color": "#e4572e80",
         "blend": "lighter"}]}"##,
    );
    std::fs::create_dir_all(case.path("out")).unwrap();
    let mut images = Vec::new();
    for c in ["fragment", "compute"] {
        let out = format!("out/{c}.png");
        let args = [
            "render",
            "assets/scene.json",
            "-o",
            &out,
            "--backend",
            "gpu",
            "--gpu-compositor",
            c,
        ];
        let run = impasto(&args, case.dir.path());
        if run.code != 0 && std::env::var("CI").as_deref() != Ok("true") {
            eprintln!("SKIPPED (no GPU adapter?): {}", run.stderr);
            return;
        }
        assert_eq!(run.code, 0, "{c}: {}", run.stderr);
        images.push(image::open(case.path(&out)).unwrap().into_rgba8());
    }
    let worst = images[0]
        .as_raw()
        .iter()
        .zip(images[1].as_raw())
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap_or(0);
    assert!(worst <= 2, "fragment and compute differ by {worst}");

    let run = case.render("bogus.png", &["--gpu-compositor", "bogus"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("bogus"), "{}", run.stderr);
    assert!(!case.path("out/bogus.png").exists());
}

/// `-o` naming the image the scene draws, the scene file itself (through
/// another spelling of the path), a named pipe or a socket: refused as bad
/// input before anything is rendered, and each left as it was (a render
/// replaces its output by renaming a file over it, which would replace a
/// pipe, a device or `/dev/null` itself with a regular file).
#[test]
fn an_output_that_is_an_input_a_pipe_or_a_socket_is_refused_and_left_as_it_was() {
    let c = Case::new();
    c.scene(&layer_scene(r#"{"type": "image", "src": "ok.png"}"#));
    let photo = std::fs::read(c.path("assets/ok.png")).unwrap();
    let scene = std::fs::read(c.path("assets/scene.json")).unwrap();
    for (out, needle) in [
        ("assets/ok.png", "is the image that layer 1 draws"),
        ("assets/../assets/scene.json", "is the scene file"),
    ] {
        let run = impasto(
            &["render", "assets/scene.json", "-o", out, "--format", "png"],
            c.dir.path(),
        );
        assert_eq!(run.code, 2, "{out}: {}", run.stderr);
        assert!(run.stderr.contains(needle), "{out}: {}", run.stderr);
    }
    assert_eq!(std::fs::read(c.path("assets/ok.png")).unwrap(), photo);
    assert_eq!(std::fs::read(c.path("assets/scene.json")).unwrap(), scene);
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        std::fs::create_dir_all(c.path("out")).unwrap();
        let made = Command::new("mkfifo").arg(c.path("out/pipe.png")).status();
        assert!(made.unwrap().success(), "mkfifo");
        let _socket = std::os::unix::net::UnixListener::bind(c.path("out/socket.png")).unwrap();
        for name in ["pipe.png", "socket.png"] {
            let run = c.render(name, &[]);
            assert_eq!(run.code, 2, "{name}: {}", run.stderr);
            assert!(
                run.stderr.contains("is not a regular file"),
                "{}",
                run.stderr
            );
        }
        let kind = |p: &str| std::fs::symlink_metadata(c.path(p)).unwrap().file_type();
        assert!(kind("out/pipe.png").is_fifo() && kind("out/socket.png").is_socket());
        // Standard output (a pipe here) by its /dev name, whose link text
        // (`pipe:[...]`) is no path: refused the same, pointing to `-o -`.
        let run = impasto(
            &[
                "render",
                "assets/scene.json",
                "-o",
                "/dev/stdout",
                "--format",
                "png",
            ],
            c.dir.path(),
        );
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(run.stderr.contains("-o -"), "{}", run.stderr);
    }
}

/// `--assets` or `--templates` naming no folder is refused at once, exit
/// 2, by render, batch and serve (which otherwise listened, answered ready,
/// and blamed every request for its own missing folder).
#[test]
fn a_folder_option_naming_no_folder_exits_2_before_any_work() {
    let c = Case::new();
    c.scene(&layer_scene(r#"{"type": "image", "src": "ok.png"}"#));
    std::fs::write(c.path("rows.csv"), "id\na\n").unwrap();
    let cases: [(&[&str], &str); 8] = [
        (
            &[
                "render",
                "assets/scene.json",
                "-o",
                "o.png",
                "--assets",
                "assets/ok.png",
            ],
            "--assets assets/ok.png: is not a folder",
        ),
        (
            &[
                "batch",
                "assets/scene.json",
                "--data",
                "rows.csv",
                "--output",
                "out/{{id}}.png",
                "--assets",
                "nowhere",
            ],
            "--assets nowhere: does not exist",
        ),
        (
            &["serve", "--listen", "127.0.0.1:0", "--assets", "nowhere"],
            "--assets nowhere: does not exist",
        ),
        (
            &[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--templates",
                "assets/ok.png",
            ],
            "--templates assets/ok.png: is not a folder",
        ),
        // With no text layer to load fonts for, it passed silently.
        (
            &[
                "render",
                "assets/scene.json",
                "-o",
                "o.png",
                "--font-dir",
                "no fonts",
            ],
            "--font-dir no fonts: does not exist",
        ),
        (
            &[
                "batch",
                "assets/scene.json",
                "--data",
                "rows.csv",
                "--output",
                "out/{{id}}.png",
                "--font-dir",
                "assets/ok.png",
            ],
            "--font-dir assets/ok.png: is not a folder",
        ),
        (
            &["serve", "--listen", "127.0.0.1:0", "--font-dir", "nowhere"],
            "--font-dir nowhere: does not exist",
        ),
        // A path that would not read as itself is quoted.
        (
            &[
                "render",
                "assets/scene.json",
                "-o",
                "o.png",
                "--assets",
                "a\u{200b}",
            ],
            "--assets \"a\\u200b\": does not exist",
        ),
    ];
    for (args, needle) in cases {
        let mut child = Command::new(env!("CARGO_BIN_EXE_impasto"))
            .args(args)
            .current_dir(c.dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // A server that started anyway would never end: waited for 30 s.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while child.try_wait().unwrap().is_none() {
            if std::time::Instant::now() > deadline {
                child.kill().unwrap();
                panic!("{args:?} did not exit");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
    assert!(!c.path("o.png").exists() && !c.path("out").exists());
}

/// Every whole-number option says which bound a value breaks, the type's
/// largest included (clap said "number too large to fit in target type").
#[test]
fn whole_number_options_name_the_bound_a_value_breaks() {
    let dir = tempfile::tempdir().unwrap();
    for (args, needle) in [
        (
            &[
                "batch",
                "t.json",
                "--data",
                "d.csv",
                "--output",
                "o/{{id}}.png",
                "--jobs",
                "99999999999999999999",
            ][..],
            "\"99999999999999999999\" is too large (the largest is 1024)",
        ),
        (
            &["serve", "--queue", "70000"][..],
            "\"70000\" is too large (the largest is 65535)",
        ),
        (
            &["serve", "--asset-cache-bytes", "99999999999999999999"][..],
            "is too large (the largest is 18446744073709551615)",
        ),
        (
            &["serve", "--max-header-bytes", "100"][..],
            "\"100\" is too small (the least is 8192)",
        ),
        (
            &["serve", "--memory-budget", "4398046510081"][..],
            "\"4398046510081\" is too large (the largest is 4398046510080)",
        ),
        (
            &["serve", "--memory-budget", "0"][..],
            "\"0\" is too small (the least is 1)",
        ),
        // Caches take any larger max-age as 2^31 (RFC 9111, 1.2.2).
        (
            &["serve", "--cache-max-age", "2147483649"][..],
            "\"2147483649\" is too large (the largest is 2147483648)",
        ),
        (
            &["render", "s.json", "-o", "o.jpg", "--quality", "300"][..],
            "\"300\" is too large (the largest is 100)",
        ),
    ] {
        let run = impasto(args, dir.path());
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(needle), "{args:?}: {}", run.stderr);
    }
}

/// Every render limit is an option of render and batch (and serve): a
/// scene over one is refused naming the limit, exit 2, and renders
/// without the option.
#[test]
fn every_limit_is_an_option_and_a_scene_over_it_is_refused() {
    let c = Case::new();
    c.scene(
        r##"{"width": 16, "height": 12, "layers": [
            {"type": "rect", "color": "#000"},
            {"type": "linear-gradient", "stops": [{"offset": 0, "color": "#fff"}, {"offset": 0.5, "color": "#f00"}, {"offset": 1, "color": "#000"}]},
            {"type": "image", "src": "ok.png"}
        ]}"##,
    );
    assert_eq!(c.render("ok.png", &[]).code, 0);
    for (option, value, needle) in [
        (
            "--max-layers",
            "2",
            "more than 2 layers, over the limit of 2 (max_layers)",
        ),
        ("--max-gradient-stops", "2", "over the limit of 2"),
        ("--max-image-file-bytes", "10", "over the limit of 10 bytes"),
        (
            "--max-canvas-pixels",
            "100",
            "over the limit of 100 pixels (max_canvas_pixels)",
        ),
        (
            "--max-image-pixels",
            "5",
            "over the limit of 5 pixels (max_image_pixels)",
        ),
    ] {
        let run = c.render("o.png", &[option, value]);
        assert_eq!(run.code, 2, "{option}: {}", run.stderr);
        assert!(run.stderr.contains(needle), "{option}: {}", run.stderr);
        assert!(!c.path("out/o.png").exists());
    }
    std::fs::write(c.path("rows.csv"), "id\na\n").unwrap();
    // The template is read under the limits: too many layers refuse the
    // batch before any row (exit 2); a limit a render checks fails the
    // rows (exit 3).
    for (option, code, needle) in [
        (
            "--max-layers",
            2,
            "more than 2 layers, over the limit of 2 (max_layers)",
        ),
        ("--max-gradient-stops", 3, "over the limit of 2"),
    ] {
        let run = impasto(
            &[
                "batch",
                "assets/scene.json",
                "--data",
                "rows.csv",
                "--output",
                "b/{{id}}.png",
                option,
                "2",
            ],
            c.dir.path(),
        );
        assert_eq!(run.code, code, "{option}: {}", run.stderr);
        assert!(run.stderr.contains(needle), "{option}: {}", run.stderr);
    }
}
