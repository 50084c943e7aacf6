//! Ctrl-C (SIGINT) and SIGTERM mean the same thing at every stage of a
//! `generate -o`: during the submit, the wait and the download, the command
//! stops, exits 130, and (under `--json`) prints one document with the paid
//! task's id and a resume command that names no key. Each signal is sent
//! when the mock's request journal shows the stage has begun, never after a
//! fixed sleep.
#![cfg(feature = "cli")]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use seedance_mini::mock::{Fault, Lifecycle, MockServer, DEFAULT_API_KEY};

const BIN: &str = env!("CARGO_BIN_EXE_seedance-mini");

#[derive(Debug, Clone, Copy)]
enum Stage {
    Submit,
    Wait,
    Download,
}

async fn mock_for(stage: Stage) -> MockServer {
    let slow = |route: &str| format!("{route}:latency=3000").parse::<Fault>().unwrap();
    let builder = MockServer::builder();
    let builder = match stage {
        Stage::Submit => builder.fault(slow("create_video_seedance_2_mini_720p")),
        Stage::Wait => builder.lifecycle(Lifecycle::Clock {
            in_progress_after: Duration::from_millis(50),
            done_after: Duration::from_secs(600),
        }),
        Stage::Download => builder
            .lifecycle(Lifecycle::Clock {
                in_progress_after: Duration::ZERO,
                done_after: Duration::from_millis(50),
            })
            .fault(slow("video")),
    };
    builder.start().await.unwrap()
}

/// Whether the mock has seen the request that starts `stage`.
fn begun(mock: &MockServer, stage: Stage) -> bool {
    mock.engine().requests().iter().any(|r| match stage {
        Stage::Submit => r.method == "POST",
        Stage::Wait => r.method == "GET" && r.path.starts_with("/v1/ai/video/seedance-2-mini/"),
        Stage::Download => r.path.starts_with("/__mock/videos/"),
    })
}

async fn stop_at(stage: Stage, signal: &str) {
    let mock = mock_for(stage).await;
    let dir = tempfile::tempdir().unwrap();
    let video = dir.path().join("v.mp4");
    let child = Command::new(BIN)
        .env("SEEDANCE_MINI_HOME", dir.path())
        .args([
            "--json",
            "--base-url",
            mock.url(),
            "--api-key",
            DEFAULT_API_KEY,
        ])
        .args(["generate", "a cat", "--poll-interval", "0.05", "-o"])
        .arg(&video)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !begun(&mock, stage) {
        assert!(Instant::now() < deadline, "{stage:?} never began");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args([signal, &pid])
        .status()
        .unwrap()
        .success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let what = format!(
        "{stage:?} {signal}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(130), "{what}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{what}: not one JSON document ({e})"));
    assert_eq!(doc["schema_version"], 1, "{what}");
    assert_eq!(doc["interrupted"], true, "{what}");
    common::conforms(&doc);
    let id = doc["task"]["id"].as_str().unwrap();
    // A download that stops says the video is ready, not that the task is
    // still running.
    let ready = matches!(stage, Stage::Download);
    assert_eq!(doc["task"]["status"] == "completed", ready, "{what}: {doc}");
    assert_eq!(mock.engine().task_count(), 1, "{what}");
    let listed: Vec<String> = mock
        .client(seedance_mini::Provider::Magnific)
        .unwrap()
        .list(None)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(
        listed,
        [id.to_string()],
        "{what}: the id printed is the task made"
    );
    let resume = doc["resume"].as_str().unwrap();
    assert!(resume.contains(&format!("wait {id}")), "{what}: {resume}");
    assert!(!resume.contains(DEFAULT_API_KEY), "{what}: {resume}");
    assert!(!video.exists(), "{what}: no partial file at the target");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigint_and_sigterm_at_every_stage_stop_with_the_task_and_a_resume_command() {
    for stage in [Stage::Submit, Stage::Wait, Stage::Download] {
        for signal in ["-INT", "-TERM"] {
            stop_at(stage, signal).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_ctrl_c_while_stopping_is_ignored_and_says_why() {
    let mock = mock_for(Stage::Submit).await;
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new(BIN)
        .env("SEEDANCE_MINI_HOME", dir.path())
        .args(["--base-url", mock.url(), "--api-key", DEFAULT_API_KEY])
        .args(["generate", "a cat", "-o"])
        .arg(dir.path().join("v.mp4"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !begun(&mock, Stage::Submit) {
        assert!(Instant::now() < deadline, "the submit never began");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let pid = child.id().to_string();
    for _ in 0..2 {
        assert!(Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success());
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("already stopping"), "{stderr}");
    assert!(
        stderr.contains("interrupted: task"),
        "the id is still said: {stderr}"
    );
    assert_eq!(mock.engine().task_count(), 1);
}
