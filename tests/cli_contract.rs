//! The command line as a daily tool: every `--json` output is one document
//! with a `schema_version` (parse errors included), logging follows
//! `RUST_LOG` and `-v`/`-vv`, messages name what the user typed, outputs are
//! not clobbered, and the conveniences (completions, man page, env vars) work.
#![cfg(feature = "cli")]

use std::process::{Command, Output};

use serde_json::Value;

mod common;
use common::{cli_schema, conforms};

const BIN: &str = env!("CARGO_BIN_EXE_seedance-mini");

fn home() -> &'static std::path::Path {
    static HOME: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    HOME.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

fn cmd(args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args)
        .env("SEEDANCE_MINI_HOME", home())
        .env_remove("MAGNIFIC_API_KEY")
        .env_remove("RUST_LOG")
        .env_remove("SEEDANCE_MINI_PROVIDER")
        .env_remove("SEEDANCE_MINI_BASE_URL");
    c
}

fn run(args: &[&str]) -> Output {
    cmd(args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// stdout as exactly one JSON document with `schema_version` 1, following
/// the published schema.
fn doc(out: &Output) -> Value {
    let stdout = text(&out.stdout);
    let v: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("not one JSON document ({e}): {stdout}"));
    assert_eq!(v["schema_version"], 1, "{v}");
    conforms(&v);
    v
}

/// stdout as JSON Lines, each a document following the published schema.
fn lines(out: &Output) -> Vec<Value> {
    text(&out.stdout)
        .lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
            conforms(&v);
            v
        })
        .collect()
}

/// The first line a `mock` command prints, then the mock is stopped.
fn mock_first_line(args: &[&str]) -> String {
    let mut child = cmd(args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut first,
    )
    .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    first
}

#[test]
fn the_published_schema_is_the_documents_schema() {
    let generated =
        serde_json::to_string_pretty(&seedance_mini::cli::documents::schema()).unwrap() + "\n";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/cli.json");
    if std::env::var_os("SEEDANCE_MINI_WRITE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let published = std::fs::read_to_string(&path).unwrap();
    assert!(
        published == generated,
        "schema/cli.json is not the documents' schema: run SEEDANCE_MINI_WRITE_SCHEMA=1 cargo test --all-features --test cli_contract, and read the diff"
    );
}

#[test]
fn the_schema_refuses_a_document_it_does_not_declare() {
    let mut made = doc(&run(&["--mock", "--json", "generate", "a cat"]));
    made["surprise"] = Value::Bool(true);
    assert!(!cli_schema().is_valid(&made), "closed documents: {made}");
    made.as_object_mut().unwrap().remove("surprise");
    made["task"]["status"] = Value::from(7);
    assert!(!cli_schema().is_valid(&made), "typed fields: {made}");
}

#[test]
fn every_other_command_follows_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = dir.path().join("jobs.jsonl");
    std::fs::write(&jobs, "{\"prompt\": \"fog\", \"duration\": [5, 10]}\n").unwrap();
    let out_dir = dir.path().join("out");
    let out_dir = out_dir.to_str().unwrap();
    let jobs = jobs.to_str().unwrap();
    let journal = dir.path().join("j.sqlite3");
    let journal = journal.to_str().unwrap();

    let batch = [
        "--mock",
        "--json",
        "--journal",
        journal,
        "batch",
        jobs,
        "--out-dir",
        out_dir,
    ];
    let plan = doc(&run(&[&batch[..], &["--plan"]].concat()));
    assert_eq!(plan["jobs"], 2);
    let ran = run(&batch);
    assert_eq!(ran.status.code(), Some(0), "{}", text(&ran.stderr));
    let events = lines(&ran);
    assert_eq!(events.last().unwrap()["event"], "summary");
    assert!(
        events.iter().any(|e| e["event"] == "finished"),
        "{events:?}"
    );

    let listed = doc(&run(&["--json", "--journal", journal, "tasks", "--all"]));
    assert_eq!(listed["tasks"].as_array().unwrap().len(), 2);
    let synced = doc(&run(&[
        "--mock",
        "--json",
        "--journal",
        journal,
        "tasks",
        "sync",
    ]));
    assert!(synced["synced"].is_array());

    let old = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/anyfast.yaml");
    let diffed = doc(&run(&["--json", "spec", "diff", old, old]));
    assert_eq!(diffed["exit_code"], 0);

    let first = mock_first_line(&["--json", "mock", "--addr", "127.0.0.1:0"]);
    let started: Value = serde_json::from_str(&first).unwrap();
    conforms(&started);
    assert!(started["url"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1:"));
}

#[test]
fn every_json_output_is_one_versioned_document_errors_included() {
    let dir = tempfile::tempdir().unwrap();
    let video = dir.path().join("v.mp4");
    let v = video.to_str().unwrap();

    let made = doc(&run(&["--mock", "--json", "generate", "a cat", "-o", v]));
    assert_eq!(made["task"]["status"], "completed");
    assert_eq!(made["file"]["sha256"].as_str().unwrap().len(), 64);

    let created = doc(&run(&["--mock", "--json", "generate", "a cat"]));
    assert!(
        ["created", "queued", "in_progress"].contains(&created["task"]["status"].as_str().unwrap())
    );

    let waited = doc(&run(&["--mock", "--json", "generate", "a cat", "--wait"]));
    assert_eq!(waited["task"]["status"], "completed", "a machine word");

    let listed = doc(&run(&["--mock", "--json", "list"]));
    assert!(listed["tasks"].is_array());

    let tasks = doc(&run(&["--json", "tasks"]));
    assert!(tasks["tasks"].is_array());

    // Errors: bad input, a refused connection, a clap parse error.
    let bad = run(&["--mock", "--json", "generate", "x", "--duration", "7"]);
    assert_eq!(bad.status.code(), Some(2));
    let bad = doc(&bad);
    assert_eq!(bad["exit_code"], 2);
    assert!(
        bad["error"].as_str().unwrap().contains("--duration"),
        "{bad}"
    );

    let refused = run(&[
        "--json",
        "--api-key",
        "k",
        "--base-url",
        "http://127.0.0.1:1",
        "status",
        "t",
    ]);
    assert_eq!(refused.status.code(), Some(3));
    let refused = doc(&refused);
    let message = refused["error"].as_str().unwrap().to_ascii_lowercase();
    assert!(message.contains("connection refused"), "{message}");
    assert!(message.contains("127.0.0.1:1"), "names the URL: {message}");

    let parse = run(&["--json", "generate"]);
    assert_eq!(parse.status.code(), Some(2));
    let parse = doc(&parse);
    assert!(
        parse["error"].as_str().unwrap().contains("PROMPT"),
        "{parse}"
    );

    let unknown = doc(&run(&["--json", "--provider", "nope", "list"]));
    assert_eq!(unknown["exit_code"], 2);
}

#[test]
fn logging_follows_rust_log_and_verbosity_without_colour_off_a_terminal() {
    let quiet = run(&["--mock", "generate", "a cat"]);
    assert!(
        !text(&quiet.stderr).contains("INFO"),
        "{}",
        text(&quiet.stderr)
    );

    let v = run(&["--mock", "-v", "generate", "a cat"]);
    let vv = run(&["--mock", "-vv", "generate", "a cat"]);
    let (v, vv) = (text(&v.stderr), text(&vv.stderr));
    assert!(v.contains("task created"), "{v}");
    assert!(!v.contains("DEBUG"), "-v is info: {v}");
    assert!(
        vv.contains("DEBUG") && vv.contains("response"),
        "-vv is debug: {vv}"
    );

    let env = cmd(&["--mock", "generate", "a cat"])
        .env("RUST_LOG", "seedance_mini=debug")
        .output()
        .unwrap();
    let env = text(&env.stderr);
    assert!(env.contains("DEBUG"), "{env}");
    assert!(
        !env.contains('\u{1b}'),
        "no ANSI codes when stderr is a pipe: {env:?}"
    );
}

#[test]
fn an_existing_output_is_refused_before_paying_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let video = dir.path().join("v.mp4");
    std::fs::write(&video, b"keep me").unwrap();
    let v = video.to_str().unwrap();
    let out = run(&["--mock", "generate", "a cat", "-o", v]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("already exists; pass --force"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read(&video).unwrap(), b"keep me");
    let forced = run(&["--mock", "generate", "a cat", "-o", v, "--force"]);
    assert_eq!(forced.status.code(), Some(0), "{}", text(&forced.stderr));
    assert_ne!(std::fs::read(&video).unwrap(), b"keep me");
}

#[test]
fn an_unwritable_output_directory_is_named_before_paying() {
    let dir = tempfile::tempdir().unwrap();
    let locked = dir.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    let mut perms = std::fs::metadata(&locked).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o500);
    std::fs::set_permissions(&locked, perms).unwrap();
    // Root writes anywhere; the check is only meaningful for other users.
    if std::fs::File::create(locked.join("probe")).is_ok() {
        return;
    }
    let target = locked.join("v.mp4");
    let out = run(&[
        "--mock",
        "generate",
        "a cat",
        "-o",
        target.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains(locked.to_str().unwrap()));
}

#[test]
fn mock_explains_that_it_does_not_keep_tasks_across_commands() {
    for args in [
        &["--mock", "status", "abc"][..],
        &["--mock", "wait", "abc"][..],
        &["--mock", "download", "abc", "-o", "/tmp/x.mp4"][..],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = text(&out.stderr);
        assert!(
            err.contains("seedance-mini mock") && err.contains("--base-url"),
            "{err}"
        );
    }
    let warned = run(&["--mock", "--api-key", "k", "generate", "a cat"]);
    assert!(text(&warned.stderr).contains("--mock ignores --api-key"));
}

#[test]
fn the_mock_takes_a_host_name_and_names_an_address_in_use() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = run(&["mock", "--addr", &addr]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains(&format!("cannot listen on {addr}")), "{err}");

    let first = mock_first_line(&["mock", "--addr", "localhost:0"]);
    assert!(first.starts_with("mock listening on http://"), "{first}");
}

#[test]
fn completions_man_page_and_environment_variables() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = run(&["completions", shell]);
        assert!(out.status.success(), "{shell}");
        assert!(text(&out.stdout).contains("batch"), "{shell}");
    }
    let man = run(&["man"]);
    assert!(text(&man.stdout).starts_with(".ie") || text(&man.stdout).contains(".TH"));

    let out = cmd(&["--mock", "--json", "generate", "a cat", "--duration", "16"])
        .env("SEEDANCE_MINI_PROVIDER", "anyfast")
        .output()
        .unwrap();
    let v = doc(&out);
    assert!(v["error"].as_str().unwrap().contains("anyfast"), "{v}");
}

#[test]
fn messages_name_the_flags_the_user_typed() {
    let cases: [(&[&str], &str); 3] = [
        (
            &[
                "--mock",
                "--provider",
                "anyfast",
                "generate",
                "x",
                "--camera-fixed",
            ],
            "anyfast does not support --camera-fixed",
        ),
        (
            &["--mock", "generate", "x", "--image", "/no/such.png"],
            "invalid `--image`",
        ),
        (
            &[
                "--mock",
                "--provider",
                "magnific",
                "generate",
                "x",
                "--audio",
            ],
            "(--audio)",
        ),
    ];
    for (args, expected) in cases {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            text(&out.stderr).contains(expected),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}
