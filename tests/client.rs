//! The ergonomic client against wiremock servers that answer with the
//! documents' own examples (from the fixture table): every operation of every
//! provider, error mapping with raw bodies, and the retry rules.

use std::time::{Duration, Instant};

mod common;

use seedance_mini::fixtures::{Example, EXAMPLES};
use seedance_mini::{Client, Error, Provider, Resolution, RetryPolicy, TaskStatus, VideoRequest};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "client-test-key";

fn example(op: &str, status: u16, name: &str) -> &'static Example {
    EXAMPLES
        .iter()
        .find(|e| e.operation_id == op && e.status == Some(status) && e.name.contains(name))
        .unwrap_or_else(|| panic!("no example {op} {status} {name}"))
}

fn answer(e: &Example) -> ResponseTemplate {
    ResponseTemplate::new(e.status.unwrap()).set_body_raw(e.json, e.content_type)
}

fn client(provider: Provider, server: &MockServer) -> Client {
    Client::builder(provider)
        .api_key(KEY)
        .base_url(server.uri())
        .retry(RetryPolicy::new(
            3,
            Duration::from_millis(10),
            Duration::from_secs(5),
        ))
        .build()
        .unwrap()
}

#[tokio::test]
async fn magnific_submit_picks_the_endpoint_by_resolution_and_get_and_list_decode() {
    let server = MockServer::start().await;
    let created = example("create_video_seedance_2_mini_480p", 200, "created");
    Mock::given(method("POST"))
        .and(path("/v1/ai/video/seedance-2-mini-480p"))
        .respond_with(answer(created))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/ai/video/seedance-2-mini-720p"))
        .respond_with(answer(created))
        .expect(1)
        .mount(&server)
        .await;
    let id = "046b6c7f-0b8a-43b9-b35d-6489e6daee91";
    let completed = example("get_seedance_2_mini_task", 200, "completed");
    Mock::given(method("GET"))
        .and(path(format!("/v1/ai/video/seedance-2-mini/{id}")))
        .respond_with(answer(completed))
        .mount(&server)
        .await;
    let listed = example("get_seedance_2_mini_tasks", 200, "schema");
    Mock::given(method("GET"))
        .and(path("/v1/ai/video/seedance-2-mini-480p"))
        .respond_with(answer(listed))
        .expect(1)
        .mount(&server)
        .await;

    let c = client(Provider::Magnific, &server);
    let task = c
        .submit(&VideoRequest::new("a cat").resolution(Resolution::P480))
        .await
        .unwrap();
    assert_eq!((task.id.as_str(), &task.status), (id, &TaskStatus::Created));
    c.submit(&VideoRequest::new("a cat")).await.unwrap();
    let done = c.get(id).await.unwrap();
    assert_eq!(done.status, TaskStatus::Completed);
    assert_eq!(
        done.video_urls,
        ["https://ai-statics.freepik.com/completed_task_image.jpg"]
    );
    let tasks = c.list(Some(Resolution::P480)).await.unwrap();
    assert_eq!(tasks.len(), 2);
    assert!(tasks
        .iter()
        .all(|t| t.status == TaskStatus::Created && t.provider == Provider::Magnific));
    let sent = server.received_requests().await.unwrap();
    assert!(sent
        .iter()
        .all(|r| r.headers.get("x-magnific-api-key").unwrap() == KEY));
}

#[tokio::test]
async fn anyfast_submit_and_get_decode_the_spec_examples() {
    let server = MockServer::start().await;
    let created = example("createSeedanceMini", 200, "composed");
    Mock::given(method("POST"))
        .and(path("/v1/video/generations"))
        .respond_with(answer(created))
        .mount(&server)
        .await;
    let done = example("getSeedanceMiniTask", 200, "succeeded");
    Mock::given(method("GET"))
        .and(path("/v1/video/generations/cgt-20260312231129-7db6s"))
        .respond_with(answer(done))
        .mount(&server)
        .await;

    let c = client(Provider::Anyfast, &server);
    let task = c
        .submit(&VideoRequest::new("a cat").duration(8))
        .await
        .unwrap();
    assert_eq!(
        (task.id.as_str(), &task.status),
        ("cgt-20260312231129-7db6s", &TaskStatus::Created)
    );
    let done = c.get(&task.id).await.unwrap();
    assert_eq!(done.status, TaskStatus::Completed);
    assert_eq!(done.progress, Some(100));
    assert_eq!(
        done.video_urls,
        ["https://cdn.anyfast.ai/video/cgt-20260312231129-7db6s.mp4"]
    );
    let failed = example("getSeedanceMiniTask", 200, "failed");
    server.reset().await;
    Mock::given(method("GET"))
        .respond_with(answer(failed))
        .mount(&server)
        .await;
    let task = c.get("asyntask_01JX8Q2M3N4P5R6S7T8V9W0XYZ").await.unwrap();
    assert_eq!(task.status, TaskStatus::Failed);
    assert!(task.error.unwrap().contains("content safety"));
    let sent = server.received_requests().await.unwrap();
    assert_eq!(
        sent[0].headers.get("authorization").unwrap(),
        &format!("Bearer {KEY}")
    );
}

#[tokio::test]
async fn powertokens_submit_get_and_task_not_exist() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/videos"))
        .respond_with(answer(example(
            "seedance20MiniImageToVideoEn",
            200,
            "queued",
        )))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/videos/task_cZ3xT9pLq2mN8vB4"))
        .respond_with(answer(example("getVideoTask", 200, "completed")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/videos/nope"))
        .respond_with(answer(example("getVideoTask", 400, "task_not_exist")))
        .mount(&server)
        .await;

    let c = client(Provider::Powertokens, &server);
    let req =
        VideoRequest::new("the girl smiles").first_frame("https://example.com/first-frame.jpg");
    let task = c.submit(&req).await.unwrap();
    assert_eq!(task.status, TaskStatus::Queued);
    let done = c.get(&task.id).await.unwrap();
    assert_eq!(done.status, TaskStatus::Completed);
    assert_eq!(
        done.video_urls,
        ["https://api.powertokens.ai/v1/videos/task_cZ3xT9pLq2mN8vB4/content"]
    );
    match c.get("nope").await.unwrap_err() {
        Error::Api {
            status: 400,
            message,
            body,
            ..
        } => {
            assert_eq!(message, "task_not_exist");
            assert!(body.contains("\"data\":null"), "raw body kept: {body}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn magnific_problem_json_keeps_invalid_params_from_the_raw_body() {
    let server = MockServer::start().await;
    let problem = EXAMPLES
        .iter()
        .find(|e| {
            e.operation_id == "create_video_seedance_2_mini_720p"
                && e.content_type == "application/problem+json"
        })
        .unwrap();
    Mock::given(method("POST"))
        .respond_with(answer(problem))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(Provider::Magnific, &server)
        .submit(&VideoRequest::new("x"))
        .await
        .unwrap_err();
    match &err {
        Error::Api {
            status: 400,
            message,
            invalid_params,
            ..
        } => {
            assert_eq!(message, "Your request parameters didn't validate.");
            let names: Vec<_> = invalid_params.iter().map(|p| p.name.as_str()).collect();
            assert_eq!(names, ["page", "per_page"]);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string()
            .contains("page: Parameter 'page' must be greater than 0"),
        "{err}"
    );
}

#[tokio::test]
async fn a_401_is_unauthorized_with_the_servers_message_and_never_the_key() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(answer(example(
            "get_seedance_2_mini_task",
            401,
            "invalid_api_key",
        )))
        .mount(&server)
        .await;
    let err = client(Provider::Magnific, &server)
        .get("x")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Unauthorized { message, .. } if message == "Invalid API key"),
        "{err:?}"
    );
    assert!(!err.to_string().contains(KEY) && !format!("{err:?}").contains(KEY));
}

#[tokio::test]
async fn a_get_retries_a_503_then_succeeds() {
    let server = MockServer::start().await;
    let unavailable = example("get_all_seedance_2_mini_480p_tasks", 503, "schema");
    Mock::given(method("GET"))
        .respond_with(answer(unavailable))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(answer(example(
            "get_seedance_2_mini_task",
            200,
            "in progress",
        )))
        .mount(&server)
        .await;
    let task = client(Provider::Magnific, &server)
        .get("046b6c7f-0b8a-43b9-b35d-6489e6daee91")
        .await
        .unwrap();
    assert_eq!(task.status, TaskStatus::InProgress);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_429_retry_after_is_waited_out() {
    let server = MockServer::start().await;
    let limited = ResponseTemplate::new(429)
        .insert_header("retry-after", "1")
        .set_body_json(serde_json::json!({"message": "Too many requests"}));
    Mock::given(method("GET"))
        .respond_with(limited)
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(answer(example(
            "get_seedance_2_mini_task",
            200,
            "completed",
        )))
        .mount(&server)
        .await;
    let started = Instant::now();
    client(Provider::Magnific, &server)
        .get("046b6c7f-0b8a-43b9-b35d-6489e6daee91")
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After ignored: {:?}",
        started.elapsed()
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_create_that_times_out_is_not_resent() {
    let server = MockServer::start().await;
    let slow = answer(example("create_video_seedance_2_mini_720p", 200, "created"))
        .set_delay(Duration::from_secs(2));
    Mock::given(method("POST"))
        .respond_with(slow)
        .mount(&server)
        .await;
    let c = Client::builder(Provider::Magnific)
        .api_key(KEY)
        .base_url(server.uri())
        .request_timeout(Duration::from_millis(200))
        .retry(RetryPolicy::new(
            5,
            Duration::from_millis(1),
            Duration::from_secs(1),
        ))
        .build()
        .unwrap();
    let err = c.submit(&VideoRequest::new("a cat")).await.unwrap_err();
    assert!(
        matches!(&err, Error::Transport(e) if e.is_timeout()),
        "{err:?}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "a paid create was sent twice"
    );
}

#[tokio::test]
async fn a_create_answered_503_is_not_resent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(answer(example(
            "create_video_seedance_2_mini_720p",
            503,
            "schema",
        )))
        .mount(&server)
        .await;
    let err = client(Provider::Magnific, &server)
        .submit(&VideoRequest::new("a cat"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_create_whose_connection_is_refused_is_retried() {
    // Bind and drop a listener to get a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = Client::builder(Provider::Magnific)
        .api_key(KEY)
        .base_url(format!("http://127.0.0.1:{port}"))
        .retry(RetryPolicy::new(
            3,
            Duration::from_millis(100),
            Duration::from_secs(1),
        ))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = c.submit(&VideoRequest::new("a cat")).await.unwrap_err();
    assert!(
        matches!(&err, Error::Transport(e) if e.is_connect()),
        "{err:?}"
    );
    // Two retries with at least 50 ms and 100 ms of backoff before them.
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_undocumented_status_is_kept_as_unknown_not_an_error() {
    let server = MockServer::start().await;
    let body = serde_json::json!({"data": {"task_id": "046b6c7f-0b8a-43b9-b35d-6489e6daee91", "status": "PAUSED", "generated": []}});
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&server)
        .await;
    let task = client(Provider::Magnific, &server)
        .get("046b6c7f-0b8a-43b9-b35d-6489e6daee91")
        .await
        .unwrap();
    assert_eq!(task.status, TaskStatus::Unknown("PAUSED".into()));
    assert!(matches!(task.raw, seedance_mini::RawTask::Json(_)));
}

#[tokio::test]
async fn powertokens_downloads_from_its_content_endpoint_with_auth() {
    let server = MockServer::start().await;
    let video = b"\x00\x00\x00\x18ftypmp42-pretend-video".to_vec();
    Mock::given(method("GET"))
        .and(path("/v1/videos/task_cZ3xT9pLq2mN8vB4"))
        .respond_with(answer(example("getVideoTask", 200, "completed")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/videos/task_cZ3xT9pLq2mN8vB4/content"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(video.clone(), "video/mp4"))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(Provider::Powertokens, &server);
    let task = c.get("task_cZ3xT9pLq2mN8vB4").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let report: seedance_mini::download::DownloadProgress =
        std::sync::Arc::new(move |got: u64, total: Option<u64>| {
            log.lock().unwrap().push((got, total))
        });
    let file = c
        .download_with(&task, dir.path().join("v.mp4"), Some(report))
        .await
        .unwrap();
    assert_eq!(std::fs::read(&file.path).unwrap(), video);
    assert_eq!(
        seen.lock().unwrap().last(),
        Some(&(video.len() as u64, Some(video.len() as u64)))
    );
    let content = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.url.path().ends_with("/content"))
        .unwrap();
    assert_eq!(
        content.headers.get("authorization").unwrap(),
        &format!("Bearer {KEY}")
    );
}

#[tokio::test]
async fn a_download_of_an_unfinished_task_is_refused_before_any_request() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(answer(example(
            "get_seedance_2_mini_task",
            200,
            "in progress",
        )))
        .mount(&server)
        .await;
    let c = client(Provider::Magnific, &server);
    let task = c.get("046b6c7f-0b8a-43b9-b35d-6489e6daee91").await.unwrap();
    let err = c.download(&task, "/tmp/never.mp4").await.unwrap_err();
    assert!(
        err.to_string().contains("is in progress, not completed"),
        "{err}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn magnific_lists_all_and_720p_tasks_from_the_spec_examples() {
    let server = MockServer::start().await;
    let listed = example("get_seedance_2_mini_tasks", 200, "schema");
    Mock::given(method("GET"))
        .and(path("/v1/ai/video/seedance-2-mini"))
        .respond_with(answer(listed))
        .expect(1)
        .mount(&server)
        .await;
    let listed = example("get_all_seedance_2_mini_720p_tasks", 200, "schema");
    Mock::given(method("GET"))
        .and(path("/v1/ai/video/seedance-2-mini-720p"))
        .respond_with(answer(listed))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(Provider::Magnific, &server);
    assert_eq!(c.list(None).await.unwrap().len(), 2);
    assert_eq!(c.list(Some(Resolution::P720)).await.unwrap().len(), 2);
    let err = client(Provider::Anyfast, &server)
        .list(None)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "anyfast does not support listing tasks");
    server.verify().await;
}

/// Sends headers promising `len` bytes, then `first` bytes, then stalls.
async fn stalling_server(len: u64, first: usize) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: {len}\r\n\r\n"
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(&vec![0u8; first]).await;
                tokio::time::sleep(Duration::from_secs(30)).await;
            });
        }
    });
    format!("http://{addr}/v.mp4")
}

#[tokio::test]
async fn a_stalled_download_hits_the_read_idle_timeout_and_leaves_no_file() {
    let url = stalling_server(1_000_000, 1000).await;
    let c = Client::builder(Provider::Anyfast)
        .api_key(KEY)
        .read_idle_timeout(Duration::from_millis(300))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let task = common::completed_task(Provider::Anyfast, url);
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let err = c
        .download(&task, dir.path().join("v.mp4"))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(&err, Error::Transport(e) if e.is_timeout() || e.is_body() || e.is_decode()),
        "{err:?}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// Answers any request with `chunks` 1 KiB chunks, one every `every`.
async fn trickling_server(chunks: usize, every: Duration) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: {}\r\n\r\n",
                    chunks * 1024
                );
                let _ = socket.write_all(head.as_bytes()).await;
                for _ in 0..chunks {
                    tokio::time::sleep(every).await;
                    let _ = socket.write_all(&[7u8; 1024]).await;
                }
            });
        }
    });
    format!("http://{addr}")
}

/// A slow but steady download outlasts the per-request timeout: downloads,
/// Powertokens' `/content` included, have only a read-idle timeout.
#[tokio::test]
async fn slow_steady_downloads_are_not_cut_by_the_request_timeout() {
    let base = trickling_server(10, Duration::from_millis(100)).await;
    let dir = tempfile::tempdir().unwrap();
    for provider in [Provider::Powertokens, Provider::Anyfast] {
        let c = Client::builder(provider)
            .api_key(KEY)
            .base_url(&base)
            .request_timeout(Duration::from_millis(300))
            .read_idle_timeout(Duration::from_millis(500))
            .retry(RetryPolicy::none())
            .build()
            .unwrap();
        let task = common::completed_task(provider, format!("{base}/v.mp4"));
        let file = c
            .download(&task, dir.path().join(format!("{provider}.mp4")))
            .await
            .unwrap();
        assert_eq!(file.bytes, 10 * 1024, "{provider}");
    }
}

#[tokio::test]
async fn a_result_url_on_another_origin_is_not_counted_against_the_rate_limit() {
    let api = MockServer::start().await;
    let cdn = MockServer::start().await;
    let id = "046b6c7f-0b8a-43b9-b35d-6489e6daee91";
    let body = serde_json::json!({
        "data": { "task_id": id, "status": "COMPLETED", "generated": [format!("{}/video.mp4", cdn.uri())] }
    });
    Mock::given(method("GET"))
        .and(path(format!("/v1/ai/video/seedance-2-mini/{id}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&api)
        .await;
    Mock::given(method("GET"))
        .and(path("/video.mp4"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![0u8; 64]))
        .expect(2)
        .mount(&cdn)
        .await;
    // Two API calls a minute: a get, two downloads from the CDN, and a
    // second get must all go at once.
    let client = Client::builder(Provider::Magnific)
        .api_key(KEY)
        .base_url(api.uri())
        .rate_limit(seedance_mini::RateLimit::new().window(2, Duration::from_secs(60)))
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let quick = Duration::from_secs(5);
    let task = tokio::time::timeout(quick, client.get(id))
        .await
        .unwrap()
        .unwrap();
    for name in ["a.mp4", "b.mp4"] {
        tokio::time::timeout(quick, client.download(&task, dir.path().join(name)))
            .await
            .expect("a CDN download waits for no API window")
            .unwrap();
    }
    tokio::time::timeout(quick, client.get(id))
        .await
        .expect("the second get fits the window")
        .unwrap();
}
