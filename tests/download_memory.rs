//! Downloads stream: a 200 MB body keeps the heap flat (measured with a
//! counting allocator), and a connection cut short leaves no file behind.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use seedance_mini::{Client, Error, Provider, RetryPolicy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod common;

struct Counting;
static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Serves one response of `promised` zero bytes, but sends only `sent`.
async fn serve_zeros(promised: u64, sent: u64) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && socket.read(&mut byte).await.unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let header = format!("HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: {promised}\r\nConnection: close\r\n\r\n");
            if socket.write_all(header.as_bytes()).await.is_err() {
                continue;
            }
            let chunk = vec![0u8; 64 * 1024];
            let mut left = sent;
            while left > 0 {
                let n = left.min(chunk.len() as u64) as usize;
                if socket.write_all(&chunk[..n]).await.is_err() {
                    break;
                }
                left -= n as u64;
            }
            let _ = socket.shutdown().await;
        }
    });
    format!("http://{addr}/video.mp4")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_stream_in_flat_memory_and_never_leave_partial_files() {
    let client = Client::builder(Provider::Anyfast)
        .api_key("k")
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();

    const SIZE: u64 = 200 * 1024 * 1024;
    let url = serve_zeros(SIZE, SIZE).await;
    let target = dir.path().join("big.mp4");
    let baseline = CURRENT.load(Ordering::Relaxed);
    PEAK.store(baseline, Ordering::Relaxed);
    let got = client
        .download(&common::completed_task(Provider::Anyfast, url), &target)
        .await
        .unwrap();
    let peak_growth = PEAK.load(Ordering::Relaxed).saturating_sub(baseline);
    assert_eq!(got.bytes, SIZE);
    assert_eq!(std::fs::metadata(&target).unwrap().len(), SIZE);
    assert!(
        peak_growth < 16 * 1024 * 1024,
        "heap grew by {} MiB for a 200 MiB download",
        peak_growth >> 20
    );
    println!(
        "200 MiB download: peak heap growth {} KiB",
        peak_growth >> 10
    );

    let url = serve_zeros(10 * 1024 * 1024, 1024 * 1024).await;
    let cut = dir.path().join("cut.mp4");
    let err = client
        .download(&common::completed_task(Provider::Anyfast, url), &cut)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport(_) | Error::Io(_)), "{err:?}");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["big.mp4"], "a cut download left files behind");
}
