//! An offline stand-in for all three providers at once (feature `mock`).
//!
//! It answers every operation in `openapi/` with the documents' status codes
//! and body shapes, checks auth and request bodies against the documents,
//! runs a task lifecycle, serves real MP4s, signs webhooks, and injects
//! faults on demand. The logic lives in a transport-free [`Engine`], hosted
//! either by [`MockServer`] (hyper, bounded memory) or, through
//! [`MockResponder`], by your own `wiremock::MockServer`.
//!
//! Steering a task from a test:
//! - a prompt containing `[mock:fail]` fails; `[mock:stuck]` never finishes;
//! - `POST /__mock/tasks/{id}` with `{"outcome": "completed" | "failed" | "in_progress"}`;
//! - a `Prefer: code=503` header answers that status with the document's example;
//! - faults (`ROUTE:KIND[:WHEN]`, see [`Fault`]) via the builder, `--fault`, or `POST /__mock/faults`.
//!
//! Admin API under `/__mock/`: `GET health`, `GET requests` (a ring buffer),
//! `GET webhooks`, `POST reset`, `GET|POST|DELETE faults`, `POST tasks/{id}`,
//! `GET deviations` (what `--upstream` found), and `GET videos/{id}.mp4`
//! (where result URLs point).
//!
//! With [`MockBuilder::upstream`] (`--upstream PROVIDER=URL`) the mock
//! forwards that provider's calls to the real server and checks both ways
//! against the document; [`MockBuilder::record`] and [`MockBuilder::replay`]
//! keep and play back the exchanges (see proxy.rs).

mod admin;
mod config;
mod engine;
mod faults;
mod journal;
mod providers;
mod proxy;
mod ratelimit;
mod respond;
mod router;
mod server;
mod state;
// Used by the crate's own tests and benches; not part of the supported API.
#[doc(hidden)]
pub mod validate;
#[doc(hidden)]
pub mod video;
mod webhooks;
mod wiremock;

use std::net::SocketAddr;
use std::time::Duration;

use tokio::sync::watch;

pub use self::wiremock::MockResponder;
pub use config::{HostLimits, Lifecycle, MockConfig, DEFAULT_API_KEY, DEFAULT_WEBHOOK_SECRET};
pub use engine::{Engine, MockRequest, Reply};
pub use faults::{Fault, FaultKind, FaultParseError, Trigger};
pub use journal::JournalEntry;
pub use proxy::{Deviation, MAX_UPSTREAM_BODY};
pub use ratelimit::{RateLimits, MAX_ADDRESSES};
pub use state::Outcome;
pub use webhooks::Delivery;

use crate::{Client, Error, Provider};

/// Configures a mock; [`MockBuilder::start`] serves it, [`MockBuilder::engine`]
/// gives the bare engine (for [`MockResponder`]).
#[derive(Debug, Clone, Default)]
pub struct MockBuilder {
    addr: Option<SocketAddr>,
    config: MockConfig,
    custom_keys: bool,
}

impl MockBuilder {
    /// Where to listen (default: a random port on 127.0.0.1).
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = Some(addr);
        self
    }

    /// Accepts this key (call again for more); the first call replaces
    /// [`DEFAULT_API_KEY`].
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        if !self.custom_keys {
            self.config.api_keys.clear();
            self.custom_keys = true;
        }
        self.config.api_keys.push(key.into());
        self
    }

    /// How tasks progress.
    pub fn lifecycle(mut self, lifecycle: Lifecycle) -> Self {
        self.config.lifecycle = lifecycle;
        self
    }

    /// Spreads each clock task's completion uniformly over `spread` past
    /// the lifecycle's done time, drawn from the seed: tasks finish out of
    /// order, as a real batch's do.
    pub fn lifecycle_spread(mut self, spread: Duration) -> Self {
        self.config.lifecycle_spread = spread;
        self
    }

    /// Plays `limit` for `provider`, per client address (see [`RateLimits`]).
    pub fn rate_limit(mut self, provider: crate::Provider, limit: crate::RateLimit) -> Self {
        self.config.rate_limits.limits.push((provider, limit));
        self
    }

    /// Whether a 429 from the rate limit carries `Retry-After`.
    pub fn rate_limit_retry_after(mut self, on: bool) -> Self {
        self.config.rate_limits.retry_after = on;
        self
    }

    /// Adds a fault.
    pub fn fault(mut self, fault: Fault) -> Self {
        self.config.faults.push(fault);
        self
    }

    /// The webhook signing secret.
    pub fn webhook_secret(mut self, secret: impl Into<String>) -> Self {
        self.config.webhook_secret = secret.into();
        self
    }

    /// Delays between webhook attempts (their number is the retry count).
    pub fn webhook_retry_delays(mut self, delays: Vec<Duration>) -> Self {
        self.config.webhook_retry_delays = delays;
        self
    }

    /// How long result URLs stay valid.
    pub fn video_ttl(mut self, ttl: Duration) -> Self {
        self.config.video_ttl = ttl;
        self
    }

    /// How many tasks to keep before evicting finished ones.
    pub fn max_tasks(mut self, n: usize) -> Self {
        self.config.max_tasks = n;
        self
    }

    /// How many requests the journal keeps.
    pub fn journal_size(mut self, n: usize) -> Self {
        self.config.journal_size = n;
        self
    }

    /// The largest body accepted.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.config.body_limit = bytes;
        self
    }

    /// The base of result URLs, instead of the client's `Host` header.
    pub fn public_url(mut self, url: impl Into<String>) -> Self {
        self.config.public_url = Some(url.into().trim_end_matches('/').to_string());
        self
    }

    /// The key the admin API requires (in `x-mock-admin-key`).
    pub fn admin_key(mut self, key: impl Into<String>) -> Self {
        self.config.admin_key = Some(key.into());
        self
    }

    /// The host's limits against hostile clients.
    pub fn limits(mut self, limits: HostLimits) -> Self {
        self.config.limits = limits;
        self
    }

    /// Forwards `provider`'s calls to the server at `base_url`, passing the
    /// caller's own auth, and checks each request and answer against the
    /// provider's document (see `GET /__mock/deviations`).
    pub fn upstream(mut self, provider: Provider, base_url: impl Into<String>) -> Self {
        self.config.upstreams.push((provider, base_url.into()));
        self
    }

    /// Writes every forwarded exchange into `dir` as a JSON cassette, with
    /// secrets redacted.
    pub fn record(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.config.record = Some(dir.into());
        self
    }

    /// Answers every provider's calls from the cassettes in `dir`, with no
    /// upstream.
    pub fn replay(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.config.replay = Some(dir.into());
        self
    }

    /// Seed for ids and fault dice.
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = seed;
        self
    }

    /// The configuration so far.
    pub fn config(&self) -> &MockConfig {
        &self.config
    }

    /// The engine alone, to host yourself (see [`MockResponder`]).
    pub fn engine(self) -> Engine {
        Engine::new(self.config)
    }

    /// Binds and serves in the background; the server stops when dropped.
    pub async fn start(self) -> std::io::Result<MockServer> {
        crate::webhook::sign(&self.config.webhook_secret, "check", 0, b"").map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("--webhook-secret: {e}"),
            )
        })?;
        let addr = self
            .addr
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let mut config = self.config;
        config.loopback = addr.ip().is_loopback();
        if !config.loopback && config.admin_key.is_none() {
            tracing::warn!(%addr, "the mock listens beyond loopback: its admin API is closed (pass an admin key to open it)");
        }
        let engine = Engine::with_proxy(config)?;
        let (stop, stopped) = watch::channel(false);
        tokio::spawn(server::serve(listener, engine.clone(), stopped));
        Ok(MockServer {
            addr,
            url: format!("http://{addr}"),
            engine,
            stop,
        })
    }
}

/// A running mock server. Dropping it stops it.
#[derive(Debug)]
pub struct MockServer {
    addr: SocketAddr,
    url: String,
    engine: Engine,
    stop: watch::Sender<bool>,
}

impl MockServer {
    /// Starts a mock with default settings on a random loopback port.
    pub async fn start() -> std::io::Result<Self> {
        Self::builder().start().await
    }

    /// A builder.
    pub fn builder() -> MockBuilder {
        MockBuilder::default()
    }

    /// The base URL, such as `http://127.0.0.1:40123`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The engine, for inspection.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// A client for `provider`, pointed at this mock with its first key.
    pub fn client(&self, provider: Provider) -> Result<Client, Error> {
        let key = self
            .engine
            .config()
            .api_keys
            .first()
            .cloned()
            .unwrap_or_default();
        Client::builder(provider)
            .api_key(key)
            .base_url(&self.url)
            .build()
    }
}

/// A client for `provider` from its key variable (`MAGNIFIC_API_KEY`, ...),
/// or, when that is unset, one pointed at a freshly started mock, which is
/// returned too and must be kept alive. What the examples use.
pub async fn client_from_env_or_mock(
    provider: Provider,
) -> Result<(Client, Option<MockServer>), Error> {
    match std::env::var(provider.key_env_var()) {
        Ok(key) if !key.trim().is_empty() => {
            Ok((Client::builder(provider).api_key(key).build()?, None))
        }
        _ => {
            let mock = MockServer::start().await?;
            Ok((mock.client(provider)?, Some(mock)))
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
