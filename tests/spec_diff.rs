//! `spec diff` on modified copies of each vendored document: the change a
//! provider could publish, its classification and exit code, through the
//! library and through the binary; each document against itself reports
//! nothing; bad input is exit 2 with the file, line and column.
#![cfg(feature = "cli")]

use std::path::{Path, PathBuf};
use std::process::Command;

use seedance_mini::spec::{diff, Document, Impact};
use seedance_mini::Provider;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_seedance-mini");

fn vendored_json(file: &str) -> Value {
    let text = std::fs::read_to_string(format!("openapi/{file}")).unwrap();
    serde_saphyr::from_str(&text).unwrap()
}

/// Calls `f` on every object in `v`.
fn walk(v: &mut Value, f: &mut dyn FnMut(&mut serde_json::Map<String, Value>)) {
    match v {
        Value::Object(map) => {
            f(map);
            for child in map.values_mut() {
                walk(child, f);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|c| walk(c, f)),
        _ => {}
    }
}

/// Writes `doc` as JSON (YAML's subset) into `dir` and returns its path.
fn write(dir: &Path, name: &str, doc: &Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(doc).unwrap()).unwrap();
    path
}

/// Magnific: `generated` items become integers.
fn magnific_retyped() -> Value {
    let mut doc = vendored_json("magnific.yaml");
    let mut hits = 0;
    walk(&mut doc, &mut |map| {
        if let Some(Value::Object(props)) = map.get_mut("properties") {
            if let Some(items) = props.get_mut("generated").and_then(|g| g.get_mut("items")) {
                items["type"] = "integer".into();
                hits += 1;
            }
        }
    });
    assert!(hits > 0);
    doc
}

/// Anyfast: the create's body gains a required field.
fn anyfast_required() -> Value {
    let mut doc = vendored_json("anyfast.yaml");
    let schema = doc
        .pointer_mut(
            "/paths/~1v1~1video~1generations/post/requestBody/content/application~1json/schema",
        )
        .unwrap();
    schema["properties"]["callback_token"] = serde_json::json!({ "type": "string" });
    schema["required"]
        .as_array_mut()
        .unwrap()
        .push("callback_token".into());
    doc
}

/// Powertokens: a task's status gains a word.
fn powertokens_status_word() -> Value {
    let mut doc = vendored_json("powertokens.yaml");
    let mut hits = 0;
    walk(&mut doc, &mut |map| {
        if let Some(Value::Object(props)) = map.get_mut("properties") {
            if let Some(Value::Array(words)) =
                props.get_mut("status").and_then(|s| s.get_mut("enum"))
            {
                if words.iter().any(|w| w == "in_progress") {
                    words.push("cancelled".into());
                    hits += 1;
                }
            }
        }
    });
    assert!(hits > 0);
    doc
}

fn cases() -> Vec<(Provider, &'static str, Value, &'static str)> {
    vec![
        (
            Provider::Magnific,
            "magnific.yaml",
            magnific_retyped(),
            "response_retyped",
        ),
        (
            Provider::Anyfast,
            "anyfast.yaml",
            anyfast_required(),
            "request_field_required",
        ),
        (
            Provider::Powertokens,
            "powertokens.yaml",
            powertokens_status_word(),
            "new_status_word",
        ),
    ]
}

#[test]
fn each_modification_is_classified_as_breaking_for_clients_built_from_old() {
    let dir = tempfile::tempdir().unwrap();
    for (provider, file, modified, rule) in cases() {
        let new = Document::read(&write(dir.path(), file, &modified)).unwrap();
        let report = diff(&Document::vendored(provider), &new).unwrap();
        println!("{}", report.render());
        let hit = report
            .changes
            .iter()
            .find(|c| c.rule == rule)
            .unwrap_or_else(|| panic!("{provider}: no {rule} in {report:#?}"));
        assert!(
            matches!(hit.impact, Impact::BreaksClients | Impact::BreaksBoth),
            "{provider}: {hit:?}"
        );
        assert!(
            hit.operation.is_some(),
            "{provider}: names the operation: {hit:?}"
        );
        assert!(
            hit.path.starts_with("#/"),
            "{provider}: a JSON path: {hit:?}"
        );
        assert_eq!(report.exit_code(), 1, "{provider}");
    }
}

#[test]
fn each_vendored_document_against_itself_reports_no_change() {
    for &provider in Provider::ALL {
        let report = diff(&Document::vendored(provider), &Document::vendored(provider)).unwrap();
        assert!(report.changes.is_empty(), "{provider}: {report:#?}");
        assert_eq!(report.exit_code(), 0);
    }
}

#[test]
fn the_binary_reports_in_text_and_json_with_the_documented_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    for (provider, file, modified, rule) in cases() {
        let new = write(dir.path(), file, &modified);
        let out = Command::new(BIN)
            .args(["spec", "diff", "--vendored", provider.name()])
            .arg(&new)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("BREAKS clients") && text.contains(rule),
            "{text}"
        );

        let out = Command::new(BIN)
            .args(["--json", "spec", "diff", "--vendored", provider.name()])
            .arg(&new)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["schema_version"], 1);
        assert!(
            v["changes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["rule"] == rule),
            "{v}"
        );

        // OLD and NEW as files: the same answer.
        let old = dir.path().join(format!("old-{file}"));
        std::fs::copy(format!("openapi/{file}"), &old).unwrap();
        let out = Command::new(BIN)
            .args(["spec", "diff"])
            .arg(&old)
            .arg(&new)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let same = Command::new(BIN)
            .args(["spec", "diff"])
            .arg(&old)
            .arg(&old)
            .output()
            .unwrap();
        assert_eq!(
            same.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&same.stdout)
        );
    }
}

#[test]
fn bad_input_is_exit_2_naming_the_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.yaml");
    std::fs::write(&broken, "openapi: 3.0.1\npaths:\n  /x: [unclosed\n").unwrap();
    let out = Command::new(BIN)
        .args(["spec", "diff", "openapi/magnific.yaml"])
        .arg(&broken)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.yaml"), "{err}");
    assert!(
        err.contains("line 3") || err.contains(":3:"),
        "names the line: {err}"
    );

    let not_openapi = dir.path().join("list.yaml");
    std::fs::write(&not_openapi, "- just\n- a list\n").unwrap();
    let out = Command::new(BIN)
        .args(["spec", "diff", "openapi/magnific.yaml"])
        .arg(&not_openapi)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an OpenAPI 3 document"));

    let missing = Command::new(BIN)
        .args(["spec", "diff", "openapi/magnific.yaml", "/no/such.yaml"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
}
