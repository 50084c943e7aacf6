//! The client against hostile local servers: each test reproduces one way a
//! server (or a body, or a redirect) can make a client lie, leak or bloat,
//! and checks that the client tells the truth instead.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use seedance_mini::fixtures::examples;
use seedance_mini::{
    Client, Error, Provider, RequestOptions, RetryPolicy, TaskStatus, VideoRequest, MAX_ERROR_BODY,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

mod common;

const KEY: &str = "hostile-test-key";

/// What a raw server saw: each request's head and body, as text.
type Seen = Arc<Mutex<Vec<String>>>;

/// One answer: a status line and headers (without the blank line), and a body
/// sent as `Content-Length` (or chunked, in `chunks` pieces of `chunk` bytes).
#[derive(Clone)]
enum Answer {
    Plain(&'static str, Vec<u8>),
    Chunked(&'static str, usize, usize),
    /// Promise `Content-Length: n`, send `m` bytes, close.
    Short(usize, usize),
}

async fn read_request(socket: &mut tokio::net::TcpStream) -> String {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 8192];
    loop {
        let n = socket.read(&mut tmp).await.unwrap_or(0);
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&tmp[..n]);
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                break;
            }
        }
    }
    String::from_utf8_lossy(&buf).to_string()
}

/// A server that gives the n-th connection `answers[n]` (the last one repeats).
async fn raw_server(answers: Vec<Answer>) -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen: Seen = Arc::default();
    let log = seen.clone();
    tokio::spawn(async move {
        let mut n = 0;
        while let Ok((mut socket, _)) = listener.accept().await {
            let answer = answers[n.min(answers.len() - 1)].clone();
            n += 1;
            let log = log.clone();
            tokio::spawn(async move {
                let request = read_request(&mut socket).await;
                log.lock().unwrap().push(request);
                match answer {
                    Answer::Plain(head, body) => {
                        let head = format!(
                            "{head}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        );
                        let _ = socket.write_all(head.as_bytes()).await;
                        let _ = socket.write_all(&body).await;
                    }
                    Answer::Chunked(head, chunks, size) => {
                        let head = format!("{head}\r\nTransfer-Encoding: chunked\r\n\r\n");
                        let _ = socket.write_all(head.as_bytes()).await;
                        let piece = format!("{size:x}\r\n{}\r\n", "x".repeat(size));
                        for _ in 0..chunks {
                            if socket.write_all(piece.as_bytes()).await.is_err() {
                                return;
                            }
                        }
                        let _ = socket.write_all(b"0\r\n\r\n").await;
                    }
                    Answer::Short(promised, sent) => {
                        let head = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: {promised}\r\n\r\n"
                        );
                        let _ = socket.write_all(head.as_bytes()).await;
                        let _ = socket.write_all(&vec![1u8; sent]).await;
                    }
                }
                let _ = socket.shutdown().await;
            });
        }
    });
    (url, seen)
}

fn client(provider: Provider, url: &str, retry: RetryPolicy) -> Client {
    Client::builder(provider)
        .api_key(KEY)
        .base_url(url)
        .retry(retry)
        .build()
        .unwrap()
}

fn quick_retries() -> RetryPolicy {
    RetryPolicy::new(3, Duration::from_millis(10), Duration::from_millis(50))
}

fn json_200(operation: &str) -> Answer {
    let body = examples(operation, Some(200)).next().unwrap().json;
    Answer::Plain(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json",
        body.as_bytes().to_vec(),
    )
}

const HTML_500: &str = "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/html";

#[tokio::test]
async fn an_html_error_keeps_its_status_body_and_headers() {
    for (head, status) in [
        (HTML_500, 500),
        ("HTTP/1.1 404 Not Found\r\nContent-Type: text/plain", 404),
        ("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain", 400),
        (
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/html",
            503,
        ),
    ] {
        let body = b"<html><body>upstream broke</body></html>".to_vec();
        let (url, _) = raw_server(vec![Answer::Plain(head, body)]).await;
        let err = client(Provider::Anyfast, &url, RetryPolicy::none())
            .get("task-1")
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(status), "{err:?}");
        assert_eq!(err.is_transient(), matches!(status, 500 | 503), "{err:?}");
        match &err {
            Error::Api { body, headers, .. } => {
                assert!(body.contains("upstream broke"), "{body}");
                assert!(headers.contains_key("content-type"));
            }
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn a_get_rides_out_an_html_500_and_so_does_wait() {
    let html = Answer::Plain(HTML_500, b"<html>oops</html>".to_vec());
    let (url, seen) = raw_server(vec![html.clone(), json_200("getSeedanceMiniTask")]).await;
    let task = client(Provider::Anyfast, &url, quick_retries())
        .get("task-1")
        .await
        .unwrap();
    assert!(!task.id.is_empty());
    assert_eq!(seen.lock().unwrap().len(), 2);

    let (url, seen) = raw_server(vec![html, json_200("getVideoTask")]).await;
    let options = seedance_mini::WaitOptions::new(Duration::from_secs(10))
        .delays(Duration::from_millis(10), Duration::from_millis(20));
    let c = client(Provider::Powertokens, &url, RetryPolicy::none());
    let done = c.wait("task_1", &options).await.unwrap();
    assert_eq!(done.status, TaskStatus::Completed);
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_403_is_a_403_with_its_body() {
    let head = "HTTP/1.1 403 Forbidden\r\nContent-Type: application/json";
    let body = br#"{"message":"plan does not include this model"}"#.to_vec();
    let (url, _) = raw_server(vec![Answer::Plain(head, body)]).await;
    let err = client(Provider::Magnific, &url, RetryPolicy::none())
        .get("3f7d6b5e-6a7b-4c8d-9e0f-1a2b3c4d5e6f")
        .await
        .unwrap_err();
    match &err {
        Error::Unauthorized {
            status: 403,
            message,
            body,
            ..
        } => {
            assert_eq!(message, "plan does not include this model");
            assert!(body.contains("plan does not include"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.status(), Some(403));
}

#[tokio::test]
async fn a_create_redirected_elsewhere_is_not_resent_and_the_key_stays_home() {
    let (elsewhere, seen_elsewhere) = raw_server(vec![json_200("getSeedanceMiniTask")]).await;
    for code in [
        "302 Found",
        "307 Temporary Redirect",
        "308 Permanent Redirect",
    ] {
        let head: &'static str = Box::leak(
            format!("HTTP/1.1 {code}\r\nLocation: {elsewhere}/v1/ai/video/seedance-2-mini-720p")
                .into_boxed_str(),
        );
        let (api, seen_api) = raw_server(vec![Answer::Plain(head, Vec::new())]).await;
        let err = client(Provider::Magnific, &api, RetryPolicy::none())
            .submit(&VideoRequest::new("a cat"))
            .await
            .unwrap_err();
        assert_eq!(err.status(), code[..3].parse().ok(), "{err}");
        assert!(err.to_string().contains("never follow redirects"), "{err}");
        assert_eq!(seen_api.lock().unwrap().len(), 1, "one create, once");
    }
    assert!(
        seen_elsewhere.lock().unwrap().is_empty(),
        "nothing crossed to the other origin: {:?}",
        seen_elsewhere.lock().unwrap()
    );
}

#[tokio::test]
async fn a_video_url_that_redirects_elsewhere_is_followed_without_the_key() {
    let video = b"0123456789".to_vec();
    let (cdn, seen_cdn) = raw_server(vec![Answer::Plain(
        "HTTP/1.1 200 OK\r\nContent-Type: video/mp4",
        video.clone(),
    )])
    .await;
    let head: &'static str =
        Box::leak(format!("HTTP/1.1 302 Found\r\nLocation: {cdn}/v.mp4").into_boxed_str());
    let (api, seen_api) = raw_server(vec![Answer::Plain(head, Vec::new())]).await;
    let c = client(Provider::Magnific, &api, RetryPolicy::none());
    let task = common::completed_task(Provider::Magnific, format!("{api}/videos/t.mp4"));
    let dir = tempfile::tempdir().unwrap();
    let got = c.download(&task, dir.path().join("v.mp4")).await.unwrap();
    assert_eq!(std::fs::read(&got.path).unwrap(), video);
    let api_req = seen_api.lock().unwrap()[0].to_ascii_lowercase();
    assert!(
        api_req.contains("x-magnific-api-key: hostile-test-key"),
        "same origin: key sent"
    );
    let cdn_req = seen_cdn.lock().unwrap()[0].to_ascii_lowercase();
    assert!(!cdn_req.contains("x-magnific-api-key"), "{cdn_req}");
    assert!(!cdn_req.contains(KEY), "{cdn_req}");
}

#[tokio::test]
async fn a_video_url_that_redirects_forever_is_the_servers_fault_not_bad_input() {
    // Every answer sends the client back to the same path.
    let (api, seen) = raw_server(vec![Answer::Plain(
        "HTTP/1.1 302 Found\r\nLocation: /videos/t.mp4",
        Vec::new(),
    )])
    .await;
    let c = client(Provider::Magnific, &api, RetryPolicy::none());
    let task = common::completed_task(Provider::Magnific, format!("{api}/videos/t.mp4"));
    let dir = tempfile::tempdir().unwrap();
    let err = c
        .download(&task, dir.path().join("v.mp4"))
        .await
        .unwrap_err();
    match &err {
        Error::Api {
            status, message, ..
        } => {
            assert_eq!(*status, 302);
            assert!(message.contains("redirected more than"), "{message}");
        }
        other => panic!("a redirect loop is the server's answer (Api), not Validation: {other:?}"),
    }
    assert_eq!(
        seen.lock().unwrap().len(),
        6,
        "the first GET and 5 redirects"
    );
    assert!(!dir.path().join("v.mp4").exists());
}

#[tokio::test]
async fn a_huge_error_body_is_kept_only_up_to_the_cap() {
    // 20 MiB of chunked 500 body.
    let (url, _) = raw_server(vec![Answer::Chunked(HTML_500, 20 * 1024, 1024)]).await;
    let err = client(Provider::Anyfast, &url, RetryPolicy::none())
        .get("t")
        .await
        .unwrap_err();
    match &err {
        Error::Api { status, body, .. } => {
            assert_eq!(*status, 500);
            assert!(body.len() <= MAX_ERROR_BODY, "{}", body.len());
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().len() < 1000, "{}", err.to_string().len());
}

#[tokio::test]
async fn a_huge_success_body_is_refused_not_read_whole() {
    let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json";
    let (url, _) = raw_server(vec![Answer::Chunked(head, 12 * 1024, 1024)]).await;
    let err = client(Provider::Anyfast, &url, RetryPolicy::none())
        .get("t")
        .await
        .unwrap_err();
    match &err {
        Error::Decode { status, reason, .. } => {
            assert_eq!(*status, Some(200));
            assert!(reason.contains("larger than"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().len() < 1000);
}

#[tokio::test]
async fn a_create_answered_with_no_task_id_is_an_error_that_keeps_the_body() {
    let ok = "HTTP/1.1 200 OK\r\nContent-Type: application/json";
    let (url, _) = raw_server(vec![Answer::Plain(ok, b"{}".to_vec())]).await;
    let err = client(Provider::Anyfast, &url, RetryPolicy::none())
        .submit(&VideoRequest::new("a cat"))
        .await
        .unwrap_err();
    match &err {
        Error::Decode {
            status,
            body,
            reason,
        } => {
            assert_eq!(*status, Some(200));
            assert_eq!(body, "{}");
            assert!(reason.contains("no task id"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_truncated_download_is_retried() {
    let (url, seen) = raw_server(vec![Answer::Short(100, 10), Answer::Short(100, 100)]).await;
    let c = client(Provider::Anyfast, &url, quick_retries());
    let task = common::completed_task(Provider::Anyfast, format!("{url}/v.mp4"));
    let dir = tempfile::tempdir().unwrap();
    let got = c.download(&task, dir.path().join("v.mp4")).await.unwrap();
    assert_eq!(got.bytes, 100);
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[test]
fn an_empty_or_non_ascii_key_is_refused() {
    for key in ["", "clé", "two words", "tab\there"] {
        let err = Client::builder(Provider::Magnific)
            .api_key(key)
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("api_key"), "{key:?}: {err}");
    }
}

#[test]
fn a_created_task_is_never_called_safe_to_resubmit() {
    let e = Error::Api {
        provider: Provider::Magnific,
        status: 503,
        message: String::new(),
        invalid_params: vec![],
        body: String::new(),
        headers: Default::default(),
    };
    assert!(e.is_transient(), "a read may try again");
    assert!(!e.is_safe_to_resubmit(), "a create may not");
}

#[tokio::test]
async fn per_request_headers_replace_the_clients_and_a_timeout_applies() {
    let (url, seen) = raw_server(vec![json_200("getSeedanceMiniTask")]).await;
    let c = Client::builder(Provider::Anyfast)
        .api_key(KEY)
        .base_url(&url)
        .header(
            reqwest::header::ACCEPT,
            reqwest::header::HeaderValue::from_static("application/json"),
        )
        .build()
        .unwrap();
    let options = RequestOptions::new()
        .header_line("Accept: text/plain")
        .unwrap()
        .header_line("Prefer: code=200")
        .unwrap()
        .query("trace", "1");
    c.with_options(options).get("task-1").await.unwrap();
    let request = seen.lock().unwrap()[0].to_ascii_lowercase();
    assert!(request.contains("accept: text/plain"), "{request}");
    assert!(!request.contains("accept: application/json"), "{request}");
    assert!(request.contains("prefer: code=200"), "{request}");
    assert!(request.contains("?trace=1"), "{request}");

    // A server that never answers, and a 200 ms per-request timeout.
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let c = client(Provider::Anyfast, &silent_url, RetryPolicy::none());
    let started = std::time::Instant::now();
    let err = c
        .with_options(RequestOptions::new().timeout(Duration::from_millis(200)))
        .get("t")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Transport(e) if e.is_timeout()),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}
