//! The mock's engine alone, without HTTP: what one valid 480p create costs
//! (route, auth, parse, validate, store with eviction past the cap, answer,
//! journal), on one thread and on two threads at once. `.ci/bench-mock`
//! measures the whole server; this isolates the part the project writes,
//! so that a change to it can be measured above the noise of the network.
//!
//! `cargo bench --features mock --bench mock_engine`

use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use seedance_mini::mock::{Engine, Lifecycle, MockRequest, MockServer, DEFAULT_API_KEY};

const BODY: &[u8] =
    br#"{"prompt":"a cat walking through a neon-lit alley","duration":5,"aspect_ratio":"social_story_9_16"}"#;

fn create() -> MockRequest {
    let mut headers = http::HeaderMap::new();
    headers.insert("x-magnific-api-key", DEFAULT_API_KEY.parse().unwrap());
    headers.insert("content-type", "application/json".parse().unwrap());
    headers.insert("host", "127.0.0.1:8080".parse().unwrap());
    MockRequest {
        method: http::Method::POST,
        path: "/v1/ai/video/seedance-2-mini-480p".into(),
        query: None,
        headers,
        body: Bytes::from_static(BODY),
        peer: None,
    }
}

fn handle(engine: &Engine, request: &MockRequest) {
    let reply = engine.handle(request.clone());
    assert_eq!(reply.status(), 200);
}

fn engine(c: &mut Criterion) {
    // Tasks finish almost at once, so the cap fills with finished tasks and
    // every create evicts one, as under load.
    let engine = MockServer::builder()
        .lifecycle(Lifecycle::Clock {
            in_progress_after: Duration::ZERO,
            done_after: Duration::from_millis(1),
        })
        .engine();
    let request = create();
    let mut group = c.benchmark_group("mock engine");
    group.bench_function("valid 480p create, one thread", |b| {
        b.iter(|| handle(&engine, &request))
    });
    group.bench_function("valid 480p create, two threads (per create)", |b| {
        b.iter_custom(|iterations| {
            let start = Instant::now();
            std::thread::scope(|s| {
                for _ in 0..2 {
                    s.spawn(|| {
                        for _ in 0..iterations.div_ceil(2) {
                            handle(&engine, &request);
                        }
                    });
                }
            });
            start.elapsed()
        })
    });
    group.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
