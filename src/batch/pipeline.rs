//! The pipeline under a batch, in three stages joined by channels:
//!
//! 1. **Submission.** Each job is matched against the journal and, when it
//!    needs one, claimed and created ([`prepare`]). `concurrency` jobs are
//!    prepared at once, each client's rate limit paces the creates, and at
//!    most `max_in_flight` tasks wait at the providers.
//! 2. **Completion, found once for all tasks.** A provider that lists its
//!    tasks (Magnific) is asked for the list on an interval, and only a task
//!    the list shows finished is read on its own (for its video URLs). A
//!    provider without a list is polled task by task, on a schedule learned
//!    from the batch's own tasks: a few scouts are polled from the start;
//!    once they are done, every task is first polled when nearly all have
//!    finished (the 98th percentile of the durations seen), then closer
//!    together. Webhooks, when a receiver runs, end tasks without a poll,
//!    and the list is read only now and then, as a safety net.
//! 3. **Downloads**, `concurrency` at a time.
//!
//! Every step goes through the same client methods as a single generation,
//! so the journal's promises hold as they do there: the create's id is
//! recorded before anything else can fail, and a killed run resumes.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::runner::{prepare, BatchEvent, BatchOptions, JobOutcome, OnEvent, Run, Step};
use super::BatchJob;
use crate::journal::JobId;
use crate::webhook::WebhookEvent;
use crate::{Client, Error, Provider, Task};

/// The webhook receiver's events, when one runs.
#[cfg(feature = "mock")]
type Events = Option<super::inbox::Inbox>;
#[cfg(not(feature = "mock"))]
type Events = Option<std::convert::Infallible>;

#[cfg(feature = "mock")]
fn inbox(options: &BatchOptions) -> Events {
    options.webhooks.clone()
}
#[cfg(not(feature = "mock"))]
fn inbox(_: &BatchOptions) -> Events {
    None
}

fn hooked(options: &BatchOptions) -> bool {
    inbox(options).is_some()
}

/// The next event, or never when there is no receiver.
async fn next_event(inbox: &Events) -> Option<WebhookEvent> {
    match inbox {
        #[cfg(feature = "mock")]
        Some(inbox) => inbox.next().await,
        #[cfg(not(feature = "mock"))]
        Some(never) => match *never {},
        None => std::future::pending().await,
    }
}

/// Called with each job's index and outcome as it ends.
pub(crate) type OnOutcome<'a> = &'a (dyn Fn(usize, JobOutcome) + Send + Sync);

/// Runs `jobs` through the pipeline, handing each job's outcome to
/// `on_outcome` as it ends. Stale part files are cleared first when
/// `out_dir` is a directory of the batch's own (not empty).
pub(crate) async fn run(
    clients: &HashMap<Provider, Client>,
    jobs: &[BatchJob],
    out_dir: &Path,
    options: &BatchOptions,
    on_event: OnEvent,
    on_outcome: OnOutcome<'_>,
) {
    // Magnific can find an in-doubt task through its list endpoint.
    for client in clients.values() {
        if let Err(e) = client.reconcile_in_doubt().await {
            tracing::warn!(provider = %client.provider(), error = %e, "could not reconcile in-doubt creates");
        }
    }
    if !out_dir.as_os_str().is_empty() {
        let names = jobs.iter().filter_map(|j| j.output.file_name()).collect();
        crate::download::remove_stale_parts(out_dir, &names);
    }
    let halted = AtomicBool::new(false);
    let run = Run {
        out_dir,
        options,
        on_event: &on_event,
        halted: &halted,
        on_outcome,
    };
    let in_flight = Arc::new(Semaphore::new(options.max_in_flight.max(1)));
    let (tracked, found) = mpsc::unbounded_channel();
    // Jobs another live worker holds wait until every free job is sent:
    // workers sharing a ledger each take what is free first.
    let held = std::sync::Mutex::new(Vec::new());
    let submission = {
        let (run, held) = (&run, &held);
        let pass = move |indexes: Vec<usize>, patient: bool| {
            let (tracked, in_flight) = (tracked.clone(), in_flight.clone());
            futures_util::stream::iter(indexes)
                .map(move |index| {
                    let job = &jobs[index];
                    let (tracked, in_flight) = (tracked.clone(), in_flight.clone());
                    async move {
                        let Ok(permit) = in_flight.acquire_owned().await else {
                            return;
                        };
                        let Some(client) = clients.get(&job.provider) else {
                            let error = Error::validation(
                                "provider",
                                format!("no client for {}", job.provider),
                            );
                            return end(index, job, JobOutcome::failed(error), run);
                        };
                        match prepare(client, job, run, patient).await {
                            Step::Ended(outcome) => end(index, job, outcome, run),
                            Step::Held => {
                                held.lock().unwrap_or_else(|p| p.into_inner()).push(index)
                            }
                            Step::Track {
                                task_id,
                                job: id,
                                resumed,
                            } => {
                                let _ = tracked.send(Tracked {
                                    index,
                                    task_id,
                                    id,
                                    since: Instant::now(),
                                    resumed,
                                    permit,
                                });
                            }
                        }
                    }
                })
                .buffer_unordered(options.concurrency.max(1))
                .collect::<()>()
        };
        async move {
            pass((0..jobs.len()).collect(), false).await;
            let mut later = std::mem::take(&mut *held.lock().unwrap_or_else(|p| p.into_inner()));
            later.sort_unstable();
            pass(later, true).await;
        }
    };
    let detection = Detector::new(clients, jobs, &run).run(found);
    tokio::join!(Box::pin(submission), Box::pin(detection));
}

/// What `received` gets while `work` runs, as a stream that ends once
/// `work` is done and everything sent has been yielded.
pub(crate) fn while_running<'a, T: 'a, F>(
    work: F,
    received: mpsc::UnboundedReceiver<T>,
) -> impl futures_util::Stream<Item = T> + 'a
where
    F: std::future::Future<Output = ()> + Unpin + 'a,
{
    futures_util::stream::unfold(
        (work, received, false),
        |(mut work, mut received, mut worked)| async move {
            loop {
                if worked {
                    let item = received.recv().await?;
                    return Some((item, (work, received, worked)));
                }
                tokio::select! {
                    Some(item) = received.recv() => return Some((item, (work, received, worked))),
                    () = &mut work => worked = true,
                }
            }
        },
    )
}

/// Tells the caller a job ended, and hands its outcome on.
fn end(index: usize, job: &BatchJob, outcome: JobOutcome, run: &Run<'_>) {
    (run.on_event)(outcome.event(job));
    (run.on_outcome)(index, outcome);
}

/// A task the submission stage hands to the detector.
struct Tracked {
    index: usize,
    task_id: String,
    id: Option<JobId>,
    since: Instant,
    resumed: bool,
    /// Held while the task waits at the provider.
    permit: OwnedSemaphorePermit,
}

/// A task being watched.
struct Watched {
    tracked: Tracked,
    provider: Provider,
    /// Bumped each time the task is scheduled, so a stale entry in the
    /// poll queue is recognised and skipped.
    generation: u64,
    /// When it was last polled and found unfinished.
    last_poll: Option<Instant>,
    /// Polls made since the first scheduled one.
    polls: u32,
    /// Polled from the start, to learn how long tasks take.
    scout: bool,
    /// Waiting for the schedule to be known (not in the poll queue).
    parked: bool,
}

/// How a task's end was found, which decides what the download stage does.
enum Finish {
    /// A poll returned the finished task.
    Polled(Box<Task>),
    /// The list said it finished: one get gives its video URLs.
    Listed,
    /// It will not finish for us.
    GaveUp(Error),
}

/// The answer of a call the detector made.
enum Answer {
    List(Provider, Result<Vec<Task>, Error>),
    Poll(String, u64, Result<Box<Task>, Error>),
}

/// The detector's calls in progress, each a task of its own.
type Calls = FuturesUnordered<JoinHandle<Answer>>;

/// Scouts polled per provider while its schedule is unknown.
const SCOUTS: usize = 4;
/// Durations remembered per provider.
const SAMPLES: usize = 512;
/// Polls in progress at once, over all tasks.
const MAX_POLLS: usize = 64;

/// What a provider's tasks have taken so far, and the polls that follow.
#[derive(Default)]
struct Schedule {
    samples: VecDeque<f64>,
}

impl Schedule {
    fn learn(&mut self, seconds: f64) {
        if self.samples.len() == SAMPLES {
            self.samples.pop_front();
        }
        self.samples.push_back(seconds.max(0.0));
    }

    fn quantile(&self, q: f64) -> f64 {
        let mut sorted: Vec<f64> = self.samples.iter().copied().collect();
        sorted.sort_by(f64::total_cmp);
        let at = ((sorted.len() as f64 - 1.0) * q).round() as usize;
        sorted.get(at).copied().unwrap_or(0.0)
    }

    /// When a task is first polled, after its create.
    fn first(&self) -> Duration {
        Duration::from_secs_f64(self.quantile(0.98))
    }

    /// The wait before the poll after `polls` unfinished ones: an eighth of
    /// the spread of durations, growing by half each time, within bounds.
    fn gap(&self, polls: u32, least: Duration, most: Duration) -> Duration {
        let spread = self.quantile(0.98) - self.quantile(0.1);
        let base = Duration::from_secs_f64((spread / 8.0).max(0.0)).max(least);
        base.mul_f64(1.5f64.powi(polls.min(16) as i32)).min(most)
    }
}

/// The completion stage and the download pool.
struct Detector<'a> {
    clients: &'a HashMap<Provider, Client>,
    jobs: &'a [BatchJob],
    run: &'a Run<'a>,
    watched: HashMap<String, Watched>,
    queue: BinaryHeap<Reverse<(Instant, u64, String)>>,
    schedules: HashMap<Provider, Schedule>,
    /// Providers whose list is read, and when next.
    lists: HashMap<Provider, Instant>,
    /// Providers whose list call is in progress, and when it was sent.
    listing: HashMap<Provider, Instant>,
    ready: VecDeque<(Tracked, Provider, Finish)>,
    generation: u64,
    /// Webhook events for tasks not (yet) watched: one may arrive before
    /// its create's answer has been handed over. Bounded, oldest dropped.
    early: HashMap<String, WebhookEvent>,
    early_order: VecDeque<String>,
    /// Whether a webhook receiver runs.
    hooked: bool,
    /// When each task's wait ends, in the order they were handed over
    /// (which is the order of their `since`).
    deadlines: VecDeque<(Instant, String)>,
}

/// Early webhook events kept.
const EARLY: usize = 4096;
/// The time between two reads of a list while webhooks end the tasks: a
/// safety net for a delivery that never comes.
const SAFETY_NET: Duration = Duration::from_secs(30);

impl<'a> Detector<'a> {
    fn new(clients: &'a HashMap<Provider, Client>, jobs: &'a [BatchJob], run: &'a Run<'a>) -> Self {
        let hooked = hooked(run.options);
        let first_list = match hooked {
            true => Instant::now() + SAFETY_NET,
            false => Instant::now(),
        };
        let lists = clients
            .keys()
            .filter(|p| p.spec().lists_tasks)
            .map(|p| (*p, first_list))
            .collect();
        Detector {
            clients,
            jobs,
            run,
            watched: HashMap::new(),
            queue: BinaryHeap::new(),
            schedules: HashMap::new(),
            lists,
            listing: HashMap::new(),
            ready: VecDeque::new(),
            generation: 0,
            early: HashMap::new(),
            early_order: VecDeque::new(),
            hooked,
            deadlines: VecDeque::new(),
        }
    }

    fn options(&self) -> &BatchOptions {
        self.run.options
    }

    /// The time between two reads of a list.
    fn list_gap(&self) -> Duration {
        match self.hooked {
            true => SAFETY_NET,
            false => self.options().wait.min_delay,
        }
    }

    async fn run(mut self, mut found: mpsc::UnboundedReceiver<Tracked>) {
        let mut calls: Calls = FuturesUnordered::new();
        let mut downloads: FuturesUnordered<JoinHandle<(usize, JobOutcome)>> =
            FuturesUnordered::new();
        let mut open = true;
        let inbox = inbox(self.options());
        loop {
            let now = Instant::now();
            self.expire(now);
            self.start_lists(now, &mut calls);
            self.start_polls(now, &mut calls);
            while downloads.len() < self.options().concurrency.max(1) {
                let Some((tracked, provider, finish)) = self.ready.pop_front() else {
                    break;
                };
                downloads.push(tokio::spawn(self.download(tracked, provider, finish)));
            }
            if !open && self.watched.is_empty() && calls.is_empty() && downloads.is_empty() {
                return;
            }
            let wake = self.next_wake().unwrap_or(now + Duration::from_secs(3600));
            tokio::select! {
                next = found.recv(), if open => match next {
                    Some(tracked) => self.watch(tracked),
                    None => open = false,
                },
                Some(answer) = calls.next(), if !calls.is_empty() => match answer {
                    Ok(answer) => self.answered(answer),
                    // A call that panicked (a bug): its task ends at its deadline.
                    Err(error) => tracing::error!(%error, "a poll stopped"),
                },
                Some(done) = downloads.next(), if !downloads.is_empty() => {
                    let (index, outcome) = done.unwrap_or_else(|error| {
                        // Only a panic gets here; the job is reported, never lost.
                        (usize::MAX, JobOutcome::failed(Error::validation("download", error.to_string())))
                    });
                    if let Some(job) = self.jobs.get(index) {
                        end(index, job, outcome, self.run);
                    }
                }
                Some(event) = next_event(&inbox), if self.hooked => self.delivered(event),
                _ = tokio::time::sleep_until(wake) => {}
            }
        }
    }

    /// When something is next due: a poll, or a list with tasks to watch.
    fn next_wake(&self) -> Option<Instant> {
        let poll = self.queue.peek().map(|Reverse((at, _, _))| *at);
        let list = self
            .lists
            .iter()
            .filter(|(p, _)| !self.listing.contains_key(*p) && self.watching(**p))
            .map(|(_, at)| *at)
            .min();
        let deadline = self.deadlines.front().map(|(at, _)| *at);
        poll.into_iter().chain(list).chain(deadline).min()
    }

    /// Ends the tasks whose wait has run out, whatever watches them (a
    /// list, polls or webhooks).
    fn expire(&mut self, now: Instant) {
        let max = self.options().wait.max_wait;
        while let Some((at, _)) = self.deadlines.front() {
            if *at > now {
                return;
            }
            let Some((_, key)) = self.deadlines.pop_front() else {
                return;
            };
            if self.watched.contains_key(&key) {
                let error = Error::ExceededMaxWait {
                    elapsed: max,
                    polls: 0,
                    last: None,
                };
                self.done(&key, Finish::GaveUp(error));
            }
        }
    }

    fn watching(&self, provider: Provider) -> bool {
        self.watched.values().any(|w| w.provider == provider)
    }

    fn watch(&mut self, tracked: Tracked) {
        let provider = self.jobs[tracked.index].provider;
        let key = tracked.task_id.clone();
        let mut watched = Watched {
            tracked,
            provider,
            generation: 0,
            last_poll: None,
            polls: 0,
            scout: false,
            parked: false,
        };
        let listed = self.lists.contains_key(&provider);
        let now = Instant::now();
        let deadline = watched.tracked.since + self.options().wait.max_wait;
        self.deadlines.push_back((deadline, key.clone()));
        if let Some(event) = self.early.remove(&key) {
            self.watched.insert(key.clone(), watched);
            self.delivered(event);
            let Some(back) = self.watched.remove(&key) else {
                return;
            };
            watched = back;
        }
        if watched.tracked.resumed {
            // From an earlier run: it may be done already.
            self.schedule(&mut watched, now);
        } else if !listed {
            self.place(&mut watched, now);
        }
        self.watched.insert(key, watched);
    }

    /// Puts a task polled one by one where the schedule says: a scout,
    /// parked, or due at its first poll. The first [`SCOUTS`] tasks scout;
    /// the rest wait until every scout has finished (a scout given up on
    /// without a duration is replaced).
    fn place(&mut self, watched: &mut Watched, now: Instant) {
        let scouts = self
            .watched
            .values()
            .filter(|w| w.provider == watched.provider && w.scout)
            .count();
        let schedule = self.schedules.entry(watched.provider).or_default();
        let samples = schedule.samples.len();
        if samples >= SCOUTS || (samples > 0 && scouts == 0) {
            let at = watched.tracked.since + schedule.first();
            self.schedule(watched, at.max(now));
        } else if samples + scouts < SCOUTS {
            watched.scout = true;
            let at = now + self.options().wait.min_delay;
            self.schedule(watched, at);
        } else {
            watched.parked = true;
        }
    }

    fn schedule(&mut self, watched: &mut Watched, at: Instant) {
        self.generation += 1;
        watched.generation = self.generation;
        watched.parked = false;
        self.queue.push(Reverse((
            at,
            self.generation,
            watched.tracked.task_id.clone(),
        )));
    }

    fn start_lists(&mut self, now: Instant, calls: &mut Calls) {
        let due: Vec<Provider> = self
            .lists
            .iter()
            .filter(|(p, at)| **at <= now && !self.listing.contains_key(*p))
            .map(|(p, _)| *p)
            .filter(|p| self.watching(*p))
            .collect();
        for provider in due {
            self.listing.insert(provider, now);
            let client = self.clients[&provider].clone();
            calls.push(tokio::spawn(async move {
                Answer::List(provider, client.list(None).await)
            }));
        }
    }

    fn start_polls(&mut self, now: Instant, calls: &mut Calls) {
        while calls.len() < MAX_POLLS {
            match self.queue.peek() {
                Some(Reverse((at, _, _))) if *at <= now => {}
                _ => return,
            }
            let Some(Reverse((_, generation, key))) = self.queue.pop() else {
                return;
            };
            let Some(watched) = self.watched.get(&key) else {
                continue;
            };
            if watched.generation != generation {
                continue;
            }
            let client = self.clients[&watched.provider].clone();
            calls.push(tokio::spawn(async move {
                let answer = client.get(&key).await.map(Box::new);
                Answer::Poll(key, generation, answer)
            }));
        }
    }

    fn answered(&mut self, answer: Answer) {
        match answer {
            Answer::List(provider, listed) => self.listed(provider, listed),
            Answer::Poll(key, generation, polled) => self.polled(key, generation, polled),
        }
    }

    fn listed(&mut self, provider: Provider, listed: Result<Vec<Task>, Error>) {
        let sent = self.listing.remove(&provider);
        let now = Instant::now();
        let tasks = match listed {
            Ok(tasks) => tasks,
            Err(error) => {
                // Refused, cut at its bound, or unreadable: each task is
                // polled on its own from now on.
                tracing::warn!(%provider, %error, "the task list failed; polling each task instead");
                self.lists.remove(&provider);
                let keys: Vec<String> = self.unqueued(provider);
                for key in keys {
                    if let Some(mut w) = self.watched.remove(&key) {
                        self.place(&mut w, now);
                        self.watched.insert(key, w);
                    }
                }
                return;
            }
        };
        self.lists.insert(provider, now + self.list_gap());
        let mut seen = HashSet::new();
        for task in tasks {
            if self
                .watched
                .get(&task.id)
                .is_none_or(|w| w.provider != provider)
            {
                continue;
            }
            seen.insert(task.id.clone());
            if task.status.is_terminal() {
                let finish = match task.status.is_failure() {
                    true => Finish::Polled(Box::new(task.clone())),
                    false => Finish::Listed,
                };
                self.done(&task.id, finish);
            } else {
                self.status(&task);
            }
        }
        // A task the list does not show, though it was made before the list
        // was asked for (the list holds the account's newest tasks, say), is
        // polled on its own.
        for key in self.unqueued(provider) {
            let older = self
                .watched
                .get(&key)
                .is_some_and(|w| sent.is_some_and(|sent| w.tracked.since < sent));
            if older && !seen.contains(&key) {
                if let Some(mut w) = self.watched.remove(&key) {
                    let at = now + self.options().wait.min_delay;
                    self.schedule(&mut w, at);
                    self.watched.insert(key, w);
                }
            }
        }
    }

    /// Watched tasks of `provider` with no poll queued.
    fn unqueued(&self, provider: Provider) -> Vec<String> {
        let queued: HashSet<&str> = self
            .queue
            .iter()
            .filter(|Reverse((_, g, k))| self.watched.get(k).is_some_and(|w| w.generation == *g))
            .map(|Reverse((_, _, k))| k.as_str())
            .collect();
        self.watched
            .iter()
            .filter(|(k, w)| w.provider == provider && !queued.contains(k.as_str()))
            .map(|(k, _)| k.clone())
            .collect()
    }

    fn polled(&mut self, key: String, generation: u64, polled: Result<Box<Task>, Error>) {
        let now = Instant::now();
        let Some(mut watched) = self.watched.remove(&key) else {
            return;
        };
        if watched.generation != generation {
            self.watched.insert(key, watched);
            return;
        }
        let wait = &self.run.options.wait;
        let (least, most) = (wait.min_delay, wait.max_delay);
        match polled {
            Ok(task) if task.status.is_terminal() => {
                if !watched.tracked.resumed {
                    // It ended between the last poll and this one.
                    let last = watched.last_poll.unwrap_or(now);
                    let took = (last + (now - last) / 2) - watched.tracked.since;
                    let schedule = self.schedules.entry(watched.provider).or_default();
                    schedule.learn(took.as_secs_f64());
                }
                self.status(&task);
                self.watched.insert(key.clone(), watched);
                self.done(&key, Finish::Polled(task));
                self.unpark();
                return;
            }
            Ok(task) => self.status(&task),
            Err(error) if error.is_transient() => {
                tracing::warn!(task_id = %key, %error, "poll failed; still waiting");
            }
            Err(error) => {
                self.watched.insert(key.clone(), watched);
                self.done(&key, Finish::GaveUp(error));
                return;
            }
        }
        watched.last_poll = Some(now);
        watched.polls += 1;
        let gap = match (watched.scout, self.schedules.get(&watched.provider)) {
            (false, Some(schedule)) if !schedule.samples.is_empty() => {
                schedule.gap(watched.polls - 1, least, most)
            }
            // Scouts (and resumed tasks before anything is known) back off
            // gently, so their durations are measured closely.
            _ => least
                .mul_f64(1.25f64.powi(watched.polls.min(16) as i32))
                .min(most),
        };
        self.schedule(&mut watched, now + gap);
        self.watched.insert(key, watched);
    }

    /// Once the scouts are done, parked tasks get their first poll.
    fn unpark(&mut self) {
        let parked: Vec<String> = self
            .watched
            .iter()
            .filter(|(_, w)| w.parked)
            .map(|(k, _)| k.clone())
            .collect();
        let now = Instant::now();
        for key in parked {
            if let Some(mut w) = self.watched.remove(&key) {
                w.parked = false;
                self.place(&mut w, now);
                self.watched.insert(key, w);
            }
        }
    }

    /// A verified webhook event: a finished task ends without a poll.
    fn delivered(&mut self, event: WebhookEvent) {
        let Some(watched) = self.watched.get(&event.task_id) else {
            if self.early.len() >= EARLY {
                if let Some(old) = self.early_order.pop_front() {
                    self.early.remove(&old);
                }
            }
            self.early_order.push_back(event.task_id.clone());
            self.early.insert(event.task_id.clone(), event);
            return;
        };
        let task = event.task(watched.provider);
        self.status(&task);
        if task.status.is_terminal() {
            let key = task.id.clone();
            self.done(&key, Finish::Polled(Box::new(task)));
        }
    }

    fn status(&self, task: &Task) {
        if let Some(w) = self.watched.get(&task.id) {
            let job = &self.jobs[w.tracked.index];
            (self.run.on_event)(BatchEvent::Status {
                line: job.line,
                output: job.output.clone(),
                task_id: task.id.clone(),
                status: task.status.as_word(),
                progress: task.progress,
            });
        }
    }

    /// A task is finished (or given up on): it leaves the watch, frees its
    /// place in flight, and waits for a download slot.
    fn done(&mut self, key: &str, finish: Finish) {
        if let Some(watched) = self.watched.remove(key) {
            let Watched {
                tracked, provider, ..
            } = watched;
            self.ready.push_back((tracked, provider, finish));
        }
    }

    /// A finished task's download (or its failure, recorded), as a task of
    /// its own on the runtime: polled from a fresh stack, not from inside
    /// the detector's loop.
    fn download(
        &self,
        tracked: Tracked,
        provider: Provider,
        finish: Finish,
    ) -> impl std::future::Future<Output = (usize, JobOutcome)> + Send + 'static {
        let client = self.clients[&provider].clone();
        let path: PathBuf = self.run.out_dir.join(&self.jobs[tracked.index].output);
        let wait = self.run.options.wait.clone();
        async move {
            let Tracked {
                index,
                task_id,
                id,
                permit,
                ..
            } = tracked;
            drop(permit);
            let result = match finish {
                Finish::Polled(task) => client.conclude_polled(*task, id, &path).await,
                Finish::Listed => client.finish(&task_id, id, &path, &wait, None).await,
                Finish::GaveUp(error) => client.give_up(&task_id, error, id).await,
            };
            let outcome = match result {
                Ok(done) => JobOutcome::Done {
                    task: Box::new(done.task),
                    file: done.file,
                },
                Err(error) => JobOutcome::Failed {
                    task_id: Some(task_id),
                    error,
                },
            };
            (index, outcome)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_poll_waits_for_nearly_all_and_later_ones_come_closer() {
        let mut schedule = Schedule::default();
        for s in 20..=40 {
            schedule.learn(f64::from(s));
        }
        // The 98th percentile of 20..=40 s: 40 s (rounded to a sample).
        assert_eq!(schedule.first(), Duration::from_secs(40));
        let (least, most) = (Duration::from_millis(500), Duration::from_secs(20));
        // An eighth of the spread (40 - 22 = 18 s), then half as much again each time.
        assert_eq!(
            schedule.gap(0, least, most),
            Duration::from_secs_f64(18.0 / 8.0)
        );
        assert_eq!(
            schedule.gap(1, least, most),
            Duration::from_secs_f64(18.0 / 8.0 * 1.5)
        );
        assert_eq!(schedule.gap(16, least, most), most);
        // Durations all alike: the gap is the least allowed.
        let mut alike = Schedule::default();
        (0..10).for_each(|_| alike.learn(30.0));
        assert_eq!(alike.gap(0, least, most), least);
    }

    #[test]
    fn only_the_newest_durations_are_kept() {
        let mut schedule = Schedule::default();
        (0..SAMPLES).for_each(|_| schedule.learn(100.0));
        (0..SAMPLES).for_each(|_| schedule.learn(10.0));
        assert_eq!(schedule.samples.len(), SAMPLES);
        assert_eq!(
            schedule.first(),
            Duration::from_secs(10),
            "the provider got faster"
        );
    }
}
