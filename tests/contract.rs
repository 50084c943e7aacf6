//! Contract tests: for every operation of every provider, a wiremock server
//! answers with each of the document's own examples (from the fixture table,
//! never hand-copied JSON) and the generated client calls it. Method, path,
//! auth header and `Content-Type` are asserted, request bodies are pinned
//! with insta, and every response, success or error, must decode.

use seedance_mini::fixtures::{Example, Operation, DOCUMENTS, EXAMPLES, OPERATIONS};
use seedance_mini::{anyfast, magnific, powertokens, Provider, RequestContext};
use serde::Serialize;
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "contract-test-key";

fn task_id(provider: Provider) -> &'static str {
    match provider {
        Provider::Magnific => "046b6c7f-0b8a-43b9-b35d-6489e6daee91",
        Provider::Anyfast => "cgt-20260312231129-7db6s",
        Provider::Powertokens => "task_cZ3xT9pLq2mN8vB4",
        other => panic!("no task id for {other}"),
    }
}

/// The generated clients add auth themselves, from their `RequestContext`.
fn context(provider: Provider) -> RequestContext {
    RequestContext::new(provider, KEY).unwrap()
}

#[derive(Debug)]
enum Outcome {
    Json { status: u16, body: Value },
    Bytes { status: u16, body: Vec<u8> },
    Failed(String),
}

fn json_outcome<T: Serialize, E: Serialize + std::fmt::Debug>(
    result: Result<magnific::ResponseValue<T>, magnific::Error<E>>,
) -> Outcome {
    match result {
        Ok(v) => Outcome::Json {
            status: v.status().as_u16(),
            body: serde_json::to_value(v.into_inner()).unwrap(),
        },
        Err(magnific::Error::ErrorResponse(v)) => Outcome::Json {
            status: v.status().as_u16(),
            body: serde_json::to_value(v.into_inner()).unwrap(),
        },
        Err(other) => Outcome::Failed(format!("{other:?}")),
    }
}

async fn bytes_outcome<E: std::fmt::Debug + Serialize>(
    result: Result<powertokens::ResponseValue<powertokens::ByteStream>, powertokens::Error<E>>,
) -> Outcome {
    match result {
        Ok(v) => {
            let status = v.status().as_u16();
            let mut stream = v.into_inner();
            let mut body = Vec::new();
            use futures_util::StreamExt;
            while let Some(chunk) = stream.next().await {
                body.extend_from_slice(&chunk.unwrap());
            }
            Outcome::Bytes { status, body }
        }
        Err(e) => json_outcome::<(), E>(Err(e)),
    }
}

fn body<T: serde::de::DeserializeOwned>(request: &Option<&Example>) -> T {
    serde_json::from_str(
        request
            .expect("a create operation has a request example")
            .json,
    )
    .unwrap()
}

/// Calls one operation through the generated client; `None` if this file has
/// no call for it (the coverage test fails then).
async fn call(op: &str, base: &str, request: Option<&Example>) -> Option<Outcome> {
    let http = seedance_mini::http_client_builder()
        .unwrap()
        .build()
        .unwrap();
    let m = magnific::Client::new_with_client(base, http.clone(), context(Provider::Magnific));
    let a = anyfast::Client::new_with_client(base, http.clone(), context(Provider::Anyfast));
    let p = powertokens::Client::new_with_client(base, http, context(Provider::Powertokens));
    use magnific::types::CreateVideoRequest;
    Some(match op {
        "create_video_seedance_2_mini_480p" => json_outcome(
            m.create_video_seedance_2_mini_480p()
                .body(body::<CreateVideoRequest>(&request))
                .send()
                .await,
        ),
        "create_video_seedance_2_mini_720p" => json_outcome(
            m.create_video_seedance_2_mini_720p()
                .body(body::<CreateVideoRequest>(&request))
                .send()
                .await,
        ),
        "get_all_seedance_2_mini_480p_tasks" => {
            json_outcome(m.get_all_seedance_2_mini_480p_tasks().send().await)
        }
        "get_all_seedance_2_mini_720p_tasks" => {
            json_outcome(m.get_all_seedance_2_mini_720p_tasks().send().await)
        }
        "get_seedance_2_mini_tasks" => json_outcome(m.get_seedance_2_mini_tasks().send().await),
        "get_seedance_2_mini_task" => json_outcome(
            m.get_seedance_2_mini_task()
                .task_id(task_id(Provider::Magnific))
                .send()
                .await,
        ),
        "createSeedanceMini" => json_outcome(
            a.create_seedance_mini()
                .body(body::<anyfast::types::VideoGenerationRequest>(&request))
                .send()
                .await,
        ),
        "getSeedanceMiniTask" => json_outcome(
            a.get_seedance_mini_task()
                .task_id(task_id(Provider::Anyfast))
                .send()
                .await,
        ),
        "seedance20MiniImageToVideoEn" => json_outcome(
            p.seedance20_mini_image_to_video_en()
                .body(body::<powertokens::types::ImageToVideoRequest>(&request))
                .send()
                .await,
        ),
        "getVideoTask" => json_outcome(
            p.get_video_task()
                .task_id(task_id(Provider::Powertokens))
                .send()
                .await,
        ),
        "getVideoContent" => {
            bytes_outcome(
                p.get_video_content()
                    .task_id(task_id(Provider::Powertokens))
                    .send()
                    .await,
            )
            .await
        }
        _ => return None,
    })
}

/// What a server may answer for `op`: each response example of the document,
/// and, for a binary success response the document gives no example of, bytes.
fn answers(op: &Operation) -> Vec<(u16, &'static str, Vec<u8>, Option<&'static Example>)> {
    let mut out: Vec<_> = EXAMPLES
        .iter()
        .filter(|e| e.operation_id == op.operation_id && e.status.is_some())
        .map(|e| {
            (
                e.status.unwrap(),
                e.content_type,
                e.json.as_bytes().to_vec(),
                Some(e),
            )
        })
        .collect();
    if op.operation_id == "getVideoContent" {
        out.push((
            200,
            "video/mp4",
            b"\x00\x00\x00\x18ftypmp42 not a whole video".to_vec(),
            None,
        ));
    }
    out
}

fn fields_kept(example: &Value, decoded: &Value) -> bool {
    match (example, decoded) {
        (Value::Object(e), Value::Object(d)) => e
            .iter()
            .all(|(k, v)| d.get(k).map_or(v.is_null(), |dv| fields_kept(v, dv))),
        (Value::Array(e), Value::Array(d)) => {
            e.len() == d.len() && e.iter().zip(d).all(|(a, b)| fields_kept(a, b))
        }
        (e, d) => e == d,
    }
}

async fn run(op_id: &str) {
    let op = OPERATIONS
        .iter()
        .find(|o| o.operation_id == op_id)
        .expect("operation is in a document");
    let concrete = op
        .path
        .replace("{task-id}", task_id(op.provider))
        .replace("{task_id}", task_id(op.provider));
    let request = EXAMPLES
        .iter()
        .find(|e| e.operation_id == op_id && e.status.is_none());
    let cases = answers(op);
    assert!(
        cases.iter().any(|c| c.0 < 300),
        "{op_id}: no success example"
    );
    for (status, content_type, bytes, example) in cases {
        let label = format!(
            "{op_id} {status} {content_type} {}",
            example.map_or("bytes", |e| e.name)
        );
        let server = MockServer::start().await;
        Mock::given(method(op.method))
            .and(path(concrete.as_str()))
            .respond_with(ResponseTemplate::new(status).set_body_raw(bytes.clone(), content_type))
            .expect(1)
            .mount(&server)
            .await;
        let outcome = call(op_id, &server.uri(), request)
            .await
            .expect("covered by `call`");

        let received = server.received_requests().await.unwrap();
        let sent = &received[0];
        assert_eq!(sent.method.as_str(), op.method, "{label}");
        assert_eq!(sent.url.path(), concrete, "{label}");
        let expected_auth = match op.provider {
            Provider::Magnific => ("x-magnific-api-key", KEY.to_string()),
            _ => ("authorization", format!("Bearer {KEY}")),
        };
        assert_eq!(
            sent.headers.get(expected_auth.0).unwrap().to_str().unwrap(),
            expected_auth.1,
            "{label}"
        );
        if op.method == "POST" {
            assert_eq!(
                sent.headers.get("content-type").unwrap(),
                "application/json",
                "{label}"
            );
            let sent_body: Value = serde_json::from_slice(&sent.body).unwrap();
            insta::assert_json_snapshot!(format!("request_{op_id}"), sent_body);
        } else {
            assert!(sent.body.is_empty(), "{label}: a GET sends no body");
        }

        match (outcome, example) {
            (Outcome::Json { status: got, body }, Some(e)) => {
                assert_eq!(got, status, "{label}");
                if e.content_type == "application/problem+json" {
                    // Decoded with the operation's JSON error type: the message
                    // survives; invalid_params is reachable only from the raw body.
                    assert_eq!(body["message"], e.value()["message"], "{label}");
                } else {
                    assert!(
                        fields_kept(&e.value(), &body),
                        "{label}: decoded {body} lost fields of {}",
                        e.json
                    );
                }
            }
            (Outcome::Bytes { status: got, body }, None) => {
                assert_eq!((got, body), (status, bytes), "{label}");
            }
            (Outcome::Failed(why), _) => panic!("{label}: the generated client failed: {why}"),
            (other, _) => panic!("{label}: unexpected {other:?}"),
        }
    }
}

macro_rules! contract_tests {
    ($($op:ident),* $(,)?) => {
        /// The operations with a contract test below.
        const COVERED: &[&str] = &[$(stringify!($op)),*];
        $(
            #[tokio::test]
            #[allow(non_snake_case)]
            async fn $op() {
                run(stringify!($op)).await;
            }
        )*
    };
}

contract_tests!(
    create_video_seedance_2_mini_480p,
    create_video_seedance_2_mini_720p,
    get_all_seedance_2_mini_480p_tasks,
    get_all_seedance_2_mini_720p_tasks,
    get_seedance_2_mini_tasks,
    get_seedance_2_mini_task,
    createSeedanceMini,
    getSeedanceMiniTask,
    seedance20MiniImageToVideoEn,
    getVideoTask,
    getVideoContent,
);

fn snake(op: &str) -> String {
    let mut out = String::new();
    let mut prev_lower_or_digit = false;
    for c in op.chars() {
        if c.is_ascii_uppercase() && prev_lower_or_digit {
            out.push('_');
        }
        prev_lower_or_digit = c.is_ascii_lowercase() || c.is_ascii_digit();
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// Reads the operation ids from the documents the build used, at test time:
/// an operation without a generated method or a contract test fails here.
#[test]
fn every_operation_has_a_generated_method_and_a_contract_test() {
    let mut seen = Vec::new();
    for (provider, file) in DOCUMENTS {
        let doc: Value = serde_saphyr::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        for (_, item) in doc["paths"].as_object().unwrap() {
            for (_, op) in item.as_object().unwrap() {
                let Some(id) = op.get("operationId").and_then(Value::as_str) else {
                    continue;
                };
                let method = format!("fn {}(", snake(id));
                assert!(
                    seedance_mini::fixtures::surface(*provider).contains(&method),
                    "{provider}: no generated `{method}`"
                );
                assert!(
                    COVERED.contains(&id),
                    "{provider}: operation `{id}` has no contract test in tests/contract.rs"
                );
                seen.push(id.to_string());
            }
        }
    }
    for id in COVERED {
        assert!(
            seen.iter().any(|s| s == id),
            "contract test for `{id}`, which no document has"
        );
    }
    assert_eq!(seen.len(), 11, "6 Magnific, 2 Anyfast, 3 Powertokens");
}
