//! The API key never reaches `Debug` output, error messages or logs, even
//! when calls fail and are retried with tracing at its most verbose.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use seedance_mini::{Client, Provider, RequestContext, RetryPolicy, VideoRequest};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "sk-live-THIS-MUST-NOT-LEAK-9f8e7d";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_key_is_never_in_debug_errors_or_logs() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(serde_json::json!({"message": "Invalid API key"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(serde_json::json!({"message": "bad"})),
        )
        .mount(&server)
        .await;

    let mut seen = Vec::new();
    for &provider in Provider::ALL {
        let builder = Client::builder(provider)
            .api_key(KEY)
            .base_url(server.uri())
            .retry(RetryPolicy::new(
                3,
                Duration::from_millis(1),
                Duration::from_millis(5),
            ));
        seen.push(format!("{builder:?}"));
        let client = builder.build().unwrap();
        seen.push(format!("{client:?}"));
        seen.push(format!("{:?}", RequestContext::new(provider, KEY).unwrap()));
        for err in [
            client.get("task-1").await.unwrap_err(),
            client
                .submit(&VideoRequest::new("p").first_frame("https://x/a.png"))
                .await
                .unwrap_err(),
        ] {
            seen.push(format!("{err} / {err:?}"));
        }
    }
    let requests = server.received_requests().await.unwrap();
    assert!(requests.len() >= 6, "the calls really went out");
    assert!(
        requests.iter().any(|r| r
            .headers
            .values()
            .any(|v| v.to_str().unwrap_or("").contains(KEY))),
        "and carried the key"
    );
    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("retrying"), "retries were logged: {logs}");
    for text in seen.iter().chain(std::iter::once(&logs)) {
        assert!(
            !text.contains(KEY) && !text.contains("THIS-MUST-NOT-LEAK"),
            "leaked in: {text}"
        );
    }
}

#[test]
fn from_env_reads_the_providers_variable_and_names_it_when_missing() {
    // This file's only other test does not read the environment.
    std::env::remove_var("POWERTOKENS_API_KEY");
    let err = Client::from_env(Provider::Powertokens).unwrap_err();
    assert_eq!(err.to_string(), "invalid `POWERTOKENS_API_KEY`: is not set");
    std::env::set_var("POWERTOKENS_API_KEY", KEY);
    let client = Client::from_env(Provider::Powertokens).unwrap();
    assert_eq!(client.provider(), Provider::Powertokens);
    assert!(!format!("{client:?}").contains(KEY));
    std::env::remove_var("POWERTOKENS_API_KEY");
}
