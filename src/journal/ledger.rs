//! The one small trait through which a [`Client`](crate::Client) keeps the
//! record of paid work informed: before a create, its answer, each poll, the
//! download, a failure. The client never owns the bookkeeping; it notifies.
//! [`Journal`](super::Journal) is the SQLite implementation; another store
//! (a database shared by several machines) is one more.
//!
//! Every method is called off the async threads (the client runs them on
//! tokio's blocking pool), so an implementation may block on its storage.

use crate::download::Downloaded;
use crate::{Error, Task};

use super::NewJob;

/// A job's identity in a ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct JobId(pub(crate) i64);

impl JobId {
    /// A ledger's own id for a job (for implementations of [`Ledger`]).
    pub fn new(id: i64) -> Self {
        JobId(id)
    }

    /// The row id, as the journal's `tasks` listing shows it (`job`).
    pub fn get(self) -> i64 {
        self.0
    }
}

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// What a client tells the record of paid work, step by step.
pub trait Ledger: Send + Sync + std::fmt::Debug {
    /// A create is about to be sent: record the job first, so that a paid
    /// task is never unknown. An error here means nothing is sent.
    fn before_create(&self, job: &NewJob<'_>) -> Result<JobId, Error>;

    /// The create of a job claimed earlier is about to be sent, now that
    /// the rate limit lets it: whether the claim still holds. `false`
    /// (another worker took it over) means nothing is sent. A ledger with
    /// no claims keeps the default, which always lets it.
    fn sending(&self, job: JobId) -> Result<bool, Error> {
        let _ = job;
        Ok(true)
    }

    /// The create was answered: the task exists.
    fn created(&self, job: JobId, task: &Task) -> Result<(), Error>;

    /// The create failed. `made_nothing`: the provider certainly made no task
    /// (a refusal); otherwise one may exist and be paid for: in doubt.
    fn create_failed(&self, job: JobId, reason: &str, made_nothing: bool) -> Result<(), Error>;

    /// A poll's result.
    fn polled(&self, job: JobId, task: &Task) -> Result<(), Error>;

    /// The video is on disk.
    fn downloaded(&self, job: JobId, file: &Downloaded) -> Result<(), Error>;

    /// A step after the create failed: `for_good` when the task itself
    /// failed, else it may be tried again.
    fn failed(&self, job: JobId, reason: &str, for_good: bool) -> Result<(), Error>;
}

impl Ledger for super::Journal {
    fn before_create(&self, job: &NewJob<'_>) -> Result<JobId, Error> {
        self.begin(job).map(JobId)
    }

    fn sending(&self, job: JobId) -> Result<bool, Error> {
        super::Journal::sending(self, job.0)
    }

    fn created(&self, job: JobId, task: &Task) -> Result<(), Error> {
        super::Journal::created(self, job.0, task)
    }

    fn create_failed(&self, job: JobId, reason: &str, made_nothing: bool) -> Result<(), Error> {
        match made_nothing {
            true => self.rejected(job.0, reason),
            false => self.mark_in_doubt(job.0, reason),
        }
    }

    fn polled(&self, job: JobId, task: &Task) -> Result<(), Error> {
        self.status(job.0, task)
    }

    fn downloaded(&self, job: JobId, file: &Downloaded) -> Result<(), Error> {
        super::Journal::downloaded(self, job.0, file)
    }

    fn failed(&self, job: JobId, reason: &str, for_good: bool) -> Result<(), Error> {
        match for_good {
            true => super::Journal::failed(self, job.0, reason),
            false => self.note(job.0, reason),
        }
    }
}
