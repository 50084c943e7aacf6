//! Spec updates as a reviewed change: what changed between two versions of a
//! provider's OpenAPI document, and whether it **breaks** code built from the
//! old one.
//!
//! [`drift`] (Oxide's OpenAPI comparer, on `openapiv3` 2.2 like the build)
//! finds the changes; this module names each one's operation, direction and
//! JSON path, classifies it for *clients* built from OLD (this crate's
//! bindings talking to the provider's new API) and for *servers* built from
//! OLD (the mock, or a proxy, facing clients built from NEW), and says what
//! it means for this crate. Both documents first go through the build's own
//! normalising passes, so a 3.1 document compares like the build reads it.
//!
//! drift's classes map as: backward-incompatible, breaks clients;
//! forward-incompatible, breaks servers; incompatible, both; trivial,
//! compatible; unhandled, *unclassified* (counted as breaking, to be read).

#[allow(dead_code)]
#[path = "../../build/passes.rs"]
mod passes;

mod rules;

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

use crate::Provider;

/// A document, parsed, with the name errors and reports use for it.
#[derive(Debug, Clone)]
pub struct Document {
    /// Where it came from (a file path, or `vendored:<provider>`).
    pub name: String,
    value: Value,
}

/// Why a document could not be compared (exit code 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}: {message}")]
pub struct SpecError {
    /// The file (or `vendored:<provider>`).
    pub name: String,
    /// What is wrong, with line and column for a parse error.
    pub message: String,
}

impl Document {
    /// Parses YAML (or JSON) text that must be an OpenAPI 3 document.
    pub fn parse(name: impl Into<String>, text: &str) -> Result<Self, SpecError> {
        let name = name.into();
        let fail = |message: String| SpecError {
            name: name.clone(),
            message,
        };
        let mut value: Value =
            serde_saphyr::from_str(text).map_err(|e| fail(format!("not valid YAML: {e}")))?;
        let version = value.get("openapi").and_then(Value::as_str).unwrap_or("");
        if !version.starts_with("3.") || !value.get("paths").is_some_and(Value::is_object) {
            return Err(fail(
                "not an OpenAPI 3 document (no `openapi: 3.x` and `paths`)".into(),
            ));
        }
        for pass in passes::PASSES {
            (pass.run)(&mut value).map_err(|e| fail(format!("{}: {e}", pass.name)))?;
        }
        Ok(Document { name, value })
    }

    /// Reads and parses a file.
    pub fn read(path: &std::path::Path) -> Result<Self, SpecError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| SpecError {
            name: name.clone(),
            message: format!("cannot read: {e}"),
        })?;
        Self::parse(name, &text)
    }

    /// The document compiled into this crate for `provider`.
    pub fn vendored(provider: Provider) -> Self {
        let text = crate::fixtures::document_text(provider);
        Self::parse(format!("vendored:{provider}"), text)
            .expect("build.rs generated clients from this document")
    }
}

/// Whom a change breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "cli", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Impact {
    /// Breaks code built from OLD on both sides.
    BreaksBoth,
    /// Breaks clients built from OLD (these bindings, the CLI).
    BreaksClients,
    /// Breaks servers built from OLD (the mock, a proxy).
    BreaksServers,
    /// drift could not decide; read it.
    Unclassified,
    /// Nothing built from OLD breaks.
    Compatible,
}

impl Impact {
    /// Whether it counts as breaking (exit code 1).
    pub fn is_breaking(self) -> bool {
        self != Impact::Compatible
    }

    fn label(self) -> &'static str {
        match self {
            Impact::BreaksBoth => "BREAKS clients and servers",
            Impact::BreaksClients => "BREAKS clients",
            Impact::BreaksServers => "BREAKS servers",
            Impact::Unclassified => "UNCLASSIFIED",
            Impact::Compatible => "compatible",
        }
    }
}

/// One change.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "cli", derive(schemars::JsonSchema))]
pub struct Finding {
    /// The operation it is reached from (`operationId`), if any.
    pub operation: Option<String>,
    /// `request`, `response` or `document`.
    pub direction: &'static str,
    /// JSON pointer in the new document (the old one's when removed).
    pub path: String,
    /// JSON pointer in the old document.
    pub old_path: String,
    /// Whom it breaks.
    pub impact: Impact,
    /// What kind of change, in drift's words (`added`, `datatype`, ...).
    pub kind: String,
    /// drift's description.
    pub message: String,
    /// The named rule that explained it.
    pub rule: &'static str,
    /// What it means for this crate.
    pub meaning: String,
}

/// The changes between two documents.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "cli", derive(schemars::JsonSchema))]
pub struct Report {
    /// The old document's name.
    pub old: String,
    /// The new document's name.
    pub new: String,
    /// Every change, most severe first.
    pub changes: Vec<Finding>,
}

/// Compares `old` with `new`.
pub fn diff(old: &Document, new: &Document) -> Result<Report, SpecError> {
    let found = drift::compare(&old.value, &new.value).map_err(|e| SpecError {
        name: format!("{} -> {}", old.name, new.name),
        message: format!("cannot compare: {e:#}"),
    })?;
    let mut changes = Vec::new();
    for change in &found {
        for info in &change.changes {
            let path = change.paths.first();
            // Every operation that reaches the change: drift records one
            // path per component, and a shared schema serves several.
            let mut operations: Vec<String> = change
                .paths
                .iter()
                .filter_map(|p| {
                    rules::operation_of(&new.value, &p.new)
                        .or_else(|| rules::operation_of(&old.value, &p.old))
                })
                .collect();
            if let Some(p) = path {
                operations.extend(rules::operations_using(&new.value, p.new.current_pointer()));
            }
            operations.sort();
            operations.dedup();
            let operation = (!operations.is_empty()).then(|| operations.join(", "));
            let direction = match path.map(|p| p.comparison) {
                Some(drift::ChangeComparison::Input) => "request",
                Some(drift::ChangeComparison::Output) => "response",
                _ => "document",
            };
            let join = |base: Option<String>, sub: &str| {
                let base = base.unwrap_or_default();
                if sub.is_empty() {
                    base
                } else {
                    format!("{base}/{sub}")
                }
            };
            let new_path = join(
                path.map(|p| p.new.current_pointer().to_string()),
                &info.new_subpath,
            );
            let old_path = join(
                path.map(|p| p.old.current_pointer().to_string()),
                &info.old_subpath,
            );
            let raw = rules::Raw {
                operation,
                direction,
                new_path,
                old_path,
                info,
                old: &old.value,
                new: &new.value,
            };
            match rules::compose(&raw) {
                Some(found) => changes.extend(found),
                None => changes.push(rules::explain(raw)),
            }
        }
    }
    changes.extend(rules::extra(&old.value, &new.value, &changes));
    changes.sort_by(|a, b| (a.impact, &a.path).cmp(&(b.impact, &b.path)));
    changes.dedup();
    Ok(Report {
        old: old.name.clone(),
        new: new.name.clone(),
        changes,
    })
}

impl Report {
    /// 0 when nothing breaks, 1 when something does (unclassified included).
    pub fn exit_code(&self) -> u8 {
        u8::from(self.changes.iter().any(|c| c.impact.is_breaking()))
    }

    /// The report as people read it.
    pub fn render(&self) -> String {
        let mut out = format!("spec diff {} -> {}\n", self.old, self.new);
        if self.changes.is_empty() {
            out.push_str("no changes\n");
            return out;
        }
        for c in &self.changes {
            let op = c.operation.as_deref().unwrap_or("(document)");
            let _ = writeln!(
                out,
                "\n{}: {op} {} ({})",
                c.impact.label(),
                c.direction,
                c.kind
            );
            let _ = writeln!(out, "  at   {}", c.path);
            if c.old_path != c.path {
                let _ = writeln!(out, "  was  {}", c.old_path);
            }
            let _ = writeln!(out, "  what {}", c.message);
            let _ = writeln!(out, "  so   {} [{}]", c.meaning, c.rule);
        }
        let breaking = self
            .changes
            .iter()
            .filter(|c| c.impact.is_breaking())
            .count();
        let _ = writeln!(
            out,
            "\n{} changes, {breaking} breaking: {}",
            self.changes.len(),
            if breaking > 0 {
                "review before regenerating (exit 1)"
            } else {
                "safe to regenerate (exit 0)"
            }
        );
        out
    }
}
