//! Building a [`Client`]: key, endpoint, timeouts, user agent, retries, rate
//! limit, or a caller's own `reqwest::Client`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue};

use super::{Client, Inner};
use crate::journal::Ledger;
use crate::providers::Backend;
use crate::ratelimit::Limiter;
use crate::{Error, Journal, Provider, RateLimit, RequestContext, RetryPolicy};

/// An API key. It is sent only in its provider's auth header, and never
/// appears in `Debug` output, logs or error messages.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into())
    }

    /// The key itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

impl From<&str> for ApiKey {
    fn from(s: &str) -> Self {
        ApiKey::new(s)
    }
}

impl From<String> for ApiKey {
    fn from(s: String) -> Self {
        ApiKey::new(s)
    }
}

/// Configures a [`Client`]. Defaults: the provider's production URL, 10 s to
/// connect, 60 s per API request, downloads with a 60 s read-idle timeout and
/// no total timeout, the default [`RetryPolicy`], no rate limit.
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    provider: Provider,
    key: Option<ApiKey>,
    base_url: Option<String>,
    connect_timeout: Duration,
    request_timeout: Duration,
    read_idle_timeout: Duration,
    user_agent: String,
    retry: RetryPolicy,
    rate_limit: Option<RateLimit>,
    http: Option<reqwest::Client>,
    headers: Vec<(HeaderName, HeaderValue)>,
    query: Vec<(String, String)>,
    journal: Option<Journal>,
    ledger: Option<Arc<dyn Ledger>>,
}

impl ClientBuilder {
    /// A builder for `provider`.
    pub fn new(provider: Provider) -> Self {
        Self {
            provider,
            key: None,
            base_url: None,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            read_idle_timeout: Duration::from_secs(60),
            user_agent: concat!("seedance-mini/", env!("CARGO_PKG_VERSION")).into(),
            retry: RetryPolicy::default(),
            rate_limit: None,
            http: None,
            headers: Vec::new(),
            query: Vec::new(),
            journal: None,
            ledger: None,
        }
    }

    /// The API key.
    pub fn api_key(mut self, key: impl Into<ApiKey>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Another endpoint: a mock, a proxy, a staging host.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Time allowed to open a connection.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Time allowed for one API request, start to end (not for downloads).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Time a download may go without receiving a byte.
    pub fn read_idle_timeout(mut self, timeout: Duration) -> Self {
        self.read_idle_timeout = timeout;
        self
    }

    /// The `User-Agent` header.
    pub fn user_agent(mut self, agent: impl Into<String>) -> Self {
        self.user_agent = agent.into();
        self
    }

    /// How failed calls are retried.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// A client-side rate limit, such as [`RateLimit::magnific`]. With or
    /// without one, a 429 slows every call of the client (and its clones)
    /// down, and quiet seconds bring the pace back.
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = Some(limit);
        self
    }

    /// Your own `reqwest::Client`, used for every call and download; its
    /// timeouts and user agent then apply instead of the builder's. Build it
    /// with `redirect(reqwest::redirect::Policy::none())`, as this crate's
    /// own are: reqwest's default policy re-sends a create on 307/308 and
    /// passes custom auth headers (Magnific's) to other origins.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// A header added to every request (the escape hatch for what the
    /// documents do not describe).
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// A query pair added to every API request.
    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((key.into(), value.into()));
        self
    }

    /// Records every submit in `journal` before it is sent, and every later
    /// step (see [`Journal`]). `submit`, `generate` and `generate_many` use it.
    pub fn journal(mut self, journal: Journal) -> Self {
        self.ledger = Some(Arc::new(journal.clone()));
        self.journal = Some(journal);
        self
    }

    /// Tells `ledger` every step of every job (see [`Ledger`]), in place of
    /// a [`Journal`]: for another store of paid work.
    pub fn ledger(mut self, ledger: Arc<dyn Ledger>) -> Self {
        self.ledger = Some(ledger);
        self.journal = None;
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<Client, Error> {
        let base_url = self
            .base_url
            .unwrap_or_else(|| self.provider.default_base_url().to_string());
        let base = reqwest::Url::parse(&base_url).map_err(|e| {
            Error::validation("base_url", format!("`{base_url}` is not a URL: {e}"))
        })?;
        let mut context = match &self.key {
            Some(key) => RequestContext::new(self.provider, key.expose())?,
            None => RequestContext::unauthenticated(self.provider),
        };
        for (name, value) in self.headers {
            context = context.header(name, value);
        }
        let mut api_context = context.clone();
        for (k, v) in self.query {
            api_context = api_context.query(k, v);
        }
        let (api, download) = match self.http {
            Some(http) => (http.clone(), http),
            None => {
                // Redirects are never followed by reqwest: it would re-send a
                // paid create (307/308) and carry `x-magnific-api-key` to
                // another origin. API calls report a redirect as an error;
                // downloads follow them by hand, keeping the key at home.
                // One TLS set-up (the platform's roots are read once) for both.
                let tls = crate::tls::setup()?;
                let common = || {
                    crate::tls::builder(tls.clone())
                        .connect_timeout(self.connect_timeout)
                        .user_agent(self.user_agent.clone())
                        .redirect(reqwest::redirect::Policy::none())
                };
                let build = |b: reqwest::ClientBuilder| {
                    b.build().map_err(|e| Error::Setup {
                        what: "the HTTP client",
                        message: e.to_string(),
                    })
                };
                (
                    build(common().timeout(self.request_timeout))?,
                    build(common().read_timeout(self.read_idle_timeout))?,
                )
            }
        };
        let base_url = base_url.trim_end_matches('/').to_string();
        let backend = Backend::new(self.provider, &base_url, api, download.clone(), api_context);
        Ok(Client {
            overrides: None,
            inner: Arc::new(Inner {
                provider: self.provider,
                origin: base,
                backend,
                download,
                context,
                retry: self.retry,
                limiter: Limiter::new(self.rate_limit.unwrap_or_default()),
                journal: self.journal,
                ledger: self.ledger,
                base_url,
            }),
        })
    }
}
