//! What the ergonomic layer costs: `submit` + `get` through [`Client`]
//! against the same two HTTP calls made with a bare `reqwest::Client`
//! (same body, same headers, response bodies decoded as JSON), both against
//! one local mock server. Target: the client at most 1.10x the raw calls.
//!
//! `cargo bench --features mock --bench client_overhead`

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use seedance_mini::mock::{Lifecycle, MockServer, DEFAULT_API_KEY};
use seedance_mini::{request_body, Provider, VideoRequest};
use serde_json::Value;

fn overhead(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mock = runtime.block_on(async {
        MockServer::builder()
            // Tasks finish at once, so the store forgets them past the cap
            // (it never forgets an unfinished task).
            .lifecycle(Lifecycle::Clock {
                in_progress_after: std::time::Duration::ZERO,
                done_after: std::time::Duration::ZERO,
            })
            .max_tasks(1_000)
            .start()
            .await
            .unwrap()
    });
    let client = runtime.block_on(async { mock.client(Provider::Magnific).unwrap() });
    let request =
        VideoRequest::new("A cinematic shot of a cat walking through a neon-lit alley at night");
    let body = serde_json::to_vec(
        &runtime
            .block_on(request_body(Provider::Magnific, &request))
            .unwrap(),
    )
    .unwrap();
    let raw = seedance_mini::http_client_builder()
        .unwrap()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let create_url = format!("{}/v1/ai/video/seedance-2-mini-720p", mock.url());
    let get_url = format!("{}/v1/ai/video/seedance-2-mini/", mock.url());

    let mut group = c.benchmark_group("submit+get");
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("raw reqwest", |b| {
        b.to_async(&runtime).iter(|| async {
            let created: Value = raw
                .post(&create_url)
                .header("x-magnific-api-key", DEFAULT_API_KEY)
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let id = created["data"]["task_id"].as_str().unwrap();
            let got: Value = raw
                .get(format!("{get_url}{id}"))
                .header("x-magnific-api-key", DEFAULT_API_KEY)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(got["data"]["task_id"], id);
        })
    });
    group.bench_function("seedance_mini::Client", |b| {
        b.to_async(&runtime).iter(|| async {
            let task = client.submit(&request).await.unwrap();
            let got = client.get(&task.id).await.unwrap();
            assert_eq!(got.id, task.id);
        })
    });
    group.finish();
}

criterion_group!(benches, overhead);
criterion_main!(benches);
