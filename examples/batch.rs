//! A resumable batch with variations, recorded in a journal.
//!
//! `cargo run --example batch --features mock,journal`
//! Uses `MAGNIFIC_API_KEY` when set (with Magnific's documented rate limit),
//! else the mock. One line expands into four variations (two resolutions by
//! two aspect ratios); running the batch a second time finds every file in
//! the journal and pays for nothing. Before each run, `batch::plan` says
//! what it would pay for, sending nothing.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use seedance_mini::batch::{self, BatchEvent, BatchOptions};
use seedance_mini::mock::MockServer;
use seedance_mini::{Client, Journal, Provider, RateLimit, WaitOptions};

const JOBS: &str = r#"{"prompt": "a red kite over a beach", "resolution": ["480p", "720p"], "aspect_ratio": ["16:9", "9:16"]}
{"prompt": "a snail crossing a leaf", "resolution": "480p", "output": "snail.mp4"}
{"prompt": "a lighthouse in fog", "duration": 10}
"#;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("seedance-batch-{}", std::process::id()));
    let journal = Journal::open(dir.join("journal.sqlite3"))?;
    let key = std::env::var("MAGNIFIC_API_KEY").ok();
    let mock = match key {
        Some(_) => None,
        None => Some(MockServer::start().await?),
    };
    let mut builder = Client::builder(Provider::Magnific).journal(journal.clone());
    builder = match (&key, &mock) {
        (Some(key), _) => builder
            .api_key(key.as_str())
            .rate_limit(RateLimit::magnific()),
        (None, Some(mock)) => builder
            .base_url(mock.url())
            .api_key(seedance_mini::mock::DEFAULT_API_KEY),
        (None, None) => unreachable!("a mock runs when there is no key"),
    };
    let clients = HashMap::from([(Provider::Magnific, builder.build()?)]);

    // Every line is checked before anything is paid for.
    let jobs = batch::parse(JOBS, Provider::Magnific)?;
    println!("{} jobs from {} lines", jobs.len(), JOBS.lines().count());
    let options = BatchOptions::new(
        WaitOptions::new(Duration::from_secs(900))
            .delays(Duration::from_millis(100), Duration::from_secs(15)),
    )
    .concurrency(4);
    let on_event: batch::OnEvent = Arc::new(|event| {
        if let BatchEvent::Finished {
            output,
            outcome,
            task_id,
            ..
        } = event
        {
            println!(
                "  {outcome:<8} {} {}",
                output.display(),
                task_id.unwrap_or_default()
            );
        }
    });
    let out = dir.join("videos");
    std::fs::create_dir_all(&out)?;
    for run in ["first run", "second run (resumes from the journal)"] {
        // What the run would pay for, found without sending anything.
        let plan = batch::plan(&jobs, Some(&journal), &out, &options)?;
        println!(
            "{run}: {} new creates ({} s of video), {} already done",
            plan.new, plan.new_video_seconds, plan.done
        );
        let outcomes = batch::run(&clients, &jobs, &out, &options, on_event.clone()).await;
        let done = outcomes.iter().filter(|o| o.word() != "failed").count();
        println!("  {done} of {} have their file", outcomes.len());
    }
    println!(
        "journal: {} ({} jobs); try `sqlite3 {} 'select task_id, state, output from jobs'`",
        journal.path().display(),
        journal.jobs()?.len(),
        journal.path().display()
    );
    Ok(())
}
