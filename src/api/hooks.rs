//! What every generated client does around each request, through
//! progenitor's `ClientHooks`: adds the [`RequestContext`]'s auth header,
//! extra headers and query pairs, then any per-request [`RequestOptions`];
//! runs the call in a tracing span; and reads every body it can (all but
//! streamed videos) with a cap, keeping a copy of the last response's status,
//! headers and bytes inside a [`capture_response`] scope. The generated types
//! keep only the decoded value, and a document's schema can be narrower than
//! what a server sends: the copy is how an HTML 500 still reports its status.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use progenitor_client::OperationInfo;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::StatusCode;
use tracing::Instrument;

use crate::error::{MAX_ERROR_BODY, MAX_JSON_BODY};
use crate::{Error, Provider};

/// The last response a generated call received, as far as it was read.
#[derive(Debug, Clone)]
pub(crate) struct Captured {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    /// The body was longer than the cap; `body` holds its first part.
    pub(crate) truncated: bool,
}

tokio::task_local! {
    static LAST: RefCell<Option<Captured>>;
    static OVERRIDES: Arc<RequestOptions>;
}

/// Per-request settings, applied after the client's own: headers that
/// *replace* the client's (an `Accept`, or Prism's `Prefer: code=404`), a
/// timeout, and extra query pairs. Use with
/// [`Client::with_options`](crate::Client::with_options); `Debug` shows header
/// names, never values.
#[derive(Clone, Default)]
pub struct RequestOptions {
    headers: HeaderMap,
    timeout: Option<Duration>,
    query: Vec<(String, String)>,
}

impl RequestOptions {
    /// No overrides.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `name` to `value`, replacing any value the client would send
    /// (call again with the same name to send several values). Headers go to
    /// API calls and to downloads on the API's origin only.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Parses a `Name: value` line (as the command line's `--header` takes
    /// it); an error names the field `header`.
    pub fn header_line(self, line: &str) -> Result<Self, Error> {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| Error::validation("header", format!("`{line}` is not `Name: value`")))?;
        let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
            Error::validation("header", format!("`{}` is not a header name", name.trim()))
        })?;
        let value = HeaderValue::from_str(value.trim()).map_err(|_| {
            Error::validation(
                "header",
                format!("the value of `{name}` is not a header value"),
            )
        })?;
        Ok(self.header(name, value))
    }

    /// A total timeout for each request made under these options.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Adds a query pair to each API request.
    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((key.into(), value.into()));
        self
    }

    pub(crate) fn apply_headers(&self, request: &mut reqwest::Request) {
        let headers = request.headers_mut();
        for name in self.headers.keys() {
            headers.remove(name);
        }
        for (name, value) in &self.headers {
            headers.append(name, value.clone());
        }
        if let Some(timeout) = self.timeout {
            *request.timeout_mut() = Some(timeout);
        }
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
}

impl fmt::Debug for RequestOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestOptions")
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("timeout", &self.timeout)
            .field("query", &self.query)
            .finish()
    }
}

/// Runs `call` with `options` applied to every request it makes.
pub(crate) async fn with_overrides<F: Future>(
    options: Option<&Arc<RequestOptions>>,
    call: F,
) -> F::Output {
    match options {
        Some(o) => OVERRIDES.scope(o.clone(), call).await,
        None => call.await,
    }
}

/// Applies the per-request overrides in force, if any (downloads use this).
pub(crate) fn apply_overrides(request: &mut reqwest::Request) {
    let _ = OVERRIDES.try_with(|o| o.apply_headers(request));
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
        let visible = |c: char| c.is_ascii_graphic();
        if key.is_empty() || !key.chars().all(visible) {
            return Err(Error::validation(
                "api_key",
                "must be non-empty visible ASCII, with no spaces (it goes into an HTTP header)",
            ));
        }
        let auth = provider
            .auth_header(key)
            .map_err(|_| Error::validation("api_key", "must be visible ASCII"))?;
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

/// Runs `call`, returning its output and the last response it received, if
/// any (status, headers, and the body as far as it was read).
pub(crate) async fn capture_response<F: Future>(call: F) -> (F::Output, Option<Captured>) {
    LAST.scope(RefCell::new(None), async {
        let output = call.await;
        (output, LAST.with(|b| b.borrow_mut().take()))
    })
    .await
}

/// Reads at most `limit` bytes of `response`'s body; the flag says more was sent.
pub(crate) async fn read_capped(
    response: &mut reqwest::Response,
    limit: usize,
) -> reqwest::Result<(Bytes, bool)> {
    let mut buf = BytesMut::new();
    while let Some(chunk) = response.chunk().await? {
        let room = limit - buf.len();
        if chunk.len() > room {
            buf.extend_from_slice(&chunk[..room]);
            return Ok((buf.freeze(), true));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok((buf.freeze(), false))
}

/// Sends `request` with the client's own `reqwest::Client`.
pub(crate) async fn exec(
    context: &RequestContext,
    client: &reqwest::Client,
    mut request: reqwest::Request,
    info: &OperationInfo,
) -> reqwest::Result<reqwest::Response> {
    context.apply(&mut request);
    let _ = OVERRIDES.try_with(|o| o.apply(&mut request));
    let provider = context.provider.map_or("", Provider::name);
    let span = tracing::debug_span!("call", provider, operation = info.operation_id);
    async move {
        let method = request.method().clone();
        let path = request.url().path().to_string();
        let started = Instant::now();
        let result = client.execute(request).await;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        let mut response = match result {
            Ok(response) => response,
            Err(error) => {
                tracing::debug!(%method, path, elapsed_ms, %error, "request failed");
                return Err(error);
            }
        };
        let status = response.status();
        tracing::debug!(%method, path, elapsed_ms, status = status.as_u16(), "response");
        // A provider's content endpoint (its facts name it): the video
        // stream is passed on unread.
        let streamed = context
            .provider
            .and_then(|p| p.spec().video.streamed_operation());
        if status.is_success() && streamed == Some(info.operation_id) {
            return Ok(response);
        }
        let limit = if status.is_success() {
            MAX_JSON_BODY
        } else {
            MAX_ERROR_BODY
        };
        let version = response.version();
        let headers = response.headers().clone();
        let (body, truncated) = read_capped(&mut response, limit).await?;
        if truncated {
            tracing::debug!(status = status.as_u16(), limit, "body cut at the limit");
        }
        let _ = LAST.try_with(|b| {
            *b.borrow_mut() = Some(Captured {
                status,
                headers: headers.clone(),
                body: body.clone(),
                truncated,
            })
        });
        let mut rebuilt = http::Response::new(body);
        *rebuilt.status_mut() = status;
        *rebuilt.version_mut() = version;
        *rebuilt.headers_mut() = headers;
        Ok(reqwest::Response::from(rebuilt))
    }
    .instrument(span)
    .await
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_header_line_names_the_librarys_field_not_a_flag() {
        for line in ["NoColon", "bad name: v", "Name: bad\u{7f}value"] {
            match RequestOptions::new().header_line(line) {
                Err(Error::Validation { field, .. }) => assert_eq!(field, "header", "{line}"),
                other => panic!("{line}: {:?}", other.map(|_| ())),
            }
        }
        assert!(RequestOptions::new()
            .header_line("Prefer: code=404")
            .is_ok());
    }
}
