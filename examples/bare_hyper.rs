//! The baseline for `.ci/bench-mock`: a bare hyper HTTP/1.1 server that
//! answers every request with one fixed JSON body, doing no routing, no
//! validation and no state. It shows what the machine can do, so the mock's
//! throughput can be quoted as a ratio of it.
//!
//! With `--read-body` it first reads each request's body (and drops it): the
//! least a server that answers a create from its body must do, which the
//! bench script reports as a second baseline.
//!
//! `cargo run --release --features mock --example bare_hyper -- 127.0.0.1:0 [--read-body]`
//! prints `listening on http://ADDR` and serves until killed.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

const BODY: &str = r#"{"data":{"task_id":"046b6c7f-0b8a-43b9-b35d-6489e6daee91","status":"CREATED","generated":[]}}"#;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:0".into());
    let read_body = args.any(|a| a == "--read-body");
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(async move {
            let service = service_fn(move |request: http::Request<Incoming>| async move {
                if read_body {
                    let _ = request.into_body().collect().await;
                }
                let mut response =
                    http::Response::new(Full::new(Bytes::from_static(BODY.as_bytes())));
                response.headers_mut().insert(
                    "content-type",
                    http::HeaderValue::from_static("application/json"),
                );
                Ok::<_, Infallible>(response)
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
