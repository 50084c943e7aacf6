//! Claims across processes: three processes run one batch on one journal
//! while they are killed with SIGKILL at random moments and started again,
//! until the batch is done. No job is ever created twice; every job ends
//! done, or reported in doubt where a kill landed inside its create.
#![cfg(feature = "cli")]

mod common;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::process::{cli, creates, mock, summary, text, Mock};
use serde_json::Value;

/// `n` jobs, one line each.
fn jobs(n: usize) -> String {
    (0..n)
        .map(|i| format!("{{\"prompt\": \"take number {i}\"}}\n"))
        .collect()
}

fn spawn(home: &Path, mock: &Mock, file: &Path, out: &Path) -> Child {
    cli(home, mock, &["--json", "batch"])
        .arg(file)
        .arg("--out-dir")
        .arg(out)
        .args(["--concurrency", "4", "--poll-interval", "0.05"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn three_processes_killed_at_random_never_create_a_job_twice() {
    const JOBS: usize = 30;
    let seed = std::env::var("SEEDANCE_MINI_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    println!("seed {seed} (set SEEDANCE_MINI_KILL_SEED to replay)");
    let mut rng = fastrand::Rng::with_seed(seed);
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let (file, out) = (dir.path().join("jobs.jsonl"), dir.path().join("out"));
    std::fs::write(&file, jobs(JOBS)).unwrap();
    // Creates are slow enough (latency) that kills land inside some.
    let mock = mock(&[
        "--lifecycle-ms",
        "50",
        "400",
        "--fault",
        "create_video_seedance_2_mini_480p:latency=60",
        "--fault",
        "create_video_seedance_2_mini_720p:latency=60",
        "--journal-size",
        "100000",
    ]);
    let mut workers: Vec<Child> = (0..3).map(|_| spawn(&home, &mock, &file, &out)).collect();
    let mut kills = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    while kills < 12 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(rng.u64(30..300)));
        let victim = rng.usize(..workers.len());
        let _ = workers[victim].kill();
        let _ = workers[victim].wait();
        kills += 1;
        workers[victim] = spawn(&home, &mock, &file, &out);
    }
    for worker in workers {
        let done = worker.wait_with_output().unwrap();
        assert!(
            matches!(done.status.code(), Some(0 | 5)),
            "seed {seed}: {:?}",
            done.status
        );
    }
    // One last run settles what is left: every job is done or in doubt.
    let last = spawn(&home, &mock, &file, &out).wait_with_output().unwrap();
    let last = summary(&last.stdout);
    let (done, in_doubt) = (
        last["done"].as_u64().unwrap() + last["skipped"].as_u64().unwrap(),
        last["in_doubt"].as_u64().unwrap(),
    );
    assert_eq!(done + in_doubt, JOBS as u64, "seed {seed}: {last}");
    // A kill lands inside at most --concurrency (4) creates.
    assert!(
        in_doubt <= kills * 4,
        "seed {seed}: in doubt only where a kill landed: {last}"
    );
    let paid = creates(&mock) as u64;
    println!("{kills} kills: {paid} creates, {done} done, {in_doubt} in doubt");
    assert!(
        paid >= done && paid <= done + in_doubt,
        "seed {seed}: {paid} creates for {done} done and {in_doubt} in doubt"
    );
    let files = std::fs::read_dir(&out)
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name.to_string_lossy().ends_with(".mp4")
        })
        .count() as u64;
    assert_eq!(files, done, "seed {seed}: one whole file per done job");
}

/// Claims waiting for the rate limit have sent nothing: a worker killed
/// while it holds them leaves them free, not in doubt, and the next run
/// creates each job once without being asked to re-send anything.
#[test]
fn claims_still_waiting_for_the_rate_limit_are_free_again_after_a_kill() {
    const JOBS: usize = 8;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let (file, out) = (dir.path().join("jobs.jsonl"), dir.path().join("out"));
    std::fs::write(&file, jobs(JOBS)).unwrap();
    let mock = mock(&["--lifecycle-ms", "50", "100"]);
    // One create a second: all eight are claimed at once, and wait.
    let mut slow = cli(&home, &mock, &["--json", "batch"])
        .arg(&file)
        .arg("--out-dir")
        .arg(&out)
        .args([
            "--concurrency",
            "8",
            "--pace",
            "1/1",
            "--poll-interval",
            "0.05",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while creates(&mock) < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    // Half-way between two creates.
    std::thread::sleep(Duration::from_millis(500));
    slow.kill().unwrap();
    slow.wait().unwrap();
    let sent = creates(&mock);
    assert!(
        sent < JOBS,
        "the kill came before every create was sent ({sent})"
    );
    let rerun = spawn(&home, &mock, &file, &out).wait_with_output().unwrap();
    let last = summary(&rerun.stdout);
    assert_eq!(last["in_doubt"], 0, "nothing waiting was sent: {last}");
    assert_eq!(
        last["done"].as_u64().unwrap() + last["skipped"].as_u64().unwrap(),
        JOBS as u64,
        "{last}"
    );
    assert_eq!(creates(&mock), JOBS, "one create per job");
}

/// Two hosts share one journal: the second does not download what the
/// first did (`elsewhere`), `tasks --host` says who holds what, and
/// `tasks sync --here` copies another host's videos to this machine.
#[test]
fn a_second_host_leaves_the_firsts_videos_and_sync_here_copies_them() {
    const JOBS: usize = 3;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let journal = dir.path().join("shared.sqlite3");
    let journal = journal.to_str().unwrap();
    let file = dir.path().join("jobs.jsonl");
    std::fs::write(&file, jobs(JOBS)).unwrap();
    let (out_a, out_b) = (dir.path().join("a"), dir.path().join("b"));
    let mock = mock(&["--lifecycle-ms", "50", "100"]);
    let batch = |host: &str, out: &Path| {
        let run = cli(
            &home,
            &mock,
            &["--json", "--journal", journal, "--host-id", host],
        )
        .args(["batch", "--poll-interval", "0.05", "--out-dir"])
        .arg(out)
        .arg(&file)
        .output()
        .unwrap();
        summary(&run.stdout)
    };
    let first = batch("render-a", &out_a);
    assert_eq!(first["done"], JOBS, "{first}");
    let second = batch("render-b", &out_b);
    assert_eq!(second["elsewhere"], JOBS, "{second}");
    assert_eq!(second["done"], 0, "{second}");
    assert_eq!(creates(&mock), JOBS, "nothing paid twice");
    let listed = |host: &str| {
        let out = cli(
            &home,
            &mock,
            &["--json", "--journal", journal, "tasks", "--host", host],
        )
        .output()
        .unwrap();
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        doc["tasks"].as_array().unwrap().clone()
    };
    let held = listed("render-a");
    assert_eq!(held.len(), JOBS);
    assert!(held.iter().all(|t| t["host"] == "render-a"), "{held:?}");
    assert!(listed("render-b").is_empty());
    // render-a's files are gone from here: render-b fetches them again.
    std::fs::remove_dir_all(&out_a).unwrap();
    let sync = cli(
        &home,
        &mock,
        &["--journal", journal, "--host-id", "render-b"],
    )
    .args(["tasks", "sync", "--here"])
    .output()
    .unwrap();
    assert!(
        sync.status.success(),
        "{:?} {} {}",
        sync.status,
        text(&sync.stdout),
        text(&sync.stderr)
    );
    let copied = std::fs::read_dir(&out_a).map(|d| d.count()).unwrap_or(0);
    assert_eq!(copied, JOBS, "{}", text(&sync.stdout));
    assert_eq!(creates(&mock), JOBS);
    // Without --here, another host's videos are not this machine's to fetch.
    std::fs::remove_dir_all(&out_a).unwrap();
    let plain = cli(
        &home,
        &mock,
        &["--journal", journal, "--host-id", "render-b"],
    )
    .args(["tasks", "sync"])
    .output()
    .unwrap();
    assert!(plain.status.success(), "{}", text(&plain.stderr));
    assert!(!out_a.exists());
}
