//! The client most users touch: submit a [`VideoRequest`], get, list, wait,
//! download, or do it all in one call, for one provider.

mod builder;
mod reconcile;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::{Stream, StreamExt};
use reqwest::header::LOCATION;
use tracing::Instrument;

pub use builder::{ApiKey, ClientBuilder};

use crate::api::hooks::{apply_overrides, read_capped, with_overrides, RequestOptions};
use crate::download::{self, DownloadProgress, Downloaded, ProgressRef};
use crate::error::MAX_ERROR_BODY;
use crate::journal::{JobId, Journal, Ledger, NewJob};
use crate::provider::VideoSource;
use crate::providers::{from_status, Backend, Video};
use crate::ratelimit::Limiter;
use crate::retry::{self, Safety};
use crate::wait::{wait_for, WaitOptions};
use crate::{
    Error, Provider, RequestContext, Resolution, RetryPolicy, Task, TaskStatus, VideoRequest,
};

/// A client for one provider. Cheap to clone; clones share connections,
/// retry policy and rate limit.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    overrides: Option<Arc<RequestOptions>>,
}

/// Redirects a download follows before giving up.
const MAX_REDIRECTS: usize = 5;

struct Inner {
    provider: Provider,
    origin: reqwest::Url,
    backend: Backend,
    download: reqwest::Client,
    context: RequestContext,
    retry: RetryPolicy,
    limiter: Limiter,
    /// The journal, for the batch's claims and the readers, when it is one.
    journal: Option<Journal>,
    /// What this client notifies as a job moves.
    ledger: Option<Arc<dyn Ledger>>,
    base_url: String,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("provider", &self.inner.provider)
            .field("origin", &self.inner.origin.as_str())
            .field("context", &self.inner.context)
            .field("retry", &self.inner.retry)
            .field("overrides", &self.overrides)
            .finish_non_exhaustive()
    }
}

/// A finished generation: the task and where its video went.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Generated {
    /// The completed task.
    pub task: Task,
    /// The downloaded file.
    pub file: Downloaded,
}

/// One result of [`Client::generate_many`].
#[derive(Debug)]
pub struct BatchItem {
    /// Position of the job in the input.
    pub index: usize,
    /// Where its output was to go.
    pub output: PathBuf,
    /// The created task's id, once the create was answered: present even when
    /// a later step failed, so the paid task can be resumed.
    pub task_id: Option<String>,
    /// What happened.
    pub result: Result<Generated, Error>,
}

impl Client {
    /// A Magnific client with default settings.
    pub fn magnific(key: impl Into<ApiKey>) -> Result<Self, Error> {
        Self::builder(Provider::Magnific).api_key(key).build()
    }

    /// An Anyfast client with default settings.
    pub fn anyfast(key: impl Into<ApiKey>) -> Result<Self, Error> {
        Self::builder(Provider::Anyfast).api_key(key).build()
    }

    /// A Powertokens client with default settings.
    pub fn powertokens(key: impl Into<ApiKey>) -> Result<Self, Error> {
        Self::builder(Provider::Powertokens).api_key(key).build()
    }

    /// A client whose key comes from `MAGNIFIC_API_KEY`, `ANYFAST_API_KEY` or
    /// `POWERTOKENS_API_KEY`.
    pub fn from_env(provider: Provider) -> Result<Self, Error> {
        let var = provider.key_env_var();
        let key = std::env::var(var)
            .ok()
            .filter(|k| !k.trim().is_empty())
            .ok_or_else(|| Error::validation(var, "is not set"))?;
        Self::builder(provider).api_key(key).build()
    }

    /// A builder, for anything beyond the defaults.
    pub fn builder(provider: Provider) -> ClientBuilder {
        ClientBuilder::new(provider)
    }

    /// The provider this client talks to.
    pub fn provider(&self) -> Provider {
        self.inner.provider
    }

    /// A view of this client whose calls also apply `options` (headers that
    /// replace the client's, a timeout, query pairs), in the manner of
    /// aws-sdk-rust's `customize()`. It shares connections, retry policy and
    /// rate limit with this client.
    pub fn with_options(&self, options: RequestOptions) -> Client {
        Client {
            inner: self.inner.clone(),
            overrides: Some(Arc::new(options)),
        }
    }

    /// Sends one API call under the rate limit, and tells the limit how
    /// it was answered (a 429 slows every call down).
    async fn paced<T>(
        &self,
        call: impl std::future::Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        self.paced_claim(call, None).await
    }

    /// [`Client::paced`], and, for a create of a claimed job, the ledger's
    /// word that the claim still holds, asked once the rate limit lets the
    /// call go and before any byte of it is sent.
    async fn paced_claim<T>(
        &self,
        call: impl std::future::Future<Output = Result<T, Error>>,
        claimed: Option<JobId>,
    ) -> Result<T, Error> {
        self.inner.limiter.acquire().await;
        if let Some(job) = claimed {
            if !self.record(move |l, _| l.sending(job)).await? {
                return Err(Error::ClaimTaken { job: job.get() });
            }
        }
        let result = call.await;
        match &result {
            Err(Error::RateLimited { retry_after, .. }) => {
                self.inner.limiter.limited(*retry_after).await
            }
            _ => self.inner.limiter.answered().await,
        }
        result
    }

    /// The 429s this client (and its clones) has been answered so far.
    pub async fn rate_limited_count(&self) -> u64 {
        self.inner.limiter.limited_count().await
    }

    /// The journal this client records in, if any.
    pub fn journal(&self) -> Option<&Journal> {
        self.inner.journal.as_ref()
    }

    /// The base URL calls go to.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// Checks `request` and creates the task. Never repeated once the request
    /// may have reached the server: a generation is paid for. With a
    /// journal, the job is recorded before the create is sent and the task id
    /// as soon as it arrives; a create with no answer is recorded in doubt.
    pub async fn submit(&self, request: &VideoRequest) -> Result<Task, Error> {
        self.submit_job(request, None).await.map(|(task, _)| task)
    }

    /// [`Client::submit`], recording the job's output path; returns the task
    /// and the ledger's job id (with a ledger). Batch jobs, which have keys,
    /// are claimed by the batch and sent with [`Client::create_recorded`].
    pub(crate) async fn submit_job(
        &self,
        request: &VideoRequest,
        output: Option<&Path>,
    ) -> Result<(Task, Option<JobId>), Error> {
        request.validate(self.provider())?;
        if self.inner.ledger.is_none() {
            return self.create(request, None).await.map(|task| (task, None));
        }
        let output = output.map(Path::to_path_buf);
        let request_owned = request.clone();
        let job = self
            .record(move |ledger, (provider, base_url)| {
                ledger.before_create(&NewJob {
                    key: None,
                    provider,
                    base_url: &base_url,
                    request: &request_owned,
                    output: output.as_deref(),
                })
            })
            .await?;
        self.create_recorded(request, job, false)
            .await
            .map(|task| (task, Some(job)))
    }

    /// Runs `write` against the ledger on tokio's blocking pool, never on an
    /// async thread: a ledger may block on its disk or its database.
    async fn record<T: Send + 'static>(
        &self,
        write: impl FnOnce(&dyn Ledger, (Provider, String)) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let Some(ledger) = self.inner.ledger.clone() else {
            return Err(Error::validation("ledger", "this client keeps none"));
        };
        let at = (self.provider(), self.inner.base_url.clone());
        tokio::task::spawn_blocking(move || write(&*ledger, at))
            .await
            .map_err(|e| Error::Journal {
                path: PathBuf::new(),
                message: format!("a ledger write stopped: {e}"),
            })?
    }

    /// Sends the create for `job`, a row this process has recorded, and
    /// records its answer: the task id, a refusal, or the doubt. `claimed`:
    /// a batch's claim, which the ledger confirms just before the send
    /// ([`Error::ClaimTaken`] if another worker took it; nothing is sent).
    pub(crate) async fn create_recorded(
        &self,
        request: &VideoRequest,
        job: JobId,
        claimed: bool,
    ) -> Result<Task, Error> {
        if self.inner.ledger.is_none() {
            return self.create(request, None).await;
        }
        match self.create(request, claimed.then_some(job)).await {
            Err(e @ (Error::ClaimTaken { .. } | Error::Journal { .. })) => Err(e),
            Ok(task) => {
                let answered = task.clone();
                match self.record(move |l, _| l.created(job, &answered)).await {
                    Ok(()) => Ok(task),
                    Err(e) => Err(Error::AfterSubmit {
                        task_id: task.id,
                        source: Box::new(e),
                    }),
                }
            }
            Err(e) => {
                let (note, refused) = (e.to_string(), create_was_refused(&e));
                self.record(move |l, _| l.create_failed(job, &note, refused))
                    .await?;
                Err(e)
            }
        }
    }

    async fn create(&self, request: &VideoRequest, claimed: Option<JobId>) -> Result<Task, Error> {
        let span = tracing::info_span!("submit", provider = %self.provider());
        // Boxed: a call's future is large (reqwest, the generated client,
        // hooks), and every caller would otherwise carry a copy of it.
        let call = Box::pin(retry::run(
            &self.inner.retry,
            Safety::NotIdempotent,
            self.provider(),
            "submit",
            || self.paced_claim(self.inner.backend.create(request), claimed),
        ));
        let task = with_overrides(self.overrides.as_ref(), call)
            .instrument(span)
            .await?;
        tracing::info!(provider = %self.provider(), task_id = %task.id, "task created");
        Ok(task)
    }

    /// The task's current state, retrying transient failures.
    pub async fn get(&self, id: &str) -> Result<Task, Error> {
        let span = tracing::info_span!("get", provider = %self.provider(), task_id = id);
        // Boxed: a call's future is large (reqwest, the generated client,
        // hooks), and every caller would otherwise carry a copy of it.
        let call = Box::pin(retry::run(
            &self.inner.retry,
            Safety::Idempotent,
            self.provider(),
            "get",
            || self.get_once(id),
        ));
        with_overrides(self.overrides.as_ref(), call)
            .instrument(span)
            .await
    }

    async fn get_once(&self, id: &str) -> Result<Task, Error> {
        self.paced(self.inner.backend.get(id)).await
    }

    /// Tasks (Magnific only): all of them, or those of one resolution.
    pub async fn list(&self, resolution: Option<Resolution>) -> Result<Vec<Task>, Error> {
        let span = tracing::info_span!("list", provider = %self.provider());
        // Boxed: a call's future is large (reqwest, the generated client,
        // hooks), and every caller would otherwise carry a copy of it.
        let call = Box::pin(retry::run(
            &self.inner.retry,
            Safety::Idempotent,
            self.provider(),
            "list",
            || self.paced(self.inner.backend.list(resolution)),
        ));
        with_overrides(self.overrides.as_ref(), call)
            .instrument(span)
            .await
    }

    /// Polls the task until it completes ([`Error::TaskFailed`] if it fails,
    /// [`Error::ExceededMaxWait`] if time runs out). A failed poll is waited out.
    pub async fn wait(&self, id: &str, options: &WaitOptions) -> Result<Task, Error> {
        let span = tracing::info_span!("wait", provider = %self.provider(), task_id = id);
        with_overrides(
            self.overrides.as_ref(),
            Box::pin(wait_for(options, || self.get_once(id))),
        )
        .instrument(span)
        .await
    }

    /// Streams the task's video to `path` (see [`Client::download_with`]).
    pub async fn download(&self, task: &Task, path: impl AsRef<Path>) -> Result<Downloaded, Error> {
        self.download_with(task, path, None).await
    }

    /// Streams the task's video to `path` through this client's connection
    /// settings, reporting progress; the file appears only when complete.
    /// The video comes from where the provider's [`ProviderSpec`](crate::ProviderSpec)
    /// says: the task's URL (sent with the key only if it is on the API's
    /// origin), or a content endpoint (Powertokens).
    pub async fn download_with(
        &self,
        task: &Task,
        path: impl AsRef<Path>,
        progress: Option<DownloadProgress>,
    ) -> Result<Downloaded, Error> {
        self.download_reporting(task, path.as_ref(), progress.as_deref())
            .await
    }

    async fn download_reporting(
        &self,
        task: &Task,
        path: &Path,
        progress: Option<ProgressRef<'_>>,
    ) -> Result<Downloaded, Error> {
        if task.status != TaskStatus::Completed {
            let reason = if task.status.is_failure() {
                format!(
                    "{} ended {}; it has no video to download",
                    task.id, task.status
                )
            } else {
                format!(
                    "{} is {}, not completed yet; wait for it first",
                    task.id, task.status
                )
            };
            return Err(Error::validation("task", reason));
        }
        let span = tracing::info_span!("download", provider = %self.provider(), task_id = %task.id);
        // Boxed: a call's future is large (reqwest, the generated client,
        // hooks), and every caller would otherwise carry a copy of it.
        let call = Box::pin(retry::run(
            &self.inner.retry,
            Safety::Idempotent,
            self.provider(),
            "download",
            || async {
                tracing::info!(path = %path.display(), "download started");
                // The content endpoint is an API call, under the rate limit;
                // a result URL is read in `fetch`, paced only on the API's origin.
                let video = match self.provider().spec().video {
                    VideoSource::ContentEndpoint { .. } => {
                        self.paced(self.inner.backend.video(task)).await
                    }
                    VideoSource::ResultUrl => self.inner.backend.video(task).await,
                };
                match video {
                    Ok(Video::Url(url)) => self.fetch(url, path, progress).await,
                    Ok(Video::Stream(content)) => {
                        let length = content
                            .headers()
                            .get(reqwest::header::CONTENT_LENGTH)
                            .and_then(|v| v.to_str().ok()?.parse().ok());
                        download::to_file(length, content.into_inner().into_inner(), path, progress)
                            .await
                    }
                    Err(e) => self.follow_content_redirect(e, task, path, progress).await,
                }
            },
        ));
        let file = with_overrides(self.overrides.as_ref(), call)
            .instrument(span)
            .await?;
        tracing::info!(task_id = %task.id, path = %file.path.display(), bytes = file.bytes, "download done");
        Ok(file)
    }

    /// A `/content` answer that redirects (to a CDN, say) is followed like a
    /// video URL, without the key unless it stays on the API's origin.
    async fn follow_content_redirect(
        &self,
        error: Error,
        task: &Task,
        path: &Path,
        progress: Option<ProgressRef<'_>>,
    ) -> Result<Downloaded, Error> {
        let (status, headers, location) = match &error {
            Error::Api {
                status, headers, ..
            } if (300..400).contains(status) => {
                match headers.get(LOCATION).and_then(|l| l.to_str().ok()) {
                    Some(location) => (*status, headers.clone(), location.to_string()),
                    None => return Err(error),
                }
            }
            _ => return Err(error),
        };
        let Some(content) = self.provider().spec().video.content_path(&task.id) else {
            return Err(error);
        };
        let here = self
            .inner
            .origin
            .join(&content)
            .map_err(|e| Error::validation("task", e.to_string()))?;
        let next = here.join(&location).map_err(|e| {
            let status =
                reqwest::StatusCode::from_u16(status).unwrap_or(reqwest::StatusCode::FOUND);
            self.bad_redirect(status, headers, format!("redirect to `{location}`: {e}"))
        })?;
        self.fetch(next, path, progress).await
    }

    /// GETs a video URL to `path`, following at most [`MAX_REDIRECTS`]
    /// redirects by hand: the key and per-request headers go only to the
    /// API's own origin, checked at every hop, so they never cross to another.
    async fn fetch(
        &self,
        mut url: reqwest::Url,
        path: &Path,
        progress: Option<ProgressRef<'_>>,
    ) -> Result<Downloaded, Error> {
        let mut redirected = None;
        for _ in 0..=MAX_REDIRECTS {
            let mut request = self.inner.download.get(url.clone()).build()?;
            if url.origin() == self.inner.origin.origin() {
                self.inner.context.apply_headers(&mut request);
                apply_overrides(&mut request);
                self.inner.limiter.acquire().await;
            }
            let mut response = self.inner.download.execute(request).await?;
            let status = response.status();
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|l| l.to_str().ok());
            if let (true, Some(location)) = (status.is_redirection(), location) {
                let headers = Box::new(response.headers().clone());
                url = url.join(location).map_err(|e| {
                    self.bad_redirect(
                        status,
                        headers.clone(),
                        format!("redirect to `{location}`: {e}"),
                    )
                })?;
                redirected = Some((status, headers));
                continue;
            }
            if !status.is_success() {
                let headers = response.headers().clone();
                let (body, _) = read_capped(&mut response, MAX_ERROR_BODY).await?;
                return Err(from_status(self.provider(), status, &headers, &body));
            }
            let length = response.content_length();
            return download::to_file(length, response.bytes_stream(), path, progress).await;
        }
        let (status, headers) = redirected.expect("only a redirect loops");
        Err(self.bad_redirect(
            status,
            headers,
            format!("the video URL redirected more than {MAX_REDIRECTS} times"),
        ))
    }

    /// A redirect that cannot be followed: the server's answer, not the
    /// user's input (`Error::Api`, with the 3xx and its headers).
    fn bad_redirect(
        &self,
        status: reqwest::StatusCode,
        headers: Box<reqwest::header::HeaderMap>,
        message: String,
    ) -> Error {
        Error::Api {
            provider: self.provider(),
            status: status.as_u16(),
            message,
            invalid_params: Vec::new(),
            body: String::new(),
            headers,
        }
    }

    /// Submits, waits and downloads: one call from request to file.
    pub async fn generate(
        &self,
        request: &VideoRequest,
        path: impl AsRef<Path>,
        wait: &WaitOptions,
    ) -> Result<Generated, Error> {
        let path = path.as_ref();
        let (created, job) = self.submit_job(request, Some(path)).await?;
        self.finish(&created.id, job, path, wait, None).await
    }

    /// Waits for an existing task and downloads it, telling the ledger each
    /// step under `job`. Any failure names the task. Nothing is submitted.
    pub(crate) async fn finish(
        &self,
        task_id: &str,
        job: Option<JobId>,
        path: &Path,
        wait: &WaitOptions,
        progress: Option<ProgressRef<'_>>,
    ) -> Result<Generated, Error> {
        // A poll's status is written on the blocking pool without holding up
        // the wait; the writes are awaited before the next step, so they
        // land in order.
        let polls: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let wait = match self.inner.ledger.clone().zip(job) {
            Some((ledger, job)) => {
                let polls = polls.clone();
                wait.clone().also_on_progress(move |t| {
                    let (ledger, task) = (ledger.clone(), t.clone());
                    let write = tokio::task::spawn_blocking(move || {
                        if let Err(e) = ledger.polled(job, &task) {
                            tracing::warn!(task_id = %task.id, error = %e, "could not record the status");
                        }
                    });
                    polls.lock().unwrap_or_else(|p| p.into_inner()).push(write);
                })
            }
            None => wait.clone(),
        };
        let waited = self.wait(task_id, &wait).await;
        let pending = std::mem::take(&mut *polls.lock().unwrap_or_else(|p| p.into_inner()));
        for write in pending {
            let _ = write.await;
        }
        self.conclude(task_id, waited, job, path, progress).await
    }

    /// Records a finished task's last status under `job` (a batch's
    /// completion detector saw it), then downloads it as
    /// [`Client::conclude`] does.
    pub(crate) async fn conclude_polled(
        &self,
        task: Task,
        job: Option<JobId>,
        path: &Path,
    ) -> Result<Generated, Error> {
        if let Some(job) = job.filter(|_| self.inner.ledger.is_some()) {
            let seen = task.clone();
            if let Err(e) = self.record(move |l, _| l.polled(job, &seen)).await {
                tracing::warn!(task_id = %task.id, error = %e, "could not record the status");
            }
        }
        let id = task.id.clone();
        let waited = match task.status {
            TaskStatus::Completed => Ok(task),
            ref s if s.is_failure() => Err(Error::TaskFailed(Box::new(task))),
            _ => Err(Error::validation(
                "task",
                format!("{id} is {}, not finished", task.status),
            )),
        };
        self.conclude(&id, waited, job, path, None).await
    }

    /// Records that a batch gave up on a task (`error` says why) under `job`;
    /// returns that error, naming the task.
    pub(crate) async fn give_up(
        &self,
        task_id: &str,
        error: Error,
        job: Option<JobId>,
    ) -> Result<Generated, Error> {
        self.conclude(task_id, Err(error), job, Path::new(""), None)
            .await
    }

    /// What follows a wait: the failure recorded under `job`, or the video
    /// downloaded to `path` and recorded. Any failure names the task.
    async fn conclude(
        &self,
        task_id: &str,
        waited: Result<Task, Error>,
        job: Option<JobId>,
        path: &Path,
        progress: Option<ProgressRef<'_>>,
    ) -> Result<Generated, Error> {
        let after = |source: Error| async {
            if let Some(job) = job.filter(|_| self.inner.ledger.is_some()) {
                let (note, for_good) = (source.to_string(), matches!(source, Error::TaskFailed(_)));
                if let Err(e) = self
                    .record(move |l, _| l.failed(job, &note, for_good))
                    .await
                {
                    tracing::warn!(task_id, error = %e, "could not record the failure");
                }
            }
            match source {
                e @ (Error::TaskFailed(_) | Error::ExceededMaxWait { .. }) => e,
                source => Error::AfterSubmit {
                    task_id: task_id.to_string(),
                    source: Box::new(source),
                },
            }
        };
        let task = match waited {
            Ok(task) => task,
            Err(e) => return Err(after(e).await),
        };
        let file = match self.download_reporting(&task, path, progress).await {
            Ok(file) => file,
            Err(e) => return Err(after(e).await),
        };
        if let Some(job) = job.filter(|_| self.inner.ledger.is_some()) {
            let saved = file.clone();
            if let Err(e) = self.record(move |l, _| l.downloaded(job, &saved)).await {
                return Err(after(e).await);
            }
        }
        Ok(Generated { task, file })
    }

    /// Runs many generations through a batch's pipeline (creates paced by
    /// this client's rate limit, `concurrency` at a time; one completion
    /// detector for all the tasks; `concurrency` downloads at a time),
    /// yielding each result as it finishes; one failure never stops the
    /// others. Each call's jobs are new jobs: nothing is matched against
    /// earlier ones (a batch file, with its journal, resumes instead).
    pub fn generate_many<'a, I>(
        &'a self,
        jobs: I,
        concurrency: usize,
        wait: &'a WaitOptions,
    ) -> impl Stream<Item = BatchItem> + 'a
    where
        I: IntoIterator<Item = (VideoRequest, PathBuf)>,
        I::IntoIter: 'a,
    {
        let mut refused = Vec::new();
        let mut valid = Vec::new();
        // One call's jobs share a random stem: never one of a batch's keys.
        let stem = format!("generate:{:016x}", fastrand::u64(..));
        for (index, (request, output)) in jobs.into_iter().enumerate() {
            match request.validate(self.provider()) {
                Err(error) => refused.push(BatchItem {
                    index,
                    output,
                    task_id: None,
                    result: Err(error),
                }),
                Ok(()) => valid.push(crate::batch::BatchJob {
                    line: index,
                    key: format!("{stem}:{index}"),
                    previous_key: format!("{stem}:{index}"),
                    provider: self.provider(),
                    request,
                    output,
                }),
            }
        }
        let (sent, received) = tokio::sync::mpsc::unbounded_channel();
        let options = crate::batch::BatchOptions::new(wait.clone())
            .concurrency(concurrency)
            .force(true);
        let clients = std::collections::HashMap::from([(self.provider(), self.clone())]);
        let work = Box::pin(async move {
            let outputs: Vec<PathBuf> = valid.iter().map(|j| j.output.clone()).collect();
            let send = |i: usize, outcome: crate::batch::JobOutcome| {
                let item = BatchItem::from_outcome(valid[i].line, outputs[i].clone(), outcome);
                let _ = sent.send(item);
            };
            crate::batch::pipeline::run(
                &clients,
                &valid,
                Path::new(""),
                &options,
                Arc::new(|_| {}),
                &send,
            )
            .await;
        });
        let results = crate::batch::pipeline::while_running(work, received);
        futures_util::stream::iter(refused).chain(results)
    }
}

impl BatchItem {
    fn from_outcome(index: usize, output: PathBuf, outcome: crate::batch::JobOutcome) -> Self {
        use crate::batch::JobOutcome;
        let (task_id, result) = match outcome {
            JobOutcome::Done { task, file } => {
                (Some(task.id.clone()), Ok(Generated { task: *task, file }))
            }
            JobOutcome::Failed { task_id, error } => (task_id, Err(error)),
            JobOutcome::InDoubt { reason, error } => (
                None,
                Err(error.unwrap_or_else(|| Error::validation("create", reason))),
            ),
            JobOutcome::Expired { task_id } => {
                let why =
                    format!("{task_id} finished, but its result URL expired before the download");
                (Some(task_id), Err(Error::validation("task", why)))
            }
            JobOutcome::Elsewhere {
                host,
                file,
                task_id,
            } => {
                let why = format!("{} was written on {host}, not here", file.display());
                (task_id, Err(Error::validation("output", why)))
            }
            JobOutcome::Skipped { file } => (
                None,
                Err(Error::validation(
                    "output",
                    format!("{} was not written", file.display()),
                )),
            ),
        };
        BatchItem {
            index,
            output,
            task_id,
            result,
        }
    }
}

/// Whether a failed create certainly made no task: refused before sending
/// (a local check, an unreadable file, a refused connection) or by the
/// provider with a 4xx. Anything else (a timeout after sending, a 5xx, an
/// answer without an id) may have made a paid task: in doubt.
pub(crate) fn create_was_refused(error: &Error) -> bool {
    match error {
        Error::Validation { .. } | Error::Unsupported { .. } | Error::Io(_) => true,
        Error::Unauthorized { .. } | Error::RateLimited { .. } => true,
        // 501 Not Implemented: the server does not do creates at all (a
        // replaying mock with no cassette for it), so it made nothing.
        Error::Api { status, .. } => (400..500).contains(status) || *status == 501,
        other => other.is_safe_to_resubmit(),
    }
}
