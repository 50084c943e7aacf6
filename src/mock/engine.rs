//! The mock's logic, independent of any transport: an HTTP request in, a
//! reply out. The hyper server and the wiremock adapter both host it.
//!
//! Order of work for each request: the admin API (under `/__mock/`), route
//! matching (404, or 405 with `Allow`), a `Prefer: code=N` answer, injected
//! faults, the provider's auth, then the operation itself (routes.rs).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use serde_json::{json, Value};

use super::config::MockConfig;
use super::faults::{Fault, FaultKind};
use super::journal::{JournalEntry, Ring};
use super::routes;
use super::state::{Phase, Tasks};
use super::webhooks::Webhooks;
use crate::Provider;

/// A request as the engine sees it.
#[derive(Debug, Clone)]
pub struct MockRequest {
    /// HTTP method.
    pub method: Method,
    /// Path, without the query.
    pub path: String,
    /// Query string, if any.
    pub query: Option<String>,
    /// Headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

/// Where result URLs live.
const VIDEOS: &str = "/__mock/videos/";

/// The route name faults use for result URLs (besides a path prefix).
pub const VIDEO_OPERATION: &str = "video";

/// What to do with a request.
#[derive(Debug)]
pub enum Reply {
    /// Answer, after `delay`.
    Respond {
        /// The answer.
        response: http::Response<Bytes>,
        /// Injected latency.
        delay: Duration,
    },
    /// Close the connection without answering, after `delay`.
    Drop {
        /// Injected latency.
        delay: Duration,
    },
}

impl Reply {
    /// The status answered, or 0 for a dropped connection.
    pub fn status(&self) -> u16 {
        match self {
            Reply::Respond { response, .. } => response.status().as_u16(),
            Reply::Drop { .. } => 0,
        }
    }
}

pub(crate) struct Shared {
    pub config: MockConfig,
    pub tasks: Mutex<Tasks>,
    pub faults: Mutex<Vec<(Fault, u32)>>,
    pub journal: Mutex<Ring<JournalEntry>>,
    pub webhooks: Webhooks,
    pub rng: Mutex<fastrand::Rng>,
    pub started: Instant,
}

/// The mock engine. Cheap to clone; clones share all state.
#[derive(Clone)]
pub struct Engine {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("tasks", &self.lock_tasks().len())
            .finish_non_exhaustive()
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A JSON response.
pub(crate) fn json_response(
    status: u16,
    content_type: &str,
    body: &Value,
) -> http::Response<Bytes> {
    let mut response = http::Response::new(Bytes::from(
        serde_json::to_vec(body).expect("JSON values serialise"),
    ));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        content_type.parse().expect("a valid media type"),
    );
    response
}

/// `provider`'s error body for `status`.
pub(crate) fn provider_error(
    provider: Provider,
    status: u16,
    message: &str,
) -> http::Response<Bytes> {
    let body = match provider {
        Provider::Magnific => json!({ "message": message }),
        Provider::Anyfast => {
            let code = match status {
                400 => "invalid_request",
                401 => "invalid_api_key",
                404 => "task_not_found",
                413 => "request_too_large",
                429 => "rate_limited",
                503 => "service_unavailable",
                _ => "internal_error",
            };
            json!({ "error": { "code": code, "message": message } })
        }
        Provider::Powertokens => {
            json!({ "error": { "message": message, "type": "invalid_request_error" } })
        }
    };
    json_response(status, "application/json", &body)
}

impl Engine {
    /// An engine with `config`.
    pub fn new(config: MockConfig) -> Self {
        let faults = config.faults.iter().cloned().map(|f| (f, 0)).collect();
        Engine {
            shared: Arc::new(Shared {
                tasks: Mutex::new(Tasks::new(config.max_tasks)),
                faults: Mutex::new(faults),
                journal: Mutex::new(Ring::new(config.journal_size)),
                webhooks: Webhooks::new(
                    config.webhook_secret.clone(),
                    config.webhook_retry_delays.clone(),
                    config.max_deliveries,
                ),
                rng: Mutex::new(fastrand::Rng::with_seed(config.seed)),
                started: Instant::now(),
                config,
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &MockConfig {
        &self.shared.config
    }

    pub(crate) fn lock_tasks(&self) -> MutexGuard<'_, Tasks> {
        lock(&self.shared.tasks)
    }

    /// Answers one request.
    pub fn handle(&self, request: MockRequest) -> Reply {
        // Result URLs live under /__mock/videos/ but behave like the API:
        // faults fire on them and the request journal records them.
        let video =
            request.path.starts_with(VIDEOS) && matches!(request.method.as_str(), "GET" | "HEAD");
        let admin = request.path.starts_with("/__mock/") && !video;
        let (operation, reply) = if video {
            (Some(VIDEO_OPERATION), self.video(&request))
        } else if let (true, Some(refused)) = (admin, self.admin_refusal(&request)) {
            (
                None,
                Reply::Respond {
                    response: refused,
                    delay: Duration::ZERO,
                },
            )
        } else if admin {
            (
                None,
                Reply::Respond {
                    response: self.admin(&request),
                    delay: Duration::ZERO,
                },
            )
        } else {
            self.api(&request)
        };
        if !admin {
            let path = match &request.query {
                Some(q) => format!("{}?{q}", request.path),
                None => request.path.clone(),
            };
            let at_ms = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis() as u64;
            lock(&self.shared.journal).push(JournalEntry {
                at_ms,
                method: request.method.to_string(),
                path,
                operation: operation.map(String::from),
                status: reply.status(),
            });
        }
        reply
    }

    fn api(&self, request: &MockRequest) -> (Option<&'static str>, Reply) {
        let respond = |response| Reply::Respond {
            response,
            delay: Duration::ZERO,
        };
        let (provider, operation, op) = match routes::resolve(&request.method, &request.path) {
            routes::Resolved::Found {
                provider,
                operation,
                op,
            } => (provider, operation, op),
            routes::Resolved::WrongMethod { provider, allow } => {
                let mut response = provider_error(
                    provider,
                    405,
                    &format!("Method {} not allowed", request.method),
                );
                response.headers_mut().insert(
                    http::header::ALLOW,
                    allow.parse().expect("static method list"),
                );
                return (None, respond(response));
            }
            routes::Resolved::NotFound => {
                return (
                    None,
                    respond(json_response(
                        404,
                        "application/json",
                        &json!({ "message": "Not found" }),
                    )),
                )
            }
        };
        // Auth first: a `Prefer` header does not get past a missing key.
        if let Some(refused) = self.refusal(provider, &request.headers) {
            return (Some(operation), respond(refused));
        }
        if let Some(code) = prefer_code(&request.headers) {
            return (
                Some(operation),
                respond(preferred(provider, operation, code)),
            );
        }
        let mut delay = Duration::ZERO;
        for kind in self.fired_faults(operation, &request.path) {
            match kind {
                FaultKind::Latency(d) => delay += d,
                FaultKind::Drop => return (Some(operation), Reply::Drop { delay }),
                FaultKind::RateLimited { retry_after_secs } => {
                    let mut response = match provider {
                        Provider::Magnific => json_response(
                            429,
                            "application/json",
                            &json!({ "message": "Too many requests" }),
                        ),
                        other => provider_error(other, 429, "Too many requests"),
                    };
                    response
                        .headers_mut()
                        .insert(http::header::RETRY_AFTER, retry_after_secs.into());
                    return (Some(operation), Reply::Respond { response, delay });
                }
                FaultKind::Status(code) => {
                    return (
                        Some(operation),
                        Reply::Respond {
                            response: example_or_error(provider, operation, code),
                            delay,
                        },
                    )
                }
            }
        }
        let response = match () {
            () if request.body.len() > self.config().body_limit => provider_error(
                provider,
                413,
                &format!(
                    "Request body is larger than {} bytes",
                    self.config().body_limit
                ),
            ),
            () => self.operate(provider, operation, op, request),
        };
        (Some(operation), Reply::Respond { response, delay })
    }

    /// A result URL: faults first (route `video` or a path prefix such as
    /// `/__mock/videos`), then the MP4, or just its headers for HEAD.
    fn video(&self, request: &MockRequest) -> Reply {
        let mut delay = Duration::ZERO;
        for kind in self.fired_faults(VIDEO_OPERATION, &request.path) {
            match kind {
                FaultKind::Latency(d) => delay += d,
                FaultKind::Drop => return Reply::Drop { delay },
                FaultKind::RateLimited { retry_after_secs } => {
                    let mut response = json_response(
                        429,
                        "application/json",
                        &json!({ "message": "Too many requests" }),
                    );
                    response
                        .headers_mut()
                        .insert(http::header::RETRY_AFTER, retry_after_secs.into());
                    return Reply::Respond { response, delay };
                }
                FaultKind::Status(code) => {
                    let response = json_response(
                        code,
                        "application/json",
                        &json!({ "message": format!("injected {code}") }),
                    );
                    return Reply::Respond { response, delay };
                }
            }
        }
        let name = &request.path[VIDEOS.len()..];
        let id = name.strip_suffix(".mp4").unwrap_or(name);
        let mut response = self.video_file(id);
        if request.method == http::Method::HEAD {
            let length = response.body().len();
            *response.body_mut() = Bytes::new();
            response
                .headers_mut()
                .insert(http::header::CONTENT_LENGTH, length.into());
        }
        Reply::Respond { response, delay }
    }

    /// The faults that fire for this request, in configuration order.
    fn fired_faults(&self, operation: &str, path: &str) -> Vec<FaultKind> {
        let mut faults = lock(&self.shared.faults);
        let mut rng = lock(&self.shared.rng);
        faults
            .iter_mut()
            .filter(|(f, _)| f.covers(operation, path))
            .filter_map(|(f, seen)| {
                *seen += 1;
                f.fires(*seen, rng.f64()).then_some(f.kind)
            })
            .collect()
    }

    /// The provider's 401 if the request's key is missing or unknown.
    fn refusal(&self, provider: Provider, headers: &HeaderMap) -> Option<http::Response<Bytes>> {
        let keys = &self.config().api_keys;
        let known = |key: &str| keys.iter().any(|k| k == key);
        match provider {
            Provider::Magnific => match headers
                .get("x-magnific-api-key")
                .and_then(|v| v.to_str().ok())
            {
                None => Some(provider_error(provider, 401, "Missing API key")),
                Some(key) if known(key) => None,
                Some(_) => Some(provider_error(provider, 401, "Invalid API key")),
            },
            Provider::Anyfast | Provider::Powertokens => {
                let token = headers
                    .get(http::header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "));
                let message = match token {
                    None => "Missing bearer token",
                    Some(token) if known(token) => return None,
                    Some(_) => "Invalid token",
                };
                let mut response = provider_error(provider, 401, message);
                response.headers_mut().insert(
                    http::header::WWW_AUTHENTICATE,
                    "Bearer".parse().expect("static"),
                );
                Some(response)
            }
        }
    }

    /// The admin API is open on loopback; elsewhere it needs the admin key,
    /// and without one configured it is closed.
    fn admin_refusal(&self, request: &MockRequest) -> Option<http::Response<Bytes>> {
        let given = request
            .headers
            .get("x-mock-admin-key")
            .and_then(|v| v.to_str().ok());
        let message = match (&self.config().admin_key, given) {
            (Some(key), Some(given)) if key.as_bytes() == given.as_bytes() => return None,
            (Some(_), _) => "the admin API needs the admin key in x-mock-admin-key",
            (None, _) if self.config().loopback => return None,
            (None, _) => {
                "the admin API is closed: the mock listens beyond loopback without --admin-key"
            }
        };
        Some(json_response(
            403,
            "application/json",
            &json!({ "message": message }),
        ))
    }

    fn admin(&self, request: &MockRequest) -> http::Response<Bytes> {
        let ok = |body: Value| json_response(200, "application/json", &body);
        let path = request.path.trim_start_matches("/__mock");
        match (request.method.as_str(), path) {
            ("GET", "/health") => {
                let tasks = self.lock_tasks();
                ok(json!({
                    "status": "ok",
                    "uptime_ms": self.shared.started.elapsed().as_millis() as u64,
                    "tasks": tasks.len(),
                    "tasks_evicted": tasks.evicted,
                    "requests_seen": lock(&self.shared.journal).total(),
                }))
            }
            ("GET", "/requests") => ok(json!(lock(&self.shared.journal).snapshot())),
            ("GET", "/webhooks") => ok(json!(self.shared.webhooks.deliveries())),
            ("POST", "/reset") => {
                self.lock_tasks().clear();
                lock(&self.shared.journal).clear();
                lock(&self.shared.faults).clear();
                self.shared.webhooks.clear();
                ok(json!({ "reset": true }))
            }
            ("GET", "/faults") => ok(self.faults_json()),
            ("DELETE", "/faults") => {
                lock(&self.shared.faults).clear();
                ok(self.faults_json())
            }
            ("POST", "/faults") => {
                let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
                let list = body.get("faults").unwrap_or(&body);
                let parsed: Result<Vec<Fault>, String> = match list.as_array() {
                    Some(items) => items
                        .iter()
                        .map(|f| {
                            f.as_str()
                                .unwrap_or_default()
                                .parse()
                                .map_err(|e: super::faults::FaultParseError| e.to_string())
                        })
                        .collect(),
                    None => Err("expected {\"faults\": [\"ROUTE:KIND[:WHEN]\", ...]}".into()),
                };
                match parsed {
                    Ok(new) => {
                        lock(&self.shared.faults).extend(new.into_iter().map(|f| (f, 0)));
                        ok(self.faults_json())
                    }
                    Err(e) => json_response(400, "application/json", &json!({ "message": e })),
                }
            }
            ("POST", p) if p.starts_with("/tasks/") => {
                self.force_outcome(&p["/tasks/".len()..], &request.body)
            }
            _ => json_response(
                404,
                "application/json",
                &json!({ "message": format!("no admin route {} {}", request.method, request.path) }),
            ),
        }
    }

    fn faults_json(&self) -> Value {
        json!({ "faults": lock(&self.shared.faults).iter().map(|(f, _)| f.to_string()).collect::<Vec<_>>() })
    }

    fn force_outcome(&self, id: &str, body: &[u8]) -> http::Response<Bytes> {
        let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let phase = match body["outcome"].as_str() {
            Some("completed") => Phase::Completed,
            Some("failed") => Phase::Failed,
            Some("in_progress" | "stuck") => Phase::InProgress,
            Some("created") => Phase::Created,
            _ => {
                return json_response(
                    400,
                    "application/json",
                    &json!({ "message": "expected {\"outcome\": \"completed\" | \"failed\" | \"in_progress\" | \"created\"}" }),
                )
            }
        };
        let mut tasks = self.lock_tasks();
        match tasks.get_mut(id) {
            Some(task) => {
                task.forced = Some(phase);
                self.observe(task);
                json_response(
                    200,
                    "application/json",
                    &json!({ "task_id": id, "outcome": body["outcome"] }),
                )
            }
            None => json_response(
                404,
                "application/json",
                &json!({ "message": format!("no task {id}") }),
            ),
        }
    }

    /// The 413 for a body over the limit, in the addressed provider's shape.
    pub fn too_large(&self, method: &Method, path: &str) -> http::Response<Bytes> {
        let message = format!(
            "Request body is larger than {} bytes",
            self.config().body_limit
        );
        let response = match routes::resolve(method, path) {
            routes::Resolved::Found { provider, .. }
            | routes::Resolved::WrongMethod { provider, .. } => {
                provider_error(provider, 413, &message)
            }
            routes::Resolved::NotFound => {
                json_response(413, "application/json", &json!({ "message": message }))
            }
        };
        lock(&self.shared.journal).push(JournalEntry {
            at_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis() as u64,
            method: method.to_string(),
            path: path.to_string(),
            operation: None,
            status: 413,
        });
        response
    }

    /// Every request received and answered, newest last (a bounded ring).
    pub fn requests(&self) -> Vec<JournalEntry> {
        lock(&self.shared.journal).snapshot()
    }

    /// Webhook deliveries, newest last (a bounded ring).
    pub fn deliveries(&self) -> Vec<super::webhooks::Delivery> {
        self.shared.webhooks.deliveries()
    }

    /// How many tasks are held now.
    pub fn task_count(&self) -> usize {
        self.lock_tasks().len()
    }
}

fn prefer_code(headers: &HeaderMap) -> Option<u16> {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([',', ';']))
        .find_map(|part| part.trim().strip_prefix("code=")?.trim().parse().ok())
}

/// The document's own example for `operation` and `status`, as Prism would
/// answer a `Prefer: code=` header (the provider's error shape when the
/// status has no example); a status the operation does not document gets
/// Prism's own answer, a 404 problem+json. `--fault` injects anything.
fn preferred(provider: Provider, operation: &str, status: u16) -> http::Response<Bytes> {
    if !super::validate::documents_status(operation, status) {
        return json_response(
            404,
            "application/problem+json",
            &json!({
                "type": "https://stoplight.io/prism/errors#NOT_FOUND",
                "title": "The server cannot find the requested content",
                "status": 404,
                "detail": format!("Requested status code {status} is not defined in the document."),
            }),
        );
    }
    example_or_error(provider, operation, status)
}

/// The document's example for `operation` and `status` if it has one, else
/// the provider's error shape; what a `--fault` status answers.
fn example_or_error(provider: Provider, operation: &str, status: u16) -> http::Response<Bytes> {
    match crate::fixtures::examples(operation, Some(status))
        .find(|e| e.content_type == "application/json")
    {
        Some(example) => json_response(status, "application/json", &example.value()),
        None => {
            let reason = StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("Error");
            provider_error(provider, status, reason)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefer_code_is_read_among_other_preferences() {
        let mut h = HeaderMap::new();
        h.insert("prefer", "return=minimal, code=503".parse().unwrap());
        assert_eq!(prefer_code(&h), Some(503));
        h.insert("prefer", "example=x".parse().unwrap());
        assert_eq!(prefer_code(&h), None);
    }

    #[test]
    fn preferred_codes_answer_with_the_documents_examples() {
        let r = preferred(Provider::Magnific, "create_video_seedance_2_mini_720p", 503);
        assert_eq!(
            r.body().as_ref(),
            br#"{"message":"Service Unavailable. Please try again later."}"#
        );
        let r = preferred(Provider::Powertokens, "getVideoContent", 404);
        assert_eq!(
            serde_json::from_slice::<Value>(r.body()).unwrap()["error"]["message"],
            "Task not found"
        );
    }
}
