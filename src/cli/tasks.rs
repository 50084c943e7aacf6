//! `seedance-mini tasks`: what the journal holds, and `tasks sync`, which
//! polls the unfinished tasks and downloads finished ones before their URLs
//! expire.

use std::path::Path;

use futures_util::StreamExt;

use super::documents::{JobDoc, SyncReport, Synced, Version};
use super::Session;
use crate::journal::{unix_now, JobFilter, JobRecord, JobState};
use crate::{Client, Error, Journal, Provider, WaitOptions};

/// `YYYY-MM-DD HH:MM` (UTC) for unix seconds.
fn when(secs: i64) -> String {
    let c = crate::civil::civil(secs);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        c.year, c.month, c.day, c.hour, c.minute
    )
}

fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max - 1).collect();
    format!("{cut}…")
}

/// The end of `text` (a path's file name end), at most `max` characters.
fn short_tail(text: &str, max: usize) -> String {
    let count = text.chars().count();
    if count <= max {
        return text.to_string();
    }
    let tail: String = text.chars().skip(count - (max - 1)).collect();
    format!("…{tail}")
}

/// Lists the journal's jobs that `filter` selects, one row at a time, so
/// memory does not grow with the journal. A reader that goes away (a closed
/// pipe) ends the listing quietly.
pub(crate) fn list(journal: &Journal, filter: &JobFilter, out: super::Output) -> Result<u8, Error> {
    use std::io::Write;
    let stdout = std::io::stdout();
    let mut w = std::io::BufWriter::new(stdout.lock());
    let mut written = Ok(());
    let mut rows = 0usize;
    if out.json {
        // A `documents::JournalTasks`, written as it is read.
        let head = serde_json::to_string(journal.path()).unwrap_or_default();
        written = write!(
            w,
            "{{\"journal\":{head},\"schema_version\":{},\"tasks\":[",
            super::output::SCHEMA_VERSION
        );
        journal.each_job(filter, |job| {
            let sep = if rows == 0 { "" } else { "," };
            rows += 1;
            let row = serde_json::to_string(&JobDoc::from(&job)).unwrap_or_default();
            written = write!(w, "{sep}{row}");
            written.is_ok()
        })?;
        if written.is_ok() {
            written = writeln!(w, "]}}").and_then(|()| w.flush());
        }
        return Ok(quietly(written));
    }
    // Dates as `MM-DD HH:MM` (UTC); the columns fit 120 (created_at is in
    // `--json`).
    let short_when = |secs: i64| when(secs)[5..].to_string();
    journal.each_job(filter, |job| {
        if rows == 0 {
            written = writeln!(
                w,
                "{:<36} {:<10} {:<11} {:<11} {:<10} {:<14} {:<11} HOST",
                "ID", "STATE", "STATUS", "PROVIDER", "PROMPT", "OUTPUT", "EXPIRES"
            );
        }
        rows += 1;
        if written.is_ok() {
            written = writeln!(
                w,
                "{:<36} {:<10} {:<11} {:<11} {:<10} {:<14} {:<11} {}",
                job.task_id.as_deref().unwrap_or("-"),
                job.state.as_str(),
                job.status.as_deref().unwrap_or("-"),
                job.provider,
                short(job.prompt.as_deref().unwrap_or(""), 10),
                short_tail(
                    &job.output
                        .as_ref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default(),
                    14
                ),
                job.expires_at.map(short_when).unwrap_or_else(|| "-".into()),
                short(job.host().unwrap_or("-"), 10),
            );
        }
        written.is_ok()
    })?;
    if rows == 0 && written.is_ok() {
        written = writeln!(w, "no tasks in {}", journal.path().display());
    }
    Ok(quietly(written.and_then(|()| w.flush())))
}

/// A listing's exit code: 0, also when its reader went away (a closed pipe
/// is the reader's choice, as `head` makes it); 3 for another write error.
pub(crate) fn quietly(written: std::io::Result<()>) -> u8 {
    match written {
        Ok(()) => 0,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            eprintln!("error: cannot write to stdout: {e}");
            3
        }
    }
}

/// Polls each unfinished task and downloads the finished ones with an
/// output path, a few at a time; with `here`, also fetches to this machine
/// the videos another host downloaded, to the same paths (the ledger keeps
/// naming the host that downloaded them first). Returns 0 when nothing is
/// left to do.
pub(crate) async fn sync(
    session: &Session<'_>,
    journal: &Journal,
    make_client: impl Fn(Provider, &str) -> Result<Client, Error>,
    wait: &WaitOptions,
    here: bool,
) -> Result<u8, Error> {
    let now = unix_now();
    let mut open: Vec<JobRecord> = Vec::new();
    journal.each_job(&JobFilter::new().state(JobState::Submitted), |job| {
        if job.task_id.is_some() {
            open.push(job);
        }
        true
    })?;
    if here {
        let this = crate::journal::owner::host();
        journal.each_job(&JobFilter::new().state(JobState::Done), |job| {
            let theirs = job.file_host.as_deref().is_some_and(|h| h != this);
            let missing = job
                .output
                .as_deref()
                .is_some_and(|p| !crate::download::is_whole_mp4(p));
            if theirs && missing && job.task_id.is_some() {
                open.push(job);
            }
            true
        })?;
    }
    let mut work = Vec::new();
    for job in open {
        let provider = job.provider;
        work.push((make_client(provider, &job.base_url), job));
    }
    let results: Vec<(JobRecord, Result<String, Error>)> = futures_util::stream::iter(work)
        .map(|(client, job)| async move {
            let id = job.task_id.clone().unwrap_or_default();
            let client = match client {
                Ok(client) => client,
                Err(e) => return (job, Err(e)),
            };
            let result = match (&job.output, job.expired(now)) {
                (_, true) => Err(Error::validation(
                    "task",
                    format!(
                        "{id}: its result URL expired at {}",
                        when(job.expires_at.unwrap_or(0))
                    ),
                )),
                // Never written over: a whole video there may be another's.
                (Some(path), false) if crate::download::is_whole_mp4(path) => Err(
                    Error::validation(
                        "task",
                        format!(
                            "{id}: a whole video is already at {}; it is left as it is (move it to fetch this task there)",
                            path.display()
                        ),
                    ),
                ),
                // Another host's video: fetched, not recorded (the ledger
                // names the host that downloaded it).
                // Its directory may exist only on that host.
                (Some(path), false) if job.state == JobState::Done => match path
                    .parent()
                    .map_or(Ok(()), std::fs::create_dir_all)
                {
                    Err(e) => Err(Error::Io(e)),
                    Ok(()) => client.finish(&id, None, Path::new(path), wait, None).await,
                }
                .map(|done| {
                        format!(
                            "saved {} (from {}'s)",
                            done.file.path.display(),
                            job.file_host.as_deref().unwrap_or("another host")
                        )
                    }),
                (Some(path), false) => client
                    .finish(&id, Some(crate::journal::JobId(job.id)), Path::new(path), wait, None)
                    .await
                    .map(|done| format!("saved {}", done.file.path.display())),
                (None, false) => match client.get(&id).await {
                    Ok(task) => journal
                        .status(job.id, &task)
                        .map(|()| task.status.as_word()),
                    Err(e) => Err(e),
                },
            };
            (job, result)
        })
        .buffer_unordered(4)
        .collect()
        .await;
    // The exit code of the worst failure: 6 local state, 4 a wait that ran
    // out of time, 3 the API, 2 bad input, 1 a task that failed.
    let code = results
        .iter()
        .filter_map(|(_, r)| r.as_ref().err())
        .map(super::exit_code)
        .max()
        .unwrap_or(0);
    if !session.out.json {
        for (job, result) in &results {
            let id = job.task_id.as_deref().unwrap_or("-");
            match result {
                Ok(what) => super::output::say!("{id}  {}  {what}", job.provider),
                Err(e) => super::output::say!("{id}  {}  failed: {e}", job.provider),
            }
        }
    }
    // What sync cannot finish, and why: creates with no task id to poll.
    let in_doubt = journal.in_doubt(std::time::Duration::ZERO)?.len();
    if session.out.json {
        let items: Vec<_> = results
            .iter()
            .map(|(job, r)| match r {
                Ok(what) => Synced {
                    id: job.task_id.clone(),
                    provider: job.provider.name().to_string(),
                    ok: true,
                    result: Some(what.to_string()),
                    error: None,
                },
                Err(e) => Synced {
                    id: job.task_id.clone(),
                    provider: job.provider.name().to_string(),
                    ok: false,
                    result: None,
                    error: Some(e.to_string()),
                },
            })
            .collect();
        super::output::emit(&SyncReport {
            schema_version: Version,
            synced: items,
            skipped_in_doubt: in_doubt,
            exit_code: code,
        });
    } else {
        if results.is_empty() {
            super::output::say!("nothing to sync in {}", journal.path().display());
        }
        if in_doubt > 0 {
            eprintln!(
                "skipped {in_doubt} in doubt: their creates named no task to poll (see `seedance-mini tasks --state in_doubt`)"
            );
        }
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_output_shows_its_end() {
        assert_eq!(
            super::short_tail("/home/me/videos/fog.mp4", 12),
            "…eos/fog.mp4"
        );
        assert_eq!(super::short_tail("fog.mp4", 12), "fog.mp4");
    }

    #[test]
    fn dates_are_utc_civil_dates() {
        assert_eq!(super::when(0), "1970-01-01 00:00");
        assert_eq!(super::when(1_795_238_000), "2026-11-21 05:13");
    }
}
