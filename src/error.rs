//! One error type for the ergonomic layer. Every variant says what went wrong
//! in words a user can act on: a field and the rule it broke, a provider and
//! the feature it lacks, or a status with the server's own message and body.

use std::time::Duration;

use reqwest::header::HeaderMap;

use crate::{Provider, RequestField, Task};

/// The most of an error response's body that is kept (in [`Error::Api`],
/// [`Error::Unauthorized`] and [`Error::Decode`]); the rest is not read.
pub const MAX_ERROR_BODY: usize = 64 * 1024;

/// The most of a successful JSON response's body that is read; a larger one
/// is refused as [`Error::Decode`] (no answer of these APIs comes near it).
pub const MAX_JSON_BODY: usize = 8 * 1024 * 1024;

/// How much of a body or message `Display` shows.
const EXCERPT: usize = 300;

/// `text` cut to at most [`EXCERPT`] characters, on a character boundary,
/// with the number of bytes left out.
pub(crate) fn excerpt(text: &str) -> String {
    match text.char_indices().nth(EXCERPT) {
        None => text.to_string(),
        Some((cut, _)) => format!("{}… ({} more bytes)", &text[..cut], text.len() - cut),
    }
}

/// What a [`Error::Validation`] is about.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Field {
    /// A field of the request.
    Request(RequestField),
    /// Anything else, by name: a header, a task id, an option, or a batch
    /// line's key as the file wrote it (`line 3: image`).
    Named(String),
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Field::Request(field) => field.fmt(f),
            Field::Named(name) => f.write_str(name),
        }
    }
}

impl From<RequestField> for Field {
    fn from(field: RequestField) -> Self {
        Field::Request(field)
    }
}

impl From<&str> for Field {
    fn from(name: &str) -> Self {
        Field::Named(name.to_string())
    }
}

impl From<String> for Field {
    fn from(name: String) -> Self {
        Field::Named(name)
    }
}

impl From<&String> for Field {
    fn from(name: &String) -> Self {
        Field::Named(name.clone())
    }
}

impl PartialEq<&str> for Field {
    /// Whether it is named `name` ([`RequestField::name`] for a request field).
    fn eq(&self, name: &&str) -> bool {
        match self {
            Field::Request(field) => field.name() == *name,
            Field::Named(own) => own == name,
        }
    }
}

/// A field the server rejected, from Magnific's problem+json `invalid_params`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InvalidParam {
    /// The field's name.
    pub name: String,
    /// Why it was rejected.
    pub reason: String,
}

/// What can go wrong when using a [`Client`](crate::Client).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The run was stopped by a signal (Ctrl-C, SIGTERM) before it ended;
    /// what was under way, and how to resume it, has been said.
    #[error("interrupted")]
    Interrupted,

    /// A request field breaks a rule of the target provider; nothing was sent.
    #[error("invalid `{field}`: {reason}")]
    Validation {
        /// The field: one of the request's, or another by name.
        field: Field,
        /// The rule it breaks.
        reason: String,
    },

    /// The provider does not offer this feature; nothing was sent.
    #[error("{provider} does not support {feature}")]
    Unsupported {
        /// The target provider.
        provider: Provider,
        /// What was asked for.
        feature: String,
        /// The request field that asks for it, when one does.
        field: Option<RequestField>,
    },

    /// The server answered with an error status (whatever its body was).
    #[error("{provider} answered {status}: {}{}", excerpt(.message), fmt_params(.invalid_params))]
    Api {
        /// Who answered.
        provider: Provider,
        /// The HTTP status.
        status: u16,
        /// The server's message, or the status's reason phrase.
        message: String,
        /// Fields the server named as invalid (Magnific's problem+json).
        invalid_params: Vec<InvalidParam>,
        /// The raw response body, as received, up to [`MAX_ERROR_BODY`] bytes.
        body: String,
        /// The response's headers (boxed, to keep `Error` small).
        headers: Box<HeaderMap>,
    },

    /// The key is missing or wrong (HTTP 401), or not allowed this (HTTP 403).
    #[error("{provider} {} ({status}): {}", if *.status == 403 { "refused access" } else { "refused the API key" }, excerpt(.message))]
    Unauthorized {
        /// Who answered.
        provider: Provider,
        /// 401 or 403, as sent.
        status: u16,
        /// The server's message.
        message: String,
        /// The raw response body, up to [`MAX_ERROR_BODY`] bytes.
        body: String,
    },

    /// Too many requests (HTTP 429), after the retries the policy allows.
    #[error("{provider} is rate limiting (429){}", .retry_after.map(|d| format!("; retry after {}s", d.as_secs())).unwrap_or_default())]
    RateLimited {
        /// Who answered.
        provider: Provider,
        /// The server's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
    },

    /// The task ended in a failed, cancelled or expired state.
    #[error("task {} ended {}: {}", .0.id, .0.status, .0.error.as_deref().unwrap_or("no reason given"))]
    TaskFailed(Box<Task>),

    /// Waiting ran out of time before the task finished.
    #[error("task still not finished after {elapsed:.1?} and {polls} polls (last status: {})", .last.as_ref().map_or("unknown".to_string(), |t| t.status.to_string()))]
    ExceededMaxWait {
        /// Time spent waiting.
        elapsed: Duration,
        /// How many times the task was polled.
        polls: u32,
        /// The last state seen, if any poll succeeded.
        last: Option<Box<Task>>,
    },

    /// The request could not be sent or its response not read. The message
    /// names the URL and the root cause ("Connection refused").
    #[error("transport error: {}", with_causes(.0))]
    Transport(#[from] reqwest::Error),

    /// A successful answer whose body did not decode as the document says
    /// it should, or that lacks what the call needs (a create's task id).
    #[error("could not decode the response{} ({reason}); body: {}", .status.map(|s| format!(" ({s})")).unwrap_or_default(), excerpt(.body))]
    Decode {
        /// The response's status, when a server answered.
        status: Option<u16>,
        /// The decoder's complaint.
        reason: String,
        /// The raw body, as received (bounded by [`MAX_JSON_BODY`]).
        body: String,
    },

    /// A download ended before every byte its `Content-Length` promised
    /// arrived; nothing was written at the target. Reads retry it.
    #[error(
        "download truncated: expected {expected} bytes (Content-Length) but received {received}"
    )]
    TruncatedDownload {
        /// What the server promised.
        expected: u64,
        /// What arrived.
        received: u64,
    },

    /// A step after the create failed; the task exists (and may be paid for).
    /// Resume it by id rather than submitting again.
    #[error("task {task_id}: {source}")]
    AfterSubmit {
        /// The created task's id.
        task_id: String,
        /// What failed.
        source: Box<Error>,
    },

    /// A local file could not be read or written.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),

    /// The journal could not be opened, read or written.
    #[error("journal {}: {message}", .path.display())]
    Journal {
        /// The journal's file.
        path: std::path::PathBuf,
        /// What SQLite said.
        message: String,
    },

    /// Another worker took over a claimed job before its create was sent
    /// (this one's lease had run out): nothing was sent, and the job is that
    /// worker's now.
    #[error("job {job}: another worker took it over before its create was sent; nothing was sent")]
    ClaimTaken {
        /// The job's row in the ledger.
        job: i64,
    },

    /// A webhook delivery did not verify.
    #[error(transparent)]
    Webhook(#[from] crate::webhook::WebhookError),

    /// What a client needs from this machine could not be set up (its TLS,
    /// its HTTP client): not the user's input; nothing was sent.
    #[error("cannot set up {what}: {message}")]
    Setup {
        /// What could not be set up.
        what: &'static str,
        /// Why.
        message: String,
    },
}

/// An error and its sources, joined: reqwest's own message stops at
/// "error sending request for url (...)", and the cause is what a user needs.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let part = cause.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = cause.source();
    }
    text
}

fn fmt_params(params: &[InvalidParam]) -> String {
    if params.is_empty() {
        return String::new();
    }
    let list: Vec<String> = params
        .iter()
        .map(|p| format!("{}: {}", p.name, p.reason))
        .collect();
    format!(" ({})", list.join("; "))
}

impl Error {
    pub(crate) fn validation(field: impl Into<Field>, reason: impl Into<String>) -> Self {
        Error::Validation {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn unsupported(provider: Provider, feature: impl Into<String>) -> Self {
        Error::Unsupported {
            provider,
            feature: feature.into(),
            field: None,
        }
    }

    /// The provider lacks what `field` asks for, said as `feature` (or as
    /// the field's name in backquotes, when `feature` is empty).
    pub(crate) fn unsupported_field(
        provider: Provider,
        field: RequestField,
        feature: &str,
    ) -> Self {
        Error::Unsupported {
            provider,
            feature: if feature.is_empty() {
                format!("`{}`", field.name())
            } else {
                feature.to_string()
            },
            field: Some(field),
        }
    }

    /// The rule a [`Error::Validation`] names (else the whole message), for
    /// a caller that says which field in its own words.
    pub(crate) fn into_reason(self) -> String {
        match self {
            Error::Validation { reason, .. } => reason,
            other => other.to_string(),
        }
    }

    /// The HTTP status behind this error, if a server answered: kept
    /// whatever the body was (JSON, HTML, plain text or nothing).
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } | Error::Unauthorized { status, .. } => Some(*status),
            Error::RateLimited { .. } => Some(429),
            Error::Decode { status, .. } => *status,
            Error::Transport(e) => e.status().map(|s| s.as_u16()),
            Error::AfterSubmit { source, .. } => source.status(),
            _ => None,
        }
    }

    /// Whether a later attempt of a *read* (get, list, download) may succeed:
    /// a connection or timeout failure, a truncated download, a 429, or a
    /// 500/502/503/504, judged by the status alone, whatever the body.
    ///
    /// This says nothing of whether repeating a *create* is safe: a create
    /// that got any answer may have made a paid task, so this library never
    /// repeats one (see [`Error::is_safe_to_resubmit`]).
    pub fn is_transient(&self) -> bool {
        match self {
            // A body cut short surfaces as a body or decode error.
            Error::Transport(e) => {
                e.is_connect() || e.is_timeout() || e.is_request() || e.is_body() || e.is_decode()
            }
            Error::RateLimited { .. } | Error::TruncatedDownload { .. } => true,
            Error::Api { status, .. } => matches!(status, 500 | 502 | 503 | 504),
            Error::AfterSubmit { source, .. } => source.is_transient(),
            _ => false,
        }
    }

    /// Whether a failed create certainly never reached the server (the
    /// connection was refused), so sending it again cannot pay twice.
    pub fn is_safe_to_resubmit(&self) -> bool {
        matches!(self, Error::Transport(e) if e.is_connect())
    }

    /// Whether local state failed: the journal could not be read or written
    /// (directly, or after a create was sent).
    pub fn is_journal(&self) -> bool {
        match self {
            Error::Journal { .. } => true,
            Error::AfterSubmit { source, .. } => source.is_journal(),
            _ => false,
        }
    }

    /// The id of the task this error is about, when one exists: a failed or
    /// timed-out task, or any failure after the create.
    pub fn task_id(&self) -> Option<&str> {
        match self {
            Error::TaskFailed(task) => Some(&task.id),
            Error::ExceededMaxWait {
                last: Some(task), ..
            } => Some(&task.id),
            Error::AfterSubmit { task_id, .. } => Some(task_id),
            _ => None,
        }
    }
}
