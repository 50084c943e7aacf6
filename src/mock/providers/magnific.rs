//! Magnific in the mock: `x-magnific-api-key`, `{"message"}` errors (and
//! problem+json 400s when asked for), UUID task ids, upper-case statuses,
//! three lists, and the webhooks it signs.

use bytes::Bytes;
use http::HeaderMap;
use serde_json::{json, Value};

use super::{ratio, to_json, video_url, Behaviour, KnownFault, Op};
use crate::mock::respond::json_response;
use crate::mock::state::{Phase, TaskRecord};
use crate::mock::validate::Problem;
use crate::mock::video::VideoSpec;
use crate::Resolution;

pub(crate) struct Magnific;

fn status(phase: Phase) -> &'static str {
    match phase {
        Phase::Created => "CREATED",
        Phase::InProgress => "IN_PROGRESS",
        Phase::Completed => "COMPLETED",
        Phase::Failed => "FAILED",
    }
}

fn generated(task: &TaskRecord, phase: Phase, base: &str) -> Vec<String> {
    if phase == Phase::Completed {
        vec![video_url(base, &task.id)]
    } else {
        vec![]
    }
}

impl Behaviour for Magnific {
    fn op(&self, operation_id: &str, param: Option<String>) -> Option<Op> {
        Some(match (operation_id, param) {
            ("create_video_seedance_2_mini_480p", None) => Op::Create(Some(Resolution::P480)),
            ("create_video_seedance_2_mini_720p", None) => Op::Create(Some(Resolution::P720)),
            ("get_all_seedance_2_mini_480p_tasks", None) => Op::List(Some(Resolution::P480)),
            ("get_all_seedance_2_mini_720p_tasks", None) => Op::List(Some(Resolution::P720)),
            ("get_seedance_2_mini_tasks", None) => Op::List(None),
            ("get_seedance_2_mini_task", Some(id)) => Op::Get(id),
            _ => return None,
        })
    }

    fn refusal(
        &self,
        headers: &HeaderMap,
        known: &dyn Fn(&str) -> bool,
    ) -> Option<http::Response<Bytes>> {
        match headers
            .get("x-magnific-api-key")
            .and_then(|v| v.to_str().ok())
        {
            None => Some(self.error(401, "Missing API key")),
            Some(key) if known(key) => None,
            Some(_) => Some(self.error(401, "Invalid API key")),
        }
    }

    fn error(&self, status: u16, message: &str) -> http::Response<Bytes> {
        json_response(status, "application/json", &json!({ "message": message }))
    }

    fn status_message(&self, status: u16) -> Option<&'static str> {
        // FACTS.md: the 500 and 503 bodies of every operation.
        match status {
            500 => Some("Internal Server Error"),
            503 => Some("Service Unavailable. Please try again later."),
            _ => None,
        }
    }

    fn invalid(&self, problems: &[Problem], accepts_problem_json: bool) -> http::Response<Bytes> {
        if accepts_problem_json {
            let params: Vec<Value> = problems
                .iter()
                .map(|p| json!({ "name": p.name, "reason": p.reason }))
                .collect();
            return json_response(
                400,
                "application/problem+json",
                &json!({ "message": "Your request parameters didn't validate.", "invalid_params": params }),
            );
        }
        self.error(
            400,
            &format!("Parameter '{}' is not valid", problems[0].name),
        )
    }

    fn new_id(&self, rng: &mut fastrand::Rng) -> String {
        let bytes: [u8; 16] = std::array::from_fn(|_| rng.u8(..));
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string()
    }

    fn create(
        &self,
        resolution: Option<Resolution>,
        body: &Value,
        id: &str,
    ) -> (TaskRecord, Vec<u8>) {
        let resolution = resolution.unwrap_or(Resolution::P720);
        let spec = VideoSpec::for_ratio(
            resolution.height(),
            ratio(body["aspect_ratio"].as_str()),
            body["duration"].as_u64().unwrap_or(5) as u32,
        );
        let mut task = TaskRecord::new(
            crate::Provider::Magnific,
            id,
            resolution,
            spec,
            body["prompt"].as_str(),
        );
        task.webhook_url = body["webhook_url"].as_str().map(String::from);
        // `{"data":{"generated":[],"status":"CREATED","task_id":ID}}`
        #[derive(serde::Serialize)]
        struct Created<'a> {
            data: Data<'a>,
        }
        #[derive(serde::Serialize)]
        struct Data<'a> {
            generated: [&'a str; 0],
            status: &'static str,
            task_id: &'a str,
        }
        let reply = to_json(&Created {
            data: Data {
                generated: [],
                status: "CREATED",
                task_id: id,
            },
        });
        (task, reply)
    }

    fn unknown_task(&self) -> http::Response<Bytes> {
        self.error(404, "AI resource not found")
    }

    fn task(&self, task: &TaskRecord, phase: Phase, base: &str) -> Value {
        json!({ "data": { "generated": generated(task, phase, base), "task_id": &*task.id, "status": status(phase) } })
    }

    fn status_word(&self, phase: Phase) -> &'static str {
        status(phase)
    }

    fn not_ready(&self, _phase: Phase) -> http::Response<Bytes> {
        self.error(404, "Not found")
    }

    fn known_faults(&self) -> &'static [KnownFault] {
        &[KnownFault {
            operation: None,
            direction: "response",
            status: Some(400),
            pointers: &["/message", "/invalid_params"],
            rule: "undocumented_field",
            note: "Magnific's problem+json schema nests `message` and `invalid_params` under `problem`, while the document's own example (and the API) put them at the top level (FACTS.md)",
        }]
    }

    fn announcement(&self, task: &TaskRecord, phase: Phase) -> Option<Value> {
        Some(json!({
            "task_id": &*task.id,
            "status": status(phase),
            "generated": generated(task, phase, &task.base_url),
        }))
    }
}
