//! Named rules that say what a change means for this crate, and the checks
//! drift does not make.

use drift::{ChangeClass, ChangeDetails, ChangeInfo, JsonPathStack};
use serde_json::Value;

use super::{Finding, Impact};

/// One drift change, located.
pub(super) struct Raw<'a> {
    pub operation: Option<String>,
    pub direction: &'static str,
    pub new_path: String,
    pub old_path: String,
    pub info: &'a ChangeInfo,
    pub old: &'a Value,
    pub new: &'a Value,
}

/// Every operation that uses the component at the start of `pointer`
/// (`#/components/schemas/X/...`), directly or through other components.
pub(super) fn operations_using(doc: &Value, pointer: &str) -> Vec<String> {
    let Some(rest) = pointer.strip_prefix("#/components/") else {
        return Vec::new();
    };
    let mut parts = rest.splitn(3, '/');
    let (Some(kind), Some(name)) = (parts.next(), parts.next()) else {
        return Vec::new();
    };
    let mut targets = vec![format!("\"#/components/{kind}/{name}\"")];
    // Components that refer to a target are targets too, until nothing changes.
    let components: Vec<(String, String)> = doc
        .get("components")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|c| c.iter())
        .filter_map(|(k, v)| Some((k, v.as_object()?)))
        .flat_map(|(k, m)| {
            m.iter()
                .map(move |(n, v)| (format!("\"#/components/{k}/{n}\""), v.to_string()))
        })
        .collect();
    loop {
        let before = targets.len();
        for (reference, text) in &components {
            if !targets.contains(reference) && targets.iter().any(|t| text.contains(t.as_str())) {
                targets.push(reference.clone());
            }
        }
        if targets.len() == before {
            break;
        }
    }
    let mut found = Vec::new();
    for item in doc
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|p| p.values())
    {
        for op in item.as_object().into_iter().flat_map(|o| o.values()) {
            let text = op.to_string();
            if targets.iter().any(|t| text.contains(t.as_str())) {
                if let Some(id) = op.get("operationId").and_then(Value::as_str) {
                    found.push(id.to_string());
                }
            }
        }
    }
    found
}

/// The `operationId` of the endpoint a path stack starts from.
pub(super) fn operation_of(doc: &Value, stack: &JsonPathStack) -> Option<String> {
    let base = stack.endpoint_base()?;
    let pointer = base.trim_start_matches('#');
    doc.pointer(pointer)?
        .get("operationId")?
        .as_str()
        .map(String::from)
}

fn impact(class: ChangeClass) -> Impact {
    match class {
        ChangeClass::BackwardIncompatible => Impact::BreaksClients,
        ChangeClass::ForwardIncompatible => Impact::BreaksServers,
        ChangeClass::Incompatible => Impact::BreaksBoth,
        ChangeClass::Trivial => Impact::Compatible,
        ChangeClass::Unhandled => Impact::Unclassified,
    }
}

fn kind(details: ChangeDetails) -> &'static str {
    match details {
        ChangeDetails::Metadata => "metadata",
        ChangeDetails::Added => "added",
        ChangeDetails::Removed => "removed",
        ChangeDetails::AddedRequired => "added required",
        ChangeDetails::MoreStrict => "more strict",
        ChangeDetails::LessStrict => "less strict",
        ChangeDetails::Datatype => "datatype",
        ChangeDetails::UnknownDifference => "unknown difference",
    }
}

/// The last property name in a JSON pointer (`.../properties/status` -> `status`).
fn field(path: &str) -> Option<&str> {
    let mut parts = path.rsplit('/').peekable();
    while let Some(part) = parts.next() {
        if parts.peek() == Some(&"properties") {
            return Some(part);
        }
    }
    None
}

/// The words a status enum gained between the two documents.
fn new_words(raw: &Raw<'_>) -> Vec<String> {
    let words = |doc: &Value, path: &str| -> Vec<String> {
        lookup(doc, path)
            .and_then(|s| s.get("enum"))
            .and_then(Value::as_array)
            .map(|w| {
                w.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let old = words(raw.old, &raw.old_path);
    words(raw.new, &raw.new_path)
        .into_iter()
        .filter(|w| !old.contains(w))
        .collect()
}

/// What new status words do to the client and the waiter, word by word.
fn status_meaning(raw: &Raw<'_>) -> String {
    let words = new_words(raw);
    let mut parts = Vec::new();
    for word in &words {
        match crate::TaskStatus::parse(word) {
            crate::TaskStatus::Unknown(_) => parts.push(format!(
                "`{word}` reaches `TaskStatus::Unknown`; the waiter keeps polling it until its deadline"
            )),
            known => parts.push(format!(
                "`{word}` already maps to `TaskStatus::{known:?}`, so the waiter {}",
                if known.is_terminal() { "stops on it" } else { "keeps polling" }
            )),
        }
    }
    if parts.is_empty() {
        parts.push(
            "a new status word reaches `TaskStatus::Unknown`; the waiter keeps polling it".into(),
        );
    }
    format!(
        "{}. The generated enum refuses the new word (the client falls back to the raw JSON); \
         map it in `TaskStatus::parse` and teach the mock to answer it.",
        parts.join("; ")
    )
}

/// Says what one change means, by the first rule that fits.
pub(super) fn explain(raw: Raw<'_>) -> Finding {
    let info = raw.info;
    let name = field(&raw.new_path)
        .or_else(|| field(&raw.old_path))
        .map(|f| format!("`{f}`"))
        .unwrap_or_else(|| "this".into());
    let status = name == "`status`";
    let (rule, meaning) = match (raw.direction, info.details) {
        ("response", ChangeDetails::LessStrict | ChangeDetails::Added) if status => {
            ("new_status_word", status_meaning(&raw))
        }
        ("response", ChangeDetails::Datatype) => (
            "response_retyped",
            format!(
                "{name} changes type: answers in the new shape no longer decode into the old \
                 bindings (`Error::Decode`), and code that reads {name} must change; the mock \
                 built from OLD still answers the old type."
            ),
        ),
        ("response", ChangeDetails::Removed) => (
            "response_field_removed",
            format!(
                "{name} is no longer sent: old bindings that require it fail to decode, and \
                 code that reads it gets nothing."
            ),
        ),
        ("response", ChangeDetails::Added) => (
            "response_field_added",
            format!("{name} is new in answers: old bindings ignore it; regenerate to read it."),
        ),
        ("response", ChangeDetails::MoreStrict) => (
            "response_narrowed",
            format!("{name} is narrower in answers: old bindings still accept every value."),
        ),
        ("response", ChangeDetails::LessStrict) => (
            "response_widened",
            format!(
                "{name} takes more values in answers: old bindings may refuse the new ones \
                 (`Error::Decode`)."
            ),
        ),
        ("request", ChangeDetails::AddedRequired) => (
            "request_field_required",
            format!(
                "the provider now requires {name}, which this crate does not send: every create \
                 is refused until the provider's module maps it (and `VideoRequest` gains it); \
                 the mock built from OLD does not ask for it."
            ),
        ),
        ("request", ChangeDetails::Added) => (
            "request_field_added",
            format!(
                "{name} is a new optional request field: nothing breaks; `VideoRequest` cannot \
                 set it until it is mapped."
            ),
        ),
        ("request", ChangeDetails::Removed) => (
            "request_field_removed",
            format!(
                "{name} is gone from requests: the old bindings may still send it, and the \
                 provider may refuse or ignore it."
            ),
        ),
        ("request", ChangeDetails::MoreStrict) => (
            "request_narrowed",
            format!(
                "{name} accepts fewer values: requests the old validation lets through may be \
                 refused; tighten the provider's `validate`."
            ),
        ),
        ("request", ChangeDetails::LessStrict) => (
            "request_widened",
            format!(
                "{name} accepts more values: old validation refuses some the provider now \
                 takes; the mock built from OLD refuses them too."
            ),
        ),
        ("request", ChangeDetails::Datatype) => (
            "request_retyped",
            format!("{name} changes type in requests: what the old bindings send is refused."),
        ),
        (_, ChangeDetails::Removed) => (
            "operation_removed",
            "an operation (or a part of the document) is gone: calls to it fail.".into(),
        ),
        (_, ChangeDetails::Added) => (
            "operation_added",
            "something new in the document: the old bindings do not offer it; the mock built \
             from OLD answers it 404."
                .into(),
        ),
        (_, ChangeDetails::Metadata) => (
            "metadata",
            "documentation or metadata only: nothing on the wire changes.".into(),
        ),
        _ => (
            "unclassified",
            "drift could not classify this change: read it before regenerating.".into(),
        ),
    };
    Finding {
        operation: raw.operation,
        direction: raw.direction,
        path: raw.new_path,
        old_path: raw.old_path,
        impact: impact(info.class),
        kind: kind(info.details).to_string(),
        message: info.message.clone(),
        rule,
        meaning,
    }
}

/// Checks drift does not make. None beyond [`compose`] are needed yet: each
/// rule added here names the case and comes with a test.
pub(super) fn extra(_old: &Value, _new: &Value, _found: &[Finding]) -> Vec<Finding> {
    Vec::new()
}

/// A drift pointer in a document: drift names a request body `request_body`.
fn lookup<'v>(doc: &'v Value, pointer: &str) -> Option<&'v Value> {
    let pointer = pointer
        .trim_start_matches('#')
        .replace("/request_body/", "/requestBody/");
    doc.pointer(&pointer)
}

/// Rule `composed_schema`: drift 0.2 reports a change under `allOf`, `oneOf`
/// or `anyOf`, and a change to an object's properties or required list, as an
/// unhandled "unknown difference" at the schema. This compares the two
/// schemas itself (members pairwise, following `$ref`s) for the changes the
/// other rules name: a retyped, removed or added property, a new required
/// field, an enum that gained or lost words. `None` when it finds nothing to
/// say, so the change stays unclassified.
pub(super) fn compose(raw: &Raw<'_>) -> Option<Vec<Finding>> {
    if raw.info.details != ChangeDetails::UnknownDifference {
        return None;
    }
    let old = lookup(raw.old, &raw.old_path)?;
    let new = lookup(raw.new, &raw.new_path)?;
    let mut found = Vec::new();
    let walk = Walk {
        old_doc: raw.old,
        new_doc: raw.new,
        response: raw.direction == "response",
    };
    walk.schema(old, new, &raw.new_path, &raw.old_path, 0, &mut found);
    if found.is_empty() {
        return None;
    }
    Some(
        found
            .into_iter()
            .map(|(new_path, old_path, details, class, message)| {
                let info = ChangeInfo {
                    old_subpath: String::new(),
                    new_subpath: String::new(),
                    message,
                    class,
                    details,
                };
                let mut finding = explain(Raw {
                    operation: raw.operation.clone(),
                    direction: raw.direction,
                    new_path,
                    old_path,
                    info: &info,
                    old: raw.old,
                    new: raw.new,
                });
                finding.rule = match finding.rule {
                    "unclassified" => "composed_schema",
                    named => named,
                };
                finding
            })
            .collect(),
    )
}

type Found = (String, String, ChangeDetails, ChangeClass, String);

fn words(values: &[&Value]) -> String {
    values
        .iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

struct Walk<'a> {
    old_doc: &'a Value,
    new_doc: &'a Value,
    /// Answers (clients read them) rather than requests (clients write them).
    response: bool,
}

impl Walk<'_> {
    fn resolve<'v>(doc: &'v Value, mut schema: &'v Value) -> &'v Value {
        for _ in 0..16 {
            match schema.get("$ref").and_then(Value::as_str) {
                Some(r) => match doc.pointer(r.trim_start_matches('#')) {
                    Some(target) => schema = target,
                    None => return schema,
                },
                None => return schema,
            }
        }
        schema
    }

    /// The class of a change that only ever breaks readers (a response) or writers (a request).
    fn breaks(&self, readers: bool) -> ChangeClass {
        match (self.response, readers) {
            (true, true) | (false, false) => ChangeClass::BackwardIncompatible,
            _ => ChangeClass::ForwardIncompatible,
        }
    }

    fn schema(
        &self,
        old: &Value,
        new: &Value,
        new_path: &str,
        old_path: &str,
        depth: usize,
        found: &mut Vec<Found>,
    ) {
        if depth > 24 {
            return;
        }
        let (old, new) = (
            Self::resolve(self.old_doc, old),
            Self::resolve(self.new_doc, new),
        );
        if old == new {
            return;
        }
        let mut add = |details, class, message: String| {
            found.push((
                new_path.to_string(),
                old_path.to_string(),
                details,
                class,
                message,
            ));
        };
        if let (Some(a), Some(b)) = (old.get("type"), new.get("type")) {
            if a != b {
                add(
                    ChangeDetails::Datatype,
                    ChangeClass::Incompatible,
                    format!("type changed from {a} to {b}"),
                );
                return;
            }
        }
        if let (Some(Value::Array(a)), Some(Value::Array(b))) = (old.get("enum"), new.get("enum")) {
            let added: Vec<&Value> = b.iter().filter(|w| !a.contains(w)).collect();
            let removed: Vec<&Value> = a.iter().filter(|w| !b.contains(w)).collect();
            if !added.is_empty() {
                add(
                    ChangeDetails::LessStrict,
                    self.breaks(true),
                    format!("enum gained {}", words(&added)),
                );
            }
            if !removed.is_empty() {
                add(
                    ChangeDetails::MoreStrict,
                    self.breaks(false),
                    format!("enum lost {}", words(&removed)),
                );
            }
        }
        let required = |s: &Value| -> Vec<String> {
            s.get("required")
                .and_then(Value::as_array)
                .map(|r| {
                    r.iter()
                        .filter_map(|v| v.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default()
        };
        let (old_req, new_req) = (required(old), required(new));
        for name in new_req.iter().filter(|n| !old_req.contains(n)) {
            let path = format!("{new_path}/properties/{name}");
            let class = if self.response {
                ChangeClass::ForwardIncompatible
            } else {
                ChangeClass::BackwardIncompatible
            };
            found.push((
                path.clone(),
                path,
                ChangeDetails::AddedRequired,
                class,
                format!("`{name}` became required"),
            ));
        }
        let empty = serde_json::Map::new();
        let props = |s: &Value| {
            s.get("properties")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_else(|| empty.clone())
        };
        let (a, b) = (props(old), props(new));
        for (name, schema) in &a {
            let (np, op) = (
                format!("{new_path}/properties/{name}"),
                format!("{old_path}/properties/{name}"),
            );
            match b.get(name) {
                Some(other) => self.schema(schema, other, &np, &op, depth + 1, found),
                None => found.push((
                    op.clone(),
                    op,
                    ChangeDetails::Removed,
                    self.breaks(true),
                    format!("property `{name}` removed"),
                )),
            }
        }
        for name in b
            .keys()
            .filter(|k| !a.contains_key(*k) && !new_req.contains(k))
        {
            let np = format!("{new_path}/properties/{name}");
            found.push((
                np.clone(),
                np,
                ChangeDetails::Added,
                ChangeClass::Trivial,
                format!("property `{name}` added"),
            ));
        }
        if let (Some(x), Some(y)) = (old.get("items"), new.get("items")) {
            self.schema(
                x,
                y,
                &format!("{new_path}/items"),
                &format!("{old_path}/items"),
                depth + 1,
                found,
            );
        }
        for key in ["allOf", "oneOf", "anyOf"] {
            if let (Some(Value::Array(x)), Some(Value::Array(y))) = (old.get(key), new.get(key)) {
                for (i, (p, q)) in x.iter().zip(y).enumerate() {
                    self.schema(
                        p,
                        q,
                        &format!("{new_path}/{key}/{i}"),
                        &format!("{old_path}/{key}/{i}"),
                        depth + 1,
                        found,
                    );
                }
            }
        }
        if let (Value::Array(x), Value::Array(y)) = (old, new) {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                self.schema(
                    p,
                    q,
                    &format!("{new_path}/{i}"),
                    &format!("{old_path}/{i}"),
                    depth + 1,
                    found,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn composed_schema_finds_a_retyped_member_property_through_a_ref() {
        let doc = |t: &str| {
            json!({ "components": { "schemas": {
                "base": { "type": "object", "properties": { "id": { "type": "string" } } },
                "detail": { "allOf": [ { "$ref": "#/components/schemas/base" },
                    { "type": "object", "properties": { "n": { "type": t } } } ] }
            }}})
        };
        let (old, new) = (doc("string"), doc("integer"));
        let info = ChangeInfo {
            old_subpath: String::new(),
            new_subpath: String::new(),
            message: "unknown".into(),
            class: ChangeClass::Unhandled,
            details: ChangeDetails::UnknownDifference,
        };
        let path = "#/components/schemas/detail/allOf".to_string();
        let raw = Raw {
            operation: Some("get".into()),
            direction: "response",
            new_path: path.clone(),
            old_path: path,
            info: &info,
            old: &old,
            new: &new,
        };
        let found = compose(&raw).expect("the rule explains it");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].rule, "response_retyped");
        assert_eq!(
            found[0].path,
            "#/components/schemas/detail/allOf/1/properties/n"
        );
        assert!(found[0].impact.is_breaking());
    }

    #[test]
    fn drift_request_body_pointers_resolve() {
        let doc = json!({ "paths": { "/x": { "post": { "requestBody": { "a": 1 } } } } });
        assert_eq!(
            lookup(&doc, "#/paths/~1x/post/request_body/a"),
            Some(&json!(1))
        );
    }
}
