//! Running a batch: each job is matched against the journal first, so that
//! running the same batch again resumes it and never pays twice.
//!
//! - a job whose file is on disk, whole, is skipped, with or without a
//!   journal row (unless [`BatchOptions::force`]);
//! - a job with a task id is waited for and downloaded, never re-submitted
//!   (unless its result URL has expired, which is reported);
//! - a job whose create is in doubt is reported, and re-sent only when
//!   [`BatchOptions::resubmit_in_doubt`] says so;
//! - a task that failed is reported as failed, not re-sent;
//! - anything else is submitted.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::BatchJob;
use crate::journal::{owner, unix_now, Claim, JobId, JobRecord, JobState, Replace};
use crate::{Client, Error, Provider, WaitOptions};

/// How to run a batch: [`BatchOptions::new`], then what differs. New
/// options may come, so it is built, not written out.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BatchOptions {
    /// Jobs prepared and created at once, and downloads at once (at least 1).
    pub concurrency: usize,
    /// Tasks waiting at the providers at once (at least 1): a job is not
    /// created while this many are unfinished.
    pub max_in_flight: usize,
    /// How each job waits.
    pub wait: WaitOptions,
    /// Send again the jobs whose earlier create is in doubt (it may have
    /// made a paid task that nothing can find).
    pub resubmit_in_doubt: bool,
    /// Send again the jobs whose task failed: a new paid create each.
    pub retry_failed: bool,
    /// Do not take a whole MP4 at a job's path as done unless the journal
    /// says this job wrote it.
    pub force: bool,
    /// The URL creates name for their task's events, on providers that
    /// send them (a line's own `webhook_url` wins). Not part of a job's
    /// identity: a batch run with or without it is the same batch.
    pub webhook_url: Option<String>,
    /// Verified events from a [`listen`](super::inbox::listen)er: tasks they
    /// end are not polled, and a list is read only now and then.
    #[cfg(feature = "mock")]
    pub webhooks: Option<super::inbox::Inbox>,
}

impl BatchOptions {
    /// Sixteen creates and downloads at a time, up to 1,000 tasks waiting
    /// at the providers, each for at most `wait.max_wait`; nothing re-sent,
    /// whole files trusted.
    pub fn new(wait: WaitOptions) -> Self {
        BatchOptions {
            concurrency: 16,
            max_in_flight: 1000,
            wait,
            resubmit_in_doubt: false,
            retry_failed: false,
            force: false,
            webhook_url: None,
            #[cfg(feature = "mock")]
            webhooks: None,
        }
    }

    /// Jobs prepared and created at once, and downloads at once (at least 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }

    /// Tasks waiting at the providers at once (at least 1).
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n;
        self
    }

    /// See [`BatchOptions::resubmit_in_doubt`](#structfield.resubmit_in_doubt).
    pub fn resubmit_in_doubt(mut self, on: bool) -> Self {
        self.resubmit_in_doubt = on;
        self
    }

    /// See [`BatchOptions::retry_failed`](#structfield.retry_failed).
    pub fn retry_failed(mut self, on: bool) -> Self {
        self.retry_failed = on;
        self
    }

    /// Creates on providers that send events name `url` for them, and
    /// `inbox` receives them (see [`super::inbox::listen`]).
    #[cfg(feature = "mock")]
    pub fn webhooks(mut self, url: impl Into<String>, inbox: super::inbox::Inbox) -> Self {
        self.webhook_url = Some(url.into());
        self.webhooks = Some(inbox);
        self
    }

    /// See [`BatchOptions::force`](#structfield.force).
    pub fn force(mut self, on: bool) -> Self {
        self.force = on;
        self
    }
}

/// What happened to one job.
#[derive(Debug)]
#[non_exhaustive]
pub enum JobOutcome {
    /// The video was written (this run).
    Done {
        /// The completed task.
        task: Box<crate::Task>,
        /// The file written, its size and digest.
        file: crate::download::Downloaded,
    },
    /// The file was already there, whole, from an earlier run.
    Skipped {
        /// The file.
        file: PathBuf,
    },
    /// The task failed, or a step gave up (the task id, when one exists).
    Failed {
        /// The task, if it was created.
        task_id: Option<String>,
        /// Why.
        error: Error,
    },
    /// An earlier create may have made a task no one can find.
    InDoubt {
        /// What the journal says about it.
        reason: String,
        /// The create's error, when it was sent in this run.
        error: Option<Error>,
    },
    /// The task finished but its result URL expired before the download.
    Expired {
        /// The task.
        task_id: String,
    },
    /// Another host (a worker sharing the ledger) downloaded it: the file
    /// is there, not here (`tasks sync --here` fetches a copy).
    Elsewhere {
        /// The host that holds the file.
        host: String,
        /// Where it is on that host.
        file: PathBuf,
        /// The task.
        task_id: Option<String>,
    },
}

/// A step of a batch, for progress display and `--json` events.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "cli", derive(schemars::JsonSchema))]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum BatchEvent {
    /// A create was answered.
    Submitted {
        /// The job's line.
        line: usize,
        /// Its output file.
        output: PathBuf,
        /// The new task.
        task_id: String,
    },
    /// A task from an earlier run is picked up again.
    Resumed {
        /// The job's line.
        line: usize,
        /// Its output file.
        output: PathBuf,
        /// The task.
        task_id: String,
    },
    /// Another live worker sharing the journal holds the job (a claim
    /// conflict): it is left until every free job is sent, then waited
    /// for, never sent again.
    Held {
        /// The job's line.
        line: usize,
        /// Its output file.
        output: PathBuf,
        /// The worker holding it (`host:pid:start`).
        owner: String,
    },
    /// A poll's result.
    Status {
        /// The job's line.
        line: usize,
        /// Its output file.
        output: PathBuf,
        /// The task.
        task_id: String,
        /// Its status, as a machine word.
        status: String,
        /// Percent done, when known.
        progress: Option<u8>,
    },
    /// A task was created but the journal could not record it: its id was
    /// written to a recovery file instead (one JSON line), and no further
    /// create is sent in this run.
    Recovered {
        /// The job's line.
        line: usize,
        /// Its output file.
        output: PathBuf,
        /// The task that was paid for.
        task_id: String,
        /// The recovery file that holds it.
        file: PathBuf,
    },
    /// The job ended (see [`JobOutcome`]): `done`, `skipped`, `failed`,
    /// `in_doubt`, `expired` or `elsewhere`.
    Finished {
        /// The job's line.
        line: usize,
        /// Its output file.
        output: PathBuf,
        /// How it ended.
        outcome: String,
        /// The task, when one exists.
        task_id: Option<String>,
        /// Why it did not finish, if it did not.
        error: Option<String>,
    },
}

/// Called with each event.
pub type OnEvent = Arc<dyn Fn(BatchEvent) + Send + Sync>;

impl JobOutcome {
    pub(crate) fn failed(error: Error) -> Self {
        JobOutcome::Failed {
            task_id: None,
            error,
        }
    }

    /// `done`, `skipped`, `failed`, `in_doubt`, `expired` or `elsewhere`.
    pub fn word(&self) -> &'static str {
        match self {
            JobOutcome::Elsewhere { .. } => "elsewhere",
            JobOutcome::Done { .. } => "done",
            JobOutcome::Skipped { .. } => "skipped",
            JobOutcome::Failed { .. } => "failed",
            JobOutcome::InDoubt { .. } => "in_doubt",
            JobOutcome::Expired { .. } => "expired",
        }
    }

    pub(crate) fn event(&self, job: &BatchJob) -> BatchEvent {
        let (task_id, error) = match self {
            JobOutcome::Done { task, .. } => (Some(task.id.clone()), None),
            JobOutcome::Expired { task_id } => (Some(task_id.clone()), None),
            JobOutcome::Skipped { .. } => (None, None),
            JobOutcome::Elsewhere { task_id, .. } => (task_id.clone(), None),
            JobOutcome::Failed { task_id, error } => (task_id.clone(), Some(error.to_string())),
            JobOutcome::InDoubt { reason, .. } => (None, Some(reason.clone())),
        };
        BatchEvent::Finished {
            line: job.line,
            output: job.output.clone(),
            outcome: self.word().into(),
            task_id,
            error,
        }
    }
}

/// Runs `jobs`, writing each into `out_dir`, with one client per provider
/// (sharing one journal): creates paced by each client's rate limit, one
/// completion detector for all tasks, and a pool of downloads (see
/// the module `batch::pipeline`). Returns each job's outcome, in the jobs' order.
pub async fn run(
    clients: &HashMap<Provider, Client>,
    jobs: &[BatchJob],
    out_dir: &Path,
    options: &BatchOptions,
    on_event: OnEvent,
) -> Vec<JobOutcome> {
    let outcomes: std::sync::Mutex<Vec<Option<JobOutcome>>> =
        std::sync::Mutex::new((0..jobs.len()).map(|_| None).collect());
    let keep = |index: usize, outcome: JobOutcome| {
        outcomes.lock().unwrap_or_else(|p| p.into_inner())[index] = Some(outcome);
    };
    // On the heap: the pipeline's state is large (in a debug build, past a
    // test thread's 2 MiB stack when held in the caller's frame).
    Box::pin(super::pipeline::run(
        clients, jobs, out_dir, options, on_event, &keep,
    ))
    .await;
    outcomes
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .map(|o| {
            o.unwrap_or_else(|| {
                JobOutcome::failed(Error::validation("batch", "the job never ended"))
            })
        })
        .collect()
}

/// [`run`], as a stream of its events (`Finished` once per job, last);
/// the stream ends when every job has.
pub fn events<'a>(
    clients: &'a HashMap<Provider, Client>,
    jobs: &'a [BatchJob],
    out_dir: &'a Path,
    options: &'a BatchOptions,
) -> impl futures_util::Stream<Item = BatchEvent> + 'a {
    let (sent, received) = tokio::sync::mpsc::unbounded_channel();
    let work = Box::pin(async move {
        let on_event: OnEvent = Arc::new(move |event| {
            let _ = sent.send(event);
        });
        super::pipeline::run(clients, jobs, out_dir, options, on_event, &|_, _| {}).await;
    });
    super::pipeline::while_running(work, received)
}

/// The file is there and as long as the journal says it was written.
fn file_is_whole(path: &Path, record: &JobRecord) -> bool {
    match (std::fs::metadata(path), record.file_bytes) {
        (Ok(meta), Some(bytes)) => meta.is_file() && meta.len() == bytes,
        _ => false,
    }
}

/// What a job says that a failed journal stopped before its create.
pub(crate) const HALTED: &str = "not sent: the journal failed earlier in this run";

/// What every job of one run shares.
pub(crate) struct Run<'a> {
    pub out_dir: &'a Path,
    pub options: &'a BatchOptions,
    pub on_event: &'a OnEvent,
    /// Set once a journal write failed: no further create is sent.
    pub halted: &'a AtomicBool,
    /// Where each job's outcome goes as it ends.
    pub on_outcome: super::pipeline::OnOutcome<'a>,
}

impl Run<'_> {
    /// Notes a journal failure, which stops the spend for the rest of the run.
    pub(crate) fn check(&self, error: &Error) {
        if error.is_journal() && !self.halted.swap(true, Ordering::SeqCst) {
            tracing::error!(error = %error, "the journal failed: no further create is sent");
        }
    }
}

/// Where a job stands once it has been matched against the journal and,
/// if it needed one, its create was sent.
pub(crate) enum Step {
    /// Nothing more to do: how it ended.
    Ended(JobOutcome),
    /// Another live worker holds it: come back once the free jobs are done
    /// (asked with `patient`, it is waited for instead).
    Held,
    /// A task to wait for and download (created now, or resumed).
    Track {
        /// The task.
        task_id: String,
        /// Its row in the journal.
        job: Option<JobId>,
        /// Picked up from an earlier run (it may be done already).
        resumed: bool,
    },
}

/// Matches `job` against the journal and, when it needs one, claims it
/// and sends its create. 429s on the create are waited out (the client's
/// pace halves with each): the provider refused it, so nothing was made.
pub(crate) async fn prepare(client: &Client, job: &BatchJob, run: &Run<'_>, patient: bool) -> Step {
    let step = prepare_inner(client, job, run, patient).await;
    if let Step::Ended(JobOutcome::Failed { error, .. }) = &step {
        run.check(error);
    }
    step
}

/// Creates refused with 429 that a job sends again before it gives up.
const RATE_LIMITED_TRIES: u32 = 8;

async fn prepare_inner(client: &Client, job: &BatchJob, run: &Run<'_>, patient: bool) -> Step {
    let (options, on_event) = (run.options, run.on_event);
    let path = run.out_dir.join(&job.output);
    let mut prior = match client
        .journal()
        .map(|j| j.job_by_key_or(&job.key, &job.previous_key))
    {
        Some(Err(error)) => {
            return Step::Ended(JobOutcome::Failed {
                task_id: None,
                error,
            })
        }
        Some(Ok(prior)) => prior,
        None => None,
    };
    let mut limited = 0;
    let waited_since = std::time::Instant::now();
    loop {
        let vouched = prior
            .as_ref()
            .is_some_and(|p| p.state == JobState::Done && file_is_whole(&path, p));
        // Files are the last word: a whole video at the path is this job's,
        // whether or not a journal (this one, or any) recorded it.
        if vouched || (!options.force && crate::download::is_whole_mp4(&path)) {
            return Step::Ended(JobOutcome::Skipped { file: path });
        }
        // Done by another worker, whose host holds the file.
        if let Some(p) = prior.as_ref().filter(|p| p.state == JobState::Done) {
            if let Some(host) = p.file_host.as_deref().filter(|h| *h != owner::host()) {
                return Step::Ended(JobOutcome::Elsewhere {
                    host: host.to_string(),
                    file: p.output.clone().unwrap_or_default(),
                    task_id: p.task_id.clone(),
                });
            }
        }
        let mut reread = None;
        if let Some(prior) = &prior {
            let now = unix_now();
            match (&prior.task_id, prior.state) {
                (Some(task_id), JobState::Failed) if !options.retry_failed => {
                    let why = prior
                        .error
                        .clone()
                        .unwrap_or_else(|| "failed in an earlier run".into());
                    return Step::Ended(JobOutcome::Failed {
                        task_id: Some(task_id.clone()),
                        error: Error::validation(
                            "task",
                            format!("{why} (--retry-failed sends it again, as a new paid create)"),
                        ),
                    });
                }
                // Asked to retry: a new create, below.
                (Some(_), JobState::Failed) => {}
                (Some(task_id), _) if prior.expired(now) => {
                    return Step::Ended(JobOutcome::Expired {
                        task_id: task_id.clone(),
                    });
                }
                // Another process holds the job (creating it, or waiting for
                // and downloading its task): its result is waited for, never
                // sent again.
                (_, JobState::Claimed | JobState::Submitting | JobState::Submitted)
                    if held_elsewhere(prior, now) =>
                {
                    if !patient {
                        on_event(BatchEvent::Held {
                            line: job.line,
                            output: job.output.clone(),
                            owner: prior.owner.clone().unwrap_or_default(),
                        });
                        return Step::Held;
                    }
                    match await_owner(client, job, prior, waited_since, options.wait.max_wait).await
                    {
                        Ok(next) => reread = Some(next),
                        Err(error) => {
                            return Step::Ended(JobOutcome::Failed {
                                task_id: prior.task_id.clone(),
                                error,
                            })
                        }
                    }
                }
                (Some(task_id), _) => {
                    on_event(BatchEvent::Resumed {
                        line: job.line,
                        output: job.output.clone(),
                        task_id: task_id.clone(),
                    });
                    return Step::Track {
                        task_id: task_id.clone(),
                        job: Some(JobId(prior.id)),
                        resumed: true,
                    };
                }
                (None, JobState::InDoubt | JobState::Submitting) if !options.resubmit_in_doubt => {
                    return Step::Ended(JobOutcome::InDoubt {
                        reason: prior.error.clone().unwrap_or_else(|| {
                            "the process stopped while the create was being sent".into()
                        }),
                        error: None,
                    });
                }
                // Rejected (nothing was made), or in doubt and asked to re-send.
                (None, _) => {}
            }
        }
        if let Some(next) = reread {
            prior = next;
            continue;
        }
        if run.halted.load(Ordering::SeqCst) {
            return Step::Ended(JobOutcome::Failed {
                task_id: None,
                error: Error::Journal {
                    path: client
                        .journal()
                        .map(|j| j.path().to_path_buf())
                        .unwrap_or_default(),
                    message: HALTED.into(),
                },
            });
        }
        let Some(journal) = client.journal() else {
            return submit(client, job, &path, None, run).await;
        };
        let replace = Replace {
            in_doubt: options.resubmit_in_doubt,
            failed: options.retry_failed,
        };
        match claim(journal, client, job, &path, replace).await {
            Ok(Claim::Claimed(id)) => match submit(client, job, &path, Some(id), run).await {
                Step::Ended(JobOutcome::Failed {
                    error: Error::RateLimited { .. },
                    ..
                }) if limited < RATE_LIMITED_TRIES => {
                    // Refused, so nothing was made: the row says so, and
                    // the job is claimed again at the slower pace.
                    limited += 1;
                    prior = journal.job(id).ok().flatten();
                }
                // Its lease ran out before the create went, and another
                // worker took the job over: nothing was sent; that
                // worker's row says what now.
                Step::Ended(JobOutcome::Failed {
                    error: Error::ClaimTaken { .. },
                    ..
                }) => prior = journal.job_by_key(&job.key).ok().flatten(),
                step => return step,
            },
            // Taken meanwhile, by another process or an earlier answer.
            Ok(Claim::Held(row)) => prior = Some(*row),
            Err(error) => {
                return Step::Ended(JobOutcome::Failed {
                    task_id: None,
                    error,
                })
            }
        }
    }
}

/// The recovery file's name, in the output directory (else the system's
/// temporary directory).
pub const RECOVERY_FILE: &str = "seedance-mini-recovered.jsonl";

/// Writes a created task the journal could not record as one JSON line,
/// synced to disk, in the output directory, or else the temporary
/// directory; returns the file that holds it.
fn recover(
    out_dir: &Path,
    journal: &crate::Journal,
    client: &Client,
    job: &BatchJob,
    path: &Path,
    task_id: &str,
) -> PathBuf {
    use std::io::Write;
    let line = serde_json::json!({
        "task_id": task_id,
        "provider": client.provider().name(),
        "base_url": client.base_url(),
        "job_key": job.key,
        "output": std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
        "journal": journal.path(),
        "at": unix_now(),
    });
    let mut tried = Vec::new();
    for dir in [out_dir.to_path_buf(), std::env::temp_dir()] {
        let file = dir.join(RECOVERY_FILE);
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&file)
            .and_then(|mut f| {
                writeln!(f, "{line}")?;
                f.sync_all()
            });
        match written {
            Ok(()) => return file,
            Err(e) => tried.push(format!("{}: {e}", file.display())),
        }
    }
    tracing::error!(task = %line, tried = ?tried, "no recovery file could be written");
    PathBuf::new()
}

/// Claims `job` in the journal, on the blocking pool (a claim waits for
/// other processes' transactions, up to the journal's busy wait).
async fn claim(
    journal: &crate::Journal,
    client: &Client,
    job: &BatchJob,
    path: &Path,
    replace: Replace,
) -> Result<Claim, Error> {
    let journal = journal.clone();
    let (key, request, path) = (job.key.clone(), job.request.clone(), path.to_path_buf());
    let (provider, base_url) = (client.provider(), client.base_url().to_string());
    tokio::task::spawn_blocking(move || {
        let new = crate::journal::NewJob {
            key: Some(&key),
            provider,
            base_url: &base_url,
            request: &request,
            output: Some(&path),
        };
        journal.claim(&new, replace)
    })
    .await
    .map_err(|e| Error::Journal {
        path: PathBuf::new(),
        message: format!("a claim stopped: {e}"),
    })?
}

/// Whether another live process holds `row`.
fn held_elsewhere(row: &JobRecord, now: i64) -> bool {
    row.claim_alive(now) && row.owner.as_deref() != Some(owner::me())
}

/// Waits until the row another process holds changes state or its owner is
/// gone, reading the journal a few times a second, for at most what is left
/// of `max` since `since`; returns the job's current row to decide again
/// with. Still held at the deadline: [`Error::ExceededMaxWait`].
async fn await_owner(
    client: &Client,
    job: &BatchJob,
    row: &JobRecord,
    since: std::time::Instant,
    max: std::time::Duration,
) -> Result<Option<JobRecord>, Error> {
    let Some(journal) = client.journal() else {
        return Ok(None);
    };
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        match journal.job(row.id)? {
            // Replaced, or gone: the job's current row says what now.
            None => return journal.job_by_key(&job.key),
            Some(now) if now.superseded_by.is_some() => return journal.job_by_key(&job.key),
            Some(now) if now.state != row.state || !now.claim_alive(unix_now()) => {
                return Ok(Some(now))
            }
            Some(_) if since.elapsed() >= max => {
                return Err(Error::ExceededMaxWait {
                    elapsed: since.elapsed(),
                    polls: 0,
                    last: None,
                })
            }
            Some(_) => {}
        }
    }
}

/// Sends the create for a claimed job (or, with no journal, for the job):
/// the task to track, or how the job ended.
async fn submit(
    client: &Client,
    job: &BatchJob,
    path: &Path,
    claimed: Option<i64>,
    run: &Run<'_>,
) -> Step {
    let on_event = run.on_event;
    let named;
    let request = match &run.options.webhook_url {
        Some(url) if client.provider().spec().webhooks && job.request.webhook_url.is_none() => {
            named = job.request.clone().webhook_url(url.clone());
            &named
        }
        _ => &job.request,
    };
    let sent = match claimed {
        Some(id) => client.create_recorded(request, JobId(id), true).await,
        None => client
            .submit_job(request, Some(path))
            .await
            .map(|(task, _)| task),
    };
    match sent {
        Ok(task) => {
            on_event(BatchEvent::Submitted {
                line: job.line,
                output: job.output.clone(),
                task_id: task.id.clone(),
            });
            Step::Track {
                task_id: task.id,
                job: claimed.map(JobId),
                resumed: false,
            }
        }
        Err(error) => {
            run.check(&error);
            if let (Error::AfterSubmit { task_id, source }, Some(journal)) =
                (&error, client.journal())
            {
                if matches!(**source, Error::Journal { .. }) {
                    let file = recover(run.out_dir, journal, client, job, path, task_id);
                    on_event(BatchEvent::Recovered {
                        line: job.line,
                        output: job.output.clone(),
                        task_id: task_id.clone(),
                        file,
                    });
                }
            }
            let record =
                claimed.and_then(|id| client.journal().and_then(|j| j.job(id).ok().flatten()));
            Step::Ended(match record {
                Some(record) if record.state == JobState::InDoubt => JobOutcome::InDoubt {
                    reason: error.to_string(),
                    error: Some(error),
                },
                _ => JobOutcome::Failed {
                    task_id: error.task_id().map(String::from),
                    error,
                },
            })
        }
    }
}
