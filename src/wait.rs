//! Waiting for a task to finish, in the manner of smithy-rs waiters: an
//! acceptor classifies each poll (success, failure, keep waiting), a maximum
//! wait is required, delays grow from `min_delay` to `max_delay` with jitter,
//! and the clock is injectable so a ten-minute wait tests in milliseconds.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::{Error, Task, TaskStatus};

/// What a poll's result means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptorState {
    /// Done: return this task.
    Success,
    /// Done badly: return [`Error::TaskFailed`].
    Failure,
    /// Not yet: poll again.
    Retry,
}

/// Classifies a polled task.
pub type Acceptor = Arc<dyn Fn(&Task) -> AcceptorState + Send + Sync>;

/// Called with each polled task, for progress display.
pub type ProgressHook = Arc<dyn Fn(&Task) + Send + Sync>;

/// The default acceptor: completed is success; failed, cancelled and expired
/// are failures; anything else (unknown statuses included) keeps waiting.
pub fn default_acceptor(task: &Task) -> AcceptorState {
    match task.status {
        TaskStatus::Completed => AcceptorState::Success,
        ref s if s.is_failure() => AcceptorState::Failure,
        _ => AcceptorState::Retry,
    }
}

/// Time and sleep, so tests can run long waits instantly.
pub trait Clock: Send + Sync {
    /// Time since some fixed point.
    fn elapsed(&self) -> Duration;
    /// Sleeps for `duration`.
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

/// The tokio clock (so `tokio::time::pause` works on it too).
#[derive(Debug, Clone)]
pub struct TokioClock(tokio::time::Instant);

impl Default for TokioClock {
    fn default() -> Self {
        TokioClock(tokio::time::Instant::now())
    }
}

impl Clock for TokioClock {
    fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// How to wait. `max_wait` has no default: every wait is bounded.
#[derive(Clone)]
pub struct WaitOptions {
    /// Give up after this long.
    pub max_wait: Duration,
    /// First delay between polls, and the least any delay is.
    pub min_delay: Duration,
    /// The most any delay between polls is.
    pub max_delay: Duration,
    acceptor: Acceptor,
    progress: Option<ProgressHook>,
    clock: Option<Arc<dyn Clock>>,
}

impl fmt::Debug for WaitOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitOptions")
            .field("max_wait", &self.max_wait)
            .field("min_delay", &self.min_delay)
            .field("max_delay", &self.max_delay)
            .finish_non_exhaustive()
    }
}

impl WaitOptions {
    /// Waits at most `max_wait`, polling every 2 s at first and at most every 20 s.
    pub fn new(max_wait: Duration) -> Self {
        Self {
            max_wait,
            min_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(20),
            acceptor: Arc::new(default_acceptor),
            progress: None,
            clock: None,
        }
    }

    /// Sets the delay bounds (`max` is raised to `min` if lower).
    pub fn delays(mut self, min: Duration, max: Duration) -> Self {
        self.min_delay = min;
        self.max_delay = max.max(min);
        self
    }

    /// Replaces the acceptor.
    pub fn acceptor(
        mut self,
        acceptor: impl Fn(&Task) -> AcceptorState + Send + Sync + 'static,
    ) -> Self {
        self.acceptor = Arc::new(acceptor);
        self
    }

    /// Calls `hook` with every polled task.
    pub fn on_progress(mut self, hook: impl Fn(&Task) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(hook));
        self
    }

    /// Calls `hook` with every polled task, after any hook already set.
    pub fn also_on_progress(mut self, hook: impl Fn(&Task) + Send + Sync + 'static) -> Self {
        let before = self.progress.take();
        self.progress = Some(Arc::new(move |t: &Task| {
            if let Some(first) = &before {
                first(t);
            }
            hook(t);
        }));
        self
    }

    /// Uses another clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Delay before poll number `poll + 1`: doubles from `min_delay`, capped at
    /// `max_delay`, jittered uniformly between `min_delay` and that.
    fn delay(&self, poll: u32) -> Duration {
        let grown = self
            .min_delay
            .saturating_mul(1u32 << poll.saturating_sub(1).min(16))
            .min(self.max_delay);
        let spread = grown.saturating_sub(self.min_delay);
        self.min_delay + spread.mul_f64(fastrand::f64())
    }
}

/// Polls until the acceptor says success or failure, or `max_wait` runs out.
/// A transient poll failure (connection, 429, 5xx) is logged and waited out.
/// The delay before each poll is cut to the time left, and the last poll is
/// made at the deadline, so the wait lasts `max_wait` however small it is.
pub async fn wait_for<F, Fut>(options: &WaitOptions, mut poll: F) -> Result<Task, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Task, Error>>,
{
    let clock: Arc<dyn Clock> = options
        .clock
        .clone()
        .unwrap_or_else(|| Arc::new(TokioClock::default()));
    let start = clock.elapsed();
    let mut polls = 0u32;
    let mut last: Option<Task> = None;
    loop {
        polls += 1;
        match poll().await {
            Ok(task) => {
                if let Some(hook) = &options.progress {
                    hook(&task);
                }
                match (options.acceptor)(&task) {
                    AcceptorState::Success => return Ok(task),
                    AcceptorState::Failure => return Err(Error::TaskFailed(Box::new(task))),
                    AcceptorState::Retry => last = Some(task),
                }
            }
            Err(err) if err.is_transient() => {
                tracing::warn!(poll = polls, error = %err, "poll failed; still waiting");
            }
            Err(err) => return Err(err),
        }
        // Poll until the deadline, then once at it: the last delay is cut to
        // the time left, so a wait shorter than `min_delay` still polls again.
        let elapsed = clock.elapsed().saturating_sub(start);
        if elapsed >= options.max_wait {
            return Err(Error::ExceededMaxWait {
                elapsed,
                polls,
                last: last.map(Box::new),
            });
        }
        let remaining = options.max_wait - elapsed;
        clock.sleep(options.delay(polls).min(remaining)).await;
    }
}
