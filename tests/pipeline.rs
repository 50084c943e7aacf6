//! The pipeline under `batch::run`, `batch::events` and `generate_many`,
//! against the embedded mock: one completion detector (Magnific's list),
//! one get per finished task, and events in a job's order.
#![cfg(feature = "mock")]

use std::collections::HashMap;
use std::time::Duration;

use futures_util::StreamExt;
use seedance_mini::batch::{self, BatchEvent, BatchOptions};
use seedance_mini::mock::{Lifecycle, MockServer};
use seedance_mini::{Provider, VideoRequest, WaitOptions};

fn wait() -> WaitOptions {
    WaitOptions::new(Duration::from_secs(30))
        .delays(Duration::from_millis(100), Duration::from_millis(400))
}

async fn mock() -> MockServer {
    MockServer::builder()
        .lifecycle(Lifecycle::Clock {
            in_progress_after: Duration::from_millis(50),
            done_after: Duration::from_millis(300),
        })
        .lifecycle_spread(Duration::from_millis(300))
        .start()
        .await
        .unwrap()
}

fn count(mock: &MockServer, operation: &str) -> usize {
    mock.engine()
        .requests()
        .iter()
        .filter(|r| r.operation == Some(operation))
        .count()
}

#[tokio::test]
async fn generate_many_watches_magnifics_tasks_through_its_list() {
    let mock = mock().await;
    let client = mock.client(Provider::Magnific).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let jobs: Vec<_> = (0..6)
        .map(|i| {
            (
                VideoRequest::new(format!("kite {i}")).resolution(seedance_mini::Resolution::P480),
                dir.path().join(format!("{i}.mp4")),
            )
        })
        .collect();
    let wait = wait();
    let items: Vec<_> = client.generate_many(jobs, 4, &wait).collect().await;
    assert_eq!(items.len(), 6);
    for item in &items {
        let done = item.result.as_ref().unwrap();
        assert_eq!(
            done.file.path,
            dir.path().join(format!("{}.mp4", item.index))
        );
        assert_eq!(item.task_id.as_deref(), Some(done.task.id.as_str()));
    }
    assert_eq!(count(&mock, "create_video_seedance_2_mini_480p"), 6);
    // One get per task, for its URLs: the list found them finished.
    assert_eq!(count(&mock, "get_seedance_2_mini_task"), 6);
    assert!(count(&mock, "get_seedance_2_mini_tasks") >= 1);
}

#[tokio::test]
async fn generate_many_reports_a_bad_request_and_runs_the_rest() {
    let mock = mock().await;
    let client = mock.client(Provider::Anyfast).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let jobs = vec![
        (VideoRequest::new("good"), dir.path().join("a.mp4")),
        (
            VideoRequest::new("bad").duration(99),
            dir.path().join("b.mp4"),
        ),
    ];
    let wait = wait();
    let mut items: Vec<_> = client.generate_many(jobs, 2, &wait).collect().await;
    items.sort_by_key(|i| i.index);
    assert!(items[0].result.is_ok());
    let error = items[1].result.as_ref().unwrap_err();
    assert!(error.to_string().contains("duration"), "{error}");
    assert_eq!(
        count(&mock, "createSeedanceMini"),
        1,
        "the bad one is never sent"
    );
}

#[tokio::test]
async fn batch_events_stream_each_jobs_steps_in_order_and_end() {
    let mock = mock().await;
    let clients = HashMap::from([(
        Provider::Powertokens,
        mock.client(Provider::Powertokens).unwrap(),
    )]);
    let text = (0..5)
        .map(|i| format!(r#"{{"prompt": "boat {i}", "image": "https://example.com/b.png"}}"#))
        .collect::<Vec<_>>()
        .join("\n");
    let jobs = batch::parse(&text, Provider::Powertokens).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let options = BatchOptions::new(wait());
    let events: Vec<BatchEvent> = batch::events(&clients, &jobs, dir.path(), &options)
        .collect()
        .await;
    for job in &jobs {
        let mine: Vec<&BatchEvent> = events
            .iter()
            .filter(|e| match e {
                BatchEvent::Submitted { line, .. }
                | BatchEvent::Resumed { line, .. }
                | BatchEvent::Status { line, .. }
                | BatchEvent::Recovered { line, .. }
                | BatchEvent::Held { line, .. }
                | BatchEvent::Finished { line, .. } => *line == job.line,
                _ => false,
            })
            .collect();
        assert!(
            matches!(mine.first(), Some(BatchEvent::Submitted { .. })),
            "{mine:?}"
        );
        assert!(
            matches!(mine.last(), Some(BatchEvent::Finished { outcome, .. }) if outcome == "done"),
            "{mine:?}"
        );
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 5);
}
