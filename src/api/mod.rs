//! The generated clients, one module per provider, exactly as progenitor
//! wrote them from `openapi/` (see `build.rs`). Nothing here is edited by
//! hand: the only hand-written code is the [`hooks`] every client runs through.

pub(crate) mod hooks;

/// Magnific's six Seedance 2.0 Mini operations, generated from `openapi/magnific.yaml`.
///
/// Authenticate with the `x-magnific-api-key` header on the `reqwest::Client`
/// you pass to `Client::new_with_client`.
#[allow(
    missing_docs,
    clippy::all,
    clippy::pedantic,
    unused_imports,
    irrefutable_let_patterns,
    non_camel_case_types
)]
pub mod magnific {
    include!(concat!(env!("OUT_DIR"), "/magnific.rs"));
    crate::api::hooks::impl_hooks!();
}

/// Anyfast's create and get operations, generated from `openapi/anyfast.yaml`.
///
/// Authenticate with `Authorization: Bearer <key>` on the `reqwest::Client`.
#[allow(
    missing_docs,
    clippy::all,
    clippy::pedantic,
    unused_imports,
    irrefutable_let_patterns,
    non_camel_case_types
)]
pub mod anyfast {
    include!(concat!(env!("OUT_DIR"), "/anyfast.rs"));
    crate::api::hooks::impl_hooks!();
}

/// Powertokens' create, get and content operations, generated from `openapi/powertokens.yaml`.
///
/// Authenticate with `Authorization: Bearer <key>` on the `reqwest::Client`.
#[allow(
    missing_docs,
    clippy::all,
    clippy::pedantic,
    unused_imports,
    irrefutable_let_patterns,
    non_camel_case_types
)]
pub mod powertokens {
    include!(concat!(env!("OUT_DIR"), "/powertokens.rs"));
    crate::api::hooks::impl_hooks!();
}
