//! `seedance-mini batch FILE --out-dir DIR`: every line checked before
//! anything is paid for, jobs run a few at a time through the journal, and
//! running the same command again resumes instead of paying twice.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use indicatif::ProgressBar;

use super::args::BatchArgs;
use super::progress::Progress;
use super::Session;
use crate::batch::{self, BatchEvent, BatchOptions, JobOutcome};
use crate::{Client, Error, Provider, WaitOptions};

/// Exit code when some create is in doubt (see `seedance-mini --help`).
pub const IN_DOUBT: u8 = 5;

/// Job lines shown at most; the other jobs in flight are counted.
const MAX_LINES: usize = 12;

/// The batch view's job lines.
#[derive(Default)]
struct JobLines {
    shown: HashMap<PathBuf, ProgressBar>,
    in_flight: std::collections::HashSet<PathBuf>,
}

impl JobLines {
    /// The total bar's note: how many jobs in flight have no line.
    fn more(&self) -> String {
        match self.in_flight.len().saturating_sub(self.shown.len()) {
            0 => String::new(),
            n => format!("(and {n} more at the provider)"),
        }
    }
}

/// A run creating more new tasks than this asks first, on a terminal.
const ASK_ABOVE: usize = 50;

pub(crate) async fn run(
    session: &Session<'_>,
    args: &BatchArgs,
    journal: Option<&crate::Journal>,
    make_client: impl Fn(Provider) -> Result<Client, Error>,
    wait: WaitOptions,
) -> Result<u8, Error> {
    let text = std::fs::read_to_string(&args.file).map_err(|e| {
        Error::validation("FILE", format!("cannot read {}: {e}", args.file.display()))
    })?;
    let folder = args.file.parent().unwrap_or(Path::new(""));
    let jobs = batch::parse_in(&text, session.cli.provider, folder)?;
    if jobs.is_empty() {
        return Err(Error::validation(
            "FILE",
            format!("{} holds no jobs", args.file.display()),
        ));
    }
    let options = BatchOptions::new(wait)
        .concurrency(args.concurrency)
        .max_in_flight(args.max_in_flight)
        .resubmit_in_doubt(args.resubmit_in_doubt)
        .retry_failed(args.retry_failed)
        .force(args.force);
    let plan = batch::plan(&jobs, journal, &args.out_dir, &options)?;
    if args.plan {
        show_plan(session, &plan);
        return Ok(0);
    }
    if let Some(most) = args.max_new {
        if plan.new > most {
            return Err(Error::validation(
                "--max-new",
                format!(
                    "this run would create {} new tasks, more than {most} (--plan shows them)",
                    plan.new
                ),
            ));
        }
    }
    if plan.new > ASK_ABOVE && !args.yes && !confirm(&plan)? {
        eprintln!("nothing was sent");
        return Ok(0);
    }
    let options = match (&args.webhook_url, &args.listen) {
        (Some(url), Some(addr)) => {
            super::http_url("--webhook-url", url)?;
            let secret = match (session.cli.mock, std::env::var("MAGNIFIC_WEBHOOK_SECRET")) {
                (true, _) => crate::mock::DEFAULT_WEBHOOK_SECRET.to_string(),
                (false, Ok(secret)) if !secret.trim().is_empty() => secret,
                (false, _) => return Err(Error::validation(
                    "--webhook-url",
                    "needs the signing secret in MAGNIFIC_WEBHOOK_SECRET, to verify each delivery",
                )),
            };
            let addr = super::serve::resolve_addr(addr)
                .await
                .map_err(|e| rename(e, "--listen"))?;
            let inbox = batch::inbox::listen(addr, &secret)
                .await
                .map_err(|e| rename(e, "--listen"))?;
            if !session.cli.quiet && !session.out.json {
                eprintln!("webhooks: receiving on {}, as {url}", inbox.addr());
            }
            options.webhooks(url.clone(), inbox)
        }
        _ => options,
    };
    std::fs::create_dir_all(&args.out_dir).map_err(|e| {
        Error::validation(
            "--out-dir",
            format!("cannot create {}: {e}", args.out_dir.display()),
        )
    })?;
    super::check_output(&args.out_dir.join("probe.mp4"), true)
        .map_err(|e| Error::validation("--out-dir", e.to_string()))?;
    let mut clients = HashMap::new();
    for job in &jobs {
        if let std::collections::hash_map::Entry::Vacant(slot) = clients.entry(job.provider) {
            // Every provider's key and endpoint are settled before anything
            // is paid for; the first line that needs a missing one is named.
            let client = make_client(job.provider).map_err(|e| match e {
                Error::Validation { field, reason } => Error::Validation {
                    field,
                    reason: format!("{reason} (line {} is for {})", job.line, job.provider),
                },
                other => other,
            })?;
            slot.insert(client);
        }
    }
    if args.retry_failed && !session.cli.quiet && !session.out.json {
        eprintln!(
            "--retry-failed: every job whose task failed is created again, and paid for again"
        );
    }
    let (multi, total) = session.progress.batch(jobs.len() as u64);
    // One line per job in flight, up to a screenful; the rest are counted
    // on the total bar, so the view never outgrows the terminal.
    let lines: Arc<Mutex<JobLines>> = Arc::default();
    let json = session.out.json;
    let quiet = session.cli.quiet;
    let on_event = {
        let (multi, total, lines) = (multi.clone(), total.clone(), lines.clone());
        Arc::new(move |event: BatchEvent| {
            if json {
                super::output::emit(&super::documents::BatchLine {
                    schema_version: super::documents::Version,
                    event: event.clone(),
                });
            }
            let mut lines = lines.lock().unwrap_or_else(|p| p.into_inner());
            match &event {
                // Paid for, but not in the journal: always said on stderr as
                // one JSON line, whatever else is shown.
                BatchEvent::Recovered {
                    line,
                    output,
                    task_id,
                    file,
                } => {
                    multi.suspend(|| {
                        eprintln!(
                            "{}",
                            serde_json::json!({
                                "recovered_task": task_id, "line": line,
                                "output": output, "recovery_file": file,
                            })
                        )
                    });
                }
                BatchEvent::Submitted {
                    output, task_id, ..
                }
                | BatchEvent::Resumed {
                    output, task_id, ..
                } => {
                    lines.in_flight.insert(output.clone());
                    if lines.shown.len() < MAX_LINES {
                        let line = Progress::job_line(&multi, &output.display().to_string());
                        line.set_message(format!("{}  {task_id}", output.display()));
                        lines.shown.insert(output.clone(), line);
                    }
                    total.set_message(lines.more());
                }
                // Another worker's: counted when it finishes.
                BatchEvent::Held { .. } => {}
                BatchEvent::Status {
                    output,
                    task_id,
                    status,
                    progress,
                    ..
                } => {
                    if !lines.shown.contains_key(output) && lines.shown.len() < MAX_LINES {
                        let line = Progress::job_line(&multi, &output.display().to_string());
                        lines.shown.insert(output.clone(), line);
                        total.set_message(lines.more());
                    }
                    if let Some(line) = lines.shown.get(output) {
                        let pct = progress.map(|p| format!(" {p}%")).unwrap_or_default();
                        line.set_message(format!("{}  {task_id}  {status}{pct}", output.display()));
                    }
                }
                BatchEvent::Finished {
                    line: n,
                    output,
                    outcome,
                    task_id,
                    error,
                } => {
                    if let Some(line) = lines.shown.remove(output) {
                        line.finish_and_clear();
                    }
                    lines.in_flight.remove(output);
                    total.set_message(lines.more());
                    total.inc(1);
                    if !json {
                        let task = task_id
                            .as_deref()
                            .map(|t| format!("  {t}"))
                            .unwrap_or_default();
                        let why = error
                            .as_deref()
                            .map(|e| format!(": {e}"))
                            .unwrap_or_default();
                        let _ = multi.println(format!(
                            "line {n}  {}  {outcome}{task}{why}",
                            output.display()
                        ));
                        if multi.is_hidden() && !quiet {
                            eprintln!("line {n}  {}  {outcome}{task}{why}", output.display());
                        }
                    }
                }
            }
        })
    };
    let outcomes = tokio::select! {
        outcomes = batch::run(&clients, &jobs, &args.out_dir, &options, on_event) => outcomes,
        signal = session.stop.wait() => {
            total.abandon();
            let _ = multi.clear();
            if signal == super::signals::Signal::Interrupt && !multi.is_hidden() {
                // The `^C` echo wrapped below indicatif's last full-width
                // line, so its clear stopped one line short: erase that one.
                eprint!("\x1b[1A\r\x1b[2K");
            }
            if json {
                super::output::emit(&super::documents::BatchInterrupted {
                    schema_version: super::documents::Version,
                    event: super::documents::InterruptedWord::Interrupted,
                    exit_code: 130,
                    resume: "run the same batch command again".into(),
                });
            } else {
                super::clear_line();
                eprintln!("interrupted: every task created so far is in the journal; run the same command again to resume");
            }
            return Err(Error::Interrupted);
        }
    };
    total.finish_and_clear();
    let count = |word: &str| outcomes.iter().filter(|o| o.word() == word).count();
    let files: Vec<String> = outcomes
        .iter()
        .filter_map(|o| match o {
            JobOutcome::Done { file, .. } => Some(file.path.display().to_string()),
            JobOutcome::Skipped { file } => Some(file.display().to_string()),
            _ => None,
        })
        .collect();
    let (done, skipped, elsewhere, failed, in_doubt, expired) = (
        count("done"),
        count("skipped"),
        count("elsewhere"),
        count("failed"),
        count("in_doubt"),
        count("expired"),
    );
    // A journal that failed mid-run is said once, with its cause; the jobs
    // it stopped are counted as failed.
    let journal_errors: Vec<&Error> = outcomes
        .iter()
        .filter_map(|o| match o {
            JobOutcome::Failed { error, .. } if error.is_journal() => Some(error),
            _ => None,
        })
        .collect();
    // The cause, not a job it stopped.
    let journal_failure = journal_errors
        .iter()
        .find(|e| !e.to_string().contains(crate::batch::runner::HALTED))
        .or(journal_errors.first())
        .copied();
    let code = if journal_failure.is_some() {
        super::LOCAL_STATE
    } else if in_doubt > 0 {
        IN_DOUBT
    } else if failed + expired > 0 {
        1
    } else {
        0
    };
    if json {
        super::output::emit(&super::documents::BatchSummary {
            schema_version: super::documents::Version,
            event: super::documents::SummaryWord::Summary,
            jobs: jobs.len(),
            done,
            skipped,
            elsewhere,
            failed,
            in_doubt,
            expired,
            files: files.clone(),
            exit_code: code,
        });
    } else {
        let elsewhere = match elsewhere {
            0 => String::new(),
            n => format!(", {n} done on other hosts"),
        };
        eprintln!(
            "{} jobs: {done} done, {skipped} already done{elsewhere}, {failed} failed, {in_doubt} in doubt, {expired} expired; {} files in {}",
            jobs.len(),
            files.len(),
            args.out_dir.display()
        );
        if let Some(error) = journal_failure {
            eprintln!("error: {error}");
            eprintln!("no further create was sent; every task already paid for is in the journal, or in {} (see the JSON lines above)", crate::batch::RECOVERY_FILE);
        }
        if in_doubt > 0 {
            eprintln!("in doubt: their creates may have made paid tasks no answer named; see `seedance-mini tasks`, and re-send them with --resubmit-in-doubt only if you accept paying again");
        }
    }
    Ok(code)
}

/// Asks once, on a terminal, before a run that creates many tasks; never
/// asks (and goes on) when stdin is not a terminal.
fn confirm(plan: &batch::Plan) -> Result<bool, Error> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        return Ok(true);
    }
    eprint!(
        "This run creates {} new tasks ({} s of video), each paid for. Go on? [y/N] ",
        plan.new, plan.new_video_seconds
    );
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .map_err(|e| Error::validation("--yes", format!("could not read the answer: {e}")))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}

/// Prints the plan: a table by provider, resolution and duration, then
/// the counts (with --json, one document).
fn show_plan(session: &Session<'_>, plan: &batch::Plan) {
    if session.out.json {
        super::output::emit(&super::documents::PlanDoc {
            schema_version: super::documents::Version,
            plan: plan.clone(),
        });
        return;
    }
    let mut text = String::from("provider     resolution  duration  jobs  new\n");
    for g in &plan.groups {
        text.push_str(&format!(
            "{:<12} {:<11} {:>6} s  {:>4}  {:>3}\n",
            g.provider, g.resolution, g.duration, g.jobs, g.new
        ));
    }
    text.push_str(&format!(
        "{} jobs, {} s of video: {} done, {} resumable, {} running elsewhere, {} in doubt, {} failed, {} expired; {} new creates ({} s of video), each paid for\n",
        plan.jobs,
        plan.video_seconds,
        plan.done,
        plan.resumable,
        plan.elsewhere,
        plan.in_doubt,
        plan.failed,
        plan.expired,
        plan.new,
        plan.new_video_seconds,
    ));
    // A closed pipe (`| head`) ends the output quietly.
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes());
}

/// The same error, naming `flag` as the field.
fn rename(error: Error, flag: &'static str) -> Error {
    match error {
        Error::Validation { reason, .. } => Error::Validation {
            field: flag.into(),
            reason,
        },
        other => other,
    }
}
