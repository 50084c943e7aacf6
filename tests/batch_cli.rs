//! The journal through the command line, against the standalone mock in its
//! own process: a batch killed with SIGKILL at each stage and run again
//! finishes every job with exactly one create per job; a killed `generate`
//! loses nothing; a bad batch line pays for nothing; `tasks --json` lists it
//! all. Every wait here is for an event (a line of output, a request in the
//! mock's journal), never a fixed sleep.
#![cfg(feature = "cli")]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;

use common::process::{cli, count, creates, mock, run, text, Mock};

/// Eight jobs: four lines, one of which expands into four variations.
const BATCH: &str = r#"{"prompt": "a red kite over a beach", "resolution": ["480p", "720p"], "aspect_ratio": ["16:9", "9:16"]}
{"prompt": "a snail crossing a leaf", "resolution": "480p"}
{"prompt": "a lighthouse in fog", "duration": 10, "output": "lighthouse.mp4"}
{"prompt": "rain on a window", "aspect_ratio": "1:1"}
{"prompt": "a paper boat", "resolution": "480p", "seed": 7}
"#;

/// Runs `batch --json` until `ready` says so from its events, then SIGKILLs it.
fn kill_batch_when(home: &Path, mock: &Mock, dir: &Path, ready: impl Fn(&[Value], &Mock) -> bool) {
    let file = dir.join("jobs.jsonl");
    let out = dir.join("out");
    let mut child = cli(home, mock, &["--json", "batch"])
        .arg(&file)
        .args(["--out-dir"])
        .arg(&out)
        .args(["--concurrency", "8"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx
                .send(serde_json::from_str::<Value>(&line).unwrap())
                .is_err()
            {
                break;
            }
        }
    });
    let mut events = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready(&events, mock) {
        assert!(Instant::now() < deadline, "never ready: {events:?}");
        if let Ok(e) = rx.recv_timeout(Duration::from_millis(50)) {
            events.push(e);
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}

fn rerun_and_check(home: &Path, mock: &Mock, dir: &Path, jobs: usize) {
    let file = dir.join("jobs.jsonl");
    let out = dir.join("out");
    let again = cli(home, mock, &["--json", "batch"])
        .arg(&file)
        .arg("--out-dir")
        .arg(&out)
        .args(["--concurrency", "8"])
        .output()
        .unwrap();
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}{}",
        text(&again.stdout),
        text(&again.stderr)
    );
    let summary: Value = text(&again.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|e| e["event"] == "summary")
        .unwrap();
    assert_eq!(summary["in_doubt"], 0, "{summary}");
    assert_eq!(
        summary["files"].as_array().unwrap().len(),
        jobs,
        "{summary}"
    );
    let mut files: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), jobs, "no part files left: {files:?}");
    for f in &files {
        let (w, h, _) = common::probe_mp4(f);
        assert!(w > 0 && h > 0, "{f:?}");
    }
    assert_eq!(creates(mock), jobs, "exactly one create per job");
    let tasks = run(home, mock, &["--json", "tasks"]);
    let doc: Value = serde_json::from_slice(&tasks.stdout).unwrap();
    assert_eq!(doc["schema_version"], 1);
    let listed = doc["tasks"].as_array().unwrap();
    assert_eq!(listed.len(), jobs);
    assert!(
        listed
            .iter()
            .all(|t| t["state"] == "done" && t["id"].is_string()),
        "{doc}"
    );
}

#[test]
fn a_batch_killed_while_its_tasks_wait_resumes_with_one_create_per_job() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::write(dir.path().join("jobs.jsonl"), BATCH).unwrap();
    let mock = mock(&["--lifecycle-ms", "200", "2500"]);
    kill_batch_when(&home, &mock, dir.path(), |events, _| {
        events.iter().filter(|e| e["event"] == "submitted").count() == 8
    });
    assert_eq!(creates(&mock), 8);
    rerun_and_check(&home, &mock, dir.path(), 8);
}

#[test]
fn a_batch_killed_mid_download_resumes_with_one_create_per_job() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::write(dir.path().join("jobs.jsonl"), BATCH).unwrap();
    let mock = mock(&[
        "--lifecycle-ms",
        "50",
        "200",
        "--fault",
        "video:latency=1500",
    ]);
    kill_batch_when(&home, &mock, dir.path(), |_, mock| {
        count(mock, "GET", "/__mock/videos/") >= 1
    });
    rerun_and_check(&home, &mock, dir.path(), 8);
}

/// Sixteen jobs for one provider, each its own line.
fn sixteen() -> String {
    (0..16)
        .map(|i| format!("{{\"prompt\": \"gull {i}\", \"resolution\": \"480p\"}}\n"))
        .collect()
}

#[test]
fn a_batch_killed_while_the_list_is_read_and_downloads_run_resumes_with_one_create_per_job() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::write(dir.path().join("jobs.jsonl"), sixteen()).unwrap();
    // Tasks finish over 0.3-4 s, so the list is still read for some while
    // others download (each download takes 1.5 s).
    let mock = mock(&[
        "--lifecycle-ms",
        "50",
        "300..4000",
        "--fault",
        "video:latency=1500",
    ]);
    let list = "/v1/ai/video/seedance-2-mini";
    kill_batch_when(&home, &mock, dir.path(), |events, mock| {
        let requests = common::process::requests(mock);
        let lists = requests.iter().filter(|r| r["path"] == list).count();
        let videos = count(mock, "GET", "/__mock/videos/");
        let finished = events.iter().filter(|e| e["event"] == "finished").count();
        // Both stages busy: a download under way, the list read again
        // since, and tasks still unfinished.
        lists >= 2 && videos >= 1 && finished < 8
    });
    rerun_and_check(&home, &mock, dir.path(), 16);
}

#[test]
fn a_batch_killed_right_after_its_creates_resumes_with_one_create_per_job() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::write(dir.path().join("jobs.jsonl"), BATCH).unwrap();
    // Tasks finish almost at once: the kill lands between the last create's
    // answer and the downloads.
    let mock = mock(&[
        "--lifecycle-ms",
        "50",
        "100",
        "--fault",
        "video:latency=300",
    ]);
    kill_batch_when(&home, &mock, dir.path(), |events, _| {
        events.iter().filter(|e| e["event"] == "submitted").count() == 8
    });
    rerun_and_check(&home, &mock, dir.path(), 8);
}

#[test]
fn a_batch_killed_mid_create_reports_in_doubt_and_resends_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::write(dir.path().join("jobs.jsonl"), BATCH).unwrap();
    // Creates take a second to answer; the kill lands while they are in flight.
    let mock = mock(&[
        "--fault",
        "create_video_seedance_2_mini_720p:latency=1000",
        "--fault",
        "create_video_seedance_2_mini_480p:latency=1000",
    ]);
    kill_batch_when(&home, &mock, dir.path(), |_, mock| creates(mock) == 8);
    let again = cli(&home, &mock, &["batch"])
        .arg(dir.path().join("jobs.jsonl"))
        .arg("--out-dir")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(5), "{}", text(&again.stderr));
    assert!(
        text(&again.stderr).contains("8 in doubt"),
        "{}",
        text(&again.stderr)
    );
    assert_eq!(creates(&mock), 8, "nothing re-sent on its own");
    let resent = cli(&home, &mock, &["batch"])
        .arg(dir.path().join("jobs.jsonl"))
        .arg("--out-dir")
        .arg(dir.path().join("out"))
        .arg("--resubmit-in-doubt")
        .output()
        .unwrap();
    assert_eq!(resent.status.code(), Some(0), "{}", text(&resent.stderr));
    assert_eq!(creates(&mock), 16, "each re-sent once, when asked");
}

#[test]
fn a_batch_files_relative_paths_are_its_own_folders_and_unknown_keys_get_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let (folder, elsewhere) = (dir.path().join("campaign"), dir.path().join("elsewhere"));
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::create_dir_all(&elsewhere).unwrap();
    // A PNG signature is all a local image needs to be read and sent.
    std::fs::write(folder.join("frame.png"), b"\x89PNG\r\n\x1a\n0000").unwrap();
    let file = folder.join("jobs.jsonl");
    std::fs::write(
        &file,
        "{\"prompt\": \"from its first frame\", \"image\": \"frame.png\"}\n",
    )
    .unwrap();
    let mock = mock(&["--lifecycle-ms", "20", "60"]);
    let out = cli(&home, &mock, &["batch"])
        .arg(&file)
        .arg("--out-dir")
        .arg(dir.path().join("out"))
        .args(["--poll-interval", "0.05"])
        .current_dir(&elsewhere)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(creates(&mock), 1);
    std::fs::write(&file, "{\"prompt\": \"x\", \"aspect_ratoi\": \"1:1\"}\n").unwrap();
    let out = cli(&home, &mock, &["batch"])
        .arg(&file)
        .arg("--out-dir")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(
            "invalid `line 1: aspect_ratoi`: is not a batch key (did you mean `aspect_ratio`?"
        ),
        "{err}"
    );
}

#[test]
fn a_bad_batch_line_pays_for_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let file = dir.path().join("jobs.jsonl");
    std::fs::write(
        &file,
        "{\"prompt\": \"ok\"}\n{\"prompt\": \"ok too\"}\n{\"prompt\": \"bad\", \"duration\": 7}\n",
    )
    .unwrap();
    let mock = mock(&[]);
    let out = cli(&home, &mock, &["batch"])
        .arg(&file)
        .args(["--out-dir"])
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("invalid `line 3: duration`"), "{err}");
    assert_eq!(creates(&mock), 0);
}

/// Waits (30 s at most) until the mock saw a Magnific task polled: a
/// `generate` is then mid-wait.
fn until_polled(mock: &Mock) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while count(mock, "GET", "/v1/ai/video/seedance-2-mini/") == 0 {
        assert!(Instant::now() < deadline, "no poll within 30 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `batch` on `file` into `out` and returns its exit code and stderr.
fn batch_into(home: &Path, mock: &Mock, file: &Path, out: &Path) -> (Option<i32>, String) {
    let done = cli(home, mock, &["batch"])
        .arg(file)
        .arg("--out-dir")
        .arg(out)
        .args(["--concurrency", "8", "--poll-interval", "0.05"])
        .output()
        .unwrap();
    (done.status.code(), text(&done.stderr))
}

#[test]
fn a_line_inserted_at_the_top_of_a_finished_batch_costs_exactly_one_create() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let (file, out) = (dir.path().join("jobs.jsonl"), dir.path().join("out"));
    std::fs::write(&file, BATCH).unwrap();
    let mock = mock(&["--lifecycle-ms", "20", "60"]);
    let (code, err) = batch_into(&home, &mock, &file, &out);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(creates(&mock), 8);
    std::fs::write(
        &file,
        format!("{{\"prompt\": \"a new opening shot\"}}\n{BATCH}"),
    )
    .unwrap();
    let (code, err) = batch_into(&home, &mock, &file, &out);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(creates(&mock), 9, "only the new line is paid for: {err}");
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 9, "{err}");
    // Reordered, nothing more is paid, and no file is added.
    let mut lines: Vec<&str> = BATCH.lines().collect();
    lines.reverse();
    std::fs::write(&file, lines.join("\n")).unwrap();
    let (code, err) = batch_into(&home, &mock, &file, &out);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(creates(&mock), 9, "{err}");
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 9, "{err}");
}

#[test]
fn a_finished_batch_costs_nothing_without_its_journal_and_force_runs_it_again() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let (file, out) = (dir.path().join("jobs.jsonl"), dir.path().join("out"));
    std::fs::write(&file, BATCH).unwrap();
    let mock = mock(&["--lifecycle-ms", "20", "60"]);
    let (code, err) = batch_into(&home, &mock, &file, &out);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(creates(&mock), 8);
    let before: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    // No journal, a new home, a deleted journal: the files are the record.
    for how in [&["--no-journal"][..], &["--journal"][..]] {
        let mut command = cli(&home, &mock, how);
        if how == ["--journal"] {
            command.arg(dir.path().join("fresh.sqlite3"));
        }
        let again = command
            .arg("batch")
            .arg(&file)
            .arg("--out-dir")
            .arg(&out)
            .output()
            .unwrap();
        assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
        assert_eq!(creates(&mock), 8, "{how:?}: {}", text(&again.stderr));
    }
    let after: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(before, after, "no file was written again");
    // A cut file is not whole: that job alone runs again (a new create,
    // since this journal never saw it).
    let cut = out.join("lighthouse.mp4");
    let bytes = std::fs::read(&cut).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let again = cli(&home, &mock, &["--journal"])
        .arg(dir.path().join("fresh.sqlite3"))
        .arg("batch")
        .arg(&file)
        .arg("--out-dir")
        .arg(&out)
        .args(["--poll-interval", "0.05"])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    assert_eq!(creates(&mock), 9);
    common::probe_mp4(&cut);
    // --force does not trust files the journal never saw.
    let forced = cli(&home, &mock, &["--no-journal", "batch"])
        .arg(&file)
        .arg("--out-dir")
        .arg(&out)
        .args(["--force", "--poll-interval", "0.05"])
        .output()
        .unwrap();
    assert_eq!(forced.status.code(), Some(0), "{}", text(&forced.stderr));
    assert_eq!(creates(&mock), 17);
}

#[test]
fn tasks_sync_from_another_directory_saves_where_generate_was_asked_to() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let (here, there) = (dir.path().join("here"), dir.path().join("there"));
    std::fs::create_dir_all(&here).unwrap();
    std::fs::create_dir_all(&there).unwrap();
    let mock = mock(&["--lifecycle-ms", "200", "1500"]);
    let mut child = cli(
        &home,
        &mock,
        &["--quiet", "generate", "a kite", "-o", "t.mp4"],
    )
    .current_dir(&here)
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    until_polled(&mock);
    child.kill().unwrap();
    child.wait().unwrap();
    // Meanwhile another whole video took the name: sync leaves it alone.
    let other = std::process::Command::new(common::process::BIN)
        .env("SEEDANCE_MINI_HOME", &home)
        .args(["--mock", "--quiet", "generate", "another", "-o"])
        .arg(here.join("t.mp4"))
        .output()
        .unwrap();
    assert_eq!(other.status.code(), Some(0), "{}", text(&other.stderr));
    let theirs = std::fs::read(here.join("t.mp4")).unwrap();
    let sync = || {
        cli(&home, &mock, &["tasks", "sync", "--poll-interval", "0.05"])
            .current_dir(&there)
            .output()
            .unwrap()
    };
    // As `generate -o` refuses an existing file: exit 2, the user's move.
    let refused = sync();
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stdout));
    assert!(
        text(&refused.stdout).contains("is left as it is"),
        "{}",
        text(&refused.stdout)
    );
    assert_eq!(std::fs::read(here.join("t.mp4")).unwrap(), theirs);
    std::fs::remove_file(here.join("t.mp4")).unwrap();
    let synced = sync();
    assert_eq!(synced.status.code(), Some(0), "{}", text(&synced.stderr));
    common::probe_mp4(&here.join("t.mp4"));
    assert!(!there.join("t.mp4").exists());
}

/// `n` jobs, one line each.
fn many_jobs(n: usize) -> String {
    (0..n)
        .map(|i| format!("{{\"prompt\": \"shot number {i}\"}}\n"))
        .collect()
}

/// Starts `batch --json` on `file` into `out` (not waiting for it).
fn spawn_batch(home: &Path, mock: &Mock, file: &Path, out: &Path) -> Child {
    cli(home, mock, &["--json", "batch"])
        .arg(file)
        .arg("--out-dir")
        .arg(out)
        .args(["--concurrency", "8", "--poll-interval", "0.05"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn two_processes_on_one_batch_pay_once_per_job_and_both_finish() {
    // The issue's figure is 20 rounds; SEEDANCE_MINI_CLAIM_ROUNDS runs more.
    let rounds: usize = std::env::var("SEEDANCE_MINI_CLAIM_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20);
    // Every request of every round stays in the mock's journal.
    let mock = mock(&["--lifecycle-ms", "30", "300", "--journal-size", "1000000"]);
    for round in 0..rounds {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let (file, out) = (dir.path().join("jobs.jsonl"), dir.path().join("out"));
        std::fs::write(&file, many_jobs(40)).unwrap();
        let before = creates(&mock);
        let first = spawn_batch(&home, &mock, &file, &out);
        let second = spawn_batch(&home, &mock, &file, &out);
        let (first, second) = (
            first.wait_with_output().unwrap(),
            second.wait_with_output().unwrap(),
        );
        for (who, run) in [("first", &first), ("second", &second)] {
            assert_eq!(
                run.status.code(),
                Some(0),
                "round {round}, {who}: {}",
                text(&run.stderr)
            );
            let summary: Value = text(&run.stdout)
                .lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .find(|e| e["event"] == "summary")
                .unwrap();
            assert_eq!(summary["in_doubt"], 0, "round {round}, {who}: {summary}");
            assert_eq!(summary["files"].as_array().unwrap().len(), 40, "{summary}");
        }
        assert_eq!(
            creates(&mock) - before,
            40,
            "round {round}: one create per job"
        );
        let files = std::fs::read_dir(&out).unwrap().count();
        assert_eq!(files, 40, "round {round}: no part files left");
    }
}

#[test]
fn a_bad_journal_refuses_once_before_anything_is_paid() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jobs.jsonl");
    std::fs::write(&file, many_jobs(3)).unwrap();
    let mock = mock(&[]);
    // A whole journal to cut short: made, and given a few rows, by a run.
    let good = dir.path().join("good").join("journal.sqlite3");
    let made = cli(&dir.path().join("good"), &mock, &["batch"])
        .arg(&file)
        .arg("--out-dir")
        .arg(dir.path().join("first"))
        .args(["--poll-interval", "0.05"])
        .output()
        .unwrap();
    assert_eq!(made.status.code(), Some(0), "{}", text(&made.stderr));
    let paid = creates(&mock);
    let whole = std::fs::read(&good).unwrap();
    let garbage: Vec<u8> = b"not a journal at all\n".repeat(500);
    let cases: [(&str, Vec<u8>, &str); 2] = [
        ("garbage", garbage, "it is not a journal, or it is damaged"),
        (
            "truncated",
            whole[..4096].to_vec(),
            "it is not a journal, or it is damaged",
        ),
    ];
    for (what, bytes, cause) in cases {
        let home = dir.path().join(what);
        std::fs::create_dir_all(&home).unwrap();
        let journal = home.join("journal.sqlite3");
        std::fs::write(&journal, &bytes).unwrap();
        let out = cli(&home, &mock, &["batch"])
            .arg(&file)
            .arg("--out-dir")
            .arg(dir.path().join(what).join("out"))
            .output()
            .unwrap();
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(6), "{what}: {err}");
        assert!(
            err.contains(&journal.display().to_string()),
            "{what}: {err}"
        );
        assert!(err.contains(cause), "{what}: {err}");
        assert_eq!(
            err.lines().filter(|l| l.starts_with("error")).count(),
            1,
            "{what}: {err}"
        );
        assert_eq!(creates(&mock), paid, "{what}: nothing is paid for");
        assert_eq!(
            std::fs::read(&journal).unwrap(),
            bytes,
            "{what}: left as it was"
        );
    }
}

#[test]
fn a_killed_generate_loses_no_task_and_tasks_sync_finishes_it() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let mock = mock(&["--lifecycle-ms", "200", "1500"]);
    let video = dir.path().join("t.mp4");
    let mut child = cli(&home, &mock, &["--quiet", "generate", "a kite", "-o"])
        .arg(&video)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Mid-wait: the task is polled at least once.
    until_polled(&mock);
    child.kill().unwrap();
    child.wait().unwrap();
    let tasks: Value =
        serde_json::from_slice(&run(&home, &mock, &["--json", "tasks"]).stdout).unwrap();
    let listed = tasks["tasks"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0]["id"].is_string(), "{tasks}");
    assert_eq!(listed[0]["prompt"], "a kite");
    let synced = run(&home, &mock, &["tasks", "sync"]);
    assert_eq!(synced.status.code(), Some(0), "{}", text(&synced.stderr));
    assert!(video.is_file());
    assert_eq!(creates(&mock), 1);
}

#[test]
fn sigterm_while_waiting_prints_the_task_and_a_resume_command_that_works() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let mock = mock(&["--lifecycle-ms", "200", "60000"]);
    let child = cli(&home, &mock, &["--json", "generate", "a kite", "-o"])
        .arg(dir.path().join("t.mp4"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    until_polled(&mock);
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["interrupted"], true);
    let id = doc["task"]["id"].as_str().unwrap();
    let resume = doc["resume"].as_str().unwrap();
    assert!(resume.contains(&format!("wait {id}")), "{resume}");
    assert!(
        !resume.contains("seedance-mini-mock-key"),
        "the key is never printed: {resume}"
    );
}

/// The `--plan` document of `file` into `out`.
fn plan(home: &Path, mock: &Mock, file: &Path, out: &Path) -> Value {
    let shown = cli(home, mock, &["--json", "batch"])
        .arg(file)
        .arg("--out-dir")
        .arg(out)
        .arg("--plan")
        .output()
        .unwrap();
    assert_eq!(shown.status.code(), Some(0), "{}", text(&shown.stderr));
    serde_json::from_slice(&shown.stdout).unwrap()
}

#[test]
fn plan_on_a_half_done_batch_counts_what_the_journal_holds_and_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let (file, out) = (dir.path().join("jobs.jsonl"), dir.path().join("out"));
    let first = r#"{"prompt": "one", "resolution": "480p"}
{"prompt": "two", "resolution": "480p"}
{"prompt": "three [mock:fail]", "resolution": "480p"}
{"prompt": "four", "resolution": "720p"}
{"prompt": "five [mock:stuck]", "resolution": "480p", "duration": 10}
"#;
    std::fs::write(&file, first).unwrap();
    // 720p creates answer 503: in doubt. The stuck task outlives the wait.
    let mock = mock(&["--fault", "create_video_seedance_2_mini_720p:503"]);
    let ran = cli(&home, &mock, &["batch"])
        .arg(&file)
        .arg("--out-dir")
        .arg(&out)
        .args(["--max-wait", "3", "--poll-interval", "0.2"])
        .output()
        .unwrap();
    assert_eq!(ran.status.code(), Some(5), "{}", text(&ran.stderr));
    let sent = common::process::requests(&mock).len();
    // One line more: a new create.
    std::fs::write(
        &file,
        format!("{first}{}\n", r#"{"prompt": "six", "resolution": "720p"}"#),
    )
    .unwrap();
    let doc = plan(&home, &mock, &file, &out);
    assert_eq!(
        common::process::requests(&mock).len(),
        sent,
        "--plan sends nothing"
    );
    let counts = |k: &str| doc[k].as_u64().unwrap();
    assert_eq!(
        [
            counts("jobs"),
            counts("done"),
            counts("failed"),
            counts("in_doubt"),
            counts("resumable"),
            counts("new")
        ],
        [6, 2, 1, 1, 1, 1],
        "{doc}"
    );
    assert_eq!(counts("video_seconds"), 5 * 5 + 10);
    assert_eq!(counts("new_video_seconds"), 5);
    let groups = doc["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 3, "480p 5 s, 480p 10 s, 720p 5 s: {doc}");
    // The same counts, read from the journal by `tasks`.
    let tasks: Value =
        serde_json::from_slice(&run(&home, &mock, &["--json", "tasks", "--all"]).stdout).unwrap();
    let states: Vec<&str> = tasks["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["state"].as_str().unwrap())
        .collect();
    let of = |s: &str| states.iter().filter(|x| **x == s).count() as u64;
    assert_eq!(of("done"), counts("done"), "{tasks}");
    assert_eq!(of("failed"), counts("failed"), "{tasks}");
    assert_eq!(of("in_doubt"), counts("in_doubt"), "{tasks}");
    assert_eq!(of("submitted"), counts("resumable"), "{tasks}");
    // --max-new refuses a run over the limit before anything is paid.
    let refused = cli(&home, &mock, &["batch"])
        .arg(&file)
        .arg("--out-dir")
        .arg(&out)
        .args(["--max-new", "0"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    assert!(
        text(&refused.stderr).contains("would create 1 new tasks, more than 0"),
        "{}",
        text(&refused.stderr)
    );
    assert_eq!(common::process::requests(&mock).len(), sent);
}

/// Runs `batch FILE --out-dir OUT` with a webhook receiver on a free local
/// port, verifying under the mock's default secret, and `extra` options.
fn with_webhooks(
    home: &Path,
    mock: &Mock,
    file: &Path,
    out: &Path,
    extra: &[&str],
) -> std::process::Output {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    cli(home, mock, &["batch"])
        .env(
            "MAGNIFIC_WEBHOOK_SECRET",
            seedance_mini::mock::DEFAULT_WEBHOOK_SECRET,
        )
        .arg(file)
        .arg("--out-dir")
        .arg(out)
        .args(["--webhook-url", &format!("http://127.0.0.1:{port}/hooks")])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn with_webhooks_a_batch_ends_its_tasks_without_polling_them() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let (file, out) = (dir.path().join("jobs.jsonl"), dir.path().join("out"));
    std::fs::write(&file, BATCH).unwrap();
    let mock = mock(&["--lifecycle-ms", "100", "800"]);
    let ran = with_webhooks(&home, &mock, &file, &out, &[]);
    assert_eq!(ran.status.code(), Some(0), "{}", text(&ran.stderr));
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 8);
    let requests = common::process::requests(&mock);
    let reads: Vec<&Value> = requests
        .iter()
        .filter(|r| {
            r["method"] == "GET"
                && r["path"]
                    .as_str()
                    .unwrap()
                    .starts_with("/v1/ai/video/seedance-2-mini")
        })
        .collect();
    assert!(reads.is_empty(), "no task was polled or listed: {reads:?}");
    assert_eq!(creates(&mock), 8);
    let deliveries = common::process::http_get_json(&format!("{}/__mock/webhooks", mock.url));
    let completed = deliveries
        .iter()
        .filter(|d| d["status"] == "COMPLETED" && d["last_status"] == 204)
        .count();
    assert_eq!(completed, 8, "{deliveries:?}");
}

#[test]
fn a_delivery_with_a_bad_signature_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let (file, out) = (dir.path().join("jobs.jsonl"), dir.path().join("out"));
    std::fs::write(&file, r#"{"prompt": "a paper boat", "resolution": "480p"}"#).unwrap();
    let mock = mock(&[
        "--lifecycle-ms",
        "100",
        "500",
        "--webhook-secret",
        "whsec_b3RoZXItc2VjcmV0",
    ]);
    // The receiver knows another secret: every delivery is refused (401),
    // and the list, as the safety net, would end the task only after 30 s;
    // the wait's deadline ends it first, as failed and resumable.
    let ran = with_webhooks(&home, &mock, &file, &out, &["--max-wait", "3"]);
    assert_eq!(ran.status.code(), Some(1), "{}", text(&ran.stderr));
    let deliveries = common::process::http_get_json(&format!("{}/__mock/webhooks", mock.url));
    assert!(
        !deliveries.is_empty() && deliveries.iter().all(|d| d["last_status"] == 401),
        "{deliveries:?}"
    );
}

#[test]
fn only_a_batch_that_pays_warns_that_it_keeps_no_journal() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let file = dir.path().join("jobs.jsonl");
    std::fs::write(&file, "{\"prompt\": \"fog\"}\n").unwrap();
    let file = file.to_str().unwrap();
    let out_dir = dir.path().join("out");
    let out_dir = out_dir.to_str().unwrap();
    let warning = "warning: no journal";

    let mock = mock(&[]);
    let paid = run(
        &home,
        &mock,
        &[
            "--no-journal",
            "batch",
            file,
            "--out-dir",
            out_dir,
            "--plan",
        ],
    );
    assert_eq!(paid.status.code(), Some(0), "{}", text(&paid.stderr));
    assert!(
        text(&paid.stderr).contains(warning),
        "{}",
        text(&paid.stderr)
    );

    // The embedded mock: nothing is paid, and --mock keeps no journal.
    let free = std::process::Command::new(common::process::BIN)
        .env("SEEDANCE_MINI_HOME", &home)
        .args(["--mock", "batch", file, "--out-dir", out_dir, "--plan"])
        .output()
        .unwrap();
    assert_eq!(free.status.code(), Some(0), "{}", text(&free.stderr));
    assert!(
        !text(&free.stderr).contains(warning),
        "{}",
        text(&free.stderr)
    );
}
