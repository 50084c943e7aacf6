//! The standalone host: a hyper HTTP/1.1 server on a tokio listener. Memory
//! stays bounded: bodies are read up to the configured limit, the journal and
//! delivery log are rings, and finished tasks are evicted past a cap.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::engine::{Engine, MockRequest, Reply};

/// Returned by the service to make hyper close the connection unanswered.
#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("fault injection: connection dropped")
    }
}

impl std::error::Error for DropConnection {}

async fn answer(
    engine: Engine,
    request: http::Request<Incoming>,
) -> Result<http::Response<Full<Bytes>>, DropConnection> {
    let limit = engine.config().body_limit;
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            let response = engine.too_large(&parts.method, parts.uri.path());
            return Ok(response.map(Full::new));
        }
    };
    let reply = engine.handle(MockRequest {
        method: parts.method,
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(String::from),
        headers: parts.headers,
        body,
    });
    match reply {
        Reply::Respond { response, delay } => {
            tokio::time::sleep(delay).await;
            Ok(response.map(Full::new))
        }
        Reply::Drop { delay } => {
            tokio::time::sleep(delay).await;
            Err(DropConnection)
        }
    }
}

/// Serves `engine` on `listener` until `stop` changes.
pub(crate) async fn serve(listener: TcpListener, engine: Engine, mut stop: watch::Receiver<bool>) {
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::warn!(error = %e, "mock: accept failed");
                    continue;
                }
            },
            _ = stop.changed() => return,
        };
        let engine = engine.clone();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| answer(engine.clone(), request));
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = stop.changed() => connection.as_mut().graceful_shutdown(),
            }
        });
    }
}
