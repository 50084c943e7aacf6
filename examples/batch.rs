//! Many generations at once, a few at a time, each result as it finishes.
//!
//! `cargo run --example batch --features mock`
//! Uses `MAGNIFIC_API_KEY` when set (with Magnific's documented rate limit),
//! else the mock. One failure (the `[mock:fail]` prompt) does not stop the rest.

use std::path::PathBuf;
use std::time::Duration;

use futures_util::StreamExt;
use seedance_mini::mock::client_from_env_or_mock;
use seedance_mini::{Provider, Resolution, VideoRequest, WaitOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, mock) = client_from_env_or_mock(Provider::Magnific).await?;
    let dir = std::env::temp_dir().join("seedance-batch");
    std::fs::create_dir_all(&dir)?;
    let prompts = [
        "a red kite over a beach",
        "a snail crossing a leaf",
        "a lighthouse in fog",
        "rain on a window",
    ];
    let mut jobs: Vec<(VideoRequest, PathBuf)> = prompts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            (
                VideoRequest::new(*p).resolution(Resolution::P480),
                dir.join(format!("{i}.mp4")),
            )
        })
        .collect();
    if mock.is_some() {
        jobs.push((
            VideoRequest::new("this one fails [mock:fail]"),
            dir.join("fails.mp4"),
        ));
    }
    let wait = WaitOptions::new(Duration::from_secs(900));
    let mut results = client.generate_many(jobs, 3, &wait);
    let (mut ok, mut failed) = (0, 0);
    while let Some(item) = results.next().await {
        match item.result {
            Ok(done) => {
                ok += 1;
                println!(
                    "#{} {} -> {}",
                    item.index,
                    done.task.id,
                    done.file.path.display()
                );
            }
            Err(e) => {
                failed += 1;
                println!("#{} failed: {e}", item.index);
            }
        }
    }
    println!("{ok} done, {failed} failed");
    Ok(())
}
