//! The command line and the standalone mock, each in its own process: the
//! helpers the process-level tests share.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

/// The command line under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_seedance-mini");

/// A standalone mock (`seedance-mini mock`), killed when dropped.
pub struct Mock {
    child: Child,
    /// Where it listens.
    pub url: String,
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts one on a free port, with `extra` options.
pub fn mock(extra: &[&str]) -> Mock {
    let mut child = Command::new(BIN)
        .args(["mock", "--addr", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first
        .trim()
        .trim_start_matches("mock listening on ")
        .to_string();
    assert!(url.starts_with("http://"), "{first}");
    Mock { child, url }
}

/// The mock's request journal.
pub fn requests(mock: &Mock) -> Vec<Value> {
    let out = Command::new("curl")
        .args(["-s", &format!("{}/__mock/requests", mock.url)])
        .output();
    match out {
        Ok(out) => serde_json::from_slice(&out.stdout).unwrap_or_default(),
        Err(_) => http_get_json(&format!("{}/__mock/requests", mock.url)),
    }
}

/// A GET without curl: one HTTP/1.0 request over a socket.
pub fn http_get_json(url: &str) -> Vec<Value> {
    use std::io::{Read, Write};
    let rest = url.trim_start_matches("http://");
    let (host, path) = rest.split_once('/').unwrap();
    let mut s = std::net::TcpStream::connect(host).unwrap();
    write!(s, "GET /{path} HTTP/1.0\r\nHost: {host}\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    serde_json::from_str(body).unwrap_or_default()
}

/// How many `method` requests under `prefix` it saw.
pub fn count(mock: &Mock, method: &str, prefix: &str) -> usize {
    requests(mock)
        .iter()
        .filter(|r| r["method"] == method && r["path"].as_str().unwrap_or("").starts_with(prefix))
        .count()
}

/// How many creates (any provider) it saw.
pub fn creates(mock: &Mock) -> usize {
    requests(mock)
        .iter()
        .filter(|r| {
            r["method"] == "POST" && !r["path"].as_str().unwrap_or("").starts_with("/__mock")
        })
        .count()
}

/// The command line against `mock`, with its own journal home.
pub fn cli(home: &Path, mock: &Mock, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.env("SEEDANCE_MINI_HOME", home)
        .env_remove("MAGNIFIC_API_KEY")
        .args([
            "--base-url",
            &mock.url,
            "--api-key",
            "seedance-mini-mock-key",
        ])
        .args(args);
    c
}

/// Runs [`cli`] and waits for it.
pub fn run(home: &Path, mock: &Mock, args: &[&str]) -> Output {
    cli(home, mock, args).output().unwrap()
}

/// A `--json` batch run's summary event (its last line of that kind).
pub fn summary(stdout: &[u8]) -> Value {
    text(stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|e| e["event"] == "summary")
        .unwrap_or_else(|| panic!("no summary in {}", text(stdout)))
}

/// Bytes as text, for messages.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}
