//! What every generated client does around each request, through
//! progenitor's `ClientHooks`: adds the [`RequestContext`]'s auth header,
//! extra headers and query pairs; emits a tracing event per call; and, inside
//! a [`capture_error_body`] scope, keeps a copy of an error response's raw
//! body (the generated error types keep only the decoded value, and a
//! document's error schema can be narrower than what the server sends).

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::time::Instant;

use bytes::Bytes;
use progenitor_client::OperationInfo;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::{Error, Provider};

/// Error bodies larger than this are not copied (the response is passed on whole).
const MAX_CAPTURED: u64 = 1 << 20;

tokio::task_local! {
    static ERROR_BODY: RefCell<Option<Bytes>>;
}

/// What a generated client adds to each request it sends: the provider's auth
/// header, and any extra headers and query pairs (an escape hatch for what
/// the documents do not describe). `Debug` never shows the key.
#[derive(Clone, Default)]
pub struct RequestContext {
    provider: Option<Provider>,
    auth: Option<(HeaderName, HeaderValue)>,
    headers: HeaderMap,
    query: Vec<(String, String)>,
}

impl RequestContext {
    /// A context that authenticates with `key` in `provider`'s scheme.
    pub fn new(provider: Provider, key: &str) -> Result<Self, Error> {
        let auth = provider.auth_header(key).map_err(|_| Error::Validation {
            field: "api_key".into(),
            reason: "must be visible ASCII (it goes into an HTTP header)".into(),
        })?;
        Ok(Self {
            provider: Some(provider),
            auth: Some(auth),
            ..Self::default()
        })
    }

    /// A context that sends no auth header (for a mock or a proxy that adds it).
    pub fn unauthenticated(provider: Provider) -> Self {
        Self {
            provider: Some(provider),
            ..Self::default()
        }
    }

    /// Adds a header to every request.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Adds a query pair to every request.
    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((key.into(), value.into()));
        self
    }

    fn apply(&self, request: &mut reqwest::Request) {
        if !self.query.is_empty() {
            let mut pairs = request.url_mut().query_pairs_mut();
            for (k, v) in &self.query {
                pairs.append_pair(k, v);
            }
        }
        self.apply_headers(request);
    }

    /// Adds the auth header and extra headers (not the query pairs).
    pub(crate) fn apply_headers(&self, request: &mut reqwest::Request) {
        let headers = request.headers_mut();
        for (name, value) in &self.headers {
            headers.append(name, value.clone());
        }
        if let Some((name, value)) = &self.auth {
            headers.insert(name, value.clone());
        }
    }
}

impl fmt::Debug for RequestContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestContext")
            .field("provider", &self.provider)
            .field(
                "auth",
                &self
                    .auth
                    .as_ref()
                    .map(|(name, _)| format!("{name}: <redacted>")),
            )
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("query", &self.query)
            .finish()
    }
}

/// Runs `call`, returning its output and the raw body of the last error
/// response it received, if any.
pub(crate) async fn capture_error_body<F: Future>(call: F) -> (F::Output, Option<Bytes>) {
    ERROR_BODY
        .scope(RefCell::new(None), async {
            let output = call.await;
            (output, ERROR_BODY.with(|b| b.borrow_mut().take()))
        })
        .await
}

/// Sends `request` with the client's own `reqwest::Client`.
pub(crate) async fn exec(
    context: &RequestContext,
    client: &reqwest::Client,
    mut request: reqwest::Request,
    info: &OperationInfo,
) -> reqwest::Result<reqwest::Response> {
    context.apply(&mut request);
    let provider = context.provider.map_or("", Provider::name);
    let method = request.method().clone();
    let path = request.url().path().to_string();
    let started = Instant::now();
    let result = client.execute(request).await;
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let response = match result {
        Ok(response) => response,
        Err(error) => {
            tracing::debug!(provider, operation = info.operation_id, %method, path, elapsed_ms, %error, "request failed");
            return Err(error);
        }
    };
    let status = response.status();
    tracing::debug!(provider, operation = info.operation_id, %method, path, elapsed_ms, status = status.as_u16(), "response");
    let capturing = ERROR_BODY.try_with(|_| ()).is_ok();
    let small = response.content_length().is_none_or(|n| n <= MAX_CAPTURED);
    if status.is_success() || !capturing || !small {
        return Ok(response);
    }
    let version = response.version();
    let headers = response.headers().clone();
    let body = response.bytes().await?;
    ERROR_BODY.with(|b| *b.borrow_mut() = Some(body.clone()));
    let mut rebuilt = http::Response::new(body);
    *rebuilt.status_mut() = status;
    *rebuilt.version_mut() = version;
    *rebuilt.headers_mut() = headers;
    Ok(reqwest::Response::from(rebuilt))
}

/// Implements `ClientHooks` for a generated `Client` in the current module.
macro_rules! impl_hooks {
    () => {
        impl progenitor_client::ClientHooks<crate::RequestContext> for Client {
            async fn exec(
                &self,
                request: reqwest::Request,
                info: &progenitor_client::OperationInfo,
            ) -> reqwest::Result<reqwest::Response> {
                crate::api::hooks::exec(&self.inner, &self.client, request, info).await
            }
        }
    };
}
pub(crate) use impl_hooks;
