//! A webhook receiver that verifies Magnific's signed deliveries.
//!
//! `cargo run --example webhook_receiver --features mock`
//! Listens on a local port, asks for a generation with `webhook_url` pointing
//! at itself, and prints each verified event until the task is done. Uses
//! `MAGNIFIC_API_KEY` and `MAGNIFIC_WEBHOOK_SECRET` when set (the provider
//! must then be able to reach this machine), else the mock.

use std::time::{Duration, SystemTime};

use http_body_util::BodyExt;
use seedance_mini::mock::{client_from_env_or_mock, DEFAULT_WEBHOOK_SECRET};
use seedance_mini::{webhook, Provider, TaskStatus, VideoRequest};
use tokio::sync::mpsc;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, mock) = client_from_env_or_mock(Provider::Magnific).await?;
    let secret = match (&mock, std::env::var("MAGNIFIC_WEBHOOK_SECRET")) {
        (None, Ok(s)) => s,
        _ => DEFAULT_WEBHOOK_SECRET.to_string(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hook = format!("http://{}/seedance", listener.local_addr()?);
    let (events, mut received) = mpsc::channel(16);

    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (secret, events) = (secret.clone(), events.clone());
            let service =
                hyper::service::service_fn(move |request: http::Request<hyper::body::Incoming>| {
                    let (secret, events) = (secret.clone(), events.clone());
                    async move {
                        let (parts, body) = request.into_parts();
                        let body = body.collect().await?.to_bytes();
                        let status = match webhook::verify(
                            &secret,
                            &parts.headers,
                            &body,
                            SystemTime::now(),
                        ) {
                            Ok(event) => {
                                let _ = events.send(event).await;
                                204
                            }
                            Err(e) => {
                                eprintln!("rejected a delivery: {e}");
                                401
                            }
                        };
                        let mut response =
                            http::Response::new(http_body_util::Empty::<bytes::Bytes>::new());
                        *response.status_mut() = http::StatusCode::from_u16(status).expect("valid");
                        Ok::<_, hyper::Error>(response)
                    }
                });
            let io = hyper_util::rt::TokioIo::new(stream);
            tokio::spawn(hyper::server::conn::http1::Builder::new().serve_connection(io, service));
        }
    });

    let task = client
        .submit(&VideoRequest::new("Fireworks over a harbour").webhook_url(hook))
        .await?;
    println!("submitted {}; waiting for webhooks", task.id);
    while let Some(event) = tokio::time::timeout(Duration::from_secs(900), received.recv()).await? {
        println!(
            "verified: {} is {} {:?}",
            event.task_id, event.status, event.generated
        );
        if event.status.is_terminal() {
            assert!(event.status == TaskStatus::Completed || event.status.is_failure());
            break;
        }
    }
    Ok(())
}
