//! Which provider, and the shape of the facts each one's file declares.
//! Near a leaf: it uses only the request's value types (`AspectRatio`), so
//! everything can use it.

use std::time::Duration;

use crate::AspectRatio;

macro_rules! provider_enum {
    ($($module:ident $variant:ident $file:literal $summary:literal;)*) => {
        /// A provider that serves Seedance 2.0 Mini: one variant per row of
        /// `build/providers.rs`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Provider {
            $(
                #[doc = $summary]
                $variant,
            )*
        }

        impl Provider {
            /// All providers, in a fixed order.
            pub const ALL: &'static [Provider] = &[$(Provider::$variant),*];
        }
    };
}
for_each_provider!(provider_enum);

impl serde::Serialize for Provider {
    /// Its name, as `--provider` and batch files write it.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// How a provider takes its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Auth {
    /// The key alone, in this header.
    Header(&'static str),
    /// `Authorization: Bearer <key>`.
    Bearer,
}

/// Where a finished task's video comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum VideoSource {
    /// The task's result URL.
    ResultUrl,
    /// An API call that streams it, under the rate limit.
    ContentEndpoint {
        /// The document's `operationId`: its successful answer is the video,
        /// passed on unread (never buffered as JSON is).
        operation: &'static str,
        /// Its path, relative to the base URL, with `{id}` for the task id.
        path: &'static str,
    },
}

impl VideoSource {
    /// The operation whose successful answer is a video stream, if any.
    pub fn streamed_operation(self) -> Option<&'static str> {
        match self {
            VideoSource::ResultUrl => None,
            VideoSource::ContentEndpoint { operation, .. } => Some(operation),
        }
    }

    /// The content endpoint's path for task `id` (relative to the base
    /// URL), if the video comes from one.
    pub fn content_path(self, id: &str) -> Option<String> {
        match self {
            VideoSource::ResultUrl => None,
            VideoSource::ContentEndpoint { path, .. } => Some(path.replace("{id}", id)),
        }
    }
}

/// One provider's facts, declared as a constant in its own file
/// (`src/providers/<name>.rs`), in the spirit of async-openai's `Config`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProviderSpec {
    /// Lower-case name, as used on the command line and in module names.
    pub name: &'static str,
    /// The environment variable the key is read from.
    pub key_env_var: &'static str,
    /// The production base URL from the provider's document.
    pub base_url: &'static str,
    /// How the key is sent.
    pub auth: Auth,
    /// How long a completed task's result URLs stay valid, when known.
    pub result_url_ttl: Option<Duration>,
    /// Where the video comes from.
    pub video: VideoSource,
    /// Whether a create may name a URL the provider posts the task's
    /// events to (signed as Standard Webhooks).
    pub webhooks: bool,
    /// Whether one call lists every task's status (a batch then watches
    /// all its tasks with that call instead of one get each).
    pub lists_tasks: bool,
    /// The documented rate limit, as windows of (at most N requests, in any
    /// span this long); empty when none is documented.
    pub rate_limit: &'static [(u32, Duration)],
    /// The durations it takes, in seconds (`-1`: the model picks).
    pub durations: &'static [i64],
    /// The aspect ratios it takes.
    pub aspect_ratios: &'static [AspectRatio],
}
