//! Standard Webhooks signatures, as Magnific sends them.
//!
//! The signed content is `"{webhook-id}.{webhook-timestamp}.{body}"`; the
//! `webhook-signature` header holds space-separated `v1,<base64 HMAC-SHA256>`
//! entries, any of which may match. The key is the secret's UTF-8 bytes, or,
//! for a `whsec_` secret, its base64-decoded tail (both are tried, since the
//! provider's samples differ). Comparison is constant-time.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use reqwest::header::HeaderMap;
use serde_json::Value;
use sha2::Sha256;

use crate::TaskStatus;

/// How far a delivery's timestamp may be from now.
pub const TOLERANCE: Duration = Duration::from_secs(300);

/// Why a delivery did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// A required header is absent or not text.
    #[error("webhook header `{0}` is missing")]
    MissingHeader(&'static str),
    /// `webhook-timestamp` is not unix seconds.
    #[error("webhook-timestamp `{0}` is not unix seconds")]
    InvalidTimestamp(String),
    /// The timestamp is more than [`TOLERANCE`] from now (a replay, or a bad clock).
    #[error("webhook-timestamp is {skew_secs} s from now; at most {} s is accepted", TOLERANCE.as_secs())]
    StaleTimestamp {
        /// How far off it is.
        skew_secs: u64,
    },
    /// No `v1` signature matched the body under the secret.
    #[error("no webhook signature matches the body (wrong secret, or the body was changed)")]
    NoMatchingSignature,
    /// The body verified but is not a task event.
    #[error("webhook body is not a task event: {0}")]
    InvalidPayload(String),
}

/// A verified task event.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEvent {
    /// The delivery's `webhook-id` (the same across retries of one delivery).
    pub id: String,
    /// When it was sent.
    pub timestamp: SystemTime,
    /// The task it is about.
    pub task_id: String,
    /// The task's new status.
    pub status: TaskStatus,
    /// The result URLs, once completed.
    pub generated: Vec<String>,
    /// The body, as JSON.
    pub raw: Value,
}

/// The HMAC keys a secret may stand for.
fn keys(secret: &str) -> Vec<Vec<u8>> {
    let mut keys = Vec::with_capacity(2);
    if let Some(tail) = secret.strip_prefix("whsec_") {
        if let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(tail) {
            keys.push(decoded);
        }
    }
    keys.push(secret.as_bytes().to_vec());
    keys
}

fn mac(key: &[u8], id: &str, timestamp: u64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `webhook-signature` value for a delivery: `v1,<base64>`, keyed as
/// [`verify`] tries first (a `whsec_` secret's decoded tail, else its bytes).
pub fn sign(secret: &str, id: &str, timestamp: u64, body: &[u8]) -> String {
    let key = keys(secret).remove(0);
    let tag = mac(&key, id, timestamp, body).finalize().into_bytes();
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(tag)
    )
}

fn header<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str, WebhookError> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .ok_or(WebhookError::MissingHeader(name))
}

/// Verifies a delivery and returns its event. `now` is passed in so callers
/// (and tests) decide the time.
pub fn verify(
    secret: &str,
    headers: &HeaderMap,
    body: &[u8],
    now: SystemTime,
) -> Result<WebhookEvent, WebhookError> {
    let id = header(headers, "webhook-id")?;
    let ts_text = header(headers, "webhook-timestamp")?;
    let signatures = header(headers, "webhook-signature")?;
    let timestamp: u64 = ts_text
        .trim()
        .parse()
        .map_err(|_| WebhookError::InvalidTimestamp(ts_text.into()))?;
    let now_secs = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let skew_secs = now_secs.abs_diff(timestamp);
    if skew_secs > TOLERANCE.as_secs() {
        return Err(WebhookError::StaleTimestamp { skew_secs });
    }
    let candidates: Vec<Vec<u8>> = signatures
        .split_whitespace()
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .collect();
    let matched = keys(secret).iter().any(|key| {
        candidates
            .iter()
            .any(|sig| mac(key, id, timestamp, body).verify_slice(sig).is_ok())
    });
    if !matched {
        return Err(WebhookError::NoMatchingSignature);
    }
    event(id, timestamp, body)
}

fn event(id: &str, timestamp: u64, body: &[u8]) -> Result<WebhookEvent, WebhookError> {
    let raw: Value =
        serde_json::from_slice(body).map_err(|e| WebhookError::InvalidPayload(e.to_string()))?;
    // The payload is a task; accept it bare or wrapped in `data` like a get response.
    let task = if raw.get("task_id").is_some() {
        &raw
    } else {
        raw.get("data").unwrap_or(&raw)
    };
    let task_id = task["task_id"]
        .as_str()
        .ok_or_else(|| WebhookError::InvalidPayload("no `task_id`".into()))?
        .to_string();
    let status = task["status"]
        .as_str()
        .map(TaskStatus::parse)
        .ok_or_else(|| WebhookError::InvalidPayload("no `status`".into()))?;
    let generated = task["generated"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|u| u.as_str().map(String::from))
        .collect();
    Ok(WebhookEvent {
        id: id.to_string(),
        timestamp: UNIX_EPOCH + Duration::from_secs(timestamp),
        task_id,
        status,
        generated,
        raw: raw.clone(),
    })
}
