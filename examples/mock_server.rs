//! The mock server for contract tests: start it, inject faults, watch the
//! client's retries ride them out, and inspect what it received.
//!
//! `cargo run --example mock_server --features mock`

use std::time::Duration;

use seedance_mini::mock::{Lifecycle, MockServer};
use seedance_mini::{Client, Provider, RetryPolicy, VideoRequest, WaitOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mock = MockServer::builder()
        .api_key("test-key")
        .lifecycle(Lifecycle::Polls {
            in_progress_after: 1,
            done_after: 3,
        })
        // The first two reads of a task fail with 503; every list is slow.
        .fault("get_seedance_2_mini_task:503:first=2".parse()?)
        .fault("get_seedance_2_mini_tasks:latency=200".parse()?)
        .start()
        .await?;
    println!("mock at {}", mock.url());

    let client = Client::builder(Provider::Magnific)
        .api_key("test-key")
        .base_url(mock.url())
        .retry(RetryPolicy::new(
            4,
            Duration::from_millis(50),
            Duration::from_secs(2),
        ))
        .build()?;
    let task = client
        .submit(&VideoRequest::new("a cat on a skateboard"))
        .await?;
    let wait = WaitOptions::new(Duration::from_secs(30))
        .delays(Duration::from_millis(50), Duration::from_millis(200));
    let done = client.wait(&task.id, &wait).await?;
    println!(
        "{} is {}; video at {}",
        done.id, done.status, done.video_urls[0]
    );
    println!("{} tasks listed", client.list(None).await?.len());

    println!("what the mock saw:");
    for r in mock.engine().requests() {
        println!("  {} {} -> {}", r.method, r.path, r.status);
    }
    Ok(())
}
