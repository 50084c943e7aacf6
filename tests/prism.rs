//! The downstream check: the ergonomic client, pointed at Prism serving each
//! vendored document, decodes every documented example of every status it
//! can reach (submit, get, list, download), chosen per request with Prism's
//! `Prefer: code=..., example=...` header through `RequestOptions`; and the
//! command line does the same with `--header`.
//!
//! Prism is an independent mock, so this catches what our own mock cannot:
//! a mapping that only agrees with itself. `.ci/prism-downstream` installs
//! Prism, starts one per document and runs this file with
//! `SEEDANCE_MINI_PRISM=magnific=URL,anyfast=URL,powertokens=URL`; without
//! that variable the tests say so and return.

use std::collections::BTreeSet;
use std::process::Command;

use seedance_mini::fixtures::{EXAMPLES, OPERATIONS};
use seedance_mini::{
    Client, Error, Provider, RequestOptions, Resolution, RetryPolicy, Task, TaskStatus,
    VideoRequest,
};

mod common;

fn prism_urls() -> Option<Vec<(Provider, String)>> {
    let spec = std::env::var("SEEDANCE_MINI_PRISM").ok()?;
    Some(
        spec.split(',')
            .filter_map(|pair| {
                let (name, url) = pair.split_once('=')?;
                Some((name.parse().ok()?, url.to_string()))
            })
            .collect(),
    )
}

fn client(provider: Provider, url: &str) -> Client {
    Client::builder(provider)
        .api_key("prism-key")
        .base_url(url)
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

/// The statuses (and example names) the document gives an operation.
fn documented(operation: &str) -> BTreeSet<(u16, String)> {
    EXAMPLES
        .iter()
        .filter(|e| e.operation_id == operation)
        .filter_map(|e| {
            let named = matches!(e.source, "named" | "component");
            Some((
                e.status?,
                if named {
                    e.name.to_string()
                } else {
                    String::new()
                },
            ))
        })
        .collect()
}

fn request_for(provider: Provider, resolution: Resolution) -> VideoRequest {
    let req = VideoRequest::new("a paper boat on a rainy street").resolution(resolution);
    match provider {
        Provider::Powertokens => req.first_frame("https://example.com/first.png"),
        _ => req,
    }
}

/// Calls `operation` as the client would; `Ok(())` when it decoded a success.
async fn call(c: &Client, provider: Provider, operation: &str) -> Result<(), Error> {
    let id = match provider {
        Provider::Magnific => "046b6c7f-0b8a-43b9-b35d-6489e6daee91",
        Provider::Anyfast => "cgt-20260101-abc",
        Provider::Powertokens => "task_cZ3xT9pLq2mN8vB4",
        other => panic!("no task id for {other}"),
    };
    match operation {
        "create_video_seedance_2_mini_480p" => c
            .submit(&request_for(provider, Resolution::P480))
            .await
            .map(drop),
        "create_video_seedance_2_mini_720p"
        | "createSeedanceMini"
        | "seedance20MiniImageToVideoEn" => c
            .submit(&request_for(provider, Resolution::P720))
            .await
            .map(drop),
        "get_seedance_2_mini_task" | "getSeedanceMiniTask" | "getVideoTask" => {
            c.get(id).await.map(drop)
        }
        "get_seedance_2_mini_tasks" => c.list(None).await.map(drop),
        "get_all_seedance_2_mini_480p_tasks" => c.list(Some(Resolution::P480)).await.map(drop),
        "get_all_seedance_2_mini_720p_tasks" => c.list(Some(Resolution::P720)).await.map(drop),
        "getVideoContent" => {
            let dir = tempfile::tempdir().unwrap();
            let mut task: Task = common::completed_task(provider, String::new());
            task.id = id.into();
            task.status = TaskStatus::Completed;
            c.download(&task, dir.path().join("v.mp4")).await.map(drop)
        }
        other => panic!("no call for operation {other}: add one"),
    }
}

#[tokio::test]
async fn the_client_decodes_every_documented_status_prism_serves() {
    let Some(urls) = prism_urls() else {
        eprintln!("SEEDANCE_MINI_PRISM is not set: run .ci/prism-downstream");
        return;
    };
    let mut checked = 0;
    for (provider, url) in &urls {
        for op in OPERATIONS.iter().filter(|o| o.provider == *provider) {
            for (status, example) in documented(op.operation_id) {
                let prefer = if example.is_empty() {
                    format!("code={status}")
                } else {
                    format!("code={status}, example={example}")
                };
                let options = RequestOptions::new()
                    .header_line(&format!("Prefer: {prefer}"))
                    .unwrap();
                let c = client(*provider, url).with_options(options);
                let result = call(&c, *provider, op.operation_id).await;
                let what = format!("{provider} {} {prefer}", op.operation_id);
                match (status, &result) {
                    (200..=299, Ok(())) => {}
                    (200..=299, Err(e)) => {
                        panic!("{what}: a documented success did not decode: {e:?}")
                    }
                    (_, Ok(())) => panic!("{what}: an error status decoded as a success"),
                    (_, Err(e)) => assert_eq!(e.status(), Some(status), "{what}: {e:?}"),
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 20, "only {checked} examples reached");
    eprintln!("{checked} documented statuses decoded through Prism");
}

#[test]
fn the_cli_sends_prefer_headers_to_prism() {
    let Some(urls) = prism_urls() else {
        eprintln!("SEEDANCE_MINI_PRISM is not set: run .ci/prism-downstream");
        return;
    };
    let url = &urls
        .iter()
        .find(|(p, _)| *p == Provider::Powertokens)
        .unwrap()
        .1;
    let run = |prefer: &str| {
        Command::new(env!("CARGO_BIN_EXE_seedance-mini"))
            .args([
                "--no-journal",
                "--json",
                "--provider",
                "powertokens",
                "--api-key",
                "k",
            ])
            .args(["--base-url", url, "--header", &format!("Prefer: {prefer}")])
            .args(["status", "task_cZ3xT9pLq2mN8vB4"])
            .output()
            .unwrap()
    };
    let ok = run("code=200");
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    let doc: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert!(doc["task"]["status"].is_string());
    let missing = run("code=400");
    assert_eq!(missing.status.code(), Some(3));
    let doc: serde_json::Value = serde_json::from_slice(&missing.stdout).unwrap();
    assert_eq!(doc["status"], 400, "{doc}");
}
