//! The providers' own examples, operations and build notes, as data.
//!
//! `build.rs` reads every example in the vendored documents (named examples,
//! `$ref`'d component examples, schema-level `example`s, and objects composed
//! from property examples where nothing else exists) so that tests, yours and
//! ours, answer with what the provider documented instead of hand-copied JSON.

use crate::Provider;

/// One example from a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Example {
    /// The document it comes from.
    pub provider: Provider,
    /// The operation it belongs to.
    pub operation_id: &'static str,
    /// HTTP method, upper case.
    pub method: &'static str,
    /// Path template, as in the document.
    pub path: &'static str,
    /// Response status; `None` for a request body example.
    pub status: Option<u16>,
    /// Media type the example is given under.
    pub content_type: &'static str,
    /// The example's name in the document, or what it was derived from.
    pub name: &'static str,
    /// `named`, `component` (a `$ref` to `#/components/examples`), `media`,
    /// `schema` (the body schema's `example`) or `composed`.
    pub source: &'static str,
    /// The example, as compact JSON.
    pub json: &'static str,
}

impl Example {
    /// The example as a JSON value.
    pub fn value(&self) -> serde_json::Value {
        serde_json::from_str(self.json).expect("build.rs writes valid JSON")
    }
}

/// One operation of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    /// The document it comes from.
    pub provider: Provider,
    /// Its `operationId`.
    pub operation_id: &'static str,
    /// HTTP method, upper case.
    pub method: &'static str,
    /// Path template.
    pub path: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/fixtures.rs"));

/// The examples of one operation's response with `status` (or its request, with `None`).
pub fn examples(
    operation_id: &str,
    status: Option<u16>,
) -> impl Iterator<Item = &'static Example> + '_ {
    EXAMPLES
        .iter()
        .filter(move |e| e.operation_id == operation_id && e.status == status)
}

/// The generated public surface of a provider's client (types and method
/// signatures, no bodies), as build.rs rendered it; pinned by snapshot tests.
#[doc(hidden)]
pub fn surface(provider: Provider) -> &'static str {
    surface_text(provider)
}
