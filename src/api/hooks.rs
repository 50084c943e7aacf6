//! What every generated client does around each request, through
//! progenitor's `ClientHooks`: a tracing event per call, and, inside a
//! [`capture_error_body`] scope, a copy of an error response's raw body (the
//! generated error types keep only the decoded value, and a document's error
//! schema can be narrower than what the server sends).

use std::cell::RefCell;
use std::future::Future;
use std::time::Instant;

use bytes::Bytes;
use progenitor_client::OperationInfo;

use crate::Provider;

/// Error bodies larger than this are not copied (the response is passed on whole).
const MAX_CAPTURED: u64 = 1 << 20;

tokio::task_local! {
    static ERROR_BODY: RefCell<Option<Bytes>>;
}

/// Runs `call`, returning its output and the raw body of the last error
/// response it received, if any.
#[allow(dead_code)] // used by the ergonomic client
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
    provider: Provider,
    client: &reqwest::Client,
    request: reqwest::Request,
    info: &OperationInfo,
) -> reqwest::Result<reqwest::Response> {
    let method = request.method().clone();
    let path = request.url().path().to_string();
    let started = Instant::now();
    let result = client.execute(request).await;
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let response = match result {
        Ok(response) => response,
        Err(error) => {
            tracing::debug!(%provider, operation = info.operation_id, %method, path, elapsed_ms, %error, "request failed");
            return Err(error);
        }
    };
    let status = response.status();
    tracing::debug!(%provider, operation = info.operation_id, %method, path, elapsed_ms, status = status.as_u16(), "response");
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
    ($provider:expr) => {
        impl progenitor_client::ClientHooks for Client {
            async fn exec(
                &self,
                request: reqwest::Request,
                info: &progenitor_client::OperationInfo,
            ) -> reqwest::Result<reqwest::Response> {
                crate::api::hooks::exec($provider, &self.client, request, info).await
            }
        }
    };
}
pub(crate) use impl_hooks;
