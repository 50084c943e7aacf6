//! The journal's schema and its versioned migrations.
//!
//! The version lives in SQLite's `PRAGMA user_version`. A file from before
//! versions were kept (version 0 with a `jobs` table) is version 1. Every
//! migration runs inside one `BEGIN IMMEDIATE` transaction with the version
//! bump, so processes opening a journal together migrate it once, and a
//! failure leaves it as it was. A journal written by a newer version is
//! refused rather than misread.

use rusqlite::{Connection, TransactionBehavior};

/// The version this build writes.
pub(crate) const LATEST: i64 = 4;

/// Version 1: the tables as the first journal made them.
const V1: &str = "
CREATE TABLE IF NOT EXISTS jobs (
    id          INTEGER PRIMARY KEY,
    job_key     TEXT,
    provider    TEXT NOT NULL,
    base_url    TEXT NOT NULL,
    request     TEXT NOT NULL,
    prompt      TEXT,
    output      TEXT,
    state       TEXT NOT NULL,
    task_id     TEXT,
    status      TEXT,
    video_urls  TEXT NOT NULL DEFAULT '[]',
    expires_at  INTEGER,
    file_bytes  INTEGER,
    file_sha256 TEXT,
    error       TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_task ON jobs (provider, task_id);
CREATE INDEX IF NOT EXISTS jobs_key ON jobs (job_key);
CREATE TABLE IF NOT EXISTS events (
    job_id INTEGER NOT NULL REFERENCES jobs (id),
    at     INTEGER NOT NULL,
    kind   TEXT NOT NULL,
    detail TEXT
);
";

/// Version 2: claims. A job's row carries its owner (host, pid, process
/// start) and a lease the owner renews; a resubmitted job's older rows are
/// closed (`superseded_by`), so one key has one current row, which a unique
/// index holds to; states are indexed for the in-doubt scan.
const V2: &str = "
ALTER TABLE jobs ADD COLUMN owner TEXT;
ALTER TABLE jobs ADD COLUMN lease_until INTEGER;
ALTER TABLE jobs ADD COLUMN superseded_by INTEGER;
UPDATE jobs SET superseded_by = (SELECT MAX(newer.id) FROM jobs AS newer WHERE newer.job_key = jobs.job_key)
 WHERE job_key IS NOT NULL
   AND id < (SELECT MAX(newer.id) FROM jobs AS newer WHERE newer.job_key = jobs.job_key);
CREATE UNIQUE INDEX jobs_current_key ON jobs (job_key) WHERE job_key IS NOT NULL AND superseded_by IS NULL;
CREATE INDEX jobs_open ON jobs (state) WHERE superseded_by IS NULL;
CREATE INDEX jobs_owner ON jobs (owner) WHERE state IN ('submitting', 'submitted');
";

/// Version 3: a claimed job's create is not sent yet (`claimed`); the
/// owner index covers the states whose leases are renewed.
const V3: &str = "
DROP INDEX jobs_owner;
CREATE INDEX jobs_owner ON jobs (owner) WHERE state IN ('claimed', 'submitting', 'submitted');
";

/// Version 4: which host holds a job's file (several machines share a
/// ledger on PostgreSQL; the column is kept here too, so rows read alike).
const V4: &str = "ALTER TABLE jobs ADD COLUMN file_host TEXT;";

/// Each version's steps, in order: `MIGRATIONS[n]` takes version n to n + 1.
const MIGRATIONS: [&str; LATEST as usize] = [V1, V2, V3, V4];

/// Why a journal could not be brought up to date.
#[derive(Debug)]
pub(crate) enum SchemaError {
    /// Written by a newer version of this crate.
    Newer(i64),
    /// SQLite refused.
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for SchemaError {
    fn from(e: rusqlite::Error) -> Self {
        SchemaError::Sqlite(e)
    }
}

/// Brings the journal to [`LATEST`], in one transaction.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), SchemaError> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current == LATEST {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version == 0 {
        let has_jobs: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'jobs')",
            [],
            |r| r.get(0),
        )?;
        if has_jobs {
            version = 1;
        }
    }
    if version > LATEST {
        return Err(SchemaError::Newer(version));
    }
    for step in &MIGRATIONS[version as usize..] {
        tx.execute_batch(step)?;
    }
    tx.pragma_update(None, "user_version", LATEST)?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{JobState, Journal};

    /// A journal as the first version wrote it: two rows for one job (an
    /// in-doubt create, then its resubmission), one generate row, no version.
    fn first_version_journal(path: &std::path::Path) {
        let conn = Connection::open(path).unwrap();
        conn.execute_batch(V1).unwrap();
        conn.execute_batch(
            "INSERT INTO jobs (job_key, provider, base_url, request, prompt, output, state, task_id, created_at, updated_at)
             VALUES ('batch:aa', 'magnific', 'http://m', '{}', 'fog', '/v/fog.mp4', 'submitting', NULL, 1, 1),
                    ('batch:aa', 'magnific', 'http://m', '{}', 'fog', '/v/fog.mp4', 'done', 't-2', 2, 2),
                    (NULL, 'anyfast', 'http://a', '{}', 'kite', NULL, 'submitted', 't-3', 3, 3);
             INSERT INTO events (job_id, at, kind, detail) VALUES (1, 1, 'submitting', '');",
        )
        .unwrap();
    }

    #[test]
    fn a_first_version_journal_migrates_with_every_row_intact() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.sqlite3");
        first_version_journal(&path);
        let journal = Journal::open(&path).unwrap();
        let all = journal.history().unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(
            all.iter().map(|j| j.task_id.as_deref()).collect::<Vec<_>>(),
            [None, Some("t-2"), Some("t-3")]
        );
        assert_eq!(all[0].superseded_by, Some(2), "the older row is closed");
        let current = journal.jobs().unwrap();
        assert_eq!(current.len(), 2, "one row per job");
        assert_eq!(current[0].state, JobState::Done);
        let version: i64 = Connection::open(&path)
            .unwrap()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, LATEST);
        // Opening again changes nothing.
        drop(journal);
        assert_eq!(Journal::open(&path).unwrap().history().unwrap(), all);
    }

    #[test]
    fn a_newer_journal_and_an_unknown_state_are_errors_never_in_doubt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.sqlite3");
        let journal = Journal::open(&path).unwrap();
        drop(journal);
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "INSERT INTO jobs (provider, base_url, request, state, created_at, updated_at)
             VALUES ('magnific', 'http://m', '{}', 'paused', 1, 1);",
        )
        .unwrap();
        let journal = Journal::open(&path).unwrap();
        let err = journal.jobs().unwrap_err().to_string();
        assert!(err.contains("unknown state `paused`"), "{err}");
        assert!(
            journal.in_doubt(std::time::Duration::ZERO).is_ok(),
            "not read as in doubt"
        );
        drop(journal);
        conn.pragma_update(None, "user_version", LATEST + 1)
            .unwrap();
        let err = Journal::open(&path).unwrap_err().to_string();
        assert!(err.contains("written by a newer seedance-mini"), "{err}");
    }
}
