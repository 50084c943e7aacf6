//! The command line, run as a user would: every subcommand against a mock,
//! the documented exit codes, bad input, `--json`, Ctrl-C, `--help`, and
//! the README's first command.
#![cfg(feature = "cli")]

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use seedance_mini::mock::{MockServer, DEFAULT_API_KEY};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_seedance-mini");

/// A journal home for this test process, never the user's own.
fn home() -> &'static std::path::Path {
    static HOME: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    HOME.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("SEEDANCE_MINI_HOME", home())
        .env_remove("MAGNIFIC_API_KEY")
        .env_remove("ANYFAST_API_KEY")
        .env_remove("POWERTOKENS_API_KEY")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// stdout as one JSON document, following the published schema.
fn json(out: &Output) -> Value {
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(&out.stdout)));
    common::conforms(&v);
    v
}

#[test]
fn the_readmes_first_command_makes_a_playable_video() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let first = readme
        .lines()
        .find(|l| l.starts_with("cargo run"))
        .expect("README has a cargo run command");
    let args = first
        .split_once(" -- ")
        .expect("the command passes arguments after --")
        .1;
    let words = shell_words(args);
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .env("SEEDANCE_MINI_HOME", home())
        .args(&words)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let file = words
        .iter()
        .position(|w| w == "-o")
        .map(|i| &words[i + 1])
        .expect("the command saves a file");
    assert_eq!(common::probe_mp4(&dir.path().join(file)), (1280, 720, 5));
}

/// Splits a command line the way sh does for plain and double-quoted words.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

#[tokio::test(flavor = "multi_thread")]
async fn every_client_subcommand_works_against_a_standalone_mock() {
    let mock = MockServer::start().await.unwrap();
    let url = mock.url().to_string();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.mp4");
    let common = [
        "--base-url",
        url.as_str(),
        "--api-key",
        DEFAULT_API_KEY,
        "--json",
    ];
    let with = |extra: &[&str]| -> Vec<String> {
        common.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    let call = |args: Vec<String>| {
        tokio::task::spawn_blocking(move || {
            Command::new(BIN)
                .env("SEEDANCE_MINI_HOME", home())
                .args(args)
                .output()
                .unwrap()
        })
    };

    let out = call(with(&[
        "generate",
        "a cat",
        "--resolution",
        "480p",
        "--aspect-ratio",
        "9:16",
        "--duration",
        "10",
    ]))
    .await
    .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let created = json(&out);
    let id = created["task"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        (created["resolution"].as_str(), created["duration"].as_i64()),
        (Some("480p"), Some(10))
    );

    let out = call(with(&["status", &id])).await.unwrap();
    assert!(["created", "queued", "in_progress", "completed"]
        .contains(&json(&out)["task"]["status"].as_str().unwrap()));
    let out = call(with(&["list", "--resolution", "480p"])).await.unwrap();
    assert_eq!(json(&out)["tasks"][0]["id"], id);
    let out = call(with(&["list", "--resolution", "720p"])).await.unwrap();
    assert_eq!(json(&out)["tasks"], Value::Array(vec![]));
    let out = call(with(&["wait", &id, "--max-wait", "30"]))
        .await
        .unwrap();
    assert_eq!(json(&out)["task"]["status"], "completed");
    let out = call(with(&["download", &id, "-o", file.to_str().unwrap()]))
        .await
        .unwrap();
    assert_eq!(json(&out)["file"]["path"], file.to_str().unwrap());
    assert_eq!(common::probe_mp4(&file), (480, 854, 10));
}

#[test]
fn the_mock_subcommand_serves_with_several_keys() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = Command::new(BIN)
        .env("SEEDANCE_MINI_HOME", home())
        .args([
            "mock",
            "--addr",
            &addr,
            "--api-key",
            "k1",
            "--api-key",
            "k2",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut first,
    )
    .unwrap();
    assert_eq!(first.trim(), format!("mock listening on http://{addr}"));
    for key in ["k1", "k2"] {
        let out = run(&[
            "--base-url",
            &format!("http://{addr}"),
            "--api-key",
            key,
            "list",
        ]);
        assert!(out.status.success(), "{key}: {}", text(&out.stderr));
    }
    let out = run(&[
        "--base-url",
        &format!("http://{addr}"),
        "--api-key",
        "nope",
        "list",
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("magnific refused the API key (401): Invalid API key"));
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn the_mock_subcommand_prints_its_default_key() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(BIN)
        .env("SEEDANCE_MINI_HOME", home())
        .args(["mock", "--addr", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut lines = String::new();
    for _ in 0..2 {
        std::io::BufRead::read_line(&mut reader, &mut lines).unwrap();
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        lines.contains(&format!("api key: {DEFAULT_API_KEY}")),
        "{lines}"
    );
}

#[test]
fn bad_input_exits_2_naming_the_field_and_the_rule() {
    let long = "a".repeat(2001);
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "--mock",
                "batch",
                "x.jsonl",
                "--out-dir",
                ".",
                "--concurrency",
                "0",
            ],
            "must be at least 1 (0 would run nothing)",
        ),
        (
            &[
                "--base-url",
                "127.0.0.1:8080",
                "--api-key",
                "k",
                "status",
                "t",
            ],
            "invalid `--base-url`: `127.0.0.1:8080` has no scheme: write http://127.0.0.1:8080",
        ),
        (
            &[
                "--base-url",
                "http://127.0.0.1:9",
                "--api-key",
                "k",
                "--header",
                "NoColon",
                "status",
                "t",
            ],
            "invalid `--header`: `NoColon` is not `Name: value`",
        ),
        (
            &["--mock", "generate", "x", "--aspect-ratio", "5:4"],
            "`5:4` is not one of 21:9, 16:9, 4:3, 1:1, 3:4, 9:16, 9:21, adaptive",
        ),
        (
            &["--mock", "generate", &long],
            "invalid `PROMPT`: is 2001 characters; magnific takes at most 2000",
        ),
        (
            &["--mock", "generate", "x", "--image", "/no/such/image.png"],
            "invalid `--image`: cannot read /no/such/image.png",
        ),
        (
            &[
                "--mock",
                "generate",
                "x",
                "--image-end",
                "https://e.com/end.png",
            ],
            "invalid `--image-end`: needs a --image",
        ),
        (
            &["--mock", "generate", "x", "--duration", "7"],
            "invalid `--duration`: 7 s is not one of magnific's 5, 10",
        ),
        (
            &[
                "--mock",
                "--provider",
                "anyfast",
                "generate",
                "x",
                "--duration",
                "16",
            ],
            "invalid `--duration`: 16 s is outside anyfast's 4-15",
        ),
        (
            &["--mock", "generate", "x", "-o", "/no/such/dir/x.mp4"],
            "invalid `--output`: directory /no/such/dir does not exist",
        ),
        (
            &["generate", "x"],
            "invalid `--api-key`: is required: pass --api-key, set MAGNIFIC_API_KEY, or try --mock",
        ),
    ];
    for (args, message) in cases {
        let out = run(args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(
            !err.contains("panicked") && !err.contains("backtrace"),
            "{err}"
        );
    }
}

#[test]
fn outcomes_have_their_exit_codes_and_json_parses() {
    let failed = run(&[
        "--mock",
        "--json",
        "generate",
        "a cat [mock:fail]",
        "--wait",
    ]);
    assert_eq!(failed.status.code(), Some(1));
    assert_eq!(json(&failed)["task"]["status"], "failed");
    let timeout = run(&[
        "--mock",
        "--json",
        "generate",
        "a cat [mock:stuck]",
        "--wait",
        "--max-wait",
        "1",
    ]);
    assert_eq!(timeout.status.code(), Some(4));
    assert!(json(&timeout)["error"]
        .as_str()
        .unwrap()
        .starts_with("task still not finished after"));
    let ok = run(&[
        "--mock",
        "--json",
        "--provider",
        "anyfast",
        "generate",
        "a cat",
        "--wait",
    ]);
    assert_eq!(ok.status.code(), Some(0));
    assert_eq!(json(&ok)["task"]["status"], "completed");
}

#[test]
fn webhook_verify_checks_a_saved_delivery() {
    // The vector of tests/webhook.rs, computed with Python's hmac.
    let dir = tempfile::tempdir().unwrap();
    let headers = dir.path().join("headers.txt");
    let body = dir.path().join("body.json");
    std::fs::write(&headers, "webhook-id: msg_2Kq8xZ\nwebhook-timestamp: 1795238000\nwebhook-signature: v1,zwmyR5HVuH42YynxrmSJbh5nMj5bV4l+2m3K60oHuH0=\n").unwrap();
    std::fs::write(&body, r#"{"task_id":"046b6c7f-0b8a-43b9-b35d-6489e6daee91","status":"COMPLETED","generated":["https://cdn.example/v.mp4"]}"#).unwrap();
    let h = headers.to_str().unwrap();
    let b = body.to_str().unwrap();
    let out = run(&[
        "--json",
        "webhook",
        "verify",
        "--secret",
        "my-raw-secret",
        "--headers",
        h,
        "--body",
        b,
        "--at",
        "1795238000",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        json(&out)["task_id"],
        "046b6c7f-0b8a-43b9-b35d-6489e6daee91"
    );
    let out = run(&[
        "webhook",
        "verify",
        "--secret",
        "wrong",
        "--headers",
        h,
        "--body",
        b,
        "--at",
        "1795238000",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no webhook signature matches"));
    let out = run(&[
        "webhook",
        "verify",
        "--secret",
        "my-raw-secret",
        "--headers",
        h,
        "--body",
        b,
    ]);
    assert_eq!(out.status.code(), Some(1), "stale now");
    assert!(text(&out.stderr).contains("webhook-timestamp is"));
}

#[test]
fn help_text_is_pinned() {
    insta::assert_snapshot!("help", text(&run(&["--help"]).stdout));
    insta::assert_snapshot!("help_generate", text(&run(&["generate", "--help"]).stdout));
    insta::assert_snapshot!("help_mock", text(&run(&["mock", "--help"]).stdout));
}

/// Runs the CLI against the mock at `url`, sends it SIGINT once stderr shows
/// `ready` (if given) and `delay` has passed, and returns its exit code and stderr.
async fn interrupted(
    url: &str,
    args: &[&str],
    ready: Option<&'static str>,
    delay: Duration,
) -> (Option<i32>, String) {
    let mut child = Command::new(BIN)
        .env("SEEDANCE_MINI_HOME", home())
        .args(["--base-url", url, "--api-key", DEFAULT_API_KEY])
        .args(args)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    tokio::task::spawn_blocking(move || {
        let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        let mut err = String::new();
        if let Some(line) = ready {
            while !err.contains(line)
                && std::io::BufRead::read_line(&mut stderr, &mut err).unwrap() > 0
            {}
        }
        std::thread::sleep(delay);
        Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        let status = child.wait().unwrap();
        std::io::Read::read_to_string(&mut stderr, &mut err).unwrap();
        (status.code(), err)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_while_waiting_prints_how_to_resume() {
    let mock = MockServer::start().await.unwrap();
    let args = ["generate", "a cat [mock:stuck]", "-o", "/tmp/never.mp4"];
    // Interrupt once it is waiting: after it reports the submitted task.
    let (code, err) = interrupted(
        mock.url(),
        &args,
        Some("submitted task"),
        Duration::from_millis(500),
    )
    .await;
    assert_eq!(code, Some(130), "{err}");
    assert!(err.contains("interrupted: task "), "{err}");
    assert!(
        err.contains("resume with: seedance-mini --provider magnific --base-url http://127.0.0.1:")
            && err.contains(" -o /tmp/never.mp4"),
        "{err}"
    );
    assert!(!Path::new("/tmp/never.mp4").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_during_submit_still_prints_the_paid_task_id() {
    // Creates answer after 3 s, so the interrupt at 1 s lands mid-submit.
    let fault = "create_video_seedance_2_mini_720p:latency=3000"
        .parse()
        .unwrap();
    let mock = MockServer::builder().fault(fault).start().await.unwrap();
    let (code, err) = interrupted(
        mock.url(),
        &["generate", "a cat"],
        None,
        Duration::from_millis(1000),
    )
    .await;
    assert_eq!(mock.engine().task_count(), 1, "the submit completed");
    assert_eq!(code, Some(130), "{err}");
    assert!(err.contains("interrupted while submitting"), "{err}");
    assert!(
        err.contains("resume with: seedance-mini --provider magnific --base-url http://127.0.0.1:"),
        "{err}"
    );
    assert!(err.contains(" wait "), "{err}");
}

/// A journal of `rows` generate jobs, half of them done.
fn journal_of(rows: usize) -> tempfile::TempDir {
    use seedance_mini::journal::{Ledger, NewJob};
    let dir = tempfile::tempdir().unwrap();
    let journal = seedance_mini::Journal::open(dir.path().join("j.sqlite3")).unwrap();
    let request = seedance_mini::VideoRequest::new("a long listing of kites over a beach");
    for i in 0..rows {
        let id = journal
            .before_create(&NewJob {
                key: None,
                provider: seedance_mini::Provider::Anyfast,
                base_url: "http://127.0.0.1:9",
                request: &request,
                output: None,
            })
            .unwrap();
        if i % 2 == 0 {
            journal.create_failed(id, "refused", true).unwrap();
        }
    }
    dir
}

/// Runs the command, reads `keep` bytes of its stdout, closes the pipe as
/// `head` does, and returns its exit code and stderr.
fn closed_early(args: &[&str], keep: usize) -> (Option<i32>, String) {
    use std::io::Read;
    let mut child = Command::new(BIN)
        .args(args)
        .env("SEEDANCE_MINI_HOME", home())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = vec![0u8; keep];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let done = child.wait_with_output().unwrap();
    (done.status.code(), text(&done.stderr))
}

#[test]
fn output_cut_short_by_a_closed_pipe_ends_quietly_with_exit_0() {
    let dir = journal_of(3000);
    let journal = dir.path().join("j.sqlite3");
    let journal = journal.to_str().unwrap();
    for args in [
        &["--journal", journal, "tasks"][..],
        &["--journal", journal, "--json", "tasks"],
        &["completions", "zsh"],
        &["man"],
    ] {
        let (code, err) = closed_early(args, 10);
        assert_eq!(code, Some(0), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    // Short outputs too: the reader is gone before the first line.
    for args in [
        &["--mock", "list"][..],
        &["--mock", "--json", "list"],
        &[
            "spec",
            "diff",
            "--vendored",
            "magnific",
            "openapi/magnific.yaml",
        ],
    ] {
        let (code, err) = closed_early(args, 0);
        assert_eq!(code, Some(0), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn tasks_filters_by_state_and_keeps_the_newest() {
    let dir = journal_of(10);
    let journal = dir.path().join("j.sqlite3");
    let journal = journal.to_str().unwrap();
    let listed = |extra: &[&str]| -> Vec<Value> {
        let out = run(&[&["--journal", journal, "--json", "tasks"][..], extra].concat());
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        json(&out)["tasks"].as_array().unwrap().clone()
    };
    assert_eq!(listed(&[]).len(), 10);
    let rejected = listed(&["--state", "rejected"]);
    assert_eq!(rejected.len(), 5);
    assert!(rejected.iter().all(|t| t["state"] == "rejected"));
    let newest = listed(&["--limit", "3"]);
    let ids: Vec<i64> = newest.iter().map(|t| t["job"].as_i64().unwrap()).collect();
    assert_eq!(ids, [8, 9, 10], "the newest three, oldest first");
    let table = run(&["--journal", journal, "tasks", "--state", "submitting"]);
    let table = text(&table.stdout);
    assert!(table.lines().next().unwrap().starts_with("ID"), "{table}");
    assert_eq!(table.lines().count(), 6, "{table}");
    // --provider, given on the command line (before or after `tasks`),
    // lists that provider's jobs; the journal here holds only Anyfast's.
    assert_eq!(listed(&["--provider", "anyfast"]).len(), 10);
    assert_eq!(listed(&["--provider", "magnific"]).len(), 0);
    let before = run(&[
        "--provider",
        "magnific",
        "--journal",
        journal,
        "--json",
        "tasks",
    ]);
    assert_eq!(json(&before)["tasks"].as_array().unwrap().len(), 0);
    // The variable picks a provider to call, not a filter.
    let from_env = Command::new(BIN)
        .args(["--journal", journal, "--json", "tasks"])
        .env("SEEDANCE_MINI_HOME", home())
        .env("SEEDANCE_MINI_PROVIDER", "magnific")
        .output()
        .unwrap();
    assert_eq!(json(&from_env)["tasks"].as_array().unwrap().len(), 10);
    let bad = run(&["--journal", journal, "tasks", "--state", "paused"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("`paused` is not a state"),
        "{}",
        text(&bad.stderr)
    );
}

#[test]
fn a_refused_connection_says_nothing_is_listening_there() {
    let out = run(&[
        "--base-url",
        "http://127.0.0.1:9",
        "--api-key",
        "k",
        "status",
        "t",
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("nothing is listening at http://127.0.0.1:9; is the mock running"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_journal_says_which_provider_and_endpoint_made_a_task() {
    let mock = MockServer::start().await.unwrap();
    let url = mock.url().to_string();
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("j.sqlite3");
    let journal = journal.to_str().unwrap().to_string();
    let base = ["--journal", journal.as_str(), "--api-key", DEFAULT_API_KEY];
    let call = move |args: Vec<String>, env: Vec<(&'static str, String)>| {
        tokio::task::spawn_blocking(move || {
            Command::new(BIN)
                .env("SEEDANCE_MINI_HOME", home())
                .env_remove("ANYFAST_API_KEY")
                .env_remove("ANYFAST_BASE_URL")
                .envs(env)
                .args(args)
                .output()
                .unwrap()
        })
    };
    let with = |extra: &[&str]| -> Vec<String> {
        base.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    let made = call(
        with(&[
            "--base-url",
            &url,
            "--provider",
            "anyfast",
            "generate",
            "a kite",
            "--duration",
            "4",
        ]),
        vec![],
    )
    .await
    .unwrap();
    assert_eq!(made.status.code(), Some(0), "{}", text(&made.stderr));
    let id = text(&made.stdout)
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    assert!(id.starts_with("cgt-"), "{}", text(&made.stdout));
    // The hint carries the endpoint and the journal, to copy as printed.
    let next = text(&made.stderr);
    assert!(
        next.contains(&format!(
            "next: seedance-mini --provider anyfast --base-url {} --journal {journal} wait {id}",
            url.trim_end_matches('/')
        )),
        "{next}"
    );
    // `--provider` left at magnific: the journal knows the task is Anyfast's,
    // and no Magnific key goes to it.
    let asked = call(with(&["--base-url", &url, "status", &id]), vec![])
        .await
        .unwrap();
    let err = text(&asked.stderr);
    assert_eq!(asked.status.code(), Some(2), "{err}");
    assert!(err.contains("for anyfast, set ANYFAST_API_KEY"), "{err}");
    // With Anyfast's own key and endpoint, status asks Anyfast.
    let asked = call(
        with(&["status", &id]),
        vec![
            ("ANYFAST_API_KEY", DEFAULT_API_KEY.to_string()),
            ("ANYFAST_BASE_URL", url.clone()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(asked.status.code(), Some(0), "{}", text(&asked.stderr));
    assert!(text(&asked.stdout).contains(&id), "{}", text(&asked.stdout));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_create_answered_5xx_says_it_is_in_doubt_and_may_be_paid_for() {
    let mock = MockServer::builder()
        .fault("create_video_seedance_2_mini_720p:503".parse().unwrap())
        .start()
        .await
        .unwrap();
    let url = mock.url().to_string();
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("j.sqlite3");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args([
                "--base-url",
                &url,
                "--api-key",
                DEFAULT_API_KEY,
                "--journal",
            ])
            .arg(&journal)
            .args(["generate", "a kite"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("a task may exist and be paid for"), "{err}");
    assert!(
        err.contains("seedance-mini tasks --state in_doubt"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_task_exits_1_and_sync_says_what_it_skipped() {
    use seedance_mini::journal::{Ledger, NewJob};
    let mock = MockServer::start().await.unwrap();
    let url = mock.url().to_string();
    let client = mock.client(seedance_mini::Provider::Magnific).unwrap();
    let request = seedance_mini::VideoRequest::new("a kite that will not fly");
    let task = client.submit(&request).await.unwrap();
    let forced = seedance_mini::http_client_builder()
        .unwrap()
        .build()
        .unwrap()
        .post(format!(
            "{}/__mock/tasks/{}",
            url.trim_end_matches('/'),
            task.id
        ))
        .body(r#"{"outcome": "failed"}"#)
        .send()
        .await
        .unwrap();
    assert!(forced.status().is_success());
    let dir = tempfile::tempdir().unwrap();
    // A journal that knows the failed task, and one create in doubt.
    let path = dir.path().join("j.sqlite3");
    let journal = seedance_mini::Journal::open(&path).unwrap();
    for failed in [true, false] {
        let job = journal
            .before_create(&NewJob {
                key: None,
                provider: seedance_mini::Provider::Magnific,
                base_url: client.base_url(),
                request: &request,
                output: Some(&dir.path().join("kite.mp4")),
            })
            .unwrap();
        match failed {
            true => journal.created(job, &task).unwrap(),
            false => journal
                .create_failed(job, "timed out after sending", false)
                .unwrap(),
        }
    }
    drop(journal);
    let (id, out, journal) = (task.id.clone(), dir.path().join("x.mp4"), path.clone());
    let (download, sync) = tokio::task::spawn_blocking(move || {
        let cli = |args: &[&str]| {
            Command::new(BIN)
                .env("SEEDANCE_MINI_HOME", home())
                .args([
                    "--base-url",
                    &url,
                    "--api-key",
                    DEFAULT_API_KEY,
                    "--journal",
                ])
                .arg(&journal)
                .args(args)
                .output()
                .unwrap()
        };
        (
            cli(&["download", &id, "-o", out.to_str().unwrap()]),
            cli(&["tasks", "sync", "--poll-interval", "0.05"]),
        )
    })
    .await
    .unwrap();
    assert_eq!(
        download.status.code(),
        Some(1),
        "{}",
        text(&download.stderr)
    );
    assert_eq!(sync.status.code(), Some(1), "{}", text(&sync.stdout));
    assert!(
        text(&sync.stdout).contains("failed"),
        "{}",
        text(&sync.stdout)
    );
    assert!(
        text(&sync.stderr).contains("skipped 1 in doubt"),
        "{}",
        text(&sync.stderr)
    );
}

#[test]
fn mock_tasks_says_the_mock_keeps_no_journal() {
    let out = run(&["--mock", "tasks"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--mock keeps no journal"), "{err}");
}

#[test]
fn the_manual_documents_every_command_the_batch_format_and_the_exit_codes() {
    let out = run(&["man"]);
    assert_eq!(out.status.code(), Some(0));
    let page = text(&out.stdout);
    for command in [
        "generate",
        "status",
        "list",
        "wait",
        "download",
        "batch",
        "tasks",
        "tasks sync",
        "mock",
        "spec diff",
        "webhook verify",
        "completions",
        "man",
    ] {
        let heading = format!(".SS \"seedance\\-mini {command}\"");
        assert!(page.contains(&heading), "{command}: no {heading}");
    }
    assert!(page.contains(".SH \"BATCH FILES\""));
    assert!(page.contains(".SH \"EXIT STATUS\""));
    assert!(
        !page.contains("seedance\\-mini\\-generate(1)"),
        "no pages that do not exist"
    );
}

#[test]
fn a_zero_poll_interval_is_refused_with_the_rule_it_breaks() {
    let zero = run(&["--mock", "generate", "a kite", "--poll-interval", "0"]);
    assert_eq!(zero.status.code(), Some(2));
    assert!(
        text(&zero.stderr).contains("must be more than 0 and at most 3600 seconds"),
        "{}",
        text(&zero.stderr)
    );
}
