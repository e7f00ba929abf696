//! `impasto serve` end to end: the built binary on 127.0.0.1 port 0, a
//! plain HTTP client (ureq), every server stopped by the test that started it.
//!
//! Over 600 lines on purpose: the endpoints' contract (formats, caching,
//! HEAD, templates, signed and expiring URLs, errors, metrics, shutdown),
//! one test each, kept together so a change to an answer is checked beside
//! the others; stalled clients, remote images and load have files of their own.

mod serve_common;

use std::process::Command;
use std::time::Duration;

use serve_common::{agent, answer, get, header, post, poster_dir, Answer, Server, BIN};

/// A small scene with an image from examples/poster, no text.
const SMALL: &str = r##"{ "width": 200, "height": 120, "background": "#f4efe6",
  "layers": [
    { "type": "image", "src": "logo.png", "x": 10, "y": 10, "width": 100, "height": 100, "fit": "contain" },
    { "type": "linear-gradient", "x": 100, "width": 100, "angle": 90,
      "stops": [ { "offset": 0, "color": "#e4572e" }, { "offset": 1, "color": "#f3a712" } ] },
    { "type": "rect", "x": 20, "y": 80, "width": 160, "height": 30, "corner_radius": 12, "rotate": 7, "color": "#1d1d1fcc" }
  ] }"##;

/// A scene that keeps a worker busy for a while (large, many blended,
/// rotated gradients).
fn heavy_scene(layers: usize) -> String {
    let layer = r##"{ "type": "radial-gradient", "rotate": 13, "corner_radius": 300, "blend": "soft-light", "opacity": 0.7,
      "stops": [ { "offset": 0, "color": "#ffd27a90" }, { "offset": 1, "color": "#2e57e400" } ] }"##;
    let layers = vec![layer; layers].join(",");
    format!(r#"{{ "width": 4096, "height": 4096, "blend_space": "linear", "layers": [{layers}] }}"#)
}

#[test]
fn render_returns_the_same_png_as_impasto_render() {
    let dir = tempfile::tempdir().expect("temp dir");
    let scene = dir.path().join("scene.json");
    let out = dir.path().join("cli.png");
    std::fs::write(&scene, SMALL).expect("write scene");
    let assets = poster_dir();
    let status = Command::new(BIN)
        .arg("render")
        .arg(&scene)
        .arg("-o")
        .arg(&out)
        .args(["--backend", "cpu", "--no-system-fonts", "--assets"])
        .arg(&assets)
        .status()
        .expect("impasto render runs");
    assert!(status.success());
    let server = Server::start(&["--assets", assets.to_str().expect("utf-8 path")]);
    let answer = post(&server.url("/render"), SMALL, &[]);
    assert_eq!(answer.0, 200, "{}", String::from_utf8_lossy(&answer.2));
    assert_eq!(header(&answer, "content-type"), Some("image/png"));
    assert_eq!(answer.2, std::fs::read(&out).expect("cli output"));
}

#[test]
fn format_comes_from_the_query_or_accept() {
    let server = Server::start(&["--assets", poster_dir().to_str().expect("utf-8")]);
    let jpeg = post(&server.url("/render?format=jpg&quality=70"), SMALL, &[]);
    assert_eq!(header(&jpeg, "content-type"), Some("image/jpeg"));
    assert_eq!(&jpeg.2[..2], &[0xff, 0xd8]);
    let webp = post(
        &server.url("/render"),
        SMALL,
        &[("accept", "image/avif, image/webp;q=0.9")],
    );
    // A type with q=0 is not acceptable: passed over.
    let not_png = post(
        &server.url("/render"),
        SMALL,
        &[("accept", "image/png;q=0, image/jpeg")],
    );
    assert_eq!(header(&not_png, "content-type"), Some("image/jpeg"));
    // Refused and nothing else named: not the refused PNG, the next format
    // not refused; every one refused (a wildcard): 406.
    let accept = |value: &str| post(&server.url("/render"), SMALL, &[("accept", value)]);
    assert_eq!(
        header(&accept("image/png;q=0"), "content-type"),
        Some("image/jpeg")
    );
    assert_eq!(
        header(&accept("image/webp;q=0, image/*"), "content-type"),
        Some("image/png")
    );
    for none in [
        "*/*;q=0",
        "image/*;q=0",
        "image/png;q=0, image/jpeg;q=0, image/webp;q=0",
    ] {
        let refused = accept(none);
        assert_eq!(refused.0, 406, "{none}");
        assert!(String::from_utf8_lossy(&refused.2).contains("refuses (q=0) every format"));
    }
    // image/avif in Accept is passed over (AVIF takes seconds per card);
    // named in the query it is written.
    assert_eq!(header(&webp, "content-type"), Some("image/webp"));
    // Chosen by Accept: caches are told so; named in the query: not.
    assert_eq!(header(&webp, "vary"), Some("accept"));
    assert_eq!(header(&jpeg, "vary"), None);
    let avif = post(&server.url("/render?format=avif&quality=50"), SMALL, &[]);
    assert_eq!(avif.0, 200, "{}", String::from_utf8_lossy(&avif.2));
    assert_eq!(header(&avif, "content-type"), Some("image/avif"));
    assert_eq!(&avif.2[4..12], b"ftypavif");
    let bad = post(&server.url("/render?format=gif"), SMALL, &[]);
    assert_eq!(bad.0, 400);
    // A misspelt parameter is refused, not ignored (the default format
    // answered `?fromat=webp`).
    let misspelt = post(&server.url("/render?fromat=webp"), SMALL, &[]);
    assert_eq!(misspelt.0, 400);
    let body = String::from_utf8_lossy(&misspelt.2);
    assert!(
        body.contains("unknown query parameter") && body.contains("fromat"),
        "{body}"
    );
    // A refused parameter is named in `field`, the answer not to be kept
    // by caches; a quality with a sign or a leading zero is refused (one
    // image under several URLs).
    for (query, field) in [
        ("fromat=webp", "fromat"),
        ("format=gif", "format"),
        ("quality=+50", "quality"),
        ("quality=050", "quality"),
        ("quality=5&quality=50", "quality"),
    ] {
        let answer = post(&server.url(&format!("/render?{query}")), SMALL, &[]);
        assert_eq!(answer.0, 400, "{query}");
        let body: serde_json::Value = serde_json::from_slice(&answer.2).unwrap();
        assert_eq!(body["field"], field, "{query}: {body}");
        assert_eq!(body["location"], "request", "{query}: {body}");
        assert_eq!(
            header(&answer, "cache-control"),
            Some("no-store"),
            "{query}"
        );
    }
    // The weight's name in any case; a weight that is none refuses its type.
    for accept in ["image/png;Q=0, image/jpeg", "image/png;q=abc, image/jpeg"] {
        let answer = post(&server.url("/render"), SMALL, &[("accept", accept)]);
        assert_eq!(
            header(&answer, "content-type"),
            Some("image/jpeg"),
            "{accept}"
        );
    }
}

#[test]
fn etag_is_stable_and_if_none_match_answers_304() {
    let server = Server::start(&["--assets", poster_dir().to_str().expect("utf-8")]);
    let first = post(&server.url("/render"), SMALL, &[]);
    let second = post(&server.url("/render"), SMALL, &[]);
    let etag = header(&first, "etag").expect("an ETag").to_owned();
    assert!(
        etag.starts_with('"') && !etag.starts_with("W/"),
        "strong: {etag}"
    );
    assert_eq!(header(&second, "etag"), Some(etag.as_str()));
    assert!(header(&first, "cache-control").is_some_and(|c| c.contains("max-age")));
    let cached = post(&server.url("/render"), SMALL, &[("if-none-match", &etag)]);
    assert_eq!(cached.0, 304);
    assert!(cached.2.is_empty());
    assert_eq!(server.metric("impasto_not_modified_total"), 1.0);
    let other_format = post(&server.url("/render?format=webp"), SMALL, &[]);
    assert_ne!(header(&other_format, "etag"), Some(etag.as_str()));
}

#[test]
fn if_none_match_star_is_304_only_for_a_scene_that_renders() {
    let server = Server::start(&["--assets", poster_dir().to_str().expect("utf-8")]);
    let star = [("if-none-match", "*")];
    let cached = post(&server.url("/render"), SMALL, &star);
    assert_eq!(cached.0, 304, "a representation exists");
    assert!(header(&cached, "etag").is_some());
    let missing =
        r#"{ "width": 8, "height": 8, "layers": [ { "type": "image", "src": "nowhere.png" } ] }"#;
    let refused = post(&server.url("/render"), missing, &star);
    assert_eq!(
        refused.0,
        400,
        "no 304 for a scene that cannot render: {}",
        String::from_utf8_lossy(&refused.2)
    );
    assert_eq!(server.metric("impasto_not_modified_total"), 1.0);
}

#[test]
fn bad_scene_is_400_naming_the_layer_and_field() {
    let server = Server::start(&[]);
    let scene = r##"{ "width": 10, "height": 10, "layers": [
        { "type": "rect", "color": "#fff" }, { "type": "rect", "color": "not a colour" } ] }"##;
    let answer = post(&server.url("/render"), scene, &[]);
    assert_eq!(answer.0, 400);
    let body: serde_json::Value = serde_json::from_slice(&answer.2).expect("JSON body");
    assert_eq!(body["layer"], 1);
    assert_eq!(body["field"], "color");
    assert_eq!(body["location"], "layer");
    let message = body["error"].as_str().expect("a message");
    assert!(
        message.starts_with("layer 1 (rect): field \"color\""),
        "{message}"
    );
    assert_eq!(
        server.metric("impasto_rejections_total{reason=\"bad_input\"}"),
        1.0
    );
    // An animated scene is refused, not answered with its first frame.
    let animated = r##"{ "width": 10, "height": 10, "animate": true, "layers": [] }"##;
    let answer = post(&server.url("/render"), animated, &[]);
    assert_eq!(answer.0, 400);
    let body: serde_json::Value = serde_json::from_slice(&answer.2).expect("JSON body");
    assert_eq!(body["field"], "animate");
    let message = body["error"].as_str().expect("a message");
    assert!(message.contains("answers still images"), "{message}");
}

#[test]
fn full_queue_answers_only_200_or_429_with_retry_after() {
    let server = Server::start(&["--workers", "1", "--queue", "1"]);
    let scene = heavy_scene(4);
    let url = server.url("/render");
    let answers: Vec<Answer> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| s.spawn(|| post(&url, &scene, &[])))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("client thread"))
            .collect()
    });
    let ok = answers.iter().filter(|a| a.0 == 200).count();
    let refused: Vec<&Answer> = answers.iter().filter(|a| a.0 == 429).collect();
    assert_eq!(
        ok + refused.len(),
        8,
        "statuses: {:?}",
        answers.iter().map(|a| a.0).collect::<Vec<_>>()
    );
    assert!(ok >= 1);
    assert!(
        !refused.is_empty(),
        "8 at once with one worker and one queue place"
    );
    for answer in refused {
        assert_eq!(header(answer, "retry-after"), Some("1"));
    }
    let counted = server.metric("impasto_rejections_total{reason=\"queue_full\"}");
    assert_eq!(counted as usize, 8 - ok);
}

#[test]
fn a_deadline_gives_504_and_frees_the_worker_and_memory() {
    let server = Server::start(&["--workers", "1"]);
    // Given twice (a proxy in front adding its own), the shorter applies
    // (the first given was taken).
    let answer = post(
        &server.url("/render"),
        &heavy_scene(24),
        &[
            ("x-impasto-timeout-ms", "99999"),
            ("x-impasto-timeout-ms", "300"),
        ],
    );
    assert_eq!(answer.0, 504, "{}", String::from_utf8_lossy(&answer.2));
    server.wait_for("impasto_renders_in_flight", 0.0);
    server.wait_for("impasto_reserved_render_bytes", 0.0);
    assert_eq!(server.metric("impasto_queue_depth"), 0.0);
    assert_eq!(
        server.metric("impasto_rejections_total{reason=\"timeout\"}"),
        1.0
    );
}

#[test]
fn a_render_over_the_memory_budget_is_413() {
    // A small canvas whose image (a 600x600 PNG, 1.44 MB decoded) could
    // never fit: refused from the image's header, before it is decoded.
    let assets = tempfile::tempdir().unwrap();
    image::RgbaImage::from_pixel(600, 600, image::Rgba([9, 9, 9, 255]))
        .save(assets.path().join("big.png"))
        .unwrap();
    let server = Server::start(&[
        "--memory-budget",
        "1000000",
        "--assets",
        assets.path().to_str().expect("utf-8"),
    ]);
    let scene = r##"{ "width": 2000, "height": 2000, "background": "#fff" }"##;
    let images =
        r##"{ "width": 16, "height": 16, "layers": [{ "type": "image", "src": "big.png" }]}"##;
    // Each says what is large: the canvas's largest parts, or the layer
    // and its image; and names the server's limit.
    for (scene, said, location) in [
        (scene, "largest parts: ", "canvas"),
        (images, "\"big.png\"", "layer"),
    ] {
        let answer = post(&server.url("/render"), scene, &[]);
        assert_eq!(answer.0, 413);
        let body: serde_json::Value = serde_json::from_slice(&answer.2).expect("JSON body");
        let error = body["error"].as_str().unwrap_or_default();
        assert!(error.contains("(--memory-budget)"), "{body}");
        assert!(error.contains(said), "{body}");
        assert_eq!(body["location"], location, "{body}");
    }
    assert_eq!(
        server.metric("impasto_rejections_total{reason=\"over_memory_budget\"}"),
        2.0
    );
}

#[test]
fn a_body_over_max_body_is_413() {
    let server = Server::start(&["--max-body", "100"]);
    let answer = post(&server.url("/render"), SMALL, &[]);
    assert_eq!(answer.0, 413);
    assert_eq!(
        server.metric("impasto_rejections_total{reason=\"body_too_large\"}"),
        1.0
    );
}

const TEMPLATE: &str = r##"{ "variables": { "accent": { "type": "color", "default": "#e4572e" } },
  "width": 64, "height": 32, "layers": [ { "type": "rect", "color": "{{accent}}" } ] }"##;

#[test]
fn templates_render_by_post_and_get_and_refuse_path_tricks() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("card.json"), TEMPLATE).expect("write template");
    let server = Server::start(&["--templates", dir.path().to_str().expect("utf-8")]);
    let posted = post(
        &server.url("/templates/card"),
        r##"{ "accent": "#00ff00" }"##,
        &[],
    );
    assert_eq!(posted.0, 200, "{}", String::from_utf8_lossy(&posted.2));
    let got = get(&server.url("/t/card.png?accent=%2300ff00"));
    assert_eq!(got.0, 200);
    assert_eq!(posted.2, got.2, "same values, same image");
    assert_eq!(header(&posted, "etag"), header(&got, "etag"));
    let jpeg = get(&server.url("/t/card.jpg?quality=50"));
    assert_eq!(header(&jpeg, "content-type"), Some("image/jpeg"));
    let bad_value = get(&server.url("/t/card.png?accent=nope"));
    assert_eq!(bad_value.0, 400);
    let body: serde_json::Value = serde_json::from_slice(&bad_value.2).expect("JSON body");
    assert_eq!(body["variable"], "accent");
    // Query values are read as --set reads them.
    let unknown = get(&server.url("/t/card.png?acent=%2300ff00"));
    assert_eq!(unknown.0, 400);
    let body: serde_json::Value = serde_json::from_slice(&unknown.2).expect("JSON body");
    assert!(
        body["error"].as_str().unwrap().contains("not declared"),
        "{body}"
    );
    let twice = get(&server.url("/t/card.png?accent=%23000&accent=%23fff"));
    assert_eq!(twice.0, 400);
    let body: serde_json::Value = serde_json::from_slice(&twice.2).unwrap();
    assert_eq!(body["location"], "request");
    assert_eq!(body["field"], "accent");
    // ?format on a /t/ URL, whose extension names the format.
    let format = get(&server.url("/t/card.png?format=jpg"));
    assert_eq!(format.0, 400);
    let body: serde_json::Value = serde_json::from_slice(&format.2).unwrap();
    assert_eq!(body["field"], "format", "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("extension"),
        "{body}"
    );
    // A value whose escapes are no UTF-8, or malformed, is refused naming
    // it (it was rendered with U+FFFD, or the escape kept as text).
    for (query, why) in [
        ("accent=%ff%fe", "not UTF-8"),
        ("accent=%zz", "two hex digits"),
        // A sign is no hex digit (it was read as `%0A`, a line feed).
        ("accent=%+A", "two hex digits"),
    ] {
        let bad = get(&server.url(&format!("/t/card.png?{query}")));
        assert_eq!(bad.0, 400, "{query}");
        let text = String::from_utf8_lossy(&bad.2);
        assert!(
            text.contains("value of \\\"accent\\\"") && text.contains(why),
            "{query}: {text}"
        );
        let body: serde_json::Value = serde_json::from_slice(&bad.2).unwrap();
        assert_eq!(body["field"], "accent", "{query}: {body}");
    }
    // So is a malformed escape in the path's template name (a 404 naming
    // `card%+A` as a template before), while a good one is decoded.
    for path in ["/t/card%+A.png", "/t/card%zz.png", "/t/card%4.png"] {
        let bad = get(&server.url(path));
        let text = String::from_utf8_lossy(&bad.2);
        assert_eq!(bad.0, 400, "{path}: {text}");
        assert!(
            text.contains("a % not followed by two hex digits"),
            "{path}: {text}"
        );
        let body: serde_json::Value = serde_json::from_slice(&bad.2).unwrap();
        assert_eq!(body["location"], "request", "{body}");
        assert_eq!(body["field"], "path", "{body}");
    }
    assert_eq!(get(&server.url("/t/c%61rd.png")).0, 200);

    let twice = post(
        &server.url("/templates/card"),
        r##"{ "accent": "#000", "accent": "#fff" }"##,
        &[],
    );
    assert_eq!(twice.0, 400);
    assert!(String::from_utf8_lossy(&twice.2).contains("duplicate key"));
    // A body key that is no variable is a typo: 400 with the closest name,
    // as in a `/t/` query (it drew the default accent).
    let misspelt = post(
        &server.url("/templates/card"),
        r##"{ "acent": "#000" }"##,
        &[],
    );
    assert_eq!(misspelt.0, 400);
    let body: serde_json::Value = serde_json::from_slice(&misspelt.2).expect("JSON body");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("\"acent\" is not declared by the template; did you mean \"accent\"?"),
        "{body}"
    );
    // A variable in the query of a POST is no variable: refused, not
    // ignored (the body holds them).
    let in_query = post(&server.url("/templates/card?accent=%23000"), "{}", &[]);
    assert_eq!(in_query.0, 400);
    let text = String::from_utf8_lossy(&in_query.2);
    assert!(text.contains("go in the body"), "{text}");
    for tricky in [
        "/t/..%2Fcard.png",
        "/t/.card.png",
        "/templates/..",
        "/t/missing.png",
    ] {
        let answer = if tricky.starts_with("/t/") {
            get(&server.url(tricky))
        } else {
            post(&server.url(tricky), "{}", &[])
        };
        assert_eq!(answer.0, 404, "{tricky}");
    }
}

#[test]
fn metrics_counts_add_up_to_the_requests_sent() {
    let server = Server::start(&["--assets", poster_dir().to_str().expect("utf-8")]);
    for _ in 0..3 {
        assert_eq!(post(&server.url("/render"), SMALL, &[]).0, 200);
    }
    assert_eq!(post(&server.url("/render"), "{", &[]).0, 400);
    assert_eq!(get(&server.url("/healthz")).0, 200);
    assert_eq!(get(&server.url("/readyz")).0, 200);
    assert_eq!(get(&server.url("/nowhere")).0, 404);
    // /metrics counts a scrape after answering it: the first scrape is not
    // in its own figures, the second sees the first.
    assert_eq!(
        server.metric("impasto_http_requests_total{status=\"200\"}"),
        5.0
    );
    assert_eq!(
        server.metric("impasto_http_requests_total{status=\"400\"}"),
        1.0
    );
    assert_eq!(
        server.metric("impasto_http_requests_total{status=\"404\"}"),
        1.0
    );
    assert_eq!(server.metric("impasto_render_seconds_count"), 3.0);
    assert_eq!(
        server.metric("impasto_rejections_total{reason=\"bad_input\"}"),
        1.0
    );
    // The shared decoded-image cache was consulted (its figures are exported).
    let lookups = server.metric("impasto_asset_cache_hits_total")
        + server.metric("impasto_asset_cache_misses_total");
    assert!(lookups >= 1.0);
    // So are the resampled-image cache's.
    assert_eq!(
        server.metric("impasto_placed_cache_budget_bytes"),
        (256u64 << 20) as f64
    );
    // And the weight tables': the logo's two axes computed by the first
    // render, read by the next two.
    assert_eq!(
        server.metric("impasto_weights_cache_budget_bytes"),
        (16u64 << 20) as f64
    );
    assert!(server.metric("impasto_weights_cache_misses_total") >= 2.0);
    assert!(server.metric("impasto_weights_cache_hits_total") >= 4.0);
    assert!(server.metric("impasto_weights_cache_tables") >= 2.0);
}

#[test]
fn cache_budgets_given_on_the_command_line_are_the_ones_in_the_metrics() {
    let server = Server::start(&[
        "--assets",
        poster_dir().to_str().expect("utf-8"),
        "--asset-cache-bytes",
        "1000000",
        "--placed-cache-bytes",
        "0",
        "--glyph-cache-bytes",
        "123456",
    ]);
    assert_eq!(post(&server.url("/render"), SMALL, &[]).0, 200);
    assert_eq!(server.metric("impasto_asset_cache_budget_bytes"), 1e6);
    assert_eq!(server.metric("impasto_placed_cache_budget_bytes"), 0.0);
    assert_eq!(server.metric("impasto_glyph_cache_budget_bytes"), 123456.0);
}

#[test]
fn a_gpu_server_reports_device_recoveries_and_a_cpu_one_no_gpu_series() {
    let cpu = Server::start(&["--assets", poster_dir().to_str().expect("utf-8")]);
    let text = String::from_utf8(get(&cpu.url("/metrics")).2).expect("text");
    assert!(!text.contains("impasto_gpu_"), "{text}");
    // `--backend gpu` has no breaker (only `auto` has), but replaces a lost
    // device all the same: its count is there.
    if let Err(e) = impasto::Renderer::new(impasto::Backend::Gpu) {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true and no GPU adapter: {e}"
        );
        eprintln!("SKIPPED the GPU server (no adapter): {e}");
        return;
    }
    let gpu = Server::start_on(
        "gpu",
        &["--assets", poster_dir().to_str().expect("utf-8")],
        &[],
    );
    assert_eq!(post(&gpu.url("/render"), SMALL, &[]).0, 200);
    assert_eq!(gpu.metric("impasto_gpu_device_recoveries_total"), 0.0);
    let text = String::from_utf8(get(&gpu.url("/metrics")).2).expect("text");
    assert!(!text.contains("impasto_gpu_breaker_state"), "{text}");
}

#[cfg(unix)]
#[test]
fn sigterm_finishes_the_render_in_flight_and_exits_0() {
    // A long grace period: on a loaded machine (tests run in parallel, each
    // server using every core) the render may take longer than the default.
    let mut server = Server::start(&["--workers", "1", "--grace", "300"]);
    let url = server.url("/render");
    let scene = heavy_scene(12);
    std::thread::scope(|s| {
        let client = s.spawn(|| post(&url, &scene, &[]));
        // Once the render runs (or already ran), ask the server to stop.
        while server.metric("impasto_render_seconds_count") == 0.0
            && server.metric("impasto_renders_in_flight") == 0.0
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        let pid = server.child.id().to_string();
        let killed = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        assert!(killed.success());
        assert_eq!(client.join().expect("client thread").0, 200);
    });
    let status = server.child.wait().expect("the server exits");
    assert_eq!(status.code(), Some(0));
}

/// HMAC-SHA256 of `target` under `key`, in lowercase hex: the canonical
/// form of docs/serve.md, computed independently of the server.
fn signature(key: &str, target: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(target.as_bytes());
    let bytes = mac.finalize().into_bytes();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn signed(key: &str, target: &str) -> String {
    let joiner = if target.contains('?') { '&' } else { '?' };
    format!("{target}{joiner}sig={}", signature(key, target))
}

fn template_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("card.json"), TEMPLATE).expect("write template");
    dir
}

#[test]
fn signed_urls_are_served_and_tampered_or_missing_ones_are_403() {
    let dir = template_dir();
    let templates = dir.path().to_str().expect("utf-8");
    let server = Server::start(&["--templates", templates, "--signing-key", "s3cret"]);
    let good = signed("s3cret", "/t/card.png?accent=%2300ff00");
    let ok = get(&server.url(&good));
    assert_eq!(ok.0, 200, "{}", String::from_utf8_lossy(&ok.2));
    let bare = get(&server.url(&signed("s3cret", "/t/card.png")));
    assert_eq!(bare.0, 200, "a URL without variables is signed too");
    let sig = good.rsplit_once("sig=").expect("signed").1.to_owned();
    let flipped = format!(
        "{}{}",
        if sig.starts_with('0') { '1' } else { '0' },
        &sig[1..]
    );
    let refused = [
        ("query changed", good.replace("00ff00", "ff0000")),
        ("query added", good.replace("?accent", "?quality=5&accent")),
        ("path changed", good.replace("card.png", "card.jpg")),
        ("signature changed", good.replace(&sig, &flipped)),
        ("signature cut", good.replace(&sig, &sig[..60])),
        ("other key", signed("other", "/t/card.png?accent=%2300ff00")),
        ("no signature", "/t/card.png?accent=%2300ff00".to_owned()),
        (
            "signature not last",
            format!("/t/card.png?sig={sig}&accent=%2300ff00"),
        ),
    ];
    for (what, target) in &refused {
        let answer = get(&server.url(target));
        assert_eq!(answer.0, 403, "{what}: {target}");
        let body: serde_json::Value = serde_json::from_slice(&answer.2).expect("JSON body");
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{what}"
        );
    }
    assert_eq!(
        server.metric("impasto_rejections_total{reason=\"bad_signature\"}"),
        refused.len() as f64
    );
    // Not last: said so, not taken for an unsigned URL.
    let not_last = get(&server.url(&format!("/t/card.png?sig={sig}&accent=%2300ff00")));
    let text = String::from_utf8_lossy(&not_last.2);
    assert!(text.contains("must be the last"), "{text}");
}

#[test]
fn urls_made_by_impasto_sign_are_served_and_match_the_documented_form() {
    let dir = template_dir();
    let templates = dir.path().to_str().expect("utf-8");
    let server = Server::start(&["--templates", templates, "--signing-key", "s3cret"]);
    let target = "/t/card.png?accent=%2300ff00";
    let out = Command::new(BIN)
        .args(["sign", target, "--signing-key", "s3cret"])
        .output()
        .expect("run impasto sign");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let url = String::from_utf8(out.stdout).expect("utf-8");
    let url = url.trim_end();
    assert_eq!(url, signed("s3cret", target));
    assert_eq!(get(&server.url(url)).0, 200);
    let no_key = Command::new(BIN)
        .args(["sign", target])
        .env_remove("IMPASTO_SIGNING_KEY")
        .output()
        .expect("run impasto sign");
    assert_eq!(no_key.status.code(), Some(2), "no key is bad usage");
    assert!(String::from_utf8_lossy(&no_key.stderr).contains("no signing key"));
    // A query the server would refuse is not signed.
    let refused = Command::new(BIN)
        .args(["sign", "/t/card.png?accent=%zz", "--signing-key", "s3cret"])
        .output()
        .expect("run impasto sign");
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("the server would refuse it"));
    // Nor one the server reads but refuses (it signed these until
    // 2026-11-29): a value given twice, a quality or expiry it does not
    // take, an expiry past, a file with no format's extension.
    for (target, why) in [
        (
            "/t/card.png?title=a&title=b",
            "the query gives \"title\" twice",
        ),
        (
            "/t/card.jpg?quality=085",
            "quality \"085\" is not a whole number",
        ),
        ("/t/card.png?expires=1", "the URL expired"),
        (
            "/t/card.png?expires=soon",
            "is not a time in whole Unix seconds",
        ),
        ("/t/card.gif", "unknown output format \"gif\""),
        ("/t/card", "unknown output format \"\""),
    ] {
        let out = Command::new(BIN)
            .args(["sign", target, "--signing-key", "s3cret"])
            .output()
            .expect("run impasto sign");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{target}: {stderr}");
        assert!(
            stderr.contains(why) && stderr.contains("the server would refuse it"),
            "{target}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{target}");
    }
}

#[test]
fn an_image_variable_naming_no_file_is_400_naming_the_variable() {
    let dir = template_dir();
    std::fs::write(
        dir.path().join("pic.json"),
        r#"{ "variables": { "img": { "type": "image" } }, "width": 8, "height": 8,
            "layers": [ { "type": "image", "src": "{{img}}" } ] }"#,
    )
    .expect("write template");
    let server = Server::start(&["--templates", dir.path().to_str().expect("utf-8")]);
    let answer = get(&server.url("/t/pic.png?img=nowhere.png"));
    assert_eq!(answer.0, 400, "{}", String::from_utf8_lossy(&answer.2));
    let body: serde_json::Value = serde_json::from_slice(&answer.2).expect("JSON body");
    assert_eq!(body["variable"], "img", "{body}");
    assert_eq!(
        (body["layer"].as_u64(), body["field"].as_str()),
        (Some(0), Some("src"))
    );
}

#[test]
fn head_of_a_t_url_checks_the_scene_without_painting_it() {
    let dir = template_dir();
    std::fs::write(
        dir.path().join("broken.json"),
        r#"{ "width": 8, "height": 8, "layers": [ { "type": "image", "src": "nowhere.png" } ] }"#,
    )
    .expect("write template");
    std::fs::write(
        dir.path().join("wide.json"),
        r#"{ "width": 16384, "height": 1 }"#,
    )
    .expect("write template");
    let server = Server::start(&["--templates", dir.path().to_str().expect("utf-8")]);
    let head = answer(agent().head(&server.url("/t/card.png")).call());
    assert_eq!(head.0, 200);
    assert_eq!(header(&head, "content-type"), Some("image/png"));
    assert_eq!(
        header(&head, "content-length"),
        None,
        "not encoded, so no length (and not 0)"
    );
    assert_eq!(server.metric("impasto_render_seconds_count"), 0.0);
    let got = get(&server.url("/t/card.png"));
    assert_eq!(header(&got, "etag"), header(&head, "etag"));
    // A HEAD answered 304 has no length either (0 is not the image's).
    let cached = answer(
        agent()
            .head(&server.url("/t/card.png"))
            .header("if-none-match", "*")
            .call(),
    );
    assert_eq!(cached.0, 304);
    assert_eq!(header(&cached, "content-length"), None);
    let broken = answer(agent().head(&server.url("/t/broken.png")).call());
    assert_eq!(broken.0, 400, "what GET would refuse");
    // Also a canvas the format cannot hold, as GET refuses it.
    let wide = answer(agent().head(&server.url("/t/wide.webp")).call());
    assert_eq!(wide.0, 400, "WebP holds 16383 pixels a side");
    let star = answer(
        agent()
            .get(&server.url("/t/wide.webp"))
            .header("if-none-match", "*")
            .call(),
    );
    assert_eq!(star.0, 400, "no 304 for what cannot render");
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

#[test]
fn urls_past_their_expiry_are_403_and_caches_keep_answers_no_longer_than_valid() {
    let dir = template_dir();
    let templates = dir.path().to_str().expect("utf-8");
    let server = Server::start(&["--templates", templates, "--signing-key", "s3cret"]);
    let now = unix_now();
    let valid = signed("s3cret", &format!("/t/card.png?expires={}", now + 100));
    let ok = get(&server.url(&valid));
    assert_eq!(ok.0, 200, "{}", String::from_utf8_lossy(&ok.2));
    let max_age: u64 = header(&ok, "cache-control")
        .and_then(|c| c.strip_prefix("public, max-age="))
        .and_then(|n| n.parse().ok())
        .expect("a max-age");
    assert!((90..=100).contains(&max_age), "max-age {max_age}");
    let past = signed("s3cret", &format!("/t/card.png?expires={}", now - 5));
    let expired = get(&server.url(&past));
    assert_eq!(expired.0, 403);
    let body: serde_json::Value = serde_json::from_slice(&expired.2).expect("JSON body");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("expired")),
        "{body}"
    );
    assert_eq!(
        server.metric("impasto_rejections_total{reason=\"url_expired\"}"),
        1.0
    );
    // Made later by changing the value: the signature no longer matches.
    let moved = past.replace(&format!("{}", now - 5), &format!("{}", now + 1000));
    assert_eq!(get(&server.url(&moved)).0, 403);
    assert_eq!(
        server.metric("impasto_rejections_total{reason=\"bad_signature\"}"),
        1.0
    );
    let garbled = signed("s3cret", "/t/card.png?expires=tomorrow");
    assert_eq!(get(&server.url(&garbled)).0, 400);
    // A reserved name given twice is refused, whichever value would win.
    for twice in [
        format!("/t/card.png?expires={}&expires=1000", now + 100),
        "/t/card.png?quality=5&quality=90".to_owned(),
        "/t/card.png?sig=00&accent=%23fff".to_owned(),
    ] {
        let answer = get(&server.url(&signed("s3cret", &twice)));
        assert_eq!(
            answer.0,
            400,
            "{twice}: {}",
            String::from_utf8_lossy(&answer.2)
        );
    }
    // impasto sign refuses what cannot be a signed URL.
    for target in ["/t/card.png?sig=abc", "/t/card.png#top"] {
        let out = Command::new(BIN)
            .args(["sign", target, "--signing-key", "s3cret"])
            .output()
            .expect("run impasto sign");
        assert_eq!(out.status.code(), Some(2), "{target}");
    }
    // `impasto sign --expires-in` adds it.
    let out = Command::new(BIN)
        .args([
            "sign",
            "/t/card.png?accent=%2300ff00",
            "--signing-key",
            "s3cret",
        ])
        .args(["--expires-in", "60"])
        .output()
        .expect("run impasto sign");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let url = String::from_utf8(out.stdout).expect("utf-8");
    let at: u64 = url
        .split_once("&expires=")
        .and_then(|(_, rest)| rest.split('&').next())
        .and_then(|n| n.parse().ok())
        .expect("an expires parameter");
    assert!((now + 60..=unix_now() + 60).contains(&at), "{url}");
    assert_eq!(get(&server.url(url.trim_end())).0, 200);
}

#[test]
fn a_max_url_lifetime_refuses_signed_urls_without_expiry_or_expiring_later() {
    let dir = template_dir();
    let templates = dir.path().to_str().expect("utf-8");
    let server = Server::start(&[
        "--templates",
        templates,
        "--signing-key",
        "s3cret",
        "--max-url-lifetime",
        "300",
    ]);
    let now = unix_now();
    let forever = get(&server.url(&signed("s3cret", "/t/card.png")));
    assert_eq!(forever.0, 403);
    let body: serde_json::Value = serde_json::from_slice(&forever.2).expect("JSON body");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("no expires parameter")),
        "{body}"
    );
    let later = signed("s3cret", &format!("/t/card.png?expires={}", now + 1000));
    assert_eq!(get(&server.url(&later)).0, 403);
    let head = answer(agent().head(&server.url(&later)).call());
    assert_eq!(head.0, 403, "HEAD is held to it too");
    let soon = signed("s3cret", &format!("/t/card.png?expires={}", now + 200));
    let ok = get(&server.url(&soon));
    assert_eq!(ok.0, 200, "{}", String::from_utf8_lossy(&ok.2));
    assert_eq!(
        server.metric("impasto_rejections_total{reason=\"bad_signature\"}"),
        3.0
    );
    // Without a key anyone could drop `expires`: refused at start.
    let out = Command::new(BIN)
        .args([
            "serve",
            "--templates",
            templates,
            "--max-url-lifetime",
            "60",
        ])
        .env_remove("IMPASTO_SIGNING_KEY")
        .output()
        .expect("run impasto serve");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--max-url-lifetime needs a signing key"),
        "{err}"
    );
}

#[test]
fn a_name_that_is_not_utf8_is_403_unsigned_and_a_json_404_signed() {
    let dir = template_dir();
    let templates = dir.path().to_str().expect("utf-8");
    let server = Server::start(&["--templates", templates, "--signing-key", "s3cret"]);
    assert_eq!(get(&server.url("/t/%FF.png")).0, 403, "the signature first");
    for answer in [
        get(&server.url(&signed("s3cret", "/t/%FF.png"))),
        post(&server.url("/templates/%FF"), "{}", &[]),
    ] {
        assert_eq!(answer.0, 404);
        let body: serde_json::Value = serde_json::from_slice(&answer.2).expect("JSON body");
        assert!(
            body["error"]
                .as_str()
                .is_some_and(|e| e.contains("not UTF-8")),
            "{body}"
        );
    }
    assert_eq!(
        server.metric("impasto_rejections_total{reason=\"not_found\"}"),
        2.0
    );
}

#[test]
fn the_signing_key_can_come_from_the_environment() {
    let dir = template_dir();
    let templates = dir.path().to_str().expect("utf-8");
    let server =
        Server::start_with_env(&["--templates", templates], &[("IMPASTO_SIGNING_KEY", "k")]);
    assert_eq!(get(&server.url("/t/card.png")).0, 403);
    assert_eq!(get(&server.url(&signed("k", "/t/card.png"))).0, 200);
}

#[test]
fn unsigned_urls_are_served_when_no_key_is_set() {
    let dir = template_dir();
    let server = Server::start(&["--templates", dir.path().to_str().expect("utf-8")]);
    assert_eq!(get(&server.url("/t/card.png?accent=%2300ff00")).0, 200);
    // A `sig` parameter is not a template variable, signed or not.
    assert_eq!(get(&server.url("/t/card.png?sig=whatever")).0, 200);
}

#[test]
fn the_signing_key_can_come_from_a_file_without_its_newline() {
    let dir = template_dir();
    let key_file = dir.path().join("key");
    std::fs::write(&key_file, "from-a-file\n").expect("write key");
    let server = Server::start(&[
        "--templates",
        dir.path().to_str().expect("utf-8"),
        "--signing-key-file",
        key_file.to_str().expect("utf-8"),
    ]);
    assert_eq!(
        get(&server.url(&signed("from-a-file", "/t/card.png"))).0,
        200
    );
    assert_eq!(
        get(&server.url(&signed("from-a-file\n", "/t/card.png"))).0,
        403
    );
}
