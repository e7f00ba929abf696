//! `impasto serve` against clients that stall or ask for what is not
//! there: a client that does not send its headers within `--read-timeout`
//! is disconnected, a body that does not arrive is 408, a body declared
//! over `--max-body` is 413 before any of it is sent (no `100 Continue`),
//! a client gone mid-body is counted as gone, not as an answered 400,
//! unknown paths and methods are JSON 404 and 405 counted with a reason,
//! a drain that only stalled clients outlast exits 0 while one that cuts
//! off an image going out to a slow reader exits 1, and a timeout header
//! too large for a number is capped by `--timeout`.

mod serve_common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use serve_common::{agent, answer, connect, get, read_to_close, Server};

#[test]
fn a_client_that_stalls_in_its_headers_is_disconnected_and_one_in_its_body_gets_408() {
    let server = Server::start(&["--read-timeout", "1"]);
    let mut headers = connect(&server);
    headers
        .write_all(b"POST /render HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let said = read_to_close(&mut headers);
    assert!(!said.contains("200 OK"), "{said}");
    let mut body = connect(&server);
    body.write_all(
        b"POST /render HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"width\"",
    )
    .unwrap();
    let said = read_to_close(&mut body);
    assert!(said.starts_with("HTTP/1.1 408"), "{said}");
    assert!(said.contains("--read-timeout"), "{said}");
    assert_eq!(
        server.metric("impasto_rejections_total{reason=\"slow_body\"}"),
        1.0
    );
}

#[test]
fn a_client_gone_mid_body_is_counted_client_gone_not_as_an_answered_400() {
    let server = Server::start(&[]);
    let mut half = connect(&server);
    half.write_all(
        b"POST /render HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"width\"",
    )
    .unwrap();
    drop(half);
    server.wait_for("impasto_rejections_total{reason=\"client_gone\"}", 1.0);
    assert_eq!(
        server.metric("impasto_rejections_total{reason=\"bad_request\"}"),
        0.0
    );
    // No answer went out: none is counted by status.
    let metrics = String::from_utf8(get(&server.url("/metrics")).2).unwrap();
    assert!(!metrics.contains("status=\"400\"} 1"), "{metrics}");
}

#[test]
fn a_body_declared_over_max_body_is_413_before_it_is_sent() {
    let server = Server::start(&["--max-body", "1000"]);
    let mut stream = connect(&server);
    stream
        .write_all(
            b"POST /render HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
    let said = read_to_close(&mut stream);
    assert!(said.starts_with("HTTP/1.1 413"), "{said}");
    assert!(!said.contains("100 Continue"), "{said}");
    assert!(said.contains("--max-body"), "{said}");
}

#[test]
fn unknown_paths_and_methods_are_json_404_and_405_counted_with_a_reason() {
    let server = Server::start(&[]);
    let missing = get(&server.url("/nothing/here"));
    assert_eq!(missing.0, 404);
    let body: serde_json::Value = serde_json::from_slice(&missing.2).expect("JSON");
    assert!(
        body["error"].as_str().unwrap().contains("/nothing/here"),
        "{body}"
    );
    let wrong = answer(agent().delete(&server.url("/render")).call());
    assert_eq!(wrong.0, 405);
    let body: serde_json::Value = serde_json::from_slice(&wrong.2).expect("JSON");
    assert!(body["error"].as_str().unwrap().contains("DELETE"), "{body}");
    assert_eq!(
        server.metric("impasto_rejections_total{reason=\"not_found\"}"),
        1.0
    );
    assert_eq!(
        server.metric("impasto_rejections_total{reason=\"method_not_allowed\"}"),
        1.0
    );
}

/// Sends SIGTERM to the server and waits for it: its exit status.
#[cfg(unix)]
fn terminate(server: &mut Server) -> std::process::ExitStatus {
    signal(server, "TERM")
}

/// Sends signal `name` (`TERM`, `HUP`...) to the server and waits for it:
/// its exit status.
#[cfg(unix)]
fn signal(server: &mut Server, name: &str) -> std::process::ExitStatus {
    let killed = Command::new("kill")
        .args([&format!("-{name}"), &server.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    server.child.wait().expect("the server exits")
}

/// A signal the server was started ignoring stays ignored, SIGINT too (a
/// shell's background job ignores it: ctrl-c in the terminal stopped an
/// `impasto serve &`); SIGTERM still drains it.
#[cfg(unix)]
#[test]
fn sigint_ignored_at_start_stays_ignored() {
    use std::io::BufRead as _;
    let mut child = Command::new("bash")
        .args([
            "-c",
            "trap '' INT; exec \"$0\" serve --listen 127.0.0.1:0 --backend cpu --no-system-fonts",
            serve_common::BIN,
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("bash runs");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("piped"))
        .read_line(&mut line)
        .expect("the address line");
    let base = line
        .trim()
        .rsplit(' ')
        .next()
        .expect("an address")
        .to_owned();
    let mut server = Server { child, base };
    let id = server.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &id])
        .status()
        .unwrap()
        .success());
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "SIGINT ended it"
    );
    assert_eq!(get(&server.url("/healthz")).0, 200);
    let status = signal(&mut server, "TERM");
    assert_eq!(status.code(), Some(0), "{status:?}");
}

/// Signals whose default would end the process at once (a closed
/// terminal's SIGHUP) drain it as SIGTERM does: exit 0, not death by the
/// signal with every request cut off.
#[cfg(unix)]
#[test]
fn sighup_sigquit_and_sigusr1_drain_the_server_like_sigterm() {
    for name in ["HUP", "QUIT", "USR1", "XCPU", "PROF"] {
        let mut server = Server::start(&["--grace", "1"]);
        assert_eq!(get(&server.url("/healthz")).0, 200);
        let status = signal(&mut server, name);
        assert_eq!(status.code(), Some(0), "SIG{name}: {status:?}");
    }
}

#[cfg(unix)]
#[test]
fn a_drain_outlasted_only_by_stalled_and_idle_clients_exits_0() {
    // Headers are not cut off during the grace period here (an hour's
    // read timeout): the stalled client is still connected when it ends.
    let mut server = Server::start(&["--read-timeout", "3600", "--grace", "1"]);
    let mut stalled = connect(&server);
    stalled.write_all(b"POST /render HTTP/1.1\r\n").unwrap();
    let idle = connect(&server);
    assert_eq!(get(&server.url("/healthz")).0, 200);
    let status = terminate(&mut server);
    assert_eq!(status.code(), Some(0));
    drop((stalled, idle));
}

#[cfg(unix)]
#[test]
fn a_request_whose_body_was_arriving_when_the_drain_began_is_answered() {
    let mut server = Server::start(&["--grace", "30"]);
    let scene = r##"{ "width": 8, "height": 8, "background": "#336699" }"##;
    let (head, rest) = scene.split_at(10);
    let mut stream = connect(&server);
    write!(
        stream,
        "POST /render HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{head}",
        scene.len()
    )
    .unwrap();
    // Its handler has started: its body's bytes are reserved.
    server.wait_for("impasto_reserved_render_bytes", 1024.0);
    let killed = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    stream.write_all(rest.as_bytes()).unwrap();
    let said = read_to_close(&mut stream);
    assert!(said.starts_with("HTTP/1.1 200"), "{said}");
    let status = server.child.wait().expect("the server exits");
    assert_eq!(status.code(), Some(0));
}

/// Sends a POST of `scene` to `/render` by hand, the connection kept open
/// (or to be closed after the answer, with `close`): the connection.
fn post_by_hand(server: &Server, scene: &str, close: bool) -> TcpStream {
    let mut stream = connect(server);
    let connection = if close { "Connection: close\r\n" } else { "" };
    write!(
        stream,
        "POST /render HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{connection}\r\n{scene}",
        scene.len()
    )
    .unwrap();
    stream
}

/// An answer's head (status line and headers), its Content-Length, and how
/// many bytes of body came after the head in `got`.
fn head_and_length(got: &[u8]) -> (String, usize, usize) {
    let text = String::from_utf8_lossy(&got[..got.len().min(4096)]).into_owned();
    let (head, _) = text.split_once("\r\n\r\n").expect("the answer's headers");
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length: ")
                .map(str::to_owned)
        })
        .and_then(|n| n.trim().parse().ok())
        .expect("a content-length");
    let body = got.len() - head.len() - 4;
    (head.to_owned(), length, body)
}

/// Asks for a 4000 x 4000 photo as PNG (tens of MB, far more than the
/// socket buffers hold while the client reads nothing); the connection.
fn ask_for_a_large_image(server: &Server) -> TcpStream {
    let scene = r#"{"width": 4000, "height": 4000, "layers": [{"type": "image", "src": "coffee.jpg", "fit": "fill"}]}"#;
    post_by_hand(server, scene, false)
}

#[cfg(unix)]
#[test]
fn a_drain_that_cuts_off_an_image_going_out_to_a_slow_reader_exits_1() {
    let poster = serve_common::poster_dir();
    let mut server = Server::start(&["--assets", poster.to_str().unwrap(), "--grace", "1"]);
    let reader = ask_for_a_large_image(&server);
    server.wait_for("impasto_render_seconds_count", 1.0);
    let status = terminate(&mut server);
    assert_eq!(status.code(), Some(1), "the image was not all written");
    drop(reader);
}

#[cfg(unix)]
#[test]
fn a_drain_in_which_the_write_timeout_cuts_off_an_answer_exits_1() {
    let poster = serve_common::poster_dir();
    let mut server = Server::start(&[
        "--assets",
        poster.to_str().unwrap(),
        "--grace",
        "60",
        "--write-timeout",
        "3",
    ]);
    let reader = ask_for_a_large_image(&server);
    server.wait_for("impasto_render_seconds_count", 1.0);
    // Draining starts at once; the answer is cut off three seconds after
    // its last progress, well within the grace period, which then ends.
    let status = terminate(&mut server);
    assert_eq!(status.code(), Some(1), "the image was not all written");
    drop(reader);
}

#[test]
fn an_answer_left_unread_holds_its_bytes_of_the_budget_until_the_write_timeout_closes_it() {
    let poster = serve_common::poster_dir();
    let server = Server::start(&["--assets", poster.to_str().unwrap(), "--write-timeout", "1"]);
    let mut reader = ask_for_a_large_image(&server);
    server.wait_for("impasto_render_seconds_count", 1.0);
    // The render is over (no worker held); the answer's bytes are not.
    let held = server.metric("impasto_reserved_render_bytes");
    assert!(held > 1e6, "reserved while unread: {held}");
    assert_eq!(server.metric("impasto_renders_in_flight"), 0.0);
    // Closed after a second without progress, and counted.
    server.wait_for("impasto_rejections_total{reason=\"slow_reader\"}", 1.0);
    server.wait_for("impasto_reserved_render_bytes", 0.0);
    let mut got = Vec::new();
    let _ = reader.read_to_end(&mut got);
    let (_, length, body) = head_and_length(&got);
    assert!(
        body < length,
        "closed before the whole image: {body} of {length} bytes"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_client_reading_slowly_but_steadily_is_not_cut_off_by_the_write_timeout() {
    // Noise, so that the PNG stays about 9 MB: far more than the socket
    // buffers, which the kernel grows to megabytes.
    let dir = tempfile::tempdir().unwrap();
    let mut state = 0x2545_F491u32;
    let noise = image::RgbaImage::from_fn(1500, 1500, |_, _| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        image::Rgba(state.to_le_bytes())
    });
    noise.save(dir.path().join("noise.png")).unwrap();
    let server = Server::start(&[
        "--assets",
        dir.path().to_str().unwrap(),
        "--write-timeout",
        "1",
    ]);
    let scene =
        r#"{"width": 1500, "height": 1500, "layers": [{"type": "image", "src": "noise.png"}]}"#;
    let mut reader = post_by_hand(&server, scene, true);
    // About 500 KB/s, a byte taken every few milliseconds: without a low
    // limit on unsent bytes, the kernel let no write through for over a
    // second at a time, and the answer was cut off.
    let mut got = Vec::new();
    let mut buf = vec![0u8; 16 << 10];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("reading the answer: {e}"),
        }
        std::thread::sleep(Duration::from_millis(30));
    }
    let (head, length, body) = head_and_length(&got);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(length > 8_000_000, "a large answer: {length}");
    assert_eq!(body, length, "the whole image");
    assert_eq!(
        server.metric("impasto_rejections_total{reason=\"slow_reader\"}"),
        0.0
    );
}

#[test]
fn requests_hyper_refuses_before_any_handler_are_counted_with_their_status() {
    let server = Server::start(&[]);
    let mut garbled = connect(&server);
    garbled.write_all(b"NOT A REQUEST LINE\r\n\r\n").unwrap();
    let said = read_to_close(&mut garbled);
    assert!(said.starts_with("HTTP/1.1 400"), "{said}");
    let mut crowded = connect(&server);
    let mut head = String::from("GET /healthz HTTP/1.1\r\nHost: x\r\n");
    for i in 0..200 {
        head.push_str(&format!("X-Filler-{i}: {i}\r\n"));
    }
    head.push_str("\r\n");
    crowded.write_all(head.as_bytes()).unwrap();
    let said = read_to_close(&mut crowded);
    assert!(said.starts_with("HTTP/1.1 431"), "{said}");
    server.wait_for("impasto_http_requests_total{status=\"400\"}", 1.0);
    server.wait_for("impasto_http_requests_total{status=\"431\"}", 1.0);
    assert_eq!(
        server.metric("impasto_rejections_total{reason=\"bad_request\"}"),
        2.0
    );
}

#[test]
fn a_connection_past_max_connections_gets_503_and_is_counted_and_a_head_over_max_header_bytes_431()
{
    // Connections, and the heads they send, held no limit: 3,000 clients
    // sending 300 KB of headers each held 1.6 GB, outside every budget.
    let server = Server::start(&["--max-connections", "2", "--max-header-bytes", "8192"]);
    let held: Vec<TcpStream> = (0..2).map(|_| connect(&server)).collect();
    let mut past = connect(&server);
    let said = read_to_close(&mut past);
    assert!(said.starts_with("HTTP/1.1 503"), "{said}");
    assert!(said.contains("retry-after: 1"), "{said}");
    // Dated like every other answer (RFC 9110, 6.6.1).
    let date = said
        .lines()
        .find_map(|l| l.strip_prefix("date: "))
        .unwrap_or_else(|| panic!("no date: {said}"));
    assert!(date.ends_with(" GMT") && date.len() == 29, "{date}");
    assert!(said.contains("--max-connections"), "{said}");
    drop(held);
    // The held connections' ends are seen by the server in a moment; until
    // then a scrape may be refused too.
    let metrics = (0..600)
        .find_map(|_| {
            let (status, _, body) = get(&server.url("/metrics"));
            if status == 200 {
                return Some(String::from_utf8(body).expect("text"));
            }
            std::thread::sleep(Duration::from_millis(100));
            None
        })
        .expect("the server answers once connections are free");
    // Scrapes refused while the held connections closed count too.
    let refused: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("impasto_rejections_total{reason=\"too_many_connections\"} "))
        .expect("the series")
        .parse()
        .expect("a number");
    assert!(refused >= 1.0, "{metrics}");
    assert!(metrics.contains("impasto_connections_max 2"), "{metrics}");
    // A head of 9,000 bytes, over the 8,192 allowed.
    let mut big = connect(&server);
    let head = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: {}\r\n\r\n",
        "a".repeat(9000)
    );
    big.write_all(head.as_bytes()).unwrap();
    let said = read_to_close(&mut big);
    assert!(said.starts_with("HTTP/1.1 431"), "{said}");
}

#[test]
fn a_client_that_leaves_mid_render_has_its_render_cancelled_and_counted() {
    let poster = serve_common::poster_dir();
    let server = Server::start(&["--assets", poster.to_str().unwrap(), "--timeout", "600"]);
    // Minutes of work (forty layers took 4.5 s on a 2-core machine): were
    // the render not cancelled, the counts below would not be reached
    // within `wait_for`'s minute.
    let layer = r#"{"type": "image", "src": "coffee.jpg", "fit": "fill", "opacity": 0.5}"#;
    let layers = vec![layer; 2000].join(",");
    let scene = format!(r#"{{"width": 5000, "height": 5000, "layers": [{layers}]}}"#);
    let stream = post_by_hand(&server, &scene, false);
    server.wait_for("impasto_renders_in_flight", 1.0);
    drop(stream);
    server.wait_for("impasto_rejections_total{reason=\"client_gone\"}", 1.0);
    server.wait_for("impasto_renders_in_flight", 0.0);
    server.wait_for("impasto_reserved_render_bytes", 0.0);
}

#[test]
fn a_timeout_header_past_what_u64_holds_is_capped_by_timeout_and_a_non_number_is_400() {
    let server = Server::start(&[]);
    let scene = r##"{ "width": 8, "height": 8, "background": "#fff" }"##;
    let url = server.url("/render");
    let huge = serve_common::post(
        &url,
        scene,
        &[("x-impasto-timeout-ms", "99999999999999999999999")],
    );
    assert_eq!(huge.0, 200, "{}", String::from_utf8_lossy(&huge.2));
    for bad in ["x", "-5", "0", "1.5"] {
        let answer = serve_common::post(&url, scene, &[("x-impasto-timeout-ms", bad)]);
        assert_eq!(answer.0, 400, "{bad}");
    }
}

/// An HTTP/1.1 request without Host is 400 (RFC 9112, 3.2: "MUST");
/// HTTP/1.0 has none to give. A CONNECT's target is named in its 404.
#[test]
fn a_request_without_host_is_400_and_connect_names_its_target() {
    let server = Server::start(&[]);
    for (request, status) in [
        ("GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n", "400"),
        ("GET /healthz HTTP/1.0\r\n\r\n", "200"),
        (
            "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n",
            "400",
        ),
        (
            "GET /healthz HTTP/1.1\r\nHost: a/b\r\nConnection: close\r\n\r\n",
            "400",
        ),
        (
            "GET /healthz HTTP/1.1\r\nHost: [::1]:80\r\nConnection: close\r\n\r\n",
            "200",
        ),
    ] {
        let mut stream = connect(&server);
        stream.write_all(request.as_bytes()).unwrap();
        let said = read_to_close(&mut stream);
        assert!(said.starts_with("HTTP/1."), "{said}");
        assert_eq!(&said[9..12], status, "{request:?}: {said}");
        if status == "400" {
            assert!(said.contains("must carry one Host header"), "{said}");
        }
    }
    let mut stream = connect(&server);
    stream
        .write_all(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nConnection: close\r\n\r\n")
        .unwrap();
    let said = read_to_close(&mut stream);
    assert!(
        said.contains("no endpoint CONNECT example.com:443 "),
        "{said}"
    );
}

#[test]
fn a_compressed_request_body_is_415_before_it_is_read() {
    let server = Server::start(&[]);
    let mut gz = connect(&server);
    // Declared and not sent: the answer comes from the headers.
    gz.write_all(
        b"POST /render HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: 50\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let said = read_to_close(&mut gz);
    assert!(said.starts_with("HTTP/1.1 415"), "{said}");
    assert!(said.contains("Content-Encoding \\\"gzip\\\""), "{said}");
    assert_eq!(
        server.metric("impasto_rejections_total{reason=\"bad_request\"}"),
        1.0
    );
    // identity is no coding: the body is read as it is.
    let plain = serve_common::post(
        &server.url("/render"),
        r#"{"width": 8, "height": 8, "layers": []}"#,
        &[("content-encoding", "identity")],
    );
    assert_eq!(plain.0, 200, "{}", String::from_utf8_lossy(&plain.2));
    // A transfer coding other than chunked: 501 (its bytes were read as
    // the body, gzip and all); chunked alone is read.
    for (coding, status) in [("gzip, chunked", "501"), ("chunked", "200")] {
        let mut stream = connect(&server);
        let body = r#"{"width": 8, "height": 8, "layers": []}"#;
        write!(
            stream,
            "POST /render HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: {coding}\r\nConnection: close\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
            body.len()
        )
        .unwrap();
        let said = read_to_close(&mut stream);
        assert!(
            said.starts_with(&format!("HTTP/1.1 {status}")),
            "{coding}: {said}"
        );
    }
    // An expectation other than 100-continue: 417, before the body is
    // read (it was ignored); 100-continue is met, in any case.
    // A list (even of 100-continue alone) is not met by hyper, which left
    // its client waiting for a 100 until --read-timeout: 417 too.
    for (expect, status) in [
        ("200-ok", "417"),
        ("100-continue, 100-continue", "417"),
        ("100-Continue", "200"),
    ] {
        let mut stream = connect(&server);
        let body = r#"{"width": 8, "height": 8, "layers": []}"#;
        write!(
            stream,
            "POST /render HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: {expect}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let said = read_to_close(&mut stream);
        assert!(
            said.contains(&format!("HTTP/1.1 {status}")),
            "{expect}: {said}"
        );
        if status == "417" {
            assert!(said.starts_with("HTTP/1.1 417"), "{said}");
            assert!(said.contains(&format!("Expect \\\"{expect}\\\"")), "{said}");
            // The body is not read: the connection closes, and says so.
            assert!(said.contains("connection: close"), "{said}");
        }
    }
}
