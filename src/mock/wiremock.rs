//! The engine as a `wiremock::Respond`, so the stateful mock can be mounted
//! on your own `wiremock::MockServer` and you keep wiremock's matchers,
//! `expect` counts and verification.
//!
//! One difference from the standalone server: wiremock cannot drop a
//! connection, so a `drop` fault answers 502 instead.

use std::time::Duration;

use bytes::Bytes;
use wiremock::{Request, Respond, ResponseTemplate};

use super::engine::{Engine, MockRequest, Reply};

/// Answers wiremock requests with the mock engine.
#[derive(Debug, Clone)]
pub struct MockResponder {
    engine: Engine,
}

impl MockResponder {
    /// A responder backed by `engine` (share one engine between several
    /// mounts to share tasks).
    pub fn new(engine: Engine) -> Self {
        Self { engine }
    }

    /// The engine behind it.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

impl Respond for MockResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let reply = self.engine.handle(MockRequest {
            method: request.method.clone(),
            path: request.url.path().to_string(),
            query: request.url.query().map(String::from),
            headers: request.headers.clone(),
            body: Bytes::from(request.body.clone()),
            peer: None,
        });
        let (response, delay) = match reply {
            Reply::Respond { response, delay } => (response, delay),
            Reply::Drop { delay } => {
                return ResponseTemplate::new(502).set_delay(delay);
            }
        };
        let mut template = ResponseTemplate::new(response.status().as_u16());
        for (name, value) in response.headers() {
            template = template.append_header(name.clone(), value.clone());
        }
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/octet-stream")
            .to_string();
        template = template.set_body_raw(response.into_body().to_vec(), &content_type);
        if delay > Duration::ZERO {
            template = template.set_delay(delay);
        }
        template
    }
}
