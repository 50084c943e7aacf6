//! Checking a real provider against its document: with `--upstream
//! PROVIDER=URL` the mock forwards that provider's calls, with the caller's
//! own auth, and checks the request and the upstream's answer against the
//! vendored document; every deviation is kept for `GET /__mock/deviations`,
//! labelled when it is a fault the document is known to have (each
//! provider's file in `mock/providers/` lists its own, from FACTS.md).
//!
//! `--record DIR` writes each exchange as a readable JSON cassette, with
//! secrets redacted, and `--replay DIR` answers from the cassettes with no
//! upstream at all. Replay matches method, path and body (JSON bodies by
//! value, so key order and spacing do not matter); requests that match
//! several cassettes get them in recorded order, the last one repeating, so
//! a recorded poll sequence plays back as it happened. A request that
//! matches none gets 501 in the provider's error shape, naming what was
//! looked for: the mock never invents an answer in a replay.
//!
//! Proxying needs the hyper host ([`super::MockServer`]); the wiremock
//! adapter answers synchronously and does not forward.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use serde::Serialize;
use serde_json::{json, Value};

use super::engine::lock;
use super::journal::Ring;
use super::providers;
use super::router::Route;
use super::validate::{request_violations, response_violations, Violation};
use crate::Provider;

/// The largest upstream answer held (a whole MP4 from `getVideoContent`
/// fits); a larger one is answered 502.
pub const MAX_UPSTREAM_BODY: usize = 64 * 1024 * 1024;

/// How long an upstream has to answer.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(120);

/// Deviations kept for the admin API, newest last.
const DEVIATIONS_KEPT: usize = 10_000;

/// Cassettes a replay directory may hold.
const MAX_CASSETTES: usize = 100_000;

/// What stands in for a secret in a cassette.
const REDACTED: &str = "[redacted]";

/// One way a request or an upstream answer broke the document.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Deviation {
    /// The operation id.
    pub operation: String,
    /// `request` or `response`.
    pub direction: &'static str,
    /// The response status (for `response`).
    pub status: Option<u16>,
    /// Where, as a JSON pointer into the body (`""` for the whole body).
    pub pointer: String,
    /// The rule broken (see [`Violation::rule`]).
    pub rule: String,
    /// What is wrong.
    pub message: String,
    /// When the document itself is known to be wrong here: what is known.
    pub known_fault: Option<&'static str>,
}

/// A fault the document is known to have: deviations it explains are
/// labelled, not hidden.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KnownFault {
    /// The operation, or `None` for all of the provider's.
    pub operation: Option<&'static str>,
    /// `request` or `response`.
    pub direction: &'static str,
    /// The response status it concerns, if one.
    pub status: Option<u16>,
    /// The pointers it concerns (prefixes).
    pub pointers: &'static [&'static str],
    /// The rule it breaks.
    pub rule: &'static str,
    /// What is known, and where it is written down.
    pub note: &'static str,
}

impl KnownFault {
    fn explains(&self, operation: &str, d: &Deviation) -> bool {
        self.operation.is_none_or(|o| o == operation)
            && self.direction == d.direction
            && (self.status.is_none() || self.status == d.status)
            && self.rule == d.rule
            && self.pointers.iter().any(|p| d.pointer.starts_with(p))
    }
}

/// One exchange, as a cassette file holds it.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
struct Cassette {
    operation: String,
    request: Message,
    response: Message,
}

/// A request or a response in a cassette.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
struct Message {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    query: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    status: Option<u16>,
    /// Headers by name; repeated ones joined with `, `.
    headers: BTreeMap<String, String>,
    /// The body: JSON as JSON, text as a string, anything else as
    /// `{"base64": ...}`; absent when empty.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    body: Option<Value>,
}

/// Where the proxy sends a provider's calls.
#[derive(Debug)]
pub(crate) struct Proxy {
    upstreams: Vec<(Provider, String)>,
    http: reqwest::Client,
    deviations: Mutex<Ring<Deviation>>,
    record: Option<PathBuf>,
    recorded: AtomicU64,
    replay: Option<Replay>,
}

#[derive(Debug)]
struct Replay {
    dir: PathBuf,
    /// By match key: the cassettes in recorded order, and how many were played.
    tapes: Mutex<HashMap<String, (Vec<Cassette>, usize)>>,
}

/// A request body as replay compares it: JSON by value, else the bytes.
fn body_key(body: &[u8]) -> String {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => v.to_string(),
        Err(_) => base64::engine::general_purpose::STANDARD.encode(body),
    }
}

fn match_key(method: &str, path: &str, body: &[u8]) -> String {
    format!("{method} {path} {}", body_key(body))
}

fn body_value(content_type: Option<&str>, body: &[u8]) -> Option<Value> {
    if body.is_empty() {
        return None;
    }
    let json_like = content_type.is_some_and(|c| c.contains("json"));
    match (
        json_like,
        serde_json::from_slice::<Value>(body),
        std::str::from_utf8(body),
    ) {
        (true, Ok(v), _) => Some(v),
        (_, _, Ok(text))
            if content_type.is_none_or(|c| c.starts_with("text/") || c.contains("json")) =>
        {
            Some(Value::String(text.to_string()))
        }
        _ => Some(json!({ "base64": base64::engine::general_purpose::STANDARD.encode(body) })),
    }
}

fn body_bytes(body: &Option<Value>) -> Vec<u8> {
    match body {
        None => Vec::new(),
        Some(Value::String(text)) => text.clone().into_bytes(),
        Some(Value::Object(o)) if o.len() == 1 && o.contains_key("base64") => o["base64"]
            .as_str()
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .unwrap_or_default(),
        Some(v) => v.to_string().into_bytes(),
    }
}

/// Characters of a deviation's message kept: a schema error quotes the
/// value it refused, which an upstream may make as large as it likes.
const MESSAGE_CHARS: usize = 500;

fn excerpt(message: String) -> String {
    match message.char_indices().nth(MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}...", &message[..cut]),
        None => message,
    }
}

/// Whether a header carries a credential, by its name.
fn is_secret_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(
        name.as_str(),
        "authorization" | "proxy-authorization" | "cookie" | "set-cookie"
    ) || ["key", "token", "secret", "auth", "signature"]
        .iter()
        .any(|w| name.contains(w))
}

/// Whether a JSON field carries a credential, by its name.
fn is_secret_field(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["secret", "token", "password", "api_key", "apikey"]
        .iter()
        .any(|w| name.contains(w))
}

fn redact_value(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if is_secret_field(k) && !v.is_null() {
                    *v = Value::String(REDACTED.into());
                } else {
                    redact_value(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_value),
        _ => {}
    }
}

fn headers_of(map: &http::HeaderMap, secrets: &mut Vec<String>) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in map {
        let mut value = value.to_str().unwrap_or("[not text]").to_string();
        if is_secret_header(name.as_str()) {
            // The credential itself, wherever else it may appear.
            let bare = value.strip_prefix("Bearer ").unwrap_or(&value).trim();
            if bare.len() >= 8 {
                secrets.push(bare.to_string());
            }
            value = REDACTED.to_string();
        }
        out.entry(name.to_string())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&value);
            })
            .or_insert(value);
    }
    out
}

fn content_type(headers: &http::HeaderMap) -> Option<&str> {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
}

/// Hop-by-hop headers, which a proxy does not forward.
fn hop_by_hop(name: &str) -> bool {
    matches!(
        name,
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "transfer-encoding"
            | "te"
            | "trailer"
            | "upgrade"
            | "host"
            | "content-length"
    )
}

/// Writes `bytes` to `path` through a temporary name.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

impl Proxy {
    /// A proxy for `upstreams`, recording into `record`, or replaying from
    /// `replay` (whose cassettes are read now).
    pub(crate) fn new(
        upstreams: Vec<(Provider, String)>,
        record: Option<PathBuf>,
        replay: Option<PathBuf>,
    ) -> std::io::Result<Self> {
        let recorded = match &record {
            Some(dir) => {
                std::fs::create_dir_all(dir)?;
                std::fs::read_dir(dir)?.count() as u64
            }
            None => 0,
        };
        let replay = replay.map(|dir| Replay::load(&dir)).transpose()?;
        let http = crate::tls::http_client_builder()
            .map_err(std::io::Error::other)?
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .timeout(UPSTREAM_TIMEOUT)
            .build()
            .map_err(std::io::Error::other)?;
        Ok(Proxy {
            upstreams: upstreams
                .into_iter()
                .map(|(p, url)| (p, url.trim_end_matches('/').to_string()))
                .collect(),
            http,
            deviations: Mutex::new(Ring::new(DEVIATIONS_KEPT)),
            record,
            recorded: AtomicU64::new(recorded),
            replay,
        })
    }

    /// Whether `provider`'s calls go to an upstream or a replay.
    pub(crate) fn covers(&self, provider: Provider) -> bool {
        self.replay.is_some() || self.upstreams.iter().any(|(p, _)| *p == provider)
    }

    /// Deviations seen so far, oldest first.
    pub(crate) fn deviations(&self) -> Vec<Deviation> {
        lock(&self.deviations).snapshot()
    }

    /// Forgets the deviations.
    pub(crate) fn clear(&self) {
        lock(&self.deviations).clear();
    }

    fn note(
        &self,
        route: &Route,
        direction: &'static str,
        status: Option<u16>,
        found: Vec<Violation>,
    ) {
        let operation = route.id();
        let known = providers::of(route.provider()).known_faults();
        let mut deviations = lock(&self.deviations);
        for v in found {
            let mut d = Deviation {
                operation: operation.to_string(),
                direction,
                status,
                pointer: v.pointer,
                rule: v.rule,
                message: excerpt(v.message),
                known_fault: None,
            };
            d.known_fault = known
                .iter()
                .find(|k| k.explains(operation, &d))
                .map(|k| k.note);
            tracing::warn!(operation, direction, pointer = %d.pointer, rule = %d.rule, known = d.known_fault.is_some(), "deviation from the document: {}", d.message);
            // The proxy path is not a hot one: the displaced deviation
            // may be freed under the lock.
            let _ = deviations.push(d);
        }
    }

    /// Forwards (or replays) a request for `route`, checking both ways.
    pub(crate) async fn forward(
        &self,
        route: &Route,
        request: &super::MockRequest,
    ) -> http::Response<Bytes> {
        let behaviour = providers::of(route.provider());
        let found = request_violations(route.id(), content_type(&request.headers), &request.body);
        self.note(route, "request", None, found);

        let response = match &self.replay {
            Some(replay) => match replay.answer(request) {
                Some(response) => response,
                None => {
                    return behaviour.error(
                        501,
                        &format!(
                            "no cassette in {} matches {} {} with this body",
                            replay.dir.display(),
                            request.method,
                            request.path
                        ),
                    )
                }
            },
            None => match self.upstream(route, request).await {
                Ok(response) => response,
                Err(message) => return behaviour.error(502, &message),
            },
        };
        let status = response.status().as_u16();
        let found = response_violations(
            route.id(),
            status,
            content_type(response.headers()),
            response.body(),
        );
        self.note(route, "response", Some(status), found);
        if self.replay.is_none() {
            if let Err(e) = self.record(route, request, &response) {
                tracing::warn!(error = %e, "could not write a cassette");
            }
        }
        response
    }

    async fn upstream(
        &self,
        route: &Route,
        request: &super::MockRequest,
    ) -> Result<http::Response<Bytes>, String> {
        let base = self
            .upstreams
            .iter()
            .find(|(p, _)| *p == route.provider())
            .map(|(_, url)| url.as_str())
            .ok_or("no upstream for this provider")?;
        let url = match &request.query {
            Some(q) => format!("{base}{}?{q}", request.path),
            None => format!("{base}{}", request.path),
        };
        let mut outgoing = self
            .http
            .request(request.method.clone(), &url)
            .body(request.body.clone());
        for (name, value) in &request.headers {
            if !hop_by_hop(name.as_str()) {
                outgoing = outgoing.header(name, value);
            }
        }
        let mut answer = outgoing
            .send()
            .await
            .map_err(|e| format!("upstream {base}: {e}"))?;
        let mut response = http::Response::builder().status(answer.status());
        for (name, value) in answer.headers() {
            if !hop_by_hop(name.as_str()) {
                response = response.header(name, value);
            }
        }
        let mut body = Vec::new();
        while let Some(chunk) = answer
            .chunk()
            .await
            .map_err(|e| format!("upstream {base}: reading the answer: {e}"))?
        {
            if body.len() + chunk.len() > MAX_UPSTREAM_BODY {
                return Err(format!(
                    "upstream {base}: the answer is larger than {MAX_UPSTREAM_BODY} bytes"
                ));
            }
            body.extend_from_slice(&chunk);
        }
        response
            .body(Bytes::from(body))
            .map_err(|e| format!("upstream {base}: {e}"))
    }

    /// Writes the exchange to the record directory, secrets redacted.
    fn record(
        &self,
        route: &Route,
        request: &super::MockRequest,
        response: &http::Response<Bytes>,
    ) -> std::io::Result<()> {
        let Some(dir) = &self.record else {
            return Ok(());
        };
        let mut secrets = Vec::new();
        let mut cassette = Cassette {
            operation: route.id().to_string(),
            request: Message {
                method: Some(request.method.to_string()),
                path: Some(request.path.clone()),
                query: request.query.clone(),
                status: None,
                headers: headers_of(&request.headers, &mut secrets),
                body: body_value(content_type(&request.headers), &request.body),
            },
            response: Message {
                status: Some(response.status().as_u16()),
                headers: headers_of(response.headers(), &mut secrets),
                body: body_value(content_type(response.headers()), response.body()),
                ..Message::default()
            },
        };
        for body in [&mut cassette.request.body, &mut cassette.response.body] {
            if let Some(b) = body.as_mut() {
                redact_value(b);
            }
        }
        let mut text = serde_json::to_string_pretty(&cassette).map_err(std::io::Error::other)?;
        for secret in secrets {
            text = text.replace(&secret, REDACTED);
        }
        let n = self.recorded.fetch_add(1, Ordering::Relaxed) + 1;
        let name = format!("{n:06}-{}-{}.json", route.id(), response.status().as_u16());
        write_atomically(&dir.join(name), text.as_bytes())
    }
}

impl Replay {
    fn load(dir: &Path) -> std::io::Result<Self> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        if names.len() > MAX_CASSETTES {
            return Err(std::io::Error::other(format!(
                "{} holds {} cassettes, more than {MAX_CASSETTES}",
                dir.display(),
                names.len()
            )));
        }
        names.sort();
        let mut tapes: HashMap<String, (Vec<Cassette>, usize)> = HashMap::new();
        for path in names {
            // The largest answer held, base64-encoded, and room for the rest.
            let limit = (MAX_UPSTREAM_BODY as u64) / 3 * 4 + 1024 * 1024;
            let size = std::fs::metadata(&path)?.len();
            if size > limit {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "{}: {size} bytes, more than a cassette holds ({limit})",
                        path.display()
                    ),
                ));
            }
            let text = std::fs::read(&path)?;
            let cassette: Cassette = serde_json::from_slice(&text).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: not a cassette: {e}", path.display()),
                )
            })?;
            let key = match_key(
                cassette.request.method.as_deref().unwrap_or(""),
                cassette.request.path.as_deref().unwrap_or(""),
                &body_bytes(&cassette.request.body),
            );
            tapes.entry(key).or_default().0.push(cassette);
        }
        Ok(Replay {
            dir: dir.to_path_buf(),
            tapes: Mutex::new(tapes),
        })
    }

    /// The next recorded answer for `request`, if any cassette matches.
    fn answer(&self, request: &super::MockRequest) -> Option<http::Response<Bytes>> {
        let key = match_key(request.method.as_str(), &request.path, &request.body);
        let mut tapes = lock(&self.tapes);
        let (cassettes, played) = tapes.get_mut(&key)?;
        let cassette = &cassettes[(*played).min(cassettes.len() - 1)];
        *played += 1;
        let recorded = &cassette.response;
        let mut response = http::Response::builder().status(recorded.status.unwrap_or(200));
        for (name, value) in &recorded.headers {
            if !hop_by_hop(&name.to_ascii_lowercase()) {
                response = response.header(name, value);
            }
        }
        response.body(Bytes::from(body_bytes(&recorded.body))).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_recognised_by_name() {
        assert!(is_secret_header("x-magnific-api-key"));
        assert!(is_secret_header("Authorization"));
        assert!(!is_secret_header("content-type"));
        let mut v =
            json!({"prompt": "x", "webhook_secret": "s3", "nested": [{"access_token": "t"}]});
        redact_value(&mut v);
        assert_eq!(v["webhook_secret"], REDACTED);
        assert_eq!(v["nested"][0]["access_token"], REDACTED);
        assert_eq!(v["prompt"], "x");
    }

    #[test]
    fn a_deviations_message_is_bounded() {
        let long = format!("\"{}\" is not one of \"a\"", "é".repeat(100_000));
        let kept = excerpt(long);
        assert_eq!(kept.chars().count(), MESSAGE_CHARS + 3);
        assert_eq!(excerpt("short".into()), "short");
    }

    #[test]
    fn replay_matches_json_bodies_by_value() {
        assert_eq!(
            match_key("POST", "/v1/videos", br#"{"a": 1, "b": [2]}"#),
            match_key("POST", "/v1/videos", br#"{"b":[2],"a":1}"#)
        );
        assert_ne!(
            match_key("POST", "/v1/videos", br#"{"a": 1}"#),
            match_key("POST", "/v1/videos", br#"{"a": 2}"#)
        );
    }

    #[test]
    fn bodies_survive_a_cassette() {
        for (ct, body) in [
            (Some("application/json"), br#"{"a":1}"#.to_vec()),
            (Some("video/mp4"), vec![0, 159, 146, 150]),
            (Some("text/plain"), b"hello".to_vec()),
        ] {
            assert_eq!(body_bytes(&body_value(ct, &body)), body);
        }
    }
}
