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
//! A batch job is **claimed** before its create is sent: in one transaction,
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
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::download::Downloaded;
use crate::{Error, Media, Provider, Task, VideoRequest};

mod ledger;
pub(crate) mod owner;
pub(crate) mod schema;

pub use ledger::{JobId, Ledger};

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
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
    type Err = String;

    fn from_str(word: &str) -> Result<Self, String> {
        JobState::parse(word).ok_or_else(|| {
            format!(
                "`{word}` is not a state (submitting, in_doubt, rejected, submitted, done, failed)"
            )
        })
    }
}

/// One job as the journal holds it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobRecord {
    /// The row id.
    pub id: i64,
    /// A caller's identity for the job (a batch line and variation), if any.
    pub key: Option<String>,
    /// Who runs it.
    pub provider: String,
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
}

impl JobRecord {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        let text = |i| row.get::<_, Option<String>>(i);
        Ok(JobRecord {
            id: row.get(0)?,
            key: text(1)?,
            provider: row.get(2)?,
            base_url: row.get(3)?,
            request: serde_json::from_str(&row.get::<_, String>(4)?).unwrap_or(Value::Null),
            prompt: text(5)?,
            output: text(6)?.map(PathBuf::from),
            state: {
                let word = row.get::<_, String>(7)?;
                JobState::parse(&word).ok_or_else(|| {
                    rusqlite::Error::FromSqlConversionFailure(
                        7,
                        rusqlite::types::Type::Text,
                        format!("unknown state `{word}` (written by a newer version?)").into(),
                    )
                })?
            },
            task_id: text(8)?,
            status: text(9)?,
            video_urls: serde_json::from_str(&row.get::<_, String>(10)?).unwrap_or_default(),
            expires_at: row.get(11)?,
            file_bytes: row.get::<_, Option<i64>>(12)?.map(|n| n as u64),
            file_sha256: text(13)?,
            error: text(14)?,
            created_at: row.get(15)?,
            updated_at: row.get(16)?,
            owner: text(17)?,
            lease_until: row.get(18)?,
            superseded_by: row.get(19)?,
        })
    }

    /// Whether its owner's claim still holds at `now` (unix seconds).
    pub fn claim_alive(&self, now: i64) -> bool {
        owner::alive(self.owner.as_deref(), self.lease_until, now)
    }

    /// Whether the result URLs have expired as of `now` (unix seconds).
    pub fn expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

const COLUMNS: &str = "id, job_key, provider, base_url, request, prompt, output, state, task_id, \
     status, video_urls, expires_at, file_bytes, file_sha256, error, created_at, updated_at, \
     owner, lease_until, superseded_by";

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

/// The journal: a handle on one SQLite file. Cheap to clone.
#[derive(Clone)]
pub struct Journal {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
    /// Writes allowed before every write fails (fault injection for tests).
    writes_left: Option<Arc<std::sync::atomic::AtomicI64>>,
}

/// What went wrong with the journal, said plainly with what to do, and
/// SQLite's own words after.
fn describe(e: &rusqlite::Error) -> String {
    use rusqlite::ErrorCode as C;
    let plain = match e.sqlite_error_code() {
        Some(C::DiskFull) => "the disk is full: free some space, then run the same command again",
        Some(C::ReadOnly) => "it is read-only: make it (and its directory) writable, or use another journal",
        Some(C::CannotOpen) => "it cannot be opened: check that its directory exists and is writable, or use another journal",
        Some(C::NotADatabase | C::DatabaseCorrupt) => {
            "it is not a journal, or it is damaged: move it aside (keep it: it may hold paid task ids), or use another journal"
        }
        Some(C::SystemIoFailure) => "the disk refused a write (full, or failing): check it, then run the same command again",
        _ => return e.to_string(),
    };
    format!("{plain} ({e})")
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal").field("path", &self.path).finish()
    }
}

/// A path as the journal keeps it: absolute, so that a command run from
/// another directory (`tasks sync`) finds the same file.
fn stored_path(path: &Path) -> String {
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

/// How long a writer waits for another (a process or a thread) to let go.
const BUSY_WAIT: Duration = Duration::from_secs(30);

/// Puts the file in WAL mode, which it keeps from then on. Switching needs
/// the file to itself, and SQLite answers "database is locked" at once
/// rather than call the busy handler, so several processes opening a new
/// journal together (parallel CLI commands) retry here, within [`BUSY_WAIT`].
fn use_wal(conn: &Connection) -> rusqlite::Result<()> {
    let deadline = std::time::Instant::now() + BUSY_WAIT;
    let mut pause = Duration::from_millis(1);
    loop {
        let mode = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0));
        let busy = match &mode {
            Ok(mode) if mode.eq_ignore_ascii_case("wal") => return Ok(()),
            // Another connection held the file: the mode stayed as it was.
            Ok(_) => true,
            Err(rusqlite::Error::SqliteFailure(e, _)) => {
                e.code == rusqlite::ErrorCode::DatabaseBusy
            }
            Err(_) => false,
        };
        if !busy || std::time::Instant::now() >= deadline {
            return mode.map(drop);
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

impl Journal {
    /// Opens (or creates) the journal at `path`, creating its directory.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref().to_path_buf();
        let fail = |message: String| Error::Journal {
            path: path.clone(),
            message,
        };
        let sqlite = |e: rusqlite::Error| fail(describe(&e));
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| fail(format!("cannot create its directory: {e}")))?;
        }
        let mut conn = Connection::open(&path).map_err(sqlite)?;
        conn.busy_timeout(BUSY_WAIT).map_err(sqlite)?;
        use_wal(&conn).map_err(sqlite)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sqlite)?;
        schema::migrate(&mut conn).map_err(|e| match e {
            schema::SchemaError::Newer(version) => fail(format!(
                "was written by a newer seedance-mini (schema {version}; this one reads up to {})",
                schema::LATEST
            )),
            schema::SchemaError::Sqlite(e) => sqlite(e),
        })?;
        preflight(&mut conn).map_err(sqlite)?;
        let conn = Arc::new(Mutex::new(conn));
        renew_leases(Arc::downgrade(&conn));
        Ok(Journal {
            conn,
            path,
            writes_left: None,
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
        let full = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
            Some("injected: database or disk is full".into()),
        );
        Err(Error::Journal {
            path: self.path.clone(),
            message: describe(&full),
        })
    }

    /// The file it lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Claims the job `job.key` names, in one transaction: a new row,
    /// owned by this process, unless its current row may not be replaced
    /// (see [`replaceable`]), which is returned instead. A replaced row is
    /// closed (`superseded_by`), so the key keeps one current row.
    pub(crate) fn claim(&self, job: &NewJob<'_>, replace: Replace) -> Result<Claim, Error> {
        self.may_write()?;
        let request = request_record(job.request);
        let now = unix_now();
        self.with_mut(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let current = tx
                .query_row(
                    &format!(
                        "SELECT {COLUMNS} FROM jobs WHERE job_key = ?1 AND superseded_by IS NULL"
                    ),
                    [job.key],
                    JobRecord::from_row,
                )
                .optional()?;
            if let Some(row) = &current {
                if !replaceable(row, replace, now) {
                    return Ok(Claim::Held(Box::new(row.clone())));
                }
                // Closed before the new row takes the key (the unique index),
                // then pointed at it.
                tx.execute("UPDATE jobs SET superseded_by = 0 WHERE id = ?1", [row.id])?;
            }
            let id = insert_job(&tx, job, &request, now)?;
            if let Some(row) = &current {
                tx.execute(
                    "UPDATE jobs SET superseded_by = ?2, state = CASE state WHEN 'submitting' \
                     THEN 'in_doubt' ELSE state END WHERE id = ?1",
                    params![row.id, id],
                )?;
                Self::event(&tx, row.id, "superseded", &id.to_string())?;
            }
            tx.commit()?;
            Ok(Claim::Claimed(id))
        })
    }

    fn with_mut<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, Error> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut conn).map_err(|e| Error::Journal {
            path: self.path.clone(),
            message: describe(&e),
        })
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, Error> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&conn).map_err(|e| Error::Journal {
            path: self.path.clone(),
            message: describe(&e),
        })
    }

    fn event(conn: &Connection, job: i64, kind: &str, detail: &str) -> rusqlite::Result<()> {
        conn.execute(
            "INSERT INTO events (job_id, at, kind, detail) VALUES (?1, ?2, ?3, ?4)",
            params![job, unix_now(), kind, detail],
        )?;
        Ok(())
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
        let request = request_record(job.request);
        let now = unix_now();
        self.with(|c| {
            let tx = c.unchecked_transaction()?;
            let id = insert_job(&tx, job, &request, now)?;
            tx.commit()?;
            Ok(id)
        })
    }

    fn set(
        &self,
        job: i64,
        kind: &str,
        detail: &str,
        sql: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> Result<(), Error> {
        self.may_write()?;
        self.with(|c| {
            let tx = c.unchecked_transaction()?;
            let mut all: Vec<&dyn rusqlite::ToSql> = vec![&job];
            all.extend_from_slice(args);
            tx.execute(sql, all.as_slice())?;
            Self::event(&tx, job, kind, detail)?;
            tx.commit()
        })
    }

    /// The create was answered: the task exists.
    pub(crate) fn created(&self, job: i64, task: &Task) -> Result<(), Error> {
        let now = unix_now();
        self.set(
            job,
            "created",
            &task.id,
            "UPDATE jobs SET state = 'submitted', task_id = ?2, status = ?3, error = NULL, \
             updated_at = ?4 WHERE id = ?1",
            &[&task.id, &task.status.as_word(), &now],
        )
    }

    /// The create may have reached the provider but no task id came back.
    pub(crate) fn mark_in_doubt(&self, job: i64, reason: &str) -> Result<(), Error> {
        self.set(
            job,
            "in_doubt",
            reason,
            "UPDATE jobs SET state = 'in_doubt', error = ?2, updated_at = ?3 WHERE id = ?1",
            &[&reason, &unix_now()],
        )
    }

    /// The provider refused the create; nothing was made.
    pub(crate) fn rejected(&self, job: i64, reason: &str) -> Result<(), Error> {
        self.set(
            job,
            "rejected",
            reason,
            "UPDATE jobs SET state = 'rejected', error = ?2, updated_at = ?3 WHERE id = ?1",
            &[&reason, &unix_now()],
        )
    }

    /// A poll's result. A completed task's URLs are kept with their expiry.
    pub(crate) fn status(&self, job: i64, task: &Task) -> Result<(), Error> {
        let now = unix_now();
        let urls = serde_json::to_string(&task.video_urls).unwrap_or_else(|_| "[]".into());
        let ttl = task
            .provider
            .result_url_ttl()
            .map(|d| now + d.as_secs() as i64);
        let word = task.status.as_word();
        self.set(
            job,
            "status",
            &word,
            "UPDATE jobs SET status = ?2, video_urls = CASE WHEN ?3 = '[]' THEN video_urls ELSE ?3 END, \
             expires_at = CASE WHEN ?3 != '[]' AND expires_at IS NULL THEN ?4 ELSE expires_at END, \
             updated_at = ?5 WHERE id = ?1",
            &[&word, &urls, &ttl, &now],
        )
    }

    /// The video is on disk.
    pub(crate) fn downloaded(&self, job: i64, file: &Downloaded) -> Result<(), Error> {
        let path = stored_path(&file.path);
        self.set(
            job,
            "downloaded",
            &path,
            "UPDATE jobs SET state = 'done', output = ?2, file_bytes = ?3, file_sha256 = ?4, \
             error = NULL, updated_at = ?5 WHERE id = ?1",
            &[&path, &(file.bytes as i64), &file.sha256, &unix_now()],
        )
    }

    /// The task failed, or a step after the create gave up for good.
    pub(crate) fn failed(&self, job: i64, reason: &str) -> Result<(), Error> {
        self.set(
            job,
            "failed",
            reason,
            "UPDATE jobs SET state = 'failed', error = ?2, updated_at = ?3 WHERE id = ?1",
            &[&reason, &unix_now()],
        )
    }

    /// A step after the create failed but may be tried again (the job stays
    /// `submitted`, with the reason).
    pub(crate) fn note(&self, job: i64, reason: &str) -> Result<(), Error> {
        self.set(
            job,
            "error",
            reason,
            "UPDATE jobs SET error = ?2, updated_at = ?3 WHERE id = ?1",
            &[&reason, &unix_now()],
        )
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
        let mut wheres = Vec::new();
        if !filter.history {
            wheres.push("superseded_by IS NULL".to_string());
        }
        if let Some(state) = filter.state {
            wheres.push(format!("state = '{}'", state.as_str()));
        }
        if let Some(provider) = filter.provider {
            // A provider's name is one of three fixed words.
            wheres.push(format!("provider = '{}'", provider.name()));
        }
        let mut sql = format!("SELECT {COLUMNS} FROM jobs");
        if !wheres.is_empty() {
            sql += &format!(" WHERE {}", wheres.join(" AND "));
        }
        sql = match filter.limit {
            // The newest `limit`, shown oldest first.
            Some(limit) => {
                format!("SELECT * FROM ({sql} ORDER BY id DESC LIMIT {limit}) ORDER BY id")
            }
            None => format!("{sql} ORDER BY id"),
        };
        self.with(|c| {
            let mut stmt = c.prepare(&sql)?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                if !each(JobRecord::from_row(row)?) {
                    break;
                }
            }
            Ok(())
        })
    }

    /// One job by its row id.
    pub fn job(&self, id: i64) -> Result<Option<JobRecord>, Error> {
        self.with(|c| {
            c.query_row(
                &format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1"),
                [id],
                JobRecord::from_row,
            )
            .optional()
        })
    }

    /// The current job recorded under `key`, if any.
    pub fn job_by_key(&self, key: &str) -> Result<Option<JobRecord>, Error> {
        self.with(|c| {
            c.query_row(
                &format!("SELECT {COLUMNS} FROM jobs WHERE job_key = ?1 AND superseded_by IS NULL"),
                [key],
                JobRecord::from_row,
            )
            .optional()
        })
    }

    /// The newest job for `provider`'s task `task_id`, if any.
    pub fn job_by_task(
        &self,
        provider: Provider,
        task_id: &str,
    ) -> Result<Option<JobRecord>, Error> {
        self.with(|c| {
            c.query_row(
                &format!(
                    "SELECT {COLUMNS} FROM jobs WHERE provider = ?1 AND task_id = ?2 \
                     ORDER BY id DESC LIMIT 1"
                ),
                params![provider.name(), task_id],
                JobRecord::from_row,
            )
            .optional()
        })
    }

    /// The newest job for task `task_id` of any provider, if any: where
    /// `status`, `wait` and `download` learn which provider and endpoint
    /// made it.
    pub fn job_by_task_id(&self, task_id: &str) -> Result<Option<JobRecord>, Error> {
        self.with(|c| {
            c.query_row(
                &format!("SELECT {COLUMNS} FROM jobs WHERE task_id = ?1 ORDER BY id DESC LIMIT 1"),
                [task_id],
                JobRecord::from_row,
            )
            .optional()
        })
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
        let now = unix_now();
        self.with(|c| {
            let tx = c.unchecked_transaction()?;
            tx.execute(
                "INSERT INTO jobs (provider, base_url, request, output, state, task_id, status, \
                 created_at, updated_at) VALUES (?1, ?2, '{}', ?3, 'submitted', ?4, ?5, ?6, ?6)",
                params![
                    provider.name(),
                    base_url,
                    output.map(stored_path),
                    task.id,
                    task.status.as_word(),
                    now
                ],
            )?;
            let id = tx.last_insert_rowid();
            Self::event(&tx, id, "adopted", &task.id)?;
            tx.commit()?;
            Ok(id)
        })
    }

    /// Jobs whose create may have been paid for with no task id known:
    /// `in_doubt`, and `submitting` rows whose owner is gone (it died
    /// mid-create), or, for rows from before claims, that are older than
    /// `grace`. They are reported, never re-sent by this crate. Only the
    /// open rows are read (an index on the state).
    pub fn in_doubt(&self, grace: Duration) -> Result<Vec<JobRecord>, Error> {
        let now = unix_now();
        let cutoff = now - grace.as_secs() as i64;
        let open = self.with(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {COLUMNS} FROM jobs WHERE superseded_by IS NULL \
                 AND state IN ('in_doubt', 'submitting') ORDER BY id"
            ))?;
            let rows = stmt.query_map([], JobRecord::from_row)?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        Ok(open
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

/// Inserts a job in `submitting`, owned by this process with a fresh lease;
/// returns its id.
fn insert_job(
    tx: &Connection,
    job: &NewJob<'_>,
    request: &Value,
    now: i64,
) -> rusqlite::Result<i64> {
    tx.execute(
        "INSERT INTO jobs (job_key, provider, base_url, request, prompt, output, state, \
         created_at, updated_at, owner, lease_until) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'submitting', ?7, ?7, ?8, ?9)",
        params![
            job.key,
            job.provider.name(),
            job.base_url,
            request.to_string(),
            job.request.prompt,
            job.output.map(stored_path),
            now,
            owner::me(),
            now + owner::LEASE_SECS,
        ],
    )?;
    let id = tx.last_insert_rowid();
    Journal::event(tx, id, "submitting", owner::me())?;
    Ok(id)
}

/// Proves the journal whole and writable before anything is paid for: every
/// row of its tables is read, and one write is made (and undone), so a
/// damaged, read-only or full journal refuses once, here.
fn preflight(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.query_row("SELECT count(*) FROM jobs", [], |r| r.get::<_, i64>(0))?;
    conn.query_row("SELECT count(*) FROM events", [], |r| r.get::<_, i64>(0))?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    tx.execute(
        "UPDATE jobs SET updated_at = updated_at WHERE id = (SELECT MAX(id) FROM jobs)",
        [],
    )?;
    tx.execute("CREATE TEMP TABLE IF NOT EXISTS probe (x)", [])?;
    tx.rollback()
}

/// Renews this process's leases every [`owner::RENEW_EVERY`], for as long
/// as the journal is open, on a thread of its own (never an async one).
fn renew_leases(conn: std::sync::Weak<Mutex<Connection>>) {
    let spawned = std::thread::Builder::new()
        .name("seedance-mini-lease".into())
        .spawn(move || loop {
            std::thread::sleep(owner::RENEW_EVERY);
            let Some(conn) = conn.upgrade() else {
                return;
            };
            let conn = conn.lock().unwrap_or_else(|p| p.into_inner());
            let renewed = conn.execute(
                "UPDATE jobs SET lease_until = ?2 WHERE owner = ?1 \
                 AND state IN ('submitting', 'submitted')",
                params![owner::me(), unix_now() + owner::LEASE_SECS],
            );
            if let Err(e) = renewed {
                tracing::warn!(error = %e, "could not renew this process's claims");
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "no thread to renew claims; they last {} s", owner::LEASE_SECS);
    }
}

/// The request as the journal keeps it: every field, with no key (requests
/// hold none) and local media as a digest, never inline.
pub(crate) fn request_record(req: &VideoRequest) -> Value {
    record(req, true)
}

/// The request as a job's identity sees it: [`request_record`] without the
/// paths of local files, whose content (a digest) is what counts, wherever
/// the batch was run from.
pub(crate) fn identity_record(req: &VideoRequest) -> Value {
    record(req, false)
}

fn record(req: &VideoRequest, with_paths: bool) -> Value {
    let media_record = |m: &Media| media_record(m, with_paths);
    let VideoRequest {
        prompt,
        first_frame,
        last_frame,
        reference_images,
        reference_videos,
        reference_audio,
        resolution,
        duration,
        aspect_ratio,
        seed,
        camera_fixed,
        audio,
        watermark,
        safety_checker,
        webhook_url,
        web_search,
        return_last_frame,
        safety_identifier,
    } = req;
    let list = |m: &[Media]| m.iter().map(media_record).collect::<Vec<_>>();
    json!({
        "prompt": prompt,
        "first_frame": first_frame.as_ref().map(media_record),
        "last_frame": last_frame.as_ref().map(media_record),
        "reference_images": list(reference_images),
        "reference_videos": list(reference_videos),
        "reference_audio": list(reference_audio),
        "resolution": resolution.map(|r| r.as_str()),
        "duration": duration,
        "aspect_ratio": aspect_ratio.map(|r| r.as_str()),
        "seed": seed,
        "camera_fixed": camera_fixed,
        "audio": audio,
        "watermark": watermark,
        "safety_checker": safety_checker,
        "webhook_url": webhook_url,
        "web_search": web_search,
        "return_last_frame": return_last_frame,
        "safety_identifier": safety_identifier,
    })
}

fn hex_sha256(data: &[u8]) -> String {
    let digest = Sha256::digest(data);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn media_record(media: &Media, with_path: bool) -> Value {
    match media {
        Media::Url(url) if url.starts_with("data:") => {
            json!({ "data_uri_sha256": hex_sha256(url.as_bytes()), "chars": url.len() })
        }
        Media::Url(url) => json!({ "url": url }),
        Media::Bytes { data, mime } => {
            json!({ "sha256": hex_sha256(data), "bytes": data.len(), "mime": mime })
        }
        Media::Path(path) => match std::fs::read(path) {
            Ok(data) if with_path => json!({
                "path": path.to_string_lossy(),
                "sha256": hex_sha256(&data),
                "bytes": data.len(),
            }),
            Ok(data) => json!({ "sha256": hex_sha256(&data), "bytes": data.len() }),
            Err(_) => json!({ "path": path.to_string_lossy() }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_media_is_recorded_as_a_digest_never_inline() {
        let req = VideoRequest::new("x").first_frame(Media::bytes(vec![7u8; 1000], "image/png"));
        let v = request_record(&req);
        assert_eq!(v["first_frame"]["bytes"], 1000);
        assert_eq!(v["first_frame"]["sha256"].as_str().unwrap().len(), 64);
        assert!(!v.to_string().contains("BwcH"), "no base64 of the bytes");
    }
}
