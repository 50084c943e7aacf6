//! `--upstream`, `--record` and `--replay`: the mock in front of a server
//! that deviates from the documents on purpose (a wiremock server answering
//! the documents' own examples, each changed in one way), checked both ways,
//! recorded without secrets, and played back with no upstream.
#![cfg(feature = "mock")]

use seedance_mini::fixtures;
use seedance_mini::mock::{Deviation, MockServer};
use seedance_mini::Provider;
use serde_json::{json, Value};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, ResponseTemplate};

const MAGNIFIC_KEY: &str = "real-magnific-key-0001";
const BEARER: &str = "real-bearer-token-0002";

fn example(operation: &str, status: u16) -> Value {
    fixtures::examples(operation, Some(status))
        .find(|e| e.content_type == "application/json")
        .unwrap_or_else(|| panic!("{operation} {status} has an example"))
        .value()
}

/// An upstream whose answers each break the documents in one way.
async fn deviating_upstream() -> wiremock::MockServer {
    let upstream = wiremock::MockServer::start().await;
    // Magnific: `generated` (required) is missing. Only the caller's own key works.
    let mut task = example("get_seedance_2_mini_task", 200);
    task["data"].as_object_mut().unwrap().remove("generated");
    Mock::given(method("GET"))
        .and(path("/v1/ai/video/seedance-2-mini/abc"))
        .and(header("x-magnific-api-key", MAGNIFIC_KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(task))
        .mount(&upstream)
        .await;
    // Magnific: a 400 in problem+json, as the API sends it (a known document fault).
    Mock::given(method("POST"))
        .and(path("/v1/ai/video/seedance-2-mini-720p"))
        .respond_with(ResponseTemplate::new(400).set_body_raw(
            json!({"message": "Your request parameters didn't validate.", "invalid_params": [{"name": "duration", "reason": "bad"}]}).to_string(),
            "application/problem+json",
        ))
        .mount(&upstream)
        .await;
    // Magnific: a status no operation documents.
    Mock::given(method("GET"))
        .and(path("/v1/ai/video/seedance-2-mini"))
        .respond_with(ResponseTemplate::new(418).set_body_json(json!({"message": "teapot"})))
        .mount(&upstream)
        .await;
    // Powertokens: a status word the document does not list.
    let mut video = example("getVideoTask", 200);
    video["status"] = json!("processing");
    Mock::given(method("GET"))
        .and(path("/v1/videos/task_1"))
        .and(header("authorization", format!("Bearer {BEARER}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(video))
        .mount(&upstream)
        .await;
    // Anyfast: a field the document does not declare, and the key echoed back.
    let mut generation = example("getSeedanceMiniTask", 200);
    generation["surprise"] = json!(1);
    generation["echo"] = json!(format!("you sent {BEARER}"));
    Mock::given(method("GET"))
        .and(path("/v1/video/generations/cgt-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(generation))
        .mount(&upstream)
        .await;
    upstream
}

async fn send(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    auth: (&str, String),
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = http.request(method, url).header(auth.0, auth.1);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// The calls the tests make, with what each answered.
async fn calls(mock: &MockServer) -> Vec<(u16, Value)> {
    let http = seedance_mini::http_client_builder()
        .unwrap()
        .build()
        .unwrap();
    let m = ("x-magnific-api-key", MAGNIFIC_KEY.to_string());
    let b = ("authorization", format!("Bearer {BEARER}"));
    let url = |p: &str| format!("{}{p}", mock.url());
    vec![
        send(
            &http,
            reqwest::Method::GET,
            url("/v1/ai/video/seedance-2-mini/abc"),
            m.clone(),
            None,
        )
        .await,
        // An invalid request: duration 7 is not documented.
        send(
            &http,
            reqwest::Method::POST,
            url("/v1/ai/video/seedance-2-mini-720p"),
            m.clone(),
            Some(json!({"prompt": "a cat", "duration": 7})),
        )
        .await,
        send(
            &http,
            reqwest::Method::GET,
            url("/v1/ai/video/seedance-2-mini"),
            m,
            None,
        )
        .await,
        send(
            &http,
            reqwest::Method::GET,
            url("/v1/videos/task_1"),
            b.clone(),
            None,
        )
        .await,
        send(
            &http,
            reqwest::Method::GET,
            url("/v1/video/generations/cgt-1"),
            b,
            None,
        )
        .await,
    ]
}

fn find<'a>(deviations: &'a [Deviation], operation: &str, rule: &str) -> &'a Deviation {
    deviations
        .iter()
        .find(|d| d.operation == operation && d.rule == rule)
        .unwrap_or_else(|| panic!("no {rule} deviation on {operation} in {deviations:#?}"))
}

#[tokio::test]
async fn the_proxy_reports_each_deviation_with_its_pointer_and_rule() {
    let upstream = deviating_upstream().await;
    let mock = MockServer::builder()
        .upstream(Provider::Magnific, upstream.uri())
        .upstream(Provider::Powertokens, upstream.uri())
        .upstream(Provider::Anyfast, upstream.uri())
        .start()
        .await
        .unwrap();
    let answers = calls(&mock).await;
    // The upstream's answers pass through as they are (the caller's own keys
    // reached it: its matchers demand them).
    assert_eq!(
        answers.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        [200, 400, 418, 200, 200]
    );
    assert_eq!(answers[3].1["status"], "processing");

    let deviations: Vec<Deviation> = mock.engine().deviations();
    let missing = find(&deviations, "get_seedance_2_mini_task", "required");
    assert_eq!(
        (missing.direction, missing.pointer.as_str()),
        ("response", "/data/generated")
    );
    let word = find(&deviations, "getVideoTask", "enum");
    assert_eq!(word.pointer, "/status");
    assert!(word.known_fault.is_none());
    let extras: Vec<&str> = deviations
        .iter()
        .filter(|d| d.operation == "getSeedanceMiniTask" && d.rule == "undocumented_field")
        .map(|d| d.pointer.as_str())
        .collect();
    assert_eq!(extras, ["/echo", "/surprise"]);
    let status = find(
        &deviations,
        "get_seedance_2_mini_tasks",
        "undocumented_status",
    );
    assert_eq!(status.status, Some(418));
    let request = find(&deviations, "create_video_seedance_2_mini_720p", "enum");
    assert_eq!(
        (request.direction, request.pointer.as_str()),
        ("request", "/duration")
    );
    // The problem+json layout is a known fault of Magnific's document: labelled, not hidden.
    let known = find(
        &deviations,
        "create_video_seedance_2_mini_720p",
        "undocumented_field",
    );
    assert_eq!(known.status, Some(400));
    assert!(known.known_fault.unwrap().contains("FACTS.md"));
    // Documented answers raise nothing: each deviation above is one of those planted.
    assert!(deviations.iter().all(|d| d.known_fault.is_some()
        || [
            "required",
            "enum",
            "undocumented_field",
            "undocumented_status"
        ]
        .contains(&d.rule.as_str())));

    // Over HTTP, as a team would read it.
    let listed: Value = seedance_mini::http_client_builder()
        .unwrap()
        .build()
        .unwrap()
        .get(format!("{}/__mock/deviations", mock.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let first = &listed.as_array().unwrap()[0];
    for field in ["operation", "direction", "pointer", "rule", "message"] {
        assert!(first.get(field).is_some(), "{field} in {first}");
    }
}

#[tokio::test]
async fn recorded_cassettes_hold_no_secret_and_replay_without_the_upstream() {
    let upstream = deviating_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let recording = MockServer::builder()
        .upstream(Provider::Magnific, upstream.uri())
        .upstream(Provider::Powertokens, upstream.uri())
        .upstream(Provider::Anyfast, upstream.uri())
        .record(dir.path())
        .start()
        .await
        .unwrap();
    let live = calls(&recording).await;
    drop(recording);
    drop(upstream);

    let files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 5, "{files:?}");
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        assert!(
            !text.contains(MAGNIFIC_KEY) && !text.contains(BEARER),
            "a secret in {}",
            file.display()
        );
        let cassette: Value = serde_json::from_str(&text).unwrap();
        assert!(
            cassette["request"]["method"].is_string() && cassette["response"]["status"].is_u64()
        );
    }

    let replaying = MockServer::builder()
        .replay(dir.path())
        .start()
        .await
        .unwrap();
    let replayed = calls(&replaying).await;
    for (live, replayed) in live.iter().zip(&replayed) {
        assert_eq!(live.0, replayed.0);
        if live.1.get("echo").is_none() {
            assert_eq!(live.1, replayed.1);
        }
    }
    // The key echoed by the upstream was redacted in the cassette.
    assert!(replayed[4].1["echo"]
        .as_str()
        .unwrap()
        .contains("[redacted]"));
    // Replay checks the answers too.
    assert!(!replaying.engine().deviations().is_empty());

    // Unmatched: another body, another path: 501, never an invented answer.
    let http = seedance_mini::http_client_builder()
        .unwrap()
        .build()
        .unwrap();
    let (status, body) = send(
        &http,
        reqwest::Method::POST,
        format!("{}/v1/ai/video/seedance-2-mini-720p", replaying.url()),
        ("x-magnific-api-key", MAGNIFIC_KEY.into()),
        Some(json!({"prompt": "a dog"})),
    )
    .await;
    assert_eq!(status, 501);
    assert!(
        body["message"].as_str().unwrap().contains("no cassette"),
        "{body}"
    );
}

#[tokio::test]
async fn providers_without_an_upstream_are_still_played_by_the_mock() {
    let upstream = deviating_upstream().await;
    let mock = MockServer::builder()
        .upstream(Provider::Magnific, upstream.uri())
        .start()
        .await
        .unwrap();
    let task = mock
        .client(Provider::Anyfast)
        .unwrap()
        .submit(&seedance_mini::VideoRequest::new("a cat"))
        .await
        .unwrap();
    assert!(task.id.starts_with("cgt-"), "{}", task.id);
    assert!(mock.engine().deviations().is_empty());
}

#[tokio::test]
async fn a_faithful_upstream_raises_no_deviation() {
    // A second mock as the upstream: every answer it gives is documented,
    // so a whole generation through the proxy, for each provider, raises
    // nothing (and the proxy's own checks are held to the documents).
    let upstream = MockServer::builder()
        .lifecycle(seedance_mini::mock::Lifecycle::Polls {
            in_progress_after: 1,
            done_after: 2,
        })
        .start()
        .await
        .unwrap();
    let mut builder = MockServer::builder();
    for &provider in Provider::ALL {
        builder = builder.upstream(provider, upstream.url());
    }
    let proxy = builder.start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    for &provider in Provider::ALL {
        let mut request = seedance_mini::VideoRequest::new("a lighthouse at dusk");
        if provider == Provider::Powertokens {
            request =
                request.first_frame(seedance_mini::Media::url("https://example.com/first.png"));
        }
        let out = dir.path().join(format!("{provider}.mp4"));
        proxy
            .client(provider)
            .unwrap()
            .generate(
                &request,
                &out,
                &seedance_mini::WaitOptions::new(std::time::Duration::from_secs(20)).delays(
                    std::time::Duration::from_millis(20),
                    std::time::Duration::from_millis(50),
                ),
            )
            .await
            .unwrap_or_else(|e| panic!("{provider}: {e}"));
        assert!(std::fs::metadata(&out).unwrap().len() > 1000);
    }
    assert_eq!(proxy.engine().deviations(), []);
    assert!(proxy.engine().requests().len() >= 6);
}
