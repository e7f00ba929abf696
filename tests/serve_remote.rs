//! `impasto serve --allow-host`: remote images fetched from a tiny HTTP
//! server on 127.0.0.1 started by each test (redirects, a disallowed host,
//! an oversized body, a silent host).

mod serve_common;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use serve_common::{header, post, poster_dir, Server};

/// A tiny HTTP/1.0 origin on 127.0.0.1: answers by path, one thread per
/// connection, `Connection: close`. Its threads end with the test process.
struct Origin {
    port: u16,
}

impl Origin {
    fn start() -> Origin {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind origin");
        let port = listener.local_addr().expect("address").port();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || serve_one(stream, port));
            }
        });
        Origin { port }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn allow(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

fn serve_one(stream: TcpStream, port: u16) {
    let mut reader = BufReader::new(stream);
    let mut request = String::new();
    if reader.read_line(&mut request).is_err() {
        return;
    }
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
        line.clear();
    }
    let path = request.split(' ').nth(1).unwrap_or("/").to_owned();
    let mut stream = reader.into_inner();
    let logo = std::fs::read(poster_dir().join("logo.png")).expect("logo.png");
    let (head, body): (String, Vec<u8>) = match path.as_str() {
        "/logo.png" => ("200 OK\r\nContent-Type: image/png".into(), logo),
        "/hop" => ("302 Found\r\nLocation: /logo.png".into(), Vec::new()),
        "/hop-away" => (
            format!("302 Found\r\nLocation: http://localhost:{port}/logo.png"),
            Vec::new(),
        ),
        "/loop" => ("302 Found\r\nLocation: /loop".into(), Vec::new()),
        // Relative to /a/b/: /logo.png once its dot segments are removed.
        "/a/b/dots" => (
            "302 Found\r\nLocation: ./x/../../../logo.png".into(),
            Vec::new(),
        ),
        "/to-data" => (
            "302 Found\r\nLocation: data:image/png;base64,AAAA".into(),
            Vec::new(),
        ),
        "/to-missing" => ("302 Found\r\nLocation: missing.png".into(), Vec::new()),
        "/gzip" => (
            "200 OK\r\nContent-Type: image/png\r\nContent-Encoding: gzip".into(),
            logo,
        ),
        "/text" => (
            "200 OK\r\nContent-Type: image/png".into(),
            b"not an image".to_vec(),
        ),
        // No Content-Length: the limit must hold while streaming.
        "/big" => (
            "200 OK\r\nContent-Type: image/png".into(),
            vec![0u8; 300_000],
        ),
        "/slow" => {
            std::thread::sleep(Duration::from_secs(4));
            ("200 OK".into(), logo)
        }
        _ => ("404 Not Found".into(), Vec::new()),
    };
    let _ = write!(stream, "HTTP/1.0 {head}\r\nConnection: close\r\n\r\n");
    let _ = stream.write_all(&body);
}

fn scene(src: &str) -> String {
    format!(
        r##"{{ "width": 120, "height": 80, "background": "#f4efe6", "layers": [
          {{ "type": "rect", "color": "#1d1d1f", "width": 40 }},
          {{ "type": "image", "src": "{src}", "x": 10, "y": 10, "width": 60, "height": 60, "fit": "contain" }} ] }}"##
    )
}

fn error_body(answer: &serve_common::Answer) -> serde_json::Value {
    serde_json::from_slice(&answer.2).expect("a JSON error body")
}

fn server(origin: &Origin) -> Server {
    Server::start(&[
        "--assets",
        poster_dir().to_str().expect("utf-8"),
        "--allow-host",
        &origin.allow(),
        "--max-image-file-bytes",
        "100000",
        "--fetch-read-timeout",
        "1",
    ])
}

#[test]
fn an_allowed_host_is_fetched_and_renders_like_the_local_file() {
    let origin = Origin::start();
    let server = server(&origin);
    let local = post(&server.url("/render"), &scene("logo.png"), &[]);
    assert_eq!(local.0, 200);
    let remote = post(
        &server.url("/render"),
        &scene(&origin.url("/logo.png")),
        &[],
    );
    assert_eq!(remote.0, 200, "{}", String::from_utf8_lossy(&remote.2));
    assert_eq!(remote.2, local.2, "same pixels from the same file");
    let hopped = post(&server.url("/render"), &scene(&origin.url("/hop")), &[]);
    assert_eq!(hopped.0, 200, "a redirect on the allowed host is followed");
    assert_eq!(hopped.2, local.2);
    // The ETag covers the fetched body: asking again with it is a 304.
    let etag = header(&remote, "etag").expect("an ETag").to_owned();
    let again = post(
        &server.url("/render"),
        &scene(&origin.url("/logo.png")),
        &[("if-none-match", &etag)],
    );
    assert_eq!(again.0, 304);
    assert_eq!(
        server.metric("impasto_remote_fetches_total{result=\"ok\"}"),
        3.0
    );
    // Fetched bodies are decoded as files are, and kept decoded by their
    // content: the local file once, the remote body (fetched twice) once.
    assert_eq!(server.metric("impasto_asset_cache_misses_total"), 2.0);
}

#[test]
fn a_host_not_on_the_list_is_400_naming_the_layer_and_field() {
    let origin = Origin::start();
    let server = server(&origin);
    let url = format!("http://localhost:{}/logo.png", origin.port);
    let answer = post(&server.url("/render"), &scene(&url), &[]);
    assert_eq!(answer.0, 400);
    let body = error_body(&answer);
    assert_eq!(body["layer"], 1);
    assert_eq!(body["field"], "src");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("not allowed")),
        "{body}"
    );
    assert_eq!(
        server.metric("impasto_remote_fetches_total{result=\"refused\"}"),
        1.0
    );
    assert_eq!(
        server.metric("impasto_rejections_total{reason=\"fetch_refused\"}"),
        1.0
    );
    // A URL longer than a request's may be: said so, with its length.
    let long = origin.url(&format!("/{}.png", "a".repeat(70_000)));
    let answer = post(&server.url("/render"), &scene(&long), &[]);
    assert_eq!(answer.0, 400);
    let message = error_body(&answer)["error"].as_str().unwrap().to_owned();
    assert!(
        message.contains("over the 65534 a request's URL may hold"),
        "{message}"
    );
    assert!(message.len() < 600, "{message}");
}

#[test]
fn without_allow_host_no_remote_image_is_fetched() {
    let origin = Origin::start();
    let server = Server::start(&[]);
    let answer = post(
        &server.url("/render"),
        &scene(&origin.url("/logo.png")),
        &[],
    );
    assert_eq!(answer.0, 400);
    let body = error_body(&answer);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("--allow-host")),
        "{body}"
    );
    assert_eq!(
        server.metric("impasto_remote_fetches_total{result=\"ok\"}"),
        0.0
    );
}

#[test]
fn a_redirect_to_a_host_not_on_the_list_is_refused() {
    let origin = Origin::start();
    let server = server(&origin);
    let answer = post(
        &server.url("/render"),
        &scene(&origin.url("/hop-away")),
        &[],
    );
    assert_eq!(answer.0, 400);
    let body = error_body(&answer);
    assert_eq!(body["field"], "src");
    let message = body["error"].as_str().expect("a message");
    assert!(
        message.contains("localhost") && message.contains("redirected from"),
        "{message}"
    );
}

/// A `Location` resolves as RFC 3986 resolves it: its dot segments
/// removed (they were sent as they were), one with a scheme of its own (a
/// `data:` URL) taken whole and refused, not fetched as a path; what fails
/// after a redirect is said of the URL it led to. A port that is no port
/// is refused, in `src` and in `--allow-host`, not read as port 80.
#[test]
fn redirects_resolve_dot_segments_and_a_port_that_is_no_port_is_refused() {
    let origin = Origin::start();
    let server = server(&origin);
    let local = post(&server.url("/render"), &scene("logo.png"), &[]);
    let dots = post(
        &server.url("/render"),
        &scene(&origin.url("/a/b/dots")),
        &[],
    );
    assert_eq!(dots.0, 200, "{}", String::from_utf8_lossy(&dots.2));
    assert_eq!(dots.2, local.2);
    let data = post(&server.url("/render"), &scene(&origin.url("/to-data")), &[]);
    assert_eq!(data.0, 400, "{}", String::from_utf8_lossy(&data.2));
    let message = error_body(&data)["error"].as_str().unwrap().to_owned();
    assert!(
        message.contains("is not an http or https URL (redirected from"),
        "{message}"
    );
    let missing = post(
        &server.url("/render"),
        &scene(&origin.url("/to-missing")),
        &[],
    );
    assert_eq!(missing.0, 502);
    let message = error_body(&missing)["error"].as_str().unwrap().to_owned();
    let led_to = origin.url("/missing.png");
    assert!(
        message.contains(&format!(
            "answered 404 Not Found (at \"{led_to}\", after 1 redirect)"
        )),
        "{message}"
    );
    let port = origin
        .url("/logo.png")
        .replace(&origin.port.to_string(), "84337");
    let bad_port = post(&server.url("/render"), &scene(&port), &[]);
    assert_eq!(bad_port.0, 400, "{}", String::from_utf8_lossy(&bad_port.2));
    let message = error_body(&bad_port)["error"].as_str().unwrap().to_owned();
    assert!(
        message.contains("has a port that is no number from 1 to 65535"),
        "{message}"
    );
    // A body encoded though no encoding was asked for: said so.
    let gzip = post(&server.url("/render"), &scene(&origin.url("/gzip")), &[]);
    assert_eq!(gzip.0, 400);
    let message = error_body(&gzip)["error"].as_str().unwrap().to_owned();
    assert!(
        message.contains("with Content-Encoding \"gzip\", which impasto did not ask for"),
        "{message}"
    );
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_impasto"))
        .args(["serve", "--allow-host", "127.0.0.1:84337"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("the port must be a number from 1 to 65535"),
        "{stderr}"
    );
}

#[test]
fn endless_redirects_are_cut_off() {
    let origin = Origin::start();
    let server = server(&origin);
    let answer = post(&server.url("/render"), &scene(&origin.url("/loop")), &[]);
    assert_eq!(answer.0, 502);
    assert!(error_body(&answer)["error"]
        .as_str()
        .is_some_and(|e| e.contains("redirects")));
}

#[test]
fn a_body_over_the_image_file_limit_is_refused() {
    let origin = Origin::start();
    let server = server(&origin);
    let answer = post(&server.url("/render"), &scene(&origin.url("/big")), &[]);
    assert_eq!(answer.0, 400);
    let message = error_body(&answer)["error"]
        .as_str()
        .expect("a message")
        .to_owned();
    assert!(message.contains("100000 bytes"), "{message}");
}

#[test]
fn a_silent_host_times_out_with_502() {
    let origin = Origin::start();
    let server = server(&origin);
    let answer = post(&server.url("/render"), &scene(&origin.url("/slow")), &[]);
    assert_eq!(answer.0, 502);
    let message = error_body(&answer)["error"]
        .as_str()
        .expect("a message")
        .to_owned();
    assert!(message.contains("timed out"), "{message}");
    assert_eq!(
        server.metric("impasto_remote_fetches_total{result=\"failed\"}"),
        1.0
    );
    // The request's slot was given back.
    assert_eq!(server.metric("impasto_queue_depth"), 0.0);
    // The request's deadline first: 504, naming the image being fetched.
    let answer = post(
        &server.url("/render"),
        &scene(&origin.url("/slow")),
        &[("x-impasto-timeout-ms", "300")],
    );
    assert_eq!(answer.0, 504);
    let body = error_body(&answer);
    assert_eq!((&body["layer"], &body["field"]), (&1.into(), &"src".into()));
    let message = body["error"].as_str().unwrap();
    assert!(
        message.contains(&format!(
            "within 300 ms: layer 1 (image): \"{}\" was still being fetched",
            origin.url("/slow")
        )),
        "{message}"
    );
}

#[test]
fn a_body_that_is_no_image_is_counted_refused_and_an_image_over_the_memory_budget_is_413() {
    let origin = Origin::start();
    let server = server(&origin);
    let answer = post(&server.url("/render"), &scene(&origin.url("/text")), &[]);
    assert_eq!(answer.0, 400, "{}", String::from_utf8_lossy(&answer.2));
    assert_eq!(
        server.metric("impasto_remote_fetches_total{result=\"ok\"}"),
        0.0
    );
    assert_eq!(
        server.metric("impasto_remote_fetches_total{result=\"refused\"}"),
        1.0
    );
    // Its bytes were received, whole: counted.
    assert_eq!(
        server.metric("impasto_remote_fetched_bytes_total"),
        b"not an image".len() as f64
    );
    // The 256x256 logo is 256 KiB decoded: with the 120x80 canvas, over a
    // 300 KB budget, refused from its header.
    let small = Server::start(&["--allow-host", &origin.allow(), "--memory-budget", "300000"]);
    let answer = post(&small.url("/render"), &scene(&origin.url("/logo.png")), &[]);
    assert_eq!(answer.0, 413, "{}", String::from_utf8_lossy(&answer.2));
    let body = error_body(&answer);
    assert_eq!(
        (body["layer"].as_u64(), body["field"].as_str()),
        (Some(1), Some("src")),
        "{body}"
    );
    assert_eq!(
        small.metric("impasto_rejections_total{reason=\"over_memory_budget\"}"),
        1.0
    );
    assert_eq!(
        small.metric("impasto_remote_fetches_total{result=\"ok\"}"),
        0.0
    );
    assert_eq!(
        small.metric("impasto_remote_fetches_total{result=\"refused\"}"),
        1.0,
        "an image over the budget is a refused fetch"
    );
    // Over the pixel limit: bad input (400) as for a local file, whatever
    // the memory budget says.
    let few = Server::start(&[
        "--allow-host",
        &origin.allow(),
        "--memory-budget",
        "300000",
        "--max-image-pixels",
        "1000",
    ]);
    let answer = post(&few.url("/render"), &scene(&origin.url("/logo.png")), &[]);
    assert_eq!(answer.0, 400, "{}", String::from_utf8_lossy(&answer.2));
    let body = error_body(&answer);
    let message = body["error"].as_str().unwrap_or_default();
    assert!(message.contains("over the limit of 1000 pixels"), "{body}");
    assert_eq!(
        few.metric("impasto_remote_fetches_total{result=\"refused\"}"),
        1.0
    );
}

#[test]
fn a_remote_image_refused_through_a_template_variable_names_it_and_hides_credentials() {
    let origin = Origin::start();
    let templates = tempfile::tempdir().expect("a temporary folder");
    std::fs::write(
        templates.path().join("card.json"),
        r##"{ "variables": { "photo": { "type": "string", "required": true } },
              "width": 64, "height": 64,
              "layers": [ { "type": "image", "src": "{{photo}}", "width": 64, "height": 64 } ] }"##,
    )
    .expect("the template");
    let server = Server::start(&[
        "--templates",
        templates.path().to_str().expect("utf-8"),
        "--allow-host",
        &origin.allow(),
    ]);
    let other = format!("http://localhost:{}/logo.png", origin.port);
    let answer = post(
        &server.url("/templates/card"),
        &serde_json::json!({ "photo": other }).to_string(),
        &[],
    );
    assert_eq!(answer.0, 400);
    let body = error_body(&answer);
    assert_eq!(body["variable"], "photo", "{body}");
    assert_eq!(
        (body["layer"].as_u64(), body["field"].as_str()),
        (Some(0), Some("src"))
    );
    let secret = origin
        .url("/logo.png")
        .replace("http://", "http://user:s3cret@");
    let answer = post(
        &server.url("/templates/card"),
        &serde_json::json!({ "photo": secret }).to_string(),
        &[],
    );
    assert_eq!(answer.0, 400);
    let body = error_body(&answer);
    let error = body["error"].as_str().expect("a message");
    assert!(
        error.contains("user names and passwords in URLs are refused"),
        "{error}"
    );
    assert!(
        !error.contains("s3cret") && error.contains("***@"),
        "{error}"
    );
}

/// A host on 127.0.0.1 that reads what it is sent and then either answers
/// `answer` and closes, or closes with no answer: not TLS, whatever is asked.
fn plain_host(answer: Option<&'static [u8]>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind host");
    let port = listener.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut hello = [0u8; 4096];
            let _ = std::io::Read::read(&mut stream, &mut hello);
            if let Some(answer) = answer {
                let _ = stream.write_all(answer);
            }
        }
    });
    port
}

#[test]
fn an_https_url_to_a_host_without_tls_says_so_rather_than_io_end_of_file() {
    let answering = plain_host(Some(b"HTTP/1.0 400 Bad Request\r\n\r\nbad request"));
    let closing = plain_host(None);
    let server = Server::start(&[
        "--allow-host",
        &format!("127.0.0.1:{answering}"),
        "--allow-host",
        &format!("127.0.0.1:{closing}"),
    ]);
    let message = |port: u16, scheme: &str| {
        let src = format!("{scheme}://127.0.0.1:{port}/logo.png");
        let answer = post(&server.url("/render"), &scene(&src), &[]);
        assert_eq!(answer.0, 502, "{}", String::from_utf8_lossy(&answer.2));
        error_body(&answer)["error"]
            .as_str()
            .expect("a message")
            .to_owned()
    };
    let said = message(answering, "https");
    assert!(
        said.contains("did not answer in TLS (it may serve plain HTTP on this port"),
        "{said}"
    );
    let said = message(closing, "https");
    assert!(
        said.contains("closed the connection before answering (during or after the TLS handshake"),
        "{said}"
    );
    let said = message(closing, "http");
    assert!(
        said.ends_with("the host closed the connection before answering"),
        "{said}"
    );
}
