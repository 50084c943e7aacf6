//! The journal of paid tasks: every create recorded before it is sent, the
//! task id on the answer, in-doubt creates never re-sent on their own, errors
//! after a create that name the task, and writers that lose no rows, within
//! one process and across processes.
#![cfg(feature = "journal")]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use seedance_mini::batch::{self, BatchEvent, BatchOptions, JobOutcome};
use seedance_mini::journal::{JobState, Ledger, NewJob};
use seedance_mini::mock::{Fault, MockServer};
use seedance_mini::{Client, Error, Journal, Provider, RetryPolicy, VideoRequest, WaitOptions};

fn quick_wait() -> WaitOptions {
    WaitOptions::new(Duration::from_secs(30))
        .delays(Duration::from_millis(20), Duration::from_millis(100))
}

fn creates(mock: &MockServer) -> usize {
    mock.engine()
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && !r.path.starts_with("/__mock"))
        .count()
}

async fn mock_with(faults: &[&str]) -> MockServer {
    let mut builder = MockServer::builder().lifecycle(seedance_mini::mock::Lifecycle::Clock {
        in_progress_after: Duration::from_millis(20),
        done_after: Duration::from_millis(100),
    });
    for f in faults {
        builder = builder.fault(f.parse::<Fault>().unwrap());
    }
    builder.start().await.unwrap()
}

fn client(mock: &MockServer, provider: Provider, journal: &Journal) -> Client {
    Client::builder(provider)
        .base_url(mock.url())
        .api_key(seedance_mini::mock::DEFAULT_API_KEY)
        .retry(RetryPolicy::none())
        .journal(journal.clone())
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_generation_is_recorded_step_by_step() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path().join("j.sqlite3")).unwrap();
    let mock = mock_with(&[]).await;
    let c = client(&mock, Provider::Magnific, &journal);
    let out = dir.path().join("v.mp4");
    let done = c
        .generate(&VideoRequest::new("a kite"), &out, &quick_wait())
        .await
        .unwrap();
    let jobs = journal.jobs().unwrap();
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0];
    assert_eq!(job.state, JobState::Done);
    assert_eq!(job.task_id.as_deref(), Some(done.task.id.as_str()));
    assert_eq!(job.status.as_deref(), Some("completed"));
    assert_eq!(job.file_bytes, Some(done.file.bytes));
    assert_eq!(job.file_sha256.as_deref(), Some(done.file.sha256.as_str()));
    assert!(!job.video_urls.is_empty());
    let ttl = job.expires_at.unwrap() - job.created_at;
    assert!(
        (86_390..=86_410).contains(&ttl),
        "Magnific URLs last 24 h: {ttl}"
    );
    assert_eq!(job.request["prompt"], "a kite");
}

#[tokio::test]
async fn a_failure_after_the_create_names_the_task_and_keeps_it_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path().join("j.sqlite3")).unwrap();
    // Every video download fails: the task exists, the file does not.
    let mock = mock_with(&["video:503"]).await;
    let c = client(&mock, Provider::Anyfast, &journal);
    let err = c
        .generate(
            &VideoRequest::new("a kite"),
            dir.path().join("v.mp4"),
            &quick_wait(),
        )
        .await
        .unwrap_err();
    let id = err.task_id().expect("the error names the task").to_string();
    assert!(matches!(err, Error::AfterSubmit { .. }), "{err:?}");
    assert_eq!(err.status(), Some(503));
    let job = &journal.jobs().unwrap()[0];
    assert_eq!(job.task_id.as_deref(), Some(id.as_str()));
    assert_eq!(job.state, JobState::Submitted, "resumable, not failed");

    // generate_many's items carry the id too.
    let jobs = vec![(VideoRequest::new("b"), dir.path().join("b.mp4"))];
    let wait = quick_wait();
    let items: Vec<_> = c.generate_many(jobs, 2, &wait).collect().await;
    assert!(items[0].result.is_err());
    assert!(items[0].task_id.is_some());
}

#[tokio::test]
async fn an_in_doubt_create_is_reported_not_resent_and_resent_once_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path().join("j.sqlite3")).unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    // The mock reads the create, then drops the connection.
    let mock = mock_with(&["createSeedanceMini:drop:first=1"]).await;
    let clients = HashMap::from([(
        Provider::Anyfast,
        client(&mock, Provider::Anyfast, &journal),
    )]);
    let jobs = batch::parse(
        r#"{"prompt": "a kite", "output": "k.mp4"}"#,
        Provider::Anyfast,
    )
    .unwrap();
    let mut options = BatchOptions::new(quick_wait()).concurrency(2);
    let events: Arc<Mutex<Vec<BatchEvent>>> = Arc::default();
    let log = events.clone();
    let on_event: batch::OnEvent = Arc::new(move |e| log.lock().unwrap().push(e));

    for _ in 0..2 {
        let outcomes = batch::run(&clients, &jobs, &out, &options, on_event.clone()).await;
        assert!(
            matches!(outcomes[0], JobOutcome::InDoubt { .. }),
            "{outcomes:?}"
        );
        assert_eq!(creates(&mock), 1, "never re-sent on its own");
    }
    assert_eq!(journal.in_doubt(Duration::ZERO).unwrap().len(), 1);

    options.resubmit_in_doubt = true;
    let outcomes = batch::run(&clients, &jobs, &out, &options, on_event.clone()).await;
    assert!(
        matches!(outcomes[0], JobOutcome::Done { .. }),
        "{outcomes:?}"
    );
    assert_eq!(creates(&mock), 2, "re-sent exactly once when asked");
    assert!(out.join("k.mp4").is_file());
    // The replaced row is closed: one row per job, the old one in history.
    assert_eq!(journal.jobs().unwrap().len(), 1);
    let history = journal.history().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].superseded_by, Some(history[1].id));
    assert_eq!(history[0].state, JobState::InDoubt);

    // Running it again finds the file and sends nothing.
    let outcomes = batch::run(&clients, &jobs, &out, &options, on_event).await;
    assert!(
        matches!(outcomes[0], JobOutcome::Skipped { .. }),
        "{outcomes:?}"
    );
    assert_eq!(creates(&mock), 2);
    assert!(events
        .lock()
        .unwrap()
        .iter()
        .any(|e| matches!(e, BatchEvent::Submitted { .. })));
}

#[tokio::test]
async fn magnific_reconciles_a_lone_in_doubt_create_through_its_list() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path().join("j.sqlite3")).unwrap();
    let mock = mock_with(&[]).await;
    let c = client(&mock, Provider::Magnific, &journal);
    // A create that reached the provider, recorded as in doubt.
    let request = VideoRequest::new("a kite");
    let job = journal
        .before_create(&NewJob {
            key: None,
            provider: Provider::Magnific,
            base_url: c.base_url(),
            request: &request,
            output: None,
        })
        .unwrap();
    journal
        .create_failed(job, "timed out after sending", false)
        .unwrap();
    let other = Client::builder(Provider::Magnific)
        .base_url(mock.url())
        .api_key(seedance_mini::mock::DEFAULT_API_KEY)
        .build()
        .unwrap();
    let made = other.submit(&request).await.unwrap();
    // A batch reconciles before it starts (here, a batch of no jobs).
    let clients = HashMap::from([(Provider::Magnific, c.clone())]);
    let options = BatchOptions::new(quick_wait()).concurrency(1);
    let reconcile = || batch::run(&clients, &[], dir.path(), &options, Arc::new(|_| {}));
    // Unfinished, it cannot be compared yet: it stays in doubt.
    reconcile().await;
    let record = journal.job(job.get()).unwrap().unwrap();
    assert_eq!(record.state, JobState::InDoubt);
    assert!(record.error.unwrap().contains("once it has finished"));
    other.wait(&made.id, &quick_wait()).await.unwrap();
    reconcile().await;
    let record = journal.job(job.get()).unwrap().unwrap();
    assert_eq!(record.task_id.as_deref(), Some(made.id.as_str()));
    assert_eq!(record.state, JobState::Submitted);
}

/// The issue's reproduction: a Magnific create answered 503 (in doubt), then
/// the same account makes another task, then the batch runs again. The
/// other task is not adopted, the job says why, and no file changes.
#[tokio::test]
async fn an_in_doubt_create_never_adopts_a_task_that_is_not_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path().join("j.sqlite3")).unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let mock = mock_with(&["create_video_seedance_2_mini_720p:503:first=1"]).await;
    let clients = HashMap::from([(
        Provider::Magnific,
        client(&mock, Provider::Magnific, &journal),
    )]);
    let jobs = batch::parse(
        r#"{"prompt": "a kite", "resolution": "720p", "aspect_ratio": "16:9", "duration": 5, "output": "kite.mp4"}"#,
        Provider::Magnific,
    )
    .unwrap();
    let options = BatchOptions::new(quick_wait()).concurrency(1);
    let on_event: batch::OnEvent = Arc::new(|_| {});
    let outcomes = batch::run(&clients, &jobs, &out, &options, on_event.clone()).await;
    assert!(
        matches!(outcomes[0], JobOutcome::InDoubt { .. }),
        "{outcomes:?}"
    );
    // Someone else's task on the same account, in the same list, finished.
    let other = Client::builder(Provider::Magnific)
        .base_url(mock.url())
        .api_key(seedance_mini::mock::DEFAULT_API_KEY)
        .build()
        .unwrap();
    let foreign = VideoRequest::new("a portrait")
        .resolution(seedance_mini::Resolution::P720)
        .aspect_ratio(seedance_mini::AspectRatio::R9x16)
        .duration(10);
    let made = other.submit(&foreign).await.unwrap();
    other.wait(&made.id, &quick_wait()).await.unwrap();
    let outcomes = batch::run(&clients, &jobs, &out, &options, on_event).await;
    let JobOutcome::InDoubt { reason, .. } = &outcomes[0] else {
        panic!("{outcomes:?}");
    };
    assert!(
        reason.contains("its aspect ratio and its length differ"),
        "{reason}"
    );
    assert!(reason.contains("720x1280, 10.0 s"), "{reason}");
    let record = &journal.jobs().unwrap()[0];
    assert_eq!(record.task_id, None, "not adopted");
    assert_eq!(
        std::fs::read_dir(&out).unwrap().count(),
        0,
        "no file written"
    );
}

const ROWS: usize = 300;

fn write_rows(path: &std::path::Path, who: &str) {
    let journal = Journal::open(path).unwrap();
    let request = VideoRequest::new(who);
    for i in 0..ROWS {
        let key = format!("{who}-{i}");
        journal
            .before_create(&NewJob {
                key: Some(&key),
                provider: Provider::Anyfast,
                base_url: "http://x",
                request: &request,
                output: None,
            })
            .unwrap();
    }
}

/// Run by the test below as a child process; does nothing on its own.
#[test]
fn journal_child_writer() {
    if let Ok(path) = std::env::var("SEEDANCE_MINI_TEST_JOURNAL") {
        let who = std::env::var("SEEDANCE_MINI_TEST_WHO").unwrap();
        write_rows(std::path::Path::new(&path), &who);
    }
}

#[test]
fn concurrent_writers_in_one_process_and_across_processes_lose_no_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.sqlite3");
    // Two connections in this process, two child processes, all at once.
    let children: Vec<_> = ["p1", "p2"]
        .iter()
        .map(|who| {
            std::process::Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "journal_child_writer", "--nocapture"])
                .env("SEEDANCE_MINI_TEST_JOURNAL", &path)
                .env("SEEDANCE_MINI_TEST_WHO", who)
                .spawn()
                .unwrap()
        })
        .collect();
    let threads: Vec<_> = ["t1", "t2"]
        .iter()
        .map(|who| {
            let path = path.clone();
            std::thread::spawn(move || write_rows(&path, who))
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let jobs = Journal::open(&path).unwrap().jobs().unwrap();
    assert_eq!(jobs.len(), 4 * ROWS);
    let keys: std::collections::HashSet<_> = jobs.iter().filter_map(|j| j.key.clone()).collect();
    assert_eq!(keys.len(), 4 * ROWS);
}

/// Every write after the k-th fails, as on a full disk: no create is sent
/// without its row on disk, no create follows the failure, and every task
/// that was paid for is in the journal or in the recovery file.
#[tokio::test(flavor = "multi_thread")]
async fn a_journal_that_fails_mid_run_stops_the_spend_and_loses_no_task_id() {
    let lines: String = (0..12)
        .map(|i| format!("{{\"prompt\": \"shot {i}\"}}\n"))
        .collect();
    let jobs = batch::parse(&lines, Provider::Magnific).unwrap();
    let mut recoveries = 0;
    for k in 0..16 {
        let dir = tempfile::tempdir().unwrap();
        let (path, out) = (dir.path().join("j.sqlite3"), dir.path().join("out"));
        std::fs::create_dir_all(&out).unwrap();
        let mock = mock_with(&[]).await;
        let journal = Journal::open(&path).unwrap().fail_writes_after(k);
        let clients = HashMap::from([(
            Provider::Magnific,
            client(&mock, Provider::Magnific, &journal),
        )]);
        let options = BatchOptions::new(quick_wait()).concurrency(4);
        let on_event: batch::OnEvent = Arc::new(|_| {});
        let outcomes = batch::run(&clients, &jobs, &out, &options, on_event).await;
        drop(clients);
        drop(journal);
        let rows = Journal::open(&path).unwrap().history().unwrap();
        let paid = creates(&mock);
        assert!(
            paid <= rows.len(),
            "k={k}: {paid} creates, {} rows",
            rows.len()
        );
        let failed = outcomes
            .iter()
            .any(|o| matches!(o, JobOutcome::Failed { error, .. } if error.is_journal()));
        if failed {
            assert!(paid < jobs.len(), "k={k}: the spend did not stop");
        }
        // Every task the mock made is known, in a row or the recovery file.
        let recovered = std::fs::read_to_string(out.join(batch::RECOVERY_FILE)).unwrap_or_default();
        recoveries += recovered.lines().count();
        let listed = Client::builder(Provider::Magnific)
            .base_url(mock.url())
            .api_key(seedance_mini::mock::DEFAULT_API_KEY)
            .build()
            .unwrap()
            .list(None)
            .await
            .unwrap();
        assert_eq!(listed.len(), paid);
        for task in listed {
            let in_row = rows
                .iter()
                .any(|r| r.task_id.as_deref() == Some(task.id.as_str()));
            let in_file = recovered.lines().any(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["task_id"] == task.id.as_str()
            });
            assert!(in_row || in_file, "k={k}: task {} is lost", task.id);
        }
    }
    assert!(recoveries > 0, "some k failed the write of a task id");
}

/// A ledger of its own: the client tells it each step, on threads that are
/// not the async one.
#[derive(Debug, Default)]
struct Tally {
    steps: Mutex<Vec<(String, String)>>,
}

impl Tally {
    fn note(&self, step: &str) {
        let thread = std::thread::current().name().unwrap_or("").to_string();
        self.steps.lock().unwrap().push((step.into(), thread));
    }
}

impl Ledger for Tally {
    fn before_create(&self, _: &NewJob<'_>) -> Result<seedance_mini::journal::JobId, Error> {
        self.note("before_create");
        Ok(seedance_mini::journal::JobId::new(7))
    }
    fn created(
        &self,
        job: seedance_mini::journal::JobId,
        _: &seedance_mini::Task,
    ) -> Result<(), Error> {
        assert_eq!(job.get(), 7);
        self.note("created");
        Ok(())
    }
    fn create_failed(
        &self,
        _: seedance_mini::journal::JobId,
        _: &str,
        _: bool,
    ) -> Result<(), Error> {
        self.note("create_failed");
        Ok(())
    }
    fn polled(
        &self,
        _: seedance_mini::journal::JobId,
        _: &seedance_mini::Task,
    ) -> Result<(), Error> {
        self.note("polled");
        Ok(())
    }
    fn downloaded(
        &self,
        _: seedance_mini::journal::JobId,
        _: &seedance_mini::download::Downloaded,
    ) -> Result<(), Error> {
        self.note("downloaded");
        Ok(())
    }
    fn failed(&self, _: seedance_mini::journal::JobId, _: &str, _: bool) -> Result<(), Error> {
        self.note("failed");
        Ok(())
    }
}

#[tokio::test]
async fn a_ledger_of_its_own_hears_every_step_off_the_async_thread() {
    let dir = tempfile::tempdir().unwrap();
    let mock = mock_with(&[]).await;
    let tally = Arc::new(Tally::default());
    let c = Client::builder(Provider::Magnific)
        .base_url(mock.url())
        .api_key(seedance_mini::mock::DEFAULT_API_KEY)
        .ledger(tally.clone())
        .build()
        .unwrap();
    c.generate(
        &VideoRequest::new("a kite"),
        dir.path().join("k.mp4"),
        &quick_wait(),
    )
    .await
    .unwrap();
    let here = std::thread::current().name().unwrap_or("").to_string();
    let steps = tally.steps.lock().unwrap().clone();
    let names: Vec<&str> = steps.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(names.first(), Some(&"before_create"), "{names:?}");
    assert_eq!(names.get(1), Some(&"created"), "{names:?}");
    assert_eq!(names.last(), Some(&"downloaded"), "{names:?}");
    assert!(
        steps.iter().all(|(_, thread)| *thread != here),
        "{steps:?} on {here}"
    );
}

#[tokio::test]
async fn a_failed_task_is_sent_again_only_with_retry_failed_and_as_a_new_create() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path().join("j.sqlite3")).unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let mock = mock_with(&[]).await;
    let clients = HashMap::from([(
        Provider::Magnific,
        client(&mock, Provider::Magnific, &journal),
    )]);
    let jobs = batch::parse(r#"{"prompt": "a kite [mock:fail]"}"#, Provider::Magnific).unwrap();
    let on_event: batch::OnEvent = Arc::new(|_| {});
    let mut options = BatchOptions::new(quick_wait()).concurrency(1);
    let first = batch::run(&clients, &jobs, &out, &options, on_event.clone()).await;
    assert!(matches!(first[0], JobOutcome::Failed { .. }), "{first:?}");
    assert_eq!(creates(&mock), 1);
    // Run again: reported, with the way out, and not sent on its own.
    let again = batch::run(&clients, &jobs, &out, &options, on_event.clone()).await;
    let JobOutcome::Failed { error, .. } = &again[0] else {
        panic!("{again:?}");
    };
    assert!(
        error
            .to_string()
            .contains("--retry-failed sends it again, as a new paid create"),
        "{error}"
    );
    assert_eq!(
        creates(&mock),
        1,
        "a failed task is not sent again on its own"
    );
    options = options.retry_failed(true);
    batch::run(&clients, &jobs, &out, &options, on_event).await;
    assert_eq!(creates(&mock), 2, "retried: one new paid create");
    let history = journal.history().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].superseded_by, Some(history[1].id));
    assert_eq!(journal.jobs().unwrap().len(), 1, "one row per job");
}
