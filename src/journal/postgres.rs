//! The PostgreSQL ledger: one database that every worker of a batch shares,
//! on one machine or many (`--journal postgres://…`, feature `postgres`).
//!
//! The driver is the `postgres` crate: tokio-postgres's own blocking face,
//! by the same maintainers and on the same wire code. The ledger's methods
//! are synchronous by design (the client calls them on tokio's blocking
//! pool, as for SQLite), so each connection lives on a thread of its own,
//! with no async runtime to share; a small fixed set of them ([`CONNECTIONS`])
//! takes work from one queue, and a method waits for its answer.
//!
//! Claims: a new job is claimed by an insert under the unique current-key
//! index (`ON CONFLICT DO NOTHING`): the first worker wins, the others find
//! it held. A row that may be replaced (its owner's lease ran out before
//! its create was sent, or the caller accepts paying again) is taken with
//! `FOR UPDATE SKIP LOCKED`, so two workers never take it together and
//! neither waits on the other. Migrations run under an advisory lock, in one
//! transaction, so a shared database is never half-migrated.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use postgres::types::{IsNull, ToSql, Type};
use postgres::{Client as Connection, GenericClient, Row};

use super::{
    owner, replaceable, stored_path, unix_now, Arg, Change, Claim, Find, JobFilter, JobRecord,
    JobState, NewJob, Replace, Store, COLUMNS,
};
use crate::{Error, Provider, Task};

/// Connections each process keeps.
pub(super) const CONNECTIONS: usize = 4;

/// Rows read at a time by [`Store::each_job`]: memory stays flat however
/// large the ledger grows.
const PAGE: i64 = 500;

/// The advisory lock that migrations hold (any fixed number; this one
/// spells "sdmn").
const MIGRATION_LOCK: i64 = 0x7364_6d6e;

/// The version this build writes.
const LATEST: i64 = 1;

/// Version 1: the SQLite journal's tables as of its schema 4.
const V1: &str = "
CREATE TABLE jobs (
    id            BIGSERIAL PRIMARY KEY,
    job_key       TEXT,
    provider      TEXT NOT NULL,
    base_url      TEXT NOT NULL,
    request       TEXT NOT NULL,
    prompt        TEXT,
    output        TEXT,
    state         TEXT NOT NULL,
    task_id       TEXT,
    status        TEXT,
    video_urls    TEXT NOT NULL DEFAULT '[]',
    expires_at    BIGINT,
    file_bytes    BIGINT,
    file_sha256   TEXT,
    error         TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    owner         TEXT,
    lease_until   BIGINT,
    superseded_by BIGINT,
    file_host     TEXT
);
CREATE UNIQUE INDEX jobs_current_key ON jobs (job_key) WHERE job_key IS NOT NULL AND superseded_by IS NULL;
CREATE INDEX jobs_task ON jobs (provider, task_id);
CREATE INDEX jobs_open ON jobs (state) WHERE superseded_by IS NULL;
CREATE INDEX jobs_owner ON jobs (owner) WHERE state IN ('claimed', 'submitting', 'submitted');
CREATE TABLE events (
    job_id BIGINT NOT NULL REFERENCES jobs (id),
    at     BIGINT NOT NULL,
    kind   TEXT NOT NULL,
    detail TEXT
);
";

/// Each version's steps: `MIGRATIONS[n]` takes version n to n + 1.
const MIGRATIONS: [&str; LATEST as usize] = [V1];

/// One piece of work for a connection's thread; it is handed the
/// connection, or why there is none.
type Work = Box<dyn FnOnce(Result<&mut Connection, String>) + Send>;

/// A shared ledger, open.
pub(super) struct Postgres {
    inner: Arc<Inner>,
}

struct Inner {
    queue: Mutex<mpsc::Sender<Work>>,
    /// The URL without its password, as messages name it.
    shown: String,
}

/// `url` as it may be shown: no password (in the user part or the query).
pub(crate) fn redact(url: &str) -> String {
    let (head, query) = url.split_once('?').unwrap_or((url, ""));
    let head = match head.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((user, host)) => {
                let user = user.split_once(':').map_or(user, |(name, _)| name);
                format!("{scheme}://{user}@{host}")
            }
            None => head.to_string(),
        },
        None => head.to_string(),
    };
    let query: Vec<&str> = query
        .split('&')
        .filter(|pair| !pair.is_empty() && !pair.to_ascii_lowercase().starts_with("password="))
        .collect();
    match query.is_empty() {
        true => head,
        false => format!("{head}?{}", query.join("&")),
    }
}

/// What went wrong, in the server's words when it gave some: the driver's
/// own text may name the connection, never the password.
fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                text = format!("{text}: {s}");
                source = s.source();
            }
            text
        }
    }
}

impl ToSql for Arg {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Arg::Int(n) => n.to_sql(ty, out),
            Arg::Text(t) => t.to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        <Option<i64> as ToSql>::accepts(ty) || <Option<String> as ToSql>::accepts(ty)
    }

    postgres::types::to_sql_checked!();
}

impl Postgres {
    /// Connects to `url`, migrates the database under an advisory lock,
    /// and proves it writable, before anything is paid for.
    pub(super) fn open(url: &str) -> Result<Self, Error> {
        let shown = redact(url);
        let fail = |message: String| Error::Journal {
            path: PathBuf::from(&shown),
            message,
        };
        let mut config = postgres::Config::from_str(url)
            .map_err(|e| fail(format!("is not a PostgreSQL URL: {}", describe(&e))))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        // Every statement, a claim's wait for a row included, is bounded.
        config.options("-c statement_timeout=30000 -c lock_timeout=30000");
        config.application_name("seedance-mini");
        let (queue, work) = mpsc::channel::<Work>();
        let work = Arc::new(Mutex::new(work));
        let (ready, first) = mpsc::sync_channel(1);
        for n in 0..CONNECTIONS {
            let (config, work, ready) = (config.clone(), work.clone(), ready.clone());
            std::thread::Builder::new()
                .name(format!("seedance-mini-postgres-{n}"))
                .spawn(move || serve(n, &config, &work, ready))
                .map_err(|e| fail(format!("no thread for a connection: {e}")))?;
        }
        drop(ready);
        match first.recv() {
            Ok(Ok(())) => {}
            Ok(Err(message)) => return Err(fail(message)),
            Err(_) => return Err(fail("the connection's thread stopped".into())),
        }
        let inner = Arc::new(Inner {
            queue: Mutex::new(queue),
            shown,
        });
        renew_leases(Arc::downgrade(&inner));
        Ok(Postgres { inner })
    }

    /// The URL as messages name it (no password).
    pub(super) fn shown(&self) -> &str {
        &self.inner.shown
    }

    /// Runs `f` on a connection's thread and waits for its answer.
    fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, postgres::Error> + Send + 'static,
    ) -> Result<T, Error> {
        run(&self.inner, f)
    }
}

fn run<T: Send + 'static>(
    inner: &Inner,
    f: impl FnOnce(&mut Connection) -> Result<T, postgres::Error> + Send + 'static,
) -> Result<T, Error> {
    let fail = |message: String| Error::Journal {
        path: PathBuf::from(&inner.shown),
        message,
    };
    let (answer, answered) = mpsc::sync_channel(1);
    let work: Work = Box::new(move |conn| {
        let result = match conn {
            Ok(conn) => f(conn).map_err(|e| describe(&e)),
            Err(why) => Err(why),
        };
        let _ = answer.send(result);
    });
    let sent = inner
        .queue
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .send(work);
    if sent.is_err() {
        return Err(fail("its connections are closed".into()));
    }
    answered
        .recv()
        .map_err(|_| fail("a connection's thread stopped".into()))?
        .map_err(fail)
}

/// A connection's thread: connects (the first one also migrates and
/// reports), then does the queue's work until the ledger is dropped,
/// connecting again after a connection is lost.
fn serve(
    n: usize,
    config: &postgres::Config,
    work: &Mutex<mpsc::Receiver<Work>>,
    ready: mpsc::SyncSender<Result<(), String>>,
) {
    let connect = || match config.get_ssl_mode() {
        postgres::config::SslMode::Require => {
            let tls = tls().map_err(|e| format!("no TLS configuration: {e}"))?;
            config.connect(tls).map_err(|e| describe(&e))
        }
        // `prefer` (the default) and `disable`: no TLS, as before, so a
        // server with a self-signed certificate (Debian's snakeoil) still
        // works; `require` is what asks for it, verified.
        _ => config.connect(postgres::NoTls).map_err(|e| describe(&e)),
    };
    let mut conn = match n {
        0 => {
            let opened = connect().and_then(|mut c| {
                migrate(&mut c)?;
                preflight(&mut c).map_err(|e| describe(&e))?;
                Ok(c)
            });
            let _ = ready.send(opened.as_ref().map(drop).map_err(Clone::clone));
            match opened {
                Ok(c) => Some(c),
                Err(_) => return,
            }
        }
        _ => None,
    };
    drop(ready);
    loop {
        let next = work.lock().unwrap_or_else(|p| p.into_inner()).recv();
        let Ok(job) = next else {
            return;
        };
        if conn.as_ref().is_none_or(Connection::is_closed) {
            conn = None;
            match connect() {
                Ok(c) => conn = Some(c),
                Err(why) => {
                    job(Err(why));
                    continue;
                }
            }
        }
        if let Some(c) = conn.as_mut() {
            job(Ok(c));
        }
    }
}

/// TLS for `sslmode=require`, verified against the platform's roots by
/// rustls, as the API calls are.
fn tls() -> Result<tokio_postgres_rustls::MakeRustlsConnect, rustls::Error> {
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(
        crate::tls::config()?,
    ))
}

/// Brings the database to [`LATEST`] in one transaction under an advisory
/// lock: workers starting together migrate it once, and the others wait,
/// then find it done.
fn migrate(conn: &mut Connection) -> Result<(), String> {
    let mut tx = conn.transaction().map_err(|e| describe(&e))?;
    let steps = |tx: &mut postgres::Transaction<'_>| -> Result<Option<i64>, postgres::Error> {
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS seedance_mini_schema (version BIGINT NOT NULL)",
        )?;
        let version: i64 = match tx.query_opt("SELECT version FROM seedance_mini_schema", &[])? {
            Some(row) => row.get(0),
            None => {
                tx.execute("INSERT INTO seedance_mini_schema (version) VALUES (0)", &[])?;
                0
            }
        };
        if version > LATEST {
            return Ok(Some(version));
        }
        for step in &MIGRATIONS[version as usize..] {
            tx.batch_execute(step)?;
        }
        tx.execute("UPDATE seedance_mini_schema SET version = $1", &[&LATEST])?;
        Ok(None)
    };
    match steps(&mut tx).map_err(|e| describe(&e))? {
        Some(newer) => Err(format!(
            "was written by a newer seedance-mini (schema {newer}; this one reads up to {LATEST})"
        )),
        None => tx.commit().map_err(|e| describe(&e)),
    }
}

/// Proves the ledger writable before anything is paid for: one write,
/// undone.
fn preflight(conn: &mut Connection) -> Result<(), postgres::Error> {
    let mut tx = conn.transaction()?;
    tx.execute(
        "UPDATE jobs SET updated_at = updated_at WHERE id = (SELECT MAX(id) FROM jobs)",
        &[],
    )?;
    tx.rollback()
}

/// Renews this process's leases every [`owner::renew_every`] while the
/// ledger is open.
fn renew_leases(inner: Weak<Inner>) {
    let spawned = std::thread::Builder::new()
        .name("seedance-mini-lease".into())
        .spawn(move || loop {
            std::thread::sleep(owner::renew_every());
            let Some(inner) = inner.upgrade() else {
                return;
            };
            let renewed = run(&inner, |c| {
                c.execute(
                    "UPDATE jobs SET lease_until = $2 WHERE owner = $1 \
                     AND state IN ('claimed', 'submitting', 'submitted')",
                    &[&owner::me(), &(unix_now() + owner::lease_secs())],
                )
            });
            if let Err(e) = renewed {
                tracing::warn!(error = %e, "could not renew this process's claims");
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "no thread to renew claims; they last {} s", owner::lease_secs());
    }
}

fn from_row(row: &Row) -> Result<JobRecord, String> {
    let word: String = row.get(7);
    let state = JobState::parse(&word).ok_or_else(|| super::unknown_state(&word))?;
    let provider = super::stored_provider(row.get::<_, &str>(2))?;
    Ok(JobRecord {
        id: row.get(0),
        key: row.get(1),
        provider,
        base_url: row.get(3),
        request: serde_json::from_str(row.get::<_, &str>(4)).unwrap_or_default(),
        prompt: row.get(5),
        output: row.get::<_, Option<String>>(6).map(PathBuf::from),
        state,
        task_id: row.get(8),
        status: row.get(9),
        video_urls: serde_json::from_str(row.get::<_, &str>(10)).unwrap_or_default(),
        expires_at: row.get(11),
        file_bytes: row.get::<_, Option<i64>>(12).map(|n| n as u64),
        file_sha256: row.get(13),
        error: row.get(14),
        created_at: row.get(15),
        updated_at: row.get(16),
        owner: row.get(17),
        lease_until: row.get(18),
        superseded_by: row.get(19),
        file_host: row.get(20),
    })
}

/// Rows as records; a row no version wrote (an unknown state) is an error.
fn records(shown: &str, rows: Vec<Row>) -> Result<Vec<JobRecord>, Error> {
    rows.iter()
        .map(from_row)
        .collect::<Result<_, _>>()
        .map_err(|message| Error::Journal {
            path: PathBuf::from(shown),
            message,
        })
}

fn event(
    c: &mut impl GenericClient,
    job: i64,
    kind: &str,
    detail: &str,
) -> Result<(), postgres::Error> {
    c.execute(
        "INSERT INTO events (job_id, at, kind, detail) VALUES ($1, $2, $3, $4)",
        &[&job, &unix_now(), &kind, &detail],
    )
    .map(drop)
}

/// A new job's row, as it is inserted.
struct Insert {
    key: Option<String>,
    provider: &'static str,
    base_url: String,
    request: String,
    prompt: Option<String>,
    output: Option<String>,
}

impl Insert {
    fn of(job: &NewJob<'_>, request: &str) -> Self {
        Insert {
            key: job.key.map(String::from),
            provider: job.provider.name(),
            base_url: job.base_url.to_string(),
            request: request.to_string(),
            prompt: job.request.prompt.clone(),
            output: job.output.map(stored_path),
        }
    }

    /// Inserts it in `state`, owned by this process with a fresh lease;
    /// `None` when the key has a current row already.
    fn run(&self, c: &mut impl GenericClient, state: &str) -> Result<Option<i64>, postgres::Error> {
        let now = unix_now();
        // The row and its event in one statement (one round trip).
        let row = c.query_opt(
            "WITH inserted AS (INSERT INTO jobs (job_key, provider, base_url, request, prompt, \
             output, state, created_at, updated_at, owner, lease_until) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10) \
             ON CONFLICT (job_key) WHERE job_key IS NOT NULL AND superseded_by IS NULL \
             DO NOTHING RETURNING id) \
             INSERT INTO events (job_id, at, kind, detail) SELECT id, $8, $7, $9 FROM inserted \
             RETURNING job_id",
            &[
                &self.key,
                &self.provider,
                &self.base_url,
                &self.request,
                &self.prompt,
                &self.output,
                &state,
                &now,
                &owner::me(),
                &(now + owner::lease_secs()),
            ],
        )?;
        Ok(row.map(|row| row.get(0)))
    }
}

/// A claim's answer before it is turned into a [`Claim`].
enum Claimed {
    Mine(i64),
    Held(Row),
    /// Another worker is replacing the row this moment: look again.
    Busy,
}

impl Store for Postgres {
    fn claim(&self, job: &NewJob<'_>, request: &str, replace: Replace) -> Result<Claim, Error> {
        let insert = Arc::new(Insert::of(job, request));
        for _ in 0..50 {
            let insert = insert.clone();
            let claimed = self.run(move |c| {
                // A new job: one statement, no transaction to open.
                if let Some(id) = insert.run(c, "claimed")? {
                    return Ok(Claimed::Mine(id));
                }
                let mut tx = c.transaction()?;
                let current = tx.query_opt(
                    &format!(
                        "SELECT {COLUMNS} FROM jobs WHERE job_key = $1 AND superseded_by IS NULL \
                         FOR UPDATE SKIP LOCKED"
                    ),
                    &[&insert.key],
                )?;
                let Some(current) = current else {
                    return Ok(Claimed::Busy);
                };
                let Ok(record) = from_row(&current) else {
                    return Ok(Claimed::Held(current));
                };
                if !replaceable(&record, replace, unix_now()) {
                    return Ok(Claimed::Held(current));
                }
                // Closed before the new row takes the key, then pointed at it.
                tx.execute(
                    "UPDATE jobs SET superseded_by = 0 WHERE id = $1",
                    &[&record.id],
                )?;
                let Some(id) = insert.run(&mut tx, "claimed")? else {
                    return Ok(Claimed::Busy);
                };
                tx.execute(
                    "UPDATE jobs SET superseded_by = $2, state = CASE state WHEN 'submitting' \
                     THEN 'in_doubt' ELSE state END WHERE id = $1",
                    &[&record.id, &id],
                )?;
                event(&mut tx, record.id, "superseded", &id.to_string())?;
                tx.commit()?;
                Ok(Claimed::Mine(id))
            })?;
            match claimed {
                Claimed::Mine(id) => return Ok(Claim::Claimed(id)),
                Claimed::Held(row) => {
                    let record = from_row(&row).map_err(|message| Error::Journal {
                        path: PathBuf::from(self.shown()),
                        message,
                    })?;
                    return Ok(Claim::Held(Box::new(record)));
                }
                Claimed::Busy => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        Err(Error::Journal {
            path: PathBuf::from(self.shown()),
            message: format!(
                "job {} stayed locked by another worker for a second",
                job.key.unwrap_or_default()
            ),
        })
    }

    fn insert(&self, job: &NewJob<'_>, request: &str) -> Result<i64, Error> {
        let insert = Insert::of(job, request);
        self.run(move |c| insert.run(c, "submitting"))?
            .ok_or_else(|| Error::Journal {
                path: PathBuf::from(self.shown()),
                message: "a job without a key was refused".into(),
            })
    }

    fn apply(&self, job: i64, change: &Change<'_>) -> Result<bool, Error> {
        let (sql, args, kind, detail) = change.statement();
        // One statement, so one round trip, and atomic: the update, and its
        // event only when it changed the row.
        let n = args.len() + 1;
        let sql = format!(
            "WITH changed AS ({sql} RETURNING id) INSERT INTO events (job_id, at, kind, detail) \
             SELECT id, ${}, ${}, ${} FROM changed",
            n + 1,
            n + 2,
            n + 3
        );
        self.run(move |c| {
            let (at, kind) = (unix_now(), kind.to_string());
            let mut all: Vec<&(dyn ToSql + Sync)> = vec![&job];
            all.extend(args.iter().map(|a| a as &(dyn ToSql + Sync)));
            all.extend([&at as &(dyn ToSql + Sync), &kind, &detail]);
            Ok(c.execute(&sql, &all)? > 0)
        })
    }

    fn each_job(
        &self,
        filter: &JobFilter,
        each: &mut dyn FnMut(JobRecord) -> bool,
    ) -> Result<(), Error> {
        let sql = format!(
            "SELECT * FROM ({}) AS selected WHERE id > $1 ORDER BY id LIMIT {PAGE}",
            filter.select()
        );
        let mut after = 0i64;
        loop {
            let sql = sql.clone();
            let page = records(self.shown(), self.run(move |c| c.query(&sql, &[&after]))?)?;
            let full = page.len() as i64 == PAGE;
            for job in page {
                after = job.id;
                if !each(job) {
                    return Ok(());
                }
            }
            if !full {
                return Ok(());
            }
        }
    }

    fn find(&self, by: Find<'_>) -> Result<Option<JobRecord>, Error> {
        let rows = match by {
            Find::Id(id) => self.run(move |c| {
                c.query(&format!("SELECT {COLUMNS} FROM jobs WHERE id = $1"), &[&id])
            }),
            Find::Key(key) => {
                let key = key.to_string();
                self.run(move |c| {
                    c.query(
                        &format!(
                            "SELECT {COLUMNS} FROM jobs WHERE job_key = $1 AND superseded_by IS NULL"
                        ),
                        &[&key],
                    )
                })
            }
            Find::KeyOr(key, fallback) => {
                let (key, fallback) = (key.to_string(), fallback.to_string());
                self.run(move |c| {
                    c.query(
                        &format!(
                            "SELECT {COLUMNS} FROM jobs WHERE job_key IN ($1, $2) \
                             AND superseded_by IS NULL ORDER BY job_key = $1 DESC LIMIT 1"
                        ),
                        &[&key, &fallback],
                    )
                })
            }
            Find::Task(provider, task_id) => {
                let (provider, task_id) = (provider.map(Provider::name), task_id.to_string());
                self.run(move |c| {
                    c.query(
                        &format!(
                            "SELECT {COLUMNS} FROM jobs WHERE task_id = $2 \
                             AND ($1::TEXT IS NULL OR provider = $1) ORDER BY id DESC LIMIT 1"
                        ),
                        &[&provider, &task_id],
                    )
                })
            }
        }?;
        Ok(records(self.shown(), rows)?.into_iter().next())
    }

    fn open_rows(&self) -> Result<Vec<JobRecord>, Error> {
        records(
            self.shown(),
            self.run(|c| {
                c.query(
                    &format!(
                        "SELECT {COLUMNS} FROM jobs WHERE superseded_by IS NULL \
                     AND state IN ('in_doubt', 'submitting') ORDER BY id"
                    ),
                    &[],
                )
            })?,
        )
    }

    fn adopt(
        &self,
        provider: Provider,
        base_url: &str,
        task: &Task,
        output: Option<&Path>,
    ) -> Result<i64, Error> {
        let (base_url, output) = (base_url.to_string(), output.map(stored_path));
        let (task_id, status) = (task.id.clone(), task.status.as_word().to_string());
        self.run(move |c| {
            let mut tx = c.transaction()?;
            let now = unix_now();
            let id: i64 = tx
                .query_one(
                    "INSERT INTO jobs (provider, base_url, request, output, state, task_id, \
                     status, created_at, updated_at) \
                     VALUES ($1, $2, '{}', $3, 'submitted', $4, $5, $6, $6) RETURNING id",
                    &[
                        &provider.name(),
                        &base_url,
                        &output,
                        &task_id,
                        &status,
                        &now,
                    ],
                )?
                .get(0);
            event(&mut tx, id, "adopted", &task_id)?;
            tx.commit()?;
            Ok(id)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn a_url_is_shown_without_its_password() {
        assert_eq!(
            redact("postgres://ann:s3cret@db.example:5432/ledger?sslmode=require"),
            "postgres://ann@db.example:5432/ledger?sslmode=require"
        );
        assert_eq!(
            redact("postgresql://ann@db/ledger?password=s3cret&application_name=x"),
            "postgresql://ann@db/ledger?application_name=x"
        );
        assert_eq!(redact("postgres://db/ledger"), "postgres://db/ledger");
        assert_eq!(redact("postgres://a:b:c@h/d"), "postgres://a@h/d");
    }
}
