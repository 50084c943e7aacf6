//! Running a parsed command line: the commands that need no provider run
//! at once; the others (`Remote`) share one set-up of the stop signal, the
//! journal, the embedded mock and the client.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::args::{
    self, Command, GenerateArgs, SpecCommand, TasksAction, WaitArgs, WebhookCommand,
};
use super::output::{Asked, Output};
use super::progress::Progress;
use super::{
    batch, check_output, client_at, client_for_row, credentials, finish, generate, make_client,
    manual, no_journal, open_journal, pending, serve_mock, signals, spec_diff, tasks,
    verify_webhook, wait_options, Cli, Session,
};
use crate::mock::MockServer;
use crate::{Client, Error, WaitOptions};

pub(super) async fn run(cli: &Cli, out: Output) -> Result<u8, Error> {
    // The commands that need no provider run here; the others are named
    // for `remote`, which sets up what they share.
    let work = match &cli.command {
        Command::Completions { shell } => return completions(*shell),
        Command::Man => return man(),
        Command::Mock(args) => return serve_mock(cli, args, out).await,
        Command::Spec(SpecCommand::Diff { vendored, files }) => {
            return spec_diff(*vendored, files, out)
        }
        Command::Webhook(WebhookCommand::Verify {
            secret,
            headers,
            body,
            at,
        }) => {
            let now = at.map_or_else(SystemTime::now, |secs| {
                UNIX_EPOCH + Duration::from_secs(secs)
            });
            return verify_webhook(secret, headers, body, now, out);
        }
        Command::Tasks {
            action: None,
            state,
            limit,
            all,
            host,
        } => return list_tasks(cli, *state, *limit, *all, host.as_deref(), out),
        Command::Generate(args) => Remote::Generate(args),
        Command::Status { id } => Remote::Status(id),
        Command::List { resolution } => Remote::List(*resolution),
        Command::Wait {
            id,
            wait,
            output,
            force,
        } => Remote::Wait {
            id,
            wait,
            output: output.as_deref(),
            force: *force,
        },
        Command::Download { id, output, force } => Remote::Download {
            id,
            output,
            force: *force,
        },
        Command::Batch(args) => Remote::Batch(args),
        Command::Tasks {
            action: Some(TasksAction::Sync { wait, here }),
            ..
        } => Remote::Sync { wait, here: *here },
    };
    remote(cli, out, work).await
}

/// `completions SHELL`: the completion script on stdout.
fn completions(shell: clap_complete::Shell) -> Result<u8, Error> {
    let mut command = <Cli as clap::CommandFactory>::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "seedance-mini", &mut script);
    Ok(tasks::quietly(std::io::stdout().lock().write_all(&script)))
}

/// `man`: the manual page (roff) on stdout.
fn man() -> Result<u8, Error> {
    let page = manual::page().map_err(|e| crate::download::io_at(Path::new("stdout"), e))?;
    Ok(tasks::quietly(std::io::stdout().lock().write_all(&page)))
}

/// `tasks` (without an action): the journal's jobs.
fn list_tasks(
    cli: &Cli,
    state: Option<crate::journal::JobState>,
    limit: Option<usize>,
    all: bool,
    host: Option<&str>,
    out: Output,
) -> Result<u8, Error> {
    let _stop = signals::Stop::listen()?;
    let journal = open_journal(cli)?.ok_or_else(|| no_journal(cli))?;
    let mut filter = crate::journal::JobFilter::new().history(all);
    if let Some(state) = state {
        filter = filter.state(state);
    }
    if let Some(limit) = limit {
        filter = filter.limit(limit);
    }
    if cli.provider_given {
        filter = filter.provider(cli.provider);
    }
    if let Some(host) = host {
        filter = filter.host(host);
    }
    tasks::list(&journal, &filter, out)
}

/// A command that talks to a provider (or several): what `remote` runs.
enum Remote<'a> {
    Generate(&'a GenerateArgs),
    Status(&'a str),
    List(Option<crate::Resolution>),
    Wait {
        id: &'a str,
        wait: &'a WaitArgs,
        output: Option<&'a Path>,
        force: bool,
    },
    Download {
        id: &'a str,
        output: &'a Path,
        force: bool,
    },
    Batch(&'a args::BatchArgs),
    Sync {
        wait: &'a WaitArgs,
        here: bool,
    },
}

/// Sets up what the provider commands share (the stop signal, the journal,
/// the embedded mock, the client), then runs `work`.
async fn remote(cli: &Cli, out: Output, work: Remote<'_>) -> Result<u8, Error> {
    let stop = signals::Stop::listen()?;
    let journal = open_journal(cli)?;
    // The embedded mock lives as long as this command: a task id from an
    // earlier command cannot be in it.
    let one_task = match &work {
        Remote::Status(id) | Remote::Wait { id, .. } | Remote::Download { id, .. } => Some(*id),
        _ => None,
    };
    if let (true, Some(id)) = (cli.mock, one_task) {
        return Err(Error::validation(
            "--mock",
            format!(
                "starts a fresh mock for each command, so task {id} from an earlier one is not in it. \
                 For a session, run `seedance-mini mock` in another terminal and pass \
                 --base-url http://127.0.0.1:8080 --api-key seedance-mini-mock-key to every command"
            ),
        ));
    }
    let mock = if cli.mock {
        Some(MockServer::start().await?)
    } else {
        None
    };
    let endpoints = credentials::Endpoints::new(cli);
    // A task the journal knows is asked of the provider and endpoint that
    // made it, whatever --provider says.
    let known = match (one_task, &journal, cli.mock) {
        (Some(id), Some(journal), false) => journal.job_by_task_id(id)?,
        _ => None,
    };
    // Made only for the commands on one task or one provider: a batch or a
    // sync makes a client per provider its work names, and needs no key
    // for --provider unless that is one of them.
    let client = match (&work, &known) {
        (Remote::Batch(_) | Remote::Sync { .. }, _) => None,
        (_, Some(row)) => Some(client_for_row(&endpoints, row, journal.clone())?),
        (_, None) => Some(make_client(
            cli,
            &endpoints,
            cli.provider,
            mock.as_ref(),
            journal.clone(),
        )?),
    };
    let client = || {
        client
            .clone()
            .ok_or_else(|| Error::validation("command", "takes no single client"))
    };
    let progress = Progress::new(cli.quiet || cli.json);
    let waits = |a: &WaitArgs| wait_options(a, mock.is_some());
    let session = Session {
        cli,
        stop: &stop,
        progress: &progress,
        out,
    };
    match work {
        Remote::Generate(args) => {
            generate(&session, &client()?, args, waits(&args.wait_args)?).await
        }
        Remote::Status(id) => {
            out.task(&client()?.get(id).await?, &Asked::default(), None);
            Ok(0)
        }
        Remote::List(resolution) => {
            out.tasks(&client()?.list(resolution).await?);
            Ok(0)
        }
        Remote::Wait {
            id,
            wait,
            output,
            force,
        } => {
            let waits = waits(wait)?;
            wait_for(&session, &client()?, id, &waits, output, force).await
        }
        Remote::Download { id, output, force } => {
            download_task(&session, &client()?, id, output, force).await
        }
        Remote::Batch(args) => {
            if journal.is_none() && !cli.quiet {
                eprintln!("warning: no journal: a killed batch cannot be resumed, and its paid tasks are recorded nowhere");
            }
            let make = |p| make_client(cli, &endpoints, p, mock.as_ref(), journal.clone());
            batch::run(&session, args, journal.as_ref(), make, waits(&args.wait)?).await
        }
        Remote::Sync { wait, here } => {
            let journal = journal.ok_or_else(|| no_journal(cli))?;
            tasks::sync(
                &session,
                &journal,
                // A task is finished where it was created, and only with the
                // key given for that provider at that origin.
                |p, base| client_at(&endpoints, p, base, Some(journal.clone())),
                &waits(wait)?,
                here,
            )
            .await
        }
    }
}

/// `wait ID [-o PATH]`: waits for a task, and saves it when asked.
async fn wait_for(
    session: &Session<'_>,
    client: &Client,
    id: &str,
    waits: &WaitOptions,
    output: Option<&Path>,
    force: bool,
) -> Result<u8, Error> {
    if let Some(path) = output {
        check_output(path, force)?;
        let job = match client.journal() {
            Some(j) => Some(crate::journal::JobId(j.adopt(
                client.provider(),
                client.base_url(),
                &pending(client, id),
                Some(path),
            )?)),
            None => None,
        };
        return finish(session, client, id, job, path, waits, &Asked::default()).await;
    }
    let task = session.wait(client, id, waits, None).await?;
    session.out.task(&task, &Asked::default(), None);
    Ok(0)
}

/// `download ID -o PATH`: saves a finished task's video.
async fn download_task(
    session: &Session<'_>,
    client: &Client,
    id: &str,
    output: &Path,
    force: bool,
) -> Result<u8, Error> {
    check_output(output, force)?;
    let task = client.get(id).await?;
    // A failed task has nothing to fetch: that is the task's
    // failure (exit 1), not bad input.
    if task.status.is_failure() {
        return Err(Error::TaskFailed(Box::new(task)));
    }
    let bar = session.progress.downloading_later();
    let shown = bar.clone();
    let report: crate::download::DownloadProgress =
        std::sync::Arc::new(move |got: u64, total: Option<u64>| shown.report(got, total));
    let file = tokio::select! {
        file = client.download_with(&task, output, Some(report)) => file,
        _ = session.stop.wait() => {
            bar.clear();
            return Err(session.stopped_download(client, id, output));
        }
    };
    bar.clear();
    let file = file?;
    if let Some(j) = client.journal() {
        let job = j.adopt(client.provider(), client.base_url(), &task, Some(output))?;
        j.downloaded(job, &file)?;
    }
    session.out.task(&task, &Asked::default(), Some(&file));
    Ok(0)
}
