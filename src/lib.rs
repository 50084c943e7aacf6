#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod api;
#[cfg(feature = "cli")]
pub mod cli;
mod client;
pub mod download;
mod error;
pub mod fixtures;
mod media;
mod providers;
mod ratelimit;
mod request;
mod retry;
mod task;
pub mod wait;
pub mod webhook;

pub use api::hooks::RequestContext;
pub use api::{anyfast, magnific, powertokens};
pub use client::{ApiKey, BatchItem, Client, ClientBuilder, Generated};
pub use error::{Error, InvalidParam};
pub use media::Media;
pub use providers::{request_body, Provider};
pub use ratelimit::RateLimit;
pub use request::{AspectRatio, Resolution, VideoRequest};
pub use retry::RetryPolicy;
pub use task::{RawTask, Task, TaskStatus};
pub use wait::WaitOptions;
#[cfg(feature = "mock")]
pub mod mock;
