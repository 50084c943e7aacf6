//! Every `--json` document, as a type. What the command line prints is one
//! of these, serialised; their JSON Schema ([`schema`], published as
//! `schema/cli.json`) is the contract, and the tests check each command's
//! output against it. A document's fields are closed
//! (`additionalProperties: false`), so a key printed but not declared here
//! fails those tests.

use std::borrow::Cow;
use std::path::PathBuf;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Serialize;

use crate::batch::{BatchEvent, Plan};
use crate::download::Downloaded;
use crate::journal::{JobRecord, JobState};
use crate::spec::Report;
use crate::webhook::WebhookEvent;
use crate::Task;

/// The version of every `--json` document's shape; documented in the README.
pub const SCHEMA_VERSION: u32 = 1;

/// A document's `schema_version`: always [`SCHEMA_VERSION`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Version;

impl Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(SCHEMA_VERSION)
    }
}

impl JsonSchema for Version {
    fn schema_name() -> Cow<'static, str> {
        "SchemaVersion".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        schemars::json_schema!({ "const": SCHEMA_VERSION })
    }
}

/// A task, as every command shows it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskDoc {
    /// The provider's task id.
    pub id: String,
    /// Who runs it.
    pub provider: String,
    /// A machine word: `created`, `queued`, `in_progress`, `completed`,
    /// `failed`, `cancelled`, `expired`, or the provider's own.
    pub status: String,
    /// Percent done, when the provider says.
    pub progress: Option<u8>,
    /// Where the video can be fetched.
    pub video_urls: Vec<String>,
    /// Why it failed, when the provider says.
    pub error: Option<String>,
}

impl From<&Task> for TaskDoc {
    fn from(task: &Task) -> Self {
        let Task {
            id,
            provider,
            status,
            progress,
            video_urls,
            error,
            raw: _,
        } = task;
        TaskDoc {
            id: id.clone(),
            provider: provider.name().to_string(),
            status: status.as_word(),
            progress: *progress,
            video_urls: video_urls.clone(),
            error: error.clone(),
        }
    }
}

/// A saved video.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileDoc {
    /// Where it is.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// Its SHA-256, hex.
    pub sha256: String,
}

impl From<&Downloaded> for FileDoc {
    fn from(file: &Downloaded) -> Self {
        FileDoc {
            path: file.path.clone(),
            bytes: file.bytes,
            sha256: file.sha256.clone(),
        }
    }
}

/// `generate`, `status`, `wait`, `download`: one task.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskResult {
    /// The shape's version.
    pub schema_version: Version,
    /// The task.
    pub task: TaskDoc,
    /// The resolution asked for (`generate`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    /// The seconds asked for (`generate`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<i64>,
    /// The saved video, when saved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<FileDoc>,
}

/// `list`: the provider's tasks.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskList {
    /// The shape's version.
    pub schema_version: Version,
    /// The tasks.
    pub tasks: Vec<TaskDoc>,
}

/// One journal row, as `tasks` lists it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JobDoc {
    /// The row id.
    pub job: i64,
    /// The machine the job belongs to.
    pub host: Option<String>,
    /// The provider's task id, once known.
    pub id: Option<String>,
    /// Who runs it.
    pub provider: String,
    /// Where the job is.
    pub state: JobState,
    /// The last status seen.
    pub status: Option<String>,
    /// The prompt.
    pub prompt: Option<String>,
    /// Where the video is to go.
    pub output: Option<PathBuf>,
    /// Result URLs, once completed.
    pub video_urls: Vec<String>,
    /// Size of the downloaded file.
    pub file_bytes: Option<u64>,
    /// SHA-256 of the downloaded file, hex.
    pub file_sha256: Option<String>,
    /// Why it failed or is in doubt.
    pub error: Option<String>,
    /// When it was recorded (unix seconds).
    pub created_at: i64,
    /// When the result URLs stop working (unix seconds).
    pub expires_at: Option<i64>,
    /// The endpoint it was sent to.
    pub base_url: String,
}

impl From<&JobRecord> for JobDoc {
    fn from(job: &JobRecord) -> Self {
        // Every field, so a new one is decided here: shown, or not.
        let JobRecord {
            id,
            key: _,
            provider,
            base_url,
            request: _,
            prompt,
            output,
            state,
            task_id,
            status,
            video_urls,
            expires_at,
            file_bytes,
            file_sha256,
            error,
            created_at,
            updated_at: _,
            owner: _,
            lease_until: _,
            superseded_by: _,
            file_host: _, // shown as `host`, with the owner's
        } = job;
        JobDoc {
            job: *id,
            host: job.host().map(String::from),
            id: task_id.clone(),
            provider: provider.name().to_string(),
            state: *state,
            status: status.clone(),
            prompt: prompt.clone(),
            output: output.clone(),
            video_urls: video_urls.clone(),
            file_bytes: *file_bytes,
            file_sha256: file_sha256.clone(),
            error: error.clone(),
            created_at: *created_at,
            expires_at: *expires_at,
            base_url: base_url.clone(),
        }
    }
}

/// `tasks`: the journal's jobs. Written row by row as the journal is read
/// (`cli::tasks::list`), in this shape.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JournalTasks {
    /// The journal (its path, or its PostgreSQL URL without the password).
    pub journal: PathBuf,
    /// The shape's version.
    pub schema_version: Version,
    /// The jobs.
    pub tasks: Vec<JobDoc>,
}

/// One task `tasks sync` looked at.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Synced {
    /// The task.
    pub id: Option<String>,
    /// Who runs it.
    pub provider: String,
    /// Whether it was brought up to date.
    pub ok: bool,
    /// What was done, when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// Why not, when it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `tasks sync`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncReport {
    /// The shape's version.
    pub schema_version: Version,
    /// Each task looked at.
    pub synced: Vec<Synced>,
    /// Creates in doubt, which name no task to poll.
    pub skipped_in_doubt: usize,
    /// The command's exit code.
    pub exit_code: u8,
}

/// `batch --json`: one step, a line of its own.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BatchLine {
    /// The shape's version.
    pub schema_version: Version,
    /// The step.
    #[serde(flatten)]
    pub event: BatchEvent,
}

/// The `event` word of a batch's last line: `summary`.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SummaryWord {
    /// The last line of a run.
    Summary,
}

/// The `event` word of the line a stopped batch ends with: `interrupted`.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InterruptedWord {
    /// The run was stopped by a signal.
    Interrupted,
}

/// `batch --json`: the last line, what the run did.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchSummary {
    /// The shape's version.
    pub schema_version: Version,
    /// `summary`.
    pub event: SummaryWord,
    /// Jobs in all.
    pub jobs: usize,
    /// Downloaded by this run.
    pub done: usize,
    /// Whole on disk already.
    pub skipped: usize,
    /// Done by another worker sharing the journal.
    pub elsewhere: usize,
    /// Failed.
    pub failed: usize,
    /// Creates that may have made a task no one can find.
    pub in_doubt: usize,
    /// Result URLs that expired before the download.
    pub expired: usize,
    /// The files written.
    pub files: Vec<String>,
    /// The command's exit code.
    pub exit_code: u8,
}

/// `batch --json`: the last line when a signal stopped the run.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchInterrupted {
    /// The shape's version.
    pub schema_version: Version,
    /// `interrupted`.
    pub event: InterruptedWord,
    /// 130.
    pub exit_code: u8,
    /// How to resume.
    pub resume: String,
}

/// `batch --plan --json`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PlanDoc {
    /// The shape's version.
    pub schema_version: Version,
    /// The plan.
    #[serde(flatten)]
    pub plan: Plan,
}

/// `webhook verify`: a delivery whose signature holds.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookVerified {
    /// The shape's version.
    pub schema_version: Version,
    /// Always true (a bad signature is an error document).
    pub valid: bool,
    /// The delivery's id.
    pub id: String,
    /// The task it is about.
    pub task_id: String,
    /// The task's status, as a machine word.
    pub status: String,
    /// The videos, when completed.
    pub generated: Vec<String>,
}

impl From<&WebhookEvent> for WebhookVerified {
    fn from(event: &WebhookEvent) -> Self {
        WebhookVerified {
            schema_version: Version,
            valid: true,
            id: event.id.clone(),
            task_id: event.task_id.clone(),
            status: event.status.as_word(),
            generated: event.generated.clone(),
        }
    }
}

/// `mock`: where it listens, and what it accepts.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MockStarted {
    /// The shape's version.
    pub schema_version: Version,
    /// Its base URL.
    pub url: String,
    /// The keys it accepts.
    pub api_keys: Vec<String>,
    /// The secret its webhooks are signed with.
    pub webhook_secret: String,
}

/// `spec diff --json`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SpecDiff {
    /// The shape's version.
    pub schema_version: Version,
    /// The changes.
    #[serde(flatten)]
    pub report: Report,
    /// The command's exit code (1: breaking).
    pub exit_code: u8,
}

/// Any command that failed.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorDoc {
    /// The shape's version.
    pub schema_version: Version,
    /// The message.
    pub error: String,
    /// The command's exit code.
    pub exit_code: u8,
    /// The task, when one is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// The HTTP status, when a server answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// A failed or timed-out task.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<TaskDoc>,
    /// An excerpt of an API error's body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// A command line that did not parse.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UsageError {
    /// The shape's version.
    pub schema_version: Version,
    /// clap's message.
    pub error: String,
    /// clap's kind of error.
    pub kind: String,
    /// 2.
    pub exit_code: u8,
}

/// The task an interrupted command leaves running.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InterruptedTask {
    /// Its id.
    pub id: String,
    /// Who runs it.
    pub provider: String,
    /// `completed`, when only the download stopped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// A single-task command stopped by a signal.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Interrupted {
    /// The shape's version.
    pub schema_version: Version,
    /// Always true.
    pub interrupted: bool,
    /// The task left running.
    pub task: InterruptedTask,
    /// The command that picks it up again.
    pub resume: String,
    /// 130.
    pub exit_code: u8,
}

/// Any document the command line prints: the schema's root.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum Document {
    TaskResult(TaskResult),
    TaskList(TaskList),
    JournalTasks(JournalTasks),
    SyncReport(SyncReport),
    BatchLine(BatchLine),
    BatchSummary(BatchSummary),
    BatchInterrupted(BatchInterrupted),
    PlanDoc(PlanDoc),
    WebhookVerified(WebhookVerified),
    MockStarted(MockStarted),
    SpecDiff(SpecDiff),
    ErrorDoc(ErrorDoc),
    UsageError(UsageError),
    Interrupted(Interrupted),
}

/// The JSON Schema every `--json` document validates against (any one of
/// the documents above), as published in `schema/cli.json`.
pub fn schema() -> Schema {
    schemars::schema_for!(Document)
}
