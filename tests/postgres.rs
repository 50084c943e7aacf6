//! The shared ledger on a real PostgreSQL: workers on "several machines"
//! (distinct `--host-id`s, their own output directories) run one batch.
//!
//! These tests need a server: `eval "$(.ci/postgres start)"` starts a
//! throwaway one and exports `SEEDANCE_MINI_TEST_POSTGRES`. Without it each
//! test says loudly that it was skipped; under `CI=true` that is a failure.
#![cfg(feature = "cli")]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::process::{count, mock, requests, summary, text, Mock, BIN};
use serde_json::Value;

/// The command line against `mock` for every provider, with its own home.
fn cli(home: &Path, mock: &Mock, args: &[&str]) -> std::process::Command {
    let mut c = std::process::Command::new(BIN);
    c.env("SEEDANCE_MINI_HOME", home)
        .env_remove("SEEDANCE_MINI_JOURNAL")
        .env_remove("SEEDANCE_MINI_HOST_ID")
        .env_remove("SEEDANCE_MINI_BASE_URL");
    for provider in ["MAGNIFIC", "ANYFAST", "POWERTOKENS"] {
        c.env(format!("{provider}_API_KEY"), "seedance-mini-mock-key")
            .env(format!("{provider}_BASE_URL"), &mock.url);
    }
    c.args(args);
    c
}

/// A fresh database on the test server, as a URL; `None` (said loudly)
/// when there is no server.
fn database(test: &str) -> Option<String> {
    let Ok(url) = std::env::var("SEEDANCE_MINI_TEST_POSTGRES") else {
        let why = format!(
            "SKIPPED {test}: no PostgreSQL. Run `eval \"$(.ci/postgres start)\"` first \
             (README, \"Several machines\")"
        );
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{why}; CI must run it");
        }
        eprintln!("\n*** {why} ***\n");
        return None;
    };
    let name = format!("t_{}_{}", test.replace('-', "_"), fastrand::u32(..));
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let (base, _) = url.rsplit_once('/').unwrap();
    Some(format!("{base}/{name}"))
}

/// Rows of the ledger at `url`, as `tasks --json` reads them: the current
/// one of each job, or with `all` every row (a replaced claim's too).
fn ledger(url: &str, home: &Path, mock: &Mock, all: bool) -> Vec<Value> {
    let mut args = vec!["--json", "--journal", url, "tasks"];
    if all {
        args.push("--all");
    }
    let out = cli(home, mock, &args).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["tasks"].as_array().unwrap().clone()
}

/// `n` jobs over the three providers.
fn jobs(n: usize) -> String {
    let providers = ["magnific", "anyfast", "powertokens"];
    (0..n)
        .map(|i| {
            let image = match providers[i % 3] {
                // Image-to-video only.
                "powertokens" => ", \"image\": \"https://example.com/still.png\"",
                _ => "",
            };
            format!(
                "{{\"prompt\": \"shot {i}\", \"provider\": \"{}\"{image}}}\n",
                providers[i % 3]
            )
        })
        .collect()
}

struct Worker {
    host: String,
    out: PathBuf,
    home: PathBuf,
}

impl Worker {
    fn new(dir: &Path, n: usize) -> Self {
        let host = format!("machine-{n}");
        Worker {
            out: dir.join(&host).join("out"),
            home: dir.join(&host).join("home"),
            host,
        }
    }

    fn spawn(&self, mock: &Mock, url: &str, file: &Path, extra: &[&str]) -> Child {
        self.spawn_with(mock, url, file, extra, &[])
    }

    fn spawn_with(
        &self,
        mock: &Mock,
        url: &str,
        file: &Path,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Child {
        cli(&self.home, mock, &["--json", "--journal", url, "batch"])
            .envs(env.iter().copied())
            .env_remove("SEEDANCE_MINI_JOURNAL")
            .args(["--host-id", &self.host])
            .arg(file)
            .arg("--out-dir")
            .arg(&self.out)
            .args(["--concurrency", "4", "--poll-interval", "0.05"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }
}

/// Creates the mock answered with a task.
fn answered_creates(mock: &Mock) -> usize {
    requests(mock)
        .iter()
        .filter(|r| {
            r["method"] == "POST"
                && !r["path"].as_str().unwrap_or("").starts_with("/__mock")
                && r["status"]
                    .as_u64()
                    .is_some_and(|s| (200..300).contains(&s))
        })
        .count()
}

#[test]
fn three_workers_killed_at_random_create_each_job_once_across_machines() {
    const JOBS: usize = 60;
    let Some(_) = database("probe") else {
        return;
    };
    let rounds: usize = std::env::var("SEEDANCE_MINI_PG_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let seed = std::env::var("SEEDANCE_MINI_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    println!("seed {seed} (set SEEDANCE_MINI_KILL_SEED to replay)");
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut totals = (0, 0, 0, 0);
    for round in 0..rounds {
        let url = database("three_workers").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("jobs.jsonl");
        std::fs::write(&file, jobs(JOBS)).unwrap();
        let mock = mock(&[
            "--lifecycle-ms",
            "50",
            "300..900",
            "--journal-size",
            "100000",
        ]);
        let workers: Vec<Worker> = (0..3).map(|n| Worker::new(dir.path(), n)).collect();
        let mut running: Vec<Child> = workers
            .iter()
            .map(|w| w.spawn(&mock, &url, &file, &[]))
            .collect();
        let mut kills = 0;
        let deadline = Instant::now() + Duration::from_secs(60);
        while kills < 4 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(rng.u64(100..600)));
            let victim = rng.usize(..3);
            let _ = running[victim].kill();
            let _ = running[victim].wait();
            kills += 1;
            running[victim] = workers[victim].spawn(&mock, &url, &file, &[]);
        }
        for worker in running {
            let done = worker.wait_with_output().unwrap();
            assert!(
                matches!(done.status.code(), Some(0 | 5)),
                "seed {seed} round {round}: {:?}",
                done.status
            );
        }
        // One last pass by each settles what is left.
        let mut last = Value::Null;
        for w in &workers {
            let out = w.spawn(&mock, &url, &file, &[]).wait_with_output().unwrap();
            last = summary(&out.stdout);
        }
        let rows = ledger(&url, &workers[0].home, &mock, true);
        let current = ledger(&url, &workers[0].home, &mock, false);
        let done: Vec<&Value> = current.iter().filter(|r| r["state"] == "done").collect();
        // A create whose process died inside it stays `submitting`: in doubt.
        let in_doubt = current
            .iter()
            .filter(|r| r["state"] == "in_doubt" || r["state"] == "submitting")
            .count();
        assert_eq!(
            done.len() + in_doubt,
            JOBS,
            "seed {seed} round {round}: every job done or in doubt: {last}"
        );
        // Every file exists somewhere whole: on the host the ledger names.
        for row in &done {
            let path = PathBuf::from(row["output"].as_str().unwrap());
            let host = row["host"].as_str().unwrap();
            assert!(
                path.starts_with(dir.path().join(host)),
                "seed {seed} round {round}: {row} is on {host}"
            );
            let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            assert_eq!(
                Some(bytes),
                row["file_bytes"].as_u64(),
                "seed {seed} round {round}: {} whole",
                path.display()
            );
        }
        // The ledger agrees with the mock: each answered create is a task
        // the ledger holds, or a create in doubt (a kill landed in it).
        let tasks: std::collections::HashSet<&str> =
            rows.iter().filter_map(|r| r["id"].as_str()).collect();
        let answered = answered_creates(&mock);
        assert!(
            answered >= tasks.len() && answered <= tasks.len() + in_doubt,
            "seed {seed} round {round}: {answered} creates answered, {} task ids, {in_doubt} in doubt",
            tasks.len()
        );
        assert_eq!(tasks.len(), done.len(), "one task per done job");
        let hosts: std::collections::HashSet<&str> =
            done.iter().filter_map(|r| r["host"].as_str()).collect();
        println!(
            "round {round}: {kills} kills, {answered} creates for {JOBS} jobs: {} done on {} hosts, {in_doubt} in doubt",
            done.len(),
            hosts.len()
        );
        totals.0 += kills;
        totals.1 += answered;
        totals.2 += done.len();
        totals.3 += in_doubt;
    }
    println!(
        "{rounds} rounds: {} kills, {} creates, {} done, {} in doubt, {} jobs",
        totals.0,
        totals.1,
        totals.2,
        totals.3,
        rounds * JOBS
    );
}

#[test]
fn a_stalled_worker_loses_its_lease_its_waiting_jobs_go_on_and_its_sent_ones_are_in_doubt() {
    const JOBS: usize = 12;
    let Some(url) = database("lease") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jobs.jsonl");
    std::fs::write(
        &file,
        (0..JOBS)
            .map(|i| format!("{{\"prompt\": \"frame {i}\", \"provider\": \"anyfast\"}}\n"))
            .collect::<String>(),
    )
    .unwrap();
    // Creates take 1.5 s, so the stall lands inside some.
    let mock = mock(&[
        "--lifecycle-ms",
        "50",
        "100",
        "--fault",
        "createSeedanceMini:latency=1500",
    ]);
    let (a, b) = (Worker::new(dir.path(), 0), Worker::new(dir.path(), 1));
    // A: a 3 s lease, renewed each second while it runs; two creates a
    // second, four in flight.
    let lease = [("SEEDANCE_MINI_LEASE_SECS", "3")];
    let stalled = a.spawn_with(&mock, &url, &file, &["--pace", "2/1"], &lease);
    let deadline = Instant::now() + Duration::from_secs(20);
    while count(&mock, "POST", "/v1/video") < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = stalled.id().to_string();
    std::process::Command::new("kill")
        .args(["-STOP", &pid])
        .status()
        .unwrap();
    let sent_by_a = count(&mock, "POST", "/v1/video");
    // Stopped, it renews nothing: its 3 s lease runs out.
    std::thread::sleep(Duration::from_secs(5));
    let mut b_run = b.spawn(&mock, &url, &file, &[]);
    let b_out = {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(_status) = b_run.try_wait().unwrap() {
                break b_run.wait_with_output().unwrap();
            }
            assert!(Instant::now() < deadline, "B did not finish");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let b_summary = summary(&b_out.stdout);
    std::process::Command::new("kill")
        .args(["-CONT", &pid])
        .status()
        .unwrap();
    let a_out = stalled.wait_with_output().unwrap();
    let _ = a_out;
    let current = ledger(&url, &b.home, &mock, false);
    let in_doubt = current.iter().filter(|r| r["state"] == "in_doubt").count();
    let creates = count(&mock, "POST", "/v1/video");
    println!("A sent {sent_by_a} before it stalled; B: {b_summary}; {creates} creates; {in_doubt} in doubt");
    // A's unsent claims were B's to take: every job was created once, and
    // the ones A had in flight when it stopped were not sent again.
    assert_eq!(creates, JOBS, "one create per job: {b_summary}");
    assert!(
        b_summary["done"].as_u64().unwrap() >= (JOBS - sent_by_a) as u64,
        "B did A's unsent jobs: {b_summary}"
    );
    assert!(
        b_summary["in_doubt"].as_u64().unwrap() <= sent_by_a as u64,
        "B reported only A's sent creates in doubt: {b_summary}"
    );
}

#[test]
fn two_workers_migrating_at_once_leave_one_schema() {
    let Some(url) = database("migrate") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mock = mock(&[]);
    let children: Vec<Child> = (0..4)
        .map(|n| {
            cli(
                &dir.path().join(format!("h{n}")),
                &mock,
                &["--json", "--journal", &url, "tasks"],
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let versions: Vec<i64> = c
        .query("SELECT version FROM seedance_mini_schema", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(versions.len(), 1, "one version row: {versions:?}");
    let tables: i64 = c
        .query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_name IN ('jobs', 'events')",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(tables, 2);
}

#[test]
fn a_bad_url_wrong_credentials_or_no_server_is_refused_before_anything_is_paid() {
    let Some(url) = database("bad_input") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jobs.jsonl");
    std::fs::write(&file, jobs(3)).unwrap();
    let mock = mock(&[]);
    let (user, rest) = url
        .trim_start_matches("postgres://")
        .split_once(':')
        .unwrap();
    let (password, host_db) = rest.split_once('@').unwrap();
    let wrong_password = format!("postgres://{user}:not-{password}@{host_db}");
    let no_server = format!("postgres://{user}:{password}@127.0.0.1:1/ledger");
    let not_a_url = format!("postgres://{user}:{password}@[nowhere/ledger");
    for bad in [&wrong_password, &no_server, &not_a_url] {
        let out = cli(dir.path(), &mock, &["--journal", bad, "batch"])
            .arg(&file)
            .arg("--out-dir")
            .arg(dir.path().join("out"))
            .output()
            .unwrap();
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(6), "local state: {err}");
        assert!(!err.contains(password), "no password in: {err}");
        assert!(
            err.contains(&format!("postgres://{user}@")),
            "names the URL: {err}"
        );
        assert_eq!(
            err.lines().filter(|l| l.starts_with("error")).count(),
            1,
            "{err}"
        );
    }
    assert_eq!(count(&mock, "POST", "/"), 0, "nothing was paid");
}

#[test]
fn sslmode_require_is_verified_against_the_platforms_roots() {
    let Some(url) = database("tls") else {
        return;
    };
    let Ok(ca) = std::env::var("SEEDANCE_MINI_TEST_POSTGRES_CA") else {
        eprintln!("\n*** SKIPPED sslmode_require...: the server offers no TLS (no openssl when .ci/postgres started it) ***\n");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mock = mock(&[]);
    let url = format!("{url}?sslmode=require");
    let tasks = |trust: Option<&str>| {
        let mut c = cli(dir.path(), &mock, &["--journal", &url, "tasks"]);
        if let Some(ca) = trust {
            // rustls-platform-verifier reads the system roots, which this
            // variable replaces on Linux.
            c.env("SSL_CERT_FILE", ca);
        }
        c.output().unwrap()
    };
    let untrusted = tasks(None);
    let err = text(&untrusted.stderr);
    assert_eq!(untrusted.status.code(), Some(6), "{err}");
    assert!(
        err.contains("UnknownIssuer"),
        "the certificate is checked: {err}"
    );
    let trusted = tasks(Some(&ca));
    assert!(trusted.status.success(), "{}", text(&trusted.stderr));
}
