//! The `seedance-mini` command line (feature `cli`): thin over [`Client`] and
//! the [`mock`](crate::mock) server.

mod args;
mod batch;
mod commands;
mod credentials;
pub mod documents;
mod manual;
mod offline;
mod output;
mod progress;
mod serve;
mod signals;
mod tasks;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

pub use args::Cli;
use args::{GenerateArgs, WaitArgs};
use output::{Asked, Output};
use progress::Progress;

use crate::mock::{MockServer, DEFAULT_API_KEY};
use crate::{
    Client, Error, Field, Journal, Media, RequestField, RequestOptions, Task, VideoRequest,
    WaitOptions,
};

/// Exit code when local state (the journal, its disk) failed.
pub const LOCAL_STATE: u8 = 6;

/// Exit code for each outcome (see `seedance-mini --help`).
pub fn exit_code(error: &Error) -> u8 {
    match error {
        Error::TaskFailed(_) | Error::Webhook(_) => 1,
        Error::Validation { .. } | Error::Unsupported { .. } | Error::Io(_) => 2,
        Error::ExceededMaxWait { .. } => 4,
        Error::Journal { .. } => LOCAL_STATE,
        Error::Interrupted => 130,
        Error::AfterSubmit { source, .. } => exit_code(source),
        _ => 3,
    }
}

/// Parses the arguments, runs the command, and returns its exit code.
pub fn main() -> ExitCode {
    use clap::{CommandFactory, FromArgMatches};
    let parsed = Cli::command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m).map(|cli| (cli, m)));
    let cli = match parsed {
        Ok((mut cli, matches)) => {
            cli.provider_given = given(&matches, "provider");
            cli
        }
        Err(e) => return parse_error(e),
    };
    init_logging(cli.verbose);
    if let Some(name) = &cli.host_id {
        crate::journal::owner::set_host(name);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(3);
        }
    };
    let out = Output { json: cli.json };
    let ctx = commands::Context { cli: &cli, out };
    let code = match runtime.block_on(commands::Run::run(&cli.command, &ctx)) {
        Ok(code) => code,
        // What was under way, and how to resume, is already said.
        Err(Error::Interrupted) => 130,
        Err(error) => {
            let code = exit_code(&error);
            out.error(&error, code);
            code
        }
    };
    // Work still running (a poll, a journal write on the blocking pool) is
    // given a moment, not waited for: everything paid for is on disk.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    ExitCode::from(code)
}

/// A parse error: clap's own text, or under `--json` one JSON document.
/// Whether `id` was given on the command line, at the top or in the
/// subcommand (a global option may be written after it).
fn given(matches: &clap::ArgMatches, id: &str) -> bool {
    let here = matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine);
    here || matches.subcommand().is_some_and(|(_, sub)| given(sub, id))
}

fn parse_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let wants_json = std::env::args().any(|a| a == "--json");
    if !wants_json
        || matches!(
            e.kind(),
            ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
        )
    {
        e.exit();
    }
    let rendered = e.render().to_string();
    let first = rendered.split("\n\nUsage:").next().unwrap_or_default();
    let error = first
        .trim_start_matches("error: ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    output::emit(&documents::UsageError {
        schema_version: documents::Version,
        error,
        kind: e.kind().as_str().unwrap_or("usage").to_string(),
        exit_code: 2,
    });
    ExitCode::from(2)
}

/// Logs to stderr: `RUST_LOG` when set; else `-v` info, `-vv` debug,
/// `-vvv` trace; nothing by default. Colours only on a terminal.
fn init_logging(verbose: u8) {
    use std::io::IsTerminal;
    let from_env = std::env::var("RUST_LOG").ok().filter(|v| !v.is_empty());
    let filter = match (from_env, verbose) {
        (Some(spec), _) => spec,
        (None, 0) => return,
        (None, 1) => "seedance_mini=info".into(),
        (None, 2) => "seedance_mini=debug".into(),
        (None, _) => "seedance_mini=trace,reqwest=debug,hyper_util=debug".into(),
    };
    let filter = tracing_subscriber::EnvFilter::try_new(&filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("seedance_mini=info"));
    let _ = tracing_subscriber::fmt()
        .with_writer(progress::LogWriter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(filter)
        .try_init();
}

/// What every command shares: the arguments, the stop signal, progress and output.
pub(crate) struct Session<'a> {
    pub(crate) cli: &'a Cli,
    pub(crate) stop: &'a signals::Stop,
    pub(crate) progress: &'a Progress,
    pub(crate) out: Output,
}

impl Session<'_> {
    /// Waits, showing progress; on Ctrl-C or SIGTERM prints how to resume and exits 130.
    async fn wait(
        &self,
        client: &Client,
        id: &str,
        options: &WaitOptions,
        output: Option<&Path>,
    ) -> Result<Task, Error> {
        let bar = self.progress.waiting(id);
        let shown = bar.clone();
        let options = options
            .clone()
            .also_on_progress(move |t| Progress::update(&shown, t));
        let result = tokio::select! {
            result = client.wait(id, &options) => result,
            _ = self.stop.wait() => {
                bar.finish_and_clear();
                return Err(self.interrupted(client, id, output));
            }
        };
        bar.finish_and_clear();
        result.map_err(|e| self.timed_out(client, e, output))
    }

    /// A wait that ran out of time says which task and how to resume it.
    fn timed_out(&self, client: &Client, error: Error, output: Option<&Path>) -> Error {
        if let (Some(id), false) = (error.task_id(), self.out.json) {
            if matches!(error, Error::ExceededMaxWait { .. }) {
                eprintln!("{}", resume_hint(self.cli, client, id, output));
            }
        }
        error
    }

    /// Says which task is still running and how to pick it up again; the
    /// error that ends the command with exit 130.
    pub(crate) fn interrupted(&self, client: &Client, id: &str, output: Option<&Path>) -> Error {
        let said = format!(
            "interrupted: task {id} is still running at {}.",
            client.provider()
        );
        self.announce(client, id, output, None, &said)
    }

    /// Says that a finished task's download stopped (the video is still
    /// there to fetch) and how to fetch it; the error that ends with 130.
    pub(crate) fn stopped_download(&self, client: &Client, id: &str, output: &Path) -> Error {
        let said = format!(
            "interrupted: the download stopped; task {id}'s video is ready at {}, and nothing partial was kept.",
            client.provider()
        );
        self.announce(client, id, Some(output), Some("completed"), &said)
    }

    /// An interruption, as a `documents::Interrupted` or as `said` and the
    /// resume hint on stderr.
    fn announce(
        &self,
        client: &Client,
        id: &str,
        output: Option<&Path>,
        status: Option<&str>,
        said: &str,
    ) -> Error {
        let hint = resume_hint(self.cli, client, id, output);
        if self.out.json {
            output::emit(&documents::Interrupted {
                schema_version: documents::Version,
                interrupted: true,
                task: documents::InterruptedTask {
                    id: id.to_string(),
                    provider: client.provider().name().to_string(),
                    status: status.map(String::from),
                },
                resume: hint.trim_start_matches("resume with: ").to_string(),
                exit_code: 130,
            });
        } else {
            clear_line();
            eprintln!("{said}");
            eprintln!("{hint}");
        }
        Error::Interrupted
    }
}

/// On a terminal, erases the current line: the tty's `^C` echo can leave the
/// spinner's text behind after indicatif has cleared its own line.
pub(crate) fn clear_line() {
    use std::io::IsTerminal;
    if std::io::stderr().is_terminal() {
        eprint!("\r\x1b[2K");
    }
}

/// The command that picks task `id` up again, with the key named by its
/// variable, never printed.
fn resume_hint(cli: &Cli, client: &Client, id: &str, output: Option<&Path>) -> String {
    if cli.mock {
        return "(it lived in the embedded mock, which stops now; run `seedance-mini mock` \
                and use --base-url to keep tasks across commands)"
            .into();
    }
    format!("resume with: {}", wait_command(cli, client, id, output))
}

/// The `wait` command for task `id`, with what this run used (provider,
/// endpoint, journal), so that, copied as printed, it reaches the same
/// task; the key is named by its variable, never printed.
fn wait_command(cli: &Cli, client: &Client, id: &str, output: Option<&Path>) -> String {
    let base = Some(client.base_url().trim_end_matches('/'))
        .filter(|u| *u != client.provider().default_base_url().trim_end_matches('/'))
        .map(|u| format!(" --base-url {u}"))
        .unwrap_or_default();
    let save = output
        .map(|p| format!(" -o {}", p.display()))
        .unwrap_or_default();
    let journal = match (&cli.journal, cli.no_journal) {
        (Some(path), _) => format!(" --journal {}", path.display()),
        (None, true) => " --no-journal".into(),
        (None, false) => String::new(),
    };
    let var = client.provider().key_env_var();
    let key = if cli.api_keys.is_empty() {
        String::new()
    } else {
        format!(" (set {var} to your key first)")
    };
    format!(
        "seedance-mini --provider {}{base}{journal} wait {id}{save}{key}",
        client.provider()
    )
}

fn wait_options(args: &WaitArgs, mock: bool) -> Result<WaitOptions, Error> {
    let max = Duration::from_secs(args.max_wait);
    let first = match args.poll_interval {
        Some(secs) if secs.is_finite() && secs > 0.0 && secs <= 3600.0 => {
            Duration::from_secs_f64(secs)
        }
        Some(secs) => {
            return Err(Error::validation(
                "--poll-interval",
                format!("{secs} is not allowed: it must be more than 0 and at most 3600 seconds"),
            ))
        }
        None if mock => Duration::from_millis(100),
        None => Duration::from_secs(2),
    };
    Ok(WaitOptions::new(max).delays(first, first.mul_f64(7.5)))
}

fn no_journal(cli: &Cli) -> Error {
    let why = if cli.mock && cli.journal.is_none() {
        "--mock keeps no journal (its tasks end with the command): give --journal PATH to keep one"
    } else {
        "this command needs the journal: drop --no-journal, or give --journal PATH"
    };
    Error::validation(if cli.mock { "--mock" } else { "--journal" }, why)
}

/// The journal's file: `--journal`, else `$SEEDANCE_MINI_HOME/journal.sqlite3`,
/// else the platform's data directory.
pub fn default_journal_path() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("SEEDANCE_MINI_HOME").filter(|h| !h.is_empty()) {
        return Some(PathBuf::from(home).join("journal.sqlite3"));
    }
    directories::ProjectDirs::from("", "", "seedance-mini")
        .map(|d| d.data_dir().join("journal.sqlite3"))
}

/// The journal this command records in: none with `--no-journal`, or with
/// `--mock` unless `--journal` is given (the embedded mock's tasks end with
/// the command, so they do not belong in the user's record).
fn open_journal(cli: &Cli) -> Result<Option<Journal>, Error> {
    if cli.no_journal {
        return Ok(None);
    }
    let path = match (&cli.journal, cli.mock) {
        (Some(path), _) => path.clone(),
        (None, true) => return Ok(None),
        (None, false) => default_journal_path().ok_or_else(|| {
            Error::validation(
                "--journal",
                "no data directory is known here: set SEEDANCE_MINI_HOME or pass --journal PATH",
            )
        })?,
    };
    Journal::open(path).map(Some)
}

/// A task known only by its id, as `wait ID` starts from.
fn pending(client: &Client, id: &str) -> Task {
    Task {
        id: id.to_string(),
        provider: client.provider(),
        status: crate::TaskStatus::Created,
        progress: None,
        video_urls: Vec::new(),
        error: None,
        raw: crate::RawTask::Json(serde_json::Value::Null),
    }
}

/// A client for the provider and endpoint that made the journal's `row`.
fn client_for_row(
    endpoints: &credentials::Endpoints<'_>,
    row: &crate::journal::JobRecord,
    journal: Option<Journal>,
) -> Result<Client, Error> {
    let provider = row.provider;
    client_at(endpoints, provider, &row.base_url, journal).map_err(|e| match e {
        Error::Validation { field, reason } => Error::Validation {
            field,
            reason: format!("{reason} (the journal says {provider} made this task)"),
        },
        other => other,
    })
}

/// A client for `provider` at `base`, where a task was made, with the key
/// given for that provider at that origin, and no other.
fn client_at(
    endpoints: &credentials::Endpoints<'_>,
    provider: crate::Provider,
    base: &str,
    journal: Option<Journal>,
) -> Result<Client, Error> {
    let endpoint = endpoints.resolve(provider)?;
    if !endpoint.serves(provider, base) {
        return Err(Error::validation(
            "--base-url",
            format!(
                "the task was made by {provider} at {base}, and no key is given for {provider} there: \
                 pass --provider {provider} --base-url {base} with that endpoint's key"
            ),
        ));
    }
    let mut builder = Client::builder(provider)
        .base_url(base)
        .api_key(endpoint.key);
    if let Some(journal) = journal {
        builder = builder.journal(journal);
    }
    builder.build()
}

/// A client for `provider`, with its own key and endpoint (see
/// [`credentials`]), or the embedded mock's.
fn make_client(
    cli: &Cli,
    endpoints: &credentials::Endpoints<'_>,
    provider: crate::Provider,
    mock: Option<&MockServer>,
    journal: Option<Journal>,
) -> Result<Client, Error> {
    let mut builder = Client::builder(provider);
    if let Some(journal) = journal {
        builder = builder.journal(journal);
    }
    let client = if let Some(mock) = mock {
        if !cli.api_keys.is_empty() || cli.base_url.is_some() {
            eprintln!(
                "warning: --mock ignores --api-key and --base-url (the embedded mock has its own)"
            );
        }
        builder
            .base_url(mock.url())
            .api_key(DEFAULT_API_KEY)
            .build()?
    } else {
        let endpoint = endpoints.resolve(provider)?;
        let builder = builder
            .api_key(endpoint.key)
            .rate_limit(client_rate_limit(&cli.pace, provider)?);
        match endpoint.base_url {
            Some(url) => builder.base_url(url).build()?,
            None => builder.build()?,
        }
    };
    if cli.extra_headers.is_empty() {
        return Ok(client);
    }
    let mut options = RequestOptions::new();
    for line in &cli.extra_headers {
        options = options.header_line(line).map_err(in_flags)?;
    }
    Ok(client.with_options(options))
}

/// Refuses an output path that could not be written, before paying for a
/// video: its directory must exist and take a new file (proved by creating
/// and removing one).
pub(crate) fn check_output(path: &Path, force: bool) -> Result<(), Error> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(Error::validation(
            "--output",
            format!("directory {} does not exist", dir.display()),
        ));
    }
    if path.is_dir() {
        return Err(Error::validation(
            "--output",
            format!("{} is a directory", path.display()),
        ));
    }
    if path.exists() && !force {
        return Err(Error::validation(
            "--output",
            format!(
                "{} already exists; pass --force to overwrite it",
                path.display()
            ),
        ));
    }
    let probe = dir.join(format!(
        ".seedance-mini-probe-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::File::create(&probe).map_err(|e| {
        Error::validation(
            "--output",
            format!("cannot write in {}: {e}", dir.display()),
        )
    })?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// The request the flags describe; every field is decided here.
impl args::RequestArgs {
    /// The request the flags describe. Every field on both sides, so a new
    /// request field is a compile error here until it has a flag.
    fn to_request(&self) -> VideoRequest {
        let media = |list: &[String]| list.iter().map(|s| Media::from(s.as_str())).collect();
        let args::RequestArgs {
            prompt,
            resolution,
            duration,
            aspect_ratio,
            seed,
            camera_fixed,
            first_frame,
            last_frame,
            reference_images,
            reference_videos,
            reference_audio,
            audio,
            no_audio,
            watermark,
            web_search,
            webhook_url,
            safety_checker,
            return_last_frame,
            safety_identifier,
        } = self;
        VideoRequest {
            prompt: Some(prompt.clone()),
            first_frame: first_frame.as_deref().map(Media::from),
            last_frame: last_frame.as_deref().map(Media::from),
            reference_images: media(reference_images),
            reference_videos: media(reference_videos),
            reference_audio: media(reference_audio),
            resolution: *resolution,
            duration: *duration,
            aspect_ratio: *aspect_ratio,
            seed: *seed,
            camera_fixed: camera_fixed.then_some(true),
            audio: if *no_audio {
                Some(false)
            } else {
                audio.then_some(true)
            },
            watermark: watermark.then_some(true),
            safety_checker: *safety_checker,
            webhook_url: webhook_url.clone(),
            web_search: *web_search,
            return_last_frame: return_last_frame.then_some(true),
            safety_identifier: safety_identifier.clone(),
        }
    }
}

/// How the command line names a request field: the flag whose arg id is
/// the field's name (`--image` for `first_frame`), or the positional's
/// value name (`PROMPT`).
fn flag(field: RequestField) -> String {
    use clap::Args as _;
    let command = args::RequestArgs::augment_args(clap::Command::new("generate"));
    let found = command
        .get_arguments()
        .find(|arg| arg.get_id().as_str() == field.name());
    match found {
        Some(arg) => match arg.get_long() {
            Some(long) => format!("--{long}"),
            None => arg
                .get_value_names()
                .and_then(|names| names.first())
                .map_or_else(|| field.name().to_uppercase(), |n| n.to_string()),
        },
        None => field.name().to_string(),
    }
}

/// A validation error in the user's words: the flags they typed.
fn in_flags(error: Error) -> Error {
    match error {
        Error::Validation {
            field: Field::Request(field),
            reason,
        } => {
            let mut reason = reason;
            for other in [RequestField::FirstFrame, RequestField::LastFrame] {
                reason = reason.replace(other.name(), &flag(other));
            }
            Error::Validation {
                field: Field::Named(flag(field)),
                reason,
            }
        }
        // An option of the command line's own, such as `header`.
        Error::Validation {
            field: Field::Named(name),
            reason,
        } if !name.starts_with('-') => Error::Validation {
            field: Field::Named(format!("--{}", name.replace('_', "-"))),
            reason,
        },
        Error::Unsupported {
            provider,
            feature,
            field: Some(field),
        } => Error::Unsupported {
            provider,
            feature: feature.replace(&format!("`{}`", field.name()), &flag(field)),
            field: Some(field),
        },
        other => other,
    }
}

async fn generate(
    session: &Session<'_>,
    client: &Client,
    args: &GenerateArgs,
    wait: WaitOptions,
) -> Result<u8, Error> {
    let (cli, out) = (session.cli, session.out);
    let req = args.request.to_request();
    req.validate(client.provider()).map_err(in_flags)?;
    if let Some(path) = &args.output {
        check_output(path, args.force)?;
    }
    let asked = Asked {
        resolution: Some(req.effective_resolution().to_string()),
        duration: Some(req.duration.unwrap_or(5)),
    };
    let (task, job) = submit_interruptibly(session, client, &req, args.output.as_deref())
        .await
        .inspect_err(|e| {
            if !crate::client::create_was_refused(e) && client.journal().is_some() && !out.json {
                eprintln!(
                    "in doubt: the create was sent but no answer named a task, so a task may exist and be paid for; \
                     it is recorded as in doubt (see `seedance-mini tasks --state in_doubt`) and is not sent again"
                );
            }
        })?;
    let Some(path) = args.output.as_deref() else {
        if !args.wait {
            out.task(&task, &asked, None);
            mock_url_note(session);
            if !out.json && !cli.quiet && !cli.mock {
                let next = wait_command(cli, client, &task.id, Some(Path::new("video.mp4")));
                eprintln!("next: {next}");
            }
            return Ok(0);
        }
        if !out.json && !cli.quiet {
            eprintln!("submitted task {} ({})", task.id, task.status);
        }
        let task = session.wait(client, &task.id, &wait, None).await?;
        out.task(&task, &asked, None);
        mock_url_note(session);
        return Ok(0);
    };
    if !out.json && !cli.quiet {
        eprintln!("submitted task {} ({})", task.id, task.status);
    }
    finish(session, client, &task.id, job, path, &wait, &asked).await
}

/// Under `--mock`, printed URLs die with the command: say so.
fn mock_url_note(session: &Session<'_>) {
    if session.cli.mock && !session.out.json && !session.cli.quiet {
        eprintln!("note: the embedded mock stops with this command, and its task and URLs with it; use -o to keep the video");
    }
}

/// Clears a spinner when dropped, whichever way its scope ends.
struct Cleared<'a>(&'a indicatif::ProgressBar);

impl Drop for Cleared<'_> {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

/// Submits; a stop signal during the call still waits for its answer
/// (bounded by the request timeout), so the id of a task that may be paid
/// for is printed. With a journal the job is on disk before the call.
async fn submit_interruptibly(
    session: &Session<'_>,
    client: &Client,
    req: &VideoRequest,
    output: Option<&Path>,
) -> Result<(Task, Option<crate::journal::JobId>), Error> {
    let submit = client.submit_job(req, output);
    tokio::pin!(submit);
    let spinner = session.progress.submitting(client.provider());
    let _cleared = Cleared(&spinner);
    tokio::select! {
        result = &mut submit => result,
        _ = session.stop.wait() => {
            spinner.finish_and_clear();
            if !session.out.json {
                eprintln!("interrupted while submitting: waiting for the provider's answer so the task id is not lost");
            }
            let (task, _) = submit.await?;
            Err(session.interrupted(client, &task.id, output))
        }
    }
}

/// Waits for the task and saves its video, recording each step in the
/// journal; a stop signal at any point prints how to resume.
async fn finish(
    session: &Session<'_>,
    client: &Client,
    id: &str,
    job: Option<crate::journal::JobId>,
    path: &Path,
    wait: &WaitOptions,
    asked: &Asked,
) -> Result<u8, Error> {
    let spinner = session.progress.waiting(id);
    let shown = spinner.clone();
    // Set once the task is seen completed: what follows is the download.
    let downloading = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let wait = {
        let downloading = downloading.clone();
        wait.clone().also_on_progress(move |t| {
            if t.status == crate::TaskStatus::Completed {
                downloading.store(true, std::sync::atomic::Ordering::Relaxed);
                shown.set_message(format!("{}  downloading", t.id));
            } else {
                Progress::update(&shown, t);
            }
        })
    };
    let bar = session.progress.downloading_later();
    let report = {
        let (bar, spinner) = (bar.clone(), spinner.clone());
        move |got: u64, total: Option<u64>| {
            spinner.finish_and_clear();
            bar.report(got, total);
        }
    };
    let result = tokio::select! {
        result = client.finish(id, job, path, &wait, Some(&report)) => result,
        _ = session.stop.wait() => {
            spinner.finish_and_clear();
            bar.clear();
            if downloading.load(std::sync::atomic::Ordering::Relaxed) {
                return Err(session.stopped_download(client, id, path));
            }
            return Err(session.interrupted(client, id, Some(path)));
        }
    };
    spinner.finish_and_clear();
    bar.clear();
    let done = result.map_err(|e| session.timed_out(client, e, Some(path)))?;
    session.out.task(&done.task, asked, Some(&done.file));
    Ok(0)
}

/// Refuses `url`, given with `flag`, unless it is an http(s) URL.
pub(crate) fn http_url(flag: &'static str, url: &str) -> Result<(), Error> {
    let parsed = reqwest::Url::parse(url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"));
    match parsed {
        Some(_) => Ok(()),
        None => Err(Error::validation(
            flag,
            format!("`{url}` is not an http(s) URL"),
        )),
    }
}

/// The global `--pace`: `documented`, `none`, or windows.
fn client_rate_limit(spec: &str, provider: crate::Provider) -> Result<crate::RateLimit, Error> {
    match spec.trim() {
        "documented" => Ok(crate::RateLimit::documented(provider)),
        "none" => Ok(crate::RateLimit::new()),
        windows => crate::mock::RateLimits::parse_one(&format!("{provider}={windows}"))
            .map(|(_, limit)| limit)
            .map_err(|e| Error::validation("--pace", format!("{e}; or `documented`, `none`"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_documented_table() {
        assert_eq!(exit_code(&Error::validation("x", "y")), 2);
        assert_eq!(
            exit_code(&Error::ExceededMaxWait {
                elapsed: Duration::ZERO,
                polls: 1,
                last: None
            }),
            4
        );
        let e = Error::Api {
            provider: crate::Provider::Anyfast,
            status: 500,
            message: String::new(),
            invalid_params: vec![],
            body: String::new(),
            headers: Default::default(),
        };
        assert_eq!(exit_code(&e), 3);
    }
}
