//! Everything a mock can be told: keys, lifecycle, faults, webhooks, limits.

use std::time::Duration;

use super::faults::Fault;

/// The key the mock accepts when none is configured. Printed at start by
/// `seedance-mini mock`, and used by `--mock` and the examples.
pub const DEFAULT_API_KEY: &str = "seedance-mini-mock-key";

/// The secret the mock signs webhooks with when none is configured.
pub const DEFAULT_WEBHOOK_SECRET: &str = "whsec_c2VlZGFuY2UtbWluaS1tb2NrLXNlY3JldA==";

/// How a mock task moves from created, through in progress, to done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// By the clock: in progress after the first duration, done after the second.
    Clock {
        /// Time from creation to in progress.
        in_progress_after: Duration,
        /// Time from creation to completed (or failed).
        done_after: Duration,
    },
    /// By how often the task is read: in progress at the first count, done at the second.
    Polls {
        /// Reads before it is in progress.
        in_progress_after: u32,
        /// Reads before it is done.
        done_after: u32,
    },
}

impl Default for Lifecycle {
    /// Fast: in progress after 200 ms, done after 1 s.
    fn default() -> Self {
        Lifecycle::Clock {
            in_progress_after: Duration::from_millis(200),
            done_after: Duration::from_secs(1),
        }
    }
}

/// What the hyper host allows a client, so that no client, however hostile,
/// can hold the mock's memory, connections or time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostLimits {
    /// Open connections at once; further ones wait in the listen queue.
    pub max_connections: usize,
    /// Time a connection may take to send a request's headers (idle
    /// keep-alive connections are closed after it too).
    pub header_read_timeout: Duration,
    /// Time a request may take to send its whole body.
    pub body_read_timeout: Duration,
    /// Bytes of request bodies held at once, over all connections; a body
    /// that would pass it is refused with 503.
    pub body_budget: usize,
}

impl Default for HostLimits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            body_budget: 256 * 1024 * 1024,
        }
    }
}

/// A mock's settings. Build one with [`MockBuilder`](super::MockBuilder).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MockConfig {
    /// Keys accepted by all three providers' auth.
    pub api_keys: Vec<String>,
    /// How tasks progress.
    pub lifecycle: Lifecycle,
    /// On a clock lifecycle, each task finishes at a time drawn (from the
    /// seed) uniformly between `done_after` and `done_after + lifecycle_spread`.
    pub lifecycle_spread: Duration,
    /// Providers' rate limits, played per client address.
    pub rate_limits: super::RateLimits,
    /// Faults to inject.
    pub faults: Vec<Fault>,
    /// Secret for signing webhooks (raw or `whsec_` base64).
    pub webhook_secret: String,
    /// Delays between webhook delivery attempts; its length is the retry count.
    pub webhook_retry_delays: Vec<Duration>,
    /// How long a result URL stays valid after completion.
    pub video_ttl: Duration,
    /// Finished tasks beyond this many are forgotten, oldest first; unfinished
    /// ones never are, and creates get 503 once twice this many are unfinished.
    pub max_tasks: usize,
    /// Requests kept for inspection.
    pub journal_size: usize,
    /// Webhook deliveries kept for inspection.
    pub max_deliveries: usize,
    /// Largest request body accepted.
    pub body_limit: usize,
    /// The host's limits against hostile clients (connections, time, memory).
    pub limits: HostLimits,
    /// The base of result URLs (`https://mock.example`); else the address
    /// the client reached, from its `Host` header.
    pub public_url: Option<String>,
    /// A key the admin API (`/__mock/...`, but for result URLs) requires in
    /// `x-mock-admin-key`. Without one, the admin API is open on a loopback
    /// address and closed on any other.
    pub admin_key: Option<String>,
    /// Whether the host listens on a loopback address (set by the host).
    pub loopback: bool,
    /// Seed for task ids and fault dice: the same seed, the same run. By
    /// default a fresh one, so that two mocks never hand out the same ids
    /// (`--seed` for a repeatable run).
    pub seed: u64,
    /// Providers whose calls are forwarded to a real server (base URL), and
    /// checked against the documents both ways (the hyper host only).
    pub upstreams: Vec<(crate::Provider, String)>,
    /// Where forwarded exchanges are written as cassettes.
    pub record: Option<std::path::PathBuf>,
    /// Where cassettes are answered from, for every provider, instead of an
    /// upstream (the hyper host only).
    pub replay: Option<std::path::PathBuf>,
}

impl Default for MockConfig {
    fn default() -> Self {
        Self {
            api_keys: vec![DEFAULT_API_KEY.to_string()],
            lifecycle: Lifecycle::default(),
            lifecycle_spread: Duration::ZERO,
            rate_limits: super::RateLimits::default(),
            faults: Vec::new(),
            webhook_secret: DEFAULT_WEBHOOK_SECRET.to_string(),
            webhook_retry_delays: vec![
                Duration::from_millis(100),
                Duration::from_millis(400),
                Duration::from_secs(2),
            ],
            video_ttl: Duration::from_secs(24 * 3600),
            max_tasks: 10_000,
            journal_size: 1_000,
            max_deliveries: 1_000,
            body_limit: 48 * 1024 * 1024,
            limits: HostLimits::default(),
            public_url: None,
            admin_key: None,
            loopback: true,
            seed: fastrand::u64(..),
            upstreams: Vec::new(),
            record: None,
            replay: None,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn two_mocks_draw_different_ids_unless_seeded_alike() {
        let (a, b) = (super::MockConfig::default(), super::MockConfig::default());
        assert_ne!(a.seed, b.seed);
    }
}
