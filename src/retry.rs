//! When a failed call may be repeated, and how long to wait first.
//!
//! Reads (get, list, downloads) retry on connection failures, timeouts, 429
//! (honouring `Retry-After`) and 500/502/503/504. A create is paid for, so it
//! is repeated only when the connection failed before anything was sent.
//! Each attempt rebuilds the request from scratch.

use std::future::Future;
use std::time::Duration;

use crate::{Error, Provider};

/// How often, and how patiently, failed calls are repeated.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, the first included; 1 means never retry.
    pub max_attempts: u32,
    /// Delay before the first retry; doubles for each later one.
    pub initial_delay: Duration,
    /// Cap on any one delay, `Retry-After` included: a server that asks for
    /// longer gets the error back instead of a hidden long sleep.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// At most `max_attempts` tries in all, waiting from `initial_delay`,
    /// doubling, up to `max_delay` between them.
    pub fn new(max_attempts: u32, initial_delay: Duration, max_delay: Duration) -> Self {
        RetryPolicy {
            max_attempts,
            initial_delay,
            max_delay,
        }
    }

    /// Never retry.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Full-jitter exponential backoff for retry number `retry` (1-based).
    fn backoff(&self, retry: u32) -> Duration {
        let exp = self
            .initial_delay
            .saturating_mul(1u32 << retry.saturating_sub(1).min(16));
        let cap = exp.min(self.max_delay);
        let half = cap / 2;
        half + cap.mul_f64(fastrand::f64() * 0.5)
    }
}

/// Whether a call may be repeated once it may have reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Safety {
    /// Reads: repeat on any transient failure.
    Idempotent,
    /// Creates: repeat only if the connection failed before sending.
    NotIdempotent,
}

/// How long to wait before repeating after `err`, or `None` to give up.
fn retry_delay(policy: &RetryPolicy, safety: Safety, err: &Error, retry: u32) -> Option<Duration> {
    let allowed = match safety {
        Safety::NotIdempotent => matches!(err, Error::Transport(e) if e.is_connect()),
        Safety::Idempotent => err.is_transient(),
    };
    if !allowed {
        return None;
    }
    match err {
        Error::RateLimited {
            retry_after: Some(wait),
            ..
        } if *wait > policy.max_delay => None,
        Error::RateLimited {
            retry_after: Some(wait),
            ..
        } => Some(*wait),
        _ => Some(policy.backoff(retry)),
    }
}

/// Runs `attempt` until it succeeds, the error is not retryable, or the
/// policy's attempts run out. Every retry is logged.
pub(crate) async fn run<T, F, Fut>(
    policy: &RetryPolicy,
    safety: Safety,
    provider: Provider,
    what: &str,
    mut attempt: F,
) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let mut tries = 1;
    loop {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(err) if tries < policy.max_attempts => {
                match retry_delay(policy, safety, &err, tries) {
                    Some(delay) => {
                        tracing::warn!(%provider, what, attempt = tries, delay_ms = delay.as_millis() as u64, error = %err, "retrying");
                        tokio::time::sleep(delay).await;
                        tries += 1;
                    }
                    None => return Err(err),
                }
            }
            Err(err) => return Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16) -> Error {
        Error::Api {
            provider: Provider::Magnific,
            status,
            message: String::new(),
            invalid_params: vec![],
            body: String::new(),
            headers: Default::default(),
        }
    }

    #[test]
    fn reads_retry_on_transient_statuses_only() {
        let p = RetryPolicy::default();
        for status in [500, 502, 503, 504] {
            assert!(
                retry_delay(&p, Safety::Idempotent, &api(status), 1).is_some(),
                "{status}"
            );
        }
        for status in [400, 404, 409, 501] {
            assert!(
                retry_delay(&p, Safety::Idempotent, &api(status), 1).is_none(),
                "{status}"
            );
        }
    }

    #[test]
    fn creates_never_retry_on_a_server_answer() {
        let p = RetryPolicy::default();
        assert!(retry_delay(&p, Safety::NotIdempotent, &api(503), 1).is_none());
        let limited = Error::RateLimited {
            provider: Provider::Magnific,
            retry_after: Some(Duration::from_secs(1)),
        };
        assert!(retry_delay(&p, Safety::NotIdempotent, &limited, 1).is_none());
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap() {
        let p = RetryPolicy::default();
        let limited = |s| Error::RateLimited {
            provider: Provider::Anyfast,
            retry_after: Some(Duration::from_secs(s)),
        };
        assert_eq!(
            retry_delay(&p, Safety::Idempotent, &limited(7), 1),
            Some(Duration::from_secs(7))
        );
        assert_eq!(retry_delay(&p, Safety::Idempotent, &limited(3600), 1), None);
    }

    #[test]
    fn backoff_doubles_within_jitter_and_is_capped() {
        let p = RetryPolicy {
            max_attempts: 10,
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(8),
        };
        for _ in 0..100 {
            let d1 = p.backoff(1);
            assert!(
                d1 >= Duration::from_millis(500) && d1 <= Duration::from_secs(1),
                "{d1:?}"
            );
            let d3 = p.backoff(3);
            assert!(
                d3 >= Duration::from_secs(2) && d3 <= Duration::from_secs(4),
                "{d3:?}"
            );
            assert!(p.backoff(9) <= Duration::from_secs(8));
        }
    }
}
