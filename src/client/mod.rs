//! The client most users touch: submit a [`VideoRequest`], get, list, wait,
//! download, or do it all in one call, for one provider.

mod builder;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::{Stream, StreamExt};

pub use builder::{ApiKey, ClientBuilder};

use crate::download::{self, DownloadProgress, Downloaded};
use crate::providers::{from_status, Backend};
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
}

struct Inner {
    provider: Provider,
    origin: reqwest::Url,
    backend: Backend,
    download: reqwest::Client,
    context: RequestContext,
    retry: RetryPolicy,
    limiter: Option<Limiter>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("provider", &self.inner.provider)
            .field("origin", &self.inner.origin.as_str())
            .field("context", &self.inner.context)
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

/// A finished generation: the task and where its video went.
#[derive(Debug, Clone, PartialEq)]
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

    async fn throttle(&self) {
        if let Some(limiter) = &self.inner.limiter {
            limiter.acquire().await;
        }
    }

    /// Checks `request` and creates the task. Never repeated once the request
    /// may have reached the server: a generation is paid for.
    pub async fn submit(&self, request: &VideoRequest) -> Result<Task, Error> {
        request.validate(self.provider())?;
        retry::run(
            &self.inner.retry,
            Safety::NotIdempotent,
            self.provider(),
            "submit",
            || async {
                self.throttle().await;
                self.inner.backend.create(request).await
            },
        )
        .await
    }

    /// The task's current state, retrying transient failures.
    pub async fn get(&self, id: &str) -> Result<Task, Error> {
        retry::run(
            &self.inner.retry,
            Safety::Idempotent,
            self.provider(),
            "get",
            || self.get_once(id),
        )
        .await
    }

    async fn get_once(&self, id: &str) -> Result<Task, Error> {
        self.throttle().await;
        self.inner.backend.get(id).await
    }

    /// Tasks (Magnific only): all of them, or those of one resolution.
    pub async fn list(&self, resolution: Option<Resolution>) -> Result<Vec<Task>, Error> {
        retry::run(
            &self.inner.retry,
            Safety::Idempotent,
            self.provider(),
            "list",
            || async {
                self.throttle().await;
                self.inner.backend.list(resolution).await
            },
        )
        .await
    }

    /// Polls the task until it completes ([`Error::TaskFailed`] if it fails,
    /// [`Error::ExceededMaxWait`] if time runs out). A failed poll is waited out.
    pub async fn wait(&self, id: &str, options: &WaitOptions) -> Result<Task, Error> {
        wait_for(options, || self.get_once(id)).await
    }

    /// Streams the task's video to `path` (see [`Client::download_with`]).
    pub async fn download(&self, task: &Task, path: impl AsRef<Path>) -> Result<Downloaded, Error> {
        self.download_with(task, path, None).await
    }

    /// Streams the task's video to `path` through this client's connection
    /// settings, reporting progress; the file appears only when complete.
    /// Powertokens' video comes from its `/content` endpoint; the others' from
    /// the task's URL (sent with the key only if it is on the API's origin).
    pub async fn download_with(
        &self,
        task: &Task,
        path: impl AsRef<Path>,
        progress: Option<DownloadProgress<'_>>,
    ) -> Result<Downloaded, Error> {
        if task.status != TaskStatus::Completed {
            return Err(Error::validation(
                "task",
                format!(
                    "{} is {}, not completed; wait for it first",
                    task.id, task.status
                ),
            ));
        }
        let path = path.as_ref();
        retry::run(
            &self.inner.retry,
            Safety::Idempotent,
            self.provider(),
            "download",
            || async {
                self.throttle().await;
                if let Some(content) = self.inner.backend.content(&task.id).await {
                    let content = content?;
                    let length = content
                        .headers()
                        .get(reqwest::header::CONTENT_LENGTH)
                        .and_then(|v| v.to_str().ok()?.parse().ok());
                    return download::to_file(
                        length,
                        content.into_inner().into_inner(),
                        path,
                        progress,
                    )
                    .await;
                }
                let url = task.video_urls.first().ok_or_else(|| {
                    Error::validation("task", format!("{} has no video URL", task.id))
                })?;
                let url = reqwest::Url::parse(url)
                    .map_err(|e| Error::validation("task", format!("video URL `{url}`: {e}")))?;
                let mut request = self.inner.download.get(url.clone()).build()?;
                if url.origin() == self.inner.origin.origin() {
                    self.inner.context.apply_headers(&mut request);
                }
                let response = self.inner.download.execute(request).await?;
                if !response.status().is_success() {
                    let (status, headers) = (response.status(), response.headers().clone());
                    return Err(from_status(
                        self.provider(),
                        status,
                        &headers,
                        response.text().await.unwrap_or_default(),
                    ));
                }
                let length = response.content_length();
                download::to_file(length, response.bytes_stream(), path, progress).await
            },
        )
        .await
    }

    /// Submits, waits and downloads: one call from request to file.
    pub async fn generate(
        &self,
        request: &VideoRequest,
        path: impl AsRef<Path>,
        wait: &WaitOptions,
    ) -> Result<Generated, Error> {
        let created = self.submit(request).await?;
        let task = self.wait(&created.id, wait).await?;
        let file = self.download(&task, path).await?;
        Ok(Generated { task, file })
    }

    /// Runs many generations, at most `concurrency` at a time, yielding each
    /// result as it finishes; one failure never stops the others.
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
        futures_util::stream::iter(jobs.into_iter().enumerate())
            .map(move |(index, (request, output))| async move {
                let result = self.generate(&request, &output, wait).await;
                BatchItem {
                    index,
                    output,
                    result,
                }
            })
            .buffer_unordered(concurrency.max(1))
    }
}
