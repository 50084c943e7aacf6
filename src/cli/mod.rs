//! The `seedance-mini` command line (feature `cli`): thin over [`Client`] and
//! the [`mock`](crate::mock) server.

mod args;
mod output;
mod progress;

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Parser;

pub use args::Cli;
use args::{Command, GenerateArgs, MockArgs, WaitArgs, WebhookCommand};
use output::{Asked, Output};
use progress::Progress;

use crate::mock::{Lifecycle, MockServer, DEFAULT_API_KEY};
use crate::{Client, Error, Media, Task, VideoRequest, WaitOptions};

/// Exit code for each outcome (see `seedance-mini --help`).
pub fn exit_code(error: &Error) -> u8 {
    match error {
        Error::TaskFailed(_) | Error::Webhook(_) => 1,
        Error::Validation { .. } | Error::Unsupported { .. } | Error::Io(_) => 2,
        Error::ExceededMaxWait { .. } => 4,
        _ => 3,
    }
}

/// Parses the arguments, runs the command, and returns its exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.verbose > 0 {
        let level = if cli.verbose > 1 {
            "seedance_mini=trace"
        } else {
            "seedance_mini=debug"
        };
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_env_filter(level)
            .init();
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
    match runtime.block_on(run(&cli, out)) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            let code = exit_code(&error);
            out.error(&error, code);
            ExitCode::from(code)
        }
    }
}

async fn run(cli: &Cli, out: Output) -> Result<u8, Error> {
    if let Command::Mock(args) = &cli.command {
        return serve_mock(cli, args, out).await;
    }
    if let Command::Webhook(WebhookCommand::Verify {
        secret,
        headers,
        body,
        at,
    }) = &cli.command
    {
        let now = at.map_or_else(SystemTime::now, |secs| {
            UNIX_EPOCH + Duration::from_secs(secs)
        });
        return verify_webhook(secret, headers, body, now, out);
    }
    // The embedded mock lives as long as this command.
    let mock = if cli.mock {
        Some(MockServer::start().await?)
    } else {
        None
    };
    let client = client(cli, mock.as_ref())?;
    let progress = Progress::new(cli.quiet || cli.json);
    let waits = |a: &WaitArgs| {
        let max = Duration::from_secs(a.max_wait);
        match mock {
            Some(_) => {
                WaitOptions::new(max).delays(Duration::from_millis(100), Duration::from_millis(500))
            }
            None => WaitOptions::new(max).delays(Duration::from_secs(2), Duration::from_secs(15)),
        }
    };
    match &cli.command {
        Command::Generate(args) => {
            generate(cli, &client, args, waits(&args.wait_args), &progress, out).await
        }
        Command::Status { id } => {
            out.task(&client.get(id).await?, &Asked::default(), None);
            Ok(0)
        }
        Command::List { resolution } => {
            out.tasks(&client.list(*resolution).await?);
            Ok(0)
        }
        Command::Wait { id, wait, output } => {
            let task =
                wait_interruptibly(cli, &client, id, &waits(wait), output.as_deref(), &progress)
                    .await?;
            finish(
                &client,
                task,
                output.as_deref(),
                &Asked::default(),
                &progress,
                out,
            )
            .await
        }
        Command::Download { id, output } => {
            check_output(output)?;
            let task = client.get(id).await?;
            finish(
                &client,
                task,
                Some(output),
                &Asked::default(),
                &progress,
                out,
            )
            .await
        }
        Command::Mock(_) | Command::Webhook(_) => unreachable!("handled above"),
    }
}

fn client(cli: &Cli, mock: Option<&MockServer>) -> Result<Client, Error> {
    let builder = Client::builder(cli.provider);
    if let Some(mock) = mock {
        return builder
            .base_url(mock.url())
            .api_key(DEFAULT_API_KEY)
            .build();
    }
    let var = cli.provider.key_env_var();
    let key = cli
        .api_keys
        .first()
        .cloned()
        .or_else(|| std::env::var(var).ok().filter(|k| !k.trim().is_empty()))
        .ok_or_else(|| {
            Error::validation(
                "--api-key",
                format!("is required: pass --api-key, set {var}, or try --mock"),
            )
        })?;
    let builder = builder.api_key(key);
    match &cli.base_url {
        Some(url) => builder.base_url(url).build(),
        None => builder.build(),
    }
}

/// Refuses an output path that could not be written, before paying for a video.
fn check_output(path: &Path) -> Result<(), Error> {
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
    Ok(())
}

fn request(args: &GenerateArgs) -> VideoRequest {
    let mut r = VideoRequest::new(&args.prompt);
    r.resolution = args.resolution;
    r.duration = args.duration;
    r.aspect_ratio = args.aspect_ratio;
    r.seed = args.seed;
    r.camera_fixed = args.camera_fixed.then_some(true);
    r.first_frame = args.image.as_deref().map(Media::from);
    r.last_frame = args.image_end.as_deref().map(Media::from);
    r.reference_images = args
        .reference_image
        .iter()
        .map(|s| Media::from(s.as_str()))
        .collect();
    r.reference_videos = args
        .reference_video
        .iter()
        .map(|s| Media::from(s.as_str()))
        .collect();
    r.reference_audio = args
        .reference_audio
        .iter()
        .map(|s| Media::from(s.as_str()))
        .collect();
    r.audio = if args.no_audio {
        Some(false)
    } else {
        args.audio.then_some(true)
    };
    r.watermark = args.watermark.then_some(true);
    r.web_search = args.web_search;
    r.webhook_url = args.webhook_url.clone();
    r
}

async fn generate(
    cli: &Cli,
    client: &Client,
    args: &GenerateArgs,
    wait: WaitOptions,
    progress: &Progress,
    out: Output,
) -> Result<u8, Error> {
    let req = request(args);
    req.validate(client.provider())?;
    if let Some(path) = &args.output {
        check_output(path)?;
    }
    let asked = Asked {
        resolution: Some(req.effective_resolution().to_string()),
        duration: Some(req.duration.unwrap_or(5)),
    };
    let task = submit_interruptibly(cli, client, &req, args.output.as_deref()).await?;
    if !(args.wait || args.output.is_some()) {
        out.task(&task, &asked, None);
        return Ok(0);
    }
    if !out.json && !cli.quiet {
        eprintln!("submitted task {} ({})", task.id, task.status);
    }
    let task = wait_interruptibly(
        cli,
        client,
        &task.id,
        &wait,
        args.output.as_deref(),
        progress,
    )
    .await?;
    finish(client, task, args.output.as_deref(), &asked, progress, out).await
}

/// Waits, showing progress; on Ctrl-C prints how to resume and exits 130.
async fn wait_interruptibly(
    cli: &Cli,
    client: &Client,
    id: &str,
    options: &WaitOptions,
    output: Option<&Path>,
    progress: &Progress,
) -> Result<Task, Error> {
    let bar = progress.waiting(id);
    let shown = bar.clone();
    let options = options
        .clone()
        .on_progress(move |t| Progress::update(&shown, t));
    let result = tokio::select! {
        result = client.wait(id, &options) => result,
        _ = tokio::signal::ctrl_c() => {
            bar.finish_and_clear();
            interrupted(cli, client, id, output)
        }
    };
    bar.finish_and_clear();
    result
}

/// Says which task is still running and how to pick it up again; exits 130.
fn interrupted(cli: &Cli, client: &Client, id: &str, output: Option<&Path>) -> ! {
    eprintln!(
        "interrupted: task {id} is still running at {}.",
        client.provider()
    );
    if cli.mock {
        eprintln!("(it lived in the embedded mock, which stops now)");
    } else {
        let base = cli
            .base_url
            .as_deref()
            .map(|u| format!(" --base-url {u}"))
            .unwrap_or_default();
        let save = output
            .map(|p| format!(" -o {}", p.display()))
            .unwrap_or_default();
        eprintln!(
            "resume with: seedance-mini --provider {}{base} wait {id}{save}",
            client.provider()
        );
    }
    std::process::exit(130);
}

/// Submits; a Ctrl-C during the call still waits for its answer (bounded by
/// the request timeout), so the id of a task that may be paid for is printed.
async fn submit_interruptibly(
    cli: &Cli,
    client: &Client,
    req: &VideoRequest,
    output: Option<&Path>,
) -> Result<Task, Error> {
    let submit = client.submit(req);
    tokio::pin!(submit);
    tokio::select! {
        result = &mut submit => result,
        _ = tokio::signal::ctrl_c() => {
            eprintln!("interrupted while submitting: waiting for the provider's answer so the task id is not lost");
            let task = submit.await?;
            interrupted(cli, client, &task.id, output)
        }
    }
}

async fn finish(
    client: &Client,
    task: Task,
    output: Option<&Path>,
    asked: &Asked,
    progress: &Progress,
    out: Output,
) -> Result<u8, Error> {
    let Some(path) = output else {
        out.task(&task, asked, None);
        return Ok(0);
    };
    let bar = progress.downloading();
    let shown = bar.clone();
    let report = move |got: u64, total: Option<u64>| {
        if let Some(t) = total {
            shown.set_length(t);
        }
        shown.set_position(got);
    };
    let file = client.download_with(&task, path, Some(&report)).await;
    bar.finish_and_clear();
    out.task(&task, asked, Some(&file?));
    Ok(0)
}

async fn serve_mock(cli: &Cli, args: &MockArgs, out: Output) -> Result<u8, Error> {
    let mut builder = MockServer::builder()
        .addr(args.addr)
        .video_ttl(Duration::from_secs(args.video_ttl))
        .max_tasks(args.max_tasks)
        .journal_size(args.journal_size)
        .lifecycle(Lifecycle::Clock {
            in_progress_after: Duration::from_millis(args.lifecycle_ms[0]),
            done_after: Duration::from_millis(args.lifecycle_ms[1]),
        });
    for key in &cli.api_keys {
        builder = builder.api_key(key);
    }
    for fault in &args.fault {
        builder = builder.fault(fault.parse().map_err(|e: crate::mock::FaultParseError| {
            Error::validation("--fault", e.to_string())
        })?);
    }
    if let Some(secret) = &args.webhook_secret {
        builder = builder.webhook_secret(secret);
    }
    if let Some(seed) = args.seed {
        builder = builder.seed(seed);
    }
    let keys = builder.config().api_keys.clone();
    let secret = builder.config().webhook_secret.clone();
    let mock = builder.start().await?;
    // A reader that went away (a closed pipe) must not bring the server down.
    let mut stdout = std::io::stdout().lock();
    let _ = if out.json {
        writeln!(
            stdout,
            "{}",
            serde_json::json!({ "url": mock.url(), "api_keys": keys, "webhook_secret": secret })
        )
    } else {
        writeln!(stdout, "mock listening on {}", mock.url())
            .and_then(|_| {
                writeln!(
                    stdout,
                    "api key{}: {}",
                    if keys.len() > 1 { "s" } else { "" },
                    keys.join(", ")
                )
            })
            .and_then(|_| writeln!(stdout, "webhook secret: {secret}"))
            .and_then(|_| {
                writeln!(
                    stdout,
                    "admin: {}/__mock/health  (Ctrl-C stops)",
                    mock.url()
                )
            })
    };
    let _ = stdout.flush();
    drop(stdout);
    tokio::signal::ctrl_c().await?;
    Ok(0)
}

fn verify_webhook(
    secret: &str,
    headers: &Path,
    body: &Path,
    now: SystemTime,
    out: Output,
) -> Result<u8, Error> {
    let read = |p: &Path, field: &str| {
        std::fs::read(p)
            .map_err(|e| Error::validation(field, format!("cannot read {}: {e}", p.display())))
    };
    let raw_headers = read(headers, "--headers")?;
    let body = read(body, "--body")?;
    let map =
        parse_headers(&raw_headers).map_err(|reason| Error::validation("--headers", reason))?;
    let event = crate::webhook::verify(secret, &map, &body, now)?;
    out.event(&event);
    Ok(0)
}

/// `Name: value` lines (as an HTTP dump has them) or a JSON object.
fn parse_headers(raw: &[u8]) -> Result<reqwest::header::HeaderMap, String> {
    let text = std::str::from_utf8(raw).map_err(|_| "is not UTF-8 text".to_string())?;
    let pairs: Vec<(String, String)> = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(map)) => map
            .into_iter()
            .map(|(k, v)| {
                (
                    k,
                    v.as_str()
                        .map(String::from)
                        .unwrap_or_else(|| v.to_string()),
                )
            })
            .collect(),
        _ => text
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect(),
    };
    let mut map = reqwest::header::HeaderMap::new();
    for (k, v) in pairs {
        let name = reqwest::header::HeaderName::from_bytes(k.as_bytes())
            .map_err(|_| format!("`{k}` is not a header name"))?;
        let value = reqwest::header::HeaderValue::from_str(&v)
            .map_err(|_| format!("the value of `{k}` is not a header value"))?;
        map.append(name, value);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_parse_from_lines_or_json() {
        let lines = parse_headers(b"webhook-id: msg_1\r\nWebhook-Timestamp: 17\n").unwrap();
        assert_eq!(lines["webhook-timestamp"], "17");
        let json = parse_headers(br#"{"webhook-id": "msg_1", "webhook-timestamp": 17}"#).unwrap();
        assert_eq!(json["webhook-timestamp"], "17");
        assert!(parse_headers(b"bad header: \x01").is_err());
    }

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
