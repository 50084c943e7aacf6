//! The generated clients, one module per provider, exactly as progenitor
//! wrote them from `openapi/` (see `build.rs`). Nothing here is edited by
//! hand: the only hand-written code is the [`hooks`] every client runs through.

pub(crate) mod hooks;

macro_rules! generated_modules {
    ($($module:ident $variant:ident $file:literal $summary:literal;)*) => {
        $(
            #[doc = concat!("The client generated from `openapi/", $file, "`: ", $summary)]
            ///
            /// Authenticate on the `reqwest::Client` you pass to
            /// `Client::new_with_client` (see [`Provider::auth_header`](crate::Provider::auth_header)).
            #[allow(
                missing_docs,
                clippy::all,
                clippy::pedantic,
                unused_imports,
                irrefutable_let_patterns,
                non_camel_case_types
            )]
            pub mod $module {
                include!(concat!(env!("OUT_DIR"), "/", stringify!($module), ".rs"));
                crate::api::hooks::impl_hooks!();
            }
        )*

        /// The generated modules, re-exported at the crate root.
        pub(crate) mod all {
            pub use super::{$($module),*};
        }
    };
}
for_each_provider!(generated_modules);
