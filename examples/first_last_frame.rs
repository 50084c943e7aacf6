//! First frame to last frame: a transition between two images.
//!
//! `cargo run --example first_last_frame --features mock`
//! Uses `ANYFAST_API_KEY` when set, else the mock. Shows submit, wait and
//! download as separate steps, and what an unsupported provider says.

use std::time::Duration;

use seedance_mini::mock::client_from_env_or_mock;
use seedance_mini::{AspectRatio, Provider, VideoRequest, WaitOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let request = VideoRequest::new("The flower opens as the sun comes up")
        .first_frame("https://example.com/bud.png")
        .last_frame("https://example.com/bloom.png")
        .aspect_ratio(AspectRatio::R1x1)
        .duration(6);

    // Powertokens takes only a first frame: the request is refused before sending.
    if let Err(e) = request.validate(Provider::Powertokens) {
        println!("powertokens: {e}");
    }

    let (client, _mock) = client_from_env_or_mock(Provider::Anyfast).await?;
    let task = client.submit(&request).await?;
    println!("submitted {}", task.id);
    let done = client
        .wait(&task.id, &WaitOptions::new(Duration::from_secs(900)))
        .await?;
    let file = client.download(&done, "first_last_frame.mp4").await?;
    println!(
        "{} -> {} ({} bytes)",
        done.id,
        file.path.display(),
        file.bytes
    );
    Ok(())
}
