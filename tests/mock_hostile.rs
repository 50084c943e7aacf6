//! The mock against hostile clients: bodies that never end, connections that
//! never speak, more connections than allowed, and many large unfinished
//! bodies at once. Each attack is bounded by a limit in `HostLimits`.
#![cfg(feature = "mock")]

use std::time::{Duration, Instant};

use seedance_mini::mock::{HostLimits, MockServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const CREATE: &str = "/v1/ai/video/seedance-2-mini-720p";

async fn mock(limits: HostLimits) -> MockServer {
    MockServer::builder().limits(limits).start().await.unwrap()
}

fn limits() -> HostLimits {
    HostLimits {
        max_connections: 64,
        header_read_timeout: Duration::from_millis(300),
        body_read_timeout: Duration::from_millis(300),
        body_budget: 1 << 20,
    }
}

/// Reads whatever the server sends until it closes or `within` passes.
async fn read_all(stream: &mut TcpStream, within: Duration) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => {
                out.extend_from_slice(&buf[..n]);
                if String::from_utf8_lossy(&out).contains("\r\n\r\n") {
                    break;
                }
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Opens a connection and sends a chunked create's head and `bytes` of body.
async fn unfinished_body(mock: &MockServer, bytes: usize) -> TcpStream {
    let mut s = TcpStream::connect(mock.addr()).await.unwrap();
    let head = format!(
        "POST {CREATE} HTTP/1.1\r\nHost: x\r\nx-magnific-api-key: seedance-mini-mock-key\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b' '; 64 * 1024];
    let mut sent = 0;
    while sent < bytes {
        let n = chunk.len().min(bytes - sent);
        s.write_all(format!("{n:x}\r\n").as_bytes()).await.unwrap();
        s.write_all(&chunk[..n]).await.unwrap();
        s.write_all(b"\r\n").await.unwrap();
        sent += n;
    }
    s.flush().await.unwrap();
    s
}

#[tokio::test]
async fn a_body_that_never_ends_gets_408_at_the_body_deadline() {
    let mock = mock(limits()).await;
    let started = Instant::now();
    let mut s = unfinished_body(&mock, 1000).await;
    let answer = read_all(&mut s, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_connection_that_never_speaks_is_closed_at_the_header_deadline() {
    let mock = mock(limits()).await;
    let mut s = TcpStream::connect(mock.addr()).await.unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
        .await
        .expect("the mock closes an idle connection")
        .unwrap_or(0);
    let _ = n; // hyper may send a 408 before closing; either way it ends
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn connections_past_the_limit_wait_until_one_closes() {
    let mock = mock(HostLimits {
        max_connections: 2,
        header_read_timeout: Duration::from_secs(30),
        ..limits()
    })
    .await;
    let idle1 = TcpStream::connect(mock.addr()).await.unwrap();
    let _idle2 = TcpStream::connect(mock.addr()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut third = TcpStream::connect(mock.addr()).await.unwrap();
    third
        .write_all(b"GET /__mock/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let early = read_all(&mut third, Duration::from_millis(500)).await;
    assert!(early.is_empty(), "answered past the limit: {early}");
    drop(idle1);
    let late = read_all(&mut third, Duration::from_secs(5)).await;
    assert!(late.starts_with("HTTP/1.1 200"), "{late}");
}

#[tokio::test]
async fn unfinished_bodies_share_one_budget() {
    let mock = mock(HostLimits {
        body_read_timeout: Duration::from_secs(30),
        ..limits()
    })
    .await;
    // 700 KB held by one connection leaves less than 700 KB of the 1 MiB budget.
    let holder = unfinished_body(&mock, 700 * 1024).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut second = unfinished_body(&mock, 700 * 1024).await;
    let refused = read_all(&mut second, Duration::from_secs(5)).await;
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    // Once the holder goes away its bytes are free again.
    drop(holder);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut third = unfinished_body(&mock, 700 * 1024).await;
    third.write_all(b"0\r\n\r\n").await.unwrap();
    let answered = read_all(&mut third, Duration::from_secs(5)).await;
    assert!(!answered.starts_with("HTTP/1.1 503"), "{answered}");
    assert!(answered.starts_with("HTTP/1.1 "), "{answered}");
}

#[tokio::test]
async fn a_webhook_target_that_never_answers_holds_a_bounded_number_of_connections() {
    use futures_util::StreamExt;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    // The target accepts connections and never answers.
    let target = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target_url = format!("http://{}/hook", target.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = target.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(socket);
        }
    });
    let mock = MockServer::builder()
        .lifecycle(seedance_mini::mock::Lifecycle::Clock {
            in_progress_after: Duration::from_millis(5),
            done_after: Duration::from_millis(10),
        })
        .start()
        .await
        .unwrap();
    let http = seedance_mini::http_client_builder()
        .unwrap()
        .build()
        .unwrap();
    let url = format!("{}{CREATE}", mock.url());
    let creates = 1500;
    futures_util::stream::iter(0..creates)
        .map(|_| {
            http.post(&url)
                .header("x-magnific-api-key", "seedance-mini-mock-key")
                .json(&serde_json::json!({ "prompt": "a cat", "webhook_url": target_url }))
                .send()
        })
        .buffer_unordered(32)
        .for_each(|r| async move {
            assert!(r.unwrap().status().is_success());
        })
        .await;
    // Every create announces itself when looked at: ask for all of them.
    let tasks: serde_json::Value = http
        .get(format!("{}/v1/ai/video/seedance-2-mini", mock.url()))
        .header("x-magnific-api-key", "seedance-mini-mock-key")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(tasks["data"].as_array().unwrap().len() >= creates);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let connections = accepted.load(Ordering::SeqCst);
    assert!(connections <= 4, "{connections} connections to the target");
    let deliveries = mock.engine().deliveries();
    let dropped = deliveries
        .iter()
        .filter(|d| d.error.as_deref().is_some_and(|e| e.starts_with("dropped")))
        .count();
    assert!(dropped > 0, "a full queue drops, and the log says so");
}

/// A client that sends its whole request and then shuts down its writing
/// half still gets the answer (the mock allows half-closed connections), and
/// the create it paid for is stored.
#[tokio::test]
async fn a_request_followed_by_a_half_close_is_answered() {
    let mock = mock(limits()).await;
    let body = r#"{"prompt":"a cat"}"#;
    let mut s = TcpStream::connect(mock.addr()).await.unwrap();
    let request = format!(
        "POST {CREATE} HTTP/1.1\r\nHost: x\r\nx-magnific-api-key: seedance-mini-mock-key\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(request.as_bytes()).await.unwrap();
    s.shutdown().await.unwrap();
    let answer = read_all(&mut s, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    assert_eq!(mock.engine().task_count(), 1);
}

/// Opens a connection that declares a `declared`-byte body and sends `sent`.
async fn declared_body(mock: &MockServer, declared: usize, sent: usize) -> TcpStream {
    let mut s = TcpStream::connect(mock.addr()).await.unwrap();
    let head = format!(
        "POST {CREATE} HTTP/1.1\r\nHost: x\r\nx-magnific-api-key: seedance-mini-mock-key\r\ncontent-type: application/json\r\ncontent-length: {declared}\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&vec![b' '; sent]).await.unwrap();
    s.flush().await.unwrap();
    s
}

#[tokio::test]
async fn the_body_budget_counts_the_memory_a_declared_body_will_take() {
    let mock = mock(HostLimits {
        body_read_timeout: Duration::from_secs(30),
        ..limits()
    })
    .await;
    // 10 KB arrived, but 700 KB were declared: the buffer for 700 KB is paid
    // for at once, so a second such body finds the 1 MiB budget spent.
    let holder = declared_body(&mock, 700 * 1024, 10 * 1024).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut second = declared_body(&mock, 700 * 1024, 10 * 1024).await;
    let refused = read_all(&mut second, Duration::from_secs(5)).await;
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused:?}");
    drop(holder);
}
