//! One error type for the ergonomic layer. Every variant says what went wrong
//! in words a user can act on: a field and the rule it broke, a provider and
//! the feature it lacks, or a status with the server's own message and body.

use std::time::Duration;

use crate::{Provider, Task};

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
    /// A request field breaks a rule of the target provider; nothing was sent.
    #[error("invalid `{field}`: {reason}")]
    Validation {
        /// The field, as named on [`VideoRequest`](crate::VideoRequest).
        field: String,
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
    },

    /// The server answered with an error status.
    #[error("{provider} answered {status}: {message}{}", fmt_params(.invalid_params))]
    Api {
        /// Who answered.
        provider: Provider,
        /// The HTTP status.
        status: u16,
        /// The server's message, or the status's reason phrase.
        message: String,
        /// Fields the server named as invalid (Magnific's problem+json).
        invalid_params: Vec<InvalidParam>,
        /// The raw response body, as received.
        body: String,
    },

    /// The key is missing or wrong (HTTP 401 or 403).
    #[error("{provider} refused the API key: {message}")]
    Unauthorized {
        /// Who answered.
        provider: Provider,
        /// The server's message.
        message: String,
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

    /// The request could not be sent or its response not read.
    #[error("transport error: {0}")]
    Transport(#[from] reqwest::Error),

    /// The server's body did not decode as the document says it should.
    #[error("could not decode the response ({reason}); body: {body}")]
    Decode {
        /// The decoder's complaint.
        reason: String,
        /// The raw body, as received.
        body: String,
    },

    /// A local file could not be read or written.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),

    /// A webhook delivery did not verify.
    #[error(transparent)]
    Webhook(#[from] crate::webhook::WebhookError),
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
    pub(crate) fn validation(field: &str, reason: impl Into<String>) -> Self {
        Error::Validation {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn unsupported(provider: Provider, feature: impl Into<String>) -> Self {
        Error::Unsupported {
            provider,
            feature: feature.into(),
        }
    }

    /// The HTTP status behind this error, if a server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            Error::Unauthorized { .. } => Some(401),
            Error::RateLimited { .. } => Some(429),
            Error::Transport(e) => e.status().map(|s| s.as_u16()),
            _ => None,
        }
    }

    /// Whether the request can be repeated safely and may succeed: a
    /// connection or timeout failure, a 429, or a 500/502/503/504.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Transport(e) => {
                e.is_connect() || e.is_timeout() || e.is_request() || e.is_body()
            }
            Error::RateLimited { .. } => true,
            Error::Api { status, .. } => matches!(status, 500 | 502 | 503 | 504),
            _ => false,
        }
    }
}
