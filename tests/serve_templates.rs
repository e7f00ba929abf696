//! `impasto serve --templates DIR`: what a template file may be. The
//! folder is the operator's and its files may be links (a ConfigMap's
//! are), but only to a regular file of at most a scene file's size: a link
//! to `/dev/zero` grew the server by gigabytes, a FIFO held its request
//! past every deadline, both uncounted. A template not there is 404
//! before the body is read.

mod serve_common;

use serve_common::{get, post, Server};

const TEMPLATE: &str = r##"{ "variables": { "accent": { "type": "color", "default": "#e4572e" } },
  "width": 8, "height": 8, "layers": [ { "type": "rect", "color": "{{accent}}" } ] }"##;

#[test]
fn a_template_that_is_a_device_or_a_fifo_is_refused_at_once_and_a_link_to_a_file_is_served() {
    let dir = tempfile::tempdir().expect("temp dir");
    let outside = tempfile::tempdir().expect("temp dir");
    std::fs::write(outside.path().join("card.json"), TEMPLATE).expect("write");
    std::os::unix::fs::symlink(
        outside.path().join("card.json"),
        dir.path().join("card.json"),
    )
    .expect("link");
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero.json")).expect("link");
    let fifo = dir.path().join("fifo.json");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let server = Server::start(&["--templates", dir.path().to_str().expect("utf-8")]);
    assert_eq!(get(&server.url("/t/card.png")).0, 200);
    for name in ["zero", "fifo"] {
        for answer in [
            get(&server.url(&format!("/t/{name}.png"))),
            post(&server.url(&format!("/templates/{name}")), "{}", &[]),
        ] {
            let text = String::from_utf8_lossy(&answer.2);
            assert_eq!(answer.0, 500, "{name}: {text}");
            assert!(text.contains("not a regular file"), "{name}: {text}");
        }
    }
    assert_eq!(get(&server.url("/t/nothing.png")).0, 404);
}

#[test]
fn a_template_not_there_is_404_before_its_body_is_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&["--templates", dir.path().to_str().expect("utf-8")]);
    for name in ["nope", "a.b"] {
        let answer = post(
            &server.url(&format!("/templates/{name}")),
            "{ not json",
            &[],
        );
        let text = String::from_utf8_lossy(&answer.2);
        assert_eq!(answer.0, 404, "{name}: {text}");
    }
}
