//! Collects every example a document gives, for the public fixture table.
//!
//! Read from the document as the provider wrote it (before any pass), so the
//! table holds the provider's examples, not ours. Four sources, in order:
//! named `examples` (inline or `$ref` to `#/components/examples`), a media
//! type's single `example`, the body schema's own `example` (following `$ref`),
//! and, only where none of those exist, an object composed from the examples of
//! the schema's properties.

use serde_json::{Map, Value};

/// One example found in a document.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub operation_id: String,
    pub method: String,
    pub path: String,
    /// `None` for a request body.
    pub status: Option<u16>,
    pub content_type: String,
    pub name: String,
    /// `named`, `component`, `media`, `schema` or `composed`.
    pub source: &'static str,
    pub json: Value,
}

/// Every example of every operation of `doc`, in document order.
pub fn collect(doc: &Value) -> Vec<Found> {
    let mut out = Vec::new();
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return out;
    };
    for (path, item) in paths {
        let Some(item) = item.as_object() else {
            continue;
        };
        for (method, op) in item {
            let Some(op_id) = op.get("operationId").and_then(Value::as_str) else {
                continue;
            };
            let mut push = |status: Option<u16>, content: &Map<String, Value>| {
                for (media, body) in content {
                    for (name, source, json) in media_examples(doc, body) {
                        out.push(Found {
                            operation_id: op_id.into(),
                            method: method.to_uppercase(),
                            path: path.clone(),
                            status,
                            content_type: media.clone(),
                            name,
                            source,
                            json,
                        });
                    }
                }
            };
            if let Some(content) = op
                .get("requestBody")
                .map(|b| deref(doc, b))
                .and_then(|b| b.get("content"))
                .and_then(Value::as_object)
            {
                push(None, content);
            }
            if let Some(responses) = op.get("responses").and_then(Value::as_object) {
                for (status, response) in responses {
                    let Ok(code) = status.parse::<u16>() else {
                        continue;
                    };
                    if let Some(content) = deref(doc, response)
                        .get("content")
                        .and_then(Value::as_object)
                    {
                        push(Some(code), content);
                    }
                }
            }
        }
    }
    out
}

fn media_examples(doc: &Value, media: &Value) -> Vec<(String, &'static str, Value)> {
    let mut found = Vec::new();
    if let Some(named) = media.get("examples").and_then(Value::as_object) {
        for (name, example) in named {
            let source = if example.get("$ref").is_some() {
                "component"
            } else {
                "named"
            };
            if let Some(value) = deref(doc, example).get("value") {
                found.push((name.clone(), source, value.clone()));
            }
        }
    }
    if let Some(value) = media.get("example") {
        found.push(("example".into(), "media", value.clone()));
    }
    let schema = media.get("schema").map(|s| deref(doc, s));
    if let Some(value) = schema.and_then(|s| s.get("example")) {
        let name = media
            .pointer("/schema/$ref")
            .and_then(Value::as_str)
            .map(|r| format!("schema {}", r.rsplit('/').next().unwrap_or(r)))
            .unwrap_or_else(|| "schema".into());
        found.push((name, "schema", value.clone()));
    }
    if found.is_empty() {
        if let Some(value) = schema.and_then(|s| compose(doc, s, 0)) {
            found.push(("composed from property examples".into(), "composed", value));
        }
    }
    found
}

/// An object built from the `example` of each property that has one.
fn compose(doc: &Value, schema: &Value, depth: usize) -> Option<Value> {
    if depth > 8 {
        return None;
    }
    let schema = deref(doc, schema);
    if let Some(value) = schema.get("example") {
        return Some(value.clone());
    }
    let props = schema.get("properties")?.as_object()?;
    let object: Map<String, Value> = props
        .iter()
        .filter_map(|(name, prop)| Some((name.clone(), compose(doc, prop, depth + 1)?)))
        .collect();
    (!object.is_empty()).then_some(Value::Object(object))
}

/// Follows a local `$ref` (any `#/...` pointer) to what it names.
pub fn deref<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    let mut current = value;
    for _ in 0..16 {
        match current
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
        {
            Some(pointer) => match doc.pointer(pointer) {
                Some(target) => current = target,
                None => return current,
            },
            None => return current,
        }
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_named_referenced_schema_level_and_composed_examples() {
        let doc = json!({
            "paths": {"/t": {"post": {
                "operationId": "make",
                "requestBody": {"content": {"application/json": {"schema": {"properties": {
                    "prompt": {"type": "string", "example": "a cat"},
                    "seed": {"type": "integer"}
                }}}}},
                "responses": {
                    "200": {"content": {"application/json": {"examples": {
                        "inline": {"value": {"ok": 1}},
                        "shared": {"$ref": "#/components/examples/done"}
                    }}}},
                    "500": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/E"}}}}
                }
            }}},
            "components": {
                "examples": {"done": {"value": {"ok": 2}}},
                "schemas": {"E": {"example": {"message": "boom"}}}
            }
        });
        let found = collect(&doc);
        let summary: Vec<_> = found
            .iter()
            .map(|f| (f.status, f.name.as_str(), f.source, f.json.clone()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    None,
                    "composed from property examples",
                    "composed",
                    json!({"prompt": "a cat"})
                ),
                (Some(200), "inline", "named", json!({"ok": 1})),
                (Some(200), "shared", "component", json!({"ok": 2})),
                (Some(500), "schema E", "schema", json!({"message": "boom"})),
            ]
        );
        assert!(found
            .iter()
            .all(|f| f.operation_id == "make" && f.method == "POST" && f.path == "/t"));
    }
}
