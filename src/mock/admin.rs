//! The admin API under `/__mock/`: health, the request journal, webhook
//! deliveries, reset, faults, and steering a task. Open on loopback; beyond
//! it, only with the admin key.

use bytes::Bytes;
use serde_json::{json, Value};

use super::engine::{lock, Engine, MockRequest};
use super::faults::Fault;
use super::respond::json_response;
use super::state::Phase;

impl Engine {
    /// The admin API is open on loopback; elsewhere it needs the admin key,
    /// and without one configured it is closed.
    pub(crate) fn admin_refusal(&self, request: &MockRequest) -> Option<http::Response<Bytes>> {
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

    pub(crate) fn admin(&self, request: &MockRequest) -> http::Response<Bytes> {
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
            ("GET", "/deviations") => ok(json!(self.deviations())),
            ("POST", "/reset") => {
                self.lock_tasks().clear();
                lock(&self.shared.journal).clear();
                self.shared.faults.clear();
                self.shared.webhooks.clear();
                if let Some(proxy) = &self.shared.proxy {
                    proxy.clear();
                }
                ok(json!({ "reset": true }))
            }
            ("GET", "/faults") => ok(self.faults_json()),
            ("DELETE", "/faults") => {
                self.shared.faults.clear();
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
                        self.shared.faults.extend(new);
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
        json!({ "faults": self.shared.faults.rules() })
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
        match tasks.force(id, phase) {
            Some(task) => {
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
}
