//! A durable record of every paid task: one SQLite file (WAL mode) that
//! users can open with `sqlite3`.
//!
//! A job is written **before** its create is sent (state `submitting`), and
//! the task id as soon as the answer arrives (`submitted`); then each poll's
//! status, the finished download (path, bytes, sha256) or the failure. A
//! create whose answer never came (a crash, a timeout after sending, a 5xx)
//! is **in doubt**: the task may exist and be paid for. Nothing here ever
//! re-sends one; see [`Journal::in_doubt`].
//!
//! A batch job is **claimed** (`claimed`) before its create is sent, and
//! becomes `submitting` once the rate limit lets it go, just before its
//! bytes do; a claim that never got that far costs nothing, so when its
//! owner is gone another worker takes it. It is claimed in one transaction,
//! under a unique key, with its owner (host, pid, process start) and a lease
//! the owner renews while it lives (`journal/owner.rs`). Another process running the
//! same batch never sends a claimed job: it waits for the owner's result. A
//! claim whose owner is gone is in doubt if its create may have been sent.
//!
//! The schema is versioned (`journal/schema.rs`); an unknown state word is an error,
//! never "in doubt".
//!
//! Writers are safe within one process (one connection behind a mutex) and
//! across processes (WAL, with a busy timeout). Every write is its own
//! transaction with `synchronous=FULL`, so a row that was written survives a
//! `kill -9` and a power cut. No secret is stored: requests are recorded
//! without the key, and local media only as a digest.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::Value;

use crate::download::Downloaded;
use crate::{Error, Provider, Task, VideoRequest};

mod ledger;
pub(crate) mod owner;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "journal")]
pub(crate) mod schema;
#[cfg(feature = "journal")]
mod sqlite;

pub use ledger::{JobId, Ledger};

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "cli", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum JobState {
    /// Claimed by a worker; its create is not sent yet. A claim whose owner
    /// is gone is free again: nothing was paid.
    Claimed,
    /// Recorded; the create is being sent (or the process died sending it).
    Submitting,
    /// The create may have reached the provider, but no answer named a task.
    InDoubt,
    /// The provider refused the create (a 4xx): nothing was made.
    Rejected,
    /// The task exists; waiting or downloading.
    Submitted,
    /// The video is on disk.
    Done,
    /// The task failed, or a step after the create gave up.
    Failed,
}

impl JobState {
    /// The word stored in the `state` column.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Claimed => "claimed",
            JobState::Submitting => "submitting",
            JobState::InDoubt => "in_doubt",
            JobState::Rejected => "rejected",
            JobState::Submitted => "submitted",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
    }

    /// The state a stored word names; an unknown word (a newer version's)
    /// names none.
    fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "claimed" => JobState::Claimed,
            "submitting" => JobState::Submitting,
            "in_doubt" => JobState::InDoubt,
            "rejected" => JobState::Rejected,
            "submitted" => JobState::Submitted,
            "done" => JobState::Done,
            "failed" => JobState::Failed,
            _ => return None,
        })
    }
}

impl std::str::FromStr for JobState {
    type Err = Error;

    fn from_str(word: &str) -> Result<Self, Error> {
        JobState::parse(word).ok_or_else(|| {
            Error::validation(
                "state",
                format!(
                    "`{word}` is not a state (claimed, submitting, in_doubt, rejected, submitted, done, failed)"
                ),
            )
        })
    }
}

/// One job as the journal holds it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct JobRecord {
    /// The row id.
    pub id: i64,
    /// A caller's identity for the job (a batch line and variation), if any.
    pub key: Option<String>,
    /// Who runs it.
    pub provider: Provider,
    /// The endpoint it was sent to.
    pub base_url: String,
    /// The request, as recorded (no secrets; local media as digests).
    pub request: Value,
    /// The prompt, for listings.
    pub prompt: Option<String>,
    /// Where the video is to go.
    pub output: Option<PathBuf>,
    /// Where the job is.
    pub state: JobState,
    /// The provider's task id, once known.
    pub task_id: Option<String>,
    /// The last status seen (machine word, such as `in_progress`).
    pub status: Option<String>,
    /// Result URLs, once completed.
    pub video_urls: Vec<String>,
    /// When the result URLs stop working (unix seconds), when known.
    pub expires_at: Option<i64>,
    /// Size of the downloaded file.
    pub file_bytes: Option<u64>,
    /// SHA-256 of the downloaded file, hex.
    pub file_sha256: Option<String>,
    /// Why it failed or is in doubt.
    pub error: Option<String>,
    /// When it was recorded (unix seconds).
    pub created_at: i64,
    /// When it last changed (unix seconds).
    pub updated_at: i64,
    /// Who claimed it (`host:pid:start`), when claims were kept.
    pub owner: Option<String>,
    /// Until when the owner's claim holds without renewal (unix seconds).
    pub lease_until: Option<i64>,
    /// The newer row that replaced this one (a resubmitted job), if any.
    pub superseded_by: Option<i64>,
    /// The host that downloaded the file (see [`JobRecord::host`]).
    pub file_host: Option<String>,
}

impl JobRecord {
    /// Whether its owner's claim still holds at `now` (unix seconds).
    pub fn claim_alive(&self, now: i64) -> bool {
        owner::alive(self.owner.as_deref(), self.lease_until, now)
    }

    /// The machine this job belongs to: the one holding its file, else the
    /// one holding its claim (`SEEDANCE_MINI_HOST_ID`, `--host-id`, or the
    /// host name, as each worker names itself).
    pub fn host(&self) -> Option<&str> {
        self.file_host
            .as_deref()
            .or_else(|| self.owner.as_deref().and_then(|o| o.rsplitn(3, ':').nth(2)))
    }

    /// Whether the result URLs have expired as of `now` (unix seconds).
    pub fn expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

pub(super) const COLUMNS: &str =
    "id, job_key, provider, base_url, request, prompt, output, state, task_id, \
     status, video_urls, expires_at, file_bytes, file_sha256, error, created_at, updated_at, \
     owner, lease_until, superseded_by, file_host";

/// Which rows [`Journal::each_job`] reads.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct JobFilter {
    /// Only rows in this state.
    pub state: Option<JobState>,
    /// Only the newest this many.
    pub limit: Option<usize>,
    /// Superseded rows too (a resubmitted job's history).
    pub history: bool,
    /// Only this provider's rows.
    pub provider: Option<Provider>,
    /// Only the rows of this host (see [`JobRecord::host`]).
    pub host: Option<String>,
}

impl JobFilter {
    /// Every current row.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only `provider`'s rows.
    pub fn provider(mut self, provider: Provider) -> Self {
        self.provider = Some(provider);
        self
    }

    /// Only the rows of `host` (see [`JobRecord::host`]).
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }

    /// Only rows in `state`.
    pub fn state(mut self, state: JobState) -> Self {
        self.state = Some(state);
        self
    }

    /// Only the newest `limit`.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Superseded rows too.
    pub fn history(mut self, on: bool) -> Self {
        self.history = on;
        self
    }
}

/// What [`Journal::claim`] found.
#[derive(Debug)]
pub(crate) enum Claim {
    /// This process holds the job (the row id): its create may be sent.
    Claimed(i64),
    /// The job's current row, which may not be replaced: another process
    /// holds it, or it already has a task or an answer.
    Held(Box<JobRecord>),
}

/// A job to record before its create is sent.
#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    /// A caller's identity for the job (a batch line); the newest job with a
    /// key is the one [`Journal::job_by_key`] finds.
    pub key: Option<&'a str>,
    /// Who will run it.
    pub provider: Provider,
    /// The endpoint it goes to.
    pub base_url: &'a str,
    /// What is asked for.
    pub request: &'a VideoRequest,
    /// Where the video is to go.
    pub output: Option<&'a Path>,
}

/// The journal: a handle on one ledger (a SQLite file). Cheap to clone.
#[derive(Clone)]
pub struct Journal {
    store: Arc<dyn Store>,
    /// Where it lives, as messages name it.
    path: PathBuf,
    /// Writes allowed before every write fails (fault injection for tests).
    writes_left: Option<Arc<std::sync::atomic::AtomicI64>>,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal").field("path", &self.path).finish()
    }
}

/// One storage behind a [`Journal`]: each backend's file says how it keeps
/// rows; what a row means, and which may be replaced, is decided here.
pub(crate) trait Store: Send + Sync {
    /// Claims `job.key` (see [`Journal::claim`]), recording `request`.
    fn claim(&self, job: &NewJob<'_>, request: &str, replace: Replace) -> Result<Claim, Error>;
    /// Records a job with no key, owned by this process; returns its id.
    fn insert(&self, job: &NewJob<'_>, request: &str) -> Result<i64, Error>;
    /// Applies one step of a job, with its event, in one transaction;
    /// returns whether the row changed (a conditional step may not).
    fn apply(&self, job: i64, change: &Change<'_>) -> Result<bool, Error>;
    /// The rows `filter` selects, oldest first, one at a time.
    fn each_job(
        &self,
        filter: &JobFilter,
        each: &mut dyn FnMut(JobRecord) -> bool,
    ) -> Result<(), Error>;
    /// One row.
    fn find(&self, by: Find<'_>) -> Result<Option<JobRecord>, Error>;
    /// Current rows in `in_doubt` or `submitting`.
    fn open_rows(&self) -> Result<Vec<JobRecord>, Error>;
    /// Records a task made elsewhere; returns its id.
    #[cfg_attr(not(feature = "cli"), allow(dead_code))]
    fn adopt(
        &self,
        provider: Provider,
        base_url: &str,
        task: &Task,
        output: Option<&Path>,
    ) -> Result<i64, Error>;
}

/// Which row [`Store::find`] reads.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Find<'a> {
    /// By its id.
    Id(i64),
    /// The current row of a key.
    Key(&'a str),
    /// The current row of the first key, else of the second (a job's
    /// identity, then the one an earlier version gave it).
    KeyOr(&'a str, &'a str),
    /// The newest row of a task id (of one provider, or any).
    Task(Option<Provider>, &'a str),
}

/// A statement's argument, in terms every backend binds.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Int(Option<i64>),
    Text(Option<String>),
}

/// One step of a job after its row exists.
#[derive(Debug)]
pub(crate) enum Change<'a> {
    /// This process is about to send the create of a job it claimed: the
    /// row becomes `submitting`, if the claim is still this process's.
    Sending,
    /// The create was answered.
    Created(&'a Task),
    /// The create may have been made, with no task id.
    InDoubt(&'a str),
    /// The provider refused the create.
    Rejected(&'a str),
    /// A poll's result.
    Polled(&'a Task),
    /// The video is on disk.
    Downloaded(&'a Downloaded),
    /// Failed for good.
    Failed(&'a str),
    /// A step failed and may be tried again.
    Note(&'a str),
}

impl Change<'_> {
    /// The update (`$1` is the job's id, `$2`… the arguments), its
    /// arguments, and the event it writes: kind and detail.
    pub(crate) fn statement(&self) -> (&'static str, Vec<Arg>, &'static str, String) {
        let now = unix_now();
        let text = |t: &str| Arg::Text(Some(t.to_string()));
        let int = |n: i64| Arg::Int(Some(n));
        let (sql, args, kind, detail) = match self {
            Change::Sending => (
                "UPDATE jobs SET state = 'submitting', updated_at = $3 WHERE id = $1 \
                 AND owner = $2 AND state IN ('claimed', 'submitting') AND superseded_by IS NULL",
                vec![text(owner::me()), int(now)],
                "sending",
                String::new(),
            ),
            Change::Created(task) => (
                "UPDATE jobs SET state = 'submitted', task_id = $2, status = $3, error = NULL, \
                 updated_at = $4 WHERE id = $1",
                vec![text(&task.id), text(&task.status.as_word()), int(now)],
                "created",
                task.id.clone(),
            ),
            Change::InDoubt(reason) => (
                "UPDATE jobs SET state = 'in_doubt', error = $2, updated_at = $3 WHERE id = $1",
                vec![text(reason), int(now)],
                "in_doubt",
                reason.to_string(),
            ),
            Change::Rejected(reason) => (
                "UPDATE jobs SET state = 'rejected', error = $2, updated_at = $3 WHERE id = $1",
                vec![text(reason), int(now)],
                "rejected",
                reason.to_string(),
            ),
            Change::Polled(task) => {
                let urls = serde_json::to_string(&task.video_urls).unwrap_or_else(|_| "[]".into());
                let ttl = task
                    .provider
                    .result_url_ttl()
                    .map(|d| now + d.as_secs() as i64);
                let word = task.status.as_word();
                (
                    "UPDATE jobs SET status = $2, \
                     video_urls = CASE WHEN $3 = '[]' THEN video_urls ELSE $3 END, \
                     expires_at = CASE WHEN $3 != '[]' AND expires_at IS NULL THEN $4 \
                     ELSE expires_at END, updated_at = $5 WHERE id = $1",
                    vec![text(&word), Arg::Text(Some(urls)), Arg::Int(ttl), int(now)],
                    "status",
                    word.to_string(),
                )
            }
            Change::Downloaded(file) => {
                let path = stored_path(&file.path);
                (
                    "UPDATE jobs SET state = 'done', output = $2, file_bytes = $3, \
                     file_sha256 = $4, error = NULL, updated_at = $5, file_host = $6 \
                     WHERE id = $1",
                    vec![
                        text(&path),
                        int(file.bytes as i64),
                        text(&file.sha256),
                        int(now),
                        text(owner::host()),
                    ],
                    "downloaded",
                    path,
                )
            }
            Change::Failed(reason) => (
                "UPDATE jobs SET state = 'failed', error = $2, updated_at = $3 WHERE id = $1",
                vec![text(reason), int(now)],
                "failed",
                reason.to_string(),
            ),
            Change::Note(reason) => (
                "UPDATE jobs SET error = $2, updated_at = $3 WHERE id = $1",
                vec![text(reason), int(now)],
                "error",
                reason.to_string(),
            ),
        };
        (sql, args, kind, detail)
    }
}

/// A path as the journal keeps it: absolute, so that a command run from
/// another directory (`tasks sync`) finds the same file.
pub(crate) fn stored_path(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .to_string_lossy()
        .into_owned()
}

/// Seconds since the epoch.
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs() as i64
}

/// Whether `location` names a PostgreSQL database rather than a file.
pub(crate) fn is_postgres_url(location: &str) -> bool {
    let lower = location.trim_start().to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// The provider a stored name names; a name this build does not know (a
/// newer version's) is an error, as an unknown state is.
fn stored_provider(name: &str) -> Result<Provider, String> {
    name.parse::<Provider>()
        .map_err(|_| format!("unknown provider `{name}` (written by a newer version?)"))
}

/// What reading a state word no version of this crate wrote says.
fn unknown_state(word: &str) -> String {
    format!("unknown state `{word}` (written by a newer version?)")
}

impl JobFilter {
    /// The query that reads the rows this filter selects, oldest first.
    pub(crate) fn select(&self) -> String {
        let mut wheres = Vec::new();
        if !self.history {
            wheres.push("superseded_by IS NULL".to_string());
        }
        if let Some(state) = self.state {
            wheres.push(format!("state = '{}'", state.as_str()));
        }
        if let Some(provider) = self.provider {
            // A provider's name is one of three fixed words.
            wheres.push(format!("provider = '{}'", provider.name()));
        }
        if let Some(host) = &self.host {
            // Quoted as SQL quotes: a quote is doubled.
            let host = host.replace('\'', "''");
            wheres.push(format!(
                "(file_host = '{host}' OR (file_host IS NULL \
                 AND substr(owner, 1, length('{host}') + 1) = '{host}:'))"
            ));
        }
        let mut sql = format!("SELECT {COLUMNS} FROM jobs");
        if !wheres.is_empty() {
            sql += &format!(" WHERE {}", wheres.join(" AND "));
        }
        match self.limit {
            // The newest `limit`, shown oldest first.
            Some(limit) => {
                format!(
                    "SELECT * FROM ({sql} ORDER BY id DESC LIMIT {limit}) AS newest ORDER BY id"
                )
            }
            None => format!("{sql} ORDER BY id"),
        }
    }
}

impl Journal {
    /// Opens (or creates) the journal at `path`, creating its directory;
    /// a `postgres://` (or `postgresql://`) URL opens the shared ledger in
    /// that database instead (feature `postgres`).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        if let Some(url) = path.to_str().filter(|p| is_postgres_url(p)) {
            return Self::open_postgres(url);
        }
        Self::open_sqlite(path)
    }

    #[cfg(feature = "journal")]
    fn open_sqlite(path: &Path) -> Result<Self, Error> {
        Ok(Journal {
            store: Arc::new(sqlite::Sqlite::open(path)?),
            path: path.to_path_buf(),
            writes_left: None,
        })
    }

    #[cfg(not(feature = "journal"))]
    fn open_sqlite(path: &Path) -> Result<Self, Error> {
        Err(Error::Journal {
            path: path.to_path_buf(),
            message:
                "this build has no SQLite journal: build seedance-mini with the `journal` feature"
                    .into(),
        })
    }

    #[cfg(feature = "postgres")]
    fn open_postgres(url: &str) -> Result<Self, Error> {
        let store = postgres::Postgres::open(url)?;
        Ok(Journal {
            path: PathBuf::from(store.shown()),
            store: Arc::new(store),
            writes_left: None,
        })
    }

    #[cfg(not(feature = "postgres"))]
    fn open_postgres(url: &str) -> Result<Self, Error> {
        let _ = url;
        Err(Error::Journal {
            path: PathBuf::from("postgres://"),
            message: "this build has no PostgreSQL ledger: build seedance-mini with the `postgres` feature".into(),
        })
    }

    /// Makes every write after the next `writes` fail, as a full disk would
    /// (for tests of what a failing journal does; not for other use).
    #[doc(hidden)]
    pub fn fail_writes_after(mut self, writes: i64) -> Self {
        self.writes_left = Some(Arc::new(std::sync::atomic::AtomicI64::new(writes)));
        self
    }

    /// Counts one write against [`Journal::fail_writes_after`].
    fn may_write(&self) -> Result<(), Error> {
        let Some(left) = &self.writes_left else {
            return Ok(());
        };
        if left.fetch_sub(1, std::sync::atomic::Ordering::SeqCst) > 0 {
            return Ok(());
        }
        Err(Error::Journal {
            path: self.path.clone(),
            #[cfg(feature = "journal")]
            message: sqlite::injected_full(),
            #[cfg(not(feature = "journal"))]
            message: "injected: database or disk is full".into(),
        })
    }

    /// The file it lives in; for a shared ledger, its URL without the
    /// password.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Claims the job `job.key` names, in one transaction: a new row,
    /// owned by this process, unless its current row may not be replaced
    /// (see [`replaceable`]), which is returned instead. A replaced row is
    /// closed (`superseded_by`), so the key keeps one current row.
    pub(crate) fn claim(&self, job: &NewJob<'_>, replace: Replace) -> Result<Claim, Error> {
        self.may_write()?;
        let request = job.request.record();
        self.store.claim(job, &request, replace)
    }

    /// Records a job about to be sent; returns its id. A job with a key is
    /// claimed first; one held elsewhere is refused.
    pub(crate) fn begin(&self, job: &NewJob<'_>) -> Result<i64, Error> {
        if job.key.is_some() {
            return match self.claim(job, Replace::default())? {
                Claim::Claimed(id) => Ok(id),
                Claim::Held(row) => Err(Error::Journal {
                    path: self.path.clone(),
                    message: format!(
                        "job {} is already recorded (row {})",
                        job.key.unwrap_or_default(),
                        row.id
                    ),
                }),
            };
        }
        self.may_write()?;
        let request = job.request.record();
        self.store.insert(job, &request)
    }

    fn apply(&self, job: i64, change: Change<'_>) -> Result<(), Error> {
        self.may_write()?;
        self.store.apply(job, &change).map(drop)
    }

    /// The create of `job`, which this process claimed, is about to be
    /// sent: whether the claim is still this process's (another worker may
    /// have taken it over once its lease ran out). `false`: send nothing.
    pub(crate) fn sending(&self, job: i64) -> Result<bool, Error> {
        self.may_write()?;
        self.store.apply(job, &Change::Sending)
    }

    /// The create was answered: the task exists.
    pub(crate) fn created(&self, job: i64, task: &Task) -> Result<(), Error> {
        self.apply(job, Change::Created(task))
    }

    /// The create may have reached the provider but no task id came back.
    pub(crate) fn mark_in_doubt(&self, job: i64, reason: &str) -> Result<(), Error> {
        self.apply(job, Change::InDoubt(reason))
    }

    /// The provider refused the create; nothing was made.
    pub(crate) fn rejected(&self, job: i64, reason: &str) -> Result<(), Error> {
        self.apply(job, Change::Rejected(reason))
    }

    /// A poll's result. A completed task's URLs are kept with their expiry.
    pub(crate) fn status(&self, job: i64, task: &Task) -> Result<(), Error> {
        self.apply(job, Change::Polled(task))
    }

    /// The video is on disk.
    pub(crate) fn downloaded(&self, job: i64, file: &Downloaded) -> Result<(), Error> {
        self.apply(job, Change::Downloaded(file))
    }

    /// The task failed, or a step after the create gave up for good.
    pub(crate) fn failed(&self, job: i64, reason: &str) -> Result<(), Error> {
        self.apply(job, Change::Failed(reason))
    }

    /// A step after the create failed but may be tried again (the job stays
    /// `submitted`, with the reason).
    pub(crate) fn note(&self, job: i64, reason: &str) -> Result<(), Error> {
        self.apply(job, Change::Note(reason))
    }

    /// Every current job (one row per job), oldest first.
    pub fn jobs(&self) -> Result<Vec<JobRecord>, Error> {
        self.collect(&JobFilter::default())
    }

    /// Every row, superseded ones too (a resubmitted job's history), oldest
    /// first.
    pub fn history(&self) -> Result<Vec<JobRecord>, Error> {
        self.collect(&JobFilter {
            history: true,
            ..JobFilter::default()
        })
    }

    fn collect(&self, filter: &JobFilter) -> Result<Vec<JobRecord>, Error> {
        let mut all = Vec::new();
        self.each_job(filter, |job| {
            all.push(job);
            true
        })?;
        Ok(all)
    }

    /// Calls `each` with the rows `filter` selects, oldest first, one at a
    /// time: memory does not grow with the journal. `each` returns `false`
    /// to stop early (a reader that went away).
    pub fn each_job(
        &self,
        filter: &JobFilter,
        mut each: impl FnMut(JobRecord) -> bool,
    ) -> Result<(), Error> {
        self.store.each_job(filter, &mut each)
    }

    /// One job by its row id.
    pub fn job(&self, id: i64) -> Result<Option<JobRecord>, Error> {
        self.store.find(Find::Id(id))
    }

    /// The current job recorded under `key`, if any.
    pub fn job_by_key(&self, key: &str) -> Result<Option<JobRecord>, Error> {
        self.store.find(Find::Key(key))
    }

    /// The current job recorded under `key`, else under `fallback`, in one
    /// read.
    pub(crate) fn job_by_key_or(
        &self,
        key: &str,
        fallback: &str,
    ) -> Result<Option<JobRecord>, Error> {
        self.store.find(Find::KeyOr(key, fallback))
    }

    /// The newest job for `provider`'s task `task_id`, if any.
    pub fn job_by_task(
        &self,
        provider: Provider,
        task_id: &str,
    ) -> Result<Option<JobRecord>, Error> {
        self.store.find(Find::Task(Some(provider), task_id))
    }

    /// The newest job for task `task_id` of any provider, if any: where
    /// `status`, `wait` and `download` learn which provider and endpoint
    /// made it.
    pub fn job_by_task_id(&self, task_id: &str) -> Result<Option<JobRecord>, Error> {
        self.store.find(Find::Task(None, task_id))
    }

    /// Records a task made outside the journal (such as one `wait ID` picks
    /// up), so that it is listed and synced; returns the job's id.
    #[cfg(feature = "cli")]
    pub(crate) fn adopt(
        &self,
        provider: Provider,
        base_url: &str,
        task: &Task,
        output: Option<&Path>,
    ) -> Result<i64, Error> {
        if let Some(job) = self.job_by_task(provider, &task.id)? {
            return Ok(job.id);
        }
        self.may_write()?;
        self.store.adopt(provider, base_url, task, output)
    }

    /// Jobs whose create may have been paid for with no task id known:
    /// `in_doubt`, and `submitting` rows whose owner is gone (it died
    /// mid-create), or, for rows from before claims, that are older than
    /// `grace`. They are reported, never re-sent by this crate. Only the
    /// open rows are read (an index on the state).
    pub fn in_doubt(&self, grace: Duration) -> Result<Vec<JobRecord>, Error> {
        let now = unix_now();
        let cutoff = now - grace.as_secs() as i64;
        Ok(self
            .store
            .open_rows()?
            .into_iter()
            .filter(|j| match (j.state, &j.owner) {
                (JobState::InDoubt, _) => true,
                (JobState::Submitting, Some(_)) => !j.claim_alive(now),
                (JobState::Submitting, None) => j.updated_at <= cutoff,
                _ => false,
            })
            .collect())
    }

    /// Reconciles an in-doubt job with a task found by other means (such as
    /// Magnific's list endpoint): the job becomes `submitted` with that id.
    pub(crate) fn reconcile(&self, job: i64, task: &Task) -> Result<(), Error> {
        self.created(job, task)
    }
}

/// Whether a job's current row may give way to a new claim: the provider
/// refused it (nothing was made), or its create is in doubt (in doubt, or
/// claimed by an owner that is gone) and the caller accepts paying again.
fn replaceable(row: &JobRecord, replace: Replace, now: i64) -> bool {
    match row.state {
        JobState::Rejected => true,
        JobState::InDoubt => replace.in_doubt,
        JobState::Claimed => !row.claim_alive(now),
        JobState::Submitting => replace.in_doubt && !row.claim_alive(now),
        JobState::Failed => replace.failed,
        JobState::Submitted | JobState::Done => false,
    }
}

/// Which of a job's current rows a new claim may replace, besides a refused
/// create (which made nothing): the caller accepts paying again for these.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Replace {
    /// A create in doubt (it may have made a paid task).
    pub(crate) in_doubt: bool,
    /// A task that failed.
    pub(crate) failed: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_media_is_recorded_as_a_digest_never_inline() {
        let req =
            VideoRequest::new("x").first_frame(crate::Media::bytes(vec![7u8; 1000], "image/png"));
        let v: Value = serde_json::from_str(&req.record()).unwrap();
        assert_eq!(v["first_frame"]["bytes"], 1000);
        assert_eq!(v["first_frame"]["sha256"].as_str().unwrap().len(), 64);
        assert!(!v.to_string().contains("BwcH"), "no base64 of the bytes");
    }
}
