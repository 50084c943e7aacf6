//! Request and response checks compiled from the vendored OpenAPI documents
//! (the same text the clients were generated from), with a JSON Schema
//! validator: required fields, types, enums, `maxLength`, integer ranges,
//! `minItems`, and the `uri` and `byte` formats.
//!
//! One tolerance, on purpose: Magnific declares `image`/`image_end` as
//! `format: byte` while its prose says "a publicly accessible URL or a
//! base64-encoded image", so `byte` accepts either.

use std::collections::HashMap;
use std::sync::OnceLock;

use base64::Engine as _;
use jsonschema::{Draft, Validator};
use serde_json::{json, Value};

use crate::Provider;

const DOCUMENTS: [(Provider, &str); 3] = [
    (
        Provider::Magnific,
        include_str!(concat!(env!("OUT_DIR"), "/magnific.yaml")),
    ),
    (
        Provider::Anyfast,
        include_str!(concat!(env!("OUT_DIR"), "/anyfast.yaml")),
    ),
    (
        Provider::Powertokens,
        include_str!(concat!(env!("OUT_DIR"), "/powertokens.yaml")),
    ),
];

/// A field that broke a rule of its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The field, as a dotted path (`duration`, `content.0.type`).
    pub name: String,
    /// The rule it broke.
    pub reason: String,
}

fn documents() -> &'static [(Provider, Value)] {
    static DOCS: OnceLock<Vec<(Provider, Value)>> = OnceLock::new();
    DOCS.get_or_init(|| {
        DOCUMENTS
            .iter()
            .map(|(p, text)| {
                (
                    *p,
                    serde_saphyr::from_str(text)
                        .expect("build.rs checked that the document parses"),
                )
            })
            .collect()
    })
}

fn is_byte(s: &str) -> bool {
    s.starts_with("http://")
        || s.starts_with("https://")
        || base64::engine::general_purpose::STANDARD
            .decode(s.trim())
            .is_ok()
}

/// OpenAPI 3.0's schema dialect as JSON Schema: `nullable: true` becomes
/// `null` among the allowed types (and enum values).
fn dialect(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out: serde_json::Map<String, Value> = map
                .iter()
                .filter(|(k, _)| *k != "nullable")
                .map(|(k, v)| (k.clone(), dialect(v)))
                .collect();
            if map.get("nullable") == Some(&Value::Bool(true)) {
                if let Some(Value::String(t)) = out.get("type").cloned() {
                    out.insert("type".into(), json!([t, "null"]));
                }
                if let Some(Value::Array(values)) = out.get_mut("enum") {
                    values.push(Value::Null);
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(dialect).collect()),
        other => other.clone(),
    }
}

/// Compiles `schema` (a document fragment) with the document's components
/// beside it, so `#/components/schemas/...` references resolve.
fn compile(doc: &Value, schema: &Value) -> Validator {
    let mut root = match dialect(schema) {
        Value::Object(map) => Value::Object(map),
        other => json!({ "allOf": [other] }),
    };
    root["components"] = dialect(doc.get("components").unwrap_or(&json!({})));
    // A 3.1 document speaks JSON Schema 2020-12 (where 4.0 is an integer); a
    // 3.0 document its draft-4-based dialect.
    let draft = match doc["openapi"].as_str() {
        Some(v) if v.starts_with("3.1") => Draft::Draft202012,
        _ => Draft::Draft4,
    };
    jsonschema::options()
        .with_draft(draft)
        .should_validate_formats(true)
        .with_format("byte", is_byte)
        .build(&root)
        .expect("the vendored schemas compile")
}

/// The operation object for `operation_id`, in its document.
fn operation(operation_id: &str) -> Option<(&'static Value, &'static Value)> {
    documents().iter().find_map(|(_, doc)| {
        doc["paths"].as_object()?.values().find_map(|item| {
            item.as_object()?
                .values()
                .find(|op| op["operationId"] == operation_id)
                .map(|op| (doc, op))
        })
    })
}

/// Whether `operation_id`'s document lists a `status` response.
pub(crate) fn documents_status(operation_id: &str, status: u16) -> bool {
    operation(operation_id)
        .and_then(|(_, op)| op.get("responses")?.as_object())
        .is_some_and(|r| r.contains_key(&status.to_string()))
}

fn request_validators() -> &'static HashMap<String, Validator> {
    static V: OnceLock<HashMap<String, Validator>> = OnceLock::new();
    V.get_or_init(|| {
        let mut out = HashMap::new();
        for (_, doc) in documents() {
            for item in doc["paths"]
                .as_object()
                .into_iter()
                .flat_map(|p| p.values())
            {
                for op in item.as_object().into_iter().flat_map(|o| o.values()) {
                    if let (Some(id), Some(schema)) = (
                        op["operationId"].as_str(),
                        op.pointer("/requestBody/content/application~1json/schema"),
                    ) {
                        out.insert(id.to_string(), compile(doc, schema));
                    }
                }
            }
        }
        out
    })
}

fn problems(validator: &Validator, instance: &Value) -> Vec<Problem> {
    validator
        .iter_errors(instance)
        .map(|e| {
            let name = match e.kind() {
                jsonschema::error::ValidationErrorKind::Required { property } => {
                    let at = e.instance_path().to_string();
                    let prop = property.as_str().unwrap_or_default();
                    if at.is_empty() {
                        prop.to_string()
                    } else {
                        format!("{}.{prop}", dotted(&at))
                    }
                }
                _ => dotted(&e.instance_path().to_string()),
            };
            Problem {
                name: if name.is_empty() { "body".into() } else { name },
                reason: e.to_string(),
            }
        })
        .collect()
}

fn dotted(pointer: &str) -> String {
    pointer.trim_start_matches('/').replace('/', ".")
}

/// Every way `body` breaks the request schema of `operation_id`.
pub fn check_request(operation_id: &str, body: &Value) -> Vec<Problem> {
    let body = without_negative_zero(body);
    request_validators()
        .get(operation_id)
        .map(|v| problems(v, &body))
        .unwrap_or_default()
}

/// `body` with every `-0` read as `0`: serde_json keeps the JSON literal
/// `-0` as the float -0.0, which draft-4 `integer` refuses although the text
/// is an integer (so `"seed": -0` was refused while `"seed": 0` passed).
fn without_negative_zero(body: &Value) -> std::borrow::Cow<'_, Value> {
    fn has(v: &Value) -> bool {
        match v {
            Value::Number(n) => {
                n.as_f64().is_some_and(|f| f == 0.0 && f.is_sign_negative()) && !n.is_i64()
            }
            Value::Array(a) => a.iter().any(has),
            Value::Object(m) => m.values().any(has),
            _ => false,
        }
    }
    fn fix(v: &mut Value) {
        match v {
            Value::Number(n)
                if n.as_f64().is_some_and(|f| f == 0.0 && f.is_sign_negative()) && !n.is_i64() =>
            {
                *v = Value::from(0);
            }
            Value::Array(a) => a.iter_mut().for_each(fix),
            Value::Object(m) => m.values_mut().for_each(fix),
            _ => {}
        }
    }
    if !has(body) {
        return std::borrow::Cow::Borrowed(body);
    }
    let mut owned = body.clone();
    fix(&mut owned);
    std::borrow::Cow::Owned(owned)
}

/// Every way `body` breaks the documented JSON schema of `operation_id`'s
/// `status` response; `Err` if the document gives no such schema. For tests
/// that hold the mock (or anything else) to the documents.
pub fn check_response(
    operation_id: &str,
    status: u16,
    body: &Value,
) -> Result<Vec<Problem>, String> {
    let (doc, op) =
        operation(operation_id).ok_or_else(|| format!("no operation `{operation_id}`"))?;
    let pointer = format!("/responses/{status}/content/application~1json/schema");
    let schema = op
        .pointer(&pointer)
        .ok_or_else(|| format!("`{operation_id}` documents no JSON body for {status}"))?;
    Ok(problems(&compile(doc, schema), body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_zero_is_an_integer_like_zero() {
        let zero: Value = serde_json::from_str(r#"{"prompt": "x", "seed": 0}"#).unwrap();
        let minus: Value = serde_json::from_str(r#"{"prompt": "x", "seed": -0}"#).unwrap();
        assert_eq!(
            check_request("create_video_seedance_2_mini_720p", &zero),
            []
        );
        assert_eq!(
            check_request("create_video_seedance_2_mini_720p", &minus),
            []
        );
    }

    #[test]
    fn magnific_rules_come_from_the_document() {
        let ok = json!({"prompt": "a cat", "duration": 10, "image": "https://x/y.png", "webhook_url": "https://h/k"});
        assert_eq!(check_request("create_video_seedance_2_mini_720p", &ok), []);
        let bad = json!({"duration": 7, "aspect_ratio": "wide", "seed": -2, "prompt": "a".repeat(2001), "image": "not base64!", "webhook_url": "no url"});
        let mut names: Vec<_> = check_request("create_video_seedance_2_mini_480p", &bad)
            .into_iter()
            .map(|p| p.name)
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "aspect_ratio",
                "duration",
                "image",
                "prompt",
                "seed",
                "webhook_url"
            ]
        );
        let missing = check_request("create_video_seedance_2_mini_480p", &json!({}));
        assert_eq!(missing[0].name, "prompt");
    }

    #[test]
    fn each_document_is_read_in_its_own_dialect() {
        // Anyfast's document is OpenAPI 3.1 (JSON Schema 2020-12): 4.0 is an integer.
        let anyfast = json!({"model": "seedance-2.0-mini", "content": [{"type": "text", "text": "x"}], "duration": 4.0});
        assert_eq!(check_request("createSeedanceMini", &anyfast), []);
        // Magnific's is 3.0 (draft 4): 5.0 is a number, not an integer.
        let magnific = json!({"prompt": "x", "duration": 5.0});
        assert_eq!(
            check_request("create_video_seedance_2_mini_720p", &magnific)[0].name,
            "duration"
        );
    }

    #[test]
    fn anyfast_and_powertokens_rules_come_from_their_documents() {
        let bad = json!({"model": "other", "content": [{"type": "sound"}], "duration": 3});
        let names: Vec<_> = check_request("createSeedanceMini", &bad)
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert!(
            names.contains(&"model".to_string())
                && names.contains(&"content.0.type".to_string())
                && names.contains(&"duration".to_string()),
            "{names:?}"
        );
        let short = json!({"model": "dreamina-seedance-2-0-mini-260615", "media": [{"type": "text", "text": "x"}], "seconds": "13"});
        let names: Vec<_> = check_request("seedance20MiniImageToVideoEn", &short)
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(names, ["media", "seconds"]);
    }

    #[test]
    fn nullable_is_read_as_openapi_means_it() {
        assert_eq!(
            dialect(&json!({"type": "object", "nullable": true})),
            json!({"type": ["object", "null"]})
        );
        assert_eq!(
            dialect(&json!({"properties": {"a": {"type": "string"}}})),
            json!({"properties": {"a": {"type": "string"}}})
        );
    }

    #[test]
    fn responses_can_be_checked_too() {
        let good = json!({"data": {"task_id": "046b6c7f-0b8a-43b9-b35d-6489e6daee91", "status": "CREATED", "generated": []}});
        assert_eq!(
            check_response("get_seedance_2_mini_task", 200, &good).unwrap(),
            []
        );
        let bad = json!({"data": {"task_id": "x", "status": "DONE"}});
        assert!(!check_response("get_seedance_2_mini_task", 200, &bad)
            .unwrap()
            .is_empty());
        assert!(check_response("get_seedance_2_mini_task", 418, &good).is_err());
    }
}
