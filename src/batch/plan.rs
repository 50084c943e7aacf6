//! What a batch would do, found without sending anything: the jobs by
//! provider, resolution and duration, the seconds of video, and how many
//! are done, resumable, in doubt, failed, expired, held by another process,
//! or new creates (each one paid for). The same rules as a run decide, read
//! from the same journal and files.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::runner::BatchOptions;
use super::BatchJob;
use crate::journal::{unix_now, JobRecord, JobState};
use crate::{Error, Journal};

/// The jobs of one provider, resolution and duration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "cli", derive(schemars::JsonSchema))]
pub struct PlanGroup {
    /// Who runs them.
    pub provider: String,
    /// At which resolution (the provider's default when a line sets none).
    pub resolution: String,
    /// Seconds of video each (5, the documents' default, when unset).
    pub duration: i64,
    /// How many jobs.
    pub jobs: usize,
    /// Of those, how many would be created (and paid for) by this run.
    pub new: usize,
}

/// What a run of a batch would do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "cli", derive(schemars::JsonSchema))]
pub struct Plan {
    /// Jobs in all.
    pub jobs: usize,
    /// By provider, resolution and duration.
    pub groups: Vec<PlanGroup>,
    /// Seconds of video the whole batch asks for.
    pub video_seconds: i64,
    /// Seconds of video the new creates ask for.
    pub new_video_seconds: i64,
    /// Whole files on disk: skipped.
    pub done: usize,
    /// Tasks from an earlier run, waited for and downloaded, not paid again.
    pub resumable: usize,
    /// Held by another process that is running them now.
    pub elsewhere: usize,
    /// Creates that may have made a task no one can find: reported, not
    /// sent (unless re-sending in-doubt creates is asked for).
    pub in_doubt: usize,
    /// Tasks that failed: reported, not sent (unless retrying is asked for).
    pub failed: usize,
    /// Finished tasks whose result URL expired before the download.
    pub expired: usize,
    /// Creates this run would send: each is paid for.
    pub new: usize,
}

/// How one job would go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Done,
    Resumable,
    Elsewhere,
    InDoubt,
    Failed,
    Expired,
    New,
}

/// The plan for `jobs` into `out_dir`, as `options` would run them,
/// against `journal` (none: every job without a whole file is new).
pub fn plan(
    jobs: &[BatchJob],
    journal: Option<&Journal>,
    out_dir: &Path,
    options: &BatchOptions,
) -> Result<Plan, Error> {
    let now = unix_now();
    let mut plan = Plan {
        jobs: jobs.len(),
        ..Plan::default()
    };
    let mut groups: BTreeMap<(String, String, i64), PlanGroup> = BTreeMap::new();
    for job in jobs {
        let prior = match journal {
            Some(j) => j.job_by_key_or(&job.key, &job.previous_key)?,
            None => None,
        };
        let fate = fate(prior.as_ref(), &out_dir.join(&job.output), options, now);
        let duration = job.request.duration.unwrap_or(5);
        plan.video_seconds += duration;
        match fate {
            Fate::Done => plan.done += 1,
            Fate::Resumable => plan.resumable += 1,
            Fate::Elsewhere => plan.elsewhere += 1,
            Fate::InDoubt => plan.in_doubt += 1,
            Fate::Failed => plan.failed += 1,
            Fate::Expired => plan.expired += 1,
            Fate::New => {
                plan.new += 1;
                plan.new_video_seconds += duration;
            }
        }
        let resolution = job.request.effective_resolution().to_string();
        let group = groups
            .entry((job.provider.to_string(), resolution.clone(), duration))
            .or_insert_with(|| PlanGroup {
                provider: job.provider.to_string(),
                resolution,
                duration,
                jobs: 0,
                new: 0,
            });
        group.jobs += 1;
        group.new += usize::from(fate == Fate::New);
    }
    plan.groups = groups.into_values().collect();
    Ok(plan)
}

/// The rules of `runner::prepare`, read without acting on them.
fn fate(prior: Option<&JobRecord>, path: &Path, options: &BatchOptions, now: i64) -> Fate {
    let vouched = prior.is_some_and(|p| {
        p.state == JobState::Done
            && p.file_bytes
                .is_some_and(|b| std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() == b))
    });
    if vouched || (!options.force && crate::download::is_whole_mp4(path)) {
        return Fate::Done;
    }
    let Some(prior) = prior else {
        return Fate::New;
    };
    let mine = prior.owner.as_deref() == Some(crate::journal::owner::me());
    match (&prior.task_id, prior.state) {
        (Some(_), JobState::Failed) if !options.retry_failed => Fate::Failed,
        (Some(_), JobState::Failed) => Fate::New,
        (Some(_), _) if prior.expired(now) => Fate::Expired,
        (_, JobState::Claimed | JobState::Submitting | JobState::Submitted)
            if prior.claim_alive(now) && !mine =>
        {
            Fate::Elsewhere
        }
        (Some(_), _) => Fate::Resumable,
        (None, JobState::InDoubt | JobState::Submitting) if !options.resubmit_in_doubt => {
            Fate::InDoubt
        }
        (None, _) => Fate::New,
    }
}
