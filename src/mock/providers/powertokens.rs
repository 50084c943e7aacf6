//! Powertokens (a new-api gateway) in the mock: a Bearer token, OpenAI-style
//! `{"error":{"message","type"}}` errors, the gateway's own 400 for an
//! unknown task, `task_` ids, lower-case statuses, the video streamed from
//! `/content`, and audio by default.

use bytes::Bytes;
use http::HeaderMap;
use serde_json::{json, Value};

use super::anyfast::bearer_refusal;
use super::{lowercase_alphanumeric, problem_list, ratio, Behaviour, KnownFault, Op, VideoCreated};
use crate::mock::respond::json_response;
use crate::mock::state::{Phase, TaskRecord};
use crate::mock::validate::Problem;
use crate::mock::video::VideoSpec;
use crate::Resolution;

pub(crate) struct Powertokens;

/// The gateway's upstream words, as in its "not completed" message.
fn gateway_status(phase: Phase) -> &'static str {
    match phase {
        Phase::Created => "QUEUED",
        Phase::InProgress => "IN_PROGRESS",
        Phase::Completed => "SUCCESS",
        Phase::Failed => "FAILURE",
    }
}

impl Behaviour for Powertokens {
    fn op(&self, operation_id: &str, param: Option<String>) -> Option<Op> {
        Some(match (operation_id, param) {
            ("seedance20MiniImageToVideoEn", None) => Op::Create(None),
            ("getVideoTask", Some(id)) => Op::Get(id),
            ("getVideoContent", Some(id)) => Op::Content(id),
            _ => return None,
        })
    }

    fn refusal(
        &self,
        headers: &HeaderMap,
        known: &dyn Fn(&str) -> bool,
    ) -> Option<http::Response<Bytes>> {
        bearer_refusal(self, headers, known)
    }

    fn error(&self, status: u16, message: &str) -> http::Response<Bytes> {
        json_response(
            status,
            "application/json",
            &json!({ "error": { "message": message, "type": "invalid_request_error" } }),
        )
    }

    fn invalid(&self, problems: &[Problem], _accepts_problem_json: bool) -> http::Response<Bytes> {
        self.error(400, &problem_list(problems))
    }

    fn new_id(&self, rng: &mut fastrand::Rng) -> String {
        format!("task_{}", lowercase_alphanumeric(rng, 16))
    }

    fn create(
        &self,
        _resolution: Option<Resolution>,
        body: &Value,
        id: &str,
    ) -> (TaskRecord, Vec<u8>) {
        let resolution = if body["size"] == "480p" {
            Resolution::P480
        } else {
            Resolution::P720
        };
        let seconds = body["seconds"]
            .as_str()
            .and_then(|s| s.parse::<i64>().ok())
            .filter(|s| *s > 0)
            .unwrap_or(5);
        // generate_audio defaults to true in Powertokens' document.
        let audio = body["generate_audio"].as_bool().unwrap_or(true);
        let spec = VideoSpec::for_ratio(
            resolution.height(),
            ratio(body["ratio"].as_str()),
            seconds as u32,
        )
        .with_audio(audio);
        let prompt = body["media"]
            .as_array()
            .into_iter()
            .flatten()
            .find_map(|m| m["text"].as_str());
        let task = TaskRecord::new(crate::Provider::Powertokens, id, resolution, spec, prompt);
        let reply = VideoCreated {
            created_at: task.created_unix,
            id,
            model: "dreamina-seedance-2-0-mini-260615",
            object: "video",
            progress: 0,
            status: "queued",
            task_id: id,
        }
        .to_vec();
        (task, reply)
    }

    fn unknown_task(&self) -> http::Response<Bytes> {
        json_response(
            400,
            "application/json",
            &json!({ "code": "task_not_exist", "message": "task_not_exist", "data": null }),
        )
    }

    fn task(&self, task: &TaskRecord, phase: Phase, base: &str) -> Value {
        let progress = match phase {
            Phase::Created => 0,
            Phase::InProgress => 50,
            Phase::Completed | Phase::Failed => 100,
        };
        let mut body = json!({
            "id": &*task.id,
            "task_id": &*task.id,
            "object": "video",
            "model": "dreamina-seedance-2-0-mini-260615",
            "status": self.status_word(phase),
            "progress": progress,
            "created_at": task.created_unix,
            "seconds": task.video.seconds.to_string(),
            "size": format!("{}x{}", task.video.width, task.video.height),
        });
        if let Some((_, done)) = task.completed_at {
            body["completed_at"] = json!(done);
            if phase == Phase::Completed {
                body["expires_at"] = json!(done + 24 * 3600);
            }
        }
        match phase {
            Phase::Completed => {
                body["metadata"] = json!({ "url": format!("{base}/v1/videos/{}/content", task.id) })
            }
            Phase::Failed => {
                body["error"] = json!({ "message": "The mock was asked to fail this task.", "code": "mock_failure" })
            }
            Phase::Created | Phase::InProgress => {}
        }
        body
    }

    fn status_word(&self, phase: Phase) -> &'static str {
        match phase {
            Phase::Created => "queued",
            Phase::InProgress => "in_progress",
            Phase::Completed => "completed",
            Phase::Failed => "failed",
        }
    }

    fn not_ready(&self, phase: Phase) -> http::Response<Bytes> {
        self.error(
            400,
            &format!(
                "Task is not completed yet, current status: {}",
                gateway_status(phase)
            ),
        )
    }

    fn known_faults(&self) -> &'static [KnownFault] {
        &[]
    }

    fn announcement(&self, _task: &TaskRecord, _phase: Phase) -> Option<Value> {
        None
    }
}
