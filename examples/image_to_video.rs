//! Image to video: a first frame from a local file or a URL, and a prompt.
//!
//! `cargo run --example image_to_video --features mock [-- IMAGE]`
//! A local path is sent as base64 to Magnific (a data URI to Anyfast);
//! Powertokens takes URLs only. Uses `MAGNIFIC_API_KEY` when set, else the mock.

use std::time::Duration;

use seedance_mini::mock::client_from_env_or_mock;
use seedance_mini::{Media, Provider, VideoRequest, WaitOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, _mock) = client_from_env_or_mock(Provider::Magnific).await?;
    let first_frame = match std::env::args().nth(1) {
        Some(path_or_url) => Media::from(path_or_url),
        // A 1x1 PNG, so the example runs as it is.
        None => Media::bytes(
            &b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\0\x05\0\x01\xff\x89\x99=\x1d\0\0\0\0IEND\xaeB`\x82"[..],
            "image/png",
        ),
    };
    let request = VideoRequest::new("The camera slowly pushes in; leaves drift across the frame")
        .first_frame(first_frame)
        .duration(5)
        .camera_fixed(false);
    let done = client
        .generate(
            &request,
            "image_to_video.mp4",
            &WaitOptions::new(Duration::from_secs(600)),
        )
        .await?;
    println!(
        "task {} saved to {}",
        done.task.id,
        done.file.path.display()
    );
    Ok(())
}
