//! Standard Webhooks signatures, as Magnific sends them.
//!
//! The signed content is `"{webhook-id}.{webhook-timestamp}.{body}"`; the
//! `webhook-signature` header holds space-separated `v1,<base64 HMAC-SHA256>`
//! entries, any of which may match. The key is the secret's UTF-8 bytes, or,
//! for a `whsec_` secret, its base64-decoded tail (both are tried, since the
//! provider's samples differ). Comparison is constant-time.
//!
//! Verification costs at most one HMAC of the body per key, however many
//! entries the header holds: empty entries are skipped and at most
//! [`MAX_SIGNATURES`] are read. A secret that gives an empty key (`""`,
//! `whsec_`), or a `whsec_` tail that is not base64, is refused, since an
//! empty key would let anyone sign.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::TaskStatus;

/// How far a delivery's timestamp may be from now.
pub const TOLERANCE: Duration = Duration::from_secs(300);

/// The most `v1,` entries of a `webhook-signature` header that are read.
pub const MAX_SIGNATURES: usize = 16;

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
    /// The secret cannot sign: empty, `whsec_` alone, or a `whsec_` tail
    /// that is not base64.
    #[error("webhook secret is unusable: {0}")]
    InvalidSecret(&'static str),
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

impl WebhookEvent {
    /// The task the event describes, as `provider`'s: its id, status and
    /// result URLs, with the body kept as JSON.
    pub fn task(&self, provider: crate::Provider) -> crate::Task {
        crate::Task {
            id: self.task_id.clone(),
            provider,
            status: self.status.clone(),
            progress: None,
            video_urls: self.generated.clone(),
            error: None,
            raw: crate::task::RawTask::Json(self.raw.clone()),
        }
    }
}

/// The HMAC keys a secret may stand for: a `whsec_` secret's decoded tail
/// first, then the secret's own bytes.
fn keys(secret: &str) -> Result<Vec<Vec<u8>>, WebhookError> {
    if secret.is_empty() {
        return Err(WebhookError::InvalidSecret("it is empty"));
    }
    let mut keys = Vec::with_capacity(2);
    if let Some(tail) = secret.strip_prefix("whsec_") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(tail)
            .map_err(|_| WebhookError::InvalidSecret("the part after `whsec_` is not base64"))?;
        if decoded.is_empty() {
            return Err(WebhookError::InvalidSecret("nothing follows `whsec_`"));
        }
        keys.push(decoded);
    }
    keys.push(secret.as_bytes().to_vec());
    Ok(keys)
}

fn mac(key: &[u8], id: &str, timestamp: u64, body: &[u8]) -> [u8; 32] {
    let timestamp = timestamp.to_string();
    crate::hash::hmac_sha256(
        key,
        &[id.as_bytes(), b".", timestamp.as_bytes(), b".", body],
    )
}

/// The `webhook-signature` value for a delivery: `v1,<base64>`, keyed as
/// [`verify`] tries first (a `whsec_` secret's decoded tail, else its bytes).
pub fn sign(secret: &str, id: &str, timestamp: u64, body: &[u8]) -> Result<String, WebhookError> {
    let key = keys(secret)?.remove(0);
    let tag = mac(&key, id, timestamp, body);
    Ok(format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(tag)
    ))
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
    let keys = keys(secret)?;
    let candidates: Vec<Vec<u8>> = signatures
        .split_whitespace()
        .take(MAX_SIGNATURES)
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter(|b64| !b64.is_empty())
        .filter_map(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .filter(|sig| sig.len() == 32)
        .collect();
    if candidates.is_empty() {
        return Err(WebhookError::NoMatchingSignature);
    }
    // One HMAC of the body per key; each candidate is compared with it in
    // constant time.
    let matched = keys.iter().any(|key| {
        let tag = mac(key, id, timestamp, body);
        candidates
            .iter()
            .any(|sig| crate::hash::equal_in_constant_time(&tag, sig))
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
