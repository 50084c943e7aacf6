//! Anyfast in the mock: a Bearer token, `{"error":{"code","message"}}`
//! errors, `cgt-` task ids, the `{"code","message","data"}` task envelope
//! with the upstream model's own body inside, and audio by default.

use bytes::Bytes;
use http::HeaderMap;
use serde_json::{json, Value};

use super::{
    lowercase_alphanumeric, problem_list, ratio, video_url, Behaviour, KnownFault, Op, VideoCreated,
};
use crate::mock::respond::json_response;
use crate::mock::state::{unix_now, Phase, TaskRecord};
use crate::mock::validate::Problem;
use crate::mock::video::VideoSpec;
use crate::Resolution;

pub(crate) struct Anyfast;

/// Reads `Authorization: Bearer` the way Anyfast and Powertokens both do.
pub(super) fn bearer_refusal(
    behaviour: &dyn Behaviour,
    headers: &HeaderMap,
    known: &dyn Fn(&str) -> bool,
) -> Option<http::Response<Bytes>> {
    let token = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let message = match token {
        None => "Missing bearer token",
        Some(token) if known(token) => return None,
        Some(_) => "Invalid token",
    };
    let mut response = behaviour.error(401, message);
    response.headers_mut().insert(
        http::header::WWW_AUTHENTICATE,
        "Bearer".parse().expect("static"),
    );
    Some(response)
}

impl Behaviour for Anyfast {
    fn op(&self, operation_id: &str, param: Option<String>) -> Option<Op> {
        Some(match (operation_id, param) {
            ("createSeedanceMini", None) => Op::Create(None),
            ("getSeedanceMiniTask", Some(id)) => Op::Get(id),
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
        let code = match status {
            400 => "invalid_request",
            401 => "invalid_api_key",
            404 => "task_not_found",
            413 => "request_too_large",
            405 => "method_not_allowed",
            429 => "rate_limited",
            503 => "service_unavailable",
            _ => "internal_error",
        };
        json_response(
            status,
            "application/json",
            &json!({ "error": { "code": code, "message": message } }),
        )
    }

    fn invalid(&self, problems: &[Problem], _accepts_problem_json: bool) -> http::Response<Bytes> {
        self.error(400, &problem_list(problems))
    }

    fn new_id(&self, rng: &mut fastrand::Rng) -> String {
        // As the documented example: `cgt-20260312231129-7db6s`.
        format!(
            "cgt-{}-{}",
            utc_stamp(unix_now()),
            lowercase_alphanumeric(rng, 5)
        )
    }

    fn create(
        &self,
        _resolution: Option<Resolution>,
        body: &Value,
        id: &str,
    ) -> (TaskRecord, Vec<u8>) {
        let resolution = if body["resolution"] == "480p" {
            Resolution::P480
        } else {
            Resolution::P720
        };
        // generate_audio defaults to true in Anyfast's document.
        let audio = body["generate_audio"].as_bool().unwrap_or(true);
        let spec = VideoSpec::for_ratio(
            resolution.height(),
            ratio(body["ratio"].as_str()),
            body["duration"].as_u64().unwrap_or(5) as u32,
        )
        .with_audio(audio);
        let content = body["content"].as_array().into_iter().flatten();
        let roles: Vec<&str> = content.clone().filter_map(|c| c["role"].as_str()).collect();
        let action = if roles.contains(&"last_frame") {
            "firstTailGenerate"
        } else if roles.iter().any(|r| r.starts_with("reference_")) {
            "referenceGenerate"
        } else {
            "generate"
        };
        let prompt = content.clone().find_map(|c| c["text"].as_str());
        let mut task = TaskRecord::new(crate::Provider::Anyfast, id, resolution, spec, prompt);
        task.action = action;
        let reply = VideoCreated {
            created_at: task.created_unix,
            id,
            model: "seedance-2.0-mini",
            object: "video",
            progress: 0,
            status: "",
            task_id: id,
        }
        .to_vec();
        (task, reply)
    }

    fn unknown_task(&self) -> http::Response<Bytes> {
        self.error(404, "task not found")
    }

    fn task(&self, task: &TaskRecord, phase: Phase, base: &str) -> Value {
        let status = self.status_word(phase);
        let (upstream, progress) = match phase {
            Phase::Created => ("queued", "0%"),
            Phase::InProgress => ("running", "50%"),
            Phase::Completed => ("succeeded", "100%"),
            Phase::Failed => ("failed", "100%"),
        };
        let started = task.created_unix + u64::from(phase > Phase::Created);
        let finished =
            task.completed_at
                .map(|(_, unix)| unix)
                .unwrap_or(if phase == Phase::Failed {
                    unix_now()
                } else {
                    0
                });
        let mut upstream_body =
            json!({ "id": &*task.id, "model": "seedance-2.0-mini", "status": upstream });
        let mut data = json!({
            "task_id": &*task.id,
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

    fn status_word(&self, phase: Phase) -> &'static str {
        match phase {
            Phase::Created => "NOT_START",
            Phase::InProgress => "IN_PROGRESS",
            Phase::Completed => "SUCCESS",
            Phase::Failed => "FAILURE",
        }
    }

    fn not_ready(&self, _phase: Phase) -> http::Response<Bytes> {
        self.error(404, "Not found")
    }

    fn known_faults(&self) -> &'static [KnownFault] {
        &[]
    }

    fn announcement(&self, _task: &TaskRecord, _phase: Phase) -> Option<Value> {
        None
    }
}

/// Unix seconds as a UTC `YYYYMMDDhhmmss` stamp.
fn utc_stamp(unix: u64) -> String {
    let c = crate::civil::civil(unix as i64);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

#[cfg(test)]
mod stamp_tests {
    #[test]
    fn stamps_are_like_the_documented_example() {
        // cgt-20260312231129-7db6s
        assert_eq!(super::utc_stamp(1_773_357_089), "20260312231129");
    }
}
