//! Every example in the three documents decodes into the generated type of
//! its operation and status, without dropping a field; the decoded values are
//! pinned with insta. The one example that contradicts its own schema is
//! tested for exactly that contradiction.

use seedance_mini::fixtures::{Example, EXAMPLES};
use seedance_mini::{anyfast, magnific, powertokens, Provider};
use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;

/// Decodes `json` as `T` and returns the value as `T` writes it back.
fn decode<T: DeserializeOwned + Serialize + std::fmt::Debug>(
    json: &str,
) -> Result<(Value, String), String> {
    let typed: T = serde_json::from_str(json).map_err(|e| e.to_string())?;
    Ok((serde_json::to_value(&typed).unwrap(), format!("{typed:#?}")))
}

/// The generated type an example must decode into: the operation's request
/// body, its success type, or its (single) error type.
fn decode_as_generated(e: &Example) -> Result<(Value, String), String> {
    use Provider::*;
    let error = e.status.is_some_and(|s| s >= 400);
    match (e.provider, e.operation_id, e.status, error) {
        (Magnific, _, None, _) => decode::<magnific::types::CreateVideoRequest>(e.json),
        (Magnific, _, _, true) => decode::<magnific::types::ErrorMessage>(e.json),
        (Magnific, op, _, false)
            if op.starts_with("get_all") || op == "get_seedance_2_mini_tasks" =>
        {
            decode::<magnific::types::TaskList>(e.json)
        }
        (Magnific, _, _, false) => decode::<magnific::types::TaskResponse>(e.json),
        (Anyfast, _, None, _) => decode::<anyfast::types::VideoGenerationRequest>(e.json),
        (Anyfast, _, _, true) => decode::<anyfast::types::Error>(e.json),
        (Anyfast, "createSeedanceMini", _, false) => {
            decode::<anyfast::types::VideoGenerationTask>(e.json)
        }
        (Anyfast, _, _, false) => decode::<anyfast::types::TaskQueryResponse>(e.json),
        (Powertokens, _, None, _) => decode::<powertokens::types::ImageToVideoRequest>(e.json),
        (Powertokens, "getVideoTask", _, true) => {
            decode::<powertokens::types::GetVideoTaskError>(e.json)
        }
        (Powertokens, _, _, true) => decode::<powertokens::types::GatewayError>(e.json),
        (Powertokens, "getVideoTask", _, false) => {
            decode::<powertokens::types::VideoObject>(e.json)
        }
        (Powertokens, _, _, false) => decode::<powertokens::types::VideoTaskCreated>(e.json),
        (other, ..) => Err(format!("no generated types known for {other}")),
    }
}

/// Every key and value of `example` is in `decoded` (a `null` counts as absent).
fn lost_fields(example: &Value, decoded: &Value, at: &str, lost: &mut Vec<String>) {
    match (example, decoded) {
        (Value::Object(e), Value::Object(d)) => {
            for (k, v) in e {
                match d.get(k) {
                    Some(dv) => lost_fields(v, dv, &format!("{at}/{k}"), lost),
                    None if v.is_null() => {}
                    None => lost.push(format!("{at}/{k}")),
                }
            }
        }
        (Value::Array(e), Value::Array(d)) if e.len() == d.len() => {
            for (i, (ev, dv)) in e.iter().zip(d).enumerate() {
                lost_fields(ev, dv, &format!("{at}/{i}"), lost);
            }
        }
        (e, d) if e == d => {}
        (e, d) => lost.push(format!("{at}: {e} became {d}")),
    }
}

/// Magnific's problem+json 400 example puts `message` and `invalid_params` at
/// the top level, while its schema nests them under `problem` (a fault of the
/// provider's document, listed in openapi/README.md).
fn is_known_fault(e: &Example) -> bool {
    e.provider == Provider::Magnific && e.content_type == "application/problem+json"
}

#[test]
fn every_example_decodes_into_its_generated_type_without_loss() {
    let mut failures = Vec::new();
    for e in EXAMPLES.iter().filter(|e| !is_known_fault(e)) {
        match decode_as_generated(e) {
            Ok((decoded, _)) => {
                let mut lost = Vec::new();
                lost_fields(&e.value(), &decoded, "", &mut lost);
                if !lost.is_empty() {
                    failures.push(format!(
                        "{} {:?} {}: lost {lost:?}",
                        e.operation_id, e.status, e.name
                    ));
                }
            }
            Err(err) => failures.push(format!(
                "{} {:?} {}: {err}",
                e.operation_id, e.status, e.name
            )),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn the_problem_json_example_contradicts_its_own_schema() {
    let faulty: Vec<_> = EXAMPLES.iter().filter(|e| is_known_fault(e)).collect();
    assert_eq!(
        faulty.len(),
        4,
        "one per operation that documents a 400: two lists, two creates"
    );
    for e in faulty {
        // The schema's only property is `problem`; the example has none, so it
        // decodes to an empty value and its two fields are dropped.
        let typed: magnific::types::ProblemDetails = serde_json::from_str(e.json).unwrap();
        assert_eq!(typed.problem, None);
        let mut lost = Vec::new();
        lost_fields(
            &e.value(),
            &serde_json::to_value(&typed).unwrap(),
            "",
            &mut lost,
        );
        assert_eq!(lost, ["/invalid_params", "/message"]);
        // Nested the way the schema says, the same content decodes whole.
        let nested = serde_json::json!({ "problem": e.value() });
        let typed: magnific::types::ProblemDetails = serde_json::from_value(nested).unwrap();
        assert_eq!(typed.problem.unwrap().invalid_params.len(), 2);
    }
}

#[test]
fn decoded_examples_are_pinned() {
    for &provider in Provider::ALL {
        let mut out = String::new();
        for e in EXAMPLES.iter().filter(|e| e.provider == provider) {
            let status = e.status.map_or("request".to_string(), |s| s.to_string());
            let decoded = match decode_as_generated(e) {
                Ok((_, debug)) => debug,
                Err(err) => format!("does not decode: {err}"),
            };
            out += &format!(
                "== {} {} {} [{}: {}]\n{decoded}\n",
                e.operation_id, status, e.content_type, e.source, e.name
            );
        }
        insta::assert_snapshot!(format!("examples_{provider}"), out);
    }
}
