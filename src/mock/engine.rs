//! The mock's logic, independent of any transport: an HTTP request in, a
//! reply out. The hyper server and the wiremock adapter both host it.
//!
//! Order of work for each request: the admin API (under `/__mock/`, see
//! admin.rs), routing from the documents' operations (router.rs: 404, or 405
//! with `Allow`), the provider's auth, a `Prefer: code=N` answer, the
//! effects of any faults that fire, then the operation: the engine does what
//! is common to all providers (parse, validate, store, look up, advance the
//! lifecycle) and asks the provider's [`Behaviour`] for everything that is
//! its own.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use serde_json::{json, Value};

use super::config::MockConfig;
use super::faults::{Effect, FaultTable};
use super::journal::{JournalEntry, Ring};
use super::providers::{self, Behaviour, Op};
use super::proxy::Proxy;
use super::respond::{json_bytes, json_response, mp4_response};
use super::router::{self, Resolved, Route};
use super::state::{Phase, Refused, Tasks};
use super::validate::check_request_text;
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
    /// The client's address, when the host knows it (rate limits count per address).
    pub peer: Option<std::net::IpAddr>,
}

/// Where result URLs live.
const VIDEOS: &str = "/__mock/videos/";

/// The route name faults use for result URLs (besides a path prefix).
pub const VIDEO_OPERATION: &str = "video";

/// How many ids a create draws before giving up because each is in use.
const ID_DRAWS: usize = 8;

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

    fn now(response: http::Response<Bytes>) -> Self {
        Reply::Respond {
            response,
            delay: Duration::ZERO,
        }
    }
}

pub(crate) struct Shared {
    pub config: MockConfig,
    pub tasks: Mutex<Tasks>,
    pub faults: FaultTable,
    pub journal: Mutex<Ring<JournalEntry>>,
    pub webhooks: Webhooks,
    pub rng: Mutex<fastrand::Rng>,
    pub started: Instant,
    pub proxy: Option<Proxy>,
    pub limits: super::ratelimit::Limits,
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

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

impl Engine {
    /// An engine with `config`. It plays every provider itself: forwarding
    /// (`upstreams`, `record`, `replay`) needs the hyper host, which builds
    /// its engine with [`Engine::with_proxy`].
    pub fn new(config: MockConfig) -> Self {
        Self::build(config, None)
    }

    /// An engine that also forwards, records or replays as `config` says;
    /// fails when the record directory cannot be made or a cassette in the
    /// replay directory cannot be read.
    pub fn with_proxy(config: MockConfig) -> std::io::Result<Self> {
        let proxy = match (config.upstreams.is_empty(), &config.replay) {
            (true, None) => None,
            _ => Some(Proxy::new(
                config.upstreams.clone(),
                config.record.clone(),
                config.replay.clone(),
            )?),
        };
        Ok(Self::build(config, proxy))
    }

    fn build(config: MockConfig, proxy: Option<Proxy>) -> Self {
        Engine {
            shared: Arc::new(Shared {
                tasks: Mutex::new({
                    let mut tasks = Tasks::new(config.max_tasks);
                    tasks.spread = !config.lifecycle_spread.is_zero();
                    tasks
                }),
                faults: FaultTable::new(&config.faults),
                journal: Mutex::new(Ring::new(config.journal_size)),
                webhooks: Webhooks::new(
                    config.webhook_secret.clone(),
                    config.webhook_retry_delays.clone(),
                    config.max_deliveries,
                ),
                rng: Mutex::new(fastrand::Rng::with_seed(config.seed)),
                started: Instant::now(),
                proxy,
                limits: super::ratelimit::Limits::new(config.rate_limits.clone()),
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

    /// The route of a request the proxy answers (its provider forwarded or
    /// replayed), if any.
    pub(crate) fn proxied(&self, request: &MockRequest) -> Option<Route> {
        let proxy = self.shared.proxy.as_ref()?;
        match router::resolve(&request.method, &request.path) {
            Resolved::Found(route) if proxy.covers(route.provider()) => Some(route),
            _ => None,
        }
    }

    /// Answers a request through the proxy (see [`Engine::proxied`]), and
    /// records it in the request journal.
    pub(crate) async fn forward(&self, route: Route, request: MockRequest) -> Reply {
        let proxy = self.shared.proxy.as_ref().expect("proxied() said so");
        let response = proxy.forward(&route, &request).await;
        self.journal(&request, Some(route.id()), response.status().as_u16());
        Reply::now(response)
    }

    /// Deviations from the documents the proxy has seen, oldest first
    /// (empty without `--upstream` or `--replay`).
    pub fn deviations(&self) -> Vec<super::Deviation> {
        self.shared
            .proxy
            .as_ref()
            .map(Proxy::deviations)
            .unwrap_or_default()
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
            (None, Reply::now(refused))
        } else if admin {
            (None, Reply::now(self.admin(&request)))
        } else {
            self.api(&request)
        };
        if !admin {
            // The request is done with: its path moves into the journal.
            let MockRequest {
                method,
                mut path,
                query,
                ..
            } = request;
            if let Some(query) = query {
                path.push('?');
                path.push_str(&query);
            }
            self.record(&method, path, operation, reply.status());
        }
        reply
    }

    /// Records a request and its answer in the request journal.
    fn journal(&self, request: &MockRequest, operation: Option<&'static str>, status: u16) {
        let path = match &request.query {
            Some(q) => format!("{}?{q}", request.path),
            None => request.path.clone(),
        };
        self.record(&request.method, path, operation, status);
    }

    /// Adds an entry to the request journal.
    fn record(&self, method: &Method, path: String, operation: Option<&'static str>, status: u16) {
        let entry = JournalEntry {
            at_ms: unix_ms(),
            method: method.to_string(),
            path,
            operation,
            status,
        };
        // The displaced entry is freed after the lock is let go.
        let displaced = lock(&self.shared.journal).push(entry);
        drop(displaced);
    }

    fn api(&self, request: &MockRequest) -> (Option<&'static str>, Reply) {
        let route = match router::resolve(&request.method, &request.path) {
            Resolved::Found(route) => route,
            Resolved::WrongMethod { provider, allow } => {
                let mut response = providers::of(provider)
                    .error(405, &format!("Method {} not allowed", request.method));
                response
                    .headers_mut()
                    .insert(http::header::ALLOW, allow.parse().expect("a method list"));
                return (None, Reply::now(response));
            }
            Resolved::NotFound => {
                let response =
                    json_response(404, "application/json", &json!({ "message": "Not found" }));
                return (None, Reply::now(response));
            }
        };
        let operation = route.id();
        let behaviour = providers::of(route.provider());
        if let Err(wait) = self
            .shared
            .limits
            .admit(route.provider(), request.peer, Instant::now())
        {
            let mut response = behaviour.error(429, "Too many requests");
            if self.shared.limits.retry_after() {
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                response
                    .headers_mut()
                    .insert(http::header::RETRY_AFTER, secs.max(1).into());
            }
            return (Some(operation), Reply::now(response));
        }
        // Auth first: a `Prefer` header does not get past a missing key.
        let keys = &self.config().api_keys;
        if let Some(refused) =
            behaviour.refusal(&request.headers, &|key| keys.iter().any(|k| k == key))
        {
            return (Some(operation), Reply::now(refused));
        }
        if let Some(code) = prefer_code(&request.headers) {
            return (
                Some(operation),
                Reply::now(preferred(behaviour, operation, code)),
            );
        }
        let delay = match self.fault_effects(operation, &request.path, |status, retry_after| {
            match retry_after {
                Some(_) => behaviour.error(status, "Too many requests"),
                None => example_or_error(behaviour, operation, status),
            }
        }) {
            Ok(delay) => delay,
            Err(reply) => return (Some(operation), *reply),
        };
        let response = if request.body.len() > self.config().body_limit {
            behaviour.error(
                413,
                &format!(
                    "Request body is larger than {} bytes",
                    self.config().body_limit
                ),
            )
        } else {
            self.operate(behaviour, &route, request)
        };
        (Some(operation), Reply::Respond { response, delay })
    }

    /// Applies the effects of the faults that fire for this request: the
    /// summed delay, or the whole reply when one drops the connection or
    /// answers in the request's place (`answer(status, retry_after)` builds
    /// that answer).
    fn fault_effects(
        &self,
        operation: &str,
        path: &str,
        answer: impl Fn(u16, Option<u64>) -> http::Response<Bytes>,
    ) -> Result<Duration, Box<Reply>> {
        let mut delay = Duration::ZERO;
        for effect in self.fired_faults(operation, path) {
            match effect {
                Effect::Delay(d) => delay += d,
                Effect::Drop => return Err(Box::new(Reply::Drop { delay })),
                Effect::Answer {
                    status,
                    retry_after,
                } => {
                    let mut response = answer(status, retry_after);
                    if let Some(secs) = retry_after {
                        response
                            .headers_mut()
                            .insert(http::header::RETRY_AFTER, secs.into());
                    }
                    return Err(Box::new(Reply::Respond { response, delay }));
                }
            }
        }
        Ok(delay)
    }

    /// A result URL: faults first (route `video` or a path prefix such as
    /// `/__mock/videos`), then the MP4, or just its headers for HEAD.
    fn video(&self, request: &MockRequest) -> Reply {
        let delay =
            match self.fault_effects(VIDEO_OPERATION, &request.path, |status, retry_after| {
                let message = match retry_after {
                    Some(_) => "Too many requests".to_string(),
                    None => format!("injected {status}"),
                };
                json_response(status, "application/json", &json!({ "message": message }))
            }) {
                Ok(delay) => delay,
                Err(reply) => return *reply,
            };
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

    /// The effects of the faults that fire for this request, in
    /// configuration order.
    fn fired_faults(&self, operation: &str, path: &str) -> Vec<Effect> {
        self.shared
            .faults
            .fire(operation, path, || lock(&self.shared.rng).f64())
    }

    /// Does what `route` asks, with the provider's own shapes.
    fn operate(
        &self,
        behaviour: &dyn Behaviour,
        route: &Route,
        request: &MockRequest,
    ) -> http::Response<Bytes> {
        let base = || base_url(self.config().public_url.as_deref(), request);
        let Some(op) = behaviour.op(route.id(), route.param.clone()) else {
            return behaviour.error(501, "the mock does not play this operation");
        };
        match op {
            Op::Create(resolution) => self.create(behaviour, route, request, resolution, base),
            Op::List(resolution) => self.list(behaviour, route.provider(), resolution),
            Op::Get(id) => self.get(behaviour, route.provider(), &id, &base()),
            Op::Content(id) => self.content(behaviour, route.provider(), &id),
        }
    }

    /// Checks the body, makes an id, stores the task the provider describes,
    /// and answers what it says.
    fn create(
        &self,
        behaviour: &dyn Behaviour,
        route: &Route,
        request: &MockRequest,
        resolution: Option<crate::Resolution>,
        base: impl Fn() -> String,
    ) -> http::Response<Bytes> {
        let is_json = request
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/json") || ct.contains("+json"));
        // 400, not 415: the documents list 400 for a bad request and no 415.
        if !is_json {
            return behaviour.error(
                400,
                "The request body must be JSON (Content-Type: application/json)",
            );
        }
        let body: Value = match serde_json::from_slice(&request.body) {
            Ok(body) => body,
            Err(e) => {
                return behaviour.error(400, &format!("The request body is not valid JSON: {e}"))
            }
        };
        let problems = check_request_text(route.id(), &body, &request.body);
        if !problems.is_empty() {
            let accepts_problem = request
                .headers
                .get(http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|a| a.contains("application/problem+json"));
            return behaviour.invalid(&problems, accepts_problem);
        }
        // An id already held is drawn again: a provider's ids may be short
        // (Anyfast's), and two tasks must never share one.
        for _ in 0..ID_DRAWS {
            let id = behaviour.new_id(&mut lock(&self.shared.rng));
            let (mut task, reply) = behaviour.create(resolution, &body, &id);
            let spread = self.config().lifecycle_spread;
            if !spread.is_zero() {
                task.late = spread.mul_f64(lock(&self.shared.rng).f64());
            }
            let late = task.late;
            let announces = task.webhook_url.is_some();
            if announces {
                task.base_url = base();
            }
            let id = task.id.clone();
            match self.lock_tasks().insert(task, self.config().lifecycle) {
                Ok(()) => {
                    if announces {
                        self.schedule_announcements(id, late);
                    }
                    return json_bytes(200, "application/json", reply);
                }
                Err(Refused::IdTaken) => continue,
                Err(Refused::Full { unfinished }) => {
                    return behaviour.error(
                        503,
                        &format!(
                            "the mock holds {unfinished} unfinished tasks, twice --max-tasks; finish or reset some"
                        ),
                    )
                }
            }
        }
        behaviour.error(500, "the mock drew only task ids already in use")
    }

    /// The provider's tasks (of one resolution), oldest first. Only
    /// Magnific lists, as `{"data":[{"task_id","status"}]}`. The lock is
    /// held only to copy each id (a pointer) and phase; the answer is
    /// written after, so a list of the whole cap does not stall other
    /// requests.
    fn list(
        &self,
        behaviour: &dyn Behaviour,
        provider: Provider,
        resolution: Option<crate::Resolution>,
    ) -> http::Response<Bytes> {
        // Fields in the order the answer has always had them (alphabetical,
        // as serde_json's map wrote them).
        #[derive(serde::Serialize)]
        struct Entry<'a> {
            status: &'static str,
            task_id: &'a str,
        }
        #[derive(serde::Serialize)]
        struct List<'a> {
            data: Vec<Entry<'a>>,
        }
        let mut listed: Vec<(Arc<str>, Phase)> = Vec::new();
        self.lock_tasks().each(provider, resolution, |id, task| {
            listed.push((id.clone(), self.observe(task)));
        });
        let list = List {
            data: listed
                .iter()
                .map(|(id, phase)| Entry {
                    status: behaviour.status_word(*phase),
                    task_id: id,
                })
                .collect(),
        };
        json_bytes(
            200,
            "application/json",
            serde_json::to_vec(&list).expect("strings serialise"),
        )
    }

    fn get(
        &self,
        behaviour: &dyn Behaviour,
        provider: Provider,
        id: &str,
        base: &str,
    ) -> http::Response<Bytes> {
        let mut tasks = self.lock_tasks();
        let Some(task) = tasks.get_mut(id).filter(|t| t.provider == provider) else {
            return behaviour.unknown_task();
        };
        task.reads += 1;
        let phase = self.observe(task);
        json_response(200, "application/json", &behaviour.task(task, phase, base))
    }

    fn content(
        &self,
        behaviour: &dyn Behaviour,
        provider: Provider,
        id: &str,
    ) -> http::Response<Bytes> {
        let mut tasks = self.lock_tasks();
        let Some(task) = tasks.get_mut(id).filter(|t| t.provider == provider) else {
            return behaviour.error(404, "Task not found");
        };
        match self.observe(task) {
            Phase::Completed if task.expired(self.config().video_ttl) => {
                behaviour.error(404, "Video has expired")
            }
            Phase::Completed => mp4_response(&task.video),
            phase => behaviour.not_ready(phase),
        }
    }

    /// The phase now; announces any change by webhook.
    pub(crate) fn observe(&self, task: &mut super::state::TaskRecord) -> Phase {
        let phase = task.phase(self.config().lifecycle);
        if phase > task.announced {
            if let (Some(url), Ok(runtime)) = (
                task.webhook_url.clone(),
                tokio::runtime::Handle::try_current(),
            ) {
                let behaviour = providers::of(task.provider);
                for step in [Phase::InProgress, Phase::Completed, Phase::Failed] {
                    if step > task.announced
                        && step <= phase
                        && !(step == Phase::Completed && phase == Phase::Failed)
                    {
                        if let Some(payload) = behaviour.announcement(task, step) {
                            self.shared.webhooks.send(&runtime, url.clone(), payload);
                        }
                    }
                }
            }
            task.announced = phase;
        }
        phase
    }

    /// On a clock lifecycle, looks at the task when each phase is due, so
    /// webhooks go out without anyone polling.
    fn schedule_announcements(&self, id: Arc<str>, late: Duration) {
        let (
            super::config::Lifecycle::Clock {
                in_progress_after,
                done_after,
            },
            Ok(runtime),
        ) = (
            self.config().lifecycle,
            tokio::runtime::Handle::try_current(),
        )
        else {
            return;
        };
        let engine = self.clone();
        runtime.spawn(async move {
            for wait in [
                in_progress_after,
                (done_after + late).saturating_sub(in_progress_after),
            ] {
                tokio::time::sleep(wait).await;
                let mut tasks = engine.lock_tasks();
                match tasks.get_mut(&id) {
                    Some(task) => {
                        engine.observe(task);
                    }
                    None => return,
                }
            }
        });
    }

    fn video_file(&self, id: &str) -> http::Response<Bytes> {
        let mut tasks = self.lock_tasks();
        let Some(task) = tasks.get_mut(id) else {
            return json_response(404, "application/json", &json!({ "message": "Not found" }));
        };
        let behaviour = providers::of(task.provider);
        match self.observe(task) {
            Phase::Completed if task.expired(self.config().video_ttl) => {
                behaviour.error(404, "The video URL has expired")
            }
            Phase::Completed => mp4_response(&task.video),
            _ => behaviour.error(404, "Not found"),
        }
    }

    /// The 413 for a body over the limit, in the addressed provider's shape.
    pub fn too_large(&self, method: &Method, path: &str) -> http::Response<Bytes> {
        let message = format!(
            "Request body is larger than {} bytes",
            self.config().body_limit
        );
        let response = match router::resolve(method, path) {
            Resolved::Found(route) => providers::of(route.provider()).error(413, &message),
            Resolved::WrongMethod { provider, .. } => providers::of(provider).error(413, &message),
            Resolved::NotFound => {
                json_response(413, "application/json", &json!({ "message": message }))
            }
        };
        self.record(method, path.to_string(), None, 413);
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

/// The base of result URLs: the configured public URL, else the mock's own
/// address as the client reached it.
fn base_url(public: Option<&str>, request: &MockRequest) -> String {
    if let Some(url) = public {
        return url.to_string();
    }
    let host = request
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
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
fn preferred(behaviour: &dyn Behaviour, operation: &str, status: u16) -> http::Response<Bytes> {
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
    example_or_error(behaviour, operation, status)
}

/// The document's example for `operation` and `status` if it has one, else
/// the provider's error shape; what a `--fault` status answers.
fn example_or_error(
    behaviour: &dyn Behaviour,
    operation: &str,
    status: u16,
) -> http::Response<Bytes> {
    match crate::fixtures::examples(operation, Some(status))
        .find(|e| e.content_type == "application/json")
    {
        Some(example) => json_response(status, "application/json", &example.value()),
        None => {
            let reason = behaviour.status_message(status).unwrap_or_else(|| {
                StatusCode::from_u16(status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("Error")
            });
            behaviour.error(status, reason)
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
    fn magnifics_get_and_list_answer_503_in_its_own_words() {
        let magnific = providers::of(Provider::Magnific);
        for operation in ["get_seedance_2_mini_task", "get_seedance_2_mini_tasks"] {
            let r = example_or_error(magnific, operation, 503);
            assert_eq!(
                r.body().as_ref(),
                br#"{"message":"Service Unavailable. Please try again later."}"#,
                "{operation}"
            );
        }
    }

    #[test]
    fn preferred_codes_answer_with_the_documents_examples() {
        let magnific = providers::of(Provider::Magnific);
        let r = preferred(magnific, "create_video_seedance_2_mini_720p", 503);
        assert_eq!(
            r.body().as_ref(),
            br#"{"message":"Service Unavailable. Please try again later."}"#
        );
        let powertokens = providers::of(Provider::Powertokens);
        let r = preferred(powertokens, "getVideoContent", 404);
        assert_eq!(
            serde_json::from_slice::<Value>(r.body()).unwrap()["error"]["message"],
            "Task not found"
        );
    }
}
