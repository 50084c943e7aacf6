//! A key goes only to its own provider. Three mocks, each accepting one
//! provider's key alone, serve one batch that spans the three providers:
//! every key reaches its own mock and no other, whether it came from
//! `--api-key`, from `<NAME>_API_KEY`, or from the credentials file. A run
//! that would need a key or an endpoint it was not given pays for nothing.
#![cfg(feature = "cli")]

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use seedance_mini::mock::{Lifecycle, MockServer};
use seedance_mini::Provider;

const BIN: &str = env!("CARGO_BIN_EXE_seedance-mini");

const KEYS: [(Provider, &str); 3] = [
    (Provider::Magnific, "MAGNIFIC-SECRET-ONLY"),
    (Provider::Anyfast, "ANYFAST-SECRET-ONLY"),
    (Provider::Powertokens, "POWERTOKENS-SECRET-ONLY"),
];

/// One line per provider.
const MIXED: &str = r#"{"prompt": "a red kite", "provider": "magnific"}
{"prompt": "a blue kite", "provider": "anyfast"}
{"prompt": "a green kite", "provider": "powertokens", "image": "https://example.com/kite.png"}
"#;

/// A mock that accepts `key` alone; its tasks finish at once.
async fn mock_for(key: &str) -> MockServer {
    MockServer::builder()
        .api_key(key)
        .lifecycle(Lifecycle::Clock {
            in_progress_after: Duration::ZERO,
            done_after: Duration::from_millis(50),
        })
        .start()
        .await
        .unwrap()
}

/// One mock per provider, each accepting that provider's key alone.
async fn three_mocks() -> [MockServer; 3] {
    [
        mock_for(KEYS[0].1).await,
        mock_for(KEYS[1].1).await,
        mock_for(KEYS[2].1).await,
    ]
}

/// A directory holding the mixed batch file.
fn mixed_batch() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mixed.jsonl");
    std::fs::write(&file, MIXED).unwrap();
    (dir, file)
}

/// The command line with no key or endpoint from the test's environment.
fn cli(home: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.env("SEEDANCE_MINI_HOME", home)
        .env_remove("SEEDANCE_MINI_BASE_URL")
        .env_remove("SEEDANCE_MINI_CREDENTIALS")
        .env_remove("SEEDANCE_MINI_PROVIDER");
    for (provider, _) in KEYS {
        let name = provider.name().to_ascii_uppercase();
        c.env_remove(format!("{name}_API_KEY"))
            .env_remove(format!("{name}_BASE_URL"));
    }
    c
}

async fn output(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Every request each mock saw was its own provider's, none was refused for
/// its key, and each made exactly one task.
fn assert_each_key_stayed_home(mocks: &[MockServer]) {
    for ((provider, _), mock) in KEYS.iter().zip(mocks) {
        let seen = mock.engine().requests();
        // The API calls, not the result URLs (which carry no key).
        let api: Vec<_> = seen
            .iter()
            .filter(|r| !r.path.starts_with("/__mock/"))
            .collect();
        assert!(!api.is_empty(), "{provider}'s mock saw no call");
        for r in &api {
            assert_ne!(r.status, 401, "{provider}'s mock refused a key: {r:?}");
            assert!(
                owns(*provider, &r.path),
                "{provider}'s mock was sent {} {}",
                r.method,
                r.path
            );
        }
        assert_eq!(mock.engine().task_count(), 1, "{provider}: {api:?}");
    }
}

/// Whether `path` is one of `provider`'s API paths.
fn owns(provider: Provider, path: &str) -> bool {
    match provider {
        Provider::Magnific => path.starts_with("/v1/ai/"),
        Provider::Anyfast => path.starts_with("/v1/video/generations"),
        Provider::Powertokens => path.starts_with("/v1/videos"),
        other => panic!("no paths known for {other}"),
    }
}

fn write_private(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_across_three_providers_sends_each_key_only_to_its_own_provider() {
    let mocks = three_mocks().await;
    let (dir, file) = mixed_batch();
    // Magnific from the flags, Anyfast from its variables, Powertokens from
    // the credentials file.
    let credentials = dir.path().join("credentials.toml");
    write_private(
        &credentials,
        &format!(
            "[powertokens]\napi_key = \"{}\"\nbase_url = \"{}\"\n",
            KEYS[2].1,
            mocks[2].url()
        ),
    );
    let mut command = cli(dir.path());
    command
        .env("ANYFAST_API_KEY", KEYS[1].1)
        .env("ANYFAST_BASE_URL", mocks[1].url())
        .arg("--credentials")
        .arg(&credentials)
        .args(["--provider", "magnific", "--base-url", mocks[0].url()])
        .args(["--api-key", KEYS[0].1, "batch"])
        .arg(&file)
        .arg("--out-dir")
        .arg(dir.path().join("out"))
        .args(["--poll-interval", "0.05"]);
    let out = output(command).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_each_key_stayed_home(&mocks);
    // No key was written anywhere the run keeps (the journal and its WAL).
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if !path.to_string_lossy().contains("journal.sqlite3") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        for (_, key) in KEYS {
            let found = bytes.windows(key.len()).any(|w| w == key.as_bytes());
            assert!(!found, "{key} is in {}", path.display());
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_credentials_file_alone_serves_all_three() {
    let mocks = three_mocks().await;
    let (dir, file) = mixed_batch();
    let profiles: String = KEYS
        .iter()
        .zip(&mocks)
        .map(|((p, key), m)| format!("[{p}]\napi_key = \"{key}\"\nbase_url = \"{}\"\n", m.url()))
        .collect();
    // The default place: $SEEDANCE_MINI_HOME/credentials.toml.
    write_private(&dir.path().join("credentials.toml"), &profiles);
    let mut command = cli(dir.path());
    command
        .arg("batch")
        .arg(&file)
        .arg("--out-dir")
        .arg(dir.path().join("out"))
        .args(["--poll-interval", "0.05"]);
    let out = output(command).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_each_key_stayed_home(&mocks);
}

#[tokio::test(flavor = "multi_thread")]
async fn api_key_is_not_lent_to_another_provider_and_nothing_is_paid() {
    // The reproduction: one mock that takes the Magnific key, and a batch
    // with a line for another provider that has no key of its own.
    let mock = mock_for(KEYS[0].1).await;
    let (dir, file) = mixed_batch();
    let mut command = cli(dir.path());
    command
        .args(["--base-url", mock.url(), "--api-key", KEYS[0].1, "batch"])
        .arg(&file)
        .arg("--out-dir")
        .arg(dir.path().join("out"));
    let out = output(command).await;
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("applies only to --provider magnific; for anyfast, set ANYFAST_API_KEY"),
        "{err}"
    );
    assert!(err.contains("line 2 is for anyfast"), "{err}");
    assert_eq!(mock.engine().task_count(), 0, "nothing is paid for");

    // With Anyfast's key but no endpoint of its own, --base-url is not
    // guessed for it either way.
    let mut command = cli(dir.path());
    command
        .env("ANYFAST_API_KEY", KEYS[1].1)
        .env("POWERTOKENS_API_KEY", KEYS[2].1)
        .args(["--base-url", mock.url(), "--api-key", KEYS[0].1, "batch"])
        .arg(&file)
        .arg("--out-dir")
        .arg(dir.path().join("out"));
    let out = output(command).await;
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("invalid `--base-url`: applies only to --provider magnific; for anyfast, set ANYFAST_BASE_URL"),
        "{err}"
    );
    assert_eq!(mock.engine().task_count(), 0, "nothing is paid for");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_credentials_file_others_can_read_is_refused_without_showing_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let credentials = dir.path().join("credentials.toml");
    write_private(&credentials, "[magnific]\napi_key = \"SECRET-IN-FILE\"\n");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&credentials, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut command = cli(dir.path());
        command.args(["status", "some-task"]);
        let out = output(command).await;
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("others can read it (mode 0644)"), "{err}");
        assert!(err.contains("chmod 600"), "{err}");
        assert!(!err.contains("SECRET-IN-FILE"), "{err}");
    }
    // A malformed file names the line and the rule, not its text.
    write_private(
        &credentials,
        "[magnific]\napi_key = \"SECRET-IN-FILE\nbase_url = 3\n",
    );
    let mut command = cli(dir.path());
    command.args(["status", "some-task"]);
    let out = output(command).await;
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("credentials.toml: line 2"), "{err}");
    assert!(!err.contains("SECRET-IN-FILE"), "{err}");
    // An unknown profile is named.
    write_private(&credentials, "[magnifc]\napi_key = \"x\"\n");
    let mut command = cli(dir.path());
    command.args(["status", "some-task"]);
    let out = output(command).await;
    let err = text(&out.stderr);
    assert!(err.contains("[magnifc] is not a provider"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_that_names_its_key_and_endpoint_does_not_read_the_credentials_file() {
    let dir = tempfile::tempdir().unwrap();
    // Unreadable as TOML and open to all: refused only when it is needed.
    std::fs::write(dir.path().join("credentials.toml"), "not toml [").unwrap();
    let mut command = cli(dir.path());
    command.args([
        "--base-url",
        "http://127.0.0.1:9",
        "--api-key",
        "k",
        "status",
        "t",
    ]);
    let out = output(command).await;
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("nothing is listening"), "{err}");
}
