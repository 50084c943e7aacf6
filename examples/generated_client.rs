//! The generated progenitor client, used directly: the provider's own types
//! and operations, nothing hand-written between you and the document.
//!
//! `cargo run --example generated_client --features mock`
//! Uses `MAGNIFIC_API_KEY` against the real API when set, else the mock.

use seedance_mini::magnific::types::{AspectRatio, CreateVideoRequest};
use seedance_mini::mock::{MockServer, DEFAULT_API_KEY};
use seedance_mini::{magnific, Provider, RequestContext};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (base, key, _mock) = match std::env::var("MAGNIFIC_API_KEY") {
        Ok(key) => (Provider::Magnific.default_base_url().to_string(), key, None),
        Err(_) => {
            let mock = MockServer::start().await?;
            (
                mock.url().to_string(),
                DEFAULT_API_KEY.to_string(),
                Some(mock),
            )
        }
    };
    let client = magnific::Client::new_with_client(
        &base,
        // This crate's reqwest has no TLS provider of its own: its builder
        // brings the one the crate uses (*ring*).
        seedance_mini::http_client_builder()?.build()?,
        RequestContext::new(Provider::Magnific, &key)?,
    );

    // The document's own request type, built with progenitor's builder.
    let body: CreateVideoRequest = CreateVideoRequest::builder()
        .prompt("A lighthouse beam sweeping through fog")
        .aspect_ratio(AspectRatio::FilmHorizontal219)
        .duration(10)
        .try_into()?;
    let created = client
        .create_video_seedance_2_mini_480p()
        .body(body)
        .send()
        .await?;
    println!(
        "status {}: task {} is {:?}",
        created.status(),
        created.data.task_id,
        created.data.status
    );

    let listed = client.get_all_seedance_2_mini_480p_tasks().send().await?;
    println!("480p tasks: {}", listed.data.len());

    // Errors are the document's error type, with the status.
    match client
        .get_seedance_2_mini_task()
        .task_id("no-such-task")
        .send()
        .await
    {
        Err(magnific::Error::ErrorResponse(e)) => println!("{}: {:?}", e.status(), e.message),
        other => println!("unexpected: {other:?}"),
    }
    Ok(())
}
