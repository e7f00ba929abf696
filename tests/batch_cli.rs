//! `impasto batch` and `impasto render --set` / `render -`: templates bound
//! from CSV and JSON Lines, shards, manifests, exit statuses and the files
//! written. (tests/batch.rs is the library's `render_batch`.)
//!
//! Over 600 lines on purpose: each test writes its own template, data file
//! and expected manifest inline, so the files a batch reads sit beside what
//! the test checks.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

mod common;

/// The backends to run a batch on: the CPU, and the GPU where there is an
/// adapter (required under `CI=true`; there the batch goes through the
/// overlapped GPU path).
fn backends_here() -> Vec<&'static str> {
    let mut all = vec!["cpu"];
    if common::backends::gpu_renderer().is_some() {
        all.push("gpu");
    }
    all
}

struct Run {
    code: i32,
    stderr: String,
}

fn impasto_with_stdin(args: &[&str], cwd: &Path, stdin: &[u8]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_impasto"))
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run impasto");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin).expect("write stdin");
    drop(input);
    let out = child.wait_with_output().expect("wait for impasto");
    Run {
        code: out.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn impasto(args: &[&str], cwd: &Path) -> Run {
    impasto_with_stdin(args, cwd, b"")
}

/// A card template: a photo, a colour, text, and a badge shown per row.
const TEMPLATE: &str = r##"{
  "variables": {
    "title": {"type": "string", "required": true},
    "accent": {"type": "color", "default": "#e4572e"},
    "size": {"type": "number", "default": 12},
    "badge": {"type": "boolean", "default": false}
  },
  "width": 48, "height": 32, "background": "#f4efe6",
  "layers": [
    {"type": "image", "src": "photo.png", "width": 48, "height": 20},
    {"type": "rect", "x": 2, "y": 22, "width": 44, "height": 8, "color": "{{accent}}"},
    {"type": "text", "text": "{{title}}", "x": 2, "y": 20, "width": 44, "height": 12, "size": "{{size}}"},
    {"type": "rect", "x": 36, "y": 2, "width": 10, "height": 10, "color": "#fff", "visible": "{{badge}}"}
  ]
}"##;

/// A folder holding the template, its photo and data.
struct Case {
    dir: tempfile::TempDir,
    backend: &'static str,
}

impl Case {
    fn new(template: &str) -> Case {
        let dir = tempfile::tempdir().unwrap();
        let photo = image::RgbaImage::from_fn(12, 5, |x, y| {
            image::Rgba([(x * 20) as u8, (y * 50) as u8, 120, 255])
        });
        photo.save(dir.path().join("photo.png")).unwrap();
        std::fs::write(dir.path().join("card.json"), template).unwrap();
        Case {
            dir,
            backend: "cpu",
        }
    }

    /// The case, batches run on `backend`.
    fn on(mut self, backend: &'static str) -> Case {
        self.backend = backend;
        self
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn write(&self, name: &str, text: &str) -> &Case {
        std::fs::write(self.path(name), text).unwrap();
        self
    }

    /// `impasto batch card.json --data DATA --output PATTERN ...` on the
    /// case's backend (the CPU unless [`Case::on`]).
    fn batch(&self, data: &str, output: &str, extra: &[&str]) -> Run {
        let mut args = vec![
            "batch",
            "card.json",
            "--data",
            data,
            "--output",
            output,
            "--backend",
            self.backend,
            "--no-system-fonts",
        ];
        args.extend_from_slice(extra);
        impasto(&args, self.dir.path())
    }

    /// The manifest's lines, parsed.
    fn manifest(&self, name: &str) -> Vec<Value> {
        std::fs::read_to_string(self.path(name))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Every file under `folder`, by name, with its bytes.
    fn files(&self, folder: &str) -> BTreeMap<String, Vec<u8>> {
        match std::fs::read_dir(self.path(folder)) {
            Err(_) => BTreeMap::new(),
            Ok(entries) => entries
                .map(|e| e.unwrap())
                .map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    (name, std::fs::read(e.path()).unwrap())
                })
                .collect(),
        }
    }
}

/// `head`, then a row `r{i},Card {i}{tail}` for each `i` of `rows`.
fn numbered_rows(head: &str, rows: std::ops::Range<u32>, tail: &str) -> String {
    let mut csv = String::from(head);
    for i in rows {
        csv.push_str(&format!("r{i},Card {i}{tail}\n"));
    }
    csv
}

/// Twelve good rows.
fn rows_csv() -> String {
    let mut csv = String::from("id,title,accent,badge,notes\n");
    for i in 0..12 {
        let accent = ["#e4572e", "#3b82f6", "#10b981"][i % 3];
        csv.push_str(&format!("card-{i},Card {i},{accent},{},x\n", i % 2 == 0));
    }
    csv
}

/// A manifest line without its timing.
fn untimed(mut line: Value) -> Value {
    line.as_object_mut().unwrap().remove("ms");
    line
}

#[test]
fn four_shards_in_four_processes_write_what_one_process_writes_and_make_their_manifest_folder() {
    let case = Case::new(TEMPLATE);
    case.write("rows.csv", &rows_csv());
    let one = case.batch("rows.csv", "one/{{id}}.png", &["--manifest", "one.jsonl"]);
    assert_eq!(one.code, 0, "{}", one.stderr);
    let children: Vec<_> = (0..4)
        .map(|k| {
            let shard = format!("{k}/4");
            // Into a folder none of the four finds made: each creates it.
            let manifest = format!("parts/shard{k}.jsonl");
            Command::new(env!("CARGO_BIN_EXE_impasto"))
                .args([
                    "batch",
                    "card.json",
                    "--data",
                    "rows.csv",
                    "--output",
                    "sharded/{{id}}.png",
                ])
                .args(["--backend", "cpu", "--no-system-fonts", "--shard", &shard])
                .args(["--manifest", &manifest])
                .current_dir(case.dir.path())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let mut union: Vec<Value> = (0..4)
        .flat_map(|k| case.manifest(&format!("parts/shard{k}.jsonl")))
        .map(untimed)
        .collect();
    union.sort_by_key(|l| l["row"].as_u64());
    let single: Vec<Value> = case
        .manifest("one.jsonl")
        .into_iter()
        .map(untimed)
        .collect();
    let renamed: Vec<Value> = union
        .into_iter()
        .map(|mut l| {
            let out = l["output"].as_str().unwrap().replace("sharded/", "one/");
            l["output"] = Value::from(out);
            l
        })
        .collect();
    assert_eq!(renamed, single);
    assert_eq!(single.len(), 12);
    assert_eq!(case.files("sharded"), case.files("one"));
    // Shard 1 of 4 holds rows 2, 6 and 10 (0-based indices 1, 5, 9).
    let rows: Vec<u64> = case
        .manifest("parts/shard1.jsonl")
        .iter()
        .map(|l| l["row"].as_u64().unwrap())
        .collect();
    assert_eq!(rows, [2, 6, 10]);
}

/// Runs the 12-row batch on `backend` with `a` then with `b` and asserts
/// that both exit 0 and write the same files, byte for byte.
fn same_files_with(backend: &'static str, a: &[&str], b: &[&str]) {
    let case = Case::new(TEMPLATE).on(backend);
    case.write("rows.csv", &rows_csv());
    for (folder, args) in [("a", a), ("b", b)] {
        let run = case.batch("rows.csv", &format!("{folder}/{{{{id}}}}.jpg"), args);
        assert_eq!(run.code, 0, "{backend} {args:?}: {}", run.stderr);
    }
    let (a, b) = (case.files("a"), case.files("b"));
    assert_eq!(a.len(), 12, "{backend}");
    assert_eq!(a, b, "{backend}");
}

#[test]
fn one_job_and_two_jobs_write_byte_identical_files_on_every_backend() {
    for backend in backends_here() {
        same_files_with(backend, &["--jobs", "1"], &["--jobs", "2"]);
    }
}

#[test]
fn one_and_three_gpu_driving_threads_write_byte_identical_files_on_every_backend() {
    // On the GPU three threads each drive their own groups of rows through
    // the overlapped path; on the CPU the option changes nothing.
    for backend in backends_here() {
        same_files_with(
            backend,
            &["--gpu-drivers", "1"],
            &["--gpu-drivers", "3", "--jobs", "2"],
        );
    }
}

#[test]
fn every_cache_off_writes_the_bytes_every_cache_on_writes_on_every_backend() {
    // The photo is drawn by every row: with the caches on it is decoded and
    // resampled once (on the GPU, uploaded once); with them off, per row.
    for backend in backends_here() {
        same_files_with(
            backend,
            &["--jobs", "1"],
            &[
                "--jobs",
                "1",
                "--asset-cache-bytes",
                "0",
                "--placed-cache-bytes",
                "0",
                "--gpu-placed-cache-bytes",
                "0",
                "--gpu-pool-bytes",
                "33554432",
            ],
        );
    }
}

#[test]
fn an_undeclared_variable_exits_2_before_anything_is_written() {
    let case = Case::new(&TEMPLATE.replace("\"{{title}}\"", "\"{{titel}}\""));
    case.write("rows.csv", &rows_csv());
    let run = case.batch("rows.csv", "out/{{id}}.png", &["--manifest", "m.jsonl"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("{{titel}} refers to an undeclared variable"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("layer 2 (text)"), "{}", run.stderr);
    assert!(case.files("out").is_empty());
    assert!(!case.path("m.jsonl").exists());
}

#[test]
fn an_animated_template_is_refused_before_any_row_and_an_animating_value_fails_its_row() {
    // `"animate": true` in the template: every row would fail alike.
    let case = Case::new(&TEMPLATE.replace(
        "\"width\": 48, \"height\": 32,",
        "\"animate\": true, \"width\": 48, \"height\": 32,",
    ));
    case.write("rows.csv", "id,title\na,A\n");
    let run = case.batch("rows.csv", "out/{{id}}.png", &["--manifest", "m.jsonl"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("canvas: field \"animate\": true: batch writes still images"),
        "{}",
        run.stderr
    );
    assert!(case.files("out").is_empty());
    assert!(!case.path("m.jsonl").exists());
    // Animated by a row's value: that row fails, the others are written.
    let case = Case::new(&TEMPLATE.replace(
        "\"width\": 48, \"height\": 32,",
        "\"animate\": \"{{badge}}\", \"width\": 48, \"height\": 32,",
    ));
    case.write("rows.csv", "id,title,badge\na,A,true\nb,B,false\n");
    let run = case.batch("rows.csv", "out/{{id}}.png", &["--manifest", "m.jsonl"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("batch writes still images"),
        "{}",
        run.stderr
    );
    assert_eq!(case.files("out").keys().collect::<Vec<_>>(), ["b.png"]);
    assert_eq!(case.manifest("m.jsonl")[0]["status"], "failed");
}

#[test]
fn a_misspelt_field_in_the_template_exits_2_before_any_row() {
    let case = Case::new(&TEMPLATE.replace("\"height\": 12, \"size\"", "\"heigth\": 12, \"size\""));
    case.write("rows.csv", &rows_csv());
    let run = case.batch("rows.csv", "out/{{id}}.png", &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("layer 2 (text): field \"heigth\""),
        "{}",
        run.stderr
    );
    assert!(case.files("out").is_empty());
}

#[test]
fn a_bad_colour_and_a_missing_required_value_fail_their_rows_and_the_rest_are_written_on_every_backend(
) {
    for backend in backends_here() {
        a_bad_colour_and_a_missing_required_value_fail_their_rows_and_the_rest_are_written_on(
            backend,
        );
    }
}

fn a_bad_colour_and_a_missing_required_value_fail_their_rows_and_the_rest_are_written_on(
    backend: &'static str,
) {
    let case = Case::new(TEMPLATE).on(backend);
    case.write(
        "rows.csv",
        "id,title,accent\na,Alpha,#123\nb,Beta,#12345\nc,,#fff\nd,Delta,\n",
    );
    let run = case.batch("rows.csv", "out/{{id}}.png", &["--manifest", "m.jsonl"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("impasto: row 2: variable \"accent\""),
        "{}",
        run.stderr
    );
    let lines = case.manifest("m.jsonl");
    let status: Vec<&str> = lines
        .iter()
        .map(|l| l["status"].as_str().unwrap())
        .collect();
    assert_eq!(status, ["ok", "failed", "failed", "ok"]);
    assert_eq!(lines[1]["row"], 2);
    assert_eq!(lines[1]["variable"], "accent");
    assert_eq!(lines[1]["layer"], 1);
    assert_eq!(lines[1]["field"], "color");
    assert_eq!(lines[2]["row"], 3);
    assert_eq!(lines[2]["variable"], "title");
    assert_eq!(lines[2]["layer"], 2);
    assert!(lines[2]["error"]
        .as_str()
        .unwrap()
        .contains("missing (required)"));
    let files: Vec<String> = case.files("out").into_keys().collect();
    assert_eq!(files, ["a.png", "d.png"]);
}

#[test]
fn an_output_pattern_that_leaves_its_folder_exits_2_and_a_value_that_does_fails_its_row() {
    let case = Case::new(TEMPLATE);
    case.write("rows.csv", "id,title\nok,A\n../../escaped,B\n");
    let run = case.batch("rows.csv", "out/{{id}}/../../x.png", &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("leaves its folder"), "{}", run.stderr);
    assert!(case.files("out").is_empty());
    let run = case.batch("rows.csv", "out/{{id}}.png", &["--manifest", "m.jsonl"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let lines = case.manifest("m.jsonl");
    assert!(lines[1]["error"]
        .as_str()
        .unwrap()
        .contains("values make paths inside the output folder \"out/\""));
    assert!(
        !case.path("escaped.png").exists()
            && !case
                .dir
                .path()
                .parent()
                .unwrap()
                .join("escaped.png")
                .exists()
    );
}

#[test]
fn two_rows_that_would_write_one_file_fail_the_later_row() {
    let case = Case::new(TEMPLATE);
    case.write("rows.csv", "id,title\nsame,A\nother,B\nsame,C\n");
    let run = case.batch("rows.csv", "out/{{id}}.png", &["--manifest", "m.jsonl"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let lines = case.manifest("m.jsonl");
    assert_eq!(lines[0]["status"], "ok");
    assert_eq!(lines[2]["status"], "failed");
    assert!(lines[2]["error"]
        .as_str()
        .unwrap()
        .contains("also the output of row 1"));
}

/// Outputs written into the folder the images are drawn from: a row that
/// would replace the image it draws fails, and so does a row drawing an
/// earlier row's output (it would get whichever version was there when it
/// ran); the same rows fail, and the same files are written, for every
/// `--jobs`, and the source image is left as it was. Paths compare as the
/// file system resolves them, for files not written yet too: a link to a
/// later output (`La.png` -> `a.png`), another spelling of an output
/// (`./c.png`).
#[cfg(unix)]
#[test]
fn a_row_may_not_write_an_image_a_row_draws_nor_draw_another_rows_output() {
    let template = r##"{
      "variables": {"img": {"type": "string", "required": true}},
      "width": 16, "height": 8,
      "layers": [{"type": "image", "src": "{{img}}", "width": 16, "height": 8}]
    }"##;
    let rows =
        "id,img\nphoto,photo.png\na,photo.png\nb,a.png\nc,photo.png\nd,La.png\n./c,photo.png\n";
    let mut written = Vec::new();
    for jobs in ["1", "3"] {
        let case = Case::new(template);
        case.write("rows.csv", rows);
        std::os::unix::fs::symlink("a.png", case.path("La.png")).unwrap();
        let photo = std::fs::read(case.path("photo.png")).unwrap();
        let args = ["--manifest", "m.jsonl", "--jobs", jobs];
        let run = case.batch("rows.csv", "{{id}}.png", &args);
        assert_eq!(run.code, 3, "{}", run.stderr);
        assert_eq!(std::fs::read(case.path("photo.png")).unwrap(), photo);
        let lines = case.manifest("m.jsonl");
        let status: Vec<&str> = lines
            .iter()
            .map(|l| l["status"].as_str().unwrap())
            .collect();
        let want = ["failed", "ok", "failed", "ok", "failed", "failed"];
        assert_eq!(status, want, "--jobs {jobs}");
        let error = |i: usize| lines[i]["error"].as_str().unwrap().to_owned();
        assert!(
            error(0).contains("replace the row's own input"),
            "{}",
            error(0)
        );
        assert!(error(2).contains("the output of row 2"), "{}", error(2));
        assert!(error(4).contains("the output of row 2"), "{}", error(4));
        // The layer and its field, where the clash is over a layer's file.
        for i in [0, 2, 4] {
            assert_eq!(lines[i]["layer"], 0, "{}", lines[i]);
            assert_eq!(lines[i]["field"], "src", "{}", lines[i]);
            assert_eq!(lines[i]["variable"], "img", "{}", lines[i]);
        }
        assert!(lines[5]["layer"].is_null(), "{}", lines[5]);
        assert!(
            error(5).contains("also the output of row 4"),
            "{}",
            error(5)
        );
        let mut files = case.files(".");
        files.retain(|name, _| name.ends_with(".png") && name != "La.png");
        written.push(files);
        // Resumed, the same rows fail (the skipped ones still count).
        let args = ["--manifest", "m2.jsonl", "--jobs", jobs, "--skip-existing"];
        assert_eq!(case.batch("rows.csv", "{{id}}.png", &args).code, 3);
        let lines = case.manifest("m2.jsonl");
        let status: Vec<&str> = lines
            .iter()
            .map(|l| l["status"].as_str().unwrap())
            .collect();
        let want = ["failed", "skipped", "failed", "skipped", "failed", "failed"];
        assert_eq!(status, want, "--jobs {jobs} --skip-existing");
    }
    assert!(
        written[0] == written[1],
        "the same files for --jobs 1 and 3"
    );
}

/// A batch stopped by SIGTERM (which exits at once, flushing nothing)
/// leaves a manifest of whole JSON lines, rows 1, 2, 3... in order, each
/// naming a file that was written: lines are written unbuffered as rows
/// are done in order (with a buffer, the manifest ended mid-line); and
/// stderr says how far it got.
#[cfg(unix)]
#[test]
fn a_batch_stopped_by_a_signal_leaves_whole_manifest_lines_in_row_order() {
    let case = Case::new(TEMPLATE);
    case.write("rows.csv", &numbered_rows("id,title\n", 0..5000, ""));
    let mut child = Command::new(env!("CARGO_BIN_EXE_impasto"))
        .args([
            "batch",
            "card.json",
            "--data",
            "rows.csv",
            "--output",
            "out/{{id}}.png",
        ])
        .args([
            "--manifest",
            "m.jsonl",
            "--no-system-fonts",
            "--backend",
            "cpu",
        ])
        .current_dir(case.dir.path())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Stopped once the manifest holds more than 8 KiB (a buffered writer
    // has written its first buffer by then, cut wherever it was full).
    let size = || std::fs::metadata(case.path("m.jsonl")).map_or(0, |m| m.len());
    while size() <= 9000 {
        assert!(child.try_wait().unwrap().is_none(), "the batch ended first");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(killed.unwrap().success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(143));
    // It says how far it got (it printed nothing).
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("impasto batch: interrupted after ")
            && stderr.contains(" written, 0 skipped, 0 failed in "),
        "{stderr}"
    );
    let text = std::fs::read_to_string(case.path("m.jsonl")).unwrap();
    let tail = &text[text.len().saturating_sub(60)..];
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "ends mid-line: ...{tail:?}"
    );
    for (i, line) in text.lines().enumerate() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
        assert_eq!(v["row"], i as u64 + 1);
        assert!(case.path(v["output"].as_str().unwrap()).is_file(), "{line}");
    }
}

/// A row's error names its line of the file, whether lines end in `\n`
/// or `\r\n` (the csv crate counts a `\r\n` file's records one line
/// early: the reviewer's "line 4" for line 5).
#[test]
fn a_bad_csv_row_names_its_line_whatever_the_line_ends() {
    let case = Case::new(TEMPLATE);
    for (name, end) in [("lf.csv", "\n"), ("crlf.csv", "\r\n")] {
        let csv = [
            "id,title,size",
            "r1,One,12",
            "r2,\"Two",
            "lines\",12",
            "r3,x,12,EXTRA",
            "r4,y,12",
        ]
        .join(end)
            + end;
        case.write(name, &csv);
        let run = case.batch(name, &format!("o-{name}/{{{{id}}}}.png"), &[]);
        assert_eq!(run.code, 3, "{name}: {}", run.stderr);
        assert!(
            run.stderr
                .contains("row 3: --data: line 5: this row has 4 fields, the header 3 columns"),
            "{name}: {}",
            run.stderr
        );
        let unclosed = ["id,title,size", "r1,One,12", "r2,\"Two,12", "r3,x,12"].join(end) + end;
        let u = format!("u-{name}");
        case.write(&u, &unclosed);
        let run = case.batch(&u, &format!("{u}-out/{{{{id}}}}.png"), &[]);
        for says in [
            "row 2: --data: CSV error: record 2 (line: 3,",
            "starting on line 3 is",
        ] {
            assert!(run.stderr.contains(says), "{name}: {}", run.stderr);
        }
    }
}

/// A row is bounded in bytes (64 MiB and a data: URL of an image of
/// --max-image-file-bytes): endless data (a "line" of /dev/zero) or a CSV
/// quote never closed stops the batch at the bound, saying so, instead of
/// holding gigabytes.
#[test]
fn an_empty_csv_is_refused_as_having_no_header() {
    let case = Case::new(TEMPLATE);
    case.write("empty.csv", "");
    let run = case.batch("empty.csv", "out/{{id}}.png", &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("empty.csv: the file has no header row"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_row_over_its_byte_bound_stops_the_batch_saying_so() {
    let case = Case::new(TEMPLATE);
    let run = case.batch(
        "/dev/zero",
        "out/{{id}}.png",
        &["--data-format", "jsonl", "--max-image-file-bytes", "1"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("/dev/zero: a row holds more than 67108868 bytes"),
        "{}",
        run.stderr
    );
}

/// A data: URL in a CSV field must be quoted: its comma splits it. A row
/// that forgot the quotes is told so; a quoted one draws the image.
#[test]
fn a_data_url_in_a_csv_row_is_drawn_quoted_and_unquoted_gets_a_hint() {
    let case = Case::new(
        r#"{"variables": {"id": {"type": "string"}, "img": {"type": "image"}},
            "width": 4, "height": 4, "layers": [{"type": "image", "src": "{{img}}", "fit": "fill"}]}"#,
    );
    let mut png = std::io::Cursor::new(Vec::new());
    image::RgbaImage::from_pixel(2, 2, image::Rgba([10, 200, 30, 255]))
        .write_to(&mut png, image::ImageFormat::Png)
        .unwrap();
    let url = format!(
        "data:image/png;base64,{}",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, png.into_inner())
    );
    case.write("d.csv", &format!("id,img\nq,\"{url}\"\nu,{url}\n"));
    let run = case.batch("d.csv", "out/{{id}}.png", &[]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("row 2: --data: line 3: this row has 3 fields, the header 2 columns; a data: URL holds a ',': put the field in double quotes"),
        "{}",
        run.stderr
    );
    let drawn = image::open(case.path("out/q.png")).unwrap().to_rgba8();
    assert_eq!(drawn.get_pixel(3, 3).0, [10, 200, 30, 255]);
    // The columns matching (a column after the URL takes its data): the
    // image variable's cut URL gets the hint all the same, naming it, with
    // the row's id; the row quoting it is drawn.
    case.write(
        "m.csv",
        &format!("id,img,note\nm,{url}\nt,\"{url}\",Data: none\n"),
    );
    let run = case.batch("m.csv", "out/{{id}}.png", &["--manifest", "m.jsonl"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let lines = case.manifest("m.jsonl");
    let error = lines[0]["error"].as_str().unwrap();
    assert!(
        error.contains(
            "column \"img\": \"data:image/png;base64\" is a data: URL cut before its data"
        ) && error.contains("put the field in double quotes"),
        "{error}"
    );
    assert_eq!(
        (&lines[0]["variable"], &lines[0]["id"]),
        (&"img".into(), &"m".into())
    );
    assert_eq!(lines[1]["status"], "ok", "{}", run.stderr);
}

/// A quote opened and never closed swallows every later row into one
/// field (the csv crate reads on to the end of the file): the row's error
/// says so, whether the swallowing record has the wrong number of fields
/// or, silently before, the right one. Legal quoted fields over several
/// lines, `""` escapes and a last row without a newline get no such hint.
#[test]
fn a_csv_quote_never_closed_fails_its_row_naming_the_cause_of_the_rows_lost() {
    let case = Case::new(TEMPLATE);
    let hint = "is never closed (a missing \"), so the rest of the file was read into it";
    let head = "id,title,size\nr0,Zero,12\nr1,\"Bad title,12\n";
    case.write("stray.csv", &numbered_rows(head, 2..50, ",12"));
    let run = case.batch("stray.csv", "out/{{id}}.png", &[]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let line = "row 2: --data: CSV error: record 2 (line: 3, byte: 25)";
    assert!(
        run.stderr.contains(line) && run.stderr.contains(hint),
        "{}",
        run.stderr
    );
    // The right number of fields: it rendered one card, exit 0.
    case.write("fits.csv", "id,size,title\nr0,12,\"Zero\nr1,12,One\n");
    let run = case.batch("fits.csv", "fits/{{id}}.png", &[]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("row 1: --data: a quoted field opened in the record starting on line 2"),
        "{}",
        run.stderr
    );
    for (name, csv) in [
        (
            "legal.csv",
            "id,title,size\nr0,\"Two\nlines\",12\nr1,\"x\"\"y\"\"\nz\",12\n",
        ),
        (
            "last.csv",
            "id,title,size\nr0,\"Two\nlines\",12\nr1,\"x\ny\",12",
        ),
    ] {
        case.write(name, csv);
        let run = case.batch(name, &format!("o-{name}/{{{{id}}}}.png"), &[]);
        assert_eq!(run.code, 0, "{name}: {}", run.stderr);
    }
}

#[test]
fn fail_fast_reports_the_first_failure_in_row_order_and_runs_every_row_before_it() {
    // Rows 1 and 2 are large canvases (long renders, one per worker), so
    // the reader is well ahead of the workers; row 3 fails when it is
    // bound (on a worker); row 6 fails at once in the reader (row 5's
    // file): found first, it must not stop rows 3 to 5.
    let case = Case::new(
        r##"{
  "variables": {
    "side": {"type": "number", "default": 16},
    "accent": {"type": "color", "default": "#e4572e"}
  },
  "width": "{{side}}", "height": "{{side}}", "background": "{{accent}}",
  "layers": [
    {"type": "linear-gradient", "x": 0, "y": 0, "width": "{{side}}", "height": "{{side}}", "angle": 30,
     "stops": [{"offset": 0, "color": "#000"}, {"offset": 1, "color": "#fff8"}], "blend": "overlay"}
  ]
}"##,
    );
    case.write(
        "rows.csv",
        "id,side,accent\na,4000,#123456\nb,4000,#123456\nc,16,#12\nd,16,#123456\ne,16,#123456\ne,16,#123456\n",
    );
    let run = case.batch(
        "rows.csv",
        "out/{{id}}.png",
        &["--fail-fast", "--jobs", "2", "--manifest", "m.jsonl"],
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    let lines = case.manifest("m.jsonl");
    let rows: Vec<(i64, String)> = lines
        .iter()
        .map(|l| {
            (
                l["row"].as_i64().unwrap(),
                l["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    // Row 3 is the first failure; rows 1 and 2 ran before it.
    assert_eq!(rows[0], (1, "ok".to_owned()), "{rows:?}");
    assert_eq!(rows[1], (2, "ok".to_owned()), "{rows:?}");
    assert_eq!(rows[2], (3, "failed".to_owned()), "{rows:?}");
    assert!(run.stderr.contains("row 3:"), "{}", run.stderr);
    // The summary says the batch stopped, and how many rows were not run
    // (the manifest ends before the first of them; a row after it that
    // failed as it was read still counts).
    assert!(
        run.stderr
            .contains("stopped at the first failed row (--fail-fast); "),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains(" not run"), "{}", run.stderr);
    let rows_in_order = rows.iter().map(|(r, _)| *r).collect::<Vec<_>>();
    let contiguous: Vec<i64> = (1..=rows.len() as i64).collect();
    assert_eq!(rows_in_order, contiguous, "the manifest skips no row");
}

#[test]
fn an_output_folder_that_is_a_file_exits_2_before_any_row() {
    let case = Case::new(TEMPLATE);
    case.write("rows.csv", "id,title\na,A\nb,B\n");
    case.write("o6", "hi");
    for pattern in ["o6/{{id}}.png", "o6/sub/{{id}}.png"] {
        let run = case.batch("rows.csv", pattern, &[]);
        assert_eq!(run.code, 2, "{pattern}: {}", run.stderr);
        assert!(
            run.stderr.contains("\"o6\" is a file, not a folder"),
            "{}",
            run.stderr
        );
        assert!(!run.stderr.contains("row 1"), "{}", run.stderr);
    }
    assert_eq!(std::fs::read_to_string(case.path("o6")).unwrap(), "hi");
}

#[test]
fn a_column_the_output_pattern_or_a_required_variable_needs_but_the_data_lacks_exits_2() {
    let case = Case::new(TEMPLATE);
    case.write("rows.csv", "title\nA\n");
    let run = case.batch("rows.csv", "out/{{id}}.png", &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("no such column"), "{}", run.stderr);
    case.write("rows.csv", "id,accent\na,#fff\n");
    let run = case.batch("rows.csv", "out/{{id}}.png", &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("no column for the required variable title"),
        "{}",
        run.stderr
    );
    assert!(case.files("out").is_empty());
}

#[test]
fn a_layer_with_visible_false_is_not_painted() {
    let case = Case::new(TEMPLATE);
    case.write("rows.jsonl", "{\"id\": \"on\", \"title\": \"\\u00a0\", \"badge\": true}\n{\"id\": \"off\", \"title\": \"\\u00a0\"}\n");
    let run = case.batch("rows.jsonl", "out/{{id}}.png", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let on = image::open(case.path("out/on.png")).unwrap().to_rgba8();
    let off = image::open(case.path("out/off.png")).unwrap().to_rgba8();
    assert_eq!(
        on.get_pixel(40, 6).0,
        [255, 255, 255, 255],
        "the badge is painted"
    );
    // Without the badge the image is that of the template without the layer.
    let badge = ",\n    {\"type\": \"rect\", \"x\": 36, \"y\": 2, \"width\": 10, \"height\": 10, \"color\": \"#fff\", \"visible\": \"{{badge}}\"}";
    assert!(TEMPLATE.contains(badge));
    case.write("card.json", &TEMPLATE.replace(badge, ""));
    let run = case.batch("rows.jsonl", "ref/{{id}}.png", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let reference = image::open(case.path("ref/off.png")).unwrap().to_rgba8();
    assert_eq!(off, reference);
    assert_ne!(on, reference);
}

#[test]
fn rows_on_standard_input_skip_existing_and_fail_fast() {
    let case = Case::new(TEMPLATE);
    let rows = "{\"id\": \"a\", \"title\": \"A\"}\n{\"id\": \"b\", \"title\": \"B\", \"size\": \"big\"}\n{\"id\": \"c\", \"title\": \"C\"}\n";
    let args = |extra: &[&'static str]| {
        let mut a = vec![
            "batch",
            "card.json",
            "--data",
            "-",
            "--output",
            "out/{{id}}.png",
        ];
        a.extend_from_slice(&["--backend", "cpu", "--no-system-fonts", "--jobs", "1"]);
        a.extend_from_slice(extra);
        a
    };
    let run = impasto_with_stdin(
        &args(&["--manifest", "m.jsonl"]),
        case.dir.path(),
        rows.as_bytes(),
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("variable \"size\""), "{}", run.stderr);
    assert_eq!(case.files("out").len(), 2);
    let run = impasto_with_stdin(
        &args(&["--skip-existing", "--manifest", "m.jsonl"]),
        case.dir.path(),
        rows.as_bytes(),
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    let status: Vec<Value> = case
        .manifest("m.jsonl")
        .into_iter()
        .map(|l| l["status"].clone())
        .collect();
    assert_eq!(status, ["skipped", "failed", "skipped"]);
    std::fs::remove_dir_all(case.path("out")).unwrap();
    let run = impasto_with_stdin(&args(&["--fail-fast"]), case.dir.path(), rows.as_bytes());
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        !case.path("out/c.png").exists(),
        "fail-fast rendered the row after a failure"
    );
}

#[test]
fn render_set_binds_one_row_and_render_dash_reads_standard_input() {
    let case = Case::new(TEMPLATE);
    let base = ["--backend", "cpu", "--no-system-fonts"];
    let run = impasto(
        &[
            &[
                "render",
                "card.json",
                "--set",
                "title=Hi",
                "--set",
                "accent=#00f",
                "-o",
                "set.png",
            ][..],
            &base,
        ]
        .concat(),
        case.dir.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let img = image::open(case.path("set.png")).unwrap().to_rgba8();
    assert_eq!(img.get_pixel(40, 27).0, [0, 0, 255, 255]);
    let run = impasto(
        &[
            &["render", "card.json", "--set", "titel=Hi", "-o", "x.png"][..],
            &base,
        ]
        .concat(),
        case.dir.path(),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("\"titel\" is not declared"),
        "{}",
        run.stderr
    );
    let run = impasto(
        &[&["render", "card.json", "-o", "x.png"][..], &base].concat(),
        case.dir.path(),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("variable \"title\": missing"),
        "{}",
        run.stderr
    );
    assert!(!case.path("x.png").exists());
    let scene = r##"{"width": 4, "height": 4, "layers": [{"type": "rect", "color": "#f00"}]}"##;
    let run = impasto_with_stdin(
        &[&["render", "-", "-o", "stdin.png"][..], &base].concat(),
        case.dir.path(),
        scene.as_bytes(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let img = image::open(case.path("stdin.png")).unwrap().to_rgba8();
    assert_eq!(img.get_pixel(1, 1).0, [255, 0, 0, 255]);
}

#[test]
fn a_row_with_characters_no_font_has_is_written_with_warnings_in_its_manifest_line_on_every_backend(
) {
    for backend in backends_here() {
        a_row_with_characters_no_font_has_is_written_with_warnings_in_its_manifest_line_on(backend);
    }
}

fn a_row_with_characters_no_font_has_is_written_with_warnings_in_its_manifest_line_on(
    backend: &'static str,
) {
    let case = Case::new(TEMPLATE).on(backend);
    // U+10FFFD (private use) is in no font; --no-system-fonts keeps the
    // search to the bundled Inter.
    case.write(
        "rows.csv",
        "id,title\nplain,Plain\nodd,Odd \u{10FFFD}\nplain2,Plain 2\n",
    );
    let run = case.batch(
        "rows.csv",
        "out/{{id}}.png",
        &["--manifest", "m.jsonl", "--jobs", "2"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(case.files("out").len(), 3);
    let lines = case.manifest("m.jsonl");
    assert!(lines[0].get("warnings").is_none(), "{}", lines[0]);
    assert!(lines[2].get("warnings").is_none(), "{}", lines[2]);
    let w = &lines[1]["warnings"];
    assert_eq!(lines[1]["status"], "ok");
    assert_eq!(w.as_array().map(Vec::len), Some(1), "{w}");
    assert_eq!(w[0]["kind"], "missing_glyphs");
    assert_eq!(w[0]["layer"], 2);
    assert_eq!(w[0]["field"], "text");
    assert_eq!(w[0]["chars"], serde_json::json!(["\u{10FFFD}"]));
    assert_eq!(w[0]["family"], "Inter");
    assert!(
        run.stderr.contains("3 written (1 with warnings)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("row 2: warning: layer 2 (text)") && run.stderr.contains("U+10FFFD"),
        "{}",
        run.stderr
    );
    // --missing-glyphs error fails that row, and only that row.
    let run = case.batch(
        "rows.csv",
        "strict/{{id}}.png",
        &["--manifest", "s.jsonl", "--missing-glyphs", "error"],
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    let lines = case.manifest("s.jsonl");
    assert_eq!(lines[1]["status"], "failed");
    assert_eq!(
        (lines[1]["layer"].as_u64(), lines[1]["field"].as_str()),
        (Some(2), Some("text"))
    );
    let written: Vec<String> = case.files("strict").into_keys().collect();
    assert_eq!(written, ["plain.png", "plain2.png"]);
}

#[test]
fn render_prints_each_warning_on_one_line_and_missing_glyphs_error_refuses() {
    let case = Case::new(TEMPLATE);
    let base = ["--backend", "cpu", "--no-system-fonts"];
    let set = ["render", "card.json", "--set", "title=A \u{10FFFD} B"];
    let run = impasto(
        &[&set[..], &["-o", "w.png"], &base].concat(),
        case.dir.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(case.path("w.png").exists());
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", run.stderr);
    assert!(
        lines[0]
            .starts_with("impasto: warning: layer 2 (text): field \"text\": no available font has")
            && lines[0].contains("U+10FFFD"),
        "{}",
        run.stderr
    );
    let strict = ["--missing-glyphs", "error"];
    let run = impasto(
        &[&set[..], &["-o", "e.png"], &base, &strict].concat(),
        case.dir.path(),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(!case.path("e.png").exists());
}

#[test]
fn a_photo_whose_colour_profile_is_ignored_is_a_warning_in_every_row_that_draws_it() {
    let case = Case::new(TEMPLATE);
    // A JPEG (sniffed by content, whatever its name) whose APP2 profile
    // is no ICC profile.
    let mut jpeg = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut jpeg, 90);
    enc.add_icc_profile(b"not an ICC profile").unwrap();
    enc.encode(&[90; 12 * 5 * 3], 12, 5, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    std::fs::write(case.path("photo.png"), jpeg).unwrap();
    case.write("rows.csv", "id,title\na,A\nb,B\n");
    let run = case.batch(
        "rows.csv",
        "out/{{id}}.png",
        &["--manifest", "m.jsonl", "--jobs", "1"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines = case.manifest("m.jsonl");
    // The second row finds the photo decoded: its warning is kept too.
    for line in &lines {
        let w = &line["warnings"];
        assert_eq!(w.as_array().map(Vec::len), Some(1), "{line}");
        assert_eq!(w[0]["kind"], "colour_profile_ignored");
        assert_eq!(
            (w[0]["layer"].as_u64(), w[0]["field"].as_str()),
            (Some(0), Some("src"))
        );
        let message = w[0]["message"].as_str().unwrap();
        assert!(
            message.starts_with(
                "layer 0 (image): field \"src\": \"photo.png\": colour profile ignored"
            ) && message.contains("not a valid ICC profile"),
            "{message}"
        );
    }
    assert!(
        run.stderr.contains("2 written (2 with warnings)"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_manifest_that_is_the_data_the_template_or_the_output_folder_exits_2_and_overwrites_nothing() {
    let case = Case::new(TEMPLATE);
    case.write("rows.csv", "id,title\na,A\nb,B\n");
    for (manifest, says) in [
        ("rows.csv", "is the --data file"),
        ("./card.json", "is the template"),
        ("out", "is the output folder"),
    ] {
        let run = case.batch("rows.csv", "out/{{id}}.png", &["--manifest", manifest]);
        assert_eq!(run.code, 2, "--manifest {manifest}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{}", run.stderr);
    }
    assert_eq!(
        std::fs::read_to_string(case.path("rows.csv")).unwrap(),
        "id,title\na,A\nb,B\n"
    );
    assert_eq!(
        std::fs::read_to_string(case.path("card.json")).unwrap(),
        TEMPLATE
    );
    assert!(case.files("out").is_empty());
    // A file that is no manifest, such as an image the batch draws (a
    // reviewer's typo destroyed the logo), is not overwritten; an earlier
    // manifest is.
    let png = std::fs::read(format!(
        "{}/examples/poster/logo.png",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    std::fs::write(case.path("logo.png"), &png).unwrap();
    case.write("notes.txt", "keep me");
    case.write("other.jsonl", "{\"title\": \"A\"}\n");
    for (manifest, says) in [
        ("logo.png", "is not a manifest (it holds a PNG image)"),
        (
            "notes.txt",
            "is not a manifest (its first line is not a manifest line)",
        ),
        // Another batch's data: JSON, but no manifest.
        (
            "other.jsonl",
            "is not a manifest (its first line is not a manifest line)",
        ),
    ] {
        let run = case.batch("rows.csv", "out/{{id}}.png", &["--manifest", manifest]);
        assert_eq!(run.code, 2, "--manifest {manifest}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{}", run.stderr);
    }
    assert_eq!(std::fs::read(case.path("logo.png")).unwrap(), png);
    assert_eq!(
        std::fs::read_to_string(case.path("notes.txt")).unwrap(),
        "keep me"
    );
    for _ in 0..2 {
        let run = case.batch("rows.csv", "again/{{id}}.png", &["--manifest", "m.jsonl"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(case.manifest("m.jsonl").len(), 2);
    }
    // A manifest named like a row's output: that row fails, the manifest
    // keeps every line.
    let run = case.batch("rows.csv", "out/{{id}}.png", &["--manifest", "out/b.png"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let lines = case.manifest("out/b.png");
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["status"], "ok");
    assert!(
        lines[1]["error"]
            .as_str()
            .unwrap()
            .contains("is the manifest"),
        "{}",
        lines[1]
    );
}

/// The manifest, the template and the data file reached through a link
/// (to the folder, or the manifest itself a link), or named like a row's
/// output: the row fails, the file is kept. The manifest was compared by
/// its spelling only, so a row wrote an image over it and the batch
/// exited 0.
#[cfg(unix)]
#[test]
fn a_row_may_not_write_the_manifest_the_template_or_the_data_file_through_a_link() {
    use std::os::unix::fs::symlink;
    let case = Case::new(TEMPLATE);
    std::fs::create_dir_all(case.path("out")).unwrap();
    symlink("out", case.path("link")).unwrap();
    symlink("out/m.png", case.path("mlink.jsonl")).unwrap();
    case.write("rows.csv", "id,title\nm,A\nok,B\n");
    for (output, manifest, read) in [
        ("out/{{id}}.png", "link/m.png", "out/m.png"),
        ("link/{{id}}.png", "out/m.png", "out/m.png"),
        ("out/{{id}}.png", "mlink.jsonl", "out/m.png"),
    ] {
        let _ = std::fs::remove_file(case.path("out/m.png"));
        let run = case.batch("rows.csv", output, &["--manifest", manifest]);
        assert_eq!(run.code, 3, "{output} {manifest}: {}", run.stderr);
        let lines = case.manifest(read);
        assert_eq!(lines.len(), 2, "{output} {manifest}");
        let error = lines[0]["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("is the manifest"),
            "{output} {manifest}: {error}"
        );
        assert_eq!(lines[1]["status"], "ok");
    }
    // The template named as a row's output; the data file a link to
    // another row's output.
    let template = std::fs::read(case.path("card.json")).unwrap();
    std::fs::copy(case.path("card.json"), case.path("card.png")).unwrap();
    case.write("data.png", "id,title\ncard,A\ndata,B\nok,C\n");
    symlink("data.png", case.path("rows2.csv")).unwrap();
    let mut args = vec!["batch", "card.png", "--data", "rows2.csv", "--output"];
    args.extend(["{{id}}.png", "--backend", "cpu", "--no-system-fonts"]);
    let run = impasto(&args, case.path("").as_path());
    assert_eq!(run.code, 3, "{}", run.stderr);
    for said in [
        "\"card.png\" is the template",
        "\"data.png\" is the --data file",
    ] {
        assert!(run.stderr.contains(said), "{}", run.stderr);
    }
    assert_eq!(std::fs::read(case.path("card.png")).unwrap(), template);
    let data = std::fs::read_to_string(case.path("data.png")).unwrap();
    assert!(data.starts_with("id,"), "{data}");
    assert!(case.path("ok.png").exists());
}

/// Rows from a pipe: CSV on standard input with `--data-format csv`, and a
/// named pipe, which the batch hung on (it counted the rows, reading the
/// pipe to its end, then opened it again and waited for a writer).
#[cfg(unix)]
#[test]
fn csv_rows_stream_from_standard_input_and_from_a_named_pipe() {
    let case = Case::new(TEMPLATE);
    let csv = "id,title\na,A\nb,B\n";
    let mut args = vec!["batch", "card.json", "--data", "-", "--data-format", "csv"];
    args.extend([
        "-o",
        "in/{{id}}.png",
        "--backend",
        "cpu",
        "--no-system-fonts",
    ]);
    let run = impasto_with_stdin(&args, case.path("").as_path(), csv.as_bytes());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(case.files("in").len(), 2);
    // Standard input redirected from a file named like a row's output: that
    // file is the data, and the row may not write it (it was overwritten).
    case.write("K.png", "id,title\nK,A\nL,B\n");
    let run = Command::new(env!("CARGO_BIN_EXE_impasto"))
        .args(["batch", "card.json", "--data", "-", "--data-format", "csv"])
        .args(["-o", "{{id}}.png", "--backend", "cpu", "--no-system-fonts"])
        .current_dir(case.path(""))
        .stdin(std::fs::File::open(case.path("K.png")).unwrap())
        .output()
        .expect("impasto runs");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("is the --data file (standard input)"),
        "{stderr}"
    );
    let data = std::fs::read_to_string(case.path("K.png")).unwrap();
    assert!(data.starts_with("id,"), "{data}");
    let fifo = case.path("rows.csv");
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let writer = std::thread::spawn(move || std::fs::write(fifo, csv).expect("written"));
    let run = case.batch("rows.csv", "piped/{{id}}.png", &[]);
    writer.join().expect("the writer ends");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(case.files("piped").len(), 2);
}

/// A manifest the disk cannot take (`/dev/full`) stops the batch with
/// exit 1, after the summary: it exited 2 ("nothing rendered") with no
/// summary, and left a cut line.
#[cfg(target_os = "linux")]
#[test]
fn a_manifest_that_cannot_be_written_stops_the_batch_with_exit_1_after_its_summary() {
    let case = Case::new(TEMPLATE);
    case.write("rows.csv", "id,title\na,A\nb,B\n");
    let run = case.batch("rows.csv", "out/{{id}}.png", &["--manifest", "/dev/full"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("impasto batch: "), "{}", run.stderr);
    let said = "cannot write the manifest (--manifest): No space left on device";
    assert!(run.stderr.contains(said), "{}", run.stderr);
}

#[cfg(unix)]
#[test]
fn a_row_cannot_write_outside_the_output_folder_through_a_symbolic_link() {
    let case = Case::new(TEMPLATE);
    std::fs::create_dir_all(case.path("out/inside")).unwrap();
    std::fs::create_dir_all(case.path("elsewhere")).unwrap();
    std::os::unix::fs::symlink(case.path("elsewhere"), case.path("out/link")).unwrap();
    std::os::unix::fs::symlink(case.path("out/inside"), case.path("out/alias")).unwrap();
    case.write("rows.csv", "id,title\nlink/pwned,A\nalias/fine,B\n");
    let run = case.batch("rows.csv", "out/{{id}}.png", &["--manifest", "m.jsonl"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let lines = case.manifest("m.jsonl");
    let error = lines[0]["error"].as_str().unwrap();
    assert!(error.contains("through the symbolic link"), "{error}");
    assert_eq!(
        lines[1]["status"], "ok",
        "a link that stays inside is followed"
    );
    assert!(case.files("elsewhere").is_empty());
    assert!(case.path("out/inside/fine.png").is_file());
}

#[cfg(unix)]
#[test]
fn a_row_whose_output_is_a_symbolic_link_fails_and_what_it_points_to_is_untouched() {
    let case = Case::new(TEMPLATE);
    std::fs::create_dir_all(case.path("out")).unwrap();
    case.write("victim.txt", "precious");
    std::os::unix::fs::symlink(case.path("victim.txt"), case.path("out/a.png")).unwrap();
    std::os::unix::fs::symlink(case.path("nowhere.png"), case.path("out/b.png")).unwrap();
    case.write("rows.csv", "id,title\na,A\nb,B\nc,C\n");
    let run = case.batch("rows.csv", "out/{{id}}.png", &["--manifest", "m.jsonl"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let lines = case.manifest("m.jsonl");
    for line in &lines[..2] {
        let error = line["error"].as_str().unwrap();
        assert!(error.contains("is a symbolic link"), "{error}");
    }
    assert_eq!(lines[2]["status"], "ok");
    assert_eq!(
        std::fs::read_to_string(case.path("victim.txt")).unwrap(),
        "precious"
    );
    assert!(!case.path("nowhere.png").exists());
}

#[test]
fn skip_existing_skips_files_only_and_an_absolute_value_fails_its_row() {
    let case = Case::new(TEMPLATE);
    std::fs::create_dir_all(case.path("out/dir.png")).unwrap();
    case.write("rows.csv", "id,title\ndir,A\n/abs/x,B\nok,C\n");
    let run = case.batch(
        "rows.csv",
        "out/{{id}}.png",
        &["--skip-existing", "--manifest", "m.jsonl"],
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    let lines = case.manifest("m.jsonl");
    assert_eq!(lines[0]["status"], "failed", "a folder is not skipped");
    assert_eq!(lines[1]["status"], "failed");
    assert!(
        lines[1]["error"]
            .as_str()
            .unwrap()
            .contains("absolute path"),
        "{}",
        lines[1]
    );
    assert_eq!(lines[2]["status"], "ok");
    // Resumed: the row written before is skipped, its size still listed.
    let run = case.batch(
        "rows.csv",
        "out/{{id}}.png",
        &["--skip-existing", "--manifest", "m.jsonl"],
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    let lines = case.manifest("m.jsonl");
    assert_eq!(lines[2]["status"], "skipped");
    let size = std::fs::metadata(case.path("out/ok.png")).unwrap().len();
    assert_eq!(lines[2]["bytes"], size, "{}", lines[2]);
}

/// A template whose photo is a variable: a row naming a file that is not
/// there fails when it renders, and its manifest line names the variable,
/// the layer and the field.
#[test]
fn a_render_error_in_a_field_filled_from_a_variable_names_the_variable_on_every_backend() {
    for backend in backends_here() {
        let case = Case::new(
            r##"{
  "variables": {"photo": {"type": "image", "default": "photo.png"}},
  "width": 16, "height": 16,
  "layers": [{"type": "image", "src": "{{photo}}", "width": 16, "height": 16}]
}"##,
        )
        .on(backend);
        case.write("rows.csv", "id,photo\na,photo.png\nb,nope.png\n");
        let run = case.batch("rows.csv", "out/{{id}}.png", &["--manifest", "m.jsonl"]);
        assert_eq!(run.code, 3, "{backend}: {}", run.stderr);
        let lines = case.manifest("m.jsonl");
        assert_eq!(lines[0]["status"], "ok", "{backend}");
        let failed = &lines[1];
        assert_eq!(failed["variable"], "photo", "{backend}: {failed}");
        assert_eq!(failed["layer"], 0, "{backend}: {failed}");
        assert_eq!(failed["field"], "src", "{backend}: {failed}");
    }
}

#[test]
fn a_json_lines_key_that_is_no_variable_is_warned_of_once_with_the_closest_name() {
    let case = Case::new(TEMPLATE);
    // "acent" is a misspelt optional variable: its row draws the default
    // accent, so the user must hear of it; "note" is just extra data.
    let rows = "{\"id\": \"a\", \"title\": \"A\", \"acent\": \"#000\"}\n\
                {\"id\": \"b\", \"title\": \"B\", \"acent\": \"#111\", \"note\": \"x\"}\n";
    let run = impasto_with_stdin(
        &[
            "batch",
            "card.json",
            "--data",
            "-",
            "--output",
            "out/{{id}}.png",
            "--backend",
            "cpu",
            "--no-system-fonts",
            "--jobs",
            "1",
        ],
        case.dir.path(),
        rows.as_bytes(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(case.files("out").len(), 2);
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("is not a template variable"))
        .collect();
    assert_eq!(
        lines,
        [
            "impasto: --data: row 1: \"acent\" is not a template variable and is ignored; did you mean \"accent\"?",
            "impasto: --data: row 2: \"note\" is not a template variable and is ignored",
        ],
        "{}",
        run.stderr
    );
}

#[test]
fn csv_header_names_are_trimmed_misspelt_columns_get_the_closest_name_and_a_ragged_row_names_the_header_and_its_id(
) {
    let case = Case::new(TEMPLATE);
    // `id, title` (spaces after the commas) names `title`; "acent" is warned
    // of with the variable it misspells; row 2 has one field too few.
    case.write("rows.csv", "id, title , acent\na,A,#000\nb,B\n");
    let run = case.batch("rows.csv", "out/{{id}}.png", &["--manifest", "m.jsonl"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "columns that are not template variables are ignored: \"acent\" (did you mean \"accent\"?)"
        ),
        "{}",
        run.stderr
    );
    let lines = case.manifest("m.jsonl");
    assert_eq!(lines[0]["status"], "ok", "{}", lines[0]);
    let error = lines[1]["error"].as_str().unwrap();
    assert!(
        error.contains("this row has 2 fields, the header 3 columns"),
        "{error}"
    );
    // `id` first: the ragged row keeps its id (nothing before the first
    // field can shift). `id` later: a missing or split field may have moved
    // it, so the row has none rather than a wrong one.
    assert_eq!(lines[1]["id"], "b", "{}", lines[1]);
    case.write(
        "late.csv",
        "title,id
A,a
B
C,c,extra
",
    );
    let run = case.batch("late.csv", "late/{{id}}.png", &["--manifest", "l.jsonl"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let lines = case.manifest("l.jsonl");
    assert_eq!(lines[0]["id"], "a", "{}", lines[0]);
    for line in &lines[1..] {
        assert_eq!(line["status"], "failed", "{line}");
        assert!(line.get("id").is_none(), "{line}");
    }
}

#[test]
fn rows_are_held_to_max_render_bytes_and_a_timeout_each_on_every_backend() {
    // A row whose text is 30,000 characters shrunk from size 10,000 takes
    // seconds to lay out; the other draws one word.
    let template = r##"{
      "variables": {"text": {"type": "string"}},
      "width": 400, "height": 300, "background": "#fff",
      "layers": [{"type": "text", "text": "{{text}}", "width": 400, "height": 300,
                  "size": 10000, "overflow": "shrink", "min_size": 0.01}]
    }"##;
    for backend in backends_here() {
        let case = Case::new(template).on(backend);
        let long = "日".repeat(30_000);
        case.write("rows.csv", &format!("id,text\nshort,Hello\nlong,{long}\n"));
        let run = case.batch(
            "rows.csv",
            "out/{{id}}.png",
            &["--timeout", "0.3", "--manifest", "m.jsonl"],
        );
        assert_eq!(run.code, 3, "{backend}: {}", run.stderr);
        let lines = case.manifest("m.jsonl");
        assert_eq!(lines[0]["status"], "ok", "{backend}: {}", lines[0]);
        let error = lines[1]["error"].as_str().unwrap();
        assert!(error.contains("deadline"), "{backend}: {error}");
        assert!(!case.path("out/long.png").exists(), "{backend}");
        // A budget no render fits: every row fails, naming the limit.
        let run = case.batch(
            "rows.csv",
            "small/{{id}}.png",
            &["--max-render-bytes", "1000", "--manifest", "m2.jsonl"],
        );
        assert_eq!(run.code, 3, "{backend}: {}", run.stderr);
        for line in case.manifest("m2.jsonl") {
            let error = line["error"].as_str().unwrap();
            assert!(error.contains("max_render_bytes"), "{backend}: {error}");
        }
    }
}

#[test]
fn a_required_variable_without_a_column_names_the_column_that_misspells_it() {
    let case = Case::new(TEMPLATE);
    case.write("rows.csv", "id,titel\na,A\n");
    let run = case.batch("rows.csv", "out/{{id}}.png", &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("no column for the required variable title")
            && run
                .stderr
                .contains("is the column \"titel\" meant to be \"title\"?"),
        "{}",
        run.stderr
    );
}
