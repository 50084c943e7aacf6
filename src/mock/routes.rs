//! The eleven operations, answered in each provider's own shapes: request
//! checks from the documents, task creation, status in each provider's
//! vocabulary, result URLs that point back at the mock, and webhooks.

use bytes::Bytes;
use http::Method;
use serde_json::{json, Value};

use super::engine::{json_response, provider_error, Engine, MockRequest};
use super::state::{unix_now, Phase, TaskRecord};
use super::validate::{check_request, Problem};
use super::video::{self, VideoSpec};
use crate::{Provider, Resolution};

/// An operation with its path parameter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Op {
    MagnificCreate(Resolution),
    MagnificList(Option<Resolution>),
    MagnificGet(String),
    AnyfastCreate,
    AnyfastGet(String),
    PowertokensCreate,
    PowertokensGet(String),
    PowertokensContent(String),
}

pub(crate) enum Resolved {
    Found {
        provider: Provider,
        operation: &'static str,
        op: Op,
    },
    WrongMethod {
        provider: Provider,
        allow: &'static str,
    },
    NotFound,
}

/// Matches a method and path against the three documents' paths.
pub(crate) fn resolve(method: &Method, path: &str) -> Resolved {
    use Provider::*;
    let id = |rest: &str| (!rest.is_empty() && !rest.contains('/')).then(|| rest.to_string());
    let (provider, allow, found): (Provider, &'static str, Option<(&'static str, Op)>) = match path
    {
        "/v1/ai/video/seedance-2-mini-480p" | "/v1/ai/video/seedance-2-mini-720p" => {
            let r = if path.ends_with("480p") {
                Resolution::P480
            } else {
                Resolution::P720
            };
            let found = match (method.as_str(), r) {
                ("POST", Resolution::P480) => {
                    Some(("create_video_seedance_2_mini_480p", Op::MagnificCreate(r)))
                }
                ("POST", Resolution::P720) => {
                    Some(("create_video_seedance_2_mini_720p", Op::MagnificCreate(r)))
                }
                ("GET", Resolution::P480) => Some((
                    "get_all_seedance_2_mini_480p_tasks",
                    Op::MagnificList(Some(r)),
                )),
                ("GET", Resolution::P720) => Some((
                    "get_all_seedance_2_mini_720p_tasks",
                    Op::MagnificList(Some(r)),
                )),
                _ => None,
            };
            (Magnific, "GET, POST", found)
        }
        "/v1/ai/video/seedance-2-mini" => (
            Magnific,
            "GET",
            (method == Method::GET)
                .then_some(("get_seedance_2_mini_tasks", Op::MagnificList(None))),
        ),
        "/v1/video/generations" => (
            Anyfast,
            "POST",
            (method == Method::POST).then_some(("createSeedanceMini", Op::AnyfastCreate)),
        ),
        "/v1/videos" => (
            Powertokens,
            "POST",
            (method == Method::POST)
                .then_some(("seedance20MiniImageToVideoEn", Op::PowertokensCreate)),
        ),
        _ => {
            let routed = if let Some(rest) = path.strip_prefix("/v1/ai/video/seedance-2-mini/") {
                id(rest).map(|id| (Magnific, "get_seedance_2_mini_task", Op::MagnificGet(id)))
            } else if let Some(rest) = path.strip_prefix("/v1/video/generations/") {
                id(rest).map(|id| (Anyfast, "getSeedanceMiniTask", Op::AnyfastGet(id)))
            } else if let Some(rest) = path.strip_prefix("/v1/videos/") {
                match rest.strip_suffix("/content") {
                    Some(task) => id(task)
                        .map(|id| (Powertokens, "getVideoContent", Op::PowertokensContent(id))),
                    None => {
                        id(rest).map(|id| (Powertokens, "getVideoTask", Op::PowertokensGet(id)))
                    }
                }
            } else {
                None
            };
            match routed {
                Some((provider, operation, op)) => (
                    provider,
                    "GET",
                    (method == Method::GET).then_some((operation, op)),
                ),
                None => return Resolved::NotFound,
            }
        }
    };
    match found {
        Some((operation, op)) => Resolved::Found {
            provider,
            operation,
            op,
        },
        None => Resolved::WrongMethod { provider, allow },
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

fn video_url(base: &str, id: &str) -> String {
    format!("{base}/__mock/videos/{id}.mp4")
}

/// `(w, h)` for an aspect-ratio word in any provider's form; `adaptive` and
/// unknown words are 16:9.
fn ratio(word: Option<&str>) -> (u32, u32) {
    word.and_then(|w| w.parse::<crate::AspectRatio>().ok())
        .and_then(crate::AspectRatio::ratio)
        .unwrap_or((16, 9))
}

impl Engine {
    pub(crate) fn operate(
        &self,
        provider: Provider,
        operation: &str,
        op: Op,
        request: &MockRequest,
    ) -> http::Response<Bytes> {
        let base = base_url(self.config().public_url.as_deref(), request);
        match op {
            Op::MagnificCreate(resolution) => self.create(provider, operation, request, |body, id| {
                let spec = VideoSpec::for_ratio(
                    resolution.height(),
                    ratio(body["aspect_ratio"].as_str()),
                    body["duration"].as_u64().unwrap_or(5) as u32,
                );
                let mut task = TaskRecord::new(provider, id, &base, resolution, spec, body["prompt"].as_str());
                task.webhook_url = body["webhook_url"].as_str().map(String::from);
                (task, json!({ "data": { "generated": [], "task_id": id, "status": "CREATED" } }))
            }),
            Op::AnyfastCreate => self.create(provider, operation, request, |body, id| {
                let resolution = if body["resolution"] == "480p" { Resolution::P480 } else { Resolution::P720 };
                // generate_audio defaults to true in Anyfast's document.
                let audio = body["generate_audio"].as_bool().unwrap_or(true);
                let spec = VideoSpec::for_ratio(resolution.height(), ratio(body["ratio"].as_str()), body["duration"].as_u64().unwrap_or(5) as u32).with_audio(audio);
                let roles: Vec<&str> = body["content"].as_array().into_iter().flatten().filter_map(|c| c["role"].as_str()).collect();
                let action = if roles.contains(&"last_frame") {
                    "firstTailGenerate"
                } else if roles.iter().any(|r| r.starts_with("reference_")) {
                    "referenceGenerate"
                } else {
                    "generate"
                };
                let prompt = body["content"].as_array().into_iter().flatten().find_map(|c| c["text"].as_str());
                let mut task = TaskRecord::new(provider, id, &base, resolution, spec, prompt);
                task.action = action;
                let reply = json!({ "id": id, "task_id": id, "object": "video", "model": "seedance-2.0-mini", "status": "", "progress": 0, "created_at": task.created_unix });
                (task, reply)
            }),
            Op::PowertokensCreate => self.create(provider, operation, request, |body, id| {
                let resolution = if body["size"] == "480p" { Resolution::P480 } else { Resolution::P720 };
                let seconds = body["seconds"].as_str().and_then(|s| s.parse::<i64>().ok()).filter(|s| *s > 0).unwrap_or(5);
                // generate_audio defaults to true in Powertokens' document.
                let audio = body["generate_audio"].as_bool().unwrap_or(true);
                let spec = VideoSpec::for_ratio(resolution.height(), ratio(body["ratio"].as_str()), seconds as u32).with_audio(audio);
                let prompt = body["media"].as_array().into_iter().flatten().find_map(|m| m["text"].as_str());
                let task = TaskRecord::new(provider, id, &base, resolution, spec, prompt);
                let reply = json!({ "id": id, "task_id": id, "object": "video", "model": "dreamina-seedance-2-0-mini-260615", "status": "queued", "progress": 0, "created_at": task.created_unix });
                (task, reply)
            }),
            Op::MagnificList(resolution) => {
                let mut tasks = self.lock_tasks();
                let data: Vec<Value> = tasks
                    .ids(provider, resolution)
                    .iter()
                    .filter_map(|id| {
                        let task = tasks.get_mut(id)?;
                        let phase = self.observe(task);
                        Some(json!({ "task_id": id, "status": magnific_status(phase) }))
                    })
                    .collect();
                json_response(200, "application/json", &json!({ "data": data }))
            }
            Op::MagnificGet(id) | Op::AnyfastGet(id) | Op::PowertokensGet(id) => self.get(provider, &id, &base),
            Op::PowertokensContent(id) => {
                let mut tasks = self.lock_tasks();
                let Some(task) = tasks.get_mut(&id).filter(|t| t.provider == provider) else {
                    return provider_error(provider, 404, "Task not found");
                };
                match self.observe(task) {
                    Phase::Completed if task.expired(self.config().video_ttl) => provider_error(provider, 404, "Video has expired"),
                    Phase::Completed => mp4_response(&task.video),
                    phase => provider_error(
                        provider,
                        400,
                        &format!("Task is not completed yet, current status: {}", gateway_status(phase)),
                    ),
                }
            }
        }
    }

    /// Checks the body, makes an id, stores the task `build` describes, and
    /// answers what `build` says.
    fn create(
        &self,
        provider: Provider,
        operation: &str,
        request: &MockRequest,
        build: impl FnOnce(&Value, &str) -> (TaskRecord, Value),
    ) -> http::Response<Bytes> {
        let is_json = request
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/json") || ct.contains("+json"));
        // 400, not 415: the documents list 400 for a bad request and no 415.
        if !is_json {
            return provider_error(
                provider,
                400,
                "The request body must be JSON (Content-Type: application/json)",
            );
        }
        let body: Value = match serde_json::from_slice(&request.body) {
            Ok(body) => body,
            Err(e) => {
                return provider_error(
                    provider,
                    400,
                    &format!("The request body is not valid JSON: {e}"),
                )
            }
        };
        let problems = check_request(operation, &body);
        if !problems.is_empty() {
            return invalid(provider, request, &problems);
        }
        let id = self.new_id(provider);
        let (task, reply) = build(&body, &id);
        if task.webhook_url.is_some() {
            self.schedule_announcements(&task);
        }
        if let Err(full) = self.lock_tasks().insert(task, self.config().lifecycle) {
            return provider_error(
                provider,
                503,
                &format!(
                    "the mock holds {} unfinished tasks, twice --max-tasks; finish or reset some",
                    full.unfinished
                ),
            );
        }
        json_response(200, "application/json", &reply)
    }

    /// A fresh id in the provider's style, from the seeded generator.
    fn new_id(&self, provider: Provider) -> String {
        let mut rng = super::engine::lock(&self.shared.rng);
        let mut alnum = |n: usize| {
            (0..n)
                .map(|_| rng.alphanumeric().to_ascii_lowercase())
                .collect::<String>()
        };
        match provider {
            Provider::Anyfast => format!("cgt-{}-{}", unix_now(), alnum(5)),
            Provider::Powertokens => format!("task_{}", alnum(16)),
            Provider::Magnific => {
                let bytes: [u8; 16] = std::array::from_fn(|_| rng.u8(..));
                uuid::Builder::from_random_bytes(bytes)
                    .into_uuid()
                    .to_string()
            }
        }
    }

    fn get(&self, provider: Provider, id: &str, base: &str) -> http::Response<Bytes> {
        let mut tasks = self.lock_tasks();
        let Some(task) = tasks.get_mut(id).filter(|t| t.provider == provider) else {
            return match provider {
                Provider::Magnific => provider_error(provider, 404, "AI resource not found"),
                Provider::Anyfast => provider_error(provider, 404, "task not found"),
                Provider::Powertokens => json_response(
                    400,
                    "application/json",
                    &json!({ "code": "task_not_exist", "message": "task_not_exist", "data": null }),
                ),
            };
        };
        task.reads += 1;
        let phase = self.observe(task);
        let body = match provider {
            Provider::Magnific => json!({ "data": magnific_task(task, phase, base) }),
            Provider::Anyfast => anyfast_task(task, phase, base),
            Provider::Powertokens => powertokens_task(task, phase, base),
        };
        json_response(200, "application/json", &body)
    }

    /// The phase now; announces any change by webhook.
    pub(crate) fn observe(&self, task: &mut TaskRecord) -> Phase {
        let phase = task.phase(self.config().lifecycle);
        if phase > task.announced {
            if let (Some(url), Ok(runtime)) = (
                task.webhook_url.clone(),
                tokio::runtime::Handle::try_current(),
            ) {
                for step in [Phase::InProgress, Phase::Completed, Phase::Failed] {
                    if step > task.announced
                        && step <= phase
                        && !(step == Phase::Completed && phase == Phase::Failed)
                    {
                        let payload = json!({
                            "task_id": task.id,
                            "status": magnific_status(step),
                            "generated": if step == Phase::Completed { vec![video_url(&task.base_url, &task.id)] } else { vec![] },
                        });
                        self.shared.webhooks.send(&runtime, url.clone(), payload);
                    }
                }
            }
            task.announced = phase;
        }
        phase
    }

    /// On a clock lifecycle, looks at the task when each phase is due, so
    /// webhooks go out without anyone polling.
    fn schedule_announcements(&self, task: &TaskRecord) {
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
        let id = task.id.clone();
        runtime.spawn(async move {
            for wait in [
                in_progress_after,
                done_after.saturating_sub(in_progress_after),
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

    pub(crate) fn video_file(&self, id: &str) -> http::Response<Bytes> {
        let mut tasks = self.lock_tasks();
        let Some(task) = tasks.get_mut(id) else {
            return json_response(404, "application/json", &json!({ "message": "Not found" }));
        };
        let provider = task.provider;
        match self.observe(task) {
            Phase::Completed if task.expired(self.config().video_ttl) => {
                provider_error(provider, 404, "The video URL has expired")
            }
            Phase::Completed => mp4_response(&task.video),
            _ => provider_error(provider, 404, "Not found"),
        }
    }
}

fn mp4_response(spec: &VideoSpec) -> http::Response<Bytes> {
    match video::mp4(spec) {
        Ok(bytes) => {
            let mut response = http::Response::new(Bytes::from(bytes));
            response.headers_mut().insert(
                http::header::CONTENT_TYPE,
                "video/mp4".parse().expect("static"),
            );
            response
        }
        Err(e) => json_response(
            500,
            "application/json",
            &json!({ "message": format!("mock video: {e}") }),
        ),
    }
}

/// A 400 in the provider's shape naming every bad field. Magnific answers
/// problem+json when the client accepts it, else its plain `{"message"}`.
fn invalid(
    provider: Provider,
    request: &MockRequest,
    problems: &[Problem],
) -> http::Response<Bytes> {
    let accepts_problem = request
        .headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/problem+json"));
    match provider {
        Provider::Magnific if accepts_problem => {
            let params: Vec<Value> = problems
                .iter()
                .map(|p| json!({ "name": p.name, "reason": p.reason }))
                .collect();
            json_response(
                400,
                "application/problem+json",
                &json!({ "message": "Your request parameters didn't validate.", "invalid_params": params }),
            )
        }
        Provider::Magnific => provider_error(
            provider,
            400,
            &format!("Parameter '{}' is not valid", problems[0].name),
        ),
        _ => {
            let all: Vec<String> = problems
                .iter()
                .map(|p| format!("{}: {}", p.name, p.reason))
                .collect();
            provider_error(provider, 400, &all.join("; "))
        }
    }
}

fn magnific_status(phase: Phase) -> &'static str {
    match phase {
        Phase::Created => "CREATED",
        Phase::InProgress => "IN_PROGRESS",
        Phase::Completed => "COMPLETED",
        Phase::Failed => "FAILED",
    }
}

/// The gateway's own status words, as in its "not completed" message.
fn gateway_status(phase: Phase) -> &'static str {
    match phase {
        Phase::Created => "QUEUED",
        Phase::InProgress => "IN_PROGRESS",
        Phase::Completed => "SUCCESS",
        Phase::Failed => "FAILURE",
    }
}

fn magnific_task(task: &TaskRecord, phase: Phase, base: &str) -> Value {
    let generated = if phase == Phase::Completed {
        vec![video_url(base, &task.id)]
    } else {
        vec![]
    };
    json!({ "generated": generated, "task_id": task.id, "status": magnific_status(phase) })
}

fn anyfast_task(task: &TaskRecord, phase: Phase, base: &str) -> Value {
    let (status, upstream, progress) = match phase {
        Phase::Created => ("NOT_START", "queued", "0%"),
        Phase::InProgress => ("IN_PROGRESS", "running", "50%"),
        Phase::Completed => ("SUCCESS", "succeeded", "100%"),
        Phase::Failed => ("FAILURE", "failed", "100%"),
    };
    let started = task.created_unix + u64::from(phase > Phase::Created);
    let finished = task
        .completed_at
        .map(|(_, unix)| unix)
        .unwrap_or(if phase == Phase::Failed {
            unix_now()
        } else {
            0
        });
    let mut upstream_body =
        json!({ "id": task.id, "model": "seedance-2.0-mini", "status": upstream });
    let mut data = json!({
        "task_id": task.id,
        "action": task.action,
        "status": status,
        "fail_reason": if phase == Phase::Failed { "The mock was asked to fail this task." } else { "" },
        "submit_time": task.created_unix,
        "start_time": if phase > Phase::Created { started } else { 0 },
        "finish_time": finished,
        "progress": progress,
    });
    if phase == Phase::Completed {
        let url = video_url(base, &task.id);
        upstream_body["content"] = json!({ "video_url": url });
        data["result_url"] = json!(url);
    }
    data["data"] = upstream_body;
    json!({ "code": "success", "message": "", "data": data })
}

fn powertokens_task(task: &TaskRecord, phase: Phase, base: &str) -> Value {
    let (status, progress) = match phase {
        Phase::Created => ("queued", 0),
        Phase::InProgress => ("in_progress", 50),
        Phase::Completed => ("completed", 100),
        Phase::Failed => ("failed", 100),
    };
    let mut body = json!({
        "id": task.id,
        "task_id": task.id,
        "object": "video",
        "model": "dreamina-seedance-2-0-mini-260615",
        "status": status,
        "progress": progress,
        "created_at": task.created_unix,
        "seconds": task.video.seconds.to_string(),
        "size": format!("{}x{}", task.video.width, task.video.height),
    });
    if let Some((_, done)) = task.completed_at {
        body["completed_at"] = json!(done);
        body["expires_at"] = json!(done + 24 * 3600);
    }
    match phase {
        Phase::Completed => {
            body["metadata"] = json!({ "url": format!("{base}/v1/videos/{}/content", task.id) })
        }
        Phase::Failed => {
            body["error"] = json!({ "message": "The mock was asked to fail this task.", "code": "mock_failure" })
        }
        _ => {}
    }
    body
}
