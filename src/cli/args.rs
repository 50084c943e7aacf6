//! What the command line accepts.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::{AspectRatio, Provider, Resolution};

/// Seedance 2.0 Mini video generation from the command line, for Magnific,
/// Anyfast and Powertokens, with an embedded offline mock (`--mock`).
///
/// Exit codes: 0 done, 1 the task failed (or a webhook did not verify),
/// 2 bad input, 3 an API, transport or set-up (TLS) error, 4 waiting ran out of time,
/// 5 a batch create is in doubt, 6 the journal (or its disk) failed,
/// 130 interrupted (Ctrl-C or SIGTERM).
///
/// Every paid task is recorded in a journal (see `--journal`) before its
/// create is sent: `seedance-mini tasks` lists them, `tasks sync` finishes them.
#[derive(Debug, Parser)]
#[command(name = "seedance-mini", version, max_term_width = 100)]
pub struct Cli {
    /// Start the embedded mock server in-process and use it: no key, no network.
    #[arg(long, global = true, help_heading = "Global options")]
    pub mock: bool,

    /// Which provider to call: magnific, anyfast or powertokens.
    /// (`tasks` lists only this provider's jobs when it is given on the
    /// command line.)
    #[arg(long, global = true, help_heading = "Global options", env = "SEEDANCE_MINI_PROVIDER", default_value = "magnific", value_parser = parse_provider)]
    pub provider: Provider,

    /// Whether `--provider` was given on the command line (set after parsing).
    #[arg(skip)]
    pub provider_given: bool,

    /// The key for --provider alone [default: $MAGNIFIC_API_KEY,
    /// $ANYFAST_API_KEY or $POWERTOKENS_API_KEY, else the provider's profile
    /// in the credentials file]. Other providers a batch touches use their
    /// own. For `mock`: a key the mock accepts (repeatable).
    #[arg(
        long = "api-key",
        global = true,
        help_heading = "Global options",
        value_name = "KEY"
    )]
    pub api_keys: Vec<String>,

    /// Another endpoint (a mock, a proxy) for --provider alone [default:
    /// $MAGNIFIC_BASE_URL, $ANYFAST_BASE_URL or $POWERTOKENS_BASE_URL, else
    /// the provider's profile, else its own].
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        env = "SEEDANCE_MINI_BASE_URL",
        value_name = "URL"
    )]
    pub base_url: Option<String>,

    /// A file of per-provider profiles (TOML, mode 0600): `[anyfast]` with
    /// `api_key` and an optional `base_url` [default:
    /// $SEEDANCE_MINI_HOME/credentials.toml, else the platform's config
    /// directory].
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        env = "SEEDANCE_MINI_CREDENTIALS",
        value_name = "PATH"
    )]
    pub credentials: Option<PathBuf>,

    /// Send this header with every API call, replacing the client's own
    /// (repeatable), such as `--header 'Prefer: code=404'` for Prism.
    #[arg(
        long = "header",
        global = true,
        help_heading = "Global options",
        value_name = "NAME: VALUE"
    )]
    pub extra_headers: Vec<String>,

    /// The pace of every API call of the run, per provider: `documented`
    /// (the provider's own limit: Magnific's 50/s bursts and 10/s over two
    /// minutes; none is known for the others), `none`, or
    /// REQUESTS/SECS[,REQUESTS/SECS...]. A 429 slows it further either way.
    #[arg(
        long = "pace",
        global = true,
        help_heading = "Global options",
        value_name = "LIMIT",
        default_value = "documented"
    )]
    pub pace: String,

    /// The journal of paid tasks: a SQLite file, or a postgres:// URL that
    /// workers on several machines share [default:
    /// $SEEDANCE_MINI_HOME/journal.sqlite3, else the platform's data
    /// directory; none with --mock].
    #[arg(
        long,
        global = true,
        env = "SEEDANCE_MINI_JOURNAL",
        hide_env_values = true,
        help_heading = "Global options",
        value_name = "PATH|URL"
    )]
    pub journal: Option<PathBuf>,

    /// This machine's name in a shared journal (which host holds which
    /// file) [default: the host name].
    #[arg(
        long,
        global = true,
        env = "SEEDANCE_MINI_HOST_ID",
        help_heading = "Global options",
        value_name = "NAME"
    )]
    pub host_id: Option<String>,

    /// Keep no journal (a killed run can then lose a paid task's id).
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        conflicts_with = "journal"
    )]
    pub no_journal: bool,

    /// Machine-readable JSON on stdout.
    #[arg(long, global = true, help_heading = "Global options")]
    pub json: bool,

    /// No progress bars.
    #[arg(long, short, global = true, help_heading = "Global options")]
    pub quiet: bool,

    /// Log requests and retries to stderr (-vv for more).
    #[arg(long, short, global = true, help_heading = "Global options", action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a video task from a prompt (and images); wait and save it with -o.
    Generate(Box<GenerateArgs>),
    /// Show a task's status.
    Status(StatusArgs),
    /// List tasks (Magnific).
    List(ListArgs),
    /// Wait for a task to finish (and save it with -o).
    Wait(WaitCmdArgs),
    /// Save a finished task's video.
    Download(DownloadArgs),
    /// Run a batch file (JSON Lines, one job per line); re-running resumes it.
    Batch(BatchArgs),
    /// The journal's tasks, one row per job; `tasks sync` finishes what is left.
    Tasks(TasksArgs),
    /// Run the mock server until interrupted.
    Mock(Box<MockArgs>),
    /// Work with OpenAPI documents.
    #[command(subcommand)]
    Spec(SpecCommand),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(CompletionsArgs),
    /// Print the manual page (roff), for `man -l -`.
    Man,
    /// Work with webhook deliveries.
    #[command(subcommand)]
    Webhook(WebhookCommand),
}

/// What to generate: one flag per [`VideoRequest`](crate::VideoRequest)
/// field, each arg's id the field's name (so an error about a field is told
/// as the flag that set it; see `cli::flag`).
#[derive(Debug, Args)]
pub struct RequestArgs {
    /// What the video shows.
    pub prompt: String,
    /// 480p or 720p [default: 720p].
    #[arg(long, value_parser = parse_resolution)]
    pub resolution: Option<Resolution>,
    /// Seconds, as each provider's facts say (see `duration_help`).
    #[arg(long, allow_negative_numbers = true, help = duration_help())]
    pub duration: Option<i64>,
    /// The aspect ratio, as each provider's facts say (see `ratio_help`).
    #[arg(long, value_parser = parse_ratio, help = ratio_help())]
    pub aspect_ratio: Option<AspectRatio>,
    /// -1 (random) to 4294967295.
    #[arg(long, allow_negative_numbers = true)]
    pub seed: Option<i64>,
    /// Keep the camera still.
    #[arg(long)]
    pub camera_fixed: bool,
    /// First frame: a local path or a URL. Magnific sends a file as base64,
    /// Anyfast as a data: URI (at most 30 MB); Powertokens takes URLs only.
    #[arg(long = "image", value_name = "PATH|URL")]
    pub first_frame: Option<String>,
    /// Last frame, as --image (needs --image; not Powertokens).
    #[arg(long = "image-end", value_name = "PATH|URL")]
    pub last_frame: Option<String>,
    /// Reference image (Anyfast; repeatable).
    #[arg(long = "reference-image", value_name = "PATH|URL")]
    pub reference_images: Vec<String>,
    /// Reference video (Anyfast; repeatable).
    #[arg(long = "reference-video", value_name = "URL")]
    pub reference_videos: Vec<String>,
    /// Reference audio (Anyfast; repeatable).
    #[arg(long, value_name = "PATH|URL")]
    pub reference_audio: Vec<String>,
    /// Generate a soundtrack.
    #[arg(long, overrides_with = "no_audio")]
    pub audio: bool,
    /// Silent video.
    #[arg(long)]
    pub no_audio: bool,
    /// Add a watermark.
    #[arg(long)]
    pub watermark: bool,
    /// Let the model search the web (Anyfast, text-to-video).
    #[arg(long)]
    pub web_search: bool,
    /// Where the provider should POST status changes (Magnific).
    #[arg(long, value_name = "URL")]
    pub webhook_url: Option<String>,
    /// Turn the provider's content safety checker on or off (Magnific).
    #[arg(long, value_name = "BOOL")]
    pub safety_checker: Option<bool>,
    /// Also return the last frame as an image (Powertokens).
    #[arg(long)]
    pub return_last_frame: bool,
    /// End-user id for compliance checks, at most 64 characters (Powertokens).
    #[arg(long, value_name = "ID")]
    pub safety_identifier: Option<String>,
}

/// Options of `generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    #[command(flatten)]
    pub request: RequestArgs,
    /// Wait until the task finishes.
    #[arg(long)]
    pub wait: bool,
    /// Save the video here (implies --wait); an existing file is refused
    /// before paying unless --force.
    #[arg(short, long, value_name = "FILE.mp4")]
    pub output: Option<PathBuf>,
    /// Overwrite the output file if it exists.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub wait_args: WaitArgs,
}

/// Options of `batch`.
#[derive(Debug, Args)]
pub struct BatchArgs {
    /// The batch file: one JSON object per line, with the `generate` options
    /// in snake_case (`resolution`, `duration`, `aspect_ratio` may be lists).
    pub file: PathBuf,
    /// Where the videos go (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out_dir: PathBuf,
    /// Creates and downloads at once (at least 1). Waiting for the videos
    /// holds no slot: tasks at the provider are bounded by --max-in-flight,
    /// and the pace of all API calls by --pace.
    #[arg(long, default_value_t = 16, value_parser = parse_at_least_one)]
    pub concurrency: usize,
    /// Tasks waiting at the providers at once (at least 1); a job is created
    /// only when fewer are unfinished.
    #[arg(long, default_value_t = 1000, value_parser = parse_at_least_one, value_name = "N")]
    pub max_in_flight: usize,
    /// Send nothing: show the jobs by provider, resolution and duration,
    /// the seconds of video, and how many are done, resumable, in doubt,
    /// or new creates (with --json, as one document).
    #[arg(long)]
    pub plan: bool,
    /// Refuse a run that would create more than N new tasks (each is paid for).
    #[arg(long, value_name = "N")]
    pub max_new: Option<usize>,
    /// Do not ask before a run that creates more than 50 new tasks (it asks
    /// only on a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// The public URL Magnific posts each task's events to, reaching the
    /// receiver --listen runs; tasks those events end are not polled. The
    /// signing secret is read from MAGNIFIC_WEBHOOK_SECRET (with --mock,
    /// the mock's own).
    #[arg(long, value_name = "URL", requires = "listen")]
    pub webhook_url: Option<String>,
    /// Where the webhook receiver listens: HOST:PORT, such as 0.0.0.0:8787.
    #[arg(long, value_name = "ADDR", requires = "webhook_url")]
    pub listen: Option<String>,
    /// Send again the jobs whose earlier create is in doubt.
    #[arg(long)]
    pub resubmit_in_doubt: bool,
    /// Send again the jobs whose task failed: a new paid create each.
    #[arg(long)]
    pub retry_failed: bool,
    /// Run the jobs whose file is already there, whole, unless the journal
    /// records this job writing it (without it, such a file counts as done).
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// `tasks` subcommands.
#[derive(Debug, Subcommand)]
pub enum TasksAction {
    /// Poll the unfinished tasks and download the finished ones not yet saved.
    Sync(SyncArgs),
}

/// Options of `status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Task id.
    pub id: String,
}

/// Options of `list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only tasks of this resolution.
    #[arg(long, value_parser = parse_resolution)]
    pub resolution: Option<Resolution>,
}

/// Options of `wait`.
#[derive(Debug, Args)]
pub struct WaitCmdArgs {
    /// Task id.
    pub id: String,
    #[command(flatten)]
    pub wait: WaitArgs,
    /// Save the video here when done.
    #[arg(short, long, value_name = "FILE.mp4")]
    pub output: Option<PathBuf>,
    /// Overwrite the output file if it exists.
    #[arg(long)]
    pub force: bool,
}

/// Options of `download`.
#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// Task id.
    pub id: String,
    /// Where to save it.
    #[arg(short, long, value_name = "FILE.mp4")]
    pub output: PathBuf,
    /// Overwrite the output file if it exists.
    #[arg(long)]
    pub force: bool,
}

/// Options of `tasks`.
#[derive(Debug, Args)]
pub struct TasksArgs {
    /// `sync`: poll unfinished tasks and download the finished ones.
    #[command(subcommand)]
    pub action: Option<TasksAction>,
    /// Only jobs in this state: claimed, submitting, in_doubt,
    /// rejected, submitted, done or failed.
    #[arg(long, value_parser = parse_state)]
    pub state: Option<crate::journal::JobState>,
    /// Only the newest N jobs.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Every row, also those a resubmission replaced.
    #[arg(long)]
    pub all: bool,
    /// Only the jobs of this host: the one holding the file, else the
    /// one holding the claim (see --host-id).
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,
}

/// Options of `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    pub shell: clap_complete::Shell,
}

/// Options of `tasks sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub wait: WaitArgs,
    /// Also fetch to this machine the videos other hosts downloaded
    /// (to the same paths), while their URLs are valid.
    #[arg(long)]
    pub here: bool,
}

/// Options of `spec diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Compare NEW with the document compiled into this build.
    #[arg(long, value_name = "PROVIDER", value_parser = parse_provider)]
    pub vendored: Option<Provider>,
    /// OLD.yaml NEW.yaml, or only NEW.yaml with --vendored.
    #[arg(value_name = "FILE", num_args = 1..=2, required = true)]
    pub files: Vec<PathBuf>,
}

/// Options of `webhook verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The signing secret (raw, or `whsec_`-prefixed base64).
    #[arg(long)]
    pub secret: String,
    /// The delivery's headers: `Name: value` lines, or a JSON object.
    #[arg(long, value_name = "FILE")]
    pub headers: PathBuf,
    /// The delivery's raw body.
    #[arg(long, value_name = "FILE")]
    pub body: PathBuf,
    /// Check as of this unix time (for a delivery saved earlier) [default: now].
    #[arg(long, value_name = "UNIX_SECS")]
    pub at: Option<u64>,
}

/// How long to wait.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 600, value_name = "SECS")]
    pub max_wait: u64,
    /// Seconds between polls at first (they grow up to 7.5 times this); in
    /// a batch, also how often Magnific's list is read (more than 0, at most
    /// 3600) [default: 2, or 0.1 with --mock].
    #[arg(long, value_name = "SECS")]
    pub poll_interval: Option<f64>,
}

/// Options of `mock`.
#[derive(Debug, Args)]
pub struct MockArgs {
    /// Where to listen: HOST:PORT, such as 127.0.0.1:8080 or localhost:8080
    /// (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: String,
    /// Inject a fault: ROUTE:KIND[:WHEN], e.g. `*:503:every=3` (repeatable).
    #[arg(long, value_name = "FAULT")]
    pub fault: Vec<String>,
    /// Milliseconds until a task is in progress, then done. DONE_MS may be
    /// a range, such as 20000..40000: each task finishes at a time drawn
    /// from the seed, so tasks finish out of order.
    #[arg(long, num_args = 2, value_names = ["IN_PROGRESS_MS", "DONE_MS"], default_values = ["200", "1000"])]
    pub lifecycle_ms: Vec<String>,
    /// Play a provider's rate limit per client address, answering 429:
    /// `magnific` (its documented 50/s bursts and 10/s over two minutes),
    /// or PROVIDER=REQUESTS/SECS[,REQUESTS/SECS...] (repeatable).
    #[arg(long, value_name = "LIMIT")]
    pub rate_limit: Vec<String>,
    /// Send `Retry-After` with the rate limit's 429s (no provider documents it).
    #[arg(long)]
    pub retry_after: bool,
    /// Secret that signs webhooks.
    #[arg(long)]
    pub webhook_secret: Option<String>,
    /// Seconds a result URL stays valid.
    #[arg(long, default_value_t = 86_400)]
    pub video_ttl: u64,
    /// Seed for ids and fault dice, for a repeatable run [default: a fresh one].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Finished tasks beyond this many are forgotten, oldest first; unfinished
    /// ones never are, and creates get 503 once twice this many are unfinished.
    #[arg(long, default_value_t = 10_000)]
    pub max_tasks: usize,
    /// Requests kept for `GET /__mock/requests`.
    #[arg(long, default_value_t = 1_000)]
    pub journal_size: usize,
    /// The base of result URLs (such as https://mock.example), instead of
    /// the address each client reached.
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// The key the admin API (/__mock/...) requires in `x-mock-admin-key`.
    /// Without one, the admin API is open on loopback and closed elsewhere.
    #[arg(long, value_name = "KEY")]
    pub admin_key: Option<String>,
    /// Open connections at once (further ones wait).
    #[arg(long, default_value_t = 1024)]
    pub max_connections: usize,
    /// Forward PROVIDER's calls to the real server at URL, with the caller's
    /// own key, and check each request and answer against the document
    /// (GET /__mock/deviations); e.g. magnific=https://api.magnific.com
    /// (repeatable).
    #[arg(long, value_name = "PROVIDER=URL", conflicts_with = "replay")]
    pub upstream: Vec<String>,
    /// Write each forwarded exchange into DIR as a JSON cassette, secrets
    /// redacted.
    #[arg(long, value_name = "DIR", requires = "upstream")]
    pub record: Option<PathBuf>,
    /// Answer every provider's calls from the cassettes in DIR (matched on
    /// method, path and body); an unmatched call gets 501.
    #[arg(long, value_name = "DIR")]
    pub replay: Option<PathBuf>,
}

/// `spec` subcommands.
#[derive(Debug, Subcommand)]
pub enum SpecCommand {
    /// What changed between OLD and NEW, and whether it breaks code built
    /// from OLD. Exit codes: 0 nothing breaks, 1 breaking changes found,
    /// 2 bad input (unreadable, not YAML, not OpenAPI 3).
    Diff(DiffArgs),
}

/// `webhook` subcommands.
#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Check a saved delivery's signature and print its event.
    Verify(VerifyArgs),
}

/// `--duration`'s help, from each provider's facts: `Seconds: magnific 5,
/// 10; anyfast 4-15; powertokens 4-12, 15, -1 (the model picks) …`.
fn duration_help() -> String {
    let per_provider: Vec<String> = Provider::ALL
        .iter()
        .map(|p| {
            let mut parts: Vec<String> = Vec::new();
            let mut run: Vec<i64> = Vec::new();
            let flush = |run: &mut Vec<i64>, parts: &mut Vec<String>| match run.as_slice() {
                [] => {}
                [a, .., b] if run.len() > 2 => parts.push(format!("{a}-{b}")),
                short => parts.extend(short.iter().map(i64::to_string)),
            };
            for &d in p.spec().durations {
                if d < 0 {
                    flush(&mut run, &mut parts);
                    run.clear();
                    parts.push(format!("{d} (the model picks)"));
                } else if run.last().is_some_and(|&last| last + 1 != d) {
                    flush(&mut run, &mut parts);
                    run = vec![d];
                } else {
                    run.push(d);
                }
            }
            flush(&mut run, &mut parts);
            format!("{p} {}", parts.join(", "))
        })
        .collect();
    format!(
        "Seconds: {} [default: the provider's, 5 s]",
        per_provider.join("; ")
    )
}

/// `--aspect-ratio`'s help, from each provider's facts.
fn ratio_help() -> String {
    let per_provider: Vec<String> = Provider::ALL
        .iter()
        .map(|p| {
            let ratios: Vec<&str> = p.spec().aspect_ratios.iter().map(|r| r.as_str()).collect();
            format!("{p} {}", ratios.join(", "))
        })
        .collect();
    format!("Aspect ratio: {}", per_provider.join("; "))
}

fn parse_provider(s: &str) -> Result<Provider, String> {
    s.parse().map_err(crate::Error::into_reason)
}

fn parse_at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1 (0 would run nothing)".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{s}` is not a whole number")),
    }
}

fn parse_state(s: &str) -> Result<crate::journal::JobState, String> {
    s.parse().map_err(crate::Error::into_reason)
}

fn parse_resolution(s: &str) -> Result<Resolution, String> {
    s.parse().map_err(|e: crate::Error| e.to_string())
}

fn parse_ratio(s: &str) -> Result<AspectRatio, String> {
    s.parse().map_err(|e: crate::Error| e.to_string())
}
