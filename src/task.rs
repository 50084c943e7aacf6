//! A generation task, the same shape whichever provider runs it.

use std::fmt;

use crate::Provider;

/// Where a task is in its life. Every provider's words map onto these;
/// a word none of them documents is kept as [`TaskStatus::Unknown`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TaskStatus {
    /// Accepted, not yet queued (Magnific `CREATED`, Anyfast `""`/`NOT_START`).
    Created,
    /// Waiting for capacity (`QUEUED`, `queued`).
    Queued,
    /// Being generated (`IN_PROGRESS`, `in_progress`, `running`, `processing`).
    InProgress,
    /// Done; the video is ready (`COMPLETED`, `SUCCESS`, `completed`, `succeeded`).
    Completed,
    /// Generation failed (`FAILED`, `FAILURE`, `failed`).
    Failed,
    /// Cancelled before it finished (upstream `cancelled`).
    Cancelled,
    /// Expired before it finished or was fetched (upstream `expired`).
    Expired,
    /// A value no document lists, kept as sent.
    Unknown(String),
}

impl TaskStatus {
    /// Maps any provider's status word (case-insensitive) onto a status.
    pub fn parse(word: &str) -> Self {
        match word.to_ascii_lowercase().as_str() {
            "" | "created" | "not_start" | "submitted" => TaskStatus::Created,
            "queued" | "pending" => TaskStatus::Queued,
            "in_progress" | "running" | "processing" => TaskStatus::InProgress,
            "completed" | "success" | "succeeded" => TaskStatus::Completed,
            "failed" | "failure" => TaskStatus::Failed,
            "cancelled" | "canceled" => TaskStatus::Cancelled,
            "expired" => TaskStatus::Expired,
            _ => TaskStatus::Unknown(word.to_string()),
        }
    }

    /// Whether the task will not change any more.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            TaskStatus::Completed
                | TaskStatus::Failed
                | TaskStatus::Cancelled
                | TaskStatus::Expired
        )
    }

    /// Whether the task ended without a video.
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            TaskStatus::Failed | TaskStatus::Cancelled | TaskStatus::Expired
        )
    }
}

impl TaskStatus {
    /// The status as a machine word: `created`, `queued`, `in_progress`,
    /// `completed`, `failed`, `cancelled`, `expired`, or the provider's own
    /// word for an unknown one.
    pub fn as_word(&self) -> String {
        match self {
            TaskStatus::InProgress => "in_progress".into(),
            TaskStatus::Unknown(word) => word.clone(),
            other => other.to_string(),
        }
    }
}

impl fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = match self {
            TaskStatus::Created => "created",
            TaskStatus::Queued => "queued",
            TaskStatus::InProgress => "in progress",
            TaskStatus::Completed => "completed",
            TaskStatus::Failed => "failed",
            TaskStatus::Cancelled => "cancelled",
            TaskStatus::Expired => "expired",
            TaskStatus::Unknown(word) => return write!(f, "unknown ({word})"),
        };
        f.write_str(word)
    }
}

macro_rules! raw_task {
    ($($module:ident $variant:ident $file:literal $summary:literal;)*) => {
        /// The provider's own value a [`Task`] was made from, as the generated
        /// client decoded it (each provider's kinds are in [`raw`](crate::raw));
        /// `Json` when it did not decode (an undocumented status, say), so
        /// nothing is lost.
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        pub enum RawTask {
            $(
                #[doc = concat!("From `openapi/", $file, "`.")]
                $variant(crate::raw::$variant),
            )*
            /// A body the generated types did not accept.
            Json(serde_json::Value),
        }
    };
}
for_each_provider!(raw_task);

/// A generation task.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Task {
    /// The provider's task id.
    pub id: String,
    /// Who runs it.
    pub provider: Provider,
    /// Where it is.
    pub status: TaskStatus,
    /// Percent done, when the provider says.
    pub progress: Option<u8>,
    /// Where the finished video(s) can be fetched.
    pub video_urls: Vec<String>,
    /// Why it failed, when the provider says.
    pub error: Option<String>,
    /// The provider's own value.
    pub raw: RawTask,
}

impl Task {
    /// A task as the provider would describe it, with no progress, result
    /// URLs or error yet, and no provider body (for tests and fakes; the
    /// client builds its tasks from the provider's answers).
    pub fn new(provider: Provider, id: impl Into<String>, status: TaskStatus) -> Self {
        Task {
            id: id.into(),
            provider,
            status,
            progress: None,
            video_urls: Vec::new(),
            error: None,
            raw: RawTask::Json(serde_json::Value::Null),
        }
    }

    /// With these result URLs.
    pub fn with_video_urls(mut self, urls: Vec<String>) -> Self {
        self.video_urls = urls;
        self
    }

    /// With this much done, in percent.
    pub fn with_progress(mut self, percent: u8) -> Self {
        self.progress = Some(percent);
        self
    }

    /// Whether the task will not change any more.
    pub fn is_done(&self) -> bool {
        self.status.is_terminal()
    }
}
