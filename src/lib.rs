#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod api;
pub mod fixtures;
mod providers;

pub use api::{anyfast, magnific, powertokens};
pub use providers::Provider;
