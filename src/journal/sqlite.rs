//! The SQLite ledger: one file (WAL mode) that users can open with
//! `sqlite3`, one connection behind a mutex, a busy timeout across
//! processes, `synchronous=FULL`, and versioned migrations (`schema.rs`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{
    owner, replaceable, schema, stored_path, unix_now, Arg, Change, Claim, Find, JobFilter,
    JobRecord, NewJob, Replace, Store,
};
use crate::{Error, Provider, Task};

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

/// A journal's SQLite file, open.
pub(super) struct Sqlite {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl Sqlite {
    /// Opens (or creates) the file at `path`, creating its directory,
    /// migrating it, and proving it writable.
    pub(super) fn open(path: &Path) -> Result<Self, Error> {
        let fail = |message: String| Error::Journal {
            path: path.to_path_buf(),
            message,
        };
        let sqlite = |e: rusqlite::Error| fail(describe(&e));
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| fail(format!("cannot create its directory: {e}")))?;
        }
        let mut conn = Connection::open(path).map_err(sqlite)?;
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
        Ok(Sqlite {
            conn,
            path: path.to_path_buf(),
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

    fn find_one(
        &self,
        sql: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> Result<Option<JobRecord>, Error> {
        self.with(|c| c.query_row(sql, args, from_row).optional())
    }
}

/// What an injected write failure says: what a full disk says.
pub(super) fn injected_full() -> String {
    let full = rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
        Some("injected: database or disk is full".into()),
    );
    describe(&full)
}

/// A statement written with `$N` placeholders, in SQLite's words (`?N`:
/// the same numbered parameters).
fn numbered(sql: &str) -> String {
    sql.replace('$', "?")
}

impl rusqlite::ToSql for Arg {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Arg::Int(n) => n.to_sql(),
            Arg::Text(t) => t.to_sql(),
        }
    }
}

fn event(conn: &Connection, job: i64, kind: &str, detail: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO events (job_id, at, kind, detail) VALUES (?1, ?2, ?3, ?4)",
        params![job, unix_now(), kind, detail],
    )?;
    Ok(())
}

const COLUMNS: &str = super::COLUMNS;

fn from_row(row: &Row<'_>) -> rusqlite::Result<JobRecord> {
    let text = |i| row.get::<_, Option<String>>(i);
    let state = row.get::<_, String>(7)?;
    let state = super::JobState::parse(&state).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            7,
            rusqlite::types::Type::Text,
            super::unknown_state(&state).into(),
        )
    })?;
    let provider = row.get::<_, String>(2)?;
    let provider = super::stored_provider(&provider).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, e.into())
    })?;
    Ok(JobRecord {
        id: row.get(0)?,
        key: text(1)?,
        provider,
        base_url: row.get(3)?,
        request: serde_json::from_str(&row.get::<_, String>(4)?).unwrap_or_default(),
        prompt: text(5)?,
        output: text(6)?.map(PathBuf::from),
        state,
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
        file_host: text(20)?,
    })
}

impl Store for Sqlite {
    fn claim(&self, job: &NewJob<'_>, request: &str, replace: Replace) -> Result<Claim, Error> {
        let now = unix_now();
        self.with_mut(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let current = tx
                .query_row(
                    &format!(
                        "SELECT {COLUMNS} FROM jobs WHERE job_key = ?1 AND superseded_by IS NULL"
                    ),
                    [job.key],
                    from_row,
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
            let id = insert_job(&tx, job, request, "claimed", now)?;
            if let Some(row) = &current {
                tx.execute(
                    "UPDATE jobs SET superseded_by = ?2, state = CASE state WHEN 'submitting' \
                     THEN 'in_doubt' ELSE state END WHERE id = ?1",
                    params![row.id, id],
                )?;
                event(&tx, row.id, "superseded", &id.to_string())?;
            }
            tx.commit()?;
            Ok(Claim::Claimed(id))
        })
    }

    fn insert(&self, job: &NewJob<'_>, request: &str) -> Result<i64, Error> {
        let now = unix_now();
        self.with(|c| {
            let tx = c.unchecked_transaction()?;
            let id = insert_job(&tx, job, request, "submitting", now)?;
            tx.commit()?;
            Ok(id)
        })
    }

    fn apply(&self, job: i64, change: &Change<'_>) -> Result<bool, Error> {
        let (sql, args, kind, detail) = change.statement();
        self.with(|c| {
            let tx = c.unchecked_transaction()?;
            let mut all: Vec<&dyn rusqlite::ToSql> = vec![&job];
            all.extend(args.iter().map(|a| a as &dyn rusqlite::ToSql));
            let changed = tx.execute(&numbered(sql), all.as_slice())? > 0;
            if changed {
                event(&tx, job, kind, &detail)?;
            }
            tx.commit()?;
            Ok(changed)
        })
    }

    fn each_job(
        &self,
        filter: &JobFilter,
        each: &mut dyn FnMut(JobRecord) -> bool,
    ) -> Result<(), Error> {
        let sql = filter.select();
        self.with(|c| {
            let mut stmt = c.prepare(&sql)?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                if !each(from_row(row)?) {
                    break;
                }
            }
            Ok(())
        })
    }

    fn find(&self, by: Find<'_>) -> Result<Option<JobRecord>, Error> {
        match by {
            Find::Id(id) => {
                self.find_one(&format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1"), &[&id])
            }
            Find::Key(key) => self.find_one(
                &format!("SELECT {COLUMNS} FROM jobs WHERE job_key = ?1 AND superseded_by IS NULL"),
                &[&key],
            ),
            Find::KeyOr(key, fallback) => self.find_one(
                &format!(
                    "SELECT {COLUMNS} FROM jobs WHERE job_key IN (?1, ?2) \
                     AND superseded_by IS NULL ORDER BY job_key = ?1 DESC LIMIT 1"
                ),
                &[&key, &fallback],
            ),
            Find::Task(Some(provider), task_id) => self.find_one(
                &format!(
                    "SELECT {COLUMNS} FROM jobs WHERE provider = ?1 AND task_id = ?2 \
                     ORDER BY id DESC LIMIT 1"
                ),
                &[&provider.name(), &task_id],
            ),
            Find::Task(None, task_id) => self.find_one(
                &format!("SELECT {COLUMNS} FROM jobs WHERE task_id = ?1 ORDER BY id DESC LIMIT 1"),
                &[&task_id],
            ),
        }
    }

    fn open_rows(&self) -> Result<Vec<JobRecord>, Error> {
        self.with(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {COLUMNS} FROM jobs WHERE superseded_by IS NULL \
                 AND state IN ('in_doubt', 'submitting') ORDER BY id"
            ))?;
            let rows = stmt.query_map([], from_row)?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })
    }

    fn adopt(
        &self,
        provider: Provider,
        base_url: &str,
        task: &Task,
        output: Option<&Path>,
    ) -> Result<i64, Error> {
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
            event(&tx, id, "adopted", &task.id)?;
            tx.commit()?;
            Ok(id)
        })
    }
}

/// Inserts a job in `state` (`claimed` or `submitting`), owned by this
/// process with a fresh lease; returns its id.
fn insert_job(
    tx: &Connection,
    job: &NewJob<'_>,
    request: &str,
    state: &str,
    now: i64,
) -> rusqlite::Result<i64> {
    tx.execute(
        "INSERT INTO jobs (job_key, provider, base_url, request, prompt, output, state, \
         created_at, updated_at, owner, lease_until) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?10, ?7, ?7, ?8, ?9)",
        params![
            job.key,
            job.provider.name(),
            job.base_url,
            request,
            job.request.prompt,
            job.output.map(stored_path),
            now,
            owner::me(),
            now + owner::lease_secs(),
            state,
        ],
    )?;
    let id = tx.last_insert_rowid();
    event(tx, id, state, owner::me())?;
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

/// Renews this process's leases every [`owner::renew_every`], for as long
/// as the journal is open, on a thread of its own (never an async one).
fn renew_leases(conn: std::sync::Weak<Mutex<Connection>>) {
    let spawned = std::thread::Builder::new()
        .name("seedance-mini-lease".into())
        .spawn(move || loop {
            std::thread::sleep(owner::renew_every());
            let Some(conn) = conn.upgrade() else {
                return;
            };
            let conn = conn.lock().unwrap_or_else(|p| p.into_inner());
            let renewed = conn.execute(
                "UPDATE jobs SET lease_until = ?2 WHERE owner = ?1 \
                 AND state IN ('claimed', 'submitting', 'submitted')",
                params![owner::me(), unix_now() + owner::lease_secs()],
            );
            if let Err(e) = renewed {
                tracing::warn!(error = %e, "could not renew this process's claims");
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "no thread to renew claims; they last {} s", owner::lease_secs());
    }
}
