//! What the `impasto serve` tests share: the built binary started on
//! 127.0.0.1 port 0, a plain HTTP client (ureq), every server stopped (killed)
//! when the test's handle drops.
#![allow(dead_code)] // each test binary uses part of it

use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ureq::Agent;

pub const BIN: &str = env!("CARGO_BIN_EXE_impasto");

/// A running server, killed when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    /// Starts `impasto serve --listen 127.0.0.1:0 --backend cpu` with `args`
    /// and reads the bound address from its first line of output.
    pub fn start(args: &[&str]) -> Server {
        Server::start_with_env(args, &[])
    }

    /// As [`Server::start`], with environment variables set.
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Server {
        Server::start_on("cpu", args, env)
    }

    /// As [`Server::start`], on `backend`, with environment variables set.
    pub fn start_on(backend: &str, args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut child = Command::new(BIN)
            .env_remove("IMPASTO_SIGNING_KEY")
            .envs(env.iter().copied())
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--backend",
                backend,
                "--no-system-fonts",
            ])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("impasto serve starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("first line");
        let base = line
            .trim()
            .rsplit(' ')
            .next()
            .expect("the line ends with the address")
            .to_owned();
        assert!(
            base.starts_with("http://127.0.0.1:"),
            "first line: {line:?}"
        );
        Server { child, base }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The value of one unlabelled or labelled series in /metrics.
    pub fn metric(&self, series: &str) -> f64 {
        let text = get(&self.url("/metrics")).2;
        let text = String::from_utf8(text).expect("metrics are text");
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("no {series} in metrics:\n{text}"))
            .parse()
            .expect("a number")
    }

    /// Polls /metrics until `series` reads `value` (at most a minute: the
    /// test fails rather than hangs if it never does).
    pub fn wait_for(&self, series: &str, value: f64) {
        for _ in 0..600 {
            if self.metric(series) == value {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("{series} never became {value}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn agent() -> Agent {
    Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

pub type Answer = (u16, Vec<(String, String)>, Vec<u8>);

pub fn answer(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
    let mut response = response.expect("the server answers");
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let body = response
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_vec()
        .expect("body");
    (status, headers, body)
}

pub fn header<'a>(answer: &'a Answer, name: &str) -> Option<&'a str> {
    answer
        .1
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

pub fn get(url: &str) -> Answer {
    answer(agent().get(url).call())
}

pub fn post(url: &str, body: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = agent().post(url);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    answer(request.send(body))
}

pub fn poster_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/poster")
}

/// Connects to the server's address.
pub fn connect(server: &Server) -> TcpStream {
    let addr = server.base.trim_start_matches("http://");
    let stream = TcpStream::connect(addr).expect("connect");
    // A bound on the test, not a timing claim: the server's timeouts are
    // one second here.
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream
}

/// Everything the server sends until it closes the connection.
pub fn read_to_close(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    match stream.read_to_end(&mut out) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("the server did not close the connection: {e}"),
    }
    String::from_utf8_lossy(&out).into_owned()
}
