#![doc = include_str!("../README.md")]
#![warn(missing_docs)]
// Standard output is written only through the command line's printer
// (`cli::output`), which ends quietly when its reader has gone.
#![deny(clippy::print_stdout)]

// `for_each_provider!`: the provider table build.rs makes from
// `build/providers.rs`, used by everything that names each provider.
include!(concat!(env!("OUT_DIR"), "/providers.rs"));

mod api;
pub mod batch;
#[cfg(feature = "mock")]
mod civil;
#[cfg(feature = "cli")]
pub mod cli;
mod client;
pub mod download;
mod error;
pub mod fixtures;
mod hash;
// Without a store (`journal` or `postgres`), the half of the journal that
// speaks to one is unused: its contract stays compiled, and checked.
#[cfg_attr(not(any(feature = "journal", feature = "postgres")), allow(dead_code))]
pub mod journal;
mod media;
mod provider;
mod providers;
mod ratelimit;
mod request;
mod retry;
mod task;
mod tls;
pub mod wait;
pub mod webhook;

pub use api::all::*;
pub use api::hooks::{RequestContext, RequestOptions};
pub use client::{ApiKey, BatchItem, Client, ClientBuilder, Generated};
pub use error::{Error, Field, InvalidParam, MAX_ERROR_BODY, MAX_JSON_BODY};
pub use journal::Journal;
pub use media::Media;
pub use provider::{Auth, Provider, ProviderSpec, VideoSource};
pub use providers::{raw, request_body};
pub use ratelimit::RateLimit;
pub use request::{AspectRatio, RequestField, Resolution, VideoRequest};
pub use retry::RetryPolicy;
pub use task::{RawTask, Task, TaskStatus};
pub use tls::http_client_builder;
pub use wait::WaitOptions;
#[cfg(feature = "mock")]
pub mod mock;
#[cfg(feature = "spec-diff")]
pub mod spec;
