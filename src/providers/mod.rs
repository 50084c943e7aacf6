//! The providers, and how a provider-neutral request maps onto each: one
//! file per provider implements [`Api`] (its facts, its rules, its generated
//! body, and how its answers become a [`Task`]). This file holds what they
//! share: the trait, the dispatch made from the provider table (so a new
//! provider is a compile error in no file but its own), and turning the
//! generated clients' errors into [`Error`]s that keep the raw body.

use std::fmt;
use std::future::Future;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use reqwest::header::{
    HeaderMap, HeaderName, HeaderValue, InvalidHeaderValue, AUTHORIZATION, LOCATION, RETRY_AFTER,
};
use reqwest::StatusCode;
use serde_json::Value;

use crate::api::hooks::{capture_response, Captured};
use crate::error::InvalidParam;
pub use crate::provider::{Auth, Provider, ProviderSpec, VideoSource};
use crate::{AspectRatio, Error, RequestContext, RequestField, Resolution, Task, VideoRequest};

impl Provider {
    /// Every provider's name, for messages: `magnific, anyfast or powertokens`.
    pub(crate) fn names() -> String {
        let names: Vec<&str> = Provider::ALL.iter().map(|p| p.name()).collect();
        match names.split_last() {
            Some((last, [])) => last.to_string(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        }
    }

    /// Lower-case name, as used on the command line and in module names.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The header that carries `key`, in this provider's scheme: Magnific's
    /// `x-magnific-api-key`, or `Authorization: Bearer` for the other two.
    /// The value is marked sensitive, so `Debug` output of requests hides it.
    pub fn auth_header(self, key: &str) -> Result<(HeaderName, HeaderValue), InvalidHeaderValue> {
        let (name, mut value) = match self.spec().auth {
            Auth::Header(name) => (HeaderName::from_static(name), HeaderValue::from_str(key)?),
            Auth::Bearer => (
                AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {key}"))?,
            ),
        };
        value.set_sensitive(true);
        Ok((name, value))
    }

    /// The environment variable [`Client::from_env`](crate::Client::from_env) reads the key from.
    pub fn key_env_var(self) -> &'static str {
        self.spec().key_env_var
    }

    /// How long a completed task's result URLs stay valid, when the
    /// provider says: 24 hours for Magnific and for Anyfast's upstream;
    /// `None` for Powertokens, whose video comes from its `/content` endpoint.
    pub fn result_url_ttl(self) -> Option<Duration> {
        self.spec().result_url_ttl
    }

    /// The production base URL from the provider's document.
    pub fn default_base_url(self) -> &'static str {
        self.spec().base_url
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, so widths and alignment apply (the `tasks` table's columns).
        f.pad(self.name())
    }
}

impl FromStr for Provider {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Provider::ALL
            .iter()
            .copied()
            .find(|p| p.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                Error::validation(
                    "provider",
                    format!("unknown provider `{s}`: expected {}", Provider::names()),
                )
            })
    }
}

impl<'de> serde::Deserialize<'de> for Provider {
    /// Its name, as `--provider` takes it.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        name.parse()
            .map_err(|e: Error| serde::de::Error::custom(e.into_reason()))
    }
}

/// What one provider's file implements: everything the client needs to know
/// of it, and nothing shared.
pub(crate) trait Api {
    /// Which provider this is.
    const PROVIDER: Provider;
    /// Its facts.
    const SPEC: ProviderSpec;
    /// Its generated client(s), as a [`crate::Client`] keeps them.
    type Clients: fmt::Debug + Clone + Send + Sync;
    /// The generated create body.
    type Body: serde::Serialize;

    /// The clients for `base_url`: `api` for API calls, `download` (a
    /// read-idle timeout, no total timeout) for anything that streams video.
    fn clients(
        base_url: &str,
        api: reqwest::Client,
        download: reqwest::Client,
        context: RequestContext,
    ) -> Self::Clients;

    /// The provider's own rules, after the common ones.
    fn validate(req: &VideoRequest) -> Result<(), Error>;

    /// The generated body for `req` (which has passed [`Api::validate`]).
    async fn body(req: &VideoRequest) -> Result<Self::Body, Error>;

    /// Creates the task.
    async fn create(clients: &Self::Clients, req: &VideoRequest) -> Result<Task, Error>;

    /// Reads one task.
    async fn get(clients: &Self::Clients, id: &str) -> Result<Task, Error>;

    /// Lists tasks (of one resolution), where the provider can
    /// ([`ProviderSpec::lists_tasks`]).
    async fn list(
        _clients: &Self::Clients,
        _resolution: Option<Resolution>,
    ) -> Result<Vec<Task>, Error> {
        Err(Error::unsupported(Self::PROVIDER, "listing tasks"))
    }

    /// Where a finished task's video is read from: by default its first
    /// result URL.
    async fn video(_clients: &Self::Clients, task: &Task) -> Result<Video, Error> {
        result_url(task)
    }
}

/// A finished task's first result URL.
fn result_url(task: &Task) -> Result<Video, Error> {
    let url = task
        .video_urls
        .first()
        .ok_or_else(|| Error::validation("task", format!("{} has no video URL", task.id)))?;
    reqwest::Url::parse(url)
        .map(Video::Url)
        .map_err(|e| Error::validation("task", format!("video URL `{url}`: {e}")))
}

/// Declares each provider's module, and dispatches to its [`Api`].
macro_rules! dispatch {
    ($($module:ident $variant:ident $file:literal $summary:literal;)*) => {
        $(mod $module;)*

        /// Each provider's own values a [`Task`] is made from (see
        /// [`RawTask`](crate::RawTask)), named after the provider.
        pub mod raw {
            $(pub use super::$module::Raw as $variant;)*
        }

        impl Provider {
            /// This provider's facts, from its own file.
            pub fn spec(self) -> &'static ProviderSpec {
                match self {
                    $(Provider::$variant => &<$module::$variant as Api>::SPEC,)*
                }
            }
        }

        impl VideoRequest {
            /// Checks the request against `provider`'s rules; `Ok` means it can be sent.
            pub fn validate(&self, provider: Provider) -> Result<(), Error> {
                self.check_common()?;
                match provider {
                    $(Provider::$variant => <$module::$variant as Api>::validate(self),)*
                }
            }
        }

        /// The JSON body `req` becomes for `provider`, after validation; what
        /// [`Client::submit`](crate::Client::submit) would send.
        pub async fn request_body(provider: Provider, req: &VideoRequest) -> Result<Value, Error> {
            req.validate(provider)?;
            let value = match provider {
                $(Provider::$variant => serde_json::to_value(<$module::$variant as Api>::body(req).await?),)*
            };
            value.map_err(|e| Error::Decode {
                status: None,
                reason: e.to_string(),
                body: String::new(),
            })
        }

        /// One provider's generated client(s).
        #[derive(Debug, Clone)]
        pub(crate) enum Backend {
            $($variant(<$module::$variant as Api>::Clients),)*
        }

        impl Backend {
            pub(crate) fn new(
                provider: Provider,
                base_url: &str,
                api: reqwest::Client,
                download: reqwest::Client,
                context: RequestContext,
            ) -> Self {
                match provider {
                    $(Provider::$variant => Backend::$variant(
                        <$module::$variant as Api>::clients(base_url, api, download, context),
                    ),)*
                }
            }

            pub(crate) async fn create(&self, req: &VideoRequest) -> Result<Task, Error> {
                match self {
                    $(Backend::$variant(c) => <$module::$variant as Api>::create(c, req).await,)*
                }
            }

            pub(crate) async fn get(&self, id: &str) -> Result<Task, Error> {
                if id.is_empty() || id.contains('/') {
                    return Err(Error::validation(
                        "task id",
                        format!("`{id}` is empty or contains `/`"),
                    ));
                }
                match self {
                    $(Backend::$variant(c) => <$module::$variant as Api>::get(c, id).await,)*
                }
            }

            pub(crate) async fn list(&self, resolution: Option<Resolution>) -> Result<Vec<Task>, Error> {
                match self {
                    $(Backend::$variant(c) => <$module::$variant as Api>::list(c, resolution).await,)*
                }
            }

            /// Where a finished task's video is read from: its result URL, or the
            /// provider's content endpoint, as each provider's [`ProviderSpec`] says.
            pub(crate) async fn video(&self, task: &Task) -> Result<Video, Error> {
                match self {
                    $(Backend::$variant(c) => <$module::$variant as Api>::video(c, task).await,)*
                }
            }
        }
    };
}
for_each_provider!(dispatch);

/// `Err` naming the provider's ratios unless the request's ratio is one of them.
fn check_aspect_ratio(
    provider: Provider,
    req: &VideoRequest,
    accepted: &[AspectRatio],
) -> Result<(), Error> {
    match req.aspect_ratio {
        Some(r) if !accepted.contains(&r) => {
            let list: Vec<&str> = accepted.iter().map(|a| a.as_str()).collect();
            Err(Error::validation(
                RequestField::AspectRatio,
                format!("`{r}` is not one of {provider}'s {}", list.join(", ")),
            ))
        }
        _ => Ok(()),
    }
}

/// The six named ratios both gateways take, and `adaptive`.
const GATEWAY_RATIOS: [AspectRatio; 7] = [
    AspectRatio::R16x9,
    AspectRatio::R4x3,
    AspectRatio::R1x1,
    AspectRatio::R3x4,
    AspectRatio::R9x16,
    AspectRatio::R21x9,
    AspectRatio::Adaptive,
];

/// `Err(Unsupported)` naming `field` unless `absent` holds; `feature` says
/// what the field asks for (empty: the field's name says it).
fn require_absent(
    provider: Provider,
    absent: bool,
    field: RequestField,
    feature: &str,
) -> Result<(), Error> {
    if absent {
        Ok(())
    } else {
        Err(Error::unsupported_field(provider, field, feature))
    }
}

/// Where a finished task's video is read from.
pub(crate) enum Video {
    /// A URL to GET (redirects followed by hand, the key kept at home).
    Url(reqwest::Url),
    /// A stream already answered by the provider's content endpoint.
    Stream(progenitor_client::ResponseValue<progenitor_client::ByteStream>),
}

/// Runs one generated call, keeping the raw body of an error response.
async fn call<T, E, F>(provider: Provider, send: F) -> Result<T, Error>
where
    E: serde::Serialize,
    F: Future<Output = Result<progenitor_client::ResponseValue<T>, progenitor_client::Error<E>>>,
{
    call_with_headers(provider, send)
        .await
        .map(progenitor_client::ResponseValue::into_inner)
}

/// [`call`], keeping the response's status and headers.
async fn call_with_headers<T, E, F>(
    provider: Provider,
    send: F,
) -> Result<progenitor_client::ResponseValue<T>, Error>
where
    E: serde::Serialize,
    F: Future<Output = Result<progenitor_client::ResponseValue<T>, progenitor_client::Error<E>>>,
{
    match capture_response(send).await {
        (Ok(value), _) => Ok(value),
        (Err(err), last) => Err(from_generated(provider, err, last).await),
    }
}

/// Whether an id field holds an id.
fn named(id: Option<&str>) -> bool {
    id.is_some_and(|id| !id.trim().is_empty())
}

/// Runs a generated create, and refuses an answer that names no task: the
/// task may exist and be paid for, so the error keeps the raw body.
async fn create_call<T, E, F>(
    provider: Provider,
    send: F,
    has_id: impl FnOnce(&T) -> bool,
) -> Result<T, Error>
where
    E: serde::Serialize,
    F: Future<Output = Result<progenitor_client::ResponseValue<T>, progenitor_client::Error<E>>>,
{
    let (result, last) = capture_response(send).await;
    let value = match result {
        Ok(value) => value.into_inner(),
        Err(err) => return Err(from_generated(provider, err, last).await),
    };
    if has_id(&value) {
        return Ok(value);
    }
    Err(Error::Decode {
        status: last.as_ref().map(|c| c.status.as_u16()),
        reason: format!(
            "{provider} accepted the create but its answer names no task id; \
             the task may exist and be paid for"
        ),
        body: last
            .map(|c| String::from_utf8_lossy(&c.body).into_owned())
            .unwrap_or_default(),
    })
}

/// When the generated type refused a body, builds the task from the raw JSON
/// instead (so an undocumented status becomes `TaskStatus::Unknown`).
fn task_from_json(err: Error, build: impl FnOnce(&Value) -> Option<Task>) -> Result<Task, Error> {
    match &err {
        Error::Decode { body, .. } => serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|v| build(&v))
            .ok_or(err),
        _ => Err(err),
    }
}

async fn from_generated<E: serde::Serialize>(
    provider: Provider,
    err: progenitor_client::Error<E>,
    last: Option<Captured>,
) -> Error {
    use progenitor_client::Error as G;
    // Whatever the generated client made of the body, a server's error status
    // decides the error: an HTML 500 is a 500, not a decoding failure.
    if let Some(c) = last.as_ref().filter(|c| !c.status.is_success()) {
        if !matches!(err, G::CommunicationError(_)) {
            return from_status(provider, c.status, &c.headers, &c.body);
        }
    }
    match err {
        G::CommunicationError(e) | G::ResponseBodyError(e) | G::InvalidUpgrade(e) => {
            Error::Transport(e)
        }
        G::ErrorResponse(rv) => {
            let (status, headers) = (rv.status(), rv.headers().clone());
            let body = serde_json::to_vec(&rv.into_inner()).unwrap_or_default();
            from_status(provider, status, &headers, &body)
        }
        G::InvalidResponsePayload(bytes, e) => Error::Decode {
            status: last.as_ref().map(|c| c.status.as_u16()),
            reason: match &last {
                Some(c) if c.truncated => format!(
                    "the body is larger than {} bytes, the most a JSON answer may be",
                    crate::error::MAX_JSON_BODY
                ),
                _ => e.to_string(),
            },
            body: String::from_utf8_lossy(&bytes).into_owned(),
        },
        G::UnexpectedResponse(response) => {
            let (status, headers) = (response.status(), response.headers().clone());
            let body = response.bytes().await.unwrap_or_default();
            if status.is_success() {
                Error::Decode {
                    status: Some(status.as_u16()),
                    reason: format!("undocumented success status {status}"),
                    body: String::from_utf8_lossy(&body).into_owned(),
                }
            } else {
                from_status(provider, status, &headers, &body)
            }
        }
        G::InvalidRequest(reason) => Error::validation("request", reason),
        G::Custom(reason) => Error::Decode {
            status: last.map(|c| c.status.as_u16()),
            reason,
            body: String::new(),
        },
    }
}

/// An error from a status, headers and raw body (at most
/// [`MAX_ERROR_BODY`](crate::error::MAX_ERROR_BODY) of it is kept), in any
/// provider's shape: JSON, problem+json, HTML or nothing.
pub(crate) fn from_status(
    provider: Provider,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> Error {
    let body = &body[..body.len().min(crate::error::MAX_ERROR_BODY)];
    let body = String::from_utf8_lossy(body).into_owned();
    let json: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let reason = status.canonical_reason().unwrap_or("error");
    let message = [
        json.pointer("/message"),
        json.pointer("/error/message"),
        json.pointer("/problem/message"),
        json.pointer("/error"),
    ]
    .into_iter()
    .flatten()
    .find_map(|v| v.as_str().filter(|s| !s.is_empty()))
    .map(String::from)
    .unwrap_or_else(|| match headers.get(LOCATION) {
        Some(to) if status.is_redirection() => format!(
            "{reason}, to {}; API calls never follow redirects",
            to.to_str().unwrap_or("?")
        ),
        _ => reason.to_string(),
    });
    match status.as_u16() {
        code @ (401 | 403) => Error::Unauthorized {
            provider,
            status: code,
            message,
            body,
        },
        429 => Error::RateLimited {
            provider,
            retry_after: retry_after(headers),
        },
        code => {
            let params = json
                .pointer("/invalid_params")
                .or(json.pointer("/problem/invalid_params"));
            let invalid_params: Vec<InvalidParam> = params
                .and_then(|p| serde_json::from_value(p.clone()).ok())
                .unwrap_or_default();
            Error::Api {
                provider,
                status: code,
                message,
                invalid_params,
                body,
                headers: Box::new(headers.clone()),
            }
        }
    }
}

/// `Retry-After` as delta-seconds or an HTTP date.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::Provider;

    /// Each fact that names an operation names one its document has, at the
    /// path the facts give (a parameter's name aside).
    #[test]
    fn content_endpoints_in_the_facts_are_in_the_documents() {
        let template = |path: &str| {
            path.trim_start_matches('/')
                .split('/')
                .map(|seg| if seg.starts_with('{') { "{}" } else { seg })
                .collect::<Vec<_>>()
                .join("/")
        };
        let mut seen = 0;
        for &provider in Provider::ALL {
            let crate::VideoSource::ContentEndpoint { operation, path } = provider.spec().video
            else {
                continue;
            };
            seen += 1;
            let found = crate::fixtures::OPERATIONS
                .iter()
                .find(|o| o.provider == provider && o.operation_id == operation)
                .unwrap_or_else(|| panic!("{provider}: no operation `{operation}`"));
            assert_eq!(template(found.path), template(path), "{provider}");
            assert_eq!(found.method, "GET", "{provider}");
        }
        assert_eq!(seen, 1, "Powertokens streams its video");
    }

    /// Each provider's duration and ratio facts are what its document
    /// accepts: every body they allow passes the mock's validator, which is
    /// compiled from the vendored document.
    #[cfg(feature = "mock")]
    #[tokio::test]
    async fn the_duration_and_ratio_facts_agree_with_the_documents() {
        use crate::{Media, VideoRequest};
        for &provider in Provider::ALL {
            let creates: Vec<&str> = crate::fixtures::OPERATIONS
                .iter()
                .filter(|o| o.provider == provider && o.method == "POST")
                .map(|o| o.operation_id)
                .collect();
            assert!(!creates.is_empty(), "{provider}");
            let base =
                VideoRequest::new("a kite").first_frame(Media::url("https://example.com/f.png"));
            let spec = provider.spec();
            let durations = spec.durations.iter().map(|&d| base.clone().duration(d));
            let ratios = spec
                .aspect_ratios
                .iter()
                .map(|&r| base.clone().aspect_ratio(r));
            for req in durations.chain(ratios) {
                let body = super::request_body(provider, &req).await.unwrap();
                for op in &creates {
                    let problems = crate::mock::validate::check_request(op, &body);
                    assert!(problems.is_empty(), "{provider} {op} {body}: {problems:?}");
                }
            }
        }
    }

    #[test]
    fn a_provider_fills_the_width_it_is_given() {
        assert_eq!(format!("{:<11}|", Provider::Anyfast), "anyfast    |");
        assert_eq!(format!("{}", Provider::Powertokens), "powertokens");
    }
}
