//! Text to video: one prompt, one MP4.
//!
//! `cargo run --example text_to_video --features mock [-- PROVIDER]`
//! Uses the provider's key variable (e.g. `MAGNIFIC_API_KEY`) when set, and
//! the embedded mock otherwise.

use std::time::Duration;

use seedance_mini::mock::client_from_env_or_mock;
use seedance_mini::{AspectRatio, Provider, Resolution, VideoRequest, WaitOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let provider: Provider = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "magnific".into())
        .parse()?;
    let (client, mock) = client_from_env_or_mock(provider).await?;
    if mock.is_some() {
        println!("no {} set: using the embedded mock", provider.key_env_var());
    }
    let request =
        VideoRequest::new("A cinematic shot of a cat walking through a neon-lit alley at night")
            .resolution(Resolution::P720)
            .aspect_ratio(AspectRatio::R16x9)
            .duration(5);
    let wait = WaitOptions::new(Duration::from_secs(600))
        .on_progress(|task| println!("  {} {}", task.id, task.status));
    let done = client
        .generate(&request, "text_to_video.mp4", &wait)
        .await?;
    println!(
        "saved {} ({} bytes)",
        done.file.path.display(),
        done.file.bytes
    );
    Ok(())
}
