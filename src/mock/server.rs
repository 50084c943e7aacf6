//! The standalone host: a hyper HTTP/1.1 server on a tokio listener, bounded
//! against hostile clients (see [`HostLimits`]): at most so many connections,
//! a deadline for headers and one for the body, one byte budget for every
//! body being read at once (not only per request), and a back-off when
//! accept fails (out of file descriptors) instead of a spin. The journal and
//! delivery log are rings, and finished tasks are evicted past a cap.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::body::{Body as _, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

use super::config::HostLimits;
use super::engine::{Engine, MockRequest, Reply};
use super::respond::json_response;

/// Returned by the service to make hyper close the connection unanswered.
#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("fault injection: connection dropped")
    }
}

impl std::error::Error for DropConnection {}

/// Why a body was not read whole.
enum BodyError {
    TooLarge,
    /// The shared budget is spent by other bodies in flight.
    Busy,
    Slow,
    Broken,
}

/// Reads a body up to `limit` bytes, taking each chunk's bytes from the
/// shared budget (given back when the request is answered), within `timeout`.
/// A body without bytes is answered at once.
async fn read_body(
    mut body: Incoming,
    limit: usize,
    budget: &Arc<Semaphore>,
    timeout: Duration,
) -> Result<(Bytes, Option<tokio::sync::OwnedSemaphorePermit>), BodyError> {
    if body.is_end_stream() {
        return Ok((Bytes::new(), None));
    }
    // The budget counts memory, not bytes received: the buffer's capacity is
    // paid for before it is allocated. A declared length (capped at the
    // limit) is reserved at once, so a body announced as 40 MB holds 40 MB
    // of the budget from its first byte.
    let declared = body.size_hint().exact().unwrap_or(0).min(limit as u64) as usize;
    let read = async {
        let mut held: Option<tokio::sync::OwnedSemaphorePermit> = None;
        let mut reserved = 0usize;
        let mut take = |capacity: usize, held: &mut Option<tokio::sync::OwnedSemaphorePermit>| {
            if capacity <= reserved {
                return Ok(());
            }
            let n = u32::try_from(capacity - reserved).map_err(|_| BodyError::TooLarge)?;
            let permit = budget
                .clone()
                .try_acquire_many_owned(n)
                .map_err(|_| BodyError::Busy)?;
            match held.as_mut() {
                Some(h) => h.merge(permit),
                None => *held = Some(permit),
            }
            reserved = capacity;
            Ok(())
        };
        take(declared, &mut held)?;
        let mut buf = BytesMut::with_capacity(declared);
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|_| BodyError::Broken)?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            if buf.len() + data.len() > limit {
                return Err(BodyError::TooLarge);
            }
            if buf.capacity() - buf.len() < data.len() {
                // Grow to what is needed (at most the limit), paid first.
                let wanted = (buf.len() + data.len()).max(buf.capacity() * 2).min(limit);
                take(wanted, &mut held)?;
                buf.reserve(wanted - buf.len());
                take(buf.capacity(), &mut held)?;
            }
            buf.extend_from_slice(&data);
        }
        Ok((buf.freeze(), held))
    };
    tokio::time::timeout(timeout, read)
        .await
        .unwrap_or(Err(BodyError::Slow))
}

async fn answer(
    engine: Engine,
    budget: Arc<Semaphore>,
    peer: std::net::IpAddr,
    request: http::Request<Incoming>,
) -> Result<http::Response<Full<Bytes>>, DropConnection> {
    let limit = engine.config().body_limit;
    let timeout = engine.config().limits.body_read_timeout;
    let (parts, body) = request.into_parts();
    let closing = |status: u16, message: &str| {
        let mut response = json_response(
            status,
            "application/json",
            &serde_json::json!({ "message": message }),
        );
        response.headers_mut().insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
        Ok(response.map(Full::new))
    };
    let (body, _held) = match read_body(body, limit, &budget, timeout).await {
        Ok(read) => read,
        Err(BodyError::TooLarge) => {
            let response = engine.too_large(&parts.method, parts.uri.path());
            return Ok(response.map(Full::new));
        }
        Err(BodyError::Busy) => {
            return closing(
                503,
                "the mock is holding as many request bodies as it allows; retry",
            )
        }
        Err(BodyError::Slow) => return closing(408, "the request body did not arrive in time"),
        Err(BodyError::Broken) => return Err(DropConnection),
    };
    let request = MockRequest {
        method: parts.method,
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(String::from),
        headers: parts.headers,
        body,
        peer: Some(peer),
    };
    let reply = match engine.proxied(&request) {
        Some(route) => engine.forward(route, request).await,
        None => engine.handle(request),
    };
    match reply {
        Reply::Respond { response, delay } => {
            // A zero delay skips the timer wheel.
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            Ok(response.map(Full::new))
        }
        Reply::Drop { delay } => {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            Err(DropConnection)
        }
    }
}

/// Serves `engine` on `listener` until `stop` changes.
pub(crate) async fn serve(listener: TcpListener, engine: Engine, mut stop: watch::Receiver<bool>) {
    let HostLimits {
        max_connections,
        header_read_timeout,
        body_read_timeout: _, // applied per request, in `answer`
        body_budget,
    } = engine.config().limits;
    let connections = Arc::new(Semaphore::new(max_connections.max(1)));
    let budget = Arc::new(Semaphore::new(body_budget.min(Semaphore::MAX_PERMITS)));
    let mut backoff = Duration::from_millis(5);
    loop {
        // A connection slot first: past the limit, new connections wait in
        // the kernel's listen queue instead of holding memory here.
        let slot = tokio::select! {
            slot = connections.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => return,
            },
            _ = stop.changed() => return,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => {
                    backoff = Duration::from_millis(5);
                    conn
                }
                Err(e) => {
                    // Out of file descriptors, say: wait instead of spinning.
                    tracing::warn!(error = %e, delay_ms = backoff.as_millis() as u64, "mock: accept failed; backing off");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                    continue;
                }
            },
            _ = stop.changed() => return,
        };
        let engine = engine.clone();
        let budget = budget.clone();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let service = service_fn(move |request| {
                answer(engine.clone(), budget.clone(), peer.ip(), request)
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout)
                // Without it hyper reads the socket for an early EOF while a
                // request is being answered, and must first reserve a fresh
                // 8 KiB buffer, since the request's headers still share the
                // old one: a malloc per request (perf, `.ci/bench-mock`).
                // The body and header deadlines still bound a silent client.
                .half_close(true)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = stop.changed() => connection.as_mut().graceful_shutdown(),
            }
        });
    }
}
