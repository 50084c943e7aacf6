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
        Provider::ALL
            .iter()
            .map(|&p| {
                (
                    p,
                    serde_saphyr::from_str(crate::fixtures::document_text(p))
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
    check(operation_id, body, false)
}

/// [`check_request`] for a body whose text is `raw`: a negative zero
/// written as a float (`-0.0`, `-0e5`) is checked as `0.0` is, and only the
/// integer literal `-0` as `0`. serde_json reads all three as the float
/// -0.0, so the text decides.
pub fn check_request_text(operation_id: &str, body: &Value, raw: &[u8]) -> Vec<Problem> {
    check(operation_id, body, float_negative_zero(raw))
}

fn check(operation_id: &str, body: &Value, as_float: bool) -> Vec<Problem> {
    let body = without_negative_zero(body, as_float);
    // `is_valid` first: it stops at the first failure and allocates no
    // error, and almost every request a mock sees is valid.
    request_validators()
        .get(operation_id)
        .filter(|v| !v.is_valid(&body))
        .map(|v| problems(v, &body))
        .unwrap_or_default()
}

/// `body` with every `-0` read as `0`: serde_json keeps the JSON literal
/// `-0` as the float -0.0, which draft-4 `integer` refuses although the text
/// is an integer (so `"seed": -0` was refused while `"seed": 0` passed).
fn without_negative_zero(body: &Value, as_float: bool) -> std::borrow::Cow<'_, Value> {
    let zero = match as_float {
        true => Value::from(0.0),
        false => Value::from(0),
    };
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
    fn fix(v: &mut Value, zero: &Value) {
        match v {
            Value::Number(n)
                if n.as_f64().is_some_and(|f| f == 0.0 && f.is_sign_negative()) && !n.is_i64() =>
            {
                *v = zero.clone();
            }
            Value::Array(a) => a.iter_mut().for_each(|v| fix(v, zero)),
            Value::Object(m) => m.values_mut().for_each(|v| fix(v, zero)),
            _ => {}
        }
    }
    if !has(body) {
        return std::borrow::Cow::Borrowed(body);
    }
    let mut owned = body.clone();
    fix(&mut owned, &zero);
    std::borrow::Cow::Owned(owned)
}

/// Whether JSON text holds a negative zero written as a float (`-0.0`,
/// `-0e5`) outside its strings.
fn float_negative_zero(raw: &[u8]) -> bool {
    let (mut in_string, mut escaped) = (false, false);
    for (i, &b) in raw.iter().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'-' => {
                let token: Vec<u8> = raw[i + 1..]
                    .iter()
                    .copied()
                    .take_while(|c| !matches!(c, b',' | b'}' | b']') && !c.is_ascii_whitespace())
                    .collect();
                let (mantissa, exponent) = match token.iter().position(|c| matches!(c, b'e' | b'E'))
                {
                    Some(at) => (&token[..at], Some(&token[at + 1..])),
                    None => (&token[..], None),
                };
                let zero = mantissa.first() == Some(&b'0')
                    && mantissa.iter().all(|c| matches!(c, b'0' | b'.'))
                    && mantissa.iter().filter(|c| **c == b'.').count() <= 1;
                let float = mantissa.contains(&b'.') || exponent.is_some();
                if zero && float {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
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

/// One rule of a document broken by a message, located by JSON pointer:
/// what the proxy (`--upstream`) reports as a deviation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Where, as a JSON pointer into the body (`""` for the whole body).
    pub pointer: String,
    /// The rule: a JSON Schema keyword (`required`, `enum`, `type`, ...), or
    /// `undocumented_status`, `undocumented_media_type`, `undocumented_field`, `json`.
    pub rule: String,
    /// What is wrong.
    pub message: String,
}

fn violation(pointer: impl Into<String>, rule: &str, message: impl Into<String>) -> Violation {
    Violation {
        pointer: pointer.into(),
        rule: rule.to_string(),
        message: message.into(),
    }
}

fn media_type(content_type: Option<&str>) -> String {
    content_type
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn cached_validator(key: String, doc: &Value, schema: &Value) -> std::sync::Arc<Validator> {
    static CACHE: OnceLock<std::sync::Mutex<HashMap<String, std::sync::Arc<Validator>>>> =
        OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(v) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return v.clone();
    }
    let compiled = std::sync::Arc::new(compile(doc, schema));
    cache
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(key, compiled.clone());
    compiled
}

/// Every way a message breaks `content` (a document's `content` map): its
/// media type, JSON syntax, schema, and fields the schema does not declare.
fn content_violations(
    doc: &Value,
    key: String,
    content: &Value,
    content_type: Option<&str>,
    body: &[u8],
) -> Vec<Violation> {
    let media = media_type(content_type);
    let Some(documented) = content.as_object() else {
        return Vec::new();
    };
    if documented.is_empty() {
        return Vec::new();
    }
    let Some(entry) = documented.get(&media) else {
        let listed: Vec<&str> = documented.keys().map(String::as_str).collect();
        return vec![violation(
            "",
            "undocumented_media_type",
            format!(
                "media type `{media}` is not documented here (documented: {})",
                listed.join(", ")
            ),
        )];
    };
    let Some(schema) = entry.get("schema") else {
        return Vec::new();
    };
    if !media.ends_with("json") {
        return Vec::new();
    }
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return vec![violation("", "json", format!("not JSON: {e}"))],
    };
    let value = without_negative_zero(&value, float_negative_zero(body));
    let validator = cached_validator(format!("{key} {media}"), doc, schema);
    let mut out: Vec<Violation> = validator
        .iter_errors(&value)
        .map(|e| {
            let mut pointer = e.instance_path().to_string();
            if let jsonschema::error::ValidationErrorKind::Required { property } = e.kind() {
                pointer = format!("{pointer}/{}", property.as_str().unwrap_or_default());
            }
            violation(pointer, e.kind().keyword(), e.to_string())
        })
        .collect();
    undocumented_fields(doc, schema, &value, String::new(), &mut out);
    out
}

/// Follows `$ref`s within the document.
fn resolve<'a>(doc: &'a Value, mut schema: &'a Value) -> &'a Value {
    for _ in 0..32 {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => match r.strip_prefix('#').and_then(|p| doc.pointer(p)) {
                Some(target) => schema = target,
                None => return schema,
            },
            None => return schema,
        }
    }
    schema
}

/// The schemas `schema` is made of: itself and its `allOf`, `oneOf` and
/// `anyOf` parts, `$ref`s followed.
fn parts<'a>(doc: &'a Value, schema: &'a Value, out: &mut Vec<&'a Value>) {
    let schema = resolve(doc, schema);
    if out.len() > 64 || out.iter().any(|s| std::ptr::eq(*s, schema)) {
        return;
    }
    out.push(schema);
    for key in ["allOf", "oneOf", "anyOf"] {
        for part in schema
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            parts(doc, part, out);
        }
    }
}

/// Fields present in `value` that no part of `schema` declares, where the
/// schema declares properties and does not allow others. A schema is not
/// broken by them (JSON Schema allows extra fields by default), but a
/// document that leaves out what the server sends is worth knowing about.
fn undocumented_fields(
    doc: &Value,
    schema: &Value,
    value: &Value,
    pointer: String,
    out: &mut Vec<Violation>,
) {
    let mut all = Vec::new();
    parts(doc, schema, &mut all);
    match value {
        Value::Object(map) => {
            let open = all.iter().any(|s| {
                s.get("additionalProperties")
                    .is_some_and(|a| a != &Value::Bool(false))
            }) || !all.iter().any(|s| s.get("properties").is_some());
            for (key, item) in map {
                let declared: Vec<&Value> = all
                    .iter()
                    .filter_map(|s| s.get("properties")?.get(key))
                    .collect();
                let at = format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"));
                if declared.is_empty() {
                    if !open {
                        out.push(violation(
                            at,
                            "undocumented_field",
                            format!("`{key}` is not declared by the document"),
                        ));
                    }
                    continue;
                }
                for sub in declared {
                    undocumented_fields(doc, sub, item, at.clone(), out);
                }
            }
        }
        Value::Array(items) => {
            let item_schemas: Vec<&Value> = all.iter().filter_map(|s| s.get("items")).collect();
            for (i, item) in items.iter().enumerate() {
                for sub in &item_schemas {
                    undocumented_fields(doc, sub, item, format!("{pointer}/{i}"), out);
                }
            }
        }
        _ => {}
    }
}

/// Every way a request to `operation_id` breaks its document.
pub fn request_violations(
    operation_id: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> Vec<Violation> {
    let Some((doc, op)) = operation(operation_id) else {
        return Vec::new();
    };
    match op.pointer("/requestBody/content") {
        Some(content) => content_violations(
            doc,
            format!("{operation_id} request"),
            content,
            content_type,
            body,
        ),
        None => Vec::new(),
    }
}

/// Every way a `status` response to `operation_id` breaks its document.
pub fn response_violations(
    operation_id: &str,
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
) -> Vec<Violation> {
    let Some((doc, op)) = operation(operation_id) else {
        return Vec::new();
    };
    let responses = op.get("responses");
    let response = responses
        .and_then(|r| r.get(status.to_string()))
        .or_else(|| responses.and_then(|r| r.get("default")));
    let Some(response) = response else {
        let listed: Vec<&str> = responses
            .and_then(Value::as_object)
            .map(|r| r.keys().map(String::as_str).collect())
            .unwrap_or_default();
        return vec![violation(
            "",
            "undocumented_status",
            format!(
                "status {status} is not documented for {operation_id} (documented: {})",
                listed.join(", ")
            ),
        )];
    };
    let response = resolve(doc, response);
    match response.get("content") {
        Some(content) => content_violations(
            doc,
            format!("{operation_id} {status}"),
            content,
            content_type,
            body,
        ),
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_float_form_of_zero_is_checked_alike() {
        let op = "create_video_seedance_2_mini_720p";
        let zero_float = br#"{"prompt": "x", "seed": 0.0}"#;
        let refused =
            check_request_text(op, &serde_json::from_slice(zero_float).unwrap(), zero_float);
        assert!(!refused.is_empty(), "draft 4: 0.0 is not an integer");
        for text in [
            &br#"{"prompt": "x", "seed": -0.0}"#[..],
            br#"{"prompt": "x", "seed": -0e5}"#,
        ] {
            let body: Value = serde_json::from_slice(text).unwrap();
            assert_eq!(
                check_request_text(op, &body, text),
                refused,
                "{}",
                String::from_utf8_lossy(text)
            );
        }
        let minus = br#"{"prompt": "say -0.0", "seed": -0}"#;
        assert_eq!(
            check_request_text(op, &serde_json::from_slice(minus).unwrap(), minus),
            []
        );
        // Anyfast's 3.1 document takes 0.0 as an integer, so -0.0 too.
        let anyfast = br#"{"model": "seedance-2.0-mini", "content": [{"type": "text", "text": "x"}], "duration": 4, "seed": -0.0}"#;
        assert_eq!(
            check_request_text(
                "createSeedanceMini",
                &serde_json::from_slice(anyfast).unwrap(),
                anyfast
            ),
            []
        );
    }

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
