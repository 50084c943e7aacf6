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
use std::sync::Arc;

use futures_util::StreamExt;

use super::BatchJob;
use crate::journal::{unix_now, JobRecord, JobState};
use crate::{Client, Error, Provider, WaitOptions};

/// How to run a batch.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    /// Jobs running at once (at least 1).
    pub concurrency: usize,
    /// How each job waits.
    pub wait: WaitOptions,
    /// Send again the jobs whose earlier create is in doubt (it may have
    /// made a paid task that nothing can find).
    pub resubmit_in_doubt: bool,
    /// Do not take a whole MP4 at a job's path as done unless the journal
    /// says this job wrote it.
    pub force: bool,
}

/// What happened to one job.
#[derive(Debug)]
pub enum JobOutcome {
    /// The video was written (this run).
    Done {
        /// The task.
        task_id: String,
        /// The file and its size.
        file: PathBuf,
        /// Its size.
        bytes: u64,
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
    },
    /// The task finished but its result URL expired before the download.
    Expired {
        /// The task.
        task_id: String,
    },
}

/// A step of a batch, for progress display and `--json` events.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
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
    /// The job ended (see [`JobOutcome`]): `done`, `skipped`, `failed`,
    /// `in_doubt` or `expired`.
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
    /// `done`, `skipped`, `failed`, `in_doubt` or `expired`.
    pub fn word(&self) -> &'static str {
        match self {
            JobOutcome::Done { .. } => "done",
            JobOutcome::Skipped { .. } => "skipped",
            JobOutcome::Failed { .. } => "failed",
            JobOutcome::InDoubt { .. } => "in_doubt",
            JobOutcome::Expired { .. } => "expired",
        }
    }

    fn event(&self, job: &BatchJob) -> BatchEvent {
        let (task_id, error) = match self {
            JobOutcome::Done { task_id, .. } | JobOutcome::Expired { task_id } => {
                (Some(task_id.clone()), None)
            }
            JobOutcome::Skipped { .. } => (None, None),
            JobOutcome::Failed { task_id, error } => (task_id.clone(), Some(error.to_string())),
            JobOutcome::InDoubt { reason } => (None, Some(reason.clone())),
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
/// (sharing one journal), at most `options.concurrency` at a time. Returns
/// each job's outcome, in the jobs' order.
pub async fn run(
    clients: &HashMap<Provider, Client>,
    jobs: &[BatchJob],
    out_dir: &Path,
    options: &BatchOptions,
    on_event: OnEvent,
) -> Vec<JobOutcome> {
    // Magnific can find an in-doubt task through its list endpoint.
    for client in clients.values() {
        if let Err(e) = client.reconcile_in_doubt().await {
            tracing::warn!(provider = %client.provider(), error = %e, "could not reconcile in-doubt creates");
        }
    }
    let names = jobs.iter().filter_map(|j| j.output.file_name()).collect();
    crate::download::remove_stale_parts(out_dir, &names);
    let mut outcomes: Vec<(usize, JobOutcome)> =
        futures_util::stream::iter(jobs.iter().enumerate())
            .map(|(index, job)| {
                let on_event = on_event.clone();
                async move {
                    let outcome = match clients.get(&job.provider) {
                        Some(client) => run_job(client, job, out_dir, options, &on_event).await,
                        None => JobOutcome::Failed {
                            task_id: None,
                            error: Error::validation(
                                "provider",
                                format!("no client for {}", job.provider),
                            ),
                        },
                    };
                    on_event(outcome.event(job));
                    (index, outcome)
                }
            })
            .buffer_unordered(options.concurrency.max(1))
            .collect()
            .await;
    outcomes.sort_by_key(|(index, _)| *index);
    outcomes.into_iter().map(|(_, o)| o).collect()
}

/// The file is there and as long as the journal says it was written.
fn file_is_whole(path: &Path, record: &JobRecord) -> bool {
    match (std::fs::metadata(path), record.file_bytes) {
        (Ok(meta), Some(bytes)) => meta.is_file() && meta.len() == bytes,
        _ => false,
    }
}

async fn run_job(
    client: &Client,
    job: &BatchJob,
    out_dir: &Path,
    options: &BatchOptions,
    on_event: &OnEvent,
) -> JobOutcome {
    let path = out_dir.join(&job.output);
    let prior = match client.journal().map(|j| {
        j.job_by_key(&job.key).and_then(|found| match found {
            Some(found) => Ok(Some(found)),
            None => j.job_by_key(&job.previous_key),
        })
    }) {
        Some(Err(error)) => {
            return JobOutcome::Failed {
                task_id: None,
                error,
            }
        }
        Some(Ok(prior)) => prior,
        None => None,
    };
    let wait = {
        let on_event = on_event.clone();
        let (line, output) = (job.line, job.output.clone());
        options.wait.clone().also_on_progress(move |t| {
            on_event(BatchEvent::Status {
                line,
                output: output.clone(),
                task_id: t.id.clone(),
                status: t.status.as_word(),
                progress: t.progress,
            })
        })
    };
    let vouched = prior
        .as_ref()
        .is_some_and(|p| p.state == JobState::Done && file_is_whole(&path, p));
    // Files are the last word: a whole video at the path is this job's,
    // whether or not a journal (this one, or any) recorded it.
    if vouched || (!options.force && crate::download::is_whole_mp4(&path)) {
        return JobOutcome::Skipped { file: path };
    }
    if let Some(prior) = prior {
        match (&prior.task_id, prior.state) {
            (Some(task_id), JobState::Failed) => {
                return JobOutcome::Failed {
                    task_id: Some(task_id.clone()),
                    error: Error::validation(
                        "task",
                        prior
                            .error
                            .clone()
                            .unwrap_or_else(|| "failed in an earlier run".into()),
                    ),
                };
            }
            (Some(task_id), _) if prior.expired(unix_now()) => {
                return JobOutcome::Expired {
                    task_id: task_id.clone(),
                };
            }
            (Some(task_id), _) => {
                on_event(BatchEvent::Resumed {
                    line: job.line,
                    output: job.output.clone(),
                    task_id: task_id.clone(),
                });
                return finish(client, task_id, Some(prior.id), &path, &wait).await;
            }
            (None, JobState::InDoubt | JobState::Submitting) if !options.resubmit_in_doubt => {
                return JobOutcome::InDoubt {
                    reason: prior.error.clone().unwrap_or_else(|| {
                        "the process stopped while the create was being sent".into()
                    }),
                };
            }
            // Rejected (nothing was made), or in doubt and asked to re-send.
            (None, _) => {}
        }
    }
    match client
        .submit_job(&job.request, Some(&path), Some(&job.key))
        .await
    {
        Ok((task, job_id)) => {
            on_event(BatchEvent::Submitted {
                line: job.line,
                output: job.output.clone(),
                task_id: task.id.clone(),
            });
            finish(client, &task.id, job_id, &path, &wait).await
        }
        Err(error) => match client.journal().map(|j| j.job_by_key(&job.key)) {
            Some(Ok(Some(record))) if record.state == JobState::InDoubt => JobOutcome::InDoubt {
                reason: error.to_string(),
            },
            _ => JobOutcome::Failed {
                task_id: error.task_id().map(String::from),
                error,
            },
        },
    }
}

async fn finish(
    client: &Client,
    task_id: &str,
    job: Option<i64>,
    path: &Path,
    wait: &WaitOptions,
) -> JobOutcome {
    match client.finish(task_id, job, path, wait, None).await {
        Ok(done) => JobOutcome::Done {
            task_id: done.task.id,
            file: done.file.path,
            bytes: done.file.bytes,
        },
        Err(error) => JobOutcome::Failed {
            task_id: Some(task_id.to_string()),
            error,
        },
    }
}
