//! The command line when its output streams cannot be written: standard
//! error full or closed (a batch piped into `head`, `2>/dev/full`), standard
//! output full. Diagnostics that cannot be written are dropped and the work
//! goes on; output that cannot be written fails the command, exit 1, saying
//! so. (Before, any of these panicked, exit 101, or hung a batch whose
//! worker died mid-row.)

use std::fs::File;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_impasto");

fn full() -> File {
    File::options()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full (Linux)")
}

#[test]
fn a_batch_whose_standard_error_is_full_writes_every_row_and_exits_as_usual() {
    let dir = tempfile::tempdir().unwrap();
    let template = r##"{"variables": {"id": {"type": "string"}, "c": {"type": "color"}},
        "width": 8, "height": 8, "background": "{{c}}", "layers": []}"##;
    std::fs::write(dir.path().join("t.json"), template).unwrap();
    // A column the template lacks: a warning on standard error at the start;
    // a bad colour: a failed row, reported there too.
    let mut rows = String::from("id,c,extra\n");
    for i in 0..40 {
        rows.push_str(&format!("r{i},#{:02x}0000,x\n", i * 5));
    }
    rows.push_str("bad,notacolour,x\n");
    std::fs::write(dir.path().join("rows.csv"), rows).unwrap();
    let out = Command::new(BIN)
        .current_dir(dir.path())
        .args(["batch", "t.json", "--data", "rows.csv"])
        .args(["--output", "out/{{id}}.png", "--manifest", "m.jsonl"])
        .stderr(full())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "some rows failed: exit 3");
    let written = std::fs::read_dir(dir.path().join("out")).unwrap().count();
    assert_eq!(written, 40);
    let manifest = std::fs::read_to_string(dir.path().join("m.jsonl")).unwrap();
    assert_eq!(manifest.lines().count(), 41);
}

#[test]
fn output_that_cannot_be_written_fails_with_exit_1_and_a_gone_reader_ends_quietly() {
    for args in [
        &["info"][..],
        &["schema"],
        &["sign", "/t/card.png", "--signing-key", "k"],
        // clap's own output too (it exited 0 with nothing written).
        &["--help"],
        &["render", "--help"],
        &["--version"],
    ] {
        let out = Command::new(BIN)
            .args(args)
            .env_remove("IMPASTO_SIGNING_KEY")
            .stdout(full())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("impasto: <stdout>: No space left on device"),
            "{args:?}: {stderr}"
        );
        // A reader that has gone (its end of the pipe closed): exit 0.
        let mut child = Command::new(BIN)
            .args(args)
            .env_remove("IMPASTO_SIGNING_KEY")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}
