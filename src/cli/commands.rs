//! Each subcommand is a type that runs itself, in the manner of oxide's
//! `RunnableCmd`. [`Run`] is what every command does with the global
//! options and the printer; the commands that talk to a provider implement
//! [`RunRemote`] instead, and share one set-up ([`remote`]): the stop
//! signal, the journal, the embedded mock and the client.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::args::{
    BatchArgs, Command, CompletionsArgs, DiffArgs, DownloadArgs, GenerateArgs, ListArgs, MockArgs,
    SpecCommand, StatusArgs, SyncArgs, TasksAction, TasksArgs, VerifyArgs, WaitArgs, WaitCmdArgs,
    WebhookCommand,
};
use super::offline::{spec_diff, verify_webhook};
use super::output::{Asked, Output};
use super::progress::Progress;
use super::serve::serve_mock;
use super::{
    batch, check_output, client_at, client_for_row, credentials, finish, generate, make_client,
    manual, no_journal, open_journal, pending, signals, tasks, wait_options, Cli, Session,
};
use crate::mock::MockServer;
use crate::{Client, Error, Journal, Provider, WaitOptions};

/// What every command is given: the global options, and the printer.
pub(super) struct Context<'a> {
    pub(super) cli: &'a Cli,
    pub(super) out: Output,
}

/// A command: it runs, and says the exit code.
pub(super) trait Run {
    /// Runs it.
    async fn run(&self, ctx: &Context<'_>) -> Result<u8, Error>;
}

/// The command line's one dispatch: each subcommand runs itself.
impl Run for Command {
    async fn run(&self, ctx: &Context<'_>) -> Result<u8, Error> {
        match self {
            Command::Generate(args) => remote(ctx, &**args).await,
            Command::Status(args) => remote(ctx, args).await,
            Command::List(args) => remote(ctx, args).await,
            Command::Wait(args) => remote(ctx, args).await,
            Command::Download(args) => remote(ctx, args).await,
            Command::Batch(args) => remote(ctx, args).await,
            Command::Tasks(args) => args.run(ctx).await,
            Command::Mock(args) => args.run(ctx).await,
            Command::Spec(SpecCommand::Diff(args)) => args.run(ctx).await,
            Command::Completions(args) => args.run(ctx).await,
            Command::Man => man(),
            Command::Webhook(WebhookCommand::Verify(args)) => args.run(ctx).await,
        }
    }
}

/// `completions SHELL`: the completion script on stdout.
impl Run for CompletionsArgs {
    async fn run(&self, _: &Context<'_>) -> Result<u8, Error> {
        let mut command = <Cli as clap::CommandFactory>::command();
        let mut script = Vec::new();
        clap_complete::generate(self.shell, &mut command, "seedance-mini", &mut script);
        Ok(tasks::quietly(std::io::stdout().lock().write_all(&script)))
    }
}

/// `man`: the manual page (roff) on stdout.
fn man() -> Result<u8, Error> {
    let page = manual::page().map_err(|e| crate::download::io_at(Path::new("stdout"), e))?;
    Ok(tasks::quietly(std::io::stdout().lock().write_all(&page)))
}

/// `mock`: serves until interrupted.
impl Run for Box<MockArgs> {
    async fn run(&self, ctx: &Context<'_>) -> Result<u8, Error> {
        serve_mock(ctx.cli, self, ctx.out).await
    }
}

/// `spec diff`.
impl Run for DiffArgs {
    async fn run(&self, ctx: &Context<'_>) -> Result<u8, Error> {
        spec_diff(self.vendored, &self.files, ctx.out)
    }
}

/// `webhook verify`.
impl Run for VerifyArgs {
    async fn run(&self, ctx: &Context<'_>) -> Result<u8, Error> {
        let now = self.at.map_or_else(SystemTime::now, |secs| {
            UNIX_EPOCH + Duration::from_secs(secs)
        });
        verify_webhook(&self.secret, &self.headers, &self.body, now, ctx.out)
    }
}

/// `tasks`: the journal's jobs; `tasks sync` finishes them.
impl Run for TasksArgs {
    async fn run(&self, ctx: &Context<'_>) -> Result<u8, Error> {
        let TasksArgs {
            action,
            state,
            limit,
            all,
            host,
        } = self;
        if let Some(TasksAction::Sync(sync)) = action {
            return remote(ctx, sync).await;
        }
        let cli = ctx.cli;
        let _stop = signals::Stop::listen()?;
        let journal = open_journal(cli)?.ok_or_else(|| no_journal(cli))?;
        let mut filter = crate::journal::JobFilter::new().history(*all);
        if let Some(state) = state {
            filter = filter.state(*state);
        }
        if let Some(limit) = limit {
            filter = filter.limit(*limit);
        }
        if cli.provider_given {
            filter = filter.provider(cli.provider);
        }
        if let Some(host) = host {
            filter = filter.host(host);
        }
        tasks::list(&journal, &filter, ctx.out)
    }
}

/// A command that talks to a provider (or several): [`remote`] sets up what
/// these share, and runs it.
pub(super) trait RunRemote {
    /// The one task it is about, if any: a fresh embedded mock cannot know
    /// it, and the journal may know who made it.
    fn task_id(&self) -> Option<&str> {
        None
    }

    /// Whether it calls the one provider `--provider` names; a batch or a
    /// sync makes a client per provider its work names instead, and needs
    /// no key for `--provider` unless that is one of them.
    fn single_client(&self) -> bool {
        true
    }

    /// Runs it.
    async fn run(&self, remote: &Remote<'_>) -> Result<u8, Error>;
}

/// What the provider commands share.
pub(super) struct Remote<'a> {
    session: Session<'a>,
    journal: Option<Journal>,
    endpoints: credentials::Endpoints<'a>,
    mock: Option<&'a MockServer>,
    client: Option<Client>,
}

impl Remote<'_> {
    /// The client for `--provider` (or for the provider the journal says
    /// made the task).
    fn client(&self) -> Result<&Client, Error> {
        self.client
            .as_ref()
            .ok_or_else(|| Error::validation("command", "takes no single client"))
    }

    /// The wait options of `args`, with the embedded mock's quicker polls.
    fn waits(&self, args: &WaitArgs) -> Result<WaitOptions, Error> {
        wait_options(args, self.mock.is_some())
    }

    /// A client for `provider`, as `--provider` would make it.
    fn make_client(&self, provider: Provider) -> Result<Client, Error> {
        make_client(
            self.session.cli,
            &self.endpoints,
            provider,
            self.mock,
            self.journal.clone(),
        )
    }
}

/// Sets up what the provider commands share (the stop signal, the journal,
/// the embedded mock, the client), then runs `command`.
async fn remote<C: RunRemote + ?Sized>(ctx: &Context<'_>, command: &C) -> Result<u8, Error> {
    let cli = ctx.cli;
    let stop = signals::Stop::listen()?;
    let journal = open_journal(cli)?;
    // The embedded mock lives as long as this command: a task id from an
    // earlier command cannot be in it.
    let one_task = command.task_id();
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
    let client = match (command.single_client(), &known) {
        (false, _) => None,
        (true, Some(row)) => Some(client_for_row(&endpoints, row, journal.clone())?),
        (true, None) => Some(make_client(
            cli,
            &endpoints,
            cli.provider,
            mock.as_ref(),
            journal.clone(),
        )?),
    };
    let progress = Progress::new(cli.quiet || cli.json);
    let remote = Remote {
        session: Session {
            cli,
            stop: &stop,
            progress: &progress,
            out: ctx.out,
        },
        journal,
        endpoints,
        mock: mock.as_ref(),
        client,
    };
    command.run(&remote).await
}

/// `generate PROMPT`.
impl RunRemote for GenerateArgs {
    async fn run(&self, r: &Remote<'_>) -> Result<u8, Error> {
        generate(&r.session, r.client()?, self, r.waits(&self.wait_args)?).await
    }
}

/// `status ID`.
impl RunRemote for StatusArgs {
    fn task_id(&self) -> Option<&str> {
        Some(&self.id)
    }

    async fn run(&self, r: &Remote<'_>) -> Result<u8, Error> {
        let task = r.client()?.get(&self.id).await?;
        r.session.out.task(&task, &Asked::default(), None);
        Ok(0)
    }
}

/// `list`.
impl RunRemote for ListArgs {
    async fn run(&self, r: &Remote<'_>) -> Result<u8, Error> {
        r.session
            .out
            .tasks(&r.client()?.list(self.resolution).await?);
        Ok(0)
    }
}

/// `wait ID [-o PATH]`.
impl RunRemote for WaitCmdArgs {
    fn task_id(&self) -> Option<&str> {
        Some(&self.id)
    }

    async fn run(&self, r: &Remote<'_>) -> Result<u8, Error> {
        let waits = r.waits(&self.wait)?;
        let output = self.output.as_deref();
        wait_for(
            &r.session,
            r.client()?,
            &self.id,
            &waits,
            output,
            self.force,
        )
        .await
    }
}

/// `download ID -o PATH`.
impl RunRemote for DownloadArgs {
    fn task_id(&self) -> Option<&str> {
        Some(&self.id)
    }

    async fn run(&self, r: &Remote<'_>) -> Result<u8, Error> {
        download_task(&r.session, r.client()?, &self.id, &self.output, self.force).await
    }
}

/// `batch FILE --out-dir DIR`.
impl RunRemote for BatchArgs {
    fn single_client(&self) -> bool {
        false
    }

    async fn run(&self, r: &Remote<'_>) -> Result<u8, Error> {
        // The embedded mock's tasks are free and end with the command:
        // there is nothing to record, and nothing to warn of.
        if r.journal.is_none() && r.mock.is_none() && !r.session.cli.quiet {
            eprintln!("warning: no journal: a killed batch cannot be resumed, and its paid tasks are recorded nowhere");
        }
        let make = |p| r.make_client(p);
        batch::run(
            &r.session,
            self,
            r.journal.as_ref(),
            make,
            r.waits(&self.wait)?,
        )
        .await
    }
}

/// `tasks sync`.
impl RunRemote for SyncArgs {
    fn single_client(&self) -> bool {
        false
    }

    async fn run(&self, r: &Remote<'_>) -> Result<u8, Error> {
        let cli = r.session.cli;
        let journal = r.journal.clone().ok_or_else(|| no_journal(cli))?;
        tasks::sync(
            &r.session,
            &journal,
            // A task is finished where it was created, and only with the
            // key given for that provider at that origin.
            |p, base| client_at(&r.endpoints, p, base, Some(journal.clone())),
            &r.waits(&self.wait)?,
            self.here,
        )
        .await
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
