//! A webhook receiver for a batch: an HTTP listener that verifies each
//! delivery with [`crate::webhook::verify`] and hands the
//! task events to the batch's completion detector, which then ends those
//! tasks without a poll (polling stays on, rarely, as a safety net).
//!
//! Written on hyper (already the mock's server) rather than a web framework:
//! it is one route that reads one bounded body. Every read is bounded: open
//! connections, the time to send headers and body, the body's size, and the
//! events waiting to be taken (a full queue answers 503, so the provider
//! delivers again later).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::{mpsc, watch, Mutex, Semaphore};

use crate::webhook::{self, WebhookEvent};
use crate::Error;

/// The largest delivery body read.
pub const MAX_DELIVERY: usize = 1024 * 1024;
/// Connections open at once.
const MAX_CONNECTIONS: usize = 256;
/// Time a delivery may take to send its headers, and its body.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Verified events waiting for the detector.
const QUEUE: usize = 4096;

/// The events a [`listen`]er verified, for [`BatchOptions::webhooks`](super::BatchOptions::webhooks).
/// Cheap to clone; the listener stops when the last clone is dropped.
#[derive(Clone)]
pub struct Inbox {
    events: Arc<Mutex<mpsc::Receiver<WebhookEvent>>>,
    _stop: Arc<watch::Sender<bool>>,
    addr: SocketAddr,
}

impl std::fmt::Debug for Inbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inbox")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Inbox {
    /// Where the listener is bound.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The next verified event; `None` once the listener has stopped.
    pub async fn next(&self) -> Option<WebhookEvent> {
        self.events.lock().await.recv().await
    }
}

/// Listens on `addr` for deliveries signed with `secret` (raw, or
/// `whsec_` base64). A delivery that does not verify is answered 401 and
/// dropped; one that does is answered 204 and queued.
pub async fn listen(addr: SocketAddr, secret: &str) -> Result<Inbox, Error> {
    // An unusable secret is refused now, not at the first delivery.
    webhook::sign(secret, "check", 0, b"")
        .map_err(|e| Error::validation("webhook secret", e.to_string()))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Error::validation("--listen", format!("cannot listen on {addr}: {e}")))?;
    let addr = listener.local_addr().map_err(Error::Io)?;
    let (queue, events) = mpsc::channel(QUEUE);
    let (stop, mut stopped) = watch::channel(false);
    let secret: Arc<str> = Arc::from(secret);
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    tokio::spawn(async move {
        loop {
            let slot = tokio::select! {
                slot = slots.clone().acquire_owned() => match slot { Ok(s) => s, Err(_) => return },
                _ = stopped.changed() => return,
            };
            let stream = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        tracing::warn!(error = %e, "webhook listener: accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
                _ = stopped.changed() => return,
            };
            let (secret, queue) = (secret.clone(), queue.clone());
            tokio::spawn(async move {
                let _slot = slot;
                let service = hyper::service::service_fn(move |request| {
                    deliver(secret.clone(), queue.clone(), request)
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(READ_TIMEOUT)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(Inbox {
        events: Arc::new(Mutex::new(events)),
        _stop: Arc::new(stop),
        addr,
    })
}

async fn deliver(
    secret: Arc<str>,
    queue: mpsc::Sender<WebhookEvent>,
    request: http::Request<Incoming>,
) -> Result<http::Response<Full<Bytes>>, std::convert::Infallible> {
    let answer = |status: u16, message: &str| {
        let mut response = http::Response::new(Full::new(Bytes::from(
            serde_json::json!({ "message": message }).to_string(),
        )));
        *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or_default();
        Ok(response)
    };
    if request.method() != http::Method::POST {
        return answer(405, "deliveries are POSTed");
    }
    let (parts, body) = request.into_parts();
    let read = tokio::time::timeout(READ_TIMEOUT, Limited::new(body, MAX_DELIVERY).collect()).await;
    let body = match read {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(_)) => return answer(413, "the delivery is larger than 1 MiB, or broke off"),
        Err(_) => return answer(408, "the delivery did not arrive in time"),
    };
    match webhook::verify(&secret, &parts.headers, &body, SystemTime::now()) {
        Ok(event) => match queue.try_send(event) {
            Ok(()) => {
                let mut response = http::Response::new(Full::new(Bytes::new()));
                *response.status_mut() = http::StatusCode::NO_CONTENT;
                Ok(response)
            }
            Err(_) => answer(503, "too many deliveries waiting; deliver again later"),
        },
        Err(error) => {
            tracing::warn!(%error, "webhook delivery refused");
            answer(401, &error.to_string())
        }
    }
}
