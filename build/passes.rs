//! Normalising passes that progenitor 0.15 needs, applied to a parsed document.
//!
//! Each pass is a small named function over the document as JSON. A pass never
//! changes what goes over the wire: it relabels, re-points identical schemas at
//! one name, or gives a body progenitor would drop a type that keeps it. Each
//! returns notes that say what it changed, or an error that names the place and
//! the rule. The vendored YAML itself is never rewritten.

use serde_json::{json, Map, Value};

/// A named normalising pass.
pub struct Pass {
    /// Shown in notes and errors.
    pub name: &'static str,
    /// Rewrites the document in place; returns what it changed.
    pub run: fn(&mut Value) -> Result<Vec<String>, String>,
}

/// The passes, in the order they run.
pub const PASSES: &[Pass] = &[
    Pass {
        name: "relabel_openapi_31",
        run: relabel_openapi_31,
    },
    Pass {
        name: "keep_schemaless_bodies",
        run: keep_schemaless_bodies,
    },
    Pass {
        name: "unify_error_schemas",
        run: unify_error_schemas,
    },
];

const HTTP_METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Keywords that exist only in OpenAPI 3.1 / JSON Schema 2020-12 schemas.
const SCHEMA_31_ONLY: &[&str] = &[
    "const",
    "prefixItems",
    "unevaluatedProperties",
    "unevaluatedItems",
    "dependentSchemas",
    "dependentRequired",
    "if",
    "then",
    "else",
    "$defs",
    "$schema",
    "$anchor",
    "$dynamicRef",
    "$dynamicAnchor",
    "contentMediaType",
    "contentEncoding",
    "contentSchema",
    "propertyNames",
    "minContains",
    "maxContains",
];

/// progenitor refuses `openapi: 3.1.x`. A 3.1 document that uses nothing 3.1
/// adds is also a valid 3.0 document, so it is relabelled `3.0.3`; one that
/// does use a 3.1-only construct fails, naming it and where it stands.
pub fn relabel_openapi_31(doc: &mut Value) -> Result<Vec<String>, String> {
    let version = doc
        .get("openapi")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if !version.starts_with("3.1") {
        return Ok(vec![]);
    }
    for key in ["webhooks", "jsonSchemaDialect"] {
        if doc.get(key).is_some() {
            return Err(format!(
                "`{key}` at /{key} is an OpenAPI 3.1-only construct; progenitor 0.15 reads 3.0 only, so this document cannot be relabelled"
            ));
        }
    }
    let mut found = Vec::new();
    for_each_schema(doc, &mut |pointer, schema| {
        if let Some(problem) = schema_31_construct(schema) {
            found.push(format!("{problem} at {pointer}"));
        }
    });
    if let Some(first) = found.first() {
        return Err(format!(
            "{first} is an OpenAPI 3.1-only construct ({} in all); progenitor 0.15 reads 3.0 only, so this document cannot be relabelled",
            found.len()
        ));
    }
    doc["openapi"] = json!("3.0.3");
    Ok(vec![format!(
        "relabelled openapi {version} as 3.0.3: no 3.1-only construct is used"
    )])
}

fn schema_31_construct(schema: &Map<String, Value>) -> Option<String> {
    if let Some(key) = SCHEMA_31_ONLY.iter().find(|k| schema.contains_key(**k)) {
        return Some(format!("keyword `{key}`"));
    }
    if schema.get("type").is_some_and(Value::is_array) {
        return Some("`type` given as an array".into());
    }
    if schema.get("type").and_then(Value::as_str) == Some("null") {
        return Some("`type: null`".into());
    }
    for key in ["exclusiveMinimum", "exclusiveMaximum"] {
        if schema.get(key).is_some_and(Value::is_number) {
            return Some(format!("numeric `{key}`"));
        }
    }
    if schema.get("examples").is_some_and(Value::is_array) {
        return Some("schema `examples` array".into());
    }
    if schema.contains_key("$ref") && schema.len() > 1 {
        return Some("keywords beside `$ref`".into());
    }
    None
}

/// progenitor `todo!()`s on a JSON media type without a schema, and drops the
/// body of a success response that declares no content at all. The first gets
/// the empty schema (any JSON value); the second gets a raw byte stream, so the
/// caller still receives what the server sent.
pub fn keep_schemaless_bodies(doc: &mut Value) -> Result<Vec<String>, String> {
    let mut notes = Vec::new();
    for_each_operation(doc, &mut |op_id, op| {
        let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
            return Ok(());
        };
        for (status, response) in responses.iter_mut() {
            let Some(response) = response.as_object_mut() else {
                continue;
            };
            if response.contains_key("$ref") {
                continue;
            }
            match response.get_mut("content").and_then(Value::as_object_mut) {
                Some(content) => {
                    for (media, body) in content.iter_mut() {
                        let is_json =
                            media == "application/json" || media.starts_with("application/json;");
                        if is_json && body.get("schema").is_none() {
                            body["schema"] = json!({});
                            notes.push(format!(
                                "{op_id} {status} {media}: no schema, typed as any JSON value"
                            ));
                        }
                    }
                }
                None if status.starts_with('2') => {
                    response.insert(
                        "content".into(),
                        json!({"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}),
                    );
                    notes.push(format!(
                        "{op_id} {status}: no content declared, body kept as a byte stream"
                    ));
                }
                None => {}
            }
        }
        Ok(())
    })?;
    Ok(notes)
}

/// progenitor asserts that every non-2xx response of an operation has one
/// type. Error schemas that differ only in annotations (examples, descriptions)
/// are re-pointed at the first one; schemas that really differ are joined in a
/// `oneOf`, so each status still decodes as what it is.
pub fn unify_error_schemas(doc: &mut Value) -> Result<Vec<String>, String> {
    let components = doc
        .pointer("/components/schemas")
        .cloned()
        .unwrap_or(json!({}));
    let mut notes = Vec::new();
    let mut unions: Vec<(String, Value)> = Vec::new();
    for_each_operation(doc, &mut |op_id, op| {
        let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
            return Ok(());
        };
        let errors: Vec<String> = responses
            .keys()
            .filter(|s| !s.starts_with('2') && s.as_str() != "101")
            .cloned()
            .collect();
        let mut typed: Vec<(String, Value)> = Vec::new();
        let mut untyped: Vec<String> = Vec::new();
        for status in &errors {
            match json_schema(&responses[status]) {
                Some(schema) => typed.push((status.clone(), schema.clone())),
                None => untyped.push(status.clone()),
            }
        }
        if typed.is_empty() {
            return Ok(());
        }
        if let Some(status) = untyped.first() {
            return Err(format!(
                "operation `{op_id}`: error response {status} has no JSON body while {} has one; progenitor needs one error type per operation, so document {status}'s body",
                typed[0].0
            ));
        }
        let (first_status, first) = typed[0].clone();
        let shape = |s: &Value| strip_annotations(&resolve(s, &components));
        let mut distinct: Vec<Value> = vec![first.clone()];
        for (_, schema) in &typed[1..] {
            if !distinct.iter().any(|d| shape(d) == shape(schema)) {
                distinct.push(schema.clone());
            }
        }
        let target = if distinct.len() == 1 {
            first
        } else {
            let name = format!("{op_id}_error");
            unions.push((
                name.clone(),
                json!({"oneOf": distinct, "x-seedance-mini-pass": "unify_error_schemas"}),
            ));
            json!({"$ref": format!("#/components/schemas/{name}")})
        };
        for (status, schema) in &typed {
            if *schema != target {
                set_json_schema(
                    responses.get_mut(status).expect("status listed above"),
                    target.clone(),
                );
                notes.push(format!(
                    "{op_id} {status}: error schema {} joined to {}",
                    describe(schema),
                    if distinct.len() == 1 {
                        format!("{first_status}'s {}", describe(&target))
                    } else {
                        describe(&target)
                    }
                ));
            }
        }
        Ok(())
    })?;
    if !unions.is_empty() {
        let schemas = doc
            .pointer_mut("/components/schemas")
            .and_then(Value::as_object_mut)
            .ok_or("document has no /components/schemas to hold the joined error schemas")?;
        for (name, schema) in unions {
            schemas.insert(name, schema);
        }
    }
    Ok(notes)
}

fn describe(schema: &Value) -> String {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => format!("`{}`", r.rsplit('/').next().unwrap_or(r)),
        None => "an inline schema".into(),
    }
}

fn json_schema(response: &Value) -> Option<&Value> {
    response
        .get("content")?
        .as_object()?
        .iter()
        .find(|(m, _)| *m == "application/json" || m.starts_with("application/json;"))
        .and_then(|(_, mt)| mt.get("schema"))
}

fn set_json_schema(response: &mut Value, schema: Value) {
    if let Some(content) = response.get_mut("content").and_then(Value::as_object_mut) {
        for (media, body) in content.iter_mut() {
            if media == "application/json" || media.starts_with("application/json;") {
                body["schema"] = schema.clone();
            }
        }
    }
}

/// Follows `#/components/schemas/...` references, one level at a time, down
/// through properties and items, so two schemas can be compared by shape.
fn resolve(schema: &Value, components: &Value) -> Value {
    fn go(schema: &Value, components: &Value, depth: usize) -> Value {
        if depth > 32 {
            return schema.clone();
        }
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            let name = r.trim_start_matches("#/components/schemas/");
            return match components.get(name) {
                Some(target) => go(target, components, depth + 1),
                None => schema.clone(),
            };
        }
        match schema {
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), go(v, components, depth + 1)))
                    .collect(),
            ),
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| go(v, components, depth + 1)).collect())
            }
            other => other.clone(),
        }
    }
    go(schema, components, 0)
}

/// Drops what does not change which JSON a schema accepts.
fn strip_annotations(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| {
                    !matches!(k.as_str(), "example" | "examples" | "description" | "title")
                        && !k.starts_with("x-")
                })
                .map(|(k, v)| (k.clone(), strip_annotations(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(strip_annotations).collect()),
        other => other.clone(),
    }
}

/// A visitor of one operation: its id and its body.
pub type OperationVisitor<'a> = dyn FnMut(&str, &mut Map<String, Value>) -> Result<(), String> + 'a;

/// Calls `f` with each operation's id and body.
pub fn for_each_operation(doc: &mut Value, f: &mut OperationVisitor<'_>) -> Result<(), String> {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return Ok(());
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, op) in item.iter_mut() {
            if !HTTP_METHODS.contains(&method.as_str()) {
                continue;
            }
            let Some(op) = op.as_object_mut() else {
                continue;
            };
            let id = op
                .get("operationId")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| format!("{} {path}", method.to_uppercase()));
            f(&id, op)?;
        }
    }
    Ok(())
}

/// Calls `f` with the JSON pointer and body of every schema object in the
/// document: components, parameters, bodies, and everything nested in them.
fn for_each_schema(doc: &Value, f: &mut dyn FnMut(&str, &Map<String, Value>)) {
    fn schema(v: &Value, at: &str, f: &mut dyn FnMut(&str, &Map<String, Value>)) {
        let Some(map) = v.as_object() else { return };
        f(at, map);
        for key in ["items", "not", "additionalProperties"] {
            if let Some(child) = map.get(key) {
                schema(child, &format!("{at}/{key}"), f);
            }
        }
        for key in ["allOf", "anyOf", "oneOf"] {
            if let Some(list) = map.get(key).and_then(Value::as_array) {
                for (i, child) in list.iter().enumerate() {
                    schema(child, &format!("{at}/{key}/{i}"), f);
                }
            }
        }
        if let Some(props) = map.get("properties").and_then(Value::as_object) {
            for (name, child) in props {
                schema(child, &format!("{at}/properties/{}", escape(name)), f);
            }
        }
    }
    fn anywhere(v: &Value, at: &str, f: &mut dyn FnMut(&str, &Map<String, Value>)) {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    let here = format!("{at}/{}", escape(k));
                    if k == "schema" {
                        schema(child, &here, f);
                    } else if k == "schemas" && at == "/components" {
                        if let Some(all) = child.as_object() {
                            for (name, s) in all {
                                schema(s, &format!("{here}/{}", escape(name)), f);
                            }
                        }
                    } else {
                        anywhere(child, &here, f);
                    }
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    anywhere(child, &format!("{at}/{i}"), f);
                }
            }
            _ => {}
        }
    }
    anywhere(doc, "", f);
}

fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relabels_a_31_document_that_uses_nothing_new() {
        let mut doc = json!({"openapi": "3.1.0", "paths": {}, "components": {"schemas": {"A": {"type": "object", "properties": {"if": {"type": "string"}}}}}});
        let notes = relabel_openapi_31(&mut doc).unwrap();
        assert_eq!(doc["openapi"], "3.0.3");
        assert_eq!(notes.len(), 1);
    }

    #[test]
    fn refuses_a_31_document_that_uses_type_arrays_and_names_the_place() {
        let mut doc = json!({"openapi": "3.1.0", "components": {"schemas": {"A": {"properties": {"b": {"type": ["string", "null"]}}}}}});
        let err = relabel_openapi_31(&mut doc).unwrap_err();
        assert!(
            err.contains("`type` given as an array at /components/schemas/A/properties/b"),
            "{err}"
        );
        assert_eq!(doc["openapi"], "3.1.0", "nothing half-done");
    }

    #[test]
    fn refuses_webhooks_and_const() {
        let mut doc = json!({"openapi": "3.1.0", "webhooks": {}});
        assert!(relabel_openapi_31(&mut doc)
            .unwrap_err()
            .contains("`webhooks`"));
        let mut doc = json!({"openapi": "3.1.1", "paths": {"/a": {"get": {"responses": {"200": {"content": {"application/json": {"schema": {"const": 1}}}}}}}}});
        let err = relabel_openapi_31(&mut doc).unwrap_err();
        assert!(
            err.contains(
                "keyword `const` at /paths/~1a/get/responses/200/content/application~1json/schema"
            ),
            "{err}"
        );
    }

    #[test]
    fn leaves_30_documents_alone() {
        let mut doc = json!({"openapi": "3.0.1"});
        assert!(relabel_openapi_31(&mut doc).unwrap().is_empty());
        assert_eq!(doc["openapi"], "3.0.1");
    }

    #[test]
    fn schemaless_json_becomes_any_and_empty_success_keeps_its_bytes() {
        let mut doc = json!({"paths": {"/a": {"post": {"operationId": "a", "responses": {
            "200": {"description": "ok"},
            "400": {"description": "bad", "content": {"application/json": {}}},
            "404": {"description": "none"}
        }}}}});
        let notes = keep_schemaless_bodies(&mut doc).unwrap();
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert_eq!(
            doc.pointer(
                "/paths/~1a/post/responses/200/content/application~1octet-stream/schema/format"
            )
            .unwrap(),
            "binary"
        );
        assert_eq!(
            doc.pointer("/paths/~1a/post/responses/400/content/application~1json/schema")
                .unwrap(),
            &json!({})
        );
        assert!(
            doc.pointer("/paths/~1a/post/responses/404/content")
                .is_none(),
            "error bodies are not invented"
        );
    }

    fn error_doc(b500: Value) -> Value {
        json!({"paths": {"/a": {"get": {"operationId": "a", "responses": {
            "200": {"content": {"application/json": {"schema": {"type": "object"}}}},
            "400": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/E400"}}}},
            "500": {"content": {"application/json": {"schema": b500}}}
        }}}}, "components": {"schemas": {
            "E400": {"type": "object", "properties": {"message": {"type": "string"}}, "example": {"message": "m"}},
            "E500": {"type": "object", "properties": {"message": {"type": "string", "example": "Internal"}}},
            "Other": {"type": "object", "properties": {"code": {"type": "integer"}}}
        }}})
    }

    #[test]
    fn same_shaped_error_schemas_point_at_the_first() {
        let mut doc = error_doc(json!({"$ref": "#/components/schemas/E500"}));
        let notes = unify_error_schemas(&mut doc).unwrap();
        assert_eq!(
            notes,
            vec!["a 500: error schema `E500` joined to 400's `E400`"]
        );
        assert_eq!(
            doc.pointer("/paths/~1a/get/responses/500/content/application~1json/schema/$ref")
                .unwrap(),
            "#/components/schemas/E400"
        );
    }

    #[test]
    fn differently_shaped_error_schemas_become_a_one_of() {
        let mut doc = error_doc(json!({"$ref": "#/components/schemas/Other"}));
        unify_error_schemas(&mut doc).unwrap();
        let union = doc
            .pointer("/components/schemas/a_error/oneOf")
            .unwrap()
            .as_array()
            .unwrap();
        assert_eq!(union.len(), 2);
        for s in ["400", "500"] {
            let p = format!("/paths/~1a/get/responses/{s}/content/application~1json/schema/$ref");
            assert_eq!(doc.pointer(&p).unwrap(), "#/components/schemas/a_error");
        }
    }

    #[test]
    fn an_error_without_a_body_beside_one_with_a_body_is_named() {
        let mut doc = error_doc(json!({"$ref": "#/components/schemas/E500"}));
        doc["paths"]["/a"]["get"]["responses"]["503"] = json!({"description": "down"});
        let err = unify_error_schemas(&mut doc).unwrap_err();
        assert!(
            err.contains("operation `a`: error response 503 has no JSON body"),
            "{err}"
        );
    }
}
